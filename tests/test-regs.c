/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VT-d register map: the descriptor tables are consistent with their
 * X-macro positions and with each other, and real register values decode to
 * what independent sources say they mean.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "check-main.h"
#include "decode/field.h"
#include "decode/layouts.h"
#include "decode/regs.h"

/* ---- helpers ---- */

static const field_desc *field_named(const layout *l, const char *name) {
        for (size_t i = 0; i < l->n_fields; i++)
                if (streq(l->fields[i].name, name))
                        return &l->fields[i];
        ck_abort_msg("%s has no field %s", l->name, name);
        return NULL;
}

/* The raw value of a field, through the descriptor table. */
static uint64_t raw_of(const layout *l, const char *name, const uint64_t *v) {
        return field_raw(field_named(l, name), v);
}

static uint64_t derived_of(const layout *l, const char *name, const uint64_t *v) {
        const field_desc *f = field_named(l, name);
        uint64_t d = 0;

        ck_assert_msg(field_derived(f, field_raw(f, v), &d), "%s.%s has no derived number", l->name, name);
        return d;
}

static const char *meaning_of(const layout *l, const char *name, const uint64_t *v, char *buf, size_t size) {
        const field_desc *f = field_named(l, name);
        return field_meaning(f, field_raw(f, v), buf, size);
}

static json_object *json_path(json_object *o, const char *a, const char *b, const char *c) {
        json_object *r = o;
        const char *keys[] = { a, b, c };

        for (size_t i = 0; i < ELEMENTSOF(keys) && keys[i]; i++) {
                json_object *n = NULL;
                ck_assert_msg(json_object_object_get_ex(r, keys[i], &n), "no JSON key %s", keys[i]);
                r = n;
        }
        return r;
}

static uint64_t json_field_u64(json_object *o, const char *field, const char *key) {
        json_object *n = json_path(o, "fields", field, key);
        ck_assert(json_object_is_type(n, json_type_int));
        return json_object_get_uint64(n);
}

static const char *json_field_str(json_object *o, const char *field, const char *key) {
        json_object *n = json_path(o, "fields", field, key);
        ck_assert(json_object_is_type(n, json_type_string));
        return json_object_get_string(n);
}

static bool is_lower_name(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (!(islower((unsigned char) *s) || isdigit((unsigned char) *s) || *s == '_'))
                        return false;
        return true;
}

/* ---- the tables themselves ---- */

START_TEST(fields_match_xmacros) {
        ck_assert_uint_gt(n_register_layouts, 0);

        for (size_t n = 0; n < n_register_layouts; n++) {
                const layout *l = register_layouts[n];

                ck_assert_ptr_nonnull(l);
                ck_assert_msg(is_lower_name(l->name), "layout name %s", l->name);
                ck_assert_msg(l->title && *l->title, "%s has no title", l->name);
                ck_assert_int_eq(l->kind, LAYOUT_REGISTER);
                ck_assert_msg(l->width == 32 || l->width == 64 || l->width == 128, "%s width %u", l->name,
                              l->width);
                ck_assert_msg(l->n_fields > 0 && l->fields, "%s has no fields", l->name);
                ck_assert_msg(l->check, "%s has no X-macro check", l->name);

                for (size_t i = 0; i < l->n_fields; i++) {
                        const field_desc *f = &l->fields[i];
                        const layout_check *c = &l->check[i];

                        ck_assert_msg(is_lower_name(f->name), "%s field %zu name %s", l->name, i,
                                      f->name ? f->name : "(null)");
                        ck_assert_msg(strcasecmp(f->name, c->mnemonic) == 0,
                                      "%s field %zu: %s vs X-macro %s", l->name, i, f->name, c->mnemonic);
                        ck_assert_msg(f->lo == c->lo && f->width == c->width,
                                      "%s.%s: %u/%u vs X-macro %u/%u", l->name, f->name, f->lo, f->width,
                                      c->lo, c->width);
                        ck_assert_msg(f->title && *f->title, "%s.%s has no title", l->name, f->name);
                        ck_assert_msg(f->width >= 1 && f->width <= 64, "%s.%s width %u", l->name, f->name,
                                      f->width);
                        ck_assert_msg(f->lo + f->width <= l->width, "%s.%s beyond the register", l->name,
                                      f->name);
                        ck_assert_msg(f->kind >= 0 && f->kind < _FIELD_KIND_MAX, "%s.%s kind", l->name,
                                      f->name);

                        /* sorted by lo, no overlap */
                        if (i > 0) {
                                const field_desc *p = &l->fields[i - 1];
                                ck_assert_msg(f->lo >= p->lo + p->width, "%s.%s overlaps or precedes %s",
                                              l->name, f->name, p->name);
                        }
                        /* names unique within the layout */
                        for (size_t j = 0; j < i; j++)
                                ck_assert_msg(!streq(f->name, l->fields[j].name), "%s.%s twice", l->name,
                                              f->name);

                        if (f->kind == FIELD_FLAG) {
                                ck_assert_msg(f->width == 1, "%s.%s: flag of width %u", l->name, f->name,
                                              f->width);
                                ck_assert_uint_le(f->n_values, 2);
                        }
                        if (f->kind == FIELD_ENUM || f->kind == FIELD_BITMAP || f->kind == FIELD_FLAG) {
                                ck_assert_msg(!f->values == !f->n_values, "%s.%s values/n_values", l->name,
                                              f->name);
                                if (f->width < 64)
                                        ck_assert_msg(f->n_values <= (UINT64_C(1) << f->width),
                                                      "%s.%s: %u values for %u bits", l->name, f->name,
                                                      f->n_values, f->width);
                        }
                        if (f->kind == FIELD_ENUM)
                                ck_assert_msg(f->values, "%s.%s: enum without names", l->name, f->name);
                        if (f->kind == FIELD_BITMAP)
                                ck_assert_msg(f->n_values <= f->width, "%s.%s: values beyond its bits",
                                              l->name, f->name);
                        /* numbers of values are shown only as an enum's or a bitmap's derived numbers */
                        for (size_t k = 0; k < f->n_values; k++)
                                if (f->values[k].number)
                                        ck_assert_msg((f->kind == FIELD_BITMAP || f->kind == FIELD_ENUM) &&
                                                              f->derived,
                                                      "%s.%s value %zu has a number", l->name, f->name, k);
                        if (f->kind == FIELD_ADDRESS)
                                ck_assert_msg(f->lo % 64 + f->width <= 64, "%s.%s address crosses a qword",
                                              l->name, f->name);
                        if (f->derived)
                                ck_assert_msg(is_lower_name(f->derived), "%s.%s derived key %s", l->name,
                                              f->name, f->derived);
                }
        }
}
END_TEST

