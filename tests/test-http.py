#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommud's HTTP API on the snapshot fixtures, on 127.0.0.1 (and ::1) with
a port picked here: every GET answers exactly the socket API's result (byte
for byte) and what iommuctl --snapshot --json says; HEAD, 404 and 405 with
JSON errors, the mappings query checked like the socket's params; /healthz,
/metrics (promtool check metrics); the limits against bad clients (a long
URL, 1 MiB of headers, slowloris, 1000 connections at once) with the daemon
serving everyone else in bounded memory; changes only with AllowChanges=yes
and the token; the listening socket from systemd, never shut down; a real
Prometheus scraping it, with the README's alert rules."""
import http.client
import importlib.util
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("harness", os.path.join(HERE, "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

t = h.Tap()
ok = t.ok
README = os.path.join(HERE, "..", "README.md")
JSON_TYPE = "application/json; charset=utf-8"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SNAP = h.FIXTURES[-1]  # scalable-aw48


def free_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def start(tmp, name, snap=SNAP, config="", host="127.0.0.1", args=(), env=None):
    """iommud serving snap on host:PORT (a free port; another one should a
    race take it first); (daemon, port)."""
    for _ in range(3):
        port = free_port(host)
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        d = h.Daemon(tmp, name, ["--snapshot", snap, "--listen-http", where, *args], config=config, env=env)
        if d.wait_ready():
            return d, port
        busy = "Address already in use" in d.stderr()
        d.kill()
        if not busy:
            break
    return d, None


def request(port, method, path, headers=None, body=None, host="127.0.0.1", timeout=10):
    """(status, headers as a dict with lower-case names, body bytes)."""
    c = http.client.HTTPConnection(host, port, timeout=timeout * h.SLOW)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def get(port, path, **kw):
    return request(port, "GET", path, **kw)


def error_is(status, headers, body, want_status, code, *words):
    try:
        e = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return (status == want_status and headers.get("content-type") == JSON_TYPE and e.get("code") == code
            and all(w in e.get("message", "") for w in words))


def raw_result(d, method, params=None):
    """The socket API's answer line for method, and the bytes of its result."""
    with d.client() as c:
        req = {"method": method, "id": 1}
        if params is not None:
            req["params"] = params
        c.send(req)
        line = c.recv_line()
    prefix = b'{"id":1,"result":'
    return line, (line[len(prefix):-1] if line.startswith(prefix) and line.endswith(b"}") else None)


def stop_clean(d, what):
    rc = d.stop()
    ok(rc == 0 and not d.sanitizer_report(), f"{what}: SIGTERM ends it with status 0, no sanitizer report",
       f"rc={rc}\n{d.stderr()[-3000:]}")


def expected_domains(devices):
    """/v1/domains as it should be, derived here from the device list."""
    out = {}
    for dev in devices:
        if dev.get("domain") is None or dev.get("unit") is None:
            continue
        e = out.setdefault((dev["unit"], dev["domain"]), {"unit": dev["unit"], "domain": dev["domain"],
                                                            "devices": [], "translation": dev["translation"]})
        e["devices"].append(dev["bdf"])
        if e["translation"] != dev["translation"]:
            e["translation"] = None
    return [out[k] for k in sorted(out, key=lambda k: (int(k[0][4:]), k[1]))]


# --- Every read endpoint, on every fixture ------------------------------------

def endpoints(tmp, snap):
    mode = os.path.basename(os.path.dirname(snap))
    d, port = start(tmp, "read-" + mode, snap)
    if not ok(port is not None, f"{mode}: iommud serves the snapshot with HTTP on 127.0.0.1", d.stderr()):
        return
    for cmd in ("info", "dmar", "devices", "mappings", "faults"):
        status, hdr, body = get(port, "/v1/" + cmd)
        line, result = raw_result(d, "v1." + cmd)
        ok(status == 200 and hdr.get("content-type") == JSON_TYPE and body == result,
           f"{mode}: GET /v1/{cmd}: 200, {JSON_TYPE}, byte for byte the socket API's result",
           f"{status} {hdr}\nhttp:   {body[:200]}\nsocket: {line[:200]}")
        rc, out, err = h.iommuctl("--snapshot", snap, "--json", cmd)
        ok(rc == 0 and json.loads(body) == json.loads(out), f"{mode}: GET /v1/{cmd} equals iommuctl --snapshot --json {cmd}",
           err)
        status, hhdr, hbody = request(port, "HEAD", "/v1/" + cmd)
        ok(status == 200 and hbody == b"" and hhdr.get("content-type") == JSON_TYPE
           and hhdr.get("content-length") == str(len(body)),
           f"{mode}: HEAD /v1/{cmd}: the same headers (Content-Length {len(body)}), no body", f"{status} {hhdr}")

    status, hdr, body = get(port, "/v1/domains")
    devices = json.loads(get(port, "/v1/devices")[2])
    want = expected_domains(devices)
    ok(status == 200 and hdr.get("content-type") == JSON_TYPE and json.loads(body) == want and want,
       f"{mode}: GET /v1/domains: the devices grouped by unit and domain ({len(want)} domains)",
       f"{body[:400]}\nwant {want}")

    mappings = json.load(open(os.path.join(os.path.dirname(snap), "mappings.json")))
    dids = sorted({m["domain"] for m in mappings if m.get("domain") is not None})
    for query, params, opts in [
        ("device=0:3.0", {"device": "0:3.0"}, ["--device", "0:3.0"]),
        ("device=00:03.0", {"device": "00:03.0"}, ["--device", "00:03.0"]),
        ("device=0000%3A00%3A03.0", {"device": "0000:00:03.0"}, ["--device", "0000:00:03.0"]),
        (f"domain={dids[-1]}", {"domain": dids[-1]}, ["--domain", str(dids[-1])]),
        (f"domain={hex(dids[0])}", {"domain": dids[0]}, ["--domain", hex(dids[0])]),
        (f"device=0:1f.0&domain={dids[0]}", {"device": "0:1f.0", "domain": dids[0]},
         ["--device", "0:1f.0", "--domain", str(dids[0])]),
        ("pasid=0", {"pasid": 0}, ["--pasid", "0"]),
        ("device=", {}, []),
    ]:
        status, hdr, body = get(port, "/v1/mappings?" + query)
        line, result = raw_result(d, "v1.mappings", params)
        rc, out, err = h.iommuctl("--snapshot", snap, "--json", "mappings", *opts)
        ok(status == 200 and body == result and rc == 0 and json.loads(body) == json.loads(out),
           f"{mode}: GET /v1/mappings?{query}: the socket's v1.mappings {json.dumps(params)}, iommuctl's too",
           f"{status} {body[:200]}\n{line[:200]}\n{err}")
    stop_clean(d, mode)


# --- Errors, the mappings query, /healthz, /metrics ---------------------------

def errors(d, port):
    ready = [m for m in d.notes if "READY=1" in m.split("\n")]
    ok(ready and ", 0 clients, 0 HTTP connections" in ready[0], "READY=1 with STATUS= counting HTTP connections too",
       d.notes)
    for method, path, status, code, allow, words in [
        ("GET", "/nope", 404, 2, None, ["/nope", "/v1/info"]),
        ("GET", "/v1", 404, 2, None, []),
        ("GET", "/v1/info/", 404, 2, None, []),
        ("GET", "/V1/INFO", 404, 2, None, []),
        ("POST", "/v1/info", 405, 95, "GET, HEAD", ["read-only", "POST"]),
        ("PUT", "/metrics", 405, 95, "GET, HEAD", ["PUT"]),
        ("DELETE", "/v1/devices", 405, 95, "GET, HEAD", ["DELETE"]),
        ("OPTIONS", "/healthz", 405, 95, "GET, HEAD", []),
        ("GET", "/v1/reload", 405, 95, "POST", ["changes state"]),
        ("GET", "/v1/faults/clear", 405, 95, "POST", ["changes state"]),
        ("HEAD", "/v1/faults/clear", 405, None, "POST", []),
        ("GET", "/v1/info?x=1", 400, 22, None, ['v1.info takes no params (got "x")']),
        ("GET", "/v1/faults?all", 400, 22, None, ["v1.faults takes no params"]),
    ]:
        st, hdr, body = request(port, method, path)
        if method == "HEAD":
            good = st == status and body == b"" and hdr.get("allow") == allow
        else:
            good = error_is(st, hdr, body, status, code, *words) and hdr.get("allow") == allow
        ok(good, f"{method} {path}: {status} with a JSON error" + (f", Allow: {allow}" if allow else ""),
           f"{st} {hdr}\n{body[:300]}")

    # the mappings query: exactly the socket API's messages for the same params
    for query, params in [
        ("device=1:2:3:4", {"device": "1:2:3:4"}),
        ("device=5", {"device": 5}),
        ("domain=x", {"domain": "x"}),
        ("domain=65536", {"domain": 65536}),
        ("domain=1.0", {"domain": "1.0"}),
        ("domain=-1", {"domain": -1}),
        ("pasid=-1", {"pasid": -1}),
        ("pasid=1048576", {"pasid": 1048576}),
        ("pasid=0x100000", {"pasid": 1048576}),
        ("pasid=18446744073709551615", {"pasid": 18446744073709551615}),
        ("pasid=99999999999999999999999", {"pasid": "99999999999999999999999"}),
        ("bdf=0:3.0", {"bdf": "0:3.0"}),
        ("device=0:3.0&frob=1", {"device": "0:3.0", "frob": 1}),
    ]:
        st, hdr, body = get(port, "/v1/mappings?" + query)
        answer = d.call("v1.mappings", params)
        want = answer.get("error", {})
        ok(error_is(st, hdr, body, 400, 22, want.get("message", "?")) and want.get("code") == 22,
           f"GET /v1/mappings?{query}: 400, the socket's error for {json.dumps(params)}: {want.get('message')}",
           f"{st} {body[:300]}")
    st, hdr, body = get(port, "/v1/mappings?domain=1&domain=2")
    ok(error_is(st, hdr, body, 400, 22, '"domain" is given more than once'), "a param given twice: 400", body)

    st, hdr, body = get(port, "/healthz")
    ok(st == 200 and hdr.get("content-type") == "text/plain; charset=utf-8" and body == b"ok\n",
       "GET /healthz: 200, text/plain, ok", f"{st} {hdr} {body}")

    st, hdr, body = get(port, "/metrics")
    ok(st == 200 and hdr.get("content-type") == METRICS_TYPE and body.startswith(b"# HELP "),
       f"GET /metrics: 200, {METRICS_TYPE}", f"{st} {hdr} {body[:200]}")
    st2, hdr2, body2 = request(port, "HEAD", "/metrics")
    ok(st2 == 200 and body2 == b"" and hdr2.get("content-type") == METRICS_TYPE, "HEAD /metrics: no body",
       f"{st2} {hdr2}")
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
        ok(p.returncode == 0, "promtool check metrics accepts /metrics", (p.stdout + p.stderr).decode()[-2000:])
    else:
        t.skip("promtool check metrics accepts /metrics", "promtool (Debian package prometheus) is not installed")

    # keep-alive: errors too are answered without closing the connection
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * h.SLOW)
    statuses = []
    for method, path in [("GET", "/v1/info"), ("GET", "/v1/mappings?domain=x"), ("HEAD", "/healthz"),
                         ("GET", "/nope"), ("POST", "/v1/info"), ("GET", "/v1/reload"), ("POST", "/v1/reload"),
                         ("GET", "/metrics")]:
        c.request(method, path)
        r = c.getresponse()
        r.read()
        statuses.append(r.status)
        if r.will_close:
            break
    c.close()
    ok(statuses == [200, 400, 200, 404, 405, 405, 403],
       "one keep-alive connection: 200, 400, 200, 404, 405, 405 keep it; a refused change (403) closes it",
       statuses)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * h.SLOW)
    n = 0
    for _ in range(200):
        c.request("GET", "/v1/mappings?domain=4")
        r = c.getresponse()
        r.read()
        n += r.status == 200 and not r.will_close
    c.close()
    ok(n == 200, "200 requests on one keep-alive connection", n)


