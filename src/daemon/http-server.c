/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmicrohttpd on the sd-event loop (http-server.h).
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
 * HTTP_MAX_BODY bytes get 413 from the handler (or, sent chunked, the
 * connection is dropped here once they pass it).  ConnectionTimeoutSec= is libmicrohttpd's idle
 * timeout, which every byte restarts, so a client dripping a byte a second
 * would hold its connection forever: here it is also a deadline for each
 * request, from the connection's start or the previous answer, after which
 * the connection is shut down.  The deadline covers the answer too, unless
 * it takes time that is not the client's: while a worker computes it (the
 * request is suspended) there is none, and it starts again when the answer
 * is ready; a streamed answer (a million ranges to a slow reader) is cut
 * off only when the client takes nothing of it for ConnectionTimeoutSec=,
 * judged from the bytes it left unread in the socket (SIOCOUTQ) and the
 * bytes handed to libmicrohttpd, whose own idle timeout, blind to a
 * client draining a large socket buffer, is off for that connection.  An
 * answer cut off before its end is logged.  No PostProcessor: no request
 * takes a body worth parsing.
 *
 * Waiting: a request whose answer a worker computes is suspended
 * (MHD_suspend_connection) until the answer comes, and a streamed answer
 * whose worker has nothing more yet suspends its connection from the
 * content reader; both are resumed from the loop.  libmicrohttpd must not
 * be stopped with a connection suspended: they are all resumed first.
 *
 * A socket passed by systemd is never shut down: MHD_stop_daemon() calls
 * shutdown() on its listening socket, which would stop the socket systemd
 * holds too; MHD_quiesce_daemon() first takes the socket away from it, and
 * only our descriptor is closed.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <systemd/sd-daemon.h>

#include "basic/list.h"
#include "daemon/http-server.h"
#include "daemon/log.h"
#include "daemon/server.h"

#define HTTP_MEMORY_LIMIT (32u << 10) /* per connection: request line, headers, answer headers */
#define HTTP_MEMORY_INCREMENT (1u << 10)
#define HTTP_LOG_BURST 10
#define HTTP_LOG_INTERVAL_USEC (10 * USEC_PER_SEC)
#define HTTP_STREAM_BLOCK (16u << 10) /* asked of a stream at a time (the connection's memory bounds it) */

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

typedef struct http_conn http_conn;

struct http_conn {
        http_server *h;
        struct MHD_Connection *mc;
        int fd;
        uint64_t deadline; /* CLOCK_MONOTONIC: the current request is answered by then; UINT64_MAX: none */
        uint64_t progress_at; /* streaming: when the client last took some of it */
        uint64_t sent_seen;   /* streaming: the stream's bytes, and the socket's unsent ones, then */
        int unsent;
        size_t body; /* bytes of the current request's body */
        bool shut;
        bool suspended; /* http_request_suspend() */
        void *state;    /* the handler's, for the current request */
        void (*free_state)(void *state);
        http_stream *stream; /* the answer being streamed */
        LIST_FIELDS(http_conn, conns);
};

struct http_stream {
        http_server *h;
        struct MHD_Connection *mc;
        http_conn *hc; /* NULL once the connection is gone */
        const http_stream_ops *ops;
        void *userdata;
        bool suspended;
        bool ended;  /* read() said so */
        bool failed; /* read() failed (its owner logged why) */
        bool cut;    /* cut off for want of progress (logged) */
        uint64_t sent;
        char what[96];
};

struct http_server {
        sd_event *event;
        const http_handler *handler;
        void *userdata;
        struct MHD_Daemon *daemon;
        int fd; /* the listening socket */
        sd_event_source *io, *timer, *now, *sweep;
        uint64_t sweep_at; /* UINT64_MAX: not armed */
        bool rerun;        /* a connection closed: run libmicrohttpd again at once */
        http_conn *conns;
        unsigned n_conns;
        unsigned max_connections, max_per_ip, timeout_sec; /* as libmicrohttpd was started */
        uint64_t timeout_usec;                             /* ConnectionTimeoutSec= now */
        char where[INET6_ADDRSTRLEN + 64];
};