START_TEST(layout_names_and_offsets) {
        uint64_t last_fixed_end = 0;
        int last_base = LAYOUT_BASE_FIXED;

        for (size_t n = 0; n < n_register_layouts; n++) {
                const layout *l = register_layouts[n];
                unsigned bytes = l->width / 8;

                /* unique names, and the registry finds this very layout */
                for (size_t m = 0; m < n; m++)
                        ck_assert_msg(strcasecmp(l->name, register_layouts[m]->name) != 0, "layout %s twice",
                                      l->name);
                ck_assert_ptr_eq(layout_find(l->name), l);

                /* fixed registers first, then IRO-relative, then FRO-relative */
                ck_assert_msg((int) l->base >= last_base, "%s out of order", l->name);
                last_base = (int) l->base;

                ck_assert_msg(l->offset % bytes == 0, "%s at 0x%x is not %u-byte aligned", l->name,
                              l->offset, bytes);
                if (l->base != LAYOUT_BASE_FIXED)
                        continue;
                /* in offset order, so unique and never overlapping */
                ck_assert_msg(n == 0 || l->offset >= last_fixed_end,
                              "%s at 0x%x overlaps the register before", l->name, l->offset);
                last_fixed_end = (uint64_t) l->offset + bytes;
        }
        ck_assert_ptr_eq(layout_find("FRCD"), &layout_frcd);
        ck_assert_ptr_eq(layout_find("mtrr_physmask9"), &layout_mtrr_physmask[9]);
        ck_assert_uint_eq(layout_mtrr_physmask[9].offset, 0x218);
        ck_assert_uint_eq(layout_eccap3.offset, 0x448);
}
END_TEST

/* Access widths from Linux's debugfs register dump (drivers/iommu/intel/
 * debugfs.c: iommu_regs_32[] and iommu_regs_64[]), an independent list. */
