/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * DMA faults as the kernel reports them.  While the intel-iommu driver owns
 * a unit, its fault interrupt handler reads and clears every fault record
 * within microseconds and logs it, so polling the registers misses almost
 * all of them: the kernel log (/dev/kmsg) is the record.  Linux prints, with
 * pr_fmt "DMAR: ",
 *   [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x2000000 [fault reason 0x05] PTE Write access
 * is not set [DMA Read PASID 0x1] Request device [...] ...      (a PASID) [DMA Read] Request device [...]
 * ...               (kernels before 5.x) [INTR-REMAP] Request device [...] fault index 0x12 [fault reason
 * 0x25] ...
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kmsg_fault {
        uint64_t seq;       /* the record's sequence number */
        uint64_t usec;      /* its timestamp, usec since boot (local_clock) */
        uint8_t bus, devfn; /* the requester; the log names no segment */
        bool write;
        bool interrupt; /* an interrupt-remapping fault: address is the index */
        int64_t pasid;  /* -1 for none */
        uint64_t address;
        unsigned reason;
} kmsg_fault;

/* One /dev/kmsg record ("PRIO,SEQ,USEC,FLAGS;MESSAGE[\n continuation]").
 * 0 and *ret filled when it reports a DMAR fault, -ENOMSG when it is any
 * other message, -EBADMSG when it is not a kmsg record. */
int kmsg_parse_fault(const char *record, size_t len, kmsg_fault *ret);
