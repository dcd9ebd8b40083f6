/** A min-heap of events ordered by (time, insertion sequence), so equal times keep FIFO order. */
export interface QueuedEvent {
  time: number;
  seq: number;
}

export class EventQueue<E extends QueuedEvent> {
  #heap: E[] = [];

  get size(): number {
    return this.#heap.length;
  }

  peek(): E | undefined {
    return this.#heap[0];
  }

  push(event: E): void {
    const heap = this.#heap;
    // Sift up: move parents down into the hole until the event's place is found.
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const up = heap[parent];
      if (up === undefined || !before(event, up)) break;
      heap[i] = up;
      i = parent;
    }
    heap[i] = event;
  }

  pop(): E | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || last === undefined) return top;
    // Sift down: move the smaller child up into the hole until `last` fits there.
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      let smaller = heap[child];
      if (smaller === undefined) break; // a leaf
      const right = heap[child + 1];
      if (right !== undefined && before(right, smaller)) {
        child++;
        smaller = right;
      }
      if (!before(smaller, last)) break;
      heap[i] = smaller;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function before(x: QueuedEvent, y: QueuedEvent): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}
