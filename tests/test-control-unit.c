/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Owning a unit (control/unit.h) on the simulated unit (access/regs-sim.h):
 * what the unit latched, which invalidations each change issued and in
 * which order, that no step of the programming protocol was broken (the
 * simulation records every breach), and what the walker reads back from
 * the tables.  CAP/ECAP are QEMU 7.2's (legacy and scalable, aw-bits 48),
 * with caching mode on or off.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "access/regs-sim.h"
#include "access/tablemem.h"
#include "check-main.h"
#include "control/unit.h"
#include "decode/regs.h"
#include "walk/walk.h"

/* QEMU 7.2 intel-iommu,aw-bits=48: CAP with CM (bit 7), ECAP legacy and scalable */
#define QEMU_CAP UINT64_C(0x00d2008c222f0686)
#define QEMU_CAP_NO_CM (QEMU_CAP & ~(UINT64_C(1) << 7))
#define QEMU_ECAP UINT64_C(0xf42)
#define QEMU_ECAP_SM UINT64_C(0x480080000f42)

static iommu_ram *image, *view;
static table_mem *mem;
static iommu_regs *regs;

static void start(uint64_t cap, uint64_t ecap) {
        iommu_error err = {};

        ck_assert_int_eq(iommu_ram_new_image(&image), 0);
        ck_assert_int_eq(table_mem_open_image(image, 0x20000000, &mem, &err), 0);
        ck_assert_int_eq(table_mem_ram(mem, &view), 0);
        ck_assert_msg(
                iommu_regs_new_sim(
                        &(regs_sim_config){ .base = 0xfed90000, .ver = 0x10, .cap = cap, .ecap = ecap },
                        image, &regs, &err) == 0,
                "%s", err.message);
}

static void stop(void) {
        regs = iommu_regs_free(regs);
        view = iommu_ram_free(view);
        mem = table_mem_free(mem);
        image = iommu_ram_free(image);
}

static void no_violations(void) {
        size_t n;
        const regs_sim_violation *v = regs_sim_violations(regs, &n);

        ck_assert_msg(n == 0, "%zu protocol violation(s), the first: %s", n, n ? v[0].text : "");
}

/* The invalidations recorded since mark, as "kind/granularity/did" words,
 * for literal comparison. */
static void invalidations_since(size_t mark, char *buf, size_t size) {
        size_t n;
        const regs_sim_inv *v = regs_sim_invalidations(regs, &n);
        size_t k = 0;

        buf[0] = '\0';
        for (size_t i = mark; i < n; i++) {
                if (v[i].kind == INV_KIND_WAIT)
                        continue;
                k += (size_t) snprintf(buf + k, size - k, "%s%s/%u/%u", k ? " " : "",
                                       inv_kind_to_string(v[i].kind), v[i].performed, v[i].did);
                if (v[i].kind == INV_KIND_IOTLB && v[i].granularity == 3)
                        k += (size_t) snprintf(buf + k, size - k, "@%" PRIx64 "+%u", v[i].addr, v[i].am);
        }
}

static size_t n_invalidations(void) {
        size_t n;
        (void) regs_sim_invalidations(regs, &n);
        return n;
}

typedef struct seen {
        unsigned targets;
        uint16_t did[8];
        walk_translation translation[8];
        uint64_t bytes[8];
} seen;

static int on_target(void *u, const walk_target *t) {
        seen *s = u;
        if (s->targets < 8) {
                s->did[s->targets] = t->did;
                s->translation[s->targets] = t->translation;
        }
        s->targets++;
        return 0;
}

static int on_range(void *u, const walk_target *t, const walk_range *r) {
        seen *s = u;
        if (s->targets > 0 && s->targets <= 8)
                s->bytes[s->targets - 1] += r->length;
        return 0;
}

static seen walk_dev(owned_unit *u, uint8_t bus, uint8_t devfn) {
        static const walk_ops ops = { .target = on_target, .range = on_range };
        walk_filter f = WALK_FILTER_ALL;
        seen s = {};

        f.bus = bus;
        f.devfn = devfn;
        ck_assert_int_eq(walk_unit(view, owned_unit_rtaddr(u), owned_unit_hw(u)->cap, owned_unit_hw(u)->ecap,
                                   &f, &ops, &s),
                         0);
        return s;
}

static const uint16_t devices[] = { 0x0000, 0x0008, 0x0018, 0x00f8 }; /* 00:00.0 00:01.0 00:03.0 00:1f.0 */

