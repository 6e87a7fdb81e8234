/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The HTTP API (http.h) on libmicrohttpd.
 *
 * How it meets the event loop.  libmicrohttpd can poll with threads of its
 * own (one internal thread, a pool, or a thread per connection), or leave
 * the polling to the application ("external select").  Everything a request
 * reads here belongs to iommud's one sd-event loop and takes no lock: the
 * source and its answer cache, the fault log the poller fills, the
 * configuration and the source that a reload replaces.  With an internal
 * thread, each request would need a lock around all of that, a reload could
 * free what a request is reading, and the two halves of the daemon would
 * time out and log on different clocks.  So libmicrohttpd runs without
 * threads, on its epoll set (MHD_USE_EPOLL): sd-event watches that one
 * epoll fd, and calls MHD_run() when it is readable and when the timer
 * armed from MHD_get_timeout() after every run expires.  Requests are then
 * handled on the loop between socket requests, exactly like them; each is
 * short (answers come from the source's cache), so nobody waits long.
 *
 * Limits, because libmicrohttpd's defaults suit an embedded server, not a
 * root daemon (no connection timeout, FD_SETSIZE connections): every one is
 * set explicitly.  MaxConnections= and MaxConnectionsPerIP= (beyond them a
 * connection is accepted and closed at once; at MaxConnections= the
 * listening socket rests, so new ones wait in its backlog);
 * HTTP_MEMORY_LIMIT per connection, which bounds the request line and the
 * headers (longer ones get 414 or 431 from libmicrohttpd itself); URLs of
 * more than HTTP_MAX_URL bytes get 414 here; POST bodies of more than
 * HTTP_MAX_BODY bytes get 413 (or, sent chunked, the connection is dropped
 * once they pass it).  ConnectionTimeoutSec= is libmicrohttpd's idle
 * timeout, which every byte restarts, so a client dripping a byte a second
 * would hold its connection forever: here it is also a deadline for each
 * request, from the connection's start or the previous answer, after which
 * the connection is shut down.  No PostProcessor: no request takes a body
 * worth parsing.
 *
 * A socket passed by systemd is never shut down: MHD_stop_daemon() calls
 * shutdown() on its listening socket, which would stop the socket systemd
 * holds too; MHD_quiesce_daemon() first takes the socket away from it, and
 * only our descriptor is closed.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <microhttpd.h>
#include <systemd/sd-daemon.h>

#include "daemon/http.h"
#include "daemon/log.h"
#include "daemon/stats.h"
#include "shared/protocol.h"

#define HTTP_MEMORY_LIMIT (32u << 10) /* per connection: request line, headers, answer headers */
#define HTTP_MEMORY_INCREMENT (1u << 10)
#define HTTP_MAX_URL 2048u  /* path and query */
#define HTTP_MAX_BODY 4096u /* of a POST: the changing requests take no params */
#define HTTP_MAX_TOKEN 4096u
#define HTTP_LOG_BURST 10
#define HTTP_LOG_INTERVAL_USEC (10 * USEC_PER_SEC)

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define TYPE_JSON "application/json; charset=utf-8"
#define TYPE_TEXT "text/plain; charset=utf-8"
#define TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

typedef struct http_conn http_conn;

struct http_conn {
        http_server *h;
        int fd;
        uint64_t deadline; /* CLOCK_MONOTONIC: the current request is answered by then */
        size_t body;       /* bytes of the current request's body */
        bool shut;
        http_conn *prev, *next;
};

struct http_server {
        manager *m;
        struct MHD_Daemon *daemon;
        int fd; /* the listening socket */
        sd_event_source *io, *timer, *now, *sweep;
        uint64_t sweep_at; /* UINT64_MAX: not armed */
        bool rerun;        /* a connection closed: run libmicrohttpd again at once */
        http_conn *conns;
        unsigned n_conns;
        unsigned max_connections, max_per_ip, timeout_sec; /* as libmicrohttpd was started */
        char *token;                                       /* NULL: changes refused */
        size_t token_len;
        /* /metrics as last rendered, shared by every request it answers:
         * anew once RefreshIntervalSec= passed or the source changed */
        struct MHD_Response *metrics;
        const source *metrics_source;
        uint64_t metrics_generation, metrics_usec;
        char where[INET6_ADDRSTRLEN + 64];
};

typedef enum MHD_Result (*route_fn)(http_server *h, struct MHD_Connection *c);

typedef struct route {
        const char *path;
        const char *method; /* the socket method it mirrors, for messages */
        bool changing;      /* POST, with the token; else GET and HEAD */
        bool params;        /* takes the query string as params */
        route_fn fn;
} route;

static uint64_t timeout_of(const daemon_conf *c) {
        return c->http_connection_timeout_usec;
}

static unsigned seconds_of(uint64_t usec) {
        uint64_t s = (usec + USEC_PER_SEC - 1) / USEC_PER_SEC;
        return s > UINT32_MAX ? UINT32_MAX : (unsigned) s;
}

static const char *format_address(const struct sockaddr *sa, char *buf, size_t size) {
        char host[INET6_ADDRSTRLEN];

        if (sa && sa->sa_family == AF_INET) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
                inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
                snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
        } else if (sa && sa->sa_family == AF_INET6) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
                inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
                snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
        } else
                snprintf(buf, size, "an unknown address");
        return buf;
}

