/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How many requests a second iommud answers over its socket, and how long
 * each takes.
 *
 * N connections (default 8), each in a closed loop: one request, wait for
 * its whole answer line, the next (with --pipeline D, D requests in flight
 * per connection).  For each method in turn: a warm-up of --warmup seconds,
 * then --duration seconds measured; requests/second, and the latency (from
 * the request's send to the end of its answer) p50, p90, p99 and max.
 * Every answer is checked to be the same line as the first (apart from the
 * id), so a fast wrong answer does not count.
 *
 * Usage: socket-bench --socket PATH [--connections N] [--duration SEC]
 *                     [--warmup SEC] [--pipeline D] [METHOD...]
 * METHOD is info (v1.info), mappings (v1.mappings), devices, dmar, version,
 * or a request object; default: info mappings.
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

typedef struct conn {
        int fd;
        char *in;
        size_t in_len, in_alloc;
        uint64_t sent_at[64]; /* ring of send times of the requests in flight */
        unsigned head, in_flight;
        uint64_t next_id;
} conn;

static const char *arg_socket;
static unsigned arg_connections = 8;
static double arg_duration = 5, arg_warmup = 1;
static unsigned arg_pipeline = 1;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static void die(const char *what) {
        fprintf(stderr, "socket-bench: %s: %s\n", what, strerror(errno));
        exit(1);
}

static int connect_socket(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", arg_socket);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                die("connect");
        return fd;
}

/* The request line for a method, id left for format_request(). */
static const char *method_body(const char *m) {
        static const struct {
                const char *name, *body;
        } known[] = {
                { "info", "\"method\":\"v1.info\"" },       { "mappings", "\"method\":\"v1.mappings\"" },
                { "devices", "\"method\":\"v1.devices\"" }, { "dmar", "\"method\":\"v1.dmar\"" },
                { "version", "\"method\":\"v1.version\"" },
        };
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
                if (strcmp(known[i].name, m) == 0)
                        return known[i].body;
        return NULL;
}

static size_t format_request(char *buf, size_t size, const char *body, uint64_t id) {
        return (size_t) snprintf(buf, size, "{%s,\"id\":%" PRIu64 "}\n", body, id);
}

/* The answer after its id: {"id":N<rest>; the reference rest, taken once. */
static char *reference;
static size_t reference_len;

static bool answer_ok(const char *line, size_t len) {
        const char *p;

        if (len < 7 || memcmp(line, "{\"id\":", 6) != 0)
                return false;
        p = line + 6;
        while (p < line + len && *p >= '0' && *p <= '9')
                p++;
        if (!reference) {
                reference_len = len - (size_t) (p - line);
                reference = malloc(reference_len);
                if (!reference)
                        die("malloc");
                memcpy(reference, p, reference_len);
                return strstr(reference, "\"result\"") != NULL;
        }
        return (size_t) (line + len - p) == reference_len && memcmp(p, reference, reference_len) == 0;
}

static void send_one(conn *c, const char *body) {
        char req[512];
        size_t n = format_request(req, sizeof req, body, ++c->next_id);

        if (send(c->fd, req, n, MSG_NOSIGNAL) != (ssize_t) n)
                die("send");
        c->sent_at[(c->head + c->in_flight) % 64] = now_ns();
        c->in_flight++;
}

static void run(const char *name, const char *body) {
        conn *conns = calloc(arg_connections, sizeof *conns);
        struct pollfd *pfd = calloc(arg_connections, sizeof *pfd);
        size_t lat_alloc = 1 << 20, n_lat = 0;
        uint64_t *lat = malloc(lat_alloc * sizeof *lat), start, measure_from, end, measured = 0, wrong = 0;
        bool measuring = false;

        if (!conns || !pfd || !lat)
                die("calloc");
        free(reference);
        reference = NULL;
        for (unsigned i = 0; i < arg_connections; i++) {
                conns[i].fd = connect_socket();
                conns[i].in = malloc(conns[i].in_alloc = 1 << 20);
                if (!conns[i].in)
                        die("malloc");
                pfd[i] = (struct pollfd){ .fd = conns[i].fd, .events = POLLIN };
        }
        start = now_ns();
        measure_from = start + (uint64_t) (arg_warmup * 1e9);
        end = measure_from + (uint64_t) (arg_duration * 1e9);
        for (unsigned i = 0; i < arg_connections; i++)
                for (unsigned k = 0; k < arg_pipeline; k++)
                        send_one(&conns[i], body);

        for (;;) {
                uint64_t t = now_ns();
                if (!measuring && t >= measure_from) {
                        measuring = true;
                        measure_from = t;
                }
                if (t >= end)
                        break;
                if (poll(pfd, arg_connections, 1000) < 0) {
                        if (errno == EINTR)
                                continue;
                        die("poll");
                }
                for (unsigned i = 0; i < arg_connections; i++) {
                        conn *c = &conns[i];
                        size_t pos = 0;
                        ssize_t r;

                        if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        if (c->in_alloc - c->in_len < 65536) {
                                c->in = realloc(c->in, c->in_alloc *= 2);
                                if (!c->in)
                                        die("realloc");
                        }
                        r = recv(c->fd, c->in + c->in_len, c->in_alloc - c->in_len, 0);
                        if (r <= 0) {
                                fprintf(stderr, "socket-bench: the daemon closed a connection\n");
                                exit(1);
                        }
                        c->in_len += (size_t) r;
                        for (char *nl; (nl = memchr(c->in + pos, '\n', c->in_len - pos));) {
                                size_t len = (size_t) (nl - (c->in + pos));
                                uint64_t done = now_ns();

                                if (!answer_ok(c->in + pos, len))
                                        wrong++;
                                if (measuring) {
                                        if (n_lat == lat_alloc) {
                                                lat = realloc(lat, (lat_alloc *= 2) * sizeof *lat);
                                                if (!lat)
                                                        die("realloc");
                                        }
                                        lat[n_lat++] = done - c->sent_at[c->head];
                                        measured++;
                                }
                                c->head = (c->head + 1) % 64;
                                c->in_flight--;
                                pos += len + 1;
                                send_one(c, body);
                        }
                        memmove(c->in, c->in + pos, c->in_len - pos);
                        c->in_len -= pos;
                }
        }
        end = now_ns();

        qsort(lat, n_lat, sizeof *lat, cmp_u64);
#define PCT(p) (n_lat ? (double) lat[(size_t) ((double) (n_lat - 1) * (p))] / 1e3 : 0.0)
        printf("%-10s %u conn x %u  %8.0f req/s   latency us: p50 %7.1f  p90 %7.1f  p99 %7.1f  max %8.1f   "
               "answer ~%zu bytes%s\n",
               name, arg_connections, arg_pipeline,
               (double) measured / ((double) (end - measure_from) / 1e9), PCT(0.50), PCT(0.90), PCT(0.99),
               n_lat ? (double) lat[n_lat - 1] / 1e3 : 0.0, reference_len + 7,
               wrong ? "  WRONG ANSWERS" : "");
        if (wrong) {
                fprintf(stderr, "socket-bench: %" PRIu64 " answers differed from the first\n", wrong);
                exit(1);
        }
        for (unsigned i = 0; i < arg_connections; i++) {
                close(conns[i].fd);
                free(conns[i].in);
        }
        free(conns);
        free(pfd);
        free(lat);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "connections", required_argument, NULL, 'c' },
                { "duration", required_argument, NULL, 'd' },
                { "warmup", required_argument, NULL, 'w' },
                { "pipeline", required_argument, NULL, 'p' },
                {},
        };
        static const char *const defaults[] = { "info", "mappings" };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        arg_socket = optarg;
                        break;
                case 'c':
                        arg_connections = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'd':
                        arg_duration = strtod(optarg, NULL);
                        break;
                case 'w':
                        arg_warmup = strtod(optarg, NULL);
                        break;
                case 'p':
                        arg_pipeline = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                default:
                        return 2;
                }
        }
        if (!arg_socket || arg_connections == 0 || arg_pipeline == 0 || arg_pipeline > 64 ||
            arg_duration <= 0) {
                fprintf(stderr,
                        "usage: socket-bench --socket PATH [--connections N] [--duration SEC] "
                        "[--warmup SEC] [--pipeline 1..64]\n"
                        "                    [info|mappings|devices|dmar|version|'\"method\":...'...]\n");
                return 2;
        }
        if (optind == argc) {
                for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
                        run(defaults[i], method_body(defaults[i]));
        } else
                for (int i = optind; i < argc; i++) {
                        const char *body = method_body(argv[i]);
                        run(argv[i], body ? body : argv[i]);
                }
        free(reference);
        return 0;
}
