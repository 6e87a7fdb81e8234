/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Translation-structure entry formats (Intel VT-d specification rev 4.x /
 * 5.0, chapter 9): root, context, scalable-mode context, PASID directory and
 * table entries, second- and first-stage paging entries, and the interrupt
 * remapping table entry.  Described the same way as registers (field.h):
 * bit positions are written once, here; entries.c gives each field its
 * title, kind and meaning.
 *
 * Bits the specification calls Reserved are left undescribed, so that
 * layout_reserved_bits() reports them.  Bits it calls Ignored (IGN, AVAIL)
 * are described, as ign_<hi>_<lo>, because software may use them and a
 * walker must not call them "reserved bits set".
 *
 * Mnemonics are those of revision 4 (first/second *stage*: SSPTPTR, FSPM);
 * the titles name the older first/second *level* mnemonics.
 */

#include "decode/field.h"
#include "decode/values.h" /* TT, PGTT, AW and memory type values */

/* Root Entry (legacy mode), 128 bits: one per bus, 256 in the root table. */
#define ROOT_FIELDS(X)   \
        X(ROOT, P, 0, 1) \
        X(ROOT, CTP, 12, 52)
DEFINE_LAYOUT_FIELDS(ROOT, ROOT_FIELDS);

/* Scalable-Mode Root Entry, 128 bits: the lower half serves devfn 0-127,
 * the upper half devfn 128-255. */
#define SM_ROOT_FIELDS(X)        \
        X(SM_ROOT, LP, 0, 1)     \
        X(SM_ROOT, LCTP, 12, 52) \
        X(SM_ROOT, UP, 64, 1)    \
        X(SM_ROOT, UCTP, 76, 52)
DEFINE_LAYOUT_FIELDS(SM_ROOT, SM_ROOT_FIELDS);

/* Context Entry (legacy mode), 128 bits. */
#define CONTEXT_FIELDS(X)            \
        X(CONTEXT, P, 0, 1)          \
        X(CONTEXT, FPD, 1, 1)        \
        X(CONTEXT, TT, 2, 2)         \
        X(CONTEXT, SSPTPTR, 12, 52)  \
        X(CONTEXT, AW, 64, 3)        \
        X(CONTEXT, IGN_70_67, 67, 4) \
        X(CONTEXT, DID, 72, 16)
DEFINE_LAYOUT_FIELDS(CONTEXT, CONTEXT_FIELDS);

/* Scalable-Mode Context Entry, 256 bits (bits 255:85 reserved). */
#define SM_CONTEXT_FIELDS(X)               \
        X(SM_CONTEXT, P, 0, 1)             \
        X(SM_CONTEXT, FPD, 1, 1)           \
        X(SM_CONTEXT, DTE, 2, 1)           \
        X(SM_CONTEXT, PASIDE, 3, 1)        \
        X(SM_CONTEXT, PRE, 4, 1)           \
        X(SM_CONTEXT, PDTS, 9, 3)          \
        X(SM_CONTEXT, PASIDDIRPTR, 12, 52) \
        X(SM_CONTEXT, RID_PASID, 64, 20)   \
        X(SM_CONTEXT, RID_PRIV, 84, 1)
DEFINE_LAYOUT_FIELDS(SM_CONTEXT, SM_CONTEXT_FIELDS);

/* Scalable-Mode PASID Directory Entry, 64 bits: one per 64 PASIDs. */
#define PASID_DIR_FIELDS(X)     \
        X(PASID_DIR, P, 0, 1)   \
        X(PASID_DIR, FPD, 1, 1) \
        X(PASID_DIR, SMPTBLPTR, 12, 52)
DEFINE_LAYOUT_FIELDS(PASID_DIR, PASID_DIR_FIELDS);

/* Scalable-Mode PASID Table Entry, 512 bits (bits 511:192 reserved). */
#define PASID_FIELDS(X)           \
        X(PASID, P, 0, 1)         \
        X(PASID, FPD, 1, 1)       \
        X(PASID, AW, 2, 3)        \
        X(PASID, SSEE, 5, 1)      \
        X(PASID, PGTT, 6, 3)      \
        X(PASID, SSADE, 9, 1)     \
        X(PASID, SSPTPTR, 12, 52) \
        X(PASID, DID, 64, 16)     \
        X(PASID, PWSNP, 87, 1)    \
        X(PASID, PGSNP, 88, 1)    \
        X(PASID, CD, 89, 1)       \
        X(PASID, EMTE, 90, 1)     \
        X(PASID, EMT, 91, 3)      \
        X(PASID, PWT, 94, 1)      \
        X(PASID, PCD, 95, 1)      \
        X(PASID, PAT, 96, 32)     \
        X(PASID, SRE, 128, 1)     \
        X(PASID, ERE, 129, 1)     \
        X(PASID, FSPM, 130, 2)    \
        X(PASID, WPE, 132, 1)     \
        X(PASID, NXE, 133, 1)     \
        X(PASID, SMEP, 134, 1)    \
        X(PASID, EAFE, 135, 1)    \
        X(PASID, FSPTPTR, 140, 52)