static owned_unit *take(unit_mode mode, domain_type policy, bool registers) {
        owned_unit *u = NULL;
        iommu_error err = {};
        owned_unit_config c = { .mode = mode,
                                .default_policy = policy,
                                .devices = devices,
                                .n_devices = ELEMENTSOF(devices),
                                .register_invalidation = registers };

        ck_assert_msg(owned_unit_new("dmar0", regs, mem, &c, &u, &err) == 0, "%s", err.message);
        return u;
}

START_TEST(take_legacy_queued) {
        _cleanup_(owned_unit_freep) owned_unit *u = NULL;
        regs_sim_state st;
        char inv[512];
        seen s;

        start(QEMU_CAP, QEMU_ECAP);
        u = take(UNIT_MODE_LEGACY, DOMAIN_PASSTHROUGH, false);
        ck_assert_int_eq(regs_sim_get_state(regs, &st), 0);
        ck_assert_uint_eq(st.root, owned_unit_rtaddr(u));
        ck_assert_uint_eq(st.n_srtp, 1);
        ck_assert(st.qi_enabled);
        ck_assert_int_eq(owned_unit_invalidator(u), INVALIDATOR_QUEUED);
        invalidations_since(0, inv, sizeof inv);
        ck_assert_str_eq(inv, "context_cache/1/0 iotlb/1/0");
        /* the default policy: every known device passed through, in DID 1
         * (0 is reserved under caching mode) */
        s = walk_dev(u, 0, 0x18);
        ck_assert_uint_eq(s.targets, 1);
        ck_assert_uint_eq(s.did[0], 1);
        ck_assert_int_eq(s.translation[0], WALK_TRANSLATION_PASS_THROUGH);
        no_violations();
        u = owned_unit_free(u);
        stop();
}
END_TEST

START_TEST(in_use_is_refused) {
        owned_unit *u = NULL;
        iommu_error err = {};
        size_t before, after;
        owned_unit_config c = { .mode = UNIT_MODE_LEGACY, .default_policy = DOMAIN_BLOCKED };

        start(QEMU_CAP, QEMU_ECAP);
        /* what the kernel's driver would have done */
        ck_assert_int_eq(iommu_regs_write(regs, REG_RTADDR, 64, 0x5000, &err), 0);
        ck_assert_int_eq(iommu_regs_write(regs, REG_GCMD, 32, UINT32_C(1) << 30, &err), 0);
        ck_assert_int_eq(iommu_regs_write(regs, REG_GCMD, 32, UINT32_C(1) << 31, &err), 0);
        (void) regs_sim_writes(regs, &before);
        ck_assert_int_eq(owned_unit_new("dmar0", regs, mem, &c, &u, &err), -EBUSY);
        ck_assert_str_eq(err.message,
                         "dmar0 is in use (GSTS 0xc0000000: translation on): boot with intel_iommu=off "
                         "to let iommud manage it");
        /* nothing written */
        (void) regs_sim_writes(regs, &after);
        ck_assert_uint_eq(after, before);
        ck_assert_ptr_null(u);
        stop();
}
END_TEST

static void domain_life(unit_mode mode, uint64_t cap, uint64_t ecap, bool registers,
                        const char *expect_attach, const char *expect_map, const char *expect_unmap,
                        const char *expect_detach) {
        _cleanup_(owned_unit_freep) owned_unit *u = NULL;
        iommu_error err = {};
        char inv[1024];
        uint16_t did;
        size_t mark;
        uint32_t gsts;
        seen s;

        start(cap, ecap);
        u = take(mode, DOMAIN_PASSTHROUGH, registers);
        ck_assert_int_eq(owned_unit_power(u, true, &err), 0);
        ck_assert_int_eq(unit_hw_gsts(owned_unit_hw(u), &gsts, &err), 0);
        ck_assert_uint_eq(gsts & 0x80000000, 0x80000000);

        ck_assert_int_eq(owned_unit_domain_create(u, DOMAIN_PAGING, -1, &did, &err), 0);
        ck_assert_uint_eq(did, FIELD_GET(CAP, CM, &cap) ? 2 : 1);
        mark = n_invalidations();
        ck_assert_msg(owned_unit_attach(u, 0, 0x18, did, &err) == 0, "%s", err.message);
        invalidations_since(mark, inv, sizeof inv);
        ck_assert_str_eq(inv, expect_attach);

        mark = n_invalidations();
        ck_assert_int_eq(owned_unit_map(u, did, 0x100000, 0x40000000, 0x3000, PT_READ | PT_WRITE, &err), 0);
        invalidations_since(mark, inv, sizeof inv);
        ck_assert_str_eq(inv, expect_map);
        s = walk_dev(u, 0, 0x18);
        ck_assert_uint_eq(s.targets, 1);
        ck_assert_uint_eq(s.did[0], did);
        ck_assert_uint_eq(s.bytes[0], 0x3000);

        mark = n_invalidations();
        ck_assert_int_eq(owned_unit_unmap(u, did, 0x101000, 0x1000, &err), 0);
        invalidations_since(mark, inv, sizeof inv);
        ck_assert_str_eq(inv, expect_unmap);
        ck_assert_uint_eq(walk_dev(u, 0, 0x18).bytes[0], 0x2000);

        ck_assert_int_eq(owned_unit_domain_destroy(u, did, &err), -EBUSY);
        mark = n_invalidations();
        ck_assert_int_eq(owned_unit_detach(u, 0, 0x18, &err), 0);
        invalidations_since(mark, inv, sizeof inv);
        ck_assert_str_eq(inv, expect_detach);
        s = walk_dev(u, 0, 0x18);
        ck_assert_int_eq(s.translation[0], WALK_TRANSLATION_PASS_THROUGH);
        ck_assert_int_eq(owned_unit_detach(u, 0, 0x18, &err), -EALREADY);
        ck_assert_int_eq(owned_unit_domain_destroy(u, did, &err), 0);
        ck_assert_int_eq(owned_unit_power(u, false, &err), 0);
        no_violations();
        u = owned_unit_free(u);
        stop();
}

