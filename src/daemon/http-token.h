/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The bearer token that changes over HTTP need (iommud(8), "HTTP API";
 * iommud.conf(5), AllowChanges= and TokenFile=).  The token is one word of
 * printable ASCII in a regular file of root's (or of iommud's user) that
 * group and others cannot access; it is read at the start and at every
 * reload, and never logged.
 */

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"
#include "daemon/conf.h"

#define HTTP_TOKEN_MAX 4096u

typedef struct http_token {
        char *value; /* NULL: changes over HTTP are disabled */
        size_t len;
} http_token;

/* Read TokenFile= again when AllowChanges=yes, else disable; the log says
 * which, and why changes stay disabled when the file does not do. */
void http_token_setup(http_token *t, const daemon_conf *conf);
/* Disable, wiping the token from memory. */
void http_token_clear(http_token *t);

static inline bool http_token_enabled(const http_token *t) {
        return t->value != NULL;
}

/* NULL when the value of an Authorization: header (NULL: none) carries
 * the token; else what WWW-Authenticate answers (RFC 6750).  The
 * comparison takes a time that depends on the token's length only, not on
 * where the first difference is. */
const char *http_token_challenge(const http_token *t, const char *authorization);
