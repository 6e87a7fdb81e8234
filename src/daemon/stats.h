/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What iommud counts while it runs, for GET /metrics (iommud(8), METRICS):
 * per unit, the DMA faults the fault log logged, by reason; the times a
 * fault poll found the primary fault overflow bit (FSTS.PFO) newly set;
 * when the latest fault was logged; and, on a live source, the descriptors
 * that passed through the unit's invalidation queue, sampled at every fault
 * poll (invq.h).  The counters live as long as the daemon: a reload keeps
 * them, so they only grow.
 */

#include <stddef.h>

#include <json-c/json.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "daemon/manager.h"
#include "daemon/source.h"

int stats_new(daemon_stats **ret);
daemon_stats *stats_free(daemon_stats *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(daemon_stats *, stats_free);

/* A fault the fault log has just logged: its entry (fault_log_poll's
 * on_new), with "unit", "reason" and "time_usec". */
void stats_count_fault(daemon_stats *s, json_object *entry);

/* After each fault poll, with the model_faults() result the poll gave the
 * fault log: count FSTS.PFO going from clear to set, and sample the
 * invalidation queue of every unit of a live source. */
void stats_poll(daemon_stats *s, source *src, json_object *faults);

/* The "units" member of metrics_render()'s daemon object (metrics.h). */
json_object *stats_to_json(const daemon_stats *s);

/* GET /metrics: info, devices and mappings from the source's answers (as
 * v1.info, v1.devices and v1.mappings give them, cached alike), the faults
 * as v1.faults, the counters above, rendered by metrics_render().  A part
 * of the model that fails is left out (iommu_scrape_error says which);
 * only running out of memory fails the whole.  *ret is NUL-terminated. */
int daemon_metrics(manager *m, char **ret, size_t *ret_size, iommu_error *err);
