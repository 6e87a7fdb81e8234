/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A remapping unit's registers through /dev/mem: one shared mapping of the
 * page-aligned window, read with volatile loads exactly as wide as asked.
 * Never a wider access than the register's: QEMU's model stops the VM on a
 * 64-bit access to a 32-bit register, and real hardware may split or refuse
 * it.
 *
 * Writes (volatile stores, same rules) exist only for the future control
 * layer, which writes to units iommud owns (the kernel's driver is not on
 * them); they need iommu_regs_open_devmem_writable().  Everything that
 * observes a unit opens it read-only, so a stray store faults instead of
 * reaching the hardware.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "access/access.h"

typedef struct devmem_regs {
        iommu_regs r; /* first: the public struct */
        void *map;
        size_t map_len;
        size_t delta; /* base - the page-aligned start of the mapping */
        bool writable;
} devmem_regs;

static volatile uint8_t *reg_ptr(devmem_regs *d, uint32_t offset) {
        return (volatile uint8_t *) d->map + d->delta + offset;
}

static int devmem_read(iommu_regs *r, uint32_t offset, unsigned width, uint64_t *ret, iommu_error *err) {
        devmem_regs *d = (devmem_regs *) r;
        int k;

        k = iommu_regs_check(r, offset, width, err);
        if (k < 0)
                return k;
        if (width == 32)
                *ret = *(volatile uint32_t *) reg_ptr(d, offset);
        else
                *ret = *(volatile uint64_t *) reg_ptr(d, offset);
        return 0;
}

static int devmem_write(iommu_regs *r, uint32_t offset, unsigned width, uint64_t value, iommu_error *err) {
        devmem_regs *d = (devmem_regs *) r;
        int k;

        if (!d->writable)
                return iommu_error_set(err, EBADF,
                                       "The register window at 0x%" PRIx64 " is mapped read-only", r->base);
        k = iommu_regs_check(r, offset, width, err);
        if (k < 0)
                return k;
        if (width == 32)
                *(volatile uint32_t *) reg_ptr(d, offset) = (uint32_t) value;
        else
                *(volatile uint64_t *) reg_ptr(d, offset) = value;
        return 0;
}

static void devmem_free(iommu_regs *r) {
        devmem_regs *d = (devmem_regs *) r;
        if (d->map)
                (void) munmap(d->map, d->map_len);
        free(d);
}

static const iommu_regs_ops devmem_ops = {
        .name = "devmem",
        .read = devmem_read,
        .write = devmem_write,
        .free = devmem_free,
};

/* "integrity" or "confidentiality" when the kernel is locked down, else NULL
 * (also when securityfs is not there to say). */
const char *iommu_lockdown_mode(const iommu_ctx *c) {
        _cleanup_free_ char *text = NULL;
        size_t size;

        if (iommu_ctx_read_file(c, "/sys/kernel/security/lockdown", 4096, (void **) &text, &size, NULL) < 0)
                return NULL;
        if (strstr(text, "[integrity]"))
                return "integrity";
        if (strstr(text, "[confidentiality]"))
                return "confidentiality";
        return NULL;
}

static int open_error(const iommu_ctx *c, const char *path, int error, iommu_error *err) {
        const char *lockdown;

        switch (error) {
        case EACCES:
        case EPERM:
                /* Lockdown refuses /dev/mem in both modes (LOCKDOWN_DEV_MEM
                 * is an integrity reason). */
                lockdown = iommu_lockdown_mode(c);
                if (lockdown)
                        return iommu_error_set(err, error,
                                               "%s is refused under kernel lockdown (%s mode, see "
                                               "/sys/kernel/security/lockdown): reading registers needs a "
                                               "kernel booted without lockdown",
                                               path, lockdown);
                return iommu_error_set(
                        err, error,
                        "Failed to open %s: %s; reading registers through /dev/mem needs root "
                        "(CAP_SYS_RAWIO)",
                        path, strerror(error));
        case ENOENT:
                return iommu_error_set(
                        err, error,
                        "%s does not exist: the kernel is built without CONFIG_DEVMEM, or /dev is "
                        "not devtmpfs",
                        path);
        default:
                return iommu_error_set(err, error, "Failed to open %s: %s", path, strerror(error));
        }
}

