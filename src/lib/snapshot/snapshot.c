/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The snapshot file (iommu-snapshot(5)): reader, writer and the two access
 * backends over a snapshot.
 *
 * The reader maps the file and checks every byte it will ever look at
 * before handing anything out: the header and the section table (each with
 * a CRC-32), every section's bounds, alignment and CRC-32, then each
 * section's contents.  After snapshot_open() succeeded, nothing below reads
 * outside the mapping, whatever the file held.  Every integer in the file is
 * little-endian and read byte by byte, so neither the host's byte order nor
 * its alignment rules matter.
 */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "basic/crc32.h"
#include "snapshot/snapshot.h"

#define SNAPSHOT_MAGIC "IOMMUSNP"
#define SNAPSHOT_MAGIC_SIZE 8

/* The header of version 1, revision 0; later revisions may make it longer. */
#define HEADER_SIZE 64
#define HEADER_VERSION 8
#define HEADER_REVISION 12
#define HEADER_HEADER_SIZE 16
#define HEADER_FLAGS 20
#define HEADER_N_SECTIONS 24
#define HEADER_ENTRY_SIZE 28
#define HEADER_TABLE_OFFSET 32
#define HEADER_FILE_SIZE 40
#define HEADER_TABLE_CRC 48
#define HEADER_CRC 52

/* Flags a reader must understand to read the file; none are defined yet. */
#define FLAGS_INCOMPATIBLE 0x0000ffffu

#define ENTRY_SIZE 32
#define ENTRY_TYPE 0
#define ENTRY_CRC 4
#define ENTRY_OFFSET 8
#define ENTRY_LENGTH 16

#define UNITS_HEADER_SIZE 8
#define UNIT_SIZE 64
#define UNIT_NAME 0
#define UNIT_BASE 32
#define UNIT_WINDOW 40
#define UNIT_SEGMENT 48
#define UNIT_N_REGS 52
#define REG_SIZE 16
#define REG_OFFSET 0
#define REG_WIDTH 4
#define REG_VALUE 8
#define RAM_RANGE_SIZE 16
#define PAGE_INDEX_ENTRY_SIZE 8

#define SECTION_ALIGN 8

/* Real machines have a few dozen units at most; the bound keeps the
 * duplicate-name check cheap on a hostile file. */
#define UNITS_MAX 4096

/* Section types as stored (on disk, the type number is the index + 1). */
typedef enum section_type {
        SECTION_META,
        SECTION_DMAR,
        SECTION_UNITS,
        SECTION_RAM,
        SECTION_PAGE_INDEX,
        SECTION_PAGES,
        _SECTION_MAX,
        _SECTION_INVALID = -EINVAL,
} section_type;

static const char *const section_names[] = {
        [SECTION_META] = "META",
        [SECTION_DMAR] = "DMAR",
        [SECTION_UNITS] = "UNITS",
        [SECTION_RAM] = "RAM",
        [SECTION_PAGE_INDEX] = "PAGE_INDEX",
        [SECTION_PAGES] = "PAGES",
};
static_assert(ELEMENTSOF(section_names) == _SECTION_MAX, "one name per section type");

static section_type section_type_from_id(uint32_t id) {
        if (id < 1 || id > _SECTION_MAX)
                return _SECTION_INVALID;
        return (section_type) (id - 1);
}

/* "PAGES", or "type 0x17" for types of a later revision. */
static const char *section_label(uint32_t id, char buf[static 32]) {
        section_type t = section_type_from_id(id);
        if (t >= 0)
                return section_names[t];
        (void) snprintf(buf, 32, "type 0x%" PRIx32, id);
        return buf;
}

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t le64(const uint8_t *p) {
        return (uint64_t) le32(p) | (uint64_t) le32(p + 4) << 32;
}

