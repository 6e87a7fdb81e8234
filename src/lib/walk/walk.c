/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The walker: RTADDR -> root table -> context tables (legacy), or context
 * tables -> PASID directory -> PASID tables (scalable mode) -> page tables
 * -> coalesced ranges, streamed to callbacks.  Intel VT-d specification
 * rev 4.x chapters 3 and 9.
 *
 * Bounds: the table levels are fixed (root, context, PASID directory, PASID
 * table, then at most five page-table levels, one recursion per level); a
 * page-table page seen again in the same tree is a loop (on its own path)
 * or a shared table, walked once; a global count of entries examined stops
 * the walk at filter->max_entries.  Every pointer is checked against RAM
 * before it is read.
 *
 * Speed: leaf tables are scanned by one tight loop per format with the
 * reserved-bit masks computed once per walk from the layout tables; ranges
 * are coalesced before any callback, so a callback runs per range (or per
 * WALK_RANGE_BATCH ranges with ops->ranges), not per entry.
 */
#include <assert.h>
#include <endian.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/string-table.h"
#include "decode/entries.h"
#include "decode/regs.h"
#include "walk/walk.h"

#define _unlikely_(x) __builtin_expect(!!(x), 0)

/* A bound was reached: unwind without an error (walk_unit returns 0). */
#define WALK_STOP 1

#define PAGE_SIZE_4K ((uint64_t) VTD_PAGE_SIZE)
#define MAX_PT_LEVELS 5
#define PASID_MAX UINT32_C(0xfffff)

/* Effective permissions: the second-stage R, W, X bits where they sit, so
 * that a second-stage entry's are one mask away. */
enum {
        PERM_R = 1 << SS_PTE_R_LO,
        PERM_W = 1 << SS_PTE_W_LO,
        PERM_X = 1 << SS_PTE_X_LO,
        PERM_ALL = PERM_R | PERM_W | PERM_X,
};
static_assert(SS_PTE_R_WIDTH == 1 && SS_PTE_W_WIDTH == 1 && SS_PTE_X_WIDTH == 1, "one bit each");
static_assert((int) FS_PTE_RW_LO == (int) SS_PTE_W_LO && FS_PTE_RW_WIDTH == 1, "first-stage R/W where W is");

/* One scratch page per table level, for backends that cannot peek. */
enum {
        SCRATCH_ROOT,
        SCRATCH_CONTEXT,
        SCRATCH_PASID_DIR,
        SCRATCH_PASID,
        SCRATCH_PT, /* + level - 1 */
        _SCRATCH_MAX = SCRATCH_PT + MAX_PT_LEVELS,
};

/* clang-format off */
static const char *const walk_mode_table[_WALK_MODE_MAX] = {
        [WALK_MODE_LEGACY] = "legacy",
        [WALK_MODE_SCALABLE] = "scalable",
        [WALK_MODE_RESERVED] = "reserved",
        [WALK_MODE_ABORT] = "abort-dma",
};

static const char *const walk_translation_table[_WALK_TRANSLATION_MAX] = {
        [WALK_TRANSLATION_MULTI_LEVEL] = "multi-level",
        [WALK_TRANSLATION_DEVICE_TLB] = "device-tlb",
        [WALK_TRANSLATION_PASS_THROUGH] = "pass-through",
        [WALK_TRANSLATION_FIRST_STAGE] = "first-stage",
        [WALK_TRANSLATION_SECOND_STAGE] = "second-stage",
        [WALK_TRANSLATION_NESTED] = "nested",
        [WALK_TRANSLATION_RESERVED] = "reserved",
};

static const char *const walk_anomaly_kind_table[_WALK_ANOMALY_MAX] = {
        [WALK_ANOMALY_RESERVED_BITS] = "reserved-bits",
        [WALK_ANOMALY_OUTSIDE_RAM] = "outside-ram",
        [WALK_ANOMALY_READ_ERROR] = "read-error",
        [WALK_ANOMALY_LOOP] = "loop",
        [WALK_ANOMALY_SHARED_TABLE] = "shared-table",
        [WALK_ANOMALY_BAD_ENCODING] = "bad-encoding",
        [WALK_ANOMALY_MISALIGNED] = "misaligned",
        [WALK_ANOMALY_LIMIT] = "limit",
};
/* clang-format on */

DEFINE_STRING_TABLE_LOOKUP(walk_mode, walk_mode, walk_mode_table, _WALK_MODE_MAX, _WALK_MODE_INVALID)
DEFINE_STRING_TABLE_LOOKUP(walk_translation, walk_translation, walk_translation_table, _WALK_TRANSLATION_MAX,
                           _WALK_TRANSLATION_INVALID)
DEFINE_STRING_TABLE_LOOKUP(walk_anomaly_kind, walk_anomaly_kind, walk_anomaly_kind_table, _WALK_ANOMALY_MAX,
                           _WALK_ANOMALY_INVALID)

walk_mode walk_mode_of_rtaddr(uint64_t rtaddr) {
        switch (FIELD_GET(RTADDR, TTM, &rtaddr)) {
        case 0:
                return WALK_MODE_LEGACY;
        case 1:
                return WALK_MODE_SCALABLE;
        case 2:
                return WALK_MODE_RESERVED;
        default:
                return WALK_MODE_ABORT;
        }
}

/* ---- sets: table pages of one tree, distinct roots of one unit ---- */

static inline size_t hash64(uint64_t x, unsigned bits) {
        return (size_t) ((x * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - bits));
}

/* Page addresses; cleared by a generation bump, so clearing per tree costs
 * nothing however large an earlier tree made it. */
typedef struct page_set_slot {
        uint64_t addr;
        uint32_t gen;
} page_set_slot;

typedef struct page_set {
        page_set_slot *slots;
        unsigned bits;
        size_t n;
        uint32_t gen;
} page_set;

static void page_set_clear(page_set *s) {
        s->n = 0;
        if (++s->gen == 0) {
                if (s->slots)
                        memset(s->slots, 0, ((size_t) 1 << s->bits) * sizeof *s->slots);
                s->gen = 1;
        }
}

