/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading RAM: the bounds every backend shares, the in-memory image backend
 * (tests, benchmarks, iommud --simulate: sparse 4 KiB pages in a hash map
 * from frame number, so a walker's peek is one multiply and a probe or
 * two; a window of it may live in the caller's memory instead, a file
 * that outlives the process), the recorder (a wrapper noting which pages a walk read, for
 * snapshots) and the overlay (table memory over the machine's RAM).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "basic/alloc-util.h"
#include "basic/hashmap.h"

#define PAGE_MASK ((uint64_t) VTD_PAGE_SIZE - 1)

/* ---- the core ---- */

bool iommu_ram_contains(const iommu_ram *ram, uint64_t paddr, uint64_t len) {
        size_t lo = 0, hi;
        uint64_t last;

        if (!ram)
                return false;
        if (len == 0)
                len = 1;
        if (paddr > UINT64_MAX - (len - 1))
                return false;
        last = paddr + (len - 1);

        /* the last range starting at or below paddr */
        hi = ram->n_ranges;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (ram->ranges[mid].start <= paddr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == 0 || ram->ranges[lo - 1].end < paddr)
                return false;
        /* ranges that touch continue each other */
        for (size_t i = lo - 1; ram->ranges[i].end < last; i++)
                if (i + 1 >= ram->n_ranges || ram->ranges[i + 1].start != ram->ranges[i].end + 1)
                        return false;
        return true;
}

int iommu_ram_read(iommu_ram *ram, uint64_t paddr, void *buf, size_t len, iommu_error *err) {
        if (!ram || (!buf && len > 0))
                return iommu_error_set(err, EINVAL, "Invalid arguments to a RAM read");
        if (len == 0)
                return 0;
        if (!iommu_ram_contains(ram, paddr, len))
                return iommu_error_set(err, ERANGE, "Physical range 0x%" PRIx64 "+0x%zx is not System RAM",
                                       paddr, len);
        return ram->ops->read(ram, paddr, buf, len, err);
}

const void *iommu_ram_page(iommu_ram *ram, uint64_t paddr, void *scratch, iommu_error *err) {
        const void *p;
        int r;

        if (!ram || (paddr & PAGE_MASK)) {
                (void) iommu_error_set(err, EINVAL, "Page address 0x%" PRIx64 " is not 4 KiB aligned",
                                       paddr);
                return NULL;
        }
        if (!iommu_ram_contains(ram, paddr, VTD_PAGE_SIZE)) {
                (void) iommu_error_set(err, ERANGE, "Page 0x%" PRIx64 " is not System RAM", paddr);
                return NULL;
        }
        if (ram->ops->peek) {
                p = ram->ops->peek(ram, paddr, VTD_PAGE_SIZE);
                if (p)
                        return p;
        }
        if (!scratch) {
                (void) iommu_error_set(err, EINVAL, "No buffer to read page 0x%" PRIx64 " into", paddr);
                return NULL;
        }
        r = ram->ops->read(ram, paddr, scratch, VTD_PAGE_SIZE, err);
        if (r < 0)
                return NULL;
        return scratch;
}

iommu_ram *iommu_ram_free(iommu_ram *ram) {
        if (!ram)
                return NULL;
        free(ram->ranges);
        ram->ranges = NULL;
        ram->n_ranges = 0;
        if (ram->ops && ram->ops->free)
                ram->ops->free(ram);
        else
                free(ram);
        return NULL;
}

/* Add [start, end] (start <= end) to a sorted, non-overlapping list,
 * merging what touches. */
static int ranges_add(phys_range **ranges, size_t *n, size_t *allocated, uint64_t start, uint64_t end) {
        phys_range *v = *ranges;
        size_t lo = 0, hi = *n, first, last;

        /* first range that ends at or after start - 1 (could touch) */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (v[mid].end != UINT64_MAX && v[mid].end + 1 < start)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        first = lo;
        /* ranges [first, last) overlap or touch [start, end] */
        last = first;
        while (last < *n && (end == UINT64_MAX || v[last].start <= end + 1))
                last++;

        if (last > first) {
                uint64_t s = v[first].start < start ? v[first].start : start;
                uint64_t e = v[last - 1].end > end ? v[last - 1].end : end;
                v[first] = (phys_range){ s, e };
                memmove(v + first + 1, v + last, (*n - last) * sizeof *v);
                *n -= last - first - 1;
                return 0;
        }

        if (!GREEDY_REALLOC(*ranges, *allocated, *n + 1))
                return -ENOMEM;
        v = *ranges;
        memmove(v + first + 1, v + first, (*n - first) * sizeof *v);
        v[first] = (phys_range){ start, end };
        (*n)++;
        return 0;
}

/* ---- the in-memory image ---- */

typedef struct image_ram {
        iommu_ram ram;
        size_t ranges_alloc;
        hashmap pages; /* pfn -> its page; bit 0 set: the caller's (iommu_ram_image_attach_page) */
        /* the backed window (iommu_ram_image_back), none while back.mem is NULL */
        uint64_t back_first, back_last; /* pfns */
        iommu_ram_backing back;
} image_ram;

#define IMAGE_PAGE_BORROWED UINT64_C(1)

/* What absent pages of declared RAM read as. */
static const uint8_t zero_page[VTD_PAGE_SIZE] __attribute__((aligned(VTD_PAGE_SIZE)));

static bool in_window(const image_ram *im, uint64_t pfn) {
        return im->back.mem && pfn >= im->back_first && pfn <= im->back_last;
}

static uint8_t *image_lookup(const image_ram *im, uint64_t pfn) {
        uint64_t v;

        if (in_window(im, pfn))
                return (uint8_t *) im->back.mem + (pfn - im->back_first) * VTD_PAGE_SIZE;
        if (!hashmap_get(&im->pages, pfn, &v))
                return NULL;
        return (uint8_t *) (uintptr_t) (v & ~IMAGE_PAGE_BORROWED);
}

static int image_read(iommu_ram *ram, uint64_t paddr, void *buf, size_t len, iommu_error *err) {
        const image_ram *im = (const image_ram *) ram;
        uint8_t *out = buf;

        while (len > 0) {
                uint64_t off = paddr & PAGE_MASK;
                size_t n = VTD_PAGE_SIZE - off;
                const uint8_t *p = image_lookup(im, paddr / VTD_PAGE_SIZE);

                if (n > len)
                        n = len;
                memcpy(out, p ? p + off : zero_page, n);
                out += n;
                paddr += n;
                len -= n;
        }
        return 0;
}

static const void *image_peek(iommu_ram *ram, uint64_t paddr, size_t len) {
        const image_ram *im = (const image_ram *) ram;
        uint64_t off = paddr & PAGE_MASK;
        const uint8_t *p;

        if (len > VTD_PAGE_SIZE - off)
                return NULL; /* crosses a page: let read() assemble it */
        p = image_lookup(im, paddr / VTD_PAGE_SIZE);
        return p ? p + off : zero_page + off;
}

static void image_free(iommu_ram *ram) {
        image_ram *im = (image_ram *) ram;
        uint64_t page;

        for (size_t i = 0; hashmap_next(&im->pages, &i, NULL, &page);)
                if (!(page & IMAGE_PAGE_BORROWED))
                        free((void *) (uintptr_t) page);
        hashmap_done(&im->pages);
        free(im);
}

static const iommu_ram_ops image_ops = {
        .name = "image",
        .read = image_read,
        .peek = image_peek,
        .free = image_free,
};

int iommu_ram_new_image(iommu_ram **ret) {
        image_ram *im;

        if (!ret)
                return -EINVAL;
        im = calloc(1, sizeof *im);
        if (!im)
                return -ENOMEM;
        im->pages = HASHMAP_INIT;
        im->ram.ops = &image_ops;
        *ret = &im->ram;
        return 0;
}

static bool window_held(const image_ram *im, uint64_t pfn) {
        uint64_t i = pfn - im->back_first;
        return im->back.held[i / 8] & (1u << (i % 8));
}

static void *window_page(image_ram *im, uint64_t pfn) {
        uint64_t i = pfn - im->back_first;

        if (!window_held(im, pfn)) {
                /* A store to a hole of a full file system is SIGBUS: take
                 * the blocks now, where failing is an answer.  The bit is
                 * one byte's store, whole or not at all when the process
                 * is killed, and set only once the blocks are there. */
                if (im->back.fd >= 0) {
                        int r = posix_fallocate(im->back.fd,
                                                (off_t) (im->back.fd_offset + i * VTD_PAGE_SIZE),
                                                VTD_PAGE_SIZE);
                        if (r != 0 && r != EOPNOTSUPP && r != EINVAL)
                                return NULL;
                }
                im->back.held[i / 8] |= (uint8_t) (1u << (i % 8));
        }
        return (uint8_t *) im->back.mem + i * VTD_PAGE_SIZE;
}

void *iommu_ram_image_page(iommu_ram *ram, uint64_t paddr) {
        image_ram *im = (image_ram *) ram;
        uint64_t pfn = paddr / VTD_PAGE_SIZE;
        uint8_t *p;

        if (!ram || ram->ops != &image_ops || (paddr & PAGE_MASK))
                return NULL;
        if (in_window(im, pfn))
                return window_page(im, pfn);
        p = image_lookup(im, pfn);
        if (p)
                return p;

        if (ranges_add(&ram->ranges, &ram->n_ranges, &im->ranges_alloc, paddr, paddr + PAGE_MASK) < 0)
                return NULL;
        /* on failure below the range stays declared: it reads as zeros */
        p = aligned_alloc(VTD_PAGE_SIZE, VTD_PAGE_SIZE);
        if (!p)
                return NULL;
        memset(p, 0, VTD_PAGE_SIZE);
        if (hashmap_put(&im->pages, pfn, HASHMAP_PTR(p)) < 0) {
                free(p);
                return NULL;
        }
        return p;
}

int iommu_ram_image_add_range(iommu_ram *ram, uint64_t start, uint64_t end) {
        image_ram *im = (image_ram *) ram;

        if (!ram || ram->ops != &image_ops || start > end)
                return -EINVAL;
        return ranges_add(&ram->ranges, &ram->n_ranges, &im->ranges_alloc, start, end);
}

int iommu_ram_image_attach_page(iommu_ram *ram, uint64_t paddr, void *page) {
        image_ram *im = (image_ram *) ram;
        uint64_t pfn = paddr / VTD_PAGE_SIZE, old;
        int r;

        if (!ram || ram->ops != &image_ops || (paddr & PAGE_MASK) || !page || ((uintptr_t) page & PAGE_MASK))
                return -EINVAL;
        if (in_window(im, pfn))
                return -EBUSY; /* the window's memory is there */
        r = ranges_add(&ram->ranges, &ram->n_ranges, &im->ranges_alloc, paddr, paddr + PAGE_MASK);
        if (r < 0)
                return r;
        if (hashmap_get(&im->pages, pfn, &old)) {
                if (old & IMAGE_PAGE_BORROWED)
                        return -EBUSY;
                free((void *) (uintptr_t) old);
        }
        return hashmap_replace(&im->pages, pfn, HASHMAP_PTR(page) | IMAGE_PAGE_BORROWED);
}

void iommu_ram_image_detach_page(iommu_ram *ram, uint64_t paddr) {
        image_ram *im = (image_ram *) ram;
        uint64_t v;

        if (!ram || ram->ops != &image_ops || !hashmap_get(&im->pages, paddr / VTD_PAGE_SIZE, &v) ||
            !(v & IMAGE_PAGE_BORROWED))
                return;
        (void) hashmap_remove(&im->pages, paddr / VTD_PAGE_SIZE, NULL);
}

int iommu_ram_image_back(iommu_ram *ram, uint64_t start, uint64_t end, const iommu_ram_backing *b) {
        image_ram *im = (image_ram *) ram;
        uint64_t pfn;
        int r;

        if (!ram || ram->ops != &image_ops || !b || !b->mem || !b->held || start > end ||
            (start & PAGE_MASK) || ((end + 1) & PAGE_MASK) || end == UINT64_MAX ||
            ((uintptr_t) b->mem & PAGE_MASK) || (b->fd_offset & PAGE_MASK))
                return -EINVAL;
        if (im->back.mem)
                return -EBUSY;
        for (size_t i = 0; hashmap_next(&im->pages, &i, &pfn, NULL);)
                if (pfn >= start / VTD_PAGE_SIZE && pfn <= end / VTD_PAGE_SIZE)
                        return -EBUSY;
        r = ranges_add(&ram->ranges, &ram->n_ranges, &im->ranges_alloc, start, end);
        if (r < 0)
                return r;
        im->back = *b;
        im->back_first = start / VTD_PAGE_SIZE;
        im->back_last = end / VTD_PAGE_SIZE;
        return 0;
}

bool iommu_ram_image_has_page(const iommu_ram *ram, uint64_t paddr) {
        const image_ram *im = (const image_ram *) ram;
        uint64_t pfn = paddr / VTD_PAGE_SIZE;

        if (!ram || ram->ops != &image_ops)
                return false;
        if (in_window(im, pfn))
                return window_held(im, pfn);
        return hashmap_contains(&im->pages, pfn);
}

/* ---- the recorder ---- */

typedef struct recorder_ram {
        iommu_ram ram;
        iommu_ram *inner;
        hashmap pfns;    /* a set: the frames of pages */
        uint64_t *pages; /* page addresses, in recording order until sorted */
        size_t n_pages, pages_alloc;
        bool sorted;
        uint64_t reads;
} recorder_ram;

static int recorder_note(recorder_ram *rec, uint64_t pfn) {
        int r;

        /* room first, so that a page in the set is always in the list */
        if (!GREEDY_REALLOC_MIN(rec->pages, rec->pages_alloc, rec->n_pages + 1, 64))
                return -ENOMEM;
        r = hashmap_put(&rec->pfns, pfn, 0);
        if (r <= 0)
                return r;
        rec->pages[rec->n_pages++] = pfn * VTD_PAGE_SIZE;
        rec->sorted = false;
        return 0;
}

static int recorder_read(iommu_ram *ram, uint64_t paddr, void *buf, size_t len, iommu_error *err) {
        recorder_ram *rec = (recorder_ram *) ram;
        uint64_t last = (paddr + len - 1) / VTD_PAGE_SIZE;
        int r;

        r = iommu_ram_read(rec->inner, paddr, buf, len, err);
        if (r < 0)
                return r;
        rec->reads++;
        for (uint64_t pfn = paddr / VTD_PAGE_SIZE; pfn <= last; pfn++) {
                r = recorder_note(rec, pfn);
                if (r < 0)
                        return iommu_error_set(err, -r, "Failed to record page 0x%" PRIx64,
                                               pfn * VTD_PAGE_SIZE);
        }
        return 0;
}

static const void *recorder_peek(iommu_ram *ram, uint64_t paddr, size_t len) {
        recorder_ram *rec = (recorder_ram *) ram;
        const void *p;

        if (!rec->inner->ops->peek || len == 0 || len > VTD_PAGE_SIZE - (paddr & PAGE_MASK))
                return NULL;
        p = rec->inner->ops->peek(rec->inner, paddr, len);
        if (!p)
                return NULL;
        /* Out of memory for the record: fall back to read(), which says so. */
        if (recorder_note(rec, paddr / VTD_PAGE_SIZE) < 0)
                return NULL;
        rec->reads++;
        return p;
}

static void recorder_free(iommu_ram *ram) {
        recorder_ram *rec = (recorder_ram *) ram;

        hashmap_done(&rec->pfns);
        free(rec->pages);
        free(rec);
}

static const iommu_ram_ops recorder_ops = {
        .name = "recorder",
        .read = recorder_read,
        .peek = recorder_peek,
        .free = recorder_free,
};

int iommu_ram_new_recorder(iommu_ram *inner, iommu_ram **ret) {
        recorder_ram *rec;

        if (!inner || !ret)
                return -EINVAL;
        rec = calloc(1, sizeof *rec);
        if (!rec)
                return -ENOMEM;
        rec->pfns = HASHMAP_INIT;
        if (inner->n_ranges > 0) {
                rec->ram.ranges = malloc(inner->n_ranges * sizeof *rec->ram.ranges);
                if (!rec->ram.ranges) {
                        free(rec);
                        return -ENOMEM;
                }
        }
        if (inner->n_ranges > 0)
                memcpy(rec->ram.ranges, inner->ranges, inner->n_ranges * sizeof *rec->ram.ranges);
        rec->ram.n_ranges = inner->n_ranges;
        rec->ram.ops = &recorder_ops;
        rec->inner = inner;
        rec->sorted = true;
        *ret = &rec->ram;
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

int iommu_ram_recorded(const iommu_ram *ram, const uint64_t **ret, size_t *ret_n) {
        /* Sorting in place changes nothing a caller can see: the set is the same. */
        recorder_ram *rec = (recorder_ram *) ram;

        if (!ram || ram->ops != &recorder_ops || !ret || !ret_n)
                return -EINVAL;
        if (!rec->sorted) {
                qsort(rec->pages, rec->n_pages, sizeof *rec->pages, cmp_u64);
                rec->sorted = true;
        }
        *ret = rec->pages;
        *ret_n = rec->n_pages;
        return 0;
}

uint64_t iommu_ram_recorder_reads(const iommu_ram *ram) {
        if (!ram || ram->ops != &recorder_ops)
                return 0;
        return ((const recorder_ram *) ram)->reads;
}

/* ---- the overlay ---- */

typedef struct overlay_ram {
        iommu_ram ram;
        iommu_ram *base;   /* borrowed; may be NULL */
        iommu_ram **views; /* borrowed */
        size_t n_views;
} overlay_ram;

/* The RAM that holds the page at paddr: a view where one has it, else
 * the base. */
static iommu_ram *overlay_layer(const overlay_ram *o, uint64_t page) {
        for (size_t i = 0; i < o->n_views; i++)
                if (iommu_ram_contains(o->views[i], page, VTD_PAGE_SIZE))
                        return o->views[i];
        return o->base;
}

static int overlay_read(iommu_ram *ram, uint64_t paddr, void *buf, size_t len, iommu_error *err) {
        const overlay_ram *o = (const overlay_ram *) ram;
        uint8_t *out = buf;

        while (len > 0) {
                uint64_t off = paddr & PAGE_MASK;
                size_t n = VTD_PAGE_SIZE - off < len ? VTD_PAGE_SIZE - off : len;
                iommu_ram *layer = overlay_layer(o, paddr - off);
                int r;

                if (!layer)
                        return iommu_error_set(err, ERANGE,
                                               "0x%" PRIx64 " is neither table memory nor readable RAM",
                                               paddr);
                r = iommu_ram_read(layer, paddr, out, n, err);
                if (r < 0)
                        return r;
                out += n;
                paddr += n;
                len -= n;
        }
        return 0;
}

static const void *overlay_peek(iommu_ram *ram, uint64_t paddr, size_t len) {
        const overlay_ram *o = (const overlay_ram *) ram;
        uint64_t off = paddr & PAGE_MASK;
        iommu_ram *layer;

        if (len > VTD_PAGE_SIZE - off)
                return NULL;
        layer = overlay_layer(o, paddr - off);
        if (!layer || !layer->ops->peek || !iommu_ram_contains(layer, paddr, len))
                return NULL;
        return layer->ops->peek(layer, paddr, len);
}

static void overlay_free(iommu_ram *ram) {
        overlay_ram *o = (overlay_ram *) ram;

        free(o->views);
        free(o);
}

static const iommu_ram_ops overlay_ops = {
        .name = "overlay",
        .read = overlay_read,
        .peek = overlay_peek,
        .free = overlay_free,
};

int iommu_ram_overlay_update(iommu_ram *ram) {
        overlay_ram *o = (overlay_ram *) ram;
        phys_range *v = NULL;
        size_t n = 0, alloc = 0;

        if (!ram || ram->ops != &overlay_ops)
                return -EINVAL;
        for (size_t i = 0; o->base && i < o->base->n_ranges; i++)
                if (ranges_add(&v, &n, &alloc, o->base->ranges[i].start, o->base->ranges[i].end) < 0)
                        goto oom;
        for (size_t k = 0; k < o->n_views; k++)
                for (size_t i = 0; i < o->views[k]->n_ranges; i++)
                        if (ranges_add(&v, &n, &alloc, o->views[k]->ranges[i].start,
                                       o->views[k]->ranges[i].end) < 0)
                                goto oom;
        free(ram->ranges);
        ram->ranges = v;
        ram->n_ranges = n;
        return 0;
oom:
        free(v);
        return -ENOMEM;
}

int iommu_ram_new_overlay(iommu_ram *base, iommu_ram *const *views, size_t n_views, iommu_ram **ret) {
        overlay_ram *o;
        int r;

        if (!ret || (n_views > 0 && !views))
                return -EINVAL;
        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        o->ram.ops = &overlay_ops;
        o->base = base;
        if (n_views > 0) {
                o->views = calloc(n_views, sizeof *o->views);
                if (!o->views) {
                        free(o);
                        return -ENOMEM;
                }
                memcpy(o->views, views, n_views * sizeof *views);
                o->n_views = n_views;
        }
        r = iommu_ram_overlay_update(&o->ram);
        if (r < 0) {
                iommu_ram_free(&o->ram);
                return r;
        }
        *ret = &o->ram;
        return 0;
}
