/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mappings document as JSON text, written from the stream of events
 * (mappings.h) without a json-c object per range.
 *
 * Everything but the ranges is still serialized by json-c: a target's
 * header, with its lists replaced by markers, is serialized as the one
 * element of an array, so json-c lays it out at the depth it has in the
 * document; the text before the "ranges" marker goes out when the target
 * starts, the text after it (the anomalies, now filled in) when it is
 * done.  Only the glue of the two lists json-c does not see, the top array
 * and each "ranges" array, and the range objects are written here, the
 * way json-c lays out arrays and objects (json_object.c,
 * json_object_array_to_json_string and json_object_object_to_json_string):
 * tests/test-mappings-stream compares the two byte for byte.
 */
#include <inttypes.h>
#include <string.h>

#include "basic/json-util.h"
#include "model/mappings.h"

#define WRITER_BUFFER (64u << 10)
#define RANGES_MARKER "\x01ranges"
#define MARKER_TEXT "\"\\u0001ranges\"" /* how json-c writes RANGES_MARKER */

typedef struct writer {
        int flags;
        mappings_write_fn write;
        void *userdata;
        char buf[WRITER_BUFFER];
        size_t len;
        bool opened; /* the top array: opened at the first event, which comes after every error of the answer
                      */
        size_t n_targets;
        size_t n_ranges; /* of the current target */
        json_object *header;
        json_object *anomalies;
} writer;

static int flush(writer *w) {
        int r;

        if (w->len == 0)
                return 0;
        r = w->write(w->userdata, w->buf, w->len);
        w->len = 0;
        return r < 0 ? r : 0;
}

static int put(writer *w, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                size_t n = sizeof w->buf - w->len;
                int r;

                if (n == 0) {
                        r = flush(w);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n > size)
                        n = size;
                memcpy(w->buf + w->len, p, n);
                w->len += n;
                p += n;
                size -= n;
        }
        return 0;
}

static inline bool pretty(const writer *w) {
        return w->flags & JSON_C_TO_STRING_PRETTY;
}

static inline bool spaced(const writer *w) {
        return (w->flags & JSON_C_TO_STRING_SPACED) && !pretty(w);
}

/* Room for the longest range object at the deepest level, with its indent. */
#define RANGE_TEXT_MAX 512

static char *indent(const writer *w, char *p, unsigned level) {
        if (!pretty(w))
                return p;
        if (w->flags & JSON_C_TO_STRING_PRETTY_TAB) {
                memset(p, '\t', level);
                return p + level;
        }
        memset(p, ' ', 2 * level);
        return p + 2 * level;
}

static char *append(char *p, const char *s) {
        size_t n = strlen(s);
        memcpy(p, s, n);
        return p + n;
}

