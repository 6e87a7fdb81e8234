#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every fuzz target's seeds and kept regression inputs, once each.

    run-inputs.py TARGETS_TXT SOURCE_ROOT BUILD_DIR [--libfuzzer]

One TAP line per target: its binary (tests/fuzz/fuzz-TARGET, the libFuzzer
one or the driver) given every input file must exit 0.  A crash names the
input it was running (the driver's "Running: FILE" lines, libFuzzer's own).

fuzz-snapshot's mutator is checked too (with the driver only): its mutants
of the seeds must, most of them, have every CRC right, as iommu-snapshot(5)
defines them and zlib computes them here.
"""
import glob
import os
import struct
import subprocess
import sys
import tempfile
import zlib

targets_txt, source_root, build_dir = sys.argv[1:4]
libfuzzer = "--libfuzzer" in sys.argv[4:]
MUTANTS = 16  # per seed


def snapshot_crcs_right(data):
    """Header, section table and every section CRC as the page defines them."""
    try:
        if data[:8] != b"IOMMUSNP":
            return False
        header = bytearray(data[:64])
        want = struct.unpack_from("<I", header, 52)[0]
        header[52:56] = bytes(4)
        if zlib.crc32(bytes(header)) != want:
            return False
        n, entry_size, table = struct.unpack_from("<IIQ", data, 24)
        entries = data[table:table + n * entry_size]
        if len(entries) != n * entry_size or zlib.crc32(entries) != struct.unpack_from("<I", data, 48)[0]:
            return False
        for i in range(n):
            _, crc, off, length = struct.unpack_from("<IIQQ", entries, i * entry_size)
            if off + length > len(data) or zlib.crc32(data[off:off + length]) != crc:
                return False
        return True
    except struct.error:
        return False


MUTANT_CHECKS = {"snapshot": snapshot_crcs_right}


def targets():
    for line in open(targets_txt):
        line = line.split("#", 1)[0].split()
        if line:
            yield line[0], [w for w in line[1:] if not w.startswith("-")]


def inputs(name, patterns):
    files = []
    for p in patterns:
        base = os.path.join(build_dir, "seeds") if p.startswith("generated/") else source_root
        path = os.path.join(base, p[len("generated/"):] if p.startswith("generated/") else p)
        for g in sorted(glob.glob(path)):
            files += [os.path.join(g, f) for f in sorted(os.listdir(g))] if os.path.isdir(g) else [g]
    seeds = len(files)
    reg = os.path.join(source_root, "tests", "fuzz", "regressions", name)
    if os.path.isdir(reg):
        files += [os.path.join(reg, f) for f in sorted(os.listdir(reg))]
    return files, seeds


rows = list(targets())
print(f"1..{len(rows)}")
failed = 0
for i, (name, patterns) in enumerate(rows, 1):
    exe = os.path.join(build_dir, "fuzz-" + name)
    files, seeds = inputs(name, patterns)
    if seeds == 0:
        print(f"not ok {i} - {name}: no seeds in {' '.join(patterns)}")
        failed += 1
        continue
    check = None if libfuzzer else MUTANT_CHECKS.get(name)
    with tempfile.TemporaryDirectory() as mutant_dir:
        args = ["--mutants", str(MUTANTS), mutant_dir] if check else []
        p = subprocess.run([exe] + args + files, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, errors="replace")
        mutants = [open(os.path.join(mutant_dir, f), "rb").read() for f in sorted(os.listdir(mutant_dir))]
    regressions = len(files) - seeds
    what = f"{seeds} seeds, {regressions} regression inputs"
    if p.returncode != 0:
        failed += 1
        print(f"not ok {i} - {name}: exit status {p.returncode} on {what}")
        for line in p.stderr.splitlines()[-40:]:
            print("# " + line)
        continue
    if check:
        originals = {open(f, "rb").read() for f in files}
        right = sum(1 for m in mutants if check(m) and m not in originals)
        what += f", {len(mutants)} mutants of which {right} changed with every CRC right"
        if len(mutants) != MUTANTS * len(files) or right * 4 < len(mutants) * 3:
            failed += 1
            print(f"not ok {i} - {name}: {what} (expected {MUTANTS} per input, 3/4 of them so)")
            continue
    print(f"ok {i} - {name}: {what}")
sys.exit(1 if failed else 0)
