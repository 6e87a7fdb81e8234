/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The snapshot file: CRC-32, a full round trip through the writer, the
 * reader and both backends, and a reader that survives every truncation,
 * every single-byte corruption and hand-made inconsistencies with one error
 * line each. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "basic/crc32.h"
#include "basic/unaligned.h"
#include "check-main.h"
#include "snapshot/snapshot.h"

/* The format's fixed numbers, as iommu-snapshot(5) documents them. */
#define H_VERSION 8
#define H_REVISION 12
#define H_HEADER_SIZE 16
#define H_FLAGS 20
#define H_N_SECTIONS 24
#define H_ENTRY_SIZE 28
#define H_TABLE_OFFSET 32
#define H_FILE_SIZE 40
#define H_TABLE_CRC 48
#define H_CRC 52
#define E_TYPE 0
#define E_CRC 4
#define E_OFFSET 8
#define E_LENGTH 16
enum { T_META = 1, T_DMAR, T_UNITS, T_RAM, T_PAGE_INDEX, T_PAGES };

/* ---- helpers ---- */

static uint64_t rng_state;

static uint64_t rng(void) { /* splitmix64: fixed seed, same run every time */
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
}

/* The content of a page: a function of its address and a generation. */
static void page_fill(uint8_t *page, uint64_t paddr, unsigned gen) {
        uint64_t saved = rng_state;

        rng_state = paddr * 31 + gen;
        for (size_t i = 0; i < VTD_PAGE_SIZE; i += 8) {
                uint64_t v = rng();
                memcpy(page + i, &v, 8);
        }
        rng_state = saved;
}

static char *make_dir(void) {
        char *d = strdup("/tmp/test-snapshot-XXXXXX");
        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_nonnull(mkdtemp(d));
        return d;
}

static size_t dir_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void remove_dir(char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                char p[512];
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
                (void) unlink(p);
        }
        closedir(d);
        ck_assert_int_eq(rmdir(dir), 0);
        free(dir);
}

static char *path_in(const char *dir, const char *name) {
        char *p;
        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static uint8_t *slurp(const char *path, size_t *ret_size) {
        void *data;
        size_t size;
        FILE *f = fopen(path, "re");

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
        size = (size_t) ftell(f);
        rewind(f);
        data = malloc(size ?: 1);
        ck_assert_ptr_nonnull(data);
        ck_assert_uint_eq(fread(data, 1, size, f), size);
        fclose(f);
        *ret_size = size;
        return data;
}

static void spill(const char *path, const void *data, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, size), (ssize_t) size);
        close(fd);
}

/* The table entry of a section type, or NULL. */
static uint8_t *entry_of(uint8_t *f, uint32_t type) {
        uint32_t n = le32(f + H_N_SECTIONS), esize = le32(f + H_ENTRY_SIZE);
        uint64_t table = le64(f + H_TABLE_OFFSET);

        for (uint32_t i = 0; i < n; i++)
                if (le32(f + table + (uint64_t) i * esize + E_TYPE) == type)
                        return f + table + (uint64_t) i * esize;
        return NULL;
}

/* Recompute the table's and the header's CRC after editing them. */
static void reseal(uint8_t *f) {
        uint32_t n = le32(f + H_N_SECTIONS), esize = le32(f + H_ENTRY_SIZE);
        uint32_t hsize = le32(f + H_HEADER_SIZE);
        uint64_t table = le64(f + H_TABLE_OFFSET);

        put_le32(f + H_TABLE_CRC, crc32_ieee(0, f + table, (size_t) n * esize));
        put_le32(f + H_CRC, 0);
        put_le32(f + H_CRC, crc32_ieee(0, f, hsize));
}

/* Overwrite bytes inside a section and make every CRC right again, so only
 * the content checks can notice. */
static void patch_section(uint8_t *f, uint32_t type, size_t at, const void *data, size_t len) {
        uint8_t *e = entry_of(f, type);

        ck_assert_ptr_nonnull(e);
        ck_assert_uint_le(at + len, le64(e + E_LENGTH));
        memcpy(f + le64(e + E_OFFSET) + at, data, len);
        put_le32(e + E_CRC, crc32_ieee(0, f + le64(e + E_OFFSET), le64(e + E_LENGTH)));
        reseal(f);
}

/* The corruption loops open thousands of files: they live in memory, a
 * memfd opened again by its /proc/self/fd path. */
static int mem_fd = -1;
static char mem_path[64];

static const char *mem_file(const uint8_t *f, size_t size) {
        if (mem_fd < 0) {
                mem_fd = memfd_create("snapshot", MFD_CLOEXEC);
                ck_assert_int_ge(mem_fd, 0);
                snprintf(mem_path, sizeof mem_path, "/proc/self/fd/%d", mem_fd);
        }
        ck_assert_int_eq(ftruncate(mem_fd, 0), 0);
        ck_assert_int_eq(pwrite(mem_fd, f, size, 0), (ssize_t) size);
        return mem_path;
}

/* Open a file made of these bytes: the error (r < 0) or success. */
static int open_bytes(const uint8_t *f, size_t size, iommu_error *err) {
        _cleanup_(snapshot_freep) snapshot *s = NULL;
        const char *path = mem_file(f, size);
        int r;

        *err = (iommu_error){};
        r = snapshot_open(path, &s, err);
        if (r < 0) {
                ck_assert_ptr_null(s);
                ck_assert_int_eq(err->error, -r);
                ck_assert_msg(err->message[0] != '\0', "an error without a message");
                ck_assert_msg(!strchr(err->message, '\n'), "more than one line: %s", err->message);
        } else
                ck_assert_ptr_nonnull(s);
        return r;
}

/* An expected failure whose message ends with what. */
static void expect_error(const uint8_t *f, size_t size, int error, const char *what) {
        iommu_error err;
        char want[512];
        int r = open_bytes(f, size, &err);

        ck_assert_msg(r == -error, "expected -%d (%s), got %d: %s", error, what, r, err.message);
        snprintf(want, sizeof want, "snapshot %s: %s", mem_path, what);
        ck_assert_str_eq(err.message, want);
}

/* ---- the snapshots under test ---- */

/* Each unit with what every read command needs (iommu-snapshot(5)): VER,
 * CAP, ECAP, GSTS, RTADDR, FSTS and the fault recording register CAP.NFR
 * and CAP.FRO place (one, at 0x220, as two 64-bit halves), and others. */
static const snapshot_reg unit0_regs[] = {
        { .offset = 0x00, .width = 32, .value = 0x10 },
        { .offset = 0x08, .width = 64, .value = 0x00d2008c222f0686ull },
        { .offset = 0x10, .width = 64, .value = 0x0000000000f050daull },
        { .offset = 0x18, .width = 32, .value = 0 },
        { .offset = 0x1c, .width = 32, .value = 0xc0000000u },
        { .offset = 0x20, .width = 64, .value = 0x12345000 },
        { .offset = 0x34, .width = 32, .value = 0 },
        { .offset = 0x108, .width = 64, .value = 0x8000000000000000ull },
        { .offset = 0x220, .width = 64, .value = 0 },
        { .offset = 0x228, .width = 64, .value = 0x8000000500000018ull },
};

/* not sorted: the writer sorts */
static const snapshot_reg unit1_regs[] = {
        { .offset = 0x1c, .width = 32, .value = 0x80000000u },
        { .offset = 0x228, .width = 64, .value = 0 },
        { .offset = 0x08, .width = 64, .value = 0x0000000022c90462ull },
        { .offset = 0x10, .width = 64, .value = 0x0000000000e00f9eull },
        { .offset = 0x00, .width = 32, .value = 0x60 },
        { .offset = 0x34, .width = 32, .value = 0x2 },
        { .offset = 0x20, .width = 64, .value = 0xfffff000ull },
        { .offset = 0x220, .width = 64, .value = 0 },
        { .offset = 0xff8, .width = 64, .value = 0xdeadbeefcafef00dull },
};

/* The small snapshot's unit: what it needs, and CCMD at 0x28. */
static const snapshot_reg small_regs[] = {
        { .offset = 0x00, .width = 32, .value = 0x10 },
        { .offset = 0x08, .width = 64, .value = 0x00d2008c22260286ull },
        { .offset = 0x10, .width = 64, .value = 0x0000000000000f42ull },
        { .offset = 0x1c, .width = 32, .value = 0xc0000000u },
        { .offset = 0x20, .width = 64, .value = 0x1000 },
        { .offset = 0x28, .width = 64, .value = 0 },
        { .offset = 0x34, .width = 32, .value = 0 },
        { .offset = 0x220, .width = 64, .value = 0 },
        { .offset = 0x228, .width = 64, .value = 0 },
};

