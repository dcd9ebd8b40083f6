// The golden-sequence runner: a script of steps (decoded messages in, time, connections) drives one
// BgpEngine over FakeSockets; every action the engine takes (messages sent, decoded; connects and
// closes; routes to the sink; state changes) is logged as one line, and compared with the script's
// `expect` lines. `GOLDEN_UPDATE=1` rewrites the expectations from what the engine did.
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '@nexthop/addr';
import {
  ACCEPT_ALL,
  type BgpConfig,
  BgpDecoder,
  BgpEngine,
  type BgpPeerConfig,
  EV_ERROR,
  EV_READABLE,
  EV_WRITABLE,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  formatAsPath,
  type ImportedRoute,
  MSG_KEEPALIVE,
  MSG_NOTIFICATION,
  MSG_OPEN,
  MSG_ROUTE_REFRESH,
  MSG_UPDATE,
  makeAttributes,
  type PathAttributes,
  type RouteSink,
  UpdateEncoder,
} from '../src/index.ts';
import { ECONNREFUSED, FakeSockets } from './fake-sockets.ts';
import { attr, hex, toHex, update } from './util.ts';

export type Step = Record<string, unknown> & { do?: string; expect?: string[] };

function addr(text: string): number | Uint8Array {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}
function addrText(a: number | Uint8Array): string {
  return typeof a === 'number' ? formatIpv4(a) : formatIpv6(a);
}
function prefix(text: string): { network: number | Uint8Array; length: number } {
  const [a, l] = text.split('/') as [string, string];
  return { network: addr(a), length: Number(l) };
}

/** A logging RouteSink. */
export class LogSink implements RouteSink {
  readonly routes = new Map<string, string>();
  private readonly log: string[];
  constructor(log: string[]) {
    this.log = log;
  }
  private line(r: ImportedRoute<number | Uint8Array>): string {
    return `via ${addrText(r.nextHop)} path=${formatAsPath(r.attrs.asPath) || '-'}${r.ibgp ? ' ibgp' : ''}`;
  }
  update4(source: string, network: number, length: number, route: ImportedRoute<number> | null): void {
    const p = `${formatIpv4(network)}/${length}`;
    this.record(source, p, route);
  }
  update6(
    source: string,
    network: Uint8Array,
    length: number,
    route: ImportedRoute<Uint8Array> | null,
  ): void {
    this.record(source, `${formatIpv6(network)}/${length}`, route);
  }
  private record(source: string, p: string, route: ImportedRoute<number | Uint8Array> | null): void {
    if (route === null) {
      this.routes.delete(`${source} ${p}`);
      this.log.push(`rib - ${source} ${p}`);
    } else {
      this.routes.set(`${source} ${p}`, this.line(route));
      this.log.push(`rib + ${source} ${p} ${this.line(route)}`);
    }
  }
  withdrawAll(source: string): void {
    for (const k of [...this.routes.keys()]) if (k.startsWith(`${source} `)) this.routes.delete(k);
    this.log.push(`rib withdrawAll ${source}`);
  }
}

/** The attributes a script shows when present: LOCAL_PREF, MED, ORIGINATOR_ID, CLUSTER_LIST. */
function optional(at: PathAttributes): string {
  let s = '';
  if (at.localPref !== undefined) s += ` lp=${at.localPref}`;
  if (at.med !== undefined) s += ` med=${at.med}`;
  if (at.originatorId !== undefined) s += ` originator=${formatIpv4(at.originatorId)}`;
  if (at.clusterList !== undefined) s += ` clusters=${at.clusterList.map(formatIpv4).join(',')}`;
  return s;
}

