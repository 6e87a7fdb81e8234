/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The socket API's adapter to the API table (api.h): one request line in
 * (shared/protocol.h), one answer line queued on the connection.  Its
 * userdata is the manager. */

#include "daemon/server.h"

extern const server_ops methods_server_ops;
