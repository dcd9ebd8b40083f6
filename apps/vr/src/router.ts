import { formatIpv4, formatIpv6 } from '@nexthop/addr';
import {
  describeRoute,
  type InterfaceAddress,
  type InterfaceConfig,
  type RouteConfig,
  type RouterConfig,
  routeKey,
  type ServicesConfig,
} from '@nexthop/config';
import { openAfPacket } from '@nexthop/driver-afpacket';
import { openTap } from '@nexthop/driver-tap';
import type { FrameOutput, Link, LinkStats } from '@nexthop/interface';
import { SmallServices } from '@nexthop/services';
import { Stack } from '@nexthop/stack';
import type { Logger } from 'pino';
import { VrBfd, wantsBfd } from './bfd.ts';
import { VrBgp } from './bgp.ts';
import { Captures } from './capture.ts';
import {
  addRoute6,
  applyAdditions6,
  applyRemovals6,
  describeRoute6,
  removeRoute6,
  route6Key,
  stableAddressPrf,
  startInterface6,
} from './ipv6.ts';
import { VrOspf } from './ospf.ts';
import { type ManagedProtocol, ProtocolHost, type ProtocolKind } from './protocols.ts';
import { CryptoRandom } from './random.ts';
import { VrRip } from './rip.ts';

const CARRIER_POLL_MS = 500;

export type LinkOpener = (iface: InterfaceConfig) => Link;

/** Opens the driver an interface's config names. */
export function openConfiguredLink(iface: InterfaceConfig): Link {
  switch (iface.driver) {
    case 'afpacket':
      return openAfPacket({
        device: iface.device!,
        promiscuous: iface.promiscuous,
        ...(iface.ringSlots !== undefined ? { slotCount: iface.ringSlots } : {}),
      });
    case 'tap':
      return openTap({ device: iface.device! });
    case 'pipe':
      throw new Error(
        `interface ${iface.name}: the pipe driver only exists inside one process (tests, simulation)`,
      );
  }
}

export interface VirtualRouterOptions {
  config: RouterConfig;
  logger: Logger;
  openLink?: LinkOpener;
  /** Monotonic milliseconds; performance.now() unless a test supplies its own. */
  clock?: () => number;
  /**
   * The VR's run directory: BGP keeps its graceful restart mark there (a new process finds it,
   * RFC 4724 §4.1). None: a VR never knows it restarted.
   */
  runDir?: string;
}

/**
 * One VR: the sans-IO stack wired to real links and real time. Each received batch is handed to
 * the stack frame by frame, then every link that got frames is flushed once, then the stack's
 * timers are re-armed.
 */
export class VirtualRouter {
  readonly name: string;
  readonly stack: Stack;
  readonly startedAt = Date.now();
  /** Packet captures; the receive and transmit paths check `captures.on[ifIndex]`. */
  readonly captures = new Captures();
  /** Called when an applied configuration changes the access list or quotas (the rsock server's). */
  onPolicyChange: ((config: RouterConfig) => void) | null = null;
  /** The process's scheduling priority follows the config (the VR process sets it; tests do not). */
  onPriorityChange: ((nice: number) => void) | null = null;
  private config: RouterConfig;
  private readonly logger: Logger;
  /** When an inconsistent RA was last logged, per interface. */
  private readonly raLogged = new Map<number, number>();
  private readonly clock: () => number;
  private readonly runDir: string | undefined;
  private readonly open: LinkOpener;
  /** By stack interface index; a removed interface keeps a closed stand-in (DETACHED). */
  private readonly links: Link[] = [];
  /** By stack interface index; null for a removed interface. */
  private readonly ifaceConfigs: (InterfaceConfig | null)[] = [];
  private readonly linkIndex = new Map<Link, number>();
  private dirty = new Uint8Array(0);
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private carrierWatch: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;
  private services: SmallServices | null = null;
  /**
   * The routing protocol instances (bfd, bgp, rip, ripng, ospf, ospf6), with the deadlines their last
   * calls returned (a socket event can bring one forward).
   */
  private readonly protocols = new ProtocolHost();
  /** Users of the socket layer besides the services (the remote socket server): each claims its fds. */
  private readonly socketUsers: ((fd: number, events: number) => boolean)[] = [];

