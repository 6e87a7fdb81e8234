/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The simulated remapping unit (access/regs-sim.h) against the VT-d
 * specification: every expected register value below is written out by
 * hand from the bit positions of chapter 11 and the descriptor formats of
 * 6.5.2, not computed with the library's field macros.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "access/regs-sim.h"
#include "check-main.h"
#include "decode/regs.h"

/* ND 2, SAGAW 48-bit, MGAW 47, FRO 0x22 (records at 0x220), PSI, NFR 3
 * (four records), MAMV 4, RWBF. */
#define CAP_LEGACY UINT64_C(0x00040380222f0412)
#define CAP_PSI (UINT64_C(1) << 39)
#define CAP_RWBF (UINT64_C(1) << 4)
#define CAP_PLMR (UINT64_C(1) << 5)
#define CAP_ESRTPS (UINT64_C(1) << 63)
#define CAP_ESIRTPS (UINT64_C(1) << 62)
/* QI, DT, IR, IRO 0x20 (IVA at 0x200, IOTLB at 0x208). */
#define ECAP_LEGACY UINT64_C(0x200e)
/* ... and PASID, SMTS. */
#define ECAP_SCALABLE UINT64_C(0x9000000200e)

#define QUEUE 0x100000u
#define STATUS 0x200000u

static iommu_ram *ram;

static void ram_setup(void) {
        ck_assert_int_eq(iommu_ram_new_image(&ram), 0);
}

static void ram_teardown(void) {
        ram = iommu_ram_free(ram);
}

static iommu_regs *unit(uint64_t cap, uint64_t ecap) {
        regs_sim_config cfg = { .base = 0xfed90000, .ver = 0x40, .cap = cap, .ecap = ecap };
        iommu_regs *r = NULL;
        iommu_error err = {};

        ck_assert_msg(iommu_regs_new_sim(&cfg, ram, &r, &err) == 0, "%s", err.message);
        return r;
}

static uint64_t rd(iommu_regs *r, uint32_t off, unsigned width) {
        uint64_t v = 0;
        iommu_error err = {};

        ck_assert_msg(iommu_regs_read(r, off, width, &v, &err) == 0, "read 0x%x: %s", off, err.message);
        return v;
}

static void wr(iommu_regs *r, uint32_t off, unsigned width, uint64_t v) {
        iommu_error err = {};

        ck_assert_msg(r->ops->write(r, off, width, v, &err) == 0, "write 0x%x: %s", off, err.message);
}

static size_t n_violations(iommu_regs *r) {
        size_t n;
        (void) regs_sim_violations(r, &n);
        return n;
}

static const regs_sim_violation *last_violation(iommu_regs *r) {
        size_t n;
        const regs_sim_violation *v = regs_sim_violations(r, &n);

        ck_assert_uint_gt(n, 0);
        return &v[n - 1];
}

static const regs_sim_inv *invs(iommu_regs *r, size_t *n) {
        return regs_sim_invalidations(r, n);
}

static uint64_t *page(uint64_t paddr) {
        uint64_t *p = iommu_ram_image_page(ram, paddr);
        ck_assert_ptr_nonnull(p);
        return p;
}

static uint32_t status_word(uint64_t paddr) {
        uint32_t v = 0;
        ck_assert_int_eq(iommu_ram_read(ram, paddr, &v, sizeof v, NULL), 0);
        return v;
}

/* IQA at QUEUE (one page, 128-bit or 256-bit), IQT 0, then QIE. */
static void enable_qi(iommu_regs *r, bool wide) {
        wr(r, 0x90, 64, QUEUE | (wide ? 0x800 : 0));
        wr(r, 0x88, 64, 0);
        wr(r, 0x18, 32, 0x04000000);
        ck_assert_uint_eq(rd(r, 0x1c, 32) & 0x04000000, 0x04000000);
}

START_TEST(reset_values) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        uint64_t v[LAYOUT_MAX_QWORDS];
        regs_sim_state st;

        ck_assert_str_eq(r->ops->name, "sim");
        ck_assert_uint_eq(r->base, 0xfed90000);
        ck_assert_uint_eq(r->size, 4096);
        ck_assert_uint_eq(rd(r, 0x0, 32), 0x40);
        ck_assert_uint_eq(rd(r, 0x8, 64), CAP_LEGACY);
        ck_assert_uint_eq(rd(r, 0x10, 64), ECAP_LEGACY);
        ck_assert_uint_eq(rd(r, 0x18, 32), 0); /* GCMD is write-only */
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0);
        ck_assert_uint_eq(rd(r, 0x38, 32), 0x80000000); /* FECTL.IM */
        ck_assert_uint_eq(rd(r, 0xa0, 32), 0x80000000); /* IECTL.IM */
        ck_assert_uint_eq(rd(r, 0x80, 64), 0);
        /* the access layer's layout reader finds the same */
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_cap, CAP_LEGACY, ECAP_LEGACY, 0, v, NULL), 0);
        ck_assert_uint_eq(v[0], CAP_LEGACY);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_frcd, CAP_LEGACY, ECAP_LEGACY, 3, v, NULL), 0);
        ck_assert_uint_eq(v[0] | v[1], 0);

        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.root, 0);
        ck_assert_uint_eq(st.n_srtp, 0);
        ck_assert(!st.qi_enabled);
        ck_assert(!st.dead);
        ck_assert_uint_eq(n_violations(r), 0);
        ck_assert_uint_eq(regs_sim_reads(r), 12);
}
END_TEST

START_TEST(constructor_refuses) {
        _cleanup_(iommu_ram_freep) iommu_ram *rec = NULL;
        regs_sim_config cfg = { .cap = CAP_LEGACY, .ecap = ECAP_LEGACY };
        iommu_regs *r = NULL;
        iommu_error err = {};

        /* not an image: nowhere to write a wait's status */
        ck_assert_int_eq(iommu_ram_new_recorder(ram, &rec), 0);
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, rec, &r, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "recorder"));
        /* fault records beyond the window: FRO 0x100 is offset 0x1000 */
        cfg.cap = (CAP_LEGACY & ~UINT64_C(0x3ff000000)) | UINT64_C(0x100) << 24;
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "frcd"));
        /* ... unless the window is larger */
        cfg.size = 0x2000;
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), 0);
        ck_assert_uint_eq(rd(r, 0x1000, 64), 0);
        r = iommu_regs_free(r);
        /* IRO 0x1: IVA at 0x10 lands on ECAP */
        cfg = (regs_sim_config){ .cap = CAP_LEGACY, .ecap = (ECAP_LEGACY & ~UINT64_C(0x3ff00)) | 0x100 };
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "overlaps"));
        cfg = (regs_sim_config){ .size = 4095, .cap = CAP_LEGACY, .ecap = ECAP_LEGACY };
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);
        ck_assert_ptr_null(r);
}
END_TEST

START_TEST(access_widths) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        const regs_sim_write *w;
        uint64_t v;
        size_t n;

        /* 32-bit registers only 32 bits wide, like QEMU, which stops */
        ck_assert_int_eq(r->ops->read(r, 0x18, 64, &v, NULL), -EINVAL);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_BAD_ACCESS);
        ck_assert_ptr_nonnull(strstr(last_violation(r)->text, "gcmd"));
        ck_assert_int_eq(r->ops->write(r, 0x38, 64, 0, NULL), -EINVAL);
        ck_assert_int_eq(r->ops->write(r, 0x40, 64, 0, NULL), -EINVAL); /* FEADDR + FEUADDR */
        ck_assert_int_eq(r->ops->read(r, 0x30, 64, &v, NULL), -EINVAL); /* half of it is FSTS */
        ck_assert_int_eq(r->ops->read(r, 0x1c, 64, &v, NULL), -EINVAL); /* misaligned */
        ck_assert_int_eq(r->ops->read(r, 0x22, 32, &v, NULL), -EINVAL);
        ck_assert_int_eq(r->ops->read(r, 0x20, 16, &v, NULL), -EINVAL);
        ck_assert_int_eq(r->ops->read(r, 0x1000, 32, &v, NULL), -EINVAL);
        ck_assert_int_eq(r->ops->write(r, 0xffc, 64, 0, NULL), -EINVAL);
        ck_assert_uint_eq(n_violations(r), 9);
        ck_assert_uint_eq(rd(r, 0x38, 32), 0x80000000); /* untouched */

        /* 64-bit registers as two dwords, low first (spec 10.2); RTADDR
         * bits 9:0 are reserved */
        wr(r, 0x20, 32, 0x123453ff);
        wr(r, 0x24, 32, 0x1);
        ck_assert_uint_eq(rd(r, 0x20, 64), 0x112345000);
        ck_assert_uint_eq(rd(r, 0x24, 32), 0x1);
        /* the 128-bit fault records as dwords and qwords */
        ck_assert_uint_eq(rd(r, 0x22c, 32), 0);
        ck_assert_uint_eq(rd(r, 0x228, 64), 0);

        w = regs_sim_writes(r, &n);
        ck_assert_uint_eq(n, 5);
        ck_assert_uint_eq(w[0].offset, 0x38);
        ck_assert_uint_eq(w[0].width, 64);
        ck_assert(w[0].refused);
        ck_assert(w[2].refused);
        ck_assert_uint_eq(w[3].offset, 0x20);
        ck_assert_uint_eq(w[3].width, 32);
        ck_assert_uint_eq(w[3].value, 0x123453ff);
        ck_assert(!w[3].refused);
        ck_assert_uint_eq(w[4].offset, 0x24);
        ck_assert_uint_eq(w[4].value, 1);
}
END_TEST

