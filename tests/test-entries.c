/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The translation-structure entry layouts: their tables' consistency, looped
 * over every entry layout, and hand-built entries whose bit patterns are
 * written out literally from the sources named at each one (the VT-d
 * specification, Linux's intel-iommu driver, QEMU's intel-iommu model), so
 * the expectations never come from the code under test.
 */
#include <ctype.h>
#include <string.h>

#include "check-main.h"
#include "decode/entries.h"
#include "decode/field.h"
#include "decode/layouts.h"
#include "decode/regs.h"
#include "decode/values.h"
#include "walk/walk.h"

static json_object *jget(json_object *o, const char *key) {
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, key, &v), "missing key \"%s\"", key);
        return v;
}

static json_object *jfield(json_object *entry, const char *mnemonic) {
        return jget(jget(entry, "fields"), mnemonic);
}

static const char *meaning(const layout *l, unsigned idx, const uint64_t *v, char *buf, size_t size) {
        const field_desc *f = &l->fields[idx];
        return field_meaning(f, field_raw(f, v), buf, size);
}

START_TEST(tables_consistent) {
        ck_assert_uint_gt(n_entry_layouts, 0);

        for (size_t n = 0; n < n_entry_layouts; n++) {
                const layout *l = entry_layouts[n];

                ck_assert_ptr_nonnull(l);
                ck_assert_ptr_nonnull(l->name);
                ck_assert_ptr_nonnull(l->title);
                ck_assert_int_eq(l->kind, LAYOUT_ENTRY);
                ck_assert(l->width == 64 || l->width == 128 || l->width == 256 || l->width == 512);
                ck_assert_uint_gt(l->n_fields, 0);
                ck_assert_ptr_nonnull(l->check);
                /* the registry finds it by its name */
                ck_assert_ptr_eq(layout_find(l->name), l);

                for (size_t i = 0; i < l->n_fields; i++) {
                        const field_desc *f = &l->fields[i];
                        const layout_check *c = &l->check[i];
                        char lower[64];

                        ck_assert_msg(f->name && f->title, "%s: field %zu unnamed", l->name, i);
                        ck_assert_msg(f->width >= 1 && f->width <= 64, "%s.%s width", l->name, f->name);
                        ck_assert_msg(f->lo + f->width <= l->width, "%s.%s outside", l->name, f->name);
                        if (i > 0) {
                                const field_desc *p = &l->fields[i - 1];
                                ck_assert_msg(p->lo + p->width <= f->lo, "%s.%s overlaps or out of order",
                                              l->name, f->name);
                        }
                        /* no field straddles a qword: entries are read qword by qword */
                        ck_assert_msg(f->lo / 64 == (f->lo + f->width - 1u) / 64, "%s.%s straddles", l->name,
                                      f->name);

                        /* lower case of the X-macro mnemonic, same bits, same index */
                        ck_assert_uint_lt(strlen(c->mnemonic), sizeof lower);
                        for (size_t k = 0; k <= strlen(c->mnemonic); k++)
                                lower[k] = (char) tolower((unsigned char) c->mnemonic[k]);
                        ck_assert_str_eq(f->name, lower);
                        ck_assert_uint_eq(f->lo, c->lo);
                        ck_assert_uint_eq(f->width, c->width);
                        for (const char *p = f->name; *p; p++)
                                ck_assert_msg(islower((unsigned char) *p) || isdigit((unsigned char) *p) ||
                                                      *p == '_',
                                              "%s.%s not lower case", l->name, f->name);
                        for (size_t j = 0; j < i; j++)
                                ck_assert_msg(!streq(l->fields[j].name, f->name), "%s.%s twice", l->name,
                                              f->name);

                        if (f->kind == FIELD_FLAG)
                                ck_assert_msg(f->width == 1, "%s.%s flag wider than 1", l->name, f->name);
                        if (f->kind == FIELD_ENUM)
                                ck_assert_msg(f->values && f->n_values > 0, "%s.%s enum unnamed", l->name,
                                              f->name);
                        if (f->values) {
                                ck_assert_uint_le(f->width, 16);
                                ck_assert_msg(f->n_values <= (1u << f->width), "%s.%s too many values",
                                              l->name, f->name);
                        }
                        /* an address field yields its address, page aligned */
                        if (f->kind == FIELD_ADDRESS) {
                                uint64_t d;
                                ck_assert(field_derived(f, 1, &d));
                                ck_assert_uint_eq(d, UINT64_C(1) << (f->lo % 64));
                                ck_assert_uint_eq(f->lo % 64, 12);
                        }
                }
        }
}
END_TEST

