/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "basic/alloc-util.h"
#include "daemon/source.h"
#include "decode/dmar.h"
#include "model/mapped.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static uint64_t last_id;

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
        free(s->simulated);
        free(s->no_units);
        free(s);
        return NULL;
}

/* A machine without VT-d (most VMs, every AMD machine): no DMAR table, or
 * one without a DRHD.  That is an answer, not a failure: the system has no
 * units, every answer is the empty one, and why is kept to say so. */
static int open_without_units(source *s, const iommu_error *why, iommu_error *err) {
        s->system = calloc(1, sizeof *s->system);
        s->no_units = strdup(why->message);
        if (!s->system || !s->no_units)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        s->system->ctx = s->ctx;
        /* No unit has tables to walk: an empty image makes every mapping
         * answer the empty list rather than "cannot read RAM", which
         * would be a scrape error on a machine where nothing is wrong. */
        if (iommu_ram_new_image(&s->system->ram) < 0)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        return 0;
}

int source_open(const char *snapshot_path, const char *sysroot, uint64_t now_usec, source **ret,
                iommu_error *err) {
        _cleanup_(source_freep) source *s = calloc(1, sizeof *s);
        iommu_error e = {};
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
                r = iommu_system_open_live(s->ctx, &s->system, &e);
                if (r == -ENODEV)
                        r = open_without_units(s, &e, err);
                else if (r < 0)
                        return iommu_error_set(err, -r, "%s", e.message);
        }
        if (r < 0)
                return r;
        s->id = ++last_id;
        s->generation = 1;
        s->generation_usec = now_usec;
        *ret = TAKE_PTR(s);
        return 0;
}

int source_open_simulated(const iommu_sim_config *c, uint64_t now_usec, source **ret, iommu_error *err) {
        _cleanup_(source_freep) source *s = calloc(1, sizeof *s);
        char what[64];
        int r;

        if (!s || !(s->simulated = strdup(iommu_sim_config_to_string(c, what, sizeof what))))
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = iommu_system_open_simulated(c, &s->system, err);
        if (r < 0)
                return r;
        s->id = ++last_id;
        s->generation = 1;
        s->generation_usec = now_usec;
        *ret = TAKE_PTR(s);
        return 0;
}

