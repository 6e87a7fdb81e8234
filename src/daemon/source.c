/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "daemon/source.h"
#include "decode/dmar.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static void answer_clear(answer *a) {
        free(a->json);
        *a = (answer){};
}

source *source_free(source *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < SOURCE_CACHE_SIZE; i++)
                answer_clear(&s->cache[i]);
        /* the system borrows the context: free it first */
        iommu_system_free(s->system);
        iommu_ctx_free(s->ctx);
        free(s->snapshot);
        free(s->sysroot);
        free(s);
        return NULL;
}

int source_open(const char *snapshot_path, const char *sysroot, uint64_t now_usec, source **ret,
                iommu_error *err) {
        _cleanup_(source_freep) source *s = calloc(1, sizeof *s);
        int r;

        if (!s)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        if ((snapshot_path && !(s->snapshot = strdup(snapshot_path))) ||
            (sysroot && !(s->sysroot = strdup(sysroot))))
                return iommu_error_set(err, ENOMEM, "Out of memory");

        if (snapshot_path)
                r = iommu_system_open_snapshot(snapshot_path, &s->system, err);
        else {
                r = iommu_ctx_new(sysroot, &s->ctx);
                if (r < 0)
                        return iommu_error_set(err, -r, "Failed to set up the library: %s", strerror(-r));
                r = iommu_system_open_live(s->ctx, &s->system, err);
        }
        if (r < 0)
                return r;
        s->generation = 1;
        s->generation_usec = now_usec;
        *ret = TAKE_PTR(s);
        return 0;
}

const char *source_describe(const source *s, char *buf, size_t size) {
        if (s->snapshot)
                snprintf(buf, size, "snapshot %s", s->snapshot);
        else if (s->sysroot && *s->sysroot && !streq(s->sysroot, "/"))
                snprintf(buf, size, "the hardware below %s", s->sysroot);
        else
                snprintf(buf, size, "the hardware");
        return buf;
}

void source_refresh(source *s, uint64_t now_usec, uint64_t max_age_usec) {
        if (!source_is_live(s))
                return;
        if (max_age_usec != 0 && now_usec - s->generation_usec < max_age_usec)
                return;
        /* a unit that cannot be read any more says so in its answers */
        (void) iommu_system_refresh(s->system);
        s->generation++;
        s->generation_usec = now_usec;
}

typedef struct unit_values {
        bool have_regs;
        uint64_t ver, cap, ecap, gsts, rtaddr, fsts;
        unit_owner owner;
} unit_values;

static unit_values values_of(const iommu_unit *u) {
        return (unit_values){ .have_regs = u->have_regs,
                              .ver = u->ver,
                              .cap = u->cap,
                              .ecap = u->ecap,
                              .gsts = u->gsts,
                              .rtaddr = u->rtaddr,
                              .fsts = u->fsts,
                              .owner = u->owner };
}

static bool values_equal(const unit_values *a, const unit_values *b) {
        return a->have_regs == b->have_regs && a->ver == b->ver && a->cap == b->cap && a->ecap == b->ecap &&
               a->gsts == b->gsts && a->rtaddr == b->rtaddr && a->fsts == b->fsts && a->owner == b->owner;
}

void source_reread(source *s, uint64_t now_usec) {
        iommu_system *sys = s->system;
        _cleanup_free_ unit_values *before = NULL;
        bool changed = false;

        if (!source_is_live(s))
                return;
        before = calloc(sys->n_units ?: 1, sizeof *before);
        for (size_t i = 0; before && i < sys->n_units; i++)
                before[i] = values_of(&sys->units[i]);
        (void) iommu_system_refresh(sys);
        for (size_t i = 0; i < sys->n_units && !changed; i++) {
                unit_values after = values_of(&sys->units[i]);
                changed = !before || !values_equal(&before[i], &after);
        }
        if (changed) {
                s->generation++;
                s->generation_usec = now_usec;
        }
}

static bool key_equal(const answer_key *a, const answer_key *b) {
        if (a->kind != b->kind)
                return false;
        if (a->kind != ANSWER_MAPPINGS)
                return true;
        return a->filter.have_device == b->filter.have_device &&
               (!a->filter.have_device ||
                (a->filter.segment == b->filter.segment && a->filter.bus == b->filter.bus &&
                 a->filter.devfn == b->filter.devfn)) &&
               a->filter.did == b->filter.did && a->filter.pasid == b->filter.pasid;
}

static int compute(source *s, const answer_key *key, json_object **ret, iommu_error *err) {
        switch (key->kind) {
        case ANSWER_INFO:
                return model_info(s->system, ret, err);
        case ANSWER_DEVICES:
                return model_devices(s->system, ret, err);
        case ANSWER_MAPPINGS:
                return model_mappings(s->system, &key->filter, ret, err);
        case ANSWER_DMAR:
                return iommu_system_dmar_json(s->system, ret, err);
        case ANSWER_DOMAINS:
                return model_domains(s->system, ret, err);
        default:
                return iommu_error_set(err, EINVAL, "Unknown answer");
        }
}

const answer *source_answer(source *s, const answer_key *key, uint64_t now_usec, uint64_t max_age_usec) {
        answer *a = NULL, *victim = &s->cache[0];
        _cleanup_json_ json_object *o = NULL;
        iommu_error err = {};
        const char *text;
        size_t len;
        int r;

        source_refresh(s, now_usec, max_age_usec);

        for (size_t i = 0; i < SOURCE_CACHE_SIZE; i++) {
                answer *c = &s->cache[i];
                if (c->generation != 0 && key_equal(&c->key, key)) {
                        a = c;
                        break;
                }
                if (c->used < victim->used)
                        victim = c;
        }
        if (a && a->generation == s->generation) {
                a->used = ++s->clock;
                return a;
        }
        if (!a)
                a = victim;
        answer_clear(a);
        a->key = *key;
        a->generation = s->generation;
        a->used = ++s->clock;

        r = compute(s, key, &o, &err);
        if (r >= 0) {
                text = json_object_to_json_string_length(o, JSON_FLAGS, &len);
                a->json = text ? malloc(len + 1) : NULL;
                if (!a->json)
                        r = iommu_error_set(&err, ENOMEM, "Out of memory");
                else {
                        memcpy(a->json, text, len + 1);
                        a->json_len = len;
                }
        }
        if (r < 0) {
                a->error = -r;
                snprintf(a->message, sizeof a->message, "%s", err.message[0] ? err.message : strerror(-r));
                /* out of memory may pass: do not keep it */
                if (-r == ENOMEM)
                        a->generation = 0;
        }
        return a;
}

int source_faults(source *s, const fault_log *log, uint64_t now_usec, uint64_t max_age_usec,
                  json_object **ret, iommu_error *err) {
        _cleanup_json_ json_object *o = NULL;
        json_object *entries;
        int r;

        source_refresh(s, now_usec, max_age_usec);
        r = model_faults(s->system, &o, err);
        if (r < 0)
                return r;
        entries = fault_log_to_json(log);
        if (!entries || json_object_object_add(o, "log", entries) < 0) {
                json_object_put(entries);
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        *ret = TAKE_PTR(o);
        return 0;
}
