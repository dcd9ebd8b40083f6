// Link benchmark: frames per second through an AF_PACKET veth pair (one JS thread drives both
// ends), for several flush batch sizes and frame sizes, one way and both ways; plus the cost of
// the per-frame copy in send(). Usage: node bench/link.ts [seconds per run]   (root; not a test)
import { openAfPacket } from '@nexthop/driver-afpacket';
import type { Link, LinkStats } from '@nexthop/interface';
import { createVethPair, deleteInterface, operUp, uniqueInterfaceName, waitFor } from '@nexthop/link-testkit';
import { copyBytes } from '@nexthop/native';

const SECONDS = Number(process.argv[2] ?? 1);
const FRAMES_PER_TURN = 1024;

function frame(dst: Uint8Array, src: Uint8Array, len: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
}

interface Result {
  sent: number;
  received: number;
  drops: number;
}

async function run(
  links: readonly [Link, Link],
  bothWays: boolean,
  batch: number,
  len: number,
): Promise<Result> {
  const [a, b] = links;
  const before = links.map((link) => ({ link, stats: link.stats() }));
  const senders = (bothWays ? [a, b] : [a]).map((s) => ({
    sender: s,
    frame: frame((s === a ? b : a).mac, s.mac, len),
  }));
  const deadline = performance.now() + SECONDS * 1000;
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      if (performance.now() >= deadline) return resolve();
      for (const { sender, frame: f } of senders) {
        for (let i = 0; i < FRAMES_PER_TURN; i++) {
          sender.send(f, 0, len);
          if ((i + 1) % batch === 0) sender.flush();
        }
        sender.flush();
      }
      setImmediate(turn);
    };
    turn();
  });
  // Let what is in flight arrive (the ring timeout is 1 ms).
  await new Promise((r) => setTimeout(r, 50));
  const changes = before.map(({ link, stats }) => ({ before: stats, after: link.stats() }));
  const grew = (count: (s: LinkStats) => number): number =>
    changes.reduce((n, c) => n + count(c.after) - count(c.before), 0);
  const sent = grew((s) => s.txFrames);
  const received = grew((s) => s.rxFrames);
  const drops = grew((s) => s.rxDropsKernel + s.txDropsFull);
  return { sent, received, drops };
}

function copyBench(): void {
  const src = new Uint8Array(1 << 16);
  const dst = new Uint8Array(1 << 16);
  const loop = (s: Uint8Array, so: number, d: Uint8Array, dO: number, n: number): void => {
    for (let i = 0; i < n; i++) d[dO + i] = s[so + i]!; // the callers keep both ranges in bounds
  };
  console.log('\n| copy per frame | 60 B ns | 1514 B ns |\n|---|---|---|');
  for (const [name, fn] of [
    ['Buffer.prototype.copy (used)', copyBytes],
    ['byte loop', loop],
  ] as const) {
    const cells: string[] = [];
    for (const len of [60, 1514]) {
      const n = 1_000_000;
      for (let i = 0; i < 10_000; i++) fn(src, i & 1023, dst, (i * 64) & 32767, len);
      const t = performance.now();
      for (let i = 0; i < n; i++) fn(src, i & 1023, dst, (i * 64) & 32767, len);
      cells.push((((performance.now() - t) * 1e6) / n).toFixed(1));
    }
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
}

async function main(): Promise<void> {
  const names = createVethPair(uniqueInterfaceName('nhb'));
  const links: Link[] = [];
  try {
    const a = openAfPacket({ device: names.a });
    links.push(a);
    const b = openAfPacket({ device: names.b });
    links.push(b);
    for (const l of links) l.start(() => {});
    await waitFor(() => operUp(names.a) && operUp(names.b), 'veth up');
    console.log(
      `AF_PACKET veth pair, TPACKET_V3 RX ring, sendmmsg TX, ${SECONDS} s per run, node ${process.version}`,
    );
    console.log(
      '\n| direction | frame B | flush every | sent/s | received/s | drops |\n|---|---|---|---|---|---|',
    );
    for (const bothWays of [false, true]) {
      for (const len of [64, 1514]) {
        for (const batch of [1, 8, 64, 256, 1024]) {
          const r = await run([a, b], bothWays, batch, len);
          const k = (n: number): string => `${Math.round(n / SECONDS / 1000)}k`;
          console.log(
            `| ${bothWays ? 'both ways' : 'one way'} | ${len} | ${batch} | ${k(r.sent)} | ${k(r.received)} | ${r.drops} |`,
          );
        }
      }
    }
    copyBench();
  } finally {
    for (const l of links) l.close();
    deleteInterface(names.a);
    deleteInterface(names.b);
  }
}

await main();
