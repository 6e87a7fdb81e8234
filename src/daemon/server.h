/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The Unix socket: listening (inherited from systemd or made here), and the
 * connections, each with bounded input and output buffers, all on one
 * sd-event loop.  The server knows lines, not JSON: every complete line goes
 * to ops->line, whose answers are queued with conn_send().
 *
 * Nobody stalls anybody: sockets are non-blocking; a client that does not
 * read its answers stops being read (its requests wait) once
 * SERVER_OUTPUT_HIGH bytes are queued for it; a subscriber that does not
 * read its events is dropped past SERVER_SUBSCRIBER_BACKLOG; lines over
 * MaxRequestSize are answered E2BIG and the connection closed; a partial
 * line left silent for IdleTimeoutSec, or unfinished after
 * RequestTimeoutSec, closes the connection, as does a connection idle for
 * IdleTimeoutSec (subscribers excepted: they wait for events).
 *
 * An answer may also come in pieces (conn_send_stream(): v1.mappings of a
 * busy machine, written by a worker as it walks): it is read only as the
 * client drains its output below SERVER_OUTPUT_HIGH, so a slow client
 * holds back the worker and never a growing buffer here.  Answers stay in
 * request order: the connection's later requests wait until the stream
 * ends (its input is not read meanwhile), and fault events for a
 * subscriber wait behind it (up to SERVER_SUBSCRIBER_BACKLOG).  A stream
 * that fails midway closes the connection once what it gave is written:
 * the client sees the line cut.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <systemd/sd-event.h>

#include "basic/error.h"

#define SERVER_OUTPUT_HIGH (256u << 10)
#define SERVER_SUBSCRIBER_BACKLOG (4u << 20)

typedef struct server server;
typedef struct conn conn;

typedef struct server_ops {
        /* One complete line, without its "\n". */
        void (*line)(void *userdata, conn *c, const char *line, size_t len);
} server_ops;

typedef struct server_limits {
        size_t max_request_size;
        unsigned max_clients;
        uint64_t idle_timeout_usec;    /* UINT64_MAX: never */
        uint64_t request_timeout_usec; /* UINT64_MAX: never */
} server_limits;

int server_new(sd_event *e, const server_ops *ops, void *userdata, const server_limits *limits,
               server **ret);
/* Closes every connection and the listening socket; removes the socket
 * file if this server made it (and it is still the same file). */
server *server_free(server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(server *, server_free);

/* A listening socket passed by systemd (never removed on exit). */
int server_adopt(server *s, int fd, iommu_error *err);

/* Whether fd, passed by systemd as name (its FileDescriptorName=; NULL:
 * unnamed), is a listening stream socket of family: AF_UNIX, or AF_INET
 * for either of AF_INET and AF_INET6.  LISTEN_FDS may name a descriptor
 * that was never passed, or one that is something else: -ENOTSOCK with
 * one line saying what it is instead.  fd is left as it is either way. */
int passed_socket_check(int fd, int family, const char *name, iommu_error *err);
/* Make and listen on path: the parent directory is made (0755) if
 * missing; a stale socket file is replaced only when nobody answers on it;
 * mode and group (NULL: the daemon's) are applied. */
int server_listen(server *s, const char *path, mode_t mode, const char *group, iommu_error *err);

void server_set_limits(server *s, const server_limits *limits);
unsigned server_n_clients(const server *s);
unsigned server_n_subscribers(const server *s);

/* Queue a line (or its parts) for every subscriber; those over their
 * backlog are dropped with a log line. */
void server_broadcast(server *s, const char *line, size_t len);

typedef struct conn_stream_ops {
        /* Up to max bytes of the answer into buf: 0 with *ret_n bytes (none:
         * nothing yet, and conn_stream_wake() comes when there is), 1 at
         * its end, a negative errno when it failed (the owner logs why). */
        int (*read)(void *userdata, void *buf, size_t max, size_t *ret_n);
        /* It ended, or the connection goes away first. */
        void (*free)(void *userdata);
} conn_stream_ops;

/* Queue an answer that comes in pieces (after what is queued already);
 * ops->free() is called even when this fails. */
int conn_send_stream(conn *c, const conn_stream_ops *ops, void *userdata);
/* The stream has more to read (from any event source: the work is
 * deferred to the loop). */
void conn_stream_wake(conn *c);

/* Queue output; written as the client reads.  -ENOMEM. */
int conn_send(conn *c, const void *data, size_t len);
int conn_sendv(conn *c, const struct iovec *iov, size_t n);
const struct ucred *conn_peer(const conn *c);
/* The client's supplementary groups as they were when it connected
 * (SO_PEERGROUPS).  Caller frees. */
int conn_peer_groups(conn *c, gid_t **ret, size_t *ret_n);
void conn_subscribe(conn *c);
/* "client 7 (pid 1234, uid 0)" */
const char *conn_describe(const conn *c);
