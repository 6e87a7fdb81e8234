/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "basic/macro.h"
#include "cli/table.h"
#include "model/mappings.h"

/* Exit statuses, as iommuctl(8) documents them. */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
};

typedef struct cli_options {
        bool json;
        bool pretty;
        const char *sysroot;  /* "" when none */
        const char *file;     /* dmar --file */
        const char *snapshot; /* --snapshot FILE: read state from it */
        bool direct;          /* --direct: read the hardware */
        const char *socket;   /* --socket PATH: the daemon's */
        bool follow;          /* faults --follow */
        bool clear;           /* faults --clear */
        bool have_device;     /* mappings --device */
        uint16_t segment;
        uint8_t bus, devfn;
        int domain;         /* mappings --domain, -1 none */
        int64_t pasid;      /* mappings --pasid, -1 none */
        const char *output; /* --output COL,...: the listing's columns */
        const char *unit;   /* --unit NAME of the changing commands, NULL none */
        int type;           /* domain create --type, a domain_type, -1 none */
        int id;             /* domain create --id, -1 none */
        bool alloc;         /* map --alloc */
        bool read, write;   /* map --read, --write */
        int order;          /* invalidate page --order, -1 none */
} cli_options;

extern cli_options arg;

struct column_table;

enum {
        /* It changes state, which only iommud may: --direct, --snapshot
         * and --sysroot do not apply. */
        VERB_CHANGES = 1 << 0,
};

/* A command, or an object whose sub-verbs are the commands (bpftool's
 * objects): "snapshot save".  Tables end with an empty row. */
typedef struct verb verb;
struct verb {
        const char *name;
        unsigned min_args, max_args; /* positional, after the verb's options */
        unsigned flags;              /* VERB_* */
        int (*handler)(int argc, char **argv);
        const verb *sub;                    /* sub-verbs, instead of a handler */
        const struct column_table *columns; /* what --output selects from */
        const char *usage;                  /* "REGISTER VALUE" */
        const char *help;                   /* one line */
};

/* One line on stderr (and, under --json, a JSON error object on stdout);
 * returns status so handlers can "return cli_fail(...)". */
int cli_fail(int status, int error, const char *fmt, ...) _printf_(3, 4);
int cli_usage(const char *fmt, ...) _printf_(1, 2);

/* Print a result: JSON as is under --json, else through the text renderer. */
int cli_output(json_object *result, void (*render)(json_object *result));
/* The JSON text of o on one line, indented under --pretty. */
void cli_print_json(json_object *o);
/* The json-c flags of what iommuctl prints: --json or --pretty. */
int cli_json_flags(void);

/* Output too large to hold, written to stdout in pieces: 0, or the first
 * write error (a negative errno) again and again once one failed.
 * cli_write_flush() writes out what stdio still holds;
 * cli_write_failed() says a write failed, one line, and returns its exit
 * status. */
int cli_write(const void *data, size_t size);
int cli_write_flush(void);
int cli_write_failed(int error);

/* A number, decimal or 0x hex, at most max: 0, -EINVAL (not a number),
 * -ERANGE (above max). */
int cli_parse_number(const char *s, uint64_t max, uint64_t *ret);

/* A path under --sysroot. */
char *cli_path(const char *path);

int verb_decode(int argc, char **argv);
int verb_dmar(int argc, char **argv);
int verb_info(int argc, char **argv);
int verb_devices(int argc, char **argv);
int verb_domains(int argc, char **argv);
int verb_mappings(int argc, char **argv);
int verb_snapshot_save(int argc, char **argv);
int verb_faults(int argc, char **argv);
/* The changing commands, through iommud (verb-control.c). */
int verb_power_on(int argc, char **argv);
int verb_power_off(int argc, char **argv);
int verb_domain_create(int argc, char **argv);
int verb_domain_destroy(int argc, char **argv);
int verb_attach(int argc, char **argv);
int verb_detach(int argc, char **argv);
int verb_map(int argc, char **argv);
int verb_unmap(int argc, char **argv);
int verb_invalidate_global(int argc, char **argv);
int verb_invalidate_domain(int argc, char **argv);
int verb_invalidate_page(int argc, char **argv);

/* Ask iommud (client.c): the answer's result, of the JSON type the method
 * answers with, as a new reference; or the error printed as one line and
 * its exit status returned. */
int client_call(const char *method, json_object *params, json_type type, json_object **ret);
/* Ask iommud for an answer too large to hold: its result, a JSON of type
 * type, handed to ops as it arrives, as the value at depth 0
 * (json-stream.h); an error answer, or an answer that is not complete, is
 * printed as one line and its exit status returned.  A callback that
 * returns a negative value stops it, having printed why. */
struct split_ops;
int client_call_split(const char *method, json_object *params, json_type type, const struct split_ops *ops,
                      void *userdata);
/* Subscribe and hand every event's data to on_event until interrupted. */
int client_follow(const char *method, void (*on_event)(json_object *data));

/* Whether this run asks the daemon: not --direct, --snapshot or --sysroot
 * (a fixture tree is read directly). */
static inline bool cli_use_daemon(void) {
        return !arg.direct && !arg.snapshot && !arg.sysroot[0];
}

struct iommu_system;
struct iommu_ctx;
/* The state to answer from: --snapshot FILE, else the hardware (--direct). */
int cli_open_system(struct iommu_ctx **ret_ctx, struct iommu_system **ret);

/* Text renderers, from the JSON model only. */
void render_layout(json_object *o);
void render_dmar(json_object *o);
void render_info(json_object *o);
void render_devices(json_object *o);
void render_domains(json_object *o);

/* Mappings in text, as a sink of the model's stream (render-mappings.c):
 * mappings_text_finish() after the last event (complete) says when there
 * were none, and writes out the rest; after a failure only the rest.  A
 * sink's error is a write error. */
typedef struct mappings_text {
        column_set columns;
        text_buf out; /* lines not yet written */
        size_t n_targets;
        bool rows; /* the current target's column heading is out */
} mappings_text;
extern const mappings_sink mappings_text_sink;
void mappings_text_init(mappings_text *t);
int mappings_text_finish(mappings_text *t, bool complete);
void mappings_text_done(mappings_text *t);
void render_faults(json_object *o);
void render_fault_event(json_object *o);
/* One line saying what a changing command did (render-control.c). */
void render_power(json_object *o);
void render_domain_created(json_object *o);
void render_domain_destroyed(json_object *o);
void render_attached(json_object *o);
void render_detached(json_object *o);
void render_mapped(json_object *o);
void render_unmapped(json_object *o);
void render_invalidated(json_object *o);
