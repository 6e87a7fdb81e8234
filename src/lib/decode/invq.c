/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Invalidation queue descriptors.  Formats from the VT-d
 * specification rev 4.x / 5.0 section 6.5.2, checked against Linux
 * (drivers/iommu/intel/iommu.h, QI_* macros), QEMU's intel_iommu_internal.h
 * (VTD_INV_DESC_*) and VirtualBox's iommu-intel.h.
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "basic/string-table.h"
#include "decode/invq.h"
#include "decode/values.h"

/* clang-format off */
#define DESCRIPTOR_LAYOUT(lname, L, LIST, ltitle)                              \
        static_assert(ELEMENTSOF(lname##_fields) == _##L##_FIELD_MAX, #lname "_fields"); \
        static DEFINE_LAYOUT_CHECK(lname, L, LIST);                            \
        const layout layout_##lname = {                                        \
                .name = #lname, .title = (ltitle), .kind = LAYOUT_ENTRY,       \
                .width = 128, .fields = lname##_fields,                        \
                .n_fields = ELEMENTSOF(lname##_fields), .check = lname##_check, \
        }
/* clang-format on */

#define TYPE_FIELDS(L)                                           \
        [L##_TYPE_LO] = { .name = "type_lo",                     \
                          .title = "Descriptor Type (bits 3:0)", \
                          FIELD_AT(L, TYPE_LO),                  \
                          .kind = FIELD_NUMBER,                  \
                          .hex = true },                         \
        [L##_TYPE_HI] = { .name = "type_hi",                     \
                          .title = "Descriptor Type (bits 6:4)", \
                          FIELD_AT(L, TYPE_HI),                  \
                          .kind = FIELD_NUMBER,                  \
                          .hex = true }

/* clang-format off */
static const field_desc inv_dsc_fields[] = {
        TYPE_FIELDS(INV_DSC),
};
/* clang-format on */
DESCRIPTOR_LAYOUT(inv_dsc, INV_DSC, INV_DSC_FIELDS, "Invalidation Descriptor");

/* clang-format off */
static const field_desc cc_inv_dsc_fields[] = {
        TYPE_FIELDS(CC_INV_DSC),
        [CC_INV_DSC_G] = { .name = "g", .title = "Granularity", FIELD_AT(CC_INV_DSC, G), .kind = FIELD_ENUM,
                           VALUES(context_granularity_values) },
        [CC_INV_DSC_DID] = { .name = "did", .title = "Domain-ID", FIELD_AT(CC_INV_DSC, DID), .kind = FIELD_NUMBER },
        [CC_INV_DSC_SID] = { .name = "sid", .title = "Source-ID", FIELD_AT(CC_INV_DSC, SID), .kind = FIELD_NUMBER,
                             .hex = true },
        [CC_INV_DSC_FM] = { .name = "fm", .title = "Function Mask (Source-ID bits not compared)",
                            FIELD_AT(CC_INV_DSC, FM), .kind = FIELD_ENUM, VALUES(function_mask_values) },
};
/* clang-format on */
DESCRIPTOR_LAYOUT(cc_inv_dsc, CC_INV_DSC, CC_INV_DSC_FIELDS, "Context-cache Invalidate Descriptor");

/* clang-format off */
static const field_desc iotlb_inv_dsc_fields[] = {
        TYPE_FIELDS(IOTLB_INV_DSC),
        [IOTLB_INV_DSC_G] = { .name = "g", .title = "Granularity", FIELD_AT(IOTLB_INV_DSC, G), .kind = FIELD_ENUM,
                              VALUES(iotlb_granularity_values) },
        [IOTLB_INV_DSC_DW] = { .name = "dw", .title = "Drain Writes", FIELD_AT(IOTLB_INV_DSC, DW), .kind = FIELD_FLAG },
        [IOTLB_INV_DSC_DR] = { .name = "dr", .title = "Drain Reads", FIELD_AT(IOTLB_INV_DSC, DR), .kind = FIELD_FLAG },
        [IOTLB_INV_DSC_DID] = { .name = "did", .title = "Domain-ID", FIELD_AT(IOTLB_INV_DSC, DID),
                                .kind = FIELD_NUMBER },
        [IOTLB_INV_DSC_AM] = { .name = "am", .title = "Address Mask (2^AM pages)", FIELD_AT(IOTLB_INV_DSC, AM),
                               .kind = FIELD_NUMBER, .derived = "pages", .pow2 = true, .unit = "pages" },
        [IOTLB_INV_DSC_IH] = { .name = "ih", .title = "Invalidation Hint (leaf entries only)",
                               FIELD_AT(IOTLB_INV_DSC, IH), .kind = FIELD_FLAG },
        [IOTLB_INV_DSC_ADDR] = { .name = "addr", .title = "Address", FIELD_AT(IOTLB_INV_DSC, ADDR),
                                 .kind = FIELD_ADDRESS },
};
/* clang-format on */
DESCRIPTOR_LAYOUT(iotlb_inv_dsc, IOTLB_INV_DSC, IOTLB_INV_DSC_FIELDS, "IOTLB Invalidate Descriptor");

/* Size: one page at ADDR, or the range its lowest clear bit encodes. */
static const value_name s_values[] = {
        [0] = { .name = "page" },
        [1] = { .name = "range" },
};

/* clang-format off */
static const field_desc dev_tlb_inv_dsc_fields[] = {
        TYPE_FIELDS(DEV_TLB_INV_DSC),
        [DEV_TLB_INV_DSC_PFSID_LO] = { .name = "pfsid_lo", .title = "Physical Function Source-ID (bits 3:0)",
                                       FIELD_AT(DEV_TLB_INV_DSC, PFSID_LO), .kind = FIELD_NUMBER, .hex = true },
        [DEV_TLB_INV_DSC_MIP] = { .name = "mip", .title = "Max Invalidations Pending",
                                  FIELD_AT(DEV_TLB_INV_DSC, MIP), .kind = FIELD_NUMBER },
        [DEV_TLB_INV_DSC_SID] = { .name = "sid", .title = "Source-ID", FIELD_AT(DEV_TLB_INV_DSC, SID),
                                  .kind = FIELD_NUMBER, .hex = true },
        [DEV_TLB_INV_DSC_PFSID_HI] = { .name = "pfsid_hi", .title = "Physical Function Source-ID (bits 15:4)",
                                       FIELD_AT(DEV_TLB_INV_DSC, PFSID_HI), .kind = FIELD_NUMBER, .hex = true },
        [DEV_TLB_INV_DSC_S] = { .name = "s", .title = "Size", FIELD_AT(DEV_TLB_INV_DSC, S), .kind = FIELD_FLAG,
                                VALUES(s_values) },
        [DEV_TLB_INV_DSC_ADDR] = { .name = "addr", .title = "Address", FIELD_AT(DEV_TLB_INV_DSC, ADDR),
                                   .kind = FIELD_ADDRESS },
};
/* clang-format on */
DESCRIPTOR_LAYOUT(dev_tlb_inv_dsc, DEV_TLB_INV_DSC, DEV_TLB_INV_DSC_FIELDS,
                  "Device-TLB Invalidate Descriptor");

static const value_name iec_g_values[] = {
        [0] = { .name = "global" },
        [1] = { .name = "index", .meaning = "index-selective" },
};

/* clang-format off */
static const field_desc iec_inv_dsc_fields[] = {
        TYPE_FIELDS(IEC_INV_DSC),
        [IEC_INV_DSC_G] = { .name = "g", .title = "Granularity", FIELD_AT(IEC_INV_DSC, G), .kind = FIELD_FLAG,
                            VALUES(iec_g_values) },
        [IEC_INV_DSC_IM] = { .name = "im", .title = "Index Mask (2^IM entries)", FIELD_AT(IEC_INV_DSC, IM),
                             .kind = FIELD_NUMBER, .derived = "entries", .pow2 = true, .unit = "entries" },
        [IEC_INV_DSC_IIDX] = { .name = "iidx", .title = "Interrupt Index", FIELD_AT(IEC_INV_DSC, IIDX),
                               .kind = FIELD_NUMBER },
};
/* clang-format on */
DESCRIPTOR_LAYOUT(iec_inv_dsc, IEC_INV_DSC, IEC_INV_DSC_FIELDS,
                  "Interrupt Entry Cache Invalidate Descriptor");

/* clang-format off */
static const field_desc inv_wait_dsc_fields[] = {
        TYPE_FIELDS(INV_WAIT_DSC),
        [INV_WAIT_DSC_IF] = { .name = "if", .title = "Interrupt Flag", FIELD_AT(INV_WAIT_DSC, IF), .kind = FIELD_FLAG },
        [INV_WAIT_DSC_SW] = { .name = "sw", .title = "Status Write", FIELD_AT(INV_WAIT_DSC, SW), .kind = FIELD_FLAG },
        [INV_WAIT_DSC_FN] = { .name = "fn", .title = "Fence Flag", FIELD_AT(INV_WAIT_DSC, FN), .kind = FIELD_FLAG },
        [INV_WAIT_DSC_PD] = { .name = "pd", .title = "Page-request Drain", FIELD_AT(INV_WAIT_DSC, PD),
                              .kind = FIELD_FLAG },
        [INV_WAIT_DSC_STDATA] = { .name = "stdata", .title = "Status Data", FIELD_AT(INV_WAIT_DSC, STDATA),
                                  .kind = FIELD_NUMBER, .hex = true },
        [INV_WAIT_DSC_STADDR] = { .name = "staddr", .title = "Status Address", FIELD_AT(INV_WAIT_DSC, STADDR),
                                  .kind = FIELD_ADDRESS },
};
/* clang-format on */
DESCRIPTOR_LAYOUT(inv_wait_dsc, INV_WAIT_DSC, INV_WAIT_DSC_FIELDS, "Invalidation Wait Descriptor");

/* 0 and 1 are reserved since revision 3 (Linux still names them: the
 * extended-context IOTLB of revision 2.x). */
static const value_name p_iotlb_g_values[] = {
        [0] = { .meaning = "reserved" },
        [1] = { .meaning = "reserved" },
        [2] = { .name = "pasid", .meaning = "PASID-selective" },
        [3] = { .name = "page", .meaning = "page-selective within the PASID" },
};

/* clang-format off */
static const field_desc p_iotlb_inv_dsc_fields[] = {
        TYPE_FIELDS(P_IOTLB_INV_DSC),
        [P_IOTLB_INV_DSC_G] = { .name = "g", .title = "Granularity", FIELD_AT(P_IOTLB_INV_DSC, G),
                                .kind = FIELD_ENUM, VALUES(p_iotlb_g_values) },
        [P_IOTLB_INV_DSC_DID] = { .name = "did", .title = "Domain-ID", FIELD_AT(P_IOTLB_INV_DSC, DID),
                                  .kind = FIELD_NUMBER },
        [P_IOTLB_INV_DSC_PASID] = { .name = "pasid", .title = "PASID", FIELD_AT(P_IOTLB_INV_DSC, PASID),
                                    .kind = FIELD_NUMBER, .hex = true },
        [P_IOTLB_INV_DSC_AM] = { .name = "am", .title = "Address Mask (2^AM pages)", FIELD_AT(P_IOTLB_INV_DSC, AM),
                                 .kind = FIELD_NUMBER, .derived = "pages", .pow2 = true, .unit = "pages" },
        [P_IOTLB_INV_DSC_IH] = { .name = "ih", .title = "Invalidation Hint (leaf entries only)",
                                 FIELD_AT(P_IOTLB_INV_DSC, IH), .kind = FIELD_FLAG },
        [P_IOTLB_INV_DSC_ADDR] = { .name = "addr", .title = "Address", FIELD_AT(P_IOTLB_INV_DSC, ADDR),
                                   .kind = FIELD_ADDRESS },
};
/* clang-format on */
DESCRIPTOR_LAYOUT(p_iotlb_inv_dsc, P_IOTLB_INV_DSC, P_IOTLB_INV_DSC_FIELDS,
                  "PASID-based IOTLB Invalidate Descriptor");

static const value_name pc_g_values[] = {
        [0] = { .name = "domain", .meaning = "domain-selective" },
        [1] = { .name = "pasid", .meaning = "PASID-selective" },
        [2] = { .meaning = "reserved" },
        [3] = { .name = "global" },
};

/* clang-format off */
static const field_desc pc_inv_dsc_fields[] = {
        TYPE_FIELDS(PC_INV_DSC),
        [PC_INV_DSC_G] = { .name = "g", .title = "Granularity", FIELD_AT(PC_INV_DSC, G), .kind = FIELD_ENUM,
                           VALUES(pc_g_values) },
        [PC_INV_DSC_DID] = { .name = "did", .title = "Domain-ID", FIELD_AT(PC_INV_DSC, DID), .kind = FIELD_NUMBER },
        [PC_INV_DSC_PASID] = { .name = "pasid", .title = "PASID", FIELD_AT(PC_INV_DSC, PASID), .kind = FIELD_NUMBER,
                               .hex = true },
};
/* clang-format on */
DESCRIPTOR_LAYOUT(pc_inv_dsc, PC_INV_DSC, PC_INV_DSC_FIELDS, "PASID-cache Invalidate Descriptor");

/* clang-format off */
static const field_desc p_dev_tlb_inv_dsc_fields[] = {
        TYPE_FIELDS(P_DEV_TLB_INV_DSC),
        [P_DEV_TLB_INV_DSC_MIP] = { .name = "mip", .title = "Max Invalidations Pending",
                                    FIELD_AT(P_DEV_TLB_INV_DSC, MIP), .kind = FIELD_NUMBER },
        [P_DEV_TLB_INV_DSC_PFSID_LO] = { .name = "pfsid_lo", .title = "Physical Function Source-ID (bits 3:0)",
                                         FIELD_AT(P_DEV_TLB_INV_DSC, PFSID_LO), .kind = FIELD_NUMBER, .hex = true },
        [P_DEV_TLB_INV_DSC_SID] = { .name = "sid", .title = "Source-ID", FIELD_AT(P_DEV_TLB_INV_DSC, SID),
                                    .kind = FIELD_NUMBER, .hex = true },
        [P_DEV_TLB_INV_DSC_PASID] = { .name = "pasid", .title = "PASID", FIELD_AT(P_DEV_TLB_INV_DSC, PASID),
                                      .kind = FIELD_NUMBER, .hex = true },
        [P_DEV_TLB_INV_DSC_PFSID_HI] = { .name = "pfsid_hi", .title = "Physical Function Source-ID (bits 15:4)",
                                         FIELD_AT(P_DEV_TLB_INV_DSC, PFSID_HI), .kind = FIELD_NUMBER, .hex = true },
        [P_DEV_TLB_INV_DSC_G] = { .name = "g", .title = "Global (global mappings of every PASID too)",
                                  FIELD_AT(P_DEV_TLB_INV_DSC, G), .kind = FIELD_FLAG },
        [P_DEV_TLB_INV_DSC_S] = { .name = "s", .title = "Size", FIELD_AT(P_DEV_TLB_INV_DSC, S), .kind = FIELD_FLAG,
                                  VALUES(s_values) },
        [P_DEV_TLB_INV_DSC_ADDR] = { .name = "addr", .title = "Address", FIELD_AT(P_DEV_TLB_INV_DSC, ADDR),
                                     .kind = FIELD_ADDRESS },
};
/* clang-format on */
DESCRIPTOR_LAYOUT(p_dev_tlb_inv_dsc, P_DEV_TLB_INV_DSC, P_DEV_TLB_INV_DSC_FIELDS,
                  "PASID-based Device-TLB Invalidate Descriptor");

const layout *const inv_dsc_layouts[] = {
        &layout_inv_dsc,         &layout_cc_inv_dsc,  &layout_iotlb_inv_dsc,
        &layout_dev_tlb_inv_dsc, &layout_iec_inv_dsc, &layout_inv_wait_dsc,
        &layout_p_iotlb_inv_dsc, &layout_pc_inv_dsc,  &layout_p_dev_tlb_inv_dsc,
};
const size_t n_inv_dsc_layouts = ELEMENTSOF(inv_dsc_layouts);

/* Each kind: its type code, its format, and which field of it (an index
 * into the format's fields) says how much is invalidated; -1: none. */
static const struct {
        unsigned type;
        const layout *layout;
        int granularity;
} kinds[] = {
        [INV_KIND_CONTEXT_CACHE] = { .type = INV_DSC_CC,
                                     .layout = &layout_cc_inv_dsc,
                                     .granularity = CC_INV_DSC_G },
        [INV_KIND_IOTLB] = { .type = INV_DSC_IOTLB,
                             .layout = &layout_iotlb_inv_dsc,
                             .granularity = IOTLB_INV_DSC_G },
        [INV_KIND_DEVICE_TLB] = { .type = INV_DSC_DEV_TLB,
                                  .layout = &layout_dev_tlb_inv_dsc,
                                  .granularity = DEV_TLB_INV_DSC_S },
        [INV_KIND_INTERRUPT_ENTRY_CACHE] = { .type = INV_DSC_IEC,
                                             .layout = &layout_iec_inv_dsc,
                                             .granularity = IEC_INV_DSC_G },
        [INV_KIND_WAIT] = { .type = INV_DSC_WAIT, .layout = &layout_inv_wait_dsc, .granularity = -1 },
        [INV_KIND_PASID_IOTLB] = { .type = INV_DSC_P_IOTLB,
                                   .layout = &layout_p_iotlb_inv_dsc,
                                   .granularity = P_IOTLB_INV_DSC_G },
        [INV_KIND_PASID_CACHE] = { .type = INV_DSC_PC,
                                   .layout = &layout_pc_inv_dsc,
                                   .granularity = PC_INV_DSC_G },
        [INV_KIND_PASID_DEVICE_TLB] = { .type = INV_DSC_P_DEV_TLB,
                                        .layout = &layout_p_dev_tlb_inv_dsc,
                                        .granularity = P_DEV_TLB_INV_DSC_S },
        [INV_KIND_OTHER] = { .type = 0, .layout = NULL, .granularity = -1 },
};
static_assert(ELEMENTSOF(kinds) == _INV_KIND_MAX, "kinds");

static const char *const inv_kind_table[] = {
        [INV_KIND_CONTEXT_CACHE] = "context_cache",
        [INV_KIND_IOTLB] = "iotlb",
        [INV_KIND_DEVICE_TLB] = "device_tlb",
        [INV_KIND_INTERRUPT_ENTRY_CACHE] = "interrupt_entry_cache",
        [INV_KIND_WAIT] = "wait",
        [INV_KIND_PASID_IOTLB] = "pasid_iotlb",
        [INV_KIND_PASID_CACHE] = "pasid_cache",
        [INV_KIND_PASID_DEVICE_TLB] = "pasid_device_tlb",
        [INV_KIND_OTHER] = "other",
};
static_assert(ELEMENTSOF(inv_kind_table) == _INV_KIND_MAX, "inv_kind_table");

DEFINE_STRING_TABLE_LOOKUP(inv_kind, inv_kind, inv_kind_table, _INV_KIND_MAX, _INV_KIND_INVALID)

const layout *inv_kind_layout(inv_kind k) {
        return k >= 0 && k < _INV_KIND_MAX ? kinds[k].layout : NULL;
}

const char *inv_granularity_to_string(inv_kind k, unsigned g) {
        const field_desc *f;
        const value_name *v;

        if (k < 0 || k >= _INV_KIND_MAX || g >= INV_GRANULARITY_MAX)
                return NULL;
        if (kinds[k].granularity < 0)
                return g == 0 ? "none" : NULL;
        f = &kinds[k].layout->fields[kinds[k].granularity];
        if (g >> f->width)
                return NULL;
        /* the short name: "domain", where decode says "domain-selective" */
        v = value_name_lookup(f->values, f->n_values, g);
        return v ? v->name : NULL;
}

inv_kind inv_dsc_classify(const uint64_t *dsc, unsigned *ret_granularity) {
        unsigned type =
                (unsigned) (FIELD_GET(INV_DSC, TYPE_LO, dsc) | FIELD_GET(INV_DSC, TYPE_HI, dsc) << 4);

        for (int k = 0; k < _INV_KIND_MAX; k++) {
                const field_desc *f;

                if (!kinds[k].layout || kinds[k].type != type)
                        continue;
                if (kinds[k].granularity < 0)
                        *ret_granularity = 0;
                else {
                        f = &kinds[k].layout->fields[kinds[k].granularity];
                        *ret_granularity = (unsigned) field_raw(f, dsc);
                }
                return (inv_kind) k;
        }
        *ret_granularity = 0;
        return INV_KIND_OTHER;
}
