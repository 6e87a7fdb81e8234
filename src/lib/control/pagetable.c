/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Second-stage page tables built by iommud (pagetable.h).
 *
 * Both changes run twice over the range.  The first run checks everything
 * and prepares every table the change needs, unlinked (a map's new
 * tables, an unmap's tables that split large pages, filled with the
 * large page's translations); it is the only one that can fail, and then
 * the prepared pages are simply handed back.  The second run writes: into
 * a prepared table first (hardware cannot see it yet), then the entry that
 * links it, one 64-bit store, so a table is complete before it is
 * reachable.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "basic/alloc-util.h"
#include "basic/hashmap.h"
#include "control/pagetable.h"
#include "decode/entries.h"
#include "decode/regs.h"

#define ENTRIES 512u
#define PERMS (UINT64_C(1) << SS_PTE_R_LO | UINT64_C(1) << SS_PTE_W_LO | UINT64_C(1) << SS_PTE_X_LO)
#define PS (UINT64_C(1) << SS_PTE_PS_LO)
#define ADDR_MASK FIELD_MASK64(SS_PTE, ADDR)
#define TABLE_PERMS (UINT64_C(1) << SS_PTE_R_LO | UINT64_C(1) << SS_PTE_W_LO)

struct page_table {
        table_mem *mem;
        unsigned levels;
        uint64_t cap;
        bool coherent;
        uint64_t root;
        uint64_t *root_virt;
        uint64_t mapped;
        size_t pages;
        hashmap prepared; /* table start IOVA | level -> physical address of the prepared table */
        page_table_store_hook hook;
        void *hook_userdata;
};

static inline uint64_t span(unsigned level) {
        return UINT64_C(1) << (12 + 9 * (level - 1));
}

static inline bool present(uint64_t e) {
        return e & PERMS;
}

static inline bool leaf(uint64_t e, unsigned level) {
        return level == 1 || (e & PS);
}

static void flush_line(const void *p) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_clflush(p);
#else
        (void) p;
#endif
}

