/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One line for each changing command, from its result object only: what
 * changed, and the state a person acts on next.  A member the result
 * lacks, or holds with another type (an iommud of another version), shows
 * as "?". */
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"
#include "cli/table.h"

void render_power(json_object *u) {
        printf("%s: owner %s, translation %s, %s mode\n", text_string(u, "name"), text_string(u, "owner"),
               text_on_off(u, "translation_enabled"), text_string(u, "mode"));
}

void render_domain_created(json_object *o) {
        printf("%s: domain %s created (%s", text_string(o, "unit"), text_int(o, "domain", TEXT_DEC),
               text_string(o, "type"));
        /* null for the domains without tables: blocked, pass-through */
        if (json_get(o, "address_width"))
                printf(", %s-bit", text_int(o, "address_width", TEXT_DEC));
        printf(")\n");
}

void render_domain_destroyed(json_object *o) {
        printf("%s: domain %s destroyed\n", text_string(o, "unit"), text_int(o, "domain", TEXT_DEC));
}

/* Where the device is now: "domain 2 of dmar0, translation multi-level". */
static void print_device_state(json_object *d) {
        if (json_get(d, "domain"))
                printf("domain %s of %s", text_int(d, "domain", TEXT_DEC), text_string_or(d, "unit", "-"));
        else
                printf("no domain on %s", text_string_or(d, "unit", "-"));
        printf(", translation %s\n", text_string_or(d, "translation", "-"));
}

void render_attached(json_object *d) {
        printf("%s: attached to ", text_string(d, "bdf"));
        print_device_state(d);
}

void render_detached(json_object *d) {
        printf("%s: detached, back to the default policy: ", text_string(d, "bdf"));
        print_device_state(d);
}

static const char *access_text(json_object *o) {
        json_object *r = json_get_typed(o, "read", json_type_boolean);
        json_object *w = json_get_typed(o, "write", json_type_boolean);

        if (!r || !w)
                return "?";
        if (json_object_get_boolean(r))
                return json_object_get_boolean(w) ? "read-write" : "read-only";
        return json_object_get_boolean(w) ? "write-only" : "no access";
}

void render_mapped(json_object *o) {
        printf("%s: domain %s: mapped %s+%s -> %s, %s", text_string(o, "unit"),
               text_int(o, "domain", TEXT_DEC), text_int(o, "iova", TEXT_HEX),
               text_int(o, "length", TEXT_HEX), text_int(o, "phys", TEXT_HEX), access_text(o));
        /* the file whose first LENGTH bytes are what the device reads and writes */
        if (json_get(o, "buffer"))
                printf(", buffer %s", text_string(o, "buffer"));
        putchar('\n');
}

void render_unmapped(json_object *o) {
        printf("%s: domain %s: unmapped %s+%s\n", text_string(o, "unit"), text_int(o, "domain", TEXT_DEC),
               text_int(o, "iova", TEXT_HEX), text_int(o, "length", TEXT_HEX));
}

void render_invalidated(json_object *o) {
        const char *unit = text_string(o, "unit"), *what = text_string(o, "what");
        json_object *order = json_get_typed(o, "order", json_type_int);
        char length[TEXT_U64_MAX];

        if (streq(what, "global"))
                printf("%s: caches invalidated globally\n", unit);
        else if (streq(what, "domain"))
                printf("%s: domain %s: caches invalidated\n", unit, text_int(o, "domain", TEXT_DEC));
        else if (streq(what, "page")) {
                /* no order: one page */
                uint64_t n = order ? json_object_get_uint64(order) : 0;

                if (json_get(o, "order") && !order)
                        snprintf(length, sizeof length, "?");
                else if (n < 52)
                        text_u64(UINT64_C(0x1000) << n, TEXT_HEX, length);
                else
                        snprintf(length, sizeof length, "2^%u pages", (unsigned) n);
                printf("%s: domain %s: IOTLB invalidated for %s+%s (order %s)\n", unit,
                       text_int(o, "domain", TEXT_DEC), text_int(o, "iova", TEXT_HEX), length,
                       order                  ? text_int(o, "order", TEXT_DEC)
                       : json_get(o, "order") ? "?"
                                              : "0");
        } else
                printf("%s: %s invalidated\n", unit, what);
}
