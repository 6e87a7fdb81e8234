/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The DMAR parser on tables built by hand: every refusal with its exact
 * message, every warning, the structure types iasl 20200925 cannot show
 * (SATC, SIDP), the JSON model's names and values, and a fuzz loop. */
#include <string.h>

#include "basic/fileio.h"
#include "check-main.h"
#include "decode/dmar.h"

/* dmar_parse must leave *ret alone on failure: start from this and see. */
static dmar_table sentinel_table;
#define SENTINEL (&sentinel_table)

/* A header: "DMAR", length and checksum filled in by build(). */
static const uint8_t header[DMAR_HEADER_SIZE] = {
        'D',  'M',  'A',  'R',  0,   0,   0,   0, /* length */
        1,    0,                                  /* revision, checksum */
        'I',  'O',  'M',  'M',  'U', 'D',         /* OEM ID */
        'T',  'E',  'S',  'T',  'T', 'B', 'L', 0, /* OEM table ID */
        0x78, 0x56, 0x34, 0x12,                   /* OEM revision */
        'C',  'H',  'K',  0,                      /* creator ID */
        0x01, 0x00, 0x15, 0x20,                   /* creator revision */
        0x26, 0x01,                               /* HAW 39 bits, INTR_REMAP */
};

static void fix_checksum(uint8_t *t, size_t n) {
        uint8_t sum = 0;
        t[9] = 0;
        for (size_t i = 0; i < n; i++)
                sum = (uint8_t) (sum + t[i]);
        t[9] = (uint8_t) -sum;
}

/* header + body in a buffer of exactly that size (so ASan sees any read
 * past it), revision set, length and checksum right. */
static uint8_t *build(uint8_t revision, const uint8_t *body, size_t n, size_t *ret_size) {
        size_t size = DMAR_HEADER_SIZE + n;
        uint8_t *t = malloc(size);

        ck_assert_ptr_nonnull(t);
        memcpy(t, header, DMAR_HEADER_SIZE);
        if (n > 0)
                memcpy(t + DMAR_HEADER_SIZE, body, n);
        t[4] = (uint8_t) size;
        t[5] = (uint8_t) (size >> 8);
        t[8] = revision;
        fix_checksum(t, size);
        *ret_size = size;
        return t;
}

static void expect_error(const void *data, size_t size, int error, const char *message) {
        dmar_table *t = SENTINEL;
        iommu_error err = {};
        int r = dmar_parse(data, size, &t, &err);

        ck_assert_int_eq(r, -error);
        ck_assert_ptr_eq(t, SENTINEL);
        ck_assert_int_eq(err.error, error);
        ck_assert_str_eq(err.message, message);
}

static void expect_body_error(const uint8_t *body, size_t n, const char *message) {
        size_t size;
        _cleanup_free_ uint8_t *t = build(1, body, n, &size);
        expect_error(t, size, EBADMSG, message);
}

static dmar_table *parse_ok(const void *data, size_t size) {
        dmar_table *t = SENTINEL;
        iommu_error err = {};
        int r = dmar_parse(data, size, &t, &err);

        ck_assert_msg(r == 0, "dmar_parse: %s", err.message);
        ck_assert_ptr_nonnull(t);
        ck_assert_ptr_ne(t, SENTINEL);
        return t;
}

static dmar_table *parse_body(uint8_t revision, const uint8_t *body, size_t n) {
        size_t size;
        _cleanup_free_ uint8_t *data = build(revision, body, n, &size);
        return parse_ok(data, size);
}

static void expect_warnings(const dmar_table *t, const char *const *want, size_t n) {
        for (size_t i = 0; i < n && i < t->n_warnings; i++)
                ck_assert_str_eq(t->warnings[i], want[i]);
        ck_assert_uint_eq(t->n_warnings, n);
}

/* ---- refusals ---- */

START_TEST(empty) {
        expect_error("", 0, EBADMSG, "DMAR table is empty");
        expect_error(NULL, 0, EBADMSG, "DMAR table is empty");
}
END_TEST

START_TEST(ten_bytes) {
        _cleanup_free_ uint8_t *t = malloc(10);
        memcpy(t, header, 10);
        expect_error(t, 10, EBADMSG, "DMAR table truncated at offset 0xa: the header needs 48 bytes");
}
END_TEST

START_TEST(forty_seven_bytes) {
        _cleanup_free_ uint8_t *t = malloc(47);
        memcpy(t, header, 47);
        expect_error(t, 47, EBADMSG, "DMAR table truncated at offset 0x2f: the header needs 48 bytes");
}
END_TEST

START_TEST(wrong_signature) {
        size_t size;
        _cleanup_free_ uint8_t *t = build(1, NULL, 0, &size);

        memcpy(t, "APIC", 4);
        expect_error(t, size, EBADMSG, "signature \"APIC\" at offset 0x0 is not \"DMAR\"");
        memcpy(t, "DM\0\xff", 4);
        expect_error(t, size, EBADMSG, "signature \"DM\\x00\\xff\" at offset 0x0 is not \"DMAR\"");
        memcpy(t, "dmar", 4);
        expect_error(t, size, EBADMSG, "signature \"dmar\" at offset 0x0 is not \"DMAR\"");
}
END_TEST

START_TEST(length_beyond_data) {
        static const uint8_t body[16] = { 0, 0, 16, 0 };
        size_t size;
        _cleanup_free_ uint8_t *t = build(1, body, sizeof body, &size);

        t[4] = 65;
        expect_error(t, size, EBADMSG, "header length 65 at offset 0x4 is larger than the 64 bytes given");
        t[4] = 0;
        t[7] = 0x80;
        expect_error(t, size, EBADMSG,
                     "header length 2147483648 at offset 0x4 is larger than the 64 bytes given");
}
END_TEST

