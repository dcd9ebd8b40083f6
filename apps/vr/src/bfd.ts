import { createHash } from 'node:crypto';
import { ipv6PrefixContains, parseIpv4, prefixContains } from '@nexthop/addr';
import {
  type BfdAddr,
  type BfdClient,
  type BfdConfig,
  BfdEngine,
  type BfdParams,
  type BfdShow,
  type BfdStateChange,
  type BfdSubscription,
  diagName,
} from '@nexthop/bfd';
import {
  BFD_DEFAULT_SECTION,
  type BfdParamsSection,
  type InterfaceConfig,
  type RouterConfig,
} from '@nexthop/config';
import type { Stack } from '@nexthop/stack';
import type { Logger } from 'pino';
import type { VrBgp } from './bgp.ts';
import type { VrOspf } from './ospf.ts';
import type { HostedProtocol } from './protocols.ts';
import { CryptoRandom } from './random.ts';

// BFD inside a VR: the engine of @nexthop/bfd on the VR's own UDP sockets (port 3784 and one
// socket per session in the VR's stack), its timers from the router's `bfd` section (300 ms × 3
// without one). It has no routes of its own: its clients (BGP neighbours and OSPF interfaces with
// `bfd: true`) subscribe to a session for a directly connected peer and act on its Down. Client
// callbacks run inside BFD's socket events and timers, so the host polls every instance after BFD.

const hashes = {
  md5: (d: Uint8Array) => new Uint8Array(createHash('md5').update(d).digest()),
  sha1: (d: Uint8Array) => new Uint8Array(createHash('sha1').update(d).digest()),
};

function engineParams(p: Partial<BfdParamsSection>): Partial<BfdParams> {
  const out: Partial<BfdParams> = {};
  if (p.transmitInterval !== undefined) out.desiredMinTx = p.transmitInterval;
  if (p.receiveInterval !== undefined) out.requiredMinRx = p.receiveInterval;
  if (p.multiplier !== undefined) out.detectMult = p.multiplier;
  if (p.auth !== undefined)
    out.auth = { type: p.auth.type, keyId: p.auth.keyId, key: new TextEncoder().encode(p.auth.key) };
  return out;
}

export function bfdEngineConfig(config: RouterConfig): BfdConfig {
  const s = config.bfd ?? BFD_DEFAULT_SECTION;
  return {
    defaults: engineParams(s.defaults) as BfdParams,
    overrides: [
      ...s.interfaces.map((i) => ({ interface: i.name, params: engineParams(i.params) })),
      ...s.peers.map((p) => ({
        peer: p.address,
        ...(p.interface !== undefined ? { interface: p.interface } : {}),
        params: engineParams(p.params),
      })),
    ],
  };
}

/** Whether anything in the config wants BFD (the section, or a client's flag). */
export function wantsBfd(config: RouterConfig): boolean {
  return (
    config.bfd !== undefined ||
    (config.bgp?.neighbors.some((n) => n.bfd) ?? false) ||
    (config.ospf?.areas.some((a) => a.interfaces.some((i) => i.bfd)) ?? false)
  );
}

/** The interface whose connected prefix holds `peer`, and our address there. */
export function onLink(
  interfaces: readonly InterfaceConfig[],
  peer: BfdAddr,
): { iface: InterfaceConfig; local: BfdAddr } | undefined {
  for (const iface of interfaces) {
    if (typeof peer === 'number') {
      const a = iface.addresses.find((x) => prefixContains(x.prefix, peer));
      if (a !== undefined) return { iface, local: a.address };
    } else {
      const a = iface.addresses6.find((x) => ipv6PrefixContains(x.prefix, peer));
      if (a !== undefined) return { iface, local: a.address };
    }
  }
  return undefined;
}

/** The instances BFD has clients in (the router's, as they come and go). */
export interface BfdClients {
  bgp(): VrBgp | null;
  ospf(): VrOspf | null;
}

/** OSPF neighbour states from 2-Way on: the adjacency BFD watches (as FRR registers them). */
const OSPF_WATCHED = new Set(['2-Way', 'ExStart', 'Exchange', 'Loading', 'Full']);

/**
 * The VR's BFD instance, and its clients (RFC 5882): a BGP neighbour with `bfd: true` has a
 * session while it is configured; its Down ends the BGP session at once (Cease/BFD Down: no
 * graceful restart, see docs/ARCHITECTURE.md). An OSPF neighbour on an interface with `bfd: true`
 * has one from 2-Way on; its Down kills the neighbour (KillNbr), and SPF runs. A peer's AdminDown
 * is not a failure (§3.2): nothing is taken down for it.
 */
export class VrBfd implements HostedProtocol {
  readonly engine: BfdEngine;
  private readonly stack: Stack;
  private readonly logger: Logger;
  private readonly clients: BfdClients;
  private config: RouterConfig;
  /** Subscriptions by client key: "bgp <name> <address>", "ospf <interface> <address>". */
  private readonly subs = new Map<string, BfdSubscription>();
  /** BFD's events reach other instances (their Down): the host polls them all after it. */
  readonly wakesOthers = true;

