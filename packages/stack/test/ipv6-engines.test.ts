// The IPv6 control engines of the router's own interfaces: Router Advertisement timing (RFC 4861
// §6.2), Duplicate Address Detection (RFC 4862 §5.4, RFC 7527) and stable interface identifiers
// (RFC 7217). Time and randomness are handed in, so every case is exact.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ADDR_DUPLICATE,
  ADDR_PREFERRED,
  ADDR_TENTATIVE,
  type AddrState,
  DuplicateAddressDetector,
} from '../src/ipv6/dad.ts';
import {
  checkRaConfig,
  defaultRaConfig,
  MAX_FINAL_RTR_ADVERTISEMENTS,
  MAX_INITIAL_RTR_ADVERT_INTERVAL_MS,
  MAX_INITIAL_RTR_ADVERTISEMENTS,
  MIN_DELAY_BETWEEN_RAS_MS,
  type RaConfig,
  RouterAdvertiser,
} from '../src/ipv6/router-advertiser.ts';
import { isReservedInterfaceId, stableInterfaceId } from '../src/ipv6/stable-iid.ts';

/** A deterministic uniform [0, 1) source (xorshift32). */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function addr(last: number): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0x20;
  a[1] = 0x01;
  a[2] = 0x0d;
  a[3] = 0xb8;
  a[15] = last;
  return a;
}

function advertiser(config: RaConfig, seed = 7) {
  const sent: { at: number; life: number }[] = [];
  let clock = 0;
  const ra = new RouterAdvertiser(config, seeded(seed), {
    sendRa: (_c, life) => sent.push({ at: clock, life }),
  });
  const run = (until: number) => {
    for (;;) {
      const next = ra.poll(clock);
      if (next > until) {
        clock = until;
        return;
      }
      clock = Math.max(clock, next);
    }
  };
  return {
    ra,
    sent,
    run,
    at: (t: number) => {
      clock = t;
    },
    now: () => clock,
  };
}

