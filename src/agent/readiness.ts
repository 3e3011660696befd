// Which ports are ready, kept up to date pass by pass: every port after a full pass; else the ports
// whose plan changed, whose link changed, or that need a key whose standing changed in the pass (a
// shared key — a bridge, an uplink, a group's ACL — is looked at once, then the ports needing it).
import type { HostCompiler } from './compile.ts';
import type { ActualState } from './engine/actual.ts';
import type { KeyStatus, Reconciler } from './engine/reconciler.ts';
import type { PortStatus } from './agent-types.ts';
import { portOfKey } from './kinds/index.ts';
import type { PortStateReporter } from './report.ts';

export class Readiness {
  /** Each port's status as last computed. */
  statuses = new Map<string, PortStatus>();
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
  compute(compiler: HostCompiler, actual: ActualState, reporter: PortStateReporter): void {
    const compiled = compiler.compiled;
    for (const idx of actual.takeLinkChanges()) {
      const key = actual.keyByIf.get(idx);
      const p = key ? portOfKey(key) : null;
      if (p) this.ports.add(p);
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
        todo.add(own);
        continue;
      }
      const st = this.reconciler.keyStatus(key, compiled, actual);
      if (this.keyStatuses.get(key) === st) continue;
      this.keyStatuses.set(key, st);
      for (const p of compiler.portsNeeding(key)) todo.add(p);
    }
    this.keys.clear();
    for (const portId of todo) {
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
}
