/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The HTTP API (iommud(8), "HTTP API"): libmicrohttpd on iommud's one
 * sd-event loop.  GET (and HEAD) /v1/info, /v1/dmar, /v1/devices,
 * /v1/domains, /v1/mappings?device=&domain=&pasid= and /v1/faults answer
 * with exactly the socket API's results; /healthz and /metrics (Prometheus
 * text format) besides.  POST /v1/faults/clear and /v1/reload change state,
 * only with AllowChanges=yes and the bearer token of TokenFile=.
 */

#include <stdint.h>

#include "basic/error.h"
#include "daemon/conf.h"
#include "daemon/manager.h"

/* Serve m on fd, a listening socket passed by systemd (taken over), or
 * when fd < 0 on ListenHTTP= (when that is unset: nothing, *ret = NULL). */
int http_new(manager *m, int fd, http_server **ret, iommu_error *err);
/* Closes the connections and the listening socket, which is never shut
 * down: one from systemd goes on queueing connections for the next start. */
http_server *http_free(http_server *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(http_server *, http_free);

/* Before conf replaces the running configuration (SIGHUP, v1.reload): the
 * token file is read again, ConnectionTimeoutSec= applies to new
 * connections, and the keys that need a restart say so. */
void http_reload(http_server *h, const daemon_conf *conf);

unsigned http_n_connections(const http_server *h);
