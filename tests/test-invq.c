/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Invalidation queue descriptors and sampling (invq.h): the descriptor
 * tables agree with their X-macro positions, descriptors are classified by
 * type and granularity, and sampling an in-memory queue counts what was
 * appended between two samples, across the end of the queue, notices a
 * queue that went round, and starts over when IQA changes.
 */
#include <ctype.h>
#include <string.h>

#include "check-main.h"
#include "decode/regs.h"
#include "walk/invq-watch.h"

#define REG_BASE 0xfed90000u
#define QUEUE 0x100000u

START_TEST(tables_consistent) {
        ck_assert_uint_eq(n_inv_dsc_layouts, 9);
        for (size_t n = 0; n < n_inv_dsc_layouts; n++) {
                const layout *l = inv_dsc_layouts[n];

                ck_assert_int_eq(l->width, 128);
                ck_assert_ptr_nonnull(l->check);
                for (size_t i = 0; i < l->n_fields; i++) {
                        const field_desc *f = &l->fields[i];
                        const layout_check *c = &l->check[i];
                        char lower[64];

                        ck_assert_msg(f->name && f->title, "%s: field %zu unnamed", l->name, i);
                        ck_assert_msg(f->lo + f->width <= l->width, "%s.%s outside", l->name, f->name);
                        ck_assert_msg(f->lo / 64 == (f->lo + f->width - 1u) / 64, "%s.%s straddles", l->name,
                                      f->name);
                        if (i > 0)
                                ck_assert_msg(l->fields[i - 1].lo + l->fields[i - 1].width <= f->lo,
                                              "%s.%s overlaps or out of order", l->name, f->name);
                        ck_assert_uint_lt(strlen(c->mnemonic), sizeof lower);
                        for (size_t k = 0; k <= strlen(c->mnemonic); k++)
                                lower[k] = (char) tolower((unsigned char) c->mnemonic[k]);
                        ck_assert_str_eq(f->name, lower);
                        ck_assert_uint_eq(f->lo, c->lo);
                        ck_assert_uint_eq(f->width, c->width);
                }
                /* every format has the type where the generic one has it */
                ck_assert_str_eq(l->fields[0].name, "type_lo");
                ck_assert_uint_eq(l->fields[0].lo, INV_DSC_TYPE_LO_LO);
        }
}
END_TEST

static void dsc(uint64_t *d, unsigned type, uint64_t qw0, uint64_t qw1) {
        d[0] = qw0;
        d[1] = qw1;
        FIELD_SET(INV_DSC, TYPE_LO, d, type & 0xf);
        FIELD_SET(INV_DSC, TYPE_HI, d, type >> 4);
}

