/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iommud.conf(5): the configuration parser on any file, and its value
 * parsers on any text.  What it accepts must keep the bounds iommud.conf(5)
 * gives each key, and every time span must print (as iommud's messages do)
 * to text that parses back to itself.
 *
 * Input: the file.  Its first line also goes to the value parsers alone.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/conf.h"
#include "daemon/log.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        /* warnings about unknown keys are expected: not on the fuzzer's stderr */
        setenv("IOMMUD_LOG_LEVEL", "crit", 1);
        log_setup();
        return 0;
}

static void check_timespan(uint64_t usec, const char *key) {
        char buf[64];
        uint64_t back;

        fuzz_check(conf_parse_timespan(conf_format_timespan(buf, sizeof buf, usec), &back) == 0 &&
                           back == usec,
                   "%s: %s does not parse back to %llu usec", key, buf, (unsigned long long) usec);
}

static void check_conf(const daemon_conf *c) {
        fuzz_check(c->socket && c->socket[0] == '/' && strlen(c->socket) < 108, "Socket=%s", c->socket);
        fuzz_check(c->socket_mode <= 0777, "SocketMode=%o", (unsigned) c->socket_mode);
        fuzz_check(!c->snapshot || c->snapshot[0] == '/', "Snapshot=%s", c->snapshot);
        fuzz_check(!c->sysroot || c->sysroot[0] == '/', "Sysroot=%s", c->sysroot);
        fuzz_check(!c->http_token_file || c->http_token_file[0] == '/', "TokenFile=%s", c->http_token_file);
        fuzz_check(c->state_directory && c->state_directory[0] == '/', "StateDirectory=%s",
                   c->state_directory);
        fuzz_check(!c->socket_group || (c->socket_group[0] && !strpbrk(c->socket_group, " \t:/")),
                   "SocketGroup=%s", c->socket_group);
        fuzz_check(!c->admin_group || (c->admin_group[0] && !strpbrk(c->admin_group, " \t:/")),
                   "AdminGroup=%s", c->admin_group);
        fuzz_check(!c->listen_http || conf_parse_listen(c->listen_http) == 0, "ListenHTTP=%s",
                   c->listen_http);
        fuzz_check(c->max_request_size >= 256 && c->max_request_size <= 64u << 20, "MaxRequestSize=%zu",
                   c->max_request_size);
        fuzz_check(c->max_clients >= 1 && c->max_clients <= 65536, "MaxClients=%u", c->max_clients);
        fuzz_check(c->fault_log_size <= 1u << 20, "FaultLogSize=%u", c->fault_log_size);
        fuzz_check(c->fault_interval_usec <= 3600 * USEC_PER_SEC, "FaultIntervalSec too long");
        fuzz_check(c->refresh_interval_usec <= 3600 * USEC_PER_SEC, "RefreshIntervalSec too long");
        fuzz_check(c->idle_timeout_usec > 0 && c->request_timeout_usec > 0,
                   "a timeout of 0 is not infinity");
        fuzz_check(c->http_max_connections >= 1 && c->http_max_connections <= 65536, "MaxConnections=%u",
                   c->http_max_connections);
        fuzz_check(c->http_max_connections_per_ip >= 1 && c->http_max_connections_per_ip <= 65536,
                   "MaxConnectionsPerIP=%u", c->http_max_connections_per_ip);
        fuzz_check(c->http_connection_timeout_usec >= USEC_PER_SEC &&
                           c->http_connection_timeout_usec <= 3600 * USEC_PER_SEC,
                   "ConnectionTimeoutSec out of range");

        check_timespan(c->idle_timeout_usec, "IdleTimeoutSec");
        check_timespan(c->request_timeout_usec, "RequestTimeoutSec");
        check_timespan(c->fault_interval_usec, "FaultIntervalSec");
        check_timespan(c->refresh_interval_usec, "RefreshIntervalSec");
        check_timespan(c->http_connection_timeout_usec, "ConnectionTimeoutSec");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(conf_freep) daemon_conf *c = NULL;
        _cleanup_free_ char *line = NULL;
        iommu_error err = {};
        uint64_t v;
        int r;

        r = conf_load(fuzz_file(data, size), true, NULL, &c, &err);
        if (r < 0)
                fuzz_check(!c && err.error == -r && err.message[0] && !strchr(err.message, '\n'),
                           "conf_load failed (%d) without a one-line reason", r);
        else
                check_conf(c);

        line = strndup((const char *) data, size);
        fuzz_check(line, "out of memory");
        line[strcspn(line, "\n")] = '\0';
        if (conf_parse_timespan(line, &v) == 0)
                check_timespan(v, line);
        (void) conf_parse_size(line, &v);
        (void) conf_parse_listen(line);
        return 0;
}
