/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control state file (control/state.h): the bytes it is (header with
 * a CRC-32 checked against zlib's value for the same body, worked out
 * outside this code), read back whole, and refused whole with one line
 * when cut anywhere, changed anywhere, of another version, or breaking
 * any rule of the body; saved by rename, the old file intact when the
 * save fails.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "check-main.h"
#include "control/state.h"

static const char empty_file[] = "iommud-control-state 1 13 409bb76c\n{\"units\":[]}\n";

static const char good_body[] =
        "{\"units\":[{\"name\":\"dmar0\",\"address\":4275634176,\"segment\":0,\"mode\":\"legacy\","
        "\"default_policy\":\"passthrough\",\"invalidation\":\"queued\","
        "\"table_memory\":{\"kind\":\"hugetlbfs\",\"path\":\"/dev/hugepages/iommud/dmar0\"},"
        "\"root_table\":115343360,"
        "\"domains\":[{\"domain\":1,\"type\":\"passthrough\",\"address_width\":null,\"default\":true,"
        "\"mappings\":[]},"
        "{\"domain\":5,\"type\":\"paging\",\"address_width\":48,\"default\":false,\"mappings\":["
        "{\"iova\":1048576,\"phys\":805306368,\"length\":8192,\"read\":true,\"write\":true},"
        "{\"iova\":3145728,\"phys\":805314560,\"length\":4096,\"read\":true,\"write\":false}]}],"
        "\"devices\":[{\"bdf\":\"0000:00:03.0\",\"domain\":5}],"
        "\"buffers\":[{\"path\":\"/dev/hugepages/iommud/buffer-dmar0-5-0x100000-abcdef\",\"domain\":5,"
        "\"iova\":1048576,\"length\":8192,\"phys\":805306368}]}]}";

static json_object *good(void) {
        json_object *o = json_tokener_parse(good_body);
        ck_assert_ptr_nonnull(o);
        return o;
}

static void format(json_object *o, char **data, size_t *size) {
        iommu_error err = {};
        ck_assert_msg(control_state_format(o, data, size, &err) == 0, "%s", err.message);
}

START_TEST(bytes_and_crc) {
        json_object *o = json_tokener_parse("{\"units\":[]}"), *back = NULL;
        iommu_error err = {};
        char *data = NULL;
        size_t size = 0;

        format(o, &data, &size);
        ck_assert_uint_eq(size, sizeof empty_file - 1);
        ck_assert_mem_eq(data, empty_file, size);
        ck_assert_int_eq(control_state_parse(empty_file, sizeof empty_file - 1, &back, &err), 0);
        ck_assert(json_object_equal(o, back));
        free(data);
        json_object_put(o);
        json_object_put(back);
}
END_TEST

START_TEST(round_trip) {
        json_object *o = good(), *back = NULL;
        iommu_error err = {};
        char *data = NULL;
        size_t size = 0;

        format(o, &data, &size);
        ck_assert_int_eq(control_state_parse(data, size, &back, &err), 0);
        ck_assert(json_object_equal(o, back));
        free(data);
        json_object_put(o);
        json_object_put(back);
}
END_TEST

/* one line: no newline in the message, and it says something */
static void refused_line(const iommu_error *err) {
        ck_assert_uint_gt(strlen(err->message), 10);
        ck_assert_ptr_null(strchr(err->message, '\n'));
}

START_TEST(cut_anywhere) {
        json_object *o = good(), *back = NULL;
        char *data = NULL;
        size_t size = 0;

        format(o, &data, &size);
        for (size_t n = 0; n < size; n++) {
                iommu_error err = {};
                ck_assert_msg(control_state_parse(data, n, &back, &err) < 0, "a file cut at %zu was read",
                              n);
                refused_line(&err);
                ck_assert_ptr_null(back);
        }
        free(data);
        json_object_put(o);
}
END_TEST

START_TEST(changed_anywhere) {
        json_object *o = good(), *back = NULL;
        char *data = NULL;
        size_t size = 0;

        format(o, &data, &size);
        for (size_t i = 0; i < size; i++)
                for (unsigned bit = 0; bit < 8; bit += 3) {
                        iommu_error err = {};
                        data[i] ^= (char) (1 << bit);
                        ck_assert_msg(control_state_parse(data, size, &back, &err) < 0,
                                      "a file with byte %zu changed was read", i);
                        refused_line(&err);
                        data[i] ^= (char) (1 << bit);
                }
        free(data);
        json_object_put(o);
}
END_TEST

