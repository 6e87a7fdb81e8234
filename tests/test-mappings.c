/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mappings document written as a stream (model_mappings_write_json)
 * against json-c's own serialization of the same model (model_mappings +
 * json_object_to_json_string_ext), byte for byte: on every snapshot fixture
 * with every filter the fixtures' outputs use, in every layout json-c has
 * (plain, spaced, pretty, pretty with tabs, with and without slash
 * escapes), and on images of random garbage, whose anomalies exercise the
 * entries above devices and the targets held back behind them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "check-main.h"
#include "decode/regs.h"
#include "model/mappings.h"
#include "model/system.h"

static const int layouts[] = {
        JSON_C_TO_STRING_PLAIN,
        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
        JSON_C_TO_STRING_SPACED,
        JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
        JSON_C_TO_STRING_PRETTY,
        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
        JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB,
};

typedef struct text {
        char *data;
        size_t size, alloc;
        size_t writes, fail_after; /* fail_after 0: never */
} text;

static int append(void *userdata, const void *data, size_t size) {
        text *t = userdata;

        if (t->fail_after && ++t->writes > t->fail_after)
                return -EPIPE;
        if (t->size + size + 1 > t->alloc) {
                t->alloc = (t->size + size + 1) * 2;
                t->data = realloc(t->data, t->alloc);
                if (!t->data)
                        return -ENOMEM;
        }
        memcpy(t->data + t->size, data, size);
        t->size += size;
        t->data[t->size] = '\0';
        return 0;
}

/* Compare the two for one system, filter and layout; how the document
 * looked, for the callers' own checks. */
static void compare(iommu_system *s, const mappings_filter *f, int flags, const char *what,
                    json_object **ret_model) {
        json_object *model = NULL;
        iommu_error err = {};
        text t = {};
        const char *expect;
        size_t len;

        ck_assert_msg(model_mappings(s, f, &model, &err) == 0, "%s: %s", what, err.message);
        expect = json_object_to_json_string_length(model, flags, &len);
        ck_assert_msg(model_mappings_write_json(s, f, flags, append, &t, &err) == 0, "%s: %s", what,
                      err.message);
        if (t.size != len || memcmp(t.data, expect, len) != 0) {
                size_t i = 0;
                while (i < len && i < t.size && t.data[i] == expect[i])
                        i++;
                ck_abort_msg("%s, flags 0x%x: the stream differs from json-c at byte %zu of %zu/%zu:\n"
                             "json-c: ...%.80s\nstream: ...%.80s",
                             what, (unsigned) flags, i, len, t.size, expect + (i > 40 ? i - 40 : 0),
                             t.data ? t.data + (i > 40 ? i - 40 : 0) : "");
        }
        free(t.data);
        if (ret_model)
                *ret_model = model;
        else
                json_object_put(model);
}

START_TEST(fixtures) {
        static const char *const names[] = { "legacy-aw39", "legacy-aw48", "scalable-aw39",
                                             "scalable-aw48" };
        const char *data = getenv("TESTDATA");
        unsigned compared = 0, shared = 0;

        ck_assert_ptr_nonnull(data);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_(iommu_system_freep) iommu_system *s = NULL;
                _cleanup_free_ char *path = NULL;
                iommu_error err = {};
                mappings_filter filters[] = {
                        MAPPINGS_FILTER_ALL,
                        { .have_device = true, .bus = 0, .devfn = 0x18, .did = -1, .pasid = -1 },
                        { .did = 1, .pasid = -1 },
                        { .did = -1, .pasid = 0 },
                        { .did = 9, .pasid = -1 },
                };

                ck_assert_int_ge(asprintf(&path, "%s/snapshots/%s/snapshot.iommu", data, names[i]), 0);
                ck_assert_msg(iommu_system_open_snapshot(path, &s, &err) == 0, "%s", err.message);
                for (size_t k = 0; k < ELEMENTSOF(filters); k++)
                        for (size_t l = 0; l < ELEMENTSOF(layouts); l++) {
                                json_object *model = NULL;

                                compare(s, &filters[k], layouts[l], names[i], &model);
                                for (size_t e = 0; e < json_object_array_length(model); e++)
                                        shared += json_object_object_get_ex(
                                                json_object_array_get_idx(model, e), "same_tables_as", NULL);
                                json_object_put(model);
                                compared++;
                        }
        }
        ck_assert_uint_eq(compared, 4 * 5 * ELEMENTSOF(layouts));
        /* the fixtures have domains with several devices: shared tables were compared */
        ck_assert_uint_gt(shared, 0);
}
END_TEST

static uint64_t xorshift(uint64_t *x) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

/* One unit over an image, as the model sees a unit: registers read,
 * translation on, a root table. */
