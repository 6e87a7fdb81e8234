/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <pci/pci.h>

#include "access/regs-sim.h"
#include "basic/json-util.h"
#include "basic/string-table.h"
#include "decode/layouts.h"
#include "decode/regs.h"
#include "model/devices.h"
#include "model/system.h"

static const char *const unit_owner_table[_UNIT_OWNER_MAX] = {
        [UNIT_OWNER_KERNEL] = "kernel",
        [UNIT_OWNER_IOMMUD] = "iommud",
        [UNIT_OWNER_NONE] = "none",
};

DEFINE_STRING_TABLE_LOOKUP(unit_owner, unit_owner, unit_owner_table, _UNIT_OWNER_MAX, _UNIT_OWNER_INVALID)

iommu_system *iommu_system_free(iommu_system *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_units; i++)
                iommu_regs_free(s->units[i].regs);
        free(s->units);
        if (s->overlaid)
                iommu_ram_free(s->machine_ram);
        iommu_ram_free(s->ram);
        free(s->ram_ranges);
        json_object_put(s->devices);
        dmar_table_free(s->dmar);
        free(s->dmar_raw);
        /* the unit and the image above point into the machine file */
        if (s->sim_map) {
                (void) munmap(s->sim_map, SIMULATED_MACHINE_SIZE);
                safe_close(s->sim_fd);
        }
        free(s->sim_machine);
        /* the snapshot's backends above point into it: free it last */
        snapshot_free(s->snap);
        free(s);
        return NULL;
}

/* The registers the model shows for every unit, each in its own width. */
static int read_unit_registers(iommu_unit *u) {
        const struct {
                const layout *l;
                uint64_t *dst;
        } regs[] = {
                { &layout_ver, &u->ver },   { &layout_cap, &u->cap },       { &layout_ecap, &u->ecap },
                { &layout_gsts, &u->gsts }, { &layout_rtaddr, &u->rtaddr }, { &layout_fsts, &u->fsts },
        };

        for (size_t i = 0; i < ELEMENTSOF(regs); i++) {
                uint64_t v[LAYOUT_MAX_QWORDS];
                int r = iommu_regs_read_layout(u->regs, regs[i].l, u->cap, u->ecap, 0, v, &u->regs_error);
                if (r < 0)
                        return r;
                *regs[i].dst = v[0];
        }
        /* GSTS's low 23 bits are reserved (zero): all ones is no unit
         * answering, the classic sign of a device gone from the bus */
        if (u->gsts == UINT32_MAX)
                return iommu_error_set(
                        &u->regs_error, EIO,
                        "%s's registers read all ones: the unit is gone, or nothing answers at "
                        "0x%" PRIx64,
                        u->name, u->base);
        u->have_regs = true;
        return 0;
}

/* The highest register a unit with these CAP/ECAP values has: the fault
 * recording registers and the IOTLB registers sit at offsets they give. */
static uint64_t unit_register_span(uint64_t cap, uint64_t ecap) {
        uint64_t frcd_end = FIELD_GET(CAP, FRO, &cap) * 16 + (FIELD_GET(CAP, NFR, &cap) + 1) * 16;
        uint64_t iotlb_end = FIELD_GET(ECAP, IRO, &ecap) * 16 + 16;
        uint64_t end = frcd_end > iotlb_end ? frcd_end : iotlb_end;
        return (end + VTD_PAGE_SIZE - 1) / VTD_PAGE_SIZE * VTD_PAGE_SIZE;
}

static void owner_from_state(iommu_unit *u) {
        if (u->iommud_owned)
                u->owner = UNIT_OWNER_IOMMUD;
        else if (u->sysfs.present)
                u->owner = UNIT_OWNER_KERNEL;
        /* Translation on with a root table iommud did not write: someone
         * else (the kernel, or firmware) runs it. */
        else if (u->have_regs && FIELD_GET(GSTS, TES, &u->gsts))
                u->owner = UNIT_OWNER_KERNEL;
        else
                u->owner = UNIT_OWNER_NONE;
}

static int parse_hex_u64(const char *s, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 16);
        if (errno || end == s || (*end && *end != '\n'))
                return -EINVAL;
        *ret = v;
        return 0;
}

static int read_sysfs_hex(const iommu_ctx *c, const char *dir, const char *file, uint64_t *ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ void *data = NULL;
        size_t size;
        int r;

        if (asprintf(&path, "/sys/class/iommu/%s/intel-iommu/%s", dir, file) < 0)
                return -ENOMEM;
        r = iommu_ctx_read_file(c, path, 64, &data, &size, NULL);
        if (r < 0)
                return r;
        return parse_hex_u64(data, ret);
}

