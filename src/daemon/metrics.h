/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * GET /metrics (iommud(8), METRICS), assembled in one place: info, devices
 * and mappings from the source's answers (as v1.info, v1.devices and
 * v1.mappings without params give them, cached alike), the faults as
 * v1.faults gives them, and iommud's own counters (stats.h) as the "daemon"
 * object of metrics_render() (model/metrics.h), which renders the text.
 * A part of the model that fails is left out (iommu_scrape_error says
 * which); only running out of memory fails the whole.
 */

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
} metrics_input;

/* The text, anew.  *ret is NUL-terminated; *ret_size excludes the NUL. */
int daemon_metrics_render(const metrics_input *in, char **ret, size_t *ret_size, iommu_error *err);

/*
 * The text as last rendered, shared by every scrape it answers.  Rendering
 * takes a few hundred microseconds (the model parsed back from the cached
 * answers, then every metric): a scraper asking a thousand times a second
 * would keep the loop busy.  So the text is kept as long as an answer of
 * the source would be, RefreshIntervalSec=, and only while the source's
 * generation holds (new register values render anew); the counters in it
 * are then at most that old too.
 */
typedef struct metrics_text {
        char *text;
        size_t size;
        const source *source; /* that it was rendered from; NULL: nothing kept */
        uint64_t generation, usec;
} metrics_text;

/* The kept text, or a new one when it is stale (borrowed: valid until the
 * next call or metrics_text_forget()). */
int metrics_text_get(metrics_text *t, const metrics_input *in, const char **ret, size_t *ret_size,
                     iommu_error *err);
/* Before the source is replaced: a new one may start at the same address
 * and generation. */
void metrics_text_forget(metrics_text *t);
