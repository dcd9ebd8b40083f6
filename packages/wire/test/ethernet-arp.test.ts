import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ARP_LEN,
  ARP_OP_REPLY,
  ARP_OP_REQUEST,
  ArpPacket,
  bytesEqual,
  Drop,
  decodeArp,
  decodeEthernet,
  ETH_HEADER_LEN,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_QINQ,
  ETHERTYPE_VLAN,
  EthernetHeader,
  wr16,
  writeArp,
  writeEthernet,
} from '../src/index.ts';
import {
  ARP_REPLY,
  ARP_REQUEST,
  ARP_REQUEST_VLAN100,
  ECHO_REQUEST,
  ECHO_REQUEST_QINQ,
  ETH_LEN,
  hex,
  IP_A,
  IP_B,
  MAC_A,
  MAC_B,
  toHex,
} from './golden.ts';

describe('decodeEthernet on golden frames', () => {
  it('decodes an untagged frame', () => {
    const eth = new EthernetHeader();
    assert.equal(decodeEthernet(ECHO_REQUEST, 0, ECHO_REQUEST.length, eth), 0);
    assert.equal(eth.etherType, ETHERTYPE_IPV4);
    assert.equal(eth.payloadOffset, 14);
    assert.equal(eth.vlanId, -1);
    assert.equal(eth.tagCount, 0);
  });

  it('decodes one 802.1Q tag, masking PCP and DEI out of the VLAN id', () => {
    const eth = new EthernetHeader();
    assert.equal(decodeEthernet(ARP_REQUEST_VLAN100, 0, ARP_REQUEST_VLAN100.length, eth), 0);
    assert.equal(eth.etherType, ETHERTYPE_ARP);
    assert.equal(eth.payloadOffset, 18);
    assert.equal(eth.vlanId, 100);
    assert.equal(eth.tagCount, 1);
    assert.equal(toHex(ARP_REQUEST_VLAN100, 18), toHex(ARP_REQUEST, 14));
  });

  it('decodes QinQ (802.1ad S-tag, then C-tag) and reports the outer VLAN id', () => {
    const eth = new EthernetHeader();
    assert.equal(decodeEthernet(ECHO_REQUEST_QINQ, 0, ECHO_REQUEST_QINQ.length, eth), 0);
    assert.equal(eth.etherType, ETHERTYPE_IPV4);
    assert.equal(eth.payloadOffset, 22);
    assert.equal(eth.vlanId, 200);
    assert.equal(eth.tagCount, 2);
  });

  it('decodes a frame that sits at an offset in a larger buffer', () => {
    const buf = new Uint8Array(ECHO_REQUEST_QINQ.length + 100).fill(0x81);
    buf.set(ECHO_REQUEST_QINQ, 37);
    const eth = new EthernetHeader();
    assert.equal(decodeEthernet(buf, 37, ECHO_REQUEST_QINQ.length, eth), 0);
    assert.equal(eth.payloadOffset, 37 + 22);
    assert.equal(eth.vlanId, 200);
  });

  it('stops after two tags and reports a third as the EtherType', () => {
    const frame = hex('ffffffffffff 02000000000a 88a8 0001 8100 0002 8100 0003 0800 45');
    const eth = new EthernetHeader();
    assert.equal(decodeEthernet(frame, 0, frame.length, eth), 0);
    assert.equal(eth.tagCount, 2);
    assert.equal(eth.etherType, ETHERTYPE_VLAN);
    assert.equal(eth.payloadOffset, 22);
  });

  it('resets vlanId to -1 when a reused scratch object decodes an untagged frame', () => {
    const eth = new EthernetHeader();
    assert.equal(decodeEthernet(ARP_REQUEST_VLAN100, 0, ARP_REQUEST_VLAN100.length, eth), 0);
    assert.equal(decodeEthernet(ARP_REQUEST, 0, ARP_REQUEST.length, eth), 0);
    assert.equal(eth.vlanId, -1);
    assert.equal(eth.tagCount, 0);
  });
});

describe('decodeEthernet drops', () => {
  it('drops frames shorter than 14 bytes as ETH_TRUNCATED', () => {
    const eth = new EthernetHeader();
    for (let len = 0; len < ETH_HEADER_LEN; len++) {
      assert.equal(decodeEthernet(ECHO_REQUEST, 0, len, eth), Drop.ETH_TRUNCATED, `len ${len}`);
    }
    assert.equal(decodeEthernet(ECHO_REQUEST, 0, ETH_HEADER_LEN, eth), 0);
  });

  it('drops a truncated 802.1Q tag as ETH_TRUNCATED', () => {
    const eth = new EthernetHeader();
    for (const len of [14, 15, 16, 17]) {
      assert.equal(decodeEthernet(ARP_REQUEST_VLAN100, 0, len, eth), Drop.ETH_TRUNCATED, `len ${len}`);
    }
    assert.equal(decodeEthernet(ARP_REQUEST_VLAN100, 0, 18, eth), 0);
  });

  it('drops a truncated inner tag of QinQ as ETH_TRUNCATED', () => {
    const eth = new EthernetHeader();
    for (const len of [18, 19, 20, 21]) {
      assert.equal(decodeEthernet(ECHO_REQUEST_QINQ, 0, len, eth), Drop.ETH_TRUNCATED, `len ${len}`);
    }
    assert.equal(decodeEthernet(ECHO_REQUEST_QINQ, 0, 22, eth), 0);
  });

  it('judges truncation by len, not by the buffer size', () => {
    const eth = new EthernetHeader();
    assert.equal(decodeEthernet(ECHO_REQUEST_QINQ, 0, 20, eth), Drop.ETH_TRUNCATED);
  });
});

