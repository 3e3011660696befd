// Scenario: rotating the signing key without downtime (docs/security.md, "Rotating the signing
// key"). Agents trust the old and the new key for the rollover; a controller that leads with the new
// key signs everything it owns again (from its records) and asks for a full sync for the marker; the
// old key is then dropped from the agents. The port stays ready and its VPP interface untouched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { decodeValue, keys } from '../../src/model/keyspace.ts';
import { generateKeyFiles, kidOf, loadSigner, loadVerifier, type Verifier } from '../../src/model/signing.ts';
import { call, ready, startController } from '../controller/helpers.ts';
import { neutronPort, networkDict, NET, SG1, sgDict, sgRule, uid } from '../controller/fixtures.ts';
import { VHOST_DIR } from './helpers/fixtures.ts';
import { SIM_ONLY, startWorld, waitFor, type World } from './helpers/harness.ts';

const H = 'compute1';
const PORT = uid(901);

describe('signing key rotation', { skip: SIM_ONLY }, () => {
  let w: World;
  let dir: string;
  let ctl: Controller | undefined;
  let agent: Agent;
  const neutron = {
    networks: [networkDict(NET, 1, 1500)],
    security_groups: [sgDict(SG1, 1, [sgRule(1)])],
    ports: [
      neutronPort({
        id: PORT,
        'binding:vif_details': { vhostuser_socket: `${VHOST_DIR}/${PORT}`, vhostuser_mode: 'server' },
      }),
    ],
  };
  const verifier = (...kids: string[]): Verifier => loadVerifier(kids.map((k) => join(dir, `${k}.pub`)));
  const restartAgent = async (v: Verifier): Promise<void> => {
    await w.stopAgent(agent);
    agent = w.startAgent(H, { verifier: v });
    await w.waitReady(H, PORT);
  };
  /** The key id of every value the agents read (desired state and the marker). */
  const signedBy = async (): Promise<Set<string | null>> => {
    const { kvs } = await w.store.getPrefixes([
      keys.hostNodes(H),
      keys.secGroups,
      keys.remoteGroups,
      keys.meta,
    ]);
    return new Set(kvs.map((kv) => kidOf(kv.value)));
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netvpp-rotation-'));
    generateKeyFiles(dir, 'old');
    generateKeyFiles(dir, 'new');
    w = await startWorld();
    ctl = await startController(w.etcd.endpoints, {
      id: 'ctl-old',
      signer: loadSigner(join(dir, 'old.key')),
    });
    await ready(ctl);
    const r = await call(ctl.url, 'POST', '/v1/sync', neutron);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    agent = w.startAgent(H, { verifier: verifier('old') });
    const { kv } = await w.store.get(keys.portBinding(H, PORT));
    const b = kv && decodeValue('portBinding', kv.value);
    assert.ok(b?.ok);
    await w.connectGuest(b.value);
    await w.waitReady(H, PORT);
  });
  after(async () => {
    await ctl?.stop();
    await w?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('old key → both → new key: everything re-signed, the port ready throughout', async () => {
    assert.deepEqual(await signedBy(), new Set(['old']));
    const ifBefore = (await w.portInterface(PORT))?.sw_if_index;
    assert.notEqual(ifBefore, undefined);
    const states = w.recordStates(H, PORT);

    // 1. Agents trust both keys.
    await restartAgent(verifier('old', 'new'));
    // 2. The controller leads with the new key: it signs what it owns again, and wants a full sync
    //    for the marker (only a full sync may write one).
    await ctl?.stop();
    ctl = await startController(w.etcd.endpoints, {
      id: 'ctl-new',
      signer: loadSigner(join(dir, 'new.key')),
    });
    await ready(ctl);
    const c = ctl;
    await waitFor('desired state signed with the new key', async () => {
      const kids = await signedBy();
      kids.delete('old'); // the marker, until the sync
      return kids.size === 1 && kids.has('new');
    });
    await waitFor('a sync asked for', async () => (await call(c.url, 'GET', '/v1/health')).body.sync_needed);
    const r = await call(c.url, 'POST', '/v1/sync', neutron);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.written, 0, 'the re-signing at the start of the term left nothing to rewrite');
    assert.deepEqual(await signedBy(), new Set(['new']));
    assert.equal((await call(c.url, 'GET', '/v1/health')).body.sync_needed, false);
    // 3. The old key is dropped from the agents.
    await restartAgent(verifier('new'));

    await states.stop();
    // (Restarted agents find the state as they left it and rewrite nothing: any value here is a change.)
    assert.deepEqual(
      states.values.filter((s) => !s.ready),
      [],
      'the port never stopped being ready',
    );
    assert.equal((await w.portInterface(PORT))?.sw_if_index, ifBefore, 'the same VPP interface');
    assert.deepEqual(agent.health().refused, []);
  });
});
