// A BGP speaker with no logic, run inside a test's namespace (kernel TCP): it connects where it is
// told and relays bytes both ways as JSON lines on stdin/stdout, one BGP message per line out.
//   in:  {"op":"connect","host":"10.0.0.1","port":179} | {"op":"send","hex":"ff…"} | {"op":"close"}
//   out: {"ev":"connected"} | {"ev":"msg","type":2,"hex":"ff…"} | {"ev":"closed"} | {"ev":"error","message":"…"}
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

let sock: Socket | null = null;
let pending = Buffer.alloc(0);
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);

function onData(chunk: Buffer): void {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 19) {
    const len = pending.readUInt16BE(16);
    if (len < 19 || pending.length < len) break;
    say({ ev: 'msg', type: pending[18], hex: pending.subarray(0, len).toString('hex') });
    pending = pending.subarray(len);
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { op: string; host?: string; port?: number; hex?: string };
  if (cmd.op === 'connect') {
    pending = Buffer.alloc(0);
    const s = connect({ host: cmd.host!, port: cmd.port ?? 179 });
    sock = s;
    s.on('connect', () => say({ ev: 'connected' }));
    s.on('data', onData);
    s.on('error', (err) => say({ ev: 'error', message: err.message }));
    s.on('close', () => {
      if (sock === s) sock = null;
      say({ ev: 'closed' });
    });
  } else if (cmd.op === 'send') {
    sock?.write(Buffer.from(cmd.hex!, 'hex'));
  } else if (cmd.op === 'close') {
    sock?.destroy();
  }
}
