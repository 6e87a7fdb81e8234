/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The socket API's lines (protocol.h): strict parsing of requests, and the
 * one serialization every line is written with. */
#include <string.h>

#include "shared/protocol.h"

/* Requests are flat ({"method", "params": {...}, "id"}); a little room for
 * params that hold a list, none for a hostile nesting. */
#define PROTOCOL_MAX_DEPTH 8

#define PROTOCOL_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static bool is_scalar(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_null:
        case json_type_boolean:
        case json_type_double:
        case json_type_int:
        case json_type_string:
                return true;
        default:
                return false;
        }
}

/* Whether the bytes before end are one complete value (so what failed at
 * end is data after it): only for a clearer message. */
static bool trailing_data(const char *line, size_t end) {
        json_tokener *tok;
        json_object *o;
        bool r;

        if (end == 0)
                return false;
        tok = json_tokener_new_ex(PROTOCOL_MAX_DEPTH);
        if (!tok)
                return false;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, line, (int) end);
        r = o && json_tokener_get_error(tok) == json_tokener_success &&
            json_tokener_get_parse_end(tok) == end;
        json_object_put(o);
        json_tokener_free(tok);
        return r;
}

static json_object *parse_line(const char *line, size_t len, iommu_error *err) {
        json_tokener *tok;
        json_object *o;
        enum json_tokener_error e;
        size_t end;

        if (len > INT32_MAX) {
                iommu_error_set(err, E2BIG, "Request of %zu bytes is too long", len);
                return NULL;
        }
        if (memchr(line, '\0', len)) {
                iommu_error_set(err, EBADMSG, "Request is not valid JSON: it contains a NUL byte");
                return NULL;
        }
        tok = json_tokener_new_ex(PROTOCOL_MAX_DEPTH);
        if (!tok) {
                iommu_error_set(err, ENOMEM, "Out of memory");
                return NULL;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, line, (int) len);
        e = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (e == json_tokener_continue) {
                json_object_put(o);
                if (strspn(line, " \t\r") == len)
                        iommu_error_set(err, EBADMSG, "Request is empty: expected one JSON object");
                else
                        iommu_error_set(err, EBADMSG, "Request is not a complete JSON object");
                return NULL;
        }
        if (e == json_tokener_error_depth) {
                json_object_put(o);
                iommu_error_set(err, EBADMSG, "Request is not valid JSON: nested deeper than %d levels",
                                PROTOCOL_MAX_DEPTH);
                return NULL;
        }
        if (e != json_tokener_success || !o) {
                json_object_put(o);
                if (trailing_data(line, end))
                        iommu_error_set(err, EBADMSG,
                                        "Request has trailing data after the JSON value at byte %zu", end);
                else
                        iommu_error_set(err, EBADMSG, "Request is not valid JSON: %s at byte %zu",
                                        json_tokener_error_desc(e), end);
                return NULL;
        }
        /* exactly one value per line: only blanks may follow it */
        if (end < len && strspn(line + end, " \t\r") != len - end) {
                json_object_put(o);
                iommu_error_set(err, EBADMSG, "Request has trailing data after the JSON value at byte %zu",
                                end);
                return NULL;
        }
        return o;
}

int protocol_parse_request(const char *line, size_t len, protocol_request *ret, json_object **ret_id,
                           iommu_error *err) {
        _cleanup_json_ json_object *root = NULL;
        json_object *id = NULL, *method = NULL, *params = NULL;
        iommu_error e = {};
        int r;

        root = parse_line(line, len, &e);
        if (!root) {
                r = iommu_error_set(err, e.error, "%s", e.message);
                goto fail;
        }
        if (!json_object_is_type(root, json_type_object)) {
                r = iommu_error_set(err, EBADMSG, "Request is a JSON %s, not an object",
                                    json_type_to_name(json_object_get_type(root)));
                goto fail;
        }

        if (json_object_object_get_ex(root, "id", &id) && !is_scalar(id)) {
                id = NULL; /* not one to echo */
                r = iommu_error_set(
                        err, EINVAL,
                        "Request member \"id\" must be a scalar (number, string, boolean or null)");
                goto fail;
        }
        if (!json_object_object_get_ex(root, "method", &method)) {
                r = iommu_error_set(err, EINVAL, "Request has no member \"method\"");
                goto fail;
        }
        if (!json_object_is_type(method, json_type_string)) {
                r = iommu_error_set(err, EINVAL, "Request member \"method\" must be a string");
                goto fail;
        }
        if (!json_object_object_get_ex(root, "params", &params)) {
                params = json_object_new_object();
                if (!params || json_object_object_add(root, "params", params) < 0) {
                        json_object_put(params);
                        r = iommu_error_set(err, ENOMEM, "Out of memory");
                        goto fail;
                }
        } else if (!json_object_is_type(params, json_type_object)) {
                r = iommu_error_set(err, EINVAL, "Request member \"params\" must be an object");
                goto fail;
        }

        *ret = (protocol_request){
                .id = id,
                .method = json_object_get_string(method),
                .params = params,
        };
        ret->root = TAKE_PTR(root);
        return 0;

fail:
        if (ret_id)
                *ret_id = json_object_get(id); /* a reference of the caller's own, or NULL */
        return r;
}

void protocol_request_done(protocol_request *r) {
        if (!r)
                return;
        json_object_put(r->root);
        *r = (protocol_request){};
}

/* One line: the object in its compact form and "\n". */
static char *format_line(json_object *o) {
        const char *s;
        size_t n;
        char *line;

        if (!o)
                return NULL;
        s = json_object_to_json_string_length(o, PROTOCOL_JSON_FLAGS, &n);
        if (!s)
                return NULL;
        line = malloc(n + 2);
        if (!line)
                return NULL;
        memcpy(line, s, n);
        line[n] = '\n';
        line[n + 1] = '\0';
        return line;
}

char *protocol_format_request(const char *method, json_object *params, int64_t id) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || !method)
                return NULL;
        if (json_object_object_add(o, "method", json_object_new_string(method)) < 0)
                return NULL;
        if (params && json_object_object_add(o, "params", json_object_get(params)) < 0)
                return NULL;
        if (json_object_object_add(o, "id", json_object_new_int64(id)) < 0)
                return NULL;
        return format_line(o);
}

char *protocol_format_result(json_object *id, json_object *result) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (json_object_object_add(o, "id", json_object_get(id)) < 0 ||
            json_object_object_add(o, "result", json_object_get(result)) < 0)
                return NULL;
        return format_line(o);
}

char *protocol_format_error(json_object *id, int code, const char *message) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *e = json_object_new_object();

        if (!o || !e) {
                json_object_put(e);
                return NULL;
        }
        if (json_object_object_add(o, "id", json_object_get(id)) < 0) {
                json_object_put(e);
                return NULL;
        }
        if (json_object_object_add(o, "error", e) < 0) {
                json_object_put(e);
                return NULL;
        }
        if (json_object_object_add(e, "code", json_object_new_int(code < 0 ? -code : code)) < 0 ||
            json_object_object_add(e, "message", json_object_new_string(message ? message : "")) < 0)
                return NULL;
        return format_line(o);
}

char *protocol_format_event(const char *event, json_object *data) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o || !event)
                return NULL;
        if (json_object_object_add(o, "event", json_object_new_string(event)) < 0 ||
            json_object_object_add(o, "data", json_object_get(data)) < 0)
                return NULL;
        return format_line(o);
}