  constructor(options: VirtualRouterOptions) {
    this.config = options.config;
    this.name = options.config.name;
    this.logger = options.logger;
    this.clock = options.clock ?? (() => performance.now());
    this.runDir = options.runDir;
    this.open = options.openLink ?? openConfiguredLink;
    const output: FrameOutput = {
      transmit: (ifIndex, buf, off, len, segmentSize) => {
        if (this.captures.on[ifIndex] !== 0) this.captures.frame(ifIndex, buf, off, len);
        // A false return is a full ring; the driver counts it.
        this.links[ifIndex]!.send(buf, off, len, segmentSize);
        this.dirty[ifIndex] = 1;
      },
    };
    // Secrets from the CSPRNG, drawn anew by every VR process: never a fixed seed (docs/ARCHITECTURE.md, TCP).
    this.stack = new Stack({
      output,
      random: new CryptoRandom(),
      prf: stableAddressPrf(this.name, this.logger),
    });
    this.stack.onRaInconsistent = (ifIndex, router, problems) =>
      this.raInconsistent(ifIndex, router, problems);
    const opened = this.openLinks(this.config.interfaces);
    for (let i = 0; i < opened.length; i++) this.attach(this.config.interfaces[i]!, opened[i]!);
  }

  /**
   * RFC 4861 §6.2.7 asks for a log of another router's inconsistent advertisements; at most one
   * line per interface a minute, as a flood of them must not flood the log (the counter has all).
   */
  private raInconsistent(ifIndex: number, router: Uint8Array, problems: readonly string[]): void {
    const now = performance.now();
    if (now - (this.raLogged.get(ifIndex) ?? Number.NEGATIVE_INFINITY) < 60_000) return;
    this.raLogged.set(ifIndex, now);
    const iface = this.stack.interfaces().find((i) => i.index === ifIndex)?.name ?? `if${ifIndex}`;
    this.logger.warn(
      { interface: iface, router: formatIpv6(router), problems },
      'another router advertises differently on this link (RFC 4861 §6.2.7)',
    );
  }

  /** Opens the links of these interfaces, all or none: on a failure the ones opened are closed. */
  private openLinks(ifaces: readonly InterfaceConfig[]): Link[] {
    const opened: Link[] = [];
    try {
      for (const iface of ifaces) {
        const link = this.open(iface);
        opened.push(link);
        checkMtu(iface, link);
      }
    } catch (err) {
      for (const link of opened) this.closeLink(link);
      throw err;
    }
    return opened;
  }

  /** Adds an opened link to the stack as a new interface (without addresses; not started). */
  private attach(iface: InterfaceConfig, link: Link): number {
    const ifIndex = this.stack.addInterface({
      name: iface.name,
      mac: iface.mac ?? link.mac,
      mtu: iface.mtu ?? link.mtu,
      maxSegmentOffload: link.maxSegmentOffload,
    });
    this.links[ifIndex] = link;
    this.ifaceConfigs[ifIndex] = iface;
    this.linkIndex.set(link, ifIndex);
    if (this.dirty.length <= ifIndex) {
      const dirty = new Uint8Array(ifIndex + 1);
      dirty.set(this.dirty);
      this.dirty = dirty;
    }
    this.captures.resize(ifIndex + 1);
    return ifIndex;
  }

  /** Takes an interface out: its link is closed and the stack keeps a tombstone. */
  private detach(ifIndex: number, now: number): void {
    const link = this.links[ifIndex]!;
    // What the stack queued for it is dropped with it.
    this.dirty[ifIndex] = 0;
    this.linkIndex.delete(link);
    this.closeLink(link);
    this.links[ifIndex] = detachedLink(link.device);
    this.ifaceConfigs[ifIndex] = null;
    this.captures.endInterface(ifIndex);
    this.stack.removeInterface(ifIndex, now);
  }

  /** Closes an interface's link but keeps the interface (its device is about to be reopened). */
  private releaseLink(ifIndex: number): void {
    const link = this.links[ifIndex]!;
    this.dirty[ifIndex] = 0;
    this.linkIndex.delete(link);
    this.closeLink(link);
    this.links[ifIndex] = detachedLink(link.device);
  }

  /** Opens a released interface's link again; false (and logged) when that fails too. */
  private reclaimLink(iface: InterfaceConfig): boolean {
    const ifIndex = this.stack.interfaceIndex(iface.name);
    try {
      const link = this.open(iface);
      this.links[ifIndex] = link;
      this.linkIndex.set(link, ifIndex);
      if (this.started) this.startLink(link);
      return true;
    } catch (err) {
      this.logger.error({ err, interface: iface.name }, 'cannot reopen the interface after a failed apply');
      return false;
    }
  }

