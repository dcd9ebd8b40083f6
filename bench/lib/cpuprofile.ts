// Summary of a V8 CPU profile (`node --cpu-prof`): self time per function, for the benchmarks' notes
// on where a process spends its time. Reads the .cpuprofile JSON (nodes with callFrame and
// hitCount, samples, timeDeltas).
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const ROOT = new URL('../..', import.meta.url).pathname;

function where(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  const file = url.startsWith('file://') ? relative(ROOT, new URL(url).pathname) : url;
  return `${name} ${file}:${lineNumber + 1}`;
}

/** Markdown list of the `top` functions by self time, with the share of samples that were idle. */
export function summarizeCpuProfile(path: string, top: number): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  let total = 0;
  // A sample's time is the delta to the next sample (V8's own attribution in DevTools).
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    total += dt;
    const key = where(node);
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
  }
  const idle = selfUs.get('(idle)') ?? 0;
  const busy = total - idle;
  const lines = [
    `profile ${(total / 1e6).toFixed(1)} s, busy (not idle) ${(busy / 1e6).toFixed(2)} s; share of busy time:`,
    '',
  ];
  const sorted = [...selfUs.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
  for (const [name, us] of sorted.slice(0, top)) lines.push(`- ${((100 * us) / busy).toFixed(1)} % ${name}`);
  return lines.join('\n');
}
