#!/usr/bin/env python3
"""A connection-rate tool for the tests: what netperf's TCP_CRR measures
(a new TCP connection per transaction: connect, one request, one
response, close), on a machine where netperf cannot be installed.

    crr.py serve PORT                 accept and answer until killed
    crr.py client HOST PORT SECONDS   transactions for SECONDS, then print
                                      netperf -k lines of TCP_CRR's keys

The client closes with SO_LINGER 0 (a reset, no TIME_WAIT) so that a
long run does not use up loopback's ephemeral ports.
"""
import socket
import struct
import sys
import threading
import time


def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # tests running side by side each start a server on the port; any of
    # them answers alike
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("0.0.0.0", port))
    s.listen(512)

    def answer(c):
        try:
            if c.recv(1):
                c.sendall(b"r")
        except OSError:
            pass
        finally:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=answer, args=(c,), daemon=True).start()


def client(host, port, seconds):
    lat = []
    end = time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < end:
        t0 = time.monotonic()
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.settimeout(2)
        try:
            c.connect((host, port))
            c.sendall(b"q")
            if not c.recv(1):
                raise OSError("closed before the response")
        except OSError as e:
            print(f"crr: transaction failed: {e}", file=sys.stderr)
            sys.exit(1)
        finally:
            c.close()
        lat.append((time.monotonic() - t0) * 1e6)
    elapsed = time.monotonic() - start
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))]

    print("MIGRATED TCP Connect/Request/Response TEST from 0.0.0.0 (0.0.0.0) "
          f"port 0 AF_INET to {host} () port {port} AF_INET")
    print(f"MIN_LATENCY={lat[0]:.0f}")
    print(f"MEAN_LATENCY={sum(lat) / len(lat):.2f}")
    print(f"P50_LATENCY={pct(50):.0f}")
    print(f"P90_LATENCY={pct(90):.0f}")
    print(f"P99_LATENCY={pct(99):.0f}")
    print(f"MAX_LATENCY={lat[-1]:.0f}")
    print(f"TRANSACTION_RATE={len(lat) / elapsed:.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(int(sys.argv[2]))
    elif sys.argv[1:2] == ["client"]:
        client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)
