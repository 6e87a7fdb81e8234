/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <time.h>

#include "basic/json-util.h"
#include "config.h"
#include "daemon/log.h"
#include "daemon/stats.h"
#include "decode/regs.h"
#include "model/metrics.h"
#include "walk/invq-watch.h"

typedef enum invq_status {
        INVQ_NOT_WATCHED, /* not a live source, or not a unit of it */
        INVQ_NOT_IN_USE,  /* ECAP.QI or GSTS.QIES clear, registers unreadable */
        INVQ_UNREADABLE,  /* in use, but the queue could not be read */
        INVQ_OBSERVED,
} invq_status;

typedef struct unit_stats {
        char name[SNAPSHOT_UNIT_NAME_MAX];
        uint64_t faults[256]; /* by FRCD.FR */
        uint64_t overflows;
        bool pfo; /* FSTS.PFO at the last poll that could read it */
        bool have_last_fault;
        uint64_t last_fault_usec;

        invq_status invq_status;
        bool invq_ever_observed;
        invq_state invq;
        invq_counts invq_counts;
} unit_stats;

struct daemon_stats {
        unit_stats *units;
        size_t n_units;
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
        u = realloc(s->units, (s->n_units + 1) * sizeof *u);
        if (!u)
                return NULL;
        s->units = u;
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

static json_object *invq_to_json(const unit_stats *u) {
        json_object *o = json_object_new_object(), *list;

        if (!o)
                return NULL;
        json_object_object_add(o, "observed", json_object_new_boolean(u->invq_status == INVQ_OBSERVED));
        if (!u->invq_ever_observed)
                return o;
        list = json_object_new_array();
        json_object_object_add(o, "descriptors", list);
        for (int k = 0; list && k < _INV_KIND_MAX; k++)
                for (unsigned g = 0; g < INV_GRANULARITY_MAX; g++) {
                        const char *name = inv_granularity_to_string(k, g);
                        uint64_t n = u->invq_counts.descriptors[k][g];
                        json_object *c;

                        /* every valid kind and granularity from the start, so that rates
                         * start at 0; reserved encodings only once seen */
                        if (!n && (!name || k == INV_KIND_OTHER))
                                continue;
                        c = json_object_new_object();
                        if (!c)
                                break;
                        json_object_object_add(c, "type", json_object_new_string(inv_kind_to_string(k)));
                        json_object_object_add(c, "granularity", json_object_new_string(name ?: "reserved"));
                        json_object_object_add(c, "count", json_object_new_uint64(n));
                        json_object_array_add(list, c);
                }
        json_object_object_add(o, "overruns", json_object_new_uint64(u->invq_counts.overruns));
        return o;
}

json_object *stats_to_json(const daemon_stats *s) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < s->n_units; i++) {
                const unit_stats *u = &s->units[i];
                json_object *o = json_object_new_object(), *f = json_object_new_array();

                if (!o || !f) {
                        json_object_put(o);
                        json_object_put(f);
                        json_object_put(a);
                        return NULL;
                }
                json_object_array_add(a, o);
                json_object_object_add(o, "name", json_object_new_string(u->name));
                json_object_object_add(o, "faults", f);
                for (unsigned r = 0; r < ELEMENTSOF(u->faults); r++) {
                        json_object *c;

                        if (!u->faults[r])
                                continue;
                        c = json_object_new_object();
                        if (!c)
                                break;
                        json_object_object_add(c, "reason", json_object_new_int((int) r));
                        json_object_object_add(c, "count", json_object_new_uint64(u->faults[r]));
                        json_object_array_add(f, c);
                }
                json_object_object_add(o, "fault_overflows", json_object_new_uint64(u->overflows));
                if (u->have_last_fault)
                        json_object_object_add(o, "last_fault_usec",
                                               json_object_new_uint64(u->last_fault_usec));
                if (u->invq_status != INVQ_NOT_WATCHED)
                        json_object_object_add(o, "invalidation_queue", invq_to_json(u));
        }
        return a;
}

static uint64_t monotonic_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* A cached answer as JSON again; NULL when it is an error (or out of
 * memory: that part is then missing from this scrape). */
static json_object *answer_json(manager *m, const answer_key *key) {
        const answer *a = source_answer(m->source, key, manager_now(m), m->conf->refresh_interval_usec);
        json_tokener *tok;
        json_object *o;

        if (a->error) {
                log_debug("Metrics: %s", a->message);
                return NULL;
        }
        tok = json_tokener_new();
        if (!tok)
                return NULL;
        o = json_tokener_parse_ex(tok, a->json, (int) a->json_len);
        json_tokener_free(tok);
        return o;
}

int daemon_metrics(manager *m, char **ret, size_t *ret_size, iommu_error *err) {
        _cleanup_json_ json_object *info = NULL, *devices = NULL, *mappings = NULL, *faults = NULL,
                                   *daemon = NULL;
        answer_key key = { .kind = ANSWER_INFO };
        uint64_t started = monotonic_usec();
        iommu_error ferr = {};
        json_object *units;
        int r;

        info = answer_json(m, &key);
        key.kind = ANSWER_DEVICES;
        devices = answer_json(m, &key);
        /* the key v1.mappings without params has: its answer is shared */
        key = (answer_key){ .kind = ANSWER_MAPPINGS, .filter = { .did = -1, .pasid = -1 } };
        mappings = answer_json(m, &key);
        r = source_faults(m->source, m->faults, manager_now(m), m->conf->refresh_interval_usec, &faults,
                          &ferr);
        if (r < 0)
                log_debug("Metrics: %s", ferr.message);

        daemon = json_object_new_object();
        units = m->stats ? stats_to_json(m->stats) : json_object_new_array();
        if (!daemon || !units) {
                json_object_put(units);
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        json_object_object_add(daemon, "version", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(daemon, "scrape_started_usec", json_object_new_uint64(started));
        json_object_object_add(daemon, "units", units);

        return metrics_render(info, devices, mappings, faults, daemon, ret, ret_size, err);
}
