import type { InterfaceConfig, RouterConfig } from '@nexthop/config';
import { openAfPacket } from '@nexthop/driver-afpacket';
import { openTap } from '@nexthop/driver-tap';
import type { FrameOutput, Link, LinkStats } from '@nexthop/interface';
import { SmallServices } from '@nexthop/services';
import { Stack } from '@nexthop/stack';
import type { Logger } from 'pino';

const CARRIER_POLL_MS = 500;

export type LinkOpener = (iface: InterfaceConfig) => Link;

/** Opens the driver an interface's config names. */
export function openConfiguredLink(iface: InterfaceConfig): Link {
  switch (iface.driver) {
    case 'afpacket':
      return openAfPacket({ device: iface.device!, promiscuous: iface.promiscuous });
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
  private readonly config: RouterConfig;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly links: Link[] = [];
  private readonly linkIndex = new Map<Link, number>();
  private dirty = new Uint8Array(0);
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private carrierWatch: NodeJS.Timeout | null = null;
  private stopped = false;
  private services: SmallServices | null = null;
  /** Users of the socket layer besides the services (the remote socket server): each claims its fds. */
  private readonly socketUsers: ((fd: number, events: number) => boolean)[] = [];

  constructor(options: VirtualRouterOptions) {
    this.config = options.config;
    this.name = options.config.name;
    this.logger = options.logger;
    this.clock = options.clock ?? (() => performance.now());
    const output: FrameOutput = {
      transmit: (ifIndex, buf, off, len, segmentSize) => {
        // A false return is a full ring; the driver counts it.
        this.links[ifIndex]!.send(buf, off, len, segmentSize);
        this.dirty[ifIndex] = 1;
      },
    };
    this.stack = new Stack({ output });
    const open = options.openLink ?? openConfiguredLink;
    try {
      for (const iface of this.config.interfaces) {
        const link = open(iface);
        this.links.push(link);
        if (iface.mtu !== undefined && iface.mtu > link.mtu) {
          throw new Error(
            `interface ${iface.name}: mtu ${iface.mtu} is larger than the MTU of device ${link.device} (${link.mtu}); ` +
              `raise the device's MTU (ip link set ${link.device} mtu ${iface.mtu}) or lower the configured one`,
          );
        }
        const ifIndex = this.stack.addInterface({
          name: iface.name,
          mac: iface.mac ?? link.mac,
          mtu: iface.mtu ?? link.mtu,
          maxSegmentOffload: link.maxSegmentOffload,
        });
        this.linkIndex.set(link, ifIndex);
      }
    } catch (err) {
      for (const link of this.links) link.close();
      throw err;
    }
    this.dirty = new Uint8Array(this.links.length);
  }

  start(): void {
    const now = this.clock();
    this.stack.sockets.onSocketEvent = (fd, events) => this.dispatchSocketEvent(fd, events);
    this.config.interfaces.forEach((iface, ifIndex) => {
      for (const a of iface.addresses) this.stack.addAddress(ifIndex, a.address, a.length, now);
    });
    for (const r of this.config.routes) {
      const ifIndex = r.interface === undefined ? undefined : this.stack.interfaceIndex(r.interface);
      this.stack.addStaticRoute({
        network: r.prefix.network,
        length: r.prefix.length,
        via: r.via,
        ifIndex,
        type: r.kind === 'blackhole' ? 'blackhole' : r.kind === 'reject' ? 'reject' : 'unicast',
        distance: r.distance,
      });
    }
    this.startServices(now);
    this.checkCarriers();
    this.flush();
    for (const link of this.links) link.start((l, buf, descs, count) => this.onBatch(l, buf, descs, count));
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

  /** The small servers (echo, discard, chargen) the config enables; the stack drives them by events. */
  private startServices(now: number): void {
    const wanted = this.config.services;
    if (!wanted.echo && !wanted.discard && !wanted.chargen) return;
    const services = new SmallServices(this.stack.sockets, wanted);
    this.services = services;
    for (const problem of services.start(now)) this.logger.warn({ problem }, 'service not started');
    this.logger.info({ services: wanted }, 'services started');
  }

  private dispatchSocketEvent(fd: number, events: number): void {
    if (this.services?.onEvent(fd, events, this.clock()) === true) return;
    for (const user of this.socketUsers) if (user(fd, events)) return;
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
    if (this.stack.nextDeadline() < this.timerAt) this.schedule(this.clock());
  }

  /** An interface whose carrier went away is down for the stack: its routes leave the FIB. */
  private checkCarriers(): void {
    const now = this.clock();
    const known = this.stack.interfaces();
    let changed = false;
    this.links.forEach((link, ifIndex) => {
      const up = link.up;
      if (known[ifIndex]!.up === up) return;
      this.stack.setUp(ifIndex, up, now);
      changed = true;
      this.logger.info(
        { interface: known[ifIndex]!.name, device: link.device },
        up ? 'carrier up' : 'carrier down',
      );
    });
    if (changed) {
      this.flush();
      this.schedule(now);
    }
  }

  private onBatch(link: Link, buf: Uint8Array, descs: Uint32Array, count: number): void {
    if (this.stopped) return;
    const ifIndex = this.linkIndex.get(link)!;
    const now = this.clock();
    const stack = this.stack;
    // descs holds [offset, length, segmentSize] per frame (packages/interface/src/link.ts).
    for (let i = 0; i < count; i++) {
      stack.receive(ifIndex, buf, descs[3 * i]!, descs[3 * i + 1]!, now, descs[3 * i + 2]!);
    }
    this.flush();
    if (stack.nextDeadline() < this.timerAt) this.schedule(now);
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
    const next = this.stack.poll(now);
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

  linkStats(): { name: string; device: string; driver: string; up: boolean; stats: LinkStats }[] {
    return this.links.map((link, i) => ({
      name: this.config.interfaces[i]!.name,
      device: link.device,
      driver: link.kind,
      up: link.up,
      stats: link.stats(),
    }));
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.carrierWatch !== null) clearInterval(this.carrierWatch);
    this.services?.stop(this.clock());
    for (const link of this.links) {
      try {
        link.close();
      } catch (err) {
        this.logger.warn({ err }, 'closing a link failed');
      }
    }
    this.logger.info('VR stopped');
  }
}