/* Match /sys/class/iommu/dmarN to units by register address. */
static void read_sysfs_units(iommu_system *s) {
        _cleanup_free_ char *dir_path = iommu_ctx_path(s->ctx, "/sys/class/iommu");
        DIR *d;
        struct dirent *de;

        if (!dir_path || !(d = opendir(dir_path)))
                return;
        while ((de = readdir(d))) {
                unit_sysfs f = { .present = true };
                _cleanup_free_ char *vpath = NULL;
                _cleanup_free_ void *ver = NULL;
                size_t size;

                if (de->d_name[0] == '.' || strlen(de->d_name) >= SNAPSHOT_UNIT_NAME_MAX)
                        continue;
                if (read_sysfs_hex(s->ctx, de->d_name, "address", &f.address) < 0 ||
                    read_sysfs_hex(s->ctx, de->d_name, "cap", &f.cap) < 0 ||
                    read_sysfs_hex(s->ctx, de->d_name, "ecap", &f.ecap) < 0)
                        continue;
                if (asprintf(&vpath, "/sys/class/iommu/%s/intel-iommu/version", de->d_name) >= 0 &&
                    iommu_ctx_read_file(s->ctx, vpath, 32, &ver, &size, NULL) >= 0)
                        snprintf(f.version, sizeof f.version, "%.*s", (int) strcspn(ver, "\n"),
                                 (char *) ver);

                for (size_t i = 0; i < s->n_units; i++)
                        if (s->units[i].base == f.address) {
                                s->units[i].sysfs = f;
                                snprintf(s->units[i].name, sizeof s->units[i].name, "%.*s",
                                         SNAPSHOT_UNIT_NAME_MAX - 1, de->d_name);
                        }
        }
        closedir(d);
}

/* One unit per DRHD, in table order.  A live table without one is an
 * error; a snapshot's UNITS were checked against its DRHDs already. */
static int units_from_dmar(iommu_system *s, bool need_one, iommu_error *err) {
        size_t n = 0;

        for (size_t i = 0; i < s->dmar->n_structures; i++)
                n += s->dmar->structures[i].type == DMAR_TYPE_DRHD;
        if (n == 0 && need_one)
                return iommu_error_set(err, ENODEV, "The DMAR table describes no remapping unit (no DRHD)");

        s->units = calloc(n ?: 1, sizeof *s->units);
        if (!s->units)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        for (size_t i = 0; i < s->dmar->n_structures; i++) {
                const dmar_structure *d = &s->dmar->structures[i];
                iommu_unit *u;

                if (d->type != DMAR_TYPE_DRHD)
                        continue;
                u = &s->units[s->n_units];
                /* Linux names units dmar0, dmar1, ... in DRHD order */
                snprintf(u->name, sizeof u->name, "dmar%zu", s->n_units);
                u->drhd_index = i;
                u->segment = d->segment;
                u->base = d->address;
                u->size = dmar_drhd_register_size(s->dmar, d);
                u->include_pci_all = d->flags & DMAR_DRHD_INCLUDE_PCI_ALL;
                u->owner = UNIT_OWNER_NONE;
                s->n_units++;
        }
        return 0;
}

static int keep_dmar(iommu_system *s, const void *data, size_t size) {
        s->dmar_raw = malloc(size ?: 1);
        if (!s->dmar_raw)
                return -ENOMEM;
        memcpy(s->dmar_raw, data, size);
        s->dmar_size = size;
        return 0;
}

static int load_dmar(iommu_system *s, const void *data, size_t size, iommu_error *err) {
        iommu_error e = {};
        int r;

        if (keep_dmar(s, data, size) < 0)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = dmar_parse(s->dmar_raw, size, &s->dmar, &e);
        if (r < 0)
                return iommu_error_set(err, r, "DMAR table: %s", e.message);
        return units_from_dmar(s, true, err);
}

static void open_live_unit(iommu_system *s, iommu_unit *u) {
        uint64_t span;
        int r;

        r = iommu_regs_open_devmem(s->ctx, u->base, u->size, &u->regs, &u->regs_error);
        if (r < 0)
                return;

        /* CAP and ECAP first, to learn where the last registers sit */
        r = read_unit_registers(u);
        if (r < 0) {
                u->regs = iommu_regs_free(u->regs);
                return;
        }
        span = unit_register_span(u->cap, u->ecap);
        if (span > u->size) {
                u->regs = iommu_regs_free(u->regs);
                u->size = span;
                r = iommu_regs_open_devmem(s->ctx, u->base, u->size, &u->regs, &u->regs_error);
                if (r < 0)
                        u->have_regs = false;
        }
}

int iommu_system_open_live(const iommu_ctx *ctx, iommu_system **ret, iommu_error *err) {
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        _cleanup_free_ void *data = NULL;
        _cleanup_free_ char *path = NULL;
        iommu_error e = {};
        size_t size;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        s->ctx = ctx;

        r = iommu_ctx_read_file(ctx, "/sys/firmware/acpi/tables/DMAR", DMAR_MAX_SIZE, &data, &size, &e);
        if (r == -ENOENT) {
                path = iommu_ctx_path(ctx, "/sys/firmware/acpi/tables/DMAR");
                return iommu_error_set(err, ENODEV,
                                       "No DMAR table at %s: the firmware reports no Intel VT-d unit here",
                                       path ? path : "/sys/firmware/acpi/tables/DMAR");
        }
        if (r == -EACCES)
                return iommu_error_set(err, EACCES, "Reading the DMAR table needs root: %s", e.message);
        if (r < 0)
                return iommu_error_set(err, r, "%s", e.message);

        r = load_dmar(s, data, size, err);
        if (r < 0)
                return r;

        read_sysfs_units(s);
        for (size_t i = 0; i < s->n_units; i++) {
                open_live_unit(s, &s->units[i]);
                owner_from_state(&s->units[i]);
        }

        r = iomem_system_ram(ctx, &s->ram_ranges, &s->n_ram_ranges, &s->ram_error);
        if (r >= 0)
                (void) iommu_ram_open_kcore(ctx, &s->ram, &s->ram_error);

        *ret = TAKE_PTR(s);
        return 0;
}

