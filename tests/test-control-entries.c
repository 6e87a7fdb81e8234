/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Root, context and PASID entries iommud writes (control/entries.h), read
 * back by the walker that observes the kernel's tables: each device's
 * domain, translation, address width and ranges as installed, in legacy
 * and scalable mode; a cleared entry gone; and after every single store
 * hardware could see, a walk without an anomaly and with each device
 * either absent or complete.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "access/tablemem.h"
#include "check-main.h"
#include "control/entries.h"
#include "control/pagetable.h"
#include "walk/walk.h"

/* CAP: SAGAW 39/48 (0x6), MGAW 47, SLLPS 2 MiB; ECAP: PT (6), SMTS (43), SSTS (46) */
#define CAP ((UINT64_C(47) << 16) | (UINT64_C(0x6) << 8) | (UINT64_C(1) << 34))
#define ECAP ((UINT64_C(1) << 6) | (UINT64_C(1) << 43) | (UINT64_C(1) << 46))

static iommu_ram *image, *view;
static table_mem *mem;

static void setup(void) {
        iommu_error err = {};

        ck_assert_int_eq(iommu_ram_new_image(&image), 0);
        ck_assert_int_eq(table_mem_open_image(image, 0x10000000, &mem, &err), 0);
        ck_assert_int_eq(table_mem_ram(mem, &view), 0);
}

static void teardown(void) {
        view = iommu_ram_free(view);
        mem = table_mem_free(mem);
        image = iommu_ram_free(image);
}

typedef struct target {
        uint8_t bus, devfn;
        uint16_t did;
        walk_translation translation;
        unsigned address_width;
        uint64_t bytes;
} target;

typedef struct seen {
        target t[16];
        size_t n;
        uint64_t anomalies;
        char first_anomaly[160];
        bool open;
} seen;

static int on_target(void *u, const walk_target *t) {
        seen *s = u;
        if (s->n < 16)
                s->t[s->n] = (target){ t->bus, t->devfn, t->did, t->translation, t->address_width, 0 };
        s->n++;
        return 0;
}

static int on_range(void *u, const walk_target *t, const walk_range *r) {
        seen *s = u;
        if (s->n > 0 && s->n <= 16)
                s->t[s->n - 1].bytes += r->length;
        return 0;
}

static int on_same(void *u, const walk_target *t, const walk_target *first) {
        seen *s = u;
        /* the shared tables' bytes: the first target's */
        for (size_t i = 0; i + 1 < s->n && i < 16; i++)
                if (s->t[i].bus == first->bus && s->t[i].devfn == first->devfn && s->n <= 16)
                        s->t[s->n - 1].bytes = s->t[i].bytes;
        return 0;
}

static int on_anomaly(void *u, const walk_target *t, const walk_anomaly *a) {
        seen *s = u;
        if (s->anomalies++ == 0)
                snprintf(s->first_anomaly, sizeof s->first_anomaly, "%s", a->message);
        return 0;
}

static seen walk(const unit_tables *t) {
        static const walk_ops ops = {
                .target = on_target, .range = on_range, .same_tables = on_same, .anomaly = on_anomaly
        };
        seen s = {};

        ck_assert_int_eq(walk_unit(view, unit_tables_rtaddr(t), CAP, ECAP, NULL, &ops, &s), 0);
        return s;
}

static void check_both_modes(unit_mode mode) {
        _cleanup_(unit_tables_freep) unit_tables *t = NULL;
        _cleanup_(page_table_freep) page_table *pt = NULL;
        iommu_error err = {};
        device_entry e;
        seen s;

        ck_assert_int_eq(unit_tables_new(mem, mode, true, &t, &err), 0);
        ck_assert_uint_eq(unit_tables_rtaddr(t), 0x10000000 | (mode == UNIT_MODE_SCALABLE ? 0x400 : 0));
        ck_assert_int_eq(page_table_new(mem,
                                        &(page_table_config){ .levels = 4, .cap = CAP, .coherent = true },
                                        &pt, &err),
                         0);
        ck_assert_int_eq(page_table_map(pt, 0x100000, 0x40000000, 0x3000, PT_READ | PT_WRITE, &err), 0);

        /* edu (00:03.0) in domain 5, a device at devfn 0x88 (upper half in
         * scalable mode) in domain 5 too, 01:00.0 passed through in 7 */
        e = (device_entry){
                .translation = ENTRY_PAGING, .did = 5, .root = page_table_root(pt), .levels = 4
        };
        ck_assert_int_eq(unit_tables_install(t, 0, 0x18, &e, &err), 0);
        ck_assert_int_eq(unit_tables_install(t, 0, 0x88, &e, &err), 0);
        ck_assert_int_eq(unit_tables_install(
                                 t, 1, 0,
                                 &(device_entry){ .translation = ENTRY_PASS_THROUGH, .did = 7, .levels = 4 },
                                 &err),
                         0);
        ck_assert_int_eq(unit_tables_install(t, 0, 0x18, &e, &err), -EBUSY);

        s = walk(t);
        ck_assert_msg(s.anomalies == 0, "%s", s.first_anomaly);
        ck_assert_uint_eq(s.n, 3);
        ck_assert(s.t[0].bus == 0 && s.t[0].devfn == 0x18 && s.t[0].did == 5 && s.t[0].address_width == 48);
        ck_assert_int_eq(s.t[0].translation, mode == UNIT_MODE_LEGACY ? WALK_TRANSLATION_MULTI_LEVEL
                                                                      : WALK_TRANSLATION_SECOND_STAGE);
        ck_assert_uint_eq(s.t[0].bytes, 0x3000);
        ck_assert(s.t[1].bus == 0 && s.t[1].devfn == 0x88 && s.t[1].did == 5 && s.t[1].bytes == 0x3000);
        ck_assert(s.t[2].bus == 1 && s.t[2].devfn == 0 && s.t[2].did == 7);
        ck_assert_int_eq(s.t[2].translation, WALK_TRANSLATION_PASS_THROUGH);

        /* what the entries say, read back */
        e = unit_tables_get(t, 0, 0x18);
        ck_assert(e.translation == ENTRY_PAGING && e.did == 5 && e.levels == 4 &&
                  e.root == page_table_root(pt));
        ck_assert_int_eq(unit_tables_get(t, 0, 0x20).translation, ENTRY_BLOCKED);

        /* cleared: gone from the walk, the old entry told; again: ENOENT */
        ck_assert_int_eq(unit_tables_clear(t, 0, 0x18, &e, &err), 0);
        ck_assert(e.translation == ENTRY_PAGING && e.did == 5);
        ck_assert_int_eq(unit_tables_clear(t, 0, 0x18, NULL, &err), -ENOENT);
        s = walk(t);
        ck_assert_uint_eq(s.n, 2);
        ck_assert_uint_eq(s.t[0].devfn, 0x88);
        /* and installed again, in another domain */
        e.did = 9;
        ck_assert_int_eq(unit_tables_install(t, 0, 0x18, &e, &err), 0);
        s = walk(t);
        ck_assert_uint_eq(s.n, 3);
        ck_assert(s.t[0].devfn == 0x18 && s.t[0].did == 9 && s.t[0].bytes == 0x3000);

        /* refused: a paging entry without tables, levels out of range */
        ck_assert_int_eq(unit_tables_install(
                                 t, 2, 0, &(device_entry){ .translation = ENTRY_PAGING, .levels = 4 }, &err),
                         -EINVAL);
        ck_assert_int_eq(
                unit_tables_install(t, 2, 0,
                                    &(device_entry){ .translation = ENTRY_PASS_THROUGH, .levels = 6 }, &err),
                -EINVAL);
}

