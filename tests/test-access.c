/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Layer 1, access, against fixture trees built here at test time: the
 * sysroot, /proc/iomem parsing, a synthetic /proc/kcore (an ELF64 core file
 * with PT_LOAD segments by physical address), /dev/mem as a sparse regular
 * file holding register values at 0xfed90000, the register file image, and
 * every refusal's sentence (missing files, not root, kernel lockdown).
 */
#include <elf.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "access/access.h"
#include "access/ctx.h"
#include "check-main.h"
#include "decode/layouts.h"
#include "decode/regs.h"

/* ---- fixture trees ---- */

typedef struct fixture {
        char root[64];
        iommu_ctx *ctx;
} fixture;

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

static void fixture_done(fixture *f) {
        f->ctx = iommu_ctx_free(f->ctx);
        if (f->root[0])
                (void) nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
#define _cleanup_fixture_ _cleanup_(fixture_done)

static void fixture_init(fixture *f) {
        const char *tmp = getenv("TMPDIR");

        snprintf(f->root, sizeof f->root, "%s/test-access.XXXXXX", tmp && strlen(tmp) < 30 ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(f->root));
        /* searchable, so the unprivileged tests below see inside */
        ck_assert_int_eq(chmod(f->root, 0755), 0);
        ck_assert_int_eq(iommu_ctx_new(f->root, &f->ctx), 0);
}

static char *fixture_path(const fixture *f, const char *rel) {
        char *p;
        ck_assert_int_ge(asprintf(&p, "%s/%s", f->root, rel), 0);
        return p;
}

static void mkdir_parents(const fixture *f, const char *rel) {
        _cleanup_free_ char *p = fixture_path(f, rel);
        for (char *s = p + strlen(f->root) + 1; (s = strchr(s, '/')); s++) {
                *s = '\0';
                ck_assert(mkdir(p, 0755) == 0 || errno == EEXIST);
                *s = '/';
        }
}

static void put_file(const fixture *f, const char *rel, const void *data, size_t len, mode_t mode) {
        _cleanup_free_ char *p = fixture_path(f, rel);
        _cleanup_close_ int fd = -EBADF;

        mkdir_parents(f, rel);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
        ck_assert_int_eq(fchmod(fd, mode), 0);
}

static void put_text(const fixture *f, const char *rel, const char *text) {
        put_file(f, rel, text, strlen(text), 0644);
}

static void put_at(const fixture *f, const char *rel, uint64_t offset, const void *data, size_t len) {
        _cleanup_free_ char *p = fixture_path(f, rel);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pwrite(fd, data, len, (off_t) offset), (ssize_t) len);
}

#define assert_msg_has(e, s) \
        ck_assert_msg(strstr((e).message, (s)), "message \"%s\" lacks \"%s\"", (e).message, (s))

/* ---- the context ---- */

START_TEST(ctx_sysroot) {
        static const char *const real[] = { NULL, "", "/", "//" };
        _cleanup_(iommu_ctx_freep) iommu_ctx *c = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL, *d = NULL;

        for (size_t i = 0; i < ELEMENTSOF(real); i++) {
                _cleanup_(iommu_ctx_freep) iommu_ctx *r = NULL;
                _cleanup_free_ char *p = NULL;
                ck_assert_int_eq(iommu_ctx_new(real[i], &r), 0);
                ck_assert_str_eq(iommu_ctx_sysroot(r), "");
                p = iommu_ctx_path(r, "/proc/iomem");
                ck_assert_str_eq(p, "/proc/iomem");
        }

        ck_assert_int_eq(iommu_ctx_new("/srv/fixture///", &c), 0);
        ck_assert_str_eq(iommu_ctx_sysroot(c), "/srv/fixture");
        a = iommu_ctx_path(c, "/proc/iomem");
        b = iommu_ctx_path(c, "proc/iomem");
        d = iommu_ctx_path(c, "//dev/mem");
        ck_assert_str_eq(a, "/srv/fixture/proc/iomem");
        ck_assert_str_eq(b, "/srv/fixture/proc/iomem");
        ck_assert_str_eq(d, "/srv/fixture/dev/mem");
}
END_TEST

START_TEST(ctx_open_and_read) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL, *missing = NULL;
        iommu_error e = {};
        size_t size = 99;
        int r;

        fixture_init(&f);
        put_text(&f, "sys/class/iommu/dmar0/intel-iommu/cap", "d2008c22260286\n");

        fd = iommu_ctx_open(f.ctx, "/sys/class/iommu/dmar0/intel-iommu/cap", O_RDONLY, &e);
        ck_assert_int_ge(fd, 0);
        ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);

        ck_assert_int_eq(iommu_ctx_read_file(f.ctx, "/sys/class/iommu/dmar0/intel-iommu/cap", 64,
                                             (void **) &data, &size, &e),
                         0);
        ck_assert_uint_eq(size, 15);
        ck_assert_str_eq(data, "d2008c22260286\n");

        /* too big: -EFBIG, not a truncation */
        r = iommu_ctx_read_file(f.ctx, "/sys/class/iommu/dmar0/intel-iommu/cap", 4, (void **) &data, &size,
                                &e);
        ck_assert_int_eq(r, -EFBIG);

        /* a missing file: one sentence naming the path below the sysroot */
        missing = fixture_path(&f, "proc/nothing");
        r = iommu_ctx_open(f.ctx, "/proc/nothing", O_RDONLY, &e);
        ck_assert_int_eq(r, -ENOENT);
        ck_assert_int_eq(e.error, ENOENT);
        assert_msg_has(e, missing);
        assert_msg_has(e, "No such file");
        r = iommu_ctx_read_file(f.ctx, "/proc/nothing", 64, (void **) &data, &size, &e);
        ck_assert_int_eq(r, -ENOENT);
        assert_msg_has(e, missing);

        /* no way out of the sysroot */
        r = iommu_ctx_open(f.ctx, "/../etc/passwd", O_RDONLY, &e);
        ck_assert_int_eq(r, -EINVAL);
        assert_msg_has(e, "sysroot");
        r = iommu_ctx_read_file(f.ctx, "/proc/..", 64, (void **) &data, &size, &e);
        ck_assert_int_eq(r, -EINVAL);
        /* names that only contain dots are fine */
        r = iommu_ctx_open(f.ctx, "/proc/..x", O_RDONLY, &e);
        ck_assert_int_eq(r, -ENOENT);
}
END_TEST

