// `netvpp port show <port-id>`: why is this port (not) up, in one answer. The chain, each link read
// where it lives: the controller's record of what Neutron sent (neutron/port/<id>) → the binding in
// etcd (nodes/<host>/ports/<id>) → the agent on that host (alive, VPP connected) and the state it
// reported (state/<host>/ports/<id>: revision, ready, error) → on the port's own host, VPP's objects
// for the port by tag, judged by the agent's engine (src/agent/inspect.ts): in place, missing or
// different, and the failures the running agent is retrying (its GET /health). The verdict names the
// first broken link.
import { type AgentConfig } from '../agent/config.ts';
import type { AgentHealth } from '../agent/agent-types.ts';
import type { HostInspection } from '../agent/inspect.ts';
import {
  decodeValue,
  type HostState,
  keys,
  type NeutronRecord,
  parseKey,
  type PortBinding,
  type PortState,
} from '../model/keyspace.ts';
import type { Store } from '../store/index.ts';
import {
  cliAgentConfig,
  type CliIo,
  defaultIo,
  type HostArgs,
  inspectConfigured,
  show,
} from './inspect-host.ts';
import { reachEtcd } from './cluster-config.ts';
import { withCluster } from './status.ts';

export interface VppObjectRow {
  key: string;
  /** ok: in VPP as desired; missing; different; unwanted (in VPP, the agent would delete it). */
  status: 'ok' | 'missing' | 'different' | 'unwanted';
  fields: { path: string; actual: unknown; desired: unknown }[];
  blocked: string | null;
}

export interface PortReport {
  portId: string;
  /** What the controller applied from Neutron (null: Neutron never sent this port, or not yet). */
  neutron: { revision: number; deleted: string | null; boundTo: string[] } | null;
  bindings: { host: string; binding: PortBinding | null; invalid: string | null }[];
  host: string | null;
  agent: { alive: boolean; state: HostState | null };
  reported: { state: PortState | null; invalid: string | null } | null;
  /** On the port's own host only (VPP is reached through its local socket). */
  vpp: {
    inspected: boolean;
    why: string | null;
    ready: boolean | null;
    linkUp: boolean | null;
    error: string | null;
    objects: VppObjectRow[];
  };
  /** The running agent's failing objects for this port (from its /health, on the port's host). */
  failing: { key: string; error: string; attempts: number }[];
  verdict: { up: boolean; why: string };
}

const errs = (r: { errors: { field: string; message: string }[] }): string =>
  r.errors.map((e) => `${e.field || '(value)'} ${e.message}`).join('; ');

async function readChain(
  store: Store,
  portId: string,
): Promise<Omit<PortReport, 'vpp' | 'failing' | 'verdict'>> {
  const rec = await store.get(keys.neutronRecord('port', portId));
  let neutron: PortReport['neutron'] = null;
  let candidates: string[] = [];
  if (rec.kv) {
    const r = decodeValue('neutronRecord', rec.kv.value);
    if (r.ok) {
      const v: NeutronRecord = r.value;
      candidates = Object.keys(v.owns).filter((k) => parseKey(k)?.kind === 'portBinding');
      neutron = {
        revision: v.revision,
        deleted: v.deleted_at,
        boundTo: candidates.map((k) => (parseKey(k) as { host: string }).host),
      };
    }
  }
  // The record says where the controller put it; etcd may say otherwise (edited by hand, stale).
  const all = await store.getPrefix(keys.nodes);
  const bindings: PortReport['bindings'] = [];
  for (const kv of all.kvs) {
    const k = parseKey(kv.key);
    if (k?.kind !== 'portBinding' || k.portId !== portId) continue;
    const b = decodeValue('portBinding', kv.value);
    bindings.push({ host: k.host, binding: b.ok ? b.value : null, invalid: b.ok ? null : errs(b) });
  }
  const host = bindings[0]?.host ?? null;
  let agent: PortReport['agent'] = { alive: false, state: null };
  let reported: PortReport['reported'] = null;
  if (host) {
    const [alive, st] = await Promise.all([
      store.get(keys.hostAlive(host)),
      store.get(keys.portState(host, portId)),
    ]);
    if (alive.kv) {
      const a = decodeValue('hostAlive', alive.kv.value);
      agent = { alive: true, state: a.ok ? a.value : null };
    }
    if (st.kv) {
      const s = decodeValue('portState', st.kv.value);
      reported = { state: s.ok ? s.value : null, invalid: s.ok ? null : errs(s) };
    }
  }
  return { portId, neutron, bindings, host, agent, reported };
}

