// Which ports are ready, kept up to date pass by pass: every port after a full pass; else the ports
// whose plan changed, whose link changed, or that need a key whose standing changed in the pass (a
// shared key — a bridge, an uplink, a group's ACL — is looked at once, then the ports needing it).
import type { HostCompiler } from './compile.ts';
import type { ActualState } from './engine/actual.ts';
import type { KeyStatus, Reconciler } from './engine/reconciler.ts';
import type { PortStatus } from './agent-types.ts';
import { portOfKey } from './kinds/index.ts';
import type { PortStateReporter } from './report.ts';

/** Where router and floating-IP states go (compile-l3.ts plan ids `router:<id>`, `fip:<id>`). */
export interface L3Reporters {
  routers: PortStateReporter;
  fips: PortStateReporter;
  /** Tap flows (compile-taas.ts plan ids `tapflow:<id>`); absent: not reported. */
  tapflows?: PortStateReporter;
}

export class Readiness {
  /** Each port's status as last computed. */
  statuses = new Map<string, PortStatus>();
  /** Each router's and floating IP's (by plan id), as last computed. */
  l3Statuses = new Map<string, PortStatus>();
  private keyStatuses = new Map<string, KeyStatus>();
  private all = true;
  private ports = new Set<string>();
  private keys = new Set<string>();

  constructor(private readonly reconciler: Reconciler) {}

  /** What a pass touched: everything (`all`), or these ports and keys. Kept until computed. */
  note(all: boolean, ports: Iterable<string> | undefined, keys: Iterable<string>): void {
    if (all) {
      this.all = true;
      this.ports.clear();
      this.keys.clear();
    } else if (!this.all) {
      for (const p of ports ?? []) this.ports.add(p);
      for (const k of keys) this.keys.add(k);
    }
  }

  /** Recomputes what was noted (and the ports whose link changed); changed statuses go to `reporter`. */
  compute(compiler: HostCompiler, actual: ActualState, reporter: PortStateReporter, l3?: L3Reporters): void {
    const compiled = compiler.compiled;
    if (l3) this.computeL3(compiler, actual, l3, this.all);
    for (const idx of actual.takeLinkChanges()) {
      const key = actual.keyByIf.get(idx);
      const p = key ? portOfKey(key) : null;
      if (p) for (const q of [p, ...compiler.subportsOf(p)]) this.ports.add(q);
    }
    // Keys many ports share are looked at once per report; a port's own keys, by that port alone.
    const statusOf = (key: string): KeyStatus => {
      if (portOfKey(key) !== null) return this.reconciler.keyStatus(key, compiled, actual);
      let st = this.keyStatuses.get(key);
      if (st === undefined)
        this.keyStatuses.set(key, (st = this.reconciler.keyStatus(key, compiled, actual)));
      return st;
    };
    if (this.all) {
      this.all = false;
      this.ports.clear();
      this.keys.clear();
      this.keyStatuses = new Map();
      this.statuses = new Map();
      for (const plan of compiled.ports.values()) {
        const s = this.reconciler.portStatus(plan, compiled, actual, statusOf);
        this.statuses.set(plan.portId, { revision: plan.revision, ready: s.ready, error: s.error });
      }
      reporter.setAll(this.statuses);
      return;
    }
    const todo = this.ports;
    this.ports = new Set();
    // A shared key whose standing changed: every port that may need it is looked at again.
    for (const key of this.keys) {
      const own = portOfKey(key);
      if (own !== null) {
        // A port's own key; a trunk parent's keys are its sub-ports' too.
        for (const p of compiler.portsNeeding(key)) todo.add(p);
        continue;
      }
      const st = this.reconciler.keyStatus(key, compiled, actual);
      if (this.keyStatuses.get(key) === st) continue;
      this.keyStatuses.set(key, st);
      for (const p of compiler.portsNeeding(key)) todo.add(p);
    }
    this.keys.clear();
    for (const portId of todo) {
      if (portId.startsWith('router:') || portId.startsWith('fip:') || portId.startsWith('tapflow:'))
        continue;
      const plan = compiled.ports.get(portId);
      if (!plan) {
        if (this.statuses.delete(portId)) reporter.set(portId, null);
        continue;
      }
      const s = this.reconciler.portStatus(plan, compiled, actual, statusOf);
      const old = this.statuses.get(portId);
      const now: PortStatus = { revision: plan.revision, ready: s.ready, error: s.error };
      if (old && old.revision === now.revision && old.ready === now.ready && old.error === now.error)
        continue;
      this.statuses.set(portId, now);
      reporter.set(portId, now);
    }
  }
  /**
   * Routers and floating IPs: a few hundred plans at most per host, each recomputed every pass (their
   * keys are shared by many: the NAT plugin, a router's interfaces). Only changes are reported.
   */
  private computeL3(compiler: HostCompiler, actual: ActualState, to: L3Reporters, all: boolean): void {
    const compiled = compiler.compiled;
    const now = new Map<string, PortStatus>();
    for (const plan of [...compiled.l3.values(), ...(to.tapflows ? compiled.taas.values() : [])]) {
      const s = this.reconciler.portStatus(plan, compiled, actual);
      now.set(plan.portId, { revision: plan.revision, ready: s.ready, error: s.error });
    }
    const split = (id: string): [PortStateReporter, string] =>
      id.startsWith('router:')
        ? [to.routers, id.slice(7)]
        : id.startsWith('tapflow:') && to.tapflows
          ? [to.tapflows, id.slice(8)]
          : [to.fips, id.slice(4)];
    if (all) {
      const by = new Map<PortStateReporter, Map<string, PortStatus>>([
        [to.routers, new Map()],
        [to.fips, new Map()],
        ...(to.tapflows ? [[to.tapflows, new Map<string, PortStatus>()] as const] : []),
      ]);
      for (const [id, st] of now) {
        const [rep, key] = split(id);
        by.get(rep)?.set(key, st);
      }
      for (const [rep, m] of by) rep.setAll(m);
    } else {
      for (const [id, st] of now) {
        const old = this.l3Statuses.get(id);
        if (old && old.revision === st.revision && old.ready === st.ready && old.error === st.error) continue;
        const [rep, key] = split(id);
        rep.set(key, st);
      }
      for (const id of this.l3Statuses.keys())
        if (!now.has(id)) {
          const [rep, key] = split(id);
          rep.set(key, null);
        }
    }
    this.l3Statuses = now;
  }
}
