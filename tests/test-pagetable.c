/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Page tables iommud builds (control/pagetable.h), read back by the walker
 * (walk/walk.h), the independent reader that observes the kernel's tables:
 * page sizes from alignment and CAP.SLLPS, refusals that change nothing,
 * large pages split on a partial unmap, tables handed back, and the tree
 * whole after every single store hardware could see.  Expectations are
 * literal numbers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/tablemem.h"
#include "check-main.h"
#include "control/pagetable.h"
#include "walk/walk.h"

#define K4 UINT64_C(0x1000)
#define M2 UINT64_C(0x200000)
#define G1 UINT64_C(0x40000000)
/* CAP: MGAW 47 (48 bits), SAGAW 39/48, and SLLPS as given (bits 37:34) */
#define CAP(sllps) ((UINT64_C(47) << 16) | (UINT64_C(0x6) << 8) | ((uint64_t) (sllps) << 34))

static iommu_ram *image, *view;
static table_mem *mem;

static void setup(void) {
        iommu_error err = {};

        ck_assert_int_eq(iommu_ram_new_image(&image), 0);
        ck_assert_int_eq(table_mem_open_image(image, 0x10000000, &mem, &err), 0);
        ck_assert_int_eq(table_mem_ram(mem, &view), 0);
}

static void teardown(void) {
        view = iommu_ram_free(view);
        mem = table_mem_free(mem);
        image = iommu_ram_free(image);
}

typedef struct seen {
        walk_range r[64];
        size_t n;
        uint64_t bytes, anomalies;
        char first_anomaly[160];
} seen;

static int on_range(void *u, const walk_target *t, const walk_range *r) {
        seen *s = u;
        if (s->n < 64)
                s->r[s->n] = *r;
        s->n++;
        s->bytes += r->length;
        return 0;
}

static int on_anomaly(void *u, const walk_target *t, const walk_anomaly *a) {
        seen *s = u;
        if (s->anomalies++ == 0)
                snprintf(s->first_anomaly, sizeof s->first_anomaly, "%s", a->message);
        return 0;
}

static seen walk(const page_table *pt, uint64_t cap) {
        static const walk_ops ops = { .range = on_range, .anomaly = on_anomaly };
        seen s = {};

        ck_assert_int_eq(walk_page_table(view, cap, page_table_root(pt), page_table_levels(pt), false, NULL,
                                         &ops, &s),
                         0);
        return s;
}

static void expect(const seen *s, const walk_range *want, size_t n) {
        ck_assert_msg(s->anomalies == 0, "anomaly: %s", s->first_anomaly);
        ck_assert_uint_eq(s->n, n);
        for (size_t i = 0; i < n; i++) {
                const walk_range *g = &s->r[i], *w = &want[i];
                ck_assert_msg(g->iova == w->iova && g->phys == w->phys && g->length == w->length &&
                                      g->page_size == w->page_size && g->read == w->read &&
                                      g->write == w->write && !g->execute,
                              "range %zu: got iova 0x%" PRIx64 " phys 0x%" PRIx64 " length 0x%" PRIx64
                              " page 0x%" PRIx64 " r%d w%d",
                              i, g->iova, g->phys, g->length, g->page_size, g->read, g->write);
        }
}

static void expect_walk(seen s, const walk_range *want, size_t n) {
        expect(&s, want, n);
}

static page_table *new_table(unsigned levels, uint64_t cap) {
        page_table *pt = NULL;
        iommu_error err = {};

        ck_assert_int_eq(
                page_table_new(mem, &(page_table_config){ .levels = levels, .cap = cap, .coherent = true },
                               &pt, &err),
                0);
        return pt;
}

