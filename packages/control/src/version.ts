import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// What every nexthop binary says it is (`--version`, nexthopd's `nexthop_build_info`): the version of
// the release (this package's, which the workspace keeps in step) and the Node.js it runs on.

const meta = JSON.parse(readFileSync(join(import.meta.dirname, '../package.json'), 'utf8')) as {
  version: string;
};

export const NEXTHOP_VERSION: string = meta.version;

/** `nexthop 0.1.0 (node v24.21.0, linux x64)`. */
export function versionLine(program: string): string {
  return `${program} ${NEXTHOP_VERSION} (node ${process.version}, ${process.platform} ${process.arch})`;
}
