#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Prometheus metrics (iommud(8), METRICS), mostly rendered without the HTTP
server by tests/metrics-dump:

 - each snapshot fixture: the text passes promtool check metrics, every
   family comes once with HELP and TYPE, no series twice, and the values
   agree with the fixture's JSON (info.json, devices.json, mappings.json)
   computed here independently, from the raw register values and ranges
   (the bytes mapped per domain as the union of mappings.json's ranges,
   where the library sums a walk without ever writing a range);
 - a snapshot built here whose domains share page tables and mix them:
   two devices of one domain with overlapping trees (counted once), a
   tree shared by two domains, pass-through: the bytes each domain maps
   as known from the construction and from iommuctl's mappings;
 - hostile and partial models: label values escaped, a unit given twice
   rendered once, missing parts left out and named by iommu_scrape_error;
 - every member the renderer reads, missing, null or of each wrong type:
   no abort, no invented value, exactly the samples it feeds left out;
 - every family metrics_render can emit, and every fault reason code, is
   documented in iommud(8), with the HELP text it is served with;
 - the daemon's counters on a live fixture tree (a DMAR table, a /dev/mem
   register window and a /proc/kcore with the invalidation queue in RAM)
   that the test changes between polls: faults by reason, PFO overflows,
   the last fault time, and invalidation descriptors by type and
   granularity, across the end of the queue and when it went round;
 - the same counters through iommud's own fault poll and GET /metrics;
 - the units iommud owns (the daemon object's "control"): owned units,
   domains by type, attached devices, invalidations issued, fault records
   cleared (against a running daemon in tests/test-daemon-control.py)."""
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter

DUMP = os.environ["METRICS_DUMP"]
DATA = os.environ["TESTDATA"]
MAN = os.environ["MAN_IOMMUD"]
PROMTOOL = shutil.which("promtool")

n = 0
failures = 0


def ok(cond, what, detail=""):
    global n, failures
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}", flush=True)
    if not cond:
        failures += 1
        for line in str(detail).splitlines()[:40]:
            print(f"# {line}", flush=True)
    return cond


def skip(what, why):
    global n
    n += 1
    print(f"ok {n} - {what} # SKIP {why}", flush=True)


def dump(*args, stdin=None):
    p = subprocess.run([DUMP, *args], capture_output=True, text=True, input=stdin, timeout=120)
    return p.returncode, p.stdout, p.stderr


# ---- the text format, read independently of the renderer ----

LABEL_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def parse_labels(s, i):
    """Labels from s[i] == "{"; (dict, index after "}")."""
    labels = {}
    i += 1
    while s[i] != "}":
        m = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"").match(s, i)
        if not m:
            raise ValueError(f"bad label at {s[i:]!r}")
        name, i, value = m.group(1), m.end(), ""
        while s[i] != '"':
            if s[i] == "\\":
                if s[i + 1] not in LABEL_ESCAPES:
                    raise ValueError(f"bad escape in {s!r}")
                value += LABEL_ESCAPES[s[i + 1]]
                i += 2
            else:
                value += s[i]
                i += 1
        if name in labels:
            raise ValueError(f"label {name} twice in {s!r}")
        labels[name] = value
        i += 1
        if s[i] == ",":
            i += 1
    return labels, i + 1


class Metrics:
    def __init__(self, text):
        self.text = text
        self.help, self.type, self.order = {}, {}, []
        self.samples = []  # (name, labels, value)
        self.problems = []
        current = None
        for line in text.splitlines():
            if line.startswith("# HELP "):
                name, h = line[7:].split(" ", 1)
                if name in self.help:
                    self.problems.append(f"{name}: HELP twice (family repeats)")
                self.help[name] = h
                self.order.append(name)
                current = name
            elif line.startswith("# TYPE "):
                name, t = line[7:].split(" ", 1)
                if name != current or name in self.type:
                    self.problems.append(f"{name}: TYPE not right after its HELP")
                self.type[name] = t
            elif line.startswith("#") or not line.strip():
                self.problems.append(f"unexpected line {line!r}")
            else:
                m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
                name, i = m.group(0), m.end()
                labels = {}
                if i < len(line) and line[i] == "{":
                    labels, i = parse_labels(line, i)
                if line[i] != " ":
                    self.problems.append(f"no space before the value: {line!r}")
                value = float(line[i + 1:])
                if name != current:
                    self.problems.append(f"{name}: sample outside its family's block")
                self.samples.append((name, labels, value))
        seen = set()
        for name, labels, _ in self.samples:
            key = (name, tuple(sorted(labels.items())))
            if key in seen:
                self.problems.append(f"series twice: {key}")
            seen.add(key)

    def family(self, name):
        """{frozen labels: value} of a family."""
        return {tuple(sorted(lb.items())): v for nm, lb, v in self.samples if nm == name}

    def get(self, name, **labels):
        return self.family(name).get(tuple(sorted(labels.items())))

    def values(self, name, key):
        """{label value: sample value} of a family by one label."""
        return {lb[key]: v for nm, lb, v in self.samples if nm == name}


def check_format(m, what):
    problems = list(m.problems)
    for name in m.order:
        t = m.type.get(name)
        if not name.startswith(("iommu_", "iommud_")):
            problems.append(f"{name}: not prefixed iommu_/iommud_")
        if (t == "counter") != name.endswith("_total"):
            problems.append(f"{name}: {t} and the _total suffix disagree")
        if not any(s[0] == name for s in m.samples):
            problems.append(f"{name}: a family without samples")
    ok(not problems, f"{what}: each family once, HELP then TYPE then its samples; no series twice", problems)


def promtool(text, what):
    if not PROMTOOL:
        skip(f"{what}: promtool check metrics", "promtool not installed (Debian package prometheus)")
        return
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
    ok(p.returncode == 0 and not p.stdout.strip(), f"{what}: promtool check metrics passes (lint included)",
       p.stdout + p.stderr)


# ---- the snapshot fixtures against their JSON ----

def union_bytes(ranges):
    total, end = 0, None
    for start, length in sorted(ranges):
        stop = start + length
        if end is not None and start < end:
            start = end
        if stop > start:
            total += stop - start
        end = stop if end is None else max(end, stop)
    return total


def expected_from_json(d):
    info = json.load(open(os.path.join(d, "info.json")))
    devices = json.load(open(os.path.join(d, "devices.json")))
    mappings = json.load(open(os.path.join(d, "mappings.json")))
    e = {"units": {}}
    for u in info["units"]:
        cap, gsts = u["cap"]["value"], u["gsts"]["value"]
        e["units"][u["name"]] = {
            "address": "0x%x" % u["address"],
            "version": u["version"],
            "mode": u["mode"],
            "owner": u["owner"],
            "tes": (gsts >> 31) & 1, "qies": (gsts >> 26) & 1, "ires": (gsts >> 25) & 1,
            "mgaw": ((cap >> 16) & 0x3F) + 1,
            "nd": 2 ** (4 + 2 * (cap & 7)),
            "sagaw": {w for bit, w in ((1, 39), (2, 48), (3, 57)) if (cap >> 8) & (1 << bit)},
            "pending": len(u["faults"]),
        }
    e["devices"] = Counter((dv["unit"] or "none", dv["translation"] or "unknown") for dv in devices)
    domains = {(dv["unit"], dv["domain"]) for dv in devices if dv["unit"] and dv["domain"] is not None}
    ranges = {}
    for mp in mappings:
        if mp.get("unit") and mp.get("domain") is not None:
            domains.add((mp["unit"], mp["domain"]))
            ranges.setdefault((mp["unit"], mp["domain"]), []).extend(
                (r["iova"], r["length"]) for r in mp["ranges"])
    e["domains_used"] = Counter(u for u, _ in domains)
    e["mapped"] = {(u, str(did)): union_bytes(ranges.get((u, did), [])) for u, did in domains
                   if (u, did) in ranges}
    return e


snapshots = sorted(d for d in os.listdir(os.path.join(DATA, "snapshots"))
                   if os.path.exists(os.path.join(DATA, "snapshots", d, "snapshot.iommu")))
ok(len(snapshots) >= 4, f"{len(snapshots)} snapshot fixtures", snapshots)
rendered_families = set()
for name in snapshots:
    d = os.path.join(DATA, "snapshots", name)
    rc, out, err = dump(os.path.join(d, "snapshot.iommu"))
    if not ok(rc == 0 and out, f"{name}: metrics rendered", err):
        continue
    m = Metrics(out)
    rendered_families |= set(m.order)
    check_format(m, name)
    promtool(out, name)
    e = expected_from_json(d)

    problems = []
    for unit, x in e["units"].items():
        lbl = {"unit": unit, "address": x["address"], "version": x["version"], "mode": x["mode"],
               "owner": x["owner"]}
        if m.get("iommu_unit_info", **lbl) != 1:
            problems.append(f"unit_info {lbl}: {m.family('iommu_unit_info')}")
        for fam, key in (("iommu_translation_enabled", "tes"), ("iommu_queued_invalidation_enabled", "qies"),
                         ("iommu_interrupt_remapping_enabled", "ires"),
                         ("iommu_max_guest_address_width", "mgaw"), ("iommu_domains_supported", "nd"),
                         ("iommu_fault_records_pending", "pending")):
            if m.get(fam, unit=unit) != x[key]:
                problems.append(f"{fam}: {m.get(fam, unit=unit)}, expected {x[key]}")
        sagaw = {int(lb["bits"]) for nm, lb, v in m.samples
                 if nm == "iommu_adjusted_guest_address_width_info" and lb["unit"] == unit and v == 1}
        if sagaw != x["sagaw"]:
            problems.append(f"SAGAW widths {sagaw}, expected {x['sagaw']}")
        if m.get("iommu_unit_registers_readable", unit=unit) != 1:
            problems.append("registers_readable not 1")
    ok(not problems, f"{name}: unit info, enables, MGAW, SAGAW, ND, pending records as the raw registers say",
       problems)

    devices = {(lb["unit"], lb["translation"]): v for nm, lb, v in m.samples if nm == "iommu_devices"}
    ok(devices == dict(e["devices"]) and sum(devices.values()) > 0,
       f"{name}: iommu_devices by unit and translation as devices.json counts them",
       f"{devices} != {dict(e['devices'])}")
    used = m.values("iommu_domains_used", "unit")
    ok(used == {u: e["domains_used"].get(u, 0) for u in e["units"]},
       f"{name}: iommu_domains_used: the distinct DIDs of devices.json and mappings.json", used)
    mapped = {(lb["unit"], lb["domain"]): v for nm, lb, v in m.samples if nm == "iommu_mapped_bytes"}
    ok(mapped == e["mapped"] and any(mapped.values()),
       f"{name}: iommu_mapped_bytes per domain: the union of mappings.json's ranges (shared ranges once)",
       f"{mapped} != {e['mapped']}")
    errors = m.values("iommu_scrape_error", "part")
    ok(errors == {"info": 0, "devices": 0, "mappings": 0, "faults": 0},
       f"{name}: iommu_scrape_error 0 for every part", errors)
    ok(not any(f.startswith("iommud_") or f.endswith("_total") for f in m.order),
       f"{name}: an empty daemon object: no daemon counters, no build info", m.order)

    rc, out, err = dump("--mapped", os.path.join(d, "snapshot.iommu"))
    agg = json.loads(out) if rc == 0 else []
    ok({(a["unit"], str(a["domain"])): a["mapped_bytes"] for a in agg} == e["mapped"]
       and all(set(a) == {"unit", "domain", "mapped_bytes"} for a in agg),
       f"{name}: model_mapped_bytes() per domain: the union of mappings.json's ranges", out + err)

# ---- domains sharing and mixing page tables ----

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from snapshot_file import PAGE, Snapshot, Unit, dmar_table  # noqa: E402

IOMMUCTL = os.environ.get("IOMMUCTL")


def shared_tables_snapshot():
    """Legacy mode, 39-bit tables.  Tree A maps IOVA 0x1000-0x3fff and
    0x10000; tree B 0x2000-0x4fff.  00:03.0 (domain 7) uses A, 00:04.0
    (domain 7) B, 00:05.0 (domain 7) A again, 00:06.0 (domain 9) A,
    00:07.0 (domain 11) is pass-through."""
    base, root, ctx = 0xFED90000, 0x1000, 0x2000
    tables = {"A": (0x10000, 0x11000, 0x12000), "B": (0x20000, 0x21000, 0x22000)}
    leaves = {"A": [0x1000, 0x2000, 0x3000, 0x10000], "B": [0x2000, 0x3000, 0x4000]}
    pages = {}

    def table(entries):
        p = bytearray(PAGE)
        for i, v in entries.items():
            p[i * 8:i * 8 + 8] = v.to_bytes(8, "little")
        return bytes(p)

    for name, (l3, l2, l1) in tables.items():
        pages[l3] = table({0: l2 | 3})
        pages[l2] = table({0: l1 | 3})
        pages[l1] = table({iova >> 12: (0x100000 + (iova >> 12) * 2 * PAGE + (0x80000 if name == "B" else 0)) | 3
                           for iova in leaves[name]})
    pages[root] = table({0: ctx | 1})
    entries = {}
    for dev, tree, did, tt in ((3, "A", 7, 0), (4, "B", 7, 0), (5, "A", 7, 0), (6, "A", 9, 0), (7, None, 11, 2)):
        devfn = dev << 3
        entries[devfn * 2] = (tables[tree][0] if tree else 0) | tt << 2 | 1
        entries[devfn * 2 + 1] = did << 8 | 1
    pages[ctx] = table(entries)
    regs = [(0x000, 32, 0x10), (0x008, 64, 0x00D2008C22260286), (0x010, 64, 0xF42), (0x01C, 32, 0xC0000000),
            (0x020, 64, root), (0x034, 32, 0), (0x220, 64, 0), (0x228, 64, 0)]
    meta = {"created": "2026-01-01T00:00:00Z", "host": "test-metrics", "tool": "tests/test-metrics.py",
            "units": [{"name": "dmar0", "address": base, "sysfs": None, "registers_error": None}],
            "devices": [{"bdf": f"0000:00:0{dev}.0", "vendor": 0x1234, "device": 0x11E8, "class": 0xFF,
                         "name": "Device 1234:11e8", "driver": None, "group": None, "iommu": None}
                        for dev in range(3, 8)],
            "ram_error": None}
    return Snapshot(meta, dmar=dmar_table(39, [(1, 0, base)]), units=[Unit("dmar0", base, regs)],
                    ram=[(0x1000, 0x9FFFF), (0x100000, 0x3FFFFFF)], pages=pages).build()


with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "shared.iommu")
    with open(path, "wb") as f:
        f.write(shared_tables_snapshot())
    # known from the construction: domain 7 maps 0x1000-0x4fff and 0x10000
    # (A and B overlap), domain 9 A alone, domain 11 nothing
    want = {("dmar0", "7"): 0x5000, ("dmar0", "9"): 0x4000, ("dmar0", "11"): 0}
    rc, out, err = dump(path)
    m = Metrics(out) if rc == 0 else Metrics("")
    got = {(lb["unit"], lb["domain"]): v for nm, lb, v in m.samples if nm == "iommu_mapped_bytes"}
    ok(rc == 0 and got == want,
       "shared and mixed trees: overlapping trees of one domain counted once, a tree shared by two domains "
       "counted for each, pass-through 0", f"{got} != {want}\n{err}")
    ok(m.get("iommu_domains_used", unit="dmar0") == 3, "three domains used", m.family("iommu_domains_used"))
    check_format(m, "shared trees")
    if IOMMUCTL:
        p = subprocess.run([IOMMUCTL, "--snapshot", path, "--json", "mappings"], capture_output=True, text=True,
                           timeout=60)
        ranges = {}
        for mp in json.loads(p.stdout) if p.returncode == 0 else []:
            if mp.get("unit") and mp.get("domain") is not None:
                ranges.setdefault((mp["unit"], str(mp["domain"])), []).extend(
                    (r["iova"], r["length"]) for r in mp["ranges"])
        union = {k: union_bytes(v) for k, v in ranges.items()}
        shared = [mp["bdf"] for mp in json.loads(p.stdout) if mp.get("same_tables_as")] if p.returncode == 0 else []
        ok(union == want and len(shared) == 2,
           f"the same as the union of iommuctl's mappings ({len(shared)} targets sharing an earlier tree)",
           f"{union} {shared} {p.stderr}")
    else:
        skip("shared trees against iommuctl's mappings", "IOMMUCTL not set")

# ---- hostile and partial models ----

families = []
rc, out, _ = dump("--families")
for line in out.splitlines():
    fname, ftype, fhelp = line.split("\t")
    families.append((fname, ftype, fhelp))
ok(rc == 0 and len(families) >= 20, f"metrics-dump --families: {len(families)} families", out)

HOSTILE = 'dm"ar\\0\nx{y="1"}'
snap = os.path.join(DATA, "snapshots", "scalable-aw48")
info = json.load(open(os.path.join(snap, "info.json")))
hostile_unit = dict(info["units"][0], name=HOSTILE)
info_h = {"units": [hostile_unit, hostile_unit, info["units"][0]], "ram_error": None}
devices_h = [{"bdf": "0000:00:03.0", "unit": HOSTILE, "domain": 7, "translation": 'pass\\through"'},
             {"bdf": "0000:00:04.0", "unit": None, "domain": None, "translation": None}]
# the mapped bytes: a domain given twice (the first entry counts), one without a figure
mapped_h = [
    {"unit": HOSTILE, "domain": 7, "mapped_bytes": 0x5000},
    {"unit": HOSTILE, "domain": 7, "mapped_bytes": 0x1000},
    {"unit": HOSTILE, "domain": 8, "mapped_bytes": None},
    {"unit": HOSTILE},
]
faults_h = {"units": [{"name": HOSTILE, "fsts": None, "faults": [{"index": 0}, {"index": 3}]}], "log": []}
daemon_h = {
    "version": '0.1"\\\n',
    "scrape_started_usec": 1,
    "units": [{"name": HOSTILE, "faults": [{"reason": 5, "count": 3}, {"reason": 0x86, "count": 1}],
               "fault_overflows": 2, "last_fault_usec": 1714560000123456,
               "invalidation_queue": {"observed": True, "overruns": 1,
                                      "descriptors": [{"type": "iotlb", "granularity": "domain", "count": 9},
                                                      {"type": "wait", "granularity": "none", "count": 4}]}},
              {"name": "dmar1", "faults": [], "fault_overflows": 0, "invalidation_queue": {"observed": False}}],
    "control": {"owned_units": 1,
                "units": [{"name": HOSTILE, "owned": True, "degraded": False,
                           "domains": [{"type": "paging", "count": 2}, {"type": "passthrough", "count": 1}],
                           "attached_devices": 3, "fault_records_cleared": 4,
                           "invalidations": [{"type": "iotlb", "granularity": "page", "count": 7},
                                             {"type": "context_cache", "granularity": "device", "count": 2}]},
                          {"name": "dmar1", "owned": False, "degraded": True, "fault_records_cleared": 1,
                           "invalidations": [{"type": "iotlb", "granularity": "page", "count": 5}]}]},
}
with tempfile.TemporaryDirectory() as tmp:
    paths = []
    for i, part in enumerate((info_h, devices_h, mapped_h, faults_h, daemon_h)):
        paths.append(os.path.join(tmp, f"{i}.json"))
        with open(paths[-1], "w") as f:
            json.dump(part, f)
    rc, out, err = dump("--json", *paths)
    ok(rc == 0, "a hostile model (quotes, backslashes, newlines in names) renders", err)
    m = Metrics(out)
    check_format(m, "hostile model")
    promtool(out, "hostile model")
    rendered_families |= set(m.order)
    ok('unit="dm\\"ar\\\\0\\nx{y=\\"1\\"}"' in out,
       "label values escaped as the format says: \\\" \\\\ \\n", out[:600])
    units = {lb["unit"] for nm, lb, v in m.samples if nm == "iommu_unit_info"}
    ok(units == {HOSTILE, "dmar0"} and len(m.family("iommu_unit_info")) == 2,
       "the escaped unit name reads back exactly; a unit given twice is rendered once", units)
    ok(m.get("iommud_build_info", version='0.1"\\\n') == 1, "iommud_build_info{version} with its value escaped")
    ok(m.get("iommu_mapped_bytes", unit=HOSTILE, domain="7") == 0x5000
       and m.get("iommu_mapped_bytes", unit=HOSTILE, domain="8") is None
       and len(m.family("iommu_mapped_bytes")) == 1,
       "mapped bytes: a domain given twice once, as first given; one without a figure left out",
       m.family("iommu_mapped_bytes"))
    ok(m.get("iommu_devices", unit=HOSTILE, translation='pass\\through"') == 1
       and m.get("iommu_devices", unit="none", translation="unknown") == 1,
       "a device without unit counts under unit=\"none\", translation=\"unknown\"", m.family("iommu_devices"))
    ok(m.get("iommu_domains_used", unit=HOSTILE) == 2 and m.get("iommu_domains_used", unit="dmar0") == 0,
       "domains used: DID 7 from a device and the mapped bytes, DID 8 from the mapped bytes; 0 for a unit "
       "with none", m.family("iommu_domains_used"))
    ok(m.get("iommu_faults_total", unit=HOSTILE, reason="0x05") == 3
       and m.get("iommu_faults_total", unit=HOSTILE, reason="0x86") == 1
       and m.get("iommu_fault_overflows_total", unit=HOSTILE) == 2
       and m.get("iommu_fault_overflows_total", unit="dmar1") == 0
       and m.get("iommu_last_fault_timestamp_seconds", unit=HOSTILE) == 1714560000.123456
       and m.get("iommu_last_fault_timestamp_seconds", unit="dmar1") is None
       and re.search(r"^iommu_last_fault_timestamp_seconds\{.*\} 1714560000\.123456$", out, re.M),
       "daemon counters: faults by reason code (0x05, 0x86), overflows, the last fault time exact to the usec",
       out)
    ok(m.get("iommu_fault_records_pending", unit=HOSTILE) == 2, "pending fault records from the faults model")
    ok(m.get("iommu_invalidations_total", unit=HOSTILE, type="iotlb", granularity="domain") == 9
       and m.get("iommu_invalidations_total", unit=HOSTILE, type="wait", granularity="none") == 4
       and m.get("iommu_invalidation_queue_overruns_total", unit=HOSTILE) == 1
       and m.get("iommu_invalidation_queue_observed", unit=HOSTILE) == 1
       and m.get("iommu_invalidation_queue_observed", unit="dmar1") == 0
       and m.get("iommu_invalidation_queue_overruns_total", unit="dmar1") is None,
       "invalidation counters from the daemon object; a queue never observed: observed 0, no counters",
       m.family("iommu_invalidations_total"))
    ok(m.get("iommu_owned_units") == 1
       and m.get("iommu_owned_domains", unit=HOSTILE, type="paging") == 2
       and m.get("iommu_owned_domains", unit=HOSTILE, type="passthrough") == 1
       and len(m.family("iommu_owned_domains")) == 2
       and m.get("iommu_owned_attached_devices", unit=HOSTILE) == 3
       and m.get("iommu_owned_attached_devices", unit="dmar1") is None
       and m.get("iommu_invalidations_issued_total", unit=HOSTILE, type="iotlb", granularity="page") == 7
       and m.get("iommu_invalidations_issued_total", unit=HOSTILE, type="context_cache", granularity="device") == 2
       and m.get("iommu_invalidations_issued_total", unit="dmar1", type="iotlb", granularity="page") == 5
       and m.get("iommu_fault_records_cleared_total", unit=HOSTILE) == 4
       and m.get("iommu_fault_records_cleared_total", unit="dmar1") == 1
       and m.get("iommu_unit_degraded", unit=HOSTILE) == 0
       and m.get("iommu_unit_degraded", unit="dmar1") == 1,
       "control counters from the daemon object: owned units, domains by type, attached devices only of a unit "
       "owned now, invalidations issued and records cleared also of one given back, degraded 0 or 1",
       "\n".join(line for line in out.splitlines() if "owned" in line or "issued" in line or "cleared" in line))
    dur = m.get("iommud_scrape_duration_seconds")
    ok(dur is not None and dur > 0 and m.order[-1] == "iommud_scrape_duration_seconds",
       "iommud_scrape_duration_seconds, rendered last", m.order[-3:])
    ok(set(m.order) == {f[0] for f in families},
       "a full model and daemon object render every family --families lists", set(m.order) ^ {f[0] for f in families})
    ok([f for f in m.order] == [f[0] for f in families],
       "families come in the order --families lists them", m.order)
    ok(all(m.help[f] == h.replace("\\", "\\\\") and m.type[f] == t for f, t, h in families),
       "HELP and TYPE as --families lists them")

    # parts missing, or of the wrong shape
    with open(paths[2], "w") as f:
        json.dump({"not": "a list"}, f)
    rc, out, err = dump("--json", paths[0], "-", paths[2], "-", "-")
    m = Metrics(out)
    ok(rc == 0 and m.values("iommu_scrape_error", "part") == {"info": 0, "devices": 1, "mappings": 1, "faults": 1},
       "devices and faults missing, the mapped bytes not a list: iommu_scrape_error 1 for each", out[-400:])
    ok(not {"iommu_devices", "iommu_mapped_bytes", "iommu_domains_used", "iommu_fault_records_pending"} & set(m.order)
       and "iommu_unit_info" in m.order, "their families are left out; the units are still there", m.order)
    check_format(m, "partial model")
    promtool(out, "partial model")
    rc, out, err = dump("--json", "-", "-", "-", "-", "-")
    m = Metrics(out)
    ok(rc == 0 and m.order == ["iommu_scrape_error"] and set(m.values("iommu_scrape_error", "part").values()) == {1},
       "nothing at all: only iommu_scrape_error, 1 for every part", out)

# ---- every member metrics_render reads, missing, null or of a wrong type ----
#
# A model from another version may lack a member, have null where this one
# has a value, or another type.  None of that may abort the renderer or
# invent a value: the samples that member feeds are left out (or, where
# the model itself uses null, they take its documented fallback), the part
# whose list is unusable is named by iommu_scrape_error, and everything
# else renders exactly as before.

UNIT_FAMILIES = ["iommu_unit_info", "iommu_unit_registers_readable", "iommu_translation_enabled",
                 "iommu_queued_invalidation_enabled", "iommu_interrupt_remapping_enabled",
                 "iommu_max_guest_address_width", "iommu_adjusted_guest_address_width_info",
                 "iommu_domains_supported", "iommu_domains_used"]
DAEMON_UNIT_FAMILIES = ["iommu_faults_total", "iommu_fault_overflows_total", "iommu_last_fault_timestamp_seconds",
                        "iommu_invalidation_queue_observed", "iommu_invalidations_total",
                        "iommu_invalidation_queue_overruns_total"]
CONTROL_UNIT_FAMILIES = ["iommu_owned_domains", "iommu_owned_attached_devices", "iommu_unit_degraded",
                         "iommu_invalidations_issued_total", "iommu_fault_records_cleared_total"]
CONTROL_FAMILIES = ["iommu_owned_units", *CONTROL_UNIT_FAMILIES]
PART_FAMILIES = {"info": UNIT_FAMILIES, "devices": ["iommu_devices"], "mappings": ["iommu_mapped_bytes"],
                 "faults": ["iommu_fault_records_pending"]}
PARTS = ["info", "devices", "mappings", "faults", "daemon"]
WRONG = {"object": ["x", 7, 1.5, True, []], "array": ["x", 7, 1.5, True, {}], "string": [7, 1.5, True, [], {}],
         "int": ["x", "7", 1.5, True, [], {}, -1], "bool": ["x", 1, 1.5, [], {}]}

unit0 = json.load(open(os.path.join(snap, "info.json")))["units"][0]
base = {
    "info": {"units": [dict(unit0, name="dmar0"), dict(unit0, name="dmar1")], "ram_error": None},
    "devices": [{"bdf": "0000:00:03.0", "unit": "dmar0", "domain": 7, "translation": "multi-level"},
                {"bdf": "0000:00:04.0", "unit": "dmar1", "domain": 9, "translation": "pass-through"},
                {"bdf": "0000:00:05.0", "unit": "dmar1", "domain": 11, "translation": "pass-through"}],
    "mappings": [{"unit": "dmar0", "domain": 7, "mapped_bytes": 0x3000},
                 {"unit": "dmar1", "domain": 9, "mapped_bytes": 0x1000}],
    "faults": {"units": [{"name": "dmar0", "fsts": None, "faults": [{"index": 0}]},
                         {"name": "dmar1", "fsts": None, "faults": []}], "log": []},
    "daemon": {"version": "9.9", "scrape_started_usec": 1,
               "units": [{"name": "dmar0", "faults": [{"reason": 5, "count": 3}, {"reason": 6, "count": 1}],
                          "fault_overflows": 2, "last_fault_usec": 1714560000123456,
                          "invalidation_queue": {"observed": True, "overruns": 1, "descriptors": [
                              {"type": "iotlb", "granularity": "domain", "count": 9},
                              {"type": "wait", "granularity": "none", "count": 4}]}},
                         {"name": "dmar1", "faults": [], "fault_overflows": 0,
                          "invalidation_queue": {"observed": False}}],
               "control": {"owned_units": 1,
                           "units": [{"name": "dmar0", "owned": True, "degraded": False,
                                      "domains": [{"type": "paging", "count": 2}],
                                      "attached_devices": 1, "fault_records_cleared": 2,
                                      "invalidations": [{"type": "iotlb", "granularity": "domain", "count": 5}]},
                                     {"name": "dmar1", "owned": False, "fault_records_cleared": 0,
                                      "invalidations": [{"type": "iotlb", "granularity": "domain", "count": 0}]}]}},
}


def render(model, tmp):
    paths = []
    for i, part in enumerate(PARTS):
        if part not in model:
            paths.append("-")
            continue
        paths.append(os.path.join(tmp, f"m{i}.json"))
        with open(paths[-1], "w") as f:
            json.dump(model[part], f)
    return dump("--json", *paths)


def series(m):
    """{(family, labels): value}, the scrape duration's value left out (it is a clock)."""
    return {(nm, tuple(sorted(lb.items()))): (None if nm == "iommud_scrape_duration_seconds" else v)
            for nm, lb, v in m.samples}


def drop(*families, **labels):
    def f(s):
        return {k: v for k, v in s.items()
                if not (k[0] in families and set(labels.items()) <= set(k[1]))}
    return f


def scrape_error(part):
    def f(s):
        s = drop(*PART_FAMILIES[part])(s)
        s[("iommu_scrape_error", (("part", part),))] = 1
        return s
    return f


def relabel(family, match, **new):
    def f(s):
        out = {}
        for (nm, lb), v in s.items():
            d = dict(lb)
            if nm == family and set(match.items()) <= set(d.items()):
                d.update(new)
            out[(nm, tuple(sorted(d.items())))] = v
        return out
    return f


def setv(family, value, **labels):
    def f(s):
        s = dict(s)
        s[(family, tuple(sorted(labels.items())))] = value
        return s
    return f


def chain(*fs):
    def f(s):
        for g in fs:
            s = g(s)
        return s
    return f


SAME = chain()
CAP = ["units", 0, "cap", "fields"]
CTL = ["control"]
INVQ = ["units", 0, "invalidation_queue"]
unit0_gone = drop(*UNIT_FAMILIES, unit="dmar0")
daemon_unit0_gone = drop(*DAEMON_UNIT_FAMILIES, unit="dmar0")
info_missing = chain(scrape_error("info"), drop("iommu_domains_used"))
# (part, path, type, wrong: effect, null: effect or None for the same as wrong)
MEMBERS = [
    ("info", [], "object", info_missing, None),
    ("info", ["units"], "array", info_missing, None),
    ("info", ["units", 0], "object", unit0_gone, None),
    ("info", ["units", 0, "name"], "string", unit0_gone, None),
    ("info", ["units", 0, "address"], "int", drop("iommu_unit_info", unit="dmar0"), None),
    *[("info", ["units", 0, key], "string", drop("iommu_unit_info", unit="dmar0"),
       relabel("iommu_unit_info", {"unit": "dmar0"}, **{key: "unknown"})) for key in ("version", "mode", "owner")],
    ("info", ["units", 0, "registers_error"], "string", drop("iommu_unit_registers_readable", unit="dmar0"), SAME),
    *[("info", ["units", 0, key], "bool", drop(fam, unit="dmar0"), None)
      for key, fam in (("translation_enabled", "iommu_translation_enabled"),
                       ("queued_invalidation", "iommu_queued_invalidation_enabled"),
                       ("interrupt_remapping", "iommu_interrupt_remapping_enabled"))],
    ("info", ["units", 0, "cap"], "object", drop("iommu_max_guest_address_width",
                                                  "iommu_adjusted_guest_address_width_info",
                                                  "iommu_domains_supported", unit="dmar0"), None),
    ("info", CAP, "object", drop("iommu_max_guest_address_width", "iommu_adjusted_guest_address_width_info",
                                 "iommu_domains_supported", unit="dmar0"), None),
    ("info", CAP + ["mgaw"], "object", drop("iommu_max_guest_address_width", unit="dmar0"), None),
    ("info", CAP + ["mgaw", "bits"], "int", drop("iommu_max_guest_address_width", unit="dmar0"), None),
    ("info", CAP + ["sagaw", "address_widths"], "array",
     drop("iommu_adjusted_guest_address_width_info", unit="dmar0"), None),
    ("info", CAP + ["sagaw", "address_widths", 0], "int",
     drop("iommu_adjusted_guest_address_width_info", unit="dmar0",
          bits=str(unit0["cap"]["fields"]["sagaw"]["address_widths"][0])), None),
    ("info", CAP + ["nd", "domains"], "int", drop("iommu_domains_supported", unit="dmar0"), None),

    # domain 11 is a device's only: it goes with the devices
    ("devices", [], "array", chain(scrape_error("devices"), setv("iommu_domains_used", 1, unit="dmar1"),
                                   drop("iommu_mapped_bytes", unit="dmar1", domain="11")), None),
    ("devices", [0], "object", drop("iommu_devices", unit="dmar0"), None),
    ("devices", [0, "unit"], "string", drop("iommu_devices", unit="dmar0"),
     chain(drop("iommu_devices", unit="dmar0"), setv("iommu_devices", 1, unit="none", translation="multi-level"))),
    ("devices", [0, "translation"], "string", drop("iommu_devices", unit="dmar0"),
     relabel("iommu_devices", {"unit": "dmar0"}, translation="unknown")),
    ("devices", [2, "domain"], "int", chain(setv("iommu_domains_used", 1, unit="dmar1"),
                                            drop("iommu_mapped_bytes", unit="dmar1", domain="11")), None),

    # the mapped bytes (model_mapped_bytes()): an entry without its domain
    # leaves the domain to the devices, which say it maps nothing found
    ("mappings", [], "array", scrape_error("mappings"), None),
    ("mappings", [0], "object", setv("iommu_mapped_bytes", 0, unit="dmar0", domain="7"), None),
    ("mappings", [0, "unit"], "string", setv("iommu_mapped_bytes", 0, unit="dmar0", domain="7"), None),
    ("mappings", [0, "domain"], "int", setv("iommu_mapped_bytes", 0, unit="dmar0", domain="7"), None),
    ("mappings", [0, "mapped_bytes"], "int", drop("iommu_mapped_bytes", unit="dmar0", domain="7"), None),

    ("faults", [], "object", scrape_error("faults"), None),
    ("faults", ["units"], "array", scrape_error("faults"), None),
    ("faults", ["units", 0], "object", drop("iommu_fault_records_pending", unit="dmar0"), None),
    ("faults", ["units", 0, "name"], "string", drop("iommu_fault_records_pending", unit="dmar0"), None),
    ("faults", ["units", 0, "faults"], "array", drop("iommu_fault_records_pending", unit="dmar0"), None),

    ("daemon", [], "object", drop(*DAEMON_UNIT_FAMILIES, *CONTROL_FAMILIES, "iommud_build_info",
                                  "iommud_scrape_duration_seconds"), None),
    ("daemon", ["version"], "string", drop("iommud_build_info"), None),
    ("daemon", ["scrape_started_usec"], "int", drop("iommud_scrape_duration_seconds"), None),
    ("daemon", ["units"], "array", drop(*DAEMON_UNIT_FAMILIES), None),
    ("daemon", ["units", 0], "object", daemon_unit0_gone, None),
    ("daemon", ["units", 0, "name"], "string", daemon_unit0_gone, None),
    ("daemon", ["units", 0, "faults"], "array", drop("iommu_faults_total", unit="dmar0"), None),
    ("daemon", ["units", 0, "faults", 0], "object", drop("iommu_faults_total", unit="dmar0", reason="0x05"), None),
    ("daemon", ["units", 0, "faults", 0, "reason"], "int", drop("iommu_faults_total", unit="dmar0", reason="0x05"),
     None),
    ("daemon", ["units", 0, "faults", 0, "count"], "int", drop("iommu_faults_total", unit="dmar0", reason="0x05"),
     None),
    ("daemon", ["units", 0, "fault_overflows"], "int", drop("iommu_fault_overflows_total", unit="dmar0"), None),
    ("daemon", ["units", 0, "last_fault_usec"], "int", drop("iommu_last_fault_timestamp_seconds", unit="dmar0"),
     None),
    ("daemon", INVQ, "object", drop("iommu_invalidation_queue_observed", "iommu_invalidations_total",
                                    "iommu_invalidation_queue_overruns_total", unit="dmar0"), None),
    ("daemon", INVQ + ["observed"], "bool", drop("iommu_invalidation_queue_observed", unit="dmar0"), None),
    ("daemon", INVQ + ["descriptors"], "array", drop("iommu_invalidations_total", unit="dmar0"), None),
    *[("daemon", INVQ + ["descriptors", 0] + key, ty,
       drop("iommu_invalidations_total", unit="dmar0", type="iotlb", granularity="domain"), None)
      for key, ty in (([], "object"), (["type"], "string"), (["granularity"], "string"), (["count"], "int"))],
    ("daemon", INVQ + ["overruns"], "int", drop("iommu_invalidation_queue_overruns_total", unit="dmar0"), None),

    # the units iommud owns: only what each member feeds goes
    ("daemon", CTL, "object", drop(*CONTROL_FAMILIES), None),
    ("daemon", CTL + ["owned_units"], "int", drop("iommu_owned_units"), None),
    ("daemon", CTL + ["units"], "array", drop(*CONTROL_UNIT_FAMILIES), None),
    ("daemon", CTL + ["units", 0], "object", drop(*CONTROL_UNIT_FAMILIES, unit="dmar0"), None),
    ("daemon", CTL + ["units", 0, "name"], "string", drop(*CONTROL_UNIT_FAMILIES, unit="dmar0"), None),
    ("daemon", CTL + ["units", 0, "domains"], "array", drop("iommu_owned_domains", unit="dmar0"), None),
    *[("daemon", CTL + ["units", 0, "domains", 0] + key, ty, drop("iommu_owned_domains", unit="dmar0"), None)
      for key, ty in (([], "object"), (["type"], "string"), (["count"], "int"))],
    ("daemon", CTL + ["units", 0, "attached_devices"], "int", drop("iommu_owned_attached_devices", unit="dmar0"),
     None),
    ("daemon", CTL + ["units", 0, "invalidations"], "array", drop("iommu_invalidations_issued_total", unit="dmar0"),
     None),
    *[("daemon", CTL + ["units", 0, "invalidations", 0] + key, ty,
       drop("iommu_invalidations_issued_total", unit="dmar0"), None)
      for key, ty in (([], "object"), (["type"], "string"), (["granularity"], "string"), (["count"], "int"))],
    ("daemon", CTL + ["units", 0, "fault_records_cleared"], "int",
     drop("iommu_fault_records_cleared_total", unit="dmar0"), None),
    ("daemon", CTL + ["units", 0, "degraded"], "bool", drop("iommu_unit_degraded", unit="dmar0"), None),
]
# values of the right type out of range
RANGES = {("devices", (2, "domain")): [65536, 2 ** 64 - 1], ("mappings", (0, "domain")): [65536],
          ("daemon", ("units", 0, "faults", 0, "reason")): [256, 2 ** 63]}


def mutated(part, path, value):
    """base with the member at path set to value (ABSENT: removed)."""
    model = json.loads(json.dumps(base))
    if not path:
        if value is ABSENT:
            del model[part]
        else:
            model[part] = value
        return model
    o = model[part]
    for key in path[:-1]:
        o = o[key]
    if value is ABSENT:
        del o[path[-1]]
    else:
        o[path[-1]] = value
    return model


ABSENT = object()
with tempfile.TemporaryDirectory() as tmp:
    rc, out, err = render(base, tmp)
    m0 = Metrics(out)
    ok(rc == 0 and not m0.problems and set(m0.order) == {f[0] for f in families},
       "the model the members are taken from renders every family", err + out[-500:])
    s0 = series(m0)
    for part, path, ty, wrong, null in MEMBERS:
        kinds = [(repr(v), v, wrong) for v in WRONG[ty]]
        kinds.append(("null", None, null or wrong))
        if not path or not isinstance(path[-1], int):
            kinds.append(("absent", ABSENT, null or wrong))
        kinds += [(repr(v), v, wrong) for v in RANGES.get((part, tuple(path)), [])]
        failed = []
        for what, value, effect in kinds:
            rc, out, err = render(mutated(part, path, value), tmp)
            m = Metrics(out) if rc == 0 else None
            if rc != 0 or err or m.problems:
                failed.append(f"{what}: exit {rc}: {err.strip()[-300:]} {m.problems if m else ''}")
                continue
            want, got = effect(dict(s0)), series(m)
            if got != want:
                failed.append(f"{what}: unexpected {sorted(set(got.items()) - set(want.items()))[:4]}, "
                              f"missing {sorted(set(want.items()) - set(got.items()))[:4]}")
        where = ".".join(str(k) for k in [part, *path])
        ok(not failed, f"{where} ({ty}) missing, null or wrong: {len(kinds)} variants render, "
           f"leaving out exactly what it feeds", failed)

# ---- iommud(8) documents every family and reason ----

with open(MAN) as f:
    man_src = f.read()
man_text = " ".join(man_src.split("\n"))
man_text = re.sub(r"\\f[BIRP]", "", man_text).replace("\\%", "").replace("\\-", "-").replace("\\e", "\\")
man_text = re.sub(r"\s+", " ", man_text)
section = man_src.split(".SH METRICS", 1)[-1].split("\n.SH ", 1)[0] if ".SH METRICS" in man_src else ""
ok(section, "iommud(8) has a METRICS section")
missing = [f for f, t, h in families if f'.BR {f} " {t}' not in section]
ok(not missing, "every family in iommud(8) METRICS with its type", missing)
missing = [f for f, t, h in families if re.sub(r"\s+", " ", h) not in man_text]
ok(not missing, "every family's HELP text in iommud(8) as it is served", missing)
missing = sorted(rendered_families - {f for f, t, h in families})
ok(not missing, "every family found in any rendered output is one --families lists", missing)
rc, out, _ = dump("--fault-reasons")
reasons = [line.split("\t") for line in out.splitlines()]
missing = [c for c, text in reasons if f".B {c}\n{text.replace('-', chr(92) + '-')}\n" not in section]
ok(rc == 0 and len(reasons) > 50 and not missing,
   f"all {len(reasons)} fault reason codes the library names are in iommud(8)'s table", missing)

# ---- the daemon's counters on a live fixture tree ----

BASE = 0xFED90000
CAP = 0x00D2008C222F0686 | (3 << 40)  # QEMU's CAP, 4 fault recording registers
ECAP = 0x0000000000F0101A  # QI set
FRO = ((CAP >> 24) & 0x3FF) * 16
RAM_START, RAM_SIZE, RAM_OFFSET = 0x100000, 0x100000, 0x1000
QUEUE = 0x140000
NQ = 256  # QS 0, 128-bit descriptors
GSTS_QIES = 1 << 26


def dmar_table():
    drhd = struct.pack("<HHBBHQ", 0, 16, 0x01, 0, 0, BASE)
    length = 48 + len(drhd)
    hdr = b"DMAR" + struct.pack("<IBB", length, 1, 0) + b"BOCHS " + b"BXPC    " + struct.pack("<I", 1) \
        + b"BXPC" + struct.pack("<I", 1) + bytes([47, 0]) + bytes(10)
    table = bytearray(hdr + drhd)
    table[9] = (-sum(table)) & 0xFF
    return bytes(table)


def kcore():
    """An ELF64 core file with one PT_LOAD: RAM [RAM_START, +RAM_SIZE)."""
    ehdr = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack(
        "<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 7, RAM_OFFSET, 0xFFFF888000000000 + RAM_START, RAM_START, RAM_SIZE,
                       RAM_SIZE, 4096)
    return ehdr + phdr


class Tree:
    def __init__(self, root):
        for sub in ("sys/firmware/acpi/tables", "dev", "proc"):
            os.makedirs(os.path.join(root, sub))
        with open(os.path.join(root, "sys/firmware/acpi/tables/DMAR"), "wb") as f:
            f.write(dmar_table())
        with open(os.path.join(root, "proc/iomem"), "w") as f:
            f.write("%08x-%08x : System RAM\n" % (RAM_START, RAM_START + RAM_SIZE - 1))
        with open(os.path.join(root, "proc/kcore"), "wb") as f:
            f.write(kcore())
            f.truncate(RAM_OFFSET + RAM_SIZE)
        with open(os.path.join(root, "dev/mem"), "wb") as f:
            f.truncate(BASE + 0x4000)
        self.mem = os.open(os.path.join(root, "dev/mem"), os.O_RDWR)
        self.ram = os.open(os.path.join(root, "proc/kcore"), os.O_RDWR)
        self.w32(0x0, 0x10)
        self.w64(0x8, CAP)
        self.w64(0x10, ECAP)
        self.gsts = GSTS_QIES
        self.w32(0x1C, self.gsts)
        self.w64(0x90, QUEUE)  # IQA: QS 0, DW 0
        self.tail = 0
        self.w64(0x88, 0)

    def w32(self, off, v):
        os.pwrite(self.mem, struct.pack("<I", v), BASE + off)

    def w64(self, off, v):
        os.pwrite(self.mem, struct.pack("<Q", v), BASE + off)

    def fault(self, i, reason, address=0x5000, sid=0x18):
        hi = sid | (reason << 32) | (1 << 63)
        self.w64(FRO + 16 * i, address)
        self.w64(FRO + 16 * i + 8, hi)

    def submit(self, qw0, qw1=0, publish=True):
        os.pwrite(self.ram, struct.pack("<QQ", qw0, qw1), RAM_OFFSET + QUEUE - RAM_START + 16 * self.tail)
        self.tail = (self.tail + 1) % NQ
        if publish:
            self.w64(0x88, self.tail * 16)


class Driver:
    def __init__(self, *args):
        self.p = subprocess.Popen([DUMP, "--daemon", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)

    def poll(self):
        self.p.stdin.write("poll\n")
        self.p.stdin.flush()
        return self.p.stdout.readline() == "polled\n"

    def metrics(self):
        self.p.stdin.write("metrics\n")
        self.p.stdin.flush()
        lines = []
        while True:
            line = self.p.stdout.readline()
            if not line or line == "# END\n":
                break
            lines.append(line)
        return "".join(lines)

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(60)
        return rc, self.p.stderr.read()


IOTLB_DOMAIN, CC_GLOBAL, WAIT, IEC_INDEX = 0x2 | 2 << 4, 0x1 | 1 << 4, 0x5 | 1 << 5, 0x4 | 1 << 4

with tempfile.TemporaryDirectory() as tmp:
    root = os.path.join(tmp, "root")
    tree = Tree(root)
    drv = Driver("--sysroot", root)

    text = drv.metrics()
    m = Metrics(text)
    ok(list(m.values("iommud_build_info", "version").values()) == [1]
       and m.get("iommud_scrape_duration_seconds") is not None
       and m.get("iommu_queued_invalidation_enabled", unit="dmar0") == 1,
       "live fixture tree, before any poll: build info, scrape duration, the unit's QIES", text)
    ok(not any(f.endswith("_total") for f in m.order), "before any poll: no counters yet", m.order)

    ok(drv.poll(), "first poll")
    m = Metrics(drv.metrics())
    inv = {(lb["type"], lb["granularity"]): v for nm, lb, v in m.samples if nm == "iommu_invalidations_total"}
    ok(m.get("iommu_invalidation_queue_observed", unit="dmar0") == 1 and len(inv) >= 17 and set(inv.values()) == {0}
       and m.get("iommu_invalidation_queue_overruns_total", unit="dmar0") == 0
       and m.get("iommu_fault_overflows_total", unit="dmar0") == 0,
       f"first poll: the queue observed, {len(inv)} type/granularity series at 0, no overrun, no overflow", inv)
    check_format(m, "live fixture")
    promtool(m.text, "live fixture")

    before = time.time()
    tree.submit(IOTLB_DOMAIN)
    tree.submit(WAIT)
    tree.submit(CC_GLOBAL)
    tree.submit(WAIT)
    tree.fault(0, 0x05)
    tree.w32(0x34, 0x1)  # FSTS.PFO
    drv.poll()
    m = Metrics(drv.metrics())
    ok(m.get("iommu_invalidations_total", unit="dmar0", type="iotlb", granularity="domain") == 1
       and m.get("iommu_invalidations_total", unit="dmar0", type="context_cache", granularity="global") == 1
       and m.get("iommu_invalidations_total", unit="dmar0", type="wait", granularity="none") == 2
       and sum(v for nm, lb, v in m.samples if nm == "iommu_invalidations_total") == 4,
       "4 descriptors appended: counted by type and granularity", m.family("iommu_invalidations_total"))
    last = m.get("iommu_last_fault_timestamp_seconds", unit="dmar0") or 0
    ok(m.get("iommu_faults_total", unit="dmar0", reason="0x05") == 1
       and m.get("iommu_fault_overflows_total", unit="dmar0") == 1
       and m.get("iommu_fault_records_pending", unit="dmar0") == 1 and abs(last - before) < 10,
       "a fault record and FSTS.PFO: faults_total{reason=\"0x05\"} 1, one overflow, one pending, last fault now",
       m.text)

    drv.poll()
    m = Metrics(drv.metrics())
    ok(m.get("iommu_faults_total", unit="dmar0", reason="0x05") == 1
       and m.get("iommu_fault_overflows_total", unit="dmar0") == 1
       and sum(v for nm, lb, v in m.samples if nm == "iommu_invalidations_total") == 4,
       "polled again, nothing changed: nothing counted twice (the record and PFO still set)")

    tree.w32(0x34, 0x0)
    drv.poll()
    tree.w32(0x34, 0x1)
    tree.fault(1, 0x06, address=0x7000)
    tree.fault(0, 0x05, address=0x9000)  # the same register, a new fault
    drv.poll()
    m = Metrics(drv.metrics())
    ok(m.get("iommu_fault_overflows_total", unit="dmar0") == 2
       and m.get("iommu_faults_total", unit="dmar0", reason="0x05") == 2
       and m.get("iommu_faults_total", unit="dmar0", reason="0x06") == 1,
       "PFO cleared and set again: a second overflow; new records by reason", m.text)

    # across the end of the queue, and descriptors written but not yet published
    while tree.tail != NQ - 2:
        tree.submit(IEC_INDEX, publish=False)
    tree.w64(0x88, tree.tail * 16)
    for _ in range(4):
        tree.submit(IOTLB_DOMAIN)
    tree.submit(WAIT, publish=False)
    drv.poll()
    m = Metrics(drv.metrics())
    ok(m.get("iommu_invalidations_total", unit="dmar0", type="interrupt_entry_cache", granularity="index") == NQ - 6
       and m.get("iommu_invalidations_total", unit="dmar0", type="iotlb", granularity="domain") == 5
       and m.get("iommu_invalidations_total", unit="dmar0", type="wait", granularity="none") == 2
       and m.get("iommu_invalidation_queue_overruns_total", unit="dmar0") == 0,
       "across the end of the queue: every published descriptor once, the unpublished one not yet, no overrun",
       m.family("iommu_invalidations_total"))

    # round the whole queue and 3 more between two polls
    total_before = sum(v for nm, lb, v in m.samples if nm == "iommu_invalidations_total")
    for i in range(NQ + 3):
        tree.submit(CC_GLOBAL if i % 2 else IOTLB_DOMAIN, qw1=i)
    drv.poll()
    m = Metrics(drv.metrics())
    total_after = sum(v for nm, lb, v in m.samples if nm == "iommu_invalidations_total")
    ok(m.get("iommu_invalidation_queue_overruns_total", unit="dmar0") == 1 and total_after - total_before >= NQ,
       f"the queue went round between polls: an overrun, and at least its {NQ} descriptors counted "
       f"({total_after - total_before})", m.family("iommu_invalidation_queue_overruns_total"))

    tree.w32(0x1C, 0)  # queued invalidation off
    drv.poll()
    m = Metrics(drv.metrics())
    ok(m.get("iommu_invalidation_queue_observed", unit="dmar0") == 0
       and m.get("iommu_invalidations_total", unit="dmar0", type="iotlb", granularity="domain") is not None,
       "GSTS.QIES cleared: observed 0, the counters stay", m.family("iommu_invalidation_queue_observed"))
    check_format(m, "live fixture, later")
    promtool(m.text, "live fixture, later")
    rc, err = drv.close()
    ok(rc == 0 and "runtime error" not in err and "Sanitizer" not in err, "metrics-dump --daemon exits cleanly", err)

    # a snapshot: polled once; no queue to watch
    drv = Driver("--snapshot", os.path.join(DATA, "snapshots", "legacy-aw48", "snapshot.iommu"))
    drv.poll()
    m = Metrics(drv.metrics())
    ok(m.get("iommu_fault_overflows_total", unit="dmar0") == 0
       and "iommu_invalidation_queue_observed" not in m.order and "iommu_invalidations_total" not in m.order
       and m.values("iommu_scrape_error", "part") == {"info": 0, "devices": 0, "mappings": 0, "faults": 0},
       "daemon on a snapshot: overflows 0, no invalidation metrics at all, no scrape errors", m.order)
    check_format(m, "daemon on a snapshot")
    promtool(m.text, "daemon on a snapshot")
    rc, err = drv.close()
    ok(rc == 0 and "runtime error" not in err and "Sanitizer" not in err, "metrics-dump --daemon exits cleanly", err)

# ---- the same through iommud itself: its fault poll feeds the counters ----

IOMMUD = os.environ.get("IOMMUD")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                return ""
            time.sleep(0.1)


if not IOMMUD:
    skip("iommud's own /metrics on a live fixture tree", "IOMMUD not set")
else:
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        tree = Tree(root)
        conf = os.path.join(tmp, "iommud.conf")
        with open(conf, "w") as f:
            f.write("[Daemon]\nFaultIntervalSec=100ms\nRefreshIntervalSec=0\n")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "WATCHDOG_USEC")}
        with open(os.path.join(tmp, "stderr"), "w") as err:
            d = subprocess.Popen([IOMMUD, "--config", conf, "--sysroot", root, "--socket",
                                  os.path.join(tmp, "sock"), "--listen-http", f"127.0.0.1:{port}"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            first = scrape(port)
            tree.submit(IOTLB_DOMAIN)
            tree.submit(WAIT)
            tree.fault(0, 0x06)
            tree.w32(0x34, 0x1)
            deadline, m = time.monotonic() + 10, Metrics("")
            while time.monotonic() < deadline:
                m = Metrics(scrape(port))
                if m.get("iommu_invalidations_total", unit="dmar0", type="wait", granularity="none"):
                    break
                time.sleep(0.1)
            ok(first and m.get("iommu_invalidations_total", unit="dmar0", type="iotlb", granularity="domain") == 1
               and m.get("iommu_invalidations_total", unit="dmar0", type="wait", granularity="none") == 1
               and m.get("iommu_faults_total", unit="dmar0", reason="0x06") == 1
               and m.get("iommu_fault_overflows_total", unit="dmar0") == 1
               and m.get("iommud_scrape_duration_seconds") is not None,
               "iommud's GET /metrics: its fault poll counts the fault, the overflow and the invalidations",
               first[-300:] + m.text[-1500:])
            check_format(m, "iommud's /metrics")
        finally:
            d.terminate()
            rc = d.wait(30)
        with open(os.path.join(tmp, "stderr")) as f:
            text = f.read()
        ok(rc == 0 and "runtime error" not in text and "Sanitizer" not in text, "iommud stops cleanly", text[-2000:])

print(f"1..{n}", flush=True)
sys.exit(1 if failures else 0)
