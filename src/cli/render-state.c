/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text for info, devices and mappings, from the JSON model only. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"

static json_object *field(json_object *reg, const char *name) {
        return json_get(json_get(reg, "fields"), name);
}

static const char *on_off(json_object *o, const char *key) {
        json_object *v = json_get(o, key);
        return !v ? "unknown" : json_object_get_boolean(v) ? "on" : "off";
}

static void print_size(uint64_t n) {
        if (n >= (1ull << 30) && n % (1ull << 30) == 0)
                printf("%" PRIu64 "G", n >> 30);
        else if (n >= (1ull << 20) && n % (1ull << 20) == 0)
                printf("%" PRIu64 "M", n >> 20);
        else if (n >= 1024 && n % 1024 == 0)
                printf("%" PRIu64 "K", n >> 10);
        else
                printf("%" PRIu64, n);
}

static void print_capabilities(json_object *cap, json_object *ecap) {
        static const struct {
                const char *reg, *field, *label;
        } flags[] = {
                { "cap", "cm", "caching mode" },
                { "cap", "rwbf", "write-buffer flush" },
                { "cap", "psi", "page-selective invalidation" },
                { "ecap", "qi", "queued invalidation" },
                { "ecap", "ir", "interrupt remapping" },
                { "ecap", "pt", "pass-through" },
                { "ecap", "dt", "device-TLB" },
                { "ecap", "sc", "snoop control" },
                { "ecap", "c", "coherent walks" },
                { "ecap", "smts", "scalable mode" },
                { "ecap", "pasid", "PASID" },
                { "ecap", "fsts", "first stage" },
                { "ecap", "ssts", "second stage" },
                { "ecap", "nest", "nested" },
                { "ecap", "prs", "page requests" },
        };

        printf("  %" PRIu64 "-bit guest addresses, tables %s, large pages %s, %" PRIu64 " domains, %" PRIu64
               " fault record(s)\n",
               json_get_u64(field(cap, "mgaw"), "bits"), json_get_string(field(cap, "sagaw"), "meaning"),
               json_get_string(field(cap, "sllps"), "meaning"), json_get_u64(field(cap, "nd"), "domains"),
               json_get_u64(field(cap, "nfr"), "records"));
        printf("  supports:");
        const char *sep = " ";
        for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
                json_object *reg = streq(flags[i].reg, "cap") ? cap : ecap;
                if (json_get_u64(field(reg, flags[i].field), "raw")) {
                        printf("%s%s", sep, flags[i].label);
                        sep = ", ";
                }
        }
        putchar('\n');
}

static void print_faults(json_object *u) {
        json_object *fsts = json_get(u, "fsts"), *records = json_get(u, "faults");
        size_t n = json_object_array_length(records);

        printf("  faults: %s%s%zu recorded\n", json_get_u64(field(fsts, "ppf"), "raw") ? "pending, " : "",
               json_get_u64(field(fsts, "pfo"), "raw") ? "OVERFLOW (later faults lost), " : "", n);
        for (size_t i = 0; i < n; i++) {
                json_object *f = json_object_array_get_idx(records, i);
                printf("    [%" PRIu64 "] %s %s 0x%" PRIx64 ": reason 0x%02" PRIx64 " %s\n",
                       json_get_u64(f, "index"), json_get_string(f, "bdf"),
                       json_get_bool(f, "write") ? "write" : "read", json_get_u64(f, "address"),
                       json_get_u64(f, "reason"), json_get_string(f, "reason_text"));
        }
}

