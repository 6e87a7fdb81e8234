/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text for info, devices, domains and faults, from the JSON model only;
 * the listings from their column tables.  Mappings: render-mappings.c. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"
#include "cli/table.h"

static json_object *field(json_object *reg, const char *name) {
        return json_get(json_get_object(reg, "fields"), name);
}

static bool field_set(json_object *reg, const char *name) {
        return json_get_u64(field(reg, name), "raw") != 0;
}

/* ---- devices ---------------------------------------------------------------------------------- */

static void device_id(const column *c, json_object *d, text_buf *out) {
        text_buf_printf(out, "%s:%s", text_int(d, "vendor", TEXT_XDIGITS4),
                        text_int(d, "device", TEXT_XDIGITS4));
}

static void device_class(const column *c, json_object *d, text_buf *out) {
        text_buf_puts(out, json_is_null(d, c->key) ? "-" : text_int(d, c->key, TEXT_XDIGITS4));
}

enum {
        DEVICE_BDF,
        DEVICE_ID,
        DEVICE_CLASS,
        DEVICE_GROUP,
        DEVICE_UNIT,
        DEVICE_DOMAIN,
        DEVICE_TRANSLATION,
        DEVICE_DRIVER,
        DEVICE_NAME,
        _DEVICE_COLUMN_MAX,
};

/* clang-format off */
static const column device_column_list[] = {
        [DEVICE_BDF]         = { .name = "BDF", .header = "BDF", .width = 12,
                                 .flags = COLUMN_DEFAULT, .key = "bdf", .format = column_string,
                                 .help = "PCI address, SSSS:BB:DD.F" },
        [DEVICE_ID]          = { .name = "ID", .header = "ID", .width = 9,
                                 .flags = COLUMN_DEFAULT, .format = device_id,
                                 .help = "vendor and device ID, VVVV:DDDD" },
        [DEVICE_CLASS]       = { .name = "CLASS", .header = "CLASS", .width = 5,
                                 .key = "class", .format = device_class,
                                 .help = "PCI class and subclass, CCSS" },
        [DEVICE_GROUP]       = { .name = "GROUP", .header = "GROUP", .width = 5, .right = true,
                                 .flags = COLUMN_DEFAULT, .key = "group", .format = column_dec,
                                 .help = "the kernel's IOMMU group, - when none" },
        [DEVICE_UNIT]        = { .name = "UNIT", .header = "UNIT", .width = 6,
                                 .flags = COLUMN_DEFAULT, .key = "unit", .format = column_string,
                                 .help = "the remapping unit that translates its requests" },
        [DEVICE_DOMAIN]      = { .name = "DOMAIN", .header = "DOMAIN", .width = 6, .right = true,
                                 .flags = COLUMN_DEFAULT, .key = "domain", .format = column_dec,
                                 .help = "domain ID of its context entry, - when none" },
        [DEVICE_TRANSLATION] = { .name = "TRANSLATION", .header = "TRANSLATION", .width = 13,
                                 .flags = COLUMN_DEFAULT, .key = "translation", .format = column_string,
                                 .help = "translation type of its context entry, blocked, disabled, "
                                         "or - when unknown" },
        [DEVICE_DRIVER]      = { .name = "DRIVER", .header = "DRIVER", .width = 12,
                                 .flags = COLUMN_DEFAULT, .key = "driver", .format = column_string,
                                 .help = "the driver bound to it, - when none" },
        [DEVICE_NAME]        = { .name = "NAME", .header = "NAME", .width = 40,
                                 .flags = COLUMN_DEFAULT, .key = "name", .format = column_string,
                                 .help = "vendor and device names from pci.ids" },
};
/* clang-format on */
static_assert(ELEMENTSOF(device_column_list) == _DEVICE_COLUMN_MAX, "a row per column");

const column_table device_columns = {
        .listing = "devices",
        .columns = device_column_list,
        .n_columns = ELEMENTSOF(device_column_list),
        .separator = " ",
};

