import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Drop,
  decodeIpv4,
  decodeTcp,
  decodeUdp,
  foldSum,
  IPPROTO_TCP,
  IPPROTO_UDP,
  Ipv4Header,
  pseudoHeaderSum,
  rd16,
  sumWords,
  TCP_ACK,
  TCP_MIN_HEADER,
  TCP_RST,
  TCP_SYN,
  TcpHeader,
  UDP_HEADER_LEN,
  UdpHeader,
  wr16,
  writeTcp,
  writeUdp,
} from '../src/index.ts';
import {
  ETH_LEN,
  hex,
  IP_A,
  IP_B,
  TCP_RST_ACK,
  TCP_SYN as TCP_SYN_FRAME,
  toHex,
  UDP_DATAGRAM,
} from './golden.ts';

const L4 = ETH_LEN + 20;

function udpFields(u: UdpHeader) {
  return { srcPort: u.srcPort, dstPort: u.dstPort, length: u.length, checksum: u.checksum };
}

function tcpFields(t: TcpHeader) {
  return {
    srcPort: t.srcPort,
    dstPort: t.dstPort,
    seq: t.seq,
    ack: t.ack,
    headerLength: t.headerLength,
    flags: t.flags,
    window: t.window,
    checksum: t.checksum,
    urgent: t.urgent,
    optionsOffset: t.optionsOffset,
    optionsLength: t.optionsLength,
    dataOffset: t.dataOffset,
    dataLength: t.dataLength,
  };
}

describe('decodeUdp (RFC 768)', () => {
  it('decodes the captured datagram and verifies its checksum', () => {
    const ip = new Ipv4Header();
    assert.equal(decodeIpv4(UDP_DATAGRAM, ETH_LEN, UDP_DATAGRAM.length - ETH_LEN, ip), 0);
    const udp = new UdpHeader();
    assert.equal(decodeUdp(UDP_DATAGRAM, L4, ip.totalLength - ip.headerLength, ip.src, ip.dst, udp), 0);
    assert.deepEqual(udpFields(udp), { srcPort: 54166, dstPort: 5555, length: 19, checksum: 0x5ce7 });
    assert.equal(new TextDecoder().decode(UDP_DATAGRAM.subarray(L4 + 8, L4 + 19)), 'nexthop udp');
  });

  it('checks the checksum against the pseudo header: wrong addresses or damage fail', () => {
    const udp = new UdpHeader();
    assert.equal(decodeUdp(UDP_DATAGRAM, L4, 19, IP_B, IP_A, udp), 0); // the sum is symmetric
    assert.equal(decodeUdp(UDP_DATAGRAM, L4, 19, IP_A, IP_A, udp), Drop.UDP_BAD_CHECKSUM);
    assert.equal(decodeUdp(UDP_DATAGRAM, L4, 19, IP_A + 1, IP_B, udp), Drop.UDP_BAD_CHECKSUM);
    for (let i = 0; i < 19; i++) {
      if (i === 4 || i === 5) continue; // the length field: a different drop
      const f = UDP_DATAGRAM.slice();
      f[L4 + i]! ^= 0x10;
      assert.equal(decodeUdp(f, L4, 19, IP_A, IP_B, udp), Drop.UDP_BAD_CHECKSUM, `byte ${i}`);
    }
  });

  it('accepts checksum 0 (not computed) whatever the data', () => {
    const f = UDP_DATAGRAM.slice();
    wr16(f, L4 + 6, 0);
    f[L4 + 10] = 0x99;
    const udp = new UdpHeader();
    assert.equal(decodeUdp(f, L4, 19, IP_A, IP_B, udp), 0);
    assert.equal(udp.checksum, 0);
  });

  it('accepts 0xffff, the transmitted form of a computed checksum of 0', () => {
    // Choose payload bytes so that the computed checksum is 0, then send it as 0xffff.
    const buf = new Uint8Array(UDP_HEADER_LEN + 2);
    wr16(buf, 0, 1000);
    wr16(buf, 2, 2000);
    wr16(buf, 4, buf.length);
    const sum = foldSum(sumWords(buf, 0, buf.length, pseudoHeaderSum(IP_A, IP_B, IPPROTO_UDP, buf.length)));
    wr16(buf, 8, 0xffff - sum);
    assert.equal(
      foldSum(sumWords(buf, 0, buf.length, pseudoHeaderSum(IP_A, IP_B, IPPROTO_UDP, buf.length))),
      0xffff,
    );
    writeUdp(buf, 0, 1000, 2000, 2, IP_A, IP_B);
    assert.equal(rd16(buf, 6), 0xffff);
    const udp = new UdpHeader();
    assert.equal(decodeUdp(buf, 0, buf.length, IP_A, IP_B, udp), 0);
    assert.equal(udp.checksum, 0xffff);
  });

  it('sums only the UDP length, not trailing bytes of a longer IP payload', () => {
    const padded = new Uint8Array(UDP_DATAGRAM.length + 7).fill(0x77);
    padded.set(UDP_DATAGRAM);
    assert.equal(decodeUdp(padded, L4, 26, IP_A, IP_B, new UdpHeader()), 0);
  });

  it('drops bad lengths as UDP_TRUNCATED', () => {
    const udp = new UdpHeader();
    for (let len = 0; len < UDP_HEADER_LEN; len++) {
      assert.equal(decodeUdp(UDP_DATAGRAM, L4, len, IP_A, IP_B, udp), Drop.UDP_TRUNCATED, `len ${len}`);
    }
    assert.equal(decodeUdp(UDP_DATAGRAM, L4, 18, IP_A, IP_B, udp), Drop.UDP_TRUNCATED); // length 19 > 18
    for (const length of [0, 7, 20, 0xffff]) {
      const f = UDP_DATAGRAM.slice();
      wr16(f, L4 + 4, length);
      assert.equal(decodeUdp(f, L4, 19, IP_A, IP_B, udp), Drop.UDP_TRUNCATED, `length ${length}`);
    }
  });

  it('writeUdp reproduces the captured datagram', () => {
    const buf = new Uint8Array(19);
    buf.set(UDP_DATAGRAM.subarray(L4 + 8), 8);
    assert.equal(writeUdp(buf, 0, 54166, 5555, 11, IP_A, IP_B), 19);
    assert.equal(toHex(buf), toHex(UDP_DATAGRAM, L4));
  });
});