START_TEST(access_widths) {
        static const char *const regs32[] = {
                "ver",     "gcmd",     "gsts", "fsts", "fectl", "fedata", "feaddr", "feuaddr", "pmen",
                "plmbase", "plmlimit", "ics",  "prs",  "pectl", "pedata", "peaddr", "peuaddr",
        };
        static const char *const regs64[] = {
                "cap",
                "ecap",
                "rtaddr",
                "ccmd",
                "aflog",
                "phmbase",
                "phmlimit",
                "iqh",
                "iqt",
                "iqa",
                "irta",
                "pqh",
                "pqt",
                "pqa",
                "mtrrcap",
                "mtrrdef",
                "mtrr_fix64k_00000",
                "mtrr_fix4k_f8000",
                "mtrr_physbase0",
                "mtrr_physmask9",
        };

        for (size_t i = 0; i < ELEMENTSOF(regs32); i++) {
                const layout *l = layout_find(regs32[i]);
                ck_assert_msg(l, "no layout %s", regs32[i]);
                ck_assert_msg(l->width == 32, "%s must be accessed 32 bits wide", regs32[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(regs64); i++) {
                const layout *l = layout_find(regs64[i]);
                ck_assert_msg(l, "no layout %s", regs64[i]);
                ck_assert_msg(l->width == 64, "%s is a 64-bit register", regs64[i]);
        }
        ck_assert_uint_eq(layout_frcd.width, 128);
}
END_TEST

/*
 * Registers a unit has only when a capability says so, from the VT-d
 * specification (rev 4.1, chapter 11: each register's description says
 * when it is "reported as 0"/RsvdZ; 11.4.2 and 11.4.3 for the CAP and ECAP
 * bits), written out here as an independent statement.  Patterns stand for
 * the register arrays.  Every register not listed is in every unit.
 */
static const struct {
        const char *layouts; /* fnmatch(3) pattern */
        const char *reg;     /* "cap" or "ecap" */
        const char *fields[2];
        size_t registers; /* how many the pattern stands for; 0: one */
} spec_requires[] = {
        { "aflog", "cap", { "afl" } },         /* advanced fault logging */
        { "pmen", "cap", { "plmr", "phmr" } }, /* RsvdZ when both are 0 */
        { "plmbase", "cap", { "plmr" } },
        { "plmlimit", "cap", { "plmr" } },
        { "phmbase", "cap", { "phmr" } },
        { "phmlimit", "cap", { "phmr" } },
        { "iqh", "ecap", { "qi" } }, /* queued invalidation */
        { "iqt", "ecap", { "qi" } },
        { "iqa", "ecap", { "qi" } },
        { "ics", "ecap", { "qi" } },
        { "iectl", "ecap", { "qi" } },
        { "iedata", "ecap", { "qi" } },
        { "ieaddr", "ecap", { "qi" } },
        { "ieuaddr", "ecap", { "qi" } },
        { "iqercd", "ecap", { "qi" } },
        { "irta", "ecap", { "ir" } }, /* interrupt remapping */
        { "pqh", "ecap", { "prs" } }, /* page requests */
        { "pqt", "ecap", { "prs" } },
        { "pqa", "ecap", { "prs" } },
        { "prs", "ecap", { "prs" } },
        { "pectl", "ecap", { "prs" } },
        { "pedata", "ecap", { "prs" } },
        { "peaddr", "ecap", { "prs" } },
        { "peuaddr", "ecap", { "prs" } },
        { "mtrrcap", "ecap", { "mts" } }, /* memory type support */
        { "mtrrdef", "ecap", { "mts" } },
        { "mtrr_fix*", "ecap", { "mts" }, 11 },
        { "mtrr_physbase[0-9]", "ecap", { "mts" }, 10 },
        { "mtrr_physmask[0-9]", "ecap", { "mts" }, 10 },
        { "perfcap", "ecap", { "pms" } }, /* performance monitoring */
        { "perfcfgoff", "ecap", { "pms" } },
        { "perffrzoff", "ecap", { "pms" } },
        { "perfovfoff", "ecap", { "pms" } },
        { "perfcntroff", "ecap", { "pms" } },
        { "perfintrsts", "ecap", { "pms" } },
        { "perfintrctl", "ecap", { "pms" } },
        { "perfevntcap", "ecap", { "pms" } },
        { "ecmd", "cap", { "ecmds" } }, /* enhanced commands */
        { "eceo", "cap", { "ecmds" } },
        { "ecrsp", "cap", { "ecmds" } },
        { "eccap[0-3]", "cap", { "ecmds" }, 4 },
};

static uint64_t field_mask(const layout *l, const char *name) {
        const field_desc *f = field_named(l, name);
        ck_assert_uint_eq(f->width, 1);
        return UINT64_C(1) << f->lo;
}

START_TEST(register_requirements) {
        size_t matched[ELEMENTSOF(spec_requires)] = {};

        for (size_t n = 0; n < n_register_layouts; n++) {
                const layout *l = register_layouts[n];
                uint64_t cap = 0, ecap = 0;

                for (size_t i = 0; i < ELEMENTSOF(spec_requires); i++) {
                        bool is_cap = streq(spec_requires[i].reg, "cap");
                        if (fnmatch(spec_requires[i].layouts, l->name, 0) != 0)
                                continue;
                        matched[i]++;
                        for (size_t k = 0; k < ELEMENTSOF(spec_requires[i].fields); k++) {
                                const char *fname = spec_requires[i].fields[k];
                                if (!fname)
                                        continue;
                                if (is_cap)
                                        cap |= field_mask(&layout_cap, fname);
                                else
                                        ecap |= field_mask(&layout_ecap, fname);
                        }
                }
                ck_assert_msg(l->requires.cap == cap && l->requires.ecap == ecap,
                              "%s requires cap 0x%" PRIx64 " ecap 0x%" PRIx64
                              ", the specification 0x%" PRIx64 " 0x%" PRIx64,
                              l->name, l->requires.cap, l->requires.ecap, cap, ecap);

                /* and layout_implemented() goes by it: any one of the bits
                 * is enough, every other bit is not */
                ck_assert(layout_implemented(l, 0, 0) == (!cap && !ecap));
                for (unsigned b = 0; b < 64; b++) {
                        uint64_t bit = UINT64_C(1) << b;
                        if (cap & bit)
                                ck_assert_msg(layout_implemented(l, bit, 0), "%s with CAP bit %u", l->name,
                                              b);
                        if (ecap & bit)
                                ck_assert_msg(layout_implemented(l, 0, bit), "%s with ECAP bit %u", l->name,
                                              b);
                }
                if (cap || ecap)
                        ck_assert_msg(!layout_implemented(l, ~cap, ~ecap), "%s without its capability",
                                      l->name);
                ck_assert(layout_implemented(l, UINT64_MAX, UINT64_MAX));
        }
        /* the statement above names only registers that exist, each once */
        for (size_t i = 0; i < ELEMENTSOF(spec_requires); i++) {
                size_t want = spec_requires[i].registers ? spec_requires[i].registers : 1;
                ck_assert_msg(matched[i] == want, "%s matches %zu registers, not %zu",
                              spec_requires[i].layouts, matched[i], want);
        }

        /* entries are in no unit's register file */
        for (size_t i = 0; i < layout_count(); i++)
                if (layout_nth(i)->kind == LAYOUT_ENTRY)
                        ck_assert(!layout_implemented(layout_nth(i), UINT64_MAX, UINT64_MAX));
}
END_TEST

/* QEMU 7.2's unit (CAP and ECAP as below, queued invalidation and
 * interrupt remapping, no page requests, MTRRs, perfmon or enhanced
 * commands) has exactly these registers. */
START_TEST(qemu72_registers) {
        static const char *const expected[] = {
                "ver",    "cap",     "ecap",    "gcmd", "gsts", "rtaddr", "ccmd", "fsts",  "fectl",
                "fedata", "feaddr",  "feuaddr", "iqh",  "iqt",  "iqa",    "ics",  "iectl", "iedata",
                "ieaddr", "ieuaddr", "iqercd",  "irta", "iva",  "iotlb",  "frcd",
        };
        const uint64_t cap = UINT64_C(0xd2008c22260206), ecap = 0xf00f4a;
        size_t k = 0;

        for (size_t n = 0; n < n_register_layouts; n++) {
                const layout *l = register_layouts[n];
                if (!layout_implemented(l, cap, ecap))
                        continue;
                ck_assert_msg(k < ELEMENTSOF(expected), "%s implemented", l->name);
                ck_assert_str_eq(l->name, expected[k]);
                k++;
        }
        ck_assert_uint_eq(k, ELEMENTSOF(expected));
}
END_TEST

/* ---- golden values ---- */

/* A real server unit's CAP as the kernel reports it in
 * /sys/class/iommu/dmarN/intel-iommu/cap; expected values by hand. */
START_TEST(golden_cap) {
        const layout *l = &layout_cap;
        uint64_t v[LAYOUT_MAX_QWORDS] = { UINT64_C(0x00d2008c222f0686) };
        char buf[128];

        ck_assert_uint_eq(FIELD_GET(CAP, ND, v), 6);
        ck_assert_uint_eq(FIELD_GET(CAP, AFL, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, RWBF, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, PLMR, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, PHMR, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, CM, v), 1);
        ck_assert_uint_eq(FIELD_GET(CAP, SAGAW, v), 0x6);
        ck_assert_uint_eq(FIELD_GET(CAP, MGAW, v), 47);
        ck_assert_uint_eq(FIELD_GET(CAP, ZLR, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, FRO, v), 0x22);
        ck_assert_uint_eq(FIELD_GET(CAP, SLLPS, v), 0x3);
        ck_assert_uint_eq(FIELD_GET(CAP, PSI, v), 1);
        ck_assert_uint_eq(FIELD_GET(CAP, NFR, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, MAMV, v), 18);
        ck_assert_uint_eq(FIELD_GET(CAP, DWD, v), 1);
        ck_assert_uint_eq(FIELD_GET(CAP, DRD, v), 1);
        ck_assert_uint_eq(FIELD_GET(CAP, FS1GP, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, PI, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, FS5LP, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, ECMDS, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, ESRTPS, v), 0);
        ck_assert_uint_eq(FIELD_MASK64(CAP, FRO), UINT64_C(0x3ff000000));

        /* the same through the descriptor tables */
        ck_assert_uint_eq(raw_of(l, "nd", v), 6);
        ck_assert_uint_eq(derived_of(l, "nd", v), 65536);
        ck_assert_uint_eq(raw_of(l, "mgaw", v), 47);
        ck_assert_uint_eq(derived_of(l, "mgaw", v), 48);
        ck_assert_uint_eq(raw_of(l, "fro", v), 0x22);
        ck_assert_uint_eq(derived_of(l, "fro", v), 0x220);
        ck_assert_uint_eq(raw_of(l, "nfr", v), 0);
        ck_assert_uint_eq(derived_of(l, "nfr", v), 1);
        ck_assert_uint_eq(raw_of(l, "mamv", v), 18);
        ck_assert_uint_eq(derived_of(l, "mamv", v), 262144);
        ck_assert_uint_eq(raw_of(l, "cm", v), 1);
        ck_assert_uint_eq(raw_of(l, "dwd", v), 1);
        ck_assert_uint_eq(raw_of(l, "drd", v), 1);
        ck_assert_uint_eq(raw_of(l, "psi", v), 1);
        ck_assert_uint_eq(raw_of(l, "zlr", v), 0);
        ck_assert_str_eq(meaning_of(l, "nd", v, buf, sizeof buf), "65536 domains");
        ck_assert_str_eq(meaning_of(l, "mgaw", v, buf, sizeof buf), "48 bits");
        ck_assert_str_eq(meaning_of(l, "fro", v, buf, sizeof buf), "0x220");
        ck_assert_str_eq(meaning_of(l, "nfr", v, buf, sizeof buf), "1 record");
        ck_assert_str_eq(meaning_of(l, "sagaw", v, buf, sizeof buf), "39-bit (3-level), 48-bit (4-level)");
        ck_assert_str_eq(meaning_of(l, "sllps", v, buf, sizeof buf), "2 MiB, 1 GiB");
        ck_assert_str_eq(meaning_of(l, "rwbf", v, buf, sizeof buf), "not required");
        ck_assert_str_eq(meaning_of(l, "cm", v, buf, sizeof buf), "yes");
        ck_assert(!layout_reserved_set(l, v));

        _cleanup_json_ json_object *o = layout_to_json(l, v);
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(json_object_get_string(json_path(o, "register", NULL, NULL)), "cap");
        ck_assert_uint_eq(json_object_get_uint64(json_path(o, "value", NULL, NULL)),
                          UINT64_C(0x00d2008c222f0686));
        ck_assert_uint_eq(json_object_get_uint64(json_path(o, "reserved", NULL, NULL)), 0);
        ck_assert_uint_eq(json_field_u64(o, "nd", "raw"), 6);
        ck_assert_uint_eq(json_field_u64(o, "nd", "domains"), 65536);
        ck_assert_uint_eq(json_field_u64(o, "mgaw", "raw"), 47);
        ck_assert_uint_eq(json_field_u64(o, "mgaw", "bits"), 48);
        ck_assert_uint_eq(json_field_u64(o, "fro", "raw"), 0x22);
        ck_assert_uint_eq(json_field_u64(o, "fro", "offset"), 0x220);
        ck_assert_uint_eq(json_field_u64(o, "nfr", "records"), 1);
        ck_assert_uint_eq(json_field_u64(o, "sagaw", "raw"), 6);
        ck_assert_uint_eq(json_field_u64(o, "cm", "raw"), 1);
        ck_assert_str_eq(json_field_str(o, "cm", "meaning"), "yes");
        ck_assert_str_eq(json_field_str(o, "nd", "position"), "2:0");
        ck_assert_str_eq(json_field_str(o, "fro", "position"), "33:24");

        json_object *widths = json_path(o, "fields", "sagaw", "address_widths");
        ck_assert_uint_eq(json_object_array_length(widths), 2);
        ck_assert_uint_eq(json_object_get_uint64(json_object_array_get_idx(widths, 0)), 39);
        ck_assert_uint_eq(json_object_get_uint64(json_object_array_get_idx(widths, 1)), 48);
        json_object *sizes = json_path(o, "fields", "sllps", "page_sizes");
        ck_assert_uint_eq(json_object_array_length(sizes), 2);
        ck_assert_uint_eq(json_object_get_uint64(json_object_array_get_idx(sizes, 0)), UINT64_C(0x200000));
        ck_assert_uint_eq(json_object_get_uint64(json_object_array_get_idx(sizes, 1)), UINT64_C(0x40000000));
        /* ISOCH is deprecated and says so */
        ck_assert(json_object_get_boolean(json_path(o, "fields", "isoch", "deprecated")));
}
END_TEST

/* The ECAP that goes with the CAP above. */
START_TEST(golden_ecap) {
        const layout *l = &layout_ecap;
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0xf46 };
        char buf[64];

        ck_assert_uint_eq(FIELD_GET(ECAP, C, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, QI, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, DT, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, IR, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, EIM, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, PT, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, SC, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, IRO, v), 0xf);
        ck_assert_uint_eq(FIELD_GET(ECAP, MHMV, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, SMTS, v), 0);

        ck_assert_uint_eq(raw_of(l, "c", v), 0);
        ck_assert_uint_eq(raw_of(l, "qi", v), 1);
        ck_assert_uint_eq(raw_of(l, "dt", v), 1);
        ck_assert_uint_eq(raw_of(l, "ir", v), 0);
        ck_assert_uint_eq(raw_of(l, "eim", v), 0);
        ck_assert_uint_eq(raw_of(l, "pt", v), 1);
        ck_assert_uint_eq(raw_of(l, "sc", v), 0);
        ck_assert_uint_eq(raw_of(l, "iro", v), 0xf);
        ck_assert_uint_eq(derived_of(l, "iro", v), 0xf0);
        ck_assert_str_eq(meaning_of(l, "iro", v, buf, sizeof buf), "0xf0");
        ck_assert_str_eq(meaning_of(l, "qi", v, buf, sizeof buf), "yes");
        ck_assert_str_eq(meaning_of(l, "ir", v, buf, sizeof buf), "no");
        ck_assert(!layout_reserved_set(l, v));

        _cleanup_json_ json_object *o = layout_to_json(l, v);
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(json_object_get_string(json_path(o, "register", NULL, NULL)), "ecap");
        ck_assert_uint_eq(json_field_u64(o, "qi", "raw"), 1);
        ck_assert_uint_eq(json_field_u64(o, "pt", "raw"), 1);
        ck_assert_uint_eq(json_field_u64(o, "iro", "raw"), 0xf);
        ck_assert_uint_eq(json_field_u64(o, "iro", "offset"), 0xf0);
        ck_assert_uint_eq(json_field_u64(o, "pss", "bits"), 1);
}
END_TEST

/*
 * QEMU 7.2's intel-iommu model.  Expected values derived by hand from the
 * constants in hw/i386/intel_iommu_internal.h and vtd_init() in
 * hw/i386/intel_iommu.c of that release, not from this code:
 *   CAP  = VTD_CAP_FRO (0x220 << 20) | VTD_CAP_NFR (0) | VTD_CAP_ND (6)
 *        | VTD_CAP_MAMV (18 << 48) | VTD_CAP_PSI (1 << 39)
 *        | VTD_CAP_SLLPS (bits 34, 35) | VTD_CAP_MGAW(aw) ((aw - 1) << 16)
 *        | VTD_CAP_DRAIN (bits 54, 55, dma-drain=on)
 *        | VTD_CAP_SAGAW_39bit (0x2 << 8) [| VTD_CAP_SAGAW_48bit (0x4 << 8)]
 *   ECAP = VTD_ECAP_QI (1 << 1) | VTD_ECAP_IRO (0xf0 << 4)
 *        | intremap: VTD_ECAP_IR (1 << 3) | VTD_ECAP_MHMV (15 << 20)
 *        | pt=on: VTD_ECAP_PT (1 << 6)
 *        | x-scalable-mode=on: VTD_ECAP_SMTS (1 << 43) | VTD_ECAP_SRS (1 << 31)
 *                              | VTD_ECAP_SLTS (1 << 46)
 */
START_TEST(qemu72_cap_aw39) {
        const layout *l = &layout_cap;
        uint64_t v[LAYOUT_MAX_QWORDS] = { UINT64_C(0xd2008c22260206) };

        ck_assert_uint_eq(FIELD_GET(CAP, ND, v), 6);
        ck_assert_uint_eq(FIELD_GET(CAP, CM, v), 0);      /* caching-mode=off */
        ck_assert_uint_eq(FIELD_GET(CAP, SAGAW, v), 0x2); /* 39-bit only */
        ck_assert_uint_eq(FIELD_GET(CAP, MGAW, v), 38);   /* aw-bits 39 */
        ck_assert_uint_eq(FIELD_GET(CAP, FRO, v), 0x22);  /* DMAR_FRCD_REG_OFFSET 0x220 */
        ck_assert_uint_eq(FIELD_GET(CAP, NFR, v), 0);     /* DMAR_FRCD_REG_NR 1 */
        ck_assert_uint_eq(FIELD_GET(CAP, SLLPS, v), 0x3);
        ck_assert_uint_eq(FIELD_GET(CAP, PSI, v), 1);
        ck_assert_uint_eq(FIELD_GET(CAP, MAMV, v), 18);
        ck_assert_uint_eq(FIELD_GET(CAP, DWD, v), 1);
        ck_assert_uint_eq(FIELD_GET(CAP, DRD, v), 1);
        ck_assert_uint_eq(FIELD_GET(CAP, RWBF, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, FS1GP, v), 0);
        ck_assert_uint_eq(FIELD_GET(CAP, ESRTPS, v), 0);

        ck_assert_uint_eq(derived_of(l, "mgaw", v), 39);
        ck_assert_uint_eq(derived_of(l, "nd", v), 65536);
        ck_assert_uint_eq(derived_of(l, "fro", v), 0x220);
        ck_assert_uint_eq(derived_of(l, "nfr", v), 1);
        ck_assert(!layout_reserved_set(l, v));

        _cleanup_json_ json_object *o = layout_to_json(l, v);
        json_object *widths = json_path(o, "fields", "sagaw", "address_widths");
        ck_assert_uint_eq(json_object_array_length(widths), 1);
        ck_assert_uint_eq(json_object_get_uint64(json_object_array_get_idx(widths, 0)), 39);
        ck_assert_uint_eq(json_field_u64(o, "mgaw", "bits"), 39);
}
END_TEST

START_TEST(qemu72_ecap_intremap) {
        const layout *l = &layout_ecap;
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0xf00f4a };

        ck_assert_uint_eq(FIELD_GET(ECAP, C, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, QI, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, DT, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, IR, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, EIM, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, PT, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, SC, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, IRO, v), 0xf);
        ck_assert_uint_eq(FIELD_GET(ECAP, MHMV, v), 15);
        ck_assert_uint_eq(FIELD_GET(ECAP, SRS, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, SMTS, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, SSTS, v), 0);
        ck_assert_uint_eq(raw_of(l, "mhmv", v), 15);
        ck_assert_uint_eq(derived_of(l, "iro", v), 0xf0);
        ck_assert(!layout_reserved_set(l, v));
}
END_TEST