START_TEST(gcmd_te_without_root) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);

        wr(r, 0x18, 32, 0x80000000);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0x80000000);
        ck_assert_uint_eq(rd(r, 0x18, 32), 0);
        ck_assert_uint_eq(n_violations(r), 1);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_TE_WITHOUT_ROOT);
        wr(r, 0x18, 32, 0);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0);
}
END_TEST

START_TEST(gcmd_srtp_latches_root) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        regs_sim_state st;
        size_t n;

        wr(r, 0x20, 64, 0xabcdef000);
        wr(r, 0x18, 32, 0x40000000);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0x40000000);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.root, 0xabcdef000);
        ck_assert_uint_eq(st.n_srtp, 1);
        /* a new RTADDR is not in use before the next SRTP */
        wr(r, 0x20, 64, 0x5000);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.root, 0xabcdef000);
        /* the protocol of spec 11.4.4: GSTS & 0x96ffffff, then one bit */
        wr(r, 0x18, 32, (rd(r, 0x1c, 32) & 0x96ffffff) | 0x80000000);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0xc0000000);
        wr(r, 0x18, 32, (rd(r, 0x1c, 32) & 0x96ffffff) | 0x40000000);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0xc0000000);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.root, 0x5000);
        ck_assert_uint_eq(st.n_srtp, 2);
        ck_assert_uint_eq(n_violations(r), 0);
        /* without ESRTPS software invalidates itself */
        (void) invs(r, &n);
        ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(gcmd_esrtps_invalidates) {
        _cleanup_(iommu_regs_freep) iommu_regs *r =
                unit(CAP_LEGACY | CAP_ESRTPS | CAP_ESIRTPS, ECAP_SCALABLE);
        const regs_sim_inv *i;
        size_t n;

        wr(r, 0x20, 64, 0x5400); /* scalable mode */
        wr(r, 0x18, 32, 0x40000000);
        i = invs(r, &n);
        ck_assert_uint_eq(n, 3);
        ck_assert_int_eq(i[0].kind, INV_KIND_CONTEXT_CACHE);
        ck_assert_int_eq(i[1].kind, INV_KIND_PASID_CACHE);
        ck_assert_uint_eq(i[1].granularity, 3);
        ck_assert_int_eq(i[2].kind, INV_KIND_IOTLB);
        ck_assert_str_eq(inv_granularity_to_string(i[2].kind, i[2].performed), "global");
        ck_assert_str_eq(regs_sim_via_to_string(i[0].via), "srtp");
        ck_assert_int_eq(i[0].outcome, REGS_SIM_DONE);
        wr(r, 0x18, 32, (rd(r, 0x1c, 32) & 0x96ffffff) | 0x01000000);
        i = invs(r, &n);
        ck_assert_uint_eq(n, 4);
        ck_assert_int_eq(i[3].kind, INV_KIND_INTERRUPT_ENTRY_CACHE);
        ck_assert_str_eq(inv_granularity_to_string(i[3].kind, i[3].granularity), "global");
        ck_assert_uint_eq(n_violations(r), 0);
}
END_TEST

START_TEST(gcmd_one_command_per_write) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        _cleanup_(iommu_regs_freep) iommu_regs *noqi = NULL;

        wr(r, 0x18, 32, 0x41000000); /* SRTP and SIRTP */
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0x41000000);
        ck_assert_uint_eq(n_violations(r), 1);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_GCMD_MULTIPLE);
        ck_assert_ptr_nonnull(strstr(last_violation(r)->text, "sirtp srtp"));
        /* a persistent bit changed with a one-shot: both done, one violation */
        wr(r, 0x18, 32, 0xc0000000);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0xc1000000);
        ck_assert_uint_eq(n_violations(r), 2);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_GCMD_MULTIPLE);
        ck_assert_str_eq(regs_sim_violation_kind_to_string(last_violation(r)->kind), "gcmd-multiple");
        /* writing GSTS's persistent bits back unchanged is no command */
        wr(r, 0x18, 32, 0x80000000);
        ck_assert_uint_eq(n_violations(r), 2);

        /* a unit without queued invalidation ignores QIE */
        noqi = unit(CAP_LEGACY, ECAP_LEGACY & ~UINT64_C(0x2));
        wr(noqi, 0x18, 32, 0x04000000);
        ck_assert_uint_eq(rd(noqi, 0x1c, 32), 0);
        ck_assert_int_eq(last_violation(noqi)->kind, REGS_SIM_NOT_SUPPORTED);
        ck_assert_ptr_nonnull(strstr(last_violation(noqi)->text, "GCMD.qie"));
        /* ... and has no queue registers: they read 0 */
        wr(noqi, 0x90, 64, QUEUE);
        ck_assert_uint_eq(rd(noqi, 0x90, 64), 0);
}
END_TEST

START_TEST(gcmd_write_buffer_flush) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        _cleanup_(iommu_regs_freep) iommu_regs *norwbf = unit(CAP_LEGACY & ~CAP_RWBF, ECAP_LEGACY);
        regs_sim_state st;

        wr(r, 0x18, 32, 0x08000000);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0); /* WBFS set and cleared at once */
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.n_wbf, 1);
        wr(norwbf, 0x18, 32, 0x08000000);
        ck_assert_int_eq(regs_sim_get_state(norwbf, &st), 0);
        ck_assert_uint_eq(st.n_wbf, 0);
        ck_assert_uint_eq(n_violations(norwbf), 0);
}
END_TEST

START_TEST(gcmd_interrupt_remapping) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        _cleanup_(iommu_regs_freep) iommu_regs *fresh = unit(CAP_LEGACY, ECAP_LEGACY);
        regs_sim_state st;

        wr(r, 0xb8, 64, 0x7000080f | 0xf0); /* bits 10:4 are reserved */
        ck_assert_uint_eq(rd(r, 0xb8, 64), 0x7000080f);
        wr(r, 0x18, 32, 0x01000000);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0x01000000);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.irta, 0x7000080f);
        ck_assert_uint_eq(st.n_sirtp, 1);
        wr(r, 0x18, 32, (rd(r, 0x1c, 32) & 0x96ffffff) | 0x02000000);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0x03000000);
        wr(r, 0x18, 32, (rd(r, 0x1c, 32) & 0x96ffffff) | 0x00800000);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0x03800000);
        ck_assert_uint_eq(n_violations(r), 0);

        wr(fresh, 0x18, 32, 0x02000000);
        ck_assert_uint_eq(rd(fresh, 0x1c, 32), 0x02000000);
        ck_assert_int_eq(last_violation(fresh)->kind, REGS_SIM_IRE_WITHOUT_TABLE);
}
END_TEST

