/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"

/* "40:05.4" for one hop, "00:1c.0/00.0" for a path through a bridge. */
static void print_path(json_object *scope, uint64_t segment) {
        json_object *path = json_get(scope, "path");
        size_t n = json_object_array_length(path);

        printf("%04" PRIx64 ":%02" PRIx64 ":", segment, json_get_u64(scope, "start_bus"));
        for (size_t i = 0; i < n; i++) {
                json_object *hop = json_object_array_get_idx(path, i);
                printf("%s%02" PRIx64 ".%" PRIx64, i ? "/" : "", json_get_u64(hop, "device"),
                       json_get_u64(hop, "function"));
        }
        if (n == 0)
                printf("(no path)");
}

static void print_scopes(json_object *s) {
        json_object *scopes = json_get(s, "scope");
        uint64_t segment = json_get_u64(s, "segment");

        for (size_t i = 0; i < json_object_array_length(scopes); i++) {
                json_object *sc = json_object_array_get_idx(scopes, i);
                const char *type = json_get_string(sc, "type");

                if (streq(type, "unknown"))
                        printf("        type %-14" PRIu64, json_get_u64(sc, "type_id"));
                else
                        printf("        %-19s", type);
                if (streq(type, "ioapic") || streq(type, "hpet") || streq(type, "acpi_namespace"))
                        printf("id %-4" PRIu64 " ", json_get_u64(sc, "enumeration_id"));
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
        const char *type = json_get_string(s, "type");
        char upper[16];
        size_t i;

        for (i = 0; type[i] && i < sizeof upper - 1; i++)
                upper[i] = (char) toupper((unsigned char) type[i]);
        upper[i] = '\0';
        printf("  [%03" PRIx64 "] %-5s", json_get_u64(s, "offset"), upper);

        if (streq(type, "drhd")) {
                printf(" segment %04" PRIx64 "  registers 0x%" PRIx64, json_get_u64(s, "segment"),
                       json_get_u64(s, "address"));
                if (!json_is_null(s, "size") && !json_object_is_type(json_get(s, "size"), json_type_null))
                        printf(" (%" PRIu64 " KiB)", json_get_u64(s, "size") * 4);
                printf("  flags 0x%" PRIx64 "%s\n", json_get_u64(s, "flags"),
                       json_get_bool(s, "include_pci_all") ? " include_pci_all" : "");
        } else if (streq(type, "rmrr"))
                printf(" segment %04" PRIx64 "  0x%" PRIx64 "-0x%" PRIx64 "\n", json_get_u64(s, "segment"),
                       json_get_u64(s, "base"), json_get_u64(s, "limit"));
        else if (streq(type, "atsr"))
                printf(" segment %04" PRIx64 "  flags 0x%" PRIx64 "%s\n", json_get_u64(s, "segment"),
                       json_get_u64(s, "flags"), json_get_bool(s, "all_ports") ? " all_ports" : "");
        else if (streq(type, "satc"))
                printf(" segment %04" PRIx64 "  flags 0x%" PRIx64 "%s\n", json_get_u64(s, "segment"),
                       json_get_u64(s, "flags"), json_get_bool(s, "atc_required") ? " atc_required" : "");
        else if (streq(type, "sidp"))
                printf(" segment %04" PRIx64 "\n", json_get_u64(s, "segment"));
        else if (streq(type, "rhsa"))
                printf(" registers 0x%" PRIx64 "  proximity domain %" PRIu64 "\n",
                       json_get_u64(s, "address"), json_get_u64(s, "proximity_domain"));
        else if (streq(type, "andd"))
                printf(" ACPI device %" PRIu64 "  %s\n", json_get_u64(s, "acpi_device_number"),
                       json_get_string(s, "object_name"));
        else
                printf(" type %" PRIu64 ", %" PRIu64 " bytes\n", json_get_u64(s, "type_id"),
                       json_get_u64(s, "length"));

        print_scopes(s);
}

void render_dmar(json_object *o) {
        static const char *const flag_names[] = { "intr_remap", "x2apic_opt_out", "dma_ctrl_platform_opt_in",
                                                  NULL };
        json_object *structures = json_get(o, "structures"), *warnings = json_get(o, "warnings");
        json_object *flags = json_get(o, "flags");

        printf("DMAR revision %" PRIu64 ", %" PRIu64 " bytes, checksum 0x%02" PRIx64 " (%s)\n",
               json_get_u64(o, "revision"), json_get_u64(o, "length"), json_get_u64(o, "checksum"),
               json_get_bool(o, "checksum_valid") ? "valid" : "WRONG");
        printf("  OEM \"%s\" table \"%s\" revision %" PRIu64 ", creator \"%s\" revision %" PRIu64 "\n",
               json_get_string(o, "oem_id"), json_get_string(o, "oem_table_id"),
               json_get_u64(o, "oem_revision"), json_get_string(o, "creator_id"),
               json_get_u64(o, "creator_revision"));
        printf("  host address width %" PRIu64 " bits, flags 0x%" PRIx64,
               json_get_u64(o, "host_address_width"), json_get_u64(flags, "raw"));
        print_flag_names(flags, flag_names);
        putchar('\n');

        for (size_t i = 0; i < json_object_array_length(structures); i++)
                print_structure(json_object_array_get_idx(structures, i));

        for (size_t i = 0; i < json_object_array_length(warnings); i++)
                printf("warning: %s\n", json_object_get_string(json_object_array_get_idx(warnings, i)));
}