/* An ACPI DMAR table (48-byte header, host address width 39) with one
 * DRHD per unit, in order, each with the unit's segment and base. */
static uint8_t *make_dmar(const snapshot_unit *const *units, size_t n, size_t *ret_size) {
        size_t size = 48 + 16 * n;
        uint8_t *t = calloc(1, size), sum = 0;

        ck_assert_ptr_nonnull(t);
        memcpy(t, "DMAR", 4);
        put_le32(t + 4, (uint32_t) size);
        t[8] = 1;
        memcpy(t + 10, "IOMMUD", 6);
        memcpy(t + 16, "TESTTEST", 8);
        t[36] = 38;
        for (size_t i = 0; i < n; i++) {
                uint8_t *d = t + 48 + 16 * i;
                d[2] = 16; /* type 0 (DRHD), length 16 */
                d[6] = (uint8_t) units[i]->segment;
                d[7] = (uint8_t) (units[i]->segment >> 8);
                put_le64(d + 8, units[i]->base);
        }
        for (size_t i = 0; i < size; i++)
                sum = (uint8_t) (sum + t[i]);
        t[9] = (uint8_t) -sum;
        *ret_size = size;
        return t;
}

/* A META with every member the page requires: one entry per unit (no sysfs
 * facts, registers read) and the devices given by BDF. */
static json_object *make_meta(const snapshot_unit *const *units, size_t n, const char *const *bdfs) {
        json_object *meta = json_object_new_object(), *a = json_object_new_array(),
                    *devices = json_object_new_array();

        ck_assert_ptr_nonnull(meta);
        for (size_t i = 0; i < n; i++) {
                json_object *u = json_object_new_object();
                json_object_object_add(u, "name", json_object_new_string(units[i]->name));
                json_object_object_add(u, "address", json_object_new_uint64(units[i]->base));
                json_object_object_add(u, "sysfs", NULL);
                json_object_object_add(u, "registers_error",
                                       units[i]->n_regs ? NULL : json_object_new_string("refused"));
                json_object_array_add(a, u);
        }
        for (size_t i = 0; bdfs && bdfs[i]; i++) {
                json_object *d = json_object_new_object();
                json_object_object_add(d, "bdf", json_object_new_string(bdfs[i]));
                json_object_object_add(d, "vendor", json_object_new_int(0x8086));
                json_object_object_add(d, "device", json_object_new_int(0x1234));
                json_object_object_add(d, "class", json_object_new_int(0x0600));
                json_object_object_add(d, "name", json_object_new_string("a device"));
                json_object_object_add(d, "driver", NULL);
                json_object_object_add(d, "group", json_object_new_int((int) i));
                json_object_object_add(d, "iommu", NULL);
                json_object_array_add(devices, d);
        }
        json_object_object_add(meta, "units", a);
        json_object_object_add(meta, "devices", devices);
        json_object_object_add(meta, "ram_error", NULL);
        return meta;
}

static const phys_range big_ranges[] = {
        { 0x1000, 0x9ffff },
        { 0x100000, 0x3fffffff },
        { 0x100000000ull, 0x13fffffffull },
        /* two ranges that touch, one page spanning both */
        { 0x200000000ull, 0x2000007ffull },
        { 0x200000800ull, 0x200001fffull },
};

typedef struct big {
        uint64_t *pages; /* sorted, unique */
        size_t n_pages;
        json_object *meta;
        void *dmar;
        size_t dmar_size;
} big;

static void big_done(big *b) {
        free(b->pages);
        json_object_put(b->meta);
        free(b->dmar);
}

static int u64_cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static bool big_has(const big *b, uint64_t paddr) {
        return bsearch(&paddr, b->pages, b->n_pages, sizeof paddr, u64_cmp) != NULL;
}

/* A snapshot with meta, a real DMAR table, two units, five RAM ranges and a
 * few hundred pages, written to path. */
static void big_write(const char *path, big *b) {
        _cleanup_(snapshot_writer_freep) snapshot_writer *w = NULL;
        snapshot_unit u0 = { .name = "dmar0",
                             .base = 0xfed90000,
                             .size = 0x1000,
                             .segment = 0,
                             .regs = (snapshot_reg *) unit0_regs,
                             .n_regs = ELEMENTSOF(unit0_regs) };
        snapshot_unit u1 = { .name = "dmar1",
                             .base = 0xfed91000,
                             .size = 0x1000,
                             .segment = 0, /* as the table's DRHDs have it */
                             .regs = (snapshot_reg *) unit1_regs,
                             .n_regs = ELEMENTSOF(unit1_regs) };
        uint8_t page[VTD_PAGE_SIZE];
        iommu_error err = {};
        char *dmar_path;
        const snapshot_unit *const units[] = { &u0, &u1 };
        static const char *const bdfs[] = { "0000:00:02.0", "0000:00:1f.3", NULL };
        json_object *sysfs;
        size_t n = 0;

        *b = (big){};
        b->pages = calloc(512, sizeof *b->pages);
        ck_assert_ptr_nonnull(b->pages);
        for (unsigned i = 0; i < 64; i++) /* a run: peeks may span it */
                b->pages[n++] = 0x100000 + i * VTD_PAGE_SIZE;
        for (unsigned i = 0; i < 100; i++) /* every other page: gaps */
                b->pages[n++] = 0x200000 + 2 * i * VTD_PAGE_SIZE;
        rng_state = 42;
        for (unsigned i = 0; i < 200; i++)
                b->pages[n++] = 0x100000000ull + (rng() % 0x40000) * VTD_PAGE_SIZE;
        b->pages[n++] = 0x1000;
        b->pages[n++] = 0x9f000;
        b->pages[n++] = 0x200000000ull;
        b->pages[n++] = 0x200001000ull;
        qsort(b->pages, n, sizeof *b->pages, u64_cmp);
        b->n_pages = 0;
        for (size_t i = 0; i < n; i++)
                if (b->n_pages == 0 || b->pages[b->n_pages - 1] != b->pages[i])
                        b->pages[b->n_pages++] = b->pages[i];
        ck_assert_uint_gt(b->n_pages, 300);

        ck_assert_ptr_nonnull(getenv("TESTDATA"));
        ck_assert_int_ge(asprintf(&dmar_path, "%s/dmar/dell-latitude-e7470.bin", getenv("TESTDATA")), 0);
        b->dmar = slurp(dmar_path, &b->dmar_size);
        free(dmar_path);
        ck_assert_uint_gt(b->dmar_size, 48);

        b->meta = make_meta(units, ELEMENTSOF(units), bdfs);
        json_object_object_add(b->meta, "created", json_object_new_string("2026-01-01T00:00:00Z"));
        json_object_object_add(b->meta, "host", json_object_new_string("test-host"));
        json_object_object_add(b->meta, "kernel", json_object_new_string("6.1.0-13-amd64 \"ünïcode\" / ok"));
        json_object_object_add(b->meta, "n", json_object_new_int(12345)); /* unknown: kept, ignored */
        sysfs = json_object_new_object();
        json_object_object_add(sysfs, "address", json_object_new_uint64(0xfed90000));
        json_object_object_add(sysfs, "cap", json_object_new_uint64(0xd2008c222f0686ull));
        json_object_object_add(sysfs, "ecap", json_object_new_uint64(0xf3ffffffffffffffull));
        json_object_object_add(sysfs, "version", json_object_new_string("1:0"));
        json_object_object_add(json_object_array_get_idx(json_object_object_get(b->meta, "units"), 0),
                               "sysfs", sysfs);

        ck_assert_int_eq(snapshot_writer_new(&w), 0);
        ck_assert_int_eq(snapshot_writer_set_meta(w, b->meta), 0);
        ck_assert_int_eq(snapshot_writer_set_dmar(w, b->dmar, b->dmar_size), 0);
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u0), 0);
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u1), 0);
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u1), -EEXIST);
        ck_assert_int_eq(snapshot_writer_set_ram_ranges(w, big_ranges, ELEMENTSOF(big_ranges)), 0);

        /* in descending order, every page first with stale contents: the
         * last addition of an address wins */
        for (size_t i = b->n_pages; i-- > 0;) {
                page_fill(page, b->pages[i], 1);
                ck_assert_int_eq(snapshot_writer_add_page(w, b->pages[i], page), 0);
        }
        for (size_t i = b->n_pages; i-- > 0;) {
                page_fill(page, b->pages[i], 0);
                ck_assert_int_eq(snapshot_writer_add_page(w, b->pages[i], page), 0);
        }
        ck_assert_int_eq(snapshot_writer_add_page(w, 0x1234, page), -EINVAL);

        ck_assert_msg(snapshot_writer_write(w, path, &err) == 0, "%s", err.message);
}

