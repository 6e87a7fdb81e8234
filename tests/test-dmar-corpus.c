/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DMAR parser against independent truth:
 *  - 36 real tables, each with ACPICA's own disassembly (iasl 20200925) and
 *    the facts recorded in SOURCES.md when the corpus was collected;
 *  - a few hundred generated tables, disassembled here and now by the
 *    installed iasl (acpica-tools).
 * The disassembly is read with a strict reader (iasl-text.c) and walked
 * field by field, offset by offset, next to the parser's structs: a field
 * iasl shows that the parser does not know, or the other way round, fails.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "basic/fileio.h"
#include "check-main.h"
#include "decode/dmar.h"
#include "iasl-text.h"

#define CORPUS_SIZE 36
#define GENERATED_TABLES 500
#define GENERATOR_SEED UINT64_C(0x1d0a2ce742b4d6d3)

/* ---- reading the corpus ---- */

static const char *testdata(void) {
        const char *d = getenv("TESTDATA");
        ck_assert_msg(d && *d, "TESTDATA is not set (meson test sets it to tests/data)");
        return d;
}

static void *read_file(const char *path, size_t *ret_size) {
        iommu_error err = {};
        void *data = NULL;
        int r = read_full_file(path, 4 << 20, &data, ret_size, &err);
        ck_assert_msg(r == 0, "%s", err.message);
        return data;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The table names (NAME of NAME.bin), found by listing the directory. */
static char **list_tables(size_t *ret_n) {
        char dir[4096], **names = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;

        (void) snprintf(dir, sizeof dir, "%s/dmar", testdata());
        d = opendir(dir);
        ck_assert_msg(d, "cannot list %s: %m", dir);
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (len <= 4 || strcmp(de->d_name + len - 4, ".bin") != 0)
                        continue;
                names = reallocarray(names, n + 1, sizeof *names);
                ck_assert_ptr_nonnull(names);
                names[n] = strndup(de->d_name, len - 4);
                ck_assert_ptr_nonnull(names[n]);
                n++;
        }
        closedir(d);
        qsort(names, n, sizeof *names, cmp_str);
        *ret_n = n;
        return names;
}

