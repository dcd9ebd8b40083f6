// Control messages of the remote socket protocol (docs/remote-socket-protocol.md §3–§5, §8, §13).
// The encoding is canonical: every message decode accepts re-encodes to the same bytes.
//
// Two APIs share one implementation. `decodeControl`/`encodeControl` speak any version and carry
// endpoints as `Endpoint` (ControlMessage); `decode`/`encode` are version 1 with the endpoint as
// `addr`/`port` (Message), kept as they were for their existing callers.
import {
  AF_INET,
  EOPNOTSUPP,
  EPROTO,
  HEADER_LENGTH,
  MAX_MESSAGE,
  RSOCK_MAGIC,
  RSOCK_MAX_VERSION,
  RSOCK_MIN_VERSION,
  RSOCK_VERSION,
  T_ACCEPT,
  T_ACCEPT_OK,
  T_ADDR_OK,
  T_ATTACH,
  T_ATTACH_OK,
  T_BIND,
  T_CLOSE,
  T_CONNECT,
  T_ERROR,
  T_GETPEERNAME,
  T_GETSOCKNAME,
  T_GETSOCKOPT,
  T_HELLO,
  T_HELLO_OK,
  T_LISTEN,
  T_OK,
  T_OPT_OK,
  T_SETSOCKOPT,
  T_SHUTDOWN,
  T_SOCKET,
  T_SOCKET_CONNECT,
  T_SOCKET_OK,
} from './constants.ts';
import {
  checkEndpoint,
  decodeEndpoint,
  ENDPOINT_FAMILY,
  type Endpoint,
  encodeEndpoint,
  endpoint4,
  newEndpoint,
} from './endpoint.ts';
import { isWellFormedUtf8 } from './utf8.ts';

// Addresses are u32 values of a.b.c.d read big-endian (10.2.0.1 is 0x0a020001), as in @nexthop/addr.
export interface Hello {
  kind: 'hello';
  id: number;
  minVersion: number;
  maxVersion: number;
  flags: number;
  clientName: string;
}
export interface HelloOk {
  kind: 'hello-ok';
  id: number;
  version: number;
  maxSockets: number;
  flags: number;
  vrName: string;
}
export interface Ok {
  kind: 'ok';
  id: number;
}
export interface ErrorReply {
  kind: 'error';
  id: number;
  /** Positive Linux errno. */
  errno: number;
  message: string;
}
export interface SocketRequest {
  kind: 'socket';
  id: number;
  family: number;
  type: number;
  protocol: number;
}
export interface SocketOk {
  kind: 'socket-ok';
  id: number;
  socket: number;
}
export interface Bind {
  kind: 'bind';
  id: number;
  socket: number;
  addr: number;
  port: number;
}
export interface Connect {
  kind: 'connect';
  id: number;
  socket: number;
  addr: number;
  port: number;
  flags: number;
}
export interface Listen {
  kind: 'listen';
  id: number;
  socket: number;
  backlog: number;
}
export interface Accept {
  kind: 'accept';
  id: number;
  socket: number;
  flags: number;
}
export interface AcceptOk {
  kind: 'accept-ok';
  id: number;
  socket: number;
  addr: number;
  port: number;
}
export interface Shutdown {
  kind: 'shutdown';
  id: number;
  socket: number;
  how: number;
}
export interface SocketOnly {
  kind: 'close' | 'getsockname' | 'getpeername';
  id: number;
  socket: number;
}
export interface AddrOk {
  kind: 'addr-ok';
  id: number;
  addr: number;
  port: number;
}
export interface SetSockOpt {
  kind: 'setsockopt';
  id: number;
  socket: number;
  level: number;
  name: number;
  value: Uint8Array;
}
export interface GetSockOpt {
  kind: 'getsockopt';
  id: number;
  socket: number;
  level: number;
  name: number;
  maxLength: number;
}
export interface OptOk {
  kind: 'opt-ok';
  id: number;
  value: Uint8Array;
}
export interface Attach {
  kind: 'attach';
  id: number;
}
export interface AttachOk {
  kind: 'attach-ok';
  id: number;
  socket: number;
  family: number;
  type: number;
  protocol: number;
  state: number;
}

export type Message =
  | Hello
  | HelloOk
  | Ok
  | ErrorReply
  | SocketRequest
  | SocketOk
  | Bind
  | Connect
  | Listen
  | Accept
  | AcceptOk
  | Shutdown
  | SocketOnly
  | AddrOk
  | SetSockOpt
  | GetSockOpt
  | OptOk
  | Attach
  | AttachOk;

