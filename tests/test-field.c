/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The generic bit-layout machinery: extraction across qword boundaries,
 * derived numbers, meanings, reserved bits and value parsing. */
#include <string.h>

#include "check-main.h"
#include "decode/field.h"
#include "decode/layouts.h"
#include "decode/regs.h"

START_TEST(bits_across_qwords) {
        uint64_t v[2] = { 0xf000000000000000ull, 0x5ull };

        ck_assert_uint_eq(bits_get(v, 60, 8), 0x5f);
        ck_assert_uint_eq(bits_get(v, 0, 64), 0xf000000000000000ull);
        ck_assert_uint_eq(bits_get(v, 64, 64), 5);
        bits_set(v, 62, 4, 0x9);
        ck_assert_uint_eq(v[0] >> 62, 1);
        ck_assert_uint_eq(v[1] & 3, 2);
        bits_set(v, 0, 64, 0);
        ck_assert_uint_eq(v[0] >> 62, 0);
}
END_TEST

START_TEST(derived_numbers) {
        static const field_desc nd = { .name = "nd",
                                       .title = "t",
                                       .lo = 0,
                                       .width = 3,
                                       .kind = FIELD_NUMBER,
                                       .derived = "domains",
                                       .mul = 2,
                                       .add = 4,
                                       .pow2 = true };
        static const field_desc big = { .name = "x",
                                        .title = "t",
                                        .lo = 0,
                                        .width = 8,
                                        .kind = FIELD_NUMBER,
                                        .derived = "n",
                                        .pow2 = true };
        static const field_desc addr = {
                .name = "a", .title = "t", .lo = 76, .width = 52, .kind = FIELD_ADDRESS
        };
        uint64_t d;
        char buf[64];

        ck_assert(field_derived(&nd, 6, &d));
        ck_assert_uint_eq(d, 65536);
        ck_assert(field_derived(&nd, 0, &d));
        ck_assert_uint_eq(d, 16);
        /* 2^200 does not fit: no number, and the meaning says so */
        ck_assert(!field_derived(&big, 200, &d));
        ck_assert_str_eq(field_meaning(&big, 200, buf, sizeof buf), "??200");
        /* an address field in the second qword keeps its alignment */
        ck_assert(field_derived(&addr, 0x12345, &d));
        ck_assert_uint_eq(d, 0x12345000);
}
END_TEST

START_TEST(meanings) {
        static const value_name values[] = { [3] = { .name = "three" } };
        static const field_desc e = {
                .name = "e", .title = "t", .lo = 0, .width = 4, .kind = FIELD_ENUM, VALUES(values)
        };
        static const field_desc b = {
                .name = "b", .title = "t", .lo = 0, .width = 4, .kind = FIELD_BITMAP, VALUES(values)
        };
        static const field_desc f = { .name = "f", .title = "t", .lo = 0, .width = 1, .kind = FIELD_FLAG };
        char buf[64];

        ck_assert_str_eq(field_meaning(&e, 3, buf, sizeof buf), "three");
        ck_assert_str_eq(field_meaning(&e, 2, buf, sizeof buf), "??2");
        ck_assert_str_eq(field_meaning(&e, 15, buf, sizeof buf), "??15");
        ck_assert_str_eq(field_meaning(&b, 0x9, buf, sizeof buf), "??bit0, three");
        ck_assert_str_eq(field_meaning(&b, 0, buf, sizeof buf), "none");
        ck_assert_str_eq(field_meaning(&f, 1, buf, sizeof buf), "yes");
        ck_assert_str_eq(field_meaning(&f, 0, buf, sizeof buf), "no");
        /* a tiny buffer truncates, never overruns */
        ck_assert_uint_eq(strlen(field_meaning(&b, 0x9, buf, 5)), 4);
}
END_TEST

/* A value's meaning is what decode shows, its name where it has no
 * meaning; a reserved value may have a meaning and no name; numbers are
 * the derived numbers of enums and bitmaps. */
