# SPDX-License-Identifier: LGPL-2.1-or-later
"""Shared by the tests/test-daemon*.py scripts (not a test itself): TAP
output, starting iommud in a temporary directory and waiting for its
READY=1, raw socket clients, and making sure no daemon outlives a test.

Every daemon a test starts gets a notify socket (so the test knows when it
serves), its stderr in a file (so a sanitizer report fails the test), and is
killed at exit whatever happened."""
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

IOMMUD = os.environ["IOMMUD"]
IOMMUCTL = os.environ["IOMMUCTL"]
DATA = os.environ["TESTDATA"]
DAEMON_LOAD = os.environ.get("DAEMON_LOAD", "")
SANITIZE = os.environ.get("SANITIZE", "none")
SANITIZED = SANITIZE not in ("", "none")
# sanitized builds run slower: stretch waits, never the checks themselves
SLOW = 3 if SANITIZED else 1

FIXTURES = sorted(
    os.path.join(DATA, "snapshots", d, "snapshot.iommu")
    for d in os.listdir(os.path.join(DATA, "snapshots"))
    if os.path.exists(os.path.join(DATA, "snapshots", d, "snapshot.iommu")))

EBADMSG, EINVAL, EOPNOTSUPP, EACCES, E2BIG, EAGAIN, ETIMEDOUT = 74, 22, 95, 13, 7, 11, 110

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "SUMMARY: UndefinedBehaviorSanitizer", "SUMMARY: AddressSanitizer")


class Tap:
    def __init__(self):
        self.n = 0
        self.failures = 0

    def ok(self, cond, what, detail=""):
        self.n += 1
        print(("ok" if cond else "not ok") + f" {self.n} - {what}", flush=True)
        if not cond:
            self.failures += 1
            for line in str(detail).splitlines()[:40]:
                print(f"# {line}", flush=True)
        return cond

    def skip(self, what, why):
        self.n += 1
        print(f"ok {self.n} - {what} # SKIP {why}", flush=True)

    def diag(self, text):
        for line in str(text).splitlines():
            print(f"# {line}", flush=True)

    def done(self):
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failures else 0)


_running = []


@atexit.register
def _kill_all():
    for d in list(_running):
        d.kill()


class Daemon:
    """iommud in directory tmp; name distinguishes several in one directory.
    Without --listen-http in args it gets --no-http: tests running side by
    side must not all take the default port."""

    def __init__(self, tmp, name="iommud", args=(), config="", env=None, wrapper=(), socket_path=None,
                 pass_fds=(), notify=True, config_path=None):
        self.tmp = tmp
        self.name = name
        self.socket = socket_path or os.path.join(tmp, name + ".sock")
        self.config = config_path or os.path.join(tmp, name + ".conf")
        if config_path is None:
            with open(self.config, "w") as f:
                f.write(config)
        self.stderr_path = os.path.join(tmp, name + ".stderr")
        self.notes = []
        self.cond = threading.Condition()
        self.notify = None
        cmd = [*wrapper, IOMMUD, "--config", self.config, *args]
        if socket_path is None and "--socket" not in args:
            cmd += ["--socket", self.socket]
        if not any(a == "--no-http" or a.startswith("--listen-http") for a in args):
            cmd.append("--no-http")
        # the control state goes to the test's own directory, never /var/lib
        self.state_dir = os.path.join(tmp, name + ".state")
        if "--state-dir" not in args and "StateDirectory=" not in config:
            cmd += ["--state-dir", self.state_dir]
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("LISTEN_FDS", None)
        e.pop("WATCHDOG_USEC", None)
        if notify:
            npath = os.path.join(tmp, name + ".notify")
            if os.path.exists(npath):
                os.unlink(npath)
            self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.notify.bind(npath)
            e["NOTIFY_SOCKET"] = npath
        if env:
            for k, v in env.items():
                if v is None:
                    e.pop(k, None)
                else:
                    e[k] = v
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr_file, env=e, pass_fds=pass_fds)
        self.pid = self.proc.pid
        _running.append(self)
        if self.notify:
            self.reader = threading.Thread(target=self._read_notify, daemon=True)
            self.reader.start()

    def _read_notify(self):
        # systemd reads at once; so must we, or sd_notify() blocks the daemon
        # once the datagram queue is full
        while True:
            try:
                m = self.notify.recv(4096).decode()
            except OSError:
                return
            if not m:
                return
            with self.cond:
                self.notes.append(m)
                self.cond.notify_all()

    def mark(self):
        """Where the notify messages are now, for wait_for(since=)."""
        with self.cond:
            return len(self.notes)

    def wait_for(self, pred, timeout=10, since=0):
        """The first notify message from since on matching pred, waiting
        for it (None when the time passes or the daemon exits)."""
        deadline = time.monotonic() + timeout * SLOW
        exited = None
        with self.cond:
            while True:
                for m in self.notes[since:]:
                    if pred(m):
                        return m
                now = time.monotonic()
                if exited is None and self.proc.poll() is not None:
                    exited = now  # what it sent last may still be in the socket
                if now >= deadline or (exited is not None and now - exited > 0.5):
                    return None
                self.cond.wait(0.1)

    def count(self, pred, since=0):
        with self.cond:
            return sum(1 for m in self.notes[since:] if pred(m))

    def wait_ready(self, timeout=15, since=0):
        return self.wait_for(lambda m: "READY=1" in m.split("\n"), timeout, since) is not None

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def sanitizer_report(self):
        text = self.stderr()
        return any(m in text for m in SANITIZER_MARKS)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signal, wait; the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        self._done()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._done()

    def _done(self):
        if self in _running:
            _running.remove(self)
        if self.notify:
            time.sleep(0.05)  # the last datagrams
            self.notify.shutdown(socket.SHUT_RDWR)
            self.reader.join(5)
            self.notify.close()
            self.notify = None
        self.stderr_file.close()

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    def client(self, timeout=10):
        return Client(self.socket, timeout)

    def call(self, method, params=None, id=1, timeout=10):
        with self.client(timeout) as c:
            return c.call(method, params, id)


class Client:
    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout * SLOW)
        self.sock.connect(path)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        if isinstance(data, (dict, list)):
            data = json.dumps(data).encode() + b"\n"
        elif isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def recv_line(self):
        """The next line (bytes, without "\\n"); None at the end."""
        while b"\n" not in self.buf:
            try:
                k = self.sock.recv(1 << 20)
            except ConnectionResetError:
                k = b""
            if not k:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line
                return None
            self.buf += k
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def recv(self):
        line = self.recv_line()
        return None if line is None else json.loads(line)

    def call(self, method, params=None, id=1):
        req = {"method": method, "id": id}
        if params is not None:
            req["params"] = params
        self.send(req)
        return self.recv()

    def at_eof(self, timeout=5):
        """Whether the daemon closed the connection (within timeout)."""
        self.sock.settimeout(timeout * SLOW)
        try:
            while True:
                k = self.sock.recv(65536)
                if not k:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def iommuctl(*args, timeout=60):
    p = subprocess.run([IOMMUCTL, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def error_is(answer, code, *words, id=None):
    """An error answer with this code whose message has every word."""
    if not answer or "error" not in answer or answer.get("id") != id:
        return False
    e = answer["error"]
    return e.get("code") == code and all(w in e.get("message", "") for w in words)
