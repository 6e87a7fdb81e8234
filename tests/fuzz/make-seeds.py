#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the fuzz targets' generated seeds, from the fixtures.

    make-seeds.py SOURCE_ROOT OUTDIR [STAMP]

OUTDIR/TARGET/ for each target whose seeds are not fixture files as they
are (targets.txt names them "generated/TARGET").  Deterministic: the same
files every run.  Formats: each target's fuzz-TARGET.c.
"""
import glob
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
import zlib

root, outdir = sys.argv[1:3]
stamp = sys.argv[3] if len(sys.argv) > 3 else None
sys.path.insert(0, os.path.join(root, "tests"))
import snapshot_file  # noqa: E402  (the independent writer, for new snapshots)

PAGE = 4096


def write(target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def read_snapshot(path):
    """{type: bytes} of a snapshot file (iommu-snapshot(5)), units parsed."""
    d = open(path, "rb").read()
    n, entry_size, table = struct.unpack_from("<IIQ", d, 24)
    sections = {}
    for i in range(n):
        t, _, off, length = struct.unpack_from("<IIQQ", d, table + i * entry_size)
        sections[t] = d[off:off + length]
    units = []
    u = sections[snapshot_file.UNITS]
    count, pos = struct.unpack_from("<I", u, 0)[0], 8
    for _ in range(count):
        name = u[pos:pos + 32].rstrip(b"\0").decode()
        base, size, segment, _, n_regs = struct.unpack_from("<QQHHI", u, pos + 32)
        pos += 64
        regs = {}
        for _ in range(n_regs):
            off, width, value = struct.unpack_from("<IB3xQ", u, pos)
            regs[off] = value
            pos += 16
        units.append((name, regs))
    index = sections[snapshot_file.PAGE_INDEX]
    addrs = [struct.unpack_from("<Q", index, 8 * i)[0] for i in range(len(index) // 8)]
    pages = {a: sections[snapshot_file.PAGES][PAGE * i:PAGE * (i + 1)] for i, a in enumerate(addrs)}
    ram = sections[snapshot_file.RAM]
    ranges = [struct.unpack_from("<QQ", ram, 16 * i) for i in range(len(ram) // 16)]
    return units, pages, ranges


snapshots = sorted(glob.glob(os.path.join(root, "tests", "data", "snapshots", "*", "snapshot.iommu")))
fixtures = [(os.path.basename(os.path.dirname(p)),) + read_snapshot(p) for p in snapshots]

if os.path.isdir(outdir):
    shutil.rmtree(outdir)

# --- walk: registers and the table pages of each fixture unit -------------
def runs(page):
    """(offset, bytes) of the page's nonzero qwords, neighbours merged."""
    out, start = [], None
    for q in range(PAGE // 8 + 1):
        nonzero = q < PAGE // 8 and page[8 * q:8 * q + 8] != bytes(8)
        if nonzero and start is None:
            start = q
        elif not nonzero and start is not None:
            out.append((8 * start, page[8 * start:8 * q]))
            start = None
    return out


for name, units, pages, ranges in fixtures:
    for uname, regs in units:
        body = b"".join(struct.pack("<BQQ", 1, s, e) for s, e in ranges)
        for a in sorted(pages):
            for off, data in runs(pages[a]):
                body += struct.pack("<BQHH", 0, a, off, len(data)) + data
        for flags in (0, 1, 2, 2 | 32, 4 | 8 | 16):
            # bus 0, devfn 00:03.0 (the fixtures' edu), PASID 0, DID 1
            head = struct.pack("<QQQBBBIHBH", regs.get(0x20, 0), regs.get(0x08, 0), regs.get(0x10, 0), flags,
                               0, 0x18, 0, 1, 0, 0xFFFF)
            write("walk", f"{name}-{uname}-flags{flags}", head + body)

# --- decode: every layout on register values and table entries ------------
values = []
for name, units, pages, ranges in fixtures:
    for uname, regs in units:
        values += [struct.pack("<Q", v) for _, v in sorted(regs.items()) if v]
    for a in sorted(pages):
        values += [data[:64] for _, data in runs(pages[a])]
values = sorted(set(values))
for sel in range(128):  # more than there are layouts: the target takes it modulo their number
    v = values[(sel * 7) % len(values)]
    write("decode", f"layout{sel:03d}", bytes([sel]) + v.ljust(64, b"\0") + b"0x" + v[::-1].hex().encode())
write("decode", "decimal", bytes([1]) + bytes(64) + b"18446744073709551615")

# --- snapshot: scale-snapshot.py's worst case, small ---------------------
spec = importlib.util.spec_from_file_location("scale", os.path.join(root, "bench", "scale-snapshot.py"))
scale = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale)
for n in (3, 600):
    write("snapshot", f"scale-{n}", scale.build(n))

