// A check the chaos run makes while it runs, not only after the quiet period: a port is never
// reported ready while its security groups' ACLs in VPP hold fewer rules than desired. Each time an
// agent writes `ready` for a port, VPP is read at once (the simulators live in this process) and each
// group the port names is compiled from etcd (compileGroupAcls, as the agent does): the port's ACL
// list must name the group's ACL in both directions, each with at least the rules compiled.
//
// What an agent cannot have known yet is left out: a binding that moved on since the ready report,
// a group or a remote group's members changed in the last few seconds (the agent's watch may not
// have delivered it), a port whose interface is gone (its VPP crashed since).
import { remoteGroupsOf, compileGroupAcls } from '../../src/agent/secgroups/group-acls.ts';
import { isFilteredPort } from '../../src/agent/secgroups/port-acls.ts';
import { decodeValue, keys, parseKey } from '../../src/model/keyspace.ts';
import { watchPrefixes, type PrefixWatcher, type WatchEvent } from '../../src/store/index.ts';
import { acl_dump, acl_interface_list_dump, sw_interface_dump } from '../../src/vpp/binapi/index.ts';
import type { ChaosStack, Host } from './stack.ts';

interface VppView {
  /** Tag → rule count of each ACL in the port's list. */
  bound: Map<string, number>;
  /** The interface's index, its list and the ACLs' counts, to tell whether VPP changed between reads. */
  sig: string;
}

const NO_INDEX = 0xffffffff;
/** How long after a group's change the agent may not have heard of it. */
const SETTLE_MS = 5000;

export class ReadyAclCheck {
  /** Ready reports checked against VPP, and those left out (see above). */
  checked = 0;
  leftOut = 0;
  readonly violations: string[] = [];
  /** Findings left out because the binding or VPP changed while the check ran (see check()). */
  readonly excused: string[] = [];
  private watcher: PrefixWatcher | undefined;
  /** When this check saw each group / member key change last (ms). */
  private changedAt = new Map<string, number>();
  private running = 0;

  constructor(private readonly stack: ChaosStack) {}

  async start(): Promise<void> {
    this.watcher = watchPrefixes(this.stack.store, {
      prefixes: ['state/', keys.secGroups, keys.remoteGroups],
      log: () => {},
      onEvent: (ev) => this.onEvent(ev),
    });
    await this.watcher.ready;
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    while (this.running > 0) await new Promise((r) => setTimeout(r, 50));
  }

  private onEvent(ev: WatchEvent): void {
    if (ev.type === 'resync') {
      for (const k of [...ev.changed.map((kv) => kv.key), ...ev.removed]) this.changedAt.set(k, Date.now());
      return;
    }
    if (ev.type === 'connection') return;
    if (!ev.key.startsWith('state/')) {
      this.changedAt.set(ev.key, Date.now());
      return;
    }
    if (ev.type !== 'put') return;
    const k = parseKey(ev.key);
    if (k?.kind !== 'portState') return;
    const st = decodeValue('portState', ev.value);
    if (!st.ok || !st.value.ready) return;
    const h = this.stack.hosts.find((x) => x.name === k.host);
    // A burst of reports: a few are checked at a time, the others counted as left out.
    if (!h || this.running >= 8) {
      this.leftOut++;
      return;
    }
    this.running++;
    void this.check(h, k.portId, st.value.revision, Date.now(), ev.modRevision)
      .catch(() => this.leftOut++)
      .finally(() => this.running--);
  }

  private recent(key: string, at: number): boolean {
    return (this.changedAt.get(key) ?? -Infinity) > at - SETTLE_MS;
  }

  /**
   * The port's interface in VPP, its ACL list, and the tag and rule count of each ACL on it, read in
   * one go (pipelined: the simulator answers them in order, with no agent call between unless one
   * arrives mid-read, which the second read in check() detects).
   */
  private async readVpp(h: Host, portId: string): Promise<VppView | null> {
    const op = h.operator;
    const [ifs, acls, lists] = await Promise.all([
      op.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
      op.dump(acl_dump, { acl_index: NO_INDEX }),
      op.dump(acl_interface_list_dump, { sw_if_index: NO_INDEX }),
    ]);
    const itf = ifs.find((d) => d.tag === `netvpp:port:${portId}`);
    if (!itf) return null;
    const list = lists.find((l) => l.sw_if_index === itf.sw_if_index);
    const indices = list ? list.acls.slice(0, list.count) : [];
    const bound = new Map<string, number>();
    for (const i of indices) {
      const a = acls.find((x) => x.acl_index === i);
      if (a) bound.set(a.tag, a.count);
    }
    const sig = JSON.stringify([itf.sw_if_index, indices, [...bound]]);
    return { bound, sig };
  }

