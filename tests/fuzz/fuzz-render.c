/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iommuctl's renderers on any JSON: each text renderer (info, devices,
 * domains, faults, fault events, DMAR, decode, the mappings text sink) and
 * the metrics, given whatever a daemon of another version, or a damaged
 * answer, could hold; and the stream splitter and re-indenter that read
 * large answers (json-stream.h), in pieces of every size.
 *
 * Input: JSON text.  The splitter must take json-c's own compact text of
 * whatever json-c parsed from it, and the re-indenter must lay that text
 * out exactly as json-c's pretty printer does.
 */
#include <stdio.h>
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"
#include "cli/json-stream.h"
#include "fuzz.h"
#include "model/metrics.h"

#define JSON_PLAIN (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define JSON_PRETTY (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

/* --- the splitter -------------------------------------------------------- */

typedef struct split_state {
        json_tokener *tok;
} split_state;

static split_action on_begin(void *userdata, unsigned depth, const char *key, char first) {
        /* enter the first two levels, take deeper values whole, and forward
         * every third one (what iommuctl does with each part of an answer) */
        if (depth < 2)
                return SPLIT_ENTER;
        return depth % 3 == 0 ? SPLIT_FORWARD : SPLIT_CAPTURE;
}

static int on_value(void *userdata, unsigned depth, const char *key, const char *text, size_t len) {
        split_state *s = userdata;
        json_object *o = NULL;

        fuzz_check(text[len] == '\0', "a captured value is not terminated");
        if (json_piece_parse(s->tok, text, len, &o) == 0)
                json_object_put(o);
        return 0;
}

static int on_forward(void *userdata, const char *data, size_t size) {
        return 0;
}

static int on_end(void *userdata, unsigned depth) {
        return 0;
}

static const split_ops ops = {
        .begin = on_begin,
        .value = on_value,
        .forward = on_forward,
        .end = on_end,
};

/* Feed text in pieces of 1 + (step % 97) bytes. */
static int split_text(const char *text, size_t len, unsigned step, split_state *st, bool *ret_complete) {
        json_split s;
        size_t pos = 0;
        int r = 0;

        json_split_init(&s, &ops, st, 1u << 20);
        while (pos < len && r == 0) {
                size_t n = 1 + (step++ * 7919u) % 97u, used = 0;
                if (n > len - pos)
                        n = len - pos;
                r = json_split_feed(&s, text + pos, n, &used);
                fuzz_check(used <= n, "the splitter took %zu of %zu bytes", used, n);
                pos += used;
                if (r == 0 && used < n)
                        break; /* the value ended */
        }
        *ret_complete = r == 0 && json_split_complete(&s);
        json_split_done(&s);
        return r;
}

/* A member name's length as json-c writes it between its quotes: the
 * splitter bounds names as written, escapes and all (json-stream.h). */
static size_t written_length(const char *name) {
        json_object *s = json_object_new_string(name);
        size_t n;

        fuzz_check(s, "out of memory");
        n = strlen(json_object_to_json_string_ext(s, JSON_PLAIN)) - 2;
        json_object_put(s);
        return n;
}

/* Whether json-c's text of o may rightly be refused: a member name whose
 * text is over SPLIT_MAX_KEY (E2BIG), or a double, which json-c prints as
 * it was written, and its parser takes "1.", "NaN" and more (EBADMSG). */
static bool splitter_may_refuse(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_double:
                return true;
        case json_type_object: {
                json_object_object_foreach(o, k, v) {
                        if (written_length(k) > SPLIT_MAX_KEY || splitter_may_refuse(v))
                                return true;
                }
                return false;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (splitter_may_refuse(json_object_array_get_idx(o, i)))
                                return true;
                return false;
        default:
                return false;
        }
}

/* --- the re-indenter ------------------------------------------------------ */

static char *pretty_out;
static size_t pretty_len, pretty_alloc;

