/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Inside the walker (walk.h is the interface): the state of one walk and
 * what its files share.
 *
 *   walker.c      the state, bounds, anomalies, loading tables, the range
 *                 batch, distinct page-table roots, targets
 *   walk.c        walk_unit(): the root table, one loop for both modes
 *   legacy.c      legacy mode: context tables
 *   scalable.c    scalable mode: context tables, PASID directories and tables
 *   page-table.c  page-table trees (second and first stage) -> ranges
 */

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/hashmap.h"
#include "basic/macro.h"
#include "decode/entries.h"
#include "decode/regs.h"
#include "walk/walk.h"

#define _unlikely_(x) __builtin_expect(!!(x), 0)

/* A bound was reached: unwind without an error (walk_unit returns 0). */
#define WALK_STOP 1

#define PAGE_SIZE_4K ((uint64_t) VTD_PAGE_SIZE)
#define MAX_PT_LEVELS 5

/* Effective permissions: the second-stage R, W, X bits where they sit, so
 * that a second-stage entry's are one mask away. */
enum {
        PERM_R = 1 << SS_PTE_R_LO,
        PERM_W = 1 << SS_PTE_W_LO,
        PERM_X = 1 << SS_PTE_X_LO,
        PERM_ALL = PERM_R | PERM_W | PERM_X,
};

/* One scratch page per table level, for backends that cannot peek. */
enum {
        SCRATCH_ROOT,
        SCRATCH_CONTEXT,
        SCRATCH_PASID_DIR,
        SCRATCH_PASID,
        SCRATCH_PT, /* + level - 1 */
        _SCRATCH_MAX = SCRATCH_PT + MAX_PT_LEVELS,
};

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
        hashmap tables;                   /* its table pages, a set cleared per tree */

        /* Ranges: batch[0..n_batch) are finished and wait for ops->ranges
         * (always none without it); batch[n_batch] is the pending one
         * (length 0: none), r_perms its permissions. */
        size_t n_batch;
        unsigned r_perms;
        walk_range batch[WALK_RANGE_BATCH + 1];

        hashmap pasid_tables; /* of one PASID directory, a set */

        /* Distinct page-table roots: root_key() -> index in roots of the
         * first target with that root, levels and format. */
        hashmap root_index;
        walk_target *roots;
        size_t n_roots, roots_alloc;
} walker;

/* What a translation mode does with the root table; walk.c runs the loop
 * over its entries. */
typedef struct walker_mode {
        const layout *root; /* of a root entry */
        /* Before the root table is read: 1 when nothing can match in this
         * mode, else 0 or a callback's negative return.  May be NULL. */
        int (*begin)(walker *w, uint64_t rtaddr);
        bool (*root_present)(const uint64_t *v);
        /* The context table(s) of a present root entry for bus, its
         * reserved bits already checked. */
        int (*root_entry)(walker *w, uint8_t bus, const uint64_t *v, uint64_t address);
} walker_mode;

extern const walker_mode walker_mode_legacy;
extern const walker_mode walker_mode_scalable;

int walker_init(walker *w, iommu_ram *ram, uint64_t cap, uint64_t ecap, const walk_filter *filter,
                const walk_ops *ops, void *userdata);
void walker_done(walker *w);

static inline void *walker_scratch(walker *w, unsigned slot) {
        return w->scratch + (size_t) slot * VTD_PAGE_SIZE;
}

/* An anomaly for t (NULL outside targets), after the finished ranges: 0,
 * or the callback's return. */
int walker_anomaly(walker *w, const walk_target *t, walk_anomaly_kind kind, const char *table,
                   unsigned level, uint64_t address, uint64_t iova, uint64_t value, const char *fmt, ...)
        _printf_(9, 10);
/* A bad encoding in t's own entry. */
int walker_bad(walker *w, const walk_target *t, const char *fmt, ...) _printf_(3, 4);
/* Count n entries against the bound: 0, WALK_STOP after a "limit"
 * anomaly, or the callback's negative return. */
int walker_count_entries(walker *w, unsigned n, const walk_target *t, const char *table, unsigned level,
                         uint64_t address, uint64_t iova);
/* A table page: checked against RAM, then peeked or read.  NULL after
 * reporting why (the reference's own entry is named by table, address),
 * *ret then 0 or the callback's negative return. */
const uint64_t *walker_load_table(walker *w, uint64_t paddr, unsigned slot, const walk_target *t,
                                  const char *table, unsigned level, uint64_t address, uint64_t iova,
                                  uint64_t value, const char *what, int *ret);
/* The reserved bits of a structure entry, as an anomaly; who prefixes the
 * message ("bus 00: ", "00:01.0: " or ""). */
int walker_check_reserved(walker *w, const walk_target *t, const layout *l, const uint64_t *v,
                          uint64_t address, const char *who);

static inline void walker_load_entry(uint64_t *v, const uint64_t *src, unsigned nq) {
        unsigned q;

        for (q = 0; q < nq; q++)
                v[q] = le64toh(src[q]);
        for (; q < LAYOUT_MAX_QWORDS; q++)
                v[q] = 0;
}

/* Hand the finished ranges to ops->ranges; the pending one moves to the
 * front. */
int walker_deliver_batch(walker *w);
/* A page of psize: continues the pending range or starts the next. */
int walker_add_range(walker *w, uint64_t iova, uint64_t phys, uint64_t psize, unsigned perms);
/* The pending range is complete, if there is one. */
int walker_flush_range(walker *w);

static inline void walker_start_range(walk_range *cur, uint64_t iova, uint64_t phys, uint64_t psize,
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

/* A (device, PASID) with a present entry: target, its checks, its tables
 * (unless an earlier target had the same), target_done. */
bool walker_filter_match(const walk_filter *f, const walk_target *t);
int walker_target_begin(walker *w, const walk_target *t);
/* The AW of t's second-stage table: valid and among CAP.SAGAW. */
int walker_check_aw(walker *w, const walk_target *t, uint64_t aw);
int walker_target_tables(walker *w, const walk_target *t, bool fs);
/* target_done, unless r is negative; returns r or target_done's error. */
int walker_target_end(walker *w, const walk_target *t, int r);

/* One page-table tree, its ranges flushed at the end (also when a bound
 * stopped it): page-table.c. */
int walker_tree(walker *w, const walk_target *t, uint64_t root, unsigned levels, bool fs);