START_TEST(qemu72_ecap_scalable) {
        const layout *l = &layout_ecap;
        uint64_t v[LAYOUT_MAX_QWORDS] = { UINT64_C(0x480080f00f4a) };

        ck_assert_uint_eq(FIELD_GET(ECAP, QI, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, IR, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, PT, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, IRO, v), 0xf);
        ck_assert_uint_eq(FIELD_GET(ECAP, MHMV, v), 15);
        ck_assert_uint_eq(FIELD_GET(ECAP, SRS, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, SMTS, v), 1);
        ck_assert_uint_eq(FIELD_GET(ECAP, SSTS, v), 1); /* VTD_ECAP_SLTS */
        ck_assert_uint_eq(FIELD_GET(ECAP, FSTS, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, PASID, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, PSS, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, SSADS, v), 0);
        ck_assert_uint_eq(FIELD_GET(ECAP, NEST, v), 0);

        _cleanup_json_ json_object *o = layout_to_json(l, v);
        ck_assert_uint_eq(json_field_u64(o, "smts", "raw"), 1);
        ck_assert_uint_eq(json_field_u64(o, "srs", "raw"), 1);
        ck_assert_uint_eq(json_field_u64(o, "ssts", "raw"), 1);
        ck_assert_uint_eq(json_field_u64(o, "fsts", "raw"), 0);
        ck_assert_uint_eq(json_object_get_uint64(json_path(o, "value", NULL, NULL)),
                          UINT64_C(0x480080f00f4a));
        ck_assert_uint_eq(json_object_get_uint64(json_path(o, "reserved", NULL, NULL)), 0);
}
END_TEST

