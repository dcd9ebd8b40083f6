import type { VrStatus } from '@nexthop/nexthopd';
import type { ShowArp, ShowCounters, ShowInterface, ShowNeighbor, ShowRoute, ShowSocket } from '@nexthop/vr';

/** Human output in the manner of iproute2: aligned columns, one object a line. */

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const INTERFACE_HEADERS = [
  'NAME',
  'DEVICE',
  'DRIVER',
  'STATE',
  'MTU',
  'MAC',
  'RX-PACKETS',
  'RX-BYTES',
  'TX-PACKETS',
  'TX-BYTES',
  'DROPS',
  'ADDRESSES',
];

function interfaceRow(i: ShowInterface): (string | number)[] {
  return [
    i.name,
    i.device,
    i.driver,
    !i.carrier ? 'NO-CARRIER' : i.up ? 'UP' : 'DOWN',
    i.mtu,
    i.mac,
    i.rxFrames,
    i.rxBytes,
    i.txFrames,
    i.txBytes,
    i.rxDrops,
    [
      ...i.addresses,
      ...i.addresses6.map((a) => `${a.address}/${a.length}${a.state === 'preferred' ? '' : ` (${a.state})`}`),
    ].join(' '),
  ];
}

export function formatInterfaces(rows: ShowInterface[]): string {
  return table(INTERFACE_HEADERS, rows.map(interfaceRow));
}

/** Like `ip route`: one route a line; routes not in the FIB are marked. */
export function formatRoutes(rows: ShowRoute[]): string {
  return rows.map(routeLine).join('\n');
}

function routeLine(r: ShowRoute): string {
  const words: string[] = [];
  // A host route is shown as its address: /32 of IPv4, /128 of IPv6.
  if (r.type === 'local' || r.type === 'broadcast')
    words.push(r.type, r.prefix.replace(r.prefix.includes(':') ? /\/128$/ : /\/32$/, ''));
  else if (r.type === 'blackhole' || r.type === 'reject')
    words.push(r.type === 'reject' ? 'unreachable' : 'blackhole', r.prefix);
  else words.push(r.prefix);
  if (r.via !== null) words.push('via', r.via);
  if (r.interface !== null) words.push('dev', r.interface);
  words.push('proto', r.protocol);
  if (r.protocol === 'connected' || r.type === 'local' || r.type === 'broadcast')
    words.push('scope', r.type === 'unicast' ? 'link' : 'host');
  if (r.protocol === 'static' || r.protocol === 'bgp') words.push('distance', String(r.distance));
  if (!r.active) words.push('inactive');
  else if (!r.selected) words.push('backup');
  return words.join(' ');
}

/** Like `ip neigh`. */
export function formatArp(rows: ShowArp[]): string {
  return rows.map(arpLine).join('\n');
}

function arpLine(a: ShowArp): string {
  const words = [a.address, 'dev', a.interface];
  if (a.mac !== null) words.push('lladdr', a.mac);
  words.push(a.state);
  if (a.queued > 0) words.push(`queued ${a.queued}`);
  return words.join(' ');
}

/** Like `ip neigh`: IPv4 (ARP) and IPv6 (NDP) neighbours, one a line. */
export function formatNeighbors(rows: ShowNeighbor[]): string {
  return rows.map(neighborLine).join('\n');
}

function neighborLine(n: ShowNeighbor): string {
  const words = [n.address, 'dev', n.interface];
  if (n.mac !== null) words.push('lladdr', n.mac);
  words.push(n.state);
  return words.join(' ');
}

export function formatNeighborsByVr(rows: VrRow<ShowNeighbor>[]): string {
  return table(
    ['VR', 'NEIGHBOR'],
    rows.map((r) => [r.vr, neighborLine(r)]),
  );
}

/**
 * Every stack counter with its family (ipv4, ipv6, or - for those of both or neither), in the VR's
 * order: IPv4, IPv6, the rest; then the drop reasons that occurred, and each driver's own counters.
 */
export function formatCounters(c: ShowCounters): string {
  return countersTables([[null, c]]);
}

/** Counters of several VRs: the same three tables, each with a first column VR. */
export function formatCountersByVr(byVr: Record<string, ShowCounters>): string {
  return countersTables(Object.entries(byVr));
}

