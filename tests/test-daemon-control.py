#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommud taking a unit over, on iommud --simulate (a unit like QEMU 7.2's,
legacy and scalable, aw-bits 39 and 48, caching mode on and off), through
the socket API and HTTP, against what is known without iommud:

 - the simulated machine as QEMU builds it: CAP and ECAP QEMU gives for
   the mode (the values read in QEMU guests), the DRHD at 0xfed90000, the
   q35 devices with edu;
 - every changing method's answer in DESIGN.md's shape, and its effect in
   v1.info, v1.devices, v1.domains and v1.mappings exactly: the ranges a
   map makes (the page sizes CAP.SLLPS and alignment allow), a large page
   split by a partial unmap, the translation strings of each domain type
   in each mode, the identity map of the simulated RAM with 1 GiB pages;
 - --alloc buffers: a file mapped and written here and read back, its
   physical address in the simulated RAM's buffer region, mapped at the
   IOVA, gone once unmapped;
 - the invalidations each change must issue (DESIGN.md: a map under
   caching mode, an unmap, and by hand), counted in /metrics, which
   promtool accepts; owned units, domains by type, attached devices;
 - faults of the owned unit (SIGUSR1 makes the simulated edu fault):
   logged, then cleared, so that a second one is recorded too;
 - refusals, each one line with nothing changed: a unit the kernel owns
   (--simulate ...:kernel, registers the same before and after), a unit
   not owned yet, bad params, a reader (setpriv nobody), HTTP without the
   token;
 - a [Control] configuration that takes the unit at start (Manage=,
   Mode=, DefaultPolicy=), a reload that keeps it, a stop that gives it
   back;
 - the live path below a sysroot as far as a register file lets it go:
   table memory from /proc/mounts or TableMemory=, locked memory with its
   warning, /dev/mem written, a unit that never answers refused."""
import importlib.util
import json
import mmap
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("harness", os.path.join(HERE, "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

t = h.Tap()
ok = t.ok
EPERM, ENOENT, EEXIST, EBUSY, ENODEV, ERANGE, EALREADY = 1, 2, 17, 16, 19, 34, 114

# QEMU 7.2 intel-iommu,intremap=off (CAP and ECAP as read in its guests)
QEMU_CAP = {48: 0x00D2008C222F0686, 39: 0x00D2008C22260286}
CM = 1 << 7
QEMU_ECAP = {"legacy": 0xF42, "scalable": 0x480080000F42}
DEVICES = {"0000:00:00.0": (0x8086, 0x29C0), "0000:00:01.0": (0x1234, 0x1111), "0000:00:03.0": (0x1234, 0x11E8),
           "0000:00:1f.0": (0x8086, 0x2918), "0000:00:1f.2": (0x8086, 0x2922), "0000:00:1f.3": (0x8086, 0x2930)}
EDU = "0000:00:03.0"
KERNEL_LINE = ("dmar0 is owned by the kernel's intel-iommu driver; boot with intel_iommu=off to let iommud "
               "manage it")
NOT_OWNED_LINE = "dmar0 is not owned by iommud: iommuctl power on --unit dmar0 first"
BUFFER_REGION = (0x30000000, 0x40000000)
MiB, GiB = 1 << 20, 1 << 30
PROMTOOL = shutil.which("promtool")
# a fast fault poll, so that faults show soon
CONFIG = "[Daemon]\nFaultIntervalSec=100ms\nAdminGroup=\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp, name, sim, config=CONFIG, http=False, extra=()):
    args = ["--simulate", sim, *extra]
    port = None
    if http:
        port = free_port()
        args += ["--listen-http", f"127.0.0.1:{port}"]
    d = h.Daemon(tmp, name, args, config=config)
    d.port = port
    return d


def read_state(d):
    """The control state file, read as iommud(8) documents it, by this
    test's own reader: header line, length, zlib's CRC-32, one JSON object."""
    try:
        with open(os.path.join(d.state_dir, "control.state"), "rb") as f:
            data = f.read()
    except OSError:
        return None
    header, _, body = data.partition(b"\n")
    fields = header.split(b" ")
    if (len(fields) != 4 or fields[0] != b"iommud-control-state" or fields[1] != b"1"
            or int(fields[2]) != len(body) or int(fields[3], 16) != zlib.crc32(body) or not body.endswith(b"\n")):
        return None
    return json.loads(body)


def coalesce(ranges):
    """(iova, phys, length, read, write) with neighbours that continue each
    other in IOVA and physical address, with the same access, as one."""
    out = []
    for iova, phys, length, read, write, *_ in ranges:
        if out and out[-1][0] + out[-1][2] == iova and out[-1][1] + out[-1][2] == phys and out[-1][3:] == (read, write):
            out[-1] = (out[-1][0], out[-1][1], out[-1][2] + length, read, write)
        else:
            out.append((iova, phys, length, read, write))
    return out


def stop_clean(d, what):
    rc = d.stop()
    ok(rc == 0 and not d.sanitizer_report(), f"{what}: iommud stops cleanly", d.stderr()[-3000:])


class Api:
    """Calls on one connection; every answer kept as it came."""

    def __init__(self, d):
        self.c = d.client()
        self.n = 0

    def __call__(self, method, **params):
        self.n += 1
        return self.c.call(method, params, self.n)

    def result(self, method, **params):
        a = self(method, **params)
        return a.get("result") if a else None

    def close(self):
        self.c.close()


def err(answer, code, text=None):
    """An error with this code, one line, its message text exactly (or
    containing every word of a tuple)."""
    e = (answer or {}).get("error")
    if not e or e.get("code") != code or "\n" in e.get("message", "\n"):
        return False
    if text is None:
        return True
    if isinstance(text, tuple):
        return all(w in e["message"] for w in text)
    return e["message"] == text


def unit0(api):
    return api.result("v1.info")["units"][0]


def devices(api):
    return {d["bdf"]: d for d in api.result("v1.devices")}


def ranges(api, bdf=EDU):
    """The ranges of the device's requests without PASID."""
    out = []
    for m in api.result("v1.mappings", device=bdf) or []:
        if m["pasid"] is None or m.get("rid_pasid"):
            out += [(r["iova"], r["phys"], r["length"], r["read"], r["write"], r["page_size"]) for r in m["ranges"]]
    return out


