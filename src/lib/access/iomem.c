/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * "System RAM" in /proc/iomem: the physical ranges a table pointer may
 * legitimately point into.  Only top-level (unindented) entries count:
 * nested ones are parts of their parent ("Kernel code" inside System RAM)
 * or RAM handed to a driver ("System RAM (kmem)" under a dax device).
 */
#include <string.h>

#include "access/access.h"
#include "basic/alloc-util.h"

/* A big server's /proc/iomem is some 100 KB; this leaves ample room. */
#define IOMEM_MAX_SIZE (4u * 1024 * 1024)

static int hexdigit(char ch) {
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

/* 1 to 16 hex digits, no prefix, no sign: what the kernel prints. */
static const char *parse_hex(const char *s, uint64_t *ret) {
        uint64_t v = 0;
        unsigned n = 0;

        for (int d; (d = hexdigit(*s)) >= 0; s++) {
                if (++n > 16)
                        return NULL;
                v = v << 4 | (uint64_t) d;
        }
        if (n == 0)
                return NULL;
        *ret = v;
        return s;
}

/* "  START-END : NAME": indentation in spaces, the range and the name. */
static bool parse_line(const char *line, unsigned *ret_indent, uint64_t *ret_start, uint64_t *ret_end,
                       const char **ret_name) {
        const char *s = line;
        uint64_t start, end;

        while (*s == ' ')
                s++;
        s = parse_hex(s, &start);
        if (!s || *s != '-')
                return false;
        s = parse_hex(s + 1, &end);
        if (!s || strncmp(s, " : ", 3) != 0 || end < start)
                return false;
        *ret_indent = (unsigned) (strspn(line, " "));
        *ret_start = start;
        *ret_end = end;
        *ret_name = s + 3;
        return true;
}

static int range_cmp(const void *a, const void *b) {
        const phys_range *x = a, *y = b;
        if (x->start != y->start)
                return x->start < y->start ? -1 : 1;
        return x->end < y->end ? -1 : x->end > y->end;
}

int iomem_system_ram(const iommu_ctx *c, phys_range **ret, size_t *ret_n, iommu_error *err) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        _cleanup_free_ phys_range *ranges = NULL;
        size_t size, n = 0, alloc = 0, out;
        bool any_line = false, any_nonzero = false;
        unsigned lineno = 0;
        char *line, *next;
        int r;

        path = iommu_ctx_path(c, "/proc/iomem");
        if (!path)
                return iommu_error_set(err, ENOMEM, "Out of memory reading /proc/iomem");
        r = iommu_ctx_read_file(c, "/proc/iomem", IOMEM_MAX_SIZE, (void **) &text, &size, err);
        if (r < 0)
                return r;
        if (memchr(text, '\0', size))
                return iommu_error_set(err, EINVAL, "%s contains a NUL byte; it is not an iomem listing",
                                       path);

        for (line = text; line && *line; line = next) {
                unsigned indent;
                uint64_t start, end;
                const char *name;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                lineno++;
                if (!parse_line(line, &indent, &start, &end, &name))
                        return iommu_error_set(err, EINVAL,
                                               "%s line %u is not \"START-END : NAME\": \"%.60s\"", path,
                                               lineno, line);
                any_line = true;
                if (start != 0 || end != 0)
                        any_nonzero = true;
                if (indent != 0 || !streq(name, "System RAM"))
                        continue;

                if (!GREEDY_REALLOC(ranges, alloc, n + 1))
                        return iommu_error_set(err, ENOMEM, "Out of memory reading %s", path);
                ranges[n++] = (phys_range){ .start = start, .end = end };
        }

        /* Without CAP_SYS_ADMIN the kernel prints every range as 0-0. */
        if (any_line && !any_nonzero)
                return iommu_error_set(
                        err, EPERM,
                        "%s shows every address as 0: reading /proc/iomem addresses needs root "
                        "(CAP_SYS_ADMIN)",
                        path);
        if (n == 0)
                return iommu_error_set(err, ENODATA, "%s lists no top-level \"System RAM\" range", path);

        qsort(ranges, n, sizeof *ranges, range_cmp);
        out = 0;
        for (size_t i = 1; i < n; i++) {
                phys_range *cur = &ranges[out];
                /* overlapping or adjacent: one range (end + 1 cannot wrap
                 * unless cur already reaches the top of the address space) */
                if (cur->end == UINT64_MAX || ranges[i].start <= cur->end + 1) {
                        if (ranges[i].end > cur->end)
                                cur->end = ranges[i].end;
                } else
                        ranges[++out] = ranges[i];
        }
        n = out + 1;

        *ret = TAKE_PTR(ranges);
        *ret_n = n;
        return 0;
}
