/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The invalidation-queue watcher and descriptor decoder: two samples of a
 * queue in an in-memory image, its IQA and IQT registers as the input says,
 * the queue's contents changed between them.
 *
 * Input, little-endian:
 *   iqa u64, iqt0 u64, iqt1 u64 (the tail at each sample), rtaddr u64
 *   flags u8: 1 another IQA at the second sample (iqa ^ 1 << 11: DW)
 *   at u32: where the second sample's bytes go in the queue
 * then the queue's bytes: the first half before the first sample, the
 * second half written at `at` before the second one.
 *
 * Checked: a sample answers 1, or fails with one line; the first counts
 * nothing; the second counts, when the queue did not go round, exactly the
 * descriptors from the first tail to the second (IQT.QT in 16-byte units,
 * descriptors of 16 bytes or, with IQA.DW or in scalable mode, 32), and
 * the whole queue when it did.
 */
#include <string.h>

#include "access/access.h"
#include "decode/regs.h"
#include "fuzz.h"
#include "walk/invq-watch.h"

#define REGS_BASE 0xfed90000u

static uint64_t total(const invq_counts *c) {
        uint64_t n = 0;

        for (int k = 0; k < _INV_KIND_MAX; k++)
                for (unsigned g = 0; g < INV_GRANULARITY_MAX; g++)
                        n += c->descriptors[k][g];
        return n;
}

static void set_regs(iommu_regs *regs, uint64_t iqa, uint64_t iqt) {
        uint8_t *r = iommu_regs_image_data(regs);

        memcpy(r + REG_IQA, &iqa, sizeof iqa);
        memcpy(r + REG_IQT, &iqt, sizeof iqt);
}

static int sample(iommu_regs *regs, iommu_ram *ram, uint64_t rtaddr, invq_state *st, invq_counts *c) {
        const uint64_t ecap = UINT64_C(1) << ECAP_QI_LO, gsts = UINT64_C(1) << GSTS_QIES_LO;
        iommu_error err = {};
        int r = invq_sample(regs, ram, 0, ecap, gsts, rtaddr, st, c, &err);

        fuzz_check(r == 1 || (r < 0 && err.error == -r && err.message[0]), "invq_sample: %d (%s)", r,
                   err.message);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_input in = { data, size };
        uint64_t iqa = fuzz_u64(&in), iqt0 = fuzz_u64(&in), iqt1 = fuzz_u64(&in), rtaddr = fuzz_u64(&in);
        uint8_t flags = fuzz_u8(&in);
        uint32_t at = fuzz_u32(&in);
        _cleanup_(iommu_regs_freep) iommu_regs *regs = NULL;
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        uint64_t base = iqa & ~(uint64_t) (VTD_PAGE_SIZE - 1), qsize = (uint64_t) VTD_PAGE_SIZE << (iqa & 7);
        size_t half = in.n / 2, dsize;
        invq_state st = {};
        invq_counts c = {};
        uint64_t iqa1 = flags & 1 ? iqa ^ UINT64_C(1) << 11 : iqa;
        int r;

        if (iommu_regs_new_image(REGS_BASE, VTD_PAGE_SIZE, &regs) < 0 || iommu_ram_new_image(&ram) < 0)
                return 0;
        /* the queue's pages are RAM; past the input's bytes they read as zeros */
        if (base + qsize - 1 < base || iommu_ram_image_add_range(ram, base, base + qsize - 1) < 0)
                return 0;
        for (size_t i = 0; i < half && i < qsize; i += VTD_PAGE_SIZE) {
                uint8_t *p = iommu_ram_image_page(ram, base + i);
                if (!p)
                        return 0;
                memcpy(p, in.p + i, half - i < VTD_PAGE_SIZE ? half - i : VTD_PAGE_SIZE);
        }

        set_regs(regs, iqa, iqt0);
        r = sample(regs, ram, rtaddr, &st, &c);
        fuzz_check(total(&c) == 0 && c.overruns == 0, "the first sample counted");
        if (r < 0)
                goto done;

        /* more descriptors, somewhere in the queue */
        for (size_t i = half; i < in.n; i++) {
                uint64_t a = base + (at + (i - half)) % qsize;
                uint8_t *p = iommu_ram_image_page(ram, a & ~(uint64_t) (VTD_PAGE_SIZE - 1));
                if (!p)
                        goto done;
                p[a % VTD_PAGE_SIZE] = in.p[i];
        }
        set_regs(regs, iqa1, iqt1);
        r = sample(regs, ram, rtaddr, &st, &c);
        if (r < 0 || iqa1 != iqa)
                goto done;

        dsize = FIELD_GET(IQA, DW, &iqa) || FIELD_GET(RTADDR, TTM, &rtaddr) == TTM_SCALABLE ? 32 : 16;
        {
                uint64_t n = qsize / dsize, t0 = FIELD_GET(IQT, QT, &iqt0) * 16 / dsize,
                         t1 = FIELD_GET(IQT, QT, &iqt1) * 16 / dsize;

                fuzz_check(c.overruns <= 1, "%llu overruns in one sample", (unsigned long long) c.overruns);
                if (c.overruns)
                        fuzz_check(total(&c) == n, "an overrun counted %llu of %llu descriptors",
                                   (unsigned long long) total(&c), (unsigned long long) n);
                else
                        fuzz_check(total(&c) == (t1 + n - t0) % n,
                                   "counted %llu descriptors from %llu to %llu",
                                   (unsigned long long) total(&c), (unsigned long long) t0,
                                   (unsigned long long) t1);
        }
done:
        invq_state_reset(&st);
        return 0;
}