static void flush_range(const page_table *pt, const void *p, size_t size) {
        if (pt->coherent)
                return;
        for (size_t off = 0; off < size; off += 64)
                flush_line((const uint8_t *) p + off);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* An entry hardware may be walking: one 64-bit store, after everything
 * written before it. */
static void store(page_table *pt, uint64_t *e, uint64_t v) {
        table_mem_before_store(pt->mem, e);
        __atomic_store_n(e, v, __ATOMIC_RELEASE);
        flush_range(pt, e, sizeof *e);
        if (pt->hook)
                pt->hook(pt->hook_userdata);
}

void page_table_set_store_hook(page_table *pt, page_table_store_hook hook, void *userdata) {
        pt->hook = hook;
        pt->hook_userdata = userdata;
}

/* Whether level may hold a leaf: 4 KiB always, 2 MiB with SLLPS bit 0,
 * 1 GiB with SLLPS bit 1 (and bit 0: a 1 GiB page is split into 2 MiB
 * ones). */
static bool leaf_allowed(const page_table *pt, unsigned level) {
        uint64_t sllps = FIELD_GET(CAP, SLLPS, &pt->cap);

        return level == 1 || (level == 2 && (sllps & 1)) || (level == 3 && (sllps & 3) == 3);
}

static uint64_t *table_at(const page_table *pt, uint64_t e) {
        return table_mem_virt(pt->mem, e & ADDR_MASK);
}

uint64_t page_table_root(const page_table *pt) {
        return pt->root;
}

unsigned page_table_levels(const page_table *pt) {
        return pt->levels;
}

unsigned page_table_address_width(const page_table *pt) {
        return 12 + 9 * pt->levels;
}

uint64_t page_table_mapped(const page_table *pt) {
        return pt->mapped;
}

size_t page_table_pages(const page_table *pt) {
        return pt->pages;
}

/* A page table of config's shape without its pages yet. */
static int pt_alloc(table_mem *mem, const page_table_config *config, page_table **ret, iommu_error *err) {
        page_table *pt;

        if (config->levels < 3 || config->levels > 5)
                return iommu_error_set(err, EINVAL, "A second-stage table has 3 to 5 levels, not %u",
                                       config->levels);
        pt = calloc(1, sizeof *pt);
        if (!pt)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *pt = (page_table){ .mem = mem,
                            .levels = config->levels,
                            .cap = config->cap,
                            .coherent = config->coherent,
                            .prepared = HASHMAP_INIT };
        *ret = pt;
        return 0;
}

int page_table_new(table_mem *mem, const page_table_config *config, page_table **ret, iommu_error *err) {
        _cleanup_free_ page_table *pt = NULL;
        void *root;
        int r;

        r = pt_alloc(mem, config, &pt, err);
        if (r < 0)
                return r;
        r = table_mem_alloc_page(mem, &root, &pt->root, err);
        if (r < 0)
                return r;
        pt->root_virt = root;
        pt->pages = 1;
        flush_range(pt, root, VTD_PAGE_SIZE);
        *ret = TAKE_PTR(pt);
        return 0;
}

/* ---- taking back a tree hardware walks ---- */

typedef struct adopt_walk {
        page_table *pt;
        table_mem_claims claims; /* the pages claimed so far, handed back on a refusal */
        iommu_error *err;
} adopt_walk;

static int adopt_claim(adopt_walk *w, uint64_t phys, const char *what) {
        return table_mem_claims_add(&w->claims, phys, what, w->err);
}

/* Every entry of a table as iommud writes it: a table pointer (R and W,
 * nothing else), or a leaf where CAP.SLLPS allows one (R and/or W, PS
 * above level 1, an address aligned to the page); anything else, X, the
 * memory type, A/D and the ignored bits included, is not iommud's. */
static int adopt_table(adopt_walk *w, uint64_t phys, unsigned level, uint64_t base) {
        page_table *pt = w->pt;
        const uint64_t *table = table_mem_virt(pt->mem, phys);
        uint64_t s = span(level);
        int r;

        for (unsigned i = 0; i < ENTRIES; i++) {
                uint64_t e = table[i], iova = base + i * s, addr = e & ADDR_MASK;

                if (e == 0)
                        continue;
                if (leaf(e, level) && present(e)) {
                        uint64_t want = (e & ((UINT64_C(1) << SS_PTE_R_LO) | (UINT64_C(1) << SS_PTE_W_LO))) |
                                        addr | (level > 1 ? PS : 0);

                        if (!leaf_allowed(pt, level) || e != want || addr % s)
                                return iommu_error_set(w->err, EPROTO,
                                                       "The entry for IOVA 0x%" PRIx64 " at 0x%" PRIx64
                                                       " (level %u) is 0x%016" PRIx64
                                                       ": not a leaf iommud writes",
                                                       iova, phys + i * 8, level, e);
                        pt->mapped += s;
                        continue;
                }
                if (e != (addr | TABLE_PERMS))
                        return iommu_error_set(w->err, EPROTO,
                                               "The entry for IOVA 0x%" PRIx64 " at 0x%" PRIx64
                                               " (level %u) is 0x%016" PRIx64 ": not an entry iommud writes",
                                               iova, phys + i * 8, level, e);
                r = adopt_claim(w, addr, "The page table at");
                if (r < 0)
                        return r;
                pt->pages++;
                r = adopt_table(w, addr, level - 1, iova);
                if (r < 0)
                        return r;
        }
        return 0;
}

int page_table_adopt(table_mem *mem, const page_table_config *config, uint64_t root, page_table **ret,
                     iommu_error *err) {
        _cleanup_free_ page_table *pt = NULL;
        adopt_walk w = { .claims = { .mem = mem }, .err = err };
        int r;

        r = pt_alloc(mem, config, &pt, err);
        if (r < 0)
                return r;
        pt->root = root;
        w.pt = pt;
        r = adopt_claim(&w, root, "The top page table at");
        if (r >= 0) {
                pt->root_virt = table_mem_virt(mem, root);
                pt->pages = 1;
                r = adopt_table(&w, root, pt->levels, 0);
        }
        table_mem_claims_done(&w.claims, r >= 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pt);
        return 0;
}

static void free_tree(page_table *pt, uint64_t *table, uint64_t phys, unsigned level) {
        for (unsigned i = 0; level > 1 && i < ENTRIES; i++)
                if (present(table[i]) && !leaf(table[i], level))
                        free_tree(pt, table_at(pt, table[i]), table[i] & ADDR_MASK, level - 1);
        table_mem_free_page(pt->mem, phys);
}

page_table *page_table_abandon(page_table *pt) {
        if (!pt)
                return NULL;
        hashmap_done(&pt->prepared);
        free(pt);
        return NULL;
}

page_table *page_table_free(page_table *pt) {
        if (!pt)
                return NULL;
        free_tree(pt, pt->root_virt, pt->root, pt->levels);
        hashmap_done(&pt->prepared);
        free(pt);
        return NULL;
}

/* ---- the two runs ---- */

typedef struct change {
        page_table *pt;
        uint64_t iova, end; /* [iova, end) */
        uint64_t phys;      /* map: where iova goes */
        unsigned perms;     /* map */
        bool commit;        /* the second run */
        page_table_garbage *garbage;
        iommu_error *err;
} change;

static inline uint64_t key_of(uint64_t start, unsigned level) {
        return start | level; /* start is aligned to the table's whole span (at least 2 MiB) */
}

/* The prepared (unlinked) table for the entry covering [start, ...) at
 * level: made on the first run (fill, if not 0, is the large page it
 * replaces: its translations one level down), found on the second. */
static uint64_t *prepared(change *c, uint64_t start, unsigned level, uint64_t fill, uint64_t *ret_phys) {
        page_table *pt = c->pt;
        uint64_t phys;
        void *virt;

        if (hashmap_get(&pt->prepared, key_of(start, level), &phys)) {
                *ret_phys = phys;
                return table_mem_virt(pt->mem, phys);
        }
        if (c->commit || table_mem_alloc_page(pt->mem, &virt, &phys, c->err) < 0)
                return NULL;
        if (hashmap_put(&pt->prepared, key_of(start, level), phys) < 0) {
                table_mem_free_page(pt->mem, phys);
                iommu_error_set(c->err, ENOMEM, "Out of memory");
                return NULL;
        }
        if (fill) {
                uint64_t *t = virt, s = span(level - 1);
                for (unsigned j = 0; j < ENTRIES; j++)
                        t[j] = ((fill & ADDR_MASK) + j * s) | (fill & PERMS) | (level - 1 > 1 ? PS : 0);
        }
        *ret_phys = phys;
        return virt;
}

/* Link a prepared table into *entry: complete first, then one store. */
static void link_prepared(change *c, uint64_t *entry, uint64_t *table, uint64_t phys, uint64_t start,
                          unsigned level) {
        flush_range(c->pt, table, VTD_PAGE_SIZE);
        store(c->pt, entry, phys | TABLE_PERMS);
        (void) hashmap_remove(&c->pt->prepared, key_of(start, level), NULL);
        c->pt->pages++;
}

static int map_table(change *c, uint64_t *table, unsigned level, uint64_t base) {
        page_table *pt = c->pt;
        uint64_t s = span(level);
        uint64_t from = c->iova > base ? c->iova : base;
        uint64_t to = c->end - base < ENTRIES * s ? c->end : base + ENTRIES * s;

        for (uint64_t a = from; a < to;) {
                unsigned i = (unsigned) ((a - base) / s);
                uint64_t lo = base + i * s, hi = lo + s, b = hi < to ? hi : to;
                uint64_t phys = c->phys + (a - c->iova), e = table[i];
                uint64_t *child, child_phys;
                int r;

                if (a == lo && b == hi && leaf_allowed(pt, level) && phys % s == 0 && !present(e)) {
                        if (c->commit)
                                store(pt, &table[i],
                                      phys | (c->perms & PT_READ ? UINT64_C(1) << SS_PTE_R_LO : 0) |
                                              (c->perms & PT_WRITE ? UINT64_C(1) << SS_PTE_W_LO : 0) |
                                              (level > 1 ? PS : 0));
                        a = b;
                        continue;
                }
                if (present(e) && leaf(e, level))
                        return iommu_error_set(c->err, EEXIST, "IOVA 0x%" PRIx64 " is already mapped", a);
                if (present(e)) {
                        r = map_table(c, table_at(pt, e), level - 1, lo);
                        if (r < 0)
                                return r;
                } else {
                        child = prepared(c, lo, level, 0, &child_phys);
                        if (!child)
                                return -ENOMEM;
                        r = map_table(c, child, level - 1, lo);
                        if (r < 0)
                                return r;
                        if (c->commit)
                                link_prepared(c, &table[i], child, child_phys, lo, level);
                }
                a = b;
        }
        return 0;
}

static bool table_empty(const uint64_t *table) {
        for (unsigned i = 0; i < ENTRIES; i++)
                if (present(table[i]))
                        return false;
        return true;
}

static int collect(page_table_garbage *g, uint64_t phys) {
        if (!GREEDY_REALLOC(g->pages, g->alloc, g->n + 1))
                return -ENOMEM;
        g->pages[g->n++] = phys;
        return 0;
}

static int unmap_table(change *c, uint64_t *table, unsigned level, uint64_t base) {
        page_table *pt = c->pt;
        uint64_t s = span(level);
        uint64_t from = c->iova > base ? c->iova : base;
        uint64_t to = c->end - base < ENTRIES * s ? c->end : base + ENTRIES * s;

        for (uint64_t a = from; a < to;) {
                unsigned i = (unsigned) ((a - base) / s);
                uint64_t lo = base + i * s, hi = lo + s, b = hi < to ? hi : to, e = table[i];
                uint64_t *child, child_phys;
                int r;

                if (!present(e))
                        return iommu_error_set(c->err, ENOENT, "IOVA 0x%" PRIx64 " is not mapped", a);
                if (leaf(e, level) && a == lo && b == hi) {
                        if (c->commit)
                                store(pt, &table[i], 0);
                } else if (leaf(e, level)) {
                        /* a large page cut: the same translations one level
                         * down, the cut ones cleared, then one store */
                        child = prepared(c, lo, level, e, &child_phys);
                        if (!child)
                                return -ENOMEM;
                        r = unmap_table(c, child, level - 1, lo);
                        if (r < 0)
                                return r;
                        if (c->commit)
                                link_prepared(c, &table[i], child, child_phys, lo, level);
                } else {
                        child = table_at(pt, e);
                        r = unmap_table(c, child, level - 1, lo);
                        if (r < 0)
                                return r;
                        if (c->commit && table_empty(child)) {
                                /* unlinked now, handed back after the invalidation */
                                store(pt, &table[i], 0);
                                if (collect(c->garbage, e & ADDR_MASK) < 0)
                                        return -ENOMEM;
                                pt->pages--;
                        }
                }
                a = b;
        }
        return 0;
}

static void drop_prepared(page_table *pt) {
        uint64_t phys;

        for (size_t i = 0; hashmap_next(&pt->prepared, &i, NULL, &phys);)
                table_mem_free_page(pt->mem, phys);
        hashmap_clear(&pt->prepared);
}

static int check_range(page_table *pt, uint64_t iova, uint64_t length, iommu_error *err) {
        unsigned aw = page_table_address_width(pt);

        if (length == 0 || iova % VTD_PAGE_SIZE || length % VTD_PAGE_SIZE)
                return iommu_error_set(err, EINVAL,
                                       "IOVA 0x%" PRIx64 " and length 0x%" PRIx64
                                       " must be multiples of 4 KiB, the length not 0",
                                       iova, length);
        if (iova >> aw || length > (UINT64_C(1) << aw) - iova)
                return iommu_error_set(err, ERANGE,
                                       "IOVA 0x%" PRIx64 "+0x%" PRIx64
                                       " goes past the domain's %u-bit address width",
                                       iova, length, aw);
        return 0;
}

int page_table_map(page_table *pt, uint64_t iova, uint64_t phys, uint64_t length, unsigned perms,
                   iommu_error *err) {
        unsigned phys_bits = (unsigned) FIELD_GET(CAP, MGAW, &pt->cap) + 1;
        change c = {
                .pt = pt, .iova = iova, .end = iova + length, .phys = phys, .perms = perms, .err = err
        };
        int r;

        r = check_range(pt, iova, length, err);
        if (r < 0)
                return r;
        if (phys % VTD_PAGE_SIZE)
                return iommu_error_set(err, EINVAL,
                                       "Physical address 0x%" PRIx64 " is not a multiple of 4 KiB", phys);
        if (phys_bits < 52 && (phys >> phys_bits || length > (UINT64_C(1) << phys_bits) - phys))
                return iommu_error_set(err, ERANGE,
                                       "Physical range 0x%" PRIx64 "+0x%" PRIx64
                                       " goes past the unit's %u-bit addresses (CAP.MGAW)",
                                       phys, length, phys_bits);
        if (!(perms & (PT_READ | PT_WRITE)))
                return iommu_error_set(err, EINVAL, "A mapping must allow reads, writes or both");

        r = map_table(&c, pt->root_virt, pt->levels, 0);
        if (r < 0) {
                drop_prepared(pt);
                return r;
        }
        c.commit = true;
        r = map_table(&c, pt->root_virt, pt->levels, 0);
        pt->mapped += length;
        return r;
}

int page_table_unmap(page_table *pt, uint64_t iova, uint64_t length, page_table_garbage *garbage,
                     iommu_error *err) {
        change c = { .pt = pt, .iova = iova, .end = iova + length, .garbage = garbage, .err = err };
        int r;

        r = check_range(pt, iova, length, err);
        if (r < 0)
                return r;
        /* room for the worst case of unlinked tables, so the second run
         * cannot fail half way */
        if (!GREEDY_REALLOC(garbage->pages, garbage->alloc, garbage->n + pt->pages))
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = unmap_table(&c, pt->root_virt, pt->levels, 0);
        if (r < 0) {
                drop_prepared(pt);
                return r;
        }
        c.commit = true;
        r = unmap_table(&c, pt->root_virt, pt->levels, 0);
        pt->mapped -= length;
        return r;
}

void page_table_release(page_table *pt, page_table_garbage *garbage) {
        for (size_t i = 0; i < garbage->n; i++)
                table_mem_free_page(pt->mem, garbage->pages[i]);
        garbage->n = 0;
}

int page_table_lookup(const page_table *pt, uint64_t iova, uint64_t *ret_phys, unsigned *ret_perms,
                      uint64_t *ret_page_size) {
        const uint64_t *table = pt->root_virt;

        if (iova >> page_table_address_width(pt))
                return -ENOENT;
        for (unsigned level = pt->levels; level >= 1; level--) {
                uint64_t s = span(level), e = table[(iova / s) % ENTRIES];

                if (!present(e))
                        return -ENOENT;
                if (leaf(e, level)) {
                        if (ret_phys)
                                *ret_phys = (e & ADDR_MASK & ~(s - 1)) + iova % s;
                        if (ret_perms)
                                *ret_perms = (e & (UINT64_C(1) << SS_PTE_R_LO) ? PT_READ : 0) |
                                             (e & (UINT64_C(1) << SS_PTE_W_LO) ? PT_WRITE : 0);
                        if (ret_page_size)
                                *ret_page_size = s;
                        return 0;
                }
                table = table_at(pt, e);
                if (!table)
                        return -EFAULT;
        }
        return -ENOENT;
}

typedef struct ranges_walk {
        page_table_range_fn fn;
        void *userdata;
        uint64_t iova, phys, length; /* the range being gathered */
        unsigned perms;
} ranges_walk;

static int ranges_leaf(ranges_walk *w, uint64_t iova, uint64_t phys, uint64_t length, unsigned perms) {
        int r;

        if (w->length > 0 && w->iova + w->length == iova && w->phys + w->length == phys &&
            w->perms == perms) {
                w->length += length;
                return 0;
        }
        if (w->length > 0) {
                r = w->fn(w->userdata, w->iova, w->phys, w->length, w->perms);
                if (r < 0)
                        return r;
        }
        *w = (ranges_walk){ .fn = w->fn,
                            .userdata = w->userdata,
                            .iova = iova,
                            .phys = phys,
                            .length = length,
                            .perms = perms };
        return 0;
}

static int ranges_table(const page_table *pt, ranges_walk *w, const uint64_t *table, unsigned level,
                        uint64_t base) {
        uint64_t s = span(level);

        for (unsigned i = 0; i < ENTRIES; i++) {
                uint64_t e = table[i], iova = base + i * s;
                const uint64_t *next;
                int r;

                if (!present(e))
                        continue;
                if (leaf(e, level)) {
                        r = ranges_leaf(w, iova, e & ADDR_MASK & ~(s - 1), s,
                                        (e & (UINT64_C(1) << SS_PTE_R_LO) ? PT_READ : 0) |
                                                (e & (UINT64_C(1) << SS_PTE_W_LO) ? PT_WRITE : 0));
                        if (r < 0)
                                return r;
                        continue;
                }
                /* the tree is iommud's own, built below table memory: a
                 * pointer out of it is a bug, not input to tolerate */
                next = table_at(pt, e);
                if (!next)
                        return -EFAULT;
                r = ranges_table(pt, w, next, level - 1, iova);
                if (r < 0)
                        return r;
        }
        return 0;
}

int page_table_ranges(const page_table *pt, page_table_range_fn fn, void *userdata) {
        ranges_walk w = { .fn = fn, .userdata = userdata };
        int r;

        if (!pt || !fn)
                return -EINVAL;
        r = ranges_table(pt, &w, pt->root_virt, pt->levels, 0);
        if (r < 0)
                return r;
        return w.length > 0 ? fn(userdata, w.iova, w.phys, w.length, w.perms) : 0;
}
