/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scalable mode (RTADDR.TTM 01): a root entry per bus points to a lower
 * and an upper context table (devfn 0-127, 128-255); a context entry
 * points to a PASID directory, its entries to PASID tables of 64 entries,
 * each a target with its own domain and translation (first stage, second
 * stage, nested, pass-through).  Intel VT-d specification rev 4.x
 * chapters 3 and 9.
 *
 * Bounds: a PASID table referenced twice in one directory is walked once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "walk/walker.h"

#define PASID_MAX UINT32_C(0xfffff)

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
        if (!walker_filter_match(&w->filter, &t))
                return 0;

        r = walker_target_begin(w, &t);
        if (r < 0)
                return r;
        r = walker_check_reserved(w, &t, &layout_pasid, v, address, "");
        switch (pgtt) {
        case PGTT_FIRST_STAGE:
        case PGTT_NESTED:
                if (r >= 0 && fspm > FSPM_5_LEVEL)
                        r = walker_bad(w, &t, "first-stage paging mode %" PRIu64 " is reserved", fspm);
                if (r >= 0 && fspm == FSPM_5_LEVEL && !FIELD_GET(CAP, FS5LP, &w->cap))
                        r = walker_bad(w, &t, "5-level first-stage paging, but CAP.FS5LP is 0");
                if (r >= 0 && pgtt == PGTT_FIRST_STAGE && !FIELD_GET(ECAP, FSTS, &w->ecap))
                        r = walker_bad(w, &t, "first-stage translation, but ECAP.FSTS is 0");
                if (r >= 0 && pgtt == PGTT_NESTED && !FIELD_GET(ECAP, NEST, &w->ecap))
                        r = walker_bad(w, &t, "nested translation, but ECAP.NEST is 0");
                if (r >= 0 && pgtt == PGTT_NESTED)
                        r = walker_check_aw(w, &t, aw);
                break;
        case PGTT_SECOND_STAGE:
                if (r >= 0 && !FIELD_GET(ECAP, SSTS, &w->ecap))
                        r = walker_bad(w, &t, "second-stage translation, but ECAP.SSTS is 0");
                if (r >= 0)
                        r = walker_check_aw(w, &t, aw);
                break;
        case PGTT_PASS_THROUGH:
                if (r >= 0 && !FIELD_GET(ECAP, PT, &w->ecap))
                        r = walker_bad(w, &t, "pass-through, but ECAP.PT is 0");
                break;
        default:
                if (r >= 0)
                        r = walker_bad(w, &t, "PASID granular translation type %u is reserved", pgtt);
                break;
        }
        if (r >= 0 && tables)
                r = walker_target_tables(w, &t, fs);
        return walker_target_end(w, &t, r);
}

