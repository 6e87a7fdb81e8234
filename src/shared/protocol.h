/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The socket API between iommud and its clients (iommud(8), "SOCKET API").
 *
 * A Unix stream socket; one JSON object per line ("\n"-terminated, no raw
 * newline inside) each way.
 *
 *   request:  {"method": "v1.info", "params": {...}, "id": ID}
 *   answer:   {"id": ID, "result": ...}
 *         or  {"id": ID, "error": {"code": ERRNO, "message": "one line"}}
 *   event:    {"event": "fault", "data": {...}}   (only after v1.faults.subscribe)
 *
 * ID is any JSON scalar the client chose, echoed back (null when the request
 * had none or could not be parsed).  "params" may be absent (= {}).  Answers
 * come in request order.  "code" is a positive errno value: EBADMSG not JSON
 * or not an object, EINVAL a missing or wrongly typed member or param,
 * EOPNOTSUPP an unknown method, EACCES a changing method from a caller that
 * may only read, E2BIG a line over the limit (the connection is then
 * closed), and the errno of the operation when it failed.
 *
 * Methods mirror iommuctl's commands and return exactly the JSON that
 * iommuctl --json prints for them:
 *   v1.info, v1.devices, v1.domains, v1.dmar  no params
 *   v1.mappings        {"device": "BDF", "domain": DID, "pasid": N}, each optional
 *   v1.faults          {"units": [{"name", "fsts", "faults"}], "log": [event data...]}
 *   v1.faults.subscribe  result {"subscribed": true}; then fault events
 *   v1.faults.clear    (changing) forget the logged faults; {"cleared": N}
 *   v1.reload          (changing) re-read the configuration and reopen the source
 *   v1.version         {"version": "0.1.0", "source": "live" | "snapshot"}
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "basic/error.h"
#include "model/model.h"

#define PROTOCOL_DEFAULT_SOCKET "/run/iommud/iommud.sock"
#define PROTOCOL_DEFAULT_MAX_LINE (1u << 20) /* 1 MiB, iommud.conf MaxRequestSize= */

typedef enum protocol_method_flags {
        PROTOCOL_READ = 0,
        PROTOCOL_CHANGING = 1 << 0, /* needs root or the admin group */
} protocol_method_flags;

typedef struct protocol_method {
        const char *name;
        protocol_method_flags flags;
} protocol_method;

/* NULL for an unknown name. */
const protocol_method *protocol_method_find(const char *name);

/* A parsed request; id and params are borrowed from the parsed object. */
typedef struct protocol_request {
        json_object *root; /* owned: json_object_put() it */
        json_object *id;   /* may be NULL */
        const char *method;
        json_object *params; /* an object; never NULL after a successful parse */
} protocol_request;

/* Parse one line (without its "\n").  On failure *ret is untouched, err
 * holds the one-line reason and ret_id (if not NULL) the request's id when
 * it could still be found, for the error answer: a new reference the caller
 * releases with json_object_put() (NULL when there was none). */
int protocol_parse_request(const char *line, size_t len, protocol_request *ret, json_object **ret_id,
                           iommu_error *err);
void protocol_request_done(protocol_request *r);

/* v1.mappings params ({"device": "BDF", "domain": DID, "pasid": N}, each
 * optional, null as if absent) as a filter; EINVAL with the one-line reason
 * otherwise.  The HTTP API takes the same params from its query string. */
int protocol_mappings_filter(json_object *params, mappings_filter *ret, iommu_error *err);

/* Build lines, each ending in "\n" (caller frees). */
char *protocol_format_request(const char *method, json_object *params, int64_t id);
char *protocol_format_result(json_object *id, json_object *result);
char *protocol_format_error(json_object *id, int code, const char *message);
char *protocol_format_event(const char *event, json_object *data);
