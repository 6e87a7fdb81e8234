/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Layer 6, control: the registers of a unit iommud owns.
 *
 * Every register is accessed in the width the specification gives it
 * (decode/regs.h layouts: a 64-bit access to GSTS stops QEMU's model).
 * GCMD is never read back and never built from GSTS: a software copy holds
 * the persistent enables (TE, QIE, IRE, CFI) and every write is that copy
 * with at most one one-shot bit (SRTP, SIRTP, WBF) added; after each, GSTS
 * is polled for the matching status with a time-out, so a unit that does
 * not answer is an error, never a hang.
 */

#include <stdbool.h>
#include <stdint.h>

#include "access/access.h"
#include "basic/error.h"
#include "decode/field.h"

#define UNIT_HW_TIMEOUT_USEC (1000 * 1000)

typedef struct unit_hw {
        const char *name; /* "dmar0", for messages */
        iommu_regs *regs; /* writable; borrowed */
        uint64_t cap, ecap;
        uint32_t gcmd; /* the persistent enables as iommud set them */
        uint64_t timeout_usec;
} unit_hw;

/* A unit whose registers regs are: CAP and ECAP read, and the software
 * copy taken from GSTS's persistent status bits (TES, QIES, IRES, CFIS),
 * once, so that writing it changes nothing that was on. */
int unit_hw_init(unit_hw *hw, const char *name, iommu_regs *regs, iommu_error *err);

int unit_hw_read(unit_hw *hw, const layout *l, uint64_t *ret, iommu_error *err);
int unit_hw_write(unit_hw *hw, const layout *l, uint64_t value, iommu_error *err);

/* Poll the register of layout l until (value & mask) == want, at most the
 * time-out: ETIMEDOUT naming the register and what it showed. */
int unit_hw_poll(unit_hw *hw, const layout *l, uint64_t mask, uint64_t want, iommu_error *err);

/* Set or clear persistent enables (GCMD bits TE, QIE, IRE, CFI) in the
 * copy, write it, and wait for the matching GSTS bits. */
int unit_hw_enable(unit_hw *hw, uint32_t gcmd_bits, bool on, iommu_error *err);

/* A one-shot command (GCMD SRTP, SIRTP or WBF) on top of the copy, and the
 * wait for its status: RTPS / IRTPS set, WBFS clear. */
int unit_hw_command(unit_hw *hw, uint32_t gcmd_bit, iommu_error *err);

/* GSTS now. */
int unit_hw_gsts(unit_hw *hw, uint32_t *ret, iommu_error *err);