/* ---- /proc/iomem ---- */

/* A real machine's shape: nested entries, a 64-bit tail, RAM split in
 * adjacent and overlapping top-level pieces (merged), nested "System RAM"
 * (dax kmem, persistent memory) that does not count. */
static const char iomem_real[] = "00000000-00000fff : Reserved\n"
                                 "00001000-0009fbff : System RAM\n"
                                 "0009fc00-0009ffff : Reserved\n"
                                 "000a0000-000bffff : PCI Bus 0000:00\n"
                                 "000c0000-000c99ff : Video ROM\n"
                                 "000f0000-000fffff : Reserved\n"
                                 "  000f0000-000fffff : System ROM\n"
                                 "00100000-7ffdffff : System RAM\n"
                                 "  01000000-01e00fff : Kernel code\n"
                                 "  01e00000-0289ffff : Kernel rodata\n"
                                 "  02a00000-02e3fbff : Kernel data\n"
                                 "  033f6000-037fffff : Kernel bss\n"
                                 "7ffe0000-7fffffff : Reserved\n"
                                 "80000000-afffffff : PCI Bus 0000:00\n"
                                 "b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]\n"
                                 "  b0000000-bfffffff : Reserved\n"
                                 "c0000000-febfffff : PCI Bus 0000:00\n"
                                 "  fea00000-feafffff : 0000:00:03.0\n"
                                 "fec00000-fec003ff : IOAPIC 0\n"
                                 "fed00000-fed003ff : HPET 0\n"
                                 "fed90000-fed90fff : dmar0\n"
                                 "fee00000-fee00fff : Local APIC\n"
                                 "fffc0000-ffffffff : Reserved\n"
                                 "180000000-1ffffffff : System RAM\n"
                                 "  190000000-19fffffff : System RAM (kmem)\n"
                                 "100000000-17fffffff : System RAM\n"
                                 "140000000-140ffffff : System RAM\n"
                                 "300000000-37fffffff : Persistent Memory\n"
                                 "  300000000-37fffffff : System RAM\n"
                                 "fffffffff0000000-ffffffffffffffff : System RAM\n";

START_TEST(iomem_real_machine) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_free_ phys_range *r = NULL;
        iommu_error e = {};
        size_t n = 0;

        fixture_init(&f);
        put_text(&f, "proc/iomem", iomem_real);
        ck_assert_int_eq(iomem_system_ram(f.ctx, &r, &n, &e), 0);
        ck_assert_uint_eq(n, 4);
        ck_assert_uint_eq(r[0].start, 0x1000);
        ck_assert_uint_eq(r[0].end, 0x9fbff);
        ck_assert_uint_eq(r[1].start, 0x100000);
        ck_assert_uint_eq(r[1].end, 0x7ffdffff);
        ck_assert_uint_eq(r[2].start, 0x100000000);
        ck_assert_uint_eq(r[2].end, 0x1ffffffff);
        ck_assert_uint_eq(r[3].start, 0xfffffffff0000000);
        ck_assert_uint_eq(r[3].end, UINT64_MAX);
}
END_TEST

START_TEST(iomem_not_root) {
        _cleanup_fixture_ fixture f = {};
        phys_range *r = (phys_range *) 0x1;
        iommu_error e = {};
        size_t n = 77;

        fixture_init(&f);
        /* what a user without CAP_SYS_ADMIN reads */
        put_text(&f, "proc/iomem",
                 "00000000-00000000 : Reserved\n"
                 "00000000-00000000 : System RAM\n"
                 "  00000000-00000000 : Kernel code\n"
                 "00000000-00000000 : PCI Bus 0000:00\n");
        ck_assert_int_eq(iomem_system_ram(f.ctx, &r, &n, &e), -EPERM);
        ck_assert_int_eq(e.error, EPERM);
        assert_msg_has(e, "reading /proc/iomem addresses needs root (CAP_SYS_ADMIN)");
        /* nothing written on failure */
        ck_assert_ptr_eq(r, (phys_range *) 0x1);
        ck_assert_uint_eq(n, 77);
}
END_TEST

START_TEST(iomem_malformed) {
        static const struct {
                const char *text;
                const char *line;
        } cases[] = {
                { "00000000-00000fff : Reserved\n00001000-0009fbff System RAM\n", "line 2 " },
                { "00001000-0009fbff : System RAM\n\n", "line 2 " },
                { "0009fbff-00001000 : System RAM\n", "line 1 " },
                { "00001000-0009fbfg : System RAM\n", "line 1 " },
                { "00001000 : System RAM\n", "line 1 " },
                { "-0009fbff : System RAM\n", "line 1 " },
                { "a:\n", "line 1 " },
                { "00000000-00000fff : Reserved\n  x0000000-00000fff : Reserved\n", "line 2 " },
                { "00000000-00000fff : Reserved\n\t00000000-00000fff : Reserved\n", "line 2 " },
                { "00000000000000000-1 : System RAM\n", "line 1 " },
                { "0x1000-0x2000 : System RAM\n", "line 1 " },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_fixture_ fixture f = {};
                _cleanup_free_ phys_range *r = NULL;
                _cleanup_free_ char *path = NULL;
                iommu_error e = {};
                size_t n;

                fixture_init(&f);
                put_text(&f, "proc/iomem", cases[i].text);
                path = fixture_path(&f, "proc/iomem");
                ck_assert_int_eq(iomem_system_ram(f.ctx, &r, &n, &e), -EINVAL);
                ck_assert_ptr_null(r);
                assert_msg_has(e, cases[i].line);
                assert_msg_has(e, path);
        }
}
END_TEST

START_TEST(iomem_missing_or_empty) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_free_ phys_range *r = NULL;
        _cleanup_free_ char *path = NULL;
        iommu_error e = {};
        size_t n;

        fixture_init(&f);
        path = fixture_path(&f, "proc/iomem");
        ck_assert_int_eq(iomem_system_ram(f.ctx, &r, &n, &e), -ENOENT);
        assert_msg_has(e, path);

        put_text(&f, "proc/iomem", "00000000-00000fff : Reserved\n  00001000-0009fbff : System RAM\n");
        ck_assert_int_eq(iomem_system_ram(f.ctx, &r, &n, &e), -ENODATA);
        assert_msg_has(e, "System RAM");
        assert_msg_has(e, path);

        /* an empty file is not "every address is 0" */
        put_text(&f, "proc/iomem", "");
        ck_assert_int_eq(iomem_system_ram(f.ctx, &r, &n, &e), -ENODATA);
}
END_TEST

