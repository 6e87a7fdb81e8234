#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Soak: iommud --simulate legacy with [Control] Manage=all under mixed load
from many clients at once, over the socket API and over HTTP, reading
(v1.info, v1.devices, v1.domains, v1.mappings, v1.faults, v1.version,
/metrics, /healthz) and changing (v1.domain.create, v1.domain.destroy,
v1.attach, v1.detach, v1.map, v1.unmap, over HTTP as POST with the bearer
token) for --time seconds (tools/soak: 600; the meson test: 180).

Each client is a process with its own share of the machine: domain IDs of
its own, at most one device, so that what every answer must be follows
from the client's own model of it whatever the others do meanwhile.  The
model predicts each change's answer, refusals included (EEXIST, ENOENT,
EALREADY, EBUSY, EINVAL), and what each read shows of the client's own
domains and device.  At the end the daemon's v1.domains, v1.devices, the
mapped bytes in v1.info, the state file, the buffer files, /metrics and
the mappings of every paging domain (walked through a spare device attached
to each in turn) must equal the union of the models.  Also: every request
answered, none lost; the daemon's VmRSS at the end within 1 MiB of what it
was after the warm-up; the figures printed (requests by kind, refusals,
p50/p99 latency, RSS)."""
import argparse
import http.client
import importlib.util
import json
import multiprocessing
import os
import random
import re
import socket
import tempfile
import time
import traceback
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("harness", os.path.join(HERE, "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

ENOENT, EEXIST, EBUSY, EINVAL, EALREADY = 2, 17, 16, 22, 114
PAGE, MiB, GiB = 4096, 1 << 20, 1 << 30
TOKEN = "soak-token-0123456789"
# --simulate legacy: QEMU 7.2's unit, aw-bits 48, caching mode (model/system.c)
AW = 48
PAGING = "multi-level"
# simulated RAM: phys for v1.map below the table memory (0x20000000-);
# buffers come from 0x30000000-0x3fffffff
PHYS_LO, PHYS_HI = 0x10000000, 0x1FE00000
BUFFER_REGION = (0x30000000, 0x40000000)
# What a client may hold at once is capped, so that the whole state has a
# ceiling the warm-up reaches (iommud keeps table memory and buffer space
# it once used, so a state that could keep growing would make RSS grow too):
# domains, buffers, and an IOVA span per domain (which bounds its tables to
# five pages and its ranges to 1024).
DIDS_PER_CLIENT = 8
MAX_DOMAINS = 4
MAX_BUFFERS = 4
IOVA_SPAN = 4 * MiB
# the pages a client keeps mapped per domain, about: above it, it unmaps more
PAGES_TARGET = 64
TRANSLATION = {"paging": PAGING, "identity": PAGING, "blocked": "blocked", "passthrough": "pass-through"}
METRIC_LINE = re.compile(r'^[a-z_][a-z0-9_]*(\{([a-z_]+="(?:[^"\\]|\\.)*",?)*\})? [-+0-9.eE]+(?:Inf|NaN)?$')


def coalesce(pages):
    """{iova page: (phys, read, write, ...)} as [(iova, phys, length, read, write)], neighbours continuing
    each other in IOVA and physical address with the same access joined."""
    out = []
    for iova in sorted(pages):
        phys, r, w = pages[iova][:3]
        if out and out[-1][0] + out[-1][2] == iova and out[-1][1] + out[-1][2] == phys and out[-1][3:] == (r, w):
            out[-1] = (out[-1][0], out[-1][1], out[-1][2] + PAGE, r, w)
        else:
            out.append((iova, phys, PAGE, r, w))
    return out


def mapped_bytes(ty, pages):
    """What v1.info says a domain maps: an identity domain the simulated
    RAM (1 GiB) 1:1, a paging domain its pages."""
    return GiB if ty == "identity" else len(pages) * PAGE


def coalesce_ranges(ranges):
    pages = {}
    for iova, phys, length, r, w in ranges:
        for off in range(0, length, PAGE):
            pages[iova + off] = (phys + off, r, w)
    return coalesce(pages)


# ---- transports: one connection each, kept for the whole run ----

class Lost(Exception):
    """A request without an answer: the connection closed, timed out, or
    the answer was no JSON."""


class SocketTransport:
    kind = "socket"

    def __init__(self, path, timeout):
        self.path, self.timeout = path, timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.id = 0

    def call(self, method, params):
        """(error code or 0, result or error message)."""
        self.id += 1
        req = {"method": method, "id": self.id}
        if params:
            req["params"] = params
        try:
            self.sock.sendall(json.dumps(req).encode() + b"\n")
            while b"\n" not in self.buf:
                k = self.sock.recv(1 << 20)
                if not k:
                    raise Lost(f"{method} {params}: the connection closed without an answer")
                self.buf += k
        except OSError as e:
            raise Lost(f"{method} {params}: {e}")
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            a = json.loads(line)
        except ValueError:
            raise Lost(f"{method} {params}: an answer that is no JSON: {line[:200]!r}")
        if a.get("id") != self.id or ("result" in a) == ("error" in a):
            raise Lost(f"{method} {params}: a malformed answer (want id {self.id}): {line[:300]!r}")
        if "error" in a:
            e = a["error"]
            if not isinstance(e.get("code"), int) or not isinstance(e.get("message"), str) or "\n" in e["message"]:
                raise Lost(f"{method} {params}: a malformed error: {line[:300]!r}")
            return e["code"], e["message"]
        return 0, a["result"]

    def close(self):
        self.sock.close()


def query(params):
    return urllib.parse.urlencode({k: ("true" if v is True else "false" if v is False else
                                       hex(v) if isinstance(v, int) and k in ("iova", "phys", "length") else v)
                                   for k, v in params.items()})


class HttpTransport:
    kind = "http"

    def __init__(self, port, timeout):
        self.port, self.timeout = port, timeout
        self.conn = None

    def request(self, verb, path, headers=None):
        """(status, body bytes); a dropped keep-alive connection is opened
        again once (the server may close one that idled), nothing else."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(verb, path, headers=headers or {})
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, body, r.getheader("Content-Type", "")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                self.conn.close()
                self.conn = None
                # a request that never reached the server may be sent again;
                # one that changes state may not (it may have been done)
                if attempt or verb != "GET":
                    raise Lost(f"{verb} {path}: {e}")
            except (OSError, http.client.HTTPException) as e:
                self.conn.close()
                self.conn = None
                raise Lost(f"{verb} {path}: {e}")

    def call(self, method, params):
        path = "/v1/" + method[3:].replace(".", "/")
        changing = method not in ("v1.info", "v1.devices", "v1.domains", "v1.mappings", "v1.faults")
        if params:
            path += "?" + query(params)
        status, body, ctype = self.request("POST" if changing else "GET", path,
                                           {"Authorization": f"Bearer {TOKEN}"} if changing else None)
        try:
            a = json.loads(body)
        except ValueError:
            raise Lost(f"{path}: status {status}, an answer that is no JSON: {body[:200]!r}")
        if not ctype.startswith("application/json"):
            raise Lost(f"{path}: Content-Type {ctype!r}")
        if status == 200:
            return 0, a
        e = a.get("error") if isinstance(a, dict) else None
        if not e or not isinstance(e.get("code"), int) or status < 400:
            raise Lost(f"{path}: status {status} with {body[:300]!r}")
        return e["code"], e["message"]

    def close(self):
        if self.conn:
            self.conn.close()


