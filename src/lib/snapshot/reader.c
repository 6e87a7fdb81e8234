/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The snapshot reader: it maps the file and checks every byte it will ever
 * look at before handing anything out: the header and the section table
 * (each with a CRC-32), every section's bounds, alignment and CRC-32, then
 * each section's contents (META's text in meta.c), then the rules across
 * sections (check.c).  After snapshot_open() succeeded, nothing reads
 * outside the mapping, whatever the file held, and META has the shape
 * iommu-snapshot(5) gives it.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/crc32.h"
#include "snapshot/format.h"

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
                for (size_t k = strlen(su->name); k < SNAPSHOT_UNIT_NAME_MAX; k++)
                        if (su->name[k] != '\0')
                                return bad(err, path,
                                           "unit %s in section UNITS has bytes after its name's NUL "
                                           "(expected NULs to byte %d)",
                                           su->name, SNAPSHOT_UNIT_NAME_MAX);
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
                        if (r->width == 32 && r->value > UINT32_MAX)
                                return bad(err, path,
                                           "unit %s register 0x%" PRIx32
                                           " is 32 bits wide but holds 0x%" PRIx64,
                                           su->name, r->offset, r->value);
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

/* A section's CRC: small ones through the mapping; PAGES, which may be
 * many megabytes, through the descriptor in pieces, so that checking it
 * does not make the whole file resident. */
#define CRC_CHUNK (64u << 10)
static int section_crc(const snapshot *s, const uint8_t *f, const section *sec, uint32_t *ret) {
        _cleanup_free_ uint8_t *buf = NULL;
        uint32_t crc = 0;

        if (section_type_from_id(sec->id) != SECTION_PAGES) {
                *ret = crc32_ieee(0, f + sec->offset, sec->length);
                return 0;
        }
        buf = malloc(CRC_CHUNK);
        if (!buf)
                return -ENOMEM;
        for (uint64_t done = 0; done < sec->length;) {
                size_t want = sec->length - done < CRC_CHUNK ? (size_t) (sec->length - done) : CRC_CHUNK;
                ssize_t k = pread(s->fd, buf, want, (off_t) (sec->offset + done));

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                crc = crc32_ieee(crc, buf, (size_t) k);
                done += (uint64_t) k;
        }
        *ret = crc;
        return 0;
}

/* Bring [offset, offset + length) of the file into s->map (anonymous
 * memory as large as the file, filled only where something is read, so
 * that table pages never become resident: they are read by pread when a
 * walk needs them). */
static int fill(snapshot *s, uint64_t offset, uint64_t length, const char *path, iommu_error *err) {
        uint8_t *m = s->map;

        if (offset > s->size)
                return 0;
        if (length > s->size - offset)
                length = s->size - offset;
        for (uint64_t done = 0; done < length;) {
                ssize_t k =
                        pread(s->fd, m + offset + done, (size_t) (length - done), (off_t) (offset + done));

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return iommu_error_set(err, k < 0 ? errno : EIO, "Failed to read snapshot %s: %s",
                                               path, k < 0 ? strerror(errno) : "short read");
                done += (uint64_t) k;
        }
        return 0;
}

static int snapshot_parse(snapshot *s, const char *path, iommu_error *err) {
        _cleanup_free_ section *sections = NULL;
        const uint8_t *f = s->map;
        const section *known[_SECTION_MAX] = {};
        uint32_t version, header_size, flags, n, entry_size;
        uint64_t table_offset, table_length, file_size;
        iommu_error why = {};
        char label[32];
        int r;

        r = fill(s, 0, HEADER_SIZE, path, err);
        if (r < 0)
                return r;
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
        r = fill(s, 0, header_size, path, err);
        if (r < 0)
                return r;
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
        r = fill(s, table_offset, table_length, path, err);
        if (r < 0)
                return r;
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

        for (uint32_t i = 0; i < n; i++) {
                uint32_t crc = 0;

                if (section_type_from_id(sections[i].id) != SECTION_PAGES) {
                        r = fill(s, sections[i].offset, sections[i].length, path, err);
                        if (r < 0)
                                return r;
                }
                r = section_crc(s, f, &sections[i], &crc);
                if (r < 0)
                        return iommu_error_set(err, -r, "snapshot %s: failed to read section %s: %s", path,
                                               section_label(sections[i].id, label), strerror(-r));
                if (crc != sections[i].crc)
                        return bad(err, path, "CRC mismatch in section %s",
                                   section_label(sections[i].id, label));
        }

        for (section_type t = 0; t < _SECTION_MAX; t++)
                if (!known[t])
                        return bad(err, path, "section %s is missing", section_names[t]);

        /* The contents, each section on its own terms. */
        r = meta_parse(f + known[SECTION_META]->offset, known[SECTION_META]->length, &s->meta, &why);
        if (r < 0)
                return iommu_error_set(err, -r, "snapshot %s: %s", path, why.message);
        s->dmar = f + known[SECTION_DMAR]->offset;
        s->dmar_size = known[SECTION_DMAR]->length;
        r = parse_units(s, f + known[SECTION_UNITS]->offset, known[SECTION_UNITS]->length, path, err);
        if (r < 0)
                return r;
        r = parse_ram(s, f + known[SECTION_RAM]->offset, known[SECTION_RAM]->length, path, err);
        if (r < 0)
                return r;
        r = parse_pages(s, f + known[SECTION_PAGE_INDEX]->offset, known[SECTION_PAGE_INDEX]->length,
                        f + known[SECTION_PAGES]->offset, known[SECTION_PAGES]->length, path, err);
        s->pages_offset = known[SECTION_PAGES]->offset;
        if (r < 0)
                return r;

        /* The sections together. */
        r = contents_check(&(contents){ .meta = s->meta,
                                        .dmar = s->dmar,
                                        .dmar_size = s->dmar_size,
                                        .units = s->units,
                                        .n_units = s->n_units,
                                        .n_pages = s->n_pages },
                           &why);
        if (r < 0)
                return iommu_error_set(err, -r, "snapshot %s: %s", path, why.message);
        return 0;
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
        s->fd = -EBADF;
        s->map = mmap(NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (s->map == MAP_FAILED) {
                s->map = NULL;
                return iommu_error_set(err, errno, "Failed to map snapshot %s: %s", path, strerror(errno));
        }
        s->size = (size_t) st.st_size;
        s->path = strdup(path);
        if (!s->path)
                return iommu_error_set(err, ENOMEM, "Out of memory reading snapshot %s", path);

        s->fd = TAKE_FD(fd);
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
        safe_close(s->fd);
        free(s->path);
        free(s);
        return NULL;
}

const char *snapshot_path(const snapshot *s) {
        return s->path;
}

json_object *snapshot_meta(const snapshot *s) {
        return s->meta;
}

const void *snapshot_dmar(const snapshot *s, size_t *ret_size) {
        *ret_size = s->dmar_size;
        return s->dmar_size > 0 ? s->dmar : NULL;
}

int snapshot_dmar_table(const snapshot *s, dmar_table **ret, iommu_error *err) {
        iommu_error e = {};
        int r;

        if (s->dmar_size == 0)
                return iommu_error_set(err, ENODEV,
                                       "snapshot %s: no DMAR table: the machine it was taken on reported no "
                                       "Intel VT-d unit",
                                       s->path);
        r = dmar_parse(s->dmar, s->dmar_size, ret, &e);
        if (r < 0) /* checked when opened: only out of memory */
                return iommu_error_set(err, -r, "snapshot %s: section DMAR: %s", s->path, e.message);
        return 0;
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