START_TEST(ccmd_invalidates) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        const regs_sim_inv *i;
        size_t n;

        wr(r, 0x28, 64, 0xa000000000000000); /* ICC, global */
        ck_assert_uint_eq(rd(r, 0x28, 64), 0x2800000000000000);
        wr(r, 0x28, 64, 0xc000000000000005); /* domain 5 */
        ck_assert_uint_eq(rd(r, 0x28, 64), 0x5000000000000005);
        wr(r, 0x28, 64, 0xe000000201080007); /* device 01:01.0, FM 2, domain 7 */
        ck_assert_uint_eq(rd(r, 0x28, 64), 0x7800000201080007);
        /* as dwords: the upper one starts it */
        wr(r, 0x28, 32, 0x9);
        (void) invs(r, &n);
        ck_assert_uint_eq(n, 3);
        wr(r, 0x2c, 32, 0xa0000000);
        ck_assert_uint_eq(rd(r, 0x28, 64), 0x2800000000000009);
        /* CIRG 0 is reserved: refused, CAIG 0 */
        wr(r, 0x28, 64, 0x8000000000000000);
        ck_assert_uint_eq(rd(r, 0x28, 64), 0);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_BAD_GRANULARITY);

        i = invs(r, &n);
        ck_assert_uint_eq(n, 5);
        ck_assert_int_eq(i[0].kind, INV_KIND_CONTEXT_CACHE);
        ck_assert_int_eq(i[0].via, REGS_SIM_VIA_REGISTER);
        ck_assert_uint_eq(i[0].granularity, 1);
        ck_assert_uint_eq(i[0].performed, 1);
        ck_assert_uint_eq(i[1].granularity, 2);
        ck_assert_uint_eq(i[1].did, 5);
        ck_assert_str_eq(inv_granularity_to_string(i[2].kind, i[2].performed), "device");
        ck_assert_uint_eq(i[2].sid, 0x0108);
        ck_assert_uint_eq(i[2].fm, 2);
        ck_assert_uint_eq(i[2].did, 7);
        ck_assert_uint_eq(i[2].raw[0], 0xe000000201080007);
        ck_assert_uint_eq(i[3].did, 9);
        ck_assert_int_eq(i[4].outcome, REGS_SIM_REFUSED);
        ck_assert_uint_eq(i[4].performed, 0);
        ck_assert_str_eq(regs_sim_outcome_to_string(i[4].outcome), "refused");
}
END_TEST

START_TEST(iotlb_invalidates) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        _cleanup_(iommu_regs_freep) iommu_regs *nopsi = unit(CAP_LEGACY & ~CAP_PSI, ECAP_LEGACY);
        const regs_sim_inv *i;
        size_t n;

        wr(r, 0x208, 64, 0x9000000000000000); /* IVT, global */
        ck_assert_uint_eq(rd(r, 0x208, 64), 0x1200000000000000);
        wr(r, 0x208, 64, 0xa000000900000000); /* domain 9 */
        ck_assert_uint_eq(rd(r, 0x208, 64), 0x2400000900000000);
        /* page-selective: 0xabc000, 4 pages, IH; drain reads and writes */
        wr(r, 0x200, 64, 0xabc042);
        ck_assert_uint_eq(rd(r, 0x200, 64), 0xabc042);
        wr(r, 0x208, 64, 0xb003000900000000);
        ck_assert_uint_eq(rd(r, 0x208, 64), 0x3603000900000000);
        /* AM 5 beyond MAMV 4: refused, IAIG 0, as QEMU */
        wr(r, 0x200, 64, 0xabc005);
        wr(r, 0x208, 64, 0xb000000900000000);
        ck_assert_uint_eq(rd(r, 0x208, 64), 0x3000000900000000);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_BAD_GRANULARITY);
        /* 0xabd000 is not on a 4-page boundary: done, but noted */
        wr(r, 0x200, 64, 0xabd002);
        wr(r, 0x208, 64, 0xb000000900000000);
        ck_assert_uint_eq(rd(r, 0x208, 64), 0x3600000900000000);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_ADDRESS_UNALIGNED);

        i = invs(r, &n);
        ck_assert_uint_eq(n, 5);
        ck_assert_int_eq(i[0].kind, INV_KIND_IOTLB);
        ck_assert_uint_eq(i[0].performed, 1);
        ck_assert_uint_eq(i[1].did, 9);
        ck_assert_uint_eq(i[1].performed, 2);
        ck_assert_uint_eq(i[2].granularity, 3);
        ck_assert_uint_eq(i[2].addr, 0xabc000);
        ck_assert_uint_eq(i[2].am, 2);
        ck_assert(i[2].ih);
        ck_assert(i[2].dr && i[2].dw);
        ck_assert_uint_eq(i[2].raw[0], 0xb003000900000000);
        ck_assert_uint_eq(i[2].raw[1], 0xabc042);
        ck_assert_int_eq(i[3].outcome, REGS_SIM_REFUSED);
        ck_assert(!i[3].dr && !i[3].dw);
        ck_assert_int_eq(i[4].outcome, REGS_SIM_DONE);
        ck_assert_uint_eq(i[4].addr, 0xabd000);

        /* without CAP.PSI the request is widened to the domain: IAIG 2 */
        wr(nopsi, 0x200, 64, 0xabc000);
        wr(nopsi, 0x208, 64, 0xb000000900000000);
        ck_assert_uint_eq(rd(nopsi, 0x208, 64), 0x3400000900000000);
        i = invs(nopsi, &n);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(i[0].outcome, REGS_SIM_WIDENED);
        ck_assert_uint_eq(i[0].granularity, 3);
        ck_assert_uint_eq(i[0].performed, 2);
        ck_assert_uint_eq(n_violations(nopsi), 0);
}
END_TEST

START_TEST(register_invalidation_refused) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        _cleanup_(iommu_regs_freep) iommu_regs *sm = unit(CAP_LEGACY, ECAP_SCALABLE);
        const regs_sim_inv *i;
        size_t n;

        enable_qi(r, false);
        wr(r, 0x28, 64, 0xa000000000000000);
        ck_assert_uint_eq(rd(r, 0x28, 64), 0x2000000000000000);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_REGISTER_INV_QI);
        wr(r, 0x208, 64, 0x9000000000000000);
        ck_assert_uint_eq(rd(r, 0x208, 64), 0x1000000000000000);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_REGISTER_INV_QI);
        i = invs(r, &n);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(i[0].outcome, REGS_SIM_REFUSED);
        ck_assert_int_eq(i[1].outcome, REGS_SIM_REFUSED);

        /* scalable mode has only queued invalidation */
        wr(sm, 0x20, 64, 0x5400);
        wr(sm, 0x18, 32, 0x40000000);
        wr(sm, 0x28, 64, 0xa000000000000000);
        ck_assert_uint_eq(rd(sm, 0x28, 64), 0x2000000000000000);
        ck_assert_int_eq(last_violation(sm)->kind, REGS_SIM_REGISTER_INV_MODE);
}
END_TEST

START_TEST(queue_three_descriptors) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        uint64_t *q = page(QUEUE);
        const regs_sim_inv *i;
        regs_sim_state st;
        size_t n;

        (void) page(STATUS);
        q[0] = 0x11; /* context-cache, global */
        q[1] = 0;
        q[2] = 0x300e2; /* IOTLB, domain 3, drain reads and writes */
        q[3] = 0;
        q[4] = 0xcafe000100000025; /* wait, status write of 0xcafe0001 */
        q[5] = STATUS + 8;

        enable_qi(r, false);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert(st.qi_enabled);
        ck_assert_uint_eq(st.queue_base, QUEUE);
        ck_assert_uint_eq(st.queue_size, 4096);
        ck_assert(!st.queue_256);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0);

        wr(r, 0x88, 64, 0x30);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x30);
        ck_assert_uint_eq(rd(r, 0x88, 64), 0x30);
        ck_assert_uint_eq(status_word(STATUS + 8), 0xcafe0001);
        ck_assert_uint_eq(rd(r, 0x9c, 32), 0); /* no IF: no IWC */
        ck_assert_uint_eq(rd(r, 0x34, 32), 0);

        i = invs(r, &n);
        ck_assert_uint_eq(n, 3);
        ck_assert_int_eq(i[0].kind, INV_KIND_CONTEXT_CACHE);
        ck_assert_int_eq(i[0].via, REGS_SIM_VIA_QUEUE);
        ck_assert_uint_eq(i[0].granularity, 1);
        ck_assert_uint_eq(i[0].queue_offset, 0);
        ck_assert_int_eq(i[1].kind, INV_KIND_IOTLB);
        ck_assert_uint_eq(i[1].granularity, 2);
        ck_assert_uint_eq(i[1].did, 3);
        ck_assert(i[1].dr && i[1].dw);
        ck_assert_uint_eq(i[1].queue_offset, 0x10);
        ck_assert_int_eq(i[2].kind, INV_KIND_WAIT);
        ck_assert(i[2].sw && !i[2].irq);
        ck_assert_uint_eq(i[2].status, 0xcafe0001);
        ck_assert_uint_eq(i[2].addr, STATUS + 8);
        ck_assert_uint_eq(i[2].queue_offset, 0x20);

        /* more, across the end of the queue: IQT wraps to 0x10 */
        q[6] = 0xcafe000200000025;
        q[7] = STATUS + 12;
        for (unsigned k = 8; k < 512; k += 2) {
                q[k] = 0x4; /* interrupt entry cache, global */
                q[k + 1] = 0;
        }
        q[0] = 0x0000000500000025;
        q[1] = STATUS + 16;
        wr(r, 0x88, 64, 0x10);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x10);
        ck_assert_uint_eq(status_word(STATUS + 12), 0xcafe0002);
        ck_assert_uint_eq(status_word(STATUS + 16), 5);
        (void) invs(r, &n);
        ck_assert_uint_eq(n, 3 + 1 + 252 + 1);
        ck_assert_uint_eq(n_violations(r), 0);
}
END_TEST

