/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <systemd/sd-daemon.h>

#include "basic/alloc-util.h"
#include "basic/list.h"
#include "daemon/log.h"
#include "daemon/server.h"
#include "shared/protocol.h"

#define READ_CHUNK (64u << 10)
#define IN_INITIAL (32u << 10) /* the first input buffer, and what a large emptied one shrinks to */
#define OUT_MIN 4096u
#define OUT_KEEP (256u << 10) /* an emptied output buffer larger than this is freed */
#define ACCEPT_BURST 32
#define ACCEPT_PAUSE_USEC (100 * 1000) /* after EMFILE: let connections end */
#define STREAM_CHUNK (64u << 10)       /* read from a stream at a time */
/* At most this per send(): the kernel frees what a client read one sent
 * buffer at a time, and that is how a slow reader's progress shows
 * (SIOCOUTQ, in server_on_sweep) before it has room for another write. */
#define SEND_MAX (16u << 10)

struct conn {
        server *server;
        LIST_FIELDS(conn, conns);
        uint64_t serial;
        int fd;
        sd_event_source *io;
        uint32_t events;
        struct ucred peer;
        char describe[96];

        char *in;
        size_t in_len, in_alloc;
        size_t in_scanned; /* no "\n" in in[0, in_scanned) */
        char *out;
        size_t out_start, out_end, out_alloc;

        /* an answer coming in pieces; later requests wait for its end */
        const conn_stream_ops *stream_ops;
        void *stream_userdata;
        bool stream_idle; /* it has nothing now: wait for conn_stream_wake() */
        sd_event_source *wake;
        char *held; /* fault events that came during the stream */
        size_t held_len, held_alloc;

        bool subscriber;
        bool backlogged; /* complete requests wait until the client reads its answers */
        bool read_eof;   /* the client shut down its side: answer, then close */
        bool closing;    /* no more requests: close once the output is written */
        bool dead;       /* close now */

        uint64_t last_read, last_write; /* CLOCK_MONOTONIC usec; last_write: the client last took some */
        int unread;                     /* bytes in the socket the client had not read, at the last sweep */
        uint64_t line_start;            /* first byte of the pending partial line; 0: none */
};

struct server {
        sd_event *event;
        const server_ops *ops;
        void *userdata;
        server_limits limits;

        int listen_fd;
        sd_event_source *listen_io;
        sd_event_source *accept_pause;
        sd_event_source *sweep;
        char *path; /* made here: removed on exit */
        dev_t path_dev;
        ino_t path_ino;

        conn *conns;
        unsigned n_conns, n_subscribers;
        bool stopping; /* server_free(): connections close mid-answer */
        uint64_t serial;
        ratelimit full_log, emfile_log;
};

static uint64_t now_usec(server *s) {
        uint64_t t = 0;
        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &t);
        return t;
}

const char *conn_describe(const conn *c) {
        return c->describe;
}

const struct ucred *conn_peer(const conn *c) {
        return &c->peer;
}

unsigned server_n_clients(const server *s) {
        return s->n_conns;
}

unsigned server_n_subscribers(const server *s) {
        return s->n_subscribers;
}

static void conn_free(conn *c) {
        server *s;

        if (!c)
                return;
        s = c->server;
        if (c->stream_ops) {
                /* a stream that ended as it should is gone by now */
                if (s->stopping)
                        log_info("Closing %s in the middle of an answer: iommud is stopping", c->describe);
                else
                        log_debug("%s went away in the middle of an answer", c->describe);
                c->stream_ops->free(c->stream_userdata);
                c->stream_ops = NULL;
        }
        LIST_REMOVE(conns, s->conns, c);
        s->n_conns--;
        if (c->subscriber)
                s->n_subscribers--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->wake);
        safe_close(c->fd);
        free(c->in);
        free(c->out);
        free(c->held);
        free(c);
}

static size_t out_pending(const conn *c) {
        return c->out_end - c->out_start;
}

