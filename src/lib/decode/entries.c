/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Descriptor tables of the translation-structure entries.  Sources, where
 * they disagree the newest specification wins (noted at the field):
 * Intel VT-d specification rev 4.x / 5.0 chapter 9, the Linux intel-iommu
 * driver (iommu.h, pasid.h), QEMU's intel-iommu model (the one our VM tests
 * run against) and EDK2's Vtd.h.
 */
#include <assert.h>

#include "decode/entries.h"

/* clang-format off */
static const field_desc root_fields[] = {
        [ROOT_P] = { .name = "p", .title = "Present", FIELD_AT(ROOT, P), .kind = FIELD_FLAG },
        [ROOT_CTP] = { .name = "ctp", .title = "Context-table Pointer", FIELD_AT(ROOT, CTP), .kind = FIELD_ADDRESS },
};
/* clang-format on */
static_assert(ELEMENTSOF(root_fields) == _ROOT_FIELD_MAX, "root_fields");
static DEFINE_LAYOUT_CHECK(root, ROOT, ROOT_FIELDS);

const layout layout_root = {
        .name = "root",
        .title = "Root Entry",
        .kind = LAYOUT_ENTRY,
        .width = 128,
        .fields = root_fields,
        .n_fields = ELEMENTSOF(root_fields),
        .check = root_check,
};

/* clang-format off */
static const field_desc sm_root_fields[] = {
        [SM_ROOT_LP] = { .name = "lp", .title = "Lower Present", FIELD_AT(SM_ROOT, LP), .kind = FIELD_FLAG },
        [SM_ROOT_LCTP] = { .name = "lctp", .title = "Lower Context Table Pointer (devfn 0-127)",
                           FIELD_AT(SM_ROOT, LCTP), .kind = FIELD_ADDRESS },
        [SM_ROOT_UP] = { .name = "up", .title = "Upper Present", FIELD_AT(SM_ROOT, UP), .kind = FIELD_FLAG },
        [SM_ROOT_UCTP] = { .name = "uctp", .title = "Upper Context Table Pointer (devfn 128-255)",
                           FIELD_AT(SM_ROOT, UCTP), .kind = FIELD_ADDRESS },
};
/* clang-format on */
static_assert(ELEMENTSOF(sm_root_fields) == _SM_ROOT_FIELD_MAX, "sm_root_fields");
static DEFINE_LAYOUT_CHECK(sm_root, SM_ROOT, SM_ROOT_FIELDS);

const layout layout_sm_root = {
        .name = "sm-root",
        .title = "Scalable-Mode Root Entry",
        .kind = LAYOUT_ENTRY,
        .width = 128,
        .fields = sm_root_fields,
        .n_fields = ELEMENTSOF(sm_root_fields),
        .check = sm_root_check,
};

/* clang-format off */
static const field_desc context_fields[] = {
        [CONTEXT_P] = { .name = "p", .title = "Present", FIELD_AT(CONTEXT, P), .kind = FIELD_FLAG },
        [CONTEXT_FPD] = { .name = "fpd", .title = "Fault Processing Disable", FIELD_AT(CONTEXT, FPD), .kind = FIELD_FLAG },
        [CONTEXT_TT] = { .name = "tt", .title = "Translation Type", FIELD_AT(CONTEXT, TT), .kind = FIELD_ENUM,
                         VALUES(context_tt_values) },
        [CONTEXT_SSPTPTR] = { .name = "ssptptr", .title = "Second Stage Page Translation Pointer (SLPTPTR)",
                              FIELD_AT(CONTEXT, SSPTPTR), .kind = FIELD_ADDRESS },
        [CONTEXT_AW] = { .name = "aw", .title = "Address Width", FIELD_AT(CONTEXT, AW), .kind = FIELD_ENUM,
                         VALUES(address_width_values), .derived = "bits" },
        [CONTEXT_IGN_70_67] = { .name = "ign_70_67", .title = "Ignored", FIELD_AT(CONTEXT, IGN_70_67),
                                .kind = FIELD_NUMBER, .hex = true },
        [CONTEXT_DID] = { .name = "did", .title = "Domain Identifier", FIELD_AT(CONTEXT, DID), .kind = FIELD_NUMBER },
};
/* clang-format on */
static_assert(ELEMENTSOF(context_fields) == _CONTEXT_FIELD_MAX, "context_fields");
static DEFINE_LAYOUT_CHECK(context, CONTEXT, CONTEXT_FIELDS);

