/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "daemon/api.h"
#include "daemon/http-routes.h"
#include "daemon/jobs.h"
#include "daemon/log.h"

#define TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* --- Answers that wait for a worker (jobs.h) -------------------------------- */

/* A suspended request's state: the answer it waits for. */
typedef struct pending {
        job_wait *wait;
        uint64_t started_usec; /* when the request came */
} pending;

static void pending_free(void *userdata) {
        pending *p = userdata;

        job_wait_free(p->wait);
        free(p);
}

static void wake_request(void *userdata) {
        http_request_resume(userdata);
}

/* Suspend the request until *wait's answer comes (taken). */
static enum MHD_Result wait_for(struct MHD_Connection *c, job_wait **wait, uint64_t started_usec) {
        pending *p = calloc(1, sizeof *p);
        http_request *r;

        if (!p)
                return http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL, ENOMEM,
                                        "Out of memory");
        p->wait = TAKE_PTR(*wait);
        p->started_usec = started_usec;
        r = http_request_suspend(c, p, pending_free);
        if (!r)
                return http_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, NULL, ENOMEM,
                                        "Out of memory: cannot wait for the answer");
        job_wait_set_wakeup(p->wait, wake_request, r);
        return MHD_YES;
}

/* A resumed request whose answer is still to come (a spurious wakeup):
 * on waiting. */
static enum MHD_Result wait_again(struct MHD_Connection *c, pending *p) {
        http_request *r = http_request_suspend(c, p, pending_free);

        if (!r)
                return http_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, NULL, ENOMEM,
                                        "Out of memory: cannot wait for the answer");
        job_wait_set_wakeup(p->wait, wake_request, r);
        return MHD_YES;
}

static int stream_read(void *userdata, void *buf, size_t max, size_t *ret_n) {
        return job_wait_read(userdata, buf, max, ret_n);
}

static void stream_free(void *userdata) {
        job_wait_free(userdata);
}

static const http_stream_ops stream_ops = {
        .read = stream_read,
        .free = stream_free,
};

static void wake_stream(void *userdata) {
        http_stream_wake(userdata);
}

/* The answer a suspended API request waited for. */
static enum MHD_Result answer_pending(struct MHD_Connection *c, const api_method *method) {
        pending *p = http_request_state(c);
        const char *text;
        enum MHD_Result ret;
        http_stream *s = NULL;
        job_wait *w;
        size_t size;
        int code;

        switch (job_wait_state(p->wait)) {
        case JOB_RUNNING:
                return wait_again(c, http_request_take_state(c));
        case JOB_COMPLETE:
                job_wait_text(p->wait, &text, &size);
                return http_reply_data(c, HTTP_TYPE_JSON, text, size);
        case JOB_FAILED:
                code = job_wait_error(p->wait, &text);
                return http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL, code, "%s", text);
        case JOB_STREAMING:
        default:
                p = http_request_take_state(c);
                w = TAKE_PTR(p->wait);
                pending_free(p);
                ret = http_reply_stream(c, HTTP_TYPE_JSON, method->http_path, &stream_ops, w, &s);
                if (ret == MHD_YES)
                        job_wait_set_wakeup(w, wake_stream, s);
                return ret;
        }
}

/* --- Resources beside the API ---------------------------------------------- */

static enum MHD_Result serve_healthz(manager *m, struct MHD_Connection *c) {
        static const char ok[] = "ok\n";

        if (!m->source)
                return http_reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, NULL, ENODEV,
                                        "No source is open");
        return http_reply_data(c, HTTP_TYPE_TEXT, ok, sizeof ok - 1);
}

static enum MHD_Result serve_metrics(manager *m, struct MHD_Connection *c) {
        pending *p = http_request_state(c);
        char peer[INET6_ADDRSTRLEN + 16], caller[INET6_ADDRSTRLEN + 32];
        job_wait *wait = NULL;
        iommu_error err = {};
        const char *text;
        size_t size;
        int r;

        if (p && job_wait_state(p->wait) == JOB_RUNNING)
                return wait_again(c, http_request_take_state(c));
        snprintf(caller, sizeof caller, "GET /metrics of HTTP client %s", http_peer(c, peer, sizeof peer));
        r = manager_metrics(m, p ? p->wait : NULL, p ? p->started_usec : 0, caller, &text, &size, &wait,
                            &err);
        if (r < 0)
                return http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL,
                                        err.error ? err.error : EIO, "%s", err.message);
        if (r == 0)
                /* the mapped bytes are being walked: the loop serves others meanwhile */
                return wait_for(c, &wait, manager_now(m));
        return http_reply_data(c, TYPE_METRICS, text, size);
}

static const struct resource {
        const char *path;
        enum MHD_Result (*serve)(manager *m, struct MHD_Connection *c);
} resources[] = {
        { "/healthz", serve_healthz },
        { "/metrics", serve_metrics },
};

