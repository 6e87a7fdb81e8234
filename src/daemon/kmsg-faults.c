/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "daemon/faults.h"
#include "daemon/kmsg-faults.h"
#include "decode/kmsg.h"
#include "decode/regs.h"
#include "model/devices.h"

/* /dev/kmsg hands out one record per read(), at most about 8 KiB; a plain
 * file (a fixture tree's dev/kmsg) is read in chunks and split at records. */
#define KMSG_BUF 16384

struct kmsg_reader {
        int fd;
        char buf[KMSG_BUF];
        size_t len;
};

int kmsg_reader_open(const char *sysroot, kmsg_reader **ret, iommu_error *err) {
        _cleanup_free_ char *path = NULL;
        kmsg_reader *k;

        if (asprintf(&path, "%s/dev/kmsg", sysroot ? sysroot : "") < 0)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        k = calloc(1, sizeof *k);
        if (!k)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        k->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (k->fd < 0) {
                int e = errno;
                free(k);
                return iommu_error_set(
                        err, e, "Failed to open %s: %s; DMA faults the kernel handles will not be logged",
                        path, strerror(e));
        }
        *ret = k;
        return 0;
}

kmsg_reader *kmsg_reader_free(kmsg_reader *k) {
        if (!k)
                return NULL;
        safe_close(k->fd);
        free(k);
        return NULL;
}

static json_object *fault_entry(iommu_system *s, const kmsg_fault *f, uint64_t realtime_usec) {
        json_object *e = json_object_new_object();
        char bdf[BDF_STRING_MAX], when[32];
        const char *reason = f->interrupt ? NULL : fault_reason_to_string(f->reason);
        /* the kernel names no segment: the unit covering the device on segment 0 */
        iommu_unit *u = iommu_system_unit_of(s, 0, f->bus, f->devfn);

        if (!e)
                return NULL;
        json_object_object_add(e, "time", json_object_new_string(format_iso8601(when, realtime_usec)));
        json_object_object_add(e, "time_usec", json_object_new_uint64(realtime_usec));
        json_object_object_add(e, "unit", u ? json_object_new_string(u->name) : NULL);
        json_object_object_add(e, "source", json_object_new_string("kernel-log"));
        json_object_object_add(e, "index", NULL);
        json_object_object_add(e, "bdf", json_object_new_string(bdf_format(bdf, 0, f->bus, f->devfn)));
        json_object_object_add(e, "reason", json_object_new_int((int) f->reason));
        json_object_object_add(e, "reason_text", reason ? json_object_new_string(reason) : NULL);
        json_object_object_add(e, "address", json_object_new_uint64(f->address));
        json_object_object_add(e, "write", json_object_new_boolean(f->write));
        json_object_object_add(e, "pasid", f->pasid >= 0 ? json_object_new_int64(f->pasid) : NULL);
        json_object_object_add(e, "record", NULL);
        return e;
}

static int handle_record(kmsg_reader *k, iommu_system *s, const char *rec, size_t len,
                         uint64_t realtime_usec, uint64_t monotonic_usec, kmsg_fault_fn on_fault,
                         void *userdata) {
        _cleanup_json_ json_object *e = NULL;
        kmsg_fault f;
        uint64_t when;

        if (kmsg_parse_fault(rec, len, &f) < 0)
                return 0;
        /* the record's clock is the kernel's monotonic one */
        when = f.usec <= monotonic_usec ? realtime_usec - (monotonic_usec - f.usec) : realtime_usec;
        e = fault_entry(s, &f, when);
        if (!e)
                return -ENOMEM;
        on_fault(userdata, e);
        return 1;
}

int kmsg_reader_poll(kmsg_reader *k, iommu_system *s, uint64_t realtime_usec, uint64_t monotonic_usec,
                     kmsg_fault_fn on_fault, void *userdata) {
        int n = 0;

        /* bounded: a flood of log lines is read over several polls */
        for (unsigned round = 0; round < 4096; round++) {
                ssize_t got = read(k->fd, k->buf + k->len, sizeof k->buf - k->len);
                size_t start = 0;

                if (got < 0) {
                        if (errno == EPIPE) /* records overwritten before we read them: go on */
                                continue;
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        return -errno;
                }
                if (got == 0)
                        break; /* a plain file at its end */
                k->len += (size_t) got;

                /* records end at a newline not followed by a continuation line (" KEY=VALUE") */
                for (size_t i = 0; i < k->len; i++) {
                        int r;
                        if (k->buf[i] != '\n' || (i + 1 < k->len && k->buf[i + 1] == ' '))
                                continue;
                        r = handle_record(k, s, k->buf + start, i + 1 - start, realtime_usec, monotonic_usec,
                                          on_fault, userdata);
                        if (r < 0)
                                return r;
                        n += r;
                        start = i + 1;
                }
                memmove(k->buf, k->buf + start, k->len - start);
                k->len -= start;
                if (k->len == sizeof k->buf)
                        k->len = 0; /* one record larger than the buffer: drop it */
        }
        return n;
}
