/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Invalidation, register-based and queued (invalidate.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/invalidate.h"
#include "decode/regs.h"

#define QUEUE_PAGES_QS 0 /* IQA.QS: 2^0 pages, 4 KiB */

struct invalidator {
        const invalidator_ops *ops;
        invalidator_kind kind;
        unit_hw *hw;
        table_mem *mem;
        bool scalable;
        bool started;
        inv_counts counts;

        /* queued */
        uint64_t queue_phys, status_phys;
        uint8_t *queue;
        volatile uint32_t *status;
        unsigned dsize, slots; /* descriptor bytes, descriptors in the queue */
        unsigned tail;         /* in descriptors */
        uint32_t seq;
};

invalidator_kind invalidator_get_kind(const invalidator *inv) {
        return inv->kind;
}

const inv_counts *invalidator_counts(const invalidator *inv) {
        return &inv->counts;
}

static void count(invalidator *inv, const inv_request *r, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (r[i].kind >= 0 && r[i].kind < _INV_KIND_MAX && r[i].granularity < INV_GRANULARITY_MAX)
                        inv->counts.issued[r[i].kind][r[i].granularity]++;
}

int invalidator_flush_write_buffer(invalidator *inv, iommu_error *err) {
        int r;

        if (!FIELD_GET(CAP, RWBF, &inv->hw->cap))
                return 0;
        r = unit_hw_command(inv->hw, (uint32_t) FIELD_MASK64(GCMD, WBF), err);
        if (r >= 0)
                inv->counts.write_buffer_flushes++;
        return r;
}

/* ---- register-based ---- */

static int reg_start(invalidator *inv, iommu_error *err) {
        return 0;
}

static int reg_stop(invalidator *inv, iommu_error *err) {
        return 0;
}

static int reg_context(invalidator *inv, const inv_request *q, iommu_error *err) {
        uint64_t v = 0, got;
        int r;

        FIELD_SET(CCMD, ICC, &v, 1);
        FIELD_SET(CCMD, CIRG, &v, q->granularity);
        FIELD_SET(CCMD, FM, &v, q->fm);
        FIELD_SET(CCMD, SID, &v, q->sid);
        FIELD_SET(CCMD, DID, &v, q->did);
        r = unit_hw_write(inv->hw, &layout_ccmd, v, err);
        if (r >= 0)
                r = unit_hw_poll(inv->hw, &layout_ccmd, FIELD_MASK64(CCMD, ICC), 0, err);
        if (r >= 0)
                r = unit_hw_read(inv->hw, &layout_ccmd, &got, err);
        if (r >= 0 && FIELD_GET(CCMD, CAIG, &got) == 0)
                r = iommu_error_set(err, EIO,
                                    "%s: the context-cache invalidation was not performed (CCMD.CAIG 0)",
                                    inv->hw->name);
        return r;
}

static int reg_iotlb(invalidator *inv, const inv_request *q, iommu_error *err) {
        uint64_t iva = 0, v = 0, got;
        int r = 0;

        if (q->granularity == INV_GRANULARITY_PAGE) {
                FIELD_SET(IVA, ADDR, &iva, q->addr >> 12);
                FIELD_SET(IVA, IH, &iva, q->ih);
                FIELD_SET(IVA, AM, &iva, q->am);
                r = unit_hw_write(inv->hw, &layout_iva, iva, err);
        }
        FIELD_SET(IOTLB, IVT, &v, 1);
        FIELD_SET(IOTLB, IIRG, &v, q->granularity);
        FIELD_SET(IOTLB, DR, &v, q->drain_read);
        FIELD_SET(IOTLB, DW, &v, q->drain_write);
        FIELD_SET(IOTLB, DID, &v, q->did);
        if (r >= 0)
                r = unit_hw_write(inv->hw, &layout_iotlb, v, err);
        if (r >= 0)
                r = unit_hw_poll(inv->hw, &layout_iotlb, FIELD_MASK64(IOTLB, IVT), 0, err);
        if (r >= 0)
                r = unit_hw_read(inv->hw, &layout_iotlb, &got, err);
        if (r >= 0 && FIELD_GET(IOTLB, IAIG, &got) == 0)
                r = iommu_error_set(err, EIO, "%s: the IOTLB invalidation was not performed (IOTLB.IAIG 0)",
                                    inv->hw->name);
        return r;
}

static int reg_submit(invalidator *inv, const inv_request *q, size_t n, iommu_error *err) {
        for (size_t i = 0; i < n; i++) {
                int r;

                switch (q[i].kind) {
                case INV_KIND_CONTEXT_CACHE:
                        r = reg_context(inv, &q[i], err);
                        break;
                case INV_KIND_IOTLB:
                        r = reg_iotlb(inv, &q[i], err);
                        break;
                default:
                        r = iommu_error_set(err, EOPNOTSUPP,
                                            "%s: %s invalidations need the invalidation queue (ECAP.QI)",
                                            inv->hw->name, inv_kind_to_string(q[i].kind));
                        break;
                }
                if (r < 0)
                        return r;
                count(inv, &q[i], 1);
        }
        return 0;
}

static const invalidator_ops register_ops = {
        .name = "register",
        .start = reg_start,
        .submit = reg_submit,
        .stop = reg_stop,
};

/* ---- queued ---- */

/* The descriptor for a request, in d (4 qwords, zeroed by the caller). */
static int encode(const invalidator *inv, const inv_request *q, uint64_t *d, iommu_error *err) {
        switch (q->kind) {
        case INV_KIND_CONTEXT_CACHE:
                FIELD_SET(CC_INV_DSC, TYPE_LO, d, INV_DSC_CC);
                FIELD_SET(CC_INV_DSC, G, d, q->granularity);
                FIELD_SET(CC_INV_DSC, DID, d, q->did);
                FIELD_SET(CC_INV_DSC, SID, d, q->sid);
                FIELD_SET(CC_INV_DSC, FM, d, q->fm);
                return 0;
        case INV_KIND_IOTLB:
                FIELD_SET(IOTLB_INV_DSC, TYPE_LO, d, INV_DSC_IOTLB);
                FIELD_SET(IOTLB_INV_DSC, G, d, q->granularity);
                FIELD_SET(IOTLB_INV_DSC, DR, d, q->drain_read);
                FIELD_SET(IOTLB_INV_DSC, DW, d, q->drain_write);
                FIELD_SET(IOTLB_INV_DSC, DID, d, q->did);
                FIELD_SET(IOTLB_INV_DSC, AM, d, q->am);
                FIELD_SET(IOTLB_INV_DSC, IH, d, q->ih);
                FIELD_SET(IOTLB_INV_DSC, ADDR, d, q->addr >> 12);
                return 0;
        case INV_KIND_DEVICE_TLB:
                FIELD_SET(DEV_TLB_INV_DSC, TYPE_LO, d, INV_DSC_DEV_TLB);
                FIELD_SET(DEV_TLB_INV_DSC, PFSID_LO, d, q->pfsid & 0xf);
                FIELD_SET(DEV_TLB_INV_DSC, PFSID_HI, d, q->pfsid >> 4);
                FIELD_SET(DEV_TLB_INV_DSC, MIP, d, q->mip);
                FIELD_SET(DEV_TLB_INV_DSC, SID, d, q->sid);
                FIELD_SET(DEV_TLB_INV_DSC, S, d, q->size);
                FIELD_SET(DEV_TLB_INV_DSC, ADDR, d, q->addr >> 12);
                return 0;
        case INV_KIND_PASID_IOTLB:
                FIELD_SET(P_IOTLB_INV_DSC, TYPE_LO, d, INV_DSC_P_IOTLB & 0xf);
                FIELD_SET(P_IOTLB_INV_DSC, G, d, q->granularity);
                FIELD_SET(P_IOTLB_INV_DSC, DID, d, q->did);
                FIELD_SET(P_IOTLB_INV_DSC, PASID, d, q->pasid);
                FIELD_SET(P_IOTLB_INV_DSC, AM, d, q->am);
                FIELD_SET(P_IOTLB_INV_DSC, IH, d, q->ih);
                FIELD_SET(P_IOTLB_INV_DSC, ADDR, d, q->addr >> 12);
                return 0;
        case INV_KIND_PASID_CACHE:
                FIELD_SET(PC_INV_DSC, TYPE_LO, d, INV_DSC_PC & 0xf);
                FIELD_SET(PC_INV_DSC, G, d, q->granularity);
                FIELD_SET(PC_INV_DSC, DID, d, q->did);
                FIELD_SET(PC_INV_DSC, PASID, d, q->pasid);
                return 0;
        default:
                return iommu_error_set(err, EOPNOTSUPP, "%s: iommud does not issue %s invalidations",
                                       inv->hw->name, inv_kind_to_string(q->kind));
        }
}

static void put(invalidator *inv, const uint64_t *d) {
        uint64_t *slot = (uint64_t *) (inv->queue + (size_t) inv->tail * inv->dsize);

        for (unsigned i = 0; i < inv->dsize / 8; i++)
                __atomic_store_n(&slot[i], d[i], __ATOMIC_RELAXED);
        inv->tail = (inv->tail + 1) % inv->slots;
}

static uint64_t iqt_of(const invalidator *inv) {
        uint64_t v = 0;

        /* IQT holds the tail's byte offset in 16-byte units */
        FIELD_SET(IQT, QT, &v, (uint64_t) inv->tail * inv->dsize / 16);
        return v;
}

/* The queue stopped at a descriptor it refused (FSTS.IQE): put the wait in
 * its place so that the queue moves on, clear IQE, and say which. */
static int recover_iqe(invalidator *inv, const uint64_t *wait, iommu_error *err) {
        uint64_t iqh = 0, iqercd = 0;
        unsigned head;
        int r;

        r = unit_hw_read(inv->hw, &layout_iqh, &iqh, err);
        if (r >= 0)
                r = unit_hw_read(inv->hw, &layout_iqercd, &iqercd, err);
        if (r < 0)
                return r;
        head = (unsigned) (FIELD_GET(IQH, QH, &iqh) * 16 / inv->dsize) % inv->slots;
        memcpy(inv->queue + (size_t) head * inv->dsize, wait, inv->dsize);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        (void) unit_hw_write(inv->hw, &layout_fsts, FIELD_MASK64(FSTS, IQE), NULL);
        inv->counts.errors++;
        return iommu_error_set(
                err, EINVAL,
                "%s: the invalidation queue refused descriptor %u (FSTS.IQE, IQERCD.IQEI %" PRIu64 ")",
                inv->hw->name, head, FIELD_GET(IQERCD, IQEI, &iqercd));
}

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Until the wait wrote its status word: queue errors reported as they
 * show in FSTS, and a time-out rather than a spin. */
static int queue_wait(invalidator *inv, const uint64_t *wait, iommu_error *err) {
        uint64_t deadline =
                now_usec() + (inv->hw->timeout_usec ? inv->hw->timeout_usec : UNIT_HW_TIMEOUT_USEC);
        int result = 0;

        for (;;) {
                uint64_t fsts = 0, iqh = 0;
                int r;

                if (__atomic_load_n(inv->status, __ATOMIC_ACQUIRE) == inv->seq)
                        return result;
                r = unit_hw_read(inv->hw, &layout_fsts, &fsts, err);
                if (r < 0)
                        return r;
                if (FIELD_GET(FSTS, IQE, &fsts) && result == 0) {
                        result = recover_iqe(inv, wait, err);
                        continue;
                }
                if (FIELD_GET(FSTS, ITE, &fsts)) {
                        (void) unit_hw_write(inv->hw, &layout_fsts, FIELD_MASK64(FSTS, ITE), NULL);
                        inv->counts.errors++;
                        return iommu_error_set(err, ETIMEDOUT,
                                               "%s: a device-TLB invalidation timed out (FSTS.ITE)",
                                               inv->hw->name);
                }
                if (FIELD_GET(FSTS, ICE, &fsts)) {
                        (void) unit_hw_write(inv->hw, &layout_fsts, FIELD_MASK64(FSTS, ICE), NULL);
                        inv->counts.errors++;
                        return iommu_error_set(
                                err, EIO, "%s: an invalid device-TLB invalidation completion (FSTS.ICE)",
                                inv->hw->name);
                }
                if (now_usec() > deadline) {
                        inv->counts.errors++;
                        (void) unit_hw_read(inv->hw, &layout_iqh, &iqh, NULL);
                        return iommu_error_set(
                                err, ETIMEDOUT,
                                "%s: the invalidation wait did not complete within %" PRIu64
                                " ms (IQH 0x%" PRIx64 ", IQT 0x%" PRIx64 ")",
                                inv->hw->name,
                                (inv->hw->timeout_usec ? inv->hw->timeout_usec : UNIT_HW_TIMEOUT_USEC) /
                                        1000,
                                iqh, iqt_of(inv));
                }
        }
}

static int queue_submit(invalidator *inv, const inv_request *q, size_t n, iommu_error *err) {
        /* at most slots - 1 descriptors in flight, one of them the wait */
        size_t batch = inv->slots - 2;

        if (!inv->status) {
                /* adopted from a queue that held no wait to show where the
                 * status page was: a new one, before the first wait */
                void *status;
                int r = table_mem_alloc_page(inv->mem, &status, &inv->status_phys, err);

                if (r < 0)
                        return r;
                inv->status = status;
        }
        for (size_t done = 0; done < n; done += batch) {
                size_t k = n - done < batch ? n - done : batch;
                uint64_t d[4], wait[4] = {};
                int r;

                for (size_t i = 0; i < k; i++) {
                        memset(d, 0, sizeof d);
                        r = encode(inv, &q[done + i], d, err);
                        if (r < 0)
                                return r;
                        put(inv, d);
                }
                inv->seq++;
                FIELD_SET(INV_WAIT_DSC, TYPE_LO, wait, INV_DSC_WAIT);
                FIELD_SET(INV_WAIT_DSC, SW, wait, 1);
                FIELD_SET(INV_WAIT_DSC, FN, wait, 1);
                FIELD_SET(INV_WAIT_DSC, STDATA, wait, inv->seq);
                FIELD_SET(INV_WAIT_DSC, STADDR, wait, inv->status_phys >> 2);
                put(inv, wait);
                /* the descriptors are in memory before the tail moves past them */
                __atomic_thread_fence(__ATOMIC_SEQ_CST);
                r = unit_hw_write(inv->hw, &layout_iqt, iqt_of(inv), err);
                if (r >= 0)
                        r = queue_wait(inv, wait, err);
                if (r < 0)
                        return r;
                count(inv, &q[done], k);
        }
        return 0;
}

static int queue_start(invalidator *inv, iommu_error *err) {
        uint64_t iqa = 0;
        void *queue, *status;
        int r;

        r = table_mem_alloc_page(inv->mem, &queue, &inv->queue_phys, err);
        if (r < 0)
                return r;
        r = table_mem_alloc_page(inv->mem, &status, &inv->status_phys, err);
        if (r < 0)
                return r;
        inv->queue = queue;
        inv->status = status;
        inv->dsize = inv->scalable ? 32 : 16;
        inv->slots = VTD_PAGE_SIZE / inv->dsize;
        inv->tail = 0;
        FIELD_SET(IQA, IQA, &iqa, inv->queue_phys >> 12);
        FIELD_SET(IQA, DW, &iqa, inv->scalable);
        FIELD_SET(IQA, QS, &iqa, QUEUE_PAGES_QS);
        r = unit_hw_write(inv->hw, &layout_iqt, 0, err);
        if (r >= 0)
                r = unit_hw_write(inv->hw, &layout_iqa, iqa, err);
        if (r >= 0)
                r = unit_hw_enable(inv->hw, (uint32_t) FIELD_MASK64(GCMD, QIE), true, err);
        return r;
}

static int queue_stop(invalidator *inv, iommu_error *err) {
        int r;

        /* hardware is done with every descriptor before the queue goes */
        r = unit_hw_poll(inv->hw, &layout_iqh, FIELD_MASK64(IQH, QH), iqt_of(inv), err);
        if (r >= 0)
                r = unit_hw_enable(inv->hw, (uint32_t) FIELD_MASK64(GCMD, QIE), false, err);
        return r;
}

static const invalidator_ops queued_ops = {
        .name = "queued",
        .start = queue_start,
        .submit = queue_submit,
        .stop = queue_stop,
};

const invalidator_ops *const invalidator_backends[_INVALIDATOR_KIND_MAX] = {
        [INVALIDATOR_REGISTER] = &register_ops,
        [INVALIDATOR_QUEUED] = &queued_ops,
};

/* ---- the interface ---- */

int invalidator_new(unit_hw *hw, table_mem *mem, invalidator_kind kind, bool scalable, invalidator **ret,
                    iommu_error *err) {
        _cleanup_(invalidator_freep) invalidator *inv = NULL;
        int r;

        if (kind < 0 || kind >= _INVALIDATOR_KIND_MAX)
                return iommu_error_set(err, EINVAL, "Unknown invalidation backend %d", (int) kind);
        if (kind == INVALIDATOR_QUEUED && !FIELD_GET(ECAP, QI, &hw->ecap))
                return iommu_error_set(err, EOPNOTSUPP, "%s has no invalidation queue (ECAP.QI 0)",
                                       hw->name);
        if (kind == INVALIDATOR_REGISTER && scalable)
                return iommu_error_set(err, EOPNOTSUPP, "%s: scalable mode needs the invalidation queue",
                                       hw->name);
        inv = calloc(1, sizeof *inv);
        if (!inv)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *inv = (invalidator){
                .ops = invalidator_backends[kind], .kind = kind, .hw = hw, .mem = mem, .scalable = scalable
        };
        r = inv->ops->start(inv, err);
        if (r < 0)
                return r;
        inv->started = true;
        *ret = TAKE_PTR(inv);
        return 0;
}

/* A running queue: IQA's page claimed (it must be table memory, 4 KiB,
 * the descriptor width of the mode), the tail where IQT is, the status
 * page and sequence where the last wait descriptor before the tail says. */
static int queue_adopt(invalidator *inv, iommu_error *err) {
        uint64_t iqa = 0, iqt = 0, qt, *last, status_phys;
        unsigned prev;
        iommu_error e = {};
        int r;

        r = unit_hw_read(inv->hw, &layout_iqa, &iqa, err);
        if (r >= 0)
                r = unit_hw_read(inv->hw, &layout_iqt, &iqt, err);
        if (r < 0)
                return r;
        inv->dsize = inv->scalable ? 32 : 16;
        inv->slots = VTD_PAGE_SIZE / inv->dsize;
        /* DW as queue_start() wrote it; QEMU 7.2's IQA reads DW back as 0
         * (it keeps the width aside), so in scalable mode a clear DW is
         * taken for the width iommud wrote */
        if (FIELD_GET(IQA, QS, &iqa) != QUEUE_PAGES_QS || (FIELD_GET(IQA, DW, &iqa) && !inv->scalable))
                return iommu_error_set(err, EPROTO,
                                       "%s: IQA 0x%" PRIx64 " is not a queue iommud sets up (one page of "
                                       "%u-bit descriptors)",
                                       inv->hw->name, iqa, inv->dsize * 8);
        qt = FIELD_GET(IQT, QT, &iqt) * 16;
        if (qt % inv->dsize || qt >= VTD_PAGE_SIZE)
                return iommu_error_set(err, EPROTO, "%s: IQT 0x%" PRIx64 " is no descriptor of the queue",
                                       inv->hw->name, iqt);
        inv->queue_phys = FIELD_ADDR(IQA, IQA, &iqa);
        r = table_mem_claim_page(inv->mem, inv->queue_phys, &e);
        if (r < 0)
                return iommu_error_set(err, EPROTO, "%s: the invalidation queue (IQA 0x%" PRIx64 ") %s",
                                       inv->hw->name, iqa,
                                       r == -EEXIST ? "is in use already" : "is outside table memory");
        inv->queue = table_mem_virt(inv->mem, inv->queue_phys);
        inv->tail = (unsigned) (qt / inv->dsize);
        prev = (inv->tail + inv->slots - 1) % inv->slots;
        last = (uint64_t *) (inv->queue + (size_t) prev * inv->dsize);
        if (FIELD_GET(INV_WAIT_DSC, TYPE_LO, last) == INV_DSC_WAIT && FIELD_GET(INV_WAIT_DSC, SW, last)) {
                status_phys = FIELD_GET(INV_WAIT_DSC, STADDR, last) << 2;
                r = table_mem_claim_page(inv->mem, status_phys & ~UINT64_C(0xfff), &e);
                if (r < 0) {
                        table_mem_free_page(inv->mem, inv->queue_phys);
                        return iommu_error_set(
                                err, EPROTO, "%s: the invalidation wait status at 0x%" PRIx64 " %s",
                                inv->hw->name, status_phys,
                                r == -EEXIST ? "shares a page in use already" : "is outside table memory");
                }
                inv->status_phys = status_phys;
                inv->status = table_mem_virt(inv->mem, status_phys);
                inv->seq = (uint32_t) FIELD_GET(INV_WAIT_DSC, STDATA, last);
        }
        return 0;
}

int invalidator_adopt(unit_hw *hw, table_mem *mem, invalidator_kind kind, bool scalable, invalidator **ret,
                      iommu_error *err) {
        _cleanup_free_ invalidator *inv = NULL;
        uint32_t gsts;
        bool on;
        int r;

        if (kind < 0 || kind >= _INVALIDATOR_KIND_MAX)
                return iommu_error_set(err, EINVAL, "Unknown invalidation backend %d", (int) kind);
        if (kind == INVALIDATOR_REGISTER && scalable)
                return iommu_error_set(err, EOPNOTSUPP, "%s: scalable mode needs the invalidation queue",
                                       hw->name);
        r = unit_hw_gsts(hw, &gsts, err);
        if (r < 0)
                return r;
        on = gsts & FIELD_MASK64(GSTS, QIES);
        if (on != (kind == INVALIDATOR_QUEUED))
                return iommu_error_set(err, EPROTO,
                                       "%s: queued invalidation is %s (GSTS.QIES %d), not what %s needs",
                                       hw->name, on ? "on" : "off", on, invalidator_backends[kind]->name);
        inv = calloc(1, sizeof *inv);
        if (!inv)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *inv = (invalidator){
                .ops = invalidator_backends[kind], .kind = kind, .hw = hw, .mem = mem, .scalable = scalable
        };
        if (kind == INVALIDATOR_QUEUED) {
                r = queue_adopt(inv, err);
                if (r < 0)
                        return r;
        }
        inv->started = true;
        *ret = TAKE_PTR(inv);
        return 0;
}

invalidator *invalidator_abandon(invalidator *inv) {
        if (!inv)
                return NULL;
        if (inv->queue)
                table_mem_free_page(inv->mem, inv->queue_phys);
        if (inv->status)
                table_mem_free_page(inv->mem, inv->status_phys & ~UINT64_C(0xfff));
        free(inv);
        return NULL;
}

int invalidate(invalidator *inv, const inv_request *r, size_t n, iommu_error *err) {
        if (n == 0)
                return 0;
        return inv->ops->submit(inv, r, n, err);
}

int invalidator_stop(invalidator *inv, iommu_error *err) {
        int r;

        if (!inv || !inv->started)
                return 0;
        r = inv->ops->stop(inv, err);
        if (r >= 0)
                inv->started = false;
        return r;
}

invalidator *invalidator_free(invalidator *inv) {
        if (!inv)
                return NULL;
        /* pages hardware may still read stay allocated (a unit that would
         * not stop): table memory is the owner's to tear down */
        if (!inv->started) {
                if (inv->queue)
                        table_mem_free_page(inv->mem, inv->queue_phys);
                if (inv->status)
                        table_mem_free_page(inv->mem, inv->status_phys & ~UINT64_C(0xfff));
        }
        free(inv);
        return NULL;
}

size_t inv_page_requests(uint64_t cap, uint16_t did, uint64_t iova, uint64_t length, bool ih, inv_request *r,
                         size_t max) {
        unsigned mamv = (unsigned) FIELD_GET(CAP, MAMV, &cap);
        uint64_t pfn = iova >> 12, end = (iova + length + 0xfff) >> 12;
        size_t n = 0;

        if (!FIELD_GET(CAP, PSI, &cap) || length == 0)
                return 0;
        while (pfn < end) {
                /* the largest aligned block from pfn that stays inside */
                unsigned am = 0;

                while (am < mamv && am < 63 && (pfn & ((UINT64_C(1) << (am + 1)) - 1)) == 0 &&
                       pfn + (UINT64_C(1) << (am + 1)) <= end)
                        am++;
                if (n == max)
                        return 0;
                r[n++] = (inv_request){
                        .kind = INV_KIND_IOTLB,
                        .granularity = INV_GRANULARITY_PAGE, /* 3: page-selective in both */
                        .did = did,
                        .addr = pfn << 12,
                        .am = (uint8_t) am,
                        .ih = ih,
                        .drain_read = FIELD_GET(CAP, DRD, &cap),
                        .drain_write = FIELD_GET(CAP, DWD, &cap),
                };
                pfn += UINT64_C(1) << am;
        }
        return n;
}