/* A small snapshot for the corruption loops: every byte matters. */
static uint8_t *small_write(const char *path, size_t *ret_size) {
        _cleanup_(snapshot_writer_freep) snapshot_writer *w = NULL;
        _cleanup_json_ json_object *meta = NULL;
        _cleanup_free_ uint8_t *dmar = NULL;
        static const phys_range ram[] = { { 0, 0xfffff }, { 0x200000, 0x2fffff } };
        snapshot_unit u = { .name = "dmar0",
                            .base = 0xfed90000,
                            .size = 0x1000,
                            .segment = 3,
                            .regs = (snapshot_reg *) small_regs,
                            .n_regs = ELEMENTSOF(small_regs) };
        const snapshot_unit *const units[] = { &u };
        uint8_t page[VTD_PAGE_SIZE];
        iommu_error err = {};
        size_t dmar_size;

        dmar = make_dmar(units, 1, &dmar_size);
        meta = make_meta(units, 1, NULL);
        json_object_object_add(meta, "host", json_object_new_string("small"));
        ck_assert_int_eq(snapshot_writer_new(&w), 0);
        ck_assert_int_eq(snapshot_writer_set_meta(w, meta), 0);
        ck_assert_int_eq(snapshot_writer_set_dmar(w, dmar, dmar_size), 0);
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u), 0);
        ck_assert_int_eq(snapshot_writer_set_ram_ranges(w, ram, ELEMENTSOF(ram)), 0);
        for (uint64_t a = 0x1000; a <= 0x3000; a += 0x1000) {
                page_fill(page, a, 0);
                ck_assert_int_eq(snapshot_writer_add_page(w, a, page), 0);
        }
        ck_assert_msg(snapshot_writer_write(w, path, &err) == 0, "%s", err.message);
        return slurp(path, ret_size);
}

/* A META that is valid for no unit and no device. */
static json_object *meta_without_units(void) {
        return make_meta(NULL, 0, NULL);
}

/* ---- tests ---- */

static uint32_t crc32_bitwise(uint32_t crc, const uint8_t *p, size_t len) {
        crc = ~crc;
        while (len--) {
                crc ^= *p++;
                for (int k = 0; k < 8; k++)
                        crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
        }
        return ~crc;
}

START_TEST(crc32_check_value) {
        uint8_t buf[1000];

        ck_assert_uint_eq(crc32_ieee(0, "123456789", 9), 0xcbf43926u);
        ck_assert_uint_eq(crc32_ieee(0, "", 0), 0);
        ck_assert_uint_eq(crc32_ieee(0, "a", 1), 0xe8b7be43u);
        /* chaining equals one pass */
        ck_assert_uint_eq(crc32_ieee(crc32_ieee(0, "12345", 5), "6789", 4), 0xcbf43926u);
        rng_state = 7;
        for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = (uint8_t) rng();
        for (size_t len = 0; len <= sizeof buf; len += 37)
                ck_assert_uint_eq(crc32_ieee(0, buf, len), crc32_bitwise(0, buf, len));
}
END_TEST

START_TEST(round_trip) {
        _cleanup_(snapshot_freep) snapshot *s = NULL;
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        char *dir = make_dir(), *path = path_in(dir, "full.iommu");
        uint8_t expect[2 * VTD_PAGE_SIZE], scratch[VTD_PAGE_SIZE], buf[2 * VTD_PAGE_SIZE];
        const phys_range *ranges;
        const void *dmar;
        iommu_error err = {};
        struct stat st;
        size_t n, size;
        big b;

        big_write(path, &b);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_uint_eq(dir_entries(dir), 1); /* no temporary file left */

        ck_assert_msg(snapshot_open(path, &s, &err) == 0, "%s", err.message);

        /* meta, DMAR, RAM ranges */
        ck_assert_msg(json_object_equal(snapshot_meta(s), b.meta), "meta differs: %s",
                      json_object_to_json_string(snapshot_meta(s)));
        ck_assert_uint_eq(
                json_object_get_uint64(json_object_object_get(
                        json_object_object_get(json_object_array_get_idx(
                                                       json_object_object_get(snapshot_meta(s), "units"), 0),
                                               "sysfs"),
                        "ecap")),
                0xf3ffffffffffffffull);
        dmar = snapshot_dmar(s, &size);
        ck_assert_uint_eq(size, b.dmar_size);
        ck_assert_mem_eq(dmar, b.dmar, size);
        ranges = snapshot_ram_ranges(s, &n);
        ck_assert_uint_eq(n, ELEMENTSOF(big_ranges));
        for (size_t i = 0; i < n; i++) {
                ck_assert_uint_eq(ranges[i].start, big_ranges[i].start);
                ck_assert_uint_eq(ranges[i].end, big_ranges[i].end);
        }

        /* units and their registers, sorted */
        ck_assert_uint_eq(snapshot_n_units(s), 2);
        ck_assert_ptr_null(snapshot_unit_nth(s, 2));
        {
                const snapshot_unit *u0 = snapshot_unit_nth(s, 0), *u1 = snapshot_unit_nth(s, 1);
                ck_assert_str_eq(u0->name, "dmar0");
                ck_assert_str_eq(u1->name, "dmar1");
                ck_assert_uint_eq(u0->base, 0xfed90000);
                ck_assert_uint_eq(u1->base, 0xfed91000);
                ck_assert_uint_eq(u0->size, 0x1000);
                ck_assert_uint_eq(u0->segment, 0);
                ck_assert_uint_eq(u1->segment, 0);
                ck_assert_uint_eq(u0->n_regs, ELEMENTSOF(unit0_regs));
                ck_assert_uint_eq(u1->n_regs, ELEMENTSOF(unit1_regs));
                for (size_t i = 0; i < u0->n_regs; i++) {
                        ck_assert_uint_eq(u0->regs[i].offset, unit0_regs[i].offset);
                        ck_assert_uint_eq(u0->regs[i].width, unit0_regs[i].width);
                        ck_assert_uint_eq(u0->regs[i].value, unit0_regs[i].value);
                }
                for (size_t i = 1; i < u1->n_regs; i++)
                        ck_assert_uint_lt(u1->regs[i - 1].offset, u1->regs[i].offset);
        }

        /* registers through the backend */
        for (size_t k = 0; k < 2; k++) {
                _cleanup_(iommu_regs_freep) iommu_regs *r = NULL;
                const snapshot_reg *regs = k == 0 ? unit0_regs : unit1_regs;
                size_t nr = k == 0 ? ELEMENTSOF(unit0_regs) : ELEMENTSOF(unit1_regs);
                uint64_t v = 0x5555;

                ck_assert_int_eq(snapshot_regs(s, k, &r), 0);
                ck_assert_ptr_null(r->ops->write);
                ck_assert_str_eq(r->ops->name, "snapshot");
                ck_assert_uint_eq(r->base, k == 0 ? 0xfed90000 : 0xfed91000);
                ck_assert_uint_eq(r->size, 0x1000);
                for (size_t i = 0; i < nr; i++) {
                        ck_assert_int_eq(iommu_regs_read(r, regs[i].offset, regs[i].width, &v, &err), 0);
                        ck_assert_uint_eq(v, regs[i].value);
                }
                /* the wrong width */
                v = 0x5555;
                ck_assert_int_eq(iommu_regs_read(r, 0x08, 32, &v, &err), -EINVAL);
                ck_assert_uint_eq(v, 0x5555);
                ck_assert_str_eq(err.message,
                                 k == 0 ? "Register 0x8 of dmar0 was captured 64 bits wide, not 32"
                                        : "Register 0x8 of dmar1 was captured 64 bits wide, not 32");
                ck_assert_int_eq(iommu_regs_read(r, 0x1c, 64, &v, &err), -EINVAL);
                /* not captured */
                ck_assert_int_eq(iommu_regs_read(r, 0x28, 64, &v, &err), -ENODATA);
                ck_assert_ptr_nonnull(strstr(err.message, "Register 0x28 of dmar"));
                ck_assert_ptr_nonnull(strstr(err.message, "was not captured in the snapshot"));
                ck_assert_int_eq(iommu_regs_read(r, 0x0c, 32, &v, &err), -ENODATA); /* inside a 64-bit one */
                ck_assert_uint_eq(v, 0x5555);
        }
        {
                iommu_regs *r = (iommu_regs *) 0x1;
                ck_assert_int_eq(snapshot_regs(s, 2, &r), -EINVAL);
                ck_assert_ptr_eq(r, (iommu_regs *) 0x1);
        }

        /* every page, through page and read */
        ck_assert_uint_eq(snapshot_n_pages(s), b.n_pages);
        ck_assert_int_eq(snapshot_ram(s, &ram), 0);
        ck_assert_str_eq(ram->ops->name, "snapshot");
        ck_assert_uint_eq(ram->n_ranges, ELEMENTSOF(big_ranges));
        for (size_t i = 0; i < ram->n_ranges; i++)
                ck_assert_uint_eq(ram->ranges[i].end, big_ranges[i].end);
        for (size_t i = 0; i < b.n_pages; i++) {
                uint64_t a = b.pages[i];
                const uint8_t *p;

                page_fill(expect, a, 0);
                p = iommu_ram_page(ram, a, scratch, &err);
                ck_assert_msg(p, "page 0x%" PRIx64 ": %s", a, err.message);
                /* read into the scratch page, never through the mapping: the
                 * file's pages stay out of the resident set */
                ck_assert_ptr_eq(p, scratch);
                ck_assert_mem_eq(p, expect, VTD_PAGE_SIZE);
                ck_assert_ptr_null(ram->ops->peek);

                memset(buf, 0, sizeof buf);
                ck_assert_int_eq(iommu_ram_read(ram, a, buf, VTD_PAGE_SIZE, &err), 0);
                ck_assert_mem_eq(buf, expect, VTD_PAGE_SIZE);
                ck_assert_int_eq(iommu_ram_read(ram, a + 4088, buf, 8, &err), 0);
                ck_assert_mem_eq(buf, expect + 4088, 8);

                /* across into the next page */
                if (big_has(&b, a + VTD_PAGE_SIZE)) {
                        page_fill(expect + VTD_PAGE_SIZE, a + VTD_PAGE_SIZE, 0);
                        ck_assert_int_eq(iommu_ram_read(ram, a + 4000, buf, 200, &err), 0);
                        ck_assert_mem_eq(buf, expect + 4000, 200);
                } else if (iommu_ram_contains(ram, a + VTD_PAGE_SIZE, 1)) {
                        char want[128];
                        memset(buf, 0x77, sizeof buf);
                        ck_assert_int_eq(iommu_ram_read(ram, a + 4000, buf, 200, &err), -ENODATA);
                        snprintf(want, sizeof want, "page 0x%" PRIx64 " was not captured in the snapshot",
                                 a + VTD_PAGE_SIZE);
                        ck_assert_str_eq(err.message, want);
                        ck_assert_uint_eq(buf[0], 0x77); /* untouched on failure */
                }
        }
        /* the 64-page run in one read */
        {
                _cleanup_free_ uint8_t *all = malloc(64 * VTD_PAGE_SIZE);
                ck_assert_ptr_nonnull(all);
                ck_assert_int_eq(iommu_ram_read(ram, 0x100000, all, 64 * VTD_PAGE_SIZE, &err), 0);
                for (unsigned i = 0; i < 64; i++) {
                        page_fill(expect, 0x100000 + i * VTD_PAGE_SIZE, 0);
                        ck_assert_mem_eq(all + i * VTD_PAGE_SIZE, expect, VTD_PAGE_SIZE);
                }
        }

        /* RAM that was not captured, and what is not RAM */
        ck_assert_ptr_null(iommu_ram_page(ram, 0x201000, scratch, &err));
        ck_assert_int_eq(err.error, ENODATA);
        ck_assert_str_eq(err.message, "page 0x201000 was not captured in the snapshot");
        ck_assert_int_eq(iommu_ram_read(ram, 0x3ffff000, buf, 8, &err), -ENODATA);
        ck_assert_ptr_null(iommu_ram_page(ram, 0xa0000, scratch, &err));
        ck_assert_int_eq(err.error, ERANGE);
        ck_assert_int_eq(iommu_ram_read(ram, 0x0, buf, 8, &err), -ERANGE);
        ck_assert_int_eq(iommu_ram_read(ram, 0x9f000, buf, 2 * VTD_PAGE_SIZE, &err), -ERANGE);
        ck_assert_int_eq(iommu_ram_read(ram, 0x140000000ull, buf, 8, &err), -ERANGE);
        ck_assert_int_eq(iommu_ram_read(ram, 0xfffffffffffff000ull, buf, 8, &err), -ERANGE);
        /* the page across two touching ranges */
        page_fill(expect, 0x200000000ull, 0);
        ck_assert_int_eq(iommu_ram_read(ram, 0x2000007f0ull, buf, 32, &err), 0);
        ck_assert_mem_eq(buf, expect + 0x7f0, 32);

        big_done(&b);
        free(path);
        ram = iommu_ram_free(ram);
        s = snapshot_free(s);
        remove_dir(dir);
}
END_TEST

