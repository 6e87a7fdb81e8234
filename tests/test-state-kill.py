#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The control state file survives kill -9 anywhere: iommud --simulate under
a churn of attach/detach/map/unmap, killed with SIGKILL at 100 random
points (a random change in flight, after a random delay), leaves a state
file that is whole (this test's own reader: header, zlib's CRC-32, JSON)
and is exactly the state before the interrupted change or after it, never
a mix.  The states before and after each change come from a reference run
of the same sequence of changes, read after each answer."""
import importlib.util
import json
import os
import random
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
        elif k < 0.7:
            n = rnd.choice((1, 1, 2, 16, 512))
            out.append(("v1.map", {"domain": did, "iova": page * 0x200000 + rnd.randrange(4) * 0x1000,
                                   "phys": 0x08000000 + rnd.randrange(256) * 0x1000, "length": n * 0x1000,
                                   "read": True, "write": rnd.random() < 0.5}))
        else:
            out.append(("v1.unmap", {"domain": did, "iova": page * 0x200000, "length": rnd.choice((1, 2)) * 0x1000}))
    return out


def start(tmp, name):
    d = h.Daemon(tmp, name, ["--simulate", "legacy"], config=CONFIG)
    if not d.wait_ready():
        d.kill()
        return None
    return d


with tempfile.TemporaryDirectory() as tmp:
    seq = changes(20261204)
    # the reference: the state after each change, as the file holds it
    ref = start(tmp, "reference")
    states, answers = [], []
    if ref:
        path = os.path.join(ref.state_dir, "control.state")
        states.append(read_state(path)[0])  # None: nothing saved yet
        with ref.client() as c:
            for i, (method, params) in enumerate(seq):
                a = c.call(method, params, i + 1)
                answers.append("result" in a)
                states.append(read_state(path)[0])
        ref.stop()
    accepted = sum(answers)
    ok(ref is not None and len(states) == CHANGES + 1 and all(s is not None for s in states[1:])
       and 40 < accepted < CHANGES,
       f"reference run: {CHANGES} changes ({accepted} accepted, the rest refused), the state file whole after each",
       answers)
    ok(len({json.dumps(s, sort_keys=True) for s in states[1:]}) > 30,
       "the changes make many different states", len({json.dumps(s, sort_keys=True) for s in states[1:]}))

    rnd = random.Random(4)
    bad = []
    mid = 0
    for trial in range(TRIALS):
        k = rnd.randrange(1, CHANGES)
        d = start(tmp, f"kill{trial}")
        if not d:
            bad.append((trial, "did not start"))
            continue
        path = os.path.join(d.state_dir, "control.state")
        with d.client() as c:
            for i in range(k):
                c.call(seq[i][0], seq[i][1], i + 1)
            # change k in flight; SIGKILL after up to 1.5 ms
            c.send({"method": seq[k][0], "params": seq[k][1], "id": k + 1})
            time.sleep(rnd.random() * 0.0015)
            d.kill()
        got, why = read_state(path)
        if got is None:
            bad.append((trial, k, why))
        elif got == states[k]:
            pass
        elif got == states[k + 1]:
            mid += 1
        else:
            bad.append((trial, k, "neither before nor after", json.dumps(got)[:300]))
    ok(not bad, f"SIGKILL at {TRIALS} random points of the churn: the state file is whole each time and is the state "
       f"before the change in flight or after it ({mid} after, {TRIALS - mid - len(bad)} before)", bad[:5])

t.done()
