/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The walker's state and what every level of a walk uses: the names of
 * modes, translations and anomalies, the bound on entries examined,
 * anomalies, loading a table page, the range batch, and targets.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/string-table.h"
#include "decode/values.h"
#include "walk/walker.h"

/* Modes and translations are the values of RTADDR.TTM, the legacy context
 * entry's TT and the scalable PASID entry's PGTT: their names come from
 * decode's tables of those encodings, so "device-tlb" is spelled once. */
/* clang-format off */
static const value_name *const walk_mode_table[_WALK_MODE_MAX] = {
        [WALK_MODE_LEGACY] = &ttm_values[TTM_LEGACY],
        [WALK_MODE_SCALABLE] = &ttm_values[TTM_SCALABLE],
        [WALK_MODE_RESERVED] = &ttm_values[TTM_RESERVED],
        [WALK_MODE_ABORT] = &ttm_values[TTM_ABORT_DMA],
};

static const value_name *const walk_translation_table[_WALK_TRANSLATION_MAX] = {
        [WALK_TRANSLATION_MULTI_LEVEL] = &context_tt_values[CONTEXT_TT_MULTI_LEVEL],
        [WALK_TRANSLATION_DEVICE_TLB] = &context_tt_values[CONTEXT_TT_DEVICE_TLB],
        [WALK_TRANSLATION_PASS_THROUGH] = &context_tt_values[CONTEXT_TT_PASS_THROUGH],
        [WALK_TRANSLATION_FIRST_STAGE] = &pgtt_values[PGTT_FIRST_STAGE],
        [WALK_TRANSLATION_SECOND_STAGE] = &pgtt_values[PGTT_SECOND_STAGE],
        [WALK_TRANSLATION_NESTED] = &pgtt_values[PGTT_NESTED],
        [WALK_TRANSLATION_RESERVED] = &context_tt_values[CONTEXT_TT_RESERVED],
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

DEFINE_VALUE_NAME_LOOKUP(walk_mode, walk_mode, walk_mode_table, _WALK_MODE_MAX, _WALK_MODE_INVALID)
DEFINE_VALUE_NAME_LOOKUP(walk_translation, walk_translation, walk_translation_table, _WALK_TRANSLATION_MAX,
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

static_assert(SS_PTE_R_WIDTH == 1 && SS_PTE_W_WIDTH == 1 && SS_PTE_X_WIDTH == 1, "one bit each");
static_assert((int) FS_PTE_RW_LO == (int) SS_PTE_W_LO && FS_PTE_RW_WIDTH == 1, "first-stage R/W where W is");

int walker_init(walker *w, iommu_ram *ram, uint64_t cap, uint64_t ecap, const walk_filter *filter,
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
                .tables = HASHMAP_INIT,
                .pasid_tables = HASHMAP_INIT,
                .root_index = HASHMAP_INIT,
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

void walker_done(walker *w) {
        free(w->scratch);
        hashmap_done(&w->tables);
        hashmap_done(&w->pasid_tables);
        hashmap_done(&w->root_index);
        free(w->roots);
}

/* ---- anomalies and bounds ---- */

int walker_anomaly(walker *w, const walk_target *t, walk_anomaly_kind kind, const char *table,
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
        r = walker_deliver_batch(w);
        if (r < 0)
                return r;
        va_start(ap, fmt);
        (void) vsnprintf(a.message, sizeof a.message, fmt, ap);
        va_end(ap);
        return w->ops->anomaly(w->userdata, t, &a);
}

int walker_bad(walker *w, const walk_target *t, const char *fmt, ...) {
        char msg[sizeof(((walk_anomaly *) NULL)->message)];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return walker_anomaly(w, t, WALK_ANOMALY_BAD_ENCODING, t->entry_layout->name, 0, t->entry_address, 0,
                              t->entry[0], "%s", msg);
}

int walker_count_entries(walker *w, unsigned n, const walk_target *t, const char *table, unsigned level,
                         uint64_t address, uint64_t iova) {
        int r;

        if (_unlikely_(w->entries + n > w->max_entries)) {
                r = walker_anomaly(w, t, WALK_ANOMALY_LIMIT, table, level, address, iova, 0,
                                   "walk stopped at the bound of %" PRIu64 " entries examined",
                                   w->max_entries);
                return r < 0 ? r : WALK_STOP;
        }
        w->entries += n;
        return 0;
}

const uint64_t *walker_load_table(walker *w, uint64_t paddr, unsigned slot, const walk_target *t,
                                  const char *table, unsigned level, uint64_t address, uint64_t iova,
                                  uint64_t value, const char *what, int *ret) {
        iommu_error err = {};
        const void *p;

        *ret = 0;
        if (!iommu_ram_contains(w->ram, paddr, VTD_PAGE_SIZE)) {
                *ret = walker_anomaly(w, t, WALK_ANOMALY_OUTSIDE_RAM, table, level, address, iova, value,
                                      "%s at 0x%" PRIx64 " is outside System RAM", what, paddr);
                return NULL;
        }
        p = iommu_ram_page(w->ram, paddr, walker_scratch(w, slot), &err);
        if (!p) {
                *ret = walker_anomaly(w, t, WALK_ANOMALY_READ_ERROR, table, level, address, iova, value,
                                      "%s at 0x%" PRIx64 " could not be read: %s", what, paddr,
                                      err.message[0] ? err.message : strerror(err.error));
                return NULL;
        }
        return p;
}

int walker_check_reserved(walker *w, const walk_target *t, const layout *l, const uint64_t *v,
                          uint64_t address, const char *who) {
        uint64_t rsv[LAYOUT_MAX_QWORDS];
        unsigned nq = (l->width + 63) / 64;

        layout_reserved_bits(l, v, rsv);
        for (unsigned q = 0; q < nq; q++)
                if (rsv[q])
                        return walker_anomaly(w, t, WALK_ANOMALY_RESERVED_BITS, l->name, 0, address, 0, v[0],
                                              "%s%s entry has reserved bits set: 0x%016" PRIx64
                                              " in bits %u-%u",
                                              who, l->name, rsv[q], q * 64 + 63, q * 64);
        return 0;
}

/* ---- ranges ---- */

int walker_deliver_batch(walker *w) {
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
static int finish_range(walker *w) {
        int r = 0;

        if (w->ops->ranges) {
                w->batch[++w->n_batch].length = 0;
                return w->n_batch == WALK_RANGE_BATCH ? walker_deliver_batch(w) : 0;
        }
        if (w->ops->range)
                r = w->ops->range(w->userdata, w->t, &w->batch[0]);
        w->batch[0].length = 0;
        return r;
}

int walker_flush_range(walker *w) {
        return w->batch[w->n_batch].length ? finish_range(w) : 0;
}

int walker_add_range(walker *w, uint64_t iova, uint64_t phys, uint64_t psize, unsigned perms) {
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
        walker_start_range(cur, iova, phys, psize, perms);
        w->r_perms = perms;
        return 0;
}

/* ---- targets ---- */

bool walker_filter_match(const walk_filter *f, const walk_target *t) {
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

int walker_target_begin(walker *w, const walk_target *t) {
        return w->ops->target ? w->ops->target(w->userdata, t) : 0;
}

int walker_check_aw(walker *w, const walk_target *t, uint64_t aw) {
        uint64_t sagaw = FIELD_GET(CAP, SAGAW, &w->cap);

        if (!aw_valid(aw))
                return walker_bad(w, t, "address width encoding %" PRIu64 " is reserved", aw);
        if (!(sagaw & (UINT64_C(1) << aw)))
                return walker_bad(
                        w, t, "%u-bit address width (%u levels) is not supported by CAP.SAGAW 0x%" PRIx64,
                        aw_bits(aw), aw_levels(aw), sagaw);
        return 0;
}

/* target_done runs after a bound stopped the walk too, so every target the
 * caller saw is closed. */
int walker_target_end(walker *w, const walk_target *t, int r) {
        int k;

        if (r < 0)
                return r;
        k = w->ops->target_done ? w->ops->target_done(w->userdata, t) : 0;
        return k < 0 ? k : r;
}
