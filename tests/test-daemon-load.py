#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommud under load and over time: 200 connections pipelining 50,000
requests, every answer checked (tests/daemon-load.c); a session of 10,000
requests of every kind whose resident memory stays flat after warm-up; and
a clean exit, so that LeakSanitizer (in the sanitizer build) or valgrind (in
the plain build, when installed) finds nothing left behind."""
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time

spec = importlib.util.spec_from_file_location(
    "harness", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

t = h.Tap()
ok = t.ok

ALL_KINDS = ("info,devices,dmar,mappings,mappings-device,mappings-domain,version,faults,bad-param,bad-json,"
             "unknown")
SNAP = [f for f in h.FIXTURES if "scalable-aw48" in f][0]


def load(d, *args, timeout=240):
    # generous bounds (a run takes seconds), inside meson's 300s for the test
    p = subprocess.run([h.DAEMON_LOAD, "--socket", d.socket, *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def stop_clean(d, what):
    rc = d.stop()
    err = d.stderr()
    ok(rc == 0 and not d.sanitizer_report(),
       f"{what}: SIGTERM, exit 0, no sanitizer report (LeakSanitizer runs at this exit in the sanitizer build)",
       f"rc={rc}\n{err[-3000:]}")


with tempfile.TemporaryDirectory() as tmp:
    # 200 connections, 50,000 pipelined requests, every answer checked
    d = h.Daemon(tmp, "load", ["--snapshot", SNAP])
    if ok(d.wait_ready(), "iommud on the scalable-aw48 snapshot", d.stderr()):
        start = time.monotonic()
        rc, out = load(d, "--connections", "200", "--requests", "50000", "--window", "16",
                       "--mix", "info,mappings,devices,mappings-device", "--timeout", "200")
        took = time.monotonic() - start
        ok(rc == 0 and "all as expected" in out,
           f"200 connections, 50,000 pipelined requests (info, mappings, devices, mappings --device): "
           f"every answer right ({took:.1f}s)", out)
        t.diag(out.strip())
        ok(d.call("v1.version").get("result") is not None, "after the load the daemon serves on")
    stop_clean(d, "load")

    # RSS flat over a session of 10,000 requests of every kind, connections coming and going
    env = {"ASAN_OPTIONS": "quarantine_size_mb=1:detect_leaks=1"} if h.SANITIZED else None
    d = h.Daemon(tmp, "rss", ["--snapshot", SNAP], env=env)
    if ok(d.wait_ready(), "iommud for the memory session", d.stderr()):
        # the same shape each time, so that buffers peak alike
        shape = ["--connections", "10", "--requests", "2000", "--window", "4", "--mix", ALL_KINDS]
        rc, out = load(d, *shape)
        warm = d.rss_kib()
        ok(rc == 0, "2,000 requests of every kind (answers, errors, bad JSON) to warm up", out)
        results = []
        for _ in range(4):
            rc, out = load(d, *shape)
            results.append(rc)
        end = d.rss_kib()
        # not a leak detector (LeakSanitizer and valgrind are): this catches
        # what grows while still referenced, a cache or a list without bound
        margin = 4096 if h.SANITIZED else 1024
        ok(all(r == 0 for r in results), "8,000 more, on 40 new connections: all answers right")
        ok(end - warm <= margin,
           f"VmRSS after warm-up {warm} KiB, after 10,000 requests {end} KiB: flat within {margin} KiB")
    stop_clean(d, "memory session")

    # valgrind, in the plain build only (sanitizers and valgrind do not mix)
    if h.SANITIZED:
        t.skip("valgrind --leak-check=full", "the sanitizer build has LeakSanitizer instead")
    elif not shutil.which("valgrind"):
        t.skip("valgrind --leak-check=full", "valgrind is not installed")
    else:
        vlog = os.path.join(tmp, "valgrind.log")
        d = h.Daemon(tmp, "valgrind", ["--snapshot", SNAP],
                     wrapper=["valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                              "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
                              f"--log-file={vlog}"])
        if ok(d.wait_ready(60), "iommud under valgrind", d.stderr()):
            rc, out = load(d, "--connections", "8", "--requests", "600", "--window", "4", "--mix", ALL_KINDS)
            ok(rc == 0, "600 requests of every kind under valgrind", out)
        rc = d.stop(timeout=60)
        report = open(vlog).read() if os.path.exists(vlog) else ""
        ok(rc == 0 and "definitely lost" not in report and "Invalid" not in report,
           "valgrind: no leak, no invalid access, exit 0", f"rc={rc}\n{report[-3000:]}")

t.done()