  constructor(stack: Stack, config: RouterConfig, logger: Logger, clients: BfdClients) {
    this.stack = stack;
    this.config = config;
    this.logger = logger;
    this.clients = clients;
    this.engine = new BfdEngine({
      name: 'bfd',
      sockets: stack.sockets,
      config: bfdEngineConfig(config),
      random: new CryptoRandom(),
      hashes,
      onSessionState: (peer, ifName, from, to, diag) =>
        logger[to === 'Up' || from === 'Up' ? 'info' : 'debug'](
          { protocol: 'bfd', peer, interface: ifName, from, to, diag },
          'BFD session state',
        ),
    });
  }

  start(now: number): void {
    this.engine.start(now);
    this.syncClients(now);
  }

  apply(config: RouterConfig, now: number): string[] {
    const changed = JSON.stringify(config.raw.bfd ?? null) !== JSON.stringify(this.config.raw.bfd ?? null);
    this.config = config;
    this.engine.reconfigure(bfdEngineConfig(config), now);
    this.syncClients(now);
    return changed ? ['bfd timers changed'] : [];
  }

  /** Other instances ran: OSPF neighbours may have come or gone. */
  afterOthers(now: number): boolean {
    return this.syncClients(now);
  }

  /** Brings the subscriptions in line with the clients' wishes; whether any changed. */
  syncClients(now: number): boolean {
    const want = new Map<string, { peer: BfdAddr; client: BfdClient }>();
    const bgp = this.clients.bgp();
    if (bgp !== null)
      for (const n of this.config.bgp?.neighbors ?? []) {
        if (!n.bfd) continue;
        const name = n.name;
        want.set(`bgp ${name} ${String(n.address)}`, {
          peer: n.address,
          client: { name: 'bgp', onState: (c, t) => this.bgpState(name, c, t) },
        });
      }
    const ospf = this.clients.ospf();
    const ospfIfs = new Set(
      (this.config.ospf?.areas ?? []).flatMap((a) => a.interfaces.filter((i) => i.bfd).map((i) => i.name)),
    );
    if (ospf !== null && ospfIfs.size > 0)
      for (const n of ospf.instance.neighbors(now)) {
        if (!ospfIfs.has(n.interface) || !OSPF_WATCHED.has(n.state)) continue;
        const ifName = n.interface;
        const addr = parseIpv4(n.address);
        want.set(`ospf ${ifName} ${n.address}`, {
          peer: addr,
          client: { name: 'ospf', onState: (c, t) => this.ospfState(ifName, addr, n.routerId, c, t) },
        });
      }
    let changed = false;
    for (const [key, sub] of this.subs) {
      if (want.has(key)) continue;
      sub.unsubscribe(now);
      this.subs.delete(key);
      changed = true;
    }
    for (const [key, w] of want) {
      if (this.subs.has(key)) continue;
      const sub = this.subscribe(w.peer, w.client, now);
      if (sub === null) {
        if (!this.unreachable.has(key))
          this.logger.warn(
            { protocol: 'bfd', client: key },
            'BFD: the peer is on no interface of ours (single hop only)',
          );
        this.unreachable.add(key);
        continue;
      }
      this.subs.set(key, sub);
      changed = true;
    }
    return changed;
  }

  private readonly unreachable = new Set<string>();

  private bgpState(name: string, c: BfdStateChange, now: number): void {
    if (c.up || c.adminDown) {
      this.logger.info(
        { protocol: 'bfd', neighbor: name, up: c.up, adminDown: c.adminDown },
        'BFD: BGP neighbour',
      );
      return;
    }
    const closed = this.clients.bgp()?.instance.peer(name)?.forwardingFailed(now) ?? false;
    this.logger.warn(
      { protocol: 'bfd', neighbor: name, diag: diagName(c.diag), closed },
      'BFD down: BGP session closed',
    );
  }

  private ospfState(ifName: string, addr: number, routerId: string, c: BfdStateChange, now: number): void {
    if (c.up || c.adminDown) return;
    const ifIndex = this.stack.interfaceIndex(ifName);
    const killed = this.clients.ospf()?.instance.killNeighborAt(ifIndex, addr, now) ?? false;
    this.logger.warn(
      { protocol: 'bfd', interface: ifName, neighbor: routerId, diag: diagName(c.diag), killed },
      'BFD down: OSPF neighbour killed',
    );
  }

  /**
   * A session to a directly connected `peer` for `client` (null when no interface of ours holds
   * the peer: BFD here is single hop only).
   */
  subscribe(peer: BfdAddr, client: BfdClient, now: number): BfdSubscription | null {
    const at = onLink(this.config.interfaces, peer);
    if (at === undefined) return null;
    const ifIndex = this.stack.interfaceIndex(at.iface.name);
    if (ifIndex < 0) return null;
    return this.engine.subscribe({ peer, local: at.local, ifIndex, ifName: at.iface.name }, client, now);
  }

  socketEvent(fd: number, events: number, now: number): boolean {
    return this.engine.socketEvent(fd, events, now);
  }

  poll(now: number): number {
    return this.engine.poll(now);
  }

  takeRibChanges(): boolean {
    return false;
  }

  sync(_now: number): void {}

  stop(now: number): void {
    this.engine.stop(now, 'router stopping');
    this.subs.clear();
  }

  show(now: number): BfdShow {
    return this.engine.show(now);
  }
}
