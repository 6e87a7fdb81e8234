#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Judge what tests/vm/control-payload left in a guest's /out/ctl: iommud
taking QEMU's VT-d unit over and iommuctl driving it, checked against the
guest's own view (devmem reads of the registers, the physical address of a
page from /proc/self/pagemap, what edu's DMA did to memory) and the fault
records QEMU wrote (its reasons: hw/i386/intel_iommu_internal.h).

  check-control.py --owned legacy|scalable --aw 39|48 [--survive] DIR
  check-control.py --kernel DIR

Prints "ok - ..." / "not ok - ..." lines and "# ..." notes (control-check
numbers them); exit 0 when every check passed."""
import argparse
import json
import os
import sys

FR_CONTEXT_ENTRY_P = 0x2
FR_WRITE = 0x5
FR_READ = 0x6
FR_PASID_TABLE_INV = 0x58
GSTS_TES = 1 << 31
EDU = "0000:00:03.0"
DID = 5
OWNERSHIP = ("dmar0 is owned by the kernel's intel-iommu driver", "intel_iommu=off")

failed = 0
count = 0


def ok(cond, what, detail=None):
    global failed, count
    count += 1
    print(f"{'ok' if cond else 'not ok'} {count} - {what}")
    if not cond:
        failed += 1
        if detail is not None:
            for line in str(detail).splitlines()[:12]:
                print(f"#   {line}")
    return cond


class Steps:
    def __init__(self, d):
        self.dir = d
        with open(os.path.join(d, "steps")) as f:
            self.names = f.read().split()

    def _read(self, name, ext):
        try:
            with open(os.path.join(self.dir, f"{name}.{ext}")) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def rc(self, name):
        v = self._read(name, "rc")
        return int(v) if v and v.strip().lstrip("-").isdigit() else None

    def out(self, name):
        return (self._read(name, "out") or "").strip()

    def err(self, name):
        return (self._read(name, "err") or "").strip()

    def json(self, name):
        try:
            return json.loads(self.out(name))
        except ValueError:
            return None

    def said(self, name):
        return f"{name}: exit {self.rc(name)}, out {self.out(name)[:300]!r}, err {self.err(name)[:300]!r}"

    def done(self, name):
        """The step ran and answered in JSON with exit 0."""
        return self.rc(name) == 0 and self.json(name) is not None

    def refused(self, name, *words):
        """Exit 1 with one line on stderr that holds every word."""
        e = self.err(name)
        return self.rc(name) == 1 and e.count("\n") == 0 and all(w in e for w in words)


def unit0(info):
    try:
        return info["units"][0]
    except (TypeError, KeyError, IndexError):
        return {}


def raw(unit, reg, field):
    try:
        return unit[reg]["fields"][field]["raw"]
    except (TypeError, KeyError):
        return None


def devmem(s, name):
    try:
        return int(s.out(name), 16)
    except ValueError:
        return None


def log_of(s, name):
    f = s.json(name)
    return f.get("log", []) if isinstance(f, dict) else []


def fault(entry, iova, write, reason):
    return (entry.get("bdf") == EDU and entry.get("address") == iova and entry.get("write") is write
            and entry.get("reason") == reason and entry.get("unit") == "dmar0")


def new_fault(s, name, before, iova, write, reason, what):
    """The log step name holds one entry more than step before, and it is
    edu's fault at iova (page) for reason."""
    old, log = log_of(s, before) if before else [], log_of(s, name)
    fresh = log[len(old):]
    return ok(len(fresh) == 1 and fault(fresh[0], iova, write, reason),
              f"{what}: iommuctl faults --json logs 00:03.0 {'writing' if write else 'reading'} "
              f"0x{iova:x}, reason 0x{reason:x}", (s.said(name), fresh))


def ranges_of(mappings, did):
    for m in mappings if isinstance(mappings, list) else []:
        if m.get("bdf") == EDU and m.get("domain") == did:
            return m.get("ranges", [])
    return None


def has_range(ranges, iova, phys, length, write):
    """Some range maps [iova, iova+length) onto [phys, ...) with that access."""
    for r in ranges or []:
        if (r["iova"] <= iova and iova + length <= r["iova"] + r["length"]
                and r["phys"] + iova - r["iova"] == phys and r["read"] and r["write"] == write):
            return True
    return False


