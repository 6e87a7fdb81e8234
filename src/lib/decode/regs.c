/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Descriptor tables for every VT-d register.
 *
 * Sources, checked against each other: the VT-d specification (revision 4.1;
 * field names and deprecations), Linux drivers/iommu/intel/{iommu.h,dmar.c,
 * perfmon.[ch]}, QEMU hw/i386/intel_iommu_internal.h, EDK2 IntelSiliconPkg
 * Vtd.h (spec 3.3 register structs), and Intel's register listings for
 * recent client parts.  Where they disagree the newest specification wins;
 * the comments at the disagreements say which way.
 */
#include <assert.h>

#include "decode/regs.h"

/* A descriptor table, its check positions and the layout, for registers
 * with a table of their own; what follows the offset goes into the layout
 * too (REQUIRES_CAP/REQUIRES_ECAP for the registers not every unit has). */
/* clang-format off */
#define REGISTER_LAYOUT(lname, L, LIST, ltitle, lwidth, lbase, loffset, ...)   \
        static_assert(ELEMENTSOF(lname##_fields) == _##L##_FIELD_MAX, #lname "_fields"); \
        static DEFINE_LAYOUT_CHECK(lname, L, LIST);                            \
        const layout layout_##lname = {                                        \
                .name = #lname, .title = (ltitle), .kind = LAYOUT_REGISTER,    \
                .width = (lwidth), .base = (lbase), .offset = (loffset),       \
                .fields = lname##_fields, .n_fields = ELEMENTSOF(lname##_fields), \
                .check = lname##_check, __VA_ARGS__                            \
        }
/* clang-format on */

/* A register a unit has only when its CAP or ECAP says so (chapter 11 at
 * each register: "reported as 0 / treated as RsvdZ when ... is 0");
 * reading it elsewhere is at best meaningless (zeros, or all-ones on QEMU
 * past its register file) and never needed. */
#define REQUIRES_CAP(F) .requires = { .cap = FIELD_MASK64(CAP, F) }
#define REQUIRES_ECAP(F) .requires = { .ecap = FIELD_MASK64(ECAP, F) }

/* ---- VER ---- */

/* clang-format off */
static const field_desc ver_fields[] = {
        [VER_MIN] = { .name = "min", .title = "Minor Version number", FIELD_AT(VER, MIN), .kind = FIELD_NUMBER },
        [VER_MAX] = { .name = "max", .title = "Major Version number", FIELD_AT(VER, MAX), .kind = FIELD_NUMBER },
};
/* clang-format on */
REGISTER_LAYOUT(ver, VER, VER_FIELDS, "Version Register", 32, LAYOUT_BASE_FIXED, REG_VER);

/* ---- CAP ---- */

static const value_name rwbf_values[] = {
        [0] = { .name = "not required" },
        [1] = { .name = "required" },
};

/* Bits 2 (512 GiB) and 3 (1 TiB) are reserved. */
static const value_name sllps_values[] = {
        [0] = { .name = "2 MiB", .number = UINT64_C(1) << 21 },
        [1] = { .name = "1 GiB", .number = UINT64_C(1) << 30 },
};

/* clang-format off */
static const field_desc cap_fields[] = {
        [CAP_ND] = { .name = "nd", .title = "Number of Domains supported", FIELD_AT(CAP, ND),
                     .kind = FIELD_NUMBER, .derived = "domains", .mul = 2, .add = 4, .pow2 = true, .unit = "domains" },
        [CAP_AFL] = { .name = "afl", .title = "Advanced Fault Logging", FIELD_AT(CAP, AFL), .kind = FIELD_FLAG },
        [CAP_RWBF] = { .name = "rwbf", .title = "Required Write-Buffer Flushing", FIELD_AT(CAP, RWBF),
                       .kind = FIELD_FLAG, VALUES(rwbf_values) },
        [CAP_PLMR] = { .name = "plmr", .title = "Protected Low-Memory Region", FIELD_AT(CAP, PLMR), .kind = FIELD_FLAG },
        [CAP_PHMR] = { .name = "phmr", .title = "Protected High-Memory Region", FIELD_AT(CAP, PHMR), .kind = FIELD_FLAG },
        [CAP_CM] = { .name = "cm", .title = "Caching Mode", FIELD_AT(CAP, CM), .kind = FIELD_FLAG },
        [CAP_SAGAW] = { .name = "sagaw", .title = "Supported Adjusted Guest Address Widths", FIELD_AT(CAP, SAGAW),
                        /* bit n: AW value n; bit 0 (30-bit, 2-level) and bit 4 (64-bit,
                         * 6-level) are reserved since revision 2 and print as ??bitN */
                        .kind = FIELD_BITMAP, VALUES(address_width_values), .derived = "address_widths" },
        [CAP_MGAW] = { .name = "mgaw", .title = "Maximum Guest Address Width", FIELD_AT(CAP, MGAW),
                       .kind = FIELD_NUMBER, .derived = "bits", .add = 1, .unit = "bits" },
        [CAP_ZLR] = { .name = "zlr", .title = "Zero Length Read", FIELD_AT(CAP, ZLR), .kind = FIELD_FLAG },
        /* Reserved ("DEP") since revision 2; VT-d 1.x called it ISOCH. */
        [CAP_ISOCH] = { .name = "isoch", .title = "Isochrony", FIELD_AT(CAP, ISOCH), .kind = FIELD_FLAG,
                        .deprecated = true },
        [CAP_FRO] = { .name = "fro", .title = "Fault-recording Register Offset", FIELD_AT(CAP, FRO),
                      .kind = FIELD_NUMBER, .derived = "offset", .mul = 16, .hex = true },
        /* Named SSLPS since revision 3.4; cap.sllps is the public name (regs.h). */
        [CAP_SLLPS] = { .name = "sllps", .title = "Second Stage Large Page Support (SSLPS)", FIELD_AT(CAP, SLLPS),
                        .kind = FIELD_BITMAP, VALUES(sllps_values), .derived = "page_sizes" },
        [CAP_PSI] = { .name = "psi", .title = "Page Selective Invalidation", FIELD_AT(CAP, PSI), .kind = FIELD_FLAG },
        [CAP_NFR] = { .name = "nfr", .title = "Number of Fault-recording Registers", FIELD_AT(CAP, NFR),
                      .kind = FIELD_NUMBER, .derived = "records", .add = 1, .unit = "records" },
        [CAP_MAMV] = { .name = "mamv", .title = "Maximum Address Mask Value", FIELD_AT(CAP, MAMV),
                       .kind = FIELD_NUMBER, .derived = "max_pages", .pow2 = true, .unit = "pages" },
        [CAP_DWD] = { .name = "dwd", .title = "Write Draining", FIELD_AT(CAP, DWD), .kind = FIELD_FLAG },
        [CAP_DRD] = { .name = "drd", .title = "Read Draining", FIELD_AT(CAP, DRD), .kind = FIELD_FLAG },
        [CAP_FS1GP] = { .name = "fs1gp", .title = "First Stage 1-GByte Page Support", FIELD_AT(CAP, FS1GP),
                        .kind = FIELD_FLAG },
        [CAP_PI] = { .name = "pi", .title = "Posted Interrupts Support", FIELD_AT(CAP, PI), .kind = FIELD_FLAG },
        [CAP_FS5LP] = { .name = "fs5lp", .title = "First Stage 5-level Paging Support", FIELD_AT(CAP, FS5LP),
                        .kind = FIELD_FLAG },
        [CAP_ECMDS] = { .name = "ecmds", .title = "Enhanced Command Support", FIELD_AT(CAP, ECMDS), .kind = FIELD_FLAG },
        [CAP_ESIRTPS] = { .name = "esirtps", .title = "Enhanced Set Interrupt Remap Table Pointer Support",
                          FIELD_AT(CAP, ESIRTPS), .kind = FIELD_FLAG },
        [CAP_ESRTPS] = { .name = "esrtps", .title = "Enhanced Set Root Table Pointer Support",
                         FIELD_AT(CAP, ESRTPS), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(cap, CAP, CAP_FIELDS, "Capability Register", 64, LAYOUT_BASE_FIXED, REG_CAP);

/* ---- ECAP ---- */

/*
 * Bits 50..53: EDK2's Vtd.h (spec 3.3) puts ADMS at 52 and RPRIVS at 53 and
 * leaves 50..51 reserved; Linux adds PMS at 51 (revision 4.0); Intel's
 * register listing for Core Ultra parts names bit 50 TDXIO.  All agree where
 * they overlap; the union is used.
 */
/* clang-format off */
static const field_desc ecap_fields[] = {
        [ECAP_C] = { .name = "c", .title = "Page-walk Coherency", FIELD_AT(ECAP, C), .kind = FIELD_FLAG },
        [ECAP_QI] = { .name = "qi", .title = "Queued Invalidation support", FIELD_AT(ECAP, QI), .kind = FIELD_FLAG },
        [ECAP_DT] = { .name = "dt", .title = "Device-TLB support", FIELD_AT(ECAP, DT), .kind = FIELD_FLAG },
        [ECAP_IR] = { .name = "ir", .title = "Interrupt Remapping support", FIELD_AT(ECAP, IR), .kind = FIELD_FLAG },
        [ECAP_EIM] = { .name = "eim", .title = "Extended Interrupt Mode", FIELD_AT(ECAP, EIM), .kind = FIELD_FLAG },
        [ECAP_CH] = { .name = "ch", .title = "Caching Hints", FIELD_AT(ECAP, CH), .kind = FIELD_FLAG,
                      .deprecated = true },
        [ECAP_PT] = { .name = "pt", .title = "Pass Through", FIELD_AT(ECAP, PT), .kind = FIELD_FLAG },
        [ECAP_SC] = { .name = "sc", .title = "Snoop Control", FIELD_AT(ECAP, SC), .kind = FIELD_FLAG },
        [ECAP_IRO] = { .name = "iro", .title = "IOTLB Register Offset", FIELD_AT(ECAP, IRO),
                       .kind = FIELD_NUMBER, .derived = "offset", .mul = 16, .hex = true },
        [ECAP_MHMV] = { .name = "mhmv", .title = "Maximum Handle Mask Value", FIELD_AT(ECAP, MHMV),
                        .kind = FIELD_NUMBER },
        [ECAP_ECS] = { .name = "ecs", .title = "Extended Context Support", FIELD_AT(ECAP, ECS), .kind = FIELD_FLAG,
                       .deprecated = true },
        [ECAP_MTS] = { .name = "mts", .title = "Memory Type Support", FIELD_AT(ECAP, MTS), .kind = FIELD_FLAG },
        [ECAP_NEST] = { .name = "nest", .title = "Nested Translation Support", FIELD_AT(ECAP, NEST),
                        .kind = FIELD_FLAG },
        [ECAP_DIS] = { .name = "dis", .title = "Deferred Invalidate Support", FIELD_AT(ECAP, DIS),
                       .kind = FIELD_FLAG, .deprecated = true },
        [ECAP_PRS] = { .name = "prs", .title = "Page Request Support", FIELD_AT(ECAP, PRS), .kind = FIELD_FLAG },
        [ECAP_ERS] = { .name = "ers", .title = "Execute Request Support", FIELD_AT(ECAP, ERS), .kind = FIELD_FLAG },
        [ECAP_SRS] = { .name = "srs", .title = "Supervisor Request Support", FIELD_AT(ECAP, SRS), .kind = FIELD_FLAG },
        [ECAP_POT] = { .name = "pot", .title = "PASID-Only Translation support", FIELD_AT(ECAP, POT),
                       .kind = FIELD_FLAG, .deprecated = true },
        [ECAP_NWFS] = { .name = "nwfs", .title = "No Write Flag Support", FIELD_AT(ECAP, NWFS), .kind = FIELD_FLAG },
        [ECAP_EAFS] = { .name = "eafs", .title = "Extended Accessed Flag Support", FIELD_AT(ECAP, EAFS),
                        .kind = FIELD_FLAG },
        [ECAP_PSS] = { .name = "pss", .title = "PASID Size Supported", FIELD_AT(ECAP, PSS),
                       .kind = FIELD_NUMBER, .derived = "bits", .add = 1, .unit = "bits" },
        [ECAP_PASID] = { .name = "pasid", .title = "Process Address Space ID Support", FIELD_AT(ECAP, PASID),
                         .kind = FIELD_FLAG },
        [ECAP_DIT] = { .name = "dit", .title = "Device-TLB Invalidation Throttle", FIELD_AT(ECAP, DIT),
                       .kind = FIELD_FLAG },
        [ECAP_PDS] = { .name = "pds", .title = "Page-request Drain Support", FIELD_AT(ECAP, PDS), .kind = FIELD_FLAG },
        [ECAP_SMTS] = { .name = "smts", .title = "Scalable Mode Translation Support", FIELD_AT(ECAP, SMTS),
                        .kind = FIELD_FLAG },
        /* The virtual command interface is deprecated since revision 3.3. */
        [ECAP_VCS] = { .name = "vcs", .title = "Virtual Command Support", FIELD_AT(ECAP, VCS), .kind = FIELD_FLAG,
                       .deprecated = true },
        [ECAP_SSADS] = { .name = "ssads", .title = "Second Stage Accessed/Dirty Support", FIELD_AT(ECAP, SSADS),
                         .kind = FIELD_FLAG },
        [ECAP_SSTS] = { .name = "ssts", .title = "Second Stage Translation Support", FIELD_AT(ECAP, SSTS),
                        .kind = FIELD_FLAG },
        [ECAP_FSTS] = { .name = "fsts", .title = "First Stage Translation Support", FIELD_AT(ECAP, FSTS),
                        .kind = FIELD_FLAG },
        [ECAP_SMPWCS] = { .name = "smpwcs", .title = "Scalable-Mode Page-walk Coherency Support",
                          FIELD_AT(ECAP, SMPWCS), .kind = FIELD_FLAG },
        [ECAP_RPS] = { .name = "rps", .title = "RID_PASID Support", FIELD_AT(ECAP, RPS), .kind = FIELD_FLAG },
        [ECAP_TDXIO] = { .name = "tdxio", .title = "TDX-IO Support", FIELD_AT(ECAP, TDXIO), .kind = FIELD_FLAG },
        [ECAP_PMS] = { .name = "pms", .title = "Performance Monitoring Support", FIELD_AT(ECAP, PMS),
                       .kind = FIELD_FLAG },
        [ECAP_ADMS] = { .name = "adms", .title = "Abort DMA Mode Support", FIELD_AT(ECAP, ADMS), .kind = FIELD_FLAG },
        [ECAP_RPRIVS] = { .name = "rprivs", .title = "RID_PRIV Support", FIELD_AT(ECAP, RPRIVS), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(ecap, ECAP, ECAP_FIELDS, "Extended Capability Register", 64, LAYOUT_BASE_FIXED, REG_ECAP);

/* ---- GCMD, GSTS ---- */

/* clang-format off */
static const field_desc gcmd_fields[] = {
        [GCMD_CFI] = { .name = "cfi", .title = "Compatibility Format Interrupt", FIELD_AT(GCMD, CFI),
                       .kind = FIELD_FLAG },
        [GCMD_SIRTP] = { .name = "sirtp", .title = "Set Interrupt Remap Table Pointer", FIELD_AT(GCMD, SIRTP),
                         .kind = FIELD_FLAG },
        [GCMD_IRE] = { .name = "ire", .title = "Interrupt Remapping Enable", FIELD_AT(GCMD, IRE), .kind = FIELD_FLAG },
        [GCMD_QIE] = { .name = "qie", .title = "Queued Invalidation Enable", FIELD_AT(GCMD, QIE), .kind = FIELD_FLAG },
        [GCMD_WBF] = { .name = "wbf", .title = "Write Buffer Flush", FIELD_AT(GCMD, WBF), .kind = FIELD_FLAG },
        [GCMD_EAFL] = { .name = "eafl", .title = "Enable Advanced Fault Logging", FIELD_AT(GCMD, EAFL),
                        .kind = FIELD_FLAG },
        [GCMD_SFL] = { .name = "sfl", .title = "Set Fault Log", FIELD_AT(GCMD, SFL), .kind = FIELD_FLAG },
        [GCMD_SRTP] = { .name = "srtp", .title = "Set Root Table Pointer", FIELD_AT(GCMD, SRTP), .kind = FIELD_FLAG },
        [GCMD_TE] = { .name = "te", .title = "Translation Enable", FIELD_AT(GCMD, TE), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(gcmd, GCMD, GCMD_FIELDS, "Global Command Register", 32, LAYOUT_BASE_FIXED, REG_GCMD);

/* clang-format off */
static const field_desc gsts_fields[] = {
        [GSTS_CFIS] = { .name = "cfis", .title = "Compatibility Format Interrupt Status", FIELD_AT(GSTS, CFIS),
                        .kind = FIELD_FLAG },
        [GSTS_IRTPS] = { .name = "irtps", .title = "Interrupt Remapping Table Pointer Status", FIELD_AT(GSTS, IRTPS),
                         .kind = FIELD_FLAG },
        [GSTS_IRES] = { .name = "ires", .title = "Interrupt Remapping Enable Status", FIELD_AT(GSTS, IRES),
                        .kind = FIELD_FLAG },
        [GSTS_QIES] = { .name = "qies", .title = "Queued Invalidation Enable Status", FIELD_AT(GSTS, QIES),
                        .kind = FIELD_FLAG },
        [GSTS_WBFS] = { .name = "wbfs", .title = "Write Buffer Flush Status", FIELD_AT(GSTS, WBFS),
                        .kind = FIELD_FLAG },
        [GSTS_AFLS] = { .name = "afls", .title = "Advanced Fault Logging Status", FIELD_AT(GSTS, AFLS),
                        .kind = FIELD_FLAG },
        [GSTS_FLS] = { .name = "fls", .title = "Fault Log Status", FIELD_AT(GSTS, FLS), .kind = FIELD_FLAG },
        [GSTS_RTPS] = { .name = "rtps", .title = "Root Table Pointer Status", FIELD_AT(GSTS, RTPS),
                        .kind = FIELD_FLAG },
        [GSTS_TES] = { .name = "tes", .title = "Translation Enable Status", FIELD_AT(GSTS, TES), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(gsts, GSTS, GSTS_FIELDS, "Global Status Register", 32, LAYOUT_BASE_FIXED, REG_GSTS);

/* ---- RTADDR, CCMD ---- */

/* clang-format off */
static const field_desc rtaddr_fields[] = {
        [RTADDR_TTM] = { .name = "ttm", .title = "Translation Table Mode", FIELD_AT(RTADDR, TTM),
                         .kind = FIELD_ENUM, VALUES(ttm_values) },
        [RTADDR_RTA] = { .name = "rta", .title = "Root Table Address", FIELD_AT(RTADDR, RTA),
                         .kind = FIELD_ADDRESS },
};
/* clang-format on */
REGISTER_LAYOUT(rtaddr, RTADDR, RTADDR_FIELDS, "Root Table Address Register", 64, LAYOUT_BASE_FIXED,
                REG_RTADDR);

/* clang-format off */
static const field_desc ccmd_fields[] = {
        [CCMD_DID] = { .name = "did", .title = "Domain-ID", FIELD_AT(CCMD, DID), .kind = FIELD_NUMBER },
        [CCMD_SID] = { .name = "sid", .title = "Source-ID", FIELD_AT(CCMD, SID), .kind = FIELD_NUMBER, .hex = true },
        [CCMD_FM] = { .name = "fm", .title = "Function Mask", FIELD_AT(CCMD, FM), .kind = FIELD_ENUM,
                      VALUES(function_mask_values) },
        [CCMD_CAIG] = { .name = "caig", .title = "Context Actual Invalidation Granularity", FIELD_AT(CCMD, CAIG),
                        .kind = FIELD_ENUM, VALUES(context_granularity_values) },
        [CCMD_CIRG] = { .name = "cirg", .title = "Context Invalidation Request Granularity", FIELD_AT(CCMD, CIRG),
                        .kind = FIELD_ENUM, VALUES(context_granularity_values) },
        [CCMD_ICC] = { .name = "icc", .title = "Invalidate Context-Cache", FIELD_AT(CCMD, ICC), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(ccmd, CCMD, CCMD_FIELDS, "Context Command Register", 64, LAYOUT_BASE_FIXED, REG_CCMD);

/* ---- Fault status and the event-interrupt register groups ---- */

/* clang-format off */
static const field_desc fsts_fields[] = {
        [FSTS_PFO] = { .name = "pfo", .title = "Primary Fault Overflow", FIELD_AT(FSTS, PFO), .kind = FIELD_FLAG },
        [FSTS_PPF] = { .name = "ppf", .title = "Primary Pending Fault", FIELD_AT(FSTS, PPF), .kind = FIELD_FLAG },
        [FSTS_AFO] = { .name = "afo", .title = "Advanced Fault Overflow", FIELD_AT(FSTS, AFO), .kind = FIELD_FLAG },
        [FSTS_APF] = { .name = "apf", .title = "Advanced Pending Fault", FIELD_AT(FSTS, APF), .kind = FIELD_FLAG },
        [FSTS_IQE] = { .name = "iqe", .title = "Invalidation Queue Error", FIELD_AT(FSTS, IQE), .kind = FIELD_FLAG },
        [FSTS_ICE] = { .name = "ice", .title = "Invalidation Completion Error", FIELD_AT(FSTS, ICE),
                       .kind = FIELD_FLAG },
        [FSTS_ITE] = { .name = "ite", .title = "Invalidation Time-out Error", FIELD_AT(FSTS, ITE),
                       .kind = FIELD_FLAG },
        /* Linux still clears it; revision 3 moved page request overflow to PRS_REG. */
        [FSTS_PRO] = { .name = "pro", .title = "Page Request Overflow", FIELD_AT(FSTS, PRO), .kind = FIELD_FLAG,
                       .deprecated = true },
        [FSTS_FRI] = { .name = "fri", .title = "Fault Record Index", FIELD_AT(FSTS, FRI), .kind = FIELD_NUMBER },
};
/* clang-format on */
REGISTER_LAYOUT(fsts, FSTS, FSTS_FIELDS, "Fault Status Register", 32, LAYOUT_BASE_FIXED, REG_FSTS);

static const value_name mask_values[] = {
        [0] = { .name = "unmasked" },
        [1] = { .name = "masked" },
};

/* The event register groups share field descriptions; each register gets
 * its own table so its X-macro enum indexes it. */
/* clang-format off */
#define EVENT_CTL_TABLE(L)                                                     \
        {                                                                      \
                [L##_IP] = { .name = "ip", .title = "Interrupt Pending", FIELD_AT(L, IP), .kind = FIELD_FLAG }, \
                [L##_IM] = { .name = "im", .title = "Interrupt Mask", FIELD_AT(L, IM), .kind = FIELD_FLAG, \
                             VALUES(mask_values) },                              \
        }
/* clang-format on */
/* clang-format off */
#define EVENT_DATA_TABLE(L)                                                    \
        {                                                                      \
                [L##_IMD] = { .name = "imd", .title = "Interrupt Message Data", FIELD_AT(L, IMD), \
                              .kind = FIELD_NUMBER, .hex = true },             \
                [L##_EIMD] = { .name = "eimd", .title = "Extended Interrupt Message Data", FIELD_AT(L, EIMD), \
                               .kind = FIELD_NUMBER, .hex = true, .deprecated = true }, \
        }
/* clang-format on */
/* clang-format off */
#define EVENT_ADDR_TABLE(L)                                                    \
        {                                                                      \
                [L##_MA] = { .name = "ma", .title = "Message Address", FIELD_AT(L, MA), .kind = FIELD_ADDRESS }, \
        }
/* clang-format on */
/* clang-format off */
#define EVENT_UADDR_TABLE(L)                                                   \
        {                                                                      \
                [L##_MUA] = { .name = "mua", .title = "Message Upper Address", FIELD_AT(L, MUA), \
                              .kind = FIELD_NUMBER, .hex = true },             \
        }
/* clang-format on */

static const field_desc fectl_fields[] = EVENT_CTL_TABLE(FECTL);
static const field_desc fedata_fields[] = EVENT_DATA_TABLE(FEDATA);
static const field_desc feaddr_fields[] = EVENT_ADDR_TABLE(FEADDR);
static const field_desc feuaddr_fields[] = EVENT_UADDR_TABLE(FEUADDR);
REGISTER_LAYOUT(fectl, FECTL, FECTL_FIELDS, "Fault Event Control Register", 32, LAYOUT_BASE_FIXED,
                REG_FECTL);
REGISTER_LAYOUT(fedata, FEDATA, FEDATA_FIELDS, "Fault Event Data Register", 32, LAYOUT_BASE_FIXED,
                REG_FEDATA);
REGISTER_LAYOUT(feaddr, FEADDR, FEADDR_FIELDS, "Fault Event Address Register", 32, LAYOUT_BASE_FIXED,
                REG_FEADDR);
REGISTER_LAYOUT(feuaddr, FEUADDR, FEUADDR_FIELDS, "Fault Event Upper Address Register", 32,
                LAYOUT_BASE_FIXED, REG_FEUADDR);

/* ---- AFLOG, protected memory ---- */

/* clang-format off */
static const field_desc aflog_fields[] = {
        [AFLOG_FLS] = { .name = "fls", .title = "Fault Log Size", FIELD_AT(AFLOG, FLS),
                        .kind = FIELD_NUMBER, .derived = "pages", .pow2 = true, .unit = "pages" },
        [AFLOG_FLA] = { .name = "fla", .title = "Fault Log Address", FIELD_AT(AFLOG, FLA), .kind = FIELD_ADDRESS },
};
/* clang-format on */
REGISTER_LAYOUT(aflog, AFLOG, AFLOG_FIELDS, "Advanced Fault Log Register", 64, LAYOUT_BASE_FIXED, REG_AFLOG,
                REQUIRES_CAP(AFL));

/* clang-format off */
static const field_desc pmen_fields[] = {
        [PMEN_PRS] = { .name = "prs", .title = "Protected Region Status", FIELD_AT(PMEN, PRS), .kind = FIELD_FLAG },
        [PMEN_EPM] = { .name = "epm", .title = "Enable Protected Memory", FIELD_AT(PMEN, EPM), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(pmen, PMEN, PMEN_FIELDS, "Protected Memory Enable Register", 32, LAYOUT_BASE_FIXED, REG_PMEN,
                .requires = { .cap = FIELD_MASK64(CAP, PLMR) | FIELD_MASK64(CAP, PHMR) });

/* clang-format off */
static const field_desc plmbase_fields[] = {
        [PLMBASE_PLMB] = { .name = "plmb", .title = "Protected Low-Memory Base", FIELD_AT(PLMBASE, PLMB),
                           .kind = FIELD_ADDRESS },
};
/* clang-format on */
REGISTER_LAYOUT(plmbase, PLMBASE, PLMBASE_FIELDS, "Protected Low-Memory Base Register", 32,
                LAYOUT_BASE_FIXED, REG_PLMBASE, REQUIRES_CAP(PLMR));

/* clang-format off */
static const field_desc plmlimit_fields[] = {
        [PLMLIMIT_PLML] = { .name = "plml", .title = "Protected Low-Memory Limit", FIELD_AT(PLMLIMIT, PLML),
                            .kind = FIELD_ADDRESS },
};
/* clang-format on */
REGISTER_LAYOUT(plmlimit, PLMLIMIT, PLMLIMIT_FIELDS, "Protected Low-Memory Limit Register", 32,
                LAYOUT_BASE_FIXED, REG_PLMLIMIT, REQUIRES_CAP(PLMR));

/* clang-format off */
static const field_desc phmbase_fields[] = {
        [PHMBASE_PHMB] = { .name = "phmb", .title = "Protected High-Memory Base", FIELD_AT(PHMBASE, PHMB),
                           .kind = FIELD_ADDRESS },
};
/* clang-format on */
REGISTER_LAYOUT(phmbase, PHMBASE, PHMBASE_FIELDS, "Protected High-Memory Base Register", 64,
                LAYOUT_BASE_FIXED, REG_PHMBASE, REQUIRES_CAP(PHMR));

/* clang-format off */
static const field_desc phmlimit_fields[] = {
        [PHMLIMIT_PHML] = { .name = "phml", .title = "Protected High-Memory Limit", FIELD_AT(PHMLIMIT, PHML),
                            .kind = FIELD_ADDRESS },
};
/* clang-format on */
REGISTER_LAYOUT(phmlimit, PHMLIMIT, PHMLIMIT_FIELDS, "Protected High-Memory Limit Register", 64,
                LAYOUT_BASE_FIXED, REG_PHMLIMIT, REQUIRES_CAP(PHMR));

/* ---- Invalidation queue ---- */

/* clang-format off */
static const field_desc iqh_fields[] = {
        [IQH_QH] = { .name = "qh", .title = "Queue Head", FIELD_AT(IQH, QH), .kind = FIELD_NUMBER,
                     .derived = "offset", .mul = 16, .hex = true },
};
/* clang-format on */
REGISTER_LAYOUT(iqh, IQH, IQH_FIELDS, "Invalidation Queue Head Register", 64, LAYOUT_BASE_FIXED, REG_IQH,
                REQUIRES_ECAP(QI));

/* clang-format off */
static const field_desc iqt_fields[] = {
        [IQT_QT] = { .name = "qt", .title = "Queue Tail", FIELD_AT(IQT, QT), .kind = FIELD_NUMBER,
                     .derived = "offset", .mul = 16, .hex = true },
};
/* clang-format on */
REGISTER_LAYOUT(iqt, IQT, IQT_FIELDS, "Invalidation Queue Tail Register", 64, LAYOUT_BASE_FIXED, REG_IQT,
                REQUIRES_ECAP(QI));

static const value_name dw_values[] = {
        [0] = { .name = "128-bit descriptors" },
        [1] = { .name = "256-bit descriptors" },
};

/* The queue holds 2^QS 4-KiB pages: 256 << QS descriptors of 128 bits, or
 * 128 << QS of 256 bits (DW).  The page count does not depend on DW. */
/* clang-format off */
static const field_desc iqa_fields[] = {
        [IQA_QS] = { .name = "qs", .title = "Queue Size", FIELD_AT(IQA, QS), .kind = FIELD_NUMBER,
                     .derived = "pages", .pow2 = true, .unit = "pages" },
        [IQA_DW] = { .name = "dw", .title = "Descriptor Width", FIELD_AT(IQA, DW), .kind = FIELD_FLAG,
                     VALUES(dw_values) },
        [IQA_IQA] = { .name = "iqa", .title = "Invalidation Queue Base Address", FIELD_AT(IQA, IQA),
                      .kind = FIELD_ADDRESS },
};
/* clang-format on */
REGISTER_LAYOUT(iqa, IQA, IQA_FIELDS, "Invalidation Queue Address Register", 64, LAYOUT_BASE_FIXED, REG_IQA,
                REQUIRES_ECAP(QI));

/* clang-format off */
static const field_desc ics_fields[] = {
        [ICS_IWC] = { .name = "iwc", .title = "Invalidation Wait Descriptor Complete", FIELD_AT(ICS, IWC),
                      .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(ics, ICS, ICS_FIELDS, "Invalidation Completion Status Register", 32, LAYOUT_BASE_FIXED,
                REG_ICS, REQUIRES_ECAP(QI));

static const field_desc iectl_fields[] = EVENT_CTL_TABLE(IECTL);
static const field_desc iedata_fields[] = EVENT_DATA_TABLE(IEDATA);
static const field_desc ieaddr_fields[] = EVENT_ADDR_TABLE(IEADDR);
static const field_desc ieuaddr_fields[] = EVENT_UADDR_TABLE(IEUADDR);
REGISTER_LAYOUT(iectl, IECTL, IECTL_FIELDS, "Invalidation Event Control Register", 32, LAYOUT_BASE_FIXED,
                REG_IECTL, REQUIRES_ECAP(QI));
REGISTER_LAYOUT(iedata, IEDATA, IEDATA_FIELDS, "Invalidation Event Data Register", 32, LAYOUT_BASE_FIXED,
                REG_IEDATA, REQUIRES_ECAP(QI));
REGISTER_LAYOUT(ieaddr, IEADDR, IEADDR_FIELDS, "Invalidation Event Address Register", 32, LAYOUT_BASE_FIXED,
                REG_IEADDR, REQUIRES_ECAP(QI));
REGISTER_LAYOUT(ieuaddr, IEUADDR, IEUADDR_FIELDS, "Invalidation Event Upper Address Register", 32,
                LAYOUT_BASE_FIXED, REG_IEUADDR, REQUIRES_ECAP(QI));

static const value_name iqei_values[] = {
        [0] = { .name = "no information" },
        [1] = { .name = "invalid queue tail" },
        [2] = { .name = "error fetching a descriptor" },
        [3] = { .name = "invalid descriptor type" },
        [4] = { .name = "reserved field set in a descriptor" },
        [5] = { .name = "invalid descriptor width" },
        [6] = { .name = "queue tail misaligned for 256-bit descriptors" },
        [7] = { .name = "descriptor type invalid for the translation table mode" },
};

/* clang-format off */
static const field_desc iqercd_fields[] = {
        [IQERCD_IQEI] = { .name = "iqei", .title = "Invalidation Queue Error Info", FIELD_AT(IQERCD, IQEI),
                          .kind = FIELD_ENUM, VALUES(iqei_values) },
        [IQERCD_ITESID] = { .name = "itesid", .title = "Invalidation Time-out Error Source Identifier",
                            FIELD_AT(IQERCD, ITESID), .kind = FIELD_NUMBER, .hex = true },
        [IQERCD_ICESID] = { .name = "icesid", .title = "Invalidation Completion Error Source Identifier",
                            FIELD_AT(IQERCD, ICESID), .kind = FIELD_NUMBER, .hex = true },
};
/* clang-format on */
REGISTER_LAYOUT(iqercd, IQERCD, IQERCD_FIELDS, "Invalidation Queue Error Record Register", 64,
                LAYOUT_BASE_FIXED, REG_IQERCD, REQUIRES_ECAP(QI));

/* ---- Interrupt remapping table ---- */

static const value_name eime_values[] = {
        [0] = { .name = "xAPIC mode (8-bit APIC IDs)" },
        [1] = { .name = "x2APIC mode (32-bit APIC IDs)" },
};

/* clang-format off */
static const field_desc irta_fields[] = {
        [IRTA_S] = { .name = "s", .title = "Size", FIELD_AT(IRTA, S), .kind = FIELD_NUMBER,
                     .derived = "entries", .add = 1, .pow2 = true, .unit = "entries" },
        [IRTA_EIME] = { .name = "eime", .title = "Extended Interrupt Mode Enable", FIELD_AT(IRTA, EIME),
                        .kind = FIELD_FLAG, VALUES(eime_values) },
        [IRTA_IRTA] = { .name = "irta", .title = "Interrupt Remapping Table Address", FIELD_AT(IRTA, IRTA),
                        .kind = FIELD_ADDRESS },
};
/* clang-format on */
REGISTER_LAYOUT(irta, IRTA, IRTA_FIELDS, "Interrupt Remapping Table Address Register", 64, LAYOUT_BASE_FIXED,
                REG_IRTA, REQUIRES_ECAP(IR));

/* ---- Page request queue ---- */

/* clang-format off */
static const field_desc pqh_fields[] = {
        [PQH_PQH] = { .name = "pqh", .title = "Page Queue Head", FIELD_AT(PQH, PQH), .kind = FIELD_NUMBER,
                      .derived = "offset", .mul = 32, .hex = true },
};
/* clang-format on */
REGISTER_LAYOUT(pqh, PQH, PQH_FIELDS, "Page Request Queue Head Register", 64, LAYOUT_BASE_FIXED, REG_PQH,
                REQUIRES_ECAP(PRS));

/* clang-format off */
static const field_desc pqt_fields[] = {
        [PQT_PQT] = { .name = "pqt", .title = "Page Queue Tail", FIELD_AT(PQT, PQT), .kind = FIELD_NUMBER,
                      .derived = "offset", .mul = 32, .hex = true },
};
/* clang-format on */
REGISTER_LAYOUT(pqt, PQT, PQT_FIELDS, "Page Request Queue Tail Register", 64, LAYOUT_BASE_FIXED, REG_PQT,
                REQUIRES_ECAP(PRS));

/* 2^PQS 4-KiB pages of 32-byte page requests: 128 << PQS entries. */
/* clang-format off */
static const field_desc pqa_fields[] = {
        [PQA_PQS] = { .name = "pqs", .title = "Page Queue Size", FIELD_AT(PQA, PQS), .kind = FIELD_NUMBER,
                      .derived = "entries", .add = 7, .pow2 = true, .unit = "entries" },
        [PQA_PQA] = { .name = "pqa", .title = "Page Request Queue Base Address", FIELD_AT(PQA, PQA),
                      .kind = FIELD_ADDRESS },
};
/* clang-format on */
REGISTER_LAYOUT(pqa, PQA, PQA_FIELDS, "Page Request Queue Address Register", 64, LAYOUT_BASE_FIXED, REG_PQA,
                REQUIRES_ECAP(PRS));

/* clang-format off */
static const field_desc prs_fields[] = {
        [PRS_PPR] = { .name = "ppr", .title = "Pending Page Request", FIELD_AT(PRS, PPR), .kind = FIELD_FLAG },
        [PRS_PRO] = { .name = "pro", .title = "Page Request Overflow", FIELD_AT(PRS, PRO), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(prs, PRS, PRS_FIELDS, "Page Request Status Register", 32, LAYOUT_BASE_FIXED, REG_PRS,
                REQUIRES_ECAP(PRS));

static const field_desc pectl_fields[] = EVENT_CTL_TABLE(PECTL);
static const field_desc pedata_fields[] = EVENT_DATA_TABLE(PEDATA);
static const field_desc peaddr_fields[] = EVENT_ADDR_TABLE(PEADDR);
static const field_desc peuaddr_fields[] = EVENT_UADDR_TABLE(PEUADDR);
REGISTER_LAYOUT(pectl, PECTL, PECTL_FIELDS, "Page Request Event Control Register", 32, LAYOUT_BASE_FIXED,
                REG_PECTL, REQUIRES_ECAP(PRS));
REGISTER_LAYOUT(pedata, PEDATA, PEDATA_FIELDS, "Page Request Event Data Register", 32, LAYOUT_BASE_FIXED,
                REG_PEDATA, REQUIRES_ECAP(PRS));
REGISTER_LAYOUT(peaddr, PEADDR, PEADDR_FIELDS, "Page Request Event Address Register", 32, LAYOUT_BASE_FIXED,
                REG_PEADDR, REQUIRES_ECAP(PRS));
REGISTER_LAYOUT(peuaddr, PEUADDR, PEUADDR_FIELDS, "Page Request Event Upper Address Register", 32,
                LAYOUT_BASE_FIXED, REG_PEUADDR, REQUIRES_ECAP(PRS));

/* ---- MTRRs ---- */

/* clang-format off */
static const field_desc mtrrcap_fields[] = {
        [MTRRCAP_VCNT] = { .name = "vcnt", .title = "Variable MTRR Count", FIELD_AT(MTRRCAP, VCNT),
                           .kind = FIELD_NUMBER },
        [MTRRCAP_FIX] = { .name = "fix", .title = "Fixed Range MTRRs Supported", FIELD_AT(MTRRCAP, FIX),
                          .kind = FIELD_FLAG },
        [MTRRCAP_WC] = { .name = "wc", .title = "Write Combining", FIELD_AT(MTRRCAP, WC), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(mtrrcap, MTRRCAP, MTRRCAP_FIELDS, "MTRR Capability Register", 64, LAYOUT_BASE_FIXED,
                REG_MTRRCAP, REQUIRES_ECAP(MTS));

/* clang-format off */
static const field_desc mtrrdef_fields[] = {
        [MTRRDEF_TYPE] = { .name = "type", .title = "Default Memory Type", FIELD_AT(MTRRDEF, TYPE),
                           .kind = FIELD_ENUM, VALUES(memory_type_values) },
        [MTRRDEF_FE] = { .name = "fe", .title = "Fixed Range MTRR Enable", FIELD_AT(MTRRDEF, FE),
                         .kind = FIELD_FLAG },
        [MTRRDEF_E] = { .name = "e", .title = "MTRR Enable", FIELD_AT(MTRRDEF, E), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(mtrrdef, MTRRDEF, MTRRDEF_FIELDS, "MTRR Default Type Register", 64, LAYOUT_BASE_FIXED,
                REG_MTRRDEF, REQUIRES_ECAP(MTS));

#define MTRR_FIX_ROW(n)                                              \
        [MTRR_FIX_R##n] = { .name = "r" #n,                          \
                            .title = "Memory Type of Sub-range " #n, \
                            FIELD_AT(MTRR_FIX, R##n),                \
                            .kind = FIELD_ENUM,                      \
                            VALUES(memory_type_values) }
/* clang-format off */
static const field_desc mtrr_fix_fields[] = {
        MTRR_FIX_ROW(0), MTRR_FIX_ROW(1), MTRR_FIX_ROW(2), MTRR_FIX_ROW(3),
        MTRR_FIX_ROW(4), MTRR_FIX_ROW(5), MTRR_FIX_ROW(6), MTRR_FIX_ROW(7),
};
/* clang-format on */
static_assert(ELEMENTSOF(mtrr_fix_fields) == _MTRR_FIX_FIELD_MAX, "mtrr_fix_fields");
static DEFINE_LAYOUT_CHECK(mtrr_fix, MTRR_FIX, MTRR_FIX_FIELDS);

/* clang-format off */
#define MTRR_FIX_LAYOUT(lname, REG, ltitle)                                    \
        const layout layout_##lname = {                                        \
                .name = #lname, .title = (ltitle), .kind = LAYOUT_REGISTER, .width = 64, \
                .base = LAYOUT_BASE_FIXED, .offset = (REG), .fields = mtrr_fix_fields, \
                .n_fields = ELEMENTSOF(mtrr_fix_fields), .check = mtrr_fix_check, \
                REQUIRES_ECAP(MTS),                                            \
        }
/* clang-format on */
MTRR_FIX_LAYOUT(mtrr_fix64k_00000, REG_MTRR_FIX64K_00000, "Fixed-range MTRR, 8 x 64 KiB from 00000h");
MTRR_FIX_LAYOUT(mtrr_fix16k_80000, REG_MTRR_FIX16K_80000, "Fixed-range MTRR, 8 x 16 KiB from 80000h");
MTRR_FIX_LAYOUT(mtrr_fix16k_a0000, REG_MTRR_FIX16K_A0000, "Fixed-range MTRR, 8 x 16 KiB from A0000h");
MTRR_FIX_LAYOUT(mtrr_fix4k_c0000, REG_MTRR_FIX4K_C0000, "Fixed-range MTRR, 8 x 4 KiB from C0000h");
MTRR_FIX_LAYOUT(mtrr_fix4k_c8000, REG_MTRR_FIX4K_C8000, "Fixed-range MTRR, 8 x 4 KiB from C8000h");
MTRR_FIX_LAYOUT(mtrr_fix4k_d0000, REG_MTRR_FIX4K_D0000, "Fixed-range MTRR, 8 x 4 KiB from D0000h");
MTRR_FIX_LAYOUT(mtrr_fix4k_d8000, REG_MTRR_FIX4K_D8000, "Fixed-range MTRR, 8 x 4 KiB from D8000h");
MTRR_FIX_LAYOUT(mtrr_fix4k_e0000, REG_MTRR_FIX4K_E0000, "Fixed-range MTRR, 8 x 4 KiB from E0000h");
MTRR_FIX_LAYOUT(mtrr_fix4k_e8000, REG_MTRR_FIX4K_E8000, "Fixed-range MTRR, 8 x 4 KiB from E8000h");
MTRR_FIX_LAYOUT(mtrr_fix4k_f0000, REG_MTRR_FIX4K_F0000, "Fixed-range MTRR, 8 x 4 KiB from F0000h");
MTRR_FIX_LAYOUT(mtrr_fix4k_f8000, REG_MTRR_FIX4K_F8000, "Fixed-range MTRR, 8 x 4 KiB from F8000h");

/* Bits above the host address width are reserved; the fields are described
 * to bit 63 so that any width decodes. */
/* clang-format off */
static const field_desc mtrr_physbase_fields[] = {
        [MTRR_PHYSBASE_TYPE] = { .name = "type", .title = "Memory Type", FIELD_AT(MTRR_PHYSBASE, TYPE),
                                 .kind = FIELD_ENUM, VALUES(memory_type_values) },
        [MTRR_PHYSBASE_PHYSBASE] = { .name = "physbase", .title = "Physical Base", FIELD_AT(MTRR_PHYSBASE, PHYSBASE),
                                     .kind = FIELD_ADDRESS },
};
/* clang-format on */
static_assert(ELEMENTSOF(mtrr_physbase_fields) == _MTRR_PHYSBASE_FIELD_MAX, "mtrr_physbase_fields");
static DEFINE_LAYOUT_CHECK(mtrr_physbase, MTRR_PHYSBASE, MTRR_PHYSBASE_FIELDS);

/* clang-format off */
static const field_desc mtrr_physmask_fields[] = {
        [MTRR_PHYSMASK_V] = { .name = "v", .title = "Valid", FIELD_AT(MTRR_PHYSMASK, V), .kind = FIELD_FLAG },
        [MTRR_PHYSMASK_PHYSMASK] = { .name = "physmask", .title = "Physical Mask", FIELD_AT(MTRR_PHYSMASK, PHYSMASK),
                                     .kind = FIELD_ADDRESS },
};
/* clang-format on */
static_assert(ELEMENTSOF(mtrr_physmask_fields) == _MTRR_PHYSMASK_FIELD_MAX, "mtrr_physmask_fields");
static DEFINE_LAYOUT_CHECK(mtrr_physmask, MTRR_PHYSMASK, MTRR_PHYSMASK_FIELDS);

/* clang-format off */
#define MTRR_VAR_LAYOUT(which, REG0, ltitle, n)                                 \
        [n] = {                                                                \
                .name = "mtrr_phys" #which #n, .title = ltitle " " #n, .kind = LAYOUT_REGISTER, \
                .width = 64, .base = LAYOUT_BASE_FIXED, .offset = (REG0) + (n) * MTRR_PHYS_STRIDE, \
                .fields = mtrr_phys##which##_fields, .n_fields = ELEMENTSOF(mtrr_phys##which##_fields), \
                .check = mtrr_phys##which##_check, REQUIRES_ECAP(MTS),          \
        }
/* clang-format on */
#define MTRR_VAR_LAYOUTS(which, REG0, ltitle)                                                             \
        {                                                                                                 \
                MTRR_VAR_LAYOUT(which, REG0, ltitle, 0), MTRR_VAR_LAYOUT(which, REG0, ltitle, 1),         \
                        MTRR_VAR_LAYOUT(which, REG0, ltitle, 2), MTRR_VAR_LAYOUT(which, REG0, ltitle, 3), \
                        MTRR_VAR_LAYOUT(which, REG0, ltitle, 4), MTRR_VAR_LAYOUT(which, REG0, ltitle, 5), \
                        MTRR_VAR_LAYOUT(which, REG0, ltitle, 6), MTRR_VAR_LAYOUT(which, REG0, ltitle, 7), \
                        MTRR_VAR_LAYOUT(which, REG0, ltitle, 8), MTRR_VAR_LAYOUT(which, REG0, ltitle, 9), \
        }
const layout layout_mtrr_physbase[10] =
        MTRR_VAR_LAYOUTS(base, REG_MTRR_PHYSBASE0, "Variable-range MTRR Physical Base Register");
const layout layout_mtrr_physmask[10] =
        MTRR_VAR_LAYOUTS(mask, REG_MTRR_PHYSMASK0, "Variable-range MTRR Physical Mask Register");

/* ---- Performance monitoring ---- */

/*
 * Field positions from the Linux perfmon driver (pcap_* and pKVM's PERFCAP
 * checks).  CW, GFS, IOS, PCC and CS are the names Linux uses; NUMCNTR,
 * EGCNT and FILTERS are descriptive: the specification's mnemonics for
 * those three were not available to check.
 */
static const value_name perf_filter_values[] = {
        [0] = { .name = "requester ID" }, [1] = { .name = "domain" },           [2] = { .name = "PASID" },
        [3] = { .name = "address type" }, [4] = { .name = "page table level" },
};

/* clang-format off */
static const field_desc perfcap_fields[] = {
        [PERFCAP_NUMCNTR] = { .name = "numcntr", .title = "Number of Counters", FIELD_AT(PERFCAP, NUMCNTR),
                              .kind = FIELD_NUMBER },
        [PERFCAP_CW] = { .name = "cw", .title = "Counter Width", FIELD_AT(PERFCAP, CW), .kind = FIELD_NUMBER,
                         .unit = "bits" },
        [PERFCAP_EGCNT] = { .name = "egcnt", .title = "Number of Event Groups", FIELD_AT(PERFCAP, EGCNT),
                            .kind = FIELD_NUMBER },
        [PERFCAP_FILTERS] = { .name = "filters", .title = "Filters Supported", FIELD_AT(PERFCAP, FILTERS),
                              .kind = FIELD_BITMAP, VALUES(perf_filter_values) },
        [PERFCAP_GFS] = { .name = "gfs", .title = "Global Freeze Support", FIELD_AT(PERFCAP, GFS),
                          .kind = FIELD_FLAG },
        [PERFCAP_IOS] = { .name = "ios", .title = "Interrupt on Overflow Support", FIELD_AT(PERFCAP, IOS),
                          .kind = FIELD_FLAG },
        [PERFCAP_PCC] = { .name = "pcc", .title = "Per-Counter Capabilities", FIELD_AT(PERFCAP, PCC),
                          .kind = FIELD_FLAG },
        [PERFCAP_CS] = { .name = "cs", .title = "Counter Stride", FIELD_AT(PERFCAP, CS), .kind = FIELD_NUMBER,
                         .derived = "stride", .add = 10, .pow2 = true, .unit = "bytes", .hex = true },
};
/* clang-format on */
REGISTER_LAYOUT(perfcap, PERFCAP, PERFCAP_FIELDS, "Perfmon Capability Register", 64, LAYOUT_BASE_FIXED,
                REG_PERFCAP, REQUIRES_ECAP(PMS));

/* clang-format off */
static const field_desc perfoff_fields[] = {
        [PERFOFF_OFF] = { .name = "off", .title = "Offset from the register base", FIELD_AT(PERFOFF, OFF),
                          .kind = FIELD_NUMBER, .hex = true },
};
/* clang-format on */
static_assert(ELEMENTSOF(perfoff_fields) == _PERFOFF_FIELD_MAX, "perfoff_fields");
static DEFINE_LAYOUT_CHECK(perfoff, PERFOFF, PERFOFF_FIELDS);

/* clang-format off */
#define PERFOFF_LAYOUT(lname, REG, ltitle)                                     \
        const layout layout_##lname = {                                        \
                .name = #lname, .title = (ltitle), .kind = LAYOUT_REGISTER, .width = 32, \
                .base = LAYOUT_BASE_FIXED, .offset = (REG), .fields = perfoff_fields, \
                .n_fields = ELEMENTSOF(perfoff_fields), .check = perfoff_check, \
                REQUIRES_ECAP(PMS),                                            \
        }
/* clang-format on */
PERFOFF_LAYOUT(perfcfgoff, REG_PERFCFGOFF, "Perfmon Counter Configuration Offset Register");
PERFOFF_LAYOUT(perffrzoff, REG_PERFFRZOFF, "Perfmon Freeze Status Offset Register");
PERFOFF_LAYOUT(perfovfoff, REG_PERFOVFOFF, "Perfmon Overflow Status Offset Register");
PERFOFF_LAYOUT(perfcntroff, REG_PERFCNTROFF, "Perfmon Counter Offset Register");

/* clang-format off */
static const field_desc perfintrsts_fields[] = {
        [PERFINTRSTS_PIS] = { .name = "pis", .title = "Perfmon Interrupt Status", FIELD_AT(PERFINTRSTS, PIS),
                              .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(perfintrsts, PERFINTRSTS, PERFINTRSTS_FIELDS, "Perfmon Interrupt Status Register", 32,
                LAYOUT_BASE_FIXED, REG_PERFINTRSTS, REQUIRES_ECAP(PMS));

/* Linux masks it with FECTL's IM bit: the same control layout. */
static const field_desc perfintrctl_fields[] = EVENT_CTL_TABLE(PERFINTRCTL);
REGISTER_LAYOUT(perfintrctl, PERFINTRCTL, PERFINTRCTL_FIELDS, "Perfmon Interrupt Control Register", 32,
                LAYOUT_BASE_FIXED, REG_PERFINTRCTL, REQUIRES_ECAP(PMS));

/* clang-format off */
static const field_desc perfevntcap_fields[] = {
        [PERFEVNTCAP_ES] = { .name = "es", .title = "Event Select (supported events)", FIELD_AT(PERFEVNTCAP, ES),
                             .kind = FIELD_NUMBER, .hex = true },
};
/* clang-format on */
REGISTER_LAYOUT(perfevntcap, PERFEVNTCAP, PERFEVNTCAP_FIELDS, "Perfmon Event Capability Register (group 0)",
                64, LAYOUT_BASE_FIXED, REG_PERFEVNTCAP, REQUIRES_ECAP(PMS));

/* ---- Enhanced commands ---- */

static const value_name ecmd_values[] = {
        [ECMD_ENABLE_COUNTERS] = { .name = "enable counters" },
        [ECMD_DISABLE_COUNTERS] = { .name = "disable counters" },
        [ECMD_FREEZE_COUNTERS] = { .name = "freeze counters" },
        [ECMD_UNFREEZE_COUNTERS] = { .name = "unfreeze counters" },
};

/* clang-format off */
static const field_desc ecmd_fields[] = {
        [ECMD_CMD] = { .name = "cmd", .title = "Command", FIELD_AT(ECMD, CMD), .kind = FIELD_ENUM,
                       VALUES(ecmd_values) },
        [ECMD_OA] = { .name = "oa", .title = "Operand A", FIELD_AT(ECMD, OA), .kind = FIELD_NUMBER, .hex = true },
};
/* clang-format on */
REGISTER_LAYOUT(ecmd, ECMD, ECMD_FIELDS, "Enhanced Command Register", 64, LAYOUT_BASE_FIXED, REG_ECMD,
                REQUIRES_CAP(ECMDS));

/* clang-format off */
static const field_desc eceo_fields[] = {
        [ECEO_OB] = { .name = "ob", .title = "Operand B", FIELD_AT(ECEO, OB), .kind = FIELD_NUMBER, .hex = true },
};
/* clang-format on */
REGISTER_LAYOUT(eceo, ECEO, ECEO_FIELDS, "Enhanced Command Extended Operand Register", 64, LAYOUT_BASE_FIXED,
                REG_ECEO, REQUIRES_CAP(ECMDS));

/* clang-format off */
static const field_desc ecrsp_fields[] = {
        [ECRSP_IP] = { .name = "ip", .title = "In Progress", FIELD_AT(ECRSP, IP), .kind = FIELD_FLAG },
        [ECRSP_SC] = { .name = "sc", .title = "Status Code", FIELD_AT(ECRSP, SC), .kind = FIELD_NUMBER },
};
/* clang-format on */
REGISTER_LAYOUT(ecrsp, ECRSP, ECRSP_FIELDS, "Enhanced Command Response Register", 64, LAYOUT_BASE_FIXED,
                REG_ECRSP, REQUIRES_CAP(ECMDS));

/* clang-format off */
static const field_desc eccap_fields[] = {
        [ECCAP_CMDS] = { .name = "cmds", .title = "Enhanced Commands Supported", FIELD_AT(ECCAP, CMDS),
                         .kind = FIELD_NUMBER, .hex = true },
};
/* clang-format on */
static_assert(ELEMENTSOF(eccap_fields) == _ECCAP_FIELD_MAX, "eccap_fields");
static DEFINE_LAYOUT_CHECK(eccap, ECCAP, ECCAP_FIELDS);

/* clang-format off */
#define ECCAP_LAYOUT(n)                                                        \
        const layout layout_eccap##n = {                                       \
                .name = "eccap" #n, .title = "Enhanced Command Capability Register " #n, \
                .kind = LAYOUT_REGISTER, .width = 64, .base = LAYOUT_BASE_FIXED, \
                .offset = REG_ECCAP0 + (n) * ECCAP_STRIDE, .fields = eccap_fields, \
                .n_fields = ELEMENTSOF(eccap_fields), .check = eccap_check,    \
                REQUIRES_CAP(ECMDS),                                           \
        }
/* clang-format on */
ECCAP_LAYOUT(0);
ECCAP_LAYOUT(1);
ECCAP_LAYOUT(2);

/* clang-format off */
static const field_desc eccap3_fields[] = {
        [ECCAP3_ECNTS] = { .name = "ecnts", .title = "Enable Counters Supported", FIELD_AT(ECCAP3, ECNTS),
                           .kind = FIELD_FLAG },
        [ECCAP3_DCNTS] = { .name = "dcnts", .title = "Disable Counters Supported", FIELD_AT(ECCAP3, DCNTS),
                           .kind = FIELD_FLAG },
        [ECCAP3_FCNTS] = { .name = "fcnts", .title = "Freeze Counters Supported", FIELD_AT(ECCAP3, FCNTS),
                           .kind = FIELD_FLAG },
        [ECCAP3_UFCNTS] = { .name = "ufcnts", .title = "Unfreeze Counters Supported", FIELD_AT(ECCAP3, UFCNTS),
                            .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(eccap3, ECCAP3, ECCAP3_FIELDS, "Enhanced Command Capability Register 3", 64,
                LAYOUT_BASE_FIXED, REG_ECCAP0 + 3 * ECCAP_STRIDE, REQUIRES_CAP(ECMDS));

/* ---- IOTLB registers, at ECAP.IRO ---- */

/* clang-format off */
static const field_desc iva_fields[] = {
        [IVA_AM] = { .name = "am", .title = "Address Mask", FIELD_AT(IVA, AM), .kind = FIELD_NUMBER,
                     .derived = "pages", .pow2 = true, .unit = "pages" },
        [IVA_IH] = { .name = "ih", .title = "Invalidation Hint", FIELD_AT(IVA, IH), .kind = FIELD_FLAG },
        [IVA_ADDR] = { .name = "addr", .title = "Address", FIELD_AT(IVA, ADDR), .kind = FIELD_ADDRESS },
};
/* clang-format on */
REGISTER_LAYOUT(iva, IVA, IVA_FIELDS, "Invalidate Address Register", 64, LAYOUT_BASE_IRO, IRO_IVA);

/* clang-format off */
static const field_desc iotlb_fields[] = {
        [IOTLB_DID] = { .name = "did", .title = "Domain-ID", FIELD_AT(IOTLB, DID), .kind = FIELD_NUMBER },
        [IOTLB_DW] = { .name = "dw", .title = "Drain Writes", FIELD_AT(IOTLB, DW), .kind = FIELD_FLAG },
        [IOTLB_DR] = { .name = "dr", .title = "Drain Reads", FIELD_AT(IOTLB, DR), .kind = FIELD_FLAG },
        [IOTLB_IAIG] = { .name = "iaig", .title = "IOTLB Actual Invalidation Granularity", FIELD_AT(IOTLB, IAIG),
                         .kind = FIELD_ENUM, VALUES(iotlb_granularity_values) },
        [IOTLB_IIRG] = { .name = "iirg", .title = "IOTLB Invalidation Request Granularity", FIELD_AT(IOTLB, IIRG),
                         .kind = FIELD_ENUM, VALUES(iotlb_granularity_values) },
        [IOTLB_IVT] = { .name = "ivt", .title = "Invalidate IOTLB", FIELD_AT(IOTLB, IVT), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(iotlb, IOTLB, IOTLB_FIELDS, "IOTLB Invalidate Register", 64, LAYOUT_BASE_IRO, IRO_IOTLB);

/* ---- Fault recording, at CAP.FRO ---- */

/*
 * Appendix "Non-Recoverable Fault Reason Encodings".  Legacy and interrupt
 * remapping codes from Linux's dmar.c and QEMU; scalable-mode codes from
 * Linux's dmar.c and VirtualBox's fault-condition table (RTA/SRT/SCT/SPD/SPT/
 * SFS/SSS/SGN groups).  Codes whose condition neither states (0x7d, 0x88,
 * 0x89, 0x91, 0x29) are left out and print as ??N.
 */
static const value_name fault_reason_values[] = {
        [0x00] = { .name = "reserved" },
        [0x01] = { .name = "root entry not present" },
        [0x02] = { .name = "context entry not present" },
        [0x03] = { .name = "invalid context entry programming" },
        [0x04] = { .name = "input address beyond the guest address width" },
        [0x05] = { .name = "write to a page without write permission" },
        [0x06] = { .name = "read from a page without read permission" },
        [0x07] = { .name = "error accessing a second-stage paging entry" },
        [0x08] = { .name = "error accessing the root entry" },
        [0x09] = { .name = "error accessing the context entry" },
        [0x0a] = { .name = "reserved field set in a present root entry" },
        [0x0b] = { .name = "reserved field set in a present context entry" },
        [0x0c] = { .name = "reserved field set in a second-stage paging entry" },
        [0x0d] = { .name = "request type blocked by the context entry's translation type" },
        [0x0e] = { .name = "translated address is not a valid output address" },
        [0x20] = { .name = "reserved field set in an interrupt request" },
        [0x21] = { .name = "interrupt index beyond the remapping table" },
        [0x22] = { .name = "interrupt remapping table entry not present" },
        [0x23] = { .name = "error accessing the interrupt remapping table" },
        [0x24] = { .name = "reserved field set in a present IRTE" },
        [0x25] = { .name = "compatibility-format interrupt blocked" },
        [0x26] = { .name = "interrupt blocked by source-id validation" },
        [0x27] = { .name = "error accessing a posted-interrupt descriptor" },
        [0x28] = { .name = "reserved field set in a posted-interrupt descriptor" },
        [0x30] = { .name = "invalid translation table mode in RTADDR" },
        [0x31] = { .name = "request with PASID in legacy translation mode" },
        [0x32] = { .name = "page request in legacy translation mode" },
        [0x33] = { .name = "request blocked in abort-DMA translation mode" },
        [0x38] = { .name = "error accessing a scalable-mode root entry" },
        [0x39] = { .name = "scalable-mode root entry not present" },
        [0x3a] = { .name = "reserved field set in a scalable-mode root entry" },
        [0x40] = { .name = "error accessing a scalable-mode context entry" },
        [0x41] = { .name = "scalable-mode context entry not present" },
        [0x42] = { .name = "reserved field set in a scalable-mode context entry" },
        [0x43] = { .name = "invalid scalable-mode context entry programming" },
        [0x44] = { .name = "translation request blocked: context entry DTE is 0" },
        [0x45] = { .name = "request with PASID blocked: context entry PASIDE is 0" },
        [0x46] = { .name = "PASID beyond the context entry's PASID directory size" },
        [0x47] = { .name = "page request blocked: context entry PRE is 0" },
        [0x48] = { .name = "invalid RID_PASID in the context entry" },
        [0x50] = { .name = "error accessing a PASID directory entry" },
        [0x51] = { .name = "PASID directory entry not present" },
        [0x52] = { .name = "reserved field set in a PASID directory entry" },
        [0x58] = { .name = "error accessing a PASID table entry" },
        [0x59] = { .name = "PASID table entry not present" },
        [0x5a] = { .name = "reserved field set in a PASID table entry" },
        [0x5b] = { .name = "invalid PASID table entry programming" },
        [0x5c] = { .name = "execute request blocked: PASID entry ERE is 0" },
        [0x5d] = { .name = "supervisor request blocked: PASID entry SRE is 0" },
        [0x70] = { .name = "error accessing a first-stage paging entry" },
        [0x71] = { .name = "first-stage paging entry not present" },
        [0x72] = { .name = "reserved field set in a first-stage paging entry" },
        [0x73] = { .name = "error accessing the first-stage top-level entry" },
        [0x74] = { .name = "nested: first-stage table address beyond the second-stage width" },
        [0x75] = { .name = "nested: second stage denies reading the first-stage top-level entry" },
        [0x76] = { .name = "nested: second stage denies reading a first-stage paging entry" },
        [0x77] = { .name = "nested: second stage denies writing a first-stage paging entry" },
        [0x78] = { .name = "error accessing a second-stage paging entry" },
        [0x79] = { .name = "second-stage paging entry not present" },
        [0x7a] = { .name = "reserved field set in a second-stage paging entry" },
        [0x7b] = { .name = "invalid second-stage page-table pointer" },
        [0x7c] = { .name = "second-stage accessed/dirty update needed under no-snoop" },
        [0x80] = { .name = "non-canonical input address (first stage)" },
        [0x81] = { .name = "user request to a supervisor page (first stage)" },
        [0x82] = { .name = "execute request to a page without execute permission" },
        [0x83] = { .name = "input address beyond the maximum supported width" },
        [0x84] = { .name = "input address beyond the second-stage address width" },
        [0x85] = { .name = "write or AtomicOp to a page without write permission" },
        [0x86] = { .name = "read or AtomicOp from a page without read permission" },
        [0x87] = { .name = "translated address in the interrupt address range" },
        [0x90] = { .name = "first-stage accessed/dirty update needed under no-snoop" },
};

const char *fault_reason_to_string(unsigned reason) {
        if (reason >= ELEMENTSOF(fault_reason_values))
                return NULL;
        return fault_reason_values[reason].name;
}

/* Type bits: (T1, T2) = write (0,0), page request (0,1), read (1,0),
 * AtomicOp (1,1). */
static const value_name t1_values[] = {
        [0] = { .name = "write or page request" },
        [1] = { .name = "read or AtomicOp" },
};
static const value_name t2_values[] = {
        [0] = { .name = "write or read" },
        [1] = { .name = "page request or AtomicOp" },
};
static const value_name at_values[] = {
        [0] = { .name = "untranslated" },
        [1] = { .name = "translation request" },
        [2] = { .name = "translated" },
        [3] = { .name = "reserved" },
};
static const value_name priv_values[] = {
        [0] = { .name = "user" },
        [1] = { .name = "supervisor" },
};

/* clang-format off */
static const field_desc frcd_fields[] = {
        /* For interrupt-remapping faults, bits 63:48 hold the interrupt index. */
        [FRCD_FI] = { .name = "fi", .title = "Fault Info", FIELD_AT(FRCD, FI), .kind = FIELD_ADDRESS },
        [FRCD_SID] = { .name = "sid", .title = "Source Identifier", FIELD_AT(FRCD, SID), .kind = FIELD_NUMBER,
                       .hex = true },
        [FRCD_T2] = { .name = "t2", .title = "Type bit 2", FIELD_AT(FRCD, T2), .kind = FIELD_FLAG,
                      VALUES(t2_values) },
        [FRCD_PRIV] = { .name = "priv", .title = "Privilege Mode Requested", FIELD_AT(FRCD, PRIV),
                        .kind = FIELD_FLAG, VALUES(priv_values) },
        [FRCD_EXE] = { .name = "exe", .title = "Execute Permission Requested", FIELD_AT(FRCD, EXE),
                       .kind = FIELD_FLAG },
        [FRCD_PP] = { .name = "pp", .title = "PASID Present", FIELD_AT(FRCD, PP), .kind = FIELD_FLAG },
        [FRCD_FR] = { .name = "fr", .title = "Fault Reason", FIELD_AT(FRCD, FR), .kind = FIELD_ENUM,
                      VALUES(fault_reason_values) },
        [FRCD_PV] = { .name = "pv", .title = "PASID Value", FIELD_AT(FRCD, PV), .kind = FIELD_NUMBER, .hex = true },
        [FRCD_AT] = { .name = "at", .title = "Address Type", FIELD_AT(FRCD, AT), .kind = FIELD_ENUM,
                      VALUES(at_values) },
        [FRCD_T1] = { .name = "t1", .title = "Type bit 1", FIELD_AT(FRCD, T1), .kind = FIELD_FLAG,
                      VALUES(t1_values) },
        [FRCD_F] = { .name = "f", .title = "Fault", FIELD_AT(FRCD, F), .kind = FIELD_FLAG },
};
/* clang-format on */
REGISTER_LAYOUT(frcd, FRCD, FRCD_FIELDS, "Fault Recording Register", 128, LAYOUT_BASE_FRO, FRO_FRCD);

/* ---- The register map ---- */

const layout *const register_layouts[] = {
        &layout_ver,
        &layout_cap,
        &layout_ecap,
        &layout_gcmd,
        &layout_gsts,
        &layout_rtaddr,
        &layout_ccmd,
        &layout_fsts,
        &layout_fectl,
        &layout_fedata,
        &layout_feaddr,
        &layout_feuaddr,
        &layout_aflog,
        &layout_pmen,
        &layout_plmbase,
        &layout_plmlimit,
        &layout_phmbase,
        &layout_phmlimit,
        &layout_iqh,
        &layout_iqt,
        &layout_iqa,
        &layout_ics,
        &layout_iectl,
        &layout_iedata,
        &layout_ieaddr,
        &layout_ieuaddr,
        &layout_iqercd,
        &layout_irta,
        &layout_pqh,
        &layout_pqt,
        &layout_pqa,
        &layout_prs,
        &layout_pectl,
        &layout_pedata,
        &layout_peaddr,
        &layout_peuaddr,
        &layout_mtrrcap,
        &layout_mtrrdef,
        &layout_mtrr_fix64k_00000,
        &layout_mtrr_fix16k_80000,
        &layout_mtrr_fix16k_a0000,
        &layout_mtrr_fix4k_c0000,
        &layout_mtrr_fix4k_c8000,
        &layout_mtrr_fix4k_d0000,
        &layout_mtrr_fix4k_d8000,
        &layout_mtrr_fix4k_e0000,
        &layout_mtrr_fix4k_e8000,
        &layout_mtrr_fix4k_f0000,
        &layout_mtrr_fix4k_f8000,
        &layout_mtrr_physbase[0],
        &layout_mtrr_physmask[0],
        &layout_mtrr_physbase[1],
        &layout_mtrr_physmask[1],
        &layout_mtrr_physbase[2],
        &layout_mtrr_physmask[2],
        &layout_mtrr_physbase[3],
        &layout_mtrr_physmask[3],
        &layout_mtrr_physbase[4],
        &layout_mtrr_physmask[4],
        &layout_mtrr_physbase[5],
        &layout_mtrr_physmask[5],
        &layout_mtrr_physbase[6],
        &layout_mtrr_physmask[6],
        &layout_mtrr_physbase[7],
        &layout_mtrr_physmask[7],
        &layout_mtrr_physbase[8],
        &layout_mtrr_physmask[8],
        &layout_mtrr_physbase[9],
        &layout_mtrr_physmask[9],
        &layout_perfcap,
        &layout_perfcfgoff,
        &layout_perffrzoff,
        &layout_perfovfoff,
        &layout_perfcntroff,
        &layout_perfintrsts,
        &layout_perfintrctl,
        &layout_perfevntcap,
        &layout_ecmd,
        &layout_eceo,
        &layout_ecrsp,
        &layout_eccap0,
        &layout_eccap1,
        &layout_eccap2,
        &layout_eccap3,
        &layout_iva,
        &layout_iotlb,
        &layout_frcd,
};
const size_t n_register_layouts = ELEMENTSOF(register_layouts);
