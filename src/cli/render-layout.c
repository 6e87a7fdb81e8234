/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"
#include "cli/table.h"

/* A value of a layout: JSON integer up to 64 bits, hex string when wider. */
static void print_value(json_object *v, unsigned width) {
        if (json_object_is_type(v, json_type_string))
                fputs(json_object_get_string(v), stdout);
        else if (json_object_is_type(v, json_type_int))
                printf("0x%0*" PRIx64, (int) (width + 3) / 4, json_object_get_uint64(v));
        else
                fputs("?", stdout);
}

static bool value_nonzero(json_object *v) {
        if (json_object_is_type(v, json_type_string)) {
                const char *s = json_object_get_string(v);
                if (strncmp(s, "0x", 2) == 0)
                        s += 2;
                return strspn(s, "0") != strlen(s);
        }
        return json_object_is_type(v, json_type_int) && json_object_get_uint64(v) != 0;
}

void render_layout(json_object *o) {
        json_object *name = json_get_typed(o, "register", json_type_string)
                                    ?: json_get_typed(o, "entry", json_type_string);
        int64_t w = json_get_i64(o, "width");
        unsigned width = w > 0 && w <= 4096 ? (unsigned) w : 64;
        json_object *reserved = json_get(o, "reserved"), *fields = json_get_object(o, "fields");

        printf("%s = ", name ? json_object_get_string(name) : "?");
        print_value(json_get(o, "value"), width);
        printf("  %s, %s bits\n", text_string(o, "title"), text_int(o, "width", TEXT_DEC));

        if (fields) {
                json_object_object_foreach(fields, key, f) {
                        const char *position = text_string(f, "position");
                        json_object *raw = json_get_typed(f, "raw", json_type_int);
                        char mnemonic[32];
                        size_t i;

                        for (i = 0; key[i] && i < sizeof mnemonic - 1; i++)
                                mnemonic[i] = (char) toupper((unsigned char) key[i]);
                        mnemonic[i] = '\0';

                        printf("  %-7s %-8s ", position, mnemonic);
                        if (!raw)
                                printf("%6s", "?");
                        else if (!strchr(position, ':')) /* a flag */
                                printf("%6" PRIu64, json_object_get_uint64(raw));
                        else
                                printf("%#6" PRIx64, json_object_get_uint64(raw));
                        printf("  %s: %s%s\n", text_string(f, "title"), text_string(f, "meaning"),
                               json_get_bool(f, "deprecated") ? " (deprecated)" : "");
                }
        }

        if (value_nonzero(reserved)) {
                printf("  reserved bits set: ");
                print_value(reserved, width);
                putchar('\n');
        }
}
