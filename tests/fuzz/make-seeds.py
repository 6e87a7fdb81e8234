#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the fuzz targets' generated seeds, from the fixtures.

    make-seeds.py SOURCE_ROOT OUTDIR [STAMP]

OUTDIR/TARGET/ for each target whose seeds are not fixture files as they
are (targets.txt names them "generated/TARGET").  Deterministic: the same
files every run.  Formats: each target's fuzz-TARGET.c.
"""
import glob
import hashlib
import importlib.util
import os
import shutil
import struct
import sys

root, outdir = sys.argv[1:3]
stamp = sys.argv[3] if len(sys.argv) > 3 else None
sys.path.insert(0, os.path.join(root, "tests"))
import snapshot_file  # noqa: E402  (the independent writer, for new snapshots)

PAGE = 4096


def write(target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def read_snapshot(path):
    """{type: bytes} of a snapshot file (iommu-snapshot(5)), units parsed."""
    d = open(path, "rb").read()
    n, entry_size, table = struct.unpack_from("<IIQ", d, 24)
    sections = {}
    for i in range(n):
        t, _, off, length = struct.unpack_from("<IIQQ", d, table + i * entry_size)
        sections[t] = d[off:off + length]
    units = []
    u = sections[snapshot_file.UNITS]
    count, pos = struct.unpack_from("<I", u, 0)[0], 8
    for _ in range(count):
        name = u[pos:pos + 32].rstrip(b"\0").decode()
        base, size, segment, _, n_regs = struct.unpack_from("<QQHHI", u, pos + 32)
        pos += 64
        regs = {}
        for _ in range(n_regs):
            off, width, value = struct.unpack_from("<IB3xQ", u, pos)
            regs[off] = value
            pos += 16
        units.append((name, regs))
    index = sections[snapshot_file.PAGE_INDEX]
    addrs = [struct.unpack_from("<Q", index, 8 * i)[0] for i in range(len(index) // 8)]
    pages = {a: sections[snapshot_file.PAGES][PAGE * i:PAGE * (i + 1)] for i, a in enumerate(addrs)}
    ram = sections[snapshot_file.RAM]
    ranges = [struct.unpack_from("<QQ", ram, 16 * i) for i in range(len(ram) // 16)]
    return units, pages, ranges


snapshots = sorted(glob.glob(os.path.join(root, "tests", "data", "snapshots", "*", "snapshot.iommu")))
fixtures = [(os.path.basename(os.path.dirname(p)),) + read_snapshot(p) for p in snapshots]

if os.path.isdir(outdir):
    shutil.rmtree(outdir)

# --- walk: registers and the table pages of each fixture unit -------------
def runs(page):
    """(offset, bytes) of the page's nonzero qwords, neighbours merged."""
    out, start = [], None
    for q in range(PAGE // 8 + 1):
        nonzero = q < PAGE // 8 and page[8 * q:8 * q + 8] != bytes(8)
        if nonzero and start is None:
            start = q
        elif not nonzero and start is not None:
            out.append((8 * start, page[8 * start:8 * q]))
            start = None
    return out


for name, units, pages, ranges in fixtures:
    for uname, regs in units:
        body = b"".join(struct.pack("<BQQ", 1, s, e) for s, e in ranges)
        for a in sorted(pages):
            for off, data in runs(pages[a]):
                body += struct.pack("<BQHH", 0, a, off, len(data)) + data
        for flags in (0, 1, 2, 2 | 32, 4 | 8 | 16):
            # bus 0, devfn 00:03.0 (the fixtures' edu), PASID 0, DID 1
            head = struct.pack("<QQQBBBIHBH", regs.get(0x20, 0), regs.get(0x08, 0), regs.get(0x10, 0), flags,
                               0, 0x18, 0, 1, 0, 0xFFFF)
            write("walk", f"{name}-{uname}-flags{flags}", head + body)

# --- decode: every layout on register values and table entries ------------
values = []
for name, units, pages, ranges in fixtures:
    for uname, regs in units:
        values += [struct.pack("<Q", v) for _, v in sorted(regs.items()) if v]
    for a in sorted(pages):
        values += [data[:64] for _, data in runs(pages[a])]
values = sorted(set(values))
for sel in range(128):  # more than there are layouts: the target takes it modulo their number
    v = values[(sel * 7) % len(values)]
    write("decode", f"layout{sel:03d}", bytes([sel]) + v.ljust(64, b"\0") + b"0x" + v[::-1].hex().encode())
write("decode", "decimal", bytes([1]) + bytes(64) + b"18446744073709551615")

# --- snapshot: scale-snapshot.py's worst case, small ---------------------
spec = importlib.util.spec_from_file_location("scale", os.path.join(root, "bench", "scale-snapshot.py"))
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)
for n in (3, 600):
    write("snapshot", f"scale-{n}", scale.build(n))

if stamp:
    with open(stamp, "w") as f:
        f.write("".join(f"{t} {len(os.listdir(os.path.join(outdir, t)))}\n" for t in sorted(os.listdir(outdir))))
