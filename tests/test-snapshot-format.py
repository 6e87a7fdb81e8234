#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommu-snapshot(5) and the reader agree.  Snapshots are built by an
independent writer (tests/snapshot_file.py, written from the page alone):

 1. the page's own example, taken from the page's text, is a file whose
    header and section listing are the ones the page prints, and every read
    command answers from it what the page says the machine holds;
 2. each thing the page forbids is refused, exit 1, in one line of the
    page's form "snapshot FILE: ...", while what the page allows reads;
 3. the snapshot of a machine without VT-d (a DMAR section of length 0)
    gives the empty answer to every read command, from iommuctl and from
    iommud alike.

    IOMMUCTL, IOMMUD, MAN_SNAPSHOT (the page), METRICS_DUMP
"""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from snapshot_file import (DMAR, META, UNITS, Snapshot, Unit, dmar_table, page, unit_record,  # noqa: E402
                           units_section, xxd)

CTL = os.environ["IOMMUCTL"]
DAEMON = os.environ["IOMMUD"]
MAN = os.environ["MAN_SNAPSHOT"]
METRICS_DUMP = os.environ["METRICS_DUMP"]
n = failures = 0


def ok(cond, what, detail=""):
    global n, failures
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1
        for line in str(detail).splitlines()[:30]:
            print(f"# {line}")
    return cond


def run(*args):
    p = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


# ---- the page's example, from the page's text ----

def roff_text(line):
    """A line of an .EX block as it renders."""
    return line.replace("\\-", "-").replace("\\(em", "\u2014").replace("\\e", "\\")


def example_blocks(path):
    """The .EX blocks of EXAMPLES, in order, each a list of lines."""
    lines = open(path).read().split("\n")
    start = lines.index(".SH EXAMPLES")
    blocks, cur = [], None
    for line in lines[start + 1:]:
        if line.startswith(".SH"):
            break
        if line == ".EX":
            cur = []
        elif line == ".EE":
            blocks.append(cur)
            cur = None
        elif cur is not None:
            cur.append(roff_text(line))
    return blocks


def parse_xxd(lines):
    data = bytearray()
    for line in lines:
        data += bytes.fromhex(line.split(": ", 1)[1][:39].replace(" ", ""))
    return bytes(data)


def table_rows(lines):
    """The rows under a heading line, split on white space."""
    return [line.split() for line in lines[1:] if line.strip()]


blocks = example_blocks(MAN)
ok(len(blocks) == 9, "EXAMPLES has its nine blocks: commands, META, DMAR, UNITS, RAM, pages, header, script, listing",
   [b[:1] for b in blocks])
_, meta_lines, dmar_lines, unit_lines, ram_lines, page_lines, header_lines, script_lines, listing_lines = blocks

EX_META = ("\n".join(meta_lines) + "\n").encode()
EX_DMAR = parse_xxd(dmar_lines)
EX_REGS = [(int(r[0], 16), int(r[1]), int(r[2], 16)) for r in table_rows(unit_lines)]
EX_RAM = [(int(r[0], 16), int(r[1], 16)) for r in table_rows(ram_lines)]
words = {}
for r in table_rows(page_lines):
    words.setdefault(int(r[0], 16), {})[int(r[1], 16)] = int(r[2], 16)
EX_PAGES = {a: page(w) for a, w in words.items()}
EX_BASE = 0xFED90000


def example(**changes):
    """The page's example snapshot, with parts replaced."""
    parts = dict(meta=EX_META, dmar=EX_DMAR, units=[Unit("dmar0", EX_BASE, EX_REGS)], ram=EX_RAM, pages=EX_PAGES)
    parts.update(changes)
    return Snapshot(**parts)


ok(EX_DMAR == dmar_table(39, [(1, 0, EX_BASE)]),
   "the page's DMAR bytes are the table its text describes (HAW 39, one DRHD, INCLUDE_PCI_ALL, 0xfed90000)",
   "\n".join(xxd(dmar_table(39, [(1, 0, EX_BASE)]), 64)))
