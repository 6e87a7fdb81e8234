/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How fast the walker turns page tables into ranges.
 *
 * An in-memory image holds one legacy-mode device whose 4-level
 * second-stage tables map 1,048,576 4 KiB pages (2048 leaf tables, 8 MiB
 * of leaf entries), twice: "scattered" (each page lands on a physical
 * frame chosen by an odd multiplier, so no two neighbours coalesce and the
 * walk delivers 1,048,576 ranges) and "coalesced" (one physically
 * contiguous block, delivered as one range); each through ops->range (a
 * call per range) and ops->ranges (a call per WALK_RANGE_BATCH ranges).
 * The callbacks only count, so the walker streams in O(depth) memory.  The reference is a
 * memcpy of the same table bytes (every table page of the tree, read from
 * where the image keeps it, into one preallocated buffer).
 *
 * Usage: walk-bench [REPETITIONS]   (default 21; min and median reported)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "access/access.h"
#include "walk/walk.h"

#define LEAVES (UINT64_C(1) << 20)
#define LEAF_TABLES (LEAVES / 512)
#define L2_TABLES (LEAF_TABLES / 512)

/* CAP: SAGAW 48-bit (bit 2), MGAW 48 bits, SLLPS 2 MiB and 1 GiB. */
#define BENCH_CAP ((UINT64_C(0x4) << 8) | (UINT64_C(47) << 16) | (UINT64_C(3) << 34))

/* Table pages: root 0x1000, context 0x2000, PML4 0x10000, PDPT 0x11000,
 * page directories from 0x20000, leaf tables from 0x1000000. */
#define PML4 UINT64_C(0x10000)
#define PDPT UINT64_C(0x11000)
#define PD(i) (UINT64_C(0x20000) + (uint64_t) (i) *0x1000)
#define PT(i) (UINT64_C(0x1000000) + (uint64_t) (i) *0x1000)

typedef struct counts {
        uint64_t ranges, bytes, anomalies, targets;
} counts;

static int on_target(void *u, const walk_target *t) {
        ((counts *) u)->targets++;
        return 0;
}

static int on_range(void *u, const walk_target *t, const walk_range *r) {
        counts *c = u;
        c->ranges++;
        c->bytes += r->length;
        return 0;
}

static int on_anomaly(void *u, const walk_target *t, const walk_anomaly *a) {
        ((counts *) u)->anomalies++;
        return 0;
}

static int on_ranges(void *u, const walk_target *t, const walk_range *r, size_t n) {
        counts *c = u;
        c->ranges += n;
        for (size_t i = 0; i < n; i++)
                c->bytes += r[i].length;
        return 0;
}

/* One call per range, or per batch of ranges. */
static const walk_ops ops_range = { .target = on_target, .range = on_range, .anomaly = on_anomaly };
static const walk_ops ops_ranges = { .target = on_target, .ranges = on_ranges, .anomaly = on_anomaly };

static double now(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static long max_rss_kib(void) {
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) < 0)
                return -1;
        return ru.ru_maxrss;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static uint64_t *page(iommu_ram *ram, uint64_t addr) {
        uint64_t *p = iommu_ram_image_page(ram, addr);
        if (!p) {
                fprintf(stderr, "Failed to allocate image page 0x%" PRIx64 "\n", addr);
                exit(EXIT_FAILURE);
        }
        return p;
}

/* The tree; leaf i maps IOVA i * 4 KiB to frame(i). */
static void build(iommu_ram *ram, bool scattered) {
        page(ram, 0x1000)[0] = 0x2000 | 1;
        /* 00:01.0: TT 0, AW 2 (4 levels), DID 1 */
        page(ram, 0x2000)[0x08 * 2] = PML4 | 1;
        page(ram, 0x2000)[0x08 * 2 + 1] = (1 << 8) | 2;
        page(ram, PML4)[0] = PDPT | 3;
        for (uint64_t d = 0; d < L2_TABLES; d++) {
                page(ram, PDPT)[d] = PD(d) | 3;
                for (uint64_t i = 0; i < 512; i++)
                        page(ram, PD(d))[i] = PT(d * 512 + i) | 3;
        }
        for (uint64_t t = 0; t < LEAF_TABLES; t++) {
                uint64_t *p = page(ram, PT(t));
                for (uint64_t i = 0; i < 512; i++) {
                        uint64_t n = t * 512 + i;
                        /* an odd multiplier permutes the 2^20 frames: no
                         * frame follows its IOVA neighbour's */
                        uint64_t frame = scattered ? (n * 0x9e3779b1u) & (LEAVES - 1) : n;
                        p[i] = (UINT64_C(0x100000000) + frame * 0x1000) | 3;
                }
        }
}

