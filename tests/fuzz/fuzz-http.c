/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The HTTP API: iommud's routes (http-routes.c: the path, the query string
 * as params, the verb, the bearer token) behind libmicrohttpd and
 * http-server.c, with one request to iommud running on a snapshot fixture
 * (daemon-harness.h), changes allowed with the harness's token.
 *
 * Input: the request's first line up to its protocol ("GET
 * /v1/mappings?device=00:03.0"), then header lines; sent as an HTTP/1.0
 * request, with "\r\n" after each line and an empty line after them.
 *
 * Checked, against iommud(8)'s HTTP API: the connection ends; whatever
 * answer there is has a status line; a JSON body is JSON, and an error's is
 * {"error": {"code": ERRNO > 0, "message": one line}}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "daemon-harness.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        harness_start(true);
        return 0;
}

static void check_response(const char *out, size_t size, bool head) {
        const char *body = strstr(out, "\r\n\r\n"), *type;
        unsigned status;
        char proto[16], sp;

        if (size == 0)
                return; /* libmicrohttpd drops what is no request at all */
        fuzz_check(sscanf(out, "HTTP/1.%1[01]%c%3u", proto, &sp, &status) == 3 && sp == ' ' &&
                           status >= 100 && status <= 599,
                   "no status line: %.80s", out);
        fuzz_check(body, "an answer without the end of its headers: %.200s", out);
        body += 4;
        type = strcasestr(out, "\r\nContent-Type: application/json");
        if (!type || type > body || head || strcasestr(out, "\r\nTransfer-Encoding:"))
                return;
        {
                _cleanup_json_ json_object *o = json_tokener_parse(body);
                json_object *error, *code, *message;

                fuzz_check(o, "status %u with a JSON body that is not JSON: %.200s", status, body);
                if (status < 400)
                        return;
                fuzz_check(json_object_object_get_ex(o, "error", &error) &&
                                   json_object_object_get_ex(error, "code", &code) &&
                                   json_object_is_type(code, json_type_int) &&
                                   json_object_get_int64(code) > 0 &&
                                   json_object_object_get_ex(error, "message", &message) &&
                                   json_object_is_type(message, json_type_string) &&
                                   !strchr(json_object_get_string(message), '\n'),
                           "status %u with a malformed error: %.200s", status, body);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *req = malloc(2 * size + 64), *out = NULL;
        const char *in = (const char *) data, *end = in + size;
        size_t n = 0, out_size;
        bool first = true;

        fuzz_check(req, "out of memory");
        for (const char *p = in; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t len = (size_t) ((nl ? nl : end) - p);

                memcpy(req + n, p, len);
                n += len;
                if (first) {
                        memcpy(req + n, " HTTP/1.0", 9);
                        n += 9;
                        first = false;
                }
                memcpy(req + n, "\r\n", 2);
                n += 2;
                p += len + 1;
        }
        memcpy(req + n, "\r\n", 2);
        n += 2;

        out = harness_exchange(true, req, n, &out_size);
        check_response(out, out_size, size >= 4 && memcmp(data, "HEAD", 4) == 0);
        return 0;
}
