import {
  PCAP_FILE_HEADER_LENGTH,
  PCAP_MAGIC_MICROS,
  PCAP_MAGIC_NANOS,
  PCAP_RECORD_HEADER_LENGTH,
  readU16,
  readU32,
} from './format.ts';

export interface PcapRecord {
  /** Capture time in microseconds since the epoch (fractional when the file has nanoseconds). */
  timestampUs: number;
  /** The captured bytes (a copy, at most snaplen long). */
  data: Uint8Array;
  /** Length of the frame on the wire, which exceeds `data.length` when the capture truncated it. */
  originalLength: number;
}

export interface PcapFile {
  linkType: number;
  snaplen: number;
  littleEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  records: PcapRecord[];
}

export interface PcapReadOk extends PcapFile {
  ok: true;
}

export interface PcapReadError {
  ok: false;
  error: string;
  /** Byte offset in the input where the problem was found. */
  offset: number;
  /** The records read before the problem, for salvaging a truncated capture. */
  records: PcapRecord[];
}

export type PcapReadResult = PcapReadOk | PcapReadError;

/** libpcap refuses records larger than this whatever the snaplen says (MAXIMUM_SNAPLEN). */
const MAX_RECORD_LENGTH = 262144;
const PCAPNG_MAGIC = 0x0a0d0d0a;

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/**
 * Parses a classic pcap file written in either byte order, with micro- or nanosecond timestamps.
 * Never throws on bad input: a truncated or malformed file gives `ok: false` with the reason, the
 * offset, and the records that came before.
 */
export function readPcap(bytes: Uint8Array): PcapReadResult {
  const records: PcapRecord[] = [];
  const fail = (error: string, offset: number): PcapReadError => ({ ok: false, error, offset, records });
  if (bytes.length < PCAP_FILE_HEADER_LENGTH) {
    return fail(`file header truncated: ${bytes.length} of ${PCAP_FILE_HEADER_LENGTH} bytes`, 0);
  }
  const magicBigEndian = readU32(bytes, 0, false);
  let littleEndian: boolean;
  let nanosecond: boolean;
  if (magicBigEndian === PCAP_MAGIC_MICROS || magicBigEndian === PCAP_MAGIC_NANOS) {
    littleEndian = false;
    nanosecond = magicBigEndian === PCAP_MAGIC_NANOS;
  } else {
    const magicLittleEndian = readU32(bytes, 0, true);
    if (magicLittleEndian === PCAP_MAGIC_MICROS || magicLittleEndian === PCAP_MAGIC_NANOS) {
      littleEndian = true;
      nanosecond = magicLittleEndian === PCAP_MAGIC_NANOS;
    } else if (magicBigEndian === PCAPNG_MAGIC) {
      return fail('pcapng files are not supported, only classic pcap', 0);
    } else {
      return fail(`unknown magic number ${hex(magicBigEndian)}`, 0);
    }
  }
  const versionMajor = readU16(bytes, 4, littleEndian);
  const versionMinor = readU16(bytes, 6, littleEndian);
  if (versionMajor !== 2) return fail(`unsupported version ${versionMajor}.${versionMinor}`, 4);
  const snaplen = readU32(bytes, 16, littleEndian);
  const linkType = readU32(bytes, 20, littleEndian);
  const recordLimit = Math.max(snaplen, MAX_RECORD_LENGTH);
  const fractionToUs = nanosecond ? 1 / 1000 : 1;

  let at = PCAP_FILE_HEADER_LENGTH;
  while (at < bytes.length) {
    if (bytes.length - at < PCAP_RECORD_HEADER_LENGTH) {
      return fail(`record header truncated: ${bytes.length - at} of ${PCAP_RECORD_HEADER_LENGTH} bytes`, at);
    }
    const seconds = readU32(bytes, at, littleEndian);
    const fraction = readU32(bytes, at + 4, littleEndian);
    const capturedLength = readU32(bytes, at + 8, littleEndian);
    const originalLength = readU32(bytes, at + 12, littleEndian);
    if (capturedLength > recordLimit) {
      return fail(`record capture length ${capturedLength} exceeds the limit ${recordLimit}`, at + 8);
    }
    const dataStart = at + PCAP_RECORD_HEADER_LENGTH;
    if (bytes.length - dataStart < capturedLength) {
      return fail(`record data truncated: ${bytes.length - dataStart} of ${capturedLength} bytes`, dataStart);
    }
    records.push({
      timestampUs: seconds * 1e6 + fraction * fractionToUs,
      // A plain copy even when the input is a subclass such as a Node buffer, whose slice is a view.
      data: new Uint8Array(bytes.subarray(dataStart, dataStart + capturedLength)),
      originalLength,
    });
    at = dataStart + capturedLength;
  }
  return { ok: true, linkType, snaplen, littleEndian, nanosecond, versionMajor, versionMinor, records };
}