static uint64_t now_usec(http_server *h) {
        uint64_t t = 0;
        (void) sd_event_now(h->event, CLOCK_MONOTONIC, &t);
        return t;
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

const char *http_peer(struct MHD_Connection *c, char *buf, size_t size) {
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        return format_address(i ? i->client_addr : NULL, buf, size);
}

/* --- Answers --------------------------------------------------------------- */

static struct MHD_Response *response_new(const char *type, const void *data, size_t len) {
        struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *) data, MHD_RESPMEM_MUST_COPY);

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

enum MHD_Result http_reply_error(struct MHD_Connection *c, unsigned status, const char *header,
                                 const char *value, int code, const char *fmt, ...) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *e = json_object_new_object();
        struct MHD_Response *r = NULL;
        char message[1024];
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
                r = response_new(HTTP_TYPE_JSON, text, len);
        if (r && header && MHD_add_response_header(r, header, value) != MHD_YES) {
                MHD_destroy_response(r);
                r = NULL;
        }
        return queue(c, status, r);
}

enum MHD_Result http_reply_data(struct MHD_Connection *c, const char *type, const void *data, size_t len) {
        return queue(c, MHD_HTTP_OK, response_new(type, data, len));
}

enum MHD_Result http_reply_object(struct MHD_Connection *c, json_object *o) {
        const char *text;
        size_t len;

        text = o ? json_object_to_json_string_length(o, JSON_FLAGS, &len) : NULL;
        if (!text)
                return http_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL, ENOMEM,
                                        "Out of memory");
        return http_reply_data(c, HTTP_TYPE_JSON, text, len);
}

static http_conn *conn_of(struct MHD_Connection *c) {
        const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return i ? i->socket_context : NULL;
}

static void http_arm(http_server *h);
static void sweep_arm(http_server *h, uint64_t at);
static uint64_t sweep_period(const http_server *h);

/* --- Answers that take time ------------------------------------------------ */

http_request *http_request_suspend(struct MHD_Connection *c, void *state, void (*free_state)(void *state)) {
        http_conn *hc = conn_of(c);

        if (!hc) {
                free_state(state);
                return NULL;
        }
        if (hc->state && hc->state != state)
                hc->free_state(hc->state);
        hc->state = state;
        hc->free_state = free_state;
        MHD_suspend_connection(c);
        hc->suspended = true;
        hc->deadline = UINT64_MAX; /* the wait is not the client's */
        return (http_request *) hc;
}

void http_request_resume(http_request *r) {
        http_conn *hc = (http_conn *) r;

        if (!hc->suspended)
                return;
        hc->suspended = false;
        MHD_resume_connection(hc->mc);
        /* the answer is ready: the client's time to take it starts now */
        hc->deadline = now_usec(hc->h) + hc->h->timeout_usec;
        if (hc->deadline < hc->h->sweep_at)
                sweep_arm(hc->h, hc->deadline);
        /* libmicrohttpd takes it up at its next run */
        hc->h->rerun = true;
        http_arm(hc->h);
}

void *http_request_state(struct MHD_Connection *c) {
        http_conn *hc = conn_of(c);
        return hc ? hc->state : NULL;
}

void *http_request_take_state(struct MHD_Connection *c) {
        http_conn *hc = conn_of(c);
        void *state = hc ? hc->state : NULL;

        if (hc)
                hc->state = NULL;
        return state;
}