  private closeLink(link: Link): void {
    try {
      link.close();
    } catch (err) {
      this.logger.warn({ err, device: link.device }, 'closing a link failed');
    }
  }

  private startLink(link: Link): void {
    link.start((l, buf, descs, count) => this.onBatch(l, buf, descs, count));
  }

  start(): void {
    const now = this.clock();
    this.started = true;
    this.stack.sockets.onSocketEvent = (fd, events) => this.dispatchSocketEvent(fd, events);
    this.config.interfaces.forEach((iface, ifIndex) => {
      for (const a of iface.addresses) this.stack.addAddress(ifIndex, a.address, a.length, now);
      startInterface6(this.stack, ifIndex, iface, now);
    });
    for (const r of this.config.routes) this.addRoute(r);
    for (const r of this.config.routes6) addRoute6(this.stack, r);
    this.startServices(now);
    for (const kind of this.protocolKinds) if (kind.wanted(this.config)) this.startProtocol(kind, now);
    this.checkCarriers();
    this.flush();
    for (const link of this.links) this.startLink(link);
    this.schedule(now);
    // Carrier changes reach us by polling the device state: cheap at this rate, and it needs no
    // netlink socket in the addon.
    this.carrierWatch = setInterval(() => this.checkCarriers(), CARRIER_POLL_MS);
    this.carrierWatch.unref();
    this.logger.info(
      { interfaces: this.config.interfaces.map((i) => `${i.name}=${i.driver}:${i.device ?? ''}`) },
      'VR started',
    );
  }

  /** The configuration the VR runs now. */
  get currentConfig(): RouterConfig {
    return this.config;
  }

  private addRoute(r: RouteConfig): void {
    const ifIndex = r.interface === undefined ? undefined : this.stack.interfaceIndex(r.interface);
    this.stack.addStaticRoute({
      network: r.prefix.network,
      length: r.prefix.length,
      via: r.via,
      ifIndex,
      type: routeType(r),
      distance: r.distance,
    });
  }

  private removeRoute(r: RouteConfig): void {
    this.stack.removeStaticRoute(r.prefix.network, r.prefix.length, {
      via: r.via ?? 0,
      ifIndex: r.interface === undefined ? -1 : this.stack.interfaceIndex(r.interface),
      type: routeType(r),
      distance: r.distance,
    });
  }

