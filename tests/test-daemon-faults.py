#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""iommud on the live path, below a fixture tree: a DMAR table and a
/dev/mem whose register window the test changes under the running daemon
(a regular file, shared-mapped by the daemon).  Fault records appear,
change, vanish and come back; the daemon logs each new one once, with time
and unit, sends it to subscribers, keeps FaultLogSize of them, never writes
a register, and drops a subscriber that does not read without slowing
anyone else.  Answers match iommuctl --direct on the same tree, and
RefreshIntervalSec bounds how old a live answer may be."""
import importlib.util
import json
import os
import re
import struct
import tempfile
import threading
import time

spec = importlib.util.spec_from_file_location(
    "harness", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-daemon-harness.py"))
h = importlib.util.module_from_spec(spec)
spec.loader.exec_module(h)

t = h.Tap()
ok = t.ok

BASE = 0xFED90000
CAP = 0x00D2008C222F0686 | (255 << 40)  # QEMU's CAP with NFR 255: 256 fault recording registers
ECAP = 0x0000000000F0101A
FRO = ((CAP >> 24) & 0x3FF) * 16
NREC = 256


def dmar_table():
    drhd = struct.pack("<HHBBHQ", 0, 16, 0x01, 0, 0, BASE)  # INCLUDE_PCI_ALL, segment 0
    length = 48 + len(drhd)
    hdr = b"DMAR" + struct.pack("<IBB", length, 1, 0) + b"BOCHS " + b"BXPC    " + struct.pack("<I", 1) \
        + b"BXPC" + struct.pack("<I", 1) + bytes([47, 0]) + bytes(10)
    table = bytearray(hdr + drhd)
    table[9] = (-sum(table)) & 0xFF
    return bytes(table)


class Regs:
    """The unit's register window in the fixture's dev/mem."""

    def __init__(self, root):
        self.path = os.path.join(root, "dev", "mem")
        with open(self.path, "wb") as f:
            f.truncate(BASE + 0x4000)
        self.fd = os.open(self.path, os.O_RDWR)
        self.w32(0x0, 0x10)
        self.w64(0x8, CAP)
        self.w64(0x10, ECAP)

    def w32(self, off, v):
        os.pwrite(self.fd, struct.pack("<I", v), BASE + off)

    def w64(self, off, v):
        os.pwrite(self.fd, struct.pack("<Q", v), BASE + off)

    def r64(self, off):
        return struct.unpack("<Q", os.pread(self.fd, 8, BASE + off))[0]

    def record(self, i, address=0, sid=0x0018, reason=0x05, write=True, pasid=None, present=True):
        lo = address & ~0xFFF
        hi = sid | (reason << 32) | ((0 if write else 1) << 62) | ((1 if present else 0) << 63)
        if pasid is not None:
            hi |= (1 << 31) | (pasid << 40)
        # the high half first: a reader never sees F with a stale address
        self.w64(FRO + 16 * i + 8, hi & ~(1 << 63))
        self.w64(FRO + 16 * i, lo)
        self.w64(FRO + 16 * i + 8, hi)

    def clear(self, i):
        self.w64(FRO + 16 * i + 8, 0)
        self.w64(FRO + 16 * i, 0)


def make_tree(root):
    os.makedirs(os.path.join(root, "sys/firmware/acpi/tables"))
    os.makedirs(os.path.join(root, "dev"))
    with open(os.path.join(root, "sys/firmware/acpi/tables/DMAR"), "wb") as f:
        f.write(dmar_table())
    return Regs(root)


class Subscriber:
    """A client that subscribed and reads every event as it comes."""

    def __init__(self, d):
        self.c = d.client()
        answer = self.c.call("v1.faults.subscribe", id="sub")
        self.subscribed = answer == {"id": "sub", "result": {"subscribed": True}}
        self.events = []
        self.other = []
        self.cond = threading.Condition()
        self.c.sock.settimeout(None)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                line = self.c.recv_line()
            except OSError:
                return
            if line is None:
                return
            o = json.loads(line)
            with self.cond:
                (self.events if o.get("event") == "fault" else self.other).append(o)
                self.cond.notify_all()

    def wait(self, n, timeout=5):
        """Until n events came (or the time passed); the events."""
        deadline = time.monotonic() + timeout * h.SLOW
        with self.cond:
            while len(self.events) < n and time.monotonic() < deadline:
                self.cond.wait(0.05)
            return [e["data"] for e in self.events]

    def close(self):
        try:
            self.c.sock.shutdown(2)
        except OSError:
            pass
        self.thread.join(5)
        self.c.close()


def same_record(entry, record):
    return all(entry.get(k) == record.get(k) for k in record)


with tempfile.TemporaryDirectory() as tmp:
    root = os.path.join(tmp, "root")
    regs = make_tree(root)
    d = h.Daemon(tmp, "live", ["--sysroot", root, "--no-http"],
                 config="[Daemon]\nFaultIntervalSec=100ms\nFaultLogSize=100\nRefreshIntervalSec=0\n")
    if not ok(d.wait_ready(), "iommud on the fixture tree's hardware (READY=1)", d.stderr()):
        d.kill()
        t.done()

    with d.client() as c:
        for cmd in ("info", "dmar"):
            rc, out, err = h.iommuctl("--direct", "--sysroot", root, "--json", cmd)
            answer = c.call("v1." + cmd)
            ok(rc == 0 and answer.get("result") == json.loads(out),
               f"live: v1.{cmd} equals iommuctl --direct --sysroot --json {cmd}", f"{err}\n{json.dumps(answer)[:300]}")
        ok(c.call("v1.version").get("result", {}).get("source") == "live", "v1.version says source live")
        info = c.call("v1.info").get("result", {})
        unit = info.get("units", [{}])[0]
        ok(unit.get("owner") == "none" and unit.get("cap", {}).get("value") == CAP and info.get("ram_error"),
           "the unit read through the fixture's /dev/mem: CAP as written, nobody owns it, no RAM", unit.get("owner"))
        answer = c.call("v1.mappings", id=5)
        ok(answer.get("id") == 5 and answer.get("error", {}).get("code", 0) > 0,
           "v1.mappings without readable RAM: the library's error, as an error answer", answer)
        faults = c.call("v1.faults").get("result", {})
        ok(faults.get("log") == [] and faults["units"][0]["faults"] == [], "no faults yet: no records, empty log",
           faults)

    a = Subscriber(d)
    ok(a.subscribed, "v1.faults.subscribe: {\"subscribed\": true}")

    # a fault appears
    before = time.time()
    regs.record(0, address=0x12345000, sid=0x0018, reason=0x05, write=True)
    ev = a.wait(1)
    ok(len(ev) == 1, "a new fault record: one event to the subscriber", ev)
    e = ev[0] if ev else {}
    ok(e.get("unit") == "dmar0" and e.get("bdf") == "0000:00:03.0" and e.get("reason") == 5
       and isinstance(e.get("reason_text"), str) and e.get("address") == 0x12345000 and e.get("write") is True
       and e.get("pasid") is None and e.get("index") == 0 and isinstance(e.get("record"), dict),
       "the event: unit, bdf, reason, reason_text, address, write, pasid, index, record", e)
    ok(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", e.get("time", ""))
       and abs(e.get("time_usec", 0) / 1e6 - before) < 5
       and time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(e.get("time_usec", 0) // 1000000)) == e.get("time", "")[:19],
       "time: ISO-8601 UTC with microseconds, time_usec the same instant", e.get("time"))
    with d.client() as c:
        faults = c.call("v1.faults").get("result", {})
        recs = faults["units"][0]["faults"]
        ok(faults.get("log") == [e] and len(recs) == 1 and same_record(e, recs[0]),
           "v1.faults: the record the unit holds, and the log entry (the record plus time and unit)", faults)
        rc, out, err = h.iommuctl("--direct", "--sysroot", root, "--json", "faults")
        if rc == 0:
            ok(json.loads(out).get("units") == faults["units"], "v1.faults units equal iommuctl --direct faults",
               out[:300])
        else:
            t.skip("v1.faults units equal iommuctl --direct faults", "iommuctl faults --direct unavailable")

    # unchanged: not new
    time.sleep(0.6)
    ok(len(a.wait(2, 0.3)) == 1 and len(d.call("v1.faults")["result"]["log"]) == 1,
       "the same record seen again (6 polls): not logged again")

    # the record changes in place; vanishes; comes back the same
    regs.record(0, address=0x22222000)
    ev = a.wait(2)
    ok(len(ev) == 2 and ev[1]["address"] == 0x22222000, "a record changed in place: a new fault", ev[1:])
    regs.clear(0)
    time.sleep(0.4)
    ok(len(a.wait(3, 0.2)) == 2, "a record cleared: nothing logged")
    regs.record(0, address=0x22222000)
    ev = a.wait(3)
    ok(len(ev) == 3 and ev[2]["address"] == 0x22222000, "the same record again after it was cleared: new", ev[2:])

    regs.record(1, address=0xABC000, sid=0x0020, reason=0x06, write=False, pasid=0x42)
    ev = a.wait(4)
    ok(len(ev) == 4 and ev[3]["pasid"] == 0x42 and ev[3]["write"] is False and ev[3]["index"] == 1
       and ev[3]["bdf"] == "0000:00:04.0", "a read fault with a PASID, in record 1", ev[3:])

    # iommud only reads: the F bits stay set
    time.sleep(0.3)
    ok(regs.r64(FRO + 8) >> 63 == 1 and regs.r64(FRO + 16 + 8) >> 63 == 1,
       "after many polls the records' F bits are still set: iommud never writes a register")

    # FSTS is re-read: RefreshIntervalSec=0 answers from the registers as they are
    regs.w32(0x34, 0x2)
    with d.client() as c:
        fsts = c.call("v1.info")["result"]["units"][0]["fsts"]["value"]
        ffsts = c.call("v1.faults")["result"]["units"][0]["fsts"]["value"]
    ok(fsts == 2 and ffsts == 2, "FSTS changed: v1.info and v1.faults show it at once (RefreshIntervalSec=0)",
       (fsts, ffsts))

    answer = d.call("v1.faults.clear", id=1)
    ok(answer == {"id": 1, "result": {"cleared": 4}} and d.call("v1.faults")["result"]["log"] == [],
       "v1.faults.clear (root): {\"cleared\": 4}, the log empty", answer)

    # 256 new records at once: all sent, the log keeps FaultLogSize=100
    for i in range(NREC):
        regs.record(i, address=0x100000 + i * 0x1000, sid=0x0018)
    ev = a.wait(4 + NREC)
    log = d.call("v1.faults")["result"]["log"]
    ok(len(ev) == 4 + NREC, f"256 records at once: {len(ev) - 4} events", len(ev))
    ok(len(log) == 100 and [x["index"] for x in log] == list(range(NREC - 100, NREC)),
       "FaultLogSize=100: the log keeps the newest 100, oldest first", [x["index"] for x in log][:5])

    # a subscriber that never reads: dropped, and nobody else waits for it
    b = d.client()
    b.call("v1.faults.subscribe")
    start = time.monotonic()
    n, latencies, gen = len(a.wait(0, 0)), [], 1
    while time.monotonic() - start < 30 * h.SLOW and "Dropping fault subscriber" not in d.stderr():
        gen += 1
        for i in range(NREC):
            regs.record(i, address=(gen << 24) + i * 0x1000)
        t0 = time.monotonic()
        d.call("v1.version")
        latencies.append(time.monotonic() - t0)
        # the next generation once this one was seen
        a.wait(n + (gen - 1) * NREC, 5)
    took = time.monotonic() - start
    ok("Dropping fault subscriber" in d.stderr() and b.at_eof(5),
       f"a subscriber that never reads is dropped with a log line ({took:.1f}s of fault storm)",
       d.stderr()[-1000:])
    b.close()
    ok(max(latencies) < 1.0 * h.SLOW, f"meanwhile other clients are answered at once (slowest {max(latencies):.3f}s)",
       latencies)
    total = (gen - 1) * NREC
    ev = a.wait(n + total, 10)
    ok(len(ev) == n + total, f"the subscriber that reads got every one of the {total} events", len(ev) - n)
    lines = d.stderr().count("DMA fault on")
    ok(lines <= 10 * (took // 10 + 3), f"the journal gets at most 10 fault lines per 10s ({lines} for {len(ev)})",
       lines)
    a.close()
    rc = d.stop()
    ok(rc == 0 and not d.sanitizer_report(), "SIGTERM: exit 0, no sanitizer report", d.stderr()[-2000:])

    # RefreshIntervalSec: a live answer is at most that old, and cached within it
    regs.w32(0x34, 0x0)
    d = h.Daemon(tmp, "refresh", ["--sysroot", root],
                 config="[Daemon]\nFaultIntervalSec=0\nRefreshIntervalSec=1500ms\n")
    d.wait_ready()
    with d.client() as c:
        first = c.call("v1.info")["result"]["units"][0]["fsts"]["value"]
        regs.w32(0x34, 0x2)
        cached = c.call("v1.info")["result"]["units"][0]["fsts"]["value"]
        time.sleep(1.6)
        fresh = c.call("v1.info")["result"]["units"][0]["fsts"]["value"]
    ok(first == 0 and cached == 0 and fresh == 2,
       "RefreshIntervalSec=1500ms: a change shows after the interval, not before", (first, cached, fresh))
    ok(d.call("v1.faults")["result"]["log"] == [] and len(d.call("v1.faults")["result"]["units"][0]["faults"]) == NREC,
       "FaultIntervalSec=0: no polling, no log; v1.faults still shows the records held now")
    rc = d.stop()
    ok(rc == 0 and not d.sanitizer_report(), "SIGTERM: exit 0, no sanitizer report", d.stderr()[-2000:])

    # the fault poller reads the registers more often: a change it sees is
    # served at once, without waiting for RefreshIntervalSec
    d = h.Daemon(tmp, "poller", ["--sysroot", root],
                 config="[Daemon]\nFaultIntervalSec=100ms\nRefreshIntervalSec=1h\n")
    ok(d.wait_ready(), "iommud with FaultIntervalSec=100ms, RefreshIntervalSec=1h", d.stderr())
    log = d.call("v1.faults")["result"]["log"]
    ok(len(log) == NREC and [e["index"] for e in log] == list(range(NREC)),
       "the records a unit holds when iommud starts are logged (once each)", len(log))
    with d.client() as c:
        first = c.call("v1.info")["result"]["units"][0]["fsts"]["value"]
        regs.w32(0x34, 0x0)
        time.sleep(0.5 * h.SLOW)
        seen = c.call("v1.info")["result"]["units"][0]["fsts"]["value"]
    ok(first == 2 and seen == 0, "RefreshIntervalSec=1h: a register change the fault poller sees is served at once",
       (first, seen))
    rc = d.stop()
    ok(rc == 0 and not d.sanitizer_report(), "SIGTERM: exit 0, no sanitizer report", d.stderr()[-2000:])

t.done()
