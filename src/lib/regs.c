/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "regs.h"

static const char *const rwbf_names[] = { "not required", "required" };

static const field_desc ver_fields[] = {
        [VER_MIN] = { .name = "min", .title = "Minor Version number", FIELD_AT(VER, MIN), .kind = FIELD_NUMBER },
        [VER_MAX] = { .name = "max", .title = "Major Version number", FIELD_AT(VER, MAX), .kind = FIELD_NUMBER },
};
static_assert(ELEMENTSOF(ver_fields) == _VER_FIELD_MAX, "ver_fields");
static DEFINE_LAYOUT_CHECK(ver, VER, VER_FIELDS);

const layout layout_ver = {
        .name = "ver", .title = "Version Register", .kind = LAYOUT_REGISTER,
        .width = 32, .offset = REG_VER,
        .fields = ver_fields, .n_fields = ELEMENTSOF(ver_fields), .check = ver_check,
};

static const char *const sagaw_names[] = {
        [1] = "39-bit (3-level)",
        [2] = "48-bit (4-level)",
        [3] = "57-bit (5-level)",
};
static const uint64_t sagaw_widths[] = { [1] = 39, [2] = 48, [3] = 57 };

static const char *const sllps_names[] = { [0] = "2 MiB", [1] = "1 GiB" };
static const uint64_t sllps_sizes[] = { [0] = UINT64_C(1) << 21, [1] = UINT64_C(1) << 30 };

static const field_desc cap_fields[] = {
        [CAP_ND] = { .name = "nd", .title = "Number of Domains supported", FIELD_AT(CAP, ND),
                     .kind = FIELD_NUMBER, .derived = "domains", .mul = 2, .add = 4, .pow2 = true, .unit = "domains" },
        [CAP_AFL] = { .name = "afl", .title = "Advanced Fault Logging", FIELD_AT(CAP, AFL), .kind = FIELD_FLAG },
        [CAP_RWBF] = { .name = "rwbf", .title = "Required Write-Buffer Flushing", FIELD_AT(CAP, RWBF),
                       .kind = FIELD_FLAG, .names = rwbf_names, .n_names = ELEMENTSOF(rwbf_names) },
        [CAP_PLMR] = { .name = "plmr", .title = "Protected Low-Memory Region", FIELD_AT(CAP, PLMR), .kind = FIELD_FLAG },
        [CAP_PHMR] = { .name = "phmr", .title = "Protected High-Memory Region", FIELD_AT(CAP, PHMR), .kind = FIELD_FLAG },
        [CAP_CM] = { .name = "cm", .title = "Caching Mode", FIELD_AT(CAP, CM), .kind = FIELD_FLAG },
        [CAP_SAGAW] = { .name = "sagaw", .title = "Supported Adjusted Guest Address Widths", FIELD_AT(CAP, SAGAW),
                        .kind = FIELD_BITMAP, .names = sagaw_names, .n_names = ELEMENTSOF(sagaw_names),
                        .bit_values = sagaw_widths, .derived = "address_widths" },
        [CAP_MGAW] = { .name = "mgaw", .title = "Maximum Guest Address Width", FIELD_AT(CAP, MGAW),
                       .kind = FIELD_NUMBER, .derived = "bits", .add = 1, .unit = "bits" },
        [CAP_ZLR] = { .name = "zlr", .title = "Zero Length Read", FIELD_AT(CAP, ZLR), .kind = FIELD_FLAG },
        [CAP_ISOCH] = { .name = "isoch", .title = "Isochrony", FIELD_AT(CAP, ISOCH), .kind = FIELD_FLAG, .deprecated = true },
        [CAP_FRO] = { .name = "fro", .title = "Fault-recording Register Offset", FIELD_AT(CAP, FRO),
                      .kind = FIELD_NUMBER, .derived = "offset", .mul = 16, .hex = true },
        [CAP_SLLPS] = { .name = "sllps", .title = "Second Stage Large Page Support", FIELD_AT(CAP, SLLPS),
                        .kind = FIELD_BITMAP, .names = sllps_names, .n_names = ELEMENTSOF(sllps_names),
                        .bit_values = sllps_sizes, .derived = "page_sizes" },
        [CAP_PSI] = { .name = "psi", .title = "Page Selective Invalidation", FIELD_AT(CAP, PSI), .kind = FIELD_FLAG },
        [CAP_NFR] = { .name = "nfr", .title = "Number of Fault-recording Registers", FIELD_AT(CAP, NFR),
                      .kind = FIELD_NUMBER, .derived = "records", .add = 1, .unit = "records" },
        [CAP_MAMV] = { .name = "mamv", .title = "Maximum Address Mask Value", FIELD_AT(CAP, MAMV),
                       .kind = FIELD_NUMBER, .derived = "max_pages", .pow2 = true, .unit = "pages" },
        [CAP_DWD] = { .name = "dwd", .title = "Write Draining", FIELD_AT(CAP, DWD), .kind = FIELD_FLAG },
        [CAP_DRD] = { .name = "drd", .title = "Read Draining", FIELD_AT(CAP, DRD), .kind = FIELD_FLAG },
        [CAP_FS1GP] = { .name = "fs1gp", .title = "First Stage 1-GByte Page Support", FIELD_AT(CAP, FS1GP), .kind = FIELD_FLAG },
        [CAP_PI] = { .name = "pi", .title = "Posted Interrupts Support", FIELD_AT(CAP, PI), .kind = FIELD_FLAG },
        [CAP_FS5LP] = { .name = "fs5lp", .title = "First Stage 5-level Paging Support", FIELD_AT(CAP, FS5LP), .kind = FIELD_FLAG },
        [CAP_ECMDS] = { .name = "ecmds", .title = "Enhanced Command Support", FIELD_AT(CAP, ECMDS), .kind = FIELD_FLAG },
        [CAP_ESIRTPS] = { .name = "esirtps", .title = "Enhanced Set Interrupt Remap Table Pointer Support",
                          FIELD_AT(CAP, ESIRTPS), .kind = FIELD_FLAG },
        [CAP_ESRTPS] = { .name = "esrtps", .title = "Enhanced Set Root Table Pointer Support",
                         FIELD_AT(CAP, ESRTPS), .kind = FIELD_FLAG },
};
static_assert(ELEMENTSOF(cap_fields) == _CAP_FIELD_MAX, "cap_fields");
static DEFINE_LAYOUT_CHECK(cap, CAP, CAP_FIELDS);

