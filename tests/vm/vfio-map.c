/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-map BDF IOVA SIZE OUT.json -- COMMAND [ARGS...]
 *
 * The guest kernel as an independent oracle for the walker: map a locked
 * anonymous buffer for the device at IOVA through VFIO's type1 container
 * API (the kernel then writes the device's translation tables), write the
 * buffer's physical pages from /proc/self/pagemap to OUT.json, run COMMAND
 * while the mapping is live, unmap, and exit with COMMAND's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vfio.h>

#define PAGE 4096u

static int fail(const char *what) {
        fprintf(stderr, "vfio-map: %s: %s\n", what, strerror(errno));
        return 1;
}

static int group_of(const char *bdf, char *buf, size_t size) {
        char link[PATH_MAX], target[PATH_MAX];
        ssize_t n;

        snprintf(link, sizeof link, "/sys/bus/pci/devices/%s/iommu_group", bdf);
        n = readlink(link, target, sizeof target - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        snprintf(buf, size, "/dev/vfio/%s", basename(target));
        return 0;
}

int main(int argc, char **argv) {
        struct vfio_group_status status = { .argsz = sizeof status };
        struct vfio_iommu_type1_dma_map map = { .argsz = sizeof map };
        struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof unmap };
        char group_path[PATH_MAX];
        int container, group, pagemap, wstatus;
        uint64_t iova, size;
        uint8_t *buf;
        FILE *out;
        pid_t pid;

        if (argc < 7 || strcmp(argv[5], "--") != 0) {
                fprintf(stderr, "usage: vfio-map BDF IOVA SIZE OUT.json -- COMMAND [ARGS...]\n");
                return 2;
        }
        iova = strtoull(argv[2], NULL, 0);
        size = strtoull(argv[3], NULL, 0);
        if (size == 0 || size % PAGE || iova % PAGE) {
                fprintf(stderr, "vfio-map: IOVA and SIZE must be multiples of 4096\n");
                return 2;
        }

        if (group_of(argv[1], group_path, sizeof group_path) < 0)
                return fail("iommu_group of the device");
        container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
        if (container < 0)
                return fail("/dev/vfio/vfio");
        if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
                return fail("VFIO_GET_API_VERSION");
        if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
                return fail("VFIO_TYPE1v2_IOMMU");
        group = open(group_path, O_RDWR | O_CLOEXEC);
        if (group < 0)
                return fail(group_path);
        if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0 || !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
                errno = errno ? errno : EBUSY;
                return fail("group not viable (all its devices must be bound to vfio-pci)");
        }
        if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
                return fail("VFIO_GROUP_SET_CONTAINER");
        if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
                return fail("VFIO_SET_IOMMU");

        buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
        if (buf == MAP_FAILED)
                return fail("mmap");
        memset(buf, 0xa5, size);

        map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
        map.vaddr = (uintptr_t) buf;
        map.iova = iova;
        map.size = size;
        if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0)
                return fail("VFIO_IOMMU_MAP_DMA");

        /* The pages are pinned now: their physical addresses cannot move. */
        pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (pagemap < 0)
                return fail("/proc/self/pagemap");
        out = fopen(argv[4], "we");
        if (!out)
                return fail(argv[4]);
        fprintf(out, "{\"bdf\": \"%s\", \"iova\": %" PRIu64 ", \"size\": %" PRIu64 ", \"pages\": [", argv[1],
                iova, size);
        for (uint64_t off = 0; off < size; off += PAGE) {
                uint64_t e;
                uintptr_t va = (uintptr_t) buf + off;

                if (pread(pagemap, &e, sizeof e, (off_t) (va / PAGE * sizeof e)) != sizeof e)
                        return fail("reading /proc/self/pagemap");
                if (!(e >> 63) || (e & ((UINT64_C(1) << 55) - 1)) == 0) {
                        fprintf(stderr, "vfio-map: page at +0x%" PRIx64 " not present or PFN hidden\n", off);
                        return 1;
                }
                fprintf(out, "%s%" PRIu64, off ? ", " : "", (e & ((UINT64_C(1) << 55) - 1)) * PAGE);
        }
        fprintf(out, "]}\n");
        if (fclose(out) != 0)
                return fail(argv[4]);

        pid = fork();
        if (pid < 0)
                return fail("fork");
        if (pid == 0) {
                execvp(argv[6], argv + 6);
                _exit(127);
        }
        if (waitpid(pid, &wstatus, 0) < 0)
                return fail("waitpid");

        unmap.iova = iova;
        unmap.size = size;
        if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0)
                return fail("VFIO_IOMMU_UNMAP_DMA");
        return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 1;
}