static void free_names(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* ---- walking iasl's fields next to the parser's structs ---- */

typedef struct cursor {
        const char *ctx; /* table name, for messages */
        const iasl_text *x;
        size_t i;
} cursor;

static const iasl_field *next_field(cursor *c, const char *name, size_t offset, size_t width) {
        const iasl_field *f;

        ck_assert_msg(c->i < c->x->n_fields, "%s: iasl's fields end where the parser has \"%s\" at 0x%zx",
                      c->ctx, name, offset);
        f = &c->x->fields[c->i++];
        ck_assert_msg(
                streq(f->name, name) && f->offset == offset && f->width == width,
                "%s: line %u: iasl has \"%s\" at 0x%zx (%zu bytes), the parser \"%s\" at 0x%zx (%zu bytes)",
                c->ctx, f->line, f->name, f->offset, f->width, name, offset, width);
        return f;
}

static void expect_hex(cursor *c, const char *name, size_t offset, size_t width, uint64_t want) {
        const iasl_field *f = next_field(c, name, offset, width);
        uint64_t v;

        ck_assert_msg(iasl_value_hex(f->value, &v) && strlen(f->value) == 2 * width,
                      "%s: line %u: %s \"%s\" is not %zu hex digits", c->ctx, f->line, name, f->value,
                      2 * width);
        ck_assert_msg(v == want, "%s: line %u: %s: iasl 0x%" PRIx64 ", parser 0x%" PRIx64, c->ctx, f->line,
                      name, v, want);
}

/* "0000 [Hardware Unit Definition]": the number, and the name iasl gives it */
static const char *expect_hex_named(cursor *c, const char *name, size_t offset, size_t width,
                                    uint64_t want) {
        static char label[64];
        const iasl_field *f = next_field(c, name, offset, width);
        uint64_t v;

        ck_assert_msg(iasl_value_hex_named(f->value, &v, label, sizeof label),
                      "%s: line %u: %s \"%s\" unexpected", c->ctx, f->line, name, f->value);
        ck_assert_msg(v == want, "%s: line %u: %s: iasl 0x%" PRIx64 ", parser 0x%" PRIx64, c->ctx, f->line,
                      name, v, want);
        return label;
}

static void expect_bytes(cursor *c, const char *name, size_t offset, size_t width, const uint8_t *bytes) {
        const iasl_field *f = next_field(c, name, offset, width);
        ck_assert_msg(iasl_value_bytes(f->value, bytes, width),
                      "%s: line %u: %s \"%s\" is not the table's bytes", c->ctx, f->line, name, f->value);
}

/* An ACPI header string: what iasl shows is the raw bytes up to the first
 * NUL with non-printable ones as spaces; the parser keeps the raw bytes. */
static void expect_id(cursor *c, const char *name, size_t offset, size_t width, const char *parsed) {
        const iasl_field *f = next_field(c, name, offset, width);
        char shown[16], want[16];

        ck_assert_msg(iasl_value_string(f->value, shown, sizeof shown), "%s: line %u: %s %s is not a string",
                      c->ctx, f->line, name, f->value);
        iasl_repair_ascii(parsed, width, want);
        ck_assert_msg(streq(shown, want), "%s: line %u: %s: iasl \"%s\", parser \"%s\"", c->ctx, f->line,
                      name, shown, want);
}

/* iasl 20200925's names for the types it knows, and what they are to us. */
static const struct {
        const char *iasl;
        dmar_type type;
} subtable_names[] = {
        { "Hardware Unit Definition", DMAR_TYPE_DRHD },
        { "Reserved Memory Region", DMAR_TYPE_RMRR },
        { "Root Port ATS Capability", DMAR_TYPE_ATSR },
        { "Remapping Hardware Static Affinity", DMAR_TYPE_RHSA },
        { "ACPI Namespace Device Declaration", DMAR_TYPE_ANDD },
};

static const char *const scope_names[] = {
        [0] = "Reserved value",
        [DMAR_SCOPE_ENDPOINT] = "PCI Endpoint Device",
        [DMAR_SCOPE_BRIDGE] = "PCI Bridge Device",
        [DMAR_SCOPE_IOAPIC] = "IOAPIC Device",
        [DMAR_SCOPE_HPET] = "Message-capable HPET Device",
        [DMAR_SCOPE_ACPI_NAMESPACE] = "Namespace Device",
};

static void compare_scopes(cursor *c, const uint8_t *b, const dmar_structure *s, size_t fixed) {
        size_t so = s->offset + fixed;

        for (size_t i = 0; i < s->n_scopes; i++) {
                const dmar_scope *sc = &s->scopes[i];
                const char *label = expect_hex_named(c, "Device Scope Type", so, 1, sc->type_id);
                const char *want = sc->type_id < ELEMENTSOF(scope_names) ? scope_names[sc->type_id]
                                                                         : "Unknown Scope Type";
                /* The parser's classification, against iasl's name for the type. */
                ck_assert_msg(streq(label, want), "%s: scope at 0x%zx: iasl calls type %u \"%s\"", c->ctx,
                              so, sc->type_id, label);
                ck_assert_msg((dmar_scope_type_to_string((dmar_scope_type) sc->type_id) != NULL) ==
                                      (sc->type_id >= 1 && sc->type_id <= 5),
                              "%s: scope at 0x%zx: type %u misclassified", c->ctx, so, sc->type_id);

                expect_hex(c, "Entry Length", so + 1, 1, sc->length);
                /* iasl 20200925 shows bytes 2-3 as one reserved word; byte 2
                 * is the scope's flags since VT-d 4.1 */
                expect_hex(c, "Reserved", so + 2, 2, (uint64_t) sc->flags | (uint64_t) b[so + 3] << 8);
                expect_hex(c, "Enumeration ID", so + 4, 1, sc->enumeration_id);
                expect_hex(c, "PCI Bus Number", so + 5, 1, sc->start_bus);
                ck_assert_msg(sc->n_path == (size_t) (sc->length - 6) / 2, "%s: scope at 0x%zx: %zu hops",
                              c->ctx, so, sc->n_path);
                for (size_t h = 0; h < sc->n_path; h++) {
                        const iasl_field *f = next_field(c, "PCI Path", so + 6 + 2 * h, 2);
                        uint8_t dev, fn;
                        ck_assert_msg(iasl_value_path(f->value, &dev, &fn), "%s: line %u: path \"%s\"",
                                      c->ctx, f->line, f->value);
                        ck_assert_msg(dev == sc->path[h].device && fn == sc->path[h].function,
                                      "%s: line %u: hop %zu: iasl %02x.%x, parser %02x.%x", c->ctx, f->line,
                                      h, dev, fn, sc->path[h].device, sc->path[h].function);
                }
                so += sc->length;
        }
        ck_assert_msg(so == s->offset + s->length, "%s: scopes of the structure at 0x%zx end at 0x%zx",
                      c->ctx, s->offset, so);
}

/* Walk the parsed table and iasl's fields together.  Returns the index of
 * the first structure iasl could not show (n_structures if none). */
static size_t compare_with_iasl(const char *ctx, const uint8_t *b, size_t size, const dmar_table *t,
                                const iasl_text *x) {
        cursor c = { .ctx = ctx, .x = x };
        const iasl_field *f;

        ck_assert_msg(x->has_raw && x->n_raw == size && memcmp(x->raw, b, size) == 0,
                      "%s: iasl's hex dump is not the table's bytes", ctx);

        f = next_field(&c, "Signature", 0, 4);
        ck_assert_msg(streq(f->value, "\"DMAR\"    [DMA Remapping table]"), "%s: signature %s", ctx,
                      f->value);
        ck_assert_str_eq(t->signature, "DMAR");
        expect_hex(&c, "Table Length", 4, 4, t->length);
        expect_hex(&c, "Revision", 8, 1, t->revision);
        /* iasl appends a complaint to a wrong checksum, so a plain number
         * here means it agrees the checksum is right */
        expect_hex(&c, "Checksum", 9, 1, t->checksum);
        ck_assert_msg(t->checksum_valid, "%s: checksum valid for iasl, not for the parser", ctx);
        expect_id(&c, "Oem ID", 10, 6, t->oem_id);
        expect_id(&c, "Oem Table ID", 16, 8, t->oem_table_id);
        expect_hex(&c, "Oem Revision", 24, 4, t->oem_revision);
        expect_id(&c, "Asl Compiler ID", 28, 4, t->creator_id);
        expect_hex(&c, "Asl Compiler Revision", 32, 4, t->creator_revision);
        expect_hex(&c, "Host Address Width", 36, 1, (uint64_t) t->host_address_width - 1);
        expect_hex(&c, "Flags", 37, 1, t->flags);
        expect_bytes(&c, "Reserved", 38, 10, b + 38);

        for (size_t i = 0; i < t->n_structures; i++) {
                const dmar_structure *s = &t->structures[i];
                size_t o = s->offset;
                const char *label = expect_hex_named(&c, "Subtable Type", o, 2, s->type_id);

                expect_hex(&c, "Length", o + 2, 2, s->length);
                if (s->type_id >= ELEMENTSOF(subtable_names)) {
                        /* iasl 20200925 stops at the first type it does not know */
                        ck_assert_msg(streq(label, "Unknown Subtable Type"), "%s: 0x%zx: \"%s\"", ctx, o,
                                      label);
                        ck_assert_msg(x->stopped && x->stopped_type == s->type_id && c.i == x->n_fields,
                                      "%s: iasl does not stop at type %u at 0x%zx", ctx, s->type_id, o);
                        return i;
                }
                ck_assert_msg(streq(label, subtable_names[s->type_id].iasl) &&
                                      s->type == subtable_names[s->type_id].type,
                              "%s: 0x%zx: iasl \"%s\", parser %s", ctx, o, label,
                              dmar_type_to_string(s->type));

                switch (s->type) {
                case DMAR_TYPE_DRHD:
                        expect_hex(&c, "Flags", o + 4, 1, s->flags);
                        /* the register-set size (revision 2+) is "Reserved" to iasl 20200925 */
                        expect_hex(&c, "Reserved", o + 5, 1, s->size_raw);
                        expect_hex(&c, "PCI Segment Number", o + 6, 2, s->segment);
                        expect_hex(&c, "Register Base Address", o + 8, 8, s->address);
                        compare_scopes(&c, b, s, 16);
                        break;
                case DMAR_TYPE_RMRR:
                        expect_bytes(&c, "Reserved", o + 4, 2, b + o + 4);
                        expect_hex(&c, "PCI Segment Number", o + 6, 2, s->segment);
                        expect_hex(&c, "Base Address", o + 8, 8, s->base);
                        expect_hex(&c, "End Address (limit)", o + 16, 8, s->limit);
                        compare_scopes(&c, b, s, 24);
                        break;
                case DMAR_TYPE_ATSR:
                        expect_hex(&c, "Flags", o + 4, 1, s->flags);
                        expect_bytes(&c, "Reserved", o + 5, 1, b + o + 5);
                        expect_hex(&c, "PCI Segment Number", o + 6, 2, s->segment);
                        compare_scopes(&c, b, s, 8);
                        break;
                case DMAR_TYPE_RHSA:
                        expect_bytes(&c, "Reserved", o + 4, 4, b + o + 4);
                        expect_hex(&c, "Base Address", o + 8, 8, s->address);
                        expect_hex(&c, "Proximity Domain", o + 16, 4, s->proximity_domain);
                        ck_assert_uint_eq(s->n_scopes, 0);
                        break;
                case DMAR_TYPE_ANDD: {
                        char name[256];
                        expect_bytes(&c, "Reserved", o + 4, 3, b + o + 4);
                        expect_hex(&c, "Device Number", o + 7, 1, s->acpi_device_number);
                        ck_assert_ptr_nonnull(s->object_name);
                        f = next_field(&c, "Device Name", o + 8, strlen(s->object_name) + 1);
                        ck_assert_msg(iasl_value_string(f->value, name, sizeof name) &&
                                              streq(name, s->object_name),
                                      "%s: line %u: ANDD name: iasl %s, parser \"%s\"", ctx, f->line,
                                      f->value, s->object_name);
                        ck_assert_uint_eq(s->n_scopes, 0);
                        break;
                }
                default:
                        ck_abort_msg("%s: 0x%zx: unreachable type", ctx, o);
                }
        }
        ck_assert_msg(!x->stopped, "%s: iasl stopped at type %u, the parser did not", ctx, x->stopped_type);
        ck_assert_msg(c.i == x->n_fields, "%s: line %u: iasl shows \"%s\" after the parser's last structure",
                      ctx, x->fields[c.i < x->n_fields ? c.i : 0].line,
                      x->fields[c.i < x->n_fields ? c.i : 0].name);
        return t->n_structures;
}

/* What iasl could not show (SATC, SIDP) read straight from its hex dump,
 * with as little code as possible and none shared with the parser. */
static void compare_rest_with_dump(const char *ctx, const dmar_table *t, size_t first, const iasl_text *x) {
        const uint8_t *r = x->raw;
        size_t off = t->structures[first].offset;

        for (size_t i = first; i < t->n_structures; i++) {
                const dmar_structure *s = &t->structures[i];
                unsigned type = r[off] | r[off + 1] << 8, len = r[off + 2] | r[off + 3] << 8;
                size_t so = off + 8, k = 0;

                ck_assert_msg(s->offset == off && s->type_id == type && s->length == len,
                              "%s: structure %zu: dump has type %u length %u at 0x%zx", ctx, i, type, len,
                              off);
                ck_assert_msg(type == 5 || type == 6,
                              "%s: type %u after iasl's stop, not expected in the corpus", ctx, type);
                ck_assert_int_eq(s->type, type == 5 ? DMAR_TYPE_SATC : DMAR_TYPE_SIDP);
                if (type == 5)
                        ck_assert_uint_eq(s->flags, r[off + 4]);
                ck_assert_uint_eq(s->segment, r[off + 6] | r[off + 7] << 8);
                for (; so < off + len; so += r[so + 1], k++) {
                        const dmar_scope *sc = &s->scopes[k];
                        ck_assert_uint_lt(k, s->n_scopes);
                        ck_assert_uint_eq(sc->type_id, r[so]);
                        ck_assert_uint_eq(sc->length, r[so + 1]);
                        ck_assert_uint_eq(sc->flags, r[so + 2]);
                        ck_assert_uint_eq(sc->enumeration_id, r[so + 4]);
                        ck_assert_uint_eq(sc->start_bus, r[so + 5]);
                        ck_assert_uint_eq(sc->n_path, (r[so + 1] - 6u) / 2);
                        for (size_t h = 0; h < sc->n_path; h++) {
                                ck_assert_uint_eq(sc->path[h].device, r[so + 6 + 2 * h]);
                                ck_assert_uint_eq(sc->path[h].function, r[so + 7 + 2 * h]);
                        }
                }
                ck_assert_uint_eq(k, s->n_scopes);
                off += len;
        }
        ck_assert_uint_eq(off, t->length);
}

static dmar_table *parse_ok(const char *ctx, const void *data, size_t size) {
        iommu_error err = {};
        dmar_table *t = NULL;
        int r = dmar_parse(data, size, &t, &err);
        ck_assert_msg(r == 0, "%s: dmar_parse failed: %s", ctx, err.message);
        ck_assert_ptr_nonnull(t);
        return t;
}

static void compare_corpus_table(const char *name, size_t *ret_structures) {
        char path[4096], error[512];
        _cleanup_free_ void *bin = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;
        iasl_text x = {};
        size_t size, text_size, first;

        (void) snprintf(path, sizeof path, "%s/dmar/%s.bin", testdata(), name);
        bin = read_file(path, &size);
        (void) snprintf(path, sizeof path, "%s/dmar/%s.iasl.txt", testdata(), name);
        text = read_file(path, &text_size);
        ck_assert_msg(iasl_text_parse(text, &x, error, sizeof error) == 0, "%s.iasl.txt: %s", name, error);

        t = parse_ok(name, bin, size);
        first = compare_with_iasl(name, bin, size, t, &x);
        if (first < t->n_structures)
                compare_rest_with_dump(name, t, first, &x);
        *ret_structures = t->n_structures;
        iasl_text_done(&x);
}

START_TEST(corpus_is_complete) {
        size_t n;
        char **names = list_tables(&n);

        ck_assert_msg(n == CORPUS_SIZE, "%zu tables in %s/dmar, expected %d", n, testdata(), CORPUS_SIZE);
        for (size_t i = 0; i < n; i++) {
                char path[4096];
                (void) snprintf(path, sizeof path, "%s/dmar/%s.iasl.txt", testdata(), names[i]);
                ck_assert_msg(access(path, R_OK) == 0, "%s has no disassembly %s", names[i], path);
        }
        free_names(names, n);
}
END_TEST

START_TEST(corpus_against_iasl) {
        size_t n, structures = 0;
        char **names = list_tables(&n);

        ck_assert_uint_eq(n, CORPUS_SIZE);
        for (size_t i = 0; i < n; i++) {
                size_t k;
                compare_corpus_table(names[i], &k);
                structures += k;
        }
        printf("# %zu corpus tables, %zu structures compared with iasl 20200925's disassembly\n", n,
               structures);
        fflush(stdout);
        free_names(names, n);
}
END_TEST

/* The reader itself: what it must refuse, so nothing passes by being skipped. */
static char *replace_once(const char *text, const char *from, const char *to) {
        const char *at = strstr(text, from);
        char *out;

        ck_assert_msg(at, "\"%s\" not in the text", from);
        ck_assert_int_ge(asprintf(&out, "%.*s%s%s", (int) (at - text), text, to, at + strlen(from)), 0);
        return out;
}

static void expect_reader_error(const char *text, const char *want) {
        char error[512];
        iasl_text x = {};

        ck_assert_int_eq(iasl_text_parse(text, &x, error, sizeof error), -EBADMSG);
        ck_assert_msg(strstr(error, want), "reader error \"%s\" does not say \"%s\"", error, want);
        ck_assert_uint_eq(x.n_fields, 0);
}

START_TEST(iasl_reader_is_strict) {
        static const struct {
                const char *from, *to, *error;
        } bad[] = {
                { "[032h 0050   2]                       Length : 0018\n",
                  "[032h 0050   2]                       Length : 0018\nsomething else\n",
                  "line 28: unexpected line" },
                { "version 20200925", "version 20221020", "line 3: unexpected banner line" },
                { "[036h 0054   2]", "[036h 0055   2]",
                  "line 31: hex offset 0x36 and decimal offset 55 differ" },
                { "[038h 0056   8]        Register Base Address :",
                  "[038h 0056   8]        Register Base Address:", "line 32: expected \"Name : Value\"" },
                { "    0040: 01 08 00 00 00 00 02 00 00 00 20 00 01 00 00 00  // .......... .....",
                  "    0040: 01 08 00 00 00 00 02 00 00 00 21 00 01 00 00 00  // .......... .....",
                  "ASCII column does not match byte 10" },
                { "    0040: 01 08", "    0041: 01 08", "hex dump offset 0x41, expected 0x40" },
                { "Raw Table Data: Length 152 (0x98)", "Raw Table Data: Length 152 (0x99)",
                  "unexpected raw data header" },
                { "    0090: 01 08 1C 00 00 00 0B 00                          // ........\n", "",
                  "hex dump has 144 bytes, announced 152" },
                { "**** Unknown DMAR subtable type 0x5\n",
                  "**** Unknown DMAR subtable type 0x5\n[06Ch 0108   1]                        Flags : 01\n",
                  "field after the unknown-subtable stop" },
        };
        char path[4096], error[512];
        _cleanup_free_ char *text = NULL;
        iasl_text x = {};
        size_t size;
        uint64_t v;
        uint8_t d, f;

        (void) snprintf(path, sizeof path, "%s/dmar/framework-laptop13-mtl.iasl.txt", testdata());
        text = read_file(path, &size);
        ck_assert_msg(iasl_text_parse(text, &x, error, sizeof error) == 0, "%s", error);
        ck_assert_uint_eq(x.n_fields, 44); /* 12 header, 12 + 18 two DRHDs, 2 SATC header */
        ck_assert(x.stopped);
        ck_assert_uint_eq(x.stopped_type, 5);
        ck_assert_uint_eq(x.n_raw, 152);
        ck_assert_str_eq(x.fields[4].name, "Oem ID");
        ck_assert_str_eq(x.fields[4].value, "\"INSYDE\"");
        ck_assert_uint_eq(x.fields[4].offset, 10);
        ck_assert_uint_eq(x.fields[4].width, 6);
        iasl_text_done(&x);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *t = replace_once(text, bad[i].from, bad[i].to);
                expect_reader_error(t, bad[i].error);
        }
        expect_reader_error("", "ends before the raw table data");

        ck_assert(iasl_value_hex("00000000FED90000", &v) && v == 0xfed90000);
        ck_assert(!iasl_value_hex("fed90000", &v));
        ck_assert(!iasl_value_hex("0x10", &v));
        ck_assert(!iasl_value_hex("10 ", &v));
        ck_assert(!iasl_value_hex("", &v));
        ck_assert(iasl_value_path("1C,04", &d, &f) && d == 0x1c && f == 4);
        ck_assert(!iasl_value_path("1C,4", &d, &f));
        ck_assert(iasl_value_bytes("000000", (const uint8_t[]){ 0, 0, 0 }, 3));
        ck_assert(!iasl_value_bytes("0000", (const uint8_t[]){ 0, 0, 0 }, 3));
        ck_assert(iasl_value_bytes("0201", (const uint8_t[]){ 1, 2 }, 2));
        ck_assert(iasl_value_bytes("00 01 00 00 00 00 00 00 00 FF",
                                   (const uint8_t[]){ 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff }, 10));
        ck_assert(!iasl_value_bytes("00 01 00 00 00 00 00 00 00 FE",
                                    (const uint8_t[]){ 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff }, 10));
}
END_TEST

