// Builders for well-formed and deliberately malformed Ethernet frames, byte by byte, for the
// integration tests that feed bad input to a router from a namespace. Nothing here is on a hot path.

export interface FrameEnds {
  /** Destination and source MAC, as `aa:bb:cc:dd:ee:ff` or 6 bytes. */
  readonly dstMac: string | Uint8Array;
  readonly srcMac: string | Uint8Array;
  /** Dotted-quad IPv4 addresses. */
  readonly srcIp: string;
  readonly dstIp: string;
}

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;

function macBytes(mac: string | Uint8Array): Uint8Array {
  if (typeof mac !== 'string') return mac;
  const parts = mac.split(':');
  if (parts.length !== 6) throw new Error(`not a MAC address: ${mac}`);
  return Uint8Array.from(parts, (p) => Number.parseInt(p, 16));
}

function ipBytes(ip: string): Uint8Array {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255)))
    throw new Error(`not an IPv4 address: ${ip}`);
  return Uint8Array.from(parts);
}

/** RFC 1071 Internet checksum (one's complement of the one's-complement sum of 16-bit words). */
export function internetChecksum(buf: Uint8Array, off = 0, len = buf.length - off): number {
  let sum = 0;
  for (let i = 0; i + 1 < len; i += 2) sum += (buf[off + i]! << 8) | buf[off + i + 1]!;
  if (len % 2 === 1) sum += buf[off + len - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ethernetFrame(
  dstMac: string | Uint8Array,
  srcMac: string | Uint8Array,
  ethertype: number,
  payload: Uint8Array,
): Uint8Array {
  const frame = new Uint8Array(14 + payload.length);
  frame.set(macBytes(dstMac), 0);
  frame.set(macBytes(srcMac), 6);
  frame[12] = ethertype >>> 8;
  frame[13] = ethertype & 0xff;
  frame.set(payload, 14);
  return frame;
}

export interface Ipv4Fields {
  readonly ttl?: number;
  readonly protocol?: number;
  /** Header length in 32-bit words (RFC 791 IHL); 5 unless testing bad values. */
  readonly ihl?: number;
  /** Overrides the computed total length. */
  readonly totalLength?: number;
  /** Overrides the computed header checksum. */
  readonly checksum?: number;
  readonly identification?: number;
}

/** An IPv4 packet (RFC 791 §3.1) with a 20-byte header; the fields allow lies about it. */
export function ipv4Packet(
  srcIp: string,
  dstIp: string,
  payload: Uint8Array,
  fields: Ipv4Fields = {},
): Uint8Array {
  const pkt = new Uint8Array(20 + payload.length);
  const ihl = fields.ihl ?? 5;
  pkt[0] = 0x40 | (ihl & 0x0f);
  const totalLength = fields.totalLength ?? pkt.length;
  pkt[2] = totalLength >>> 8;
  pkt[3] = totalLength & 0xff;
  const id = fields.identification ?? 0x1234;
  pkt[4] = id >>> 8;
  pkt[5] = id & 0xff;
  pkt[6] = 0x40; // DF
  pkt[8] = fields.ttl ?? 64;
  pkt[9] = fields.protocol ?? 1;
  pkt.set(ipBytes(srcIp), 12);
  pkt.set(ipBytes(dstIp), 16);
  const checksum = fields.checksum ?? internetChecksum(pkt, 0, 20);
  pkt[10] = checksum >>> 8;
  pkt[11] = checksum & 0xff;
  pkt.set(payload, 20);
  return pkt;
}

/** ICMP echo request (RFC 792) with a correct checksum. */
export function icmpEchoRequest(id: number, seq: number, data: Uint8Array = new Uint8Array(16)): Uint8Array {
  const msg = new Uint8Array(8 + data.length);
  msg[0] = 8;
  msg[4] = id >>> 8;
  msg[5] = id & 0xff;
  msg[6] = seq >>> 8;
  msg[7] = seq & 0xff;
  msg.set(data, 8);
  const checksum = internetChecksum(msg);
  msg[2] = checksum >>> 8;
  msg[3] = checksum & 0xff;
  return msg;
}

export interface ArpFields {
  readonly hardwareLength?: number;
  readonly protocolLength?: number;
  /** 1 request, 2 reply (RFC 826). */
  readonly operation?: number;
}

/** An ARP packet for Ethernet/IPv4 (RFC 826), 28 bytes; the length fields may lie. */
export function arpPacket(ends: FrameEnds, fields: ArpFields = {}): Uint8Array {
  const pkt = new Uint8Array(28);
  pkt[1] = 1; // hardware type Ethernet
  pkt[2] = 0x08; // protocol type IPv4
  pkt[4] = fields.hardwareLength ?? 6;
  pkt[5] = fields.protocolLength ?? 4;
  pkt[7] = fields.operation ?? 1;
  pkt.set(macBytes(ends.srcMac), 8);
  pkt.set(ipBytes(ends.srcIp), 14);
  pkt.set(ipBytes(ends.dstIp), 24); // target hardware address left zero, as in a request
  return pkt;
}

/** A valid echo request from srcIp to dstIp: the baseline the malformed frames deviate from. */
export function validEchoFrame(ends: FrameEnds, seq = 1): Uint8Array {
  return ethernetFrame(
    ends.dstMac,
    ends.srcMac,
    ETHERTYPE_IPV4,
    ipv4Packet(ends.srcIp, ends.dstIp, icmpEchoRequest(0x4e48, seq)),
  );
}

/**
 * Fewer bytes than an Ethernet header. Linux refuses to send a frame shorter than the link's
 * minimum header (dev_validate_header), so this one cannot leave a veth: use it in pipe-driver tests.
 */
export function truncatedEthernet(ends: FrameEnds, length = 10): Uint8Array {
  return validEchoFrame(ends).slice(0, length);
}

/** An Ethernet header claiming IPv4 and nothing after it: the shortest frame a veth carries. */
export function headerOnlyEthernet(ends: FrameEnds): Uint8Array {
  return ethernetFrame(ends.dstMac, ends.srcMac, ETHERTYPE_IPV4, new Uint8Array(0));
}

/** ARP request cut after 14 of its 28 bytes. */
export function truncatedArp(ends: FrameEnds): Uint8Array {
  return ethernetFrame(ends.dstMac, ends.srcMac, ETHERTYPE_ARP, arpPacket(ends).slice(0, 14));
}

/** ARP claiming 8-byte hardware and 6-byte protocol addresses in a 28-byte Ethernet/IPv4 body. */
export function arpWrongLengths(ends: FrameEnds): Uint8Array {
  return ethernetFrame(
    ends.dstMac,
    ends.srcMac,
    ETHERTYPE_ARP,
    arpPacket(ends, { hardwareLength: 8, protocolLength: 6 }),
  );
}

/** IPv4 header cut after 12 of its 20 bytes. */
export function truncatedIpv4(ends: FrameEnds): Uint8Array {
  const pkt = ipv4Packet(ends.srcIp, ends.dstIp, icmpEchoRequest(1, 1));
  return ethernetFrame(ends.dstMac, ends.srcMac, ETHERTYPE_IPV4, pkt.slice(0, 12));
}

/** IHL 4 (16 bytes), below the 5-word minimum of RFC 791; the checksum is valid for those bytes. */
export function ipv4BadIhl(ends: FrameEnds, ihl = 4): Uint8Array {
  const pkt = ipv4Packet(ends.srcIp, ends.dstIp, icmpEchoRequest(1, 1), { ihl, checksum: 0 });
  const checksum = internetChecksum(pkt, 0, Math.max(ihl, 1) * 4);
  pkt[10] = checksum >>> 8;
  pkt[11] = checksum & 0xff;
  return ethernetFrame(ends.dstMac, ends.srcMac, ETHERTYPE_IPV4, pkt);
}

/** Header checksum off by one. */
export function ipv4BadChecksum(ends: FrameEnds): Uint8Array {
  const good = ipv4Packet(ends.srcIp, ends.dstIp, icmpEchoRequest(1, 1));
  const checksum = (((good[10]! << 8) | good[11]!) + 1) & 0xffff;
  const pkt = ipv4Packet(ends.srcIp, ends.dstIp, icmpEchoRequest(1, 1), { checksum });
  return ethernetFrame(ends.dstMac, ends.srcMac, ETHERTYPE_IPV4, pkt);
}

/** Total length 1000 in a frame carrying 44 bytes of IPv4. */
export function ipv4TotalLengthBeyondFrame(ends: FrameEnds): Uint8Array {
  const pkt = ipv4Packet(ends.srcIp, ends.dstIp, icmpEchoRequest(1, 1), { totalLength: 1000 });
  return ethernetFrame(ends.dstMac, ends.srcMac, ETHERTYPE_IPV4, pkt);
}

/** TTL 0 on arrival: never forwarded (RFC 1812 §5.3.1). */
export function ipv4TtlZero(ends: FrameEnds): Uint8Array {
  const pkt = ipv4Packet(ends.srcIp, ends.dstIp, icmpEchoRequest(1, 1), { ttl: 0 });
  return ethernetFrame(ends.dstMac, ends.srcMac, ETHERTYPE_IPV4, pkt);
}

/** A valid echo request whose source MAC has the I/G bit set (IEEE 802: sources are individual). */
export function multicastSourceMac(ends: FrameEnds): Uint8Array {
  return validEchoFrame({ ...ends, srcMac: '01:00:5e:00:00:01' });
}

export interface NamedFrame {
  readonly name: string;
  readonly frame: Uint8Array;
}

/** Every malformed frame above that a veth can carry (so not truncatedEthernet). */
export function malformedFrames(ends: FrameEnds): NamedFrame[] {
  return [
    { name: 'header-only Ethernet', frame: headerOnlyEthernet(ends) },
    { name: 'truncated ARP', frame: truncatedArp(ends) },
    { name: 'ARP with wrong address lengths', frame: arpWrongLengths(ends) },
    { name: 'truncated IPv4 header', frame: truncatedIpv4(ends) },
    { name: 'IPv4 IHL 4', frame: ipv4BadIhl(ends) },
    { name: 'IPv4 bad header checksum', frame: ipv4BadChecksum(ends) },
    { name: 'IPv4 total length beyond frame', frame: ipv4TotalLengthBeyondFrame(ends) },
    { name: 'IPv4 TTL 0', frame: ipv4TtlZero(ends) },
    { name: 'multicast source MAC', frame: multicastSourceMac(ends) },
  ];
}

export function toHex(frame: Uint8Array): string {
  let s = '';
  for (const b of frame) s += b.toString(16).padStart(2, '0');
  return s;
}
