// The takeover announcement of an HA router (ha.ts): once its interfaces are up here, a gratuitous
// ARP (VPP's arping plugin, is_garp) for every IPv4 address of its interfaces and gateway, and for
// each of its floating IPs on the gateway, so switches and neighbours learn at once that the
// router's MACs and addresses now live on this host. An event, not state: sent once per takeover,
// after the pass that raised the interfaces (a router whose interfaces are not up yet waits).
import { isIPv4 } from 'node:net';
import { arping } from '../vpp/binapi/index.ts';
import type { Logger } from '../util/log.ts';
import type { DesiredState } from './desired.ts';
import type { ActualState } from './engine/actual.ts';
import { rifKey } from './kinds/index.ts';
import type { VppApi } from './vpp-api.ts';

/** Sends the announcements of the `pending` routers whose interfaces are up; returns those done. */
export async function sendTakeoverGarps(
  vpp: VppApi,
  actual: ActualState,
  desired: DesiredState,
  pending: ReadonlySet<string>,
  log: Logger,
): Promise<string[]> {
  const done: string[] = [];
  if (vpp.offers && !vpp.offers('arping')) {
    log.warn('VPP has no arping plugin: HA takeovers are not announced (neighbours learn on their own)');
    return [...pending];
  }
  for (const routerId of pending) {
    if (!desired.haActive.has(routerId)) {
      done.push(routerId);
      continue;
    }
    const sends: { sw_if_index: number; address: string }[] = [];
    let ready = true;
    let gateway: number | undefined;
    for (const [portId, e] of desired.bindings) {
      const r = e.ok ? e.value.router : undefined;
      if (!r || r.router_id !== routerId) continue;
      const key = rifKey(portId);
      const o = actual.get(key);
      const idx = actual.handle(key);
      if (o?.kind !== 'rif' || !o.adminUp || idx === undefined) {
        ready = false;
        break;
      }
      if (r.role === 'gateway') gateway = idx;
      for (const a of r.addresses) {
        const ip = a.split('/')[0];
        if (isIPv4(ip)) sends.push({ sw_if_index: idx, address: ip });
      }
    }
    if (!ready) continue;
    if (gateway !== undefined)
      for (const e of desired.fips.values())
        if (e.ok && e.value.router_id === routerId)
          sends.push({ sw_if_index: gateway, address: e.value.floating_ip });
    const failed: string[] = [];
    for (const s of sends) {
      try {
        // One request each (repeat 1): VPP's handler sends them inline.
        const r = await vpp.request(arping, { ...s, is_garp: true, repeat: 1, interval: 0 });
        if (r.retval !== 0) failed.push(`${s.address}: retval ${r.retval}`);
      } catch (err) {
        failed.push(`${s.address}: ${(err as Error).message}`);
      }
    }
    if (failed.length) log.warn('gratuitous ARP failed for some addresses', { router: routerId, failed });
    log.info('HA router active here: announced', { router: routerId, addresses: sends.length });
    done.push(routerId);
  }
  return done;
}
