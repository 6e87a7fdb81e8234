/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Capturing a system into a snapshot: the DMAR table, every implemented
 * register of every unit, platform facts, and each table page a full walk
 * reads (recorded on the way, so "reachable" means exactly what the walker
 * follows). */
#include <inttypes.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "basic/alloc-util.h"
#include "basic/json-util.h"
#include "config.h"
#include "decode/layouts.h"
#include "decode/regs.h"
#include "model/system.h"
#include "walk/walk.h"

static int compare_reg(const void *a, const void *b) {
        const snapshot_reg *x = a, *y = b;
        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Every register the unit implements, read in its own width. */
static int capture_registers(iommu_unit *u, snapshot_unit *su, iommu_error *err) {
        _cleanup_free_ snapshot_reg *regs = NULL;
        size_t n = 0, alloc = 0;

        for (size_t i = 0; i < layout_count(); i++) {
                const layout *l = layout_nth(i);
                unsigned records =
                        l->base == LAYOUT_BASE_FRO ? (unsigned) FIELD_GET(CAP, NFR, &u->cap) + 1 : 1;

                if (!layout_implemented(l, u->cap, u->ecap))
                        continue;
                for (unsigned k = 0; k < records; k++) {
                        uint64_t off = layout_offset(l, u->cap, u->ecap) + 16 * k;
                        unsigned width = l->width > 64 ? 64 : l->width;

                        for (unsigned q = 0; q < (l->width + 63u) / 64; q++) {
                                uint64_t v;
                                uint32_t o = (uint32_t) (off + 8 * q);
                                int r;

                                if (o + width / 8 > u->size)
                                        break; /* beyond the mapped window: not implemented here */
                                r = iommu_regs_read(u->regs, o, width, &v, err);
                                if (r < 0)
                                        return r;
                                if (!GREEDY_REALLOC_MIN(regs, alloc, n + 1, 64))
                                        return iommu_error_set(err, ENOMEM, "Out of memory");
                                regs[n++] =
                                        (snapshot_reg){ .offset = o, .width = (uint8_t) width, .value = v };
                        }
                }
        }
        qsort(regs, n, sizeof *regs, compare_reg);
        /* some registers share an offset in different views: keep one */
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (k == 0 || regs[k - 1].offset != regs[i].offset)
                        regs[k++] = regs[i];
        su->regs = TAKE_PTR(regs);
        su->n_regs = k;
        return 0;
}

static json_object *meta_units(iommu_system *s) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; i < s->n_units && a; i++) {
                iommu_unit *u = &s->units[i];
                json_object *o = json_object_new_object(), *f = NULL;

                json_object_object_add(o, "name", json_object_new_string(u->name));
                json_object_object_add(o, "address", json_object_new_uint64(u->base));
                if (u->sysfs.present) {
                        f = json_object_new_object();
                        json_object_object_add(f, "address", json_object_new_uint64(u->sysfs.address));
                        json_object_object_add(f, "cap", json_object_new_uint64(u->sysfs.cap));
                        json_object_object_add(f, "ecap", json_object_new_uint64(u->sysfs.ecap));
                        json_object_object_add(f, "version", json_object_new_string(u->sysfs.version));
                }
                json_object_object_add(o, "sysfs", f);
                json_object_object_add(o, "registers_error",
                                       u->have_regs ? NULL : json_object_new_string(u->regs_error.message));
                json_object_array_add(a, o);
        }
        return a;
}

static json_object *meta_new(iommu_system *s, json_object *devices) {
        json_object *m = json_object_new_object();
        struct utsname un;
        char when[64];
        time_t now = time(NULL);
        struct tm tm;

        if (!m)
                return NULL;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        json_object_object_add(m, "created", json_object_new_string(when));
        json_object_object_add(m, "tool", json_object_new_string("iommud " PACKAGE_VERSION));
        if (uname(&un) == 0) {
                json_object_object_add(m, "host", json_object_new_string(un.nodename));
                json_object_object_add(m, "kernel", json_object_new_string(un.release));
        }
        json_object_object_add(m, "units", meta_units(s));
        json_object_object_add(m, "devices", json_object_get(devices));
        json_object_object_add(m, "ram_error", s->ram ? NULL : json_object_new_string(s->ram_error.message));
        return m;
}