  /**
   * Changes the running VR to `next` in place: only what differs is touched, so traffic through the
   * rest goes on. Everything that can fail (opening new links, MTU checks) happens first; when it
   * fails the VR is left as it was and a ConfigApplyError says why. Returns one line per change.
   */
  apply(next: RouterConfig): string[] {
    if (this.stopped) throw new ConfigApplyError(`VR ${this.name} is stopped`);
    if (next.name !== this.name) {
      throw new ConfigApplyError(`the configuration is for router '${next.name}', this VR is '${this.name}'`);
    }
    const prev = this.config;
    const oldIfs = new Map(prev.interfaces.map((i) => [i.name, i]));
    const newIfs = new Map(next.interfaces.map((i) => [i.name, i]));
    const removed = prev.interfaces.filter((i) => !newIfs.has(i.name));
    const kept = next.interfaces.filter((i) => oldIfs.has(i.name) && sameLink(oldIfs.get(i.name)!, i));
    const fresh = next.interfaces.filter((i) => !kept.includes(i));
    for (const iface of kept) {
      const link = this.links[this.stack.interfaceIndex(iface.name)]!;
      try {
        checkMtu(iface, link);
      } catch (err) {
        throw new ConfigApplyError((err as Error).message);
      }
    }
    // A TAP device has one owner at a time: an interface replaced on the same TAP device lets it go
    // before the new one opens it, and takes it back if the new one cannot open.
    const handedOver = prev.interfaces.filter(
      (i) =>
        i.driver === 'tap' &&
        !kept.some((k) => k.name === i.name) &&
        fresh.some((f) => f.driver === 'tap' && f.device === i.device),
    );
    for (const iface of handedOver) this.releaseLink(this.stack.interfaceIndex(iface.name));
    let opened: Link[];
    try {
      opened = this.openLinks(fresh);
    } catch (err) {
      const lost = handedOver.filter((iface) => !this.reclaimLink(iface));
      const also =
        lost.length === 0 ? '' : `; and ${lost.map((i) => i.name).join(', ')} could not be reopened`;
      throw new ConfigApplyError(`${(err as Error).message}${also}`);
    }

    // From here on nothing fails.
    const now = this.clock();
    const changes: string[] = [];
    const gone = new Set(
      prev.interfaces.filter((i) => !kept.some((k) => k.name === i.name)).map((i) => i.name),
    );
    const oldRoutes = new Map(prev.routes.map((r) => [routeKey(r), r]));
    const newRoutes = new Map(next.routes.map((r) => [routeKey(r), r]));
    // Routes through an interface that is replaced are taken out with it and put back after.
    for (const [key, r] of oldRoutes) {
      const leaving = !newRoutes.has(key);
      if (!leaving && !(r.interface !== undefined && gone.has(r.interface))) continue;
      this.removeRoute(r);
      if (leaving) changes.push(`route ${describeRoute(r)} removed`);
    }
    const oldRoutes6 = new Map(prev.routes6.map((r) => [route6Key(r), r]));
    const newRoutes6 = new Map(next.routes6.map((r) => [route6Key(r), r]));
    for (const [key, r] of oldRoutes6) {
      const leaving = !newRoutes6.has(key);
      if (!leaving && !(r.interface !== undefined && gone.has(r.interface))) continue;
      removeRoute6(this.stack, r);
      if (leaving) changes.push(`route ${describeRoute6(r)} removed`);
    }
    for (const iface of prev.interfaces) {
      if (!gone.has(iface.name)) continue;
      this.detach(this.stack.interfaceIndex(iface.name), now);
      if (removed.includes(iface)) changes.push(`interface ${iface.name} removed`);
    }
    for (const iface of kept) {
      const old = oldIfs.get(iface.name)!;
      const ifIndex = this.stack.interfaceIndex(iface.name);
      const link = this.links[ifIndex]!;
      const mtu = iface.mtu ?? link.mtu;
      const oldMtu = old.mtu ?? link.mtu;
      if (mtu !== oldMtu) {
        this.stack.setMtu(ifIndex, mtu);
        changes.push(`interface ${iface.name} mtu ${oldMtu} -> ${mtu}`);
      }
      this.ifaceConfigs[ifIndex] = iface;
    }
    // Addresses: every removal before any addition, so that an address may move between interfaces.
    for (const iface of kept) {
      const ifIndex = this.stack.interfaceIndex(iface.name);
      const wanted = new Set(iface.addresses.map(addressKey));
      for (const a of oldIfs.get(iface.name)!.addresses) {
        if (wanted.has(addressKey(a))) continue;
        this.stack.removeAddress(ifIndex, a.address);
        changes.push(`address ${addressKey(a)} on ${iface.name} removed`);
      }
      applyRemovals6(this.stack, ifIndex, oldIfs.get(iface.name)!, iface, now, changes);
    }
    for (const iface of kept) {
      const ifIndex = this.stack.interfaceIndex(iface.name);
      const had = new Set(oldIfs.get(iface.name)!.addresses.map(addressKey));
      for (const a of iface.addresses) {
        if (had.has(addressKey(a))) continue;
        this.stack.addAddress(ifIndex, a.address, a.length, now);
        changes.push(`address ${addressKey(a)} on ${iface.name} added`);
      }
      applyAdditions6(this.stack, ifIndex, oldIfs.get(iface.name)!, iface, now, changes);
    }
    fresh.forEach((iface, i) => {
      const link = opened[i]!;
      const ifIndex = this.attach(iface, link);
      for (const a of iface.addresses) this.stack.addAddress(ifIndex, a.address, a.length, now);
      startInterface6(this.stack, ifIndex, iface, now);
      if (this.started) this.startLink(link);
      const what = `${iface.driver}:${iface.device ?? ''}`;
      changes.push(
        oldIfs.has(iface.name)
          ? `interface ${iface.name} replaced (${what})`
          : `interface ${iface.name} added (${what})`,
      );
    });
    for (const [key, r] of newRoutes) {
      const arriving = !oldRoutes.has(key);
      if (!arriving && !(r.interface !== undefined && gone.has(r.interface))) continue;
      this.addRoute(r);
      if (arriving) changes.push(`route ${describeRoute(r)} added`);
    }
    for (const [key, r] of newRoutes6) {
      const arriving = !oldRoutes6.has(key);
      if (!arriving && !(r.interface !== undefined && gone.has(r.interface))) continue;
      addRoute6(this.stack, r);
      if (arriving) changes.push(`route ${describeRoute6(r)} added`);
    }
    this.config = next;
    if (!sameServices(prev.services, next.services)) {
      this.services?.stop(now);
      this.services = null;
      if (this.started) this.startServices(now);
      changes.push(`services ${describeServices(prev.services)} -> ${describeServices(next.services)}`);
    }
    const accessChanged = JSON.stringify(prev.access) !== JSON.stringify(next.access);
    const quotasChanged = JSON.stringify(prev.quotas) !== JSON.stringify(next.quotas);
    if (accessChanged) changes.push('access list changed');
    if (quotasChanged) changes.push('quotas changed');
    if (accessChanged || quotasChanged) this.onPolicyChange?.(next);
    if (this.started)
      for (const kind of this.protocolKinds) changes.push(...this.applyProtocol(kind, prev, next, now));
    if (prev.nice !== next.nice) {
      changes.push(`nice ${prev.nice} -> ${next.nice}`);
      this.onPriorityChange?.(next.nice);
    }
    if (this.started) {
      this.checkCarriers();
      this.flush();
      this.schedule(now);
    }
    this.logger.info({ changes }, changes.length === 0 ? 'configuration unchanged' : 'configuration applied');
    return changes;
  }

