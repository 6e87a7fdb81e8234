/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <stdlib.h>

#include "basic/alloc-util.h"

void *greedy_realloc(void **p, size_t *allocated, size_t need, size_t size, size_t min) {
        size_t n;
        void *q;

        if (need <= *allocated && (*p || need == 0))
                return *p;
        if (size == 0 || need > SIZE_MAX / size)
                return NULL;
        /* twice the need, but not past what fits */
        n = need <= SIZE_MAX / 2 / size ? need * 2 : need;
        if (n < *allocated * 2 && *allocated <= SIZE_MAX / 2 / size)
                n = *allocated * 2;
        if (n < min && min <= SIZE_MAX / size)
                n = min;
        if (n < 8 && 8 <= SIZE_MAX / size)
                n = 8;
        q = realloc(*p, n * size);
        if (!q)
                return NULL;
        *p = q;
        *allocated = n;
        return q;
}
