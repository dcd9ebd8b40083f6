/**
 * The stack's next deadline. Whatever keeps time (neighbours, reassembly, TCP, sockets) arms it;
 * Stack.poll reads and resets it. The stack never arms a timer itself: the caller asks when to come
 * back (DESIGN §4).
 */
export class Wake {
  at = Number.POSITIVE_INFINITY;

  arm(deadline: number): void {
    if (deadline < this.at) this.at = deadline;
  }
}
