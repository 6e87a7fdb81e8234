#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kill -9 anywhere in a change, then a restart: iommud --simulate legacy
and scalable (every other trial) on a machine kept in a file (--simulated-machine), so that the unit and its
table memory outlive the process as a real machine's do, under a churn of
attach/detach/map/unmap (and buffers), killed with SIGKILL at 100 random
points (a random change in flight, after a random delay).  After each kill
the state file is whole (this test's own reader: header, zlib's CRC-32,
JSON) and is the state before the interrupted change or after it, never a
mix; a new iommud on the same machine and state then takes the unit back,
not degraded, and the state it keeps is still that one, and the tables the
unit walks (read from the machine file by this test's own walker, from
the RTADDR the unit reports) are byte for byte those a reference run had
in that state; the next change then works as it did in the reference run.
The states and tables before and after each change come from a reference
run of the same sequence, read after each answer."""
import importlib.util
import json
import os
import random
import re
import shutil
import struct
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("harness", os.path.join(HERE, "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

t = h.Tap()
ok = t.ok
CONFIG = "[Daemon]\nFaultIntervalSec=0\nAdminGroup=\n"
DEVICES = ("00:00.0", "00:01.0", "00:03.0", "00:1f.0", "00:1f.2", "00:1f.3")
DOMAINS = (5, 6, 7)
CHANGES = 120
TRIALS = 100

# the machine file (model/system.h): RAM from 0x20000000 at this offset
TABLE_BASE = 0x20000000
TABLE_END = 0x30000000
RAM_OFFSET = 0x100000
ADDR = ((1 << 52) - 1) & ~0xfff


def read_state(path):
    """The body, or why the file is not whole."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return None, str(e)
    header, _, body = data.partition(b"\n")
    fields = header.split(b" ")
    if len(fields) != 4 or fields[0] != b"iommud-control-state" or fields[1] != b"1":
        return None, f"header {header[:80]!r}"
    if int(fields[2]) != len(body) or int(fields[3], 16) != zlib.crc32(body) or not body.endswith(b"\n"):
        return None, "length or CRC-32 wrong"
    return json.loads(body), None


def content(state):
    """What a state says, without its serial (a restart saves it again, one
    up) or the random part of buffer file names; no state: no unit."""
    if state is None:
        return {"units": []}
    s = json.loads(json.dumps(state))
    s.pop("serial", None)
    for u in s["units"]:
        for b in u["buffers"]:
            b["path"] = re.sub(r"-[A-Za-z0-9]{6}$", "", os.path.basename(b["path"]))
    return s


def tables(machine, rtaddr, mode):
    """Every page of the tables the unit reaches from rtaddr (legacy or
    scalable mode), read from the machine file: {physical address: its 4
    KiB}."""
    pages = {}
    with open(machine, "rb") as f:
        def page(pa):
            if pa not in pages:
                assert TABLE_BASE <= pa < TABLE_END, hex(pa)
                f.seek(RAM_OFFSET + pa - TABLE_BASE)
                pages[pa] = f.read(4096)
            return pages[pa]

        def walk(pa, level):
            t = page(pa)
            for i in range(512):
                (e,) = struct.unpack_from("<Q", t, i * 8)
                if e & 3 and level > 1 and not e & 0x80:
                    walk(e & ADDR, level - 1)

        def pasid_tables(q0):
            # the PASID directory, its tables, second-stage tables (PGTT 2)
            d = page(q0 & ADDR)
            for di in range(512):
                (de,) = struct.unpack_from("<Q", d, di * 8)
                if not de & 1:
                    continue
                pt = page(de & ADDR)
                for pi in range(64):
                    (p0,) = struct.unpack_from("<Q", pt, pi * 64)
                    if p0 & 1 and (p0 >> 6) & 7 == 2:
                        walk(p0 & ADDR, ((p0 >> 2) & 7) + 2)

        rt = page(rtaddr & ~0xfff)
        for bus in range(256):
            lo, hi = struct.unpack_from("<QQ", rt, bus * 16)
            if mode == "legacy":
                if not lo & 1:
                    continue
                ct = page(lo & ADDR)
                for devfn in range(256):
                    clo, chi = struct.unpack_from("<QQ", ct, devfn * 16)
                    if clo & 1 and (clo >> 2) & 3 != 2:
                        walk(clo & ADDR, (chi & 7) + 2)
                continue
            for half in (lo, hi):  # devfn 0-127, 128-255
                if not half & 1:
                    continue
                ct = page(half & ADDR)
                for i in range(128):
                    (q0,) = struct.unpack_from("<Q", ct, i * 32)
                    if q0 & 1:
                        pasid_tables(q0)
    return pages


