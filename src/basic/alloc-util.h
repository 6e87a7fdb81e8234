/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Growing arrays, written once (systemd's GREEDY_REALLOC). */

#include <stddef.h>

/* Make *p hold at least need elements of size bytes: nothing when it
 * already does, else at least twice what it held (and at least min).
 * *allocated counts elements.  Returns *p, or NULL (everything unchanged)
 * when out of memory or the size overflows. */
void *greedy_realloc(void **p, size_t *allocated, size_t need, size_t size, size_t min);

/* GREEDY_REALLOC(v, v_alloc, n + 1): room for n + 1 elements of v. */
#define GREEDY_REALLOC(array, allocated, need) \
        greedy_realloc((void **) &(array), &(allocated), (need), sizeof((array)[0]), 0)
/* The same, starting at min elements (a buffer that should not grow a
 * byte at a time). */
#define GREEDY_REALLOC_MIN(array, allocated, need, min) \
        greedy_realloc((void **) &(array), &(allocated), (need), sizeof((array)[0]), (min))
