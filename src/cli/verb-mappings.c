/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iommuctl mappings: a million ranges and more, in memory that does not
 * grow with them.
 *
 * Read here (--snapshot, --direct, --sysroot), the model's stream goes to
 * the library's JSON writer (--json, --pretty) or to the text sink
 * (render-mappings.c).  From iommud, whose answer is one line of the same
 * JSON, the answer is split as it arrives (json-stream.h): under --json
 * its result is copied out (re-indented under --pretty); in text, each
 * target's members, each range and each anomaly is parsed by itself and
 * fed to the same text sink.
 *
 * A target's heading names the target whose tables it shares, and that
 * member comes after its ranges.  So a target's ranges are held until it
 * is complete, up to HOLD_RANGES of them in memory.  Beyond that: a target
 * whose unit and root no earlier target had cannot share tables (the
 * walker shares a tree only with an earlier target of the unit, which is
 * in the answer before it), so its heading and ranges go out as they
 * come; a target that may share has the rest of its ranges held in a
 * temporary file.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/hashmap.h"
#include "basic/json-util.h"
#include "cli/cli.h"
#include "cli/json-stream.h"
#include "model/devices.h"
#include "model/system.h"

#define HOLD_RANGES 4096

static mappings_filter filter_from_args(void) {
        return (mappings_filter){
                .have_device = arg.have_device,
                .segment = arg.segment,
                .bus = arg.bus,
                .devfn = arg.devfn,
                .did = arg.domain,
                .pasid = arg.pasid,
        };
}

/* The end of the output: under JSON its newline, as puts() ends the other
 * answers; then any write error, else the answer's own. */
static int finish(int r, const char *message) {
        int w = cli_write(NULL, 0);

        if (w >= 0 && r >= 0 && arg.json)
                w = cli_write("\n", 1);
        if (w >= 0)
                w = cli_write_flush();
        if (w < 0)
                return cli_write_failed(w);
        if (r < 0)
                return cli_fail(EXIT_FAILED, r, "%s", message);
        return EXIT_OK;
}

/* ---- read here ---- */

static int write_stdout(void *userdata, const void *data, size_t size) {
        return cli_write(data, size);
}

static int mappings_here(void) {
        _cleanup_(iommu_ctx_freep) iommu_ctx *ctx = NULL;
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        mappings_filter f = filter_from_args();
        iommu_error err = {};
        int r;

        r = cli_open_system(&ctx, &s);
        if (r != EXIT_OK)
                return r;
        if (arg.json)
                r = model_mappings_write_json(s, &f, cli_json_flags(), write_stdout, NULL, &err);
        else {
                mappings_text t;

                mappings_text_init(&t);
                r = model_mappings_stream(s, &f, &mappings_text_sink, &t, &err);
                (void) mappings_text_finish(&t, r >= 0);
                mappings_text_done(&t);
        }
        /* free the system before its context */
        s = iommu_system_free(s);
        return finish(r, err.message);
}

/* ---- iommud's answer under --json: its bytes ---- */

typedef struct answer_json {
        json_pretty *pretty; /* under --pretty */
} answer_json;

static split_action json_begin(void *userdata, unsigned depth, const char *key, char first) {
        return SPLIT_FORWARD;
}

static int json_forward(void *userdata, const char *data, size_t size) {
        answer_json *a = userdata;
        int r = a->pretty ? json_pretty_feed(a->pretty, data, size) : cli_write(data, size);

        if (r < 0)
                (void) cli_write_failed(r);
        return r;
}

static int json_end(void *userdata, unsigned depth) {
        answer_json *a = userdata;
        int r = a->pretty ? json_pretty_flush(a->pretty) : 0;

        if (r < 0)
                (void) cli_write_failed(r);
        return r;
}

static const split_ops answer_json_ops = {
        .begin = json_begin,
        .forward = json_forward,
        .end = json_end,
};

/* ---- iommud's answer in text: piece by piece to the text sink ---- */

typedef enum answer_list {
        LIST_NONE,
        LIST_RANGES,
        LIST_ANOMALIES,
} answer_list;

typedef struct answer_text {
        mappings_text text;
        json_tokener *tok;

        /* the target being read */
        json_object *header;    /* its members but its lists */
        json_object *anomalies; /* what its "anomalies" held */
        answer_list list;       /* whose elements come now */
        bool may_share;         /* an earlier target had its unit and root */
        bool streaming;         /* its heading and its ranges so far are out */
        walk_range held[HOLD_RANGES];
        size_t n_held;
        FILE *spill; /* ranges before the held ones */
        bool spilled;
        walk_range replay[HOLD_RANGES];

        hashmap trees; /* the unit and root of every target so far, hashed */
} answer_text;

static int out_of_memory(void) {
        (void) cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
        return -ENOMEM;
}