/* ---- SOURCES.md: the facts recorded when the corpus was collected ---- */

typedef struct source_facts {
        char name[64];
        char oem_id[64], oem_table_id[64];
        size_t bytes;
        char contents[1024];
} source_facts;

/* "- Platform: ...; OEM ID "APPLE ", OEM Table ID "KBL ", 352 bytes" */
static void parse_platform(const char *line, source_facts *f) {
        const char *p = strstr(line, "; OEM ID \""), *q;
        char *end;

        ck_assert_msg(p, "SOURCES.md %s: no OEM ID in \"%s\"", f->name, line);
        p += strlen("; OEM ID \"");
        q = strstr(p, "\", OEM Table ID \"");
        ck_assert_msg(q && (size_t) (q - p) < sizeof f->oem_id, "SOURCES.md %s: OEM ID", f->name);
        memcpy(f->oem_id, p, (size_t) (q - p));
        p = q + strlen("\", OEM Table ID \"");
        q = strstr(p, "\", ");
        ck_assert_msg(q && (size_t) (q - p) < sizeof f->oem_table_id, "SOURCES.md %s: OEM Table ID",
                      f->name);
        memcpy(f->oem_table_id, p, (size_t) (q - p));
        f->bytes = strtoul(q + 3, &end, 10);
        ck_assert_msg(streq(end, " bytes"), "SOURCES.md %s: size in \"%s\"", f->name, line);
}