const layout layout_context = {
        .name = "context",
        .title = "Context Entry",
        .kind = LAYOUT_ENTRY,
        .width = 128,
        .fields = context_fields,
        .n_fields = ELEMENTSOF(context_fields),
        .check = context_check,
};

/* RID_PRIV: QEMU (RSVD_VAL1 leaves bit 84 alone), VirtualBox and EDK2's
 * ECAP.RPRIVS agree it is bit 84; Linux once set it with RID_PASID, then
 * stopped. */
/* clang-format off */
static const field_desc sm_context_fields[] = {
        [SM_CONTEXT_P] = { .name = "p", .title = "Present", FIELD_AT(SM_CONTEXT, P), .kind = FIELD_FLAG },
        [SM_CONTEXT_FPD] = { .name = "fpd", .title = "Fault Processing Disable", FIELD_AT(SM_CONTEXT, FPD),
                             .kind = FIELD_FLAG },
        [SM_CONTEXT_DTE] = { .name = "dte", .title = "Device-TLB Enable", FIELD_AT(SM_CONTEXT, DTE), .kind = FIELD_FLAG },
        [SM_CONTEXT_PASIDE] = { .name = "paside", .title = "PASID Enable", FIELD_AT(SM_CONTEXT, PASIDE),
                                .kind = FIELD_FLAG },
        [SM_CONTEXT_PRE] = { .name = "pre", .title = "Page Request Enable", FIELD_AT(SM_CONTEXT, PRE), .kind = FIELD_FLAG },
        [SM_CONTEXT_PDTS] = { .name = "pdts", .title = "PASID Directory Size", FIELD_AT(SM_CONTEXT, PDTS),
                              .kind = FIELD_NUMBER, .derived = "entries", .add = 7, .pow2 = true, .unit = "entries" },
        [SM_CONTEXT_PASIDDIRPTR] = { .name = "pasiddirptr", .title = "PASID Directory Pointer",
                                     FIELD_AT(SM_CONTEXT, PASIDDIRPTR), .kind = FIELD_ADDRESS },
        [SM_CONTEXT_RID_PASID] = { .name = "rid_pasid", .title = "PASID for Requests-without-PASID (RID_PASID)",
                                   FIELD_AT(SM_CONTEXT, RID_PASID), .kind = FIELD_NUMBER },
        [SM_CONTEXT_RID_PRIV] = { .name = "rid_priv", .title = "Privilege for Requests-without-PASID (RID_PRIV)",
                                  FIELD_AT(SM_CONTEXT, RID_PRIV), .kind = FIELD_FLAG },
};
/* clang-format on */
static_assert(ELEMENTSOF(sm_context_fields) == _SM_CONTEXT_FIELD_MAX, "sm_context_fields");
static DEFINE_LAYOUT_CHECK(sm_context, SM_CONTEXT, SM_CONTEXT_FIELDS);

const layout layout_sm_context = {
        .name = "sm-context",
        .title = "Scalable-Mode Context Entry",
        .kind = LAYOUT_ENTRY,
        .width = 256,
        .fields = sm_context_fields,
        .n_fields = ELEMENTSOF(sm_context_fields),
        .check = sm_context_check,
};

/* clang-format off */
static const field_desc pasid_dir_fields[] = {
        [PASID_DIR_P] = { .name = "p", .title = "Present", FIELD_AT(PASID_DIR, P), .kind = FIELD_FLAG },
        [PASID_DIR_FPD] = { .name = "fpd", .title = "Fault Processing Disable", FIELD_AT(PASID_DIR, FPD),
                            .kind = FIELD_FLAG },
        [PASID_DIR_SMPTBLPTR] = { .name = "smptblptr", .title = "Scalable-Mode PASID Table Pointer",
                                  FIELD_AT(PASID_DIR, SMPTBLPTR), .kind = FIELD_ADDRESS },
};
/* clang-format on */
static_assert(ELEMENTSOF(pasid_dir_fields) == _PASID_DIR_FIELD_MAX, "pasid_dir_fields");
static DEFINE_LAYOUT_CHECK(pasid_dir, PASID_DIR, PASID_DIR_FIELDS);