/* 1: added, 0: was there already, -ENOMEM. */
static int page_set_add(page_set *s, uint64_t addr) {
        size_t mask, i;

        if ((s->n + 1) * 2 > (s->slots ? (size_t) 1 << s->bits : 0)) {
                unsigned nbits = s->slots ? s->bits + 1 : 6;
                size_t n = (size_t) 1 << nbits;
                page_set_slot *ns = calloc(n, sizeof *ns);

                if (!ns)
                        return -ENOMEM;
                for (size_t j = 0; s->slots && j < ((size_t) 1 << s->bits); j++) {
                        if (s->slots[j].gen != s->gen)
                                continue;
                        for (i = hash64(s->slots[j].addr, nbits); ns[i].gen == 1; i = (i + 1) & (n - 1))
                                ;
                        ns[i] = (page_set_slot){ s->slots[j].addr, 1 };
                }
                free(s->slots);
                s->slots = ns;
                s->bits = nbits;
                s->gen = 1;
        }
        mask = ((size_t) 1 << s->bits) - 1;
        for (i = hash64(addr, s->bits); s->slots[i].gen == s->gen; i = (i + 1) & mask)
                if (s->slots[i].addr == addr)
                        return 0;
        s->slots[i] = (page_set_slot){ addr, s->gen };
        s->n++;
        return 1;
}

/* Distinct page-table roots: (root, levels, format) -> the first target. */
typedef struct root_rec {
        uint64_t root;
        unsigned levels;
        bool first_stage;
        walk_target first;
} root_rec;

typedef struct root_map {
        root_rec *recs;
        size_t n, cap;
        size_t *slots; /* index + 1; 0 = empty */
        unsigned bits;
} root_map;

static inline uint64_t root_key(uint64_t root, unsigned levels, bool fs) {
        return root ^ ((uint64_t) levels << 1) ^ (uint64_t) fs; /* root is page aligned */
}

static const root_rec *root_map_find(const root_map *m, uint64_t root, unsigned levels, bool fs) {
        size_t mask;

        if (!m->slots)
                return NULL;
        mask = ((size_t) 1 << m->bits) - 1;
        for (size_t i = hash64(root_key(root, levels, fs), m->bits); m->slots[i]; i = (i + 1) & mask) {
                const root_rec *r = &m->recs[m->slots[i] - 1];
                if (r->root == root && r->levels == levels && r->first_stage == fs)
                        return r;
        }
        return NULL;
}

static int root_map_add(root_map *m, const walk_target *t, bool fs) {
        size_t mask, i;

        if ((m->n + 1) * 2 > (m->slots ? (size_t) 1 << m->bits : 0)) {
                unsigned nbits = m->slots ? m->bits + 1 : 4;
                size_t n = (size_t) 1 << nbits;
                size_t *ns = calloc(n, sizeof *ns);

                if (!ns)
                        return -ENOMEM;
                for (size_t j = 0; j < m->n; j++) {
                        const root_rec *r = &m->recs[j];
                        for (i = hash64(root_key(r->root, r->levels, r->first_stage), nbits); ns[i];
                             i = (i + 1) & (n - 1))
                                ;
                        ns[i] = j + 1;
                }
                free(m->slots);
                m->slots = ns;
                m->bits = nbits;
        }
        if (m->n == m->cap) {
                size_t nc = m->cap ? m->cap * 2 : 16;
                root_rec *nr = realloc(m->recs, nc * sizeof *nr);
                if (!nr)
                        return -ENOMEM;
                m->recs = nr;
                m->cap = nc;
        }
        m->recs[m->n] = (root_rec){ .root = t->root, .levels = t->levels, .first_stage = fs, .first = *t };
        mask = ((size_t) 1 << m->bits) - 1;
        for (i = hash64(root_key(t->root, t->levels, fs), m->bits); m->slots[i]; i = (i + 1) & mask)
                ;
        m->slots[i] = ++m->n;
        return 0;
}

/* ---- the walker ---- */

typedef struct walker {
        iommu_ram *ram;
        const walk_ops *ops;
        void *userdata;
        walk_filter filter;
        uint64_t cap, ecap;
        uint64_t entries, max_entries;
        uint8_t *scratch; /* _SCRATCH_MAX pages */

        /* Derived once per walk from the layouts and CAP. */
        uint64_t rsv_ss, rsv_fs; /* reserved bits of any paging entry: undescribed + above MGAW */
        uint64_t fs_large_pat;   /* bit 12 of a first-stage large page: PAT, not address */

        /* The tree being walked. */
        const walk_target *t;
        bool fs;
        unsigned levels;
        unsigned iova_bits;
        uint64_t path[MAX_PT_LEVELS + 2]; /* table at each level on the current path */
        page_set tables;

        /* Ranges: batch[0..n_batch) are finished and wait for ops->ranges
         * (always none without it); batch[n_batch] is the pending one
         * (length 0: none), r_perms its permissions. */
        size_t n_batch;
        unsigned r_perms;
        walk_range batch[WALK_RANGE_BATCH + 1];

        page_set pasid_tables; /* of one PASID directory */
        root_map roots;
} walker;

static int walker_init(walker *w, iommu_ram *ram, uint64_t cap, uint64_t ecap, const walk_filter *filter,
                       const walk_ops *ops, void *userdata) {
        static const walk_ops no_ops = {};
        uint64_t ones[LAYOUT_MAX_QWORDS], rsv[LAYOUT_MAX_QWORDS], above;
        unsigned haw = (unsigned) FIELD_GET(CAP, MGAW, &cap) + 1;

        *w = (walker){
                .ram = ram,
                .ops = ops ?: &no_ops,
                .userdata = userdata,
                .filter = filter ? *filter : WALK_FILTER_ALL,
                .cap = cap,
                .ecap = ecap,
        };
        w->max_entries = w->filter.max_entries ?: WALK_MAX_ENTRIES;
        w->scratch = malloc((size_t) _SCRATCH_MAX * VTD_PAGE_SIZE);
        if (!w->scratch)
                return -ENOMEM;

        /* Address bits from the host address width up are reserved; MGAW
         * stands in for the DMAR table's HAW, which the walker is not told
         * (QEMU reports the same width for both). */
        above = haw >= 64 ? 0 : ~((UINT64_C(1) << haw) - 1);
        memset(ones, 0xff, sizeof ones);
        layout_reserved_bits(&layout_ss_pte, ones, rsv);
        w->rsv_ss = rsv[0] | (FIELD_MASK64(SS_PTE, ADDR) & above);
        layout_reserved_bits(&layout_fs_pte, ones, rsv);
        w->rsv_fs = rsv[0] | (FIELD_MASK64(FS_PTE, ADDR) & above);
        w->fs_large_pat = UINT64_C(1) << FS_PTE_ADDR_LO;
        return 0;
}

static void walker_done(walker *w) {
        free(w->scratch);
        free(w->tables.slots);
        free(w->pasid_tables.slots);
        free(w->roots.recs);
        free(w->roots.slots);
}

static void *scratch(walker *w, unsigned slot) {
        return w->scratch + (size_t) slot * VTD_PAGE_SIZE;
}

/* Hand the finished ranges to ops->ranges; the pending one moves to the
 * front. */