START_TEST(length_beyond_limit) {
        size_t size = DMAR_MAX_SIZE + 16;
        _cleanup_free_ uint8_t *t = calloc(1, size);

        memcpy(t, header, DMAR_HEADER_SIZE);
        t[4] = 16;
        t[6] = 0x10; /* 0x100010 */
        expect_error(t, size, EFBIG, "header length 1048592 at offset 0x4 is beyond the 1048576-byte limit");
}
END_TEST

START_TEST(length_below_header) {
        size_t size;
        _cleanup_free_ uint8_t *t = build(1, NULL, 0, &size);

        t[4] = 40;
        expect_error(t, size, EBADMSG,
                     "header length 40 at offset 0x4 is less than the 48-byte DMAR header");
        t[4] = 0;
        expect_error(t, size, EBADMSG, "header length 0 at offset 0x4 is less than the 48-byte DMAR header");
}
END_TEST

START_TEST(structure_header_does_not_fit) {
        static const uint8_t body[] = { 0, 0 };
        expect_body_error(
                body, sizeof body,
                "structure header at offset 0x30 does not fit: 2 bytes left before the table's end at "
                "0x32, it needs 4");
}
END_TEST

START_TEST(structure_length_zero) {
        static const uint8_t body[16] = { 0, 0, 0, 0 };
        expect_body_error(body, sizeof body,
                          "DRHD at offset 0x30 has length 0, less than the 4-byte header");
}
END_TEST

START_TEST(structure_length_three) {
        static const uint8_t body[8] = { 1, 0, 3, 0 };
        expect_body_error(body, sizeof body,
                          "RMRR at offset 0x30 has length 3, less than the 4-byte header");

        static const uint8_t unknown[8] = { 0x42, 0, 3, 0 };
        expect_body_error(unknown, sizeof unknown,
                          "structure of type 66 at offset 0x30 has length 3, less than the 4-byte header");
}
END_TEST

START_TEST(structure_shorter_than_fixed_part) {
        static const uint8_t drhd[12] = { 0, 0, 12, 0 };
        static const uint8_t rmrr[20] = { 1, 0, 20, 0 };
        static const uint8_t rhsa[16] = { 3, 0, 16, 0 };
        static const uint8_t satc[4] = { 5, 0, 4, 0 };

        expect_body_error(drhd, sizeof drhd,
                          "DRHD at offset 0x30 has length 12, less than its fixed 16 bytes");
        expect_body_error(rmrr, sizeof rmrr,
                          "RMRR at offset 0x30 has length 20, less than its fixed 24 bytes");
        expect_body_error(rhsa, sizeof rhsa,
                          "RHSA at offset 0x30 has length 16, less than its fixed 20 bytes");
        expect_body_error(satc, sizeof satc,
                          "SATC at offset 0x30 has length 4, less than its fixed 8 bytes");
}
END_TEST

START_TEST(structure_overruns_table) {
        static const uint8_t body[16] = { 0, 0, 0x20, 0 };
        expect_body_error(
                body, sizeof body,
                "DRHD at offset 0x30 has length 32 and overruns the table: it would end at 0x50, the "
                "table ends at 0x40");

        /* the second structure is the one that overruns */
        static const uint8_t two[24] = { 2, 0, 8, 0, 0, 0, 0, 0, 3, 0, 20, 0 };
        expect_body_error(
                two, sizeof two,
                "RHSA at offset 0x38 has length 20 and overruns the table: it would end at 0x4c, the "
                "table ends at 0x48");
}
END_TEST

START_TEST(scope_too_short) {
        static const uint8_t body[] = {
                0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0xd9, 0xfe, 0, 0, 0, 0, /* DRHD */
                1, 4, 0,  0,                                           /* scope of length 4 */
        };
        expect_body_error(body, sizeof body, "device scope at offset 0x40 has length 4, less than 6");

        static const uint8_t zero[] = {
                2, 0, 10, 0, 0, 0, 0, 0, /* ATSR */
                2, 0,                    /* scope of length 0 */
        };
        expect_body_error(zero, sizeof zero, "device scope at offset 0x38 has length 0, less than 6");
}
END_TEST

START_TEST(scope_odd_length) {
        static const uint8_t body[] = {
                0, 0, 25, 0, 0, 0, 0, 0, 0, 0, 0xd9, 0xfe, 0, 0, 0, 0, /* DRHD */
                1, 9, 0,  0, 0, 0, 2, 0, 0,                            /* scope of length 9 */
        };
        expect_body_error(
                body, sizeof body,
                "device scope at offset 0x40 has length 9: its path of 3 bytes is not a whole number "
                "of 2-byte hops");
}
END_TEST

START_TEST(scope_overruns_structure) {
        static const uint8_t body[] = {
                0, 0,  24, 0, 0, 0, 0, 0, 0, 0, 0xd9, 0xfe, 0, 0, 0, 0,             /* DRHD of 24 bytes */
                1, 10, 0,  0, 0, 0, 2, 0,                                           /* scope says 10 */
                3, 0,  20, 0, 0, 0, 0, 0, 0, 0, 0xd9, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, /* RHSA */
        };
        expect_body_error(
                body, sizeof body,
                "device scope at offset 0x40 has length 10 and overruns the DRHD at offset 0x30: it "
                "would end at 0x4a, the structure ends at 0x48");

        static const uint8_t one_byte[] = {
                0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0xd9, 0xfe, 0, 0, 0, 0, /* DRHD of 17 bytes */
                1,                                                     /* one byte of a scope */
        };
        expect_body_error(
                one_byte, sizeof one_byte,
                "device scope at offset 0x40: only 1 byte left in the DRHD at offset 0x30, a device "
                "scope needs 6");
}
END_TEST

