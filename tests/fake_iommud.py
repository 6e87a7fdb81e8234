# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for iommud on Unix sockets, speaking its protocol (one JSON
object per line each way): each socket answers a request with the result
prepared for its method, and a subscription with prepared events, then
closes.  Tests send iommuctl through it any JSON a daemon of another
version could send, and (an answer given as bytes) any bytes at all: an
answer cut short, blanks between tokens, a line of many megabytes.  Each
socket records the requests it was sent, and how many connections it
accepted, so that tests check exactly what iommuctl asked (and that a
wrong command line asked nothing)."""
import json
import os
import selectors
import socket
import threading


class Error:
    """An error answer: {"error": {"code": code, "message": message}}."""

    def __init__(self, code, message):
        self.code, self.message = code, message


class FakeIommud:
    def __init__(self, directory):
        self.dir = directory
        self.sel = selectors.DefaultSelector()
        self.count = 0
        self.lock = threading.Lock()
        self.log = {}  # path -> the requests it was sent, parsed, in the order they came
        self.accepted = {}  # path -> connections accepted
        self.wake_r, self.wake_w = socket.socketpair()
        self.sel.register(self.wake_r, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def add(self, answers, events=()):
        """A new socket answering method -> result from answers (bytes:
        sent as they are, whatever the request's id; an Error: that error),
        and "*.subscribe" with {"subscribed": true} followed by events."""
        path = os.path.join(self.dir, f"fake-{self.count}.sock")
        self.count += 1
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(16)
        s.setblocking(False)
        with self.lock:
            self.log[path], self.accepted[path] = [], 0
        self.sel.register(s, selectors.EVENT_READ, (path, dict(answers), list(events)))
        self.wake_w.send(b"x")
        return path

    def requests(self, path):
        """The requests the socket at path was sent so far."""
        with self.lock:
            return list(self.log[path])

    def connections(self, path):
        """How many connections the socket at path accepted so far."""
        with self.lock:
            return self.accepted[path]

    def close(self):
        self.wake_w.send(b"q")
        self.thread.join(5)

    def _serve(self):
        while True:
            for key, _ in self.sel.select():
                if key.data is None:
                    if b"q" in self.wake_r.recv(64):
                        for k in list(self.sel.get_map().values()):
                            k.fileobj.close()
                        return
                    continue
                try:
                    conn, _ = key.fileobj.accept()
                except BlockingIOError:
                    continue
                with self.lock:
                    self.accepted[key.data[0]] += 1
                threading.Thread(target=self._answer, args=(conn, *key.data), daemon=True).start()

    def _answer(self, conn, path, answers, events):
        with conn:
            conn.settimeout(10)
            buf = b""
            try:
                while b"\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                req = json.loads(buf.split(b"\n", 1)[0])
                with self.lock:
                    self.log[path].append(req)
                method, rid = req.get("method"), req.get("id")
                if isinstance(answers.get(method), bytes):
                    conn.sendall(answers[method])
                    return
                if method.endswith(".subscribe"):
                    lines = [{"id": rid, "result": {"subscribed": True}}]
                    lines += [{"event": "fault", "data": e} for e in events]
                elif isinstance(answers.get(method), Error):
                    e = answers[method]
                    lines = [{"id": rid, "error": {"code": e.code, "message": e.message}}]
                elif method in answers:
                    lines = [{"id": rid, "result": answers[method]}]
                else:
                    lines = [{"id": rid, "error": {"code": 95, "message": f"no answer for {method}"}}]
                conn.sendall(b"".join(json.dumps(x).encode() + b"\n" for x in lines))
            except (OSError, ValueError):
                pass
