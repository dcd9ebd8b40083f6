// The description line of a decoded message (§11, §13.9): what the golden vectors' `#=` lines hold,
// and a compact form for logs. The C codec prints the same text.
import { type ControlMessage, fromMessage, type Message } from './codec.ts';
import type { DgramHeader, DgramHeader2 } from './dgram.ts';
import { describeEndpoint } from './endpoint.ts';

function ip(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

function hexOf(b: Uint8Array, off = 0, len = b.length - off): string {
  if (len === 0) return '-';
  let s = '';
  for (let i = off; i < off + len; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

/** The description of a version-1 message. */
export function describeMessage(m: Message): string {
  return describeControl(fromMessage(m), 1);
}

/** The description of a message of protocol `version` (the `v=` it prints). */
export function describeControl(m: ControlMessage, version: number): string {
  const head = `${m.kind} v=${version} id=${m.id}`;
  switch (m.kind) {
    case 'hello':
      return `${head} min=${m.minVersion} max=${m.maxVersion} flags=${m.flags} name="${m.clientName}"`;
    case 'hello-ok':
      return `${head} version=${m.version} max-sockets=${m.maxSockets} flags=${m.flags} vr="${m.vrName}"`;
    case 'ok':
    case 'attach':
      return head;
    case 'error':
      return `${head} errno=${m.errno} message="${m.message}"`;
    case 'socket':
      return `${head} family=${m.family} type=${m.type} protocol=${m.protocol}`;
    case 'socket-ok':
    case 'close':
    case 'getsockname':
    case 'getpeername':
      return `${head} socket=${m.socket}`;
    case 'bind':
      return `${head} socket=${m.socket} local=${describeEndpoint(m.ep)}`;
    case 'connect':
      return `${head} socket=${m.socket} remote=${describeEndpoint(m.ep)} flags=${m.flags}`;
    case 'socket-connect':
      return `${head} family=${m.family} type=${m.type} protocol=${m.protocol} remote=${describeEndpoint(m.ep)} flags=${m.flags}`;
    case 'listen':
      return `${head} socket=${m.socket} backlog=${m.backlog}`;
    case 'accept':
      return `${head} socket=${m.socket} flags=${m.flags}`;
    case 'accept-ok':
      return `${head} socket=${m.socket} peer=${describeEndpoint(m.ep)}`;
    case 'shutdown':
      return `${head} socket=${m.socket} how=${m.how}`;
    case 'addr-ok':
      return `${head} ep=${describeEndpoint(m.ep)}`;
    case 'setsockopt':
      return `${head} socket=${m.socket} level=${m.level} name=${m.name} value=${hexOf(m.value)}`;
    case 'getsockopt':
      return `${head} socket=${m.socket} level=${m.level} name=${m.name} max-len=${m.maxLength}`;
    case 'opt-ok':
      return `${head} value=${hexOf(m.value)}`;
    case 'attach-ok':
      return `${head} socket=${m.socket} family=${m.family} type=${m.type} protocol=${m.protocol} state=${m.state}`;
  }
}

export function describeDgram(h: DgramHeader, payload: Uint8Array, off: number, len: number): string {
  return (
    `dgram flags=${h.flags} peer=${ip(h.peerAddr)}:${h.peerPort} ifindex=${h.ifindex} ` +
    `local=${ip(h.localAddr)} payload=${hexOf(payload, off, len)}`
  );
}

export function describeDgram2(h: DgramHeader2, payload: Uint8Array, off: number, len: number): string {
  return (
    `dgram2 flags=${h.flags} peer=${describeEndpoint(h.peer)} ifindex=${h.ifindex} ` +
    `local=${describeEndpoint(h.local)} payload=${hexOf(payload, off, len)}`
  );
}
