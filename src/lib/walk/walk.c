/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The walker's entry: RTADDR -> root table, whose entries each mode
 * (legacy.c, scalable.c) follows to its context tables, PASID tables and
 * page tables (page-table.c), down to coalesced ranges streamed to
 * callbacks.  Intel VT-d specification rev 4.x chapters 3 and 9.
 *
 * Bounds: the table levels are fixed (root, context, PASID directory, PASID
 * table, then at most five page-table levels, one recursion per level); a
 * page-table page seen again in the same tree is a loop (on its own path)
 * or a shared table, walked once; a global count of entries examined stops
 * the walk at filter->max_entries.  Every pointer is checked against RAM
 * before it is read.
 */
#include <stdio.h>

#include "walk/walker.h"

/* The root table: one entry per bus, 256 of them in either mode. */
static int walk_root_table(walker *w, uint64_t rtaddr, const walker_mode *m) {
        uint64_t rta = ENTRY_ADDR(RTADDR, RTA, &rtaddr);
        unsigned lo = 0, hi = 255;
        const uint64_t *root;
        int r;

        if (w->filter.bus >= 0)
                lo = hi = (unsigned) w->filter.bus;
        r = m->begin ? m->begin(w, rtaddr) : 0;
        if (r)
                return r < 0 ? r : 0;
        r = walker_count_entries(w, 256, NULL, m->root->name, 0, rta, 0);
        if (r)
                return r;
        root = walker_load_table(w, rta, SCRATCH_ROOT, NULL, layout_rtaddr.name, 0, 0, 0, rtaddr,
                                 "root table", &r);
        if (!root)
                return r;
        for (unsigned bus = lo; bus <= hi; bus++) {
                uint64_t v[LAYOUT_MAX_QWORDS], address = rta + (uint64_t) bus * ROOT_ENTRY_SIZE;
                char who[16];

                walker_load_entry(v, root + bus * (ROOT_ENTRY_SIZE / 8), ROOT_ENTRY_SIZE / 8);
                if (!m->root_present(v))
                        continue;
                (void) snprintf(who, sizeof who, "bus %02x: ", bus);
                r = walker_check_reserved(w, NULL, m->root, v, address, who);
                if (r < 0)
                        return r;
                r = m->root_entry(w, (uint8_t) bus, v, address);
                if (r)
                        return r;
        }
        return 0;
}

int walk_unit(iommu_ram *ram, uint64_t rtaddr, uint64_t cap, uint64_t ecap, const walk_filter *filter,
              const walk_ops *ops, void *userdata) {
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
                r = walk_root_table(&w, rtaddr, &walker_mode_legacy);
                break;
        case WALK_MODE_SCALABLE:
                r = walk_root_table(&w, rtaddr, &walker_mode_scalable);
                break;
        case WALK_MODE_RESERVED:
                r = walker_anomaly(&w, NULL, WALK_ANOMALY_BAD_ENCODING, layout_rtaddr.name, 0, 0, 0, rtaddr,
                                   "translation table mode 2 (RTADDR.TTM 10b) is reserved");
                break;
        default:
                r = 0; /* abort-DMA mode: no tables, every request blocked */
                break;
        }
        walker_done(&w);
        return r < 0 ? r : 0;
}
