/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "decode/layouts.h"
#include "decode/regs.h"
#include "model/devices.h"
#include "model/model.h"

static json_object *decoded(const layout *l, uint64_t value) {
        uint64_t v[LAYOUT_MAX_QWORDS] = { value };
        return layout_to_json(l, v);
}

static json_object *fault_records(iommu_unit *u) {
        json_object *a = json_object_new_array();
        unsigned n = (unsigned) FIELD_GET(CAP, NFR, &u->cap) + 1;

        for (unsigned i = 0; i < n && a; i++) {
                uint64_t v[LAYOUT_MAX_QWORDS];
                char bdf[BDF_STRING_MAX];
                const char *reason;
                json_object *o;
                uint64_t sid;

                if (iommu_regs_read_layout(u->regs, &layout_frcd, u->cap, u->ecap, i, v, NULL) < 0)
                        break;
                if (!FIELD_GET(FRCD, F, v))
                        continue;
                sid = FIELD_GET(FRCD, SID, v);
                reason = fault_reason_to_string((unsigned) FIELD_GET(FRCD, FR, v));
                o = json_object_new_object();
                json_object_object_add(o, "index", json_object_new_int((int) i));
                json_object_object_add(o, "bdf",
                                       json_object_new_string(bdf_format(
                                               bdf, u->segment, (uint8_t) (sid >> 8), (uint8_t) sid)));
                json_object_object_add(o, "reason", json_object_new_int((int) FIELD_GET(FRCD, FR, v)));
                json_object_object_add(o, "reason_text", reason ? json_object_new_string(reason) : NULL);
                json_object_object_add(o, "address", json_object_new_uint64(FIELD_ADDR(FRCD, FI, v)));
                json_object_object_add(o, "write", json_object_new_boolean(!FIELD_GET(FRCD, T1, v)));
                json_object_object_add(o, "pasid",
                                       FIELD_GET(FRCD, PP, v)
                                               ? json_object_new_int64((int64_t) FIELD_GET(FRCD, PV, v))
                                               : NULL);
                json_object_object_add(o, "record", layout_to_json(&layout_frcd, v));
                json_object_array_add(a, o);
        }
        return a;
}

static json_object *unit_to_json(iommu_unit *u) {
        json_object *o = json_object_new_object();
        char version[16];

        if (!o)
                return NULL;
        json_object_object_add(o, "name", json_object_new_string(u->name));
        json_object_object_add(o, "address", json_object_new_uint64(u->base));
        json_object_object_add(o, "segment", json_object_new_int(u->segment));
        json_object_object_add(o, "size", json_object_new_uint64(u->size));
        json_object_object_add(o, "include_pci_all", json_object_new_boolean(u->include_pci_all));

        if (u->have_regs) {
                snprintf(version, sizeof version, "%u.%u", (unsigned) FIELD_GET(VER, MAX, &u->ver),
                         (unsigned) FIELD_GET(VER, MIN, &u->ver));
                json_object_object_add(o, "version", json_object_new_string(version));
                json_object_object_add(o, "cap", decoded(&layout_cap, u->cap));
                json_object_object_add(o, "ecap", decoded(&layout_ecap, u->ecap));
                json_object_object_add(o, "gsts", decoded(&layout_gsts, u->gsts));
                json_object_object_add(o, "rtaddr", decoded(&layout_rtaddr, u->rtaddr));
                json_object_object_add(o, "fsts", decoded(&layout_fsts, u->fsts));
                json_object_object_add(o, "root_table",
                                       json_object_new_uint64(FIELD_ADDR(RTADDR, RTA, &u->rtaddr)));
                json_object_object_add(
                        o, "mode",
                        json_object_new_string(walk_mode_to_string(walk_mode_of_rtaddr(u->rtaddr))));
                json_object_object_add(o, "translation_enabled",
                                       json_object_new_boolean(FIELD_GET(GSTS, TES, &u->gsts)));
                json_object_object_add(o, "queued_invalidation",
                                       json_object_new_boolean(FIELD_GET(GSTS, QIES, &u->gsts)));
                json_object_object_add(o, "interrupt_remapping",
                                       json_object_new_boolean(FIELD_GET(GSTS, IRES, &u->gsts)));
                json_object_object_add(o, "faults", fault_records(u));
                json_object_object_add(o, "registers_error", NULL);
        } else {
                /* what sysfs still tells */
                if (u->sysfs.present) {
                        /* sysfs says "1:0"; the register-derived form is "1.0" */
                        snprintf(version, sizeof version, "%s", u->sysfs.version);
                        for (char *p = version; *p; p++)
                                if (*p == ':')
                                        *p = '.';
                        json_object_object_add(o, "version", json_object_new_string(version));
                        json_object_object_add(o, "cap", decoded(&layout_cap, u->sysfs.cap));
                        json_object_object_add(o, "ecap", decoded(&layout_ecap, u->sysfs.ecap));
                } else {
                        json_object_object_add(o, "version", NULL);
                        json_object_object_add(o, "cap", NULL);
                        json_object_object_add(o, "ecap", NULL);
                }
                json_object_object_add(o, "gsts", NULL);
                json_object_object_add(o, "rtaddr", NULL);
                json_object_object_add(o, "fsts", NULL);
                json_object_object_add(o, "root_table", NULL);
                json_object_object_add(o, "mode", NULL);
                json_object_object_add(o, "translation_enabled", NULL);
                json_object_object_add(o, "queued_invalidation", NULL);
                json_object_object_add(o, "interrupt_remapping", NULL);
                json_object_object_add(o, "faults", NULL);
                json_object_object_add(o, "registers_error", json_object_new_string(u->regs_error.message));
        }
        json_object_object_add(o, "owner", json_object_new_string(unit_owner_to_string(u->owner)));

        if (u->sysfs.present) {
                json_object *f = json_object_new_object();
                json_object_object_add(f, "address", json_object_new_uint64(u->sysfs.address));
                json_object_object_add(f, "cap", json_object_new_uint64(u->sysfs.cap));
                json_object_object_add(f, "ecap", json_object_new_uint64(u->sysfs.ecap));
                json_object_object_add(f, "version", json_object_new_string(u->sysfs.version));
                json_object_object_add(o, "sysfs", f);
        } else
                json_object_object_add(o, "sysfs", NULL);
        return o;
}