static const char *peer_of(struct MHD_Connection *c, char *buf, size_t size) {
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        return format_address(i ? i->client_addr : NULL, buf, size);
}

/* --- Responses ------------------------------------------------------------ */

static struct MHD_Response *response_new(const char *type, const void *data, size_t len,
                                         enum MHD_ResponseMemoryMode mode) {
        struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *) data, mode);

        if (r && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) {
                MHD_destroy_response(r);
                r = NULL;
        }
        return r;
}

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r) {
        enum MHD_Result ret;

        if (!r)
                return MHD_NO; /* out of memory: drop the connection */
        ret = MHD_queue_response(c, status, r);
        MHD_destroy_response(r);
        return ret;
}

/* {"error": {"code": ERRNO, "message": "..."}}, the socket API's error
 * member; header (Allow, WWW-Authenticate) may be NULL. */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *header,
                                   const char *value, int code, const char *fmt, ...) _printf_(6, 7);
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *header,
                                   const char *value, int code, const char *fmt, ...) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *e = json_object_new_object();
        struct MHD_Response *r = NULL;
        char message[512];
        const char *text;
        size_t len;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
        if (!o || !e || json_object_object_add(o, "error", e) < 0) {
                json_object_put(e);
                return MHD_NO;
        }
        json_object_object_add(e, "code", json_object_new_int(code));
        json_object_object_add(e, "message", json_object_new_string(message));
        text = json_object_to_json_string_length(o, JSON_FLAGS, &len);
        if (text)
                r = response_new(TYPE_JSON, text, len, MHD_RESPMEM_MUST_COPY);
        if (r && header && MHD_add_response_header(r, header, value) != MHD_YES) {
                MHD_destroy_response(r);
                r = NULL;
        }
        return queue(c, status, r);
}

static enum MHD_Result reply_object(struct MHD_Connection *c, json_object *o) {
        const char *text;
        size_t len;

        text = o ? json_object_to_json_string_length(o, JSON_FLAGS, &len) : NULL;
        if (!text)
                return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL, ENOMEM, "Out of memory");
        return queue(c, MHD_HTTP_OK, response_new(TYPE_JSON, text, len, MHD_RESPMEM_MUST_COPY));
}

/* --- The read-only resources ---------------------------------------------- */

static enum MHD_Result reply_answer(http_server *h, struct MHD_Connection *c, const answer_key *key) {
        manager *m = h->m;
        const answer *a = source_answer(m->source, key, manager_now(m), m->conf->refresh_interval_usec);

        if (a->error)
                return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL, a->error, "%s",
                                   a->message);
        /* copied: the cache entry may be gone before the answer is sent */
        return queue(c, MHD_HTTP_OK, response_new(TYPE_JSON, a->json, a->json_len, MHD_RESPMEM_MUST_COPY));
}

static enum MHD_Result serve_info(http_server *h, struct MHD_Connection *c) {
        return reply_answer(h, c, &(answer_key){ .kind = ANSWER_INFO });
}

static enum MHD_Result serve_dmar(http_server *h, struct MHD_Connection *c) {
        return reply_answer(h, c, &(answer_key){ .kind = ANSWER_DMAR });
}

static enum MHD_Result serve_devices(http_server *h, struct MHD_Connection *c) {
        return reply_answer(h, c, &(answer_key){ .kind = ANSWER_DEVICES });
}

static enum MHD_Result serve_domains(http_server *h, struct MHD_Connection *c) {
        return reply_answer(h, c, &(answer_key){ .kind = ANSWER_DOMAINS });
}

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
        json_object *params;
        int error;
        char message[256];
} query;

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        query *q = cls;
        json_object *v;
        bool oom;

        if (json_object_object_get_ex(q->params, key, NULL)) {
                q->error = EINVAL;
                snprintf(q->message, sizeof q->message, "Param \"%.64s\" is given more than once", key);
                return MHD_NO;
        }
        v = query_value(value ? value : "", &oom);
        if (oom || json_object_object_add(q->params, key, v) < 0) {
                json_object_put(v);
                q->error = ENOMEM;
                snprintf(q->message, sizeof q->message, "Out of memory");
                return MHD_NO;
        }
        return MHD_YES;
}

