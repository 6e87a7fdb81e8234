/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The limits of answering mappings from a snapshot, for bench/scale-bench:
 * in one process, with the snapshot open and its pages in memory,
 *   walk   the walk alone: walk_unit() with a batch callback that counts
 *   json   the walk and the JSON text written from its batches
 *          (model_mappings_write_json) into a callback that drops it
 *   copy   a memcpy of as many bytes as that text has, from one buffer
 *          into another: what moving the answer's bytes costs at least
 * Each is the minimum of REPETITIONS runs (default 5), in milliseconds.
 *
 *   mappings-limits SNAPSHOT [REPETITIONS]
 * prints one line: ranges N bytes N walk_ms X json_ms X copy_ms X
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/mappings.h"
#include "model/system.h"
#include "walk/walk.h"

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int count_ranges(void *userdata, const walk_target *t, const walk_range *r, size_t n) {
        *(uint64_t *) userdata += n;
        return 0;
}

static int count_bytes(void *userdata, const void *data, size_t size) {
        *(uint64_t *) userdata += size;
        return 0;
}

int main(int argc, char **argv) {
        static const walk_ops ops = { .ranges = count_ranges };
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        iommu_error err = {};
        unsigned reps = argc > 2 ? (unsigned) atoi(argv[2]) : 5;
        double walk = 1e300, json = 1e300, copy = 1e300;
        uint64_t ranges = 0, bytes = 0;
        char *a, *b;

        if (argc < 2) {
                fprintf(stderr, "usage: mappings-limits SNAPSHOT [REPETITIONS]\n");
                return 2;
        }
        if (iommu_system_open_snapshot(argv[1], &s, &err) < 0) {
                fprintf(stderr, "mappings-limits: %s\n", err.message);
                return 1;
        }
        for (unsigned i = 0; i < reps; i++) {
                double t0 = now_ms();

                ranges = 0;
                for (size_t u = 0; u < s->n_units; u++)
                        if (walk_unit(s->ram, s->units[u].rtaddr, s->units[u].cap, s->units[u].ecap, NULL,
                                      &ops, &ranges) < 0)
                                return 1;
                if (now_ms() - t0 < walk)
                        walk = now_ms() - t0;

                t0 = now_ms();
                bytes = 0;
                if (model_mappings_write_json(s, &MAPPINGS_FILTER_ALL,
                                              JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                              count_bytes, &bytes, &err) < 0) {
                        fprintf(stderr, "mappings-limits: %s\n", err.message);
                        return 1;
                }
                if (now_ms() - t0 < json)
                        json = now_ms() - t0;
        }
        a = malloc(bytes + 1);
        b = malloc(bytes + 1);
        if (!a || !b)
                return 1;
        memset(a, 'x', bytes + 1);
        memset(b, 0, bytes + 1); /* both touched: the copy measures copying, not page faults */
        for (unsigned i = 0; i < reps; i++) {
                double t0 = now_ms();
                memcpy(b, a, bytes);
                if (now_ms() - t0 < copy)
                        copy = now_ms() - t0;
        }
        /* read the copy, so that it is not optimized away */
        if (bytes > 0 && ((volatile char *) b)[bytes - 1] != 'x')
                return 1;
        printf("ranges %" PRIu64 " bytes %" PRIu64 " walk_ms %.2f json_ms %.2f copy_ms %.2f\n", ranges,
               bytes, walk, json, copy);
        free(a);
        free(b);
        return 0;
}
