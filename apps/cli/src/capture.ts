import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { ControlClient, ControlError, controlSocketPath } from '@nexthop/control';
import { CAPTURE_DROPPED_TRAILER, type CaptureRequest } from '@nexthop/nexthopd';
import {
  DEFAULT_SNAPLEN,
  PCAP_FILE_HEADER_LENGTH,
  PCAP_RECORD_HEADER_LENGTH,
  pcapFileHeader,
} from '@nexthop/pcap';
import { connectApi } from './api-client.ts';
import { CliError, vrFailure } from './errors.ts';

export interface CaptureOptions {
  runDir: string;
  vr: string;
  interface: string;
  count?: number;
  timeoutSec?: number;
  /** A file name, or '-' for standard output. */
  write: string;
}

export interface CaptureResult {
  frames: number;
  dropped: number;
}

/** Frames the VR keeps when no count is given (the design's default). */
const DEFAULT_COUNT = 100;
/** How long a capture runs when no timeout is given, the same as nexthopd's default. */
const DEFAULT_TIMEOUT_SEC = 60;
/** A long poll of capture.read waits at most this long (the VR's own limit is 2 s). */
const READ_WAIT_MS = 1000;

/**
 * Counts the records of a pcap byte stream as it passes, whatever the chunking: the file header
 * gives the byte order, then each record header its captured length.
 */
export class PcapRecordCounter {
  records = 0;
  private header: Uint8Array | null = new Uint8Array(PCAP_FILE_HEADER_LENGTH);
  private headerFill = 0;
  private littleEndian = true;
  private recordHeader = new Uint8Array(PCAP_RECORD_HEADER_LENGTH);
  private recordHeaderFill = 0;
  /** Bytes of the current record's data still to skip. */
  private skip = 0;

  push(chunk: Uint8Array): void {
    let at = 0;
    if (this.header !== null) {
      const n = Math.min(chunk.length, PCAP_FILE_HEADER_LENGTH - this.headerFill);
      this.header.set(chunk.subarray(0, n), this.headerFill);
      this.headerFill += n;
      at = n;
      if (this.headerFill < PCAP_FILE_HEADER_LENGTH) return;
      // 0xa1b2c3d4 / 0xa1b23c4d written little-endian start with 0xd4 / 0x4d.
      this.littleEndian = this.header[0] === 0xd4 || this.header[0] === 0x4d;
      this.header = null;
    }
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(PCAP_RECORD_HEADER_LENGTH - this.recordHeaderFill, chunk.length - at);
      this.recordHeader.set(chunk.subarray(at, at + n), this.recordHeaderFill);
      this.recordHeaderFill += n;
      at += n;
      if (this.recordHeaderFill === PCAP_RECORD_HEADER_LENGTH) {
        const h = this.recordHeader;
        this.skip = this.littleEndian
          ? (h[8]! | (h[9]! << 8) | (h[10]! << 16) | (h[11]! << 24)) >>> 0
          : ((h[8]! << 24) | (h[9]! << 16) | (h[10]! << 8) | h[11]!) >>> 0;
        this.recordHeaderFill = 0;
        this.records++;
      }
    }
  }
}

/** Where the pcap goes; opened only once the capture has started, so a refused one leaves no file. */
function openSink(write: string): Writable {
  return write === '-' ? process.stdout : createWriteStream(write);
}

function closeSink(sink: Writable, write: string): Promise<void> {
  if (write === '-') return Promise.resolve();
  return new Promise((resolve, reject) => {
    sink.once('error', reject);
    sink.end(() => resolve());
  });
}

