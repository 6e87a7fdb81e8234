/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "cli/cli.h"
#include "decode/layouts.h"

static void known_names(char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < layout_count() && n < size; i++) {
                int r = snprintf(buf + n, size - n, "%s%s", i ? " " : "", layout_nth(i)->name);
                if (r > 0)
                        n += (size_t) r;
        }
}

int verb_decode(int argc, char **argv) {
        uint64_t v[LAYOUT_MAX_QWORDS];
        _cleanup_json_ json_object *o = NULL;
        const layout *l;
        char names[1024];
        int r;

        l = layout_find(argv[0]);
        if (!l) {
                known_names(names, sizeof names);
                return cli_fail(EXIT_FAILED, EINVAL, "Unknown register or entry format '%s'; known: %s",
                                argv[0], names);
        }

        r = layout_parse_value(l, argv[1], v);
        if (r == -ERANGE)
                return cli_fail(EXIT_FAILED, ERANGE, "Value '%s' does not fit the %u-bit %s", argv[1],
                                l->width, l->name);
        if (r < 0)
                return cli_fail(EXIT_FAILED, EINVAL,
                                "Value '%s' is not a number (use decimal, or hex with 0x)", argv[1]);

        o = layout_to_json(l, v);
        if (!o)
                return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
        return cli_output(o, render_layout);
}