START_TEST(queue_invalid_descriptor) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        uint64_t *q = page(QUEUE);
        regs_sim_state st;
        size_t n;

        (void) page(STATUS);
        q[0] = 0x11;
        q[2] = 0xf; /* no such type */
        q[4] = 0x0000000700000025;
        q[5] = STATUS;
        enable_qi(r, false);
        wr(r, 0x88, 64, 0x30);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x10);       /* IQE */
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x10);       /* stopped on it */
        ck_assert_uint_eq(rd(r, 0xb0, 64), 3);          /* invalid type */
        ck_assert_uint_eq(rd(r, 0x38, 32), 0xc0000000); /* fault event pending, masked */
        ck_assert_uint_eq(status_word(STATUS), 0);
        (void) invs(r, &n);
        ck_assert_uint_eq(n, 1);
        /* nothing is fetched while IQE is set */
        wr(r, 0x88, 64, 0x30);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x10);

        /* software fixes the descriptor and clears IQE: fetching resumes */
        q[2] = 0x11;
        wr(r, 0x34, 32, 0x10);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0);
        ck_assert_uint_eq(rd(r, 0x38, 32), 0x80000000);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x30);
        ck_assert_uint_eq(status_word(STATUS), 7);
        (void) invs(r, &n);
        ck_assert_uint_eq(n, 3);

        /* a reserved bit (8) of a context-cache descriptor */
        q[6] = 0x111;
        wr(r, 0x88, 64, 0x40);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x30);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 4);
        q[6] = 0x1; /* granularity 0 is reserved */
        wr(r, 0x34, 32, 0x10);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x10);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 4);
        q[6] = 0x211; /* type bits 11:9: type 0x11 */
        wr(r, 0x34, 32, 0x10);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 3);
        q[6] = 0x5; /* a plain wait (a fence without status or interrupt) is valid */
        wr(r, 0x34, 32, 0x10);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x40);

        /* a tail beyond the one-page queue */
        wr(r, 0x88, 64, 0x1000);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x10);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 1);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x40);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.fault_interrupts, 0);
}
END_TEST

START_TEST(queue_unsupported_types) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, 0x2002); /* QI only */
        uint64_t *q = page(QUEUE);

        q[0] = 0x0000010000000003; /* device-TLB, without ECAP.DT */
        q[1] = 0x5000;
        enable_qi(r, false);
        wr(r, 0x88, 64, 0x10);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x10);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 3);
        q[0] = 0x4; /* interrupt entry cache, without ECAP.IR */
        wr(r, 0x34, 32, 0x10);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 3);
        q[0] = 0x37; /* PASID cache, without ECAP.SMTS */
        wr(r, 0x34, 32, 0x10);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 3);
        q[0] = 0xd5; /* wait with IF, FN and PD, without ECAP.PDS */
        wr(r, 0x34, 32, 0x10);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 4);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0);
}
END_TEST

START_TEST(queue_256_bit) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_SCALABLE);
        uint64_t *q = page(QUEUE);
        const regs_sim_inv *i;
        regs_sim_state st;
        size_t n;

        wr(r, 0x20, 64, 0x5400); /* scalable-mode root */
        wr(r, 0x18, 32, 0x40000000);
        q[0] = 0x0000012300040037; /* PASID cache, global (G 3), DID 4, PASID 0x123 */
        q[4] = 0x0000012300040036; /* PASID IOTLB, page (G 3) */
        q[5] = 0x8041;             /* 0x8000, 2 pages, IH */
        q[8] = 0x0000012303000008; /* PASID device-TLB, SID 03:00.0 */
        q[9] = 0x9001;             /* 0x9000, G */
        q[12] = 0x15;              /* wait, IF */
        enable_qi(r, true);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert(st.queue_256);
        wr(r, 0x88, 64, 0x80);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x80);
        ck_assert_uint_eq(rd(r, 0x9c, 32), 1);          /* IWC */
        ck_assert_uint_eq(rd(r, 0xa0, 32), 0xc0000000); /* IP, masked */

        i = invs(r, &n);
        ck_assert_uint_eq(n, 4);
        ck_assert_int_eq(i[0].kind, INV_KIND_PASID_CACHE);
        ck_assert_str_eq(inv_granularity_to_string(i[0].kind, i[0].granularity), "global");
        ck_assert_uint_eq(i[0].did, 4);
        ck_assert_uint_eq(i[0].pasid, 0x123);
        ck_assert_int_eq(i[1].kind, INV_KIND_PASID_IOTLB);
        ck_assert_uint_eq(i[1].granularity, 3);
        ck_assert_uint_eq(i[1].addr, 0x8000);
        ck_assert_uint_eq(i[1].am, 1);
        ck_assert(i[1].ih);
        ck_assert_uint_eq(i[1].pasid, 0x123);
        ck_assert_uint_eq(i[1].queue_offset, 0x20);
        ck_assert_int_eq(i[2].kind, INV_KIND_PASID_DEVICE_TLB);
        ck_assert_uint_eq(i[2].sid, 0x0300);
        ck_assert_uint_eq(i[2].pasid, 0x123);
        ck_assert(i[2].global);
        ck_assert_uint_eq(i[2].addr, 0x9000);
        ck_assert_int_eq(i[3].kind, INV_KIND_WAIT);
        ck_assert(i[3].irq);

        /* the interrupt goes out when software unmasks it */
        wr(r, 0xa0, 32, 0);
        ck_assert_uint_eq(rd(r, 0xa0, 32), 0);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.completion_interrupts, 1);
        /* IWC is cleared by writing 1; the next wait's interrupt is sent at once */
        wr(r, 0x9c, 32, 1);
        ck_assert_uint_eq(rd(r, 0x9c, 32), 0);
        q[16] = 0x15;
        wr(r, 0x88, 64, 0xa0);
        ck_assert_uint_eq(rd(r, 0x9c, 32), 1);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.completion_interrupts, 2);

        /* bits of the upper half are reserved in these formats */
        q[20] = 0x11;
        q[22] = 1;
        wr(r, 0x88, 64, 0xc0);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x10);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 4);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0xa0);
        /* a tail inside a 256-bit descriptor */
        q[22] = 0;
        wr(r, 0x88, 64, 0xd0);
        wr(r, 0x34, 32, 0x10);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x10);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 1);
        ck_assert_uint_eq(n_violations(r), 0);
}
END_TEST

START_TEST(queue_descriptor_width) {
        _cleanup_(iommu_regs_freep) iommu_regs *sm = unit(CAP_LEGACY, ECAP_SCALABLE);
        _cleanup_(iommu_regs_freep) iommu_regs *legacy = unit(CAP_LEGACY, ECAP_LEGACY);
        uint64_t *q = page(QUEUE);

        /* scalable mode treats 128-bit descriptors as invalid (spec 6.5.2) */
        q[0] = 0x11;
        wr(sm, 0x20, 64, 0x5400);
        wr(sm, 0x18, 32, 0x40000000);
        enable_qi(sm, false);
        wr(sm, 0x88, 64, 0x10);
        ck_assert_uint_eq(rd(sm, 0x34, 32), 0x10);
        ck_assert_uint_eq(rd(sm, 0xb0, 64), 5);
        ck_assert_uint_eq(rd(sm, 0x80, 64), 0);

        /* 256-bit descriptors need scalable-mode support */
        enable_qi(legacy, true);
        wr(legacy, 0x88, 64, 0x20);
        ck_assert_uint_eq(rd(legacy, 0x34, 32), 0x10);
        ck_assert_uint_eq(rd(legacy, 0xb0, 64), 5);
}
END_TEST

