/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest side of bench/control-bench: map then unmap 64 MiB for the edu
 * device (00:03.0), as 16,384 requests of 4 KiB each and as one request,
 * timed, either through iommud (which owns the unit) or through the
 * kernel's VFIO type1 IOMMU (the kernel owns it, edu bound to vfio-pci):
 *
 *   control-bench iommud SOCKET [REPETITIONS]
 *       v1.power, v1.domain.create, v1.attach first; then per repetition
 *       16,384 v1.map requests of 4 KiB each onto the pages of a 64 MiB
 *       hugetlbfs file of its own (physical addresses from
 *       /proc/self/pagemap), one request at a time on one connection, the
 *       16,384 v1.unmap; one v1.map of 64 MiB (alloc: iommud's own
 *       buffer) and its v1.unmap.
 *   control-bench vfio [REPETITIONS]
 *       the same with VFIO_IOMMU_MAP_DMA / VFIO_IOMMU_UNMAP_DMA of the same
 *       64 MiB hugetlbfs file.
 *
 * CONTROL_BENCH_PHYS=ADDR (iommud only): map the 64 MiB of physical memory
 * at ADDR instead of a file's pages, for iommud --simulate (whose RAM is
 * 0-1 GiB) on the host.
 *
 * Prints one line per phase: "PHASE SECONDS" (the fastest repetition) for
 * map4k, unmap4k, map64m, unmap64m.  Every answer is checked: a request
 * that fails stops the run with exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "access/tablemem.h"

#define PAGE 4096u
#define SIZE (UINT64_C(64) << 20)
#define N_PAGES (SIZE / PAGE)
#define IOVA_4K UINT64_C(0x10000000)
#define IOVA_64M UINT64_C(0x20000000)
#define DID 5
#define EDU "0000:00:03.0"
#define HUGETLBFS_FILE "/dev/hugepages/control-bench"

static _Noreturn void die(const char *what) {
        fprintf(stderr, "control-bench: %s: %s\n", what, errno ? strerror(errno) : "failed");
        exit(1);
}

static double now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* 64 MiB of hugetlbfs, touched, and (when phys) each 4 KiB page's address */
static uint8_t *buffer(uint64_t *phys) {
        iommu_error err = {};
        void *p;
        int fd;

        fd = open(HUGETLBFS_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t) SIZE) < 0)
                die(HUGETLBFS_FILE);
        p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED)
                die("mmap of " HUGETLBFS_FILE);
        (void) close(fd);
        memset(p, 0, SIZE);
        if (phys && pagemap_phys(p, N_PAGES, phys, &err) < 0) {
                fprintf(stderr, "control-bench: %s\n", err.message);
                exit(1);
        }
        return p;
}

/* ---- iommud ---- */

static int sock = -1;
static char in[1 << 16];
static size_t in_len;
static unsigned long long next_id;

static void send_request(const char *method, const char *params) {
        char req[512];
        int n = snprintf(req, sizeof req, "{\"id\":%llu,\"method\":\"%s\",\"params\":{%s}}\n", ++next_id,
                         method, params);

        if (send(sock, req, (size_t) n, MSG_NOSIGNAL) != n)
                die("send");
}

/* The next answer, read whole; exit unless it has a result. */
static void answer(const char *method, const char *params) {
        char *nl;

        while (!(nl = memchr(in, '\n', in_len))) {
                ssize_t r;

                if (in_len == sizeof in)
                        die("an answer longer than 64 KiB");
                r = recv(sock, in + in_len, sizeof in - in_len, 0);
                if (r <= 0)
                        die("recv");
                in_len += (size_t) r;
        }
        *nl = '\0';
        if (!strstr(in, "\"result\"")) {
                fprintf(stderr, "control-bench: %s {%s}: %s\n", method, params, in);
                exit(1);
        }
        in_len -= (size_t) (nl + 1 - in);
        memmove(in, nl + 1, in_len);
}

/* One request, and its answer before the next. */
static void call(const char *method, const char *params) {
        send_request(method, params);
        answer(method, params);
}

