#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The commands that change state (power, domain, attach, detach, map,
unmap, invalidate) against a stand-in iommud (fake_iommud.py), which
records every request: the exact request each command sends, written out
here from the socket API's contract (the methods iommud(8) lists), never
from iommuctl's own code; the text line and the --json result for answers
shaped as that contract says; iommud's errors as one line and exit 1; and
every wrong command line refused with its own message and exit 2, with
nothing sent at all."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_iommud import Error, FakeIommud  # noqa: E402

CTL = os.environ["IOMMUCTL"]
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


# --- answers shaped as the contract says ------------------------------------------------------------
UNIT = {"name": "dmar0", "address": 0xfed90000, "segment": 0, "size": 4096, "include_pci_all": True,
        "version": "1.0", "mode": "legacy", "root_table": 0x3ff7e000, "translation_enabled": True,
        "queued_invalidation": True, "interrupt_remapping": False, "faults": [], "registers_error": None,
        "owner": "iommud"}
UNIT_OFF = dict(UNIT, owner="none", translation_enabled=False, queued_invalidation=False, root_table=0)
EDU = {"bdf": "0000:00:03.0", "vendor": 0x1234, "device": 0x11e8, "class": 0x00ff, "name": "Device 1234:11e8",
       "driver": None, "group": None, "iommu": None, "unit": "dmar0", "domain": 2, "translation": "multi-level"}
EDU_PT = dict(EDU, domain=1, translation="pass-through")
EDU_BLOCKED = dict(EDU, domain=None, translation="blocked")
SEG1 = dict(EDU, bdf="0001:02:00.0", unit="dmar1", domain=7)
MAPPED = {"unit": "dmar0", "domain": 2, "iova": 0x100000, "length": 0x2000, "phys": 0x3fe00000, "read": True,
          "write": True, "buffer": "/dev/hugepages/iommud/buffer-3"}
TOP = (1 << 64) - 0x1000


def inval(what, domain=None, iova=None, order=None):
    return {"unit": "dmar0", "what": what, "domain": domain, "iova": iova, "order": order}


