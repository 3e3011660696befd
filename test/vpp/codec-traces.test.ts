// Every frame recorded from a real VPP 26.06 decodes to the recorded values and re-encodes to the
// same bytes: the codec is checked against VPP, not against itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_MESSAGES, sockclnt_create_reply } from '../../src/vpp/binapi/index.ts';
import { messageCodec, msgKey, type MessageDef } from '../../src/vpp/codec/index.ts';
import {
  FIRST_SESSION,
  handshakeFrames,
  loadTraces,
  normalize,
  sessions,
  tracesAvailable,
  unbasedDetailsId,
} from '../helpers/traces.ts';

const skip = tracesAvailable() ? false : 'no ../shared/vpp-traces';

/** A session's message table (id -> netvpp's definition) from its handshake. */
function table(session: string): Map<number, MessageDef> {
  const reply = Buffer.from(handshakeFrames(session)[1].hex, 'hex');
  const r = messageCodec(sockclnt_create_reply).decode(reply) as {
    message_table: { index: number; name: string }[];
  };
  const byKey = new Map(ALL_MESSAGES.map((m) => [msgKey(m), m]));
  const out = new Map<number, MessageDef>();
  for (const e of r.message_table) {
    const def = byKey.get(e.name);
    if (def) out.set(e.index, def);
  }
  return out;
}

/**
 * An EID's address union decodes to every member: only the one its type selects is its value —
 * except in one_adjacencies_get_reply, where VPP 26.06 gives MAC EIDs the prefix type (`macTyped`:
 * their bytes are the MAC's, docs/overlays.md). Likewise a FIB path's next hop: the member its
 * `proto` selects (0 IPv4, 1 IPv6; the 16-byte member for the other protocols).
 */
const EID_MEMBER = ['prefix', 'mac', 'nsh'];
function eidsPruned(v: unknown, macTyped = false): unknown {
  if (Array.isArray(v)) return v.map((x) => eidsPruned(x, macTyped));
  if (!v || typeof v !== 'object' || v instanceof Uint8Array) return v;
  const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, eidsPruned(x, macTyped)]));
  const a = o.address as Record<string, unknown> | undefined;
  if (typeof o.type === 'number' && a && typeof a === 'object' && EID_MEMBER.every((m) => m in a)) {
    const m = macTyped ? 'mac' : EID_MEMBER[o.type];
    o.address = m === undefined ? a : { [m]: a[m] };
  }
  const nh = o.nh as Record<string, unknown> | undefined;
  const na = nh?.address as Record<string, unknown> | undefined;
  if (typeof o.proto === 'number' && nh && na && typeof na === 'object' && 'ip4' in na && 'ip6' in na) {
    const m = o.proto === 0 ? 'ip4' : 'ip6';
    o.nh = { ...nh, address: { [m]: na[m] } };
  }
  return o;
}

/**
 * vpp_papi renders ip_route_details' vl_api_prefix_t as a network (ipaddress's strict=False drops the host bits),
 * so the recorded details of an IPv4 connected route (VPP sends 10.1.1.1/24: the interface's
 * address) read 10.1.1.0/24: the decoded frame is compared in that view.
 */
function papiView(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(papiView);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => {
      const m =
        k === 'prefix' && typeof x === 'string' ? /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(x) : null;
      if (!m) return [k, papiView(x)];
      const len = Number(m[5]);
      const n = m.slice(1, 5).reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
      const net = len === 0 ? 0 : (n & (0xffffffff << (32 - len))) >>> 0;
      return [k, `${[24, 16, 8, 0].map((sh) => (net >>> sh) & 0xff).join('.')}/${len}`];
    }),
  );
}

for (const session of tracesAvailable() ? sessions() : [FIRST_SESSION]) {
  test(
    `handshake reply${session ? ` of ${session}` : ''} decodes to the full message table and re-encodes byte for byte`,
    { skip },
    () => {
      const frames = handshakeFrames(session);
      const raw = Buffer.from(frames[1].hex, 'hex');
      const codec = messageCodec(sockclnt_create_reply);
      const r = codec.decode(raw) as {
        count: number;
        message_table: { index: number; name: string }[];
        response: number;
      };
      assert.equal(r.response, 0);
      assert.equal(r.message_table.length, r.count);
      assert.ok(r.count > 1000, 'a real VPP has well over a thousand messages');
      assert.ok(r.message_table.some((e) => e.name === 'control_ping_51077d14'));
      assert.deepEqual(codec.encode(raw.readUInt16BE(0), r), raw);
      // Every message netvpp uses exists in VPP 26.06 with the CRC it was generated for.
      const keys = new Set(r.message_table.map((e) => e.name));
      const missing = ALL_MESSAGES.filter((m) => !keys.has(msgKey(m))).map((m) => m.name);
      assert.deepEqual(missing, []);
    },
  );
}

for (const trace of tracesAvailable() ? loadTraces() : []) {
  test(`trace ${trace.file}: frames decode to the recorded values and re-encode identically`, () => {
    const ids = table(trace.session);
    const byName = new Map([...ids].map(([id, d]) => [d.name, id]));
    let checked = 0;
    for (const step of trace.steps) {
      let detail = 0;
      // A lisp dump's details come with their id within one.api (without the plugin's base).
      const unbased = unbasedDetailsId(byName, step.call);
      const details = ALL_MESSAGES.find((m) => m.name === `${step.call.slice(0, -'_dump'.length)}_details`);
      for (const f of step.frames) {
        const raw = Buffer.from(f.hex, 'hex');
        const id = raw.readUInt16BE(0);
        const def = f.dir === 'from_vpp' && id === unbased ? details : ids.get(id);
        if (!def) continue;
        const codec = messageCodec(def);
        const macTyped = def.name === 'one_adjacencies_get_reply';
        const value = eidsPruned(codec.decode(raw), macTyped) as Record<string, unknown>;
        assert.deepEqual(
          codec.encode(raw.readUInt16BE(0), value),
          raw,
          `${trace.file} ${def.name} re-encode`,
        );
        const got = (
          def.name === 'ip_route_details' ? papiView(normalize(value)) : normalize(value)
        ) as Record<string, unknown>;
        let want: Record<string, unknown> | undefined;
        if (f.dir === 'to_vpp' && def.name === step.call) {
          want = step.args;
          // The caller's arguments alone (plus the .api defaults) give VPP's exact bytes.
          const fromArgs = codec.encode(raw.readUInt16BE(0), {
            ...step.args,
            client_index: value.client_index,
            context: value.context,
          });
          assert.deepEqual(fromArgs, raw, `${trace.file} ${def.name} encoded from the recorded args`);
        } else if (f.dir === 'from_vpp' && def.role === 'details' && step.details)
          want = step.details[detail++];
        else if (
          f.dir === 'from_vpp' &&
          def.role === 'reply' &&
          step.reply &&
          def.name !== 'control_ping_reply'
        )
          want = step.reply;
        else if (f.dir === 'from_vpp' && def.name === 'control_ping_reply' && step.call === 'control_ping')
          want = step.reply;
        if (!want) continue;
        for (const [k, v] of Object.entries(
          eidsPruned(normalize(want), macTyped) as Record<string, unknown>,
        )) {
          assert.deepEqual(got[k], v, `${trace.file} ${step.call} → ${def.name}.${k}`);
        }
        checked++;
      }
    }
    assert.ok(checked > 0, 'the trace has frames of messages netvpp uses');
  });
}
