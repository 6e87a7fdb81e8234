/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The walker, on synthetic images built here with the image backend.  Every
 * entry is written as the literal bit pattern of the VT-d specification
 * (rev 4.x chapter 9) and every expectation as a literal number, so nothing
 * is computed by the code under test:
 *   root entry          lo = CTP | P(0)
 *   context (legacy)    lo = SSPTPTR | TT(3:2) | FPD(1) | P(0); hi = DID(87:72) | AW(66:64)
 *   scalable root       lo = LCTP | LP(0); hi = UCTP | UP(64)
 *   scalable context    q0 = PASIDDIRPTR | PDTS(11:9) | P(0); q1 = RID_PASID(83:64)
 *   PASID directory     SMPTBLPTR | P(0)
 *   PASID entry         q0 = SSPTPTR | PGTT(8:6) | AW(4:2) | P(0); q1 = DID(79:64);
 *                       q2 = FSPTPTR | FSPM(131:130)
 *   second-stage PTE    ADDR | PS(7) | X(2) | W(1) | R(0)
 *   first-stage PTE     XD(63) | ADDR | PS(7) | US(2) | RW(1) | P(0)
 */
#include <string.h>

#include "access/access.h"
#include "check-main.h"
#include "walk/walk.h"

/* CAP: SAGAW 39/48/57-bit (bits 12:8 = 0xe), MGAW 57 bits (21:16 = 56),
 * SLLPS 2 MiB and 1 GiB (37:34 = 3), FS1GP (56), FS5LP (60). */
#define CAP_ALL                                                                                    \
        ((UINT64_C(0xe) << 8) | (UINT64_C(56) << 16) | (UINT64_C(3) << 34) | (UINT64_C(1) << 56) | \
         (UINT64_C(1) << 60))
/* The same with MGAW 48 bits (47), SAGAW 39/48 only (0x6), SLLPS 2 MiB only (1). */
#define CAP_48                                                                                     \
        ((UINT64_C(0x6) << 8) | (UINT64_C(47) << 16) | (UINT64_C(1) << 34) | (UINT64_C(1) << 56) | \
         (UINT64_C(1) << 60))
/* ECAP: DT (2), PT (6), NEST (26), SMTS (43), SSTS (46), FSTS (47). */
#define ECAP_ALL                                                                               \
        ((UINT64_C(1) << 2) | (UINT64_C(1) << 6) | (UINT64_C(1) << 26) | (UINT64_C(1) << 43) | \
         (UINT64_C(1) << 46) | (UINT64_C(1) << 47))

#define LEGACY(rta) ((uint64_t) (rta))
#define SCALABLE(rta) ((uint64_t) (rta) | (UINT64_C(1) << 10))

#define XD (UINT64_C(1) << 63)

static iommu_ram *ram;

static void setup(void) {
        ck_assert_int_eq(iommu_ram_new_image(&ram), 0);
}

static void teardown(void) {
        ram = iommu_ram_free(ram);
}

static void put(uint64_t addr, uint64_t v) {
        uint64_t *p = iommu_ram_image_page(ram, addr & ~UINT64_C(0xfff));

        ck_assert_ptr_nonnull(p);
        p[(addr & 0xfff) / 8] = v;
}

/* Entry i of the table at t, 8-byte entries. */
static void pte(uint64_t t, unsigned i, uint64_t v) {
        put(t + 8 * (uint64_t) i, v);
}

/* ---- what the callbacks saw ---- */

#define MAX_SEEN 4096

typedef struct seen {
        walk_target t[64];
        size_t n_t, n_done;
        walk_range r[MAX_SEEN];
        size_t r_target[MAX_SEEN];
        size_t n_r;
        walk_anomaly a[MAX_SEEN];
        bool a_has_t[MAX_SEEN];
        uint32_t a_pasid[MAX_SEEN];
        size_t a_n_t[MAX_SEEN]; /* targets seen before the anomaly */
        size_t n_a;
        size_t by_kind[_WALK_ANOMALY_MAX];
        walk_target same_t[16], same_first[16];
        size_t n_same;
        bool open;
        int fail_range; /* return -EIO from this range (1-based), 0: never */
        int fail_target;
} seen;

static seen S;

static int on_target(void *u, const walk_target *t) {
        seen *s = u;

        ck_assert(!s->open);
        ck_assert_uint_lt(s->n_t, ELEMENTSOF(s->t));
        s->t[s->n_t++] = *t;
        s->open = true;
        if (s->fail_target && (int) s->n_t == s->fail_target)
                return -EBADMSG;
        return 0;
}

static bool same_device(const walk_target *a, const walk_target *b) {
        return a->bus == b->bus && a->devfn == b->devfn && a->pasid == b->pasid;
}

static int on_same(void *u, const walk_target *t, const walk_target *first) {
        seen *s = u;

        ck_assert(s->open);
        ck_assert(same_device(t, &s->t[s->n_t - 1]));
        ck_assert_uint_lt(s->n_same, ELEMENTSOF(s->same_t));
        s->same_t[s->n_same] = *t;
        s->same_first[s->n_same++] = *first;
        return 0;
}

static int on_range(void *u, const walk_target *t, const walk_range *r) {
        seen *s = u;

        ck_assert(s->open);
        ck_assert(same_device(t, &s->t[s->n_t - 1]));
        ck_assert_uint_lt(s->n_r, MAX_SEEN);
        s->r[s->n_r] = *r;
        s->r_target[s->n_r++] = s->n_t - 1;
        if (s->fail_range && (int) s->n_r == s->fail_range)
                return -EIO;
        return 0;
}

static int on_anomaly(void *u, const walk_target *t, const walk_anomaly *a) {
        seen *s = u;

        ck_assert_int_ge(a->kind, 0);
        ck_assert_int_lt(a->kind, _WALK_ANOMALY_MAX);
        ck_assert_ptr_nonnull(a->table);
        ck_assert_uint_gt(strlen(a->message), 0);
        if (t) {
                ck_assert(s->open);
                ck_assert(same_device(t, &s->t[s->n_t - 1]));
        } else
                ck_assert(!s->open);
        s->by_kind[a->kind]++;
        if (s->n_a < MAX_SEEN) {
                s->a[s->n_a] = *a;
                s->a_has_t[s->n_a] = t;
                s->a_pasid[s->n_a] = t ? t->pasid : 0;
                s->a_n_t[s->n_a] = s->n_t;
                s->n_a++;
        }
        return 0;
}

static int on_done(void *u, const walk_target *t) {
        seen *s = u;

        ck_assert(s->open);
        ck_assert(same_device(t, &s->t[s->n_t - 1]));
        s->open = false;
        s->n_done++;
        return 0;
}

static const walk_ops ops = {
        .target = on_target,
        .same_tables = on_same,
        .range = on_range,
        .anomaly = on_anomaly,
        .target_done = on_done,
};

static seen *walk_on(iommu_ram *r, uint64_t rtaddr, uint64_t cap, uint64_t ecap, const walk_filter *f) {
        int fail_range = S.fail_range, fail_target = S.fail_target;

        memset(&S, 0, sizeof S);
        S.fail_range = fail_range;
        S.fail_target = fail_target;
        ck_assert_int_eq(walk_unit(r, rtaddr, cap, ecap, f, &ops, &S), 0);
        ck_assert(!S.open);
        ck_assert_uint_eq(S.n_done, S.n_t);
        return &S;
}

static seen *walk(uint64_t rtaddr, const walk_filter *f) {
        return walk_on(ram, rtaddr, CAP_ALL, ECAP_ALL, f);
}

#define RANGE(i, p, len, ps, r, w, x)                                                                    \
        {                                                                                                \
                .iova = (i), .phys = (p), .length = (len), .page_size = (ps), .read = (r), .write = (w), \
                .execute = (x)                                                                           \
        }
#define K4 UINT64_C(0x1000)
#define M2 UINT64_C(0x200000)
#define G1 UINT64_C(0x40000000)

static void expect_ranges(const seen *s, size_t target, const walk_range *exp, size_t n) {
        size_t k = 0;

        for (size_t i = 0; i < s->n_r; i++) {
                const walk_range *r = &s->r[i];
                if (s->r_target[i] != target)
                        continue;
                ck_assert_msg(k < n,
                              "unexpected range %zu of target %zu: iova 0x%llx phys 0x%llx len 0x%llx", k,
                              target, (unsigned long long) r->iova, (unsigned long long) r->phys,
                              (unsigned long long) r->length);
                ck_assert_msg(
                        r->iova == exp[k].iova && r->phys == exp[k].phys && r->length == exp[k].length &&
                                r->page_size == exp[k].page_size && r->read == exp[k].read &&
                                r->write == exp[k].write && r->execute == exp[k].execute,
                        "target %zu range %zu: got iova 0x%llx phys 0x%llx len 0x%llx ps 0x%llx %c%c%c, "
                        "want iova 0x%llx phys 0x%llx len 0x%llx ps 0x%llx %c%c%c",
                        target, k, (unsigned long long) r->iova, (unsigned long long) r->phys,
                        (unsigned long long) r->length, (unsigned long long) r->page_size,
                        r->read ? 'r' : '-', r->write ? 'w' : '-', r->execute ? 'x' : '-',
                        (unsigned long long) exp[k].iova, (unsigned long long) exp[k].phys,
                        (unsigned long long) exp[k].length, (unsigned long long) exp[k].page_size,
                        exp[k].read ? 'r' : '-', exp[k].write ? 'w' : '-', exp[k].execute ? 'x' : '-');
                k++;
        }
        ck_assert_msg(k == n, "target %zu: %zu ranges, want %zu", target, k, n);
}

