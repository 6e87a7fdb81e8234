/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest side of tests/vm/access-check: the access backends against QEMU's
 * VT-d model, judged by what the guest kernel shows independently.
 *
 *   access-check legacy|scalable   (intel_iommu=on iomem=relaxed)
 *     registers through /dev/mem (iommu_regs_read_layout) equal sysfs
 *     cap/ecap/version; GSTS (32-bit) has TES; every register layout reads
 *     in its own width without stopping the VM; RTADDR's mode; the root
 *     table read through /proc/kcore is System RAM, its bus-0 entry present,
 *     and the edu device's context entry present and pointing into RAM.
 *   access-check strict            (intel_iommu=on, no iomem=relaxed)
 *     mapping the register window fails with EPERM and a sentence that
 *     says iomem=relaxed; RAM through /proc/kcore still works.
 *
 * Prints TAP on stdout; exit 0 when every test passed.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "access/ctx.h"
#include "decode/entries.h"
#include "decode/layouts.h"
#include "decode/regs.h"

#define SYSFS_UNIT "/sys/class/iommu/dmar0/intel-iommu"
#define WINDOW_SIZE 0x1000u

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
        return ok;
}

static void _printf_(1, 2) diag(const char *fmt, ...) {
        va_list ap;

        fputs("# ", stdout);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
}

/* A sysfs number: hex without 0x ("d2008c22260286"). */
static int sysfs_hex(const iommu_ctx *c, const char *file, uint64_t *ret) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        size_t size;
        char *end;
        int r;

        if (asprintf(&path, SYSFS_UNIT "/%s", file) < 0)
                return -ENOMEM;
        r = iommu_ctx_read_file(c, path, 64, (void **) &text, &size, NULL);
        if (r < 0)
                return r;
        errno = 0;
        *ret = strtoull(text, &end, 16);
        if (errno != 0 || end == text || (*end != '\n' && *end != '\0'))
                return -EINVAL;
        return 0;
}

/* "1:0" */
static int sysfs_version(const iommu_ctx *c, unsigned *ret_major, unsigned *ret_minor) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = iommu_ctx_read_file(c, SYSFS_UNIT "/version", 64, (void **) &text, &size, NULL);
        if (r < 0)
                return r;
        if (sscanf(text, "%u:%u", ret_major, ret_minor) != 2)
                return -EINVAL;
        return 0;
}

