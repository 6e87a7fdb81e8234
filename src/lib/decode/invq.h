/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The invalidation queue (VT-d specification 6.5.2): the descriptor formats
 * software writes into it, described once like every register and entry
 * (field.h), and how a descriptor is classified by kind and granularity.
 * walk/invq-watch.h watches a queue someone else feeds.
 *
 * A descriptor is 128 bits (IQA.DW 0) or 256 bits (DW 1; the formats below
 * leave the upper half reserved).  Its type is bits 3:0 with bits 11:9
 * above them.
 */

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "decode/field.h"

/* What every descriptor has: its type. */
#define INV_DSC_FIELDS(X)         \
        X(INV_DSC, TYPE_LO, 0, 4) \
        X(INV_DSC, TYPE_HI, 9, 3)
DEFINE_LAYOUT_FIELDS(INV_DSC, INV_DSC_FIELDS);

/* Descriptor type codes: TYPE_LO | TYPE_HI << 4. */
enum {
        INV_DSC_CC = 0x1,        /* context-cache invalidate */
        INV_DSC_IOTLB = 0x2,     /* IOTLB invalidate */
        INV_DSC_DEV_TLB = 0x3,   /* device-TLB invalidate */
        INV_DSC_IEC = 0x4,       /* interrupt entry cache invalidate */
        INV_DSC_WAIT = 0x5,      /* invalidation wait */
        INV_DSC_P_IOTLB = 0x6,   /* PASID-based IOTLB invalidate */
        INV_DSC_PC = 0x7,        /* PASID-cache invalidate */
        INV_DSC_P_DEV_TLB = 0x8, /* PASID-based device-TLB invalidate */
};

#define CC_INV_DSC_FIELDS(X)         \
        X(CC_INV_DSC, TYPE_LO, 0, 4) \
        X(CC_INV_DSC, G, 4, 2)       \
        X(CC_INV_DSC, TYPE_HI, 9, 3) \
        X(CC_INV_DSC, DID, 16, 16)   \
        X(CC_INV_DSC, SID, 32, 16)   \
        X(CC_INV_DSC, FM, 48, 2)
DEFINE_LAYOUT_FIELDS(CC_INV_DSC, CC_INV_DSC_FIELDS);

#define IOTLB_INV_DSC_FIELDS(X)         \
        X(IOTLB_INV_DSC, TYPE_LO, 0, 4) \
        X(IOTLB_INV_DSC, G, 4, 2)       \
        X(IOTLB_INV_DSC, DW, 6, 1)      \
        X(IOTLB_INV_DSC, DR, 7, 1)      \
        X(IOTLB_INV_DSC, TYPE_HI, 9, 3) \
        X(IOTLB_INV_DSC, DID, 16, 16)   \
        X(IOTLB_INV_DSC, AM, 64, 6)     \
        X(IOTLB_INV_DSC, IH, 70, 1)     \
        X(IOTLB_INV_DSC, ADDR, 76, 52)
DEFINE_LAYOUT_FIELDS(IOTLB_INV_DSC, IOTLB_INV_DSC_FIELDS);

#define DEV_TLB_INV_DSC_FIELDS(X)            \
        X(DEV_TLB_INV_DSC, TYPE_LO, 0, 4)    \
        X(DEV_TLB_INV_DSC, TYPE_HI, 9, 3)    \
        X(DEV_TLB_INV_DSC, PFSID_LO, 12, 4)  \
        X(DEV_TLB_INV_DSC, MIP, 16, 5)       \
        X(DEV_TLB_INV_DSC, SID, 32, 16)      \
        X(DEV_TLB_INV_DSC, PFSID_HI, 52, 12) \
        X(DEV_TLB_INV_DSC, S, 64, 1)         \
        X(DEV_TLB_INV_DSC, ADDR, 76, 52)
DEFINE_LAYOUT_FIELDS(DEV_TLB_INV_DSC, DEV_TLB_INV_DSC_FIELDS);

#define IEC_INV_DSC_FIELDS(X)         \
        X(IEC_INV_DSC, TYPE_LO, 0, 4) \
        X(IEC_INV_DSC, G, 4, 1)       \
        X(IEC_INV_DSC, TYPE_HI, 9, 3) \
        X(IEC_INV_DSC, IM, 27, 5)     \
        X(IEC_INV_DSC, IIDX, 32, 16)
DEFINE_LAYOUT_FIELDS(IEC_INV_DSC, IEC_INV_DSC_FIELDS);

#define INV_WAIT_DSC_FIELDS(X)          \
        X(INV_WAIT_DSC, TYPE_LO, 0, 4)  \
        X(INV_WAIT_DSC, IF, 4, 1)       \
        X(INV_WAIT_DSC, SW, 5, 1)       \
        X(INV_WAIT_DSC, FN, 6, 1)       \
        X(INV_WAIT_DSC, PD, 7, 1)       \
        X(INV_WAIT_DSC, TYPE_HI, 9, 3)  \
        X(INV_WAIT_DSC, STDATA, 32, 32) \
        X(INV_WAIT_DSC, STADDR, 66, 62)