/* The columns of a listing; --output was checked before anything was asked. */
static column_set listing_columns(const column_table *t, unsigned defaults, const char *indent) {
        return columns_or_default(t, arg.output, defaults, indent);
}

void render_devices(json_object *o) {
        column_set s = listing_columns(&device_columns, COLUMN_DEFAULT, "");

        table_header(&s);
        for (size_t i = 0; i < json_array_length(o); i++)
                table_row(&s, json_array_get(o, i));
}

/* ---- domains ---------------------------------------------------------------------------------- */

static void domain_devices(const column *c, json_object *d, text_buf *out) {
        json_object *devices = json_get_array(d, c->key);

        if (!devices && !json_is_null(d, c->key))
                text_buf_puts(out, "?");
        for (size_t i = 0; i < json_array_length(devices); i++) {
                json_object *bdf = json_array_get(devices, i);
                text_buf_printf(out, "%s%s", i ? " " : "",
                                json_object_is_type(bdf, json_type_string) ? json_object_get_string(bdf)
                                                                           : "?");
        }
}

enum {
        DOMAIN_UNIT,
        DOMAIN_DOMAIN,
        DOMAIN_TRANSLATION,
        DOMAIN_DEVICES,
        _DOMAIN_COLUMN_MAX,
};

/* clang-format off */
static const column domain_column_list[] = {
        [DOMAIN_UNIT]        = { .name = "UNIT", .header = "UNIT", .width = 6,
                                 .flags = COLUMN_DEFAULT, .key = "unit", .format = column_string,
                                 .help = "the remapping unit" },
        [DOMAIN_DOMAIN]      = { .name = "DOMAIN", .header = "DOMAIN", .width = 6, .right = true,
                                 .flags = COLUMN_DEFAULT, .key = "domain", .format = column_dec,
                                 .help = "domain ID" },
        [DOMAIN_TRANSLATION] = { .name = "TRANSLATION", .header = "TRANSLATION", .width = 13,
                                 .flags = COLUMN_DEFAULT, .key = "translation", .format = column_string,
                                 .help = "translation type of its devices, - when they differ" },
        [DOMAIN_DEVICES]     = { .name = "DEVICES", .header = "DEVICES", .width = 12,
                                 .flags = COLUMN_DEFAULT, .key = "devices", .format = domain_devices,
                                 .help = "the devices attached to it" },
};
/* clang-format on */
static_assert(ELEMENTSOF(domain_column_list) == _DOMAIN_COLUMN_MAX, "a row per column");

const column_table domain_columns = {
        .listing = "domains",
        .columns = domain_column_list,
        .n_columns = ELEMENTSOF(domain_column_list),
        .separator = " ",
};

void render_domains(json_object *o) {
        column_set s = listing_columns(&domain_columns, COLUMN_DEFAULT, "");

        table_header(&s);
        for (size_t i = 0; i < json_array_length(o); i++)
                table_row(&s, json_array_get(o, i));
}

/* ---- fault records: one description for info, faults and faults --follow ------------------------ */

static void fault_reason(const column *c, json_object *f, text_buf *out) {
        text_buf_puts(out, text_int(f, c->key, TEXT_HEX2));
}

static void fault_meaning(const column *c, json_object *f, text_buf *out) {
        text_buf_puts(out, text_string_or(f, c->key, "unknown reason"));
}

enum {
        FAULT_TIME,
        FAULT_UNIT,
        FAULT_SOURCE,
        FAULT_INDEX,
        FAULT_BDF,
        FAULT_ACCESS,
        FAULT_ADDRESS,
        FAULT_PASID,
        FAULT_REASON,
        FAULT_MEANING,
        _FAULT_COLUMN_MAX,
};

