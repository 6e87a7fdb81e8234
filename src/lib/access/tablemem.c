/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Table memory (tablemem.h): 2 MiB chunks from hugetlbfs, locked anonymous
 * memory or an image, handed out as 4 KiB pages. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "access/tablemem.h"
#include "basic/alloc-util.h"
#include "basic/hashmap.h"
#include "basic/string-table.h"

#define HUGETLBFS_MAGIC 0x958458f6
#define PAGEMAP_PRESENT (UINT64_C(1) << 63)
#define PAGEMAP_PFN_MASK ((UINT64_C(1) << 55) - 1)
#define BITMAP_WORDS (TABLE_MEM_CHUNK_PAGES / 64)

static const char *const table_mem_kind_table[_TABLE_MEM_KIND_MAX] = {
        [TABLE_MEM_HUGETLBFS] = "hugetlbfs",
        [TABLE_MEM_LOCKED] = "locked",
        [TABLE_MEM_IMAGE] = "image",
};

const char *table_mem_kind_to_string(table_mem_kind k) {
        return k >= 0 && k < _TABLE_MEM_KIND_MAX ? table_mem_kind_table[k] : NULL;
}

typedef struct chunk {
        uint8_t *base;                         /* hugetlbfs, locked: the mapping; image: NULL */
        uint8_t *pages[TABLE_MEM_CHUNK_PAGES]; /* where the CPU sees each page */
        uint64_t phys[TABLE_MEM_CHUNK_PAGES];
        uint64_t used[BITMAP_WORDS];
        unsigned n_used;
        bool whole; /* handed out as one chunk (table_mem_alloc_chunk) */
} chunk;

struct table_mem {
        table_mem_kind kind;
        /* hugetlbfs */
        int fd;
        char *path;
        bool remove;
        /* image */
        iommu_ram *image;
        uint64_t image_base;

        chunk **chunks;
        size_t n_chunks, chunks_alloc;
        hashmap frames; /* page frame number -> chunk index << 9 | page */
        hashmap virt;   /* where the CPU sees a page, >> 12 -> its physical address */
        table_mem_store_fn store_fn;
        void *store_userdata;
        size_t pages_used;
        size_t max_chunks; /* 0: as many as the system gives */
        iommu_ram *view;   /* the walker's, kept up to date as chunks come */
};

table_mem_kind table_mem_get_kind(const table_mem *m) {
        return m->kind;
}

size_t table_mem_pages_used(const table_mem *m) {
        return m->pages_used;
}

void table_mem_set_max_chunks(table_mem *m, size_t max) {
        m->max_chunks = max;
}

size_t table_mem_chunks(const table_mem *m) {
        return m->n_chunks;
}

int pagemap_phys(const void *virt, size_t n, uint64_t *ret, iommu_error *err) {
        const char *path = "/proc/self/pagemap";
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint64_t *e = NULL;
        uint64_t first = (uintptr_t) virt / VTD_PAGE_SIZE;
        ssize_t k;

        if ((uintptr_t) virt % VTD_PAGE_SIZE)
                return iommu_error_set(err, EINVAL, "Not a page address: %p", virt);
        /* this process's own map: not below a sysroot, which holds other
         * machines' files */
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to open %s: %s", path, strerror(errno));
        e = calloc(n, sizeof *e);
        if (!e)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        k = pread(fd, e, n * sizeof *e, (off_t) (first * sizeof *e));
        if (k < 0)
                return iommu_error_set(err, errno, "Failed to read %s: %s", path, strerror(errno));
        if ((size_t) k != n * sizeof *e)
                return iommu_error_set(err, EIO, "Short read from %s", path);
        for (size_t i = 0; i < n; i++) {
                if (!(e[i] & PAGEMAP_PRESENT))
                        return iommu_error_set(err, EFAULT, "%s: page %p is not present", path,
                                               (const uint8_t *) virt + i * VTD_PAGE_SIZE);
                if ((e[i] & PAGEMAP_PFN_MASK) == 0)
                        return iommu_error_set(
                                err, EPERM,
                                "%s shows no frame numbers: physical addresses of table memory "
                                "need CAP_SYS_ADMIN",
                                path);
                ret[i] = (e[i] & PAGEMAP_PFN_MASK) * VTD_PAGE_SIZE;
        }
        return 0;
}