START_TEST(queue_enable_disable) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        uint64_t *q = page(QUEUE);

        (void) page(STATUS);
        q[0] = 0x0000000900000025;
        q[1] = STATUS;
        q[2] = 0x0000000a00000025;
        q[3] = STATUS + 4;
        /* IQT must be 0 when QIE is set; QEMU runs the queue anyway */
        wr(r, 0x90, 64, QUEUE);
        wr(r, 0x88, 64, 0x10);
        wr(r, 0x18, 32, 0x04000000);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_QIE_TAIL_NOT_ZERO);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x10);
        ck_assert_uint_eq(status_word(STATUS), 9);

        /* IQA is latched at QIE; changing it now changes nothing */
        wr(r, 0x90, 64, 0x300000);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_IQA_WHILE_ENABLED);
        ck_assert_uint_eq(rd(r, 0x90, 64), 0x300000);

        /* a wait that never completes keeps IQH short of IQT: QIE cannot
         * be cleared (as QEMU) */
        regs_sim_stall_waits(r, true);
        wr(r, 0x88, 64, 0x20);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x10);
        wr(r, 0x18, 32, 0);
        ck_assert_int_eq(last_violation(r)->kind, REGS_SIM_QIE_DISABLE_BUSY);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0x04000000);
        regs_sim_stall_waits(r, false);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x20);
        ck_assert_uint_eq(status_word(STATUS + 4), 10);
        wr(r, 0x18, 32, 0);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0); /* IQH reset with QIES clear */
        ck_assert_uint_eq(n_violations(r), 3);
}
END_TEST

START_TEST(wait_never_completes) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        uint64_t *q = page(QUEUE);
        size_t n;

        (void) page(STATUS);
        q[0] = 0x11;
        q[2] = 0x0000000200000035; /* wait: SW and IF */
        q[3] = STATUS;
        q[4] = 0x11;
        enable_qi(r, false);
        regs_sim_stall_waits(r, true);
        wr(r, 0x88, 64, 0x30);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x10);
        ck_assert_uint_eq(status_word(STATUS), 0);
        ck_assert_uint_eq(rd(r, 0x9c, 32), 0);
        (void) invs(r, &n);
        ck_assert_uint_eq(n, 1);
        /* polling changes nothing */
        for (int k = 0; k < 100; k++)
                ck_assert_uint_eq(rd(r, 0x80, 64), 0x10);
        ck_assert_uint_eq(regs_sim_reads(r), 3 + 100);
        regs_sim_stall_waits(r, false);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x30);
        ck_assert_uint_eq(status_word(STATUS), 2);
        ck_assert_uint_eq(rd(r, 0x9c, 32), 1);
        (void) invs(r, &n);
        ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(injected_queue_errors) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        uint64_t *q = page(QUEUE);
        const regs_sim_inv *i;
        size_t n;

        (void) page(STATUS);
        q[0] = 0x0000010000000003; /* device-TLB, 01:00.0 */
        q[1] = 0x5000;
        q[2] = 0x11;
        q[4] = 0x0000000700000025;
        q[5] = STATUS;
        q[6] = 0x20021; /* context cache, domain 2 */
        enable_qi(r, false);

        /* ITE: the device never answers; the wait after it is aborted and
         * IQH points past that wait (what Linux's qi_check_fault expects) */
        regs_sim_fail_next(r, REGS_SIM_ERROR_ITE, 0x0100);
        wr(r, 0x88, 64, 0x40);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x40);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x30);
        ck_assert_uint_eq(rd(r, 0xb0, 64), 0x0000010000000000);
        ck_assert_uint_eq(status_word(STATUS), 0);
        i = invs(r, &n);
        ck_assert_uint_eq(n, 3);
        ck_assert_int_eq(i[0].kind, INV_KIND_DEVICE_TLB);
        ck_assert_int_eq(i[0].outcome, REGS_SIM_TIMED_OUT);
        ck_assert_uint_eq(i[0].sid, 0x0100);
        ck_assert_uint_eq(i[0].addr, 0x5000);
        ck_assert_int_eq(i[1].outcome, REGS_SIM_DONE);
        ck_assert_int_eq(i[2].outcome, REGS_SIM_ABORTED);
        /* clearing ITE lets the queue go on */
        wr(r, 0x34, 32, 0x40);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x40);
        i = invs(r, &n);
        ck_assert_uint_eq(n, 4);
        ck_assert_uint_eq(i[3].did, 2);

        /* ICE: done, reported, the queue goes on */
        q[8] = 0x0000020000000003;
        q[9] = 0x6000;
        q[10] = 0x11;
        regs_sim_fail_next(r, REGS_SIM_ERROR_ICE, 0x0200);
        wr(r, 0x88, 64, 0x60);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x20);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x60);
        ck_assert_uint_eq(rd(r, 0xb0, 64) >> 48, 0x0200);
        wr(r, 0x34, 32, 0x20);

        /* IQE: the next descriptor cannot be fetched */
        q[12] = 0x11;
        regs_sim_fail_next(r, REGS_SIM_ERROR_IQE, 0);
        wr(r, 0x88, 64, 0x70);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x10);
        ck_assert_uint_eq(rd(r, 0xb0, 64) & 0xf, 2);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x60);
        wr(r, 0x34, 32, 0x10);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x70);
        i = invs(r, &n);
        ck_assert_uint_eq(n, 7);
}
END_TEST

START_TEST(reads_all_ones) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        const regs_sim_write *w;
        regs_sim_state st;
        size_t n;

        regs_sim_die_after_reads(r, 2);
        ck_assert_uint_eq(rd(r, 0x0, 32), 0x40);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0);
        ck_assert_uint_eq(rd(r, 0x0, 32), 0xffffffff);
        ck_assert_uint_eq(rd(r, 0x8, 64), UINT64_MAX);
        wr(r, 0x20, 64, 0x1000);
        wr(r, 0x18, 32, 0x40000000);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert(st.dead);
        ck_assert_uint_eq(st.n_srtp, 0);
        w = regs_sim_writes(r, &n);
        ck_assert_uint_eq(n, 2);
        ck_assert(w[0].refused && w[1].refused);
        /* still a register interface: a bad access is refused */
        ck_assert_int_eq(r->ops->read(r, 0x18, 64, &(uint64_t){ 0 }, NULL), -EINVAL);
}
END_TEST

static const regs_sim_fault read_fault = {
        .sid = 0x0308,
        .addr = 0xdead5123,
        .type = REGS_SIM_FAULT_READ,
        .reason = 0x06,
        .pasid_present = true,
        .pasid = 0x42,
};

START_TEST(fault_recording) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        regs_sim_fault f = { .sid = 0x0400, .addr = 0x1000, .type = REGS_SIM_FAULT_WRITE, .reason = 0x05 };
        regs_sim_state st;

        ck_assert_int_eq(regs_sim_inject_fault(r, &read_fault), 0);
        ck_assert_uint_eq(rd(r, 0x220, 64), 0xdead5000);
        ck_assert_uint_eq(rd(r, 0x228, 64), 0xc000420680000308);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x2);        /* PPF, FRI 0 */
        ck_assert_uint_eq(rd(r, 0x38, 32), 0xc0000000); /* IP, masked */
        /* records 1..3, FRI stays on the first */
        for (int k = 1; k < 4; k++)
                ck_assert_int_eq(regs_sim_inject_fault(r, &f), k);
        ck_assert_uint_eq(rd(r, 0x238, 64), 0x8000000500000400);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x2);
        /* all four full: dropped, PFO */
        ck_assert_int_eq(regs_sim_inject_fault(r, &f), -ENOSPC);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x3);

        /* F is cleared by writing 1 to bit 31 of the top dword; the
         * rest of the record stays */
        wr(r, 0x22c, 32, 0x80000000);
        ck_assert_uint_eq(rd(r, 0x228, 64), 0x4000420680000308);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x3);
        /* PFO still set: dropped */
        ck_assert_int_eq(regs_sim_inject_fault(r, &f), -ENOSPC);
        wr(r, 0x34, 32, 0x1);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x2);
        /* the next index wrapped to record 0, which is free again */
        ck_assert_int_eq(regs_sim_inject_fault(r, &f), 0);
        ck_assert_uint_eq(rd(r, 0x228, 64), 0x8000000500000400);
        /* the fault information is read-only */
        wr(r, 0x220, 64, 0x1234000);
        ck_assert_uint_eq(rd(r, 0x220, 64), 0x1000);

        /* every F cleared (as qwords): PPF and the pending event go */
        for (uint32_t off = 0x228; off <= 0x258; off += 0x10)
                wr(r, off, 64, 0x8000000000000000);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0);
        ck_assert_uint_eq(rd(r, 0x38, 32), 0x80000000);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.faults_dropped, 2);
        ck_assert_uint_eq(st.fault_interrupts, 0);

        /* unmasked: the next fault is an interrupt, FRI names record 1 */
        wr(r, 0x38, 32, 0);
        ck_assert_int_eq(regs_sim_inject_fault(r, &read_fault), 1);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x102);
        ck_assert_uint_eq(rd(r, 0x38, 32), 0);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.fault_interrupts, 1);

        f.type = _REGS_SIM_FAULT_TYPE_MAX;
        ck_assert_int_eq(regs_sim_inject_fault(r, &f), -EINVAL);
        f = (regs_sim_fault){ .pasid = 0x100000 };
        ck_assert_int_eq(regs_sim_inject_fault(r, &f), -EINVAL);
}
END_TEST

