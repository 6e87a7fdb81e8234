/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Section META: JSON text of one object. */
#include <limits.h>
#include <string.h>

#include "snapshot/format.h"

static const char *json_type_noun(json_type t) {
        switch (t) {
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        case json_type_int:
        case json_type_double:
                return "a number";
        case json_type_boolean:
                return "a boolean";
        case json_type_null:
                return "null";
        default:
                return "not an object";
        }
}

int meta_parse(const uint8_t *p, size_t len, json_object **ret, const char *path, iommu_error *err) {
        json_tokener *tok;
        json_object *o;
        size_t end;

        if (len == 0)
                return bad(err, path, "section META is empty (expected a JSON object)");
        if (memchr(p, '\0', len))
                return bad(err, path, "section META holds a NUL byte (expected JSON text)");
        if (len > INT_MAX)
                return bad(err, path, "section META is too large (%zu bytes)", len);

        tok = json_tokener_new();
        if (!tok)
                return iommu_error_set(err, ENOMEM, "Out of memory reading snapshot %s", path);
#ifdef JSON_TOKENER_VALIDATE_UTF8
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
#else
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
#endif
        o = json_tokener_parse_ex(tok, (const char *) p, (int) len);
        if (!o) {
                enum json_tokener_error e = json_tokener_get_error(tok);
                json_tokener_free(tok);
                if (e == json_tokener_success) /* the text was "null" */
                        return bad(err, path, "section META is not a JSON object (it is null)");
                if (e == json_tokener_continue)
                        return bad(err, path, "section META is not a JSON object (the text ends early)");
                return bad(err, path, "section META is not valid JSON: %s", json_tokener_error_desc(e));
        }
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        for (; end < len; end++)
                if (!strchr(" \t\r\n", p[end])) {
                        (void) json_object_put(o);
                        return bad(err, path, "section META has data after its JSON object (at byte %zu)",
                                   end);
                }
        if (json_object_get_type(o) != json_type_object) {
                json_type t = json_object_get_type(o);
                (void) json_object_put(o);
                return bad(err, path, "section META is not a JSON object (it is %s)", json_type_noun(t));
        }
        *ret = o;
        return 0;
}