/* The query as the socket API's params; NULL with the error answered. */
static json_object *query_params(struct MHD_Connection *c, enum MHD_Result *ret) {
        query q = { .params = json_object_new_object() };

        if (!q.params) {
                *ret = MHD_NO;
                return NULL;
        }
        (void) MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, &q);
        if (q.error) {
                json_object_put(q.params);
                *ret = reply_error(c,
                                   q.error == EINVAL ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR,
                                   NULL, NULL, q.error, "%s", q.message);
                return NULL;
        }
        return q.params;
}

static enum MHD_Result serve_mappings(http_server *h, struct MHD_Connection *c) {
        _cleanup_json_ json_object *params = NULL;
        answer_key key = { .kind = ANSWER_MAPPINGS };
        iommu_error err = {};
        enum MHD_Result ret;

        params = query_params(c, &ret);
        if (!params)
                return ret;
        if (protocol_mappings_filter(params, &key.filter, &err) < 0)
                return reply_error(c, MHD_HTTP_BAD_REQUEST, NULL, NULL, err.error, "%s", err.message);
        return reply_answer(h, c, &key);
}

static enum MHD_Result serve_faults(http_server *h, struct MHD_Connection *c) {
        manager *m = h->m;
        _cleanup_json_ json_object *o = NULL;
        iommu_error err = {};

        if (source_faults(m->source, m->faults, manager_now(m), m->conf->refresh_interval_usec, &o, &err) <
            0)
                return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL, err.error, "%s",
                                   err.message);
        return reply_object(c, o);
}

static enum MHD_Result serve_healthz(http_server *h, struct MHD_Connection *c) {
        static const char ok[] = "ok\n";

        if (!h->m->source)
                return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, NULL, ENODEV, "No source is open");
        return queue(c, MHD_HTTP_OK, response_new(TYPE_TEXT, ok, sizeof ok - 1, MHD_RESPMEM_PERSISTENT));
}

static void metrics_forget(http_server *h) {
        if (h->metrics)
                MHD_destroy_response(h->metrics); /* requests still sending it hold their own reference */
        h->metrics = NULL;
        h->metrics_source = NULL;
}

/* Rendering takes a few hundred microseconds (the model parsed back from
 * the cached answers, then every metric): a scraper asking a thousand
 * times a second would keep the loop busy.  So the text is kept as long
 * as an answer of the source would be, RefreshIntervalSec=, and only while
 * the source's generation holds (new register values render anew); the
 * daemon's counters are then at most that old too. */
static enum MHD_Result serve_metrics(http_server *h, struct MHD_Connection *c) {
        manager *m = h->m;
        uint64_t now = manager_now(m);
        struct MHD_Response *r;
        iommu_error err = {};
        char *text = NULL;
        size_t size = 0;

        if (h->metrics && h->metrics_source == m->source && h->metrics_generation == m->source->generation &&
            now - h->metrics_usec < m->conf->refresh_interval_usec)
                return MHD_queue_response(c, MHD_HTTP_OK, h->metrics);

        if (daemon_metrics(m, &text, &size, &err) < 0)
                return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL,
                                   err.error ? err.error : EIO, "%s", err.message);
        r = MHD_create_response_from_buffer(size, text, MHD_RESPMEM_MUST_FREE);
        if (!r) {
                free(text);
                return MHD_NO;
        }
        if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, TYPE_METRICS) != MHD_YES) {
                MHD_destroy_response(r); /* frees text */
                return MHD_NO;
        }
        metrics_forget(h);
        h->metrics = r;
        h->metrics_source = m->source;
        h->metrics_generation = m->source->generation; /* as rendering left it */
        h->metrics_usec = now;
        return MHD_queue_response(c, MHD_HTTP_OK, r);
}

/* --- The changing requests ------------------------------------------------ */

static enum MHD_Result serve_clear(http_server *h, struct MHD_Connection *c) {
        _cleanup_json_ json_object *o = json_object_new_object();
        char peer[INET6_ADDRSTRLEN + 16];
        size_t n;

        n = fault_log_clear(h->m->faults);
        log_notice("Fault log cleared (%zu entries) by HTTP client %s", n, peer_of(c, peer, sizeof peer));
        if (o)
                json_object_object_add(o, "cleared", json_object_new_uint64(n));
        return reply_object(c, o);
}

