/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Layer 1, access: one small interface for physical addresses.
 *
 *  - iommu_ram: reading RAM (translation tables).  Backends: /proc/kcore,
 *    a snapshot, an in-memory image (tests, benchmarks).  Every read is
 *    bounded to the backend's "System RAM" ranges; outside them is -ERANGE.
 *  - iommu_regs: one remapping unit's register window.  Backends: /dev/mem,
 *    a snapshot's register values, an in-memory register file.
 *
 * Each backend is an ops table behind the same struct; callers never look
 * at which one they have.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/ctx.h"
#include "basic/error.h"
#include "decode/field.h"

#define VTD_PAGE_SIZE 4096u

typedef struct phys_range {
        uint64_t start;
        uint64_t end; /* inclusive */
} phys_range;

/* ---- RAM ---- */

typedef struct iommu_ram iommu_ram;

typedef struct iommu_ram_ops {
        const char *name; /* "kcore", "snapshot", "image" */
        /* Read len bytes at paddr (already checked against the ranges). */
        int (*read)(iommu_ram *ram, uint64_t paddr, void *buf, size_t len, iommu_error *err);
        /* Optional: a pointer to len bytes at paddr inside the backend's own
         * memory, valid until the backend is freed, or NULL if it has none. */
        const void *(*peek)(iommu_ram *ram, uint64_t paddr, size_t len);
        /* Release the backend's own state and the struct itself;
         * iommu_ram_free() has already freed ranges. */
        void (*free)(iommu_ram *ram);
} iommu_ram_ops;

struct iommu_ram {
        const iommu_ram_ops *ops;
        phys_range *ranges; /* sorted, non-overlapping; owned */
        size_t n_ranges;
};

bool iommu_ram_contains(const iommu_ram *ram, uint64_t paddr, uint64_t len);
int iommu_ram_read(iommu_ram *ram, uint64_t paddr, void *buf, size_t len, iommu_error *err);
/* The 4 KiB page at paddr (page aligned, else EINVAL): a pointer into the
 * backend when it can peek, else scratch (VTD_PAGE_SIZE bytes, 8-byte
 * aligned) filled by a read.  NULL on failure, with err set (ERANGE outside
 * RAM, the backend's errno for a failed read). */
const void *iommu_ram_page(iommu_ram *ram, uint64_t paddr, void *scratch, iommu_error *err);
iommu_ram *iommu_ram_free(iommu_ram *ram);
DEFINE_TRIVIAL_CLEANUP_FUNC(iommu_ram *, iommu_ram_free);

/* /proc/iomem "System RAM" ranges below the sysroot (top-level entries).
 * Without root the kernel shows every address as 0: that is -EPERM with a
 * sentence saying so. */
int iomem_system_ram(const iommu_ctx *c, phys_range **ret, size_t *ret_n, iommu_error *err);

/* /proc/kcore: ELF PT_LOAD segments by p_paddr (those with p_paddr ==
 * UINT64_MAX are skipped), bounded to /proc/iomem's System RAM.  Errors
 * name the cause: not root, kernel lockdown (/sys/kernel/security/lockdown),
 * no kcore in this kernel. */
int iommu_ram_open_kcore(const iommu_ctx *c, iommu_ram **ret, iommu_error *err);

/* An in-memory image: sparse pages, each added page is RAM. */
int iommu_ram_new_image(iommu_ram **ret);
/* A zeroed, writable page at paddr (page aligned), created on first use
 * (in a backed window: the window's page, as an earlier image left it).
 * NULL: out of memory, or a backed window's file out of space. */
void *iommu_ram_image_page(iommu_ram *ram, uint64_t paddr);
/* Declare [start, end] RAM without backing pages (reads there give zeros). */
int iommu_ram_image_add_range(iommu_ram *ram, uint64_t start, uint64_t end);
/* The caller's memory (4 KiB, page aligned, outliving its use here) is the
 * page at paddr from now on: what the image held there is dropped, EBUSY
 * when another caller's page is there.  iommud --simulate puts --alloc
 * buffers, files a client maps, into the simulated machine's RAM so. */
int iommu_ram_image_attach_page(iommu_ram *ram, uint64_t paddr, void *page);
/* The caller's page at paddr leaves the image (it reads as zeros again). */
void iommu_ram_image_detach_page(iommu_ram *ram, uint64_t paddr);

/* Memory of the caller's that holds a window of the image (iommu_ram_image_back()). */
typedef struct iommu_ram_backing {
        void *mem;          /* the window's bytes, page aligned */
        uint8_t *held;      /* one bit a page (bit i % 8 of byte i / 8 for the window's page i) */
        int fd;             /* the file mem maps, or -1 */
        uint64_t fd_offset; /* where mem starts in it */
} iommu_ram_backing;
/* [start, end] (page aligned, end + 1 too) becomes RAM kept in b->mem:
 * the page at paddr is b->mem + (paddr - start), never allocated nor
 * freed here, and iommu_ram_image_page() hands it out marking it in
 * b->held.  Kept with mem, held tells a later image over the same memory
 * which pages an earlier one handed out (iommu_ram_image_has_page()).
 * With b->fd, a page's blocks are allocated in the file (fallocate) when
 * it is first handed out: a full file system fails iommu_ram_image_page()
 * there rather than ending the process with SIGBUS at its first store.
 * One window an image, made before any page of it exists (else EBUSY);
 * the caller's memory must outlive the image.  iommud --simulate keeps
 * table memory so, in a machine file that outlives iommud. */
