const MAC_TEXT = /^([0-9a-fA-F]{2})(?::([0-9a-fA-F]{2})){5}$/;

export function parseMac(text: string): Uint8Array {
  if (!MAC_TEXT.test(text)) throw new RangeError(`not a MAC address: '${text}'`);
  const mac = new Uint8Array(6);
  const parts = text.split(':');
  for (let i = 0; i < 6; i++) mac[i] = Number.parseInt(parts[i]!, 16);
  return mac;
}

export function formatMac(buf: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) {
    if (i > 0) s += ':';
    s += buf[off + i]!.toString(16).padStart(2, '0');
  }
  return s;
}

/** The I/G bit: set for multicast and broadcast destinations (IEEE 802-2014 §8.2). */
export function isMulticastMac(buf: Uint8Array, off: number): boolean {
  return (buf[off]! & 1) === 1;
}

export function isBroadcastMac(buf: Uint8Array, off: number): boolean {
  return (
    buf[off] === 255 &&
    buf[off + 1] === 255 &&
    buf[off + 2] === 255 &&
    buf[off + 3] === 255 &&
    buf[off + 4] === 255 &&
    buf[off + 5] === 255
  );
}