START_TEST(classify) {
        static const struct {
                unsigned type;
                uint64_t qw0, qw1;
                inv_kind kind;
                const char *granularity;
        } cases[] = {
                { INV_DSC_CC, 1 << 4, 0, INV_KIND_CONTEXT_CACHE, "global" },
                { INV_DSC_CC, 2 << 4 | 5 << 16, 0, INV_KIND_CONTEXT_CACHE, "domain" },
                { INV_DSC_CC, 3 << 4, 0, INV_KIND_CONTEXT_CACHE, "device" },
                { INV_DSC_CC, 0, 0, INV_KIND_CONTEXT_CACHE, NULL },
                { INV_DSC_IOTLB, 1 << 4, 0, INV_KIND_IOTLB, "global" },
                { INV_DSC_IOTLB, 2 << 4 | 3 << 6, 0, INV_KIND_IOTLB, "domain" },
                { INV_DSC_IOTLB, 3 << 4, 0x12345000 | 4, INV_KIND_IOTLB, "page" },
                { INV_DSC_DEV_TLB, 0, 0x1000, INV_KIND_DEVICE_TLB, "page" },
                { INV_DSC_DEV_TLB, 0, 0x7ffff001, INV_KIND_DEVICE_TLB, "range" },
                { INV_DSC_IEC, 0, 0, INV_KIND_INTERRUPT_ENTRY_CACHE, "global" },
                { INV_DSC_IEC, 1 << 4, 0, INV_KIND_INTERRUPT_ENTRY_CACHE, "index" },
                { INV_DSC_WAIT, 1 << 5 | 1 << 6, 0xabcd0, INV_KIND_WAIT, "none" },
                { INV_DSC_P_IOTLB, 2 << 4, 0, INV_KIND_PASID_IOTLB, "pasid" },
                { INV_DSC_P_IOTLB, 3 << 4, 0, INV_KIND_PASID_IOTLB, "page" },
                { INV_DSC_P_IOTLB, 1 << 4, 0, INV_KIND_PASID_IOTLB, NULL },
                { INV_DSC_PC, 0, 0, INV_KIND_PASID_CACHE, "domain" },
                { INV_DSC_PC, 1 << 4, 0, INV_KIND_PASID_CACHE, "pasid" },
                { INV_DSC_PC, 3 << 4, 0, INV_KIND_PASID_CACHE, "global" },
                { INV_DSC_P_DEV_TLB, 0, 1, INV_KIND_PASID_DEVICE_TLB, "page" },
                { INV_DSC_P_DEV_TLB, 0, 1 << 11, INV_KIND_PASID_DEVICE_TLB, "range" },
                { 0x9, 0, 0, INV_KIND_OTHER, "none" }, /* page group response */
                { 0x0, 0, 0, INV_KIND_OTHER, "none" },
                { 0x12, 1 << 4, 0, INV_KIND_OTHER, "none" }, /* TYPE_HI set: not an IOTLB one */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t d[2];
                unsigned g = 99;
                inv_kind k;

                dsc(d, cases[i].type, cases[i].qw0, cases[i].qw1);
                k = inv_dsc_classify(d, &g);
                ck_assert_msg(k == cases[i].kind, "case %zu: kind %d", i, k);
                if (cases[i].granularity)
                        ck_assert_str_eq(inv_granularity_to_string(k, g), cases[i].granularity);
                else
                        ck_assert_ptr_null(inv_granularity_to_string(k, g));
        }
        ck_assert_str_eq(inv_kind_to_string(INV_KIND_PASID_DEVICE_TLB), "pasid_device_tlb");
        ck_assert_int_eq(inv_kind_from_string("iotlb"), INV_KIND_IOTLB);
        ck_assert_int_eq(inv_kind_from_string("tlb"), _INV_KIND_INVALID);
        ck_assert_ptr_null(inv_kind_to_string(_INV_KIND_MAX));
        ck_assert_ptr_null(inv_granularity_to_string(INV_KIND_INTERRUPT_ENTRY_CACHE, 2));
        ck_assert_ptr_null(inv_granularity_to_string(INV_KIND_WAIT, 1));
        ck_assert_ptr_null(inv_kind_layout(INV_KIND_OTHER));
        ck_assert_ptr_eq(inv_kind_layout(INV_KIND_IOTLB), &layout_iotlb_inv_dsc);
}
END_TEST

/* The register and the descriptor that invalidate the same cache hold one
 * granularity encoding (specification 6.5.1 and 6.5.2): decode says the
 * same of a value in either, in the specification's words, and the
 * metrics label it with the short name. */
