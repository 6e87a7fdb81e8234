/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/log.h"

static bool journal_stream;
static int max_level = LOG_INFO;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_setup(void) {
        const char *e = getenv("IOMMUD_LOG_LEVEL");

        journal_stream = stderr_is_journal();
        if (!e)
                return;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(e, level_names[i]) || (e[0] == (char) ('0' + i) && !e[1]))
                        max_level = (int) i;
}

static void log_va(int level, const char *fmt, va_list ap) _printf_(2, 0);
static void log_va(int level, const char *fmt, va_list ap) {
        char line[2048];
        int n = 0, k;

        if (level > max_level)
                return;
        if (journal_stream)
                n = snprintf(line, sizeof line, "<%d>", level);
        k = vsnprintf(line + n, sizeof line - (size_t) n - 1, fmt, ap);
        if (k < 0)
                return;
        n += k;
        if ((size_t) n > sizeof line - 2)
                n = (int) sizeof line - 2;
        /* one line per message, whatever it carried */
        for (int i = 0; i < n; i++)
                if (line[i] == '\n')
                        line[i] = ' ';
        line[n++] = '\n';
        /* one write: lines of concurrent writers to the stream stay whole */
        (void) !write(STDERR_FILENO, line, (size_t) n);
}

void log_full(int level, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_va(level, fmt, ap);
        va_end(ap);
}

int log_full_errno(int level, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        log_va(level, fmt, ap);
        va_end(ap);
        return error < 0 ? error : -error;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

bool ratelimit_below(ratelimit *r, unsigned *ret_suppressed) {
        uint64_t now = now_usec();

        if (r->begin == 0 || now - r->begin >= r->interval) {
                if (ret_suppressed)
                        *ret_suppressed = r->suppressed;
                r->begin = now;
                r->n = 1;
                r->suppressed = 0;
                return true;
        }
        if (r->n < r->burst) {
                r->n++;
                if (ret_suppressed)
                        *ret_suppressed = 0;
                return true;
        }
        r->suppressed++;
        return false;
}