/* Every entry decodes to JSON with every field, all ones or all zeros. */
START_TEST(json_every_field) {
        for (size_t n = 0; n < n_entry_layouts; n++) {
                const layout *l = entry_layouts[n];
                uint64_t ones[LAYOUT_MAX_QWORDS], zeros[LAYOUT_MAX_QWORDS] = {};
                char buf[256];

                memset(ones, 0xff, sizeof ones);
                for (const uint64_t *v = ones; v; v = v == ones ? zeros : NULL) {
                        _cleanup_json_ json_object *o = layout_to_json(l, v);
                        ck_assert_ptr_nonnull(o);
                        ck_assert_str_eq(json_object_get_string(jget(o, "entry")), l->name);
                        for (size_t i = 0; i < l->n_fields; i++) {
                                const field_desc *f = &l->fields[i];
                                uint64_t all = f->width == 64 ? UINT64_MAX : (UINT64_C(1) << f->width) - 1;
                                json_object *jf = jfield(o, f->name);
                                ck_assert_uint_eq(json_object_get_uint64(jget(jf, "raw")),
                                                  v == ones ? all : 0);
                                ck_assert_uint_gt(strlen(field_meaning(f, field_raw(f, v), buf, sizeof buf)),
                                                  0);
                        }
                }
        }
}
END_TEST

START_TEST(root_entries) {
        /* QEMU: VTD_ROOT_ENTRY_P 1, VTD_ROOT_ENTRY_CTP ~0xfff; reserved 11:1
         * (VTD_ROOT_ENTRY_RSVD 0xffe) and the whole upper qword. */
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0x0000000087654001ull, 0 }, r[LAYOUT_MAX_QWORDS];
        uint64_t d;

        ck_assert(root_present(v));
        ck_assert_uint_eq(FIELD_GET(ROOT, CTP, v), 0x87654);
        ck_assert_uint_eq(root_ctp(v), 0x87654000ull);
        ck_assert(field_derived(&layout_root.fields[ROOT_CTP], FIELD_GET(ROOT, CTP, v), &d));
        ck_assert_uint_eq(d, 0x87654000ull);
        ck_assert(!layout_reserved_set(&layout_root, v));

        v[0] |= 0x2;
        v[1] = 0x1;
        layout_reserved_bits(&layout_root, v, r);
        ck_assert_uint_eq(r[0], 0x2);
        ck_assert_uint_eq(r[1], 0x1);

        /* VT-d 9.2 scalable-mode root entry: LP 0, LCTP 63:12, UP 64, UCTP 127:76 */
        uint64_t sm[LAYOUT_MAX_QWORDS] = { 0x0000000000002001ull, 0x0000000000003001ull };
        ck_assert(sm_root_present(sm, 0x05));
        ck_assert(sm_root_present(sm, 0xc8));
        ck_assert_uint_eq(sm_root_ctp(sm, 0x05), 0x2000);
        ck_assert_uint_eq(sm_root_ctp(sm, 0xc8), 0x3000);
        ck_assert_uint_eq(FIELD_GET(SM_ROOT, UCTP, sm), 0x3);
        /* the upper pointer, bits 127:76, comes out aligned: raw << (76 % 64) */
        ck_assert(field_derived(&layout_sm_root.fields[SM_ROOT_UCTP], 0x3, &d));
        ck_assert_uint_eq(d, 0x3000);
        sm[1] = 0x3000;
        ck_assert(!sm_root_present(sm, 0xc8));
        ck_assert(!layout_reserved_set(&layout_sm_root, sm));
        sm[1] |= 0x800; /* bit 75: reserved */
        ck_assert(layout_reserved_set(&layout_sm_root, sm));
}
END_TEST