/** Through nexthopd's capture stream when it runs, else the VR's control socket (capture.*). */
export async function runCapture(opts: CaptureOptions): Promise<CaptureResult> {
  const api = await connectApi(opts.runDir);
  let stopRequested = false;
  let stop = () => {
    stopRequested = true;
  };
  const onSignal = () => stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (api !== null) {
      const body: CaptureRequest = {
        interface: opts.interface,
        ...(opts.count !== undefined ? { count: opts.count } : {}),
        ...(opts.timeoutSec !== undefined ? { timeoutMs: Math.round(opts.timeoutSec * 1000) } : {}),
      };
      let res: Awaited<ReturnType<typeof api.stream>>;
      try {
        res = await api.stream('POST', `/vrs/${encodeURIComponent(opts.vr)}/capture`, body);
      } catch (err) {
        throw vrFailure(opts.vr, err);
      }
      const sink = openSink(opts.write);
      const counter = new PcapRecordCounter();
      await new Promise<void>((resolve, reject) => {
        stop = () => {
          res.destroy();
          resolve();
        };
        if (stopRequested) stop();
        res.on('data', (chunk: Buffer) => {
          counter.push(chunk);
          // A slow file or pipe: stop reading, and nexthopd and the VR hold back in turn.
          if (!sink.write(chunk)) {
            res.pause();
            sink.once('drain', () => res.resume());
          }
        });
        res.on('end', resolve);
        res.on('error', (err) =>
          stopRequested ? resolve() : reject(new CliError(`capture stream: ${err.message}`)),
        );
        res.on('aborted', () => resolve());
      });
      await closeSink(sink, opts.write);
      const dropped = Number(res.trailers[CAPTURE_DROPPED_TRAILER] ?? 0);
      return { frames: counter.records, dropped: Number.isFinite(dropped) ? dropped : 0 };
    }
    return await captureFromVr(opts, () => stopRequested);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function captureFromVr(opts: CaptureOptions, stopRequested: () => boolean): Promise<CaptureResult> {
  let client: ControlClient;
  try {
    client = await ControlClient.connect(controlSocketPath(opts.runDir, opts.vr));
  } catch (err) {
    throw vrFailure(opts.vr, err);
  }
  try {
    let id: unknown;
    try {
      ({ id } = (await client.call('capture.start', {
        interface: opts.interface,
        count: opts.count ?? DEFAULT_COUNT,
      })) as { id: unknown });
    } catch (err) {
      throw vrFailure(opts.vr, err);
    }
    const sink = openSink(opts.write);
    sink.write(pcapFileHeader(DEFAULT_SNAPLEN));
    const deadline = Date.now() + (opts.timeoutSec ?? DEFAULT_TIMEOUT_SEC) * 1000;
    let frames = 0;
    let dropped = 0;
    let done = false;
    try {
      while (!done && !stopRequested()) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const waitMs = Math.max(1, Math.min(READ_WAIT_MS, left));
        const r = (await client.call('capture.read', { id, waitMs }, waitMs + 5000)) as {
          records: string[];
          done: boolean;
          dropped: number;
        };
        for (const b64 of r.records) sink.write(Buffer.from(b64, 'base64'));
        frames += r.records.length;
        dropped = r.dropped;
        done = r.done;
      }
    } catch (err) {
      await closeSink(sink, opts.write);
      throw err instanceof ControlError ? vrFailure(opts.vr, err) : err;
    }
    await closeSink(sink, opts.write);
    try {
      const stopped = (await client.call('capture.stop', { id })) as { dropped?: number };
      if (typeof stopped.dropped === 'number') dropped = stopped.dropped;
    } catch {
      // Already finished and discarded by the VR: what was read is all there is.
    }
    return { frames, dropped };
  } finally {
    client.close();
  }
}

export function describeCapture(result: CaptureResult, write: string): string {
  const where = write === '-' ? 'standard output' : write;
  const dropped = result.dropped > 0 ? ` (${result.dropped} dropped: capture buffer full)` : '';
  return `${result.frames} frames captured to ${where}${dropped}`;
}

/** Usage errors (exit 2) before anything is contacted. */
export function checkCaptureOptions(opts: CaptureOptions): void {
  if (opts.count !== undefined && (!Number.isInteger(opts.count) || opts.count < 1))
    throw new CliError('-c COUNT must be a positive integer', 2);
  if (opts.timeoutSec !== undefined && !(opts.timeoutSec > 0))
    throw new CliError('--timeout SEC must be a positive number', 2);
}