static void request_state_free(http_conn *hc) {
        if (hc->state)
                hc->free_state(hc->state);
        hc->state = NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
        http_stream *s = cls;
        size_t n = 0;
        int r;

        if (s->ended)
                return MHD_CONTENT_READER_END_OF_STREAM;
        r = s->ops->read(s->userdata, buf, max, &n);
        if (r < 0) {
                /* no terminating chunk: the client knows the answer is incomplete */
                s->ended = s->failed = true;
                return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (n > 0) {
                s->sent += n;
                return (ssize_t) n;
        }
        if (r > 0) {
                s->ended = true;
                return MHD_CONTENT_READER_END_OF_STREAM;
        }
        /* nothing yet: rest until http_stream_wake() */
        MHD_suspend_connection(s->mc);
        s->suspended = true;
        return 0;
}

static void stream_free(void *cls) {
        http_stream *s = cls;

        s->ops->free(s->userdata);
        if (s->hc)
                s->hc->stream = NULL;
        free(s);
}

void http_stream_wake(http_stream *s) {
        if (!s->suspended)
                return;
        s->suspended = false;
        MHD_resume_connection(s->mc);
        s->h->rerun = true;
        http_arm(s->h);
}

enum MHD_Result http_reply_stream(struct MHD_Connection *c, const char *type, const char *what,
                                  const http_stream_ops *ops, void *userdata, http_stream **ret) {
        http_conn *hc = conn_of(c);
        struct MHD_Response *r;
        http_stream *s;
        enum MHD_Result ret_queue;

        s = calloc(1, sizeof *s);
        if (!s) {
                ops->free(userdata);
                return MHD_NO;
        }
        *s = (http_stream){ .h = hc ? hc->h : NULL, .mc = c, .hc = hc, .ops = ops, .userdata = userdata };
        snprintf(s->what, sizeof s->what, "%s", what);
        if (!hc) {
                /* nobody could wake it: out of memory when it connected */
                stream_free(s);
                return MHD_NO;
        }
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK, stream_read, s,
                                              stream_free);
        if (!r) {
                stream_free(s);
                return MHD_NO;
        }
        if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) {
                MHD_destroy_response(r); /* frees s */
                return MHD_NO;
        }
        hc->stream = s;
        /* progress is judged here (on_sweep), not by libmicrohttpd's idle timeout */
        (void) MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
        hc->deadline = UINT64_MAX;
        hc->progress_at = now_usec(hc->h);
        hc->sent_seen = 0;
        hc->unsent = 0;
        if (hc->progress_at + sweep_period(hc->h) < hc->h->sweep_at)
                sweep_arm(hc->h, hc->progress_at + sweep_period(hc->h));
        ret_queue = queue(c, MHD_HTTP_OK, r);
        if (ret_queue != MHD_YES)
                return ret_queue; /* the response is gone, and s with it */
        if (ret)
                *ret = s;
        return MHD_YES;
}

/* --- Requests -------------------------------------------------------------- */

static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        size_t *n = cls;

        *n += strlen(key) + (value ? strlen(value) + 1 : 0) + 1;
        return MHD_YES;
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
        http_server *h = cls;
        http_conn *hc = *con_cls;
        enum MHD_Result ret = MHD_NO;
        size_t n;

        if (hc) {
                if (*upload_data_size > 0) {
                        /* the body, ignored: no request takes params in it */
                        hc->body += *upload_data_size;
                        *upload_data_size = 0;
                        /* only a chunked body gets here past the limit: drop it */
                        return hc->body <= HTTP_MAX_BODY ? MHD_YES : MHD_NO;
                }
                return h->handler->respond(h->userdata, c, url, method);
        }

        n = strlen(url);
        (void) MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, count_arg, &n);
        if (n > HTTP_MAX_URL)
                return http_reply_error(c, MHD_HTTP_URI_TOO_LONG, NULL, NULL, ENAMETOOLONG,
                                        "The URL is longer than %u bytes", HTTP_MAX_URL);

        hc = conn_of(c);
        switch (h->handler->start(h->userdata, c, url, method, &ret)) {
        case HTTP_START_ANSWERED:
                return ret;
        case HTTP_START_BODY:
                if (!hc) /* out of memory when it connected: no body counter */
                        return MHD_NO;
                break;
        case HTTP_START_NO_BODY:
        default:
                if (!hc || has_body(c))
                        return h->handler->respond(h->userdata, c, url, method);
                break;
        }
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

/* How often a streamed answer's progress is looked at. */
static uint64_t sweep_period(const http_server *h) {
        uint64_t t = h->timeout_usec / 4;

        return t < 50 * USEC_PER_MSEC ? 50 * USEC_PER_MSEC : t > USEC_PER_SEC ? USEC_PER_SEC : t;
}

/* A streamed answer: whether the client took any of it lately; false when
 * it took nothing for ConnectionTimeoutSec=. */
static bool stream_progress(http_conn *c, uint64_t now) {
        http_stream *s = c->stream;
        int unsent = -1;

        (void) ioctl(c->fd, SIOCOUTQ, &unsent);
        if (s->suspended || unsent != c->unsent || s->sent != c->sent_seen) {
                /* suspended: waiting for the worker, which is not the client's doing */
                c->progress_at = now;
                c->unsent = unsent;
                c->sent_seen = s->sent;
        }
        return now - c->progress_at < c->h->timeout_usec;
}

