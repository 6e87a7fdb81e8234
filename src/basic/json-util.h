/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading the JSON model: lookups that check the type of what they return,
 * so no consumer hands json-c a value of a type it does not expect (json-c
 * asserts on an array accessor given anything but an array, and an object
 * iteration of a non-object dereferences NULL).  A model from a peer of
 * another version, or decoded from damaged input, may lack any member, hold
 * null, or hold another type: every accessor then answers as for a missing
 * member, never with a signal. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* The member key of o, of any type; NULL when o is not an object, the
 * member is missing, or it is JSON null. */
static inline json_object *json_get(json_object *o, const char *key) {
        json_object *v = NULL;
        if (!o || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

/* The member only when it has the type asked for. */
static inline json_object *json_get_typed(json_object *o, const char *key, json_type type) {
        json_object *v = json_get(o, key);
        return json_object_is_type(v, type) ? v : NULL;
}

static inline json_object *json_get_array(json_object *o, const char *key) {
        return json_get_typed(o, key, json_type_array);
}

static inline json_object *json_get_object(json_object *o, const char *key) {
        return json_get_typed(o, key, json_type_object);
}

/* The number of elements: 0 for anything but an array. */
static inline size_t json_array_length(json_object *a) {
        return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* Element i, or NULL when a is no array or i is out of range. */
static inline json_object *json_array_get(json_object *a, size_t i) {
        return i < json_array_length(a) ? json_object_array_get_idx(a, i) : NULL;
}

/* A string member; "" when missing or not a string. */
static inline const char *json_get_string(json_object *o, const char *key) {
        json_object *v = json_get_typed(o, key, json_type_string);
        return v ? json_object_get_string(v) : "";
}

/* Integer members; 0 when missing or not an integer (and, as json-c reads
 * them, 0 for a negative value read as unsigned). */
static inline uint64_t json_get_u64(json_object *o, const char *key) {
        return json_object_get_uint64(json_get_typed(o, key, json_type_int));
}

static inline int64_t json_get_i64(json_object *o, const char *key) {
        return json_object_get_int64(json_get_typed(o, key, json_type_int));
}

/* A boolean member; false when missing or not a boolean. */
static inline bool json_get_bool(json_object *o, const char *key) {
        return json_object_get_boolean(json_get_typed(o, key, json_type_boolean));
}

static inline bool json_is_null(json_object *o, const char *key) {
        return json_get(o, key) == NULL; /* absent and JSON null read alike */
}
