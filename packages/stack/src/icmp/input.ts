import {
  Drop,
  decodeIcmp,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  IcmpMessage,
  type Ipv4Header,
  icmpIsError,
} from '@nexthop/wire';
import { type Counters, Stat } from '../counters.ts';
import type { Interface } from '../interfaces.ts';
import type { SocketLayer } from '../socket/layer.ts';
import type { IcmpEcho } from './echo.ts';

export interface IcmpEvent {
  /** Interface the message arrived on. */
  ifIndex: number;
  src: number;
  dst: number;
  ttl: number;
  type: number;
  code: number;
  restOfHeader: number;
  /** Echo data, or the quoted datagram of an error (a copy). */
  body: Uint8Array;
}

/**
 * ICMP messages addressed to the VR: echo requests answered, errors handed to the sockets (and so
 * to TCP) whose datagram they quote, and everything shown to `onIcmp` when someone listens.
 */
export class IcmpInput {
  /** Receives ICMP messages addressed to the VR (for tools and tests); null when nobody listens. */
  onIcmp: ((event: IcmpEvent) => void) | null = null;
  private readonly sockets: SocketLayer;
  private readonly echo: IcmpEcho;
  private readonly counters: Counters;
  private readonly message = new IcmpMessage();

  constructor(sockets: SocketLayer, echo: IcmpEcho, counters: Counters) {
    this.sockets = sockets;
    this.echo = echo;
    this.counters = counters;
  }

  /** The ICMP message of `len` bytes after the IP header `h` at buf[ipOff..]. */
  input(
    ifc: Interface,
    h: Ipv4Header,
    buf: Uint8Array,
    ipOff: number,
    len: number,
    broadcast: boolean,
    now: number,
  ): void {
    const m = this.message;
    const r = decodeIcmp(buf, ipOff + h.headerLength, len, m);
    if (r !== 0) return this.counters.rxDrop(ifc, r);
    this.counters.stats[Stat.ICMP_RECEIVED]! += 1;
    if (m.type === ICMP_ECHO_REQUEST) {
      // RFC 1122 §3.2.2.6: broadcast echo requests may be ignored, as Linux does by default.
      if (!broadcast) this.echo.reply(h, m, buf, now);
      return;
    }
    const error = icmpIsError(m.type);
    if (error) this.sockets.icmpError(m.type, m.code, m.restOfHeader, buf, m.bodyOffset, m.bodyLength, now);
    if (this.onIcmp !== null) {
      this.onIcmp({
        ifIndex: ifc.index,
        src: h.src,
        dst: h.dst,
        ttl: h.ttl,
        type: m.type,
        code: m.code,
        restOfHeader: m.restOfHeader,
        body: buf.slice(m.bodyOffset, m.bodyOffset + m.bodyLength),
      });
      return;
    }
    if (m.type !== ICMP_ECHO_REPLY && !error) this.counters.rxDrop(ifc, Drop.ICMP_UNHANDLED_TYPE);
  }
}