# --- Limits -------------------------------------------------------------------

LIMITS = """[HTTP]
ConnectionTimeoutSec=2
MaxConnections=16
MaxConnectionsPerIP=8
"""


def raw(port, data, timeout=10, src=None):
    """Send data (without waiting for it all to go), read until the end:
    (answer bytes, seconds until the connection ended)."""
    s = socket.socket()
    if src:
        s.bind((src, 0))
    s.settimeout(timeout * h.SLOW)
    s.connect(("127.0.0.1", port))
    start = time.monotonic()

    def send():
        try:
            s.sendall(data)
        except OSError:
            pass  # closed under us: expected for what is refused
    sender = threading.Thread(target=send)
    sender.start()
    got = b""
    try:
        while (k := s.recv(65536)):
            got += k
    except (ConnectionResetError, socket.timeout):
        pass
    took = time.monotonic() - start
    sender.join(10)
    s.close()
    return got, took


def served(port, src=None, timeout=5):
    try:
        got, _ = raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout, src)
        return got.startswith(b"HTTP/1.1 200 ")
    except OSError:
        return False


def limits(tmp):
    # a sanitizer's quarantine would hold on to every freed buffer
    env = {"ASAN_OPTIONS": "quarantine_size_mb=1:detect_leaks=1"} if h.SANITIZED else None
    d, port = start(tmp, "limits", config=LIMITS, env=env)
    if not ok(port is not None, "iommud with ConnectionTimeoutSec=2, MaxConnections=16, MaxConnectionsPerIP=8",
              d.stderr()):
        return
    rss0 = d.rss_kib()

    got, took = raw(port, b"GET /v1/mappings?device=" + b"a" * 8192 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    ok(re.match(rb"HTTP/1\.1 (414|431|400) ", got) is not None and took < 1.5 * h.SLOW,
       f"an 8 KiB URL: {got[:12].decode(errors='replace')}, and closed at once ({took:.2f}s)", got[:300])
    got, took = raw(port, b"GET /v1/mappings?device=" + b"a" * 4096 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    ok(got.startswith(b"HTTP/1.1 414 ") and b'"code":36' in got, "a 4 KiB query: 414 with a JSON error", got[:300])
    got, took = raw(port, b"GET /v1/mappings?" + b"x=1&" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    ok((got == b"" or re.match(rb"HTTP/1\.1 (414|431|400) ", got) is not None) and took < 5 * h.SLOW,
       f"2000 params: {got[:12].decode(errors='replace') or 'dropped'} ({took:.2f}s)", got[:300])

    headers = b"".join(b"X-Pad-%06d: %s\r\n" % (i, b"p" * 1000) for i in range(1024))
    got, took = raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    ok((got == b"" or re.match(rb"HTTP/1\.1 (431|413|400) ", got) is not None) and took < 5 * h.SLOW,
       f"1 MiB of headers: {got[:12].decode(errors='replace') or 'dropped'} ({took:.2f}s)", got[:300])
    got, took = raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"y" * 40000 + b"\r\n\r\n")
    ok(re.match(rb"HTTP/1\.1 (431|413|400) ", got) is not None, "one 40 KB header line: refused",
       got[:300])
    ok(served(port), "after them the daemon serves")

    # slowloris: a byte a second; and a connection that says nothing
    results = {}

    def drip():
        s = socket.create_connection(("127.0.0.1", port), timeout=10 * h.SLOW)
        t0 = time.monotonic()
        for b in b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n":
            try:
                s.send(bytes([b]))
                s.settimeout(1.0)
                if s.recv(4096) == b"":
                    break
            except socket.timeout:
                continue
            except OSError:
                break
            if time.monotonic() - t0 > 20 * h.SLOW:
                break
        results["drip"] = time.monotonic() - t0
        s.close()

    def silent():
        s = socket.create_connection(("127.0.0.1", port), timeout=10 * h.SLOW)
        t0 = time.monotonic()
        try:
            s.recv(4096)
        except OSError:
            pass
        results["silent"] = time.monotonic() - t0
        s.close()
    threads = [threading.Thread(target=drip), threading.Thread(target=silent)]
    for th in threads:
        th.start()
    time.sleep(0.5)
    during = served(port, "127.0.0.2")
    for th in threads:
        th.join(30 * h.SLOW)
    ok(1.5 < results.get("drip", 99) < 2 + 2 * h.SLOW,
       f"slowloris, a byte a second: closed at ConnectionTimeoutSec=2 ({results.get('drip', 99):.2f}s)")
    ok(1.5 < results.get("silent", 99) < 2 + 2 * h.SLOW,
       f"a connection that sends nothing: closed at ConnectionTimeoutSec=2 ({results.get('silent', 99):.2f}s)")
    ok(during, "meanwhile others are served")

    # MaxConnectionsPerIP=8: 20 idle connections from one address; another address is served
    idle = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=5 * h.SLOW)
        idle.append(s)
    time.sleep(0.3)
    closed = 0
    for s in idle:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    other = served(port, "127.0.0.3", timeout=2)
    ok(closed == 12 and other, f"20 connections from one address: {20 - closed} held (MaxConnectionsPerIP=8), "
       f"{closed} closed at once; another address is served at once")
    for s in idle:
        s.close()

    # 1000 connections at once from 100 addresses, each asking; MaxConnections=16,
    # taken first by 16 that say nothing until ConnectionTimeoutSec=2 closes them
    fillers = [socket.create_connection(("127.0.0.1", port), timeout=5 * h.SLOW,
                                        source_address=(f"127.0.0.{200 + i}", 0)) for i in range(16)]
    time.sleep(0.2)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    n = min(1000, hard - 200)
    if soft < n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 200), hard))
    req = b"GET /v1/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    sel = selectors.DefaultSelector()
    conns = {}
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.bind((f"127.0.0.{10 + i % 100}", 0))
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        conns[s] = b""
        sel.register(s, selectors.EVENT_WRITE)
    others = []

    def keep_asking():
        end = time.monotonic() + 10 * h.SLOW
        while time.monotonic() < end and not (others and others[-1]):
            others.append(served(port, "127.0.0.4", timeout=5))
    asker = threading.Thread(target=keep_asking)
    asker.start()
    outcome = {"answered": 0, "closed": 0}
    t0 = time.monotonic()
    while conns and time.monotonic() - t0 < 30 * h.SLOW:
        for key, ev in sel.select(timeout=0.5):
            s = key.fileobj
            if ev & selectors.EVENT_WRITE:
                try:
                    s.send(req)
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                except OSError:
                    k = b""
            else:
                try:
                    k = s.recv(65536)
                except (ConnectionResetError, BrokenPipeError):
                    k = b""
                except BlockingIOError:
                    continue
            if k:
                conns[s] += k
                continue
            outcome["answered" if conns[s].startswith(b"HTTP/1.1 200 ") else "closed"] += 1
            sel.unregister(s)
            del conns[s]
            s.close()
    took = time.monotonic() - t0
    hung = len(conns)
    for s in conns:
        s.close()
    for s in fillers:
        s.close()
    asker.join(20 * h.SLOW)
    ok(hung == 0 and outcome["answered"] >= 16 and outcome["answered"] + outcome["closed"] == n
       and 1.5 < took < 10 * h.SLOW,
       f"{n} connections at once, each asking /v1/info, behind 16 idle ones: {outcome['answered']} answered, "
       f"{outcome['closed']} closed unanswered, {hung} hung ({took:.1f}s)")
    ok(any(others), f"meanwhile another client is served ({len(others)} tries)")
    rss1 = d.rss_kib()
    bound = 96 * 1024 if h.SANITIZED else 32 * 1024
    ok(rss1 < bound and rss1 - rss0 < bound // 2 and d.alive(),
       f"after all that the daemon lives, RSS {rss0} KiB before, {rss1} KiB after")
    time.sleep(0.2)
    ok(served(port), "and serves")
    stop_clean(d, "limits")