DEFINE_LAYOUT_FIELDS(PASID, PASID_FIELDS);

/*
 * Second-Stage Paging Entry, 64 bits: one layout for SS-PML5E, SS-PML4E,
 * SS-PDPE, SS-PDE and SS-PTE, described in its leaf form.  Which bits
 * matter depends on the level: EMT/IPAT/D/SNP only in a leaf, PS only in a
 * PDPE/PDE (set: the entry maps a 1-GByte/2-MByte page and the address
 * bits below the page size are reserved), PS reserved in PML5E/PML4E.
 * (The list takes X_ because one of its fields is called X.)
 */
#define SS_PTE_FIELDS(X_)             \
        X_(SS_PTE, R, 0, 1)           \
        X_(SS_PTE, W, 1, 1)           \
        X_(SS_PTE, X, 2, 1)           \
        X_(SS_PTE, EMT, 3, 3)         \
        X_(SS_PTE, IPAT, 6, 1)        \
        X_(SS_PTE, PS, 7, 1)          \
        X_(SS_PTE, A, 8, 1)           \
        X_(SS_PTE, D, 9, 1)           \
        X_(SS_PTE, IGN_10, 10, 1)     \
        X_(SS_PTE, SNP, 11, 1)        \
        X_(SS_PTE, ADDR, 12, 40)      \
        X_(SS_PTE, IGN_61_52, 52, 10) \
        X_(SS_PTE, TM, 62, 1)         \
        X_(SS_PTE, IGN_63, 63, 1)
DEFINE_LAYOUT_FIELDS(SS_PTE, SS_PTE_FIELDS);

/* First-Stage Paging Entry (IA-32e format), 64 bits, same level rules;
 * bit 7 is PS in a PDPE/PDE and PAT in a PTE (a large page's PAT is bit 12,
 * inside ADDR). */
#define FS_PTE_FIELDS(X)             \
        X(FS_PTE, P, 0, 1)           \
        X(FS_PTE, RW, 1, 1)          \
        X(FS_PTE, US, 2, 1)          \
        X(FS_PTE, PWT, 3, 1)         \
        X(FS_PTE, PCD, 4, 1)         \
        X(FS_PTE, A, 5, 1)           \
        X(FS_PTE, D, 6, 1)           \
        X(FS_PTE, PS, 7, 1)          \
        X(FS_PTE, G, 8, 1)           \
        X(FS_PTE, IGN_9, 9, 1)       \
        X(FS_PTE, EA, 10, 1)         \
        X(FS_PTE, IGN_11, 11, 1)     \
        X(FS_PTE, ADDR, 12, 40)      \
        X(FS_PTE, IGN_62_52, 52, 11) \
        X(FS_PTE, XD, 63, 1)
DEFINE_LAYOUT_FIELDS(FS_PTE, FS_PTE_FIELDS);

/* Interrupt Remapping Table Entry, 128 bits, remapped format (IM = 0; a
 * posted-format entry, IM = 1, reuses bits 63:0 differently). */
#define IRTE_FIELDS(X)       \
        X(IRTE, P, 0, 1)     \
        X(IRTE, FPD, 1, 1)   \
        X(IRTE, DM, 2, 1)    \
        X(IRTE, RH, 3, 1)    \
        X(IRTE, TM, 4, 1)    \
        X(IRTE, DLM, 5, 3)   \
        X(IRTE, AVAIL, 8, 4) \
        X(IRTE, IM, 15, 1)   \
        X(IRTE, V, 16, 8)    \
        X(IRTE, DST, 32, 32) \
        X(IRTE, SID, 64, 16) \
        X(IRTE, SQ, 80, 2)   \
        X(IRTE, SVT, 82, 2)
DEFINE_LAYOUT_FIELDS(IRTE, IRTE_FIELDS);

/* The TT, PGTT and AW encodings the walker branches on are in values.h,
 * with the names it shows. */
enum {
        FSPM_4_LEVEL = 0,
        FSPM_5_LEVEL = 1,
};

/* Entry sizes in bytes, and how many fill a 4-KByte table. */
enum {
        ROOT_ENTRY_SIZE = 16,
        CONTEXT_ENTRY_SIZE = 16,
        SM_CONTEXT_ENTRY_SIZE = 32,
        PASID_DIR_ENTRY_SIZE = 8,
        PASID_ENTRY_SIZE = 64,
        PTE_SIZE = 8,
        IRTE_SIZE = 16,
        PTES_PER_TABLE = 4096 / PTE_SIZE,
        PASIDS_PER_TABLE = 4096 / PASID_ENTRY_SIZE,
};

/* The address a FIELD_ADDRESS field points at: its bits in place, the low
 * bits zero (a page-aligned table or page). */
#define ENTRY_ADDR(L, F, v) FIELD_ADDR(L, F, v)

static inline bool aw_valid(uint64_t aw) {
        return aw >= AW_39_BIT && aw <= AW_57_BIT;
}
/* Input address width in bits and page-table levels for an AW value. */
static inline unsigned aw_bits(uint64_t aw) {
        return 30 + 9 * (unsigned) aw;
}
static inline unsigned aw_levels(uint64_t aw) {
        return 2 + (unsigned) aw;
}

