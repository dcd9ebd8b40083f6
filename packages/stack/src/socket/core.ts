// The socket layer's core (SocketCore, which SocketLayer extends with the BSD calls of layer.ts):
// its parts wired together — descriptors, port binding, stream sockets over the TCP engines, the
// datagram path, UDP and raw receive, multicast, ICMP error dispatch, readiness events — and the
// entry points the Stack drives (input, ICMP errors, TCP readiness, timers, event delivery).
import { pseudoHeaderSumIpv6 } from '@nexthop/wire';
import type { RandomSource } from '../sockapi/random.ts';
import { RecvMeta } from '../sockapi/types.ts';
import type { TcpEngine } from '../tcp/index.ts';
import { Binding } from './binding.ts';
import { DatagramPath } from './datagram.ts';
import { SocketEvents } from './events.ts';
import { FdTable } from './fd-table.ts';
import { IcmpDispatch } from './icmp-dispatch.ts';
import type { Ip6Env, IpEnv } from './ip-env.ts';
import { Multicast } from './multicast.ts';
import { Multicast6 } from './multicast6.ts';
import { RawSockets } from './raw.ts';
import { RawSockets6 } from './raw6.ts';
import type { Sock } from './sock.ts';
import { StreamSockets, type TcpEndpoint } from './stream.ts';
import { UdpSockets } from './udp.ts';

const MAX_SOCKETS = 65536;

export interface SocketLayerOptions {
  /** The stack's random source (StackOptions.random or a SeededRandom of StackOptions.seed). */
  random: RandomSource;
  /** Most open fds (EMFILE beyond). */
  maxSockets?: number;
}

/**
 * The parts of the socket layer and the calls the Stack makes into it. Not used alone: SocketLayer
 * (layer.ts) is this with the BSD-shaped API on top.
 */
export class SocketCore {
  protected readonly env: IpEnv;
  protected readonly fds: FdTable;
  protected readonly udp: UdpSockets;
  protected readonly raw: RawSockets;
  protected readonly raw6: RawSockets6;
  protected readonly multicast6: Multicast6;
  protected readonly multicast: Multicast;
  protected readonly binding: Binding;
  protected readonly stream: StreamSockets;
  protected readonly dgram: DatagramPath;
  protected readonly icmp: IcmpDispatch;
  protected readonly readiness: SocketEvents;
  protected readonly scratchMeta = new RecvMeta();

  constructor(env: IpEnv, options: SocketLayerOptions) {
    this.env = env;
    this.fds = new FdTable(options.maxSockets ?? MAX_SOCKETS);
    const events = new SocketEvents();
    this.readiness = events;
    this.multicast = new Multicast(env);
    this.udp = new UdpSockets(events);
    this.raw = new RawSockets(events, this.multicast);
    this.raw6 = new RawSockets6(events);
    this.multicast6 = new Multicast6(env);
    this.binding = new Binding(env, this.udp.ports, options.random);
    this.stream = new StreamSockets(env, this.fds, this.binding, events);
    this.dgram = new DatagramPath(env, this.binding, events, this.udp, this.raw, this.raw6);
    this.icmp = new IcmpDispatch(this.udp);
  }

  /** Readiness may have changed on fd; `events` is its current EV_* mask. */
  get onSocketEvent(): ((fd: number, events: number) => void) | null {
    return this.readiness.onSocketEvent;
  }

  set onSocketEvent(listener: ((fd: number, events: number) => void) | null) {
    this.readiness.onSocketEvent = listener;
  }

  /** Datagrams refused because a socket's receive queue was full. */
  get rxQueueDrops(): number {
    return this.readiness.rxQueueDrops;
  }

  /** UDP datagrams no socket wanted. */
  get noPortDrops(): number {
    return this.udp.noPortDrops;
  }

  /** Stream sockets need the TCP engine; the Stack attaches it once it exists. */
  attachTcp(engine: TcpEngine): void {
    this.stream.tcp = engine;
    this.binding.tcp = engine;
    this.icmp.tcp = engine;
  }

  /** AF_INET6 stream sockets need the IPv6 engine and the IPv6 layer; the Stack attaches both. */
  attachTcp6(engine: TcpEngine<Uint8Array>, env6: Ip6Env): void {
    this.stream.tcp6 = engine;
    this.stream.env6 = env6;
    this.binding.tcp6 = engine;
    this.binding.env6 = env6;
    this.dgram.env6 = env6;
    this.icmp.tcp6 = engine;
    this.multicast6.env6 = env6;
  }

  // ---- driven by the stack -------------------------------------------------------------------