const char *source_describe(const source *s, char *buf, size_t size) {
        if (source_simulation_persists(s))
                snprintf(buf, size, "a simulated %s machine in %s", s->simulated, s->system->sim_machine);
        else if (s->simulated)
                snprintf(buf, size, "a simulated %s machine", s->simulated);
        else if (s->snapshot)
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

void source_changed(source *s, uint64_t now_usec) {
        (void) iommu_system_refresh(s->system);
        s->generation++;
        s->generation_usec = now_usec;
}

static const char *const answer_kind_table[_ANSWER_KIND_MAX] = {
        [ANSWER_INFO] = "v1.info",       [ANSWER_DEVICES] = "v1.devices",
        [ANSWER_DMAR] = "v1.dmar",       [ANSWER_MAPPINGS] = "v1.mappings",
        [ANSWER_DOMAINS] = "v1.domains", [ANSWER_MAPPED] = "the mapped bytes",
};

const char *answer_kind_to_string(answer_kind k) {
        return k >= 0 && k < _ANSWER_KIND_MAX ? answer_kind_table[k] : "an unknown answer";
}

bool answer_kind_walks(answer_kind k) {
        return k == ANSWER_MAPPINGS || k == ANSWER_MAPPED;
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

static int write_object(json_object *o, mappings_write_fn write, void *userdata, iommu_error *err) {
        const char *text;
        size_t len;
        int r;

        text = json_object_to_json_string_length(o, JSON_FLAGS, &len);
        if (!text)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = write(userdata, text, len);
        if (r < 0)
                return iommu_error_set(err, -r, "Failed to write the answer: %s", strerror(-r));
        return 0;
}

int source_write_answer(source *s, const answer_key *key, mappings_write_fn write, void *userdata,
                        iommu_error *err) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        switch (key->kind) {
        case ANSWER_INFO:
                r = model_info(s->system, &o, err);
                break;
        case ANSWER_DEVICES:
                r = model_devices(s->system, &o, err);
                break;
        case ANSWER_MAPPINGS:
                /* the one answer that grows with the machine: never a json-c object */
                return model_mappings_write_json(s->system, &key->filter, JSON_FLAGS, write, userdata, err);
        case ANSWER_DMAR:
                if (s->no_units)
                        return iommu_error_set(err, ENODEV, "%s", s->no_units);
                r = iommu_system_dmar_json(s->system, &o, err);
                break;
        case ANSWER_DOMAINS:
                r = model_domains(s->system, &o, err);
                break;
        case ANSWER_MAPPED:
                r = model_mapped_bytes(s->system, &o, err);
                break;
        default:
                return iommu_error_set(err, EINVAL, "Unknown answer");
        }
        if (r < 0)
                return r;
        if (s->decorate && (key->kind == ANSWER_INFO || key->kind == ANSWER_DOMAINS))
                s->decorate(s->decorate_userdata, key->kind, o);
        return write_object(o, write, userdata, err);
}

/* The slot of key's answer: the one it had, or the least recently used. */
static answer *slot_of(source *s, const answer_key *key) {
        answer *victim = &s->cache[0];

        for (size_t i = 0; i < SOURCE_CACHE_SIZE; i++) {
                answer *c = &s->cache[i];
                if (c->generation != 0 && key_equal(&c->key, key))
                        return c;
                if (c->used < victim->used)
                        victim = c;
        }
        return victim;
}

static answer *cached(source *s, const answer_key *key) {
        answer *a = slot_of(s, key);

        if (a->generation != s->generation || !key_equal(&a->key, key))
                return NULL;
        a->used = ++s->clock;
        return a;
}

static answer *slot_reset(source *s, const answer_key *key) {
        answer *a = slot_of(s, key);

        answer_clear(a);
        a->key = *key;
        a->generation = s->generation;
        a->used = ++s->clock;
        return a;
}

static void slot_fail(answer *a, int error, const char *message) {
        a->error = error;
        snprintf(a->message, sizeof a->message, "%s", message && *message ? message : strerror(error));
        /* out of memory may pass: do not keep it */
        if (error == ENOMEM)
                a->generation = 0;
}

typedef struct text_buffer {
        char *text;
        size_t len, alloc;
} text_buffer;

static int text_write(void *userdata, const void *data, size_t size) {
        text_buffer *b = userdata;

        if (!GREEDY_REALLOC_MIN(b->text, b->alloc, b->len + size + 1, 4096))
                return -ENOMEM;
        memcpy(b->text + b->len, data, size);
        b->len += size;
        b->text[b->len] = '\0';
        return 0;
}

const answer *source_answer(source *s, const answer_key *key, uint64_t now_usec, uint64_t max_age_usec) {
        text_buffer b = {};
        iommu_error err = {};
        answer *a;
        int r;

        source_refresh(s, now_usec, max_age_usec);
        a = cached(s, key);
        if (a)
                return a;
        a = slot_reset(s, key);
        r = source_write_answer(s, key, text_write, &b, &err);
        if (r >= 0 && !b.text)
                r = text_write(&b, "", 0);
        if (r < 0) {
                free(b.text);
                slot_fail(a, -r, err.message);
                return a;
        }
        a->json = b.text;
        a->json_len = b.len;
        return a;
}

const answer *source_lookup(source *s, const answer_key *key, uint64_t now_usec, uint64_t max_age_usec) {
        const mappings_filter all = MAPPINGS_FILTER_ALL;
        iommu_error err = {};
        answer *a;
        int r;

        if (!answer_kind_walks(key->kind))
                return source_answer(s, key, now_usec, max_age_usec);
        source_refresh(s, now_usec, max_age_usec);
        a = cached(s, key);
        if (a)
                return a;
        r = model_mappings_check(s->system, key->kind == ANSWER_MAPPINGS ? &key->filter : &all, &err);
        if (r >= 0)
                return NULL;
        a = slot_reset(s, key);
        slot_fail(a, -r, err.message);
        return a;
}

void source_keep(source *s, const answer_key *key, uint64_t generation, const char *json, size_t len) {
        answer *a;
        char *copy;

        if (generation != s->generation || len > SOURCE_KEEP_MAX)
                return;
        copy = malloc(len + 1);
        if (!copy)
                return; /* computed again next time */
        memcpy(copy, json, len);
        copy[len] = '\0';
        a = slot_reset(s, key);
        a->json = copy;
        a->json_len = len;
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