# (command line, method, params, result, text line)
CASES = [
    (["power", "on", "--unit", "dmar0"], "v1.power", {"unit": "dmar0", "on": True}, UNIT,
     "dmar0: owner iommud, translation on, legacy mode"),
    (["power", "on"], "v1.power", {"on": True}, UNIT,
     "dmar0: owner iommud, translation on, legacy mode"),
    (["power", "off"], "v1.power", {"on": False}, UNIT_OFF,
     "dmar0: owner none, translation off, legacy mode"),
    (["pow", "of", "--unit=dmar0"], "v1.power", {"unit": "dmar0", "on": False}, UNIT_OFF,
     "dmar0: owner none, translation off, legacy mode"),
    (["domain", "create"], "v1.domain.create", {},
     {"unit": "dmar0", "domain": 2, "type": "paging", "address_width": 48},
     "dmar0: domain 2 created (paging, 48-bit)"),
    (["domain", "create", "--unit", "dmar0", "--type", "blocked", "--id", "0x10"], "v1.domain.create",
     {"unit": "dmar0", "type": "blocked", "id": 16},
     {"unit": "dmar0", "domain": 16, "type": "blocked", "address_width": None},
     "dmar0: domain 16 created (blocked)"),
    (["domain", "cr", "--type=identity", "--id=65535"], "v1.domain.create", {"type": "identity", "id": 65535},
     {"unit": "dmar0", "domain": 65535, "type": "identity", "address_width": 39},
     "dmar0: domain 65535 created (identity, 39-bit)"),
    (["domain", "create", "--type", "passthrough", "--id", "0"], "v1.domain.create",
     {"type": "passthrough", "id": 0},
     {"unit": "dmar0", "domain": 0, "type": "passthrough", "address_width": None},
     "dmar0: domain 0 created (passthrough)"),
    (["domain", "create", "--type", "paging"], "v1.domain.create", {"type": "paging"},
     {"unit": "dmar0", "domain": 3, "type": "paging", "address_width": 48},
     "dmar0: domain 3 created (paging, 48-bit)"),
    (["domain", "destroy", "2"], "v1.domain.destroy", {"domain": 2}, {"unit": "dmar0", "domain": 2},
     "dmar0: domain 2 destroyed"),
    # decimal, whatever its leading zeros: never octal
    (["domain", "destroy", "010"], "v1.domain.destroy", {"domain": 10}, {"unit": "dmar0", "domain": 10},
     "dmar0: domain 10 destroyed"),
    (["domain", "destroy", "--unit", "dmar1", "0x2"], "v1.domain.destroy", {"unit": "dmar1", "domain": 2},
     {"unit": "dmar1", "domain": 2}, "dmar1: domain 2 destroyed"),
    (["attach", "00:03.0", "2"], "v1.attach", {"device": "0000:00:03.0", "domain": 2}, EDU,
     "0000:00:03.0: attached to domain 2 of dmar0, translation multi-level"),
    (["attach", "0:3.0", "0x2"], "v1.attach", {"device": "0000:00:03.0", "domain": 2}, EDU,
     "0000:00:03.0: attached to domain 2 of dmar0, translation multi-level"),
    (["attach", "0000:00:03.0", "2"], "v1.attach", {"device": "0000:00:03.0", "domain": 2}, EDU,
     "0000:00:03.0: attached to domain 2 of dmar0, translation multi-level"),
    (["attach", "1:2:0.0", "7"], "v1.attach", {"device": "0001:02:00.0", "domain": 7}, SEG1,
     "0001:02:00.0: attached to domain 7 of dmar1, translation multi-level"),
    (["attach", "00:1F.2", "2"], "v1.attach", {"device": "0000:00:1f.2", "domain": 2},
     dict(EDU, bdf="0000:00:1f.2"), "0000:00:1f.2: attached to domain 2 of dmar0, translation multi-level"),
    (["detach", "00:03.0"], "v1.detach", {"device": "0000:00:03.0"}, EDU_PT,
     "0000:00:03.0: detached, back to the default policy: domain 1 of dmar0, translation pass-through"),
    (["detach", "0:3.0"], "v1.detach", {"device": "0000:00:03.0"}, EDU_BLOCKED,
     "0000:00:03.0: detached, back to the default policy: no domain on dmar0, translation blocked"),
    (["map", "2", "0x100000", "--alloc", "0x2000"], "v1.map",
     {"domain": 2, "iova": 0x100000, "alloc": True, "length": 0x2000, "read": True, "write": True}, MAPPED,
     "dmar0: domain 2: mapped 0x100000+0x2000 -> 0x3fe00000, read-write, buffer /dev/hugepages/iommud/buffer-3"),
    (["map", "--alloc", "2", "0x100000", "8192", "--read", "--write", "--unit", "dmar0"], "v1.map",
     {"unit": "dmar0", "domain": 2, "iova": 0x100000, "alloc": True, "length": 0x2000, "read": True,
      "write": True}, MAPPED,
     "dmar0: domain 2: mapped 0x100000+0x2000 -> 0x3fe00000, read-write, buffer /dev/hugepages/iommud/buffer-3"),
    (["map", "2", "1048576", "0x40000000", "0x2000", "--read"], "v1.map",
     {"domain": 2, "iova": 0x100000, "phys": 0x40000000, "length": 0x2000, "read": True, "write": False},
     dict(MAPPED, phys=0x40000000, write=False, buffer=None),
     "dmar0: domain 2: mapped 0x100000+0x2000 -> 0x40000000, read-only"),
    (["map", "2", "0x100000", "0x40000000", "0x2000", "--write"], "v1.map",
     {"domain": 2, "iova": 0x100000, "phys": 0x40000000, "length": 0x2000, "read": False, "write": True},
     dict(MAPPED, phys=0x40000000, read=False, buffer=None),
     "dmar0: domain 2: mapped 0x100000+0x2000 -> 0x40000000, write-only"),
    # the last page of the 64-bit space, onto physical 0
    (["map", "2", hex(TOP), "0", "0x1000"], "v1.map",
     {"domain": 2, "iova": TOP, "phys": 0, "length": 0x1000, "read": True, "write": True},
     dict(MAPPED, iova=TOP, phys=0, length=0x1000, buffer=None),
     "dmar0: domain 2: mapped 0xfffffffffffff000+0x1000 -> 0x0, read-write"),
    (["unmap", "2", "0x100000", "0x2000"], "v1.unmap", {"domain": 2, "iova": 0x100000, "length": 0x2000},
     {"unit": "dmar0", "domain": 2, "iova": 0x100000, "length": 0x2000},
     "dmar0: domain 2: unmapped 0x100000+0x2000"),
    (["unmap", "--unit", "dmar0", "2", "0x40000000", "0x40000000"], "v1.unmap",
     {"unit": "dmar0", "domain": 2, "iova": 0x40000000, "length": 0x40000000},
     {"unit": "dmar0", "domain": 2, "iova": 0x40000000, "length": 0x40000000},
     "dmar0: domain 2: unmapped 0x40000000+0x40000000"),
    (["invalidate", "global"], "v1.invalidate", {"what": "global"}, inval("global"),
     "dmar0: caches invalidated globally"),
    (["inv", "g", "--unit", "dmar0"], "v1.invalidate", {"unit": "dmar0", "what": "global"}, inval("global"),
     "dmar0: caches invalidated globally"),
    (["invalidate", "domain", "2"], "v1.invalidate", {"what": "domain", "domain": 2}, inval("domain", 2),
     "dmar0: domain 2: caches invalidated"),
    (["invalidate", "page", "2", "0x100000"], "v1.invalidate", {"what": "page", "domain": 2, "iova": 0x100000},
     inval("page", 2, 0x100000), "dmar0: domain 2: IOTLB invalidated for 0x100000+0x1000 (order 0)"),
    (["invalidate", "page", "2", "0x100000", "--order", "2"], "v1.invalidate",
     {"what": "page", "domain": 2, "iova": 0x100000, "order": 2}, inval("page", 2, 0x100000, 2),
     "dmar0: domain 2: IOTLB invalidated for 0x100000+0x4000 (order 2)"),
    (["invalidate", "page", "2", "0", "--order", "63", "--unit", "dmar0"], "v1.invalidate",
     {"unit": "dmar0", "what": "page", "domain": 2, "iova": 0, "order": 63}, inval("page", 2, 0, 63),
     "dmar0: domain 2: IOTLB invalidated for 0x0+2^63 pages (order 63)"),
]

