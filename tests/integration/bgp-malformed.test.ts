// Issue 11: malformed UPDATEs from a real peer over TCP (a hand-made speaker in a namespace, kernel
// sockets) to a VR process. RFC 7606: where the NLRI can still be found the route is treated as
// withdrawn and the session stays up (§2); attribute discard keeps the route (§2); otherwise the
// session is reset with the NOTIFICATION RFC 4271 §6.3 names. The VR never falls over, and counts
// each case by reason (`show bgp neighbors`).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeKeepalive, encodeOpen } from '@nexthop/bgp';
import { request } from '@nexthop/control';
import { waitFor } from '@nexthop/netns';
import { attr, update } from '../../packages/bgp/test/util.ts';
import { type BgpSpeaker, startSpeaker } from '../lib/bgp-speaker.ts';
import { type BgpTopology, bgpTopology } from '../lib/bgp-topology.ts';
import { useNetnsCleanup } from '../lib/cleanup.ts';
import { type RunningVr, startVr } from '../lib/vr.ts';

useNetnsCleanup();

const MSG_OPEN = 1;
const MSG_NOTIFICATION = 3;
const MSG_KEEPALIVE = 4;

const ORIGIN = attr(0x40, 1, '00');
/** AS_SEQUENCE [65010]: the speaker's AS first, as an eBGP path must start. */
const AS_PATH = attr(0x40, 2, '0201 0000fdf2');
const NEXT_HOP = attr(0x40, 3, '0a210102');
const GOOD = ORIGIN + AS_PATH + NEXT_HOP;
/** 192.0.2.0/24 */
const NLRI = '18c00002';
const PREFIX = '192.0.2.0/24';

const vrConfig = (device: string) => `routers:
  edge:
    interfaces:
      s: { driver: afpacket, device: ${device}, addresses: [10.33.1.1/24] }
    bgp:
      asn: 65000
      routerId: 10.33.0.1
      neighbors:
        speaker: { address: 10.33.1.2, remoteAs: 65010, passive: true, import: accept, export: accept }
`;

interface Neighbor {
  state: string;
  errors: Record<string, number>;
  counters: { established: number };
}