ok(len(EX_REGS) == 8 and len(EX_RAM) == 2 and sorted(EX_PAGES) == [0x1000, 0x2000, 0x3000, 0x4000, 0x5000],
   "the page's example: eight registers, two RAM ranges, five pages", (EX_REGS, EX_RAM, sorted(EX_PAGES)))

tmp = tempfile.TemporaryDirectory()
EX_FILE = os.path.join(tmp.name, "small.iommu")
data = example().build()
open(EX_FILE, "wb").write(data)

ok(xxd(data, 112) == header_lines[1:], "the example's header and table are byte for byte the page's xxd",
   "\n".join(["built:"] + xxd(data, 112) + ["page:"] + header_lines[1:]))
script = os.path.join(tmp.name, "list.py")
open(script, "w").write("\n".join(script_lines) + "\n")
p = subprocess.run([sys.executable, script, EX_FILE], capture_output=True, text=True)
ok(p.returncode == 0 and p.stdout.splitlines() == listing_lines,
   "the page's Python lists the example's sections as the page prints them", p.stdout + p.stderr)
text = open(MAN).read()
ok(f"{len(data):#x} bytes in all" in text and f"{len(EX_META)} bytes" in text
   and f"{len(EX_META):#x} bytes long" in text and f"{len(units_section([example().units[0].record()]))} bytes in all" in text,
   "the page's sizes of the example are the file's", (len(data), len(EX_META)))


def answer(snap, cmd):
    rc, out, err = run("--snapshot", snap, "--json", *cmd.split())
    try:
        return rc, json.loads(out) if rc == 0 else None, err
    except ValueError:
        return rc, None, out


# every read command answers what the page says the machine holds
rc, info, err = answer(EX_FILE, "info")
u = info["units"][0] if rc == 0 and len(info["units"]) == 1 else {}
ok(rc == 0 and u.get("name") == "dmar0" and u.get("address") == EX_BASE and u.get("version") == "1.0"
   and u.get("mode") == "legacy" and u.get("translation_enabled") is True and u.get("root_table") == 0x1000
   and u.get("faults") == [] and u.get("registers_error") is None and u.get("sysfs") is None
   and info.get("ram_error") is None,
   "example: info shows dmar0 at 0xfed90000, VT-d 1.0, translation on, legacy root table 0x1000, no faults",
   err or json.dumps(info)[:600])
rc, devices, err = answer(EX_FILE, "devices")
ok(rc == 0 and [(d["bdf"], d["unit"], d["domain"], d["vendor"], d["device"]) for d in devices]
   == [("0000:00:03.0", "dmar0", 1, 0x1234, 0x11E8)],
   "example: devices shows 00:03.0 (1234:11e8) in domain 1 of dmar0", err or devices)
rc, domains, err = answer(EX_FILE, "domains")
ok(rc == 0 and [(d["unit"], d["domain"], d["devices"]) for d in domains] == [("dmar0", 1, ["0000:00:03.0"])],
   "example: domains shows domain 1 of dmar0 with 00:03.0", err or domains)
rc, mappings, err = answer(EX_FILE, "mappings")
want = [{"iova": 0, "phys": 0x100000, "length": 0x2000, "read": True, "write": True}]
ok(rc == 0 and len(mappings) == 1 and mappings[0]["bdf"] == "0000:00:03.0" and mappings[0]["domain"] == 1
   and mappings[0]["address_width"] == 39 and mappings[0]["levels"] == 3 and mappings[0]["anomalies"] == []
   and [{k: r[k] for k in want[0]} for r in mappings[0]["ranges"]] == want,
   "example: mappings shows IOVA 0x0-0x1fff onto 0x100000 for 00:03.0, 39 bits, 3 levels, no anomaly",
   err or json.dumps(mappings)[:600])
rc, faults, err = answer(EX_FILE, "faults")
ok(rc == 0 and [(x["name"], x["faults"]) for x in faults["units"]] == [("dmar0", [])],
   "example: faults shows dmar0 holding none", err or faults)