static bool overlaps_ram(const iommu_ctx *c, uint64_t base, uint64_t size) {
        _cleanup_free_ phys_range *ram = NULL;
        size_t n;

        if (iomem_system_ram(c, &ram, &n, NULL) < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (ram[i].start <= base + size - 1 && base <= ram[i].end)
                        return true;
        return false;
}

static int map_error(const iommu_ctx *c, const char *path, uint64_t base, uint64_t size, int error,
                     iommu_error *err) {
        uint64_t last = base + size - 1;

        switch (error) {
        case EPERM:
        case EACCES:
                /* CONFIG_STRICT_DEVMEM never maps RAM; CONFIG_IO_STRICT_DEVMEM
                 * does not map what a driver claimed (request_mem_region:
                 * "dmar0" in /proc/iomem) unless booted with iomem=relaxed. */
                if (overlaps_ram(c, base, size))
                        return iommu_error_set(err, error,
                                               "Failed to map 0x%" PRIx64 "-0x%" PRIx64
                                               " from %s: %s; the range is System RAM, which /dev/mem "
                                               "never maps (CONFIG_STRICT_DEVMEM), not a register set",
                                               base, last, path, strerror(error));
                return iommu_error_set(err, error,
                                       "Failed to map 0x%" PRIx64 "-0x%" PRIx64
                                       " from %s: %s; the kernel (CONFIG_IO_STRICT_DEVMEM) refuses /dev/mem "
                                       "access to a range a driver holds: boot with iomem=relaxed",
                                       base, last, path, strerror(error));
        case EINVAL:
                return iommu_error_set(err, error,
                                       "Failed to map 0x%" PRIx64 "-0x%" PRIx64
                                       " from %s: %s; the kernel does not map this physical range through "
                                       "/dev/mem (beyond the CPU's physical address width)",
                                       base, last, path, strerror(error));
        default:
                return iommu_error_set(err, error, "Failed to map 0x%" PRIx64 "-0x%" PRIx64 " from %s: %s",
                                       base, last, path, strerror(error));
        }
}

static int open_devmem(const iommu_ctx *c, uint64_t base, uint64_t size, bool writable, iommu_regs **ret,
                       iommu_error *err) {
        _cleanup_free_ devmem_regs *d = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        long pagesize = sysconf(_SC_PAGESIZE);
        uint64_t page = pagesize > 0 ? (uint64_t) pagesize : 4096, start, end;
        struct stat st;
        void *map;

        path = iommu_ctx_path(c, "/dev/mem");
        if (!path)
                return iommu_error_set(err, ENOMEM, "Out of memory opening /dev/mem");
        if (size == 0 || size > UINT32_MAX || base + size < base)
                return iommu_error_set(err, EINVAL,
                                       "Register window 0x%" PRIx64 " + 0x%" PRIx64 " is not valid", base,
                                       size);
        start = base & ~(page - 1);
        if (base + size > UINT64_MAX - page || base + size + page - 1 > (uint64_t) INT64_MAX)
                return iommu_error_set(err, EINVAL,
                                       "Register window 0x%" PRIx64 " + 0x%" PRIx64
                                       " is beyond what /dev/mem can map",
                                       base, size);
        end = (base + size + page - 1) & ~(page - 1);

        /* O_SYNC: uncached, whatever the kernel would pick for the range. */
        fd = iommu_ctx_open(c, "/dev/mem", (writable ? O_RDWR : O_RDONLY) | O_SYNC | O_NOCTTY, NULL);
        if (fd < 0)
                return open_error(c, path, -fd, err);
        if (fstat(fd, &st) < 0)
                return iommu_error_set(err, errno, "Failed to stat %s: %s", path, strerror(errno));
        /* A fixture tree's dev/mem is a regular file: a mapping past its
         * end would be SIGBUS on the first read, so refuse it here. */
        if (S_ISREG(st.st_mode) && (uint64_t) st.st_size < end)
                return iommu_error_set(err, ERANGE,
                                       "%s is a regular file of %" PRIu64
                                       " bytes, too short for the register window at 0x%" PRIx64,
                                       path, (uint64_t) st.st_size, base);
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
                return iommu_error_set(err, ENODEV, "%s is neither a character device nor a file", path);

        map = mmap(NULL, end - start, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd,
                   (off_t) start);
        if (map == MAP_FAILED)
                return map_error(c, path, base, size, errno, err);

        d = calloc(1, sizeof *d);
        if (!d) {
                (void) munmap(map, end - start);
                return iommu_error_set(err, ENOMEM, "Out of memory mapping %s", path);
        }
        d->r = (iommu_regs){ .ops = &devmem_ops, .base = base, .size = size };
        d->map = map;
        d->map_len = end - start;
        d->delta = base - start;
        d->writable = writable;
        /* The mapping keeps what it needs; the fd closes here. */
        *ret = &TAKE_PTR(d)->r;
        return 0;
}

int iommu_regs_open_devmem(const iommu_ctx *c, uint64_t base, uint64_t size, iommu_regs **ret,
                           iommu_error *err) {
        return open_devmem(c, base, size, false, ret, err);
}

int iommu_regs_open_devmem_writable(const iommu_ctx *c, uint64_t base, uint64_t size, iommu_regs **ret,
                                    iommu_error *err) {
        return open_devmem(c, base, size, true, ret, err);
}
