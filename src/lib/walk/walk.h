/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Layer 3, walk: root table -> context entries (legacy, or scalable mode
 * with PASID directory and tables) -> page tables -> coalesced IOVA ranges.
 *
 * Streaming: results go to callbacks as they are found; the walker keeps
 * O(depth) state per page-table walk, plus one record per distinct table
 * root so that tables shared between devices (same root, levels and
 * format, typically one domain) are walked once.
 * Every pointer is checked against RAM, every level and loop bounded;
 * corrupt tables become anomalies, never a crash or a hang.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "decode/field.h"

#define WALK_NO_PASID UINT32_MAX
#define WALK_RANGE_BATCH 64

typedef enum walk_mode {
        WALK_MODE_LEGACY,   /* RTADDR.TTM 00 */
        WALK_MODE_SCALABLE, /* RTADDR.TTM 01 */
        WALK_MODE_RESERVED, /* RTADDR.TTM 10 */
        WALK_MODE_ABORT,    /* RTADDR.TTM 11: abort-DMA mode, no tables */
        _WALK_MODE_MAX,
        _WALK_MODE_INVALID = -EINVAL,
} walk_mode;

typedef enum walk_translation {
        WALK_TRANSLATION_MULTI_LEVEL,  /* legacy TT 0: second-stage tables, no ATS */
        WALK_TRANSLATION_DEVICE_TLB,   /* legacy TT 1: second-stage tables, ATS allowed */
        WALK_TRANSLATION_PASS_THROUGH, /* legacy TT 2, PGTT 4 */
        WALK_TRANSLATION_FIRST_STAGE,  /* PGTT 1 */
        WALK_TRANSLATION_SECOND_STAGE, /* PGTT 2 */
        WALK_TRANSLATION_NESTED,       /* PGTT 3: first stage, then second stage */
        WALK_TRANSLATION_RESERVED,     /* a reserved encoding: nothing translates */
        _WALK_TRANSLATION_MAX,
        _WALK_TRANSLATION_INVALID = -EINVAL,
} walk_translation;

/* "legacy", "scalable", "reserved", "abort-dma" */
const char *walk_mode_to_string(walk_mode m) _const_;
walk_mode walk_mode_from_string(const char *s) _pure_;
/* "multi-level", "device-tlb", "pass-through", "first-stage",
 * "second-stage", "nested", "reserved" */
const char *walk_translation_to_string(walk_translation t) _const_;
walk_translation walk_translation_from_string(const char *s) _pure_;

walk_mode walk_mode_of_rtaddr(uint64_t rtaddr);

/* One (device, PASID) with a present context (and PASID) entry. */
typedef struct walk_target {
        uint8_t bus;
        uint8_t devfn;
        uint32_t pasid; /* WALK_NO_PASID in legacy mode */
        bool rid_pasid; /* scalable: this PASID serves requests without PASID */
        uint16_t did;
        walk_translation translation;
        unsigned address_width;            /* bits; 0 for pass-through */
        unsigned levels;                   /* of the table at root; 0 for pass-through */
        bool fpd;                          /* fault processing disabled */
        uint64_t root;                     /* page-table root; first-stage root when nested */
        uint64_t second_root;              /* nested: the second-stage root */
        uint64_t entry_address;            /* physical address of the context / PASID entry */
        const layout *entry_layout;        /* context, sm-context or pasid */
        uint64_t entry[LAYOUT_MAX_QWORDS]; /* its raw value */
} walk_target;

typedef struct walk_range {
        uint64_t iova;
        uint64_t phys;
        uint64_t length;
        uint64_t page_size; /* of the leaves it was built from (all equal) */
        bool read, write, execute;
} walk_range;

typedef enum walk_anomaly_kind {
        WALK_ANOMALY_RESERVED_BITS, /* reserved bits set in an entry */
        WALK_ANOMALY_OUTSIDE_RAM,   /* a pointer to memory that is not System RAM */
        WALK_ANOMALY_READ_ERROR,    /* RAM that could not be read */
        WALK_ANOMALY_LOOP,          /* a table referenced again on its own path */
        WALK_ANOMALY_SHARED_TABLE,  /* a table referenced twice in one tree (walked once) */
        WALK_ANOMALY_BAD_ENCODING,  /* reserved TT/AW/PGTT, PS where not allowed, ... */
        WALK_ANOMALY_MISALIGNED,    /* a large page whose address is not aligned to its size */
        WALK_ANOMALY_LIMIT,         /* a bound on work was reached; the walk stopped there */
        _WALK_ANOMALY_MAX,
        _WALK_ANOMALY_INVALID = -EINVAL,
} walk_anomaly_kind;

/* "reserved-bits", "outside-ram", "read-error", "loop", "shared-table",
 * "bad-encoding", "misaligned", "limit" */
const char *walk_anomaly_kind_to_string(walk_anomaly_kind k) _const_;
walk_anomaly_kind walk_anomaly_kind_from_string(const char *s) _pure_;

