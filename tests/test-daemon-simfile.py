#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommud --simulate legacy --simulated-machine FILE: the simulated machine
outlives iommud, as a real machine's unit and table memory do.  iommud
takes the unit, makes a domain, attaches edu, maps a buffer, and is killed
with SIGKILL; a new iommud on FILE finds the unit exactly as left: every
register in the file (read here at the places model/system.h and
access/regs-sim.h document) and in `iommuctl --json info`, and the tables
in the file's RAM (`iommuctl --json mappings`: the same ranges).  Refused
in one line, the file untouched: another mode, `kernel` with a file, a
file that is not a machine, a machine in use, --simulated-machine without
--simulate."""
import hashlib
import importlib.util
import os
import struct
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("harness", os.path.join(HERE, "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

t = h.Tap()
ok = t.ok
CONFIG = "[Daemon]\nFaultIntervalSec=100ms\nAdminGroup=\n"
EDU = "0000:00:03.0"
DID = 5
# the file: header at 0, the unit at 0x1000 (the copy in force's index at
# +40, copies of 4096 + 256 bytes from +64), RAM 0x20000000.. at 0x100000
FILE_SIZE = 0x100000 + 0x10000000
UNIT = 0x1000
RAM = 0x100000
TABLE_BASE = 0x20000000


def header(path):
    with open(path, "rb") as f:
        return struct.unpack("<8sIIIIQ", f.read(32))


def window(path):
    """The register window in force, as bytes."""
    with open(path, "rb") as f:
        f.seek(UNIT + 40)
        active, = struct.unpack("<I", f.read(4))
        if active > 1:
            return None
        f.seek(UNIT + 64 + active * (4096 + 256))
        return f.read(4096)


def reg(win, off, size):
    return int.from_bytes(win[off:off + size], "little")


def file_digest(path):
    """Only the parts that hold data (the rest is sparse zeros)."""
    d = hashlib.sha256()
    with open(path, "rb") as f:
        d.update(str(os.fstat(f.fileno()).st_size).encode())
        pos = 0
        while True:
            try:
                data = os.lseek(f.fileno(), pos, os.SEEK_DATA)
            except OSError:
                break
            hole = os.lseek(f.fileno(), data, os.SEEK_HOLE)
            f.seek(data)
            d.update(str(data).encode())
            d.update(f.read(hole - data))
            pos = hole
    return d.hexdigest()


def ctl(d, *args):
    return h.iommuctl("--socket", d.socket, *args)


def unit_info(d):
    rc, out, err = ctl(d, "--json", "info")
    if rc != 0:
        return None
    return __import__("json").loads(out)["units"][0]


def edu_ranges(d):
    rc, out, err = ctl(d, "--json", "mappings", "--device", EDU)
    if rc != 0:
        return None
    m = [x for x in __import__("json").loads(out) if x["bdf"] == EDU]
    return [(r["iova"], r["phys"], r["length"], r["read"], r["write"]) for x in m for r in x["ranges"]]


def val(unit, key):
    """A register of v1.info's unit: its decoded object's value."""
    v = unit[key]
    return v["value"] if isinstance(v, dict) else v


def one_line_failure(d, rc, *words):
    d.proc.wait(20 * h.SLOW)
    err = [x for x in d.stderr().splitlines() if x.strip()]
    return d.proc.returncode == rc and len(err) == 1 and all(w in err[0] for w in words), err


with tempfile.TemporaryDirectory() as tmp:
    machine = os.path.join(tmp, "machine")

    d = h.Daemon(tmp, "first", ["--simulate", "legacy", "--simulated-machine", machine], config=CONFIG)
    if not ok(d.wait_ready(), "iommud serves a simulated machine kept in a file", d.stderr()):
        d.kill()
        t.done()
    ok(f"Serving a simulated legacy:aw48,cm machine in {machine} on" in d.stderr(),
       "the log says where the machine lives", d.stderr())
    st = os.stat(machine)
    magic, version, mode, aw, cm, size = header(machine)
    ok(st.st_mode & 0o777 == 0o600 and st.st_size == FILE_SIZE and
       (magic, version, mode, aw, cm, size) == (b"IOMMUSIM", 1, 0, 48, 1, FILE_SIZE),
       "the file: 0600, its size, a header saying legacy:aw48,cm", (oct(st.st_mode), st.st_size, header(machine)))
    steps = [ctl(d, "power", "on"), ctl(d, "domain", "create", "--id", str(DID)), ctl(d, "attach", EDU, str(DID)),
             ctl(d, "map", str(DID), "0x100000", "--alloc", "0x2000")]
    ok(all(rc == 0 for rc, _, _ in steps), "power on, domain create, attach edu, map a buffer", steps)
    before = unit_info(d)
    ranges = edu_ranges(d)
    win = window(machine)
    ok(before and ranges == [(0x100000, 0x30000000, 0x2000, True, True)],
       "edu reaches the buffer at 0x100000", (ranges, before and before.get("gsts")))
    # the file says what the unit says, where the specification puts it
    ok(win is not None and before and reg(win, 0x1c, 4) == val(before, "gsts")
       and reg(win, 0x20, 8) == val(before, "rtaddr") and reg(win, 0x34, 4) == val(before, "fsts")
       and reg(win, 0x8, 8) == val(before, "cap") and reg(win, 0x10, 8) == val(before, "ecap"),
       "GSTS, RTADDR, FSTS, CAP and ECAP in the file are what iommuctl info shows",
       (before and (val(before, "gsts"), val(before, "rtaddr"))))
    gsts, rtaddr, iqh, iqt, iqa = (reg(win, 0x1c, 4), reg(win, 0x20, 8), reg(win, 0x80, 8), reg(win, 0x88, 8),
                                   reg(win, 0x90, 8))
    ok(gsts & 0x80000000 and gsts & 0x04000000 and TABLE_BASE <= rtaddr < 0x30000000
       and TABLE_BASE <= iqa & ~0xfff < 0x30000000 and iqh == iqt and iqt != 0,
       f"translation and queued invalidation on, the root table and the queue in the file's RAM "
       f"(GSTS {gsts:#x}, RTADDR {rtaddr:#x}, IQA {iqa:#x}, IQH = IQT = {iqt:#x})")
    with open(machine, "rb") as f:
        f.seek(RAM + (rtaddr & ~0xfff) - TABLE_BASE)
        root = f.read(4096)
    # edu is bus 0, devfn 0x18: root entry 0 present, its context table
    # in the file too, entry 0x18 present with domain 5
    ctx_addr = struct.unpack("<Q", root[0:8])[0] & ~0xfff
    with open(machine, "rb") as f:
        f.seek(RAM + ctx_addr - TABLE_BASE)
        ctx = f.read(4096)
    lo, hi = struct.unpack("<QQ", ctx[0x18 * 16:0x18 * 16 + 16])
    ok(root[0] & 1 and TABLE_BASE <= ctx_addr < 0x30000000 and lo & 1 and (hi >> 8) & 0xffff == DID,
       "the root table and edu's context entry (present, domain 5) are in the file", (hex(ctx_addr), hex(lo), hex(hi)))

    # a second iommud while the first has it
    d2 = h.Daemon(tmp, "second", ["--simulate", "legacy", "--simulated-machine", machine], config=CONFIG)
    good, err = one_line_failure(d2, 1, f"The simulated machine {machine} is in use by process {d.pid}")
    ok(good, "a second iommud on the file: refused in one line naming the process", err)

    d.kill()  # SIGKILL
    ok(window(machine) == win, "killed: the file holds the unit as the last change left it")

    d = h.Daemon(tmp, "again", ["--simulate", "legacy", "--simulated-machine", machine], config=CONFIG)
    if ok(d.wait_ready(), "a new iommud on the file serves it", d.stderr()):
        after = unit_info(d)
        keys = ("gsts", "rtaddr", "fsts", "root_table", "mode", "translation_enabled", "queued_invalidation")
        ok(after and all(after[k] == before[k] for k in keys) and after["cap"] == before["cap"]
           and after["ecap"] == before["ecap"] and val(after, "gsts") == reg(win, 0x1c, 4),
           "iommuctl info shows the registers as before the kill",
           (after and {k: (before[k], after[k]) for k in keys}))
        ok(window(machine) == win, "every register in the file as before the kill (IQA, IQH, IQT, FECTL, ...)")
        ok(edu_ranges(d) == ranges, "the tables in the file's RAM: edu's mapping walked as before",
           edu_ranges(d))
        ok(d.stop() == 0 and not d.sanitizer_report(), "it stops cleanly", d.stderr()[-2000:])
    else:
        d.kill()

    # refusals: one line, the file as it was
    digest = file_digest(machine)
    for args, rc, words, what in (
            (["--simulate", "scalable", "--simulated-machine", machine], 1,
             [f"{machine} holds a simulated legacy:aw48,cm machine, not scalable:aw48,cm"], "another mode"),
            (["--simulate", "legacy:nocm", "--simulated-machine", machine], 1,
             [f"{machine} holds a simulated legacy:aw48,cm machine, not legacy:aw48,nocm"], "another caching mode"),
            (["--simulate", "legacy:kernel", "--simulated-machine", machine], 1,
             ["A simulated kernel builds its tables anew each time", machine], "kernel with a file"),
            (["--simulated-machine", machine], 2, ["--simulated-machine needs --simulate"], "without --simulate"),
            (["--snapshot", h.FIXTURES[0], "--simulated-machine", machine], 2,
             ["--simulated-machine needs --simulate"], "with --snapshot")):
        x = h.Daemon(tmp, "refused", args, config=CONFIG)
        good, err = one_line_failure(x, rc, *words)
        ok(good, f"{what}: refused in one line (exit {rc})", err)
    ok(file_digest(machine) == digest, "nothing written to the file by the refused ones")

    not_machine = os.path.join(tmp, "not-a-machine")
    with open(not_machine, "wb") as f:
        f.write(os.urandom(8192))
    digest = file_digest(not_machine)
    x = h.Daemon(tmp, "garbage", ["--simulate", "legacy", "--simulated-machine", not_machine], config=CONFIG)
    good, err = one_line_failure(x, 1, f"{not_machine} is not a simulated machine")
    ok(good and file_digest(not_machine) == digest, "a file of garbage: refused in one line, untouched", err)
    cut = os.path.join(tmp, "cut")
    with open(machine, "rb") as f, open(cut, "wb") as g:
        g.write(f.read(0x20000))
    digest = file_digest(cut)
    x = h.Daemon(tmp, "cut", ["--simulate", "legacy", "--simulated-machine", cut], config=CONFIG)
    good, err = one_line_failure(x, 1, f"{cut} is not a whole simulated machine: {0x20000} bytes, not {FILE_SIZE}")
    ok(good and file_digest(cut) == digest, "a machine cut short: refused in one line, untouched", err)
    absent = os.path.join(tmp, "absent")
    x = h.Daemon(tmp, "kernel-new", ["--simulate", "legacy:kernel", "--simulated-machine", absent], config=CONFIG)
    good, err = one_line_failure(x, 1, "A simulated kernel builds its tables anew each time")
    ok(good and not os.path.exists(absent), "kernel with a file not there: refused, no file made", err)
t.done()
