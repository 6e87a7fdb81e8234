/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/alloc-util.h"
#include "basic/fileio.h"

int read_full_file(const char *path, size_t max, void **ret, size_t *ret_size, iommu_error *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, alloc = 0;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to open %s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return iommu_error_set(err, errno, "Failed to stat %s: %s", path, strerror(errno));
        if (S_ISDIR(st.st_mode))
                return iommu_error_set(err, EISDIR, "%s is a directory, not a file", path);

        for (;;) {
                ssize_t n;

                /* one byte more than read so far, for the NUL */
                if (size + 1 >= alloc) {
                        if (size > max)
                                return iommu_error_set(err, EFBIG, "%s is larger than %zu bytes", path, max);
                        if (!GREEDY_REALLOC_MIN(buf, alloc, size + 2, 4096))
                                return iommu_error_set(err, ENOMEM, "Out of memory reading %s", path);
                }
                n = read(fd, buf + size, alloc - size - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return iommu_error_set(err, errno, "Failed to read %s: %s", path, strerror(errno));
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max)
                        return iommu_error_set(err, EFBIG, "%s is larger than %zu bytes", path, max);
        }

        buf[size] = '\0'; /* text readers may rely on it; not counted in size */
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

int write_all(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t k = write(fd, p, size);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}