# --- Changes: AllowChanges= and the token ------------------------------------

def write_token(path, text, mode=0o600):
    if os.path.exists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.write(fd, text.encode())
    os.close(fd)
    os.chmod(path, mode)


def changes(tmp):
    d, port = start(tmp, "nochanges")
    if not ok(port is not None, "iommud without AllowChanges=", d.stderr()):
        return
    for path in ("/v1/faults/clear", "/v1/reload"):
        st, hdr, body = request(port, "POST", path, headers={"Authorization": "Bearer x"})
        ok(error_is(st, hdr, body, 403, 1, "AllowChanges=yes"), f"POST {path} with changes disabled: 403", body)
    stop_clean(d, "without changes")

    token = os.path.join(tmp, "token")
    for text, mode, words, what in [
        ("secret\n", 0o644, ["has mode 0644", "chmod 0600"], "a token file readable by others"),
        ("secret\n", 0o640, ["has mode 0640"], "a token file readable by its group"),
        (" \n\t", 0o600, ["is empty"], "an empty token file"),
        ("two words\n", 0o600, ["one word"], "a token of two words"),
    ]:
        write_token(token, text, mode)
        d, port = start(tmp, "badtoken", config=f"[HTTP]\nAllowChanges=yes\nTokenFile={token}\n")
        st, hdr, body = request(port, "POST", "/v1/faults/clear", headers={"Authorization": "Bearer secret"}) \
            if port else (None, {}, b"")
        ok(error_is(st, hdr, body, 403, 1) and "changes over HTTP stay disabled" in d.stderr()
           and all(w in d.stderr() for w in words),
           f"AllowChanges=yes with {what}: changes stay disabled, with a log line saying why", d.stderr()[-500:])
        stop_clean(d, what)
    d, port = start(tmp, "notoken", config="[HTTP]\nAllowChanges=yes\n")
    ok(port and "AllowChanges=yes needs TokenFile=" in d.stderr(), "AllowChanges=yes without TokenFile=: logged",
       d.stderr())
    stop_clean(d, "no TokenFile=")

    secret = "s3cr3t-" + os.urandom(8).hex()
    write_token(token, f"  {secret}\n")
    d, port = start(tmp, "changes", config=f"[HTTP]\nAllowChanges=yes\nTokenFile={token}\n")
    if not ok(port is not None and "Changes over HTTP are enabled" in d.stderr(),
              "AllowChanges=yes with a token file of mode 0600", d.stderr()):
        return
    for path in ("/v1/faults/clear", "/v1/reload"):
        st, hdr, body = request(port, "POST", path)
        ok(error_is(st, hdr, body, 401, 13, "bearer token") and hdr.get("www-authenticate") == 'Bearer realm="iommud"',
           f"POST {path} without a token: 401, WWW-Authenticate: Bearer", f"{st} {hdr} {body}")
        st, hdr, body = request(port, "POST", path, headers={"Authorization": "Bearer " + secret[:-1] + "x"})
        ok(error_is(st, hdr, body, 401, 13, "wrong") and "invalid_token" in hdr.get("www-authenticate", ""),
           f"POST {path} with a wrong token: 401, invalid_token", f"{st} {hdr} {body}")
    for auth in ("Basic " + secret, "Bearer", "Bearer " + secret + "x", "Bearer " + secret[:-1], secret):
        st, hdr, body = request(port, "POST", "/v1/faults/clear", headers={"Authorization": auth})
        ok(st == 401, f"Authorization: {auth[:12]}...: 401", st)
    st, hdr, body = request(port, "POST", "/v1/faults/clear", headers={"Authorization": "Bearer " + secret})
    ok(st == 200 and hdr.get("content-type") == JSON_TYPE and json.loads(body) == {"cleared": 0},
       'POST /v1/faults/clear with the token: 200 {"cleared": 0}', f"{st} {body}")
    st, hdr, body = request(port, "POST", "/v1/faults/clear", headers={"Authorization": "bearer  " + secret + " "},
                            body=b"{}")
    ok(st == 200, "the scheme in any case, blanks around the token, a small body: 200", f"{st} {body}")
    st, hdr, body = request(port, "POST", "/v1/reload", headers={"Authorization": "Bearer " + secret})
    ok(st == 200 and json.loads(body) == {"reloaded": True, "source": "snapshot"},
       'POST /v1/reload with the token: 200 {"reloaded": true, ...}', f"{st} {body}")
    ok(get(port, "/v1/info")[0] == 200, "after the reload GET /v1/info still answers")
    st, hdr, body = request(port, "POST", "/v1/reload", headers={"Authorization": "Bearer " + secret},
                            body=b"x" * 5000)
    ok(error_is(st, hdr, body, 413, 7), "a POST body of 5000 bytes: 413", f"{st} {body}")
    got, took = raw(port, b"POST /v1/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + secret.encode() +
                    b"\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1000\r\n" + b"x" * 4096 + b"\r\n" +
                    b"1000\r\n" + b"x" * 4096 + b"\r\n0\r\n\r\n")
    ok(got == b"" and took < 5 * h.SLOW, "a chunked POST body past 4096 bytes: the connection dropped", got[:200])
    st, hdr, body = request(port, "POST", "/v1/info", headers={"Authorization": "Bearer " + secret})
    ok(error_is(st, hdr, body, 405, 95) and hdr.get("allow") == "GET, HEAD", "POST to a read-only path: 405", body)

    # a new token on reload (SIGHUP); the old one stops working
    new = "n3w-" + os.urandom(8).hex()
    write_token(token, new)
    since = d.mark()
    d.proc.send_signal(signal.SIGHUP)
    d.wait_ready(10, since + 1)
    st_old = request(port, "POST", "/v1/faults/clear", headers={"Authorization": "Bearer " + secret})[0]
    st_new = request(port, "POST", "/v1/faults/clear", headers={"Authorization": "Bearer " + new})[0]
    ok(st_old == 401 and st_new == 200, "SIGHUP reads the token file again: the old token 401, the new one 200",
       f"{st_old} {st_new}")
    ok(secret not in d.stderr() and new not in d.stderr(), "the token never appears in the log")
    stop_clean(d, "changes")


