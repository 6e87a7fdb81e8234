/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The fault log: what the units' fault recording registers held over time.
 * Each poll hands in model_faults(); a record is new when the last poll had
 * no record at that unit and index, or a different one (a record seen again
 * unchanged is the same fault still pending).  New records enter a ring of
 * FaultLogSize entries, oldest first:
 *   {"time": "2024-05-01T12:00:00.123456Z", "time_usec", "unit",
 *    "source": "registers", "index", "bdf", "reason", "reason_text",
 *    "address", "write", "pasid", "record"}
 * i.e. model_faults' record plus time and unit.  Polling only reads: the
 * F bits stay as they are (the kernel clears them on units it owns).
 */

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "basic/macro.h"

typedef struct fault_log fault_log;

int fault_log_new(size_t size, fault_log **ret);
fault_log *fault_log_free(fault_log *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(fault_log *, fault_log_free);

/* Keeps the newest entries that fit. */
int fault_log_resize(fault_log *l, size_t size);

typedef void (*fault_log_new_fn)(void *userdata, json_object *entry);

/* Compare faults (a model_faults() object) with the last poll; log and
 * hand each new record to on_new (entry borrowed).  Returns how many were
 * new, or -ENOMEM. */
int fault_log_poll(fault_log *l, json_object *faults, uint64_t realtime_usec, fault_log_new_fn on_new,
                   void *userdata);

/* Log an entry found elsewhere (the kernel log: kmsg-faults.c); takes its
 * own reference. */
void fault_log_add(fault_log *l, json_object *entry);

/* The unit's records were cleared (iommud owns it): what the last poll
 * saw there is gone, and the next fault in the same record, even one
 * that reads the same, is new. */
void fault_log_forget(fault_log *l, const char *unit);

/* The logged entries, oldest first (a new array). */
json_object *fault_log_to_json(const fault_log *l);
size_t fault_log_clear(fault_log *l);

/* "2024-05-01T12:00:00.123456Z" */
char *format_iso8601(char buf[static 32], uint64_t realtime_usec);
