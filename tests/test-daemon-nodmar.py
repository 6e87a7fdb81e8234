#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommud on a machine without VT-d (most VMs, every AMD machine): a
--sysroot tree with no DMAR table, and one whose DMAR table has no DRHD.
What is known without iommud: such a machine has no remapping unit, so
every answer is the empty one and nothing is an error.

 - iommud starts (READY=1), says why in its log, stays up across fault
   polls and a reload (SIGHUP), and stops with status 0: under systemd the
   unit neither fails nor restart-loops;
 - v1.info over the socket and GET /v1/info: no units; iommuctl info says
   "No DMA remapping units."; devices, domains, mappings, faults answer
   empty lists; dmar fails in one line saying why there are no units (a
   table without a DRHD is not shown: it has nothing to serve);
 - /metrics: no iommu_unit_info series, iommu_owned_units 0, no scrape
   error, and promtool accepts it;
 - changing commands fail in one line naming the missing unit;
 - a DMAR table that is there but corrupt still stops iommud: only a
   machine without units is forgiven, not a broken one."""
import http.client
import importlib.util
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("harness", os.path.join(HERE, "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

t = h.Tap()
ok = t.ok
EMPTY_INFO = {"units": [], "ram_error": None}


def free_port():
    with socket.socket(socket.AF_INET) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10 * h.SLOW)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def dmar_table(body=b"", length=None):
    """An ACPI DMAR table: the 36-byte header, host address width 39,
    flags 0, 10 reserved bytes, then body; its checksum made right."""
    data = bytearray(b"DMAR" + struct.pack("<IBB", 0, 1, 0) + b"OEMID " + b"OEMTABLE" +
                     struct.pack("<I", 1) + b"TEST" + struct.pack("<I", 1) + bytes([38, 0]) + bytes(10) + body)
    struct.pack_into("<I", data, 4, len(data) if length is None else length)
    data[9] = (-sum(data)) & 0xFF
    return bytes(data)


def sysroot(tmp, name, dmar=None):
    """A tree with what a machine without VT-d has: ACPI tables (DMAR only
    when given), a PCI bus without devices, no /dev/kmsg."""
    root = os.path.join(tmp, name)
    os.makedirs(os.path.join(root, "sys/firmware/acpi/tables"))
    os.makedirs(os.path.join(root, "sys/bus/pci/devices"))
    os.makedirs(os.path.join(root, "proc"))
    os.makedirs(os.path.join(root, "dev"))
    if dmar is not None:
        with open(os.path.join(root, "sys/firmware/acpi/tables/DMAR"), "wb") as f:
            f.write(dmar)
    return root


def ctl(d, *args):
    p = subprocess.run([h.IOMMUCTL, "--socket", d.socket, *args], capture_output=True, text=True,
                       timeout=30 * h.SLOW)
    return p.returncode, p.stdout, p.stderr


def start(tmp, name, root):
    for _ in range(3):
        port = free_port()
        d = h.Daemon(tmp, name, ["--sysroot", root, "--state-dir", os.path.join(tmp, name + ".state"),
                                 "--listen-http", f"127.0.0.1:{port}"])
        if d.wait_ready():
            return d, port
        busy = "Address already in use" in d.stderr()
        d.kill()
        if not busy:
            break
    return d, None


def machine(tmp, name, root, why):
    d, port = start(tmp, name, root)
    if not ok(port is not None and d.alive(), f"{name}: iommud starts and sends READY=1", d.stderr()):
        return
    ok(f"No VT-d units: {why}" in d.stderr(), f"{name}: its log says there are no VT-d units, and why",
       d.stderr())

    r = d.call("v1.info")
    ok(r.get("result") == EMPTY_INFO, f"{name}: v1.info on the socket has no units", r)
    status, body = get(port, "/v1/info")
    ok(status == 200 and json.loads(body) == EMPTY_INFO, f"{name}: GET /v1/info has no units",
       f"{status} {body[:300]!r}")
    rc, out, err = ctl(d, "info")
    ok(rc == 0 and out == "No DMA remapping units.\n" and err == "",
       f"{name}: iommuctl info says \"No DMA remapping units.\"", f"{rc} {out!r} {err!r}")
    for method in ["v1.devices", "v1.domains", "v1.mappings"]:
        r = d.call(method)
        ok(r.get("result") == [], f"{name}: {method} answers the empty list", r)
    r = d.call("v1.faults")
    ok(r.get("result") == {"units": [], "log": []}, f"{name}: v1.faults answers no units and an empty log", r)
    rc, out, err = ctl(d, "dmar")
    ok(rc == 1 and out == "" and err.count("\n") == 1 and why in err,
       f"{name}: iommuctl dmar fails in one line saying why", f"{rc} {out!r} {err!r}")
    rc, out, err = ctl(d, "power", "on")
    ok(rc == 1 and err.count("\n") == 1 and "no remapping unit" in err,
       f"{name}: iommuctl power on fails in one line: no remapping unit", f"{rc} {out!r} {err!r}")

    status, body = get(port, "/metrics")
    text = body.decode()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    ok(status == 200 and not any(s.startswith("iommu_unit_info") for s in samples)
       and "iommu_owned_units 0" in samples,
       f"{name}: /metrics has no iommu_unit_info series and iommu_owned_units 0", text[-1500:])
    errors = [s for s in samples if s.startswith("iommu_scrape_error")]
    ok(errors and all(s.endswith(" 0") for s in errors), f"{name}: /metrics reports no scrape error",
       "\n".join(errors))
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
        ok(p.returncode == 0, f"{name}: promtool check metrics accepts /metrics",
           (p.stdout + p.stderr).decode()[-1500:])
    else:
        t.skip(f"{name}: promtool check metrics", "promtool is not installed (tools/setup installs it)")

    # fault polls (FaultIntervalSec=1) pass, then a reload reads the machine again
    time.sleep(2.5 * h.SLOW)
    mark = d.mark()
    d.proc.send_signal(signal.SIGHUP)
    ok(d.wait_ready(since=mark) and d.alive() and d.call("v1.info").get("result") == EMPTY_INFO,
       f"{name}: alive after fault polls and a reload (SIGHUP), still without units", d.stderr())
    status = d.stop()
    ok(status == 0 and not d.sanitizer_report(), f"{name}: SIGTERM stops it with status 0",
       f"status {status}\n{d.stderr()}")


with tempfile.TemporaryDirectory() as tmp:
    root = sysroot(tmp, "no-dmar")
    machine(tmp, "no-dmar", root,
            f"No DMAR table at {root}/sys/firmware/acpi/tables/DMAR: the firmware reports no Intel VT-d unit here")
    machine(tmp, "no-drhd", sysroot(tmp, "no-drhd", dmar_table()),
            "The DMAR table describes no remapping unit (no DRHD)")

    # A table that claims more bytes than it has: broken, not absent.
    root = sysroot(tmp, "corrupt", dmar_table(length=4096))
    d = h.Daemon(tmp, "corrupt", ["--sysroot", root, "--state-dir", os.path.join(tmp, "corrupt.state")])
    try:
        status = d.proc.wait(15 * h.SLOW)
    except subprocess.TimeoutExpired:
        status = None
    d.kill()
    ok(status == 1 and "DMAR table" in d.stderr() and not d.count(lambda m: "READY=1" in m),
       "a corrupt DMAR table still stops iommud with status 1, before READY=1", f"status {status}\n{d.stderr()}")

t.done()
