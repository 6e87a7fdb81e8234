/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What iommud answers from: the live hardware (below a sysroot) or a
 * snapshot file, and the answers already serialized.
 *
 * A snapshot never changes: each answer is computed once and kept until the
 * source is reopened (SIGHUP, v1.reload).  Live answers belong to a
 * generation: a request finding the generation older than
 * RefreshIntervalSec (0: always) re-reads the unit registers
 * (iommu_system_refresh) and starts a new one, and answers of an older
 * generation are computed again.  So a live answer is never older than
 * RefreshIntervalSec (the translation tables in RAM included), and under
 * load each distinct request is computed at most once per interval.  The
 * fault poller re-reads the registers more often; it starts a new
 * generation only when one of them changed.
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

typedef enum answer_kind {
        ANSWER_INFO,
        ANSWER_DEVICES,
        ANSWER_DMAR,
        ANSWER_MAPPINGS,
        ANSWER_DOMAINS,
        _ANSWER_KIND_MAX,
} answer_kind;

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

typedef struct source {
        iommu_ctx *ctx; /* live only */
        iommu_system *system;
        char *snapshot; /* NULL: live */
        char *sysroot;  /* NULL: / */
        uint64_t generation;
        uint64_t generation_usec; /* CLOCK_MONOTONIC when it began */
        uint64_t clock;
        answer cache[SOURCE_CACHE_SIZE];
} source;

int source_open(const char *snapshot_path, const char *sysroot, uint64_t now_usec, source **ret,
                iommu_error *err);
source *source_free(source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(source *, source_free);

static inline bool source_is_live(const source *s) {
        return !s->snapshot;
}
/* "snapshot FILE" or "the hardware" / "the hardware below SYSROOT" */
const char *source_describe(const source *s, char *buf, size_t size);

/* For a request: re-read a live source's registers and start a new
 * generation if the current one is older than max_age_usec (always when
 * 0); snapshots never. */
void source_refresh(source *s, uint64_t now_usec, uint64_t max_age_usec);
/* For the fault poller: re-read a live source's registers; a new
 * generation only if any changed. */
void source_reread(source *s, uint64_t now_usec);

/* The answer for key, from the cache or computed now (after a refresh as
 * above).  Borrowed: valid until the next call. */
const answer *source_answer(source *s, const answer_key *key, uint64_t now_usec, uint64_t max_age_usec);

/* The v1.faults result (never cached: the log moves on): model_faults()
 * after a refresh as above, with "log" the fault log's entries. */
int source_faults(source *s, const fault_log *log, uint64_t now_usec, uint64_t max_age_usec,
                  json_object **ret, iommu_error *err);
