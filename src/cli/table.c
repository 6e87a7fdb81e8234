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
        static char slots[TEXT_SLOTS][TEXT_U64_MAX];
        static unsigned next;

        return slots[next++ % TEXT_SLOTS];
}

/* Digits written by hand: a listing of a million ranges formats five
 * million numbers, and snprintf() was most of its time. */
static char *put_hex(char *p, uint64_t n, unsigned min_digits) {
        static const char digits[] = "0123456789abcdef";
        char tmp[16];
        unsigned k = 0;

        do {
                tmp[k++] = digits[n & 0xf];
                n >>= 4;
        } while (n);
        while (k < min_digits && k < sizeof tmp)
                tmp[k++] = '0';
        while (k)
                *p++ = tmp[--k];
        return p;
}

static char *put_dec(char *p, uint64_t n) {
        char tmp[20];
        unsigned k = 0;

        do {
                tmp[k++] = (char) ('0' + n % 10);
                n /= 10;
        } while (n);
        while (k)
                *p++ = tmp[--k];
        return p;
}

char *text_u64(uint64_t n, text_style style, char *buf) {
        char *p = buf;

        switch (style) {
        case TEXT_DEC:
                p = put_dec(p, n);
                break;
        case TEXT_SIGNED:
                if ((int64_t) n < 0) {
                        *p++ = '-';
                        n = -n;
                }
                p = put_dec(p, n);
                break;
        case TEXT_HEX:
        case TEXT_HEX2:
        case TEXT_HEX8:
        case TEXT_HEX16:
                *p++ = '0';
                *p++ = 'x';
                p = put_hex(p, n,
                            style == TEXT_HEX2    ? 2
                            : style == TEXT_HEX8  ? 8
                            : style == TEXT_HEX16 ? 16
                                                  : 1);
                break;
        case TEXT_XDIGITS:
        case TEXT_XDIGITS2:
        case TEXT_XDIGITS3:
        case TEXT_XDIGITS4:
                p = put_hex(p, n, 1 + (unsigned) (style - TEXT_XDIGITS));
                break;
        case TEXT_SIZE: {
                static const struct {
                        unsigned shift;
                        char suffix;
                } units[] = { { 30, 'G' }, { 20, 'M' }, { 10, 'K' } };
                size_t i = 0;

                while (i < ELEMENTSOF(units) &&
                       !(n >= (1ull << units[i].shift) && n % (1ull << units[i].shift) == 0))
                        i++;
                if (i < ELEMENTSOF(units)) {
                        p = put_dec(p, n >> units[i].shift);
                        *p++ = units[i].suffix;
                } else
                        p = put_dec(p, n);
                break;
        }
        default:
                *p++ = '?';
                break;
        }
        *p = '\0';
        return buf;
}

const char *text_int(json_object *o, const char *key, text_style style) {
        json_object *v = json_get_typed(o, key, json_type_int);

        if (!v)
                return "?";
        /* json-c holds negative numbers as int64, the rest as uint64 */
        return text_u64(style == TEXT_SIGNED ? (uint64_t) json_object_get_int64(v)
                                             : json_object_get_uint64(v),
                        style, text_slot());
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

const char *text_on_off(json_object *o, const char *key) {
        json_object *v = json_get(o, key);
        if (!v)
                return "unknown";
        if (!json_object_is_type(v, json_type_boolean))
                return "?";
        return json_object_get_boolean(v) ? "on" : "off";
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

void text_buf_append(text_buf *b, const char *s, size_t n) {
        if (!GREEDY_REALLOC_MIN(b->s, b->alloc, b->len + n + 1, 256))
                return; /* out of memory: the cell stays shorter */
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

void text_buf_puts(text_buf *b, const char *s) {
        text_buf_append(b, s, strlen(s));
}

void text_buf_free(text_buf *b) {
        b->s = mfree(b->s);
        b->len = b->alloc = 0;
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

column_set columns_or_default(const column_table *t, const char *spec, unsigned defaults,
                              const char *indent) {
        column_set s;

        if (columns_select(t, spec, defaults, &s, NULL, NULL) < 0)
                (void) columns_select(t, NULL, defaults, &s, NULL, NULL);
        s.indent = indent;
        return s;
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

static void pad(text_buf *out, size_t n) {
        static const char blanks[] = "                                ";

        while (n > 0) {
                size_t k = n < sizeof blanks - 1 ? n : sizeof blanks - 1;
                text_buf_append(out, blanks, k);
                n -= k;
        }
}

/* One line: every cell padded to its column's width but the last, which
 * is printed as it is, so no line ends in blanks.  row is the JSON object
 * or the range; neither for the header. */
static void format_line(const column_set *s, json_object *row, const walk_range *range, text_buf *out) {
        /* reused by every line: a listing prints many */
        static text_buf cell;

        text_buf_puts(out, s->indent);
        for (size_t i = 0; i < s->n; i++) {
                const column *c = s->columns[i];
                bool last = i + 1 == s->n;
                size_t width = last ? 0 : c->width;

                cell.len = 0;
                if (!row && !range)
                        text_buf_puts(&cell, c->header);
                else if (range ? !c->format_range : !c->format)
                        text_buf_puts(&cell, "?"); /* a column of another kind of listing */
                else if (range)
                        c->format_range(c, range, &cell);
                else
                        c->format(c, row, &cell);
                if (c->right && cell.len < width)
                        pad(out, width - cell.len);
                text_buf_append(out, cell.s ? cell.s : "", cell.len);
                if (!c->right && cell.len < width)
                        pad(out, width - cell.len);
                if (!last)
                        text_buf_puts(out, s->table->separator);
        }
        text_buf_append(out, "\n", 1);
}

static void print_line(const column_set *s, json_object *row) {
        static text_buf line;

        line.len = 0;
        format_line(s, row, NULL, &line);
        fwrite(line.s ? line.s : "", 1, line.len, stdout);
}

void table_header(const column_set *s) {
        print_line(s, NULL);
}

void table_row(const column_set *s, json_object *row) {
        print_line(s, row);
}

void table_header_append(const column_set *s, text_buf *out) {
        format_line(s, NULL, NULL, out);
}

void table_range_row_append(const column_set *s, const walk_range *r, text_buf *out) {
        format_line(s, NULL, r, out);
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