static inline bool root_present(const uint64_t *e) {
        return FIELD_GET(ROOT, P, e);
}
static inline uint64_t root_ctp(const uint64_t *e) {
        return ENTRY_ADDR(ROOT, CTP, e);
}

/* devfn 0-127 use the lower context table, 128-255 the upper one. */
static inline bool sm_root_present(const uint64_t *e, unsigned devfn) {
        return devfn < 128 ? FIELD_GET(SM_ROOT, LP, e) : FIELD_GET(SM_ROOT, UP, e);
}
static inline uint64_t sm_root_ctp(const uint64_t *e, unsigned devfn) {
        return devfn < 128 ? ENTRY_ADDR(SM_ROOT, LCTP, e) : ENTRY_ADDR(SM_ROOT, UCTP, e);
}

static inline bool context_present(const uint64_t *e) {
        return FIELD_GET(CONTEXT, P, e);
}
static inline unsigned context_tt(const uint64_t *e) {
        return (unsigned) FIELD_GET(CONTEXT, TT, e);
}
static inline uint16_t context_did(const uint64_t *e) {
        return (uint16_t) FIELD_GET(CONTEXT, DID, e);
}
static inline uint64_t context_ssptptr(const uint64_t *e) {
        return ENTRY_ADDR(CONTEXT, SSPTPTR, e);
}
static inline unsigned context_levels(const uint64_t *e) {
        return aw_levels(FIELD_GET(CONTEXT, AW, e));
}

static inline bool sm_context_present(const uint64_t *e) {
        return FIELD_GET(SM_CONTEXT, P, e);
}
static inline uint64_t sm_context_pasiddirptr(const uint64_t *e) {
        return ENTRY_ADDR(SM_CONTEXT, PASIDDIRPTR, e);
}
/* PASID directory entries: 2^(PDTS + 7), each covering 64 PASIDs. */
static inline uint64_t sm_context_pasid_dir_entries(const uint64_t *e) {
        return UINT64_C(1) << (FIELD_GET(SM_CONTEXT, PDTS, e) + 7);
}
static inline uint32_t sm_context_rid_pasid(const uint64_t *e) {
        return (uint32_t) FIELD_GET(SM_CONTEXT, RID_PASID, e);
}

static inline bool pasid_dir_present(uint64_t e) {
        return FIELD_GET(PASID_DIR, P, &e);
}
static inline uint64_t pasid_dir_smptblptr(uint64_t e) {
        return ENTRY_ADDR(PASID_DIR, SMPTBLPTR, &e);
}

static inline bool pasid_present(const uint64_t *e) {
        return FIELD_GET(PASID, P, e);
}
static inline unsigned pasid_pgtt(const uint64_t *e) {
        return (unsigned) FIELD_GET(PASID, PGTT, e);
}
static inline uint16_t pasid_did(const uint64_t *e) {
        return (uint16_t) FIELD_GET(PASID, DID, e);
}
static inline uint64_t pasid_ssptptr(const uint64_t *e) {
        return ENTRY_ADDR(PASID, SSPTPTR, e);
}
static inline uint64_t pasid_fsptptr(const uint64_t *e) {
        return ENTRY_ADDR(PASID, FSPTPTR, e);
}
static inline unsigned pasid_ss_levels(const uint64_t *e) {
        return aw_levels(FIELD_GET(PASID, AW, e));
}
/* FSPM 0: 4-level, 1: 5-level (2 and 3 reserved). */
static inline unsigned pasid_fs_levels(const uint64_t *e) {
        return 4 + (unsigned) FIELD_GET(PASID, FSPM, e);
}

/* A second-stage entry is present when it grants any access.  QEMU's model
 * tests R|W only; X matters only with SSEE (execute requests). */
static inline bool ss_pte_present(uint64_t e) {
        return FIELD_GET(SS_PTE, R, &e) || FIELD_GET(SS_PTE, W, &e) || FIELD_GET(SS_PTE, X, &e);
}
/* PS: in an SS-PDPE/SS-PDE, the entry maps a page instead of a table. */
static inline bool ss_pte_large(uint64_t e) {
        return FIELD_GET(SS_PTE, PS, &e);
}
static inline uint64_t ss_pte_addr(uint64_t e) {
        return ENTRY_ADDR(SS_PTE, ADDR, &e);
}

static inline bool fs_pte_present(uint64_t e) {
        return FIELD_GET(FS_PTE, P, &e);
}
static inline bool fs_pte_large(uint64_t e) {
        return FIELD_GET(FS_PTE, PS, &e);
}
static inline uint64_t fs_pte_addr(uint64_t e) {
        return ENTRY_ADDR(FS_PTE, ADDR, &e);
}

extern const layout layout_root, layout_sm_root, layout_context, layout_sm_context, layout_pasid_dir,
        layout_pasid, layout_ss_pte, layout_fs_pte, layout_irte;

/* Every entry layout, in walk order (layouts.c lists them after the
 * registers for lookup by name). */
extern const layout *const entry_layouts[];
extern const size_t n_entry_layouts;