START_TEST(other_version) {
        static const char v2[] = "iommud-control-state 2 13 409bb76c\n{\"units\":[]}\n";
        static const char other[] = "iommud-snapshot 1 13 409bb76c\n{\"units\":[]}\n";
        json_object *back = NULL;
        iommu_error err = {};

        ck_assert_int_eq(control_state_parse(v2, sizeof v2 - 1, &back, &err), -EPROTONOSUPPORT);
        ck_assert_str_eq(err.message, "it is of format version 2; this iommud reads version 1");
        ck_assert_int_eq(control_state_parse(other, sizeof other - 1, &back, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "is no iommud control state"));
}
END_TEST

/* CRC-32 bit by bit (the reflected polynomial 0xedb88320, as zlib): an
 * implementation apart from the library's table-driven one */
static unsigned long crc32_bitwise(const char *p, size_t n) {
        unsigned long crc = 0xffffffffUL;

        for (size_t i = 0; i < n; i++) {
                crc ^= (unsigned char) p[i];
                for (int k = 0; k < 8; k++)
                        crc = (crc >> 1) ^ (0xedb88320UL & (0UL - (crc & 1)));
        }
        return crc ^ 0xffffffffUL;
}

/* A body that breaks one rule, in a file whose header and CRC are right:
 * refused, and the refusal names the place. */
static void body_refused(const char *from, const char *to, const char *says) {
        char body[4096], file[4200], *p, *data = NULL;
        json_object *o, *back = NULL;
        iommu_error err = {};
        size_t size = 0;
        int n;

        snprintf(body, sizeof body, "%s", good_body);
        p = strstr(body, from);
        ck_assert_msg(p, "%s is not in the body", from);
        memmove(p + strlen(to), p + strlen(from), strlen(p + strlen(from)) + 1);
        memcpy(p, to, strlen(to));
        o = json_tokener_parse(body);
        ck_assert_msg(o, "%s", body);
        /* never written either */
        ck_assert_int_lt(control_state_format(o, &data, &size, &err), 0);
        json_object_put(o);

        strcat(body, "\n");
        n = snprintf(file, sizeof file, "iommud-control-state 1 %zu %08lx\n%s", strlen(body),
                     crc32_bitwise(body, strlen(body)), body);
        ck_assert_int_eq(control_state_parse(file, (size_t) n, &back, &err), -EINVAL);
        ck_assert_msg(strstr(err.message, says), "\"%s\" does not say \"%s\"", err.message, says);
        refused_line(&err);
        ck_assert_ptr_null(back);
}

START_TEST(body_rules) {
        body_refused("\"segment\":0,", "", "unit 0 has no \"segment\"");
        body_refused("\"segment\":0", "\"segment\":-1", "unit 0: \"segment\" is negative");
        body_refused("\"segment\":0", "\"segment\":65536", "unit 0: \"segment\" is above 65535");
        body_refused("\"mode\":\"legacy\"", "\"mode\":\"nested\"", "unit dmar0: mode \"nested\"");
        body_refused("\"root_table\":115343360", "\"root_table\":115343361",
                     "root table is not 4 KiB aligned");
        body_refused("\"root_table\":115343360", "\"root_table\":\"0x6e00000\"",
                     "\"root_table\" is not int");
        body_refused("\"address_width\":48,", "\"address_width\":48,\"extra\":1,",
                     "domain 1 has an unknown member \"extra\"");
        body_refused("\"length\":8192,\"read\"", "\"length\":8000,\"read\"", "are not 4 KiB multiples");
        body_refused("\"iova\":3145728", "\"iova\":1052672", "mapping 1 overlaps the one before");
        body_refused("\"domain\":5,\"type\"", "\"domain\":1,\"type\"", "domain 1 appears twice");
        body_refused("\"bdf\":\"0000:00:03.0\"", "\"bdf\":\"00:03.9\"", "\"00:03.9\" is no PCI address");
        body_refused("\"path\":\"/dev/hugepages/iommud/buffer", "\"path\":\"dev/hugepages/iommud/buffer",
                     "its path is not absolute");
        body_refused("{\"units\":[{", "{\"units\":[{\"name\":\"dmar1\"},{", "unit 0 has no \"address\"");
        body_refused("\"default\":false,", "\"default\":false,\"page_table\":115347457,",
                     "domain 1: its page table is not 4 KiB aligned");
        body_refused("\"default\":false,", "\"default\":false,\"page_table\":\"0x6e01000\",",
                     "\"page_table\" is not int");
}
END_TEST

