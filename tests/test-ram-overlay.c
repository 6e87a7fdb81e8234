/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The RAM iommud reads the tables of the units it owns through
 * (access.h): an overlay of views (table memory) over the machine's RAM,
 * and pages of a caller's own memory put into an in-memory image (the
 * --alloc buffers of a simulated machine).  Checked against bytes written
 * here, page by page.
 */
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "access/tablemem.h"
#include "check-main.h"

static void *page_of(uint8_t fill) {
        void *p = aligned_alloc(VTD_PAGE_SIZE, VTD_PAGE_SIZE);

        ck_assert_ptr_nonnull(p);
        memset(p, fill, VTD_PAGE_SIZE);
        return p;
}

static uint8_t byte_at(iommu_ram *ram, uint64_t paddr) {
        uint8_t b = 0xee;
        iommu_error err = {};

        ck_assert_msg(iommu_ram_read(ram, paddr, &b, 1, &err) == 0, "0x%llx: %s", (unsigned long long) paddr,
                      err.message);
        return b;
}

START_TEST(image_attach_detach) {
        _cleanup_(iommu_ram_freep) iommu_ram *image = NULL;
        _cleanup_free_ void *mine = page_of(0x5a), *other = page_of(0x11);
        uint8_t *own;

        ck_assert_int_eq(iommu_ram_new_image(&image), 0);
        ck_assert_int_eq(iommu_ram_image_add_range(image, 0, 0xfffff), 0);
        own = iommu_ram_image_page(image, 0x3000);
        ck_assert_ptr_nonnull(own);
        memset(own, 0x77, VTD_PAGE_SIZE);

        /* a page of the caller's replaces the image's own */
        ck_assert_int_eq(iommu_ram_image_attach_page(image, 0x3000, mine), 0);
        ck_assert_uint_eq(byte_at(image, 0x3000), 0x5a);
        ck_assert_ptr_eq(iommu_ram_image_page(image, 0x3000), mine);
        ((uint8_t *) mine)[0x123] = 0x42;
        ck_assert_uint_eq(byte_at(image, 0x3123), 0x42);
        /* and outside the declared RAM it declares its page */
        ck_assert_int_eq(iommu_ram_image_attach_page(image, 0x200000, other), 0);
        ck_assert(iommu_ram_contains(image, 0x200000, VTD_PAGE_SIZE));
        ck_assert_uint_eq(byte_at(image, 0x200fff), 0x11);

        ck_assert_int_eq(iommu_ram_image_attach_page(image, 0x3000, other), -EBUSY);
        ck_assert_int_eq(iommu_ram_image_attach_page(image, 0x3800, other), -EINVAL);
        ck_assert_int_eq(iommu_ram_image_attach_page(image, 0x4000, (uint8_t *) other + 8), -EINVAL);

        /* gone again: zeros, the range still RAM; the caller's page untouched */
        iommu_ram_image_detach_page(image, 0x3000);
        ck_assert_uint_eq(byte_at(image, 0x3123), 0);
        ck_assert(iommu_ram_contains(image, 0x3000, VTD_PAGE_SIZE));
        ck_assert_uint_eq(((uint8_t *) mine)[0x123], 0x42);
        /* detaching an own page does nothing */
        own = iommu_ram_image_page(image, 0x5000);
        own[0] = 9;
        iommu_ram_image_detach_page(image, 0x5000);
        ck_assert_uint_eq(byte_at(image, 0x5000), 9);
        /* freeing the image (the cleanup) leaves "other" to its owner (ASan) */
}
END_TEST

