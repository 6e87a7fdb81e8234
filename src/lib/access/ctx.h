/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The library context: created once, it holds the sysroot every file the
 * library opens goes through (/sys, /proc, /dev), so tests and offline
 * analysis point it at a fixture tree.
 */

#include <stddef.h>

#include "basic/error.h"

typedef struct iommu_ctx iommu_ctx;

/* sysroot NULL, "" or "/" means the real root. */
int iommu_ctx_new(const char *sysroot, iommu_ctx **ret);
iommu_ctx *iommu_ctx_free(iommu_ctx *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(iommu_ctx *, iommu_ctx_free);

/* "" for the real root, else the directory without a trailing slash. */
const char *iommu_ctx_sysroot(const iommu_ctx *c);

/* path is absolute as on the host ("/proc/iomem"); the result is below the
 * sysroot.  Returns NULL only when out of memory. */
char *iommu_ctx_path(const iommu_ctx *c, const char *path);

/* open(2) of a host path below the sysroot, O_CLOEXEC added.  Returns the
 * fd or a negative errno, with the sentence (naming the full path) in err.
 * A path with a ".." component is refused (-EINVAL): it could leave the
 * sysroot.  Same for iommu_ctx_read_file(). */
int iommu_ctx_open(const iommu_ctx *c, const char *path, int flags, iommu_error *err);

/* The whole of a (small) host file below the sysroot, NUL-terminated. */
int iommu_ctx_read_file(const iommu_ctx *c, const char *path, size_t max, void **ret, size_t *ret_size,
                        iommu_error *err);