static int on_sweep(sd_event_source *es, uint64_t usec, void *userdata) {
        http_server *h = userdata;
        uint64_t now = now_usec(h), next = UINT64_MAX;

        LIST_FOREACH(conns, c, h->conns) {
                if (c->shut)
                        continue;
                /* until the client took its end too */
                if (c->stream && !c->stream->cut) {
                        if (!stream_progress(c, now)) {
                                char peer[INET6_ADDRSTRLEN + 16], span[32];

                                log_info("HTTP client %s: %s cut off after %" PRIu64
                                         " bytes: it took nothing of it for ConnectionTimeoutSec=%s",
                                         http_peer(c->mc, peer, sizeof peer), c->stream->what,
                                         c->stream->sent,
                                         conf_format_timespan(span, sizeof span, h->timeout_usec));
                                c->stream->cut = true;
                                (void) shutdown(c->fd, SHUT_RDWR);
                                c->shut = true;
                        } else if (now + sweep_period(h) < next)
                                next = now + sweep_period(h);
                        continue;
                }
                if (c->deadline == UINT64_MAX)
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

                /* without it, only libmicrohttpd's idle timeout holds */
                c = calloc(1, sizeof *c);
                if (!c || !i) {
                        free(c);
                        return;
                }
                *c = (http_conn){ .h = h,
                                  .mc = connection,
                                  .fd = i->connect_fd,
                                  .deadline = now_usec(h) + h->timeout_usec };
                LIST_PREPEND(conns, h->conns, c);
                h->n_conns++;
                *socket_context = c;
                if (seconds_of(h->timeout_usec) != h->timeout_sec) /* reloaded since the start */
                        (void) MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT,
                                                         seconds_of(h->timeout_usec));
                if (c->deadline < h->sweep_at)
                        sweep_arm(h, c->deadline);
        } else if (c) {
                request_state_free(c);
                if (c->stream)
                        c->stream->hc = NULL;
                LIST_REMOVE(conns, h->conns, c);
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

        /* the end of a streamed answer that did not reach its client (unless
         * logged already) */
        if (c && c->stream && !c->stream->failed && !c->stream->cut &&
            toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
                http_stream *s = c->stream;
                char peer[INET6_ADDRSTRLEN + 16], span[32];

                (void) http_peer(connection, peer, sizeof peer);
                if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
                        log_info("HTTP client %s: %s cut off after %" PRIu64
                                 " bytes: it took nothing of it for ConnectionTimeoutSec=%s",
                                 peer, s->what, s->sent,
                                 conf_format_timespan(span, sizeof span, h->timeout_usec));
                else if (toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
                        log_info("HTTP client %s: %s cut off after %" PRIu64 " bytes: iommud is stopping",
                                 peer, s->what, s->sent);
                else
                        log_debug("HTTP client %s: %s ended after %" PRIu64 " bytes: the client went away",
                                  peer, s->what, s->sent);
        }
        /* the next request's time starts now */
        if (c) {
                request_state_free(c);
                c->deadline = now_usec(h) + h->timeout_usec;
                c->body = 0;
        }
        *con_cls = NULL;
}

/* libmicrohttpd's messages are about clients (limits reached, resets):
 * rate-limited, so that no client can flood the journal. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
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
        r = sd_event_source_set_time(h->timer, now_usec(h) + ms * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning("Failed to arm the HTTP timer: %s", strerror(-r));
}

static void http_run(http_server *h) {
        (void) MHD_run(h->daemon);
        http_arm(h);
}

static int on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        http_run(userdata);
        return 0;
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        http_run(userdata);
        return 0;
}

static int on_now(sd_event_source *es, void *userdata) {
        http_run(userdata);
        return 0;
}

/* --- Setting up ------------------------------------------------------------ */

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

int http_server_new(sd_event *e, int fd, const daemon_conf *conf, const http_handler *handler,
                    void *userdata, http_server **ret, iommu_error *err) {
        _cleanup_close_ int passed = fd;
        _cleanup_(http_server_freep) http_server *h = NULL;
        const union MHD_DaemonInfo *info;
        char address[INET6_ADDRSTRLEN + 16];
        union {
                struct sockaddr sa;
                struct sockaddr_storage storage;
        } sa = {};
        socklen_t len = sizeof sa;
        int r;

        if (fd < 0 && !conf->listen_http) {
                *ret = NULL;
                return 0;
        }
        h = calloc(1, sizeof *h);
        if (!h)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *h = (http_server){
                .event = sd_event_ref(e),
                .handler = handler,
                .userdata = userdata,
                .fd = -EBADF,
                .sweep_at = UINT64_MAX,
                .max_connections = conf->http_max_connections,
                .max_per_ip = conf->http_max_connections_per_ip,
                .timeout_usec = conf->http_connection_timeout_usec,
                .timeout_sec = seconds_of(conf->http_connection_timeout_usec),
        };
        if (fd >= 0) {
                /* LISTEN_FDS may name a descriptor that was never passed,
                 * which by now is one of ours: leave it alone */
                r = passed_socket_check(fd, AF_INET, "iommud-http.socket", err);
                if (r < 0) {
                        passed = -EBADF;
                        return r;
                }
                h->fd = TAKE_FD(passed);
                if (getsockname(h->fd, &sa.sa, &len) < 0)
                        sa.sa.sa_family = AF_UNSPEC;
                snprintf(h->where, sizeof h->where, "%s, the socket passed by systemd",
                         format_address(&sa.sa, address, sizeof address));
        } else {
                r = listen_on(conf->listen_http, &h->fd, err);
                if (r < 0)
                        return r;
                snprintf(h->where, sizeof h->where, "%s", conf->listen_http);
        }

        /* MHD_USE_ITC is what MHD_quiesce_daemon() needs with a polling
         * thread; without threads libmicrohttpd drops it as useless, and
         * quiescing works all the same */
        /* clang-format off */
        h->daemon = MHD_start_daemon(
                MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                on_request, h,
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
        r = sd_event_add_io(e, &h->io, info->epoll_fd, EPOLLIN, on_io, h);
        if (r >= 0)
                r = sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, h);
        if (r >= 0)
                r = sd_event_add_defer(e, &h->now, on_now, h);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->now, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(e, &h->sweep, CLOCK_MONOTONIC, 0, USEC_PER_MSEC / 10, on_sweep, h);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->sweep, SD_EVENT_OFF);
        if (r < 0)
                return iommu_error_set(err, -r, "Failed to watch the HTTP server: %s", strerror(-r));
        http_arm(h);
        log_info("Serving HTTP on %s", h->where);
        *ret = TAKE_PTR(h);
        return 0;
}