describe('writeEthernet', () => {
  it('reproduces the captured header', () => {
    const buf = new Uint8Array(ETH_HEADER_LEN);
    assert.equal(writeEthernet(buf, 0, MAC_B, 0, MAC_A, 0, ETHERTYPE_IPV4), ETH_HEADER_LEN);
    assert.equal(toHex(buf), toHex(ECHO_REQUEST, 0, 14));
  });

  it('takes the addresses at offsets inside other buffers', () => {
    const buf = new Uint8Array(20);
    writeEthernet(buf, 3, ARP_REQUEST, 0, ARP_REQUEST, 6, ETHERTYPE_ARP);
    assert.equal(toHex(buf, 3, 14), toHex(ARP_REQUEST, 0, 14));
    assert.equal(toHex(buf, 0, 3), '000000');
    assert.equal(toHex(buf, 17), '000000');
  });
});

describe('Ethernet round trip (property)', () => {
  const mac = fc.uint8Array({ minLength: 6, maxLength: 6 });
  const innerType = fc
    .integer({ min: 0, max: 0xffff })
    .filter((t) => t !== ETHERTYPE_VLAN && t !== ETHERTYPE_QINQ);
  const tag = fc.record({
    tpid: fc.constantFrom(ETHERTYPE_VLAN, ETHERTYPE_QINQ),
    tci: fc.integer({ min: 0, max: 0xffff }),
  });

  it('decode(write(header + tags)) gives back the EtherType, offsets and outer VLAN id', () => {
    fc.assert(
      fc.property(
        mac,
        mac,
        fc.array(tag, { maxLength: 2 }),
        innerType,
        fc.nat({ max: 64 }),
        fc.nat({ max: 64 }),
        (dst, src, tags, etherType, off, payloadLen) => {
          const headerLen = ETH_HEADER_LEN + 4 * tags.length;
          const buf = new Uint8Array(off + headerLen + payloadLen);
          writeEthernet(buf, off, dst, 0, src, 0, tags.length > 0 ? tags[0]!.tpid : etherType);
          let p = off + ETH_HEADER_LEN;
          tags.forEach((t, i) => {
            wr16(buf, p, t.tci);
            wr16(buf, p + 2, i + 1 < tags.length ? tags[i + 1]!.tpid : etherType);
            p += 4;
          });
          const eth = new EthernetHeader();
          assert.equal(decodeEthernet(buf, off, headerLen + payloadLen, eth), 0);
          assert.equal(eth.etherType, etherType);
          assert.equal(eth.tagCount, tags.length);
          assert.equal(eth.payloadOffset, off + headerLen);
          assert.equal(eth.vlanId, tags.length > 0 ? tags[0]!.tci & 0x0fff : -1);
          assert.ok(bytesEqual(buf, off, dst, 0, 6));
          assert.ok(bytesEqual(buf, off + 6, src, 0, 6));
        },
      ),
      { seed: 8021, numRuns: 500 },
    );
  });
});

describe('decodeArp on golden frames', () => {
  it('decodes the captured request', () => {
    const arp = new ArpPacket();
    assert.equal(decodeArp(ARP_REQUEST, ETH_LEN, ARP_LEN, arp), 0);
    assert.equal(arp.op, ARP_OP_REQUEST);
    assert.equal(arp.senderIp, IP_A);
    assert.equal(arp.targetIp, IP_B);
    assert.equal(arp.senderMacOffset, ETH_LEN + 8);
    assert.equal(arp.targetMacOffset, ETH_LEN + 18);
    assert.ok(bytesEqual(ARP_REQUEST, arp.senderMacOffset, MAC_A, 0, 6));
    assert.equal(toHex(ARP_REQUEST, arp.targetMacOffset, 6), '000000000000');
  });

  it('decodes the captured reply', () => {
    const arp = new ArpPacket();
    assert.equal(decodeArp(ARP_REPLY, ETH_LEN, ARP_REPLY.length - ETH_LEN, arp), 0);
    assert.equal(arp.op, ARP_OP_REPLY);
    assert.equal(arp.senderIp, IP_B);
    assert.equal(arp.targetIp, IP_A);
    assert.ok(bytesEqual(ARP_REPLY, arp.senderMacOffset, MAC_B, 0, 6));
    assert.ok(bytesEqual(ARP_REPLY, arp.targetMacOffset, MAC_A, 0, 6));
  });

  it('decodes ARP behind an 802.1Q tag', () => {
    const eth = new EthernetHeader();
    const arp = new ArpPacket();
    const f = ARP_REQUEST_VLAN100;
    assert.equal(decodeEthernet(f, 0, f.length, eth), 0);
    assert.equal(decodeArp(f, eth.payloadOffset, f.length - eth.payloadOffset, arp), 0);
    assert.equal(arp.targetIp, IP_B);
    assert.equal(arp.senderMacOffset, 18 + 8);
  });

  it('accepts trailing Ethernet padding after the 28 bytes', () => {
    const padded = new Uint8Array(60);
    padded.set(ARP_REQUEST);
    const arp = new ArpPacket();
    assert.equal(decodeArp(padded, ETH_LEN, 60 - ETH_LEN, arp), 0);
  });
});

