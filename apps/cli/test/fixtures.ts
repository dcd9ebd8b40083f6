import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { VrStatus } from '@nexthop/nexthopd';
import type { ShowArp, ShowCounters, ShowInterface, ShowRoute, ShowSocket } from '@nexthop/vr';

const MAIN = join(import.meta.dirname, '../src/main.ts');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/**
 * Runs the CLI without blocking this process, so that a fake nexthopd or VR served from the test
 * itself can answer it.
 */
export function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({
        code,
        stdout: stdoutBytes.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        stdoutBytes,
      });
    });
  });
}

function linkStats(rx: number) {
  return {
    rxFrames: rx,
    rxBytes: rx * 100,
    txFrames: 1,
    txBytes: 60,
    txDropsFull: 0,
    txDropsTooBig: 0,
    rxDropsKernel: 0,
  };
}

export function iface(name: string, rx: number, addresses: string[]): ShowInterface {
  return {
    index: 0,
    name,
    mac: '02:00:00:00:00:01',
    mtu: 1500,
    up: true,
    addresses,
    addresses6: [{ address: 'fe80::1', length: 64, state: 'preferred' }],
    rxFrames: rx,
    rxBytes: rx * 100,
    txFrames: 1,
    txBytes: 60,
    rxDrops: 0,
    device: `veth-${name}`,
    driver: 'afpacket',
    carrier: true,
    link: linkStats(rx),
  };
}

export function route(prefix: string, via: string | null, dev: string): ShowRoute {
  return {
    family: prefix.includes(':') ? 6 : 4,
    prefix,
    protocol: via === null ? 'connected' : 'static',
    type: 'unicast',
    via,
    interface: dev,
    distance: via === null ? 0 : 1,
    selected: true,
    active: true,
  };
}

export function arp(address: string, dev: string): ShowArp {
  return { address, interface: dev, mac: '02:00:00:00:00:09', state: 'reachable', queued: 0, ageMs: 5 };
}

export function socket(local: string): ShowSocket {
  return {
    fd: 3,
    type: 'stream',
    protocol: 6,
    state: 'LISTEN',
    local,
    peer: '*:*',
    recvQ: 0,
    sendQ: 0,
    interface: null,
  };
}

export function counters(forwarded: number, dropReason?: string): ShowCounters {
  return {
    stats: { forwarded, ipv6_forwarded: forwarded + 2, sockets_open: 1 },
    family: { forwarded: 4, ipv6_forwarded: 6 },
    drops: dropReason === undefined ? { ttlExpired: 0 } : { ttlExpired: 0, [dropReason]: 3 },
    links: { eth0: linkStats(forwarded) },
  };
}

export function vrStatus(
  name: string,
  state: VrStatus['state'],
  uptimeMs: number | null,
  restarts = 0,
): VrStatus {
  return {
    name,
    state,
    pid: state === 'running' ? 4000 + name.length : null,
    uptimeMs,
    restarts,
    lastExit: null,
    interfaces: 2,
    reason: state === 'failed' ? 'device veth9 is missing' : null,
  };
}

/** A shown table's body rows, split on the two-space column gap. */
export function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.split(/ {2,}/));
}