/* clang-format off */
static const column fault_column_list[] = {
        [FAULT_TIME]    = { .name = "TIME", .header = "TIME", .width = 27,
                            .flags = COLUMN_LOGGED, .key = "time", .format = column_string,
                            .help = "when iommud saw it, UTC" },
        [FAULT_UNIT]    = { .name = "UNIT", .header = "UNIT", .width = 6,
                            .flags = COLUMN_LOGGED, .key = "unit", .format = column_string,
                            .help = "the remapping unit that reported it" },
        [FAULT_SOURCE]  = { .name = "SOURCE", .header = "SOURCE", .width = 10,
                            .key = "source", .format = column_string,
                            .help = "where iommud read it: registers or kernel-log" },
        [FAULT_INDEX]   = { .name = "INDEX", .header = "INDEX", .width = 5, .right = true,
                            .flags = COLUMN_DEFAULT, .key = "index", .format = column_dec,
                            .help = "the fault recording register that held it, - for the kernel's log" },
        [FAULT_BDF]     = { .name = "BDF", .header = "BDF", .width = 12,
                            .flags = COLUMN_DEFAULT, .key = "bdf", .format = column_string,
                            .help = "the requesting device, SSSS:BB:DD.F" },
        [FAULT_ACCESS]  = { .name = "ACCESS", .header = "ACCESS", .width = 6,
                            .flags = COLUMN_DEFAULT, .key = "write", .format = column_read_write,
                            .help = "read or write" },
        [FAULT_ADDRESS] = { .name = "ADDRESS", .header = "ADDRESS", .width = 18,
                            .flags = COLUMN_DEFAULT, .key = "address", .format = column_hex,
                            .help = "the page of the address the request used" },
        [FAULT_PASID]   = { .name = "PASID", .header = "PASID", .width = 7, .right = true,
                            .flags = COLUMN_DEFAULT, .key = "pasid", .format = column_dec,
                            .help = "the request's PASID, - when it had none" },
        [FAULT_REASON]  = { .name = "REASON", .header = "REASON", .width = 6,
                            .flags = COLUMN_DEFAULT, .key = "reason", .format = fault_reason,
                            .help = "the fault reason code" },
        [FAULT_MEANING] = { .name = "MEANING", .header = "MEANING", .width = 40,
                            .flags = COLUMN_DEFAULT, .key = "reason_text", .format = fault_meaning,
                            .help = "what the reason code means" },
};
/* clang-format on */
static_assert(ELEMENTSOF(fault_column_list) == _FAULT_COLUMN_MAX, "a row per column");

const column_table fault_columns = {
        .listing = "faults",
        .columns = fault_column_list,
        .n_columns = ELEMENTSOF(fault_column_list),
        .separator = " ",
        .logged = "in iommud's log and with --follow",
};

static void print_records(json_object *records, unsigned defaults, const char *indent) {
        column_set s = listing_columns(&fault_columns, defaults, indent);

        if (json_array_length(records) > 0)
                table_header(&s);
        for (size_t i = 0; i < json_array_length(records); i++)
                table_row(&s, json_array_get(records, i));
}

/* "pending, OVERFLOW (later faults lost), " */
static void print_fault_status(json_object *fsts) {
        printf("%s%s", field_set(fsts, "ppf") ? "pending, " : "",
               field_set(fsts, "pfo") ? "OVERFLOW (later faults lost), " : "");
}

void render_faults(json_object *o) {
        json_object *units = json_get_array(o, "units"), *log = json_get_array(o, "log");

        if (json_array_length(units) == 0)
                printf("No DMA remapping units.\n");
        for (size_t i = 0; i < json_array_length(units); i++) {
                json_object *u = json_array_get(units, i);
                json_object *records = json_get_array(u, "faults");

                printf("%s: ", text_string(u, "name"));
                if (json_get(u, "registers_error")) {
                        printf("registers not readable: %s\n", text_string(u, "registers_error"));
                        continue;
                }
                print_fault_status(json_get(u, "fsts"));
                printf("%zu fault record(s) held\n", json_array_length(records));
                print_records(records, COLUMN_DEFAULT, "  ");
        }
        if (json_array_length(log) > 0) {
                printf("\nLogged by iommud:\n");
                print_records(log, COLUMN_DEFAULT | COLUMN_LOGGED, "  ");
        }
}

