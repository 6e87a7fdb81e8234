#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommuctl never crashes and never hangs, whatever bytes it is given.

With a fixed seed: random byte mutants of the real DMAR tables through
`dmar --file` (text and JSON), and snapshot fixtures with bytes changed
inside one section and every CRC recomputed (iommu-snapshot(5): the section's
CRC, the section table's, the header's), so the contents pass the reader's
checks and reach the walker and the renderers, through every read command in
text and JSON.  Then the shapes a META, or an iommud of another version,
could have (members missing, null, of another type): known META cases,
and every read method's answer and fault events reshaped at random, sent
by a stand-in daemon (fake_iommud.py) to the text renderers.  Every run
must end by itself with exit 0 or 1: no signal, no sanitizer report, no
time-out.  A JSON run that succeeds prints JSON; one that fails prints one
line on stderr.

MUTANTS_KEEP=DIR keeps the files of failing mutants for a closer look;
MUTANTS_SEED=N explores other mutants."""
import concurrent.futures
import glob
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_iommud import FakeIommud  # noqa: E402

CTL = os.environ["IOMMUCTL"]
DATA = os.environ["TESTDATA"]
KEEP = os.environ.get("MUTANTS_KEEP")
SEED = int(os.environ.get("MUTANTS_SEED", "8"))  # fixed unless asked; 8: the issue
DMAR_MUTANTS = 300
SNAPSHOT_MUTANTS = 150
DAEMON_MUTANTS = 90
FOLLOW_MUTANTS = 10
TIMEOUT = 30  # seconds per process; far above any honest run, even under ASan
READ_COMMANDS = ["info", "devices", "domains", "mappings", "faults", "dmar"]
LISTINGS = ["devices", "domains", "mappings", "faults"]
SECTIONS = {1: "META", 2: "DMAR", 3: "UNITS", 4: "RAM", 5: "PAGE_INDEX", 6: "PAGES"}
# META feeds the most consumers (units, devices, errors), PAGES the walker;
# the strict reader refuses most changes to DMAR, UNITS, RAM and the index
SECTION_WEIGHT = {"META": 3, "DMAR": 1, "UNITS": 1, "RAM": 1, "PAGE_INDEX": 1, "PAGES": 6}

# A sanitizer report is a failure even where it would exit 1; leak checks
# cost most of an ASan run's time and are not what this test is about.
ENV = dict(os.environ,
           ASAN_OPTIONS="abort_on_error=1:detect_leaks=0",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1")

n = failures = 0


def ok(cond, what, detail=""):
    global n, failures
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1
        for line in str(detail).splitlines()[:40]:
            print(f"# {line}")


def run(args):
    """(verdict, rc): verdict is None when the run ended as it should."""
    try:
        p = subprocess.run([CTL, *args], capture_output=True, timeout=TIMEOUT, env=ENV)
    except subprocess.TimeoutExpired:
        return f"hung (no exit within {TIMEOUT} s): {' '.join(args)}", None
    err = p.stderr.decode(errors="replace")
    out = p.stdout.decode(errors="replace")
    what = " ".join(args)
    if p.returncode < 0:
        return f"killed by signal {-p.returncode}: {what}\n{err[-2000:]}", p.returncode
    if "Sanitizer" in err or "runtime error:" in err:
        return f"sanitizer report: {what}\n{err[-2000:]}", p.returncode
    if p.returncode not in (0, 1):
        return f"exit {p.returncode}: {what}\n{err[-500:]}", p.returncode
    if p.returncode == 1:
        lines = err.splitlines()
        if len(lines) != 1 or not lines[0].startswith("iommuctl: "):
            return f"exit 1 without one error line: {what}\n{err[-500:]}", 1
    elif "--json" in args:
        try:
            json.loads(out)
        except ValueError as e:
            return f"exit 0 but stdout is not JSON ({e}): {what}\n{out[:300]}", 0
    return None, p.returncode


def interesting_byte(rng):
    return rng.choice([rng.randrange(256), rng.randrange(256), 0x00, 0xff, rng.randrange(9), 0x80])


def mutate(rng, data, lo, hi, text=False):
    """Change 1 to 8 bytes in data[lo:hi]; in JSON text, mostly letters for
    letters and digits for digits, so that many mutants still parse and
    reach the consumers with renamed keys and changed values."""
    b = bytearray(data)
    changes = []
    for _ in range(rng.choice([1, 1, 2, 3, 4, 8])):
        at = rng.randrange(lo, hi)
        old = b[at]
        if text and rng.random() < 0.8 and chr(old).isalnum():
            pool = "0123456789" if chr(old).isdigit() else "abcdefghijklmnopqrstuvwxyz"
            if rng.random() < 0.2:
                pool = '0123456789"nt[]{},:'
            b[at] = ord(rng.choice(pool))
        else:
            b[at] = interesting_byte(rng)
        changes.append((at, old, b[at]))
    return bytes(b), changes


WRONG_TYPES = [None, 0, -1, 2**64 - 1, "", "x", [], {}, True, [None], {"": 0}]


def mutate_shape(rng, value):
    """value with one member somewhere inside gone, null or of another
    type: the shapes a model of another version, or a damaged one, has."""
    root = {"": json.loads(json.dumps(value))}
    node, key, what = root, "", "result"
    while True:
        child = node[key]
        keys = list(child.keys()) if isinstance(child, dict) else \
            list(range(len(child))) if isinstance(child, list) else []
        if keys and rng.random() < (0.95 if node is root else 0.8):
            node, key = child, rng.choice(keys)
            what += f".{key}"
            continue
        break
    if isinstance(node, dict) and node is not root and rng.random() < 0.3:
        del node[key]
        what += " removed"
    else:
        node[key] = rng.choice([t for t in WRONG_TYPES if t != node[key]])
        what += f" = {json.dumps(node[key])}"
    return root[""], what


def mutate_json(rng, data, lo, hi):
    """META is JSON: besides random bytes, its bytes are changed to the
    same object reshaped by mutate_shape(), padded with blanks to the
    section's length, so that it still parses and reaches its consumers."""
    meta = json.loads(data[lo:hi])
    for _ in range(20):
        m, what = mutate_shape(rng, meta)
        text = json.dumps(m, separators=(",", ":")).encode()
        if isinstance(m, dict) and m != meta and len(text) <= hi - lo:
            return data[:lo] + text.ljust(hi - lo) + data[hi:], [what.replace("result", "meta", 1)]
    return mutate(rng, data, lo, hi, text=True)


