/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The record of the change in flight (undo.h). */
#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/alloc-util.h"
#include "control/undo.h"

#define UNDO_MAGIC "iommud-undo\n"
#define UNDO_VERSION 1
/* 65,536 entries at first (1 MiB): a 256 MiB map of 4 KiB pages */
#define UNDO_FIRST_ENTRIES 65536
#define UNDO_MAX_ENTRIES (UINT64_C(1) << 28)

/* The file's first 512 bytes; the entries follow. */
typedef struct undo_header {
        char magic[16];
        uint32_t version;
        uint32_t kind; /* stored last when a change begins, first when it ends */
        uint64_t serial;
        uint64_t n;        /* entries recorded: stored after each entry */
        uint64_t capacity; /* entries the file has room for */
        uint32_t incomplete;
        uint32_t pad;
        char unit[UNDO_UNIT_MAX];
        char memory[UNDO_PATH_MAX];
        uint8_t reserved[512 - 16 - 4 - 4 - 8 - 8 - 8 - 4 - 4 - UNDO_UNIT_MAX - UNDO_PATH_MAX];
} undo_header;

static_assert(sizeof(undo_header) == 512, "undo_header");

struct undo_log {
        int fd;
        undo_header *h;
        size_t size; /* of the mapping */
};

static const char *const undo_kind_table[_UNDO_KIND_MAX] = {
        [UNDO_NONE] = "none",
        [UNDO_TABLES] = "tables",
        [UNDO_TAKE] = "take",
        [UNDO_GIVE_BACK] = "give-back",
};

const char *undo_kind_to_string(undo_kind k) {
        return k >= 0 && k < _UNDO_KIND_MAX ? undo_kind_table[k] : NULL;
}

static size_t file_size(uint64_t capacity) {
        return sizeof(undo_header) + capacity * sizeof(undo_entry);
}

static undo_entry *entries_of(undo_header *h) {
        return (undo_entry *) (h + 1);
}

int undo_log_open(const char *path, undo_log **ret, iommu_error *err) {
        _cleanup_free_ undo_log *l = calloc(1, sizeof *l);
        _cleanup_close_ int fd = -EBADF;
        size_t size = file_size(UNDO_FIRST_ENTRIES);
        struct stat st;
        void *p;

        if (!l)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to open %s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return iommu_error_set(err, errno, "Failed to look at %s: %s", path, strerror(errno));
        /* what an earlier record held was read before (undo_record_load):
         * this one starts empty */
        if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t) size) < 0)
                return iommu_error_set(err, errno, "Failed to size %s: %s", path, strerror(errno));
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                return iommu_error_set(err, errno, "Failed to map %s: %s", path, strerror(errno));
        l->h = p;
        l->size = size;
        memcpy(l->h->magic, UNDO_MAGIC, sizeof UNDO_MAGIC);
        l->h->version = UNDO_VERSION;
        l->h->capacity = UNDO_FIRST_ENTRIES;
        l->fd = TAKE_FD(fd);
        *ret = TAKE_PTR(l);
        return 0;
}

undo_log *undo_log_free(undo_log *l) {
        if (!l)
                return NULL;
        if (l->h)
                (void) munmap(l->h, l->size);
        safe_close(l->fd);
        free(l);
        return NULL;
}

void undo_log_begin(undo_log *l, uint64_t serial, undo_kind kind, const char *unit, const char *memory) {
        if (!l)
                return;
        /* one more change on top of the same saved state (the last one
         * failed, or its state could not be saved): its stores are undone
         * with the others', back to that state */
        if (l->h->kind == (uint32_t) kind && l->h->serial == serial && streq(l->h->unit, unit))
                return;
        __atomic_store_n(&l->h->kind, UNDO_NONE, __ATOMIC_RELEASE);
        l->h->serial = serial;
        l->h->n = 0;
        l->h->incomplete = 0;
        snprintf(l->h->unit, sizeof l->h->unit, "%s", unit);
        snprintf(l->h->memory, sizeof l->h->memory, "%s", memory ?: "");
        __atomic_store_n(&l->h->kind, (uint32_t) kind, __ATOMIC_RELEASE);
}

void undo_log_end(undo_log *l) {
        if (l)
                __atomic_store_n(&l->h->kind, UNDO_NONE, __ATOMIC_RELEASE);
}