START_TEST(page_sizes) {
        _cleanup_(page_table_freep) page_table *pt = new_table(4, CAP(3));
        iommu_error err = {};
        uint64_t phys, size;
        unsigned perms;

        /* 1 GiB + 2 MiB + 4 KiB, all aligned: one of each size */
        ck_assert_int_eq(page_table_map(pt, G1, 2 * G1, G1 + M2 + K4, PT_READ | PT_WRITE, &err), 0);
        expect_walk(walk(pt, CAP(3)),
                    (walk_range[]){ { G1, 2 * G1, G1, G1, true, true },
                                    { 2 * G1, 3 * G1, M2, M2, true, true },
                                    { 2 * G1 + M2, 3 * G1 + M2, K4, K4, true, true } },
                    3);
        ck_assert_int_eq(page_table_lookup(pt, G1 + 0x12345, &phys, &perms, &size), 0);
        ck_assert_uint_eq(phys, 2 * G1 + 0x12345);
        ck_assert_uint_eq(size, G1);
        ck_assert_uint_eq(perms, PT_READ | PT_WRITE);
        ck_assert_uint_eq(page_table_mapped(pt), G1 + M2 + K4);

        /* a physical address aligned only to 4 KiB: 4 KiB pages, whatever the IOVA */
        ck_assert_int_eq(page_table_map(pt, 4 * G1, 8 * G1 + K4, 2 * M2, PT_READ, &err), 0);
        ck_assert_int_eq(page_table_lookup(pt, 4 * G1 + M2, &phys, &perms, &size), 0);
        ck_assert_uint_eq(size, K4);
        ck_assert_uint_eq(phys, 8 * G1 + K4 + M2);
        ck_assert_uint_eq(perms, PT_READ);
        ck_assert_int_eq(page_table_lookup(pt, 4 * G1 + 2 * M2, NULL, NULL, NULL), -ENOENT);
}
END_TEST

START_TEST(sllps_limits) {
        _cleanup_(page_table_freep) page_table *two = new_table(4, CAP(1)), *none = new_table(3, CAP(0));
        iommu_error err = {};

        /* 2 MiB pages only: a 1 GiB block is 512 of them (one range) */
        ck_assert_int_eq(page_table_map(two, G1, G1, G1, PT_WRITE, &err), 0);
        expect_walk(walk(two, CAP(1)), (walk_range[]){ { G1, G1, G1, M2, false, true } }, 1);
        /* none: 4 KiB pages; 4 MiB is 1024 of them in two leaf tables */
        ck_assert_int_eq(page_table_map(none, 0, 4 * M2, 2 * M2, PT_READ | PT_WRITE, &err), 0);
        expect_walk(walk(none, CAP(0)), (walk_range[]){ { 0, 4 * M2, 2 * M2, K4, true, true } }, 1);
        ck_assert_uint_eq(page_table_pages(none), 1 + 1 + 2); /* L3 root, one L2, two L1 */
}
END_TEST