describe('Router Advertisements (RFC 4861 §6.2)', () => {
  test('the configuration is checked against §6.2.1', () => {
    assert.deepEqual(checkRaConfig(defaultRaConfig()), []);
    assert.match(checkRaConfig({ ...defaultRaConfig(), maxIntervalS: 2 }).join(), /4\.\.1800/);
    assert.match(checkRaConfig({ ...defaultRaConfig(600), minIntervalS: 500 }).join(), /0\.75/);
    assert.match(checkRaConfig({ ...defaultRaConfig(600), defaultLifetimeS: 100 }).join(), /router lifetime/);
    assert.match(checkRaConfig({ ...defaultRaConfig(), linkMtu: 1000 }).join(), /1280/);
    const p = {
      prefix: addr(0),
      length: 56,
      onLink: true,
      autonomous: true,
      validLifetimeS: 10,
      preferredLifetimeS: 20,
    };
    const problems = checkRaConfig({ ...defaultRaConfig(), prefixes: [p] }).join();
    assert.match(problems, /preferred lifetime/);
    assert.match(problems, /\/64/);
    assert.throws(
      () => new RouterAdvertiser({ ...defaultRaConfig(), maxIntervalS: 1 }, seeded(1), { sendRa() {} }),
    );
  });

  test('the first advertisements come within 500 ms and then at most 16 s apart, the rest in [min, max]', () => {
    const t = advertiser(defaultRaConfig(600));
    t.ra.start(0);
    t.run(3_600_000);
    assert.ok(t.sent[0]!.at <= 500, `first at ${t.sent[0]!.at}`);
    for (let i = 1; i <= MAX_INITIAL_RTR_ADVERTISEMENTS; i++) {
      const gap = t.sent[i]!.at - t.sent[i - 1]!.at;
      assert.ok(gap <= MAX_INITIAL_RTR_ADVERT_INTERVAL_MS, `initial gap ${gap}`);
    }
    for (let i = MAX_INITIAL_RTR_ADVERTISEMENTS + 1; i < t.sent.length; i++) {
      const gap = t.sent[i]!.at - t.sent[i - 1]!.at;
      assert.ok(gap >= 200_000 && gap <= 600_000, `gap ${gap} outside [200 s, 600 s]`);
    }
    assert.ok(t.sent.every((s) => s.life === 1800));
  });

  test('intervals are uniform in [min, max], not a fixed period (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 1800 }), fc.integer({ min: 1, max: 2 ** 31 }), (max, seed) => {
        const t = advertiser(defaultRaConfig(max), seed);
        t.ra.start(0);
        t.run(40 * max * 1000);
        const gaps = t.sent
          .slice(MAX_INITIAL_RTR_ADVERTISEMENTS + 1)
          .map((s, i) => s.at - t.sent[i + MAX_INITIAL_RTR_ADVERTISEMENTS]!.at);
        const min = defaultRaConfig(max).minIntervalS * 1000;
        for (const g of gaps) assert.ok(g >= min && g <= max * 1000);
        // Successive multicast advertisements are never closer than MIN_DELAY_BETWEEN_RAS.
        for (let i = 1; i < t.sent.length; i++)
          assert.ok(t.sent[i]!.at - t.sent[i - 1]!.at >= Math.min(min, MIN_DELAY_BETWEEN_RAS_MS));
        if (gaps.length >= 20) assert.ok(new Set(gaps).size > gaps.length / 2, 'the intervals repeat');
      }),
      { seed: 4861, numRuns: 60 },
    );
  });

  test('a solicitation is answered within 500 ms, but never sooner than 3 s after the last one (§6.2.6)', () => {
    const t = advertiser(defaultRaConfig(600));
    t.ra.start(0);
    t.run(100_000);
    const before = t.sent.length;
    const last = t.sent.at(-1)!.at;
    // Long after the last advertisement: answered within MAX_RA_DELAY_TIME.
    t.at(last + 60_000);
    t.ra.onSolicitation(t.now());
    const asked = t.now();
    t.run(asked + 600);
    assert.equal(t.sent.length, before + 1);
    assert.ok(t.sent.at(-1)!.at - asked <= 500);
    // Right after it: held to MIN_DELAY_BETWEEN_RAS, and a burst of solicitations gives one answer.
    const answered = t.sent.at(-1)!.at;
    t.at(answered + 100);
    for (let i = 0; i < 10; i++) t.ra.onSolicitation(t.now());
    t.run(answered + 5_000);
    assert.equal(t.sent.length, before + 2);
    assert.ok(t.sent.at(-1)!.at >= answered + MIN_DELAY_BETWEEN_RAS_MS);
    assert.equal(t.ra.counters.solicitationsReceived, 11);
    assert.equal(t.ra.counters.solicitationsCoalesced, 9);
  });

  test('stopping sends three final advertisements with router lifetime 0 (§6.2.5), then nothing', () => {
    const t = advertiser(defaultRaConfig(30));
    t.ra.start(0);
    t.run(60_000);
    const before = t.sent.length;
    t.ra.stop(t.now());
    t.run(3_600_000);
    const finals = t.sent.slice(before);
    assert.equal(finals.length, MAX_FINAL_RTR_ADVERTISEMENTS);
    assert.ok(finals.every((s) => s.life === 0));
    t.ra.onSolicitation(t.now());
    t.run(7_200_000);
    assert.equal(t.sent.length, before + MAX_FINAL_RTR_ADVERTISEMENTS);
  });

  test('a new configuration is announced within seconds, not the old interval', () => {
    const t = advertiser(defaultRaConfig(1800));
    t.ra.start(0);
    t.run(1_000_000);
    const before = t.sent.length;
    t.ra.reconfigure({ ...defaultRaConfig(1800), linkMtu: 1400 }, t.now());
    t.run(t.now() + MIN_DELAY_BETWEEN_RAS_MS + 500);
    assert.equal(t.sent.length, before + 1);
  });
});