def owned(s, mode, aw):
    scalable = mode == "scalable"
    u = unit0(s.json("info-before"))
    ok(u.get("owner") == "none" and raw(u, "gsts", "tes") == 0,
       "before: iommuctl info says nobody owns dmar0 and its translation is off", s.said("info-before"))

    p = s.json("power-on") or {}
    gsts = devmem(s, "gsts-on")
    ok(s.done("power-on") and p.get("owner") == "iommud" and raw(p, "gsts", "tes") == 1
       and gsts is not None and gsts & GSTS_TES,
       "power on: the unit object says owner iommud, and GSTS read with devmem has TES "
       f"({s.out('gsts-on')})", s.said("power-on"))
    ok(raw(p, "rtaddr", "ttm") == (1 if scalable else 0),
       f"power on: RTADDR.TTM says {mode} mode", raw(p, "rtaddr", "ttm"))

    d = s.json("domain-create") or {}
    ok(s.done("domain-create") and d == {"unit": "dmar0", "domain": DID, "type": "paging", "address_width": aw},
       f"domain create --id {DID}: a {aw}-bit paging domain", s.said("domain-create"))
    a = s.json("attach") or {}
    translation = "second-stage" if scalable else "multi-level"
    ok(s.done("attach") and a.get("bdf") == EDU and a.get("domain") == DID and a.get("translation") == translation,
       f"attach 00:03.0 {DID}: the device object says domain {DID}, {translation}", s.said("attach"))

    m = s.json("map-alloc") or {}
    buf = m.get("buffer") or ""
    ok(s.done("map-alloc") and m.get("iova") == 0x100000 and m.get("length") == 0x2000 and m.get("read") is True
       and m.get("write") is True and buf.startswith("/dev/hugepages/") and isinstance(m.get("phys"), int),
       "map --alloc 0x2000 at 0x100000: read-write, its buffer a file on hugetlbfs", s.said("map-alloc"))
    ok(s.out("trip-alloc") == "arrived",
       "edu reads IOVA 0x100000 and writes IOVA 0x100800: the pattern round-trips through the --alloc buffer",
       s.said("trip-alloc"))
    try:
        own = int(s.out("own-phys"), 16)
    except ValueError:
        own = None
    mp = s.json("map-phys") or {}
    ok(own is not None and s.done("map-phys") and mp.get("phys") == own and mp.get("buffer") is None,
       f"map of a physical page the test allocated ({s.out('own-phys')}, from /proc/self/pagemap) at 0x200000",
       (s.said("own-phys"), s.said("map-phys")))
    ok(s.out("trip-phys") == "arrived",
       "edu reads IOVA 0x200000 and writes IOVA 0x200800: the pattern round-trips through that page",
       s.said("trip-phys"))
    ranges = ranges_of(s.json("mappings"), DID)
    ok(has_range(ranges, 0x100000, m.get("phys"), 0x2000, True) and has_range(ranges, 0x200000, own, 0x1000, True)
       and sum(r["length"] for r in ranges or []) == 0x3000,
       "mappings --device 00:03.0 (the walker over iommud's tables): exactly 0x100000+0x2000 onto the buffer and "
       "0x200000+0x1000 onto the test's page, read-write", s.said("mappings"))
    devs = {x.get("bdf"): x for x in (s.json("devices") or [])}
    ok(devs.get(EDU, {}).get("domain") == DID and all(x.get("domain") != DID for b, x in devs.items() if b != EDU),
       f"devices: edu alone in domain {DID}", s.said("devices"))

    ok(s.refused("map-overlap", "0x101000"), "map over a mapped IOVA: refused in one line, exit 1",
       s.said("map-overlap"))
    ok(s.rc("map-unaligned") in (1, 2) and s.err("map-unaligned").count("\n") == 0 and "0x400800" in s.err("map-unaligned"),
       "map at an IOVA that is no 4 KiB multiple: refused in one line", s.said("map-unaligned"))
    ok(s.refused("destroy-busy", "detach"), "domain destroy with edu attached: refused in one line, exit 1",
       s.said("destroy-busy"))

    r = s.json("map-ro") or {}
    ok(s.done("map-ro") and r.get("read") is True and r.get("write") is False and r.get("buffer"),
       "map --alloc --read at 0x300000: read-only", s.said("map-ro"))
    ok(s.out("ro-write") == "blocked", "edu's write to the read-only mapping does not land", s.said("ro-write"))
    new_fault(s, "faults-ro", None, 0x300000, True, FR_WRITE, "write to read-only")
    ok(s.out("ro-read") == "arrived", "edu reads the read-only mapping (into the --alloc buffer at 0x100800)",
       s.said("ro-read"))

    ok(s.out("unmapped-write") == "done", "edu writes unmapped IOVA 0x5000000", s.said("unmapped-write"))
    new_fault(s, "faults-unmapped", "faults-ro", 0x5000000, True, FR_WRITE, "write to unmapped")
    ok(s.out("unmapped-read") == "done", "edu reads unmapped IOVA 0x5100000", s.said("unmapped-read"))
    new_fault(s, "faults-second", "faults-unmapped", 0x5100000, False, FR_READ,
              "a second fault, recorded because iommud cleared the first")

    ok(s.done("unmap") and (s.json("unmap") or {}).get("length") == 0x1000, "unmap 0x200000 0x1000",
       s.said("unmap"))
    ok(s.out("after-unmap") == "blocked",
       "edu's write to the old IOVA 0x200800 (its translation was cached) does not land in the page: "
       "the IOTLB was invalidated", s.said("after-unmap"))
    new_fault(s, "faults-unmap", "faults-second", 0x200000, True, FR_WRITE, "write after unmap")
    after = ranges_of(s.json("mappings-after"), DID)
    ok(after is not None and not has_range(after, 0x200000, own, 0x1000, True)
       and has_range(after, 0x100000, m.get("phys"), 0x2000, True) and sum(r["length"] for r in after) == 0x3000,
       "mappings after unmap: 0x100000 and 0x300000 only", s.said("mappings-after"))

    dt = s.json("detach") or {}
    ok(s.done("detach") and dt.get("bdf") == EDU and dt.get("domain") != DID and dt.get("translation") == "blocked",
       "detach 00:03.0: back to the default policy (DefaultPolicy=blocked)", s.said("detach"))
    ok(s.out("after-detach") == "blocked", "edu's write to IOVA 0x100800, still mapped in the domain, no longer lands",
       s.said("after-detach"))
    new_fault(s, "faults-detach", "faults-unmap", 0x100000, True,
              FR_PASID_TABLE_INV if scalable else FR_CONTEXT_ENTRY_P, "blocked after detach")
    ok(s.done("unmap-rest") and s.done("destroy") and s.rc("buffer-gone") == 0,
       "the rest unmapped, the --alloc buffer's file gone with it, domain destroyed",
       (s.said("unmap-rest"), s.said("buffer-gone"), s.said("destroy")))

    off = s.json("power-off") or {}
    gsts = devmem(s, "gsts-off")
    ok(s.done("power-off") and off.get("owner") == "none" and gsts is not None and not gsts & GSTS_TES,
       f"power off: owner none, and devmem reads GSTS.TES clear ({s.out('gsts-off')})", s.said("power-off"))
    ok(unit0(s.json("info-after")).get("owner") == "none", "after: info says nobody owns dmar0",
       s.said("info-after"))


