/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"
#include "cli/table.h"

/* "40:05.4" for one hop, "00:1c.0/00.0" for a path through a bridge. */
static void print_path(json_object *scope, const char *segment) {
        json_object *path = json_get_array(scope, "path");
        size_t n = json_array_length(path);

        printf("%s:%s:", segment, text_int(scope, "start_bus", TEXT_XDIGITS2));
        for (size_t i = 0; i < n; i++) {
                json_object *hop = json_array_get(path, i);
                printf("%s%s.%s", i ? "/" : "", text_int(hop, "device", TEXT_XDIGITS2),
                       text_int(hop, "function", TEXT_XDIGITS));
        }
        if (n == 0)
                printf("(no path)");
}

static void print_scopes(json_object *s) {
        json_object *scopes = json_get_array(s, "scope");
        /* copied: the text slots are reused by the scopes' own numbers */
        char segment[32];

        snprintf(segment, sizeof segment, "%s", text_int(s, "segment", TEXT_XDIGITS4));
        for (size_t i = 0; i < json_array_length(scopes); i++) {
                json_object *sc = json_array_get(scopes, i);
                const char *type = text_string(sc, "type");

                if (streq(type, "unknown"))
                        printf("        type %-14s", text_int(sc, "type_id", TEXT_DEC));
                else
                        printf("        %-19s", type);
                if (streq(type, "ioapic") || streq(type, "hpet") || streq(type, "acpi_namespace"))
                        printf("id %-4s ", text_int(sc, "enumeration_id", TEXT_DEC));
                else
                        printf("        ");
                print_path(sc, segment);
                putchar('\n');
        }
}

static void print_flag_names(json_object *flags, const char *const *names) {
        for (; *names; names++)
                if (json_get_bool(flags, *names))
                        printf(" %s", *names);
}

static void print_structure(json_object *s) {
        const char *type = text_string(s, "type");
        char upper[16];
        size_t i;

        for (i = 0; type[i] && i < sizeof upper - 1; i++)
                upper[i] = (char) toupper((unsigned char) type[i]);
        upper[i] = '\0';
        printf("  [%s] %-5s", text_int(s, "offset", TEXT_XDIGITS3), upper);

        if (streq(type, "drhd")) {
                printf(" segment %s  registers %s", text_int(s, "segment", TEXT_XDIGITS4),
                       text_int(s, "address", TEXT_HEX));
                if (json_get_typed(s, "size", json_type_int))
                        printf(" (%" PRIu64 " KiB)", json_get_u64(s, "size") * 4);
                printf("  flags %s%s\n", text_int(s, "flags", TEXT_HEX),
                       json_get_bool(s, "include_pci_all") ? " include_pci_all" : "");
        } else if (streq(type, "rmrr"))
                printf(" segment %s  %s-%s\n", text_int(s, "segment", TEXT_XDIGITS4),
                       text_int(s, "base", TEXT_HEX), text_int(s, "limit", TEXT_HEX));
        else if (streq(type, "atsr"))
                printf(" segment %s  flags %s%s\n", text_int(s, "segment", TEXT_XDIGITS4),
                       text_int(s, "flags", TEXT_HEX), json_get_bool(s, "all_ports") ? " all_ports" : "");
        else if (streq(type, "satc"))
                printf(" segment %s  flags %s%s\n", text_int(s, "segment", TEXT_XDIGITS4),
                       text_int(s, "flags", TEXT_HEX),
                       json_get_bool(s, "atc_required") ? " atc_required" : "");
        else if (streq(type, "sidp"))
                printf(" segment %s\n", text_int(s, "segment", TEXT_XDIGITS4));
        else if (streq(type, "rhsa"))
                printf(" registers %s  proximity domain %s\n", text_int(s, "address", TEXT_HEX),
                       text_int(s, "proximity_domain", TEXT_DEC));
        else if (streq(type, "andd"))
                printf(" ACPI device %s  %s\n", text_int(s, "acpi_device_number", TEXT_DEC),
                       text_string(s, "object_name"));
        else
                printf(" type %s, %s bytes\n", text_int(s, "type_id", TEXT_DEC),
                       text_int(s, "length", TEXT_DEC));

        print_scopes(s);
}

void render_dmar(json_object *o) {
        static const char *const flag_names[] = { "intr_remap", "x2apic_opt_out", "dma_ctrl_platform_opt_in",
                                                  NULL };
        json_object *structures = json_get_array(o, "structures"), *warnings = json_get_array(o, "warnings");
        json_object *flags = json_get_object(o, "flags");

        printf("DMAR revision %s, %s bytes, checksum %s (%s)\n", text_int(o, "revision", TEXT_DEC),
               text_int(o, "length", TEXT_DEC), text_int(o, "checksum", TEXT_HEX2),
               json_get_bool(o, "checksum_valid") ? "valid" : "WRONG");
        printf("  OEM \"%s\" table \"%s\" revision %s, creator \"%s\" revision %s\n",
               text_string(o, "oem_id"), text_string(o, "oem_table_id"),
               text_int(o, "oem_revision", TEXT_DEC), text_string(o, "creator_id"),
               text_int(o, "creator_revision", TEXT_DEC));
        printf("  host address width %s bits, flags %s", text_int(o, "host_address_width", TEXT_DEC),
               text_int(flags, "raw", TEXT_HEX));
        print_flag_names(flags, flag_names);
        putchar('\n');

        for (size_t i = 0; i < json_array_length(structures); i++)
                print_structure(json_array_get(structures, i));

        for (size_t i = 0; i < json_array_length(warnings); i++) {
                json_object *w = json_array_get(warnings, i);
                printf("warning: %s\n",
                       json_object_is_type(w, json_type_string) ? json_object_get_string(w) : "?");
        }
}
