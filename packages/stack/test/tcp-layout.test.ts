// The engine builds its segments after the headers its env says it writes (TcpEnv.linkHeaderLength,
// netHeaderLength), not after a fixed Ethernet + IPv4: with a 40-byte network header (IPv6's size)
// the TCP header sits 40 bytes after ipOff and the MSS leaves room for it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TCP_IPV4, TcpEngine, type TcpEnv } from '../src/tcp/index.ts';
import { A, B, readSeg } from './tcp-harness.ts';

function engineWith(linkHeaderLength: number, netHeaderLength: number) {
  const sent: Array<{ ipOff: number; bytes: Uint8Array }> = [];
  let r = 1;
  const env: TcpEnv = {
    family: TCP_IPV4,
    linkHeaderLength,
    netHeaderLength,
    sendSegment: (buf, ipOff, tcpLen) => {
      sent.push({ ipOff, bytes: buf.slice(ipOff + netHeaderLength, ipOff + netHeaderLength + tcpLen) });
      return 0;
    },
    mtuFor: () => 1500,
    sourceFor: () => A,
    random32: () => (r = (Math.imul(r, 1103515245) + 12345) >>> 0),
    wake: () => {},
    notify: () => {},
  };
  return { engine: new TcpEngine(env), sent };
}

for (const [link, net] of [
  [14, 20],
  [14, 40],
  [0, 40],
]) {
  test(`a SYN behind ${link} + ${net} bytes of headers: TCP at ipOff + ${net}, MSS = MTU - ${net} - 20`, () => {
    const { engine, sent } = engineWith(link!, net!);
    engine.connect(A, 40000, B, 80, 0);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.ipOff, link);
    const syn = readSeg(sent[0]!.bytes, A, B, 0);
    assert.equal(syn.flags, 'S');
    assert.equal(syn.srcPort, 40000);
    assert.equal(syn.dstPort, 80);
    assert.equal(syn.mss, 1500 - net! - 20);
  });
}