rc, dmar, err = answer(EX_FILE, "dmar")
ok(rc == 0 and dmar["host_address_width"] == 39 and dmar["revision"] == 1 and dmar["checksum_valid"]
   and [(s["type"], s["address"], s["include_pci_all"]) for s in dmar["structures"]] == [("drhd", EX_BASE, True)],
   "example: dmar shows the table: revision 1, HAW 39, one DRHD at 0xfed90000 with INCLUDE_PCI_ALL", err or dmar)
for cmd in ("info", "devices", "domains", "mappings", "faults", "dmar"):
    rc, out, err = run("--snapshot", EX_FILE, cmd)
    ok(rc == 0 and out and not err, f"example: {cmd} as text", err)
p = subprocess.run([METRICS_DUMP, EX_FILE], capture_output=True, text=True, timeout=60)
ok(p.returncode == 0 and re.search(r'^iommu_devices\{unit="dmar0",translation="[a-z-]+"\} 1$', p.stdout, re.M)
   and 'iommu_mapped_bytes{unit="dmar0",domain="1"} 8192' in p.stdout
   and not re.search(r"^iommu_scrape_error\{.*\} 1$", p.stdout, re.M),
   "example: the metrics count 00:03.0 under dmar0 and the 8 KiB domain 1 maps, no scrape error",
   p.stdout[-800:] + p.stderr)

# iommud's own writer keeps what the hand-made file says
again = os.path.join(tmp.name, "again.iommu")
rc, out, err = run("--snapshot", EX_FILE, "snapshot", "save", again)
same = rc == 0 and all(answer(again, c)[1] == answer(EX_FILE, c)[1]
                       for c in ("info", "devices", "domains", "mappings", "faults", "dmar"))
ok(same, "example: saved again by iommuctl, it answers alike", err)


# ---- what the page forbids is refused, in one line ----

def refused(name, data, pattern):
    path = os.path.join(tmp.name, "bad.iommu")
    open(path, "wb").write(data)
    rc, out, err = run("--snapshot", path, "info")
    line = err.rstrip("\n")
    prefix = f"iommuctl: snapshot {path}: "
    ok(rc == 1 and out == "" and "\n" not in line and line.startswith(prefix)
       and re.search(pattern, line[len(prefix):]),
       f"refused: {name}", f"rc={rc} stderr={err!r}")


def accepted(name, data, check=None):
    path = os.path.join(tmp.name, "good.iommu")
    open(path, "wb").write(data)
    results = {c: answer(path, c) for c in ("info", "devices", "domains", "mappings", "faults", "dmar")}
    good = all(r[0] == 0 for c, r in results.items() if c != "mappings")
    ok(good and (check is None or check(results)), f"accepted: {name}",
       {c: (r[0], r[2][:200]) for c, r in results.items()})


DROP = object()


def meta_with(**changes):
    m = json.loads(EX_META)
    for path, value in changes.items():
        *parents, key = path.split("__")
        o = m
        for p in parents:
            o = o[int(p)] if isinstance(o, list) else o[p]
        if value is DROP:
            del o[key]
        else:
            o[key] = value
    return json.dumps(m).encode()


ex = example()


def with_meta(text):
    return ex.build({META: text})


