"""A small Server-Sent Events client for the black-box tests of GET /api/v1/events.

It speaks HTTP/1.1 over a plain socket (so that a test controls every byte sent and sees
every byte received), decodes the chunked answer and parses the event stream on a thread
of its own; tests take events from a queue with a timeout.
"""

import json
import queue
import socket
import threading
import time


class Event:
    """One event of the stream: its id (int), kind (the event: line) and data (parsed)."""

    def __init__(self, event_id, kind, data, received_at):
        self.id = event_id
        self.kind = kind
        self.data = data
        self.received_at = received_at  # time.monotonic() when its blank line arrived

    def __repr__(self):
        return "Event(%s %s %s)" % (self.id, self.kind, self.data)


class EventStream:
    """GET /api/v1/events on 127.0.0.1:port. status and headers (lower-case names) of the
    answer are known on return; a 200 is then read in the background, anything else is
    read whole (body: parsed JSON)."""

    def __init__(self, port, token=None, last_event_id=None, after=None, headers=None,
                 timeout=10):
        path = "/api/v1/events"
        if after is not None:
            path += "?after=%s" % after
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port,
                 "Accept: text/event-stream"]
        if token is not None:
            lines.append("Authorization: Bearer %s" % token)
        if last_event_id is not None:
            lines.append("Last-Event-ID: %s" % last_event_id)
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.events = queue.Queue()
        self.comments = []
        self.closed = threading.Event()
        self.error = None
        self.body = None
        self._raw = b""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self._read_head()
        self.thread = None
        if self.status == 200:
            self.sock.settimeout(None)
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        else:
            self._read_whole_body()

    # -- the answer's head ---------------------------------------------------------------

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        return data

    def _read_head(self):
        while b"\r\n\r\n" not in self._raw:
            self._raw += self._recv()
        head, _, self._raw = self._raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()

    def _read_whole_body(self):
        n = int(self.headers.get("content-length", "0"))
        try:
            while len(self._raw) < n:
                self._raw += self._recv()
        except (EOFError, OSError):
            pass
        text = self._raw[:n].decode("utf-8", errors="replace")
        try:
            self.body = json.loads(text)
        except ValueError:
            self.body = text
        self.sock.close()
        self.closed.set()

    # -- the stream ----------------------------------------------------------------------

    def _chunks(self):
        """The decoded bytes of the chunked body, as they come."""
        assert "chunked" in self.headers.get("transfer-encoding", ""), self.headers
        while True:
            while b"\r\n" not in self._raw:
                self._raw += self._recv()
            size_line, _, self._raw = self._raw.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(self._raw) < size + 2:
                self._raw += self._recv()
            chunk, self._raw = self._raw[:size], self._raw[size + 2:]
            if size == 0:
                return
            yield chunk

    def _run(self):
        pending = b""
        fields = {}
        try:
            for chunk in self._chunks():
                pending += chunk
                while b"\n" in pending:
                    line, _, pending = pending.partition(b"\n")
                    self._line(line.decode("utf-8"), fields)
        except (EOFError, OSError) as e:
            self.error = e
        except Exception as e:  # a malformed stream: the test sees it in .error
            self.error = e
        finally:
            self.closed.set()

    def _line(self, line, fields):
        if line == "":
            if "data" in fields or "event" in fields:
                data = json.loads(fields.get("data", "null"))
                event_id = int(fields["id"]) if "id" in fields else None
                self.events.put(Event(event_id, fields.get("event"), data, time.monotonic()))
            fields.clear()
            return
        if line.startswith(":"):
            self.comments.append(line)
            return
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        assert name not in fields or name == "data", "field %s twice: %r" % (name, line)
        fields[name] = value

    # -- for tests -----------------------------------------------------------------------

    def next(self, timeout=5.0):
        """The next event; fails the test when none comes within timeout seconds."""
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no event within %.1f s (closed=%s, error=%r)"
                                 % (timeout, self.closed.is_set(), self.error))

    def take(self, n, timeout=5.0):
        """The next n events."""
        deadline = time.monotonic() + timeout
        return [self.next(max(0.01, deadline - time.monotonic())) for _ in range(n)]

    def until(self, predicate, timeout=5.0):
        """Events up to and including the first that satisfies predicate."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            e = self.next(max(0.01, deadline - time.monotonic()))
            got.append(e)
            if predicate(e):
                return got

    def drain(self, wait=0.3):
        """Every event that arrives within wait seconds."""
        got = []
        deadline = time.monotonic() + wait
        while True:
            try:
                got.append(self.events.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                return got

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self.thread:
            self.thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