/* ---- /proc/kcore ---- */

/* The byte a synthetic kcore holds for a physical address. */
static uint8_t pattern(uint64_t paddr) {
        return (uint8_t) (paddr * 7 ^ paddr >> 8 ^ paddr >> 32);
}

typedef struct test_segment {
        uint64_t paddr, size, offset;
        uint8_t fill; /* 0: pattern(paddr); else this byte */
} test_segment;

/* Segments of the fixture kcore:
 *  low RAM, two adjacent direct-map pieces, a kernel-text segment inside
 *  the first of them (different bytes: it must never be used), vmalloc
 *  (p_paddr -1), and a sparse, high one at 4 GiB, 1 GiB into the file. */
static const test_segment kcore_segs[] = {
        { .paddr = 0x1000, .size = 0x9f000, .offset = 0x10000 },
        { .paddr = 0x100000, .size = 0x100000, .offset = 0x100000 },
        { .paddr = 0x200000, .size = 0x100000, .offset = 0x200000 },
        { .paddr = 0x180000, .size = 0x10000, .offset = 0x300000, .fill = 0xdd },
        { .paddr = UINT64_MAX, .size = 0x1000, .offset = 0x310000, .fill = 0xee },
        { .paddr = 0x100000000, .size = 0x200000, .offset = 0x40000000 },
};

/* System RAM: low RAM ends before the segment does; the high segment is
 * only partly RAM; 16 GiB has RAM that kcore does not show. */
static const char kcore_iomem[] = "00000000-00000fff : Reserved\n"
                                  "00001000-0009fbff : System RAM\n"
                                  "0009fc00-0009ffff : Reserved\n"
                                  "00100000-002fffff : System RAM\n"
                                  "  00180000-0018ffff : Kernel code\n"
                                  "fed90000-fed90fff : dmar0\n"
                                  "100000000-1000fffff : System RAM\n"
                                  "400000000-4ffffffff : System RAM\n";

static Elf64_Ehdr kcore_ehdr(unsigned phnum) {
        Elf64_Ehdr eh = {
                .e_type = ET_CORE,
                .e_machine = EM_X86_64,
                .e_version = EV_CURRENT,
                .e_phoff = sizeof(Elf64_Ehdr),
                .e_ehsize = sizeof(Elf64_Ehdr),
                .e_phentsize = sizeof(Elf64_Phdr),
                .e_phnum = (Elf64_Half) phnum,
        };
        memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        eh.e_ident[EI_VERSION] = EV_CURRENT;
        return eh;
}

/* The fixture kcore: ELF header, a PT_NOTE and the PT_LOADs, their data. */
static void put_kcore(const fixture *f) {
        size_t nseg = ELEMENTSOF(kcore_segs);
        Elf64_Phdr ph[ELEMENTSOF(kcore_segs) + 1] = {};
        Elf64_Ehdr eh = kcore_ehdr((unsigned) nseg + 1);
        _cleanup_free_ uint8_t *buf = NULL;

        ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x1000, .p_filesz = 0x100 };
        for (size_t i = 0; i < nseg; i++) {
                const test_segment *s = &kcore_segs[i];
                ph[i + 1] = (Elf64_Phdr){
                        .p_type = PT_LOAD,
                        .p_flags = PF_R | PF_W | PF_X,
                        .p_offset = s->offset,
                        .p_vaddr = 0xffff888000000000 + (s->paddr == UINT64_MAX ? 0x100000000000 : s->paddr),
                        .p_paddr = s->paddr,
                        .p_filesz = s->size,
                        .p_memsz = s->size,
                        .p_align = 4096,
                };
        }
        put_file(f, "proc/kcore", &eh, sizeof eh, 0400);
        put_at(f, "proc/kcore", sizeof eh, ph, sizeof ph);
        for (size_t i = 0; i < nseg; i++) {
                const test_segment *s = &kcore_segs[i];
                buf = realloc(buf, s->size);
                ck_assert_ptr_nonnull(buf);
                for (uint64_t j = 0; j < s->size; j++)
                        buf[j] = s->fill ? s->fill : pattern(s->paddr + j);
                put_at(f, "proc/kcore", s->offset, buf, s->size);
        }
        put_text(f, "proc/iomem", kcore_iomem);
}

static void assert_pattern(const uint8_t *buf, uint64_t paddr, size_t len) {
        for (size_t i = 0; i < len; i++)
                ck_assert_msg(buf[i] == pattern(paddr + i), "byte at 0x%" PRIx64 " is 0x%02x, not 0x%02x",
                              paddr + i, buf[i], pattern(paddr + i));
}

START_TEST(kcore_segments_and_ranges) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        iommu_error e = {};

        fixture_init(&f);
        put_kcore(&f);
        ck_assert_msg(iommu_ram_open_kcore(f.ctx, &ram, &e) == 0, "%s", e.message);
        ck_assert_str_eq(ram->ops->name, "kcore");
        ck_assert_ptr_null(ram->ops->peek);

        /* System RAM that kcore has, merged where adjacent */
        ck_assert_uint_eq(ram->n_ranges, 3);
        ck_assert_uint_eq(ram->ranges[0].start, 0x1000);
        ck_assert_uint_eq(ram->ranges[0].end, 0x9fbff);
        ck_assert_uint_eq(ram->ranges[1].start, 0x100000);
        ck_assert_uint_eq(ram->ranges[1].end, 0x2fffff);
        ck_assert_uint_eq(ram->ranges[2].start, 0x100000000);
        ck_assert_uint_eq(ram->ranges[2].end, 0x1000fffff);

        ck_assert(iommu_ram_contains(ram, 0x5000, 4096));
        ck_assert(!iommu_ram_contains(ram, 0x9f000, 4096));
        ck_assert(!iommu_ram_contains(ram, 0x400000000, 8));
}
END_TEST

