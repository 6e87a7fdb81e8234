/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Table memory: pages handed out zeroed, found again by physical address,
 * read by the walker's view exactly as written; on the machine itself,
 * locked memory whose frames /proc/self/pagemap gives (root only), and a
 * hugetlbfs file where one is mounted with free huge pages.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "access/tablemem.h"
#include "check-main.h"

START_TEST(image_pages) {
        _cleanup_(iommu_ram_freep) iommu_ram *image = NULL, *view = NULL;
        _cleanup_(table_mem_freep) table_mem *m = NULL;
        iommu_error err = {};
        uint64_t phys[600], got, wrong = 0;
        void *virt[600];
        uint8_t buf[16];

        ck_assert_int_eq(iommu_ram_new_image(&image), 0);
        ck_assert_int_eq(table_mem_open_image(image, 0x1000, &m, &err), -EINVAL);
        ck_assert_int_eq(table_mem_open_image(image, 0x40000000, &m, &err), 0);
        ck_assert_int_eq(table_mem_ram(m, &view), 0);
        ck_assert_int_eq(view->n_ranges, 0);

        /* more pages than a chunk holds: a second chunk, each page once */
        for (int i = 0; i < 600; i++) {
                ck_assert_int_eq(table_mem_alloc_page(m, &virt[i], &phys[i], &err), 0);
                memset(virt[i], i & 0xff, 4096);
        }
        ck_assert_uint_eq(table_mem_chunks(m), 2);
        ck_assert_uint_eq(table_mem_pages_used(m), 600);
        for (int i = 0; i < 600; i++) {
                wrong += phys[i] != 0x40000000 + (uint64_t) i * 4096;
                wrong += table_mem_virt(m, phys[i]) != virt[i];
                wrong += table_mem_virt(m, phys[i] + 8) != (uint8_t *) virt[i] + 8;
        }
        ck_assert_uint_eq(wrong, 0);
        ck_assert_ptr_null(table_mem_virt(m, 0x40000000 - 4096));
        ck_assert_ptr_null(table_mem_virt(m, 0x40000000 + 2 * TABLE_MEM_CHUNK));

        /* the view: the two chunks as one range, reads and peeks as written */
        ck_assert_uint_eq(view->n_ranges, 1);
        ck_assert_uint_eq(view->ranges[0].start, 0x40000000);
        ck_assert_uint_eq(view->ranges[0].end, 0x40000000 + 2 * TABLE_MEM_CHUNK - 1);
        ck_assert_int_eq(iommu_ram_read(view, phys[513] + 4090, buf, sizeof buf, &err), 0);
        ck_assert_uint_eq(buf[0], 513 & 0xff);
        ck_assert_uint_eq(buf[15], 514 & 0xff);
        ck_assert_ptr_eq(view->ops->peek(view, phys[7], 8), virt[7]);
        ck_assert_int_eq(iommu_ram_read(view, 0x40000000 + 2 * TABLE_MEM_CHUNK, buf, 1, &err), -ERANGE);

        /* freed, then handed out again: zeroed */
        table_mem_free_page(m, phys[3]);
        table_mem_free_page(m, phys[3]); /* twice: nothing */
        ck_assert_uint_eq(table_mem_pages_used(m), 599);
        ck_assert_int_eq(table_mem_alloc_page(m, &virt[3], &got, &err), 0);
        ck_assert_uint_eq(got, phys[3]);
        for (int i = 0; i < 4096; i++)
                wrong += ((uint8_t *) virt[3])[i] != 0;
        ck_assert_uint_eq(wrong, 0);
        /* not ours: nothing */
        table_mem_free_page(m, 0x1000);
        ck_assert_uint_eq(table_mem_pages_used(m), 600);
        ck_assert_str_eq(table_mem_kind_to_string(table_mem_get_kind(m)), "image");
}
END_TEST