static void image_system(iommu_system *s, iommu_unit *u, iommu_ram *ram, uint64_t rtaddr, uint64_t cap,
                         uint64_t ecap) {
        *u = (iommu_unit){
                .name = "dmar0",
                .have_regs = true,
                .cap = cap,
                .ecap = ecap,
                .rtaddr = rtaddr,
                .gsts = (UINT64_C(1) << GSTS_TES_LO) | (UINT64_C(1) << GSTS_RTPS_LO),
        };
        *s = (iommu_system){ .ram = ram, .n_units = 1, .units = u };
}

START_TEST(random_images) {
        /* CAP: SAGAW 39/48/57, MGAW 57, SLLPS 2 MiB and 1 GiB, FS1GP, FS5LP;
         * ECAP: DT, PT, NEST, SMTS, SSTS, FSTS (as test-walk) */
        const uint64_t cap = (UINT64_C(0xe) << 8) | (UINT64_C(56) << 16) | (UINT64_C(3) << 34) |
                             (UINT64_C(1) << 56) | (UINT64_C(1) << 60);
        const uint64_t ecap = (UINT64_C(1) << 2) | (UINT64_C(1) << 6) | (UINT64_C(1) << 26) |
                              (UINT64_C(1) << 43) | (UINT64_C(1) << 46) | (UINT64_C(1) << 47);
        uint64_t x = 0x2545f4914f6cdd1d;
        unsigned held_back = 0, shared = 0, ranges = 0;

        for (unsigned round = 0; round < 16; round++) {
                _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;

                ck_assert_int_eq(iommu_ram_new_image(&ram), 0);
                /* 48 pages of entries, most pointing back into them */
                for (uint64_t pg = 0; pg < 48; pg++) {
                        uint64_t *p = iommu_ram_image_page(ram, pg * 0x1000);
                        ck_assert_ptr_nonnull(p);
                        for (unsigned i = 0; i < 512; i++) {
                                uint64_t v = xorshift(&x), kind = v % 10;
                                if (kind < 4)
                                        p[i] = 0;
                                else if (kind < 9)
                                        p[i] = (xorshift(&x) % 48) * 0x1000 | (v >> 52) |
                                               (kind == 8 ? xorshift(&x) & 0xfff0000000000000 : 0);
                                else
                                        p[i] = xorshift(&x);
                        }
                }
                for (unsigned m = 0; m < 2; m++) {
                        uint64_t rtaddr = (round % 48) * 0x1000 | (m ? UINT64_C(1) << 10 : 0);
                        iommu_system s;
                        iommu_unit u;
                        json_object *model = NULL;
                        bool after_unit_entry = false;

                        mappings_filter f = MAPPINGS_FILTER_ALL;

                        /* a bound as test-walk's: garbage trees reach every page many times */
                        f.max_entries = 1 << 15;
                        image_system(&s, &u, ram, rtaddr, cap, ecap);
                        for (size_t l = 0; l < ELEMENTSOF(layouts); l += 3)
                                compare(&s, &f, layouts[l], "random image", l == 0 ? &model : NULL);
                        for (size_t e = 0; e < json_object_array_length(model); e++) {
                                json_object *o = json_object_array_get_idx(model, e), *v;
                                if (json_object_object_get_ex(o, "bdf", &v) && !v)
                                        after_unit_entry = true;
                                else if (after_unit_entry) {
                                        held_back++;
                                        after_unit_entry = false;
                                }
                                shared += json_object_object_get_ex(o, "same_tables_as", NULL);
                                if (json_object_object_get_ex(o, "ranges", &v))
                                        ranges += (unsigned) json_object_array_length(v);
                        }
                        json_object_put(model);
                }
        }
        /* the garbage reached every path: targets after a unit's anomaly
         * entry (held back and replayed), shared tables, ranges */
        printf("# random images: %u targets after an anomaly entry, %u sharing tables, %u ranges\n",
               held_back, shared, ranges);
        ck_assert_uint_gt(held_back, 5);
        ck_assert_uint_gt(shared, 5);
        ck_assert_uint_gt(ranges, 1000);
}
END_TEST

/* A legacy unit whose device 00:00.0 has n scattered 4 KiB pages mapped
 * (every other page: each its own range), 3-level tables:
 * root 0x1000 -> context 0x2000 -> L3 0x3000 -> L2 0x4000 -> L1 from 0x10000. */