static int pretty_write(const void *data, size_t size) {
        if (pretty_len + size + 1 > pretty_alloc) {
                size_t alloc = (pretty_len + size + 1) * 2;
                char *p = realloc(pretty_out, alloc);
                if (!p)
                        return -ENOMEM;
                pretty_out = p;
                pretty_alloc = alloc;
        }
        memcpy(pretty_out + pretty_len, data, size);
        pretty_len += size;
        pretty_out[pretty_len] = '\0';
        return 0;
}

static void check_pretty(json_object *o, const char *compact) {
        json_pretty *p = malloc(sizeof *p);
        int r;

        fuzz_check(p, "out of memory");
        pretty_len = 0;
        json_pretty_init(p, pretty_write);
        r = json_pretty_feed(p, compact, strlen(compact));
        if (r >= 0)
                r = json_pretty_flush(p);
        free(p);
        fuzz_check(r == 0, "the re-indenter refused json-c's text: %d", r);
        fuzz_check(pretty_len > 0 && strcmp(pretty_out, json_object_to_json_string_ext(o, JSON_PRETTY)) == 0,
                   "the re-indenter's text differs from json-c's pretty text: %.300s", pretty_out);
}

/* --- the renderers -------------------------------------------------------- */

static void render_mappings(json_object *o) {
        mappings_text t;

        mappings_text_init(&t);
        for (size_t i = 0; i < json_array_length(o); i++) {
                json_object *e = json_array_get(o, i), *ranges = json_get_array(e, "ranges"),
                            *anomalies = json_get_array(e, "anomalies");

                if (mappings_text_sink.target(&t, e) < 0)
                        break;
                for (size_t k = 0; k < json_array_length(ranges); k++) {
                        walk_range r;
                        if (range_from_json(json_object_array_get_idx(ranges, k), &r))
                                (void) mappings_text_sink.ranges(&t, &r, 1);
                }
                for (size_t k = 0; k < json_array_length(anomalies); k++)
                        (void) mappings_text_sink.anomaly(&t, json_object_array_get_idx(anomalies, k));
                (void) mappings_text_sink.target_done(&t);
        }
        (void) mappings_text_finish(&t, true);
        mappings_text_done(&t);
}

static void render_metrics(json_object *o) {
        json_object *slots[5] = {};

        for (unsigned k = 0; k <= 5; k++) {
                _cleanup_free_ char *text = NULL;
                iommu_error err = {};
                size_t size;

                /* o in every place at once, then in each alone */
                for (unsigned j = 0; j < 5; j++)
                        slots[j] = k == 5 || j == k ? o : NULL;
                fuzz_check(metrics_render(slots[0], slots[1], slots[2], slots[3], slots[4], &text, &size,
                                          &err) == 0,
                           "metrics_render failed: %s", err.message);
                fuzz_check(strlen(text) == size, "metrics text of the wrong size");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_json_ json_object *o = NULL;
        split_state st = {};
        json_tokener *tok;
        bool complete;

        fuzz_quiet_stdout();
        tok = json_tokener_new();
        st.tok = json_tokener_new();
        fuzz_check(tok && st.tok, "out of memory");

        /* the splitter on the bytes as they came: no verdict, no crash */
        (void) split_text((const char *) data, size, size, &st, &complete);

        if (size <= INT32_MAX)
                o = json_tokener_parse_ex(tok, (const char *) data, (int) size);
        if (o && json_tokener_get_error(tok) == json_tokener_success) {
                const char *compact = json_object_to_json_string_ext(o, JSON_PLAIN);
                int r;

                render_info(o);
                render_devices(o);
                render_domains(o);
                render_faults(o);
                render_fault_event(o);
                render_dmar(o);
                render_layout(o);
                render_mappings(o);
                render_metrics(o);

                _cleanup_free_ char *line = NULL;

                /* as a line: a number at the end of the text ends at the newline */
                fuzz_check(asprintf(&line, "%s\n", compact) > 0, "out of memory");
                r = split_text(line, strlen(line), (unsigned) size, &st, &complete);
                fuzz_check((r == 0 && complete) || splitter_may_refuse(o),
                           "the splitter refused json-c's text (%d): %.300s", r, compact);
                check_pretty(o, compact);
        }
        json_tokener_free(tok);
        json_tokener_free(st.tok);
        return 0;
}