/* The snapshot of a machine without VT-d: no DMAR table, no units. */
START_TEST(empty_snapshot) {
        _cleanup_(snapshot_writer_freep) snapshot_writer *w = NULL;
        _cleanup_(snapshot_freep) snapshot *s = NULL;
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;
        _cleanup_json_ json_object *meta = meta_without_units();
        char *dir = make_dir(), *path = path_in(dir, "empty.iommu");
        iommu_error err = {};
        size_t n = 1;
        uint8_t buf[8];
        char want[512];

        /* without a META there is no snapshot */
        ck_assert_int_eq(snapshot_writer_new(&w), 0);
        ck_assert_int_eq(snapshot_writer_write(w, path, &err), -EINVAL);
        snprintf(want, sizeof want,
                 "Cannot write snapshot %s: section META: units is missing (expected an array)", path);
        ck_assert_str_eq(err.message, want);
        ck_assert_uint_eq(dir_entries(dir), 0);

        ck_assert_int_eq(snapshot_writer_set_meta(w, meta), 0);
        ck_assert_msg(snapshot_writer_write(w, path, &err) == 0, "%s", err.message);
        ck_assert_msg(snapshot_open(path, &s, &err) == 0, "%s", err.message);
        ck_assert_str_eq(snapshot_path(s), path);
        ck_assert(json_object_equal(snapshot_meta(s), meta));
        ck_assert_ptr_null(snapshot_dmar(s, &n));
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(snapshot_dmar_table(s, &t, &err), -ENODEV);
        ck_assert_ptr_null(t);
        snprintf(want, sizeof want,
                 "snapshot %s: no DMAR table: the machine it was taken on reported no Intel VT-d unit",
                 path);
        ck_assert_str_eq(err.message, want);
        ck_assert_uint_eq(snapshot_n_units(s), 0);
        ck_assert_ptr_null(snapshot_unit_nth(s, 0));
        (void) snapshot_ram_ranges(s, &n);
        ck_assert_uint_eq(n, 0);
        ck_assert_uint_eq(snapshot_n_pages(s), 0);
        ck_assert_int_eq(snapshot_ram(s, &ram), 0);
        ck_assert_int_eq(iommu_ram_read(ram, 0x1000, buf, sizeof buf, &err), -ERANGE);
        ram = iommu_ram_free(ram);
        s = snapshot_free(s);
        free(path);
        remove_dir(dir);
}
END_TEST

START_TEST(every_truncation) {
        char *dir = make_dir(), *path = path_in(dir, "small.iommu");
        _cleanup_free_ uint8_t *f = NULL;
        iommu_error err;
        size_t size;

        f = small_write(path, &size);
        ck_assert_int_eq(open_bytes(f, size, &err), 0);
        for (size_t len = 0; len < size; len++) {
                int r = open_bytes(f, len, &err);
                ck_assert_msg(r == -EBADMSG, "length %zu: %d %s", len, r, err.message);
        }
        expect_error(f, 0, EBADMSG, "file is empty (not an iommud snapshot)");
        expect_error(f, 5, EBADMSG, "file is truncated (5 bytes, the header alone is 64)");
        expect_error(f, 30, EBADMSG, "header is truncated (30 bytes, expected 64)");
        {
                char what[128];
                snprintf(what, sizeof what, "file is truncated (%zu bytes, expected %zu)", size - 1, size);
                expect_error(f, size - 1, EBADMSG, what);
        }
        free(path);
        remove_dir(dir);
}
END_TEST

/* Which bytes a CRC covers: the header, the table and every section. */
static bool covered(const uint8_t *f, size_t at) {
        uint32_t n = le32(f + H_N_SECTIONS);
        uint64_t table = le64(f + H_TABLE_OFFSET);

        if (at < le32(f + H_HEADER_SIZE))
                return true;
        if (at >= table && at < table + (uint64_t) n * le32(f + H_ENTRY_SIZE))
                return true;
        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *e = f + table + (uint64_t) i * le32(f + H_ENTRY_SIZE);
                if (at >= le64(e + E_OFFSET) && at < le64(e + E_OFFSET) + le64(e + E_LENGTH))
                        return true;
        }
        return false;
}