START_TEST(register_positions) {
        const uint64_t cap = UINT64_C(0x00d2008c222f0686), ecap = 0xf46;
        const uint64_t qcap = UINT64_C(0xd2008c22260206), qecap = 0xf00f4a;

        ck_assert_uint_eq(layout_offset(&layout_iotlb, cap, ecap), 0xf8);
        ck_assert_uint_eq(layout_offset(&layout_iva, cap, ecap), 0xf0);
        ck_assert_uint_eq(layout_offset(&layout_frcd, cap, ecap), 0x220);
        ck_assert_uint_eq(layout_offset(&layout_gsts, cap, ecap), 0x1c);
        ck_assert_uint_eq(layout_offset(&layout_ecap, cap, ecap), 0x10);
        /* QEMU: DMAR_IVA_REG 0xf0, DMAR_IOTLB_REG 0xf8, DMAR_FRCD_REG_0_0 0x220 */
        ck_assert_uint_eq(layout_offset(&layout_iva, qcap, qecap), 0xf0);
        ck_assert_uint_eq(layout_offset(&layout_iotlb, qcap, qecap), 0xf8);
        ck_assert_uint_eq(layout_offset(&layout_frcd, qcap, qecap), 0x220);
}
END_TEST

/* ---- fault records ---- */

START_TEST(frcd_write_fault) {
        const layout *l = &layout_frcd;
        /* A write by 00:02.0 to IOVA 0x12345678 blocked by a read-only page:
         * FI = page address, SID = 0x0010, FR = 0x05, T1 = T2 = 0 (write),
         * AT = 0 (untranslated), no PASID, F = 1. */
        uint64_t v[LAYOUT_MAX_QWORDS] = {
                UINT64_C(0x0000000012345000),
                (UINT64_C(1) << 63) | (UINT64_C(0x05) << 32) | UINT64_C(0x0010),
        };
        char buf[128];

        ck_assert_uint_eq(FIELD_GET(FRCD, F, v), 1);
        ck_assert_uint_eq(FIELD_GET(FRCD, FR, v), FR_WRITE);
        ck_assert_uint_eq(FIELD_GET(FRCD, SID, v), 0x10);
        ck_assert_uint_eq(FIELD_GET(FRCD, FI, v), 0x12345);
        ck_assert_uint_eq(FIELD_GET(FRCD, T1, v), 0);
        ck_assert_uint_eq(FIELD_GET(FRCD, T2, v), 0);
        ck_assert_uint_eq(FIELD_GET(FRCD, AT, v), 0);
        ck_assert_uint_eq(FIELD_GET(FRCD, PP, v), 0);

        ck_assert_uint_eq(raw_of(l, "fr", v), 5);
        ck_assert_uint_eq(raw_of(l, "sid", v), 0x10);
        ck_assert_uint_eq(derived_of(l, "fi", v), UINT64_C(0x12345000));
        ck_assert_str_eq(meaning_of(l, "fr", v, buf, sizeof buf),
                         "write to a page without write permission");
        ck_assert_str_eq(meaning_of(l, "t1", v, buf, sizeof buf), "write or page request");
        ck_assert_str_eq(meaning_of(l, "t2", v, buf, sizeof buf), "write or read");
        ck_assert_str_eq(meaning_of(l, "at", v, buf, sizeof buf), "untranslated");
        ck_assert_str_eq(meaning_of(l, "fi", v, buf, sizeof buf), "0x12345000");
        ck_assert_str_eq(meaning_of(l, "sid", v, buf, sizeof buf), "0x10");
        ck_assert(!layout_reserved_set(l, v));

        _cleanup_json_ json_object *o = layout_to_json(l, v);
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(json_object_get_string(json_path(o, "register", NULL, NULL)), "frcd");
        ck_assert_str_eq(json_object_get_string(json_path(o, "value", NULL, NULL)),
                         "0x80000005000000100000000012345000");
        ck_assert_uint_eq(json_field_u64(o, "fr", "raw"), 5);
        ck_assert_str_eq(json_field_str(o, "fr", "meaning"), "write to a page without write permission");
        ck_assert_str_eq(json_field_str(o, "fr", "position"), "103:96");
        ck_assert_uint_eq(json_field_u64(o, "fi", "address"), UINT64_C(0x12345000));
        ck_assert_uint_eq(json_field_u64(o, "sid", "raw"), 0x10);
        ck_assert_uint_eq(json_field_u64(o, "f", "raw"), 1);
        ck_assert_str_eq(json_field_str(o, "f", "position"), "127");
}
END_TEST

