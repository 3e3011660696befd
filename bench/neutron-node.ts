/**
 * One compute node for bench/neutron.ts in its own process (as on a real compute node, the agent
 * does not share a CPU with the benchmark's client): VPP simulator, netvpp agent, and Nova/QEMU's
 * guests (src/cli/stack.ts). Prints one JSON line when up; stops on SIGTERM/SIGINT.
 *   node --import tsx bench/neutron-node.ts <host> <etcd endpoints,...> <dir>
 */
import { startSimNode } from '../src/cli/stack.ts';
import { setLogLevel, type Level } from '../src/util/log.ts';

const [host, endpoints, dir] = process.argv.slice(2);
if (!host || !endpoints || !dir) {
  console.error('usage: neutron-node.ts <host> <etcd endpoints,...> <dir>');
  process.exit(2);
}
const logLevel = (process.env.NETVPP_LOG_LEVEL as Level | undefined) ?? 'warn';
setLogLevel(logLevel);
const node = await startSimNode({ host, etcdEndpoints: endpoints.split(','), dir, logLevel });
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await node.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// the parent's pipe closing means the benchmark is gone: don't outlive it
process.stdin.on('end', () => void stop());
process.stdin.resume();
console.log(JSON.stringify({ ready: true, vhostDir: node.vhostDir, vppSocket: node.sim.socket }));
