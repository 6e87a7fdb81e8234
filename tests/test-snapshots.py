#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The snapshots captured in QEMU's VT-d model (tests/vm/make-fixtures),
read offline: every read command must give what iommuctl --direct gave
live in that guest (info.json, devices.json, mappings.json were written
there), the text must match the stored renderings, filters must select
exactly the matching entries, and damaged snapshots must be refused in one
line."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

CTL = os.environ["IOMMUCTL"]
DATA = os.environ["TESTDATA"]
n = failures = 0


def ok(cond, what, detail=""):
    global n, failures
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1
        for line in str(detail).splitlines()[:30]:
            print(f"# {line}")


def run(*args):
    p = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


fixtures = sorted(glob.glob(os.path.join(DATA, "snapshots", "*", "snapshot.iommu")))
ok(len(fixtures) == 4, "four captured snapshots: legacy and scalable, aw-bits 39 and 48", fixtures)

for snap in fixtures:
    d = os.path.dirname(snap)
    mode = os.path.basename(d)
    for cmd in ("info", "devices", "mappings"):
        rc, out, err = run("--snapshot", snap, "--json", cmd)
        live = json.load(open(os.path.join(d, f"{cmd}.json")))
        ok(rc == 0 and json.loads(out) == live, f"{mode}: --snapshot {cmd} equals what --direct said live",
           err or out[:500])
        rc, out, err = run("--snapshot", snap, cmd)
        ok(rc == 0 and out == open(os.path.join(d, f"{cmd}.txt")).read(), f"{mode}: {cmd} text as stored",
           err or out)

    rc, out, err = run("--snapshot", snap, "-j", "dmar")
    j = json.loads(out) if rc == 0 else {}
    ok(rc == 0 and j.get("host_address_width") == int(mode.rsplit("aw", 1)[1])
       and [s["type"] for s in j["structures"]] == ["drhd"]
       and j["structures"][0]["address"] == 0xfed90000,
       f"{mode}: dmar --snapshot shows the captured table (QEMU's one DRHD, HAW {mode.rsplit('aw', 1)[1]})", err)

    # domains: the devices grouped by (unit, domain), from the live devices.json
    devices = json.load(open(os.path.join(d, "devices.json")))
    want = {}
    for dev in devices:
        if dev.get("domain") is not None:
            want.setdefault((dev["unit"], dev["domain"]), []).append(dev["bdf"])
    rc, out, err = run("--snapshot", snap, "-j", "domains")
    got = {(x["unit"], x["domain"]): x["devices"] for x in json.loads(out)} if rc == 0 else {}
    ok(rc == 0 and got == want and want, f"{mode}: domains groups the live devices by domain", f"{err}\n{got}\n{want}")

    mappings = json.load(open(os.path.join(d, "mappings.json")))
    rc, out, err = run("--snapshot", snap, "-j", "mappings", "--device", "0:3.0")
    want = [m for m in mappings if m["bdf"] == "0000:00:03.0"]
    ok(rc == 0 and json.loads(out) == want and want, f"{mode}: mappings --device 0:3.0 (Akaros form)", err)
    dids = sorted({m["domain"] for m in mappings if m.get("domain") is not None})
    rc, out, err = run("--snapshot", snap, "-j", "mappings", "--domain", str(dids[-1]))
    want = [m for m in mappings if m.get("domain") == dids[-1]]
    ok(rc == 0 and json.loads(out) == want and want, f"{mode}: mappings --domain {dids[-1]}", err)
    if mode.startswith("scalable"):
        rc, out, err = run("--snapshot", snap, "-j", "mappings", "--pasid", "0")
        ok(rc == 0 and json.loads(out) == [m for m in mappings if m.get("pasid") == 0],
           f"{mode}: mappings --pasid 0", err)

    # identity maps the kernel made for the LPC bridge group: 0-16 MiB onto itself
    shared = [m for m in mappings if m.get("same_tables_as")]
    ok(shared and all(m["ranges"] for m in shared), f"{mode}: devices sharing a domain share its ranges",
       json.dumps(shared)[:400])

with tempfile.TemporaryDirectory() as tmp:
    src = fixtures[0]
    data = open(src, "rb").read()

    # a snapshot saved from a snapshot answers alike
    copy = os.path.join(tmp, "again.iommu")
    rc, out, err = run("--snapshot", src, "snapshot", "save", copy)
    same = all(run("--snapshot", copy, "-j", c)[1] == run("--snapshot", src, "-j", c)[1]
               for c in ("info", "devices", "mappings"))
    ok(rc == 0 and same, "a snapshot saved from a snapshot gives the same answers", err)

    cases = [
        ("truncated", data[: len(data) // 2], "truncated"),
        ("empty", b"", "truncated|too short|empty"),
        ("not a snapshot", b"\x7fELF" + data[4:], "magic|not an iommud snapshot"),
        ("version 2", data[:8] + (2).to_bytes(4, "little") + data[12:], "version 2 is not supported"),
        ("corrupt page", data[:-100] + bytes([data[-100] ^ 0xff]) + data[-99:], "CRC|crc"),
    ]
    for name, content, pattern in cases:
        p = os.path.join(tmp, name.replace(" ", "-"))
        open(p, "wb").write(content)
        rc, out, err = run("--snapshot", p, "info")
        import re
        ok(rc == 1 and out == "" and len(err.splitlines()) == 1 and re.search(pattern, err),
           f"a {name} snapshot: exit 1, one line", f"rc={rc} err={err!r}")
    rc, out, err = run("--snapshot", os.path.join(tmp, "missing"), "info")
    ok(rc == 1 and len(err.splitlines()) == 1 and "No such file" in err, "a missing snapshot: one line", err)
    rc, out, err = run("--snapshot", src, "--direct", "info")
    ok(rc == 2, "--snapshot and --direct together are a usage error", err)
    rc, out, err = run("--snapshot", src, "snapshot", "save", os.path.join(tmp, "no/such/dir/x"))
    ok(rc == 1 and len(err.splitlines()) == 1, "saving into a missing directory fails in one line", err)

print(f"1..{n}")
sys.exit(1 if failures else 0)