static const struct resource *resource_find(const char *path) {
        for (size_t i = 0; i < ELEMENTSOF(resources); i++)
                if (streq(resources[i].path, path))
                        return &resources[i];
        return NULL;
}

/* "GET /v1/info, ..., /metrics; POST /v1/reload, ...": what there is. */
static const char *list_paths(char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        for (int access = 0; access < _API_ACCESS_MAX; access++) {
                const char *sep = access == API_READ ? "GET " : "; POST ";
                const api_method *method;

                for (size_t i = 0; (method = api_method_at(i)) && n < size; i++)
                        if (method->http_path && (int) method->access == access) {
                                n += (size_t) snprintf(buf + n, size - n, "%s%s", sep, method->http_path);
                                sep = ", ";
                        }
                for (size_t i = 0; access == API_READ && i < ELEMENTSOF(resources) && n < size; i++)
                        n += (size_t) snprintf(buf + n, size - n, ", %s", resources[i].path);
        }
        return buf;
}

/* --- Params ---------------------------------------------------------------- */

/* A query value as the socket API would have it in params: an integer
 * where it reads as one (decimal, or hex with 0x, as iommuctl takes them),
 * else the string; empty as null (absent). */
static json_object *query_value(const char *s, bool *ret_oom) {
        const char *digits = s + (s[0] == '-');
        const char *set = "0123456789";
        unsigned long long v;
        json_object *o;
        int base = 10;

        *ret_oom = false;
        if (!s[0])
                return NULL;
        if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X') && digits[2]) {
                base = 16;
                digits += 2;
                set = "0123456789abcdefABCDEF";
        }
        errno = 0;
        if (digits[0] && strspn(digits, set) == strlen(digits) &&
            (v = strtoull(digits, NULL, base), errno == 0) && (s[0] != '-' || v <= INT64_MAX)) {
                if (s[0] == '-')
                        o = json_object_new_int64(-(int64_t) v);
                else
                        o = v <= INT64_MAX ? json_object_new_int64((int64_t) v) : json_object_new_uint64(v);
        } else
                o = json_object_new_string(s);
        *ret_oom = !o;
        return o;
}

typedef struct query {
        const api_method *method;
        json_object *params;
        int error;
        char message[256];
} query;

/* A query value for a param that takes a string or a boolean: the string
 * as it is (a unit named 0 stays a name), true and false as booleans. */
static json_object *typed_value(const api_method *method, const char *key, const char *s, bool *ret_oom) {
        json_object *o = NULL;

        for (size_t i = 0; i < method->n_params; i++) {
                const api_param *p = &method->params[i];

                if (!streq(p->name, key))
                        continue;
                if (!s[0])
                        break;
                if (p->type == API_PARAM_BOOLEAN && (streq(s, "true") || streq(s, "false")))
                        o = json_object_new_boolean(streq(s, "true"));
                else if (p->type == API_PARAM_STRING || p->type == API_PARAM_CHOICE ||
                         p->type == API_PARAM_BOOLEAN)
                        o = json_object_new_string(s);
                else
                        break;
                *ret_oom = !o;
                return o;
        }
        return query_value(s, ret_oom);
}

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        query *q = cls;
        json_object *v;
        bool oom;

        if (json_object_object_get_ex(q->params, key, NULL)) {
                q->error = EINVAL;
                snprintf(q->message, sizeof q->message, "Param \"%.64s\" is given more than once", key);
                return MHD_NO;
        }
        v = typed_value(q->method, key, value ? value : "", &oom);
        if (oom || json_object_object_add(q->params, key, v) < 0) {
                json_object_put(v);
                q->error = ENOMEM;
                snprintf(q->message, sizeof q->message, "Out of memory");
                return MHD_NO;
        }
        return MHD_YES;
}

/* The query as the socket API's params; NULL with the error answered. */
static json_object *query_params(struct MHD_Connection *c, const api_method *method, enum MHD_Result *ret) {
        query q = { .method = method, .params = json_object_new_object() };

        if (!q.params) {
                *ret = MHD_NO;
                return NULL;
        }
        (void) MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &q);
        if (q.error) {
                json_object_put(q.params);
                *ret = http_reply_error(
                        c, q.error == EINVAL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                        NULL, q.error, "%s", q.message);
                return NULL;
        }
        return q.params;
}

/* --- Changes ---------------------------------------------------------------- */

/* A changing request, its headers in: false when it may go on (and send
 * its small body), else refused with *ret. */