static source_facts *read_sources(size_t *ret_n) {
        char path[4096];
        _cleanup_free_ char *text = NULL;
        source_facts *facts = NULL;
        size_t n = 0, size;

        (void) snprintf(path, sizeof path, "%s/dmar/SOURCES.md", testdata());
        text = read_file(path, &size);
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (strncmp(line, "## ", 3) == 0) {
                        facts = reallocarray(facts, n + 1, sizeof *facts);
                        ck_assert_ptr_nonnull(facts);
                        facts[n] = (source_facts){};
                        ck_assert_uint_lt(strlen(line + 3), sizeof facts[n].name);
                        strcpy(facts[n].name, line + 3);
                        n++;
                } else if (n > 0 && strncmp(line, "- Platform: ", 12) == 0) {
                        parse_platform(line, &facts[n - 1]);
                } else if (n > 0 && strncmp(line, "- Contents: ", 12) == 0) {
                        ck_assert_uint_lt(strlen(line + 12), sizeof facts[n - 1].contents);
                        strcpy(facts[n - 1].contents, line + 12);
                }
        }
        *ret_n = n;
        return facts;
}

static int cmp_uint(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return x < y ? -1 : x > y;
}

/* Rebuild the summary line in the format SOURCES.md uses, from the parsed
 * table alone, item by item in its order; the caller compares the texts. */
