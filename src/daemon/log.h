/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * iommud's log.  Under systemd (stderr is the journal stream named by
 * $JOURNAL_STREAM) each line carries its syslog priority as a "<N>"
 * prefix, which journald turns into the entry's PRIORITY=: no second
 * channel next to stderr, so lines stay in order with anything else that
 * writes there (a sanitizer report, a libc abort message).  Anywhere else
 * the lines are plain.  $IOMMUD_LOG_LEVEL (a syslog level name or number)
 * sets the most verbose level shown, "info" by default.
 */

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "basic/macro.h"

void log_setup(void);

void log_full(int level, const char *fmt, ...) _printf_(2, 3);
/* Logs and returns -|error|, for "return log_error_errno(r, ...)". */
int log_full_errno(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)

/* At most burst messages per interval (usec); counts what it suppressed. */
typedef struct ratelimit {
        uint64_t interval, begin;
        unsigned burst, n, suppressed;
} ratelimit;

#define RATELIMIT_INIT(interval_usec, burst_) \
        { .interval = (interval_usec), .burst = (burst_) }

/* Whether to log now; *ret_suppressed (if not NULL) says how many were
 * dropped since the last message that got through. */
bool ratelimit_below(ratelimit *r, unsigned *ret_suppressed);