static int run(const char *name, bool scattered, bool batch, unsigned reps, double memcpy_min,
               double memcpy_median) {
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        double *t = calloc(reps, sizeof *t), min, median;
        counts c = {};
        int r;

        if (!t)
                return -ENOMEM;
        r = iommu_ram_new_image(&ram);
        if (r < 0) {
                free(t);
                return r;
        }
        build(ram, scattered);

        for (unsigned k = 0; k < reps; k++) {
                double t0;
                c = (counts){};
                t0 = now();
                r = walk_unit(ram, 0x1000, BENCH_CAP, 0, NULL, batch ? &ops_ranges : &ops_range, &c);
                t[k] = now() - t0;
                if (r < 0) {
                        fprintf(stderr, "Failed to walk: %s\n", strerror(-r));
                        free(t);
                        return r;
                }
        }
        qsort(t, reps, sizeof *t, cmp_double);
        min = t[0];
        median = t[reps / 2];
        free(t);

        if (c.targets != 1 || c.anomalies != 0 || c.bytes != LEAVES * 4096 ||
            c.ranges != (scattered ? LEAVES : 1)) {
                fprintf(stderr,
                        "%s: wrong result: %" PRIu64 " targets, %" PRIu64 " ranges, %" PRIu64
                        " bytes, %" PRIu64 " anomalies\n",
                        name, c.targets, c.ranges, c.bytes, c.anomalies);
                return -EBADMSG;
        }
        printf("%-10s %-7s %8" PRIu64 " ranges  min %6.3f ms  median %6.3f ms  %6.1f M entries/s  "
               "walk/memcpy %5.2f (min) %5.2f (median)\n",
               name, batch ? "ranges" : "range", c.ranges, min * 1e3, median * 1e3,
               (double) LEAVES / min / 1e6, min / memcpy_min, median / memcpy_median);
        return 0;
}

/* memcpy of every table page of the tree, from the image, into one buffer. */
static int reference(unsigned reps, double *ret_min, double *ret_median) {
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        size_t n = 0, n_pages = 4 + L2_TABLES + LEAF_TABLES;
        const void **src = calloc(n_pages, sizeof *src);
        uint8_t *dst = malloc(n_pages * 4096);
        double *t = calloc(reps, sizeof *t);
        int r;

        if (!src || !dst || !t) {
                free(src);
                free(dst);
                free(t);
                return -ENOMEM;
        }
        r = iommu_ram_new_image(&ram);
        if (r < 0) {
                free(src);
                free(dst);
                free(t);
                return r;
        }
        build(ram, true);
        src[n++] = page(ram, 0x1000);
        src[n++] = page(ram, 0x2000);
        src[n++] = page(ram, PML4);
        src[n++] = page(ram, PDPT);
        for (uint64_t d = 0; d < L2_TABLES; d++)
                src[n++] = page(ram, PD(d));
        for (uint64_t i = 0; i < LEAF_TABLES; i++)
                src[n++] = page(ram, PT(i));
        n_pages = n;
        memset(dst, 0, n_pages * 4096); /* fault it in before timing */

        for (unsigned k = 0; k < reps; k++) {
                double t0 = now();
                for (size_t i = 0; i < n_pages; i++)
                        memcpy(dst + i * 4096, src[i], 4096);
                __asm__ __volatile__("" : : "r"(dst) : "memory");
                t[k] = now() - t0;
        }
        qsort(t, reps, sizeof *t, cmp_double);
        *ret_min = t[0];
        *ret_median = t[reps / 2];
        printf("%-18s %8zu pages   min %6.3f ms  median %6.3f ms  (%.1f MiB of tables)\n", "memcpy", n_pages,
               t[0] * 1e3, t[reps / 2] * 1e3, (double) n_pages * 4096 / (1 << 20));
        free(src);
        free(dst);
        free(t);
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned reps = 21;
        double mmin, mmed;
        long rss0, rss1;
        int r;

        if (argc > 2 || (argc == 2 && (sscanf(argv[1], "%u", &reps) != 1 || reps == 0))) {
                fprintf(stderr, "Usage: %s [REPETITIONS]\n", argv[0]);
                return 2;
        }
        printf("walk-bench: %" PRIu64 " present 4 KiB leaves in %" PRIu64 " leaf tables, %u repetitions\n",
               LEAVES, LEAF_TABLES, reps);
        r = reference(reps, &mmin, &mmed);
        if (r < 0)
                goto fail;
        rss0 = max_rss_kib();
        for (unsigned k = 0; k < 4; k++) {
                bool scattered = k < 2, batch = k % 2;
                r = run(scattered ? "scattered" : "coalesced", scattered, batch, reps, mmin, mmed);
                if (r < 0)
                        goto fail;
        }
        rss1 = max_rss_kib();
        /* the image itself is ~8.5 MiB; streaming adds nothing per range */
        printf("max RSS %ld KiB before the walks, %ld KiB after (image included)\n", rss0, rss1);
        return 0;
fail:
        fprintf(stderr, "walk-bench: %s\n", strerror(-r));
        return 1;
}