static void put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v) {
        for (unsigned i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v) {
        put_le32(p, (uint32_t) v);
        put_le32(p + 4, (uint32_t) (v >> 32));
}

static uint64_t align_up(uint64_t v, uint64_t a) {
        return (v + a - 1) & ~(a - 1);
}

/* The header's CRC covers header_size bytes with its own field as zeros. */
static uint32_t header_crc(const uint8_t *h, size_t header_size) {
        static const uint8_t zero[4];
        uint32_t crc;

        crc = crc32_ieee(0, h, HEADER_CRC);
        crc = crc32_ieee(crc, zero, sizeof zero);
        return crc32_ieee(crc, h + HEADER_CRC + 4, header_size - HEADER_CRC - 4);
}

/* Whether the page at a lies inside RAM, ranges that touch continuing each
 * other (as iommu_ram_contains() has it).  Pages are visited in ascending
 * order; *j carries the position in the sorted ranges from call to call. */
static bool page_in_ranges(const phys_range *ranges, size_t n, size_t *j, uint64_t a) {
        uint64_t last = a + (VTD_PAGE_SIZE - 1);

        while (*j < n && ranges[*j].end < a)
                (*j)++;
        if (*j == n || a < ranges[*j].start)
                return false;
        for (size_t k = *j; ranges[k].end < last; k++)
                if (k + 1 >= n || ranges[k + 1].start != ranges[k].end + 1)
                        return false;
        return true;
}

static bool unit_name_valid(const char *name, size_t max) {
        size_t n = strnlen(name, max);

        if (n == 0 || n == max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (name[i] <= ' ' || name[i] > '~')
                        return false;
        return true;
}

/* ======================================================================== */
/* Reader */

struct snapshot {
        void *map;
        size_t size;

        json_object *meta;
        const uint8_t *dmar;
        size_t dmar_size;
        snapshot_unit *units;
        size_t n_units;
        phys_range *ram;
        size_t n_ram;
        const uint8_t *page_index; /* n_pages little-endian u64, sorted */
        const uint8_t *pages;      /* n_pages * VTD_PAGE_SIZE, in index order */
        size_t n_pages;
};

/* Every complaint about the file's contents starts with the file's name. */
#define bad(err, path, fmt, ...) iommu_error_set(err, EBADMSG, "snapshot %s: " fmt, path, ##__VA_ARGS__)

typedef struct section {
        uint32_t id;
        uint32_t crc;
        uint64_t offset, length;
} section;

/* A stretch of the file something claims, for the overlap check. */
typedef struct region {
        uint64_t start, end; /* end exclusive */
        size_t section;      /* index into the table, or SIZE_MAX (header), SIZE_MAX - 1 (table) */
} region;

static int region_cmp(const void *a, const void *b) {
        const region *x = a, *y = b;

        if (x->start != y->start)
                return x->start < y->start ? -1 : 1;
        return x->end < y->end ? -1 : x->end > y->end;
}

static const char *region_label(const region *r, const section *sections, char buf[static 48]) {
        char label[32];

        if (r->section == SIZE_MAX)
                return "the header";
        if (r->section == SIZE_MAX - 1)
                return "the section table";
        (void) snprintf(buf, 48, "section %s", section_label(sections[r->section].id, label));
        return buf;
}

static int check_overlaps(const section *sections, size_t n, uint64_t header_size, uint64_t table_offset,
                          uint64_t table_length, const char *path, iommu_error *err) {
        _cleanup_free_ region *regions = NULL;
        size_t m = 0;

        regions = calloc(n + 2, sizeof *regions);
        if (!regions)
                return iommu_error_set(err, ENOMEM, "Out of memory reading snapshot %s", path);

        regions[m++] = (region){ .start = 0, .end = header_size, .section = SIZE_MAX };
        if (table_length > 0)
                regions[m++] = (region){ .start = table_offset,
                                         .end = table_offset + table_length,
                                         .section = SIZE_MAX - 1 };
        for (size_t i = 0; i < n; i++)
                if (sections[i].length > 0)
                        regions[m++] = (region){ .start = sections[i].offset,
                                                 .end = sections[i].offset + sections[i].length,
                                                 .section = i };
        qsort(regions, m, sizeof *regions, region_cmp);

        for (size_t i = 1; i < m; i++)
                if (regions[i].start < regions[i - 1].end) {
                        char a[48], b[48];
                        /* name a section first when one of the two is the header or table */
                        const region *x = &regions[i], *y = &regions[i - 1];
                        if (x->section >= SIZE_MAX - 1) {
                                x = &regions[i - 1];
                                y = &regions[i];
                        }
                        return bad(err, path, "%s overlaps %s", region_label(x, sections, a),
                                   region_label(y, sections, b));
                }
        return 0;
}

static const char *json_type_noun(json_type t) {
        switch (t) {
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        case json_type_int:
        case json_type_double:
                return "a number";
        case json_type_boolean:
                return "a boolean";
        case json_type_null:
                return "null";
        default:
                return "not an object";
        }
}

static int parse_meta(const uint8_t *p, size_t len, json_object **ret, const char *path, iommu_error *err) {
        json_tokener *tok;
        json_object *o;
        size_t end;

        if (len == 0)
                return bad(err, path, "section META is empty (expected a JSON object)");
        if (memchr(p, '\0', len))
                return bad(err, path, "section META holds a NUL byte (expected JSON text)");
        if (len > INT_MAX)
                return bad(err, path, "section META is too large (%zu bytes)", len);

        tok = json_tokener_new();
        if (!tok)
                return iommu_error_set(err, ENOMEM, "Out of memory reading snapshot %s", path);
#ifdef JSON_TOKENER_VALIDATE_UTF8
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
#else
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
#endif
        o = json_tokener_parse_ex(tok, (const char *) p, (int) len);
        if (!o) {
                enum json_tokener_error e = json_tokener_get_error(tok);
                json_tokener_free(tok);
                if (e == json_tokener_success) /* the text was "null" */
                        return bad(err, path, "section META is not a JSON object (it is null)");
                if (e == json_tokener_continue)
                        return bad(err, path, "section META is not a JSON object (the text ends early)");
                return bad(err, path, "section META is not valid JSON: %s", json_tokener_error_desc(e));
        }
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        for (; end < len; end++)
                if (!strchr(" \t\r\n", p[end])) {
                        (void) json_object_put(o);
                        return bad(err, path, "section META has data after its JSON object (at byte %zu)",
                                   end);
                }
        if (json_object_get_type(o) != json_type_object) {
                json_type t = json_object_get_type(o);
                (void) json_object_put(o);
                return bad(err, path, "section META is not a JSON object (it is %s)", json_type_noun(t));
        }
        *ret = o;
        return 0;
}

static int parse_units(snapshot *s, const uint8_t *p, uint64_t len, const char *path, iommu_error *err) {
        uint64_t pos = UNITS_HEADER_SIZE;
        uint32_t count;

        if (len < UNITS_HEADER_SIZE)
                return bad(err, path, "section UNITS is truncated (%" PRIu64 " bytes, expected at least %u)",
                           len, UNITS_HEADER_SIZE);
        count = le32(p);
        if (count > UNITS_MAX)
                return bad(err, path, "section UNITS claims %" PRIu32 " units (at most %d)", count,
                           UNITS_MAX);
        if (count > (len - UNITS_HEADER_SIZE) / UNIT_SIZE)
                return bad(err, path,
                           "section UNITS is truncated (%" PRIu64 " bytes, too short for %" PRIu32 " units)",
                           len, count);

        s->units = calloc(count ?: 1, sizeof *s->units);
        if (!s->units)
                return iommu_error_set(err, ENOMEM, "Out of memory reading snapshot %s", path);

        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *u = p + pos;
                snapshot_unit *su = &s->units[i];
                uint32_t n_regs;

                if (len - pos < UNIT_SIZE)
                        return bad(err, path,
                                   "section UNITS is truncated (%" PRIu64 " bytes, unit %" PRIu32
                                   " starts at byte %" PRIu64 ")",
                                   len, i, pos);
                memcpy(su->name, u + UNIT_NAME, SNAPSHOT_UNIT_NAME_MAX);
                if (!unit_name_valid(su->name, SNAPSHOT_UNIT_NAME_MAX))
                        return bad(err, path,
                                   "unit %" PRIu32 " in section UNITS has no valid name "
                                   "(1 to %d printable characters, NUL-terminated)",
                                   i, SNAPSHOT_UNIT_NAME_MAX - 1);
                for (uint32_t k = 0; k < i; k++)
                        if (streq(s->units[k].name, su->name))
                                return bad(err, path, "unit name %s appears twice in section UNITS",
                                           su->name);
                su->base = le64(u + UNIT_BASE);
                su->size = le64(u + UNIT_WINDOW);
                su->segment = le16(u + UNIT_SEGMENT);
                if (su->size == 0 || su->base + (su->size - 1) < su->base)
                        return bad(err, path,
                                   "unit %s has an impossible register window (base 0x%" PRIx64 ", %" PRIu64
                                   " bytes)",
                                   su->name, su->base, su->size);
                n_regs = le32(u + UNIT_N_REGS);
                pos += UNIT_SIZE;
                s->n_units = i + 1; /* from here on, snapshot_free() frees its registers */

                if (n_regs > (len - pos) / REG_SIZE)
                        return bad(err, path,
                                   "section UNITS is truncated (%" PRIu64
                                   " bytes, too short for unit %s's %" PRIu32 " registers)",
                                   len, su->name, n_regs);
                su->regs = calloc(n_regs ?: 1, sizeof *su->regs);
                if (!su->regs)
                        return iommu_error_set(err, ENOMEM, "Out of memory reading snapshot %s", path);
                su->n_regs = n_regs;

                for (uint32_t k = 0; k < n_regs; k++, pos += REG_SIZE) {
                        snapshot_reg *r = &su->regs[k];
                        r->offset = le32(p + pos + REG_OFFSET);
                        r->width = p[pos + REG_WIDTH];
                        r->value = le64(p + pos + REG_VALUE);

                        if (r->width != 32 && r->width != 64)
                                return bad(err, path,
                                           "unit %s register 0x%" PRIx32 " has width %u (expected 32 or 64)",
                                           su->name, r->offset, r->width);
                        if (r->offset % (r->width / 8))
                                return bad(err, path,
                                           "unit %s register 0x%" PRIx32
                                           " is not aligned to its %u-bit width",
                                           su->name, r->offset, r->width);
                        if ((uint64_t) r->offset + r->width / 8 > su->size)
                                return bad(err, path,
                                           "unit %s register 0x%" PRIx32 " lies outside its %" PRIu64
                                           "-byte register window",
                                           su->name, r->offset, su->size);
                        if (k > 0 && r->offset <= su->regs[k - 1].offset)
                                return bad(err, path,
                                           "unit %s registers are not sorted by offset (0x%" PRIx32
                                           " after 0x%" PRIx32 ")",
                                           su->name, r->offset, su->regs[k - 1].offset);
                }
        }
        if (pos != len)
                return bad(err, path, "section UNITS has %" PRIu64 " bytes after its last unit", len - pos);
        return 0;
}

static int parse_ram(snapshot *s, const uint8_t *p, uint64_t len, const char *path, iommu_error *err) {
        size_t n;

        if (len % RAM_RANGE_SIZE)
                return bad(err, path, "section RAM has %" PRIu64 " bytes, not a multiple of %u", len,
                           RAM_RANGE_SIZE);
        n = len / RAM_RANGE_SIZE;
        s->ram = calloc(n ?: 1, sizeof *s->ram);
        if (!s->ram)
                return iommu_error_set(err, ENOMEM, "Out of memory reading snapshot %s", path);

        for (size_t i = 0; i < n; i++) {
                phys_range *r = &s->ram[i];
                r->start = le64(p + i * RAM_RANGE_SIZE);
                r->end = le64(p + i * RAM_RANGE_SIZE + 8);
                if (r->start > r->end)
                        return bad(err, path,
                                   "RAM range %zu ends before it starts (0x%" PRIx64 "-0x%" PRIx64 ")", i,
                                   r->start, r->end);
                if (i > 0 && r->start <= s->ram[i - 1].end)
                        return bad(err, path,
                                   "RAM ranges are not sorted and disjoint (0x%" PRIx64 "-0x%" PRIx64
                                   " after 0x%" PRIx64 "-0x%" PRIx64 ")",
                                   r->start, r->end, s->ram[i - 1].start, s->ram[i - 1].end);
        }
        s->n_ram = n;
        return 0;
}

static int parse_pages(snapshot *s, const uint8_t *index, uint64_t index_len, const uint8_t *pages,
                       uint64_t pages_len, const char *path, iommu_error *err) {
        uint64_t n, expected;
        size_t j = 0;

        if (index_len % PAGE_INDEX_ENTRY_SIZE)
                return bad(err, path, "section PAGE_INDEX has %" PRIu64 " bytes, not a multiple of %u",
                           index_len, PAGE_INDEX_ENTRY_SIZE);
        n = index_len / PAGE_INDEX_ENTRY_SIZE;

        for (uint64_t i = 0; i < n; i++) {
                uint64_t a = le64(index + i * PAGE_INDEX_ENTRY_SIZE);
                if (a % VTD_PAGE_SIZE)
                        return bad(err, path,
                                   "page 0x%" PRIx64 " in section PAGE_INDEX is not 4096-byte aligned", a);
                if (i > 0) {
                        uint64_t prev = le64(index + (i - 1) * PAGE_INDEX_ENTRY_SIZE);
                        if (a == prev)
                                return bad(err, path,
                                           "page 0x%" PRIx64 " appears twice in section PAGE_INDEX", a);
                        if (a < prev)
                                return bad(err, path,
                                           "section PAGE_INDEX is not sorted (0x%" PRIx64 " after 0x%" PRIx64
                                           ")",
                                           a, prev);
                }
                if (!page_in_ranges(s->ram, s->n_ram, &j, a))
                        return bad(err, path,
                                   "page 0x%" PRIx64 " in section PAGE_INDEX is not inside a RAM range", a);
        }

        expected = n * VTD_PAGE_SIZE; /* n <= file size / 8: no overflow */
        if (pages_len < expected)
                return bad(err, path, "section PAGES is truncated (%" PRIu64 " bytes, expected %" PRIu64 ")",
                           pages_len, expected);
        if (pages_len > expected)
                return bad(err, path,
                           "section PAGES has %" PRIu64 " bytes, expected %" PRIu64 " for %" PRIu64 " pages",
                           pages_len, expected, n);
        s->page_index = index;
        s->pages = pages;
        s->n_pages = n;
        return 0;
}

static int snapshot_parse(snapshot *s, const char *path, iommu_error *err) {
        _cleanup_free_ section *sections = NULL;
        const uint8_t *f = s->map;
        const section *known[_SECTION_MAX] = {};
        uint32_t version, header_size, flags, n, entry_size;
        uint64_t table_offset, table_length, file_size;
        char label[32];
        int r;

        /* Magic and version first: they say what the rest of the file is. */
        if (s->size < SNAPSHOT_MAGIC_SIZE) {
                if (memcmp(f, SNAPSHOT_MAGIC, s->size) == 0)
                        return bad(err, path, "file is truncated (%zu bytes, the header alone is %u)",
                                   s->size, HEADER_SIZE);
                return bad(err, path, "not an iommud snapshot (bad magic)");
        }
        if (memcmp(f, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_SIZE) != 0)
                return bad(err, path, "not an iommud snapshot (bad magic)");
        if (s->size < HEADER_VERSION + 4)
                return bad(err, path, "file is truncated (%zu bytes, the header alone is %u)", s->size,
                           HEADER_SIZE);
        version = le32(f + HEADER_VERSION);
        if (version != SNAPSHOT_FORMAT_VERSION)
                return iommu_error_set(err, EPROTONOSUPPORT,
                                       "snapshot %s: snapshot format version %" PRIu32
                                       " is not supported (this iommuctl reads version %d)",
                                       path, version, SNAPSHOT_FORMAT_VERSION);
        if (s->size < HEADER_SIZE)
                return bad(err, path, "header is truncated (%zu bytes, expected %u)", s->size, HEADER_SIZE);
        header_size = le32(f + HEADER_HEADER_SIZE);
        if (header_size < HEADER_SIZE)
                return bad(err, path, "header size %" PRIu32 " is too small (at least %u)", header_size,
                           HEADER_SIZE);
        if (header_size > s->size)
                return bad(err, path, "header is truncated (%zu bytes, expected %" PRIu32 ")", s->size,
                           header_size);
        if (header_crc(f, header_size) != le32(f + HEADER_CRC))
                return bad(err, path, "CRC mismatch in the header");

        file_size = le64(f + HEADER_FILE_SIZE);
        if (s->size < file_size)
                return bad(err, path, "file is truncated (%zu bytes, expected %" PRIu64 ")", s->size,
                           file_size);
        if (s->size > file_size)
                return bad(err, path, "file has %zu bytes, expected %" PRIu64 " (data after the end)",
                           s->size, file_size);

        flags = le32(f + HEADER_FLAGS);
        if (flags & FLAGS_INCOMPATIBLE)
                return iommu_error_set(
                        err, EOPNOTSUPP,
                        "snapshot %s: uses format features this reader does not know (flags 0x%" PRIx32 ")",
                        path, flags & FLAGS_INCOMPATIBLE);

        /* The section table. */
        n = le32(f + HEADER_N_SECTIONS);
        entry_size = le32(f + HEADER_ENTRY_SIZE);
        table_offset = le64(f + HEADER_TABLE_OFFSET);
        if (entry_size < ENTRY_SIZE)
                return bad(err, path, "section table entries are %" PRIu32 " bytes (at least %u expected)",
                           entry_size, ENTRY_SIZE);
        table_length = (uint64_t) n * entry_size;
        if (table_offset > s->size || table_length > s->size - table_offset)
                return bad(err, path,
                           "section table (offset 0x%" PRIx64 ", %" PRIu64
                           " bytes) extends past the end of the file (%zu bytes)",
                           table_offset, table_length, s->size);
        if (table_length > 0 && table_offset < header_size)
                return bad(err, path, "section table overlaps the header");
        if (crc32_ieee(0, f + table_offset, table_length) != le32(f + HEADER_TABLE_CRC))
                return bad(err, path, "CRC mismatch in the section table");

        sections = calloc(n ?: 1, sizeof *sections);
        if (!sections)
                return iommu_error_set(err, ENOMEM, "Out of memory reading snapshot %s", path);

        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *e = f + table_offset + (uint64_t) i * entry_size;
                section *sec = &sections[i];
                section_type t;
                const char *name;

                sec->id = le32(e + ENTRY_TYPE);
                sec->crc = le32(e + ENTRY_CRC);
                sec->offset = le64(e + ENTRY_OFFSET);
                sec->length = le64(e + ENTRY_LENGTH);
                name = section_label(sec->id, label);

                if (sec->offset > s->size || sec->length > s->size - sec->offset)
                        return bad(err, path,
                                   "section %s extends past the end of the file (offset 0x%" PRIx64
                                   ", %" PRIu64 " bytes; the file has %zu)",
                                   name, sec->offset, sec->length, s->size);

                t = section_type_from_id(sec->id);
                if (t < 0)
                        continue; /* a later revision's: bounds checked, CRC checked below, else skipped */
                if (known[t])
                        return bad(err, path, "section %s appears more than once", name);
                known[t] = sec;
                if (sec->offset % SECTION_ALIGN)
                        return bad(err, path, "section %s is not %u-byte aligned (offset 0x%" PRIx64 ")",
                                   name, SECTION_ALIGN, sec->offset);
                if (t == SECTION_PAGES && sec->offset % VTD_PAGE_SIZE)
                        return bad(err, path, "section PAGES is not %u-byte aligned (offset 0x%" PRIx64 ")",
                                   VTD_PAGE_SIZE, sec->offset);
        }

        r = check_overlaps(sections, n, header_size, table_offset, table_length, path, err);
        if (r < 0)
                return r;

        for (uint32_t i = 0; i < n; i++)
                if (crc32_ieee(0, f + sections[i].offset, sections[i].length) != sections[i].crc)
                        return bad(err, path, "CRC mismatch in section %s",
                                   section_label(sections[i].id, label));

        for (section_type t = 0; t < _SECTION_MAX; t++)
                if (!known[t])
                        return bad(err, path, "section %s is missing", section_names[t]);

        /* The contents, each section on its own terms. */
        r = parse_meta(f + known[SECTION_META]->offset, known[SECTION_META]->length, &s->meta, path, err);
        if (r < 0)
                return r;
        s->dmar = f + known[SECTION_DMAR]->offset;
        s->dmar_size = known[SECTION_DMAR]->length;
        r = parse_units(s, f + known[SECTION_UNITS]->offset, known[SECTION_UNITS]->length, path, err);
        if (r < 0)
                return r;
        r = parse_ram(s, f + known[SECTION_RAM]->offset, known[SECTION_RAM]->length, path, err);
        if (r < 0)
                return r;
        return parse_pages(s, f + known[SECTION_PAGE_INDEX]->offset, known[SECTION_PAGE_INDEX]->length,
                           f + known[SECTION_PAGES]->offset, known[SECTION_PAGES]->length, path, err);
}

