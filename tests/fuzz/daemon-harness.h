/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * iommud in the fuzzer's process, for fuzz-socket and fuzz-http: the
 * manager started as main() starts it, on a snapshot fixture, with its
 * socket and (with http) an HTTP listener on 127.0.0.1 in a directory of
 * its own, and a bearer token there so that changes over HTTP get past the
 * token check.  Each input is one client's connection: it sends, half
 * closes, and reads until iommud closes, while this drives iommud's event
 * loop.  Whatever an input does must end with iommud closing the
 * connection within HARNESS_DEADLINE_USEC; a hang is a failure.
 *
 * ConnectionTimeoutSec= is 1 s: libmicrohttpd (0.9.75, edge-triggered
 * epoll) misses a client's end that comes with a request it cannot parse
 * (one starting with a NUL byte) and keeps the connection until that
 * timeout; bounded, so not a failure, but slow.
 */

#include <stdbool.h>
#include <stddef.h>

#define HARNESS_DEADLINE_USEC (10 * 1000000ull)
#define HARNESS_TOKEN "fuzz-token-0123456789abcdef"
#define HARNESS_MAX_REQUEST 4096 /* MaxRequestSize=: small, for lines over it */

/* Start iommud, once per process. */
void harness_start(bool http);

/* Connect to the socket (or HTTP), send data, shut down the sending side,
 * and return everything iommud answered until it closed (NUL-terminated,
 * caller frees). */
char *harness_exchange(bool http, const void *data, size_t size, size_t *ret_size);