def unit_view(info):
    """What a restart must not change: dmar0's owner, control object and
    translation registers."""
    u = unit0(info)
    return (u.get("owner"), u.get("control"), raw(u, "gsts", "tes"), raw(u, "gsts", "qies"), u.get("rtaddr"))


def survive(s, mode):
    """iommud killed, restarted, stopped under each StopPolicy= (the s-* steps)."""
    made = all(s.done(n) for n in ("s-power-on", "s-create", "s-attach", "s-map", "s-map-own"))
    ok(made and s.out("s-trip-before") == "arrived",
       "survive: power on, domain 6, edu attached, a buffer and the test's page mapped; edu's DMA round-trips",
       [s.said(n) for n in ("s-power-on", "s-create", "s-attach", "s-map", "s-map-own", "s-trip-before")])
    gsts = devmem(s, "s-gsts-killed")
    ok(gsts is not None and gsts & GSTS_TES and s.out("s-trip-killed") == "arrived",
       f"kill -9 iommud: GSTS.TES still set ({s.out('s-gsts-killed')}) and edu's DMA through the mapping still "
       "round-trips, with no iommud running", (s.said("s-gsts-killed"), s.said("s-trip-killed")))
    for what in ("domains", "mappings", "devices"):
        before, after = s.json(f"s-{what}-before"), s.json(f"s-{what}-after")
        ok(before is not None and before == after,
           f"restarted iommud: iommuctl --json {what} equal to before the kill", (before, after))
    before, after = unit_view(s.json("s-info-before")), unit_view(s.json("s-info-after"))
    ok(before[0] == "iommud" and before == after,
       "restarted iommud: info's owner, control object, GSTS and RTADDR of dmar0 equal to before the kill",
       (before, after))
    ok(s.out("s-trip-after") == "arrived",
       "after the restart edu reads the buffer (0x100000) and writes the test's page (0x200800)",
       s.said("s-trip-after"))
    ok(s.done("s-unmap") and s.out("s-after-unmap") == "blocked",
       "unmap through the restarted iommud works: edu's next write to 0x200800 does not land",
       (s.said("s-unmap"), s.said("s-after-unmap")))
    new_fault(s, "s-faults", None, 0x200000, True, FR_WRITE, "write after unmap, restarted iommud")
    gsts = devmem(s, "s-keep-gsts")
    ok(s.rc("s-term-keep") == 0 and gsts is not None and gsts & GSTS_TES and s.out("s-keep-trip") == "arrived",
       f"SIGTERM with StopPolicy=auto (keep): exit 0, GSTS.TES still set ({s.out('s-keep-gsts')}), edu's DMA "
       "through the buffer still round-trips", (s.said("s-term-keep"), s.said("s-keep-trip")))
    pt = unit0(s.json("s-pt-info"))
    ok(pt.get("owner") == "iommud" and (pt.get("control") or {}).get("degraded") is None,
       "a third iommud takes it back again (owner iommud, not degraded)", s.said("s-pt-info"))
    gsts = devmem(s, "s-pt-gsts")
    ok(s.rc("s-term-pt") == 0 and gsts is not None and gsts & GSTS_TES and s.out("s-pt-trip") == "arrived",
       f"SIGTERM with StopPolicy=passthrough: GSTS.TES set ({s.out('s-pt-gsts')}), and edu's DMA to the "
       "physical address of the test's page round-trips untranslated", (s.said("s-term-pt"), s.said("s-pt-trip")))
    dis = unit0(s.json("s-dis-info"))
    reason = (dis.get("control") or {}).get("degraded") or ""
    ok(dis.get("owner") == "iommud" and "RTADDR" in reason,
       f"RTADDR moved behind iommud's back: the next iommud reports dmar0 degraded ({reason})", s.said("s-dis-info"))
    ok(s.refused("s-dis-map", "dmar0 is degraded", "iommuctl power off --unit dmar0"),
       "a change to the degraded unit: refused in one line naming the recovery", s.said("s-dis-map"))
    before, after = s.out("s-dis-regs-before"), s.out("s-dis-regs-after")
    ok(before and before == after and s.out("s-dis-trip") == "arrived",
       "nothing written: GSTS, RTADDR, FSTS, FECTL..FEUADDR, PMEN and IQA read the same, and devices keep "
       "translating (edu's DMA still passes through)", (before, after, s.said("s-dis-trip")))
    gsts = devmem(s, "s-dis-gsts")
    ok(s.done("s-dis-off") and gsts is not None and not gsts & GSTS_TES and "dmar0" not in s.out("s-dis-files"),
       f"the recovery, iommuctl power off: GSTS.TES clear ({s.out('s-dis-gsts')}), the table memory file "
       "removed", (s.said("s-dis-off"), s.said("s-dis-files")))
    off = unit0(s.json("s-off-info"))
    gsts = devmem(s, "s-off-gsts")
    ok(s.done("s-off-on") and off.get("owner") == "iommud" and s.rc("s-term-off") == 0 and gsts is not None
       and not gsts & GSTS_TES and s.out("s-off-trip") == "arrived",
       f"taken anew, then SIGTERM with StopPolicy=off: GSTS.TES clear ({s.out('s-off-gsts')}), edu's "
       "DMA to physical addresses works", (s.said("s-off-on"), s.said("s-term-off"), s.said("s-off-trip")))
    state = s.out("s-state")
    body = state.partition("\n")[2]
    try:
        units = json.loads(body).get("units")
    except ValueError:
        units = None
    ok(state.startswith("iommud-control-state ") and units == [],
       "the control state after StopPolicy=off names no unit", state[:300])