static void summarize(const dmar_table *t, char *buf, size_t size) {
        static const char *const flag_names[] = { "INTR_REMAP", "X2APIC_OPT_OUT", "DMA_CTRL_OPT_IN" };
        static const char *const scope_words[] = {
                [1] = "endpoint", [2] = "bridge", [3] = "ioapic", [4] = "hpet", [5] = "acpi-ns"
        };
        size_t count[_DMAR_TYPE_MAX] = {}, include_all = 0, atsr_ports = 0, satc_atc = 0, max_hops = 0;
        unsigned devs[512], n_devs = 0, segments[16], n_segments = 0;
        bool scope_seen[6] = {};
        FILE *f = fmemopen(buf, size, "w");
        const char *sep = "";

        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < t->n_structures; i++) {
                const dmar_structure *s = &t->structures[i];
                count[s->type]++;
                if (s->type == DMAR_TYPE_DRHD && (s->flags & DMAR_DRHD_INCLUDE_PCI_ALL))
                        include_all++;
                if (s->type == DMAR_TYPE_ATSR)
                        atsr_ports += s->n_scopes;
                if (s->type == DMAR_TYPE_SATC && (s->flags & DMAR_SATC_ATC_REQUIRED))
                        satc_atc++;
                if (s->type != DMAR_TYPE_RHSA && s->type != DMAR_TYPE_ANDD && s->type != DMAR_TYPE_UNKNOWN) {
                        bool seen = false;
                        for (unsigned k = 0; k < n_segments; k++)
                                seen = seen || segments[k] == s->segment;
                        if (!seen && n_segments < ELEMENTSOF(segments))
                                segments[n_segments++] = s->segment;
                }
                for (size_t j = 0; j < s->n_scopes; j++) {
                        const dmar_scope *sc = &s->scopes[j];
                        if (sc->type_id < ELEMENTSOF(scope_seen))
                                scope_seen[sc->type_id] = true;
                        if (sc->n_path > max_hops)
                                max_hops = sc->n_path;
                        if (s->type == DMAR_TYPE_RMRR && sc->n_path > 0 && n_devs < ELEMENTSOF(devs)) {
                                unsigned d = sc->path[sc->n_path - 1].device << 8 |
                                             sc->path[sc->n_path - 1].function;
                                bool seen = false;
                                for (unsigned k = 0; k < n_devs; k++)
                                        seen = seen || devs[k] == d;
                                if (!seen)
                                        devs[n_devs++] = d;
                        }
                }
        }
        qsort(devs, n_devs, sizeof *devs, cmp_uint);
        qsort(segments, n_segments, sizeof *segments, cmp_uint);

        fprintf(f, "rev %u; HAW %u bits; flags 0x%02x", t->revision, t->host_address_width, t->flags);
        if (t->flags) {
                fputc('(', f);
                for (unsigned b = 0; b < 3; b++)
                        if (t->flags & (1u << b)) {
                                fprintf(f, "%s%s", sep, flag_names[b]);
                                sep = ",";
                        }
                fputc(')', f);
        }
        fprintf(f, "; %zu DRHD (%zu INCLUDE_PCI_ALL)", count[DMAR_TYPE_DRHD], include_all);
        if (count[DMAR_TYPE_RMRR] == 0)
                fprintf(f, "; no RMRR");
        else {
                fprintf(f, "; %zu RMRR (dev", count[DMAR_TYPE_RMRR]);
                for (unsigned k = 0; k < n_devs; k++)
                        fprintf(f, " %02x.%x", devs[k] >> 8, devs[k] & 0xff);
                fputc(')', f);
        }
        if (count[DMAR_TYPE_ATSR])
                fprintf(f, "; %zu ATSR [%zu root ports]", count[DMAR_TYPE_ATSR], atsr_ports);
        if (count[DMAR_TYPE_RHSA])
                fprintf(f, "; %zu RHSA", count[DMAR_TYPE_RHSA]);
        if (count[DMAR_TYPE_ANDD])
                fprintf(f, "; %zu ANDD", count[DMAR_TYPE_ANDD]);
        if (count[DMAR_TYPE_SATC])
                fprintf(f, "; %zu SATC%s", count[DMAR_TYPE_SATC],
                        satc_atc == count[DMAR_TYPE_SATC] ? " (ATC_REQUIRED)" : "");
        if (count[DMAR_TYPE_SIDP])
                fprintf(f, "; %zu SIDP(type 6)", count[DMAR_TYPE_SIDP]);
        fprintf(f, "; segments");
        for (unsigned k = 0; k < n_segments; k++)
                fprintf(f, "%s%x", k ? "," : " ", segments[k]);
        if (max_hops > 1)
                fprintf(f, "; multi-hop scope path (max %zu)", max_hops);
        fprintf(f, "; scope types ");
        sep = "";
        for (unsigned k = 1; k < ELEMENTSOF(scope_seen); k++)
                if (scope_seen[k]) {
                        fprintf(f, "%s%s", sep, scope_words[k]);
                        sep = "/";
                }
        ck_assert_int_eq(fclose(f), 0);
}

