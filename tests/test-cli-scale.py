#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommuctl mappings at scale (issue 9), checked against what the snapshots
were built to hold, not against iommuctl itself.

bench/scale-snapshot.py writes one device, 00:03.0 in domain 1, whose tables
map IOVA i * 4 KiB onto 4 GiB + i * 8 KiB, read-write, 4 KiB pages, for i
below N: N ranges.  With N = 20,000 and 200,000, read directly and through
iommud --snapshot: the JSON is those ranges (Python's parser), and is what
Python's own compact writer makes of them, byte for byte; the text is those
rows in the range columns, also with --output; iommud's answer gives the
same bytes, in JSON, pretty JSON and text.  Two devices sharing one tree of
more ranges than iommuctl holds in memory while it reads iommud's answer
(the second's heading names the first, after its ranges in the answer).
A reader that goes away (| head) ends iommuctl at once with one line and
exit 1.  Not timed: the machine may be loaded."""
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

CTL = os.environ["IOMMUCTL"]
DAEMON = os.environ["IOMMUD"]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
spec = importlib.util.spec_from_file_location("scale_snapshot", os.path.join(HERE, "..", "bench", "scale-snapshot.py"))
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)
from snapshot_file import PAGE, Snapshot, Unit, dmar_table  # noqa: E402

n = failures = 0


def ok(cond, what, detail=""):
    global n, failures
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        failures += 1
        for line in str(detail).splitlines()[:30]:
            print(f"# {line}")


def run(*args, timeout=300):
    p = subprocess.run([CTL, *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def want_range(i):
    return {"iova": i * PAGE, "phys": (1 << 32) + i * 2 * PAGE, "length": PAGE, "read": True, "write": True,
            "execute": False, "page_size": PAGE}


def first_difference(got, count):
    """The first range that is not what the generator wrote, or None."""
    if len(got) != count:
        return f"{len(got)} ranges, not {count}"
    for i, r in enumerate(got):
        if r != want_range(i):
            return f"range {i}: {r}, not {want_range(i)}"
    return None


HEADING = "0000:00:03.0  dmar0 domain 1  multi-level  39-bit, 3 levels  root 0x3000"
# the range columns as iommuctl(8) lists them: name, width (0: the last), right-aligned
COLUMNS = {"IOVA": (18, False), "PHYSICAL": (18, False), "LENGTH": (10, True), "PERM": (3, False),
           "PAGE": (5, True)}


def cell(name, i):
    r = want_range(i)
    return {"IOVA": "0x%016x" % r["iova"], "PHYSICAL": "0x%016x" % r["phys"], "LENGTH": "0x%x" % r["length"],
            "PERM": "rw-", "PAGE": "4K"}[name]


def line(names, value):
    cells = []
    for k, name in enumerate(names):
        width, right = COLUMNS[name]
        text = value(name)
        cells.append(text if k == len(names) - 1 else text.rjust(width) if right else text.ljust(width))
    return "  " + "  ".join(cells)


def want_text(count, names=("IOVA", "PHYSICAL", "LENGTH", "PERM", "PAGE"), heading=HEADING):
    rows = [line(names, lambda c: c)] + [line(names, lambda c, i=i: cell(c, i)) for i in range(count)]
    return heading + "\n" + "\n".join(rows) + "\n"


def start_daemon(snap, sock):
    d = subprocess.Popen([DAEMON, "--snapshot", snap, "--socket", sock, "--no-http", "--config", "/dev/null"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        if os.path.exists(sock) or d.poll() is not None:
            break
        time.sleep(0.05)
    return d


def stop_daemon(d):
    d.terminate()
    try:
        d.wait(timeout=30)
    except subprocess.TimeoutExpired:
        d.kill()
        d.wait()


def build_shared(count):
    """scale-snapshot.py's tables, reached from two devices: 00:03.0 and
    00:04.0 both in domain 1 with the same level-3 table."""
    t = scale.table
    n_l1 = (count + 511) // 512
    pages = {
        scale.ROOT: t({0: scale.CONTEXT | 1}),
        scale.CONTEXT: t({0x18 * 2: scale.L3 | 1, 0x18 * 2 + 1: (1 << 8) | 1,
                          0x20 * 2: scale.L3 | 1, 0x20 * 2 + 1: (1 << 8) | 1}),
        scale.L3: t({0: scale.L2_BASE | scale.RW}),
        scale.L2_BASE: t({i: (scale.L1_BASE + i * PAGE) | scale.RW for i in range(n_l1)}),
    }
    for k in range(n_l1):
        p = bytearray(PAGE)
        for i in range(min(512, count - k * 512)):
            struct.pack_into("<Q", p, i * 8, (scale.PHYS_BASE + (k * 512 + i) * 2 * PAGE) | scale.RW)
        pages[scale.L1_BASE + k * PAGE] = bytes(p)
    regs = [(0x000, 32, 0x10), (0x008, 64, 0x00D2008C22260286), (0x010, 64, 0xF42), (0x01C, 32, 0xC0000000),
            (0x020, 64, scale.ROOT), (0x034, 32, 0), (0x220, 64, 0), (0x228, 64, 0)]
    device = {"vendor": 0x1234, "device": 0x11E8, "class": 0xFF, "name": "Device 1234:11e8", "driver": None,
              "group": None, "iommu": None}
    meta = {"created": "2026-01-01T00:00:00Z", "host": "scale-shared", "tool": "tests/test-cli-scale.py",
            "units": [{"name": "dmar0", "address": scale.BASE, "sysfs": None, "registers_error": None}],
            "devices": [dict(device, bdf="0000:00:03.0"), dict(device, bdf="0000:00:04.0")], "ram_error": None}
    return Snapshot(meta, dmar=dmar_table(39, [(1, 0, scale.BASE)]), units=[Unit("dmar0", scale.BASE, regs)],
                    ram=[(0x1000, 0x9FFFF), (0x100000, scale.PHYS_BASE + 2 * count * PAGE + (1 << 30) - 1)],
                    pages=pages).build()


def cut_off_reader(args, fmt_text):
    """Read a little of the output, then close the pipe: (rc, stderr, what was read, seconds)."""
    start = time.monotonic()
    p = subprocess.Popen([CTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.readline() if fmt_text else p.stdout.read(4096)
    p.stdout.close()
    try:
        err = p.stderr.read().decode(errors="replace")
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None, "no end within 120 s", first, time.monotonic() - start
    return rc, err, first, time.monotonic() - start


with tempfile.TemporaryDirectory() as tmp:
    texts = {}
    for count in (20000, 200000):
        snap = os.path.join(tmp, f"scale-{count}.iommu")
        with open(snap, "wb") as f:
            f.write(scale.build(count))

        rc, out, err = run("--snapshot", snap, "--json", "mappings")
        try:
            doc = json.loads(out)
        except ValueError as e:
            doc = []
            err += f"not JSON: {e}"
        m = doc[0] if len(doc) == 1 and isinstance(doc[0], dict) else {}
        ok(rc == 0 and len(doc) == 1 and m.get("bdf") == "0000:00:03.0" and m.get("domain") == 1
           and m.get("translation") == "multi-level" and m.get("address_width") == 39 and m.get("levels") == 3
           and m.get("root") == scale.L3 and m.get("anomalies") == [],
           f"{count}: --json mappings: one target, 00:03.0 in domain 1 with its 39-bit tables", err + str(m)[:400])
        bad = first_difference(m.get("ranges", []), count)
        ok(bad is None, f"{count}: --json mappings: every range as the generator wrote it", bad)
        ok(out == json.dumps(doc, separators=(",", ":")).encode() + b"\n",
           f"{count}: --json mappings is Python's compact JSON of the same document, byte for byte, and a newline",
           out[:200])

        rc, pretty, err = run("--snapshot", snap, "--pretty", "mappings")
        ok(rc == 0 and json.loads(pretty) == doc and pretty.startswith(b'[\n  {\n    "bdf": "0000:00:03.0",\n'),
           f"{count}: --pretty mappings: the same document, indented", pretty[:200])

        rc, out, err = run("--snapshot", snap, "mappings")
        text = out.decode()
        ok(rc == 0 and text == want_text(count), f"{count}: mappings: the heading, then every range in its row",
           text[:400] + err)
        texts[count] = text

        names = ["PAGE", "LENGTH", "PHYSICAL", "IOVA", "PERM"]
        rc, out, err = run("--snapshot", snap, "mappings", "--output", ",".join(n.lower() for n in names))
        ok(rc == 0 and out.decode() == want_text(count, names),
           f"{count}: mappings --output=page,length,phys,iova,perm: those columns in that order", out[:400] + err.encode())

    # --- through iommud: the same bytes ---------------------------------------------------------------------
    snap = os.path.join(tmp, "scale-200000.iommu")
    sock = os.path.join(tmp, "iommud.sock")
    d = start_daemon(snap, sock)
    try:
        ok(os.path.exists(sock), "iommud serves the 200,000-range snapshot")
        for args in (["--json", "mappings"], ["--pretty", "mappings"], ["mappings"],
                     ["mappings", "--output", "perm,iova"], ["mappings", "--device", "00:03.0", "--domain", "1"],
                     ["--json", "mappings", "--device", "00:04.0"], ["mappings", "--pasid", "3"]):
            a = run("--socket", sock, *args)
            b = run("--snapshot", snap, *args)
            ok(a[0] == 0 and a == b, f"200000: {' '.join(args)}: iommud's answer gives the snapshot's own bytes",
               f"daemon rc={a[0]} {a[2]} {a[1][:200]}\nsnapshot rc={b[0]} {b[2]} {b[1][:200]}")

        # --- a reader that goes away ----------------------------------------------------------------------
        for source in (["--snapshot", snap], ["--socket", sock]):
            for fmt in ([], ["--json"], ["--pretty"]):
                rc, err, first, secs = cut_off_reader([*source, *fmt, "mappings"], not fmt)
                what = " ".join([source[0], *fmt, "mappings"]) + ", its reader gone after a little"
                ok(rc == 1 and err == "iommuctl: Failed to write output: Broken pipe\n" and len(first) > 0,
                   f"{what}: one line, exit 1", f"rc={rc} {err!r} after {secs:.1f} s")
        p = subprocess.run(["bash", "-c", f'"$0" --snapshot "$1" mappings | head -1; echo "${{PIPESTATUS[0]}}"',
                            CTL, snap], capture_output=True, text=True, timeout=120)
        ok(p.stdout == HEADING + "\n1\n" and p.stderr == "iommuctl: Failed to write output: Broken pipe\n",
           "mappings | head -1: the heading, then one line and exit 1", p.stdout[:300] + p.stderr)
    finally:
        stop_daemon(d)

    # --- two devices on one tree of more ranges than iommuctl holds while reading iommud ----------------------
    count = 9000
    snap = os.path.join(tmp, "shared.iommu")
    with open(snap, "wb") as f:
        f.write(build_shared(count))
    rc, out, err = run("--snapshot", snap, "--json", "mappings")
    doc = json.loads(out) if rc == 0 else []
    ok(rc == 0 and [m.get("bdf") for m in doc] == ["0000:00:03.0", "0000:00:04.0"]
       and "same_tables_as" not in doc[0] and doc[1].get("same_tables_as") == "0000:00:03.0"
       and first_difference(doc[0]["ranges"], count) is None and first_difference(doc[1]["ranges"], count) is None,
       f"shared tables: both devices list the {count} ranges, the second names the first", err + str(doc)[:300])
    rc, out, err = run("--snapshot", snap, "mappings")
    shared_heading = HEADING.replace("0000:00:03.0", "0000:00:04.0") + "  (tables shared with 0000:00:03.0)"
    ok(rc == 0 and out.decode() == want_text(count) + "\n" + want_text(count, heading=shared_heading),
       "shared tables: text, the second heading names the first", out[:300] + err.encode())
    d = start_daemon(snap, sock)
    try:
        for args in (["mappings"], ["--json", "mappings"], ["--pretty", "mappings"], ["mappings", "--output", "page"]):
            a = run("--socket", sock, *args)
            b = run("--snapshot", snap, *args)
            ok(a[0] == 0 and a == b, f"shared tables: {' '.join(args)}: iommud's answer gives the snapshot's bytes",
               f"daemon rc={a[0]} {a[2]} {a[1][:300]}\nsnapshot rc={b[0]} {b[2]} {b[1][:300]}")
    finally:
        stop_daemon(d)

print(f"1..{n}")
sys.exit(1 if failures else 0)
