/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA faults from the kernel log: the record parser (decode/kmsg.h) on any
 * bytes, and iommud's reader (kmsg-faults.c) on a dev/kmsg below a sysroot
 * holding them, its faults entered into the fault log (faults.c) against a
 * snapshot fixture's units.  The fault records of the registers (FRCD)
 * are fuzz-decode's (the layout) and fuzz-snapshot's (the model's records).
 *
 * Input: the kernel log's text, records ending in newlines.  It is given
 * to the parser whole, as one record of its exact length, too.
 *
 * Checked: a parsed fault has a bus, device, function and reason that fit
 * their fields; each entry the reader makes is valid JSON naming its BDF
 * in the model's form; the fault log holds what was added, up to its size.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/json-util.h"
#include "daemon/faults.h"
#include "daemon/kmsg-faults.h"
#include "daemon/log.h"
#include "decode/kmsg.h"
#include "fuzz.h"
#include "model/system.h"

#define LOG_SIZE 8

static char sysroot[] = "/tmp/iommud-fuzz-faults-XXXXXX";
static char dev_dir[sizeof sysroot + 8], kmsg_path[sizeof sysroot + 16];
static iommu_system *sys;

static void cleanup(void) {
        (void) unlink(kmsg_path);
        (void) rmdir(dev_dir);
        (void) rmdir(sysroot);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        iommu_error err = {};

        setenv("IOMMUD_LOG_LEVEL", "crit", 1);
        log_setup();
        fuzz_check(mkdtemp(sysroot), "mkdtemp: %m");
        snprintf(dev_dir, sizeof dev_dir, "%s/dev", sysroot);
        fuzz_check(mkdir(dev_dir, 0755) == 0, "mkdir %s: %m", dev_dir);
        snprintf(kmsg_path, sizeof kmsg_path, "%s/kmsg", dev_dir);
        atexit(cleanup);
        fuzz_check(iommu_system_open_snapshot(TESTDATA "/snapshots/scalable-aw48/snapshot.iommu", &sys,
                                              &err) == 0,
                   "%s", err.message);
        /* the device list: the units of devices behind bridges are found with it */
        (void) iommu_system_devices(sys, &(json_object *){ NULL }, &err);
        return 0;
}

typedef struct seen {
        fault_log *log;
        size_t n;
} seen;

static void on_fault(void *userdata, json_object *entry) {
        seen *s = userdata;
        const char *bdf = json_get_string(entry, "bdf");
        unsigned seg, bus, dev, fn;
        char end;

        fuzz_check_json(entry);
        fuzz_check(strlen(bdf) == 12 && sscanf(bdf, "%4x:%2x:%2x.%1x%c", &seg, &bus, &dev, &fn, &end) == 4 &&
                           dev <= 0x1f && fn <= 7,
                   "fault entry with BDF '%s'", bdf);
        fuzz_check(json_get_i64(entry, "reason") >= 0 && json_get_i64(entry, "reason") <= 0xff,
                   "fault entry with reason %lld", (long long) json_get_i64(entry, "reason"));
        fault_log_add(s->log, entry);
        s->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(kmsg_reader_freep) kmsg_reader *k = NULL;
        _cleanup_(fault_log_freep) fault_log *log = NULL;
        _cleanup_json_ json_object *logged = NULL;
        _cleanup_close_ int fd = -EBADF;
        iommu_error err = {};
        kmsg_fault f;
        seen s = {};
        int r;

        r = kmsg_parse_fault((const char *) data, size, &f);
        fuzz_check(r == 0 || r == -ENOMSG || r == -EBADMSG, "kmsg_parse_fault: %d", r);
        if (r == 0)
                fuzz_check((f.devfn >> 3) <= 0x1f && f.reason <= 0xff && f.pasid >= -1,
                           "a fault of device %02x.%x, reason %u", f.devfn >> 3, f.devfn & 7, f.reason);

        fd = open(kmsg_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        fuzz_check(fd >= 0, "open %s: %m", kmsg_path);
        fuzz_check(write(fd, data, size) == (ssize_t) size, "write %s: %m", kmsg_path);
        fuzz_check(kmsg_reader_open(sysroot, &k, &err) == 0, "%s", err.message);
        fuzz_check(fault_log_new(LOG_SIZE, &log) == 0, "out of memory");
        s.log = log;

        r = kmsg_reader_poll(k, sys, UINT64_C(1700000000000000), UINT64_C(5000000000), on_fault, &s);
        fuzz_check(r >= 0 && (size_t) r == s.n, "kmsg_reader_poll: %d, %zu faults handed over", r, s.n);

        logged = fault_log_to_json(log);
        fuzz_check(logged && json_array_length(logged) == (s.n < LOG_SIZE ? s.n : LOG_SIZE),
                   "the fault log holds %zu of %zu faults", json_array_length(logged), s.n);
        fuzz_check_json(logged);
        return 0;
}
