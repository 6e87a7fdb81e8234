/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "basic/error.h"

int iommu_error_set(iommu_error *err, int error, const char *fmt, ...) {
        if (error < 0)
                error = -error;
        if (err) {
                va_list ap;
                err->error = error;
                va_start(ap, fmt);
                (void) vsnprintf(err->message, sizeof err->message, fmt, ap);
                va_end(ap);
        }
        return -error;
}
