/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Watching an invalidation queue that someone else feeds (the kernel, on a
 * unit it owns) to count what went through it (decode/invq.h describes the
 * descriptors).
 *
 * Nothing here writes: a sample reads IQA and IQT and the queue's pages in
 * RAM.  Software writes descriptors at the tail and then moves IQT past
 * them, so everything between the tail of the last sample and the tail now
 * is complete and new.  How many times the queue went round in between
 * cannot be read anywhere; a sample notices that it went round at least
 * once when descriptors outside the new stretch changed too (an overrun),
 * and then counts the whole queue: the counts are a lower bound.
 *
 * In scalable mode (RTADDR.TTM 01) 128-bit descriptors are invalid
 * (specification 6.5.2), so the queue of a unit in scalable mode is read as
 * 256-bit whatever IQA.DW reads: QEMU's model (before the fix of
 * vtd_mem_read's IQA mask) reads DW back as 0 while it uses 256 bits.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "basic/error.h"
#include "decode/invq.h"

typedef struct invq_counts {
        uint64_t descriptors[_INV_KIND_MAX][INV_GRANULARITY_MAX];
        uint64_t overruns; /* samples that found the queue gone round */
} invq_counts;

/* One queue's sampling state: the queue as the last sample saw it. */
typedef struct invq_state {
        bool valid;
        uint64_t iqa;  /* IQA of the last sample */
        uint32_t tail; /* in descriptors */
        uint8_t *copy; /* the queue's bytes */
        size_t size;
} invq_state;

void invq_state_reset(invq_state *st);

/*
 * Sample a unit's invalidation queue: read IQA and IQT through regs and the
 * queue through ram (cap, ecap, gsts and rtaddr: the unit's registers),
 * and add what passed since the last sample to counts.
 * The first sample, and the first after IQA changed, only starts counting.
 * Returns 1 when the queue was sampled, 0 when the unit has no queue in use
 * (ECAP.QI or GSTS.QIES clear: st is reset), or a negative errno with err
 * set (registers or RAM unreadable, a tail outside the queue: st and
 * counts stay as they were).
 */
int invq_sample(iommu_regs *regs, iommu_ram *ram, uint64_t cap, uint64_t ecap, uint64_t gsts,
                uint64_t rtaddr, invq_state *st, invq_counts *counts, iommu_error *err);