START_TEST(legacy_queued_caching_mode) {
        /* caching mode: the not-present entry may be cached, so installing
         * invalidates as removing does; a map invalidates its pages */
        domain_life(UNIT_MODE_LEGACY, QEMU_CAP, QEMU_ECAP, false,
                    "context_cache/3/1 iotlb/2/1 context_cache/3/0 iotlb/2/2",
                    "iotlb/3/2@100000+1 iotlb/3/2@102000+0", "iotlb/3/2@101000+0",
                    "context_cache/3/2 iotlb/2/2 context_cache/3/0 iotlb/2/1");
}
END_TEST

START_TEST(legacy_registers_no_caching_mode) {
        /* without caching mode nothing is owed for what became present */
        domain_life(UNIT_MODE_LEGACY, QEMU_CAP_NO_CM, QEMU_ECAP, true, "context_cache/3/0 iotlb/2/0", "",
                    "iotlb/3/1@101000+0", "context_cache/3/1 iotlb/2/1");
}
END_TEST

START_TEST(scalable_caching_mode) {
        domain_life(
                UNIT_MODE_SCALABLE, QEMU_CAP, QEMU_ECAP_SM, false,
                "context_cache/3/1 pasid_cache/1/1 iotlb/2/1 context_cache/3/0 pasid_cache/1/2 iotlb/2/2",
                "iotlb/3/2@100000+1 iotlb/3/2@102000+0", "iotlb/3/2@101000+0",
                "context_cache/3/2 pasid_cache/1/2 iotlb/2/2 context_cache/3/0 pasid_cache/1/1 iotlb/2/1");
}
END_TEST

START_TEST(refusals_change_nothing) {
        _cleanup_(owned_unit_freep) owned_unit *u = NULL;
        iommu_error err = {};
        size_t writes, after;
        uint16_t did;

        start(QEMU_CAP, QEMU_ECAP);
        u = take(UNIT_MODE_LEGACY, DOMAIN_BLOCKED, false);
        ck_assert_int_eq(owned_unit_domain_create(u, DOMAIN_PAGING, 5, &did, &err), 0);
        (void) regs_sim_writes(regs, &writes);

        ck_assert_int_eq(owned_unit_domain_create(u, DOMAIN_PAGING, 5, NULL, &err), -EEXIST);
        ck_assert_int_eq(owned_unit_domain_create(u, DOMAIN_PAGING, 0, NULL, &err),
                         -ERANGE); /* CM: 0 reserved */
        ck_assert_int_eq(owned_unit_domain_create(u, DOMAIN_PAGING, 65536, NULL, &err), -ERANGE);
        ck_assert_int_eq(owned_unit_attach(u, 0, 0x18, 9, &err), -ENOENT);
        ck_assert_int_eq(owned_unit_map(u, 9, 0, 0, 0x1000, PT_READ, &err), -ENOENT);
        ck_assert_int_eq(owned_unit_map(u, 5, 0x1000, 0, 0x1800, PT_READ, &err), -EINVAL);
        ck_assert_int_eq(owned_unit_map(u, 5, UINT64_C(1) << 48, 0, 0x1000, PT_READ, &err), -ERANGE);
        ck_assert_int_eq(owned_unit_unmap(u, 5, 0, 0x1000, &err), -ENOENT);
        ck_assert_int_eq(owned_unit_detach(u, 0, 0x18, &err), -EALREADY);
        ck_assert_int_eq(owned_unit_domain_destroy(u, 77, &err), -ENOENT);
        (void) regs_sim_writes(regs, &after);
        ck_assert_uint_eq(after, writes);

        ck_assert_int_eq(owned_unit_map(u, 5, 0, 0x40000000, 0x2000, PT_READ, &err), 0);
        ck_assert_int_eq(owned_unit_map(u, 5, 0x1000, 0x50000000, 0x1000, PT_READ, &err), -EEXIST);
        no_violations();
        u = owned_unit_free(u);
        stop();
}
END_TEST

