// A router's admin state and HA routers on the simulator with a real etcd: admin_state_up false
// holds the router's interfaces admin down (back up when true); an HA router carried by two hosts
// is up on exactly the one whose agent won the election (election/routers/<id>), and when that
// agent goes away the standby takes over and announces its addresses (gratuitous ARP).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeValue,
  keys,
  type FloatingIpDoc,
  type RouterActive,
  type RouterDoc,
} from '../../src/model/keyspace.ts';
import { l2_flags_get, pipe_dump, sw_interface_dump } from '../../src/vpp/binapi/index.ts';
import { L2_INPUT_FEAT } from '../../src/vpp/l2-input-features.ts';
import { tagOf } from '../../src/agent/kinds/common.ts';
import { pipeKey, rifKey } from '../../src/agent/kinds/index.ts';
import type { Agent } from '../../src/agent/agent.ts';
import type { VppClient } from '../../src/vpp/client.ts';
import { uuid, vlanNet } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';
import { routerPort } from './l3.test.ts';

const ALL = 0xffffffff;
const ADMIN_UP = 1;

describe('router admin state and HA routers (simulator, etcd)', { skip: SIM_ONLY }, () => {
  let w: World;
  const ext = vlanNet(310);
  const net = vlanNet(311);

  const routerDoc = (id: string, gwPort: string, over: Partial<RouterDoc> = {}): RouterDoc => ({
    router_id: id,
    admin_state_up: true,
    ha: false,
    gateway: {
      port_id: gwPort,
      network_id: ext.id,
      next_hops: ['203.0.113.1'],
      snat: true,
      addresses: ['203.0.113.20/24'],
    },
    routes: [],
    revision: 1,
    ...over,
  });
  const put = (key: string, v: unknown) => w.store.put(key, encodeValue(key, v));

  /** port id → admin up, for the router interfaces of `ports` in this VPP. */
  const adminUp = async (op: VppClient, ports: string[]): Promise<boolean[]> => {
    const ifs = await op.dump(sw_interface_dump, { sw_if_index: ALL });
    return ports.map((p) => {
      const d = ifs.find((i) => i.tag === tagOf(rifKey(p)));
      return d !== undefined && (d.flags & ADMIN_UP) !== 0;
    });
  };
  /** Whether ARP is terminated on the gateway pipe end that frames from outside enter by. */
  const arpTermFromOutside = async (op: VppClient, gwPort: string): Promise<boolean | undefined> => {
    const ifs = await op.dump(sw_interface_dump, { sw_if_index: ALL });
    const parent = ifs.find((i) => i.tag === tagOf(pipeKey(gwPort)));
    const p = (await op.dump(pipe_dump, {})).find((x) => x.sw_if_index === parent?.sw_if_index);
    if (!p) return undefined;
    const r = await op.request(l2_flags_get, { sw_if_index: p.pipe_sw_if_index[1] });
    return (r.input_feature_bitmap & L2_INPUT_FEAT.ARP_TERM) !== 0;
  };
  const waitAdmin = (what: string, op: VppClient, ports: string[], want: boolean) =>
    waitFor(what, async () => {
      const s = await adminUp(op, ports);
      return s.length > 0 && s.every((x) => x === want) ? true : undefined;
    });

  before(async () => {
    w = await startWorld();
  });
  after(() => w?.stop());

  it('admin_state_up false: the router interfaces go admin down, and come back up when true', async () => {
    const a = w.startAgent('compute1');
    const r = uuid();
    const rif = routerPort(net, r, '10.31.0.1/24', 'fa:16:3e:31:00:01');
    const gw = routerPort(ext, r, '203.0.113.20/24', 'fa:16:3e:31:00:02', 'gateway');
    for (const p of [rif, gw]) await w.bind('compute1', p);
    await put(keys.router('compute1', r), routerDoc(r, gw.port_id));
    for (const p of [rif, gw]) await w.waitReady('compute1', p.port_id);
    const ports = [rif.port_id, gw.port_id];
    await waitAdmin('router up', w.operator, ports, true);
    await put(keys.router('compute1', r), routerDoc(r, gw.port_id, { admin_state_up: false, revision: 2 }));
    await waitAdmin('router interfaces admin down', w.operator, ports, false);
    // Its gateway bridge's ARP entries would answer even with the interface down.
    await waitFor('no ARP termination from outside', async () =>
      (await arpTermFromOutside(w.operator, gw.port_id)) === false ? true : undefined,
    );
    await put(keys.router('compute1', r), routerDoc(r, gw.port_id, { admin_state_up: true, revision: 3 }));
    await waitAdmin('router interfaces up again', w.operator, ports, true);
    await waitFor('ARP termination back', async () =>
      (await arpTermFromOutside(w.operator, gw.port_id)) === true ? true : undefined,
    );
    await w.stopAgent(a);
  });

  it('an HA router is up on the election winner only; the standby takes over when the active agent stops', async () => {
    const hosts = ['net1', 'net2'];
    const ops = new Map<string, VppClient>();
    for (const h of hosts) ops.set(h, (await w.node(h)).operator);
    const agents = new Map<string, Agent>(hosts.map((h) => [h, w.startAgent(h, { haLeaseTtlSec: 4 })]));
    const r = uuid();
    const rif = routerPort(net, r, '10.32.0.1/24', 'fa:16:3e:32:00:01');
    const gw = routerPort(ext, r, '203.0.113.30/24', 'fa:16:3e:32:00:02', 'gateway');
    const fip: FloatingIpDoc = {
      id: uuid(),
      router_id: r,
      floating_ip: '203.0.113.31',
      fixed_ip: '10.32.0.5',
      port_id: uuid(),
      revision: 1,
    };
    const ports = [rif.port_id, gw.port_id];
    for (const h of hosts) {
      for (const p of [rif, gw]) await w.bind(h, p);
      await put(keys.router(h, r), routerDoc(r, gw.port_id, { ha: true }));
      await put(keys.floatingIp(h, fip.id), fip);
    }
    for (const h of hosts) for (const p of [rif, gw]) await w.waitReady(h, p.port_id);

    const holder = await waitFor('an active host elected', async () => {
      const { kv } = await w.store.get(keys.routerActive(r));
      return kv ? (JSON.parse(kv.value) as RouterActive).host : undefined;
    });
    const standby = hosts.find((h) => h !== holder) as string;
    const active = ops.get(holder) as VppClient;
    await waitAdmin('the active host up', active, ports, true);
    await waitAdmin('the standby plumbed, admin down', ops.get(standby) as VppClient, ports, false);
    // Only the active host's gateway bridge answers ARP for the router's addresses.
    assert.equal(await arpTermFromOutside(active, gw.port_id), true);
    assert.equal(await arpTermFromOutside(ops.get(standby) as VppClient, gw.port_id), false);
    const standbySim = (await w.node(standby)).vpp.sim;
    assert.equal(standbySim?.calls('arping'), 0, 'the standby announces nothing');

    await w.stopAgent(agents.get(holder) as Agent);
    await waitAdmin('the standby took over', ops.get(standby) as VppClient, ports, true);
    assert.equal(await arpTermFromOutside(ops.get(standby) as VppClient, gw.port_id), true);
    const now = await w.store.get(keys.routerActive(r));
    assert.equal((JSON.parse(now.kv?.value ?? '{}') as RouterActive).host, standby);
    // Gateway address, interface address and floating IP announced.
    await waitFor('the gratuitous ARPs', async () =>
      (standbySim?.calls('arping') ?? 0) >= 3 ? true : undefined,
    );
    await w.stopAgent(agents.get(standby) as Agent);
  });
});