/** Describes the messages in `bytes` (what the engine sent on one connection). */
export function describe(bytes: Uint8Array): string[] {
  const out: string[] = [];
  const d = new BgpDecoder({ as4: true, extendedMessage: true, ebgp: false });
  let off = 0;
  while (off + 19 <= bytes.length) {
    const len = (bytes[off + 16]! << 8) | bytes[off + 17]!;
    if (off + len > bytes.length) break;
    const m = d.decode(bytes, off, len);
    off += len;
    switch (m.type) {
      case MSG_OPEN: {
        const o = m.open!;
        const c = o.capabilities;
        const caps = [
          ...c.multiprotocol.map((f) => `mp${f.afi}/${f.safi}`),
          ...(c.routeRefresh ? ['rr'] : []),
          ...(c.extendedMessage ? ['ext'] : []),
          ...(c.fourOctetAs !== undefined ? [`as4:${c.fourOctetAs}`] : []),
          ...(c.gracefulRestart !== undefined
            ? [
                `gr:${c.gracefulRestart.time}${c.gracefulRestart.restartState ? 'R' : ''}${c.gracefulRestart.families
                  .map((f) => `:${f.afi}/${f.safi}${f.forwardingState ? 'F' : ''}`)
                  .join('')}`,
              ]
            : []),
        ];
        out.push(`OPEN as=${o.myAs} hold=${o.holdTime} id=${formatIpv4(o.bgpId)} ${caps.join(',')}`);
        break;
      }
      case MSG_KEEPALIVE:
        out.push('KEEPALIVE');
        break;
      case MSG_NOTIFICATION: {
        const r = m.received!;
        out.push(`NOTIFICATION ${r.code}/${r.subcode}${r.data.length > 0 ? ` data=${toHex(r.data)}` : ''}`);
        break;
      }
      case MSG_ROUTE_REFRESH:
        out.push(`ROUTE-REFRESH ${m.routeRefresh.afi}/${m.routeRefresh.safi}`);
        break;
      case MSG_UPDATE: {
        const u = m.update;
        const eor = u.endOfRib();
        if (eor !== 0) {
          out.push(`UPDATE end-of-rib ${eor >> 8}/${eor & 255}`);
          break;
        }
        const parts: string[] = [];
        const w = [...u.withdrawn.toStrings(), ...u.mpUnreach6.toStrings()];
        if (w.length > 0) parts.push(`withdraw=${w.join(',')}`);
        const a = [...u.nlri.toStrings(), ...u.mpReach6.toStrings()];
        if (a.length > 0) {
          const at = u.attrs!;
          const nh =
            at.nextHop !== undefined
              ? formatIpv4(at.nextHop)
              : at.mpNextHop !== undefined
                ? formatIpv6(at.mpNextHop.subarray(0, 16))
                : '-';
          parts.push(
            `announce=${a.join(',')} nh=${nh} path=${formatAsPath(at.asPath) || '-'}${optional(at)}`,
          );
        }
        out.push(`UPDATE ${parts.join(' ')}`);
        break;
      }
    }
  }
  return out;
}

/** Builds the bytes of a message described in a script step. */
export function build(msg: Record<string, unknown>): Uint8Array {
  if (typeof msg.hex === 'string') return hex(msg.hex);
  switch (msg.type) {
    case 'OPEN': {
      const as = (msg.as as number) ?? 65002;
      const families = (msg.families as string[] | undefined) ?? ['ipv4', 'ipv6'];
      const b = encodeOpen({
        as,
        holdTime: (msg.hold as number) ?? 90,
        bgpId: parseIpv4((msg.id as string) ?? '10.0.0.2'),
        capabilities: {
          multiprotocol: families.map((f) => ({ afi: f === 'ipv4' ? 1 : 2, safi: 1 })),
          routeRefresh: msg.rr !== false,
          // RFC 4724 §3: {"gr": {"time": 120, "r": false, "f": ["ipv4"], "families": ["ipv4", "ipv6"]}}
          ...(typeof msg.gr === 'object' && msg.gr !== null
            ? { gracefulRestart: grOf(msg.gr as Record<string, unknown>) }
            : {}),
        },
        oldSpeaker: msg.old === true,
      });
      if (typeof msg.version === 'number') b[19] = msg.version;
      return b;
    }
    case 'KEEPALIVE':
      return encodeKeepalive();
    case 'NOTIFICATION':
      return encodeNotification(msg.code as number, msg.subcode as number);
    case 'ROUTE-REFRESH':
      return encodeRouteRefresh((msg.afi as number) ?? 1, (msg.safi as number) ?? 1);
    case 'UPDATE': {
      if (typeof msg.attrs === 'string') {
        // Raw attributes (hex) and NLRI as text: for malformed UPDATEs.
        const nlri = ((msg.announce as string[]) ?? [])
          .map((p) => {
            const { network, length } = prefix(p);
            const n = network as number;
            const bytes = [length];
            for (let i = 0; i < (length + 7) >> 3; i++) bytes.push((n >>> (24 - 8 * i)) & 255);
            return toHex(Uint8Array.from(bytes));
          })
          .join('');
        return update('', msg.attrs, nlri);
      }
      const enc = new UpdateEncoder({ as4: true });
      const path = (msg.path as number[]) ?? [65002];
      const base: Partial<PathAttributes> = {
        origin: 0,
        asPath: path.length > 0 ? [{ type: 2, asns: path }] : [],
        localPref: msg.lp as number | undefined,
        med: msg.med as number | undefined,
        originatorId: typeof msg.originator === 'string' ? parseIpv4(msg.originator) : undefined,
        clusterList: Array.isArray(msg.clusters) ? (msg.clusters as string[]).map(parseIpv4) : undefined,
      };
      for (const p of (msg.withdraw as string[]) ?? []) {
        const { network, length } = prefix(p);
        if (typeof network === 'number') enc.withdraw4(Uint32Array.of(network), Uint8Array.of(length), 0, 1);
        else enc.withdraw6(network, Uint8Array.of(length), 0, 1);
      }
      const v4 = ((msg.announce as string[]) ?? []).map(prefix);
      if (v4.length > 0) {
        const a = makeAttributes({ ...base, nextHop: parseIpv4((msg.nh as string) ?? '10.0.0.2') });
        enc.announce4(
          a,
          Uint32Array.from(v4.map((p) => p.network as number)),
          Uint8Array.from(v4.map((p) => p.length)),
          0,
          v4.length,
        );
      }
      const v6 = ((msg.announce6 as string[]) ?? []).map(prefix);
      if (v6.length > 0) {
        const bytes = new Uint8Array(16 * v6.length);
        v6.forEach((p, i) => {
          bytes.set(p.network as Uint8Array, 16 * i);
        });
        const a = makeAttributes({ ...base, mpNextHop: parseIpv6((msg.nh6 as string) ?? '2001:db8::2') });
        enc.announce6(a, bytes, Uint8Array.from(v6.map((p) => p.length)), 0, v6.length);
      }
      if (typeof msg.eor === 'number') enc.endOfRib(msg.eor, 1);
      return enc.take();
    }
  }
  throw new Error(`cannot build ${JSON.stringify(msg)}`);
}