static void scattered_image(iommu_ram *ram, unsigned n) {
        uint64_t *root = iommu_ram_image_page(ram, 0x1000), *ctx = iommu_ram_image_page(ram, 0x2000);
        uint64_t *l3 = iommu_ram_image_page(ram, 0x3000), *l2 = iommu_ram_image_page(ram, 0x4000);

        ck_assert(root && ctx && l3 && l2);
        root[0] = 0x2000 | 1;            /* CTP | P */
        ctx[0] = 0x3000 | 1;             /* SSPTPTR | TT 0 | P */
        ctx[1] = (UINT64_C(1) << 8) | 1; /* DID 1 (87:72), AW 1: 39-bit (66:64) */
        l3[0] = 0x4000 | 3;              /* R W */
        for (unsigned i = 0; i < n; i++) {
                uint64_t t = 0x10000 + (uint64_t) (i / 256) * 0x1000;
                uint64_t *l1 = iommu_ram_image_page(ram, t);

                ck_assert_ptr_nonnull(l1);
                l2[i / 256] = t | 3;
                l1[(i % 256) * 2] = (0x40000000 + (uint64_t) i * 0x2000) | 3;
        }
}

START_TEST(write_error_stops) {
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        iommu_system s;
        iommu_unit u;
        iommu_error err = {};
        text t = { .fail_after = 2 };

        ck_assert_int_eq(iommu_ram_new_image(&ram), 0);
        scattered_image(ram, 20000);
        image_system(&s, &u, ram, 0x1000, (UINT64_C(0x6) << 8) | (UINT64_C(47) << 16), 0);
        /* all of it: 20000 ranges, compared with json-c */
        compare(&s, &MAPPINGS_FILTER_ALL, JSON_C_TO_STRING_PLAIN, "20000 ranges", NULL);
        /* two 64 KiB writes went out, the third failed: the stream stops with its error */
        ck_assert_int_eq(model_mappings_write_json(&s, &MAPPINGS_FILTER_ALL, JSON_C_TO_STRING_PLAIN, append,
                                                   &t, &err),
                         -EPIPE);
        ck_assert_uint_eq(t.size, 2 * (64u << 10));
        ck_assert_msg(strstr(err.message, "Broken pipe"), "%s", err.message);
        free(t.data);
}
END_TEST

START_TEST(errors_before_output) {
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        iommu_system s;
        iommu_unit u;
        iommu_error err = {};
        text t = {};

        ck_assert_int_eq(iommu_ram_new_image(&ram), 0);
        image_system(&s, &u, ram, 0, 0, 0);
        /* a unit whose registers cannot be read: an error, and nothing written */
        u.have_regs = false;
        iommu_error_set(&u.regs_error, EPERM, "no access");
        ck_assert_int_eq(model_mappings_write_json(&s, &MAPPINGS_FILTER_ALL, JSON_C_TO_STRING_PLAIN, append,
                                                   &t, &err),
                         -EPERM);
        ck_assert_uint_eq(t.size, 0);
        ck_assert_str_eq(err.message, "Cannot read dmar0's registers: no access");
        /* no RAM */
        s.ram = NULL;
        iommu_error_set(&s.ram_error, EACCES, "kcore refused");
        ck_assert_int_eq(model_mappings_write_json(&s, &MAPPINGS_FILTER_ALL, JSON_C_TO_STRING_PLAIN, append,
                                                   &t, &err),
                         -EACCES);
        ck_assert_uint_eq(t.size, 0);
}
END_TEST

START_TEST(range_fields_round_trip) {
        const walk_range r = { .iova = UINT64_MAX,
                               .phys = 0x1000,
                               .length = 1ull << 30,
                               .page_size = 1ull << 30,
                               .read = true,
                               .write = false,
                               .execute = true };
        json_object *o = range_to_json(&r);
        walk_range back;

        ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                         "{\"iova\":18446744073709551615,\"phys\":4096,\"length\":1073741824,\"read\":true,"
                         "\"write\":false,\"execute\":true,\"page_size\":1073741824}");
        ck_assert(range_from_json(o, &back));
        ck_assert_mem_eq(&back, &r, offsetof(walk_range, execute) + 1);
        /* a wrong type or a missing field is no range */
        json_object_object_add(o, "read", json_object_new_int(1));
        ck_assert(!range_from_json(o, &back));
        json_object_object_del(o, "read");
        ck_assert(!range_from_json(o, &back));
        json_object_put(o);
        o = json_tokener_parse("{\"iova\":-1,\"phys\":0,\"length\":1,\"read\":true,\"write\":true,"
                               "\"execute\":false,\"page_size\":4096}");
        ck_assert(!range_from_json(o, &back));
        json_object_put(o);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("mappings");
        TCase *tc = tcase_create("mappings");

        tcase_add_test(tc, fixtures);
        tcase_add_test(tc, random_images);
        tcase_add_test(tc, write_error_stops);
        tcase_add_test(tc, errors_before_output);
        tcase_add_test(tc, range_fields_round_trip);
        suite_add_tcase(s, tc);
        return s;
}
