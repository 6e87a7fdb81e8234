/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Layer 6, control: second-stage page tables that iommud builds, in table
 * memory (access/tablemem.h), for the paging and identity domains of the
 * units it owns.
 *
 * Hardware may walk a tree while it changes, so every change keeps it
 * whole at every instant.  A map is prepared first: the range is checked
 * (4 KiB multiples, inside the address width, nothing in it mapped yet)
 * and every table it needs is allocated and filled while unlinked; only
 * then are the new entries written, each with one 64-bit store, a table's
 * pointer after the table is complete; so a map that fails changes
 * nothing.  Page sizes come from alignment and CAP.SLLPS: 1 GiB and 2 MiB
 * leaves where IOVA, physical address and length allow.  An unmap is
 * checked first too (every page of the range mapped); a large page it cuts
 * is replaced by a table of smaller pages with the same translations, in
 * one store, before the cut pages are cleared; tables left empty are
 * unlinked, and their pages are handed back only after the caller
 * invalidated (page_table_release): hardware must never walk freed memory.
 * Without ECAP.C (non-coherent walks) every line written is flushed from
 * the CPU caches.
 */

#include <stdbool.h>
#include <stdint.h>

#include "access/tablemem.h"
#include "basic/error.h"

enum {
        PT_READ = 1 << 0,
        PT_WRITE = 1 << 1,
};

typedef struct page_table page_table;

typedef struct page_table_config {
        unsigned levels; /* 3, 4 or 5: address width 39, 48 or 57 bits */
        uint64_t cap;    /* CAP: SLLPS says which large pages may be used */
        bool coherent;   /* ECAP.C: hardware snoops the CPU caches when it walks */
} page_table_config;

/* Pages to hand back once the caller invalidated what unlinked them; the
 * array is the caller's to free (it grows as unmaps need). */
typedef struct page_table_garbage {
        uint64_t *pages;
        size_t n, alloc;
} page_table_garbage;

int page_table_new(table_mem *mem, const page_table_config *config, page_table **ret, iommu_error *err);
/* Take back the tree hardware walks from root, as an earlier page_table
 * (this one's code) left it in mem (table_mem_reopen_*): every table page
 * claimed, the bytes mapped and the pages counted; nothing written.  A
 * tree iommud would not have written is refused with EPROTO and one line
 * naming the address: a pointer outside table memory, a page reached
 * twice or in use already, a bit iommud never sets (X, memory type, A/D,
 * ignored bits), a large page CAP.SLLPS does not allow or that is not
 * aligned.  On a refusal nothing stays claimed. */
int page_table_adopt(table_mem *mem, const page_table_config *config, uint64_t root, page_table **ret,
                     iommu_error *err);
/* Hands back every table page: only when no hardware walks the tree. */
page_table *page_table_free(page_table *pt);
DEFINE_TRIVIAL_CLEANUP_FUNC(page_table *, page_table_free);
/* Frees the structure but hands back no page: hardware still walks the
 * tree (a unit left translating), the pages stay in use in table memory. */
page_table *page_table_abandon(page_table *pt);

uint64_t page_table_root(const page_table *pt);
unsigned page_table_levels(const page_table *pt);
/* Bits of IOVA the tree translates: 12 + 9 * levels. */
unsigned page_table_address_width(const page_table *pt);
/* Bytes mapped, and table pages used. */
uint64_t page_table_mapped(const page_table *pt);
size_t page_table_pages(const page_table *pt);

/* Map [iova, iova + length) onto [phys, phys + length), perms PT_READ and
 * PT_WRITE (at least one).  Refused, with nothing changed: an IOVA,
 * address or length that is not a multiple of 4 KiB or a length of 0
 * (EINVAL); a range past the address width or the top of memory (ERANGE);
 * a page of it already mapped (EEXIST, naming the first); out of table
 * memory (ENOMEM). */
int page_table_map(page_table *pt, uint64_t iova, uint64_t phys, uint64_t length, unsigned perms,
                   iommu_error *err);

/* Unmap [iova, iova + length).  Refused, with nothing changed: not 4 KiB
 * multiples (EINVAL), past the address width (ERANGE), a page of it not
 * mapped (ENOENT, naming the first), out of table memory for splitting a
 * large page (ENOMEM).  Table pages it unlinked go to garbage. */
int page_table_unmap(page_table *pt, uint64_t iova, uint64_t length, page_table_garbage *garbage,
                     iommu_error *err);

/* Hand back what unmaps collected (after the caller's invalidation). */
void page_table_release(page_table *pt, page_table_garbage *garbage);

/* What one IOVA translates to: 0 and its leaf's phys, perms and size, or
 * -ENOENT. */
int page_table_lookup(const page_table *pt, uint64_t iova, uint64_t *ret_phys, unsigned *ret_perms,
                      uint64_t *ret_page_size);

/* Called after every store hardware could see (tests: the tree is walked
 * there, to show that it is whole at every instant). */
/* What the tree maps, in IOVA order, adjacent leaves with following
 * physical addresses and the same permissions as one range: fn(iova, phys,
 * length, perms) per range; a negative return from fn stops the walk and
 * is returned. */
typedef int (*page_table_range_fn)(void *userdata, uint64_t iova, uint64_t phys, uint64_t length,
                                   unsigned perms);
int page_table_ranges(const page_table *pt, page_table_range_fn fn, void *userdata);

typedef void (*page_table_store_hook)(void *userdata);
void page_table_set_store_hook(page_table *pt, page_table_store_hook hook, void *userdata);
