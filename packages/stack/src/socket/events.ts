// Readiness events and the receive queues' sink: what UDP and raw sockets and the TCP glue report
// (a datagram queued, readiness changed) is queued per socket while a frame, timer or call is being
// processed, and delivered to the layer's one listener when it returns (SocketLayer.flushEvents), so
// that a user who sends or closes from its handler never runs inside the input path.
import type { Sock } from './sock.ts';
import type { SocketSink } from './udp.ts';

export class SocketEvents implements SocketSink {
  /** Readiness may have changed on fd; `events` is its current EV_* mask. */
  onSocketEvent: ((fd: number, events: number) => void) | null = null;
  /** Datagrams refused because a socket's receive queue was full. */
  rxQueueDrops = 0;
  private readonly dirty: Sock[] = [];
  private flushing = false;

  /** Readiness of s may have changed; its event goes out at the next flush. */
  markDirty(s: Sock): void {
    if (s.dirty) return;
    s.dirty = true;
    this.dirty.push(s);
  }

  /** A datagram for s's receive queue (dropped and counted when it is full). */
  enqueue(
    s: Sock,
    buf: Uint8Array,
    off: number,
    len: number,
    src: number,
    port: number,
    dst: number,
    ifIndex: number,
    ttl = -1,
  ): void {
    if (!s.queue!.push(buf, off, len, src, port, dst, ifIndex, ttl)) {
      this.rxQueueDrops++;
      return;
    }
    this.markDirty(s);
  }

  /** An IPv6 datagram for s's receive queue (dropped and counted when it is full). */
  enqueue6(
    s: Sock,
    buf: Uint8Array,
    off: number,
    len: number,
    addrs: Uint8Array,
    srcOff: number,
    port: number,
    dstOff: number,
    ifIndex: number,
    hopLimit: number,
  ): void {
    if (!s.queue!.push6(buf, off, len, addrs, srcOff, port, dstOff, ifIndex, hopLimit)) {
      this.rxQueueDrops++;
      return;
    }
    this.markDirty(s);
  }

  /** Delivers the events queued since the last flush; a flush from inside a handler does nothing. */
  flush(): void {
    if (this.flushing || this.dirty.length === 0) return;
    this.flushing = true;
    try {
      const d = this.dirty;
      for (let i = 0; i < d.length; i++) {
        const s = d[i]!;
        s.dirty = false;
        if (s.open && this.onSocketEvent !== null) this.onSocketEvent(s.fd, s.events());
      }
      d.length = 0;
    } finally {
      this.flushing = false;
    }
  }

  /** An API call's result, once the events it queued are delivered. */
  flushed(result: number): number {
    if (this.dirty.length > 0) this.flush();
    return result;
  }
}
