/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The walker over any in-memory image and any register values: root,
 * context, PASID and page tables, legacy and scalable mode, and one
 * page-table tree on its own (walk_page_table).
 *
 * Input, little-endian:
 *   rtaddr u64, cap u64, ecap u64
 *   flags u8: 1 contexts only, 2 batched ranges, 4 filter bus/devfn,
 *             8 filter PASID, 16 filter DID, 32 through a recorder,
 *             64 one page-table tree from rtaddr instead of the unit
 *   bus u8, devfn u8, pasid u32, did u16: the filter's values
 *   tree u8: first stage (tree & 0x80) with 4 + tree % 2 levels, else
 *            second stage with 3 + tree % 3 levels; the root is rtaddr's
 *            page
 *   max_entries u16: the walker's bound, (n + 1) * 16 entries
 * then records to the end, each a tag byte:
 *   even: paddr u64, offset u16, len u16, then len bytes written at
 *         paddr + offset (mod 4096) in the page that makes it RAM
 *   odd:  start u64, end u64: RAM without pages (reads as zeros)
 *
 * Checked on what comes out: targets and their ends pair up, a target's
 * ranges ascend without overlap in whole pages of their page size,
 * anomalies are one terminated line, the walk ends with 0, and a recorder
 * lists each page it saw once, in order.
 */
#include <inttypes.h>
#include <string.h>

#include "access/access.h"
#include "fuzz.h"
#include "walk/walk.h"

typedef struct state {
        const walk_target *target; /* between target and target_done */
        bool have_last;
        uint64_t last_end; /* exclusive, of the target's last range */
        uint64_t n_ranges, n_anomalies;
} state;

static void check_range(state *st, const walk_range *r) {
        fuzz_check(r->page_size == UINT64_C(1) << 12 || r->page_size == UINT64_C(1) << 21 ||
                           r->page_size == UINT64_C(1) << 30 || r->page_size == UINT64_C(1) << 39 ||
                           r->page_size == UINT64_C(1) << 48,
                   "range at 0x%" PRIx64 ": page size 0x%" PRIx64, r->iova, r->page_size);
        fuzz_check(r->length >= r->page_size && r->length % r->page_size == 0,
                   "range at 0x%" PRIx64 ": length 0x%" PRIx64 " not whole pages of 0x%" PRIx64, r->iova,
                   r->length, r->page_size);
        fuzz_check(r->iova % r->page_size == 0, "range at 0x%" PRIx64 " not aligned to its page size",
                   r->iova);
        fuzz_check(r->iova + (r->length - 1) >= r->iova, "range at 0x%" PRIx64 " wraps", r->iova);
        if (st->target) {
                fuzz_check(!st->have_last || r->iova >= st->last_end,
                           "range at 0x%" PRIx64 " after one ending at 0x%" PRIx64, r->iova, st->last_end);
                st->have_last = r->iova + r->length != 0;
                st->last_end = r->iova + r->length;
        }
        st->n_ranges++;
}

static int on_target(void *userdata, const walk_target *t) {
        state *st = userdata;

        fuzz_check(!st->target, "a target began inside another");
        st->target = t;
        st->have_last = false;
        return 0;
}

static int on_range(void *userdata, const walk_target *t, const walk_range *r) {
        state *st = userdata;

        fuzz_check(t == st->target, "a range for another target than the current one");
        check_range(st, r);
        return 0;
}

static int on_ranges(void *userdata, const walk_target *t, const walk_range *r, size_t n) {
        fuzz_check(n > 0 && n <= WALK_RANGE_BATCH, "a batch of %zu ranges", n);
        for (size_t i = 0; i < n; i++)
                on_range(userdata, t, &r[i]);
        return 0;
}

static int on_anomaly(void *userdata, const walk_target *t, const walk_anomaly *a) {
        state *st = userdata;

        fuzz_check(t == st->target, "an anomaly for another target than the current one");
        fuzz_check(a->kind >= 0 && a->kind < _WALK_ANOMALY_MAX, "anomaly kind %d", a->kind);
        fuzz_check(strnlen(a->message, sizeof a->message) < sizeof a->message && a->message[0],
                   "anomaly message not one terminated line");
        fuzz_check(!strchr(a->message, '\n'), "anomaly message of several lines: %s", a->message);
        fuzz_check(walk_anomaly_kind_to_string(a->kind), "anomaly kind %d has no name", a->kind);
        st->n_anomalies++;
        return 0;
}

