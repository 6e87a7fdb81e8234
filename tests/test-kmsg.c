/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fault lines as the guest kernel printed them (QEMU VT-d, Linux 6.1, an
 * edu DMA write to an unmapped IOVA), and the forms other kernels use. */
#include <errno.h>
#include <string.h>

#include "check-main.h"
#include "decode/kmsg.h"

static int parse(const char *s, kmsg_fault *f) {
        return kmsg_parse_fault(s, strlen(s), f);
}

START_TEST(linux61_write_fault) {
        kmsg_fault f;
        /* exactly what /dev/kmsg gave in the guest */
        ck_assert_int_eq(
                parse("3,542,2931328,-;DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr "
                      "0x2000000 [fault reason 0x05] PTE Write access is not set\n",
                      &f),
                0);
        ck_assert_uint_eq(f.seq, 542);
        ck_assert_uint_eq(f.usec, 2931328);
        ck_assert_uint_eq(f.bus, 0);
        ck_assert_uint_eq(f.devfn, 0x18);
        ck_assert(f.write);
        ck_assert(!f.interrupt);
        ck_assert_int_eq(f.pasid, -1);
        ck_assert_uint_eq(f.address, 0x2000000);
        ck_assert_uint_eq(f.reason, 5);
}
END_TEST

START_TEST(other_forms) {
        kmsg_fault f;

        ck_assert_int_eq(
                parse("3,1,5,-;DMAR: [DMA Read PASID 0x1f] Request device [3a:1f.7] fault addr 0xdead000 "
                      "[fault reason 0x06] PTE Read access is not set",
                      &f),
                0);
        ck_assert(!f.write);
        ck_assert_int_eq(f.pasid, 0x1f);
        ck_assert_uint_eq(f.bus, 0x3a);
        ck_assert_uint_eq(f.devfn, 0x1f << 3 | 7);
        ck_assert_int_eq(parse("3,2,6,-;DMAR: [DMA Read] Request device [00:02.0] fault addr fff00000 "
                               "[fault reason 06] PTE Read access is not set",
                               &f),
                         0);
        ck_assert_uint_eq(f.address, 0xfff00000);
        ck_assert_int_eq(parse("3,3,7,-;DMAR: [INTR-REMAP] Request device [f0:1f.0] fault index 0x2a "
                               "[fault reason 0x25] Blocked a compatibility format interrupt request",
                               &f),
                         0);
        ck_assert(f.interrupt);
        ck_assert_uint_eq(f.address, 0x2a);
        ck_assert_uint_eq(f.reason, 0x25);
}
END_TEST

START_TEST(not_faults) {
        kmsg_fault f = { .seq = 99 };

        ck_assert_int_eq(parse("6,10,100,-;DMAR: DRHD: handling fault status reg 2", &f), -ENOMSG);
        ck_assert_int_eq(parse("6,11,100,-;DMAR: IOMMU enabled", &f), -ENOMSG);
        ck_assert_int_eq(parse("6,12,100,-;pci 0000:00:03.0: [1234:11e8] type 00", &f), -ENOMSG);
        ck_assert_int_eq(parse("3,13,1,-;DMAR: [DMA Write NO_PASID] Request device [00:33.0] fault addr 0x0 "
                               "[fault reason 0x05] x",
                               &f),
                         -ENOMSG); /* device 0x33 > 0x1f */
        ck_assert_int_eq(parse("garbage without a header", &f), -EBADMSG);
        ck_assert_int_eq(parse("", &f), -EBADMSG);
        ck_assert_uint_eq(f.seq, 99); /* untouched */
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("kmsg");
        TCase *tc = tcase_create("faults");

        tcase_add_test(tc, linux61_write_fault);
        tcase_add_test(tc, other_forms);
        tcase_add_test(tc, not_faults);
        suite_add_tcase(s, tc);
        return s;
}
