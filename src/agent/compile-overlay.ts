// What the compiler needs for overlay networks: the view of an overlay beyond this host (from the
// desired state), and objects networks share (the VXLAN underlay), counted by the networks holding
// them so they stay while any network needs them.
import type { DesiredState } from './desired.ts';
import type { VppObject } from './kinds/index.ts';
import type { OverlayView } from './nettypes/index.ts';

export function overlayView(state: DesiredState): OverlayView {
  return {
    host: state.host,
    ports: (networkId) => state.overlay.ports.get(networkId),
    vtepOf: (host) => state.overlay.vteps.get(host),
  };
}

export class SharedObjects {
  /** network → the shared keys it holds. */
  private readonly held = new Map<string, string[]>();
  /** key → how many networks hold it. */
  private readonly refs = new Map<string, number>();

  /** `networkId` holds `objs` (they are put in `objects`); touched keys go to `touched`. */
  hold(
    networkId: string,
    objs: readonly VppObject[],
    objects: Map<string, VppObject>,
    touched: Set<string>,
  ): void {
    this.release(networkId, objects, touched);
    if (objs.length === 0) return;
    this.held.set(
      networkId,
      objs.map((o) => o.key),
    );
    for (const o of objs) {
      this.refs.set(o.key, (this.refs.get(o.key) ?? 0) + 1);
      objects.set(o.key, o);
      touched.add(o.key);
    }
  }

  /** `networkId` no longer holds anything; a key no network holds leaves `objects`. */
  release(networkId: string, objects: Map<string, VppObject>, touched: Set<string>): void {
    for (const k of this.held.get(networkId) ?? []) {
      const n = (this.refs.get(k) ?? 0) - 1;
      touched.add(k);
      if (n > 0) this.refs.set(k, n);
      else {
        this.refs.delete(k);
        objects.delete(k);
      }
    }
    this.held.delete(networkId);
  }
}
