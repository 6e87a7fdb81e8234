/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bytes mapped per domain (mapped.h), unit by unit: one walk that sums
 * each page-table tree as its ranges come, and notes which domains use
 * which trees; then, for the rare domain with several trees, those trees
 * walked again to merge their ranges.
 *
 * The targets and ranges are the mappings document's (mappings.c): the
 * same walk of the same units, and a target sharing an earlier target's
 * tree (the walker's same_tables) has that tree's ranges.
 */
#include <stdlib.h>
#include <string.h>

#include "basic/alloc-util.h"
#include "basic/hashmap.h"
#include "decode/regs.h"
#include "model/mapped.h"
#include "model/mappings.h"

#define NO_TREE UINT32_MAX

typedef unsigned __int128 u128;

/* A page-table tree of the unit, and the union of its ranges so far. */
typedef struct tree {
        walk_target first; /* the target it was walked for: to walk it again */
        uint64_t n_ranges;
        uint64_t last_iova;
        u128 end; /* of the union so far */
        u128 bytes;
        bool unordered; /* a range before the one it followed: sum no more, merge */
} tree;

/* A domain and one tree its targets use (NO_TREE: a target without one). */
typedef struct use {
        uint16_t did;
        uint32_t tree;
} use;

typedef struct summer {
        iommu_system *s;
        iommu_unit *u;
        tree *trees;
        size_t n_trees, trees_alloc;
        hashmap tree_index; /* tree_key -> index in trees */
        use *uses;
        size_t n_uses, uses_alloc;
        hashmap use_index; /* did << 32 | tree -> present */
        uint32_t current;  /* the tree of the target being walked */
} summer;

/* As the walker keys trees (roots are page aligned: levels and format fit
 * below), and mappings.c with it. */
static uint64_t tree_key(const walk_target *t) {
        bool fs =
                t->translation == WALK_TRANSLATION_FIRST_STAGE || t->translation == WALK_TRANSLATION_NESTED;
        return t->root | (uint64_t) t->levels << 1 | (uint64_t) fs;
}

static void add_range(tree *t, const walk_range *r) {
        u128 start = r->iova, stop = (u128) r->iova + r->length;

        if (t->n_ranges > 0 && r->iova < t->last_iova)
                t->unordered = true;
        t->n_ranges++;
        t->last_iova = r->iova;
        if (start < t->end)
                start = t->end;
        if (stop > start) {
                t->bytes += stop - start;
                t->end = stop;
        }
}

static int on_target(void *userdata, const walk_target *t) {
        summer *m = userdata;

        m->current = NO_TREE;
        return 0;
}

static int on_same_tables(void *userdata, const walk_target *t, const walk_target *first) {
        summer *m = userdata;
        uint64_t i;

        /* NO_TREE when the first walk gave no range: nothing to add */
        if (hashmap_get(&m->tree_index, tree_key(first), &i))
                m->current = (uint32_t) i;
        return 0;
}

static int on_ranges(void *userdata, const walk_target *t, const walk_range *r, size_t n) {
        summer *m = userdata;
        tree *tr;

        if (m->current == NO_TREE) {
                int k;

                if (!GREEDY_REALLOC(m->trees, m->trees_alloc, m->n_trees + 1))
                        return -ENOMEM;
                k = hashmap_put(&m->tree_index, tree_key(t), m->n_trees);
                if (k < 0)
                        return k;
                m->trees[m->n_trees] = (tree){ .first = *t };
                m->current = (uint32_t) m->n_trees++;
        }
        tr = &m->trees[m->current];
        for (size_t i = 0; i < n; i++)
                add_range(tr, &r[i]);
        return 0;
}

static int on_target_done(void *userdata, const walk_target *t) {
        summer *m = userdata;
        uint64_t key = (uint64_t) t->did << 32 | m->current;
        int r;

        if (hashmap_contains(&m->use_index, key))
                return 0;
        if (!GREEDY_REALLOC(m->uses, m->uses_alloc, m->n_uses + 1))
                return -ENOMEM;
        r = hashmap_put(&m->use_index, key, 1);
        if (r < 0)
                return r;
        m->uses[m->n_uses++] = (use){ .did = t->did, .tree = m->current };
        return 0;
}

static int cmp_use(const void *a, const void *b) {
        const use *x = a, *y = b;

        if (x->did != y->did)
                return x->did < y->did ? -1 : 1;
        return (x->tree > y->tree) - (x->tree < y->tree);
}

/* ---- merging the trees of one domain ---- */

typedef struct span {
        uint64_t iova, length;
} span;

typedef struct collector {
        span *v;
        size_t n, alloc;
        uint64_t left; /* ranges still to take from this tree */
} collector;

static int collect_ranges(void *userdata, const walk_target *t, const walk_range *r, size_t n) {
        collector *c = userdata;

        for (size_t i = 0; i < n && c->left > 0; i++, c->left--) {
                if (!GREEDY_REALLOC_MIN(c->v, c->alloc, c->n + 1, 1024))
                        return -ENOMEM;
                c->v[c->n++] = (span){ .iova = r[i].iova, .length = r[i].length };
        }
        /* the first walk may have stopped at the bound on entries: no further */
        return c->left == 0 ? -ECANCELED : 0;
}

static int cmp_span(const void *a, const void *b) {
        const span *x = a, *y = b;

        return (x->iova > y->iova) - (x->iova < y->iova);
}

/* The union of the ranges of trees[uses[0..n).tree]. */
static int merge_trees(summer *m, const use *uses, size_t n, u128 *ret) {
        static const walk_ops ops = { .ranges = collect_ranges };
        _cleanup_free_ span *v = NULL;
        collector c = {};
        u128 end = 0, bytes = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                const tree *t;

                if (uses[i].tree == NO_TREE)
                        continue;
                t = &m->trees[uses[i].tree];
                c.left = t->n_ranges;
                if (c.left == 0)
                        continue;
                r = walk_page_table(m->s->ram, m->u->cap, t->first.root, t->first.levels,
                                    tree_key(&t->first) & 1, &t->first, &ops, &c);
                if (r < 0 && r != -ECANCELED) {
                        free(c.v);
                        return r;
                }
        }
        v = c.v;
        if (c.n > 0)
                qsort(v, c.n, sizeof *v, cmp_span);
        for (size_t i = 0; i < c.n; i++) {
                u128 start = v[i].iova, stop = (u128) v[i].iova + v[i].length;

                if (start < end)
                        start = end;
                if (stop > start) {
                        bytes += stop - start;
                        end = stop;
                }
        }
        *ret = bytes;
        return 0;
}

