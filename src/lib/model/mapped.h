/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What each domain maps, in bytes, from a walk that keeps no range: the
 * figure behind iommu_mapped_bytes, without the mappings document (a
 * million ranges are 110 MB of it).
 *
 * A domain's bytes are the union of the ranges of its devices and PASIDs,
 * exactly what summing the "ranges" of model_mappings()'s entries of that
 * unit and domain gives once overlaps are counted once.  Targets sharing a
 * page-table tree (one root, levels and format: how a domain is built) get
 * the tree's ranges, walked once; a tree's ranges come in IOVA order and do
 * not overlap, so they are summed as they come.  Only a domain whose
 * targets use distinct trees needs a real union: those trees are walked
 * again and their ranges kept, sorted and merged, in memory that grows
 * with the ranges of that domain alone.
 */

#include <json-c/json.h>

#include "basic/error.h"
#include "model/system.h"

/* [{"unit", "domain", "mapped_bytes"}]: every (unit, domain) with a target
 * in the mappings of every unit, in unit order, by domain ID; errors as
 * model_mappings_stream()'s (model_mappings_check()).  mapped_bytes is
 * capped at 2^64 - 1. */
int model_mapped_bytes(iommu_system *s, json_object **ret, iommu_error *err);