export type MessageKind = Message['kind'];

// The version-neutral shapes of the four messages that carry an endpoint (§13.3). In version 1
// the endpoint is always AF_INET; in version 2 it may be any family of §13.2.
export interface BindEp {
  kind: 'bind';
  id: number;
  socket: number;
  ep: Endpoint;
}
export interface ConnectEp {
  kind: 'connect';
  id: number;
  socket: number;
  ep: Endpoint;
  /** CONNECT_UNSPEC, CONNECT_FILLER: a u16 in version 1, a u32 in version 2. */
  flags: number;
}
export interface AcceptOkEp {
  kind: 'accept-ok';
  id: number;
  socket: number;
  ep: Endpoint;
}
export interface AddrOkEp {
  kind: 'addr-ok';
  id: number;
  ep: Endpoint;
}
/** Version 2 only (§13.11): a new socket of family/type/protocol, connected to ep. */
export interface SocketConnect {
  kind: 'socket-connect';
  id: number;
  family: number;
  type: number;
  protocol: number;
  ep: Endpoint;
  /** SOCKET_CONNECT_FILLER; other bits reserved (EINVAL from the server). */
  flags: number;
}

/** A control message of any version: `Message` with the endpoint messages as `Endpoint`s. */
export type ControlMessage =
  | Exclude<Message, Bind | Connect | AcceptOk | AddrOk>
  | BindEp
  | ConnectEp
  | AcceptOkEp
  | AddrOkEp
  | SocketConnect;

export type ControlKind = ControlMessage['kind'];

export const TYPE_OF_KIND: Readonly<Record<MessageKind, number>> = {
  hello: T_HELLO,
  socket: T_SOCKET,
  bind: T_BIND,
  connect: T_CONNECT,
  listen: T_LISTEN,
  accept: T_ACCEPT,
  shutdown: T_SHUTDOWN,
  close: T_CLOSE,
  getsockname: T_GETSOCKNAME,
  getpeername: T_GETPEERNAME,
  setsockopt: T_SETSOCKOPT,
  getsockopt: T_GETSOCKOPT,
  attach: T_ATTACH,
  ok: T_OK,
  error: T_ERROR,
  'hello-ok': T_HELLO_OK,
  'socket-ok': T_SOCKET_OK,
  'accept-ok': T_ACCEPT_OK,
  'addr-ok': T_ADDR_OK,
  'opt-ok': T_OPT_OK,
  'attach-ok': T_ATTACH_OK,
};

/** Every kind's type, version 2's SOCKET_CONNECT included. */
export const TYPE_OF_CONTROL_KIND: Readonly<Record<ControlKind, number>> = {
  ...TYPE_OF_KIND,
  'socket-connect': T_SOCKET_CONNECT,
};

/**
 * Why a message did not decode (§8). `short`, `magic`, `length` and `version` are framing faults: the
 * peer is not speaking this protocol (version), and the connection is closed after the reply.
 */
export type DecodeFault =
  | 'short'
  | 'magic'
  | 'length'
  | 'version'
  | 'unknown-type'
  | 'body'
  | 'utf8'
  | 'family'
  | 'reserved'
  | 'errno';

/** Why a message did not decode, and what §8 says to do about it. */
export interface DecodeFailure {
  ok: false;
  reason: DecodeFault;
  /** The request id to put in the ERROR reply; 0 when the message is too short to carry one. */
  id: number;
  /** EPROTO, or EOPNOTSUPP for an unknown type. */
  errno: number;
  /** The connection is closed after the ERROR reply. */
  fatal: boolean;
}

export type ControlDecodeResult = { ok: true; message: ControlMessage } | DecodeFailure;

export type DecodeResult =
  | { ok: true; message: Message }
  | {
      ok: false;
      reason: DecodeFault;
      /** The request id to put in the ERROR reply; 0 when the message is too short to carry one. */
      id: number;
      /** EPROTO, or EOPNOTSUPP for an unknown type. */
      errno: number;
      /** The connection is closed after the ERROR reply. */
      fatal: boolean;
    };

