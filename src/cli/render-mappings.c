/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text for mappings, as a sink of the model's stream of events
 * (model/mappings.h): whatever the source, the snapshot or hardware read
 * here or iommud's answer split as it arrives (verb-mappings.c), a
 * target's heading from its header object, then its ranges in the range
 * columns, then its anomalies.  Nothing is held but the lines not yet
 * written. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"
#include "cli/table.h"

/* Written out once this much text is pending. */
#define TEXT_FLUSH (64u << 10)

/* ---- the range columns: walk_range fields by their JSON names (range_fields) ---- */

static const range_field *field_named(const char *name) {
        for (size_t i = 0; name && i < n_range_fields; i++)
                if (streq(range_fields[i].name, name))
                        return &range_fields[i];
        return NULL;
}

static void range_number(const column *c, const walk_range *r, text_buf *out, text_style style);

static void range_hex16(const column *c, const walk_range *r, text_buf *out) {
        range_number(c, r, out, TEXT_HEX16);
}

static void range_hex(const column *c, const walk_range *r, text_buf *out) {
        range_number(c, r, out, TEXT_HEX);
}

static void range_size(const column *c, const walk_range *r, text_buf *out) {
        range_number(c, r, out, TEXT_SIZE);
}

static void range_perm(const column *c, const walk_range *r, text_buf *out) {
        static const struct {
                const char *name;
                char letter;
        } bits[] = { { "read", 'r' }, { "write", 'w' }, { "execute", 'x' } };
        static const range_field *fields[ELEMENTSOF(bits)];
        static bool resolved;
        char perm[ELEMENTSOF(bits)];

        if (!resolved) {
                for (size_t i = 0; i < ELEMENTSOF(bits); i++)
                        fields[i] = field_named(bits[i].name);
                resolved = true;
        }
        for (size_t i = 0; i < ELEMENTSOF(bits); i++)
                perm[i] = !fields[i] || fields[i]->type != RANGE_FIELD_BOOL ? '?'
                          : range_field_bool(fields[i], r)                  ? bits[i].letter
                                                                            : '-';
        text_buf_append(out, perm, sizeof perm);
}

enum {
        RANGE_IOVA,
        RANGE_PHYSICAL,
        RANGE_LENGTH,
        RANGE_PERM,
        RANGE_PAGE,
        _RANGE_COLUMN_MAX,
};

/* The widths keep the layout mappings always had: PERM is as wide as its
 * values ("rw-"), its header one more. */
/* clang-format off */
static const column range_column_list[] = {
        [RANGE_IOVA]     = { .name = "IOVA", .header = "IOVA", .width = 18,
                             .flags = COLUMN_DEFAULT, .key = "iova", .format_range = range_hex16,
                             .help = "first I/O virtual address of the range" },
        [RANGE_PHYSICAL] = { .name = "PHYSICAL", .header = "PHYSICAL", .width = 18,
                             .flags = COLUMN_DEFAULT, .key = "phys", .format_range = range_hex16,
                             .help = "the physical address it translates to" },
        [RANGE_LENGTH]   = { .name = "LENGTH", .header = "LENGTH", .width = 10, .right = true,
                             .flags = COLUMN_DEFAULT, .key = "length", .format_range = range_hex,
                             .help = "length in bytes" },
        [RANGE_PERM]     = { .name = "PERM", .header = "PERM", .width = 3,
                             .flags = COLUMN_DEFAULT, .format_range = range_perm,
                             .help = "what the device may do: r read, w write, x execute" },
        [RANGE_PAGE]     = { .name = "PAGE", .header = "PAGE", .width = 5, .right = true,
                             .flags = COLUMN_DEFAULT, .key = "page_size", .format_range = range_size,
                             .help = "size of the pages that map it" },
};
/* clang-format on */
static_assert(ELEMENTSOF(range_column_list) == _RANGE_COLUMN_MAX, "a row per column");

const column_table range_columns = {
        .listing = "mappings",
        .columns = range_column_list,
        .n_columns = ELEMENTSOF(range_column_list),
        .separator = "  ",
};