static int not_json(void) {
        (void) cli_fail(EXIT_FAILED, EBADMSG, "iommud sent a piece of its answer that json-c does not take");
        return -EBADMSG;
}

static int sink_failed(int r) {
        /* the text sink's only error */
        (void) cli_write_failed(r);
        return r;
}

/* Where a target's tables are, as far as its members before "ranges"
 * say.  Equal trees give equal keys; a collision only holds ranges that
 * could have gone out at once. */
static uint64_t tree_key(json_object *header) {
        const char *unit = json_get_string(header, "unit");
        uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */

        for (const char *p = unit; *p; p++)
                h = (h ^ (unsigned char) *p) * UINT64_C(0x100000001b3);
        return h ^ json_get_u64(header, "root");
}

static int hold_range(answer_text *a, const walk_range *r) {
        int e;

        if (a->n_held == HOLD_RANGES && (a->streaming || !a->may_share)) {
                if (!a->streaming) {
                        a->streaming = true;
                        e = mappings_text_sink.target(&a->text, a->header);
                        if (e < 0)
                                return sink_failed(e);
                }
                e = mappings_text_sink.ranges(&a->text, a->held, a->n_held);
                if (e < 0)
                        return sink_failed(e);
                a->n_held = 0;
        }
        if (a->n_held == HOLD_RANGES) {
                if (!a->spill && !(a->spill = tmpfile())) {
                        (void) cli_fail(EXIT_FAILED, errno, "Failed to create a temporary file: %s",
                                        strerror(errno));
                        return -EIO;
                }
                if (fwrite(a->held, sizeof a->held[0], a->n_held, a->spill) != a->n_held) {
                        (void) cli_fail(EXIT_FAILED, errno, "Failed to write a temporary file: %s",
                                        strerror(errno));
                        return -EIO;
                }
                a->spilled = true;
                a->n_held = 0;
        }
        a->held[a->n_held++] = *r;
        return 0;
}

static int replay_spilled(answer_text *a) {
        size_t k;
        int r = 0;

        if (!a->spilled)
                return 0;
        a->spilled = false;
        if (fflush(a->spill) != 0 || fseek(a->spill, 0, SEEK_SET) != 0) {
                cli_fail(EXIT_FAILED, errno, "Failed to read back a temporary file: %s", strerror(errno));
                return -EIO;
        }
        while (r >= 0 && (k = fread(a->replay, sizeof a->replay[0], HOLD_RANGES, a->spill)) > 0)
                r = mappings_text_sink.ranges(&a->text, a->replay, k);
        if (r < 0)
                return sink_failed(r);
        if (ferror(a->spill) || fseek(a->spill, 0, SEEK_SET) != 0 || ftruncate(fileno(a->spill), 0) < 0) {
                cli_fail(EXIT_FAILED, errno, "Failed to read back a temporary file: %s", strerror(errno));
                return -EIO;
        }
        return 0;
}

/* The target is complete: to the sink in the model's order. */
static int target_complete(answer_text *a, json_object *header) {
        int r = 0;

        if (a->streaming && json_get(header, "same_tables_as")) {
                (void) cli_fail(
                        EXIT_FAILED, EBADMSG,
                        "iommud's answer says %s shares the tables of %s, which no target before it had",
                        json_get_string(header, "bdf"), json_get_string(header, "same_tables_as"));
                return -EBADMSG;
        }
        if (!a->streaming)
                r = mappings_text_sink.target(&a->text, header);
        if (r < 0)
                return sink_failed(r);
        r = replay_spilled(a);
        if (r < 0)
                return r;
        r = mappings_text_sink.ranges(&a->text, a->held, a->n_held);
        for (size_t i = 0; r >= 0 && i < json_array_length(a->anomalies); i++)
                r = mappings_text_sink.anomaly(&a->text, json_array_get(a->anomalies, i));
        if (r >= 0)
                r = mappings_text_sink.target_done(&a->text);
        a->n_held = 0;
        return r < 0 ? sink_failed(r) : 0;
}

static void target_reset(answer_text *a) {
        json_object_put(a->header);
        json_object_put(a->anomalies);
        a->header = a->anomalies = NULL;
        a->list = LIST_NONE;
        a->may_share = a->streaming = false;
        a->n_held = 0;
}

