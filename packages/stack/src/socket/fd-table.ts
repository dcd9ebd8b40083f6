// The socket layer's descriptors: the lowest free number is handed out first, as POSIX wants.
import type { SocketType } from '../sockapi/types.ts';
import { Sock } from './sock.ts';

export class FdTable {
  private readonly socks: (Sock | undefined)[] = [];
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  get(fd: number): Sock | null {
    return this.socks[fd] ?? null;
  }

  /** A new socket on the lowest free fd; null when `max` are open (EMFILE). */
  open(type: SocketType, protocol: number, family: 4 | 6 = 4): Sock | null {
    let fd = 0;
    while (fd < this.socks.length && this.socks[fd] !== undefined) fd++;
    if (fd >= this.max) return null;
    const s = new Sock(fd, type, protocol, family);
    this.socks[fd] = s;
    return s;
  }

  /** Frees fd. */
  free(fd: number): void {
    this.socks[fd] = undefined;
    while (this.socks.length > 0 && this.socks[this.socks.length - 1] === undefined) this.socks.pop();
  }

  /** Open fds. */
  get size(): number {
    let n = 0;
    for (const s of this.socks) if (s !== undefined) n++;
    return n;
  }

  *[Symbol.iterator](): Iterator<Sock> {
    for (const s of this.socks) if (s !== undefined) yield s;
  }
}
