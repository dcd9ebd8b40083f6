/**
 * The classic libpcap file format (https://www.tcpdump.org/manpages/pcap-savefile.5.html, and
 * draft-ietf-opsawg-pcap): a 24-byte file header, then records of a 16-byte header plus the
 * captured bytes. Every field is in the byte order of the writer, which the magic number reveals.
 */

/** Magic of files with microsecond timestamps. */
export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
/** Magic of files with nanosecond timestamps. */
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;
export const PCAP_VERSION_MAJOR = 2;
export const PCAP_VERSION_MINOR = 4;
/** Ethernet II frames without FCS (https://www.tcpdump.org/linktypes.html). */
export const LINKTYPE_ETHERNET = 1;
/** tcpdump's own default capture length. */
export const DEFAULT_SNAPLEN = 262144;
export const PCAP_FILE_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;

export function writeU32(target: Uint8Array, at: number, value: number, littleEndian: boolean): void {
  if (littleEndian) {
    target[at] = value & 0xff;
    target[at + 1] = (value >>> 8) & 0xff;
    target[at + 2] = (value >>> 16) & 0xff;
    target[at + 3] = (value >>> 24) & 0xff;
  } else {
    target[at] = (value >>> 24) & 0xff;
    target[at + 1] = (value >>> 16) & 0xff;
    target[at + 2] = (value >>> 8) & 0xff;
    target[at + 3] = value & 0xff;
  }
}

export function writeU16(target: Uint8Array, at: number, value: number, littleEndian: boolean): void {
  if (littleEndian) {
    target[at] = value & 0xff;
    target[at + 1] = (value >>> 8) & 0xff;
  } else {
    target[at] = (value >>> 8) & 0xff;
    target[at + 1] = value & 0xff;
  }
}

function viewOf(source: Uint8Array): DataView {
  return new DataView(source.buffer, source.byteOffset, source.byteLength);
}

/** Throws a RangeError if the field runs past the end of `source` (callers check lengths first). */
export function readU32(source: Uint8Array, at: number, littleEndian: boolean): number {
  return viewOf(source).getUint32(at, littleEndian);
}

/** Throws a RangeError if the field runs past the end of `source` (callers check lengths first). */
export function readU16(source: Uint8Array, at: number, littleEndian: boolean): number {
  return viewOf(source).getUint16(at, littleEndian);
}