START_TEST(andd_name_not_terminated) {
        static const uint8_t body[] = { 4, 0, 12, 0, 0, 0, 0, 1, '\\', '_', 'S', 'B' };
        expect_body_error(body, sizeof body,
                          "ANDD at offset 0x30: object name at offset 0x38 is not NUL-terminated within the "
                          "structure's 12 bytes");

        static const uint8_t no_name[] = { 4, 0, 8, 0, 0, 0, 0, 1 };
        expect_body_error(no_name, sizeof no_name,
                          "ANDD at offset 0x30: object name at offset 0x38 is not NUL-terminated within the "
                          "structure's 8 bytes");
}
END_TEST

START_TEST(bad_arguments) {
        size_t size;
        _cleanup_free_ uint8_t *t = build(1, NULL, 0, &size);
        iommu_error err = {};

        ck_assert_int_eq(dmar_parse(t, size, NULL, &err), -EINVAL);
        ck_assert_int_eq(err.error, EINVAL);
        /* without an error to fill in, still just the return code */
        ck_assert_int_eq(dmar_parse(t, 10, NULL, NULL), -EINVAL);
        dmar_table *r = SENTINEL;
        ck_assert_int_eq(dmar_parse(t, 10, &r, NULL), -EBADMSG);
        ck_assert_ptr_eq(r, SENTINEL);
}
END_TEST

/* ---- warnings: the table still parses ---- */

START_TEST(bad_checksum_is_a_warning) {
        static const uint8_t body[16] = { 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0xd9, 0xfe };
        size_t size;
        _cleanup_free_ uint8_t *data = build(1, body, sizeof body, &size);
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;

        ck_assert_uint_eq(data[9], 0x7f); /* the header above, worked out by hand */
        data[9] = 0x82;
        t = parse_ok(data, size);
        ck_assert(!t->checksum_valid);
        ck_assert_uint_eq(t->checksum, 0x82);
        ck_assert_uint_eq(t->n_structures, 1);
        ck_assert_uint_eq(t->structures[0].address, 0xfed90000);
        expect_warnings(
                t,
                (const char *const[]){ "checksum 0x82 is wrong, bytes sum to 0x03 (the checksum should "
                                       "be 0x7f)" },
                1);

        t = dmar_table_free(t);
        data[9] = 0x7f;
        t = parse_ok(data, size);
        ck_assert(t->checksum_valid);
        ck_assert_uint_eq(t->n_warnings, 0);
}
END_TEST

START_TEST(trailing_bytes_are_a_warning) {
        static const uint8_t body[16] = { 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0xd9, 0xfe };
        size_t size;
        _cleanup_free_ uint8_t *data = build(1, body, sizeof body, &size);
        _cleanup_free_ uint8_t *longer = malloc(size + 5);
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;

        memcpy(longer, data, size);
        memset(longer + size, 0xff, 5);
        t = parse_ok(longer, size + 5);
        ck_assert_uint_eq(t->length, 64);
        ck_assert(t->checksum_valid); /* over the header's length only */
        ck_assert_uint_eq(t->n_structures, 1);
        expect_warnings(
                t, (const char *const[]){ "5 trailing bytes after the table's length 64 are ignored" }, 1);
}
END_TEST

START_TEST(unknown_structure_kept) {
        static const uint8_t body[] = {
                9,    0,    12, 0, 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3,    4, /* type 9 */
                0x00, 0x80, 4,  0,                                        /* type 0x8000, header only */
                3,    0,    20, 0, 0,    0,    0,    0,    0, 0, 0xd9, 0xfe,
                0,    0,    0,  0, 7,    0,    0,    0, /* RHSA */
        };
        _cleanup_(dmar_table_freep) dmar_table *t = parse_body(1, body, sizeof body);
        _cleanup_json_ json_object *j = NULL;

        ck_assert_uint_eq(t->n_structures, 3);
        ck_assert_int_eq(t->structures[0].type, DMAR_TYPE_UNKNOWN);
        ck_assert_uint_eq(t->structures[0].type_id, 9);
        ck_assert_uint_eq(t->structures[0].length, 12);
        ck_assert_uint_eq(t->structures[0].offset, 0x30);
        ck_assert_int_eq(t->structures[1].type, DMAR_TYPE_UNKNOWN);
        ck_assert_uint_eq(t->structures[1].type_id, 0x8000);
        ck_assert_uint_eq(t->structures[1].length, 4);
        ck_assert_int_eq(t->structures[2].type, DMAR_TYPE_RHSA);
        ck_assert_uint_eq(t->structures[2].address, 0xfed90000);
        ck_assert_uint_eq(t->structures[2].proximity_domain, 7);
        expect_warnings(
                t,
                (const char *const[]){
                        "structure of type 9 at offset 0x30: type unknown to this parser, kept with its "
                        "length 12",
                        "structure of type 32768 at offset 0x3c: type unknown to this parser, kept with its "
                        "length 4",
                },
                2);

        j = dmar_to_json(t);
        ck_assert_str_eq(json_object_to_json_string_ext(
                                 json_object_array_get_idx(json_object_object_get(j, "structures"), 0),
                                 JSON_C_TO_STRING_PLAIN),
                         "{\"type\":\"unknown\",\"offset\":48,\"length\":12,\"type_id\":9}");
}
END_TEST