static int out_reserve(conn *c, size_t n) {
        if (c->out_start == c->out_end)
                c->out_start = c->out_end = 0;
        if (c->out_alloc - c->out_end >= n)
                return 0;
        if (c->out_start > 0) {
                memmove(c->out, c->out + c->out_start, out_pending(c));
                c->out_end -= c->out_start;
                c->out_start = 0;
                if (c->out_alloc - c->out_end >= n)
                        return 0;
        }
        if (n > SIZE_MAX - c->out_end || !GREEDY_REALLOC_MIN(c->out, c->out_alloc, c->out_end + n, OUT_MIN))
                return -ENOMEM;
        return 0;
}

int conn_sendv(conn *c, const struct iovec *iov, size_t n) {
        size_t total = 0;

        if (c->dead)
                return 0;
        for (size_t i = 0; i < n; i++)
                total += iov[i].iov_len;
        if (out_reserve(c, total) < 0) {
                log_error("Out of memory queueing %zu bytes for %s: closing it", total, c->describe);
                c->dead = true;
                return -ENOMEM;
        }
        if (c->out_start == c->out_end)
                c->last_write = now_usec(c->server); /* the client's time to read starts now */
        for (size_t i = 0; i < n; i++) {
                memcpy(c->out + c->out_end, iov[i].iov_base, iov[i].iov_len);
                c->out_end += iov[i].iov_len;
        }
        return 0;
}

int conn_send(conn *c, const void *data, size_t len) {
        struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
        return conn_sendv(c, &iov, 1);
}

static void conn_flush(conn *c);
static void conn_process(conn *c);
static void conn_settle(conn *c);

/* The stream ended (or failed): what was held back behind it follows. */
static void conn_stream_end(conn *c) {
        const conn_stream_ops *ops = c->stream_ops;

        c->stream_ops = NULL;
        c->stream_idle = false;
        ops->free(c->stream_userdata);
        c->stream_userdata = NULL;
        if (c->held_len > 0) {
                (void) conn_send(c, c->held, c->held_len);
                c->held = mfree(c->held);
                c->held_len = c->held_alloc = 0;
        }
}

/* Read the stream into the output while the client keeps up. */
static void conn_pump(conn *c) {
        while (c->stream_ops && !c->dead && !c->stream_idle && out_pending(c) < SERVER_OUTPUT_HIGH) {
                bool was_empty;
                size_t n = 0;
                int r;

                if (out_reserve(c, STREAM_CHUNK) < 0) {
                        log_error("Out of memory streaming an answer to %s: closing it", c->describe);
                        c->dead = true;
                        return;
                }
                was_empty = out_pending(c) == 0;
                r = c->stream_ops->read(c->stream_userdata, c->out + c->out_end, STREAM_CHUNK, &n);
                if (n > 0) {
                        if (was_empty)
                                c->last_write = now_usec(c->server);
                        c->out_end += n;
                }
                if (r != 0) {
                        conn_stream_end(c);
                        /* failed: the client gets what there is, then its end (a cut line) */
                        if (r < 0)
                                c->closing = true;
                        return;
                }
                if (n == 0)
                        c->stream_idle = true;
                else
                        conn_flush(c);
        }
}

int conn_send_stream(conn *c, const conn_stream_ops *ops, void *userdata) {
        if (c->dead || c->stream_ops) {
                ops->free(userdata);
                return c->dead ? 0 : -EBUSY;
        }
        c->stream_ops = ops;
        c->stream_userdata = userdata;
        c->stream_idle = false;
        return 0;
}

static int conn_on_wake(sd_event_source *es, void *userdata) {
        conn *c = userdata;

        conn_process(c);
        conn_settle(c);
        return 0;
}

/* Another pass over the connection, from the event loop. */
static void conn_schedule(conn *c) {
        int r;

        if (!c->wake) {
                r = sd_event_add_defer(c->server->event, &c->wake, conn_on_wake, c);
                if (r < 0) {
                        log_error("Failed to wake %s: %s", c->describe, strerror(-r));
                        c->dead = true;
                        return;
                }
        }
        (void) sd_event_source_set_enabled(c->wake, SD_EVENT_ONESHOT);
}