def changes(seed):
    """A fixed sequence of changes, each one that iommud accepts or refuses
    (a refusal changes nothing, and is a point to kill at too)."""
    rnd = random.Random(seed)
    out = [("v1.power", {"on": True})]
    out += [("v1.domain.create", {"id": d}) for d in DOMAINS]
    while len(out) < CHANGES:
        k = rnd.random()
        did = rnd.choice(DOMAINS)
        page = rnd.randrange(64)
        if k < 0.2:
            out.append(("v1.attach", {"device": rnd.choice(DEVICES), "domain": did}))
        elif k < 0.3:
            out.append(("v1.detach", {"device": rnd.choice(DEVICES)}))
        elif k < 0.65:
            n = rnd.choice((1, 1, 2, 16, 512))
            out.append(("v1.map", {"domain": did, "iova": page * 0x200000 + rnd.randrange(4) * 0x1000,
                                   "phys": 0x08000000 + rnd.randrange(256) * 0x1000, "length": n * 0x1000,
                                   "read": True, "write": rnd.random() < 0.5}))
        elif k < 0.7:
            out.append(("v1.map", {"domain": did, "iova": 0x10000000 + page * 0x200000, "alloc": True,
                                   "length": rnd.choice((1, 3)) * 0x1000}))
        else:
            out.append(("v1.unmap", {"domain": did, "iova": rnd.choice((page * 0x200000, 0x10000000 + page * 0x200000)),
                                     "length": rnd.choice((1, 2)) * 0x1000}))
    return out


def start(where, name, mode):
    """iommud on the machine and state of directory where (made if new)."""
    os.makedirs(where, exist_ok=True)
    d = h.Daemon(where, name, ["--simulate", mode, "--simulated-machine", os.path.join(where, "machine"),
                               "--state-dir", os.path.join(where, "state"),
                               "--socket", os.path.join(where, "iommud.sock")], config=CONFIG,
                 socket_path=os.path.join(where, "iommud.sock"))
    if not d.wait_ready():
        d.kill()
        return None
    return d


def unit_info(d):
    a = d.call("v1.info")
    units = a.get("result", {}).get("units", [])
    return units[0] if units else {}