START_TEST(kcore_reads) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        _cleanup_free_ uint8_t *big = NULL;
        uint8_t buf[64], page[VTD_PAGE_SIZE];
        const uint8_t *pg;
        iommu_error e = {};

        fixture_init(&f);
        put_kcore(&f);
        ck_assert_msg(iommu_ram_open_kcore(f.ctx, &ram, &e) == 0, "%s", e.message);

        /* inside one segment */
        ck_assert_int_eq(iommu_ram_read(ram, 0x5008, buf, 16, &e), 0);
        assert_pattern(buf, 0x5008, 16);
        /* inside the kernel-text segment's range: the direct map's bytes */
        ck_assert_int_eq(iommu_ram_read(ram, 0x180ff8, buf, 16, &e), 0);
        assert_pattern(buf, 0x180ff8, 16);
        /* across two segments: the read is split */
        ck_assert_int_eq(iommu_ram_read(ram, 0x1ffff0, buf, 32, &e), 0);
        assert_pattern(buf, 0x1ffff0, 32);
        /* a large one across both and the text segment */
        big = malloc(0x180000);
        ck_assert_ptr_nonnull(big);
        ck_assert_int_eq(iommu_ram_read(ram, 0x140000, big, 0x180000, &e), 0);
        assert_pattern(big, 0x140000, 0x180000);
        /* high and sparse, a page at a time */
        pg = iommu_ram_page(ram, 0x100003000, page, &e);
        ck_assert_ptr_nonnull(pg);
        assert_pattern(pg, 0x100003000, VTD_PAGE_SIZE);
        /* the last bytes of RAM */
        ck_assert_int_eq(iommu_ram_read(ram, 0x1000ffff8, buf, 8, &e), 0);
        assert_pattern(buf, 0x1000ffff8, 8);

        /* outside System RAM: in a segment but not RAM, RAM but in no
         * segment, in neither, straddling the end of RAM */
        ck_assert_int_eq(iommu_ram_read(ram, 0x9fc00, buf, 8, &e), -ERANGE);
        ck_assert_int_eq(iommu_ram_read(ram, 0x400000000, buf, 8, &e), -ERANGE);
        ck_assert_int_eq(iommu_ram_read(ram, 0xfed90000, buf, 8, &e), -ERANGE);
        ck_assert_int_eq(iommu_ram_read(ram, 0x2ffff8, buf, 16, &e), -ERANGE);
        ck_assert_int_eq(iommu_ram_read(ram, 0x100100000, buf, 8, &e), -ERANGE);
        ck_assert_ptr_null(iommu_ram_page(ram, 0x300000, page, &e));
        ck_assert_int_eq(e.error, ERANGE);

        /* the backend itself never reads where it has no segment */
        ck_assert_int_eq(ram->ops->read(ram, 0x400000000, buf, 8, &e), -ERANGE);
        ck_assert_int_eq(ram->ops->read(ram, 0x9fff8, buf, 16, &e), -ERANGE);
}
END_TEST

/* Write a kcore of the given header bytes and phdrs, expect -EINVAL or
 * -ENODATA with a sentence containing what. */
static void expect_bad_kcore(const void *hdr, size_t hdr_len, const void *ph, size_t ph_len, int error,
                             const char *what) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        _cleanup_free_ char *path = NULL;
        iommu_error e = {};

        fixture_init(&f);
        put_text(&f, "proc/iomem", kcore_iomem);
        put_file(&f, "proc/kcore", hdr, hdr_len, 0400);
        if (ph)
                put_at(&f, "proc/kcore", sizeof(Elf64_Ehdr), ph, ph_len);
        path = fixture_path(&f, "proc/kcore");
        ck_assert_int_eq(iommu_ram_open_kcore(f.ctx, &ram, &e), -error);
        ck_assert_ptr_null(ram);
        assert_msg_has(e, path);
        assert_msg_has(e, what);
}

START_TEST(kcore_malformed) {
        Elf64_Ehdr eh;
        Elf64_Phdr ph[2] = {
                { .p_type = PT_LOAD, .p_paddr = 0x1000, .p_offset = 0x1000, .p_filesz = 0x1000 },
                { .p_type = PT_LOAD, .p_paddr = 0x2000, .p_offset = 0x2000, .p_filesz = 0x1000 },
        };
        Elf64_Phdr bad;

        /* too short for a header, not ELF at all */
        eh = kcore_ehdr(2);
        expect_bad_kcore(&eh, 10, NULL, 0, EINVAL, "truncated");
        expect_bad_kcore("", 0, NULL, 0, EINVAL, "truncated");
        expect_bad_kcore("#!/bin/sh\necho this is not an ELF core file at all, not at all, no\n", 64, NULL,
                         0, EINVAL, "not an ELF file");

        eh.e_ident[EI_CLASS] = ELFCLASS32;
        expect_bad_kcore(&eh, sizeof eh, ph, sizeof ph, EINVAL, "64-bit");
        eh = kcore_ehdr(2);
        eh.e_ident[EI_DATA] = ELFDATA2MSB;
        expect_bad_kcore(&eh, sizeof eh, ph, sizeof ph, EINVAL, "little-endian");
        eh = kcore_ehdr(2);
        eh.e_type = ET_EXEC;
        expect_bad_kcore(&eh, sizeof eh, ph, sizeof ph, EINVAL, "core file");
#if defined(__x86_64__)
        eh = kcore_ehdr(2);
        eh.e_machine = EM_AARCH64;
        expect_bad_kcore(&eh, sizeof eh, ph, sizeof ph, EINVAL, "x86-64");
#endif
        eh = kcore_ehdr(2);
        eh.e_phentsize = 32;
        expect_bad_kcore(&eh, sizeof eh, ph, sizeof ph, EINVAL, "program headers of 32 bytes");
        eh = kcore_ehdr(0);
        expect_bad_kcore(&eh, sizeof eh, ph, sizeof ph, EINVAL, "0 program headers");
        eh = kcore_ehdr(PN_XNUM);
        expect_bad_kcore(&eh, sizeof eh, ph, sizeof ph, EINVAL, "65535 program headers");
        eh = kcore_ehdr(2);
        eh.e_phoff = 8;
        expect_bad_kcore(&eh, sizeof eh, ph, sizeof ph, EINVAL, "impossible offset");

        /* program headers cut short: the header promises two, the file has 1.5 */
        eh = kcore_ehdr(2);
        expect_bad_kcore(&eh, sizeof eh, ph, sizeof ph[0] + 20, EINVAL, "truncated");
        /* a promise of many more than there are */
        eh = kcore_ehdr(4000);
        expect_bad_kcore(&eh, sizeof eh, ph, sizeof ph, EINVAL, "4000 program headers end at");

        /* segments that wrap around */
        eh = kcore_ehdr(1);
        bad = (Elf64_Phdr){
                .p_type = PT_LOAD, .p_paddr = 0xfffffffffffff000, .p_offset = 0x1000, .p_filesz = 0x2000
        };
        expect_bad_kcore(&eh, sizeof eh, &bad, sizeof bad, EINVAL, "program header 0 is invalid");
        bad = (Elf64_Phdr){
                .p_type = PT_LOAD, .p_paddr = 0x1000, .p_offset = 0x7ffffffffffff000, .p_filesz = 0x2000
        };
        expect_bad_kcore(&eh, sizeof eh, &bad, sizeof bad, EINVAL, "program header 0 is invalid");
        /* only vmalloc: nothing by physical address */
        bad = (Elf64_Phdr){
                .p_type = PT_LOAD, .p_paddr = UINT64_MAX, .p_offset = 0x1000, .p_filesz = 0x2000
        };
        expect_bad_kcore(&eh, sizeof eh, &bad, sizeof bad, ENODATA, "no PT_LOAD segment");
        /* segments, but none of them System RAM */
        bad = (Elf64_Phdr){ .p_type = PT_LOAD, .p_paddr = 0x9fc00, .p_offset = 0x1000, .p_filesz = 0x400 };
        expect_bad_kcore(&eh, sizeof eh, &bad, sizeof bad, ENODATA, "No System RAM range");
}
END_TEST

