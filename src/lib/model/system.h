/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A machine's IOMMU state, from one of three sources that answer alike:
 *  - live: the DMAR table from sysfs, each unit's registers through
 *    /dev/mem, RAM through /proc/kcore, devices from libpci and sysfs;
 *  - a snapshot file captured earlier (iommu-snapshot(5));
 *  - a simulated machine (iommu_system_open_simulated()): one unit that
 *    behaves like QEMU's (access/regs-sim.h), its memory an in-memory
 *    image, QEMU's q35 devices.
 * Everything the model layer renders comes from here, so the JSON is the
 * same whichever source answered.
 *
 * A unit iommud owns reads its tables from iommud's table memory: the
 * owner hands the system views of it (iommu_system_set_table_memory()),
 * which the walker reads through an overlay over the machine's RAM, and
 * marks the unit owned (iommu_system_set_iommud_owned()), so its model is
 * built by the same code as every other unit's.
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
        bool iommud_owned; /* iommud wrote its root table: owner is "iommud" */
} iommu_unit;

typedef struct iommu_system {
        const iommu_ctx *ctx; /* live only; borrowed, must outlive the system */
        snapshot *snap;       /* snapshot only */

        void *dmar_raw;
        size_t dmar_size;
        dmar_table *dmar; /* NULL: a snapshot of a machine without a DMAR table */

        size_t n_units;
        iommu_unit *units;

        iommu_ram *ram; /* what the walker reads; NULL when RAM cannot be read: ram_error says why */
        iommu_error ram_error;
        iommu_ram *machine_ram; /* with table memory views: ram overlays them on this (may be NULL) */
        bool overlaid;          /* ram is that overlay */
        iommu_ram *image;       /* simulated: the machine's memory (also machine_ram) */
        char *sim_machine;      /* simulated: the machine file it lives in, or NULL (in the process) */
        int sim_fd;             /* ... open and locked, */
        void *sim_map;          /* ... mapped whole (SIMULATED_MACHINE_SIZE bytes) */
        phys_range *ram_ranges; /* System RAM, for the snapshot */
        size_t n_ram_ranges;

        json_object *devices; /* the device list (model_devices), lazily */
        json_object *meta;    /* snapshot: its meta; live: NULL */
} iommu_system;

int iommu_system_open_live(const iommu_ctx *ctx, iommu_system **ret, iommu_error *err);
int iommu_system_open_snapshot(const char *path, iommu_system **ret, iommu_error *err);

/* iommud --simulate legacy|scalable[:OPTION,...] */
typedef struct iommu_sim_config {
        bool scalable;
        unsigned address_width; /* 39 or 48 (QEMU's aw-bits) */
        bool caching_mode;
        bool kernel; /* a pretend kernel took the unit: a root table and translation on */
        /* iommud --simulated-machine FILE: the machine lives in this file
         * and outlives the process; NULL: in the process (never set by
         * iommu_sim_config_parse(), never in iommu_sim_config_to_string()) */
        const char *machine;
} iommu_sim_config;

/* "legacy" or "scalable", then ":" and options separated by ",": aw39 or
 * aw48 (default), cm (default) or nocm, kernel.  EINVAL with a sentence
 * naming what is wrong. */
int iommu_sim_config_parse(const char *text, iommu_sim_config *ret, iommu_error *err);
/* "scalable:aw48,cm" (options spelled out) */
const char *iommu_sim_config_to_string(const iommu_sim_config *c, char *buf, size_t size);

/* The simulated machine (model/simulate.c): QEMU 7.2's intel-iommu,
 * intremap=off at 0xfed90000, with the CAP and ECAP QEMU gives for the
 * mode, aw-bits and caching mode; System RAM 0x0-0x3fffffff, an in-memory
 * image (s->image); QEMU's q35 PCI devices with edu at 00:03.0; a DMAR
 * table with one DRHD (INCLUDE_PCI_ALL).  The unit's registers
 * (s->units[0].regs) are writable: a test or iommud takes it over.
 * Physical memory from SIMULATED_TABLE_BASE up is left for table memory,
 * from SIMULATED_BUFFER_BASE up for buffers: nothing else is there. */
