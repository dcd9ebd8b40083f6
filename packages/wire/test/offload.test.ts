import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  completePartialChecksum,
  decodeTcp,
  decodeUdp,
  ETHERTYPE_IPV4,
  foldSum,
  IPPROTO_TCP,
  IPPROTO_UDP,
  pseudoHeaderSum,
  TcpHeader,
  UdpHeader,
  wr16,
  writeEthernet,
  writeIpv4Header,
  writeTcp,
  writeUdp,
} from '@nexthop/wire';

const MAC = new Uint8Array(6);
const SRC = 0x0a010002;
const DST = 0x0a020002;

/** Leaves in the checksum field what Linux leaves for CHECKSUM_PARTIAL: the folded pseudo-header sum. */
function makePartial(buf: Uint8Array, field: number, protocol: number, l4Len: number): void {
  wr16(buf, field, foldSum(pseudoHeaderSum(SRC, DST, protocol, l4Len)));
}

test('a UDP datagram with a partial checksum is completed to the real one', () => {
  const f = new Uint8Array(14 + 20 + 8 + 32);
  writeEthernet(f, 0, MAC, 0, MAC, 0, ETHERTYPE_IPV4);
  for (let i = 0; i < 32; i++) f[42 + i] = (i * 7) & 255;
  writeUdp(f, 34, 40000, 33434, 32, SRC, DST);
  writeIpv4Header(f, 14, 0, 60, 1, 0, 64, IPPROTO_UDP, SRC, DST);
  const good = f.slice();
  makePartial(f, 34 + 6, IPPROTO_UDP, 40);
  assert.notDeepEqual(f, good);
  assert.equal(completePartialChecksum(f, 0, f.length), true);
  assert.deepEqual(f, good);
  assert.equal(decodeUdp(f, 34, 40, SRC, DST, new UdpHeader()), 0);
});

test('a TCP segment with a partial checksum is completed to the real one', () => {
  const f = new Uint8Array(14 + 20 + 20 + 100);
  writeEthernet(f, 0, MAC, 0, MAC, 0, ETHERTYPE_IPV4);
  for (let i = 0; i < 100; i++) f[54 + i] = (i * 13) & 255;
  writeTcp(f, 34, 5000, 80, 123456, 654321, 0x18, 512, 20, 100, SRC, DST);
  writeIpv4Header(f, 14, 0, 140, 1, 0x4000, 64, IPPROTO_TCP, SRC, DST);
  const good = f.slice();
  makePartial(f, 34 + 16, IPPROTO_TCP, 120);
  assert.equal(completePartialChecksum(f, 0, f.length), true);
  assert.deepEqual(f, good);
  assert.equal(decodeTcp(f, 34, 120, SRC, DST, new TcpHeader()), 0);
});

test('frames that are not unfragmented IPv4 TCP/UDP are left alone', () => {
  const f = new Uint8Array(60);
  assert.equal(completePartialChecksum(f, 0, 10), false);
  writeEthernet(f, 0, MAC, 0, MAC, 0, ETHERTYPE_IPV4);
  writeIpv4Header(f, 14, 0, 46, 1, 0x2000, 64, IPPROTO_UDP, SRC, DST);
  const before = f.slice();
  assert.equal(completePartialChecksum(f, 0, 60), false);
  assert.deepEqual(f, before);
});