START_TEST(refusals_change_nothing) {
        _cleanup_(page_table_freep) page_table *pt = new_table(3, CAP(1));
        page_table_garbage g = {};
        iommu_error err = {};
        size_t used;

        ck_assert_int_eq(page_table_map(pt, M2, M2, M2, PT_READ | PT_WRITE, &err), 0);
        used = table_mem_pages_used(mem);

        ck_assert_int_eq(page_table_map(pt, 0, 0, 4 * M2, PT_READ, &err), -EEXIST);
        ck_assert_str_eq(err.message, "IOVA 0x200000 is already mapped");
        ck_assert_int_eq(page_table_map(pt, M2 + 3 * K4, 0, K4, PT_READ, &err), -EEXIST);
        ck_assert_str_eq(err.message, "IOVA 0x203000 is already mapped");
        ck_assert_int_eq(page_table_map(pt, K4 + 1, 0, K4, PT_READ, &err), -EINVAL);
        ck_assert_int_eq(page_table_map(pt, 0, 0x800, K4, PT_READ, &err), -EINVAL);
        ck_assert_int_eq(page_table_map(pt, 0, 0, 0, PT_READ, &err), -EINVAL);
        ck_assert_int_eq(page_table_map(pt, 0, 0, K4, 0, &err), -EINVAL);
        /* 39 bits for three levels */
        ck_assert_int_eq(page_table_map(pt, UINT64_C(1) << 39, 0, K4, PT_READ, &err), -ERANGE);
        ck_assert_str_eq(err.message,
                         "IOVA 0x8000000000+0x1000 goes past the domain's 39-bit address width");
        ck_assert_int_eq(page_table_map(pt, (UINT64_C(1) << 39) - K4, 0, 2 * K4, PT_READ, &err), -ERANGE);
        /* physical addresses past CAP.MGAW (48 bits) */
        ck_assert_int_eq(page_table_map(pt, 0, UINT64_C(1) << 48, K4, PT_READ, &err), -ERANGE);
        ck_assert_int_eq(page_table_unmap(pt, 0, 2 * M2, &g, &err), -ENOENT);
        ck_assert_str_eq(err.message, "IOVA 0x0 is not mapped");
        ck_assert_int_eq(page_table_unmap(pt, M2, 2 * M2, &g, &err), -ENOENT);
        ck_assert_uint_eq(g.n, 0);
        free(g.pages);
        ck_assert_str_eq(err.message, "IOVA 0x400000 is not mapped");

        ck_assert_uint_eq(table_mem_pages_used(mem), used);
        expect_walk(walk(pt, CAP(1)), (walk_range[]){ { M2, M2, M2, M2, true, true } }, 1);

        /* out of table memory half way through preparing: nothing changed */
        table_mem_set_max_chunks(mem, table_mem_chunks(mem));
        ck_assert_int_eq(page_table_map(pt, G1, K4, 600 * M2, PT_READ, &err), -ENOMEM);
        ck_assert_uint_eq(table_mem_pages_used(mem), used);
        expect_walk(walk(pt, CAP(1)), (walk_range[]){ { M2, M2, M2, M2, true, true } }, 1);
}
END_TEST

START_TEST(split_on_partial_unmap) {
        _cleanup_(page_table_freep) page_table *pt = new_table(4, CAP(3));
        page_table_garbage g = {};
        iommu_error err = {};
        size_t used;

        ck_assert_int_eq(page_table_map(pt, G1, 4 * G1, G1, PT_READ | PT_WRITE, &err), 0);
        used = table_mem_pages_used(mem);
        /* a 4 KiB hole at G1 + 3 MiB: the 1 GiB page becomes 511 of 2 MiB and
         * the second 2 MiB page becomes 511 of 4 KiB, in two new tables */
        ck_assert_int_eq(page_table_unmap(pt, G1 + 3 * 0x100000, K4, &g, &err), 0);
        expect_walk(walk(pt, CAP(3)),
                    (walk_range[]){ { G1, 4 * G1, M2, M2, true, true },
                                    { G1 + M2, 4 * G1 + M2, 0x100000, K4, true, true },
                                    { G1 + 0x301000, 4 * G1 + 0x301000, 0xff000, K4, true, true },
                                    { G1 + 2 * M2, 4 * G1 + 2 * M2, G1 - 2 * M2, M2, true, true } },
                    4);
        ck_assert_uint_eq(table_mem_pages_used(mem), used + 2);
        ck_assert_uint_eq(g.n, 0);
        ck_assert_uint_eq(page_table_mapped(pt), G1 - K4);

        /* the rest: every table below the root emptied, unlinked, collected,
         * and handed back only on release */
        ck_assert_int_eq(page_table_unmap(pt, G1, 3 * 0x100000, &g, &err), 0);
        ck_assert_int_eq(page_table_unmap(pt, G1 + 0x301000, G1 - 0x301000, &g, &err), 0);
        expect_walk(walk(pt, CAP(3)), NULL, 0);
        ck_assert_uint_eq(g.n, 3); /* the PDPT, the 2 MiB table, the 4 KiB table */
        ck_assert_uint_eq(table_mem_pages_used(mem), used + 2);
        page_table_release(pt, &g);
        ck_assert_uint_eq(table_mem_pages_used(mem), 1);
        ck_assert_uint_eq(page_table_pages(pt), 1);
        ck_assert_uint_eq(page_table_mapped(pt), 0);
        free(g.pages);
}
END_TEST