/* The index of the first anomaly of a kind, asserting there is one. */
static size_t find_anomaly(const seen *s, walk_anomaly_kind kind) {
        for (size_t i = 0; i < s->n_a; i++)
                if (s->a[i].kind == kind)
                        return i;
        ck_abort_msg("no %s anomaly", walk_anomaly_kind_to_string(kind));
        return 0;
}

static size_t n_anomalies(const seen *s) {
        size_t n = 0;
        for (size_t k = 0; k < _WALK_ANOMALY_MAX; k++)
                n += s->by_kind[k];
        return n;
}

/* Legacy root table at 0x1000, bus 0's context table at 0x2000. */
static void legacy_root(void) {
        pte(0x1000, 0, 0x2000 | 1);
}

static void legacy_context(unsigned devfn, uint64_t lo, uint64_t hi) {
        put(0x2000 + 16 * (uint64_t) devfn, lo);
        put(0x2000 + 16 * (uint64_t) devfn + 8, hi);
}

/* ---- string tables ---- */

START_TEST(string_tables) {
        ck_assert_str_eq(walk_mode_to_string(WALK_MODE_LEGACY), "legacy");
        ck_assert_str_eq(walk_mode_to_string(WALK_MODE_ABORT), "abort-dma");
        ck_assert_ptr_null(walk_mode_to_string(_WALK_MODE_MAX));
        ck_assert_ptr_null(walk_mode_to_string(-1));
        ck_assert_int_eq(walk_mode_from_string("scalable"), WALK_MODE_SCALABLE);
        ck_assert_int_eq(walk_mode_from_string("nope"), _WALK_MODE_INVALID);
        ck_assert_int_eq(walk_mode_from_string(NULL), _WALK_MODE_INVALID);

        for (int i = 0; i < _WALK_TRANSLATION_MAX; i++)
                ck_assert_int_eq(walk_translation_from_string(walk_translation_to_string(i)), i);
        ck_assert_str_eq(walk_translation_to_string(WALK_TRANSLATION_DEVICE_TLB), "device-tlb");
        ck_assert_str_eq(walk_translation_to_string(WALK_TRANSLATION_NESTED), "nested");
        for (int i = 0; i < _WALK_ANOMALY_MAX; i++)
                ck_assert_int_eq(walk_anomaly_kind_from_string(walk_anomaly_kind_to_string(i)), i);
        ck_assert_str_eq(walk_anomaly_kind_to_string(WALK_ANOMALY_SHARED_TABLE), "shared-table");
        ck_assert_str_eq(walk_anomaly_kind_to_string(WALK_ANOMALY_OUTSIDE_RAM), "outside-ram");

        ck_assert_int_eq(walk_mode_of_rtaddr(0x1000), WALK_MODE_LEGACY);
        ck_assert_int_eq(walk_mode_of_rtaddr(0x1400), WALK_MODE_SCALABLE);
        ck_assert_int_eq(walk_mode_of_rtaddr(0x1800), WALK_MODE_RESERVED);
        ck_assert_int_eq(walk_mode_of_rtaddr(0x1c00), WALK_MODE_ABORT);
}
END_TEST

/* ---- legacy second-stage tables ---- */

START_TEST(legacy_3_level_4k) {
        seen *s;

        legacy_root();
        /* 00:01.0: TT 0, AW 1 (39-bit, 3 levels), DID 5, tables at 0x10000 */
        legacy_context(0x08, 0x10000 | 1, (5 << 8) | 1);
        pte(0x10000, 0, 0x11000 | 3);
        pte(0x11000, 0, 0x12000 | 3);
        pte(0x11000, 1, 0x13000 | 1); /* read-only above: writes denied below */
        pte(0x12000, 0, 0x200000 | 3);
        pte(0x12000, 1, 0x201000 | 3);
        pte(0x12000, 3, 0x300000 | 1);
        pte(0x12000, 511, 0x7ff000 | 3);
        pte(0x13000, 0, 0x400000 | 3);

        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->t[0].bus, 0);
        ck_assert_uint_eq(s->t[0].devfn, 0x08);
        ck_assert_uint_eq(s->t[0].pasid, WALK_NO_PASID);
        ck_assert(!s->t[0].rid_pasid);
        ck_assert_uint_eq(s->t[0].did, 5);
        ck_assert_int_eq(s->t[0].translation, WALK_TRANSLATION_MULTI_LEVEL);
        ck_assert_uint_eq(s->t[0].address_width, 39);
        ck_assert_uint_eq(s->t[0].levels, 3);
        ck_assert_uint_eq(s->t[0].root, 0x10000);
        ck_assert_uint_eq(s->t[0].second_root, 0);
        ck_assert(!s->t[0].fpd);
        ck_assert_uint_eq(s->t[0].entry_address, 0x2080);
        ck_assert_str_eq(s->t[0].entry_layout->name, "context");
        ck_assert_uint_eq(s->t[0].entry[0], 0x10001);
        ck_assert_uint_eq(s->t[0].entry[1], 0x501);
        ck_assert_uint_eq(s->t[0].entry[2], 0);

        static const walk_range exp[] = {
                RANGE(0x0, 0x200000, 0x2000, K4, true, true, false),
                RANGE(0x3000, 0x300000, 0x1000, K4, true, false, false),
                RANGE(0x1ff000, 0x7ff000, 0x1000, K4, true, true, false),
                RANGE(0x200000, 0x400000, 0x1000, K4, true, false, false),
        };
        expect_ranges(s, 0, exp, ELEMENTSOF(exp));
        ck_assert_uint_eq(n_anomalies(s), 0);
        ck_assert_uint_eq(s->n_same, 0);
}
END_TEST

START_TEST(legacy_4_level_2m_1g) {
        seen *s;

        legacy_root();
        /* 00:02.0: AW 2 (48-bit, 4 levels), DID 7, FPD */
        legacy_context(0x10, 0x20000 | 2 | 1, (7 << 8) | 2);
        pte(0x20000, 0, 0x21000 | 3);
        pte(0x21000, 0, 0x22000 | 3);
        pte(0x21000, 1, 0x80000000 | 0x80 | 3); /* 1 GiB at 1 GiB */
        pte(0x21000, 2, 0xc0000000 | 0x80 | 3); /* the next 1 GiB: merges */
        pte(0x22000, 1, 0x40000000 | 0x80 | 3); /* 2 MiB at 2 MiB */
        pte(0x22000, 2, 0x23000 | 3);
        /* physically and virtually right after the 2 MiB page, but 4 KiB */
        pte(0x23000, 0, 0x40200000 | 3);

        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->t[0].devfn, 0x10);
        ck_assert_uint_eq(s->t[0].did, 7);
        ck_assert(s->t[0].fpd);
        ck_assert_uint_eq(s->t[0].address_width, 48);
        ck_assert_uint_eq(s->t[0].levels, 4);
        static const walk_range exp[] = {
                RANGE(0x200000, 0x40000000, 0x200000, M2, true, true, false),
                RANGE(0x400000, 0x40200000, 0x1000, K4, true, true, false),
                RANGE(0x40000000, 0x80000000, 0x80000000, G1, true, true, false),
        };
        expect_ranges(s, 0, exp, ELEMENTSOF(exp));
        ck_assert_uint_eq(n_anomalies(s), 0);
}
END_TEST

START_TEST(legacy_5_level) {
        seen *s;

        legacy_root();
        /* 00:03.0: AW 3 (57-bit, 5 levels), DID 9 */
        legacy_context(0x18, 0x30000 | 1, (9 << 8) | 3);
        /* execute needs X at every level (second-stage permissions AND) */
        pte(0x30000, 1, 0x31000 | 7);
        pte(0x31000, 0, 0x32000 | 7);
        pte(0x32000, 0, 0x33000 | 7);
        pte(0x33000, 0, 0x34000 | 7);
        pte(0x34000, 0, 0x5000 | 7);
        pte(0x33000, 5, 0x600000 | 0x80 | 7); /* 2 MiB, at level 2 of 5 */

        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->t[0].levels, 5);
        ck_assert_uint_eq(s->t[0].address_width, 57);
        static const walk_range exp[] = {
                RANGE(0x1000000000000, 0x5000, 0x1000, K4, true, true, true),
                RANGE(0x1000000a00000, 0x600000, 0x200000, M2, true, true, true),
        };
        expect_ranges(s, 0, exp, ELEMENTSOF(exp));
        ck_assert_uint_eq(n_anomalies(s), 0);
}
END_TEST