ERRORS = {  # method -> (errno, iommud's one line)
    "v1.power": (16, "dmar0 is owned by the kernel's intel-iommu driver; boot with intel_iommu=off to let "
                     "iommud manage it"),
    "v1.domain.create": (17, "dmar0 has a domain 2 already"),
    "v1.domain.destroy": (16, "domain 2 of dmar0 has devices attached: 0000:00:03.0"),
    "v1.attach": (19, "no unit covers 0000:00:09.0"),
    "v1.detach": (22, "dmar0 is not owned by iommud: iommuctl power on --unit dmar0 first"),
    "v1.map": (17, "0x100000+0x2000 overlaps a mapping of domain 2"),
    "v1.unmap": (2, "nothing is mapped at 0x100000 in domain 2"),
    "v1.invalidate": (95, "dmar0 has no page-selective invalidation (CAP.PSI 0)"),
}

# (command line, the one line iommuctl says): each exit 2, nothing sent
USAGE = [
    (["power"], "Missing command after 'power': on, off; see 'iommuctl --help'"),
    (["power", "up"], "Unknown command 'power up'; see 'iommuctl --help'"),
    (["power", "o"], "Command 'power o' is ambiguous: on, off, ..."),
    (["power", "on", "dmar0"], "Usage: iommuctl power on [--unit NAME]"),
    (["power", "off", "--unit", ""], "--unit needs a unit name, e.g. dmar0"),
    (["power", "on", "--type", "paging"], "Option --type does not apply to 'power on'"),
    (["power", "on", "--unit"], "Option '--unit' needs an argument"),
    (["domain"], "Missing command after 'domain': create, destroy; see 'iommuctl --help'"),
    (["dom"], "Command 'dom' is ambiguous: domains, domain, ..."),
    (["domain", "create", "5"], "Usage: iommuctl domain create [--unit NAME] [--type TYPE] [--id DID]"),
    (["domain", "create", "--type", "bogus"],
     "--type 'bogus' is not a domain type: paging, identity, blocked or passthrough"),
    (["domain", "create", "--type", "Paging"],
     "--type 'Paging' is not a domain type: paging, identity, blocked or passthrough"),
    (["domain", "create", "--id", "65536"], "--id '65536' is not a domain ID (0..65535)"),
    (["domain", "create", "--id", "-1"], "--id '-1' is not a domain ID (0..65535)"),
    (["domain", "create", "--id", "x"], "--id 'x' is not a domain ID (0..65535)"),
    (["domain", "create", "--id", "010x"], "--id '010x' is not a domain ID (0..65535)"),
    (["domain", "create", "--read"], "Option --read does not apply to 'domain create'"),
    (["domain", "destroy"], "Usage: iommuctl domain destroy DID [--unit NAME]"),
    (["domain", "destroy", "1", "2"], "Usage: iommuctl domain destroy DID [--unit NAME]"),
    (["domain", "destroy", "x"], "DID 'x' is not a domain ID (0..65535)"),
    (["domain", "destroy", "0x10000"], "DID '0x10000' is not a domain ID (0..65535)"),
    (["domain", "destroy", "1", "--id", "1"], "Option --id does not apply to 'domain destroy'"),
    (["domain", "destroy", "1", "--type", "paging"], "Option --type does not apply to 'domain destroy'"),
    (["attach"], "Usage: iommuctl attach BDF DID"),
    (["attach", "00:03.0"], "Usage: iommuctl attach BDF DID"),
    (["attach", "00:03.0", "1", "2"], "Usage: iommuctl attach BDF DID"),
    (["attach", "zz", "1"], "BDF 'zz' is not a PCI address (SSSS:BB:DD.F, BB:DD.F or B:D.F)"),
    (["attach", "00:20.0", "1"], "BDF '00:20.0' is not a PCI address (SSSS:BB:DD.F, BB:DD.F or B:D.F)"),
    (["attach", "0x0:03.0", "1"], "BDF '0x0:03.0' is not a PCI address (SSSS:BB:DD.F, BB:DD.F or B:D.F)"),
    (["attach", "00:03.0", "70000"], "DID '70000' is not a domain ID (0..65535)"),
    (["attach", "00:03.0", "1", "--unit", "dmar0"], "Option --unit does not apply to 'attach'"),
    (["detach"], "Usage: iommuctl detach BDF"),
    (["detach", "00:03.0", "1"], "Usage: iommuctl detach BDF"),
    (["detach", "00:03.8"], "BDF '00:03.8' is not a PCI address (SSSS:BB:DD.F, BB:DD.F or B:D.F)"),
    (["map"], "Usage: iommuctl map DID IOVA (PHYS | --alloc) LENGTH [--unit NAME] [--read] [--write]"),
    (["map", "1", "0x1000"],
     "Usage: iommuctl map DID IOVA (PHYS | --alloc) LENGTH [--unit NAME] [--read] [--write]"),
    (["map", "1", "0x1000", "0x2000", "0x1000", "5"],
     "Usage: iommuctl map DID IOVA (PHYS | --alloc) LENGTH [--unit NAME] [--read] [--write]"),
    (["map", "1", "0x1000", "0x2000"],
     "Missing PHYS or --alloc; usage: iommuctl map DID IOVA (PHYS | --alloc) LENGTH"),
    (["map", "1", "0x1000", "0x40000000", "0x2000", "--alloc"],
     "PHYS '0x40000000' and --alloc exclude each other: give one of them"),
    (["map", "x", "0x1000", "--alloc", "0x1000"], "DID 'x' is not a domain ID (0..65535)"),
    (["map", "1", "0x1001", "--alloc", "0x1000"], "IOVA '0x1001' is not a multiple of 4 KiB (0x1000)"),
    (["map", "1", "4097", "0", "0x1000"], "IOVA '4097' is not a multiple of 4 KiB (0x1000)"),
    (["map", "1", "0x1000", "0x40000800", "0x1000"], "PHYS '0x40000800' is not a multiple of 4 KiB (0x1000)"),
    (["map", "1", "0x1000", "--alloc", "0x1800"], "LENGTH '0x1800' is not a multiple of 4 KiB (0x1000)"),
    (["map", "1", "0x1000", "--alloc", "0"], "LENGTH '0' is empty: give a multiple of 4 KiB (0x1000)"),
    (["map", "1", "zz", "--alloc", "0x1000"], "IOVA 'zz' is not a number (decimal, or hex with 0x)"),
    (["map", "1", "0x1000", "0x", "0x1000"], "PHYS '0x' is not a number (decimal, or hex with 0x)"),
    (["map", "1", "0x1000", "--alloc", "0x10000000000000000"], "LENGTH '0x10000000000000000' does not fit 64 bits"),
    (["map", "1", "0xfffffffffffff000", "--alloc", "0x2000"],
     "IOVA '0xfffffffffffff000' + LENGTH '0x2000' goes past the end of the 64-bit address space"),
    (["map", "1", "0x1000", "0xfffffffffffff000", "0x2000"],
     "PHYS '0xfffffffffffff000' + LENGTH '0x2000' goes past the end of the 64-bit address space"),
    (["map", "1", "0x1000", "--alloc", "0x1000", "--order", "1"], "Option --order does not apply to 'map'"),
    (["map", "1", "-5", "--alloc", "0x1000"], "Unknown option '-5'; see 'iommuctl --help'"),
    (["unmap", "1", "0x1000"], "Usage: iommuctl unmap DID IOVA LENGTH [--unit NAME]"),
    (["unmap", "1", "0x1000", "0x1000", "4"], "Usage: iommuctl unmap DID IOVA LENGTH [--unit NAME]"),
    (["unmap", "70000", "0", "0x1000"], "DID '70000' is not a domain ID (0..65535)"),
    (["unmap", "1", "0x800", "0x1000"], "IOVA '0x800' is not a multiple of 4 KiB (0x1000)"),
    (["unmap", "1", "0x1000", "0x1001"], "LENGTH '0x1001' is not a multiple of 4 KiB (0x1000)"),
    (["unmap", "1", "0x1000", "0"], "LENGTH '0' is empty: give a multiple of 4 KiB (0x1000)"),
    (["unmap", "1", "0xfffffffffffff000", "0x2000"],
     "IOVA '0xfffffffffffff000' + LENGTH '0x2000' goes past the end of the 64-bit address space"),
    (["unmap", "1", "0x1000", "0x1000", "--alloc"], "Option --alloc does not apply to 'unmap'"),
    (["unmap", "1", "0x1000", "0x1000", "--write"], "Option --write does not apply to 'unmap'"),
    (["invalidate"], "Missing command after 'invalidate': global, domain, page; see 'iommuctl --help'"),
    (["invalidate", "all"], "Unknown command 'invalidate all'; see 'iommuctl --help'"),
    (["invalidate", "global", "1"], "Usage: iommuctl invalidate global [--unit NAME]"),
    (["invalidate", "domain"], "Usage: iommuctl invalidate domain DID [--unit NAME]"),
    (["invalidate", "domain", "x"], "DID 'x' is not a domain ID (0..65535)"),
    (["invalidate", "page", "1"], "Usage: iommuctl invalidate page DID IOVA [--unit NAME] [--order N]"),
    (["invalidate", "page", "1", "0x1000", "0"],
     "Usage: iommuctl invalidate page DID IOVA [--unit NAME] [--order N]"),
    (["invalidate", "page", "1", "0x1800"], "IOVA '0x1800' is not a multiple of 4 KiB (0x1000)"),
    (["invalidate", "page", "1", "0x1000", "--order", "1"], "IOVA '0x1000' is not aligned to its 2^1 pages (--order 1)"),
    (["invalidate", "page", "1", "0x100000", "--order", "9"],
     "IOVA '0x100000' is not aligned to its 2^9 pages (--order 9)"),
    (["invalidate", "page", "1", "0x2000", "--order", "64"], "--order '64' is not an order of pages (0..63)"),
    (["invalidate", "page", "1", "0x2000", "--order", "x"], "--order 'x' is not an order of pages (0..63)"),
    (["invalidate", "domain", "1", "--order", "1"], "Option --order does not apply to 'invalidate domain'"),
    (["invalidate", "global", "--order", "0"], "Option --order does not apply to 'invalidate global'"),
]