describe('Duplicate Address Detection (RFC 4862 §5.4)', () => {
  function detector(transmits = 1) {
    const probes: { target: Uint8Array; nonce: Uint8Array }[] = [];
    const changes: { target: Uint8Array; state: AddrState }[] = [];
    const dad = new DuplicateAddressDetector({
      transmits,
      retransTimerMs: 1000,
      random: seeded(99),
      sink: {
        sendProbe: (target, nonce) => probes.push({ target: target.slice(), nonce: nonce.slice() }),
        stateChanged: (target, state) => changes.push({ target: target.slice(), state }),
      },
    });
    return { dad, probes, changes };
  }

  test('an unclaimed address is probed after a random delay, then preferred one RetransTimer later', () => {
    const { dad, probes, changes } = detector(2);
    dad.add(addr(1), 0);
    assert.equal(dad.state(addr(1)), ADDR_TENTATIVE);
    assert.equal(dad.usable(addr(1)), false);
    let now = 0;
    const times: number[] = [];
    while (changes.length === 0) {
      const before = probes.length;
      now = dad.poll(now);
      dad.poll(now);
      if (probes.length > before) times.push(now);
    }
    assert.equal(probes.length, 2);
    assert.ok(times[0]! <= 1000);
    assert.equal(times[1]! - times[0]!, 1000);
    assert.equal(changes[0]!.state, ADDR_PREFERRED);
    assert.equal(now - times[1]!, 1000);
    assert.ok(dad.usable(addr(1)));
    assert.notDeepEqual(probes[0]!.nonce, probes[1]!.nonce);
  });

  test('an NA for a tentative address, or another node probing for it, makes it a duplicate', () => {
    const a = detector();
    a.dad.add(addr(1), 0);
    a.dad.poll(2000);
    a.dad.onAdvertisement(addr(1));
    assert.equal(a.dad.state(addr(1)), ADDR_DUPLICATE);
    assert.equal(a.dad.usable(addr(1)), false);
    assert.equal(a.dad.poll(10_000), Number.POSITIVE_INFINITY);

    const b = detector();
    b.dad.add(addr(2), 0);
    b.dad.poll(2000);
    assert.equal(b.dad.onSolicitation(addr(2), true, Uint8Array.of(1, 2, 3, 4, 5, 6)), true);
    assert.equal(b.dad.state(addr(2)), ADDR_DUPLICATE);
    assert.equal(b.dad.counters.duplicates, 1);
  });

  test('our own probe looped back (same nonce, RFC 7527 §4.2) is not a duplicate', () => {
    const { dad, probes } = detector();
    dad.add(addr(3), 0);
    dad.poll(2000);
    assert.equal(probes.length, 1);
    assert.equal(dad.onSolicitation(addr(3), true, probes[0]!.nonce), true);
    assert.equal(dad.state(addr(3)), ADDR_TENTATIVE);
    assert.equal(dad.counters.loopedBack, 1);
    dad.poll(4000);
    assert.equal(dad.state(addr(3)), ADDR_PREFERRED);
  });

  test('address resolution for a tentative target is ignored, not answered (§5.4.3)', () => {
    const { dad } = detector();
    dad.add(addr(4), 0);
    assert.equal(dad.onSolicitation(addr(4), false, null), true);
    assert.equal(dad.state(addr(4)), ADDR_TENTATIVE);
    assert.equal(dad.onSolicitation(addr(9), false, null), false);
  });

  test('after DAD an NA claiming our address is counted, and the address kept (§5.4.4)', () => {
    const { dad } = detector(0);
    dad.add(addr(5), 0);
    assert.equal(dad.state(addr(5)), ADDR_PREFERRED);
    dad.onAdvertisement(addr(5));
    assert.equal(dad.state(addr(5)), ADDR_PREFERRED);
    assert.equal(dad.counters.conflictsAfterDad, 1);
    assert.equal(dad.onSolicitation(addr(5), false, null), false);
  });

  test('bad settings are refused', () => {
    const sink = { sendProbe() {}, stateChanged() {} };
    assert.throws(
      () => new DuplicateAddressDetector({ transmits: -1, retransTimerMs: 1000, random: seeded(1), sink }),
    );
    assert.throws(
      () => new DuplicateAddressDetector({ transmits: 1, retransTimerMs: 5, random: seeded(1), sink }),
    );
  });
});

describe('stable interface identifiers (RFC 7217)', () => {
  const prf = (secret: string) => (data: Uint8Array) =>
    new Uint8Array(createHmac('sha256', secret).update(data).digest());
  const fe80 = Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0);
  const doc = Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0);

  test('stable for the same inputs, different per prefix, interface, counter and secret', () => {
    const id = stableInterfaceId(prf('s1'), fe80, 'eth0', 0);
    assert.equal(id.length, 8);
    assert.deepEqual(stableInterfaceId(prf('s1'), fe80, 'eth0', 0), id);
    assert.notDeepEqual(stableInterfaceId(prf('s1'), doc, 'eth0', 0), id);
    assert.notDeepEqual(stableInterfaceId(prf('s1'), fe80, 'eth1', 0), id);
    assert.notDeepEqual(stableInterfaceId(prf('s1'), fe80, 'eth0', 1), id);
    assert.notDeepEqual(stableInterfaceId(prf('s2'), fe80, 'eth0', 0), id);
  });

  test('reserved identifiers (RFC 5453) are skipped by counting on', () => {
    assert.ok(isReservedInterfaceId(new Uint8Array(8)));
    assert.ok(isReservedInterfaceId(Uint8Array.of(0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x52, 0x13)));
    assert.ok(!isReservedInterfaceId(Uint8Array.of(0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x52, 0x14)));
    assert.ok(isReservedInterfaceId(Uint8Array.of(0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80)));
    assert.ok(!isReservedInterfaceId(Uint8Array.of(0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)));
    let calls = 0;
    const firstReserved = (data: Uint8Array) => {
      calls++;
      return calls === 1 ? new Uint8Array(8) : data.slice(-8);
    };
    const id = stableInterfaceId(firstReserved, fe80, 'eth0', 0);
    assert.equal(calls, 2);
    assert.ok(!isReservedInterfaceId(id));
    assert.throws(() => stableInterfaceId(() => new Uint8Array(8), fe80, 'eth0', 0), /reserved/);
  });
});