/* After every store: the walk sees no anomaly, every range it sees
 * translates IOVA x to x + DELTA (all mappings here do), and the bytes
 * mapped only grow during a map and only shrink during an unmap. */
#define DELTA (UINT64_C(0x1000000000))
typedef struct watch {
        const page_table *pt;
        uint64_t cap, last_bytes, stores;
        int direction; /* +1 map, -1 unmap */
        bool bad;
        char why[200];
} watch;

static void on_store(void *userdata) {
        watch *w = userdata;
        seen s = walk(w->pt, w->cap);

        w->stores++;
        if (s.anomalies && !w->bad) {
                w->bad = true;
                snprintf(w->why, sizeof w->why, "after store %" PRIu64 ": %s", w->stores, s.first_anomaly);
        }
        for (size_t i = 0; i < s.n && i < 64 && !w->bad; i++)
                if (s.r[i].phys != s.r[i].iova + DELTA) {
                        w->bad = true;
                        snprintf(w->why, sizeof w->why,
                                 "after store %" PRIu64 ": 0x%" PRIx64 " -> 0x%" PRIx64, w->stores,
                                 s.r[i].iova, s.r[i].phys);
                }
        if (!w->bad && (w->direction > 0 ? s.bytes < w->last_bytes : s.bytes > w->last_bytes)) {
                w->bad = true;
                snprintf(w->why, sizeof w->why,
                         "after store %" PRIu64 ": %" PRIu64 " bytes, before %" PRIu64, w->stores, s.bytes,
                         w->last_bytes);
        }
        w->last_bytes = s.bytes;
}

START_TEST(whole_after_every_store) {
        _cleanup_(page_table_freep) page_table *pt = new_table(4, CAP(3));
        watch w = { .pt = pt, .cap = CAP(3), .direction = 1 };
        page_table_garbage g = {};
        iommu_error err = {};

        page_table_set_store_hook(pt, on_store, &w);
        ck_assert_int_eq(
                page_table_map(pt, G1 - 3 * M2, G1 - 3 * M2 + DELTA, G1 + 7 * M2, PT_READ | PT_WRITE, &err),
                0);
        ck_assert_int_eq(page_table_map(pt, 5 * G1 + K4, 5 * G1 + K4 + DELTA, 3 * M2, PT_READ, &err), 0);
        w.direction = -1;
        ck_assert_int_eq(page_table_unmap(pt, G1 + 5 * K4, 3 * M2, &g, &err), 0);
        ck_assert_int_eq(page_table_unmap(pt, G1 - 3 * M2, 3 * M2 + 5 * K4, &g, &err), 0);
        ck_assert_int_eq(page_table_unmap(pt, 5 * G1 + K4, 3 * M2, &g, &err), 0);
        ck_assert_msg(!w.bad, "%s", w.why);
        ck_assert_uint_gt(w.stores, 10);
        page_table_release(pt, &g);
        free(g.pages);
}
END_TEST

START_TEST(free_hands_back_everything) {
        page_table *pt = new_table(5, CAP(3));
        iommu_error err = {};

        ck_assert_int_eq(page_table_map(pt, 0, 0, 4 * G1 + 5 * M2 + 3 * K4, PT_READ, &err), 0);
        ck_assert_uint_gt(table_mem_pages_used(mem), 4);
        page_table_free(pt);
        ck_assert_uint_eq(table_mem_pages_used(mem), 0);
}
END_TEST

/* page_table_ranges (what iommud persists) against the walker, the
 * independent reader, after random maps and unmaps of every page size */
typedef struct gathered {
        uint64_t iova[4096], phys[4096], length[4096];
        unsigned perms[4096];
        size_t n;
} gathered;

static int gather(void *u, uint64_t iova, uint64_t phys, uint64_t length, unsigned perms) {
        gathered *g = u;

        ck_assert_uint_lt(g->n, 4096);
        g->iova[g->n] = iova;
        g->phys[g->n] = phys;
        g->length[g->n] = length;
        g->perms[g->n++] = perms;
        return 0;
}

