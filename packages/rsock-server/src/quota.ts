// What remote sockets cost and who pays (docs/remote-socket-protocol.md §4): sockets and buffer
// memory, per client (a uid: a forking server cannot escape its quota by opening more connections)
// and for the whole VR. The ledger is the one place these counts change; the server asks it before
// it creates or grows a socket and tells it when one goes.
import { DGRAM_HEADER_LENGTH } from '@nexthop/rsock-proto';
import { errno, type SocketLayer } from '@nexthop/stack';
import { DGRAM_BATCH, RELAY_CHUNK } from './relay.ts';

const { EMFILE, ENFILE, ENOBUFS } = errno;

export interface RsockQuotas {
  readonly clientSockets: number;
  /** Buffer memory (stack socket buffers and relay buffers) one client's sockets may hold. */
  readonly clientBufferedBytes: number;
  readonly sockets: number;
  readonly bufferedBytes: number;
  /** Control connections one client (uid) may have open; further ones are refused at accept. */
  readonly clientConnections: number;
  /** Control connections in the whole VR. */
  readonly connections: number;
}

/** What one client holds. */
export interface Account {
  readonly uid: number;
  sockets: number;
  /** Buffer bytes its sockets can hold. */
  reserved: number;
}

/** Why a request was refused: the errno of the ERROR reply and its message. */
export interface Refusal {
  readonly errno: number;
  readonly why: string;
}

export class QuotaLedger {
  /** Remote sockets in the VR. */
  sockets = 0;
  /** Buffer bytes they can hold. */
  reserved = 0;
  quotas: RsockQuotas;
  private readonly vrName: string;

  constructor(quotas: RsockQuotas, vrName: string) {
    this.quotas = quotas;
    this.vrName = vrName;
  }

  /**
   * Why `account` may not have `sockets` more sockets (0 or 1) holding `bytes` more buffer memory,
   * or null when it may. The VR-wide socket limit is ENFILE, the client's EMFILE, buffers ENOBUFS,
   * as the kernel answers the same shortages.
   */
  refusal(account: Account, bytes: number, sockets: number): Refusal | null {
    const q = this.quotas;
    const vr = this.vrName;
    if (sockets > 0 && this.sockets >= q.sockets)
      return { errno: ENFILE, why: `VR ${vr} holds its maximum of ${q.sockets} remote sockets` };
    if (sockets > 0 && account.sockets >= q.clientSockets)
      return {
        errno: EMFILE,
        why: `uid ${account.uid} holds its quota of ${q.clientSockets} sockets in VR ${vr}`,
      };
    if (bytes > 0 && account.reserved + bytes > q.clientBufferedBytes)
      return {
        errno: ENOBUFS,
        why: `uid ${account.uid} has its quota of ${q.clientBufferedBytes} buffered bytes in VR ${vr}`,
      };
    if (bytes > 0 && this.reserved + bytes > q.bufferedBytes)
      return { errno: ENOBUFS, why: `VR ${vr} is out of relay buffer budget (${q.bufferedBytes} bytes)` };
    return null;
  }

  /** Books `sockets` sockets and `bytes` bytes (negative: gives them back) to account. */
  charge(account: Account, bytes: number, sockets: number): void {
    account.sockets += sockets;
    account.reserved += bytes;
    this.sockets += sockets;
    this.reserved += bytes;
  }

  /**
   * The buffer memory socket fd can hold: the stack's buffers at their current sizes (TCP rings grow
   * to the power of two at or above SO_RCVBUF/SO_SNDBUF; a UDP socket's receive ring is allocated at
   * SO_RCVBUF) and the relay's (TCP: one chunk each way; UDP: a receive queue's worth of datagrams
   * held for a full pair, with their headers).
   */
  static bufferCost(so: SocketLayer, fd: number, tcp: boolean): number {
    const rcv = Math.max(so.getOption(fd, 'SO_RCVBUF'), 0);
    if (!tcp) return 2 * rcv + DGRAM_BATCH * DGRAM_HEADER_LENGTH;
    const snd = Math.max(so.getOption(fd, 'SO_SNDBUF'), 0);
    return ringStorage(rcv) + ringStorage(snd) + 2 * RELAY_CHUNK;
  }
}

/** The storage a stack TCP ring of this limit grows to at most (tcp/ring.ts: powers of two from 4096). */
function ringStorage(limit: number): number {
  let size = 4096;
  while (size < limit) size *= 2;
  return size;
}
