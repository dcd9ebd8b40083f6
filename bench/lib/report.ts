// Figures as the benchmarks print them in their tables (a dash for a figure that is not there).

/** The median (the lower one of an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[(s.length - 1) >> 1]!;
}

export const sec = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '—');
export const mib = (kb: number): string => `${Math.round(kb / 1024)} MiB`;
export const ratio = (a: number, b: number): string =>
  Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—';
