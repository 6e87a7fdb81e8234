/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A simulated machine kept in a file (iommu_system_open_simulated() with
 * iommu_sim_config.machine, iommud --simulated-machine): what one process
 * leaves, the next finds.  The file is read back with pread at the places
 * model/system.h and access/regs-sim.h document, written out here by hand;
 * register values are the VT-d specification's bits, by hand too.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "access/regs-sim.h"
#include "access/tablemem.h"
#include "check-main.h"
#include "model/system.h"

/* The file: a 4 KiB header, the unit at 0x1000, a bit a RAM page at
 * 0x10000, the 256 MiB of RAM from 0x20000000 at 0x100000. */
#define FILE_SIZE UINT64_C(0x10100000)
#define FILE_UNIT 0x1000
#define FILE_RAM 0x100000
#define TABLE_BASE UINT64_C(0x20000000)
/* In the unit: the copy in force's index at 40, copies of 0x1100 bytes
 * from 64. */
#define UNIT_ACTIVE (FILE_UNIT + 40)
#define UNIT_COPY(i) (FILE_UNIT + 64 + (i) *0x1100)

static char dir[64];

static void setup(void) {
        snprintf(dir, sizeof dir, "/tmp/test-simfile-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static const char *path_of(const char *name) {
        static char p[4][128];
        static unsigned k;

        k = (k + 1) % 4;
        snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
        return p[k];
}

static iommu_sim_config config(const char *mode, const char *machine) {
        iommu_sim_config c;
        iommu_error err = {};

        ck_assert_msg(iommu_sim_config_parse(mode, &c, &err) == 0, "%s", err.message);
        ck_assert_ptr_null(c.machine);
        c.machine = machine;
        return c;
}

static iommu_system *open_ok(const char *mode, const char *machine) {
        iommu_sim_config c = config(mode, machine);
        iommu_system *s = NULL;
        iommu_error err = {};

        ck_assert_msg(iommu_system_open_simulated(&c, &s, &err) == 0, "%s", err.message);
        return s;
}

/* The one line opening the machine is refused with. */
static const char *open_refused(const char *mode, const char *machine, int error) {
        static iommu_error err;
        iommu_sim_config c = config(mode, machine);
        iommu_system *s = NULL;

        err = (iommu_error){};
        ck_assert_int_eq(iommu_system_open_simulated(&c, &s, &err), -error);
        ck_assert_ptr_null(s);
        ck_assert_ptr_null(strchr(err.message, '\n'));
        ck_assert_uint_gt(strlen(err.message), 0);
        return err.message;
}

static uint64_t file_u(const char *path, uint64_t off, unsigned bytes) {
        uint64_t v = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pread(fd, &v, bytes, (off_t) off), (ssize_t) bytes);
        close(fd);
        return v;
}

/* A register of the unit in the file, in the copy in force. */
static uint64_t file_reg(const char *path, uint32_t off, unsigned bytes) {
        uint64_t active = file_u(path, UNIT_ACTIVE, 4);

        ck_assert_uint_le(active, 1);
        return file_u(path, UNIT_COPY(active) + off, bytes);
}

/* FNV-1a over the size and every data extent (offset and bytes) of a
 * sparse file: equal before and after means nothing was written. */
static uint64_t digest(const char *path) {
        uint64_t h = UINT64_C(14695981039346656037);
        uint8_t buf[65536];
        struct stat st;
        off_t pos = 0, data, hole;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

#define MIX(v)                                                           \
        do {                                                             \
                uint64_t x_ = (uint64_t) (v);                            \
                for (unsigned b_ = 0; b_ < 8; b_++, x_ >>= 8)            \
                        h = (h ^ (x_ & 0xff)) * UINT64_C(1099511628211); \
        } while (0)

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(fstat(fd, &st), 0);
        MIX(st.st_size);
        while ((data = lseek(fd, pos, SEEK_DATA)) >= 0) {
                hole = lseek(fd, data, SEEK_HOLE);
                ck_assert_int_gt(hole, data);
                MIX(data);
                for (off_t o = data; o < hole;) {
                        size_t n = (size_t) (hole - o) < sizeof buf ? (size_t) (hole - o) : sizeof buf;
                        ssize_t k = pread(fd, buf, n, o);

                        ck_assert_int_gt(k, 0);
                        for (ssize_t i = 0; i < k; i++)
                                h = (h ^ buf[i]) * UINT64_C(1099511628211);
                        o += k;
                }
                pos = hole;
        }
#undef MIX
        close(fd);
        return h;
}

static uint32_t rd32(iommu_system *s, uint32_t off) {
        uint64_t v = 0;
        iommu_error err = {};

        ck_assert_msg(iommu_regs_read(s->units[0].regs, off, 32, &v, &err) == 0, "%s", err.message);
        return (uint32_t) v;
}