static int deliver_batch(walker *w) {
        size_t n = w->n_batch;
        int r;

        if (n == 0)
                return 0;
        r = w->ops->ranges(w->userdata, w->t, w->batch, n);
        w->batch[0] = w->batch[n];
        w->n_batch = 0;
        return r;
}

/* The pending range is complete: batch it, or hand it to ops->range. */
static inline int finish_range(walker *w) {
        int r = 0;

        if (w->ops->ranges) {
                w->batch[++w->n_batch].length = 0;
                return w->n_batch == WALK_RANGE_BATCH ? deliver_batch(w) : 0;
        }
        if (w->ops->range)
                r = w->ops->range(w->userdata, w->t, &w->batch[0]);
        w->batch[0].length = 0;
        return r;
}

static inline void start_range(walk_range *cur, uint64_t iova, uint64_t phys, uint64_t psize,
                               unsigned perms) {
        /* field by field: no stores to padding */
        cur->iova = iova;
        cur->phys = phys;
        cur->length = psize;
        cur->page_size = psize;
        cur->read = (perms & PERM_R) != 0;
        cur->write = (perms & PERM_W) != 0;
        cur->execute = (perms & PERM_X) != 0;
}

static int anomaly(walker *w, const walk_target *t, walk_anomaly_kind kind, const char *table,
                   unsigned level, uint64_t address, uint64_t iova, uint64_t value, const char *fmt, ...)
        _printf_(9, 10);
static int anomaly(walker *w, const walk_target *t, walk_anomaly_kind kind, const char *table,
                   unsigned level, uint64_t address, uint64_t iova, uint64_t value, const char *fmt, ...) {
        walk_anomaly a = {
                .kind = kind,
                .table = table,
                .level = level,
                .address = address,
                .iova = iova,
                .value = value,
        };
        va_list ap;
        int r;

        if (!w->ops->anomaly)
                return 0;
        /* ranges before the anomaly reach the caller before it */
        r = deliver_batch(w);
        if (r < 0)
                return r;
        va_start(ap, fmt);
        (void) vsnprintf(a.message, sizeof a.message, fmt, ap);
        va_end(ap);
        return w->ops->anomaly(w->userdata, t, &a);
}

/* Count n entries against the bound. */
static int count_entries(walker *w, unsigned n, const walk_target *t, const char *table, unsigned level,
                         uint64_t address, uint64_t iova) {
        int r;

        if (_unlikely_(w->entries + n > w->max_entries)) {
                r = anomaly(w, t, WALK_ANOMALY_LIMIT, table, level, address, iova, 0,
                            "walk stopped at the bound of %" PRIu64 " entries examined", w->max_entries);
                return r < 0 ? r : WALK_STOP;
        }
        w->entries += n;
        return 0;
}

/* A table page: checked against RAM, then peeked or read.  NULL after
 * reporting why (the reference's own entry is named by table, address). */
static const uint64_t *load_table(walker *w, uint64_t paddr, unsigned slot, const walk_target *t,
                                  const char *table, unsigned level, uint64_t address, uint64_t iova,
                                  uint64_t value, const char *what, int *ret) {
        iommu_error err = {};
        const void *p;

        *ret = 0;
        if (!iommu_ram_contains(w->ram, paddr, VTD_PAGE_SIZE)) {
                *ret = anomaly(w, t, WALK_ANOMALY_OUTSIDE_RAM, table, level, address, iova, value,
                               "%s at 0x%" PRIx64 " is outside System RAM", what, paddr);
                return NULL;
        }
        p = iommu_ram_page(w->ram, paddr, scratch(w, slot), &err);
        if (!p) {
                *ret = anomaly(w, t, WALK_ANOMALY_READ_ERROR, table, level, address, iova, value,
                               "%s at 0x%" PRIx64 " could not be read: %s", what, paddr,
                               err.message[0] ? err.message : strerror(err.error));
                return NULL;
        }
        return p;
}

static void load_entry(uint64_t *v, const uint64_t *src, unsigned nq) {
        unsigned q;

        for (q = 0; q < nq; q++)
                v[q] = le64toh(src[q]);
        for (; q < LAYOUT_MAX_QWORDS; q++)
                v[q] = 0;
}

/* The reserved bits of a structure entry, as an anomaly. */
static int check_reserved(walker *w, const walk_target *t, const layout *l, const uint64_t *v,
                          uint64_t address, const char *who) {
        uint64_t rsv[LAYOUT_MAX_QWORDS];
        unsigned nq = (l->width + 63) / 64;

        layout_reserved_bits(l, v, rsv);
        for (unsigned q = 0; q < nq; q++)
                if (rsv[q])
                        return anomaly(w, t, WALK_ANOMALY_RESERVED_BITS, l->name, 0, address, 0, v[0],
                                       "%s%s entry has reserved bits set: 0x%016" PRIx64 " in bits %u-%u",
                                       who, l->name, rsv[q], q * 64 + 63, q * 64);
        return 0;
}

static bool filter_match(const walk_filter *f, const walk_target *t) {
        if (f->bus >= 0 && t->bus != f->bus)
                return false;
        if (f->devfn >= 0 && t->devfn != f->devfn)
                return false;
        if (f->pasid >= 0 && (int64_t) t->pasid != f->pasid)
                return false;
        if (f->did >= 0 && t->did != f->did)
                return false;
        return true;
}

/* ---- page tables ---- */

static int flush_range(walker *w) {
        return w->batch[w->n_batch].length ? finish_range(w) : 0;
}

/* A page of psize: continues the pending range or starts the next. */
static int add_range(walker *w, uint64_t iova, uint64_t phys, uint64_t psize, unsigned perms) {
        walk_range *cur = &w->batch[w->n_batch];
        int r;

        if (cur->length && iova == cur->iova + cur->length && phys == cur->phys + cur->length &&
            psize == cur->page_size && perms == w->r_perms) {
                cur->length += psize;
                return 0;
        }
        if (cur->length) {
                r = finish_range(w);
                if (r < 0)
                        return r;
                cur = &w->batch[w->n_batch];
        }
        start_range(cur, iova, phys, psize, perms);
        w->r_perms = perms;
        return 0;
}

static inline unsigned ss_perms(uint64_t e) {
        return (unsigned) (e &
                           (FIELD_MASK64(SS_PTE, R) | FIELD_MASK64(SS_PTE, W) | FIELD_MASK64(SS_PTE, X)));
}

/* Read always, write from R/W, execute unless XD. */
static inline unsigned fs_perms(uint64_t e) {
        return PERM_R | (unsigned) (e & FIELD_MASK64(FS_PTE, RW)) | (FIELD_GET(FS_PTE, XD, &e) ? 0 : PERM_X);
}

static const char *pte_name(const walker *w) {
        return w->fs ? layout_fs_pte.name : layout_ss_pte.name;
}