START_TEST(frcd_pasid_read_fault) {
        const layout *l = &layout_frcd;
        /* A supervisor read with PASID 0x1234 by 3a:00.1 (SID 0x3a01) whose
         * first-stage entry is not present (0x71), translation request. */
        uint64_t v[LAYOUT_MAX_QWORDS] = {
                UINT64_C(0x00007fffdead0000),
                /* F, T1, AT = 1, PV, FR */
                (UINT64_C(1) << 63) | (UINT64_C(1) << 62) | (UINT64_C(1) << 60) | (UINT64_C(0x1234) << 40) |
                        (UINT64_C(0x71) << 32) |
                        /* PP, PRIV, SID */
                        (UINT64_C(1) << 31) | (UINT64_C(1) << 29) | UINT64_C(0x3a01),
        };
        char buf[128];

        ck_assert_uint_eq(FIELD_GET(FRCD, F, v), 1);
        ck_assert_uint_eq(FIELD_GET(FRCD, T1, v), 1);
        ck_assert_uint_eq(FIELD_GET(FRCD, T2, v), 0);
        ck_assert_uint_eq(FIELD_GET(FRCD, AT, v), 1);
        ck_assert_uint_eq(FIELD_GET(FRCD, PV, v), 0x1234);
        ck_assert_uint_eq(FIELD_GET(FRCD, FR, v), 0x71);
        ck_assert_uint_eq(FIELD_GET(FRCD, PP, v), 1);
        ck_assert_uint_eq(FIELD_GET(FRCD, EXE, v), 0);
        ck_assert_uint_eq(FIELD_GET(FRCD, PRIV, v), 1);
        ck_assert_uint_eq(FIELD_GET(FRCD, SID, v), 0x3a01);
        ck_assert_uint_eq(derived_of(l, "fi", v), UINT64_C(0x7fffdead0000));
        ck_assert_str_eq(meaning_of(l, "t1", v, buf, sizeof buf), "read or AtomicOp");
        ck_assert_str_eq(meaning_of(l, "priv", v, buf, sizeof buf), "supervisor");
        ck_assert_str_eq(meaning_of(l, "at", v, buf, sizeof buf), "translation request");
        ck_assert_str_eq(meaning_of(l, "fr", v, buf, sizeof buf), "first-stage paging entry not present");
        ck_assert(!layout_reserved_set(l, v));

        /* a reserved bit in the second qword is seen */
        v[1] |= UINT64_C(1) << 20;
        ck_assert(layout_reserved_set(l, v));
}
END_TEST

