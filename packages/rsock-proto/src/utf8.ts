// Well-formed UTF-8 (Unicode §3.9, Table 3-7): no overlong forms, no surrogates, nothing above
// U+10FFFF. Checked before decoding so that decoded strings re-encode to the same bytes.

export function isWellFormedUtf8(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  let i = off;
  while (i < end) {
    const c = buf[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return false;
    if (i + need >= end) return false;
    const second = buf[i + 1]!;
    if (second < lo || second > hi) return false;
    for (let k = 2; k <= need; k++) {
      const cont = buf[i + k]!;
      if (cont < 0x80 || cont > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}