function countersTables(entries: [string | null, ShowCounters][]): string {
  const withVr = (vr: string | null, row: (string | number)[]): (string | number)[] =>
    vr === null ? row : [vr, ...row];
  const vrHeader = entries.some(([vr]) => vr !== null) ? ['VR'] : [];
  const parts: string[] = [];
  const familyName = (c: ShowCounters, name: string): string => {
    const f = c.family?.[name];
    return f === undefined ? '-' : `ipv${f}`;
  };
  parts.push(
    table(
      [...vrHeader, 'COUNTER', 'FAMILY', 'VALUE'],
      entries.flatMap(([vr, c]) =>
        Object.entries(c.stats).map(([k, v]) => withVr(vr, [k, familyName(c, k), v])),
      ),
    ),
  );
  const drops = entries.flatMap(([vr, c]) =>
    Object.entries(c.drops)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => withVr(vr, [k, v])),
  );
  parts.push(drops.length === 0 ? 'drops: none' : table([...vrHeader, 'DROP REASON', 'PACKETS'], drops));
  const first = entries.flatMap(([, c]) => Object.values(c.links))[0];
  if (first !== undefined) {
    const fields = Object.keys(first) as (keyof typeof first)[];
    parts.push(
      table(
        [...vrHeader, 'LINK', ...fields.map((f) => f.toUpperCase())],
        entries.flatMap(([vr, c]) =>
          Object.entries(c.links).map(([name, stats]) => withVr(vr, [name, ...fields.map((f) => stats[f])])),
        ),
      ),
    );
  }
  return parts.join('\n\n');
}

const PROTOCOL_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 89: 'ospf', 112: 'vrrp' };

const SOCKET_HEADERS = [
  'NETID',
  'STATE',
  'RECV-Q',
  'SEND-Q',
  'LOCAL ADDRESS:PORT',
  'PEER ADDRESS:PORT',
  'FD',
  'INTERFACE',
];

function socketRow(s: ShowSocket): (string | number)[] {
  return [
    s.type === 'raw'
      ? `raw/${PROTOCOL_NAMES[s.protocol] ?? s.protocol}`
      : (PROTOCOL_NAMES[s.protocol] ?? s.type),
    s.state,
    s.recvQ,
    s.sendQ,
    s.local,
    s.peer,
    s.fd < 0 ? '-' : s.fd,
    s.interface ?? '*',
  ];
}

/** Like `ss -a`: one socket a line, TCP connections no fd owns any more (TIME-WAIT…) included. */
export function formatSockets(rows: ShowSocket[]): string {
  return table(SOCKET_HEADERS, rows.map(socketRow));
}

/** A row of some VR, as `show … -j` prints it when it asked every VR: the VR's name first. */
export type VrRow<T> = { vr: string } & T;

/** Tags each VR's rows with its name, VRs in the order given, rows in the order the VR sent them. */
export function tagRows<T extends object>(perVr: readonly { vr: string; rows: readonly T[] }[]): VrRow<T>[] {
  return perVr.flatMap(({ vr, rows }) => rows.map((row) => ({ vr, ...row })));
}

export function formatInterfacesByVr(rows: VrRow<ShowInterface>[]): string {
  return table(
    ['VR', ...INTERFACE_HEADERS],
    rows.map((r) => [r.vr, ...interfaceRow(r)]),
  );
}

export function formatSocketsByVr(rows: VrRow<ShowSocket>[]): string {
  return table(
    ['VR', ...SOCKET_HEADERS],
    rows.map((r) => [r.vr, ...socketRow(r)]),
  );
}

/** Routes of several VRs: the `ip route` line after a VR column. */
export function formatRoutesByVr(rows: VrRow<ShowRoute>[]): string {
  return table(
    ['VR', 'ROUTE'],
    rows.map((r) => [r.vr, routeLine(r)]),
  );
}

export function formatArpByVr(rows: VrRow<ShowArp>[]): string {
  return table(
    ['VR', 'NEIGHBOR'],
    rows.map((r) => [r.vr, arpLine(r)]),
  );
}

/** `show vrs`: what nexthopd knows of each VR process; REASON says why one is not running. */
export function formatVrs(rows: readonly VrStatus[]): string {
  return table(
    ['NAME', 'STATE', 'PID', 'UPTIME', 'RESTARTS', 'INTERFACES', 'REASON'],
    rows.map((v) => [
      v.name,
      v.state,
      v.pid ?? '-',
      v.uptimeMs === null ? '-' : formatUptime(v.uptimeMs),
      v.restarts,
      v.interfaces,
      v.reason ?? '-',
    ]),
  );
}

/** Two units at most, the larger first: `12s`, `4m05s`, `1h02m`, `3d07h`. */
export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor(s / 3600) % 24)}h`;
}
