/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Encodings that more than one field holds, each described once: its
 * values, and a value_name table (field.h) giving each value its name, its
 * meaning and its number.  Registers, entries and invalidation descriptors
 * reference these tables from their descriptors; the walker and the
 * metrics take the short names from them too.
 */

#include "decode/field.h"

/* RTADDR.TTM: the translation table mode of the whole unit. */
enum {
        TTM_LEGACY = 0,
        TTM_SCALABLE = 1,
        TTM_RESERVED = 2,
        TTM_ABORT_DMA = 3,
        _TTM_MAX,
};
extern const value_name ttm_values[_TTM_MAX];

/* Address width of a second-stage table, as the AW field of context and
 * PASID entries encodes it: 1 = 39-bit/3-level, 2 = 48-bit/4-level,
 * 3 = 57-bit/5-level; 0 (the old 30-bit/2-level) and 4-7 are reserved.
 * CAP.SAGAW has bit n set for each AW value n the unit supports. */
enum {
        AW_39_BIT = 1,
        AW_48_BIT = 2,
        AW_57_BIT = 3,
        _AW_MAX,
};
extern const value_name address_width_values[_AW_MAX];

/* x86 memory types: EMT in PASID and second-stage entries, the MTRRs'
 * types (2, 3 and 7 are reserved). */
enum {
        MEMTYPE_UC = 0,
        MEMTYPE_WC = 1,
        MEMTYPE_WT = 4,
        MEMTYPE_WP = 5,
        MEMTYPE_WB = 6,
        _MEMTYPE_MAX,
};
extern const value_name memory_type_values[_MEMTYPE_MAX];

/* The legacy context entry's TT: how the device's requests translate. */
enum {
        CONTEXT_TT_MULTI_LEVEL = 0,  /* untranslated requests through second stage */
        CONTEXT_TT_DEVICE_TLB = 1,   /* ... and translated/translation requests too */
        CONTEXT_TT_PASS_THROUGH = 2, /* untranslated requests pass through */
        CONTEXT_TT_RESERVED = 3,
        _CONTEXT_TT_MAX,
};
extern const value_name context_tt_values[_CONTEXT_TT_MAX];

/* The scalable-mode PASID entry's PGTT (0, 5-7 reserved). */
enum {
        PGTT_FIRST_STAGE = 1,
        PGTT_SECOND_STAGE = 2,
        PGTT_NESTED = 3,
        PGTT_PASS_THROUGH = 4,
        _PGTT_MAX,
};
extern const value_name pgtt_values[_PGTT_MAX];

/* How much a context-cache or IOTLB invalidation covers: CCMD.CIRG/CAIG
 * and the context-cache descriptor's G; IOTLB.IIRG/IAIG and the IOTLB
 * descriptor's G.  0 is reserved (an actual granularity of 0: hardware
 * ignored the request). */
enum {
        INV_GRANULARITY_GLOBAL = 1,
        INV_GRANULARITY_DOMAIN = 2,
        INV_GRANULARITY_DEVICE = 3, /* context cache: device-selective */
        INV_GRANULARITY_PAGE = 3,   /* IOTLB: page-selective */
        _INV_GRANULARITY_MAX,
};
extern const value_name context_granularity_values[_INV_GRANULARITY_MAX];
extern const value_name iotlb_granularity_values[_INV_GRANULARITY_MAX];

/* CCMD.FM and the context-cache descriptor's FM, 2 bits: which low bits
 * of the source-id (the function number) a device-selective invalidation
 * leaves out of the comparison. */
extern const value_name function_mask_values[4];

/* systemd's string-table lookup (basic/string-table.h) for an enum whose
 * members are values of the encodings above: table[x] points at the
 * value_name whose .name is x's string.  The walker's translation types
 * are such an enum: legacy TT and scalable PGTT values in one. */
#define DEFINE_VALUE_NAME_LOOKUP(fname, type, table, max, invalid)                  \
        const char *fname##_to_string(type x) {                                     \
                if ((int) x < 0 || (int) x >= (max) || !table[x])                   \
                        return NULL;                                                \
                return table[x]->name;                                              \
        }                                                                           \
        type fname##_from_string(const char *s) {                                   \
                if (!s)                                                             \
                        return (invalid);                                           \
                for (int i = 0; i < (max); i++)                                     \
                        if (table[i] && table[i]->name && streq(table[i]->name, s)) \
                                return (type) i;                                    \
                return (invalid);                                                   \
        }