START_TEST(fault_reasons) {
        const field_desc *fr = field_named(&layout_frcd, "fr");
        char buf[128];

        ck_assert_str_eq(field_meaning(fr, 0x99, buf, sizeof buf), "??153");
        ck_assert_str_eq(field_meaning(fr, 0x2f, buf, sizeof buf), "??47");
        ck_assert_str_eq(field_meaning(fr, 0xff, buf, sizeof buf), "??255");
        ck_assert_ptr_null(fault_reason_to_string(0x99));
        ck_assert_ptr_null(fault_reason_to_string(0x1000));
        ck_assert_str_eq(fault_reason_to_string(FR_WRITE), "write to a page without write permission");

        /* every group of the appendix is present: legacy, interrupt
         * remapping, and each scalable-mode group */
        static const unsigned known[] = {
                0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x21,
                0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x30, 0x31, 0x32, 0x38, 0x39, 0x3a, 0x40, 0x41, 0x42,
                0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x50, 0x51, 0x52, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d,
                0x70, 0x71, 0x72, 0x78, 0x79, 0x7a, 0x80, 0x81, 0x82, 0x85, 0x86, 0x87,
        };
        for (size_t i = 0; i < ELEMENTSOF(known); i++) {
                const char *s = fault_reason_to_string(known[i]);
                ck_assert_msg(s && *s, "fault reason 0x%02x has no meaning", known[i]);
                ck_assert_str_eq(field_meaning(fr, known[i], buf, sizeof buf), s);
        }
        /* QEMU 7.2 records VTD_FR_PASID_TABLE_INV as 0x58 */
        ck_assert_str_eq(fault_reason_to_string(0x58), "error accessing a PASID table entry");
}
END_TEST

/* ---- other registers ---- */

START_TEST(other_registers) {
        char buf[128];

        /* RTADDR: scalable mode, root table at 0x7f000 */
        uint64_t rt[LAYOUT_MAX_QWORDS] = { UINT64_C(0x7f400) };
        ck_assert_uint_eq(FIELD_GET(RTADDR, TTM, rt), TTM_SCALABLE);
        ck_assert_str_eq(meaning_of(&layout_rtaddr, "ttm", rt, buf, sizeof buf), "scalable");
        ck_assert_uint_eq(derived_of(&layout_rtaddr, "rta", rt), UINT64_C(0x7f000));
        rt[0] = UINT64_C(0x7fc00);
        ck_assert_str_eq(meaning_of(&layout_rtaddr, "ttm", rt, buf, sizeof buf), "abort-DMA");
        rt[0] = UINT64_C(0x7f800);
        ck_assert_str_eq(meaning_of(&layout_rtaddr, "ttm", rt, buf, sizeof buf), "reserved");

        /* IRTA: 2^(S+1) entries, EIME, table address */
        uint64_t irta[LAYOUT_MAX_QWORDS] = { UINT64_C(0x123456000) | (1 << 11) | 0xf };
        ck_assert_uint_eq(FIELD_GET(IRTA, S, irta), 0xf);
        ck_assert_uint_eq(derived_of(&layout_irta, "s", irta), 65536);
        ck_assert_uint_eq(FIELD_GET(IRTA, EIME, irta), 1);
        ck_assert_uint_eq(derived_of(&layout_irta, "irta", irta), UINT64_C(0x123456000));
        irta[0] = 7;
        ck_assert_uint_eq(derived_of(&layout_irta, "s", irta), 256);

        /* IQA: QS 3 is 8 pages; DW 1 */
        uint64_t iqa[LAYOUT_MAX_QWORDS] = { UINT64_C(0xabc000) | (1 << 11) | 3 };
        ck_assert_uint_eq(derived_of(&layout_iqa, "qs", iqa), 8);
        ck_assert_str_eq(meaning_of(&layout_iqa, "dw", iqa, buf, sizeof buf), "256-bit descriptors");
        ck_assert_uint_eq(derived_of(&layout_iqa, "iqa", iqa), UINT64_C(0xabc000));
        iqa[0] = 0;
        ck_assert_uint_eq(derived_of(&layout_iqa, "qs", iqa), 1);

        /* IQH/IQT hold a byte offset in 16-byte units */
        uint64_t iqt[LAYOUT_MAX_QWORDS] = { 0x1a0 };
        ck_assert_uint_eq(FIELD_GET(IQT, QT, iqt), 0x1a);
        ck_assert_uint_eq(derived_of(&layout_iqt, "qt", iqt), 0x1a0);

        /* PQA: 128 << PQS page requests */
        uint64_t pqa[LAYOUT_MAX_QWORDS] = { UINT64_C(0x5000) | 1 };
        ck_assert_uint_eq(derived_of(&layout_pqa, "pqs", pqa), 256);

        /* GSTS as a kernel-owned unit shows it: TES, RTPS, QIES, IRES, IRTPS */
        uint32_t gsts = 0xc7000000;
        uint64_t g[LAYOUT_MAX_QWORDS] = { gsts };
        ck_assert_uint_eq(FIELD_GET(GSTS, TES, g), 1);
        ck_assert_uint_eq(FIELD_GET(GSTS, RTPS, g), 1);
        ck_assert_uint_eq(FIELD_GET(GSTS, QIES, g), 1);
        ck_assert_uint_eq(FIELD_GET(GSTS, IRES, g), 1);
        ck_assert_uint_eq(FIELD_GET(GSTS, IRTPS, g), 1);
        ck_assert_uint_eq(FIELD_GET(GSTS, CFIS, g), 0);
        ck_assert_uint_eq(FIELD_GET(GSTS, WBFS, g), 0);
        ck_assert(!layout_reserved_set(&layout_gsts, g));

        /* FSTS: a pending primary fault at record 0 */
        uint64_t fs[LAYOUT_MAX_QWORDS] = { 0x2 };
        ck_assert_uint_eq(FIELD_GET(FSTS, PPF, fs), 1);
        ck_assert_uint_eq(FIELD_GET(FSTS, FRI, fs), 0);

        /* The event control registers share their layout */
        uint64_t ctl[LAYOUT_MAX_QWORDS] = { UINT64_C(0x80000000) };
        ck_assert_uint_eq(FIELD_GET(FECTL, IM, ctl), 1);
        ck_assert_uint_eq(FIELD_GET(PECTL, IM, ctl), 1);
        ck_assert_uint_eq(FIELD_GET(IECTL, IP, ctl), 0);
        ck_assert_str_eq(meaning_of(&layout_fectl, "im", ctl, buf, sizeof buf), "masked");
        ck_assert_uint_eq(FIELD_MASK64(FECTL, IM), UINT64_C(0x80000000));

        /* FEADDR: dword-aligned MSI address */
        uint64_t fea[LAYOUT_MAX_QWORDS] = { UINT64_C(0xfee00000) };
        ck_assert_uint_eq(derived_of(&layout_feaddr, "ma", fea), UINT64_C(0xfee00000));

        /* IOTLB: a domain-selective invalidation of DID 1, drained */
        uint64_t it[LAYOUT_MAX_QWORDS] = {
                (UINT64_C(1) << 63) | (UINT64_C(2) << 60) | (UINT64_C(3) << 48) | (UINT64_C(1) << 32),
        };
        ck_assert_uint_eq(FIELD_GET(IOTLB, IVT, it), 1);
        ck_assert_uint_eq(FIELD_GET(IOTLB, IIRG, it), INV_GRANULARITY_DOMAIN);
        ck_assert_str_eq(meaning_of(&layout_iotlb, "iirg", it, buf, sizeof buf), "domain-selective");
        ck_assert_uint_eq(FIELD_GET(IOTLB, DID, it), 1);
        ck_assert_uint_eq(FIELD_GET(IOTLB, DW, it), 1);
        ck_assert_uint_eq(FIELD_GET(IOTLB, DR, it), 1);

        /* IVA: 2^AM pages */
        uint64_t iva[LAYOUT_MAX_QWORDS] = { UINT64_C(0x200000) | 9 };
        ck_assert_uint_eq(derived_of(&layout_iva, "am", iva), 512);
        ck_assert_uint_eq(derived_of(&layout_iva, "addr", iva), UINT64_C(0x200000));

        /* MTRRs */
        uint64_t def[LAYOUT_MAX_QWORDS] = { 0xc06 };
        ck_assert_str_eq(meaning_of(&layout_mtrrdef, "type", def, buf, sizeof buf), "WB");
        ck_assert_uint_eq(FIELD_GET(MTRRDEF, E, def), 1);
        ck_assert_uint_eq(FIELD_GET(MTRRDEF, FE, def), 1);
        uint64_t fix[LAYOUT_MAX_QWORDS] = { UINT64_C(0x0606060606060600) };
        ck_assert_str_eq(meaning_of(&layout_mtrr_fix64k_00000, "r0", fix, buf, sizeof buf), "UC");
        ck_assert_str_eq(meaning_of(&layout_mtrr_fix64k_00000, "r7", fix, buf, sizeof buf), "WB");
        uint64_t mask[LAYOUT_MAX_QWORDS] = { UINT64_C(0xfffff80000800) };
        ck_assert_uint_eq(FIELD_GET(MTRR_PHYSMASK, V, mask), 1);
        ck_assert_uint_eq(derived_of(&layout_mtrr_physmask[0], "physmask", mask), UINT64_C(0xfffff80000000));

        /* Perfmon capability: counter stride is 2^(CS + 10) bytes */
        uint64_t pc[LAYOUT_MAX_QWORDS] = { (UINT64_C(2) << 52) | (UINT64_C(1) << 50) | (0x3 << 24) |
                                           (48 << 16) | 8 };
        ck_assert_uint_eq(FIELD_GET(PERFCAP, NUMCNTR, pc), 8);
        ck_assert_uint_eq(FIELD_GET(PERFCAP, CW, pc), 48);
        ck_assert_uint_eq(FIELD_GET(PERFCAP, EGCNT, pc), 3);
        ck_assert_uint_eq(FIELD_GET(PERFCAP, IOS, pc), 1);
        ck_assert_uint_eq(derived_of(&layout_perfcap, "cs", pc), 4096);

        /* Enhanced commands */
        uint64_t ec[LAYOUT_MAX_QWORDS] = { (UINT64_C(5) << 16) | ECMD_FREEZE_COUNTERS };
        ck_assert_str_eq(meaning_of(&layout_ecmd, "cmd", ec, buf, sizeof buf), "freeze counters");
        ck_assert_uint_eq(FIELD_GET(ECMD, OA, ec), 5);
        uint64_t ec3[LAYOUT_MAX_QWORDS] = { UINT64_C(0x33) << 48 };
        ck_assert_uint_eq(FIELD_GET(ECCAP3, ECNTS, ec3), 1);
        ck_assert_uint_eq(FIELD_GET(ECCAP3, DCNTS, ec3), 1);
        ck_assert_uint_eq(FIELD_GET(ECCAP3, FCNTS, ec3), 1);
        ck_assert_uint_eq(FIELD_GET(ECCAP3, UFCNTS, ec3), 1);
        ck_assert(!layout_reserved_set(&layout_eccap3, ec3));

        /* VER 1.0, as QEMU reports it */
        uint64_t ver[LAYOUT_MAX_QWORDS] = { 0x10 };
        ck_assert_uint_eq(FIELD_GET(VER, MAX, ver), 1);
        ck_assert_uint_eq(FIELD_GET(VER, MIN, ver), 0);
}
END_TEST