# --- systemd's socket ---------------------------------------------------------

def activation(tmp):
    # the test holds the listening socket, as systemd would
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    port = ls.getsockname()[1]
    fd = ls.fileno()
    # bash: dash takes no descriptor numbers above 9
    move = f"3<&{fd} {fd}<&-" if fd != 3 else ""
    wrapper = ["bash", "-c", f'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=iommud-http.socket exec "$@" {move}', "bash"]

    def run(name):
        d = h.Daemon(tmp, name, ["--snapshot", SNAP, "--no-http"], wrapper=wrapper, pass_fds=(fd,))
        return d, d.wait_ready()

    d, ready = run("passed")
    st, hdr, body = get(port, "/v1/devices") if ready else (None, {}, b"")
    ok(ready and st == 200 and json.loads(body) == json.loads(h.iommuctl("--snapshot", SNAP, "--json", "devices")[1]),
       "a socket named iommud-http.socket passed by systemd is served (even with --no-http)", d.stderr())
    ok("Serving HTTP on 127.0.0.1:%d, the socket passed by systemd" % port in d.stderr(),
       "the log says where HTTP is served", d.stderr())
    stop_clean(d, "passed socket")
    ok(ls.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1, "after iommud exits the socket still listens")
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        connected = True
    except OSError as e:
        connected = repr(e)
    ok(connected is True, "and accepts connections (it was not shut down)", connected)
    d, ready = run("passed-again")
    got = b""
    if connected is True:
        c.settimeout(10 * h.SLOW)
        try:
            while (k := c.recv(4096)):
                got += k
        except OSError:
            pass
        c.close()
    ok(ready and got.startswith(b"HTTP/1.1 200 ") and got.endswith(b"ok\n"),
       "the next iommud on the same socket answers the connection that waited", got[:200])
    stop_clean(d, "passed socket again")
    ls.close()

    sa = shutil.which("systemd-socket-activate")
    if not sa:
        t.skip("systemd-socket-activate passes both sockets", "systemd-socket-activate is not installed")
        return
    port = free_port()
    path = os.path.join(tmp, "sa.sock")
    d = h.Daemon(tmp, "sa", ["--snapshot", SNAP, "--socket", os.path.join(tmp, "sa-own.sock")], socket_path=path,
                 wrapper=[sa, "-l", path, "-l", f"127.0.0.1:{port}", "-E", "NOTIFY_SOCKET",
                          "--fdname=iommud.socket:iommud-http.socket"])
    for _ in range(200):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    try:
        st, hdr, body = get(port, "/v1/info", timeout=20)  # the first connection starts iommud
    except OSError as e:
        st, body = None, repr(e).encode()
    line, result = raw_result(d, "v1.info") if st else (b"", None)
    ok(st == 200 and body == result, "systemd-socket-activate -l SOCKET -l 127.0.0.1:PORT: HTTP and socket agree",
       f"{st} {body[:200]}\n{d.stderr()}")
    stop_clean(d, "systemd-socket-activate")