/* A number column: the field its key names, looked up once per column. */
static void range_number(const column *c, const walk_range *r, text_buf *out, text_style style) {
        static const range_field *fields[_RANGE_COLUMN_MAX];
        static bool resolved[_RANGE_COLUMN_MAX];
        size_t i = (size_t) (c - range_column_list);
        char buf[TEXT_U64_MAX];

        assert(i < _RANGE_COLUMN_MAX);
        if (!resolved[i]) {
                fields[i] = field_named(c->key);
                resolved[i] = true;
        }
        if (!fields[i] || fields[i]->type != RANGE_FIELD_U64)
                text_buf_puts(out, "?");
        else
                text_buf_puts(out, text_u64(range_field_u64(fields[i], r), style, buf));
}

/* ---- the sink ---- */

static int text_flush(mappings_text *t) {
        int r;

        if (t->out.len == 0)
                return 0;
        r = cli_write(t->out.s, t->out.len);
        t->out.len = 0;
        return r;
}

static int text_target(void *userdata, json_object *m) {
        mappings_text *t = userdata;
        text_buf *o = &t->out;

        if (t->n_targets++ > 0)
                text_buf_puts(o, "\n");
        t->rows = false;
        if (!json_get(m, "bdf")) {
                text_buf_printf(o, "%s: root table\n", text_string(m, "unit"));
                return text_flush(t);
        }
        text_buf_puts(o, text_string(m, "bdf"));
        if (json_get(m, "pasid"))
                text_buf_printf(o, " pasid %s%s", text_int(m, "pasid", TEXT_SIGNED),
                                json_get_bool(m, "rid_pasid") ? " (requests without PASID)" : "");
        text_buf_printf(o, "  %s domain %s  %s", text_string(m, "unit"), text_int(m, "domain", TEXT_SIGNED),
                        text_string(m, "translation"));
        if (json_get(m, "address_width"))
                text_buf_printf(o, "  %s-bit, %s levels", text_int(m, "address_width", TEXT_SIGNED),
                                text_int(m, "levels", TEXT_SIGNED));
        if (json_get(m, "root"))
                text_buf_printf(o, "  root %s", text_int(m, "root", TEXT_HEX));
        if (json_get_bool(m, "fpd"))
                text_buf_puts(o, "  faults not reported (FPD)");
        if (json_get(m, "same_tables_as"))
                text_buf_printf(o, "  (tables shared with %s)", text_string(m, "same_tables_as"));
        text_buf_puts(o, "\n");
        return text_flush(t);
}

static int text_ranges(void *userdata, const walk_range *r, size_t n) {
        mappings_text *t = userdata;

        if (n > 0 && !t->rows) {
                table_header_append(&t->columns, &t->out);
                t->rows = true;
        }
        for (size_t i = 0; i < n; i++) {
                table_range_row_append(&t->columns, &r[i], &t->out);
                if (t->out.len >= TEXT_FLUSH) {
                        int e = text_flush(t);
                        if (e < 0)
                                return e;
                }
        }
        return 0;
}

static int text_anomaly(void *userdata, json_object *a) {
        mappings_text *t = userdata;

        text_buf_printf(&t->out, "  ! %s: %s\n", text_string(a, "kind"), text_string(a, "message"));
        return t->out.len >= TEXT_FLUSH ? text_flush(t) : 0;
}

static int text_target_done(void *userdata) {
        return text_flush(userdata);
}

const mappings_sink mappings_text_sink = {
        .target = text_target,
        .ranges = text_ranges,
        .anomaly = text_anomaly,
        .target_done = text_target_done,
};

void mappings_text_init(mappings_text *t) {
        *t = (mappings_text){ .columns =
                                      columns_or_default(&range_columns, arg.output, COLUMN_DEFAULT, "  ") };
}

int mappings_text_finish(mappings_text *t, bool complete) {
        if (complete && t->n_targets == 0)
                text_buf_puts(&t->out, "No translations found.\n");
        return text_flush(t);
}

void mappings_text_done(mappings_text *t) {
        text_buf_free(&t->out);
}