/* The edu device's devfn on bus 0 (run-guest puts it at 00:03.0). */
static int find_edu(const iommu_ctx *c, unsigned *ret_devfn) {
        _cleanup_free_ char *dir_path = iommu_ctx_path(c, "/sys/bus/pci/devices");
        DIR *d;
        struct dirent *de;
        int r = -ENODEV;

        if (!dir_path)
                return -ENOMEM;
        d = opendir(dir_path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *vendor = NULL, *device = NULL, *vp = NULL, *dp = NULL;
                unsigned dom, bus, dev, fn;
                size_t size;

                if (sscanf(de->d_name, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
                        continue;
                if (asprintf(&vp, "/sys/bus/pci/devices/%s/vendor", de->d_name) < 0 ||
                    asprintf(&dp, "/sys/bus/pci/devices/%s/device", de->d_name) < 0)
                        break;
                if (iommu_ctx_read_file(c, vp, 64, (void **) &vendor, &size, NULL) < 0 ||
                    iommu_ctx_read_file(c, dp, 64, (void **) &device, &size, NULL) < 0)
                        continue;
                if (strncmp(vendor, "0x1234", 6) == 0 && strncmp(device, "0x11e8", 6) == 0 && dom == 0 &&
                    bus == 0) {
                        *ret_devfn = dev << 3 | fn;
                        r = 0;
                        break;
                }
        }
        closedir(d);
        return r;
}

static bool ranges_inside(const phys_range *in, size_t n_in, const phys_range *out, size_t n_out) {
        for (size_t i = 0; i < n_in; i++) {
                bool found = false;
                for (size_t j = 0; j < n_out && !found; j++)
                        found = in[i].start >= out[j].start && in[i].end <= out[j].end;
                if (!found)
                        return false;
        }
        return true;
}

/* RAM through /proc/kcore: the root table and the edu's context entry. */
static void check_tables(iommu_ram *ram, uint64_t rtaddr, bool scalable, unsigned devfn) {
        static uint8_t root[VTD_PAGE_SIZE], again[VTD_PAGE_SIZE], ctx_page[VTD_PAGE_SIZE];
        uint64_t rta = ENTRY_ADDR(RTADDR, RTA, &rtaddr), e[4], ctp, ptr;
        unsigned present = 0;
        iommu_error err = {};
        int r;

        if (!t(iommu_ram_contains(ram, rta, VTD_PAGE_SIZE),
               "root table at 0x%" PRIx64 " is System RAM (kcore)", rta))
                return;
        r = iommu_ram_read(ram, rta, root, sizeof root, &err);
        if (!t(r == 0, "root table page reads through /proc/kcore")) {
                diag("%s", err.message);
                return;
        }
        for (unsigned bus = 0; bus < 256; bus++) {
                memcpy(e, root + bus * 16, 16);
                if (FIELD_GET(ROOT, P, e) || (scalable && FIELD_GET(SM_ROOT, UP, e)))
                        present++;
        }
        diag("%u of 256 root entries present", present);
        memcpy(e, root, 16);
        diag("bus 0 root entry: 0x%016" PRIx64 " 0x%016" PRIx64, e[1], e[0]);
        if (!t(scalable ? sm_root_present(e, devfn) : root_present(e),
               "bus-0 root entry is present (%s, bit 0)", scalable ? "scalable LP" : "legacy P"))
                return;

        /* the same page again, in two reads of 2 KiB at different offsets */
        r = iommu_ram_read(ram, rta, again, 2048, &err);
        if (r == 0)
                r = iommu_ram_read(ram, rta + 2048, again + 2048, 2048, &err);
        t(r == 0 && memcmp(root, again, sizeof root) == 0, "root table read again in halves is the same");

        ctp = scalable ? sm_root_ctp(e, devfn) : root_ctp(e);
        if (!t(iommu_ram_contains(ram, ctp, VTD_PAGE_SIZE),
               "bus-0 context table at 0x%" PRIx64 " is System RAM", ctp))
                return;
        r = iommu_ram_read(ram, ctp, ctx_page, sizeof ctx_page, &err);
        if (!t(r == 0, "bus-0 context table reads through /proc/kcore")) {
                diag("%s", err.message);
                return;
        }
        if (scalable) {
                /* 256-bit entries, devfn 0-127 in the lower table */
                memcpy(e, ctx_page + devfn * 32, 32);
                diag("edu 00:%02x.%u scalable context entry: 0x%016" PRIx64 " 0x%016" PRIx64, devfn >> 3,
                     devfn & 7, e[1], e[0]);
                if (!t(sm_context_present(e), "edu's scalable-mode context entry is present"))
                        return;
                ptr = sm_context_pasiddirptr(e);
                t(iommu_ram_contains(ram, ptr, VTD_PAGE_SIZE),
                  "edu's PASID directory at 0x%" PRIx64 " is System RAM", ptr);
        } else {
                memcpy(e, ctx_page + devfn * 16, 16);
                diag("edu 00:%02x.%u context entry: 0x%016" PRIx64 " 0x%016" PRIx64
                     " (TT %u, DID %u, %u levels)",
                     devfn >> 3, devfn & 7, e[1], e[0], context_tt(e), context_did(e), context_levels(e));
                if (!t(context_present(e), "edu's context entry is present"))
                        return;
                if (context_tt(e) == CONTEXT_TT_PASS_THROUGH) {
                        t(true, "edu's context entry is pass-through (no page table)");
                        return;
                }
                ptr = context_ssptptr(e);
                t(iommu_ram_contains(ram, ptr, VTD_PAGE_SIZE),
                  "edu's second-stage page table at 0x%" PRIx64 " is System RAM", ptr);
        }
}

static int check_relaxed(const iommu_ctx *c, bool scalable) {
        _cleanup_(iommu_regs_freep) iommu_regs *regs = NULL;
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        _cleanup_free_ phys_range *sysram = NULL;
        uint64_t s_cap = 0, s_ecap = 0, s_addr = 0, cap = 0, ecap = 0, rtaddr = 0, v[LAYOUT_MAX_QWORDS],
                 total = 0;
        unsigned s_major = 0, s_minor = 0, n_read = 0, n_outside = 0, devfn = 0x18;
        iommu_error err = {};
        size_t n_sysram = 0;
        bool ok;
        int r;

        ok = sysfs_hex(c, "cap", &s_cap) == 0 && sysfs_hex(c, "ecap", &s_ecap) == 0 &&
             sysfs_hex(c, "address", &s_addr) == 0 && sysfs_version(c, &s_major, &s_minor) == 0;
        if (!t(ok, "sysfs " SYSFS_UNIT "/{cap,ecap,version,address} parse"))
                return 1;
        diag("sysfs: address 0x%" PRIx64 " cap 0x%016" PRIx64 " ecap 0x%016" PRIx64 " version %u:%u", s_addr,
             s_cap, s_ecap, s_major, s_minor);

        r = iommu_regs_open_devmem(c, s_addr, WINDOW_SIZE, &regs, &err);
        if (!t(r == 0, "/dev/mem maps the register window at 0x%" PRIx64, s_addr)) {
                diag("%s", err.message);
                return 1;
        }

        r = iommu_regs_read_layout(regs, &layout_cap, 0, 0, 0, v, &err);
        cap = v[0];
        t(r == 0 && cap == s_cap, "CAP through iommu_regs_read_layout (0x%016" PRIx64 ") equals sysfs cap",
          cap);
        r = iommu_regs_read_layout(regs, &layout_ecap, 0, 0, 0, v, &err);
        ecap = v[0];
        t(r == 0 && ecap == s_ecap, "ECAP (0x%016" PRIx64 ") equals sysfs ecap", ecap);
        r = iommu_regs_read_layout(regs, &layout_ver, cap, ecap, 0, v, &err);
        t(r == 0 && FIELD_GET(VER, MAX, v) == s_major && FIELD_GET(VER, MIN, v) == s_minor,
          "VER (32-bit, 0x%08" PRIx64 ") equals sysfs version %u:%u", v[0], s_major, s_minor);
        r = iommu_regs_read_layout(regs, &layout_gsts, cap, ecap, 0, v, &err);
        t(r == 0 && FIELD_GET(GSTS, TES, v) == 1, "GSTS (32-bit, 0x%08" PRIx64 ") has TES set", v[0]);
        r = iommu_regs_read_layout(regs, &layout_rtaddr, cap, ecap, 0, v, &err);
        rtaddr = v[0];
        t(r == 0 && FIELD_GET(RTADDR, TTM, &rtaddr) == (scalable ? 1u : 0u) &&
                  FIELD_GET(ECAP, SMTS, &ecap) == (scalable ? 1u : 0u),
          "RTADDR (0x%016" PRIx64 ") TTM and ECAP.SMTS say %s mode", rtaddr,
          scalable ? "scalable" : "legacy");

        r = iommu_regs_read_layout(regs, &layout_frcd, cap, ecap, 0, v, &err);
        t(r == 0, "FRCD 0 (128-bit at CAP.FRO 0x%" PRIx64 ") reads: 0x%016" PRIx64 "%016" PRIx64,
          layout_offset(&layout_frcd, cap, ecap), v[1], v[0]);
        r = iommu_regs_read_layout(regs, &layout_iotlb, cap, ecap, 0, v, &err);
        t(r == 0, "IOTLB (64-bit at ECAP.IRO, 0x%" PRIx64 ") reads: 0x%016" PRIx64,
          layout_offset(&layout_iotlb, cap, ecap), v[0]);

        /* Every register, in its own width: a wrong width stops the VM and
         * the run ends in the time-out instead of here. */
        ok = true;
        for (size_t i = 0; i < n_register_layouts; i++) {
                const layout *l = register_layouts[i];
                r = iommu_regs_read_layout(regs, l, cap, ecap, 0, v, &err);
                if (r == -ERANGE)
                        n_outside++;
                else if (r < 0) {
                        diag("%s: %s", l->name, err.message);
                        ok = false;
                } else
                        n_read++;
        }
        t(ok, "every register layout reads in its own width (%u read, %u outside the window)", n_read,
          n_outside);
        regs = iommu_regs_free(regs);

        r = iomem_system_ram(c, &sysram, &n_sysram, &err);
        for (size_t i = 0; r == 0 && i < n_sysram; i++)
                total += sysram[i].end - sysram[i].start + 1;
        if (!t(r == 0 && n_sysram > 0, "/proc/iomem has System RAM ranges (%zu, %" PRIu64 " MiB)", n_sysram,
               total >> 20))
                diag("%s", err.message);

        /* RAM is never MMIO: CONFIG_STRICT_DEVMEM refuses it even with
         * iomem=relaxed, and the sentence says it is RAM. */
        if (r == 0 && n_sysram > 0) {
                uint64_t page = sysram[n_sysram - 1].start + 0x100000;
                r = iommu_regs_open_devmem(c, page, WINDOW_SIZE, &regs, &err);
                t(r == -EPERM && strstr(err.message, "System RAM"),
                  "mapping RAM at 0x%" PRIx64 " through /dev/mem is refused as System RAM", page);
                diag("error: %s", r < 0 ? err.message : "(none)");
                regs = iommu_regs_free(regs);
        }

        r = iommu_ram_open_kcore(c, &ram, &err);
        if (!t(r == 0, "/proc/kcore opens as RAM")) {
                diag("%s", err.message);
                return 1;
        }
        for (size_t i = 0; i < ram->n_ranges; i++)
                diag("kcore RAM 0x%09" PRIx64 "-0x%09" PRIx64, ram->ranges[i].start, ram->ranges[i].end);
        t(ram->n_ranges > 0 && ranges_inside(ram->ranges, ram->n_ranges, sysram, n_sysram),
          "kcore RAM ranges (%zu) lie inside System RAM", ram->n_ranges);

        if (find_edu(c, &devfn) < 0 || devfn >= 128) {
                diag("edu not found on bus 0 in sysfs; checking 00:03.0 anyway");
                devfn = 0x18;
        }
        check_tables(ram, rtaddr, scalable, devfn);
        return 0;
}

static int check_strict(const iommu_ctx *c) {
        _cleanup_(iommu_regs_freep) iommu_regs *regs = NULL;
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        uint64_t s_addr = 0;
        iommu_error err = {};
        int r;

        if (!t(sysfs_hex(c, "address", &s_addr) == 0, "sysfs %s/address parses (the kernel owns the unit)",
               SYSFS_UNIT))
                return 1;
        r = iommu_regs_open_devmem(c, s_addr, WINDOW_SIZE, &regs, &err);
        t(r == -EPERM,
          "mapping the register window at 0x%" PRIx64 " without iomem=relaxed fails with EPERM (got %d)",
          s_addr, r);
        diag("error: %s", r < 0 ? err.message : "(none)");
        t(r < 0 && strstr(err.message, "iomem=relaxed"), "the error says to boot with iomem=relaxed");
        t(r < 0 && strstr(err.message, "/dev/mem"), "the error names /dev/mem");

        r = iommu_ram_open_kcore(c, &ram, &err);
        if (!t(r == 0 && ram->n_ranges > 0,
               "/proc/kcore still opens as RAM (iomem=relaxed is about MMIO only)"))
                diag("%s", err.message);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(iommu_ctx_freep) iommu_ctx *c = NULL;
        const char *mode = argc > 1 ? argv[1] : "";

        if (argc != 2 || (!streq(mode, "legacy") && !streq(mode, "scalable") && !streq(mode, "strict"))) {
                fprintf(stderr, "Usage: %s legacy|scalable|strict\n", argv[0]);
                return 2;
        }
        if (iommu_ctx_new(getenv("IOMMUD_SYSROOT"), &c) < 0) {
                printf("Bail out! out of memory\n");
                return 1;
        }
        if (streq(mode, "strict"))
                (void) check_strict(c);
        else
                (void) check_relaxed(c, streq(mode, "scalable"));
        printf("1..%u\n", n_tests);
        fflush(stdout);
        return n_failed == 0 && n_tests > 0 ? 0 : 1;
}
