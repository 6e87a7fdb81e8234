/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Prometheus metrics (text exposition format 0.0.4), rendered from the same
 * JSON model the socket API and iommuctl use: model_info, model_devices,
 * model_mappings and model_faults results, plus a "daemon" object with the
 * counters only a long-running daemon has.  Metric names start with
 * "iommu_" (the daemon's own: "iommud_"); counters end in "_total"; base
 * units; labels of bounded cardinality (unit, domain, device, translation,
 * reason, granularity).  Every metric is listed with its HELP in iommud(8).
 */

#include <stddef.h>

#include <json-c/json.h>

#include "error.h"

/* Any model argument may be NULL when it could not be computed (e.g.
 * mappings without readable RAM): its metrics are then left out, and
 * iommu_scrape_error{part="mappings"} says so. */
int metrics_render(json_object *info, json_object *devices, json_object *mappings, json_object *faults,
                   json_object *daemon, char **ret, size_t *ret_size, iommu_error *err);