def metrics(port):
    """{(name, frozenset(labels)): value} and the text, from GET /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=20 * h.SLOW) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = re.match(r"(\w+)(?:\{(.*)\})? (\S+)$", line)
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out, text


def metric(ms, name, **labels):
    return ms.get((name, frozenset(labels.items())), 0)


def http(port, verb, path, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=verb,
                                 headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=20 * h.SLOW) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait(pred, timeout=10):
    deadline = time.monotonic() + timeout * h.SLOW
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


# ---- the whole of it, per simulated configuration ----

def run(tmp, mode, aw, cm):
    sim = f"{mode}:aw{aw},{'cm' if cm else 'nocm'}"
    what = f"--simulate {sim}"
    d = start(tmp, f"{mode}{aw}{cm}", sim, http=True)
    if not ok(d.wait_ready(), f"{what}: iommud serves the simulated machine", d.stderr()):
        d.kill()
        return
    api = Api(d)
    paging = "multi-level" if mode == "legacy" else "second-stage"

    # the machine, as QEMU makes it
    u = unit0(api)
    cap = QEMU_CAP[aw] if cm else QEMU_CAP[aw] & ~CM
    ok(u["name"] == "dmar0" and u["address"] == 0xFED90000 and u["cap"]["value"] == cap
       and u["ecap"]["value"] == QEMU_ECAP[mode] and u["owner"] == "none" and not u["translation_enabled"]
       and "control" not in u,
       f"{what}: dmar0 at 0xfed90000 with QEMU's CAP 0x{cap:x} and ECAP 0x{QEMU_ECAP[mode]:x}, nobody's",
       json.dumps({k: u.get(k) for k in ("name", "address", "owner")}))
    dmar = api.result("v1.dmar")
    drhd = [s for s in dmar["structures"] if s["type"] == "drhd"]
    ok(dmar["host_address_width"] == aw and len(drhd) == 1 and drhd[0]["address"] == 0xFED90000
       and drhd[0]["include_pci_all"], f"{what}: the DMAR table has one DRHD, INCLUDE_PCI_ALL, width {aw}", dmar)
    devs = devices(api)
    ok({b: (x["vendor"], x["device"]) for b, x in devs.items()} == DEVICES
       and all(x["unit"] == "dmar0" and x["translation"] == "disabled" and x["domain"] is None
               for x in devs.values()),
       f"{what}: QEMU's q35 devices with edu, under dmar0, untranslated", devs)
    version = api.result("v1.version")
    ok(version and version["source"] == "simulated", f"{what}: v1.version says the source is simulated", version)
    ok(err(api("v1.domain.create"), 22, NOT_OWNED_LINE) and err(api("v1.attach", device=EDU, domain=1), 22,
                                                                  NOT_OWNED_LINE),
       f"{what}: before power on, changes are refused: not owned, power on first")

    # power on
    powered = api.result("v1.power", on=True)
    u = unit0(api)
    default = 1 if cm else 0  # DID 0 is reserved under caching mode
    ctl = (powered or {}).get("control") or {}
    ok(powered == u and u["owner"] == "iommud" and u["translation_enabled"] and u["mode"] == mode
       and u["queued_invalidation"],
       f"{what}: power on answers the unit as v1.info has it: owner iommud, translating, {mode} mode, queued "
       "invalidation", json.dumps({k: (powered or {}).get(k) for k in ("owner", "mode", "translation_enabled")}))
    ok(ctl.get("mode") == mode and ctl.get("default_policy") == "passthrough" and ctl.get("invalidation") == "queued"
       and ctl.get("table_memory") == "image" and [x["domain"] for x in ctl.get("domains", [])] == [default]
       and ctl["domains"][0]["type"] == "passthrough" and ctl["domains"][0]["default"],
       f"{what}: its control object: pass-through default policy (ECAP.PT) in domain {default}", ctl)
    devs = devices(api)
    ok(all(x["domain"] == default and x["translation"] == "pass-through" for x in devs.values()),
       f"{what}: every device follows the default policy: domain {default}, pass-through",
       {b: (x["domain"], x["translation"]) for b, x in devs.items()})
    ok(api.result("v1.power", on=True) == unit0(api), f"{what}: power on again: the same, nothing more")

    # the fault poll starts watching the queue at its next round after the
    # take: what is issued before that is never seen, so wait for it
    ok(wait(lambda: metric(metrics(d.port)[0], "iommu_invalidation_queue_observed", unit="dmar0") == 1),
       f"{what}: the fault poll watches the unit's invalidation queue")
    ms0, _ = metrics(d.port)

    # domains
    made = api.result("v1.domain.create")
    dom = (made or {}).get("domain")
    ok(made == {"unit": "dmar0", "domain": dom, "type": "paging", "address_width": aw} and dom == default + 1,
       f"{what}: domain create: the lowest free DID ({default + 1}), paging, {aw}-bit", made)
    ident = api.result("v1.domain.create", type="identity", id=40)
    blocked = api.result("v1.domain.create", type="blocked", id=41)
    pt = api.result("v1.domain.create", type="passthrough", unit="dmar0", id=65535)
    ok(ident == {"unit": "dmar0", "domain": 40, "type": "identity", "address_width": aw}
       and blocked == {"unit": "dmar0", "domain": 41, "type": "blocked", "address_width": None}
       and pt == {"unit": "dmar0", "domain": 65535, "type": "passthrough", "address_width": None},
       f"{what}: identity, blocked and pass-through domains with chosen IDs", [ident, blocked, pt])
    ok(err(api("v1.domain.create", id=40), EEXIST, "Domain 40 exists on dmar0"),
       f"{what}: a DID in use: EEXIST", api("v1.domain.create", id=40))
    if cm:
        ok(err(api("v1.domain.create", id=0), ERANGE, ("DID 0 is reserved under caching mode",)),
           f"{what}: DID 0 under caching mode: ERANGE")
    doms = api.result("v1.domains")
    want = [{"unit": "dmar0", "domain": default, "devices": sorted(DEVICES), "translation": "pass-through"},
            {"unit": "dmar0", "domain": dom, "devices": [], "translation": paging},
            {"unit": "dmar0", "domain": 40, "devices": [], "translation": paging},
            {"unit": "dmar0", "domain": 41, "devices": [], "translation": "blocked"},
            {"unit": "dmar0", "domain": 65535, "devices": [], "translation": "pass-through"}]
    ok(doms == want, f"{what}: v1.domains has the domains no device is in yet, by ID", doms)

    # attach
    att = api.result("v1.attach", device="00:03.0", domain=dom)
    devs = devices(api)
    ok(att == devs[EDU] and att["domain"] == dom and att["translation"] == paging,
       f"{what}: attach 00:03.0 to {dom}: the device as v1.devices has it, {paging}", att)
    ok(err(api("v1.attach", device="0:3.0", domain=dom), EALREADY, f"00:03.0 is in domain {dom} already"),
       f"{what}: attaching it again: EALREADY (the short B:D.F form accepted)")
    ok(err(api("v1.attach", device="00:05.0", domain=dom), ENODEV, "No PCI device 0000:00:05.0 here"),
       f"{what}: attaching a device that is not there: ENODEV")
    ok(err(api("v1.attach", device="00:01.0", domain=99), ENOENT, "dmar0 has no domain 99"),
       f"{what}: attaching to no domain: ENOENT")
    doms = {x["domain"]: x for x in api.result("v1.domains")}
    ok(doms[dom]["devices"] == [EDU] and EDU not in doms[default]["devices"] and len(doms[default]["devices"]) == 5,
       f"{what}: v1.domains: edu in {dom}, the others in {default}", doms)

    # map: a physical address, then buffers
    m1 = api.result("v1.map", domain=dom, iova=0x200000, phys=0x10000000, length=0x1000, read=True)
    ok(m1 == {"unit": "dmar0", "domain": dom, "iova": 0x200000, "length": 0x1000, "phys": 0x10000000,
              "read": True, "write": False, "buffer": None},
       f"{what}: map 0x200000 -> 0x10000000 read-only", m1)
    m2 = api.result("v1.map", domain=dom, iova=0x100000, alloc=True, length=0x2000)
    buf = (m2 or {}).get("buffer") or ""
    ok(m2 and m2["read"] and m2["write"] and m2["length"] == 0x2000 and m2["iova"] == 0x100000
       and BUFFER_REGION[0] <= m2["phys"] < BUFFER_REGION[1] and m2["phys"] % 4096 == 0
       and os.path.dirname(buf) == os.path.join(d.tmp, "buffers") and os.path.getsize(buf) >= 0x2000,
       f"{what}: map --alloc 0x2000 at 0x100000: read-write, a buffer in the simulated RAM's buffer region, its "
       "file beside the socket", m2)
    pattern = bytes((i * 7 + 3) & 0xFF for i in range(0x2000))
    if os.path.exists(buf):
        with open(buf, "r+b") as f:
            with mmap.mmap(f.fileno(), 0x2000, mmap.MAP_SHARED) as mm:
                ok(mm[:] == bytes(0x2000), f"{what}: the buffer starts zeroed")
                mm[:] = pattern
        with open(buf, "rb") as f:
            ok(f.read(0x2000) == pattern, f"{what}: what was written through MAP_SHARED reads back from the file")
    m3 = api.result("v1.map", domain=dom, iova=0x400000, alloc=True, length=4 * MiB, read=True, write=True)
    ok(m3 and m3["phys"] % (2 * MiB) == 0 and BUFFER_REGION[0] <= m3["phys"] < BUFFER_REGION[1],
       f"{what}: map --alloc 4 MiB at 0x400000: the buffer 2 MiB aligned", m3)
    got = ranges(api)
    want = [(0x100000, m2["phys"], 0x2000, True, True, 4096), (0x200000, 0x10000000, 0x1000, True, False, 4096),
            (0x400000, m3["phys"], 4 * MiB, True, True, 2 * MiB)]
    ok(got == want, f"{what}: v1.mappings of edu: exactly the three, 2 MiB pages where IOVA and buffer allow "
       "(CAP.SLLPS)", got)
    by_domain = api.result("v1.mappings", domain=dom)
    ok([m["bdf"] for m in by_domain] == [EDU], f"{what}: v1.mappings by domain: edu's", by_domain)

    # the state saved before each answer: what the answers say
    st = read_state(d)
    su = st["units"][0] if st and len(st.get("units", [])) == 1 else {}
    sd = {x["domain"]: x for x in su.get("domains", [])}
    info = unit0(api)
    ok(su.get("name") == "dmar0" and su.get("address") == info["address"] and su.get("mode") == mode
       and su.get("default_policy") == "passthrough" and su.get("table_memory") == {"kind": "image", "path": None}
       and su.get("root_table") == info["rtaddr"]["value"] & ~0xfff
       and sorted(sd) == sorted(x["domain"] for x in api.result("v1.domains"))
       and [(m["iova"], m["phys"], m["length"], m["read"], m["write"]) for m in sd.get(dom, {}).get("mappings", [])]
       == coalesce(want) and su.get("devices") == [{"bdf": EDU, "domain": dom}]
       and sorted((b["iova"], b["length"]) for b in su.get("buffers", [])) == [(0x100000, 0x2000), (0x400000, 4 * MiB)],
       f"{what}: the state file (read here: header, zlib's CRC-32, JSON) holds what the answers say: the unit, its "
       "root table, the domains, edu's mappings, the attachment, the buffers", json.dumps(st)[:1500])

    # what a map refuses, each one line, nothing changed
    refusals = [
        (dict(domain=dom, iova=0x200000, phys=0x10000000, length=0x1000), EEXIST, None, "an overlap: EEXIST"),
        (dict(domain=dom, iova=0x200800, phys=0x10000000, length=0x1000), 22, None, "an unaligned IOVA: EINVAL"),
        (dict(domain=dom, iova=0x300000, phys=0x10000000, length=0x1800), 22, None, "an odd length: EINVAL"),
        (dict(domain=dom, iova=1 << aw, phys=0x10000000, length=0x1000), ERANGE, None,
         f"an IOVA beyond {aw} bits: ERANGE"),
        # the simulated machine's table memory starts at 0x20000000 (model/system.c)
        (dict(domain=dom, iova=0x400000, phys=0x1ffff000, length=0x2000), 1,
         "0x1ffff000+0x2000 overlaps the table memory of dmar0 (0x20000000-0x201fffff): a device must never reach "
         "translation tables", "a range reaching iommud's own tables: EPERM"),
        (dict(domain=dom, iova=0x300000, phys=0x1000, alloc=True, length=0x1000), 22,
         'v1.map takes exactly one of "phys" and "alloc": true', "phys and alloc: EINVAL"),
        (dict(domain=dom, iova=0x300000, length=0x1000), 22, 'v1.map takes exactly one of "phys" and "alloc": true',
         "neither phys nor alloc: EINVAL"),
        (dict(domain=dom, iova=0x300000, phys=0, length=0x1000, read=False, write=False), 22,
         "A mapping allows reading, writing or both", "neither read nor write: EINVAL"),
        (dict(domain=40, iova=0x300000, alloc=True, length=0x1000), 22,
         "Domain 40 is a identity domain: only paging domains take mappings", "a buffer in an identity domain: EINVAL"),
        (dict(domain=7, iova=0x300000, phys=0, length=0x1000), ENOENT, "dmar0 has no domain 7", "no domain: ENOENT"),
    ]
    for params, code, text, label in refusals:
        a = api("v1.map", **params)
        ok(err(a, code, text), f"{what}: map refused: {label}", a)
    ok(ranges(api) == want and sorted(os.listdir(os.path.join(d.tmp, "buffers"))) == sorted(
        os.path.basename(x["buffer"]) for x in (m2, m3)),
       f"{what}: after the refusals the mappings and buffer files are as they were",
       (ranges(api), os.listdir(os.path.join(d.tmp, "buffers"))))

    # the invalidations each change issues (DESIGN.md): counted in /metrics
    msa, _ = metrics(d.port)
    page = dict(unit="dmar0", type="iotlb", granularity="page")
    before = metric(msa, "iommu_invalidations_issued_total", **page)
    api.result("v1.map", domain=dom, iova=0x300000, phys=0x10000000, length=0x1000)
    msb, _ = metrics(d.port)
    mapped = metric(msb, "iommu_invalidations_issued_total", **page) - before
    ok(mapped == (1 if cm else 0),
       f"{what}: a map issues {'one page-selective IOTLB invalidation (caching mode)' if cm else 'no invalidation'}",
       mapped)
    un = api.result("v1.unmap", domain=dom, iova=0x300000, length=0x1000)
    msc, _ = metrics(d.port)
    ok(un == {"unit": "dmar0", "domain": dom, "iova": 0x300000, "length": 0x1000}
       and metric(msc, "iommu_invalidations_issued_total", **page) - metric(msb, "iommu_invalidations_issued_total",
                                                                                **page) == 1,
       f"{what}: an unmap answers what it unmapped and issues one page-selective IOTLB invalidation", un)
    hand = [("global", {}, [("context_cache", "global"), ("iotlb", "global")]
             + ([("pasid_cache", "global")] if mode == "scalable" else [])),
            ("domain", {"domain": dom}, [("context_cache", "domain"), ("iotlb", "domain")]),
            ("page", {"domain": dom, "iova": 0x100000, "order": 1}, [("iotlb", "page")])]
    for kind, params, counted in hand:
        m_before, _ = metrics(d.port)
        res = api.result("v1.invalidate", what=kind, **params)
        m_after, _ = metrics(d.port)
        delta = {(ty, g): metric(m_after, "iommu_invalidations_issued_total", unit="dmar0", type=ty, granularity=g)
                 - metric(m_before, "iommu_invalidations_issued_total", unit="dmar0", type=ty, granularity=g)
                 for ty, g in counted}
        expect = {"unit": "dmar0", "what": kind, "domain": params.get("domain"), "iova": params.get("iova"),
                  "order": params.get("order")}
        ok(res == expect and all(v == 1 for v in delta.values()),
           f"{what}: invalidate {kind}: answered with what was given (null else), counted once each: "
           f"{', '.join(f'{a}/{b}' for a, b in counted)}", (res, delta))
    for params, text in ((dict(what="global", domain=dom), "A global invalidation takes no domain, iova or order"),
                         (dict(what="page", domain=dom), "A page invalidation takes a domain and an iova (and an order)"),
                         (dict(what="domain"), "A domain invalidation takes a domain, and no iova or order"),
                         (dict(what="page", domain=dom, iova=0x101000, order=1), ("aligned",)),
                         (dict(what="page", domain=dom, iova=0, order=19), ("CAP.MAMV 18",)),
                         (dict(what="domain", domain=77), "dmar0 has no domain 77")):
        a = api("v1.invalidate", **params)
        ok(err(a, ENOENT if params.get("domain") == 77 else 22, text), f"{what}: invalidate refused: {params}", a)

    # what passed through the queue, as the fault poll reads it from the
    # simulated RAM independently (iommu_invalidations_total), against
    # what iommud says it issued
    def both(ms, **labels):
        return (metric(ms, "iommu_invalidations_total", unit="dmar0", **labels),
                metric(ms, "iommu_invalidations_issued_total", unit="dmar0", **labels))

    def settled():
        counts = both(metrics(d.port)[0], type="iotlb", granularity="page")
        return counts if counts[0] == counts[1] else None

    # the queue was watched from before the first page-selective one: once
    # the poll caught up, what it saw is all that was issued
    ok(wait(lambda: metric(metrics(d.port)[0], "iommu_invalidation_queue_observed", unit="dmar0") == 1)
       and wait(settled), f"{what}: the fault poll watches the queue iommud fills, and saw every page-selective "
       "IOTLB invalidation it issued", both(metrics(d.port)[0], type="iotlb", granularity="page"))
    start_counts = settled() or (0, 0)
    api.result("v1.map", domain=dom, iova=0x300000, phys=0x10000000, length=0x2000)
    api.result("v1.unmap", domain=dom, iova=0x300000, length=0x2000)
    api.result("v1.invalidate", what="page", domain=dom, iova=0x200000)
    grown = (2 if cm else 1) + 1

    def caught_up():
        seen, issued = both(metrics(d.port)[0], type="iotlb", granularity="page")
        return seen - start_counts[0] == issued - start_counts[1] == grown

    ok(wait(caught_up), f"{what}: the page-selective IOTLB descriptors seen in the queue are those issued ({grown})",
       (start_counts, both(metrics(d.port)[0], type="iotlb", granularity="page")))

    ms, text = metrics(d.port)
    if PROMTOOL:
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
        ok(p.returncode == 0, f"{what}: promtool check metrics accepts /metrics", (p.stdout + p.stderr).decode())
    else:
        t.skip(f"{what}: promtool check metrics", "promtool (Debian package prometheus) is not installed")
    types = {ty: metric(ms, "iommu_owned_domains", unit="dmar0", type=ty)
             for ty in ("paging", "identity", "blocked", "passthrough")}
    ok(metric(ms, "iommu_owned_units") == 1 and types == {"paging": 1, "identity": 1, "blocked": 1, "passthrough": 2}
       and metric(ms, "iommu_owned_attached_devices", unit="dmar0") == 1
       and metric(ms, "iommu_unit_info", unit="dmar0", address="0xfed90000", version="1.0", mode=mode,
                  owner="iommud") == 1,
       f"{what}: /metrics: one unit owned, domains by type (the default's included), one device attached", types)
    mapped_bytes = metric(ms, "iommu_mapped_bytes", unit="dmar0", domain=str(dom))
    ok(mapped_bytes == 0x2000 + 0x1000 + 4 * MiB, f"{what}: iommu_mapped_bytes of domain {dom} from the walk",
       mapped_bytes)

    # faults: the simulated edu's write to 0x300000 (SIGUSR1)
    def log():
        return api.result("v1.faults")["log"]

    d.proc.send_signal(signal.SIGUSR1)
    first = wait(lambda: log())
    entry = (first or [{}])[0]
    ok(len(first or []) == 1 and entry.get("bdf") == EDU and entry.get("address") == 0x300000
       and entry.get("write") is True and entry.get("reason") == 5 and entry.get("unit") == "dmar0",
       f"{what}: a fault of the owned unit is logged: 00:03.0 writing 0x300000, reason 0x05", first)
    ok(wait(lambda: api.result("v1.faults")["units"][0]["faults"] == []),
       f"{what}: then its record is cleared (F)", api.result("v1.faults")["units"][0])
    d.proc.send_signal(signal.SIGUSR1)
    ok(wait(lambda: len(log()) == 2), f"{what}: a second fault in the same record is recorded and logged too",
       log())
    wait(lambda: api.result("v1.faults")["units"][0]["faults"] == [])
    ms, _ = metrics(d.port)
    ok(metric(ms, "iommu_fault_records_cleared_total", unit="dmar0") == 2
       and metric(ms, "iommu_faults_total", unit="dmar0", reason="0x05") == 2,
       f"{what}: /metrics: two faults logged, two records cleared",
       {k: v for k, v in ms.items() if "fault" in k[0]})

    # unmap: a split large page, buffers freed once unmapped whole
    api.result("v1.unmap", domain=dom, iova=0x401000, length=0x1000)
    got = ranges(api)
    want = [(0x100000, m2["phys"], 0x2000, True, True, 4096), (0x200000, 0x10000000, 0x1000, True, False, 4096),
            (0x400000, m3["phys"], 0x1000, True, True, 4096),
            (0x402000, m3["phys"] + 0x2000, 2 * MiB - 0x2000, True, True, 4096),
            (0x600000, m3["phys"] + 2 * MiB, 2 * MiB, True, True, 2 * MiB)]
    ok(got == want and os.path.exists(m3["buffer"]),
       f"{what}: unmapping 4 KiB out of a 2 MiB page splits it into 4 KiB pages; the buffer stays", got)
    ok(err(api("v1.unmap", domain=dom, iova=0x401000, length=0x1000), ENOENT, "IOVA 0x401000 is not mapped"),
       f"{what}: unmapping what is not mapped: ENOENT", api("v1.unmap", domain=dom, iova=0x401000, length=0x1000))
    api.result("v1.unmap", domain=dom, iova=0x100000, length=0x2000)
    api.result("v1.unmap", domain=dom, iova=0x400000, length=0x1000)
    ok(not os.path.exists(m2["buffer"]) and os.path.exists(m3["buffer"]),
       f"{what}: a buffer unmapped whole is deleted; one still partly mapped stays")
    api.result("v1.unmap", domain=dom, iova=0x402000, length=4 * MiB - 0x2000)
    ok(ranges(api) == [(0x200000, 0x10000000, 0x1000, True, False, 4096)] and not os.path.exists(m3["buffer"]),
       f"{what}: unmapped whole in three pieces, the second buffer is gone too", ranges(api))

    # detach, destroy
    ok(err(api("v1.domain.destroy", domain=dom), EBUSY, f"Domain {dom} of dmar0 has 1 device attached: detach it first"),
       f"{what}: destroying a domain with a device attached: EBUSY")
    ok(err(api("v1.domain.destroy", domain=default), EPERM, ("default policy",)),
       f"{what}: destroying the default policy's domain: EPERM")
    det = api.result("v1.detach", device=EDU)
    ok(det == devices(api)[EDU] and det["domain"] == default and det["translation"] == "pass-through",
       f"{what}: detach returns edu to the default policy (domain {default}, pass-through)", det)
    ok(err(api("v1.detach", device=EDU), EALREADY, "00:03.0 is attached to no domain: it follows the default policy"),
       f"{what}: detaching it again: EALREADY")
    ok(api.result("v1.domain.destroy", domain=dom) == {"unit": "dmar0", "domain": dom}
       and err(api("v1.domain.destroy", domain=dom), ENOENT, f"dmar0 has no domain {dom}"),
       f"{what}: domain destroy answers what it destroyed; again: ENOENT")
    ok(dom not in [x["domain"] for x in api.result("v1.domains")], f"{what}: v1.domains no longer has it")

    # an identity domain: the simulated RAM 1:1, with 1 GiB pages
    api.result("v1.attach", device="00:01.0", domain=40)
    got = ranges(api, "0000:00:01.0")
    ok(got == [(0, 0, GiB, True, True, GiB)],
       f"{what}: a device in the identity domain reaches the simulated RAM 1:1 (0-0x3fffffff, one 1 GiB page)", got)
    api.result("v1.attach", device="00:01.0", domain=41)
    dv = devices(api)["0000:00:01.0"]
    doms = {x["domain"]: x for x in api.result("v1.domains")}
    ok(dv["domain"] is None and dv["translation"] == "blocked" and doms[41]["devices"] == ["0000:00:01.0"]
       and 40 in doms and ranges(api, "0000:00:01.0") == [],
       f"{what}: moved to the blocked domain, it has no context entry (blocked), the domain lists it", (dv, doms.get(41)))

    # power off
    off = api.result("v1.power", on=False, unit="dmar0")
    u = unit0(api)
    ok(off == u and u["owner"] == "none" and not u["translation_enabled"] and not u["queued_invalidation"]
       and "control" not in u,
       f"{what}: power off: owner none, translation and the queue off", json.dumps({k: u.get(k) for k in
                                                                                   ("owner", "translation_enabled")}))
    ok(all(x["translation"] == "disabled" for x in devices(api).values()) and api.result("v1.domains") == []
       and os.listdir(os.path.join(d.tmp, "buffers")) == [],
       f"{what}: devices untranslated, no domains, no buffer files left")
    ms, _ = metrics(d.port)
    ok(metric(ms, "iommu_owned_units") == 0 and metric(ms, "iommu_fault_records_cleared_total", unit="dmar0") == 2
       and metric(ms, "iommu_invalidations_issued_total", unit="dmar0", type="iotlb", granularity="page") >= 3
       and ("iommu_owned_attached_devices", frozenset({("unit", "dmar0")})) not in ms,
       f"{what}: /metrics after power off: none owned, the counters kept")
    st = read_state(d)
    ok(st is not None and st.get("units") == [] and st.get("serial", 0) > 1,
       f"{what}: the state file after power off: no unit (serial {st and st.get('serial')}, one up per change)", st)
    api.close()
    stop_clean(d, what)


# ---- the kernel owns the unit ----

def kernel(tmp):
    what = "--simulate legacy:kernel"
    d = start(tmp, "kernel", "legacy:kernel")
    if not ok(d.wait_ready(), f"{what}: iommud serves", d.stderr()):
        d.kill()
        return
    api = Api(d)
    before = unit0(api)
    ok(before["owner"] == "kernel" and before["translation_enabled"],
       f"{what}: the unit translates with a root table iommud did not write: the kernel's", before["owner"])
    calls = [("v1.power", dict(on=True)), ("v1.power", dict(on=False)), ("v1.domain.create", {}),
             ("v1.domain.destroy", dict(domain=1)), ("v1.attach", dict(device=EDU, domain=1)),
             ("v1.detach", dict(device=EDU)), ("v1.map", dict(domain=1, iova=0, alloc=True, length=4096)),
             ("v1.unmap", dict(domain=1, iova=0, length=4096)), ("v1.invalidate", dict(what="global"))]
    for method, params in calls:
        a = api(method, **params)
        ok(err(a, EPERM, KERNEL_LINE), f"{what}: {method} refused with the ownership line", a)
    after = unit0(api)
    regs = ("gsts", "rtaddr", "fsts", "cap", "ecap")
    ok(all(before[r] == after[r] for r in regs) and after["owner"] == "kernel",
       f"{what}: the registers read the same before and after", [(before[r]["value"], after[r]["value"]) for r in regs])
    ok(not os.path.exists(os.path.join(d.tmp, "buffers")) or not os.listdir(os.path.join(d.tmp, "buffers")),
       f"{what}: no buffer was made")
    api.close()
    stop_clean(d, what)


# ---- [Control], reload, params, readers, HTTP ----

def configured(tmp):
    what = "[Control] Manage=all Mode=legacy DefaultPolicy=blocked on a scalable unit"
    d = start(tmp, "manage", "scalable:nocm",
              config=CONFIG + "[Control]\nManage=all\nMode=legacy\nDefaultPolicy=blocked\n")
    if not ok(d.wait_ready(), f"{what}: iommud starts", d.stderr()):
        d.kill()
        return
    api = Api(d)
    u = unit0(api)
    ctl = u.get("control") or {}
    ok(u["owner"] == "iommud" and u["mode"] == "legacy" and ctl.get("mode") == "legacy"
       and ctl.get("default_policy") == "blocked" and ctl.get("domains") == [],
       f"{what}: taken at start, legacy mode, blocked default policy (no domain of its own)", ctl)
    ok(all(x["translation"] == "blocked" and x["domain"] is None for x in devices(api).values())
       and api.result("v1.domains") == [], f"{what}: every device blocked, no domain")
    dom = api.result("v1.domain.create")["domain"]
    ok(dom == 0, f"{what}: without caching mode the first DID is 0", dom)
    d.proc.send_signal(signal.SIGHUP)
    ok(wait(lambda: "Reloaded" in d.stderr()), f"{what}: SIGHUP reloads", d.stderr()[-500:])
    u = unit0(api)
    ok(u["owner"] == "iommud" and [x["domain"] for x in u["control"]["domains"]] == [dom],
       f"{what}: after the reload the unit is still owned, its domain still there", u.get("control"))
    api.close()
    rc = d.stop()
    ok(rc == 0 and "dmar0: given back (translation off)" in d.stderr() and not d.sanitizer_report(),
       f"{what}: SIGTERM gives the unit back and exits 0", d.stderr()[-1500:])

    what = "[Control] Manage=dmar0 dmar7 Mode=scalable DefaultPolicy=identity on a legacy unit"
    d = start(tmp, "manage2", "legacy:aw48,nocm",
              config=CONFIG + "[Control]\nManage=dmar0 dmar7\nMode=scalable\nDefaultPolicy=identity\n")
    if not ok(d.wait_ready(), f"{what}: iommud starts", d.stderr()):
        d.kill()
        return
    log = d.stderr()
    api = Api(d)
    ok("Failed to take dmar0 (Manage=): dmar0 has no scalable mode (ECAP.SMTS 0)" in log
       and "Manage= names dmar7, which is no unit here" in log and unit0(api)["owner"] == "none",
       f"{what}: the take fails with a line saying why, the unknown name is a warning, iommud serves on", log[-1500:])
    api.close()
    stop_clean(d, what)

    what = "[Control] Manage=dmar0 DefaultPolicy=identity"
    d = start(tmp, "manage3", "legacy:aw39,nocm", config=CONFIG + "[Control]\nManage=dmar0\nDefaultPolicy=identity\n")
    if not ok(d.wait_ready(), f"{what}: iommud starts", d.stderr()):
        d.kill()
        return
    api = Api(d)
    got = ranges(api)
    ok(devices(api)[EDU]["translation"] == "multi-level" and got == [(0, 0, GiB, True, True, GiB)],
       f"{what}: devices reach the simulated RAM 1:1 in the identity domain (39-bit, a 1 GiB page)", got)
    api.close()
    stop_clean(d, what)

    what = "[Control] Domain=, Map=, Attach= at start"
    d = start(tmp, "declared", "legacy:aw48,cm", config=CONFIG + "[Control]\nManage=dmar0\n"
              "Domain=dmar0 5\nDomain=dmar0 6 blocked\nDomain=dmar0 5 identity\n"
              "Map=dmar0 5 0x100000 0x10000000 0x3000 r\nMap=dmar0 5 0x200000 alloc 0x2000\n"
              "Map=dmar0 7 0x100000 0x10000000 0x1000\n"
              "Attach=00:03.0 5\nAttach=0000:00:1f.2 6\nAttach=00:01.0 9\n")
    if not ok(d.wait_ready(), f"{what}: iommud starts", d.stderr()):
        d.kill()
        return
    api = Api(d)
    log = d.stderr()
    got = ranges(api)
    devs = devices(api)
    buf = [b for b in os.listdir(os.path.join(d.tmp, "buffers")) if "-5-0x200000-" in b]
    ok(got[:1] == [(0x100000, 0x10000000, 0x3000, True, False, 4096)] and len(got) == 2
       and got[1][0] == 0x200000 and got[1][2] == 0x2000 and got[1][3:5] == (True, True) and len(buf) == 1
       and devs[EDU]["domain"] == 5
       and devs["0000:00:1f.2"]["translation"] == "blocked" and devs["0000:00:01.0"]["domain"] != 9,
       f"{what}: the domains made, edu mapped (a physical range read-only, a buffer) and attached, 00:1f.2 "
       "blocked (a blocked domain has no entry: no domain shown)", (got, {b: x["domain"] for b, x in devs.items()}, log[-800:]))
    ok("Domain=dmar0 5 identity: Domain 5 exists on dmar0" in log and "Map=dmar0 7 0x100000: " in log
       and "Attach=0000:00:01.0 9: " in log,
       f"{what}: a second Domain= for a DID, a Map= and an Attach= into no domain: one line each, the rest applied",
       log[-1200:])
    st = read_state(d)
    ok(st and [x["domain"] for x in st["units"][0]["domains"]] == [1, 5, 6]
       and st["units"][0]["devices"] == [{"bdf": EDU, "domain": 5}, {"bdf": "0000:00:1f.2", "domain": 6}],
       f"{what}: and saved", json.dumps(st)[:600])
    api.close()
    stop_clean(d, what)
    for line, says in (("Domain=dmar0", "Invalid Domain=dmar0: expected UNIT DID [paging|identity|blocked|passthrough]"),
                       ("Domain=dmar0 5 nested", "Invalid Domain=dmar0 5 nested: expected a type"),
                       ("Map=dmar0 5 0x100000 0x1000", "Invalid Map=dmar0 5 0x100000 0x1000: expected UNIT DID IOVA"),
                       ("Map=dmar0 5 0x1000 alloc 010 rw", "expected UNIT DID IOVA PHYS|alloc LENGTH"),
                       ("Map=dmar0 5 0x1000 alloc 0x1000 x", "expected the access as r, w or rw"),
                       ("Attach=00:03 5", "Invalid Attach=00:03 5: expected BDF DID")):
        d = h.Daemon(tmp, "badentry", ["--simulate", "legacy"], config=f"[Control]\n{line}\n")
        rc = d.proc.wait(20 * h.SLOW)
        ok(rc != 0 and says in d.stderr() and len(d.stderr().strip().splitlines()) == 1,
           f"{line}: the daemon does not start, one line says what was expected", d.stderr())
        d.kill()

    d = h.Daemon(tmp, "badconf", ["--simulate", "legacy"], config="[Control]\nMode=fast\n")
    rc = d.proc.wait(20 * h.SLOW)
    ok(rc != 0 and "Invalid Mode=fast: expected auto, legacy or scalable" in d.stderr(),
       "Mode=fast: the daemon does not start, the line names the choices", d.stderr())
    d.kill()
    p = subprocess.run([h.IOMMUD, "--simulate", "legacy:aw57"], capture_output=True, text=True, timeout=20)
    ok(p.returncode == 2 and "Unknown simulation option 'aw57'" in p.stderr and len(p.stderr.splitlines()) == 1,
       "--simulate legacy:aw57: a usage error of one line", p.stderr)


def params(tmp):
    what = "bad params"
    d = start(tmp, "params", "legacy")
    if not ok(d.wait_ready(), f"{what}: iommud starts", d.stderr()):
        d.kill()
        return
    api = Api(d)
    cases = [
        ("v1.power", {}, 'v1.power needs param "on"'),
        ("v1.power", {"on": 1}, 'Param "on" must be true or false, not 1'),
        ("v1.power", {"on": True, "unit": 7}, 'Param "unit" must be a string, not a int'),
        ("v1.power", {"on": True, "unit": "dm ar0"}, ("Param \"unit\" must be a name",)),
        ("v1.power", {"on": True, "bogus": 1}, 'Unknown param "bogus" for v1.power (it takes unit, on)'),
        ("v1.domain.create", {"type": "huge"},
         "Param \"type\" must be paging, identity, blocked or passthrough, not 'huge'"),
        ("v1.domain.create", {"id": 65536}, 'Param "id" must be an integer from 0 to 65535, not 65536'),
        ("v1.domain.create", {"id": -1}, 'Param "id" must be an integer from 0 to 65535, not -1'),
        ("v1.attach", {"device": "00:03.0"}, 'v1.attach needs param "domain"'),
        ("v1.attach", {"device": "zz", "domain": 1}, ("is not a PCI address",)),
        ("v1.map", {"domain": 1, "iova": "0x1000", "length": 4096, "alloc": True},
         'Param "iova" must be an integer from 0 to 18446744073709551615, not a string'),
        ("v1.map", {"domain": 1, "iova": 0, "length": 1.5, "alloc": True},
         'Param "length" must be an integer from 0 to 18446744073709551615, not a double'),
        ("v1.map", {"domain": 1, "iova": 0, "alloc": True}, 'v1.map needs param "length"'),
        ("v1.unmap", {"domain": 1, "iova": 0}, 'v1.unmap needs param "length"'),
        ("v1.invalidate", {"what": "all"}, "Param \"what\" must be global, domain or page, not 'all'"),
        ("v1.invalidate", {"what": "page", "domain": 1, "iova": 0, "order": 64},
         'Param "order" must be an integer from 0 to 63, not 64'),
        ("v1.domain.create", {"unit": "dmar9"}, "No unit dmar9 here (dmar0)"),
    ]
    bad = []
    for method, p, text in cases:
        a = api(method, **p)
        if not err(a, ENODEV if p.get("unit") == "dmar9" else 22, text):
            bad.append((method, p, a))
    ok(not bad, f"{what}: {len(cases)} bad requests, each refused with its one line", bad)
    ok(unit0(api)["owner"] == "none", f"{what}: and nothing taken")
    ok(api.result("v1.power", on=True, unit="dmar0")["owner"] == "iommud"
       and api.result("v1.domain.create")["domain"] == 2, f"{what}: power on, a paging domain 2")
    a = api("v1.map", domain=2, iova=0xFFFFFFFFFFFFF000, phys=0, length=4096)
    ok(err(a, ERANGE), f"{what}: a 64-bit IOVA beyond the width: ERANGE, one line", a)
    api.close()
    stop_clean(d, what)


def readers(tmp):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        t.skip("readers", "needs root and setpriv (util-linux)")
        return
    rdir = os.path.join(tmp, "readers")
    os.mkdir(rdir)
    os.chmod(tmp, 0o755)
    os.chmod(rdir, 0o755)
    d = start(rdir, "readers", "legacy", config="[Daemon]\nSocketMode=0666\nAdminGroup=\n")
    if not ok(d.wait_ready(), "readers: iommud with SocketMode=0666", d.stderr()):
        d.kill()
        return
    changing = [("v1.power", {"on": True}), ("v1.domain.create", {}), ("v1.domain.destroy", {"domain": 1}),
                ("v1.attach", {"device": EDU, "domain": 1}), ("v1.detach", {"device": EDU}),
                ("v1.map", {"domain": 1, "iova": 0, "alloc": True, "length": 4096}),
                ("v1.unmap", {"domain": 1, "iova": 0, "length": 4096}), ("v1.invalidate", {"what": "global"})]
    client = ("import json, socket, sys\n"
              "s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1])\n"
              "f = s.makefile('rwb'); out = []\n"
              "for m, p in json.loads(sys.argv[2]):\n"
              "    f.write(json.dumps({'method': m, 'params': p, 'id': m}).encode() + b'\\n'); f.flush()\n"
              "    out.append(json.loads(f.readline()))\n"
              "print(json.dumps(out))\n")
    p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "python3", "-c", client,
                        d.socket, json.dumps([("v1.info", {})] + changing)], capture_output=True, text=True,
                       timeout=60 * h.SLOW)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = [p.stdout, p.stderr]
    ok(isinstance(out, list) and out[0].get("result") is not None
       and all(h.error_is(a, h.EACCES, f"{m} changes state: it needs root", id=m)
               for a, (m, _) in zip(out[1:], changing)) and len(out) == len(changing) + 1,
       "readers: nobody reads, and every changing method is refused with EACCES", out)
    with d.client() as c:
        ok(c.call("v1.info")["result"]["units"][0]["owner"] == "none", "readers: nothing was taken")
    stop_clean(d, "readers")


def over_http(tmp):
    what = "HTTP"
    token = os.path.join(tmp, "token")
    with open(token, "w") as f:
        f.write("s3cret\n")
    os.chmod(token, 0o600)
    d = start(tmp, "http", "scalable", http=True,
              config=CONFIG + f"[HTTP]\nAllowChanges=yes\nTokenFile={token}\n")
    if not ok(d.wait_ready(), f"{what}: iommud with AllowChanges=yes and a token", d.stderr()):
        d.kill()
        return
    st, body = http(d.port, "POST", "/v1/power?on=true")
    ok(st == 401 and body["error"]["code"] == 13, f"{what}: POST /v1/power without the token: 401", body)
    st, body = http(d.port, "POST", "/v1/power?on=true", token="wrong")
    ok(st == 401, f"{what}: with a wrong token: 401", body)
    with d.client() as c:
        ok(c.call("v1.info")["result"]["units"][0]["owner"] == "none", f"{what}: nothing was taken")
    st, unit = http(d.port, "POST", "/v1/power?on=true", token="s3cret")
    ok(st == 200 and unit["owner"] == "iommud" and unit["control"]["mode"] == "scalable",
       f"{what}: POST /v1/power?on=true with the token takes the unit", unit.get("owner"))
    st, made = http(d.port, "POST", "/v1/domain/create?type=paging&unit=dmar0", token="s3cret")
    ok(st == 200 and made == {"unit": "dmar0", "domain": 2, "type": "paging", "address_width": 48},
       f"{what}: POST /v1/domain/create", made)
    st, att = http(d.port, "POST", "/v1/attach?device=00:03.0&domain=2", token="s3cret")
    ok(st == 200 and att["domain"] == 2 and att["translation"] == "second-stage", f"{what}: POST /v1/attach", att)
    st, m = http(d.port, "POST", "/v1/map?domain=2&iova=0x100000&alloc=true&length=0x1000&read=true",
                 token="s3cret")
    ok(st == 200 and m["iova"] == 0x100000 and m["read"] and not m["write"] and os.path.exists(m["buffer"]),
       f"{what}: POST /v1/map with alloc=true (a boolean in the query)", m)
    st, body = http(d.port, "POST", "/v1/map?domain=2&iova=0x100000&alloc=yes&length=0x1000", token="s3cret")
    ok(st == 400 and body["error"]["message"] == "Param \"alloc\" must be true or false, not \"yes\"",
       f"{what}: alloc=yes: 400 with the socket API's message", body)
    st, mp = http(d.port, "GET", "/v1/mappings?device=00:03.0")
    ok(st == 200 and [r["iova"] for x in mp for r in x["ranges"]] == [0x100000], f"{what}: GET /v1/mappings sees it",
       mp)
    st, inv = http(d.port, "POST", "/v1/invalidate?what=page&domain=2&iova=0x100000", token="s3cret")
    ok(st == 200 and inv == {"unit": "dmar0", "what": "page", "domain": 2, "iova": 0x100000, "order": 0},
       f"{what}: POST /v1/invalidate", inv)
    st, body = http(d.port, "GET", "/v1/unmap?domain=2&iova=0x100000&length=0x1000")
    ok(st == 405, f"{what}: GET of a changing path: 405", body)
    st, un = http(d.port, "POST", "/v1/unmap?domain=2&iova=0x100000&length=0x1000", token="s3cret")
    ok(st == 200 and not os.path.exists(m["buffer"]), f"{what}: POST /v1/unmap frees the buffer", un)
    st, det = http(d.port, "POST", "/v1/detach?device=00:03.0", token="s3cret")
    st2, des = http(d.port, "POST", "/v1/domain/destroy?domain=2", token="s3cret")
    st3, off = http(d.port, "POST", "/v1/power?on=false", token="s3cret")
    ok((st, st2, st3) == (200, 200, 200) and det["translation"] == "pass-through" and des == {"unit": "dmar0",
                                                                                            "domain": 2}
       and off["owner"] == "none", f"{what}: POST /v1/detach, /v1/domain/destroy, /v1/power?on=false", (det, des))
    stop_clean(d, what)


# ---- a live machine below a sysroot ----
#
# Registers in a plain file (sysroot/dev/mem): they take writes but never
# answer, so a take must stop at its first wait, with the registers as far
# as it got.  What is checked is the live path up to there: /proc/mounts
# and TableMemory=, /dev/mem opened for writing.

LIVE_BASE = 0xFED90000


def live_tree(root, mounts):
    for sub in ("sys/firmware/acpi/tables", "sys/bus/pci/devices", "dev", "proc"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    drhd = struct.pack("<HHBBHQ", 0, 16, 0x01, 0, 0, LIVE_BASE)
    table = bytearray(b"DMAR" + struct.pack("<IBB", 48 + len(drhd), 1, 0) + b"BOCHS " + b"BXPC    "
                      + struct.pack("<I", 1) + b"BXPC" + struct.pack("<I", 1) + bytes([47, 0]) + bytes(10) + drhd)
    table[9] = (-sum(table)) & 0xFF
    with open(os.path.join(root, "sys/firmware/acpi/tables/DMAR"), "wb") as f:
        f.write(table)
    with open(os.path.join(root, "proc/iomem"), "w") as f:
        f.write("00100000-001fffff : System RAM\n")
    with open(os.path.join(root, "proc/mounts"), "w") as f:
        f.write(mounts)
    with open(os.path.join(root, "dev/mem"), "wb") as f:
        f.truncate(LIVE_BASE + 0x1000)
        f.seek(LIVE_BASE)
        f.write(struct.pack("<IIQQ", 0x10, 0, QEMU_CAP[48], QEMU_ECAP["legacy"]))
    with open(os.path.join(root, "dev/mem"), "rb") as f:
        f.seek(LIVE_BASE)
        return f.read(0x1000)


def registers(root):
    with open(os.path.join(root, "dev/mem"), "rb") as f:
        f.seek(LIVE_BASE)
        return f.read(0x1000)


def live(tmp):
    if os.geteuid() != 0:
        t.skip("a live unit below a sysroot", "needs root (physical addresses from /proc/self/pagemap)")
        return
    for name, mounts, config, expect in (
            ("nohuge", "proc /proc proc rw 0 0\n", "", None),
            ("huge", "hugetlbfs /hp hugetlbfs rw,relatime,pagesize=2M 0 0\n", "", "/hp/iommud/dmar0"),
            ("tablemem", "", "[Control]\nTableMemory=@/tm\n", "/tm/dmar0")):
        root = os.path.join(tmp, f"live-{name}")
        os.makedirs(os.path.join(root, "hp"))
        before = live_tree(root, mounts)
        d = h.Daemon(tmp, f"live-{name}", ["--sysroot", root],
                     config="[Daemon]\nFaultIntervalSec=0\n" + config.replace("@", root))
        what = f"live, {name}"
        if not ok(d.wait_ready(), f"{what}: iommud serves the fixture tree", d.stderr()):
            d.kill()
            continue
        with d.client() as c:
            a = c.call("v1.power", {"on": True}, 1)
            info = c.call("v1.info", None, 2)["result"]["units"][0]
        after = registers(root)
        if expect is None:
            # locked table memory, said; the queue started through /dev/mem, whose GSTS never answers
            ok(err(a, 110, ("gsts did not become",)) and "no hugetlbfs is mounted" in d.stderr() and "locked memory" in d.stderr()
               and after[0x18:0x1C] != bytes(4) and info["owner"] == "none",
               f"{what}: locked table memory with a warning; the take writes GCMD through /dev/mem and, with no "
               "answer in GSTS, fails in one line; the unit stays nobody's", (a, d.stderr()[-800:]))
        else:
            path = root + expect
            ok(err(a, 22, f"{path} is not on hugetlbfs (TableMemory=)") and after == before
               and info["owner"] == "none",
               f"{what}: table memory {expect} (below the sysroot) is no hugetlbfs: refused in one line, nothing "
               "written to the registers", (a, after == before))
        stop_clean(d, what)


def left_translating(tmp):
    """A live unit found translating at the start (GSTS.TES set in the
    register file) that cannot be taken back: degraded, with one line, and
    nothing written to its registers: with no state, a torn one, one of
    another version, one whose tables were in locked memory, one whose
    table memory file is gone.  Every change is refused naming the
    recovery."""
    if os.geteuid() != 0:
        t.skip("a live unit left translating", "needs root (physical addresses from /proc/self/pagemap)")
        return
    saved = {"name": "dmar0", "address": LIVE_BASE, "segment": 0, "mode": "legacy", "default_policy": "passthrough",
             "invalidation": "queued", "table_memory": {"kind": "locked", "path": None}, "root_table": 0x20000000,
             "domains": [], "devices": [], "buffers": []}

    def state(unit, version=1):
        body = json.dumps({"units": [unit]}, separators=(",", ":")).encode() + b"\n"
        return b"iommud-control-state %d %d %08x\n" % (version, len(body), zlib.crc32(body)) + body

    gone = dict(saved, table_memory={"kind": "hugetlbfs", "path": "/nonexistent/iommud/dmar0"})
    for name, data, says in (
            ("none", None, "it translates, but the control state does not have it"),
            ("torn", state(saved)[:-20], "the control state was refused"),
            ("v2", state(saved, 2), "of format version 2"),
            ("locked", state(saved), "its tables were in locked memory"),
            ("gone", state(gone), "/nonexistent/iommud/dmar0")):
        root = os.path.join(tmp, f"left-{name}")
        live_tree(root, "proc /proc proc rw 0 0\n")
        with open(os.path.join(root, "dev/mem"), "r+b") as f:
            f.seek(LIVE_BASE + 0x1C)
            f.write(struct.pack("<I", 1 << 31))  # GSTS.TES
        before = registers(root)
        state_dir = os.path.join(tmp, f"left-{name}.state")
        os.makedirs(state_dir)
        if data is not None:
            with open(os.path.join(state_dir, "control.state"), "wb") as f:
                f.write(data)
        d = h.Daemon(tmp, f"left-{name}", ["--sysroot", root], config="[Daemon]\nFaultIntervalSec=0\n")
        what = f"left translating, {name} state"
        if not ok(d.wait_ready(), f"{what}: iommud serves the fixture tree", d.stderr()):
            d.kill()
            continue
        with d.client() as c:
            info = c.call("v1.info", None, 1)["result"]["units"][0]
            m = c.call("v1.map", {"domain": 5, "iova": 0x100000, "alloc": True, "length": 0x1000}, 2)
            on = c.call("v1.power", {"on": True}, 3)
        reason = (info.get("control") or {}).get("degraded") or ""
        lines = [x for x in d.stderr().splitlines() if "not taken back" in x]
        ok(info["owner"] == "iommud" and says in reason and len(lines) == 1 and says in lines[0],
           f"{what}: dmar0 degraded, owned by iommud in v1.info, one line in the log ({says})",
           (info.get("control"), lines))
        ok(err(m, 16, ("dmar0 is degraded: nothing is written to it until iommuctl power off --unit dmar0 gives "
                       "it back; ",))
           and err(on, 16, ("dmar0 is degraded: ",)),
           f"{what}: v1.map and v1.power on refused in one line naming the recovery (EBUSY)", (m, on))
        ok(registers(root) == before, f"{what}: nothing written to the unit's registers")
        if name in ("torn", "v2"):
            with open(os.path.join(state_dir, "control.state.refused"), "rb") as f:
                ok(f.read() == data, f"{what}: the refused file kept as control.state.refused")
        stop_clean(d, what)
        ok(registers(root) == before, f"{what}: nothing written at the stop either")


def earlier_states(tmp):
    """What an earlier iommud left in the state directory: set aside at the
    first save, and said; a torn file refused in one line."""
    good = b'{"units":[{"name":"dmar0","address":4275634176,"segment":0,"mode":"legacy",' \
        b'"default_policy":"passthrough","invalidation":"queued","table_memory":{"kind":"image","path":null},' \
        b'"root_table":536870912,"domains":[],"devices":[],"buffers":[]}]}\n'
    whole = b"iommud-control-state 1 %d %08x\n" % (len(good), zlib.crc32(good)) + good
    for name, data, says in (
            ("earlier-owned", whole, "dmar0: an earlier iommud owned it"),
            ("earlier-torn", whole[:-20], "is refused: it is torn: its header says"),
            ("earlier-v2", whole.replace(b"state 1 ", b"state 2 ", 1),
             "is refused: it is of format version 2; this iommud reads version 1")):
        state_dir = os.path.join(tmp, name + ".state")
        os.makedirs(state_dir)
        with open(os.path.join(state_dir, "control.state"), "wb") as f:
            f.write(data)
        d, what = start(tmp, name, "legacy"), name
        if not ok(d.wait_ready(), f"{what}: iommud serves the simulated machine", d.stderr()):
            d.kill()
            continue
        with d.client() as c:
            a = c.call("v1.power", {"on": True}, 1)
        lines = [x for x in d.stderr().splitlines() if says in x]
        try:
            with open(os.path.join(state_dir, "control.state.earlier"), "rb") as f:
                aside = f.read()
        except OSError:
            aside = None
        st = read_state(d)
        ok("result" in a and len(lines) == 1 and aside == data and st and [u["name"] for u in st["units"]] == ["dmar0"],
           f"{name}: at the first save the earlier state is set aside (control.state.earlier) with one line "
           f"({says}...), and the new state written", (a, lines, d.stderr()[-600:]))
        stop_clean(d, what)


def unsaveable(tmp):
    """A take whose state cannot be saved is undone and refused: iommud never
    owns a unit a restart could not know about."""
    blocker = os.path.join(tmp, "not-a-directory")
    with open(blocker, "w") as f:
        f.write("a file where the state directory's parent should be\n")
    d = start(tmp, "unsaveable", "legacy", extra=("--state-dir", os.path.join(blocker, "state")))
    what = "a state directory that cannot be made"
    if not ok(d.wait_ready(), f"{what}: iommud serves the simulated machine", d.stderr()):
        d.kill()
        return
    with d.client() as c:
        a = c.call("v1.power", {"on": True}, 1)
        info = c.call("v1.info", None, 2)["result"]["units"][0]
    ok(err(a, 20, ("dmar0 not taken: Cannot save the control state: creating", "Not a directory")) and info["owner"] == "none"
       and info["gsts"]["fields"]["tes"]["raw"] == 0,
       f"{what}: power on refused in one line (ENOTDIR), the unit given back at once: owner none, translation off",
       (a, info["owner"]))
    stop_clean(d, what)


with tempfile.TemporaryDirectory() as tmp:
    unsaveable(tmp)
    earlier_states(tmp)
    live(tmp)
    left_translating(tmp)
    for mode, aw, cm in (("legacy", 48, True), ("legacy", 39, False), ("scalable", 48, True),
                         ("scalable", 48, False)):
        run(tmp, mode, aw, cm)
    kernel(tmp)
    configured(tmp)
    params(tmp)
    readers(tmp)
    over_http(tmp)

t.done()
