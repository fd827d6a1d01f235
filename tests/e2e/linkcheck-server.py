#!/usr/bin/env python3
"""linkcheck-server.py - a misbehaving web server on 127.0.0.1 for
tests/e2e/linkcheck.sh: the cases nginx cannot be made to play.

Usage: python3 linkcheck-server.py [--port N] [--lifetime SECS]

It listens on 127.0.0.1 only, on port N (0, the default: any free port),
prints the port on the first line of stdout once it listens, and exits on
SIGTERM, once the process that started it has ended, or at the latest
after --lifetime seconds (default 120), so that a test killed before its
cleanup leaves nothing running.

  /hang       reads the request and never answers (until the lifetime ends)
  /drop       reads the request and closes the connection without a word
  /big        HEAD: 405; GET: 200, application/octet-stream, 10 GiB of
              zeros, written 64 KiB at a time with a pause now and then, so
              a client that reads it whole would take minutes
  /big.html   HEAD and GET: 200, text/html, 10 GiB: a link to /small, then
              filler, written the same way
  /small      200, text/plain, "small\\n"
  /head405    HEAD: 405; GET: 200, text/plain
  /head501    HEAD: 501; GET: 200, text/plain
  anything else: 404
"""

import argparse
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG = 10 * 1024**3
CHUNK = 64 * 1024
STOP = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "linkcheck-server"

    def log_message(self, format, *args):  # quiet
        pass

    def send_small(self, status, ctype, body, head=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def stream(self, ctype, first, head=False):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(BIG))
        self.end_headers()
        if head:
            return
        sent = 0
        block = first + b" " * (CHUNK - len(first))
        filler = (b"<p>" + b"x" * 60 + b"</p>\n") * (CHUNK // 68)
        filler += b" " * (CHUNK - len(filler))
        if ctype != "text/html":
            block = filler = b"\0" * CHUNK
        try:
            while sent < BIG and not STOP.is_set():
                self.wfile.write(block)
                sent += len(block)
                block = filler
                if sent % (16 * CHUNK) == 0:
                    time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def answer(self, head):
        path = self.path.split("?", 1)[0]
        if path == "/hang":
            STOP.wait()
            self.close_connection = True
        elif path == "/drop":
            self.close_connection = True
        elif path == "/big":
            if head:
                self.send_small(405, "text/plain", b"no HEAD\n", head=True)
            else:
                self.stream("application/octet-stream", b"")
        elif path == "/big.html":
            self.stream("text/html",
                        b'<html><body><a href="/small">small</a>\n', head)
        elif path == "/small":
            self.send_small(200, "text/plain", b"small\n", head)
        elif path in ("/head405", "/head501"):
            if head:
                self.send_small(int(path[5:]), "text/plain", b"no HEAD\n",
                                head=True)
            else:
                self.send_small(200, "text/plain", b"GET only\n")
        else:
            self.send_small(404, "text/html",
                            b"<html><body>not found</body></html>\n", head)

    def do_GET(self):
        self.answer(False)

    def do_HEAD(self):
        self.answer(True)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120.0)
    args = ap.parse_args()
    if args.lifetime <= 0 or args.lifetime > 3600:
        ap.error("--lifetime must be in (0, 3600]")
    server = Server(("127.0.0.1", args.port), Handler)

    def end(*_):
        STOP.set()
        os._exit(0)

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, end)
    parent = os.getppid()

    def watch():
        deadline = time.monotonic() + args.lifetime
        while time.monotonic() < deadline and os.getppid() == parent:
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        end()

    threading.Thread(target=watch, daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