static void flip_one(uint8_t *f, size_t size, size_t at, uint8_t x, size_t *ret_fail, size_t *ret_ok) {
        iommu_error err;
        bool cov = covered(f, at);
        int r;

        f[at] ^= x;
        r = open_bytes(f, size, &err);
        f[at] ^= x;
        if (cov) {
                ck_assert_msg(r < 0, "flip 0x%02x at byte %zu went unnoticed", x, at);
                (*ret_fail)++;
        } else {
                ck_assert_msg(r == 0, "flip at padding byte %zu: %s", at, err.message);
                (*ret_ok)++;
        }
}

START_TEST(byte_flips) {
        char *dir = make_dir(), *path = path_in(dir, "small.iommu");
        _cleanup_free_ uint8_t *f = NULL;
        size_t size, fails = 0, oks = 0;

        f = small_write(path, &size);
        /* every byte once, with every bit set */
        for (size_t at = 0; at < size; at++)
                flip_one(f, size, at, 0xff, &fails, &oks);
        /* and thousands of random flips */
        rng_state = 0x5eed;
        for (unsigned i = 0; i < 4000; i++) {
                size_t at = (size_t) (rng() % size);
                uint8_t x = (uint8_t) (rng() % 255 + 1);
                flip_one(f, size, at, x, &fails, &oks);
        }
        ck_assert_uint_eq(fails + oks, size + 4000);
        ck_assert_uint_gt(oks, 0);     /* there is padding before PAGES */
        ck_assert_uint_gt(fails, oks); /* and far more that matters */
        free(path);
        remove_dir(dir);
}
END_TEST

/* Corrupt the contents of sections and make every CRC right again: only
 * the content checks stand between the bytes and the backends.  Whatever
 * opens must be usable throughout. */
START_TEST(resealed_corruption) {
        char *dir = make_dir(), *path = path_in(dir, "small.iommu");
        _cleanup_free_ uint8_t *orig = NULL, *f = NULL;
        size_t size, opened = 0;
        static const uint32_t types[] = { T_UNITS, T_RAM, T_PAGE_INDEX, T_META, T_UNITS, T_PAGE_INDEX };

        orig = small_write(path, &size);
        f = malloc(size);
        ck_assert_ptr_nonnull(f);
        rng_state = 0xc0ffee;
        for (unsigned i = 0; i < 3000; i++) {
                _cleanup_(snapshot_freep) snapshot *s = NULL;
                uint32_t type = types[rng() % ELEMENTSOF(types)];
                uint8_t *e;
                uint64_t len;
                iommu_error err = {};

                memcpy(f, orig, size);
                e = entry_of(f, type);
                len = le64(e + E_LENGTH);
                for (unsigned k = 0, n = 1 + rng() % 4; k < n; k++) {
                        uint8_t v = (uint8_t) rng();
                        patch_section(f, type, rng() % len, &v, 1);
                }
                if (open_bytes(f, size, &err) < 0)
                        continue;
                opened++;
                ck_assert_int_eq(snapshot_open(mem_path, &s, &err), 0);
                for (size_t u = 0; u < snapshot_n_units(s); u++) {
                        _cleanup_(iommu_regs_freep) iommu_regs *r = NULL;
                        const snapshot_unit *su = snapshot_unit_nth(s, u);
                        ck_assert_int_eq(snapshot_regs(s, u, &r), 0);
                        for (size_t k = 0; k < su->n_regs; k++) {
                                uint64_t v;
                                ck_assert_int_eq(
                                        iommu_regs_read(r, su->regs[k].offset, su->regs[k].width, &v, &err),
                                        0);
                                ck_assert_uint_eq(v, su->regs[k].value);
                        }
                }
                {
                        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
                        uint8_t scratch[VTD_PAGE_SIZE];
                        size_t n_ranges;
                        const phys_range *ranges = snapshot_ram_ranges(s, &n_ranges);
                        ck_assert_int_eq(snapshot_ram(s, &ram), 0);
                        for (size_t k = 0; k < n_ranges; k++)
                                for (uint64_t a = ranges[k].start & ~0xfffull;
                                     a <= ranges[k].end &&
                                     a - (ranges[k].start & ~0xfffull) < 64 * VTD_PAGE_SIZE;
                                     a += VTD_PAGE_SIZE)
                                        (void) iommu_ram_page(ram, a, scratch, &err);
                }
        }
        ck_assert_uint_gt(opened, 0); /* some corruptions are still valid files (page contents, values) */
        free(path);
        remove_dir(dir);
}
END_TEST