describe('decodeTcp (RFC 9293 §3.1)', () => {
  it('decodes the captured SYN with options and verifies its checksum', () => {
    const tcp = new TcpHeader();
    assert.equal(decodeTcp(TCP_SYN_FRAME, L4, 40, IP_A, IP_B, tcp), 0);
    assert.deepEqual(tcpFields(tcp), {
      srcPort: 35768,
      dstPort: 5556,
      seq: 0xa19a595a,
      ack: 0,
      headerLength: 40,
      flags: TCP_SYN,
      window: 64240,
      checksum: 0x6c20,
      urgent: 0,
      optionsOffset: L4 + 20,
      optionsLength: 20,
      dataOffset: L4 + 40,
      dataLength: 0,
    });
    // MSS 1460, SACK permitted, timestamps, NOP, window scale 10.
    assert.equal(
      toHex(TCP_SYN_FRAME, tcp.optionsOffset, tcp.optionsLength),
      '020405b40402080a90f39ece0000000001' + '03030a',
    );
  });

  it('decodes the kernel’s RST+ACK', () => {
    const tcp = new TcpHeader();
    assert.equal(decodeTcp(TCP_RST_ACK, L4, 20, IP_B, IP_A, tcp), 0);
    assert.equal(tcp.flags, TCP_RST | TCP_ACK);
    assert.equal(tcp.ack, 0xa19a595b);
    assert.equal(tcp.optionsLength, 0);
    assert.equal(tcp.window, 0);
  });

  it('reports payload offset and length for a segment with data', () => {
    const buf = new Uint8Array(60);
    buf.set(hex('c0ffee'), 24 + 0);
    writeTcp(buf, 0, 1, 2, 3, 4, TCP_ACK, 5, 24, 3, IP_A, IP_B);
    const tcp = new TcpHeader();
    assert.equal(decodeTcp(buf, 0, 27, IP_A, IP_B, tcp), 0);
    assert.equal(tcp.optionsLength, 4);
    assert.equal(tcp.dataOffset, 24);
    assert.equal(tcp.dataLength, 3);
  });

  it('drops a damaged segment as TCP_BAD_CHECKSUM, unless asked not to verify', () => {
    const tcp = new TcpHeader();
    for (let i = 0; i < 40; i++) {
      if (i === 12) continue; // the data offset: a different drop
      const f = TCP_SYN_FRAME.slice();
      f[L4 + i]! ^= 0x01;
      assert.equal(decodeTcp(f, L4, 40, IP_A, IP_B, tcp), Drop.TCP_BAD_CHECKSUM, `byte ${i}`);
    }
    assert.equal(decodeTcp(TCP_SYN_FRAME, L4, 40, IP_A, 0x0a630003, tcp), Drop.TCP_BAD_CHECKSUM);
    const f = TCP_SYN_FRAME.slice();
    wr16(f, L4 + 16, 0);
    assert.equal(decodeTcp(f, L4, 40, IP_A, IP_B, tcp), Drop.TCP_BAD_CHECKSUM); // TCP has no "no checksum"
    assert.equal(decodeTcp(f, L4, 40, IP_A, IP_B, tcp, false), 0);
    assert.equal(tcp.checksum, 0);
  });

  it('drops a bad data offset or short segment as TCP_TRUNCATED', () => {
    const tcp = new TcpHeader();
    for (let len = 0; len < TCP_MIN_HEADER; len++) {
      assert.equal(decodeTcp(TCP_RST_ACK, L4, len, IP_B, IP_A, tcp), Drop.TCP_TRUNCATED, `len ${len}`);
    }
    for (const dataOffset of [0, 1, 4]) {
      const f = TCP_RST_ACK.slice();
      f[L4 + 12] = dataOffset << 4;
      assert.equal(decodeTcp(f, L4, 20, IP_B, IP_A, tcp), Drop.TCP_TRUNCATED, `offset ${dataOffset}`);
    }
    // Data offset 10 (40 bytes) in a 39-byte segment; offset 15 in the 40-byte SYN.
    assert.equal(decodeTcp(TCP_SYN_FRAME, L4, 39, IP_A, IP_B, tcp), Drop.TCP_TRUNCATED);
    const f = TCP_SYN_FRAME.slice();
    f[L4 + 12] = 0xf0;
    assert.equal(decodeTcp(f, L4, 40, IP_A, IP_B, tcp, false), Drop.TCP_TRUNCATED);
  });

  it('writeTcp reproduces the captured SYN and RST+ACK', () => {
    const syn = new Uint8Array(40);
    syn.set(TCP_SYN_FRAME.subarray(L4 + 20, L4 + 40), 20);
    assert.equal(writeTcp(syn, 0, 35768, 5556, 0xa19a595a, 0, TCP_SYN, 64240, 40, 0, IP_A, IP_B), 40);
    assert.equal(toHex(syn), toHex(TCP_SYN_FRAME, L4));
    const rst = new Uint8Array(20).fill(0xff);
    writeTcp(rst, 0, 5556, 35768, 0, 0xa19a595b, TCP_RST | TCP_ACK, 0, 20, 0, IP_B, IP_A);
    assert.equal(toHex(rst), toHex(TCP_RST_ACK, L4));
    assert.equal(IPPROTO_TCP, TCP_SYN_FRAME[ETH_LEN + 9]);
  });
});