static void wr(iommu_system *s, uint32_t off, unsigned width, uint64_t v) {
        iommu_error err = {};

        ck_assert_msg(iommu_regs_write(s->units[0].regs, off, width, v, &err) == 0, "%s", err.message);
}

START_TEST(machine_made_and_kept) {
        const char *m = path_of("machine");
        _cleanup_(table_mem_freep) table_mem *mem = NULL;
        iommu_system *s = open_ok("legacy", m);
        uint64_t root, queue, status, v, *q;
        uint32_t before[1024];
        uint8_t *p, *sp, buf[32];
        iommu_error err = {};
        struct stat st;

        /* made: 0600, its size, the header as documented */
        ck_assert_int_eq(stat(m, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_uint_eq((uint64_t) st.st_size, FILE_SIZE);
        ck_assert_uint_eq(SIMULATED_MACHINE_SIZE, FILE_SIZE);
        ck_assert_uint_eq(file_u(m, 0, 8), 0x4d4953554d4d4f49); /* "IOMMUSIM" */
        ck_assert_uint_eq(file_u(m, 8, 4), 1);
        ck_assert_uint_eq(file_u(m, 12, 4), 0);  /* legacy */
        ck_assert_uint_eq(file_u(m, 16, 4), 48); /* aw-bits */
        ck_assert_uint_eq(file_u(m, 20, 4), 1);  /* caching mode */
        ck_assert_uint_eq(file_u(m, 24, 8), FILE_SIZE);
        ck_assert_str_eq(s->sim_machine, m);
        /* the unit at reset: QEMU's VER 1.0, CAP, FECTL.IM */
        ck_assert_uint_eq(file_reg(m, 0x0, 4), 0x10);
        ck_assert_uint_eq(file_reg(m, 0x8, 8), UINT64_C(0x00d2008c222f0686));
        ck_assert_uint_eq(file_reg(m, 0x38, 4), 0x80000000);
        ck_assert_uint_eq(s->units[0].owner, UNIT_OWNER_NONE);

        /* table memory where iommud puts it: a root table, a queue, a
         * status page; a wait, translation on, a fault */
        ck_assert_msg(table_mem_open_image(s->image, TABLE_BASE, &mem, &err) == 0, "%s", err.message);
        ck_assert_int_eq(table_mem_alloc_page(mem, (void **) &p, &root, &err), 0);
        ck_assert_int_eq(table_mem_alloc_page(mem, (void **) &q, &queue, &err), 0);
        ck_assert_int_eq(table_mem_alloc_page(mem, (void **) &sp, &status, &err), 0);
        ck_assert_uint_eq(root, TABLE_BASE);
        memcpy(p + 0x18, "the root table", 14);
        q[0] = 0x11;
        q[2] = 0x5eed000100000025;
        q[3] = status + 8;
        wr(s, 0x20, 64, root);
        wr(s, 0x18, 32, 0x40000000);
        wr(s, 0x90, 64, queue);
        wr(s, 0x88, 64, 0);
        wr(s, 0x18, 32, 0x04000000);
        wr(s, 0x88, 64, 0x20);
        wr(s, 0x18, 32, 0x84000000);
        ck_assert_int_eq(regs_sim_inject_fault(s->units[0].regs,
                                               &(regs_sim_fault){ .sid = SIMULATED_FAULT_SID,
                                                                  .addr = SIMULATED_FAULT_IOVA,
                                                                  .type = REGS_SIM_FAULT_WRITE,
                                                                  .reason = SIMULATED_FAULT_REASON }),
                         0);
        for (uint32_t off = 0; off < 4096; off += 4)
                before[off / 4] = rd32(s, off);

        /* in the file at the RAM's place, as another process reads it */
        v = file_u(m, FILE_RAM + (root - TABLE_BASE) + 0x18, 8);
        ck_assert_mem_eq(&v, "the root", 8);
        ck_assert_uint_eq(file_u(m, FILE_RAM + (status - TABLE_BASE) + 8, 4), 0x5eed0001);
        ck_assert_uint_eq(file_u(m, FILE_RAM + (queue - TABLE_BASE) + 0x10, 8), 0x5eed000100000025);
        ck_assert_uint_eq(file_reg(m, 0x1c, 4), 0xc4000000); /* TES, RTPS, QIES */
        ck_assert_uint_eq(file_reg(m, 0x20, 8), root);
        ck_assert_uint_eq(file_reg(m, 0x80, 8), 0x20);
        ck_assert_uint_eq(file_reg(m, 0x34, 4), 0x2);
        ck_assert_uint_eq(file_reg(m, 0x228, 8) >> 63, 1);
        mem = table_mem_free(mem);
        s = iommu_system_free(s);

        /* sparse: the pages handed out (one chunk) and little else */
        ck_assert_int_eq(stat(m, &st), 0);
        ck_assert_uint_lt((uint64_t) st.st_blocks * 512, 4u << 20);

        /* another system over it: everything as left */
        s = open_ok("legacy", m);
        for (uint32_t off = 0; off < 4096; off += 4)
                ck_assert_msg(rd32(s, off) == before[off / 4], "register dword 0x%x: 0x%x, was 0x%x", off,
                              rd32(s, off), before[off / 4]);
        ck_assert_uint_eq(s->units[0].gsts, 0xc4000000);
        ck_assert_uint_eq(s->units[0].rtaddr, root);
        ck_assert_uint_eq(s->units[0].fsts, 0x2);
        ck_assert_int_eq(iommu_ram_read(s->ram, root + 0x18, buf, 14, NULL), 0);
        ck_assert_mem_eq(buf, "the root table", 14);
        ck_assert(iommu_ram_image_has_page(s->image, root));
        ck_assert(!iommu_ram_image_has_page(s->image, TABLE_BASE + (2u << 20)));
        /* the table memory of before, its one chunk and nothing more */
        ck_assert_msg(table_mem_reopen_image(s->image, TABLE_BASE, &mem, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(table_mem_chunks(mem), 1);
        p = table_mem_virt(mem, root);
        ck_assert_ptr_nonnull(p);
        ck_assert_mem_eq(p + 0x18, "the root table", 14);
        mem = table_mem_free(mem);
        /* and it goes on: the next fault has record 0 still full */
        ck_assert_int_eq(regs_sim_inject_fault(s->units[0].regs, &(regs_sim_fault){ .sid = 1 }), -ENOSPC);
        s = iommu_system_free(s);
        ck_assert_uint_eq(file_reg(m, 0x34, 4), 0x3); /* PFO */
}
END_TEST

START_TEST(machine_refused) {
        const char *m = path_of("machine"), *other = path_of("other");
        iommu_system *s = open_ok("legacy", m);
        char expect[512];
        uint64_t d;
        int fd;

        /* its registers changed once, so that a write would show */
        wr(s, 0x20, 64, 0x7000);
        s = iommu_system_free(s);
        d = digest(m);

        snprintf(expect, sizeof expect, "%s holds a simulated legacy:aw48,cm machine, not scalable:aw48,cm",
                 m);
        ck_assert_str_eq(open_refused("scalable", m, EINVAL), expect);
        snprintf(expect, sizeof expect, "%s holds a simulated legacy:aw48,cm machine, not legacy:aw39,nocm",
                 m);
        ck_assert_str_eq(open_refused("legacy:aw39,nocm", m, EINVAL), expect);
        snprintf(expect, sizeof expect,
                 "A simulated kernel builds its tables anew each time: 'kernel' cannot go with the machine "
                 "file %s",
                 m);
        ck_assert_str_eq(open_refused("legacy:kernel", m, EINVAL), expect);
        ck_assert_uint_eq(digest(m), d);
        /* kernel and a file that is not there: none made */
        (void) open_refused("legacy:kernel", other, EINVAL);
        ck_assert_int_eq(access(other, F_OK), -1);

        /* in use by another process, which keeps it */
        {
                int ready[2], done[2];
                char c;
                pid_t pid;

                ck_assert_int_eq(pipe(ready), 0);
                ck_assert_int_eq(pipe(done), 0);
                pid = fork();
                ck_assert_int_ge(pid, 0);
                if (pid == 0) {
                        iommu_sim_config cc = config("legacy", m);
                        iommu_system *t = NULL;

                        if (iommu_system_open_simulated(&cc, &t, NULL) < 0)
                                _exit(3);
                        (void) !write(ready[1], "r", 1);
                        (void) !read(done[0], &c, 1);
                        _exit(0);
                }
                ck_assert_int_eq(read(ready[0], &c, 1), 1);
                snprintf(expect, sizeof expect, "The simulated machine %s is in use by process %d", m,
                         (int) pid);
                ck_assert_str_eq(open_refused("legacy", m, EBUSY), expect);
                ck_assert_int_eq(write(done[1], "d", 1), 1);
                ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
                close(ready[0]);
                close(ready[1]);
                close(done[0]);
                close(done[1]);
                ck_assert_uint_eq(digest(m), d);
        }

        /* cut short */
        s = open_ok("legacy", other);
        s = iommu_system_free(s);
        ck_assert_int_eq(truncate(other, (off_t) FILE_SIZE / 2), 0);
        d = digest(other);
        snprintf(expect, sizeof expect, "%s is not a whole simulated machine: %llu bytes, not %llu", other,
                 (unsigned long long) FILE_SIZE / 2, (unsigned long long) FILE_SIZE);
        ck_assert_str_eq(open_refused("legacy", other, EINVAL), expect);
        ck_assert_uint_eq(digest(other), d);

        /* a header from a later iommud */
        ck_assert_int_eq(truncate(other, (off_t) FILE_SIZE), 0);
        fd = open(other, O_WRONLY | O_CLOEXEC);
        ck_assert_int_eq(pwrite(fd, "\x02", 1, 8), 1);
        close(fd);
        d = digest(other);
        snprintf(expect, sizeof expect,
                 "%s holds a simulated machine of format version 2; this iommud knows version 1", other);
        ck_assert_str_eq(open_refused("legacy", other, EINVAL), expect);
        ck_assert_uint_eq(digest(other), d);

        /* a header whole, the unit in it not (no copy in force) */
        fd = open(other, O_WRONLY | O_CLOEXEC);
        ck_assert_int_eq(pwrite(fd, "\x01", 1, 8), 1);
        ck_assert_int_eq(pwrite(fd, "\x09", 1, UNIT_ACTIVE), 1);
        close(fd);
        d = digest(other);
        snprintf(expect, sizeof expect, "%s: The simulated unit's memory names copy 9 of 2 as in force",
                 other);
        ck_assert_str_eq(open_refused("legacy", other, EINVAL), expect);
        ck_assert_uint_eq(digest(other), d);

        /* garbage, of the right size and not; nothing at all */
        fd = open(other, O_WRONLY | O_CLOEXEC);
        for (unsigned i = 0; i < 4096; i += 4)
                ck_assert_int_eq(pwrite(fd, "\xa5\x5a\x3c\xc3", 4, i), 4);
        close(fd);
        d = digest(other);
        snprintf(expect, sizeof expect, "%s is not a simulated machine: no IOMMUSIM header", other);
        ck_assert_str_eq(open_refused("legacy", other, EINVAL), expect);
        ck_assert_uint_eq(digest(other), d);
        ck_assert_int_eq(truncate(other, 100), 0);
        ck_assert_str_eq(open_refused("legacy", other, EINVAL), expect);
        ck_assert_int_eq(truncate(other, 0), 0);
        ck_assert_str_eq(open_refused("legacy", other, EINVAL), expect);
        ck_assert_uint_eq(file_u(m, 0, 8), 0x4d4953554d4d4f49);

        /* not a file; a directory that is not there */
        snprintf(expect, sizeof expect, "%s is not a simulated machine: not a regular file", dir);
        ck_assert_str_eq(open_refused("legacy", dir, EINVAL), expect);
        (void) open_refused("legacy", path_of("none/machine"), ENOENT);
}
END_TEST

/* Killed while making the file: later the file is whole, or not there
 * and made anew; nothing else is left in the directory. */
START_TEST(machine_killed_while_made) {
        unsigned seed = (unsigned) time(NULL), whole = 0, span;
        struct timespec t0, t1;
        char name[32];
        iommu_system *first;

        /* how long making one takes, to kill at any point of it */
        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
        first = open_ok("scalable:aw39", path_of("m40"));
        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
        first = iommu_system_free(first);
        span = (unsigned) ((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000) * 3 / 2 +
               100;
        printf("# machine_killed_while_made: seed %u, kills within %u us\n", seed, span);
        fflush(stdout);
        for (unsigned it = 0; it < 40; it++) {
                iommu_system *s;
                const char *m;
                pid_t pid;
                int status;

                snprintf(name, sizeof name, "m%u", it);
                m = path_of(name);
                pid = fork();
                ck_assert_int_ge(pid, 0);
                if (pid == 0) {
                        iommu_sim_config c = config("scalable:aw39", m);
                        iommu_system *t = NULL;

                        _exit(iommu_system_open_simulated(&c, &t, NULL) < 0 ? 3 : 0);
                }
                (void) usleep((unsigned) rand_r(&seed) % span);
                (void) kill(pid, SIGKILL);
                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                ck_assert(!WIFEXITED(status) || WEXITSTATUS(status) == 0);
                whole += access(m, F_OK) == 0;
                s = open_ok("scalable:aw39", m);
                ck_assert_uint_eq(s->units[0].gsts, 0);
                ck_assert_uint_eq(rd32(s, 0x38), 0x80000000);
                s = iommu_system_free(s);
        }
        printf("# %u of 40 killed after the file was made\n", whole);
        {
                /* only the 41 machines: no temporary file left over */
                char cmd[160];
                FILE *f;
                unsigned n = 0;

                snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
                f = popen(cmd, "r");
                ck_assert_ptr_nonnull(f);
                ck_assert_int_eq(fscanf(f, "%u", &n), 1);
                pclose(f);
                ck_assert_uint_eq(n, 41);
        }
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("simfile");
        TCase *tc = tcase_create("machine");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, machine_made_and_kept);
        tcase_add_test(tc, machine_refused);
        tcase_add_test(tc, machine_killed_while_made);
        suite_add_tcase(s, tc);
        return s;
}
