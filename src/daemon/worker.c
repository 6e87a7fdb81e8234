/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/worker.h"

#define WORKER_PIPE_SIZE (256u << 10) /* fewer wakeups than the default 64 KiB */

enum {
        PAGE_RUNNING,
        PAGE_DONE,
        PAGE_FAILED,
};

/* Shared with the child (MAP_SHARED): how it ended. */
typedef struct worker_page {
        int state;
        int error;
        char message[1024];
} worker_page;

struct worker {
        sd_event_source *child;
        worker_page *page;
        pid_t pid;
        int fd;
        bool exited;
        siginfo_t status; /* once exited */
        void (*on_exited)(void *userdata);
        void *userdata;
        char what[160];
};

pid_t worker_pid(const worker *w) {
        return w->pid;
}

/* The daemon's sockets and pipes, but for fd: a client the daemon closes
 * must see its end at once, not when this child exits.  Files (the
 * snapshot, /proc/kcore, /dev/mem) stay: the walk reads them. */
static void close_inherited(int keep) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                struct stat st;
                char *end;
                long fd = strtol(de->d_name, &end, 10);

                if (*end || end == de->d_name || fd <= STDERR_FILENO || fd == keep || fd == dirfd(d))
                        continue;
                if (fstat((int) fd, &st) >= 0 && (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode)))
                        (void) close((int) fd);
        }
        closedir(d);
}

_noreturn_ static void child_main(pid_t parent, int fd, worker_page *page, worker_fn fn, void *userdata) {
        iommu_error err = {};
        sigset_t none;
        int r;

        /* dies with the daemon; and if the daemon died already, now */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(EXIT_FAILURE);
        /* the daemon blocks what its signalfd reads: here they are to kill */
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) prctl(PR_SET_NAME, "iommud-worker");
        close_inherited(fd);

        r = fn(userdata, fd, &err);
        if (r < 0) {
                page->error = err.error ?: -r;
                snprintf(page->message, sizeof page->message, "%s",
                         err.message[0] ? err.message : strerror(-r));
                __atomic_store_n(&page->state, PAGE_FAILED, __ATOMIC_RELEASE);
                _exit(EXIT_FAILURE);
        }
        __atomic_store_n(&page->state, PAGE_DONE, __ATOMIC_RELEASE);
        /* no exit handlers: what the daemon registered is not this process's */
        _exit(EXIT_SUCCESS);
}

static int on_child(sd_event_source *es, const siginfo_t *si, void *userdata) {
        worker *w = userdata;

        if (si->si_code == CLD_EXITED)
                log_debug("Worker %d (%s) exited with status %d", (int) si->si_pid, w->what, si->si_status);
        else
                log_warning("Worker %d (%s) was killed by signal %d", (int) si->si_pid, w->what,
                            si->si_status);
        w->exited = true;
        w->status = *si;
        if (w->on_exited)
                w->on_exited(w->userdata);
        return 0;
}

worker *worker_free(worker *w) {
        if (!w)
                return NULL;
        /* owned: killed (SIGKILL) and reaped if it still runs */
        sd_event_source_disable_unref(w->child);
        safe_close(w->fd);
        if (w->page)
                (void) munmap(w->page, sizeof *w->page);
        free(w);
        return NULL;
}

int worker_start(sd_event *e, const char *what, worker_fn fn, void (*exited)(void *userdata), void *userdata,
                 worker **ret, int *ret_fd, iommu_error *err) {
        _cleanup_(worker_freep) worker *w = calloc(1, sizeof *w);
        int fds[2], r;
        pid_t parent = getpid();

        if (!w)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        w->fd = -EBADF;
        w->on_exited = exited;
        w->userdata = userdata;
        snprintf(w->what, sizeof w->what, "%s", what);
        w->page = mmap(NULL, sizeof *w->page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (w->page == MAP_FAILED) {
                w->page = NULL;
                return iommu_error_set(err, errno, "Failed to start a worker for %s: %s", what,
                                       strerror(errno));
        }
        if (pipe2(fds, O_CLOEXEC) < 0)
                return iommu_error_set(err, errno, "Failed to start a worker for %s: %s", what,
                                       strerror(errno));
        (void) fcntl(fds[1], F_SETPIPE_SZ, (int) WORKER_PIPE_SIZE);

        w->pid = fork();
        if (w->pid < 0) {
                r = errno;
                safe_close(fds[0]);
                safe_close(fds[1]);
                return iommu_error_set(err, r, "Failed to start a worker for %s: %s", what, strerror(r));
        }
        if (w->pid == 0) {
                safe_close(fds[0]);
                child_main(parent, fds[1], w->page, fn, userdata);
        }

        safe_close(fds[1]);
        w->fd = fds[0];
        if (fcntl(w->fd, F_SETFL, O_NONBLOCK) < 0)
                r = -errno;
        else
                r = sd_event_add_child(e, &w->child, w->pid, WEXITED, on_child, w);
        if (r >= 0)
                r = sd_event_source_set_child_process_own(w->child, true);
        if (r < 0) {
                if (!w->child) {
                        (void) kill(w->pid, SIGKILL);
                        (void) waitpid(w->pid, NULL, 0);
                }
                return iommu_error_set(err, -r, "Failed to watch the worker for %s: %s", what, strerror(-r));
        }
        log_debug("Worker %d computes %s", (int) w->pid, what);
        *ret_fd = w->fd;
        *ret = TAKE_PTR(w);
        return 0;
}

int worker_result(worker *w, iommu_error *err) {
        switch (__atomic_load_n(&w->page->state, __ATOMIC_ACQUIRE)) {
        case PAGE_DONE:
                return 0;
        case PAGE_FAILED:
                return iommu_error_set(err, w->page->error ?: EIO, "%s", w->page->message);
        default:
                /* it closed the pipe without a word: how it died, once it is reaped */
                if (!w->exited)
                        return WORKER_PENDING;
                if (w->status.si_code == CLD_EXITED)
                        return iommu_error_set(err, EIO,
                                               "The worker computing it (pid %d) exited with status %d "
                                               "without finishing",
                                               (int) w->pid, w->status.si_status);
                return iommu_error_set(err, EIO, "The worker computing it (pid %d) was killed by signal %d",
                                       (int) w->pid, w->status.si_status);
        }
}