static int pte_reserved(walker *w, unsigned level, uint64_t address, uint64_t iova, uint64_t e,
                        uint64_t bits) {
        return anomaly(w, w->t, WALK_ANOMALY_RESERVED_BITS, pte_name(w), level, address, iova, e,
                       "level-%u entry for IOVA 0x%" PRIx64 " has reserved bits set: 0x%016" PRIx64, level,
                       iova, bits);
}

/* The 512 entries of a leaf table (level 1): the loop a walk spends its
 * time in.  fs is a constant in each of the two instances.  The pending
 * range is written where it will be handed over (the batch slot), so a
 * page that starts a range costs a few stores; an entry that is exactly the
 * previous one plus 4 KiB (same flags, next frame; no reserved bits, no
 * carry out of the address) continues it without being decoded, in a
 * loop of its own. */
static inline __attribute__((always_inline)) int leaf_table(walker *w, const uint64_t *tbl, uint64_t table,
                                                            uint64_t iova, unsigned up, const bool fs) {
        const uint64_t present =
                fs ? FIELD_MASK64(FS_PTE, P)
                   : FIELD_MASK64(SS_PTE, R) | FIELD_MASK64(SS_PTE, W) | FIELD_MASK64(SS_PTE, X);
        const uint64_t addr_mask = fs ? FIELD_MASK64(FS_PTE, ADDR) : FIELD_MASK64(SS_PTE, ADDR);
        const uint64_t rsv = fs ? w->rsv_fs : w->rsv_ss;
        const bool batching = w->ops->ranges;
        int (*const range_cb)(void *, const walk_target *, const walk_range *) = w->ops->range;
        size_t n = w->n_batch; /* w->n_batch, kept in a register */
        walk_range *cur = &w->batch[n];
        unsigned cur_perms = w->r_perms;
        uint64_t expect = 0;
        int r = 0;

        for (unsigned i = 0; i < PTES_PER_TABLE; i++) {
                uint64_t e = le64toh(tbl[i]), va, phys;
                unsigned perms;

                if (e == expect && e) {
                        unsigned j = i + 1;

                        while ((expect & addr_mask) != addr_mask && j < PTES_PER_TABLE &&
                               le64toh(tbl[j]) == expect + PAGE_SIZE_4K) {
                                expect += PAGE_SIZE_4K;
                                j++;
                        }
                        cur->length += (uint64_t) (j - i) * PAGE_SIZE_4K;
                        expect = (expect & addr_mask) == addr_mask ? 0 : expect + PAGE_SIZE_4K;
                        i = j - 1;
                        continue;
                }
                expect = 0;
                if (!(e & present))
                        continue;
                va = iova + ((uint64_t) i << 12);
                if (_unlikely_(e & rsv)) {
                        w->n_batch = n;
                        r = pte_reserved(w, 1, table + (uint64_t) i * PTE_SIZE, va, e, e & rsv);
                        if (r < 0)
                                break;
                        n = w->n_batch; /* the anomaly delivered the batch */
                        cur = &w->batch[n];
                }
                phys = e & addr_mask;
                perms = (fs ? fs_perms(e) : ss_perms(e)) & up;
                if (cur->length && va == cur->iova + cur->length && phys == cur->phys + cur->length &&
                    cur->page_size == PAGE_SIZE_4K && perms == cur_perms)
                        cur->length += PAGE_SIZE_4K;
                else {
                        /* finish_range(), with the batch index in a register */
                        if (cur->length && batching) {
                                cur = &w->batch[++n];
                                cur->length = 0;
                                if (n == WALK_RANGE_BATCH) {
                                        w->n_batch = n;
                                        r = deliver_batch(w);
                                        n = 0;
                                        cur = &w->batch[0];
                                        if (r < 0)
                                                break;
                                }
                        } else if (cur->length && range_cb) {
                                r = range_cb(w->userdata, w->t, cur);
                                if (r < 0) {
                                        cur->length = 0;
                                        break;
                                }
                        }
                        start_range(cur, va, phys, PAGE_SIZE_4K, perms);
                        cur_perms = perms;
                }
                if (!(e & rsv) && (e & addr_mask) != addr_mask)
                        expect = e + PAGE_SIZE_4K;
        }
        w->n_batch = n;
        w->r_perms = cur_perms;
        return r < 0 ? r : 0;
}

static int leaf_table_ss(walker *w, const uint64_t *tbl, uint64_t table, uint64_t iova, unsigned up) {
        return leaf_table(w, tbl, table, iova, up, false);
}

static int leaf_table_fs(walker *w, const uint64_t *tbl, uint64_t table, uint64_t iova, unsigned up) {
        return leaf_table(w, tbl, table, iova, up, true);
}

/* First-stage input addresses are canonical: bits above the width copy its
 * top bit. */
static uint64_t canonical(const walker *w, uint64_t iova) {
        unsigned b = w->iova_bits;

        if (!w->fs || b >= 64 || !(iova & (UINT64_C(1) << (b - 1))))
                return iova;
        return iova | ~((UINT64_C(1) << b) - 1);
}

static int pt_descend(walker *w, uint64_t table, unsigned level, uint64_t iova, unsigned perms,
                      uint64_t ref_address, unsigned ref_level, uint64_t ref_value);

/* The layout of the entry that referenced a table: a paging entry, or for
 * the root the target's context or PASID entry. */
static const char *ref_name(const walker *w, unsigned ref_level) {
        if (ref_level == 0 && w->t && w->t->entry_layout)
                return w->t->entry_layout->name;
        return pte_name(w);
}

/* A table at level (1..5) mapping from iova, already admitted (in RAM, not
 * on its own path, first time in this tree). */
