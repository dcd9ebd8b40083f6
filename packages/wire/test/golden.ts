// Reference frames for the wire tests.
//
// Unless marked otherwise, each frame was captured with `tcpdump -w` on a veth pair between network
// namespaces: host A (10.99.0.1, 02:00:00:00:00:0a) and router B (10.99.0.2, 02:00:00:00:00:0b), B
// forwarding to C (10.99.1.3) over a 1280-byte-MTU link and holding an `unreachable 10.88.0.0/16`
// route. Linux 6.x on B produced the ARP replies, echo replies and every ICMP error.

export function hex(text: string): Uint8Array {
  const clean = text.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0) throw new Error(`odd hex length ${clean.length}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array, off = 0, len = bytes.length - off): string {
  let s = '';
  for (let i = off; i < off + len; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

export const MAC_A = hex('02000000000a');
export const MAC_B = hex('02000000000b');
export const IP_A = 0x0a630001; // 10.99.0.1
export const IP_B = 0x0a630002; // 10.99.0.2

/** `ping 10.99.0.2` from A: who-has 10.99.0.2 tell 10.99.0.1, broadcast. */
export const ARP_REQUEST = hex(
  'ffffffffffff 02000000000a 0806' + '0001 0800 06 04 0001 02000000000a 0a630001 000000000000 0a630002',
);

/** B's answer: 10.99.0.2 is-at 02:00:00:00:00:0b. */
export const ARP_REPLY = hex(
  '02000000000a 02000000000b 0806' + '0001 0800 06 04 0002 02000000000b 0a630002 02000000000a 0a630001',
);

/** `ping -s 16`: echo request id 0x1768 seq 1, 16 bytes of timestamp data. */
export const ECHO_REQUEST = hex(
  '02000000000b 02000000000a 0800' +
    '4500 002c 3ec4 4000 4001 e744 0a630001 0a630002' +
    '0800 4881 1768 0001 2cd9096b00000000 55d10c0000000000',
);

/** Linux's echo reply to ECHO_REQUEST (DF clear, its own id). */
export const ECHO_REPLY = hex(
  '02000000000a 02000000000b 0800' +
    '4500 002c 4579 0000 4001 2090 0a630002 0a630001' +
    '0000 5081 1768 0001 2cd9096b00000000 55d10c0000000000',
);

/** The 64-byte echo request that provoked NET_UNREACHABLE, quoted whole there. */
const QUOTED_ECHO_TO_10_99_100_2 =
  '4500 0054 4343 4000 4001 7e9d 0a630001 0a636402' +
  '0800 f59d 176a 0001 2cd9096b00000000 e9df0c0000000000' +
  '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';

/** B has no route to 10.99.100.2: destination unreachable, code 0 (net), TOS 0xc0 (internetwork control). */
export const NET_UNREACHABLE = hex(
  '02000000000a 02000000000b 0800' +
    '45c0 0070 457a 0000 4001 1f8b 0a630002 0a630001' +
    '03 00 fcff 00000000' +
    QUOTED_ECHO_TO_10_99_100_2,
);

/** Echo request to 10.88.0.1, hitting B's `unreachable` route: code 1 (host). */
export const HOST_UNREACHABLE = hex(
  '02000000000a 02000000000b 0800' +
    '45c0 0070 466e 0000 4001 1e97 0a630002 0a630001' +
    '03 01 fcfe 00000000' +
    '4500 0054 aaaa 4000 4001 7b42 0a630001 0a580001' +
    '0800 1ec2 17b6 0001 2ed9096b00000000 c96f010000000000' +
    '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637',
);

/** A raw IP datagram with protocol 253 ("proto253") to B: code 2 (protocol). */
export const PROTOCOL_UNREACHABLE = hex(
  '02000000000a 02000000000b 0800' +
    '45c0 0038 4584 0000 4001 1fb9 0a630002 0a630001' +
    '03 02 78b1 00000000' +
    '4500 001c 63c4 4000 40fd c158 0a630001 0a630002 70726f746f323533',
);

/**
 * UDP "nexthop udp" from A port 54166 to B port 5555.
 * Edited: veth left the UDP checksum to offload (the capture held only the pseudo-header sum,
 * 0x14ed); the field here is the full checksum 0x5ce7, computed offline.
 */
export const UDP_DATAGRAM = hex(
  '02000000000b 02000000000a 0800' +
    '4500 0027 32ff 4000 4011 f2fe 0a630001 0a630002' +
    'd396 15b3 0013 5ce7 6e657874686f7020756470',
);

/** B's port unreachable (code 3) for UDP_DATAGRAM as it was on the wire (partial UDP checksum). */
export const PORT_UNREACHABLE = hex(
  '02000000000a 02000000000b 0800' +
    '45c0 0043 457c 0000 4001 1fb6 0a630002 0a630001' +
    '03 03 59e4 00000000' +
    '4500 0027 32ff 4000 4011 f2fe 0a630001 0a630002 d396 15b3 0013 14ed 6e657874686f7020756470',
);

/**
 * Linux TCP SYN from A port 35768 to B port 5556, options MSS 1460, SACK permitted, timestamps,
 * NOP, window scale 10. Edited like UDP_DATAGRAM: the checksum 0x6c20 replaces the offload's 0x14f7.
 */
export const TCP_SYN = hex(
  '02000000000b 02000000000a 0800' +
    '4500 003c 82ed 4000 4006 a306 0a630001 0a630002' +
    '8bb8 15b4 a19a595a 00000000 a0 02 faf0 6c20 0000' +
    '020405b4 0402 080a90f39ece00000000 01 03030a',
);

/** B's RST+ACK to TCP_SYN (nothing listens), checksummed by the kernel in software: unedited. */
export const TCP_RST_ACK = hex(
  '02000000000a 02000000000b 0800' +
    '4500 0028 0000 4000 4006 2608 0a630002 0a630001' +
    '15b4 8bb8 00000000 a19a595b 50 14 0000 fea5 0000',
);

/** `ping -t 1 10.99.1.3`: B's time exceeded in transit (type 11, code 0). */
export const TIME_EXCEEDED = hex(
  '02000000000a 02000000000b 0800' +
    '45c0 0070 4586 0000 4001 1f7f 0a630002 0a630001' +
    '0b 00 f4ff 00000000' +
    '4500 0054 1eb5 4000 0101 452b 0a630001 0a630103' +
    '0800 ddfb 1799 0001 2dd9096b00000000 0b53010000000000' +
    '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637',
);

/**
 * `ping -M do -s 1300 10.99.1.3`: B cannot forward 1328 bytes with DF over the 1280-byte link and
 * sends fragmentation needed (code 4) with next-hop MTU 1280 (RFC 1191 §4), quoting 548 bytes of
 * the datagram (576-byte ICMP datagram, RFC 1812 §4.3.2.3).
 */
export const FRAG_NEEDED = hex(
  [
    '02000000000a02000000000b080045c00240466f000040011cc60a6300020a6300010304870f00000500450005300000',
    '4000400120040a6300010a63010308007c2117b800012ed9096b00000000477e01000000000010111213141516171819',
    '1a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40414243444546474849',
    '4a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f70717273747576777879',
    '7a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9',
    'aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9',
    'dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00010203040506070809',
    '0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233343536373839',
    '3a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60616263646566676869',
    '6a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f90919293949596979899',
    '9a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9',
    'cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9',
    'fafbfcfdfeff0001020304050607',
  ].join(''),
);

// Constructed by hand from the field layouts (the capture host has no 8021q module): the untagged
// captures above with tags inserted after the source address (IEEE 802.1Q §9.3).

/** ARP_REQUEST in VLAN 100 with priority 5 (TCI 0xa064: PCP 5, DEI 0, VID 100). */
export const ARP_REQUEST_VLAN100 = hex(
  'ffffffffffff 02000000000a 8100 a064 0806' +
    '0001 0800 06 04 0001 02000000000a 0a630001 000000000000 0a630002',
);

/** ECHO_REQUEST in QinQ: S-tag 0x88a8 VID 200 (DEI set), C-tag 0x8100 VID 300. */
export const ECHO_REQUEST_QINQ = hex(
  '02000000000b 02000000000a 88a8 10c8 8100 012c 0800' +
    '4500 002c 3ec4 4000 4001 e744 0a630001 0a630002' +
    '0800 4881 1768 0001 2cd9096b00000000 55d10c0000000000',
);

/**
 * IHL 6: an IGMPv2 report for 224.0.0.251 with the Router Alert option (RFC 2113), header and IGMP
 * checksums computed offline.
 */
export const IPV4_IHL6_ROUTER_ALERT = hex(
  '46c0 0020 0000 4000 0102 f8b8 0a630001 e00000fb 94040000' + '16 00 0904 e00000fb',
);

/** IHL 7: an echo request with a one-slot Record Route option (RFC 791) and an EOL pad. */
export const IPV4_IHL7_RECORD_ROUTE = hex(
  '4700 0024 abcd 0000 4001 ad3c 0a630001 0a630002 07070400000000 00' + '0800 e5ca 1234 0001',
);

export const ETH_LEN = 14;