START_TEST(reserved_fields_warn) {
        static const uint8_t body[] = {
                /* DRHD, rev 1, byte 5 set; scope of reserved type 0 and one of type 7 */
                0,
                0,
                32,
                0,
                0,
                4,
                0,
                0,
                0,
                0,
                0xd9,
                0xfe,
                0,
                0,
                0,
                0,
                0,
                8,
                0,
                0,
                0,
                0,
                2,
                0,
                7,
                8,
                0,
                0,
                0,
                0,
                3,
                0,
                /* RMRR with limit below base */
                1,
                0,
                24,
                0,
                0,
                0,
                0,
                0,
                0,
                0x10,
                0,
                0,
                0,
                0,
                0,
                0,
                0xff,
                0x0f,
                0,
                0,
                0,
                0,
                0,
                0,
                /* RMRR not 4 KiB aligned */
                1,
                0,
                24,
                0,
                0,
                0,
                0,
                0,
                0,
                0x18,
                0,
                0,
                0,
                0,
                0,
                0,
                0xff,
                0x2f,
                0,
                0,
                0,
                0,
                0,
                0,
        };
        size_t size;
        _cleanup_free_ uint8_t *data = build(1, body, sizeof body, &size);
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;

        data[37] = 0x81; /* reserved flag bit 7 */
        fix_checksum(data, size);
        t = parse_ok(data, size);
        expect_warnings(t,
                        (const char *const[]){
                                "flags 0x81 at offset 0x25 have reserved bits set",
                                "DRHD at offset 0x30: byte 5 is 0x04, reserved in DMAR revision 1; taken as "
                                "the register-set size from revision 2 on (2^4 pages), as Linux does",
                                "device scope at offset 0x40 has reserved type 0",
                                "device scope at offset 0x48 has reserved type 7",
                                "RMRR at offset 0x50: limit 0xfff is below base 0x1000",
                                "RMRR at offset 0x68: range 0x1800-0x2fff is not 4 KiB aligned",
                        },
                        6);
        /* kept, not dropped */
        ck_assert_uint_eq(t->structures[0].n_scopes, 2);
        ck_assert_uint_eq(t->structures[0].scopes[1].type_id, 7);
        ck_assert_uint_eq(t->structures[0].size_raw, 4);
        ck_assert_uint_eq(dmar_drhd_register_size(t, &t->structures[0]),
                          65536); /* byte 5 taken, as Linux does */
}
END_TEST

START_TEST(warnings_are_bounded) {
        /* a DRHD with 200 scopes of a reserved type */
        uint8_t body[16 + 200 * 6] = { 0, 0, (16 + 200 * 6) & 0xff, (16 + 200 * 6) >> 8 };
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;

        for (size_t i = 0; i < 200; i++) {
                body[16 + 6 * i] = 0x99;
                body[16 + 6 * i + 1] = 6;
        }
        t = parse_body(1, body, sizeof body);
        ck_assert_uint_eq(t->structures[0].n_scopes, 200);
        ck_assert_uint_eq(t->n_warnings, 64);
        ck_assert_str_eq(t->warnings[0], "device scope at offset 0x40 has reserved type 153");
        ck_assert_str_eq(t->warnings[63], "137 more warnings not shown");
}
END_TEST

/* ---- what iasl 20200925 cannot show: SATC and SIDP, by hand ---- */

START_TEST(satc_and_sidp) {
        static const uint8_t body[] = {
                /* SATC: ATC_REQUIRED, segment 2; endpoint 00:02.0; bridge 80:1c.4 -> 00.0 */
                0x05,
                0x00,
                0x1a,
                0x00,
                0x01,
                0x00,
                0x02,
                0x00,
                0x01,
                0x08,
                0x00,
                0x00,
                0x00,
                0x00,
                0x02,
                0x00,
                0x02,
                0x0a,
                0x00,
                0x00,
                0x00,
                0x80,
                0x1c,
                0x04,
                0x00,
                0x00,
                /* SIDP: segment 0x10; endpoint flags 0x1f 00:02.0; endpoint flags 0x1c 03:00.1 via 1d.0 */
                0x06,
                0x00,
                0x1a,
                0x00,
                0x00,
                0x00,
                0x10,
                0x00,
                0x01,
                0x08,
                0x1f,
                0x00,
                0x00,
                0x00,
                0x02,
                0x00,
                0x01,
                0x0a,
                0x1c,
                0x00,
                0x05,
                0x03,
                0x1d,
                0x00,
                0x00,
                0x01,
        };
        _cleanup_(dmar_table_freep) dmar_table *t = parse_body(1, body, sizeof body);
        const dmar_structure *satc, *sidp;

        ck_assert_uint_eq(t->n_structures, 2);
        ck_assert_uint_eq(t->n_warnings, 0);
        satc = &t->structures[0];
        ck_assert_int_eq(satc->type, DMAR_TYPE_SATC);
        ck_assert_uint_eq(satc->length, 0x1a);
        ck_assert_uint_eq(satc->flags, DMAR_SATC_ATC_REQUIRED);
        ck_assert_uint_eq(satc->segment, 2);
        ck_assert_uint_eq(satc->n_scopes, 2);
        ck_assert_uint_eq(satc->scopes[0].type_id, DMAR_SCOPE_ENDPOINT);
        ck_assert_uint_eq(satc->scopes[0].n_path, 1);
        ck_assert_uint_eq(satc->scopes[0].path[0].device, 2);
        ck_assert_uint_eq(satc->scopes[1].type_id, DMAR_SCOPE_BRIDGE);
        ck_assert_uint_eq(satc->scopes[1].start_bus, 0x80);
        ck_assert_uint_eq(satc->scopes[1].n_path, 2);
        ck_assert_uint_eq(satc->scopes[1].path[0].device, 0x1c);
        ck_assert_uint_eq(satc->scopes[1].path[0].function, 4);
        ck_assert_uint_eq(satc->scopes[1].path[1].device, 0);
        ck_assert_uint_eq(satc->scopes[1].path[1].function, 0);

        sidp = &t->structures[1];
        ck_assert_int_eq(sidp->type, DMAR_TYPE_SIDP);
        ck_assert_uint_eq(sidp->offset, 0x4a);
        ck_assert_uint_eq(sidp->segment, 0x10);
        ck_assert_uint_eq(sidp->n_scopes, 2);
        ck_assert_uint_eq(sidp->scopes[0].flags, 0x1f);
        ck_assert_uint_eq(sidp->scopes[1].flags, 0x1c);
        ck_assert_uint_eq(sidp->scopes[1].enumeration_id, 5);
        ck_assert_uint_eq(sidp->scopes[1].start_bus, 3);
        ck_assert_uint_eq(sidp->scopes[1].n_path, 2);
        ck_assert_uint_eq(sidp->scopes[1].path[0].device, 0x1d);
        ck_assert_uint_eq(sidp->scopes[1].path[1].function, 1);
}
END_TEST

