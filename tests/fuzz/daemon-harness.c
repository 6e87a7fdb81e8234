/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "basic/macro.h"
#include "daemon-harness.h"
#include "daemon/http-routes.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/methods.h"
#include "fuzz.h"

static manager m;
static bool started;
static char dir[] = "/tmp/iommud-fuzz-daemon-XXXXXX";
static char conf_path[64], token_path[64], socket_path[64], state_path[64], listen_http[32];
static struct sockaddr_in http_addr;

static void cleanup(void) {
        manager_done(&m);
        (void) unlink(conf_path);
        (void) unlink(token_path);
        (void) unlink(socket_path);
        (void) rmdir(state_path);
        (void) rmdir(dir);
}

static void write_file(const char *path, mode_t mode, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        fuzz_check(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t) strlen(text) && close(fd) == 0,
                   "write %s: %m", path);
}

/* A port nobody listens on now: the kernel's choice for port 0. */
static unsigned free_port(void) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        fuzz_check(fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof a) == 0 &&
                           getsockname(fd, (struct sockaddr *) &a, &len) == 0,
                   "a free port: %m");
        close(fd);
        return ntohs(a.sin_port);
}

void harness_start(bool http) {
        static const manager_transports transports = {
                .socket = &methods_server_ops,
                .http = &http_routes,
        };
        conf_overrides o = {};
        char conf[1024];
        unsigned port;

        if (started)
                return;
        /* quiet, unless asked (IOMMUD_LOG_LEVEL=debug shows what iommud did) */
        setenv("IOMMUD_LOG_LEVEL", "crit", 0);
        unsetenv("LISTEN_FDS");
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        log_setup();
        /* a client gone mid-answer is no reason to die (as in main()) */
        (void) signal(SIGPIPE, SIG_IGN);

        fuzz_check(mkdtemp(dir), "mkdtemp: %m");
        snprintf(conf_path, sizeof conf_path, "%s/iommud.conf", dir);
        snprintf(token_path, sizeof token_path, "%s/token", dir);
        snprintf(socket_path, sizeof socket_path, "%s/sock", dir);
        snprintf(state_path, sizeof state_path, "%s/state", dir);
        port = free_port();
        snprintf(listen_http, sizeof listen_http, "127.0.0.1:%u", port);
        http_addr = (struct sockaddr_in){ .sin_family = AF_INET,
                                          .sin_port = htons(port),
                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        write_file(token_path, 0600, HARNESS_TOKEN "\n");
        snprintf(conf, sizeof conf,
                 "[Daemon]\nMaxRequestSize=%u\nFaultIntervalSec=0\nRefreshIntervalSec=0\n"
                 "[HTTP]\nAllowChanges=yes\nTokenFile=%s\nConnectionTimeoutSec=1\n",
                 HARNESS_MAX_REQUEST, token_path);
        write_file(conf_path, 0644, conf);

        o.socket = socket_path;
        o.state_directory = state_path;
        o.snapshot = TESTDATA "/snapshots/scalable-aw48/snapshot.iommu";
        if (http)
                o.listen_http = listen_http;
        else
                o.no_http = true;
        manager_init(&m, conf_path, true, &o);
        fuzz_check(manager_start(&m, &transports) >= 0,
                   "iommud did not start (IOMMUD_LOG_LEVEL=debug says why)");
        started = true;
        atexit(cleanup);
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

char *harness_exchange(bool http, const void *data, size_t size, size_t *ret_size) {
        struct sockaddr_un un = { .sun_family = AF_UNIX };
        uint64_t deadline = now_usec() + HARNESS_DEADLINE_USEC;
        size_t sent = 0, got = 0, alloc = 4096;
        char *buf = malloc(alloc);
        bool shut = false;
        int fd, r;

        fuzz_check(buf, "out of memory");
        strncpy(un.sun_path, socket_path, sizeof un.sun_path - 1);
        fd = socket(http ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        fuzz_check(fd >= 0, "socket: %m");
        r = http ? connect(fd, (struct sockaddr *) &http_addr, sizeof http_addr)
                 : connect(fd, (struct sockaddr *) &un, sizeof un);
        fuzz_check(r == 0 || errno == EINPROGRESS, "connect: %m");

        for (;;) {
                ssize_t k;

                fuzz_check(now_usec() < deadline,
                           "iommud did not close the connection within %llu s (%zu of %zu bytes sent)",
                           HARNESS_DEADLINE_USEC / 1000000, sent, size);
                r = sd_event_run(m.event, 1000);
                fuzz_check(r >= 0, "sd_event_run: %s", strerror(-r));

                if (sent < size) {
                        k = send(fd, (const char *) data + sent, size - sent, MSG_NOSIGNAL);
                        if (k > 0)
                                sent += (size_t) k;
                        else if (k < 0 && errno != EAGAIN && errno != EINPROGRESS && errno != ENOTCONN)
                                sent = size; /* iommud closed first (a line over the limit): fine */
                }
                if (sent == size && !shut) {
                        (void) shutdown(fd, SHUT_WR);
                        shut = true;
                }
                for (;;) {
                        if (alloc - got < 4096) {
                                char *p = realloc(buf, alloc *= 2);
                                fuzz_check(p, "out of memory");
                                buf = p;
                        }
                        k = recv(fd, buf + got, alloc - got - 1, 0);
                        if (k <= 0)
                                break;
                        got += (size_t) k;
                }
                if (k == 0 || (k < 0 && errno != EAGAIN && errno != ENOTCONN && errno != EINPROGRESS))
                        break;
        }
        close(fd);
        buf[got] = '\0';
        *ret_size = got;
        return buf;
}
