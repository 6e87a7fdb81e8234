#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How mappings scale: 10k, 100k and 1M scattered leaves (issue 9).

    bench/scale-bench.py [--build DIR] [--leaves N,N,...] [--keep DIR]

For each count, a snapshot of one device with that many scattered 4 KiB
leaves (bench/scale-snapshot.py), then, one run each:
  limits           the walk alone, the JSON written from the walk into
                   nothing, and a memcpy of the answer's bytes, in one
                   process (bench/mappings-limits)
  iommuctl         --snapshot F --json mappings and text, to /dev/null:
                   wall time and peak RSS
  iommud           --snapshot F, started fresh: the first GET /metrics,
                   GET /v1/mappings and socket v1.mappings read whole (time;
                   the bytes compared with iommuctl's), iommuctl through the
                   daemon, the daemon's VmRSS idle and after those; then
                   another fresh one whose first /v1/mappings goes to a
                   reader that takes 64 KiB every 20 ms: /healthz and
                   socket v1.info latency meanwhile
Figures go to stdout as one table per count; "same" says whether every
answer had exactly iommuctl --snapshot's bytes.  Needs the build's iommuctl,
iommud, bench/mappings-limits and bench/maxrss
(ninja -C build bench/mappings-limits bench/maxrss).
"""
import argparse
import hashlib
import http.client
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MAXRSS = None


def run_measured(argv, stdout=subprocess.DEVNULL):
    """Wall seconds, peak RSS (KiB), exit status of one process, run under
    bench/maxrss (a child's own ru_maxrss would count the copy of this
    Python it started as)."""
    t0 = time.monotonic()
    p = subprocess.run([MAXRSS, *argv], stdout=stdout, stderr=subprocess.PIPE)
    took = time.monotonic() - t0
    err = p.stderr.decode(errors="replace").splitlines()
    rss = int(err[-1].split()[1]) if err and err[-1].startswith("maxrss_kb ") else 0
    if p.returncode != 0:
        print(f"  ! {' '.join(argv)}: exit {p.returncode}: {' '.join(err[:-1]).strip()}", file=sys.stderr)
    return took, rss, p.returncode


def sha_of_command(argv):
    """sha256 and length of what argv prints, read as it comes."""
    h = hashlib.sha256()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    n, last = 0, b""
    while chunk := p.stdout.read(1 << 20):
        # the trailing newline is not part of the answer: hold the last byte back
        chunk = last + chunk
        last, chunk = chunk[-1:], chunk[:-1]
        h.update(chunk)
        n += len(chunk)
    p.wait()
    if last != b"\n":
        h.update(last)
        n += len(last)
    return h.hexdigest(), n


def vmrss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(port, path, timeout=300):
    """(seconds, status, sha256 of the body, body length)"""
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("GET", path)
    r = c.getresponse()
    h = hashlib.sha256()
    n = 0
    while chunk := r.read(1 << 20):
        h.update(chunk)
        n += len(chunk)
    c.close()
    return time.monotonic() - t0, r.status, h.hexdigest(), n


def socket_call(path, method, timeout=300):
    """(seconds, sha256 of the result's bytes, length): the answer line
    read whole, its result cut out of {"id":1,"result":...}."""
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(json.dumps({"method": method, "id": 1}).encode() + b"\n")
    buf = bytearray()
    while not buf.endswith(b"\n"):
        k = s.recv(1 << 20)
        if not k:
            break
        buf += k
    s.close()
    took = time.monotonic() - t0
    head = b'{"id":1,"result":'
    body = bytes(buf[len(head):-2]) if buf.startswith(head) and buf.endswith(b"}\n") else b""
    return took, hashlib.sha256(body).hexdigest(), len(body)


class SlowReader(threading.Thread):
    """GET /v1/mappings, taking 64 KiB every 20 ms until done or stopped."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.n, self.done = port, threading.Event(), 0, False

    def run(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(b"GET /v1/mappings HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        while not self.stop.is_set():
            k = s.recv(65536)
            if not k:
                self.done = True
                break
            self.n += len(k)
            time.sleep(0.02)
        s.close()


def latency_during_big_answer(port, sock):
    """Median and max of /healthz and of socket v1.info while a slow reader
    is being sent /v1/mappings; and whether it was still being sent."""
    reader = SlowReader(port)
    reader.start()
    time.sleep(0.3)
    health, info = [], []
    for _ in range(20):
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/healthz")
        ok = c.getresponse().read() == b"ok\n"
        c.close()
        health.append((time.monotonic() - t0) if ok else float("inf"))
        info.append(socket_call(sock, "v1.info", timeout=30)[0])
        time.sleep(0.05)
    during = not reader.done
    reader.stop.set()
    reader.join(10)
    return health, info, during, reader.n


class Daemon:
    """iommud --snapshot on a socket and a loopback port of its own."""

    def __init__(self, iommud, conf, snap, tmp, n):
        self.sock = os.path.join(tmp, f"iommud-{n}-{time.monotonic_ns()}.sock")
        self.port = free_port()
        self.argv = [iommud, "--config", conf, "--snapshot", snap, "--socket", self.sock, "--listen-http",
                     f"127.0.0.1:{self.port}"]

    def __enter__(self):
        self.p = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.p.pid
        for _ in range(400):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        self.p.terminate()
        try:
            self.p.wait(20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def fmt_ms(s):
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


def bench(n, args, tmp):
    build = args.build
    ctl = os.path.join(build, "src/cli/iommuctl")
    iommud = os.path.join(build, "src/daemon/iommud")
    snap = os.path.join(args.keep or tmp, f"scale-{n}.iommu")
    if not os.path.exists(snap):
        subprocess.run([sys.executable, os.path.join(HERE, "scale-snapshot.py"), str(n), snap], check=True)
    rows = []

    lim = subprocess.run([os.path.join(build, "bench/mappings-limits"), snap, "3"], capture_output=True,
                         text=True)
    f = lim.stdout.split()
    limits = dict(zip(f[::2], f[1::2])) if lim.returncode == 0 else {}
    rows.append(("walk alone", f"{float(limits.get('walk_ms', 'nan')):.1f} ms", ""))
    rows.append(("JSON written from the walk, to nothing", f"{float(limits.get('json_ms', 'nan')):.1f} ms", ""))
    rows.append((f"memcpy of the answer ({int(limits.get('bytes', 0)) / 1e6:.1f} MB)",
                 f"{float(limits.get('copy_ms', 'nan')):.1f} ms", ""))

    ref_sha, ref_len = sha_of_command([ctl, "--snapshot", snap, "--json", "mappings"])
    for label, argv in (("iommuctl --snapshot --json mappings", [ctl, "--snapshot", snap, "--json", "mappings"]),
                        ("iommuctl --snapshot mappings (text)", [ctl, "--snapshot", snap, "mappings"])):
        took, rss, rc = run_measured(argv)
        rows.append((label, fmt_ms(took) if rc == 0 else "FAILED", f"{rss / 1024:.1f} MB peak RSS"))

    conf = os.path.join(tmp, "empty.conf")
    open(conf, "w").close()

    # a fresh daemon: the first /metrics, the answers read whole, the RSS
    with Daemon(iommud, conf, snap, tmp, n) as d:
        idle = vmrss(d.pid)
        took, status, _, size = http_get(d.port, "/metrics")
        rows.append(("iommud: first GET /metrics", fmt_ms(took) if status == 200 else f"HTTP {status}",
                     f"{size} bytes"))
        took, status, sha, size = http_get(d.port, "/v1/mappings")
        rows.append(("iommud: GET /v1/mappings, read whole", fmt_ms(took) if status == 200 else f"HTTP {status}",
                     f"{size / 1e6:.1f} MB, same: {sha == ref_sha}"))
        took, sha, size = socket_call(d.sock, "v1.mappings")
        rows.append(("iommud: socket v1.mappings, read whole", fmt_ms(took),
                     f"{size / 1e6:.1f} MB, same: {sha == ref_sha}"))
        took, rss, rc = run_measured([ctl, "--socket", d.sock, "--json", "mappings"])
        rows.append(("iommuctl --json mappings through iommud", fmt_ms(took) if rc == 0 else "FAILED",
                     f"{rss / 1024:.1f} MB peak RSS"))
        time.sleep(1)
        rows.append(("iommud VmRSS", f"{idle / 1024:.1f} MB idle", f"{vmrss(d.pid) / 1024:.1f} MB after those"))

    # another fresh daemon: its first /v1/mappings goes to a slow reader
    with Daemon(iommud, conf, snap, tmp, n) as d:
        health, info, during, got = latency_during_big_answer(d.port, d.sock)
        rows.append(("/healthz while a slow reader gets /v1/mappings", f"median {fmt_ms(statistics.median(health))}",
                     f"max {fmt_ms(max(health))}; still sending: {during} ({got / 1e6:.1f} MB taken)"))
        rows.append(("socket v1.info meanwhile", f"median {fmt_ms(statistics.median(info))}",
                     f"max {fmt_ms(max(info))}"))

    print(f"\n{n} scattered 4 KiB leaves ({os.path.getsize(snap) / 2**20:.1f} MiB snapshot, "
          f"{ref_len / 1e6:.1f} MB of JSON)")
    width = max(len(r[0]) for r in rows)
    for label, value, more in rows:
        print(f"  {label:<{width}}  {value:>12}  {more}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--leaves", default="10000,100000,1000000")
    ap.add_argument("--keep", help="directory to keep (and reuse) the snapshots in")
    args = ap.parse_args()
    for tool in ("src/cli/iommuctl", "src/daemon/iommud", "bench/mappings-limits", "bench/maxrss"):
        if not os.access(os.path.join(args.build, tool), os.X_OK):
            sys.exit(f"scale-bench: no {tool} in {args.build}: "
                     f"ninja -C {args.build} bench/mappings-limits bench/maxrss")
    global MAXRSS
    MAXRSS = os.path.join(args.build, "bench/maxrss")
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    tmp = tempfile.mkdtemp(prefix="scale-bench-")
    try:
        print(f"scale-bench: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        for n in (int(x) for x in args.leaves.split(",")):
            bench(n, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
