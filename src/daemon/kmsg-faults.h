/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * DMA faults from the kernel log.  While the kernel owns a unit its fault
 * interrupt handler clears every fault record within microseconds, so the
 * register poll sees almost none: the kernel's own log lines are the record
 * (src/lib/kmsg.h).  Read from /dev/kmsg below the sysroot, non-blocking,
 * from the oldest record the kernel still holds; entries have the fault
 * log's shape with "source": "kernel-log" ("index" and "record" null: the
 * kernel prints no raw record).  Only for a live source: a snapshot's
 * machine is not this one.
 */

#include <stdint.h>

#include <json-c/json.h>

#include "basic/error.h"
#include "model/system.h"

typedef struct kmsg_reader kmsg_reader;

/* -ENOENT when there is no /dev/kmsg (callers go on without it). */
int kmsg_reader_open(const char *sysroot, kmsg_reader **ret, iommu_error *err);
kmsg_reader *kmsg_reader_free(kmsg_reader *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(kmsg_reader *, kmsg_reader_free);

typedef void (*kmsg_fault_fn)(void *userdata, json_object *entry);

/* Read every record available now; hand each DMAR fault to on_fault as a
 * fault-log entry (borrowed).  realtime_usec/monotonic_usec: the clocks now,
 * to date the kernel's timestamps.  Returns how many faults, or -errno. */
int kmsg_reader_poll(kmsg_reader *k, iommu_system *s, uint64_t realtime_usec, uint64_t monotonic_usec,
                     kmsg_fault_fn on_fault, void *userdata);