START_TEST(legacy_context) {
        /* P=1, TT=2 (pass-through), SSPTPTR=0x12345000; AW=2 (48-bit,
         * 4-level), DID=0x2a.  QEMU: VTD_CONTEXT_ENTRY_P bit 0,
         * VTD_CONTEXT_TT_PASS_THROUGH (2 << 2), VTD_CONTEXT_ENTRY_AW 7 in
         * the high qword, VTD_CONTEXT_ENTRY_DID(hi) = (hi >> 8) & 0xffff;
         * Linux: context_set_address_width() hi bits 2:0,
         * context_set_domain_id() hi bits 23:8. */
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0x0000000012345009ull, 0x0000000000002a02ull };
        uint64_t r[LAYOUT_MAX_QWORDS], d;
        char buf[128];

        ck_assert(context_present(v));
        ck_assert_uint_eq(FIELD_GET(CONTEXT, P, v), 1);
        ck_assert_uint_eq(FIELD_GET(CONTEXT, FPD, v), 0);
        ck_assert_uint_eq(FIELD_GET(CONTEXT, TT, v), 2);
        ck_assert_uint_eq(context_tt(v), CONTEXT_TT_PASS_THROUGH);
        ck_assert_uint_eq(FIELD_GET(CONTEXT, AW, v), 2);
        ck_assert_uint_eq(FIELD_GET(CONTEXT, DID, v), 0x2a);
        ck_assert_uint_eq(context_did(v), 42);
        ck_assert_uint_eq(FIELD_GET(CONTEXT, SSPTPTR, v), 0x12345);
        ck_assert_uint_eq(context_ssptptr(v), 0x12345000ull);
        ck_assert(field_derived(&layout_context.fields[CONTEXT_SSPTPTR], 0x12345, &d));
        ck_assert_uint_eq(d, 0x12345000ull);
        ck_assert_uint_eq(context_levels(v), 4);
        ck_assert(aw_valid(FIELD_GET(CONTEXT, AW, v)));
        ck_assert_uint_eq(aw_bits(FIELD_GET(CONTEXT, AW, v)), 48);

        ck_assert_str_eq(meaning(&layout_context, CONTEXT_TT, v, buf, sizeof buf), "pass-through");
        ck_assert_str_eq(meaning(&layout_context, CONTEXT_AW, v, buf, sizeof buf), "48-bit (4-level)");
        ck_assert_str_eq(meaning(&layout_context, CONTEXT_DID, v, buf, sizeof buf), "42");
        ck_assert_str_eq(meaning(&layout_context, CONTEXT_SSPTPTR, v, buf, sizeof buf), "0x12345000");
        ck_assert_str_eq(meaning(&layout_context, CONTEXT_P, v, buf, sizeof buf), "yes");
        ck_assert(!layout_reserved_set(&layout_context, v));

        _cleanup_json_ json_object *o = layout_to_json(&layout_context, v);
        ck_assert_ptr_nonnull(o);
        ck_assert_str_eq(json_object_get_string(jget(o, "entry")), "context");
        ck_assert_int_eq(json_object_get_int(jget(o, "width")), 128);
        ck_assert_str_eq(json_object_get_string(jget(o, "value")), "0x0000000000002a020000000012345009");
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "did"), "raw")), 42);
        ck_assert_str_eq(json_object_get_string(jget(jfield(o, "tt"), "meaning")), "pass-through");
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "aw"), "bits")), 48);
        ck_assert_str_eq(json_object_get_string(jget(jfield(o, "tt"), "position")), "3:2");
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "ssptptr"), "address")), 0x12345000ull);
        ck_assert_str_eq(json_object_get_string(jget(jfield(o, "did"), "position")), "87:72");
        ck_assert_str_eq(json_object_get_string(jget(o, "reserved")), "0x00000000000000000000000000000000");

        /* TT=3 is reserved; AW=0 (the old 30-bit) and 4 are not valid */
        uint64_t bad[LAYOUT_MAX_QWORDS] = { 0x000000000000000dull, 0x0000000000000004ull };
        ck_assert_str_eq(meaning(&layout_context, CONTEXT_TT, bad, buf, sizeof buf), "reserved");
        ck_assert_str_eq(meaning(&layout_context, CONTEXT_AW, bad, buf, sizeof buf), "??4");
        ck_assert(!field_derived(&layout_context.fields[CONTEXT_AW], 4, &d));
        ck_assert(!field_derived(&layout_context.fields[CONTEXT_AW], 0, &d));
        /* AW 1, 2, 3: 39, 48, 57 bits, as the walker computes them too */
        for (unsigned aw = AW_39_BIT; aw <= AW_57_BIT; aw++) {
                ck_assert(field_derived(&layout_context.fields[CONTEXT_AW], aw, &d));
                ck_assert_uint_eq(d, 30 + 9 * aw);
                ck_assert_uint_eq(d, aw_bits(aw));
        }
        ck_assert(!aw_valid(4));
        ck_assert(!aw_valid(0));

        /* Reserved per QEMU: VTD_CONTEXT_ENTRY_RSVD_LO 0xff0 (bits 11:4),
         * VTD_CONTEXT_ENTRY_RSVD_HI 0xffffffffff000080 (71, 127:88); the
         * ignored bits 70:67 (hi 0x78) are not reserved. */
        v[0] |= 0x10;
        v[1] |= 0x78;
        layout_reserved_bits(&layout_context, v, r);
        ck_assert_uint_eq(r[0], 0x10);
        ck_assert_uint_eq(r[1], 0);
        v[1] |= 0x80 | 0x0100000000000000ull;
        layout_reserved_bits(&layout_context, v, r);
        ck_assert_uint_eq(r[1], 0x0100000000000080ull);
        ck_assert_uint_eq(FIELD_GET(CONTEXT, IGN_70_67, v), 0xf);
}
END_TEST

/*
 * The walker's translation types are values of the legacy TT and the
 * scalable PGTT encodings, and its modes values of RTADDR.TTM; it shows
 * them under the short names below (walk.h), which every "mappings" and
 * "info" output carries.  Built as the walker's tables are to be built,
 * from decode's value tables, they give exactly those names, and decode
 * itself still says "device-TLB" and "abort-DMA".
 */