static char *append_u64(char *p, uint64_t v) {
        char tmp[20];
        size_t n = 0;

        do {
                tmp[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v);
        while (n)
                *p++ = tmp[--n];
        return p;
}

/* An array element's lead-in, as json-c writes it: the separator, then the
 * indent at the array's level + 1. */
static char *element_start(const writer *w, char *p, size_t index, unsigned level) {
        if (index > 0) {
                *p++ = ',';
                if (pretty(w))
                        *p++ = '\n';
        }
        if (spaced(w))
                *p++ = ' ';
        return indent(w, p, level + 1);
}

static int array_open(writer *w) {
        return put(w, pretty(w) ? "[\n" : "[", pretty(w) ? 2 : 1);
}

static int array_close(writer *w, size_t n, unsigned level) {
        char tmp[64], *p = tmp;

        if (pretty(w)) {
                if (n > 0)
                        *p++ = '\n';
                p = indent(w, p, level);
        }
        p = append(p, spaced(w) ? " ]" : "]");
        return put(w, tmp, (size_t) (p - tmp));
}

/* One range at its place in "ranges" (level 2 in the document: the top
 * array is 0, a target 1), as json-c writes an object of these members. */
static int put_range(writer *w, const walk_range *r, size_t index) {
        char tmp[RANGE_TEXT_MAX], *p = tmp;
        const unsigned level = 3;

        p = element_start(w, p, index, 2);
        *p++ = '{';
        if (pretty(w))
                *p++ = '\n';
        for (size_t i = 0; i < n_range_fields; i++) {
                const range_field *f = &range_fields[i];

                if (i > 0) {
                        *p++ = ',';
                        if (pretty(w))
                                *p++ = '\n';
                }
                if (spaced(w))
                        *p++ = ' ';
                p = indent(w, p, level + 1);
                *p++ = '"';
                p = append(p, f->name);
                p = append(p, w->flags & JSON_C_TO_STRING_SPACED ? "\": " : "\":");
                if (f->type == RANGE_FIELD_U64)
                        p = append_u64(p, range_field_u64(f, r));
                else
                        p = append(p, range_field_bool(f, r) ? "true" : "false");
        }
        if (pretty(w)) {
                *p++ = '\n';
                p = indent(w, p, level);
        }
        p = append(p, spaced(w) ? " }" : "}");
        return put(w, tmp, (size_t) (p - tmp));
}

/* The header as json-c lays it out one level down, with "ranges" the
 * marker and "anomalies" the given list: the text before the marker
 * (before = true) or after it. */
static int put_header_part(writer *w, json_object *anomalies, bool before) {
        _cleanup_json_ json_object *copy = NULL, *wrap = NULL;
        const char *s, *start, *end, *marker;
        size_t len;

        if (json_object_deep_copy(w->header, &copy, NULL) < 0)
                return -ENOMEM;
        json_object_object_add(copy, "ranges", json_object_new_string(RANGES_MARKER));
        json_object_object_add(copy, "anomalies", json_object_get(anomalies));
        wrap = json_object_new_array();
        if (!wrap || json_object_array_add(wrap, json_object_get(copy)) < 0)
                return -ENOMEM;
        s = json_object_to_json_string_length(wrap, w->flags, &len);
        if (!s)
                return -ENOMEM;
        /* the element: from its '{' to its '}' */
        start = strchr(s, '{');
        end = strrchr(s, '}');
        marker = start ? strstr(start, MARKER_TEXT) : NULL;
        if (!start || !end || !marker || marker > end)
                return -EINVAL;
        if (before)
                return put(w, start, (size_t) (marker - start));
        marker += strlen(MARKER_TEXT);
        return put(w, marker, (size_t) (end + 1 - marker));
}

static int on_target(void *userdata, json_object *header) {
        writer *w = userdata;
        char tmp[64];
        int r;

        if (!w->opened) {
                w->opened = true;
                r = array_open(w);
                if (r < 0)
                        return r;
        }
        r = put(w, tmp, (size_t) (element_start(w, tmp, w->n_targets, 0) - tmp));
        if (r < 0)
                return r;
        w->n_targets++;
        w->header = json_object_get(header);
        w->anomalies = json_object_new_array();
        w->n_ranges = 0;
        if (!w->anomalies)
                return -ENOMEM;
        r = put_header_part(w, w->anomalies, true);
        if (r >= 0)
                r = array_open(w);
        return r;
}

static int on_ranges(void *userdata, const walk_range *r, size_t n) {
        writer *w = userdata;

        for (size_t i = 0; i < n; i++) {
                int e = put_range(w, &r[i], w->n_ranges++);
                if (e < 0)
                        return e;
        }
        return 0;
}

static int on_anomaly(void *userdata, json_object *anomaly) {
        writer *w = userdata;

        return json_object_array_add(w->anomalies, json_object_get(anomaly)) < 0 ? -ENOMEM : 0;
}

static int on_target_done(void *userdata) {
        writer *w = userdata;
        int r;

        r = array_close(w, w->n_ranges, 2);
        if (r >= 0)
                r = put_header_part(w, w->anomalies, false);
        json_object_put(w->header);
        json_object_put(w->anomalies);
        w->header = w->anomalies = NULL;
        return r;
}

int model_mappings_write_json(iommu_system *s, const mappings_filter *f, int json_flags,
                              mappings_write_fn write, void *userdata, iommu_error *err) {
        static const mappings_sink sink = {
                .target = on_target,
                .ranges = on_ranges,
                .anomaly = on_anomaly,
                .target_done = on_target_done,
        };
        _cleanup_free_ writer *w = calloc(1, sizeof *w);
        int r;

        if (!w)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        w->flags = json_flags;
        w->write = write;
        w->userdata = userdata;

        r = model_mappings_stream(s, f, &sink, w, err);
        if (r >= 0 && !w->opened)
                r = array_open(w);
        if (r >= 0)
                r = array_close(w, w->n_targets, 0);
        if (r >= 0)
                r = flush(w);
        else if (w->opened)
                (void) flush(w); /* what went out so far: the caller reports the rest missing */
        if (r < 0 && err && !err->message[0])
                iommu_error_set(err, -r, "Failed to write the mappings: %s", strerror(-r));
        json_object_put(w->header);
        json_object_put(w->anomalies);
        return r;
}