def misc(tmp):
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        have6 = True
    except OSError:
        have6 = False
    if have6:
        d, port = start(tmp, "ipv6", host="::1")
        st = get(port, "/healthz", host="::1")[0] if port else None
        ok(st == 200, "--listen-http [::1]:PORT serves on IPv6 loopback", d.stderr())
        stop_clean(d, "IPv6")
    else:
        t.skip("--listen-http [::1]:PORT serves on IPv6 loopback", "no IPv6 loopback here")

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        p = subprocess.run([h.IOMMUD, "--config", "/dev/null", "--snapshot", SNAP, "--socket",
                            os.path.join(tmp, "busy.sock"), "--listen-http", f"127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=20 * h.SLOW)
    ok(p.returncode == 1 and f"Failed to listen for HTTP on 127.0.0.1:{port}" in p.stderr
       and "Address already in use" in p.stderr, "a port in use: exit 1 naming it", p.stderr)
    d = h.Daemon(tmp, "nohttp", ["--snapshot", SNAP, "--no-http"])
    ok(d.wait_ready() and "HTTP" not in d.stderr(), "--no-http: no HTTP listener", d.stderr())
    stop_clean(d, "--no-http")


# --- README's Prometheus section, and a real Prometheus -----------------------

def readme_yaml():
    """The YAML blocks of README.md's Prometheus section, by the file name
    on their first line."""
    text = open(README).read()
    section = text.split("## Prometheus", 1)[-1].split("\n## ", 1)[0]
    blocks = {}
    for block in re.findall(r"```yaml\n(.*?)```", section, re.S):
        first = block.splitlines()[0]
        if first.startswith("# "):
            blocks[first[2:].strip()] = block
    return blocks


RULES_TEST = """rule_files: [iommud-alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'iommu_translation_enabled{instance="host:9917", job="iommud", unit="dmar0"}'
        values: '1 1 0 0 0 0 0 0 0 0 0 0'
      - series: 'iommu_faults_total{instance="host:9917", job="iommud", unit="dmar0", reason="5"}'
        values: '0 0 0 3 3 3 3 3 3 3 3 3'
    alert_rule_test:
      - eval_time: 1m
        alertname: IOMMUTranslationDisabled
        exp_alerts: []
      - eval_time: 10m
        alertname: IOMMUTranslationDisabled
        exp_alerts:
          - exp_labels: {severity: critical, instance: "host:9917", job: iommud, unit: dmar0}
      - eval_time: 4m
        alertname: IOMMUDMAFaults
        exp_alerts:
          - exp_labels: {severity: warning, instance: "host:9917", unit: dmar0}
      - eval_time: 11m
        alertname: IOMMUDMAFaults
        exp_alerts: []
"""


def without_annotations(text):
    """The rules without their annotations: promtool test rules would
    compare them too, and they are prose."""
    out, skip = [], None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if skip is not None and (not line.strip() or indent > skip):
            continue
        skip = None
        if line.strip() == "annotations:":
            skip = indent
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def prometheus_rules(tmp):
    blocks = readme_yaml()
    ok("prometheus.yml" in blocks and "iommud-alerts.yml" in blocks,
       "README.md's Prometheus section has prometheus.yml and iommud-alerts.yml", list(blocks))
    pdir = os.path.join(tmp, "prom-check")
    os.makedirs(pdir, exist_ok=True)
    for name, text in blocks.items():
        with open(os.path.join(pdir, name), "w") as f:
            f.write(text)
    with open(os.path.join(pdir, "test.yml"), "w") as f:
        f.write(RULES_TEST.replace("iommud-alerts.yml", "bare-alerts.yml"))
    with open(os.path.join(pdir, "bare-alerts.yml"), "w") as f:
        f.write(without_annotations(blocks.get("iommud-alerts.yml", "")))
    promtool = shutil.which("promtool")
    if not promtool:
        for what in ("rules", "config", "test rules"):
            t.skip(f"promtool check {what}", "promtool (Debian package prometheus) is not installed")
        return
    for args, what in [(["check", "rules", "iommud-alerts.yml"], "promtool check rules: README's alert rules"),
                       (["check", "config", "prometheus.yml"], "promtool check config: README's scrape job"),
                       (["test", "rules", "test.yml"],
                        "promtool test rules: translation off and DMA faults fire, and only then")]:
        p = subprocess.run([promtool, *args], cwd=pdir, capture_output=True, text=True, timeout=60)
        ok(p.returncode == 0, what, (p.stdout + p.stderr)[-2000:])


def prometheus(tmp):
    binary = shutil.which("prometheus") or ("/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK)
                                            else None)
    if not binary:
        t.skip("a real Prometheus scrapes iommud", "prometheus (Debian package prometheus) is not installed")
        return
    d, port = start(tmp, "scraped", config="[HTTP]\nConnectionTimeoutSec=5\n")
    if not ok(port is not None, "iommud for Prometheus", d.stderr()):
        return
    pdir = os.path.join(tmp, "prometheus")
    os.makedirs(os.path.join(pdir, "data"))
    rules = readme_yaml().get("iommud-alerts.yml", "groups: []\n")
    with open(os.path.join(pdir, "iommud-alerts.yml"), "w") as f:
        f.write(rules)
    with open(os.path.join(pdir, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "rule_files: [iommud-alerts.yml]\n"
                f"scrape_configs:\n  - job_name: iommud\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    web = free_port()
    log = open(os.path.join(pdir, "log"), "wb")
    p = subprocess.Popen([binary, f"--config.file={pdir}/prometheus.yml", f"--storage.tsdb.path={pdir}/data",
                          f"--web.listen-address=127.0.0.1:{web}", "--storage.tsdb.retention.time=1h"],
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def query(q):
        url = f"http://127.0.0.1:{web}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)["data"]["result"]

    info = json.load(open(os.path.join(os.path.dirname(SNAP), "info.json")))["units"][0]
    devices = json.load(open(os.path.join(os.path.dirname(SNAP), "devices.json")))
    want = {
        'iommu_translation_enabled{unit="dmar0"}': 1 if info["translation_enabled"] else 0,
        'iommu_domains_supported{unit="dmar0"}': info["cap"]["fields"]["nd"]["domains"],
        'iommu_max_guest_address_width{unit="dmar0"}': info["cap"]["fields"]["mgaw"]["raw"] + 1,
        'iommu_domains_used{unit="dmar0"}': len(expected_domains(devices)),
        'sum(iommu_devices{unit="dmar0"})': sum(1 for x in devices if x.get("unit") == "dmar0"),
        'up{job="iommud"}': 1,
    }
    got, start_t, err = {}, time.monotonic(), ""
    try:
        while time.monotonic() - start_t < 60 * h.SLOW and len(got) < len(want) and p.poll() is None:
            time.sleep(0.5)
            for q in want:
                try:
                    r = query(q)
                except OSError as e:  # not up yet
                    err = repr(e)
                    break
                if r:
                    got[q] = float(r[0]["value"][1])
        ok(got == {q: float(v) for q, v in want.items()},
           f"Prometheus {p.args[0]} scraping every 1s: the iommu_ series with the fixture's values "
           f"({time.monotonic() - start_t:.1f}s)", f"{got}\nwant {want}\n{err}")
        try:
            url = f"http://127.0.0.1:{web}/api/v1/rules"
            with urllib.request.urlopen(url, timeout=5) as r:
                groups = json.load(r)["data"]["groups"]
            loaded = [(x["name"], x["health"], x.get("state")) for g in groups for x in g["rules"]]
        except OSError as e:
            loaded = repr(e)
        ok(isinstance(loaded, list) and loaded and all(hl == "ok" and st == "inactive" for _, hl, st in loaded),
           "Prometheus loaded README's alert rules: all healthy, none firing on this fixture", loaded)
    finally:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
    stop_clean(d, "scraped by Prometheus")


with tempfile.TemporaryDirectory() as tmp:
    os.chmod(tmp, 0o700)
    for snap in h.FIXTURES:
        endpoints(tmp, snap)
    d, port = start(tmp, "errors")
    if ok(port is not None, "iommud for the error cases", d.stderr()):
        errors(d, port)
        stop_clean(d, "errors")
    limits(tmp)
    changes(tmp)
    activation(tmp)
    misc(tmp)
    prometheus_rules(tmp)
    prometheus(tmp)

t.done()