const layout layout_cap = {
        .name = "cap", .title = "Capability Register", .kind = LAYOUT_REGISTER,
        .width = 64, .offset = REG_CAP,
        .fields = cap_fields, .n_fields = ELEMENTSOF(cap_fields), .check = cap_check,
};

static const field_desc ecap_fields[] = {
        [ECAP_C] = { .name = "c", .title = "Page-walk Coherency", FIELD_AT(ECAP, C), .kind = FIELD_FLAG },
        [ECAP_QI] = { .name = "qi", .title = "Queued Invalidation support", FIELD_AT(ECAP, QI), .kind = FIELD_FLAG },
        [ECAP_DT] = { .name = "dt", .title = "Device-TLB support", FIELD_AT(ECAP, DT), .kind = FIELD_FLAG },
        [ECAP_IR] = { .name = "ir", .title = "Interrupt Remapping support", FIELD_AT(ECAP, IR), .kind = FIELD_FLAG },
        [ECAP_EIM] = { .name = "eim", .title = "Extended Interrupt Mode", FIELD_AT(ECAP, EIM), .kind = FIELD_FLAG },
        [ECAP_PT] = { .name = "pt", .title = "Pass Through", FIELD_AT(ECAP, PT), .kind = FIELD_FLAG },
        [ECAP_SC] = { .name = "sc", .title = "Snoop Control", FIELD_AT(ECAP, SC), .kind = FIELD_FLAG },
        [ECAP_IRO] = { .name = "iro", .title = "IOTLB Register Offset", FIELD_AT(ECAP, IRO),
                       .kind = FIELD_NUMBER, .derived = "offset", .mul = 16, .hex = true },
        [ECAP_MHMV] = { .name = "mhmv", .title = "Maximum Handle Mask Value", FIELD_AT(ECAP, MHMV), .kind = FIELD_NUMBER },
        [ECAP_MTS] = { .name = "mts", .title = "Memory Type Support", FIELD_AT(ECAP, MTS), .kind = FIELD_FLAG },
        [ECAP_NEST] = { .name = "nest", .title = "Nested Translation Support", FIELD_AT(ECAP, NEST), .kind = FIELD_FLAG },
        [ECAP_PRS] = { .name = "prs", .title = "Page Request Support", FIELD_AT(ECAP, PRS), .kind = FIELD_FLAG },
        [ECAP_ERS] = { .name = "ers", .title = "Execute Request Support", FIELD_AT(ECAP, ERS), .kind = FIELD_FLAG },
        [ECAP_SRS] = { .name = "srs", .title = "Supervisor Request Support", FIELD_AT(ECAP, SRS), .kind = FIELD_FLAG },
        [ECAP_NWFS] = { .name = "nwfs", .title = "No Write Flag Support", FIELD_AT(ECAP, NWFS), .kind = FIELD_FLAG },
        [ECAP_EAFS] = { .name = "eafs", .title = "Extended Accessed Flag Support", FIELD_AT(ECAP, EAFS), .kind = FIELD_FLAG },
        [ECAP_PSS] = { .name = "pss", .title = "PASID Size Supported", FIELD_AT(ECAP, PSS),
                       .kind = FIELD_NUMBER, .derived = "bits", .add = 1, .unit = "bits" },
        [ECAP_PASID] = { .name = "pasid", .title = "Process Address Space ID Support", FIELD_AT(ECAP, PASID), .kind = FIELD_FLAG },
        [ECAP_DIT] = { .name = "dit", .title = "Device-TLB Invalidation Throttle", FIELD_AT(ECAP, DIT), .kind = FIELD_FLAG },
        [ECAP_PDS] = { .name = "pds", .title = "Page-request Drain Support", FIELD_AT(ECAP, PDS), .kind = FIELD_FLAG },
        [ECAP_SMTS] = { .name = "smts", .title = "Scalable Mode Translation Support", FIELD_AT(ECAP, SMTS), .kind = FIELD_FLAG },
        [ECAP_VCS] = { .name = "vcs", .title = "Virtual Command Support", FIELD_AT(ECAP, VCS), .kind = FIELD_FLAG, .deprecated = true },
        [ECAP_SSADS] = { .name = "ssads", .title = "Second Stage Accessed/Dirty Support", FIELD_AT(ECAP, SSADS), .kind = FIELD_FLAG },
        [ECAP_SSTS] = { .name = "ssts", .title = "Second Stage Translation Support", FIELD_AT(ECAP, SSTS), .kind = FIELD_FLAG },
        [ECAP_FSTS] = { .name = "fsts", .title = "First Stage Translation Support", FIELD_AT(ECAP, FSTS), .kind = FIELD_FLAG },
        [ECAP_SMPWCS] = { .name = "smpwcs", .title = "Scalable-Mode Page-walk Coherency Support", FIELD_AT(ECAP, SMPWCS), .kind = FIELD_FLAG },
        [ECAP_RPS] = { .name = "rps", .title = "RID_PASID Support", FIELD_AT(ECAP, RPS), .kind = FIELD_FLAG },
        [ECAP_PMS] = { .name = "pms", .title = "Performance Monitoring Support", FIELD_AT(ECAP, PMS), .kind = FIELD_FLAG },
};
static_assert(ELEMENTSOF(ecap_fields) == _ECAP_FIELD_MAX, "ecap_fields");
static DEFINE_LAYOUT_CHECK(ecap, ECAP, ECAP_FIELDS);

const layout layout_ecap = {
        .name = "ecap", .title = "Extended Capability Register", .kind = LAYOUT_REGISTER,
        .width = 64, .offset = REG_ECAP,
        .fields = ecap_fields, .n_fields = ELEMENTSOF(ecap_fields), .check = ecap_check,
};

const layout *const register_layouts[] = {
        &layout_ver,
        &layout_cap,
        &layout_ecap,
};
const size_t n_register_layouts = ELEMENTSOF(register_layouts);