  private async check(
    h: Host,
    portId: string,
    revision: number | null,
    at: number,
    reportRev: number,
  ): Promise<void> {
    const store = this.stack.store;
    // VPP first, as close to the report as can be.
    const first = await this.readVpp(h, portId);
    const b = await store.get(keys.portBinding(h.name, portId));
    const binding = b.kv ? decodeValue('portBinding', b.kv.value) : null;
    // Left out: the interface gone (its VPP crashed since), the binding moved on or rewritten after
    // the report (a network's MTU changes a binding at the same revision, and the agent replaces the
    // interface), an unfiltered port.
    if (!first || !binding?.ok || binding.value.revision !== revision || !isFilteredPort(binding.value)) {
      this.leftOut++;
      return;
    }
    const bound = first.bound;
    let judged = false;
    // What the message says beside the finding: the list VPP had, how late the check read it, and
    // what happened to the host shortly before (so a violation can be told from a fault's race).
    const context = (): string => {
      const recent = h.timeline.filter((e) => e.at > at - 10_000).map((e) => `${e.what} ${e.at - at} ms`);
      return ` [VPP's list: ${[...bound.keys()].join(', ') || 'empty'}; read ${Date.now() - at} ms after the report; host: ${recent.join(', ') || 'no fault in the 10 s before'}]`;
    };
    const found: string[] = [];
    for (const g of binding.value.security_groups) {
      const sgKey = keys.secGroup(g);
      const sgKv = (await store.get(sgKey)).kv;
      const sg = sgKv ? decodeValue('secGroup', sgKv.value) : null;
      if (!sg?.ok || this.recent(sgKey, at)) continue;
      const remotes = remoteGroupsOf(sg.value);
      const members = new Map<string, string[]>();
      let settled = true;
      for (const r of remotes) {
        const { kvs } = await store.getPrefixes([keys.remoteGroup(r)]);
        if (kvs.some((kv) => this.recent(kv.key, at)) || this.recent(keys.remoteGroup(r), at))
          settled = false;
        const ips: string[] = [];
        for (const kv of kvs) {
          const m = decodeValue('remoteGroupMember', kv.value);
          if (m.ok) ips.push(...m.value.ips);
        }
        members.set(r, ips);
      }
      // A member removed lately leaves no key to look at: any recent change under the group counts.
      for (const [k] of this.changedAt)
        if (remotes.some((r) => k.startsWith(keys.remoteGroup(r))) && this.recent(k, at)) settled = false;
      if (!settled) continue;
      const want = compileGroupAcls(sg.value, (r) => members.get(r) ?? []);
      judged = true;
      for (const d of ['ingress', 'egress'] as const) {
        const tag = `netvpp:sg:${g}:${d}`;
        const have = bound.get(tag);
        if (have === undefined)
          found.push(
            `${h.name}: port ${portId} reported ready at revision ${revision} without ${tag} in its ACL list${context()}`,
          );
        else if (have < want[d].length)
          found.push(
            `${h.name}: port ${portId} reported ready at revision ${revision} with ${have} rules in ${tag}, ${want[d].length} desired${context()}`,
          );
      }
    }
    // VPP read again: the agent was making a change while the check read it (a port's interface
    // replaced, its list being rewritten) when the two reads differ; then nothing can be concluded.
    const second = await this.readVpp(h, portId);
    const why =
      (b.kv?.modRevision ?? 0) > reportRev
        ? 'the binding was rewritten after the report'
        : second?.sig !== first.sig
          ? 'VPP changed while the check read it'
          : null;
    if (!judged || why) {
      this.leftOut++;
      // What these guards keep out of the violations is kept, to show what they excuse.
      if (found.length > 0 && why) this.excused.push(`${found[0]} — excused: ${why}`);
      return;
    }
    this.checked++;
    this.violations.push(...found);
  }
}
