// UDP peers for the real-dataplane L3 tests, run with python3 inside network namespaces (no nc or
// tcpdump needed): a server that answers every datagram with its name and the source address it
// saw (what NAT made of the sender), and a client that sends one datagram per flow and collects the
// answers. Hand-written in a few lines: what they report is exactly what the tests assert.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const SERVER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', int(sys.argv[1])))
print('ready', flush=True)
while True:
    d, a = s.recvfrom(2048)
    print('%s %d' % a, flush=True)
    s.sendto(('%s %s' % (sys.argv[2], a[0])).encode(), a)
`;

const CLIENT = `
import json, socket, sys
ip, port, n, sport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
out = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', sport))
    s.settimeout(float(sys.argv[5]))
    try:
        s.sendto(b'x', (ip, port))
        out.append(s.recv(200).decode())
    except socket.timeout:
        out.append(None)
    s.close()
print(json.dumps(out))
`;

export interface UdpServer {
  process: ChildProcess;
  /** `<source address> <source port>` of every datagram it received, in order. */
  received: string[];
}

/** Starts a server named `name` on `port` in `ns`; resolves once it listens. */
export function udpServer(ns: string, port: number, name: string): Promise<UdpServer> {
  const p = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', SERVER, String(port), name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const server: UdpServer = { process: p, received: [] };
  let buf = '';
  return new Promise((resolve, reject) => {
    p.once('error', reject);
    p.once('exit', (code) => reject(new Error(`udp server in ${ns} exited (${code})`)));
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines)
        if (l === 'ready') resolve(server);
        else server.received.push(l);
    });
  });
}

/**
 * Sends `flows` datagrams from `ns` to `ip:port`, each from a fresh socket (a new source port,
 * so a new flow) unless `sport` fixes it; returns each answer ("<server name> <source seen>") or
 * null when none came within `timeout` seconds.
 */
export function udpAsk(
  ns: string,
  ip: string,
  port: number,
  flows = 1,
  sport = 0,
  timeout = 1,
): (string | null)[] {
  const args = [ip, port, flows, sport, timeout].map(String);
  const r = spawnSync('ip', ['netns', 'exec', ns, 'python3', '-c', CLIENT, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`udp client in ${ns}: ${r.stderr}`);
  return JSON.parse(r.stdout) as (string | null)[];
}

/** One answer, retried a few times (VPP drops the packet that makes it resolve a neighbour). */
export function udpWho(ns: string, ip: string, port: number, sport = 0): string | null {
  for (let i = 0; i < 3; i++) {
    const [a] = udpAsk(ns, ip, port, 1, sport);
    if (a !== null) return a;
  }
  return null;
}