int snapshot_open(const char *path, snapshot **ret, iommu_error *err) {
        _cleanup_(snapshot_freep) snapshot *s = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to open snapshot %s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return iommu_error_set(err, errno, "Failed to stat snapshot %s: %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode))
                return iommu_error_set(err, EISDIR, "snapshot %s is a directory, not a file", path);
        if (!S_ISREG(st.st_mode))
                return iommu_error_set(err, EINVAL, "snapshot %s is not a regular file", path);
        if (st.st_size == 0)
                return bad(err, path, "file is empty (not an iommud snapshot)");
        if ((uint64_t) st.st_size > SIZE_MAX)
                return iommu_error_set(err, EFBIG, "snapshot %s is too large to map", path);

        s = calloc(1, sizeof *s);
        if (!s)
                return iommu_error_set(err, ENOMEM, "Out of memory reading snapshot %s", path);
        s->map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (s->map == MAP_FAILED) {
                s->map = NULL;
                return iommu_error_set(err, errno, "Failed to map snapshot %s: %s", path, strerror(errno));
        }
        s->size = (size_t) st.st_size;

        r = snapshot_parse(s, path, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

snapshot *snapshot_free(snapshot *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_units; i++)
                free(s->units[i].regs);
        free(s->units);
        free(s->ram);
        if (s->meta)
                (void) json_object_put(s->meta);
        if (s->map)
                (void) munmap(s->map, s->size);
        free(s);
        return NULL;
}

json_object *snapshot_meta(const snapshot *s) {
        return s->meta;
}

const void *snapshot_dmar(const snapshot *s, size_t *ret_size) {
        *ret_size = s->dmar_size;
        return s->dmar_size > 0 ? s->dmar : NULL;
}

size_t snapshot_n_units(const snapshot *s) {
        return s->n_units;
}

const snapshot_unit *snapshot_unit_nth(const snapshot *s, size_t i) {
        return i < s->n_units ? &s->units[i] : NULL;
}

const phys_range *snapshot_ram_ranges(const snapshot *s, size_t *ret_n) {
        *ret_n = s->n_ram;
        return s->ram;
}

size_t snapshot_n_pages(const snapshot *s) {
        return s->n_pages;
}

/* ======================================================================== */
/* RAM backend */

typedef struct snapshot_ram_backend {
        iommu_ram ram; /* first: the ops get this pointer */
        const snapshot *s;
} snapshot_ram_backend;

static bool page_find(const snapshot *s, uint64_t paddr, size_t *ret) {
        size_t lo = 0, hi = s->n_pages;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                uint64_t a = le64(s->page_index + mid * PAGE_INDEX_ENTRY_SIZE);
                if (a < paddr)
                        lo = mid + 1;
                else if (a > paddr)
                        hi = mid;
                else {
                        *ret = mid;
                        return true;
                }
        }
        return false;
}

static int snapshot_ram_read(iommu_ram *ram, uint64_t paddr, void *buf, size_t len, iommu_error *err) {
        const snapshot *s = ((snapshot_ram_backend *) ram)->s;
        uint64_t first, last;
        uint8_t *out = buf;
        size_t i;

        if (len == 0)
                return 0;
        if (len - 1 > UINT64_MAX - paddr)
                return iommu_error_set(err, ERANGE, "Read of %zu bytes at 0x%" PRIx64 " wraps around", len,
                                       paddr);
        first = paddr & ~(uint64_t) (VTD_PAGE_SIZE - 1);
        last = (paddr + (len - 1)) & ~(uint64_t) (VTD_PAGE_SIZE - 1);

        /* every page first, so buf is untouched on failure */
        for (uint64_t a = first;; a += VTD_PAGE_SIZE) {
                if (!page_find(s, a, &i))
                        return iommu_error_set(err, ENODATA,
                                               "page 0x%" PRIx64 " was not captured in the snapshot", a);
                if (a == last)
                        break;
        }
        for (uint64_t a = paddr; len > 0;) {
                uint64_t page = a & ~(uint64_t) (VTD_PAGE_SIZE - 1), in = a - page;
                size_t chunk = VTD_PAGE_SIZE - in < len ? VTD_PAGE_SIZE - in : len;
                (void) page_find(s, page, &i);
                memcpy(out, s->pages + i * VTD_PAGE_SIZE + in, chunk);
                out += chunk;
                a += chunk;
                len -= chunk;
        }
        return 0;
}

/* Pages adjacent in memory and both captured are adjacent in the file too,
 * so a peek may span pages. */
static const void *snapshot_ram_peek(iommu_ram *ram, uint64_t paddr, size_t len) {
        const snapshot *s = ((snapshot_ram_backend *) ram)->s;
        uint64_t first, last;
        size_t i;

        if (len == 0)
                len = 1;
        if (len - 1 > UINT64_MAX - paddr)
                return NULL;
        first = paddr & ~(uint64_t) (VTD_PAGE_SIZE - 1);
        last = (paddr + (len - 1)) & ~(uint64_t) (VTD_PAGE_SIZE - 1);
        if (!page_find(s, first, &i))
                return NULL;
        if ((last - first) / VTD_PAGE_SIZE >= s->n_pages - i)
                return NULL;
        if (last != first &&
            le64(s->page_index + (i + (last - first) / VTD_PAGE_SIZE) * PAGE_INDEX_ENTRY_SIZE) != last)
                return NULL; /* sorted and unique: the last one matching means all in between do */
        return s->pages + i * VTD_PAGE_SIZE + (paddr - first);
}

static void snapshot_ram_free(iommu_ram *ram) {
        free(ram);
}

static const iommu_ram_ops snapshot_ram_ops = {
        .name = "snapshot",
        .read = snapshot_ram_read,
        .peek = snapshot_ram_peek,
        .free = snapshot_ram_free,
};

int snapshot_ram(snapshot *s, iommu_ram **ret) {
        snapshot_ram_backend *b;

        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        if (s->n_ram > 0) {
                b->ram.ranges = calloc(s->n_ram, sizeof *b->ram.ranges);
                if (!b->ram.ranges) {
                        free(b);
                        return -ENOMEM;
                }
                memcpy(b->ram.ranges, s->ram, s->n_ram * sizeof *s->ram);
        }
        b->ram.ops = &snapshot_ram_ops;
        b->ram.n_ranges = s->n_ram;
        b->s = s;
        *ret = &b->ram;
        return 0;
}

/* ======================================================================== */
/* Register backend */

typedef struct snapshot_regs_backend {
        iommu_regs regs; /* first: the ops get this pointer */
        const snapshot_unit *unit;
} snapshot_regs_backend;

static int snapshot_regs_read(iommu_regs *regs, uint32_t offset, unsigned width, uint64_t *ret,
                              iommu_error *err) {
        const snapshot_unit *u = ((snapshot_regs_backend *) regs)->unit;
        size_t lo = 0, hi = u->n_regs;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const snapshot_reg *r = &u->regs[mid];
                if (r->offset < offset)
                        lo = mid + 1;
                else if (r->offset > offset)
                        hi = mid;
                else if (r->width != width)
                        return iommu_error_set(err, EINVAL,
                                               "Register 0x%" PRIx32
                                               " of %s was captured %u bits wide, not %u",
                                               offset, u->name, r->width, width);
                else {
                        *ret = r->value;
                        return 0;
                }
        }
        return iommu_error_set(err, ENODATA, "Register 0x%" PRIx32 " of %s was not captured in the snapshot",
                               offset, u->name);
}