START_TEST(image_chunks) {
        _cleanup_(iommu_ram_freep) iommu_ram *image = NULL;
        _cleanup_(table_mem_freep) table_mem *m = NULL, *locked = NULL;
        iommu_error err = {};
        uint64_t phys[3], chunk_phys, again, wrong = 0;
        void *virt[3], *chunk_virt, *again_virt;

        ck_assert_int_eq(iommu_ram_new_image(&image), 0);
        ck_assert_int_eq(table_mem_open_image(image, 0x40000000, &m, &err), 0);
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(table_mem_alloc_page(m, &virt[i], &phys[i], &err), 0);
        /* the first chunk holds pages: a whole one is a new chunk */
        ck_assert_int_eq(table_mem_alloc_chunk(m, &chunk_virt, &chunk_phys, &err), 0);
        ck_assert_uint_eq(chunk_phys, 0x40000000 + TABLE_MEM_CHUNK);
        ck_assert_uint_eq(table_mem_chunks(m), 2);
        ck_assert_uint_eq(table_mem_pages_used(m), 3 + TABLE_MEM_CHUNK_PAGES);
        ck_assert_ptr_eq(table_mem_virt(m, chunk_phys), chunk_virt);
        for (uint64_t off = 0; off < TABLE_MEM_CHUNK; off += 4096)
                wrong += !table_mem_virt(m, chunk_phys + off);
        ck_assert_uint_eq(wrong, 0);
        memset(table_mem_virt(m, chunk_phys + 4096 * 7), 0x5a, 4096);
        /* its pages are not handed out, nor given back one by one */
        table_mem_free_page(m, chunk_phys + 4096);
        ck_assert_uint_eq(table_mem_pages_used(m), 3 + TABLE_MEM_CHUNK_PAGES);
        ck_assert_int_eq(table_mem_alloc_page(m, &virt[0], &again, &err), 0);
        ck_assert_uint_eq(again, 0x40000000 + 3 * 4096);
        table_mem_free_page(m, again);
        /* freed by a page that does not start it: nothing */
        table_mem_free_chunk(m, chunk_phys + 4096);
        table_mem_free_chunk(m, phys[0]);
        ck_assert_uint_eq(table_mem_pages_used(m), 3 + TABLE_MEM_CHUNK_PAGES);
        /* freed, then handed out again, zeroed */
        table_mem_free_chunk(m, chunk_phys);
        ck_assert_uint_eq(table_mem_pages_used(m), 3);
        ck_assert_int_eq(table_mem_alloc_chunk(m, &again_virt, &again, &err), 0);
        ck_assert_uint_eq(again, chunk_phys);
        ck_assert_uint_eq(table_mem_chunks(m), 2);
        ck_assert_ptr_eq(again_virt, chunk_virt);
        for (uint64_t off = 0; off < TABLE_MEM_CHUNK; off++)
                wrong += *((uint8_t *) table_mem_virt(m, chunk_phys + off)) != 0;
        ck_assert_uint_eq(wrong, 0);

        /* locked memory is 4 KiB pages wherever the kernel put them */
        ck_assert_int_eq(table_mem_open_locked(&locked, &err), 0);
        ck_assert_int_eq(table_mem_alloc_chunk(locked, &chunk_virt, &chunk_phys, &err), -EOPNOTSUPP);
        ck_assert_msg(strstr(err.message, "hugetlbfs"), "%s", err.message);
}
END_TEST

START_TEST(locked_frames) {
        _cleanup_(table_mem_freep) table_mem *m = NULL;
        iommu_error err = {};
        uint64_t phys[3], self;
        void *virt[3];
        int r;

        if (geteuid() != 0) {
                printf("# locked memory: not root, pagemap shows no frames\n");
                return;
        }
        ck_assert_int_eq(table_mem_open_locked(&m, &err), 0);
        r = table_mem_alloc_page(m, &virt[0], &phys[0], &err);
        if (r == -EPERM || r == -ENOMEM) {
                printf("# locked memory: %s\n", err.message);
                return;
        }
        ck_assert_msg(r == 0, "%s", err.message);
        for (int i = 1; i < 3; i++)
                ck_assert_int_eq(table_mem_alloc_page(m, &virt[i], &phys[i], &err), 0);
        /* frames of our own pages, each distinct, and pagemap agrees */
        ck_assert(phys[0] != phys[1] && phys[1] != phys[2] && phys[0] != phys[2]);
        for (int i = 0; i < 3; i++) {
                ck_assert_uint_eq(phys[i] % 4096, 0);
                ck_assert_int_eq(pagemap_phys(virt[i], 1, &self, &err), 0);
                ck_assert_uint_eq(self, phys[i]);
                ck_assert_ptr_eq(table_mem_virt(m, phys[i]), virt[i]);
        }
        ck_assert_int_eq(pagemap_phys((uint8_t *) virt[0] + 1, 1, &self, &err), -EINVAL);
}
END_TEST

/* A hugetlbfs mount with a free 2 MiB page, from /proc/mounts; NULL when
 * this machine has none (nothing here changes vm.nr_hugepages). */
static char *hugetlbfs_dir(void) {
        FILE *f = fopen("/proc/mounts", "re");
        char dev[256], dir[512], type[64];
        char *found = NULL;

        while (f && !found && fscanf(f, "%255s %511s %63s %*[^\n]", dev, dir, type) == 3)
                if (streq(type, "hugetlbfs") && access(dir, W_OK) == 0)
                        found = strdup(dir);
        if (f)
                fclose(f);
        return found;
}

