/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The socket API: its request parser (shared/protocol.h) on every line, and
 * iommud's server and dispatcher (server.c, methods.c, api.c) on the whole
 * input, sent by one client to iommud running on a snapshot fixture
 * (daemon-harness.h).  The client is root: changing methods get past the
 * permission check and fail in their handlers, the snapshot being read-only.
 *
 * Input: what the client sends; it then shuts down its side.
 *
 * Checked, against iommud(8)'s SOCKET API and the input itself: the
 * connection ends; every answer is one line holding a JSON object, an
 * event or an answer with "id" and exactly one of "result" and "error",
 * whose code is a positive errno and message one line; there is one
 * answer per complete request line, in order, and a line over
 * MaxRequestSize= gets E2BIG and is the last; an answer echoes the id
 * json-c finds in its request line.
 */
#include <errno.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "daemon-harness.h"
#include "fuzz.h"
#include "shared/protocol.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        harness_start(false);
        return 0;
}

static void check_parser(const char *line, size_t len) {
        protocol_request req;
        json_object *id = NULL;
        iommu_error err = {};
        int r = protocol_parse_request(line, len, &req, &id, &err);

        if (r == 0) {
                fuzz_check(req.method && json_object_is_type(req.params, json_type_object),
                           "a request parsed without a method or params");
                protocol_request_done(&req);
        } else
                fuzz_check(err.error == -r && err.message[0] && !strchr(err.message, '\n'),
                           "protocol_parse_request: %d without a one-line reason", r);
        json_object_put(id);
}

/* The request line's "id", when the line is JSON as RFC 8259 has it (json-c
 * strict, UTF-8 checked), nested no deeper than iommud(8) takes (8), with
 * only blanks after it, and the id is one to echo. */
static json_object *request_id(const char *line, size_t len) {
        json_tokener *tok = json_tokener_new_ex(8);
        json_object *o, *id = NULL;
        size_t end;

        fuzz_check(tok, "out of memory");
        if (memchr(line, '\0', len)) {
                json_tokener_free(tok);
                return NULL;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, line, (int) len);
        end = json_tokener_get_parse_end(tok);
        if (o && json_tokener_get_error(tok) == json_tokener_success &&
            strspn(line + end, " \t\r") >= len - end && json_object_is_type(o, json_type_object) &&
            json_object_object_get_ex(o, "id", &id) && id && !json_object_is_type(id, json_type_object) &&
            !json_object_is_type(id, json_type_array))
                json_object_get(id);
        else
                id = NULL;
        json_object_put(o);
        json_tokener_free(tok);
        return id;
}

static void check_answer(const char *line, size_t len, json_object *want_id, int *ret_code) {
        _cleanup_json_ json_object *o = json_tokener_parse(line);
        json_object *id, *result, *error, *code, *message;

        *ret_code = 0;
        fuzz_check(o && json_object_is_type(o, json_type_object),
                   "an answer that is not a JSON object: %.*s", (int) len, line);
        if (json_object_object_get_ex(o, "event", NULL))
                return;
        fuzz_check(json_object_object_get_ex(o, "id", &id), "an answer without an id: %.*s", (int) len,
                   line);
        fuzz_check(json_object_object_get_ex(o, "result", &result) !=
                           json_object_object_get_ex(o, "error", &error),
                   "an answer without exactly one of result and error: %.*s", (int) len, line);
        if (json_object_object_get_ex(o, "error", &error)) {
                fuzz_check(json_object_object_get_ex(error, "code", &code) &&
                                   json_object_is_type(code, json_type_int) &&
                                   json_object_get_int64(code) > 0 &&
                                   json_object_object_get_ex(error, "message", &message) &&
                                   json_object_is_type(message, json_type_string) &&
                                   !strchr(json_object_get_string(message), '\n'),
                           "a malformed error: %.*s", (int) len, line);
                *ret_code = (int) json_object_get_int64(code);
        }
        if (want_id)
                fuzz_check(json_object_equal(id, want_id), "the answer's id %s is not the request's %s",
                           json_object_to_json_string(id), json_object_to_json_string(want_id));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *in = (const char *) data, *end = in + size;
        _cleanup_free_ char *out = NULL;
        size_t out_size, requests = 0, answers = 0;
        bool too_big = false;
        const char *p, *q;
        int code = 0;

        for (p = in; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = (size_t) ((nl ? nl : end) - p);

                if (len > HARNESS_MAX_REQUEST) {
                        too_big = true;
                        break;
                }
                if (!nl)
                        break; /* a partial line at the end: never answered */
                check_parser(p, len);
                requests++;
                p = nl + 1;
        }

        out = harness_exchange(false, data, size, &out_size);
        fuzz_check(out_size == 0 || out[out_size - 1] == '\n', "the answers end in a partial line");
        fuzz_check(strlen(out) == out_size, "a NUL byte in the answers");

        /* the answers, in order: request line k's answer is answer k */
        p = in;
        for (q = out; q < out + out_size;) {
                const char *nl = strchr(q, '\n');
                _cleanup_(json_object_putp) json_object *want_id = NULL;
                bool event;

                _cleanup_json_ json_object *o = NULL;

                *(char *) nl = '\0';
                o = json_tokener_parse(q);
                event = o && json_object_object_get_ex(o, "event", NULL);
                if (!event && answers < requests) {
                        const char *rnl = memchr(p, '\n', (size_t) (end - p));
                        want_id = request_id(p, (size_t) (rnl - p));
                        p = rnl + 1;
                }
                fuzz_check(code != E2BIG, "an answer after the E2BIG one");
                check_answer(q, (size_t) (nl - q), want_id, &code);
                if (!event)
                        answers++;
                q = nl + 1;
        }
        if (too_big) {
                fuzz_check(answers == requests + 1 && code == E2BIG,
                           "%zu answers to %zu requests and one line over MaxRequestSize= (last code %d)",
                           answers, requests, code);
        } else
                fuzz_check(answers == requests, "%zu answers to %zu requests", answers, requests);
        return 0;
}
