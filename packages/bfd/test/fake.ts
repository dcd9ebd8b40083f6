// A scripted socket layer for the BFD engine: it records sockets, binds, options and every packet
// sent (decoded), and builds what a peer would send, with the metadata recvFrom would report.
import { createHash } from 'node:crypto';
import { formatIpv4, formatIpv6 } from '@nexthop/addr';
import {
  type BfdControlFields,
  type BfdHashes,
  BfdPacket,
  decodeControl,
  encodeControl,
  STATE_NAMES,
} from '../src/codec.ts';
import type { BfdRecvMeta, BfdSocketOption, BfdSockets, RandomSource } from '../src/engine.ts';

export const hashes: BfdHashes = {
  md5: (d) => new Uint8Array(createHash('md5').update(d).digest()),
  sha1: (d) => new Uint8Array(createHash('sha1').update(d).digest()),
};

/** xorshift32: deterministic words from a seed. */
export class SeqRandom implements RandomSource {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }
  next32(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
}

export interface Sent {
  at: number;
  fd: number;
  to: string;
  port: number;
  src: string;
  oif: number;
  packet: BfdPacket;
  bytes: Uint8Array;
}

export class FakeBfdSockets implements BfdSockets {
  readonly log: string[] = [];
  readonly sent: Sent[] = [];
  private nextFd = 3;
  readonly bound = new Map<number, string>();

  socket(type: 'dgram', _protocol?: number, family?: 4 | 6): number {
    const fd = this.nextFd++;
    this.log.push(`socket ${fd} ${type} ${family}`);
    return fd;
  }
  bind(fd: number, addr: number, port: number): number {
    this.log.push(`bind ${fd} ${formatIpv4(addr)}:${port}`);
    this.bound.set(fd, `${formatIpv4(addr)}:${port}`);
    return 0;
  }
  bind6(fd: number, addr: Uint8Array, port: number, scopeId?: number): number {
    this.log.push(`bind ${fd} [${formatIpv6(addr)}]:${port}${scopeId === undefined ? '' : `%${scopeId}`}`);
    this.bound.set(fd, `[${formatIpv6(addr)}]:${port}`);
    return 0;
  }
  setOption(fd: number, name: BfdSocketOption, value: number | string): number {
    this.log.push(`${name} ${fd} ${value}`);
    return 0;
  }
  sendTo(
    fd: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: number,
    port: number,
    now: number,
    src?: number,
    oif?: number,
  ): number {
    this.record(
      fd,
      buf.slice(off, off + len),
      formatIpv4(addr),
      port,
      now,
      src === undefined ? '' : formatIpv4(src),
      oif ?? -1,
    );
    return len;
  }
  sendTo6(
    fd: number,
    buf: Uint8Array,
    off: number,
    len: number,
    addr: Uint8Array,
    port: number,
    now: number,
    src?: Uint8Array | null,
    scopeId?: number,
  ): number {
    this.record(
      fd,
      buf.slice(off, off + len),
      formatIpv6(addr),
      port,
      now,
      src ? formatIpv6(src) : '',
      scopeId ?? -1,
    );
    return len;
  }
  private record(
    fd: number,
    bytes: Uint8Array,
    to: string,
    port: number,
    at: number,
    src: string,
    oif: number,
  ) {
    const packet = new BfdPacket();
    const bad = decodeControl(bytes, 0, bytes.length, packet);
    if (bad !== null && bad !== 'yourDiscriminator') throw new Error(`the engine sent a bad packet: ${bad}`);
    this.sent.push({ at, fd, to, port, src, oif, packet, bytes });
  }
  recvFrom(_fd: number, _buf: Uint8Array, _off: number, _len: number, _meta: BfdRecvMeta): number {
    return -11;
  }
  close(fd: number): number {
    this.log.push(`close ${fd}`);
    return 0;
  }

  /** The packets sent since the last call, as "t state flags yourDisc tx/rx". */
  take(): Sent[] {
    return this.sent.splice(0);
  }
}

/** "Up P" etc. */
export function describe(p: BfdPacket): string {
  const f = `${p.poll ? ' P' : ''}${p.final ? ' F' : ''}`;
  return `${STATE_NAMES[p.state]}${f} diag ${p.diag} tx ${p.desiredMinTx / 1000} rx ${p.requiredMinRx / 1000} mult ${p.detectMult}`;
}

export function meta4(src: number, ifIndex: number, ttl = 255): BfdRecvMeta {
  return {
    family: 4,
    addr: src,
    addr6: new Uint8Array(16),
    port: 49999,
    ifIndex,
    dst: 0,
    dst6: new Uint8Array(16),
    hopLimit: ttl,
    length: 24,
    truncated: false,
  };
}

export function peerPacket(f: Partial<BfdControlFields> & { state: number; myDisc: number }): Uint8Array {
  const b = new Uint8Array(24);
  encodeControl(
    {
      diag: 0,
      flags: 0,
      detectMult: 3,
      yourDisc: 0,
      desiredMinTx: 1_000_000,
      requiredMinRx: 300_000,
      requiredMinEchoRx: 0,
      ...f,
    },
    b,
    0,
  );
  return b;
}
