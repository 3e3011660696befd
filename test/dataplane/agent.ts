// The agent as the real-VPP dataplane tests run it: taps backed by veth pairs (namespaces are the
// VMs), the host's own network calls, no health server or config file. Not started.
import { Agent } from '../../src/agent/agent.ts';
import type { AgentConfig } from '../../src/agent/config.ts';
import { linuxHostNet } from '../../src/agent/host-net.ts';

export function vethAgent(
  o: Pick<AgentConfig, 'host' | 'vppSocket' | 'physnets' | 'vhostUserDir'> & {
    endpoints: string[];
  } & Partial<AgentConfig>,
): Agent {
  const { endpoints, ...rest } = o;
  return new Agent(
    {
      etcd: { endpoints },
      tapBackend: 'veth',
      tapBackendSetting: 'veth',
      logLevel: 'warn',
      health: null,
      configFile: null,
      ...rest,
    },
    { hostNet: linuxHostNet() },
  );
}