const char *test_translation_to_string(walk_translation t);
walk_translation test_translation_from_string(const char *s);
const char *test_mode_to_string(walk_mode m);
walk_mode test_mode_from_string(const char *s);

static const value_name *const test_translation_values[_WALK_TRANSLATION_MAX] = {
        [WALK_TRANSLATION_MULTI_LEVEL] = &context_tt_values[CONTEXT_TT_MULTI_LEVEL],
        [WALK_TRANSLATION_DEVICE_TLB] = &context_tt_values[CONTEXT_TT_DEVICE_TLB],
        [WALK_TRANSLATION_PASS_THROUGH] = &context_tt_values[CONTEXT_TT_PASS_THROUGH],
        [WALK_TRANSLATION_FIRST_STAGE] = &pgtt_values[PGTT_FIRST_STAGE],
        [WALK_TRANSLATION_SECOND_STAGE] = &pgtt_values[PGTT_SECOND_STAGE],
        [WALK_TRANSLATION_NESTED] = &pgtt_values[PGTT_NESTED],
        [WALK_TRANSLATION_RESERVED] = &context_tt_values[CONTEXT_TT_RESERVED],
};
DEFINE_VALUE_NAME_LOOKUP(test_translation, walk_translation, test_translation_values, _WALK_TRANSLATION_MAX,
                         _WALK_TRANSLATION_INVALID)

static const value_name *const test_mode_values[_WALK_MODE_MAX] = {
        [WALK_MODE_LEGACY] = &ttm_values[TTM_LEGACY],
        [WALK_MODE_SCALABLE] = &ttm_values[TTM_SCALABLE],
        [WALK_MODE_RESERVED] = &ttm_values[TTM_RESERVED],
        [WALK_MODE_ABORT] = &ttm_values[TTM_ABORT_DMA],
};
DEFINE_VALUE_NAME_LOOKUP(test_mode, walk_mode, test_mode_values, _WALK_MODE_MAX, _WALK_MODE_INVALID)

START_TEST(walker_names) {
        static const char *const translations[_WALK_TRANSLATION_MAX] = {
                [WALK_TRANSLATION_MULTI_LEVEL] = "multi-level",
                [WALK_TRANSLATION_DEVICE_TLB] = "device-tlb",
                [WALK_TRANSLATION_PASS_THROUGH] = "pass-through",
                [WALK_TRANSLATION_FIRST_STAGE] = "first-stage",
                [WALK_TRANSLATION_SECOND_STAGE] = "second-stage",
                [WALK_TRANSLATION_NESTED] = "nested",
                [WALK_TRANSLATION_RESERVED] = "reserved",
        };
        static const char *const modes[_WALK_MODE_MAX] = {
                [WALK_MODE_LEGACY] = "legacy",
                [WALK_MODE_SCALABLE] = "scalable",
                [WALK_MODE_RESERVED] = "reserved",
                [WALK_MODE_ABORT] = "abort-dma",
        };
        uint64_t v[LAYOUT_MAX_QWORDS] = {};
        char buf[64];

        for (int t = 0; t < _WALK_TRANSLATION_MAX; t++) {
                ck_assert_str_eq(test_translation_to_string((walk_translation) t), translations[t]);
                ck_assert_str_eq(walk_translation_to_string((walk_translation) t), translations[t]);
                ck_assert_int_eq(test_translation_from_string(translations[t]), t);
        }
        ck_assert_ptr_null(test_translation_to_string(_WALK_TRANSLATION_MAX));
        ck_assert_ptr_null(test_translation_to_string(_WALK_TRANSLATION_INVALID));
        ck_assert_int_eq(test_translation_from_string("device-TLB"), _WALK_TRANSLATION_INVALID);
        ck_assert_int_eq(test_translation_from_string(NULL), _WALK_TRANSLATION_INVALID);
        for (int m = 0; m < _WALK_MODE_MAX; m++) {
                ck_assert_str_eq(test_mode_to_string((walk_mode) m), modes[m]);
                ck_assert_str_eq(walk_mode_to_string((walk_mode) m), modes[m]);
                ck_assert_int_eq(test_mode_from_string(modes[m]), m);
        }

        FIELD_SET(CONTEXT, TT, v, CONTEXT_TT_DEVICE_TLB);
        ck_assert_str_eq(meaning(&layout_context, CONTEXT_TT, v, buf, sizeof buf), "device-TLB");
        FIELD_SET(PASID, PGTT, v, PGTT_NESTED);
        ck_assert_str_eq(meaning(&layout_pasid, PASID_PGTT, v, buf, sizeof buf), "nested");
        v[0] = (uint64_t) TTM_ABORT_DMA << RTADDR_TTM_LO;
        ck_assert_str_eq(meaning(&layout_rtaddr, RTADDR_TTM, v, buf, sizeof buf), "abort-DMA");
}
END_TEST

