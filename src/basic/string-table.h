/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* systemd's string-table pattern: an enum's names in one table indexed by
 * the enum, and its _to_string() / _from_string() generated from it.  Out of
 * range is NULL one way and the enum's _INVALID the other. */

#include "basic/macro.h"

#include <string.h>

#define DEFINE_STRING_TABLE_LOOKUP(name, type, table, max, invalid) \
        const char *name##_to_string(type x) {                      \
                if ((int) x < 0 || (int) x >= (max))                \
                        return NULL;                                \
                return table[x];                                    \
        }                                                           \
        type name##_from_string(const char *s) {                    \
                if (!s)                                             \
                        return (invalid);                           \
                for (int i = 0; i < (max); i++)                     \
                        if (table[i] && streq(table[i], s))         \
                                return (type) i;                    \
                return (invalid);                                   \
        }
