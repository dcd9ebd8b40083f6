// trafgen (netsniff-ng) as a packet generator for the benchmarks: the packet config for one 64-byte
// IPv4/UDP frame (or an IPv6/UDP one), and generators pinned to one CPU each, bounded in packets and time.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Netns, run, waitFor } from '@nexthop/netns';

export interface UdpFrameSpec {
  readonly dstMac: string;
  readonly srcMac: string;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** Bytes handed to the device: Ethernet header to the end of the payload (veth carries no FCS). */
  readonly frameLength: number;
}

const ETH_LEN = 14;
const IPV4_LEN = 20;
const UDP_LEN = 8;

function macBytes(mac: string): string {
  const parts = mac.split(':');
  if (parts.length !== 6) throw new Error(`bad MAC ${mac}`);
  return parts.map((p) => `0x${p}`).join(', ');
}

function ipBytes(ip: string): string {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((n) => !(n >= 0 && n <= 255))) throw new Error(`bad IPv4 ${ip}`);
  return parts.join(', ');
}

function u16(n: number): string {
  return `${(n >> 8) & 0xff}, ${n & 0xff}`;
}

/**
 * A trafgen packet config for one UDP datagram, written byte by byte. trafgen fills in the IPv4
 * header checksum (csumip over bytes 14..33) and the UDP checksum (csumudp with the pseudo-header),
 * so the frame is complete on the wire: no receiver depends on checksum offload state.
 */
export function udpFrameConfig(spec: UdpFrameSpec): string {
  const payload = spec.frameLength - ETH_LEN - IPV4_LEN - UDP_LEN;
  if (payload < 0)
    throw new Error(`frame length ${spec.frameLength} is below ${ETH_LEN + IPV4_LEN + UDP_LEN}`);
  const ipTotal = IPV4_LEN + UDP_LEN + payload;
  return `{
  ${macBytes(spec.dstMac)},
  ${macBytes(spec.srcMac)},
  0x08, 0x00,
  0x45, 0x00, ${u16(ipTotal)},
  0x00, 0x00, 0x40, 0x00,
  64, 17, csumip(14, 33),
  ${ipBytes(spec.srcIp)},
  ${ipBytes(spec.dstIp)},
  ${u16(spec.srcPort)}, ${u16(spec.dstPort)},
  ${u16(UDP_LEN + payload)}, csumudp(14, 34),
  fill(0x5a, ${payload})
}
`;
}

export interface GeneratorOptions {
  readonly ns: Netns;
  readonly device: string;
  readonly configPath: string;
  readonly cpu: number;
  /** Packets per second; undefined = as fast as trafgen's TX_RING goes. */
  readonly pps?: number;
  /** Upper bound on packets; trafgen exits when it is reached. */
  readonly packets: number;
  /** Upper bound on time; the generator is interrupted (SIGINT, then SIGKILL) when it is reached. */
  readonly maxMs: number;
}

export interface GeneratorResult {
  readonly cpu: number;
  /** CPUs the sending process was allowed on after re-pinning (checked, for the report). */
  readonly cpusAllowed: string;
  readonly exitCode: number;
  readonly elapsedMs: number;
  readonly output: string;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function cpusAllowed(pid: number): string {
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch {}
}

/**
 * Runs one trafgen process sending on `device` from `cpu`. trafgen forks its sender and pins it to
 * CPU 0 itself (whatever taskset said, and `--rate` forces a single sender), so two generators on
 * two cores need the forked sender re-pinned: we find it as the child of the trafgen we spawned
 * and move it with `taskset -p` before it has sent more than a handful of packets.
 * --no-sock-mem and --notouch-irq keep trafgen from changing machine-wide settings.
 */
export async function runGenerator(options: GeneratorOptions): Promise<GeneratorResult> {
  const args = [
    '--dev',
    options.device,
    '--conf',
    options.configPath,
    '--cpus',
    '1',
    '--no-sock-mem',
    '--notouch-irq',
    '--num',
    String(options.packets),
  ];
  if (options.pps !== undefined) args.push('--rate', `${options.pps}pps`);
  const start = performance.now();
  const child: ChildProcess = options.ns.spawn('trafgen', args);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code) => resolve(code ?? -1));
    child.once('error', () => resolve(-1));
  });
  let sender: number | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) return true;
        sender = childPids(child.pid!)[0];
        return sender !== undefined;
      },
      { timeoutMs: 5000, intervalMs: 2, what: 'trafgen to fork its sender' },
    );
    let allowed = '?';
    if (sender !== undefined) {
      await run('taskset', ['-p', '-c', String(options.cpu), String(sender)]);
      allowed = cpusAllowed(sender);
    }
    const remaining = Math.max(0, options.maxMs - (performance.now() - start));
    timers.push(
      setTimeout(() => {
        signal(sender, 'SIGINT');
        signal(child.pid, 'SIGINT');
      }, remaining),
      setTimeout(() => {
        signal(sender, 'SIGKILL');
        signal(child.pid, 'SIGKILL');
      }, remaining + 3000),
    );
    const exitCode = await exited;
    return { cpu: options.cpu, cpusAllowed: allowed, exitCode, elapsedMs: performance.now() - start, output };
  } catch (err) {
    signal(sender, 'SIGKILL');
    signal(child.pid, 'SIGKILL');
    throw err;
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}

const IPV6_LEN = 40;

/** The 16 bytes of an IPv6 address (`::` shorthand allowed, no embedded IPv4), as trafgen bytes. */
function ip6Bytes(ip: string): string {
  const halves = ip.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 ${ip}`);
  const groups = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) throw new Error(`bad IPv6 ${ip}`);
  return all.map((g) => u16(Number.parseInt(g, 16))).join(', ');
}

/**
 * The IPv6 counterpart of udpFrameConfig: Ethernet, a 40-byte IPv6 header (no extension headers,
 * hop limit 64, flow label 0) and UDP; trafgen fills in the UDP checksum over the IPv6
 * pseudo-header (csumudp6), which IPv6 makes mandatory.
 */
export function udp6FrameConfig(spec: UdpFrameSpec): string {
  const payload = spec.frameLength - ETH_LEN - IPV6_LEN - UDP_LEN;
  if (payload < 0)
    throw new Error(`frame length ${spec.frameLength} is below ${ETH_LEN + IPV6_LEN + UDP_LEN}`);
  return `{
  ${macBytes(spec.dstMac)},
  ${macBytes(spec.srcMac)},
  0x86, 0xdd,
  0x60, 0x00, 0x00, 0x00,
  ${u16(UDP_LEN + payload)}, 17, 64,
  ${ip6Bytes(spec.srcIp)},
  ${ip6Bytes(spec.dstIp)},
  ${u16(spec.srcPort)}, ${u16(spec.dstPort)},
  ${u16(UDP_LEN + payload)}, csumudp6(14, 54),
  fill(0x5a, ${payload})
}
`;
}
