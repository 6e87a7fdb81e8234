/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The encodings several fields share (values.h).  Names and meanings are
 * those the decoder, the walker and the metrics have always shown, so one
 * table replaces the copies each kept.
 */
#include "decode/values.h"

/* clang-format off */
const value_name ttm_values[_TTM_MAX] = {
        [TTM_LEGACY] =    { .name = "legacy" },
        [TTM_SCALABLE] =  { .name = "scalable" },
        [TTM_RESERVED] =  { .name = "reserved" },
        [TTM_ABORT_DMA] = { .name = "abort-dma", .meaning = "abort-DMA" },
};

/* The number is the input address width in bits: 30 + 9 * AW. */
const value_name address_width_values[_AW_MAX] = {
        [AW_39_BIT] = { .name = "39-bit", .meaning = "39-bit (3-level)", .number = 39 },
        [AW_48_BIT] = { .name = "48-bit", .meaning = "48-bit (4-level)", .number = 48 },
        [AW_57_BIT] = { .name = "57-bit", .meaning = "57-bit (5-level)", .number = 57 },
};

const value_name memory_type_values[_MEMTYPE_MAX] = {
        [MEMTYPE_UC] = { .name = "UC" },
        [MEMTYPE_WC] = { .name = "WC" },
        [MEMTYPE_WT] = { .name = "WT" },
        [MEMTYPE_WP] = { .name = "WP" },
        [MEMTYPE_WB] = { .name = "WB" },
};

const value_name context_tt_values[_CONTEXT_TT_MAX] = {
        [CONTEXT_TT_MULTI_LEVEL] =  { .name = "multi-level" },
        [CONTEXT_TT_DEVICE_TLB] =   { .name = "device-tlb", .meaning = "device-TLB" },
        [CONTEXT_TT_PASS_THROUGH] = { .name = "pass-through" },
        [CONTEXT_TT_RESERVED] =     { .name = "reserved" },
};

const value_name pgtt_values[_PGTT_MAX] = {
        [PGTT_FIRST_STAGE] =  { .name = "first-stage" },
        [PGTT_SECOND_STAGE] = { .name = "second-stage" },
        [PGTT_NESTED] =       { .name = "nested" },
        [PGTT_PASS_THROUGH] = { .name = "pass-through" },
};

const value_name context_granularity_values[_INV_GRANULARITY_MAX] = {
        [0] =                      { .meaning = "reserved" },
        [INV_GRANULARITY_GLOBAL] = { .name = "global" },
        [INV_GRANULARITY_DOMAIN] = { .name = "domain", .meaning = "domain-selective" },
        [INV_GRANULARITY_DEVICE] = { .name = "device", .meaning = "device-selective" },
};

const value_name iotlb_granularity_values[_INV_GRANULARITY_MAX] = {
        [0] =                      { .meaning = "reserved" },
        [INV_GRANULARITY_GLOBAL] = { .name = "global" },
        [INV_GRANULARITY_DOMAIN] = { .name = "domain", .meaning = "domain-selective" },
        [INV_GRANULARITY_PAGE] =   { .name = "page", .meaning = "page-selective" },
};

const value_name function_mask_values[4] = {
        [0] = { .name = "none",     .meaning = "no function bits masked" },
        [1] = { .name = "bit 2",    .meaning = "function bit 2 masked" },
        [2] = { .name = "bits 2:1", .meaning = "function bits 2:1 masked" },
        [3] = { .name = "bits 2:0", .meaning = "function bits 2:0 masked" },
};
/* clang-format on */
