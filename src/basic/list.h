/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Intrusive doubly linked lists, written once (systemd's list.h): an item
 * has LIST_FIELDS(type, name) (name_next, name_prev); the head is a plain
 * pointer to the first item, NULL when empty.  Removing is O(1) and safe
 * while walking with LIST_FOREACH_SAFE.
 */

#define LIST_FIELDS(t, name) t *name##_next, *name##_prev

#define LIST_PREPEND(name, head, item)                              \
        do {                                                        \
                typeof(*(head)) **_head = &(head), *_item = (item); \
                _item->name##_prev = NULL;                          \
                if ((_item->name##_next = *_head))                  \
                        _item->name##_next->name##_prev = _item;    \
                *_head = _item;                                     \
        } while (0)

#define LIST_REMOVE(name, head, item)                                         \
        do {                                                                  \
                typeof(*(head)) **_head = &(head), *_item = (item);           \
                if (_item->name##_next)                                       \
                        _item->name##_next->name##_prev = _item->name##_prev; \
                if (_item->name##_prev)                                       \
                        _item->name##_prev->name##_next = _item->name##_next; \
                else                                                          \
                        *_head = _item->name##_next;                          \
                _item->name##_next = _item->name##_prev = NULL;               \
        } while (0)

#define LIST_FOREACH(name, i, head) for (typeof(*(head)) *i = (head); i; i = i->name##_next)

/* i may be removed (and freed) in the body. */
#define LIST_FOREACH_SAFE(name, i, n, head)                                  \
        for (typeof(*(head)) *i = (head), *n = i ? i->name##_next : NULL; i; \
             i = n, n = i ? i->name##_next : NULL)