static int capture_pages(iommu_system *s, snapshot_writer *w, iommu_error *err) {
        _cleanup_(iommu_ram_freep) iommu_ram *rec = NULL;
        static const walk_ops no_ops = {};
        const uint64_t *pages;
        size_t n;
        int r;

        if (!s->ram)
                return 0;
        r = iommu_ram_new_recorder(s->ram, &rec);
        if (r < 0)
                return iommu_error_set(err, r, "Out of memory");

        for (size_t i = 0; i < s->n_units; i++) {
                iommu_unit *u = &s->units[i];

                if (!u->have_regs || !FIELD_GET(GSTS, RTPS, &u->gsts))
                        continue;
                r = walk_unit(rec, u->rtaddr, u->cap, u->ecap, &WALK_FILTER_ALL, &no_ops, NULL);
                if (r < 0)
                        return iommu_error_set(err, r, "Failed to walk %s's tables: %s", u->name,
                                               strerror(-r));
        }

        r = iommu_ram_recorded(rec, &pages, &n);
        if (r < 0)
                return iommu_error_set(err, r, "Out of memory");
        for (size_t i = 0; i < n; i++) {
                uint8_t page[VTD_PAGE_SIZE];
                /* pages the walk could not read were anomalies there; not captured */
                if (iommu_ram_read(s->ram, pages[i], page, sizeof page, NULL) < 0)
                        continue;
                r = snapshot_writer_add_page(w, pages[i], page);
                if (r < 0)
                        return iommu_error_set(err, r, "Cannot store page 0x%" PRIx64 ": %s", pages[i],
                                               strerror(-r));
        }
        return 0;
}

int iommu_system_save_snapshot(iommu_system *s, const char *path, iommu_error *err) {
        _cleanup_(snapshot_writer_freep) snapshot_writer *w = NULL;
        _cleanup_json_ json_object *meta = NULL;
        json_object *devices;
        int r;

        r = iommu_system_devices(s, &devices, err);
        if (r < 0)
                return r;
        r = snapshot_writer_new(&w);
        if (r < 0)
                return iommu_error_set(err, r, "Out of memory");

        meta = meta_new(s, devices);
        if (!meta)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = snapshot_writer_set_meta(w, meta);
        if (r >= 0)
                r = snapshot_writer_set_dmar(w, s->dmar_raw, s->dmar_size);
        if (r < 0)
                return iommu_error_set(err, r, "Cannot store the snapshot's facts: %s", strerror(-r));

        for (size_t i = 0; i < s->n_units; i++) {
                iommu_unit *u = &s->units[i];
                snapshot_unit su = { .base = u->base, .size = u->size, .segment = u->segment };
                _cleanup_free_ snapshot_reg *regs = NULL; /* what capture_registers() read */

                snprintf(su.name, sizeof su.name, "%s", u->name);
                if (s->snap) {
                        /* from a snapshot: the very registers it holds */
                        const snapshot_unit *from = snapshot_unit_nth(s->snap, i);
                        su.regs = from->regs;
                        su.n_regs = from->n_regs;
                } else if (u->have_regs) {
                        r = capture_registers(u, &su, err);
                        if (r < 0)
                                return r;
                        regs = su.regs;
                }
                r = snapshot_writer_add_unit(w, &su);
                if (r < 0)
                        return iommu_error_set(err, r, "Cannot store unit %s: %s", u->name, strerror(-r));
        }

        if (s->n_ram_ranges > 0) {
                r = snapshot_writer_set_ram_ranges(w, s->ram_ranges, s->n_ram_ranges);
                if (r < 0)
                        return iommu_error_set(err, r, "Cannot store the RAM ranges: %s", strerror(-r));
        }
        r = capture_pages(s, w, err);
        if (r < 0)
                return r;

        return snapshot_writer_write(w, path, err);
}