static int pt_table(walker *w, uint64_t table, unsigned level, uint64_t iova, unsigned up,
                    uint64_t ref_address, unsigned ref_level, uint64_t ref_value) {
        const unsigned shift = 12 + 9 * (level - 1);
        const uint64_t span = UINT64_C(1) << shift;
        const uint64_t present =
                w->fs ? FIELD_MASK64(FS_PTE, P)
                      : FIELD_MASK64(SS_PTE, R) | FIELD_MASK64(SS_PTE, W) | FIELD_MASK64(SS_PTE, X);
        const uint64_t ps_mask = w->fs ? FIELD_MASK64(FS_PTE, PS) : FIELD_MASK64(SS_PTE, PS);
        const uint64_t rsv = w->fs ? w->rsv_fs : w->rsv_ss;
        const uint64_t *tbl;
        int r;

        r = count_entries(w, PTES_PER_TABLE, w->t, pte_name(w), level, table, iova);
        if (r)
                return r;
        tbl = load_table(w, table, SCRATCH_PT + level - 1, w->t, ref_name(w, ref_level), ref_level,
                         ref_address, iova, ref_value, "page table", &r);
        if (!tbl)
                return r;
        if (level == 1)
                return w->fs ? leaf_table_fs(w, tbl, table, iova, up)
                             : leaf_table_ss(w, tbl, table, iova, up);

        for (unsigned i = 0; i < PTES_PER_TABLE; i++) {
                uint64_t e = le64toh(tbl[i]), va, addr, address = table + (uint64_t) i * PTE_SIZE;
                unsigned perms;

                if (!(e & present))
                        continue;
                va = iova + (uint64_t) i * span;
                if (level == w->levels)
                        va = canonical(w, va);
                if (_unlikely_(e & rsv)) {
                        r = pte_reserved(w, level, address, va, e, e & rsv);
                        if (r < 0)
                                return r;
                }
                perms = (w->fs ? fs_perms(e) : ss_perms(e)) & up;
                addr = w->fs ? fs_pte_addr(e) : ss_pte_addr(e);

                if (e & ps_mask) {
                        uint64_t low, phys;

                        if (level > 3) {
                                /* PS is reserved in a PML4E/PML5E: follow it as a table */
                                r = pte_reserved(w, level, address, va, e, ps_mask);
                                if (r < 0)
                                        return r;
                                goto table;
                        }
                        if (!(w->fs ? level == 2 || FIELD_GET(CAP, FS1GP, &w->cap)
                                    : FIELD_GET(CAP, SLLPS, &w->cap) & (UINT64_C(1) << (level - 2)))) {
                                r = anomaly(w, w->t, WALK_ANOMALY_BAD_ENCODING, pte_name(w), level, address,
                                            va, e,
                                            "%s page at IOVA 0x%" PRIx64 " but the unit does not support %s",
                                            level == 2 ? "2 MiB" : "1 GiB", va,
                                            w->fs ? "CAP.FS1GP is 0" : "that size (CAP.SLLPS)");
                                if (r < 0)
                                        return r;
                        }
                        low = addr & (span - 1) & ~(w->fs ? w->fs_large_pat : 0);
                        if (low) {
                                r = anomaly(w, w->t, WALK_ANOMALY_MISALIGNED, pte_name(w), level, address,
                                            va, e,
                                            "%s page at IOVA 0x%" PRIx64 " has address 0x%" PRIx64
                                            " not aligned to its size",
                                            level == 2 ? "2 MiB" : "1 GiB", va, addr);
                                if (r < 0)
                                        return r;
                        }
                        phys = addr & ~(span - 1);
                        r = add_range(w, va, phys, span, perms);
                        if (r < 0)
                                return r;
                        continue;
                }
        table:
                r = pt_descend(w, addr, level - 1, va, perms, address, level, e);
                if (r)
                        return r;
        }
        return 0;
}

static int pt_descend(walker *w, uint64_t table, unsigned level, uint64_t iova, unsigned perms,
                      uint64_t ref_address, unsigned ref_level, uint64_t ref_value) {
        const char *name = ref_name(w, ref_level);
        int r;

        if (!iommu_ram_contains(w->ram, table, VTD_PAGE_SIZE))
                return anomaly(
                        w, w->t, WALK_ANOMALY_OUTSIDE_RAM, name, ref_level, ref_address, iova, ref_value,
                        "level-%u table for IOVA 0x%" PRIx64 " at 0x%" PRIx64 " is outside System RAM",
                        level, iova, table);
        for (unsigned l = level + 1; l <= w->levels; l++)
                if (w->path[l] == table)
                        return anomaly(w, w->t, WALK_ANOMALY_LOOP, name, ref_level, ref_address, iova,
                                       ref_value,
                                       "level-%u table at 0x%" PRIx64 " for IOVA 0x%" PRIx64
                                       " is its own level-%u ancestor",
                                       level, table, iova, l);
        r = page_set_add(&w->tables, table);
        if (r < 0)
                return r;
        if (r == 0)
                return anomaly(w, w->t, WALK_ANOMALY_SHARED_TABLE, name, ref_level, ref_address, iova,
                               ref_value,
                               "level-%u table at 0x%" PRIx64 " for IOVA 0x%" PRIx64
                               " is referenced again in the same tree (walked once)",
                               level, table, iova);
        w->path[level] = table;
        r = pt_table(w, table, level, iova, perms, ref_address, ref_level, ref_value);
        w->path[level] = 0;
        return r;
}

/* One tree, its ranges flushed at the end (also when a bound stopped it). */
static int walk_tree(walker *w, const walk_target *t, uint64_t root, unsigned levels, bool fs) {
        int r, k;

        w->t = t;
        w->fs = fs;
        w->levels = levels;
        w->iova_bits = 12 + 9 * levels;
        memset(w->path, 0, sizeof w->path);
        page_set_clear(&w->tables);
        w->n_batch = 0;
        w->batch[0].length = 0;

        r = pt_descend(w, root, levels, 0, PERM_ALL, t ? t->entry_address : 0, 0, t ? t->entry[0] : 0);
        if (r < 0)
                return r;
        k = flush_range(w);
        if (k >= 0)
                k = deliver_batch(w);
        return k < 0 ? k : r;
}

/* ---- targets ---- */

static int target_tables(walker *w, const walk_target *t, bool fs) {
        const root_rec *first;
        int r;

        if (w->filter.contexts_only)
                return 0;
        first = root_map_find(&w->roots, t->root, t->levels, fs);

        if (first)
                return w->ops->same_tables ? w->ops->same_tables(w->userdata, t, &first->first) : 0;
        r = root_map_add(&w->roots, t, fs);
        if (r < 0)
                return r;
        return walk_tree(w, t, t->root, t->levels, fs);
}

static int target_begin(walker *w, const walk_target *t) {
        return w->ops->target ? w->ops->target(w->userdata, t) : 0;
}

/* target_done runs after a bound stopped the walk too, so every target the
 * caller saw is closed. */
static int target_end(walker *w, const walk_target *t, int r) {
        int k;

        if (r < 0)
                return r;
        k = w->ops->target_done ? w->ops->target_done(w->userdata, t) : 0;
        return k < 0 ? k : r;
}

static int bad(walker *w, const walk_target *t, const char *fmt, ...) _printf_(3, 4);
static int bad(walker *w, const walk_target *t, const char *fmt, ...) {
        char msg[sizeof(((walk_anomaly *) NULL)->message)];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return anomaly(w, t, WALK_ANOMALY_BAD_ENCODING, t->entry_layout->name, 0, t->entry_address, 0,
                       t->entry[0], "%s", msg);
}