describe('UDP and TCP round trips (property)', () => {
  const port = fc.integer({ min: 0, max: 0xffff });
  const addr = fc.integer({ min: 0, max: 0xffffffff });

  it('UDP: decode(write) returns the fields, the checksum verifies and is never sent as 0', () => {
    fc.assert(
      fc.property(
        port,
        port,
        fc.uint8Array({ maxLength: 300 }),
        addr,
        addr,
        fc.nat({ max: 20 }),
        (sp, dp, data, src, dst, off) => {
          const buf = new Uint8Array(off + UDP_HEADER_LEN + data.length);
          buf.set(data, off + UDP_HEADER_LEN);
          const length = writeUdp(buf, off, sp, dp, data.length, src, dst);
          assert.equal(length, UDP_HEADER_LEN + data.length);
          const sum = sumWords(buf, off, length, pseudoHeaderSum(src, dst, IPPROTO_UDP, length));
          assert.equal(foldSum(sum), 0xffff);
          const udp = new UdpHeader();
          assert.equal(decodeUdp(buf, off, length, src, dst, udp), 0);
          assert.deepEqual(udpFields(udp), {
            srcPort: sp,
            dstPort: dp,
            length,
            checksum: rd16(buf, off + 6),
          });
          assert.notEqual(udp.checksum, 0);
          assert.equal(toHex(buf, off + 8), toHex(data));
          if (data.length > 0) {
            buf[off + UDP_HEADER_LEN + (sp % data.length)]! ^= 0x80;
            assert.equal(decodeUdp(buf, off, length, src, dst, udp), Drop.UDP_BAD_CHECKSUM);
          }
        },
      ),
      { seed: 768, numRuns: 500 },
    );
  });

  it('TCP: decode(write) returns the fields, options and payload spans, and the checksum verifies', () => {
    fc.assert(
      fc.property(
        fc.record({
          sp: port,
          dp: port,
          seq: addr,
          ack: addr,
          flags: fc.integer({ min: 0, max: 255 }),
          window: port,
        }),
        fc.integer({ min: 0, max: 10 }),
        fc.uint8Array({ minLength: 40, maxLength: 40 }),
        fc.uint8Array({ maxLength: 300 }),
        addr,
        addr,
        fc.nat({ max: 20 }),
        (h, optionWords, options, data, src, dst, off) => {
          const headerLength = TCP_MIN_HEADER + 4 * optionWords;
          const buf = new Uint8Array(off + headerLength + data.length);
          buf.set(options.subarray(0, headerLength - TCP_MIN_HEADER), off + TCP_MIN_HEADER);
          buf.set(data, off + headerLength);
          const len = writeTcp(
            buf,
            off,
            h.sp,
            h.dp,
            h.seq,
            h.ack,
            h.flags,
            h.window,
            headerLength,
            data.length,
            src,
            dst,
          );
          assert.equal(len, headerLength + data.length);
          const sum = sumWords(buf, off, len, pseudoHeaderSum(src, dst, IPPROTO_TCP, len));
          assert.equal(foldSum(sum), 0xffff);
          const tcp = new TcpHeader();
          assert.equal(decodeTcp(buf, off, len, src, dst, tcp), 0);
          assert.deepEqual(tcpFields(tcp), {
            srcPort: h.sp,
            dstPort: h.dp,
            seq: h.seq,
            ack: h.ack,
            headerLength,
            flags: h.flags,
            window: h.window,
            checksum: rd16(buf, off + 16),
            urgent: 0,
            optionsOffset: off + TCP_MIN_HEADER,
            optionsLength: headerLength - TCP_MIN_HEADER,
            dataOffset: off + headerLength,
            dataLength: data.length,
          });
          assert.equal(
            toHex(buf, tcp.optionsOffset, tcp.optionsLength),
            toHex(options, 0, headerLength - 20),
          );
          assert.equal(toHex(buf, tcp.dataOffset, tcp.dataLength), toHex(data));
        },
      ),
      { seed: 9293, numRuns: 500 },
    );
  });
});
