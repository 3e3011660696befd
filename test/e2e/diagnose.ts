// Failure diagnostics for the Neutron end-to-end tests: why bound ports are not ACTIVE.
import type { PortBinding } from '../../src/model/keyspace.ts';
import { keys } from '../../src/model/keyspace.ts';
import type { NeutronEnv } from './neutron-harness.ts';
import type { NetvppStack } from './netvpp-stack.ts';

export interface DownPort {
  id: string;
  name: string;
  status: string;
  revision_number: number;
  'binding:host_id'?: string;
  'binding:vif_type'?: string;
}

/**
 * Why bound ports are not ACTIVE, for a failure message: each one's Neutron binding and status, the
 * driver's provisioning row and Neutron's provisioning blocks, its etcd binding and agent state, what
 * the controller's port-event stream says about it, and the driver's log lines that name it.
 */
export async function explainNotActive(
  neutron: NeutronEnv,
  stack: NetvppStack,
  down: DownPort[],
): Promise<string> {
  const out: string[] = [];
  const sql = (q: string): string => {
    try {
      return neutron.db.sql(q, 'neutron').trim() || '(none)';
    } catch (e) {
      return `(${e instanceof Error ? e.message : String(e)})`;
    }
  };
  let events: { port_id: string }[] = [];
  try {
    const r = await stack.controllerFetch('/v1/ports/events', {
      signal: AbortSignal.timeout(5000),
    });
    events = ((await r.json()) as { events: { port_id: string }[] }).events;
  } catch (e) {
    out.push(`(GET /v1/ports/events failed: ${e instanceof Error ? e.message : String(e)})`);
  }
  const logLines = neutron.serverLogLines();
  for (const p of down) {
    const host = p['binding:host_id'] ?? '';
    const json = (v: unknown): string => (v === undefined ? '(absent)' : JSON.stringify(v));
    const b = host ? await stack.etcdGet<PortBinding>(keys.portBinding(host, p.id)) : undefined;
    const st = host ? await stack.etcdGet(keys.portState(host, p.id)) : undefined;
    out.push(
      `port ${p.id} (${p.name}): status ${p.status}, host ${host}, vif ${p['binding:vif_type']}, ` +
        `revision ${p.revision_number}`,
      `  netvpp_port_provisioning: ${sql(`SELECT host, revision FROM netvpp_port_provisioning WHERE port_id='${p.id}'`)}`,
      `  provisioningblocks: ${sql(
        `SELECT b.entity FROM provisioningblocks b JOIN ports p ON p.standard_attr_id = b.standard_attr_id ` +
          `WHERE p.id='${p.id}'`,
      )}`,
      `  etcd binding: ${b ? `revision ${b.revision}, vif ${b.vif_type}` : '(absent)'}`,
      `  etcd state: ${json(st)}`,
      `  controller event: ${json(events.find((e) => e.port_id === p.id))}`,
      ...logLines.filter((l) => l.includes(p.id) && !l.includes('neutron.wsgi')).map((l) => `  log: ${l}`),
    );
  }
  out.push(
    'driver follower/forwarder log:',
    ...logLines
      .filter((l) => /networking_netvpp\.(follower|leader)|netvpp port event|Traceback|ERROR/.test(l))
      .slice(-30)
      .map((l) => `  ${l}`),
  );
  return out.join('\n');
}