START_TEST(corpus_against_sources) {
        size_t n, n_facts;
        char **names = list_tables(&n);
        source_facts *facts = read_sources(&n_facts);

        ck_assert_uint_eq(n_facts, n);
        for (size_t i = 0; i < n; i++) {
                const source_facts *sf = NULL;
                char path[4096], summary[1024];
                _cleanup_free_ void *bin = NULL;
                _cleanup_(dmar_table_freep) dmar_table *t = NULL;
                _cleanup_json_ json_object *j = NULL;
                json_object *v;
                size_t size;

                for (size_t k = 0; k < n_facts; k++)
                        if (streq(facts[k].name, names[i]))
                                sf = &facts[k];
                ck_assert_msg(sf, "%s is not described in SOURCES.md", names[i]);
                ck_assert_msg(sf->contents[0], "SOURCES.md %s has no Contents line", names[i]);

                (void) snprintf(path, sizeof path, "%s/dmar/%s.bin", testdata(), names[i]);
                bin = read_file(path, &size);
                t = parse_ok(names[i], bin, size);
                ck_assert_uint_eq(t->length, sf->bytes);
                ck_assert_uint_eq(size, sf->bytes);

                summarize(t, summary, sizeof summary);
                ck_assert_msg(streq(summary, sf->contents), "%s:\n  SOURCES.md: %s\n  parser:     %s",
                              names[i], sf->contents, summary);

                /* SOURCES.md writes the OEM strings the way the JSON model does:
                 * raw bytes up to the NULs, \xNN for non-printable ones */
                j = dmar_to_json(t);
                ck_assert_ptr_nonnull(j);
                ck_assert(json_object_object_get_ex(j, "oem_id", &v));
                ck_assert_msg(streq(json_object_get_string(v), sf->oem_id),
                              "%s: oem_id \"%s\", SOURCES.md \"%s\"", names[i], json_object_get_string(v),
                              sf->oem_id);
                ck_assert(json_object_object_get_ex(j, "oem_table_id", &v));
                ck_assert_msg(streq(json_object_get_string(v), sf->oem_table_id),
                              "%s: oem_table_id \"%s\", SOURCES.md \"%s\"", names[i],
                              json_object_get_string(v), sf->oem_table_id);
        }
        free(facts);
        free_names(names, n);
}
END_TEST

/* ---- the two tables with SATC and SIDP, read by hand from their hex dumps ---- */

typedef struct want_scope {
        uint8_t type, flags, device, function;
} want_scope;

static void check_scopes(const char *ctx, const dmar_structure *s, const want_scope *w, size_t n) {
        ck_assert_msg(s->n_scopes == n, "%s: %zu scopes, expected %zu", ctx, s->n_scopes, n);
        for (size_t i = 0; i < n; i++) {
                ck_assert_uint_eq(s->scopes[i].type_id, w[i].type);
                ck_assert_uint_eq(s->scopes[i].flags, w[i].flags);
                ck_assert_uint_eq(s->scopes[i].start_bus, 0);
                ck_assert_uint_eq(s->scopes[i].enumeration_id, 0);
                ck_assert_uint_eq(s->scopes[i].n_path, 1);
                ck_assert_uint_eq(s->scopes[i].path[0].device, w[i].device);
                ck_assert_uint_eq(s->scopes[i].path[0].function, w[i].function);
        }
}

START_TEST(corpus_satc_sidp) {
        static const struct {
                const char *name;
                size_t n_structures, satc_offset, sidp_offset;
                want_scope satc[3], sidp[3];
                size_t n_satc, n_sidp;
        } tables[] = {
                /* 0068: 05 00 18 00 01 00 00 00 | 01 08 00 00 00 00 02 00 | 01 08 00 00 00 00 0B 00
                 * 0080: 06 00 18 00 00 00 00 00 | 01 08 1F 00 00 00 02 00 | 01 08 1C 00 00 00 0B 00 */
                { "framework-laptop13-mtl",
                  4,
                  0x68,
                  0x80,
                  { { 1, 0, 0x02, 0 }, { 1, 0, 0x0b, 0 } },
                  { { 1, 0x1f, 0x02, 0 }, { 1, 0x1c, 0x0b, 0 } },
                  2,
                  2 },
                /* 0098: 05 00 20 00 01 00 00 00 | 02.0 | 05.0 | 0B.0
                 * 00B8: 06 00 20 00 00 00 00 00 | 1F 02.0 | 1F 05.0 | 1C 0B.0 */
                { "msi-prestige13-ai-evo-lnl",
                  5,
                  0x98,
                  0xb8,
                  { { 1, 0, 0x02, 0 }, { 1, 0, 0x05, 0 }, { 1, 0, 0x0b, 0 } },
                  { { 1, 0x1f, 0x02, 0 }, { 1, 0x1f, 0x05, 0 }, { 1, 0x1c, 0x0b, 0 } },
                  3,
                  3 },
        };

        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                char path[4096];
                _cleanup_free_ void *bin = NULL;
                _cleanup_(dmar_table_freep) dmar_table *t = NULL;
                const dmar_structure *satc, *sidp;
                size_t size;

                (void) snprintf(path, sizeof path, "%s/dmar/%s.bin", testdata(), tables[i].name);
                bin = read_file(path, &size);
                t = parse_ok(tables[i].name, bin, size);
                ck_assert_uint_eq(t->n_structures, tables[i].n_structures);
                satc = &t->structures[t->n_structures - 2];
                sidp = &t->structures[t->n_structures - 1];
                ck_assert_int_eq(satc->type, DMAR_TYPE_SATC);
                ck_assert_uint_eq(satc->offset, tables[i].satc_offset);
                ck_assert_uint_eq(satc->flags, DMAR_SATC_ATC_REQUIRED);
                ck_assert_uint_eq(satc->segment, 0);
                check_scopes(tables[i].name, satc, tables[i].satc, tables[i].n_satc);
                ck_assert_int_eq(sidp->type, DMAR_TYPE_SIDP);
                ck_assert_uint_eq(sidp->offset, tables[i].sidp_offset);
                ck_assert_uint_eq(sidp->segment, 0);
                check_scopes(tables[i].name, sidp, tables[i].sidp, tables[i].n_sidp);
        }
}
END_TEST

