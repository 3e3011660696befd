// What the Neutron end-to-end suites share: the stack (neutron-server, controller, etcd, agents)
// started before the suite and stopped after it, the openstack CLI, and waits that show both logs
// when they time out. Call it inside a describe().
import { after, before } from 'node:test';
import { waitFor, type NeutronEnv } from './neutron-harness.ts';
import { NetvppStack, type AgentSpec } from './netvpp-stack.ts';

export interface NeutronPort {
  id: string;
  status: string;
  mac_address: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
}

export interface NeutronSuite {
  readonly stack: NetvppStack;
  readonly neutron: NeutronEnv;
  os(...args: string[]): Promise<string>;
  osJson<T = Record<string, unknown>>(...args: string[]): Promise<T>;
  /** Waits for `probe` to give a value; on time-out the error carries neutron-server's and the controller's logs. */
  converge<T>(what: string, probe: () => Promise<T | undefined>): Promise<T>;
  portStatus(id: string, status: string): Promise<NeutronPort>;
}

export function neutronSuite(
  agents: AgentSpec[],
  driverOptions?: Record<string, string | number>,
): NeutronSuite {
  let stack: NetvppStack | undefined;
  const env = (): NeutronEnv => stack?.neutron as NeutronEnv;
  const suite: NeutronSuite = {
    get stack() {
      return stack as NetvppStack;
    },
    get neutron() {
      return env();
    },
    os: (...args) => env().openstack(...args),
    osJson: <T>(...args: string[]) => env().openstackJson<T>(...args),
    async converge(what, probe) {
      try {
        return await waitFor(what, probe, 60_000, 250);
      } catch (e) {
        throw new Error(
          `${(e as Error).message}\n--- neutron-server.log ---\n${env().tailServerLog(25)}` +
            `\n--- controller.log ---\n${stack?.controller?.tail(15)}`,
        );
      }
    },
    portStatus: (id, status) =>
      suite.converge(`port ${id} to be ${status}`, async () => {
        const p = (await env().api<{ port: NeutronPort }>('GET', `/ports/${id}`)).port;
        return p.status === status ? p : undefined;
      }),
  };
  before(
    async () => {
      stack = await NetvppStack.start({ agents, vhostSocketDir: '/run/netvpp-e2e/vhost', driverOptions });
    },
    // NETVPP_E2E_SETUP_MS: a longer limit for a machine that is busy with other work
    { timeout: Number(process.env.NETVPP_E2E_SETUP_MS ?? 180_000) },
  );
  after(async () => {
    await stack?.stop();
  });
  return suite;
}
