"""probe.py tcp|udp ADDRESS PORT -> prints open, refused or dropped. Test harness only:
used between the scenario's own containers."""
import socket
import sys

proto, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
if proto == "tcp":
    try:
        with socket.create_connection((address, port), timeout=timeout):
            print("open")
    except ConnectionRefusedError:
        print("refused")
    except (socket.timeout, TimeoutError):
        print("dropped")
else:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(b"probe", (address, port))
        try:
            data, dummy = sock.recvfrom(2048)
            print("open" if data.startswith(b"open") else "other")
        except ConnectionRefusedError:
            print("refused")
        except (socket.timeout, TimeoutError):
            print("dropped")