/* ---- the live oracle: generated tables through the installed iasl ---- */

static uint64_t rng_state;

static uint64_t rnd(void) { /* splitmix64 */
        uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static unsigned below(unsigned n) {
        return (unsigned) (rnd() % n);
}

typedef struct gen {
        uint8_t buf[16384];
        size_t n;
} gen;

static void put8(gen *g, unsigned v) {
        ck_assert_uint_lt(g->n, sizeof g->buf);
        g->buf[g->n++] = (uint8_t) v;
}

static void put_le(gen *g, uint64_t v, size_t bytes) {
        ck_assert_uint_le(bytes, 8);
        for (size_t i = 0; i < bytes; i++)
                put8(g, (unsigned) (v >> (8 * i)) & 0xff);
}

static void put_id(gen *g, size_t width) {
        static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-.\"\\";
        size_t n = below((unsigned) width + 1);
        for (size_t i = 0; i < width; i++)
                put8(g, i < n ? (unsigned) chars[below(sizeof chars - 1)] : 0);
}

static void put_scope(gen *g) {
        static const uint8_t reserved_types[] = { 0, 6, 7, 0x80, 0xff };
        unsigned type = below(20) == 0 ? reserved_types[below(ELEMENTSOF(reserved_types))] : 1 + below(5);
        unsigned hops = below(25) == 0 ? 0 : 1 + below(4);

        put8(g, type);
        put8(g, 6 + 2 * hops);
        put8(g, below(10) == 0 ? below(256) : 0); /* flags (VT-d 4.1), reserved before */
        put8(g, 0);
        put8(g, below(256)); /* enumeration ID */
        put8(g, below(4) == 0 ? below(256) : 0);
        for (unsigned h = 0; h < hops; h++) {
                put8(g, below(8) == 0 ? below(256) : below(32));
                put8(g, below(8) == 0 ? below(256) : below(8));
        }
}

static void put_scopes(gen *g, unsigned min, unsigned max) {
        unsigned n = min + below(max - min + 1);
        for (unsigned i = 0; i < n; i++)
                put_scope(g);
}

static unsigned segment(void) {
        static const unsigned segments[] = { 0, 0, 0, 1, 2, 0x10, 0xffff };
        return segments[below(ELEMENTSOF(segments))];
}

static void put_structure(gen *g, unsigned revision) {
        size_t start = g->n;
        unsigned pick = below(100);

        if (pick < 35) { /* DRHD */
                put_le(g, 0, 2);
                put_le(g, 0, 2);
                put8(g, below(3) == 0);
                put8(g, revision >= 2 ? below(16) : (below(10) == 0 ? below(256) : 0));
                put_le(g, segment(), 2);
                put_le(g, rnd() & UINT64_C(0x000ffffffffff000), 8);
                put_scopes(g, 0, 5);
        } else if (pick < 60) { /* RMRR */
                uint64_t base = rnd() & UINT64_C(0x0000fffffffff000);
                put_le(g, 1, 2);
                put_le(g, 0, 2);
                put_le(g, 0, 2);
                put_le(g, segment(), 2);
                put_le(g, base, 8);
                put_le(g, base + (uint64_t) below(0x10000) * 4096 + 0xfff, 8);
                put_scopes(g, 1, 4);
        } else if (pick < 75) { /* ATSR */
                put_le(g, 2, 2);
                put_le(g, 0, 2);
                put8(g, below(2));
                put8(g, 0);
                put_le(g, segment(), 2);
                put_scopes(g, 0, 5);
        } else if (pick < 85) { /* RHSA */
                put_le(g, 3, 2);
                put_le(g, 20, 2);
                put_le(g, 0, 4);
                put_le(g, rnd() & UINT64_C(0x000ffffffffff000), 8);
                put_le(g, (uint32_t) rnd(), 4);
        } else { /* ANDD */
                static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.";
                unsigned len = 1 + below(24), pad = below(5);
                put_le(g, 4, 2);
                put_le(g, 0, 2);
                put_le(g, 0, 3);
                put8(g, below(256));
                put8(g, '\\');
                for (unsigned i = 1; i < len; i++)
                        put8(g, (unsigned) chars[below(sizeof chars - 1)]);
                for (unsigned i = 0; i <= pad; i++)
                        put8(g, 0);
        }
        g->buf[start + 2] = (uint8_t) ((g->n - start) & 0xff);
        g->buf[start + 3] = (uint8_t) ((g->n - start) >> 8);
}

static void generate(gen *g) {
        unsigned revision = below(10) == 0 ? 3 : 1 + below(2);
        unsigned n = below(50) == 0 ? 60 + below(100) : 1 + below(10);
        uint8_t sum = 0;

        g->n = 0;
        put_le(g, 0x52414d44, 4); /* "DMAR" */
        put_le(g, 0, 4);
        put8(g, revision);
        put8(g, 0);
        put_id(g, 6);
        put_id(g, 8);
        put_le(g, (uint32_t) rnd(), 4);
        put_id(g, 4);
        put_le(g, (uint32_t) rnd(), 4);
        put8(g, 0x1f + below(0x21));
        put8(g, below(8));
        for (unsigned i = 0; i < 10; i++) /* reserved */
                put8(g, 0);
        for (unsigned i = 0; i < n; i++)
                put_structure(g, revision);
        for (size_t i = 0; i < 4; i++)
                g->buf[4 + i] = (uint8_t) (g->n >> (8 * i));
        for (size_t i = 0; i < g->n; i++)
                sum = (uint8_t) (sum + g->buf[i]);
        g->buf[9] = (uint8_t) -sum;
}

static bool find_in_path(const char *prog) {
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/bin:/bin");

        ck_assert_ptr_nonnull(copy);
        for (char *dir = strtok(copy, ":"); dir; dir = strtok(NULL, ":")) {
                char p[4096];
                (void) snprintf(p, sizeof p, "%s/%s", dir, prog);
                if (access(p, X_OK) == 0)
                        return true;
        }
        return false;
}

/* iasl -d on all of them at once, in dir, its chatter to dir/iasl.log */
static void run_iasl(const char *dir, char **files, size_t n) {
        char log[4200];
        char **argv = calloc(n + 3, sizeof *argv);
        int status;
        pid_t pid;

        ck_assert_ptr_nonnull(argv);
        argv[0] = (char *) "iasl";
        argv[1] = (char *) "-d";
        memcpy(argv + 2, files, n * sizeof *argv);
        (void) snprintf(log, sizeof log, "%s/iasl.log", dir);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || chdir(dir) < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
                        _exit(126);
                execvp("iasl", argv);
                _exit(127);
        }
        free(argv);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "iasl -d failed (status 0x%x), see %s",
                      status, log);
}

