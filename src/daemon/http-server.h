/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libmicrohttpd on iommud's one sd-event loop: the listening socket (made
 * here on ListenHTTP=, or passed by systemd and never shut down), the
 * connections with their limits and deadlines, and the answers.  What a
 * request means is the handler's business (http-routes.h); this file knows
 * HTTP, not iommud's resources.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>
#include <systemd/sd-event.h>

#include "basic/error.h"
#include "daemon/conf.h"

#define HTTP_MAX_URL 2048u  /* path and query */
#define HTTP_MAX_BODY 4096u /* of a request that takes a body */

#define HTTP_TYPE_JSON "application/json; charset=utf-8"
#define HTTP_TYPE_TEXT "text/plain; charset=utf-8"

typedef struct http_server http_server;

/* What the handler wants once a request's line and headers are in. */
typedef enum http_start {
        HTTP_START_ANSWERED, /* answered already: a body is dropped, and the connection closed after */
        HTTP_START_BODY,     /* read a body of up to HTTP_MAX_BODY bytes (ignored), then respond() */
        HTTP_START_NO_BODY,  /* respond() once the request is in; at once when it has a body */
} http_start;

typedef struct http_handler {
        /* The request line and headers are in; *ret is the result of an
         * answer queued now (HTTP_START_ANSWERED). */
        http_start (*start)(void *userdata, struct MHD_Connection *c, const char *url, const char *method,
                            enum MHD_Result *ret);
        /* The request is in: answer it. */
        enum MHD_Result (*respond)(void *userdata, struct MHD_Connection *c, const char *url,
                                   const char *method);
} http_handler;

/* Serve on fd, a listening socket passed by systemd (taken over), or when
 * fd < 0 on conf's ListenHTTP= (when that is unset: nothing, *ret = NULL).
 * handler's calls get userdata. */
int http_server_new(sd_event *e, int fd, const daemon_conf *conf, const http_handler *handler,
                    void *userdata, http_server **ret, iommu_error *err);
/* Closes the connections and the listening socket, which is never shut
 * down: one from systemd goes on queueing connections for the next start. */
http_server *http_server_free(http_server *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(http_server *, http_server_free);

/* Before conf replaces the running configuration (SIGHUP, v1.reload):
 * ConnectionTimeoutSec= applies to new connections, and the keys that need
 * a restart say so. */
void http_server_reload(http_server *h, const daemon_conf *conf);

unsigned http_server_n_connections(const http_server *h);

/* "127.0.0.1:4242", "[::1]:4242" */
const char *http_peer(struct MHD_Connection *c, char *buf, size_t size);

/* Answers.  Each queues one (MHD_NO: out of memory, the connection is
 * dropped).  Errors have the body {"error": {"code": ERRNO, "message":
 * "..."}}, the socket API's error member, and header (Allow,
 * WWW-Authenticate; NULL: none) set to value. */
enum MHD_Result http_reply_error(struct MHD_Connection *c, unsigned status, const char *header,
                                 const char *value, int code, const char *fmt, ...) _printf_(6, 7);
/* 200 with data (copied) as type. */
enum MHD_Result http_reply_data(struct MHD_Connection *c, const char *type, const void *data, size_t len);
/* 200 with o serialized as JSON; o NULL: out of memory (500). */
enum MHD_Result http_reply_object(struct MHD_Connection *c, json_object *o);

/*
 * Answers that take time.  A request waits without holding the loop: it is
 * suspended (libmicrohttpd leaves it alone), and once resumed its
 * handler's respond() runs again, finding what it left in the request's
 * state.  An answer of unknown length is sent chunked as read() gives it;
 * when read() has nothing yet the connection is suspended until
 * http_stream_wake().  ConnectionTimeoutSec= is a deadline for a request to
 * arrive; while it is answered only a client that takes nothing for that
 * long is cut off (libmicrohttpd's idle timeout), logged like every answer
 * that is cut.
 */
typedef struct http_request http_request;
typedef struct http_stream http_stream;

/* Wait: the request is suspended until http_request_resume(); state (freed
 * with free_state when the request ends, unless taken back) is its
 * handler's.  NULL (state freed) when it cannot wait: answer at once. */
http_request *http_request_suspend(struct MHD_Connection *c, void *state, void (*free_state)(void *state));
/* Go on with a suspended request (from any event source: libmicrohttpd
 * runs it from the loop). */
void http_request_resume(http_request *r);
/* The state a resumed request left, or NULL; take: the caller owns it. */
void *http_request_state(struct MHD_Connection *c);
void *http_request_take_state(struct MHD_Connection *c);

typedef struct http_stream_ops {
        /* As conn_stream_ops (server.h): 0 with *ret_n bytes (none: nothing
         * yet, http_stream_wake() when there is), 1 at the end, a negative
         * errno when it failed (the owner logs why; the chunked answer is
         * aborted, so the client knows it is incomplete). */
        int (*read)(void *userdata, void *buf, size_t max, size_t *ret_n);
        void (*free)(void *userdata);
} http_stream_ops;

/* 200 as type, sent chunked from ops->read (HEAD: the headers alone).
 * what names the answer in the log.  ops->free() is called in any case;
 * *ret (may be NULL) is for http_stream_wake() until then. */
enum MHD_Result http_reply_stream(struct MHD_Connection *c, const char *type, const char *what,
                                  const http_stream_ops *ops, void *userdata, http_stream **ret);
void http_stream_wake(http_stream *s);