START_TEST(coalescing) {
        seen *s;

        legacy_root();
        legacy_context(0x08, 0x10000 | 1, (1 << 8) | 1);
        pte(0x10000, 0, 0x11000 | 7);
        pte(0x11000, 0, 0x12000 | 7);
        for (unsigned i = 0; i < 4; i++)
                pte(0x12000, i, (0x100000 + i * 0x1000) | 3); /* one range */
        pte(0x12000, 4, 0x105000 | 3);                        /* physical gap: splits */
        pte(0x12000, 5, 0x106000 | 3);                        /* ... and merges on */
        pte(0x12000, 7, 0x107000 | 3);                        /* IOVA gap (6 absent) */
        pte(0x12000, 8, 0x108000 | 1);                        /* read-only: splits */
        pte(0x12000, 9, 0x109000 | 7);                        /* executable: splits */
        pte(0x11000, 1, 0x40000000 | 0x80 | 3);               /* two 2 MiB pages merge */
        pte(0x11000, 2, 0x40200000 | 0x80 | 3);
        pte(0x11000, 3, 0x13000 | 3); /* then 4 KiB: splits */
        pte(0x13000, 0, 0x40400000 | 3);
        pte(0x11000, 4, 0x14000 | 3); /* across two leaf tables: merges */
        pte(0x14000, 511, 0x50000000 | 3);
        pte(0x11000, 5, 0x15000 | 3);
        pte(0x15000, 0, 0x50001000 | 3);
        pte(0x11000, 6, 0x16000 | 3); /* no X above: no execute */
        pte(0x16000, 0, 0x60000000 | 7);

        s = walk(LEGACY(0x1000), NULL);
        static const walk_range exp[] = {
                RANGE(0x0, 0x100000, 0x4000, K4, true, true, false),
                RANGE(0x4000, 0x105000, 0x2000, K4, true, true, false),
                RANGE(0x7000, 0x107000, 0x1000, K4, true, true, false),
                RANGE(0x8000, 0x108000, 0x1000, K4, true, false, false),
                RANGE(0x9000, 0x109000, 0x1000, K4, true, true, true),
                RANGE(0x200000, 0x40000000, 0x400000, M2, true, true, false),
                RANGE(0x600000, 0x40400000, 0x1000, K4, true, true, false),
                RANGE(0x9ff000, 0x50000000, 0x2000, K4, true, true, false),
                RANGE(0xc00000, 0x60000000, 0x1000, K4, true, true, false),
        };
        expect_ranges(s, 0, exp, ELEMENTSOF(exp));
        ck_assert_uint_eq(n_anomalies(s), 0);
}
END_TEST

START_TEST(legacy_pass_through_and_device_tlb) {
        seen *s;
        size_t i;

        legacy_root();
        /* 00:03.0: TT 2 pass-through, DID 9 */
        legacy_context(0x18, (2 << 2) | 1, (9 << 8) | 1);
        /* 00:04.0: TT 1 device-TLB, 3-level tables */
        legacy_context(0x20, 0x10000 | (1 << 2) | 1, (4 << 8) | 1);
        pte(0x10000, 0, 0x11000 | 3);
        pte(0x11000, 0, 0x12000 | 3);
        pte(0x12000, 0, 0x777000 | 3);

        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 2);
        ck_assert_uint_eq(s->t[0].devfn, 0x18);
        ck_assert_int_eq(s->t[0].translation, WALK_TRANSLATION_PASS_THROUGH);
        ck_assert_uint_eq(s->t[0].levels, 0);
        ck_assert_uint_eq(s->t[0].address_width, 0);
        ck_assert_uint_eq(s->t[0].root, 0);
        ck_assert_uint_eq(s->t[0].did, 9);
        expect_ranges(s, 0, NULL, 0);
        ck_assert_uint_eq(s->t[1].devfn, 0x20);
        ck_assert_int_eq(s->t[1].translation, WALK_TRANSLATION_DEVICE_TLB);
        ck_assert_uint_eq(s->t[1].levels, 3);
        static const walk_range exp[] = { RANGE(0x0, 0x777000, 0x1000, K4, true, true, false) };
        expect_ranges(s, 1, exp, ELEMENTSOF(exp));
        ck_assert_uint_eq(n_anomalies(s), 0);

        /* a unit without ECAP.PT and ECAP.DT: both are bad encodings there */
        s = walk_on(ram, LEGACY(0x1000), CAP_ALL, 0, NULL);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_BAD_ENCODING], 2);
        ck_assert_uint_eq(n_anomalies(s), 2);
        i = find_anomaly(s, WALK_ANOMALY_BAD_ENCODING);
        ck_assert(s->a_has_t[i]);
        ck_assert_str_eq(s->a[i].table, "context");
        ck_assert_uint_eq(s->a[i].address, 0x2180);
        ck_assert_uint_eq(s->a[i].value, 0x9);
        expect_ranges(s, 1, exp, ELEMENTSOF(exp)); /* still shown */
}
END_TEST

/* ---- scalable mode ---- */

static void sm_pasid_entry(uint64_t table, unsigned i, uint64_t q0, uint64_t q1, uint64_t q2) {
        put(table + 64 * (uint64_t) i, q0);
        put(table + 64 * (uint64_t) i + 8, q1);
        put(table + 64 * (uint64_t) i + 16, q2);
}

static void scalable_image(void) {
        /* root: bus 0 lower context table 0x2000, upper 0x3000 */
        put(0x1000, 0x2000 | 1);
        put(0x1008, 0x3000 | 1);
        /* 00:01.0 (lower entry 8): PASID directory 0x4000, PDTS 0 (128
         * entries), RID_PASID 0 */
        put(0x2000 + 8 * 32, 0x4000 | 1);
        put(0x2000 + 8 * 32 + 8, 0);
        put(0x4000, 0x5000 | 1); /* PASIDs 0-63 */
        put(0x4008, 0x6000 | 1); /* PASIDs 64-127 */
        /* PASID 0: second stage, AW 1, DID 3 */
        sm_pasid_entry(0x5000, 0, 0x10000 | (2 << 6) | (1 << 2) | 1, 3, 0);
        /* PASID 1: first stage 4-level, DID 4 */
        sm_pasid_entry(0x5000, 1, (1 << 6) | 1, 4, 0x20000);
        /* PASID 2: nested over the same first stage, second stage 0x10000 */
        sm_pasid_entry(0x5000, 2, 0x10000 | (3 << 6) | (1 << 2) | 1, 4, 0x20000);
        /* PASID 3: pass-through, DID 6 */
        sm_pasid_entry(0x5000, 3, (4 << 6) | 1, 6, 0);
        /* PASID 65: first stage 5-level (FSPM 1), DID 8 */
        sm_pasid_entry(0x6000, 1, (1 << 6) | 1, 8, 0x30000 | (1 << 2));
        /* 00:10.0 (devfn 0x80, upper entry 0): RID_PASID 5, FPD */
        put(0x3000, 0x7000 | 2 | 1);
        put(0x3008, 5);
        put(0x7000, 0x8000 | 1);
        /* PASID 5: second stage, AW 2 (4 levels), DID 10 */
        sm_pasid_entry(0x8000, 5, 0x40000 | (2 << 6) | (2 << 2) | 1, 10, 0);

        /* second stage, 3 levels */
        pte(0x10000, 0, 0x11000 | 3);
        pte(0x11000, 0, 0x12000 | 3);
        pte(0x12000, 0, 0xa00000 | 3);
        /* first stage, 4 levels */
        pte(0x20000, 0, 0x21000 | 7);
        pte(0x21000, 0, 0x22000 | 7);
        pte(0x22000, 0, 0x23000 | 7);
        pte(0x23000, 0, 0xb00000 | 3);             /* read, write, execute */
        pte(0x23000, 1, 0xb01000 | 1 | XD);        /* read only */
        pte(0x23000, 2, 0xb02000 | 1);             /* read, execute */
        pte(0x22000, 1, 0xc00000 | 0x80 | 3 | XD); /* 2 MiB, read/write */
        pte(0x20000, 511, 0x24000 | 3);            /* the upper, canonical half */
        pte(0x24000, 511, 0x25000 | 3);
        pte(0x25000, 511, 0x26000 | 3);
        pte(0x26000, 511, 0xd00000 | 3);
        /* first stage, 5 levels; no write below the PML4E */
        pte(0x30000, 0, 0x31000 | 3);
        pte(0x31000, 1, 0x32000 | 1);
        pte(0x32000, 0, 0x33000 | 3);
        pte(0x33000, 0, 0x34000 | 3);
        pte(0x34000, 0, 0xe00000 | 3);
        pte(0x33000, 1, 0x40000000 | 0x80 | 3); /* 2 MiB */
        /* second stage, 4 levels with a 1 GiB page */
        pte(0x40000, 0, 0x41000 | 3);
        pte(0x41000, 0, 0x40000000 | 0x80 | 3);
}

