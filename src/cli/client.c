/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Asking iommud over its socket (protocol.h): one request, one answer
 * read whole; one answer too large for that, split as it arrives; or a
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
#include "cli/json-stream.h"
#include "shared/protocol.h"

/* An answer read whole: info, devices, domains, faults and dmar are small
 * on any machine; mappings, which are not, are split as they arrive
 * (client_call_split).  iommuctl(8) says so. */
#define CLIENT_MAX_ANSWER (256u << 20)
/* A piece of a split answer: a target's member, a range, an anomaly. */
#define CLIENT_MAX_PIECE (16u << 20)
#define CLIENT_READ_SIZE (64u << 10)

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

/* ---- an answer split as it arrives ---- */

typedef struct envelope {
        const char *method;
        json_type type;
        const split_ops *ops;
        void *userdata;
        json_tokener *tok;
        bool in_result;   /* between the result's begin and end, handed to ops */
        bool have_result; /* a result of the right type came */
        bool have_error;
        json_object *error; /* the error member */
        bool have_wrong;
        json_object *wrong; /* a result of another type */
        bool not_object;
        bool stopped; /* ops stopped it, and said why */
} envelope;

static char json_first_byte(json_type type) {
        return type == json_type_array ? '[' : type == json_type_object ? '{' : '\0';
}

static split_action envelope_begin(void *userdata, unsigned depth, const char *key, char first) {
        envelope *e = userdata;

        if (depth == 0)
                return first == '{' ? SPLIT_ENTER : SPLIT_CAPTURE;
        if (depth > 1)
                return e->ops->begin(e->userdata, depth - 1, key, first);
        if (streq(key, "result") && first == json_first_byte(e->type) && !e->have_result) {
                split_action a = e->ops->begin(e->userdata, 0, NULL, first);

                e->have_result = true;
                e->in_result = a != SPLIT_SKIP;
                return a;
        }
        return streq(key, "result") || streq(key, "error") ? SPLIT_CAPTURE : SPLIT_SKIP;
}

static int envelope_value(void *userdata, unsigned depth, const char *key, const char *text, size_t len) {
        envelope *e = userdata;
        int r;

        if (depth > 1 || e->in_result) {
                r = e->ops->value(e->userdata, depth - 1, depth > 1 ? key : NULL, text, len);
                if (r < 0)
                        e->stopped = true;
                if (depth == 1)
                        e->in_result = false;
                return r;
        }
        if (depth == 0) {
                e->not_object = true;
                return 0;
        }
        /* the first of each counts */
        if (streq(key, "error") && !e->have_error) {
                e->have_error = true;
                return json_piece_parse(e->tok, text, len, &e->error) < 0 ? -EBADMSG : 0;
        }
        if (streq(key, "result") && !e->have_wrong) {
                e->have_wrong = true;
                return json_piece_parse(e->tok, text, len, &e->wrong) < 0 ? -EBADMSG : 0;
        }
        return 0;
}

static int envelope_forward(void *userdata, const char *data, size_t size) {
        envelope *e = userdata;
        int r = e->ops->forward(e->userdata, data, size);

        if (r < 0)
                e->stopped = true;
        return r;
}

static int envelope_end(void *userdata, unsigned depth) {
        envelope *e = userdata;
        int r;

        if (depth == 0 || (depth == 1 && !e->in_result))
                return 0;
        if (depth == 1)
                e->in_result = false;
        r = e->ops->end ? e->ops->end(e->userdata, depth - 1) : 0;
        if (r < 0)
                e->stopped = true;
        return r;
}

static const split_ops envelope_ops = {
        .begin = envelope_begin,
        .value = envelope_value,
        .forward = envelope_forward,
        .end = envelope_end,
};

/* The envelope is complete: what it says besides the result. */
static int envelope_status(envelope *e) {
        json_object *msg;
        int64_t code;

        if (e->not_object)
                return cli_fail(EXIT_FAILED, EBADMSG, "iommud sent something that is not a JSON object");
        if (e->have_error) {
                msg = json_get_typed(e->error, "message", json_type_string);
                code = json_get_i64(e->error, "code");
                return cli_fail(EXIT_FAILED, code >= 0 && code <= INT_MAX ? (int) code : EPROTO, "%s",
                                msg ? json_object_get_string(msg) : "iommud answered with an error");
        }
        if (e->have_result)
                return EXIT_OK;
        if (e->have_wrong)
                return cli_fail(EXIT_FAILED, EBADMSG, "iommud answered %s with a JSON %s, not a JSON %s",
                                e->method, json_type_to_name(json_object_get_type(e->wrong)),
                                json_type_to_name(e->type));
        return cli_fail(EXIT_FAILED, EBADMSG, "iommud's answer has neither result nor error");
}

int client_call_split(const char *method, json_object *params, json_type type, const split_ops *ops,
                      void *userdata) {
        _cleanup_free_ char *line = NULL, *buf = NULL;
        envelope e = { .method = method, .type = type, .ops = ops, .userdata = userdata };
        json_split split;
        client c;
        bool any = false;
        int r;

        r = client_connect(&c);
        if (r != EXIT_OK)
                return r;
        line = protocol_format_request(method, params, 1);
        buf = malloc(CLIENT_READ_SIZE);
        e.tok = json_tokener_new();
        r = line && buf && e.tok ? client_send(&c, line) : cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
        json_split_init(&split, &envelope_ops, &e, CLIENT_MAX_PIECE);

        while (r == EXIT_OK && !json_split_complete(&split)) {
                ssize_t k = recv(c.fd, buf, CLIENT_READ_SIZE, 0);
                int s;

                if (k < 0 && errno == EINTR)
                        r = cli_fail(EXIT_FAILED, EINTR, "Interrupted");
                else if (k < 0)
                        r = cli_fail(EXIT_FAILED, errno, "Failed to read from iommud: %s", strerror(errno));
                else if (k == 0)
                        /* never a truncated answer passed off as complete */
                        r = any ? cli_fail(EXIT_FAILED, EPIPE, "iommud closed the connection mid-answer")
                                : cli_fail(EXIT_FAILED, EPIPE,
                                           "iommud closed the connection without answering");
                else {
                        any = true;
                        s = json_split_feed(&split, buf, (size_t) k, NULL);
                        if (s < 0 && e.stopped)
                                r = EXIT_FAILED;
                        else if (s == -E2BIG)
                                r = cli_fail(
                                        EXIT_FAILED, E2BIG,
                                        "iommud's answer holds a piece larger than %u MiB or nested deeper "
                                        "than %u levels",
                                        CLIENT_MAX_PIECE >> 20, SPLIT_MAX_DEPTH);
                        else if (s == -EBADMSG)
                                r = cli_fail(EXIT_FAILED, EBADMSG,
                                             "iommud sent something that is not JSON (at byte %llu)",
                                             split.offset);
                        else if (s < 0)
                                r = cli_fail(EXIT_FAILED, s, "Failed to read iommud's answer: %s",
                                             strerror(-s));
                }
        }
        if (r == EXIT_OK)
                r = envelope_status(&e);

        client_close(&c);
        json_split_done(&split);
        if (e.tok)
                json_tokener_free(e.tok);
        json_object_put(e.error);
        json_object_put(e.wrong);
        return r;
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
                if (fflush(stdout) != 0 || ferror(stdout)) {
                        r = cli_write_failed(errno ?: EIO);
                        break;
                }
        }
        client_close(&c);
        if (interrupted)
                return EXIT_OK;
        return r == EXIT_OK ? cli_fail(EXIT_FAILED, EPIPE, "iommud closed the subscription") : r;
}