static int gather_walk(void *u, const walk_target *t, const walk_range *r) {
        gathered *g = u;
        unsigned perms = (r->read ? PT_READ : 0) | (r->write ? PT_WRITE : 0);

        if (g->n > 0 && g->iova[g->n - 1] + g->length[g->n - 1] == r->iova &&
            g->phys[g->n - 1] + g->length[g->n - 1] == r->phys && g->perms[g->n - 1] == perms) {
                g->length[g->n - 1] += r->length;
                return 0;
        }
        return gather(u, r->iova, r->phys, r->length, perms);
}

static int stop_at_second(void *u, uint64_t iova, uint64_t phys, uint64_t length, unsigned perms) {
        return ++*(unsigned *) u == 2 ? -ECANCELED : 0;
}

START_TEST(ranges_agree_with_walker) {
        static const walk_ops ops = { .range = gather_walk, .anomaly = on_anomaly };
        _cleanup_(page_table_freep) page_table *pt = new_table(4, CAP(3));
        page_table_garbage garbage = {};
        static gathered mine, theirs;
        uint64_t seed = 0x9e3779b97f4a7c15;
        iommu_error err = {};
        unsigned calls = 0;

        for (unsigned i = 0; i < 400; i++) {
                static const uint64_t sizes[] = { K4, 3 * K4, M2, M2 + K4, G1 };
                uint64_t size, iova, phys;

                seed = seed * 6364136223846793005u + 1442695040888963407u;
                size = sizes[(seed >> 33) % 5];
                iova = ((seed >> 20) % 64) * M2 + ((seed >> 40) % 2) * K4 * 16;
                phys = ((seed >> 10) % 64) * M2;
                if (size == G1)
                        iova = phys = ((seed >> 12) % 4 + 1) * 64 * G1;
                if ((seed >> 7) % 3 == 0) {
                        if (page_table_unmap(pt, iova, size, &garbage, &err) >= 0)
                                page_table_release(pt, &garbage);
                } else
                        (void) page_table_map(pt, iova, phys, size,
                                              (seed >> 50) % 2 ? PT_READ : PT_READ | PT_WRITE, &err);
        }
        mine.n = theirs.n = 0;
        ck_assert_int_eq(page_table_ranges(pt, gather, &mine), 0);
        ck_assert_int_eq(walk_page_table(view, CAP(3), page_table_root(pt), page_table_levels(pt), false,
                                         NULL, &ops, &theirs),
                         0);
        ck_assert_uint_gt(mine.n, 10);
        ck_assert_uint_eq(mine.n, theirs.n);
        for (size_t i = 0; i < mine.n; i++)
                ck_assert_msg(mine.iova[i] == theirs.iova[i] && mine.phys[i] == theirs.phys[i] &&
                                      mine.length[i] == theirs.length[i] && mine.perms[i] == theirs.perms[i],
                              "range %zu: 0x%" PRIx64 "+0x%" PRIx64 " -> 0x%" PRIx64
                              " against the walker's 0x%" PRIx64 "+0x%" PRIx64 " -> 0x%" PRIx64,
                              i, mine.iova[i], mine.length[i], mine.phys[i], theirs.iova[i],
                              theirs.length[i], theirs.phys[i]);
        /* the callback's error stops the walk */
        ck_assert_int_eq(page_table_ranges(pt, stop_at_second, &calls), -ECANCELED);
        ck_assert_uint_eq(calls, 2);
        free(garbage.pages);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("pagetable");
        TCase *tc = tcase_create("pagetable");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, page_sizes);
        tcase_add_test(tc, sllps_limits);
        tcase_add_test(tc, refusals_change_nothing);
        tcase_add_test(tc, split_on_partial_unmap);
        tcase_add_test(tc, whole_after_every_store);
        tcase_add_test(tc, free_hands_back_everything);
        tcase_add_test(tc, ranges_agree_with_walker);
        suite_add_tcase(s, tc);
        return s;
}