const layout layout_pasid_dir = {
        .name = "pasid-dir",
        .title = "Scalable-Mode PASID Directory Entry",
        .kind = LAYOUT_ENTRY,
        .width = 64,
        .fields = pasid_dir_fields,
        .n_fields = ELEMENTSOF(pasid_dir_fields),
        .check = pasid_dir_check,
};

static const value_name fspm_values[] = {
        [FSPM_4_LEVEL] = { .name = "4-level" },
        [FSPM_5_LEVEL] = { .name = "5-level" },
};

/* Bits 86:80 and 139:136 are reserved (VirtualBox's rev 3 reading, QEMU
 * and Linux use none of them); so is everything from bit 192 up. */
/* clang-format off */
static const field_desc pasid_fields[] = {
        [PASID_P] = { .name = "p", .title = "Present", FIELD_AT(PASID, P), .kind = FIELD_FLAG },
        [PASID_FPD] = { .name = "fpd", .title = "Fault Processing Disable", FIELD_AT(PASID, FPD), .kind = FIELD_FLAG },
        [PASID_AW] = { .name = "aw", .title = "Address Width (second stage)", FIELD_AT(PASID, AW), .kind = FIELD_ENUM,
                       VALUES(address_width_values), .derived = "bits" },
        [PASID_SSEE] = { .name = "ssee", .title = "Second Stage Execute Enable (SLEE)", FIELD_AT(PASID, SSEE),
                         .kind = FIELD_FLAG },
        [PASID_PGTT] = { .name = "pgtt", .title = "PASID Granular Translation Type", FIELD_AT(PASID, PGTT),
                         .kind = FIELD_ENUM, VALUES(pgtt_values) },
        [PASID_SSADE] = { .name = "ssade", .title = "Second Stage Accessed/Dirty Enable (SLADE)", FIELD_AT(PASID, SSADE),
                          .kind = FIELD_FLAG },
        [PASID_SSPTPTR] = { .name = "ssptptr", .title = "Second Stage Page Table Pointer (SLPTPTR)",
                            FIELD_AT(PASID, SSPTPTR), .kind = FIELD_ADDRESS },
        [PASID_DID] = { .name = "did", .title = "Domain Identifier", FIELD_AT(PASID, DID), .kind = FIELD_NUMBER },
        [PASID_PWSNP] = { .name = "pwsnp", .title = "Page-Walk Snoop", FIELD_AT(PASID, PWSNP), .kind = FIELD_FLAG },
        [PASID_PGSNP] = { .name = "pgsnp", .title = "Page Snoop", FIELD_AT(PASID, PGSNP), .kind = FIELD_FLAG },
        [PASID_CD] = { .name = "cd", .title = "Cache Disable", FIELD_AT(PASID, CD), .kind = FIELD_FLAG },
        [PASID_EMTE] = { .name = "emte", .title = "Extended Memory Type Enable", FIELD_AT(PASID, EMTE), .kind = FIELD_FLAG },
        [PASID_EMT] = { .name = "emt", .title = "Extended Memory Type", FIELD_AT(PASID, EMT), .kind = FIELD_ENUM,
                        VALUES(memory_type_values) },
        [PASID_PWT] = { .name = "pwt", .title = "Page-level Write Through", FIELD_AT(PASID, PWT), .kind = FIELD_FLAG },
        [PASID_PCD] = { .name = "pcd", .title = "Page-level Cache Disable", FIELD_AT(PASID, PCD), .kind = FIELD_FLAG },
        [PASID_PAT] = { .name = "pat", .title = "Page Attribute Table", FIELD_AT(PASID, PAT), .kind = FIELD_NUMBER,
                        .hex = true },
        [PASID_SRE] = { .name = "sre", .title = "Supervisor Request Enable", FIELD_AT(PASID, SRE), .kind = FIELD_FLAG },
        [PASID_ERE] = { .name = "ere", .title = "Execute Request Enable", FIELD_AT(PASID, ERE), .kind = FIELD_FLAG },
        [PASID_FSPM] = { .name = "fspm", .title = "First Stage Paging Mode (FLPM)", FIELD_AT(PASID, FSPM),
                         .kind = FIELD_ENUM, VALUES(fspm_values) },
        [PASID_WPE] = { .name = "wpe", .title = "Write Protect Enable", FIELD_AT(PASID, WPE), .kind = FIELD_FLAG },
        [PASID_NXE] = { .name = "nxe", .title = "No Execute Enable", FIELD_AT(PASID, NXE), .kind = FIELD_FLAG },
        [PASID_SMEP] = { .name = "smep", .title = "Supervisor Mode Execute Prevention", FIELD_AT(PASID, SMEP),
                         .kind = FIELD_FLAG },
        [PASID_EAFE] = { .name = "eafe", .title = "Extended Accessed Flag Enable", FIELD_AT(PASID, EAFE),
                         .kind = FIELD_FLAG },
        [PASID_FSPTPTR] = { .name = "fsptptr", .title = "First Stage Page Table Pointer (FLPTPTR)",
                            FIELD_AT(PASID, FSPTPTR), .kind = FIELD_ADDRESS },
};
/* clang-format on */
static_assert(ELEMENTSOF(pasid_fields) == _PASID_FIELD_MAX, "pasid_fields");
static DEFINE_LAYOUT_CHECK(pasid, PASID, PASID_FIELDS);