# --- invq: each fixture unit's IQA and RTADDR, a queue fed between samples --
def descriptors(dsize):
    """One descriptor of every type and granularity the queue carries."""
    out = []
    for t in range(1, 9):
        for g in range(4):
            lo = t | g << 4 | 1 << 16  # DID 1
            hi = 0x2000000 | 3 if t in (2, 6) else 0
            out.append(struct.pack("<QQ", lo, hi).ljust(dsize, b"\0"))
    out.append(struct.pack("<QQ", 0x5 | 1 << 5 | 0x1234 << 32, 0x25a0000).ljust(dsize, b"\0"))  # wait, SW
    out.append(struct.pack("<QQ", 0xF | 0x7 << 9, ~0 & (2**64 - 1)).ljust(dsize, b"\0"))  # no such type
    return out


for name, units, pages, ranges in fixtures:
    for uname, regs in units:
        iqa, rtaddr = regs.get(0x90, 0), regs.get(0x20, 0)
        dsize = 32 if iqa >> 11 & 1 or rtaddr >> 10 & 3 == 1 else 16
        qsize = PAGE << (iqa & 7)
        d = b"".join(descriptors(dsize))
        k = len(d) // dsize
        for flags, t0, label in ((0, 0, "fed"), (0, qsize // dsize - 5, "round"), (1, 0, "dw-changed")):
            t1 = (t0 + k) % (qsize // dsize)
            head = struct.pack("<QQQQBI", iqa, (t0 * dsize // 16) << 4, (t1 * dsize // 16) << 4, rtaddr, flags,
                               t0 * dsize)
            # the first half is in the queue before the first sample, the second half written at its tail
            write("invq", f"{name}-{uname}-{label}", head + d + d)
        # a tail outside the queue, and a queue of the largest size
        write("invq", f"{name}-{uname}-bad-tail", struct.pack("<QQQQBI", iqa, qsize << 4, 0, rtaddr, 0, 0) + d)
        write("invq", f"{name}-{uname}-qs7", struct.pack("<QQQQBI", iqa | 7, 0, (k * dsize // 16) << 4, rtaddr, 0, 0)
              + bytes(len(d)) + d)

# --- conf: iommud.conf as shipped, every key set, and values at the edges --
shipped = open(os.path.join(root, "systemd", "iommud.conf")).read()
write("conf", "shipped", shipped)
write("conf", "defaults-set", "".join(l[1:] + "\n" if l[:1] == "#" and "=" in l and " " not in l.split("=")[0]
                                      else l + "\n" for l in shipped.splitlines()))
write("conf", "values", """[Daemon]
Socket=/run/iommud/other.sock
SocketMode=0600
SocketGroup=iommu
AdminGroup=wheel
Snapshot=/var/lib/iommud/snapshot.iommu
Sysroot=/sysroot
StateDirectory=/var/lib/iommud2
MaxRequestSize=64K
MaxClients=65536
IdleTimeoutSec=infinity
RequestTimeoutSec=1.5s
FaultIntervalSec=250ms
FaultLogSize=0
RefreshIntervalSec=3600

[HTTP]
ListenHTTP=[::1]:9917
AllowChanges=yes
TokenFile=/etc/iommud/token
MaxConnections=1
MaxConnectionsPerIP=65536
ConnectionTimeoutSec=3600
""")
write("conf", "edges", """[Daemon]
MaxRequestSize=64M
MaxRequestSize=256
IdleTimeoutSec=0
RequestTimeoutSec=infinity
FaultIntervalSec=3600
SocketMode=0
Unknown=1
 Socket = /run/x.sock
[Nowhere]
Key=value
[HTTP]
ListenHTTP=no
ConnectionTimeoutSec=1
""")
# one bad value each: the file is refused at its line
for i, line in enumerate(["[Daemon]\nMaxRequestSize=255", "[Daemon]\nRequestTimeoutSec=18446744073709551615us",
                          "[Daemon]\nFaultIntervalSec=3601", "[Daemon]\nSocketMode=1777", "[Daemon]\nSocket=relative",
                          "[HTTP]\nListenHTTP=300.1.1.1:80", "[HTTP]\nListenHTTP=0.0.0.0:0",
                          "[HTTP]\nAllowChanges=maybe", "[Daemon]\nMaxClients=65537"]):
    write("conf", f"bad-{i}", line + "\n")
write("conf", "listen-unix", "[HTTP]\nListenHTTP=unix:/run/iommud/http.sock\n")
write("conf", "no-section", "Socket=/run/a\n\x00\n[Daemon\n")

# --- faults: the kernel's fault lines (test-kmsg.c's) and others ----------
lines = [
    "3,542,2931328,-;DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x2000000 "
    "[fault reason 0x05] PTE Write access is not set",
    "3,543,2931400,-;DMAR: [DMA Read PASID 0x1f] Request device [00:03.0] fault addr 0xdead000 "
    "[fault reason 0x06] PTE Read access is not set",
    "3,544,2931500,-;DMAR: [DMA Read] Request device [00:02.0] fault addr fff00000 "
    "[fault reason 06] PTE Read access is not set",
    "3,545,2931600,-;DMAR: [INTR-REMAP] Request device [f0:1f.0] fault index 0x2a "
    "[fault reason 0x25] Blocked a compatibility format interrupt request",
    "6,546,2931700,-;DMAR: DRHD: handling fault status reg 2",
    "3,547,2931800,-;DMAR: [DMA Write NO_PASID] Request device [00:33.0] fault addr 0x0 [fault reason 0x05] x",
    "4,548,2931900,c;DMAR: [DMA Write NO_PASID] Request device [3a:1f.7] fault addr 0xffffffffffffffff "
    "[fault reason 0xff] Unknown\n SUBSYSTEM=pci\n DEVICE=+pci:0000:3a:1f.7",
]
for i, l in enumerate(lines):
    write("faults", f"line{i}", l)
write("faults", "all", "".join(l + "\n" for l in lines))
write("faults", "many", "".join(lines[0].replace("542", str(542 + i)) + "\n" for i in range(20)))

# --- socket and http: every method of iommud(8), its params, and errors ---
requests = [
    ("v1.info", {}), ("v1.devices", {}), ("v1.domains", {}), ("v1.dmar", {}), ("v1.faults", {}),
    ("v1.version", {}), ("v1.faults.subscribe", {}), ("v1.faults.clear", {}), ("v1.reload", {}),
    ("v1.mappings", {}), ("v1.mappings", {"device": "00:03.0"}), ("v1.mappings", {"device": "0000:00:03.0", "pasid": 0}),
    ("v1.mappings", {"domain": 4}), ("v1.mappings", {"device": "0:3.0", "domain": 65535, "pasid": 1048575}),
    ("v1.power", {"unit": "dmar0", "on": True}), ("v1.domain.create", {"unit": "dmar0", "type": "paging", "id": 9}),
    ("v1.domain.destroy", {"domain": 9}), ("v1.attach", {"device": "00:03.0", "domain": 9}),
    ("v1.detach", {"device": "00:03.0"}),
    ("v1.map", {"domain": 9, "iova": 0x100000, "phys": 0x2000000, "length": 8192, "read": True, "write": False}),
    ("v1.map", {"domain": 9, "iova": 0x200000, "alloc": True, "length": 4096}),
    ("v1.unmap", {"domain": 9, "iova": 0x100000, "length": 8192}),
    ("v1.invalidate", {}), ("v1.nothing", {}),
]
lines = []
for i, (method, params) in enumerate(requests):
    line = json.dumps({"method": method, "params": params, "id": i}, separators=(",", ":"))
    lines.append(line)
    write("socket", f"{i:02d}-{method}", line + "\n")
# each method alone: an input of them all takes 0.4 s under ASan (the
# mappings' workers are forked), which would slow the fuzzer down tenfold
write("socket", "several", "".join(lines[i] + "\n" for i in (0, 5, 23, 10)))
write("socket", "errors", "\n".join([
    "not json", "[1,2]", '{"method":1}', '{"method":"v1.info","id":{"x":1}}', '{"method":"v1.info","id":"s","params":[]}',
    '{"method":"v1.mappings","params":{"device":"zz:00.0"},"id":-1}', '{"method":"v1.mappings","params":{"pasid":1048576}}',
    '{"method":"v1.info","id":1.5,"extra":null}', "[" * 100 + "]" * 100, '{"method":"v1.info","id":"\\u0000"}', "",
]) + "\n" + '{"method":"v1.info"}')
write("socket", "too-long", '{"method":"v1.info","id":1}\n{"method":"' + "x" * 5000 + '"}\n{"method":"v1.info"}\n')

paths = ["/v1/info", "/v1/devices", "/v1/domains", "/v1/dmar", "/v1/faults", "/healthz", "/metrics",
         "/v1/mappings?device=00:03.0", "/v1/mappings?device=0000:00:03.0&pasid=0", "/v1/mappings?domain=0x4",
         "/v1/mappings?domain=-1", "/v1/mappings?device=00:03.0&device=00:02.0", "/v1/mappings?x=%41%zz",
         "/v1/mappings?domain=18446744073709551616", "/v1/mappings?device=&domain=", "/nowhere", "/", "//v1/info",
         "/v1/info?", "/v1/info#frag"]
for i, path in enumerate(paths):
    write("http", f"get-{i:02d}", f"GET {path}\n")
    write("http", f"head-{i:02d}", f"HEAD {path}\nAccept: application/json\n")
auth = "Authorization: Bearer fuzz-token-0123456789abcdef\n"
posts = ["/v1/faults/clear", "/v1/reload", "/v1/power?unit=dmar0&on=true", "/v1/domain/create?type=identity",
         "/v1/attach?device=00:03.0&domain=1", "/v1/map?domain=1&iova=0x1000&length=4096&alloc=true",
         "/v1/unmap?domain=1&iova=0x1000&length=4096", "/v1/info"]
for i, path in enumerate(posts):
    write("http", f"post-{i:02d}", f"POST {path}\n{auth}Content-Length: 0\n")
write("http", "post-no-token", "POST /v1/faults/clear\n")
write("http", "post-bad-token", "POST /v1/reload\nAuthorization: Bearer wrong\n")
write("http", "post-body", f"POST /v1/reload\n{auth}Content-Length: 100000\n")
write("http", "put", "PUT /v1/info\n")

# --- state: control states as iommud(8) documents them ---------------------
def state_file(body, flag):
    """flag 1: the body, the target adds the header; 0: the whole file."""
    if flag:
        return b"\x01" + body
    return b"\x00" + b"iommud-control-state 1 %d %08x\n" % (len(body), zlib.crc32(body)) + body


def unit(name, address, mode, domains, devices, buffers, kind="image", path=None, segment=0):
    return {"name": name, "address": address, "segment": segment, "mode": mode, "default_policy": "passthrough",
            "invalidation": "queued", "table_memory": {"kind": kind, "path": path}, "root_table": 0x20000000,
            "domains": domains, "devices": devices, "buffers": buffers}


default = {"domain": 1, "type": "passthrough", "address_width": None, "default": True, "mappings": []}
paging = {"domain": 5, "type": "paging", "address_width": 48, "default": False, "mappings": [
    {"iova": 0x100000, "phys": 0x30000000, "length": 0x3000, "read": True, "write": True},
    {"iova": 0x200000, "phys": 0x40000000, "length": 0x1000, "read": True, "write": False}]}
identity = {"domain": 6, "type": "identity", "address_width": 48, "default": False, "mappings": [
    {"iova": 0, "phys": 0, "length": 1 << 30, "read": True, "write": True}]}
buffer = {"path": "/run/iommud/buffers/buffer-dmar0-5-0x100000-AAAAAA", "domain": 5, "iova": 0x100000,
          "length": 0x3000, "phys": 0x30000000}
states = {
    "empty": {"units": []},
    "legacy": {"units": [unit("dmar0", 0xfed90000, "legacy", [default, paging, identity],
                              [{"bdf": "0000:00:03.0", "domain": 5}], [buffer])]},
    "scalable": {"units": [unit("dmar1", 0xfed91000, "scalable", [default, dict(paging, address_width=39)],
                                [{"bdf": "0000:00:02.0", "domain": 5}, {"bdf": "0000:00:04.0", "domain": 1}], [],
                                kind="hugetlbfs", path="/dev/hugepages/iommud-dmar1")]},
    "two-units": {"units": [unit("dmar0", 0xfed90000, "legacy", [default], [], []),
                            unit("dmar1", 0xfed91000, "legacy", [default], [], [], segment=1)]},
}
for name, st in states.items():
    body = (json.dumps(st, separators=(",", ":")) + "\n").encode()
    write("state", f"{name}-body", state_file(body, 1))
    write("state", f"{name}-file", state_file(body, 0))
body = (json.dumps(states["legacy"], separators=(",", ":")) + "\n").encode()
whole = state_file(body, 0)
write("state", "torn", whole[:-20])
write("state", "version-2", whole.replace(b"state 1 ", b"state 2 ", 1))
write("state", "crc-wrong", whole[:-3] + b"X" + whole[-2:])

if stamp:
    with open(stamp, "w") as f:
        f.write("".join(f"{t} {len(os.listdir(os.path.join(outdir, t)))}\n" for t in sorted(os.listdir(outdir))))