/* AW of a second-stage table: valid and among CAP.SAGAW. */
static int check_aw(walker *w, const walk_target *t, uint64_t aw) {
        uint64_t sagaw = FIELD_GET(CAP, SAGAW, &w->cap);

        if (!aw_valid(aw))
                return bad(w, t, "address width encoding %" PRIu64 " is reserved", aw);
        if (!(sagaw & (UINT64_C(1) << aw)))
                return bad(w, t, "%u-bit address width (%u levels) is not supported by CAP.SAGAW 0x%" PRIx64,
                           aw_bits(aw), aw_levels(aw), sagaw);
        return 0;
}

/* ---- legacy mode ---- */

static int legacy_context(walker *w, uint8_t bus, uint8_t devfn, const uint64_t *v, uint64_t address) {
        uint64_t aw = FIELD_GET(CONTEXT, AW, v);
        unsigned tt = context_tt(v);
        bool tables = (tt == CONTEXT_TT_MULTI_LEVEL || tt == CONTEXT_TT_DEVICE_TLB) && aw_valid(aw);
        walk_target t = {
                .bus = bus,
                .devfn = devfn,
                .pasid = WALK_NO_PASID,
                .did = context_did(v),
                .fpd = FIELD_GET(CONTEXT, FPD, v),
                .entry_address = address,
                .entry_layout = &layout_context,
        };
        int r;

        memcpy(t.entry, v, sizeof t.entry);
        switch (tt) {
        case CONTEXT_TT_MULTI_LEVEL:
                t.translation = WALK_TRANSLATION_MULTI_LEVEL;
                break;
        case CONTEXT_TT_DEVICE_TLB:
                t.translation = WALK_TRANSLATION_DEVICE_TLB;
                break;
        case CONTEXT_TT_PASS_THROUGH:
                t.translation = WALK_TRANSLATION_PASS_THROUGH;
                break;
        default:
                t.translation = WALK_TRANSLATION_RESERVED;
                break;
        }
        if (tables) {
                t.levels = aw_levels(aw);
                t.address_width = aw_bits(aw);
                t.root = context_ssptptr(v);
        }
        if (!filter_match(&w->filter, &t))
                return 0;

        r = target_begin(w, &t);
        if (r < 0)
                return r;
        r = check_reserved(w, &t, &layout_context, v, address, "");
        if (r >= 0 && tt == CONTEXT_TT_RESERVED)
                r = bad(w, &t, "translation type 3 is reserved");
        if (r >= 0 && tt == CONTEXT_TT_DEVICE_TLB && !FIELD_GET(ECAP, DT, &w->ecap))
                r = bad(w, &t,
                        "device-TLB translation type, but the unit has no device-TLB support (ECAP.DT 0)");
        if (r >= 0 && tt == CONTEXT_TT_PASS_THROUGH && !FIELD_GET(ECAP, PT, &w->ecap))
                r = bad(w, &t,
                        "pass-through translation type, but the unit does not support it (ECAP.PT 0)");
        if (r >= 0 && (tt == CONTEXT_TT_MULTI_LEVEL || tt == CONTEXT_TT_DEVICE_TLB))
                r = check_aw(w, &t, aw);
        if (r >= 0 && tables)
                r = target_tables(w, &t, false);
        return target_end(w, &t, r);
}

static int legacy_context_table(walker *w, uint8_t bus, uint64_t ctp, uint64_t ref_address,
                                uint64_t ref_value) {
        unsigned lo = 0, hi = 255;
        const uint64_t *tbl;
        int r;

        if (w->filter.devfn >= 0)
                lo = hi = (unsigned) w->filter.devfn;
        r = count_entries(w, 256, NULL, layout_context.name, 0, ctp, 0);
        if (r)
                return r;
        tbl = load_table(w, ctp, SCRATCH_CONTEXT, NULL, layout_root.name, 0, ref_address, 0, ref_value,
                         "context table", &r);
        if (!tbl)
                return r;
        for (unsigned devfn = lo; devfn <= hi; devfn++) {
                uint64_t v[LAYOUT_MAX_QWORDS];

                load_entry(v, tbl + devfn * (CONTEXT_ENTRY_SIZE / 8), CONTEXT_ENTRY_SIZE / 8);
                if (!context_present(v))
                        continue;
                r = legacy_context(w, bus, (uint8_t) devfn, v, ctp + (uint64_t) devfn * CONTEXT_ENTRY_SIZE);
                if (r)
                        return r;
        }
        return 0;
}

static int walk_legacy(walker *w, uint64_t rta, uint64_t rtaddr) {
        unsigned lo = 0, hi = 255;
        const uint64_t *root;
        int r;

        if (w->filter.bus >= 0)
                lo = hi = (unsigned) w->filter.bus;
        if (w->filter.pasid >= 0 && w->filter.pasid != (int64_t) WALK_NO_PASID)
                return 0; /* legacy targets have no PASID */
        r = count_entries(w, 256, NULL, layout_root.name, 0, rta, 0);
        if (r)
                return r;
        root = load_table(w, rta, SCRATCH_ROOT, NULL, layout_rtaddr.name, 0, 0, 0, rtaddr, "root table", &r);
        if (!root)
                return r;
        for (unsigned bus = lo; bus <= hi; bus++) {
                uint64_t v[LAYOUT_MAX_QWORDS], address = rta + (uint64_t) bus * ROOT_ENTRY_SIZE;
                char who[16];

                load_entry(v, root + bus * (ROOT_ENTRY_SIZE / 8), ROOT_ENTRY_SIZE / 8);
                if (!root_present(v))
                        continue;
                (void) snprintf(who, sizeof who, "bus %02x: ", bus);
                r = check_reserved(w, NULL, &layout_root, v, address, who);
                if (r < 0)
                        return r;
                r = legacy_context_table(w, (uint8_t) bus, root_ctp(v), address, v[0]);
                if (r)
                        return r;
        }
        return 0;
}

/* ---- scalable mode ---- */

typedef struct sm_device {
        uint8_t bus, devfn;
        char who[16]; /* "BB:DD.F: " */
        const uint64_t *ctx;
        uint64_t ctx_address;
        uint32_t rid_pasid;
        bool fpd;
} sm_device;