# ---- one client: its share of the machine, its model, its load ----

class Client:
    def __init__(self, idx, transport, device, dids, rng, default_did):
        self.idx, self.t, self.device, self.rng = idx, transport, device, rng
        self.dids = dids  # the DIDs this client may use
        self.default_did = default_did
        self.domains = {}  # did -> {"type", "pages": {iova: (phys, r, w, buffer or None)}}
        self.attached = None  # the did its device is in, None: the default policy
        self.buffers = {}  # path -> {"domain", "iova", "length", "phys", "pages": set()}
        self.counts = {}  # kind -> [requests, refusals]
        self.latencies = {}  # kind -> [seconds]
        self.problems = []
        self.requests = 0

    # -- bookkeeping --

    def problem(self, text):
        if len(self.problems) < 20:
            self.problems.append(f"client {self.idx} ({self.t.kind}): {text}")

    def call(self, kind, method, params=None):
        t0 = time.monotonic()
        code, res = self.t.call(method, params or {})
        dt = time.monotonic() - t0
        key = f"{self.t.kind} {kind}"
        c = self.counts.setdefault(key, [0, 0])
        c[0] += 1
        if code:
            c[1] += 1
        self.latencies.setdefault(key, []).append(dt)
        self.requests += 1
        return code, res

    def expect(self, what, code, res, want_code, check=None):
        """The answer is the refusal the model predicts (want_code), or a
        result that check accepts."""
        if want_code:
            if code != want_code:
                self.problem(f"{what}: want error {want_code}, got {code}: {str(res)[:300]}")
                return False
            return True
        if code:
            self.problem(f"{what}: want a result, got error {code}: {res}")
            return False
        if check and not check(res):
            self.problem(f"{what}: unexpected result: {json.dumps(res)[:400]}")
            return False
        return True

    def paging(self):
        return [d for d, x in self.domains.items() if x["type"] == "paging"]

    def mapped(self, did):
        return mapped_bytes(self.domains[did]["type"], self.domains[did]["pages"])

    # -- changes --

    def create(self):
        free = [d for d in self.dids if d not in self.domains]
        if self.domains and (len(self.domains) >= MAX_DOMAINS or self.rng.random() < 0.05):
            did = self.rng.choice(list(self.domains))
            code, res = self.call("v1.domain.create", "v1.domain.create", {"id": did})
            self.expect(f"domain create {did} (exists)", code, res, EEXIST)
            return
        did = self.rng.choice(free)
        ty = self.rng.choices(["paging", "identity", "blocked", "passthrough"], [80, 8, 6, 6])[0]
        params = {"id": did}
        if ty != "paging" or self.rng.random() < 0.5:
            params["type"] = ty
        if self.rng.random() < 0.5:
            params["unit"] = "dmar0"
        code, res = self.call("v1.domain.create", "v1.domain.create", params)
        want = {"unit": "dmar0", "domain": did, "type": ty,
                "address_width": AW if ty in ("paging", "identity") else None}
        if self.expect(f"domain create {params}", code, res, 0, lambda r: r == want):
            self.domains[did] = {"type": ty, "pages": {}}

    def destroy(self):
        if self.rng.random() < 0.05:
            did = self.rng.choice([d for d in self.dids if d not in self.domains] or [self.dids[0]])
            if did not in self.domains:
                code, res = self.call("v1.domain.destroy", "v1.domain.destroy", {"domain": did})
                self.expect(f"domain destroy {did} (none)", code, res, ENOENT)
                return
        did = self.rng.choice(list(self.domains))
        code, res = self.call("v1.domain.destroy", "v1.domain.destroy", {"domain": did})
        if self.attached == did:
            self.expect(f"domain destroy {did} (device attached)", code, res, EBUSY)
            return
        if self.expect(f"domain destroy {did}", code, res, 0, lambda r: r == {"unit": "dmar0", "domain": did}):
            del self.domains[did]
            for path in [p for p, b in self.buffers.items() if b["domain"] == did]:
                del self.buffers[path]

    def device_want(self):
        """What v1.devices must say of the client's device: (domain, translation)."""
        if self.attached is None:
            return self.default_did, "pass-through"
        ty = self.domains[self.attached]["type"]
        return (None if ty == "blocked" else self.attached), TRANSLATION[ty]

    def attach(self):
        did = self.rng.choice(list(self.domains))
        code, res = self.call("v1.attach", "v1.attach", {"device": self.device, "domain": did})
        if did == self.attached:
            self.expect(f"attach {self.device} {did} (there already)", code, res, EALREADY)
            return
        prev, self.attached = self.attached, did
        want = self.device_want()
        if not self.expect(f"attach {self.device} {did}", code, res, 0,
                           lambda r: r.get("bdf") == self.device and (r.get("domain"), r.get("translation")) == want):
            self.attached = prev

    def detach(self):
        code, res = self.call("v1.detach", "v1.detach", {"device": self.device})
        if self.attached is None:
            self.expect(f"detach {self.device} (attached nowhere)", code, res, EALREADY)
            return
        if self.expect(f"detach {self.device}", code, res, 0,
                       lambda r: r.get("bdf") == self.device and r.get("domain") == self.default_did
                       and r.get("translation") == "pass-through"):
            self.attached = None

    def map(self):
        paging = self.paging()
        if not paging or self.rng.random() < 0.03:
            others = [d for d, x in self.domains.items() if x["type"] != "paging"]
            if others:
                did = self.rng.choice(others)
                code, res = self.call("v1.map", "v1.map", {"domain": did, "iova": 0x100000, "phys": PHYS_LO,
                                                           "length": PAGE})
                self.expect(f"map into {self.domains[did]['type']} domain {did}", code, res, EINVAL)
            return
        did = self.rng.choice(paging)
        pages = self.domains[did]["pages"]
        alloc = len(self.buffers) < MAX_BUFFERS and self.rng.random() < 0.15
        if not alloc and self.rng.random() < 0.04:
            # a 2 MiB page: IOVA and phys 2 MiB aligned
            iova = self.rng.randrange(0, IOVA_SPAN, 2 * MiB)
            length = 2 * MiB
            phys = self.rng.randrange(PHYS_LO, PHYS_HI - 2 * MiB, 2 * MiB)
        else:
            length = PAGE * self.rng.randint(1, 4 if alloc else 16)
            iova = self.rng.randrange(0, IOVA_SPAN - length, PAGE)
            phys = self.rng.randrange(PHYS_LO, PHYS_HI - length, PAGE)
        if self.rng.random() < 0.1 and pages:
            iova = self.rng.choice(list(pages))  # an overlap, on purpose
        access = self.rng.choice([(True, True), (True, False), (False, True), None])
        params = {"domain": did, "iova": iova, "length": length}
        if alloc:
            params["alloc"] = True
        else:
            params["phys"] = phys
        if access:
            params["read"], params["write"] = access
        r, w = access or (True, True)
        code, res = self.call("v1.map", "v1.map", params)
        if any(iova + off in pages for off in range(0, length, PAGE)):
            self.expect(f"map {params} (overlaps)", code, res, EEXIST)
            return

        def good(a):
            if alloc:
                if not (isinstance(a.get("phys"), int) and a["phys"] % PAGE == 0
                        and BUFFER_REGION[0] <= a["phys"] and a["phys"] + length <= BUFFER_REGION[1]
                        and isinstance(a.get("buffer"), str) and os.path.exists(a["buffer"])):
                    return False
            return a == {"unit": "dmar0", "domain": did, "iova": iova, "length": length,
                         "phys": a.get("phys") if alloc else phys, "read": r, "write": w,
                         "buffer": a.get("buffer") if alloc else None}

        if not self.expect(f"map {params}", code, res, 0, good):
            return
        buf = res["buffer"] if alloc else None
        base = res["phys"]
        for off in range(0, length, PAGE):
            pages[iova + off] = (base + off, r, w, buf)
        if buf:
            self.buffers[buf] = {"domain": did, "iova": iova, "length": length, "phys": base,
                                 "pages": set(range(iova, iova + length, PAGE))}

    def unmap(self):
        paging = [d for d in self.paging() if self.domains[d]["pages"]] or self.paging()
        if not paging:
            return
        did = self.rng.choice(paging)
        pages = self.domains[did]["pages"]
        if pages and self.rng.random() < 0.9:
            # a run of mapped pages from one of them
            iova = self.rng.choice(list(pages))
            n = self.rng.choice([1, 2, 4, 8, 16, 64, 512])
            length = PAGE
            while length < n * PAGE and iova + length in pages:
                length += PAGE
        else:
            length = PAGE * self.rng.randint(1, 16)
            iova = self.rng.randrange(0, IOVA_SPAN - length, PAGE)
        params = {"domain": did, "iova": iova, "length": length}
        code, res = self.call("v1.unmap", "v1.unmap", params)
        if any(iova + off not in pages for off in range(0, length, PAGE)):
            self.expect(f"unmap {params} (not all mapped)", code, res, ENOENT)
            return
        if not self.expect(f"unmap {params}", code, res, 0, lambda a: a == {"unit": "dmar0", **params}):
            return
        for off in range(0, length, PAGE):
            buf = pages.pop(iova + off)[3]
            if buf:
                b = self.buffers[buf]
                b["pages"].discard(iova + off)
                if not b["pages"]:
                    del self.buffers[buf]

    # -- reads: what they show of this client's share --

    def check_domains(self, what, res):
        if not isinstance(res, list):
            return self.problem(f"{what}: not a list")
        mine = {x.get("domain"): x for x in res if x.get("domain") in self.dids}
        want = {did: {"unit": "dmar0", "domain": did, "devices": [self.device] if self.attached == did else [],
                      "translation": TRANSLATION[x["type"]]} for did, x in self.domains.items()}
        if mine != want:
            self.problem(f"{what}: this client's domains {json.dumps(mine)[:400]}, want {json.dumps(want)[:400]}")

    def check_devices(self, what, res):
        if not isinstance(res, list) or len(res) != 6:
            return self.problem(f"{what}: not the 6 devices: {str(res)[:300]}")
        if self.device:
            d = [x for x in res if x.get("bdf") == self.device]
            if len(d) != 1 or (d[0].get("domain"), d[0].get("translation")) != self.device_want():
                self.problem(f"{what}: {self.device} is {d}, want {self.device_want()}")

    def check_info(self, what, res):
        try:
            u = res["units"][0]
            ctl = u["control"]
        except (KeyError, IndexError, TypeError):
            return self.problem(f"{what}: no unit with a control object: {str(res)[:300]}")
        if u.get("owner") != "iommud":
            self.problem(f"{what}: owner {u.get('owner')}")
        mine = {x["domain"]: (x["type"], x["mapped"]) for x in ctl.get("domains", []) if x.get("domain") in self.dids}
        want = {did: (x["type"], self.mapped(did)) for did, x in self.domains.items()}
        if mine != want:
            self.problem(f"{what}: this client's domains (type, mapped) {mine}, want {want}")

    def check_mappings(self, what, res, did_filter=None):
        if not isinstance(res, list):
            return self.problem(f"{what}: not a list")
        want_did = self.attached if did_filter is None else did_filter
        if did_filter is not None and self.attached != did_filter:
            if res:
                self.problem(f"{what}: no device of this client is in {did_filter}, yet {json.dumps(res)[:300]}")
            return
        if self.attached is None or self.domains[self.attached]["type"] != "paging":
            return  # pass-through, identity (all RAM) or blocked: not the model's mappings
        got = [(r["iova"], r["phys"], r["length"], r["read"], r["write"])
               for m in res if m.get("bdf") == self.device and m.get("pasid") is None for r in m["ranges"]]
        entries = [(m.get("bdf"), m.get("domain"), m.get("anomalies")) for m in res]
        if entries != [(self.device, want_did, [])] or coalesce_ranges(got) != coalesce(self.domains[want_did]["pages"]):
            self.problem(f"{what}: {entries}, ranges {coalesce_ranges(got)[:8]}..., "
                         f"want {coalesce(self.domains[want_did]['pages'])[:8]}...")

    def read(self):
        http_ = self.t.kind == "http"
        choices = ["v1.info", "v1.devices", "v1.domains", "v1.mappings", "v1.faults"]
        choices += ["/metrics", "/healthz"] if http_ else ["v1.version"]
        kind = self.rng.choice(choices)
        if kind in ("/metrics", "/healthz"):
            t0 = time.monotonic()
            status, body, ctype = self.t.request("GET", kind)
            key = f"http GET {kind}"
            self.counts.setdefault(key, [0, 0])[0] += 1
            self.latencies.setdefault(key, []).append(time.monotonic() - t0)
            self.requests += 1
            if status != 200:
                self.counts[key][1] += 1
                return self.problem(f"GET {kind}: status {status}: {body[:200]!r}")
            if kind == "/metrics":
                text = body.decode()
                bad = [ln for ln in text.splitlines() if ln and not ln.startswith("#") and not METRIC_LINE.match(ln)]
                if bad or "\niommu_owned_units 1\n" not in text or not ctype.startswith("text/plain; version=0.0.4"):
                    self.problem(f"GET /metrics: {ctype}, lines not in the text format: {bad[:3]}")
            return
        params = None
        if kind == "v1.mappings":
            mine = list(self.domains)
            if self.device and (not mine or self.rng.random() < 0.6):
                params = {"device": self.device}
            elif mine:
                params = {"domain": self.rng.choice(mine)}
        code, res = self.call(kind + (" device" if params and "device" in params else " domain" if params else ""),
                              kind, params)
        if code:
            return self.problem(f"{kind} {params}: error {code}: {res}")
        what = f"{kind} {params or ''}"
        if kind == "v1.info":
            self.check_info(what, res)
        elif kind == "v1.devices":
            self.check_devices(what, res)
        elif kind == "v1.domains":
            self.check_domains(what, res)
        elif kind == "v1.mappings":
            self.check_mappings(what, res, params.get("domain") if params else None)
        elif kind == "v1.faults":
            if not isinstance(res, dict) or not isinstance(res.get("log"), list):
                self.problem(f"{what}: {str(res)[:300]}")
        elif kind == "v1.version":
            if not isinstance(res, dict) or res.get("source") != "simulated":
                self.problem(f"{what}: {str(res)[:300]}")

    def change(self):
        n = len(self.domains)
        pages = sum(len(x["pages"]) for x in self.domains.values())
        weights = {
            self.create: 6 if n < MAX_DOMAINS else 0.3,
            self.destroy: (1.5 if n >= 2 else 0.2) if n else 0,
            self.attach: 5 if self.device and n else 0,
            self.detach: 3 if self.device else 0,
            self.map: (40 if pages < PAGES_TARGET * max(1, len(self.paging())) else 10) if n else 0,
            self.unmap: (10 if pages < PAGES_TARGET * max(1, len(self.paging())) else 40) if n else 0,
        }
        fns = [f for f, w in weights.items() if w > 0]
        self.rng.choices(fns, [weights[f] for f in fns])[0]()

    def size(self):
        """How much state this client holds: domains, mapped pages, buffers."""
        return (len(self.domains), sum(len(x["pages"]) for x in self.domains.values()), len(self.buffers))

    def model(self):
        return {"domains": {did: {"type": x["type"],
                                  "pages": {i: list(p) for i, p in x["pages"].items()}} for did, x in self.domains.items()},
                "attached": self.attached, "device": self.device,
                "buffers": {p: {k: v for k, v in b.items() if k != "pages"} for p, b in self.buffers.items()}}


