/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mappings model as a stream of events (mappings.h): the walker's
 * targets, ranges and anomalies turned into the document's entries, in the
 * document's order.
 *
 * Two things in the document are not in the walker's order.  A target's
 * anomalies are listed after its ranges: they are kept until the target is
 * done.  And a unit's anomalies above any device form one entry placed
 * where the first of them was found, holding those found after it too:
 * once one is found, the events of the unit's later targets go to a
 * temporary file (rare: only corrupt tables have such anomalies) and are
 * replayed after that entry when the unit's walk ends.
 *
 * A target whose page tables an earlier target of the unit already had is
 * not walked again by the walker (same_tables); its ranges are the earlier
 * ones, so that tree is walked once more here, for its ranges only, and
 * stopped after as many ranges as the first walk gave (that walk may have
 * stopped at the bound on entries).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "basic/hashmap.h"
#include "basic/json-util.h"
#include "decode/layouts.h"
#include "decode/regs.h"
#include "model/devices.h"
#include "model/mappings.h"

const range_field range_fields[] = {
        { "iova", RANGE_FIELD_U64, offsetof(walk_range, iova) },
        { "phys", RANGE_FIELD_U64, offsetof(walk_range, phys) },
        { "length", RANGE_FIELD_U64, offsetof(walk_range, length) },
        { "read", RANGE_FIELD_BOOL, offsetof(walk_range, read) },
        { "write", RANGE_FIELD_BOOL, offsetof(walk_range, write) },
        { "execute", RANGE_FIELD_BOOL, offsetof(walk_range, execute) },
        { "page_size", RANGE_FIELD_U64, offsetof(walk_range, page_size) },
};
const size_t n_range_fields = ELEMENTSOF(range_fields);

json_object *range_to_json(const walk_range *r) {
        json_object *o = json_object_new_object();

        for (size_t i = 0; o && i < n_range_fields; i++) {
                const range_field *f = &range_fields[i];
                json_object *v = f->type == RANGE_FIELD_U64
                                         ? json_object_new_uint64(range_field_u64(f, r))
                                         : json_object_new_boolean(range_field_bool(f, r));

                if (!v || json_object_object_add(o, f->name, v) < 0) {
                        json_object_put(v);
                        json_object_put(o);
                        return NULL;
                }
        }
        return o;
}

bool range_from_json(json_object *o, walk_range *ret) {
        walk_range r = {};

        for (size_t i = 0; i < n_range_fields; i++) {
                const range_field *f = &range_fields[i];
                json_object *v = json_get_typed(
                        o, f->name, f->type == RANGE_FIELD_U64 ? json_type_int : json_type_boolean);

                if (!v)
                        return false;
                if (f->type == RANGE_FIELD_U64) {
                        /* json-c keeps negative numbers as int64: not a u64 */
                        if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0)
                                return false;
                        *(uint64_t *) ((char *) &r + f->offset) = json_object_get_uint64(v);
                } else
                        *(bool *) ((char *) &r + f->offset) = json_object_get_boolean(v);
        }
        *ret = r;
        return true;
}

/* ---- the spool: events held back while a unit's anomaly entry is open ---- */

enum {
        SPOOL_TARGET = 1,
        SPOOL_RANGES,
        SPOOL_ANOMALY,
        SPOOL_DONE,
};

static int spool_put(FILE *f, uint8_t type, const void *data, uint32_t size) {
        if (fwrite(&type, 1, 1, f) != 1 || fwrite(&size, sizeof size, 1, f) != 1 ||
            (size > 0 && fwrite(data, size, 1, f) != 1))
                return -EIO;
        return 0;
}

static int spool_put_json(FILE *f, uint8_t type, json_object *o) {
        size_t len;
        const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);

        if (!s)
                return -ENOMEM;
        if (len > UINT32_MAX)
                return -E2BIG;
        return spool_put(f, type, s, (uint32_t) len);
}

static int spool_replay(FILE *f, const mappings_sink *sink, void *userdata) {
        _cleanup_free_ char *buf = NULL;
        size_t alloc = 0;
        uint8_t type;
        uint32_t size;
        int r = 0;

        if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)
                return -EIO;
        while (r >= 0 && fread(&type, 1, 1, f) == 1) {
                if (fread(&size, sizeof size, 1, f) != 1)
                        return -EIO;
                if (size + 1 > alloc) {
                        free(buf);
                        alloc = size + 1;
                        buf = malloc(alloc);
                        if (!buf)
                                return -ENOMEM;
                }
                if (size > 0 && fread(buf, size, 1, f) != 1)
                        return -EIO;
                buf[size] = '\0';
                switch (type) {
                case SPOOL_TARGET:
                case SPOOL_ANOMALY: {
                        _cleanup_json_ json_object *o = json_tokener_parse(buf);
                        if (!o)
                                return -EIO;
                        r = type == SPOOL_TARGET ? sink->target(userdata, o) : sink->anomaly(userdata, o);
                        break;
                }
                case SPOOL_RANGES:
                        r = sink->ranges(userdata, (const walk_range *) buf, size / sizeof(walk_range));
                        break;
                case SPOOL_DONE:
                        r = sink->target_done(userdata);
                        break;
                default:
                        return -EIO;
                }
        }
        if (r >= 0 && ferror(f))
                r = -EIO;
        return r;
}