def reseal(b):
    """Recompute every CRC of a snapshot as iommu-snapshot(5) defines them."""
    b = bytearray(b)
    _, _, _, hsize, _, count, esize, table = struct.unpack_from("<8s6IQ", b)
    for i in range(count):
        e = table + i * esize
        _, _, off, length = struct.unpack_from("<2I2Q", b, e)
        struct.pack_into("<I", b, e + 4, zlib.crc32(b[off:off + length]))
    struct.pack_into("<I", b, 48, zlib.crc32(b[table:table + count * esize]))
    struct.pack_into("<I", b, 52, 0)
    struct.pack_into("<I", b, 52, zlib.crc32(b[:hsize]))
    return bytes(b)


def sections(b):
    _, _, _, _, _, count, esize, table = struct.unpack_from("<8s6IQ", b)
    out = []
    for i in range(count):
        t, _, off, length = struct.unpack_from("<2I2Q", b, table + i * esize)
        out.append((SECTIONS.get(t, str(t)), off, length))
    return out


def columns_of(listing):
    p = subprocess.run([CTL, listing, "--output=help"], capture_output=True, text=True, env=ENV)
    return re.findall(r"^  (\S+) ", p.stdout, re.M)


def daemon_models(snapshot):
    """Every read method's answer on a fixture, as iommud would give it,
    with fault records and a log added (the fixtures hold none)."""
    models = {}
    for cmd in READ_COMMANDS:
        p = subprocess.run([CTL, "--snapshot", snapshot, "--json", cmd], capture_output=True, text=True, env=ENV)
        models[f"v1.{cmd}"] = json.loads(p.stdout)
    p = subprocess.run([CTL, "--json", "decode", "frcd", "0x80000005000000180000000012345000"],
                       capture_output=True, text=True, env=ENV)
    record = {"index": 0, "bdf": "0000:00:03.0", "reason": 5, "reason_text": "Present bit in context entry is clear",
              "address": 0x12345000, "write": True, "pasid": None, "record": json.loads(p.stdout)}
    records = [record, dict(record, index=1, write=False, pasid=0x42, reason=0xff, reason_text=None)]
    logged = [dict(r, time="2026-01-02T03:04:05.000006Z", time_usec=1767323045000006, unit="dmar0",
                   source="registers") for r in records]
    logged.append(dict(logged[0], index=None, record=None, source="kernel-log"))
    for u in models["v1.info"]["units"]:
        u["faults"] = records
    for u in models["v1.faults"]["units"]:
        u["faults"] = records
    models["v1.faults"]["log"] = logged
    return models