static void snapshot_regs_free(iommu_regs *regs) {
        free(regs);
}

static const iommu_regs_ops snapshot_regs_ops = {
        .name = "snapshot",
        .read = snapshot_regs_read,
        .write = NULL,
        .free = snapshot_regs_free,
};

int snapshot_regs(snapshot *s, size_t unit, iommu_regs **ret) {
        snapshot_regs_backend *b;

        if (unit >= s->n_units)
                return -EINVAL;
        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->regs = (iommu_regs){
                .ops = &snapshot_regs_ops,
                .base = s->units[unit].base,
                .size = s->units[unit].size,
        };
        b->unit = &s->units[unit];
        *ret = &b->regs;
        return 0;
}

/* ======================================================================== */
/* Writer */

typedef struct writer_page {
        uint64_t paddr;
        uint64_t seq; /* order of addition: the last one added wins */
        uint8_t *data;
} writer_page;

struct snapshot_writer {
        json_object *meta;
        uint8_t *dmar;
        size_t dmar_size;
        snapshot_unit *units;
        size_t n_units;
        phys_range *ram;
        size_t n_ram;
        writer_page *pages;
        size_t n_pages, n_alloc;
        size_t n_compacted; /* pages[0..n_compacted) are sorted and unique */
        uint64_t seq;
};

