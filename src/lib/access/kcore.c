/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RAM through /proc/kcore.  The kernel presents memory as an ELF core file;
 * its PT_LOAD segments for the direct map carry their physical address in
 * p_paddr (vmalloc, modules, vmemmap have p_paddr = -1 and are skipped; the
 * kernel-text segment has one but lies inside a RAM segment).  A physical
 * address is read at p_offset + (paddr - p_paddr) of the segment holding it.
 * Reads are bounded to the System RAM of /proc/iomem that the segments
 * cover: a table pointer into MMIO or a hole is never followed.
 *
 * Everything in the headers is checked before use (the file under a
 * sysroot may be anything): class, byte order, type, machine, header
 * sizes and counts, and each segment's extent.
 */
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "access/access.h"

/* A kcore has one segment per RAM range plus a handful for vmalloc, text,
 * modules and vmemmap (per node); more than this is a corrupt header, and
 * the bound keeps the allocation for them under 1 MiB. */
#define KCORE_MAX_PHNUM 16384

typedef struct kcore_segment {
        uint64_t start, end; /* physical, end inclusive */
        uint64_t offset;     /* file offset of start */
} kcore_segment;

typedef struct kcore_ram {
        iommu_ram ram; /* first: the public struct */
        int fd;
        char *path;
        kcore_segment *segs; /* sorted, non-overlapping */
        size_t n_segs;
} kcore_ram;