# META as JSON text: RFC 8259 exactly
bad_text = [
    ("single quotes", EX_META.replace(b'"host": "example"', b"'host': 'example'"), r"single quotes"),
    ("NaN", EX_META.replace(b'"group": null', b'"group": NaN'), r"NaN and Infinity"),
    ("Infinity", EX_META.replace(b'"group": null', b'"group": Infinity'), r"NaN and Infinity"),
    ("-Infinity", EX_META.replace(b'"group": null', b'"group": -Infinity'), r"NaN and Infinity"),
    ("a raw tab in a string", EX_META.replace(b'"example"', b'"ex\tample"'), r"control character"),
    ("\\u0000 in a string", EX_META.replace(b'"example"', b'"ex\\u0000ample"'), r"u0000"),
    ("an unpaired surrogate", EX_META.replace(b'"example"', b'"ex\\ud800ample"'), r"surrogate"),
    ("invalid UTF-8", EX_META.replace(b'"example"', b'"ex\xffample"'), r"invalid UTF-8"),
    ("overlong UTF-8", EX_META.replace(b'"example"', b'"ex\xc0\xafample"'), r"invalid UTF-8"),
    ("a leading zero", EX_META.replace(b'"group": null', b'"group": 07'), r"leading zero"),
    ("an integer of 2^64", EX_META.replace(b'"group": null', b'"x": 18446744073709551616'), r"beyond 64 bits"),
    ("an integer below -2^63", EX_META.replace(b'"group": null', b'"x": -9223372036854775809'), r"beyond 64 bits"),
    ("a number beyond a double", EX_META.replace(b'"group": null', b'"x": 1e400'), r"too large for a double"),
    ("a member name twice", EX_META.replace(b'"host": "example"', b'"host": "a", "host": "b"'), r"name twice"),
    ("a comma before }", EX_META.replace(b'"ram_error": null', b'"ram_error": null,'), r"comma before"),
    ("a comment", EX_META.replace(b'"ram_error": null', b'"ram_error": null /* c */'), r"unexpected character '/'"),
    ("nesting 33 deep", EX_META.replace(b'"ram_error": null', b'"ram_error": null, "x": ' + b"[" * 32 + b"]" * 32),
     r"nested deeper than 32"),
    ("text after the object", EX_META + b"{}", r"data after its JSON value"),
    ("an array, not an object", b"[" + EX_META + b"]", r"not a JSON object \(it is an array\)"),
    ("a NUL byte", EX_META + b"\0", r"NUL byte"),
    ("nothing at all", b"", r"META is empty"),
]
for name, text, pattern in bad_text:
    refused(f"META with {name}", with_meta(text), pattern)
accepted("META nested 32 deep, escapes and a surrogate pair",
         with_meta(EX_META.replace(b'"ram_error": null',
                                   b'"ram_error": null, "x": ' + b"[" * 30 + b'"\\u00e9\\ud83d\\ude00\\n"' + b"]" * 30)))
refused("META with a string 33 deep", with_meta(EX_META.replace(b'"ram_error": null',
                                                                 b'"ram_error": null, "x": ' + b"[" * 31 + b'""' + b"]" * 31)),
        r"nested deeper than 32")

