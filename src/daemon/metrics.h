/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * GET /metrics (iommud(8), METRICS), assembled in one place: info and
 * devices from the source's answers (as v1.info and v1.devices give them,
 * cached alike), the bytes each domain maps (the source's ANSWER_MAPPED,
 * which the daemon has a worker compute: it walks every page table), the
 * faults as v1.faults gives them, and iommud's own counters (stats.h) as
 * the "daemon" object of metrics_render() (model/metrics.h), which renders
 * the text.  A part of the model that fails is left out
 * (iommu_scrape_error says which); only running out of memory fails the
 * whole.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "daemon/faults.h"
#include "daemon/source.h"
#include "daemon/stats.h"

/* What the metrics are rendered from; stats may be NULL (no counters). */
typedef struct metrics_input {
        source *source;
        const fault_log *faults;
        const daemon_stats *stats;
        uint64_t now_usec;     /* CLOCK_MONOTONIC */
        uint64_t max_age_usec; /* RefreshIntervalSec= */
        json_object *mapped;   /* the mapped bytes (ANSWER_MAPPED's result); NULL: they failed */
        uint64_t started_usec; /* CLOCK_MONOTONIC when the scrape began (waiting for mapped); 0: now */
        json_object *control;  /* the units iommud owns (control_metrics()); NULL: none */
} metrics_input;

/* The text, anew.  *ret is NUL-terminated; *ret_size excludes the NUL. */
int daemon_metrics_render(const metrics_input *in, char **ret, size_t *ret_size, iommu_error *err);

/* The mapped bytes as a source answer gives them: NULL (left out) for an
 * error or what does not parse. */
json_object *metrics_mapped_of(const answer *a);

/*
 * The text as last rendered, shared by every scrape it answers.  Rendering
 * takes a few hundred microseconds (the model parsed back from the cached
 * answers, then every metric), and the mapped bytes a walk of every page
 * table: a scraper asking a thousand times a second would keep the daemon
 * busy.  So the text is kept as long as an answer of the source would be,
 * RefreshIntervalSec= from the moment its rendering ended, and only while
 * the source's generation holds (new register values render anew); the
 * counters in it are then at most that old too.
 */
typedef struct metrics_text {
        char *text;
        size_t size;
        uint64_t source_id; /* that it was rendered from; 0: nothing kept */
        uint64_t generation, usec;
} metrics_text;

/* Whether the kept text answers a scrape of in's source now. */
bool metrics_text_fresh(const metrics_text *t, const source *s, uint64_t now_usec, uint64_t max_age_usec);
/* Render anew and keep it (borrowed: valid until the next call or
 * metrics_text_forget()). */
int metrics_text_render(metrics_text *t, const metrics_input *in, const char **ret, size_t *ret_size,
                        iommu_error *err);
void metrics_text_forget(metrics_text *t);
