// Sends arbitrary Ethernet frames onto an interface inside a namespace, through a plain AF_PACKET
// raw socket opened by Debian's Python (/usr/bin/python3: the python3 on PATH may be a pyenv one
// without root's view of the system). Frames go as hex lines on stdin; one result line comes back
// per frame, so a frame the kernel refuses is reported rather than silently lost.

import type { Netns } from '@nexthop/netns';
import { toHex } from './malformed.ts';

export const SYSTEM_PYTHON = '/usr/bin/python3';

const SENDER = `
import errno, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.bind((sys.argv[1], 0))
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    frame = bytes.fromhex(line)
    try:
        n = s.send(frame)
        print("ok %d" % n, flush=True)
    except OSError as e:
        print("error %s" % errno.errorcode.get(e.errno, str(e.errno)), flush=True)
`;

export interface SendResult {
  /** Bytes the kernel accepted, or undefined when it refused the frame. */
  readonly sent?: number;
  /** errno name (e.g. EINVAL) when refused. */
  readonly error?: string;
}

/**
 * Sends `frames` in order out of `ifname` in `ns`. Resolves with one result per frame; rejects if
 * the sender itself fails (no such interface, no python).
 */
export async function sendFrames(
  ns: Netns,
  ifname: string,
  frames: readonly Uint8Array[],
  options: { timeoutMs?: number } = {},
): Promise<SendResult[]> {
  const input = `${frames.map(toHex).join('\n')}\n`;
  const r = await ns.exec(SYSTEM_PYTHON, ['-c', SENDER, ifname], {
    input,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  if (r.code !== 0)
    throw new Error(`raw sender failed on ${ns.name}/${ifname} (code ${r.code}): ${r.stderr.trim()}`);
  const results = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((line): SendResult => {
      const [kind, value] = line.split(' ');
      return kind === 'ok' ? { sent: Number(value) } : { error: value ?? 'unknown' };
    });
  if (results.length !== frames.length)
    throw new Error(`raw sender answered ${results.length} of ${frames.length} frames`);
  return results;
}

/** Reads the frames of a classic little- or big-endian pcap file (the kind tcpdump -w writes). */
export function readPcapFrames(file: Uint8Array): Uint8Array[] {
  if (file.length < 24) throw new Error('pcap file shorter than its header');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = view.getUint32(0, true);
  let little: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = true;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = false;
  else throw new Error(`not a pcap file (magic ${magic.toString(16)})`);
  const frames: Uint8Array[] = [];
  let off = 24;
  while (off + 16 <= file.length) {
    const captured = view.getUint32(off + 8, little);
    if (off + 16 + captured > file.length) break;
    frames.push(file.slice(off + 16, off + 16 + captured));
    off += 16 + captured;
  }
  return frames;
}
