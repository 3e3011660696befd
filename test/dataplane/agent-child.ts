// An agent of the real-VPP dataplane tests in a process of its own, so a test can SIGKILL it (no
// resign, no cleanup: its lease runs out). Usage: node --import tsx agent-child.ts '<json>', the
// JSON being ChildAgentConfig. Prints "started" once the agent runs.
import { vethAgent } from './agent.ts';

export interface ChildAgentConfig {
  host: string;
  endpoints: string[];
  vppSocket: string;
  physnets: [string, string][];
  vhostUserDir: string;
  haLeaseTtlSec: number;
}

const c = JSON.parse(process.argv[2] ?? '{}') as ChildAgentConfig;
const agent = vethAgent({ ...c, physnets: new Map(c.physnets), logLevel: 'error' });
agent.start();
process.stdout.write('started\n');
const stop = () => void agent.stop().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