START_TEST(scalable_context) {
        /* Linux: context->lo = pasid dir | context_pdts(pds) (PDTS bits 11:9),
         * context_set_sm_dte() lo bit 2, context_set_present() bit 0,
         * context_set_sm_rid2pasid() hi bits 19:0; get_pasid_dir_size() =
         * 1 << (PDTS + 7).  PASIDDIRPTR=0xabcd000, PDTS=2, DTE, RID_PASID=5. */
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0x000000000abcd405ull, 0x0000000000000005ull, 0, 0 };
        uint64_t r[LAYOUT_MAX_QWORDS], d;
        char buf[128];

        ck_assert(sm_context_present(v));
        ck_assert_uint_eq(FIELD_GET(SM_CONTEXT, DTE, v), 1);
        ck_assert_uint_eq(FIELD_GET(SM_CONTEXT, PASIDE, v), 0);
        ck_assert_uint_eq(FIELD_GET(SM_CONTEXT, PRE, v), 0);
        ck_assert_uint_eq(FIELD_GET(SM_CONTEXT, PDTS, v), 2);
        ck_assert_uint_eq(sm_context_pasid_dir_entries(v), 512);
        ck_assert(field_derived(&layout_sm_context.fields[SM_CONTEXT_PDTS], 2, &d));
        ck_assert_uint_eq(d, 512);
        ck_assert_str_eq(meaning(&layout_sm_context, SM_CONTEXT_PDTS, v, buf, sizeof buf), "512 entries");
        ck_assert_uint_eq(FIELD_GET(SM_CONTEXT, PASIDDIRPTR, v), 0xabcd);
        ck_assert_uint_eq(sm_context_pasiddirptr(v), 0xabcd000ull);
        ck_assert_uint_eq(FIELD_GET(SM_CONTEXT, RID_PASID, v), 5);
        ck_assert_uint_eq(sm_context_rid_pasid(v), 5);
        ck_assert(!layout_reserved_set(&layout_sm_context, v));

        _cleanup_json_ json_object *o = layout_to_json(&layout_sm_context, v);
        ck_assert_str_eq(json_object_get_string(jget(o, "entry")), "sm-context");
        ck_assert_str_eq(json_object_get_string(jget(o, "value")), "0x"
                                                                   "0000000000000000"
                                                                   "0000000000000000"
                                                                   "0000000000000005"
                                                                   "000000000abcd405");
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "pdts"), "entries")), 512);
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "pasiddirptr"), "address")), 0xabcd000ull);
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "rid_pasid"), "raw")), 5);

        /* QEMU: VTD_SM_CONTEXT_ENTRY_RSVD_VAL0 0x1e0 (bits 8:5),
         * VTD_SM_CONTEXT_ENTRY_RSVD_VAL1 0xffffffffffe00000 (bits 127:85);
         * bit 84 (hi 0x100000) is RID_PRIV, the bit older Linux set. */
        v[1] |= 0x100000;
        ck_assert_uint_eq(FIELD_GET(SM_CONTEXT, RID_PRIV, v), 1);
        ck_assert_uint_eq(FIELD_GET(SM_CONTEXT, RID_PASID, v), 5);
        ck_assert(!layout_reserved_set(&layout_sm_context, v));
        v[0] |= 0x20;
        v[1] |= 0x200000;
        v[3] = 0x1;
        layout_reserved_bits(&layout_sm_context, v, r);
        ck_assert_uint_eq(r[0], 0x20);
        ck_assert_uint_eq(r[1], 0x200000);
        ck_assert_uint_eq(r[2], 0);
        ck_assert_uint_eq(r[3], 0x1);
}
END_TEST

START_TEST(pasid_directory) {
        /* Linux/QEMU: PASID_PTE_PRESENT 1, VTD_PASID_DIR_FPD (1 << 1),
         * table pointer PAGE_MASK; bits 11:2 reserved. */
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0x0000000000fed003ull };

        ck_assert(pasid_dir_present(v[0]));
        ck_assert_uint_eq(FIELD_GET(PASID_DIR, FPD, v), 1);
        ck_assert_uint_eq(pasid_dir_smptblptr(v[0]), 0xfed000ull);
        ck_assert(!pasid_dir_present(0xfed000ull));
        ck_assert(!layout_reserved_set(&layout_pasid_dir, v));
        v[0] |= 0x4;
        ck_assert(layout_reserved_set(&layout_pasid_dir, v));

        /* 64 bits: "value" is a JSON integer, not a string */
        _cleanup_json_ json_object *o = layout_to_json(&layout_pasid_dir, v);
        ck_assert(json_object_is_type(jget(o, "value"), json_type_int));
        ck_assert_uint_eq(json_object_get_uint64(jget(o, "value")), 0xfed007ull);
        ck_assert_uint_eq(json_object_get_uint64(jget(o, "reserved")), 0x4);
}
END_TEST

