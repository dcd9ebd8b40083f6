// A VR on in-memory pipe links: each configured interface is one end of a pipe whose other end the
// test holds as "the host" on that segment.
import assert from 'node:assert/strict';
import { type InterfaceConfig, parseConfig, type RouterConfig } from '@nexthop/config';
import { createPipePair } from '@nexthop/driver-pipe';
import type { Link } from '@nexthop/interface';
import { answer, type ControlContext, VirtualRouter } from '@nexthop/vr';
import pino from 'pino';

/** Device names the rig refuses to open, as a vanished kernel device would. */
export const BROKEN_DEVICE = 'broken0';

export interface Host {
  link: Link;
  frames: Uint8Array[];
}

export interface VrRig {
  vr: VirtualRouter;
  ctx: ControlContext;
  /** The far end of each interface's pipe, by interface name (the latest one for a re-added name). */
  hosts: Map<string, Host>;
  opened: number;
  closedHosts(): string[];
  call(method: string, params?: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

export function routerConfig(text: string): RouterConfig {
  const parsed = parseConfig(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  assert.equal(parsed.config.routers.length, 1);
  return parsed.config.routers[0]!;
}

export const BASE = `routers:
  blue:
    interfaces:
      eth0: { driver: pipe, device: p0, addresses: [10.1.0.1/24], mac: 02:00:00:00:01:01 }
      eth1: { driver: pipe, device: p1, addresses: [10.2.0.1/24], mac: 02:00:00:00:02:01 }
    routes:
      - { prefix: 10.50.0.0/16, via: 10.1.0.2 }
`;

export function startRig(text = BASE): VrRig {
  const hosts = new Map<string, Host>();
  const all: Host[] = [];
  const rig = {
    opened: 0,
  } as VrRig;
  const openLink = (iface: InterfaceConfig): Link => {
    if (iface.device === BROKEN_DEVICE)
      throw new Error(`interface ${iface.name}: no device ${BROKEN_DEVICE}`);
    const [vrEnd, hostEnd] = createPipePair({
      labelA: iface.device ?? iface.name,
      labelB: `host-${iface.name}`,
    });
    const host: Host = { link: hostEnd, frames: [] };
    hostEnd.start((_l, buf, descs, count) => {
      for (let i = 0; i < count; i++)
        host.frames.push(buf.slice(descs[3 * i]!, descs[3 * i]! + descs[3 * i + 1]!));
    });
    hosts.set(iface.name, host);
    all.push(host);
    rig.opened++;
    return vrEnd;
  };
  const logger = pino({ level: 'silent' });
  const vr = new VirtualRouter({ config: routerConfig(text), logger, openLink });
  vr.start();
  const ctx: ControlContext = { vr, logger, deviceExists: () => true };
  rig.vr = vr;
  rig.ctx = ctx;
  rig.hosts = hosts;
  // A host end is "up" only while the VR's end is open.
  rig.closedHosts = () => [...hosts.values()].filter((h) => !h.link.up).map((h) => h.link.device);
  rig.call = (method, params = {}) => answer(ctx, method, params);
  rig.close = () => {
    vr.stop();
    for (const h of all) h.link.close();
  };
  return rig;
}

/** The egress of the FIB's route to dst: interface name and gateway, or null. */
export function lookup(vr: VirtualRouter, dst: number): { interface: string; gateway: number } | null {
  const nh = vr.stack.fib.lookup(dst, 0);
  if (nh < 0) return null;
  const ifIndex = vr.stack.fib.nextHops.ifIndex(nh);
  const name = vr.stack.interfaces().find((i) => i.index === ifIndex)?.name ?? `#${ifIndex}`;
  return { interface: name, gateway: vr.stack.fib.nextHops.gateway(nh) };
}

/** Interfaces without their counters: what a configuration decides. */
export function interfaceShape(vr: VirtualRouter): unknown[] {
  return vr.stack.interfaces().map(({ index, name, mac, mtu, up, addresses }) => ({
    index,
    name,
    mac,
    mtu,
    up,
    addresses,
  }));
}

export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
