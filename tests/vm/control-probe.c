/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest side of tests/vm/control-check: the control library (control/unit.h)
 * taking QEMU's VT-d model over, judged by what real DMA does.  The edu
 * device (00:03.0) is driven from user space without VFIO: bus mastering
 * through its sysfs config file, its registers through sysfs resource0.
 *
 *   control-probe owned legacy|scalable 39|48 on|off   (intel_iommu=off iomem=relaxed)
 *     checks that CAP says the aw-bits and caching mode asked for; a take
 *     refused for its configuration leaves GSTS 0.  Takes dmar0 with table
 *     memory on hugetlbfs (/dev/hugepages) and the pass-through default
 *     policy, powers it on; a paging domain with edu attached: DMA through
 *     a read-write and a read-only mapping, faults on unmapped IOVAs and
 *     their records, clearing them; a 2 MiB chunk of the table memory
 *     mapped with a 2 MiB leaf, split by an unmap; a stale IOTLB entry
 *     shown and invalidated page-selectively; the queue wrapped around;
 *     unmap; detach to pass-through; power off; release.  Then with locked
 *     table memory: the blocked default policy with (legacy) register-based
 *     invalidation, an RMRR, domain-selective and global invalidation; and
 *     the identity default policy, with the first GiB mapped by a 1 GiB
 *     leaf in a paging domain and split by an unmap.
 *   control-probe kernel                                (intel_iommu=on iomem=relaxed)
 *     owned_unit_new is refused with its sentence, and VER..FSTS read the
 *     same before and after.
 *
 * Prints TAP on stdout; exit 0 when every test passed.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/access.h"
#include "access/ctx.h"
#include "access/tablemem.h"
#include "control/unit.h"
#include "decode/dmar.h"
#include "decode/entries.h"
#include "decode/layouts.h"
#include "decode/regs.h"
#include "edu.h"

#define HUGETLBFS_FILE "/dev/hugepages/iommud-control-probe"

#define IOVA_RW UINT64_C(0x100000)
#define IOVA_RO UINT64_C(0x200000)
#define IOVA_UNMAPPED UINT64_C(0x300000)
#define IOVA_UNMAPPED2 UINT64_C(0x380000)
#define IOVA_STALE UINT64_C(0x400000)
#define IOVA_HUGE UINT64_C(0x800000)

/* QEMU 7.2's fault reasons (hw/i386/intel_iommu_internal.h) */
#define FR_ROOT_ENTRY_P 0x1
#define FR_CONTEXT_ENTRY_P 0x2
#define FR_WRITE 0x5
#define FR_READ 0x6
#define FR_PASID_TABLE_INV 0x58

static unsigned n_tests, n_failed;

static bool _printf_(2, 3) t(bool ok, const char *fmt, ...) {
        va_list ap;

        n_tests++;
        if (!ok)
                n_failed++;
        printf("%sok %u - ", ok ? "" : "not ", n_tests);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
        return ok;
}

