/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Legacy mode (RTADDR.TTM 00): a root entry per bus points to a context
 * table of 256 entries, one per device and function, each naming a domain
 * and its second-stage tables (or pass-through).  Intel VT-d specification
 * rev 4.x chapters 3 and 9.
 */
#include <string.h>

#include "walk/walker.h"

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
        if (!walker_filter_match(&w->filter, &t))
                return 0;

        r = walker_target_begin(w, &t);
        if (r < 0)
                return r;
        r = walker_check_reserved(w, &t, &layout_context, v, address, "");
        if (r >= 0 && tt == CONTEXT_TT_RESERVED)
                r = walker_bad(w, &t, "translation type 3 is reserved");
        if (r >= 0 && tt == CONTEXT_TT_DEVICE_TLB && !FIELD_GET(ECAP, DT, &w->ecap))
                r = walker_bad(
                        w, &t,
                        "device-TLB translation type, but the unit has no device-TLB support (ECAP.DT 0)");
        if (r >= 0 && tt == CONTEXT_TT_PASS_THROUGH && !FIELD_GET(ECAP, PT, &w->ecap))
                r = walker_bad(
                        w, &t,
                        "pass-through translation type, but the unit does not support it (ECAP.PT 0)");
        if (r >= 0 && (tt == CONTEXT_TT_MULTI_LEVEL || tt == CONTEXT_TT_DEVICE_TLB))
                r = walker_check_aw(w, &t, aw);
        if (r >= 0 && tables)
                r = walker_target_tables(w, &t, false);
        return walker_target_end(w, &t, r);
}

/* The context table of a present root entry for bus. */
static int legacy_context_table(walker *w, uint8_t bus, const uint64_t *root, uint64_t root_address) {
        uint64_t ctp = root_ctp(root);
        unsigned lo = 0, hi = 255;
        const uint64_t *tbl;
        int r;

        if (w->filter.devfn >= 0)
                lo = hi = (unsigned) w->filter.devfn;
        r = walker_count_entries(w, 256, NULL, layout_context.name, 0, ctp, 0);
        if (r)
                return r;
        tbl = walker_load_table(w, ctp, SCRATCH_CONTEXT, NULL, layout_root.name, 0, root_address, 0, root[0],
                                "context table", &r);
        if (!tbl)
                return r;
        for (unsigned devfn = lo; devfn <= hi; devfn++) {
                uint64_t v[LAYOUT_MAX_QWORDS];

                walker_load_entry(v, tbl + devfn * (CONTEXT_ENTRY_SIZE / 8), CONTEXT_ENTRY_SIZE / 8);
                if (!context_present(v))
                        continue;
                r = legacy_context(w, bus, (uint8_t) devfn, v, ctp + (uint64_t) devfn * CONTEXT_ENTRY_SIZE);
                if (r)
                        return r;
        }
        return 0;
}

/* Legacy targets have no PASID: a filter on one matches nothing. */
static int legacy_begin(walker *w, uint64_t rtaddr) {
        return w->filter.pasid >= 0 && w->filter.pasid != (int64_t) WALK_NO_PASID;
}

const walker_mode walker_mode_legacy = {
        .root = &layout_root,
        .begin = legacy_begin,
        .root_present = root_present,
        .root_entry = legacy_context_table,
};
