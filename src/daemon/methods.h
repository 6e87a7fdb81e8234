/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The socket API's methods (protocol.h): one request line in, one answer
 * line queued on the connection. */

#include <stddef.h>

#include "daemon/manager.h"
#include "daemon/server.h"

void methods_handle_line(manager *m, conn *c, const char *line, size_t len);