def client_main(idx, kind, where, device, dids, default_did, seed, warm_until, until, timeout, results):
    rng = random.Random(seed * 1000 + idx)
    try:
        t = SocketTransport(where, timeout) if kind == "socket" else HttpTransport(where, timeout)
    except OSError as e:
        results.put({"idx": idx, "fatal": f"client {idx}: cannot connect: {e}"})
        return
    c = Client(idx, t, device, dids, rng, default_did)
    fatal = None
    warm = False
    size_warm = (0, 0, 0)
    try:
        while time.monotonic() < until:
            if not warm and time.monotonic() >= warm_until:
                # the figures count from the end of the warm-up on
                warm = True
                size_warm = c.size()
                c.latencies = {}
                c.counts = {k: [0, 0] for k in c.counts}
                c.requests = 0
            if rng.random() < 0.6:
                c.read()
            else:
                c.change()
    except Lost as e:
        fatal = f"client {idx} ({kind}): a request lost: {e}"
    except Exception:
        fatal = f"client {idx} ({kind}): {traceback.format_exc()}"
    t.close()
    results.put({"idx": idx, "kind": kind, "fatal": fatal, "problems": c.problems, "counts": c.counts,
                 "latencies": {k: sorted(v) for k, v in c.latencies.items()}, "model": c.model(),
                 "requests": c.requests, "size_warm": size_warm, "size_end": c.size()})