/* The snapshot's META, as iommu-snapshot(5) has it and the reader checked
 * it; every member is still looked at by type, so nothing here depends on
 * that check for its safety. */
static json_object *meta_member(json_object *o, const char *key, json_type type) {
        json_object *v = NULL;

        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, type))
                return NULL;
        return v;
}

/* META units[i] describes unit i. */
static json_object *meta_unit(json_object *meta, size_t i) {
        json_object *units = meta_member(meta, "units", json_type_array), *u;

        if (!units || i >= json_object_array_length(units))
                return NULL;
        u = json_object_array_get_idx(units, i);
        return json_object_is_type(u, json_type_object) ? u : NULL;
}

static uint64_t meta_u64(json_object *o, const char *key) {
        json_object *v = meta_member(o, key, json_type_int);
        return v ? json_object_get_uint64(v) : 0;
}

static void sysfs_from_meta(iommu_unit *u, json_object *m) {
        json_object *f = meta_member(m, "sysfs", json_type_object), *version;

        if (!f)
                return;
        u->sysfs.present = true;
        u->sysfs.cap = meta_u64(f, "cap");
        u->sysfs.ecap = meta_u64(f, "ecap");
        u->sysfs.address = meta_u64(f, "address");
        version = meta_member(f, "version", json_type_string);
        snprintf(u->sysfs.version, sizeof u->sysfs.version, "%s",
                 version ? json_object_get_string(version) : "");
}

static int open_snapshot_unit(iommu_system *s, size_t i, iommu_error *err) {
        const snapshot_unit *su = snapshot_unit_nth(s->snap, i);
        iommu_unit *u = &s->units[i];
        json_object *m = meta_unit(s->meta, i), *why;
        int r;

        if (!su || su->base != u->base || su->segment != u->segment)
                return iommu_error_set(err, EBADMSG, "snapshot %s: unit %zu is not DRHD %zu's",
                                       snapshot_path(s->snap), i, i);
        snprintf(u->name, sizeof u->name, "%s", su->name);
        u->size = su->size;
        sysfs_from_meta(u, m);

        r = snapshot_regs(s->snap, i, &u->regs);
        if (r < 0)
                return iommu_error_set(err, r, "snapshot %s: cannot read unit %s's registers",
                                       snapshot_path(s->snap), u->name);
        if (read_unit_registers(u) < 0) {
                /* captured without registers (they were refused): keep the reason */
                why = meta_member(m, "registers_error", json_type_string);
                if (why)
                        iommu_error_set(&u->regs_error, EPERM, "%s", json_object_get_string(why));
                u->regs = iommu_regs_free(u->regs);
        }
        owner_from_state(u);
        return 0;
}

