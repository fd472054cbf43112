#!/usr/bin/env python3
"""The fake cluster's stand-in for agnhost `netexec` (the backend of the
service-churn scenario): an HTTP server whose `/hostname` answers the
pod's name, as netexec's does.

    backend.py netexec --http-port=8080

It listens on the pod's IP ($POD_IP, from the downward API; all
addresses without it), so that pods of one machine's loopback do not
share a port.
"""
import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (os.environ.get("HOSTNAME", "") if self.path.startswith("/hostname") else "NOW").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    port = 8080
    for a in sys.argv[1:]:
        if a.startswith("--http-port="):
            port = int(a.split("=", 1)[1])
    if sys.argv[1:2] != ["netexec"]:
        sys.exit("usage: backend.py netexec [--http-port=N]")
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    # probes from every node at once: a deeper queue than socketserver's 5
    http.server.ThreadingHTTPServer.request_queue_size = 128
    srv = http.server.ThreadingHTTPServer((os.environ.get("POD_IP", "0.0.0.0"), port), Handler)
    srv.serve_forever()


if __name__ == "__main__":
    main()
