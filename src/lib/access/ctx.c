/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The library context and its sysroot.  Every host file the library opens
 * (/sys, /proc, /dev) is joined below the sysroot here, so a test or an
 * offline analysis points the whole library at a fixture tree at once.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "access/ctx.h"
#include "basic/fileio.h"

struct iommu_ctx {
        char *sysroot; /* "" for the real root, else no trailing slash */
};

int iommu_ctx_new(const char *sysroot, iommu_ctx **ret) {
        _cleanup_free_ iommu_ctx *c = NULL;
        size_t n;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;

        n = sysroot ? strlen(sysroot) : 0;
        while (n > 0 && sysroot[n - 1] == '/')
                n--;
        /* NULL, "" and "/" (or "//") all mean the real root. */
        c->sysroot = n > 0 ? strndup(sysroot, n) : strdup("");
        if (!c->sysroot)
                return -ENOMEM;

        *ret = TAKE_PTR(c);
        return 0;
}

iommu_ctx *iommu_ctx_free(iommu_ctx *c) {
        if (!c)
                return NULL;
        free(c->sysroot);
        free(c);
        return NULL;
}

const char *iommu_ctx_sysroot(const iommu_ctx *c) {
        return c->sysroot;
}

char *iommu_ctx_path(const iommu_ctx *c, const char *path) {
        char *p;

        /* Exactly one slash between the sysroot and the host path, whether
         * the caller wrote "/proc/iomem", "proc/iomem" or "//proc/iomem". */
        while (*path == '/')
                path++;
        if (asprintf(&p, "%s/%s", c->sysroot, path) < 0)
                return NULL;
        return p;
}

/* A ".." component could climb out of the sysroot. */
static bool path_escapes(const char *path) {
        for (const char *s = path; (s = strstr(s, "..")); s += 2) {
                bool at_start = s == path || s[-1] == '/';
                bool at_end = s[2] == '\0' || s[2] == '/';
                if (at_start && at_end)
                        return true;
        }
        return false;
}

int iommu_ctx_open(const iommu_ctx *c, const char *path, int flags, iommu_error *err) {
        _cleanup_free_ char *full = NULL;
        int fd;

        if (path_escapes(path))
                return iommu_error_set(err, EINVAL,
                                       "Refusing to open %s: a \"..\" component would leave the sysroot",
                                       path);
        full = iommu_ctx_path(c, path);
        if (!full)
                return iommu_error_set(err, ENOMEM, "Out of memory opening %s", path);

        /* The mode only matters with O_CREAT; the library never creates host files. */
        fd = open(full, flags | O_CLOEXEC, 0600);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to open %s: %s", full, strerror(errno));
        return fd;
}

int iommu_ctx_read_file(const iommu_ctx *c, const char *path, size_t max, void **ret, size_t *ret_size,
                        iommu_error *err) {
        _cleanup_free_ char *full = NULL;

        if (path_escapes(path))
                return iommu_error_set(err, EINVAL,
                                       "Refusing to read %s: a \"..\" component would leave the sysroot",
                                       path);
        full = iommu_ctx_path(c, path);
        if (!full)
                return iommu_error_set(err, ENOMEM, "Out of memory reading %s", path);
        return read_full_file(full, max, ret, ret_size, err);
}
