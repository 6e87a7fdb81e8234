/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading RAM: the bounds every backend shares (iommu_ram_contains, _read,
 * _page), the in-memory image backend (with a window kept in a file) and
 * the recorder.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/access.h"
#include "check-main.h"

static iommu_ram *ram;

static void setup(void) {
        ck_assert_int_eq(iommu_ram_new_image(&ram), 0);
}

static void teardown(void) {
        ram = iommu_ram_free(ram);
}

START_TEST(image_pages_and_ranges) {
        uint8_t *a, *b;

        ck_assert_str_eq(ram->ops->name, "image");
        ck_assert_uint_eq(ram->n_ranges, 0);
        ck_assert(!iommu_ram_contains(ram, 0, 1));

        /* unaligned: refused */
        ck_assert_ptr_null(iommu_ram_image_page(ram, 0x1800));

        a = iommu_ram_image_page(ram, 0x3000);
        ck_assert_ptr_nonnull(a);
        ck_assert_uint_eq((uintptr_t) a % 4096, 0);
        for (unsigned i = 0; i < 4096; i++)
                ck_assert_uint_eq(a[i], 0);
        /* the same page again */
        ck_assert_ptr_eq(iommu_ram_image_page(ram, 0x3000), a);

        /* neighbours merge into one range, a distant page does not */
        b = iommu_ram_image_page(ram, 0x1000);
        ck_assert_ptr_nonnull(b);
        ck_assert_ptr_nonnull(iommu_ram_image_page(ram, 0x2000));
        ck_assert_ptr_nonnull(iommu_ram_image_page(ram, 0x100000));
        ck_assert_uint_eq(ram->n_ranges, 2);
        ck_assert_uint_eq(ram->ranges[0].start, 0x1000);
        ck_assert_uint_eq(ram->ranges[0].end, 0x3fff);
        ck_assert_uint_eq(ram->ranges[1].start, 0x100000);
        ck_assert_uint_eq(ram->ranges[1].end, 0x100fff);

        /* a declared range swallowing the ones it overlaps */
        ck_assert_int_eq(iommu_ram_image_add_range(ram, 0x4000, 0x100fff), 0);
        ck_assert_uint_eq(ram->n_ranges, 1);
        ck_assert_uint_eq(ram->ranges[0].start, 0x1000);
        ck_assert_uint_eq(ram->ranges[0].end, 0x100fff);
        ck_assert_int_eq(iommu_ram_image_add_range(ram, 5, 4), -EINVAL);

        /* many pages: the hash table grows, every page stays where it was */
        for (uint64_t p = 0; p < 3000; p++) {
                uint8_t *q = iommu_ram_image_page(ram, 0x40000000 + p * 0x2000);
                ck_assert_ptr_nonnull(q);
                q[0] = (uint8_t) p;
        }
        for (uint64_t p = 0; p < 3000; p++)
                ck_assert_uint_eq(((uint8_t *) iommu_ram_image_page(ram, 0x40000000 + p * 0x2000))[0],
                                  (uint8_t) p);
        ck_assert_uint_eq(ram->n_ranges, 1 + 3000);
        ck_assert_ptr_eq(iommu_ram_image_page(ram, 0x3000), a);
}
END_TEST