with tempfile.TemporaryDirectory() as tmp:
    seq = changes(20261204)
    # the references, one per mode: the state and the tables after each change
    ref_states, ref_tables, ref_answers = {}, {}, {}
    for mode in ("legacy", "scalable"):
        where = os.path.join(tmp, "reference-" + mode)
        ref = start(where, "reference", mode)
        state_path = os.path.join(where, "state", "control.state")
        machine = os.path.join(where, "machine")
        states, table_sets, answers = [None], [{}], []
        if ref:
            with ref.client() as c:
                for i, (method, params) in enumerate(seq):
                    a = c.call(method, params, i + 1)
                    answers.append("result" in a)
                    states.append(read_state(state_path)[0])
                    root = states[-1]["units"][0]["root_table"] if states[-1] and states[-1]["units"] else None
                    table_sets.append(tables(machine, root, mode) if root else {})
            ref.stop()
        accepted = sum(answers)
        ok(ref is not None and len(states) == CHANGES + 1 and all(s is not None for s in states[1:])
           and 40 < accepted < CHANGES,
           f"{mode} reference run: {CHANGES} changes ({accepted} accepted, the rest refused), the state file "
           f"whole after each", answers)
        ok(len({json.dumps(content(s), sort_keys=True) for s in states[1:]}) > 30
           and len({tuple(sorted(p.items())) for p in table_sets[1:]}) > 30,
           f"{mode}: the changes make many different states and tables",
           len({json.dumps(content(s), sort_keys=True) for s in states[1:]}))
        ok(any(s and s["units"] and s["units"][0]["buffers"] for s in states), f"{mode}: buffers among them")
        # the walk reaches page tables: a map adds pages to it
        grew = sum(1 for i, (method, _) in enumerate(seq) if method == "v1.map" and answers[i]
                   and len(table_sets[i + 1]) > len(table_sets[i]))
        ok(grew > 5 and max(len(p) for p in table_sets) > 10,
           f"{mode}: the walk of the machine file reaches the page tables ({grew} maps added pages to it, "
           f"at most {max(len(p) for p in table_sets)} pages)")
        ref_states[mode], ref_tables[mode], ref_answers[mode] = states, table_sets, answers
        shutil.rmtree(where, ignore_errors=True)

    rnd = random.Random(4)
    bad, taken_back, undone = [], [], 0
    mid = 0
    for trial in range(TRIALS):
        k = rnd.randrange(0, CHANGES - 1)
        mode = ("legacy", "scalable")[trial % 2]
        states, table_sets, answers = ref_states[mode], ref_tables[mode], ref_answers[mode]
        where = os.path.join(tmp, f"t{trial}")
        state_path = os.path.join(where, "state", "control.state")
        machine = os.path.join(where, "machine")
        d = start(where, "first", mode)
        if not d:
            bad.append((trial, "did not start"))
            continue
        with d.client() as c:
            for i in range(k):
                c.call(seq[i][0], seq[i][1], i + 1)
            # change k in flight; SIGKILL after up to 1.5 ms
            c.send({"method": seq[k][0], "params": seq[k][1], "id": k + 1})
            time.sleep(rnd.random() * 0.0015)
            d.kill()
        got, why = read_state(state_path)
        if k > 0 and got is None:
            bad.append((trial, k, why))
            continue
        if content(got) == content(states[k]):
            at = k
        elif content(got) == content(states[k + 1]):
            at = k + 1
            mid += 1
        else:
            bad.append((trial, k, "neither before nor after", json.dumps(got)[:300]))
            continue

        # the same machine and state, a new iommud
        d2 = start(where, "second", mode)
        if not d2:
            bad.append((trial, k, "the restart did not start"))
            continue
        after, why = read_state(state_path)
        u = unit_info(d2)
        control = u.get("control") or {}
        owned = bool(states[at] and states[at]["units"])
        undone += "was undone" in d2.stderr()
        problems = []
        # no file: nothing was ever saved (a kill before the first take did anything)
        if (after is None and at > 0) or content(after) != content(states[at]):
            problems.append(f"the state after the restart is not the one before it: {json.dumps(after)[:300]}")
        if control.get("degraded"):
            problems.append(f"degraded: {control.get('degraded')}")
        if owned != bool(u.get("translation_enabled")):
            problems.append(f"translation {u.get('translation_enabled')} with the unit owned {owned}")
        if owned:
            walked = tables(machine, u.get("root_table") or 0, mode)
            if u.get("root_table") != states[at]["units"][0]["root_table"]:
                problems.append(f"RTADDR {u.get('root_table')} is not the state's root table")
            elif walked != table_sets[at]:
                diff = sorted(set(walked) ^ set(table_sets[at]))[:4] or \
                    [pa for pa in walked if walked[pa] != table_sets[at][pa]][:4]
                problems.append(f"the tables differ from the reference's in that state: pages {[hex(p) for p in diff]}")
        # the next change works as in the reference run
        if at < CHANGES:
            a = d2.call(seq[at][0], seq[at][1])
            now, _ = read_state(state_path)
            if ("result" in a) != answers[at] or content(now) != content(states[at + 1]):
                problems.append(f"change {at} after the restart: {json.dumps(a)[:200]}")
        if problems:
            bad.append((trial, mode, k, at, problems, d2.stderr()[-600:]))
        else:
            taken_back.append(trial)
        d2.kill()
        shutil.rmtree(where, ignore_errors=True)
    ok(not bad, f"SIGKILL at {TRIALS} random points of the churn, legacy and scalable: the state file is whole each time and is the state "
       f"before the change in flight or after it ({mid} after, {TRIALS - mid - len(bad)} before)", bad[:3])
    ok(len(taken_back) == TRIALS,
       f"after each kill a new iommud on the same machine keeps that state, not degraded, the unit's tables byte for "
       f"byte the reference's in that state, and the next change works ({undone} changes in flight undone)",
       bad[:3])

t.done()