START_TEST(faults_cleared) {
        _cleanup_(owned_unit_freep) owned_unit *u = NULL;
        iommu_error err = {};
        unsigned cleared;

        start(QEMU_CAP, QEMU_ECAP);
        u = take(UNIT_MODE_LEGACY, DOMAIN_BLOCKED, false);
        /* QEMU has one record (CAP.NFR 0): a second fault is dropped until F is cleared */
        ck_assert_int_eq(regs_sim_inject_fault(regs, &(regs_sim_fault){ .sid = 0x18,
                                                                        .addr = 0x2000000,
                                                                        .type = REGS_SIM_FAULT_WRITE,
                                                                        .reason = 5 }),
                         0);
        ck_assert_int_eq(regs_sim_inject_fault(regs, &(regs_sim_fault){ .sid = 0x18,
                                                                        .addr = 0x3000000,
                                                                        .type = REGS_SIM_FAULT_READ,
                                                                        .reason = 6 }),
                         -ENOSPC);
        ck_assert_int_eq(owned_unit_clear_faults(u, &cleared, &err), 0);
        ck_assert_uint_eq(cleared, 1);
        ck_assert_int_eq(regs_sim_inject_fault(regs, &(regs_sim_fault){ .sid = 0x18,
                                                                        .addr = 0x3000000,
                                                                        .type = REGS_SIM_FAULT_READ,
                                                                        .reason = 6 }),
                         0);
        ck_assert_int_eq(owned_unit_clear_faults(u, &cleared, &err), 0);
        ck_assert_uint_eq(cleared, 1);
        ck_assert_uint_eq(owned_unit_faults_cleared(u), 2);
        no_violations();
        u = owned_unit_free(u);
        stop();
}
END_TEST

START_TEST(stalled_queue_times_out) {
        _cleanup_(owned_unit_freep) owned_unit *u = NULL;
        iommu_error err = {};

        start(QEMU_CAP, QEMU_ECAP);
        u = take(UNIT_MODE_LEGACY, DOMAIN_BLOCKED, false);
        owned_unit_hw(u)->timeout_usec = 100 * 1000;
        regs_sim_stall_waits(regs, true);
        ck_assert_int_eq(owned_unit_invalidate(u, INVALIDATE_GLOBAL, 0, 0, 0, &err), -ETIMEDOUT);
        ck_assert_msg(strstr(err.message, "dmar0: the invalidation wait did not complete within 100 ms"),
                      "%s", err.message);
        regs_sim_stall_waits(regs, false);
        u = owned_unit_free(u);
        stop();
}
END_TEST

START_TEST(refused_take_leaves_the_unit_alone) {
        _cleanup_(owned_unit_freep) owned_unit *u = NULL;
        owned_unit_config c = { .mode = UNIT_MODE_LEGACY, .default_policy = DOMAIN_PAGING };
        iommu_error err = {};
        regs_sim_state st;
        size_t before, after;

        /* QEMU's ECAP without PT (bit 6): a pass-through default cannot be */
        start(QEMU_CAP, QEMU_ECAP & ~UINT64_C(0x40));
        (void) regs_sim_writes(regs, &before);
        ck_assert_int_eq(owned_unit_new("dmar0", regs, mem, &c, &u, &err), -EINVAL);
        c.default_policy = DOMAIN_PASSTHROUGH;
        ck_assert_int_eq(owned_unit_new("dmar0", regs, mem, &c, &u, &err), -EOPNOTSUPP);
        ck_assert_str_eq(err.message, "dmar0 cannot pass requests through (ECAP.PT is 0)");
        ck_assert_ptr_null(u);
        /* refused before the unit saw a write: no queue left on behind */
        (void) regs_sim_writes(regs, &after);
        ck_assert_uint_eq(after, before);
        ck_assert_int_eq(regs_sim_get_state(regs, &st), 0);
        ck_assert(!st.qi_enabled);
        ck_assert_uint_eq(table_mem_pages_used(mem), 0);
        u = take(UNIT_MODE_LEGACY, DOMAIN_BLOCKED, false);
        no_violations();
        u = owned_unit_free(u);
        stop();
}
END_TEST

