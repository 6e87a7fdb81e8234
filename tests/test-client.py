#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommuctl talking to iommud: the same text and JSON whichever source
answered (the daemon on a snapshot, or the snapshot read directly; also a
generated snapshot of 100,000 ranges), a clear line when no daemon runs,
faults --follow / --clear through the daemon, and a mappings answer read
as it arrives: cut short, spaced, inconsistent or damaged, never shown as
if it were whole."""
import glob
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

CTL = os.environ["IOMMUCTL"]
DAEMON = os.environ["IOMMUD"]
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


def run(*args, timeout=60):
    p = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def start_daemon(snap, sock):
    d = subprocess.Popen([DAEMON, "--snapshot", snap, "--socket", sock, "--no-http", "--config", "/dev/null"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if os.path.exists(sock):
            return d
        if d.poll() is not None:
            break
        time.sleep(0.05)
    return d


with tempfile.TemporaryDirectory() as tmp:
    sock = os.path.join(tmp, "iommud.sock")

    rc, out, err = run("--socket", sock, "info")
    ok(rc == 1 and len(err.splitlines()) == 1 and "iommud is not running" in err and "--direct" in err,
       "no daemon: one line saying so and pointing at --direct", err)
    rc, out, err = run("--socket", sock, "--snapshot", "x", "info")
    ok(rc == 2, "--socket with --snapshot is a usage error", err)
    rc, out, err = run("--direct", "faults", "--follow")
    ok(rc == 1 and "only in iommud" in err, "faults --follow without the daemon says why", err)

    for snap in sorted(glob.glob(os.path.join(DATA, "snapshots", "*", "snapshot.iommu"))):
        mode = os.path.basename(os.path.dirname(snap))
        d = start_daemon(snap, sock)
        ok(os.path.exists(sock), f"{mode}: iommud serves the snapshot", d.stderr.read() if d.poll() is not None else "")
        try:
            cmds = [["info"], ["devices"], ["domains"], ["mappings"], ["mappings", "--device", "00:03.0"], ["mappings", "--domain", "5"],
                    ["dmar"], ["faults"]]
            for cmd in cmds:
                for fmt in ([], ["--json"], ["--pretty"]):
                    a = run("--socket", sock, *fmt, *cmd)
                    b = run("--snapshot", snap, *fmt, *cmd)
                    ok(a[0] == 0 and a == b, f"{mode}: {' '.join(fmt + cmd)}: the daemon's answer is the snapshot's",
                       f"daemon rc={a[0]} {a[2]}\n{a[1][:400]}\nsnapshot rc={b[0]} {b[2]}\n{b[1][:400]}")

            f = subprocess.Popen([CTL, "--socket", sock, "faults", "--follow"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            alive = f.poll() is None
            f.send_signal(signal.SIGINT)
            try:
                fo, fe = f.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                f.kill()
                fo, fe = f.communicate()
            ok(alive and f.returncode == 0 and fo == "" and fe == "",
               f"{mode}: faults --follow waits for events and ends quietly on Ctrl-C", f"rc={f.returncode} {fe}")
            rc, out, err = run("--socket", sock, "--json", "faults", "--clear")
            ok(rc == 0 and "cleared" in json.loads(out), f"{mode}: faults --clear as root", err)
        finally:
            d.send_signal(signal.SIGTERM)
            try:
                d.wait(timeout=10)
            except subprocess.TimeoutExpired:
                d.kill()
                d.wait()
        ok(d.returncode == 0 and not os.path.exists(sock), f"{mode}: iommud stops on SIGTERM and removes its socket",
           d.returncode)

# --- mappings of 100,000 ranges: the daemon's answer, read as it arrives, is the snapshot's --------------
spec = importlib.util.spec_from_file_location(
    "scale_snapshot", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "scale-snapshot.py"))
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)
with tempfile.TemporaryDirectory() as tmp:
    snap = os.path.join(tmp, "scale.iommu")
    sock = os.path.join(tmp, "iommud.sock")
    with open(snap, "wb") as f:
        f.write(scale.build(100000))
    d = start_daemon(snap, sock)
    try:
        for fmt in ([], ["--json"], ["--pretty"]):
            a = run("--socket", sock, *fmt, "mappings", timeout=300)
            b = run("--snapshot", snap, *fmt, "mappings", timeout=300)
            ok(a[0] == 0 and a == b and len(a[1]) > 100000 * 60,
               f"100,000 ranges: {' '.join(fmt + ['mappings'])}: the daemon's answer is the snapshot's",
               f"daemon rc={a[0]} {a[2]}\n{a[1][:400]}\nsnapshot rc={b[0]} {b[2]}\n{b[1][:400]}")
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=30)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()

# --- fault records through a stand-in daemon: one renderer in info, faults and --follow --------------
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_iommud import FakeIommud  # noqa: E402

record = {"index": 0, "bdf": "0000:00:03.0", "reason": 5, "reason_text": "Present bit in context entry is clear",
          "address": 0x12345000, "write": True, "pasid": None, "record": None}
record2 = dict(record, index=1, bdf="0000:00:04.0", write=False, pasid=0x42, reason=0x26, reason_text=None)
logged = [dict(r, time="2026-01-02T03:04:05.000006Z", time_usec=1767323045000006, unit="dmar0", source="registers")
          for r in (record, record2)]
unit = {"name": "dmar0", "fsts": {"value": 2, "fields": {"ppf": {"raw": 1}, "pfo": {"raw": 0}}},
        "faults": [record, record2], "registers_error": None}
info_unit = dict(unit, address=0xfed90000, size=4096, segment=0, version="1.0", owner="kernel")
# what each row must say, from the records themselves
want = [r"^ +0 0000:00:03\.0 write +0x12345000 +- 0x05 +Present bit in context entry is clear$",
        r"^ +1 0000:00:04\.0 read +0x12345000 +66 0x26 +unknown reason$"]

with tempfile.TemporaryDirectory() as tmp:
    fake = FakeIommud(tmp)
    try:
        sock = fake.add({"v1.faults": {"units": [unit], "log": logged}, "v1.info": {"units": [info_unit]},
                         "v1.devices": {"not": "a list"}}, logged)

        rc, out, err = run("--socket", sock, "faults")
        lines = out.splitlines()
        unit_rows = lines[2:4]
        ok(rc == 0 and lines[0] == "dmar0: pending, 2 fault record(s) held"
           and lines[1].split() == ["INDEX", "BDF", "ACCESS", "ADDRESS", "PASID", "REASON", "MEANING"]
           and all(re.match(w, row) for w, row in zip(want, unit_rows)),
           "faults: each unit's records in columns, as the records say", out + err)
        log_rows = lines[lines.index("Logged by iommud:") + 2:] if "Logged by iommud:" in lines else []
        ok(len(log_rows) == 2 and all(row.startswith("  2026-01-02T03:04:05.000006Z dmar0 ") for row in log_rows)
           and [row[2 + 35:] for row in log_rows] == [row[2:] for row in unit_rows],
           "faults: iommud's log adds TIME and UNIT to the same record columns", out)

        rc, out, err = run("--socket", sock, "info")
        rows = [line for line in out.splitlines() if line.startswith("    ")]
        ok(rc == 0 and "  faults: pending, 2 recorded" in out and rows[1:] == ["  " + row for row in unit_rows],
           "info: the unit's fault records exactly as faults shows them", out + err)

        rc, out, err = run("--socket", sock, "faults", "--follow")
        lines = out.splitlines()
        ok(rc == 1 and lines[0].split()[:3] == ["TIME", "UNIT", "INDEX"]
           and [line for line in lines[1:]] == [row[2:] for row in log_rows] and "closed the subscription" in err,
           "faults --follow: a heading, then each event as the log shows it", out + err)

        rc, out, err = run("--socket", sock, "--json", "faults", "--follow")
        events = [json.loads(line) for line in out.splitlines()[:-1]]
        ok(rc == 1 and events == logged, "faults --follow --json: one line per event, the event itself", out)

        rc, out, err = run("--socket", sock, "--pretty", "faults", "--follow")
        dec, pos, pretty = json.JSONDecoder(), 0, []
        try:
            while out[pos:].strip():
                obj, end = dec.raw_decode(out, pos)
                pretty.append(obj)
                pos = end + 1
        except ValueError as e:
            err += repr(e)
        ok(rc == 1 and pretty[:2] == logged and '\n  "index": 0,\n' in out,
           "faults --follow --pretty: each event indented", out[:600] + err)

        rc, out, err = run("--socket", sock, "faults", "--follow", "--output", "bdf,pasid")
        ok(rc == 1 and [line.split() for line in out.splitlines()] == [["BDF", "PASID"], ["0000:00:03.0", "-"],
                                                                        ["0000:00:04.0", "66"]],
           "faults --follow --output: the columns asked for", out + err)

        rc, out, err = run("--socket", sock, "devices")
        ok(rc == 1 and len(err.splitlines()) == 1 and "JSON object, not a JSON array" in err and out == "",
           "an answer of the wrong JSON type: one line saying so", out + err)
    finally:
        fake.close()

# --- a mappings answer read as it arrives, from a stand-in daemon: any bytes at all ----------------------------
def json_error(out):
    """The JSON error object on the last line of out, and what came before it."""
    head, _, last = out.rstrip("\n").rpartition("\n")
    try:
        return json.loads(last).get("error", {}), head
    except (ValueError, AttributeError):
        return {}, head


with tempfile.TemporaryDirectory() as tmp:
    snap = os.path.join(tmp, "scale.iommu")
    with open(snap, "wb") as f:
        f.write(scale.build(10000))  # more ranges than iommuctl holds in memory
    local = {tuple(fmt): run("--snapshot", snap, *fmt, "mappings")[1] for fmt in ([], ["--json"], ["--pretty"])}
    doc = json.loads(local[("--json",)])
    compact = b'{"id":1,"result":' + local[("--json",)].rstrip("\n").encode() + b"}\n"
    fake = FakeIommud(tmp)
    try:
        spaced = fake.add({"v1.mappings": json.dumps({"id": 1, "result": doc}, indent=1).replace("\n", " ").encode()
                           + b"\n"})
        for fmt in ([], ["--json"], ["--pretty"]):
            rc, out, err = run("--socket", spaced, *fmt, "mappings")
            ok(rc == 0 and out == local[tuple(fmt)],
               f"mappings{' ' + fmt[0] if fmt else ''}: an answer with blanks between its tokens gives the same "
               "bytes as the snapshot", f"rc={rc} {err}\n{out[:300]}")

        cut = fake.add({"v1.mappings": compact[:len(compact) // 2]})
        for fmt in ([], ["--json"], ["--pretty"]):
            rc, out, err = run("--socket", cut, *fmt, "mappings")
            e, head = json_error(out) if fmt else ({}, out)
            ok(rc == 1 and err.count("\n") == 1 and "closed the connection mid-answer" in err
               and (not fmt or (e.get("status") == 1 and local[tuple(fmt)].startswith(head) and len(head) > 1000))
               and (fmt or (local[()].startswith(out) and out.endswith("\n"))),
               f"mappings{' ' + fmt[0] if fmt else ''}: an answer cut short is one error line and exit 1, "
               "what came before it as it was", f"rc={rc} {err}\n{out[-300:]}")

        target = dict(doc[0], bdf="0000:00:05.0", root=0x7000, same_tables_as="0000:00:03.0")
        liar = fake.add({"v1.mappings": json.dumps({"id": 1, "result": [target]}).encode() + b"\n"})
        rc, out, err = run("--socket", liar, "mappings")
        ok(rc == 1 and err.count("\n") == 1 and "shares the tables of 0000:00:03.0, which no target before it had" in err,
           "mappings: a target naming shared tables no earlier target had, after its ranges went out: one line",
           f"rc={rc} {err}")

        target = dict(doc[0], ranges=doc[0]["ranges"][:5] + [{k: v for k, v in doc[0]["ranges"][5].items()
                                                               if k != "phys"}])
        broken = fake.add({"v1.mappings": json.dumps({"id": 1, "result": [target]}).encode() + b"\n"})
        rc, out, err = run("--socket", broken, "mappings")
        ok(rc == 1 and err.count("\n") == 1 and "range without every field" in err,
           "mappings: a range that lacks a field is one error line", f"rc={rc} {err}")

        for body, want in ((b'{"id":1,"result":[{"bdf":"x","ranges":[]} {"bdf":"y"}]}\n', "not JSON (at byte 42)"),
                           (b'{"id":1,"error":{"code":22,"message":"no such device"}}\n', "no such device"),
                           (b'{"id":1,"result":{"a":1}}\n', "answered v1.mappings with a JSON object, not a JSON array"),
                           (b'[1]\n', "not a JSON object"),
                           (b'{"id":1}\n', "neither result nor error"),
                           (b'{"id":1,"result":[' + b"[" * 100 + b"]" * 100 + b"]}\n", "nested deeper than")):
            sock = fake.add({"v1.mappings": body})
            for fmt in ([], ["--json"]):
                rc, out, err = run("--socket", sock, *fmt, "mappings")
                e, head = json_error(out) if fmt else ({}, "")
                ok(rc == 1 and err.count("\n") == 1 and want in err and (not fmt or (want in e.get("message", ""))),
                   f"mappings{' ' + fmt[0] if fmt else ''}: {body[:40]!r}...: one line naming it", f"rc={rc} {err}{out}")
    finally:
        fake.close()

print(f"1..{n}")
sys.exit(1 if failures else 0)
