// A 3-member etcd cluster on loopback: real Debian etcd, each member its own process started with
// --initial-cluster, killed (SIGKILL) and restarted on its own ports with its data kept. Members talk
// to each other through a proxy in front of each peer port (test/chaos/proxy.ts), so one of them can
// be cut off from the other two (a minority of one) while it runs and its clients stay connected.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { etcdHealthy, pickLoopbackPorts } from '../../src/store/etcd-process.ts';
import { sleep } from '../../src/util/wait.ts';
import { TcpProxy } from './proxy.ts';

/** Members still running: killed if this process exits first. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

interface Member {
  name: string;
  client: string;
  /** Where the member listens for its peers; they dial `proxy` in front of it. */
  peer: string;
  proxy: TcpProxy;
  metrics: string;
  child: ChildProcess | null;
  /** The member id (hex), as etcd's peer requests name their sender. */
  id: string;
}

export class EtcdCluster {
  private constructor(
    readonly dir: string,
    private readonly members: Member[],
  ) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.client);
  }

  static async start(size = 3): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'netvpp-chaos-etcd-'));
    const ports = await pickLoopbackPorts(size * 3);
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      const peer = `http://127.0.0.1:${ports[3 * i + 1]}`;
      members.push({
        name: `m${i}`,
        client: `http://127.0.0.1:${ports[3 * i]}`,
        peer,
        proxy: await TcpProxy.start(peer, { peer: true }),
        metrics: `http://127.0.0.1:${ports[3 * i + 2]}`,
        child: null,
        id: '',
      });
    }
    const c = new EtcdCluster(dir, members);
    for (const m of members) c.spawn(m);
    await Promise.all(members.map((m) => c.waitHealthy(m)));
    const client = new Etcd3({ hosts: members[0].client, dialTimeout: 2000 });
    try {
      const list = await client.cluster.memberList({});
      for (const x of list.members) {
        const m = members.find((y) => y.name === x.name);
        if (m) m.id = BigInt(x.ID).toString(16);
      }
    } finally {
      client.close();
    }
    return c;
  }

  /** The running members' process ids (for CPU and memory figures). */
  get pids(): number[] {
    return this.members.flatMap((m) => (m.child?.pid ? [m.child.pid] : []));
  }

  /** The members' metrics URLs (Prometheus text at /metrics). */
  get metricsUrls(): string[] {
    return this.members.map((m) => m.metrics);
  }

  get size(): number {
    return this.members.length;
  }

  /** Cuts member i off from the other members (not from its clients): a minority of one. */
  isolate(i: number): void {
    const m = this.members[i];
    m.proxy.cut();
    for (const o of this.members) if (o !== m) o.proxy.block(m.id);
  }

  /** Lets member i talk to the others again. */
  rejoin(i: number): void {
    const m = this.members[i];
    m.proxy.restore();
    for (const o of this.members) if (o !== m) o.proxy.unblock(m.id);
  }

  private spawn(m: Member): void {
    const cluster = this.members.map((x) => `${x.name}=${x.proxy.url}`).join(',');
    const log = openSync(join(this.dir, `${m.name}.log`), 'a');
    const child = spawn(
      process.env.NETVPP_ETCD_BIN ?? '/usr/bin/etcd',
      [
        `--name=${m.name}`,
        `--data-dir=${join(this.dir, m.name)}`,
        `--listen-client-urls=${m.client}`,
        `--advertise-client-urls=${m.client}`,
        `--listen-peer-urls=${m.peer}`,
        `--initial-advertise-peer-urls=${m.proxy.url}`,
        `--listen-metrics-urls=${m.metrics}`,
        `--initial-cluster=${cluster}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=netvpp-chaos',
        '--auto-compaction-retention=0',
        '--enable-v2=false',
        // A loaded 2-core machine: etcd's defaults (100/1000 ms), so load alone elects no new leader.
        '--heartbeat-interval=100',
        '--election-timeout=1000',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    m.child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
  }

  private async waitHealthy(m: Member, limitMs = 30_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!(await etcdHealthy(m.metrics))) {
      if (Date.now() > deadline) throw new Error(`etcd member ${m.name} not healthy (log in ${this.dir})`);
      await sleep(100);
    }
  }

  /** The index of the member that leads now, waiting up to 15 s for an election to end. */
  async leader(): Promise<number> {
    for (let i = 0; ; i++) {
      try {
        return await this.leaderNow();
      } catch (e) {
        // Up to 30 s: after a member's kill or isolation a loaded machine can take a while to elect.
        if (i >= 60) throw e;
        await sleep(500);
      }
    }
  }

  private async leaderNow(): Promise<number> {
    for (const m of this.members) {
      if (!m.child) continue;
      const client = new Etcd3({ hosts: m.client, dialTimeout: 2000 });
      try {
        const st = await client.maintenance.status();
        const ids = await client.cluster.memberList({});
        const lead = ids.members.find((x) => x.ID === st.leader);
        const idx = this.members.findIndex((x) => x.name === lead?.name);
        if (idx >= 0) return idx;
      } catch {
        // that member can't answer: ask the next
      } finally {
        client.close();
      }
    }
    throw new Error('no etcd member knows a leader');
  }

  async kill(i: number): Promise<void> {
    const child = this.members[i].child;
    this.members[i].child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts a killed member again (its data kept, so --initial-cluster is ignored) and waits for it. */
  async restart(i: number): Promise<void> {
    const m = this.members[i];
    if (m.child) return;
    this.spawn(m);
    await this.waitHealthy(m);
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.kill(i);
    for (const m of this.members) await m.proxy.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
