/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Layer 6, control: invalidating the caches of a unit iommud owns, behind
 * one interface with two backends, rows of one method table (as pciutils'
 * access methods are): register-based (CCMD, IVA/IOTLB at ECAP.IRO) and
 * queued (ECAP.QI: a queue page and a status page in table memory,
 * descriptors, then an invalidation-wait descriptor that writes a status
 * word the CPU polls with a time-out).  Scalable mode needs the queue
 * (PASID-cache and PASID-based IOTLB invalidations have no registers).
 *
 * Queue errors are reported, never spun on: FSTS.IQE (an invalid
 * descriptor: it is overwritten with the wait, as Linux does, so the queue
 * moves on), FSTS.ITE (a device-TLB invalidation timed out), FSTS.ICE; a
 * wait that never completes is ETIMEDOUT.  Each gives one sentence.
 */

#include <stdbool.h>
#include <stdint.h>

#include "access/tablemem.h"
#include "basic/error.h"
#include "control/hw.h"
#include "decode/invq.h"

/* One invalidation: a descriptor's worth.  granularity is the kind's own
 * encoding (decode/values.h, decode/invq.h): context cache 1 global,
 * 2 domain, 3 device; IOTLB 1 global, 2 domain, 3 page; PASID cache
 * 0 domain, 1 PASID, 3 global; PASID IOTLB 2 PASID, 3 page. */
typedef struct inv_request {
        inv_kind kind;
        unsigned granularity;
        uint16_t did;
        uint16_t sid;   /* context cache device; device-TLB */
        uint8_t fm;     /* context cache device: function mask */
        uint32_t pasid; /* PASID kinds */
        uint64_t addr;  /* page: 4 KiB aligned, and to 2^am pages */
        uint8_t am;
        bool ih;                      /* page: only leaves changed, paging-structure caches stay */
        bool drain_read, drain_write; /* IOTLB, where CAP.DRD / CAP.DWD */
        uint16_t pfsid;               /* device-TLB: the physical function's SID */
        uint8_t mip;                  /* device-TLB: max invalidations pending */
        bool size;                    /* device-TLB: S, addr encodes the size */
} inv_request;

typedef struct invalidator invalidator;

typedef struct invalidator_ops {
        const char *name; /* "register", "queued" */
        int (*start)(invalidator *inv, iommu_error *err);
        int (*submit)(invalidator *inv, const inv_request *r, size_t n, iommu_error *err);
        int (*stop)(invalidator *inv, iommu_error *err);
} invalidator_ops;

typedef enum invalidator_kind {
        INVALIDATOR_REGISTER,
        INVALIDATOR_QUEUED,
        _INVALIDATOR_KIND_MAX,
        _INVALIDATOR_KIND_INVALID = -EINVAL,
} invalidator_kind;

extern const invalidator_ops *const invalidator_backends[_INVALIDATOR_KIND_MAX];

/* The counts of what was issued, by kind and granularity. */
typedef struct inv_counts {
        uint64_t issued[_INV_KIND_MAX][INV_GRANULARITY_MAX];
        uint64_t write_buffer_flushes;
        uint64_t errors;
} inv_counts;

/* A backend for the unit (the queue's pages from mem); started (queued:
 * IQT 0, IQA, QIE, wait for QIES).  scalable: 256-bit descriptors. */
int invalidator_new(unit_hw *hw, table_mem *mem, invalidator_kind kind, bool scalable, invalidator **ret,
                    iommu_error *err);
/* Take back a backend an earlier invalidator_new left running, writing
 * nothing: register-based (queued invalidation off), or queued (GSTS.QIES
 * on; IQA's page, which must be table memory, claimed; the tail where IQT
 * is; the status page and the sequence number the last wait descriptor
 * before the tail names, claimed too; a queue that never saw a wait gets
 * a status page at its first submit).  EPROTO with one line when the unit
 * disagrees (QIES, IQA's size or width, a page out of table memory or in
 * use already). */
int invalidator_adopt(unit_hw *hw, table_mem *mem, invalidator_kind kind, bool scalable, invalidator **ret,
                      iommu_error *err);
/* Give up an adopted (or started) backend without touching the unit:
 * its pages are no longer claimed in mem, the unit keeps using them. */
invalidator *invalidator_abandon(invalidator *inv);
/* Stops it (queued: wait for IQH == IQT, QIE off, wait for QIES clear) and
 * frees it; the queue's pages go back to mem only once QIE is off. */
int invalidator_stop(invalidator *inv, iommu_error *err);
invalidator *invalidator_free(invalidator *inv);
DEFINE_TRIVIAL_CLEANUP_FUNC(invalidator *, invalidator_free);

invalidator_kind invalidator_get_kind(const invalidator *inv);
const inv_counts *invalidator_counts(const invalidator *inv);

/* Perform r[0..n) and wait until hardware completed them all. */
int invalidate(invalidator *inv, const inv_request *r, size_t n, iommu_error *err);

/* Where CAP.RWBF: flush the write buffer (GCMD.WBF, wait for WBFS clear);
 * otherwise nothing. */
int invalidator_flush_write_buffer(invalidator *inv, iommu_error *err);

/* The page-selective IOTLB invalidations that cover [iova, iova + length)
 * of domain did with blocks of 2^am pages (am <= CAP.MAMV), at most max of
 * them: how many (written to r, which holds max), or 0 when more would be
 * needed or CAP.PSI is 0 (then invalidate the domain).  The IOTLB
 * descriptor in both modes: second-stage translations are tagged by
 * domain, as Linux invalidates them. */
size_t inv_page_requests(uint64_t cap, uint16_t did, uint64_t iova, uint64_t length, bool ih, inv_request *r,
                         size_t max);
