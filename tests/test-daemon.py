#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommud on the snapshot fixtures, over a raw socket: every read method
answers what iommuctl --json says for the same fixture (and what the guest
said live); bad input gets a JSON error and never stops the daemon; the
limits (line size, idle and request timeouts, MaxClients) hold; SIGHUP and
v1.reload reload, SIGTERM ends cleanly; SO_PEERCRED access control;
sd_notify, the watchdog and socket activation as systemd drives them."""
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time

spec = importlib.util.spec_from_file_location(
    "harness", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

t = h.Tap()
ok = t.ok

t.ok(len(h.FIXTURES) == 4, "four snapshot fixtures", h.FIXTURES)

LIMITS = """[Daemon]
IdleTimeoutSec=2
RequestTimeoutSec=4
MaxClients=64
"""


def stop_clean(d, what):
    """SIGTERM: exit 0, no sanitizer report, the socket file gone."""
    rc = d.stop()
    ok(rc == 0 and not d.sanitizer_report(), f"{what}: SIGTERM ends it with status 0, no sanitizer report",
       f"rc={rc}\n{d.stderr()[-3000:]}")


def read_methods(tmp, snap):
    mode = os.path.basename(os.path.dirname(snap))
    d = h.Daemon(tmp, mode, ["--snapshot", snap, "--no-http"])
    if not ok(d.wait_ready(), f"{mode}: iommud serves the snapshot (READY=1)", d.stderr()):
        d.kill()
        return
    with d.client() as c:
        for cmd in ("info", "devices", "mappings", "dmar"):
            answer = c.call("v1." + cmd, id=cmd)
            rc, out, err = h.iommuctl("--snapshot", snap, "--json", cmd)
            same = rc == 0 and answer.get("id") == cmd and answer.get("result") == json.loads(out)
            ok(same, f"{mode}: v1.{cmd} equals iommuctl --snapshot --json {cmd}",
               f"{err}\n{json.dumps(answer)[:400]}")
            live = os.path.join(os.path.dirname(snap), f"{cmd}.json")
            if os.path.exists(live):
                ok(answer.get("result") == json.load(open(live)), f"{mode}: v1.{cmd} equals the guest's live {cmd}.json")

        mappings = json.load(open(os.path.join(os.path.dirname(snap), "mappings.json")))
        dids = sorted({m["domain"] for m in mappings if m.get("domain") is not None})
        filters = [
            ({"device": "0:3.0"}, ["--device", "0:3.0"]),
            ({"device": "00:03.0"}, ["--device", "00:03.0"]),
            ({"device": "0000:00:03.0"}, ["--device", "0000:00:03.0"]),
            ({"domain": dids[-1]}, ["--domain", str(dids[-1])]),
            ({"device": "0:1f.0", "domain": dids[0]}, ["--device", "0:1f.0", "--domain", str(dids[0])]),
            ({"pasid": 0}, ["--pasid", "0"]),
            ({"device": None}, []),
        ]
        for params, opts in filters:
            answer = c.call("v1.mappings", params, id=7)
            rc, out, err = h.iommuctl("--snapshot", snap, "--json", "mappings", *opts)
            ok(rc == 0 and answer.get("result") == json.loads(out),
               f"{mode}: v1.mappings {json.dumps(params)} equals iommuctl mappings {' '.join(opts)}",
               f"{err}\n{json.dumps(answer)[:300]}")
        # asking again is answered from the cache: the same
        again = [c.call("v1.mappings", {"device": "0:3.0"}, id=i) for i in range(3)]
        ok(all(a["result"] == again[0]["result"] and a["id"] == i for i, a in enumerate(again)),
           f"{mode}: a repeated request gets the same answer, each with its own id")

        faults = c.call("v1.faults", id=1)
        res = faults.get("result", {})
        ok(res.get("log") == [] and [u["name"] for u in res.get("units", [])] == ["dmar0"]
           and all(u["faults"] == [] for u in res["units"]),
           f"{mode}: v1.faults: the unit, no records, an empty log", json.dumps(faults)[:300])
        rc, out, err = h.iommuctl("--snapshot", snap, "--json", "faults")
        if rc == 0:
            ok(res == json.loads(out), f"{mode}: v1.faults equals iommuctl --snapshot --json faults", out[:300])
        else:
            t.skip(f"{mode}: v1.faults equals iommuctl --snapshot --json faults", "iommuctl has no faults --snapshot")

        version = c.call("v1.version", id=None)
        rc, out, err = h.iommuctl("--version")
        ok(version == {"id": None, "result": {"version": out.split()[-1], "source": "snapshot"}},
           f"{mode}: v1.version: the version iommuctl has, source snapshot", json.dumps(version))
    stop_clean(d, mode)
    ok(not os.path.exists(d.socket), f"{mode}: the socket file is removed on exit")


def ids_and_errors(d):
    """Each bad request answered with a JSON error; the connection and the
    daemon serve on."""
    cases = [
        (b"hello", h.EBADMSG, ["not valid JSON"], None, "not JSON"),
        (b"42", h.EBADMSG, ["not a complete JSON object"], None, "a bare number"),
        (b'"v1.info"', h.EBADMSG, ["string, not an object"], None, "a JSON string"),
        (b'[{"method": "v1.info", "id": 1}]', h.EBADMSG, ["array, not an object"], None, "an array"),
        (b'{"method": "v1.info", "id": 1} x', h.EBADMSG, ["trailing data"], None, "trailing garbage"),
        (b'{"method": "v1.info", "id": 1}{"method": "v1.info", "id": 2}', h.EBADMSG, ["trailing data"], None,
         "two objects on one line"),
        (b'{"method": "v1.info", "id": 1', h.EBADMSG, ["not a complete"], None, "a truncated object"),
        (b'{"method": "v1.info", "id": 1,}', h.EBADMSG, ["not valid JSON"], None, "a trailing comma"),
        (b'{"method": "v1.\xff"}', h.EBADMSG, ["not valid JSON"], None, "invalid UTF-8"),
        (b'{"method": "v1.info", "params": ' + b'[' * 40 + b']' * 40 + b'}', h.EBADMSG, ["nested deeper"], None,
         "nesting 40 deep"),
        (b"", h.EBADMSG, ["empty"], None, "an empty line"),
        (b'{"method": "v1.nope", "id": 3}', h.EOPNOTSUPP, ["Unknown method", "v1.nope", "v1.info"], 3,
         "an unknown method"),
        (b'{"id": 4}', h.EINVAL, ['"method"'], 4, "a missing method"),
        (b'{"method": 5, "id": "x"}', h.EINVAL, ['"method" must be a string'], "x", "a method that is no string"),
        (b'{"method": "v1.info", "params": [], "id": 5}', h.EINVAL, ['"params" must be an object'], 5,
         "params an array"),
        (b'{"method": "v1.info", "params": "x", "id": 5}', h.EINVAL, ['"params" must be an object'], 5,
         "params a string"),
        (b'{"method": "v1.info", "id": {"a": 1}}', h.EINVAL, ['"id" must be a scalar'], None, "an object as id"),
        (b'{"method": "v1.info", "params": {"x": 1}, "id": 6}', h.EINVAL, ["v1.info takes no params"], 6,
         "params where none are taken"),
        (b'{"method": "v1.mappings", "params": {"device": 5}, "id": 7}', h.EINVAL, ['"device"', "string"], 7,
         "device 5"),
        (b'{"method": "v1.mappings", "params": {"device": "1:2:3:4"}, "id": 7}', h.EINVAL,
         ['"device"', "not a PCI address"], 7, "device not a BDF"),
        (b'{"method": "v1.mappings", "params": {"domain": "x"}, "id": 8}', h.EINVAL, ['"domain"', "integer"], 8,
         "domain \"x\""),
        (b'{"method": "v1.mappings", "params": {"domain": 65536}, "id": 8}', h.EINVAL, ['"domain"', "65535"], 8,
         "domain 65536"),
        (b'{"method": "v1.mappings", "params": {"domain": 1.0}, "id": 8}', h.EINVAL, ['"domain"'], 8,
         "domain 1.0"),
        (b'{"method": "v1.mappings", "params": {"pasid": -1}, "id": 9}', h.EINVAL, ['"pasid"', "1048575"], 9,
         "pasid -1"),
        (b'{"method": "v1.mappings", "params": {"pasid": 1048576}, "id": 9}', h.EINVAL, ['"pasid"', "1048575"], 9,
         "pasid 2^20"),
        (b'{"method": "v1.mappings", "params": {"pasid": 18446744073709551615}, "id": 9}', h.EINVAL, ['"pasid"'],
         9, "pasid 2^64-1"),
        (b'{"method": "v1.mappings", "params": {"pasid": true}, "id": 9}', h.EINVAL, ['"pasid"'], 9, "pasid true"),
        (b'{"method": "v1.mappings", "params": {"bdf": "0:3.0"}, "id": 10}', h.EINVAL,
         ['Unknown param "bdf"'], 10, "an unknown param"),
    ]
    with d.client() as c:
        for line, code, words, id, what in cases:
            c.send(line + b"\n")
            answer = c.recv()
            ok(h.error_is(answer, code, *words, id=id), f"bad input, {what}: error {code} naming it",
               json.dumps(answer))
        answer = c.call("v1.version", id=11)
        ok(answer and answer.get("id") == 11 and "result" in answer,
           f"after {len(cases)} bad requests the same connection is still served", answer)
        # a request in pieces, and several in one write
        c.send(b'{"method": "v1.ver')
        time.sleep(0.2)
        c.send(b'sion", "id": 12}\n{"method": "v1.version", "id": 13}\r\n{"method": "v1.version", "id": 14}\n')
        ids = [c.recv().get("id") for _ in range(3)]
        ok(ids == [12, 13, 14], "a request split across writes, three in one write: answered in order", ids)
    ok(d.call("v1.version", id=1).get("result", {}).get("source") == "snapshot",
       "after the bad input the daemon serves a new client")

    # random lines: bytes, and JSON made of the right pieces in wrong places
    rnd = random.Random(4)
    pieces = ['"method"', '"params"', '"id"', '"v1.info"', '"v1.mappings"', '"device"', '"domain"', '"pasid"',
              "{", "}", "[", "]", ":", ",", "null", "true", "-1", "1e999", '"0:3.0"', "65535", '"\\u0000"',
              '"\\ud800"', " "]
    lines = []
    for i in range(3000):
        if i % 3 == 0:
            line = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 80))).replace(b"\n", b" ")
        elif i % 3 == 1:
            line = "".join(rnd.choice(pieces) for _ in range(rnd.randrange(1, 30))).encode()
        else:
            params = {rnd.choice(["device", "domain", "pasid", "x"]):
                      rnd.choice([None, 1, -5, 2**20, 2**64, "0:3.0", "zz", [], {}, 1.5, True])
                      for _ in range(rnd.randrange(0, 3))}
            line = json.dumps({"method": rnd.choice(["v1.mappings", "v1.info", "v1.faults", "v1.x"]),
                               "params": params, "id": i}).encode()
        lines.append(line)
    with d.client() as c:
        c.send(b"\n".join(lines) + b"\n")
        answers = [c.recv() for _ in lines]
    ok(all(isinstance(a, dict) and ("result" in a or "error" in a) for a in answers) and d.alive(),
       "3000 random lines (bytes, shuffled JSON tokens, random params): one JSON answer each, the daemon lives",
       [a for a in answers if not isinstance(a, dict)][:3])


def limits(d):
    # a 2 MiB line: E2BIG once, then closed
    c = d.client()
    big = b'{"method": "v1.info", "params": {"x": "' + b"a" * (2 << 20) + b'"}}\n'

    def send_big():
        try:
            c.sock.sendall(big)
        except OSError:
            pass  # the daemon closed its side: expected
    sender = threading.Thread(target=send_big)
    sender.start()
    answer = c.recv()
    eof = c.at_eof()
    sender.join(10)
    c.close()
    ok(h.error_is(answer, h.E2BIG, "MaxRequestSize=1048576") and eof,
       "a 2 MiB line: answered E2BIG naming MaxRequestSize, then closed", json.dumps(answer))
    ok(d.call("v1.version").get("result") is not None, "after the 2 MiB line the daemon serves others")

    # a partial line, then silence: closed after IdleTimeoutSec=2
    with d.client() as c:
        c.send(b'{"method": "v1.info"')
        start = time.monotonic()
        answer = c.recv()
        took = time.monotonic() - start
        ok(h.error_is(answer, h.ETIMEDOUT, "IdleTimeoutSec") and c.at_eof() and 1.5 < took < 2 + 3 * h.SLOW,
           f"a line without its newline, then silence: closed after IdleTimeoutSec=2 ({took:.1f}s)",
           json.dumps(answer))

    # a request dripping in byte by byte: closed after RequestTimeoutSec=4
    with d.client() as c:
        start = time.monotonic()
        answer = None
        for b in b'{"method": "v1.info", "id": 1, "params": {}}' * 4:
            try:
                c.send(bytes([b]))
            except OSError:
                break
            time.sleep(0.5)
            if time.monotonic() - start > 8 * h.SLOW:
                break
        answer = c.recv()
        took = time.monotonic() - start
        ok(h.error_is(answer, h.ETIMEDOUT, "RequestTimeoutSec") and 3.5 < took < 4 + 3 * h.SLOW,
           f"a request dripping in a byte each 0.5s: closed after RequestTimeoutSec=4 ({took:.1f}s)",
           json.dumps(answer))

    # an idle client is closed; a subscriber waiting for events is not
    idle, sub = d.client(), d.client()
    ok(sub.call("v1.faults.subscribe").get("result") == {"subscribed": True}, "v1.faults.subscribe answers")
    ok(idle.at_eof(2 + 3 * h.SLOW), "a client idle for IdleTimeoutSec=2 is closed")
    time.sleep(1)
    ok(sub.call("v1.version", id=2).get("id") == 2, "a subscriber stays connected beyond IdleTimeoutSec")
    idle.close()
    sub.close()

    # 500 connections at once, MaxClients=64: each served or refused, none hangs
    clients, refused, served, other = [], 0, 0, []
    for _ in range(500):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10 * h.SLOW)
        s.connect(d.socket)
        clients.append(s)
    start = time.monotonic()
    for s in clients:
        try:
            s.sendall(b'{"method": "v1.version", "id": 1}\n')
        except OSError:
            pass
    for s in clients:
        buf = b""
        try:
            while b"\n" not in buf:
                k = s.recv(4096)
                if not k:
                    break
                buf += k
        except (socket.timeout, ConnectionResetError) as e:
            other.append(repr(e))
            continue
        try:
            a = json.loads(buf.split(b"\n")[0])
        except ValueError:
            other.append(buf[:100])
            continue
        if a.get("result"):
            served += 1
        elif h.error_is(a, h.EAGAIN, "MaxClients=64"):
            refused += 1
        else:
            other.append(a)
    took = time.monotonic() - start
    for s in clients:
        s.close()
    ok(served >= 64 and refused > 0 and served + refused == 500 and not other,
       f"500 connections at once, MaxClients=64: {served} served, {refused} refused with EAGAIN, "
       f"none hung ({took:.1f}s)", other[:5])
    ok(d.call("v1.version").get("result") is not None, "after 500 connections the daemon serves")

    # many requests, then gone without reading a byte
    for _ in range(5):
        with d.client() as c:
            c.send(b'{"method": "v1.mappings", "id": 1}\n' * 2000)
    ok(d.alive() and d.call("v1.info").get("result") is not None,
       "clients that leave in the middle of 2000 answers: the daemon serves on")

    # requests, then the client shuts down its side: every answer, then the end
    with d.client() as c:
        c.send(b'{"method": "v1.mappings", "id": 1}\n' * 3000 + b'{"method": "v1.version", "id": 2}\n{"meth')
        c.sock.shutdown(socket.SHUT_WR)
        answers = []
        while (line := c.recv_line()) is not None:
            answers.append(json.loads(line))
    ok(len(answers) == 3001 and all(a.get("id") == 1 and "result" in a for a in answers[:3000])
       and answers[3].get("result") == answers[0].get("result") and answers[3000].get("id") == 2,
       "3001 requests, then shutdown(SHUT_WR): all 3001 answered in order, the partial one dropped, then closed",
       len(answers))

    # a client that asks and never reads: its requests wait, others do not
    hog = d.client()

    def send_hog():
        try:
            hog.send(b'{"method": "v1.mappings", "id": 1}\n' * 20000)
        except OSError:
            pass  # closed after IdleTimeoutSec without reading: fine
    sender = threading.Thread(target=send_hog)
    sender.start()
    time.sleep(0.5)
    start = time.monotonic()
    fine = all(d.call("v1.info", id=i).get("id") == i for i in range(20))
    took = time.monotonic() - start
    ok(fine and took < 2 * h.SLOW, f"a client not reading 20000 answers does not stall others ({took:.2f}s for 20)")
    # Wait for the daemon to close it without reading: reading here would
    # make the daemon go on answering, and the check would time its 20000
    # answers instead of the idle timeout.
    deadline = time.monotonic() + 2 + 3 * h.SLOW
    while "has not read its answers" not in d.stderr() and time.monotonic() < deadline:
        time.sleep(0.1)
    ok("has not read its answers for IdleTimeoutSec" in d.stderr() and hog.at_eof(2),
       "a client that does not read its answers is closed after IdleTimeoutSec")
    sender.join(10)
    hog.close()


def reload_and_config(tmp, snap):
    conf = os.path.join(tmp, "reload.conf")
    with open(conf, "w") as f:
        f.write(f"# comment\n; another\n[Daemon]\nSnapshot = {snap}\nFrobnicate=yes\n[Nope]\nX=1\n"
                "[HTTP]\nListenHTTP=127.0.0.1:9999\n")
    d = h.Daemon(tmp, "reload", [], config_path=conf)
    ok(d.wait_ready(), "unknown keys and sections do not stop it", d.stderr())
    err = d.stderr()
    ok("reload.conf:5: Unknown key Frobnicate= in [Daemon]" in err and "reload.conf:6: Unknown section [Nope]" in err,
       "unknown keys and sections are warnings naming file:line", err)
    st = os.stat(d.socket)
    ok(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, "the socket has SocketMode=0660",
       oct(st.st_mode))

    c = d.client()
    since = d.mark()
    d.proc.send_signal(signal.SIGHUP)
    reloading = d.wait_for(lambda m: "RELOADING=1" in m.split("\n"), 10, since)
    ok(reloading and "MONOTONIC_USEC=" in reloading and d.wait_ready(10, since + 1),
       "SIGHUP: RELOADING=1 (with MONOTONIC_USEC=), then READY=1", d.notes[since:])
    ok(c.call("v1.info", id=1).get("result") is not None and d.call("v1.devices").get("result") is not None,
       "after SIGHUP: the open connection and new ones are served")
    answer = c.call("v1.reload", id=2)
    ok(answer == {"id": 2, "result": {"reloaded": True, "source": "snapshot"}}, "v1.reload as root reloads", answer)

    # a broken configuration: refused, the running one stays
    with open(conf, "w") as f:
        f.write("[Daemon]\nMaxClients=lots\n")
    answer = c.call("v1.reload", id=3)
    ok(h.error_is(answer, h.EINVAL, "reload.conf:2", "MaxClients=lots", id=3),
       "v1.reload of a bad configuration: EINVAL naming file:line", answer)
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5 * h.SLOW)
    ok(d.alive() and c.call("v1.info", id=4).get("id") == 4 and "Failed to reload" in d.stderr(),
       "SIGHUP with a bad configuration: logged, still serving the old one", d.stderr()[-500:])
    # the source is reopened: another snapshot, then one that is missing
    other = h.FIXTURES[-1]
    with open(conf, "w") as f:
        f.write(f"[Daemon]\nSnapshot={other}\n")
    answer = c.call("v1.reload", id=5)
    info = c.call("v1.info", id=6).get("result")
    ok(answer.get("result") is not None and info == json.load(open(os.path.join(os.path.dirname(other), "info.json"))),
       "v1.reload reopens the source: Snapshot= of the new configuration is served", answer)
    with open(conf, "w") as f:
        f.write(f"[Daemon]\nSnapshot={tmp}/missing.iommu\n")
    answer = c.call("v1.reload", id=7)
    ok(answer.get("error", {}).get("code") == 2 and "missing.iommu" in answer["error"]["message"]
       and c.call("v1.info", id=8).get("result") == info,
       "v1.reload with a snapshot that cannot be opened: ENOENT, the old source serves on", answer)
    c.close()
    stop_clean(d, "reload")
    ok(not os.path.exists(d.socket), "the socket file is gone after SIGTERM")

    # configuration errors
    for text, words, what in [
        ("[Daemon]\nMaxClients=0\n", ["bad.conf:2", "MaxClients=0"], "MaxClients=0"),
        ("[Daemon]\nIdleTimeoutSec=soon\n", ["bad.conf:2", "IdleTimeoutSec=soon"], "a bad time span"),
        ("[Daemon]\nSocketMode=0999\n", ["bad.conf:2", "SocketMode"], "a bad mode"),
        ("[Daemon]\nMaxRequestSize=1T\n", ["bad.conf:2", "MaxRequestSize"], "a bad size"),
        ("[HTTP]\nListenHTTP=localhost\n", ["bad.conf:2", "ListenHTTP"], "a bad HTTP address"),
        ("[Daemon]\nSocket=relative.sock\n", ["bad.conf:2", "absolute"], "a relative path"),
        ("[Daemon\n", ["bad.conf:1", "section"], "a broken section header"),
        ("[Daemon]\njust words\n", ["bad.conf:2", "KEY=VALUE"], "a line without ="),
    ]:
        with open(os.path.join(tmp, "bad.conf"), "w") as f:
            f.write(text)
        p = subprocess.run([h.IOMMUD, "--config", os.path.join(tmp, "bad.conf"), "--snapshot", snap, "--socket",
                            os.path.join(tmp, "bad.sock")], capture_output=True, text=True, timeout=20 * h.SLOW)
        ok(p.returncode == 1 and all(w in p.stderr for w in words), f"configuration with {what}: exit 1 naming it",
           p.stderr)
    p = subprocess.run([h.IOMMUD, "--config", os.path.join(tmp, "missing.conf"), "--snapshot", snap],
                       capture_output=True, text=True, timeout=20 * h.SLOW)
    ok(p.returncode == 1 and "missing.conf" in p.stderr, "a missing --config file is an error", p.stderr)
    p = subprocess.run([h.IOMMUD, "--snapshot", os.path.join(tmp, "nothing.iommu"), "--config", "/dev/null",
                        "--socket", os.path.join(tmp, "x.sock")], capture_output=True, text=True, timeout=20 * h.SLOW)
    ok(p.returncode == 1 and "nothing.iommu" in p.stderr and len(p.stderr.splitlines()) == 1,
       "a snapshot that cannot be opened: exit 1, one line", p.stderr)
    p = subprocess.run([h.IOMMUD, "--frobnicate"], capture_output=True, text=True, timeout=20 * h.SLOW)
    ok(p.returncode == 2 and "--frobnicate" in p.stderr, "an unknown option: exit 2", p.stderr)
    p = subprocess.run([h.IOMMUD, "--help"], capture_output=True, text=True, timeout=20 * h.SLOW)
    ok(p.returncode == 0 and "--listen-http" in p.stdout and "/metrics" in p.stdout,
       "--help lists the options and names the HTTP API", p.stdout)

    # the default configuration file may be missing; the command line wins over the file
    conf = os.path.join(tmp, "override.conf")
    with open(conf, "w") as f:
        f.write(f"[Daemon]\nSocket={tmp}/from-file.sock\nSocketMode=0600\nSnapshot=/nonexistent.iommu\n")
    d = h.Daemon(tmp, "override", ["--snapshot", snap, "--socket", os.path.join(tmp, "sub/dir/cli.sock")],
                 config_path=conf, socket_path=os.path.join(tmp, "sub/dir/cli.sock"))
    ok(d.wait_ready() and os.path.exists(os.path.join(tmp, "sub/dir/cli.sock"))
       and not os.path.exists(os.path.join(tmp, "from-file.sock")),
       "--socket and --snapshot override the file; missing parent directories are made", d.stderr())
    st = os.stat(os.path.join(tmp, "sub/dir/cli.sock"))
    ok(stat.S_IMODE(st.st_mode) == 0o600 and stat.S_IMODE(os.stat(os.path.join(tmp, "sub/dir")).st_mode) == 0o755,
       "SocketMode=0600 applied; the directory made 0755", oct(st.st_mode))
    stop_clean(d, "override")

    # no --config at all: /etc/iommud/iommud.conf, missing here, is fine
    if not os.path.exists("/etc/iommud/iommud.conf"):
        e = dict(os.environ)
        sock = os.path.join(tmp, "noconf.sock")
        p = subprocess.Popen([h.IOMMUD, "--snapshot", snap, "--socket", sock, "--no-http"], stderr=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, text=True, env=e)
        for _ in range(200):
            if os.path.exists(sock) or p.poll() is not None:
                break
            time.sleep(0.05)
        served = os.path.exists(sock) and h.Client(sock).call("v1.version").get("result") is not None
        p.terminate()
        _, err = p.communicate(timeout=20 * h.SLOW)
        ok(served and p.returncode == 0, "without --config and without /etc/iommud/iommud.conf: the defaults", err)
    else:
        t.skip("without --config: the defaults", "/etc/iommud/iommud.conf exists here")


def socket_file(tmp, snap):
    # a stale socket (nobody answers) is replaced
    path = os.path.join(tmp, "stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    d = h.Daemon(tmp, "stale", ["--snapshot", snap, "--socket", path], socket_path=path)
    ok(d.wait_ready() and d.call("v1.version").get("result") is not None, "a stale socket file is replaced",
       d.stderr())
    # a second daemon on a served socket refuses, and leaves it alone
    p = subprocess.run([h.IOMMUD, "--config", "/dev/null", "--snapshot", snap, "--socket", path],
                       capture_output=True, text=True, timeout=20 * h.SLOW)
    ok(p.returncode == 1 and "Another daemon answers" in p.stderr and d.call("v1.version").get("result"),
       "a second daemon on a socket in use: exit 1, the first serves on", p.stderr)
    stop_clean(d, "stale")
    # something else at the path is never removed
    path = os.path.join(tmp, "file.sock")
    open(path, "w").write("not a socket")
    p = subprocess.run([h.IOMMUD, "--config", "/dev/null", "--snapshot", snap, "--socket", path],
                       capture_output=True, text=True, timeout=20 * h.SLOW)
    ok(p.returncode == 1 and "not a socket" in p.stderr and open(path).read() == "not a socket",
       "a regular file at the socket path: exit 1, the file kept", p.stderr)


def permissions(tmp, snap):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        t.skip("permissions", "needs root and setpriv (util-linux)")
        return
    pdir = os.path.join(tmp, "perm")
    os.mkdir(pdir)
    os.chmod(tmp, 0o755)
    os.chmod(pdir, 0o755)
    admin = "adm"  # an existing group the unprivileged client can be put in
    d = h.Daemon(pdir, "perm", ["--snapshot", snap],
                 config=f"[Daemon]\nSocketGroup=nogroup\nSocketMode=0660\nAdminGroup={admin}\n")
    if not ok(d.wait_ready(), "iommud with SocketGroup=nogroup, AdminGroup=adm", d.stderr()):
        d.kill()
        return
    st = os.stat(d.socket)
    ok(st.st_gid == 65534 and stat.S_IMODE(st.st_mode) == 0o660, "the socket belongs to group nogroup, mode 0660",
       f"{st.st_gid} {oct(st.st_mode)}")
    client = ("import json, socket, sys\n"
              "s = socket.socket(socket.AF_UNIX); s.settimeout(20)\n"
              "try:\n    s.connect(sys.argv[1])\nexcept OSError as e:\n"
              "    print(json.dumps({'connect': e.errno})); sys.exit(0)\n"
              "f = s.makefile('rwb')\nout = []\n"
              "for m in sys.argv[2:]:\n"
              "    f.write(json.dumps({'method': m, 'id': m}).encode() + b'\\n'); f.flush()\n"
              "    out.append(json.loads(f.readline()))\n"
              "print(json.dumps(out))\n")

    def as_user(*priv, methods=("v1.info", "v1.faults.clear", "v1.reload")):
        p = subprocess.run(["setpriv", *priv, "python3", "-c", client, d.socket, *methods], capture_output=True,
                           text=True, timeout=60 * h.SLOW)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return {"stdout": p.stdout, "stderr": p.stderr}

    out = as_user("--reuid=nobody", "--regid=nogroup", "--clear-groups")
    ok(isinstance(out, list) and out[0].get("result") is not None, "nobody (group nogroup): v1.info works", out)
    ok(isinstance(out, list) and h.error_is(out[1], h.EACCES, "v1.faults.clear changes state",
                                             f"root or membership in group {admin} (AdminGroup=)",
                                             id="v1.faults.clear"),
       "nobody: v1.faults.clear refused with EACCES naming the rule", out)
    ok(isinstance(out, list) and h.error_is(out[2], h.EACCES, "v1.reload changes state", id="v1.reload"),
       "nobody: v1.reload refused with EACCES", out)
    out = as_user("--reuid=nobody", "--regid=nogroup", "--groups=adm", methods=("v1.faults.clear",))
    ok(isinstance(out, list) and out[0].get("result") == {"cleared": 0},
       "nobody with supplementary group adm (AdminGroup=): v1.faults.clear works", out)
    out = as_user("--reuid=nobody", "--regid=adm", "--groups=nogroup", methods=("v1.faults.clear",))
    ok(isinstance(out, list) and out[0].get("result") == {"cleared": 0},
       "nobody with primary group adm: v1.faults.clear works", out)
    out = as_user("--reuid=nobody", "--regid=daemon", "--clear-groups", methods=("v1.info",))
    ok(out == {"connect": 13}, "a user outside group nogroup cannot connect (EACCES)", out)
    ok(d.call("v1.faults.clear", id=1) == {"id": 1, "result": {"cleared": 0}}, "root: v1.faults.clear works")
    stop_clean(d, "permissions")

    d = h.Daemon(pdir, "perm2", ["--snapshot", snap], config="[Daemon]\nSocketMode=0666\nAdminGroup=\n")
    d.wait_ready()
    out = as_user("--reuid=nobody", "--regid=nogroup", "--clear-groups", methods=("v1.version", "v1.faults.clear"))
    ok(isinstance(out, list) and out[0].get("result") is not None
       and h.error_is(out[1], h.EACCES, "needs root (no AdminGroup= is configured)", id="v1.faults.clear"),
       "SocketMode=0666, AdminGroup= empty: anyone reads, only root changes", out)
    stop_clean(d, "permissions 0666")


def notify_and_watchdog(tmp, snap):
    d = h.Daemon(tmp, "notify", ["--snapshot", snap])
    ok(d.wait_ready(), "NOTIFY_SOCKET: READY=1", d.notes)
    ready = [m for m in d.notes if "READY=1" in m]
    ok(ready and f"STATUS=Serving 1 unit from snapshot {snap}, 0 clients" in ready[0],
       "READY=1 comes with STATUS=Serving 1 unit from snapshot FILE, 0 clients", d.notes)
    cs = [d.client() for _ in range(3)]
    for c in cs:
        c.call("v1.version")
    st = d.wait_for(lambda m: "3 clients" in m, 5)
    ok(st and st.startswith("STATUS=Serving 1 unit"), "STATUS= follows the clients: 3 clients", d.notes)
    for c in cs:
        c.close()
    since = d.mark()
    d.proc.send_signal(signal.SIGTERM)
    d.proc.wait(20 * h.SLOW)
    ok(d.wait_for(lambda m: "STOPPING=1" in m.split("\n"), 2, since) and d.proc.returncode == 0,
       "SIGTERM: STOPPING=1, exit 0", d.notes)
    stop_clean(d, "notify")

    # the watchdog: pings at half of WATCHDOG_USEC, when WATCHDOG_PID is ours
    d = h.Daemon(tmp, "watchdog", ["--snapshot", snap], env={"WATCHDOG_USEC": "200000"},
                 wrapper=["sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh"])
    d.wait_ready()
    since = d.mark()
    time.sleep(1.0)
    pings = d.count(lambda m: "WATCHDOG=1" in m.split("\n"), since)
    ok(6 // h.SLOW <= pings <= 14, f"WATCHDOG_USEC=200000: {pings} WATCHDOG=1 pings in 1s (one per 100ms)",
       d.notes[-5:])
    stop_clean(d, "watchdog")
    d = h.Daemon(tmp, "watchdog2", ["--snapshot", snap], env={"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"})
    d.wait_ready()
    time.sleep(0.6)
    ok(d.count(lambda m: "WATCHDOG=1" in m) == 0, "WATCHDOG_PID of another process: no pings", d.notes)
    stop_clean(d, "watchdog for another pid")


def activation(tmp, snap):
    sa = shutil.which("systemd-socket-activate")
    if not sa:
        t.skip("socket activation", "systemd-socket-activate is not installed")
        return

    def activate(name, listen, fdnames=None):
        """systemd-socket-activate listens, and starts iommud at the first
        connection: connect, ask, then see it serve."""
        path = os.path.join(tmp, name + ".sock")
        if os.path.exists(path):
            os.unlink(path)
        wrapper = [sa, "-l", path, *[a for x in listen for a in ("-l", x)], "-E", "NOTIFY_SOCKET"]
        if fdnames:
            wrapper.append("--fdname=" + fdnames)
        d = h.Daemon(tmp, name, ["--snapshot", snap, "--socket", os.path.join(tmp, name + "-own.sock")],
                     socket_path=path, wrapper=wrapper)
        for _ in range(200):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        # the file appears at bind(), a moment before listen()
        for _ in range(100):
            try:
                answer = d.call("v1.version", id=1, timeout=20)
                break
            except ConnectionRefusedError as e:
                answer = repr(e)
                time.sleep(0.05)
            except OSError as e:
                answer = repr(e)
                break
        return d, path, answer

    d, path, answer = activate("activated", [], "iommud.socket")
    ok(isinstance(answer, dict) and answer.get("result") is not None and d.wait_ready(),
       "socket activation: serves the socket named iommud.socket passed as fd 3", f"{answer}\n{d.stderr()}")
    ok(not os.path.exists(os.path.join(tmp, "activated-own.sock")), "and makes no socket of its own")
    stop_clean(d, "activated")
    ok(os.path.exists(path) and stat.S_ISSOCK(os.stat(path).st_mode),
       "on exit the inherited socket file is left to systemd")

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    d, path, answer = activate("activated2", [f"127.0.0.1:{port}"], "iommud.socket:iommud-http.socket")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10 * h.SLOW) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            http = b""
            while (k := s.recv(4096)):
                http += k
    except OSError as e:
        http = repr(e).encode()
    ok(isinstance(answer, dict) and answer.get("result") is not None and d.wait_ready()
       and http.startswith(b"HTTP/1.1 200 ") and http.endswith(b"\r\n\r\nok\n"),
       "iommud.socket and iommud-http.socket: serves the first, and HTTP on the second", f"{answer}\n{http[:300]}\n{d.stderr()}")
    stop_clean(d, "activated with HTTP")

    d, path, answer = activate("activated3", [])
    ok(isinstance(answer, dict) and answer.get("result") is not None and d.wait_ready(),
       "a single unnamed socket is served", f"{answer}\n{d.stderr()}")
    stop_clean(d, "activated unnamed")


def wrong_sockets(tmp, snap):
    """LISTEN_FDS naming a descriptor that is not a listening Unix stream
    socket: refused with one line saying what it is, exit 1, and nothing
    served (no socket of its own instead)."""
    path = os.path.join(tmp, "wrong-file")
    open(path, "w").write("not a socket")
    inet = socket.socket()
    inet.bind(("127.0.0.1", 0))
    inet.listen(4)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(os.path.join(tmp, "wrong-unlistened.sock"))
    cases = [
        ("a regular file", open(path), "it is not a socket but a regular file"),
        ("a UDP socket", socket.socket(socket.AF_INET, socket.SOCK_DGRAM), "it is an IPv4 UDP socket"),
        ("a listening IPv4 TCP socket", inet, "it is an IPv4 stream socket"),
        ("a Unix stream socket that does not listen", unix, "it is not listening"),
    ]
    for what, obj, reason in cases:
        fd = obj.fileno()
        own = os.path.join(tmp, "wrong-own.sock")
        # bash: dash takes no descriptor numbers above 9
        move = f"3<&{fd} {fd}<&-" if fd != 3 else ""
        p = subprocess.run(["bash", "-c", f'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=iommud.socket exec "$@" {move}',
                            "bash", h.IOMMUD, "--config", "/dev/null", "--snapshot", snap, "--socket", own,
                            "--no-http"], pass_fds=(fd,), capture_output=True, text=True, timeout=20 * h.SLOW)
        lines = [l for l in p.stderr.splitlines() if "fd 3" in l]
        ok(p.returncode == 1 and len(lines) == 1 and lines[0] ==
           f"The socket passed as fd 3 is not a listening Unix stream socket: {reason}" and not os.path.exists(own),
           f"LISTEN_FDS naming {what}: refused in one line, exit 1, nothing served", p.stderr)
        obj.close()


with tempfile.TemporaryDirectory() as tmp:
    for snap in h.FIXTURES:
        read_methods(tmp, snap)

    d = h.Daemon(tmp, "limits", ["--snapshot", h.FIXTURES[-1]], config=LIMITS)
    if ok(d.wait_ready(), "iommud with IdleTimeoutSec=2, RequestTimeoutSec=4, MaxClients=64", d.stderr()):
        ids_and_errors(d)
        limits(d)
        ok(d.alive(), "after all that the daemon still runs")
    stop_clean(d, "limits")
    ok(not os.path.exists(d.socket), "the socket file is removed on exit")

    reload_and_config(tmp, h.FIXTURES[0])
    socket_file(tmp, h.FIXTURES[0])
    permissions(tmp, h.FIXTURES[0])
    notify_and_watchdog(tmp, h.FIXTURES[0])
    activation(tmp, h.FIXTURES[0])
    wrong_sockets(tmp, h.FIXTURES[0])

t.done()