START_TEST(crafted_errors) {
        char *dir = make_dir(), *path = path_in(dir, "small.iommu"), *bad = path_in(dir, "bad.iommu");
        _cleanup_free_ uint8_t *orig = NULL, *f = NULL;
        size_t size;
        uint8_t *e, *e2;
        char what[256];

        orig = small_write(path, &size);
        f = malloc(size + 8192);
        ck_assert_ptr_nonnull(f);
#define RESET() memcpy(f, orig, size)

        /* magic and version */
        RESET();
        f[0] = 'X';
        expect_error(f, size, EBADMSG, "not an iommud snapshot (bad magic)");
        expect_error((const uint8_t *) "hello", 5, EBADMSG, "not an iommud snapshot (bad magic)");
        RESET();
        put_le32(f + H_VERSION, 2);
        expect_error(f, size, EPROTONOSUPPORT,
                     "snapshot format version 2 is not supported (this iommuctl reads version 1)");
        RESET();
        put_le32(f + H_VERSION, 0);
        expect_error(f, size, EPROTONOSUPPORT,
                     "snapshot format version 0 is not supported (this iommuctl reads version 1)");
        RESET();
        put_le32(f + H_FLAGS, 1);
        reseal(f);
        {
                iommu_error err;
                ck_assert_int_eq(open_bytes(f, size, &err), -EOPNOTSUPP);
        }
        /* a flag a reader may ignore */
        RESET();
        put_le32(f + H_FLAGS, 0x10000);
        reseal(f);
        {
                iommu_error err;
                ck_assert_int_eq(open_bytes(f, size, &err), 0);
        }
        RESET();
        put_le32(f + H_HEADER_SIZE, 32);
        reseal(f);
        expect_error(f, size, EBADMSG, "header size 32 is too small (at least 64)");
        RESET();
        f[60] ^= 1;
        expect_error(f, size, EBADMSG, "CRC mismatch in the header");
        RESET();
        f[70] ^= 1;
        expect_error(f, size, EBADMSG, "CRC mismatch in the section table");
        RESET();
        memset(f + size, 0, 10);
        snprintf(what, sizeof what, "file has %zu bytes, expected %zu (data after the end)", size + 10,
                 size);
        expect_error(f, size + 10, EBADMSG, what);

        /* the section table */
        RESET();
        put_le64(f + H_TABLE_OFFSET, size - 16);
        reseal(f);
        snprintf(what, sizeof what,
                 "section table (offset 0x%zx, 192 bytes) extends past the end of the file (%zu bytes)",
                 size - 16, size);
        expect_error(f, size, EBADMSG, what);
        RESET();
        put_le64(f + H_TABLE_OFFSET, 32);
        reseal(f);
        expect_error(f, size, EBADMSG, "section table overlaps the header");
        RESET();
        put_le32(f + H_ENTRY_SIZE, 16);
        reseal(f);
        expect_error(f, size, EBADMSG, "section table entries are 16 bytes (at least 32 expected)");

        /* one section overlapping another, the header, the table */
        RESET();
        e = entry_of(f, T_DMAR);
        put_le64(e + E_OFFSET, le64(entry_of(f, T_META) + E_OFFSET) + 8);
        reseal(f);
        expect_error(f, size, EBADMSG, "section DMAR overlaps section META");
        RESET();
        e = entry_of(f, T_RAM);
        put_le64(e + E_OFFSET, 64);
        reseal(f);
        expect_error(f, size, EBADMSG, "section RAM overlaps the section table");
        RESET();
        e = entry_of(f, T_RAM);
        put_le64(e + E_OFFSET, 0);
        reseal(f);
        expect_error(f, size, EBADMSG, "section RAM overlaps the header");

        /* past the end of the file */
        RESET();
        e = entry_of(f, T_PAGES);
        put_le64(e + E_LENGTH, le64(e + E_LENGTH) + 4096);
        reseal(f);
        snprintf(what, sizeof what,
                 "section PAGES extends past the end of the file (offset 0x%" PRIx64 ", %" PRIu64
                 " bytes; the file has %zu)",
                 le64(e + E_OFFSET), le64(e + E_LENGTH), size);
        expect_error(f, size, EBADMSG, what);
        RESET();
        e = entry_of(f, T_UNITS);
        put_le64(e + E_OFFSET, UINT64_MAX - 8);
        reseal(f);
        ck_assert_int_eq(open_bytes(f, size, &(iommu_error){}), -EBADMSG);

        /* a section shorter than its contents */
        RESET();
        e = entry_of(f, T_PAGES);
        put_le64(e + E_LENGTH, le64(e + E_LENGTH) - 4096);
        put_le32(e + E_CRC, crc32_ieee(0, f + le64(e + E_OFFSET), le64(e + E_LENGTH)));
        reseal(f);
        expect_error(f, size, EBADMSG, "section PAGES is truncated (8192 bytes, expected 12288)");

        /* alignment, duplicates, missing, CRC of a section */
        RESET();
        e = entry_of(f, T_PAGES);
        put_le64(e + E_OFFSET, le64(e + E_OFFSET) - 8);
        reseal(f);
        snprintf(what, sizeof what, "section PAGES is not 4096-byte aligned (offset 0x%" PRIx64 ")",
                 le64(e + E_OFFSET));
        expect_error(f, size, EBADMSG, what);
        RESET();
        e = entry_of(f, T_DMAR);
        put_le64(e + E_OFFSET, le64(e + E_OFFSET) + 4);
        reseal(f);
        snprintf(what, sizeof what, "section DMAR is not 8-byte aligned (offset 0x%" PRIx64 ")",
                 le64(e + E_OFFSET));
        expect_error(f, size, EBADMSG, what);
        RESET();
        put_le32(entry_of(f, T_DMAR) + E_TYPE, T_RAM);
        reseal(f);
        expect_error(f, size, EBADMSG, "section RAM appears more than once");
        RESET();
        put_le32(entry_of(f, T_RAM) + E_TYPE, 0x99);
        reseal(f);
        expect_error(f, size, EBADMSG, "section RAM is missing");
        RESET();
        f[le64(entry_of(f, T_UNITS) + E_OFFSET) + 9] ^= 0x20;
        expect_error(f, size, EBADMSG, "CRC mismatch in section UNITS");
        RESET();
        put_le32(entry_of(f, T_DMAR) + E_TYPE, 0x99);
        put_le32(entry_of(f, 0x99) + E_CRC, 1);
        reseal(f);
        expect_error(f, size, EBADMSG, "CRC mismatch in section type 0x99");

        /* META */
        {
                _cleanup_free_ uint8_t *m = NULL;
                size_t mlen;
                RESET();
                e = entry_of(f, T_META);
                mlen = le64(e + E_LENGTH);
                ck_assert_uint_gt(mlen, 10);
                m = malloc(mlen);
                ck_assert_ptr_nonnull(m);

                memset(m, ' ', mlen);
                memcpy(m, "[1, 2]", 6);
                patch_section(f, T_META, 0, m, mlen);
                expect_error(f, size, EBADMSG, "section META is not a JSON object (it is an array)");
                memcpy(m, "null  ", 6);
                patch_section(f, T_META, 0, m, mlen);
                expect_error(f, size, EBADMSG, "section META is not a JSON object (it is null)");
                memcpy(m, "{} x  ", 6);
                patch_section(f, T_META, 0, m, mlen);
                expect_error(f, size, EBADMSG, "section META has data after its JSON value (at byte 3)");
                memcpy(m, "{\"a\": ", 6);
                patch_section(f, T_META, 0, m, mlen);
                snprintf(what, sizeof what,
                         "section META is not valid JSON at byte %zu: the text ends early", mlen);
                expect_error(f, size, EBADMSG, what);
                memcpy(m, "{\"a\":N", 6);
                patch_section(f, T_META, 0, m, mlen);
                expect_error(
                        f, size, EBADMSG,
                        "section META is not valid JSON at byte 5: NaN and Infinity are not JSON numbers");
                memcpy(m, "{\"a\":-", 6);
                patch_section(f, T_META, 0, m, mlen);
                expect_error(f, size, EBADMSG,
                             "section META is not valid JSON at byte 6: unexpected character ' '");
                memcpy(m, "{'a':1", 6);
                patch_section(f, T_META, 0, m, mlen);
                expect_error(
                        f, size, EBADMSG,
                        "section META is not valid JSON at byte 1: a string in single quotes (JSON strings "
                        "take double quotes)");
                memcpy(m, "{}\0   ", 6);
                patch_section(f, T_META, 0, m, mlen);
                expect_error(f, size, EBADMSG, "section META holds a NUL byte (expected JSON text)");
                memcpy(m, "{\"\xff\":1}", 7);
                patch_section(f, T_META, 0, m, mlen);
                expect_error(f, size, EBADMSG,
                             "section META is not valid JSON at byte 2: invalid UTF-8 (byte 0xff)");
                memset(m, ' ', mlen);
                memcpy(m, "{ }", 3); /* whitespace after the object is fine: not so the missing members */
                patch_section(f, T_META, 0, m, mlen);
                expect_error(f, size, EBADMSG, "section META: units is missing (expected an array)");
                put_le64(e + E_LENGTH, 0);
                put_le32(e + E_CRC, 0);
                reseal(f);
                expect_error(f, size, EBADMSG, "section META is empty (expected a JSON object)");
        }

        /* UNITS: the section is 8 + 64 + 9 * 16 bytes; registers start at 72,
         * in the order of small_regs */
        {
                uint8_t b16 = 16, name[32], v8[8];
                uint32_t v;
                RESET();
                patch_section(f, T_UNITS, 72 + 16 + 4, &b16, 1);
                expect_error(f, size, EBADMSG, "unit dmar0 register 0x8 has width 16 (expected 32 or 64)");
                RESET();
                put_le32((uint8_t *) &v, 0x20);
                patch_section(f, T_UNITS, 72 + 16, &v, 4); /* second register now after the third */
                expect_error(f, size, EBADMSG,
                             "unit dmar0 registers are not sorted by offset (0x10 after 0x20)");
                RESET();
                put_le32((uint8_t *) &v, 0x4);
                patch_section(f, T_UNITS, 72 + 16, &v, 4); /* a 64-bit register at 4 */
                expect_error(f, size, EBADMSG, "unit dmar0 register 0x4 is not aligned to its 64-bit width");
                RESET();
                put_le32((uint8_t *) &v, 0x1000);
                patch_section(f, T_UNITS, 72 + 48, &v, 4);
                expect_error(f, size, EBADMSG,
                             "unit dmar0 register 0x1000 lies outside its 4096-byte register window");
                RESET();
                {
                        /* a 32-bit view at 0x24 of the 64-bit RTADDR at 0x20 (instead of CCMD) is fine */
                        uint8_t rec[8] = { 0x24, 0, 0, 0, 32, 0, 0, 0 };
                        patch_section(f, T_UNITS, 72 + 80, rec, 8);
                }
                ck_assert_int_eq(open_bytes(f, size, &(iommu_error){}), 0);
                /* a 32-bit register holds 32 bits */
                RESET();
                put_le64(v8, 0x1c0000000ull);
                patch_section(f, T_UNITS, 72 + 48 + 8, v8, 8);
                expect_error(f, size, EBADMSG,
                             "unit dmar0 register 0x1c is 32 bits wide but holds 0x1c0000000");
                RESET();
                put_le32((uint8_t *) &v, 10);
                patch_section(f, T_UNITS, 8 + 52, &v, 4);
                expect_error(
                        f, size, EBADMSG,
                        "section UNITS is truncated (216 bytes, too short for unit dmar0's 10 registers)");
                RESET();
                put_le32((uint8_t *) &v, 8);
                patch_section(f, T_UNITS, 8 + 52, &v, 4);
                expect_error(f, size, EBADMSG, "section UNITS has 16 bytes after its last unit");
                RESET();
                put_le32((uint8_t *) &v, 4);
                patch_section(f, T_UNITS, 0, &v, 4);
                expect_error(f, size, EBADMSG,
                             "section UNITS is truncated (216 bytes, too short for 4 units)");
                RESET();
                put_le32((uint8_t *) &v, 100000);
                patch_section(f, T_UNITS, 0, &v, 4);
                expect_error(f, size, EBADMSG, "section UNITS claims 100000 units (at most 4096)");
                RESET();
                memset(name, 'x', sizeof name);
                patch_section(f, T_UNITS, 8, name, sizeof name);
                expect_error(f, size, EBADMSG,
                             "unit 0 in section UNITS has no valid name (1 to 31 printable characters, "
                             "NUL-terminated)");
                RESET();
                memset(name, 0, sizeof name);
                memcpy(name, "dm ar", 5);
                patch_section(f, T_UNITS, 8, name, sizeof name);
                ck_assert_int_eq(open_bytes(f, size, &(iommu_error){}), -EBADMSG);
                RESET();
                memset(name, 0, sizeof name);
                memcpy(name, "dmar0\0x", 7);
                patch_section(f, T_UNITS, 8, name, sizeof name);
                expect_error(f, size, EBADMSG,
                             "unit dmar0 in section UNITS has bytes after its name's NUL (expected NULs to "
                             "byte 32)");
                RESET();
                memset(name, 0, 8);
                patch_section(f, T_UNITS, 8 + 40, name, 8); /* window size 0 */
                expect_error(f, size, EBADMSG,
                             "unit dmar0 has an impossible register window (base 0xfed90000, 0 bytes)");

                /* across sections: the DRHD's base and segment, the registers a unit needs */
                RESET();
                put_le64(v8, 0xfed91000);
                patch_section(f, T_UNITS, 8 + 32, v8, 8);
                expect_error(f, size, EBADMSG,
                             "unit dmar0 is at 0xfed91000 in segment 3, but DRHD 0 of the DMAR table at "
                             "0xfed90000 in segment 3");
                RESET();
                put_le32((uint8_t *) &v, 0x2c); /* FSTS is not where it should be */
                patch_section(f, T_UNITS, 72 + 96, &v, 4);
                expect_error(f, size, EBADMSG, "unit dmar0 lacks register FSTS (offset 0x34, 32 bits)");
                RESET();
                put_le32((uint8_t *) &v, 0);
                patch_section(f, T_UNITS, 8 + 52, &v, 4);
                e = entry_of(f, T_UNITS);
                put_le64(e + E_LENGTH, 72);
                put_le32(e + E_CRC, crc32_ieee(0, f + le64(e + E_OFFSET), 72));
                reseal(f);
                expect_error(
                        f, size, EBADMSG,
                        "section META: units[0].registers_error is null, but unit dmar0 has no registers "
                        "(expected why)");
        }

        /* RAM: [0, 0xfffff], [0x200000, 0x2fffff] */
        {
                uint8_t v[8];
                RESET();
                put_le64(v, 0x100000);
                patch_section(f, T_RAM, 0, v, 8);
                expect_error(f, size, EBADMSG, "RAM range 0 ends before it starts (0x100000-0xfffff)");
                RESET();
                put_le64(v, 0xff000);
                patch_section(f, T_RAM, 16, v, 8);
                expect_error(f, size, EBADMSG,
                             "RAM ranges are not sorted and disjoint (0xff000-0x2fffff after 0x0-0xfffff)");
                RESET();
                put_le64(v, 0x2000);
                patch_section(f, T_RAM, 0, v, 8); /* page 0x1000 is no longer RAM */
                expect_error(f, size, EBADMSG,
                             "page 0x1000 in section PAGE_INDEX is not inside a RAM range");
                RESET();
                e = entry_of(f, T_RAM);
                put_le64(e + E_LENGTH, 24);
                put_le32(e + E_CRC, crc32_ieee(0, f + le64(e + E_OFFSET), 24));
                reseal(f);
                expect_error(f, size, EBADMSG, "section RAM has 24 bytes, not a multiple of 16");
        }

        /* PAGE_INDEX: 0x1000, 0x2000, 0x3000 */
        {
                uint8_t v[8];
                RESET();
                put_le64(v, 0x3000);
                patch_section(f, T_PAGE_INDEX, 0, v, 8);
                put_le64(v, 0x1000);
                patch_section(f, T_PAGE_INDEX, 16, v, 8);
                expect_error(f, size, EBADMSG, "section PAGE_INDEX is not sorted (0x2000 after 0x3000)");
                RESET();
                put_le64(v, 0x2000);
                patch_section(f, T_PAGE_INDEX, 0, v, 8);
                expect_error(f, size, EBADMSG, "page 0x2000 appears twice in section PAGE_INDEX");
                RESET();
                put_le64(v, 0x1800);
                patch_section(f, T_PAGE_INDEX, 0, v, 8);
                expect_error(f, size, EBADMSG, "page 0x1800 in section PAGE_INDEX is not 4096-byte aligned");
                RESET();
                put_le64(v, 0x300000);
                patch_section(f, T_PAGE_INDEX, 16, v, 8);
                expect_error(f, size, EBADMSG,
                             "page 0x300000 in section PAGE_INDEX is not inside a RAM range");
                RESET();
                e = entry_of(f, T_PAGE_INDEX);
                put_le64(e + E_LENGTH, 16);
                put_le32(e + E_CRC, crc32_ieee(0, f + le64(e + E_OFFSET), 16));
                reseal(f);
                expect_error(f, size, EBADMSG, "section PAGES has 12288 bytes, expected 8192 for 2 pages");
        }

        /* A later revision: a longer header, an extra section of an unknown
         * type, the table moved to the end.  Read, the extra skipped. */
        {
                _cleanup_(snapshot_freep) snapshot *s = NULL;
                iommu_error err = {};
                size_t n2 = size + 64 + 7 * 32;
                RESET();
                memcpy(f + size, "EXTRA SECTION DATA..............", 32);
                memset(f + size + 32, 0xab, 32);
                memcpy(f + size + 64, f + 64, 6 * 32);
                e2 = f + size + 64 + 6 * 32;
                memset(e2, 0, 32);
                put_le32(e2 + E_TYPE, 0x40);
                put_le64(e2 + E_OFFSET, size);
                put_le64(e2 + E_LENGTH, 64);
                put_le32(e2 + E_CRC, crc32_ieee(0, f + size, 64));
                put_le32(f + H_REVISION, 3);
                put_le32(f + H_HEADER_SIZE, 128); /* the old table's first bytes are now header */
                put_le32(f + H_N_SECTIONS, 7);
                put_le64(f + H_TABLE_OFFSET, size + 64);
                put_le64(f + H_FILE_SIZE, n2);
                reseal(f);
                spill(bad, f, n2);
                ck_assert_msg(snapshot_open(bad, &s, &err) == 0, "%s", err.message);
                ck_assert_uint_eq(snapshot_n_pages(s), 3);
                ck_assert_uint_eq(snapshot_n_units(s), 1);
        }
#undef RESET

        free(path);
        free(bad);
        remove_dir(dir);
}
END_TEST

