/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

cli_options arg = { .sysroot = "", .domain = -1, .pasid = -1, .type = -1, .id = -1, .order = -1 };

static int write_error; /* the first failed write to stdout (cli_write), a negative errno */
static bool mid_line;   /* what cli_write wrote last does not end a line */

static int vfail(int status, int error, const char *fmt, va_list ap) _printf_(3, 0);
static int vfail(int status, int error, const char *fmt, va_list ap) {
        char msg[1024];

        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        /* one line, whatever the message carried */
        for (char *p = msg; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        fprintf(stderr, "iommuctl: %s\n", msg);

        if (arg.json) {
                _cleanup_json_ json_object *o = json_object_new_object();
                json_object *e = json_object_new_object();

                json_object_object_add(o, "error", e);
                json_object_object_add(e, "code", json_object_new_int(error < 0 ? -error : error));
                json_object_object_add(e, "message", json_object_new_string(msg));
                json_object_object_add(e, "status", json_object_new_int(status));
                /* after a JSON answer cut short: on a line of its own */
                if (mid_line)
                        putchar('\n');
                mid_line = false;
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
        }
        return status;
}

int cli_fail(int status, int error, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vfail(status, error, fmt, ap);
        va_end(ap);
        return r;
}

int cli_usage(const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vfail(EXIT_USAGE, EINVAL, fmt, ap);
        va_end(ap);
        return r;
}

int cli_json_flags(void) {
        return JSON_C_TO_STRING_NOSLASHESCAPE |
               (arg.pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
}

void cli_print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, cli_json_flags()));
}

int cli_write(const void *data, size_t size) {
        if (write_error < 0)
                return write_error;
        if (size > 0 && fwrite(data, 1, size, stdout) != size)
                write_error = -(errno ?: EIO);
        if (size > 0)
                mid_line = ((const char *) data)[size - 1] != '\n';
        return write_error;
}

int cli_write_flush(void) {
        if (write_error == 0 && fflush(stdout) != 0)
                write_error = -(errno ?: EIO);
        return write_error;
}

int cli_write_failed(int error) {
        return cli_fail(EXIT_FAILED, error, "Failed to write output: %s",
                        strerror(error < 0 ? -error : error));
}

int cli_output(json_object *result, void (*render)(json_object *result)) {
        if (arg.json)
                cli_print_json(result);
        else if (render)
                render(result);

        if (fflush(stdout) != 0 || ferror(stdout))
                return cli_fail(EXIT_FAILED, errno, "Failed to write output: %s", strerror(errno));
        return EXIT_OK;
}

char *cli_path(const char *path) {
        char *p;

        if (asprintf(&p, "%s%s", arg.sysroot, path) < 0)
                return NULL;
        return p;
}
