/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The snapshot writer: it refuses what the reader would refuse, so a
 * written file always reads back, and replaces the target atomically. */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "basic/alloc-util.h"
#include "basic/crc32.h"
#include "snapshot/format.h"

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
        size_t n_units, n_alloc_units;
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
                if (r->width == 32 && r->value > UINT32_MAX)
                        return -EINVAL;
                if (r->offset % (r->width / 8) || (uint64_t) r->offset + r->width / 8 > u->size)
                        return -EINVAL;
                if (i > 0 && r->offset == regs[i - 1].offset)
                        return -EINVAL; /* one value per offset */
        }

        if (!GREEDY_REALLOC(w->units, w->n_alloc_units, w->n_units + 1))
                return -ENOMEM;
        w->units[w->n_units] = *u;
        w->units[w->n_units].regs = TAKE_PTR(regs);
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

        /* re-adding pages must not grow memory without bound: before the
         * array grows, drop the replaced copies when they may be half of it */
        if (w->n_pages == w->n_alloc && w->n_pages >= 1024 && w->n_pages >= 2 * w->n_compacted)
                writer_compact(w);
        if (!GREEDY_REALLOC_MIN(w->pages, w->n_alloc, w->n_pages + 1, 64))
                return -ENOMEM;

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

        /* json-c writes what the reader refuses (strings that are not
         * UTF-8, NaN): the text as written must read back, and everything
         * together must pass the reader's checks across sections. */
        {
                _cleanup_json_ json_object *back = NULL;
                iommu_error why = {};

                r = meta_parse((const uint8_t *) l.meta, l.meta_size, &back, &why);
                if (r >= 0)
                        r = contents_check(&(contents){ .meta = back,
                                                        .dmar = w->dmar,
                                                        .dmar_size = w->dmar_size,
                                                        .units = w->units,
                                                        .n_units = w->n_units,
                                                        .n_pages = w->n_pages },
                                           &why);
                if (r < 0) {
                        writer_layout_done(&l);
                        return iommu_error_set(err, r == -ENOMEM ? ENOMEM : EINVAL,
                                               "Cannot write snapshot %s: %s", path, why.message);
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