void conn_stream_wake(conn *c) {
        if (!c->stream_ops)
                return;
        c->stream_idle = false;
        conn_schedule(c);
}

void conn_subscribe(conn *c) {
        if (!c->subscriber) {
                c->subscriber = true;
                c->server->n_subscribers++;
        }
}

int conn_peer_groups(conn *c, gid_t **ret, size_t *ret_n) {
        socklen_t len = 64 * sizeof(gid_t);

        for (int attempt = 0; attempt < 4; attempt++) {
                _cleanup_free_ gid_t *g = malloc(len ? len : sizeof(gid_t));

                if (!g)
                        return -ENOMEM;
                if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) >= 0) {
                        *ret_n = len / sizeof(gid_t);
                        *ret = TAKE_PTR(g);
                        return 0;
                }
                if (errno != ERANGE)
                        return -errno;
                /* len now says how much it needs */
        }
        return -ERANGE;
}

/* Write what is queued, as much as the socket takes. */
static void conn_flush(conn *c) {
        while (!c->dead && out_pending(c) > 0) {
                size_t n = out_pending(c) < SEND_MAX ? out_pending(c) : SEND_MAX;
                ssize_t k = send(c->fd, c->out + c->out_start, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        /* EPIPE, ECONNRESET: the client went away mid-answer */
                        log_debug("Failed to write to %s: %s", c->describe, strerror(errno));
                        c->dead = true;
                        break;
                }
                c->out_start += (size_t) k;
                c->last_write = now_usec(c->server);
        }
        if (out_pending(c) == 0 && c->out_alloc > OUT_KEEP) {
                free(c->out);
                c->out = NULL;
                c->out_alloc = c->out_start = c->out_end = 0;
        }
}

static void conn_send_error_now(conn *c, int code, const char *message) {
        _cleanup_free_ char *line = protocol_format_error(NULL, code, message);
        if (line)
                (void) conn_send(c, line, strlen(line));
}

/* Lines over the limit are answered once, then the connection ends. */
static void conn_too_big(conn *c) {
        char msg[160];

        snprintf(msg, sizeof msg,
                 "Request line longer than MaxRequestSize=%zu bytes: closing the connection",
                 c->server->limits.max_request_size);
        log_info("%s sent a request line longer than MaxRequestSize=%zu bytes: closing it", c->describe,
                 c->server->limits.max_request_size);
        conn_send_error_now(c, E2BIG, msg);
        c->closing = true;
        c->in_len = c->in_scanned = 0;
        c->line_start = 0;
}

/* Answer the complete lines, as long as the client reads its answers. */
static void conn_process(conn *c) {
        server *s = c->server;
        size_t pos = 0;

        c->backlogged = false;
        while (!c->dead && !c->closing) {
                char *nl;
                size_t len;

                if (c->stream_ops) {
                        conn_pump(c);
                        if (c->stream_ops)
                                break; /* the next requests wait for its end */
                        continue;
                }
                if (out_pending(c) >= SERVER_OUTPUT_HIGH) {
                        conn_flush(c);
                        if (out_pending(c) >= SERVER_OUTPUT_HIGH) {
                                c->backlogged = true;
                                break;
                        }
                }
                nl = memchr(c->in + pos + c->in_scanned, '\n', c->in_len - pos - c->in_scanned);
                if (!nl) {
                        c->in_scanned = c->in_len - pos;
                        if (c->in_scanned > s->limits.max_request_size)
                                conn_too_big(c);
                        break;
                }
                len = (size_t) (nl - (c->in + pos));
                c->in_scanned = 0;
                if (len > s->limits.max_request_size) {
                        conn_too_big(c);
                        break;
                }
                s->ops->line(s->userdata, c, c->in + pos, len);
                pos += len + 1;
        }

        if (c->closing || c->dead) {
                c->in_len = c->in_scanned = 0;
                c->line_start = 0;
        } else if (pos > 0) {
                c->in_len -= pos;
                memmove(c->in, c->in + pos, c->in_len);
                /* the partial line that is left began with the last read */
                c->line_start = c->in_len > 0 ? c->last_read : 0;
        }
        if (c->in_alloc > 4 * READ_CHUNK && c->in_len < IN_INITIAL) {
                char *p = realloc(c->in, IN_INITIAL);
                if (p) {
                        c->in = p;
                        c->in_alloc = IN_INITIAL;
                }
        }
        conn_flush(c);
}

