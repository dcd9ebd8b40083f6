#!/usr/bin/env python3
"""A hostile client of the remote socket protocol (docs/remote-socket-protocol.md), for tests.

  hostile.py SOCKET SECONDS LINGER [--no-hello]

For SECONDS it hands the VR kernel TCP sockets whose last close blocks: each is connected to a
listener of its own that never accepts or reads, filled until the window is shut, with SO_LINGER
{1, LINGER} (socket(7): close() then waits up to LINGER seconds for the unsent data). Every socket
goes with several requests: ATTACH, SOCKET, a malformed message, three copies in one ATTACH, and a
HELLO on a fresh connection (before authentication), then the helper closes its own copy, so the
VR's copies are the last (or, if the VR was quicker, our close blocks: on a thread). Replies are read and thrown away; a connection the VR closes is reopened.
With --no-hello it never authenticates (a user off the access list). Prints one JSON line at the end.
"""
import errno
import json
import os
import socket
import struct
import sys
import threading
import time

MAGIC = b'NHRS'


def message(kind, mid, body=b''):
    return MAGIC + struct.pack('<HHII', 1, kind, mid, len(body)) + body


def hello(mid):
    name = b'hostile'
    return message(0x0001, mid, struct.pack('<HHIH', 1, 1, 0, len(name)) + name)


def lingering(listener):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    s.connect(listener.getsockname())
    s.setblocking(False)
    try:
        while True:
            s.send(b'x' * 4096)
    except BlockingIOError:
        pass
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, LINGER))
    return s


def connect(path, authenticate):
    """A control connection; authenticated (HELLO answered, descriptors accepted) unless told not."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    c.connect(path)
    if authenticate:
        c.settimeout(2)
        try:
            c.send(hello(1))
            c.recv(8192)
        except OSError:
            pass
    c.setblocking(False)
    return c


def send(c, data, fds):
    """sendmsg; the errno (EPERM: the VR refuses descriptors on this socket) or 0."""
    try:
        socket.send_fds(c, [data], fds)
        return 0
    except OSError as e:
        return e.errno


def drain(c):
    """Reads what the VR answered; False when it closed the connection."""
    while True:
        try:
            if c.recv(8192) == b'':
                return False
        except BlockingIOError:
            return True
        except OSError:
            return False


PATH = sys.argv[1]
SECONDS = float(sys.argv[2])
LINGER = int(sys.argv[3])
AUTH = '--no-hello' not in sys.argv

stats = {'sockets': 0, 'sent': 0, 'refused': 0, 'full': 0, 'other': 0, 'reconnects': 0}
listeners = []
conn = connect(PATH, AUTH)
deadline = time.monotonic() + SECONDS
mid = 2
while time.monotonic() < deadline:
    # A listener per 200 sockets: its accept queue (never accepted) holds them.
    if stats['sockets'] % 200 == 0:
        lst = socket.socket()
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        lst.bind(('127.0.0.1', 0))
        lst.listen(256)
        listeners.append(lst)
    s = lingering(listeners[-1])
    stats['sockets'] += 1
    fd = s.fileno()
    tries = [
        (message(0x000d, mid), [fd]),  # ATTACH
        (message(0x0002, mid + 1, struct.pack('<HHI', 2, 1, 0)), [fd]),  # SOCKET with a descriptor
        (b'garbage!' * 3, [fd]),  # malformed
        (message(0x000d, mid + 2), [fd, fd, fd]),  # ATTACH with three
        (message(0x0009, mid + 3, struct.pack('<I', 77)), [fd]),  # GETSOCKNAME
    ]
    mid += 4
    for data, fds in tries:
        e = send(conn, data, fds)
        key = 'sent' if e == 0 else 'refused' if e == errno.EPERM else 'full' if e == errno.EAGAIN else 'other'
        stats[key] += 1
    # Before authentication, on a connection of its own.
    fresh = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        fresh.connect(PATH)
        e = send(fresh, hello(1), [fd])
        key = 'sent' if e == 0 else 'refused' if e == errno.EPERM else 'other'
        stats[key] += 1
    except OSError:
        stats['other'] += 1
    fresh.close()
    # Our own close blocks too when the VR was quicker to close its copies: not on this thread.
    threading.Thread(target=s.close, daemon=True).start()
    if not drain(conn):
        conn.close()
        stats['reconnects'] += 1
        try:
            conn = connect(PATH, AUTH)
        except OSError:
            time.sleep(0.05)
            conn = connect(PATH, AUTH)
    time.sleep(0.01)
print(json.dumps(stats), flush=True)
