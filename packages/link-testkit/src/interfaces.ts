import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Interfaces created by this process and not yet deleted; removed on exit as a last resort. */
const created = new Set<string>();
let exitHookInstalled = false;
let counter = 0;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function track(name: string): void {
  created.add(name);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const dev of created) deleteInterface(dev);
    });
  }
}

/** A name unique to this process and call, within IFNAMSIZ: prefix + pid + counter. */
export function uniqueInterfaceName(prefix: string): string {
  const name = `${prefix}${process.pid}x${(counter++).toString(36)}`;
  if (name.length > 13) throw new Error(`interface name too long: ${name}`);
  return name;
}

/** Deletes a device this process created; no error if it is already gone. */
export function deleteInterface(name: string): void {
  try {
    ip('link', 'del', name);
  } catch {
    // Already gone (a veth peer goes with its partner).
  }
  created.delete(name);
}

/** Quiet, up: IPv6 off so that the kernel sends no ND/MLD noise on the test wire. */
function prepare(name: string, master?: string): void {
  try {
    execFileSync('sysctl', ['-qw', `net.ipv6.conf.${name}.disable_ipv6=1`], { stdio: 'ignore' });
  } catch {
    // IPv6 may be compiled out; nothing to silence then.
  }
  if (master) ip('link', 'set', name, 'master', master);
  ip('link', 'set', name, 'up');
}

/** Creates a veth pair `${base}a` / `${base}b` in the current namespace, both up. */
export function createVethPair(base: string): { a: string; b: string } {
  const a = `${base}a`;
  const b = `${base}b`;
  ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
  track(a);
  track(b);
  prepare(a);
  prepare(b);
  return { a, b };
}

/**
 * Creates a bridge `${base}br` with two persistent TAP ports `${base}a` and `${base}b`. Their
 * receive queues are lengthened so that a 1000-frame burst fits (the default is 1000).
 */
export function createTapBridge(base: string): { bridge: string; a: string; b: string } {
  const bridge = `${base}br`;
  const a = `${base}a`;
  const b = `${base}b`;
  ip('link', 'add', bridge, 'type', 'bridge');
  track(bridge);
  prepare(bridge);
  for (const tap of [a, b]) {
    ip('tuntap', 'add', 'dev', tap, 'mode', 'tap');
    track(tap);
    ip('link', 'set', tap, 'txqueuelen', '4096');
    prepare(tap, bridge);
  }
  return { bridge, a, b };
}

function sys(name: string, attribute: string): string {
  try {
    return readFileSync(`/sys/class/net/${name}/${attribute}`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** True once the kernel has finished bringing the device up (qdisc active, operstate up). */
export function operUp(name: string): boolean {
  return sys(name, 'operstate') === 'up';
}

/** True once a bridge port forwards (STP is off, so this follows carrier). */
export function bridgePortForwarding(name: string): boolean {
  return sys(name, 'brport/state') === '3';
}