  /**
   * A UDP datagram (checksum verified) for a local, broadcast or multicast destination. `udpLen` is
   * the UDP length field. Returns whether any socket matched it (false: the port is closed, and the
   * stack answers with ICMP port unreachable, RFC 1122 §4.1.3.1). `ttl`: the TTL it arrived with
   * (reported as RecvMeta.hopLimit: BFD's GTSM check, RFC 5881 §5).
   */
  udpInput(
    ifIndex: number,
    buf: Uint8Array,
    udpOff: number,
    udpLen: number,
    src: number,
    dst: number,
    broadcast: boolean,
    ttl = -1,
  ): boolean {
    return this.udp.input(ifIndex, buf, udpOff, udpLen, src, dst, broadcast, ttl);
  }

  /**
   * A copy of an IP datagram of `protocol` for raw sockets (the whole packet, header included, as
   * Linux raw sockets receive it). Returns whether any socket took it.
   */
  rawInput(
    ifIndex: number,
    buf: Uint8Array,
    ipOff: number,
    ipLen: number,
    protocol: number,
    src: number,
    dst: number,
  ): boolean {
    return this.raw.input(ifIndex, buf, ipOff, ipLen, protocol, src, dst);
  }

  /** Whether any raw AF_INET6 socket takes Next Header `protocol`. */
  hasRaw6(protocol: number): boolean {
    return this.raw6.has(protocol);
  }

  /**
   * A copy of an IPv6 packet's upper-layer message (RFC 3542 §3: without the IPv6 header) for the
   * raw AF_INET6 sockets of `protocol`, from the address at buf[srcOff..] to the one at
   * buf[dstOff..]. Returns whether any socket took it.
   */
  rawInput6(
    ifIndex: number,
    buf: Uint8Array,
    off: number,
    len: number,
    protocol: number,
    srcOff: number,
    dstOff: number,
    multicast: boolean,
  ): boolean {
    const pseudo = pseudoHeaderSumIpv6(buf, srcOff, buf, dstOff, protocol, 0);
    const taken = this.raw6.input(ifIndex, buf, off, len, protocol, srcOff, dstOff, multicast, pseudo);
    this.flushEvents();
    return taken;
  }

  /** Whether any raw socket listens for `protocol` (the stack then skips protocol unreachable). */
  hasRaw(protocol: number): boolean {
    return this.raw.has(protocol);
  }

  /**
   * An ICMP error quoting one of our datagrams (quote: original IP header + at least 8 bytes).
   * Every error of the table in sockapi/icmp-errors.ts, soft or hard, reaches the connected UDP
   * sockets it concerns as their pending error (RFC 1122 §4.1.3.3); TCP gets every error.
   */
  icmpError(
    type: number,
    code: number,
    restOfHeader: number,
    quote: Uint8Array,
    qOff: number,
    qLen: number,
    now: number,
  ): void {
    if (this.icmp.icmpError(type, code, restOfHeader, quote, qOff, qLen, now)) this.flushEvents();
  }

  /**
   * An ICMPv6 error quoting one of our packets (RFC 4443 §2.4 (a)): the quote is the IPv6 header
   * and what followed it. Our segments carry no extension headers, so a quote whose Next Header is
   * not TCP is none of TCP's. Packet Too Big is path MTU information (RFC 8201 §4).
   */
  icmpv6Error(
    type: number,
    code: number,
    restOfHeader: number,
    quote: Uint8Array,
    qOff: number,
    qLen: number,
    now: number,
  ): void {
    if (this.icmp.icmpv6Error(type, code, restOfHeader, quote, qOff, qLen, now)) this.flushEvents();
  }

  /** Called by the TCP engine's env when a connection's or listener's readiness may have changed. */
  tcpNotify(endpoint: TcpEndpoint): void {
    this.stream.notify(endpoint);
  }

  /** Runs due TCP timers; returns the next deadline. */
  poll(now: number): number {
    const next = this.stream.poll(now);
    this.flushEvents();
    return next;
  }

  /** Delivers the readiness events queued since the last flush (after each packet, poll or call). */
  flushEvents(): void {
    this.readiness.flush();
  }

  /**
   * An IPv6 UDP datagram (checksum verified) for the VR, from the address at buf[srcOff..] to the
   * one at buf[dstOff..]. Returns whether any socket took it (false: port unreachable).
   */
  udpInput6(
    ifIndex: number,
    buf: Uint8Array,
    udpOff: number,
    udpLen: number,
    srcOff: number,
    dstOff: number,
    multicast: boolean,
  ): boolean {
    const taken = this.udp.input6(ifIndex, buf, udpOff, udpLen, srcOff, dstOff, multicast);
    this.flushEvents();
    return taken;
  }

  /** Whether the VR has joined group on ifIndex (some socket holds a membership). */
  joined(group: number, ifIndex: number): boolean {
    return this.multicast.joined(group, ifIndex);
  }

  // ---- internals -----------------------------------------------------------------------------

  protected sock(fd: number): Sock | null {
    return this.fds.get(fd);
  }

  protected flushed(result: number): number {
    return this.readiness.flushed(result);
  }
}
