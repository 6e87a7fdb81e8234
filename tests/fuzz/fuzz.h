/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What every fuzz target shares (tests/fuzz/README.md).  Each fuzz-*.c is
 * one target: LLVMFuzzerTestOneInput() takes one input and must neither
 * crash, nor hang, nor leak, whatever the bytes; a violated invariant is
 * abort(), which the fuzzer reports like a crash.  With -Dfuzz=true they
 * are linked with libFuzzer; in every other build with driver.c, which
 * runs the seeds and the kept regression inputs once each.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* An invariant of the code under test: abort() with the reason when it
 * does not hold (also without NDEBUG's help). */
#define fuzz_check(cond, ...)                                       \
        do {                                                        \
                if (!(cond))                                        \
                        fuzz_fail(__FILE__, __LINE__, __VA_ARGS__); \
        } while (0)
_Noreturn void fuzz_fail(const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The input as a file: "/proc/self/fd/N" of one memfd per process,
 * rewritten for each input (for readers that take a path). */
const char *fuzz_file(const uint8_t *data, size_t size);

/* What the code under test prints to stdout goes to /dev/null. */
void fuzz_quiet_stdout(void);

/* Take fields from the front of the input, little-endian; zeros once it
 * is used up. */
typedef struct fuzz_input {
        const uint8_t *p;
        size_t n;
} fuzz_input;
uint8_t fuzz_u8(fuzz_input *in);
uint16_t fuzz_u16(fuzz_input *in);
uint32_t fuzz_u32(fuzz_input *in);
uint64_t fuzz_u64(fuzz_input *in);

/* o serialized every way the project prints JSON, each text parsed back
 * by json-c to an equal value (the model is valid JSON, whatever it came
 * from). */
void fuzz_check_json(json_object *o);