int snapshot_writer_new(snapshot_writer **ret) {
        snapshot_writer *w = calloc(1, sizeof *w);

        if (!w)
                return -ENOMEM;
        *ret = w;
        return 0;
}

snapshot_writer *snapshot_writer_free(snapshot_writer *w) {
        if (!w)
                return NULL;
        if (w->meta)
                (void) json_object_put(w->meta);
        free(w->dmar);
        for (size_t i = 0; i < w->n_units; i++)
                free(w->units[i].regs);
        free(w->units);
        free(w->ram);
        for (size_t i = 0; i < w->n_pages; i++)
                free(w->pages[i].data);
        free(w->pages);
        free(w);
        return NULL;
}

int snapshot_writer_set_meta(snapshot_writer *w, json_object *meta) {
        if (meta && json_object_get_type(meta) != json_type_object)
                return -EINVAL;
        if (w->meta)
                (void) json_object_put(w->meta);
        w->meta = meta ? json_object_get(meta) : NULL;
        return 0;
}

int snapshot_writer_set_dmar(snapshot_writer *w, const void *data, size_t size) {
        uint8_t *copy = NULL;

        if (size > 0) {
                if (!data)
                        return -EINVAL;
                copy = malloc(size);
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, data, size);
        }
        free(w->dmar);
        w->dmar = copy;
        w->dmar_size = size;
        return 0;
}

