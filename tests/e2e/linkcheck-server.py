#!/usr/bin/env python3
"""linkcheck-server.py - a misbehaving web server on 127.0.0.1 for
tests/e2e/linkcheck.sh and linkcheck-web.sh: the cases nginx cannot be made
to play.

Usage: python3 linkcheck-server.py [--port N] [--lifetime SECS]
                                   [--log FILE] [--tls CERT KEY]

It listens on 127.0.0.1 only, on port N (0, the default: any free port),
prints the port on the first line of stdout once it listens, and exits on
SIGTERM, once the process that started it has ended, or at the latest
after --lifetime seconds (default 120), so that a test killed before its
cleanup leaves nothing running. With --log, it appends a line for every
request to FILE as it arrives: the time (seconds since the epoch), the
method, the path and the User-Agent, TAB-separated. With --tls, it speaks
HTTPS with the certificate CERT and its key KEY (PEM files).

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

Retries: each path below counts its requests, whatever their method, and
closes every connection after its answer, so that no client retries on its
own on a kept connection; a test gives every run paths of its own (TOKEN).
  /ra/SECS/TOKEN       429 with Retry-After: SECS, always
  /ra-once/SECS/TOKEN  the first request: 429 with Retry-After: SECS; then
                       200, text/plain
  /s503-once/TOKEN     the first request: 503 (no Retry-After); then 200
  /reset-once/TOKEN    the first request: the connection is reset (TCP RST)
                       once the request is read; then 200
  /slow/MS             200, text/plain, after MS milliseconds
A small site, with the robots.txt that governs it:
  /robots.txt          a group for taskfarm-linkcheck that disallows
                       /rb/botonly/ but allows /rb/botonly/open.html, and
                       a group for other robots that disallows /rb/stars/
  /rb/index.html       links to /rb/stars/a.html, /rb/botonly/a.html,
                       /rb/botonly/open.html, /small and /rb/missing.html
  /rb/*/*.html         200, text/html, a page without links
  anything else: 404
"""

import argparse
import os
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG = 10 * 1024**3
CHUNK = 64 * 1024
STOP = threading.Event()
LOCK = threading.Lock()
COUNTS = {}  # path -> requests so far, for the paths that count them
LOG = None  # the --log file, or None

ROBOTS = b"""# linkcheck-server.py: the robots.txt of /rb/
User-agent: *
Disallow: /rb/stars/

User-agent: taskfarm-linkcheck
Disallow: /rb/botonly/
Allow: /rb/botonly/open.html
"""

RB_INDEX = b"""<!DOCTYPE html>
<html><head><title>rb</title></head><body>
<a href="stars/a.html">for any robot but taskfarm: disallowed</a>
<a href="botonly/a.html">for taskfarm: disallowed</a>
<a href="botonly/open.html">for taskfarm: allowed again</a>
<a href="/small">small</a>
<a href="missing.html">missing</a>
</body></html>
"""


def count(path):
    """How many requests PATH has had, this one included."""
    with LOCK:
        COUNTS[path] = COUNTS.get(path, 0) + 1
        return COUNTS[path]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "linkcheck-server"

    def log_message(self, format, *args):  # quiet
        pass

    def send_small(self, status, ctype, body, head=False, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_request_line(self):
        if LOG is None:
            return
        ua = self.headers.get("User-Agent", "")
        line = "%.6f\t%s\t%s\t%s\n" % (time.time(), self.command, self.path,
                                       ua.replace("\t", " "))
        with LOCK:
            LOG.write(line)
            LOG.flush()

    def retry_case(self, path, head):
        """The paths of the retry cases; False when PATH is none of them."""
        mo = re.match(r"^/(ra/\d+|ra-once/\d+|s503-once|reset-once)/[^/]+$",
                      path)
        if mo is None:
            mo = re.match(r"^/slow/(\d+)$", path)
            if mo is None:
                return False
            STOP.wait(int(mo.group(1)) / 1000.0)
            self.send_small(200, "text/plain", b"slow\n", head)
            return True
        kind, _, secs = mo.group(1).partition("/")
        first = count(path) == 1
        self.close_connection = True
        close = [("Connection", "close")]
        if kind == "reset-once" and first:
            # Closed with a zero linger time, the socket sends RST; the
            # server closes it without a shutdown first (a FIN).
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.server.resets.add(self.connection)
        elif kind == "ra" or (kind == "ra-once" and first):
            self.send_small(429, "text/plain", b"too many\n", head,
                            close + [("Retry-After", secs)])
        elif kind == "s503-once" and first:
            self.send_small(503, "text/plain", b"unavailable\n", head, close)
        else:
            self.send_small(200, "text/plain", b"ok\n", head, close)
        return True

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
        self.log_request_line()
        path = self.path.split("?", 1)[0]
        if self.retry_case(path, head):
            pass
        elif path == "/robots.txt":
            self.send_small(200, "text/plain", ROBOTS, head)
        elif path == "/rb/index.html":
            self.send_small(200, "text/html", RB_INDEX, head)
        elif re.match(r"^/rb/[a-z]+/[a-z]+\.html$", path):
            self.send_small(200, "text/html",
                            b"<html><body>no links</body></html>\n", head)
        elif path == "/hang":
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
    tls = None  # an ssl.SSLContext, or None

    def __init__(self, *args, **kw):
        self.resets = set()  # connections to reset rather than close
        super().__init__(*args, **kw)

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls is not None:
            # The handshake happens on the first read, in the request's
            # thread: a client that gives up on the certificate holds up
            # no one else.
            sock = self.tls.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False)
        return sock, addr

    def shutdown_request(self, request):
        if request in self.resets:
            self.resets.discard(request)
            self.close_request(request)
            return
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # A client that hung up or refused the certificate is no error of
        # the server's.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--log", metavar="FILE")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = ap.parse_args()
    if args.lifetime <= 0 or args.lifetime > 3600:
        ap.error("--lifetime must be in (0, 3600]")
    global LOG
    if args.log is not None:
        LOG = open(args.log, "a", encoding="utf-8")
    server = Server(("127.0.0.1", args.port), Handler)
    if args.tls is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        server.tls = ctx

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
