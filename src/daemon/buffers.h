/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The buffers of v1.map's alloc (iommuctl map --alloc): memory iommud
 * gives a device to reach, as a file whose first LENGTH bytes are the
 * buffer itself, so that a client maps it MAP_SHARED and sees what the
 * device reads and writes (iommud(8), "Buffers").  Three backends, rows of
 * one method table:
 *
 *  - hugetlbfs: a file beside the table memory, of 2 MiB pages: never
 *    swapped, not migrated, each page physically contiguous (so a 2 MiB
 *    aligned IOVA gets 2 MiB IOMMU pages where CAP.SLLPS has them);
 *  - locked: where no huge pages exist, a file under the buffer directory
 *    (tmpfs, /run/iommud/buffers), its pages locked with mlock(): resident,
 *    but 4 KiB apart and movable by compaction, like locked table memory;
 *  - image: iommud --simulate, a file under the buffer directory whose
 *    pages become the simulated machine's RAM at addresses taken from its
 *    buffer region (iommu_ram_image_attach_page()).
 *
 * Physical addresses come from /proc/self/pagemap (the image: from the
 * region).  A buffer is freed, its file deleted, once none of it is mapped
 * any more: after the unmap's invalidation, or when its domain or unit
 * goes.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "access/access.h"
#include "basic/error.h"
#include "basic/list.h"

typedef enum buffer_kind {
        BUFFER_HUGETLBFS,
        BUFFER_LOCKED,
        BUFFER_IMAGE,
        _BUFFER_KIND_MAX,
        _BUFFER_KIND_INVALID = -EINVAL,
} buffer_kind;

/* The simulated machine's buffer region: pages handed out first fit. */
typedef struct buffer_region {
        iommu_ram *image;
        uint64_t base, pages;
        uint64_t *used; /* a bit per page */
} buffer_region;

int buffer_region_init(buffer_region *r, iommu_ram *image, uint64_t base, uint64_t end);
void buffer_region_done(buffer_region *r);

typedef struct buffer {
        buffer_kind kind;
        char *path;
        uint16_t did;
        uint64_t iova, length; /* the IOVA range it was mapped at */
        uint64_t mapped;       /* bytes of that range still mapped */
        void *virt;            /* the file, mapped */
        size_t size;           /* of the file and the mapping */
        uint64_t *phys;        /* per 4 KiB page of the first length bytes */
        size_t n_pages;
        buffer_region *region; /* image */
        LIST_FIELDS(struct buffer, buffers);
} buffer;

/* Where the buffer goes, and who may open it. */
typedef struct buffer_place {
        buffer_kind kind;
        const char *directory; /* made (0755) when missing */
        const char *unit;      /* for the file's name */
        buffer_region *region; /* image */
        bool have_gid;         /* the file's group (AdminGroup=), mode 0660; else 0600 */
        gid_t gid;
} buffer_place;

/* A zeroed buffer of length bytes (a 4 KiB multiple) for domain did at
 * iova, in a new file; *ret's mapped is 0 until the caller maps it.
 * Errors name the file and the cause (no huge page free, RLIMIT_MEMLOCK,
 * the region full). */
int buffer_new(const buffer_place *p, uint16_t did, uint64_t iova, uint64_t length, buffer **ret,
               iommu_error *err);
/* A buffer an earlier iommud left, mapped at iova in domain did: its file
 * opened and mapped again, nothing written; hugetlbfs, or with region a
 * simulated machine's whose RAM outlived that iommud (its pages put back
 * at phys).  EPROTO when the file is shorter than length or its first
 * page is not at phys (another file by that name), or the region's pages
 * there are taken.  *ret's mapped is 0: the caller counts what the tables
 * still map. */
int buffer_reopen(buffer_region *region, const char *path, uint16_t did, uint64_t iova, uint64_t length,
                  uint64_t phys, buffer **ret, iommu_error *err);
/* Unmaps it, deletes the file and gives its pages back: only once nothing
 * can reach it. */
buffer *buffer_free(buffer *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(buffer *, buffer_free);

/* The stretches of the buffer whose pages are physically contiguous: call
 * fn for each (offset into the buffer, phys, bytes) in order; a negative
 * return stops with it. */
int buffer_foreach_run(const buffer *b,
                       int (*fn)(void *userdata, uint64_t offset, uint64_t phys, uint64_t n),
                       void *userdata);
