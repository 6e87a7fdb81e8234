/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Prometheus metrics (text exposition format 0.0.4), rendered from the same
 * JSON model the socket API and iommuctl use: model_info, model_devices and
 * model_faults results, the bytes each domain maps (model_mapped_bytes(),
 * model/mapped.h: summed by a walk, never by reading the mappings
 * document), plus a "daemon" object with the counters only a long-running
 * daemon has.  Metric names start with
 * "iommu_" (the daemon's own: "iommud_"); counters end in "_total"; base
 * units; labels of bounded cardinality (unit, domain, device, translation,
 * reason, granularity).  Every metric is listed with its HELP in iommud(8).
 */

#include <stddef.h>

#include <json-c/json.h>

#include "basic/error.h"

/* Any model argument may be NULL when it could not be computed (e.g. the
 * mapped bytes without readable RAM): its metrics are then left out, and
 * iommu_scrape_error{part="mappings"} says so.  A part of another shape
 * (info or faults not an object with a "units" list, devices or mapped not
 * a list) counts as missing too.  The model may come from another
 * version: every member is read with its type, and one that is missing,
 * null or of another type (or an integer out of range) leaves out the
 * samples it feeds, and only those; where the model itself uses null
 * (a unit's version, mode or owner, a device's unit or translation) the
 * label says "unknown" or "none" as iommud(8) documents.
 *
 * iommu_domains_used counts the distinct domains of devices and mapped;
 * iommu_mapped_bytes is mapped's "mapped_bytes" per domain (left out where
 * that is not a number), and 0 for a domain only a device names.
 *
 * daemon (may be NULL or {}: no daemon metrics) holds, each member optional:
 *   "version": "0.1"                       iommud_build_info
 *   "scrape_started_usec": N               CLOCK_MONOTONIC when the scrape
 *                                          began: iommud_scrape_duration_seconds
 *                                          is measured from it to the end of
 *                                          the rendering
 *   "units": [{"name": "dmar0",
 *              "faults": [{"reason": 5, "count": N}],
 *              "fault_overflows": N,
 *              "last_fault_usec": N,       CLOCK_REALTIME; absent: no fault yet
 *              "invalidation_queue":       absent: not watched (a snapshot)
 *                 {"observed": bool,       readable at the last poll
 *                  "descriptors":          absent until first observed
 *                    [{"type", "granularity", "count"}],
 *                  "overruns": N}}]
 *   "control":                             absent: no control (iommu_owned_*)
 *     {"owned_units": N,
 *      "units": [{"name": "dmar0",         owned now or before
 *                 "domains": [{"type", "count"}],   absent: not owned now
 *                 "attached_devices": N,            absent: not owned now
 *                 "invalidations": [{"type", "granularity", "count"}],
 *                 "fault_records_cleared": N}]}
 * The result is NUL-terminated; *ret_size excludes the NUL. */
int metrics_render(json_object *info, json_object *devices, json_object *mapped, json_object *faults,
                   json_object *daemon, char **ret, size_t *ret_size, iommu_error *err);

/* Every metric family metrics_render can emit, in the order it emits them
 * (for documentation checks): name, "gauge" or "counter", HELP text.
 * NULL past the end. */
const char *metrics_family(size_t i, const char **ret_type, const char **ret_help);