DEFINE_LAYOUT_FIELDS(INV_WAIT_DSC, INV_WAIT_DSC_FIELDS);

#define P_IOTLB_INV_DSC_FIELDS(X)         \
        X(P_IOTLB_INV_DSC, TYPE_LO, 0, 4) \
        X(P_IOTLB_INV_DSC, G, 4, 2)       \
        X(P_IOTLB_INV_DSC, TYPE_HI, 9, 3) \
        X(P_IOTLB_INV_DSC, DID, 16, 16)   \
        X(P_IOTLB_INV_DSC, PASID, 32, 20) \
        X(P_IOTLB_INV_DSC, AM, 64, 6)     \
        X(P_IOTLB_INV_DSC, IH, 70, 1)     \
        X(P_IOTLB_INV_DSC, ADDR, 76, 52)
DEFINE_LAYOUT_FIELDS(P_IOTLB_INV_DSC, P_IOTLB_INV_DSC_FIELDS);

#define PC_INV_DSC_FIELDS(X)         \
        X(PC_INV_DSC, TYPE_LO, 0, 4) \
        X(PC_INV_DSC, G, 4, 2)       \
        X(PC_INV_DSC, TYPE_HI, 9, 3) \
        X(PC_INV_DSC, DID, 16, 16)   \
        X(PC_INV_DSC, PASID, 32, 20)
DEFINE_LAYOUT_FIELDS(PC_INV_DSC, PC_INV_DSC_FIELDS);

#define P_DEV_TLB_INV_DSC_FIELDS(X)            \
        X(P_DEV_TLB_INV_DSC, TYPE_LO, 0, 4)    \
        X(P_DEV_TLB_INV_DSC, MIP, 4, 5)        \
        X(P_DEV_TLB_INV_DSC, TYPE_HI, 9, 3)    \
        X(P_DEV_TLB_INV_DSC, PFSID_LO, 12, 4)  \
        X(P_DEV_TLB_INV_DSC, SID, 16, 16)      \
        X(P_DEV_TLB_INV_DSC, PASID, 32, 20)    \
        X(P_DEV_TLB_INV_DSC, PFSID_HI, 52, 12) \
        X(P_DEV_TLB_INV_DSC, G, 64, 1)         \
        X(P_DEV_TLB_INV_DSC, S, 75, 1)         \
        X(P_DEV_TLB_INV_DSC, ADDR, 76, 52)
DEFINE_LAYOUT_FIELDS(P_DEV_TLB_INV_DSC, P_DEV_TLB_INV_DSC_FIELDS);

extern const layout layout_inv_dsc, layout_cc_inv_dsc, layout_iotlb_inv_dsc, layout_dev_tlb_inv_dsc,
        layout_iec_inv_dsc, layout_inv_wait_dsc, layout_p_iotlb_inv_dsc, layout_pc_inv_dsc,
        layout_p_dev_tlb_inv_dsc;
/* The descriptor formats above, layout_inv_dsc first. */
extern const layout *const inv_dsc_layouts[];
extern const size_t n_inv_dsc_layouts;

/* What a sample counts descriptors by: the type, and within it the value
 * of the field that says how much is invalidated. */
typedef enum inv_kind {
        INV_KIND_CONTEXT_CACHE,
        INV_KIND_IOTLB,
        INV_KIND_DEVICE_TLB,
        INV_KIND_INTERRUPT_ENTRY_CACHE,
        INV_KIND_WAIT,
        INV_KIND_PASID_IOTLB,
        INV_KIND_PASID_CACHE,
        INV_KIND_PASID_DEVICE_TLB,
        INV_KIND_OTHER, /* page responses, types this version does not know */
        _INV_KIND_MAX,
        _INV_KIND_INVALID = -EINVAL,
} inv_kind;

/* Granularity fields are at most 2 bits wide. */
#define INV_GRANULARITY_MAX 4

/* "context_cache", "iotlb", "device_tlb", "interrupt_entry_cache", "wait",
 * "pasid_iotlb", "pasid_cache", "pasid_device_tlb", "other". */
const char *inv_kind_to_string(inv_kind k) _const_;
inv_kind inv_kind_from_string(const char *s) _pure_;

/* The descriptor format of a kind (NULL for INV_KIND_OTHER). */
const layout *inv_kind_layout(inv_kind k) _const_;

/* The name of granularity value g of kind k: "global", "domain", "device",
 * "page", "pasid", "index", "range"; "none" for a kind without a
 * granularity field (g 0); NULL for a value the specification reserves. */
const char *inv_granularity_to_string(inv_kind k, unsigned g) _const_;

/* A descriptor's kind and granularity (dsc: two qwords). */
inv_kind inv_dsc_classify(const uint64_t *dsc, unsigned *ret_granularity);