# ---- the whole run ----

def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def cpu_seconds(pid):
    """The CPU time of pid and of its children it waited for (the workers
    that compute big answers), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def rss_detail(pid):
    with open(f"/proc/{pid}/status") as f:
        return {k: int(v.split()[0]) for k, v in (ln.split(":", 1) for ln in f)
                if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")}


def read_state(state_dir):
    """The control state file as iommud(8) documents it: header, length,
    zlib's CRC-32, one JSON object."""
    try:
        with open(os.path.join(state_dir, "control.state"), "rb") as f:
            data = f.read()
    except OSError:
        return None
    header, _, body = data.partition(b"\n")
    fields = header.split(b" ")
    if (len(fields) != 4 or fields[0] != b"iommud-control-state" or fields[1] != b"1"
            or int(fields[2]) != len(body) or int(fields[3], 16) != zlib.crc32(body)):
        return None
    return json.loads(body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", type=float, default=float(os.environ.get("SOAK_TIME", 180)),
                    help="seconds of load, the warm-up included (default 180, or $SOAK_TIME)")
    ap.add_argument("--clients", type=int, default=24, help="clients, two over the socket for one over HTTP")
    ap.add_argument("--warmup", type=float, default=None, help="seconds before RSS and figures count (default "
                    "a quarter of --time, at most 120)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60, help="seconds a request may wait for its answer")
    ap.add_argument("--keep", help="run in this directory and keep it")
    args = ap.parse_args()
    if args.clients < 1:
        ap.error("--clients must be at least 1")
    warmup = args.warmup if args.warmup is not None else min(120.0, args.time / 4)
    if not 0 <= warmup < args.time:
        ap.error("--warmup must be shorter than --time")

    t = h.Tap()
    ok = t.ok
    tmp_ctx = None
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        tmp = args.keep
    else:
        tmp_ctx = tempfile.TemporaryDirectory(prefix="iommud-soak-")
        tmp = tmp_ctx.name
    token = os.path.join(tmp, "token")
    with open(token, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(token, 0o600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # every HTTP client comes from 127.0.0.1 and keeps its connection: the
    # per-address default (8) would refuse the ninth
    config = ("[Daemon]\nAdminGroup=\n"
              f"[HTTP]\nAllowChanges=yes\nTokenFile={token}\nMaxConnections=128\nMaxConnectionsPerIP=128\n"
              "[Control]\nManage=all\n")
    d = h.Daemon(tmp, "soak", ["--simulate", "legacy", "--listen-http", f"127.0.0.1:{port}"], config=config)
    if not ok(d.wait_ready(), "iommud --simulate legacy with Manage=all, HTTP changes with a token, serves",
              d.stderr()):
        t.done()
    c0 = d.client()
    code_info = c0.call("v1.info")["result"]["units"][0]
    default_did = [x["domain"] for x in code_info["control"]["domains"] if x["default"]][0]
    bdfs = [x["bdf"] for x in c0.call("v1.devices")["result"]]
    c0.close()
    spare = bdfs[-1]  # for the final walk of every domain; no client's
    kinds = ["http" if i % 3 == 2 else "socket" for i in range(args.clients)]
    devices = {i: bdfs[i] for i in range(min(args.clients, len(bdfs) - 1))}
    t.diag(f"{args.clients} clients ({kinds.count('socket')} socket, {kinds.count('http')} HTTP), "
           f"{args.time:.0f} s of load, the first {warmup:.0f} s warm-up, seed {args.seed}; devices "
           + ", ".join(f"{b} to client {i}" for i, b in devices.items()) + f"; {spare} spare")

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    start = time.monotonic()
    warm_until = start + warmup
    until = start + args.time
    procs = []
    for i in range(args.clients):
        base = 100 + i * DIDS_PER_CLIENT
        p = ctx.Process(target=client_main, args=(i, kinds[i], d.socket if kinds[i] == "socket" else port,
                                                   devices.get(i), list(range(base, base + DIDS_PER_CLIENT)),
                                                   default_did, args.seed, warm_until, until, args.timeout,
                                                   results), daemon=True)
        p.start()
        procs.append(p)

    rss = []  # (seconds since the start, KiB)
    while time.monotonic() < warm_until:
        time.sleep(0.2)
    rss_warm = d.rss_kib()
    detail_warm = rss_detail(d.pid)
    cpu_warm = cpu_seconds(d.pid)
    rss.append((time.monotonic() - start, rss_warm))
    next_sample = time.monotonic() + 5
    got = []
    while len(got) < len(procs):
        try:
            got.append(results.get(timeout=1))
        except Exception:
            pass
        if time.monotonic() >= next_sample and d.alive():
            rss.append((time.monotonic() - start, d.rss_kib()))
            next_sample += 5
        if time.monotonic() > until + 4 * args.timeout:
            break
    rss_end = d.rss_kib() if d.alive() else None
    detail_end = rss_detail(d.pid) if d.alive() else None
    cpu_load = cpu_seconds(d.pid) - cpu_warm if d.alive() else 0
    for p in procs:
        p.join(5)
    elapsed = time.monotonic() - warm_until

    fatal = [r["fatal"] for r in got if r.get("fatal")]
    problems = [x for r in got for x in r.get("problems", [])]
    total = sum(r.get("requests", 0) for r in got)
    ok(len(got) == len(procs) and not fatal and d.alive(),
       f"{len(procs)} clients ran {args.time:.0f} s: every request answered, none lost, iommud alive",
       "\n".join(fatal) or f"{len(got)} of {len(procs)} clients reported; iommud alive: {d.alive()}")
    ok(not problems, f"every answer well-formed and what the client's model predicts, refusals included "
       f"({total} requests after the warm-up)", "\n".join(problems))

    # the figures
    counts, lats = {}, {}
    for r in got:
        for k, (n, e) in r.get("counts", {}).items():
            c = counts.setdefault(k, [0, 0])
            c[0] += n
            c[1] += e
        for k, v in r.get("latencies", {}).items():
            lats.setdefault(k, []).extend(v)
    t.diag(f"{total} requests in {elapsed:.1f} s after the warm-up: {total / max(elapsed, 1e-9):.0f}/s")
    t.diag(f"{'kind':<28} {'requests':>9} {'refused':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    every = []
    for k in sorted(counts):
        v = sorted(lats.get(k, []))
        every += v
        t.diag(f"{k:<28} {counts[k][0]:>9} {counts[k][1]:>8} {percentile(v, .5) * 1e3:>8.2f} "
               f"{percentile(v, .99) * 1e3:>8.2f} {(v[-1] if v else float('nan')) * 1e3:>8.2f}")
    every.sort()
    t.diag(f"{'all':<28} {total:>9} {sum(c[1] for c in counts.values()):>8} {percentile(every, .5) * 1e3:>8.2f} "
           f"{percentile(every, .99) * 1e3:>8.2f} {(every[-1] if every else float('nan')) * 1e3:>8.2f}")
    t.diag("refused: the refusals each client's model predicted (EEXIST, ENOENT, EALREADY, EBUSY, EINVAL); "
           "any other error is a failure above")
    t.diag(f"iommud's CPU time after the warm-up (with its workers'): {cpu_load:.1f} s, "
           f"{100 * cpu_load / max(elapsed, 1e-9):.0f}% of one core")
    t.diag("VmRSS KiB: " + ", ".join(f"{s:.0f}s {k}" for s, k in rss) + f"; end {rss_end}")
    t.diag(f"after the warm-up {detail_warm}; at the end {detail_end}")
    for when in ("warm", "end"):
        n = [sum(r.get(f"size_{when}", (0, 0, 0))[i] for r in got) for i in range(3)]
        t.diag(f"the clients' state {'after the warm-up' if when == 'warm' else 'at the end'}: {n[0]} domains, "
               f"{n[1]} pages mapped, {n[2]} buffers")

    if not d.alive() or len(got) != len(procs):
        t.done()

    # ---- the final state against the union of the models ----
    models = {r["idx"]: r["model"] for r in got}
    domains = {}  # did -> (type, pages, device or None)
    attached = {}  # bdf -> did
    buffers = {}
    for m in models.values():
        for did, x in m["domains"].items():
            domains[int(did)] = (x["type"], {int(i): tuple(p) for i, p in x["pages"].items()})
        if m["device"] and m["attached"] is not None:
            attached[m["device"]] = m["attached"]
        buffers.update(m["buffers"])
    api = d.client(timeout=args.timeout)

    def result(method, **params):
        a = api.call(method, params)
        return a.get("result") if a else None

    by_did = {}
    for b, did in attached.items():
        by_did.setdefault(did, []).append(b)
    want_domains = [{"unit": "dmar0", "domain": default_did, "devices": sorted(b for b in bdfs if b not in attached),
                     "translation": "pass-through"}]
    want_domains += [{"unit": "dmar0", "domain": did, "devices": sorted(by_did.get(did, [])),
                      "translation": TRANSLATION[domains[did][0]]} for did in sorted(domains)]
    got_domains = result("v1.domains")
    ok(got_domains == want_domains, f"v1.domains is the models' {len(domains)} domains and the default policy's, "
       "each with its devices", f"got  {json.dumps(got_domains)[:1500]}\nwant {json.dumps(want_domains)[:1500]}")

    def device_want(b):
        if b not in attached:
            return default_did, "pass-through"
        ty = domains[attached[b]][0]
        return (None if ty == "blocked" else attached[b]), TRANSLATION[ty]

    devs = result("v1.devices") or []
    got_devs = {x["bdf"]: (x["domain"], x["translation"]) for x in devs}
    want_devs = {b: device_want(b) for b in bdfs}
    ok(got_devs == want_devs, "v1.devices: every device in the domain the models say, with its translation",
       f"got {got_devs}\nwant {want_devs}")

    ctl = result("v1.info")["units"][0].get("control", {})
    got_mapped = {x["domain"]: (x["type"], x["mapped"]) for x in ctl.get("domains", []) if not x["default"]}
    want_mapped = {did: (ty, mapped_bytes(ty, pages)) for did, (ty, pages) in domains.items()}
    ok(got_mapped == want_mapped, "v1.info: each domain's type and mapped bytes as the models say",
       {k: (got_mapped.get(k), want_mapped.get(k)) for k in set(got_mapped) | set(want_mapped)
        if got_mapped.get(k) != want_mapped.get(k)})

    st = read_state(d.state_dir)
    su = (st or {}).get("units", [{}])[0]
    sdoms = {x["domain"]: (x["type"], coalesce_ranges([(m["iova"], m["phys"], m["length"], m["read"], m["write"])
                                                       for m in x["mappings"]]))
             for x in su.get("domains", []) if not x.get("default")}
    # an identity domain is saved as the one range it maps: RAM 1:1
    want_sdoms = {did: (ty, [(0, 0, GiB, True, True)] if ty == "identity" else coalesce(pages))
                  for did, (ty, pages) in domains.items()}
    sdevs = {x["bdf"]: x["domain"] for x in su.get("devices", [])}
    sbufs = {b["path"]: {k: b[k] for k in ("domain", "iova", "length", "phys")} for b in su.get("buffers", [])}
    ok(sdoms == want_sdoms and sdevs == attached and sbufs == buffers,
       "the state file (read here: header, CRC-32, JSON): the models' domains, mappings, attachments and buffers",
       "domains differ: " + "; ".join(f"{k}: {str(sdoms.get(k))[:200]} want {str(want_sdoms.get(k))[:200]}" for k in
                                      sorted(set(sdoms) | set(want_sdoms)) if sdoms.get(k) != want_sdoms.get(k))[:3000]
       + "\n"
       f"devices {sdevs} want {attached}\nbuffers {len(sbufs)} want {len(buffers)}")

    bufdir = os.path.join(tmp, "buffers")
    files = sorted(os.path.join(bufdir, f) for f in os.listdir(bufdir)) if os.path.isdir(bufdir) else []
    spans = sorted((b["phys"], b["phys"] + b["length"]) for b in buffers.values())
    ok(files == sorted(buffers) and all(os.path.getsize(p) >= b["length"] for p, b in buffers.items())
       and all(a[1] <= b[0] for a, b in zip(spans, spans[1:])),
       f"buffer files: exactly the models' {len(buffers)} live buffers, none left over, none overlapping",
       f"{len(files)} files, {len(buffers)} buffers; extra {sorted(set(files) - set(buffers))[:5]} "
       f"missing {sorted(set(buffers) - set(files))[:5]}")

    # /metrics before the walk below changes anything
    st_, body, _ = HttpTransport(port, args.timeout).request("GET", "/metrics")
    text = body.decode()
    types = {ty: sum(1 for x in domains.values() if x[0] == ty) + (ty == "passthrough")
             for ty in ("paging", "identity", "blocked", "passthrough")}
    want_lines = [f'iommu_owned_domains{{unit="dmar0",type="{ty}"}} {n}' for ty, n in types.items()]
    want_lines.append(f'iommu_owned_attached_devices{{unit="dmar0"}} {len(attached)}')
    missing = [ln for ln in want_lines if ln not in text.splitlines()]
    ok(st_ == 200 and not missing, "/metrics: domains by type and attached devices as the models say", missing)

    # every paging domain walked: through its client's device when one is
    # there, else through the spare device attached to it for the look
    walked, wrong = 0, []
    for did in sorted(domains):
        ty, pages = domains[did]
        if ty != "paging":
            continue
        dev = by_did.get(did, [None])[0]
        if dev is None:
            a = result("v1.attach", device=spare, domain=did)
            if not a or a.get("domain") != did:
                wrong.append(f"attach {spare} {did}: {a}")
                continue
            dev = spare
        ms = result("v1.mappings", device=dev) or []
        rs = [(r["iova"], r["phys"], r["length"], r["read"], r["write"]) for m in ms for r in m["ranges"]]
        if [(m["domain"], m["anomalies"]) for m in ms] != [(did, [])] or coalesce_ranges(rs) != coalesce(pages):
            wrong.append(f"domain {did} through {dev}: {coalesce_ranges(rs)[:6]} want {coalesce(pages)[:6]}")
        walked += 1
    if spare not in attached:
        result("v1.detach", device=spare)
    ok(not wrong, f"v1.mappings: the walk of each of the {walked} paging domains gives the models' ranges",
       "\n".join(wrong[:10]))
    api.close()

    if h.SANITIZED:
        t.skip("VmRSS growth after the warm-up under 1 MiB", f"a {h.SANITIZE} build: its allocator keeps freed "
               "memory in quarantine")
    else:
        ok(rss_end is not None and rss_end - rss_warm < 1024,
           f"VmRSS after the warm-up {rss_warm} KiB, at the end {rss_end} KiB: grew less than 1 MiB",
           rss)

    rc = d.stop()
    ok(rc == 0 and not d.sanitizer_report(), "iommud stops cleanly (exit 0, no sanitizer report)",
       d.stderr()[-3000:])
    if tmp_ctx:
        tmp_ctx.cleanup()
    t.done()


if __name__ == "__main__":
    main()