describe('BGP: malformed UPDATEs from a peer (RFC 7606)', () => {
  let topo: BgpTopology;
  let vr: RunningVr;
  let speaker: BgpSpeaker;

  const neighbor = async () =>
    ((await request(vr.control, 'show.bgp', { what: 'neighbors' })) as Neighbor[])[0]!;
  const hasRoute = async () =>
    (
      (await request(vr.control, 'show.routes', { prefix: PREFIX })) as {
        protocol: string;
        selected: boolean;
      }[]
    ).some((r) => r.protocol === 'bgp' && r.selected);

  /** Opens a session from the speaker: OPEN, the VR's OPEN and KEEPALIVE, our KEEPALIVE. */
  async function establish(): Promise<void> {
    speaker.connect('10.33.1.1');
    await speaker.next((e) => e.ev === 'connected', 10_000, 'the TCP connection to the VR');
    speaker.send(
      encodeOpen({
        as: 65010,
        holdTime: 90,
        bgpId: 0x0a210102,
        capabilities: { multiprotocol: [{ afi: 1, safi: 1 }] },
      }),
    );
    await speaker.next((e) => e.type === MSG_OPEN, 10_000, "the VR's OPEN");
    await speaker.next((e) => e.type === MSG_KEEPALIVE, 10_000, "the VR's KEEPALIVE");
    speaker.send(encodeKeepalive());
    await waitFor(async () => (await neighbor()).state === 'Established', {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: 'the session Established at the VR',
    });
  }

  before(async () => {
    topo = await bgpTopology([{ tag: 'bgps', link4: '10.33.1.2/24' }]);
    vr = await startVr(topo.r, 'edge', vrConfig(topo.peers[0]!.vrDevice));
    speaker = startSpeaker(topo.peers[0]!.ns);
    await establish();
  });

  after(async () => {
    await vr?.stop();
    await topo?.destroy();
  });

  test('a well-formed UPDATE installs its route', async () => {
    speaker.send(update('', GOOD, NLRI));
    await waitFor(hasRoute, { timeoutMs: 10_000, intervalMs: 50, what: `${PREFIX} in the VR's FIB` });
  });

  const treatAsWithdraw: [string, string, string][] = [
    ['ORIGIN value 3 (§7.1)', attr(0x40, 1, '03') + AS_PATH + NEXT_HOP, 'origin-malformed'],
    [
      'ORIGIN with the optional flag (§3 c)',
      attr(0xc0, 1, '00') + AS_PATH + NEXT_HOP,
      'update-attribute-flags',
    ],
    [
      'AS_PATH segment overrun (§7.2)',
      ORIGIN + attr(0x40, 2, '0202 0000fdf2') + NEXT_HOP,
      'as-path-malformed',
    ],
    [
      'AS_PATH not starting with the peer (RFC 4271 §6.3)',
      ORIGIN + attr(0x40, 2, '0201 0000fdf3') + NEXT_HOP,
      'as-path-first-as',
    ],
    ['NEXT_HOP of 5 octets (§7.3)', ORIGIN + AS_PATH + attr(0x40, 3, '0a21010200'), 'next-hop-malformed'],
    ['NEXT_HOP 0.0.0.0 (§7.3)', ORIGIN + AS_PATH + attr(0x40, 3, '00000000'), 'next-hop-invalid'],
    ['MED of 3 octets (§7.4)', GOOD + attr(0x80, 4, '000001'), 'med-malformed'],
    [
      'COMMUNITIES of 6 octets (RFC 1997, §7.8)',
      GOOD + attr(0xc0, 8, 'fde90001 0000'),
      'communities-malformed',
    ],
    ['ORIGIN missing (§3 d)', AS_PATH + NEXT_HOP, 'update-missing-well-known'],
  ];

  for (const [name, attrs, reason] of treatAsWithdraw) {
    test(`treat-as-withdraw, the session stays up: ${name}`, async () => {
      const before = await neighbor();
      speaker.send(update('', attrs, NLRI));
      await waitFor(async () => !(await hasRoute()), {
        timeoutMs: 10_000,
        intervalMs: 50,
        what: `${PREFIX} withdrawn by the malformed UPDATE`,
      });
      const after = await neighbor();
      assert.equal(after.state, 'Established');
      assert.equal(after.counters.established, before.counters.established, 'no reset');
      assert.ok(
        (after.errors[reason] ?? 0) > (before.errors[reason] ?? 0),
        `counted as ${reason}: ${JSON.stringify(after.errors)}`,
      );
      speaker.send(update('', GOOD, NLRI));
      await waitFor(hasRoute, { timeoutMs: 10_000, intervalMs: 50, what: `${PREFIX} back` });
    });
  }

  test('attribute discard keeps the route: LOCAL_PREF from an eBGP peer (§7.5), ORIGIN twice (§3 g)', async () => {
    for (const [attrs, reason] of [
      [GOOD + attr(0x40, 5, '00000064'), 'local-pref-from-ebgp'],
      [GOOD + attr(0x40, 1, '02'), 'update-duplicate-attribute'],
    ] as const) {
      speaker.send(update('', attrs, NLRI));
      // Nothing answers an UPDATE: the counter says when the VR has taken it.
      await waitFor(async () => ((await neighbor()).errors[reason] ?? 0) > 0, {
        timeoutMs: 10_000,
        intervalMs: 50,
        what: `the VR counting ${reason}`,
      });
      assert.equal(await hasRoute(), true, `${reason}: the route stays`);
      assert.equal((await neighbor()).state, 'Established');
    }
  });

  const resets: [string, Uint8Array, [number, number]][] = [
    ['withdrawn routes length past the message (§4 / RFC 4271 §6.3)', withdrawnOverrun(), [3, 1]],
    ['MP_REACH_NLRI twice (§3 g)', update('', twoMpReach() + ORIGIN + AS_PATH, ''), [3, 1]],
    [
      'an unrecognised well-known attribute (RFC 4271 §6.3)',
      update('', GOOD + attr(0x40, 99, '00'), NLRI),
      [3, 2],
    ],
  ];

  for (const [name, wire, [code, subcode]] of resets) {
    test(`session reset with NOTIFICATION ${code}/${subcode}: ${name}`, async () => {
      const before = await neighbor();
      speaker.send(wire);
      const n = await speaker.next((e) => e.type === MSG_NOTIFICATION, 10_000, 'the NOTIFICATION');
      // Header (19), then code and subcode.
      assert.deepEqual(
        [Number.parseInt(n.hex!.slice(38, 40), 16), Number.parseInt(n.hex!.slice(40, 42), 16)],
        [code, subcode],
      );
      await speaker.next((e) => e.ev === 'closed', 10_000, 'the VR closing the connection');
      // The VR withdrew the session's routes and comes back once its idle hold time is over.
      assert.equal(await hasRoute(), false);
      await waitFor(
        async () => {
          try {
            await establish();
            return true;
          } catch {
            speaker.close();
            return false;
          }
        },
        { timeoutMs: 40_000, intervalMs: 1000, what: 'a new session after the reset' },
      );
      assert.equal((await neighbor()).counters.established, before.counters.established + 1);
      speaker.send(update('', GOOD, NLRI));
      await waitFor(hasRoute, { timeoutMs: 10_000, intervalMs: 50, what: `${PREFIX} back after the reset` });
    });
  }

  test('the VR stayed up through all of it', async () => {
    const status = (await request(vr.control, 'status')) as { pid: number };
    assert.equal(status.pid, vr.pid);
  });
});

/** An UPDATE whose Withdrawn Routes Length runs past the message. */
function withdrawnOverrun(): Uint8Array {
  const u = update('', GOOD, NLRI);
  u[19] = 0x01; // withdrawn length 256 (bytes 19..20)
  return u;
}

/** Two MP_REACH_NLRI attributes for IPv4 unicast. */
function twoMpReach(): string {
  const mp = attr(0x90, 14, '0001 01 04 0a210102 00 18c00002');
  return mp + mp;
}
