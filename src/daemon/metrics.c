/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <time.h>

#include "basic/json-util.h"
#include "config.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "model/metrics.h"

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

/* The "units" member of metrics_render()'s daemon object (model/metrics.h). */
static json_object *stats_to_json(const daemon_stats *s) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < stats_n_units(s); i++) {
                const unit_stats *u = stats_unit(s, i);
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
static json_object *answer_json(const answer *a) {
        json_tokener *tok;
        json_object *o;

        if (!a || a->error) {
                if (a)
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

json_object *metrics_mapped_of(const answer *a) {
        return answer_json(a);
}

int daemon_metrics_render(const metrics_input *in, char **ret, size_t *ret_size, iommu_error *err) {
        _cleanup_json_ json_object *info = NULL, *devices = NULL, *faults = NULL, *daemon = NULL;
        uint64_t started = in->started_usec ?: monotonic_usec();
        iommu_error ferr = {};
        json_object *units;
        int r;

        info = answer_json(source_answer(in->source, &(answer_key){ .kind = ANSWER_INFO }, in->now_usec,
                                         in->max_age_usec));
        devices = answer_json(source_answer(in->source, &(answer_key){ .kind = ANSWER_DEVICES },
                                            in->now_usec, in->max_age_usec));
        r = source_faults(in->source, in->faults, in->now_usec, in->max_age_usec, &faults, &ferr);
        if (r < 0)
                log_debug("Metrics: %s", ferr.message);

        daemon = json_object_new_object();
        units = in->stats ? stats_to_json(in->stats) : json_object_new_array();
        if (!daemon || !units) {
                json_object_put(units);
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        json_object_object_add(daemon, "version", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(daemon, "scrape_started_usec", json_object_new_uint64(started));
        json_object_object_add(daemon, "units", units);
        if (in->control)
                json_object_object_add(daemon, "control", json_object_get(in->control));

        return metrics_render(info, devices, in->mapped, faults, daemon, ret, ret_size, err);
}

void metrics_text_forget(metrics_text *t) {
        t->text = mfree(t->text);
        t->size = 0;
        t->source_id = 0;
}

bool metrics_text_fresh(const metrics_text *t, const source *s, uint64_t now_usec, uint64_t max_age_usec) {
        /* now is the loop iteration's time, which may be before the end of a
         * rendering that ran in it */
        return t->text && t->source_id == s->id && t->generation == s->generation &&
               (now_usec <= t->usec || now_usec - t->usec < max_age_usec);
}

int metrics_text_render(metrics_text *t, const metrics_input *in, const char **ret, size_t *ret_size,
                        iommu_error *err) {
        char *text = NULL;
        size_t size = 0;
        int r;

        r = daemon_metrics_render(in, &text, &size, err);
        if (r < 0)
                return r;
        metrics_text_forget(t);
        *t = (metrics_text){
                .text = text,
                .size = size,
                .source_id = in->source->id,
                .generation = in->source->generation, /* as rendering left it */
                .usec = monotonic_usec(),             /* its age starts when it is done */
        };
        *ret = t->text;
        *ret_size = t->size;
        return 0;
}