START_TEST(pasid_second_stage) {
        /* Linux pasid.h: P bit 0, AW bits 4:2, PGTT bits 8:6 (SL_ONLY = 2),
         * SLPTPTR val[0] bits 63:12, DID val[1] bits 15:0, page snoop
         * (PWSNP) val[1] bit 23.  QEMU: VTD_SM_PASID_ENTRY_SST (2 << 6),
         * VTD_PE_GET_SS_LEVEL = 2 + AW.  AW=2, SSPTPTR=0x7654000, DID=0x1234. */
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0x0000000007654089ull, 0x0000000000801234ull };
        char buf[128];

        ck_assert(pasid_present(v));
        ck_assert_uint_eq(FIELD_GET(PASID, PGTT, v), 2);
        ck_assert_uint_eq(pasid_pgtt(v), PGTT_SECOND_STAGE);
        ck_assert_uint_eq(FIELD_GET(PASID, AW, v), 2);
        ck_assert_uint_eq(pasid_ss_levels(v), 4);
        ck_assert_uint_eq(pasid_did(v), 0x1234);
        ck_assert_uint_eq(FIELD_GET(PASID, PWSNP, v), 1);
        ck_assert_uint_eq(FIELD_GET(PASID, PGSNP, v), 0);
        ck_assert_uint_eq(FIELD_GET(PASID, SSADE, v), 0);
        ck_assert_uint_eq(pasid_ssptptr(v), 0x7654000ull);
        ck_assert_str_eq(meaning(&layout_pasid, PASID_PGTT, v, buf, sizeof buf), "second-stage");
        ck_assert_str_eq(meaning(&layout_pasid, PASID_AW, v, buf, sizeof buf), "48-bit (4-level)");
        ck_assert_str_eq(meaning(&layout_pasid, PASID_DID, v, buf, sizeof buf), "4660");
        ck_assert(!layout_reserved_set(&layout_pasid, v));

        _cleanup_json_ json_object *o = layout_to_json(&layout_pasid, v);
        ck_assert_str_eq(json_object_get_string(jget(o, "entry")), "pasid");
        ck_assert_int_eq(json_object_get_int(jget(o, "width")), 512);
        ck_assert_str_eq(json_object_get_string(jget(jfield(o, "pgtt"), "meaning")), "second-stage");
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "ssptptr"), "address")), 0x7654000ull);
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "did"), "raw")), 0x1234);

        /* PGTT 0 and 5-7 are reserved */
        uint64_t bad[LAYOUT_MAX_QWORDS] = { 0x0000000000000141ull };
        ck_assert_str_eq(meaning(&layout_pasid, PASID_PGTT, bad, buf, sizeof buf), "??5");
}
END_TEST

