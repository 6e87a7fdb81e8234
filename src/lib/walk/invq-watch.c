/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sampling an invalidation queue fed by someone else (walk/invq-watch.h). */
#include <inttypes.h>
#include <string.h>

#include "decode/regs.h"
#include "walk/invq-watch.h"

/* Descriptors that software may still be writing just past the tail it
 * last published (Linux submits at most a batch of 16 and a wait) are not
 * taken as a sign that the queue went round. */
#define INVQ_GUARD 32u

void invq_state_reset(invq_state *st) {
        free(st->copy);
        *st = (invq_state){};
}

static void count_slots(const uint8_t *q, size_t dsize, uint32_t n, uint32_t from, uint32_t count,
                        invq_counts *c) {
        for (uint32_t i = 0; i < count; i++) {
                uint64_t dsc[2];
                unsigned g;
                inv_kind k;

                memcpy(dsc, q + (size_t) ((from + i) % n) * dsize, sizeof dsc);
                k = inv_dsc_classify(dsc, &g);
                c->descriptors[k][g]++;
        }
}

/* Whether any slot in [from, from + count) differs between a and b. */
static bool slots_changed(const uint8_t *a, const uint8_t *b, size_t dsize, uint32_t n, uint32_t from,
                          uint32_t count) {
        for (uint32_t i = 0; i < count; i++) {
                size_t off = (size_t) ((from + i) % n) * dsize;
                if (memcmp(a + off, b + off, dsize) != 0)
                        return true;
        }
        return false;
}

int invq_sample(iommu_regs *regs, iommu_ram *ram, uint64_t cap, uint64_t ecap, uint64_t gsts,
                uint64_t rtaddr, invq_state *st, invq_counts *counts, iommu_error *err) {
        uint64_t iqa[LAYOUT_MAX_QWORDS], iqt[LAYOUT_MAX_QWORDS], base;
        _cleanup_free_ uint8_t *q = NULL;
        size_t size, dsize;
        uint32_t n, tail, fresh, outside;
        invq_counts add = {};
        int r;

        if (!FIELD_GET(ECAP, QI, &ecap) || !FIELD_GET(GSTS, QIES, &gsts)) {
                invq_state_reset(st);
                return 0;
        }
        if (!regs)
                return iommu_error_set(err, ENODEV, "The unit's registers cannot be read");
        if (!ram)
                return iommu_error_set(err, ENODEV, "RAM cannot be read");

        /* the tail first: the descriptors before it are complete */
        r = iommu_regs_read_layout(regs, &layout_iqt, cap, ecap, 0, iqt, err);
        if (r >= 0)
                r = iommu_regs_read_layout(regs, &layout_iqa, cap, ecap, 0, iqa, err);
        if (r < 0)
                return r;

        size = (size_t) VTD_PAGE_SIZE << FIELD_GET(IQA, QS, iqa);
        dsize = FIELD_GET(IQA, DW, iqa) || FIELD_GET(RTADDR, TTM, &rtaddr) == TTM_SCALABLE ? 32 : 16;
        n = (uint32_t) (size / dsize);
        base = FIELD_ADDR(IQA, IQA, iqa);
        tail = (uint32_t) (FIELD_GET(IQT, QT, iqt) * 16 / dsize);
        if (tail >= n)
                return iommu_error_set(err, ERANGE,
                                       "Invalidation queue tail 0x%" PRIx64
                                       " lies beyond the queue's %" PRIu32 " descriptors",
                                       FIELD_GET(IQT, QT, iqt) * 16, n);

        q = malloc(size);
        if (!q)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = iommu_ram_read(ram, base, q, size, err);
        if (r < 0)
                return r;

        if (!st->valid || st->iqa != iqa[0] || st->size != size) {
                /* what is in the queue now is of unknown age: count from here */
                invq_state_reset(st);
                *st = (invq_state){
                        .valid = true, .iqa = iqa[0], .tail = tail, .copy = TAKE_PTR(q), .size = size
                };
                return 1;
        }

        fresh = (tail + n - st->tail) % n;
        /* slots software did not write if it went round less than once */
        outside = n - fresh;
        outside = outside > INVQ_GUARD ? outside - INVQ_GUARD : 0;
        if (slots_changed(st->copy, q, dsize, n, tail + INVQ_GUARD, outside)) {
                add.overruns = 1;
                count_slots(q, dsize, n, 0, n, &add);
        } else
                count_slots(q, dsize, n, st->tail, fresh, &add);

        for (int k = 0; k < _INV_KIND_MAX; k++)
                for (unsigned g = 0; g < INV_GRANULARITY_MAX; g++)
                        counts->descriptors[k][g] += add.descriptors[k][g];
        counts->overruns += add.overruns;
        free(st->copy);
        st->copy = TAKE_PTR(q);
        st->tail = tail;
        return 1;
}
