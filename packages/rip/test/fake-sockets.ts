// A scripted socket layer for the engine: it records what the engine sets and sends, and hands it
// the datagrams a test queues, with the metadata recvFrom would report.
import { formatIpv4, formatIpv6 } from '@nexthop/addr';
import { EV_READABLE } from '@nexthop/protocol';
import type { RipMembership, RipRecvMeta, RipSocketOption, RipSockets } from '../src/engine.ts';

export interface Sent {
  to: string;
  port: number;
  src: string;
  oif: number;
  bytes: Uint8Array;
  /** IP_MULTICAST_IF at the time (IPv4). */
  mcastIf: string;
}

export interface Incoming {
  bytes: Uint8Array;
  from: number | Uint8Array;
  port: number;
  ifIndex: number;
  hopLimit?: number;
}

export class FakeRipSockets implements RipSockets {
  readonly log: string[] = [];
  readonly sent: Sent[] = [];
  private readonly queue: Incoming[] = [];
  private mcastIf = '';
  fd = 3;

  socket(type: 'dgram', _protocol?: number, family?: 4 | 6): number {
    this.log.push(`socket ${type} ${family}`);
    return this.fd;
  }
  bind(_fd: number, addr: number, port: number): number {
    this.log.push(`bind ${formatIpv4(addr)}:${port}`);
    return 0;
  }
  bind6(_fd: number, addr: Uint8Array, port: number): number {
    this.log.push(`bind [${formatIpv6(addr)}]:${port}`);
    return 0;
  }
  setOption(_fd: number, name: RipSocketOption, value: number | string | RipMembership): number {
    if (name === 'IP_MULTICAST_IF') {
      this.mcastIf = String(value);
      return 0;
    }
    const v =
      typeof value === 'object'
        ? `${'group' in value ? formatIpv4(value.group) : formatIpv6(value.group6)}@${value.interface}`
        : String(value);
    this.log.push(`${name} ${v}`);
    return 0;
  }
  sendTo(
    _fd: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: number,
    port: number,
    _now: number,
    src = 0,
    oif = -1,
  ): number {
    this.sent.push({
      to: formatIpv4(addr),
      port,
      src: formatIpv4(src),
      oif,
      bytes: buf.slice(off, off + len),
      mcastIf: this.mcastIf,
    });
    return len;
  }
  sendTo6(
    _fd: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: Uint8Array,
    port: number,
    _now: number,
    src: Uint8Array | null = null,
    scopeId = 0,
  ): number {
    this.sent.push({
      to: formatIpv6(addr),
      port,
      src: src === null ? '' : formatIpv6(src),
      oif: scopeId - 1,
      bytes: buf.slice(off, off + len),
      mcastIf: '',
    });
    return len;
  }
  recvFrom(_fd: number, buf: Uint8Array, off: number, len: number, meta: RipRecvMeta): number {
    const d = this.queue.shift();
    if (d === undefined) return -11;
    const n = Math.min(len, d.bytes.length);
    buf.set(d.bytes.subarray(0, n), off);
    if (typeof d.from === 'number') {
      meta.family = 4;
      meta.addr = d.from;
      meta.hopLimit = -1;
    } else {
      meta.family = 6;
      meta.addr6.set(d.from);
      meta.hopLimit = d.hopLimit ?? 255;
    }
    meta.port = d.port;
    meta.ifIndex = d.ifIndex;
    meta.length = d.bytes.length;
    meta.truncated = n < d.bytes.length;
    return n;
  }
  close(_fd: number): number {
    this.log.push('close');
    return 0;
  }

  /** Queues datagrams; the caller then hands the engine `socketEvent(fd, EV_READABLE)`. */
  deliver(...d: Incoming[]): number {
    this.queue.push(...d);
    return EV_READABLE;
  }

  take(): Sent[] {
    return this.sent.splice(0);
  }
}

/** A deterministic RandomSource. */
export class SeqRandom {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }
  next32(): number {
    // xorshift32
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
}