static void check_scalable(const seen *s) {
        ck_assert_uint_eq(s->n_t, 6);

        ck_assert_uint_eq(s->t[0].devfn, 0x08);
        ck_assert_uint_eq(s->t[0].pasid, 0);
        ck_assert(s->t[0].rid_pasid);
        ck_assert_int_eq(s->t[0].translation, WALK_TRANSLATION_SECOND_STAGE);
        ck_assert_uint_eq(s->t[0].did, 3);
        ck_assert_uint_eq(s->t[0].levels, 3);
        ck_assert_uint_eq(s->t[0].address_width, 39);
        ck_assert_uint_eq(s->t[0].root, 0x10000);
        ck_assert_uint_eq(s->t[0].entry_address, 0x5000);
        ck_assert_str_eq(s->t[0].entry_layout->name, "pasid");
        ck_assert_uint_eq(s->t[0].entry[0], 0x10085);
        ck_assert_uint_eq(s->t[0].entry[1], 3);
        ck_assert(!s->t[0].fpd);
        static const walk_range ss3[] = { RANGE(0x0, 0xa00000, 0x1000, K4, true, true, false) };
        expect_ranges(s, 0, ss3, ELEMENTSOF(ss3));

        ck_assert_uint_eq(s->t[1].pasid, 1);
        ck_assert(!s->t[1].rid_pasid);
        ck_assert_int_eq(s->t[1].translation, WALK_TRANSLATION_FIRST_STAGE);
        ck_assert_uint_eq(s->t[1].did, 4);
        ck_assert_uint_eq(s->t[1].levels, 4);
        ck_assert_uint_eq(s->t[1].address_width, 48);
        ck_assert_uint_eq(s->t[1].root, 0x20000);
        ck_assert_uint_eq(s->t[1].entry_address, 0x5040);
        ck_assert_uint_eq(s->t[1].entry[2], 0x20000);
        static const walk_range fs4[] = {
                RANGE(0x0, 0xb00000, 0x1000, K4, true, true, true),
                RANGE(0x1000, 0xb01000, 0x1000, K4, true, false, false),
                RANGE(0x2000, 0xb02000, 0x1000, K4, true, false, true),
                RANGE(0x200000, 0xc00000, 0x200000, M2, true, true, false),
                RANGE(0xfffffffffffff000, 0xd00000, 0x1000, K4, true, true, true),
        };
        expect_ranges(s, 1, fs4, ELEMENTSOF(fs4));

        /* nested over the same first-stage tables: not walked again */
        ck_assert_uint_eq(s->t[2].pasid, 2);
        ck_assert_int_eq(s->t[2].translation, WALK_TRANSLATION_NESTED);
        ck_assert_uint_eq(s->t[2].root, 0x20000);
        ck_assert_uint_eq(s->t[2].second_root, 0x10000);
        ck_assert_uint_eq(s->t[2].levels, 4);
        expect_ranges(s, 2, NULL, 0);
        ck_assert_uint_eq(s->n_same, 1);
        ck_assert_uint_eq(s->same_t[0].pasid, 2);
        ck_assert_uint_eq(s->same_first[0].pasid, 1);
        ck_assert_uint_eq(s->same_first[0].devfn, 0x08);

        ck_assert_uint_eq(s->t[3].pasid, 3);
        ck_assert_int_eq(s->t[3].translation, WALK_TRANSLATION_PASS_THROUGH);
        ck_assert_uint_eq(s->t[3].did, 6);
        ck_assert_uint_eq(s->t[3].levels, 0);
        expect_ranges(s, 3, NULL, 0);

        ck_assert_uint_eq(s->t[4].pasid, 65);
        ck_assert_int_eq(s->t[4].translation, WALK_TRANSLATION_FIRST_STAGE);
        ck_assert_uint_eq(s->t[4].levels, 5);
        ck_assert_uint_eq(s->t[4].address_width, 57);
        ck_assert_uint_eq(s->t[4].entry_address, 0x6040);
        static const walk_range fs5[] = {
                RANGE(0x8000000000, 0xe00000, 0x1000, K4, true, false, true),
                RANGE(0x8000200000, 0x40000000, 0x200000, M2, true, false, true),
        };
        expect_ranges(s, 4, fs5, ELEMENTSOF(fs5));

        ck_assert_uint_eq(s->t[5].bus, 0);
        ck_assert_uint_eq(s->t[5].devfn, 0x80);
        ck_assert_uint_eq(s->t[5].pasid, 5);
        ck_assert(s->t[5].rid_pasid);
        ck_assert(s->t[5].fpd);
        ck_assert_uint_eq(s->t[5].did, 10);
        ck_assert_uint_eq(s->t[5].levels, 4);
        ck_assert_uint_eq(s->t[5].entry_address, 0x8140);
        static const walk_range ss4[] = { RANGE(0x0, 0x40000000, 0x40000000, G1, true, true, false) };
        expect_ranges(s, 5, ss4, ELEMENTSOF(ss4));

        ck_assert_uint_eq(n_anomalies(s), 0);
}

START_TEST(scalable_mode) {
        scalable_image();
        check_scalable(walk(SCALABLE(0x1000), NULL));
}
END_TEST

/* A backend that cannot peek: the walker reads into its scratch pages. */
typedef struct nopeek_ram {
        iommu_ram ram;
        iommu_ram *inner;
} nopeek_ram;

static int nopeek_read(iommu_ram *r, uint64_t paddr, void *buf, size_t len, iommu_error *err) {
        return iommu_ram_read(((nopeek_ram *) r)->inner, paddr, buf, len, err);
}

static void nopeek_free(iommu_ram *r) {
        free(r);
}

static const iommu_ram_ops nopeek_ops = { .name = "nopeek", .read = nopeek_read, .free = nopeek_free };

START_TEST(scalable_mode_without_peek) {
        _cleanup_(iommu_ram_freep) iommu_ram *np = NULL;
        nopeek_ram *n = calloc(1, sizeof *n);

        ck_assert_ptr_nonnull(n);
        scalable_image();
        n->ram.ops = &nopeek_ops;
        n->ram.ranges = malloc(ram->n_ranges * sizeof *ram->ranges);
        ck_assert_ptr_nonnull(n->ram.ranges);
        memcpy(n->ram.ranges, ram->ranges, ram->n_ranges * sizeof *ram->ranges);
        n->ram.n_ranges = ram->n_ranges;
        n->inner = ram;
        np = &n->ram;
        check_scalable(walk_on(np, SCALABLE(0x1000), CAP_ALL, ECAP_ALL, NULL));
}
END_TEST

/* ---- the root table, in both modes ---- */