export { attr };

function grOf(g: Record<string, unknown>) {
  const fams = (g.families as string[] | undefined) ?? ['ipv4', 'ipv6'];
  const f = (g.f as string[] | undefined) ?? fams;
  return {
    restartState: g.r === true,
    notification: false,
    time: (g.time as number | undefined) ?? 120,
    families: fams.map((x) => ({ afi: x === 'ipv4' ? 1 : 2, safi: 1, forwardingState: f.includes(x) })),
  };
}

/** Peer settings of a script: policies by name. */
function peerConfig(p: Record<string, unknown>): BgpPeerConfig {
  const policy = (v: unknown) => (v === 'all' ? ACCEPT_ALL : undefined);
  return {
    name: p.name as string,
    address: addr(p.address as string),
    remoteAs: p.remoteAs as number,
    passive: p.passive as boolean | undefined,
    holdTime: p.holdTime as number | undefined,
    connectRetry: p.connectRetry as number | undefined,
    idleHold: p.idleHold as number | undefined,
    maxPrefixes: p.maxPrefixes as number | undefined,
    families: p.families as ('ipv4' | 'ipv6')[] | undefined,
    import: policy(p.import),
    export: policy(p.export),
    nextHop6: typeof p.nextHop6 === 'string' ? parseIpv6(p.nextHop6) : undefined,
    routeReflectorClient: p.rrClient as boolean | undefined,
    nextHopSelf: p.nextHopSelf as boolean | undefined,
  };
}

export function configOf(c: Record<string, unknown>): BgpConfig {
  return {
    localAs: c.localAs as number,
    routerId: parseIpv4(c.routerId as string),
    clusterId: typeof c.clusterId === 'string' ? parseIpv4(c.clusterId) : undefined,
    ...(typeof c.gr === 'object' && c.gr !== null
      ? {
          gracefulRestart: {
            restartTime: 120,
            staleTime: 360,
            restart: false,
            forwardingState: true,
            selectionDeferralTime: 360,
            ...(c.gr as object),
          },
        }
      : {}),
    peers: (c.peers as Record<string, unknown>[]).map(peerConfig),
  };
}

