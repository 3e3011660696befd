/**
 * Everything a VPP process holds that the API can see. A crash drops the whole object and starts
 * a fresh one, exactly as a restarted VPP starts from nothing.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { AclPlugin } from './acl.ts';
import { Bonds } from './bond.ts';
import { PendingEvents } from './events.ts';
import { Interfaces } from './interfaces.ts';
import { Ip } from './ip.ts';
import { L2 } from './l2.ts';
import { L2Fib } from './l2fib.ts';
import { Lisp } from './lisp.ts';
import { Nat44 } from './nat.ts';
import { Pipes } from './pipe.ts';
import { Policers } from './policer.ts';
import type { SentArp } from './arping.ts';
import { Routes } from './routes.ts';
import { RouterAdverts } from './ra.ts';
import { Vxlan } from './vxlan.ts';
import { Span } from './span.ts';
import { Gre } from './gre.ts';

export interface StateOptions {
  /** tap_create_v3 works (true) or fails with -11 as on a host without /dev/vhost-net. */
  vhostNet: boolean;
  /** Look at the host: af_packet needs /sys/class/net/<name>, a vhost-user server its directory. */
  checkHost: boolean;
  /** Physical NICs VPP found at start (DPDK names like GigabitEthernet0/8/0), in index order. */
  nics: readonly string[];
  /** Plugins (message groups) this VPP runs without: their messages and CLI commands are unknown. */
  withoutGroups: ReadonlySet<string>;
}

export class VppState {
  readonly events: PendingEvents;
  readonly ifs: Interfaces;
  readonly l2: L2;
  readonly l2fib: L2Fib;
  readonly vxlan: Vxlan;
  readonly lisp: Lisp;
  readonly acl: AclPlugin;
  readonly ip: Ip;
  readonly routes: Routes;
  readonly ra = new RouterAdverts();
  readonly pipes: Pipes;
  readonly nat: Nat44;
  readonly policers = new Policers();
  readonly bonds: Bonds;
  readonly span = new Span();
  readonly gre: Gre;
  /** ARP requests the arping plugin was asked to send (arping.ts), oldest first. */
  readonly arpsSent: SentArp[] = [];

  constructor(
    readonly opts: StateOptions,
    /** Called when interface events are waiting to be delivered. */
    onEvents: () => void,
    /** VPP's process id, reported by control_ping; a new one after every restart. */
    readonly vpePid: number,
  ) {
    this.events = new PendingEvents(onEvents);
    this.l2 = new L2(this);
    this.l2fib = new L2Fib();
    this.vxlan = new Vxlan(this);
    this.lisp = new Lisp(this);
    this.acl = new AclPlugin();
    this.routes = new Routes();
    this.ip = new Ip(this.routes, (sw, enabled) => {
      // The RA state takes the interface's IPv6 MTU (else its L3 MTU) when IPv6 comes on.
      const mtu = this.ifs.get(sw)?.mtu ?? [0, 0, 0, 0];
      this.ra.link(sw, enabled, mtu[2] || mtu[0]);
    });
    this.pipes = new Pipes(this);
    this.nat = new Nat44();
    this.bonds = new Bonds(this);
    this.gre = new Gre(this);
    this.ifs = new Interfaces(this);
    // local0 exists from the start; VPP's link-state process was not yet running for it.
    this.events.clear();
  }

  hostInterfaceExists(name: string): boolean {
    if (!this.opts.checkHost) return true;
    return name !== '' && !name.includes('/') && existsSync(`/sys/class/net/${name}`);
  }

  /** Whether VPP could bind a unix socket at `path` (its directory must exist). */
  canBind(path: string): boolean {
    return !this.opts.checkHost || existsSync(dirname(path));
  }
}