/* ---- the producer ---- */

typedef struct producer {
        iommu_system *s;
        iommu_unit *u;
        const mappings_sink *sink;
        void *userdata;

        json_object *header;    /* the target being walked, until its target_done */
        bool header_sent;       /* it goes out before its first range, or at its end */
        json_object *anomalies; /* its anomalies, for after its ranges */
        uint64_t n_ranges;      /* how many ranges it had */
        /* ranges each distinct page-table tree of the unit gave */
        hashmap tree_ranges;

        json_object *unit_entry; /* the unit's anomalies above any device, once one was found */
        FILE *spool;             /* events after unit_entry's place, until the unit is done */

        /* same_tables: walking an earlier tree again for its ranges */
        uint64_t replay_left;
} producer;

static uint64_t tree_key(const walk_target *t) {
        bool fs =
                t->translation == WALK_TRANSLATION_FIRST_STAGE || t->translation == WALK_TRANSLATION_NESTED;
        /* roots are page aligned: levels and format fit below (the walker keys trees so too) */
        return t->root | (uint64_t) t->levels << 1 | (uint64_t) fs;
}

static int emit_target(producer *p, json_object *header) {
        return p->spool ? spool_put_json(p->spool, SPOOL_TARGET, header)
                        : p->sink->target(p->userdata, header);
}

static int emit_ranges(producer *p, const walk_range *r, size_t n) {
        if (p->spool)
                return spool_put(p->spool, SPOOL_RANGES, r, (uint32_t) (n * sizeof *r));
        return p->sink->ranges(p->userdata, r, n);
}

static int emit_anomaly(producer *p, json_object *a) {
        return p->spool ? spool_put_json(p->spool, SPOOL_ANOMALY, a) : p->sink->anomaly(p->userdata, a);
}

static int emit_done(producer *p) {
        return p->spool ? spool_put(p->spool, SPOOL_DONE, NULL, 0) : p->sink->target_done(p->userdata);
}

static json_object *target_header(const producer *p, const walk_target *t) {
        json_object *o = json_object_new_object();
        char bdf[BDF_STRING_MAX];

        if (!o)
                return NULL;
        json_object_object_add(o, "bdf",
                               json_object_new_string(bdf_format(bdf, p->u->segment, t->bus, t->devfn)));
        json_object_object_add(o, "pasid",
                               t->pasid == WALK_NO_PASID ? NULL : json_object_new_int64(t->pasid));
        json_object_object_add(o, "rid_pasid", json_object_new_boolean(t->rid_pasid));
        json_object_object_add(o, "unit", json_object_new_string(p->u->name));
        json_object_object_add(o, "domain", json_object_new_int(t->did));
        json_object_object_add(o, "translation",
                               json_object_new_string(walk_translation_to_string(t->translation)));
        json_object_object_add(o, "address_width",
                               t->address_width ? json_object_new_int((int) t->address_width) : NULL);
        json_object_object_add(o, "levels", t->levels ? json_object_new_int((int) t->levels) : NULL);
        json_object_object_add(o, "fpd", json_object_new_boolean(t->fpd));
        json_object_object_add(o, "root", t->root ? json_object_new_uint64(t->root) : NULL);
        if (t->translation == WALK_TRANSLATION_NESTED)
                json_object_object_add(o, "second_stage_root", json_object_new_uint64(t->second_root));
        json_object_object_add(o, "entry_address", json_object_new_uint64(t->entry_address));
        json_object_object_add(o, "entry",
                               t->entry_layout ? layout_to_json(t->entry_layout, t->entry) : NULL);
        json_object_object_add(o, "ranges", NULL);
        json_object_object_add(o, "anomalies", NULL);
        return o;
}

static json_object *anomaly_to_json(const walk_anomaly *a) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "kind", json_object_new_string(walk_anomaly_kind_to_string(a->kind)));
        json_object_object_add(o, "table", json_object_new_string(a->table ? a->table : ""));
        json_object_object_add(o, "level", json_object_new_int((int) a->level));
        json_object_object_add(o, "address", json_object_new_uint64(a->address));
        json_object_object_add(o, "iova", json_object_new_uint64(a->iova));
        json_object_object_add(o, "value", json_object_new_uint64(a->value));
        json_object_object_add(o, "message", json_object_new_string(a->message));
        return o;
}