static int reg_cmp(const void *a, const void *b) {
        const snapshot_reg *x = a, *y = b;
        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int snapshot_writer_add_unit(snapshot_writer *w, const snapshot_unit *u) {
        _cleanup_free_ snapshot_reg *regs = NULL;
        snapshot_unit *units;

        /* refuse here what the reader would refuse */
        if (!unit_name_valid(u->name, sizeof u->name))
                return -EINVAL;
        if (u->size == 0 || u->base + (u->size - 1) < u->base)
                return -EINVAL;
        if (u->n_regs > UINT32_MAX || (u->n_regs > 0 && !u->regs))
                return -EINVAL;
        for (size_t i = 0; i < w->n_units; i++)
                if (streq(w->units[i].name, u->name))
                        return -EEXIST;
        if (w->n_units >= UNITS_MAX)
                return -E2BIG;

        regs = calloc(u->n_regs ?: 1, sizeof *regs);
        if (!regs)
                return -ENOMEM;
        if (u->n_regs > 0)
                memcpy(regs, u->regs, u->n_regs * sizeof *regs);
        qsort(regs, u->n_regs, sizeof *regs, reg_cmp);
        for (size_t i = 0; i < u->n_regs; i++) {
                const snapshot_reg *r = &regs[i];
                if (r->width != 32 && r->width != 64)
                        return -EINVAL;
                if (r->offset % (r->width / 8) || (uint64_t) r->offset + r->width / 8 > u->size)
                        return -EINVAL;
                if (i > 0 && r->offset == regs[i - 1].offset)
                        return -EINVAL; /* one value per offset */
        }

        units = reallocarray(w->units, w->n_units + 1, sizeof *units);
        if (!units)
                return -ENOMEM;
        w->units = units;
        units[w->n_units] = *u;
        units[w->n_units].regs = TAKE_PTR(regs);
        w->n_units++;
        return 0;
}

static int range_cmp(const void *a, const void *b) {
        const phys_range *x = a, *y = b;
        return x->start < y->start ? -1 : x->start > y->start;
}

int snapshot_writer_set_ram_ranges(snapshot_writer *w, const phys_range *r, size_t n) {
        _cleanup_free_ phys_range *copy = NULL;

        if (n > 0 && !r)
                return -EINVAL;
        if (n > 0) {
                copy = calloc(n, sizeof *copy);
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, r, n * sizeof *copy);
                qsort(copy, n, sizeof *copy, range_cmp);
                for (size_t i = 0; i < n; i++)
                        if (copy[i].start > copy[i].end || (i > 0 && copy[i].start <= copy[i - 1].end))
                                return -EINVAL;
        }
        free(w->ram);
        w->ram = TAKE_PTR(copy);
        w->n_ram = n;
        return 0;
}

