/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A snapshot: one file holding everything a walk needs, to analyse a
 * machine's IOMMU state elsewhere, offline (format: iommu-snapshot(5)).
 *  - meta: a JSON object: the "units" (name, address, sysfs facts, why
 *    registers could not be read), the "devices" list, "ram_error", and
 *    when, where and by what it was captured;
 *  - the raw DMAR table, or nothing for a machine without one;
 *  - per unit, one per DRHD of the table: name ("dmar0"), register base
 *    and size, segment, and the value of every register read (offset,
 *    width, value);
 *  - the "System RAM" ranges of /proc/iomem;
 *  - every table page reachable from each root pointer, 4 KiB each.
 * Reading validates everything before use, each section and the rules
 * across them; a truncated, corrupt, inconsistent or wrong-version file is
 * one error line, "snapshot FILE: ...".
 */

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "access/access.h"
#include "basic/error.h"
#include "decode/dmar.h"

#define SNAPSHOT_FORMAT_VERSION 1
#define SNAPSHOT_UNIT_NAME_MAX 32

typedef struct snapshot_reg {
        uint32_t offset;
        uint8_t width; /* 32 or 64 */
        uint64_t value;
} snapshot_reg;

typedef struct snapshot_unit {
        char name[SNAPSHOT_UNIT_NAME_MAX];
        uint64_t base;
        uint64_t size;
        uint16_t segment;
        size_t n_regs;
        snapshot_reg *regs; /* sorted by offset */
} snapshot_unit;

typedef struct snapshot snapshot;

/* Reads the file and checks all of it (CRCs, bounds, every
 * section's contents, and across sections: META's members and their types,
 * UNITS one to one with the DMAR table's DRHDs, the registers each unit
 * needs) before returning.  -EBADMSG for anything corrupt, truncated or
 * inconsistent, -EPROTONOSUPPORT for another major format version,
 * -EOPNOTSUPP for format features (flags) this reader lacks; the sentence
 * names the file and the problem.  Table pages are read from the file
 * when a walk needs them (only the rest is kept in memory): it must not be
 * changed while it is open. */
int snapshot_open(const char *path, snapshot **ret, iommu_error *err);
snapshot *snapshot_free(snapshot *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(snapshot *, snapshot_free);

const char *snapshot_path(const snapshot *s); /* as given to snapshot_open() */
/* Borrowed; an object with every member iommu-snapshot(5) requires, each
 * of its type. */
json_object *snapshot_meta(const snapshot *s);
/* NULL (and size 0) when the machine had no table. */
const void *snapshot_dmar(const snapshot *s, size_t *ret_size);
/* The table decoded; -ENODEV, "snapshot FILE: no DMAR table ...", when the
 * machine had none. */
int snapshot_dmar_table(const snapshot *s, dmar_table **ret, iommu_error *err);
size_t snapshot_n_units(const snapshot *s);
const snapshot_unit *snapshot_unit_nth(const snapshot *s, size_t i); /* NULL past the end */
const phys_range *snapshot_ram_ranges(const snapshot *s, size_t *ret_n);
size_t snapshot_n_pages(const snapshot *s);

/* Backends over the snapshot; the snapshot must outlive them.  RAM pages
 * not in the snapshot read as -ENODATA ("not captured"), outside the RAM
 * ranges as -ERANGE.  Registers not captured read as -ENODATA, a register
 * read at another width than captured is -EINVAL; they cannot be written
 * (ops->write is NULL).  snapshot_regs() of a unit >= snapshot_n_units()
 * is -EINVAL. */
int snapshot_ram(snapshot *s, iommu_ram **ret);
int snapshot_regs(snapshot *s, size_t unit, iommu_regs **ret);

typedef struct snapshot_writer snapshot_writer;

int snapshot_writer_new(snapshot_writer **ret);
snapshot_writer *snapshot_writer_free(snapshot_writer *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(snapshot_writer *, snapshot_writer_free);
/* The writer copies everything it is given and refuses (-EINVAL) what the
 * reader would refuse, so a written file always reads back. */
/* Takes its own reference to meta, which must be an object (NULL: none
 * yet); whether it has the members iommu-snapshot(5) requires is checked
 * when writing. */
int snapshot_writer_set_meta(snapshot_writer *w, json_object *meta);
/* size 0: the machine has no DMAR table (then no units either). */
int snapshot_writer_set_dmar(snapshot_writer *w, const void *data, size_t size);
/* Registers in any order (sorted here); each 32 or 64 bits wide (a 32-bit
 * value below 2^32), naturally aligned, inside the window, one per offset.
 * A name twice: -EEXIST.  Units are added in the order of their DRHDs. */
int snapshot_writer_add_unit(snapshot_writer *w, const snapshot_unit *u);
/* In any order; overlapping ranges or start > end: -EINVAL. */
int snapshot_writer_set_ram_ranges(snapshot_writer *w, const phys_range *r, size_t n);
/* VTD_PAGE_SIZE bytes at a page-aligned paddr; the same address again
 * replaces the earlier contents. */
int snapshot_writer_add_page(snapshot_writer *w, uint64_t paddr, const void *data);
/* Written to a temporary file next to path (mode 0600: it holds kernel
 * memory), synced, then renamed over path; on failure the temporary file is
 * removed and an existing path is left as it was.  A page outside the RAM
 * ranges is -ERANGE, contents the reader would refuse (a missing or
 * ill-typed META member, units that are not the DRHDs, a unit without the
 * registers it needs) -EINVAL, and nothing is written. */
int snapshot_writer_write(snapshot_writer *w, const char *path, iommu_error *err);