START_TEST(kcore_data_truncated) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        Elf64_Ehdr eh = kcore_ehdr(1);
        Elf64_Phdr ph = { .p_type = PT_LOAD, .p_paddr = 0x100000, .p_offset = 0x1000, .p_filesz = 0x200000 };
        uint8_t buf[16];
        iommu_error e = {};

        /* the header claims 2 MiB the file does not have: reads say so */
        fixture_init(&f);
        put_text(&f, "proc/iomem", kcore_iomem);
        put_file(&f, "proc/kcore", &eh, sizeof eh, 0400);
        put_at(&f, "proc/kcore", sizeof eh, &ph, sizeof ph);
        put_at(&f, "proc/kcore", 0x1000, "0123456789abcdef", 16);
        ck_assert_msg(iommu_ram_open_kcore(f.ctx, &ram, &e) == 0, "%s", e.message);
        ck_assert_int_eq(iommu_ram_read(ram, 0x100000, buf, 16, &e), 0);
        ck_assert_int_eq(memcmp(buf, "0123456789abcdef", 16), 0);
        ck_assert_int_eq(iommu_ram_read(ram, 0x100008, buf, 16, &e), -EIO);
        assert_msg_has(e, "Short read");
}
END_TEST

START_TEST(kcore_missing) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_(iommu_ram_freep) iommu_ram *ram = NULL;
        _cleanup_free_ char *path = NULL;
        iommu_error e = {};

        fixture_init(&f);
        put_text(&f, "proc/iomem", kcore_iomem);
        path = fixture_path(&f, "proc/kcore");
        ck_assert_int_eq(iommu_ram_open_kcore(f.ctx, &ram, &e), -ENOENT);
        assert_msg_has(e, path);
        assert_msg_has(e, "CONFIG_PROC_KCORE");

        /* kcore there, iomem not: the iomem error */
        put_kcore(&f);
        free(path);
        path = fixture_path(&f, "proc/iomem");
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(iommu_ram_open_kcore(f.ctx, &ram, &e), -ENOENT);
        assert_msg_has(e, path);
        ck_assert_ptr_null(ram);
}
END_TEST

/* ---- refusals as an unprivileged user ---- */

typedef enum probe_kind {
        PROBE_KCORE,
        PROBE_DEVMEM,
        PROBE_IOMEM,
} probe_kind;

/* Run one open as "nobody" in a child (root ignores file modes, and the
 * test must not change the runner's own credentials); returns the child's
 * error, message in e. */
static int probe_unprivileged(const fixture *f, probe_kind kind, iommu_error *e) {
        int pfd[2];
        pid_t pid;
        int status, r;
        ssize_t n;

        ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                iommu_error ce = {};
                iommu_ram *ram = NULL;
                iommu_regs *regs = NULL;
                phys_range *ranges = NULL;
                size_t nr;

                if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
                        _exit(99);
                if (kind == PROBE_KCORE)
                        r = iommu_ram_open_kcore(f->ctx, &ram, &ce);
                else if (kind == PROBE_DEVMEM)
                        r = iommu_regs_open_devmem(f->ctx, 0xfed90000, 0x1000, &regs, &ce);
                else
                        r = iomem_system_ram(f->ctx, &ranges, &nr, &ce);
                (void) iommu_ram_free(ram);
                (void) iommu_regs_free(regs);
                free(ranges);
                ce.error = r;
                n = write(pfd[1], &ce, sizeof ce);
                _exit(n == (ssize_t) sizeof ce ? 0 : 98);
        }
        (void) close(pfd[1]);
        n = read(pfd[0], e, sizeof *e);
        (void) close(pfd[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status 0x%x)", status);
        ck_assert_int_eq(n, (ssize_t) sizeof *e);
        return e->error;
}

static void put_devmem(const fixture *f, uint64_t size) {
        _cleanup_free_ char *p = fixture_path(f, "dev/mem");
        _cleanup_close_ int fd = -EBADF;

        mkdir_parents(f, "dev/mem");
        fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, (off_t) size), 0);
}