START_TEST(granularity_words) {
        static const struct {
                const layout *reg;
                unsigned reg_field;
                const layout *dsc;
                unsigned dsc_field;
                inv_kind kind;
                const char *meaning[INV_GRANULARITY_MAX];
                const char *label[INV_GRANULARITY_MAX];
        } pairs[] = {
                { &layout_ccmd,
                  CCMD_CIRG,
                  &layout_cc_inv_dsc,
                  CC_INV_DSC_G,
                  INV_KIND_CONTEXT_CACHE,
                  { "reserved", "global", "domain-selective", "device-selective" },
                  { NULL, "global", "domain", "device" } },
                { &layout_ccmd,
                  CCMD_CAIG,
                  &layout_cc_inv_dsc,
                  CC_INV_DSC_G,
                  INV_KIND_CONTEXT_CACHE,
                  { "reserved", "global", "domain-selective", "device-selective" },
                  { NULL, "global", "domain", "device" } },
                { &layout_iotlb,
                  IOTLB_IIRG,
                  &layout_iotlb_inv_dsc,
                  IOTLB_INV_DSC_G,
                  INV_KIND_IOTLB,
                  { "reserved", "global", "domain-selective", "page-selective" },
                  { NULL, "global", "domain", "page" } },
                { &layout_iotlb,
                  IOTLB_IAIG,
                  &layout_iotlb_inv_dsc,
                  IOTLB_INV_DSC_G,
                  INV_KIND_IOTLB,
                  { "reserved", "global", "domain-selective", "page-selective" },
                  { NULL, "global", "domain", "page" } },
        };
        static const char *const fm[] = { "no function bits masked", "function bit 2 masked",
                                          "function bits 2:1 masked", "function bits 2:0 masked" };
        char a[64], b[64];

        for (size_t i = 0; i < ELEMENTSOF(pairs); i++)
                for (unsigned g = 0; g < INV_GRANULARITY_MAX; g++) {
                        const field_desc *rf = &pairs[i].reg->fields[pairs[i].reg_field];
                        const field_desc *df = &pairs[i].dsc->fields[pairs[i].dsc_field];

                        ck_assert_str_eq(field_meaning(rf, g, a, sizeof a), pairs[i].meaning[g]);
                        ck_assert_str_eq(field_meaning(df, g, b, sizeof b), pairs[i].meaning[g]);
                        if (pairs[i].label[g])
                                ck_assert_str_eq(inv_granularity_to_string(pairs[i].kind, g),
                                                 pairs[i].label[g]);
                        else
                                ck_assert_ptr_null(inv_granularity_to_string(pairs[i].kind, g));
                }
        for (unsigned v = 0; v < ELEMENTSOF(fm); v++) {
                ck_assert_str_eq(field_meaning(&layout_ccmd.fields[CCMD_FM], v, a, sizeof a), fm[v]);
                ck_assert_str_eq(field_meaning(&layout_cc_inv_dsc.fields[CC_INV_DSC_FM], v, b, sizeof b),
                                 fm[v]);
        }
        /* the PASID-based ones have encodings of their own */
        ck_assert_str_eq(field_meaning(&layout_pc_inv_dsc.fields[PC_INV_DSC_G], 0, a, sizeof a),
                         "domain-selective");
        ck_assert_str_eq(inv_granularity_to_string(INV_KIND_PASID_CACHE, 0), "domain");
        ck_assert_str_eq(field_meaning(&layout_pc_inv_dsc.fields[PC_INV_DSC_G], 2, a, sizeof a), "reserved");
        ck_assert_ptr_null(inv_granularity_to_string(INV_KIND_PASID_CACHE, 2));
        ck_assert_str_eq(field_meaning(&layout_p_iotlb_inv_dsc.fields[P_IOTLB_INV_DSC_G], 2, a, sizeof a),
                         "PASID-selective");
        ck_assert_str_eq(inv_granularity_to_string(INV_KIND_PASID_IOTLB, 2), "pasid");
}
END_TEST

typedef struct queue {
        iommu_regs *regs;
        iommu_ram *ram;
        uint64_t cap, ecap, gsts, rtaddr;
        size_t dsize;
        uint32_t n, tail;
        invq_state st;
        invq_counts counts;
} queue;

static void put64(queue *q, uint32_t offset, uint64_t v) {
        memcpy((uint8_t *) iommu_regs_image_data(q->regs) + offset, &v, sizeof v);
}

static void queue_init(queue *q, unsigned qs, bool dw) {
        *q = (queue){ .ecap = FIELD_MASK64(ECAP, QI), .gsts = FIELD_MASK64(GSTS, QIES) };
        ck_assert_int_eq(iommu_regs_new_image(REG_BASE, 0x1000, &q->regs), 0);
        ck_assert_int_eq(iommu_ram_new_image(&q->ram), 0);
        for (unsigned p = 0; p < (1u << qs); p++)
                ck_assert_ptr_nonnull(iommu_ram_image_page(q->ram, QUEUE + p * VTD_PAGE_SIZE));
        q->dsize = dw ? 32 : 16;
        q->n = (uint32_t) ((VTD_PAGE_SIZE << qs) / q->dsize);
        put64(q, REG_IQA, QUEUE | (dw ? FIELD_MASK64(IQA, DW) : 0) | qs);
        put64(q, REG_IQT, 0);
}

static void queue_done(queue *q) {
        invq_state_reset(&q->st);
        iommu_regs_free(q->regs);
        iommu_ram_free(q->ram);
}

/* Software's side: a descriptor at the tail, the tail moved past it. */
static void submit(queue *q, unsigned type, uint64_t qw0, uint64_t qw1) {
        uint64_t d[2];
        uint64_t addr = QUEUE + (uint64_t) q->tail * q->dsize;
        uint8_t *page = iommu_ram_image_page(q->ram, addr & ~(uint64_t) (VTD_PAGE_SIZE - 1));

        dsc(d, type, qw0, qw1);
        memcpy(page + addr % VTD_PAGE_SIZE, d, sizeof d);
        q->tail = (q->tail + 1) % q->n;
        put64(q, REG_IQT, (uint64_t) q->tail * q->dsize);
}

