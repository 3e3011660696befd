// The decoding fuzz through a real etcd and a running agent: generated malformed values of every
// watched kind (decode-fuzz.ts) are put where the agent watches, each bad binding is reported as its
// port's error, and the watchers keep going — a valid port bound after them comes up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeValue, keys } from '../../src/model/keyspace.ts';
import { vlanNet, vmPort } from '../agent/helpers/fixtures.ts';
import { SIM_ONLY, startWorld, type World } from '../agent/helpers/harness.ts';
import { badValueArb, HOST, TEMPLATES } from './decode-fuzz.ts';

let w: World;
before(async () => {
  if (SIM_ONLY) return;
  w = await startWorld();
  w.startAgent(HOST);
});
after(async () => {
  await w?.stop();
});

test(
  'malformed values in etcd: per-object errors, and a valid port bound afterwards comes up',
  { skip: SIM_ONLY },
  async () => {
    const net = vlanNet(300);
    const first = vmPort(net);
    await w.bind(HOST, first);
    await w.connectGuest(first);
    await w.waitReady(HOST, first.port_id);
    const bad = fc.sample(badValueArb(), {
      seed: 14,
      numRuns: Number(process.env.NETVPP_FUZZ_ETCD_RUNS ?? 60),
    });
    let badBindings = 0;
    for (const [i, b] of bad.entries()) {
      // A key of its own for every binding (each must be reported), the watched key for the others.
      const key =
        b.kind === 'portBinding'
          ? keys.portBinding(HOST, `6f1c0a52-1b5e-4bd4-9a8e-${String(i).padStart(12, '0')}`)
          : TEMPLATES[b.kind].key;
      await w.store.put(key, b.value);
      if (b.kind === 'portBinding') badBindings++;
    }
    const later = vmPort(net);
    await w.bind(HOST, later);
    await w.connectGuest(later);
    await w.waitReady(HOST, later.port_id);
    assert.equal((await w.portState(HOST, first.port_id))?.ready, true, 'the port bound before is still up');
    for (const [i, b] of bad.entries()) {
      if (b.kind !== 'portBinding') continue;
      const id = `6f1c0a52-1b5e-4bd4-9a8e-${String(i).padStart(12, '0')}`;
      const st = await w.waitState(
        HOST,
        id,
        `the error of bad binding ${i} (${b.how})`,
        (s) => s !== undefined,
      );
      assert.equal(st?.ready, false, `${b.how}: not ready`);
      if (!decodeValue('portBinding', b.value).ok) assert.ok(st?.error, `${b.how}: its error is reported`);
    }
    assert.ok(badBindings > 0);
  },
);