START_TEST(fault_event_masked_then_unmasked) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        regs_sim_fault f = { .sid = 0x10,
                             .type = REGS_SIM_FAULT_ATOMIC,
                             .reason = 0x85,
                             .exe = true,
                             .priv = true,
                             .at = 2 };
        regs_sim_state st;

        ck_assert_int_eq(regs_sim_inject_fault(r, &f), 0);
        /* T2 T1 11, EXE, PRIV, AT 2 */
        ck_assert_uint_eq(rd(r, 0x228, 64), 0xe000008570000010);
        wr(r, 0x38, 32, 0);
        ck_assert_uint_eq(rd(r, 0x38, 32), 0);
        ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
        ck_assert_uint_eq(st.fault_interrupts, 1);
}
END_TEST

START_TEST(plain_registers) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = unit(CAP_LEGACY, ECAP_LEGACY);
        _cleanup_(iommu_regs_freep) iommu_regs *plmr = unit(CAP_LEGACY | CAP_PLMR, ECAP_LEGACY);

        wr(r, 0x3c, 32, 0x4021);
        ck_assert_uint_eq(rd(r, 0x3c, 32), 0x4021);
        wr(r, 0x40, 32, 0xfee00003); /* FEADDR bits 1:0 reserved */
        ck_assert_uint_eq(rd(r, 0x40, 32), 0xfee00000);
        wr(r, 0x30, 32, 0x11223344); /* between CCMD and FSTS: no register */
        ck_assert_uint_eq(rd(r, 0x30, 32), 0x11223344);
        /* read-only */
        wr(r, 0x8, 64, 0);
        ck_assert_uint_eq(rd(r, 0x8, 64), CAP_LEGACY);
        wr(r, 0x1c, 32, 0xffffffff);
        ck_assert_uint_eq(rd(r, 0x1c, 32), 0);
        wr(r, 0x80, 64, 0x40);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0);
        /* IQT keeps bits 18:4 */
        wr(r, 0x88, 64, 0xffffffff);
        ck_assert_uint_eq(rd(r, 0x88, 64), 0x7fff0);
        /* absent: no page requests, no protected memory, no advanced log */
        wr(r, 0xd0, 64, 0x5000);
        ck_assert_uint_eq(rd(r, 0xd0, 64), 0);
        wr(r, 0x64, 32, 0x80000000);
        ck_assert_uint_eq(rd(r, 0x64, 32), 0);
        wr(r, 0x58, 64, 0x7000);
        ck_assert_uint_eq(rd(r, 0x58, 64), 0);
        /* PMEN with PLMR: the status follows the enable */
        wr(plmr, 0x64, 32, 0x80000000);
        ck_assert_uint_eq(rd(plmr, 0x64, 32), 0x80000001);
        wr(plmr, 0x64, 32, 0);
        ck_assert_uint_eq(rd(plmr, 0x64, 32), 0);
        ck_assert_uint_eq(n_violations(r), 0);
}
END_TEST

START_TEST(other_backends) {
        _cleanup_(iommu_regs_freep) iommu_regs *img = NULL;
        regs_sim_state st;
        size_t n = 7;

        ck_assert_int_eq(iommu_regs_new_image(0, 4096, &img), 0);
        ck_assert_ptr_null(regs_sim_writes(img, &n));
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(regs_sim_invalidations(img, &n));
        ck_assert_ptr_null(regs_sim_violations(img, &n));
        ck_assert_uint_eq(regs_sim_reads(img), 0);
        ck_assert_int_eq(regs_sim_get_state(img, &st), -EINVAL);
        ck_assert_int_eq(regs_sim_inject_fault(img, &read_fault), -EINVAL);
        regs_sim_stall_waits(img, true);
        regs_sim_fail_next(img, REGS_SIM_ERROR_ITE, 0);
        regs_sim_die_after_reads(img, 0);
        ck_assert_uint_eq(rd(img, 0x0, 32), 0);
        ck_assert_ptr_null(regs_sim_via_to_string(_REGS_SIM_VIA_MAX));
        ck_assert_ptr_null(regs_sim_outcome_to_string(-1));
        ck_assert_str_eq(regs_sim_violation_kind_to_string(REGS_SIM_BAD_ACCESS), "bad-access");
}
END_TEST

/* ---- a unit that outlives the process ---- */

/* The layout regs-sim.h documents, written out: a 64-byte head (the copy
 * in force at 40), then two copies of the 4 KiB window and 256 bytes of
 * latched state. */
#define HEAD 64
#define COPY (4096 + 256)
#define PERSIST_SIZE (HEAD + 2 * COPY)

static char persist_path[64];

