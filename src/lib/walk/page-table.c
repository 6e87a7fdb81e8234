/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Page-table trees to ranges: second-stage tables (3 to 5 levels, R/W/X
 * per level) and IA-32e first-stage tables (4 or 5 levels, canonical
 * IOVAs), 2 MiB and 1 GiB pages; and the record of distinct roots that lets
 * a tree shared by several targets (one domain) be walked once.  Intel VT-d specification rev 4.x
 * chapters 3 and 9.
 *
 * Bounds: one recursion per level; a table page seen again in the same
 * tree is a loop (on its own path) or a shared table, walked once.
 *
 * Speed: leaf tables are scanned by one tight loop per format with the
 * reserved-bit masks computed once per walk from the layout tables; ranges
 * are coalesced before any callback, so a callback runs per range (or per
 * WALK_RANGE_BATCH ranges with ops->ranges), not per entry.
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "basic/alloc-util.h"
#include "walk/walker.h"

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
        return walker_anomaly(w, w->t, WALK_ANOMALY_RESERVED_BITS, pte_name(w), level, address, iova, e,
                              "level-%u entry for IOVA 0x%" PRIx64 " has reserved bits set: 0x%016" PRIx64,
                              level, iova, bits);
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
                                        r = walker_deliver_batch(w);
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
                        walker_start_range(cur, va, phys, PAGE_SIZE_4K, perms);
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

        r = walker_count_entries(w, PTES_PER_TABLE, w->t, pte_name(w), level, table, iova);
        if (r)
                return r;
        tbl = walker_load_table(w, table, SCRATCH_PT + level - 1, w->t, ref_name(w, ref_level), ref_level,
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
                                r = walker_anomaly(
                                        w, w->t, WALK_ANOMALY_BAD_ENCODING, pte_name(w), level, address, va,
                                        e, "%s page at IOVA 0x%" PRIx64 " but the unit does not support %s",
                                        level == 2 ? "2 MiB" : "1 GiB", va,
                                        w->fs ? "CAP.FS1GP is 0" : "that size (CAP.SLLPS)");
                                if (r < 0)
                                        return r;
                        }
                        low = addr & (span - 1) & ~(w->fs ? w->fs_large_pat : 0);
                        if (low) {
                                r = walker_anomaly(w, w->t, WALK_ANOMALY_MISALIGNED, pte_name(w), level,
                                                   address, va, e,
                                                   "%s page at IOVA 0x%" PRIx64 " has address 0x%" PRIx64
                                                   " not aligned to its size",
                                                   level == 2 ? "2 MiB" : "1 GiB", va, addr);
                                if (r < 0)
                                        return r;
                        }
                        phys = addr & ~(span - 1);
                        r = walker_add_range(w, va, phys, span, perms);
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
                return walker_anomaly(
                        w, w->t, WALK_ANOMALY_OUTSIDE_RAM, name, ref_level, ref_address, iova, ref_value,
                        "level-%u table for IOVA 0x%" PRIx64 " at 0x%" PRIx64 " is outside System RAM",
                        level, iova, table);
        for (unsigned l = level + 1; l <= w->levels; l++)
                if (w->path[l] == table)
                        return walker_anomaly(w, w->t, WALK_ANOMALY_LOOP, name, ref_level, ref_address, iova,
                                              ref_value,
                                              "level-%u table at 0x%" PRIx64 " for IOVA 0x%" PRIx64
                                              " is its own level-%u ancestor",
                                              level, table, iova, l);
        r = hashmap_put(&w->tables, table, 0);
        if (r < 0)
                return r;
        if (r == 0)
                return walker_anomaly(w, w->t, WALK_ANOMALY_SHARED_TABLE, name, ref_level, ref_address, iova,
                                      ref_value,
                                      "level-%u table at 0x%" PRIx64 " for IOVA 0x%" PRIx64
                                      " is referenced again in the same tree (walked once)",
                                      level, table, iova);
        w->path[level] = table;
        r = pt_table(w, table, level, iova, perms, ref_address, ref_level, ref_value);
        w->path[level] = 0;
        return r;
}

/* Table roots are page aligned and levels at most 5: the low bits hold
 * the levels and the format, so equal keys are equal trees. */
static uint64_t root_key(uint64_t root, unsigned levels, bool fs) {
        static_assert((MAX_PT_LEVELS << 1 | 1) < VTD_PAGE_SIZE, "levels and format fit in the page offset");
        return root | (uint64_t) levels << 1 | (uint64_t) fs;
}

int walker_target_tables(walker *w, const walk_target *t, bool fs) {
        uint64_t key = root_key(t->root, t->levels, fs), first;
        int r;

        if (w->filter.contexts_only)
                return 0;
        if (hashmap_get(&w->root_index, key, &first))
                return w->ops->same_tables ? w->ops->same_tables(w->userdata, t, &w->roots[first]) : 0;

        if (!GREEDY_REALLOC(w->roots, w->roots_alloc, w->n_roots + 1))
                return -ENOMEM;
        r = hashmap_put(&w->root_index, key, w->n_roots);
        if (r < 0)
                return r;
        w->roots[w->n_roots++] = *t;
        return walker_tree(w, t, t->root, t->levels, fs);
}

int walker_tree(walker *w, const walk_target *t, uint64_t root, unsigned levels, bool fs) {
        int r, k;

        w->t = t;
        w->fs = fs;
        w->levels = levels;
        w->iova_bits = 12 + 9 * levels;
        memset(w->path, 0, sizeof w->path);
        hashmap_clear(&w->tables);
        w->n_batch = 0;
        w->batch[0].length = 0;

        r = pt_descend(w, root, levels, 0, PERM_ALL, t ? t->entry_address : 0, 0, t ? t->entry[0] : 0);
        if (r < 0)
                return r;
        k = walker_flush_range(w);
        if (k >= 0)
                k = walker_deliver_batch(w);
        return k < 0 ? k : r;
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
        r = walker_tree(&w, t, root, levels, first_stage);
        walker_done(&w);
        return r < 0 ? r : 0;
}
