/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Layer 6, control: a unit iommud owns, with its domains and devices.
 *
 * Taking a unit (owned_unit_new) needs it left alone: translation off and
 * no queued invalidation or interrupt remapping on (the kernel's driver
 * would have them); iommud then writes its own root table, RTADDR, SRTP,
 * starts its invalidation backend (queued where ECAP.QI) and invalidates
 * globally (unless CAP.ESRTPS).  power on sets TE; power off clears it.
 *
 * Domains: paging (second-stage tables iommud builds, map/unmap),
 * identity (tables mapping System RAM 1:1), blocked (no present entry)
 * and pass-through (ECAP.PT).  DIDs come from CAP.ND; DID 0 is reserved
 * under caching mode (CAP.CM).  A device is attached to one domain, or
 * follows the default policy (a pass-through, identity or blocked domain
 * of the unit's own, made when the unit is taken).  Every RMRR region is
 * identity-mapped, for the devices in its scope, in every domain they
 * join.
 *
 * Lifecycle rules (DESIGN.md): everything a change can fail on is checked
 * before the hardware is touched, so a refused or failed change leaves it
 * as it was; moving a device clears its entry's present bit (the device is
 * blocked meanwhile), invalidates the context cache for it and the IOTLB
 * of its old domain, then installs the new entry; it never passes through
 * an identity domain.  Every change issues the narrowest invalidation that
 * is correct by itself: page-selective IOTLB (PASID-based in scalable
 * mode) for a map under caching mode and for an unmap, domain-selective
 * where page-selective cannot cover the range, a write-buffer flush where
 * CAP.RWBF asks for one.
 */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "access/tablemem.h"
#include "basic/error.h"
#include "control/entries.h"
#include "control/hw.h"
#include "control/invalidate.h"
#include "control/pagetable.h"

typedef enum domain_type {
        DOMAIN_PAGING,
        DOMAIN_IDENTITY,
        DOMAIN_BLOCKED,
        DOMAIN_PASSTHROUGH,
        _DOMAIN_TYPE_MAX,
        _DOMAIN_TYPE_INVALID = -EINVAL,
} domain_type;

/* "paging", "identity", "blocked", "passthrough" */
const char *domain_type_to_string(domain_type t) _const_;
domain_type domain_type_from_string(const char *s) _pure_;

/* The default policy is the domain type devices attached to none follow:
 * passthrough, identity or blocked. */

typedef struct rmrr_region {
        uint64_t base, limit; /* inclusive */
        size_t n_devices;
        struct {
                uint8_t bus, devfn;
        } devices[16];
} rmrr_region;

typedef struct owned_unit_config {
        unit_mode mode;             /* scalable needs ECAP.SMTS */
        domain_type default_policy; /* PASSTHROUGH (needs ECAP.PT), IDENTITY or BLOCKED */
        const phys_range *ram;      /* System RAM, for identity domains */
        size_t n_ram;
        const rmrr_region *rmrrs;
        size_t n_rmrrs;
        /* devices behind the unit: they follow the default policy from the start */
        const uint16_t *devices; /* bus << 8 | devfn */
        size_t n_devices;
        bool register_invalidation; /* the register backend even where ECAP.QI */
} owned_unit_config;

typedef struct owned_unit owned_unit;

/* Take the unit: refused (EBUSY, naming what is on) unless translation,
 * queued invalidation and interrupt remapping are off. */
int owned_unit_new(const char *name, iommu_regs *regs, table_mem *mem, const owned_unit_config *config,
                   owned_unit **ret, iommu_error *err);
/* Take back a unit an earlier iommud owned and left translating (killed,
 * or stopped with StopPolicy=keep), from mem (table_mem_reopen_*: the
 * memory its tables are in) and saved, the unit's object of the state
 * file (control/state.h).  Nothing is written to the registers or to
 * memory: devices keep translating throughout.  The unit must agree with
 * saved, else EPROTO with one line naming the unit and the first
 * disagreement: translation on (GSTS.TES); RTADDR the saved root table,
 * its TTM the mode; queued invalidation on exactly when saved says
 * "queued"; every saved domain's tables taken back from its "page_table"
 * and mapping exactly its "mappings"; the entry of every device (config's,
 * the saved ones, any with a present entry) what owned_unit would have
 * installed for the domain saved puts it in, or the default policy's,
 * with its RMRR regions identity-mapped.  config is what the unit was
 * taken with (mode, policy, RAM, RMRRs, devices).  The adopted unit then
 * behaves as the one that made the tables.  On a refusal nothing stays
 * claimed in mem; the caller keeps mem, which hardware walks. */
