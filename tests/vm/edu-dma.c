/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * edu-dma BDF MAP_IOVA MAP_SIZE DMA_IOVA
 *
 * Makes the edu device (QEMU's DMA test device) do real DMA through the
 * IOMMU, driven from user space through VFIO: maps a buffer for it at
 * MAP_IOVA, then has edu copy its internal buffer to DMA_IOVA.  When
 * DMA_IOVA lies inside the mapping the bytes must arrive in the buffer
 * (checked; exit 0); outside it the IOMMU must block the write and record a
 * fault (the buffer stays untouched; exit 0, and the caller checks the
 * fault).  Prints one line saying what happened.
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
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "edu.h"

static int die(const char *what) {
        fprintf(stderr, "edu-dma: %s: %s\n", what, strerror(errno));
        exit(1);
}

static void reg_write(int dev, uint64_t bar, uint64_t off, uint64_t v) {
        if (pwrite(dev, &v, 8, (off_t) (bar + off)) != 8)
                die("writing an edu register");
}

static uint64_t reg_read(int dev, uint64_t bar, uint64_t off) {
        uint64_t v;
        if (pread(dev, &v, 8, (off_t) (bar + off)) != 8)
                die("reading an edu register");
        return v;
}

/* One DMA, waiting for edu to finish (bounded). */
static void dma(int dev, uint64_t bar, uint64_t src, uint64_t dst, uint64_t len, uint64_t cmd) {
        reg_write(dev, bar, EDU_DMA_SRC, src);
        reg_write(dev, bar, EDU_DMA_DST, dst);
        reg_write(dev, bar, EDU_DMA_CNT, len);
        reg_write(dev, bar, EDU_DMA_CMD, EDU_CMD_START | cmd);
        for (int i = 0; i < 1000; i++) {
                if (!(reg_read(dev, bar, EDU_DMA_CMD) & EDU_CMD_START))
                        return;
                usleep(1000);
        }
        fprintf(stderr, "edu-dma: the DMA did not finish within a second\n");
        exit(1);
}

int main(int argc, char **argv) {
        struct vfio_group_status status = { .argsz = sizeof status };
        struct vfio_iommu_type1_dma_map map = { .argsz = sizeof map };
        struct vfio_region_info bar0 = { .argsz = sizeof bar0, .index = VFIO_PCI_BAR0_REGION_INDEX };
        struct vfio_region_info cfg = { .argsz = sizeof cfg, .index = VFIO_PCI_CONFIG_REGION_INDEX };
        char link[PATH_MAX], target[PATH_MAX], group_path[PATH_MAX];
        uint64_t map_iova, map_size, dma_iova;
        int container, group, dev;
        uint16_t command;
        uint8_t *buf;
        ssize_t n;

        if (argc != 5) {
                fprintf(stderr, "usage: edu-dma BDF MAP_IOVA MAP_SIZE DMA_IOVA\n");
                return 2;
        }
        map_iova = strtoull(argv[2], NULL, 0);
        map_size = strtoull(argv[3], NULL, 0);
        dma_iova = strtoull(argv[4], NULL, 0);

        snprintf(link, sizeof link, "/sys/bus/pci/devices/%s/iommu_group", argv[1]);
        n = readlink(link, target, sizeof target - 1);
        if (n < 0)
                die(link);
        target[n] = '\0';
        snprintf(group_path, sizeof group_path, "/dev/vfio/%s", basename(target));

        container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
        group = open(group_path, O_RDWR | O_CLOEXEC);
        if (container < 0 || group < 0)
                die("opening VFIO");
        if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0 || !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
                die("group not viable");
        if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0 ||
            ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
                die("setting up the container");

        buf = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
        if (buf == MAP_FAILED)
                die("mmap");
        map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
        map.vaddr = (uintptr_t) buf;
        map.iova = map_iova;
        map.size = map_size;
        if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0)
                die("VFIO_IOMMU_MAP_DMA");

        dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
        if (dev < 0)
                die("VFIO_GROUP_GET_DEVICE_FD");
        if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &bar0) < 0 ||
            ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0)
                die("VFIO_DEVICE_GET_REGION_INFO");
        /* bus mastering is off at boot: PCI command register bit 2 */
        if (pread(dev, &command, 2, (off_t) (cfg.offset + 4)) != 2)
                die("reading the PCI command register");
        command |= 0x4;
        if (pwrite(dev, &command, 2, (off_t) (cfg.offset + 4)) != 2)
                die("enabling bus mastering");

        /* A pattern into edu's buffer (RAM -> edu), from the mapped buffer */
        if (map_iova + map_size > (UINT64_C(1) << 28) || dma_iova + XFER > (UINT64_C(1) << 28)) {
                fprintf(stderr, "edu-dma: edu reaches only the first 256 MiB of IOVA space\n");
                return 2;
        }
        for (uint64_t i = 0; i < XFER && i < map_size; i++)
                buf[i] = (uint8_t) (i * 7 + 1);
        dma(dev, bar0.offset, map_iova, EDU_BUFFER, XFER, 0);
        memset(buf, 0, map_size);

        /* And back out (edu -> RAM) to the IOVA asked for */
        dma(dev, bar0.offset, EDU_BUFFER, dma_iova, XFER, EDU_CMD_TO_RAM);

        if (dma_iova >= map_iova && dma_iova + XFER <= map_iova + map_size) {
                uint8_t *dst = buf + (dma_iova - map_iova);
                for (uint64_t i = 0; i < XFER; i++)
                        if (dst[i] != (uint8_t) (i * 7 + 1)) {
                                fprintf(stderr, "edu-dma: byte %" PRIu64 " did not arrive (0x%02x)\n", i,
                                        dst[i]);
                                return 1;
                        }
                printf("dma to 0x%" PRIx64 " arrived in the mapped buffer\n", dma_iova);
        } else {
                for (uint64_t i = 0; i < map_size; i++)
                        if (buf[i]) {
                                fprintf(stderr, "edu-dma: DMA outside the mapping changed the buffer\n");
                                return 1;
                        }
                printf("dma to unmapped 0x%" PRIx64 " did not reach memory\n", dma_iova);
        }
        return 0;
}
