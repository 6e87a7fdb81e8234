/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The HTTP API (iommud(8), "HTTP API"): the API table's methods that have
 * an HTTP path (api.h), reading ones on GET and HEAD with their params
 * from the query string, answered with exactly the socket API's results;
 * changing ones on POST, only with AllowChanges=yes and the bearer token
 * of TokenFile= (http-token.h); and /healthz and /metrics besides.  Its
 * userdata is the manager.
 */

#include "daemon/http-server.h"

extern const http_handler http_routes;
