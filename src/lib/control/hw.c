/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The registers of an owned unit (hw.h). */
#include <assert.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "control/hw.h"
#include "decode/layouts.h"
#include "decode/regs.h"

#define GCMD_PERSISTENT                                                                           \
        ((uint32_t) (FIELD_MASK64(GCMD, TE) | FIELD_MASK64(GCMD, QIE) | FIELD_MASK64(GCMD, IRE) | \
                     FIELD_MASK64(GCMD, CFI)))
#define GCMD_ONE_SHOT \
        ((uint32_t) (FIELD_MASK64(GCMD, SRTP) | FIELD_MASK64(GCMD, SIRTP) | FIELD_MASK64(GCMD, WBF)))

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* A command bit and the status bit that answers it: the same position for
 * the persistent enables and SRTP/SIRTP/WBF (GCMD and GSTS are laid out
 * alike, regs.h). */
static_assert((int) GCMD_TE_LO == (int) GSTS_TES_LO && (int) GCMD_SRTP_LO == (int) GSTS_RTPS_LO &&
                      (int) GCMD_WBF_LO == (int) GSTS_WBFS_LO && (int) GCMD_QIE_LO == (int) GSTS_QIES_LO &&
                      (int) GCMD_IRE_LO == (int) GSTS_IRES_LO &&
                      (int) GCMD_SIRTP_LO == (int) GSTS_IRTPS_LO && (int) GCMD_CFI_LO == (int) GSTS_CFIS_LO,
              "each GSTS status bit sits where its GCMD command bit does");

static uint32_t status_of(uint32_t gcmd_bits) {
        return gcmd_bits;
}

int unit_hw_read(unit_hw *hw, const layout *l, uint64_t *ret, iommu_error *err) {
        uint64_t v[LAYOUT_MAX_QWORDS];
        int r = iommu_regs_read_layout(hw->regs, l, hw->cap, hw->ecap, 0, v, err);

        if (r >= 0)
                *ret = v[0];
        return r;
}

int unit_hw_write(unit_hw *hw, const layout *l, uint64_t value, iommu_error *err) {
        if (l->kind != LAYOUT_REGISTER || (l->width != 32 && l->width != 64))
                return iommu_error_set(err, EINVAL, "%s is not a 32- or 64-bit register", l->name);
        return iommu_regs_write(hw->regs, (uint32_t) layout_offset(l, hw->cap, hw->ecap), l->width, value,
                                err);
}

int unit_hw_poll(unit_hw *hw, const layout *l, uint64_t mask, uint64_t want, iommu_error *err) {
        uint64_t deadline = now_usec() + (hw->timeout_usec ? hw->timeout_usec : UNIT_HW_TIMEOUT_USEC), v = 0;
        int r;

        for (;;) {
                r = unit_hw_read(hw, l, &v, err);
                if (r < 0)
                        return r;
                if ((v & mask) == want)
                        return 0;
                if (now_usec() > deadline)
                        return iommu_error_set(err, ETIMEDOUT,
                                               "%s: %s did not become 0x%" PRIx64 " under mask 0x%" PRIx64
                                               " (it reads 0x%" PRIx64 ")",
                                               hw->name, l->name, want, mask, v);
        }
}

int unit_hw_gsts(unit_hw *hw, uint32_t *ret, iommu_error *err) {
        uint64_t v;
        int r = unit_hw_read(hw, &layout_gsts, &v, err);

        if (r >= 0)
                *ret = (uint32_t) v;
        return r;
}

int unit_hw_init(unit_hw *hw, const char *name, iommu_regs *regs, iommu_error *err) {
        uint64_t v[LAYOUT_MAX_QWORDS];
        uint32_t gsts;
        int r;

        *hw = (unit_hw){ .name = name, .regs = regs, .timeout_usec = UNIT_HW_TIMEOUT_USEC };
        r = iommu_regs_read_layout(regs, &layout_cap, 0, 0, 0, v, err);
        if (r < 0)
                return r;
        hw->cap = v[0];
        r = iommu_regs_read_layout(regs, &layout_ecap, 0, 0, 0, v, err);
        if (r < 0)
                return r;
        hw->ecap = v[0];
        r = unit_hw_gsts(hw, &gsts, err);
        if (r < 0)
                return r;
        /* the persistent enables that are on stay on in every write */
        hw->gcmd = gsts & GCMD_PERSISTENT;
        return 0;
}

int unit_hw_enable(unit_hw *hw, uint32_t gcmd_bits, bool on, iommu_error *err) {
        uint32_t copy = on ? hw->gcmd | gcmd_bits : hw->gcmd & ~gcmd_bits;
        int r;

        if (gcmd_bits & ~GCMD_PERSISTENT)
                return iommu_error_set(err, EINVAL, "GCMD bits 0x%" PRIx32 " are not persistent enables",
                                       gcmd_bits);
        r = unit_hw_write(hw, &layout_gcmd, copy, err);
        if (r < 0)
                return r;
        hw->gcmd = copy;
        return unit_hw_poll(hw, &layout_gsts, status_of(gcmd_bits), on ? status_of(gcmd_bits) : 0, err);
}

int unit_hw_command(unit_hw *hw, uint32_t gcmd_bit, iommu_error *err) {
        uint32_t wbf = (uint32_t) FIELD_MASK64(GCMD, WBF);
        int r;

        if ((gcmd_bit & ~GCMD_ONE_SHOT) || __builtin_popcount(gcmd_bit) != 1)
                return iommu_error_set(err, EINVAL, "GCMD 0x%" PRIx32 " is not one one-shot command",
                                       gcmd_bit);
        r = unit_hw_write(hw, &layout_gcmd, hw->gcmd | gcmd_bit, err);
        if (r < 0)
                return r;
        /* SRTP and SIRTP are done when their status is set, WBF when clear */
        return unit_hw_poll(hw, &layout_gsts, status_of(gcmd_bit), gcmd_bit == wbf ? 0 : status_of(gcmd_bit),
                            err);
}
