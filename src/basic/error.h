/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>

#include "basic/macro.h"

/*
 * What went wrong, as one line a person can act on.  Library functions
 * return a negative errno and, when the caller passed an iommu_error, fill
 * in the sentence; they never print.
 */
typedef struct iommu_error {
        int error; /* positive errno */
        char message[256];
} iommu_error;

/* Sets err (if not NULL) and returns -error, for "return iommu_error_set(...)". */
int iommu_error_set(iommu_error *err, int error, const char *fmt, ...) _printf_(3, 4);
