/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "basic/string-table.h"
#include "decode/field.h"

static const char *const field_kind_table[_FIELD_KIND_MAX] = {
        [FIELD_FLAG] = "flag",     [FIELD_NUMBER] = "number",   [FIELD_ENUM] = "enum",
        [FIELD_BITMAP] = "bitmap", [FIELD_ADDRESS] = "address",
};

DEFINE_STRING_TABLE_LOOKUP(field_kind, field_kind, field_kind_table, _FIELD_KIND_MAX, _FIELD_KIND_INVALID)

const value_name *value_name_lookup(const value_name *t, size_t n, uint64_t v) {
        if (!t || v >= n || (!t[v].name && !t[v].meaning))
                return NULL;
        return &t[v];
}

static const value_name *value_of(const field_desc *f, uint64_t raw) {
        return value_name_lookup(f->values, f->n_values, raw);
}

uint64_t field_raw(const field_desc *f, const uint64_t *v) {
        return bits_get(v, f->lo, f->width);
}

bool field_derived(const field_desc *f, uint64_t raw, uint64_t *ret) {
        switch (f->kind) {
        case FIELD_ADDRESS:
                if (f->lo % 64 + f->width > 64)
                        return false;
                *ret = raw << (f->lo % 64);
                return true;
        case FIELD_ENUM: {
                /* an enum's values may stand for numbers (context AW 2 is 48 bits) */
                const value_name *v = value_of(f, raw);
                if (!f->derived || !v || !v->number)
                        return false;
                *ret = v->number;
                return true;
        }
        case FIELD_NUMBER: {
                if (!f->derived)
                        return false;
                uint64_t mul = f->mul ? f->mul : 1;
                if (raw > (UINT64_MAX - 32768) / mul)
                        return false;
                int64_t x = (int64_t) (raw * mul) + f->add;
                if (x < 0)
                        return false;
                if (f->pow2) {
                        if (x >= 64)
                                return false;
                        *ret = UINT64_C(1) << x;
                } else
                        *ret = (uint64_t) x;
                return true;
        }
        default:
                return false;
        }
}

/* What decode shows for a value of the field, NULL when it has none. */
static const char *meaning_of(const field_desc *f, uint64_t raw) {
        const value_name *v = value_of(f, raw);
        return v ? value_name_meaning(v) : NULL;
}

static void append(char *buf, size_t size, size_t *n, const char *fmt, ...) _printf_(4, 5);
static void append(char *buf, size_t size, size_t *n, const char *fmt, ...) {
        va_list ap;
        if (*n >= size)
                return;
        va_start(ap, fmt);
        int r = vsnprintf(buf + *n, size - *n, fmt, ap);
        va_end(ap);
        if (r > 0)
                *n += (size_t) r;
}

const char *field_meaning(const field_desc *f, uint64_t raw, char *buf, size_t size) {
        const char *name;
        size_t n = 0;
        uint64_t d;

        if (size == 0)
                return buf;
        buf[0] = '\0';

        switch (f->kind) {
        case FIELD_FLAG:
                name = meaning_of(f, raw);
                append(buf, size, &n, "%s", name ? name : raw ? "yes" : "no");
                break;
        case FIELD_NUMBER:
                if (field_derived(f, raw, &d))
                        append(buf, size, &n, f->hex ? "0x%" PRIx64 : "%" PRIu64, d);
                else if (f->derived) /* overflowed: say so rather than lie */
                        append(buf, size, &n, "??%" PRIu64, raw);
                else
                        append(buf, size, &n, f->hex ? "0x%" PRIx64 : "%" PRIu64, raw);
                if (f->unit) {
                        /* "1 record", not "1 records" */
                        size_t ul = strlen(f->unit);
                        bool one = field_derived(f, raw, &d) ? d == 1 : raw == 1;
                        if (one && ul > 1 && f->unit[ul - 1] == 's')
                                append(buf, size, &n, " %.*s", (int) (ul - 1), f->unit);
                        else
                                append(buf, size, &n, " %s", f->unit);
                }
                break;
        case FIELD_ENUM:
                name = meaning_of(f, raw);
                if (name)
                        append(buf, size, &n, "%s", name);
                else
                        append(buf, size, &n, "??%" PRIu64, raw);
                break;
        case FIELD_BITMAP:
                for (unsigned b = 0; b < f->width; b++) {
                        if (!(raw & (UINT64_C(1) << b)))
                                continue;
                        name = meaning_of(f, b);
                        if (name)
                                append(buf, size, &n, "%s%s", n ? ", " : "", name);
                        else
                                append(buf, size, &n, "%s??bit%u", n ? ", " : "", b);
                }
                if (n == 0)
                        append(buf, size, &n, "none");
                break;
        case FIELD_ADDRESS:
                if (field_derived(f, raw, &d))
                        append(buf, size, &n, "0x%" PRIx64, d);
                else
                        append(buf, size, &n, "0x%" PRIx64 " << %u", raw, f->lo % 64);
                break;
        default:
                append(buf, size, &n, "??%" PRIu64, raw);
        }
        return buf;
}

void layout_reserved_bits(const layout *l, const uint64_t *v, uint64_t *ret) {
        unsigned nq = (l->width + 63) / 64;
        uint64_t mask[LAYOUT_MAX_QWORDS] = {};

        for (size_t i = 0; i < l->n_fields; i++) {
                const field_desc *f = &l->fields[i];
                bits_set(mask, f->lo, f->width, UINT64_MAX);
        }
        /* v holds only as many qwords as the layout is wide */
        for (unsigned q = 0; q < LAYOUT_MAX_QWORDS; q++) {
                uint64_t inside = UINT64_MAX;
                if (q >= nq) {
                        ret[q] = 0;
                        continue;
                }
                if (q == nq - 1 && l->width % 64)
                        inside = (UINT64_C(1) << (l->width % 64)) - 1;
                ret[q] = v[q] & inside & ~mask[q];
        }
}