START_TEST(hugetlbfs_file) {
        _cleanup_free_ char *dir = hugetlbfs_dir(), *path = NULL;
        _cleanup_(table_mem_freep) table_mem *m = NULL;
        iommu_error err = {};
        uint64_t phys, chunk, self;
        void *virt;
        int r;

        /* not on hugetlbfs: refused by name */
        ck_assert_int_eq(table_mem_open_hugetlbfs("/tmp/iommud-test-tablemem", &m, &err), -EINVAL);
        ck_assert_msg(strstr(err.message, "is not on hugetlbfs"), "%s", err.message);
        (void) unlink("/tmp/iommud-test-tablemem");
        if (!dir) {
                printf("# hugetlbfs: none mounted here\n");
                return;
        }
        ck_assert_int_ge(asprintf(&path, "%s/iommud-test-%d", dir, (int) getpid()), 0);
        ck_assert_int_eq(table_mem_open_hugetlbfs(path, &m, &err), 0);
        table_mem_remove(m);
        r = table_mem_alloc_page(m, &virt, &phys, &err);
        if (r == -ENOMEM || r == -EPERM) {
                printf("# hugetlbfs: %s\n", err.message);
                return;
        }
        ck_assert_msg(r == 0, "%s", err.message);
        ck_assert_uint_eq(phys % TABLE_MEM_CHUNK, 0); /* the first page of a huge page */
        ck_assert_ptr_eq(table_mem_virt(m, phys + 4096 * 511), (uint8_t *) virt + 4096 * 511);
        /* a whole chunk: another huge page, if there is one free */
        r = table_mem_alloc_chunk(m, &virt, &chunk, &err);
        if (r == -ENOMEM) {
                printf("# hugetlbfs: %s\n", err.message);
                return;
        }
        ck_assert_msg(r == 0, "%s", err.message);
        ck_assert_uint_eq(chunk % TABLE_MEM_CHUNK, 0);
        ck_assert(chunk != phys);
        ck_assert_int_eq(pagemap_phys((uint8_t *) virt + 4096 * 300, 1, &self, &err), 0);
        ck_assert_uint_eq(self, chunk + 4096 * 300);
}
END_TEST

/* Taking back the tables in a file an earlier run left: the same frames,
 * the bytes as they were, every page free until claimed. */
START_TEST(hugetlbfs_reopen) {
        _cleanup_free_ char *dir = hugetlbfs_dir(), *path = NULL;
        table_mem *m = NULL, *m2 = NULL;
        iommu_error err = {};
        uint64_t phys;
        void *virt;
        int r;

        ck_assert_int_eq(table_mem_reopen_hugetlbfs("/tmp/iommud-test-no-such-file", &m, &err), -ENOENT);
        ck_assert_msg(strstr(err.message, "/tmp/iommud-test-no-such-file"), "%s", err.message);
        ck_assert_int_eq(table_mem_reopen_hugetlbfs("/proc/self/status", &m, &err), -EINVAL);
        ck_assert_msg(strstr(err.message, "is not on hugetlbfs"), "%s", err.message);
        if (!dir) {
                printf("# hugetlbfs: none mounted here\n");
                return;
        }
        ck_assert_int_ge(asprintf(&path, "%s/iommud-test-reopen-%d", dir, (int) getpid()), 0);
        ck_assert_int_eq(table_mem_open_hugetlbfs(path, &m, &err), 0);
        r = table_mem_alloc_page(m, &virt, &phys, &err);
        if (r == -ENOMEM || r == -EPERM) {
                printf("# hugetlbfs: %s\n", err.message);
                table_mem_remove(m);
                table_mem_free(m);
                return;
        }
        ck_assert_msg(r == 0, "%s", err.message);
        memset(virt, 0x5a, 4096);
        table_mem_free(m); /* the file and its page stay */

        ck_assert_msg(table_mem_reopen_hugetlbfs(path, &m2, &err) == 0, "%s", err.message);
        table_mem_remove(m2);
        ck_assert_uint_eq(table_mem_chunks(m2), 1);
        ck_assert_uint_eq(table_mem_pages_used(m2), 0);
        ck_assert_ptr_nonnull(table_mem_virt(m2, phys));
        ck_assert_int_eq(*(uint8_t *) table_mem_virt(m2, phys), 0x5a);
        ck_assert_int_eq(table_mem_claim_page(m2, phys, &err), 0);
        ck_assert_int_eq(table_mem_claim_page(m2, phys, &err), -EEXIST);
        ck_assert_uint_eq(table_mem_pages_used(m2), 1);
        table_mem_free(m2);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("tablemem");
        TCase *tc = tcase_create("tablemem");

        tcase_add_test(tc, image_pages);
        tcase_add_test(tc, image_chunks);
        tcase_add_test(tc, locked_frames);
        tcase_add_test(tc, hugetlbfs_file);
        tcase_add_test(tc, hugetlbfs_reopen);
        suite_add_tcase(s, tc);
        return s;
}
