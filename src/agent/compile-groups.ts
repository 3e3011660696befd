// The compiler's security-group step: each group's two ACLs while a port uses it (frozen while a
// remote group it names is still loading), and the shared base and related ACLs while some port's
// lists use them. Reads the groups, their remote-group members and which groups are loaded.
import type { SecurityGroup } from '../model/keyspace.ts';
import type { CompileDelta, Compiled } from './compile.ts';
import { groupFace } from './compile-port.ts';
import { addTo, count, removeFrom } from './compile-refs.ts';
import type { DesiredState } from './desired.ts';
import type { VppObject } from './kinds/index.ts';
import {
  compileBaseAcls,
  compileGroupAcls,
  compileRelatedAcls,
  DIRECTIONS,
  remoteGroupsOf,
} from './secgroups/index.ts';

interface GroupUnit {
  objects: string[];
  frozen: string[];
  warnings: string[];
  remotes: string[];
}

/** What a port's unit says about groups (see PortUnit). */
export interface GroupUse {
  /** Groups whose ACLs the port's lists use. */
  groups: readonly string[];
  /** Shared ACL keys the port's lists use. */
  shared: readonly string[];
  /** Groups the binding names (whose face decides the port's plan). */
  names: readonly string[];
}

export function groupLookup(state: DesiredState): (id: string) => SecurityGroup | undefined {
  return (id) => {
    const g = state.groups.get(id);
    return g?.ok && state.loadedGroups.has(id) ? g.value : undefined;
  };
}

export class GroupStep {
  /** The desired-state inputs the step reads. */
  static readonly reads = ['groups', 'members', 'loadedGroups'] as const;
  private readonly groupRefs = new Map<string, number>();
  private readonly sharedRefs = new Map<string, number>();
  private readonly units = new Map<string, GroupUnit>();
  private readonly remoteUsers = new Map<string, Set<string>>();
  private readonly portsByGroup = new Map<string, Set<string>>();
  /** What ports see of each group they name (see groupFace), as of the last update. */
  private readonly faces = new Map<string, string>();
  private readonly sharedAcls = new Map<string, VppObject>();
  private readonly touched = new Set<string>();
  private readonly sharedTouched = new Set<string>();

  constructor(private readonly compiled: Compiled) {
    const base = compileBaseAcls();
    const related = compileRelatedAcls();
    for (const d of DIRECTIONS) {
      this.sharedAcls.set(`base:${d}`, { kind: 'acl', key: `base:${d}`, rules: base[d] });
      this.sharedAcls.set(`related:${d}`, { kind: 'acl', key: `related:${d}`, rules: related[d] });
    }
  }

  /** Ports naming a group (for readiness lookups). */
  portsNaming(sgId: string): Iterable<string> | undefined {
    return this.portsByGroup.get(sgId);
  }

  /**
   * Starts a pass: the groups changed; returns the ports to redo because the face of a group they
   * name changed (their lists, errors and waiting depend on it; a change of rules alone is the
   * group's own business).
   */
  begin(state: DesiredState, changedGroups: Iterable<string>, redo: Set<string>): void {
    this.touched.clear();
    this.sharedTouched.clear();
    const lookup = groupLookup(state);
    for (const g of changedGroups) {
      this.touched.add(g);
      const face = groupFace(state, g, lookup);
      if (this.faces.get(g) === face) continue;
      this.faces.set(g, face);
      for (const p of this.portsByGroup.get(g) ?? []) redo.add(p);
    }
  }

  /** A port's use of groups goes (its old unit). */
  release(portId: string, use: GroupUse): void {
    for (const g of use.groups) if (count(this.groupRefs, g, -1)) this.touched.add(g);
    for (const k of use.shared) if (count(this.sharedRefs, k, -1)) this.sharedTouched.add(k);
    for (const g of use.names) removeFrom(this.portsByGroup, g, portId);
  }

  /** A port's use of groups comes (its new unit). */
  hold(state: DesiredState, portId: string, use: GroupUse): void {
    for (const g of use.groups) if (count(this.groupRefs, g, 1)) this.touched.add(g);
    for (const k of use.shared) if (count(this.sharedRefs, k, 1)) this.sharedTouched.add(k);
    for (const g of use.names) {
      addTo(this.portsByGroup, g, portId);
      if (!this.faces.has(g)) this.faces.set(g, groupFace(state, g, groupLookup(state)));
    }
  }

  /** Ends a pass: the groups touched (and those using a remote group whose members changed) anew. */
  finish(
    state: DesiredState,
    changedGroups: Iterable<string>,
    changedMembers: Iterable<string>,
    delta: CompileDelta,
  ): void {
    for (const r of [...changedGroups, ...changedMembers]) {
      for (const g of this.remoteUsers.get(r) ?? []) this.touched.add(g);
    }
    const lookup = groupLookup(state);
    for (const g of this.touched) this.setGroup(state, g, lookup, delta);
    for (const k of this.sharedTouched) {
      if (this.sharedRefs.has(k)) this.compiled.objects.set(k, this.sharedAcls.get(k) as VppObject);
      else this.compiled.objects.delete(k);
      delta.keys.add(k);
    }
  }

  /** A group's two ACLs, while a port uses the group (frozen while a remote group is loading). */
  private setGroup(
    state: DesiredState,
    id: string,
    lookup: (id: string) => SecurityGroup | undefined,
    delta: CompileDelta,
  ): void {
    const c = this.compiled;
    for (const d of DIRECTIONS) delta.keys.add(`sg:${id}:${d}`);
    const old = this.units.get(id);
    if (old) {
      for (const k of old.objects) c.objects.delete(k);
      for (const k of old.frozen) c.frozenKeys.delete(k);
      for (const w of old.warnings) c.warnings.delete(w);
      for (const r of old.remotes) removeFrom(this.remoteUsers, r, id);
      this.units.delete(id);
    }
    if (!this.groupRefs.has(id)) return;
    const sg = lookup(id);
    if (!sg) return;
    const unit: GroupUnit = { objects: [], frozen: [], warnings: [], remotes: remoteGroupsOf(sg) };
    for (const r of unit.remotes) addTo(this.remoteUsers, r, id);
    this.units.set(id, unit);
    if (unit.remotes.some((r) => !state.loadedGroups.has(r))) {
      // Compiling now would drop the members not yet read: keep the ACLs as they are meanwhile.
      for (const d of DIRECTIONS) {
        c.frozenKeys.add(`sg:${id}:${d}`);
        unit.frozen.push(`sg:${id}:${d}`);
      }
      return;
    }
    const acls = compileGroupAcls(sg, (g) => state.memberAddresses(g));
    for (const d of DIRECTIONS) {
      const key = `sg:${id}:${d}`;
      c.objects.set(key, { kind: 'acl', key, rules: acls[d] });
      unit.objects.push(key);
    }
    for (const u of acls.unsupported) {
      const k = `${id}/${u.ruleId}/${u.reason}`;
      c.warnings.set(k, `security group ${id} rule ${u.ruleId} left out: ${u.reason}`);
      unit.warnings.push(k);
    }
  }
}