function fault(reason: DecodeFault, id: number): DecodeFailure {
  const fatal = reason === 'short' || reason === 'magic' || reason === 'length' || reason === 'version';
  return { ok: false, reason, id, errno: reason === 'unknown-type' ? EOPNOTSUPP : EPROTO, fatal };
}

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function addrAt(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * The version a server picks from a client's HELLO range (§4, §13.1): the highest both speak, or 0
 * when the ranges do not overlap (or the client's is empty): ERROR EPROTONOSUPPORT.
 */
export function negotiateVersion(
  clientMin: number,
  clientMax: number,
  serverMin = RSOCK_MIN_VERSION,
  serverMax = RSOCK_MAX_VERSION,
): number {
  if (clientMin > clientMax || serverMin > serverMax) return 0;
  const v = Math.min(clientMax, serverMax);
  return v >= Math.max(clientMin, serverMin) ? v : 0;
}

function checkVersion(version: number, fn: string): void {
  if (version !== 1 && version !== 2) throw new RangeError(`${fn}: version ${version} is not 1 or 2`);
}

const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Fixed body length of each type; strings and blobs add their declared lengths. */
const FIXED_BODY: Readonly<Record<number, number>> = {
  [T_HELLO]: 10,
  [T_SOCKET]: 8,
  [T_BIND]: 10,
  [T_CONNECT]: 12,
  [T_LISTEN]: 8,
  [T_ACCEPT]: 8,
  [T_SHUTDOWN]: 8,
  [T_CLOSE]: 4,
  [T_GETSOCKNAME]: 4,
  [T_GETPEERNAME]: 4,
  [T_SETSOCKOPT]: 14,
  [T_GETSOCKOPT]: 16,
  [T_ATTACH]: 0,
  [T_OK]: 0,
  [T_ERROR]: 6,
  [T_HELLO_OK]: 14,
  [T_SOCKET_OK]: 4,
  [T_ACCEPT_OK]: 10,
  [T_ADDR_OK]: 6,
  [T_OPT_OK]: 2,
  [T_ATTACH_OK]: 16,
};

/** Version 2 changes only the bodies that carry an endpoint (§13.3). */
const FIXED_BODY_V2: Readonly<Record<number, number>> = {
  ...FIXED_BODY,
  [T_BIND]: 32,
  [T_CONNECT]: 36,
  [T_ACCEPT_OK]: 32,
  [T_ADDR_OK]: 28,
  [T_SOCKET_CONNECT]: 40,
};

/** Offset in the body of the u16 length of a type's trailing string or blob, or -1. */
function variableAt(type: number): number {
  switch (type) {
    case T_HELLO:
      return 8;
    case T_HELLO_OK:
      return 12;
    case T_ERROR:
      return 4;
    case T_SETSOCKOPT:
      return 12;
    case T_OPT_OK:
      return 0;
    default:
      return -1;
  }
}

/**
 * Decodes one control message of protocol `version` (1 or 2: the connection's, §4) occupying
 * exactly `buf[off, off + len)`. A header with another version is the fatal `version` fault. Never
 * throws on any bytes and never reads outside that range.
 */
export function decodeControl(
  buf: Uint8Array,
  off: number,
  len: number,
  version: number,
): ControlDecodeResult {
  checkVersion(version, 'decodeControl');
  if (off < 0 || len < 0 || off + len > buf.length)
    throw new RangeError('decodeControl: range outside the buffer');
  if (len < HEADER_LENGTH) return fault('short', len >= 12 ? u32(buf, off + 8) : 0);
  const id = u32(buf, off + 8);
  if (u32(buf, off) !== RSOCK_MAGIC) return fault('magic', id);
  if (len > MAX_MESSAGE || u32(buf, off + 12) !== len - HEADER_LENGTH) return fault('length', id);
  if (u16(buf, off + 4) !== version) return fault('version', id);
  const type = u16(buf, off + 6);
  const fixed = (version === 1 ? FIXED_BODY : FIXED_BODY_V2)[type];
  if (fixed === undefined) return fault('unknown-type', id);
  const b = off + HEADER_LENGTH;
  const bodyLen = len - HEADER_LENGTH;
  const varAt = variableAt(type);
  let varLen = 0;
  if (varAt >= 0) {
    if (bodyLen < fixed) return fault('body', id);
    varLen = u16(buf, b + varAt);
  }
  if (bodyLen !== fixed + varLen) return fault('body', id);
  const varStart = b + varAt + 2;
  let text = '';
  if (type === T_HELLO || type === T_HELLO_OK || type === T_ERROR) {
    if (!isWellFormedUtf8(buf, varStart, varLen)) return fault('utf8', id);
    text = utf8Decoder.decode(buf.subarray(varStart, varStart + varLen));
  }
  // The endpoint of BIND, CONNECT, ACCEPT_OK (after the socket id) and ADDR_OK (first).
  let ep: Endpoint | undefined;
  let after = 0; // offset in the body of what follows the endpoint
  if (
    type === T_BIND ||
    type === T_CONNECT ||
    type === T_ACCEPT_OK ||
    type === T_ADDR_OK ||
    type === T_SOCKET_CONNECT
  ) {
    const at = type === T_ADDR_OK ? b : type === T_SOCKET_CONNECT ? b + 8 : b + 4;
    if (version === 1) {
      ep = endpoint4(addrAt(buf, at), u16(buf, at + 4));
      after = at + 6;
    } else {
      ep = newEndpoint();
      const r = decodeEndpoint(buf, at, ep);
      if (r !== 0) return fault(r === ENDPOINT_FAMILY ? 'family' : 'reserved', id);
      after = at + 28;
    }
  }
  switch (type) {
    case T_HELLO:
      return done({
        kind: 'hello',
        id,
        minVersion: u16(buf, b),
        maxVersion: u16(buf, b + 2),
        flags: u32(buf, b + 4),
        clientName: text,
      });
    case T_HELLO_OK:
      if (u16(buf, b + 2) !== 0) return fault('reserved', id);
      return done({
        kind: 'hello-ok',
        id,
        version: u16(buf, b),
        maxSockets: u32(buf, b + 4),
        flags: u32(buf, b + 8),
        vrName: text,
      });
    case T_OK:
      return done({ kind: 'ok', id });
    case T_ERROR: {
      const errno = u32(buf, b) | 0;
      if (errno <= 0) return fault('errno', id);
      return done({ kind: 'error', id, errno, message: text });
    }
    case T_SOCKET:
      return done({
        kind: 'socket',
        id,
        family: u16(buf, b),
        type: u16(buf, b + 2),
        protocol: u32(buf, b + 4),
      });
    case T_SOCKET_OK:
      return done({ kind: 'socket-ok', id, socket: u32(buf, b) });
    case T_BIND:
      return done({ kind: 'bind', id, socket: u32(buf, b), ep: ep! });
    case T_CONNECT:
      return done({
        kind: 'connect',
        id,
        socket: u32(buf, b),
        ep: ep!,
        flags: version === 1 ? u16(buf, after) : u32(buf, after),
      });
    case T_SOCKET_CONNECT:
      return done({
        kind: 'socket-connect',
        id,
        family: u16(buf, b),
        type: u16(buf, b + 2),
        protocol: u32(buf, b + 4),
        ep: ep!,
        flags: u32(buf, after),
      });
    case T_LISTEN:
      return done({ kind: 'listen', id, socket: u32(buf, b), backlog: u32(buf, b + 4) });
    case T_ACCEPT:
      return done({ kind: 'accept', id, socket: u32(buf, b), flags: u32(buf, b + 4) });
    case T_ACCEPT_OK:
      return done({ kind: 'accept-ok', id, socket: u32(buf, b), ep: ep! });
    case T_SHUTDOWN:
      return done({ kind: 'shutdown', id, socket: u32(buf, b), how: u32(buf, b + 4) });
    case T_CLOSE:
      return done({ kind: 'close', id, socket: u32(buf, b) });
    case T_GETSOCKNAME:
      return done({ kind: 'getsockname', id, socket: u32(buf, b) });
    case T_GETPEERNAME:
      return done({ kind: 'getpeername', id, socket: u32(buf, b) });
    case T_ADDR_OK:
      return done({ kind: 'addr-ok', id, ep: ep! });
    case T_SETSOCKOPT:
      return done({
        kind: 'setsockopt',
        id,
        socket: u32(buf, b),
        level: u32(buf, b + 4),
        name: u32(buf, b + 8),
        value: buf.slice(varStart, varStart + varLen),
      });
    case T_GETSOCKOPT:
      return done({
        kind: 'getsockopt',
        id,
        socket: u32(buf, b),
        level: u32(buf, b + 4),
        name: u32(buf, b + 8),
        maxLength: u32(buf, b + 12),
      });
    case T_OPT_OK:
      return done({ kind: 'opt-ok', id, value: buf.slice(varStart, varStart + varLen) });
    case T_ATTACH:
      return done({ kind: 'attach', id });
    case T_ATTACH_OK:
      return done({
        kind: 'attach-ok',
        id,
        socket: u32(buf, b),
        family: u16(buf, b + 4),
        type: u16(buf, b + 6),
        protocol: u32(buf, b + 8),
        state: u32(buf, b + 12),
      });
    default:
      return fault('unknown-type', id);
  }
}

function done(message: ControlMessage): ControlDecodeResult {
  return { ok: true, message };
}

/** A version-1 ControlMessage in the `Message` shape (its endpoint is AF_INET). */
export function toMessage(m: ControlMessage): Message {
  switch (m.kind) {
    case 'socket-connect':
      throw new RangeError('toMessage: SOCKET_CONNECT has no version-1 form');
    case 'bind':
    case 'accept-ok':
      return { kind: m.kind, id: m.id, socket: m.socket, addr: m.ep.addr, port: m.ep.port };
    case 'connect':
      return {
        kind: 'connect',
        id: m.id,
        socket: m.socket,
        addr: m.ep.addr,
        port: m.ep.port,
        flags: m.flags,
      };
    case 'addr-ok':
      return { kind: 'addr-ok', id: m.id, addr: m.ep.addr, port: m.ep.port };
    default:
      return m;
  }
}

/** A `Message` as a ControlMessage: its addr/port become an AF_INET endpoint. */
export function fromMessage(m: Message): ControlMessage {
  switch (m.kind) {
    case 'bind':
    case 'accept-ok':
      return { kind: m.kind, id: m.id, socket: m.socket, ep: endpoint4(m.addr, m.port) };
    case 'connect':
      return { kind: 'connect', id: m.id, socket: m.socket, ep: endpoint4(m.addr, m.port), flags: m.flags };
    case 'addr-ok':
      return { kind: 'addr-ok', id: m.id, ep: endpoint4(m.addr, m.port) };
    default:
      return m;
  }
}

/**
 * Decodes one version-1 control message occupying exactly `buf[off, off + len)`, endpoints as
 * `addr`/`port`. Never throws on any bytes and never reads outside that range.
 */
export function decode(buf: Uint8Array, off = 0, len = buf.length - off): DecodeResult {
  if (off < 0 || len < 0 || off + len > buf.length) throw new RangeError('decode: range outside the buffer');
  const r = decodeControl(buf, off, len, RSOCK_VERSION);
  return r.ok ? { ok: true, message: toMessage(r.message) } : r;
}

// Encoding. Values out of their field's range, strings that are not well-formed, and a buffer too
// small are programmer errors: RangeError.

class Writer {
  buf: Uint8Array;
  pos: number;
  constructor(buf: Uint8Array, pos: number) {
    this.buf = buf;
    this.pos = pos;
  }
  room(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('encode: output buffer too small');
  }
  u16(v: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff)
      throw new RangeError(`encode: ${field} ${v} is not a u16`);
    this.room(2);
    this.buf[this.pos++] = v & 0xff;
    this.buf[this.pos++] = v >>> 8;
  }
  u32(v: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new RangeError(`encode: ${field} ${v} is not a u32`);
    this.room(4);
    this.buf[this.pos++] = v & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = v >>> 24;
  }
  addr(v: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw new RangeError(`encode: ${field} ${v} is not an IPv4 address`);
    this.room(4);
    this.buf[this.pos++] = v >>> 24;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
  }
  /** Version 1: AF_INET only, as addr then u16 port; version 2: the 28 bytes of §13.2. */
  ep(ep: Endpoint, version: number, field: string): void {
    if (version === 1) {
      if (ep.family !== AF_INET) throw new RangeError(`encode: ${field} of family ${ep.family} in version 1`);
      checkEndpoint(ep);
      this.addr(ep.addr, field);
      this.u16(ep.port, field);
      return;
    }
    this.room(28);
    encodeEndpoint(ep, this.buf, this.pos);
    this.pos += 28;
  }
  blob(v: Uint8Array, field: string): void {
    if (v.length > 0xffff) throw new RangeError(`encode: ${field} is longer than 65535 bytes`);
    this.u16(v.length, field);
    this.room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }
  str(v: string, field: string): void {
    if (!v.isWellFormed()) throw new RangeError(`encode: ${field} has a lone surrogate`);
    const lenAt = this.pos;
    this.room(2);
    this.pos += 2;
    const r = utf8Encoder.encodeInto(v, this.buf.subarray(this.pos));
    if (r.read !== v.length) throw new RangeError('encode: output buffer too small');
    if (r.written > 0xffff) throw new RangeError(`encode: ${field} is longer than 65535 bytes`);
    this.pos += r.written;
    this.buf[lenAt] = r.written & 0xff;
    this.buf[lenAt + 1] = r.written >>> 8;
  }
}

const utf8Encoder = new TextEncoder();

/** Writes the version-1 message `m` at `out[off]` and returns its length in bytes. */
export function encode(m: Message, out: Uint8Array, off = 0): number {
  return encodeControl(fromMessage(m), RSOCK_VERSION, out, off);
}

/**
 * Writes `m` as a message of protocol `version` (1 or 2) at `out[off]` and returns its length in
 * bytes. An endpoint version 1 cannot carry (not AF_INET) is a RangeError, as is CONNECT flags
 * above 0xffff in version 1.
 */
export function encodeControl(m: ControlMessage, version: number, out: Uint8Array, off = 0): number {
  checkVersion(version, 'encodeControl');
  const w = new Writer(out, off);
  w.u32(RSOCK_MAGIC, 'magic');
  w.u16(version, 'version');
  if (m.kind === 'socket-connect' && version === 1)
    throw new RangeError('encode: SOCKET_CONNECT is version 2 only');
  w.u16(TYPE_OF_CONTROL_KIND[m.kind], 'type');
  w.u32(m.id, 'id');
  w.u32(0, 'body length');
  switch (m.kind) {
    case 'hello':
      w.u16(m.minVersion, 'minVersion');
      w.u16(m.maxVersion, 'maxVersion');
      w.u32(m.flags, 'flags');
      w.str(m.clientName, 'clientName');
      break;
    case 'hello-ok':
      w.u16(m.version, 'version');
      w.u16(0, 'reserved');
      w.u32(m.maxSockets, 'maxSockets');
      w.u32(m.flags, 'flags');
      w.str(m.vrName, 'vrName');
      break;
    case 'ok':
    case 'attach':
      break;
    case 'error':
      if (!Number.isInteger(m.errno) || m.errno < 1 || m.errno > 0x7fffffff)
        throw new RangeError(`encode: errno ${m.errno} is not positive`);
      w.u32(m.errno, 'errno');
      w.str(m.message, 'message');
      break;
    case 'socket':
      w.u16(m.family, 'family');
      w.u16(m.type, 'type');
      w.u32(m.protocol, 'protocol');
      break;
    case 'socket-ok':
    case 'close':
    case 'getsockname':
    case 'getpeername':
      w.u32(m.socket, 'socket');
      break;
    case 'bind':
    case 'accept-ok':
      w.u32(m.socket, 'socket');
      w.ep(m.ep, version, 'ep');
      break;
    case 'connect':
      w.u32(m.socket, 'socket');
      w.ep(m.ep, version, 'ep');
      if (version === 1) w.u16(m.flags, 'flags');
      else w.u32(m.flags, 'flags');
      break;
    case 'socket-connect':
      w.u16(m.family, 'family');
      w.u16(m.type, 'type');
      w.u32(m.protocol, 'protocol');
      w.ep(m.ep, version, 'ep');
      w.u32(m.flags, 'flags');
      break;
    case 'listen':
      w.u32(m.socket, 'socket');
      w.u32(m.backlog, 'backlog');
      break;
    case 'accept':
      w.u32(m.socket, 'socket');
      w.u32(m.flags, 'flags');
      break;
    case 'shutdown':
      w.u32(m.socket, 'socket');
      w.u32(m.how, 'how');
      break;
    case 'addr-ok':
      w.ep(m.ep, version, 'ep');
      break;
    case 'setsockopt':
      w.u32(m.socket, 'socket');
      w.u32(m.level, 'level');
      w.u32(m.name, 'name');
      w.blob(m.value, 'value');
      break;
    case 'getsockopt':
      w.u32(m.socket, 'socket');
      w.u32(m.level, 'level');
      w.u32(m.name, 'name');
      w.u32(m.maxLength, 'maxLength');
      break;
    case 'opt-ok':
      w.blob(m.value, 'value');
      break;
    case 'attach-ok':
      w.u32(m.socket, 'socket');
      w.u16(m.family, 'family');
      w.u16(m.type, 'type');
      w.u32(m.protocol, 'protocol');
      w.u32(m.state, 'state');
      break;
  }
  const total = w.pos - off;
  if (total > MAX_MESSAGE)
    throw new RangeError(`encode: ${total} bytes is over the ${MAX_MESSAGE}-byte limit`);
  const body = total - HEADER_LENGTH;
  out[off + 12] = body & 0xff;
  out[off + 13] = (body >>> 8) & 0xff;
  out[off + 14] = (body >>> 16) & 0xff;
  out[off + 15] = body >>> 24;
  return total;
}