/* ---- the walker's view ---- */

static int view_read(iommu_ram *ram, uint64_t paddr, void *buf, size_t len, iommu_error *err);
static const void *view_peek(iommu_ram *ram, uint64_t paddr, size_t len);
static void view_free(iommu_ram *ram);

static const iommu_ram_ops view_ops = {
        .name = "table-memory",
        .read = view_read,
        .peek = view_peek,
        .free = view_free,
};

typedef struct view_ram {
        iommu_ram ram;
        table_mem *m;
} view_ram;

static const void *view_peek(iommu_ram *ram, uint64_t paddr, size_t len) {
        const view_ram *v = (const view_ram *) ram;
        uint64_t off = paddr % VTD_PAGE_SIZE;
        const uint8_t *p;

        if (len > VTD_PAGE_SIZE - off)
                return NULL;
        p = table_mem_virt(v->m, paddr - off);
        return p ? p + off : NULL;
}

static int view_read(iommu_ram *ram, uint64_t paddr, void *buf, size_t len, iommu_error *err) {
        const view_ram *v = (const view_ram *) ram;
        uint8_t *out = buf;

        while (len > 0) {
                uint64_t off = paddr % VTD_PAGE_SIZE;
                size_t n = VTD_PAGE_SIZE - off < len ? VTD_PAGE_SIZE - off : len;
                const uint8_t *p = table_mem_virt(v->m, paddr - off);

                if (!p)
                        return iommu_error_set(err, ERANGE, "0x%" PRIx64 " is not table memory", paddr);
                memcpy(out, p + off, n);
                out += n;
                paddr += n;
                len -= n;
        }
        return 0;
}

static void view_free(iommu_ram *ram) {
        view_ram *v = (view_ram *) ram;

        if (v->m && v->m->view == ram)
                v->m->view = NULL;
        free(v);
}

static int range_cmp(const void *a, const void *b) {
        const phys_range *x = a, *y = b;
        return (x->start > y->start) - (x->start < y->start);
}

/* The view's ranges: every page of every chunk, merged where they touch. */
static int view_update(table_mem *m) {
        phys_range *r = NULL;
        size_t n = 0, alloc = 0, k = 0;

        if (!m->view)
                return 0;
        for (size_t c = 0; c < m->n_chunks; c++)
                for (size_t i = 0; i < TABLE_MEM_CHUNK_PAGES; i++) {
                        if (!GREEDY_REALLOC(r, alloc, n + 1)) {
                                free(r);
                                return -ENOMEM;
                        }
                        r[n++] = (phys_range){ m->chunks[c]->phys[i],
                                               m->chunks[c]->phys[i] + VTD_PAGE_SIZE - 1 };
                }
        if (n > 0)
                qsort(r, n, sizeof *r, range_cmp);
        for (size_t i = 0; i < n; i++) {
                if (k > 0 && r[k - 1].end + 1 == r[i].start)
                        r[k - 1].end = r[i].end;
                else
                        r[k++] = r[i];
        }
        free(m->view->ranges);
        m->view->ranges = r;
        m->view->n_ranges = k;
        return 0;
}

int table_mem_ram(table_mem *m, iommu_ram **ret) {
        view_ram *v;
        int r;

        if (m->view)
                return -EBUSY;
        v = calloc(1, sizeof *v);
        if (!v)
                return -ENOMEM;
        v->ram.ops = &view_ops;
        v->m = m;
        m->view = &v->ram;
        r = view_update(m);
        if (r < 0) {
                iommu_ram_free(&v->ram);
                return r;
        }
        *ret = &v->ram;
        return 0;
}

