/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/json-util.h"
#include "daemon/faults.h"

struct fault_log {
        json_object **ring;
        size_t size, head, count; /* ring[head] is the oldest */
        json_object *seen;        /* {"dmar0": [records of the last poll]} */
};

int fault_log_new(size_t size, fault_log **ret) {
        _cleanup_(fault_log_freep) fault_log *l = calloc(1, sizeof *l);

        if (!l)
                return -ENOMEM;
        l->seen = json_object_new_object();
        if (!l->seen)
                return -ENOMEM;
        if (fault_log_resize(l, size) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

fault_log *fault_log_free(fault_log *l) {
        if (!l)
                return NULL;
        (void) fault_log_clear(l);
        free(l->ring);
        json_object_put(l->seen);
        free(l);
        return NULL;
}

static json_object *nth(const fault_log *l, size_t i) {
        return l->ring[(l->head + i) % l->size];
}

int fault_log_resize(fault_log *l, size_t size) {
        json_object **ring = NULL;
        size_t keep = l->count < size ? l->count : size;

        if (size > 0) {
                ring = calloc(size, sizeof *ring);
                if (!ring)
                        return -ENOMEM;
        }
        /* the newest keep entries move; older ones go */
        for (size_t i = 0; i < l->count; i++) {
                json_object *e = nth(l, i);
                if (i >= l->count - keep)
                        ring[i - (l->count - keep)] = e;
                else
                        json_object_put(e);
        }
        free(l->ring);
        l->ring = ring;
        l->size = size;
        l->head = 0;
        l->count = keep;
        return 0;
}

static void push(fault_log *l, json_object *e) {
        if (l->size == 0) {
                json_object_put(e);
                return;
        }
        if (l->count == l->size) {
                json_object_put(l->ring[l->head]);
                l->ring[l->head] = e;
                l->head = (l->head + 1) % l->size;
        } else
                l->ring[(l->head + l->count++) % l->size] = e;
}

char *format_iso8601(char buf[static 32], uint64_t realtime_usec) {
        time_t sec = (time_t) (realtime_usec / 1000000);
        struct tm tm;
        size_t n;

        if (!gmtime_r(&sec, &tm)) {
                strcpy(buf, "1970-01-01T00:00:00.000000Z");
                return buf;
        }
        n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, 32 - n, ".%06uZ", (unsigned) (realtime_usec % 1000000));
        return buf;
}

/* The record with this index in a unit's list of the last poll. */
static json_object *find_index(json_object *records, int64_t index) {
        if (!json_object_is_type(records, json_type_array))
                return NULL; /* the first poll of this unit */
        for (size_t i = 0; i < json_object_array_length(records); i++) {
                json_object *r = json_object_array_get_idx(records, i);
                if (json_get_i64(r, "index") == index)
                        return r;
        }
        return NULL;
}

static json_object *make_entry(json_object *record, const char *unit, uint64_t realtime_usec) {
        json_object *e = json_object_new_object();
        char time[32];

        if (!e)
                return NULL;
        json_object_object_add(e, "time", json_object_new_string(format_iso8601(time, realtime_usec)));
        json_object_object_add(e, "time_usec", json_object_new_uint64(realtime_usec));
        json_object_object_add(e, "unit", json_object_new_string(unit));
        json_object_object_add(e, "source", json_object_new_string("registers"));
        json_object_object_foreach(record, key, value)
                json_object_object_add(e, key, json_object_get(value));
        return e;
}

void fault_log_forget(fault_log *l, const char *unit) {
        json_object_object_del(l->seen, unit);
}

void fault_log_add(fault_log *l, json_object *entry) {
        push(l, json_object_get(entry));
}

int fault_log_poll(fault_log *l, json_object *faults, uint64_t realtime_usec, fault_log_new_fn on_new,
                   void *userdata) {
        json_object *units = json_get(faults, "units");
        int n = 0;

        if (!json_object_is_type(units, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(units); i++) {
                json_object *u = json_object_array_get_idx(units, i);
                const char *name = json_get_string(u, "name");
                json_object *records = json_get(u, "faults"), *before = json_get(l->seen, name);

                /* a unit whose registers cannot be read now tells nothing new */
                if (!records || !json_object_is_type(records, json_type_array))
                        continue;
                for (size_t k = 0; k < json_object_array_length(records); k++) {
                        json_object *r = json_object_array_get_idx(records, k), *old, *e;

                        old = find_index(before, json_get_i64(r, "index"));
                        if (old && json_object_equal(json_get(old, "record"), json_get(r, "record")))
                                continue;
                        e = make_entry(r, name, realtime_usec);
                        if (!e)
                                return -ENOMEM;
                        n++;
                        if (on_new)
                                on_new(userdata, e);
                        push(l, e);
                }
                if (json_object_object_add(l->seen, name, json_object_get(records)) < 0)
                        return -ENOMEM;
        }
        return n;
}

json_object *fault_log_to_json(const fault_log *l) {
        json_object *a = json_object_new_array_ext((int) l->count);

        for (size_t i = 0; a && i < l->count; i++)
                json_object_array_add(a, json_object_get(nth(l, i)));
        return a;
}

size_t fault_log_clear(fault_log *l) {
        size_t n = l->count;

        for (size_t i = 0; i < l->count; i++)
                json_object_put(nth(l, i));
        l->head = l->count = 0;
        return n;
}