/* A file of PERSIST_SIZE bytes (zeros), mapped MAP_SHARED. */
static uint8_t *persist_map(bool create) {
        int fd;
        uint8_t *p;

        if (create) {
                snprintf(persist_path, sizeof persist_path, "/tmp/test-regs-sim-XXXXXX");
                fd = mkstemp(persist_path);
                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(ftruncate(fd, PERSIST_SIZE), 0);
        } else
                fd = open(persist_path, O_RDWR | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        p = mmap(NULL, PERSIST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ck_assert_ptr_ne(p, MAP_FAILED);
        close(fd);
        return p;
}

static void persist_unmap(uint8_t *p) {
        ck_assert_int_eq(munmap(p, PERSIST_SIZE), 0);
}

/* The file's bytes, read with pread: the head's 32-bit word at off, or
 * the copy in force's register at off. */
static uint64_t file_word(uint32_t off, unsigned width) {
        uint64_t v = 0;
        int fd = open(persist_path, O_RDONLY | O_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pread(fd, &v, width / 8, off), (ssize_t) (width / 8));
        close(fd);
        return v;
}

static uint64_t file_reg(uint32_t off, unsigned width) {
        uint32_t active = (uint32_t) file_word(40, 32);

        ck_assert_uint_le(active, 1);
        return file_word(HEAD + active * COPY + off, width);
}

static regs_sim_config persist_cfg(void *mem, bool resume) {
        return (regs_sim_config){
                .base = 0xfed90000,
                .ver = 0x40,
                .cap = CAP_LEGACY | CAP_RWBF,
                .ecap = ECAP_LEGACY,
                .persist = mem,
                .resume = resume,
        };
}

START_TEST(persist_survives_the_process) {
        regs_sim_fault f = { .sid = 0x0400, .addr = 0x1000, .type = REGS_SIM_FAULT_WRITE, .reason = 0x05 };
        regs_sim_config cfg = persist_cfg(NULL, false);
        iommu_regs *r = NULL;
        regs_sim_state a, b;
        uint32_t before[1024];
        iommu_error err = {};
        uint64_t *q;
        uint8_t *mem;

        ck_assert_uint_eq(regs_sim_persist_size(&cfg), PERSIST_SIZE);
        mem = persist_map(true);
        cfg.persist = mem;
        ck_assert_msg(iommu_regs_new_sim(&cfg, ram, &r, &err) == 0, "%s", err.message);

        /* a root table, queued invalidation with a wait, translation on,
         * two faults, the fault event unmasked, a write-buffer flush */
        wr(r, 0x20, 64, 0x5000);
        wr(r, 0x18, 32, 0x40000000);
        q = page(QUEUE);
        (void) page(STATUS);
        q[0] = 0x11;
        q[2] = 0xcafe000100000025;
        q[3] = STATUS;
        enable_qi(r, false);
        wr(r, 0x88, 64, 0x20);
        ck_assert_uint_eq(status_word(STATUS), 0xcafe0001);
        wr(r, 0x18, 32, 0x84000000);
        ck_assert_int_eq(regs_sim_inject_fault(r, &read_fault), 0);
        ck_assert_int_eq(regs_sim_inject_fault(r, &f), 1);
        wr(r, 0x38, 32, 0);
        wr(r, 0x18, 32, 0x8c000000);
        for (uint32_t off = 0; off < 4096; off += 4)
                before[off / 4] = (uint32_t) rd(r, off, 32);
        ck_assert_int_eq(regs_sim_get_state(r, &a), 0);
        r = iommu_regs_free(r);
        persist_unmap(mem);

        /* the file, where the specification puts each register */
        ck_assert_uint_eq(file_word(0, 64), 0x0054494e55445456); /* "VTDUNIT\0" */
        ck_assert_uint_eq(file_word(8, 32), 1);
        ck_assert_uint_eq(file_reg(0x0, 32), 0x40);
        ck_assert_uint_eq(file_reg(0x8, 64), CAP_LEGACY | CAP_RWBF);
        ck_assert_uint_eq(file_reg(0x1c, 32), 0xc4000000); /* TES, RTPS, QIES */
        ck_assert_uint_eq(file_reg(0x20, 64), 0x5000);
        ck_assert_uint_eq(file_reg(0x34, 32), 0x2);   /* PPF, FRI 0 */
        ck_assert_uint_eq(file_reg(0x38, 32), 0);     /* the message went out */
        ck_assert_uint_eq(file_reg(0x80, 64), 0x20);  /* IQH */
        ck_assert_uint_eq(file_reg(0x88, 64), 0x20);  /* IQT */
        ck_assert_uint_eq(file_reg(0x90, 64), QUEUE); /* IQA */
        ck_assert_uint_eq(file_reg(0x220, 64), 0xdead5000);
        ck_assert_uint_eq(file_reg(0x228, 64), 0xc000420680000308);
        ck_assert_uint_eq(file_reg(0x238, 64), 0x8000000500000400);

        /* another unit over it: every register as the first left it */
        mem = persist_map(false);
        cfg = persist_cfg(mem, true);
        ck_assert_msg(iommu_regs_new_sim(&cfg, ram, &r, &err) == 0, "%s", err.message);
        for (uint32_t off = 0; off < 4096; off += 4)
                ck_assert_msg(rd(r, off, 32) == before[off / 4], "register dword 0x%x: 0x%x, was 0x%x", off,
                              (unsigned) rd(r, off, 32), before[off / 4]);
        ck_assert_int_eq(regs_sim_get_state(r, &b), 0);
        ck_assert_uint_eq(b.root, 0x5000);
        ck_assert_uint_eq(b.n_srtp, 1);
        ck_assert_uint_eq(b.n_wbf, 1);
        ck_assert(b.qi_enabled);
        ck_assert_uint_eq(b.queue_base, QUEUE);
        ck_assert_uint_eq(b.queue_size, 4096);
        ck_assert_uint_eq(b.fault_interrupts, 1);
        ck_assert_uint_eq(b.root, a.root);
        ck_assert_uint_eq(b.n_srtp, a.n_srtp);
        ck_assert_uint_eq(b.fault_interrupts, a.fault_interrupts);

        /* and goes on from there: the next fault to record 2, the queue
         * latched before runs on from IQH */
        ck_assert_int_eq(regs_sim_inject_fault(r, &f), 2);
        q[4] = 0xcafe000200000025;
        q[5] = STATUS + 4;
        wr(r, 0x88, 64, 0x30);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x30);
        ck_assert_uint_eq(status_word(STATUS + 4), 0xcafe0002);
        ck_assert_uint_eq(n_violations(r), 0);

        /* a device that never answers (ITE) on a device-TLB descriptor,
         * the queue stopped by a bad one before the wait that reports it */
        q[6] = 0x0000010000000003;
        q[7] = 0x5000;
        q[8] = 0xf;
        regs_sim_fail_next(r, REGS_SIM_ERROR_ITE, 0x0100);
        wr(r, 0x88, 64, 0x50);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x12); /* IQE, PPF */
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x40);
        r = iommu_regs_free(r);
        ck_assert_uint_eq(file_reg(0x248, 64), 0x8000000500000400);
        persist_unmap(mem);

        /* a third unit, no fault asked of it: the pending time-out is
         * the unit's, reported with its device when the wait comes */
        mem = persist_map(false);
        cfg = persist_cfg(mem, true);
        ck_assert_msg(iommu_regs_new_sim(&cfg, ram, &r, &err) == 0, "%s", err.message);
        q[8] = 0x0000000900000025;
        q[9] = STATUS + 8;
        wr(r, 0x34, 32, 0x10);
        ck_assert_uint_eq(rd(r, 0x34, 32), 0x42); /* ITE, PPF */
        ck_assert_uint_eq(rd(r, 0xb0, 64), 0x0000010000000003);
        ck_assert_uint_eq(rd(r, 0x80, 64), 0x50);
        ck_assert_uint_eq(status_word(STATUS + 8), 0); /* aborted: no status */
        r = iommu_regs_free(r);
        persist_unmap(mem);
        (void) unlink(persist_path);
}
END_TEST