/* pread until len bytes or end of file: the count read, or -errno. */
static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t offset) {
        size_t done = 0;

        while (done < len) {
                ssize_t n = pread(fd, (uint8_t *) buf + done, len - done, (off_t) (offset + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

static const kcore_segment *find_segment(const kcore_ram *k, uint64_t paddr) {
        size_t lo = 0, hi = k->n_segs;

        /* the last segment starting at or below paddr */
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (k->segs[mid].start <= paddr)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == 0 || paddr > k->segs[lo - 1].end)
                return NULL;
        return &k->segs[lo - 1];
}

static int kcore_read(iommu_ram *ram, uint64_t paddr, void *buf, size_t len, iommu_error *err) {
        kcore_ram *k = (kcore_ram *) ram;
        uint8_t *p = buf;

        /* A read that spans segments is split at their boundaries. */
        while (len > 0) {
                const kcore_segment *s = find_segment(k, paddr);
                uint64_t off;
                size_t chunk;
                ssize_t n;

                if (!s)
                        return iommu_error_set(err, ERANGE,
                                               "Physical address 0x%" PRIx64 " is in no segment of %s",
                                               paddr, k->path);
                chunk = s->end - paddr >= len - 1 ? len : (size_t) (s->end - paddr + 1);
                off = s->offset + (paddr - s->start);
                n = pread_full(k->fd, p, chunk, off);
                if (n < 0)
                        return iommu_error_set(err, (int) -n,
                                               "Failed to read %zu bytes at physical 0x%" PRIx64
                                               " from %s: %s",
                                               chunk, paddr, k->path, strerror((int) -n));
                if ((size_t) n < chunk)
                        return iommu_error_set(err, EIO,
                                               "Short read from %s: %zd of %zu bytes at physical 0x%" PRIx64
                                               " (file offset 0x%" PRIx64 ")",
                                               k->path, n, chunk, paddr, off);
                p += chunk;
                paddr += chunk;
                len -= chunk;
        }
        return 0;
}

static void kcore_free(iommu_ram *ram) {
        kcore_ram *k = (kcore_ram *) ram;

        (void) safe_close(k->fd);
        free(k->segs);
        free(k->path);
        free(k->ram.ranges);
        free(k);
}

static void kcore_freep(kcore_ram **k) {
        if (*k)
                kcore_free(&(*k)->ram);
}

static const iommu_ram_ops kcore_ops = {
        .name = "kcore",
        .read = kcore_read,
        .peek = NULL,
        .free = kcore_free,
};

static int open_error(const iommu_ctx *c, const char *path, int error, iommu_error *err) {
        const char *lockdown;

        switch (error) {
        case EACCES:
        case EPERM:
                /* /proc/kcore is a confidentiality reason (LOCKDOWN_KCORE):
                 * lockdown=integrity leaves it readable, so only the
                 * confidentiality mode is the cause here. */
                lockdown = iommu_lockdown_mode(c);
                if (lockdown && streq(lockdown, "confidentiality"))
                        return iommu_error_set(
                                err, error,
                                "%s is refused under kernel lockdown (confidentiality mode, see "
                                "/sys/kernel/security/lockdown): reading RAM needs a kernel "
                                "booted without lockdown=confidentiality",
                                path);
                return iommu_error_set(err, error,
                                       "Failed to open %s: %s; reading RAM through /proc/kcore needs root "
                                       "(CAP_SYS_RAWIO)",
                                       path, strerror(error));
        case ENOENT:
                return iommu_error_set(
                        err, error,
                        "%s does not exist: the kernel is built without CONFIG_PROC_KCORE, so "
                        "translation tables in RAM cannot be read",
                        path);
        default:
                return iommu_error_set(err, error, "Failed to open %s: %s", path, strerror(error));
        }
}

static int check_ehdr(const Elf64_Ehdr *eh, const char *path, iommu_error *err) {
        if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
                return iommu_error_set(err, EINVAL, "%s is not an ELF file (no \\177ELF magic)", path);
        if (eh->e_ident[EI_CLASS] != ELFCLASS64)
                return iommu_error_set(err, EINVAL, "%s is not a 64-bit ELF file (class %u)", path,
                                       eh->e_ident[EI_CLASS]);
        if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
                return iommu_error_set(err, EINVAL, "%s is not a little-endian ELF file (data encoding %u)",
                                       path, eh->e_ident[EI_DATA]);
        if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
                return iommu_error_set(err, EINVAL, "%s has unknown ELF version %u", path, eh->e_version);
        if (eh->e_type != ET_CORE)
                return iommu_error_set(err, EINVAL, "%s is not an ELF core file (type %u)", path,
                                       eh->e_type);
#if defined(__x86_64__)
        /* VT-d is x86: the running kernel's kcore is x86-64 (elsewhere, for
         * offline tests, any machine is accepted). */
        if (eh->e_machine != EM_X86_64)
                return iommu_error_set(err, EINVAL, "%s is not an x86-64 core file (machine %u)", path,
                                       eh->e_machine);
#endif
        if (eh->e_phentsize != sizeof(Elf64_Phdr))
                return iommu_error_set(err, EINVAL, "%s has program headers of %u bytes, not %zu", path,
                                       eh->e_phentsize, sizeof(Elf64_Phdr));
        if (eh->e_phnum == 0 || eh->e_phnum > KCORE_MAX_PHNUM)
                return iommu_error_set(err, EINVAL, "%s has %u program headers (expected 1 to %u)", path,
                                       eh->e_phnum, KCORE_MAX_PHNUM);
        if (eh->e_phoff < sizeof(Elf64_Ehdr) || eh->e_phoff > (uint64_t) INT64_MAX / 2)
                return iommu_error_set(err, EINVAL,
                                       "%s has its program headers at an impossible offset 0x%" PRIx64, path,
                                       (uint64_t) eh->e_phoff);
        return 0;
}

static int segment_cmp(const void *a, const void *b) {
        const kcore_segment *x = a, *y = b;
        if (x->start != y->start)
                return x->start < y->start ? -1 : 1;
        /* the larger one first, so contained ones are dropped */
        return x->end > y->end ? -1 : x->end < y->end;
}

/* The PT_LOAD segments with a physical address, sorted, overlaps removed. */
static int load_segments(kcore_ram *k, const Elf64_Phdr *ph, size_t n, iommu_error *err) {
        _cleanup_free_ kcore_segment *segs = NULL;
        size_t m = 0, out = 0;

        segs = calloc(n, sizeof *segs);
        if (!segs)
                return iommu_error_set(err, ENOMEM, "Out of memory reading %s", k->path);

        for (size_t i = 0; i < n; i++) {
                const Elf64_Phdr *p = &ph[i];

                if (p->p_type != PT_LOAD || p->p_paddr == UINT64_MAX || p->p_filesz == 0)
                        continue;
                if (p->p_paddr + (p->p_filesz - 1) < p->p_paddr)
                        return iommu_error_set(err, EINVAL,
                                               "%s program header %zu is invalid: physical 0x%" PRIx64
                                               " + 0x%" PRIx64 " bytes wraps around",
                                               k->path, i, (uint64_t) p->p_paddr, (uint64_t) p->p_filesz);
                if (p->p_offset > (uint64_t) INT64_MAX || p->p_filesz > (uint64_t) INT64_MAX - p->p_offset)
                        return iommu_error_set(err, EINVAL,
                                               "%s program header %zu is invalid: file offset 0x%" PRIx64
                                               " + 0x%" PRIx64 " bytes is beyond any file",
                                               k->path, i, (uint64_t) p->p_offset, (uint64_t) p->p_filesz);
                segs[m++] = (kcore_segment){
                        .start = p->p_paddr,
                        .end = p->p_paddr + (p->p_filesz - 1),
                        .offset = p->p_offset,
                };
        }
        if (m == 0)
                return iommu_error_set(err, ENODATA, "%s has no PT_LOAD segment with a physical address",
                                       k->path);

        qsort(segs, m, sizeof *segs, segment_cmp);
        for (size_t i = 1; i < m; i++) {
                kcore_segment *cur = &segs[out], s = segs[i];
                if (s.end <= cur->end)
                        continue; /* contained (the kernel-text segment) */
                if (s.start <= cur->end) {
                        /* partly overlapping: keep only the part beyond cur */
                        s.offset += cur->end + 1 - s.start;
                        s.start = cur->end + 1;
                }
                segs[++out] = s;
        }
        k->segs = TAKE_PTR(segs);
        k->n_segs = out + 1;
        return 0;
}

/* RAM = System RAM (sorted, merged) intersected with the segments, merged
 * where adjacent. */
static int intersect_ranges(kcore_ram *k, const phys_range *ram, size_t n_ram, iommu_error *err) {
        _cleanup_free_ phys_range *out = NULL;
        size_t i = 0, j = 0, n = 0;

        out = calloc(n_ram + k->n_segs, sizeof *out);
        if (!out)
                return iommu_error_set(err, ENOMEM, "Out of memory reading %s", k->path);
        while (i < n_ram && j < k->n_segs) {
                uint64_t lo = ram[i].start > k->segs[j].start ? ram[i].start : k->segs[j].start;
                uint64_t hi = ram[i].end < k->segs[j].end ? ram[i].end : k->segs[j].end;

                if (lo <= hi) {
                        if (n > 0 && out[n - 1].end != UINT64_MAX && out[n - 1].end + 1 == lo)
                                out[n - 1].end = hi;
                        else
                                out[n++] = (phys_range){ .start = lo, .end = hi };
                }
                if (ram[i].end < k->segs[j].end)
                        i++;
                else
                        j++;
        }
        if (n == 0)
                return iommu_error_set(err, ENODATA, "No System RAM range of /proc/iomem is covered by %s",
                                       k->path);
        k->ram.ranges = TAKE_PTR(out);
        k->ram.n_ranges = n;
        return 0;
}

int iommu_ram_open_kcore(const iommu_ctx *c, iommu_ram **ret, iommu_error *err) {
        _cleanup_(kcore_freep) kcore_ram *k = NULL;
        _cleanup_free_ Elf64_Phdr *ph = NULL;
        _cleanup_free_ phys_range *sysram = NULL;
        size_t n_sysram, phsize;
        Elf64_Ehdr eh;
        ssize_t n;
        int r;

        k = calloc(1, sizeof *k);
        if (!k)
                return iommu_error_set(err, ENOMEM, "Out of memory opening /proc/kcore");
        k->ram.ops = &kcore_ops;
        k->fd = -EBADF;

        k->path = iommu_ctx_path(c, "/proc/kcore");
        if (!k->path)
                return iommu_error_set(err, ENOMEM, "Out of memory opening /proc/kcore");
        r = iommu_ctx_open(c, "/proc/kcore", O_RDONLY | O_NOCTTY, NULL);
        if (r < 0)
                return open_error(c, k->path, -r, err);
        k->fd = r;

        n = pread_full(k->fd, &eh, sizeof eh, 0);
        if (n < 0)
                return iommu_error_set(err, (int) -n, "Failed to read %s: %s", k->path, strerror((int) -n));
        if ((size_t) n < sizeof eh)
                return iommu_error_set(err, EINVAL,
                                       "%s is truncated: %zd bytes, shorter than an ELF header (%zu)",
                                       k->path, n, sizeof eh);
        r = check_ehdr(&eh, k->path, err);
        if (r < 0)
                return r;

        phsize = (size_t) eh.e_phnum * sizeof(Elf64_Phdr);
        ph = malloc(phsize);
        if (!ph)
                return iommu_error_set(err, ENOMEM, "Out of memory reading %s", k->path);
        n = pread_full(k->fd, ph, phsize, eh.e_phoff);
        if (n < 0)
                return iommu_error_set(err, (int) -n, "Failed to read the program headers of %s: %s",
                                       k->path, strerror((int) -n));
        if ((size_t) n < phsize)
                return iommu_error_set(err, EINVAL,
                                       "%s is truncated: its %u program headers end at byte %" PRIu64
                                       ", the file ends at %" PRIu64,
                                       k->path, eh.e_phnum, (uint64_t) eh.e_phoff + phsize,
                                       (uint64_t) eh.e_phoff + (uint64_t) n);
        r = load_segments(k, ph, eh.e_phnum, err);
        if (r < 0)
                return r;

        r = iomem_system_ram(c, &sysram, &n_sysram, err);
        if (r < 0)
                return r;
        r = intersect_ranges(k, sysram, n_sysram, err);
        if (r < 0)
                return r;

        *ret = &TAKE_PTR(k)->ram;
        return 0;
}