static enum MHD_Result serve_reload(http_server *h, struct MHD_Connection *c) {
        _cleanup_json_ json_object *o = NULL;
        char peer[INET6_ADDRSTRLEN + 16];
        manager *m = h->m;
        iommu_error err = {};

        log_info("Reload requested by HTTP client %s", peer_of(c, peer, sizeof peer));
        if (manager_reload(m, &err) < 0)
                return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL, err.error, "%s",
                                   err.message);
        o = manager_reload_result(m);
        return reply_object(c, o);
}

/* Compares in a time that depends on the configured token's length only,
 * not on where the first difference is. */
static bool token_matches(const http_server *h, const char *s, size_t n) {
        volatile unsigned char d = n != h->token_len;

        for (size_t i = 0; i < h->token_len; i++)
                d |= (unsigned char) h->token[i] ^ (unsigned char) (i < n ? s[i] : 0);
        return d == 0;
}

/* NULL when the request carries the token; else what WWW-Authenticate
 * answers (RFC 6750). */
static const char *challenge(const http_server *h, struct MHD_Connection *c) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        size_t n;

        if (!v || strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
                return "Bearer realm=\"iommud\"";
        v += 6;
        v += strspn(v, " \t");
        n = strlen(v);
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
        if (!token_matches(h, v, n))
                return "Bearer realm=\"iommud\", error=\"invalid_token\"";
        return NULL;
}

/* A changing request, its headers in: NULL when it may go on (and send its
 * small body), else refused. */
static bool refuse_change(http_server *h, struct MHD_Connection *c, const route *rt, enum MHD_Result *ret) {
        const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        char peer[INET6_ADDRSTRLEN + 16];
        const char *why;

        if (!h->token) {
                *ret = reply_error(
                        c, MHD_HTTP_FORBIDDEN, NULL, NULL, EPERM,
                        "%s changes state: changes over HTTP are disabled (they need AllowChanges=yes "
                        "and TokenFile= in iommud.conf)",
                        rt->method);
                return true;
        }
        why = challenge(h, c);
        if (why) {
                bool wrong = strstr(why, "invalid_token");

                log_notice("HTTP client %s: %s refused: %s bearer token", peer_of(c, peer, sizeof peer),
                           rt->path, wrong ? "wrong" : "no");
                *ret = reply_error(c, MHD_HTTP_UNAUTHORIZED, MHD_HTTP_HEADER_WWW_AUTHENTICATE, why, EACCES,
                                   "%s changes state: it needs the bearer token of TokenFile= "
                                   "(Authorization: Bearer TOKEN)%s",
                                   rt->method, wrong ? ", and this one is wrong" : "");
                return true;
        }
        if (length && strtoull(length, NULL, 10) > HTTP_MAX_BODY) {
                *ret = reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, NULL, E2BIG,
                                   "The body is larger than %u bytes (%s takes no params)", HTTP_MAX_BODY,
                                   rt->method);
                return true;
        }
        return false;
}

/* --- Requests -------------------------------------------------------------- */

static const route routes[] = {
        { .path = "/v1/info", .method = "v1.info", .fn = serve_info },
        { .path = "/v1/dmar", .method = "v1.dmar", .fn = serve_dmar },
        { .path = "/v1/devices", .method = "v1.devices", .fn = serve_devices },
        { .path = "/v1/domains", .method = "v1.domains", .fn = serve_domains },
        { .path = "/v1/mappings", .method = "v1.mappings", .params = true, .fn = serve_mappings },
        { .path = "/v1/faults", .method = "v1.faults", .fn = serve_faults },
        { .path = "/healthz", .fn = serve_healthz },
        { .path = "/metrics", .fn = serve_metrics },
        { .path = "/v1/faults/clear", .method = "v1.faults.clear", .changing = true, .fn = serve_clear },
        { .path = "/v1/reload", .method = "v1.reload", .changing = true, .fn = serve_reload },
};

static const route *route_find(const char *path) {
        for (size_t i = 0; i < ELEMENTSOF(routes); i++)
                if (streq(routes[i].path, path))
                        return &routes[i];
        return NULL;
}

static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        size_t *n = cls;

        *n += strlen(key) + (value ? strlen(value) + 1 : 0) + 1;
        return MHD_YES;
}

static enum MHD_Result first_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        *(const char **) cls = key;
        return MHD_NO;
}