static void iommud_setup(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0 || connect(sock, (struct sockaddr *) &sa, sizeof sa) < 0)
                die(path);
        call("v1.power", "\"on\":true");
        call("v1.domain.create", "\"id\":5");
        call("v1.attach", "\"device\":\"" EDU "\",\"domain\":5");
}

/* ---- VFIO ---- */

static int container = -1;

static void vfio_setup(void) {
        struct vfio_group_status status = { .argsz = sizeof status };
        char link[PATH_MAX], path[PATH_MAX];
        ssize_t n;
        int group;

        n = readlink("/sys/bus/pci/devices/" EDU "/iommu_group", link, sizeof link - 1);
        if (n < 0)
                die("the iommu_group of " EDU);
        link[n] = '\0';
        snprintf(path, sizeof path, "/dev/vfio/%s", basename(link));
        container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
        group = open(path, O_RDWR | O_CLOEXEC);
        if (container < 0 || group < 0)
                die("/dev/vfio");
        if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0 || !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
                die("the group is not viable (is edu bound to vfio-pci?)");
        if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0 ||
            ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
                die("VFIO_SET_IOMMU");
}

static void vfio_map(void *vaddr, uint64_t iova, uint64_t size) {
        struct vfio_iommu_type1_dma_map m = { .argsz = sizeof m,
                                              .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                              .vaddr = (uintptr_t) vaddr,
                                              .iova = iova,
                                              .size = size };

        if (ioctl(container, VFIO_IOMMU_MAP_DMA, &m) < 0)
                die("VFIO_IOMMU_MAP_DMA");
}

static void vfio_unmap(uint64_t iova, uint64_t size) {
        struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof u, .iova = iova, .size = size };

        if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u) < 0 || u.size != size)
                die("VFIO_IOMMU_UNMAP_DMA");
}

/* ---- the phases ---- */

#define WINDOW 32 /* requests in flight when pipelined */

static uint8_t *buf;
static uint64_t *phys, linear_base;
static bool vfio;

static void map_params(char *p, size_t size, uint64_t iova, uint64_t phys_addr, uint64_t length,
                       bool alloc) {
        if (alloc)
                snprintf(p, size, "\"domain\":%d,\"iova\":%" PRIu64 ",\"alloc\":true,\"length\":%" PRIu64,
                         DID, iova, length);
        else if (phys_addr != UINT64_MAX)
                snprintf(p, size,
                         "\"domain\":%d,\"iova\":%" PRIu64 ",\"phys\":%" PRIu64 ",\"length\":%" PRIu64, DID,
                         iova, phys_addr, length);
        else
                snprintf(p, size, "\"domain\":%d,\"iova\":%" PRIu64 ",\"length\":%" PRIu64, DID, iova,
                         length);
}

/* 16,384 requests of 4 KiB: map or unmap; through iommud with up to window
 * of them in flight */
static void pages(bool map, unsigned window) {
        const char *method = map ? "v1.map" : "v1.unmap";
        char params[256];
        uint64_t sent = 0, answered = 0;

        if (vfio) {
                for (uint64_t i = 0; i < N_PAGES; i++)
                        if (map)
                                vfio_map(buf + i * PAGE, IOVA_4K + i * PAGE, PAGE);
                        else
                                vfio_unmap(IOVA_4K + i * PAGE, PAGE);
                return;
        }
        while (answered < N_PAGES) {
                while (sent < N_PAGES && sent - answered < window) {
                        map_params(params, sizeof params, IOVA_4K + sent * PAGE,
                                   map ? phys[sent] : UINT64_MAX, PAGE, false);
                        send_request(method, params);
                        sent++;
                }
                answer(method, "(4 KiB)");
                answered++;
        }
}

/* 64 MiB in one request: the test's own pages (physically contiguous), or
 * (alloc) a buffer iommud allocates */
static void whole(bool map, bool alloc) {
        char params[256];

        if (vfio) {
                if (map)
                        vfio_map(buf, IOVA_64M, SIZE);
                else
                        vfio_unmap(IOVA_64M, SIZE);
                return;
        }
        map_params(params, sizeof params, IOVA_64M, map ? linear_base : UINT64_MAX, SIZE, map && alloc);
        call(map ? "v1.map" : "v1.unmap", params);
}

