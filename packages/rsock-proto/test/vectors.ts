// Reads the golden vectors of tests/golden/rsock (format in docs/remote-socket-protocol.md §11).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const GOLDEN_DIR = join(import.meta.dirname, '../../../tests/golden/rsock');

export interface Vector {
  file: string;
  /** The file name without its version prefix: `bad-*`, `dgram-*` or a message. */
  name: string;
  /** The connection's version the bytes are decoded at: 2 for files named `v2-*`, else 1 (§13.9). */
  version: number;
  bytes: Uint8Array;
  expect: string;
}

export function loadVectors(): Vector[] {
  return readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(GOLDEN_DIR, file), 'utf8');
      const expectLine = text.split('\n').find((l) => l.startsWith('#='));
      if (expectLine === undefined) throw new Error(`${file}: no '#=' line`);
      const hex = text.replace(/#.*$/gm, '').replace(/\s/g, '');
      if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`${file}: not whole hex bytes`);
      const bytes = new Uint8Array(hex.length / 2);
      for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
      const version = file.startsWith('v2-') ? 2 : 1;
      const name = version === 2 ? file.slice(3) : file;
      return { file, name, version, bytes, expect: expectLine.slice(2).trim() };
    });
}
