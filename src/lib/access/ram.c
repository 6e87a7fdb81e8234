/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading RAM: the bounds every backend shares, the in-memory image backend
 * (tests, benchmarks: sparse 4 KiB pages in an open-addressing hash table,
 * so a walker's peek is one multiply and a probe or two) and the recorder
 * (a wrapper noting which pages a walk read, for snapshots).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"

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
static int ranges_add(phys_range **ranges, size_t *n, size_t *cap, uint64_t start, uint64_t end) {
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

        if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 8;
                phys_range *nv = realloc(v, nc * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                *ranges = v = nv;
                *cap = nc;
        }
        memmove(v + first + 1, v + first, (*n - first) * sizeof *v);
        v[first] = (phys_range){ start, end };
        (*n)++;
        return 0;
}

/* Fibonacci hashing of a page frame number into 2^bits slots. */
static inline size_t pfn_hash(uint64_t pfn, unsigned bits) {
        return (size_t) ((pfn * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - bits));
}

/* ---- the in-memory image ---- */

typedef struct image_slot {
        uint64_t key; /* pfn + 1; 0 = empty */
        uint8_t *page;
} image_slot;

typedef struct image_ram {
        iommu_ram ram;
        size_t ranges_cap;
        image_slot *slots;
        unsigned bits; /* 2^bits slots */
        size_t n_pages;
} image_ram;

/* What absent pages of declared RAM read as. */
static const uint8_t zero_page[VTD_PAGE_SIZE] __attribute__((aligned(VTD_PAGE_SIZE)));

static uint8_t *image_lookup(const image_ram *im, uint64_t pfn) {
        size_t mask = ((size_t) 1 << im->bits) - 1;
        uint64_t key = pfn + 1;

        for (size_t i = pfn_hash(pfn, im->bits);; i = (i + 1) & mask) {
                const image_slot *s = &im->slots[i];
                if (s->key == key)
                        return s->page;
                if (s->key == 0)
                        return NULL;
        }
}

static int image_grow(image_ram *im) {
        unsigned nbits = im->bits + 1;
        size_t n = (size_t) 1 << nbits, mask = n - 1;
        image_slot *ns = calloc(n, sizeof *ns);

        if (!ns)
                return -ENOMEM;
        for (size_t j = 0; j < ((size_t) 1 << im->bits); j++) {
                const image_slot *s = &im->slots[j];
                size_t i;
                if (!s->key)
                        continue;
                for (i = pfn_hash(s->key - 1, nbits); ns[i].key; i = (i + 1) & mask)
                        ;
                ns[i] = *s;
        }
        free(im->slots);
        im->slots = ns;
        im->bits = nbits;
        return 0;
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

        for (size_t i = 0; i < ((size_t) 1 << im->bits); i++)
                free(im->slots[i].page);
        free(im->slots);
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
        im->bits = 6;
        im->slots = calloc((size_t) 1 << im->bits, sizeof *im->slots);
        if (!im->slots) {
                free(im);
                return -ENOMEM;
        }
        im->ram.ops = &image_ops;
        *ret = &im->ram;
        return 0;
}

void *iommu_ram_image_page(iommu_ram *ram, uint64_t paddr) {
        image_ram *im = (image_ram *) ram;
        uint64_t pfn = paddr / VTD_PAGE_SIZE;
        size_t mask, i;
        uint8_t *p;

        if (!ram || ram->ops != &image_ops || (paddr & PAGE_MASK))
                return NULL;
        p = image_lookup(im, pfn);
        if (p)
                return p;

        /* keep the load at most one half */
        if ((im->n_pages + 1) * 2 > ((size_t) 1 << im->bits) && image_grow(im) < 0)
                return NULL;
        if (ranges_add(&ram->ranges, &ram->n_ranges, &im->ranges_cap, paddr, paddr + PAGE_MASK) < 0)
                return NULL;
        p = aligned_alloc(VTD_PAGE_SIZE, VTD_PAGE_SIZE);
        if (!p)
                return NULL; /* the range stays declared: it reads as zeros */
        memset(p, 0, VTD_PAGE_SIZE);

        mask = ((size_t) 1 << im->bits) - 1;
        for (i = pfn_hash(pfn, im->bits); im->slots[i].key; i = (i + 1) & mask)
                ;
        im->slots[i] = (image_slot){ .key = pfn + 1, .page = p };
        im->n_pages++;
        return p;
}

int iommu_ram_image_add_range(iommu_ram *ram, uint64_t start, uint64_t end) {
        image_ram *im = (image_ram *) ram;

        if (!ram || ram->ops != &image_ops || start > end)
                return -EINVAL;
        return ranges_add(&ram->ranges, &ram->n_ranges, &im->ranges_cap, start, end);
}

/* ---- the recorder ---- */

typedef struct recorder_ram {
        iommu_ram ram;
        iommu_ram *inner;
        uint64_t *keys; /* hash set of pfn + 1; 0 = empty */
        unsigned bits;
        uint64_t *pages; /* page addresses, in recording order until sorted */
        size_t n_pages, pages_cap;
        bool sorted;
        uint64_t reads;
} recorder_ram;

static int recorder_note(recorder_ram *rec, uint64_t pfn) {
        size_t mask = ((size_t) 1 << rec->bits) - 1, i;

        for (i = pfn_hash(pfn, rec->bits); rec->keys[i]; i = (i + 1) & mask)
                if (rec->keys[i] == pfn + 1)
                        return 0;

        if ((rec->n_pages + 1) * 2 > ((size_t) 1 << rec->bits)) {
                unsigned nbits = rec->bits + 1;
                size_t n = (size_t) 1 << nbits;
                uint64_t *nk = calloc(n, sizeof *nk);
                if (!nk)
                        return -ENOMEM;
                for (size_t j = 0; j < rec->n_pages; j++) {
                        uint64_t p = rec->pages[j] / VTD_PAGE_SIZE;
                        size_t k;
                        for (k = pfn_hash(p, nbits); nk[k]; k = (k + 1) & (n - 1))
                                ;
                        nk[k] = p + 1;
                }
                free(rec->keys);
                rec->keys = nk;
                rec->bits = nbits;
                mask = n - 1;
                for (i = pfn_hash(pfn, rec->bits); rec->keys[i]; i = (i + 1) & mask)
                        ;
        }
        if (rec->n_pages == rec->pages_cap) {
                size_t nc = rec->pages_cap ? rec->pages_cap * 2 : 64;
                uint64_t *np = realloc(rec->pages, nc * sizeof *np);
                if (!np)
                        return -ENOMEM;
                rec->pages = np;
                rec->pages_cap = nc;
        }
        rec->keys[i] = pfn + 1;
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

        free(rec->keys);
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
        rec->bits = 6;
        rec->keys = calloc((size_t) 1 << rec->bits, sizeof *rec->keys);
        if (inner->n_ranges > 0)
                rec->ram.ranges = malloc(inner->n_ranges * sizeof *rec->ram.ranges);
        if (!rec->keys || (inner->n_ranges > 0 && !rec->ram.ranges)) {
                free(rec->keys);
                free(rec->ram.ranges);
                free(rec);
                return -ENOMEM;
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