static void conn_update_events(conn *c) {
        uint32_t want = 0;

        if (!c->closing && !c->read_eof && !c->stream_ops && out_pending(c) < SERVER_OUTPUT_HIGH)
                want |= EPOLLIN;
        if (out_pending(c) > 0)
                want |= EPOLLOUT;
        if (want != c->events) {
                if (sd_event_source_set_io_events(c->io, want) < 0)
                        c->dead = true;
                else
                        c->events = want;
        }
}

/* After any work: close the connection if it is done, else wait. */
static void conn_settle(conn *c) {
        /* a client that shut down its side gets the answers to its complete
         * requests; a partial one will never end */
        if (c->read_eof && !c->backlogged && !c->stream_ops)
                c->closing = true;
        if (!c->dead && c->closing && out_pending(c) == 0 && !c->stream_ops)
                c->dead = true;
        /* conn_process() stopped at SERVER_OUTPUT_HIGH, and the client took
         * it all since: no event will come for what it left (a stream not
         * idle, complete requests in the input), so pass again */
        if (!c->dead && out_pending(c) < SERVER_OUTPUT_HIGH && !c->closing &&
            ((c->stream_ops && !c->stream_idle) || (c->backlogged && c->in_len > 0)))
                conn_schedule(c);
        if (c->dead) {
                log_debug("Closing %s", c->describe);
                conn_free(c);
                return;
        }
        conn_update_events(c);
}

static int conn_read(conn *c) {
        server *s = c->server;
        size_t limit = s->limits.max_request_size + 1 + READ_CHUNK, room;
        ssize_t k;

        /* The buffer may grow past the limit (doubling), but what is read
         * into it never does: the pages beyond stay untouched. */
        if (c->in_alloc - c->in_len < READ_CHUNK / 4 && c->in_alloc < limit &&
            !GREEDY_REALLOC_MIN(c->in, c->in_alloc,
                                c->in_len + READ_CHUNK / 4 < limit ? c->in_len + READ_CHUNK / 4 : limit,
                                IN_INITIAL)) {
                log_error("Out of memory reading from %s: closing it", c->describe);
                return -ENOMEM;
        }
        room = (c->in_alloc < limit ? c->in_alloc : limit) - c->in_len;
        if (room == 0)
                return 0; /* full of one partial line: conn_process says E2BIG */

        k = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
        if (k < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                log_debug("Failed to read from %s: %s", c->describe, strerror(errno));
                return -errno;
        }
        if (k == 0) {
                c->read_eof = true;
                return 0;
        }
        c->last_read = now_usec(s);
        if (c->in_len == 0)
                c->line_start = c->last_read;
        c->in_len += (size_t) k;
        return 0;
}

static int conn_on_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        conn *c = userdata;

        if (revents & EPOLLIN) {
                if (conn_read(c) < 0)
                        c->dead = true;
        } else if (revents & (EPOLLHUP | EPOLLERR))
                /* the peer is gone both ways: answers cannot arrive any more */
                c->dead = true;
        if (revents & EPOLLOUT)
                conn_flush(c);
        if (!c->dead)
                conn_process(c);
        conn_settle(c);
        return 0;
}

