/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * iommud's API: one table, one row per method (iommud(8), "SOCKET API" and
 * "HTTP API").  A row says the method's name, its HTTP path (none: socket
 * only), whether it reads or changes state, its params and its handler.
 * Everything else comes from the table: the socket dispatcher (methods.h)
 * and the HTTP router (http-routes.h) find methods in it, a changing
 * method needs root or AdminGroup= on the socket and the bearer token over
 * HTTP (where it takes POST; reading ones take GET and HEAD), params are
 * checked against the row's schema before the handler runs, and the
 * "Unknown method" error, the HTTP 404 and iommud --list-methods list the
 * rows.  A new method is one row and its handler.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "daemon/jobs.h"
#include "daemon/manager.h"

#define API_PARAMS_MAX 8

typedef enum api_access {
        API_READ,     /* anyone who may connect; HTTP GET and HEAD */
        API_CHANGING, /* root or AdminGroup= on the socket; HTTP POST with the bearer token */
        _API_ACCESS_MAX,
        _API_ACCESS_INVALID = -EINVAL,
} api_access;

typedef enum api_param_type {
        API_PARAM_BDF,     /* a string: SSSS:BB:DD.F, BB:DD.F or B:D.F */
        API_PARAM_INTEGER, /* 0 to max (up to 2^64-1) */
        API_PARAM_BOOLEAN, /* true or false */
        API_PARAM_STRING,  /* a name: letters, digits, "_-.", up to API_STRING_MAX bytes */
        API_PARAM_CHOICE,  /* a string, one of choices */
        _API_PARAM_TYPE_MAX,
        _API_PARAM_TYPE_INVALID = -EINVAL,
} api_param_type;

#define API_STRING_MAX 64

/* null is taken as absent; a required param absent is an error. */
typedef struct api_param {
        const char *name;
        api_param_type type;
        uint64_t max;               /* API_PARAM_INTEGER */
        const char *const *choices; /* API_PARAM_CHOICE, NULL-terminated */
        bool required;
} api_param;

/* A param as the request gave it, checked. */
typedef struct api_value {
        bool set;
        uint64_t integer;   /* API_PARAM_INTEGER */
        bool boolean;       /* API_PARAM_BOOLEAN */
        const char *string; /* API_PARAM_STRING, API_PARAM_CHOICE: borrowed from the request */
        int choice;         /* API_PARAM_CHOICE: the index into choices */
        uint16_t segment;   /* API_PARAM_BDF */
        uint8_t bus, devfn;
} api_value;

/* What a handler answers: a result, or an error (code > 0), or (wait) the
 * answer of a worker still computing it (jobs.h), which the transport
 * sends when it comes: whole when it is small, streamed when it is not. */
typedef struct api_reply {
        const char *json; /* a cached serialized result, borrowed until the next source call */
        size_t json_len;
        json_object *result; /* or a new result, owned */
        job_wait *wait;      /* or the answer to come, owned */
        int code;
        char message[1024];
        bool subscribe; /* the caller is to receive fault events from now on (socket only) */
} api_reply;

typedef struct api_call {
        const api_value *args; /* one per param of the method, in the row's order */
        const char *caller;    /* who asks, for the log: "client 7 (pid 1234, uid 0)" */
} api_call;

typedef void (*api_handler)(manager *m, const api_call *call, api_reply *out);

typedef struct api_method {
        const char *name;      /* "v1.info" */
        const char *http_path; /* "/v1/info"; NULL: socket only */
        api_access access;
        const api_param *params; /* n_params of them */
        size_t n_params;
        api_handler handler;
} api_method;

const char *api_access_to_string(api_access a) _const_;
api_access api_access_from_string(const char *s) _pure_;

/* NULL past the end: for listing. */
const api_method *api_method_at(size_t i);
/* NULL when there is no such method. */
const api_method *api_method_find(const char *name);
const api_method *api_method_find_http(const char *path);

/* "GET" for reading methods, "POST" for changing ones. */
const char *api_http_verb(const api_method *method);

/* "v1.info, v1.devices, ...": every method, in table order. */
const char *api_method_names(char *buf, size_t size);

/* params (a JSON object) checked against the method's schema into
 * args[0..n_params); EINVAL with the one-line reason otherwise (a param
 * unknown, of another type or out of range, a required one missing). */
int api_parse_params(const api_method *method, json_object *params, api_value args[static API_PARAMS_MAX],
                     iommu_error *err);

/* Run the handler; out is set either way. */
void api_call_method(manager *m, const api_method *method, const api_call *call, api_reply *out);
void api_reply_error(api_reply *out, int code, const char *fmt, ...) _printf_(3, 4);
void api_reply_done(api_reply *out);

/* iommud --list-methods: per method a line NAME, "VERB PATH" (or "-"),
 * and read or changing, tab-separated; then its params, one line each, a
 * tab, NAME, a tab, and its type ("integer 0..MAX", "PCI address (...)",
 * "boolean", "string", "one of A|B|C"), with ", required" after it for a
 * required one. */
void api_list(FILE *f);
