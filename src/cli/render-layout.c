/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"

/* A value of a layout: JSON integer up to 64 bits, hex string when wider. */
static void print_value(json_object *v, unsigned width) {
        if (json_object_is_type(v, json_type_string))
                fputs(json_object_get_string(v), stdout);
        else
                printf("0x%0*" PRIx64, (int) (width + 3) / 4, json_object_get_uint64(v));
}

static bool value_nonzero(json_object *v) {
        if (json_object_is_type(v, json_type_string)) {
                const char *s = json_object_get_string(v);
                return strspn(s + 2, "0") != strlen(s + 2);
        }
        return json_object_get_uint64(v) != 0;
}

void render_layout(json_object *o) {
        json_object *name = json_get(o, "register") ?: json_get(o, "entry");
        unsigned width = (unsigned) json_object_get_int(json_get(o, "width"));
        json_object *reserved = json_get(o, "reserved");

        printf("%s = ", json_object_get_string(name));
        print_value(json_get(o, "value"), width);
        printf("  %s, %u bits\n", json_get_string(o, "title"), width);

        json_object_object_foreach(json_get(o, "fields"), key, f) {
                char mnemonic[32];
                size_t i;
                uint64_t raw = json_get_u64(f, "raw");
                bool flag = !strchr(json_get_string(f, "position"), ':');

                for (i = 0; key[i] && i < sizeof mnemonic - 1; i++)
                        mnemonic[i] = (char) toupper((unsigned char) key[i]);
                mnemonic[i] = '\0';

                printf("  %-7s %-8s ", json_get_string(f, "position"), mnemonic);
                if (flag)
                        printf("%6" PRIu64, raw);
                else
                        printf("%#6" PRIx64, raw);
                printf("  %s: %s%s\n", json_get_string(f, "title"), json_get_string(f, "meaning"),
                       json_get_bool(f, "deprecated") ? " (deprecated)" : "");
        }

        if (reserved && value_nonzero(reserved)) {
                printf("  reserved bits set: ");
                print_value(reserved, width);
                putchar('\n');
        }
}