const layout layout_pasid = {
        .name = "pasid",
        .title = "Scalable-Mode PASID Table Entry",
        .kind = LAYOUT_ENTRY,
        .width = 512,
        .fields = pasid_fields,
        .n_fields = ELEMENTSOF(pasid_fields),
        .check = pasid_check,
};

static const value_name ps_values[] = {
        [0] = { .name = "table" },
        [1] = { .name = "page" },
};

/* TM (bit 62) left the specification in rev 3.2 and is Reserved(0) since;
 * QEMU before 9.2 (and later ones with stale-tm=on) still accept it when
 * device-TLBs are supported, so it stays, marked deprecated.  SNP (bit 11)
 * is reserved where ECAP.SC is 0, which QEMU reports. */
/* clang-format off */
static const field_desc ss_pte_fields[] = {
        [SS_PTE_R] = { .name = "r", .title = "Read", FIELD_AT(SS_PTE, R), .kind = FIELD_FLAG },
        [SS_PTE_W] = { .name = "w", .title = "Write", FIELD_AT(SS_PTE, W), .kind = FIELD_FLAG },
        [SS_PTE_X] = { .name = "x", .title = "Execute", FIELD_AT(SS_PTE, X), .kind = FIELD_FLAG },
        [SS_PTE_EMT] = { .name = "emt", .title = "Extended Memory Type (leaf)", FIELD_AT(SS_PTE, EMT), .kind = FIELD_ENUM,
                         VALUES(memory_type_values) },
        [SS_PTE_IPAT] = { .name = "ipat", .title = "Ignore PAT (leaf)", FIELD_AT(SS_PTE, IPAT), .kind = FIELD_FLAG },
        [SS_PTE_PS] = { .name = "ps", .title = "Page Size (SS-PDPE, SS-PDE)", FIELD_AT(SS_PTE, PS), .kind = FIELD_FLAG,
                        VALUES(ps_values) },
        [SS_PTE_A] = { .name = "a", .title = "Accessed", FIELD_AT(SS_PTE, A), .kind = FIELD_FLAG },
        [SS_PTE_D] = { .name = "d", .title = "Dirty (leaf)", FIELD_AT(SS_PTE, D), .kind = FIELD_FLAG },
        [SS_PTE_IGN_10] = { .name = "ign_10", .title = "Ignored", FIELD_AT(SS_PTE, IGN_10), .kind = FIELD_FLAG },
        [SS_PTE_SNP] = { .name = "snp", .title = "Snoop (leaf)", FIELD_AT(SS_PTE, SNP), .kind = FIELD_FLAG },
        [SS_PTE_ADDR] = { .name = "addr", .title = "Address", FIELD_AT(SS_PTE, ADDR), .kind = FIELD_ADDRESS },
        [SS_PTE_IGN_61_52] = { .name = "ign_61_52", .title = "Ignored", FIELD_AT(SS_PTE, IGN_61_52),
                               .kind = FIELD_NUMBER, .hex = true },
        [SS_PTE_TM] = { .name = "tm", .title = "Transient Mapping (leaf)", FIELD_AT(SS_PTE, TM), .kind = FIELD_FLAG,
                        .deprecated = true },
        [SS_PTE_IGN_63] = { .name = "ign_63", .title = "Ignored", FIELD_AT(SS_PTE, IGN_63), .kind = FIELD_FLAG },
};
/* clang-format on */
static_assert(ELEMENTSOF(ss_pte_fields) == _SS_PTE_FIELD_MAX, "ss_pte_fields");
static DEFINE_LAYOUT_CHECK(ss_pte, SS_PTE, SS_PTE_FIELDS);