int iommu_system_open_snapshot(const char *path, iommu_system **ret, iommu_error *err) {
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        const phys_range *ranges;
        const void *dmar;
        json_object *ram_error;
        size_t n;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return iommu_error_set(err, ENOMEM, "Out of memory");

        r = snapshot_open(path, &s->snap, err);
        if (r < 0)
                return r;
        s->meta = snapshot_meta(s->snap);

        /* A machine without VT-d has no table: no units, and every answer
         * is the empty one. */
        dmar = snapshot_dmar(s->snap, &n);
        if (dmar) {
                r = snapshot_dmar_table(s->snap, &s->dmar, err);
                if (r < 0)
                        return r;
                if (keep_dmar(s, dmar, n) < 0)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                r = units_from_dmar(s, false, err);
                if (r < 0)
                        return r;
        }
        if (snapshot_n_units(s->snap) != s->n_units)
                return iommu_error_set(err, EBADMSG,
                                       "snapshot %s: holds %zu unit(s) but its DMAR table has %zu DRHD(s)",
                                       path, snapshot_n_units(s->snap), s->n_units);
        for (size_t i = 0; i < s->n_units; i++) {
                r = open_snapshot_unit(s, i, err);
                if (r < 0)
                        return r;
        }

        ranges = snapshot_ram_ranges(s->snap, &n);
        if (n > 0) {
                s->ram_ranges = calloc(n, sizeof *ranges);
                if (!s->ram_ranges)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                memcpy(s->ram_ranges, ranges, n * sizeof *ranges);
                s->n_ram_ranges = n;
        }
        /* RAM that could not be read when it was captured answers as it did then */
        ram_error = meta_member(s->meta, "ram_error", json_type_string);
        if (ram_error)
                iommu_error_set(&s->ram_error, ENODATA, "%s", json_object_get_string(ram_error));
        else {
                r = snapshot_ram(s->snap, &s->ram);
                if (r < 0)
                        return iommu_error_set(err, r, "snapshot %s: cannot read its RAM pages", path);
        }

        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- the simulated machine ---- */

/* QEMU 7.2, intel-iommu,intremap=off (hw/i386/intel_iommu.c, vtd_init):
 * FRO 0x22, NFR 0, ND 2 (256 domains), MAMV 0x12, PSI, SLLPS 2 MiB and
 * 1 GiB, MGAW and SAGAW from aw-bits, CM with caching-mode=on; ECAP QI,
 * IRO 0xf, PT, C 0 (QEMU snoops), and SMTS, SSTS, SRS, PASID with
 * x-scalable-mode=on. */
#define QEMU_CAP_AW48 UINT64_C(0x00d2008c222f0686)
#define QEMU_CAP_AW39 UINT64_C(0x00d2008c22260286)
#define QEMU_CAP_CM (UINT64_C(1) << 7)
#define QEMU_ECAP_LEGACY UINT64_C(0xf42)
#define QEMU_ECAP_SCALABLE UINT64_C(0x480080000f42)
#define QEMU_DRHD_BASE UINT64_C(0xfed90000)
/* where the pretend kernel's (empty) root table is */
#define KERNEL_ROOT_TABLE UINT64_C(0x01000000)

int iommu_sim_config_parse(const char *text, iommu_sim_config *ret, iommu_error *err) {
        iommu_sim_config c = { .address_width = 48, .caching_mode = true };
        const char *colon = strchr(text, ':'), *opt;
        size_t n = colon ? (size_t) (colon - text) : strlen(text);

        if (n == 6 && strncmp(text, "legacy", 6) == 0)
                c.scalable = false;
        else if (n == 8 && strncmp(text, "scalable", 8) == 0)
                c.scalable = true;
        else
                return iommu_error_set(err, EINVAL,
                                       "Unknown simulated mode '%.*s': legacy or scalable, then options "
                                       "after ':' (aw39, aw48, cm, nocm, kernel)",
                                       (int) (n > 32 ? 32 : n), text);
        for (opt = colon ? colon + 1 : NULL; opt;) {
                const char *comma = strchr(opt, ',');
                size_t k = comma ? (size_t) (comma - opt) : strlen(opt);

#define IS(word) (k == strlen(word) && strncmp(opt, word, k) == 0)
                if (IS("aw39"))
                        c.address_width = 39;
                else if (IS("aw48"))
                        c.address_width = 48;
                else if (IS("cm"))
                        c.caching_mode = true;
                else if (IS("nocm"))
                        c.caching_mode = false;
                else if (IS("kernel"))
                        c.kernel = true;
                else
                        return iommu_error_set(
                                err, EINVAL,
                                "Unknown simulation option '%.*s': aw39, aw48, cm, nocm or kernel",
                                (int) (k > 32 ? 32 : k), opt);
#undef IS
                opt = comma ? comma + 1 : NULL;
        }
        *ret = c;
        return 0;
}

const char *iommu_sim_config_to_string(const iommu_sim_config *c, char *buf, size_t size) {
        snprintf(buf, size, "%s:aw%u,%s%s", c->scalable ? "scalable" : "legacy", c->address_width,
                 c->caching_mode ? "cm" : "nocm", c->kernel ? ",kernel" : "");
        return buf;
}

static void put_le(uint8_t *p, uint64_t v, size_t n) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* QEMU's DMAR table for intel-iommu,intremap=off: one DRHD, INCLUDE_PCI_ALL. */
static int simulated_dmar(iommu_system *s, unsigned address_width, iommu_error *err) {
        uint8_t t[64] = {};
        uint8_t sum = 0;

        memcpy(t, "DMAR", 4);
        put_le(t + 4, sizeof t, 4);
        t[8] = 1; /* revision */
        memcpy(t + 10, "BOCHS ", 6);
        memcpy(t + 16, "BXPC    ", 8);
        put_le(t + 24, 1, 4);
        memcpy(t + 28, "BXPC", 4);
        put_le(t + 32, 1, 4);
        t[36] = (uint8_t) (address_width - 1); /* host address width, minus one */
        t[37] = 0;                             /* flags: no interrupt remapping */
        /* the DRHD */
        put_le(t + 48, DMAR_TYPE_DRHD, 2);
        put_le(t + 50, 16, 2);
        t[52] = DMAR_DRHD_INCLUDE_PCI_ALL;
        put_le(t + 54, 0, 2); /* segment */
        put_le(t + 56, QEMU_DRHD_BASE, 8);
        for (size_t i = 0; i < sizeof t; i++)
                sum = (uint8_t) (sum + t[i]);
        t[9] = (uint8_t) -sum;
        return load_dmar(s, t, sizeof t, err);
}

/* libpci's default error handler ends the process: never that.  Name
 * lookups only warn (no pci.ids: the numbers stand for the names); an
 * error jumps back out of the lookup.  Names come from pci.ids alone, not
 * udev's hwdb: the same wherever it runs (and libpci leaks a udev handle
 * per lookup where the hwdb cannot be opened). */
static jmp_buf pci_jump;

_printf_(1, 2) static void pci_quiet(char *msg, ...) {
        (void) msg;
}

_printf_(1, 2) _noreturn_ static void pci_error_jump(char *msg, ...) {
        (void) msg;
        longjmp(pci_jump, 1);
}

static void device_name(struct pci_access *pacc, char *buf, size_t size, uint16_t vendor, uint16_t device) {
        char name[256];

        if (setjmp(pci_jump)) {
                snprintf(buf, size, "Device %04x:%04x", vendor, device);
                return;
        }
        snprintf(buf, size, "%s",
                 pci_lookup_name(pacc, name, sizeof name,
                                 PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_HWDB, vendor,
                                 device));
}

/* QEMU's q35 with -device edu: what lspci shows in the guest. */
static int simulated_devices(iommu_system *s, iommu_error *err) {
        static const struct {
                uint8_t devfn;
                uint16_t vendor, device, class;
        } q35[] = {
                { 0x00, 0x8086, 0x29c0, 0x0600 }, /* host bridge */
                { 0x08, 0x1234, 0x1111, 0x0300 }, /* VGA */
                { 0x18, 0x1234, 0x11e8, 0x00ff }, /* edu */
                { 0xf8, 0x8086, 0x2918, 0x0601 }, /* LPC */
                { 0xfa, 0x8086, 0x2922, 0x0106 }, /* AHCI */
                { 0xfb, 0x8086, 0x2930, 0x0c05 }, /* SMBus */
        };
        _cleanup_json_ json_object *list = json_object_new_array();
        struct pci_access *pacc = pci_alloc();

        if (!list || !pacc) {
                if (pacc)
                        pci_cleanup(pacc);
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        pacc->error = pci_error_jump;
        pacc->warning = pci_quiet;
        pacc->debug = pci_quiet;
        for (size_t i = 0; i < ELEMENTSOF(q35); i++) {
                json_object *o = json_object_new_object();
                char bdf[BDF_STRING_MAX], name[256];

                if (!o || json_object_array_add(list, o) < 0) {
                        json_object_put(o);
                        pci_cleanup(pacc);
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                }
                json_object_object_add(o, "bdf",
                                       json_object_new_string(bdf_format(bdf, 0, 0, q35[i].devfn)));
                json_object_object_add(o, "vendor", json_object_new_int(q35[i].vendor));
                json_object_object_add(o, "device", json_object_new_int(q35[i].device));
                json_object_object_add(o, "class", json_object_new_int(q35[i].class));
                device_name(pacc, name, sizeof name, q35[i].vendor, q35[i].device);
                json_object_object_add(o, "name", json_object_new_string(name));
                json_object_object_add(o, "driver", NULL);
                json_object_object_add(o, "group", NULL);
                json_object_object_add(o, "iommu", NULL);
        }
        pci_cleanup(pacc);
        s->devices = TAKE_PTR(list);
        return 0;
}

/* The unit as the guest kernel's intel-iommu driver would leave it at
 * first: a root table (empty: every device blocked) and translation on. */
static int simulated_kernel(iommu_system *s, iommu_unit *u, bool scalable, iommu_error *err) {
        uint64_t rtaddr = KERNEL_ROOT_TABLE | (scalable ? UINT64_C(1) << RTADDR_TTM_LO : 0);
        int r;

        if (!iommu_ram_image_page(s->image, KERNEL_ROOT_TABLE))
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = iommu_regs_write(u->regs, layout_rtaddr.offset, 64, rtaddr, err);
        if (r >= 0)
                r = iommu_regs_write(u->regs, layout_gcmd.offset, 32, FIELD_MASK64(GCMD, SRTP), err);
        if (r >= 0)
                r = iommu_regs_write(u->regs, layout_gcmd.offset, 32, FIELD_MASK64(GCMD, TE), err);
        return r;
}

/* ---- the machine file (iommud --simulated-machine) ---- */

/* The unit (a window of 4 KiB) and a bit for each page of RAM fit their
 * places. */
static_assert(REGS_SIM_PERSIST_HEAD + 2 * (4096 + REGS_SIM_PERSIST_LATCHED) <=
                      SIMULATED_MACHINE_HELD - SIMULATED_MACHINE_UNIT,
              "the unit's place");
static_assert((SIMULATED_BUFFER_BASE - SIMULATED_TABLE_BASE) / VTD_PAGE_SIZE / 8 <=
                      SIMULATED_MACHINE_RAM - SIMULATED_MACHINE_HELD,
              "the held pages' place");

typedef struct machine_header {
        char magic[8];
        uint32_t version;
        uint32_t scalable;
        uint32_t address_width;
        uint32_t caching_mode;
        uint64_t size;
} machine_header;

#define MACHINE_VERSION 1u

/* A new machine file's temporary name: gone unless published. */
static void unlink_and_freep(char **p) {
        if (*p)
                (void) unlink(*p);
        free(*p);
}

/* A POSIX record lock: the process's own, so iommud's forked workers do
 * not hold it, and gone with the process, however it ends. */
static int machine_lock(int fd, const char *path, iommu_error *err) {
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

        if (fcntl(fd, F_SETLK, &fl) >= 0)
                return 0;
        if (errno != EACCES && errno != EAGAIN)
                return iommu_error_set(err, errno, "Cannot lock the simulated machine %s: %s", path,
                                       strerror(errno));
        fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
        if (fcntl(fd, F_GETLK, &fl) >= 0 && fl.l_type != F_UNLCK)
                return iommu_error_set(err, EBUSY, "The simulated machine %s is in use by process %d", path,
                                       (int) fl.l_pid);
        return iommu_error_set(err, EBUSY, "The simulated machine %s is in use by another process", path);
}

/* Whether the file is a machine of c's mode, read without a write. */
static int machine_check(int fd, const char *path, const iommu_sim_config *c, iommu_error *err) {
        iommu_sim_config have = {}, want = *c;
        machine_header h = {};
        char a[64], b[64];
        struct stat st;
        ssize_t n;

        if (fstat(fd, &st) < 0)
                return iommu_error_set(err, errno, "Cannot read the simulated machine %s: %s", path,
                                       strerror(errno));
        if (!S_ISREG(st.st_mode))
                return iommu_error_set(err, EINVAL, "%s is not a simulated machine: not a regular file",
                                       path);
        n = pread(fd, &h, sizeof h, 0);
        if (n < 0)
                return iommu_error_set(err, errno, "Cannot read the simulated machine %s: %s", path,
                                       strerror(errno));
        if ((size_t) n < sizeof h || memcmp(h.magic, SIMULATED_MACHINE_MAGIC, sizeof h.magic) != 0)
                return iommu_error_set(
                        err, EINVAL, "%s is not a simulated machine: no " SIMULATED_MACHINE_MAGIC " header",
                        path);
        if (h.version != MACHINE_VERSION)
                return iommu_error_set(err, EINVAL,
                                       "%s holds a simulated machine of format version %" PRIu32
                                       "; this iommud knows version %u",
                                       path, h.version, MACHINE_VERSION);
        if (h.size != SIMULATED_MACHINE_SIZE || (uint64_t) st.st_size != h.size)
                return iommu_error_set(
                        err, EINVAL, "%s is not a whole simulated machine: %" PRIu64 " bytes, not %" PRIu64,
                        path, (uint64_t) st.st_size, SIMULATED_MACHINE_SIZE);
        if (h.scalable > 1 || h.caching_mode > 1 || (h.address_width != 39 && h.address_width != 48))
                return iommu_error_set(err, EINVAL, "%s holds a simulated machine of no mode iommud knows",
                                       path);
        have = (iommu_sim_config){
                .scalable = h.scalable,
                .address_width = h.address_width,
                .caching_mode = h.caching_mode,
        };
        want.kernel = false;
        if (have.scalable != want.scalable || have.address_width != want.address_width ||
            have.caching_mode != want.caching_mode)
                return iommu_error_set(err, EINVAL, "%s holds a simulated %s machine, not %s", path,
                                       iommu_sim_config_to_string(&have, a, sizeof a),
                                       iommu_sim_config_to_string(&want, b, sizeof b));
        return 0;
}

/* A new machine file appears whole or not at all: it is made unnamed
 * (O_TMPFILE), or under a temporary name where the file system cannot,
 * and linked as path (machine_publish()) once its unit is at reset. */
static int machine_create(const char *path, int *ret_fd, char **ret_tmp, iommu_error *err) {
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_(unlink_and_freep) char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (!dir)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        fd = open(dirname(dir), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
                if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0)
                        tmp = mfree(tmp);
        }
        if (fd < 0 || ftruncate(fd, (off_t) SIMULATED_MACHINE_SIZE) < 0)
                return iommu_error_set(err, errno, "Cannot make the simulated machine %s: %s", path,
                                       strerror(errno));
        *ret_fd = TAKE_FD(fd);
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

static int machine_publish(int fd, char **tmp, const char *path, iommu_error *err) {
        char proc[64];
        int r, e;

        if (*tmp) {
                r = link(*tmp, path);
                e = errno;
                (void) unlink(*tmp);
                *tmp = mfree(*tmp);
        } else {
                snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
                r = linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
                e = errno;
        }
        if (r >= 0)
                return 0;
        if (e == EEXIST)
                return iommu_error_set(
                        err, EEXIST, "The simulated machine %s was made by another process meanwhile", path);
        return iommu_error_set(err, e, "Cannot make the simulated machine %s: %s", path, strerror(e));
}

/* Open c->machine, or make it: s->sim_* set, the RAM window in s->image.
 * *ret_tmp: the temporary name of a new file (NULL: unnamed); *ret_fresh:
 * new, to be published once the unit is at reset. */
static int machine_open(iommu_system *s, const iommu_sim_config *c, bool *ret_fresh, char **ret_tmp,
                        iommu_error *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_(unlink_and_freep) char *tmp = NULL;
        bool fresh = false;
        uint8_t *map;
        int r;

        s->sim_machine = strdup(c->machine);
        if (!s->sim_machine)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        fd = open(c->machine, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && errno == ENOENT) {
                r = machine_create(c->machine, &fd, &tmp, err);
                if (r < 0)
                        return r;
                fresh = true;
        } else if (fd < 0 && errno == EISDIR)
                return iommu_error_set(err, EINVAL, "%s is not a simulated machine: not a regular file",
                                       c->machine);
        else if (fd < 0)
                return iommu_error_set(err, errno, "Cannot open the simulated machine %s: %s", c->machine,
                                       strerror(errno));
        /* another mode is said even while another process has the file */
        r = fresh ? 0 : machine_check(fd, c->machine, c, err);
        if (r >= 0)
                r = machine_lock(fd, c->machine, err);
        if (r < 0)
                return r;
        map = mmap(NULL, SIMULATED_MACHINE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED)
                return iommu_error_set(err, errno, "Cannot map the simulated machine %s: %s", c->machine,
                                       strerror(errno));
        s->sim_map = map;
        s->sim_fd = TAKE_FD(fd);
        if (fresh) {
                machine_header h = {
                        .version = MACHINE_VERSION,
                        .scalable = c->scalable,
                        .address_width = c->address_width,
                        .caching_mode = c->caching_mode,
                        .size = SIMULATED_MACHINE_SIZE,
                };
                memcpy(h.magic, SIMULATED_MACHINE_MAGIC, sizeof h.magic);
                memcpy(map, &h, sizeof h);
        }
        r = iommu_ram_image_back(s->image, SIMULATED_TABLE_BASE, SIMULATED_BUFFER_BASE - 1,
                                 &(iommu_ram_backing){
                                         .mem = map + SIMULATED_MACHINE_RAM,
                                         .held = map + SIMULATED_MACHINE_HELD,
                                         .fd = s->sim_fd,
                                         .fd_offset = SIMULATED_MACHINE_RAM,
                                 });
        if (r < 0)
                return iommu_error_set(err, -r, "Cannot keep the simulated RAM in %s: %s", c->machine,
                                       strerror(-r));
        *ret_fresh = fresh;
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

int iommu_system_open_simulated(const iommu_sim_config *c, iommu_system **ret, iommu_error *err) {
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        regs_sim_config rc = {
                .base = QEMU_DRHD_BASE,
                .ver = 0x10,
                .cap = (c->address_width == 39 ? QEMU_CAP_AW39 : QEMU_CAP_AW48) & ~QEMU_CAP_CM,
                .ecap = c->scalable ? QEMU_ECAP_SCALABLE : QEMU_ECAP_LEGACY,
                /* iommud serves it for as long as it runs, and reads no log */
                .no_log = true,
        };
        _cleanup_(unlink_and_freep) char *tmp = NULL;
        iommu_error e = {};
        bool fresh = false;
        iommu_unit *u;
        int r;

        if (c->address_width != 39 && c->address_width != 48)
                return iommu_error_set(err, EINVAL, "A simulated unit has aw-bits 39 or 48, not %u",
                                       c->address_width);
        if (c->kernel && c->machine)
                return iommu_error_set(
                        err, EINVAL,
                        "A simulated kernel builds its tables anew each time: 'kernel' cannot "
                        "go with the machine file %s",
                        c->machine);
        if (c->caching_mode)
                rc.cap |= QEMU_CAP_CM;
        s = calloc(1, sizeof *s);
        if (!s)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = iommu_ram_new_image(&s->ram);
        if (r >= 0)
                r = iommu_ram_image_add_range(s->ram, 0, SIMULATED_RAM_END);
        s->ram_ranges = calloc(1, sizeof *s->ram_ranges);
        if (r < 0 || !s->ram_ranges)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        s->ram_ranges[0] = (phys_range){ 0, SIMULATED_RAM_END };
        s->n_ram_ranges = 1;
        s->image = s->ram;
        if (c->machine) {
                r = machine_open(s, c, &fresh, &tmp, err);
                if (r < 0)
                        return r;
                rc.persist = (uint8_t *) s->sim_map + SIMULATED_MACHINE_UNIT;
                rc.resume = !fresh;
        }

        r = simulated_dmar(s, c->address_width, err);
        if (r < 0)
                return r;
        r = simulated_devices(s, err);
        if (r < 0)
                return r;
        u = &s->units[0];
        r = iommu_regs_new_sim(&rc, s->image, &u->regs, &e);
        if (r < 0) {
                const char *why = e.message[0] ? e.message : strerror(-r);
                return c->machine ? iommu_error_set(err, -r, "%s: %s", c->machine, why)
                                  : iommu_error_set(err, -r, "%s", why);
        }
        if (fresh) {
                r = machine_publish(s->sim_fd, &tmp, c->machine, err);
                if (r < 0)
                        return r;
        }
        u->size = u->regs->size;
        if (c->kernel) {
                r = simulated_kernel(s, u, c->scalable, err);
                if (r < 0)
                        return r;
        }
        r = read_unit_registers(u);
        if (r < 0)
                return iommu_error_set(err, -r, "%s", u->regs_error.message);
        owner_from_state(u);
        *ret = TAKE_PTR(s);
        return 0;
}

int iommu_system_dmar_json(iommu_system *s, json_object **ret, iommu_error *err) {
        json_object *o;

        if (!s->dmar) {
                /* only a snapshot of a machine without one: it says so */
                _cleanup_(dmar_table_freep) dmar_table *none = NULL;
                return s->snap ? snapshot_dmar_table(s->snap, &none, err)
                               : iommu_error_set(err, ENODEV, "No DMAR table");
        }
        o = dmar_to_json(s->dmar);
        if (!o)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *ret = o;
        return 0;
}

iommu_unit *iommu_system_unit_by_name(iommu_system *s, const char *name) {
        for (size_t i = 0; i < s->n_units; i++)
                if (streq(s->units[i].name, name))
                        return &s->units[i];
        return NULL;
}

int iommu_system_devices(iommu_system *s, json_object **ret, iommu_error *err) {
        if (!s->devices) {
                if (s->snap) {
                        json_object *d = meta_member(s->meta, "devices", json_type_array);
                        if (!d)
                                return iommu_error_set(err, EBADMSG,
                                                       "snapshot %s: META holds no device list",
                                                       snapshot_path(s->snap));
                        s->devices = json_object_get(d);
                } else {
                        int r = devices_scan(s->ctx, &s->devices, err);
                        if (r < 0)
                                return r;
                }
        }
        *ret = s->devices;
        return 0;
}

/* Whether a DMAR device scope names this function: its path is followed
 * from the start bus through each bridge's secondary bus; a bridge scope
 * also covers everything below the bridge. */
static bool scope_covers(json_object *devices, const dmar_scope *sc, uint16_t segment, uint8_t bus,
                         uint8_t devfn) {
        unsigned b = sc->start_bus;

        if (sc->type_id != DMAR_SCOPE_ENDPOINT && sc->type_id != DMAR_SCOPE_BRIDGE)
                return false;
        for (size_t i = 0; i < sc->n_path; i++) {
                uint8_t df = (uint8_t) (sc->path[i].device << 3 | (sc->path[i].function & 7));
                json_object *d;

                if (i + 1 == sc->n_path && b == bus && df == devfn)
                        return true;
                d = devices_find(devices, segment, (uint8_t) b, df);
                if (!d || !json_get(d, "secondary_bus"))
                        return false;
                if (i + 1 == sc->n_path)
                        return sc->type_id == DMAR_SCOPE_BRIDGE && bus >= json_get_i64(d, "secondary_bus") &&
                               bus <= json_get_i64(d, "subordinate_bus");
                b = (unsigned) json_get_i64(d, "secondary_bus");
        }
        return false;
}

iommu_unit *iommu_system_unit_of(iommu_system *s, uint16_t segment, uint8_t bus, uint8_t devfn) {
        json_object *devices = s->devices, *d;

        /* The kernel's own answer, when it has the unit */
        d = devices_find(devices, segment, bus, devfn);
        if (d && json_get(d, "iommu")) {
                iommu_unit *u = iommu_system_unit_by_name(s, json_get_string(d, "iommu"));
                if (u)
                        return u;
        }

        for (size_t i = 0; i < s->n_units; i++) {
                iommu_unit *u = &s->units[i];
                const dmar_structure *drhd = &s->dmar->structures[u->drhd_index];

                if (u->segment != segment || u->include_pci_all)
                        continue;
                for (size_t k = 0; k < drhd->n_scopes; k++)
                        if (scope_covers(devices, &drhd->scopes[k], segment, bus, devfn))
                                return u;
        }
        for (size_t i = 0; i < s->n_units; i++)
                if (s->units[i].segment == segment && s->units[i].include_pci_all)
                        return &s->units[i];
        return NULL;
}

int iommu_system_scope_device(iommu_system *s, uint16_t segment, const dmar_scope *sc, uint8_t *ret_bus,
                              uint8_t *ret_devfn) {
        unsigned b = sc->start_bus;

        if ((sc->type_id != DMAR_SCOPE_ENDPOINT && sc->type_id != DMAR_SCOPE_BRIDGE) || sc->n_path == 0)
                return -EINVAL;
        for (size_t i = 0; i + 1 < sc->n_path; i++) {
                uint8_t df = (uint8_t) (sc->path[i].device << 3 | (sc->path[i].function & 7));
                json_object *d = devices_find(s->devices, segment, (uint8_t) b, df);

                if (!d || !json_get(d, "secondary_bus"))
                        return -ENODEV;
                b = (unsigned) json_get_i64(d, "secondary_bus");
        }
        *ret_bus = (uint8_t) b;
        *ret_devfn =
                (uint8_t) (sc->path[sc->n_path - 1].device << 3 | (sc->path[sc->n_path - 1].function & 7));
        return 0;
}

int iommu_system_set_table_memory(iommu_system *s, iommu_ram *const *views, size_t n) {
        iommu_ram *base = s->overlaid ? s->machine_ram : s->ram, *overlay = NULL;
        int r;

        if (n > 0) {
                r = iommu_ram_new_overlay(base, views, n, &overlay);
                if (r < 0)
                        return r;
        }
        if (s->overlaid)
                iommu_ram_free(s->ram);
        s->overlaid = n > 0;
        s->ram = n > 0 ? overlay : base;
        s->machine_ram = n > 0 ? base : NULL;
        return 0;
}

int iommu_system_update_table_memory(iommu_system *s) {
        return s->overlaid ? iommu_ram_overlay_update(s->ram) : 0;
}

void iommu_system_set_iommud_owned(iommu_system *s, iommu_unit *u, bool owned) {
        u->iommud_owned = owned;
        owner_from_state(u);
}

int iommu_system_refresh(iommu_system *s) {
        int ret = 0;

        for (size_t i = 0; i < s->n_units; i++) {
                iommu_unit *u = &s->units[i];
                int r;

                if (!u->regs)
                        continue;
                r = read_unit_registers(u);
                if (r < 0) {
                        u->have_regs = false;
                        ret = r;
                }
                owner_from_state(u);
        }
        return ret;
}
