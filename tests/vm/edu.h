/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU's edu device (docs/specs/edu.rst) driven from user space without a
 * driver: bus mastering through its sysfs config file, its registers
 * through sysfs resource0.  Shared by the guest programs of tests/vm.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EDU_SYSFS "/sys/bus/pci/devices/0000:00:03.0"
#define EDU_BUS 0
#define EDU_DEVFN 0x18

#define EDU_IDENT 0x00
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_START 0x1
#define EDU_CMD_TO_RAM 0x2
#define EDU_BUFFER 0x40000 /* device address of its 4 KiB buffer */
/* a transfer ending exactly at the buffer's end aborts QEMU 7.2; half a page */
#define XFER 2048u
/* edu masks DMA addresses to 28 bits */
#define EDU_REACH (UINT64_C(1) << 28)

typedef struct edu {
        volatile uint8_t *bar;
        size_t size;
} edu;

static inline uint64_t edu_now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* edu answers only 32-bit accesses below 0x80 (all ones otherwise), 32-
 * or 64-bit ones to its DMA registers */
static inline uint64_t edu_read(const edu *e, unsigned off) {
        if (off < EDU_DMA_SRC)
                return *(volatile uint32_t *) (e->bar + off);
        return *(volatile uint64_t *) (e->bar + off);
}

static inline void edu_write(const edu *e, unsigned off, uint64_t v) {
        *(volatile uint64_t *) (e->bar + off) = v;
}

/* On failure, *ret_what says which step failed (with errno). */
static inline int edu_open(edu *ret, const char **ret_what) {
        uint16_t command = 0;
        struct stat st;
        int cfg, bar, r = 0;
        void *p;

        cfg = open(EDU_SYSFS "/config", O_RDWR | O_CLOEXEC);
        if (cfg < 0 || pread(cfg, &command, 2, 4) != 2) {
                *ret_what = EDU_SYSFS "/config";
                r = -errno;
        }
        /* bus mastering is off at boot and no driver turns it on */
        command |= 0x6; /* memory space, bus master */
        if (r == 0 && pwrite(cfg, &command, 2, 4) != 2) {
                *ret_what = "enabling bus mastering";
                r = -errno;
        }
        if (cfg >= 0)
                (void) close(cfg);
        if (r < 0)
                return r;
        bar = open(EDU_SYSFS "/resource0", O_RDWR | O_SYNC | O_CLOEXEC);
        if (bar < 0 || fstat(bar, &st) < 0) {
                *ret_what = EDU_SYSFS "/resource0";
                r = -errno;
                if (bar >= 0)
                        (void) close(bar);
                return r;
        }
        p = mmap(NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, bar, 0);
        r = -errno;
        (void) close(bar);
        if (p == MAP_FAILED) {
                *ret_what = "mapping edu's BAR0";
                return r;
        }
        *ret = (edu){ .bar = p, .size = (size_t) st.st_size };
        return 0;
}

/* One transfer of XFER bytes, waiting for edu (its DMA runs on a 100 ms
 * timer) at most 3 s; to_ram: from its buffer to addr, else from addr
 * into it.  False when edu did not finish. */
static inline bool edu_dma(const edu *e, uint64_t addr, bool to_ram) {
        uint64_t deadline = edu_now_usec() + 3 * 1000 * 1000;

        edu_write(e, EDU_DMA_SRC, to_ram ? EDU_BUFFER : addr);
        edu_write(e, EDU_DMA_DST, to_ram ? addr : EDU_BUFFER);
        edu_write(e, EDU_DMA_CNT, XFER);
        edu_write(e, EDU_DMA_CMD, EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
        while (edu_read(e, EDU_DMA_CMD) & EDU_CMD_START) {
                if (edu_now_usec() > deadline)
                        return false;
                usleep(2000);
        }
        return true;
}