#define SIMULATED_RAM_END UINT64_C(0x3fffffff)
#define SIMULATED_TABLE_BASE UINT64_C(0x20000000)
#define SIMULATED_BUFFER_BASE UINT64_C(0x30000000)
/* The DMA fault iommud --simulate injects on SIGUSR1: what QEMU records
 * for edu (00:03.0) writing to an IOVA no domain of it maps. */
#define SIMULATED_FAULT_SID UINT16_C(0x0018)
#define SIMULATED_FAULT_IOVA UINT64_C(0x300000)
#define SIMULATED_FAULT_REASON 0x05
/* With c->machine, the machine lives in that file, made (0600) when
 * missing, mapped MAP_SHARED and locked (fcntl) against a second process:
 * what a process killed at any instant (SIGKILL) left is what the next
 * finds, as a real machine's unit and hugetlbfs table memory outlive
 * iommud.  It keeps
 *   0                              the header: SIMULATED_MACHINE_MAGIC,
 *                                  u32 format version (1), u32 mode (0
 *                                  legacy, 1 scalable), u32 aw-bits, u32
 *                                  caching mode (0, 1), u64 the file's size
 *   SIMULATED_MACHINE_UNIT         the unit (access/regs-sim.h, "A unit
 *                                  that outlives the process")
 *   SIMULATED_MACHINE_HELD         a bit a page of the RAM below, set when
 *                                  handed out (iommu_ram_image_has_page())
 *   SIMULATED_MACHINE_RAM          RAM from SIMULATED_TABLE_BASE up to
 *                                  SIMULATED_BUFFER_BASE (table memory),
 *                                  sparse: pages never handed out take no
 *                                  space
 * in the machine's byte order.  A new file starts at reset, as a machine
 * in the process does, and appears whole or not at all.  EINVAL with one
 * sentence naming the file for one that is not a machine file, or of
 * another mode, aw-bits or caching mode, or when c->kernel is set too (a
 * pretend kernel builds its tables anew each time); EBUSY while another
 * process has it; nothing is written to the file then.  Buffers
 * (SIMULATED_BUFFER_BASE up) are not in it: iommud keeps them in files of
 * their own. */
#define SIMULATED_MACHINE_MAGIC "IOMMUSIM"
#define SIMULATED_MACHINE_UNIT UINT64_C(0x1000)
#define SIMULATED_MACHINE_HELD UINT64_C(0x10000)
#define SIMULATED_MACHINE_RAM UINT64_C(0x100000)
#define SIMULATED_MACHINE_SIZE (SIMULATED_MACHINE_RAM + SIMULATED_BUFFER_BASE - SIMULATED_TABLE_BASE)
int iommu_system_open_simulated(const iommu_sim_config *c, iommu_system **ret, iommu_error *err);
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

/* The device a DMAR device scope names (its path followed through the
 * bridges of the device list, which must have been read): ENODEV when a
 * bridge on the way is not there; EINVAL for a scope that is not an
 * endpoint or a bridge, or without a path. */
int iommu_system_scope_device(iommu_system *s, uint16_t segment, const dmar_scope *sc, uint8_t *ret_bus,
                              uint8_t *ret_devfn);

/* Re-read the registers the model shows (VER..FSTS) of every unit that has
 * them, for a fresh answer from a long-lived system.  Snapshots answer
 * alike every time. */
int iommu_system_refresh(iommu_system *s);

/* The walker reads the pages of these views (table memory of the units
 * iommud owns) from them, and everything else from the machine's RAM as
 * before; n 0: from the machine's RAM alone again.  The views stay the
 * caller's and must outlive their use here (until the next call or the
 * system's free). */
int iommu_system_set_table_memory(iommu_system *s, iommu_ram *const *views, size_t n);
/* After a view grew (table memory took a new chunk). */
int iommu_system_update_table_memory(iommu_system *s);

/* iommud took the unit (its owner is "iommud" from now on, whatever its
 * registers say), or gave it back. */
void iommu_system_set_iommud_owned(iommu_system *s, iommu_unit *u, bool owned);

/* Capture everything into a snapshot file. */
int iommu_system_save_snapshot(iommu_system *s, const char *path, iommu_error *err);
