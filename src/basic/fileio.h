/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "basic/error.h"

/* Read a whole file of at most max bytes (sysfs files report size 0, so the
 * size is found by reading).  A larger file is -EFBIG, not a truncation. */
int read_full_file(const char *path, size_t max, void **ret, size_t *ret_size, iommu_error *err);

/* All of data to fd, through short writes and EINTR: 0 or -errno. */
int write_all(int fd, const void *data, size_t size);