/** Runs a script; returns it with each `expect` replaced by what happened, and the mismatches. */
export function runScript(steps: Step[]): { actual: Step[]; mismatches: string[]; engine: BgpEngine } {
  const log: string[] = [];
  const sockets = new FakeSockets(log);
  sockets.describe = describe;
  const sink = new LogSink(log);
  let now = 0;
  let engine: BgpEngine | undefined;
  const actual: Step[] = [];
  const mismatches: string[] = [];
  const flushSockets = () => {
    for (const s of sockets.sockets.values()) {
      if (s.tx.length === 0) continue;
      for (const m of describe(Uint8Array.from(s.tx))) log.push(`${s.name} > ${m}`);
      s.tx.length = 0;
    }
  };
  const poll = () => {
    for (let i = 0; i < 100; i++) {
      const next = engine!.poll(now);
      flushSockets();
      if (next > now) return;
    }
    throw new Error('poll does not settle');
  };
  for (const [i, step] of steps.entries()) {
    if (step.expect !== undefined) {
      flushSockets();
      const got = log.splice(0);
      actual.push({ expect: got, ...(step.state !== undefined ? { state: stateOf(engine!) } : {}) });
      const want = step.expect;
      if (JSON.stringify(got) !== JSON.stringify(want))
        mismatches.push(`step ${i}: expected\n  ${want.join('\n  ')}\ngot\n  ${got.join('\n  ')}`);
      if (step.state !== undefined && step.state !== stateOf(engine!))
        mismatches.push(`step ${i}: state ${stateOf(engine!)}, expected ${step.state}`);
      continue;
    }
    actual.push(step);
    const conn = () => sockets.byName(step.conn as string);
    switch (step.do) {
      case 'config':
        sockets.local4 = parseIpv4((step.local as string) ?? '10.0.0.1');
        if (typeof step.local6 === 'string') sockets.local6 = parseIpv6(step.local6);
        engine = new BgpEngine({
          sockets,
          sink,
          config: configOf(step.config as Record<string, unknown>),
          restarted: step.restarted === true,
          onDeferralEnd: (reason) => log.push(`deferral end ${reason}`),
          onStateChange: (peer, from, to) => log.push(`state ${peer} ${from} > ${to}`),
        });
        break;
      case 'start':
        engine!.start(now);
        break;
      case 'connected': {
        const s = conn();
        s.soError = 0;
        engine!.socketEvent(s.fd, EV_WRITABLE, now);
        break;
      }
      case 'refused': {
        const s = conn();
        s.soError = ECONNREFUSED;
        engine!.socketEvent(s.fd, EV_WRITABLE | EV_ERROR, now);
        break;
      }
      case 'incoming': {
        const s = sockets.incoming(addr(step.from as string));
        log.push(`incoming ${step.from} -> ${s.name}`);
        engine!.socketEvent(sockets.listener(s.family).fd, EV_READABLE, now);
        break;
      }
      case 'recv': {
        const s = conn();
        const msgs = Array.isArray(step.msg) ? step.msg : [step.msg];
        for (const m of msgs) s.rx.push(build(m as Record<string, unknown>));
        engine!.socketEvent(s.fd, EV_READABLE, now);
        break;
      }
      case 'eof': {
        const s = conn();
        s.eof = true;
        engine!.socketEvent(s.fd, EV_READABLE, now);
        break;
      }
      case 'time':
        now += step.ms as number;
        poll();
        break;
      case 'announce': {
        const { network, length } = prefix(step.prefix as string);
        if (typeof network === 'number') engine!.announce4(network, length, {});
        else engine!.announce6(network, length, {});
        poll();
        break;
      }
      case 'withdraw': {
        const { network, length } = prefix(step.prefix as string);
        if (typeof network === 'number') engine!.withdraw4(network, length);
        else engine!.withdraw6(network, length);
        poll();
        break;
      }
      case 'reconfigure':
        log.push(
          `reconfigure -> ${engine!.reconfigure(configOf(step.config as Record<string, unknown>), now)}`,
        );
        poll();
        break;
      case 'stop':
        engine!.stop(now, step.reason as string | undefined);
        break;
      case 'routes': {
        // The Loc-RIB candidates of one prefix (or all), best first.
        const filter = typeof step.prefix === 'string' ? { prefix: step.prefix } : {};
        for (const r of engine!.routes(filter, Infinity, now))
          log.push(
            `route ${r.prefix} ${r.best ? '*' : ' '} from=${r.from} nh=${r.nextHop ?? '-'} path=${r.asPath || '-'} lp=${r.localPref}${r.med !== null ? ` med=${r.med}` : ''}${r.stale ? ' stale' : ''}`,
          );
        break;
      }
      case 'show': {
        const show = engine!.show(now);
        for (const p of show.peers) {
          const fields = (step.fields as string[]) ?? ['state', 'prefixes'];
          for (const f of fields) log.push(`show ${p.name} ${f} ${JSON.stringify(pick(p as never, f))}`);
        }
        break;
      }
      default:
        throw new Error(`unknown step ${JSON.stringify(step)}`);
    }
  }
  return { actual, mismatches, engine: engine! };
}

function pick(o: Record<string, unknown>, path: string): unknown {
  let v: unknown = o;
  for (const k of path.split('.')) v = (v as Record<string, unknown>)[k];
  return v;
}

function stateOf(engine: BgpEngine): string {
  return engine
    .show(0)
    .peers.map((p) => p.state)
    .join(',');
}
