/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A load client for iommud: many connections at once, requests pipelined,
 * every answer checked.
 *
 *   daemon-load --socket PATH [--connections N] [--requests N] [--window N]
 *               [--mix KIND,...] [--timeout SEC]
 *
 * Up front, one request of each kind gives the expected answer line; every
 * answer of the load must then be exactly that line with its own id (the
 * daemon answers in request order, so the n-th answer on a connection is for
 * its n-th request).  Kinds: info devices dmar mappings mappings-device
 * mappings-domain version faults bad-param bad-json unknown.
 * Exit 0 when every answer was right, 1 otherwise (the first mismatch
 * printed), 2 on usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

typedef struct kind {
        const char *name;
        const char *method; /* the request: {"method": method[, "params": params], "id": ID} */
        const char *params;
        const char *literal; /* or this line, without an id */
        bool result;         /* the answer must be a result */
        char *suffix;        /* the expected answer after {"id":ID */
        size_t suffix_len;
        char *whole; /* the expected line when it has no id */
        uint64_t count;
} kind;

static kind kinds[] = {
        { "info", "v1.info", NULL, NULL, true },
        { "devices", "v1.devices", NULL, NULL, true },
        { "dmar", "v1.dmar", NULL, NULL, true },
        { "mappings", "v1.mappings", NULL, NULL, true },
        { "mappings-device", "v1.mappings", "{\"device\":\"0:3.0\"}", NULL, true },
        { "mappings-domain", "v1.mappings", "{\"domain\":1}", NULL, true },
        { "version", "v1.version", NULL, NULL, true },
        { "faults", "v1.faults", NULL, NULL, true },
        { "bad-param", "v1.mappings", "{\"pasid\":-1}", NULL, false },
        { "bad-json", NULL, NULL, "{\"method\": v1.info}\n", false },
        { "unknown", "v1.nope", NULL, NULL, false },
};

static int format_request(char *buf, size_t size, const kind *k, uint64_t id) {
        if (k->literal)
                return snprintf(buf, size, "%s", k->literal);
        return snprintf(buf, size, "{\"method\":\"%s\"%s%s,\"id\":%" PRIu64 "}\n", k->method,
                        k->params ? ",\"params\":" : "", k->params ? k->params : "", id);
}

#define N_KINDS (sizeof kinds / sizeof kinds[0])

typedef struct conn {
        int fd;
        uint64_t first, n, sent, answered; /* requests first .. first + n - 1 */
        char *out;
        size_t out_len, out_off, out_alloc;
        char *in;
        size_t in_len, in_alloc;
} conn;

static const char *arg_socket;
static unsigned arg_connections = 200;
static uint64_t arg_requests = 50000;
static unsigned arg_window = 16;
static double arg_timeout = 300;
static size_t mix[N_KINDS];
static size_t n_mix;

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int connect_socket(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", arg_socket);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        return fd;
}

static void *xrealloc(void *p, size_t n) {
        p = realloc(p, n);
        if (!p) {
                fprintf(stderr, "daemon-load: out of memory\n");
                exit(1);
        }
        return p;
}

static const kind *kind_of(uint64_t request) {
        return &kinds[mix[request % n_mix]];
}

/* Read one line (blocking), for the expected answers. */
static char *read_line(int fd, size_t *ret_len) {
        size_t len = 0, alloc = 65536;
        char *buf = xrealloc(NULL, alloc);

        for (;;) {
                ssize_t k;
                char *nl = len ? memchr(buf, '\n', len) : NULL;
                if (nl) {
                        *nl = '\0';
                        *ret_len = (size_t) (nl - buf);
                        return buf;
                }
                if (len == alloc)
                        buf = xrealloc(buf, alloc *= 2);
                k = read(fd, buf + len, alloc - len);
                if (k <= 0) {
                        free(buf);
                        return NULL;
                }
                len += (size_t) k;
        }
}