http_server *http_server_free(http_server *h) {
        if (!h)
                return NULL;
        h->io = sd_event_source_disable_unref(h->io);
        h->timer = sd_event_source_disable_unref(h->timer);
        h->now = sd_event_source_disable_unref(h->now);
        h->sweep = sd_event_source_disable_unref(h->sweep);
        if (h->daemon) {
                /* libmicrohttpd refuses to stop with a connection suspended */
                LIST_FOREACH(conns, c, h->conns) {
                        if (c->suspended) {
                                c->suspended = false;
                                MHD_resume_connection(c->mc);
                        }
                        if (c->stream && c->stream->suspended) {
                                c->stream->suspended = false;
                                MHD_resume_connection(c->mc);
                        }
                }
                /* takes the socket out of libmicrohttpd's hands, so that
                 * MHD_stop_daemon() does not shut it down */
                (void) MHD_quiesce_daemon(h->daemon);
                MHD_stop_daemon(h->daemon); /* closes the connections */
        }
        safe_close(h->fd);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

void http_server_reload(http_server *h, const daemon_conf *conf) {
        if (!h)
                return;
        if (conf->http_max_connections != h->max_connections)
                log_warning("MaxConnections= changed: it takes effect when iommud restarts");
        if (conf->http_max_connections_per_ip != h->max_per_ip)
                log_warning("MaxConnectionsPerIP= changed: it takes effect when iommud restarts");
        h->timeout_usec = conf->http_connection_timeout_usec;
}

unsigned http_server_n_connections(const http_server *h) {
        return h ? h->n_conns : 0;
}