/* The answer to a request whose headers (and body) are in. */
static enum MHD_Result respond(http_server *h, struct MHD_Connection *c, const char *url,
                               const char *method) {
        enum MHD_Result ret;
        const char *arg = NULL;
        const route *rt;

        rt = route_find(url);
        if (!rt)
                return reply_error(
                        c, MHD_HTTP_NOT_FOUND, NULL, NULL, ENOENT,
                        "No resource %.64s here (GET /v1/info, /v1/dmar, /v1/devices, /v1/domains, "
                        "/v1/mappings, /v1/faults, /healthz, /metrics; POST /v1/faults/clear, "
                        "/v1/reload)",
                        url);
        if (rt->changing) {
                if (!streq(method, MHD_HTTP_METHOD_POST))
                        return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, MHD_HTTP_HEADER_ALLOW, "POST",
                                           EOPNOTSUPP, "%s changes state: it takes POST, not %.16s",
                                           rt->path, method);
                if (refuse_change(h, c, rt, &ret))
                        return ret;
                return rt->fn(h, c);
        }
        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
                return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, MHD_HTTP_HEADER_ALLOW, "GET, HEAD",
                                   EOPNOTSUPP, "%s is read-only: it takes GET or HEAD, not %.16s", rt->path,
                                   method);
        /* as the socket API: a method without params refuses any */
        if (rt->method && !rt->params) {
                (void) MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, first_arg, &arg);
                if (arg)
                        return reply_error(c, MHD_HTTP_BAD_REQUEST, NULL, NULL, EINVAL,
                                           "%s takes no params (got \"%.64s\")", rt->method, arg);
        }
        return rt->fn(h, c);
}

static bool has_body(struct MHD_Connection *c) {
        const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

        return (length && strspn(length, "0") != strlen(length)) ||
               MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/* Called when the headers are in (*con_cls NULL), with each piece of the
 * body, and at the end.  An answer queued at the first call makes
 * libmicrohttpd drop the body and close the connection after it: right
 * for a changing request refused and for a body nobody asked for.  Every
 * other answer comes at the end, and the connection lives on. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        const union MHD_ConnectionInfo *i;
        http_server *h = cls;
        http_conn *hc = *con_cls;
        enum MHD_Result ret;
        const route *rt;
        size_t n;

        if (hc) {
                if (*upload_data_size > 0) {
                        /* a changing request's body, ignored: they take no params */
                        hc->body += *upload_data_size;
                        *upload_data_size = 0;
                        /* only a chunked body gets here past the limit: drop it */
                        return hc->body <= HTTP_MAX_BODY ? MHD_YES : MHD_NO;
                }
                return respond(h, c, url, method);
        }

        n = strlen(url);
        (void) MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, count_arg, &n);
        if (n > HTTP_MAX_URL)
                return reply_error(c, MHD_HTTP_URI_TOO_LONG, NULL, NULL, ENAMETOOLONG,
                                   "The URL is longer than %u bytes", HTTP_MAX_URL);

        i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        hc = i ? i->socket_context : NULL;
        rt = route_find(url);
        if (rt && rt->changing && streq(method, MHD_HTTP_METHOD_POST)) {
                if (refuse_change(h, c, rt, &ret))
                        return ret;
                if (!hc) /* out of memory when it connected: no body counter */
                        return MHD_NO;
        } else if (!hc || has_body(c))
                return respond(h, c, url, method);
        hc->body = 0;
        *con_cls = hc;
        return MHD_YES;
}

/* --- Connections and the loop ---------------------------------------------- */

static void sweep_arm(http_server *h, uint64_t at) {
        int r;

        if (!h->sweep)
                return;
        h->sweep_at = at;
        if (at == UINT64_MAX) {
                (void) sd_event_source_set_enabled(h->sweep, SD_EVENT_OFF);
                return;
        }
        r = sd_event_source_set_time(h->sweep, at);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->sweep, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning("Failed to arm the HTTP connection timer: %s", strerror(-r));
}