START_TEST(root_table) {
        walk_filter f = WALK_FILTER_ALL;
        seen *s;

        /* legacy: bus 00 (context table 0x2000) and bus 05 (0x3000, root
         * entry bit 5 reserved), a pass-through device on each (TT 2) */
        put(0x1000, 0x2000 | 1);
        put(0x1050, 0x3000 | 0x20 | 1);
        legacy_context(0x08, (2 << 2) | 1, (1 << 8) | 2);
        put(0x3000 + 16 * 0x10, (2 << 2) | 1);
        put(0x3000 + 16 * 0x10 + 8, (2 << 8) | 2);
        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 2);
        ck_assert_uint_eq(s->t[0].bus, 0x00);
        ck_assert_uint_eq(s->t[0].devfn, 0x08);
        ck_assert_uint_eq(s->t[1].bus, 0x05);
        ck_assert_uint_eq(s->t[1].devfn, 0x10);
        ck_assert_uint_eq(s->t[1].did, 2);
        ck_assert_uint_eq(n_anomalies(s), 1);
        ck_assert_int_eq(s->a[0].kind, WALK_ANOMALY_RESERVED_BITS);
        ck_assert(!s->a_has_t[0]);
        ck_assert_uint_eq(s->a_n_t[0], 1); /* after bus 00, before bus 05's device */
        ck_assert_str_eq(s->a[0].table, "root");
        ck_assert_uint_eq(s->a[0].address, 0x1050);
        ck_assert_uint_eq(s->a[0].value, 0x3021);
        ck_assert_str_eq(s->a[0].message,
                         "bus 05: root entry has reserved bits set: 0x0000000000000020 in bits 63-0");

        f.bus = 5;
        s = walk(LEGACY(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->t[0].bus, 0x05);
        ck_assert_uint_eq(n_anomalies(s), 1);
        ck_assert_uint_eq(s->a_n_t[0], 0);

        /* a legacy walk filtered on a PASID reads nothing, not even a root
         * table outside RAM; unfiltered, that table is an anomaly */
        f = WALK_FILTER_ALL;
        f.pasid = 0;
        s = walk(LEGACY(0x7000000), &f);
        ck_assert_uint_eq(n_anomalies(s), 0);
        s = walk(LEGACY(0x7000000), NULL);
        ck_assert_uint_eq(n_anomalies(s), 1);
        ck_assert_int_eq(s->a[0].kind, WALK_ANOMALY_OUTSIDE_RAM);
        ck_assert_str_eq(s->a[0].table, "rtaddr");
        ck_assert_str_eq(s->a[0].message, "root table at 0x7000000 is outside System RAM");

        /* scalable: bus 00 and bus 05 (root entry bit 70 reserved), each
         * with a device whose PASID 0 passes through */
        teardown();
        setup();
        put(0x1000, 0x2000 | 1);
        put(0x1050, 0x6000 | 1);
        put(0x1058, UINT64_C(1) << 6);
        put(0x2000, 0x4000 | 1);
        put(0x6000 + 32 * 1, 0x4000 | 1);
        put(0x4000, 0x5000 | 1);
        sm_pasid_entry(0x5000, 0, (4 << 6) | 1, 1, 0);
        s = walk(SCALABLE(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 2);
        ck_assert_uint_eq(s->t[0].bus, 0x00);
        ck_assert_uint_eq(s->t[0].devfn, 0x00);
        ck_assert_uint_eq(s->t[1].bus, 0x05);
        ck_assert_uint_eq(s->t[1].devfn, 0x01);
        ck_assert_uint_eq(n_anomalies(s), 1);
        ck_assert(!s->a_has_t[0]);
        ck_assert_uint_eq(s->a_n_t[0], 1);
        ck_assert_str_eq(s->a[0].table, "sm-root");
        ck_assert_uint_eq(s->a[0].address, 0x1050);
        ck_assert_uint_eq(s->a[0].value, 0x6001);
        ck_assert_str_eq(s->a[0].message,
                         "bus 05: sm-root entry has reserved bits set: 0x0000000000000040 in bits 127-64");

        /* the bound counts the root table in this mode too */
        f = WALK_FILTER_ALL;
        f.max_entries = 100;
        s = walk(SCALABLE(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 0);
        ck_assert_uint_eq(n_anomalies(s), 1);
        ck_assert_int_eq(s->a[0].kind, WALK_ANOMALY_LIMIT);
        ck_assert_str_eq(s->a[0].table, "sm-root");
        ck_assert_uint_eq(s->a[0].address, 0x1000);
        ck_assert_str_eq(s->a[0].message, "walk stopped at the bound of 100 entries examined");

        /* a unit without scalable mode: said first, then the root table */
        s = walk_on(ram, SCALABLE(0x7000000), CAP_ALL, 0, NULL);
        ck_assert_uint_eq(n_anomalies(s), 2);
        ck_assert_int_eq(s->a[0].kind, WALK_ANOMALY_BAD_ENCODING);
        ck_assert_str_eq(s->a[0].table, "rtaddr");
        ck_assert_uint_eq(s->a[0].value, 0x7000400);
        ck_assert_int_eq(s->a[1].kind, WALK_ANOMALY_OUTSIDE_RAM);
}
END_TEST

START_TEST(filters) {
        walk_filter f;
        seen *s;

        scalable_image();

        f = WALK_FILTER_ALL;
        f.pasid = 65;
        s = walk(SCALABLE(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->t[0].pasid, 65);

        f = WALK_FILTER_ALL;
        f.devfn = 0x80;
        s = walk(SCALABLE(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->t[0].pasid, 5);

        f = WALK_FILTER_ALL;
        f.did = 4;
        s = walk(SCALABLE(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 2);
        ck_assert_uint_eq(s->t[0].pasid, 1);
        ck_assert_uint_eq(s->t[1].pasid, 2);
        ck_assert_uint_eq(s->n_same, 1);

        f = WALK_FILTER_ALL;
        f.bus = 1;
        s = walk(SCALABLE(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 0);

        /* impossible numbers match nothing */
        f = WALK_FILTER_ALL;
        f.bus = 256;
        ck_assert_uint_eq(walk(SCALABLE(0x1000), &f)->n_t, 0);
        ck_assert_uint_eq(walk(LEGACY(0x1000), &f)->n_t, 0);
        f = WALK_FILTER_ALL;
        f.devfn = 300;
        ck_assert_uint_eq(walk(SCALABLE(0x1000), &f)->n_t, 0);
        ck_assert_uint_eq(walk(LEGACY(0x1000), &f)->n_t, 0);
        f = WALK_FILTER_ALL;
        f.pasid = 0x100000;
        ck_assert_uint_eq(walk(SCALABLE(0x1000), &f)->n_t, 0);

        f = WALK_FILTER_ALL;
        f.pasid = WALK_NO_PASID; /* never a PASID */
        s = walk(SCALABLE(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 0);

        f = WALK_FILTER_ALL;
        f.devfn = 0x08;
        f.pasid = 3;
        s = walk(SCALABLE(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_int_eq(s->t[0].translation, WALK_TRANSLATION_PASS_THROUGH);

        /* legacy: devfn, did, and a PASID matches nothing */
        legacy_context(0x08, 0x10000 | 1, (5 << 8) | 1);
        legacy_context(0x10, 0x10000 | 1, (6 << 8) | 1);
        put(0x1000, 0x2000 | 1);
        put(0x1008, 0);
        f = WALK_FILTER_ALL;
        f.devfn = 0x10;
        s = walk(LEGACY(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->t[0].did, 6);
        /* the filtered-out device never walked: this one walks its tables */
        ck_assert_uint_eq(s->n_same, 0);
        ck_assert_uint_eq(s->n_r, 1);
        f = WALK_FILTER_ALL;
        f.did = 5;
        s = walk(LEGACY(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->t[0].devfn, 0x08);
        f = WALK_FILTER_ALL;
        f.pasid = 0;
        ck_assert_uint_eq(walk(LEGACY(0x1000), &f)->n_t, 0);
        f.pasid = WALK_NO_PASID;
        ck_assert_uint_eq(walk(LEGACY(0x1000), &f)->n_t, 2);
}
END_TEST

START_TEST(shared_tables_walked_once) {
        _cleanup_(iommu_ram_freep) iommu_ram *rec = NULL;
        const uint64_t *pages;
        size_t n;
        seen *s;

        legacy_root();
        legacy_context(0x08, 0x10000 | 1, (5 << 8) | 1);
        legacy_context(0x09, 0x10000 | 1, (5 << 8) | 1);
        pte(0x10000, 0, 0x11000 | 3);
        pte(0x11000, 0, 0x12000 | 3);
        pte(0x12000, 0, 0x900000 | 3);
        ck_assert_int_eq(iommu_ram_new_recorder(ram, &rec), 0);

        s = walk_on(rec, LEGACY(0x1000), CAP_ALL, ECAP_ALL, NULL);
        ck_assert_uint_eq(s->n_t, 2);
        ck_assert_uint_eq(s->n_same, 1);
        ck_assert_uint_eq(s->same_t[0].devfn, 0x09);
        ck_assert_uint_eq(s->same_first[0].devfn, 0x08);
        ck_assert_uint_eq(s->same_first[0].root, 0x10000);
        static const walk_range exp[] = { RANGE(0x0, 0x900000, 0x1000, K4, true, true, false) };
        expect_ranges(s, 0, exp, ELEMENTSOF(exp));
        expect_ranges(s, 1, NULL, 0);

        /* root table, context table, three page tables: each read once */
        ck_assert_uint_eq(iommu_ram_recorder_reads(rec), 5);
        ck_assert_int_eq(iommu_ram_recorded(rec, &pages, &n), 0);
        ck_assert_uint_eq(n, 5);
        ck_assert_uint_eq(pages[0], 0x1000);
        ck_assert_uint_eq(pages[1], 0x2000);
        ck_assert_uint_eq(pages[2], 0x10000);
        ck_assert_uint_eq(pages[3], 0x11000);
        ck_assert_uint_eq(pages[4], 0x12000);

        /* same root, other depth: other tables */
        legacy_context(0x0a, 0x10000 | 1, (5 << 8) | 2);
        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 3);
        ck_assert_uint_eq(s->n_same, 1);
}
END_TEST

/* ---- corrupt images ---- */

START_TEST(loops) {
        seen *s;
        size_t i;

        legacy_root();
        legacy_context(0x08, 0x10000 | 1, (5 << 8) | 1);
        pte(0x10000, 0, 0x10000 | 3); /* points at itself */
        pte(0x10000, 1, 0x11000 | 3);
        pte(0x11000, 7, 0x10000 | 3); /* points at its parent */

        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->n_r, 0);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_LOOP], 2);
        ck_assert_uint_eq(n_anomalies(s), 2);
        i = find_anomaly(s, WALK_ANOMALY_LOOP);
        ck_assert(s->a_has_t[i]);
        ck_assert_str_eq(s->a[i].table, "ss-pte");
        ck_assert_uint_eq(s->a[i].level, 3);
        ck_assert_uint_eq(s->a[i].address, 0x10000);
        ck_assert_uint_eq(s->a[i].iova, 0);
        ck_assert_uint_eq(s->a[i].value, 0x10003);
        ck_assert_uint_eq(s->a[1].level, 2);
        ck_assert_uint_eq(s->a[1].address, 0x11038);
        ck_assert_uint_eq(s->a[1].iova, 0x40000000 + 7 * 0x200000);
}
END_TEST

START_TEST(all_entries_one_table) {
        seen *s;

        /* a 4-level tree whose every entry at every level points at the
         * next table, ending in 512 leaves: 512^4 paths, walked once */
        legacy_root();
        legacy_context(0x08, 0x10000 | 1, (5 << 8) | 2);
        for (unsigned i = 0; i < 512; i++) {
                pte(0x10000, i, 0x11000 | 3);
                pte(0x11000, i, 0x12000 | 3);
                pte(0x12000, i, 0x13000 | 3);
                pte(0x13000, i, (0x100000 + i * 0x1000) | 3);
        }
        s = walk(LEGACY(0x1000), NULL);
        static const walk_range exp[] = { RANGE(0x0, 0x100000, 0x200000, K4, true, true, false) };
        expect_ranges(s, 0, exp, ELEMENTSOF(exp));
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_SHARED_TABLE], 3 * 511);
        ck_assert_uint_eq(n_anomalies(s), 3 * 511);
        /* depth first: the first repeat is the leaf table, from L2[1] */
        ck_assert_uint_eq(s->a[0].level, 2);
        ck_assert_uint_eq(s->a[0].address, 0x12008);
        ck_assert_uint_eq(s->a[0].iova, 0x200000);

        /* every entry of one table pointing at that table itself */
        for (unsigned i = 0; i < 512; i++)
                pte(0x10000, i, 0x10000 | 3);
        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->n_r, 0);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_LOOP], 512);
        ck_assert_uint_eq(n_anomalies(s), 512);

        /* a root whose 512 entries all point at one table pointing at itself */
        for (unsigned i = 0; i < 512; i++) {
                pte(0x10000, i, 0x11000 | 3);
                pte(0x11000, i, 0x11000 | 3);
        }
        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_LOOP], 512);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_SHARED_TABLE], 511);
        ck_assert_uint_eq(n_anomalies(s), 1023);
}
END_TEST

