// CPU time from /proc, in clock ticks (USER_HZ, 100 on Linux) — for the benchmarks.
import { readFileSync } from 'node:fs';

export const CLK_TCK = 100;

/** utime + stime of one process (fields 14 and 15 of proc(5) /proc/<pid>/stat). */
export function processTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after it start at index 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** utime and stime of a process and of its main thread (/proc/<pid>/task/<pid>/stat: the event loop). */
export function processTicksSplit(pid: number): {
  user: number;
  sys: number;
  mainUser: number;
  mainSys: number;
} {
  const read = (path: string): string[] => {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  const all = read(`/proc/${pid}/stat`);
  const main = read(`/proc/${pid}/task/${pid}/stat`);
  return {
    user: Number(all[11]),
    sys: Number(all[12]),
    mainUser: Number(main[11]),
    mainSys: Number(main[12]),
  };
}

/** Ticks all CPUs spent not idle (the `cpu` line of /proc/stat minus idle and iowait). */
export function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  return v.slice(0, 8).reduce((a, b) => a + b, 0) - v[3]! - v[4]!;
}

/** Packets dropped because a CPU's input backlog was full: column 2 of /proc/net/softnet_stat, all CPUs. */
export function softnetDrops(): number {
  let sum = 0;
  for (const line of readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n'))
    sum += Number.parseInt(line.split(' ')[1]!, 16);
  return sum;
}

/** Peak resident memory of a process in KiB (VmHWM, proc(5)); 0 once it is gone. */
export function vmHwmKb(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
