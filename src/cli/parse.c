/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Numbers on the command line, for the option parser and the commands
 * alike: one rule for what a number is. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_parse_number(const char *s, uint64_t max, uint64_t *ret) {
        bool hex = s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
        const char *digits = s && hex ? s + 2 : s;
        char *end;
        unsigned long long v;

        /* strtoull() alone would take blanks, signs, a second 0x, and
         * octal: "010" is ten to anyone typing it */
        if (!digits || !*digits ||
            strspn(digits, hex ? "0123456789abcdefABCDEF" : "0123456789") != strlen(digits))
                return -EINVAL;
        errno = 0;
        v = strtoull(digits, &end, hex ? 16 : 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno || *end)
                return -EINVAL;
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}