with tempfile.TemporaryDirectory() as tmp:
    fake = FakeIommud(tmp)
    try:
        # --- each command: its request, its line, its JSON ----------------------------------------------
        for args, method, params, result, line in CASES:
            what = " ".join(args)
            sock = fake.add({method: result})
            rc, out, err = run("--socket", sock, *args)
            ok(rc == 0 and out == line + "\n" and err == "", f"{what}: says '{line}'", f"rc={rc}\n{out}{err}")
            rc, jout, err = run("--socket", sock, "--json", *args)
            try:
                got = json.loads(jout)
            except ValueError:
                got = None
            ok(rc == 0 and got == result and jout.count("\n") == 1 and err == "",
               f"{what} --json: the result object unchanged, on one line", f"rc={rc}\n{jout}{err}")
            reqs = fake.requests(sock)
            want = {"method": method, "params": params}
            ok(len(reqs) == 2 and all({k: r.get(k) for k in ("method", "params")} == want for r in reqs)
               and all(set(r) == {"method", "params", "id"} for r in reqs) and fake.connections(sock) == 2,
               f"{what}: asks {method} with exactly {json.dumps(params)}", f"sent: {reqs}")

        sock = fake.add({"v1.map": MAPPED})
        rc, out, err = run("--socket", sock, "--pretty", "map", "2", "0x100000", "--alloc", "0x2000")
        ok(rc == 0 and json.loads(out) == MAPPED and '\n  "buffer": "/dev/hugepages/iommud/buffer-3"' in out,
           "map --pretty: the result indented", out + err)

        # --- iommud says no: its message as one line, exit 1 -------------------------------------------
        sock = fake.add({m: Error(code, msg) for m, (code, msg) in ERRORS.items()})
        tried = set()
        for args, method, params, result, line in CASES:
            if method in tried:
                continue
            tried.add(method)
            code, msg = ERRORS[method]
            rc, out, err = run("--socket", sock, *args)
            ok(rc == 1 and err == f"iommuctl: {msg}\n" and out == "",
               f"{' '.join(args)}: iommud's error '{msg[:40]}...' as one line, exit 1", f"rc={rc}\n{out}{err}")
            rc, out, err = run("--socket", sock, "--json", *args)
            ok(rc == 1 and out == json.dumps({"error": {"code": code, "message": msg, "status": 1}},
                                             separators=(",", ":")) + "\n" and err == f"iommuctl: {msg}\n",
               f"{' '.join(args)} --json: the error as a JSON object too", f"rc={rc}\n{out}{err}")
        ok(tried == set(ERRORS), "every method's error was tried", tried)

        sock = fake.add({"v1.power": Error(1, "Changing state needs root\nor the admin group"),
                         "v1.unmap": [], "v1.attach": "a string"})
        rc, out, err = run("--socket", sock, "power", "on")
        ok(rc == 1 and err == "iommuctl: Changing state needs root or the admin group\n",
           "a message of two lines is still one line", err)
        rc, out, err = run("--socket", sock, "unmap", "2", "0x1000", "0x1000")
        ok(rc == 1 and err == "iommuctl: iommud answered v1.unmap with a JSON array, not a JSON object\n"
           and out == "", "an answer of another JSON type: one line, exit 1", err)
        rc, out, err = run("--socket", sock, "attach", "00:03.0", "1")
        ok(rc == 1 and "JSON string, not a JSON object" in err and len(err.splitlines()) == 1,
           "a string for a device object: one line, exit 1", err)
        rc, out, err = run("--socket", os.path.join(tmp, "nobody.sock"), "power", "on")
        ok(rc == 1 and len(err.splitlines()) == 1 and "iommud is not running" in err,
           "no daemon: one line saying so, exit 1", err)

        # --- an iommud of another version: missing members print as "?" -------------------------------
        sock = fake.add({"v1.power": {}, "v1.map": {"unit": "dmar0", "domain": "two", "read": 1},
                         "v1.domain.create": {"unit": "dmar0", "domain": 4, "type": "paging",
                                              "address_width": "wide"},
                         "v1.detach": {"bdf": "0000:00:03.0"},
                         "v1.invalidate": {"unit": "dmar0", "what": "page", "domain": 2, "iova": 0,
                                           "order": "big"}})
        for args, line in [
                (["power", "on"], "?: owner ?, translation unknown, ? mode"),
                (["map", "2", "0", "--alloc", "0x1000"], "dmar0: domain ?: mapped ?+? -> ?, ?"),
                (["domain", "create"], "dmar0: domain 4 created (paging, ?-bit)"),
                (["detach", "00:03.0"], "0000:00:03.0: detached, back to the default policy: no domain on -, "
                                        "translation -"),
                (["invalidate", "page", "2", "0"], "dmar0: domain 2: IOTLB invalidated for 0x0+? (order ?)"),
        ]:
            rc, out, err = run("--socket", sock, *args)
            ok(rc == 0 and out == line + "\n", f"{' '.join(args)}: a result lacking members says '{line}'",
               f"rc={rc}\n{out}{err}")

        # --- wrong command lines: exit 2, their own line, nothing sent -----------------------------------
        quiet = fake.add({"v1.power": UNIT})
        for args, line in USAGE:
            rc, out, err = run("--socket", quiet, *args)
            ok(rc == 2 and err == f"iommuctl: {line}\n" and out == "",
               f"{' '.join(args)}: '{line}', exit 2", f"rc={rc}\n{out}{err}")
        for opt in (["--direct"], ["--snapshot", "x.iommu"], ["--sysroot", tmp]):
            for path, args in [("power on", ["power", "on"]), ("domain create", ["domain", "create"]),
                               ("domain destroy", ["domain", "destroy", "1"]), ("attach", ["attach", "0:3.0", "1"]),
                               ("detach", ["detach", "0:3.0"]), ("map", ["map", "1", "0", "--alloc", "0x1000"]),
                               ("unmap", ["unmap", "1", "0", "0x1000"]), ("invalidate global", ["inv", "global"]),
                               ("invalidate domain", ["invalidate", "domain", "1"]),
                               ("invalidate page", ["invalidate", "page", "1", "0"])]:
                rc, out, err = run(*opt, *args)
                want = f"iommuctl: Option {opt[0]} does not apply to '{path}': changing state needs iommud\n"
                ok(rc == 2 and err == want and out == "", f"{opt[0]} {' '.join(args)}: refused, exit 2",
                   f"rc={rc}\n{out}{err}")
        rc, out, err = run("--socket", quiet, "--json", "map", "1", "0x1001", "--alloc", "0x1000")
        msg = "IOVA '0x1001' is not a multiple of 4 KiB (0x1000)"
        ok(rc == 2 and json.loads(out) == {"error": {"code": 22, "message": msg, "status": 2}},
           "--json: a usage error is a JSON object too", out + err)
        # The connections come in order: once this one was answered, any
        # earlier one had been accepted.
        rc, out, err = run("--socket", quiet, "power", "on")
        ok(rc == 0 and fake.connections(quiet) == 1
           and [r["method"] for r in fake.requests(quiet)] == ["v1.power"],
           f"none of the {len(USAGE) + 1} wrong command lines sent anything",
           f"connections={fake.connections(quiet)} {fake.requests(quiet)}")

        # --- help -------------------------------------------------------------------------------------
        rc, out, err = run("--help")
        for synopsis in ["power on [--unit NAME]", "power off [--unit NAME]",
                         "domain create [--unit NAME] [--type TYPE] [--id DID]", "domain destroy DID [--unit NAME]",
                         "attach BDF DID", "detach BDF",
                         "map DID IOVA (PHYS | --alloc) LENGTH [--unit NAME] [--read] [--write]",
                         "unmap DID IOVA LENGTH [--unit NAME]", "invalidate global [--unit NAME]",
                         "invalidate domain DID [--unit NAME]", "invalidate page DID IOVA [--unit NAME] [--order N]"]:
            ok(rc == 0 and any(ln.strip().startswith(synopsis) for ln in out.splitlines()),
               f"--help lists '{synopsis}'", out)
    finally:
        fake.close()

print(f"1..{n}")
sys.exit(1 if failures else 0)