START_TEST(outside_ram) {
        walk_filter f = WALK_FILTER_ALL;
        seen *s;
        size_t i;

        /* the root table itself */
        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(n_anomalies(s), 1);
        i = find_anomaly(s, WALK_ANOMALY_OUTSIDE_RAM);
        ck_assert(!s->a_has_t[i]);
        ck_assert_str_eq(s->a[i].table, "rtaddr");
        ck_assert_uint_eq(s->a[i].value, 0x1000);

        legacy_root();
        put(0x1010, 0x7f000000 | 1); /* bus 1: context table past RAM */
        legacy_context(0x08, 0x10000 | 1, (5 << 8) | 1);
        legacy_context(0x10, 0x7fff0000 | 1, (6 << 8) | 1); /* page-table root past RAM */
        pte(0x10000, 0, 0x11000 | 3);
        pte(0x10000, 1, 0x12345000 | 3); /* page table past RAM */
        pte(0x11000, 0, 0x12000 | 3);
        pte(0x12000, 0, 0x80000000 | 3); /* leaves may point anywhere */

        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_OUTSIDE_RAM], 3);
        ck_assert_uint_eq(n_anomalies(s), 3);
        ck_assert_uint_eq(s->n_t, 2);
        static const walk_range exp[] = { RANGE(0x0, 0x80000000, 0x1000, K4, true, true, false) };
        expect_ranges(s, 0, exp, ELEMENTSOF(exp));

        ck_assert_str_eq(s->a[0].table, "ss-pte");
        ck_assert_uint_eq(s->a[0].level, 3);
        ck_assert_uint_eq(s->a[0].address, 0x10008);
        ck_assert_uint_eq(s->a[0].iova, 0x40000000);
        ck_assert(s->a_has_t[0]);
        ck_assert_str_eq(s->a[1].table, "context");
        ck_assert_uint_eq(s->a[1].level, 0);
        ck_assert_uint_eq(s->a[1].address, 0x2100);
        ck_assert(s->a_has_t[1]);
        ck_assert_str_eq(s->a[2].table, "root");
        ck_assert_uint_eq(s->a[2].address, 0x1010);
        ck_assert(!s->a_has_t[2]);

        /* scalable: a PASID directory past RAM */
        put(0x1000, 0x2000 | 1);
        put(0x1008, 0);
        put(0x1010, 0);
        put(0x2000, 0x7e000000 | 1);
        put(0x2008, 0);
        f.devfn = 0;
        s = walk(SCALABLE(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 0);
        ck_assert_uint_eq(n_anomalies(s), 1);
        i = find_anomaly(s, WALK_ANOMALY_OUTSIDE_RAM);
        ck_assert_str_eq(s->a[i].table, "sm-context");
        ck_assert_uint_eq(s->a[i].address, 0x2000);
        ck_assert(!s->a_has_t[i]);
        ck_assert_ptr_nonnull(strstr(s->a[i].message, "00:00.0"));
}
END_TEST

START_TEST(reserved_bits) {
        seen *s;

        /* root entry bit 5 */
        put(0x1000, 0x2000 | 0x20 | 1);
        /* context entry bit 100 (hi bit 36) */
        legacy_context(0x08, 0x10000 | 1, (UINT64_C(1) << 36) | (5 << 8) | 1);
        pte(0x10000, 0, 0x11000 | 3);
        /* non-leaf with address bit 50, above MGAW 48 */
        pte(0x11000, 0, (UINT64_C(1) << 50) | 0x12000 | 3);
        pte(0x11000, 1, 0x13000 | 3);
        /* leaf with address bit 49 */
        pte(0x13000, 2, (UINT64_C(1) << 49) | 0x5000 | 3);

        s = walk_on(ram, LEGACY(0x1000), CAP_48, ECAP_ALL, NULL);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_RESERVED_BITS], 4);
        /* the non-leaf's table is outside RAM with that bit set */
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_OUTSIDE_RAM], 1);
        ck_assert_uint_eq(n_anomalies(s), 5);

        ck_assert_str_eq(s->a[0].table, "root");
        ck_assert(!s->a_has_t[0]);
        ck_assert_uint_eq(s->a[0].address, 0x1000);
        ck_assert_uint_eq(s->a[0].value, 0x2021);
        ck_assert_str_eq(s->a[1].table, "context");
        ck_assert(s->a_has_t[1]);
        ck_assert_uint_eq(s->a[1].address, 0x2080);
        ck_assert_str_eq(s->a[2].table, "ss-pte");
        ck_assert_uint_eq(s->a[2].level, 2);
        ck_assert_uint_eq(s->a[2].address, 0x11000);
        ck_assert_ptr_nonnull(strstr(s->a[2].message, "0x0004000000000000"));
        ck_assert_int_eq(s->a[3].kind, WALK_ANOMALY_OUTSIDE_RAM);
        ck_assert_str_eq(s->a[4].table, "ss-pte");
        ck_assert_uint_eq(s->a[4].level, 1);
        ck_assert_uint_eq(s->a[4].address, 0x13010);
        ck_assert_uint_eq(s->a[4].iova, 0x202000);
        /* the leaf is still shown as what it says */
        static const walk_range exp[] = { RANGE(0x202000, 0x2000000005000, 0x1000, K4, true, true, false) };
        expect_ranges(s, 0, exp, ELEMENTSOF(exp));

        /* with MGAW 57 the address bits are fine */
        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_RESERVED_BITS], 2);

        /* scalable: root bit 70, context bit 200, directory bit 3, PASID bit 300 */
        teardown();
        setup();
        put(0x1000, 0x2000 | 1);
        put(0x1008, UINT64_C(1) << 6);
        put(0x2000, 0x4000 | 1);
        put(0x2018, UINT64_C(1) << 8);
        put(0x4000, 0x5000 | 8 | 1);
        sm_pasid_entry(0x5000, 7, (4 << 6) | 1, 2, 0);
        put(0x5000 + 7 * 64 + 32, UINT64_C(1) << 44);
        s = walk(SCALABLE(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->t[0].pasid, 7);
        ck_assert_uint_eq(s->t[0].entry[4], UINT64_C(1) << 44);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_RESERVED_BITS], 4);
        ck_assert_uint_eq(n_anomalies(s), 4);
        ck_assert_str_eq(s->a[0].table, "sm-root");
        ck_assert_str_eq(s->a[1].table, "sm-context");
        ck_assert_ptr_nonnull(strstr(s->a[1].message, "00:00.0"));
        ck_assert_str_eq(s->a[2].table, "pasid-dir");
        ck_assert_uint_eq(s->a[2].address, 0x4000);
        ck_assert(!s->a_has_t[2]);
        ck_assert_str_eq(s->a[3].table, "pasid");
        ck_assert_uint_eq(s->a[3].address, 0x51c0);
        ck_assert(s->a_has_t[3]);
        ck_assert_uint_eq(s->a_pasid[3], 7);
}
END_TEST

START_TEST(bad_page_sizes) {
        seen *s;
        size_t i;

        legacy_root();
        legacy_context(0x08, 0x20000 | 1, (5 << 8) | 2);
        /* PS in a PML4E: reserved; followed as a table */
        pte(0x20000, 0, 0x21000 | 0x80 | 3);
        /* 1 GiB page on a unit with 2 MiB pages only */
        pte(0x21000, 1, 0x80000000 | 0x80 | 3);
        /* 2 MiB page at an address that is not 2 MiB aligned */
        pte(0x21000, 0, 0x22000 | 3);
        pte(0x22000, 3, 0x40123000 | 0x80 | 3);

        s = walk_on(ram, LEGACY(0x1000), CAP_48, ECAP_ALL, NULL);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_RESERVED_BITS], 1);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_BAD_ENCODING], 1);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_MISALIGNED], 1);
        ck_assert_uint_eq(n_anomalies(s), 3);
        i = find_anomaly(s, WALK_ANOMALY_RESERVED_BITS);
        ck_assert_uint_eq(s->a[i].level, 4);
        ck_assert_uint_eq(s->a[i].address, 0x20000);
        ck_assert_uint_eq(s->a[i].value, 0x21083);
        i = find_anomaly(s, WALK_ANOMALY_MISALIGNED);
        ck_assert_uint_eq(s->a[i].level, 2);
        ck_assert_uint_eq(s->a[i].iova, 0x600000);
        i = find_anomaly(s, WALK_ANOMALY_BAD_ENCODING);
        ck_assert_uint_eq(s->a[i].level, 3);
        ck_assert_uint_eq(s->a[i].iova, 0x40000000);
        static const walk_range exp[] = {
                RANGE(0x600000, 0x40000000, 0x200000, M2, true, true, false),
                RANGE(0x40000000, 0x80000000, 0x40000000, G1, true, true, false),
        };
        expect_ranges(s, 0, exp, ELEMENTSOF(exp));

        /* with 1 GiB pages supported only the other two remain */
        s = walk(LEGACY(0x1000), NULL);
        ck_assert_uint_eq(n_anomalies(s), 2);
}
END_TEST

