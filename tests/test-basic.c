/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The helpers of src/basic: the growing array, the hash map against a
 * plain model of it, the intrusive list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/alloc-util.h"
#include "basic/hashmap.h"
#include "basic/list.h"
#include "check-main.h"

START_TEST(greedy_realloc_grows) {
        uint32_t *v = NULL;
        size_t alloc = 0, n = 0;

        size_t wrong = 0;
        for (uint32_t i = 0; i < 100000; i++) {
                size_t before = alloc;
                if (!GREEDY_REALLOC(v, alloc, n + 1))
                        break;
                wrong += alloc < n + 1;
                /* amortized: a growth at least doubles */
                wrong += alloc != before && before > 0 && alloc < 2 * before;
                v[n++] = i;
        }
        ck_assert_uint_eq(n, 100000);
        for (uint32_t i = 0; i < 100000; i++)
                wrong += v[i] != i;
        ck_assert_uint_eq(wrong, 0);
        /* enough room already: nothing moves */
        uint32_t *same = v;
        ck_assert_ptr_eq(GREEDY_REALLOC(v, alloc, 10), same);
        free(v);

        /* a minimum for buffers */
        char *buf = NULL;
        size_t balloc = 0;
        ck_assert_ptr_nonnull(GREEDY_REALLOC_MIN(buf, balloc, 1, 65536));
        ck_assert_uint_eq(balloc, 65536);
        free(buf);

        /* overflow: NULL, nothing changed */
        uint64_t *big = NULL;
        size_t ballocs = 0;
        ck_assert_ptr_null(GREEDY_REALLOC(big, ballocs, SIZE_MAX / 4));
        ck_assert_ptr_null(big);
        ck_assert_uint_eq(ballocs, 0);
}
END_TEST

/* Distinct page-aligned keys, as the users' are (an odd multiplier is a
 * bijection modulo 2^40). */
static uint64_t key_of(size_t i) {
        return (((uint64_t) i * UINT64_C(0x9e3779b97f4a7c15)) & ((UINT64_C(1) << 40) - 1)) << 12;
}

START_TEST(hashmap_against_model) {
        enum { N = 20000 };
        uint64_t *keys = calloc(N, sizeof *keys);
        bool *present = calloc(N, sizeof *present);
        hashmap h = HASHMAP_INIT;
        uint64_t state = 11, v;
        size_t n = 0;

        ck_assert_ptr_nonnull(keys);
        for (size_t i = 0; i < N; i++)
                keys[i] = key_of(i);
        /* random puts and removes, checked against the model each time
         * (counted here: Check reports every assertion through a pipe) */
        size_t wrong = 0;
        for (size_t round = 0; round < 200000; round++) {
                state = state * 6364136223846793005ULL + 1;
                size_t i = (state >> 33) % N;
                if ((state >> 20) % 3 == 0) {
                        int r = hashmap_remove(&h, keys[i], &v);
                        wrong += r != (present[i] ? 1 : 0) || (r && v != (keys[i] ^ 0x55));
                        n -= present[i];
                        present[i] = false;
                } else {
                        int r = hashmap_put(&h, keys[i], keys[i] ^ 0x55);
                        wrong += r != (present[i] ? 0 : 1);
                        n += !present[i];
                        present[i] = true;
                }
                wrong += hashmap_size(&h) != n;
                if (round % 1000 == 0)
                        for (size_t j = 0; j < N; j++)
                                wrong += hashmap_get(&h, keys[j], &v) != present[j] ||
                                         (present[j] && v != (keys[j] ^ 0x55));
        }
        ck_assert_uint_eq(wrong, 0);
        /* iteration sees every key once */
        size_t seen = 0;
        uint64_t k;
        for (size_t i = 0; hashmap_next(&h, &i, &k, &v);) {
                ck_assert_uint_eq(v, k ^ 0x55);
                seen++;
        }
        ck_assert_uint_eq(seen, n);

        /* replace sets the value */
        ck_assert_int_eq(hashmap_replace(&h, 4096, 1), 0);
        ck_assert_int_eq(hashmap_replace(&h, 4096, 2), 0);
        ck_assert(hashmap_get(&h, 4096, &v));
        ck_assert_uint_eq(v, 2);

        /* clear is O(1) and complete; the map is usable afterwards */
        hashmap_clear(&h);
        ck_assert_uint_eq(hashmap_size(&h), 0);
        for (size_t i = 0; i < N; i++)
                wrong += hashmap_contains(&h, keys[i]);
        ck_assert_uint_eq(wrong, 0);
        ck_assert_int_eq(hashmap_put(&h, keys[0], 9), 1);
        ck_assert_ptr_eq(hashmap_get_ptr(&h, keys[0]), (void *) 9);
        hashmap_done(&h);
        ck_assert(!hashmap_contains(&h, keys[0]));
        free(keys);
        free(present);
}
END_TEST

START_TEST(hashmap_clear_wraps) {
        hashmap h = HASHMAP_INIT;

        ck_assert_int_eq(hashmap_put(&h, 1, 1), 1);
        /* the generation wrapping round still clears */
        h.gen = UINT32_MAX;
        h.slots[hashmap_slot_of(1, h.bits)].gen = UINT32_MAX;
        ck_assert(hashmap_contains(&h, 1));
        hashmap_clear(&h);
        ck_assert(!hashmap_contains(&h, 1));
        ck_assert_int_eq(hashmap_put(&h, 1, 2), 1);
        ck_assert(hashmap_contains(&h, 1));
        hashmap_done(&h);

        /* a zeroed map (calloc'd in a struct) works like HASHMAP_INIT */
        hashmap z;
        memset(&z, 0, sizeof z);
        ck_assert(!hashmap_contains(&z, 0));
        ck_assert_int_eq(hashmap_put(&z, 0, 3), 1);
        ck_assert(hashmap_contains(&z, 0));
        hashmap_clear(&z);
        ck_assert(!hashmap_contains(&z, 0));
        hashmap_done(&z);
}
END_TEST

typedef struct item {
        int v;
        LIST_FIELDS(struct item, items);
} item;

START_TEST(list_prepend_remove) {
        item it[5];
        item *head = NULL;
        int sum, count;

        for (int i = 0; i < 5; i++) {
                it[i] = (item){ .v = i };
                LIST_PREPEND(items, head, &it[i]);
        }
        ck_assert_ptr_eq(head, &it[4]);
        /* remove the head, a middle one, the tail, while walking */
        LIST_FOREACH_SAFE(items, i, n, head)
        if (i->v == 4 || i->v == 2 || i->v == 0)
                LIST_REMOVE(items, head, i);
        sum = count = 0;
        LIST_FOREACH(items, i, head) {
                sum += i->v;
                count++;
        }
        ck_assert_int_eq(count, 2);
        ck_assert_int_eq(sum, 1 + 3);
        ck_assert_ptr_eq(head, &it[3]);
        ck_assert_ptr_null(it[1].items_next);
        ck_assert_ptr_eq(it[1].items_prev, &it[3]);
        LIST_REMOVE(items, head, &it[3]);
        LIST_REMOVE(items, head, &it[1]);
        ck_assert_ptr_null(head);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("basic");
        TCase *tc = tcase_create("basic");

        tcase_add_test(tc, greedy_realloc_grows);
        tcase_add_test(tc, hashmap_against_model);
        tcase_add_test(tc, hashmap_clear_wraps);
        tcase_add_test(tc, list_prepend_remove);
        suite_add_tcase(s, tc);
        return s;
}
