/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A machine's IOMMU state, from one of two sources that answer alike:
 *  - live: the DMAR table from sysfs, each unit's registers through
 *    /dev/mem, RAM through /proc/kcore, devices from libpci and sysfs;
 *  - a snapshot file captured earlier (iommu-snapshot(5)).
 * Everything the model layer renders comes from here, so the JSON is the
 * same whichever source answered.
 */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "access/access.h"
#include "access/ctx.h"
#include "basic/error.h"
#include "decode/dmar.h"
#include "snapshot/snapshot.h"

typedef enum unit_owner {
        UNIT_OWNER_KERNEL, /* the intel-iommu driver runs it: observe only */
        UNIT_OWNER_IOMMUD,
        UNIT_OWNER_NONE,
        _UNIT_OWNER_MAX,
        _UNIT_OWNER_INVALID = -EINVAL,
} unit_owner;

const char *unit_owner_to_string(unit_owner o) _const_;
unit_owner unit_owner_from_string(const char *s) _pure_;

/* What /sys/class/iommu/dmarN/intel-iommu/ says, when the kernel has it. */
typedef struct unit_sysfs {
        bool present;
        uint64_t cap, ecap, address;
        char version[16]; /* "1:0" */
} unit_sysfs;

typedef struct iommu_unit {
        char name[SNAPSHOT_UNIT_NAME_MAX]; /* "dmar0": DRHD order, as Linux names them */
        size_t drhd_index;                 /* into the DMAR table's structures */
        uint16_t segment;
        uint64_t base, size;
        bool include_pci_all;

        iommu_regs *regs; /* NULL when the registers cannot be read */
        iommu_error regs_error;
        bool have_regs; /* ver..fsts below were read */
        uint64_t ver, cap, ecap, gsts, rtaddr, fsts;

        unit_sysfs sysfs;
        unit_owner owner;
} iommu_unit;

typedef struct iommu_system {
        const iommu_ctx *ctx; /* live only; borrowed, must outlive the system */
        snapshot *snap;       /* snapshot only */

        void *dmar_raw;
        size_t dmar_size;
        dmar_table *dmar; /* NULL: a snapshot of a machine without a DMAR table */

        size_t n_units;
        iommu_unit *units;

        iommu_ram *ram; /* NULL when RAM cannot be read: ram_error says why */
        iommu_error ram_error;
        phys_range *ram_ranges; /* System RAM, for the snapshot */
        size_t n_ram_ranges;

        json_object *devices; /* the device list (model_devices), lazily */
        json_object *meta;    /* snapshot: its meta; live: NULL */
} iommu_system;

int iommu_system_open_live(const iommu_ctx *ctx, iommu_system **ret, iommu_error *err);
int iommu_system_open_snapshot(const char *path, iommu_system **ret, iommu_error *err);
iommu_system *iommu_system_free(iommu_system *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(iommu_system *, iommu_system_free);

/* The DMAR table as JSON (dmar_to_json()); a snapshot of a machine without
 * one answers -ENODEV, "snapshot FILE: no DMAR table ...". */
int iommu_system_dmar_json(iommu_system *s, json_object **ret, iommu_error *err);

/* The device list (devices.h): scanned live once, or the snapshot's. */
int iommu_system_devices(iommu_system *s, json_object **ret, iommu_error *err);

/* The unit translating a device, by sysfs (live, kernel-owned) or the DMAR
 * device scopes (explicit scope first, then the segment's INCLUDE_PCI_ALL
 * unit).  NULL when no unit covers it.  Call iommu_system_devices() first:
 * paths through bridges are resolved with the device list. */
iommu_unit *iommu_system_unit_of(iommu_system *s, uint16_t segment, uint8_t bus, uint8_t devfn);
iommu_unit *iommu_system_unit_by_name(iommu_system *s, const char *name);

/* Re-read the registers the model shows (VER..FSTS) of every unit that has
 * them, for a fresh answer from a long-lived system.  Snapshots answer
 * alike every time. */
int iommu_system_refresh(iommu_system *s);

/* Capture everything into a snapshot file. */
int iommu_system_save_snapshot(iommu_system *s, const char *path, iommu_error *err);