# META's members and their types
bad_members = [
    ("no units", dict(units=DROP), r"units is missing \(expected an array\)"),
    ("units an object", dict(units={}), r"units is an object \(expected an array\)"),
    ("two units entries for one unit", dict(units=json.loads(EX_META)["units"] * 2), r"units has 2 entries"),
    ("units[0] a string", dict(units=["dmar0"]), r"units\[0\] is a string \(expected an object\)"),
    ("units[0] without name", dict(units__0__name=DROP), r"units\[0\]\.name is missing"),
    ("units[0].name a number", dict(units__0__name=0), r"units\[0\]\.name is 0 \(expected a string\)"),
    ("units[0].name not the unit's", dict(units__0__name="dmar1"), r'units\[0\]\.name is "dmar1" \(expected "dmar0"'),
    ("units[0].address not the base", dict(units__0__address=0xFED91000), r"units\[0\]\.address is 0xfed91000"),
    ("units[0].address a string", dict(units__0__address="0xfed90000"), r"units\[0\]\.address is a string"),
    ("units[0].address negative", dict(units__0__address=-1), r"units\[0\]\.address is -1"),
    ("units[0] without sysfs", dict(units__0__sysfs=DROP), r"units\[0\]\.sysfs is missing \(expected an object or null\)"),
    ("units[0].sysfs a string", dict(units__0__sysfs="x"), r"units\[0\]\.sysfs is a string"),
    ("units[0].sysfs.cap a fraction", dict(units__0__sysfs={"address": 1, "cap": 1.5, "ecap": 0, "version": "1:0"}),
     r"sysfs\.cap is a number with a fraction"),
    ("units[0].sysfs without version", dict(units__0__sysfs={"address": 1, "cap": 1, "ecap": 0}),
     r"sysfs\.version is missing"),
    ("units[0].sysfs.version of 16 bytes",
     dict(units__0__sysfs={"address": 1, "cap": 1, "ecap": 0, "version": "x" * 16}), r"sysfs\.version is a string of 16 bytes"),
    ("units[0].registers_error a string for a unit with registers", dict(units__0__registers_error="refused"),
     r"registers_error is a string, but unit dmar0 has registers"),
    ("units[0] without registers_error", dict(units__0__registers_error=DROP), r"registers_error is missing"),
    ("no devices", dict(devices=DROP), r"devices is missing \(expected an array\)"),
    ("devices null", dict(devices=None), r"devices is null \(expected an array\)"),
    ("devices[0] a number", dict(devices=[3]), r"devices\[0\] is an integer \(expected an object\)"),
    ("devices[0] without bdf", dict(devices__0__bdf=DROP), r"devices\[0\]\.bdf is missing"),
    ("devices[0].bdf in short form", dict(devices__0__bdf="00:03.0"), r'bdf is "00:03.0" \(expected SSSS:BB:DD.F'),
    ("devices[0].bdf in upper case", dict(devices__0__bdf="0000:00:1F.0"), r"expected SSSS:BB:DD.F in lower-case"),
    ("devices[0].bdf device 0x20", dict(devices__0__bdf="0000:00:20.0"), r"expected SSSS:BB:DD.F"),
    ("devices[0].vendor 65536", dict(devices__0__vendor=65536), r"vendor is 65536 \(expected an integer from 0 to 65535\)"),
    ("devices[0].vendor -1", dict(devices__0__vendor=-1), r"vendor is -1"),
    ("devices[0].class a string", dict(devices__0__class="0x0600"), r"class is a string"),
    ("devices[0] without name", dict(devices__0__name=DROP), r"devices\[0\]\.name is missing"),
    ("devices[0].driver a number", dict(devices__0__driver=5), r"driver is 5 \(expected a string or null\)"),
    ("devices[0].group a string", dict(devices__0__group="3"), r"group is a string"),
    ("devices[0] without group", dict(devices__0__group=DROP), r"group is missing"),
    ("devices[0].iommu false", dict(devices__0__iommu=False), r"iommu is a boolean"),
    ("devices[0] secondary_bus alone", dict(devices__0__secondary_bus=1), r"secondary_bus and subordinate_bus"),
    ("devices[0].subordinate_bus 256", dict(devices__0__secondary_bus=1, devices__0__subordinate_bus=256),
     r"subordinate_bus is 256"),
    ("no ram_error", dict(ram_error=DROP), r"ram_error is missing \(expected a string or null\)"),
    ("ram_error false", dict(ram_error=False), r"ram_error is a boolean"),
    ("ram_error with pages", dict(ram_error="Permission denied"), r"ram_error is a string, but section PAGE_INDEX lists 5"),
    ("created a number", dict(created=1700000000), r"created is 1700000000 \(expected a string\)"),
]
for name, changes, pattern in bad_members:
    refused(f"META {name}", with_meta(meta_with(**changes)), r"^section META: .*" + pattern)
two = json.loads(EX_META)["devices"] * 2
refused("META devices with one BDF twice", with_meta(meta_with(devices=two)), r"device 0000:00:03.0 appears twice")

# what the page allows
accepted("META with members no rule names, at every level",
         with_meta(meta_with(extra={"a": [1.5, True]}, units__0__x=1, devices__0__y=None)))
accepted("META without the optional created, host, kernel, tool", with_meta(meta_with(created=DROP, host=DROP, tool=DROP)))
accepted("a sysfs object with 64-bit values",
         with_meta(meta_with(units__0__sysfs={"address": EX_BASE, "cap": 2**64 - 1, "ecap": 0, "version": "1:0"})),
         lambda r: r["info"][1]["units"][0]["sysfs"]["cap"] == 2**64 - 1)