START_TEST(bad_encodings) {
        seen *s;

        legacy_root();
        legacy_context(0x08, 0x10000 | (3 << 2) | 1, (5 << 8) | 1); /* TT 3 */
        legacy_context(0x10, 0x10000 | 1, (5 << 8) | 0);            /* AW 0 */
        legacy_context(0x18, 0x10000 | 1, (5 << 8) | 4);            /* AW 4 */
        legacy_context(0x20, 0x30000 | 1, (5 << 8) | 3);            /* 57-bit, SAGAW lacks it */
        pte(0x10000, 0, 0x11000 | 3);
        pte(0x30000, 0, 0x31000 | 3);
        pte(0x31000, 0, 0);

        s = walk_on(ram, LEGACY(0x1000), CAP_48, ECAP_ALL, NULL);
        ck_assert_uint_eq(s->n_t, 4);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_BAD_ENCODING], 4);
        ck_assert_uint_eq(n_anomalies(s), 4);
        ck_assert_int_eq(s->t[0].translation, WALK_TRANSLATION_RESERVED);
        ck_assert_uint_eq(s->t[0].levels, 0);
        for (size_t i = 0; i < 4; i++) {
                ck_assert(s->a_has_t[i]);
                ck_assert_str_eq(s->a[i].table, "context");
        }
        ck_assert_ptr_nonnull(strstr(s->a[0].message, "translation type 3"));
        ck_assert_uint_eq(s->t[1].levels, 0);
        ck_assert_uint_eq(s->t[1].address_width, 0);
        ck_assert_ptr_nonnull(strstr(s->a[1].message, "address width encoding 0"));
        ck_assert_uint_eq(s->t[2].levels, 0);
        ck_assert_ptr_nonnull(strstr(s->a[2].message, "address width encoding 4"));
        /* unsupported but well-formed: walked all the same */
        ck_assert_uint_eq(s->t[3].levels, 5);
        ck_assert_ptr_nonnull(strstr(s->a[3].message, "SAGAW"));

        /* reserved TTM: one anomaly; abort-DMA: nothing at all */
        s = walk(0x1000 | (2 << 10), NULL);
        ck_assert_uint_eq(s->n_t, 0);
        ck_assert_uint_eq(n_anomalies(s), 1);
        ck_assert_int_eq(s->a[0].kind, WALK_ANOMALY_BAD_ENCODING);
        ck_assert_str_eq(s->a[0].table, "rtaddr");
        s = walk(0x1000 | (3 << 10), NULL);
        ck_assert_uint_eq(s->n_t, 0);
        ck_assert_uint_eq(n_anomalies(s), 0);

        /* scalable: PGTT 0 and 5, FSPM 2, PGTT 1 on a unit without FSTS */
        teardown();
        setup();
        put(0x1000, 0x2000 | 1);
        put(0x2000, 0x4000 | 1);
        put(0x4000, 0x5000 | 1);
        sm_pasid_entry(0x5000, 0, (0 << 6) | 1, 1, 0);
        sm_pasid_entry(0x5000, 1, (5 << 6) | 1, 1, 0);
        sm_pasid_entry(0x5000, 2, (1 << 6) | 1, 1, 0x20000 | (2 << 2));
        s = walk(SCALABLE(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 3);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_BAD_ENCODING], 3);
        ck_assert_uint_eq(n_anomalies(s), 3);
        ck_assert_int_eq(s->t[0].translation, WALK_TRANSLATION_RESERVED);
        ck_assert_int_eq(s->t[1].translation, WALK_TRANSLATION_RESERVED);
        ck_assert_int_eq(s->t[2].translation, WALK_TRANSLATION_FIRST_STAGE);
        ck_assert_uint_eq(s->t[2].levels, 0);
        ck_assert_ptr_nonnull(strstr(s->a[2].message, "paging mode 2"));
        /* a unit without scalable mode nor first stage says so */
        s = walk_on(ram, SCALABLE(0x1000), CAP_ALL, 0, NULL);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_BAD_ENCODING], 5);
        ck_assert(!s->a_has_t[0]);
        ck_assert_ptr_nonnull(strstr(s->a[0].message, "SMTS"));
}
END_TEST

START_TEST(shared_pasid_table) {
        seen *s;
        size_t i;

        put(0x1000, 0x2000 | 1);
        put(0x2000, 0x4000 | 1);
        put(0x4000, 0x5000 | 1);
        put(0x4008, 0x5000 | 1); /* PASIDs 64-127 in the same table as 0-63 */
        sm_pasid_entry(0x5000, 0, (4 << 6) | 1, 1, 0);
        s = walk(SCALABLE(0x1000), NULL);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(n_anomalies(s), 1);
        i = find_anomaly(s, WALK_ANOMALY_SHARED_TABLE);
        ck_assert_str_eq(s->a[i].table, "pasid-dir");
        ck_assert_uint_eq(s->a[i].address, 0x4008);
}
END_TEST

START_TEST(entry_limit) {
        walk_filter f = WALK_FILTER_ALL;
        seen *s;
        size_t i;

        legacy_root();
        legacy_context(0x08, 0x10000 | 1, (5 << 8) | 1);
        legacy_context(0x10, 0x20000 | 1, (5 << 8) | 1);
        pte(0x10000, 0, 0x11000 | 3);
        pte(0x11000, 0, 0x12000 | 3);
        pte(0x11000, 1, 0x13000 | 3);
        pte(0x12000, 0, 0x900000 | 3);
        pte(0x13000, 0, 0xa00000 | 3);
        pte(0x20000, 0, 0x11000 | 3);

        /* root 256 + context 256 + four tables of 512 = 2560: the fifth
         * table (the second device's root) is past the bound */
        f.max_entries = 2560;
        s = walk(LEGACY(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 2);
        ck_assert_uint_eq(s->n_done, 2);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_LIMIT], 1);
        ck_assert_uint_eq(n_anomalies(s), 1);
        i = find_anomaly(s, WALK_ANOMALY_LIMIT);
        ck_assert(s->a_has_t[i]);
        ck_assert_str_eq(s->a[i].table, "ss-pte");
        ck_assert_uint_eq(s->a[i].address, 0x20000);
        ck_assert_uint_eq(s->n_r, 2);

        /* a bound inside the tree: the pending range is still delivered,
         * the target closed */
        f.max_entries = 2559;
        s = walk(LEGACY(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 1);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_LIMIT], 1);
        ck_assert_uint_eq(s->a[0].address, 0x13000);
        static const walk_range exp[] = { RANGE(0x0, 0x900000, 0x1000, K4, true, true, false) };
        expect_ranges(s, 0, exp, ELEMENTSOF(exp));

        /* at the root table: no target at all */
        f.max_entries = 100;
        s = walk(LEGACY(0x1000), &f);
        ck_assert_uint_eq(s->n_t, 0);
        ck_assert_uint_eq(s->by_kind[WALK_ANOMALY_LIMIT], 1);
        ck_assert(!s->a_has_t[0]);
        ck_assert_str_eq(s->a[0].table, "root");

        /* without a bound given, the default one is generous */
        ck_assert_uint_eq(walk(LEGACY(0x1000), NULL)->by_kind[WALK_ANOMALY_LIMIT], 0);
}
END_TEST

