#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommuctl talking to iommud: the same text and JSON whichever source
answered (the daemon on a snapshot, or the snapshot read directly), a clear
line when no daemon runs, and faults --follow / --clear through the daemon."""
import glob
import json
import os
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
                for fmt in ([], ["--json"]):
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

print(f"1..{n}")
sys.exit(1 if failures else 0)