static int on_sweep(sd_event_source *es, uint64_t usec, void *userdata) {
        http_server *h = userdata;
        uint64_t now = manager_now(h->m), next = UINT64_MAX;

        for (http_conn *c = h->conns; c; c = c->next) {
                if (c->shut)
                        continue;
                if (c->deadline <= now) {
                        /* libmicrohttpd reads the end of the stream and closes the connection */
                        (void) shutdown(c->fd, SHUT_RDWR);
                        c->shut = true;
                        log_debug("HTTP connection (fd %d) closed: no answer within ConnectionTimeoutSec=",
                                  c->fd);
                } else if (c->deadline < next)
                        next = c->deadline;
        }
        sweep_arm(h, next);
        return 0;
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
        http_server *h = cls;
        http_conn *c = *socket_context;

        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *i =
                        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
                uint64_t timeout = timeout_of(h->m->conf);

                /* without it, only libmicrohttpd's idle timeout holds */
                c = calloc(1, sizeof *c);
                if (!c || !i) {
                        free(c);
                        return;
                }
                *c = (http_conn){ .h = h,
                                  .fd = i->connect_fd,
                                  .deadline = manager_now(h->m) + timeout,
                                  .next = h->conns };
                if (h->conns)
                        h->conns->prev = c;
                h->conns = c;
                h->n_conns++;
                *socket_context = c;
                if (seconds_of(timeout) != h->timeout_sec) /* reloaded since the start */
                        (void) MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT,
                                                         seconds_of(timeout));
                if (c->deadline < h->sweep_at)
                        sweep_arm(h, c->deadline);
        } else if (c) {
                if (c->prev)
                        c->prev->next = c->next;
                else
                        h->conns = c->next;
                if (c->next)
                        c->next->prev = c->prev;
                h->n_conns--;
                free(c);
                *socket_context = NULL;
        }
        if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
                h->rerun = true;
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        http_server *h = cls;
        const union MHD_ConnectionInfo *i =
                MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        http_conn *c = i ? i->socket_context : NULL;

        /* the next request's time starts now */
        if (c) {
                c->deadline = manager_now(h->m) + timeout_of(h->m->conf);
                c->body = 0;
        }
        *con_cls = NULL;
}

/* libmicrohttpd's messages are about clients (limits reached, resets):
 * rate-limited, so that no client can flood the journal. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
        static ratelimit rl = RATELIMIT_INIT(HTTP_LOG_INTERVAL_USEC, HTTP_LOG_BURST);
        unsigned suppressed = 0;
        char buf[512];
        size_t n;

        if (!ratelimit_below(&rl, &suppressed))
                return;
        vsnprintf(buf, sizeof buf, fmt, ap);
        n = strlen(buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = '\0';
        if (suppressed)
                log_notice("(%u more messages of libmicrohttpd were not logged)", suppressed);
        log_notice("HTTP: %s", buf);
}

static void http_arm(http_server *h) {
        MHD_UNSIGNED_LONG_LONG ms = 0;
        int r;

        /* At MaxConnections= libmicrohttpd takes the listening socket out of
         * its epoll set, and puts it back only at the start of a run, which
         * MHD_get_timeout() knows nothing about: once a connection closed,
         * run again at once, or those waiting in the backlog would wait for
         * some unrelated event (forever, when none is left). */
        if (!h->rerun && MHD_get_timeout(h->daemon, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
                return;
        }
        h->rerun = false;
        /* Work pending (data read ahead, answers to write): the next loop
         * iteration, not a timer, which sd-event may push back by its
         * accuracy to coalesce wakeups, holding every answer up. */
        if (ms == 0) {
                r = sd_event_source_set_enabled(h->now, SD_EVENT_ONESHOT);
                if (r < 0)
                        log_warning("Failed to arm the HTTP event source: %s", strerror(-r));
                return;
        }
        if (ms > 3600 * 1000)
                ms = 3600 * 1000;
        r = sd_event_source_set_time(h->timer, manager_now(h->m) + ms * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning("Failed to arm the HTTP timer: %s", strerror(-r));
}

static int on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        http_server *h = userdata;

        (void) MHD_run(h->daemon);
        http_arm(h);
        return 0;
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        http_server *h = userdata;

        (void) MHD_run(h->daemon);
        http_arm(h);
        return 0;
}

static int on_now(sd_event_source *es, void *userdata) {
        http_server *h = userdata;

        (void) MHD_run(h->daemon);
        http_arm(h);
        return 0;
}

/* --- Setting up ------------------------------------------------------------ */

static void token_forget(http_server *h) {
        if (h->token) {
                explicit_bzero(h->token, h->token_len);
                h->token = mfree(h->token);
        }
        h->token_len = 0;
}

/* The token: the file's one word, trimmed; the file root's (or ours),
 * regular, not empty, and without access for group and others. */