static bool refuse_change(manager *m, struct MHD_Connection *c, const api_method *method,
                          enum MHD_Result *ret) {
        const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        char peer[INET6_ADDRSTRLEN + 16];
        const char *why;

        if (!http_token_enabled(&m->token)) {
                *ret = http_reply_error(
                        c, MHD_HTTP_FORBIDDEN, NULL, NULL, EPERM,
                        "%s changes state: changes over HTTP are disabled (they need AllowChanges=yes "
                        "and TokenFile= in iommud.conf)",
                        method->name);
                return true;
        }
        why = http_token_challenge(
                &m->token, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
        if (why) {
                bool wrong = strstr(why, "invalid_token");

                log_notice("HTTP client %s: %s refused: %s bearer token", http_peer(c, peer, sizeof peer),
                           method->http_path, wrong ? "wrong" : "no");
                *ret = http_reply_error(c, MHD_HTTP_UNAUTHORIZED, MHD_HTTP_HEADER_WWW_AUTHENTICATE, why,
                                        EACCES,
                                        "%s changes state: it needs the bearer token of TokenFile= "
                                        "(Authorization: Bearer TOKEN)%s",
                                        method->name, wrong ? ", and this one is wrong" : "");
                return true;
        }
        if (length && strtoull(length, NULL, 10) > HTTP_MAX_BODY) {
                *ret = http_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, NULL, E2BIG,
                                        "The body is larger than %u bytes (%s takes its params in the query "
                                        "string)",
                                        HTTP_MAX_BODY, method->name);
                return true;
        }
        return false;
}

/* --- Requests -------------------------------------------------------------- */

static bool is_get(const char *verb) {
        return streq(verb, MHD_HTTP_METHOD_GET) || streq(verb, MHD_HTTP_METHOD_HEAD);
}

static enum MHD_Result call(manager *m, struct MHD_Connection *c, const api_method *method) {
        _cleanup_json_ json_object *params = NULL;
        api_value args[API_PARAMS_MAX];
        char peer[INET6_ADDRSTRLEN + 16], caller[INET6_ADDRSTRLEN + 32];
        iommu_error err = {};
        enum MHD_Result ret;
        api_reply out = {};

        if (http_request_state(c))
                return answer_pending(c, method);
        params = query_params(c, method, &ret);
        if (!params)
                return ret;
        if (api_parse_params(method, params, args, &err) < 0)
                return http_reply_error(c, MHD_HTTP_BAD_REQUEST, NULL, NULL, err.error, "%s", err.message);

        snprintf(caller, sizeof caller, "HTTP client %s", http_peer(c, peer, sizeof peer));
        api_call_method(m, method, &(api_call){ .args = args, .caller = caller }, &out);
        if (out.code)
                ret = http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL, out.code, "%s",
                                       out.message);
        else if (out.wait)
                /* a worker computes it: answered when it comes */
                ret = wait_for(c, &out.wait, 0);
        else if (out.json)
                /* copied: the cache entry may be gone before the answer is sent */
                ret = http_reply_data(c, HTTP_TYPE_JSON, out.json, out.json_len);
        else
                ret = http_reply_object(c, out.result);
        api_reply_done(&out);
        return ret;
}

static enum MHD_Result respond(void *userdata, struct MHD_Connection *c, const char *url, const char *verb) {
        manager *m = userdata;
        const api_method *method = api_method_find_http(url);
        const struct resource *res = method ? NULL : resource_find(url);
        enum MHD_Result ret;
        char paths[1024];

        if (!method && !res)
                return http_reply_error(c, MHD_HTTP_NOT_FOUND, NULL, NULL, ENOENT,
                                        "No resource %.64s here (%s)", url, list_paths(paths, sizeof paths));
        if (method && method->access == API_CHANGING) {
                if (!streq(verb, MHD_HTTP_METHOD_POST))
                        return http_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, MHD_HTTP_HEADER_ALLOW,
                                                "POST", EOPNOTSUPP,
                                                "%s changes state: it takes POST, not %.16s", url, verb);
                if (refuse_change(m, c, method, &ret))
                        return ret;
        } else if (!is_get(verb))
                return http_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, MHD_HTTP_HEADER_ALLOW, "GET, HEAD",
                                        EOPNOTSUPP, "%s is read-only: it takes GET or HEAD, not %.16s", url,
                                        verb);
        return method ? call(m, c, method) : res->serve(m, c);
}

/* A changing request is refused before its body is read, and the
 * connection closed after the answer. */
static http_start start(void *userdata, struct MHD_Connection *c, const char *url, const char *verb,
                        enum MHD_Result *ret) {
        const api_method *method = api_method_find_http(url);

        if (!method || method->access != API_CHANGING || !streq(verb, MHD_HTTP_METHOD_POST))
                return HTTP_START_NO_BODY;
        return refuse_change(userdata, c, method, ret) ? HTTP_START_ANSWERED : HTTP_START_BODY;
}

const http_handler http_routes = {
        .start = start,
        .respond = respond,
};