void render_fault_event(json_object *o) {
        static bool header_printed;
        column_set s = listing_columns(&fault_columns, COLUMN_DEFAULT | COLUMN_LOGGED, "");

        if (!header_printed)
                table_header(&s);
        header_printed = true;
        table_row(&s, o);
}

/* ---- info ------------------------------------------------------------------------------------- */

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
        const char *sep = " ";

        printf("  %s-bit guest addresses, tables %s, large pages %s, %s domains, %s fault record(s)\n",
               text_int(field(cap, "mgaw"), "bits", TEXT_DEC), text_string(field(cap, "sagaw"), "meaning"),
               text_string(field(cap, "sllps"), "meaning"), text_int(field(cap, "nd"), "domains", TEXT_DEC),
               text_int(field(cap, "nfr"), "records", TEXT_DEC));
        printf("  supports:");
        for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                if (field_set(streq(flags[i].reg, "cap") ? cap : ecap, flags[i].field)) {
                        printf("%s%s", sep, flags[i].label);
                        sep = ", ";
                }
        putchar('\n');
}

void render_info(json_object *o) {
        json_object *units = json_get_array(o, "units");

        if (json_array_length(units) == 0)
                printf("No DMA remapping units.\n");
        for (size_t i = 0; i < json_array_length(units); i++) {
                json_object *u = json_array_get(units, i);
                json_object *cap = json_get_object(u, "cap"), *ecap = json_get_object(u, "ecap");
                json_object *records = json_get_array(u, "faults");

                if (i)
                        putchar('\n');
                printf("%s: registers %s (%s), segment %s, VT-d %s, owner %s\n", text_string(u, "name"),
                       text_int(u, "address", TEXT_HEX), text_int(u, "size", TEXT_SIZE),
                       text_int(u, "segment", TEXT_XDIGITS4), text_string(u, "version"),
                       text_string(u, "owner"));
                /* iommud refuses every change to it: say why, and the way out */
                if (json_get_typed(json_get(u, "control"), "degraded", json_type_string))
                        printf("  degraded: %s; iommuctl power off --unit %s gives it back\n",
                               text_string(json_get(u, "control"), "degraded"), text_string(u, "name"));

                if (json_get(u, "registers_error")) {
                        printf("  registers not readable: %s\n", text_string(u, "registers_error"));
                        if (cap) {
                                printf("  from sysfs: cap %s ecap %s\n", text_int(cap, "value", TEXT_HEX16),
                                       text_int(ecap, "value", TEXT_HEX16));
                                print_capabilities(cap, ecap);
                        }
                        continue;
                }
                printf("  cap %s  ecap %s  gsts %s\n", text_int(cap, "value", TEXT_HEX16),
                       text_int(ecap, "value", TEXT_HEX16),
                       text_int(json_get(u, "gsts"), "value", TEXT_HEX8));
                print_capabilities(cap, ecap);
                printf("  translation %s, queued invalidation %s, interrupt remapping %s\n",
                       text_on_off(u, "translation_enabled"), text_on_off(u, "queued_invalidation"),
                       text_on_off(u, "interrupt_remapping"));
                printf("  root table %s, %s mode\n", text_int(u, "root_table", TEXT_HEX),
                       text_string(u, "mode"));
                printf("  faults: ");
                print_fault_status(json_get(u, "fsts"));
                printf("%zu recorded\n", json_array_length(records));
                print_records(records, COLUMN_DEFAULT, "    ");
        }
        if (json_get(o, "ram_error"))
                printf("\ntranslation tables not readable: %s\n", text_string(o, "ram_error"));
}