static void _printf_(1, 2) diag(const char *fmt, ...) {
        va_list ap;

        fputs("# ", stdout);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

/* ---- the unit's registers, from the DMAR table ---- */

typedef struct unit_regs {
        iommu_regs *regs;
        uint64_t base, cap, ecap;
} unit_regs;

static int open_dmar0(const iommu_ctx *c, unit_regs *ret) {
        _cleanup_(dmar_table_freep) dmar_table *dmar = NULL;
        _cleanup_free_ void *raw = NULL;
        const dmar_structure *drhd = NULL;
        uint64_t v[LAYOUT_MAX_QWORDS];
        iommu_error err = {};
        size_t size;
        int r;

        r = iommu_ctx_read_file(c, "/sys/firmware/acpi/tables/DMAR", 1 << 20, &raw, &size, &err);
        if (r >= 0)
                r = dmar_parse(raw, size, &dmar, &err);
        for (size_t i = 0; r >= 0 && i < dmar->n_structures && !drhd; i++)
                if (dmar->structures[i].type == DMAR_TYPE_DRHD)
                        drhd = &dmar->structures[i];
        if (!t(r >= 0 && drhd, "the DMAR table parses and has a DRHD (dmar0)")) {
                diag("%s", r < 0 ? err.message : "no DRHD");
                return -ENODEV;
        }
        ret->base = drhd->address;
        diag("dmar0: DRHD at 0x%" PRIx64 ", %" PRIu64 " bytes of registers, segment %u", drhd->address,
             dmar_drhd_register_size(dmar, drhd), drhd->segment);
        r = iommu_regs_open_devmem_writable(c, drhd->address, dmar_drhd_register_size(dmar, drhd),
                                            &ret->regs, &err);
        if (!t(r >= 0, "dmar0's registers at 0x%" PRIx64 " open writable through /dev/mem", ret->base)) {
                diag("%s", err.message);
                return r;
        }
        r = iommu_regs_read_layout(ret->regs, &layout_cap, 0, 0, 0, v, &err);
        ret->cap = v[0];
        if (r >= 0)
                r = iommu_regs_read_layout(ret->regs, &layout_ecap, 0, 0, 0, v, &err);
        ret->ecap = v[0];
        if (r < 0) {
                diag("%s", err.message);
                return r;
        }
        diag("CAP 0x%016" PRIx64 " ECAP 0x%016" PRIx64, ret->cap, ret->ecap);
        return 0;
}

static uint64_t reg(const unit_regs *u, const layout *l) {
        uint64_t v[LAYOUT_MAX_QWORDS] = {};
        iommu_error err = {};

        if (iommu_regs_read_layout(u->regs, l, u->cap, u->ecap, 0, v, &err) < 0)
                diag("reading %s: %s", l->name, err.message);
        return v[0];
}

typedef struct fault_record {
        bool f, read;
        uint16_t sid;
        uint64_t addr;
        unsigned reason;
} fault_record;

/* FRCD 0 (QEMU has one, CAP.NFR 0) */
static fault_record frcd(const unit_regs *u) {
        uint64_t v[LAYOUT_MAX_QWORDS] = {};
        iommu_error err = {};

        if (iommu_regs_read_layout(u->regs, &layout_frcd, u->cap, u->ecap, 0, v, &err) < 0)
                diag("reading FRCD: %s", err.message);
        return (fault_record){ .f = FIELD_GET(FRCD, F, v),
                               .read = FIELD_GET(FRCD, T1, v),
                               .sid = (uint16_t) FIELD_GET(FRCD, SID, v),
                               .addr = FIELD_GET(FRCD, FI, v) << 12,
                               .reason = (unsigned) FIELD_GET(FRCD, FR, v) };
}

static bool ppf(const unit_regs *u) {
        uint64_t v = reg(u, &layout_fsts);
        return FIELD_GET(FSTS, PPF, &v);
}

/* The record says edu faulted at iova, writing or reading, for reason. */
static void check_record(const unit_regs *u, const char *what, uint64_t iova, bool write, unsigned reason) {
        fault_record f = frcd(u);

        diag("FRCD: F %d SID %02x:%02x.%x FI 0x%" PRIx64 " %s reason 0x%x (%s); FSTS.PPF %d", f.f,
             f.sid >> 8, (f.sid & 0xff) >> 3, f.sid & 7, f.addr, f.read ? "read" : "write", f.reason,
             fault_reason_to_string(f.reason) ?: "?", ppf(u));
        t(f.f && ppf(u) && f.sid == (EDU_BUS << 8 | EDU_DEVFN) && f.addr == (iova & ~UINT64_C(0xfff)) &&
                  f.read == !write && f.reason == reason,
          "%s: the fault record says 00:03.0, 0x%" PRIx64 ", %s, reason 0x%x (%s)", what,
          iova & ~UINT64_C(0xfff), write ? "write" : "read", reason, fault_reason_to_string(reason) ?: "?");
}

static void clear_faults(owned_unit *unit, const unit_regs *u, const char *what) {
        iommu_error err = {};
        unsigned cleared = 0;
        int r = owned_unit_clear_faults(unit, &cleared, &err);

        t(r >= 0 && cleared == 1 && !frcd(u).f && !ppf(u),
          "%s: owned_unit_clear_faults clears the one record (cleared %u; F and FSTS.PPF now 0)", what,
          cleared);
        if (r < 0)
                diag("%s", err.message);
}

/* ---- edu ---- */

static bool edu_dma_said(const edu *e, uint64_t addr, bool to_ram) {
        if (edu_dma(e, addr, to_ram))
                return true;
        diag("edu's DMA did not finish within 3 s");
        return false;
}

/* ---- buffers: locked pages of the probe's own ---- */

typedef struct page {
        uint8_t *virt;
        uint64_t phys;
} page;

#define POOL_PAGES 4096 /* 16 MiB: one of them is nearly always below 256 MiB */

static uint8_t *pool;
static uint64_t pool_phys[POOL_PAGES];
static bool pool_taken[POOL_PAGES];

static int pool_open(void) {
        iommu_error err = {};
        int r;

        pool = mmap(NULL, (size_t) POOL_PAGES * 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
        if (pool == MAP_FAILED) {
                diag("mmap: %s", strerror(errno));
                return -errno;
        }
        (void) madvise(pool, (size_t) POOL_PAGES * 4096, MADV_NOHUGEPAGE);
        r = pagemap_phys(pool, POOL_PAGES, pool_phys, &err);
        if (r < 0)
                diag("%s", err.message);
        return r;
}

/* A page of the pool; below, when not 0: its physical address under it. */
static bool pool_page(uint64_t below, page *ret) {
        for (size_t i = 0; i < POOL_PAGES; i++)
                if (!pool_taken[i] && (!below || pool_phys[i] + 4096 <= below)) {
                        pool_taken[i] = true;
                        *ret = (page){ .virt = pool + i * 4096, .phys = pool_phys[i] };
                        return true;
                }
        return false;
}

/* Two pages of the pool, physically adjacent, both under below. */
static bool pool_pair(uint64_t below, page *ret_a, page *ret_b) {
        for (size_t i = 0; i < POOL_PAGES; i++) {
                if (pool_taken[i] || pool_phys[i] + 2 * 4096 > below)
                        continue;
                for (size_t k = 0; k < POOL_PAGES; k++)
                        if (!pool_taken[k] && pool_phys[k] == pool_phys[i] + 4096) {
                                pool_taken[i] = pool_taken[k] = true;
                                *ret_a = (page){ .virt = pool + i * 4096, .phys = pool_phys[i] };
                                *ret_b = (page){ .virt = pool + k * 4096, .phys = pool_phys[k] };
                                return true;
                        }
        }
        return false;
}

static uint8_t seed = 1;

/* A pattern for n bytes no earlier transfer left anywhere. */
static void fill(uint8_t *p, size_t n) {
        seed = (uint8_t) (seed * 37 + 11);
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (i * 7 + seed);
}

static bool same(const uint8_t *a, const uint8_t *b, size_t n) {
        return memcmp(a, b, n) == 0;
}

static bool zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

/* edu reads src (an address it reaches) into its buffer, then writes it
 * to dst: whether want (XFER bytes) arrived at dst_virt. */
static bool round_trip(const edu *e, uint64_t src, uint64_t dst, const uint8_t *want,
                       const uint8_t *dst_virt) {
        return edu_dma_said(e, src, false) && edu_dma_said(e, dst, true) && same(dst_virt, want, XFER);
}

/* The second-stage entry that translates iova for edu and its level (1: a
 * 4 KiB leaf, 2: a 2 MiB one), found by walking the tables the unit walks
 * (table memory is where they are); NULL where nothing translates it. */
static uint64_t *entry_of(table_mem *mem, uint64_t rtaddr, bool scalable, uint64_t iova,
                          unsigned *ret_level) {
        uint64_t *re = table_mem_virt(mem, (rtaddr & ~UINT64_C(0xfff)) + EDU_BUS * 16), *ce, *pe, *e, pt;
        unsigned levels;

        if (!re)
                return NULL;
        if (!scalable) {
                if (!root_present(re) || !(ce = table_mem_virt(mem, root_ctp(re) + EDU_DEVFN * 16)) ||
                    !context_present(ce))
                        return NULL;
                pt = context_ssptptr(ce);
                levels = context_levels(ce);
        } else {
                uint64_t *dir;

                if (!sm_root_present(re, EDU_DEVFN) ||
                    !(ce = table_mem_virt(mem, sm_root_ctp(re, EDU_DEVFN) + (EDU_DEVFN % 128) * 32)) ||
                    !sm_context_present(ce) || !(dir = table_mem_virt(mem, sm_context_pasiddirptr(ce))) ||
                    !pasid_dir_present(dir[0]) || !(pe = table_mem_virt(mem, pasid_dir_smptblptr(dir[0]))) ||
                    !pasid_present(pe))
                        return NULL;
                pt = pasid_ssptptr(pe);
                levels = pasid_ss_levels(pe);
        }
        for (unsigned l = levels; l >= 1; l--) {
                e = table_mem_virt(mem, pt + ((iova >> (12 + 9 * (l - 1))) & 511) * 8);
                if (!e || !ss_pte_present(*e))
                        return NULL;
                if (l == 1 || ss_pte_large(*e)) {
                        *ret_level = l;
                        return e;
                }
                pt = ss_pte_addr(*e);
        }
        return NULL;
}

/* ---- owned: take the unit, use it, give it back, take it again ---- */

typedef struct probe {
        unit_regs u;
        edu edu;
        unit_mode mode;
        page rw, ro, stale;
        page low, low2; /* below 256 MiB, physically adjacent */
        page huge;      /* 2 MiB, a chunk of the hugetlbfs table memory */
        table_mem *mem; /* of the unit taken now */
} probe;

/* rmrr: an RMRR for edu over the page low2 (QEMU's DMAR table has none). */
static owned_unit *take(probe *p, table_mem *mem, domain_type policy, bool registers, bool rmrr) {
        static const uint16_t devices[] = { EDU_BUS << 8 | EDU_DEVFN };
        rmrr_region region = { .base = p->low2.phys,
                               .limit = p->low2.phys + 4095,
                               .n_devices = 1,
                               .devices = { { EDU_BUS, EDU_DEVFN } } };
        owned_unit_config c = { .mode = p->mode,
                                .default_policy = policy,
                                .devices = devices,
                                .n_devices = ELEMENTSOF(devices),
                                .rmrrs = rmrr ? &region : NULL,
                                .n_rmrrs = rmrr ? 1 : 0,
                                .register_invalidation = registers };
        owned_unit *unit = NULL;
        iommu_error err = {};
        uint64_t gsts, rtaddr;
        int r;

        p->mem = mem;
        r = owned_unit_new("dmar0", p->u.regs, mem, &c, &unit, &err);
        if (!t(r >= 0, "owned_unit_new takes dmar0 (%s, default policy %s, %s table memory)",
               unit_mode_to_string(p->mode), domain_type_to_string(policy),
               table_mem_kind_to_string(table_mem_get_kind(mem)))) {
                diag("%s", err.message);
                return NULL;
        }
        gsts = reg(&p->u, &layout_gsts);
        rtaddr = reg(&p->u, &layout_rtaddr);
        diag("taken: GSTS 0x%08" PRIx64 ", RTADDR 0x%016" PRIx64 ", %s invalidation, %zu table pages", gsts,
             rtaddr, invalidator_backends[owned_unit_invalidator(unit)]->name, table_mem_pages_used(mem));
        t(rtaddr == owned_unit_rtaddr(unit) && FIELD_GET(GSTS, RTPS, &gsts) &&
                  !FIELD_GET(GSTS, TES, &gsts) &&
                  FIELD_GET(GSTS, QIES, &gsts) == (owned_unit_invalidator(unit) == INVALIDATOR_QUEUED),
          "RTADDR holds the root table with TTM %s, GSTS has RTPS, QIES as the %s backend wants, no TES",
          p->mode == UNIT_MODE_SCALABLE ? "01" : "00",
          invalidator_backends[owned_unit_invalidator(unit)]->name);
        r = owned_unit_power(unit, true, &err);
        gsts = reg(&p->u, &layout_gsts);
        if (!t(r >= 0 && FIELD_GET(GSTS, TES, &gsts), "power on: GSTS.TES set (0x%08" PRIx64 ")", gsts))
                diag("%s", err.message);
        return unit;
}

static bool power_off_release(probe *p, owned_unit *unit) {
        iommu_error err = {};
        uint64_t gsts;
        int r;

        r = owned_unit_power(unit, false, &err);
        gsts = reg(&p->u, &layout_gsts);
        if (!t(r >= 0 && !FIELD_GET(GSTS, TES, &gsts), "power off: GSTS.TES clear (0x%08" PRIx64 ")", gsts))
                diag("%s", err.message);
        r = owned_unit_release(unit, &err);
        gsts = reg(&p->u, &layout_gsts);
        if (!t(r >= 0 && !FIELD_GET(GSTS, TES, &gsts) && !FIELD_GET(GSTS, QIES, &gsts),
               "owned_unit_release: translation and the queue off (GSTS 0x%08" PRIx64 ")", gsts))
                diag("%s", err.message);
        return r >= 0;
}

static const char *const invalidate_what_names[] = {
        [INVALIDATE_GLOBAL] = "global",
        [INVALIDATE_DOMAIN] = "domain-selective",
        [INVALIDATE_PAGE] = "page-selective",
};

/* The IOTLB really caches: a leaf cleared behind the library's back still
 * translates until owned_unit_invalidate (what) drops it.  Shows that the
 * unmap checks can fail, and that the invalidation by hand works. */
static void stale(probe *p, owned_unit *unit, uint16_t did, invalidate_what what) {
        const char *name = invalidate_what_names[what];
        uint8_t want[XFER];
        iommu_error err = {};
        uint64_t *leaf, saved;
        unsigned level = 0;
        int r;

        r = owned_unit_map(unit, did, IOVA_STALE, p->stale.phys, 4096, PT_READ | PT_WRITE, &err);
        if (!t(r >= 0, "%s: page 0x%" PRIx64 " mapped at IOVA 0x%" PRIx64, name, p->stale.phys,
               IOVA_STALE)) {
                diag("%s", err.message);
                return;
        }
        fill(p->rw.virt, XFER);
        memcpy(want, p->rw.virt, XFER);
        memset(p->stale.virt, 0, 4096);
        t(round_trip(&p->edu, IOVA_RW, IOVA_STALE, want, p->stale.virt),
          "%s: edu writes IOVA 0x%" PRIx64 " (its translation is now cached)", name, IOVA_STALE);
        leaf = entry_of(p->mem, owned_unit_rtaddr(unit), p->mode == UNIT_MODE_SCALABLE, IOVA_STALE, &level);
        if (t(leaf && level == 1 && ss_pte_addr(*leaf) == p->stale.phys,
              "%s: its leaf found in the tables the unit walks", name)) {
                saved = *leaf;
                __atomic_store_n(leaf, 0, __ATOMIC_SEQ_CST);
                memset(p->stale.virt, 0, 4096);
                t(edu_dma_said(&p->edu, IOVA_STALE, true) && same(p->stale.virt, want, XFER) &&
                          !frcd(&p->u).f,
                  "%s: with the leaf cleared and nothing invalidated, DMA still arrives (QEMU's IOTLB "
                  "caches)",
                  name);
                r = owned_unit_invalidate(unit, what, did, IOVA_STALE, 0, &err);
                if (!t(r >= 0, "owned_unit_invalidate: %s (domain %u, 0x%" PRIx64 ")", name, did,
                       IOVA_STALE))
                        diag("%s", err.message);
                memset(p->stale.virt, 0, 4096);
                t(edu_dma_said(&p->edu, IOVA_STALE, true) && zero(p->stale.virt, 4096),
                  "%s: after it the DMA does not land", name);
                check_record(&p->u, name, IOVA_STALE, true, FR_WRITE);
                clear_faults(unit, &p->u, name);
                /* put it back for the library's own unmap; a not-present
                 * entry is not cached, even under caching mode (QEMU) */
                __atomic_store_n(leaf, saved, __ATOMIC_SEQ_CST);
        }
        r = owned_unit_unmap(unit, did, IOVA_STALE, 4096, &err);
        if (r < 0)
                diag("unmapping 0x%" PRIx64 ": %s", IOVA_STALE, err.message);
}

/* A 2 MiB page of the probe's own at a 2 MiB aligned IOVA: one 2 MiB
 * leaf; unmapping a 4 KiB page in it splits the leaf, and the cached 2 MiB
 * translation must go. */
static void large_page(probe *p, owned_unit *unit, uint16_t did) {
        uint64_t cut = IOVA_HUGE + 0x100000, *e;
        uint8_t want[XFER];
        iommu_error err = {};
        unsigned level = 0;
        int r;

        r = owned_unit_map(unit, did, IOVA_HUGE, p->huge.phys, TABLE_MEM_CHUNK, PT_READ | PT_WRITE, &err);
        if (!t(r >= 0, "2 MiB page 0x%" PRIx64 " mapped at IOVA 0x%" PRIx64, p->huge.phys, IOVA_HUGE)) {
                diag("%s", err.message);
                return;
        }
        e = entry_of(p->mem, owned_unit_rtaddr(unit), p->mode == UNIT_MODE_SCALABLE, cut, &level);
        t(e && level == 2 && ss_pte_addr(*e) == p->huge.phys,
          "the tables map it with one 2 MiB leaf (level %u)", level);
        memset(p->huge.virt, 0, TABLE_MEM_CHUNK);
        fill(p->huge.virt + 0x1000, XFER);
        memcpy(want, p->huge.virt + 0x1000, XFER);
        t(round_trip(&p->edu, IOVA_HUGE + 0x1000, cut + 0x800, want, p->huge.virt + 0x100800) &&
                  !frcd(&p->u).f,
          "edu reads and writes through the 2 MiB page (0x%" PRIx64 ", 0x%" PRIx64 ")", IOVA_HUGE + 0x1000,
          cut + 0x800);

        r = owned_unit_unmap(unit, did, cut, 4096, &err);
        if (!t(r >= 0, "4 KiB at 0x%" PRIx64 " unmapped out of it", cut))
                diag("%s", err.message);
        e = entry_of(p->mem, owned_unit_rtaddr(unit), p->mode == UNIT_MODE_SCALABLE, cut + 0x1000, &level);
        t(e && level == 1 && ss_pte_addr(*e) == p->huge.phys + 0x101000 &&
                  !entry_of(p->mem, owned_unit_rtaddr(unit), p->mode == UNIT_MODE_SCALABLE, cut, &level),
          "the leaf was split into 4 KiB pages, the cut one not present");
        memset(p->huge.virt + 0x100000, 0, 0x2000);
        t(edu_dma_said(&p->edu, cut + 0x800, true) && zero(p->huge.virt + 0x100000, 0x1000),
          "edu's write to the cut page does not land (the cached 2 MiB translation went)");
        check_record(&p->u, "write to the cut page", cut, true, FR_WRITE);
        clear_faults(unit, &p->u, "write to the cut page");
        t(edu_dma_said(&p->edu, cut + 0x1800, true) && same(p->huge.virt + 0x101800, want, XFER) &&
                  !frcd(&p->u).f,
          "its neighbour 0x%" PRIx64 " still translates", cut + 0x1000);
        r = owned_unit_unmap(unit, did, IOVA_HUGE, cut - IOVA_HUGE, &err);
        if (r >= 0)
                r = owned_unit_unmap(unit, did, cut + 0x1000, IOVA_HUGE + TABLE_MEM_CHUNK - cut - 0x1000,
                                     &err);
        if (!t(r >= 0, "the rest of the 2 MiB unmapped"))
                diag("%s", err.message);
}

/* The queue wraps around (256 slots legacy, 128 scalable): 300
 * invalidations of two descriptors each; what follows still needs it. */
static void queue_wraps(owned_unit *unit, uint16_t did) {
        const inv_counts *counts = owned_unit_invalidations(unit);
        uint64_t issued = counts->issued[INV_KIND_IOTLB][INV_GRANULARITY_PAGE];
        iommu_error err = {};
        unsigned n = 0;
        int r = 0;

        for (; n < 300 && r >= 0; n++)
                r = owned_unit_invalidate(unit, INVALIDATE_PAGE, did, IOVA_STALE, 0, &err);
        issued = counts->issued[INV_KIND_IOTLB][INV_GRANULARITY_PAGE] - issued;
        if (!t(r >= 0 && issued == 300,
               "300 invalidations in a row: the queue wraps around (%u done, %" PRIu64 " counted)", n,
               issued))
                diag("%s", err.message);
}

/* A take refused for its configuration leaves the unit as it was (no
 * queue left on that would make the next take fail as "in use"). */
static void refused_take(probe *p, table_mem *mem) {
        owned_unit_config c = { .mode = p->mode, .default_policy = DOMAIN_PAGING };
        owned_unit *unit = NULL;
        iommu_error err = {};
        uint64_t gsts;
        int r;

        r = owned_unit_new("dmar0", p->u.regs, mem, &c, &unit, &err);
        gsts = reg(&p->u, &layout_gsts);
        diag("error: %s", r < 0 ? err.message : "(none)");
        t(r == -EINVAL && !unit && gsts == 0 && table_mem_pages_used(mem) == 0,
          "a take with a paging default policy is refused (EINVAL) and leaves GSTS 0x%08" PRIx64, gsts);
        owned_unit_free(unit);
}

/* The first take: hugetlbfs, pass-through default, everything. */
static void first_take(probe *p, table_mem *mem) {
        _cleanup_(owned_unit_freep) owned_unit *unit = NULL;
        uint8_t want[XFER], before[XFER];
        iommu_error err = {};
        fault_record f;
        uint16_t did;
        void *huge;
        int r;

        unit = take(p, mem, DOMAIN_PASSTHROUGH, false, false);
        if (!unit)
                return;
        r = owned_unit_domain_create(unit, DOMAIN_PAGING, -1, &did, &err);
        if (r >= 0)
                r = owned_unit_attach(unit, EDU_BUS, EDU_DEVFN, did, &err);
        if (!t(r >= 0, "a paging domain (DID %u), edu 00:03.0 attached to it", did)) {
                diag("%s", err.message);
                return;
        }
        r = owned_unit_map(unit, did, IOVA_RW, p->rw.phys, 4096, PT_READ | PT_WRITE, &err);
        if (!t(r >= 0, "page 0x%" PRIx64 " mapped read-write at IOVA 0x%" PRIx64, p->rw.phys, IOVA_RW)) {
                diag("%s", err.message);
                return;
        }

        /* a pattern from the first half of the page into edu and back
         * to the second half */
        memset(p->rw.virt, 0, 4096);
        fill(p->rw.virt, XFER);
        memcpy(want, p->rw.virt, XFER);
        t(round_trip(&p->edu, IOVA_RW, IOVA_RW + XFER, want, p->rw.virt + XFER),
          "edu reads IOVA 0x%" PRIx64 " and writes IOVA 0x%" PRIx64 ": the pattern arrives", IOVA_RW,
          IOVA_RW + XFER);
        f = frcd(&p->u);
        t(!f.f && !ppf(&p->u), "no fault recorded by it");

        /* read-only: edu's write faults and does not land, its read works */
        r = owned_unit_map(unit, did, IOVA_RO, p->ro.phys, 4096, PT_READ, &err);
        if (!t(r >= 0, "page 0x%" PRIx64 " mapped read-only at IOVA 0x%" PRIx64, p->ro.phys, IOVA_RO))
                diag("%s", err.message);
        fill(p->ro.virt, 4096);
        memcpy(before, p->ro.virt, XFER);
        fill(p->rw.virt, XFER);
        t(edu_dma_said(&p->edu, IOVA_RW, false) && edu_dma_said(&p->edu, IOVA_RO, true) &&
                  same(p->ro.virt, before, XFER),
          "edu's write to the read-only mapping does not land");
        check_record(&p->u, "write to read-only", IOVA_RO, true, FR_WRITE);
        clear_faults(unit, &p->u, "write to read-only");
        memset(p->rw.virt, 0, 4096);
        t(round_trip(&p->edu, IOVA_RO, IOVA_RW, before, p->rw.virt), "edu reads the read-only mapping");
        t(!frcd(&p->u).f, "no fault recorded by the read");
        /* Now the read-only translation is in QEMU's IOTLB, and a write
         * that hits it is refused without a record: QEMU 7.2 checks the
         * permission only when it walks.  Said, not judged. */
        fill(p->rw.virt, XFER);
        t(edu_dma_said(&p->edu, IOVA_RW, false) && edu_dma_said(&p->edu, IOVA_RO, true) &&
                  same(p->ro.virt, before, XFER),
          "edu's write to the read-only mapping, cached now, does not land either");
        f = frcd(&p->u);
        diag("a write hitting the cached read-only translation was %srecorded", f.f ? "" : "not ");
        if (f.f)
                (void) owned_unit_clear_faults(unit, NULL, NULL);

        /* unmapped: the record, a second fault dropped while F is set,
         * recorded once it is cleared */
        t(edu_dma_said(&p->edu, IOVA_UNMAPPED, true), "edu writes unmapped IOVA 0x%" PRIx64, IOVA_UNMAPPED);
        check_record(&p->u, "write to unmapped", IOVA_UNMAPPED, true, FR_WRITE);
        t(edu_dma_said(&p->edu, IOVA_UNMAPPED2, false) && frcd(&p->u).addr == IOVA_UNMAPPED,
          "a second fault (read of 0x%" PRIx64
          ") while F is set is not recorded: the record keeps 0x%" PRIx64,
          IOVA_UNMAPPED2, IOVA_UNMAPPED);
        clear_faults(unit, &p->u, "write to unmapped");
        t(edu_dma_said(&p->edu, IOVA_UNMAPPED2, false), "edu reads unmapped IOVA 0x%" PRIx64 " again",
          IOVA_UNMAPPED2);
        check_record(&p->u, "second fault, after clearing", IOVA_UNMAPPED2, false, FR_READ);
        clear_faults(unit, &p->u, "second fault");

        /* a whole chunk of table memory: the buffer that wants a 2 MiB page */
        r = table_mem_alloc_chunk(mem, &huge, &p->huge.phys, &err);
        if (t(r >= 0 && p->huge.phys % TABLE_MEM_CHUNK == 0,
              "a 2 MiB chunk of the hugetlbfs table memory for a buffer: 0x%" PRIx64,
              r >= 0 ? p->huge.phys : 0)) {
                p->huge.virt = huge;
                large_page(p, unit, did);
                table_mem_free_chunk(mem, p->huge.phys);
        } else
                diag("%s", err.message);
        stale(p, unit, did, INVALIDATE_PAGE);

        queue_wraps(unit, did);

        /* unmap: the cached translation of IOVA_RW must go with it */
        r = owned_unit_unmap(unit, did, IOVA_RW, 4096, &err);
        if (!t(r >= 0, "IOVA 0x%" PRIx64 " unmapped (it was used: its translation is cached)", IOVA_RW))
                diag("%s", err.message);
        memset(p->rw.virt, 0, 4096);
        t(edu_dma_said(&p->edu, IOVA_RW + XFER, true) && zero(p->rw.virt, 4096),
          "edu's write to the old IOVA 0x%" PRIx64 " does not land (the IOTLB was invalidated)",
          IOVA_RW + XFER);
        check_record(&p->u, "write after unmap", IOVA_RW, true, FR_WRITE);
        clear_faults(unit, &p->u, "write after unmap");
        r = owned_unit_unmap(unit, did, IOVA_RO, 4096, &err);
        if (r < 0)
                diag("unmapping 0x%" PRIx64 ": %s", IOVA_RO, err.message);

        /* detach: back to pass-through, IOVA = physical address */
        r = owned_unit_detach(unit, EDU_BUS, EDU_DEVFN, &err);
        if (!t(r >= 0 && owned_unit_device_domain(unit, EDU_BUS, EDU_DEVFN) == -1,
               "edu detached: it follows the default policy (pass-through)"))
                diag("%s", err.message);
        fill(p->low.virt, XFER);
        memcpy(want, p->low.virt, XFER);
        memset(p->low.virt + XFER, 0, XFER);
        t(round_trip(&p->edu, p->low.phys, p->low.phys + XFER, want, p->low.virt + XFER) && !frcd(&p->u).f,
          "pass-through: edu reads and writes physical address 0x%" PRIx64, p->low.phys);
        r = owned_unit_domain_destroy(unit, did, &err);
        if (!t(r >= 0, "domain %u destroyed", did))
                diag("%s", err.message);

        if (power_off_release(p, unit)) {
                /* translation off: nothing translates, nothing faults */
                fill(p->low.virt, XFER);
                memcpy(want, p->low.virt, XFER);
                memset(p->low.virt + XFER, 0, XFER);
                t(round_trip(&p->edu, p->low.phys, p->low.phys + XFER, want, p->low.virt + XFER) &&
                          !frcd(&p->u).f,
                  "released: edu reaches physical memory untranslated");
        }
        unit = owned_unit_free(unit);
        t(table_mem_pages_used(mem) == 0, "every table page handed back (%zu in use)",
          table_mem_pages_used(mem));
}

/* The second take: locked memory, blocked default, register-based
 * invalidation where the mode allows it. */
static void second_take(probe *p, table_mem *mem) {
        _cleanup_(owned_unit_freep) owned_unit *unit = NULL;
        bool scalable = p->mode == UNIT_MODE_SCALABLE;
        uint8_t want[XFER];
        iommu_error err = {};
        uint16_t did;
        int r;

        unit = take(p, mem, DOMAIN_BLOCKED, !scalable, true);
        if (!unit)
                return;
        t(owned_unit_invalidator(unit) == (scalable ? INVALIDATOR_QUEUED : INVALIDATOR_REGISTER),
          "the %s invalidation backend", scalable ? "queued (scalable mode needs it)" : "register-based");
        /* blocked, and edu never had an entry: no root entry for its bus */
        fill(p->rw.virt, 4096);
        memcpy(want, p->rw.virt, XFER);
        t(edu_dma_said(&p->edu, IOVA_RW, true) && same(p->rw.virt, want, XFER),
          "blocked: edu's write does not land");
        check_record(&p->u, "blocked, no entry", IOVA_RW, true, FR_ROOT_ENTRY_P);
        clear_faults(unit, &p->u, "blocked, no entry");

        r = owned_unit_domain_create(unit, DOMAIN_PAGING, -1, &did, &err);
        if (r >= 0)
                r = owned_unit_attach(unit, EDU_BUS, EDU_DEVFN, did, &err);
        if (r >= 0)
                r = owned_unit_map(unit, did, IOVA_RW, p->rw.phys, 4096, PT_READ | PT_WRITE, &err);
        if (!t(r >= 0, "a paging domain (DID %u), edu attached, page mapped at 0x%" PRIx64, did, IOVA_RW)) {
                diag("%s", err.message);
                return;
        }
        /* the RMRR: identity-mapped in the domain edu joined, and kept */
        fill(p->rw.virt, XFER);
        memcpy(want, p->rw.virt, XFER);
        memset(p->low2.virt, 0, 4096);
        t(round_trip(&p->edu, IOVA_RW, p->low2.phys, want, p->low2.virt) && !frcd(&p->u).f,
          "the RMRR over 0x%" PRIx64 " is mapped 1:1 in the paging domain edu joined", p->low2.phys);
        r = owned_unit_unmap(unit, did, p->low2.phys, 4096, &err);
        diag("error: %s", r < 0 ? err.message : "(none)");
        t(r == -EPERM, "unmapping the RMRR is refused (EPERM)");
        stale(p, unit, did, INVALIDATE_DOMAIN);
        stale(p, unit, did, INVALIDATE_GLOBAL);
        /* last, so that its translation is cached when it is unmapped */
        memset(p->rw.virt, 0, 4096);
        fill(p->rw.virt, XFER);
        memcpy(want, p->rw.virt, XFER);
        t(round_trip(&p->edu, IOVA_RW, IOVA_RW + XFER, want, p->rw.virt + XFER) && !frcd(&p->u).f,
          "the pattern makes the round trip through IOVA 0x%" PRIx64, IOVA_RW);
        r = owned_unit_unmap(unit, did, IOVA_RW, 4096, &err);
        if (!t(r >= 0, "IOVA 0x%" PRIx64 " unmapped", IOVA_RW))
                diag("%s", err.message);
        memset(p->rw.virt, 0, 4096);
        t(edu_dma_said(&p->edu, IOVA_RW + XFER, true) && zero(p->rw.virt, 4096),
          "edu's write to the old IOVA does not land (%s invalidation)",
          invalidator_backends[owned_unit_invalidator(unit)]->name);
        check_record(&p->u, "write after unmap", IOVA_RW, true, FR_WRITE);
        clear_faults(unit, &p->u, "write after unmap");

        r = owned_unit_map(unit, did, IOVA_RW, p->rw.phys, 4096, PT_READ | PT_WRITE, &err);
        if (r >= 0)
                r = owned_unit_detach(unit, EDU_BUS, EDU_DEVFN, &err);
        if (!t(r >= 0, "mapped again, then edu detached: the default policy, blocked"))
                diag("%s", err.message);
        memset(p->rw.virt, 0, 4096);
        t(edu_dma_said(&p->edu, IOVA_RW, true) && zero(p->rw.virt, 4096),
          "blocked: edu's write to the mapped IOVA does not land");
        /* legacy: the context entry's present bit is clear; scalable: the
         * PASID entry's, which QEMU reports as an invalid PASID entry */
        check_record(&p->u, "blocked after detach", IOVA_RW, true,
                     scalable ? FR_PASID_TABLE_INV : FR_CONTEXT_ENTRY_P);
        clear_faults(unit, &p->u, "blocked after detach");
        r = owned_unit_domain_destroy(unit, did, &err);
        if (r < 0)
                diag("destroying domain %u: %s", did, err.message);
        (void) power_off_release(p, unit);
        unit = owned_unit_free(unit);
        t(table_mem_pages_used(mem) == 0, "every table page handed back (%zu in use)",
          table_mem_pages_used(mem));
}

/* The first GiB of physical memory at IOVA 0 of a paging domain: one
 * 1 GiB leaf; unmapping the page low splits it into 2 MiB leaves and the
 * one holding low into 4 KiB pages; its neighbour low2 still translates. */
static void gib_page(probe *p, owned_unit *unit, uint16_t did) {
        bool scalable = p->mode == UNIT_MODE_SCALABLE;
        uint64_t gib = UINT64_C(1) << 30, *e;
        uint8_t want[XFER];
        iommu_error err = {};
        unsigned level = 0, l2 = 0;
        int r;

        r = owned_unit_map(unit, did, 0, 0, gib, PT_READ | PT_WRITE, &err);
        if (!t(r >= 0, "the first GiB mapped 1:1 at IOVA 0")) {
                diag("%s", err.message);
                return;
        }
        e = entry_of(p->mem, owned_unit_rtaddr(unit), scalable, p->low.phys, &level);
        t(e && level == 3 && ss_pte_addr(*e) == 0, "the tables map it with one 1 GiB leaf (level %u)",
          level);
        fill(p->low.virt, XFER);
        memcpy(want, p->low.virt, XFER);
        memset(p->low2.virt, 0, 4096);
        t(round_trip(&p->edu, p->low.phys, p->low2.phys, want, p->low2.virt) && !frcd(&p->u).f,
          "edu reads 0x%" PRIx64 " and writes 0x%" PRIx64 " through it", p->low.phys, p->low2.phys);

        r = owned_unit_unmap(unit, did, p->low.phys, 4096, &err);
        if (!t(r >= 0, "4 KiB at 0x%" PRIx64 " unmapped out of it", p->low.phys))
                diag("%s", err.message);
        e = entry_of(p->mem, owned_unit_rtaddr(unit), scalable, p->low2.phys, &level);
        t(e && level == 1 && ss_pte_addr(*e) == p->low2.phys &&
                  !entry_of(p->mem, owned_unit_rtaddr(unit), scalable, p->low.phys, &l2) &&
                  entry_of(p->mem, owned_unit_rtaddr(unit), scalable, (p->low.phys + TABLE_MEM_CHUNK) % gib,
                           &l2) &&
                  l2 == 2,
          "the leaf was split: 4 KiB pages around the cut, 2 MiB leaves elsewhere");
        memset(p->low.virt, 0, 4096);
        t(edu_dma_said(&p->edu, p->low.phys, true) && zero(p->low.virt, 4096),
          "edu's write to the cut page does not land (the cached 1 GiB translation went)");
        check_record(&p->u, "write to the cut page", p->low.phys, true, FR_WRITE);
        clear_faults(unit, &p->u, "write to the cut page");
        memset(p->low2.virt, 0, 4096);
        t(edu_dma_said(&p->edu, p->low2.phys, true) && same(p->low2.virt, want, XFER) && !frcd(&p->u).f,
          "its neighbour 0x%" PRIx64 " still translates", p->low2.phys);
        r = owned_unit_unmap(unit, did, 0, p->low.phys, &err);
        if (r >= 0)
                r = owned_unit_unmap(unit, did, p->low.phys + 4096, gib - p->low.phys - 4096, &err);
        if (!t(r >= 0, "the rest of the GiB unmapped"))
                diag("%s", err.message);
}

/* The third take: the identity default policy, System RAM mapped 1:1 in
 * tables iommud builds; a device moved to a paging domain and back. */
static void third_take(probe *p, const iommu_ctx *c, table_mem *mem) {
        _cleanup_(owned_unit_freep) owned_unit *unit = NULL;
        _cleanup_free_ phys_range *ram = NULL;
        static const uint16_t devices[] = { EDU_BUS << 8 | EDU_DEVFN };
        owned_unit_config cfg = { .mode = p->mode,
                                  .default_policy = DOMAIN_IDENTITY,
                                  .devices = devices,
                                  .n_devices = ELEMENTSOF(devices) };
        uint8_t want[XFER];
        iommu_error err = {};
        uint16_t did;
        size_t n_ram = 0;
        int r;

        r = iomem_system_ram(c, &ram, &n_ram, &err);
        if (!t(r >= 0 && n_ram > 0, "System RAM from /proc/iomem (%zu ranges)", n_ram)) {
                diag("%s", err.message);
                return;
        }
        cfg.ram = ram;
        cfg.n_ram = n_ram;
        p->mem = mem;
        r = owned_unit_new("dmar0", p->u.regs, mem, &cfg, &unit, &err);
        if (r >= 0)
                r = owned_unit_power(unit, true, &err);
        if (!t(r >= 0, "owned_unit_new takes dmar0 (identity default policy, %zu table pages), powered on",
               table_mem_pages_used(mem))) {
                diag("%s", err.message);
                return;
        }
        fill(p->low.virt, XFER);
        memcpy(want, p->low.virt, XFER);
        memset(p->low.virt + XFER, 0, XFER);
        t(round_trip(&p->edu, p->low.phys, p->low.phys + XFER, want, p->low.virt + XFER) && !frcd(&p->u).f,
          "identity: edu reads and writes physical address 0x%" PRIx64 " through the tables", p->low.phys);
        r = owned_unit_domain_create(unit, DOMAIN_PAGING, -1, &did, &err);
        if (r >= 0)
                r = owned_unit_attach(unit, EDU_BUS, EDU_DEVFN, did, &err);
        if (!t(r >= 0, "edu attached to an empty paging domain (DID %u)", did))
                diag("%s", err.message);
        memset(p->low.virt + XFER, 0, XFER);
        t(edu_dma_said(&p->edu, p->low.phys + XFER, true) && zero(p->low.virt + XFER, XFER),
          "edu's write to 0x%" PRIx64 " does not land in the paging domain", p->low.phys + XFER);
        check_record(&p->u, "identity address in the paging domain", p->low.phys + XFER, true, FR_WRITE);
        clear_faults(unit, &p->u, "identity address in the paging domain");
        gib_page(p, unit, did);
        r = owned_unit_detach(unit, EDU_BUS, EDU_DEVFN, &err);
        if (r >= 0)
                r = owned_unit_domain_destroy(unit, did, &err);
        if (!t(r >= 0, "edu detached: back to the identity domain"))
                diag("%s", err.message);
        fill(p->low.virt, XFER);
        memcpy(want, p->low.virt, XFER);
        memset(p->low.virt + XFER, 0, XFER);
        t(round_trip(&p->edu, p->low.phys, p->low.phys + XFER, want, p->low.virt + XFER) && !frcd(&p->u).f,
          "identity again: edu reads and writes physical address 0x%" PRIx64, p->low.phys);
        (void) power_off_release(p, unit);
        unit = owned_unit_free(unit);
        t(table_mem_pages_used(mem) == 0, "every table page handed back (%zu in use)",
          table_mem_pages_used(mem));
}

static int run_owned(const iommu_ctx *c, unit_mode mode, unsigned aw, bool cm) {
        _cleanup_(table_mem_freep) table_mem *huge = NULL;
        _cleanup_(table_mem_freep) table_mem *locked = NULL;
        probe p = { .mode = mode };
        iommu_error err = {};
        const char *what = "";
        uint64_t gsts;
        int r;

        if (open_dmar0(c, &p.u) < 0)
                return 1;
        t(FIELD_GET(CAP, MGAW, &p.u.cap) + 1 == aw && FIELD_GET(CAP, CM, &p.u.cap) == cm &&
                  (mode == UNIT_MODE_LEGACY || FIELD_GET(ECAP, SMTS, &p.u.ecap)),
          "CAP says aw-bits %u and caching mode %s%s", aw, cm ? "on" : "off",
          mode == UNIT_MODE_SCALABLE ? ", ECAP.SMTS scalable mode" : "");
        gsts = reg(&p.u, &layout_gsts);
        t(gsts == 0, "nobody owns dmar0 (intel_iommu=off): GSTS 0x%08" PRIx64, gsts);

        r = edu_open(&p.edu, &what);
        if (r < 0)
                diag("%s: %s", what, strerror(-r));
        if (!t(r >= 0 && (edu_read(&p.edu, EDU_IDENT) & 0xff) == 0xed,
               "edu's BAR0 mapped (ident 0x%08" PRIx64 "), bus mastering on",
               r >= 0 ? edu_read(&p.edu, EDU_IDENT) : 0))
                return 1;
        if (pool_open() < 0 || !pool_page(0, &p.rw) || !pool_page(0, &p.ro) || !pool_page(0, &p.stale)) {
                t(false, "locked buffer pages with their physical addresses");
                return 1;
        }
        if (!pool_pair(EDU_REACH, &p.low, &p.low2)) {
                t(false, "two adjacent buffer pages edu reaches untranslated (below 256 MiB)");
                return 1;
        }
        diag("buffer pages: 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 ", below 256 MiB 0x%" PRIx64
             " and 0x%" PRIx64,
             p.rw.phys, p.ro.phys, p.stale.phys, p.low.phys, p.low2.phys);

        r = table_mem_open_hugetlbfs(HUGETLBFS_FILE, &huge, &err);
        if (t(r >= 0, "table memory on hugetlbfs (%s)", HUGETLBFS_FILE)) {
                table_mem_remove(huge);
                refused_take(&p, huge);
                first_take(&p, huge);
        } else
                diag("%s", err.message);

        r = table_mem_open_locked(&locked, &err);
        if (t(r >= 0, "locked table memory")) {
                second_take(&p, locked);
                third_take(&p, c, locked);
        } else
                diag("%s", err.message);
        p.u.regs = iommu_regs_free(p.u.regs);
        return 0;
}

/* ---- kernel: the unit is the kernel's, and stays as it is ---- */

static int run_kernel(const iommu_ctx *c) {
        static const layout *const before_after[] = { &layout_ver,  &layout_cap,  &layout_ecap,
                                                      &layout_gcmd, &layout_gsts, &layout_rtaddr,
                                                      &layout_ccmd, &layout_fsts };
        uint64_t before[ELEMENTSOF(before_after)], after[ELEMENTSOF(before_after)];
        _cleanup_(table_mem_freep) table_mem *mem = NULL;
        owned_unit_config cfg = { .mode = UNIT_MODE_LEGACY, .default_policy = DOMAIN_PASSTHROUGH };
        owned_unit *unit = NULL;
        char expect[256];
        iommu_error err = {};
        unit_regs u = {};
        bool equal = true;
        int r;

        if (open_dmar0(c, &u) < 0)
                return 1;
        for (size_t i = 0; i < ELEMENTSOF(before_after); i++)
                before[i] = reg(&u, before_after[i]);
        t(FIELD_GET(GSTS, TES, &before[4]) && FIELD_GET(GSTS, QIES, &before[4]),
          "the kernel owns dmar0: GSTS 0x%08" PRIx64 " has TES and QIES", before[4]);
        if (table_mem_open_locked(&mem, &err) < 0) {
                t(false, "locked table memory: %s", err.message);
                return 1;
        }
        r = owned_unit_new("dmar0", u.regs, mem, &cfg, &unit, &err);
        t(r == -EBUSY && !unit, "owned_unit_new is refused with EBUSY (got %d)", r);
        snprintf(expect, sizeof expect,
                 "dmar0 is in use (GSTS 0x%08" PRIx64
                 ": translation, queued invalidation on): boot with intel_iommu=off to let iommud manage it",
                 before[4]);
        diag("error: %s", r < 0 ? err.message : "(none)");
        t(r < 0 && streq(err.message, expect), "the sentence names what is on and says intel_iommu=off");
        for (size_t i = 0; i < ELEMENTSOF(before_after); i++) {
                after[i] = reg(&u, before_after[i]);
                diag("%-6s 0x%016" PRIx64 " then 0x%016" PRIx64, before_after[i]->name, before[i], after[i]);
                equal &= before[i] == after[i];
        }
        t(equal, "VER..FSTS read the same before and after");
        t(table_mem_pages_used(mem) == 0 && table_mem_chunks(mem) == 0, "no table memory was taken");
        owned_unit_free(unit);
        u.regs = iommu_regs_free(u.regs);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(iommu_ctx_freep) iommu_ctx *c = NULL;
        const char *what = argc > 1 ? argv[1] : "";
        uint64_t start = edu_now_usec();

        if (!((streq(what, "owned") && argc == 5 &&
               (streq(argv[2], "legacy") || streq(argv[2], "scalable")) &&
               (streq(argv[3], "39") || streq(argv[3], "48")) &&
               (streq(argv[4], "on") || streq(argv[4], "off"))) ||
              (streq(what, "kernel") && argc == 2))) {
                fprintf(stderr, "Usage: %s owned legacy|scalable 39|48 on|off\n       %s kernel\n", argv[0],
                        argv[0]);
                return 2;
        }
        if (iommu_ctx_new(NULL, &c) < 0) {
                printf("Bail out! out of memory\n");
                return 1;
        }
        if (streq(what, "kernel"))
                (void) run_kernel(c);
        else
                (void) run_owned(c, streq(argv[2], "scalable") ? UNIT_MODE_SCALABLE : UNIT_MODE_LEGACY,
                                 (unsigned) atoi(argv[3]), streq(argv[4], "on"));
        diag("probe ran %.2f s", (double) (edu_now_usec() - start) / 1e6);
        printf("1..%u\n", n_tests);
        fflush(stdout);
        return n_failed == 0 && n_tests > 0 ? 0 : 1;
}