START_TEST(writer_refuses) {
        _cleanup_(snapshot_writer_freep) snapshot_writer *w = NULL;
        _cleanup_json_ json_object *arr = json_object_new_array();
        static const phys_range overlapping[] = { { 0, 0x1fff }, { 0x1000, 0x2fff } };
        static const phys_range backwards[] = { { 0x2000, 0x1fff } };
        static const phys_range ram[] = { { 0x1000, 0x1fff } };
        snapshot_reg regs[2] = { { .offset = 0, .width = 32 }, { .offset = 8, .width = 16 } };
        snapshot_unit u = { .name = "dmar0", .base = 0x1000, .size = 0x1000, .regs = regs, .n_regs = 2 };
        uint8_t page[VTD_PAGE_SIZE] = {};
        char *dir = make_dir(), *path = path_in(dir, "x.iommu");
        iommu_error err = {};

        ck_assert_int_eq(snapshot_writer_new(&w), 0);
        ck_assert_int_eq(snapshot_writer_set_meta(w, arr), -EINVAL);
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u), -EINVAL);
        regs[1].width = 64;
        regs[1].offset = 4;
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u), -EINVAL); /* misaligned */
        regs[1].offset = 0;
        regs[1].width = 32;
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u), -EINVAL); /* twice */
        regs[1].offset = 0x1000;
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u), -EINVAL); /* outside */
        regs[1].offset = 4;
        u.name[0] = '\0';
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u), -EINVAL);
        strcpy(u.name, "dmar0");
        u.size = 0;
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u), -EINVAL);
        u.size = 0x1000;
        regs[0].value = 0x100000000ull; /* more than 32 bits */
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u), -EINVAL);
        regs[0].value = 0xffffffffu;
        ck_assert_int_eq(snapshot_writer_add_unit(w, &u), 0);
        ck_assert_int_eq(snapshot_writer_set_ram_ranges(w, overlapping, 2), -EINVAL);
        ck_assert_int_eq(snapshot_writer_set_ram_ranges(w, backwards, 1), -EINVAL);
        ck_assert_int_eq(snapshot_writer_set_ram_ranges(w, ram, 1), 0);
        /* a meta object the reader would refuse: a string that is not UTF-8 */
        {
                _cleanup_json_ json_object *meta = json_object_new_object();
                json_object_object_add(meta, "name", json_object_new_string("bad \xff byte"));
                ck_assert_int_eq(snapshot_writer_set_meta(w, meta), 0);
                ck_assert_int_eq(snapshot_writer_write(w, path, &err), -EINVAL);
                ck_assert_ptr_nonnull(
                        strstr(err.message, "section META is not valid JSON at byte 13: invalid UTF-8"));
                ck_assert_uint_eq(dir_entries(dir), 0);
                ck_assert_int_eq(snapshot_writer_set_meta(w, NULL), 0);
        }
        /* nor a number that is not finite */
        {
                _cleanup_json_ json_object *meta = meta_without_units();
                json_object_object_add(meta, "x", json_object_new_double(NAN));
                ck_assert_int_eq(snapshot_writer_set_meta(w, meta), 0);
                ck_assert_int_eq(snapshot_writer_write(w, path, &err), -EINVAL);
                ck_assert_ptr_nonnull(strstr(err.message, "NaN and Infinity are not JSON numbers"));
        }
        /* a unit without a DMAR table, and without META for it */
        {
                _cleanup_json_ json_object *meta = meta_without_units();
                ck_assert_int_eq(snapshot_writer_set_meta(w, meta), 0);
                ck_assert_int_eq(snapshot_writer_write(w, path, &err), -EINVAL);
                ck_assert_ptr_nonnull(strstr(err.message,
                                             ": section DMAR is empty (the machine had no table) but "
                                             "section UNITS holds 1 unit"));
                ck_assert_uint_eq(dir_entries(dir), 0);
        }
        ck_assert_int_eq(snapshot_writer_add_page(w, 0x1800, page), -EINVAL);
        ck_assert_int_eq(snapshot_writer_add_page(w, 0x1000, page), 0);
        ck_assert_int_eq(snapshot_writer_add_page(w, 0x5000, page), 0);
        /* a page outside RAM: nothing is written */
        ck_assert_int_eq(snapshot_writer_write(w, path, &err), -ERANGE);
        ck_assert_ptr_nonnull(strstr(err.message, "page 0x5000 is not inside a RAM range"));
        ck_assert_uint_eq(dir_entries(dir), 0);
        free(path);
        remove_dir(dir);
}
END_TEST