int model_info(iommu_system *s, json_object **ret, iommu_error *err) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *units = json_object_new_array();

        if (!o || !units) {
                json_object_put(units);
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        json_object_object_add(o, "units", units);
        for (size_t i = 0; i < s->n_units; i++) {
                json_object *u = unit_to_json(&s->units[i]);
                if (!u)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                json_object_array_add(units, u);
        }
        json_object_object_add(o, "ram_error", s->ram ? NULL : json_object_new_string(s->ram_error.message));
        *ret = TAKE_PTR(o);
        return 0;
}

/* Units whose tables can be walked: registers read, a root table latched,
 * RAM readable. */
static bool unit_walkable(const iommu_system *s, const iommu_unit *u) {
        return s->ram && u->have_regs && FIELD_GET(GSTS, RTPS, &u->gsts) &&
               walk_mode_of_rtaddr(u->rtaddr) != WALK_MODE_ABORT;
}

typedef struct device_walk {
        iommu_system *s;
        iommu_unit *u;
        json_object *list; /* the model's copy of the device list */
} device_walk;

static int device_target(void *userdata, const walk_target *t) {
        device_walk *w = userdata;
        json_object *d;

        /* the translation of requests without PASID */
        if (t->pasid != WALK_NO_PASID && !t->rid_pasid)
                return 0;
        d = devices_find(w->list, w->u->segment, t->bus, t->devfn);
        if (d && iommu_system_unit_of(w->s, w->u->segment, t->bus, t->devfn) == w->u) {
                json_object_object_add(d, "domain", json_object_new_int(t->did));
                json_object_object_add(d, "translation",
                                       json_object_new_string(walk_translation_to_string(t->translation)));
        }
        return 0;
}

int model_devices(iommu_system *s, json_object **ret, iommu_error *err) {
        _cleanup_json_ json_object *list = NULL;
        json_object *devices;
        int r;

        r = iommu_system_devices(s, &devices, err);
        if (r < 0)
                return r;

        /* A copy: the model adds to it, the system's list stays as scanned */
        r = json_object_deep_copy(devices, &list, NULL);
        if (r < 0)
                return iommu_error_set(err, ENOMEM, "Out of memory");

        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *d = json_object_array_get_idx(list, i);
                uint16_t seg;
                uint8_t bus, devfn;
                iommu_unit *u = NULL;

                if (!json_object_is_type(d, json_type_object))
                        continue; /* a damaged list: nothing to add to */
                if (bdf_parse(json_get_string(d, "bdf"), &seg, &bus, &devfn) >= 0)
                        u = iommu_system_unit_of(s, seg, bus, devfn);
                json_object_object_add(d, "unit", u ? json_object_new_string(u->name) : NULL);
                json_object_object_add(d, "domain", NULL);
                /* Known without tables: a unit that does not translate lets
                 * DMA through untranslated; one whose tables we cannot read
                 * leaves it unknown (null). */
                if (u && u->have_regs && !FIELD_GET(GSTS, TES, &u->gsts))
                        json_object_object_add(d, "translation", json_object_new_string("disabled"));
                else if (u && unit_walkable(s, u))
                        json_object_object_add(d, "translation", json_object_new_string("blocked"));
                else
                        json_object_object_add(d, "translation", NULL);
        }

        for (size_t i = 0; i < s->n_units; i++) {
                iommu_unit *u = &s->units[i];
                device_walk w = { .s = s, .u = u, .list = list };
                static const walk_ops ops = { .target = device_target };
                walk_filter filter = WALK_FILTER_ALL;

                if (!unit_walkable(s, u) || !FIELD_GET(GSTS, TES, &u->gsts))
                        continue;
                filter.contexts_only = true;
                r = walk_unit(s->ram, u->rtaddr, u->cap, u->ecap, &filter, &ops, &w);
                if (r < 0)
                        return iommu_error_set(err, r, "Failed to walk %s's context tables: %s", u->name,
                                               strerror(-r));
        }

        *ret = TAKE_PTR(list);
        return 0;
}

int model_faults(iommu_system *s, json_object **ret, iommu_error *err) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *units = json_object_new_array();

        if (!o || !units) {
                json_object_put(units);
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        json_object_object_add(o, "units", units);
        for (size_t i = 0; i < s->n_units; i++) {
                iommu_unit *u = &s->units[i];
                json_object *j = json_object_new_object();

                if (!j)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                json_object_array_add(units, j);
                json_object_object_add(j, "name", json_object_new_string(u->name));
                if (u->have_regs) {
                        json_object_object_add(j, "fsts", decoded(&layout_fsts, u->fsts));
                        json_object_object_add(j, "faults", fault_records(u));
                        json_object_object_add(j, "registers_error", NULL);
                } else {
                        json_object_object_add(j, "fsts", NULL);
                        json_object_object_add(j, "faults", json_object_new_array());
                        json_object_object_add(j, "registers_error",
                                               json_object_new_string(u->regs_error.message));
                }
        }
        /* what was seen over time: only the daemon keeps a log */
        json_object_object_add(o, "log", json_object_new_array());
        *ret = TAKE_PTR(o);
        return 0;
}
