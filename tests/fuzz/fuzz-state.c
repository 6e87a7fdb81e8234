/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The persisted control state (control/state.h): the reader on any file,
 * and, so that the body's checks get exercised past the header's CRC,
 * on any body behind a header that is right for it.
 *
 * Input: a flag byte, then the bytes.  Flag bit 0 clear: the bytes are
 * the file.  Set: they are the body, after "iommud-control-state 1 LENGTH
 * CRC32\n" with their length and CRC-32.
 *
 * Checked: a refusal is one line, and leaves nothing; the file read from
 * disk (control_state_load) is refused or accepted as the same bytes in
 * memory are; an accepted state written again (control_state_format)
 * reads back equal, under a header that gives its length and CRC.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/crc32.h"
#include "basic/macro.h"
#include "control/state.h"
#include "fuzz.h"

static void check_header(const char *file, size_t size) {
        const char *nl = memchr(file, '\n', size);
        char want[96];

        fuzz_check(nl, "a written state without a header line");
        snprintf(want, sizeof want, "%s %d %zu %08" PRIx32, CONTROL_STATE_MAGIC, CONTROL_STATE_VERSION,
                 size - (size_t) (nl + 1 - file), crc32_ieee(0, nl + 1, size - (size_t) (nl + 1 - file)));
        fuzz_check((size_t) (nl - file) == strlen(want) && memcmp(file, want, strlen(want)) == 0,
                   "a written state's header is \"%.*s\", not \"%s\"", (int) (nl - file), file, want);
}

/* The file's refusal names it, then says what the bytes' refusal says, up
 * to where the longer line is cut at the size of an error's message. */
static bool same_refusal(const char *path, const char *from_file, const char *from_memory) {
        char prefix[256];
        size_t n = (size_t) snprintf(prefix, sizeof prefix, "The control state %s is refused: ", path);

        return strncmp(from_file, prefix, n) == 0 &&
               strncmp(from_file + n, from_memory, strlen(from_file) - n) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *file = NULL, *again = NULL;
        _cleanup_json_ json_object *state = NULL, *loaded = NULL, *back = NULL;
        iommu_error err = {}, load_err = {};
        const char *path;
        size_t file_size, again_size;
        int r, rl;

        if (size == 0)
                return 0;
        if (data[0] & 1) {
                char header[96];
                int n = snprintf(header, sizeof header, "%s %d %zu %08" PRIx32 "\n", CONTROL_STATE_MAGIC,
                                 CONTROL_STATE_VERSION, size - 1, crc32_ieee(0, data + 1, size - 1));

                file_size = (size_t) n + size - 1;
                file = malloc(file_size + 1);
                fuzz_check(file, "out of memory");
                memcpy(file, header, (size_t) n);
                memcpy(file + n, data + 1, size - 1);
        } else {
                file_size = size - 1;
                file = malloc(file_size + 1);
                fuzz_check(file, "out of memory");
                memcpy(file, data + 1, size - 1);
        }

        r = control_state_parse(file, file_size, &state, &err);
        if (r < 0)
                fuzz_check(!state && err.error == -r && err.message[0] && !strchr(err.message, '\n'),
                           "control_state_parse: %d without a one-line reason", r);
        else
                fuzz_check(r == 0 && json_object_is_type(state, json_type_object),
                           "control_state_parse: %d and no object", r);

        path = fuzz_file((const uint8_t *) file, file_size);
        rl = control_state_load(path, &loaded, &load_err);
        fuzz_check(rl == r && (r < 0 ? !loaded && same_refusal(path, load_err.message, err.message)
                                     : json_object_equal(loaded, state)),
                   "from a file %d (%s), from memory %d (%s)", rl, load_err.message, r, err.message);
        if (r < 0)
                return 0;

        r = control_state_format(state, &again, &again_size, &err);
        fuzz_check(r == 0, "a state read cannot be written: %s", err.message);
        check_header(again, again_size);
        r = control_state_parse(again, again_size, &back, &err);
        fuzz_check(r == 0 && json_object_equal(back, state), "a state written reads back %s: %s",
                   r < 0 ? "refused" : "different", err.message);
        return 0;
}