typedef struct walk_anomaly {
        walk_anomaly_kind kind;
        const char *table; /* layout name of the entry: "root", "context", "ss-pte", ... */
        unsigned level;    /* page-table level (1 = leaf tables), 0 above them */
        uint64_t address;  /* physical address of the entry */
        uint64_t iova;     /* page-table anomalies: the IOVA the entry covers */
        uint64_t value;    /* the entry's first qword */
        char message[160]; /* one line */
} walk_anomaly;

/* Callbacks; any may be NULL.  A negative return stops the walk with it. */
typedef struct walk_ops {
        /* A target, before its ranges. */
        int (*target)(void *userdata, const walk_target *t);
        /* Its page tables are the same as an earlier target's (same root,
         * levels and format): they are not walked again. */
        int (*same_tables)(void *userdata, const walk_target *t, const walk_target *first);
        /* Coalesced: consecutive IOVAs onto consecutive physical addresses
         * with equal permissions and page size.  In IOVA order; an
         * anomaly comes after the ranges finished before it was found
         * (the range it follows may still be growing). */
        int (*range)(void *userdata, const walk_target *t, const walk_range *r);
        /* Instead of range (which is then not called): the same ranges, up
         * to WALK_RANGE_BATCH at a time, in the same order.  Saves a call
         * per range where every page is its own range. */
        int (*ranges)(void *userdata, const walk_target *t, const walk_range *r, size_t n);
        /* t is the target being walked (between target and target_done),
         * or NULL for anomalies outside any target: the root table, and in
         * scalable mode the context entry, PASID directory and PASID table
         * pointers (the message then starts with the device's BB:DD.F). */
        int (*anomaly)(void *userdata, const walk_target *t, const walk_anomaly *a);
        /* After a target's ranges. */
        int (*target_done)(void *userdata, const walk_target *t);
} walk_ops;

typedef struct walk_filter {
        int bus;       /* -1: all */
        int devfn;     /* -1: all */
        int64_t pasid; /* -1: all; WALK_NO_PASID never matches a PASID */
        int did;       /* -1: all */
        /* Bound on table entries examined per unit (whole tables count);
         * 0: WALK_MAX_ENTRIES.  Reaching it is a "limit" anomaly. */
        uint64_t max_entries;
        /* Stop at the targets: their page tables are not walked (no ranges,
         * no same_tables), e.g. to learn each device's domain. */
        bool contexts_only;
} walk_filter;
#define WALK_MAX_ENTRIES (UINT64_C(1) << 28)
#define WALK_FILTER_ALL ((walk_filter){ .bus = -1, .devfn = -1, .pasid = -1, .did = -1 })

/* Walk one unit from its RTADDR, CAP and ECAP register values.  filter may
 * be NULL (everything).  Returns 0 when the walk ran to its end or to a
 * bound (reported as an anomaly), a callback's negative return, or -ENOMEM.
 *
 * What the walker holds: a few 4 KiB scratch pages (one per table level, for
 * backends that cannot peek), the set of page-table pages of the tree being
 * walked (to find loops and shared tables), the set of PASID tables of one
 * PASID directory, and one record (a walk_target copy) per distinct
 * page-table root.  Ranges are streamed: one pending range at a time (and
 * up to WALK_RANGE_BATCH finished ones for ops->ranges).
 *
 * Interpretation, kept simple: permissions are those of the leaf combined
 * with every level above it (second stage: R, W, X each ANDed; first stage:
 * read always, write when R/W is set at every level, execute when XD is
 * clear at every level; NXE, WPE, SMEP, U/S and SSEE are not applied).
 * First-stage IOVAs are canonical (sign-extended from bit 47 or 56).  In
 * nested mode the first-stage table pointers are read as host-physical
 * addresses (right when the second stage maps them 1:1).  An entry with an
 * anomaly is still interpreted as far as its meaning is clear (a large page
 * with an unsupported size is reported as that page, PS in a PML4E/PML5E is
 * ignored); hardware would fault on it, which the anomaly says.
 *
 * Reserved bits: those no field of the entry's layout (entries.h)
 * describes, in every entry; in paging entries also the address bits from
 * CAP.MGAW + 1 up (MGAW standing in for the DMAR table's host address
 * width) and PS in a PML4E/PML5E.  A page table referenced again on its
 * own path is a loop, elsewhere in the same tree a shared table; either is
 * walked once.  Recursion is one level per page-table level (at most 5). */
int walk_unit(iommu_ram *ram, uint64_t rtaddr, uint64_t cap, uint64_t ecap, const walk_filter *filter,
              const walk_ops *ops, void *userdata);

/* Walk one page-table tree: second-stage (first_stage false, 3..5 levels)
 * or IA-32e first-stage (4 or 5 levels) from root.  cap is the unit's CAP
 * register: MGAW bounds the address bits of entries, SLLPS / FS1GP say
 * which large pages are allowed.  t (may be NULL) is passed through to
 * callbacks; target and target_done are not called. */
int walk_page_table(iommu_ram *ram, uint64_t cap, uint64_t root, unsigned levels, bool first_stage,
                    const walk_target *t, const walk_ops *ops, void *userdata);
