"""Bulk TCP client and server for bench/tcp.ts: the same program on every side of every measurement.

  tcp-stream.py send HOST PORT BYTES SECONDS   connect, write BYTES (or stop after SECONDS), half-close,
                                               wait for the peer's FIN; prints one JSON line
  tcp-stream.py recv HOST PORT BYTES SECONDS   connect, read BYTES (or stop after SECONDS), close
  tcp-stream.py serve ADDR                     kernel stand-ins for the VR's services: discard on 9
                                               (read until EOF, then close), chargen on 19 (write
                                               the RFC 864 pattern until the peer goes away)

Buffers: 1 MiB application buffers, recv_into a preallocated bytearray, no SO_RCVBUF/SO_SNDBUF (so the
kernel's autotuning stays on, up to net.ipv4.tcp_rmem/tcp_wmem). The client reads TCP_INFO at the end.
"""

import json
import socket
import struct
import sys
import threading
import time

CHUNK = 1 << 20
# RFC 864 pattern: 95 lines of 72 printable characters and CRLF, repeated to fill one chunk.
LINES = b''.join(bytes(32 + (i + j) % 95 for j in range(72)) + b'\r\n' for i in range(95))
PATTERN = (LINES * (CHUNK // len(LINES) + 1))[:CHUNK]
STALL_TIMEOUT_S = 30


def tcp_info(s):
    # struct tcp_info (linux/tcp.h): 8 bytes of u8 fields, then u32 fields from tcpi_rto on.
    raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    u32 = struct.unpack_from('<24I', raw, 8)
    return {'snd_mss': u32[2], 'rcv_mss': u32[3], 'rtt_us': u32[15], 'snd_cwnd': u32[18], 'total_retrans': u32[23]}


def client(mode, host, port, total, seconds):
    s = socket.create_connection((host, port), timeout=STALL_TIMEOUT_S)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    data = memoryview(PATTERN)
    moved = 0
    longest_call = 0.0
    error = None
    t0 = time.perf_counter()
    deadline = t0 + seconds
    try:
        if mode == 'send':
            while moved < total and time.perf_counter() < deadline:
                c0 = time.perf_counter()
                moved += s.send(data[: min(CHUNK, total - moved)])
                longest_call = max(longest_call, time.perf_counter() - c0)
            s.shutdown(socket.SHUT_WR)
            # The peer closes after it has read everything: the data is consumed, not just buffered.
            while s.recv_into(view) > 0:
                pass
        else:
            while moved < total and time.perf_counter() < deadline:
                c0 = time.perf_counter()
                n = s.recv_into(view, min(CHUNK, total - moved))
                longest_call = max(longest_call, time.perf_counter() - c0)
                if n == 0:
                    error = 'early EOF'
                    break
                moved += n
    except OSError as e:
        error = repr(e)
    elapsed = time.perf_counter() - t0
    info = tcp_info(s)
    s.close()
    print(json.dumps({'bytes': moved, 'seconds': elapsed, 'longest_call_s': longest_call, 'error': error, **info}))


def serve_discard(conn):
    view = memoryview(bytearray(CHUNK))
    try:
        while conn.recv_into(view) > 0:
            pass
    except OSError:
        pass
    conn.close()


def serve_chargen(conn):
    data = memoryview(PATTERN)
    try:
        while True:
            conn.send(data)
    except OSError:
        pass
    conn.close()


def listener(addr, port, handler):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(8)
    def loop():
        while True:
            conn, _ = ls.accept()
            threading.Thread(target=handler, args=(conn,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def main():
    mode = sys.argv[1]
    if mode == 'serve':
        listener(sys.argv[2], 9, serve_discard)
        listener(sys.argv[2], 19, serve_chargen)
        print('ready', flush=True)
        threading.Event().wait()
    else:
        client(mode, sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))


main()
