// Captures what BIRD 2 sends over a BGP session, as fixtures for bird.test.ts, and checks that
// BIRD takes what our encoder sends (read back with birdc). Not part of the test suite: run by hand
// as root, in a namespace of its own: bash packages/bgp/test/capture-bird.sh
//
// Two sessions, each a BIRD process speaking from 10.179.0.2 (AS 4200000002) to a Node listener on
// 10.179.0.1:<port> (AS 65001): the first with four-octet AS negotiated, the second without (our
// OPEN lacks the capability), so BIRD sends AS_TRANS and AS4_PATH. BIRD exports static IPv4 and
// IPv6 routes with MED, communities and large communities; we send back IPv4 and IPv6 routes.
// Fixtures: test/fixtures/bird-{as4,as2}.hex, one message a line, in the order received.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIpv6 } from '@nexthop/addr';
import {
  Action,
  AS_SEQUENCE,
  BgpDecoder,
  encodeKeepalive,
  encodeOpen,
  MSG_OPEN,
  MSG_UPDATE,
  makeAttributes,
  UpdateEncoder,
} from '../src/index.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');

function birdConfig(port: number): string {
  return `
router id 192.0.2.2;
log stderr all;
protocol device {}
protocol static s4 {
  ipv4;
  route 198.51.100.0/24 blackhole { bgp_med = 50; bgp_community.add((65002,100)); bgp_large_community.add((4200000002,1,2)); };
  route 203.0.113.128/25 blackhole { bgp_community.add((65002,200)); bgp_community.add((65535,65281)); };
  route 10.0.0.0/8 blackhole;
  route 0.0.0.0/0 blackhole;
}
protocol static s6 {
  ipv6;
  route 2001:db8:1::/48 blackhole { bgp_med = 7; };
  route 2001:db8:2:3::/64 blackhole;
  route 2001:db8:ffff:ffff:ffff:ffff:ffff:fff0/124 blackhole;
}
protocol bgp peer {
  local 10.179.0.2 as 4200000002;
  neighbor 10.179.0.1 port ${port} as 65001;
  hold time 30;
  debug { states, events, packets };
  connect retry time 1;
  ipv4 { import all; export all; };
  ipv6 { import all; export all; next hop address 2001:db8::2; };
}
`;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

async function session(name: string, as4: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nh-bird-'));
  const received: string[] = [];
  let sock: Socket | undefined;
  const server = createServer((s) => {
    sock = s;
    let pending = Buffer.alloc(0);
    const dec = new BgpDecoder();
    s.on('data', (d) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 19) {
        const len = pending.readUInt16BE(16);
        if (pending.length < len) break;
        const msg = new Uint8Array(pending.subarray(0, len));
        pending = pending.subarray(len);
        received.push(hex(msg));
        const m = dec.decode(msg, 0, msg.length);
        if (m.action !== Action.OK) console.log(`${name}: ${m.action} on ${hex(msg)}`);
        if (m.type === MSG_OPEN) {
          s.write(
            encodeOpen({
              as: 65001,
              holdTime: 30,
              bgpId: 0xc0000201,
              capabilities: {
                multiprotocol: [
                  { afi: 1, safi: 1 },
                  { afi: 2, safi: 1 },
                ],
                routeRefresh: true,
              },
              // Without the capability we are an OLD speaker (RFC 6793).
              oldSpeaker: !as4,
            }),
          );
          s.write(encodeKeepalive());
          dec.setSession({ as4, ebgp: true, peerAs: as4 ? 4200000002 : 23456 });
          // Send our routes: IPv4 in the NLRI field, IPv6 in MP_REACH_NLRI.
          const enc = new UpdateEncoder({ as4 });
          const a = makeAttributes({
            origin: 0,
            asPath: [{ type: AS_SEQUENCE, asns: [65001, 4200000099, 64512] }],
            nextHop: 0x0ab30001,
            med: 10,
            communities: [(65001 << 16) | 42],
            largeCommunities: [65001, 7, 8],
          });
          const nets = Uint32Array.of(0xc6336400, 0xc0a80000, 0x0a640000);
          const lens = Uint8Array.of(22, 16, 15);
          enc.announce4(a, nets, lens, 0, 3);
          const six = new Uint8Array(32);
          six.set(parseIpv6('2001:db8:aaaa::'), 0);
          six.set(parseIpv6('2001:db8:bbbb:cc00::'), 16);
          enc.announce6(
            makeAttributes({ ...a, nextHop: undefined, mpNextHop: parseIpv6('2001:db8::1') }),
            six,
            Uint8Array.of(48, 56),
            0,
            2,
          );
          enc.endOfRib(1, 1);
          enc.endOfRib(2, 1);
          s.write(enc.take());
        }
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '10.179.0.1', r));
  const port = (server.address() as { port: number }).port;
  writeFileSync(join(dir, 'bird.conf'), birdConfig(port));
  const ctl = join(dir, 'bird.ctl');
  // `ip netns exec` execs BIRD: the child's pid is BIRD's.
  const bird = spawn(
    'ip',
    [
      'netns',
      'exec',
      process.env.BGP_NS!,
      'bird',
      '-f',
      '-c',
      join(dir, 'bird.conf'),
      '-s',
      ctl,
      '-P',
      join(dir, 'pid'),
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  bird.stderr.on('data', (d) => {
    log += d;
  });
  try {
    // Until BIRD has sent its two End-of-RIB markers and taken our routes.
    const deadline = Date.now() + 15000;
    let eors = 0;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      eors = received.filter((h) => h.length === 46 || (h.slice(36, 38) === '02' && h.length === 58)).length;
      if (eors >= 2) break;
    }
    await new Promise((r) => setTimeout(r, 500));
    const routes = execFileSync('birdc', ['-s', ctl, 'show', 'route', 'all', 'protocol', 'peer'], {
      encoding: 'utf8',
    });
    if (process.env.BIRD_LOG)
      console.log(
        execFileSync('birdc', ['-s', ctl, 'show', 'protocols', 'all', 'peer'], { encoding: 'utf8' }),
      );
    console.log(`--- ${name}: BIRD's view of our routes\n${routes}`);
    const updates = received.filter((h) => Number.parseInt(h.slice(36, 38), 16) === MSG_UPDATE);
    console.log(`${name}: ${received.length} messages, ${updates.length} UPDATEs`);
    writeFileSync(join(FIXTURES, `bird-${name}.hex`), `${received.join('\n')}\n`);
  } finally {
    bird.kill('SIGTERM');
    sock?.destroy();
    server.close();
    await new Promise((r) => bird.once('exit', r));
    if (process.env.BIRD_LOG) console.log(log);
    rmSync(dir, { recursive: true, force: true });
  }
}

await session('as4', true);
await session('as2', false);
