/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What each device (and PASID) can reach, as a stream.
 *
 * A busy domain has hundreds of thousands to millions of IOVA ranges: as
 * json-c objects that is over a kilobyte each.  So the model of mappings is
 * produced as events, in the order of the document, and each rendering
 * (json-c objects for small answers and tests, the JSON text written
 * straight from the walker's batches, iommuctl's text) is a sink of those
 * events.  Everything of bounded size (a target's header, an anomaly) is a
 * json-c object as in the rest of the model; ranges are walk_range structs,
 * rendered through one description of their fields (range_fields).
 *
 * The document (iommuctl --json mappings, v1.mappings):
 *   [{"bdf", "pasid", "rid_pasid", "unit", "domain", "translation",
 *     "address_width", "levels", "fpd", "root", ["second_stage_root"],
 *     "entry_address", "entry", "ranges": [{"iova", "phys", "length",
 *     "read", "write", "execute", "page_size"}], "anomalies": [...],
 *     ["same_tables_as"]}, ...]
 * Anomalies above any device (the root table, context entries, PASID
 * directory and table pointers) come as one entry per unit with "bdf" and
 * "pasid" null, "unit", empty "ranges" and its "anomalies", placed where the
 * unit's first such anomaly was found.  A target whose page tables are an
 * earlier target's ("same_tables_as" its BDF) lists the same ranges again.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "basic/error.h"
#include "model/system.h"
#include "walk/walk.h"

typedef struct mappings_filter {
        bool have_device;
        uint16_t segment;
        uint8_t bus, devfn;
        int did;       /* -1: all */
        int64_t pasid; /* -1: all */
        /* Bound on table entries examined per unit (walk_filter.max_entries);
         * 0: the walker's. */
        uint64_t max_entries;
} mappings_filter;

#define MAPPINGS_FILTER_ALL ((mappings_filter){ .did = -1, .pasid = -1 })

/* The fields of a range, described once: the JSON writer, the json-c
 * objects and iommuctl's columns all take them from here. */
typedef enum range_field_type {
        RANGE_FIELD_U64,
        RANGE_FIELD_BOOL,
} range_field_type;

typedef struct range_field {
        const char *name; /* the JSON member */
        range_field_type type;
        size_t offset; /* in walk_range */
} range_field;

extern const range_field range_fields[];
extern const size_t n_range_fields;

static inline uint64_t range_field_u64(const range_field *f, const walk_range *r) {
        return *(const uint64_t *) ((const char *) r + f->offset);
}
static inline bool range_field_bool(const range_field *f, const walk_range *r) {
        return *(const bool *) ((const char *) r + f->offset);
}

/* A range from its JSON object (as a daemon sent it): false unless every
 * field is there with its type. */
bool range_from_json(json_object *o, walk_range *ret);
json_object *range_to_json(const walk_range *r);

/*
 * The events, in document order: for each entry target, then its ranges
 * (in batches), then its anomalies, then target_done.  header is the entry
 * without its lists: every member in document order, with "ranges" and
 * "anomalies" present as null where the lists go.  Borrowed: valid during
 * the call.  A negative return stops the stream with it.
 */
typedef struct mappings_sink {
        int (*target)(void *userdata, json_object *header);
        int (*ranges)(void *userdata, const walk_range *r, size_t n);
        int (*anomaly)(void *userdata, json_object *anomaly);
        int (*target_done)(void *userdata);
} mappings_sink;

/* The errors that make the whole answer an error (tables or registers
 * that cannot be read), found without walking: what model_mappings_stream()
 * checks before its first event.  A caller that hands the stream to
 * another process answers these itself. */
int model_mappings_check(iommu_system *s, const mappings_filter *f, iommu_error *err);

/* Stream the mappings of the units f selects.  Errors that make the whole
 * answer an error (tables or registers that cannot be read) come before
 * the first event; after it, only running out of memory, a failed
 * temporary file or a sink's own error stop the stream. */
int model_mappings_stream(iommu_system *s, const mappings_filter *f, const mappings_sink *sink,
                          void *userdata, iommu_error *err);

/* The same document as json-c objects (for small answers and tests). */
int model_mappings(iommu_system *s, const mappings_filter *f, json_object **ret, iommu_error *err);

/*
 * The document as JSON text, written as it is produced: byte for byte what
 * json_object_to_json_string_ext() gives for model_mappings()'s result with
 * the same flags (JSON_C_TO_STRING_PLAIN or _PRETTY, with or without
 * _SPACED and _NOSLASHESCAPE), in memory that does not grow with the
 * number of ranges.  write() gets the text in pieces (up to 64 KiB); its
 * negative return stops the stream.
 */
typedef int (*mappings_write_fn)(void *userdata, const void *data, size_t size);
int model_mappings_write_json(iommu_system *s, const mappings_filter *f, int json_flags,
                              mappings_write_fn write, void *userdata, iommu_error *err);
