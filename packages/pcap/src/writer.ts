import {
  DEFAULT_SNAPLEN,
  LINKTYPE_ETHERNET,
  PCAP_FILE_HEADER_LENGTH,
  PCAP_MAGIC_MICROS,
  PCAP_MAGIC_NANOS,
  PCAP_RECORD_HEADER_LENGTH,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
  writeU16,
  writeU32,
} from './format.ts';

export interface PcapFormatOptions {
  /** Link-layer header type of every record; LINKTYPE_ETHERNET unless told. */
  linkType?: number;
  /** Byte order of the header fields; little-endian (what x86 libpcap writes) unless told. */
  littleEndian?: boolean;
  /** Write nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
}

function checkSnaplen(snaplen: number): void {
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0x7fffffff) {
    throw new RangeError(`snaplen must be an integer in 1..2^31-1, got ${snaplen}`);
  }
}

function writeFileHeader(target: Uint8Array, snaplen: number, options: PcapFormatOptions): void {
  const le = options.littleEndian ?? true;
  writeU32(target, 0, options.nanosecond ? PCAP_MAGIC_NANOS : PCAP_MAGIC_MICROS, le);
  writeU16(target, 4, PCAP_VERSION_MAJOR, le);
  writeU16(target, 6, PCAP_VERSION_MINOR, le);
  writeU32(target, 8, 0, le); // thiszone: timestamps are UTC
  writeU32(target, 12, 0, le); // sigfigs: always 0 in practice
  writeU32(target, 16, snaplen, le);
  writeU32(target, 20, options.linkType ?? LINKTYPE_ETHERNET, le);
}

/** The 24-byte file header that starts every classic pcap file. */
export function pcapFileHeader(
  snaplen: number = DEFAULT_SNAPLEN,
  options: PcapFormatOptions = {},
): Uint8Array {
  checkSnaplen(snaplen);
  const header = new Uint8Array(PCAP_FILE_HEADER_LENGTH);
  writeFileHeader(header, snaplen, options);
  return header;
}

/**
 * Writes a record header at `at`. The timestamp is split into whole seconds and a fraction in the
 * file's unit; rounding happens once, on the total, so the fraction never reaches a full second.
 */
function writeRecordHeader(
  target: Uint8Array,
  at: number,
  capturedLength: number,
  originalLength: number,
  timestampMs: number,
  le: boolean,
  nanosecond: boolean,
): void {
  if (!(timestampMs >= 0) || timestampMs > 0xffffffff * 1000) {
    throw new RangeError(`timestamp must be in 0..2^32 s, got ${timestampMs} ms`);
  }
  const unitsPerSecond = nanosecond ? 1e9 : 1e6;
  const total = Math.round(timestampMs * (unitsPerSecond / 1000));
  const seconds = Math.floor(total / unitsPerSecond);
  writeU32(target, at, seconds, le);
  writeU32(target, at + 4, total - seconds * unitsPerSecond, le);
  writeU32(target, at + 8, capturedLength, le);
  writeU32(target, at + 12, originalLength, le);
}

function checkFrame(buf: Uint8Array, off: number, len: number): void {
  if (!Number.isInteger(off) || !Number.isInteger(len) || off < 0 || len < 0 || off + len > buf.length) {
    throw new RangeError(`frame [${off}, ${off}+${len}) is outside a buffer of ${buf.length} bytes`);
  }
}

/**
 * One record (header and the first `snaplen` bytes of the frame) as a new array, for callers that
 * assemble files themselves. `timestampMs` is milliseconds since the epoch the reader will assume
 * (a simulator's virtual time is fine: it shows as 1970).
 */
export function pcapRecord(
  buf: Uint8Array,
  off: number,
  len: number,
  timestampMs: number,
  snaplen: number = DEFAULT_SNAPLEN,
  options: PcapFormatOptions = {},
): Uint8Array {
  checkSnaplen(snaplen);
  checkFrame(buf, off, len);
  const captured = Math.min(len, snaplen);
  const record = new Uint8Array(PCAP_RECORD_HEADER_LENGTH + captured);
  writeRecordHeader(
    record,
    0,
    captured,
    len,
    timestampMs,
    options.littleEndian ?? true,
    !!options.nanosecond,
  );
  record.set(buf.subarray(off, off + captured), PCAP_RECORD_HEADER_LENGTH);
  return record;
}

export interface PcapWriterOptions extends PcapFormatOptions {
  snaplen?: number;
  /** Initial capacity in bytes; the buffer doubles as needed. */
  initialCapacity?: number;
}

/** Accumulates a whole pcap file in one growable buffer; `bytes()` returns the file so far. */
export class PcapWriter {
  readonly snaplen: number;
  readonly linkType: number;
  readonly littleEndian: boolean;
  readonly nanosecond: boolean;
  #buffer: Uint8Array;
  #length: number;
  #records = 0;

  constructor(options: PcapWriterOptions = {}) {
    this.snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
    checkSnaplen(this.snaplen);
    this.linkType = options.linkType ?? LINKTYPE_ETHERNET;
    this.littleEndian = options.littleEndian ?? true;
    this.nanosecond = options.nanosecond ?? false;
    this.#buffer = new Uint8Array(Math.max(options.initialCapacity ?? 4096, PCAP_FILE_HEADER_LENGTH));
    writeFileHeader(this.#buffer, this.snaplen, this);
    this.#length = PCAP_FILE_HEADER_LENGTH;
  }

  /** Appends one frame, truncated to `snaplen`. The frame is copied; the caller keeps `buf`. */
  write(buf: Uint8Array, off: number, len: number, timestampMs: number): void {
    checkFrame(buf, off, len);
    const captured = Math.min(len, this.snaplen);
    const needed = this.#length + PCAP_RECORD_HEADER_LENGTH + captured;
    if (needed > this.#buffer.length) this.#grow(needed);
    const target = this.#buffer;
    writeRecordHeader(target, this.#length, captured, len, timestampMs, this.littleEndian, this.nanosecond);
    target.set(buf.subarray(off, off + captured), this.#length + PCAP_RECORD_HEADER_LENGTH);
    this.#length = needed;
    this.#records++;
  }

  get byteLength(): number {
    return this.#length;
  }

  get recordCount(): number {
    return this.#records;
  }

  /** A copy of the file written so far; later writes do not change it. */
  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }

  #grow(needed: number): void {
    let capacity = this.#buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = next;
  }
}
