import type { ShowArp, ShowCounters, ShowInterface, ShowRoute, ShowSocket } from '@nexthop/vr';

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

export function formatInterfaces(rows: ShowInterface[]): string {
  return table(
    [
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
    ],
    rows.map((i) => [
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
      i.addresses.join(' '),
    ]),
  );
}

/** Like `ip route`: one route a line; routes not in the FIB are marked. */
export function formatRoutes(rows: ShowRoute[]): string {
  return rows
    .map((r) => {
      const words: string[] = [];
      if (r.type === 'local' || r.type === 'broadcast') words.push(r.type, r.prefix.replace(/\/32$/, ''));
      else if (r.type === 'blackhole' || r.type === 'reject')
        words.push(r.type === 'reject' ? 'unreachable' : 'blackhole', r.prefix);
      else words.push(r.prefix);
      if (r.via !== null) words.push('via', r.via);
      if (r.interface !== null) words.push('dev', r.interface);
      words.push('proto', r.protocol);
      if (r.protocol === 'connected' || r.type === 'local' || r.type === 'broadcast')
        words.push('scope', r.type === 'unicast' ? 'link' : 'host');
      if (r.protocol === 'static') words.push('distance', String(r.distance));
      if (!r.active) words.push('inactive');
      else if (!r.selected) words.push('backup');
      return words.join(' ');
    })
    .join('\n');
}

/** Like `ip neigh`. */
export function formatArp(rows: ShowArp[]): string {
  return rows
    .map((a) => {
      const words = [a.address, 'dev', a.interface];
      if (a.mac !== null) words.push('lladdr', a.mac);
      words.push(a.state);
      if (a.queued > 0) words.push(`queued ${a.queued}`);
      return words.join(' ');
    })
    .join('\n');
}

/** Every stack counter, the drop reasons that occurred, and each driver's own counters. */
export function formatCounters(c: ShowCounters): string {
  const parts: string[] = [];
  parts.push(
    table(
      ['COUNTER', 'VALUE'],
      Object.entries(c.stats).map(([k, v]) => [k, v]),
    ),
  );
  const drops = Object.entries(c.drops).filter(([, v]) => v > 0);
  parts.push(
    drops.length === 0
      ? 'drops: none'
      : table(
          ['DROP REASON', 'PACKETS'],
          drops.map(([k, v]) => [k, v]),
        ),
  );
  const linkNames = Object.keys(c.links);
  if (linkNames.length > 0) {
    const fields = Object.keys(c.links[linkNames[0]!]!);
    parts.push(
      table(
        ['LINK', ...fields.map((f) => f.toUpperCase())],
        linkNames.map((n) => [n, ...fields.map((f) => c.links[n]![f as keyof (typeof c.links)[string]])]),
      ),
    );
  }
  return parts.join('\n\n');
}

const PROTOCOL_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 89: 'ospf', 112: 'vrrp' };

/** Like `ss -a`: one socket a line, TCP connections no fd owns any more (TIME-WAIT…) included. */
export function formatSockets(rows: ShowSocket[]): string {
  return table(
    ['NETID', 'STATE', 'RECV-Q', 'SEND-Q', 'LOCAL ADDRESS:PORT', 'PEER ADDRESS:PORT', 'FD', 'INTERFACE'],
    rows.map((s) => [
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
    ]),
  );
}