/* ---- chunks ---- */

static int chunk_add(table_mem *m, chunk *c) {
        size_t index = m->n_chunks;

        if (!GREEDY_REALLOC(m->chunks, m->chunks_alloc, m->n_chunks + 1))
                return -ENOMEM;
        for (size_t i = 0; i < TABLE_MEM_CHUNK_PAGES; i++)
                if (hashmap_put(&m->frames, c->phys[i] / VTD_PAGE_SIZE, index << 9 | i) <= 0) {
                        for (size_t k = 0; k < i; k++)
                                (void) hashmap_remove(&m->frames, c->phys[k] / VTD_PAGE_SIZE, NULL);
                        return -EEXIST; /* a frame twice: pagemap lied, or out of memory */
                }
        for (size_t i = 0; i < TABLE_MEM_CHUNK_PAGES; i++)
                if (hashmap_replace(&m->virt, (uintptr_t) c->pages[i] / VTD_PAGE_SIZE, c->phys[i]) < 0) {
                        for (size_t k = 0; k < TABLE_MEM_CHUNK_PAGES; k++) {
                                (void) hashmap_remove(&m->frames, c->phys[k] / VTD_PAGE_SIZE, NULL);
                                (void) hashmap_remove(&m->virt, (uintptr_t) c->pages[k] / VTD_PAGE_SIZE,
                                                      NULL);
                        }
                        return -ENOMEM;
                }
        m->chunks[m->n_chunks++] = c;
        (void) view_update(m);
        return 0;
}

static int new_hugetlbfs_chunk(table_mem *m, chunk *c, iommu_error *err) {
        struct stat st;
        off_t at;
        void *p;
        int r;

        if (fstat(m->fd, &st) < 0)
                return iommu_error_set(err, errno, "Failed to stat %s: %s", m->path, strerror(errno));
        at = st.st_size;
        if (ftruncate(m->fd, at + (off_t) TABLE_MEM_CHUNK) < 0)
                return iommu_error_set(err, errno, "Failed to grow %s: %s", m->path, strerror(errno));
        p = mmap(NULL, TABLE_MEM_CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, m->fd, at);
        if (p == MAP_FAILED) {
                r = errno;
                (void) ftruncate(m->fd, at);
                if (r == ENOMEM)
                        return iommu_error_set(err, ENOMEM,
                                               "No free 2 MiB huge page for %s (see vm.nr_hugepages and "
                                               "HugePages_Free in /proc/meminfo)",
                                               m->path);
                return iommu_error_set(err, r, "Failed to map %s: %s", m->path, strerror(r));
        }
        c->base = p;
        r = pagemap_phys(p, TABLE_MEM_CHUNK_PAGES, c->phys, err);
        if (r >= 0)
                for (size_t i = 1; i < TABLE_MEM_CHUNK_PAGES; i++)
                        if (c->phys[i] != c->phys[0] + i * VTD_PAGE_SIZE) {
                                r = iommu_error_set(err, EINVAL, "%s: a huge page that is not contiguous",
                                                    m->path);
                                break;
                        }
        if (r < 0) {
                (void) munmap(p, TABLE_MEM_CHUNK);
                (void) ftruncate(m->fd, at);
                c->base = NULL;
        }
        return r;
}