START_TEST(refusals_not_root) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_free_ char *path = NULL;
        iommu_error e = {};
        int r;

        fixture_init(&f);
        put_kcore(&f);
        put_devmem(&f, 0xfed92000);
        /* mode 0 rather than the kernel's 0400/0640: refused to "nobody"
         * under root, and to the owner when the suite runs unprivileged */
        path = fixture_path(&f, "proc/kcore");
        ck_assert_int_eq(chmod(path, 0), 0);
        free(path);
        path = fixture_path(&f, "dev/mem");
        ck_assert_int_eq(chmod(path, 0), 0);

        r = probe_unprivileged(&f, PROBE_KCORE, &e);
        ck_assert_int_eq(r, -EACCES);
        assert_msg_has(e, "needs root (CAP_SYS_RAWIO)");
        assert_msg_has(e, "/proc/kcore");

        r = probe_unprivileged(&f, PROBE_DEVMEM, &e);
        ck_assert_int_eq(r, -EACCES);
        assert_msg_has(e, "needs root (CAP_SYS_RAWIO)");
        assert_msg_has(e, "/dev/mem");

        /* lockdown=integrity leaves /proc/kcore alone: still "root" */
        put_text(&f, "sys/kernel/security/lockdown", "none [integrity] confidentiality\n");
        r = probe_unprivileged(&f, PROBE_KCORE, &e);
        ck_assert_int_eq(r, -EACCES);
        assert_msg_has(e, "needs root (CAP_SYS_RAWIO)");
        /* ... but it refuses /dev/mem */
        r = probe_unprivileged(&f, PROBE_DEVMEM, &e);
        ck_assert_int_eq(r, -EACCES);
        assert_msg_has(e, "lockdown");
        assert_msg_has(e, "integrity");

        put_text(&f, "sys/kernel/security/lockdown", "none integrity [confidentiality]\n");
        r = probe_unprivileged(&f, PROBE_KCORE, &e);
        ck_assert_int_eq(r, -EACCES);
        assert_msg_has(e, "refused under kernel lockdown (confidentiality mode");
        assert_msg_has(e, "/proc/kcore");
        r = probe_unprivileged(&f, PROBE_DEVMEM, &e);
        assert_msg_has(e, "refused under kernel lockdown (confidentiality mode");
        assert_msg_has(e, "/dev/mem");

        /* not locked down */
        put_text(&f, "sys/kernel/security/lockdown", "[none] integrity confidentiality\n");
        r = probe_unprivileged(&f, PROBE_KCORE, &e);
        assert_msg_has(e, "needs root (CAP_SYS_RAWIO)");

        /* /proc/iomem readable by all, but every address 0 for them (the
         * kernel's doing; here the fixture's) */
        put_text(&f, "proc/iomem", "00000000-00000000 : System RAM\n");
        r = probe_unprivileged(&f, PROBE_IOMEM, &e);
        ck_assert_int_eq(r, -EPERM);
        assert_msg_has(e, "needs root (CAP_SYS_ADMIN)");
}
END_TEST

/* ---- /dev/mem registers ---- */

#define DRHD_BASE UINT64_C(0xfed90000)

/* QEMU's legacy-mode unit: FRO 0x22 (FRCD at 0x220), IRO 0xf (IOTLB at 0xf8). */
static const struct {
        uint32_t offset;
        unsigned width;
        uint64_t value;
} unit_regs[] = {
        { REG_VER, 32, 0x10 },
        { REG_CAP, 64, 0x00d2008c22260286 },
        { REG_ECAP, 64, 0x0000000000000f42 },
        { REG_GCMD, 32, 0x5a5a5a5a },
        { REG_GSTS, 32, 0xc4000000 },
        { REG_RTADDR, 64, 0x0000000002531000 },
        { REG_FSTS, 32, 0x00000002 },
        { 0xf0, 64, 0x1111111111111111 },  /* IVA */
        { 0xf8, 64, 0x9200000500000000 },  /* IOTLB */
        { 0x220, 64, 0x0000000012345000 }, /* FRCD low */
        { 0x228, 64, 0x8500000600000018 }, /* FRCD high: F, FR 6, SID 00:03.0 */
};

static void put_unit_regs(const fixture *f) {
        put_devmem(f, DRHD_BASE + 0x2000);
        for (size_t i = 0; i < ELEMENTSOF(unit_regs); i++) {
                if (unit_regs[i].width == 32) {
                        uint32_t v = (uint32_t) unit_regs[i].value;
                        put_at(f, "dev/mem", DRHD_BASE + unit_regs[i].offset, &v, sizeof v);
                } else
                        put_at(f, "dev/mem", DRHD_BASE + unit_regs[i].offset, &unit_regs[i].value, 8);
        }
}