/* A domain's page table: an address or null, or left out (files written
 * before it), and read back as it was. */
START_TEST(page_table_member) {
        static const struct {
                const char *from, *to;
        } cases[] = {
                { "\"default\":false,", "\"default\":false,\"page_table\":115347456," },
                { "\"default\":true,", "\"default\":true,\"page_table\":null," },
                { "\"default\":false,", "\"default\":false," },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char body[4096], *p, *data = NULL;
                json_object *o, *back = NULL, *d;
                iommu_error err = {};
                size_t size = 0;

                snprintf(body, sizeof body, "%s", good_body);
                p = strstr(body, cases[i].from);
                memmove(p + strlen(cases[i].to), p + strlen(cases[i].from),
                        strlen(p + strlen(cases[i].from)) + 1);
                memcpy(p, cases[i].to, strlen(cases[i].to));
                o = json_tokener_parse(body);
                ck_assert_ptr_nonnull(o);
                ck_assert_msg(control_state_format(o, &data, &size, &err) == 0, "%s", err.message);
                ck_assert_msg(control_state_parse(data, size, &back, &err) == 0, "%s", err.message);
                d = json_object_array_get_idx(
                        json_get_array(json_object_array_get_idx(json_get_array(back, "units"), 0),
                                       "domains"),
                        i == 1 ? 0 : 1);
                if (i == 0)
                        ck_assert_uint_eq(json_get_u64(d, "page_table"), 115347456);
                else
                        ck_assert(json_is_null(d, "page_table"));
                json_object_put(o);
                json_object_put(back);
                free(data);
        }
}
END_TEST

START_TEST(saved_by_rename) {
        char dir[] = "/tmp/test-control-state.XXXXXX", path[64], tmp[80];
        json_object *o = good(), *back = NULL, *empty = json_tokener_parse("{\"units\":[]}");
        iommu_error err = {};
        struct stat st;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/control.state", dir);
        snprintf(tmp, sizeof tmp, "%s.new", path);
        ck_assert_int_eq(control_state_load(path, &back, &err), -ENOENT);
        ck_assert_int_eq(control_state_save(path, empty, &err), 0);
        ck_assert_int_eq(control_state_save(path, o, &err), 0);
        ck_assert_int_eq(stat(tmp, &st), -1);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 0777, 0600);
        ck_assert_int_eq(control_state_load(path, &back, &err), 0);
        ck_assert(json_object_equal(o, back));
        json_object_put(back);
        back = NULL;

        /* a state that breaks a rule is never written */
        json_object_object_add(o, "extra", json_object_new_int(1));
        ck_assert_int_eq(control_state_save(path, o, &err), -EINVAL);
        /* the temporary file cannot be made: the old state stays */
        ck_assert_int_eq(mkdir(tmp, 0700), 0);
        ck_assert_int_lt(control_state_save(path, empty, &err), 0);
        refused_line(&err);
        ck_assert_int_eq(control_state_load(path, &back, &err), 0);
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(back, "units")), 1);
        json_object_put(back);
        ck_assert_int_eq(rmdir(tmp), 0);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(rmdir(dir), 0);
        json_object_put(o);
        json_object_put(empty);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("control-state");
        TCase *tc = tcase_create("control-state");

        tcase_add_test(tc, bytes_and_crc);
        tcase_add_test(tc, round_trip);
        tcase_add_test(tc, cut_anywhere);
        tcase_add_test(tc, changed_anywhere);
        tcase_add_test(tc, other_version);
        tcase_add_test(tc, body_rules);
        tcase_add_test(tc, page_table_member);
        tcase_add_test(tc, saved_by_rename);
        suite_add_tcase(s, tc);
        return s;
}
