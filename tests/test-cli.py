#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommuctl as a user meets it: exit codes, one-line errors, JSON read back
by Python's own parser, and facts checked against independent sources (the
register values of a QEMU-based host listing; ACPICA's disassembly of the
real DMAR tables in tests/data/dmar)."""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

CTL = os.environ["IOMMUCTL"]
DATA = os.environ["TESTDATA"]
n = 0
failures = 0


def ok(cond, what, detail=""):
    global n, failures
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1
        for line in str(detail).splitlines():
            print(f"# {line}")


def run(*args, stdin=None):
    p = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=60, input=stdin)
    return p.returncode, p.stdout, p.stderr


def one_line_error(rc, out, err, want_rc, what, pattern):
    lines = err.splitlines()
    ok(rc == want_rc and len(lines) == 1 and re.search(pattern, err, re.I) and lines[0].startswith("iommuctl: "),
       f"{what}: exit {want_rc}, one line naming the problem", f"rc={rc}\nstderr={err!r}\nstdout={out!r}")


# --- decode: the values of a QEMU-based host listing --------------------------------------------
rc, out, err = run("--json", "decode", "cap", "0x00d2008c222f0686")
cap = json.loads(out) if rc == 0 else {}
f = cap.get("fields", {})
ok(rc == 0 and cap.get("register") == "cap" and cap.get("value") == 0x00d2008c222f0686,
   "decode cap: register name and exact 64-bit value", out + err)
expect_cap = {"nd": 6, "rwbf": 0, "plmr": 0, "phmr": 0, "cm": 1, "sagaw": 0x6, "mgaw": 47, "zlr": 0,
              "fro": 0x22, "sllps": 0x3, "psi": 1, "nfr": 0, "mamv": 18, "dwd": 1, "drd": 1}
got = {k: f.get(k, {}).get("raw") for k in expect_cap}
ok(got == expect_cap, "decode cap: every raw field as the listing says", f"got {got}")
ok(f.get("nd", {}).get("domains") == 65536, "cap.nd 6 means 65536 domains", f.get("nd"))
ok(f.get("mgaw", {}).get("bits") == 48, "cap.mgaw 47 means 48 bits", f.get("mgaw"))
ok(f.get("fro", {}).get("offset") == 0x220, "cap.fro 0x22 puts the fault records at 0x220", f.get("fro"))
ok(f.get("nfr", {}).get("records") == 1, "cap.nfr 0 means one fault record", f.get("nfr"))
ok(f.get("sagaw", {}).get("address_widths") == [39, 48], "cap.sagaw 0x6: 39- and 48-bit tables", f.get("sagaw"))
ok(f.get("sllps", {}).get("page_sizes") == [2 << 20, 1 << 30], "cap.sllps 0x3: 2 MiB and 1 GiB pages", f.get("sllps"))
ok(all("meaning" in v and "position" in v and "title" in v for v in f.values()),
   "every cap field has raw, position, title and meaning")

rc, out, err = run("--json", "decode", "ecap", "0xf46")
e = json.loads(out).get("fields", {}) if rc == 0 else {}
expect_ecap = {"c": 0, "qi": 1, "dt": 1, "ir": 0, "eim": 0, "pt": 1, "sc": 0, "iro": 0xf}
got = {k: e.get(k, {}).get("raw") for k in expect_ecap}
ok(got == expect_ecap, "decode ecap 0xf46: every raw field as the listing says", f"got {got}")
ok(e.get("iro", {}).get("offset") == 0xf0, "ecap.iro 0xf puts the IOTLB registers at 0xf0", e.get("iro"))

rc, out, err = run("decode", "cap", "0x00d2008c222f0686")
ok(rc == 0 and re.search(r"MGAW .*48 bits", out) and re.search(r"65536 domains", out)
   and re.search(r"CM .*Caching Mode: yes", out) and re.search(r"RWBF .*not required", out)
   and re.search(r"FRO .*0x220", out), "decode cap as text says what the listing says", out + err)
rc, out, err = run("decode", "ecap", "0xf46")
ok(rc == 0 and re.search(r"IRO .*0xf0", out) and re.search(r"PT .*Pass Through: yes", out)
   and re.search(r"QI .*: yes", out) and re.search(r"IR .*: no", out), "decode ecap as text", out + err)

rc, out, err = run("-p", "decode", "ecap", "0xf46")
ok(rc == 0 and out.count("\n") > 20 and json.loads(out)["register"] == "ecap", "-p prints indented JSON")
rc, out, err = run("decode", "CAP", "18446744073709551615")
ok(rc == 0 and "0xffffffffffffffff" in out, "decimal values and upper-case names are accepted", out + err)
rc, out, err = run("--json", "decode", "ver", "0x10")
v = json.loads(out)["fields"] if rc == 0 else {}
ok(v.get("max", {}).get("raw") == 1 and v.get("min", {}).get("raw") == 0, "decode ver 0x10 is version 1.0", out)

# --- decode: bad input ----------------------------------------------------------------------------
for args, want, pat, what in [
        (("decode", "cap", "zzz"), 1, r"not a number", "a value that is not a number"),
        (("decode", "cap", "0x"), 1, r"not a number", "a bare 0x"),
        (("decode", "cap", "--", "-5"), 1, r"not a number", "a negative value"),
        (("decode", "cap", "-5"), 2, r"unknown option '-5'", "a negative value without --"),
        (("decode", "cap", "0x1ffffffffffffffff"), 1, r"does not fit", "a value wider than the register"),
        (("decode", "gsts", "0x100000000"), 1, r"does not fit", "a 33-bit value for a 32-bit register"),
        (("decode", "nosuch", "1"), 1, r"unknown register.*known: .*cap", "an unknown register"),
        (("decode", "cap"), 2, r"usage", "a missing value"),
        (("decode", "cap", "1", "2"), 2, r"usage", "an extra argument"),
        (("frobnicate",), 2, r"unknown command", "an unknown command"),
        ((), 2, r"missing command", "no command"),
        (("--bogus", "dmar"), 2, r"unknown option", "an unknown option"),
        (("decode", "cap", "1", "--file", "x"), 2, r"--file does not apply", "an option of another command"),
        (("dmar", "--file"), 2, r"needs an argument", "an option without its argument"),
        (("mappings", "--domain", "0x0x1"), 2, r"--domain '0x0x1' is not a domain ID", "a number with two 0x"),
        (("mappings", "--domain", "+1"), 2, r"--domain '\+1' is not a domain ID", "a number with a sign"),
        (("mappings", "--pasid", " 5"), 2, r"--pasid ' 5' is not a PASID", "a number after a blank"),
]:
    rc, out, err = run(*args)
    one_line_error(rc, out, err, want, what, pat)
    ok(out == "", f"{what}: nothing on stdout", out)

rc, out, err = run("--json", "decode", "cap", "zzz")
j = json.loads(out) if out else {}
ok(rc == 1 and "not a number" in j.get("error", {}).get("message", "") and j["error"].get("code") == 22,
   "--json: the error is also a JSON object on stdout", out + err)

rc, out, err = run("dec", "cap", "1")
ok(rc == 0 and "Capability Register" in out, "an unambiguous prefix of a command is accepted", err)

rc, out, err = run("--help")
ok(rc == 0 and "decode REGISTER VALUE" in out and "dmar" in out, "--help lists the commands", out)

# --- dmar: the real tables, read back against ACPICA's disassembly ---------------------------------
tables = sorted(glob.glob(os.path.join(DATA, "dmar", "*.bin")))
ok(len(tables) == 36, "the corpus has its 36 real tables", len(tables))
bad = []
for t in tables:
    rc, out, err = run("--json", "dmar", "--file", t)
    iasl = open(t[:-4] + ".iasl.txt", encoding="latin-1").read()
    haw = int(re.search(r"Host Address Width : ([0-9A-F]+)", iasl).group(1), 16)
    types = [int(x, 16) for x in re.findall(r"Subtable Type : ([0-9A-F]{4})", iasl)]
    try:
        j = json.loads(out)
        mine = [s["type_id"] if s["type"] == "unknown" else
                ["drhd", "rmrr", "atsr", "rhsa", "andd", "satc", "sidp"].index(s["type"]) for s in j["structures"]]
        good = (rc == 0 and j["host_address_width"] == haw + 1 and j["checksum_valid"]
                and mine[:len(types)] == types)
    except (ValueError, KeyError) as ex:
        good = False
        err += repr(ex)
    if not good:
        bad.append(f"{os.path.basename(t)}: rc={rc} {err.strip()}")
ok(not bad, "iommuctl --json dmar agrees with iasl on width and structure order for every table", "\n".join(bad))

rc, out, err = run("dmar", "--file", os.path.join(DATA, "dmar", "dell-poweredge-r820.bin"))
ok(rc == 0 and "registers 0xcf000000" in out and "0000:40:05.4" in out and "ATSR" in out and "RMRR" in out
   and "host address width 46 bits" in out, "dmar as text: units, scopes as BDFs, RMRR, ATSR", out + err)

with tempfile.TemporaryDirectory() as tmp:
    good = open(os.path.join(DATA, "dmar", "dell-latitude-e7470.bin"), "rb").read()
    cases = [
        ("empty", b"", r"empty|truncated|too short|48"),
        ("truncated header", good[:20], r"truncated|too short|48"),
        ("wrong signature", b"APIC" + good[4:], r"signature"),
        ("length beyond the file", good[:100], r"length"),
    ]
    for name, data, pat in cases:
        p = os.path.join(tmp, name.replace(" ", "-"))
        open(p, "wb").write(data)
        rc, out, err = run("dmar", "--file", p)
        one_line_error(rc, out, err, 1, f"dmar: {name}", pat)
        ok(p in err, f"dmar: {name}: the message names the file", err)
    rc, out, err = run("dmar", "--file", os.path.join(tmp, "missing"))
    one_line_error(rc, out, err, 1, "dmar: a missing file", r"no such file")
    rc, out, err = run("dmar", "--file", tmp)
    one_line_error(rc, out, err, 1, "dmar: a directory", r"directory")

    # --sysroot: the default path is read below the fixture tree
    os.makedirs(os.path.join(tmp, "root/sys/firmware/acpi/tables"))
    rc, out, err = run("--sysroot", os.path.join(tmp, "root"), "dmar")
    one_line_error(rc, out, err, 1, "dmar: no table under the sysroot", r"no DMAR table at .*root/sys/firmware")
    open(os.path.join(tmp, "root/sys/firmware/acpi/tables/DMAR"), "wb").write(good)
    rc, out, err = run("--sysroot", os.path.join(tmp, "root"), "--json", "dmar")
    ok(rc == 0 and json.loads(out)["host_address_width"] == 39, "dmar: --sysroot reads the fixture's table", err)

# --- the verb table: sub-verbs, options that apply, generated help --------------------------------
snap = os.path.join(DATA, "snapshots", "legacy-aw48", "snapshot.iommu")
for args, pat, what in [
        (("snapshot",), r"missing command after 'snapshot': save", "an object without its sub-verb"),
        (("snapshot", "load", "x"), r"unknown command 'snapshot load'", "an unknown sub-verb"),
        (("snap", "sa"), r"usage: iommuctl snapshot save FILE", "a sub-verb by prefix, without its argument"),
        (("d",), r"ambiguous: decode, dmar", "an ambiguous prefix"),
        (("info", "--output", "bdf"), r"--output does not apply to 'info'", "--output for a command without columns"),
        (("snapshot", "save", "x", "--device", "1:0.0"), r"--device does not apply to 'snapshot save'",
         "an option of another command after a sub-verb"),
        (("devices", "--output", "bdf,nosuch"), r"unknown column 'nosuch' for devices.*--output=help",
         "an unknown column"),
        (("devices", "--output", ""), r"unknown column ''", "no column at all"),
        (("devices", "--output", ",".join(["bdf"] * 33)), r"too many columns", "more columns than fit"),
]:
    rc, out, err = run("--snapshot", snap, *args)
    one_line_error(rc, out, err, 2, what, pat)

rc, out, err = run("--help")
ok(rc == 0 and re.search(r"^  snapshot save FILE +Capture", out, re.M)
   and re.search(r"^  mappings \[--device BDF\] \[--domain DID\] \[--pasid N\] \[--output COL,\.\.\.\]$", out, re.M)
   and re.search(r"^  -o --output COL,\.\.\. +devices, domains, mappings, faults: ", out, re.M),
   "--help: sub-verbs as full commands, each command's options, and which commands take an option", out)

# --- columns: --output picks from the column table; the JSON stays the whole model ----------------
rc, out, err = run("--snapshot", snap, "--json", "devices")
devices = json.loads(out) if rc == 0 else []
rc, out, err = run("--snapshot", snap, "devices", "-o", "bdf,Driver,CLASS")
lines = out.splitlines()
ok(rc == 0 and lines[0].split() == ["BDF", "DRIVER", "CLASS"] and len(lines) == len(devices) + 1
   and all(line.split() == [d["bdf"], d["driver"] or "-", "%04x" % d["class"]] for line, d in zip(lines[1:], devices)),
   "devices --output=bdf,Driver,CLASS: those columns in that order, any case, from the model", out + err)
rc, out, err = run("--snapshot", snap, "devices", "--output=+class")
default = run("--snapshot", snap, "devices")[1].splitlines()
ok(rc == 0 and out.splitlines()[0].split() == default[0].split() + ["CLASS"]
   and all(line.endswith(" %04x" % d["class"]) for line, d in zip(out.splitlines()[1:], devices)),
   "devices --output=+class: the default columns and CLASS", out + err)
ok(run("--snapshot", snap, "--json", "devices", "-o", "bdf")[1] == run("--snapshot", snap, "--json", "devices")[1],
   "--output leaves the JSON the whole model")

rc, out, err = run("--snapshot", snap, "--json", "mappings")
ranges = [r for m in json.loads(out) for r in m["ranges"]] if rc == 0 else []
rc, out, err = run("--snapshot", snap, "mappings", "--output", "page,iova,perm")
rows = [line.split() for line in out.splitlines() if line.startswith("  ")]
want = [["PAGE", "IOVA", "PERM"]] + [[{4096: "4K", 2 << 20: "2M", 1 << 30: "1G"}[r["page_size"]], "0x%016x" % r["iova"],
                                      ("r" if r["read"] else "-") + ("w" if r["write"] else "-")
                                      + ("x" if r["execute"] else "-")] for r in ranges]
ok(rc == 0 and len(ranges) > 0 and [r for r in rows if r != want[0]] == want[1:] and want[0] in rows,
   "mappings --output=page,iova,perm: the range rows in those columns, under each target's heading", out[:800])

rc, out, err = run("--snapshot", snap, "domains", "-o", "devices,domain")
rc2, out2, _ = run("--snapshot", snap, "--json", "domains")
ok(rc == 0 and [line.split() for line in out.splitlines()[1:]]
   == [d["devices"] + [str(d["domain"])] for d in json.loads(out2)],
   "domains --output=devices,domain", out + err)

for listing in ("devices", "domains", "mappings", "faults"):
    rc, out, err = run(listing, "--output=help")
    names = re.findall(r"^  ([A-Z]+) +\S", out, re.M)
    default = re.search(r"^Default: (\S+)$", out, re.M)
    ok(rc == 0 and len(names) >= 4 and default and set(default.group(1).split(",")) <= set(names),
       f"{listing} --output=help lists the columns and the default ones", out + err)

# --- the renderers never crash: damaged input gives "?" or a clean error -------------------------
# (tests/test-mutants.py tries thousands of damaged inputs; these are the known cases)
rc, out, err = run("dmar", "--file", os.path.join(DATA, "dmar", "apple-macbookpro14-3.bin"))
ok(rc == 0 and "ANDD  ACPI device 1  \\_SB.PCI0.I2C0" in out,
   "dmar: a table with ANDD structures (no device scopes) renders as text", out + err)
bad = []
for t in tables:
    rc, out, err = run("dmar", "--file", t)
    iasl = open(t[:-4] + ".iasl.txt", encoding="latin-1").read()
    n_iasl = len(re.findall(r"Subtable Type : ([0-9A-F]{4})", iasl))
    n_text = len(re.findall(r"^  \[[0-9a-f]{3}\] [A-Z]", out, re.M))
    if rc != 0 or n_text < n_iasl or err:
        bad.append(f"{os.path.basename(t)}: rc={rc} {n_text} structures shown, iasl has {n_iasl} {err.strip()}")
ok(not bad, "dmar as text: every real table, every structure iasl lists", "\n".join(bad))

print(f"1..{n}")
sys.exit(1 if failures else 0)