START_TEST(overlay_layers) {
        _cleanup_(iommu_ram_freep) iommu_ram *base = NULL, *view = NULL, *ov = NULL, *alone = NULL;
        iommu_ram *views[1];
        uint8_t buf[0x2000];
        iommu_error err = {};

        ck_assert_int_eq(iommu_ram_new_image(&base), 0);
        ck_assert_int_eq(iommu_ram_image_add_range(base, 0, 0x3fffff), 0);
        memset(iommu_ram_image_page(base, 0x1000), 0xb0, VTD_PAGE_SIZE);
        memset(iommu_ram_image_page(base, 0x2000), 0xb1, VTD_PAGE_SIZE);
        ck_assert_int_eq(iommu_ram_new_image(&view), 0);
        memset(iommu_ram_image_page(view, 0x1000), 0xf0, VTD_PAGE_SIZE);
        memset(iommu_ram_image_page(view, 0x500000), 0xf5, VTD_PAGE_SIZE);
        views[0] = view;

        ck_assert_int_eq(iommu_ram_new_overlay(base, views, 1, &ov), 0);
        /* the view's page wins; the rest is the base's */
        ck_assert_uint_eq(byte_at(ov, 0x1000), 0xf0);
        ck_assert_uint_eq(byte_at(ov, 0x2fff), 0xb1);
        ck_assert_uint_eq(byte_at(ov, 0x3000), 0);
        /* ranges: the union, merged */
        ck_assert_uint_eq(ov->n_ranges, 2);
        ck_assert_uint_eq(ov->ranges[0].start, 0);
        ck_assert_uint_eq(ov->ranges[0].end, 0x3fffff);
        ck_assert_uint_eq(ov->ranges[1].start, 0x500000);
        ck_assert_uint_eq(ov->ranges[1].end, 0x500fff);
        ck_assert_uint_eq(byte_at(ov, 0x500800), 0xf5);
        ck_assert_int_eq(iommu_ram_read(ov, 0x600000, buf, 1, &err), -ERANGE);
        /* a read across the layers is assembled page by page */
        ck_assert_int_eq(iommu_ram_read(ov, 0x1800, buf, 0x1000, &err), 0);
        ck_assert_uint_eq(buf[0], 0xf0);
        ck_assert_uint_eq(buf[0x7ff], 0xf0);
        ck_assert_uint_eq(buf[0x800], 0xb1);
        /* peek gives each layer's own memory */
        ck_assert_ptr_eq(iommu_ram_page(ov, 0x1000, NULL, NULL), iommu_ram_image_page(view, 0x1000));
        ck_assert_ptr_eq(iommu_ram_page(ov, 0x2000, NULL, NULL), iommu_ram_image_page(base, 0x2000));

        /* a view that grows is seen after an update */
        memset(iommu_ram_image_page(view, 0x700000), 0xf7, VTD_PAGE_SIZE);
        ck_assert(!iommu_ram_contains(ov, 0x700000, 1));
        ck_assert_int_eq(iommu_ram_overlay_update(ov), 0);
        ck_assert_uint_eq(byte_at(ov, 0x700000), 0xf7);
        ck_assert_int_eq(iommu_ram_overlay_update(base), -EINVAL);

        /* without a base (RAM unreadable): only the views */
        ck_assert_int_eq(iommu_ram_new_overlay(NULL, views, 1, &alone), 0);
        ck_assert_uint_eq(byte_at(alone, 0x1000), 0xf0);
        ck_assert_int_eq(iommu_ram_read(alone, 0x2000, buf, 1, &err), -ERANGE);
}
END_TEST

START_TEST(overlay_of_table_memory) {
        _cleanup_(iommu_ram_freep) iommu_ram *base = NULL, *image = NULL, *view = NULL, *ov = NULL;
        _cleanup_(table_mem_freep) table_mem *mem = NULL;
        iommu_error err = {};
        void *virt;
        uint64_t phys, phys2;

        ck_assert_int_eq(iommu_ram_new_image(&base), 0);
        ck_assert_int_eq(iommu_ram_image_add_range(base, 0, 0x3fffffff), 0);
        ck_assert_int_eq(iommu_ram_new_image(&image), 0);
        ck_assert_int_eq(table_mem_open_image(image, 0x80000000, &mem, &err), 0);
        ck_assert_int_eq(table_mem_ram(mem, &view), 0);
        ck_assert_int_eq(iommu_ram_new_overlay(base, &view, 1, &ov), 0);
        ck_assert(!iommu_ram_contains(ov, 0x80000000, 1));

        ck_assert_int_eq(table_mem_alloc_page(mem, &virt, &phys, &err), 0);
        memset(virt, 0x3c, VTD_PAGE_SIZE);
        ck_assert_int_eq(iommu_ram_overlay_update(ov), 0);
        ck_assert_uint_eq(byte_at(ov, phys + 17), 0x3c);
        ck_assert_uint_eq(byte_at(ov, 0x1000), 0);
        /* the chunk's other pages are table memory too (zeros until used) */
        ck_assert_int_eq(table_mem_alloc_page(mem, &virt, &phys2, &err), 0);
        memset(virt, 0x3d, VTD_PAGE_SIZE);
        ck_assert_uint_eq(byte_at(ov, phys2), 0x3d);
        ck_assert_uint_eq(byte_at(ov, phys), 0x3c);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("ram-overlay");
        TCase *tc = tcase_create("overlay");

        tcase_add_test(tc, image_attach_detach);
        tcase_add_test(tc, overlay_layers);
        tcase_add_test(tc, overlay_of_table_memory);
        suite_add_tcase(s, tc);
        return s;
}