const layout layout_ss_pte = {
        .name = "ss-pte",
        .title = "Second-Stage Paging Entry",
        .kind = LAYOUT_ENTRY,
        .width = 64,
        .fields = ss_pte_fields,
        .n_fields = ELEMENTSOF(ss_pte_fields),
        .check = ss_pte_check,
};

static const value_name rw_values[] = {
        [0] = { .name = "read-only" },
        [1] = { .name = "read/write" },
};
static const value_name us_values[] = {
        [0] = { .name = "supervisor" },
        [1] = { .name = "user" },
};

/* clang-format off */
static const field_desc fs_pte_fields[] = {
        [FS_PTE_P] = { .name = "p", .title = "Present", FIELD_AT(FS_PTE, P), .kind = FIELD_FLAG },
        [FS_PTE_RW] = { .name = "rw", .title = "Read/Write", FIELD_AT(FS_PTE, RW), .kind = FIELD_FLAG,
                        VALUES(rw_values) },
        [FS_PTE_US] = { .name = "us", .title = "User/Supervisor", FIELD_AT(FS_PTE, US), .kind = FIELD_FLAG,
                        VALUES(us_values) },
        [FS_PTE_PWT] = { .name = "pwt", .title = "Page-level Write Through", FIELD_AT(FS_PTE, PWT), .kind = FIELD_FLAG },
        [FS_PTE_PCD] = { .name = "pcd", .title = "Page-level Cache Disable", FIELD_AT(FS_PTE, PCD), .kind = FIELD_FLAG },
        [FS_PTE_A] = { .name = "a", .title = "Accessed", FIELD_AT(FS_PTE, A), .kind = FIELD_FLAG },
        [FS_PTE_D] = { .name = "d", .title = "Dirty (leaf)", FIELD_AT(FS_PTE, D), .kind = FIELD_FLAG },
        [FS_PTE_PS] = { .name = "ps", .title = "Page Size (PDPE, PDE); PAT (PTE)", FIELD_AT(FS_PTE, PS),
                        .kind = FIELD_FLAG },
        [FS_PTE_G] = { .name = "g", .title = "Global (leaf)", FIELD_AT(FS_PTE, G), .kind = FIELD_FLAG },
        [FS_PTE_IGN_9] = { .name = "ign_9", .title = "Ignored", FIELD_AT(FS_PTE, IGN_9), .kind = FIELD_FLAG },
        [FS_PTE_EA] = { .name = "ea", .title = "Extended Accessed", FIELD_AT(FS_PTE, EA), .kind = FIELD_FLAG },
        [FS_PTE_IGN_11] = { .name = "ign_11", .title = "Ignored", FIELD_AT(FS_PTE, IGN_11), .kind = FIELD_FLAG },
        [FS_PTE_ADDR] = { .name = "addr", .title = "Address", FIELD_AT(FS_PTE, ADDR), .kind = FIELD_ADDRESS },
        [FS_PTE_IGN_62_52] = { .name = "ign_62_52", .title = "Ignored", FIELD_AT(FS_PTE, IGN_62_52),
                               .kind = FIELD_NUMBER, .hex = true },
        [FS_PTE_XD] = { .name = "xd", .title = "Execute Disable", FIELD_AT(FS_PTE, XD), .kind = FIELD_FLAG },
};
/* clang-format on */
static_assert(ELEMENTSOF(fs_pte_fields) == _FS_PTE_FIELD_MAX, "fs_pte_fields");
static DEFINE_LAYOUT_CHECK(fs_pte, FS_PTE, FS_PTE_FIELDS);

const layout layout_fs_pte = {
        .name = "fs-pte",
        .title = "First-Stage Paging Entry",
        .kind = LAYOUT_ENTRY,
        .width = 64,
        .fields = fs_pte_fields,
        .n_fields = ELEMENTSOF(fs_pte_fields),
        .check = fs_pte_check,
};