static int sm_pasid(walker *w, const sm_device *d, uint32_t pasid, bool dir_fpd, const uint64_t *v,
                    uint64_t address) {
        unsigned pgtt = pasid_pgtt(v);
        uint64_t aw = FIELD_GET(PASID, AW, v), fspm = FIELD_GET(PASID, FSPM, v);
        bool fs = false, tables = false;
        walk_target t = {
                .bus = d->bus,
                .devfn = d->devfn,
                .pasid = pasid,
                .rid_pasid = pasid == d->rid_pasid,
                .did = pasid_did(v),
                .fpd = d->fpd || dir_fpd || FIELD_GET(PASID, FPD, v),
                .entry_address = address,
                .entry_layout = &layout_pasid,
        };
        int r;

        memcpy(t.entry, v, sizeof t.entry);
        switch (pgtt) {
        case PGTT_FIRST_STAGE:
        case PGTT_NESTED:
                t.translation = pgtt == PGTT_NESTED ? WALK_TRANSLATION_NESTED : WALK_TRANSLATION_FIRST_STAGE;
                if (fspm == FSPM_4_LEVEL || fspm == FSPM_5_LEVEL) {
                        t.levels = pasid_fs_levels(v);
                        t.address_width = 12 + 9 * t.levels;
                        t.root = pasid_fsptptr(v);
                        fs = tables = true;
                }
                if (pgtt == PGTT_NESTED)
                        t.second_root = pasid_ssptptr(v);
                break;
        case PGTT_SECOND_STAGE:
                t.translation = WALK_TRANSLATION_SECOND_STAGE;
                if (aw_valid(aw)) {
                        t.levels = aw_levels(aw);
                        t.address_width = aw_bits(aw);
                        t.root = pasid_ssptptr(v);
                        tables = true;
                }
                break;
        case PGTT_PASS_THROUGH:
                t.translation = WALK_TRANSLATION_PASS_THROUGH;
                break;
        default:
                t.translation = WALK_TRANSLATION_RESERVED;
                break;
        }
        if (!filter_match(&w->filter, &t))
                return 0;

        r = target_begin(w, &t);
        if (r < 0)
                return r;
        r = check_reserved(w, &t, &layout_pasid, v, address, "");
        switch (pgtt) {
        case PGTT_FIRST_STAGE:
        case PGTT_NESTED:
                if (r >= 0 && fspm > FSPM_5_LEVEL)
                        r = bad(w, &t, "first-stage paging mode %" PRIu64 " is reserved", fspm);
                if (r >= 0 && fspm == FSPM_5_LEVEL && !FIELD_GET(CAP, FS5LP, &w->cap))
                        r = bad(w, &t, "5-level first-stage paging, but CAP.FS5LP is 0");
                if (r >= 0 && pgtt == PGTT_FIRST_STAGE && !FIELD_GET(ECAP, FSTS, &w->ecap))
                        r = bad(w, &t, "first-stage translation, but ECAP.FSTS is 0");
                if (r >= 0 && pgtt == PGTT_NESTED && !FIELD_GET(ECAP, NEST, &w->ecap))
                        r = bad(w, &t, "nested translation, but ECAP.NEST is 0");
                if (r >= 0 && pgtt == PGTT_NESTED)
                        r = check_aw(w, &t, aw);
                break;
        case PGTT_SECOND_STAGE:
                if (r >= 0 && !FIELD_GET(ECAP, SSTS, &w->ecap))
                        r = bad(w, &t, "second-stage translation, but ECAP.SSTS is 0");
                if (r >= 0)
                        r = check_aw(w, &t, aw);
                break;
        case PGTT_PASS_THROUGH:
                if (r >= 0 && !FIELD_GET(ECAP, PT, &w->ecap))
                        r = bad(w, &t, "pass-through, but ECAP.PT is 0");
                break;
        default:
                if (r >= 0)
                        r = bad(w, &t, "PASID granular translation type %u is reserved", pgtt);
                break;
        }
        if (r >= 0 && tables)
                r = target_tables(w, &t, fs);
        return target_end(w, &t, r);
}

static int sm_pasid_table(walker *w, const sm_device *d, unsigned dir_index, uint64_t de,
                          uint64_t de_address) {
        uint64_t ptbl = pasid_dir_smptblptr(de);
        unsigned lo = 0, hi = PASIDS_PER_TABLE - 1;
        const uint64_t *tbl;
        int r;

        if (w->filter.pasid >= 0)
                lo = hi = (unsigned) (w->filter.pasid % PASIDS_PER_TABLE);
        r = page_set_add(&w->pasid_tables, ptbl);
        if (r < 0)
                return r;
        if (r == 0)
                return anomaly(
                        w, NULL, WALK_ANOMALY_SHARED_TABLE, layout_pasid_dir.name, 0, de_address, 0, de,
                        "%sPASID table at 0x%" PRIx64 " for PASIDs from 0x%x is referenced again in the "
                        "same directory (walked once)",
                        d->who, ptbl, dir_index * PASIDS_PER_TABLE);
        r = count_entries(w, PASIDS_PER_TABLE, NULL, layout_pasid.name, 0, ptbl, 0);
        if (r)
                return r;
        tbl = load_table(w, ptbl, SCRATCH_PASID, NULL, layout_pasid_dir.name, 0, de_address, 0, de,
                         "PASID table", &r);
        if (!tbl)
                return r;
        for (unsigned j = lo; j <= hi; j++) {
                uint64_t v[LAYOUT_MAX_QWORDS];

                load_entry(v, tbl + j * (PASID_ENTRY_SIZE / 8), PASID_ENTRY_SIZE / 8);
                if (!pasid_present(v))
                        continue;
                r = sm_pasid(w, d, dir_index * PASIDS_PER_TABLE + j, FIELD_GET(PASID_DIR, FPD, &de), v,
                             ptbl + (uint64_t) j * PASID_ENTRY_SIZE);
                if (r)
                        return r;
        }
        return 0;
}

static int sm_pasid_dir(walker *w, const sm_device *d) {
        const unsigned per_page = VTD_PAGE_SIZE / PASID_DIR_ENTRY_SIZE;
        uint64_t n = sm_context_pasid_dir_entries(d->ctx), dir = sm_context_pasiddirptr(d->ctx);
        uint64_t lo = 0, hi = n - 1;
        int r;

        if (w->filter.pasid >= 0) {
                if (w->filter.pasid > (int64_t) PASID_MAX)
                        return 0;
                lo = hi = (uint64_t) w->filter.pasid / PASIDS_PER_TABLE;
                if (lo >= n)
                        return 0;
        }
        page_set_clear(&w->pasid_tables);
        for (uint64_t page = lo / per_page; page <= hi / per_page; page++) {
                uint64_t first = page * per_page > lo ? page * per_page : lo;
                uint64_t last = page * per_page + per_page - 1 < hi ? page * per_page + per_page - 1 : hi;
                uint64_t paddr = dir + page * VTD_PAGE_SIZE;
                const uint64_t *tbl;
                char what[64];

                r = count_entries(w, (unsigned) (last - first + 1), NULL, layout_pasid_dir.name, 0, paddr,
                                  0);
                if (r)
                        return r;
                (void) snprintf(what, sizeof what, "%sPASID directory page", d->who);
                tbl = load_table(w, paddr, SCRATCH_PASID_DIR, NULL, layout_sm_context.name, 0,
                                 d->ctx_address, 0, d->ctx[0], what, &r);
                if (!tbl) {
                        if (r < 0)
                                return r;
                        continue;
                }
                for (uint64_t i = first; i <= last; i++) {
                        uint64_t de = le64toh(tbl[i % per_page]),
                                 de_address = dir + i * PASID_DIR_ENTRY_SIZE;

                        if (!pasid_dir_present(de))
                                continue;
                        r = check_reserved(w, NULL, &layout_pasid_dir, &de, de_address, d->who);
                        if (r < 0)
                                return r;
                        r = sm_pasid_table(w, d, (unsigned) i, de, de_address);
                        if (r)
                                return r;
                }
        }
        return 0;
}