static void server_refuse(server *s, int fd) {
        char msg[160];
        _cleanup_free_ char *line = NULL;
        unsigned suppressed = 0;

        snprintf(msg, sizeof msg, "iommud serves MaxClients=%u clients already: try again later",
                 s->limits.max_clients);
        line = protocol_format_error(NULL, EAGAIN, msg);
        /* the new socket's buffer is empty: this fits, or is lost */
        if (line)
                (void) !send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (ratelimit_below(&s->full_log, &suppressed))
                log_warning("Refusing a connection: MaxClients=%u clients are connected%s",
                            s->limits.max_clients,
                            suppressed ? " (and more refused since the last message)" : "");
        safe_close(fd);
}

static int server_accept_one(server *s, int fd) {
        conn *c;
        socklen_t len = sizeof(struct ucred);
        int r;

        if (s->n_conns >= s->limits.max_clients) {
                server_refuse(s, fd);
                return 0;
        }
        c = calloc(1, sizeof *c);
        if (!c) {
                safe_close(fd);
                return log_error_errno(ENOMEM, "Out of memory accepting a connection");
        }
        c->server = s;
        c->fd = fd;
        c->serial = ++s->serial;
        c->last_read = c->last_write = now_usec(s);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &len) < 0) {
                r = -errno;
                safe_close(fd);
                free(c);
                return log_warning_errno(r, "Failed to identify a client (SO_PEERCRED): %s", strerror(-r));
        }
        snprintf(c->describe, sizeof c->describe, "client %" PRIu64 " (pid %d, uid %u)", c->serial,
                 (int) c->peer.pid, (unsigned) c->peer.uid);
        r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, conn_on_io, c);
        if (r < 0) {
                safe_close(fd);
                free(c);
                return log_error_errno(r, "Failed to watch a connection: %s", strerror(-r));
        }
        c->events = EPOLLIN;
        LIST_PREPEND(conns, s->conns, c);
        s->n_conns++;
        log_debug("New connection: %s", c->describe);
        return 0;
}

static int on_accept_pause_end(sd_event_source *es, uint64_t usec, void *userdata) {
        server *s = userdata;
        (void) sd_event_source_set_enabled(s->listen_io, SD_EVENT_ON);
        return 0;
}

static int server_on_listen(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        server *s = userdata;

        for (int i = 0; i < ACCEPT_BURST; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                unsigned suppressed = 0;

                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                /* accepting would fail again at once: pause instead of spinning */
                                if (ratelimit_below(&s->emfile_log, &suppressed))
                                        log_warning("Failed to accept a connection: %s; pausing for 100ms",
                                                    strerror(errno));
                                (void) sd_event_source_set_enabled(s->listen_io, SD_EVENT_OFF);
                                if (!s->accept_pause)
                                        (void) sd_event_add_time_relative(s->event, &s->accept_pause,
                                                                          CLOCK_MONOTONIC, ACCEPT_PAUSE_USEC,
                                                                          ACCEPT_PAUSE_USEC / 10,
                                                                          on_accept_pause_end, s);
                                else {
                                        (void) sd_event_source_set_time_relative(s->accept_pause,
                                                                                 ACCEPT_PAUSE_USEC);
                                        (void) sd_event_source_set_enabled(s->accept_pause,
                                                                           SD_EVENT_ONESHOT);
                                }
                                return 0;
                        }
                        log_warning("Failed to accept a connection: %s", strerror(errno));
                        return 0;
                }
                (void) server_accept_one(s, cfd);
        }
        return 0;
}

static bool expired(uint64_t now, uint64_t since, uint64_t timeout) {
        return timeout != UINT64_MAX && now >= since && now - since >= timeout;
}

static uint64_t sweep_period(const server_limits *l) {
        uint64_t t = l->idle_timeout_usec < l->request_timeout_usec ? l->idle_timeout_usec
                                                                    : l->request_timeout_usec;

        if (t == UINT64_MAX)
                return 1000 * 1000;
        t /= 4;
        if (t < 50 * 1000)
                t = 50 * 1000;
        if (t > 1000 * 1000)
                t = 1000 * 1000;
        return t;
}

