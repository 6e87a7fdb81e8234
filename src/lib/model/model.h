/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Layer 5, the model: one JSON description of units, devices and mappings,
 * sent unchanged by the socket and HTTP APIs and printed by iommuctl
 * --json; text and metrics are rendered from it.
 */

#include <json-c/json.h>

#include "basic/error.h"
#include "model/mappings.h"
#include "model/system.h"
#include "walk/walk.h"

/* {"units": [{"name", "address", "segment", "size", "version", "cap",
 *  "ecap", "gsts", "rtaddr", "fsts" (decoded registers), "root_table",
 *  "mode", "translation_enabled", "queued_invalidation",
 *  "interrupt_remapping", "faults": [...], "owner", "sysfs",
 *  "registers_error"}], "ram_error"} */
int model_info(iommu_system *s, json_object **ret, iommu_error *err);

/* [{"bdf", "vendor", "device", "class", "name", "driver", "group", "unit",
 *   "domain", "translation"}] */
int model_devices(iommu_system *s, json_object **ret, iommu_error *err);

/* The domains model_devices() finds, per unit in unit order, by domain ID:
 * [{"unit", "domain", "devices": [bdf, ...], "translation"}]; translation is
 * the devices' own when they all agree, else null (model-domains.c). */
int model_domains(iommu_system *s, json_object **ret, iommu_error *err);

/* model_mappings() and the streams of mappings: model/mappings.h */

/* {"units": [{"name", "fsts" (decoded), "faults": [{"index", "bdf",
 *   "reason", "reason_text", "address", "write", "pasid", "record"}],
 *   "registers_error"}], "log": []}: the fault records the units hold now.
 * The daemon fills "log" with what it saw over time. */
int model_faults(iommu_system *s, json_object **ret, iommu_error *err);
