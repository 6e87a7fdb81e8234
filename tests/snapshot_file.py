# SPDX-License-Identifier: LGPL-2.1-or-later
"""An independent writer of snapshot files, written from iommu-snapshot(5)
alone: the header, the section table and each section's records as the page
lays them out, CRC-32 as zlib computes it, placement as version 1 writers
do it.  The DMAR table builder follows the ACPI and VT-d specifications.

Every piece can be built on its own, so a test can break exactly one rule
of the page and leave the rest of the file valid.
"""
import json
import struct
import zlib

MAGIC = b"IOMMUSNP"
META, DMAR, UNITS, RAM, PAGE_INDEX, PAGES = range(1, 7)
NAMES = {META: "META", DMAR: "DMAR", UNITS: "UNITS", RAM: "RAM", PAGE_INDEX: "PAGE_INDEX", PAGES: "PAGES"}
PAGE = 4096


def crc(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def align(v, a):
    return (v + a - 1) // a * a


def assemble(sections, version=1, revision=0, flags=0):
    """sections: [(type, bytes)] in file order.  The header at 0, the table
    right after it, each section at the next multiple of 8 (PAGES of 4096),
    zeros between."""
    n = len(sections)
    pos = 64 + 32 * n
    placed = []
    for t, data in sections:
        pos = align(pos, PAGE if t == PAGES else 8)
        placed.append((t, data, pos))
        pos += len(data)
    out = bytearray(pos)
    table = b"".join(struct.pack("<IIQQQ", t, crc(d), off, len(d), 0) for t, d, off in placed)
    out[64:64 + len(table)] = table
    for _, d, off in placed:
        out[off:off + len(d)] = d
    header = bytearray(struct.pack("<8sIIIIIIQQIIQ", MAGIC, version, revision, 64, flags, n, 32, 64, pos,
                                   crc(table), 0, 0))
    header[52:56] = struct.pack("<I", crc(bytes(header)))  # computed with its own field as zeros
    out[0:64] = header
    return bytes(out)


def register(offset, width, value):
    return struct.pack("<IB3xQ", offset, width, value)


def unit_record(name, base, size, segment, regs, name_bytes=None):
    """regs: [(offset, width, value)], written in the order given."""
    raw = name_bytes if name_bytes is not None else name.encode().ljust(32, b"\0")
    assert len(raw) == 32
    head = raw + struct.pack("<QQHHIQ", base, size, segment, 0, len(regs), 0)
    return head + b"".join(register(*r) for r in regs)


def units_section(records):
    return struct.pack("<II", len(records), 0) + b"".join(records)


def ram_section(ranges):
    return b"".join(struct.pack("<QQ", start, end) for start, end in ranges)


def dmar_table(haw, drhds, revision=1):
    """An ACPI DMAR table: the 48-byte header (host address width haw bits)
    and one 16-byte DRHD without device scopes per (flags, segment,
    address); the checksum makes the bytes sum to 0."""
    body = b"".join(struct.pack("<HHBBHQ", 0, 16, flags, 0, segment, address) for flags, segment, address in drhds)
    t = bytearray(struct.pack("<4sIBB6s8sI4sIBB10s", b"DMAR", 48 + len(body), revision, 0, b"IOMMUD", b"EXAMPLE ",
                              1, b"IOMD", 1, haw - 1, 0, bytes(10)) + body)
    t[9] = -sum(t) & 0xFF
    return bytes(t)


class Unit:
    def __init__(self, name, base, regs, size=PAGE, segment=0):
        self.name, self.base, self.regs, self.size, self.segment = name, base, list(regs), size, segment

    def record(self):
        return unit_record(self.name, self.base, self.size, self.segment, sorted(self.regs))


class Snapshot:
    """meta: the text (bytes or str) or an object to write as JSON; pages:
    {address: 4096 bytes}."""

    def __init__(self, meta, dmar=b"", units=(), ram=(), pages=None):
        self.meta, self.dmar, self.units, self.ram = meta, dmar, list(units), list(ram)
        self.pages = dict(pages or {})

    def meta_bytes(self):
        if isinstance(self.meta, bytes):
            return self.meta
        if isinstance(self.meta, str):
            return self.meta.encode()
        return json.dumps(self.meta).encode()

    def sections(self):
        addrs = sorted(self.pages)
        return [
            (META, self.meta_bytes()),
            (DMAR, self.dmar),
            (UNITS, units_section([u.record() for u in self.units])),
            (RAM, ram_section(self.ram)),
            (PAGE_INDEX, b"".join(struct.pack("<Q", a) for a in addrs)),
            (PAGES, b"".join(self.pages[a] for a in addrs)),
        ]

    def build(self, replace=None):
        """replace: {type: bytes} to put in place of a section's contents."""
        return assemble([(t, (replace or {}).get(t, d)) for t, d in self.sections()])


def page(words):
    """A 4096-byte page, zero but for {byte offset: 64-bit value}."""
    p = bytearray(PAGE)
    for off, v in words.items():
        p[off:off + 8] = struct.pack("<Q", v)
    return bytes(p)


def xxd(data, length):
    """The first length bytes as `xxd -l length` shows them."""
    lines = []
    for at in range(0, min(length, len(data)), 16):
        chunk = data[at:min(at + 16, length)]
        hexes = " ".join(chunk[i:i + 2].hex() for i in range(0, len(chunk), 2))
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{at:08x}: {hexes:<39}  {text}")
    return lines