static int sample(queue *q) {
        iommu_error err = {};
        return invq_sample(q->regs, q->ram, q->cap, q->ecap, q->gsts, q->rtaddr, &q->st, &q->counts, &err);
}

/* With other registers, RAM or status than the queue's own. */
static int sample_with(queue *q, iommu_regs *regs, iommu_ram *ram, uint64_t ecap, uint64_t gsts,
                       iommu_error *err) {
        return invq_sample(regs, ram, q->cap, ecap, gsts, q->rtaddr, &q->st, &q->counts, err);
}

static uint64_t count(queue *q, inv_kind k, unsigned g) {
        return q->counts.descriptors[k][g];
}

static uint64_t total(queue *q) {
        uint64_t t = 0;
        for (int k = 0; k < _INV_KIND_MAX; k++)
                for (unsigned g = 0; g < INV_GRANULARITY_MAX; g++)
                        t += q->counts.descriptors[k][g];
        return t;
}

START_TEST(sample_counts_new_descriptors) {
        queue q;

        queue_init(&q, 0, false);
        /* what was there before the first sample is of unknown age */
        submit(&q, INV_DSC_IOTLB, 1 << 4, 0);
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(total(&q), 0);

        submit(&q, INV_DSC_IOTLB, 2 << 4, 0);
        submit(&q, INV_DSC_WAIT, 1 << 5, 0);
        submit(&q, INV_DSC_CC, 1 << 4, 0);
        submit(&q, INV_DSC_WAIT, 1 << 5, 0);
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(count(&q, INV_KIND_IOTLB, 2), 1);
        ck_assert_uint_eq(count(&q, INV_KIND_CONTEXT_CACHE, 1), 1);
        ck_assert_uint_eq(count(&q, INV_KIND_WAIT, 0), 2);
        ck_assert_uint_eq(total(&q), 4);

        /* nothing new: nothing counted */
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(total(&q), 4);
        ck_assert_uint_eq(q.counts.overruns, 0);

        /* across the end of the queue */
        while (q.tail != q.n - 2)
                submit(&q, INV_DSC_IEC, 0, 0);
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(count(&q, INV_KIND_INTERRUPT_ENTRY_CACHE, 0), q.n - 2 - 5);
        for (int i = 0; i < 5; i++)
                submit(&q, INV_DSC_IOTLB, 3 << 4, 0x1000);
        ck_assert_uint_lt(q.tail, 5);
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(count(&q, INV_KIND_IOTLB, 3), 5);
        ck_assert_uint_eq(q.counts.overruns, 0);
        queue_done(&q);
}
END_TEST

START_TEST(sample_notices_overrun) {
        queue q;
        uint64_t before;

        queue_init(&q, 0, false);
        ck_assert_int_eq(sample(&q), 1);
        /* once round and 3 more: the tail moved by 3 only */
        for (uint32_t i = 0; i < q.n + 3; i++)
                submit(&q, INV_DSC_PC, (uint64_t) (i % 2) << 4, 0);
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(q.counts.overruns, 1);
        ck_assert_uint_eq(total(&q), q.n); /* at least the queue's worth */

        /* exactly once round: the tail where it was, the contents new */
        before = total(&q);
        for (uint32_t i = 0; i < q.n; i++)
                submit(&q, INV_DSC_WAIT, 1 << 5, i);
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(q.counts.overruns, 2);
        ck_assert_uint_eq(total(&q), before + q.n);

        /* descriptors written just past the tail, not yet published: not
         * an overrun, and counted once the tail moves over them */
        before = total(&q);
        submit(&q, INV_DSC_IOTLB, 1 << 4, 0);
        submit(&q, INV_DSC_IOTLB, 1 << 4, 0);
        put64(&q, REG_IQT, (uint64_t) ((q.tail + q.n - 2) % q.n) * q.dsize);
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(q.counts.overruns, 2);
        ck_assert_uint_eq(total(&q), before);
        put64(&q, REG_IQT, (uint64_t) q.tail * q.dsize);
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(q.counts.overruns, 2);
        ck_assert_uint_eq(count(&q, INV_KIND_IOTLB, 1), 2);
        queue_done(&q);
}
END_TEST