static int page_cmp(const void *a, const void *b) {
        const writer_page *x = a, *y = b;

        if (x->paddr != y->paddr)
                return x->paddr < y->paddr ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort and keep the last addition of each address. */
static void writer_compact(snapshot_writer *w) {
        size_t out = 0;

        if (w->n_compacted == w->n_pages)
                return;
        qsort(w->pages, w->n_pages, sizeof *w->pages, page_cmp);
        for (size_t i = 0; i < w->n_pages; i++) {
                if (i + 1 < w->n_pages && w->pages[i + 1].paddr == w->pages[i].paddr) {
                        free(w->pages[i].data);
                        continue;
                }
                w->pages[out++] = w->pages[i];
        }
        w->n_pages = w->n_compacted = out;
}

int snapshot_writer_add_page(snapshot_writer *w, uint64_t paddr, const void *data) {
        uint8_t *copy;

        if (paddr % VTD_PAGE_SIZE || !data)
                return -EINVAL;

        if (w->n_pages == w->n_alloc) {
                size_t want;
                writer_page *p;

                /* re-adding pages must not grow memory without bound */
                if (w->n_pages >= 1024 && w->n_pages >= 2 * w->n_compacted) {
                        writer_compact(w);
                        if (w->n_pages < w->n_alloc)
                                goto add;
                }
                want = w->n_alloc ? w->n_alloc * 2 : 64;
                p = reallocarray(w->pages, want, sizeof *p);
                if (!p)
                        return -ENOMEM;
                w->pages = p;
                w->n_alloc = want;
        }
add:
        copy = malloc(VTD_PAGE_SIZE);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, VTD_PAGE_SIZE);
        w->pages[w->n_pages++] = (writer_page){ .paddr = paddr, .seq = w->seq++, .data = copy };
        return 0;
}

static int pwrite_all(int fd, const void *data, size_t len, uint64_t offset) {
        const uint8_t *p = data;

        while (len > 0) {
                ssize_t k = pwrite(fd, p, len, (off_t) offset);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EIO;
                p += k;
                len -= (size_t) k;
                offset += (uint64_t) k;
        }
        return 0;
}

/* The encoded sections, in file order. */
typedef struct writer_layout {
        char *meta; /* JSON text, owned by a json_object: do not free */
        size_t meta_size;
        uint8_t *units;
        size_t units_size;
        uint8_t *ram;
        size_t ram_size;
        uint8_t *index;
        size_t index_size;
        uint8_t entries[_SECTION_MAX][ENTRY_SIZE];
        uint64_t offset[_SECTION_MAX], length[_SECTION_MAX];
        uint32_t crc[_SECTION_MAX];
        uint8_t header[HEADER_SIZE];
        uint8_t table[_SECTION_MAX * ENTRY_SIZE];
        uint64_t file_size;
} writer_layout;

static void writer_layout_done(writer_layout *l) {
        free(l->units);
        free(l->ram);
        free(l->index);
}

static int writer_encode(snapshot_writer *w, json_object *meta, writer_layout *l) {
        uint64_t pos;
        size_t k;

        l->meta = (char *) json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN |
                                                                        JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!l->meta)
                return -ENOMEM;
        l->meta_size = strlen(l->meta);

        l->units_size = UNITS_HEADER_SIZE;
        for (size_t i = 0; i < w->n_units; i++)
                l->units_size += UNIT_SIZE + w->units[i].n_regs * REG_SIZE;
        l->units = calloc(1, l->units_size);
        if (!l->units)
                return -ENOMEM;
        put_le32(l->units, (uint32_t) w->n_units);
        k = UNITS_HEADER_SIZE;
        for (size_t i = 0; i < w->n_units; i++) {
                const snapshot_unit *u = &w->units[i];
                memcpy(l->units + k + UNIT_NAME, u->name, strnlen(u->name, SNAPSHOT_UNIT_NAME_MAX - 1));
                put_le64(l->units + k + UNIT_BASE, u->base);
                put_le64(l->units + k + UNIT_WINDOW, u->size);
                put_le16(l->units + k + UNIT_SEGMENT, u->segment);
                put_le32(l->units + k + UNIT_N_REGS, (uint32_t) u->n_regs);
                k += UNIT_SIZE;
                for (size_t j = 0; j < u->n_regs; j++, k += REG_SIZE) {
                        put_le32(l->units + k + REG_OFFSET, u->regs[j].offset);
                        l->units[k + REG_WIDTH] = u->regs[j].width;
                        put_le64(l->units + k + REG_VALUE, u->regs[j].value);
                }
        }

        l->ram_size = w->n_ram * RAM_RANGE_SIZE;
        l->ram = calloc(1, l->ram_size ?: 1);
        if (!l->ram)
                return -ENOMEM;
        for (size_t i = 0; i < w->n_ram; i++) {
                put_le64(l->ram + i * RAM_RANGE_SIZE, w->ram[i].start);
                put_le64(l->ram + i * RAM_RANGE_SIZE + 8, w->ram[i].end);
        }

        l->index_size = w->n_pages * PAGE_INDEX_ENTRY_SIZE;
        l->index = calloc(1, l->index_size ?: 1);
        if (!l->index)
                return -ENOMEM;
        for (size_t i = 0; i < w->n_pages; i++)
                put_le64(l->index + i * PAGE_INDEX_ENTRY_SIZE, w->pages[i].paddr);

        /* Layout: header, table, then the sections in type order. */
        pos = HEADER_SIZE + sizeof l->table;
        l->length[SECTION_META] = l->meta_size;
        l->length[SECTION_DMAR] = w->dmar_size;
        l->length[SECTION_UNITS] = l->units_size;
        l->length[SECTION_RAM] = l->ram_size;
        l->length[SECTION_PAGE_INDEX] = l->index_size;
        l->length[SECTION_PAGES] = (uint64_t) w->n_pages * VTD_PAGE_SIZE;
        for (section_type t = 0; t < _SECTION_MAX; t++) {
                pos = align_up(pos, t == SECTION_PAGES ? VTD_PAGE_SIZE : SECTION_ALIGN);
                l->offset[t] = pos;
                pos += l->length[t];
        }
        l->file_size = pos;

        l->crc[SECTION_META] = crc32_ieee(0, l->meta, l->meta_size);
        l->crc[SECTION_DMAR] = crc32_ieee(0, w->dmar, w->dmar_size);
        l->crc[SECTION_UNITS] = crc32_ieee(0, l->units, l->units_size);
        l->crc[SECTION_RAM] = crc32_ieee(0, l->ram, l->ram_size);
        l->crc[SECTION_PAGE_INDEX] = crc32_ieee(0, l->index, l->index_size);
        l->crc[SECTION_PAGES] = 0;
        for (size_t i = 0; i < w->n_pages; i++)
                l->crc[SECTION_PAGES] = crc32_ieee(l->crc[SECTION_PAGES], w->pages[i].data, VTD_PAGE_SIZE);

        for (section_type t = 0; t < _SECTION_MAX; t++) {
                uint8_t *e = l->table + t * ENTRY_SIZE;
                put_le32(e + ENTRY_TYPE, (uint32_t) t + 1);
                put_le32(e + ENTRY_CRC, l->crc[t]);
                put_le64(e + ENTRY_OFFSET, l->offset[t]);
                put_le64(e + ENTRY_LENGTH, l->length[t]);
        }

        memcpy(l->header, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_SIZE);
        put_le32(l->header + HEADER_VERSION, SNAPSHOT_FORMAT_VERSION);
        put_le32(l->header + HEADER_REVISION, 0);
        put_le32(l->header + HEADER_HEADER_SIZE, HEADER_SIZE);
        put_le32(l->header + HEADER_FLAGS, 0);
        put_le32(l->header + HEADER_N_SECTIONS, _SECTION_MAX);
        put_le32(l->header + HEADER_ENTRY_SIZE, ENTRY_SIZE);
        put_le64(l->header + HEADER_TABLE_OFFSET, HEADER_SIZE);
        put_le64(l->header + HEADER_FILE_SIZE, l->file_size);
        put_le32(l->header + HEADER_TABLE_CRC, crc32_ieee(0, l->table, sizeof l->table));
        put_le32(l->header + HEADER_CRC, header_crc(l->header, HEADER_SIZE));
        return 0;
}