START_TEST(value_names) {
        static const value_name values[] = {
                [0] = { .meaning = "reserved" },
                [1] = { .name = "one", .number = 10 },
                [2] = { .name = "dom", .meaning = "domain-selective", .number = 20 },
                [3] = { .name = "three" },
        };
        static const field_desc e = { .name = "e",
                                      .title = "t",
                                      .lo = 0,
                                      .width = 3,
                                      .kind = FIELD_ENUM,
                                      .derived = "n",
                                      VALUES(values) };
        static const field_desc b = { .name = "b",
                                      .title = "t",
                                      .lo = 0,
                                      .width = 4,
                                      .kind = FIELD_BITMAP,
                                      .derived = "ns",
                                      VALUES(values) };
        char buf[64];
        uint64_t d = 99;

        ck_assert_ptr_eq(value_name_lookup(values, ELEMENTSOF(values), 2), &values[2]);
        ck_assert_ptr_eq(value_name_lookup(values, ELEMENTSOF(values), 0), &values[0]);
        ck_assert_ptr_null(value_name_lookup(values, ELEMENTSOF(values), 4));
        ck_assert_ptr_null(value_name_lookup(NULL, 0, 0));
        ck_assert_str_eq(value_name_meaning(&values[1]), "one");

        ck_assert_str_eq(field_meaning(&e, 0, buf, sizeof buf), "reserved");
        ck_assert_str_eq(field_meaning(&e, 1, buf, sizeof buf), "one");
        ck_assert_str_eq(field_meaning(&e, 2, buf, sizeof buf), "domain-selective");
        ck_assert_str_eq(field_meaning(&e, 7, buf, sizeof buf), "??7");
        ck_assert_str_eq(field_meaning(&b, 0x6, buf, sizeof buf), "one, domain-selective");

        /* an enum carries a derived number only for the values that have one */
        ck_assert(field_derived(&e, 2, &d));
        ck_assert_uint_eq(d, 20);
        ck_assert(!field_derived(&e, 0, &d));
        ck_assert(!field_derived(&e, 3, &d));
        ck_assert(!field_derived(&e, 7, &d));
        ck_assert_uint_eq(d, 20);

        /* a bitmap lists the numbers of its set bits that have one */
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0xf };
        layout l = { .name = "x", .title = "t", .width = 64, .fields = &b, .n_fields = 1 };
        _cleanup_json_ json_object *o = layout_to_json(&l, v);
        json_object *fields, *fb, *ns;
        ck_assert(json_object_object_get_ex(o, "fields", &fields));
        ck_assert(json_object_object_get_ex(fields, "b", &fb));
        ck_assert(json_object_object_get_ex(fb, "ns", &ns));
        ck_assert_uint_eq(json_object_array_length(ns), 2);
        ck_assert_uint_eq(json_object_get_uint64(json_object_array_get_idx(ns, 0)), 10);
        ck_assert_uint_eq(json_object_get_uint64(json_object_array_get_idx(ns, 1)), 20);
}
END_TEST

START_TEST(parse_values) {
        const layout *cap = layout_find("cap"), *ver = layout_find("VER");
        uint64_t v[LAYOUT_MAX_QWORDS];

        ck_assert_ptr_nonnull(cap);
        ck_assert_ptr_nonnull(ver);
        ck_assert_int_eq(layout_parse_value(cap, "0x00d2008c222f0686", v), 0);
        ck_assert_uint_eq(v[0], 0x00d2008c222f0686ull);
        ck_assert_int_eq(layout_parse_value(cap, "18446744073709551615", v), 0);
        ck_assert_uint_eq(v[0], UINT64_MAX);
        ck_assert_int_eq(layout_parse_value(cap, "18446744073709551616", v), -ERANGE);
        ck_assert_int_eq(layout_parse_value(cap, "0x1_0000_0000_0000_0000", v), -ERANGE);
        ck_assert_int_eq(layout_parse_value(cap, "0x0000000000000000000000ff", v), 0);
        ck_assert_uint_eq(v[0], 0xff);
        ck_assert_int_eq(layout_parse_value(ver, "0x100000000", v), -ERANGE);
        ck_assert_int_eq(layout_parse_value(ver, "0x10", v), 0);
        ck_assert_int_eq(layout_parse_value(cap, "", v), -EINVAL);
        ck_assert_int_eq(layout_parse_value(cap, "0x", v), -EINVAL);
        ck_assert_int_eq(layout_parse_value(cap, "0xg", v), -EINVAL);
        ck_assert_int_eq(layout_parse_value(cap, "12a", v), -EINVAL);
        ck_assert_int_eq(layout_parse_value(cap, "-1", v), -EINVAL);
        ck_assert_int_eq(layout_parse_value(cap, "zzz", v), -EINVAL);
}
END_TEST

START_TEST(reserved_bits) {
        const layout *ver = layout_find("ver");
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0x1234 }, r[LAYOUT_MAX_QWORDS];

        layout_reserved_bits(ver, v, r);
        ck_assert_uint_eq(r[0], 0x1200);
        ck_assert(layout_reserved_set(ver, v));
        v[0] = 0x10;
        ck_assert(!layout_reserved_set(ver, v));
}
END_TEST

START_TEST(kind_strings) {
        for (int k = 0; k < _FIELD_KIND_MAX; k++)
                ck_assert_int_eq(field_kind_from_string(field_kind_to_string((field_kind) k)), k);
        ck_assert_ptr_null(field_kind_to_string(_FIELD_KIND_MAX));
        ck_assert_int_eq(field_kind_from_string("nope"), _FIELD_KIND_INVALID);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("field");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, bits_across_qwords);
        tcase_add_test(tc, derived_numbers);
        tcase_add_test(tc, meanings);
        tcase_add_test(tc, value_names);
        tcase_add_test(tc, parse_values);
        tcase_add_test(tc, reserved_bits);
        tcase_add_test(tc, kind_strings);
        suite_add_tcase(s, tc);
        return s;
}
