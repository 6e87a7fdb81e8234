/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Table memory: the memory a unit iommud owns walks by physical address
 * (its root, context, PASID and page tables and its invalidation queue).
 *
 * Hardware reads it while iommud runs and, with StopPolicy=keep, after it
 * stops, so it must stay where it is: 2 MiB pages of a file on hugetlbfs
 * (never swapped, not migrated, and they outlive the process), their
 * physical addresses read from /proc/self/pagemap (CAP_SYS_ADMIN).  Where
 * no huge pages exist, anonymous memory locked with mlock(): resident, but
 * freed when the process ends and movable by compaction, which iommud(8)
 * says plainly.  Tests use an in-memory image (access.h) with addresses
 * made up from a base.
 *
 * Memory comes in 2 MiB chunks, handed out as zeroed 4 KiB pages (a bitmap
 * per chunk) or as whole chunks (buffers that want 2 MiB IOMMU pages).
 * The walker reads it through an iommu_ram backend over the same chunks,
 * so what iommud built is shown by the code that observes the kernel's
 * tables.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "basic/error.h"

#define TABLE_MEM_CHUNK (UINT64_C(2) << 20)
#define TABLE_MEM_CHUNK_PAGES (TABLE_MEM_CHUNK / VTD_PAGE_SIZE)

typedef enum table_mem_kind {
        TABLE_MEM_HUGETLBFS, /* a file of 2 MiB pages on hugetlbfs */
        TABLE_MEM_LOCKED,    /* anonymous memory, mlock()ed */
        TABLE_MEM_IMAGE,     /* pages of an in-memory image (tests) */
        _TABLE_MEM_KIND_MAX,
        _TABLE_MEM_KIND_INVALID = -EINVAL,
} table_mem_kind;

/* "hugetlbfs", "locked", "image" */
const char *table_mem_kind_to_string(table_mem_kind k) _const_;

typedef struct table_mem table_mem;

/* A file PATH on hugetlbfs (made, or grown, as chunks are needed).  EINVAL naming the file system when PATH
 * is not on hugetlbfs; EPERM when pagemap shows no frame numbers (not CAP_SYS_ADMIN); ENOMEM naming
 * vm.nr_hugepages when no huge page is free. */
int table_mem_open_hugetlbfs(const char *path, table_mem **ret, iommu_error *err);
/* An existing file PATH as table_mem_open_hugetlbfs made it, to take
 * back the tables in it: every chunk mapped and its frames learnt, nothing
 * truncated, cleared or written; every page free until claimed
 * (table_mem_claim_page, _chunk).  ENOENT when there is no such file. */
int table_mem_reopen_hugetlbfs(const char *path, table_mem **ret, iommu_error *err);
/* Locked anonymous memory. */
int table_mem_open_locked(table_mem **ret, iommu_error *err);
/* Pages of image (iommu_ram_new_image) from physical address base up,
 * base 2 MiB aligned.  The image stays the caller's and must outlive it. */
int table_mem_open_image(iommu_ram *image, uint64_t base, table_mem **ret, iommu_error *err);
/* The same over an image an earlier table memory from base filled: its
 * chunks, one after the other from base while the image holds all their
 * pages, every page free until claimed; nothing written. */
int table_mem_reopen_image(iommu_ram *image, uint64_t base, table_mem **ret, iommu_error *err);

/* Unmaps and closes; a hugetlbfs file stays (its pages too, for the next
 * start), unless table_mem_remove() was called.  Other memory is freed:
 * the caller must have made hardware stop walking it. */
table_mem *table_mem_free(table_mem *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(table_mem *, table_mem_free);
/* Delete the hugetlbfs file when freed (nothing to keep). */
void table_mem_remove(table_mem *m);

table_mem_kind table_mem_get_kind(const table_mem *m);

/* A zeroed 4 KiB page: where the CPU sees it and its physical address. */
int table_mem_alloc_page(table_mem *m, void **ret_virt, uint64_t *ret_phys, iommu_error *err);
/* A zeroed, physically contiguous, 2 MiB aligned chunk (only where chunks
 * are contiguous: hugetlbfs, image; -EOPNOTSUPP for locked memory).
 * *ret_virt is its first page: on hugetlbfs the other 511 follow it; an
 * image's pages lie apart (table_mem_virt() finds each).  Its pages are
 * never handed out or freed one by one. */
int table_mem_alloc_chunk(table_mem *m, void **ret_virt, uint64_t *ret_phys, iommu_error *err);
/* Give back a page or a chunk by its physical address: hardware must no
 * longer reach it (the caller invalidated first).  Freed memory is zeroed
 * again when handed out. */
void table_mem_free_page(table_mem *m, uint64_t phys);
void table_mem_free_chunk(table_mem *m, uint64_t phys);

/* Mark a page (its physical address) or a whole chunk (its first page's)
 * in use, as if handed out, without touching it: taking back tables that
 * hardware walks.  EINVAL for an address that is no page (no chunk start)
 * of this memory, EEXIST for one in use already (claimed twice). */
int table_mem_claim_page(table_mem *m, uint64_t phys, iommu_error *err);
int table_mem_claim_chunk(table_mem *m, uint64_t phys, iommu_error *err);

/* The pages claimed one by one while taking back tables hardware walks,
 * handed back together when the take-back is refused. */
typedef struct table_mem_claims {
        table_mem *mem;
        uint64_t *pages;
        size_t n, alloc;
} table_mem_claims;

/* Claim the page at phys: EPROTO with one line starting with what
 * ("The context table at") when it is claimed already (reached twice) or
 * outside the memory. */
int table_mem_claims_add(table_mem_claims *c, uint64_t phys, const char *what, iommu_error *err);
/* The claims stand (keep): only the list goes; or they are handed back. */
void table_mem_claims_done(table_mem_claims *c, bool keep);

/* Where the CPU sees phys, or NULL when it is not in this memory. */
void *table_mem_virt(const table_mem *m, uint64_t phys);

/* Stores into entries hardware may walk, each seen before it is made: the
 * entry's physical address and the value it holds then, so that a change
 * cut short (iommud killed in the middle) can be undone by the next
 * iommud (control/undo.h).  fn NULL: none watched. */
typedef void (*table_mem_store_fn)(void *userdata, uint64_t phys, uint64_t old);
void table_mem_watch_stores(table_mem *m, table_mem_store_fn fn, void *userdata);
/* Whoever stores into a table entry of m calls this first (entry: where the
 * CPU sees it, 8-byte aligned, in m). */
void table_mem_before_store(const table_mem *m, const uint64_t *entry);

/* At most max chunks (0: no limit of its own); past it, ENOMEM. */
void table_mem_set_max_chunks(table_mem *m, size_t max);

/* Pages in use and chunks held, for info and metrics. */
size_t table_mem_pages_used(const table_mem *m);
size_t table_mem_chunks(const table_mem *m);

/* The walker's view: an iommu_ram over the chunks (ranges: the chunks'
 * physical ranges; peek works).  The table memory must outlive it. */
int table_mem_ram(table_mem *m, iommu_ram **ret);

/* Physical addresses of the 4 KiB pages of a mapping of this process, from
 * /proc/self/pagemap (never below a sysroot: it is this process's): n
 * frames from virt (page aligned, touched: present).  EPERM when the kernel shows no frame
 * numbers (not CAP_SYS_ADMIN), EFAULT for a page not present. */
int pagemap_phys(const void *virt, size_t n, uint64_t *ret, iommu_error *err);