int iommu_ram_image_back(iommu_ram *ram, uint64_t start, uint64_t end, const iommu_ram_backing *b);
/* Whether the page at paddr was handed out by iommu_ram_image_page() (in a
 * backed window: by this image or an earlier one over its memory) or is a
 * caller's (iommu_ram_image_attach_page()). */
bool iommu_ram_image_has_page(const iommu_ram *ram, uint64_t paddr);

/* Views over a base: a page that one of the views holds (the first that
 * does) is read from it, any other from base (may be NULL: then only the
 * views' pages exist).  Its ranges are the union of theirs, as they were
 * at creation or at the last iommu_ram_overlay_update() (call it when a
 * view grows).  The base and the views stay the caller's and must outlive
 * it.  iommud reads the tables of the units it owns so: from its table
 * memory (access/tablemem.h, table_mem_ram()), everything else as before. */
int iommu_ram_new_overlay(iommu_ram *base, iommu_ram *const *views, size_t n_views, iommu_ram **ret);
int iommu_ram_overlay_update(iommu_ram *ram);

/* A wrapper that records every page read through it (for snapshots: the
 * pages a walk touched).  The inner RAM stays owned by the caller. */
int iommu_ram_new_recorder(iommu_ram *inner, iommu_ram **ret);
/* The recorded page addresses, sorted, unique; valid until the next read
 * through the recorder or its free. */
int iommu_ram_recorded(const iommu_ram *rec, const uint64_t **ret, size_t *ret_n);
/* How many reads and peeks went through it, repeats included (0 for a RAM
 * that is not a recorder): a table walked twice counts twice. */
uint64_t iommu_ram_recorder_reads(const iommu_ram *rec);

/* ---- registers ---- */

typedef struct iommu_regs iommu_regs;

typedef struct iommu_regs_ops {
        const char *name; /* "devmem", "snapshot", "image" */
        /* width 32 or 64, offset naturally aligned and inside the window
         * (backends check it again with iommu_regs_check()); exactly one
         * access of that width */
        int (*read)(iommu_regs *r, uint32_t offset, unsigned width, uint64_t *ret, iommu_error *err);
        /* NULL for read-only backends.  Only the control layer writes, and
         * only to units iommud owns; nothing that observes a unit does. */
        int (*write)(iommu_regs *r, uint32_t offset, unsigned width, uint64_t value, iommu_error *err);
        /* Frees everything, the struct included. */
        void (*free)(iommu_regs *r);
} iommu_regs_ops;

struct iommu_regs {
        const iommu_regs_ops *ops;
        uint64_t base; /* physical address of the register set */
        uint64_t size; /* bytes */
};

/* A register by its layout, at the offset it has for this unit (IOTLB at
 * ECAP.IRO, FRCD index n at CAP.FRO + 16n), in the access width the layout
 * has; 128-bit layouts as two 64-bit reads.  v has LAYOUT_MAX_QWORDS. */
int iommu_regs_read_layout(iommu_regs *r, const layout *l, uint64_t cap, uint64_t ecap, unsigned index,
                           uint64_t *v, iommu_error *err);
int iommu_regs_read(iommu_regs *r, uint32_t offset, unsigned width, uint64_t *ret, iommu_error *err);
/* One access of width bits, checked like a read; EROFS for a read-only
 * backend.  Only the control layer writes, to units iommud owns. */
int iommu_regs_write(iommu_regs *r, uint32_t offset, unsigned width, uint64_t value, iommu_error *err);
/* Whether a width-bit access at offset fits r's window: width 32 or 64
 * (-EINVAL), naturally aligned (-EINVAL), inside [0, size) (-ERANGE). */
int iommu_regs_check(const iommu_regs *r, uint64_t offset, unsigned width, iommu_error *err);
iommu_regs *iommu_regs_free(iommu_regs *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(iommu_regs *, iommu_regs_free);

/* /dev/mem below the sysroot, mmap of [base, base + size).  Errors name the
 * cause: not root; EPERM from CONFIG_IO_STRICT_DEVMEM while a driver holds
 * the range (boot with iomem=relaxed); kernel lockdown. */
int iommu_regs_open_devmem(const iommu_ctx *c, uint64_t base, uint64_t size, iommu_regs **ret,
                           iommu_error *err);
/* The same, opened O_RDWR and mapped writable, for the control layer on a
 * unit iommud owns.  The read-only one's write op refuses with -EBADF. */
int iommu_regs_open_devmem_writable(const iommu_ctx *c, uint64_t base, uint64_t size, iommu_regs **ret,
                                    iommu_error *err);

/* "integrity" or "confidentiality" when /sys/kernel/security/lockdown
 * (below the sysroot) selects one, else NULL (also when it cannot be read). */
const char *iommu_lockdown_mode(const iommu_ctx *c);

/* An in-memory register file of size bytes (zeros); writable. */
int iommu_regs_new_image(uint64_t base, uint64_t size, iommu_regs **ret);
void *iommu_regs_image_data(iommu_regs *r);
