/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The access backends over an open snapshot: its RAM pages and each unit's
 * registers, read-only. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/format.h"

/* RAM */

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
                ssize_t k;

                (void) page_find(s, page, &i);
                k = pread(s->fd, out, chunk, (off_t) (s->pages_offset + i * VTD_PAGE_SIZE + in));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k != (ssize_t) chunk)
                        return iommu_error_set(err, k < 0 ? errno : EIO,
                                               "Failed to read page 0x%" PRIx64 " from snapshot %s: %s",
                                               page, s->path, k < 0 ? strerror(errno) : "short read");
                out += chunk;
                a += chunk;
                len -= chunk;
        }
        return 0;
}

static void snapshot_ram_free(iommu_ram *ram) {
        free(ram);
}

static const iommu_ram_ops snapshot_ram_ops = {
        .name = "snapshot",
        .read = snapshot_ram_read,
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

/* Registers */

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