/* Timeouts, checked for every connection a few times per timeout. */
static int server_on_sweep(sd_event_source *es, uint64_t usec, void *userdata) {
        server *s = userdata;
        uint64_t now = now_usec(s);

        LIST_FOREACH_SAFE(conns, c, next, s->conns) {
                const char *why = NULL;
                char span[32], msg[160];
                int unread;

                /* A client reading slowly takes from the socket's buffer long
                 * before it has room for another write: that is progress too. */
                if (out_pending(c) > 0 && ioctl(c->fd, SIOCOUTQ, &unread) >= 0) {
                        if (unread < c->unread)
                                c->last_write = now;
                        c->unread = unread;
                }

                /* input waiting behind unread answers is no partial request:
                 * the rule for unread answers below applies */
                if (c->in_len > 0 && !c->backlogged && !c->stream_ops &&
                    expired(now, c->last_read, s->limits.idle_timeout_usec))
                        why = "IdleTimeoutSec";
                else if (c->in_len > 0 && !c->backlogged && !c->stream_ops && c->line_start &&
                         expired(now, c->line_start, s->limits.request_timeout_usec))
                        why = "RequestTimeoutSec";
                else if (out_pending(c) > 0 && expired(now, c->last_write, s->limits.idle_timeout_usec)) {
                        log_info("Closing %s: it has not read its answers for IdleTimeoutSec%s", c->describe,
                                 c->stream_ops ? " (one is cut off)" : "");
                        c->dead = true;
                } else if (out_pending(c) == 0 && c->in_len == 0 && !c->subscriber && !c->stream_ops &&
                           expired(now, c->last_read > c->last_write ? c->last_read : c->last_write,
                                   s->limits.idle_timeout_usec)) {
                        log_debug("Closing %s: idle for IdleTimeoutSec", c->describe);
                        c->dead = true;
                }
                if (why) {
                        uint64_t t = streq(why, "IdleTimeoutSec") ? s->limits.idle_timeout_usec
                                                                  : s->limits.request_timeout_usec;
                        snprintf(span, sizeof span, "%.3gs", (double) t / 1e6);
                        snprintf(msg, sizeof msg,
                                 "Request not complete within %s=%s: closing the connection", why, span);
                        log_info("Closing %s: its request was not complete within %s=%s", c->describe, why,
                                 span);
                        c->in_len = 0;
                        conn_send_error_now(c, ETIMEDOUT, msg);
                        conn_flush(c);
                        c->dead = true;
                }
                if (c->dead)
                        conn_free(c);
        }
        (void) sd_event_source_set_time_relative(es, sweep_period(&s->limits));
        return 0;
}

void server_broadcast(server *s, const char *line, size_t len) {
        LIST_FOREACH_SAFE(conns, c, next, s->conns) {
                if (!c->subscriber || c->dead)
                        continue;
                if (c->stream_ops) {
                        /* not into the middle of an answer: after it */
                        if (c->held_len + len > SERVER_SUBSCRIBER_BACKLOG) {
                                log_warning("Dropping fault subscriber %s: %zu bytes of events wait behind "
                                            "an answer it does not read",
                                            c->describe, c->held_len);
                                conn_free(c);
                        } else if (!GREEDY_REALLOC_MIN(c->held, c->held_alloc, c->held_len + len, OUT_MIN)) {
                                log_error("Out of memory queueing an event for %s: closing it", c->describe);
                                conn_free(c);
                        } else {
                                memcpy(c->held + c->held_len, line, len);
                                c->held_len += len;
                        }
                        continue;
                }
                if (out_pending(c) + len > SERVER_SUBSCRIBER_BACKLOG) {
                        log_warning("Dropping fault subscriber %s: it left %zu bytes of events unread",
                                    c->describe, out_pending(c));
                        conn_free(c);
                        continue;
                }
                (void) conn_send(c, line, len);
                conn_settle(c);
        }
}

void server_set_limits(server *s, const server_limits *limits) {
        s->limits = *limits;
        if (s->sweep) {
                (void) sd_event_source_set_time_relative(s->sweep, sweep_period(&s->limits));
                (void) sd_event_source_set_time_accuracy(s->sweep, sweep_period(&s->limits) / 4);
        }
}

