// One connection to VPP as the agent's work sees it. The client reconnects in place (the same object
// talks to the restarted VPP), so work begun on an earlier connection — a pass whose op was waiting
// on the host's network or on a reply when the connection went, or a read-back — would otherwise go
// on against the new VPP with what it knew of the old one: sw_if_indexes, ACL indexes and VRFs the
// new VPP does not have, or has as something else. A session is ended when its connection is lost;
// every call made through it afterwards fails as a lost connection, so that work stops (its pass is
// aborted) and only a pass begun on the new connection, after reading it back, writes anything.
import type { Args } from '../vpp/client.ts';
import type { MessageDef } from '../vpp/codec/index.ts';
import { VppDisconnectedError } from '../vpp/errors.ts';
import type { GroupName } from '../vpp/groups.ts';
import type { VppApi } from './vpp-api.ts';

export class VppSession implements VppApi {
  private ended = false;

  constructor(private readonly inner: VppApi) {}

  /** The connection this session is of was lost: nothing more goes through it. */
  end(): void {
    this.ended = true;
  }

  get live(): boolean {
    return !this.ended;
  }

  private lost(name: string): Promise<never> {
    return Promise.reject(
      new VppDisconnectedError(`${name}: the connection to VPP this work began on was lost`),
    );
  }

  request<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R> {
    if (this.ended) return this.lost(def.name);
    return this.inner.request(def, args);
  }

  dump<Q, R>(def: MessageDef<Q, R>, args: Args<Q>): Promise<R[]> {
    if (this.ended) return this.lost(def.name);
    return this.inner.dump(def, args);
  }

  offers(group: GroupName): boolean {
    return this.inner.offers?.(group) ?? true;
  }
}
