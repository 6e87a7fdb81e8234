/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest side of tests/vm/control-check's iommud part: the edu device's DMA
 * (00:03.0, driven from user space, tests/vm/edu.h) through whatever the
 * IOMMU does, one transfer or a round trip per call, with the memory it
 * reaches seen through files (iommud's --alloc buffers, or a hugetlbfs file
 * of the caller's own):
 *
 *   edu-trip round SRC_FILE SRC_OFF SRC_IOVA DST_FILE DST_OFF DST_IOVA
 *       fills 2 KiB of SRC_FILE at SRC_OFF with a fresh pattern, zeroes
 *       DST_FILE's at DST_OFF; edu reads SRC_IOVA into its buffer, then
 *       writes it to DST_IOVA.  Prints "arrived" (the pattern is at DST),
 *       "missing" (DST still zero) or "different".
 *   edu-trip write IOVA [FILE OFF]
 *       edu writes its buffer to IOVA.  With FILE: its 2 KiB at OFF are
 *       set to a marker first; prints "landed" (changed) or "blocked"
 *       (unchanged) and the buffer's bytes stay what they were when
 *       blocked; without: prints "done".
 *   edu-trip read IOVA
 *       edu reads IOVA into its buffer; prints "done".
 *   edu-trip phys FILE
 *       makes FILE (on hugetlbfs) one 2 MiB page, zeroed, and prints that
 *       page's physical address: the file keeps the page after exit.
 *
 * Exit 0 when the transfers ran (what they did is the word printed), 3
 * when edu did not finish within 3 s, 2 on usage or system errors.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/tablemem.h"
#include "edu.h"

#define HUGE_PAGE (UINT64_C(2) << 20)

static int fail(const char *what, int error) {
        fprintf(stderr, "edu-trip: %s: %s\n", what, strerror(error));
        return 2;
}

static int number(const char *s, uint64_t *ret) {
        char *end;

        errno = 0;
        *ret = strtoull(s, &end, 0);
        if (errno || end == s || *end) {
                fprintf(stderr, "edu-trip: \"%s\" is no number\n", s);
                return -EINVAL;
        }
        return 0;
}

/* XFER bytes of path at off, mapped shared; *ret_base for munmap. */
static uint8_t *map_file(const char *path, uint64_t off, void **ret_base, size_t *ret_size) {
        struct stat st;
        void *p;
        int fd;

        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                fail(path, errno);
                return NULL;
        }
        if (off + XFER > (uint64_t) st.st_size) {
                fprintf(stderr, "edu-trip: %s: offset 0x%" PRIx64 " is past its end\n", path, off);
                (void) close(fd);
                return NULL;
        }
        p = mmap(NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        (void) close(fd);
        if (p == MAP_FAILED) {
                fail(path, errno);
                return NULL;
        }
        *ret_base = p;
        *ret_size = (size_t) st.st_size;
        return (uint8_t *) p + off;
}

static bool all(const uint8_t *p, uint8_t v) {
        for (size_t i = 0; i < XFER; i++)
                if (p[i] != v)
                        return false;
        return true;
}

static int edu_up(edu *e) {
        const char *what = "";
        int r = edu_open(e, &what);

        if (r < 0)
                return fail(what, -r);
        return 0;
}

static int round_trip(char **argv) {
        uint64_t src_off, src_iova, dst_off, dst_iova;
        void *src_base, *dst_base;
        size_t src_size, dst_size;
        uint8_t *src, *dst, want[XFER];
        edu e;

        if (number(argv[1], &src_off) < 0 || number(argv[2], &src_iova) < 0 ||
            number(argv[4], &dst_off) < 0 || number(argv[5], &dst_iova) < 0)
                return 2;
        if (edu_up(&e))
                return 2;
        src = map_file(argv[0], src_off, &src_base, &src_size);
        dst = map_file(argv[3], dst_off, &dst_base, &dst_size);
        if (!src || !dst)
                return 2;
        /* a pattern no earlier call left: seeded from the clock */
        srandom((unsigned) edu_now_usec());
        for (size_t i = 0; i < XFER; i++)
                want[i] = (uint8_t) random();
        memcpy(src, want, XFER);
        memset(dst, 0, XFER);
        if (!edu_dma(&e, src_iova, false) || !edu_dma(&e, dst_iova, true)) {
                puts("timeout");
                return 3;
        }
        puts(memcmp(dst, want, XFER) == 0 ? "arrived" : all(dst, 0) ? "missing" : "different");
        return 0;
}

static int write_to(int argc, char **argv) {
        uint64_t iova, off = 0;
        uint8_t *dst = NULL;
        void *base;
        size_t size;
        edu e;

        if (number(argv[0], &iova) < 0 || (argc == 3 && number(argv[2], &off) < 0))
                return 2;
        if (edu_up(&e))
                return 2;
        if (argc == 3) {
                dst = map_file(argv[1], off, &base, &size);
                if (!dst)
                        return 2;
                memset(dst, 0x5a, XFER);
        }
        if (!edu_dma(&e, iova, true)) {
                puts("timeout");
                return 3;
        }
        puts(!dst ? "done" : all(dst, 0x5a) ? "blocked" : "landed");
        return 0;
}

static int read_from(const char *arg) {
        uint64_t iova;
        edu e;

        if (number(arg, &iova) < 0 || edu_up(&e))
                return 2;
        if (!edu_dma(&e, iova, false)) {
                puts("timeout");
                return 3;
        }
        puts("done");
        return 0;
}

static int phys_of(const char *path) {
        iommu_error err = {};
        uint64_t phys;
        void *p;
        int fd, r;

        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t) HUGE_PAGE) < 0)
                return fail(path, errno);
        p = mmap(NULL, HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
        (void) close(fd);
        if (p == MAP_FAILED)
                return fail(path, errno);
        memset(p, 0, HUGE_PAGE);
        r = pagemap_phys(p, 1, &phys, &err);
        if (r < 0) {
                fprintf(stderr, "edu-trip: %s\n", err.message);
                return 2;
        }
        printf("0x%" PRIx64 "\n", phys);
        return 0;
}

int main(int argc, char *argv[]) {
        const char *verb = argc > 1 ? argv[1] : "";

        if (streq(verb, "round") && argc == 8)
                return round_trip(argv + 2);
        if (streq(verb, "write") && (argc == 3 || argc == 5))
                return write_to(argc - 2, argv + 2);
        if (streq(verb, "read") && argc == 3)
                return read_from(argv[2]);
        if (streq(verb, "phys") && argc == 3)
                return phys_of(argv[2]);
        fprintf(stderr, "usage: edu-trip round SRC_FILE SRC_OFF SRC_IOVA DST_FILE DST_OFF DST_IOVA | "
                        "write IOVA [FILE OFF] | read IOVA | phys FILE\n");
        return 2;
}
