/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "basic/alloc-util.h"
#include "basic/json-util.h"
#include "daemon/log.h"
#include "daemon/stats.h"
#include "decode/regs.h"

struct daemon_stats {
        unit_stats *units;
        size_t n_units, n_alloc;
};

int stats_new(daemon_stats **ret) {
        daemon_stats *s = calloc(1, sizeof *s);

        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

daemon_stats *stats_free(daemon_stats *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_units; i++)
                invq_state_reset(&s->units[i].invq);
        free(s->units);
        free(s);
        return NULL;
}

/* The unit's counters, made on first use; NULL when out of memory (the
 * event goes uncounted). */
static unit_stats *unit_of(daemon_stats *s, const char *name) {
        unit_stats *u;

        if (!name)
                return NULL;
        for (size_t i = 0; i < s->n_units; i++)
                if (streq(s->units[i].name, name))
                        return &s->units[i];
        if (!GREEDY_REALLOC(s->units, s->n_alloc, s->n_units + 1))
                return NULL;
        u = &s->units[s->n_units++];
        *u = (unit_stats){};
        snprintf(u->name, sizeof u->name, "%s", name);
        return u;
}

void stats_count_fault(daemon_stats *s, json_object *entry) {
        unit_stats *u = unit_of(s, json_get_string(entry, "unit"));
        uint64_t t = json_get_u64(entry, "time_usec");

        if (!u)
                return;
        u->faults[json_get_i64(entry, "reason") & 0xff]++;
        if (!u->have_last_fault || t > u->last_fault_usec)
                u->last_fault_usec = t;
        u->have_last_fault = true;
}

static void count_overflow(daemon_stats *s, json_object *unit) {
        const field_desc *f = &layout_fsts.fields[FSTS_PFO];
        json_object *pfo = json_get(json_get(json_get(json_get(unit, "fsts"), "fields"), f->name), "raw");
        unit_stats *u;
        bool set;

        /* registers unreadable now: nothing seen */
        if (!json_object_is_type(pfo, json_type_int))
                return;
        u = unit_of(s, json_get_string(unit, "name"));
        if (!u)
                return;
        set = json_object_get_int64(pfo) != 0;
        if (set && !u->pfo)
                u->overflows++;
        u->pfo = set;
}

static void sample_queue(unit_stats *st, iommu_system *sys, iommu_unit *u) {
        iommu_error err = {};
        invq_status was = st->invq_status;
        int r;

        r = invq_sample(u->have_regs ? u->regs : NULL, sys->ram, u->cap, u->ecap, u->gsts, u->rtaddr,
                        &st->invq, &st->invq_counts, &err);
        st->invq_status = r > 0 ? INVQ_OBSERVED : r == 0 ? INVQ_NOT_IN_USE : INVQ_UNREADABLE;
        if (r > 0)
                st->invq_ever_observed = true;
        /* once per change, not at every poll */
        if (r < 0 && was != INVQ_UNREADABLE)
                log_info("%s: not counting invalidations: %s", u->name, err.message);
        else if (r > 0 && was == INVQ_UNREADABLE)
                log_info("%s: counting invalidations again", u->name);
}

void stats_poll(daemon_stats *s, source *src, json_object *faults) {
        json_object *units = json_get(faults, "units");
        size_t n = json_object_is_type(units, json_type_array) ? json_object_array_length(units) : 0;
        iommu_system *sys = src->system;

        for (size_t i = 0; i < n; i++)
                count_overflow(s, json_object_array_get_idx(units, i));

        for (size_t i = 0; i < s->n_units; i++)
                if (!source_is_live(src) || !iommu_system_unit_by_name(sys, s->units[i].name)) {
                        s->units[i].invq_status = INVQ_NOT_WATCHED;
                        invq_state_reset(&s->units[i].invq);
                }
        /* a snapshot never changes: there is nothing to watch */
        if (!source_is_live(src))
                return;
        for (size_t i = 0; i < sys->n_units; i++) {
                unit_stats *st = unit_of(s, sys->units[i].name);
                if (st)
                        sample_queue(st, sys, &sys->units[i]);
        }
}

size_t stats_n_units(const daemon_stats *s) {
        return s ? s->n_units : 0;
}

const unit_stats *stats_unit(const daemon_stats *s, size_t i) {
        return s && i < s->n_units ? &s->units[i] : NULL;
}