void render_info(json_object *o) {
        json_object *units = json_get(o, "units");

        if (json_object_array_length(units) == 0)
                printf("No DMA remapping units.\n");
        for (size_t i = 0; i < json_object_array_length(units); i++) {
                json_object *u = json_object_array_get_idx(units, i);
                json_object *cap = json_get(u, "cap"), *ecap = json_get(u, "ecap");

                if (i)
                        putchar('\n');
                printf("%s: registers 0x%" PRIx64 " (", json_get_string(u, "name"),
                       json_get_u64(u, "address"));
                print_size(json_get_u64(u, "size"));
                printf("), segment %04" PRIx64 ", VT-d %s, owner %s\n", json_get_u64(u, "segment"),
                       json_get(u, "version") ? json_get_string(u, "version") : "?",
                       json_get_string(u, "owner"));

                if (json_get(u, "registers_error")) {
                        printf("  registers not readable: %s\n", json_get_string(u, "registers_error"));
                        if (cap) {
                                printf("  from sysfs: cap 0x%016" PRIx64 " ecap 0x%016" PRIx64 "\n",
                                       json_get_u64(cap, "value"), json_get_u64(ecap, "value"));
                                print_capabilities(cap, ecap);
                        }
                        continue;
                }
                printf("  cap 0x%016" PRIx64 "  ecap 0x%016" PRIx64 "  gsts 0x%08" PRIx64 "\n",
                       json_get_u64(cap, "value"), json_get_u64(ecap, "value"),
                       json_get_u64(json_get(u, "gsts"), "value"));
                print_capabilities(cap, ecap);
                printf("  translation %s, queued invalidation %s, interrupt remapping %s\n",
                       on_off(u, "translation_enabled"), on_off(u, "queued_invalidation"),
                       on_off(u, "interrupt_remapping"));
                printf("  root table 0x%" PRIx64 ", %s mode\n", json_get_u64(u, "root_table"),
                       json_get_string(u, "mode"));
                print_faults(u);
        }
        if (json_get(o, "ram_error"))
                printf("\ntranslation tables not readable: %s\n", json_get_string(o, "ram_error"));
}

static const char *or_dash(json_object *o, const char *key, char *buf, size_t size) {
        json_object *v = json_get(o, key);
        if (!v)
                return "-";
        if (json_object_is_type(v, json_type_int))
                snprintf(buf, size, "%" PRId64, json_object_get_int64(v));
        else
                snprintf(buf, size, "%s", json_object_get_string(v));
        return buf;
}

void render_devices(json_object *o) {
        printf("%-12s %-9s %5s %-6s %6s %-13s %-12s %s\n", "BDF", "ID", "GROUP", "UNIT", "DOMAIN",
               "TRANSLATION", "DRIVER", "NAME");
        for (size_t i = 0; i < json_object_array_length(o); i++) {
                json_object *d = json_object_array_get_idx(o, i);
                char g[16], u[32], dom[16], t[32], drv[64];

                printf("%-12s %04" PRIx64 ":%04" PRIx64 " %5s %-6s %6s %-13s %-12s %s\n",
                       json_get_string(d, "bdf"), json_get_u64(d, "vendor"), json_get_u64(d, "device"),
                       or_dash(d, "group", g, sizeof g), or_dash(d, "unit", u, sizeof u),
                       or_dash(d, "domain", dom, sizeof dom), or_dash(d, "translation", t, sizeof t),
                       or_dash(d, "driver", drv, sizeof drv), json_get_string(d, "name"));
        }
}

void render_mappings(json_object *o) {
        size_t n = json_object_array_length(o);

        if (n == 0)
                printf("No translations found.\n");
        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_array_get_idx(o, i);
                json_object *ranges = json_get(m, "ranges"), *anomalies = json_get(m, "anomalies");

                if (i)
                        putchar('\n');
                if (json_get(m, "bdf")) {
                        printf("%s", json_get_string(m, "bdf"));
                        if (json_get(m, "pasid"))
                                printf(" pasid %" PRId64 "%s", json_get_i64(m, "pasid"),
                                       json_get_bool(m, "rid_pasid") ? " (requests without PASID)" : "");
                        printf("  %s domain %" PRId64 "  %s", json_get_string(m, "unit"),
                               json_get_i64(m, "domain"), json_get_string(m, "translation"));
                        if (json_get(m, "address_width"))
                                printf("  %" PRId64 "-bit, %" PRId64 " levels",
                                       json_get_i64(m, "address_width"), json_get_i64(m, "levels"));
                        if (json_get(m, "root"))
                                printf("  root 0x%" PRIx64, json_get_u64(m, "root"));
                        if (json_get_bool(m, "fpd"))
                                printf("  faults not reported (FPD)");
                        if (json_get(m, "same_tables_as"))
                                printf("  (tables shared with %s)", json_get_string(m, "same_tables_as"));
                        putchar('\n');
                } else
                        printf("%s: root table\n", json_get_string(m, "unit"));

                if (json_object_array_length(ranges) > 0)
                        printf("  %-18s  %-18s  %10s  %-4s %5s\n", "IOVA", "PHYSICAL", "LENGTH", "PERM",
                               "PAGE");
                for (size_t k = 0; k < json_object_array_length(ranges); k++) {
                        json_object *r = json_object_array_get_idx(ranges, k);
                        char len[32];

                        snprintf(len, sizeof len, "0x%" PRIx64, json_get_u64(r, "length"));
                        printf("  0x%016" PRIx64 "  0x%016" PRIx64 "  %10s  %c%c%c  ",
                               json_get_u64(r, "iova"), json_get_u64(r, "phys"), len,
                               json_get_bool(r, "read") ? 'r' : '-', json_get_bool(r, "write") ? 'w' : '-',
                               json_get_bool(r, "execute") ? 'x' : '-');
                        print_size(json_get_u64(r, "page_size"));
                        putchar('\n');
                }
                for (size_t k = 0; k < json_object_array_length(anomalies); k++) {
                        json_object *a = json_object_array_get_idx(anomalies, k);
                        printf("  ! %s: %s\n", json_get_string(a, "kind"), json_get_string(a, "message"));
                }
        }
}

