// Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): comparisons through the signed difference.

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** a - b as a signed distance. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}

export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}

/**
 * Adds [s, e) to the sorted, disjoint sequence ranges st/en[0, count), merging the ranges it
 * overlaps or touches. Returns the new count, or -1 when it needs a range of its own and `max`
 * are in use (the caller drops what it wanted to record).
 */
export function addSeqRange(
  st: number[],
  en: number[],
  count: number,
  max: number,
  s: number,
  e: number,
): number {
  let n = count;
  let i = 0;
  while (i < n && seqLt(en[i]!, s)) i++;
  let j = i;
  let ns = s;
  let ne = e;
  while (j < n && seqLe(st[j]!, ne)) {
    ns = seqMin(ns, st[j]!);
    ne = seqMax(ne, en[j]!);
    j++;
  }
  const removed = j - i;
  if (removed === 0) {
    if (n === max) return -1;
    for (let k = n; k > i; k--) {
      st[k] = st[k - 1]!;
      en[k] = en[k - 1]!;
    }
    n++;
  } else if (removed > 1) {
    for (let k = i + 1; k + removed - 1 < n; k++) {
      st[k] = st[k + removed - 1]!;
      en[k] = en[k + removed - 1]!;
    }
    n -= removed - 1;
  }
  st[i] = ns;
  en[i] = ne;
  return n;
}