START_TEST(pasid_first_stage) {
        /* Linux pasid.h: PGTT FL_ONLY = 1 (val[0] 0x40 | P), DID 7 in val[1],
         * pasid_set_flptr() val[2] bits 63:12 (entry bits 191:140),
         * pasid_set_flpm() val[2] bits 3:2 (1 = 5-level), pasid_set_sre()
         * val[2] bit 0.  QEMU: VTD_PE_GET_FS_LEVEL = FSPM + 4. */
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0x0000000000000041ull, 0x0000000000000007ull,
                                          0x0000000089abc005ull };
        uint64_t r[LAYOUT_MAX_QWORDS], d;
        char buf[128];

        ck_assert(pasid_present(v));
        ck_assert_uint_eq(pasid_pgtt(v), PGTT_FIRST_STAGE);
        ck_assert_uint_eq(pasid_did(v), 7);
        ck_assert_uint_eq(FIELD_GET(PASID, SRE, v), 1);
        ck_assert_uint_eq(FIELD_GET(PASID, FSPM, v), FSPM_5_LEVEL);
        ck_assert_uint_eq(pasid_fs_levels(v), 5);
        ck_assert_uint_eq(FIELD_GET(PASID, FSPTPTR, v), 0x89abc);
        ck_assert_uint_eq(pasid_fsptptr(v), 0x89abc000ull);
        /* bits 191:140 come out aligned: raw << (140 % 64) */
        ck_assert(field_derived(&layout_pasid.fields[PASID_FSPTPTR], 0x89abc, &d));
        ck_assert_uint_eq(d, 0x89abc000ull);
        ck_assert_str_eq(meaning(&layout_pasid, PASID_FSPM, v, buf, sizeof buf), "5-level");
        ck_assert_str_eq(meaning(&layout_pasid, PASID_PGTT, v, buf, sizeof buf), "first-stage");
        ck_assert_str_eq(meaning(&layout_pasid, PASID_FSPTPTR, v, buf, sizeof buf), "0x89abc000");
        ck_assert(!layout_reserved_set(&layout_pasid, v));

        _cleanup_json_ json_object *o = layout_to_json(&layout_pasid, v);
        ck_assert_str_eq(json_object_get_string(jget(o, "value")), "0x"
                                                                   "0000000000000000"
                                                                   "0000000000000000"
                                                                   "0000000000000000"
                                                                   "0000000000000000"
                                                                   "0000000000000000"
                                                                   "0000000089abc005"
                                                                   "0000000000000007"
                                                                   "0000000000000041");
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "fsptptr"), "address")), 0x89abc000ull);
        ck_assert_str_eq(json_object_get_string(jget(jfield(o, "fsptptr"), "position")), "191:140");
        ck_assert_str_eq(json_object_get_string(jget(jfield(o, "fspm"), "meaning")), "5-level");

        /* Reserved: bits 86:80 (val[1] 0x7f0000), 139:136 (val[2] 0xf00)
         * and everything from bit 192 (val[3..7]). */
        v[1] |= 0x10000;
        v[2] |= 0x100;
        v[7] = 0x8000000000000000ull;
        layout_reserved_bits(&layout_pasid, v, r);
        ck_assert_uint_eq(r[0], 0);
        ck_assert_uint_eq(r[1], 0x10000);
        ck_assert_uint_eq(r[2], 0x100);
        ck_assert_uint_eq(r[7], 0x8000000000000000ull);
        ck_assert(layout_reserved_set(&layout_pasid, v));
}
END_TEST

START_TEST(second_stage_ptes) {
        /* QEMU: VTD_SS_R 1, VTD_SS_W 2, VTD_SL_PT_PAGE_SIZE_MASK (1 << 7);
         * Linux iommupt vtdss: OA bits 51:12, PS bit 7. */
        uint64_t page4k = 0x0000000012345003ull; /* 4 KiB leaf, R|W */
        uint64_t page2m = 0x0000000040000081ull; /* 2 MiB leaf, PS, read-only */
        uint64_t absent = 0x0000000000005000ull; /* address but no access */
        uint64_t xonly = 0x0000000000005004ull;  /* execute only */
        char buf[128];

        ck_assert(ss_pte_present(page4k));
        ck_assert(!ss_pte_large(page4k));
        ck_assert_uint_eq(ss_pte_addr(page4k), 0x12345000ull);
        ck_assert_uint_eq(FIELD_GET(SS_PTE, R, &page4k), 1);
        ck_assert_uint_eq(FIELD_GET(SS_PTE, W, &page4k), 1);
        ck_assert_uint_eq(FIELD_GET(SS_PTE, ADDR, &page4k), 0x12345);

        ck_assert(ss_pte_present(page2m));
        ck_assert(ss_pte_large(page2m));
        ck_assert_uint_eq(FIELD_GET(SS_PTE, W, &page2m), 0);
        ck_assert_uint_eq(ss_pte_addr(page2m), 0x40000000ull);
        ck_assert_str_eq(meaning(&layout_ss_pte, SS_PTE_PS, &page2m, buf, sizeof buf), "page");
        ck_assert_str_eq(meaning(&layout_ss_pte, SS_PTE_PS, &page4k, buf, sizeof buf), "table");
        ck_assert_str_eq(meaning(&layout_ss_pte, SS_PTE_W, &page2m, buf, sizeof buf), "no");

        ck_assert(!ss_pte_present(0));
        ck_assert(!ss_pte_present(absent));
        ck_assert(ss_pte_present(xonly));

        /* 64 bits: "value" is a JSON integer.  (layout_to_json() reads
         * LAYOUT_MAX_QWORDS qwords whatever the width: pass a full buffer.) */
        uint64_t buf2m[LAYOUT_MAX_QWORDS] = { page2m };
        _cleanup_json_ json_object *o = layout_to_json(&layout_ss_pte, buf2m);
        ck_assert_str_eq(json_object_get_string(jget(o, "entry")), "ss-pte");
        ck_assert_uint_eq(json_object_get_uint64(jget(o, "value")), 0x40000081ull);
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "addr"), "address")), 0x40000000ull);
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "ps"), "raw")), 1);

        /* TM (bit 62) is Reserved(0) since rev 3.2 but QEMU < 9.2 accepts
         * it: described, and marked deprecated.  Ignored bits (QEMU
         * VTD_SL_IGN_COM 0xbff0000000000000, bit 10) are not reserved. */
        uint64_t tm[LAYOUT_MAX_QWORDS] = { page4k | 0x4000000000000000ull | 0xbff0000000000400ull };
        ck_assert(layout_ss_pte.fields[SS_PTE_TM].deprecated);
        ck_assert_uint_eq(FIELD_GET(SS_PTE, TM, tm), 1);
        ck_assert(!layout_reserved_set(&layout_ss_pte, tm));
        _cleanup_json_ json_object *t = layout_to_json(&layout_ss_pte, tm);
        ck_assert(json_object_get_boolean(jget(jfield(t, "tm"), "deprecated")));
}
END_TEST