static int new_locked_chunk(table_mem *m, chunk *c, iommu_error *err) {
        void *p = mmap(NULL, TABLE_MEM_CHUNK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        int r;

        if (p == MAP_FAILED)
                return iommu_error_set(err, errno, "Failed to allocate table memory: %s", strerror(errno));
        /* a transparent huge page would be split, and its pages moved, by
         * the kernel at will: keep it to 4 KiB pages */
        (void) madvise(p, TABLE_MEM_CHUNK, MADV_NOHUGEPAGE);
        if (mlock(p, TABLE_MEM_CHUNK) < 0) {
                r = iommu_error_set(err, errno, "Failed to lock table memory in RAM: %s (LimitMEMLOCK=)",
                                    strerror(errno));
                (void) munmap(p, TABLE_MEM_CHUNK);
                return r;
        }
        c->base = p;
        r = pagemap_phys(p, TABLE_MEM_CHUNK_PAGES, c->phys, err);
        if (r < 0) {
                (void) munmap(p, TABLE_MEM_CHUNK);
                c->base = NULL;
        }
        return r;
}

static int new_image_chunk(table_mem *m, chunk *c, iommu_error *err) {
        uint64_t phys = m->image_base + m->n_chunks * TABLE_MEM_CHUNK;

        for (size_t i = 0; i < TABLE_MEM_CHUNK_PAGES; i++) {
                c->phys[i] = phys + i * VTD_PAGE_SIZE;
                c->pages[i] = iommu_ram_image_page(m->image, c->phys[i]);
                if (!c->pages[i])
                        return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        return 0;
}

static int chunk_new(table_mem *m, chunk **ret, iommu_error *err) {
        _cleanup_free_ chunk *c = calloc(1, sizeof *c);
        int r;

        if (!c)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        if (m->max_chunks > 0 && m->n_chunks >= m->max_chunks)
                return iommu_error_set(err, ENOMEM, "Table memory is full: %zu chunks of 2 MiB, the limit",
                                       m->n_chunks);
        switch (m->kind) {
        case TABLE_MEM_HUGETLBFS:
                r = new_hugetlbfs_chunk(m, c, err);
                break;
        case TABLE_MEM_LOCKED:
                r = new_locked_chunk(m, c, err);
                break;
        default:
                r = new_image_chunk(m, c, err);
                break;
        }
        if (r < 0)
                return r;
        if (c->base)
                for (size_t i = 0; i < TABLE_MEM_CHUNK_PAGES; i++)
                        c->pages[i] = c->base + i * VTD_PAGE_SIZE;
        r = chunk_add(m, c);
        if (r < 0) {
                if (c->base)
                        (void) munmap(c->base, TABLE_MEM_CHUNK);
                return iommu_error_set(err, -r, "Failed to add table memory: %s", strerror(-r));
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int table_mem_alloc_page(table_mem *m, void **ret_virt, uint64_t *ret_phys, iommu_error *err) {
        chunk *c = NULL;
        size_t i;
        int r;

        for (size_t k = 0; k < m->n_chunks && !c; k++)
                if (m->chunks[k]->n_used < TABLE_MEM_CHUNK_PAGES)
                        c = m->chunks[k];
        if (!c) {
                r = chunk_new(m, &c, err);
                if (r < 0)
                        return r;
        }
        for (i = 0; i < TABLE_MEM_CHUNK_PAGES; i++)
                if (!(c->used[i / 64] & (UINT64_C(1) << (i % 64))))
                        break;
        c->used[i / 64] |= UINT64_C(1) << (i % 64);
        c->n_used++;
        m->pages_used++;
        memset(c->pages[i], 0, VTD_PAGE_SIZE);
        *ret_virt = c->pages[i];
        *ret_phys = c->phys[i];
        return 0;
}

int table_mem_alloc_chunk(table_mem *m, void **ret_virt, uint64_t *ret_phys, iommu_error *err) {
        chunk *c = NULL;
        int r;

        if (m->kind == TABLE_MEM_LOCKED)
                return iommu_error_set(err, EOPNOTSUPP,
                                       "Locked table memory is not physically contiguous: 2 MiB chunks need "
                                       "hugetlbfs");
        for (size_t k = 0; k < m->n_chunks && !c; k++)
                if (m->chunks[k]->n_used == 0)
                        c = m->chunks[k];
        if (!c) {
                r = chunk_new(m, &c, err);
                if (r < 0)
                        return r;
        }
        /* hugetlbfs frames are checked contiguous when mapped; an image
         * chunk is by construction; and both start 2 MiB aligned */
        if (c->phys[0] % TABLE_MEM_CHUNK)
                return iommu_error_set(err, EINVAL, "Table memory chunk 0x%" PRIx64 " is not 2 MiB aligned",
                                       c->phys[0]);
        memset(c->used, 0xff, sizeof c->used);
        c->n_used = TABLE_MEM_CHUNK_PAGES;
        c->whole = true;
        m->pages_used += TABLE_MEM_CHUNK_PAGES;
        for (size_t i = 0; i < TABLE_MEM_CHUNK_PAGES; i++)
                memset(c->pages[i], 0, VTD_PAGE_SIZE);
        *ret_virt = c->pages[0];
        *ret_phys = c->phys[0];
        return 0;
}

void table_mem_free_chunk(table_mem *m, uint64_t phys) {
        uint64_t v;
        chunk *c;

        if (!m || !hashmap_get(&m->frames, phys / VTD_PAGE_SIZE, &v))
                return;
        c = m->chunks[v >> 9];
        if (!c->whole || (v & 511) != 0)
                return;
        memset(c->used, 0, sizeof c->used);
        m->pages_used -= c->n_used;
        c->n_used = 0;
        c->whole = false;
}

void table_mem_free_page(table_mem *m, uint64_t phys) {
        uint64_t v;
        chunk *c;
        size_t i;

        if (!m || !hashmap_get(&m->frames, phys / VTD_PAGE_SIZE, &v))
                return;
        c = m->chunks[v >> 9];
        i = v & 511;
        /* a page of a chunk handed out whole goes back with the chunk */
        if (c->whole || !(c->used[i / 64] & (UINT64_C(1) << (i % 64))))
                return;
        c->used[i / 64] &= ~(UINT64_C(1) << (i % 64));
        c->n_used--;
        m->pages_used--;
}

void *table_mem_virt(const table_mem *m, uint64_t phys) {
        uint64_t v;

        if (!m || !hashmap_get(&m->frames, phys / VTD_PAGE_SIZE, &v))
                return NULL;
        return m->chunks[v >> 9]->pages[v & 511] + phys % VTD_PAGE_SIZE;
}

void table_mem_watch_stores(table_mem *m, table_mem_store_fn fn, void *userdata) {
        m->store_fn = fn;
        m->store_userdata = userdata;
}

void table_mem_before_store(const table_mem *m, const uint64_t *entry) {
        uintptr_t v = (uintptr_t) entry;
        uint64_t phys;

        if (!m || !m->store_fn || !hashmap_get(&m->virt, v / VTD_PAGE_SIZE, &phys))
                return;
        m->store_fn(m->store_userdata, phys + v % VTD_PAGE_SIZE, __atomic_load_n(entry, __ATOMIC_RELAXED));
}

/* The chunk and page index of phys, which must be a page's start in this
 * memory. */
static int page_of(const table_mem *m, uint64_t phys, chunk **ret_chunk, size_t *ret_index,
                   iommu_error *err) {
        uint64_t v;

        if (phys % VTD_PAGE_SIZE || !hashmap_get(&m->frames, phys / VTD_PAGE_SIZE, &v))
                return iommu_error_set(err, EINVAL, "0x%" PRIx64 " is no page of table memory", phys);
        *ret_chunk = m->chunks[v >> 9];
        *ret_index = v & 511;
        return 0;
}

int table_mem_claim_page(table_mem *m, uint64_t phys, iommu_error *err) {
        chunk *c;
        size_t i;
        int r = page_of(m, phys, &c, &i, err);

        if (r < 0)
                return r;
        if (c->whole || (c->used[i / 64] & (UINT64_C(1) << (i % 64))))
                return iommu_error_set(err, EEXIST, "Table memory page 0x%" PRIx64 " is in use already",
                                       phys);
        c->used[i / 64] |= UINT64_C(1) << (i % 64);
        c->n_used++;
        m->pages_used++;
        return 0;
}

int table_mem_claims_add(table_mem_claims *c, uint64_t phys, const char *what, iommu_error *err) {
        iommu_error e = {};
        int r;

        if (!GREEDY_REALLOC(c->pages, c->alloc, c->n + 1))
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = table_mem_claim_page(c->mem, phys, &e);
        if (r == -EEXIST)
                return iommu_error_set(err, EPROTO, "%s 0x%" PRIx64 " is reached twice or is in use already",
                                       what, phys);
        if (r < 0)
                return iommu_error_set(err, EPROTO, "%s 0x%" PRIx64 " is outside table memory", what, phys);
        c->pages[c->n++] = phys;
        return 0;
}

void table_mem_claims_done(table_mem_claims *c, bool keep) {
        for (size_t i = 0; !keep && i < c->n; i++)
                table_mem_free_page(c->mem, c->pages[i]);
        free(c->pages);
        *c = (table_mem_claims){ .mem = c->mem };
}

int table_mem_claim_chunk(table_mem *m, uint64_t phys, iommu_error *err) {
        chunk *c;
        size_t i;
        int r = page_of(m, phys, &c, &i, err);

        if (r < 0)
                return r;
        if (i != 0 || c->phys[0] % TABLE_MEM_CHUNK || m->kind == TABLE_MEM_LOCKED)
                return iommu_error_set(err, EINVAL, "0x%" PRIx64 " is not the start of a 2 MiB chunk", phys);
        if (c->n_used > 0)
                return iommu_error_set(err, EEXIST,
                                       "Table memory chunk 0x%" PRIx64 " has pages in use already", phys);
        memset(c->used, 0xff, sizeof c->used);
        c->n_used = TABLE_MEM_CHUNK_PAGES;
        c->whole = true;
        m->pages_used += TABLE_MEM_CHUNK_PAGES;
        return 0;
}

/* ---- opening ---- */

static int table_mem_new(table_mem_kind kind, table_mem **ret) {
        table_mem *m = calloc(1, sizeof *m);

        if (!m)
                return -ENOMEM;
        *m = (table_mem){ .kind = kind, .fd = -EBADF, .frames = HASHMAP_INIT, .virt = HASHMAP_INIT };
        *ret = m;
        return 0;
}

/* A hugetlbfs file's memory, opened and checked; its existing chunks mapped
 * (in use when keep, else free). */
static int open_hugetlbfs(const char *path, bool create, bool keep, table_mem **ret, iommu_error *err) {
        _cleanup_(table_mem_freep) table_mem *m = NULL;
        struct statfs sf;
        struct stat st;

        if (table_mem_new(TABLE_MEM_HUGETLBFS, &m) < 0 || !(m->path = strdup(path)))
                return iommu_error_set(err, ENOMEM, "Out of memory");
        m->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
        if (m->fd < 0)
                return iommu_error_set(err, errno, "Failed to open table memory %s: %s", path,
                                       strerror(errno));
        if (fstatfs(m->fd, &sf) < 0 || fstat(m->fd, &st) < 0)
                return iommu_error_set(err, errno, "Failed to stat %s: %s", path, strerror(errno));
        if ((uint32_t) sf.f_type != HUGETLBFS_MAGIC)
                return iommu_error_set(err, EINVAL, "%s is not on hugetlbfs (TableMemory=)", path);
        if ((uint64_t) sf.f_bsize != TABLE_MEM_CHUNK)
                return iommu_error_set(err, EINVAL, "%s: its hugetlbfs has %lu KiB pages, not 2 MiB", path,
                                       (unsigned long) (sf.f_bsize / 1024));
        for (off_t at = 0; at + (off_t) TABLE_MEM_CHUNK <= st.st_size; at += (off_t) TABLE_MEM_CHUNK) {
                _cleanup_free_ chunk *c = calloc(1, sizeof *c);
                void *p;
                int r;

                if (!c)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                p = mmap(NULL, TABLE_MEM_CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, m->fd,
                         at);
                if (p == MAP_FAILED)
                        return iommu_error_set(err, errno, "Failed to map %s: %s", path, strerror(errno));
                c->base = p;
                for (size_t i = 0; i < TABLE_MEM_CHUNK_PAGES; i++)
                        c->pages[i] = c->base + i * VTD_PAGE_SIZE;
                if (keep) {
                        memset(c->used, 0xff, sizeof c->used);
                        c->n_used = TABLE_MEM_CHUNK_PAGES;
                }
                r = pagemap_phys(p, TABLE_MEM_CHUNK_PAGES, c->phys, err);
                if (r >= 0)
                        r = chunk_add(m, c);
                if (r < 0) {
                        (void) munmap(p, TABLE_MEM_CHUNK);
                        return r == -EEXIST ? iommu_error_set(err, EEXIST, "%s: a frame mapped twice", path)
                                            : r;
                }
                m->pages_used += c->n_used;
                TAKE_PTR(c);
        }
        *ret = TAKE_PTR(m);
        return 0;
}

int table_mem_open_hugetlbfs(const char *path, table_mem **ret, iommu_error *err) {
        /* What an earlier run left is not ours to reuse yet: hardware may
         * still walk it.  Keep it mapped and in use, and grow past it. */
        return open_hugetlbfs(path, true, true, ret, err);
}

int table_mem_reopen_hugetlbfs(const char *path, table_mem **ret, iommu_error *err) {
        /* the file must be there: a new one would hold no tables to adopt */
        return open_hugetlbfs(path, false, false, ret, err);
}

int table_mem_open_locked(table_mem **ret, iommu_error *err) {
        if (table_mem_new(TABLE_MEM_LOCKED, ret) < 0)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        return 0;
}

int table_mem_open_image(iommu_ram *image, uint64_t base, table_mem **ret, iommu_error *err) {
        if (!image || base % TABLE_MEM_CHUNK)
                return iommu_error_set(err, EINVAL, "Table memory needs an image and a 2 MiB aligned base");
        if (table_mem_new(TABLE_MEM_IMAGE, ret) < 0)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        (*ret)->image = image;
        (*ret)->image_base = base;
        return 0;
}

int table_mem_reopen_image(iommu_ram *image, uint64_t base, table_mem **ret, iommu_error *err) {
        _cleanup_(table_mem_freep) table_mem *m = NULL;
        int r;

        r = table_mem_open_image(image, base, &m, err);
        if (r < 0)
                return r;
        /* the chunks an earlier table memory made, one after the other from
         * base: the image holds a chunk's pages once it was handed out (in
         * a simulated machine's file too, where all of RAM is declared) */
        while (iommu_ram_image_has_page(image, base + m->n_chunks * TABLE_MEM_CHUNK)) {
                _cleanup_free_ chunk *c = calloc(1, sizeof *c);

                if (!c)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                r = new_image_chunk(m, c, err);
                if (r >= 0)
                        r = chunk_add(m, c);
                if (r < 0)
                        return r == -EEXIST || r == -ENOMEM ? iommu_error_set(err, -r, "Out of memory") : r;
                TAKE_PTR(c);
        }
        *ret = TAKE_PTR(m);
        return 0;
}

void table_mem_remove(table_mem *m) {
        if (m)
                m->remove = true;
}

table_mem *table_mem_free(table_mem *m) {
        if (!m)
                return NULL;
        if (m->view)
                ((view_ram *) m->view)->m = NULL;
        for (size_t i = 0; i < m->n_chunks; i++) {
                if (m->chunks[i]->base)
                        (void) munmap(m->chunks[i]->base, TABLE_MEM_CHUNK);
                free(m->chunks[i]);
        }
        free(m->chunks);
        hashmap_done(&m->frames);
        hashmap_done(&m->virt);
        if (m->remove && m->path)
                (void) unlink(m->path);
        safe_close(m->fd);
        free(m->path);
        free(m);
        return NULL;
}