accepted("a bridge with its bus numbers, a device the kernel put in another unit",
         with_meta(meta_with(devices=json.loads(EX_META)["devices"] + [
             {"bdf": "0000:00:1c.0", "vendor": 0x8086, "device": 0x2948, "class": 0x0604, "name": "bridge",
              "driver": "pcieport", "group": 4, "iommu": "dmar7", "secondary_bus": 1, "subordinate_bus": 2}])),
         lambda r: [d["unit"] for d in r["devices"][1]] == ["dmar0", "dmar0"])
no_ram = example(meta=meta_with(ram_error="Permission denied reading /proc/kcore"), pages={})
accepted("ram_error without pages: info shows it, mappings fails with it", no_ram.build(),
         lambda r: r["info"][1]["ram_error"] == "Permission denied reading /proc/kcore"
         and r["mappings"][0] == 1 and "Permission denied reading /proc/kcore" in r["mappings"][2])
bare = example(meta=meta_with(units__0__registers_error="Permission denied reading /dev/mem",
                              units__0__sysfs={"address": EX_BASE, "cap": 0xD2008C22260286, "ecap": 0xF42, "version": "1:0"}),
               units=[Unit("dmar0", EX_BASE, [])])
accepted("a unit without registers: info and faults say why, devices leave it unknown, mappings fails", bare.build(),
         lambda r: r["info"][1]["units"][0]["registers_error"] == "Permission denied reading /dev/mem"
         and r["info"][1]["units"][0]["version"] == "1.0" and r["info"][1]["units"][0]["cap"]["value"] == 0xD2008C22260286
         and r["faults"][1]["units"][0]["registers_error"] == "Permission denied reading /dev/mem"
         and [(d["domain"], d["translation"]) for d in r["devices"][1]] == [(None, None)]
         and r["domains"][1] == [] and r["mappings"][0] == 1
         and "Cannot read dmar0's registers: Permission denied reading /dev/mem" in r["mappings"][2])
refused("a unit without registers whose registers_error is null",
        example(units=[Unit("dmar0", EX_BASE, [])]).build(), r"registers_error is null, but unit dmar0 has no registers")

# UNITS
regs = sorted(EX_REGS)


def units_with(records):
    return ex.build({UNITS: units_section(records)})


refused("a unit name with bytes after its NUL",
        units_with([unit_record("dmar0", EX_BASE, 4096, 0, regs, name_bytes=b"dmar0\0x".ljust(32, b"\0"))]),
        r"unit dmar0 in section UNITS has bytes after its name's NUL")
refused("a 32-bit register above 2^32",
        units_with([unit_record("dmar0", EX_BASE, 4096, 0, [(o, w, v | 1 << 32 if o == 0x1C else v) for o, w, v in regs])]),
        r"unit dmar0 register 0x1c is 32 bits wide but holds 0x1c0000000")
for missing, name in [(0x0, "VER"), (0x8, "CAP"), (0x10, "ECAP"), (0x1C, "GSTS"), (0x20, "RTADDR"), (0x34, "FSTS"),
                      (0x220, "FRCD0"), (0x228, "FRCD0")]:
    refused(f"a unit without {name} at {missing:#x}",
            units_with([unit_record("dmar0", EX_BASE, 4096, 0, [r for r in regs if r[0] != missing])]),
            rf"unit dmar0 lacks register {name} \(offset {missing:#x}, (32|64) bits\)")
refused("VER recorded 64 bits wide",
        units_with([unit_record("dmar0", EX_BASE, 4096, 0, [(0, 64, 0x10)] + regs[1:])]),
        r"unit dmar0 register VER \(offset 0x0\) is 64 bits wide \(expected 32\)")
cap_nfr2 = [(o, w, v | 2 << 40 if o == 0x8 else v) for o, w, v in regs]
refused("CAP.NFR 2 with one fault recording register",
        units_with([unit_record("dmar0", EX_BASE, 4096, 0, cap_nfr2)]), r"lacks register FRCD1 \(offset 0x230, 64 bits\)")
