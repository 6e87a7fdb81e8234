/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* iommud's state: configuration, source, socket and HTTP servers, fault
 * log, and the sd-event sources that drive them. */

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "daemon/conf.h"
#include "daemon/faults.h"
#include "daemon/server.h"
#include "daemon/source.h"

typedef struct http_server http_server;
typedef struct daemon_stats daemon_stats;

typedef struct manager {
        sd_event *event;
        const char *config_path;
        bool config_required; /* --config given: it must exist */
        conf_overrides overrides;

        daemon_conf *conf;
        source *source;
        server *server;
        fault_log *faults;
        daemon_stats *stats;      /* counters for the metrics (stats.h) */
        struct kmsg_reader *kmsg; /* faults from the kernel log (kmsg-faults.h); NULL when not live */
        int http_fd;              /* inherited iommud-http.socket, until the HTTP server takes it */
        http_server *http;        /* NULL: no HTTP */

        bool admin_gid_valid;
        gid_t admin_gid;

        sd_event_source *sig_term, *sig_int, *sig_hup;
        sd_event_source *fault_timer, *watchdog_timer, *status_timer;
        uint64_t watchdog_usec;
        char status[256]; /* the last STATUS= sent */
} manager;

/* Re-read the configuration and reopen the source; on failure everything
 * stays as it was and err says why. */
int manager_reload(manager *m, iommu_error *err);

/* The answer to a reload, over the socket or HTTP:
 * {"reloaded": true, "source": "live" | "snapshot"} (NULL when out of memory). */
json_object *manager_reload_result(manager *m);

/* CLOCK_MONOTONIC / CLOCK_REALTIME of this loop iteration, in usec. */
uint64_t manager_now(manager *m);
uint64_t manager_realtime(manager *m);
