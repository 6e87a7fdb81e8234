/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --alloc buffers (buffers.h): hugetlbfs, locked and simulated backends. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/tablemem.h"
#include "daemon/buffers.h"
#include "daemon/log.h"

#define HUGE_PAGE (UINT64_C(2) << 20)

typedef struct buffer_ops {
        const char *name;
        uint64_t granule; /* the file grows in these */
        /* the pages of the mapping b->virt: b->phys, b->n_pages */
        int (*pin)(buffer *b, iommu_error *err);
        void (*unpin)(buffer *b);
} buffer_ops;

/* ---- the simulated machine's region ---- */

int buffer_region_init(buffer_region *r, iommu_ram *image, uint64_t base, uint64_t end) {
        uint64_t pages = (end + 1 - base) / VTD_PAGE_SIZE;

        *r = (buffer_region){ .image = image, .base = base, .pages = pages };
        r->used = calloc((pages + 63) / 64, sizeof *r->used);
        return r->used ? 0 : -ENOMEM;
}

void buffer_region_done(buffer_region *r) {
        free(r->used);
        *r = (buffer_region){};
}

static bool region_used(const buffer_region *r, uint64_t i) {
        return r->used[i / 64] & (UINT64_C(1) << (i % 64));
}

static void region_mark(buffer_region *r, uint64_t first, uint64_t n, bool used) {
        for (uint64_t i = first; i < first + n; i++)
                if (used)
                        r->used[i / 64] |= UINT64_C(1) << (i % 64);
                else
                        r->used[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* n free pages in a row, starting at a multiple of align pages: first fit. */
static int region_take(buffer_region *r, uint64_t n, uint64_t align, uint64_t *ret_first) {
        for (uint64_t first = 0; first + n <= r->pages; first += align) {
                uint64_t k = 0;

                while (k < n && !region_used(r, first + k))
                        k++;
                if (k == n) {
                        region_mark(r, first, n, true);
                        *ret_first = first;
                        return 0;
                }
        }
        return -ENOSPC;
}

/* b's pages into the simulated RAM from the region's page first on (taken
 * for it already). */
static int image_attach(buffer *b, uint64_t first, iommu_error *err) {
        buffer_region *r = b->region;

        for (size_t i = 0; i < b->n_pages; i++) {
                uint64_t phys = r->base + (first + i) * VTD_PAGE_SIZE;
                int k = iommu_ram_image_attach_page(r->image, phys, (uint8_t *) b->virt + i * VTD_PAGE_SIZE);

                if (k < 0) {
                        for (size_t j = 0; j < i; j++)
                                iommu_ram_image_detach_page(r->image, b->phys[j]);
                        region_mark(r, first, b->n_pages, false);
                        return iommu_error_set(err, -k, "Failed to put %s into the simulated RAM: %s",
                                               b->path, strerror(-k));
                }
                b->phys[i] = phys;
        }
        return 0;
}

static int image_pin(buffer *b, iommu_error *err) {
        buffer_region *r = b->region;
        uint64_t first, align = b->size >= HUGE_PAGE ? HUGE_PAGE / VTD_PAGE_SIZE : 1;

        if (region_take(r, b->n_pages, align, &first) < 0)
                return iommu_error_set(err, ENOMEM,
                                       "The simulated machine's buffer memory (0x%" PRIx64 "-0x%" PRIx64
                                       ") has no %zu free pages in a row",
                                       r->base, r->base + r->pages * VTD_PAGE_SIZE - 1, b->n_pages);
        return image_attach(b, first, err);
}

/* A reopened buffer's pages where they were: phys, in a simulated
 * machine's region, every page free. */
static int image_pin_at(buffer *b, const char *path, uint64_t phys, iommu_error *err) {
        buffer_region *r = b->region;
        uint64_t first = (phys - r->base) / VTD_PAGE_SIZE;

        if (phys < r->base || phys % VTD_PAGE_SIZE || first > r->pages || r->pages - first < b->n_pages)
                return iommu_error_set(err, EPROTO, "%s was at 0x%" PRIx64 ", outside the buffer memory",
                                       path, phys);
        for (uint64_t i = first; i < first + b->n_pages; i++)
                if (region_used(r, i))
                        return iommu_error_set(err, EPROTO, "%s at 0x%" PRIx64 " overlaps another buffer",
                                               path, phys);
        region_mark(r, first, b->n_pages, true);
        return image_attach(b, first, err);
}

static void image_unpin(buffer *b) {
        buffer_region *r = b->region;

        for (size_t i = 0; i < b->n_pages; i++)
                iommu_ram_image_detach_page(r->image, b->phys[i]);
        if (b->n_pages > 0)
                region_mark(r, (b->phys[0] - r->base) / VTD_PAGE_SIZE, b->n_pages, false);
}

/* ---- memory of this process: pagemap ---- */

static int hugetlbfs_pin(buffer *b, iommu_error *err) {
        return pagemap_phys(b->virt, b->n_pages, b->phys, err);
}

static int locked_pin(buffer *b, iommu_error *err) {
        if (mlock(b->virt, b->size) < 0)
                return iommu_error_set(err, errno, "Failed to lock %s in RAM: %s (LimitMEMLOCK=)", b->path,
                                       strerror(errno));
        return pagemap_phys(b->virt, b->n_pages, b->phys, err);
}

static void no_unpin(buffer *b) {
}

static const buffer_ops backends[_BUFFER_KIND_MAX] = {
        [BUFFER_HUGETLBFS] = { .name = "hugetlbfs",
                               .granule = HUGE_PAGE,
                               .pin = hugetlbfs_pin,
                               .unpin = no_unpin },
        [BUFFER_LOCKED] = { .name = "locked",
                            .granule = VTD_PAGE_SIZE,
                            .pin = locked_pin,
                            .unpin = no_unpin },
        [BUFFER_IMAGE] = { .name = "image",
                           .granule = VTD_PAGE_SIZE,
                           .pin = image_pin,
                           .unpin = image_unpin },
};

buffer *buffer_free(buffer *b) {
        if (!b)
                return NULL;
        if (b->n_pages > 0 && b->phys[0] != UINT64_MAX)
                backends[b->kind].unpin(b);
        if (b->virt)
                (void) munmap(b->virt, b->size);
        if (b->path)
                (void) unlink(b->path);
        free(b->path);
        free(b->phys);
        free(b);
        return NULL;
}

/* A buffer of length bytes for domain did at iova, no file or pages yet
 * (its first phys not pinned). */
static buffer *buffer_alloc(buffer_kind kind, uint16_t did, uint64_t iova, uint64_t length) {
        uint64_t granule = backends[kind].granule;
        buffer *b = calloc(1, sizeof *b);

        if (!b)
                return NULL;
        *b = (buffer){ .kind = kind, .did = did, .iova = iova, .length = length };
        b->size = (size_t) ((length + granule - 1) / granule * granule);
        b->n_pages = (size_t) (length / VTD_PAGE_SIZE);
        b->phys = calloc(b->n_pages, sizeof *b->phys);
        if (!b->phys)
                return mfree(b);
        b->phys[0] = UINT64_MAX;
        return b;
}

int buffer_new(const buffer_place *p, uint16_t did, uint64_t iova, uint64_t length, buffer **ret,
               iommu_error *err) {
        const buffer_ops *ops = &backends[p->kind];
        _cleanup_(buffer_freep) buffer *b = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (length == 0 || length % VTD_PAGE_SIZE)
                return iommu_error_set(err, EINVAL, "A buffer's length is a non-zero multiple of 4 KiB");
        if (length > (uint64_t) SIZE_MAX - ops->granule)
                return iommu_error_set(err, ENOMEM, "A buffer of 0x%" PRIx64 " bytes is too large", length);
        if (mkdir(p->directory, 0755) < 0 && errno != EEXIST)
                return iommu_error_set(err, errno, "Failed to make %s for buffers: %s", p->directory,
                                       strerror(errno));
        b = buffer_alloc(p->kind, did, iova, length);
        if (!b)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        b->region = p->region;
        if (asprintf(&b->path, "%s/buffer-%s-%u-0x%" PRIx64 "-XXXXXX", p->directory, p->unit, did, iova) <
            0) {
                b->path = NULL;
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        fd = mkostemp(b->path, O_CLOEXEC);
        if (fd < 0) {
                r = errno;
                b->path = mfree(b->path);
                return iommu_error_set(err, r, "Failed to make a buffer file in %s: %s", p->directory,
                                       strerror(r));
        }
        /* the group: for its members to map the buffer; without CAP_CHOWN
         * or membership (the hardened unit) it stays root's alone */
        if (p->have_gid && fchown(fd, (uid_t) -1, p->gid) < 0) {
                if (errno != EPERM)
                        return iommu_error_set(err, errno, "Failed to give %s to its group: %s", b->path,
                                               strerror(errno));
                log_warning("%s stays root's alone (mode 0600): giving it to group %u takes CAP_CHOWN or "
                            "membership in the group",
                            b->path, (unsigned) p->gid);
        } else if (p->have_gid && fchmod(fd, 0660) < 0)
                return iommu_error_set(err, errno, "Failed to open %s to its group: %s", b->path,
                                       strerror(errno));
        if (ftruncate(fd, (off_t) b->size) < 0)
                return iommu_error_set(err, errno, "Failed to size %s: %s", b->path, strerror(errno));
        b->virt = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
        if (b->virt == MAP_FAILED) {
                r = errno;
                b->virt = NULL;
                if (r == ENOMEM && p->kind == BUFFER_HUGETLBFS)
                        return iommu_error_set(err, ENOMEM,
                                               "No free 2 MiB huge pages for %s (see vm.nr_hugepages and "
                                               "HugePages_Free in /proc/meminfo)",
                                               b->path);
                return iommu_error_set(err, r, "Failed to map %s: %s", b->path, strerror(r));
        }
        /* every page present before pagemap is asked (MAP_POPULATE may
         * give up quietly; hugetlbfs reserved the pages at mmap()) */
        for (size_t off = 0; off < b->size; off += VTD_PAGE_SIZE)
                ((volatile uint8_t *) b->virt)[off] = 0;
        r = ops->pin(b, err);
        if (r < 0) {
                b->phys[0] = UINT64_MAX;
                return r;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

int buffer_reopen(buffer_region *region, const char *path, uint16_t did, uint64_t iova, uint64_t length,
                  uint64_t phys, buffer **ret, iommu_error *err) {
        buffer_kind kind = region ? BUFFER_IMAGE : BUFFER_HUGETLBFS;
        const buffer_ops *ops = &backends[kind];
        _cleanup_(buffer_freep) buffer *b = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (length == 0 || length % VTD_PAGE_SIZE || length > (uint64_t) SIZE_MAX - ops->granule)
                return iommu_error_set(err, EPROTO, "%s: a buffer of 0x%" PRIx64 " bytes cannot be", path,
                                       length);
        b = buffer_alloc(kind, did, iova, length);
        if (!b)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        /* the path only once it is all there: a buffer freed on the way
         * must not delete the file the earlier iommud left */
        b->region = region;
        fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to open the buffer %s: %s", path,
                                       strerror(errno));
        if (fstat(fd, &st) < 0)
                return iommu_error_set(err, errno, "Failed to look at %s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size < b->size)
                return iommu_error_set(err, EPROTO, "%s holds %jd bytes, not the buffer of 0x%" PRIx64, path,
                                       (intmax_t) st.st_size, length);
        b->virt = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (b->virt == MAP_FAILED) {
                b->virt = NULL;
                return iommu_error_set(err, errno, "Failed to map %s: %s", path, strerror(errno));
        }
        /* read, never written: a device may be using it */
        for (size_t off = 0; off < b->size; off += VTD_PAGE_SIZE)
                (void) ((volatile const uint8_t *) b->virt)[off];
        r = region ? image_pin_at(b, path, phys, err) : ops->pin(b, err);
        if (r < 0) {
                b->phys[0] = UINT64_MAX;
                return r;
        }
        if (b->phys[0] != phys) {
                r = iommu_error_set(err, EPROTO,
                                    "%s starts at 0x%" PRIx64 ", not at 0x%" PRIx64 " where the buffer was",
                                    path, b->phys[0], phys);
                b->phys[0] = UINT64_MAX;
                return r;
        }
        b->path = strdup(path);
        if (!b->path)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *ret = TAKE_PTR(b);
        return 0;
}

int buffer_foreach_run(const buffer *b,
                       int (*fn)(void *userdata, uint64_t offset, uint64_t phys, uint64_t n),
                       void *userdata) {
        for (size_t i = 0; i < b->n_pages;) {
                size_t k = i + 1;
                int r;

                while (k < b->n_pages && b->phys[k] == b->phys[k - 1] + VTD_PAGE_SIZE)
                        k++;
                r = fn(userdata, (uint64_t) i * VTD_PAGE_SIZE, b->phys[i],
                       (uint64_t) (k - i) * VTD_PAGE_SIZE);
                if (r < 0)
                        return r;
                i = k;
        }
        return 0;
}
