/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * iommud's state and its life: the configuration and its reload, the
 * source, the fault log and its poll, the counters, the socket and HTTP
 * servers, systemd's notifications and the one sd-event loop that drives
 * them.  What a request means is not known here: the transports are handed
 * in by main() (iommud.c), so that the API (api.h) and its adapters can
 * build on the manager without the manager knowing them.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "basic/error.h"
#include "daemon/conf.h"
#include "daemon/control.h"
#include "daemon/faults.h"
#include "daemon/http-server.h"
#include "daemon/http-token.h"
#include "daemon/jobs.h"
#include "daemon/kmsg-faults.h"
#include "daemon/metrics.h"
#include "daemon/server.h"
#include "daemon/source.h"
#include "daemon/stats.h"

/* What answers requests: both get the manager as userdata. */
typedef struct manager_transports {
        const server_ops *socket; /* the socket API's lines */
        const http_handler *http; /* HTTP requests */
} manager_transports;

typedef struct manager {
        sd_event *event;
        const char *config_path;
        bool config_required; /* --config given: it must exist */
        conf_overrides overrides;

        daemon_conf *conf;
        source *source;
        server *server;
        fault_log *faults;
        daemon_stats *stats;  /* counters for the metrics */
        kmsg_reader *kmsg;    /* faults from the kernel log; NULL when not live */
        int http_fd;          /* inherited iommud-http.socket, until the HTTP server takes it */
        http_server *http;    /* NULL: no HTTP */
        http_token token;     /* changes over HTTP: their bearer token, if enabled */
        jobs *jobs;           /* answers computed by workers */
        control *control;     /* the units iommud owns */
        metrics_text metrics; /* GET /metrics as last rendered */

        bool admin_gid_valid;
        gid_t admin_gid;

        sd_event_source *sig_term, *sig_int, *sig_hup, *sig_usr1;
        sd_event_source *fault_timer, *watchdog_timer, *status_timer;
        uint64_t watchdog_usec;
        char status[256]; /* the last STATUS= sent */
} manager;

/* config_path is read (it must exist when required); the overrides win
 * over it. */
void manager_init(manager *m, const char *config_path, bool config_required,
                  const conf_overrides *overrides);
/* Load the configuration, open the source, listen (or take systemd's
 * sockets) with the transports, start polling faults, and tell systemd
 * READY=1.  Logs why it failed. */
int manager_start(manager *m, const manager_transports *t);
/* The loop, until SIGTERM or SIGINT. */
int manager_run(manager *m);
void manager_done(manager *m);

/* Re-read the configuration and reopen the source; on failure everything
 * stays as it was and err says why. */
int manager_reload(manager *m, iommu_error *err);

/* CLOCK_MONOTONIC / CLOCK_REALTIME of this loop iteration, in usec. */
uint64_t manager_now(manager *m);
uint64_t manager_realtime(manager *m);

/* GET /metrics: the text as last rendered, or anew when stale (metrics.h;
 * borrowed until the next call): 1.  0 when the mapped bytes are to be
 * walked first: *ret_wait is their job (jobs.h); call again with it (and
 * started_usec, when the scrape began) once it is no longer running.
 * caller names who asks, for the log. */
int manager_metrics(manager *m, job_wait *wait, uint64_t started_usec, const char *caller, const char **ret,
                    size_t *ret_size, job_wait **ret_wait, iommu_error *err);