START_TEST(writer_keeps_existing_file) {
        char *dir = make_dir(), *path = path_in(dir, "keep.iommu"),
             *missing = path_in(dir, "no/such/dir/x.iommu");
        _cleanup_free_ uint8_t *before = NULL, *after = NULL;
        _cleanup_(snapshot_writer_freep) snapshot_writer *w = NULL;
        _cleanup_json_ json_object *meta = meta_without_units();
        uint8_t page[VTD_PAGE_SIZE];
        static const phys_range ram[] = { { 0, 0x3fffffff } };
        iommu_error err = {};
        struct rlimit old, lim;
        size_t n_before, n_after;
        void (*old_handler)(int);

        before = small_write(path, &n_before);
        ck_assert_int_eq(snapshot_writer_new(&w), 0);
        ck_assert_int_eq(snapshot_writer_set_meta(w, meta), 0);
        ck_assert_int_eq(snapshot_writer_set_ram_ranges(w, ram, 1), 0);
        for (uint64_t a = 0; a < 64 * VTD_PAGE_SIZE; a += VTD_PAGE_SIZE) {
                page_fill(page, a, 3);
                ck_assert_int_eq(snapshot_writer_add_page(w, a, page), 0);
        }

        /* a directory that does not exist */
        ck_assert_int_lt(snapshot_writer_write(w, missing, &err), 0);
        ck_assert_int_eq(err.error, ENOENT);
        ck_assert_ptr_nonnull(strstr(err.message, missing));

        /* the file system refuses more than 16 KiB: the temporary file
         * cannot be finished; the old file stays as it was */
        ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
        old_handler = signal(SIGXFSZ, SIG_IGN);
        lim = old;
        lim.rlim_cur = 16384;
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
        ck_assert_int_eq(snapshot_writer_write(w, path, &err), -EFBIG);
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
        (void) signal(SIGXFSZ, old_handler);
        ck_assert_ptr_nonnull(strstr(err.message, path));
        after = slurp(path, &n_after);
        ck_assert_uint_eq(n_after, n_before);
        ck_assert_mem_eq(after, before, n_before);
        ck_assert_uint_eq(dir_entries(dir), 1); /* the temporary file is gone */

        /* a read-only directory (root writes there anyway: skipped) */
        if (geteuid() != 0) {
                ck_assert_int_eq(chmod(dir, 0555), 0);
                ck_assert_int_eq(snapshot_writer_write(w, path, &err), -EACCES);
                ck_assert_int_eq(chmod(dir, 0755), 0);
                free(after);
                after = slurp(path, &n_after);
                ck_assert_mem_eq(after, before, n_before);
        }

        /* and when writing works, the file is replaced */
        ck_assert_msg(snapshot_writer_write(w, path, &err) == 0, "%s", err.message);
        {
                _cleanup_(snapshot_freep) snapshot *s = NULL;
                ck_assert_msg(snapshot_open(path, &s, &err) == 0, "%s", err.message);
                ck_assert_uint_eq(snapshot_n_pages(s), 64);
        }
        ck_assert_uint_eq(dir_entries(dir), 1);
        free(path);
        free(missing);
        remove_dir(dir);
}
END_TEST

START_TEST(open_failures) {
        char *dir = make_dir(), *path = path_in(dir, "none.iommu");
        snapshot *s = (snapshot *) 0x1;
        iommu_error err = {};
        char want[512];

        ck_assert_int_eq(snapshot_open(path, &s, &err), -ENOENT);
        ck_assert_ptr_eq(s, (snapshot *) 0x1);
        snprintf(want, sizeof want, "Failed to open snapshot %s: No such file or directory", path);
        ck_assert_str_eq(err.message, want);
        ck_assert_int_eq(snapshot_open(dir, &s, &err), -EISDIR);
        ck_assert_int_eq(snapshot_open("/dev/null", &s, &err), -EINVAL);
        ck_assert_ptr_eq(s, (snapshot *) 0x1);
        /* no err: still just the errno */
        ck_assert_int_eq(snapshot_open(path, &s, NULL), -ENOENT);
        free(path);
        remove_dir(dir);
}
END_TEST

START_TEST(many_pages_added_again) {
        _cleanup_(snapshot_writer_freep) snapshot_writer *w = NULL;
        _cleanup_(snapshot_freep) snapshot *s = NULL;
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        static const phys_range ram_range[] = { { 0, 0xffffffff } };
        _cleanup_json_ json_object *meta = meta_without_units();
        char *dir = make_dir(), *path = path_in(dir, "again.iommu");
        uint8_t page[VTD_PAGE_SIZE], scratch[VTD_PAGE_SIZE];
        iommu_error err = {};

        /* the same 100 addresses, 50 times over: memory stays bounded and the
         * last contents win */
        ck_assert_int_eq(snapshot_writer_new(&w), 0);
        ck_assert_int_eq(snapshot_writer_set_meta(w, meta), 0);
        ck_assert_int_eq(snapshot_writer_set_ram_ranges(w, ram_range, 1), 0);
        for (unsigned gen = 0; gen < 50; gen++)
                for (uint64_t i = 0; i < 100; i++) {
                        page_fill(page, i * 0x10000, gen);
                        ck_assert_int_eq(snapshot_writer_add_page(w, i * 0x10000, page), 0);
                }
        ck_assert_msg(snapshot_writer_write(w, path, &err) == 0, "%s", err.message);
        ck_assert_msg(snapshot_open(path, &s, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(snapshot_n_pages(s), 100);
        ck_assert_int_eq(snapshot_ram(s, &ram), 0);
        for (uint64_t i = 0; i < 100; i++) {
                const void *p = iommu_ram_page(ram, i * 0x10000, scratch, &err);
                ck_assert_ptr_nonnull(p);
                page_fill(page, i * 0x10000, 49);
                ck_assert_mem_eq(p, page, VTD_PAGE_SIZE);
        }
        ram = iommu_ram_free(ram);
        s = snapshot_free(s);
        free(path);
        remove_dir(dir);
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("snapshot");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, crc32_check_value);
        tcase_add_test(tc, round_trip);
        tcase_add_test(tc, empty_snapshot);
        tcase_add_test(tc, every_truncation);
        tcase_add_test(tc, byte_flips);
        tcase_add_test(tc, resealed_corruption);
        tcase_add_test(tc, crafted_errors);
        tcase_add_test(tc, writer_refuses);
        tcase_add_test(tc, writer_keeps_existing_file);
        tcase_add_test(tc, open_failures);
        tcase_add_test(tc, many_pages_added_again);
        suite_add_tcase(s, tc);
        return s;
}