static int on_target(void *userdata, const walk_target *t) {
        producer *p = userdata;

        p->header = target_header(p, t);
        p->anomalies = json_object_new_array();
        if (!p->header || !p->anomalies)
                return -ENOMEM;
        p->header_sent = false;
        p->n_ranges = 0;
        /* the header goes out when we know whether it shares tables */
        return 0;
}

static int send_header(producer *p) {
        if (p->header_sent)
                return 0;
        p->header_sent = true;
        return emit_target(p, p->header);
}

static int on_replay_ranges(void *userdata, const walk_target *t, const walk_range *r, size_t n) {
        producer *p = userdata;
        size_t k = n < p->replay_left ? n : (size_t) p->replay_left;
        int e;

        if (k == 0)
                return -ECANCELED;
        e = emit_ranges(p, r, k);
        if (e < 0)
                return e;
        p->replay_left -= k;
        return p->replay_left == 0 ? -ECANCELED : 0;
}

static int on_same_tables(void *userdata, const walk_target *t, const walk_target *first) {
        static const walk_ops replay_ops = { .ranges = on_replay_ranges };
        producer *p = userdata;
        char bdf[BDF_STRING_MAX];
        uint64_t count = 0;
        int r;

        json_object_object_add(
                p->header, "same_tables_as",
                json_object_new_string(bdf_format(bdf, p->u->segment, first->bus, first->devfn)));
        r = send_header(p);
        if (r < 0)
                return r;
        (void) hashmap_get(&p->tree_ranges, tree_key(first), &count);
        if (count == 0)
                return 0;
        p->replay_left = count;
        r = walk_page_table(p->s->ram, p->u->cap, first->root, first->levels, tree_key(first) & 1, t,
                            &replay_ops, p);
        return r == -ECANCELED ? 0 : r;
}

static int on_ranges(void *userdata, const walk_target *t, const walk_range *r, size_t n) {
        producer *p = userdata;
        int e = send_header(p);

        if (e < 0)
                return e;
        p->n_ranges += n;
        return emit_ranges(p, r, n);
}

static int open_unit_entry(producer *p) {
        json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "bdf", NULL);
        json_object_object_add(o, "pasid", NULL);
        json_object_object_add(o, "unit", json_object_new_string(p->u->name));
        json_object_object_add(o, "ranges", NULL);
        json_object_object_add(o, "anomalies", json_object_new_array());
        p->unit_entry = o;
        p->spool = tmpfile();
        return p->spool ? 0 : -errno;
}

static int on_anomaly(void *userdata, const walk_target *t, const walk_anomaly *a) {
        producer *p = userdata;
        json_object *o = anomaly_to_json(a);
        int r;

        if (!o)
                return -ENOMEM;
        if (t && p->header)
                return json_object_array_add(p->anomalies, o) < 0 ? (json_object_put(o), -ENOMEM) : 0;
        if (!p->unit_entry && (r = open_unit_entry(p)) < 0) {
                json_object_put(o);
                return r;
        }
        return json_object_array_add(json_get(p->unit_entry, "anomalies"), o) < 0
                       ? (json_object_put(o), -ENOMEM)
                       : 0;
}

static int on_target_done(void *userdata, const walk_target *t) {
        producer *p = userdata;
        int r = send_header(p); /* a target without ranges */

        for (size_t i = 0; r >= 0 && i < json_array_length(p->anomalies); i++)
                r = emit_anomaly(p, json_array_get(p->anomalies, i));
        if (r >= 0)
                r = emit_done(p);
        /* what this tree gave, for the targets that share it (replacing what
         * an earlier target with the same root had if its tree was not
         * walked) */
        if (r >= 0 && t->levels > 0 && !json_get(p->header, "same_tables_as"))
                r = hashmap_replace(&p->tree_ranges, tree_key(t), p->n_ranges);
        json_object_put(p->header);
        json_object_put(p->anomalies);
        p->header = p->anomalies = NULL;
        return r;
}

/* The unit's walk ended: its anomaly entry, then what was held back. */
static int unit_done(producer *p) {
        json_object *anomalies;
        int r;

        if (!p->unit_entry)
                return 0;
        anomalies = json_object_get(json_get(p->unit_entry, "anomalies"));
        json_object_object_add(p->unit_entry, "anomalies", NULL);
        r = p->sink->target(p->userdata, p->unit_entry);
        for (size_t i = 0; r >= 0 && i < json_array_length(anomalies); i++)
                r = p->sink->anomaly(p->userdata, json_array_get(anomalies, i));
        if (r >= 0)
                r = p->sink->target_done(p->userdata);
        json_object_put(anomalies);
        if (r >= 0)
                r = spool_replay(p->spool, p->sink, p->userdata);
        return r;
}

