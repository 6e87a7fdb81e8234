#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Faults injected into the simulated unit's hardware (v1.simulate.inject,
iommud(8) "Simulated faults"), each in a daemon of its own that owns the
unit with edu attached and a buffer mapped:

  read-error  every register read fails
  all-ones    every read returns all ones (a unit gone from the bus)
  wait-stall  invalidation wait descriptors never complete
  iqe, ite    the queue refuses the next descriptor, or times its device
              out (ICE needs a device-TLB invalidation, which no device
              here has: no ATS)

The next change fails with one line (or is refused), the unit is degraded
with the reason: v1.info's control object, iommu_unit_degraded 1 in
/metrics, a line in the log; every request on the socket and over HTTP is
answered; the tables show the old mappings or the new one whole, never a
part (the walker over the simulated RAM); later changes are refused naming
the recovery; with the fault gone, power off gives the unit back, and a
unit that stays dead is refused in one line and iommud stops cleanly."""
import importlib.util
import json
import os
import re
import socket
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("harness", os.path.join(HERE, "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

t = h.Tap()
ok = t.ok
EDU = "0000:00:03.0"
DID = 5
CONFIG = "[Daemon]\nFaultIntervalSec=100ms\nAdminGroup=\n"
# EIO: a read failed or the queue timed a device out; ETIMEDOUT: a wait
# never ended; EBUSY: refused, the registers unreadable before the change;
# EINVAL: the queue refused the descriptor (IQE)
HARDWARE = {5: "EIO", 110: "ETIMEDOUT", 16: "EBUSY", 22: "EINVAL"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    """(status, body bytes) of GET path: answered, whatever it says."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=20 * h.SLOW) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:
        return None, str(e).encode()


def degraded_metric(text):
    m = re.search(r'^iommu_unit_degraded\{unit="dmar0"\} (\S+)$', text, re.M)
    return float(m.group(1)) if m else None


def edu_ranges(answer):
    for m in (answer or {}).get("result") or []:
        if m.get("bdf") == EDU and m.get("domain") == DID:
            return [(r["iova"], r["phys"], r["length"]) for r in m["ranges"]]
    return None


def one_line(a):
    e = (a or {}).get("error") or {}
    return bool(e) and "\n" not in e.get("message", "\n")