START_TEST(legacy) {
        check_both_modes(UNIT_MODE_LEGACY);
}
END_TEST

START_TEST(scalable) {
        check_both_modes(UNIT_MODE_SCALABLE);
}
END_TEST

/* After every store: no anomaly, and each device either absent or whole
 * (its domain and translation as intended: no torn entry). */
typedef struct watch {
        const unit_tables *t;
        uint64_t stores;
        bool bad;
        char why[200];
} watch;

static void on_store(void *userdata) {
        watch *w = userdata;
        seen s = walk(w->t);

        w->stores++;
        if (!w->bad && s.anomalies) {
                w->bad = true;
                snprintf(w->why, sizeof w->why, "after store %" PRIu64 ": %s", w->stores, s.first_anomaly);
        }
        for (size_t i = 0; i < s.n && i < 16 && !w->bad; i++) {
                bool pt = s.t[i].translation == WALK_TRANSLATION_PASS_THROUGH;
                if (s.t[i].did != (pt ? 7 : 5) || (!pt && s.t[i].bytes != 0x1000)) {
                        w->bad = true;
                        snprintf(w->why, sizeof w->why,
                                 "after store %" PRIu64 ": %02x.%x did %u bytes %" PRIu64, w->stores,
                                 s.t[i].devfn >> 3, s.t[i].devfn & 7, s.t[i].did, s.t[i].bytes);
                }
        }
}

START_TEST(whole_after_every_store) {
        for (unit_mode mode = 0; mode < _UNIT_MODE_MAX; mode++) {
                _cleanup_(unit_tables_freep) unit_tables *t = NULL;
                _cleanup_(page_table_freep) page_table *pt = NULL;
                iommu_error err = {};
                watch w = {};

                ck_assert_int_eq(unit_tables_new(mem, mode, false, &t, &err), 0);
                ck_assert_int_eq(
                        page_table_new(mem,
                                       &(page_table_config){ .levels = 3, .cap = CAP, .coherent = false },
                                       &pt, &err),
                        0);
                ck_assert_int_eq(page_table_map(pt, 0, 0x40000000, 0x1000, PT_READ, &err), 0);
                w.t = t;
                unit_tables_set_store_hook(t, on_store, &w);
                for (unsigned devfn = 0; devfn < 256; devfn += 37) {
                        device_entry e = { .translation = ENTRY_PAGING,
                                           .did = 5,
                                           .root = page_table_root(pt),
                                           .levels = 3 };
                        if (devfn % 2)
                                e = (device_entry){ .translation = ENTRY_PASS_THROUGH,
                                                    .did = 7,
                                                    .levels = 3 };
                        ck_assert_int_eq(
                                unit_tables_install(t, (uint8_t) (devfn / 64), (uint8_t) devfn, &e, &err),
                                0);
                }
                for (unsigned devfn = 0; devfn < 256; devfn += 74)
                        ck_assert_int_eq(
                                unit_tables_clear(t, (uint8_t) (devfn / 64), (uint8_t) devfn, NULL, &err),
                                0);
                ck_assert_msg(!w.bad, "%s mode: %s", unit_mode_to_string(mode), w.why);
                ck_assert_uint_gt(w.stores, 20);
        }
        /* everything handed back */
        ck_assert_uint_eq(table_mem_pages_used(mem), 0);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("control-entries");
        TCase *tc = tcase_create("control-entries");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, legacy);
        tcase_add_test(tc, scalable);
        tcase_add_test(tc, whole_after_every_store);
        suite_add_tcase(s, tc);
        return s;
}