/* The scratch directory is made and removed by the parent test process
 * (an unchecked fixture), so it goes away however the test ends: a failed
 * assertion ends the forked test process with _exit(). */
static char scratch[4096];

static void make_scratch(void) {
        const char *tmp = getenv("TMPDIR");

        (void) snprintf(scratch, sizeof scratch, "%s/test-dmar-iasl.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch))
                scratch[0] = '\0';
}

static void remove_scratch(void) {
        DIR *d;
        struct dirent *de;

        if (!scratch[0] || !(d = opendir(scratch)))
                return;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
        (void) rmdir(scratch);
        scratch[0] = '\0';
}

START_TEST(generated_against_live_iasl) {
        char dir[4096], **files;
        gen *g = malloc(GENERATED_TABLES * sizeof *g);
        size_t structures = 0, scopes = 0, hops = 0, type_count[5] = {}, scope_count[7] = {},
               revisions[4] = {};

        ck_assert_msg(find_in_path("iasl"),
                      "iasl is not installed: install the Debian package acpica-tools (tools/setup does)");
        ck_assert_ptr_nonnull(g);
        ck_assert_msg(scratch[0], "could not make a scratch directory in TMPDIR");
        memcpy(dir, scratch, sizeof dir);
        files = calloc(GENERATED_TABLES, sizeof *files);
        ck_assert_ptr_nonnull(files);

        rng_state = GENERATOR_SEED;
        for (size_t i = 0; i < GENERATED_TABLES; i++) {
                char path[4200];
                FILE *f;

                generate(&g[i]);
                ck_assert_int_ge(asprintf(&files[i], "g%03zu.dat", i), 0);
                (void) snprintf(path, sizeof path, "%s/%s", dir, files[i]);
                f = fopen(path, "we");
                ck_assert_msg(f, "%s: %m", path);
                ck_assert_uint_eq(fwrite(g[i].buf, 1, g[i].n, f), g[i].n);
                ck_assert_int_eq(fclose(f), 0);
        }

        run_iasl(dir, files, GENERATED_TABLES);

        for (size_t i = 0; i < GENERATED_TABLES; i++) {
                char path[4200], ctx[64], error[512];
                _cleanup_free_ char *text = NULL;
                _cleanup_(dmar_table_freep) dmar_table *t = NULL;
                iasl_text x = {};
                size_t size;

                (void) snprintf(ctx, sizeof ctx, "generated table %zu", i);
                (void) snprintf(path, sizeof path, "%s/g%03zu.dsl", dir, i);
                text = read_file(path, &size);
                ck_assert_msg(iasl_text_parse(text, &x, error, sizeof error) == 0, "%s: %s", path, error);
                t = parse_ok(ctx, g[i].buf, g[i].n);
                ck_assert_uint_eq(compare_with_iasl(ctx, g[i].buf, g[i].n, t, &x), t->n_structures);
                iasl_text_done(&x);

                structures += t->n_structures;
                revisions[t->revision < 4 ? t->revision : 0]++;
                for (size_t k = 0; k < t->n_structures; k++) {
                        const dmar_structure *s = &t->structures[k];
                        type_count[s->type]++;
                        scopes += s->n_scopes;
                        for (size_t j = 0; j < s->n_scopes; j++) {
                                hops += s->scopes[j].n_path;
                                scope_count[s->scopes[j].type_id <= 5 ? s->scopes[j].type_id : 6]++;
                        }
                }
                free(files[i]);
        }
        printf("# %d generated tables (revision 1/2/3: %zu/%zu/%zu; %zu structures: %zu DRHD %zu RMRR "
               "%zu ATSR %zu RHSA %zu ANDD; %zu device scopes: %zu endpoint %zu bridge %zu ioapic %zu hpet "
               "%zu acpi_namespace %zu reserved types; %zu path hops) agree with the live iasl -d\n",
               GENERATED_TABLES, revisions[1], revisions[2], revisions[3], structures, type_count[0],
               type_count[1], type_count[2], type_count[3], type_count[4], scopes, scope_count[1],
               scope_count[2], scope_count[3], scope_count[4], scope_count[5],
               scope_count[0] + scope_count[6], hops);
        fflush(stdout);
        for (size_t k = 0; k < 5; k++)
                ck_assert_uint_gt(type_count[k], 0);
        for (size_t k = 0; k < 7; k++)
                ck_assert_uint_gt(scope_count[k], 0);

        free(files);
        free(g);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("dmar-corpus");
        TCase *tc = tcase_create("corpus");
        TCase *live = tcase_create("live-iasl");

        tcase_add_test(tc, iasl_reader_is_strict);
        tcase_add_test(tc, corpus_is_complete);
        tcase_add_test(tc, corpus_against_iasl);
        tcase_add_test(tc, corpus_against_sources);
        tcase_add_test(tc, corpus_satc_sidp);
        suite_add_tcase(s, tc);
        tcase_add_unchecked_fixture(live, make_scratch, remove_scratch);
        tcase_add_test(live, generated_against_live_iasl);
        suite_add_tcase(s, live);
        return s;
}