/* Room for twice as many entries; false when the file cannot grow. */
static bool grow(undo_log *l) {
        uint64_t capacity = l->h->capacity * 2;
        size_t size = file_size(capacity);
        void *p;

        if (capacity > UNDO_MAX_ENTRIES || ftruncate(l->fd, (off_t) size) < 0)
                return false;
        p = mremap(l->h, l->size, size, MREMAP_MAYMOVE);
        if (p == MAP_FAILED)
                return false;
        l->h = p;
        l->size = size;
        l->h->capacity = capacity;
        return true;
}

void undo_log_note(void *userdata, uint64_t phys, uint64_t old) {
        undo_log *l = userdata;
        uint64_t n;

        if (!l || l->h->kind == UNDO_NONE || l->h->incomplete)
                return;
        n = l->h->n;
        if (n == l->h->capacity && !grow(l)) {
                __atomic_store_n(&l->h->incomplete, 1, __ATOMIC_RELEASE);
                return;
        }
        entries_of(l->h)[n] = (undo_entry){ .phys = phys, .old = old };
        __atomic_store_n(&l->h->n, n + 1, __ATOMIC_RELEASE);
}

void undo_record_done(undo_record *r) {
        free(r->entries);
        *r = (undo_record){};
}

int undo_record_load(const char *path, undo_record *ret, iommu_error *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ undo_entry *entries = NULL;
        undo_header h;
        struct stat st;
        ssize_t k;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to open %s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0)
                return iommu_error_set(err, errno, "Failed to look at %s: %s", path, strerror(errno));
        k = pread(fd, &h, sizeof h, 0);
        if (k < 0)
                return iommu_error_set(err, errno, "Failed to read %s: %s", path, strerror(errno));
        if ((size_t) k < sizeof h || memcmp(h.magic, UNDO_MAGIC, sizeof UNDO_MAGIC) != 0)
                return iommu_error_set(err, EPROTO, "%s is not a record of a change in flight", path);
        if (h.version != UNDO_VERSION)
                return iommu_error_set(err, EPROTO, "%s is a record of version %" PRIu32 ", not %d", path,
                                       h.version, UNDO_VERSION);
        if (h.kind >= _UNDO_KIND_MAX || h.capacity > UNDO_MAX_ENTRIES || h.n > h.capacity ||
            (uint64_t) st.st_size < file_size(h.capacity) || memchr(h.unit, 0, sizeof h.unit) == NULL ||
            memchr(h.memory, 0, sizeof h.memory) == NULL)
                return iommu_error_set(err, EPROTO, "%s is a damaged record of a change in flight", path);
        *ret = (undo_record){ .kind = (undo_kind) h.kind, .serial = h.serial, .incomplete = h.incomplete };
        memcpy(ret->unit, h.unit, sizeof ret->unit);
        memcpy(ret->memory, h.memory, sizeof ret->memory);
        if (h.kind == UNDO_NONE || h.n == 0)
                return 0;
        entries = calloc(h.n, sizeof *entries);
        if (!entries)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        k = pread(fd, entries, h.n * sizeof *entries, sizeof h);
        if (k < 0 || (uint64_t) k != h.n * sizeof *entries)
                return iommu_error_set(err, k < 0 ? errno : EPROTO, "Failed to read %s: %s", path,
                                       k < 0 ? strerror(errno) : "short read");
        ret->entries = TAKE_PTR(entries);
        ret->n_entries = h.n;
        return 0;
}

static void store(uint64_t *e, uint64_t v) {
        __atomic_store_n(e, v, __ATOMIC_RELEASE);
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_clflush(e);
#endif
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int undo_apply(table_mem *m, const undo_record *r, uint64_t **ret_found, iommu_error *err) {
        _cleanup_free_ uint64_t *found = NULL;

        for (size_t i = 0; i < r->n_entries; i++)
                if (r->entries[i].phys % sizeof(uint64_t) || !table_mem_virt(m, r->entries[i].phys))
                        return iommu_error_set(err, EPROTO,
                                               "The change in flight stored to 0x%" PRIx64
                                               ", which is not in the table memory",
                                               r->entries[i].phys);
        found = calloc(r->n_entries + 1, sizeof *found);
        if (!found)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        for (size_t i = r->n_entries; i > 0; i--) {
                uint64_t *e = table_mem_virt(m, r->entries[i - 1].phys);

                found[i - 1] = __atomic_load_n(e, __ATOMIC_ACQUIRE);
                store(e, r->entries[i - 1].old);
        }
        *ret_found = TAKE_PTR(found);
        return 0;
}

void undo_restore(table_mem *m, const undo_record *r, const uint64_t *found) {
        for (size_t i = 0; found && i < r->n_entries; i++)
                store(table_mem_virt(m, r->entries[i].phys), found[i]);
}
