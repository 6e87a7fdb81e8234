/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The ACPI DMAR table (Intel VT-d specification, chapter 8): parsed from
 * bytes into structs.  Pure: no I/O, no logging.  Problems that make the
 * table unusable are errors (one line in iommu_error); problems a reader can
 * live with (bad checksum, trailing bytes, reserved fields set) are kept as
 * warnings in the result.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "basic/error.h"

#define DMAR_HEADER_SIZE 48      /* 36-byte ACPI header + HAW, flags, 10 reserved */
#define DMAR_MAX_SIZE (1u << 20) /* far beyond any real table; bounds reads */

typedef enum dmar_type {
        DMAR_TYPE_DRHD = 0,
        DMAR_TYPE_RMRR = 1,
        DMAR_TYPE_ATSR = 2,
        DMAR_TYPE_RHSA = 3,
        DMAR_TYPE_ANDD = 4,
        DMAR_TYPE_SATC = 5,
        DMAR_TYPE_SIDP = 6,
        DMAR_TYPE_UNKNOWN, /* any other type id: kept with type_id and length */
        _DMAR_TYPE_MAX,
        _DMAR_TYPE_INVALID = -EINVAL,
} dmar_type;

typedef enum dmar_scope_type {
        DMAR_SCOPE_ENDPOINT = 1,
        DMAR_SCOPE_BRIDGE = 2,
        DMAR_SCOPE_IOAPIC = 3,
        DMAR_SCOPE_HPET = 4,
        DMAR_SCOPE_ACPI_NAMESPACE = 5,
        _DMAR_SCOPE_MAX,
        _DMAR_SCOPE_INVALID = -EINVAL,
} dmar_scope_type;

/* DMAR header flags */
#define DMAR_FLAG_INTR_REMAP 0x01
#define DMAR_FLAG_X2APIC_OPT_OUT 0x02
#define DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN 0x04
/* DRHD, ATSR, SATC flags */
#define DMAR_DRHD_INCLUDE_PCI_ALL 0x01
#define DMAR_ATSR_ALL_PORTS 0x01
#define DMAR_SATC_ATC_REQUIRED 0x01

typedef struct dmar_path_hop {
        uint8_t device;
        uint8_t function;
} dmar_path_hop;

typedef struct dmar_scope {
        uint8_t type_id; /* raw; dmar_scope_type when 1..5 */
        uint8_t length;
        uint8_t flags; /* byte 2: SIDP/VT-d 4.x scope flags, reserved before */
        uint8_t enumeration_id;
        uint8_t start_bus;
        size_t n_path;
        dmar_path_hop *path;
} dmar_scope;

typedef struct dmar_structure {
        dmar_type type;
        uint16_t type_id; /* raw type from the table */
        uint16_t length;
        size_t offset; /* byte offset in the table */

        uint8_t flags;              /* DRHD, ATSR, SATC */
        uint8_t size_raw;           /* DRHD byte 5: register set is 2^size_raw pages (rev 2+) */
        uint16_t segment;           /* DRHD, RMRR, ATSR, SATC, SIDP */
        uint64_t address;           /* DRHD register base; RHSA register base */
        uint64_t base;              /* RMRR */
        uint64_t limit;             /* RMRR, inclusive */
        uint32_t proximity_domain;  /* RHSA */
        uint8_t acpi_device_number; /* ANDD */
        char *object_name;          /* ANDD, NUL-terminated copy */

        size_t n_scopes;
        dmar_scope *scopes;
} dmar_structure;

typedef struct dmar_table {
        char signature[5];
        uint32_t length;
        uint8_t revision;
        uint8_t checksum;
        bool checksum_valid;
        char oem_id[7];
        char oem_table_id[9];
        uint32_t oem_revision;
        char creator_id[5];
        uint32_t creator_revision;

        uint16_t host_address_width; /* bits: the table's value + 1 (up to 256) */
        uint8_t flags;

        size_t n_structures;
        dmar_structure *structures;

        size_t n_warnings;
        char **warnings;
} dmar_table;

const char *dmar_type_to_string(dmar_type t) _const_;
dmar_type dmar_type_from_string(const char *s) _pure_;
const char *dmar_scope_type_to_string(dmar_scope_type t) _const_;
dmar_scope_type dmar_scope_type_from_string(const char *s) _pure_;

/* Parse size bytes of a DMAR table.  On success *ret owns a copy of
 * everything it refers to. */
int dmar_parse(const void *data, size_t size, dmar_table **ret, iommu_error *err);
dmar_table *dmar_table_free(dmar_table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(dmar_table *, dmar_table_free);

/* Whether a DRHD states its register-set size: revision 2 and later, or a
 * non-zero byte 5 in an older table. */
bool dmar_drhd_has_size(const dmar_table *t, const dmar_structure *s);
/* Register-set size in bytes of a DRHD (4 KiB when it states none). */
uint64_t dmar_drhd_register_size(const dmar_table *t, const dmar_structure *s);

/* The one JSON model of the table, names as in DESIGN.md. */
json_object *dmar_to_json(const dmar_table *t);
