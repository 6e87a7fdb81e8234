/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer's stand-in in every build but -Dfuzz=true: each file named on
 * the command line goes once through the target (the seeds and the kept
 * regression inputs: tests/fuzz/run-inputs.py).  With
 *   --mutants N DIR
 * before the files, a target that has a custom mutator also gets N of its
 * mutants of each file, written to DIR as well, so that the test can check
 * them independently (fuzz-snapshot: every CRC right).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "fuzz.h"

#define MAX_INPUT (16u << 20)

/* Declared weak: a target may have neither. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);
__attribute__((weak)) size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                                                     unsigned int seed);

/* libFuzzer's own mutation, for a custom mutator to call: here a
 * reproducible one (xorshift from the first byte's position and size),
 * which changes one to four bytes. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size) {
        static uint64_t x = 0x9e3779b97f4a7c15u;

        if (size == 0)
                return max_size > 0 ? (data[0] = 0x5a, 1) : 0;
        for (unsigned k = 0, n = 1 + (unsigned) (x % 4); k < n; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                data[x % size] ^= (uint8_t) (1u << (x >> 32) % 8);
        }
        return size;
}

/* The input as libFuzzer gives it, exactly its bytes, and then its end
 * against a page that may not be read: a target that reads past the input
 * (such as sscanf() on bytes that are no C string) faults here every time,
 * where in libFuzzer it faults only when the buffer ends at a page. */
static int run_fenced(const void *data, size_t size) {
        size_t page = (size_t) sysconf(_SC_PAGESIZE), span = (size + page - 1) / page * page;
        uint8_t *m = mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (m == MAP_FAILED)
                return -errno;
        if (mprotect(m + span, page, PROT_NONE) < 0) {
                (void) munmap(m, span + page);
                return -errno;
        }
        memcpy(m + span - size, data, size);
        LLVMFuzzerTestOneInput(m + span - size, size);
        (void) munmap(m, span + page);
        return 0;
}

static int run_file(const char *path, unsigned n_mutants, const char *mutant_dir, unsigned *ret_runs) {
        static unsigned n_files;
        _cleanup_free_ void *data = NULL;
        iommu_error err = {};
        size_t size;
        int r;

        r = read_full_file(path, MAX_INPUT, &data, &size, &err);
        if (r < 0) {
                fprintf(stderr, "%s\n", err.message);
                return r;
        }
        fprintf(stderr, "Running: %s\n", path);
        r = run_fenced(data, size);
        if (r < 0)
                return r;
        ++*ret_runs;
        n_files++;

        for (unsigned i = 0; i < n_mutants && LLVMFuzzerCustomMutator; i++) {
                size_t max = size + 4096;
                _cleanup_free_ uint8_t *m = malloc(max);
                char out[4096];
                const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
                FILE *f;

                if (!m)
                        return -ENOMEM;
                memcpy(m, data, size);
                size_t n = LLVMFuzzerCustomMutator(m, size, max, i);
                snprintf(out, sizeof out, "%s/%u-%s.%u", mutant_dir, n_files, base, i);
                fprintf(stderr, "Running: mutant %u of %s (%s)\n", i, path, out);
                f = fopen(out, "we");
                if (!f || fwrite(m, 1, n, f) != n || fclose(f) != 0) {
                        fprintf(stderr, "Failed to write %s: %m\n", out);
                        return -errno;
                }
                LLVMFuzzerTestOneInput(m, n);
                ++*ret_runs;
        }
        return 0;
}

int main(int argc, char **argv) {
        const char *mutant_dir = NULL;
        unsigned n_mutants = 0, runs = 0;
        int i = 1;

        if (LLVMFuzzerInitialize)
                LLVMFuzzerInitialize(&argc, &argv);
        if (argc > 3 && strcmp(argv[1], "--mutants") == 0) {
                n_mutants = (unsigned) strtoul(argv[2], NULL, 10);
                mutant_dir = argv[3];
                i = 4;
        }
        for (; i < argc; i++)
                if (run_file(argv[i], n_mutants, mutant_dir, &runs) < 0)
                        return EXIT_FAILURE;
        fprintf(stderr, "%u runs\n", runs);
        return EXIT_SUCCESS;
}