START_TEST(drhd_register_size) {
        static const uint8_t body[] = {
                0, 0, 16, 0, 1, 3,    0, 0, 0, 0, 0xd9, 0xfe, 0, 0, 0, 0, /* size 2^3 pages */
                0, 0, 16, 0, 0, 0x13, 0, 0, 0, 0, 0xda, 0xfe, 0, 0, 0, 0, /* reserved bit 4 set */
        };
        _cleanup_(dmar_table_freep) dmar_table *t = parse_body(2, body, sizeof body);
        _cleanup_json_ json_object *j = dmar_to_json(t);
        json_object *s;

        ck_assert_uint_eq(t->revision, 2);
        ck_assert_uint_eq(t->structures[0].size_raw, 3);
        ck_assert_uint_eq(dmar_drhd_register_size(t, &t->structures[0]), 32768);
        ck_assert_uint_eq(dmar_drhd_register_size(t, &t->structures[1]), 32768);
        expect_warnings(
                t, (const char *const[]){ "DRHD at offset 0x40: size 0x13 has reserved bits 7:4 set" }, 1);
        s = json_object_array_get_idx(json_object_object_get(j, "structures"), 0);
        ck_assert_uint_eq(json_object_get_uint64(json_object_object_get(s, "size")), 8);

        /* the same bytes in a revision 1 table: byte 5 is still taken as the
         * size (2^3 pages, as Linux does), with warnings saying so */
        dmar_table *t1 = parse_body(1, body, sizeof body);
        _cleanup_json_ json_object *j1 = dmar_to_json(t1);
        ck_assert_uint_eq(dmar_drhd_register_size(t1, &t1->structures[0]), 32768);
        s = json_object_array_get_idx(json_object_object_get(j1, "structures"), 0);
        ck_assert_uint_eq(json_object_get_uint64(json_object_object_get(s, "size")), 8);
        ck_assert_uint_eq(t1->n_warnings, 2);
        dmar_table_free(t1);

        /* a revision 1 table with byte 5 zero states no size: one page, JSON null */
        static const uint8_t body0[] = {
                0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0xd9, 0xfe, 0, 0, 0, 0,
        };
        t1 = parse_body(1, body0, sizeof body0);
        _cleanup_json_ json_object *j0 = dmar_to_json(t1);
        ck_assert_uint_eq(dmar_drhd_register_size(t1, &t1->structures[0]), 4096);
        s = json_object_array_get_idx(json_object_object_get(j0, "structures"), 0);
        ck_assert(json_object_object_get_ex(s, "size", NULL));
        ck_assert_ptr_null(json_object_object_get(s, "size"));
        dmar_table_free(t1);
}
END_TEST

START_TEST(header_fields) {
        size_t size;
        _cleanup_free_ uint8_t *data = build(1, NULL, 0, &size);
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;

        data[36] = 0xff; /* the widest host address width the byte can say */
        data[16] = 0x01; /* a non-printable OEM table ID byte */
        fix_checksum(data, size);
        t = parse_ok(data, size);
        ck_assert_str_eq(t->signature, "DMAR");
        ck_assert_uint_eq(t->length, 48);
        ck_assert_uint_eq(t->host_address_width, 256);
        ck_assert_str_eq(t->oem_id, "IOMMUD");
        ck_assert_str_eq(t->oem_table_id, "\001ESTTBL");
        ck_assert_uint_eq(t->oem_revision, 0x12345678);
        ck_assert_str_eq(t->creator_id, "CHK");
        ck_assert_uint_eq(t->creator_revision, 0x20150001);
        ck_assert_uint_eq(t->n_structures, 0);
        ck_assert_ptr_null(t->structures);
}
END_TEST

/* ---- the JSON model: names and values, literally ---- */

static const uint8_t every_type[] = {
        /* 0x30 DRHD: INCLUDE_PCI_ALL, size 2^3 pages, segment 0, 0xfed91000; ioapic 2 at f0:1f.0 */
        0x00,
        0x00,
        0x18,
        0x00,
        0x01,
        0x03,
        0x00,
        0x00,
        0x00,
        0x10,
        0xd9,
        0xfe,
        0x00,
        0x00,
        0x00,
        0x00,
        0x03,
        0x08,
        0x00,
        0x00,
        0x02,
        0xf0,
        0x1f,
        0x00,
        /* 0x48 RMRR: segment 1, 0x7b800000-0x7fffffff; endpoint 00:1c.0 -> 00.2 */
        0x01,
        0x00,
        0x22,
        0x00,
        0x00,
        0x00,
        0x01,
        0x00,
        0x00,
        0x00,
        0x80,
        0x7b,
        0x00,
        0x00,
        0x00,
        0x00,
        0xff,
        0xff,
        0xff,
        0x7f,
        0x00,
        0x00,
        0x00,
        0x00,
        0x01,
        0x0a,
        0x00,
        0x00,
        0x00,
        0x00,
        0x1c,
        0x00,
        0x00,
        0x02,
        /* 0x6a ATSR: ALL_PORTS, segment 0; bridge 00:03.0 */
        0x02,
        0x00,
        0x10,
        0x00,
        0x01,
        0x00,
        0x00,
        0x00,
        0x02,
        0x08,
        0x00,
        0x00,
        0x00,
        0x00,
        0x03,
        0x00,
        /* 0x7a RHSA: 0x00000013_fbffc000 (above 4 GiB), proximity domain 0x80000001 */
        0x03,
        0x00,
        0x14,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0xc0,
        0xff,
        0xfb,
        0x13,
        0x00,
        0x00,
        0x00,
        0x01,
        0x00,
        0x00,
        0x80,
        /* 0x8e ANDD: device 1, "\_SB.PCI0.I2C0" zero-padded */
        0x04,
        0x00,
        0x1a,
        0x00,
        0x00,
        0x00,
        0x00,
        0x01,
        '\\',
        '_',
        'S',
        'B',
        '.',
        'P',
        'C',
        'I',
        '0',
        '.',
        'I',
        '2',
        'C',
        '0',
        0x00,
        0x00,
        0x00,
        0x00,
        /* 0xa8 SATC: ATC_REQUIRED, segment 0; endpoint 00:02.0 */
        0x05,
        0x00,
        0x10,
        0x00,
        0x01,
        0x00,
        0x00,
        0x00,
        0x01,
        0x08,
        0x00,
        0x00,
        0x00,
        0x00,
        0x02,
        0x00,
        /* 0xb8 SIDP: segment 0; endpoint flags 0x1f 00:0b.0; namespace device 9 */
        0x06,
        0x00,
        0x18,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x01,
        0x08,
        0x1f,
        0x00,
        0x00,
        0x00,
        0x0b,
        0x00,
        0x05,
        0x08,
        0x00,
        0x00,
        0x09,
        0x00,
        0x19,
        0x00,
        /* 0xd0 type 0x20 */
        0x20,
        0x00,
        0x08,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        /* 0xd8 a scope type iasl calls reserved, in a DRHD */
        0x00,
        0x00,
        0x16,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x00,
        0x20,
        0xd9,
        0xfe,
        0x00,
        0x00,
        0x00,
        0x00,
        0x08,
        0x06,
        0x00,
        0x00,
        0x00,
        0x00,
};

