// Semantically opaque, stable interface identifiers (RFC 7217 §5): the same interface on the same
// link gets the same address across restarts, but it reveals nothing of the MAC and differs per
// prefix. The pseudo-random function is handed in (the VR passes HMAC-SHA-256 keyed with its secret;
// the core does no crypto of its own), so the same code runs under the simulator with a fixed one.

/** F(): returns at least 8 bytes derived from data (RFC 7217 §5 step 1: a keyed PRF). */
export type Prf = (data: Uint8Array) => Uint8Array;

/** RFC 7217 §6: give up after this many DAD conflicts for one prefix. */
export const IDGEN_RETRIES = 3;

/**
 * The interface identifier (8 bytes) for prefix (its first 8 bytes are used) on the interface
 * named ifaceName, after dadCounter conflicts (RFC 7217 §5: F(Prefix, Net_Iface, Network_ID,
 * DAD_Counter, secret_key), the secret inside prf). Identifiers the IETF reserved (RFC 5453) are
 * skipped by counting on, as §5 step 2 says.
 */
export function stableInterfaceId(
  prf: Prf,
  prefix: Uint8Array,
  ifaceName: string,
  dadCounter: number,
): Uint8Array {
  if (prefix.length < 8) throw new RangeError('the prefix needs its first 8 bytes');
  const name = new TextEncoder().encode(ifaceName);
  // A PRF that keeps hitting reserved identifiers is broken; 64 draws are 2^-300 odds for a good one.
  for (let counter = dadCounter; counter < dadCounter + 64; counter++) {
    const data = new Uint8Array(8 + 2 + name.length + 4);
    data.set(prefix.subarray(0, 8), 0);
    data[8] = name.length >>> 8;
    data[9] = name.length & 0xff;
    data.set(name, 10);
    const c = 10 + name.length;
    data[c] = counter >>> 24;
    data[c + 1] = (counter >>> 16) & 0xff;
    data[c + 2] = (counter >>> 8) & 0xff;
    data[c + 3] = counter & 0xff;
    const out = prf(data);
    if (out.length < 8) throw new RangeError('the PRF must return at least 8 bytes');
    const iid = out.slice(0, 8);
    if (!isReservedInterfaceId(iid)) return iid;
  }
  throw new Error('the PRF returned only reserved interface identifiers');
}

/** RFC 5453 §3 (and RFC 4291's subnet-router anycast, all zeros). */
export function isReservedInterfaceId(iid: Uint8Array): boolean {
  let zero = true;
  for (let i = 0; i < 8; i++) if (iid[i] !== 0) zero = false;
  if (zero) return true;
  // 0200:5EFF:FE00:0000–0200:5EFF:FE00:5212, and 0200:5EFF:FE00:5213 (proxy mobile IPv6).
  if (
    iid[0] === 0x02 &&
    iid[1] === 0x00 &&
    iid[2] === 0x5e &&
    iid[3] === 0xff &&
    iid[4] === 0xfe &&
    iid[5] === 0x00
  ) {
    return ((iid[6]! << 8) | iid[7]!) <= 0x5213;
  }
  // FDFF:FFFF:FFFF:FF80–FDFF:FFFF:FFFF:FFFF: subnet anycast (RFC 2526).
  if (iid[0] === 0xfd) {
    for (let i = 1; i < 7; i++) if (iid[i] !== 0xff) return false;
    return iid[7]! >= 0x80;
  }
  return false;
}