accepted("CAP.NFR 2 with all three fault recording registers",
         units_with([unit_record("dmar0", EX_BASE, 4096, 0,
                                 cap_nfr2 + [(0x230, 64, 0), (0x238, 64, 0), (0x240, 64, 0), (0x248, 64, 0)])]))
refused("a unit at another base than its DRHD",
        units_with([unit_record("dmar0", EX_BASE + 0x1000, 4096, 0, regs)]),
        r"unit dmar0 is at 0xfed91000 in segment 0, but DRHD 0 of the DMAR table at 0xfed90000")
refused("a unit in another segment than its DRHD", units_with([unit_record("dmar0", EX_BASE, 4096, 1, regs)]),
        r"in segment 1, but DRHD 0 of the DMAR table at 0xfed90000 in segment 0")
refused("two units for one DRHD",
        units_with([unit_record("dmar0", EX_BASE, 4096, 0, regs), unit_record("dmar1", EX_BASE + 0x1000, 4096, 0, regs)]),
        r"section UNITS holds 2 units but the DMAR table has 1 DRHD")
refused("no unit for one DRHD", units_with([]), r"section UNITS holds 0 units but the DMAR table has 1 DRHD")
two_drhd = dmar_table(39, [(0, 0, EX_BASE), (1, 0, EX_BASE + 0x1000)])
refused("the units in another order than the DRHDs",
        ex.build({DMAR: two_drhd, UNITS: units_section([unit_record("dmar1", EX_BASE + 0x1000, 4096, 0, regs),
                                                         unit_record("dmar0", EX_BASE, 4096, 0, regs)])}),
        r"unit dmar1 is at 0xfed91000 in segment 0, but DRHD 0 of the DMAR table at 0xfed90000")
refused("two units of one name",
        ex.build({DMAR: two_drhd, UNITS: units_section([unit_record("dmar0", EX_BASE, 4096, 0, regs),
                                                         unit_record("dmar0", EX_BASE + 0x1000, 4096, 0, regs)])}),
        r"unit name dmar0 appears twice")

# DMAR
refused("the page's old 4-byte DMAR", ex.build({DMAR: b"DMAR"}), r"section DMAR: .*truncated")
refused("a DMAR table with another signature", ex.build({DMAR: b"APIC" + EX_DMAR[4:]}), r"section DMAR: .*signature")
refused("a DMAR section of length 0 with a unit", ex.build({DMAR: b""}),
        r"section DMAR is empty \(the machine had no table\) but section UNITS holds 1 unit")
bad_sum = bytearray(EX_DMAR)
bad_sum[9] ^= 1
accepted("a DMAR table with a wrong checksum (the decoder reports it)", ex.build({DMAR: bytes(bad_sum)}),
         lambda r: r["dmar"][1]["checksum_valid"] is False and len(r["info"][1]["units"]) == 1)


# ---- a machine without VT-d: the empty answer everywhere ----

NO_VTD_DEVICES = [
    {"bdf": "0000:00:00.0", "vendor": 0x1022, "device": 0x1480, "class": 0x0600, "name": "Root Complex",
     "driver": None, "group": None, "iommu": None},
    {"bdf": "0000:00:01.1", "vendor": 0x1022, "device": 0x1483, "class": 0x0604, "name": "GPP Bridge",
     "driver": "pcieport", "group": None, "iommu": None, "secondary_bus": 1, "subordinate_bus": 1},
    {"bdf": "0000:01:00.0", "vendor": 0x144D, "device": 0xA808, "class": 0x0108, "name": "NVMe SSD",
     "driver": "nvme", "group": None, "iommu": None},
]
no_vtd = Snapshot({"created": "2026-01-01T00:00:00Z", "units": [], "devices": NO_VTD_DEVICES, "ram_error": None},
                  ram=[(0x1000, 0x9FFFF)])