START_TEST(json_names_and_values) {
        static const char *const want[] = {
                "{\"type\":\"drhd\",\"offset\":48,\"length\":24,\"flags\":1,\"include_pci_all\":true,"
                "\"segment\":0,"
                "\"address\":4275638272,\"size\":8,\"scope\":[{\"type\":\"ioapic\",\"flags\":0,"
                "\"enumeration_id\":2,"
                "\"start_bus\":240,\"path\":[{\"device\":31,\"function\":0}]}]}",
                "{\"type\":\"rmrr\",\"offset\":72,\"length\":34,\"segment\":1,\"base\":2071986176,\"limit\":"
                "2147483647,\"scope\":[{\"type\":\"endpoint\",\"flags\":0,\"enumeration_id\":0,\"start_"
                "bus\":0,"
                "\"path\":[{\"device\":28,\"function\":0},{\"device\":0,\"function\":2}]}]}",
                "{\"type\":\"atsr\",\"offset\":106,\"length\":16,\"flags\":1,\"all_ports\":true,\"segment\":"
                "0,"
                "\"scope\":[{\"type\":\"bridge\",\"flags\":0,\"enumeration_id\":0,\"start_bus\":0,\"path\":"
                "[{\"device\":3,\"function\":0}]}]}",
                "{\"type\":\"rhsa\",\"offset\":122,\"length\":20,\"address\":85832220672,\"proximity_"
                "domain\":"
                "2147483649}",
                "{\"type\":\"andd\",\"offset\":142,\"length\":26,\"acpi_device_number\":1,\"object_name\":"
                "\"\\\\_SB.PCI0.I2C0\"}",
                "{\"type\":\"satc\",\"offset\":168,\"length\":16,\"flags\":1,\"atc_required\":true,"
                "\"segment\":0,"
                "\"scope\":[{\"type\":\"endpoint\",\"flags\":0,\"enumeration_id\":0,\"start_bus\":0,"
                "\"path\":"
                "[{\"device\":2,\"function\":0}]}]}",
                "{\"type\":\"sidp\",\"offset\":184,\"length\":24,\"segment\":0,\"scope\":[{\"type\":"
                "\"endpoint\","
                "\"flags\":31,\"enumeration_id\":0,\"start_bus\":0,\"path\":[{\"device\":11,\"function\":0}]"
                "},"
                "{\"type\":\"acpi_namespace\",\"flags\":0,\"enumeration_id\":9,\"start_bus\":0,\"path\":"
                "[{\"device\":25,\"function\":0}]}]}",
                "{\"type\":\"unknown\",\"offset\":208,\"length\":8,\"type_id\":32}",
                "{\"type\":\"drhd\",\"offset\":216,\"length\":22,\"flags\":0,\"include_pci_all\":false,"
                "\"segment\":"
                "0,\"address\":4275642368,\"size\":1,\"scope\":[{\"type\":\"unknown\",\"type_id\":8,"
                "\"flags\":0,"
                "\"enumeration_id\":0,\"start_bus\":0,\"path\":[]}]}",
        };
        size_t size;
        _cleanup_free_ uint8_t *data = build(2, every_type, sizeof every_type, &size);
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;
        _cleanup_json_ json_object *j = NULL;
        json_object *structures;

        data[37] = 0x05;
        fix_checksum(data, size);
        t = parse_ok(data, size);
        j = dmar_to_json(t);
        ck_assert_ptr_nonnull(j);
        ck_assert(json_object_object_get_ex(j, "structures", &structures));
        ck_assert_uint_eq(json_object_array_length(structures), ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                ck_assert_str_eq(json_object_to_json_string_ext(json_object_array_get_idx(structures, i),
                                                                JSON_C_TO_STRING_PLAIN),
                                 want[i]);

        /* the rest of the top level, once the structures are checked */
        json_object_object_del(j, "structures");
        ck_assert_str_eq(
                json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                "{\"signature\":\"DMAR\",\"length\":238,\"revision\":2,\"checksum\":163,"
                "\"checksum_valid\":true,\"oem_id\":\"IOMMUD\",\"oem_table_id\":\"TESTTBL\",\"oem_"
                "revision\":"
                "305419896,\"creator_id\":\"CHK\",\"creator_revision\":538247169,\"host_address_width\":39,"
                "\"flags\":{\"raw\":5,\"intr_remap\":true,\"x2apic_opt_out\":false,"
                "\"dma_ctrl_platform_opt_in\":true},\"warnings\":[\"structure of type 32 at offset 0xd0: "
                "type unknown to this parser, kept with its length 8\",\"device scope at offset 0xe8 has "
                "reserved type 8\"]}");
}
END_TEST

START_TEST(json_revision_one_and_odd_bytes) {
        static const uint8_t body[] = {
                0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd9, 0xfe, 0x00, 0x00,
                0x00, 0x00, 0x04, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x07, 'A',  0x01, 0xe9, 0x00,
        };
        size_t size;
        _cleanup_free_ uint8_t *data = build(1, body, sizeof body, &size);
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;
        _cleanup_json_ json_object *j = NULL;
        json_object *s;

        data[10] = 0xff; /* OEM ID with a byte that is not ASCII */
        data[16] = 0x01;
        data[17] = 0x00;
        data[37] = 0x00;
        fix_checksum(data, size);
        t = parse_ok(data, size);
        j = dmar_to_json(t);
        s = json_object_object_get(j, "structures");
        ck_assert_str_eq(
                json_object_to_json_string_ext(json_object_array_get_idx(s, 0), JSON_C_TO_STRING_PLAIN),
                "{\"type\":\"drhd\",\"offset\":48,\"length\":16,\"flags\":0,\"include_pci_all\":false,"
                "\"segment\":0,\"address\":4275634176,\"size\":null,\"scope\":[]}");
        ck_assert_str_eq(
                json_object_to_json_string_ext(json_object_array_get_idx(s, 1), JSON_C_TO_STRING_PLAIN),
                "{\"type\":\"andd\",\"offset\":64,\"length\":12,\"acpi_device_number\":7,\"object_name\":"
                "\"A\\\\x01\\\\xe9\"}");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "oem_id")), "\\xffOMMUD");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(j, "oem_table_id")), "\\x01");
        ck_assert_str_eq(
                json_object_to_json_string_ext(json_object_object_get(j, "flags"), JSON_C_TO_STRING_PLAIN),
                "{\"raw\":0,\"intr_remap\":false,\"x2apic_opt_out\":false,\"dma_ctrl_platform_opt_in\":"
                "false}");
        ck_assert_ptr_null(dmar_to_json(NULL));
}
END_TEST

