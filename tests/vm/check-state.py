#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Judge one tests/vm/state-check guest run (TAP on stdout).

Every expectation comes from the guest kernel, not from iommuctl: sysfs
cap/ecap/version/address, /sys/kernel/iommu_groups with each group's type,
and the physical pages of a buffer the kernel mapped for edu through VFIO
(/proc/self/pagemap)."""
import argparse
import json
import os
import shutil
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--mode", required=True)
ap.add_argument("--first", type=int, default=1)
ap.add_argument("--iommuctl", required=True)
ap.add_argument("out")
a = ap.parse_args()

n = a.first - 1
failed = 0


def ok(cond, what, detail=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {a.mode}: {what}")
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:40]:
            print(f"# {line}")


def read(name):
    with open(os.path.join(a.out, name)) as f:
        return f.read()


def load(name):
    try:
        return json.loads(read(name))
    except (OSError, ValueError) as e:
        return {"__error__": f"{name}: {e}; stderr: {read(name + '.err') if os.path.exists(os.path.join(a.out, name + '.err')) else ''}"}


scalable = a.mode.startswith("scalable")
aw = int(a.mode.rsplit("aw", 1)[1])

if a.mode.startswith("strict"):
    # /dev/mem refused: info falls back to sysfs and says what to change
    info = load("info.json")
    u = (info.get("units") or [{}])[0]
    sysfs = {k: read(f"sysfs-{k}").strip() for k in ("cap", "ecap", "version", "address")}
    ok(read("info.json.rc").strip() == "0", "info still answers when /dev/mem is refused", info)
    ok("iomem=relaxed" in (u.get("registers_error") or ""), "info says the registers need iomem=relaxed",
       u.get("registers_error"))
    ok(u.get("cap", {}).get("value") == int(sysfs["cap"], 16) and u.get("ecap", {}).get("value") == int(sysfs["ecap"], 16)
       and u.get("version") == sysfs["version"].replace(":", "."), "info shows sysfs's cap, ecap and version",
       {k: u.get(k) for k in ("cap", "ecap", "version")})
    ok(u.get("owner") == "kernel" and u.get("gsts") is None, "owner from sysfs; no register values invented",
       {k: u.get(k) for k in ("owner", "gsts")})
    text = read("info.txt")
    ok("iomem=relaxed" in text and "from sysfs" in text, "info as text says why and shows sysfs", text)
    err = read("mappings.json.err")
    ok(read("mappings.json.rc").strip() == "1" and len(err.splitlines()) == 1 and "iomem=relaxed" in err,
       "mappings fails in one line naming iomem=relaxed", err)
    devices = load("devices.json")
    ok(isinstance(devices, list) and devices and all(d.get("translation") is None and d.get("unit") == "dmar0"
                                                      for d in devices),
       "devices: unit from sysfs, translation unknown rather than guessed", devices)
    sys.exit(1 if failed else 0)

# --- info against sysfs ------------------------------------------------------------------------
info = load("info.json")
u = (info.get("units") or [{}])[0]
sysfs = {k: read(f"sysfs-{k}").strip() for k in ("cap", "ecap", "version", "address")}
ok(read("info.json.rc").strip() == "0" and len(info.get("units", [])) == 1, "iommuctl --direct info runs", info)
ok(u.get("cap", {}).get("value") == int(sysfs["cap"], 16), f"info cap equals sysfs cap 0x{sysfs['cap']}",
   u.get("cap", {}).get("value"))
ok(u.get("ecap", {}).get("value") == int(sysfs["ecap"], 16), f"info ecap equals sysfs ecap 0x{sysfs['ecap']}",
   u.get("ecap", {}).get("value"))
ok(u.get("version") == sysfs["version"].replace(":", "."), f"info version equals sysfs {sysfs['version']}",
   u.get("version"))
ok(u.get("address") == int(sysfs["address"], 16), f"info address equals sysfs 0x{sysfs['address']}",
   u.get("address"))
ok(u.get("owner") == "kernel" and u.get("translation_enabled") is True, "the kernel owns the unit, translation on",
   {k: u.get(k) for k in ("owner", "translation_enabled")})
ok(u.get("mode") == ("scalable" if scalable else "legacy"), "the root table mode", u.get("mode"))
ok(u.get("cap", {}).get("fields", {}).get("mgaw", {}).get("bits") == aw, f"{aw}-bit guest addresses",
   u.get("cap", {}).get("fields", {}).get("mgaw"))
ok("dmar0:" in read("info.txt") and read("info.txt.rc").strip() == "0", "info as text", read("info.txt"))

# --- devices against /sys/kernel/iommu_groups --------------------------------------------------
devices = load("devices.json")
by_bdf = {d["bdf"]: d for d in devices} if isinstance(devices, list) else {}
groups = {}
for line in read("groups.txt").split("\n"):
    if line.strip():
        bdf, group, gtype = line.split()
        groups[bdf] = (int(group), gtype)
ok(read("devices.json.rc").strip() == "0" and len(by_bdf) > 0, "iommuctl --direct devices runs", devices)
mismatch = [f"{b}: iommuctl {by_bdf.get(b, {}).get('group')} kernel {g}" for b, (g, t) in groups.items()
            if by_bdf.get(b, {}).get("group") != g]
mismatch += [f"{b}: iommuctl says group {d.get('group')}, the kernel has it in none" for b, d in by_bdf.items()
             if b not in groups and d.get("group") is not None]
ok(groups and not mismatch, "every device's IOMMU group is the kernel's", "\n".join(mismatch) or groups)
translated = ("multi-level", "device-tlb", "first-stage", "second-stage", "nested")
bad = []
for b, (g, t) in groups.items():
    d = by_bdf.get(b, {})
    if t.startswith("DMA") and (d.get("translation") not in translated or d.get("domain") is None):
        bad.append(f"{b} (group {g} type {t}): translation {d.get('translation')} domain {d.get('domain')}")
    if t == "identity" and d.get("translation") not in ("pass-through",) + translated:
        bad.append(f"{b} (group {g} identity): translation {d.get('translation')}")
    if d.get("unit") != "dmar0":
        bad.append(f"{b}: unit {d.get('unit')}")
ok(not bad, "a context entry for every device the kernel put in a DMA domain", "\n".join(bad))
dma_groups = [b for b, (g, t) in groups.items() if t.startswith("DMA")]
ok(len(dma_groups) > 0, "the guest has devices in DMA domains to check", groups)

# --- iommud on the live unit answers what --direct reads -----------------------------------------
for cmd in ("info", "devices", "mappings", "faults"):
    ok(read(f"daemon-{cmd}.rc").strip() == "0" and load(f"daemon-{cmd}.json") == load(f"direct-{cmd}.json"),
       f"iommuctl {cmd} through the live iommud equals iommuctl --direct {cmd}",
       read(f"daemon-{cmd}.err") + read("iommud.log"))
ok(read("iommud.rc").strip() == "0", "iommud stops cleanly on SIGTERM", read("iommud.log"))

# --- real DMA by edu through the IOMMU, and the fault the blocked one leaves ----------------------
ok(read("dma-mapped.txt").split() [-1] == "0" and "arrived" in read("dma-mapped.txt"),
   "edu's DMA to a mapped IOVA arrives in the buffer", read("dma-mapped.txt"))
ok(read("dma-unmapped.txt").split()[-1] == "0" and "did not reach" in read("dma-unmapped.txt"),
   "edu's DMA to an unmapped IOVA is blocked", read("dma-unmapped.txt"))
kernel = [l for l in read("dmesg-faults.txt").splitlines() if "fault addr 0x2000000" in l and "[00:03.0]" in l]
ok(kernel, "the guest kernel logged the blocked write as a DMA fault", read("dmesg-faults.txt"))


def is_edu_fault(e):
    return (e.get("bdf") == "0000:00:03.0" and e.get("address") == 0x2000000 and e.get("write") is True
            and e.get("reason") == 5 and e.get("unit") == "dmar0")


events = []
for line in read("follow.json").splitlines():
    try:
        events.append(json.loads(line))
    except ValueError:
        events.append({"__bad__": line})
ok(read("follow.rc").strip() == "0" and any(is_edu_fault(e) for e in events),
   "iommuctl faults --follow got the fault from iommud: 00:03.0 write 0x2000000, reason 0x05",
   f"rc={read('follow.rc')} {read('follow.err')}\n{events}")
metrics = read("metrics.txt") if os.path.exists(os.path.join(a.out, "metrics.txt")) else ""
p = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True) \
    if shutil.which("promtool") else None
ok(read("metrics.rc").strip() == "0" and p is not None and p.returncode == 0,
   "GET /metrics from the live iommud in the guest passes promtool check metrics",
   (p.stdout + p.stderr) if p else "promtool missing (Debian package prometheus)")
faults_05 = [l for l in metrics.splitlines() if l.startswith('iommu_faults_total{') and 'unit="dmar0"' in l
             and 'reason="0x05"' in l]
ok(faults_05 and float(faults_05[0].split()[-1]) >= 1 and 'iommu_translation_enabled{unit="dmar0"} 1' in metrics,
   "/metrics counts the edu fault (reason 0x05) and says translation is on", "\n".join(faults_05) or metrics[:1500])
after = load("faults-after.json")
ok(any(is_edu_fault(e) for e in after.get("log", [])) and
   all(e.get("source") in ("kernel-log", "registers") for e in after.get("log", [])),
   "iommud's fault log holds it", after.get("log"))

# --- the snapshot gives the same answers offline ----------------------------------------------
snap = os.path.join(a.out, "snapshot.iommu")
ok(read("snapshot.rc.txt.rc").strip() == "0" and os.path.getsize(snap) > 0, "iommuctl --direct snapshot save",
   read("snapshot.rc.txt.err"))
for cmd in ("info", "devices", "mappings"):
    p = subprocess.run([a.iommuctl, "--snapshot", snap, "-j", cmd], capture_output=True, text=True)
    live = load(f"{cmd}.json")
    try:
        offline = json.loads(p.stdout)
    except ValueError:
        offline = {"__error__": p.stderr}
    ok(p.returncode == 0 and offline == live, f"--snapshot {cmd} on the host equals --direct {cmd} in the guest",
       f"rc={p.returncode} {p.stderr}\nlive:    {json.dumps(live)[:800]}\noffline: {json.dumps(offline)[:800]}")

# --- VFIO: the kernel's mapping for edu, read back ---------------------------------------------
pm = load("pagemap.json")
got = load("edu-mappings.json")
ok(read("edu-mappings.rc").strip() == "0" and isinstance(got, list), "VFIO mapped a buffer for edu and iommuctl read it",
   read("edu-mappings.err") + read("vfio.log"))
expect = []
for i, phys in enumerate(pm.get("pages", [])):
    iova = pm["iova"] + i * 4096
    if expect and expect[-1]["iova"] + expect[-1]["length"] == iova and expect[-1]["phys"] + expect[-1]["length"] == phys:
        expect[-1]["length"] += 4096
    else:
        expect.append({"iova": iova, "phys": phys, "length": 4096})
entries = [m for m in got if isinstance(got, list) and m.get("bdf") == "0000:00:03.0"
           and (m.get("pasid") is None or m.get("rid_pasid"))]
ranges = entries[0]["ranges"] if len(entries) == 1 else []
mine = [{"iova": r["iova"], "phys": r["phys"], "length": r["length"]} for r in ranges]
ok(len(entries) == 1 and mine == expect,
   f"mappings --device 00:03.0 shows exactly IOVA 0x{pm.get('iova', 0):x} (+{pm.get('size', 0) // 1024} KiB) -> the buffer's pages",
   f"expected {expect}\ngot {mine}\nentries {json.dumps(entries)[:1500]}")
ok(ranges and all(r["read"] and r["write"] and r["page_size"] == 4096 for r in ranges),
   "the VFIO mapping is read/write in 4 KiB pages", ranges)
ok(len(entries) == 1 and not entries[0].get("anomalies"), "no anomalies in edu's tables",
   entries[0].get("anomalies") if entries else got)

sys.exit(1 if failed else 0)
