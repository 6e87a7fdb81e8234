/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/hashmap.h"

#define HASHMAP_MIN_BITS 4

static size_t capacity(const hashmap *h) {
        return h->slots ? (size_t) 1 << h->bits : 0;
}

static int grow(hashmap *h) {
        unsigned nbits = h->slots ? h->bits + 1 : HASHMAP_MIN_BITS;
        size_t n = (size_t) 1 << nbits, mask = n - 1;
        hashmap_slot *ns;
        uint64_t *nv;

        static_assert(sizeof(hashmap_slot) % sizeof(uint64_t) == 0, "values stay aligned after the slots");
        if (nbits >= sizeof(size_t) * 8 - 6)
                return -ENOMEM;
        ns = calloc(n, sizeof *ns + sizeof *nv);
        if (!ns)
                return -ENOMEM;
        nv = (uint64_t *) (ns + n);
        for (size_t j = 0; j < capacity(h); j++) {
                const hashmap_slot *s = &h->slots[j];
                size_t i;

                if (s->gen != h->gen)
                        continue;
                for (i = hashmap_slot_of(s->key, nbits); ns[i].gen == 1; i = (i + 1) & mask)
                        ;
                ns[i] = (hashmap_slot){ .key = s->key, .gen = 1 };
                nv[i] = h->values[j];
        }
        free(h->slots);
        h->slots = ns;
        h->values = nv;
        h->bits = nbits;
        h->gen = 1;
        return 0;
}

/* The slot of key, or the free slot where it would go (making room first):
 * one probe unless the map grows. */
static hashmap_slot *slot_for(hashmap *h, uint64_t key, bool *ret_found) {
        size_t mask, i;

        *ret_found = false;
        if (h->slots) {
                mask = ((size_t) 1 << h->bits) - 1;
                for (i = hashmap_slot_of(key, h->bits); h->slots[i].gen == h->gen; i = (i + 1) & mask)
                        if (h->slots[i].key == key) {
                                *ret_found = true;
                                return &h->slots[i];
                        }
                /* at most half full */
                if ((h->n + 1) * 2 <= capacity(h))
                        return &h->slots[i];
        }
        if (grow(h) < 0)
                return NULL;
        mask = ((size_t) 1 << h->bits) - 1;
        for (i = hashmap_slot_of(key, h->bits); h->slots[i].gen == h->gen; i = (i + 1) & mask)
                ;
        return &h->slots[i];
}

int hashmap_put(hashmap *h, uint64_t key, uint64_t value) {
        bool found;
        hashmap_slot *s = slot_for(h, key, &found);

        if (!s)
                return -ENOMEM;
        if (found)
                return 0;
        *s = (hashmap_slot){ .key = key, .gen = h->gen };
        h->values[s - h->slots] = value;
        h->n++;
        return 1;
}

int hashmap_replace(hashmap *h, uint64_t key, uint64_t value) {
        bool found;
        hashmap_slot *s = slot_for(h, key, &found);

        if (!s)
                return -ENOMEM;
        if (!found)
                h->n++;
        *s = (hashmap_slot){ .key = key, .gen = h->gen };
        h->values[s - h->slots] = value;
        return 0;
}

int hashmap_remove(hashmap *h, uint64_t key, uint64_t *ret) {
        hashmap_slot *s = hashmap_find(h, key);
        size_t mask, hole, i;

        if (!s)
                return 0;
        if (ret)
                *ret = h->values[s - h->slots];
        /* backward-shift deletion: move up every later key of the run that
         * may no longer be reached past the hole */
        mask = ((size_t) 1 << h->bits) - 1;
        hole = (size_t) (s - h->slots);
        for (i = (hole + 1) & mask; h->slots[i].gen == h->gen; i = (i + 1) & mask) {
                size_t home = hashmap_slot_of(h->slots[i].key, h->bits);
                /* i's key stays if its home lies cyclically in (hole, i] */
                if (hole <= i ? (home > hole && home <= i) : (home > hole || home <= i))
                        continue;
                h->slots[hole] = h->slots[i];
                h->values[hole] = h->values[i];
                hole = i;
        }
        h->slots[hole].gen = 0;
        h->n--;
        return 1;
}

void hashmap_clear(hashmap *h) {
        h->n = 0;
        if (++h->gen == 0) {
                /* once in 2^32 clears: really clear */
                if (h->slots)
                        memset(h->slots, 0, capacity(h) * sizeof *h->slots);
                h->gen = 1;
        }
}

void hashmap_done(hashmap *h) {
        free(h->slots);
        *h = HASHMAP_INIT;
}

bool hashmap_next(const hashmap *h, size_t *i, uint64_t *ret_key, uint64_t *ret_value) {
        for (; *i < capacity(h); (*i)++) {
                const hashmap_slot *s = &h->slots[*i];
                if (s->gen != h->gen)
                        continue;
                if (ret_key)
                        *ret_key = s->key;
                if (ret_value)
                        *ret_value = h->values[*i];
                (*i)++;
                return true;
        }
        return false;
}