static void producer_unit_reset(producer *p) {
        json_object_put(p->header);
        json_object_put(p->anomalies);
        json_object_put(p->unit_entry);
        p->header = p->anomalies = p->unit_entry = NULL;
        if (p->spool)
                (void) fclose(p->spool);
        p->spool = NULL;
        hashmap_clear(&p->tree_ranges);
}

static bool unit_walkable(const iommu_system *s, const iommu_unit *u) {
        return s->ram && u->have_regs && FIELD_GET(GSTS, RTPS, &u->gsts) &&
               walk_mode_of_rtaddr(u->rtaddr) != WALK_MODE_ABORT;
}

int model_mappings_check(iommu_system *s, const mappings_filter *f, iommu_error *err) {
        if (!s->ram)
                return iommu_error_set(err, s->ram_error.error ?: EIO,
                                       "Cannot read the translation tables: %s", s->ram_error.message);
        for (size_t i = 0; i < s->n_units; i++) {
                iommu_unit *u = &s->units[i];

                if (f->have_device && f->segment != u->segment)
                        continue;
                if (!u->have_regs)
                        return iommu_error_set(err, u->regs_error.error ?: EIO,
                                               "Cannot read %s's registers: %s", u->name,
                                               u->regs_error.message);
        }
        return 0;
}

int model_mappings_stream(iommu_system *s, const mappings_filter *f, const mappings_sink *sink,
                          void *userdata, iommu_error *err) {
        static const walk_ops ops = {
                .target = on_target,
                .same_tables = on_same_tables,
                .ranges = on_ranges,
                .anomaly = on_anomaly,
                .target_done = on_target_done,
        };
        producer p = { .s = s, .sink = sink, .userdata = userdata, .tree_ranges = HASHMAP_INIT };
        int r;

        /* every error that makes the answer an error, before any event */
        r = model_mappings_check(s, f, err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < s->n_units && r >= 0; i++) {
                iommu_unit *u = &s->units[i];
                walk_filter filter = WALK_FILTER_ALL;

                if ((f->have_device && f->segment != u->segment) || !unit_walkable(s, u))
                        continue;
                if (f->have_device) {
                        filter.bus = f->bus;
                        filter.devfn = f->devfn;
                }
                filter.did = f->did;
                filter.pasid = f->pasid;
                filter.max_entries = f->max_entries;

                p.u = u;
                r = walk_unit(s->ram, u->rtaddr, u->cap, u->ecap, &filter, &ops, &p);
                if (r >= 0)
                        r = unit_done(&p);
                producer_unit_reset(&p);
                if (r < 0)
                        r = iommu_error_set(err, r, "Failed to walk %s's translation tables: %s", u->name,
                                            strerror(-r));
        }
        hashmap_done(&p.tree_ranges);
        return r;
}

/* ---- json-c objects ---- */

typedef struct object_sink {
        json_object *list;
        json_object *current; /* borrowed from list */
} object_sink;

static int object_target(void *userdata, json_object *header) {
        object_sink *o = userdata;
        json_object *copy = NULL;

        if (json_object_deep_copy(header, &copy, NULL) < 0)
                return -ENOMEM;
        json_object_object_add(copy, "ranges", json_object_new_array());
        json_object_object_add(copy, "anomalies", json_object_new_array());
        if (json_object_array_add(o->list, copy) < 0) {
                json_object_put(copy);
                return -ENOMEM;
        }
        o->current = copy;
        return 0;
}

static int object_ranges(void *userdata, const walk_range *r, size_t n) {
        object_sink *o = userdata;
        json_object *ranges = json_get(o->current, "ranges");

        for (size_t i = 0; i < n; i++) {
                json_object *v = range_to_json(&r[i]);
                if (!v || json_object_array_add(ranges, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
        }
        return 0;
}

static int object_anomaly(void *userdata, json_object *anomaly) {
        object_sink *o = userdata;

        return json_object_array_add(json_get(o->current, "anomalies"), json_object_get(anomaly)) < 0
                       ? -ENOMEM
                       : 0;
}

static int object_target_done(void *userdata) {
        return 0;
}

int model_mappings(iommu_system *s, const mappings_filter *f, json_object **ret, iommu_error *err) {
        static const mappings_sink sink = {
                .target = object_target,
                .ranges = object_ranges,
                .anomaly = object_anomaly,
                .target_done = object_target_done,
        };
        _cleanup_json_ json_object *list = json_object_new_array();
        object_sink o = { .list = list };
        int r;

        if (!list)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = model_mappings_stream(s, f, &sink, &o, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}