int owned_unit_adopt(const char *name, iommu_regs *regs, table_mem *mem, const owned_unit_config *config,
                     json_object *saved, owned_unit **ret, iommu_error *err);
/* Give it back: translation off, the queue stopped, every table freed.
 * Tables are freed only once translation is off. */
int owned_unit_release(owned_unit *u, iommu_error *err);
owned_unit *owned_unit_free(owned_unit *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(owned_unit *, owned_unit_free);

unit_hw *owned_unit_hw(owned_unit *u);
unit_mode owned_unit_mode(const owned_unit *u);
uint64_t owned_unit_rtaddr(const owned_unit *u);
const inv_counts *owned_unit_invalidations(const owned_unit *u);
invalidator_kind owned_unit_invalidator(const owned_unit *u);

/* GCMD.TE, and wait for GSTS.TES. */
int owned_unit_power(owned_unit *u, bool on, iommu_error *err);

/* A domain: did -1 for the lowest free DID.  EEXIST for a DID in use,
 * ERANGE outside CAP.ND (or 0 under caching mode), EOPNOTSUPP for
 * pass-through without ECAP.PT.  Paging domains have the largest address
 * width CAP.SAGAW allows up to 48 bits (4 levels; 3 where only 39). */
int owned_unit_domain_create(owned_unit *u, domain_type type, int did, uint16_t *ret_did, iommu_error *err);
/* EBUSY while devices are attached; ENOENT for no such domain; the
 * default policy's domain is not the caller's to destroy (EPERM). */
int owned_unit_domain_destroy(owned_unit *u, uint16_t did, iommu_error *err);

/* Attach a device (bus, devfn) to a domain; detach returns it to the
 * default policy.  EALREADY when it is there already. */
int owned_unit_attach(owned_unit *u, uint8_t bus, uint8_t devfn, uint16_t did, iommu_error *err);
int owned_unit_detach(owned_unit *u, uint8_t bus, uint8_t devfn, iommu_error *err);

/* Paging domains only (EINVAL otherwise); page_table_map/unmap's
 * refusals, and unmapping an RMRR region of an attached device (EPERM). */
int owned_unit_map(owned_unit *u, uint16_t did, uint64_t iova, uint64_t phys, uint64_t length,
                   unsigned perms, iommu_error *err);
int owned_unit_unmap(owned_unit *u, uint16_t did, uint64_t iova, uint64_t length, iommu_error *err);

/* By hand (iommuctl invalidate): what global, domain did, or the pages of
 * [iova, iova + 2^order pages) in domain did. */
typedef enum invalidate_what {
        INVALIDATE_GLOBAL,
        INVALIDATE_DOMAIN,
        INVALIDATE_PAGE,
} invalidate_what;
int owned_unit_invalidate(owned_unit *u, invalidate_what what, uint16_t did, uint64_t iova, unsigned order,
                          iommu_error *err);

/* Read the fault recording registers, clear each F that is set (and
 * FSTS.PFO), so that later faults are recorded: how many were cleared. */
int owned_unit_clear_faults(owned_unit *u, unsigned *ret_cleared, iommu_error *err);
uint64_t owned_unit_faults_cleared(const owned_unit *u);

/* The domain a device is in: its DID, or -1 (the default policy). */
int owned_unit_device_domain(const owned_unit *u, uint8_t bus, uint8_t devfn);

/* {"unit", "mode", "default_policy", "invalidation", "domains": [{"domain",
 *  "type", "address_width", "page_table" (the top table's address, null
 *  without tables), "default", "devices": [bdf...], "mapped": bytes}],
 *  "table_pages"} for info. */
json_object *owned_unit_to_json(const owned_unit *u, uint16_t segment);

/* Where the domain's tables are, for the walker: root and levels (0 for a
 * domain without tables); -ENOENT for no such domain. */
int owned_unit_domain_info(const owned_unit *u, uint16_t did, domain_type *ret_type, uint64_t *ret_mapped,
                           unsigned *ret_address_width);
/* What a domain's tables map (page_table_ranges; nothing for a domain
 * without tables); -ENOENT for no such domain.  An identity domain's RAM
 * and a paging domain's RMRR regions are among them. */
int owned_unit_domain_ranges(const owned_unit *u, uint16_t did, page_table_range_fn fn, void *userdata);
