"""Test listener: accepts TCP connections and echoes UDP datagrams on the given
ports, so the verify step can tell an open port from a dropped one. Test harness only.
TCP connections are greeted with LISTENER_BANNER (default "open"), so a probe can
tell which listener answered."""
import os
import selectors
import socket
import sys

sel = selectors.DefaultSelector()
for spec in sys.argv[1:]:
    proto, port = spec.split("/")
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", int(port)))
    if proto == "tcp":
        sock.listen(64)
    sel.register(sock, selectors.EVENT_READ, proto)

while True:
    for key, _ in sel.select():
        sock = key.fileobj
        if key.data == "tcp":
            conn, dummy = sock.accept()
            try:
                conn.sendall(os.environ.get("LISTENER_BANNER", "open").encode() + b"\n")
            finally:
                conn.close()
        else:
            data, peer = sock.recvfrom(2048)
            sock.sendto(b"open:" + data, peer)
