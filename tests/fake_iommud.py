# SPDX-License-Identifier: LGPL-2.1-or-later
"""A stand-in for iommud on Unix sockets, speaking its protocol (one JSON
object per line each way): each socket answers a request with the result
prepared for its method, and a subscription with prepared events, then
closes.  Tests send iommuctl through it any JSON a daemon of another
version could send, and (an answer given as bytes) any bytes at all: an
answer cut short, blanks between tokens, a line of many megabytes."""
import json
import os
import selectors
import socket
import threading


class FakeIommud:
    def __init__(self, directory):
        self.dir = directory
        self.sel = selectors.DefaultSelector()
        self.count = 0
        self.wake_r, self.wake_w = socket.socketpair()
        self.sel.register(self.wake_r, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def add(self, answers, events=()):
        """A new socket answering method -> result from answers (bytes:
        sent as they are, whatever the request's id), and "*.subscribe"
        with {"subscribed": true} followed by events."""
        path = os.path.join(self.dir, f"fake-{self.count}.sock")
        self.count += 1
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(16)
        s.setblocking(False)
        self.sel.register(s, selectors.EVENT_READ, (dict(answers), list(events)))
        self.wake_w.send(b"x")
        return path

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
                threading.Thread(target=self._answer, args=(conn, *key.data), daemon=True).start()

    @staticmethod
    def _answer(conn, answers, events):
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
                method, rid = req.get("method"), req.get("id")
                if isinstance(answers.get(method), bytes):
                    conn.sendall(answers[method])
                    return
                if method.endswith(".subscribe"):
                    lines = [{"id": rid, "result": {"subscribed": True}}]
                    lines += [{"event": "fault", "data": e} for e in events]
                elif method in answers:
                    lines = [{"id": rid, "result": answers[method]}]
                else:
                    lines = [{"id": rid, "error": {"code": 95, "message": f"no answer for {method}"}}]
                conn.sendall(b"".join(json.dumps(x).encode() + b"\n" for x in lines))
            except (OSError, ValueError):
                pass