static split_action text_begin(void *userdata, unsigned depth, const char *key, char first) {
        answer_text *a = userdata;

        switch (depth) {
        case 0: /* the list of targets */
                return SPLIT_ENTER;
        case 1: /* a target */
                target_reset(a);
                if (first != '{')
                        return SPLIT_CAPTURE;
                a->header = json_object_new_object();
                a->anomalies = json_object_new_array();
                return SPLIT_ENTER;
        case 2: /* its members */
                a->list = first != '['              ? LIST_NONE
                          : streq(key, "ranges")    ? LIST_RANGES
                          : streq(key, "anomalies") ? LIST_ANOMALIES
                                                    : LIST_NONE;
                if (a->list == LIST_RANGES && a->header) {
                        uint64_t k = tree_key(a->header);

                        /* put first: a failure (out of memory) then holds ranges, never loses them */
                        a->may_share = hashmap_put(&a->trees, k, 0) <= 0 || !json_get(a->header, "unit") ||
                                       !json_object_object_get_ex(a->header, "root", NULL);
                }
                return a->list != LIST_NONE ? SPLIT_ENTER : SPLIT_CAPTURE;
        default: /* a range or an anomaly */
                return SPLIT_CAPTURE;
        }
}

/* A member name as written between its quotes, decoded. */
static int member_name(answer_text *a, const char *key, json_object **ret) {
        _cleanup_free_ char *quoted = NULL;

        if (asprintf(&quoted, "\"%s\"", key) < 0)
                return -ENOMEM;
        return json_piece_parse(a->tok, quoted, strlen(quoted), ret);
}

static int text_value(void *userdata, unsigned depth, const char *key, const char *text, size_t len) {
        answer_text *a = userdata;
        _cleanup_json_ json_object *o = NULL, *name = NULL;
        walk_range range;

        if (json_piece_parse(a->tok, text, len, &o) < 0)
                return not_json();
        switch (depth) {
        case 1: /* a target that is no object: as the renderers take any shape */
                return target_complete(a, o);
        case 2:
                if (!a->header)
                        return out_of_memory();
                if (!strchr(key, '\\'))
                        return json_object_object_add(a->header, key, TAKE_PTR(o)) < 0 ? out_of_memory() : 0;
                if (member_name(a, key, &name) < 0)
                        return not_json();
                return json_object_object_add(a->header, json_object_get_string(name), TAKE_PTR(o)) < 0
                               ? out_of_memory()
                               : 0;
        case 3:
                if (a->list == LIST_ANOMALIES)
                        return json_object_array_add(a->anomalies, TAKE_PTR(o)) < 0 ? out_of_memory() : 0;
                if (!range_from_json(o, &range)) {
                        cli_fail(EXIT_FAILED, EBADMSG,
                                 "iommud sent a range without every field a range has, or one of another "
                                 "type");
                        return -EBADMSG;
                }
                return hold_range(a, &range);
        default:
                return 0;
        }
}

static int text_end(void *userdata, unsigned depth) {
        answer_text *a = userdata;
        int r = 0;

        if (depth == 2)
                a->list = LIST_NONE;
        else if (depth == 1) {
                if (!a->header || !a->anomalies)
                        return out_of_memory();
                r = target_complete(a, a->header);
                target_reset(a);
        }
        return r;
}

static const split_ops answer_text_ops = {
        .begin = text_begin,
        .value = text_value,
        .end = text_end,
};

static int mappings_from_daemon(json_object *params) {
        int r;

        if (arg.json) {
                _cleanup_free_ json_pretty *pretty = arg.pretty ? malloc(sizeof *pretty) : NULL;
                answer_json a = { .pretty = pretty };

                if (arg.pretty && !pretty)
                        return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
                if (pretty)
                        json_pretty_init(pretty, cli_write);
                r = client_call_split("v1.mappings", params, json_type_array, &answer_json_ops, &a);
                return r != EXIT_OK ? r : finish(0, NULL);
        } else {
                _cleanup_free_ answer_text *a = calloc(1, sizeof *a);

                if (!a || !(a->tok = json_tokener_new()))
                        return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
                a->trees = HASHMAP_INIT;
                mappings_text_init(&a->text);
                r = client_call_split("v1.mappings", params, json_type_array, &answer_text_ops, a);
                (void) mappings_text_finish(&a->text, r == EXIT_OK);
                mappings_text_done(&a->text);
                target_reset(a);
                hashmap_done(&a->trees);
                json_tokener_free(a->tok);
                if (a->spill)
                        (void) fclose(a->spill);
                return r != EXIT_OK ? r : finish(0, NULL);
        }
}

int verb_mappings(int argc, char **argv) {
        _cleanup_json_ json_object *params = NULL;
        char bdf[BDF_STRING_MAX];

        if (!cli_use_daemon())
                return mappings_here();

        params = json_object_new_object();
        if (!params)
                return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
        if (arg.have_device)
                json_object_object_add(
                        params, "device",
                        json_object_new_string(bdf_format(bdf, arg.segment, arg.bus, arg.devfn)));
        if (arg.domain >= 0)
                json_object_object_add(params, "domain", json_object_new_int(arg.domain));
        if (arg.pasid >= 0)
                json_object_object_add(params, "pasid", json_object_new_int64(arg.pasid));
        return mappings_from_daemon(params);
}
