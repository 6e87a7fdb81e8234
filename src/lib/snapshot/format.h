/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The layout of the snapshot file, written once (iommu-snapshot(5)): the
 * reader, the writer and the backends all take their offsets, sizes and
 * rules from here.  Internal to src/lib/snapshot: nothing outside this
 * folder includes it.
 *
 * Every integer in the file is little-endian and read byte by byte, so
 * neither the host's byte order nor its alignment rules matter.
 */

#include <stdbool.h>
#include <stdint.h>

#include "basic/unaligned.h"
#include "snapshot/snapshot.h"

#define SNAPSHOT_MAGIC "IOMMUSNP"
#define SNAPSHOT_MAGIC_SIZE 8

/* The header of version 1, revision 0; later revisions may make it longer. */
#define HEADER_SIZE 64
#define HEADER_VERSION 8
#define HEADER_REVISION 12
#define HEADER_HEADER_SIZE 16
#define HEADER_FLAGS 20
#define HEADER_N_SECTIONS 24
#define HEADER_ENTRY_SIZE 28
#define HEADER_TABLE_OFFSET 32
#define HEADER_FILE_SIZE 40
#define HEADER_TABLE_CRC 48
#define HEADER_CRC 52

/* Flags a reader must understand to read the file; none are defined yet. */
#define FLAGS_INCOMPATIBLE 0x0000ffffu

#define ENTRY_SIZE 32
#define ENTRY_TYPE 0
#define ENTRY_CRC 4
#define ENTRY_OFFSET 8
#define ENTRY_LENGTH 16

#define UNITS_HEADER_SIZE 8
#define UNIT_SIZE 64
#define UNIT_NAME 0
#define UNIT_BASE 32
#define UNIT_WINDOW 40
#define UNIT_SEGMENT 48
#define UNIT_N_REGS 52
#define REG_SIZE 16
#define REG_OFFSET 0
#define REG_WIDTH 4
#define REG_VALUE 8
#define RAM_RANGE_SIZE 16
#define PAGE_INDEX_ENTRY_SIZE 8

#define SECTION_ALIGN 8

/* Real machines have a few dozen units at most; the bound keeps the
 * duplicate-name check cheap on a hostile file. */
#define UNITS_MAX 4096

/* Section types as stored (on disk, the type number is the index + 1). */
typedef enum section_type {
        SECTION_META,
        SECTION_DMAR,
        SECTION_UNITS,
        SECTION_RAM,
        SECTION_PAGE_INDEX,
        SECTION_PAGES,
        _SECTION_MAX,
        _SECTION_INVALID = -EINVAL,
} section_type;

extern const char *const section_names[];

section_type section_type_from_id(uint32_t id) _const_;
/* "PAGES", or "type 0x17" for types of a later revision. */
const char *section_label(uint32_t id, char buf[static 32]);

static inline uint64_t align_up(uint64_t v, uint64_t a) {
        return (v + a - 1) & ~(a - 1);
}

/* The header's CRC covers header_size bytes with its own field as zeros. */
uint32_t header_crc(const uint8_t *h, size_t header_size);

/* Whether the page at a lies inside RAM, ranges that touch continuing each
 * other (as iommu_ram_contains() has it).  Pages are visited in ascending
 * order; *j carries the position in the sorted ranges from call to call. */
bool page_in_ranges(const phys_range *ranges, size_t n, size_t *j, uint64_t a);

bool unit_name_valid(const char *name, size_t max);

/* The reader's state, shared with the backends over it. */
struct snapshot {
        char *path;
        void *map;
        size_t size;
        /* map: anonymous memory as large as the file, holding what was
         * read of it (header, table, every section but PAGES); table pages
         * are read through the descriptor when a walk needs them, so a
         * million-range walk holds a scratch page, not the file, resident. */
        int fd;
        uint64_t pages_offset; /* of section PAGES in the file */

        json_object *meta;
        const uint8_t *dmar;
        size_t dmar_size;
        snapshot_unit *units;
        size_t n_units;
        phys_range *ram;
        size_t n_ram;
        const uint8_t *page_index; /* n_pages little-endian u64, sorted */
        const uint8_t *pages;      /* n_pages * VTD_PAGE_SIZE, in index order */
        size_t n_pages;
};

/* Parses META's text strictly (RFC 8259, one object); both the reader and
 * the writer (which checks what it is about to write) use it.  why says
 * what is wrong, without naming the file. */
int meta_parse(const uint8_t *p, size_t len, json_object **ret, iommu_error *why);

/* Everything a snapshot holds, each section already valid on its own. */
typedef struct contents {
        json_object *meta;
        const uint8_t *dmar;
        size_t dmar_size;
        const snapshot_unit *units; /* registers sorted by offset */
        size_t n_units;
        size_t n_pages;
} contents;

/* The rules across sections (check.c): -EBADMSG, and why, when one is
 * broken. */
int contents_check(const contents *c, iommu_error *why);

/* Every complaint about the file's contents starts with the file's name. */
#define bad(err, path, fmt, ...) iommu_error_set(err, EBADMSG, "snapshot %s: " fmt, path, ##__VA_ARGS__)
