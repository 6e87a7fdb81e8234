/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "iasl-text.h"

/* The banner lines iasl 20200925 writes, after " * ".  Only this version's
 * layout is known here: another one is an error to look at, not a guess. */
static const char *const banner_exact[] = {
        "",
        " ",
        " Intel ACPI Component Architecture",
        " AML/ASL+ Disassembler version 20200925 (64-bit version)",
        " Copyright (c) 2000 - 2020 Intel Corporation",
        " ACPI Data Table [DMAR]",
        " Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue",
};
/* The one line that varies: input file name and date (removed from the
 * corpus copies, present in fresh output). */
#define BANNER_DISASSEMBLY " Disassembly of "

static int fail(char *error, size_t size, unsigned line, const char *text, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static int fail(char *error, size_t size, unsigned line, const char *text, const char *fmt, ...) {
        char why[256];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        (void) snprintf(error, size, "line %u: %s: \"%.120s\"", line, why, text);
        return -EBADMSG;
}

static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static unsigned hex_digit(char c) {
        return c <= '9' ? (unsigned) (c - '0') : (unsigned) (c - 'A' + 10);
}

static bool is_dec(char c) {
        return c >= '0' && c <= '9';
}

/* Digits of one kind, at least one, at most max; iasl prints upper case. */
static const char *parse_number(const char *p, unsigned base, size_t max, uint64_t *ret) {
        uint64_t v = 0;
        size_t n = 0;

        for (; base == 16 ? is_hex(*p) : is_dec(*p); p++, n++) {
                if (n == max)
                        return NULL;
                v = v * base + (base == 16 ? hex_digit(*p) : (unsigned) (*p - '0'));
        }
        if (n == 0)
                return NULL;
        *ret = v;
        return p;
}

bool iasl_value_hex(const char *value, uint64_t *ret) {
        const char *p = parse_number(value, 16, 16, ret);
        return p && *p == '\0';
}

bool iasl_value_hex_named(const char *value, uint64_t *ret, char *name, size_t name_size) {
        const char *p = parse_number(value, 16, 16, ret), *close;
        size_t n;

        if (!p || strncmp(p, " [", 2) != 0)
                return false;
        p += 2;
        close = strchr(p, ']');
        if (!close || close[1] != '\0')
                return false;
        n = (size_t) (close - p);
        if (n == 0 || n >= name_size)
                return false;
        memcpy(name, p, n);
        name[n] = '\0';
        return true;
}

bool iasl_value_string(const char *value, char *ret, size_t size) {
        size_t n = strlen(value);

        /* iasl prints the bytes between quotes as they are, quotes included */
        if (n < 2 || value[0] != '"' || value[n - 1] != '"' || n - 2 >= size)
                return false;
        memcpy(ret, value + 1, n - 2);
        ret[n - 2] = '\0';
        return true;
}

bool iasl_value_path(const char *value, uint8_t *device, uint8_t *function) {
        if (strlen(value) != 5 || !is_hex(value[0]) || !is_hex(value[1]) || value[2] != ',' ||
            !is_hex(value[3]) || !is_hex(value[4]))
                return false;
        *device = (uint8_t) (hex_digit(value[0]) << 4 | hex_digit(value[1]));
        *function = (uint8_t) (hex_digit(value[3]) << 4 | hex_digit(value[4]));
        return true;
}

bool iasl_value_bytes(const char *value, const uint8_t *bytes, size_t n) {
        if (n <= 8) {
                uint64_t v, want = 0;
                if (strlen(value) != 2 * n || !iasl_value_hex(value, &v))
                        return false;
                for (size_t i = n; i > 0; i--)
                        want = want << 8 | bytes[i - 1];
                return v == want;
        }
        if (strlen(value) != 3 * n - 1)
                return false;
        for (size_t i = 0; i < n; i++) {
                const char *p = value + 3 * i;
                if (!is_hex(p[0]) || !is_hex(p[1]) || (i + 1 < n && p[2] != ' '))
                        return false;
                if ((hex_digit(p[0]) << 4 | hex_digit(p[1])) != bytes[i])
                        return false;
        }
        return true;
}

void iasl_repair_ascii(const char *s, size_t n, char *ret) {
        size_t i;
        for (i = 0; i < n && s[i]; i++)
                ret[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : ' ';
        ret[i] = '\0';
}

void iasl_text_done(iasl_text *t) {
        for (size_t i = 0; i < t->n_fields; i++) {
                free(t->fields[i].name);
                free(t->fields[i].value);
        }
        free(t->fields);
        free(t->raw);
        *t = (iasl_text){};
}

/* "[038h 0056   8]        Register Base Address : 00000000FED90000" */
static int parse_field(iasl_text *t, unsigned line, const char *s, char *error, size_t size) {
        uint64_t off_hex, off_dec, width;
        const char *p = s + 1, *sep, *name;
        iasl_field *f;

        if (t->stopped)
                return fail(error, size, line, s, "field after the unknown-subtable stop");
        if (!(p = parse_number(p, 16, 8, &off_hex)) || strncmp(p, "h ", 2) != 0)
                return fail(error, size, line, s, "expected a hex offset");
        if (!(p = parse_number(p + 2, 10, 10, &off_dec)))
                return fail(error, size, line, s, "expected a decimal offset");
        if (*p != ' ')
                return fail(error, size, line, s, "expected a space after the decimal offset");
        while (*p == ' ')
                p++;
        if (!(p = parse_number(p, 10, 5, &width)) || *p != ']' || p[1] != ' ')
                return fail(error, size, line, s, "expected a byte length and \"] \"");
        if (off_hex != off_dec)
                return fail(error, size, line, s, "hex offset 0x%llx and decimal offset %llu differ",
                            (unsigned long long) off_hex, (unsigned long long) off_dec);
        for (p++; *p == ' '; p++)
                ;
        name = p;
        sep = strstr(p, " : ");
        if (!sep || sep == name)
                return fail(error, size, line, s, "expected \"Name : Value\"");

        if (t->n_fields % 64 == 0) {
                iasl_field *q = reallocarray(t->fields, t->n_fields + 64, sizeof *q);
                if (!q)
                        return -ENOMEM;
                t->fields = q;
        }
        f = &t->fields[t->n_fields];
        *f = (iasl_field){
                .line = line,
                .offset = off_hex,
                .width = width,
                .name = strndup(name, (size_t) (sep - name)),
                .value = strdup(sep + 3),
        };
        t->n_fields++;
        if (!f->name || !f->value)
                return -ENOMEM;
        return 0;
}

/* "    0040: 01 08 00 00 00 00 02 00 00 00 50 00 01 00 00 00  // ..........P....." */
static int parse_dump_line(iasl_text *t, unsigned line, const char *s, bool *short_line, char *error,
                           size_t size) {
        uint64_t off;
        const char *p;
        size_t n = 0;

        if (*short_line)
                return fail(error, size, line, s, "hex dump continues after a short line");
        if (strncmp(s, "    ", 4) != 0 || !(p = parse_number(s + 4, 16, 8, &off)) || p - s < 8 ||
            strncmp(p, ": ", 2) != 0)
                return fail(error, size, line, s, "expected a hex dump line");
        if (off != t->n_raw)
                return fail(error, size, line, s, "hex dump offset 0x%llx, expected 0x%zx",
                            (unsigned long long) off, t->n_raw);
        p += 2;
        if (!t->raw && !(t->raw = malloc(t->raw_length + 16)))
                return -ENOMEM;
        for (size_t i = 0; i < 16; i++, p += 3) {
                if (is_hex(p[0]) && is_hex(p[1]) && p[2] == ' ' && n == i) {
                        if (t->n_raw >= t->raw_length)
                                return fail(error, size, line, s,
                                            "hex dump longer than its announced length");
                        t->raw[t->n_raw++] = (uint8_t) (hex_digit(p[0]) << 4 | hex_digit(p[1]));
                        n++;
                } else if (strncmp(p, "   ", 3) != 0)
                        return fail(error, size, line, s, "expected a hex byte or padding in column %zu", i);
        }
        if (n == 0 || strncmp(p, " // ", 4) != 0)
                return fail(error, size, line, s, "expected \" // \" after the hex bytes");
        p += 4;
        if (strlen(p) != n)
                return fail(error, size, line, s, "ASCII column has %zu characters for %zu bytes", strlen(p),
                            n);
        for (size_t i = 0; i < n; i++) {
                uint8_t b = t->raw[t->n_raw - n + i];
                char want = (b >= 0x20 && b < 0x7f) ? (char) b : '.';
                if (p[i] != want)
                        return fail(error, size, line, s, "ASCII column does not match byte %zu", i);
        }
        *short_line = n < 16;
        return 0;
}

int iasl_text_parse(const char *text, iasl_text *ret, char *error, size_t error_size) {
        enum { HEAD, COMMENT, BODY, DUMP } state = HEAD;
        iasl_text t = {};
        bool short_line = false, seen_dump_line = false;
        unsigned line = 0;
        int r = 0;

        for (const char *p = text; *p && r == 0;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                char *s = strndup(p, len);

                if (!s) {
                        r = -ENOMEM;
                        break;
                }
                line++;
                p += len + (nl ? 1 : 0);

                switch (state) {
                case HEAD:
                        if (!streq(s, "/*"))
                                r = fail(error, error_size, line, s, "expected the banner comment");
                        state = COMMENT;
                        break;
                case COMMENT: {
                        bool ok = false;
                        if (streq(s, " */")) {
                                state = BODY;
                                break;
                        }
                        if (strncmp(s, " *", 2) == 0) {
                                for (size_t i = 0; i < sizeof banner_exact / sizeof banner_exact[0]; i++)
                                        ok = ok || streq(s + 2, banner_exact[i]);
                                ok = ok ||
                                     strncmp(s + 2, BANNER_DISASSEMBLY, strlen(BANNER_DISASSEMBLY)) == 0;
                        }
                        if (!ok)
                                r = fail(error, error_size, line, s,
                                         "unexpected banner line (this reader knows iasl 20200925)");
                        break;
                }
                case BODY: {
                        uint64_t v = 0, v2 = 0;
                        const char *q;
                        if (s[0] == '\0')
                                break;
                        if (s[0] == '[') {
                                r = parse_field(&t, line, s, error, error_size);
                                break;
                        }
                        if (strncmp(s, "**** Unknown DMAR subtable type 0x", 34) == 0) {
                                if (t.stopped || !iasl_value_hex(s + 34, &v))
                                        r = fail(error, error_size, line, s, "unexpected stop line");
                                t.stopped = true;
                                t.stopped_type = (unsigned) v;
                                break;
                        }
                        if (strncmp(s, "Raw Table Data: Length ", 23) == 0) {
                                q = parse_number(s + 23, 10, 10, &v);
                                if (!q || strncmp(q, " (0x", 4) != 0 ||
                                    !(q = parse_number(q + 4, 16, 8, &v2)) || !streq(q, ")") || v != v2 ||
                                    v == 0)
                                        r = fail(error, error_size, line, s, "unexpected raw data header");
                                t.has_raw = true;
                                t.raw_length = v;
                                state = DUMP;
                                break;
                        }
                        r = fail(error, error_size, line, s, "unexpected line");
                        break;
                }
                case DUMP:
                        if (s[0] == '\0')
                                break;
                        r = parse_dump_line(&t, line, s, &short_line, error, error_size);
                        seen_dump_line = true;
                        break;
                }
                free(s);
        }

        if (r == 0 && state != DUMP)
                r = fail(error, error_size, line, "", "the text ends before the raw table data");
        if (r == 0 && (!seen_dump_line || t.n_raw != t.raw_length))
                r = fail(error, error_size, line, "", "hex dump has %zu bytes, announced %zu", t.n_raw,
                         t.raw_length);
        if (r < 0) {
                if (r == -ENOMEM)
                        (void) snprintf(error, error_size, "out of memory");
                iasl_text_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}