  /** The small servers (echo, discard, chargen) the config enables; the stack drives them by events. */
  private startServices(now: number): void {
    const wanted = this.config.services;
    if (!wanted.echo && !wanted.discard && !wanted.chargen) return;
    const services = new SmallServices(this.stack.sockets, wanted);
    this.services = services;
    for (const problem of services.start(now)) this.logger.warn({ problem }, 'service not started');
    this.logger.info({ services: wanted }, 'services started');
  }

  /**
   * The routing protocols a VR runs, in start order (BFD first: its clients find it), each from its
   * own part of the configuration. `section` is that part as written: an apply that leaves it
   * unchanged only re-syncs the instance (interfaces and the stack's routes may still have changed).
   */
  private readonly protocolKinds: readonly ProtocolKind[] = [
    {
      name: 'bfd',
      wanted: wantsBfd,
      // Its timers and its clients' flags are spread over several sections: it sorts them out itself.
      section: () => undefined,
      create: (c) =>
        new VrBfd(this.stack, c, this.logger, {
          bgp: () => this.bgpInstance,
          ospf: () => this.protocols.get('ospf'),
        }),
      started: () => 'bfd started',
    },
    {
      name: 'bgp',
      wanted: (c) => c.bgp !== undefined,
      section: (c) => [c.raw.bgp, c.raw.policies],
      create: (c) => new VrBgp(this.stack, c, this.logger, this.runDir),
      started: (c) => `bgp started (asn ${c.bgp!.asn})`,
    },
    {
      name: 'rip',
      wanted: (c) => c.rip !== undefined,
      section: (c) => c.raw.rip,
      create: (c) => new VrRip(this.stack, c, 4, this.logger),
      started: () => 'rip started',
    },
    {
      name: 'ripng',
      wanted: (c) => c.ripng !== undefined,
      section: (c) => c.raw.ripng,
      create: (c) => new VrRip(this.stack, c, 6, this.logger),
      started: () => 'ripng started',
    },
    {
      name: 'ospf',
      wanted: (c) => c.ospf !== undefined,
      section: (c) => c.raw.ospf,
      create: (c, now) => new VrOspf(this.stack, c, this.logger, now, 2),
      started: (c) => `ospf started (router id ${c.ospf!.routerIdText})`,
    },
    {
      name: 'ospf6',
      wanted: (c) => c.ospf6 !== undefined,
      section: (c) => c.raw.ospf6,
      create: (c, now) => new VrOspf(this.stack, c, this.logger, now, 3),
      started: (c) => `ospf6 started (router id ${c.ospf6!.routerIdText})`,
    },
  ];

  private startProtocol(kind: ProtocolKind, now: number): void {
    const p = kind.create(this.config, now);
    this.protocols.set(kind.name, p);
    p.start(now);
    this.settleRib();
  }

