/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Asking iommud over its socket (protocol.h): one request, one answer; or a
 * subscription whose events stream until interrupted. */
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "basic/alloc-util.h"
#include "basic/fileio.h"
#include "basic/json-util.h"
#include "cli/cli.h"
#include "shared/protocol.h"

#define CLIENT_MAX_ANSWER (256u << 20) /* a mappings answer of a big machine fits */

typedef struct client {
        int fd;
        char *buf;
        size_t len, alloc;
} client;

static void client_close(client *c) {
        c->fd = safe_close(c->fd);
        c->buf = mfree(c->buf);
}

static int client_connect(client *c) {
        const char *path = arg.socket ? arg.socket : PROTOCOL_DEFAULT_SOCKET;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        *c = (client){ .fd = -EBADF };
        if (strlen(path) >= sizeof sa.sun_path)
                return cli_fail(EXIT_FAILED, ENAMETOOLONG, "Socket path %s is too long", path);
        strcpy(sa.sun_path, path);

        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return cli_fail(EXIT_FAILED, errno, "Failed to create a socket: %s", strerror(errno));
        if (connect(c->fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int e = errno;
                c->fd = safe_close(c->fd);
                if (e == ENOENT || e == ECONNREFUSED)
                        return cli_fail(EXIT_FAILED, e,
                                        "iommud is not running (no daemon at %s); use --direct to read the "
                                        "hardware yourself",
                                        path);
                if (e == EACCES)
                        return cli_fail(EXIT_FAILED, e,
                                        "Permission denied connecting to %s: reading needs membership in "
                                        "the socket's group",
                                        path);
                return cli_fail(EXIT_FAILED, e, "Failed to connect to iommud at %s: %s", path, strerror(e));
        }
        return EXIT_OK;
}

static int client_send(client *c, const char *line) {
        size_t n = strlen(line);

        while (n > 0) {
                ssize_t k = send(c->fd, line, n, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return cli_fail(EXIT_FAILED, errno, "Failed to send to iommud: %s", strerror(errno));
                }
                line += k;
                n -= (size_t) k;
        }
        return EXIT_OK;
}

/* The next line from the daemon, parsed; *ret NULL at a clean end. */
static int client_receive(client *c, json_object **ret) {
        for (;;) {
                char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
                ssize_t k;

                if (nl) {
                        size_t line = (size_t) (nl - c->buf);
                        json_tokener *tok = json_tokener_new();
                        json_object *o;

                        if (!tok)
                                return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
                        o = json_tokener_parse_ex(tok, c->buf, (int) line);
                        json_tokener_free(tok);
                        memmove(c->buf, nl + 1, c->len - line - 1);
                        c->len -= line + 1;
                        if (!o || !json_object_is_type(o, json_type_object)) {
                                json_object_put(o);
                                return cli_fail(EXIT_FAILED, EBADMSG,
                                                "iommud sent something that is not a JSON object");
                        }
                        *ret = o;
                        return EXIT_OK;
                }
                if (c->len >= CLIENT_MAX_ANSWER)
                        return cli_fail(EXIT_FAILED, E2BIG, "iommud's answer is larger than %u MiB",
                                        CLIENT_MAX_ANSWER >> 20);
                /* room to read into; 64 KiB at first, a small answer's size */
                if (!GREEDY_REALLOC_MIN(c->buf, c->alloc, c->len + 1, 65536))
                        return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
                k = recv(c->fd, c->buf + c->len, c->alloc - c->len, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                return cli_fail(EXIT_FAILED, EINTR, "Interrupted");
                        return cli_fail(EXIT_FAILED, errno, "Failed to read from iommud: %s",
                                        strerror(errno));
                }
                if (k == 0) {
                        if (c->len)
                                return cli_fail(EXIT_FAILED, EPIPE,
                                                "iommud closed the connection mid-answer");
                        *ret = NULL;
                        return EXIT_OK;
                }
                c->len += (size_t) k;
        }
}

/* An answer's result (a new reference), or the error turned into one line. */
static int answer_result(json_object *answer, json_object **ret) {
        json_object *e, *r;

        if (json_object_object_get_ex(answer, "error", &e)) {
                json_object *msg = json_get_typed(e, "message", json_type_string);
                int64_t code = json_get_i64(e, "code");
                return cli_fail(EXIT_FAILED, code >= 0 && code <= INT_MAX ? (int) code : EPROTO, "%s",
                                msg ? json_object_get_string(msg) : "iommud answered with an error");
        }
        if (!json_object_object_get_ex(answer, "result", &r))
                return cli_fail(EXIT_FAILED, EBADMSG, "iommud's answer has neither result nor error");
        *ret = json_object_get(r);
        return EXIT_OK;
}

int client_call(const char *method, json_object *params, json_type type, json_object **ret) {
        _cleanup_free_ char *line = NULL;
        _cleanup_json_ json_object *answer = NULL, *result = NULL;
        client c;
        int r;

        r = client_connect(&c);
        if (r != EXIT_OK)
                return r;
        line = protocol_format_request(method, params, 1);
        if (!line) {
                client_close(&c);
                return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
        }
        r = client_send(&c, line);
        if (r == EXIT_OK)
                r = client_receive(&c, &answer);
        client_close(&c);
        if (r != EXIT_OK)
                return r;
        if (!answer)
                return cli_fail(EXIT_FAILED, EPIPE, "iommud closed the connection without answering");
        r = answer_result(answer, &result);
        if (r != EXIT_OK)
                return r;
        if (!json_object_is_type(result, type))
                return cli_fail(EXIT_FAILED, EBADMSG, "iommud answered %s with a JSON %s, not a JSON %s",
                                method, json_type_to_name(json_object_get_type(result)),
                                json_type_to_name(type));
        *ret = TAKE_PTR(result);
        return EXIT_OK;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
        interrupted = sig;
}

int client_follow(const char *method, void (*on_event)(json_object *data)) {
        _cleanup_free_ char *line = NULL;
        _cleanup_json_ json_object *answer = NULL, *result = NULL;
        struct sigaction sa = { .sa_handler = on_signal };
        client c;
        int r;

        r = client_connect(&c);
        if (r != EXIT_OK)
                return r;
        line = protocol_format_request(method, NULL, 1);
        r = line ? client_send(&c, line) : cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
        if (r == EXIT_OK)
                r = client_receive(&c, &answer);
        if (r == EXIT_OK && !answer)
                r = cli_fail(EXIT_FAILED, EPIPE, "iommud closed the connection without answering");
        if (r == EXIT_OK)
                r = answer_result(answer, &result);
        if (r != EXIT_OK) {
                client_close(&c);
                return r;
        }

        /* Ctrl-C ends following quietly: recv() returns EINTR */
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGTERM, &sa, NULL);
        for (;;) {
                _cleanup_json_ json_object *o = NULL;
                json_object *event, *data;
                struct pollfd p = { .fd = c.fd, .events = POLLIN };

                if (!memchr(c.buf ? c.buf : "", '\n', c.len) && poll(&p, 1, -1) < 0) {
                        if (errno == EINTR && interrupted)
                                break;
                        continue;
                }
                if (interrupted)
                        break;
                r = client_receive(&c, &o);
                if (r != EXIT_OK || !o)
                        break;
                if (json_object_object_get_ex(o, "event", &event) &&
                    json_object_object_get_ex(o, "data", &data))
                        on_event(data);
                fflush(stdout);
        }
        client_close(&c);
        if (interrupted)
                return EXIT_OK;
        return r == EXIT_OK ? cli_fail(EXIT_FAILED, EPIPE, "iommud closed the subscription") : r;
}
