/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The record of the change in flight: what iommud writes before it touches
 * a unit, so that a change cut short (iommud killed between its first
 * store and the saved state that names the change) can be taken back by
 * the next iommud, leaving the tables exactly as the saved state says.
 *
 * A change starts on top of the saved state's serial number
 * (undo_log_begin).  Every store into an entry hardware may walk is seen
 * first (table_mem_watch_stores with undo_log_note): its physical address
 * and the value it held are appended.  The change is over once the state
 * naming it is saved (its serial is higher then) or undo_log_end says so.
 * The next iommud, finding a record whose serial is the saved state's,
 * writes the old values back, last first (undo_apply): each step undoes
 * one store, so every table passes back through states the change passed
 * through, all of them safe for hardware walking them.
 *
 * The record is a file mapped shared: a store into it is in the page cache
 * the moment it is made, so SIGKILL loses nothing.  It is not synced: only
 * a machine that keeps running has a unit still walking the tables (a
 * reboot resets the unit, and table memory on hugetlbfs is gone with it).
 * Each entry is written before the count that covers it, and the count is
 * one aligned 64-bit store, so a kill anywhere leaves a whole record.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/tablemem.h"
#include "basic/error.h"

#define UNDO_UNIT_MAX 32
#define UNDO_PATH_MAX 256

typedef enum undo_kind {
        UNDO_NONE,      /* no change in flight */
        UNDO_TABLES,    /* domains, devices, mappings: the stores are undone */
        UNDO_TAKE,      /* v1.power on: the unit is turned off again */
        UNDO_GIVE_BACK, /* v1.power off: turning it off is finished */
        _UNDO_KIND_MAX,
        _UNDO_KIND_INVALID = -EINVAL,
} undo_kind;

const char *undo_kind_to_string(undo_kind k) _const_;

typedef struct undo_entry {
        uint64_t phys;
        uint64_t old;
} undo_entry;

typedef struct undo_log undo_log;

/* The record file at path, made (empty, nothing in flight) when missing. */
int undo_log_open(const char *path, undo_log **ret, iommu_error *err);
undo_log *undo_log_free(undo_log *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(undo_log *, undo_log_free);

/* A change of unit starts, on top of the saved state numbered serial;
 * memory: the unit's table memory file ("" for none), for the next iommud
 * to check the unit against.  A change of the same kind and unit on top of
 * the same serial adds to the record in flight: undoing it all leads back
 * to that state. */
void undo_log_begin(undo_log *l, uint64_t serial, undo_kind kind, const char *unit, const char *memory);
/* table_mem_store_fn: a store about to be made (recorded while a change
 * is in flight; a record that cannot grow is marked incomplete). */
void undo_log_note(void *userdata, uint64_t phys, uint64_t old);
/* Nothing is in flight any more. */
void undo_log_end(undo_log *l);

/* What a record file holds. */
typedef struct undo_record {
        undo_kind kind; /* UNDO_NONE: nothing in flight */
        uint64_t serial;
        char unit[UNDO_UNIT_MAX];
        char memory[UNDO_PATH_MAX];
        bool incomplete; /* stores were made that the record does not have */
        undo_entry *entries;
        size_t n_entries;
} undo_record;

void undo_record_done(undo_record *r);

/* The record at path.  ENOENT when there is none; EPROTO with one line
 * when the file is not a record (its magic, version or size). */
int undo_record_load(const char *path, undo_record *ret, iommu_error *err);

/* Write the record's old values back into m, last first (each with one
 * 64-bit store, flushed from the CPU's caches); *ret_found (the caller's
 * to free) gets the values found there, for undo_restore().  Nothing is
 * written when an entry lies outside m or is not 8-byte aligned: EPROTO,
 * one line. */
int undo_apply(table_mem *m, const undo_record *r, uint64_t **ret_found, iommu_error *err);
/* The values undo_apply() found written again, first first: the tables
 * as they were before it (a take-back that refuses them leaves them as
 * they were found). */
void undo_restore(table_mem *m, const undo_record *r, const uint64_t *found);