static int on_same_tables(void *userdata, const walk_target *t, const walk_target *first) {
        state *st = userdata;

        fuzz_check(t == st->target && first && first != t, "same_tables outside its target");
        return 0;
}

static int on_target_done(void *userdata, const walk_target *t) {
        state *st = userdata;

        fuzz_check(t == st->target, "target_done for another target");
        fuzz_check(t->translation >= 0 && t->translation < _WALK_TRANSLATION_MAX, "translation %d",
                   t->translation);
        st->target = NULL;
        return 0;
}

static int load_image(fuzz_input *in, iommu_ram *ram) {
        while (in->n > 0) {
                uint8_t tag = fuzz_u8(in);

                if (tag % 2 == 0) {
                        uint64_t paddr = fuzz_u64(in) & ~(uint64_t) (VTD_PAGE_SIZE - 1);
                        uint16_t off = fuzz_u16(in) % VTD_PAGE_SIZE, len = fuzz_u16(in);
                        uint8_t *page = iommu_ram_image_page(ram, paddr);

                        if (!page)
                                return -ENOMEM;
                        if (len > in->n)
                                len = (uint16_t) in->n;
                        if (len > VTD_PAGE_SIZE - off)
                                len = (uint16_t) (VTD_PAGE_SIZE - off);
                        memcpy(page + off, in->p, len);
                        in->p += len;
                        in->n -= len;
                } else {
                        uint64_t start = fuzz_u64(in), end = fuzz_u64(in);

                        if (start <= end)
                                (void) iommu_ram_image_add_range(ram, start, end);
                }
        }
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_input in = { data, size };
        _cleanup_(iommu_ram_freep) iommu_ram *image = NULL, *rec = NULL;
        uint64_t rtaddr = fuzz_u64(&in), cap = fuzz_u64(&in), ecap = fuzz_u64(&in);
        uint8_t flags = fuzz_u8(&in), bus = fuzz_u8(&in), devfn = fuzz_u8(&in);
        uint32_t pasid = fuzz_u32(&in);
        uint16_t did = fuzz_u16(&in);
        uint8_t tree = fuzz_u8(&in);
        walk_filter filter = {
                .bus = flags & 4 ? bus : -1,
                .devfn = flags & 4 ? devfn : -1,
                .pasid = flags & 8 ? (int64_t) pasid : -1,
                .did = flags & 16 ? did : -1,
                .max_entries = ((uint64_t) fuzz_u16(&in) + 1) * 16,
                .contexts_only = flags & 1,
        };
        const walk_ops ops = {
                .target = on_target,
                .same_tables = on_same_tables,
                .range = flags & 2 ? NULL : on_range,
                .ranges = flags & 2 ? on_ranges : NULL,
                .anomaly = on_anomaly,
                .target_done = on_target_done,
        };
        iommu_ram *ram;
        state st = {};
        int r;

        if (iommu_ram_new_image(&image) < 0 || load_image(&in, image) < 0)
                return 0; /* out of memory: nothing to check */
        ram = image;
        if (flags & 32) {
                fuzz_check(iommu_ram_new_recorder(image, &rec) == 0, "iommu_ram_new_recorder failed");
                ram = rec;
        }

        if (flags & 64) {
                static walk_target t;
                st.target = &t;
                bool fs = tree & 0x80;
                r = walk_page_table(ram, cap, rtaddr & ~(uint64_t) (VTD_PAGE_SIZE - 1),
                                    fs ? 4 + tree % 2 : 3 + tree % 3, fs, &t, &ops, &st);
        } else
                r = walk_unit(ram, rtaddr, cap, ecap, &filter, &ops, &st);
        fuzz_check(r == 0, "the walk ended with %d", r);
        fuzz_check(flags & 64 || !st.target, "a target without target_done");

        if (rec) {
                const uint64_t *pages;
                size_t n;

                fuzz_check(iommu_ram_recorded(rec, &pages, &n) == 0, "iommu_ram_recorded failed");
                for (size_t i = 0; i < n; i++) {
                        fuzz_check(pages[i] % VTD_PAGE_SIZE == 0, "recorded page 0x%" PRIx64, pages[i]);
                        fuzz_check(i == 0 || pages[i] > pages[i - 1],
                                   "recorded pages not sorted and unique");
                        fuzz_check(iommu_ram_contains(image, pages[i], VTD_PAGE_SIZE),
                                   "recorded page 0x%" PRIx64 " is not RAM", pages[i]);
                }
        }
        return 0;
}