START_TEST(devmem_registers) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_(iommu_regs_freep) iommu_regs *r = NULL;
        uint64_t v[LAYOUT_MAX_QWORDS], cap, ecap, x;
        iommu_error e = {};

        fixture_init(&f);
        put_unit_regs(&f);
        ck_assert_msg(iommu_regs_open_devmem(f.ctx, DRHD_BASE, 0x1000, &r, &e) == 0, "%s", e.message);
        ck_assert_str_eq(r->ops->name, "devmem");
        ck_assert_uint_eq(r->base, DRHD_BASE);
        ck_assert_uint_eq(r->size, 0x1000);
        ck_assert_ptr_null(iommu_regs_image_data(r));

        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_cap, 0, 0, 0, v, &e), 0);
        cap = v[0];
        ck_assert_uint_eq(cap, 0x00d2008c22260286);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_ecap, 0, 0, 0, v, &e), 0);
        ecap = v[0];
        ck_assert_uint_eq(ecap, 0xf42);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_ver, cap, ecap, 0, v, &e), 0);
        ck_assert_uint_eq(v[0], 0x10);
        ck_assert_uint_eq(v[1], 0);

        /* 32 bits exactly: a 64-bit read would pick up RTADDR's low half */
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_gsts, cap, ecap, 0, v, &e), 0);
        ck_assert_uint_eq(v[0], 0xc4000000);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_gcmd, cap, ecap, 0, v, &e), 0);
        ck_assert_uint_eq(v[0], 0x5a5a5a5a);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_rtaddr, cap, ecap, 0, v, &e), 0);
        ck_assert_uint_eq(v[0], 0x2531000);

        /* at ECAP.IRO and CAP.FRO */
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_iotlb, cap, ecap, 0, v, &e), 0);
        ck_assert_uint_eq(v[0], 0x9200000500000000);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_iva, cap, ecap, 0, v, &e), 0);
        ck_assert_uint_eq(v[0], 0x1111111111111111);
        for (size_t i = 2; i < LAYOUT_MAX_QWORDS; i++)
                v[i] = 0xdeadbeef;
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_frcd, cap, ecap, 0, v, &e), 0);
        ck_assert_uint_eq(v[0], 0x12345000);
        ck_assert_uint_eq(v[1], 0x8500000600000018);
        ck_assert_uint_eq(v[2], 0);
        ck_assert_uint_eq(FIELD_GET(FRCD, F, v), 1);
        ck_assert_uint_eq(FIELD_GET(FRCD, FR, v), 6);
        ck_assert_uint_eq(FIELD_GET(FRCD, SID, v), 0x18);
        ck_assert_uint_eq(FIELD_GET(FRCD, FI, v), 0x12345);

        /* CAP.NFR 0: one record */
        v[0] = 0x77;
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_frcd, cap, ecap, 1, v, &e), -ERANGE);
        assert_msg_has(e, "Fault recording register 1 does not exist");
        ck_assert_uint_eq(v[0], 0x77);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_cap, cap, ecap, 1, v, &e), -EINVAL);
        /* an entry format is not a register */
        ck_assert_int_eq(iommu_regs_read_layout(r, layout_find("context"), cap, ecap, 0, v, &e), -EINVAL);

        /* raw reads: widths, alignment, window */
        ck_assert_int_eq(iommu_regs_read(r, REG_GSTS, 32, &x, &e), 0);
        ck_assert_uint_eq(x, 0xc4000000);
        ck_assert_int_eq(iommu_regs_read(r, REG_GSTS, 64, &x, &e), -EINVAL);
        assert_msg_has(e, "not aligned");
        ck_assert_int_eq(iommu_regs_read(r, REG_CAP, 16, &x, &e), -EINVAL);
        assert_msg_has(e, "width 16");
        ck_assert_int_eq(iommu_regs_read(r, 0xffc, 32, &x, &e), 0);
        ck_assert_int_eq(iommu_regs_read(r, 0xffc, 64, &x, &e), -EINVAL);
        ck_assert_int_eq(iommu_regs_read(r, 0x1000, 32, &x, &e), -ERANGE);
        assert_msg_has(e, "outside the 0x1000-byte register window at 0xfed90000");
        ck_assert_int_eq(iommu_regs_read(r, UINT32_MAX - 3, 32, &x, &e), -ERANGE);

        /* opened read-only: the write op refuses */
        ck_assert_int_eq(r->ops->write(r, REG_GCMD, 32, 1, &e), -EBADF);
        assert_msg_has(e, "read-only");
}
END_TEST

START_TEST(devmem_window) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_(iommu_regs_freep) iommu_regs *r = NULL;
        _cleanup_free_ char *path = NULL;
        uint64_t v[LAYOUT_MAX_QWORDS], cap = 0x00d2008c22260286, ecap = 0xf42, x;
        iommu_error e = {};

        fixture_init(&f);
        put_unit_regs(&f);

        /* a window too small for the fault record */
        ck_assert_int_eq(iommu_regs_open_devmem(f.ctx, DRHD_BASE, 0x200, &r, &e), 0);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_cap, 0, 0, 0, v, &e), 0);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_frcd, cap, ecap, 0, v, &e), -ERANGE);
        ck_assert_str_eq(e.message,
                         "Register frcd at offset 0x220 lies outside the 0x200-byte register window at "
                         "0xfed90000");
        r = iommu_regs_free(r);

        /* a base that is not page aligned */
        ck_assert_int_eq(iommu_regs_open_devmem(f.ctx, DRHD_BASE + 0x220, 0x10, &r, &e), 0);
        ck_assert_int_eq(iommu_regs_read(r, 8, 64, &x, &e), 0);
        ck_assert_uint_eq(x, 0x8500000600000018);
        ck_assert_int_eq(iommu_regs_read(r, 0x10, 32, &x, &e), -ERANGE);
        r = iommu_regs_free(r);

        /* spanning two pages */
        ck_assert_int_eq(iommu_regs_open_devmem(f.ctx, DRHD_BASE + 0xff8, 0x10, &r, &e), 0);
        ck_assert_int_eq(iommu_regs_read(r, 8, 64, &x, &e), 0);
        r = iommu_regs_free(r);

        /* invalid windows */
        ck_assert_int_eq(iommu_regs_open_devmem(f.ctx, DRHD_BASE, 0, &r, &e), -EINVAL);
        ck_assert_int_eq(iommu_regs_open_devmem(f.ctx, UINT64_MAX - 0xfff, 0x1000, &r, &e), -EINVAL);
        ck_assert_int_eq(iommu_regs_open_devmem(f.ctx, 0x8000000000000000, 0x1000, &r, &e), -EINVAL);
        ck_assert_ptr_null(r);

        /* a fixture file that ends before the window: refused, not SIGBUS */
        path = fixture_path(&f, "dev/mem");
        ck_assert_int_eq(truncate(path, (off_t) DRHD_BASE + 0x800), 0);
        ck_assert_int_eq(iommu_regs_open_devmem(f.ctx, DRHD_BASE, 0x1000, &r, &e), -ERANGE);
        assert_msg_has(e, path);
        assert_msg_has(e, "too short");

        /* no /dev/mem */
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(iommu_regs_open_devmem(f.ctx, DRHD_BASE, 0x1000, &r, &e), -ENOENT);
        assert_msg_has(e, path);
        assert_msg_has(e, "CONFIG_DEVMEM");
}
END_TEST