static void print_fault(json_object *f, bool with_time) {
        if (with_time)
                printf("%s  ", json_get_string(f, "time"));
        if (json_get(f, "unit"))
                printf("%s  ", json_get_string(f, "unit"));
        printf("%s %s 0x%" PRIx64, json_get_string(f, "bdf"), json_get_bool(f, "write") ? "write" : "read",
               json_get_u64(f, "address"));
        if (json_get(f, "pasid"))
                printf(" pasid %" PRId64, json_get_i64(f, "pasid"));
        printf(": reason 0x%02" PRIx64 " %s\n", json_get_u64(f, "reason"),
               json_get(f, "reason_text") ? json_get_string(f, "reason_text") : "(unknown reason)");
}

void render_faults(json_object *o) {
        json_object *units = json_get(o, "units"), *log = json_get(o, "log");

        if (json_object_array_length(units) == 0)
                printf("No DMA remapping units.\n");
        for (size_t i = 0; i < json_object_array_length(units); i++) {
                json_object *u = json_object_array_get_idx(units, i);
                json_object *fsts = json_get(u, "fsts"), *records = json_get(u, "faults");

                printf("%s: ", json_get_string(u, "name"));
                if (json_get(u, "registers_error")) {
                        printf("registers not readable: %s\n", json_get_string(u, "registers_error"));
                        continue;
                }
                printf("%s%s%zu fault record(s) held\n",
                       json_get_u64(field(fsts, "ppf"), "raw") ? "pending, " : "",
                       json_get_u64(field(fsts, "pfo"), "raw") ? "OVERFLOW (later faults lost), " : "",
                       json_object_array_length(records));
                for (size_t k = 0; k < json_object_array_length(records); k++) {
                        printf("  [%" PRIu64 "] ",
                               json_get_u64(json_object_array_get_idx(records, k), "index"));
                        print_fault(json_object_array_get_idx(records, k), false);
                }
        }
        if (json_object_array_length(log) > 0) {
                printf("\nLogged by iommud:\n");
                for (size_t i = 0; i < json_object_array_length(log); i++) {
                        printf("  ");
                        print_fault(json_object_array_get_idx(log, i), true);
                }
        }
}

void render_fault_event(json_object *o) {
        print_fault(o, true);
}

void render_fault_event_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

void render_domains(json_object *o) {
        printf("%-6s %6s %-13s %s\n", "UNIT", "DOMAIN", "TRANSLATION", "DEVICES");
        for (size_t i = 0; i < json_object_array_length(o); i++) {
                json_object *d = json_object_array_get_idx(o, i), *devices = json_get(d, "devices");
                char t[32];

                printf("%-6s %6" PRId64 " %-13s", json_get_string(d, "unit"), json_get_i64(d, "domain"),
                       or_dash(d, "translation", t, sizeof t));
                for (size_t k = 0; k < json_object_array_length(devices); k++)
                        printf(" %s", json_object_get_string(json_object_array_get_idx(devices, k)));
                putchar('\n');
        }
}