describe('writeArp', () => {
  it('reproduces the captured request (null target hardware address) and reply', () => {
    const buf = new Uint8Array(ARP_LEN);
    assert.equal(writeArp(buf, 0, ARP_OP_REQUEST, MAC_A, 0, IP_A, null, 0, IP_B), ARP_LEN);
    assert.equal(toHex(buf), toHex(ARP_REQUEST, ETH_LEN));
    buf.fill(0xee);
    writeArp(buf, 0, ARP_OP_REPLY, ARP_REPLY, 6, IP_B, ARP_REPLY, 0, IP_A);
    assert.equal(toHex(buf), toHex(ARP_REPLY, ETH_LEN));
  });
});

describe('decodeArp drops (RFC 826 field checks)', () => {
  function mutated(at: number, value: number): Uint8Array {
    const f = ARP_REQUEST.slice();
    f[ETH_LEN + at] = value;
    return f;
  }
  const cases: [string, Uint8Array, number][] = [
    ['hardware type 6 (IEEE 802)', mutated(1, 6), Drop.ARP_BAD_HARDWARE],
    ['hardware type 0x0101', mutated(0, 1), Drop.ARP_BAD_HARDWARE],
    ['hardware length 8', mutated(4, 8), Drop.ARP_BAD_HARDWARE],
    ['hardware length 0', mutated(4, 0), Drop.ARP_BAD_HARDWARE],
    ['protocol type IPv6 0x86dd', hexArp('86dd'), Drop.ARP_BAD_PROTOCOL],
    ['protocol type 0x0801', mutated(3, 1), Drop.ARP_BAD_PROTOCOL],
    ['protocol length 16', mutated(5, 16), Drop.ARP_BAD_PROTOCOL],
    ['opcode 0', mutated(7, 0), Drop.ARP_BAD_OPCODE],
    ['opcode 3 (RARP request)', mutated(7, 3), Drop.ARP_BAD_OPCODE],
    ['opcode 0x0101', mutated(6, 1), Drop.ARP_BAD_OPCODE],
  ];
  function hexArp(protocolType: string): Uint8Array {
    const f = ARP_REQUEST.slice();
    f.set(hex(protocolType), ETH_LEN + 2);
    return f;
  }

  for (const [name, frame, reason] of cases) {
    it(`drops ${name}`, () => {
      assert.equal(decodeArp(frame, ETH_LEN, ARP_LEN, new ArpPacket()), reason);
    });
  }

  it('drops anything shorter than 28 bytes as ARP_TRUNCATED', () => {
    for (let len = 0; len < ARP_LEN; len++) {
      assert.equal(decodeArp(ARP_REQUEST, ETH_LEN, len, new ArpPacket()), Drop.ARP_TRUNCATED, `len ${len}`);
    }
  });

  it('leaves the scratch object untouched when it drops', () => {
    const arp = new ArpPacket();
    assert.equal(decodeArp(mutated(7, 9), ETH_LEN, ARP_LEN, arp), Drop.ARP_BAD_OPCODE);
    assert.deepEqual({ ...arp }, { ...new ArpPacket() });
  });
});

describe('ARP round trip (property)', () => {
  it('decode(write(fields)) gives back op, addresses and hardware address offsets', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(ARP_OP_REQUEST, ARP_OP_REPLY),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.option(fc.uint8Array({ minLength: 6, maxLength: 6 })),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.nat({ max: 40 }),
        (op, sha, tha, spa, tpa, off) => {
          const buf = new Uint8Array(off + ARP_LEN + 3).fill(0xa5);
          assert.equal(writeArp(buf, off, op, sha, 0, spa, tha, 0, tpa), ARP_LEN);
          const arp = new ArpPacket();
          assert.equal(decodeArp(buf, off, ARP_LEN, arp), 0);
          assert.equal(arp.op, op);
          assert.equal(arp.senderIp, spa);
          assert.equal(arp.targetIp, tpa);
          assert.ok(bytesEqual(buf, arp.senderMacOffset, sha, 0, 6));
          assert.ok(bytesEqual(buf, arp.targetMacOffset, tha ?? new Uint8Array(6), 0, 6));
          assert.equal(toHex(buf, off + ARP_LEN), 'a5a5a5');
        },
      ),
      { seed: 826, numRuns: 500 },
    );
  });
});