function vppRows(insp: HostInspection, portId: string): PortReport['vpp'] {
  const p = insp.ports.find((x) => x.portId === portId);
  const plan = insp.compiled.ports.get(portId);
  if (!p || !plan)
    return {
      inspected: true,
      why: 'the agent compiles nothing for it',
      ready: null,
      linkUp: null,
      error: null,
      objects: [],
    };
  const changes = new Map(p.vpp.changes.map((c) => [c.key, c]));
  const keysOf = [...new Set([...plan.requires, ...changes.keys()])];
  const objects = keysOf.map((key): VppObjectRow => {
    const c = changes.get(key);
    const status: VppObjectRow['status'] = !c
      ? 'ok'
      : c.change === 'create'
        ? 'missing'
        : c.change === 'delete'
          ? 'unwanted'
          : 'different';
    return { key, status, fields: c?.fields ?? [], blocked: c?.blocked?.reason ?? null };
  });
  const order: Record<VppObjectRow['status'], number> = { missing: 0, different: 1, unwanted: 2, ok: 3 };
  objects.sort((a, b) => order[a.status] - order[b.status] || a.key.localeCompare(b.key));
  return {
    inspected: true,
    why: null,
    ready: p.vpp.ready,
    linkUp: p.vpp.linkUp,
    error: p.vpp.error,
    objects,
  };
}

/** The running agent's failures that concern the port (its keys name the port, or the port needs them). */
async function agentFailures(
  config: AgentConfig,
  portId: string,
  needs: Set<string>,
): Promise<PortReport['failing'] | null> {
  if (!config.health) return null;
  try {
    const r = await fetch(`http://${config.health.host}:${config.health.port}/health`, {
      signal: AbortSignal.timeout(3000),
    });
    const h = (await r.json()) as AgentHealth;
    return h.failing.filter((f) => f.key.includes(portId) || needs.has(f.key));
  } catch {
    return null;
  }
}

function verdict(r: Omit<PortReport, 'verdict'>): PortReport['verdict'] {
  const down = (why: string) => ({ up: false, why });
  if (r.neutron?.deleted) return down(`Neutron deleted the port (${r.neutron.deleted})`);
  if (r.bindings.length === 0)
    return down(
      r.neutron
        ? 'not bound by netvpp: no binding in etcd (binding:host_id unset, another mechanism driver bound it, or binding failed)'
        : 'unknown to netvpp: the controller never received this port from Neutron (is the driver forwarding its journal?)',
    );
  const b = r.bindings[0];
  if (b.invalid) return down(`the binding in etcd is unreadable: ${b.invalid}`);
  if (!r.agent.alive) return down(`the agent on ${r.host} is not running (no state/${r.host}/alive)`);
  if (r.agent.state && !r.agent.state.vpp.connected)
    return down(`the agent on ${r.host} is not connected to VPP`);
  const st = r.reported?.state;
  if (!r.reported) return down(`the agent on ${r.host} has not reported the port yet`);
  if (!st) return down(`the reported state is unreadable: ${r.reported.invalid}`);
  if (st.error) return down(st.error);
  if (b.binding && st.revision !== b.binding.revision)
    return down(
      `the agent reported revision ${show(st.revision)}; the binding is at ${b.binding.revision} (still working on it)`,
    );
  const f = r.failing[0];
  if (f) return down(`${f.key}: ${f.error}`);
  if (!st.ready) {
    if (r.vpp.linkUp === false) return down('the guest is not connected to its vhost-user socket yet');
    const missing = r.vpp.objects.filter((o) => o.status !== 'ok');
    if (missing.length) return down(`VPP lacks ${missing.map((o) => `${o.key} (${o.status})`).join(', ')}`);
    return down('reported not ready');
  }
  const wrong = r.vpp.objects.filter((o) => o.status !== 'ok');
  if (wrong.length)
    return down(`reported ready, but VPP differs: ${wrong.map((o) => `${o.key} (${o.status})`).join(', ')}`);
  return { up: true, why: 'ready: interface, bridge, anti-spoofing and security groups in place' };
}

