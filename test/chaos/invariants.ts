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

const NO_INDEX = 0xffffffff;
/** How long after a group's change the agent may not have heard of it. */
const SETTLE_MS = 5000;

export class ReadyAclCheck {
  /** Ready reports checked against VPP, and those left out (see above). */
  checked = 0;
  leftOut = 0;
  readonly violations: string[] = [];
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
    void this.check(h, k.portId, st.value.revision, Date.now())
      .catch(() => this.leftOut++)
      .finally(() => this.running--);
  }

  private recent(key: string, at: number): boolean {
    return (this.changedAt.get(key) ?? -Infinity) > at - SETTLE_MS;
  }

  private async check(h: Host, portId: string, revision: number | null, at: number): Promise<void> {
    const store = this.stack.store;
    const op = h.operator;
    // VPP first, as close to the report as can be.
    const [ifs, acls] = await Promise.all([
      op.dump(sw_interface_dump, { sw_if_index: NO_INDEX }),
      op.dump(acl_dump, { acl_index: NO_INDEX }),
    ]);
    const itf = ifs.find((d) => d.tag === `netvpp:port:${portId}`);
    const b = await store.get(keys.portBinding(h.name, portId));
    const binding = b.kv ? decodeValue('portBinding', b.kv.value) : null;
    if (!itf || !binding?.ok || binding.value.revision !== revision || !isFilteredPort(binding.value)) {
      this.leftOut++;
      return;
    }
    const [list] = await op.dump(acl_interface_list_dump, { sw_if_index: itf.sw_if_index });
    const bound = new Map<string, number>();
    for (const i of list ? list.acls.slice(0, list.count) : []) {
      const a = acls.find((x) => x.acl_index === i);
      if (a) bound.set(a.tag, a.count);
    }
    let judged = false;
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
          this.violations.push(
            `${h.name}: port ${portId} reported ready at revision ${revision} without ${tag} in its ACL list`,
          );
        else if (have < want[d].length)
          this.violations.push(
            `${h.name}: port ${portId} reported ready at revision ${revision} with ${have} rules in ${tag}, ${want[d].length} desired`,
          );
      }
    }
    if (judged) this.checked++;
    else this.leftOut++;
  }
}