/* Revision 4 bits of ECAP, one at a time, land on the right mnemonic. */
START_TEST(ecap_high_bits) {
        static const struct {
                unsigned bit;
                const char *name;
        } bits[] = {
                { 43, "smts" }, { 45, "ssads" }, { 46, "ssts" }, { 47, "fsts" }, { 48, "smpwcs" },
                { 49, "rps" },  { 50, "tdxio" }, { 51, "pms" },  { 52, "adms" }, { 53, "rprivs" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bits); i++) {
                uint64_t v[LAYOUT_MAX_QWORDS] = { UINT64_C(1) << bits[i].bit };
                for (size_t j = 0; j < layout_ecap.n_fields; j++) {
                        const field_desc *f = &layout_ecap.fields[j];
                        ck_assert_uint_eq(field_raw(f, v), streq(f->name, bits[i].name) ? 1 : 0);
                }
                ck_assert(!layout_reserved_set(&layout_ecap, v));
        }
        /* bits 54..63 and 28 are reserved */
        uint64_t r[LAYOUT_MAX_QWORDS] = { (UINT64_C(1) << 54) | (UINT64_C(1) << 28) };
        uint64_t rsv[LAYOUT_MAX_QWORDS];
        layout_reserved_bits(&layout_ecap, r, rsv);
        ck_assert_uint_eq(rsv[0], r[0]);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("regs");
        TCase *tables = tcase_create("tables");
        TCase *golden = tcase_create("golden");

        tcase_add_test(tables, fields_match_xmacros);
        tcase_add_test(tables, layout_names_and_offsets);
        tcase_add_test(tables, access_widths);
        tcase_add_test(tables, register_requirements);
        suite_add_tcase(s, tables);

        tcase_add_test(golden, golden_cap);
        tcase_add_test(golden, golden_ecap);
        tcase_add_test(golden, qemu72_cap_aw39);
        tcase_add_test(golden, qemu72_ecap_intremap);
        tcase_add_test(golden, qemu72_ecap_scalable);
        tcase_add_test(golden, register_positions);
        tcase_add_test(golden, frcd_write_fault);
        tcase_add_test(golden, frcd_pasid_read_fault);
        tcase_add_test(golden, fault_reasons);
        tcase_add_test(golden, other_registers);
        tcase_add_test(golden, ecap_high_bits);
        tcase_add_test(golden, qemu72_registers);
        suite_add_tcase(s, golden);
        return s;
}