static int token_load(const char *path, char **ret, size_t *ret_len, iommu_error *err) {
        _cleanup_close_ int fd = -EBADF;
        char buf[HTTP_MAX_TOKEN + 1];
        size_t n = 0, start, end;
        struct stat st;
        ssize_t k;
        int r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to open TokenFile=%s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return iommu_error_set(err, errno, "Failed to stat TokenFile=%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return iommu_error_set(err, EINVAL, "TokenFile=%s is not a regular file", path);
        if (st.st_mode & 0077)
                return iommu_error_set(err, EPERM,
                                       "TokenFile=%s has mode %04o: group and others must have no access "
                                       "(chmod 0600)",
                                       path, (unsigned) (st.st_mode & 07777));
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return iommu_error_set(err, EPERM, "TokenFile=%s belongs to user %u, not to root", path,
                                       (unsigned) st.st_uid);
        while (n < sizeof buf && (k = read(fd, buf + n, sizeof buf - n)) != 0) {
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = iommu_error_set(err, errno, "Failed to read TokenFile=%s: %s", path,
                                            strerror(errno));
                        break;
                }
                n += (size_t) k;
        }
        if (r >= 0 && n > HTTP_MAX_TOKEN)
                r = iommu_error_set(err, EFBIG, "TokenFile=%s is larger than %u bytes", path,
                                    HTTP_MAX_TOKEN);
        for (start = 0; r >= 0 && start < n && strchr(" \t\r\n", buf[start]); start++)
                ;
        for (end = n; r >= 0 && end > start && strchr(" \t\r\n", buf[end - 1]); end--)
                ;
        if (r >= 0 && end == start)
                r = iommu_error_set(err, EINVAL, "TokenFile=%s is empty", path);
        for (size_t i = start; r >= 0 && i < end; i++)
                if (buf[i] <= ' ' || buf[i] >= 0x7f)
                        r = iommu_error_set(err, EINVAL,
                                            "TokenFile=%s must hold one word of printable ASCII", path);
        if (r >= 0) {
                *ret = strndup(buf + start, end - start);
                *ret_len = end - start;
                if (!*ret)
                        r = iommu_error_set(err, ENOMEM, "Out of memory");
        }
        explicit_bzero(buf, sizeof buf);
        return r;
}

static void token_setup(http_server *h, const daemon_conf *conf) {
        iommu_error err = {};
        char *token = NULL;
        size_t len = 0;

        if (!conf->http_allow_changes)
                ;
        else if (!conf->http_token_file)
                log_error("AllowChanges=yes needs TokenFile=: changes over HTTP stay disabled");
        else if (token_load(conf->http_token_file, &token, &len, &err) < 0)
                log_error("AllowChanges=yes, but changes over HTTP stay disabled: %s", err.message);
        else
                log_info("Changes over HTTP are enabled, with the bearer token of %s",
                         conf->http_token_file);
        token_forget(h);
        h->token = token;
        h->token_len = len;
}

/* address as conf_parse_listen() took it: ADDR:PORT or [ADDR6]:PORT */
static int listen_on(const char *address, int *ret, iommu_error *err) {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa = {};
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon = strrchr(address, ':');
        _cleanup_close_ int fd = -EBADF;
        size_t n = colon ? (size_t) (colon - address) : 0;
        socklen_t len;
        unsigned long port;
        int one = 1;

        if (!colon || n < 1 || n >= sizeof host)
                return iommu_error_set(err, EINVAL, "Invalid ListenHTTP=%s", address);
        memcpy(host, address, n);
        host[n] = '\0';
        port = strtoul(colon + 1, NULL, 10);
        if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
                host[n - 1] = '\0';
                sa.in6 = (struct sockaddr_in6){ .sin6_family = AF_INET6,
                                                .sin6_port = htons((uint16_t) port) };
                if (inet_pton(AF_INET6, host + 1, &sa.in6.sin6_addr) != 1)
                        return iommu_error_set(err, EINVAL, "Invalid ListenHTTP=%s", address);
                len = sizeof sa.in6;
        } else {
                sa.in = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
                if (inet_pton(AF_INET, host, &sa.in.sin_addr) != 1)
                        return iommu_error_set(err, EINVAL, "Invalid ListenHTTP=%s", address);
                len = sizeof sa.in;
        }

        fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to make the HTTP socket: %s", strerror(errno));
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (sa.sa.sa_family == AF_INET6)
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, &sa.sa, len) < 0 || listen(fd, SOMAXCONN) < 0)
                return iommu_error_set(err, errno, "Failed to listen for HTTP on %s (ListenHTTP=): %s",
                                       address, strerror(errno));
        *ret = TAKE_FD(fd);
        return 0;
}