START_TEST(sample_256_bit_descriptors) {
        queue q;

        queue_init(&q, 1, true);
        ck_assert_uint_eq(q.n, 256);
        ck_assert_int_eq(sample(&q), 1);
        submit(&q, INV_DSC_P_IOTLB, 2 << 4, 0);
        submit(&q, INV_DSC_P_DEV_TLB, 0, 1 << 11);
        submit(&q, INV_DSC_WAIT, 1 << 5, 0);
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(count(&q, INV_KIND_PASID_IOTLB, 2), 1);
        ck_assert_uint_eq(count(&q, INV_KIND_PASID_DEVICE_TLB, 1), 1);
        ck_assert_uint_eq(count(&q, INV_KIND_WAIT, 0), 1);
        ck_assert_uint_eq(total(&q), 3);
        queue_done(&q);
}
END_TEST

/* QEMU reads IQA.DW back as 0; in scalable mode the queue is 256-bit anyway */
START_TEST(sample_scalable_mode_is_256_bit) {
        queue q;

        queue_init(&q, 1, false);
        q.rtaddr = (uint64_t) TTM_SCALABLE << RTADDR_TTM_LO;
        q.dsize = 32;
        q.n = 256;
        ck_assert_int_eq(sample(&q), 1);
        submit(&q, INV_DSC_PC, 1 << 4, 0);
        submit(&q, INV_DSC_WAIT, 1 << 5, 0);
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(count(&q, INV_KIND_PASID_CACHE, 1), 1);
        ck_assert_uint_eq(count(&q, INV_KIND_WAIT, 0), 1);
        ck_assert_uint_eq(total(&q), 2);
        queue_done(&q);
}
END_TEST

START_TEST(sample_states) {
        iommu_error err = {};
        queue q;

        queue_init(&q, 0, false);
        ck_assert_int_eq(sample(&q), 1);
        submit(&q, INV_DSC_IOTLB, 1 << 4, 0);

        /* a new queue base: start over, count nothing of the old one */
        put64(&q, REG_IQA, QUEUE + VTD_PAGE_SIZE);
        ck_assert_ptr_nonnull(iommu_ram_image_page(q.ram, QUEUE + VTD_PAGE_SIZE));
        ck_assert_int_eq(sample(&q), 1);
        ck_assert_uint_eq(total(&q), 0);
        ck_assert_uint_eq(q.st.iqa, QUEUE + VTD_PAGE_SIZE);

        /* a tail beyond the queue: an error, state and counts unchanged */
        put64(&q, REG_IQT, 0x7fff0);
        put64(&q, REG_IQA, QUEUE + VTD_PAGE_SIZE);
        ck_assert_int_eq(sample_with(&q, q.regs, q.ram, q.ecap, q.gsts, &err), -ERANGE);
        ck_assert_ptr_nonnull(strstr(err.message, "beyond"));
        ck_assert(q.st.valid);

        /* a queue outside RAM */
        put64(&q, REG_IQT, 0);
        put64(&q, REG_IQA, 0x80000000);
        ck_assert_int_lt(sample_with(&q, q.regs, q.ram, q.ecap, q.gsts, &err), 0);
        ck_assert(q.st.valid);
        ck_assert_uint_eq(q.st.iqa, QUEUE + VTD_PAGE_SIZE);

        /* no RAM, no registers */
        ck_assert_int_eq(sample_with(&q, q.regs, NULL, q.ecap, q.gsts, &err), -ENODEV);
        ck_assert_int_eq(sample_with(&q, NULL, q.ram, q.ecap, q.gsts, &err), -ENODEV);

        /* queued invalidation off, or not supported: not in use, state gone */
        ck_assert_int_eq(sample_with(&q, q.regs, q.ram, q.ecap, 0, &err), 0);
        ck_assert(!q.st.valid);
        ck_assert_ptr_null(q.st.copy);
        ck_assert_int_eq(sample_with(&q, NULL, NULL, 0, q.gsts, &err), 0);
        ck_assert_uint_eq(total(&q), 0);
        queue_done(&q);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("invq");
        TCase *tc = tcase_create("invq");

        tcase_add_test(tc, tables_consistent);
        tcase_add_test(tc, classify);
        tcase_add_test(tc, granularity_words);
        tcase_add_test(tc, sample_counts_new_descriptors);
        tcase_add_test(tc, sample_notices_overrun);
        tcase_add_test(tc, sample_256_bit_descriptors);
        tcase_add_test(tc, sample_scalable_mode_is_256_bit);
        tcase_add_test(tc, sample_states);
        suite_add_tcase(s, tc);
        return s;
}
