/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Section META: the text of one JSON object, RFC 8259 to the letter.
 *
 * json-c's strict mode still takes single-quoted strings, NaN and
 * Infinity, raw control characters in strings, integers beyond 64 bits
 * (clamped) and a member name twice (the last wins), so the text is
 * scanned against the grammar here first, and json-c builds the tree
 * only from text that passed.
 */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "snapshot/format.h"

/* As deep as json-c's own tokener goes by default. */
#define META_DEPTH_MAX JSON_TOKENER_DEFAULT_DEPTH

typedef struct scan {
        const uint8_t *p;
        size_t len, pos;
        unsigned depth;
        size_t members; /* object members in the text, to find a name given twice */
        char why[128];  /* what is wrong at pos */
} scan;

_printf_(2, 3) static int fail(scan *s, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(s->why, sizeof s->why, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

static void skip_ws(scan *s) {
        while (s->pos < s->len && s->p[s->pos] && strchr(" \t\r\n", s->p[s->pos]))
                s->pos++;
}

static int unexpected(scan *s) {
        uint8_t c;

        if (s->pos >= s->len)
                return fail(s, "the text ends early");
        c = s->p[s->pos];
        if (c == '\'')
                return fail(s, "a string in single quotes (JSON strings take double quotes)");
        if (c >= 0x20 && c < 0x7f)
                return fail(s, "unexpected character '%c'", c);
        return fail(s, "unexpected byte 0x%02x", c);
}

static int hex4(scan *s, size_t at, unsigned *ret) {
        unsigned v = 0;

        if (s->len - at < 4)
                return fail(s, "a \\u escape that is not 4 hex digits");
        for (size_t i = at; i < at + 4; i++) {
                uint8_t c = s->p[i];
                unsigned d = c >= '0' && c <= '9'   ? (unsigned) (c - '0')
                             : c >= 'a' && c <= 'f' ? (unsigned) (c - 'a' + 10)
                             : c >= 'A' && c <= 'F' ? (unsigned) (c - 'A' + 10)
                                                    : 16;
                if (d == 16)
                        return fail(s, "a \\u escape that is not 4 hex digits");
                v = v << 4 | d;
        }
        *ret = v;
        return 0;
}

/* One UTF-8 sequence at pos: the shortest form, no surrogates, at most
 * U+10FFFF (RFC 3629). */
static int utf8(scan *s) {
        const uint8_t *p = s->p + s->pos;
        size_t left = s->len - s->pos, n;
        uint32_t cp;

        if (p[0] < 0x80)
                n = 1, cp = p[0];
        else if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2, cp = p[0] & 0x1f;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                n = 3, cp = p[0] & 0x0f;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                n = 4, cp = p[0] & 0x07;
        else
                return fail(s, "invalid UTF-8 (byte 0x%02x)", p[0]);
        if (left < n)
                return fail(s, "invalid UTF-8 (a sequence cut short)");
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return fail(s, "invalid UTF-8 (byte 0x%02x)", p[i]);
                cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
                return fail(s, "invalid UTF-8 (an overlong form)");
        if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return fail(s, "invalid UTF-8 (U+%04" PRIX32 " is not a character)", cp);
        s->pos += n;
        return 0;
}

static int scan_string(scan *s) {
        s->pos++; /* the opening quote */
        for (;;) {
                uint8_t c;
                unsigned u, low;

                if (s->pos >= s->len)
                        return fail(s, "the text ends early (inside a string)");
                c = s->p[s->pos];
                if (c == '"') {
                        s->pos++;
                        return 0;
                }
                if (c < 0x20)
                        return fail(s, "a control character (0x%02x) inside a string; JSON escapes it", c);
                if (c != '\\') {
                        if (utf8(s) < 0)
                                return -EBADMSG;
                        continue;
                }
                if (s->pos + 1 >= s->len)
                        return fail(s, "the text ends early (inside a string)");
                c = s->p[s->pos + 1];
                if (c && strchr("\"\\/bfnrt", c)) {
                        s->pos += 2;
                        continue;
                }
                if (c != 'u')
                        return fail(s, "an invalid escape \\%c", c >= 0x20 && c < 0x7f ? c : '?');
                if (hex4(s, s->pos + 2, &u) < 0)
                        return -EBADMSG;
                if (u == 0)
                        return fail(s, "\\u0000 inside a string (U+0000 is not allowed)");
                if (u >= 0xdc00 && u <= 0xdfff)
                        return fail(s, "\\u%04x, a low surrogate without a high one", u);
                s->pos += 6;
                if (u < 0xd800 || u > 0xdbff)
                        continue;
                if (s->len - s->pos < 6 || s->p[s->pos] != '\\' || s->p[s->pos + 1] != 'u' ||
                    hex4(s, s->pos + 2, &low) < 0 || low < 0xdc00 || low > 0xdfff)
                        return fail(s, "\\u%04x, a high surrogate without a low one", u);
                s->pos += 6;
        }
}

static bool digit(const scan *s, size_t at) {
        return at < s->len && s->p[at] >= '0' && s->p[at] <= '9';
}

/* Integers must fit json-c's int64 or uint64 exactly: json-c would clamp
 * them.  Numbers with a fraction or an exponent are doubles, checked for
 * being finite once parsed. */
static int scan_number(scan *s) {
        size_t start = s->pos, digits;
        bool negative = s->p[s->pos] == '-', integer = true;

        if (negative)
                s->pos++;
        if (s->pos < s->len && (s->p[s->pos] == 'I' || s->p[s->pos] == 'N'))
                return fail(s, "NaN and Infinity are not JSON numbers");
        if (!digit(s, s->pos))
                return unexpected(s);
        if (s->p[s->pos] == '0' && digit(s, s->pos + 1))
                return fail(s, "a number with a leading zero");
        while (digit(s, s->pos))
                s->pos++;
        digits = s->pos - start - negative;
        if (s->pos < s->len && s->p[s->pos] == '.') {
                integer = false;
                s->pos++;
                if (!digit(s, s->pos))
                        return fail(s, "a number without digits after its decimal point");
                while (digit(s, s->pos))
                        s->pos++;
        }
        if (s->pos < s->len && (s->p[s->pos] == 'e' || s->p[s->pos] == 'E')) {
                integer = false;
                s->pos++;
                if (s->pos < s->len && (s->p[s->pos] == '+' || s->p[s->pos] == '-'))
                        s->pos++;
                if (!digit(s, s->pos))
                        return fail(s, "a number without digits in its exponent");
                while (digit(s, s->pos))
                        s->pos++;
        }
        if (integer) {
                const char *max = negative ? "9223372036854775808" : "18446744073709551615";
                size_t n = strlen(max);
                if (digits > n || (digits == n && memcmp(s->p + start + negative, max, n) > 0)) {
                        s->pos = start;
                        return fail(s, "an integer beyond 64 bits");
                }
        }
        return 0;
}

static int scan_literal(scan *s, const char *word) {
        size_t n = strlen(word);

        if (s->len - s->pos < n || memcmp(s->p + s->pos, word, n) != 0)
                return unexpected(s);
        s->pos += n;
        return 0;
}

static int scan_value(scan *s);

/* An object or an array: members (or elements) separated by commas, no
 * comma before the closing bracket. */
static int scan_container(scan *s) {
        bool object = s->p[s->pos] == '{';
        char close = object ? '}' : ']';
        int r;

        s->pos++;
        skip_ws(s);
        if (s->pos < s->len && s->p[s->pos] == close) {
                s->pos++;
                return 0;
        }
        for (;;) {
                if (object) {
                        if (s->pos >= s->len || s->p[s->pos] != '"')
                                return unexpected(s);
                        r = scan_string(s);
                        if (r < 0)
                                return r;
                        skip_ws(s);
                        if (s->pos >= s->len || s->p[s->pos] != ':')
                                return unexpected(s);
                        s->pos++;
                        s->members++;
                }
                r = scan_value(s);
                if (r < 0)
                        return r;
                skip_ws(s);
                if (s->pos < s->len && s->p[s->pos] == close) {
                        s->pos++;
                        return 0;
                }
                if (s->pos >= s->len || s->p[s->pos] != ',')
                        return unexpected(s);
                s->pos++;
                skip_ws(s);
                if (s->pos < s->len && s->p[s->pos] == close)
                        return fail(s, "a comma before '%c'", close);
        }
}

static int scan_one(scan *s) {
        skip_ws(s);
        if (s->pos >= s->len)
                return unexpected(s);
        switch (s->p[s->pos]) {
        case '{':
        case '[':
                return scan_container(s);
        case '"':
                return scan_string(s);
        case 't':
                return scan_literal(s, "true");
        case 'f':
                return scan_literal(s, "false");
        case 'n':
                return scan_literal(s, "null");
        case 'N':
        case 'I':
                return fail(s, "NaN and Infinity are not JSON numbers");
        case '-':
        case '0' ... '9':
                return scan_number(s);
        default:
                return unexpected(s);
        }
}

/* Depth counts every value, as json-c's tokener does: the object itself is
 * level 1, a string inside it level 2. */
static int scan_value(scan *s) {
        int r;

        if (++s->depth > META_DEPTH_MAX)
                return fail(s, "nested deeper than %d levels", META_DEPTH_MAX);
        r = scan_one(s);
        s->depth--;
        return r;
}

/* What json-c built: its members counted (fewer than the text has when a
 * name came twice) and every double finite. */
static void tree_walk(json_object *o, size_t *members, bool *finite) {
        switch (json_object_get_type(o)) {
        case json_type_object: {
                /* braced: the macro begins with a declaration, which clang
                 * does not take right after a label */
                json_object_object_foreach(o, key, v) {
                        (void) key;
                        (*members)++;
                        tree_walk(v, members, finite);
                }
                break;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        tree_walk(json_object_array_get_idx(o, i), members, finite);
                break;
        case json_type_double:
                if (!isfinite(json_object_get_double(o)))
                        *finite = false;
                break;
        default:
                break;
        }
}

static const char *top_level_noun(uint8_t c) {
        switch (c) {
        case '[':
                return "an array";
        case '"':
                return "a string";
        case 't':
        case 'f':
                return "a boolean";
        case 'n':
                return "null";
        default:
                return "a number";
        }
}

int meta_parse(const uint8_t *p, size_t len, json_object **ret, iommu_error *why) {
        scan s = { .p = p, .len = len };
        json_tokener *tok;
        json_object *o;
        size_t members = 0;
        bool finite = true;

        if (len == 0)
                return iommu_error_set(why, EBADMSG, "section META is empty (expected a JSON object)");
        if (memchr(p, '\0', len))
                return iommu_error_set(why, EBADMSG, "section META holds a NUL byte (expected JSON text)");
        if (len > INT_MAX)
                return iommu_error_set(why, EBADMSG, "section META is too large (%zu bytes)", len);

        if (scan_value(&s) < 0)
                return iommu_error_set(why, EBADMSG, "section META is not valid JSON at byte %zu: %s", s.pos,
                                       s.why);
        skip_ws(&s);
        if (s.pos < len)
                return iommu_error_set(why, EBADMSG,
                                       "section META has data after its JSON value (at byte %zu)", s.pos);
        /* valid JSON: its first byte that is not whitespace says what it is */
        s.pos = 0;
        skip_ws(&s);
        if (p[s.pos] != '{')
                return iommu_error_set(why, EBADMSG, "section META is not a JSON object (it is %s)",
                                       top_level_noun(p[s.pos]));

        tok = json_tokener_new();
        if (!tok)
                return iommu_error_set(why, ENOMEM, "Out of memory");
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, (const char *) p, (int) len);
        if (!o || json_object_get_type(o) != json_type_object) {
                enum json_tokener_error e = json_tokener_get_error(tok);
                json_tokener_free(tok);
                (void) json_object_put(o);
                return iommu_error_set(why, EBADMSG, "section META is not valid JSON: %s",
                                       json_tokener_error_desc(e));
        }
        json_tokener_free(tok);

        tree_walk(o, &members, &finite);
        if (members != s.members) {
                (void) json_object_put(o);
                return iommu_error_set(why, EBADMSG, "section META has an object with a member name twice");
        }
        if (!finite) {
                (void) json_object_put(o);
                return iommu_error_set(why, EBADMSG, "section META holds a number too large for a double");
        }
        *ret = o;
        return 0;
}