export async function portReport(
  store: Store,
  portId: string,
  config: AgentConfig | null,
  notLocal: string | null,
): Promise<PortReport> {
  const chain = await readChain(store, portId);
  let vpp: PortReport['vpp'] = {
    inspected: false,
    why: notLocal,
    ready: null,
    linkUp: null,
    error: null,
    objects: [],
  };
  let failing: PortReport['failing'] = [];
  if (chain.host && config) {
    if (chain.host !== config.host)
      vpp.why = `VPP is on ${chain.host}: run netvpp port show there for its objects`;
    else {
      try {
        vpp = vppRows(await inspectConfigured(config), portId);
      } catch (e) {
        vpp.why = e instanceof Error ? e.message : String(e);
      }
      const needs = new Set(vpp.objects.map((o) => o.key));
      failing = (await agentFailures(config, portId, needs)) ?? [];
    }
  }
  const partial = { ...chain, vpp, failing };
  return { ...partial, verdict: verdict(partial) };
}

export function renderPort(r: PortReport): string[] {
  const lines = [`port ${r.portId}: ${r.verdict.up ? 'UP' : 'DOWN'} — ${r.verdict.why}`];
  lines.push(
    `  neutron   ${r.neutron ? `revision ${r.neutron.revision} applied by the controller${r.neutron.deleted ? `, deleted ${r.neutron.deleted}` : ''}${r.neutron.boundTo.length ? `, bound to ${r.neutron.boundTo.join(', ')}` : ', not bound'}` : 'no record (never received from Neutron)'}`,
  );
  if (r.bindings.length === 0) lines.push('  binding   none in etcd');
  for (const b of r.bindings) {
    const d = b.binding;
    lines.push(
      `  binding   nodes/${b.host}/ports/${r.portId}: ${d ? `revision ${d.revision}, ${d.vif_type}, network ${d.network_id} (${d.network_type}${d.physnet ? ` on ${d.physnet}` : ''}${d.segmentation_id !== null ? ` ${d.segmentation_id}` : ''}), mtu ${d.mtu}, ${d.port_security_enabled ? `security groups ${d.security_groups.join(', ') || '(none)'}` : 'port security off'}` : `unreadable: ${b.invalid}`}`,
    );
  }
  if (r.bindings.length > 1)
    lines.push(
      `  !         bound to ${r.bindings.length} hosts; the driver's full sync removes the stale one`,
    );
  if (r.host) {
    const a = r.agent.state;
    lines.push(
      `  agent     ${r.host}: ${r.agent.alive ? `alive${a ? `, agent ${a.agent_version}, VPP ${a.vpp.connected ? `${a.vpp.version ?? '?'} connected` : 'DISCONNECTED'}` : ''}` : 'NOT RUNNING'}`,
    );
    const s = r.reported?.state;
    lines.push(
      `  reported  ${!r.reported ? 'nothing yet' : !s ? `unreadable: ${r.reported.invalid}` : `revision ${show(s.revision)}, ${s.ready ? 'ready' : 'not ready'}${s.error ? `, error: ${s.error}` : ''} (${s.updated_at})`}`,
    );
  }
  if (!r.vpp.inspected) {
    if (r.vpp.why) lines.push(`  VPP       not read: ${r.vpp.why}`);
  } else {
    const bad = r.vpp.objects.filter((o) => o.status !== 'ok').length;
    lines.push(
      `  VPP       ${r.vpp.why ?? `${r.vpp.objects.length} objects the port needs or owns: ${r.vpp.objects.length - bad} in place, ${bad} not${r.vpp.linkUp === false ? '; guest not connected' : ''}`}`,
    );
    for (const o of r.vpp.objects) {
      lines.push(`    ${o.status.padEnd(9)} ${o.key}${o.blocked ? ` (blocked: ${o.blocked})` : ''}`);
      for (const f of o.fields) lines.push(`              ${f.path}: ${show(f.actual)} → ${show(f.desired)}`);
    }
  }
  for (const f of r.failing) lines.push(`  failing   ${f.key}: ${f.error} (attempt ${f.attempts})`);
  return lines;
}

export function runPortShow(portId: string, a: HostArgs, io: CliIo = defaultIo): Promise<number> {
  return withCluster('port show', a, io, async (store, c) => {
    // The agent's configuration is needed for VPP only; a controller-only node may have none.
    const quiet: CliIo = { ...io, err: () => undefined };
    const config = cliAgentConfig('port show', a.args, quiet);
    const notLocal = typeof config === 'number' ? 'no agent configuration on this node' : null;
    const r = await reachEtcd(
      c,
      portReport(store, portId.toLowerCase(), typeof config === 'number' ? null : config, notLocal),
      60_000,
    );
    if (a.json) io.out(JSON.stringify(r, null, 2));
    else for (const l of renderPort(r)) io.out(l);
    return r.verdict.up ? 0 : 1;
  });
}
