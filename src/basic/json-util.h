/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading the JSON model: lookups that tolerate a missing key, so renderers
 * stay short and never crash on a model from an older or newer peer. */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

static inline json_object *json_get(json_object *o, const char *key) {
        json_object *v = NULL;
        if (!o || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

static inline const char *json_get_string(json_object *o, const char *key) {
        json_object *v = json_get(o, key);
        return v ? json_object_get_string(v) : "";
}

static inline uint64_t json_get_u64(json_object *o, const char *key) {
        return json_object_get_uint64(json_get(o, key));
}

static inline int64_t json_get_i64(json_object *o, const char *key) {
        return json_object_get_int64(json_get(o, key));
}

static inline bool json_get_bool(json_object *o, const char *key) {
        return json_object_get_boolean(json_get(o, key));
}

static inline bool json_is_null(json_object *o, const char *key) {
        return json_get(o, key) == NULL; /* absent and JSON null read alike */
}