static int learn_expected(void) {
        int fd = connect_socket();

        if (fd < 0) {
                fprintf(stderr, "daemon-load: cannot connect to %s: %s\n", arg_socket, strerror(-fd));
                return -1;
        }
        for (size_t i = 0; i < N_KINDS; i++) {
                kind *k = &kinds[i];
                char req[256], prefix[32];
                json_object *o, *id;
                size_t len;
                char *line;
                int n = format_request(req, sizeof req, k, 0);

                if (write(fd, req, (size_t) n) != n) {
                        fprintf(stderr, "daemon-load: write failed: %s\n", strerror(errno));
                        close(fd);
                        return -1;
                }
                line = read_line(fd, &len);
                if (!line) {
                        fprintf(stderr, "daemon-load: no answer for %s\n", k->name);
                        close(fd);
                        return -1;
                }
                o = json_tokener_parse(line);
                if (!o || !json_object_object_get_ex(o, "id", &id) ||
                    json_object_object_get_ex(o, k->result ? "result" : "error", NULL) == false) {
                        fprintf(stderr, "daemon-load: unexpected answer for %s: %.300s\n", k->name, line);
                        json_object_put(o);
                        free(line);
                        close(fd);
                        return -1;
                }
                json_object_put(o);
                snprintf(prefix, sizeof prefix, "{\"id\":%s", !k->literal ? "0" : "null");
                if (strncmp(line, prefix, strlen(prefix)) != 0) {
                        fprintf(stderr, "daemon-load: answer for %s does not start with %s: %.200s\n",
                                k->name, prefix, line);
                        free(line);
                        close(fd);
                        return -1;
                }
                if (!k->literal) {
                        k->suffix_len = len - strlen(prefix);
                        k->suffix = xrealloc(NULL, k->suffix_len + 1);
                        memcpy(k->suffix, line + strlen(prefix), k->suffix_len + 1);
                        free(line);
                } else
                        k->whole = line;
        }
        close(fd);
        return 0;
}

static void fill(conn *c) {
        while (c->sent < c->n && c->sent - c->answered < arg_window) {
                uint64_t r = c->first + c->sent;
                char req[256];
                int n = format_request(req, sizeof req, kind_of(r), r + 1);

                if (c->out_len + (size_t) n > c->out_alloc)
                        c->out = xrealloc(c->out, c->out_alloc = (c->out_len + (size_t) n) * 2);
                memcpy(c->out + c->out_len, req, (size_t) n);
                c->out_len += (size_t) n;
                c->sent++;
        }
}

/* Check the complete lines read; -1 on a wrong answer. */
static int check(conn *c) {
        size_t pos = 0;

        for (;;) {
                char *nl = memchr(c->in + pos, '\n', c->in_len - pos);
                uint64_t r;
                kind *k;
                char prefix[40];
                size_t len, plen;
                bool good;

                if (!nl)
                        break;
                len = (size_t) (nl - (c->in + pos));
                if (c->answered >= c->sent) {
                        fprintf(stderr, "daemon-load: an answer nobody asked for: %.200s\n", c->in + pos);
                        return -1;
                }
                r = c->first + c->answered;
                k = (kind *) kind_of(r);
                if (!k->literal) {
                        plen = (size_t) snprintf(prefix, sizeof prefix, "{\"id\":%" PRIu64, r + 1);
                        good = len == plen + k->suffix_len && memcmp(c->in + pos, prefix, plen) == 0 &&
                               memcmp(c->in + pos + plen, k->suffix, k->suffix_len) == 0;
                } else
                        good = len == strlen(k->whole) && memcmp(c->in + pos, k->whole, len) == 0;
                if (!good) {
                        fprintf(stderr,
                                "daemon-load: wrong answer to request %" PRIu64 " (%s):\n  got      %.300s\n"
                                "  expected {\"id\":%" PRIu64 "%.300s\n",
                                r + 1, k->name, c->in + pos, r + 1, !k->literal ? k->suffix : k->whole);
                        return -1;
                }
                k->count++;
                c->answered++;
                pos += len + 1;
        }
        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
        return 0;
}