int http_new(manager *m, int fd, http_server **ret, iommu_error *err) {
        _cleanup_close_ int passed = fd;
        _cleanup_(http_freep) http_server *h = NULL;
        const union MHD_DaemonInfo *info;
        char address[INET6_ADDRSTRLEN + 16];
        union {
                struct sockaddr sa;
                struct sockaddr_storage storage;
        } sa = {};
        socklen_t len = sizeof sa;
        int r;

        if (fd < 0 && !m->conf->listen_http) {
                *ret = NULL;
                return 0;
        }
        h = calloc(1, sizeof *h);
        if (!h)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *h = (http_server){
                .m = m,
                .fd = -EBADF,
                .sweep_at = UINT64_MAX,
                .max_connections = m->conf->http_max_connections,
                .max_per_ip = m->conf->http_max_connections_per_ip,
                .timeout_sec = seconds_of(timeout_of(m->conf)),
        };
        if (fd >= 0) {
                /* LISTEN_FDS may name a descriptor that was never passed,
                 * which by now is one of ours: leave it alone */
                if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
                        passed = -EBADF;
                        return iommu_error_set(
                                err, ENOTSOCK,
                                "The socket passed as iommud-http.socket (fd %d) is not a listening "
                                "TCP socket",
                                fd);
                }
                h->fd = TAKE_FD(passed);
                if (getsockname(h->fd, &sa.sa, &len) < 0)
                        sa.sa.sa_family = AF_UNSPEC;
                snprintf(h->where, sizeof h->where, "%s, the socket passed by systemd",
                         format_address(&sa.sa, address, sizeof address));
        } else {
                r = listen_on(m->conf->listen_http, &h->fd, err);
                if (r < 0)
                        return r;
                snprintf(h->where, sizeof h->where, "%s", m->conf->listen_http);
        }
        token_setup(h, m->conf);

        /* MHD_USE_ITC is what MHD_quiesce_daemon() needs with a polling
         * thread; without threads libmicrohttpd drops it as useless, and
         * quiescing works all the same */
        /* clang-format off */
        h->daemon = MHD_start_daemon(
                MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
                /* first, or its early messages go to stderr */
                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
                MHD_OPTION_LISTEN_SOCKET, (MHD_socket) h->fd,
                MHD_OPTION_CONNECTION_TIMEOUT, h->timeout_sec,
                MHD_OPTION_CONNECTION_LIMIT, h->max_connections,
                MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->max_per_ip,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTP_MEMORY_LIMIT,
                MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t) HTTP_MEMORY_INCREMENT,
                MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                MHD_OPTION_STRICT_FOR_CLIENT, (int) 1,
                MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int) 1,
                MHD_OPTION_END);
        /* clang-format on */
        if (!h->daemon) {
                /* some of its failure paths close the socket, some do not */
                h->fd = -EBADF;
                return iommu_error_set(
                        err, EIO, "Failed to start the HTTP server on %s (libmicrohttpd said why above)",
                        h->where);
        }
        info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return iommu_error_set(err, EIO,
                                       "Failed to start the HTTP server: libmicrohttpd has no epoll fd");
        r = sd_event_add_io(m->event, &h->io, info->epoll_fd, EPOLLIN, on_io, h);
        if (r >= 0)
                r = sd_event_add_time(m->event, &h->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, h);
        if (r >= 0)
                r = sd_event_add_defer(m->event, &h->now, on_now, h);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->now, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(m->event, &h->sweep, CLOCK_MONOTONIC, 0, USEC_PER_MSEC / 10, on_sweep,
                                      h);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->sweep, SD_EVENT_OFF);
        if (r < 0)
                return iommu_error_set(err, -r, "Failed to watch the HTTP server: %s", strerror(-r));
        http_arm(h);
        log_info("Serving HTTP on %s", h->where);
        *ret = TAKE_PTR(h);
        return 0;
}

http_server *http_free(http_server *h) {
        if (!h)
                return NULL;
        h->io = sd_event_source_disable_unref(h->io);
        h->timer = sd_event_source_disable_unref(h->timer);
        h->now = sd_event_source_disable_unref(h->now);
        h->sweep = sd_event_source_disable_unref(h->sweep);
        if (h->daemon) {
                /* takes the socket out of libmicrohttpd's hands, so that
                 * MHD_stop_daemon() does not shut it down */
                (void) MHD_quiesce_daemon(h->daemon);
                MHD_stop_daemon(h->daemon); /* closes the connections */
        }
        metrics_forget(h);
        safe_close(h->fd);
        token_forget(h);
        free(h);
        return NULL;
}

void http_reload(http_server *h, const daemon_conf *conf) {
        if (!h)
                return;
        if (conf->http_max_connections != h->max_connections)
                log_warning("MaxConnections= changed: it takes effect when iommud restarts");
        if (conf->http_max_connections_per_ip != h->max_per_ip)
                log_warning("MaxConnectionsPerIP= changed: it takes effect when iommud restarts");
        token_setup(h, conf);
        metrics_forget(h); /* a new source may start at the same address and generation */
}

unsigned http_n_connections(const http_server *h) {
        return h ? h->n_conns : 0;
}