static int writer_write_fd(snapshot_writer *w, const writer_layout *l, int fd) {
        int r;

        /* the gaps between sections stay holes, which read as zeros */
        if (ftruncate(fd, (off_t) l->file_size) < 0)
                return -errno;
        r = pwrite_all(fd, l->header, sizeof l->header, 0);
        if (r >= 0)
                r = pwrite_all(fd, l->table, sizeof l->table, HEADER_SIZE);
        if (r >= 0)
                r = pwrite_all(fd, l->meta, l->meta_size, l->offset[SECTION_META]);
        if (r >= 0)
                r = pwrite_all(fd, w->dmar, w->dmar_size, l->offset[SECTION_DMAR]);
        if (r >= 0)
                r = pwrite_all(fd, l->units, l->units_size, l->offset[SECTION_UNITS]);
        if (r >= 0)
                r = pwrite_all(fd, l->ram, l->ram_size, l->offset[SECTION_RAM]);
        if (r >= 0)
                r = pwrite_all(fd, l->index, l->index_size, l->offset[SECTION_PAGE_INDEX]);
        for (size_t i = 0; r >= 0 && i < w->n_pages; i++)
                r = pwrite_all(fd, w->pages[i].data, VTD_PAGE_SIZE,
                               l->offset[SECTION_PAGES] + (uint64_t) i * VTD_PAGE_SIZE);
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

/* Every page must lie inside RAM, as the reader requires. */
static int writer_check_pages(const snapshot_writer *w, const char *path, iommu_error *err) {
        size_t j = 0;

        for (size_t i = 0; i < w->n_pages; i++) {
                uint64_t a = w->pages[i].paddr;
                if (!page_in_ranges(w->ram, w->n_ram, &j, a))
                        return iommu_error_set(err, ERANGE,
                                               "Cannot write snapshot %s: page 0x%" PRIx64
                                               " is not inside a RAM range",
                                               path, a);
        }
        return 0;
}

int snapshot_writer_write(snapshot_writer *w, const char *path, iommu_error *err) {
        _cleanup_json_ json_object *empty = NULL;
        _cleanup_free_ char *tmp = NULL, *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        writer_layout l = {};
        const char *slash, *base;
        int r;

        if (!path || !*path)
                return iommu_error_set(err, EINVAL, "Cannot write a snapshot without a file name");

        writer_compact(w);
        r = writer_check_pages(w, path, err);
        if (r < 0)
                return r;

        if (!w->meta) {
                empty = json_object_new_object();
                if (!empty)
                        return iommu_error_set(err, ENOMEM, "Out of memory writing snapshot %s", path);
        }
        r = writer_encode(w, w->meta ?: empty, &l);
        if (r < 0) {
                writer_layout_done(&l);
                return iommu_error_set(err, r, "Out of memory writing snapshot %s", path);
        }

        /* json-c writes what its strict reader refuses (strings that are
         * not UTF-8, NaN): check the text reads back before writing it. */
        {
                _cleanup_json_ json_object *back = NULL;
                iommu_error why = {};

                r = parse_meta((const uint8_t *) l.meta, l.meta_size, &back, path, &why);
                if (r < 0) {
                        writer_layout_done(&l);
                        return iommu_error_set(
                                err, r == -ENOMEM ? ENOMEM : EINVAL,
                                "Cannot write snapshot %s: its meta object is not valid JSON text "
                                "(a string that is not UTF-8, or a number that is not finite)",
                                path);
                }
        }

        /* A temporary file in the same directory, so the rename is atomic. */
        slash = strrchr(path, '/');
        base = slash ? slash + 1 : path;
        if (!*base) {
                writer_layout_done(&l);
                return iommu_error_set(err, EISDIR, "Cannot write snapshot %s: it names a directory", path);
        }
        if (asprintf(&tmp, "%.*s.#%sXXXXXX", slash ? (int) (slash - path + 1) : 0, path, base) < 0) {
                tmp = NULL;
                writer_layout_done(&l);
                return iommu_error_set(err, ENOMEM, "Out of memory writing snapshot %s", path);
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                writer_layout_done(&l);
                return iommu_error_set(err, r, "Failed to create a temporary file for snapshot %s: %s", path,
                                       strerror(-r));
        }

        r = writer_write_fd(w, &l, fd);
        writer_layout_done(&l);
        if (r < 0) {
                (void) unlink(tmp);
                return iommu_error_set(err, r, "Failed to write snapshot %s: %s", path, strerror(-r));
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return iommu_error_set(err, r, "Failed to rename the temporary file to %s: %s", path,
                                       strerror(-r));
        }

        /* Make the rename itself durable; the file is complete either way. */
        dir = slash ? strndup(path, (size_t) (slash - path) + 1) : strdup(".");
        if (dir) {
                _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd >= 0)
                        (void) fsync(dfd);
        }
        return 0;
}
