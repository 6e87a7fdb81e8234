/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A unit iommud owns: taking it, domains, devices, maps, faults (unit.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/alloc-util.h"
#include "basic/hashmap.h"
#include "basic/json-util.h"
#include "basic/string-table.h"
#include "control/unit.h"
#include "decode/regs.h"
#include "model/devices.h"

static const char *const domain_type_table[_DOMAIN_TYPE_MAX] = {
        [DOMAIN_PAGING] = "paging",
        [DOMAIN_IDENTITY] = "identity",
        [DOMAIN_BLOCKED] = "blocked",
        [DOMAIN_PASSTHROUGH] = "passthrough",
};
DEFINE_STRING_TABLE_LOOKUP(domain_type, domain_type, domain_type_table, _DOMAIN_TYPE_MAX,
                           _DOMAIN_TYPE_INVALID)

#define MAX_PAGE_REQUESTS 16 /* beyond them, one domain-selective invalidation */

typedef struct domain {
        domain_type type;
        uint16_t did;
        page_table *pt;       /* paging, identity */
        bool is_default;      /* the default policy's */
        size_t n_devices;     /* attached explicitly, or following the default */
        uint64_t rmrr_mapped; /* bitmap of cfg rmrrs identity-mapped here */
} domain;

struct owned_unit {
        char name[32];
        unit_hw hw;
        table_mem *mem;
        unit_mode mode;
        domain_type policy;
        phys_range *ram;
        size_t n_ram;
        rmrr_region *rmrrs;
        size_t n_rmrrs;

        unit_tables *tables;
        invalidator *inv;
        unsigned levels; /* of every domain's tables */
        bool cm;         /* caching mode: not-present entries may be cached */

        hashmap domains; /* DID -> domain * */
        hashmap devices; /* bus << 8 | devfn -> DID + 1 of the domain it was attached to */
        int default_did; /* -1: blocked policy */
        page_table_garbage garbage;
        uint64_t faults_cleared;
};

unit_hw *owned_unit_hw(owned_unit *u) {
        return &u->hw;
}

unit_mode owned_unit_mode(const owned_unit *u) {
        return u->mode;
}

uint64_t owned_unit_rtaddr(const owned_unit *u) {
        return unit_tables_rtaddr(u->tables);
}

const inv_counts *owned_unit_invalidations(const owned_unit *u) {
        return invalidator_counts(u->inv);
}

invalidator_kind owned_unit_invalidator(const owned_unit *u) {
        return invalidator_get_kind(u->inv);
}

uint64_t owned_unit_faults_cleared(const owned_unit *u) {
        return u->faults_cleared;
}

static domain *domain_of(const owned_unit *u, uint16_t did) {
        return hashmap_get_ptr(&u->domains, did);
}

static uint64_t n_dids(const owned_unit *u) {
        return UINT64_C(1) << (4 + 2 * FIELD_GET(CAP, ND, &u->hw.cap));
}

static bool scalable(const owned_unit *u) {
        return u->mode == UNIT_MODE_SCALABLE;
}

static void bdf_text(char *buf, size_t size, uint8_t bus, uint8_t devfn) {
        snprintf(buf, size, "%02x:%02x.%x", bus, devfn >> 3, devfn & 7);
}

/* ---- invalidations, the narrowest correct for each change ---- */

static int inv(owned_unit *u, const inv_request *r, size_t n, iommu_error *err) {
        return invalidate(u->inv, r, n, err);
}

/* The IOTLB of domain did for [iova, iova + length): page-selective where
 * it covers the range in a few requests, else domain-selective. */
static int inv_range(owned_unit *u, uint16_t did, uint64_t iova, uint64_t length, iommu_error *err) {
        inv_request r[MAX_PAGE_REQUESTS];
        size_t n = inv_page_requests(u->hw.cap, did, iova, length, false, r, MAX_PAGE_REQUESTS);

        if (n == 0) {
                r[0] = (inv_request){ .kind = INV_KIND_IOTLB,
                                      .granularity = INV_GRANULARITY_DOMAIN,
                                      .did = did,
                                      .drain_read = FIELD_GET(CAP, DRD, &u->hw.cap),
                                      .drain_write = FIELD_GET(CAP, DWD, &u->hw.cap) };
                n = 1;
        }
        return inv(u, r, n, err);
}

/* The invalidations of one device's entry in domain did: its context
 * cache (tagged cc_did), the PASID cache of its PASID 0 in scalable mode,
 * the IOTLB of the domain. */
static int inv_device_entry(owned_unit *u, uint8_t bus, uint8_t devfn, uint16_t cc_did, uint16_t did,
                            iommu_error *err) {
        inv_request r[3];
        size_t n = 0;

        r[n++] = (inv_request){ .kind = INV_KIND_CONTEXT_CACHE,
                                .granularity = INV_GRANULARITY_DEVICE,
                                .did = cc_did,
                                .sid = (uint16_t) (bus << 8 | devfn) };
        if (scalable(u))
                r[n++] = (inv_request){ .kind = INV_KIND_PASID_CACHE,
                                        .granularity = 1 /* PASID */,
                                        .did = did };
        r[n++] = (inv_request){ .kind = INV_KIND_IOTLB,
                                .granularity = INV_GRANULARITY_DOMAIN,
                                .did = did,
                                .drain_read = FIELD_GET(CAP, DRD, &u->hw.cap),
                                .drain_write = FIELD_GET(CAP, DWD, &u->hw.cap) };
        return inv(u, r, n, err);
}

/* After an entry of (bus, devfn) in domain did went away (present bit
 * cleared). */
static int inv_entry_gone(owned_unit *u, uint8_t bus, uint8_t devfn, uint16_t did, iommu_error *err) {
        return inv_device_entry(u, bus, devfn, did, did, err);
}

/* After an entry became present: under caching mode the not-present one
 * may be cached (the same invalidations, for the new domain); otherwise a
 * write-buffer flush where CAP.RWBF. */
static int inv_entry_new(owned_unit *u, uint8_t bus, uint8_t devfn, uint16_t did, iommu_error *err) {
        if (!u->cm)
                return invalidator_flush_write_buffer(u->inv, err);
        /* a not-present context entry is cached under DID 0 in caching
         * mode (VT-d 6.1; Linux's domain_context_mapping_one flushes so) */
        return inv_device_entry(u, bus, devfn, 0, did, err);
}

/* After entries became present in domain did's tables. */
static int inv_mapped(owned_unit *u, uint16_t did, uint64_t iova, uint64_t length, iommu_error *err) {
        if (u->cm)
                return inv_range(u, did, iova, length, err);
        return invalidator_flush_write_buffer(u->inv, err);
}

static int inv_global(owned_unit *u, iommu_error *err) {
        inv_request r[3];
        size_t n = 0;

        r[n++] = (inv_request){ .kind = INV_KIND_CONTEXT_CACHE, .granularity = INV_GRANULARITY_GLOBAL };
        if (scalable(u))
                r[n++] = (inv_request){ .kind = INV_KIND_PASID_CACHE, .granularity = 3 /* global */ };
        r[n++] = (inv_request){ .kind = INV_KIND_IOTLB,
                                .granularity = INV_GRANULARITY_GLOBAL,
                                .drain_read = FIELD_GET(CAP, DRD, &u->hw.cap),
                                .drain_write = FIELD_GET(CAP, DWD, &u->hw.cap) };
        return inv(u, r, n, err);
}

/* ---- domains ---- */

static int domain_entry(const owned_unit *u, const domain *d, device_entry *ret) {
        switch (d->type) {
        case DOMAIN_BLOCKED:
                *ret = (device_entry){ .translation = ENTRY_BLOCKED };
                return 0;
        case DOMAIN_PASSTHROUGH:
                *ret = (device_entry){ .translation = ENTRY_PASS_THROUGH,
                                       .did = d->did,
                                       .levels = u->levels };
                return 0;
        default:
                *ret = (device_entry){ .translation = ENTRY_PAGING,
                                       .did = d->did,
                                       .root = page_table_root(d->pt),
                                       .levels = u->levels };
                return 0;
        }
}

static domain *domain_free(owned_unit *u, domain *d) {
        if (!d)
                return NULL;
        page_table_free(d->pt);
        free(d);
        return NULL;
}

/* Identity: System RAM 1:1, read and write. */
static int identity_map(owned_unit *u, domain *d, iommu_error *err) {
        uint64_t top = UINT64_C(1) << page_table_address_width(d->pt);

        for (size_t i = 0; i < u->n_ram; i++) {
                uint64_t start = u->ram[i].start & ~UINT64_C(0xfff), end = (u->ram[i].end | 0xfff) + 1;
                int r;

                if (start >= top)
                        continue;
                if (end > top)
                        end = top;
                r = page_table_map(d->pt, start, start, end - start, PT_READ | PT_WRITE, err);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        return 0;
}

int owned_unit_domain_create(owned_unit *u, domain_type type, int did, uint16_t *ret_did, iommu_error *err) {
        domain *d;
        uint64_t first = u->cm ? 1 : 0, id;
        int r;

        if (type < 0 || type >= _DOMAIN_TYPE_MAX)
                return iommu_error_set(err, EINVAL, "Unknown domain type");
        if (type == DOMAIN_PASSTHROUGH && !FIELD_GET(ECAP, PT, &u->hw.ecap))
                return iommu_error_set(err, EOPNOTSUPP, "%s cannot pass requests through (ECAP.PT is 0)",
                                       u->name);
        if (did >= 0) {
                if ((uint64_t) did < first || (uint64_t) did >= n_dids(u))
                        return iommu_error_set(err, ERANGE,
                                               "Domain ID %d is outside %s's %" PRIu64 "..%" PRIu64 "%s",
                                               did, u->name, first, n_dids(u) - 1,
                                               u->cm ? " (DID 0 is reserved under caching mode)" : "");
                if (domain_of(u, (uint16_t) did))
                        return iommu_error_set(err, EEXIST, "Domain %d exists on %s", did, u->name);
                id = (uint64_t) did;
        } else {
                for (id = first; id < n_dids(u) && domain_of(u, (uint16_t) id); id++)
                        ;
                if (id >= n_dids(u))
                        return iommu_error_set(err, ENOSPC, "%s has no free domain ID (CAP.ND)", u->name);
        }
        d = calloc(1, sizeof *d);
        if (!d)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *d = (domain){ .type = type, .did = (uint16_t) id };
        if (type == DOMAIN_PAGING || type == DOMAIN_IDENTITY) {
                page_table_config c = { .levels = u->levels,
                                        .cap = u->hw.cap,
                                        .coherent = FIELD_GET(ECAP, C, &u->hw.ecap) };
                r = page_table_new(u->mem, &c, &d->pt, err);
                if (r >= 0 && type == DOMAIN_IDENTITY)
                        r = identity_map(u, d, err);
                if (r < 0) {
                        domain_free(u, d);
                        return r;
                }
        }
        r = hashmap_put(&u->domains, d->did, HASHMAP_PTR(d));
        if (r < 0) {
                domain_free(u, d);
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        if (ret_did)
                *ret_did = d->did;
        return 0;
}

int owned_unit_domain_destroy(owned_unit *u, uint16_t did, iommu_error *err) {
        domain *d = domain_of(u, did);

        if (!d)
                return iommu_error_set(err, ENOENT, "%s has no domain %u", u->name, did);
        if (d->is_default)
                return iommu_error_set(err, EPERM, "Domain %u is %s's default policy (%s): it stays", did,
                                       u->name, domain_type_to_string(d->type));
        if (d->n_devices > 0)
                return iommu_error_set(err, EBUSY,
                                       "Domain %u of %s has %zu device%s attached: detach %s first", did,
                                       u->name, d->n_devices, d->n_devices == 1 ? "" : "s",
                                       d->n_devices == 1 ? "it" : "them");
        (void) hashmap_remove(&u->domains, did, NULL);
        /* no device's entry points at its tables: nothing walks them */
        domain_free(u, d);
        return 0;
}

int owned_unit_domain_info(const owned_unit *u, uint16_t did, domain_type *ret_type, uint64_t *ret_mapped,
                           unsigned *ret_address_width) {
        const domain *d = domain_of(u, did);

        if (!d)
                return -ENOENT;
        if (ret_type)
                *ret_type = d->type;
        if (ret_mapped)
                *ret_mapped = d->pt ? page_table_mapped(d->pt) : 0;
        if (ret_address_width)
                *ret_address_width = d->pt ? page_table_address_width(d->pt) : 0;
        return 0;
}

int owned_unit_domain_ranges(const owned_unit *u, uint16_t did, page_table_range_fn fn, void *userdata) {
        const domain *d = domain_of(u, did);

        if (!d)
                return -ENOENT;
        return d->pt ? page_table_ranges(d->pt, fn, userdata) : 0;
}

/* ---- devices ---- */

int owned_unit_device_domain(const owned_unit *u, uint8_t bus, uint8_t devfn) {
        uint64_t v;

        if (hashmap_get(&u->devices, (uint64_t) bus << 8 | devfn, &v) && v > 0)
                return (int) (v - 1);
        return -1;
}

/* The domain a device is in now: its own, else the default's (NULL:
 * blocked). */
static domain *device_domain(const owned_unit *u, uint8_t bus, uint8_t devfn) {
        uint64_t v;

        if (hashmap_get(&u->devices, (uint64_t) bus << 8 | devfn, &v) && v > 0)
                return domain_of(u, (uint16_t) (v - 1));
        return u->default_did >= 0 ? domain_of(u, (uint16_t) u->default_did) : NULL;
}

/* The RMRR regions of a device, identity-mapped in domain d (paging or
 * identity) where they are not yet. */
static int map_rmrrs(owned_unit *u, domain *d, uint8_t bus, uint8_t devfn, iommu_error *err) {
        for (size_t i = 0; i < u->n_rmrrs && d->pt; i++) {
                const rmrr_region *m = &u->rmrrs[i];
                bool scoped = false;
                uint64_t start = m->base & ~UINT64_C(0xfff), length = (m->limit | 0xfff) + 1 - start;
                int r;

                for (size_t k = 0; k < m->n_devices; k++)
                        scoped |= m->devices[k].bus == bus && m->devices[k].devfn == devfn;
                if (!scoped || (i < 64 && (d->rmrr_mapped & (UINT64_C(1) << i))))
                        continue;
                iommu_error e = {};
                r = page_table_map(d->pt, start, start, length, PT_READ | PT_WRITE, &e);
                if (r == -EEXIST && d->type == DOMAIN_IDENTITY)
                        r = 0; /* RAM already 1:1 */
                if (r < 0)
                        return iommu_error_set(err, -r,
                                               "RMRR 0x%" PRIx64 "-0x%" PRIx64
                                               " cannot be mapped in domain %u: %s",
                                               m->base, m->limit, d->did, e.message);
                if (i < 64)
                        d->rmrr_mapped |= UINT64_C(1) << i;
                r = inv_mapped(u, d->did, start, length, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Move a device from wherever it is to domain to (NULL: the blocked
 * default policy); to_default: it follows the default policy from now. */
static int move_device(owned_unit *u, uint8_t bus, uint8_t devfn, domain *to, bool to_default,
                       iommu_error *err) {
        domain *from = device_domain(u, bus, devfn);
        device_entry old, e = { .translation = ENTRY_BLOCKED };
        uint64_t key = (uint64_t) bus << 8 | devfn;
        bool had_key = hashmap_get(&u->devices, key, NULL), cleared = false, installed = false;
        int r;

        /* what can fail, before the hardware sees a change (the map is
         * grown first so that recording the move cannot fail after it) */
        if (!to_default && hashmap_put(&u->devices, key, 0) < 0)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        if (to && to->type != DOMAIN_BLOCKED) {
                r = map_rmrrs(u, to, bus, devfn, err);
                if (r >= 0)
                        r = domain_entry(u, to, &e);
                if (r < 0)
                        goto undo;
        }
        old = unit_tables_get(u->tables, bus, devfn);
        if (old.translation != ENTRY_BLOCKED) {
                r = unit_tables_clear(u->tables, bus, devfn, NULL, err);
                if (r < 0)
                        goto undo;
                cleared = true;
                r = inv_entry_gone(u, bus, devfn, old.did, err);
                if (r < 0)
                        goto undo;
        }
        if (e.translation != ENTRY_BLOCKED) {
                r = unit_tables_install(u->tables, bus, devfn, &e, err);
                if (r < 0)
                        goto undo;
                installed = true;
                r = inv_entry_new(u, bus, devfn, e.did, err);
                if (r < 0)
                        goto undo;
        }
        if (from)
                from->n_devices--;
        if (to)
                to->n_devices++;
        if (to_default)
                (void) hashmap_remove(&u->devices, key, NULL);
        else
                (void) hashmap_replace(&u->devices, key, (uint64_t) to->did + 1);
        return 0;

undo:
        /* The device stays where it was: in the map (a key added for the
         * move goes again; one that was there kept its value) and, as far
         * as the unit lets us, in the tables; the invalidations are the
         * best that can be done after one failed. */
        if (!to_default && !had_key)
                (void) hashmap_remove(&u->devices, key, NULL);
        if (installed && unit_tables_clear(u->tables, bus, devfn, NULL, NULL) >= 0)
                (void) inv_entry_gone(u, bus, devfn, e.did, NULL);
        if (cleared && unit_tables_install(u->tables, bus, devfn, &old, NULL) >= 0)
                (void) inv_entry_new(u, bus, devfn, old.did, NULL);
        return r;
}

int owned_unit_attach(owned_unit *u, uint8_t bus, uint8_t devfn, uint16_t did, iommu_error *err) {
        domain *d = domain_of(u, did);
        char bdf[16];

        bdf_text(bdf, sizeof bdf, bus, devfn);
        if (!d)
                return iommu_error_set(err, ENOENT, "%s has no domain %u", u->name, did);
        if (owned_unit_device_domain(u, bus, devfn) == (int) did)
                return iommu_error_set(err, EALREADY, "%s is in domain %u already", bdf, did);
        return move_device(u, bus, devfn, d, false, err);
}

int owned_unit_detach(owned_unit *u, uint8_t bus, uint8_t devfn, iommu_error *err) {
        char bdf[16];

        bdf_text(bdf, sizeof bdf, bus, devfn);
        if (owned_unit_device_domain(u, bus, devfn) < 0)
                return iommu_error_set(err, EALREADY,
                                       "%s is attached to no domain: it follows the default policy", bdf);
        return move_device(u, bus, devfn,
                           u->default_did >= 0 ? domain_of(u, (uint16_t) u->default_did) : NULL, true, err);
}

/* ---- maps ---- */

static int paging_domain(owned_unit *u, uint16_t did, domain **ret, iommu_error *err) {
        domain *d = domain_of(u, did);

        if (!d)
                return iommu_error_set(err, ENOENT, "%s has no domain %u", u->name, did);
        if (d->type != DOMAIN_PAGING)
                return iommu_error_set(err, EINVAL,
                                       "Domain %u is a %s domain: only paging domains take mappings", did,
                                       domain_type_to_string(d->type));
        *ret = d;
        return 0;
}

int owned_unit_map(owned_unit *u, uint16_t did, uint64_t iova, uint64_t phys, uint64_t length,
                   unsigned perms, iommu_error *err) {
        domain *d;
        int r = paging_domain(u, did, &d, err);

        if (r < 0)
                return r;
        r = page_table_map(d->pt, iova, phys, length, perms, err);
        if (r < 0)
                return r;
        return inv_mapped(u, did, iova, length, err);
}

int owned_unit_unmap(owned_unit *u, uint16_t did, uint64_t iova, uint64_t length, iommu_error *err) {
        domain *d;
        int r = paging_domain(u, did, &d, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < u->n_rmrrs && i < 64; i++) {
                const rmrr_region *m = &u->rmrrs[i];
                if ((d->rmrr_mapped & (UINT64_C(1) << i)) && iova <= m->limit && m->base < iova + length)
                        return iommu_error_set(err, EPERM,
                                               "0x%" PRIx64 "+0x%" PRIx64 " holds RMRR 0x%" PRIx64
                                               "-0x%" PRIx64 ", which firmware needs mapped for its devices",
                                               iova, length, m->base, m->limit);
        }
        r = page_table_unmap(d->pt, iova, length, &u->garbage, err);
        if (r >= 0)
                r = inv_range(u, did, iova, length, err);
        /* the unlinked tables go back only once the invalidation is done */
        if (r >= 0)
                page_table_release(d->pt, &u->garbage);
        return r;
}

int owned_unit_invalidate(owned_unit *u, invalidate_what what, uint16_t did, uint64_t iova, unsigned order,
                          iommu_error *err) {
        inv_request r[2];

        switch (what) {
        case INVALIDATE_GLOBAL:
                return inv_global(u, err);
        case INVALIDATE_DOMAIN:
                if (!domain_of(u, did))
                        return iommu_error_set(err, ENOENT, "%s has no domain %u", u->name, did);
                r[0] = (inv_request){ .kind = INV_KIND_CONTEXT_CACHE,
                                      .granularity = INV_GRANULARITY_DOMAIN,
                                      .did = did };
                r[1] = (inv_request){ .kind = INV_KIND_IOTLB,
                                      .granularity = INV_GRANULARITY_DOMAIN,
                                      .did = did };
                return inv(u, r, 2, err);
        case INVALIDATE_PAGE:
                if (!domain_of(u, did))
                        return iommu_error_set(err, ENOENT, "%s has no domain %u", u->name, did);
                if (iova % VTD_PAGE_SIZE || order > FIELD_GET(CAP, MAMV, &u->hw.cap) ||
                    (iova >> 12) % (UINT64_C(1) << order))
                        return iommu_error_set(
                                err, EINVAL,
                                "A page-selective invalidation takes a 4 KiB aligned IOVA aligned "
                                "to its 2^order pages, order up to CAP.MAMV %" PRIu64,
                                FIELD_GET(CAP, MAMV, &u->hw.cap));
                if (!FIELD_GET(CAP, PSI, &u->hw.cap))
                        return iommu_error_set(err, EOPNOTSUPP,
                                               "%s has no page-selective invalidation (CAP.PSI 0)", u->name);
                r[0] = (inv_request){ .kind = INV_KIND_IOTLB,
                                      .granularity = INV_GRANULARITY_PAGE,
                                      .did = did,
                                      .addr = iova,
                                      .am = (uint8_t) order };
                return inv(u, r, 1, err);
        }
        return iommu_error_set(err, EINVAL, "Unknown invalidation");
}

/* ---- faults ---- */

int owned_unit_clear_faults(owned_unit *u, unsigned *ret_cleared, iommu_error *err) {
        unsigned n = (unsigned) FIELD_GET(CAP, NFR, &u->hw.cap) + 1, cleared = 0;
        uint64_t fsts = 0, base = FIELD_GET(CAP, FRO, &u->hw.cap) * 16;
        int r;

        for (unsigned i = 0; i < n; i++) {
                uint64_t v[LAYOUT_MAX_QWORDS];

                r = iommu_regs_read_layout(u->hw.regs, &layout_frcd, u->hw.cap, u->hw.ecap, i, v, err);
                if (r < 0)
                        return r;
                if (!FIELD_GET(FRCD, F, v))
                        continue;
                /* F is write-1-to-clear, bit 31 of the record's top dword */
                r = iommu_regs_write(u->hw.regs, (uint32_t) (base + (uint64_t) i * FRCD_STRIDE + 12), 32,
                                     UINT32_C(1) << 31, err);
                if (r < 0)
                        return r;
                cleared++;
        }
        r = unit_hw_read(&u->hw, &layout_fsts, &fsts, err);
        if (r >= 0 && FIELD_GET(FSTS, PFO, &fsts))
                r = unit_hw_write(&u->hw, &layout_fsts, FIELD_MASK64(FSTS, PFO), err);
        if (r < 0)
                return r;
        u->faults_cleared += cleared;
        if (ret_cleared)
                *ret_cleared = cleared;
        return 0;
}

/* ---- the unit ---- */

static unsigned levels_for(uint64_t cap) {
        uint64_t sagaw = FIELD_GET(CAP, SAGAW, &cap);

        if (sagaw & (1 << AW_48_BIT))
                return 4;
        if (sagaw & (1 << AW_39_BIT))
                return 3;
        if (sagaw & (1 << AW_57_BIT))
                return 5;
        return 0;
}

static int start_unit(owned_unit *u, const owned_unit_config *config, iommu_error *err);

int owned_unit_power(owned_unit *u, bool on, iommu_error *err) {
        return unit_hw_enable(&u->hw, (uint32_t) FIELD_MASK64(GCMD, TE), on, err);
}

/* A unit with no domain and no device yet, or NULL (out of memory). */
static owned_unit *unit_alloc(table_mem *mem, const owned_unit_config *config) {
        owned_unit *u = calloc(1, sizeof *u);

        if (u)
                *u = (owned_unit){ .mem = mem,
                                   .mode = config->mode,
                                   .policy = config->default_policy,
                                   .domains = HASHMAP_INIT,
                                   .devices = HASHMAP_INIT,
                                   .default_did = -1 };
        return u;
}

int owned_unit_new(const char *name, iommu_regs *regs, table_mem *mem, const owned_unit_config *config,
                   owned_unit **ret, iommu_error *err) {
        _cleanup_(owned_unit_freep) owned_unit *u = NULL;
        uint32_t gsts;
        int r;

        u = unit_alloc(mem, config);
        if (!u)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        snprintf(u->name, sizeof u->name, "%s", name);
        r = unit_hw_init(&u->hw, u->name, regs, err);
        if (r < 0)
                return r;
        r = unit_hw_gsts(&u->hw, &gsts, err);
        if (r < 0)
                return r;
        if (gsts &
            (uint32_t) (FIELD_MASK64(GSTS, TES) | FIELD_MASK64(GSTS, QIES) | FIELD_MASK64(GSTS, IRES))) {
                static const struct {
                        uint64_t bit;
                        const char *name;
                } on[] = {
                        { FIELD_MASK64(GSTS, TES), "translation" },
                        { FIELD_MASK64(GSTS, QIES), "queued invalidation" },
                        { FIELD_MASK64(GSTS, IRES), "interrupt remapping" },
                };
                char what[96] = "";

                for (size_t i = 0; i < ELEMENTSOF(on); i++)
                        if (gsts & on[i].bit)
                                snprintf(what + strlen(what), sizeof what - strlen(what), "%s%s",
                                         what[0] ? ", " : "", on[i].name);
                return iommu_error_set(err, EBUSY,
                                       "%s is in use (GSTS 0x%08" PRIx32
                                       ": %s on): boot with intel_iommu=off to let "
                                       "iommud manage it",
                                       name, gsts, what);
        }
        u->cm = FIELD_GET(CAP, CM, &u->hw.cap);
        u->levels = levels_for(u->hw.cap);
        if (u->levels == 0)
                return iommu_error_set(err, EOPNOTSUPP,
                                       "%s supports no 3-, 4- or 5-level tables (CAP.SAGAW)", name);
        if (u->mode == UNIT_MODE_SCALABLE && !FIELD_GET(ECAP, SMTS, &u->hw.ecap))
                return iommu_error_set(err, EOPNOTSUPP, "%s has no scalable mode (ECAP.SMTS 0)", name);
        if (u->mode == UNIT_MODE_SCALABLE && !FIELD_GET(ECAP, SSTS, &u->hw.ecap))
                return iommu_error_set(err, EOPNOTSUPP,
                                       "%s has no second-stage translation in scalable mode "
                                       "(ECAP.SSTS 0)",
                                       name);
        /* the default policy is checked here, before the queue starts: a
         * take refused later would leave queued invalidation on, and the
         * unit refused as "in use" from then on */
        if (config->default_policy != DOMAIN_PASSTHROUGH && config->default_policy != DOMAIN_IDENTITY &&
            config->default_policy != DOMAIN_BLOCKED)
                return iommu_error_set(err, EINVAL, "A default policy is passthrough, identity or blocked");
        if (config->default_policy == DOMAIN_PASSTHROUGH && !FIELD_GET(ECAP, PT, &u->hw.ecap))
                return iommu_error_set(err, EOPNOTSUPP, "%s cannot pass requests through (ECAP.PT is 0)",
                                       name);
        if (config->n_ram > 0) {
                u->ram = calloc(config->n_ram, sizeof *u->ram);
                if (!u->ram)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                memcpy(u->ram, config->ram, config->n_ram * sizeof *u->ram);
                u->n_ram = config->n_ram;
        }
        if (config->n_rmrrs > 0) {
                u->rmrrs = calloc(config->n_rmrrs, sizeof *u->rmrrs);
                if (!u->rmrrs)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                memcpy(u->rmrrs, config->rmrrs, config->n_rmrrs * sizeof *u->rmrrs);
                u->n_rmrrs = config->n_rmrrs;
        }

        r = unit_tables_new(mem, u->mode, FIELD_GET(ECAP, C, &u->hw.ecap), &u->tables, err);
        if (r < 0)
                return r;
        r = invalidator_new(&u->hw, mem,
                            FIELD_GET(ECAP, QI, &u->hw.ecap) &&
                                            (!config->register_invalidation || u->mode == UNIT_MODE_SCALABLE)
                                    ? INVALIDATOR_QUEUED
                                    : INVALIDATOR_REGISTER,
                            u->mode == UNIT_MODE_SCALABLE, &u->inv, err);
        if (r < 0)
                return r;
        r = start_unit(u, config, err);
        if (r < 0) {
                /* the queue is on: stop it, or the unit stays "in use" */
                (void) invalidator_stop(u->inv, NULL);
                return r;
        }
        *ret = TAKE_PTR(u);
        return 0;
}

/* With the invalidator started: the default policy's domain and devices,
 * the root table, the global invalidation. */
static int start_unit(owned_unit *u, const owned_unit_config *config, iommu_error *err) {
        uint16_t did;
        int r;

        /* the default policy's domain, and every known device in it */
        if (config->default_policy != DOMAIN_BLOCKED) {
                r = owned_unit_domain_create(u, config->default_policy, -1, &did, err);
                if (r < 0)
                        return r;
                domain_of(u, did)->is_default = true;
                u->default_did = did;
        }
        for (size_t i = 0; i < config->n_devices && u->default_did >= 0; i++) {
                uint8_t bus = (uint8_t) (config->devices[i] >> 8), devfn = (uint8_t) config->devices[i];
                domain *d = domain_of(u, (uint16_t) u->default_did);
                device_entry e;

                r = map_rmrrs(u, d, bus, devfn, err);
                if (r >= 0)
                        r = domain_entry(u, d, &e);
                if (r >= 0)
                        r = unit_tables_install(u->tables, bus, devfn, &e, err);
                if (r < 0)
                        return r;
                d->n_devices++;
        }

        /* the root table, then every cache that may hold what was there */
        r = unit_hw_write(&u->hw, &layout_rtaddr, unit_tables_rtaddr(u->tables), err);
        if (r >= 0)
                r = unit_hw_command(&u->hw, (uint32_t) FIELD_MASK64(GCMD, SRTP), err);
        if (r >= 0 && !FIELD_GET(CAP, ESRTPS, &u->hw.cap))
                r = inv_global(u, err);
        if (r >= 0)
                r = invalidator_flush_write_buffer(u->inv, err);
        return r;
}

int owned_unit_release(owned_unit *u, iommu_error *err) {
        uint32_t gsts;
        int r;

        r = unit_hw_gsts(&u->hw, &gsts, err);
        if (r >= 0 && (gsts & FIELD_MASK64(GSTS, TES)))
                r = owned_unit_power(u, false, err);
        if (r >= 0)
                r = invalidator_stop(u->inv, err);
        return r;
}

owned_unit *owned_unit_free(owned_unit *u) {
        uint32_t gsts = UINT32_MAX;
        uint64_t did, p;

        if (!u)
                return NULL;
        u->inv = invalidator_free(u->inv);
        /* tables go back only when hardware cannot walk them: translation
         * off (else they stay allocated in table memory, whose owner
         * decides) */
        if (u->hw.regs && unit_hw_gsts(&u->hw, &gsts, NULL) >= 0 && !(gsts & FIELD_MASK64(GSTS, TES))) {
                for (size_t i = 0; hashmap_next(&u->domains, &i, &did, &p);)
                        domain_free(u, (domain *) (uintptr_t) p);
                unit_tables_free(u->tables);
        } else {
                for (size_t i = 0; hashmap_next(&u->domains, &i, &did, &p);) {
                        domain *d = (domain *) (uintptr_t) p;

                        page_table_abandon(d->pt);
                        free(d);
                }
                unit_tables_abandon(u->tables);
        }
        hashmap_done(&u->domains);
        hashmap_done(&u->devices);
        free(u->garbage.pages);
        free(u->ram);
        free(u->rmrrs);
        free(u);
        return NULL;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

json_object *owned_unit_to_json(const owned_unit *u, uint16_t segment) {
        json_object *o = json_object_new_object(), *domains = json_object_new_array();
        _cleanup_free_ uint64_t *dids = NULL;
        uint64_t did, p;
        size_t n = 0;

        if (!o || !domains) {
                json_object_put(o);
                json_object_put(domains);
                return NULL;
        }
        json_object_object_add(o, "unit", json_object_new_string(u->name));
        json_object_object_add(o, "mode", json_object_new_string(unit_mode_to_string(u->mode)));
        json_object_object_add(o, "default_policy",
                               json_object_new_string(domain_type_to_string(u->policy)));
        json_object_object_add(
                o, "invalidation",
                json_object_new_string(invalidator_backends[invalidator_get_kind(u->inv)]->name));
        json_object_object_add(o, "table_pages", json_object_new_uint64(table_mem_pages_used(u->mem)));
        /* the domains by DID, from the map (never a scan of all CAP.ND of
         * them: this runs after every change, for the state file) */
        dids = malloc((hashmap_size(&u->domains) + 1) * sizeof *dids);
        if (!dids) {
                json_object_put(o);
                json_object_put(domains);
                return NULL;
        }
        for (size_t i = 0; hashmap_next(&u->domains, &i, &did, &p);)
                dids[n++] = did;
        qsort(dids, n, sizeof *dids, cmp_u64);
        for (size_t k = 0; k < n; k++) {
                const domain *d = domain_of(u, (uint16_t) dids[k]);
                json_object *j, *devs;

                j = json_object_new_object();
                devs = json_object_new_array();
                json_object_object_add(j, "domain", json_object_new_int(d->did));
                json_object_object_add(j, "type", json_object_new_string(domain_type_to_string(d->type)));
                json_object_object_add(j, "address_width",
                                       d->pt ? json_object_new_int((int) page_table_address_width(d->pt))
                                             : NULL);
                json_object_object_add(j, "page_table",
                                       d->pt ? json_object_new_uint64(page_table_root(d->pt)) : NULL);
                json_object_object_add(j, "default", json_object_new_boolean(d->is_default));
                for (size_t i = 0; hashmap_next(&u->devices, &i, &did, &p);)
                        if (p == (uint64_t) d->did + 1) {
                                char bdf[32];
                                snprintf(bdf, sizeof bdf, "%04x:%02x:%02x.%x", segment,
                                         (unsigned) (did >> 8), (unsigned) (did & 0xff) >> 3,
                                         (unsigned) did & 7);
                                json_object_array_add(devs, json_object_new_string(bdf));
                        }
                json_object_object_add(j, "devices", devs);
                json_object_object_add(j, "mapped",
                                       json_object_new_uint64(d->pt ? page_table_mapped(d->pt) : 0));
                json_object_array_add(domains, j);
        }
        json_object_object_add(o, "domains", domains);
        return o;
}

/* ---- taking a unit back ---- */

/* Whether [start, start + length) translates 1:1, read and write. */
static bool identity_mapped(const page_table *pt, uint64_t start, uint64_t length) {
        for (uint64_t a = start; a < start + length;) {
                uint64_t phys, size;
                unsigned perms;

                if (page_table_lookup(pt, a, &phys, &perms, &size) < 0 || phys != a ||
                    perms != (PT_READ | PT_WRITE))
                        return false;
                a += size - a % size;
        }
        return true;
}

static void range_text(char *buf, size_t size, uint64_t iova, uint64_t phys, uint64_t length, bool read,
                       bool write) {
        snprintf(buf, size, "[0x%" PRIx64 ", 0x%" PRIx64 ") to 0x%" PRIx64 " %s%s", iova, iova + length,
                 phys, read ? "r" : "-", write ? "w" : "-");
}

typedef struct ranges_check {
        const owned_unit *u;
        uint16_t did;
        json_object *saved; /* the domain's "mappings" */
        size_t k;
        iommu_error *err;
} ranges_check;

static int check_range(void *userdata, uint64_t iova, uint64_t phys, uint64_t length, unsigned perms) {
        ranges_check *c = userdata;
        json_object *m = json_object_array_get_idx(c->saved, c->k);
        char tables[96], saved[96];

        range_text(tables, sizeof tables, iova, phys, length, perms & PT_READ, perms & PT_WRITE);
        if (!m)
                return iommu_error_set(c->err, EPROTO,
                                       "%s: domain %u maps %s in its tables, the saved state nothing there",
                                       c->u->name, c->did, tables);
        range_text(saved, sizeof saved, json_get_u64(m, "iova"), json_get_u64(m, "phys"),
                   json_get_u64(m, "length"), json_get_bool(m, "read"), json_get_bool(m, "write"));
        if (!streq(tables, saved))
                return iommu_error_set(c->err, EPROTO,
                                       "%s: domain %u maps %s in its tables, the saved state %s", c->u->name,
                                       c->did, tables, saved);
        c->k++;
        return 0;
}

/* One saved domain, rebuilt: its tables taken back from "page_table" and
 * checked against its "mappings". */
static int adopt_domain(owned_unit *u, json_object *j, iommu_error *err) {
        uint64_t did = json_get_u64(j, "domain"), first = u->cm ? 1 : 0;
        domain_type type = domain_type_from_string(json_get_string(j, "type"));
        bool tables = type == DOMAIN_PAGING || type == DOMAIN_IDENTITY;
        json_object *maps = json_get_array(j, "mappings");
        _cleanup_free_ domain *d = NULL;
        ranges_check c;
        iommu_error e = {};
        int r;

        if (type < 0)
                return iommu_error_set(err, EPROTO, "%s: saved domain %" PRIu64 " has no known type",
                                       u->name, did);
        if (did < first || did >= n_dids(u))
                return iommu_error_set(err, EPROTO,
                                       "%s: saved domain %" PRIu64
                                       " is outside the unit's domain IDs %" PRIu64 "..%" PRIu64,
                                       u->name, did, first, n_dids(u) - 1);
        if (domain_of(u, (uint16_t) did))
                return iommu_error_set(err, EPROTO, "%s: saved domain %" PRIu64 " appears twice", u->name,
                                       did);
        if (type == DOMAIN_PASSTHROUGH && !FIELD_GET(ECAP, PT, &u->hw.ecap))
                return iommu_error_set(err, EPROTO,
                                       "%s: saved domain %" PRIu64 " passes through, ECAP.PT is 0", u->name,
                                       did);
        if (json_get_bool(j, "default") &&
            (type != u->policy || u->policy == DOMAIN_BLOCKED || u->default_did >= 0))
                return iommu_error_set(
                        err, EPROTO, "%s: saved domain %" PRIu64 " (%s) is the default one, the policy %s",
                        u->name, did, domain_type_to_string(type), domain_type_to_string(u->policy));
        if (tables ? json_get_u64(j, "address_width") != 12 + 9 * u->levels
                   : !json_is_null(j, "address_width"))
                return iommu_error_set(
                        err, EPROTO, "%s: domain %" PRIu64 "'s saved address width is %s, its tables' %u",
                        u->name, did, json_object_to_json_string(json_get(j, "address_width")),
                        tables ? 12 + 9 * u->levels : 0);
        if (tables && json_is_null(j, "page_table"))
                return iommu_error_set(err, EPROTO,
                                       "%s: the saved state has no page table for domain %" PRIu64
                                       " (an older iommud wrote it): it cannot be taken back",
                                       u->name, did);
        if (!tables && (!json_is_null(j, "page_table") || json_array_length(maps) > 0))
                return iommu_error_set(err, EPROTO, "%s: saved %s domain %" PRIu64 " has tables", u->name,
                                       domain_type_to_string(type), did);

        d = calloc(1, sizeof *d);
        if (!d)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *d = (domain){ .type = type, .did = (uint16_t) did, .is_default = json_get_bool(j, "default") };
        if (tables) {
                page_table_config pc = { .levels = u->levels,
                                         .cap = u->hw.cap,
                                         .coherent = FIELD_GET(ECAP, C, &u->hw.ecap) };

                r = page_table_adopt(u->mem, &pc, json_get_u64(j, "page_table"), &d->pt, &e);
                if (r < 0)
                        return iommu_error_set(err, -r, "%s: domain %" PRIu64 "'s tables: %s", u->name, did,
                                               e.message);
                c = (ranges_check){ .u = u, .did = d->did, .saved = maps, .err = err };
                r = page_table_ranges(d->pt, check_range, &c);
                if (r >= 0 && c.k < json_array_length(maps)) {
                        json_object *m = json_object_array_get_idx(maps, c.k);
                        char saved[96];

                        range_text(saved, sizeof saved, json_get_u64(m, "iova"), json_get_u64(m, "phys"),
                                   json_get_u64(m, "length"), json_get_bool(m, "read"),
                                   json_get_bool(m, "write"));
                        r = iommu_error_set(err, EPROTO,
                                            "%s: domain %" PRIu64
                                            " maps nothing more in its tables, the saved "
                                            "state %s",
                                            u->name, did, saved);
                }
                if (r < 0) {
                        page_table_free(d->pt);
                        return r == -EPROTO
                                       ? r
                                       : iommu_error_set(err, -r,
                                                         "%s: Failed to read domain %" PRIu64 "'s tables",
                                                         u->name, did);
                }
        }
        if (hashmap_put(&u->domains, d->did, HASHMAP_PTR(d)) < 0) {
                page_table_free(d->pt);
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        if (d->is_default)
                u->default_did = d->did;
        TAKE_PTR(d);
        return 0;
}

static bool in_config(const owned_unit_config *config, uint16_t key) {
        for (size_t i = 0; i < config->n_devices; i++)
                if (config->devices[i] == key)
                        return true;
        return false;
}

static const char *entry_text(char *buf, size_t size, const device_entry *e) {
        if (e->translation == ENTRY_BLOCKED)
                snprintf(buf, size, "not present");
        else if (e->translation == ENTRY_PASS_THROUGH)
                snprintf(buf, size, "pass-through, %u levels", e->levels);
        else
                snprintf(buf, size, "tables at 0x%" PRIx64 ", %u levels", e->root, e->levels);
        return buf;
}

/* Every device's entry: what owned_unit would have installed for where the
 * saved state (or the default policy) puts it; the domains' device counts
 * and RMRR bits as the changes would have left them. */
static int adopt_devices(owned_unit *u, const owned_unit_config *config, iommu_error *err) {
        const char *what = scalable(u) ? "PASID entry" : "context entry";

        for (unsigned key = 0; key < 0x10000; key++) {
                uint8_t bus = (uint8_t) (key >> 8), devfn = (uint8_t) key;
                device_entry live = unit_tables_get(u->tables, bus, devfn),
                             want = { .translation = ENTRY_BLOCKED };
                bool known = hashmap_get(&u->devices, key, NULL) || in_config(config, (uint16_t) key) ||
                             live.translation != ENTRY_BLOCKED;
                domain *d = device_domain(u, bus, devfn);
                char bdf[16], a[64], b[64];

                if (!known)
                        continue;
                bdf_text(bdf, sizeof bdf, bus, devfn);
                if (d)
                        (void) domain_entry(u, d, &want);
                if (live.translation == ENTRY_BLOCKED && want.translation != ENTRY_BLOCKED)
                        return iommu_error_set(err, EPROTO,
                                               "%s: %s has no present %s, the saved state domain %u",
                                               u->name, bdf, what, d->did);
                if (live.translation != ENTRY_BLOCKED && want.translation == ENTRY_BLOCKED)
                        return iommu_error_set(err, EPROTO, "%s: %s's %s says domain %u, the saved state %s",
                                               u->name, bdf, what, live.did,
                                               d ? "a blocked domain" : "blocked (the default policy)");
                if (live.translation != ENTRY_BLOCKED && live.did != want.did)
                        return iommu_error_set(err, EPROTO,
                                               "%s: %s's %s says domain %u, the saved state domain %u",
                                               u->name, bdf, what, live.did, want.did);
                if (live.translation != want.translation || live.root != want.root ||
                    live.levels != want.levels)
                        return iommu_error_set(err, EPROTO,
                                               "%s: %s's %s for domain %u says %s, the domain %s", u->name,
                                               bdf, what, want.did, entry_text(a, sizeof a, &live),
                                               entry_text(b, sizeof b, &want));
                for (size_t i = 0; d && d->pt && i < u->n_rmrrs; i++) {
                        const rmrr_region *m = &u->rmrrs[i];
                        uint64_t start = m->base & ~UINT64_C(0xfff), length = (m->limit | 0xfff) + 1 - start;
                        bool scoped = false;

                        for (size_t k = 0; k < m->n_devices; k++)
                                scoped |= m->devices[k].bus == bus && m->devices[k].devfn == devfn;
                        if (scoped && !identity_mapped(d->pt, start, length))
                                return iommu_error_set(err, EPROTO,
                                                       "%s: RMRR 0x%" PRIx64 "-0x%" PRIx64
                                                       " of %s is not identity-mapped in domain %u",
                                                       u->name, m->base, m->limit, bdf, d->did);
                }
                if (d)
                        d->n_devices++;
        }
        /* an RMRR region is marked mapped in every domain whose tables hold
         * it 1:1: a device of its scope joined (map_rmrrs), or the same
         * range was mapped by hand; either way map_rmrrs must not map it
         * again, and unmap keeps it */
        for (size_t i = 0, p; hashmap_next(&u->domains, &i, NULL, &p);) {
                domain *d = (domain *) (uintptr_t) p;

                for (size_t k = 0; d->pt && k < u->n_rmrrs && k < 64; k++) {
                        uint64_t start = u->rmrrs[k].base & ~UINT64_C(0xfff),
                                 length = (u->rmrrs[k].limit | 0xfff) + 1 - start;

                        if (identity_mapped(d->pt, start, length))
                                d->rmrr_mapped |= UINT64_C(1) << k;
                }
        }
        return 0;
}

static int adopt_unit(owned_unit *u, const owned_unit_config *config, json_object *saved, iommu_error *err) {
        const char *inv_saved = json_get_string(saved, "invalidation");
        json_object *list;
        uint64_t rtaddr, root;
        uint32_t gsts;
        bool qi;
        iommu_error e = {};
        int r;

        r = unit_hw_init(&u->hw, u->name, u->hw.regs, err);
        if (r < 0)
                return r;
        if (!streq(json_get_string(saved, "name"), u->name))
                return iommu_error_set(err, EPROTO, "%s: the saved state is of unit \"%s\"", u->name,
                                       json_get_string(saved, "name"));
        if (!streq(json_get_string(saved, "mode"), unit_mode_to_string(u->mode)))
                return iommu_error_set(err, EPROTO, "%s: the saved state says %s mode, the configuration %s",
                                       u->name, json_get_string(saved, "mode"),
                                       unit_mode_to_string(u->mode));
        if (!streq(json_get_string(saved, "default_policy"), domain_type_to_string(u->policy)))
                return iommu_error_set(
                        err, EPROTO, "%s: the saved default policy is %s, the configuration's %s", u->name,
                        json_get_string(saved, "default_policy"), domain_type_to_string(u->policy));
        r = unit_hw_gsts(&u->hw, &gsts, err);
        if (r < 0)
                return r;
        if (!(gsts & FIELD_MASK64(GSTS, TES)))
                return iommu_error_set(
                        err, EPROTO,
                        "%s: translation is off (GSTS.TES 0), so its devices do not use the "
                        "saved tables: there is nothing to take back; drop the saved unit and "
                        "take it anew",
                        u->name);
        if (gsts & FIELD_MASK64(GSTS, IRES))
                return iommu_error_set(
                        err, EPROTO,
                        "%s: interrupt remapping is on (GSTS.IRES), which iommud never turns on", u->name);
        r = unit_hw_read(&u->hw, &layout_rtaddr, &rtaddr, err);
        if (r < 0)
                return r;
        root = FIELD_ADDR(RTADDR, RTA, &rtaddr);
        if (root != json_get_u64(saved, "root_table"))
                return iommu_error_set(err, EPROTO,
                                       "%s: RTADDR is 0x%" PRIx64 " but the saved root table is 0x%" PRIx64,
                                       u->name, root, json_get_u64(saved, "root_table"));
        if (FIELD_GET(RTADDR, TTM, &rtaddr) != (scalable(u) ? TTM_SCALABLE : TTM_LEGACY))
                return iommu_error_set(err, EPROTO, "%s: RTADDR's TTM is %" PRIu64 ", the saved mode %s",
                                       u->name, FIELD_GET(RTADDR, TTM, &rtaddr),
                                       unit_mode_to_string(u->mode));
        qi = gsts & FIELD_MASK64(GSTS, QIES);
        if (qi != streq(inv_saved, "queued") || (!qi && !streq(inv_saved, "register")))
                return iommu_error_set(
                        err, EPROTO, "%s: queued invalidation is %s (GSTS.QIES %d), the saved state says %s",
                        u->name, qi ? "on" : "off", qi, inv_saved);
        u->cm = FIELD_GET(CAP, CM, &u->hw.cap);
        u->levels = levels_for(u->hw.cap);
        if (u->levels == 0)
                return iommu_error_set(err, EOPNOTSUPP,
                                       "%s supports no 3-, 4- or 5-level tables (CAP.SAGAW)", u->name);
        if (scalable(u) && (!FIELD_GET(ECAP, SMTS, &u->hw.ecap) || !FIELD_GET(ECAP, SSTS, &u->hw.ecap)))
                return iommu_error_set(
                        err, EPROTO,
                        "%s: the saved state says scalable mode, which the unit lacks (ECAP.SMTS, SSTS)",
                        u->name);

        r = unit_tables_adopt(u->mem, u->mode, FIELD_GET(ECAP, C, &u->hw.ecap), rtaddr, &u->tables, &e);
        if (r < 0)
                return iommu_error_set(err, -r, "%s: %s", u->name, e.message);
        r = invalidator_adopt(&u->hw, u->mem, qi ? INVALIDATOR_QUEUED : INVALIDATOR_REGISTER, scalable(u),
                              &u->inv, &e);
        if (r < 0)
                return iommu_error_set(err, -r, "%s", e.message);

        list = json_get_array(saved, "domains");
        for (size_t i = 0; i < json_array_length(list); i++) {
                r = adopt_domain(u, json_object_array_get_idx(list, i), err);
                if (r < 0)
                        return r;
        }
        if (u->policy != DOMAIN_BLOCKED && u->default_did < 0)
                return iommu_error_set(err, EPROTO,
                                       "%s: the saved state has no domain for the default policy (%s)",
                                       u->name, domain_type_to_string(u->policy));

        list = json_get_array(saved, "devices");
        for (size_t i = 0; i < json_array_length(list); i++) {
                json_object *j = json_object_array_get_idx(list, i);
                uint64_t did = json_get_u64(j, "domain");
                uint16_t segment;
                uint8_t bus, devfn;

                if (bdf_parse(json_get_string(j, "bdf"), &segment, &bus, &devfn) < 0)
                        return iommu_error_set(err, EPROTO, "%s: saved device \"%s\" is no PCI address",
                                               u->name, json_get_string(j, "bdf"));
                if (did > UINT16_MAX || !domain_of(u, (uint16_t) did))
                        return iommu_error_set(err, EPROTO,
                                               "%s: saved device %s is in domain %" PRIu64
                                               ", which the saved state does not have",
                                               u->name, json_get_string(j, "bdf"), did);
                if (hashmap_get(&u->devices, (uint64_t) bus << 8 | devfn, NULL))
                        return iommu_error_set(err, EPROTO, "%s: saved device %s appears twice", u->name,
                                               json_get_string(j, "bdf"));
                if (hashmap_put(&u->devices, (uint64_t) bus << 8 | devfn, did + 1) < 0)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        return adopt_devices(u, config, err);
}

/* A refused adoption: every claim given back, nothing written. */
static void adopt_undo(owned_unit *u) {
        uint64_t p;

        for (size_t i = 0; hashmap_next(&u->domains, &i, NULL, &p);)
                domain_free(u, (domain *) (uintptr_t) p);
        unit_tables_free(u->tables);
        invalidator_abandon(u->inv);
        hashmap_done(&u->domains);
        hashmap_done(&u->devices);
        free(u->ram);
        free(u->rmrrs);
        free(u);
}

int owned_unit_adopt(const char *name, iommu_regs *regs, table_mem *mem, const owned_unit_config *config,
                     json_object *saved, owned_unit **ret, iommu_error *err) {
        owned_unit *u;
        int r;

        if (!json_object_is_type(saved, json_type_object))
                return iommu_error_set(err, EINVAL, "%s: the saved unit is not an object", name);
        if (config->default_policy != DOMAIN_PASSTHROUGH && config->default_policy != DOMAIN_IDENTITY &&
            config->default_policy != DOMAIN_BLOCKED)
                return iommu_error_set(err, EINVAL, "A default policy is passthrough, identity or blocked");
        u = unit_alloc(mem, config);
        if (!u)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        u->hw.regs = regs;
        snprintf(u->name, sizeof u->name, "%s", name);
        if (config->n_ram > 0) {
                u->ram = calloc(config->n_ram, sizeof *u->ram);
                if (!u->ram) {
                        adopt_undo(u);
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                }
                memcpy(u->ram, config->ram, config->n_ram * sizeof *u->ram);
                u->n_ram = config->n_ram;
        }
        if (config->n_rmrrs > 0) {
                u->rmrrs = calloc(config->n_rmrrs, sizeof *u->rmrrs);
                if (!u->rmrrs) {
                        adopt_undo(u);
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                }
                memcpy(u->rmrrs, config->rmrrs, config->n_rmrrs * sizeof *u->rmrrs);
                u->n_rmrrs = config->n_rmrrs;
        }
        r = adopt_unit(u, config, saved, err);
        if (r < 0) {
                adopt_undo(u);
                return r;
        }
        *ret = u;
        return 0;
}
