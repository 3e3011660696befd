// Scenario: an agent that requires signed desired state ([security] verify_keys) next to someone who
// can write etcd but holds no signing key. Unsigned and forged bindings, security groups and
// remote-group members are each refused and reported on their object; valid ports around them bind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import { decodeValue, encodeValue, keys } from '../../src/model/keyspace.ts';
import { generateKeyFiles, loadSigner, loadVerifier, type Signer } from '../../src/model/signing.ts';
import { defaultGroup, rule, secGroup, uuid, vlanNet, vmPort } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';
import { inspect } from './helpers/inspect.ts';

const H = 'compute1';

describe('signed desired state', { skip: SIM_ONLY }, () => {
  let w: World;
  let agent: Agent;
  let dir: string;
  let controllerKey: Signer;
  /** Someone else's key under the controller's key id: the signature cannot match. */
  let forger: Signer;
  const net = vlanNet(410);
  const db = defaultGroup();
  const good = vmPort(net, { security_groups: [db.id] });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netvpp-signing-'));
    controllerKey = loadSigner(generateKeyFiles(join(dir, 'trusted'), 'ctl1').privateFile);
    forger = loadSigner(generateKeyFiles(join(dir, 'forger'), 'ctl1').privateFile);
    w = await startWorld({ signer: controllerKey });
    await w.markSynced();
    await w.putGroup(db);
    await w.putMember(db.id, good.port_id, ['10.0.0.10']);
    await w.bind(H, good);
    agent = w.startAgent(H, { verifier: loadVerifier([join(dir, 'trusted')]) });
    await w.connectGuest(good);
    await w.waitReady(H, good.port_id);
  });
  after(async () => {
    await w?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const put = async (key: string, value: unknown, by: Signer | null): Promise<void> => {
    await w.store.put(key, by ? by.seal(key, encodeValue(key, value)) : encodeValue(key, value));
  };
  const errorOf = (portId: string, re: RegExp) =>
    w.waitState(
      H,
      portId,
      `port ${portId} refused (${re})`,
      (s) => s?.ready === false && re.test(s.error ?? ''),
    );

  it('unsigned and forged port bindings are errors on their ports; a valid neighbour binds meanwhile', async () => {
    const unsigned = vmPort(net);
    const forged = vmPort(net);
    await put(keys.portBinding(H, unsigned.port_id), unsigned, null);
    await put(keys.portBinding(H, forged.port_id), forged, forger);
    const neighbour = vmPort(net, { security_groups: [db.id] });
    await w.bind(H, neighbour);
    await w.connectGuest(neighbour);
    await w.waitReady(H, neighbour.port_id);

    const u = await errorOf(unsigned.port_id, /^invalid port binding: not signed/);
    const f = await errorOf(forged.port_id, /^invalid port binding: signature by key ctl1 does not match/);
    // Nothing of a refused value is believed: no revision is reported for it, no interface made.
    assert.equal(u?.revision, null);
    assert.equal(f?.revision, null);
    assert.equal(await w.portInterface(unsigned.port_id), undefined);
    assert.equal(await w.portInterface(forged.port_id), undefined);
    assert.equal((await w.portState(H, good.port_id))?.ready, true);
  });

  it('a port in an unsigned or forged security group is refused; its value names the group', async () => {
    const unsignedSg = secGroup([rule()]);
    const forgedSg = secGroup([rule({ port_range_min: 1, port_range_max: 65535 })]);
    await put(keys.secGroup(unsignedSg.id), unsignedSg, null);
    await put(keys.secGroup(forgedSg.id), forgedSg, forger);
    const inUnsigned = vmPort(net, { security_groups: [unsignedSg.id] });
    const inForged = vmPort(net, { security_groups: [forgedSg.id] });
    await w.bind(H, inUnsigned);
    await w.bind(H, inForged);
    await errorOf(inUnsigned.port_id, new RegExp(`security group ${unsignedSg.id} is invalid: not signed`));
    await errorOf(inForged.port_id, new RegExp(`security group ${forgedSg.id} is invalid: signature`));
    // Fail closed: the forged group's "allow everything" never reached VPP.
    const v = await inspect(w.operator);
    assert.ok(![...v.acls.keys()].some((t) => t.includes(forgedSg.id)));
    assert.equal((await w.portState(H, good.port_id))?.ready, true);
  });

  it('unsigned and forged remote-group members add no address and are listed by health', async () => {
    const unsignedMember = uuid();
    const forgedMember = uuid();
    await put(keys.remoteGroupMember(db.id, unsignedMember), { ips: ['10.66.0.1'], revision: 1 }, null);
    await put(keys.remoteGroupMember(db.id, forgedMember), { ips: ['10.66.0.2'], revision: 1 }, forger);
    const validMember = uuid();
    await w.putMember(db.id, validMember, ['10.0.7.7']);
    const acl = async () => (await inspect(w.operator)).acls.get(`netvpp:sg:${db.id}:ingress`);
    await waitFor('the valid member allowed in', async () =>
      (await acl())?.rules.some((r) => r.src_prefix === '10.0.7.7/32'),
    );
    const refused = await waitFor('both members refused', () => {
      const r = agent.health().refused;
      return r.length >= 2 ? r : undefined;
    });
    assert.deepEqual(
      refused.map((r) => [r.key, r.error.replace(/ \(.*$/, '').replace(/ does not match.*$/, '')]).sort(),
      [
        [keys.remoteGroupMember(db.id, forgedMember), 'signature by key ctl1'],
        [keys.remoteGroupMember(db.id, unsignedMember), 'not signed'],
      ].sort(),
    );
    const prefixes = (await acl())?.rules.map((r) => r.src_prefix) ?? [];
    assert.ok(!prefixes.includes('10.66.0.1/32') && !prefixes.includes('10.66.0.2/32'), prefixes.join(' '));
    assert.equal((await w.portState(H, good.port_id))?.ready, true);
  });

  it('a forged router document is an error on the router state', async () => {
    const routerId = uuid();
    const doc = { router_id: routerId, admin_state_up: true, gateway: null, routes: [], revision: 2 };
    await put(keys.router(H, routerId), doc, forger);
    const st = await waitFor('the router refused', async () => {
      const { kv } = await w.store.get(keys.routerState(H, routerId));
      const v = kv && decodeValue('routerState', kv.value);
      return v && v.ok && v.value.error ? v.value : undefined;
    });
    assert.match(st.error ?? '', /^invalid router document: signature by key ctl1 does not match/);
    assert.equal(st.ready, false);
    assert.equal(st.revision, null);
  });

  it('an unsigned sync marker counts as absent: deletions are held', async () => {
    await put(keys.syncMarker, { at: new Date().toISOString(), neutron_rows: 0, controller_id: 'x' }, null);
    await waitFor('deletions held', () => !agent.health().deletions.allowed);
    assert.match(agent.health().deletions.syncMarker.error ?? '', /not signed/);
    await w.markSynced();
    await waitFor('deletions allowed again', () => agent.health().deletions.allowed);
  });
});
