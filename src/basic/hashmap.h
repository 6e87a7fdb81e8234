/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One hash map, from 64-bit keys to 64-bit values (a pointer fits:
 * HASHMAP_PTR): open addressing with linear probing, kept at most half
 * full, Fibonacci hashing.  A set is a map whose values go unused.
 *
 * Clearing is O(1) whatever the map held (slots carry a generation), so a
 * map cleared and refilled per table tree costs only what it holds.
 * Lookups are inline: the walker and the in-memory RAM use them per page.
 * Keys and generations are probed in slots of 16 bytes, four to a cache
 * line, and the values sit in an array beside them, read only on a hit:
 * with the value in the slot (24 bytes), bench/walk-bench's coalesced walk,
 * one image-page lookup per 512 entries, took a third longer.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hashmap_slot {
        uint64_t key;
        uint32_t gen; /* in use when equal to the map's */
} hashmap_slot;

typedef struct hashmap {
        hashmap_slot *slots; /* one allocation: the slots, then the values */
        uint64_t *values;    /* values[i] is slots[i]'s */
        unsigned bits;       /* 2^bits slots; 0 when none yet */
        size_t n;
        uint32_t gen;
} hashmap;

#define HASHMAP_INIT ((hashmap){ .gen = 1 })

static inline size_t hashmap_slot_of(uint64_t key, unsigned bits) {
        return (size_t) ((key * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - bits));
}

/* The slot holding key, or NULL. */
static inline hashmap_slot *hashmap_find(const hashmap *h, uint64_t key) {
        size_t mask;

        if (!h->slots)
                return NULL;
        mask = ((size_t) 1 << h->bits) - 1;
        for (size_t i = hashmap_slot_of(key, h->bits);; i = (i + 1) & mask) {
                hashmap_slot *s = &h->slots[i];
                if (s->gen != h->gen)
                        return NULL;
                if (s->key == key)
                        return s;
        }
}

static inline bool hashmap_contains(const hashmap *h, uint64_t key) {
        return hashmap_find(h, key) != NULL;
}

/* Whether key is there; its value in *ret (may be NULL). */
static inline bool hashmap_get(const hashmap *h, uint64_t key, uint64_t *ret) {
        const hashmap_slot *s = hashmap_find(h, key);

        if (!s)
                return false;
        if (ret)
                *ret = h->values[s - h->slots];
        return true;
}

#define HASHMAP_PTR(p) ((uint64_t) (uintptr_t) (p))
/* The pointer stored under key, or NULL. */
static inline void *hashmap_get_ptr(const hashmap *h, uint64_t key) {
        const hashmap_slot *s = hashmap_find(h, key);
        return s ? (void *) (uintptr_t) h->values[s - h->slots] : NULL;
}

/* 1: added; 0: key was there (its value left as it was); -ENOMEM. */
int hashmap_put(hashmap *h, uint64_t key, uint64_t value);
/* Set key's value, adding it if absent: 0 or -ENOMEM. */
int hashmap_replace(hashmap *h, uint64_t key, uint64_t value);
/* 1: removed (its value in *ret if not NULL); 0: absent. */
int hashmap_remove(hashmap *h, uint64_t key, uint64_t *ret);
/* Forget every key, keeping the memory; O(1). */
void hashmap_clear(hashmap *h);
/* Free the memory; the map is empty and usable again. */
void hashmap_done(hashmap *h);

static inline size_t hashmap_size(const hashmap *h) {
        return h->n;
}

/* Every key once, in no order: for (size_t i = 0; hashmap_next(h, &i, &k, &v);) */
bool hashmap_next(const hashmap *h, size_t *i, uint64_t *ret_key, uint64_t *ret_value);