START_TEST(persist_refuses_another) {
        regs_sim_config cfg;
        iommu_regs *r = NULL;
        iommu_error err = {};
        uint8_t *mem, saved[PERSIST_SIZE];

        mem = persist_map(true);
        /* nothing there yet */
        cfg = persist_cfg(mem, true);
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);
        ck_assert_str_eq(err.message, "The simulated unit's memory holds no unit");
        for (size_t i = 0; i < PERSIST_SIZE; i++)
                ck_assert_uint_eq(mem[i], 0);
        /* resume without memory */
        cfg = persist_cfg(NULL, true);
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);

        cfg = persist_cfg(mem, false);
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), 0);
        r = iommu_regs_free(r);
        memcpy(saved, mem, PERSIST_SIZE);

        /* another unit's CAP */
        cfg = persist_cfg(mem, true);
        cfg.cap &= ~CAP_RWBF;
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "holds another unit"));
        ck_assert_ptr_null(strchr(err.message, '\n'));
        /* another window */
        cfg = persist_cfg(mem, true);
        cfg.size = 0x2000;
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);
        ck_assert_int_eq(memcmp(saved, mem, PERSIST_SIZE), 0);

        /* a format version to come */
        cfg = persist_cfg(mem, true);
        mem[8] = 2;
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);
        ck_assert_str_eq(err.message, "The simulated unit's memory is of format version 2, not 1");
        mem[8] = 1;
        /* no copy in force */
        mem[40] = 2;
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "names copy 2"));
        mem[40] = 0;
        /* GSTS.QIES without a queue ever latched */
        mem[HEAD + 0x1c + 3] = 0x04;
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);
        ck_assert_str_eq(err.message, "The simulated unit's memory holds a state no unit can be in");
        /* garbage in the latched state */
        mem[HEAD + 0x1c + 3] = 0;
        memset(mem + HEAD + 4096, 0xa5, 256);
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), -EINVAL);
        memcpy(mem + HEAD + 4096, saved + HEAD + 4096, 256);
        ck_assert_int_eq(memcmp(saved, mem, PERSIST_SIZE), 0);
        /* and whole again: taken */
        ck_assert_msg(iommu_regs_new_sim(&cfg, ram, &r, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(rd(r, 0x38, 32), 0x80000000);
        r = iommu_regs_free(r);
        persist_unmap(mem);
        (void) unlink(persist_path);
}
END_TEST

/* Roots the churn below latches: the k-th SRTP latches ROOTS + k pages. */
#define ROOTS UINT64_C(0x10000000)
#define CHURN_BATCH 101 /* descriptors a submission: 100, then a wait */

/* In a child: go on with the unit in persist_path, changing it as fast
 * as it can until killed.  Every change keeps the invariants the parent
 * checks, before it and after it; only a change left half done breaks
 * one. */
_noreturn_ static void churn(int ready) {
        regs_sim_config cfg = persist_cfg(NULL, true);
        iommu_ram *img = NULL;
        iommu_regs *r = NULL;
        uint64_t *q, v;
        int fd = open(persist_path, O_RDWR | O_CLOEXEC);

        cfg.persist =
                fd < 0 ? MAP_FAILED : mmap(NULL, PERSIST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (cfg.persist == MAP_FAILED || iommu_ram_new_image(&img) < 0 ||
            iommu_regs_new_sim(&cfg, img, &r, NULL) < 0 || !(q = iommu_ram_image_page(img, QUEUE)) ||
            !iommu_ram_image_page(img, STATUS))
                _exit(3);
        /* from here on, every instant is one the parent may kill at */
        if (write(ready, "r", 1) != 1)
                _exit(3);
        for (uint32_t n = 0;; n++) {
                regs_sim_state st;
                uint32_t tail, fsts;

                if (iommu_regs_read(r, 0x88, 64, &v, NULL) < 0 || regs_sim_get_state(r, &st) < 0)
                        _exit(4);
                tail = (uint32_t) v;
                for (uint32_t k = 0; k < CHURN_BATCH; k++) {
                        uint32_t slot = (tail / 16 + k) % 256;

                        q[2 * slot] = k + 1 < CHURN_BATCH ? 0x4 : (uint64_t) n << 32 | 0x25;
                        q[2 * slot + 1] = k + 1 < CHURN_BATCH ? 0 : STATUS;
                }
                if (iommu_regs_write(r, 0x88, 64, (tail + CHURN_BATCH * 16) % 4096, NULL) < 0 ||
                    /* another root, with translation off meanwhile */
                    iommu_regs_write(r, 0x18, 32, 0x04000000, NULL) < 0 ||
                    iommu_regs_write(r, 0x20, 64, ROOTS + (uint64_t) (st.n_srtp + 1) * 4096, NULL) < 0 ||
                    iommu_regs_write(r, 0x18, 32, 0x44000000, NULL) < 0 ||
                    iommu_regs_write(r, 0x18, 32, 0x84000000, NULL) < 0 ||
                    iommu_regs_read(r, 0x34, 32, &v, NULL) < 0)
                        _exit(5);
                fsts = (uint32_t) v;
                /* a fault while none is pending, else every record cleared */
                if (!(fsts & 0x2))
                        (void) regs_sim_inject_fault(r, &read_fault);
                else
                        for (uint32_t off = 0x228; off <= 0x258; off += 0x10)
                                if (iommu_regs_write(r, off, 64, UINT64_C(1) << 63, NULL) < 0)
                                        _exit(6);
        }
}

START_TEST(persist_kill_mid_change) {
        regs_sim_config cfg = persist_cfg(NULL, false);
        unsigned seed = (unsigned) time(NULL), srtps = 0, kills = 0;
        iommu_regs *r = NULL;
        iommu_error err = {};
        uint8_t *mem = persist_map(true);

        /* the unit as the churn starts it: root 1, a queue, translation on */
        cfg.persist = mem;
        ck_assert_int_eq(iommu_regs_new_sim(&cfg, ram, &r, &err), 0);
        wr(r, 0x20, 64, ROOTS + 4096);
        wr(r, 0x18, 32, 0x40000000);
        enable_qi(r, false);
        wr(r, 0x18, 32, 0x84000000);
        r = iommu_regs_free(r);
        persist_unmap(mem);

        printf("# persist_kill_mid_change: seed %u\n", seed);
        fflush(stdout);
        for (unsigned it = 0; it < 150; it++) {
                regs_sim_state st;
                uint64_t gsts, fsts, any_f = 0;
                int status, ready[2];
                pid_t pid;
                char c;

                ck_assert_int_eq(pipe(ready), 0);
                pid = fork();
                ck_assert_int_ge(pid, 0);
                if (pid == 0)
                        churn(ready[1]);
                ck_assert_int_eq(read(ready[0], &c, 1), 1);
                close(ready[0]);
                close(ready[1]);
                (void) usleep(100 + (unsigned) rand_r(&seed) % 4000);
                ck_assert_int_eq(kill(pid, SIGKILL), 0);
                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                              "the churn ended by itself: %d", status);
                kills++;

                mem = persist_map(false);
                cfg = persist_cfg(mem, true);
                ck_assert_msg(iommu_regs_new_sim(&cfg, ram, &r, &err) == 0, "after kill %u: %s", it,
                              err.message);
                ck_assert_int_eq(regs_sim_get_state(r, &st), 0);
                gsts = rd(r, 0x1c, 32);
                fsts = rd(r, 0x34, 32);
                for (uint32_t off = 0x228; off <= 0x258; off += 0x10)
                        any_f |= rd(r, off, 64) >> 63;
                /* before or after each change, never half of one */
                ck_assert_msg(!(gsts & 0x80000000) || st.root == rd(r, 0x20, 64),
                              "kill %u: translation on, root 0x%llx latched but RTADDR 0x%llx", it,
                              (unsigned long long) st.root, (unsigned long long) rd(r, 0x20, 64));
                ck_assert_msg(st.root == ROOTS + (uint64_t) st.n_srtp * 4096,
                              "kill %u: SRTP %u latched root 0x%llx", it, st.n_srtp,
                              (unsigned long long) st.root);
                ck_assert_msg(rd(r, 0x80, 64) == rd(r, 0x88, 64), "kill %u: IQH 0x%llx, IQT 0x%llx", it,
                              (unsigned long long) rd(r, 0x80, 64), (unsigned long long) rd(r, 0x88, 64));
                ck_assert_msg(!!(fsts & 0x2) == !!any_f, "kill %u: FSTS 0x%llx, a record with F: %d", it,
                              (unsigned long long) fsts, (int) any_f);
                ck_assert_uint_eq(fsts & 0x70, 0); /* no IQE, ICE, ITE */
                ck_assert_uint_eq(gsts & 0x04000000, 0x04000000);
                /* and the file says the same */
                ck_assert_uint_eq(file_reg(0x1c, 32), gsts);
                ck_assert_uint_eq(file_reg(0x80, 64), rd(r, 0x80, 64));
                srtps = st.n_srtp;
                r = iommu_regs_free(r);
                persist_unmap(mem);
        }
        /* the churn got somewhere (a loaded machine or a sanitizer slows
         * it, hence no more than one root for two kills asked) */
        printf("# %u roots latched over %u kills\n", srtps, kills);
        ck_assert_uint_ge(srtps, kills / 2);
        (void) unlink(persist_path);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("regs-sim");
        TCase *tc = tcase_create("unit");

        tcase_add_checked_fixture(tc, ram_setup, ram_teardown);
        tcase_add_test(tc, reset_values);
        tcase_add_test(tc, constructor_refuses);
        tcase_add_test(tc, access_widths);
        tcase_add_test(tc, gcmd_te_without_root);
        tcase_add_test(tc, gcmd_srtp_latches_root);
        tcase_add_test(tc, gcmd_esrtps_invalidates);
        tcase_add_test(tc, gcmd_one_command_per_write);
        tcase_add_test(tc, gcmd_write_buffer_flush);
        tcase_add_test(tc, gcmd_interrupt_remapping);
        tcase_add_test(tc, ccmd_invalidates);
        tcase_add_test(tc, iotlb_invalidates);
        tcase_add_test(tc, register_invalidation_refused);
        tcase_add_test(tc, queue_three_descriptors);
        tcase_add_test(tc, queue_invalid_descriptor);
        tcase_add_test(tc, queue_unsupported_types);
        tcase_add_test(tc, queue_256_bit);
        tcase_add_test(tc, queue_descriptor_width);
        tcase_add_test(tc, queue_enable_disable);
        tcase_add_test(tc, wait_never_completes);
        tcase_add_test(tc, injected_queue_errors);
        tcase_add_test(tc, reads_all_ones);
        tcase_add_test(tc, fault_recording);
        tcase_add_test(tc, fault_event_masked_then_unmasked);
        tcase_add_test(tc, plain_registers);
        tcase_add_test(tc, other_backends);
        suite_add_tcase(s, tc);

        tc = tcase_create("persist");
        tcase_add_checked_fixture(tc, ram_setup, ram_teardown);
        tcase_add_test(tc, persist_survives_the_process);
        tcase_add_test(tc, persist_refuses_another);
        tcase_add_test(tc, persist_kill_mid_change);
        suite_add_tcase(s, tc);
        return s;
}
