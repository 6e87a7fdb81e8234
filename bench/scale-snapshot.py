#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write a snapshot of one device with N scattered 4 KiB leaves.

    scale-snapshot.py N FILE

One unit (dmar0, the registers of iommu-snapshot(5)'s example: legacy
mode, 39-bit three-level tables), one device, 00:03.0 in domain 1, whose
tables map IOVA 0 .. N * 4 KiB page by page onto physical pages two apart,
so that no two leaves coalesce: N ranges, the worst case for every consumer
of mappings.  Written with tests/snapshot_file.py, the independent writer
made from the man page alone.  N up to 512 * 512 * 512."""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from snapshot_file import PAGE, Snapshot, Unit, dmar_table  # noqa: E402

BASE = 0xFED90000
ROOT, CONTEXT, L3 = 0x1000, 0x2000, 0x3000
L2_BASE = 0x10000       # up to 512 level-2 tables
L1_BASE = 0x400000      # level-1 tables, one per 512 leaves
PHYS_BASE = 1 << 32     # leaves: every other page from 4 GiB
RW = 0x3


def table(entries):
    """A 4 KiB table from {index: 64-bit entry}."""
    p = bytearray(PAGE)
    for i, v in entries.items():
        struct.pack_into("<Q", p, i * 8, v)
    return bytes(p)


def build(n):
    assert 0 < n <= 512 ** 3
    n_l1 = (n + 511) // 512
    n_l2 = (n_l1 + 511) // 512
    pages = {
        ROOT: table({0: CONTEXT | 1}),
        # 00:03.0: context entry 0x18 (16 bytes each), table L3, domain 1, AW 1 (39-bit)
        CONTEXT: table({0x18 * 2: L3 | 1, 0x18 * 2 + 1: (1 << 8) | 1}),
        L3: table({i: (L2_BASE + i * PAGE) | RW for i in range(n_l2)}),
    }
    for k in range(n_l2):
        first = k * 512
        pages[L2_BASE + k * PAGE] = table({i: (L1_BASE + (first + i) * PAGE) | RW
                                           for i in range(min(512, n_l1 - first))})
    leaf = struct.Struct("<Q")
    for t in range(n_l1):
        p = bytearray(PAGE)
        for i in range(min(512, n - t * 512)):
            leaf.pack_into(p, i * 8, (PHYS_BASE + (t * 512 + i) * 2 * PAGE) | RW)
        pages[L1_BASE + t * PAGE] = bytes(p)

    regs = [(0x000, 32, 0x10), (0x008, 64, 0x00D2008C22260286), (0x010, 64, 0xF42), (0x01C, 32, 0xC0000000),
            (0x020, 64, ROOT), (0x034, 32, 0), (0x220, 64, 0), (0x228, 64, 0)]
    meta = {
        "created": "2026-01-01T00:00:00Z",
        "host": "scale-bench",
        "tool": "bench/scale-snapshot.py",
        "units": [{"name": "dmar0", "address": BASE, "sysfs": None, "registers_error": None}],
        "devices": [{"bdf": "0000:00:03.0", "vendor": 0x1234, "device": 0x11E8, "class": 0xFF,
                     "name": "Device 1234:11e8", "driver": None, "group": None, "iommu": None}],
        "ram_error": None,
    }
    return Snapshot(meta, dmar=dmar_table(39, [(1, 0, BASE)]), units=[Unit("dmar0", BASE, regs)],
                    ram=[(0x1000, 0x9FFFF), (0x100000, PHYS_BASE + 2 * n * PAGE + (1 << 30) - 1)],
                    pages=pages).build()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: scale-snapshot.py N FILE")
    data = build(int(sys.argv[1]))
    with open(sys.argv[2], "wb") as f:
        f.write(data)