START_TEST(failed_take_stops_the_queue) {
        _cleanup_(owned_unit_freep) owned_unit *u = NULL;
        owned_unit_config c = { .mode = UNIT_MODE_LEGACY, .default_policy = DOMAIN_BLOCKED };
        iommu_error err = {};
        regs_sim_state st;

        start(QEMU_CAP, QEMU_ECAP);
        /* the global invalidation after SRTP is refused (IQE): the take
         * fails after the queue was started, and must stop it again */
        regs_sim_fail_next(regs, REGS_SIM_ERROR_IQE, 0);
        ck_assert_int_eq(owned_unit_new("dmar0", regs, mem, &c, &u, &err), -EINVAL);
        ck_assert_msg(strstr(err.message, "refused descriptor"), "%s", err.message);
        ck_assert_ptr_null(u);
        ck_assert_int_eq(regs_sim_get_state(regs, &st), 0);
        ck_assert(!st.qi_enabled);
        ck_assert_uint_eq(table_mem_pages_used(mem), 0);
        /* and the unit can be taken again */
        u = take(UNIT_MODE_LEGACY, DOMAIN_BLOCKED, false);
        no_violations();
        u = owned_unit_free(u);
        stop();
}
END_TEST

START_TEST(failed_attach_changes_nothing) {
        _cleanup_(owned_unit_freep) owned_unit *u = NULL;
        iommu_error err = {};
        uint16_t did;
        seen s;

        start(QEMU_CAP, QEMU_ECAP);
        u = take(UNIT_MODE_LEGACY, DOMAIN_PASSTHROUGH, false);
        ck_assert_int_eq(owned_unit_power(u, true, &err), 0);
        ck_assert_int_eq(owned_unit_domain_create(u, DOMAIN_PAGING, -1, &did, &err), 0);
        /* the invalidation after the old entry was cleared is refused */
        regs_sim_fail_next(regs, REGS_SIM_ERROR_IQE, 0);
        ck_assert_int_eq(owned_unit_attach(u, 0, 0x18, did, &err), -EINVAL);
        /* 00:03.0 still follows the default policy, in the map and in the
         * tables: pass-through in DID 1 */
        ck_assert_int_eq(owned_unit_device_domain(u, 0, 0x18), -1);
        ck_assert_int_eq(owned_unit_detach(u, 0, 0x18, &err), -EALREADY);
        s = walk_dev(u, 0, 0x18);
        ck_assert_uint_eq(s.targets, 1);
        ck_assert_uint_eq(s.did[0], 1);
        ck_assert_int_eq(s.translation[0], WALK_TRANSLATION_PASS_THROUGH);
        ck_assert_int_eq(owned_unit_domain_destroy(u, did, &err), 0);
        /* and the next attach works */
        ck_assert_int_eq(owned_unit_domain_create(u, DOMAIN_PAGING, -1, &did, &err), 0);
        ck_assert_msg(owned_unit_attach(u, 0, 0x18, did, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(walk_dev(u, 0, 0x18).did[0], did);
        ck_assert_int_eq(owned_unit_detach(u, 0, 0x18, &err), 0);
        ck_assert_int_eq(owned_unit_power(u, false, &err), 0);
        u = owned_unit_free(u);
        stop();
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("control-unit");
        TCase *tc = tcase_create("control-unit");

        tcase_add_test(tc, take_legacy_queued);
        tcase_add_test(tc, in_use_is_refused);
        tcase_add_test(tc, legacy_queued_caching_mode);
        tcase_add_test(tc, legacy_registers_no_caching_mode);
        tcase_add_test(tc, scalable_caching_mode);
        tcase_add_test(tc, refusals_change_nothing);
        tcase_add_test(tc, faults_cleared);
        tcase_add_test(tc, stalled_queue_times_out);
        tcase_add_test(tc, refused_take_leaves_the_unit_alone);
        tcase_add_test(tc, failed_take_stops_the_queue);
        tcase_add_test(tc, failed_attach_changes_nothing);
        suite_add_tcase(s, tc);
        return s;
}
