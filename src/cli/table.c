/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "basic/alloc-util.h"
#include "basic/json-util.h"
#include "cli/table.h"

static char *text_slot(void) {
        static char slots[TEXT_SLOTS][32];
        static unsigned next;

        return slots[next++ % TEXT_SLOTS];
}

const char *text_int(json_object *o, const char *key, text_style style) {
        json_object *v = json_get_typed(o, key, json_type_int);
        char *buf;
        uint64_t n;

        if (!v)
                return "?";
        buf = text_slot();
        n = json_object_get_uint64(v);
        switch (style) {
        case TEXT_DEC:
                snprintf(buf, 32, "%" PRIu64, n);
                break;
        case TEXT_SIGNED:
                snprintf(buf, 32, "%" PRId64, json_object_get_int64(v));
                break;
        case TEXT_HEX:
                snprintf(buf, 32, "0x%" PRIx64, n);
                break;
        case TEXT_HEX2:
                snprintf(buf, 32, "0x%02" PRIx64, n);
                break;
        case TEXT_HEX8:
                snprintf(buf, 32, "0x%08" PRIx64, n);
                break;
        case TEXT_HEX16:
                snprintf(buf, 32, "0x%016" PRIx64, n);
                break;
        case TEXT_XDIGITS:
                snprintf(buf, 32, "%" PRIx64, n);
                break;
        case TEXT_XDIGITS2:
                snprintf(buf, 32, "%02" PRIx64, n);
                break;
        case TEXT_XDIGITS3:
                snprintf(buf, 32, "%03" PRIx64, n);
                break;
        case TEXT_XDIGITS4:
                snprintf(buf, 32, "%04" PRIx64, n);
                break;
        case TEXT_SIZE:
                if (n >= (1ull << 30) && n % (1ull << 30) == 0)
                        snprintf(buf, 32, "%" PRIu64 "G", n >> 30);
                else if (n >= (1ull << 20) && n % (1ull << 20) == 0)
                        snprintf(buf, 32, "%" PRIu64 "M", n >> 20);
                else if (n >= 1024 && n % 1024 == 0)
                        snprintf(buf, 32, "%" PRIu64 "K", n >> 10);
                else
                        snprintf(buf, 32, "%" PRIu64, n);
                break;
        default:
                return "?";
        }
        return buf;
}

const char *text_string(json_object *o, const char *key) {
        json_object *v = json_get_typed(o, key, json_type_string);
        return v ? json_object_get_string(v) : "?";
}

const char *text_string_or(json_object *o, const char *key, const char *dash) {
        json_object *v = json_get(o, key);
        if (!v)
                return dash;
        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "?";
}

static void text_buf_vprintf(text_buf *b, const char *fmt, va_list ap) _printf_(2, 0);
static void text_buf_vprintf(text_buf *b, const char *fmt, va_list ap) {
        va_list aq;
        int n;

        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0 || !GREEDY_REALLOC_MIN(b->s, b->alloc, b->len + (size_t) n + 1, 256))
                return; /* out of memory: the cell stays shorter */
        (void) vsnprintf(b->s + b->len, (size_t) n + 1, fmt, ap);
        b->len += (size_t) n;
}

void text_buf_printf(text_buf *b, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        text_buf_vprintf(b, fmt, ap);
        va_end(ap);
}

void text_buf_puts(text_buf *b, const char *s) {
        text_buf_printf(b, "%s", s);
}

static const column *column_by_name(const column_table *t, const char *name, size_t len) {
        for (size_t i = 0; i < t->n_columns; i++)
                if (strlen(t->columns[i].name) == len && strncasecmp(t->columns[i].name, name, len) == 0)
                        return &t->columns[i];
        return NULL;
}

int columns_select(const column_table *t, const char *spec, unsigned defaults, column_set *ret,
                   const char **ret_bad, size_t *ret_bad_len) {
        column_set s = { .table = t, .indent = "" };

        if (!spec || *spec == '+') {
                for (size_t i = 0; i < t->n_columns; i++)
                        if (t->columns[i].flags & defaults)
                                s.columns[s.n++] = &t->columns[i];
                if (spec)
                        spec++;
        }
        while (spec) {
                const char *comma = strchr(spec, ',');
                size_t len = comma ? (size_t) (comma - spec) : strlen(spec);
                const column *c = column_by_name(t, spec, len);

                if (!c || s.n >= COLUMNS_MAX) {
                        if (ret_bad) {
                                *ret_bad = spec;
                                *ret_bad_len = len;
                        }
                        return c ? -E2BIG : -EINVAL;
                }
                s.columns[s.n++] = c;
                spec = comma ? comma + 1 : NULL;
        }
        *ret = s;
        return 0;
}

static void print_names(const column_table *t, unsigned flags) {
        const char *sep = "";

        for (size_t i = 0; i < t->n_columns; i++)
                if (t->columns[i].flags & flags) {
                        printf("%s%s", sep, t->columns[i].name);
                        sep = ",";
                }
        putchar('\n');
}

void columns_help(const column_table *t) {
        printf("Columns of 'iommuctl %s' for --output=COL,... (+COL,... adds to the default):\n",
               t->listing);
        for (size_t i = 0; i < t->n_columns; i++)
                printf("  %-12s %s\n", t->columns[i].name, t->columns[i].help);
        printf("Default: ");
        print_names(t, COLUMN_DEFAULT);
        if (t->logged) {
                printf("Default %s: ", t->logged);
                print_names(t, COLUMN_DEFAULT | COLUMN_LOGGED);
        }
}

/* One line: every cell padded to its column's width but the last, which
 * is printed as it is, so no line ends in blanks. */
static void print_line(const column_set *s, json_object *row, bool header) {
        /* reused by every line: a listing prints many */
        static text_buf cell;

        fputs(s->indent, stdout);
        for (size_t i = 0; i < s->n; i++) {
                const column *c = s->columns[i];
                bool last = i + 1 == s->n;
                int width = last ? 0 : (int) c->width;

                cell.len = 0;
                if (header)
                        text_buf_puts(&cell, c->header);
                else
                        c->format(c, row, &cell);
                if (c->right)
                        printf("%*s", width, cell.len ? cell.s : "");
                else
                        printf("%-*s", width, cell.len ? cell.s : "");
                if (!last)
                        fputs(s->table->separator, stdout);
        }
        putchar('\n');
}

void table_header(const column_set *s) {
        print_line(s, NULL, true);
}

void table_row(const column_set *s, json_object *row) {
        print_line(s, row, false);
}

void column_string(const column *c, json_object *row, text_buf *out) {
        text_buf_puts(out, text_string_or(row, c->key, "-"));
}

void column_dec(const column *c, json_object *row, text_buf *out) {
        text_buf_puts(out, json_is_null(row, c->key) ? "-" : text_int(row, c->key, TEXT_SIGNED));
}

void column_hex(const column *c, json_object *row, text_buf *out) {
        text_buf_puts(out, text_int(row, c->key, TEXT_HEX));
}

void column_hex16(const column *c, json_object *row, text_buf *out) {
        text_buf_puts(out, text_int(row, c->key, TEXT_HEX16));
}

void column_size(const column *c, json_object *row, text_buf *out) {
        text_buf_puts(out, text_int(row, c->key, TEXT_SIZE));
}

void column_read_write(const column *c, json_object *row, text_buf *out) {
        json_object *v = json_get_typed(row, c->key, json_type_boolean);
        text_buf_puts(out, !v ? "?" : json_object_get_boolean(v) ? "write" : "read");
}
