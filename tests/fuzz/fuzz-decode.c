/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every register, translation-table entry and invalidation descriptor
 * layout on any bits: its fields, reserved bits, JSON and iommuctl's text
 * (what `iommuctl decode` prints), and the value parser.
 *
 * Input: a byte choosing the layout (modulo how many there are), the value
 * (up to 64 bytes, little-endian qwords), then text for the value parser.
 * The fields and reserved bits are checked against a bit-by-bit reading of
 * the same descriptors, the JSON value against the input, and the parser
 * against the value printed in hex here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"
#include "decode/invq.h"
#include "decode/layouts.h"
#include "decode/regs.h"
#include "fuzz.h"

static const layout *layout_of(uint8_t sel) {
        size_t n = layout_count() + n_inv_dsc_layouts, i = sel % n;

        return i < layout_count() ? layout_nth(i) : inv_dsc_layouts[i - layout_count()];
}

static bool bit(const uint64_t *v, unsigned b) {
        return (v[b / 64] >> (b % 64)) & 1;
}

static void check_fields(const layout *l, const uint64_t *v) {
        uint64_t covered[LAYOUT_MAX_QWORDS] = {}, rsv[LAYOUT_MAX_QWORDS];
        char meaning[512];

        fuzz_check(l->width > 0 && l->width <= 64 * LAYOUT_MAX_QWORDS, "%s: width %u", l->name, l->width);
        for (size_t i = 0; i < l->n_fields; i++) {
                const field_desc *f = &l->fields[i];
                uint64_t raw = 0, d;

                fuzz_check(f->width >= 1 && f->width <= 64 && f->lo + f->width <= l->width,
                           "%s.%s: bits %u..%u outside the %u-bit layout", l->name, f->name, f->lo,
                           f->lo + f->width - 1, l->width);
                for (unsigned b = 0; b < f->width; b++) {
                        raw |= (uint64_t) bit(v, f->lo + b) << b;
                        covered[(f->lo + b) / 64] |= UINT64_C(1) << ((f->lo + b) % 64);
                }
                fuzz_check(field_raw(f, v) == raw, "%s.%s: raw 0x%" PRIx64 ", the bits say 0x%" PRIx64,
                           l->name, f->name, field_raw(f, v), raw);
                (void) field_derived(f, raw, &d);
                fuzz_check(field_meaning(f, raw, meaning, sizeof meaning) == meaning &&
                                   strlen(meaning) < sizeof meaning,
                           "%s.%s: no meaning", l->name, f->name);
        }

        layout_reserved_bits(l, v, rsv);
        for (unsigned b = 0; b < 64 * LAYOUT_MAX_QWORDS; b++) {
                bool want = b < l->width && bit(v, b) && !bit(covered, b);
                fuzz_check(bit(rsv, b) == want, "%s: reserved bit %u is %d, expected %d", l->name, b,
                           bit(rsv, b), want);
        }
        fuzz_check(layout_reserved_set(l, v) ==
                           (memcmp(rsv, (uint64_t[LAYOUT_MAX_QWORDS]){}, sizeof rsv) != 0),
                   "%s: layout_reserved_set disagrees with layout_reserved_bits", l->name);
}

static void check_json(const layout *l, const uint64_t *v, json_object *o) {
        json_object *value = json_get(o, "value");
        unsigned nq = (l->width + 63) / 64;
        char hex[2 + 16 * LAYOUT_MAX_QWORDS + 1] = "0x";
        uint64_t back[LAYOUT_MAX_QWORDS];
        size_t n = 2;

        for (int q = (int) nq - 1; q >= 0; q--)
                n += (size_t) snprintf(hex + n, sizeof hex - n, "%016" PRIx64, v[q]);

        if (l->width <= 64)
                fuzz_check(json_object_is_type(value, json_type_int) &&
                                   json_object_get_uint64(value) == v[0],
                           "%s: JSON value is not 0x%" PRIx64, l->name, v[0]);
        else
                fuzz_check(json_object_is_type(value, json_type_string) &&
                                   strcmp(json_object_get_string(value), hex) == 0,
                           "%s: JSON value is not %s", l->name, hex);
        fuzz_check(json_object_object_length(json_get_object(o, "fields")) == (int) l->n_fields,
                   "%s: JSON has another number of fields", l->name);

        /* what decode takes is what it printed */
        fuzz_check(layout_parse_value(l, hex, back) == 0, "%s: %s does not parse", l->name, hex);
        fuzz_check(memcmp(back, v, nq * sizeof(uint64_t)) == 0, "%s: %s parses to another value", l->name,
                   hex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_input in = { data, size };
        uint64_t v[LAYOUT_MAX_QWORDS] = {}, parsed[LAYOUT_MAX_QWORDS];
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ char *text = NULL;
        const layout *l;
        unsigned nq;
        int r;

        fuzz_quiet_stdout();
        l = layout_of(fuzz_u8(&in));
        nq = (l->width + 63) / 64;
        for (unsigned q = 0; q < LAYOUT_MAX_QWORDS; q++) {
                uint64_t x = fuzz_u64(&in);
                if (q < nq)
                        v[q] = x;
        }
        if (l->width % 64)
                v[nq - 1] &= (UINT64_C(1) << (l->width % 64)) - 1;

        check_fields(l, v);
        o = layout_to_json(l, v);
        fuzz_check(o, "%s: layout_to_json failed", l->name);
        check_json(l, v, o);
        fuzz_check_json(o);
        render_layout(o);

        if (l->kind == LAYOUT_REGISTER) {
                (void) layout_offset(l, v[0], v[0]);
                (void) layout_implemented(l, v[0], ~v[0]);
        }
        if (l == &layout_frcd)
                (void) fault_reason_to_string((unsigned) FIELD_GET(FRCD, FR, v));
        if (l->width >= 128) {
                unsigned g = 0;
                inv_kind k = inv_dsc_classify(v, &g);

                fuzz_check(k >= 0 && k < _INV_KIND_MAX && g < INV_GRANULARITY_MAX, "inv_dsc_classify: %d/%u",
                           k, g);
                (void) inv_granularity_to_string(k, g);
                (void) inv_kind_layout(k);
        }

        /* the rest as `iommuctl decode NAME TEXT` would take it */
        text = strndup((const char *) in.p, in.n);
        fuzz_check(text, "out of memory");
        r = layout_parse_value(l, text, parsed);
        if (r == 0) {
                if (l->width % 64)
                        fuzz_check(parsed[nq - 1] >> (l->width % 64) == 0, "%s: '%s' parsed beyond %u bits",
                                   l->name, text, l->width);
                json_object_put(layout_to_json(l, parsed));
        } else
                fuzz_check(r == -EINVAL || r == -ERANGE, "%s: layout_parse_value: %d", l->name, r);
        return 0;
}