START_TEST(devmem_writable) {
        _cleanup_fixture_ fixture f = {};
        _cleanup_(iommu_regs_freep) iommu_regs *r = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t x, q;
        uint32_t d;
        iommu_error e = {};

        fixture_init(&f);
        put_unit_regs(&f);
        ck_assert_int_eq(iommu_regs_open_devmem_writable(f.ctx, DRHD_BASE, 0x1000, &r, &e), 0);
        ck_assert_int_eq(r->ops->write(r, REG_GCMD, 32, 0x80000000, &e), 0);
        ck_assert_int_eq(r->ops->write(r, 0x228, 64, 0x0123456789abcdef, &e), 0);
        ck_assert_int_eq(r->ops->write(r, REG_GSTS, 64, 0, &e), -EINVAL);
        ck_assert_int_eq(r->ops->write(r, 0x1000, 32, 0, &e), -ERANGE);
        ck_assert_int_eq(iommu_regs_read(r, REG_GCMD, 32, &x, &e), 0);
        ck_assert_uint_eq(x, 0x80000000);
        /* the store went to the file, exactly 4 bytes of it */
        path = fixture_path(&f, "dev/mem");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pread(fd, &d, 4, (off_t) (DRHD_BASE + REG_GCMD)), 4);
        ck_assert_uint_eq(d, 0x80000000);
        ck_assert_int_eq(pread(fd, &d, 4, (off_t) (DRHD_BASE + REG_GSTS)), 4);
        ck_assert_uint_eq(d, 0xc4000000);
        ck_assert_int_eq(pread(fd, &q, 8, (off_t) (DRHD_BASE + 0x228)), 8);
        ck_assert_uint_eq(q, 0x0123456789abcdef);
}
END_TEST

/* ---- the register file image ---- */

START_TEST(regs_image) {
        _cleanup_(iommu_regs_freep) iommu_regs *r = NULL;
        uint64_t v[LAYOUT_MAX_QWORDS], x;
        uint8_t *data;
        iommu_error e = {};

        ck_assert_int_eq(iommu_regs_new_image(DRHD_BASE, 0, &r), -EINVAL);
        ck_assert_int_eq(iommu_regs_new_image(UINT64_MAX - 0xff, 0x1000, &r), -EINVAL);
        ck_assert_ptr_null(r);
        ck_assert_int_eq(iommu_regs_new_image(DRHD_BASE, 0x1000, &r), 0);
        ck_assert_str_eq(r->ops->name, "image");
        ck_assert_uint_eq(r->base, DRHD_BASE);
        ck_assert_uint_eq(r->size, 0x1000);
        data = iommu_regs_image_data(r);
        ck_assert_ptr_nonnull(data);
        ck_assert_ptr_null(iommu_regs_image_data(NULL));

        /* zeros at first */
        ck_assert_int_eq(iommu_regs_read(r, REG_CAP, 64, &x, &e), 0);
        ck_assert_uint_eq(x, 0);

        /* written through the ops, seen in the data and through layouts */
        for (size_t i = 0; i < ELEMENTSOF(unit_regs); i++)
                ck_assert_int_eq(
                        r->ops->write(r, unit_regs[i].offset, unit_regs[i].width, unit_regs[i].value, &e),
                        0);
        ck_assert_uint_eq(data[REG_GSTS + 3], 0xc4);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_cap, 0, 0, 0, v, &e), 0);
        ck_assert_uint_eq(v[0], 0x00d2008c22260286);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_gsts, v[0], 0xf42, 0, v, &e), 0);
        ck_assert_uint_eq(v[0], 0xc4000000);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_frcd, 0x00d2008c22260286, 0xf42, 0, v, &e), 0);
        ck_assert_uint_eq(v[1], 0x8500000600000018);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_iotlb, 0x00d2008c22260286, 0xf42, 0, v, &e), 0);
        ck_assert_uint_eq(v[0], 0x9200000500000000);

        /* and written directly into the data */
        data[0x40] = 0x78;
        data[0x41] = 0x56;
        data[0x42] = 0x34;
        data[0x43] = 0x12;
        ck_assert_int_eq(iommu_regs_read(r, 0x40, 32, &x, &e), 0);
        ck_assert_uint_eq(x, 0x12345678);

        /* a 32-bit write leaves the neighbouring dword alone */
        ck_assert_int_eq(r->ops->write(r, REG_GCMD, 32, 0xffffffff, &e), 0);
        ck_assert_int_eq(iommu_regs_read(r, REG_GSTS, 32, &x, &e), 0);
        ck_assert_uint_eq(x, 0xc4000000);

        /* the same checks as every backend */
        ck_assert_int_eq(r->ops->read(r, 0x1000, 32, &x, &e), -ERANGE);
        ck_assert_int_eq(r->ops->read(r, 0x4, 64, &x, &e), -EINVAL);
        ck_assert_int_eq(r->ops->write(r, 0xffc, 64, 0, &e), -EINVAL);
        ck_assert_int_eq(r->ops->write(r, 0x1000, 64, 0, &e), -ERANGE);
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_frcd, 0x00d2008c22260286, 0x3ff00, 0, v, &e), 0);
        /* IOTLB at IRO 0x3ff * 16 is far outside the page */
        ck_assert_int_eq(iommu_regs_read_layout(r, &layout_iotlb, 0, 0x3ff00, 0, v, &e), -ERANGE);
        ck_assert_str_eq(e.message, "Register iotlb at offset 0x3ff8 lies outside the 0x1000-byte register "
                                    "window at 0xfed90000");

        ck_assert_ptr_null(iommu_regs_free(NULL));
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("access");
        TCase *ctx = tcase_create("ctx");
        TCase *iomem = tcase_create("iomem");
        TCase *kcore = tcase_create("kcore");
        TCase *regs = tcase_create("regs");

        tcase_add_test(ctx, ctx_sysroot);
        tcase_add_test(ctx, ctx_open_and_read);
        suite_add_tcase(s, ctx);

        tcase_add_test(iomem, iomem_real_machine);
        tcase_add_test(iomem, iomem_not_root);
        tcase_add_test(iomem, iomem_malformed);
        tcase_add_test(iomem, iomem_missing_or_empty);
        suite_add_tcase(s, iomem);

        tcase_add_test(kcore, kcore_segments_and_ranges);
        tcase_add_test(kcore, kcore_reads);
        tcase_add_test(kcore, kcore_malformed);
        tcase_add_test(kcore, kcore_data_truncated);
        tcase_add_test(kcore, kcore_missing);
        tcase_add_test(kcore, refusals_not_root);
        suite_add_tcase(s, kcore);

        tcase_add_test(regs, devmem_registers);
        tcase_add_test(regs, devmem_window);
        tcase_add_test(regs, devmem_writable);
        tcase_add_test(regs, regs_image);
        suite_add_tcase(s, regs);
        return s;
}
