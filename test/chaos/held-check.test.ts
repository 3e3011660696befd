// The chaos run's held-deletion check (held-check.ts) on inspections made by hand: an object nothing
// desires, kept while the agent holds deletions, must not go missing before the hold ends.
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { tap_delete_v2, sw_interface_dump } from '../../src/vpp/binapi/index.ts';
import { SIM_ONLY } from '../agent/helpers/harness.ts';
import { sleep, waitFor } from '../controller/helpers.ts';
import { GRACE_MS, HeldDeletionCheck, heldVanished, type HeldTick } from './held-check.ts';
import { NeutronTruth, type Row } from './neutron-truth.ts';
import { Prng } from './prng.ts';
import { ChaosStack } from './stack.ts';

const T0 = 1_000_000;
const tick = (at: number, actual: string[], held: string[], over: Partial<HeldTick> = {}): HeldTick => ({
  at,
  agent: 'compute1-agent1.log',
  holding: true,
  holdingSince: T0,
  actual: new Set(actual),
  held: new Set(held),
  ...over,
});
const PORT = 'port:c4a05000-0000-4000-8000-000000000005';
const MACIP = 'macip:c4a05000-0000-4000-8000-000000000005';
const late = T0 + GRACE_MS + 1000;

test('a held object deleted while the agent holds is a finding, not excused', () => {
  const prev = tick(late, [PORT, MACIP, 'bd:101'], [PORT, MACIP]);
  const next = tick(late + 300, ['bd:101'], []);
  const found = heldVanished(prev, next, false);
  assert.deepEqual(
    found.map((f) => [f.key, f.excused]),
    [
      [PORT, null],
      [MACIP, null],
    ],
  );
});

test('held objects still in VPP, and desired objects re-created (a replace), are no finding', () => {
  const prev = tick(late, [PORT, MACIP, 'acl:sg1'], [PORT]);
  // acl:sg1 is desired: the agent may delete and re-create it while holding.
  assert.deepEqual(heldVanished(prev, tick(late + 300, [PORT, MACIP], []), false), []);
});

test('no finding once the agent stopped holding, or when VPP restarted (it lost everything itself)', () => {
  const prev = tick(late, [PORT], [PORT]);
  assert.deepEqual(heldVanished(prev, tick(late + 300, [], [], { holding: false }), false), []);
  assert.deepEqual(heldVanished(prev, tick(late + 300, [], []), true), []);
});

test('right after the hold began, a finding is excused (a pass begun before it may still delete)', () => {
  const prev = tick(T0 + 100, [PORT], [PORT]);
  const [f] = heldVanished(prev, tick(T0 + 400, [], []), false);
  assert.equal(f.key, PORT);
  assert.match(String(f.excused), /of the hold's start/);
});

// The check on a live stack (the chaos run's: 3 etcd members, 2 controllers, an agent process on a
// simulator): no full sync has written meta/synced, so the agent holds its deletions; a port is bound,
// then deleted in Neutron, so its objects stay in VPP, held. Deleting its interface behind the agent's
// back (what an agent that swept while holding would do) must come out as a violation.
describe('held-deletion check on a live stack', { skip: SIM_ONLY }, () => {
  it('reports a held object deleted from VPP while the agent holds, and nothing before', async () => {
    const stack = await ChaosStack.start(1);
    const check = new HeldDeletionCheck(stack);
    try {
      const [h] = stack.hosts;
      const truth = new NeutronTruth(new Prng(15), [h.name]);
      const rows: Row[] = [];
      while (truth.ports.size === 0) rows.push(truth.change());
      const [port] = truth.ports.values();
      const send = async (r: Row[]) => {
        for (let i = 0; ; i++) {
          const c = await stack.leadingController();
          const res = c
            ? await fetch(`${c.url}/v1/journal`, {
                method: 'POST',
                body: JSON.stringify({ rows: r }),
                headers: { 'content-type': 'application/json' },
              })
            : undefined;
          if (res?.status === 200) return;
          if (i > 300) throw new Error(`journal not taken: ${res?.status} ${await res?.text()}`);
          await sleep(200);
        }
      };
      await send(rows);
      const portKey = `port:${port.id}`;
      const hasPort = async () =>
        (await h.operator.dump(sw_interface_dump, { sw_if_index: 0xffffffff })).find(
          (d) => d.tag === `netvpp:${portKey}`,
        );
      await waitFor(
        'the port plumbed while deletions are held',
        async () => (await hasPort()) !== undefined,
        120_000,
      );
      assert.equal((await h.agent.health())?.deletions.allowed, false, 'no sync marker: the agent holds');
      const started = Date.now();
      check.start();
      await send([
        { id: 1000, resource: 'port', op: 'delete', resource_id: port.id, revision: null, data: null },
      ]);
      await waitFor('the port held in VPP', () => check.heldSeen > 0, 60_000);
      await sleep(1000); // a few inspections with the held port in place
      assert.deepEqual(check.violations, [], 'kept while held: no violation');
      const tap = await hasPort();
      assert.ok(tap, 'the agent kept the port (deletions held)');
      // A deletion within GRACE_MS of the hold's first sighting is excused by design; this one must
      // come after it (on a fast machine the steps above take less than that).
      const graceLeft = started + GRACE_MS + 1000 - Date.now();
      if (graceLeft > 0) await sleep(graceLeft);
      await h.operator.request(tap_delete_v2, { sw_if_index: tap.sw_if_index });
      await waitFor('the deletion reported', () => check.violations.length > 0, 60_000);
      assert.match(check.violations.join('\n'), new RegExp(`${portKey}, held .* was deleted`));
    } finally {
      await check.stop();
      await stack.stop();
    }
  });
});