/* Whether the file's 2 MiB pages, in whatever order, make one physically
 * contiguous 64 MiB: then *ret_base is its start (the one-request map maps
 * the test's own memory, in another order than the file's) */
static bool contiguous(uint64_t *ret_base) {
        const uint64_t huge = UINT64_C(2) << 20, step = huge / PAGE;
        uint64_t lo = UINT64_MAX;

        for (uint64_t i = 0; i < N_PAGES; i += step)
                if (phys[i] < lo)
                        lo = phys[i];
        for (uint64_t i = 0; i < N_PAGES; i++) {
                bool found = false;

                /* every 4 KiB page of the file lies in [lo, lo + 64 MiB),
                 * each 2 MiB page in one piece: with 32 distinct pages, the
                 * range is covered */
                if (phys[i] < lo || phys[i] >= lo + SIZE ||
                    phys[i] != phys[i - i % step] + (i % step) * PAGE)
                        return false;
                for (uint64_t k = 0; k < i - i % step && !found; k += step)
                        found = phys[k] == phys[i - i % step];
                if (found && i % step == 0)
                        return false;
        }
        *ret_base = lo;
        return true;
}

static double best[16];
static const char *names[16];
static unsigned n_phases;

static void timed(unsigned k, const char *name, double t0) {
        double t = now() - t0;

        names[k] = name;
        if (k >= n_phases)
                n_phases = k + 1;
        if (best[k] == 0 || t < best[k])
                best[k] = t;
}

int main(int argc, char **argv) {
        bool iommud = argc >= 3 && strcmp(argv[1], "iommud") == 0;
        unsigned reps = 3;
        bool linear;
        double t;

        vfio = argc >= 2 && strcmp(argv[1], "vfio") == 0;
        if (!vfio && !iommud) {
                fprintf(stderr, "usage: control-bench iommud SOCKET [REPETITIONS] | vfio [REPETITIONS]\n");
                return 2;
        }
        if (argc > (vfio ? 2 : 3))
                reps = (unsigned) strtoul(argv[vfio ? 2 : 3], NULL, 0);
        if (reps == 0)
                reps = 1;
        if (iommud) {
                phys = malloc(N_PAGES * sizeof *phys);
                if (!phys)
                        die("malloc");
        }
        if (iommud && getenv("CONTROL_BENCH_PHYS")) {
                /* iommud --simulate: its RAM, not this process's pages */
                uint64_t base = strtoull(getenv("CONTROL_BENCH_PHYS"), NULL, 0);
                for (uint64_t i = 0; i < N_PAGES; i++)
                        phys[i] = base + i * PAGE;
        } else
                buf = buffer(phys);
        if (vfio)
                vfio_setup();
        else
                iommud_setup(argv[2]);
        linear = vfio || contiguous(&linear_base);

        for (unsigned r = 0; r < reps; r++) {
                t = now();
                pages(true, 1);
                timed(0, "map4k", t);
                t = now();
                pages(false, 1);
                timed(1, "unmap4k", t);
                if (linear) {
                        t = now();
                        whole(true, false);
                        timed(2, "map64m", t);
                        t = now();
                        whole(false, false);
                        timed(3, "unmap64m", t);
                }
                if (vfio)
                        continue;
                /* the floor: a request that changes nothing, its answer
                 * ready-made (one per 4 KiB page, one at a time) */
                t = now();
                for (uint64_t i = 0; i < N_PAGES; i++)
                        call("v1.version", "");
                timed(8, "version", t);
                t = now();
                pages(true, WINDOW);
                timed(4, "map4k-pipelined", t);
                t = now();
                pages(false, WINDOW);
                timed(5, "unmap4k-pipelined", t);
                t = now();
                whole(true, true);
                timed(6, "map64m-alloc", t);
                t = now();
                whole(false, false);
                timed(7, "unmap64m-alloc", t);
        }
        for (unsigned k = 0; k < n_phases; k++)
                if (names[k])
                        printf("%s %.6f\n", names[k], best[k]);
        if (!linear)
                printf("# the 64 MiB of hugetlbfs pages are not physically contiguous: no one-request map "
                       "of them\n");
        return 0;
}
