#!/usr/bin/python3
"""HTTP sink for the notifier's webhook tests.

Usage: webhook_sink.py DIR

Listens on a free loopback port, prints "ready PORT" and saves every request as
DIR/NNNNNN.headers (request line, then the headers as received) and DIR/NNNNNN.body.
The answer depends on the path: /ok 200, /created 201, /fail 500, /notfound 404,
/redirect 302 to /ok, /big 200 with a 1 MiB body, /slow 200 after 3 s.
Exits when its standard input closes, so a test that dies takes it along.
"""
import itertools
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIRECTORY = None
SEQ = itertools.count(1)
SEQ_LOCK = threading.Lock()
STATUS = {"/ok": 200, "/created": 201, "/fail": 500, "/notfound": 404, "/redirect": 302,
          "/big": 200, "/slow": 200}


def save(name, data):
    tmp = os.path.join(DIRECTORY, "." + name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(DIRECTORY, name))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with SEQ_LOCK:
            n = next(SEQ)
        save("%06d.body" % n, body)
        head = self.requestline + "\n" + "".join(
            "%s: %s\n" % (k, v) for k, v in self.headers.items())
        # The .headers file is written last: a test that sees it sees the body too.
        save("%06d.headers" % n, head.encode())
        path = self.path.split("?", 1)[0]
        if path == "/slow":
            time.sleep(3)
        answer = b"x" * (1024 * 1024) if path == "/big" else b'{"ok":true}'
        self.send_response(STATUS.get(path, 404))
        if path == "/redirect":
            self.send_header("Location", "/ok")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        try:
            self.wfile.write(answer)
        except (BrokenPipeError, ConnectionResetError):
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up early (the /big and /slow tests) is expected.
        pass


def exit_on_stdin_eof():
    for _ in sys.stdin.buffer:
        pass
    os._exit(0)


def main():
    global DIRECTORY
    DIRECTORY = sys.argv[1]
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    print("ready %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
