/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

void fuzz_fail(const char *file, int line, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s:%d: invariant violated: ", file, line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        abort();
}

const char *fuzz_file(const uint8_t *data, size_t size) {
        static char path[64];
        static int fd = -1;

        if (fd < 0) {
                fd = memfd_create("fuzz-input", MFD_CLOEXEC);
                fuzz_check(fd >= 0, "memfd_create: %m");
                snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        }
        fuzz_check(ftruncate(fd, 0) == 0, "ftruncate: %m");
        for (size_t done = 0; done < size;) {
                ssize_t k = pwrite(fd, data + done, size - done, (off_t) done);
                fuzz_check(k > 0, "pwrite: %m");
                done += (size_t) k;
        }
        return path;
}

void fuzz_quiet_stdout(void) {
        static bool done;

        if (!done) {
                fuzz_check(freopen("/dev/null", "w", stdout), "freopen /dev/null: %m");
                done = true;
        }
}

static uint64_t take(fuzz_input *in, size_t width) {
        uint64_t v = 0;

        for (size_t i = 0; i < width; i++)
                if (in->n > 0) {
                        v |= (uint64_t) in->p[0] << (8 * i);
                        in->p++;
                        in->n--;
                }
        return v;
}

uint8_t fuzz_u8(fuzz_input *in) {
        return (uint8_t) take(in, 1);
}

uint16_t fuzz_u16(fuzz_input *in) {
        return (uint16_t) take(in, 2);
}

uint32_t fuzz_u32(fuzz_input *in) {
        return (uint32_t) take(in, 4);
}

uint64_t fuzz_u64(fuzz_input *in) {
        return take(in, 8);
}

void fuzz_check_json(json_object *o) {
        static const int flags[] = {
                JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
        };

        for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
                const char *text = json_object_to_json_string_ext(o, flags[i]);
                json_object *back;

                fuzz_check(text, "json-c could not serialize the model");
                back = json_tokener_parse(text);
                fuzz_check(back || !o, "the model's JSON does not parse back: %.200s", text);
                fuzz_check(json_object_equal(o, back), "the model's JSON parses back different: %.200s",
                           text);
                json_object_put(back);
        }
}