/* Frame 0 is a page like any other (no key is kept free to mean "empty"). */
START_TEST(page_zero) {
        _cleanup_(iommu_ram_freep) iommu_ram *rec = NULL;
        _Alignas(8) uint8_t scratch[4096];
        uint8_t *z, *one, buf[2];
        const uint64_t *pages;
        size_t n;

        z = iommu_ram_image_page(ram, 0);
        one = iommu_ram_image_page(ram, 0x1000);
        ck_assert_ptr_nonnull(z);
        ck_assert_ptr_nonnull(one);
        ck_assert_ptr_ne(z, one);
        ck_assert_ptr_eq(iommu_ram_image_page(ram, 0), z);
        z[4095] = 0x5a;
        one[0] = 0xa5;
        ck_assert_uint_eq(ram->n_ranges, 1);
        ck_assert_uint_eq(ram->ranges[0].start, 0);
        ck_assert_uint_eq(ram->ranges[0].end, 0x1fff);
        ck_assert_int_eq(iommu_ram_read(ram, 0xfff, buf, 2, NULL), 0);
        ck_assert_uint_eq(buf[0], 0x5a);
        ck_assert_uint_eq(buf[1], 0xa5);

        ck_assert_int_eq(iommu_ram_new_recorder(ram, &rec), 0);
        ck_assert_ptr_eq(iommu_ram_page(rec, 0, scratch, NULL), z);
        ck_assert_int_eq(iommu_ram_read(rec, 0xfff, buf, 2, NULL), 0);
        ck_assert_int_eq(iommu_ram_recorded(rec, &pages, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(pages[0], 0);
        ck_assert_uint_eq(pages[1], 0x1000);
        ck_assert_uint_eq(iommu_ram_recorder_reads(rec), 2);
}
END_TEST

START_TEST(contains_bounds) {
        ck_assert_int_eq(iommu_ram_image_add_range(ram, 0x1000, 0x1fff), 0);
        ck_assert_int_eq(iommu_ram_image_add_range(ram, 0x3000, 0x3fff), 0);
        ck_assert_int_eq(iommu_ram_image_add_range(ram, 0xfffffffffffff000, 0xffffffffffffffff), 0);

        ck_assert(iommu_ram_contains(ram, 0x1000, 0x1000));
        ck_assert(iommu_ram_contains(ram, 0x1ff8, 8));
        ck_assert(!iommu_ram_contains(ram, 0x1ff8, 9));
        ck_assert(!iommu_ram_contains(ram, 0xfff, 2));
        ck_assert(!iommu_ram_contains(ram, 0x2000, 1));
        ck_assert(!iommu_ram_contains(ram, 0x1000, 0x3000)); /* across the hole */
        ck_assert(iommu_ram_contains(ram, 0xffffffffffffffff, 1));
        ck_assert(iommu_ram_contains(ram, 0xfffffffffffff000, 0x1000));
        /* wraps past the end of the address space */
        ck_assert(!iommu_ram_contains(ram, 0xfffffffffffff000, 0x1001));
        ck_assert(!iommu_ram_contains(ram, 0x4000, 0));

        /* filling the hole joins them */
        ck_assert_int_eq(iommu_ram_image_add_range(ram, 0x2000, 0x2fff), 0);
        ck_assert(iommu_ram_contains(ram, 0x1000, 0x3000));
        ck_assert(!iommu_ram_contains(NULL, 0x1000, 1));
}
END_TEST

START_TEST(read_and_page) {
        _Alignas(8) uint8_t scratch[4096];
        uint8_t buf[32];
        iommu_error err = {};
        uint8_t *p = iommu_ram_image_page(ram, 0x5000);
        const void *q;

        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(iommu_ram_image_add_range(ram, 0x6000, 0x6fff), 0);
        memset(p + 4080, 0xab, 16);

        /* across into a declared page without backing: zeros */
        memset(buf, 0x55, sizeof buf);
        ck_assert_int_eq(iommu_ram_read(ram, 0x5ff0, buf, sizeof buf, &err), 0);
        for (unsigned i = 0; i < 16; i++)
                ck_assert_uint_eq(buf[i], 0xab);
        for (unsigned i = 16; i < 32; i++)
                ck_assert_uint_eq(buf[i], 0);

        ck_assert_int_eq(iommu_ram_read(ram, 0x6ff0, buf, sizeof buf, &err), -ERANGE);
        ck_assert_int_eq(err.error, ERANGE);
        ck_assert_ptr_nonnull(strstr(err.message, "not System RAM"));
        ck_assert_int_eq(iommu_ram_read(ram, 0x6ff0, buf, 0, NULL), 0);

        /* peeked: the backend's own page */
        q = iommu_ram_page(ram, 0x5000, scratch, &err);
        ck_assert_ptr_eq(q, p);
        q = iommu_ram_page(ram, 0x6000, scratch, &err);
        ck_assert_ptr_nonnull(q);
        ck_assert_uint_eq(((const uint8_t *) q)[100], 0);

        ck_assert_ptr_null(iommu_ram_page(ram, 0x5008, scratch, &err));
        ck_assert_int_eq(err.error, EINVAL);
        ck_assert_ptr_null(iommu_ram_page(ram, 0x7000, scratch, &err));
        ck_assert_int_eq(err.error, ERANGE);
}
END_TEST

/* A backend without peek, over the image: iommu_ram_page must fill scratch. */
typedef struct nopeek_ram {
        iommu_ram ram;
        iommu_ram *inner;
        unsigned reads;
} nopeek_ram;

static int nopeek_read(iommu_ram *r, uint64_t paddr, void *buf, size_t len, iommu_error *err) {
        nopeek_ram *n = (nopeek_ram *) r;
        n->reads++;
        return iommu_ram_read(n->inner, paddr, buf, len, err);
}

static void nopeek_free(iommu_ram *r) {
        free(r);
}

static const iommu_ram_ops nopeek_ops = { .name = "nopeek", .read = nopeek_read, .free = nopeek_free };

START_TEST(page_through_scratch) {
        _Alignas(8) uint8_t scratch[4096];
        nopeek_ram *n = calloc(1, sizeof *n);
        uint8_t *p = iommu_ram_image_page(ram, 0x9000);
        const uint8_t *q;

        ck_assert_ptr_nonnull(n);
        p[7] = 0x77;
        n->ram.ops = &nopeek_ops;
        n->ram.ranges = malloc(2 * sizeof *n->ram.ranges);
        ck_assert_ptr_nonnull(n->ram.ranges);
        /* touching but not merged, as another backend may list them */
        n->ram.ranges[0] = (phys_range){ 0x9000, 0x9fff };
        n->ram.ranges[1] = (phys_range){ 0xa000, 0xafff };
        n->ram.n_ranges = 2;
        n->inner = ram;
        ck_assert(iommu_ram_contains(&n->ram, 0x9000, 0x2000));
        ck_assert(iommu_ram_contains(&n->ram, 0x9ff8, 16));
        ck_assert(!iommu_ram_contains(&n->ram, 0x9000, 0x2001));

        q = iommu_ram_page(&n->ram, 0x9000, scratch, NULL);
        ck_assert_ptr_eq(q, scratch);
        ck_assert_uint_eq(q[7], 0x77);
        ck_assert_uint_eq(n->reads, 1);
        /* without scratch there is nowhere to read into */
        ck_assert_ptr_null(iommu_ram_page(&n->ram, 0x9000, NULL, NULL));
        /* frees ranges, then the backend */
        ck_assert_ptr_null(iommu_ram_free(&n->ram));
        ck_assert_ptr_null(iommu_ram_free(NULL));
}
END_TEST

START_TEST(recorder_records_pages_read) {
        _cleanup_(iommu_ram_freep) iommu_ram *rec = NULL;
        _Alignas(8) uint8_t scratch[4096];
        uint8_t buf[16];
        const uint64_t *pages;
        size_t n;

        ck_assert_ptr_nonnull(iommu_ram_image_page(ram, 0x1000));
        ck_assert_ptr_nonnull(iommu_ram_image_page(ram, 0x2000));
        ck_assert_ptr_nonnull(iommu_ram_image_page(ram, 0x8000));
        ck_assert_ptr_nonnull(iommu_ram_image_page(ram, 0x9000));
        ck_assert_int_eq(iommu_ram_new_recorder(ram, &rec), 0);
        ck_assert_str_eq(rec->ops->name, "recorder");
        ck_assert_uint_eq(rec->n_ranges, ram->n_ranges);

        ck_assert_int_eq(iommu_ram_recorded(rec, &pages, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_uint_eq(iommu_ram_recorder_reads(rec), 0);

        /* bounds checks read nothing */
        ck_assert(iommu_ram_contains(rec, 0x1000, 0x2000));
        ck_assert(!iommu_ram_contains(rec, 0x3000, 1));

        ck_assert_ptr_nonnull(iommu_ram_page(rec, 0x9000, scratch, NULL));
        ck_assert_ptr_nonnull(iommu_ram_page(rec, 0x1000, scratch, NULL));
        ck_assert_ptr_nonnull(iommu_ram_page(rec, 0x9000, scratch, NULL));
        /* a read across two pages records both */
        ck_assert_int_eq(iommu_ram_read(rec, 0x1ff8, buf, sizeof buf, NULL), 0);
        /* refused reads record nothing */
        ck_assert_int_eq(iommu_ram_read(rec, 0x3000, buf, sizeof buf, NULL), -ERANGE);
        ck_assert_ptr_null(iommu_ram_page(rec, 0x4000, scratch, NULL));

        ck_assert_int_eq(iommu_ram_recorded(rec, &pages, &n), 0);
        ck_assert_uint_eq(n, 3);
        ck_assert_uint_eq(pages[0], 0x1000);
        ck_assert_uint_eq(pages[1], 0x2000);
        ck_assert_uint_eq(pages[2], 0x9000);
        ck_assert_uint_eq(iommu_ram_recorder_reads(rec), 4);

        /* many pages: the set grows and stays exact */
        for (uint64_t p = 0; p < 2000; p++)
                ck_assert_ptr_nonnull(iommu_ram_image_page(ram, 0x100000 + p * 0x1000));
        rec = iommu_ram_free(rec);
        ck_assert_int_eq(iommu_ram_new_recorder(ram, &rec), 0);
        for (uint64_t p = 2000; p-- > 0;) {
                ck_assert_ptr_nonnull(iommu_ram_page(rec, 0x100000 + p * 0x1000, scratch, NULL));
                ck_assert_ptr_nonnull(iommu_ram_page(rec, 0x100000 + p * 0x1000, scratch, NULL));
        }
        ck_assert_int_eq(iommu_ram_recorded(rec, &pages, &n), 0);
        ck_assert_uint_eq(n, 2000);
        for (size_t i = 0; i < n; i++)
                ck_assert_uint_eq(pages[i], 0x100000 + i * 0x1000);
        ck_assert_uint_eq(iommu_ram_recorder_reads(rec), 4000);

        /* not a recorder */
        ck_assert_int_eq(iommu_ram_recorded(ram, &pages, &n), -EINVAL);
        ck_assert_uint_eq(iommu_ram_recorder_reads(ram), 0);
}
END_TEST

/* A window of 4 pages at 0x100000, kept in a file from its offset
 * 0x2000: every byte checked with pread, as another process would. */
#define WIN 0x100000u
#define WIN_PAGES 4u
#define WIN_OFFSET 0x2000u

static int window_file(char *path, size_t size) {
        int fd;

        snprintf(path, size, "/tmp/test-access-ram-XXXXXX");
        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, WIN_OFFSET + WIN_PAGES * 4096), 0);
        return fd;
}

static uint8_t *window_map(int fd) {
        uint8_t *p = mmap(NULL, WIN_OFFSET + WIN_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

        ck_assert_ptr_ne(p, MAP_FAILED);
        return p;
}

static uint64_t blocks(int fd) {
        struct stat st;

        ck_assert_int_eq(fstat(fd, &st), 0);
        return (uint64_t) st.st_blocks;
}

START_TEST(image_window_in_a_file) {
        _cleanup_(iommu_ram_freep) iommu_ram *again = NULL;
        uint8_t held[1] = { 0 }, buf[16], *map, *p;
        char path[64];
        int fd = window_file(path, sizeof path);
        uint64_t b0;

        map = window_map(fd);
        ck_assert_int_eq(iommu_ram_image_back(ram, WIN, WIN + WIN_PAGES * 4096 - 1,
                                              &(iommu_ram_backing){ .mem = map + WIN_OFFSET,
                                                                    .held = held,
                                                                    .fd = fd,
                                                                    .fd_offset = WIN_OFFSET }),
                         0);
        /* the window is RAM, none of it handed out yet */
        ck_assert(iommu_ram_contains(ram, WIN, WIN_PAGES * 4096));
        ck_assert(!iommu_ram_contains(ram, WIN - 1, 1));
        for (unsigned i = 0; i < WIN_PAGES; i++)
                ck_assert(!iommu_ram_image_has_page(ram, WIN + i * 4096));

        /* a page handed out is the file's memory at its place, its blocks
         * taken in the file, its bit set */
        b0 = blocks(fd);
        p = iommu_ram_image_page(ram, WIN + 0x1000);
        ck_assert_ptr_eq(p, map + WIN_OFFSET + 0x1000);
        ck_assert_uint_eq(held[0], 0x02);
        ck_assert(iommu_ram_image_has_page(ram, WIN + 0x1000));
        ck_assert(!iommu_ram_image_has_page(ram, WIN + 0x2000));
        ck_assert_uint_ge(blocks(fd), b0 + 4096 / 512);
        ck_assert_ptr_eq(iommu_ram_image_page(ram, WIN + 0x1000), p);
        memcpy(p + 0x18, "table bytes", 12);
        ck_assert_int_eq(pread(fd, buf, 12, WIN_OFFSET + 0x1000 + 0x18), 12);
        ck_assert_mem_eq(buf, "table bytes", 12);
        /* and what the file holds is what the image reads */
        ck_assert_int_eq(pwrite(fd, "from the file", 13, WIN_OFFSET + 0x3ff0), 13);
        ck_assert_int_eq(iommu_ram_read(ram, WIN + 0x3ff0, buf, 13, NULL), 0);
        ck_assert_mem_eq(buf, "from the file", 13);
        ck_assert_ptr_eq(iommu_ram_page(ram, WIN + 0x3000, NULL, NULL), map + WIN_OFFSET + 0x3000);
        /* a read across the window's edge: its last page, then one of the image's own */
        ck_assert_ptr_nonnull(iommu_ram_image_page(ram, WIN + WIN_PAGES * 4096));
        ck_assert_int_eq(iommu_ram_read(ram, WIN + 0x3ff0, buf, 16, NULL), 0);
        ck_assert_mem_eq(buf, "from the file\0\0\0", 16);

        /* nobody else's page goes there; one window an image */
        ck_assert_int_eq(iommu_ram_image_attach_page(ram, WIN + 0x2000, p), -EBUSY);
        ck_assert_int_eq(iommu_ram_image_back(ram, 0x800000, 0x800fff,
                                              &(iommu_ram_backing){ .mem = map, .held = held, .fd = -1 }),
                         -EBUSY);

        /* another image over the same memory: the page handed out before
         * is known, its bytes are there */
        ck_assert_int_eq(iommu_ram_new_image(&again), 0);
        ck_assert_int_eq(iommu_ram_image_back(again, WIN, WIN + WIN_PAGES * 4096 - 1,
                                              &(iommu_ram_backing){ .mem = map + WIN_OFFSET,
                                                                    .held = held,
                                                                    .fd = fd,
                                                                    .fd_offset = WIN_OFFSET }),
                         0);
        ck_assert(iommu_ram_image_has_page(again, WIN + 0x1000));
        ck_assert(!iommu_ram_image_has_page(again, WIN));
        ck_assert_int_eq(iommu_ram_read(again, WIN + 0x1018, buf, 12, NULL), 0);
        ck_assert_mem_eq(buf, "table bytes", 12);
        again = iommu_ram_free(again);

        ck_assert_int_eq(munmap(map, WIN_OFFSET + WIN_PAGES * 4096), 0);
        close(fd);
        (void) unlink(path);
}
END_TEST

START_TEST(image_window_refused) {
        static uint8_t mem[2 * 4096] __attribute__((aligned(4096)));
        uint8_t held[1] = { 0 };
        iommu_ram_backing b = { .mem = mem, .held = held, .fd = -1 };

        ck_assert_int_eq(iommu_ram_image_back(ram, 0x1800, 0x2fff, &b), -EINVAL);
        ck_assert_int_eq(iommu_ram_image_back(ram, 0x1000, 0x27ff, &b), -EINVAL);
        ck_assert_int_eq(iommu_ram_image_back(ram, 0x2000, 0x1fff, &b), -EINVAL);
        b.mem = mem + 8;
        ck_assert_int_eq(iommu_ram_image_back(ram, 0x1000, 0x2fff, &b), -EINVAL);
        b = (iommu_ram_backing){ .mem = mem, .fd = -1 };
        ck_assert_int_eq(iommu_ram_image_back(ram, 0x1000, 0x2fff, &b), -EINVAL);
        /* a page of the image's own already there */
        ck_assert_ptr_nonnull(iommu_ram_image_page(ram, 0x2000));
        b.held = held;
        ck_assert_int_eq(iommu_ram_image_back(ram, 0x1000, 0x2fff, &b), -EBUSY);
        ck_assert_int_eq(iommu_ram_image_back(ram, 0x3000, 0x4fff, &b), 0);
        /* without a file, nothing is allocated: the page is the memory */
        ck_assert_ptr_eq(iommu_ram_image_page(ram, 0x4000), mem + 4096);
        ck_assert_uint_eq(held[0], 0x02);
        /* not an image */
        ck_assert(!iommu_ram_image_has_page(NULL, 0));
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("access-ram");
        TCase *tc = tcase_create("image");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, image_pages_and_ranges);
        tcase_add_test(tc, page_zero);
        tcase_add_test(tc, contains_bounds);
        tcase_add_test(tc, read_and_page);
        tcase_add_test(tc, page_through_scratch);
        tcase_add_test(tc, recorder_records_pages_read);
        tcase_add_test(tc, image_window_in_a_file);
        tcase_add_test(tc, image_window_refused);
        suite_add_tcase(s, tc);
        return s;
}