static const value_name dm_values[] = {
        [0] = { .name = "physical" },
        [1] = { .name = "logical" },
};
static const value_name trigger_values[] = {
        [0] = { .name = "edge" },
        [1] = { .name = "level" },
};
static const value_name im_values[] = {
        [0] = { .name = "remapped" },
        [1] = { .name = "posted" },
};
static const value_name dlm_values[] = {
        [0] = { .name = "fixed" }, [1] = { .name = "lowest-priority" },
        [2] = { .name = "SMI" },   [4] = { .name = "NMI" },
        [5] = { .name = "INIT" },  [7] = { .name = "ExtINT" },
};
static const value_name sq_values[] = {
        [0] = { .name = "compare SID[15:0]" },
        [1] = { .name = "ignore SID[2]" },
        [2] = { .name = "ignore SID[2:1]" },
        [3] = { .name = "ignore SID[2:0]" },
};
static const value_name svt_values[] = {
        [0] = { .name = "none" },
        [1] = { .name = "requester ID (SID, SQ)" },
        [2] = { .name = "bus range (SID[15:8]-SID[7:0])" },
};

/* clang-format off */
static const field_desc irte_fields[] = {
        [IRTE_P] = { .name = "p", .title = "Present", FIELD_AT(IRTE, P), .kind = FIELD_FLAG },
        [IRTE_FPD] = { .name = "fpd", .title = "Fault Processing Disable", FIELD_AT(IRTE, FPD), .kind = FIELD_FLAG },
        [IRTE_DM] = { .name = "dm", .title = "Destination Mode", FIELD_AT(IRTE, DM), .kind = FIELD_FLAG,
                      VALUES(dm_values) },
        [IRTE_RH] = { .name = "rh", .title = "Redirection Hint", FIELD_AT(IRTE, RH), .kind = FIELD_FLAG },
        [IRTE_TM] = { .name = "tm", .title = "Trigger Mode", FIELD_AT(IRTE, TM), .kind = FIELD_FLAG,
                      VALUES(trigger_values) },
        [IRTE_DLM] = { .name = "dlm", .title = "Delivery Mode", FIELD_AT(IRTE, DLM), .kind = FIELD_ENUM,
                       VALUES(dlm_values) },
        [IRTE_AVAIL] = { .name = "avail", .title = "Available", FIELD_AT(IRTE, AVAIL), .kind = FIELD_NUMBER, .hex = true },
        [IRTE_IM] = { .name = "im", .title = "IRTE Mode", FIELD_AT(IRTE, IM), .kind = FIELD_FLAG,
                      VALUES(im_values) },
        [IRTE_V] = { .name = "v", .title = "Vector", FIELD_AT(IRTE, V), .kind = FIELD_NUMBER, .hex = true },
        [IRTE_DST] = { .name = "dst", .title = "Destination ID (xAPIC: bits 47:40)", FIELD_AT(IRTE, DST),
                       .kind = FIELD_NUMBER, .hex = true },
        [IRTE_SID] = { .name = "sid", .title = "Source Identifier", FIELD_AT(IRTE, SID), .kind = FIELD_NUMBER,
                       .hex = true },
        [IRTE_SQ] = { .name = "sq", .title = "Source-id Qualifier", FIELD_AT(IRTE, SQ), .kind = FIELD_ENUM,
                      VALUES(sq_values) },
        [IRTE_SVT] = { .name = "svt", .title = "Source Validation Type", FIELD_AT(IRTE, SVT), .kind = FIELD_ENUM,
                       VALUES(svt_values) },
};
/* clang-format on */
static_assert(ELEMENTSOF(irte_fields) == _IRTE_FIELD_MAX, "irte_fields");
static DEFINE_LAYOUT_CHECK(irte, IRTE, IRTE_FIELDS);

const layout layout_irte = {
        .name = "irte",
        .title = "Interrupt Remapping Table Entry (remapped format)",
        .kind = LAYOUT_ENTRY,
        .width = 128,
        .fields = irte_fields,
        .n_fields = ELEMENTSOF(irte_fields),
        .check = irte_check,
};

const layout *const entry_layouts[] = {
        &layout_root,  &layout_sm_root, &layout_context, &layout_sm_context, &layout_pasid_dir,
        &layout_pasid, &layout_ss_pte,  &layout_fs_pte,  &layout_irte,
};
const size_t n_entry_layouts = ELEMENTSOF(entry_layouts);