START_TEST(callback_errors_stop) {
        legacy_root();
        legacy_context(0x08, 0x10000 | 1, (5 << 8) | 1);
        legacy_context(0x10, 0x10000 | 1, (6 << 8) | 1);
        pte(0x10000, 0, 0x11000 | 3);
        pte(0x11000, 0, 0x12000 | 3);
        pte(0x12000, 0, 0x900000 | 3);
        pte(0x12000, 2, 0x902000 | 3);

        memset(&S, 0, sizeof S);
        S.fail_range = 1;
        ck_assert_int_eq(walk_unit(ram, LEGACY(0x1000), CAP_ALL, ECAP_ALL, NULL, &ops, &S), -EIO);
        ck_assert_uint_eq(S.n_r, 1);
        ck_assert_uint_eq(S.n_t, 1);

        memset(&S, 0, sizeof S);
        S.fail_target = 2;
        ck_assert_int_eq(walk_unit(ram, LEGACY(0x1000), CAP_ALL, ECAP_ALL, NULL, &ops, &S), -EBADMSG);
        ck_assert_uint_eq(S.n_t, 2);
        ck_assert_uint_eq(S.n_r, 2);
        ck_assert_uint_eq(S.n_same, 0);
        memset(&S, 0, sizeof S);

        /* no callbacks at all is fine */
        ck_assert_int_eq(walk_unit(ram, LEGACY(0x1000), CAP_ALL, ECAP_ALL, NULL, NULL, NULL), 0);
        ck_assert_int_eq(walk_unit(NULL, LEGACY(0x1000), CAP_ALL, ECAP_ALL, NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(page_table_alone) {
        walk_target t = { .bus = 3, .devfn = 1, .pasid = WALK_NO_PASID };

        pte(0x20000, 256, 0x21000 | 3);
        pte(0x21000, 0, 0x22000 | 3);
        pte(0x22000, 0, 0x23000 | 3);
        pte(0x23000, 0, 0x5000 | 1 | XD);

        memset(&S, 0, sizeof S);
        S.t[0] = t;
        S.n_t = 1;
        S.open = true;
        ck_assert_int_eq(walk_page_table(ram, CAP_ALL, 0x20000, 4, true, &t, &ops, &S), 0);
        /* canonical: bit 47 set, so bits 63:48 too */
        static const walk_range exp[] = { RANGE(0xffff800000000000, 0x5000, 0x1000, K4, true, false,
                                                false) };
        expect_ranges(&S, 0, exp, ELEMENTSOF(exp));
        ck_assert_uint_eq(n_anomalies(&S), 0);

        ck_assert_int_eq(walk_page_table(ram, CAP_ALL, 0x20000, 3, true, &t, &ops, &S), -EINVAL);
        ck_assert_int_eq(walk_page_table(ram, CAP_ALL, 0x20000, 6, false, &t, &ops, &S), -EINVAL);
        ck_assert_int_eq(walk_page_table(ram, CAP_ALL, 0x20008, 4, false, &t, &ops, &S), -EINVAL);
}
END_TEST

/* ops->ranges: the same ranges as ops->range, in batches, and a batch is
 * handed over before an anomaly found after its ranges. */
typedef struct batch_log {
        walk_range r[1024];
        size_t n_r, n_calls, max_batch;
        size_t anomaly_at[8]; /* ranges delivered when each anomaly came */
        size_t n_a;
} batch_log;

static int log_ranges(void *u, const walk_target *t, const walk_range *r, size_t n) {
        batch_log *l = u;

        ck_assert_uint_gt(n, 0);
        ck_assert_uint_le(n, WALK_RANGE_BATCH);
        ck_assert_uint_le(l->n_r + n, ELEMENTSOF(l->r));
        memcpy(l->r + l->n_r, r, n * sizeof *r);
        l->n_r += n;
        l->n_calls++;
        if (n > l->max_batch)
                l->max_batch = n;
        return 0;
}

static int log_range(void *u, const walk_target *t, const walk_range *r) {
        return log_ranges(u, t, r, 1);
}

static int log_anomaly(void *u, const walk_target *t, const walk_anomaly *a) {
        batch_log *l = u;

        ck_assert_uint_lt(l->n_a, ELEMENTSOF(l->anomaly_at));
        l->anomaly_at[l->n_a++] = l->n_r;
        return 0;
}

static int fail_ranges(void *u, const walk_target *t, const walk_range *r, size_t n) {
        return -ENOSPC;
}

static int never_range(void *u, const walk_target *t, const walk_range *r) {
        ck_abort_msg("range called although ranges is set");
        return -EIO;
}

START_TEST(batched_ranges) {
        static const walk_ops one = { .range = log_range, .anomaly = log_anomaly };
        /* range is ignored when ranges is there */
        static const walk_ops many = { .range = never_range, .ranges = log_ranges, .anomaly = log_anomaly };
        static const walk_ops failing = { .ranges = fail_ranges };
        static batch_log a, b;

        legacy_root();
        legacy_context(0x08, 0x10000 | 1, (5 << 8) | 1);
        pte(0x10000, 0, 0x11000 | 3);
        pte(0x11000, 0, 0x12000 | 3);
        pte(0x11000, 1, 0x40000000 | 0x80 | 3);
        pte(0x11000, 2, 0x13000 | 3);
        /* 300 leaves, every other frame: 300 ranges; reserved bit 51 in
         * leaf 150 (MGAW 48) */
        for (unsigned i = 0; i < 300; i++)
                pte(0x12000, i, (0x100000 + 0x2000 * (uint64_t) i) | 3 | (i == 150 ? UINT64_C(1) << 51 : 0));
        pte(0x13000, 0, 0x7000 | 3);

        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        ck_assert_int_eq(walk_unit(ram, LEGACY(0x1000), CAP_48, ECAP_ALL, NULL, &one, &a), 0);
        ck_assert_int_eq(walk_unit(ram, LEGACY(0x1000), CAP_48, ECAP_ALL, NULL, &many, &b), 0);
        ck_assert_uint_eq(a.n_r, 302);
        ck_assert_uint_eq(a.n_calls, 302);
        ck_assert_uint_eq(b.n_r, 302);
        ck_assert_uint_eq(b.max_batch, WALK_RANGE_BATCH);
        ck_assert_uint_lt(b.n_calls, 302 / 4);
        for (size_t i = 0; i < a.n_r; i++) {
                ck_assert_uint_eq(a.r[i].iova, b.r[i].iova);
                ck_assert_uint_eq(a.r[i].phys, b.r[i].phys);
                ck_assert_uint_eq(a.r[i].length, b.r[i].length);
                ck_assert_uint_eq(a.r[i].page_size, b.r[i].page_size);
                ck_assert(a.r[i].read == b.r[i].read && a.r[i].write == b.r[i].write &&
                          a.r[i].execute == b.r[i].execute);
        }
        ck_assert_uint_eq(a.r[149].iova, 149 * 0x1000);
        ck_assert_uint_eq(a.r[150].phys, 0x8000000000000 + 0x100000 + 150 * 0x2000);
        ck_assert_uint_eq(a.r[300].iova, 0x200000);
        ck_assert_uint_eq(a.r[300].page_size, 0x200000);
        ck_assert_uint_eq(a.r[301].iova, 0x400000);
        /* the anomaly of leaf 150 comes after the ranges finished before
         * it (149: leaf 149's range could still have grown), in both modes */
        ck_assert_uint_eq(a.n_a, 1);
        ck_assert_uint_eq(a.anomaly_at[0], 149);
        ck_assert_uint_eq(b.n_a, 1);
        ck_assert_uint_eq(b.anomaly_at[0], 149);

        ck_assert_int_eq(walk_unit(ram, LEGACY(0x1000), CAP_48, ECAP_ALL, NULL, &failing, NULL), -ENOSPC);
}
END_TEST

/* Garbage: 64 pages of random entries, mostly pointing back into those
 * pages with random flags and stray high bits.  Whatever they say, the
 * walk ends, within its bound, keeping the callback protocol (the
 * callbacks check it) and, under the sanitizers, every read in bounds. */
static uint64_t xorshift(uint64_t *x) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

/* Check's ck_assert records every passing assertion (a write each): too
 * slow for callbacks that run a million times. */
#define CHECK(cond)                                                           \
        do {                                                                  \
                if (!(cond))                                                  \
                        ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond); \
        } while (0)

typedef struct protocol {
        bool open;
        walk_target t;
        uint64_t targets, ranges, anomalies, same;
        uint64_t next_iova; /* ranges of a target come in IOVA order */
        bool any;
} protocol;

static int p_target(void *u, const walk_target *t) {
        protocol *p = u;
        CHECK(!p->open);
        p->open = true;
        p->t = *t;
        p->any = false;
        p->targets++;
        CHECK(t->levels <= 5);
        return 0;
}

static int p_same(void *u, const walk_target *t, const walk_target *first) {
        protocol *p = u;
        CHECK(p->open && same_device(t, &p->t));
        CHECK(t->root == first->root);
        CHECK(t->levels == first->levels);
        p->same++;
        return 0;
}

static int p_ranges(void *u, const walk_target *t, const walk_range *r, size_t n) {
        protocol *p = u;
        CHECK(p->open && same_device(t, &p->t));
        for (size_t i = 0; i < n; i++) {
                CHECK(r[i].length > 0);
                CHECK(r[i].length % r[i].page_size == 0);
                if (p->any)
                        CHECK(r[i].iova >= p->next_iova);
                p->next_iova = r[i].iova + r[i].length;
                p->any = true;
        }
        p->ranges += n;
        return 0;
}

static int p_range(void *u, const walk_target *t, const walk_range *r) {
        return p_ranges(u, t, r, 1);
}

static int p_anomaly(void *u, const walk_target *t, const walk_anomaly *a) {
        protocol *p = u;
        CHECK(t ? p->open && same_device(t, &p->t) : !p->open);
        CHECK(a->kind >= 0 && a->kind < _WALK_ANOMALY_MAX);
        p->anomalies++;
        return 0;
}

static int p_done(void *u, const walk_target *t) {
        protocol *p = u;
        CHECK(p->open && same_device(t, &p->t));
        p->open = false;
        return 0;
}

START_TEST(random_images_terminate) {
        static const walk_ops one = { .target = p_target,
                                      .same_tables = p_same,
                                      .range = p_range,
                                      .anomaly = p_anomaly,
                                      .target_done = p_done };
        static const walk_ops many = { .target = p_target,
                                       .same_tables = p_same,
                                       .ranges = p_ranges,
                                       .anomaly = p_anomaly,
                                       .target_done = p_done };
        uint64_t x = 0x9e3779b97f4a7c15, targets = 0, ranges = 0, anomalies = 0;
        walk_filter f = WALK_FILTER_ALL;

        f.max_entries = 1 << 18;
        for (unsigned round = 0; round < 24; round++) {
                teardown();
                setup();
                for (uint64_t pg = 0; pg < 64; pg++) {
                        uint64_t *p = iommu_ram_image_page(ram, pg * 0x1000);
                        ck_assert_ptr_nonnull(p);
                        for (unsigned i = 0; i < 512; i++) {
                                uint64_t v = xorshift(&x), kind = v % 8;
                                if (kind < 3)
                                        p[i] = 0;
                                else if (kind < 7)
                                        /* a pointer into the image, random flags */
                                        p[i] = (xorshift(&x) % 64) * 0x1000 | (v >> 52) |
                                               (kind == 6 ? xorshift(&x) & 0xfff0000000000000 : 0);
                                else
                                        p[i] = xorshift(&x);
                        }
                }
                for (unsigned m = 0; m < 8; m++) {
                        uint64_t rtaddr = (m % 2 ? SCALABLE(0) : LEGACY(0)) | (round % 64) * 0x1000;
                        protocol pr = {};

                        ck_assert_int_eq(walk_unit(ram, rtaddr, (m / 2) % 2 ? CAP_48 : CAP_ALL, ECAP_ALL, &f,
                                                   m / 4 ? &many : &one, &pr),
                                         0);
                        ck_assert(!pr.open);
                        targets += pr.targets;
                        ranges += pr.ranges;
                        anomalies += pr.anomalies;
                }
        }
        /* the garbage did reach the tables */
        ck_assert_uint_gt(targets, 1000);
        ck_assert_uint_gt(ranges, 1000);
        ck_assert_uint_gt(anomalies, 1000);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("walk");
        TCase *tc = tcase_create("walk");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, string_tables);
        tcase_add_test(tc, root_table);
        tcase_add_test(tc, legacy_3_level_4k);
        tcase_add_test(tc, legacy_4_level_2m_1g);
        tcase_add_test(tc, legacy_5_level);
        tcase_add_test(tc, coalescing);
        tcase_add_test(tc, legacy_pass_through_and_device_tlb);
        tcase_add_test(tc, scalable_mode);
        tcase_add_test(tc, scalable_mode_without_peek);
        tcase_add_test(tc, filters);
        tcase_add_test(tc, shared_tables_walked_once);
        tcase_add_test(tc, loops);
        tcase_add_test(tc, all_entries_one_table);
        tcase_add_test(tc, outside_ram);
        tcase_add_test(tc, reserved_bits);
        tcase_add_test(tc, bad_page_sizes);
        tcase_add_test(tc, bad_encodings);
        tcase_add_test(tc, shared_pasid_table);
        tcase_add_test(tc, entry_limit);
        tcase_add_test(tc, callback_errors_stop);
        tcase_add_test(tc, page_table_alone);
        tcase_add_test(tc, batched_ranges);
        tcase_add_test(tc, random_images_terminate);
        suite_add_tcase(s, tc);
        return s;
}