def kernel(s):
    u = unit0(s.json("info-before"))
    ok(u.get("owner") == "kernel" and raw(u, "gsts", "tes") == 1,
       "intel_iommu=on: iommuctl info says the kernel owns dmar0 and translates", s.said("info-before"))
    for name in ("power-on", "domain-create", "attach", "map", "unmap", "invalidate"):
        ok(s.refused(name, *OWNERSHIP), f"{name.replace('-', ' ')}: refused with the ownership line, exit 1",
           s.said(name))
    before, after = s.out("regs-before"), s.out("regs-after")
    ok(before and before == after and len(before.splitlines()) == 9,
       "GSTS, RTADDR, FSTS, FECTL..FEUADDR, PMEN and IQA read with devmem the same before and after",
       (before, after))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--owned", choices=("legacy", "scalable"))
    ap.add_argument("--aw", type=int)
    ap.add_argument("--kernel", action="store_true")
    ap.add_argument("--survive", action="store_true")
    ap.add_argument("dir")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.dir, "steps")):
        ok(False, "control-payload ran (no steps file)")
        return 1
    s = Steps(a.dir)
    if a.kernel:
        kernel(s)
    else:
        owned(s, a.owned, a.aw)
        if a.survive:
            survive(s, a.owned)
    ok(s.rc("iommud") == 0 if os.path.exists(os.path.join(a.dir, "iommud.rc")) else False,
       "iommud stopped cleanly on SIGTERM", open(os.path.join(a.dir, "iommud.log")).read()[-600:]
       if os.path.exists(os.path.join(a.dir, "iommud.log")) else None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