static int sm_context_table(walker *w, uint8_t bus, unsigned half, uint64_t ctp, uint64_t ref_address,
                            uint64_t ref_value) {
        const unsigned per_table = VTD_PAGE_SIZE / SM_CONTEXT_ENTRY_SIZE;
        unsigned lo = 0, hi = per_table - 1;
        const uint64_t *tbl;
        int r;

        if (w->filter.devfn >= 0)
                lo = hi = (unsigned) w->filter.devfn % per_table;
        r = count_entries(w, per_table, NULL, layout_sm_context.name, 0, ctp, 0);
        if (r)
                return r;
        tbl = load_table(w, ctp, SCRATCH_CONTEXT, NULL, layout_sm_root.name, 0, ref_address, 0, ref_value,
                         half ? "upper context table" : "lower context table", &r);
        if (!tbl)
                return r;
        for (unsigned i = lo; i <= hi; i++) {
                uint64_t v[LAYOUT_MAX_QWORDS], address = ctp + (uint64_t) i * SM_CONTEXT_ENTRY_SIZE;
                sm_device d = {
                        .bus = bus,
                        .devfn = (uint8_t) (half * per_table + i),
                        .ctx = v,
                        .ctx_address = address,
                };

                load_entry(v, tbl + i * (SM_CONTEXT_ENTRY_SIZE / 8), SM_CONTEXT_ENTRY_SIZE / 8);
                if (!sm_context_present(v))
                        continue;
                d.rid_pasid = sm_context_rid_pasid(v);
                d.fpd = FIELD_GET(SM_CONTEXT, FPD, v);
                (void) snprintf(d.who, sizeof d.who, "%02x:%02x.%u: ", bus, d.devfn >> 3, d.devfn & 7);
                r = check_reserved(w, NULL, &layout_sm_context, v, address, d.who);
                if (r < 0)
                        return r;
                r = sm_pasid_dir(w, &d);
                if (r)
                        return r;
        }
        return 0;
}

static int walk_scalable(walker *w, uint64_t rta, uint64_t rtaddr) {
        unsigned lo = 0, hi = 255;
        const uint64_t *root;
        int r;

        if (w->filter.bus >= 0)
                lo = hi = (unsigned) w->filter.bus;
        if (!FIELD_GET(ECAP, SMTS, &w->ecap)) {
                r = anomaly(w, NULL, WALK_ANOMALY_BAD_ENCODING, layout_rtaddr.name, 0, 0, 0, rtaddr,
                            "scalable-mode root table, but the unit does not support scalable mode "
                            "(ECAP.SMTS 0)");
                if (r < 0)
                        return r;
        }
        r = count_entries(w, 256, NULL, layout_sm_root.name, 0, rta, 0);
        if (r)
                return r;
        root = load_table(w, rta, SCRATCH_ROOT, NULL, layout_rtaddr.name, 0, 0, 0, rtaddr, "root table", &r);
        if (!root)
                return r;
        for (unsigned bus = lo; bus <= hi; bus++) {
                uint64_t v[LAYOUT_MAX_QWORDS], address = rta + (uint64_t) bus * ROOT_ENTRY_SIZE;
                char who[16];

                load_entry(v, root + bus * (ROOT_ENTRY_SIZE / 8), ROOT_ENTRY_SIZE / 8);
                if (!sm_root_present(v, 0) && !sm_root_present(v, 128))
                        continue;
                (void) snprintf(who, sizeof who, "bus %02x: ", bus);
                r = check_reserved(w, NULL, &layout_sm_root, v, address, who);
                if (r < 0)
                        return r;
                for (unsigned half = 0; half < 2; half++) {
                        if (!sm_root_present(v, half * 128))
                                continue;
                        if (w->filter.devfn >= 0 && (unsigned) w->filter.devfn / 128 != half)
                                continue;
                        r = sm_context_table(w, (uint8_t) bus, half, sm_root_ctp(v, half * 128), address,
                                             v[half]);
                        if (r)
                                return r;
                }
        }
        return 0;
}

/* ---- entry points ---- */

int walk_unit(iommu_ram *ram, uint64_t rtaddr, uint64_t cap, uint64_t ecap, const walk_filter *filter,
              const walk_ops *ops, void *userdata) {
        uint64_t rta = ENTRY_ADDR(RTADDR, RTA, &rtaddr);
        walker w;
        int r;

        if (!ram)
                return -EINVAL;
        /* a bus or devfn that cannot exist matches nothing (and must not
         * index a table) */
        if (filter && (filter->bus > 255 || filter->devfn > 255))
                return 0;
        r = walker_init(&w, ram, cap, ecap, filter, ops, userdata);
        if (r < 0)
                return r;

        switch (walk_mode_of_rtaddr(rtaddr)) {
        case WALK_MODE_LEGACY:
                r = walk_legacy(&w, rta, rtaddr);
                break;
        case WALK_MODE_SCALABLE:
                r = walk_scalable(&w, rta, rtaddr);
                break;
        case WALK_MODE_RESERVED:
                r = anomaly(&w, NULL, WALK_ANOMALY_BAD_ENCODING, layout_rtaddr.name, 0, 0, 0, rtaddr,
                            "translation table mode 2 (RTADDR.TTM 10b) is reserved");
                break;
        default:
                r = 0; /* abort-DMA mode: no tables, every request blocked */
                break;
        }
        walker_done(&w);
        return r < 0 ? r : 0;
}

int walk_page_table(iommu_ram *ram, uint64_t cap, uint64_t root, unsigned levels, bool first_stage,
                    const walk_target *t, const walk_ops *ops, void *userdata) {
        walker w;
        int r;

        if (!ram || levels < (first_stage ? 4u : 3u) || levels > MAX_PT_LEVELS || root % VTD_PAGE_SIZE)
                return -EINVAL;
        r = walker_init(&w, ram, cap, 0, NULL, ops, userdata);
        if (r < 0)
                return r;
        r = walk_tree(&w, t, root, levels, first_stage);
        walker_done(&w);
        return r < 0 ? r : 0;
}
