/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What iommud answers from: the live hardware (below a sysroot), a
 * snapshot file or a simulated machine (iommud --simulate, which answers
 * like live hardware), and the answers already serialized.
 *
 * A snapshot never changes: each answer is computed once and kept until the
 * source is reopened (SIGHUP, v1.reload), except an answer too big to keep
 * (over SOURCE_KEEP_MAX: v1.mappings of a busy machine), computed anew for
 * each request.  Live answers belong to a generation: a request finding the
 * generation older than RefreshIntervalSec (0: always) re-reads the unit
 * registers (iommu_system_refresh) and starts a new one, and answers of an
 * older generation are computed again.  So a live answer is never older
 * than RefreshIntervalSec (the translation tables in RAM included), and
 * under load each distinct request is computed at most once per interval.
 * The fault poller re-reads the registers more often; it starts a new
 * generation only when one of them changed.
 *
 * Most answers are small and quick, computed on the event loop.  Two kinds
 * walk every page table (answer_kind_walks()): v1.mappings, whose answer
 * grows with the machine, and the bytes each domain maps (for the
 * metrics).  The daemon computes those in a worker process (jobs.h), which
 * writes their text with source_write_answer() and hands it back to be
 * kept with source_keep(); source_lookup() says when one is needed.
 */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "access/ctx.h"
#include "basic/error.h"
#include "daemon/faults.h"
#include "model/model.h"
#include "model/system.h"

/* Distinct answers kept (v1.mappings filters are many): least recently
 * used goes first. */
#define SOURCE_CACHE_SIZE 64
/* Answers larger than this are not kept (their text is streamed instead). */
#define SOURCE_KEEP_MAX (1u << 20)

typedef enum answer_kind {
        ANSWER_INFO,
        ANSWER_DEVICES,
        ANSWER_DMAR,
        ANSWER_MAPPINGS,
        ANSWER_DOMAINS,
        ANSWER_MAPPED, /* model_mapped_bytes(): the metrics' bytes per domain */
        _ANSWER_KIND_MAX,
} answer_kind;

/* Whether the answer walks every page table (v1.mappings and the mapped
 * bytes): the daemon computes it in a worker. */
bool answer_kind_walks(answer_kind k);
/* "v1.mappings", "the mapped bytes", ...: for messages. */
const char *answer_kind_to_string(answer_kind k);

typedef struct answer_key {
        answer_kind kind;
        mappings_filter filter; /* ANSWER_MAPPINGS */
} answer_key;

/* A computed answer: the result serialized, or the error it gave. */
typedef struct answer {
        answer_key key;
        uint64_t generation;
        uint64_t used; /* LRU clock */
        int error;     /* 0, or the positive errno */
        char *json;    /* result, serialized (error == 0) */
        size_t json_len;
        char message[256]; /* error != 0 */
} answer;

/* Called with the model of v1.info and v1.domains before it is kept: the
 * units iommud owns add to it (control.h). */
typedef void (*source_decorate_fn)(void *userdata, answer_kind kind, json_object *result);

typedef struct source {
        uint64_t id;    /* unique in the process: a new source is another one, wherever it lies */
        iommu_ctx *ctx; /* live only */
        iommu_system *system;
        char *snapshot;  /* NULL: live */
        char *sysroot;   /* NULL: / */
        char *simulated; /* the simulated machine ("legacy:aw48,cm"), else NULL */
        char *no_units;  /* live without a VT-d unit: why (no DMAR table, no DRHD), else NULL */
        source_decorate_fn decorate;
        void *decorate_userdata;
        uint64_t generation;
        uint64_t generation_usec; /* CLOCK_MONOTONIC when it began */
        uint64_t clock;
        answer cache[SOURCE_CACHE_SIZE];
} source;

int source_open(const char *snapshot_path, const char *sysroot, uint64_t now_usec, source **ret,
                iommu_error *err);
/* iommud --simulate: the machine iommu_system_open_simulated() makes. */
int source_open_simulated(const iommu_sim_config *c, uint64_t now_usec, source **ret, iommu_error *err);
source *source_free(source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(source *, source_free);

/* Live hardware, or a simulated machine: registers that change. */
static inline bool source_is_live(const source *s) {
        return !s->snapshot;
}
static inline bool source_is_simulated(const source *s) {
        return s->simulated;
}
/* A simulated machine that lives in a file (--simulated-machine): its unit
 * and table memory outlive iommud, as a real machine's do. */
static inline bool source_simulation_persists(const source *s) {
        return s->simulated && s->system && s->system->sim_machine;
}
/* "snapshot FILE", "the hardware" / "the hardware below SYSROOT", or
 * "a simulated legacy:aw48,cm machine" (and " in FILE" when it lives in
 * one) */
const char *source_describe(const source *s, char *buf, size_t size);

/* For a request: re-read a live source's registers and start a new
 * generation if the current one is older than max_age_usec (always when
 * 0); snapshots never. */
void source_refresh(source *s, uint64_t now_usec, uint64_t max_age_usec);
/* For the fault poller: re-read a live source's registers; a new
 * generation only if any changed. */
void source_reread(source *s, uint64_t now_usec);
/* iommud changed a unit it owns: the registers re-read, a new generation. */
void source_changed(source *s, uint64_t now_usec);

/* The answer for key, from the cache or computed now (after a refresh as
 * above), whatever its kind.  Borrowed: valid until the next call.  For
 * tools: an answer that walks is assembled whole in memory. */
const answer *source_answer(source *s, const answer_key *key, uint64_t now_usec, uint64_t max_age_usec);

/* The same, but of the kinds that walk only what is known without walking:
 * the kept answer, or an error found up front (model_mappings_check());
 * NULL when it is to be computed (by a worker: source_write_answer()). */
const answer *source_lookup(source *s, const answer_key *key, uint64_t now_usec, uint64_t max_age_usec);

/* The answer's text, written to write() in pieces as it is produced: in
 * constant memory for v1.mappings (model_mappings_write_json()).  What
 * source_answer() and the workers run. */
int source_write_answer(source *s, const answer_key *key, mappings_write_fn write, void *userdata,
                        iommu_error *err);

/* A worker's answer for key, computed at generation: kept when that is
 * still the source's and it is at most SOURCE_KEEP_MAX bytes. */
void source_keep(source *s, const answer_key *key, uint64_t generation, const char *json, size_t len);

/* The v1.faults result (never cached: the log moves on): model_faults()
 * after a refresh as above, with "log" the fault log's entries. */
int source_faults(source *s, const fault_log *log, uint64_t now_usec, uint64_t max_age_usec,
                  json_object **ret, iommu_error *err);