START_TEST(first_stage_ptes) {
        /* Linux: DMA_FL_PTE_PRESENT bit 0, DMA_PTE_WRITE/X86_64_FMT_RW bit 1,
         * DMA_FL_PTE_US bit 2, DMA_FL_PTE_XD bit 63, OA bits 51:12. */
        uint64_t pte = 0x8000000000abc007ull;
        char buf[128];

        ck_assert(fs_pte_present(pte));
        ck_assert(!fs_pte_large(pte));
        ck_assert_uint_eq(FIELD_GET(FS_PTE, XD, &pte), 1);
        ck_assert_uint_eq(FIELD_GET(FS_PTE, US, &pte), 1);
        ck_assert_uint_eq(fs_pte_addr(pte), 0xabc000ull);
        ck_assert_str_eq(meaning(&layout_fs_pte, FS_PTE_RW, &pte, buf, sizeof buf), "read/write");
        ck_assert_str_eq(meaning(&layout_fs_pte, FS_PTE_US, &pte, buf, sizeof buf), "user");
        ck_assert_str_eq(meaning(&layout_fs_pte, FS_PTE_XD, &pte, buf, sizeof buf), "yes");
        ck_assert_str_eq(meaning(&layout_fs_pte, FS_PTE_ADDR, &pte, buf, sizeof buf), "0xabc000");
        ck_assert(!fs_pte_present(0x8000000000abc006ull));

        uint64_t v[LAYOUT_MAX_QWORDS] = { pte };
        _cleanup_json_ json_object *o = layout_to_json(&layout_fs_pte, v);
        ck_assert_str_eq(json_object_get_string(jget(o, "entry")), "fs-pte");
        ck_assert_uint_eq(json_object_get_uint64(jget(o, "value")), 0x8000000000abc007ull);
        ck_assert_uint_eq(json_object_get_uint64(jget(jfield(o, "xd"), "raw")), 1);
        ck_assert_str_eq(json_object_get_string(jget(jfield(o, "xd"), "position")), "63");
}
END_TEST

START_TEST(interrupt_remapping) {
        /* Linux struct irte (remapped): present 0, dlvry_mode 7:5, vector
         * 23:16, dest_id 63:32 (xAPIC ID in 47:40); sid 79:64, sq 81:80,
         * svt 83:82.  Vector 0x31 to xAPIC 1, SID 00:1f.0, SVT 1. */
        uint64_t v[LAYOUT_MAX_QWORDS] = { 0x0000010000310001ull, 0x00000000000400f8ull };
        char buf[128];

        ck_assert_uint_eq(FIELD_GET(IRTE, P, v), 1);
        ck_assert_uint_eq(FIELD_GET(IRTE, V, v), 0x31);
        ck_assert_uint_eq(FIELD_GET(IRTE, DST, v), 0x100);
        ck_assert_uint_eq(FIELD_GET(IRTE, SID, v), 0xf8);
        ck_assert_uint_eq(FIELD_GET(IRTE, SVT, v), 1);
        ck_assert_str_eq(meaning(&layout_irte, IRTE_V, v, buf, sizeof buf), "0x31");
        ck_assert_str_eq(meaning(&layout_irte, IRTE_DLM, v, buf, sizeof buf), "fixed");
        ck_assert_str_eq(meaning(&layout_irte, IRTE_IM, v, buf, sizeof buf), "remapped");
        ck_assert(!layout_reserved_set(&layout_irte, v));
        v[0] |= 0x1000; /* bit 12: reserved (Linux r_res0) */
        ck_assert(layout_reserved_set(&layout_irte, v));
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("entries");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, tables_consistent);
        tcase_add_test(tc, json_every_field);
        tcase_add_test(tc, root_entries);
        tcase_add_test(tc, legacy_context);
        tcase_add_test(tc, scalable_context);
        tcase_add_test(tc, walker_names);
        tcase_add_test(tc, pasid_directory);
        tcase_add_test(tc, pasid_second_stage);
        tcase_add_test(tc, pasid_first_stage);
        tcase_add_test(tc, second_stage_ptes);
        tcase_add_test(tc, first_stage_ptes);
        tcase_add_test(tc, interrupt_remapping);
        suite_add_tcase(s, tc);
        return s;
}