  /** A protocol's part of an apply: the instance starts, stops, or takes its new section in place. */
  private applyProtocol(kind: ProtocolKind, prev: RouterConfig, next: RouterConfig, now: number): string[] {
    const p = this.protocols.get<ManagedProtocol>(kind.name);
    if (!kind.wanted(next)) {
      if (p === null) return [];
      // Taken out of the configuration, not the VR stopping: it may tell its peers more (BGP).
      (p.remove ?? p.stop).call(p, now);
      this.protocols.set(kind.name, null);
      this.stack.rib.flush();
      return [`${kind.name} stopped`];
    }
    if (p === null) {
      this.startProtocol(kind, now);
      return [kind.started(next)];
    }
    const section = kind.section(next);
    const same = section !== undefined && JSON.stringify(kind.section(prev)) === JSON.stringify(section);
    const changes = same ? [] : p.apply(next, now);
    if (same) p.sync(now);
    this.settleRib();
    return changes;
  }

  /** The BFD instance, when running (`show bfd`). */
  get bfdInstance(): VrBfd | null {
    return this.protocols.get<VrBfd>('bfd');
  }

  /** Brings the FIB up to date after a protocol changed routes in the RIB. */
  private settleRib(): void {
    if (this.protocols.takeRibChanges()) this.stack.rib.flush();
  }

  private dispatchSocketEvent(fd: number, events: number): void {
    const now = this.clock();
    if (this.services?.onEvent(fd, events, now) === true) return;
    if (this.protocols.socketEvent(fd, events, now)) {
      this.settleRib();
      return;
    }
    for (const user of this.socketUsers) if (user(fd, events)) return;
  }

  /** The BGP instance, when configured (`show bgp`). */
  get bgpInstance(): VrBgp | null {
    return this.protocols.get<VrBgp>('bgp');
  }

  /** The RIPv2 (4) or RIPng (6) instance, when configured (`show rip`). */
  ripInstance(family: 4 | 6): VrRip | null {
    return this.protocols.get<VrRip>(family === 4 ? 'rip' : 'ripng');
  }

  /** The OSPF instance, when configured (`show ospf`). */
  get ospfInstance(): VrOspf | null {
    return this.protocols.get<VrOspf>('ospf');
  }

  /** The OSPFv3 instance, when configured (`show ospf` with version 3). */
  get ospf6Instance(): VrOspf | null {
    return this.protocols.get<VrOspf>('ospf6');
  }

  /** Another user of the stack's sockets gets the events of the fds it claims (returns true for). */
  addSocketUser(onEvent: (fd: number, events: number) => boolean): void {
    this.socketUsers.push(onEvent);
  }

  /**
   * After driving the stack from outside a received batch (a remote socket request, relayed bytes):
   * sends what it queued and re-arms its timers.
   */
  afterStackCall(): void {
    if (this.stopped) return;
    this.flush();
    if (this.stack.nextDeadline() < this.timerAt || this.protocols.deadline < this.timerAt)
      this.schedule(this.clock());
  }

  /** An interface whose carrier went away is down for the stack: its routes leave the FIB. */
  private checkCarriers(): void {
    const now = this.clock();
    let changed = false;
    this.links.forEach((link, ifIndex) => {
      const iface = this.ifaceConfigs[ifIndex];
      if (iface === null || iface === undefined) return;
      const up = link.up;
      if (this.stack.interfaceUp(ifIndex) === up) return;
      this.stack.setUp(ifIndex, up, now);
      changed = true;
      this.logger.info({ interface: iface.name, device: link.device }, up ? 'carrier up' : 'carrier down');
    });
    if (changed) {
      this.protocols.sync(now);
      this.flush();
      this.schedule(now);
    } else if (this.protocols.syncPolling(now)) {
      this.settleRib();
      this.flush();
      if (this.protocols.deadline < this.timerAt) this.schedule(now);
    }
  }

  private onBatch(link: Link, buf: Uint8Array, descs: Uint32Array, count: number): void {
    if (this.stopped) return;
    const ifIndex = this.linkIndex.get(link);
    if (ifIndex === undefined) return;
    if (this.captures.on[ifIndex] !== 0) this.captures.batch(ifIndex, buf, descs, count);
    const now = this.clock();
    const stack = this.stack;
    // descs holds [offset, length, segmentSize] per frame (packages/interface/src/link.ts).
    for (let i = 0; i < count; i++) {
      stack.receive(ifIndex, buf, descs[3 * i]!, descs[3 * i + 1]!, now, descs[3 * i + 2]!);
    }
    this.flush();
    if (stack.nextDeadline() < this.timerAt || this.protocols.deadline < this.timerAt) this.schedule(now);
  }

