/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What iommud counts while it runs, for GET /metrics (iommud(8), METRICS):
 * per unit, the DMA faults the fault log logged, by reason; the times a
 * fault poll found the primary fault overflow bit (FSTS.PFO) newly set;
 * when the latest fault was logged; and, on a live source, the descriptors
 * that passed through the unit's invalidation queue, sampled at every fault
 * poll (invq-watch.h).  The counters live as long as the daemon: a reload
 * keeps them, so they only grow.  Only counting happens here; metrics.h
 * renders them.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "basic/macro.h"
#include "daemon/source.h"
#include "snapshot/snapshot.h"
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
        uint64_t last_fault_usec; /* CLOCK_REALTIME */

        invq_status invq_status;
        bool invq_ever_observed;
        invq_state invq;
        invq_counts invq_counts;
} unit_stats;

typedef struct daemon_stats daemon_stats;

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

/* The units counted so far, in the order they were first seen (for
 * rendering: the pointer is valid until the next count). */
size_t stats_n_units(const daemon_stats *s);
const unit_stats *stats_unit(const daemon_stats *s, size_t i);