def keep(name, data):
    if KEEP:
        os.makedirs(KEEP, exist_ok=True)
        open(os.path.join(KEEP, name), "wb").write(data)


rng = random.Random(SEED)
tables = sorted(glob.glob(os.path.join(DATA, "dmar", "*.bin")))
fixtures = sorted(glob.glob(os.path.join(DATA, "snapshots", "*", "snapshot.iommu")))
ok(len(tables) == 36 and len(fixtures) == 4, "the corpus: 36 real DMAR tables, 4 snapshot fixtures",
   f"{len(tables)} tables, {len(fixtures)} snapshots")

# The resealing is right: an unchanged fixture resealed is the same file.
for f in fixtures:
    data = open(f, "rb").read()
    ok(reseal(data) == data, f"{os.path.basename(os.path.dirname(f))}: CRCs recomputed as the file has them")

with tempfile.TemporaryDirectory() as tmp, \
        concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
    # Build every mutant first, in one sequence of the generator.
    jobs = []  # (name, the mutant or its file, description, [args...] per run)
    for i in range(DMAR_MUTANTS):
        src = rng.choice(tables)
        data = open(src, "rb").read()
        # the 36-byte ACPI header and 12 DMAR bytes are decoded too, but
        # most mutants should land in the structures
        lo = 0 if rng.random() < 0.15 else min(48, len(data) - 1)
        mutant, changes = mutate(rng, data, lo, len(data))
        if rng.random() < 0.1:
            mutant = mutant[:rng.randrange(len(mutant))]
            changes.append(("truncated to", len(mutant)))
        name = f"dmar-{i:03d}.bin"
        path = os.path.join(tmp, name)
        open(path, "wb").write(mutant)
        jobs.append((name, path, f"{os.path.basename(src)} {changes}",
                     [["dmar", "--file", path], ["--json", "dmar", "--file", path]]))
    for i in range(SNAPSHOT_MUTANTS):
        src = rng.choice(fixtures)
        data = open(src, "rb").read()
        candidates = [s for s in sections(data) if s[2] > 0]
        sect, off, length = rng.choices(candidates, [SECTION_WEIGHT[s[0]] for s in candidates])[0]
        if sect == "META" and rng.random() < 0.7:
            mutant, changes = mutate_json(rng, data, off, off + length)
        else:
            mutant, changes = mutate(rng, data, off, off + length, text=sect == "META")
            changes = [(hex(a), hex(o), hex(v)) for a, o, v in changes]
        mutant = reseal(mutant)
        name = f"snapshot-{i:03d}.iommu"
        path = os.path.join(tmp, name)
        open(path, "wb").write(mutant)
        runs = [[*fmt, "--snapshot", path, cmd] for cmd in READ_COMMANDS for fmt in ([], ["--json"])]
        jobs.append((name, path, f"{os.path.basename(os.path.dirname(src))} {sect} {changes}", runs))

    # The shapes of META known to have crashed, every time.
    for i, (edit, what) in enumerate([(lambda m: m.pop("units"), "meta.units removed"),
                                      (lambda m: m.update(units=None), "meta.units = null"),
                                      (lambda m: m.update(units={}), "meta.units = {}"),
                                      (lambda m: m.update(units=[0, None, {"name": 5, "sysfs": []}]),
                                       "meta.units = [0, null, {name: 5, sysfs: []}]"),
                                      (lambda m: m.update(devices=[0, "x", None, []]), "meta.devices = [0, ...]"),
                                      (lambda m: m.pop("devices"), "meta.devices removed")]):
        data = open(fixtures[0], "rb").read()
        _, off, length = [x for x in sections(data) if x[0] == "META"][0]
        meta = json.loads(data[off:off + length])
        edit(meta)
        text = json.dumps(meta, separators=(",", ":")).encode()
        mutant = reseal(data[:off] + text.ljust(length) + data[off + length:])
        name = f"meta-{i}.iommu"
        path = os.path.join(tmp, name)
        open(path, "wb").write(mutant)
        runs = [[*fmt, "--snapshot", path, cmd] for cmd in READ_COMMANDS for fmt in ([], ["--json"])]
        jobs.append((name, path, what, runs))

    # What a daemon of another version could send: every read method's
    # answer, and fault events, reshaped, through a stand-in iommud.
    fake = FakeIommud(tmp)
    models = [daemon_models(f) for f in fixtures]
    for i in range(DAEMON_MUTANTS):
        cmd = READ_COMMANDS[i % len(READ_COMMANDS)]
        method = f"v1.{cmd}"
        answer, what = mutate_shape(rng, rng.choice(models)[method])
        path = fake.add({method: answer})
        runs = [["--socket", path, cmd]]
        if cmd in LISTINGS:  # every column's formatter, not only the default ones
            runs.append(["--socket", path, cmd, "--output", ",".join(columns_of(cmd))])
        jobs.append((f"daemon-{i:03d}", json.dumps(answer).encode(), f"{method}: {what}", runs))
    for i in range(FOLLOW_MUTANTS):
        log = rng.choice(models)["v1.faults"]["log"]
        events = [mutate_shape(rng, e) for e in log]
        path = fake.add({}, [e for e, _ in events])
        runs = [["--socket", path, "faults", "--follow"], ["--socket", path, "--pretty", "faults", "--follow"],
                ["--socket", path, "faults", "--follow", "--output", ",".join(columns_of("faults"))]]
        jobs.append((f"follow-{i:03d}", json.dumps([e for e, _ in events]).encode(),
                     "events: " + "; ".join(w for _, w in events), runs))

    futures = [[pool.submit(run, args) for args in runs] for _, _, _, runs in jobs]
    reached = {"dmar": 0, "snapshot": 0, "meta": 0, "daemon": 0, "follow": 0}
    for (name, data, desc, runs), fs in zip(jobs, futures):
        results = [f.result() for f in fs]
        bad = [v for v, _ in results if v]
        if any(rc == 0 for _, rc in results):
            reached[name.split("-")[0]] += 1
        if bad:
            keep(name, data if isinstance(data, bytes) else open(data, "rb").read())
        ok(not bad, f"{name}: {len(runs)} runs end cleanly", f"mutant: {desc}\n" + "\n".join(bad))

    # The mutants must reach the decoders, the walker and the renderers,
    # not only the checks in front of them: many still get an answer.
    ok(reached["dmar"] >= DMAR_MUTANTS // 3,
       f"at least a third of the DMAR mutants decode ({reached['dmar']} of {DMAR_MUTANTS})")
    ok(reached["snapshot"] >= SNAPSHOT_MUTANTS // 2,
       "at least half of the snapshot mutants pass the reader's checks and are answered "
       f"({reached['snapshot']} of {SNAPSHOT_MUTANTS})")
    fake.close()

print(f"1..{n}")
sys.exit(1 if failures else 0)
