import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { DEFAULT_SNAPLEN, pcapFileHeader } from '@nexthop/pcap';
import type { CaptureRequest } from './api-types.ts';

// POST /vrs/:vr/capture: a pcap stream fed from the VR's capture.start/read/stop methods.

export const CAPTURE_DEFAULT_COUNT = 100;
export const CAPTURE_MAX_COUNT = 1_000_000;
export const CAPTURE_DEFAULT_TIMEOUT_MS = 60_000;
const READ_WAIT_MS = 500;

export type VrCall = (
  method: string,
  params: Record<string, unknown>,
  timeoutMs?: number,
) => Promise<unknown>;

interface CaptureRead {
  records?: string[];
  done?: boolean;
  dropped?: number;
}

export interface CaptureStream {
  /** The pcap file: the 24-byte header at once, then records as the VR hands them over. */
  stream: Readable;
  /** Ends the capture early (the client went away). */
  abort(): void;
  /** Frames the VR could not keep (its buffer was full): known once the stream has ended. */
  dropped(): number;
}

/**
 * Starts the capture in the VR (so that a bad interface fails before any byte is sent) and returns
 * the stream that the read loop feeds until the count is reached, the time is up, or it is aborted.
 */
export async function startCapture(call: VrCall, request: CaptureRequest): Promise<CaptureStream> {
  const count = Math.min(request.count ?? CAPTURE_DEFAULT_COUNT, CAPTURE_MAX_COUNT);
  const snaplen = request.snaplen ?? DEFAULT_SNAPLEN;
  const timeoutMs = request.timeoutMs ?? CAPTURE_DEFAULT_TIMEOUT_MS;
  const started = (await call('capture.start', { interface: request.interface, count, snaplen })) as {
    id: unknown;
  };
  const id = started.id;
  const stream = new PassThrough();
  stream.write(pcapFileHeader(snaplen));
  let aborted = false;
  let dropped = 0;
  let wakeAborted: () => void = () => {};
  const abortedPromise = new Promise<void>((resolve) => {
    wakeAborted = resolve;
  });
  const deadline = Date.now() + timeoutMs;
  void (async () => {
    try {
      while (!aborted && Date.now() < deadline) {
        const waitMs = Math.max(1, Math.min(READ_WAIT_MS, deadline - Date.now()));
        const read = (await call('capture.read', { id, waitMs }, waitMs + 2000)) as CaptureRead;
        if (typeof read.dropped === 'number') dropped = read.dropped;
        for (const record of read.records ?? []) {
          if (aborted) break;
          stream.write(Buffer.from(record, 'base64'));
        }
        if (read.done === true) break;
        // A slow reader: the VR keeps (up to its limit, then counts drops) while we wait, rather
        // than this process buffering without bound.
        if (stream.writableNeedDrain) await Promise.race([once(stream, 'drain'), abortedPromise]);
      }
    } catch {
      // The VR went away or stopped answering: the file ends with what came so far.
    } finally {
      call('capture.stop', { id }).catch(() => {});
      stream.end();
    }
  })();
  return {
    stream,
    abort: () => {
      aborted = true;
      wakeAborted();
    },
    dropped: () => dropped,
  };
}
