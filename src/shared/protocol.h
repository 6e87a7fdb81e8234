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
 * iommuctl --json prints for them; iommud's table of them is
 * src/daemon/api.c (iommud --list-methods).  Only the lines are here.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "basic/error.h"

#define PROTOCOL_DEFAULT_SOCKET "/run/iommud/iommud.sock"
#define PROTOCOL_DEFAULT_MAX_LINE (1u << 20) /* 1 MiB, iommud.conf MaxRequestSize= */

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

/* Build lines, each ending in "\n" (caller frees). */
char *protocol_format_request(const char *method, json_object *params, int64_t id);
char *protocol_format_result(json_object *id, json_object *result);
char *protocol_format_error(json_object *id, int code, const char *message);
char *protocol_format_event(const char *event, json_object *data);