int server_new(sd_event *e, const server_ops *ops, void *userdata, const server_limits *limits,
               server **ret) {
        _cleanup_(server_freep) server *s = calloc(1, sizeof *s);
        int r;

        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->ops = ops;
        s->userdata = userdata;
        s->limits = *limits;
        s->listen_fd = -EBADF;
        s->full_log = (ratelimit) RATELIMIT_INIT(10 * 1000 * 1000, 1);
        s->emfile_log = (ratelimit) RATELIMIT_INIT(10 * 1000 * 1000, 1);
        r = sd_event_add_time_relative(e, &s->sweep, CLOCK_MONOTONIC, sweep_period(limits),
                                       sweep_period(limits) / 4, server_on_sweep, s);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(s->sweep, SD_EVENT_ON);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

server *server_free(server *s) {
        struct stat st;

        if (!s)
                return NULL;
        s->stopping = true;
        while (s->conns)
                conn_free(s->conns);
        sd_event_source_disable_unref(s->listen_io);
        sd_event_source_disable_unref(s->accept_pause);
        sd_event_source_disable_unref(s->sweep);
        safe_close(s->listen_fd);
        /* only the file made here, and only if nobody replaced it since */
        if (s->path && lstat(s->path, &st) >= 0 && st.st_dev == s->path_dev && st.st_ino == s->path_ino)
                (void) unlink(s->path);
        free(s->path);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

static int server_watch(server *s, int fd) {
        int r = sd_event_add_io(s->event, &s->listen_io, fd, EPOLLIN, server_on_listen, s);
        if (r < 0)
                return r;
        s->listen_fd = fd;
        return 0;
}

static const char *family_name(int family) {
        switch (family) {
        case AF_UNIX:
                return "a Unix";
        case AF_INET:
                return "an IPv4";
        case AF_INET6:
                return "an IPv6";
        case AF_NETLINK:
                return "a netlink";
        default:
                return "another";
        }
}

int passed_socket_check(int fd, int family, const char *name, iommu_error *err) {
        const char *want = family == AF_UNIX ? "Unix stream" : "TCP";
        char what[64], is[96];
        int type = 0, domain = 0, listening = 0;
        socklen_t len = sizeof(int);
        struct stat st;

        if (name)
                snprintf(what, sizeof what, "%s (fd %d)", name, fd);
        else
                snprintf(what, sizeof what, "fd %d", fd);

        if (fstat(fd, &st) < 0)
                snprintf(is, sizeof is, "it is not open (%s)", strerror(errno));
        else if (!S_ISSOCK(st.st_mode))
                snprintf(is, sizeof is, "it is not a socket but %s",
                         S_ISREG(st.st_mode)    ? "a regular file"
                         : S_ISDIR(st.st_mode)  ? "a directory"
                         : S_ISFIFO(st.st_mode) ? "a pipe"
                         : S_ISCHR(st.st_mode)  ? "a character device"
                                                : "another kind of file");
        else if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
                 getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &(socklen_t){ sizeof type }) < 0 ||
                 getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &(socklen_t){ sizeof listening }) < 0)
                snprintf(is, sizeof is, "its kind cannot be read (%s)", strerror(errno));
        else if (type != SOCK_STREAM)
                snprintf(is, sizeof is, "it is %s %s socket", family_name(domain),
                         type == SOCK_DGRAM ? (domain == AF_INET || domain == AF_INET6 ? "UDP" : "datagram")
                         : type == SOCK_SEQPACKET ? "seqpacket"
                                                  : "non-stream");
        else if (family == AF_UNIX ? domain != AF_UNIX : domain != AF_INET && domain != AF_INET6)
                snprintf(is, sizeof is, "it is %s stream socket", family_name(domain));
        else if (!listening)
                snprintf(is, sizeof is, "it is not listening");
        else
                return 0;
        return iommu_error_set(err, ENOTSOCK, "The socket passed as %s is not a listening %s socket: %s",
                               what, want, is);
}

