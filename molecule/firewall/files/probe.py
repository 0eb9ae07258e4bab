"""probe.py tcp|udp|banner ADDRESS PORT [TIMEOUT [SOURCE]] -> prints open, refused or
dropped ("banner" prints the first line the listener sends instead of "open"), from
SOURCE when given. Test harness only: used between the scenario's own containers."""
import socket
import sys

proto, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
source = (sys.argv[5], 0) if len(sys.argv) > 5 else None
if proto in ("tcp", "banner"):
    try:
        with socket.create_connection((address, port), timeout=timeout, source_address=source) as conn:
            print(conn.makefile().readline().strip() if proto == "banner" else "open")
    except ConnectionRefusedError:
        print("refused")
    except (socket.timeout, TimeoutError):
        print("dropped")
    except OSError as error:
        print("unreachable (%s)" % error.strerror)
else:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        if source:
            sock.bind(source)
        sock.settimeout(timeout)
        sock.sendto(b"probe", (address, port))
        try:
            data, dummy = sock.recvfrom(2048)
            print("open" if data.startswith(b"open") else "other")
        except ConnectionRefusedError:
            print("refused")
        except (socket.timeout, TimeoutError):
            print("dropped")