  private flush(): void {
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      if (dirty[i] === 1) {
        dirty[i] = 0;
        this.links[i]!.flush();
      }
    }
  }

  private schedule(now: number): void {
    if (this.stopped) return;
    let next = Number.POSITIVE_INFINITY;
    if (this.protocols.size > 0) {
      next = this.protocols.poll(now);
      this.settleRib();
    }
    next = Math.min(next, this.stack.poll(now));
    this.flush();
    if (next === this.timerAt) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.schedule(this.clock());
      },
      Math.max(0, Math.ceil(next - now)),
    );
  }

  /** The links of the live interfaces, with the stack's interface index. */
  linkStats(): {
    index: number;
    name: string;
    device: string;
    driver: string;
    up: boolean;
    stats: LinkStats;
  }[] {
    const out = [];
    for (let i = 0; i < this.links.length; i++) {
      const iface = this.ifaceConfigs[i];
      if (iface === null || iface === undefined) continue;
      const link = this.links[i]!;
      out.push({
        index: i,
        name: iface.name,
        device: link.device,
        driver: link.kind,
        up: link.up,
        stats: link.stats(),
      });
    }
    return out;
  }

  /** Stack interface index of a live interface by name, or -1. */
  interfaceIndex(name: string): number {
    return this.stack.interfaceIndex(name);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.carrierWatch !== null) clearInterval(this.carrierWatch);
    this.captures.stopAll();
    this.services?.stop(this.clock());
    // Peers are told (Cease, RFC 4486; RIP's routes at metric 16) before the links close.
    this.protocols.stop(this.clock());
    this.flush();
    for (const link of this.links) this.closeLink(link);
    this.logger.info('VR stopped');
  }
}

/** A configuration the VR could not take; the VR is unchanged. */
export class ConfigApplyError extends Error {}

function checkMtu(iface: InterfaceConfig, link: Link): void {
  if (iface.mtu !== undefined && iface.mtu > link.mtu) {
    throw new Error(
      `interface ${iface.name}: mtu ${iface.mtu} is larger than the MTU of device ${link.device} (${link.mtu}); ` +
        `raise the device's MTU (ip link set ${link.device} mtu ${iface.mtu}) or lower the configured one`,
    );
  }
}

/** Whether two configs of an interface use the same link the same way (else it is replaced). */
function sameLink(a: InterfaceConfig, b: InterfaceConfig): boolean {
  return (
    a.driver === b.driver &&
    a.device === b.device &&
    a.macText === b.macText &&
    a.promiscuous === b.promiscuous &&
    a.ringSlots === b.ringSlots
  );
}

function routeType(r: RouteConfig): 'unicast' | 'blackhole' | 'reject' {
  return r.kind === 'blackhole' ? 'blackhole' : r.kind === 'reject' ? 'reject' : 'unicast';
}

function addressKey(a: InterfaceAddress): string {
  return `${formatIpv4(a.address)}/${a.length}`;
}

function sameServices(a: ServicesConfig, b: ServicesConfig): boolean {
  return a.echo === b.echo && a.discard === b.discard && a.chargen === b.chargen;
}

function describeServices(s: ServicesConfig): string {
  const on = (['echo', 'discard', 'chargen'] as const).filter((k) => s[k]);
  return on.length === 0 ? 'none' : on.join(',');
}

const NO_STATS: LinkStats = {
  rxFrames: 0,
  rxBytes: 0,
  txFrames: 0,
  txBytes: 0,
  txDropsFull: 0,
  txDropsTooBig: 0,
  rxDropsKernel: 0,
};

/** Stands in for the closed link of a removed interface, so that the transmit path needs no check. */
function detachedLink(device: string): Link {
  return {
    kind: 'pipe',
    device,
    mac: new Uint8Array(6),
    mtu: 0,
    up: false,
    maxSegmentOffload: 0,
    start: () => {},
    send: () => false,
    flush: () => {},
    stats: () => ({ ...NO_STATS }),
    close: () => {},
  };
}
