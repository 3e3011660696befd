// The compiler's view of an overlay network beyond this host, from the desired state: the network's
// ports on every host and the peers' VTEPs (see OverlayState).
import type { DesiredState } from './desired.ts';
import type { OverlayView } from './nettypes/index.ts';

export function overlayView(state: DesiredState): OverlayView {
  return {
    host: state.host,
    ports: (networkId) => state.overlay.ports.get(networkId),
    vtepOf: (host) => state.overlay.vteps.get(host),
  };
}
