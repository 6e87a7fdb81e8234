/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Domains: the devices of model_devices() grouped by (unit, domain ID).
 * Derived from the device list, so a domain is exactly what the devices'
 * context (or RID_PASID) entries say, and nothing is walked twice. */
#include <string.h>

#include "basic/json-util.h"
#include "model/model.h"

static int by_domain(const void *a, const void *b) {
        int64_t x = json_get_i64(*(json_object *const *) a, "domain");
        int64_t y = json_get_i64(*(json_object *const *) b, "domain");

        return (x > y) - (x < y);
}

static json_object *domain_new(const char *unit, json_object *did, json_object *translation) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_object_object_add(o, "unit", json_object_new_string(unit)) < 0 ||
            json_object_object_add(o, "domain", json_object_get(did)) < 0 ||
            json_object_object_add(o, "devices", json_object_new_array()) < 0 ||
            json_object_object_add(o, "translation", json_object_get(translation)) < 0)
                return json_object_put(o), NULL;
        return o;
}

/* The unit's domains, sorted by ID, appended to list. */
static int unit_domains(const char *unit, json_object *devices, json_object *list) {
        _cleanup_json_ json_object *mine = json_object_new_array();
        size_t n = json_object_array_length(devices);

        if (!mine)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *d = json_object_array_get_idx(devices, i), *did = json_get(d, "domain");
                json_object *translation = json_get(d, "translation"), *dom = NULL;
                size_t k = json_object_array_length(mine);

                if (!did || !streq(json_get_string(d, "unit"), unit))
                        continue;
                for (size_t j = 0; j < k && !dom; j++) {
                        json_object *e = json_object_array_get_idx(mine, j);
                        if (json_get_i64(e, "domain") == json_object_get_int64(did))
                                dom = e;
                }
                if (!dom) {
                        dom = domain_new(unit, did, translation);
                        if (!dom || json_object_array_add(mine, dom) < 0)
                                return json_object_put(dom), -ENOMEM;
                } else if (!json_is_null(dom, "translation") &&
                           (!translation || !streq(json_get_string(dom, "translation"),
                                                   json_object_get_string(translation))))
                        json_object_object_add(dom, "translation", NULL);
                if (json_object_array_add(json_get(dom, "devices"), json_object_get(json_get(d, "bdf"))) < 0)
                        return -ENOMEM;
        }
        json_object_array_sort(mine, by_domain);
        for (size_t j = 0; j < json_object_array_length(mine); j++)
                if (json_object_array_add(list, json_object_get(json_object_array_get_idx(mine, j))) < 0)
                        return -ENOMEM;
        return 0;
}

int model_domains(iommu_system *s, json_object **ret, iommu_error *err) {
        _cleanup_json_ json_object *devices = NULL, *list = NULL;
        int r;

        r = model_devices(s, &devices, err);
        if (r < 0)
                return r;
        list = json_object_new_array();
        if (!list)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        for (size_t i = 0; i < s->n_units; i++)
                if (unit_domains(s->units[i].name, devices, list) < 0)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
        *ret = TAKE_PTR(list);
        return 0;
}