static int parse_mix(const char *s) {
        char *copy = strdup(s), *save = NULL;

        n_mix = 0;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                size_t i;
                for (i = 0; i < N_KINDS; i++)
                        if (strcmp(kinds[i].name, t) == 0)
                                break;
                if (i == N_KINDS || n_mix == N_KINDS) {
                        fprintf(stderr, "daemon-load: unknown kind '%s'\n", t);
                        free(copy);
                        return -1;
                }
                mix[n_mix++] = i;
        }
        free(copy);
        return n_mix ? 0 : -1;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "connections", required_argument, NULL, 'c' },
                { "requests", required_argument, NULL, 'n' },
                { "window", required_argument, NULL, 'w' },
                { "mix", required_argument, NULL, 'm' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        conn *conns;
        struct pollfd *pfd;
        uint64_t done = 0;
        double start, elapsed;
        int c, status = 0;

        if (parse_mix("info,mappings,devices,mappings-device") < 0)
                return 2;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        arg_socket = optarg;
                        break;
                case 'c':
                        arg_connections = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'n':
                        arg_requests = strtoull(optarg, NULL, 10);
                        break;
                case 'w':
                        arg_window = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'm':
                        if (parse_mix(optarg) < 0)
                                return 2;
                        break;
                case 't':
                        arg_timeout = strtod(optarg, NULL);
                        break;
                default:
                        return 2;
                }
        }
        if (!arg_socket || arg_connections == 0 || arg_window == 0) {
                fprintf(stderr,
                        "usage: daemon-load --socket PATH [--connections N] [--requests N] [--window N] "
                        "[--mix KIND,...] [--timeout SEC]\n");
                return 2;
        }
        if (learn_expected() < 0)
                return 1;

        conns = calloc(arg_connections, sizeof *conns);
        pfd = calloc(arg_connections, sizeof *pfd);
        if (!conns || !pfd)
                return 1;
        start = now();
        for (unsigned i = 0; i < arg_connections; i++) {
                conn *k = &conns[i];
                uint64_t per = arg_requests / arg_connections, extra = arg_requests % arg_connections;

                k->first = i * per + (i < extra ? i : extra);
                k->n = per + (i < extra);
                k->fd = connect_socket();
                if (k->fd < 0) {
                        fprintf(stderr, "daemon-load: connection %u: %s\n", i, strerror(-k->fd));
                        return 1;
                }
                k->in = xrealloc(NULL, k->in_alloc = 65536);
                fill(k);
        }

        while (done < arg_connections) {
                int n;

                for (unsigned i = 0; i < arg_connections; i++) {
                        conn *k = &conns[i];
                        pfd[i].fd = k->answered < k->n ? k->fd : -1;
                        pfd[i].events = POLLIN | (k->out_off < k->out_len ? POLLOUT : 0);
                        pfd[i].revents = 0;
                }
                if (now() - start > arg_timeout) {
                        fprintf(stderr,
                                "daemon-load: not done after %.0f s: %" PRIu64
                                " of %u connections finished\n",
                                arg_timeout, done, arg_connections);
                        return 1;
                }
                n = poll(pfd, arg_connections, 1000);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("poll");
                        return 1;
                }
                for (unsigned i = 0; i < arg_connections && n > 0; i++) {
                        conn *k = &conns[i];
                        if (!pfd[i].revents)
                                continue;
                        if (pfd[i].revents & POLLOUT) {
                                ssize_t w = send(k->fd, k->out + k->out_off, k->out_len - k->out_off,
                                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                                if (w < 0 && errno != EAGAIN) {
                                        fprintf(stderr, "daemon-load: send: %s\n", strerror(errno));
                                        return 1;
                                }
                                if (w > 0)
                                        k->out_off += (size_t) w;
                                if (k->out_off == k->out_len)
                                        k->out_off = k->out_len = 0;
                        }
                        if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                                ssize_t r;
                                if (k->in_alloc - k->in_len < 32768)
                                        k->in = xrealloc(k->in, k->in_alloc *= 2);
                                r = recv(k->fd, k->in + k->in_len, k->in_alloc - k->in_len, MSG_DONTWAIT);
                                if (r == 0 || (r < 0 && errno != EAGAIN)) {
                                        fprintf(stderr,
                                                "daemon-load: connection %u closed after %" PRIu64
                                                " of %" PRIu64 " answers: %s\n",
                                                i, k->answered, k->n,
                                                r == 0 ? "end of file" : strerror(errno));
                                        return 1;
                                }
                                if (r > 0) {
                                        k->in_len += (size_t) r;
                                        if (check(k) < 0)
                                                return 1;
                                        fill(k);
                                        if (k->answered == k->n) {
                                                done++;
                                                close(k->fd);
                                        }
                                }
                        }
                }
        }
        elapsed = now() - start;

        printf("daemon-load: %u connections, %" PRIu64
               " requests, window %u, %.2f s, %.0f requests/s; answers:",
               arg_connections, arg_requests, arg_window, elapsed, (double) arg_requests / elapsed);
        for (size_t i = 0; i < N_KINDS; i++)
                if (kinds[i].count)
                        printf(" %s %" PRIu64, kinds[i].name, kinds[i].count);
        printf(", all as expected\n");

        for (size_t i = 0; i < N_KINDS; i++) {
                free(kinds[i].suffix);
                free(kinds[i].whole);
        }
        for (unsigned i = 0; i < arg_connections; i++) {
                free(conns[i].in);
                free(conns[i].out);
        }
        free(conns);
        free(pfd);
        return status;
}
