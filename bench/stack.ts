// The stack's forwarding cost with no I/O: 64-byte UDP frames through Stack.receive into an output
// that only counts, to see per-packet CPU and whether the path allocates (GC count stays flat).
// `node bench/stack.ts [packets]`. There is no kernel figure to set beside it: this isolates the
// part of the VR that the kernel comparison in bench/forward.ts includes.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { parseIpv4, parseMac } from '@nexthop/addr';
import { Stack } from '@nexthop/stack';
import {
  ARP_OP_REPLY,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  IPPROTO_UDP,
  writeArp,
  writeEthernet,
  writeIpv4Header,
  writeUdp,
} from '@nexthop/wire';

const packets = Number(process.argv[2] ?? 5_000_000);
let transmitted = 0;
let bytesOut = 0;
const stack = new Stack({
  // The simulator's habit: a fixed seed (a VR passes a CSPRNG source).
  seed: 1,
  output: {
    transmit(_ifIndex, _buf, _off, len) {
      transmitted++;
      bytesOut += len;
    },
  },
});
const rMac0 = parseMac('02:00:00:00:00:01');
const rMac1 = parseMac('02:00:00:00:00:02');
const hMac1 = parseMac('02:00:00:00:02:02');
const hMac0 = parseMac('02:00:00:00:01:01');
const eth0 = stack.addInterface({ name: 'eth0', mac: rMac0, mtu: 1500 });
const eth1 = stack.addInterface({ name: 'eth1', mac: rMac1, mtu: 1500 });
stack.addAddress(eth0, parseIpv4('10.1.0.1'), 24, 0);
stack.addAddress(eth1, parseIpv4('10.2.0.1'), 24, 0);
// h2 answers ARP so that forwarding runs from a resolved neighbour.
const arp = new Uint8Array(60);
writeEthernet(arp, 0, rMac1, 0, hMac1, 0, ETHERTYPE_ARP);
writeArp(arp, 14, ARP_OP_REPLY, hMac1, 0, parseIpv4('10.2.0.2'), rMac1, 0, parseIpv4('10.2.0.1'));
stack.receive(eth1, arp, 0, 60, 0);

// A ring of frames, as a receive ring would hold them; the stack rewrites each in place.
const FRAMES = 1024;
const ring = new Uint8Array(FRAMES * 64);
const SRC = parseIpv4('10.1.0.2');
const DST = parseIpv4('10.2.0.2');
function refill(): void {
  for (let i = 0; i < FRAMES; i++) {
    const o = i * 64;
    writeEthernet(ring, o, rMac0, 0, hMac0, 0, ETHERTYPE_IPV4);
    writeUdp(ring, o + 34, 40000 + (i & 255), 9, 22, SRC, DST);
    writeIpv4Header(ring, o + 14, 0, 50, i, 0, 64, IPPROTO_UDP, SRC, DST);
  }
}

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

function run(n: number): number {
  const t0 = performance.now();
  for (let done = 0; done < n; done += FRAMES) {
    refill();
    for (let i = 0; i < FRAMES; i++) stack.receive(eth0, ring, i * 64, 64, 1);
  }
  return performance.now() - t0;
}

// Refilling is part of the loop; measure it alone to subtract it.
function refillCost(n: number): number {
  const t0 = performance.now();
  for (let done = 0; done < n; done += FRAMES) refill();
  return performance.now() - t0;
}

run(200_000);
const gcBefore = gcs;
const total = run(packets);
const refillMs = refillCost(packets);
await new Promise((r) => setTimeout(r, 50));
const ns = ((total - refillMs) * 1e6) / packets;
console.log(`| measure | value |\n|---|---|`);
console.log(`| packets forwarded | ${transmitted} |`);
console.log(`| stack time per packet | ${ns.toFixed(1)} ns (${(1e3 / ns).toFixed(2)} Mpps on one core) |`);
console.log(`| garbage collections during the run | ${gcs - gcBefore} |`);
void bytesOut;