START_TEST(type_strings) {
        static const char *const types[] = { "drhd", "rmrr", "atsr", "rhsa",
                                             "andd", "satc", "sidp", "unknown" };
        static const char *const scopes[] = {
                NULL, "endpoint", "bridge", "ioapic", "hpet", "acpi_namespace"
        };

        ck_assert_uint_eq(ELEMENTSOF(types), _DMAR_TYPE_MAX);
        for (int i = 0; i < _DMAR_TYPE_MAX; i++) {
                ck_assert_str_eq(dmar_type_to_string((dmar_type) i), types[i]);
                ck_assert_int_eq(dmar_type_from_string(types[i]), i);
        }
        ck_assert_ptr_null(dmar_type_to_string(_DMAR_TYPE_MAX));
        ck_assert_ptr_null(dmar_type_to_string(_DMAR_TYPE_INVALID));
        ck_assert_int_eq(dmar_type_from_string("DRHD"), _DMAR_TYPE_INVALID);
        ck_assert_int_eq(dmar_type_from_string(NULL), -EINVAL);

        ck_assert_uint_eq(ELEMENTSOF(scopes), _DMAR_SCOPE_MAX);
        for (int i = 1; i < _DMAR_SCOPE_MAX; i++) {
                ck_assert_str_eq(dmar_scope_type_to_string((dmar_scope_type) i), scopes[i]);
                ck_assert_int_eq(dmar_scope_type_from_string(scopes[i]), i);
        }
        ck_assert_ptr_null(dmar_scope_type_to_string((dmar_scope_type) 0));
        ck_assert_ptr_null(dmar_scope_type_to_string(_DMAR_SCOPE_MAX));
        ck_assert_ptr_null(dmar_scope_type_to_string(_DMAR_SCOPE_INVALID));
        ck_assert_int_eq(dmar_scope_type_from_string("unknown"), _DMAR_SCOPE_INVALID);
        ck_assert_int_eq(dmar_scope_type_from_string(""), -EINVAL);
}
END_TEST

/* ---- fuzz: no crash, no hang, and always either a table or a message ---- */

static const char *const fuzz_tables[] = {
        "apple-macbookpro14-3",      /* ANDD, padded names */
        "hp-proliant-dl380e-gen8",   /* the largest, multi-hop paths, ATSR */
        "msi-prestige13-ai-evo-lnl", /* SATC, SIDP */
        "supermicro-superserver-2s", /* RHSA, odd length 370 */
};

static uint64_t rng_state = UINT64_C(0x5eed0f0dd1ce5);

