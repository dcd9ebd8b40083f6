import {
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LEN,
  type IcmpMessage,
  IPPROTO_ICMP,
  IPV4_FLAG_DF,
  IPV4_MIN_HEADER,
  type Ipv4Header,
  writeIcmp,
  writeIpv4Header,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Egress } from '../egress.ts';
import type { LocalOutput } from '../ipv4/output.ts';
import { TX_HEADROOM } from '../link.ts';

export interface EchoOptions {
  ttl?: number;
  dontFragment?: boolean;
  src?: number;
}

/** ICMP echo (RFC 792): the VR's answers to pings, and its own pings (tools, simulation tests). */
export class IcmpEcho {
  private readonly egress: Egress;
  private readonly output: LocalOutput;
  private readonly counters: Counters;

  constructor(egress: Egress, output: LocalOutput, counters: Counters) {
    this.egress = egress;
    this.output = output;
    this.counters = counters;
  }

  /** Answers the request `m` in buf (header `h`): same identifier, sequence, data and TOS. */
  reply(h: Ipv4Header, m: IcmpMessage, buf: Uint8Array, now: number): void {
    const out = this.output;
    const t = out.buf;
    const o = TX_HEADROOM;
    const icmpLen = writeIcmp(
      t,
      o + IPV4_MIN_HEADER,
      ICMP_ECHO_REPLY,
      0,
      m.restOfHeader,
      buf,
      m.bodyOffset,
      m.bodyLength,
    );
    writeIpv4Header(
      t,
      o,
      h.tos,
      IPV4_MIN_HEADER + icmpLen,
      out.nextId(),
      0,
      out.defaultTtl,
      IPPROTO_ICMP,
      h.dst,
      h.src,
    );
    this.counters.stats[Stat.ECHO_REPLIES_SENT]! += 1;
    out.send(t, o, IPV4_MIN_HEADER + icmpLen, now);
  }

  /** Sends a request with `dataLength` bytes counting up; false when there is no route. */
  request(
    dst: number,
    id: number,
    seq: number,
    dataLength: number,
    now: number,
    options: EchoOptions,
  ): boolean {
    const out = this.output;
    const t = out.buf;
    const o = TX_HEADROOM;
    const data = o + IPV4_MIN_HEADER + ICMP_HEADER_LEN;
    for (let i = 0; i < dataLength; i++) t[data + i] = i & 255;
    const icmpLen = writeIcmp(
      t,
      o + IPV4_MIN_HEADER,
      ICMP_ECHO_REQUEST,
      0,
      ((id & 0xffff) << 16) | (seq & 0xffff),
      t,
      data,
      dataLength,
    );
    let src = options.src ?? 0;
    if (src === 0) {
      const towards = this.egress.interfaceTowards(dst);
      if (towards === null) return false;
      src = towards.sourceFor(dst);
    }
    writeIpv4Header(
      t,
      o,
      0,
      IPV4_MIN_HEADER + icmpLen,
      out.nextId(),
      options.dontFragment === true ? IPV4_FLAG_DF : 0,
      options.ttl ?? out.defaultTtl,
      IPPROTO_ICMP,
      src,
      dst,
    );
    this.counters.stats[Stat.ECHO_REQUESTS_SENT]! += 1;
    return out.send(t, o, IPV4_MIN_HEADER + icmpLen, now);
  }
}