NO_VTD = os.path.join(tmp.name, "no-vtd.iommu")
open(NO_VTD, "wb").write(no_vtd.build())
EMPTY = {
    "info": {"units": [], "ram_error": None},
    "devices": [dict(copy.deepcopy(d), unit=None, domain=None, translation=None) for d in NO_VTD_DEVICES],
    "domains": [],
    "mappings": [],
    "faults": {"units": [], "log": []},
}
NO_DMAR = f"snapshot {NO_VTD}: no DMAR table: the machine it was taken on reported no Intel VT-d unit"
for cmd, want in EMPTY.items():
    rc, got, err = answer(NO_VTD, cmd)
    ok(rc == 0 and got == want, f"no VT-d: {cmd} gives the empty answer", err or json.dumps(got)[:500])
for cmd, want in [("info", "No DMA remapping units.\n"), ("faults", "No DMA remapping units.\n"),
                  ("mappings", "No translations found.\n")]:
    rc, out, err = run("--snapshot", NO_VTD, cmd)
    ok(rc == 0 and out == want, f"no VT-d: {cmd} says so in text", err or out)
rc, out, err = run("--snapshot", NO_VTD, "devices")
ok(rc == 0 and len(out.splitlines()) == 4 and all(" - " in line for line in out.splitlines()[1:]),
   "no VT-d: devices lists the three devices with no unit", out + err)
rc, out, err = run("--snapshot", NO_VTD, "dmar")
ok(rc == 1 and out == "" and err == f"iommuctl: {NO_DMAR}\n", "no VT-d: dmar says there is no table, in one line", err)
p = subprocess.run([METRICS_DUMP, NO_VTD], capture_output=True, text=True, timeout=60)
ok(p.returncode == 0 and 'iommu_devices{unit="none",translation="unknown"} 3' in p.stdout
   and not re.search(r"^iommu_scrape_error\{.*\} 1$", p.stdout, re.M) and "iommu_unit_info" not in p.stdout,
   "no VT-d: the metrics count three devices without a unit, and no unit", p.stdout[-800:] + p.stderr)
again = os.path.join(tmp.name, "no-vtd-again.iommu")
rc, out, err = run("--snapshot", NO_VTD, "snapshot", "save", again)
ok(rc == 0 and all(answer(again, c)[1] == want for c, want in EMPTY.items()),
   "no VT-d: saved again by iommuctl, it still answers empty", err)

# a DMAR table without any DRHD: no unit either, and dmar shows the table
no_drhd = Snapshot(no_vtd.meta, dmar=dmar_table(39, []), ram=no_vtd.ram)
path = os.path.join(tmp.name, "no-drhd.iommu")
open(path, "wb").write(no_drhd.build())
ok(all(answer(path, c)[1] == want for c, want in EMPTY.items())
   and answer(path, "dmar")[1]["structures"] == [],
   "a DMAR table without a DRHD: the empty answers, and dmar shows the table")

# iommud serving it answers alike
sock = os.path.join(tmp.name, "iommud.sock")
d = subprocess.Popen([DAEMON, "--snapshot", NO_VTD, "--socket", sock, "--no-http", "--config", "/dev/null"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
try:
    for _ in range(200):
        if os.path.exists(sock) or d.poll() is not None:
            break
        time.sleep(0.05)
    if ok(os.path.exists(sock), "no VT-d: iommud serves the snapshot", d.stderr.read() if d.poll() is not None else ""):
        for cmd, want in EMPTY.items():
            rc, out, err = run("--socket", sock, "--json", cmd)
            ok(rc == 0 and json.loads(out) == (dict(want, log=[]) if cmd == "faults" else want),
               f"no VT-d: iommud's {cmd} is the empty answer", err or out[:300])
        rc, out, err = run("--socket", sock, "dmar")
        ok(rc == 1 and out == "" and NO_DMAR in err and len(err.splitlines()) == 1,
           "no VT-d: iommud's dmar says there is no table, in one line", err)
finally:
    d.terminate()
    d.wait(timeout=30)

tmp.cleanup()
print(f"1..{n}")
sys.exit(1 if failures else 0)