bool layout_reserved_set(const layout *l, const uint64_t *v) {
        uint64_t r[LAYOUT_MAX_QWORDS];
        layout_reserved_bits(l, v, r);
        for (unsigned q = 0; q < LAYOUT_MAX_QWORDS; q++)
                if (r[q])
                        return true;
        return false;
}

/* Values up to 64 bits are JSON integers; wider ones a hex string. */
static json_object *wide_to_json(const layout *l, const uint64_t *v) {
        if (l->width <= 64)
                return json_object_new_uint64(v[0]);

        char buf[2 + LAYOUT_MAX_QWORDS * 16 + 1] = "0x";
        size_t n = 2;
        for (int q = (l->width + 63) / 64 - 1; q >= 0; q--)
                n += (size_t) snprintf(buf + n, sizeof buf - n, "%016" PRIx64, v[q]);
        return json_object_new_string(buf);
}

static void bits_label(const field_desc *f, char *buf, size_t size) {
        if (f->width == 1)
                snprintf(buf, size, "%u", f->lo);
        else
                snprintf(buf, size, "%u:%u", f->lo + f->width - 1, f->lo);
}

static json_object *field_to_json(const field_desc *f, const uint64_t *v) {
        _cleanup_json_ json_object *o = json_object_new_object();
        uint64_t raw = field_raw(f, v), d;
        char buf[512];

        if (!o)
                return NULL;
        json_object_object_add(o, "raw", json_object_new_uint64(raw));
        bits_label(f, buf, sizeof buf);
        json_object_object_add(o, "position", json_object_new_string(buf));
        json_object_object_add(o, "title", json_object_new_string(f->title));
        json_object_object_add(o, "meaning", json_object_new_string(field_meaning(f, raw, buf, sizeof buf)));
        if (f->kind == FIELD_ADDRESS && field_derived(f, raw, &d))
                json_object_object_add(o, "address", json_object_new_uint64(d));
        else if ((f->kind == FIELD_NUMBER || f->kind == FIELD_ENUM) && f->derived &&
                 field_derived(f, raw, &d))
                json_object_object_add(o, f->derived, json_object_new_uint64(d));
        else if (f->kind == FIELD_BITMAP && f->derived) {
                json_object *a = json_object_new_array();
                for (unsigned b = 0; b < f->width; b++) {
                        const value_name *bv = value_of(f, b);
                        if (raw & (UINT64_C(1) << b) && bv && bv->number)
                                json_object_array_add(a, json_object_new_uint64(bv->number));
                }
                json_object_object_add(o, f->derived, a);
        }
        if (f->deprecated)
                json_object_object_add(o, "deprecated", json_object_new_boolean(true));
        return TAKE_PTR(o);
}

json_object *layout_to_json(const layout *l, const uint64_t *v) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *fields;
        uint64_t rsv[LAYOUT_MAX_QWORDS];

        if (!o)
                return NULL;
        json_object_object_add(o, l->kind == LAYOUT_REGISTER ? "register" : "entry",
                               json_object_new_string(l->name));
        json_object_object_add(o, "title", json_object_new_string(l->title));
        json_object_object_add(o, "width", json_object_new_int(l->width));
        json_object_object_add(o, "value", wide_to_json(l, v));

        fields = json_object_new_object();
        json_object_object_add(o, "fields", fields);
        for (size_t i = 0; i < l->n_fields; i++)
                json_object_object_add(fields, l->fields[i].name, field_to_json(&l->fields[i], v));

        layout_reserved_bits(l, v, rsv);
        json_object_object_add(o, "reserved", wide_to_json(l, rsv));
        return TAKE_PTR(o);
}

static int hexval(int c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = tolower(c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int layout_parse_value(const layout *l, const char *s, uint64_t *ret) {
        uint64_t v[LAYOUT_MAX_QWORDS] = {};
        unsigned nq = (l->width + 63) / 64;

        if (!s || !*s)
                return -EINVAL;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                const char *p = s + 2;
                size_t len = strlen(p), digits = 0;
                if (len == 0)
                        return -EINVAL;
                for (size_t i = 0; i < len; i++) {
                        /* '_' and ':' group long entries the way people copy them */
                        if (p[i] == '_' || p[i] == ':')
                                continue;
                        if (hexval((unsigned char) p[i]) < 0)
                                return -EINVAL;
                }
                for (size_t i = len; i-- > 0;) {
                        int h;
                        if (p[i] == '_' || p[i] == ':')
                                continue;
                        h = hexval((unsigned char) p[i]);
                        if (h == 0) {
                                digits++;
                                continue;
                        }
                        if (digits >= (size_t) nq * 16)
                                return -ERANGE;
                        v[digits / 16] |= (uint64_t) h << (4 * (digits % 16));
                        digits++;
                }
                if (digits == 0)
                        return -EINVAL;
        } else {
                uint64_t x = 0;
                for (const char *p = s; *p; p++) {
                        if (*p < '0' || *p > '9')
                                return -EINVAL;
                        if (x > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                                return -ERANGE;
                        x = x * 10 + (uint64_t) (*p - '0');
                }
                v[0] = x;
        }

        if (l->width % 64 && (v[nq - 1] >> (l->width % 64)))
                return -ERANGE;
        memcpy(ret, v, sizeof v);
        return 0;
}