/* ---- the result ---- */

static int add_domain(json_object *list, const char *unit, uint16_t did, u128 bytes) {
        json_object *o = json_object_new_object();

        if (!o || json_object_array_add(list, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        if (json_object_object_add(o, "unit", json_object_new_string(unit)) < 0 ||
            json_object_object_add(o, "domain", json_object_new_int(did)) < 0 ||
            json_object_object_add(
                    o, "mapped_bytes",
                    json_object_new_uint64(bytes > UINT64_MAX ? UINT64_MAX : (uint64_t) bytes)) < 0)
                return -ENOMEM;
        return 0;
}

static int unit_result(summer *m, json_object *list) {
        if (m->n_uses > 0)
                qsort(m->uses, m->n_uses, sizeof *m->uses, cmp_use);
        for (size_t i = 0; i < m->n_uses;) {
                size_t first = i, trees = 0;
                bool merge = false;
                u128 bytes = 0;
                int r;

                for (; i < m->n_uses && m->uses[i].did == m->uses[first].did; i++)
                        if (m->uses[i].tree != NO_TREE) {
                                const tree *t = &m->trees[m->uses[i].tree];

                                trees++;
                                bytes = t->bytes;
                                merge = merge || t->unordered;
                        }
                if (trees > 1 || merge) {
                        r = merge_trees(m, &m->uses[first], i - first, &bytes);
                        if (r < 0)
                                return r;
                }
                r = add_domain(list, m->u->name, m->uses[first].did, bytes);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* As model_mappings_stream() (mappings.c) decides which units to walk. */
static bool unit_walkable(const iommu_system *s, const iommu_unit *u) {
        return s->ram && u->have_regs && FIELD_GET(GSTS, RTPS, &u->gsts) &&
               walk_mode_of_rtaddr(u->rtaddr) != WALK_MODE_ABORT;
}

static void summer_unit_reset(summer *m) {
        m->n_trees = m->n_uses = 0;
        hashmap_clear(&m->tree_index);
        hashmap_clear(&m->use_index);
}

int model_mapped_bytes(iommu_system *s, json_object **ret, iommu_error *err) {
        static const walk_ops ops = {
                .target = on_target,
                .same_tables = on_same_tables,
                .ranges = on_ranges,
                .target_done = on_target_done,
        };
        const mappings_filter all = MAPPINGS_FILTER_ALL;
        _cleanup_json_ json_object *list = NULL;
        summer m = { .s = s, .tree_index = HASHMAP_INIT, .use_index = HASHMAP_INIT };
        int r;

        r = model_mappings_check(s, &all, err);
        if (r < 0)
                return r;
        list = json_object_new_array();
        if (!list)
                return iommu_error_set(err, ENOMEM, "Out of memory");

        r = 0;
        for (size_t i = 0; i < s->n_units && r >= 0; i++) {
                iommu_unit *u = &s->units[i];
                walk_filter filter = WALK_FILTER_ALL;

                if (!unit_walkable(s, u))
                        continue;
                m.u = u;
                summer_unit_reset(&m);
                r = walk_unit(s->ram, u->rtaddr, u->cap, u->ecap, &filter, &ops, &m);
                if (r >= 0)
                        r = unit_result(&m, list);
                if (r < 0)
                        r = iommu_error_set(err, -r, "Failed to walk %s's translation tables: %s", u->name,
                                            strerror(-r));
        }
        free(m.trees);
        free(m.uses);
        hashmap_done(&m.tree_index);
        hashmap_done(&m.use_index);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(list);
        return 0;
}
