/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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
        iommu_ram_free(s->ram);
        free(s->ram_ranges);
        json_object_put(s->devices);
        dmar_table_free(s->dmar);
        free(s->dmar_raw);
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
        if (u->sysfs.present)
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

static int units_from_dmar(iommu_system *s, iommu_error *err) {
        size_t n = 0;

        for (size_t i = 0; i < s->dmar->n_structures; i++)
                n += s->dmar->structures[i].type == DMAR_TYPE_DRHD;
        if (n == 0)
                return iommu_error_set(err, ENODEV, "The DMAR table describes no remapping unit (no DRHD)");

        s->units = calloc(n, sizeof *s->units);
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

static int load_dmar(iommu_system *s, const void *data, size_t size, iommu_error *err) {
        iommu_error e = {};
        int r;

        s->dmar_raw = malloc(size ? size : 1);
        if (!s->dmar_raw)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        memcpy(s->dmar_raw, data, size);
        s->dmar_size = size;

        r = dmar_parse(s->dmar_raw, size, &s->dmar, &e);
        if (r < 0)
                return iommu_error_set(err, r, "DMAR table: %s", e.message);
        return units_from_dmar(s, err);
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

static void sysfs_from_meta(iommu_unit *u, json_object *meta) {
        json_object *units = json_get(meta, "units");

        for (size_t i = 0; i < json_array_length(units); i++) {
                json_object *m = json_array_get(units, i), *f;

                if (!streq(json_get_string(m, "name"), u->name) || !(f = json_get(m, "sysfs")))
                        continue;
                if (json_object_get_type(f) != json_type_object)
                        continue;
                u->sysfs.present = true;
                u->sysfs.cap = json_get_u64(f, "cap");
                u->sysfs.ecap = json_get_u64(f, "ecap");
                u->sysfs.address = json_get_u64(f, "address");
                snprintf(u->sysfs.version, sizeof u->sysfs.version, "%s", json_get_string(f, "version"));
        }
}

int iommu_system_open_snapshot(const char *path, iommu_system **ret, iommu_error *err) {
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        const void *dmar;
        const phys_range *ranges;
        size_t size, n;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return iommu_error_set(err, ENOMEM, "Out of memory");

        r = snapshot_open(path, &s->snap, err);
        if (r < 0)
                return r;
        s->meta = snapshot_meta(s->snap);

        dmar = snapshot_dmar(s->snap, &size);
        r = load_dmar(s, dmar, size, err);
        if (r < 0)
                return r;

        if (snapshot_n_units(s->snap) != s->n_units)
                return iommu_error_set(err, EBADMSG,
                                       "Snapshot %s holds %zu units, its DMAR table describes %zu", path,
                                       snapshot_n_units(s->snap), s->n_units);

        for (size_t i = 0; i < s->n_units; i++) {
                const snapshot_unit *su = snapshot_unit_nth(s->snap, i);
                iommu_unit *u = &s->units[i];

                if (su->base != u->base)
                        return iommu_error_set(err, EBADMSG,
                                               "Snapshot %s: unit %s at 0x%" PRIx64
                                               " is not DRHD %zu's 0x%" PRIx64,
                                               path, su->name, su->base, i, u->base);
                snprintf(u->name, sizeof u->name, "%s", su->name);
                u->size = su->size;
                sysfs_from_meta(u, s->meta);

                r = snapshot_regs(s->snap, i, &u->regs);
                if (r < 0)
                        return iommu_error_set(err, r, "Snapshot %s: cannot read unit %s's registers", path,
                                               u->name);
                if (read_unit_registers(u) < 0) {
                        /* captured without registers (they were refused): keep the reason */
                        json_object *units = json_get(s->meta, "units");
                        for (size_t k = 0; k < json_array_length(units); k++) {
                                json_object *m = json_array_get(units, k);
                                if (streq(json_get_string(m, "name"), u->name) &&
                                    json_get(m, "registers_error"))
                                        iommu_error_set(&u->regs_error, EPERM, "%s",
                                                        json_get_string(m, "registers_error"));
                        }
                        u->regs = iommu_regs_free(u->regs);
                }
                owner_from_state(u);
        }

        ranges = snapshot_ram_ranges(s->snap, &n);
        if (n > 0) {
                s->ram_ranges = calloc(n, sizeof *ranges);
                if (!s->ram_ranges)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                memcpy(s->ram_ranges, ranges, n * sizeof *ranges);
                s->n_ram_ranges = n;
        }
        r = snapshot_ram(s->snap, &s->ram);
        if (r < 0)
                return iommu_error_set(err, r, "Snapshot %s: cannot read its RAM pages", path);

        *ret = TAKE_PTR(s);
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
                        json_object *d = json_get(s->meta, "devices");
                        if (!d || !json_object_is_type(d, json_type_array))
                                return iommu_error_set(err, EBADMSG, "The snapshot holds no device list");
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
