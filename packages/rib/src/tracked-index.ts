import type { Family } from './family.ts';
import type { Tracked } from './nodes.ts';

class TrieNode<A> {
  zero: TrieNode<A> | null = null;
  one: TrieNode<A> | null = null;
  /** Tracked next hops whose address ends here (at depth = family bits). */
  tracked: Tracked<A>[] | null = null;
  /** Tracked next hops in this subtree, so that empty branches are pruned. */
  count = 0;
}

/**
 * The dependency index of recursive next hops: a binary trie of tracked gateway addresses. When the
 * routes of prefix P change, `covered(P)` visits exactly the tracked next hops inside P, in time
 * proportional to P's length plus what it visits, never to the size of the RIB (FRR keeps its NHT
 * entries in the route table itself and walks the changed node's subtree, zebra_rnh.c; the same
 * idea, with a trie of its own since tracked addresses are few).
 */
export class TrackedIndex<A> {
  private readonly family: Family<A>;
  private readonly root = new TrieNode<A>();

  constructor(family: Family<A>) {
    this.family = family;
  }

  get size(): number {
    return this.root.count;
  }

  add(t: Tracked<A>): void {
    let node = this.root;
    node.count++;
    for (let i = 0; i < this.family.bits; i++) {
      const bit = this.family.bit(t.addr, i);
      let next = bit === 0 ? node.zero : node.one;
      if (next === null) {
        next = new TrieNode<A>();
        if (bit === 0) node.zero = next;
        else node.one = next;
      }
      node = next;
      node.count++;
    }
    if (node.tracked === null) node.tracked = [];
    node.tracked.push(t);
  }

  remove(t: Tracked<A>): void {
    const path: TrieNode<A>[] = [this.root];
    let node: TrieNode<A> | null = this.root;
    for (let i = 0; i < this.family.bits && node !== null; i++) {
      node = this.family.bit(t.addr, i) === 0 ? node.zero : node.one;
      if (node !== null) path.push(node);
    }
    const at = node?.tracked?.indexOf(t) ?? -1;
    if (node === null || at < 0) throw new Error(`tracked next hop ${t.key} is not indexed`);
    node.tracked!.splice(at, 1);
    for (const n of path) n.count--;
    // Cut the first branch left empty.
    for (let i = 1; i < path.length; i++) {
      if (path[i]!.count === 0) {
        const parent = path[i - 1]!;
        if (parent.zero === path[i]) parent.zero = null;
        else parent.one = null;
        break;
      }
    }
  }

  /** Calls visit for every tracked next hop inside network/length. */
  covered(network: A, length: number, visit: (t: Tracked<A>) => void): void {
    let node: TrieNode<A> | null = this.root;
    for (let i = 0; i < length && node !== null; i++) {
      node = this.family.bit(network, i) === 0 ? node.zero : node.one;
    }
    if (node === null || node.count === 0) return;
    const stack: TrieNode<A>[] = [node];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.tracked !== null) for (const t of n.tracked) visit(t);
      if (n.zero !== null) stack.push(n.zero);
      if (n.one !== null) stack.push(n.one);
    }
  }
}