def run(tmp, fault, mode):
    port = free_port()
    d = h.Daemon(tmp, f"inject-{fault}", ["--simulate", mode, "--listen-http", f"127.0.0.1:{port}"], config=CONFIG)
    what = f"{fault} ({mode})"
    if not ok(d.wait_ready(), f"{what}: iommud serves the simulated machine", d.stderr()):
        d.kill()
        return
    with d.client() as c:
        setup = [c.call("v1.power", {"on": True}, 1), c.call("v1.domain.create", {"id": DID}, 2),
                 c.call("v1.attach", {"device": EDU, "domain": DID}, 3),
                 c.call("v1.map", {"domain": DID, "iova": 0x100000, "alloc": True, "length": 0x2000}, 4)]
        before = edu_ranges(c.call("v1.mappings", {"device": EDU}, 5))
        ok(all("result" in a for a in setup) and before and len(before) == 1,
           f"{what}: taken, domain {DID}, edu attached, a buffer mapped at 0x100000", setup)
        inj = c.call("v1.simulate.inject", {"fault": fault}, 6)
        ok(inj.get("result") == {"unit": "dmar0", "fault": fault}, f"{what}: injected", inj)
        change = c.call("v1.map", {"domain": DID, "iova": 0x200000, "alloc": True, "length": 0x1000}, 7)
        info = c.call("v1.info", None, 8)
        answers = [c.call(m, p, 9 + i) for i, (m, p) in enumerate(
            (("v1.devices", None), ("v1.domains", None), ("v1.mappings", {"device": EDU}), ("v1.faults", None),
             ("v1.version", None)))]
        again = c.call("v1.unmap", {"domain": DID, "iova": 0x100000, "length": 0x2000}, 20)
    e = change.get("error") or {}
    ok(one_line(change) and e.get("code") in HARDWARE,
       f"{what}: the change fails in one line ({HARDWARE.get(e.get('code'))}: {e.get('message', '')[:90]})", change)
    units = ((info.get("result") or {}).get("units")) or [{}]
    ctl = units[0].get("control") or {}
    ok("result" in info and units[0].get("owner") == "iommud" and ctl.get("degraded"),
       f"{what}: v1.info answers, dmar0 owned by iommud and degraded ({(ctl.get('degraded') or '')[:80]})", info)
    ok(all("result" in a or one_line(a) for a in answers),
       f"{what}: devices, domains, mappings, faults and version answered on the socket", answers)
    after = edu_ranges(answers[2])
    ok(after is None or after == before or (after[:len(before)] == before and len(after) == 2
                                            and after[1][0] == 0x200000 and after[1][2] == 0x1000),
       f"{what}: the walker over the simulated RAM shows the old mapping, or the new one whole (never a part)",
       (before, after, answers[2]))
    rc, out, _ = h.iommuctl("--socket", d.socket, "info")
    ok(rc == 0 and f"  degraded: {ctl.get('degraded')}; iommuctl power off --unit dmar0 gives it back" in out,
       f"{what}: iommuctl info says it in a line of its own", out[:600])
    status, body = get(port, "/metrics")
    text = body.decode(errors="replace")
    ok(status == 200 and degraded_metric(text) == 1, f"{what}: GET /metrics answers, iommu_unit_degraded 1",
       (status, text[-400:]))
    statuses = [get(port, p)[0] for p in ("/v1/info", "/v1/devices", "/v1/mappings", "/healthz")]
    ok(all(s is not None for s in statuses), f"{what}: every HTTP read answered ({statuses})")
    ok(one_line(again) and again["error"]["code"] == 16
       and "dmar0 is degraded: nothing is written to it until iommuctl power off --unit dmar0 gives it back"
       in again["error"]["message"],
       f"{what}: a later change refused in one line naming the recovery", again)
    lines = [x for x in d.stderr().splitlines() if "dmar0: degraded:" in x]
    ok(len(lines) == 1, f"{what}: the log says once that dmar0 is degraded, and why", d.stderr()[-1200:])
    with d.client() as c:
        if fault == "all-ones":
            off = c.call("v1.power", {"on": False}, 1)
            ok(one_line(off), f"{what}: power off of a unit that stays dead: refused in one line", off)
        else:
            c.call("v1.simulate.inject", {"fault": "none"}, 1)
            off = c.call("v1.power", {"on": False}, 2)
            info = c.call("v1.info", None, 3)
            u = ((info.get("result") or {}).get("units") or [{}])[0]
            ok("result" in off and u.get("owner") == "none" and u.get("control") is None,
               f"{what}: the fault gone, power off gives the unit back (owner none)", (off, u.get("owner")))
    rc = d.stop()
    ok(rc == 0 and not d.sanitizer_report(), f"{what}: iommud stops cleanly", d.stderr()[-2000:])


with __import__("tempfile").TemporaryDirectory() as tmp:
    for fault, mode in (("read-error", "legacy"), ("all-ones", "legacy"), ("wait-stall", "legacy"),
                        ("iqe", "scalable"), ("ite", "legacy")):
        run(tmp, fault, mode)
    # a machine that is not simulated takes no injected fault
    d = h.Daemon(tmp, "inject-snapshot", ["--snapshot", h.FIXTURES[0]], config=CONFIG)
    if ok(d.wait_ready(), "a snapshot: iommud serves it", d.stderr()):
        with d.client() as c:
            a = c.call("v1.simulate.inject", {"fault": "iqe"}, 1)
        ok(one_line(a) and a["error"]["code"] == 95 and "iommud --simulate" in a["error"]["message"],
           "a snapshot: v1.simulate.inject refused in one line (EOPNOTSUPP)", a)
        d.stop()
    else:
        d.kill()
t.done()
