/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Layer 6, control: the state file of the units iommud owns, written after
 * every change and read back at start (iommud(8), CONTROL STATE).
 *
 * The file is a header line, then a body:
 *
 *   iommud-control-state VERSION LENGTH CRC32\n
 *   BODY
 *
 * VERSION is CONTROL_STATE_VERSION in decimal, LENGTH the body's size in
 * bytes in decimal, CRC32 the body's CRC-32 (IEEE, as zlib's crc32()) in
 * eight lower-case hex digits; BODY is one JSON object and a newline:
 *
 *   {"serial", "units": [{"name", "address", "segment", "mode", "default_policy",
 *     "invalidation", "table_memory": {"kind", "path"}, "root_table",
 *     "domains": [{"domain", "type", "address_width", "default",
 *                  "mappings": [{"iova", "phys", "length", "read", "write"}],
 *                  "page_table"}],
 *     "devices": [{"bdf", "domain"}],
 *     "buffers": [{"path", "domain", "iova", "length", "phys"}]}]}
 *
 * "serial" counts the states saved, one up with each (a file of an iommud
 * before it may leave it out: 0): the record of the change in flight
 * (control/undo.h) names the serial the change started from, so that the
 * next iommud knows whether the state it finds has that change.
 *
 * "page_table" is the physical address of the domain's top table (null for
 * a domain without tables), what owned_unit_adopt() takes the tables back
 * from; a file of an iommud before it may leave it out (every other member
 * is required), and its units are then not taken back.
 *
 * A file cut anywhere, with a byte changed, of another version or whose
 * body breaks these rules is refused whole, with one line saying why:
 * there is no partial state.  Saving writes a temporary file beside the
 * state, fsyncs it, renames it over the state and fsyncs the directory,
 * so the file is always the old state or the new one, whatever stops the
 * process or the machine.
 */

#include <json-c/json.h>
#include <stddef.h>

#include "basic/error.h"

#define CONTROL_STATE_VERSION 1
#define CONTROL_STATE_MAGIC "iommud-control-state"
/* far above what 65,536 domains of mappings make: a bound for reading */
#define CONTROL_STATE_MAX (UINT64_C(256) << 20)

/* The file's bytes for a body object (checked as control_state_parse
 * would: a state that could not be read back is not written). */
int control_state_format(json_object *state, char **ret, size_t *ret_size, iommu_error *err);

/* The body of a state file's bytes, checked whole. */
int control_state_parse(const void *data, size_t size, json_object **ret, iommu_error *err);

/* Read the state file at path: -ENOENT (err set) when there is none. */
int control_state_load(const char *path, json_object **ret, iommu_error *err);

/* Replace the state file at path with state, durably (see above). */
int control_state_save(const char *path, json_object *state, iommu_error *err);