int server_adopt(server *s, int fd, iommu_error *err) {
        int r, flags;

        r = passed_socket_check(fd, AF_UNIX, NULL, err);
        if (r < 0)
                return r;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return iommu_error_set(err, errno, "Failed to make fd %d non-blocking: %s", fd,
                                       strerror(errno));
        r = server_watch(s, fd);
        if (r < 0)
                return iommu_error_set(err, -r, "Failed to watch the socket: %s", strerror(-r));
        return 0;
}

static int resolve_group(const char *name, gid_t *ret) {
        struct group grp, *result = NULL;
        char buf[4096], *end;
        unsigned long v;
        int r;

        errno = 0;
        v = strtoul(name, &end, 10);
        if (!errno && end != name && !*end && v < UINT32_MAX) {
                *ret = (gid_t) v;
                return 0;
        }
        r = getgrnam_r(name, &grp, buf, sizeof buf, &result);
        if (r != 0)
                return -r;
        if (!result)
                return -ESRCH;
        *ret = result->gr_gid;
        return 0;
}

static int mkdir_parents(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        char *slash;

        if (!p)
                return -ENOMEM;
        for (slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *slash = '/';
        }
        return 0;
}

/* Whether a daemon answers at path. */
static bool socket_alive(const struct sockaddr_un *sa) {
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd >= 0 && connect(fd, (const struct sockaddr *) sa, sizeof *sa) >= 0;
}

int server_listen(server *s, const char *path, mode_t mode, const char *group, iommu_error *err) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        gid_t gid = (gid_t) -1;
        struct stat st;
        mode_t old_umask;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return iommu_error_set(err, ENAMETOOLONG, "Socket path %s is too long", path);
        strcpy(sa.sun_path, path);
        if (group && *group) {
                r = resolve_group(group, &gid);
                if (r < 0)
                        return iommu_error_set(err, -r, "SocketGroup=%s: no such group", group);
        }
        r = mkdir_parents(path);
        if (r < 0)
                return iommu_error_set(err, -r, "Failed to create the directory of %s: %s", path,
                                       strerror(-r));

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to create a socket: %s", strerror(errno));

        /* created with its final mode: never more open than configured */
        old_umask = umask(~mode & 0777);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
        if (r == -EADDRINUSE) {
                if (lstat(path, &st) >= 0 && !S_ISSOCK(st.st_mode)) {
                        umask(old_umask);
                        return iommu_error_set(err, EEXIST,
                                               "%s exists and is not a socket: not replacing it", path);
                }
                if (socket_alive(&sa)) {
                        umask(old_umask);
                        return iommu_error_set(err, EADDRINUSE, "Another daemon answers on %s already",
                                               path);
                }
                log_info("Replacing the stale socket %s (nobody answers on it)", path);
                (void) unlink(path);
                r = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ? -errno : 0;
        }
        umask(old_umask);
        if (r < 0)
                return iommu_error_set(err, -r, "Failed to bind %s: %s", path, strerror(-r));

        if (lstat(path, &st) < 0)
                return iommu_error_set(err, errno, "Failed to stat %s: %s", path, strerror(errno));
        s->path = strdup(path);
        if (!s->path)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        s->path_dev = st.st_dev;
        s->path_ino = st.st_ino;

        if (chmod(path, mode) < 0)
                return iommu_error_set(err, errno, "Failed to set the mode of %s to %04o: %s", path,
                                       (unsigned) mode, strerror(errno));
        if (gid != (gid_t) -1 && chown(path, (uid_t) -1, gid) < 0)
                return iommu_error_set(err, errno, "Failed to give %s to group %s: %s", path, group,
                                       strerror(errno));
        if (listen(fd, SOMAXCONN) < 0)
                return iommu_error_set(err, errno, "Failed to listen on %s: %s", path, strerror(errno));
        r = server_watch(s, fd);
        if (r < 0)
                return iommu_error_set(err, -r, "Failed to watch the socket: %s", strerror(-r));
        TAKE_FD(fd);
        return 0;
}