static int sm_pasid_table(walker *w, const sm_device *d, unsigned dir_index, uint64_t de,
                          uint64_t de_address) {
        uint64_t ptbl = pasid_dir_smptblptr(de);
        unsigned lo = 0, hi = PASIDS_PER_TABLE - 1;
        const uint64_t *tbl;
        int r;

        if (w->filter.pasid >= 0)
                lo = hi = (unsigned) (w->filter.pasid % PASIDS_PER_TABLE);
        r = hashmap_put(&w->pasid_tables, ptbl, 0);
        if (r < 0)
                return r;
        if (r == 0)
                return walker_anomaly(
                        w, NULL, WALK_ANOMALY_SHARED_TABLE, layout_pasid_dir.name, 0, de_address, 0, de,
                        "%sPASID table at 0x%" PRIx64 " for PASIDs from 0x%x is referenced again in the "
                        "same directory (walked once)",
                        d->who, ptbl, dir_index * PASIDS_PER_TABLE);
        r = walker_count_entries(w, PASIDS_PER_TABLE, NULL, layout_pasid.name, 0, ptbl, 0);
        if (r)
                return r;
        tbl = walker_load_table(w, ptbl, SCRATCH_PASID, NULL, layout_pasid_dir.name, 0, de_address, 0, de,
                                "PASID table", &r);
        if (!tbl)
                return r;
        for (unsigned j = lo; j <= hi; j++) {
                uint64_t v[LAYOUT_MAX_QWORDS];

                walker_load_entry(v, tbl + j * (PASID_ENTRY_SIZE / 8), PASID_ENTRY_SIZE / 8);
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
        hashmap_clear(&w->pasid_tables);
        for (uint64_t page = lo / per_page; page <= hi / per_page; page++) {
                uint64_t first = page * per_page > lo ? page * per_page : lo;
                uint64_t last = page * per_page + per_page - 1 < hi ? page * per_page + per_page - 1 : hi;
                uint64_t paddr = dir + page * VTD_PAGE_SIZE;
                const uint64_t *tbl;
                char what[64];

                r = walker_count_entries(w, (unsigned) (last - first + 1), NULL, layout_pasid_dir.name, 0,
                                         paddr, 0);
                if (r)
                        return r;
                (void) snprintf(what, sizeof what, "%sPASID directory page", d->who);
                tbl = walker_load_table(w, paddr, SCRATCH_PASID_DIR, NULL, layout_sm_context.name, 0,
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
                        r = walker_check_reserved(w, NULL, &layout_pasid_dir, &de, de_address, d->who);
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
        r = walker_count_entries(w, per_table, NULL, layout_sm_context.name, 0, ctp, 0);
        if (r)
                return r;
        tbl = walker_load_table(w, ctp, SCRATCH_CONTEXT, NULL, layout_sm_root.name, 0, ref_address, 0,
                                ref_value, half ? "upper context table" : "lower context table", &r);
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

                walker_load_entry(v, tbl + i * (SM_CONTEXT_ENTRY_SIZE / 8), SM_CONTEXT_ENTRY_SIZE / 8);
                if (!sm_context_present(v))
                        continue;
                d.rid_pasid = sm_context_rid_pasid(v);
                d.fpd = FIELD_GET(SM_CONTEXT, FPD, v);
                (void) snprintf(d.who, sizeof d.who, "%02x:%02x.%u: ", bus, d.devfn >> 3, d.devfn & 7);
                r = walker_check_reserved(w, NULL, &layout_sm_context, v, address, d.who);
                if (r < 0)
                        return r;
                r = sm_pasid_dir(w, &d);
                if (r)
                        return r;
        }
        return 0;
}

static int scalable_begin(walker *w, uint64_t rtaddr) {
        int r = 0;

        if (!FIELD_GET(ECAP, SMTS, &w->ecap))
                r = walker_anomaly(w, NULL, WALK_ANOMALY_BAD_ENCODING, layout_rtaddr.name, 0, 0, 0, rtaddr,
                                   "scalable-mode root table, but the unit does not support scalable mode "
                                   "(ECAP.SMTS 0)");
        return r < 0 ? r : 0;
}

static bool scalable_root_present(const uint64_t *v) {
        return sm_root_present(v, 0) || sm_root_present(v, 128);
}

/* The lower and upper context tables of a present root entry, as far as
 * the filter's devfn reaches. */
static int scalable_root_entry(walker *w, uint8_t bus, const uint64_t *v, uint64_t address) {
        int r;

        for (unsigned half = 0; half < 2; half++) {
                if (!sm_root_present(v, half * 128))
                        continue;
                if (w->filter.devfn >= 0 && (unsigned) w->filter.devfn / 128 != half)
                        continue;
                r = sm_context_table(w, bus, half, sm_root_ctp(v, half * 128), address, v[half]);
                if (r)
                        return r;
        }
        return 0;
}

const walker_mode walker_mode_scalable = {
        .root = &layout_sm_root,
        .begin = scalable_begin,
        .root_present = scalable_root_present,
        .root_entry = scalable_root_entry,
};
