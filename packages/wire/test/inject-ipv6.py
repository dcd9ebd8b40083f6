"""Builds the frames of capture-ipv6.sh that Linux will not send by itself, and sends them raw.

  inject-ipv6.py a0      (in A) packets to B with extension headers, UDP and TCP
  inject-ipv6.py ra b0   (in B) a router advertisement to all nodes

Layouts follow RFC 8200 §3-§4, RFC 4443 §4.1, RFC 4861 §4.2/§4.6 and RFC 8106 §5.1; checksums use
the pseudo header of RFC 8200 §8.1. Standard library only.
"""

import socket
import struct
import sys
import time

MAC_A = bytes.fromhex('02000000000a')
MAC_B = bytes.fromhex('02000000000b')
IP_A = socket.inet_pton(socket.AF_INET6, '2001:db8:1::1')
IP_B = socket.inet_pton(socket.AF_INET6, '2001:db8:1::2')
LL_B = socket.inet_pton(socket.AF_INET6, 'fe80::ff:fe00:b')
ALL_NODES = socket.inet_pton(socket.AF_INET6, 'ff02::1')


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack(f'!{len(data) // 2}H', data))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def upper(src: bytes, dst: bytes, proto: int, body: bytes, at: int) -> bytes:
    """Fills the checksum at body[at:at+2] over the RFC 8200 §8.1 pseudo header."""
    pseudo = src + dst + struct.pack('!IxxxB', len(body), proto)
    c = csum(pseudo + body)
    if c == 0 and proto == 17:
        c = 0xFFFF
    return body[:at] + struct.pack('!H', c) + body[at + 2 :]


def ipv6(src: bytes, dst: bytes, nh: int, payload: bytes, hlim=64, flow=0) -> bytes:
    return struct.pack('!IHBB', (6 << 28) | flow, len(payload), nh, hlim) + src + dst + payload


def eth(dst: bytes, src: bytes, packet: bytes) -> bytes:
    return dst + src + b'\x86\xdd' + packet


def echo(src: bytes, dst: bytes, ident: int, seq: int, data: bytes) -> bytes:
    return upper(src, dst, 58, struct.pack('!BBHHH', 128, 0, 0, ident, seq) + data, 2)


def send(ifname: str, frames: list) -> None:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    for f in frames:
        s.send(f)
        time.sleep(0.3)


def host_frames() -> list:
    frames = []
    # 1. Unknown next header 253 right after the fixed header: PP code 1, pointer 6.
    frames.append(ipv6(IP_A, IP_B, 253, b'proto253'))
    # 2. Destination options with an unknown option whose action bits are 10 (RFC 8200 §4.2):
    #    PP code 2 pointing at the option type, 40 + 2.
    do_bad = struct.pack('!BB', 58, 0) + bytes([0x87, 4, 0, 0, 0, 0])
    frames.append(ipv6(IP_A, IP_B, 60, do_bad + echo(IP_A, IP_B, 0x6e68, 2, b'do-unknown')))
    # 3. A type 0 routing header with segments left 1 (RFC 5095 §3): PP code 0, pointer 42.
    rh0 = struct.pack('!BBBBI', 58, 2, 0, 1, 0) + IP_A
    frames.append(ipv6(IP_A, IP_B, 43, rh0 + echo(IP_A, IP_A, 0x6e68, 3, b'rh0')))
    # 4. Hop-by-hop after destination options (RFC 8200 §4.1): PP code 1 pointing at the
    #    destination options' next header field, 40.
    do_pad = struct.pack('!BB', 0, 0) + bytes([1, 4, 0, 0, 0, 0])
    hbh = struct.pack('!BB', 58, 0) + bytes([1, 4, 0, 0, 0, 0])
    frames.append(ipv6(IP_A, IP_B, 60, do_pad + hbh + echo(IP_A, IP_B, 0x6e68, 4, b'hbh-late')))
    # 5. A good chain: hop-by-hop (PadN), destination options (Pad1 ×2, PadN, an unknown skippable
    #    option 0x1e), then the echo request: Linux answers with an echo reply.
    hbh_ok = struct.pack('!BB', 60, 0) + bytes([1, 4, 0, 0, 0, 0])
    do_ok = struct.pack('!BB', 58, 1) + bytes([0, 0, 1, 2, 0, 0, 0x1E, 4, 0xDE, 0xAD, 0xBE, 0xEF, 1, 0])
    frames.append(ipv6(IP_A, IP_B, 0, hbh_ok + do_ok + echo(IP_A, IP_B, 0x6e68, 5, b'good-chain')))
    # 6. An atomic fragment (offset 0, M clear, RFC 6946) holding an echo request.
    frag = struct.pack('!BBHI', 58, 0, 0, 0x4E455854)
    frames.append(ipv6(IP_A, IP_B, 44, frag + echo(IP_A, IP_B, 0x6e68, 6, b'atomic')))
    # 7. UDP to a closed port with a full checksum: port unreachable (code 4).
    data = b'nexthop udp6'
    udp = struct.pack('!HHHH', 54166, 5555, 8 + len(data), 0) + data
    frames.append(ipv6(IP_A, IP_B, 17, upper(IP_A, IP_B, 17, udp, 6)))
    # 8. TCP SYN with MSS 1440 to a closed port: RST+ACK.
    tcp = struct.pack('!HHIIBBHHH', 35768, 5556, 0xA19A595A, 0, 0x60, 0x02, 64800, 0, 0) + bytes.fromhex('020405a0')
    frames.append(ipv6(IP_A, IP_B, 6, upper(IP_A, IP_B, 6, tcp, 16)))
    return [eth(MAC_B, MAC_A, f) for f in frames]


def router_advertisement() -> bytes:
    # RFC 4861 §4.2: cur hop limit 64, O flag, router lifetime 1800 s, reachable 30000 ms,
    # retrans 1000 ms; options SLLA (§4.6.1), MTU 1400 (§4.6.4), prefix 2001:db8:1::/64 L+A valid
    # 86400 preferred 14400 (§4.6.2), RDNSS 2001:db8:1::53 lifetime 600 (RFC 8106 §5.1).
    ra = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0x40, 1800, 30000, 1000)
    ra += struct.pack('!BB', 1, 1) + MAC_B
    ra += struct.pack('!BBHI', 5, 1, 0, 1400)
    ra += struct.pack('!BBBBIII', 3, 4, 64, 0xC0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, '2001:db8:1::')
    ra += struct.pack('!BBHI', 25, 3, 0, 600) + socket.inet_pton(socket.AF_INET6, '2001:db8:1::53')
    packet = ipv6(LL_B, ALL_NODES, 58, upper(LL_B, ALL_NODES, 58, ra, 2), hlim=255)
    return eth(bytes.fromhex('333300000001'), MAC_B, packet)


if __name__ == '__main__':
    if sys.argv[1] == 'ra':
        send(sys.argv[2], [router_advertisement()])
    else:
        send(sys.argv[1], host_frames())
    print('sent')