static uint64_t rnd(void) { /* splitmix64 */
        uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

/* Parse a copy of exactly size bytes; count the outcome. */
static void fuzz_one(const uint8_t *bytes, size_t size, size_t *ok, size_t *refused) {
        uint8_t *copy = size ? malloc(size) : NULL;
        dmar_table *t = SENTINEL;
        iommu_error err = {};
        int r;

        if (size)
                memcpy(copy, bytes, size);
        r = dmar_parse(copy, size, &t, &err);
        if (r == 0) {
                json_object *j = dmar_to_json(t);
                ck_assert_ptr_nonnull(j);
                ck_assert_ptr_nonnull(json_object_to_json_string(j));
                json_object_put(j);
                for (size_t i = 0; i < t->n_structures; i++)
                        if (t->structures[i].type == DMAR_TYPE_DRHD)
                                ck_assert_uint_ge(dmar_drhd_register_size(t, &t->structures[i]), 4096);
                dmar_table_free(t);
                (*ok)++;
        } else {
                ck_assert_int_lt(r, 0);
                ck_assert_ptr_eq(t, SENTINEL);
                ck_assert_int_eq(err.error, -r);
                ck_assert_msg(err.message[0] != '\0', "refused without a message");
                (*refused)++;
        }
        free(copy);
}

static uint8_t *load(const char *name, size_t *ret_size) {
        char path[4096];
        const char *dir = getenv("TESTDATA");
        iommu_error err = {};
        void *data = NULL;

        ck_assert_msg(dir, "TESTDATA is not set");
        (void) snprintf(path, sizeof path, "%s/dmar/%s.bin", dir, name);
        ck_assert_msg(read_full_file(path, 1 << 20, &data, ret_size, &err) == 0, "%s", err.message);
        return data;
}

START_TEST(fuzz_truncations) {
        size_t ok = 0, refused = 0, n = 0;

        for (size_t k = 0; k < ELEMENTSOF(fuzz_tables); k++) {
                size_t size;
                _cleanup_free_ uint8_t *data = load(fuzz_tables[k], &size);
                _cleanup_free_ uint8_t *cut = malloc(size);

                for (size_t len = 0; len <= size; len++, n += 2) {
                        /* as cut off: the header's length says more */
                        fuzz_one(data, len, &ok, &refused);
                        /* and with the header's length saying so, so the cut
                         * lands inside a structure or a scope */
                        memcpy(cut, data, len);
                        if (len >= 8) {
                                cut[4] = (uint8_t) len;
                                cut[5] = (uint8_t) (len >> 8);
                                cut[6] = cut[7] = 0;
                                fix_checksum(cut, len);
                        }
                        fuzz_one(cut, len, &ok, &refused);
                }
                ck_assert_uint_gt(ok, 0);
        }
        printf("# truncations: %zu parses, %zu tables, %zu refusals with a message\n", n, ok, refused);
        fflush(stdout);
}
END_TEST

START_TEST(fuzz_corruptions) {
        enum { ROUNDS = 25000 };
        uint8_t *data[ELEMENTSOF(fuzz_tables)];
        size_t sizes[ELEMENTSOF(fuzz_tables)], ok = 0, refused = 0;

        for (size_t k = 0; k < ELEMENTSOF(fuzz_tables); k++)
                data[k] = load(fuzz_tables[k], &sizes[k]);

        for (size_t i = 0; i < ROUNDS; i++) {
                size_t k = rnd() % ELEMENTSOF(fuzz_tables), size = sizes[k];
                _cleanup_free_ uint8_t *copy = malloc(size);
                uint64_t r = rnd();

                memcpy(copy, data[k], size);
                /* One byte per round: a random value anywhere, or in a
                 * quarter of the rounds one flipped bit among the structures,
                 * where the lengths that steer the walk are. */
                if ((r >> 40) % 4 != 0)
                        copy[r % size] = (uint8_t) (r >> 32);
                else
                        copy[DMAR_HEADER_SIZE + (r >> 48) % (size - DMAR_HEADER_SIZE)] ^=
                                (uint8_t) (1u << (r & 7));
                /* and half the time a right checksum, as a careless editor
                 * would leave it */
                if ((r >> 42) % 2 == 0)
                        fix_checksum(copy, size);
                fuzz_one(copy, size, &ok, &refused);
        }
        printf("# corruptions: %d rounds, %zu tables, %zu refusals with a message\n", ROUNDS, ok, refused);
        fflush(stdout);
        ck_assert_uint_gt(ok, 0);
        ck_assert_uint_gt(refused, 0);
        for (size_t k = 0; k < ELEMENTSOF(fuzz_tables); k++)
                free(data[k]);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("dmar");
        TCase *refuse = tcase_create("refusals");
        TCase *warn = tcase_create("warnings");
        TCase *model = tcase_create("model");
        TCase *fuzz = tcase_create("fuzz");

        tcase_add_test(refuse, empty);
        tcase_add_test(refuse, ten_bytes);
        tcase_add_test(refuse, forty_seven_bytes);
        tcase_add_test(refuse, wrong_signature);
        tcase_add_test(refuse, length_beyond_data);
        tcase_add_test(refuse, length_beyond_limit);
        tcase_add_test(refuse, length_below_header);
        tcase_add_test(refuse, structure_header_does_not_fit);
        tcase_add_test(refuse, structure_length_zero);
        tcase_add_test(refuse, structure_length_three);
        tcase_add_test(refuse, structure_shorter_than_fixed_part);
        tcase_add_test(refuse, structure_overruns_table);
        tcase_add_test(refuse, scope_too_short);
        tcase_add_test(refuse, scope_odd_length);
        tcase_add_test(refuse, scope_overruns_structure);
        tcase_add_test(refuse, andd_name_not_terminated);
        tcase_add_test(refuse, bad_arguments);
        suite_add_tcase(s, refuse);

        tcase_add_test(warn, bad_checksum_is_a_warning);
        tcase_add_test(warn, trailing_bytes_are_a_warning);
        tcase_add_test(warn, unknown_structure_kept);
        tcase_add_test(warn, reserved_fields_warn);
        tcase_add_test(warn, warnings_are_bounded);
        suite_add_tcase(s, warn);

        tcase_add_test(model, satc_and_sidp);
        tcase_add_test(model, drhd_register_size);
        tcase_add_test(model, header_fields);
        tcase_add_test(model, json_names_and_values);
        tcase_add_test(model, json_revision_one_and_odd_bytes);
        tcase_add_test(model, type_strings);
        suite_add_tcase(s, model);

        tcase_add_test(fuzz, fuzz_truncations);
        tcase_add_test(fuzz, fuzz_corruptions);
        suite_add_tcase(s, fuzz);
        return s;
}
