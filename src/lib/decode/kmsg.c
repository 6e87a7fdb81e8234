/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/macro.h"
#include "decode/kmsg.h"

static int parse_header(const char *r, size_t len, uint64_t *seq, uint64_t *usec, const char **msg) {
        const char *semi = memchr(r, ';', len);
        unsigned long long s, u;
        unsigned prio;
        char flags, head[66];

        if (!semi || semi - r > 64)
                return -EBADMSG;
        /* the record is no C string: sscanf() reads a copy of the header,
         * with its ';' */
        memcpy(head, r, (size_t) (semi - r) + 1);
        head[semi - r + 1] = '\0';
        /* "PRIO,SEQ,USEC,FLAGS[,more fields]" */
        if (sscanf(head, "%u,%llu,%llu,%c", &prio, &s, &u, &flags) != 4)
                return -EBADMSG;
        *seq = s;
        *usec = u;
        *msg = semi + 1;
        return 0;
}

int kmsg_parse_fault(const char *record, size_t len, kmsg_fault *ret) {
        char msg[512], kind[64];
        const char *m, *p;
        kmsg_fault f = { .pasid = -1 };
        unsigned bus, dev, fn, reason;
        unsigned long long addr;
        size_t n;
        int r;

        r = parse_header(record, len, &f.seq, &f.usec, &m);
        if (r < 0)
                return r;
        n = (size_t) (record + len - m);
        if (memchr(m, '\n', n))
                n = (size_t) ((const char *) memchr(m, '\n', n) - m);
        if (n >= sizeof msg)
                n = sizeof msg - 1;
        memcpy(msg, m, n);
        msg[n] = '\0';

        if (strncmp(msg, "DMAR: [", 7) != 0)
                return -ENOMSG;
        p = msg + 7;
        n = strcspn(p, "]");
        if (p[n] != ']' || n >= sizeof kind)
                return -ENOMSG;
        memcpy(kind, p, n);
        kind[n] = '\0';
        p += n + 1;

        if (sscanf(p, " Request device [%x:%x.%x] fault addr %llx [fault reason %x]", &bus, &dev, &fn, &addr,
                   &reason) == 5)
                f.interrupt = false;
        else if (sscanf(p, " Request device [%x:%x.%x] fault index %llx [fault reason %x]", &bus, &dev, &fn,
                        &addr, &reason) == 5)
                f.interrupt = true;
        else
                return -ENOMSG;
        if (bus > 0xff || dev > 0x1f || fn > 7 || reason > 0xff)
                return -ENOMSG;

        if (f.interrupt) {
                if (strcmp(kind, "INTR-REMAP") != 0)
                        return -ENOMSG;
        } else if (strncmp(kind, "DMA Write", 9) == 0)
                f.write = true;
        else if (strncmp(kind, "DMA Read", 8) == 0 || strncmp(kind, "DMA Execute", 11) == 0)
                f.write = false;
        else
                return -ENOMSG;

        p = strstr(kind, " PASID ");
        if (p)
                f.pasid = (int64_t) strtoull(p + 7, NULL, 16);

        f.bus = (uint8_t) bus;
        f.devfn = (uint8_t) (dev << 3 | fn);
        f.address = addr;
        f.reason = reason;
        *ret = f;
        return 0;
}
