"""A small HTTP server for the simulated cluster's nodes: a service on the private network
that only a tunnel reaches (tests/test_e2e_tunnel.py, bench/tunnel.py).

    GET /hello      "hello from <host name>\\n"
    GET /bytes/<n>  n bytes (a repeating pattern), with their length

Run: python tests/webserver.py --listen HOST:PORT
"""

import argparse
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATTERN = bytes(range(256)) * 4096  # 1 MiB


def pattern_bytes(count):
    """What GET /bytes/<count> sends, for a test to compare with."""
    whole, rest = divmod(count, len(PATTERN))
    return PATTERN * whole + PATTERN[:rest]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/hello":
            self._send(f"hello from {socket.gethostname()}\n".encode())
        elif self.path.startswith("/bytes/") and self.path[len("/bytes/"):].isdigit():
            count = int(self.path[len("/bytes/"):])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(count))
            self.end_headers()
            view = memoryview(PATTERN)
            while count:
                chunk = min(count, len(PATTERN))
                self.wfile.write(view[:chunk])
                count -= chunk
        else:
            self._send(b"not found\n", 404)

    def _send(self, body, status=200):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    options = parser.parse_args(argv)
    host, _, port = options.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
