#!/usr/bin/python3
# Produces tcp-md5-linux.fixture.ts's frames (not run by the tests or CI; needs root): two network
# namespaces joined by a veth pair, a Linux TCP_MD5SIG server in one and client in the other, over
# IPv4 and IPv6, with the client's frames captured by an AF_PACKET socket. Prints the TCP frames as
# hex, one a line, in capture order. The namespaces get unique names and are deleted afterwards.
#   sudo python3 packages/stack/test/tools/capture-linux-tcp-md5.py
import json, os, socket, struct, subprocess, sys, time

KEY = b'nexthop-md5-test'
TCP_MD5SIG = 14


def md5sig(family, addr):
    """struct tcp_md5sig: sockaddr_storage(128), u8 flags, u8 prefixlen, u16 keylen, u32 ifindex, key[80]."""
    if family == 4:
        ss = struct.pack('=H', socket.AF_INET) + struct.pack('!H4s', 0, socket.inet_pton(socket.AF_INET, addr))
    else:
        ss = struct.pack('=H', socket.AF_INET6) + struct.pack(
            '!HI16sI', 0, 0, socket.inet_pton(socket.AF_INET6, addr), 0)
    return ss.ljust(128, b'\0') + struct.pack('=BBHI', 0, 0, len(KEY), 0) + KEY.ljust(80, b'\0')


def server(family):
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    s = socket.socket(af, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(family, '10.99.0.1' if family == 4 else 'fd00:99::1'))
    s.bind(('0.0.0.0' if family == 4 else '::', 17900 + family))
    s.listen(1)
    c, _ = s.accept()
    c.sendall(c.recv(100).upper())
    c.close()


def client():
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    cap.bind(('va', 0))
    cap.settimeout(0.3)
    for family, peer in ((4, '10.99.0.2'), (6, 'fd00:99::2')):
        s = socket.socket(socket.AF_INET if family == 4 else socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(family, peer))
        s.bind(('10.99.0.1' if family == 4 else 'fd00:99::1', 40000 + family))
        s.connect((peer, 17900 + family))
        s.sendall(b'hello bgp')
        s.recv(100)
        s.close()
    time.sleep(0.3)
    try:
        while True:
            f = cap.recv(65535)
            if (f[12:14] == b'\x08\x00' and f[23] == 6) or (f[12:14] == b'\x86\xdd' and f[20] == 6):
                print(f.hex())
    except socket.timeout:
        pass


def main():
    a, b = f'nhmd5a{os.getpid()}', f'nhmd5b{os.getpid()}'
    run = lambda *c: subprocess.run(c, check=True)
    run('ip', 'netns', 'add', a)
    run('ip', 'netns', 'add', b)
    try:
        run('ip', 'link', 'add', 'va', 'netns', a, 'type', 'veth', 'peer', 'name', 'vb', 'netns', b)
        for ns, dev, v4, v6 in ((a, 'va', '10.99.0.1/24', 'fd00:99::1/64'), (b, 'vb', '10.99.0.2/24', 'fd00:99::2/64')):
            run('ip', '-n', ns, 'addr', 'add', v4, 'dev', dev)
            run('ip', '-n', ns, 'addr', 'add', v6, 'dev', dev, 'nodad')
            run('ip', '-n', ns, 'link', 'set', dev, 'up')
        me = os.path.abspath(__file__)
        servers = [subprocess.Popen(['ip', 'netns', 'exec', b, sys.executable, me, 'server', str(f)]) for f in (4, 6)]
        time.sleep(0.5)
        run('ip', 'netns', 'exec', a, sys.executable, me, 'client')
        for p in servers:
            p.wait(timeout=5)
    finally:
        subprocess.run(['ip', 'netns', 'del', a])
        subprocess.run(['ip', 'netns', 'del', b])


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == 'server':
        server(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == 'client':
        client()
    else:
        main()
