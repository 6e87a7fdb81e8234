/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Layer 6, control: the root table and the device entries of a unit iommud
 * owns, in table memory.  Legacy mode: root entry -> context table ->
 * context entry (TT, second-stage root, AW, DID).  Scalable mode: root
 * entry (a lower and an upper half) -> scalable context table -> context
 * entry -> PASID directory -> PASID table -> the entry of PASID 0, which
 * serves requests without a PASID (RID_PASID 0): PGTT second-stage or
 * pass-through, second-stage root, AW, DID.
 *
 * The order of writes is DESIGN.md's ("Programming a unit"): a table is
 * complete before the entry that points at it is written; an entry
 * becoming present is zeroed, written but for its present bit, and its
 * present bit set last, in one store; a present entry goes away by
 * clearing the present bit alone, in one store, after which the caller
 * invalidates the caches that may hold it before anything else is written
 * to it.  Without ECAP.C every line written is flushed.
 */

#include <stdbool.h>
#include <stdint.h>

#include "access/tablemem.h"
#include "basic/error.h"

typedef enum unit_mode {
        UNIT_MODE_LEGACY,
        UNIT_MODE_SCALABLE,
        _UNIT_MODE_MAX,
        _UNIT_MODE_INVALID = -EINVAL,
} unit_mode;

/* "legacy", "scalable" */
const char *unit_mode_to_string(unit_mode m) _const_;
unit_mode unit_mode_from_string(const char *s) _pure_;

typedef enum entry_translation {
        ENTRY_BLOCKED,      /* no present entry: every request faults */
        ENTRY_PASS_THROUGH, /* legacy TT 2, scalable PGTT 4 (ECAP.PT) */
        ENTRY_PAGING,       /* second-stage tables */
        _ENTRY_TRANSLATION_MAX,
        _ENTRY_TRANSLATION_INVALID = -EINVAL,
} entry_translation;

typedef struct device_entry {
        entry_translation translation;
        uint16_t did;
        uint64_t root;   /* ENTRY_PAGING: the second-stage table */
        unsigned levels; /* 3, 4 or 5; the AW of a pass-through entry too */
} device_entry;

typedef struct unit_tables unit_tables;

int unit_tables_new(table_mem *mem, unit_mode mode, bool coherent, unit_tables **ret, iommu_error *err);
/* Take back the tables hardware walks from rtaddr (RTADDR's value: the
 * root table and TTM, which must say mode), as an earlier unit_tables left
 * them in mem (table_mem_reopen_*): the root table, context tables and, in
 * scalable mode, each device's PASID directory and table claimed; nothing
 * written.  Tables iommud would not have written are refused with EPROTO
 * and one line naming the address: a pointer outside table memory, a page
 * reached twice or in use already, a present entry with a bit install
 * never sets or a value it never writes.  Not-present entries are not
 * read (a cleared one keeps its words).  The second-stage tables present
 * entries point at are the caller's (page_table_adopt).  On a refusal
 * nothing stays claimed. */
int unit_tables_adopt(table_mem *mem, unit_mode mode, bool coherent, uint64_t rtaddr, unit_tables **ret,
                      iommu_error *err);
/* Hands back every page: only once hardware walks none of them. */
unit_tables *unit_tables_free(unit_tables *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(unit_tables *, unit_tables_free);
/* Frees the structure but hands back no page (hardware still walks them). */
unit_tables *unit_tables_abandon(unit_tables *t);

unit_mode unit_tables_mode(const unit_tables *t);
/* For RTADDR: the root table's address with TTM (legacy 00, scalable 01). */
uint64_t unit_tables_rtaddr(const unit_tables *t);

/* What the device's entry says (ENTRY_BLOCKED when it has none present). */
device_entry unit_tables_get(const unit_tables *t, uint8_t bus, uint8_t devfn);

/* Make a blocked device's entry present (EBUSY when it is present; EINVAL
 * for a paging entry without a root or with levels out of 3..5; ENOMEM
 * with nothing made reachable).  Scalable mode: the context entry and
 * PASID directory and table are made once and stay; the PASID entry
 * comes and goes. */
int unit_tables_install(unit_tables *t, uint8_t bus, uint8_t devfn, const device_entry *e, iommu_error *err);

/* Clear the present bit of a device's entry, alone, in one store (the
 * PASID entry in scalable mode): hardware that fetches it from memory
 * from now on sees it not present.  *ret_old (may be NULL) is what it
 * said, for the invalidation the caller owes before the entry is written
 * again.  ENOENT when it was not present. */
int unit_tables_clear(unit_tables *t, uint8_t bus, uint8_t devfn, device_entry *ret_old, iommu_error *err);

/* Called after every store hardware could see (tests). */
typedef void (*unit_tables_store_hook)(void *userdata);
void unit_tables_set_store_hook(unit_tables *t, unit_tables_store_hook hook, void *userdata);
