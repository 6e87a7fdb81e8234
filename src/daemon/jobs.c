/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "basic/alloc-util.h"
#include "basic/fileio.h"
#include "basic/list.h"
#include "daemon/jobs.h"
#include "daemon/log.h"
#include "daemon/worker.h"

#define READ_CHUNK (64u << 10)

typedef struct job job;

struct job_wait {
        job *job;
        LIST_FIELDS(job_wait, waiters);
        void (*wake)(void *userdata);
        void *wake_userdata;
        char caller[128];
};

struct job {
        jobs *jobs;
        LIST_FIELDS(job, jobs);
        answer_key key;
        source *source; /* where it is kept; NULL once the source was replaced */
        uint64_t source_id, generation;
        char what[256];

        worker *worker; /* until the pipe's end */
        int fd;         /* the pipe, the worker's */
        sd_event_source *io;
        job_state state;

        /* RUNNING: all that was read; STREAMING: what the reader has yet
         * to take, from pos (freed once taken) */
        char *buf;
        size_t len, pos, alloc;
        int error; /* FAILED */
        char message[512];

        job_wait *waiters;
        job_wait *reader; /* STREAMING */
        uint64_t streamed;
        int stream_error; /* the worker failed midway */
};

struct jobs {
        sd_event *event;
        job *jobs;
        unsigned n_workers;
};

static void job_free(job *jb);

int jobs_new(sd_event *e, jobs **ret) {
        jobs *j = calloc(1, sizeof *j);

        if (!j)
                return -ENOMEM;
        j->event = sd_event_ref(e);
        *ret = j;
        return 0;
}

jobs *jobs_free(jobs *j) {
        if (!j)
                return NULL;
        while (j->jobs) {
                job *jb = j->jobs;

                /* waiters left behind hold on to nothing */
                LIST_FOREACH(waiters, w, jb->waiters) {
                        w->job = NULL;
                }
                jb->waiters = NULL;
                job_free(jb);
        }
        sd_event_unref(j->event);
        free(j);
        return NULL;
}

unsigned jobs_n_workers(const jobs *j) {
        return j ? j->n_workers : 0;
}

void jobs_forget_source(jobs *j, const source *s) {
        LIST_FOREACH(jobs, jb, j->jobs) {
                if (jb->source == s)
                        jb->source = NULL;
        }
}

static void job_end_worker(job *jb) {
        if (!jb->worker)
                return;
        jb->io = sd_event_source_disable_unref(jb->io);
        jb->worker = worker_free(jb->worker);
        jb->fd = -EBADF;
        jb->jobs->n_workers--;
}

static void job_free(job *jb) {
        if (!jb)
                return;
        if (jb->worker && jb->state != JOB_COMPLETE && jb->state != JOB_FAILED)
                log_debug("Stopping the worker computing %s: nobody waits for it any more", jb->what);
        job_end_worker(jb);
        LIST_REMOVE(jobs, jb->jobs->jobs, jb);
        free(jb->buf);
        free(jb);
}

static void job_wake(job *jb) {
        LIST_FOREACH(waiters, w, jb->waiters) {
                if (w->wake)
                        w->wake(w->wake_userdata);
        }
}

static void job_fail(job *jb, int error, const char *message) {
        jb->state = JOB_FAILED;
        jb->error = error;
        snprintf(jb->message, sizeof jb->message, "%s", message);
        jb->buf = mfree(jb->buf);
        jb->len = jb->alloc = jb->pos = 0;
        log_warning("Failed to compute %s: %s", jb->what, message);
        job_end_worker(jb);
        job_wake(jb);
}

/* The pipe's end: the worker's word on how it went (WORKER_PENDING: ask
 * again when it is reaped, job_exited()). */
static int job_result(job *jb, iommu_error *err) {
        int r = worker_result(jb->worker, err);

        if (r == WORKER_PENDING) {
                /* the pipe is at its end: do not poll it meanwhile */
                (void) sd_event_source_set_enabled(jb->io, SD_EVENT_OFF);
                return r;
        }
        job_end_worker(jb);
        return r;
}

static int worker_main(void *userdata, int fd, iommu_error *err);
static int job_find_or_start(jobs *j, source *s, const answer_key *key, const char *caller, job **ret,
                             iommu_error *err);

/* The answer is too big to keep: its first waiter reads it, the others
 * start over on a job of their own. */
static void job_start_streaming(job *jb) {
        job_wait *first = NULL;

        /* prepended: the last is the first to have come */
        LIST_FOREACH(waiters, w, jb->waiters) {
                first = w;
        }
        jb->state = JOB_STREAMING;
        jb->reader = first;
        log_debug("%s is over %u bytes: streamed, not kept", jb->what, SOURCE_KEEP_MAX);

        LIST_FOREACH_SAFE(waiters, w, next, jb->waiters) {
                iommu_error err = {};
                job *other;

                if (w == first)
                        continue;
                LIST_REMOVE(waiters, jb->waiters, w);
                w->job = NULL;
                if (job_find_or_start(jb->jobs, jb->source, &jb->key, w->caller, &other, &err) < 0) {
                        log_warning("%s", err.message);
                        other = NULL;
                }
                if (!other) {
                        /* without a job it reads as failed */
                        if (w->wake)
                                w->wake(w->wake_userdata);
                        continue;
                }
                w->job = other;
                LIST_PREPEND(waiters, other->waiters, w);
                if (other->state != JOB_RUNNING && w->wake)
                        w->wake(w->wake_userdata);
        }
        /* read on only as the reader takes it */
        (void) sd_event_source_set_enabled(jb->io, SD_EVENT_OFF);
        if (first && first->wake)
                first->wake(first->wake_userdata);
}

/* RUNNING: read all there is, to the end or past SOURCE_KEEP_MAX. */
static void job_collect(job *jb) {
        for (;;) {
                iommu_error err = {};
                ssize_t k;
                int r;

                if (!GREEDY_REALLOC_MIN(jb->buf, jb->alloc, jb->len + READ_CHUNK, READ_CHUNK)) {
                        job_fail(jb, ENOMEM, "Out of memory");
                        return;
                }
                k = read(jb->fd, jb->buf + jb->len, READ_CHUNK);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        job_fail(jb, errno, strerror(errno));
                        return;
                }
                if (k == 0) {
                        r = job_result(jb, &err);
                        if (r == WORKER_PENDING)
                                return;
                        if (r < 0) {
                                job_fail(jb, err.error, err.message);
                                return;
                        }
                        jb->state = JOB_COMPLETE;
                        if (jb->source)
                                source_keep(jb->source, &jb->key, jb->generation, jb->buf, jb->len);
                        job_wake(jb);
                        return;
                }
                jb->len += (size_t) k;
                if (jb->len > SOURCE_KEEP_MAX) {
                        job_start_streaming(jb);
                        return;
                }
        }
}

/* The worker was reaped: a pipe's end that waited for how it died. */
static void job_exited(void *userdata) {
        job *jb = userdata;

        if (jb->state == JOB_RUNNING)
                job_collect(jb);
        else if (jb->state == JOB_STREAMING && jb->reader && jb->reader->wake)
                jb->reader->wake(jb->reader->wake_userdata);
}

static int on_pipe(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        job *jb = userdata;

        if (jb->state == JOB_RUNNING)
                job_collect(jb);
        else if (jb->state == JOB_STREAMING) {
                /* more for the reader: it reads straight from the pipe */
                (void) sd_event_source_set_enabled(es, SD_EVENT_OFF);
                if (jb->reader && jb->reader->wake)
                        jb->reader->wake(jb->reader->wake_userdata);
        }
        return 0;
}

static bool key_same(const answer_key *a, const answer_key *b) {
        return a->kind == b->kind &&
               (a->kind != ANSWER_MAPPINGS || memcmp(&a->filter, &b->filter, sizeof a->filter) == 0);
}

static int job_start(jobs *j, source *s, const answer_key *key, const char *caller, job **ret,
                     iommu_error *err) {
        job *jb = calloc(1, sizeof *jb);
        int r;

        if (!jb)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *jb = (job){ .jobs = j, .key = *key, .source = s, .fd = -EBADF, .state = JOB_RUNNING };
        snprintf(jb->what, sizeof jb->what, "%s for %s", answer_kind_to_string(key->kind), caller);
        LIST_PREPEND(jobs, j->jobs, jb);
        if (!s) {
                /* the source was replaced since the request came: a job that
                 * is its error, for the waiters moved here */
                jb->state = JOB_FAILED;
                jb->error = EAGAIN;
                snprintf(jb->message, sizeof jb->message,
                         "The source was reloaded while %s was being computed: ask again",
                         answer_kind_to_string(key->kind));
                *ret = jb;
                return 0;
        }
        jb->source_id = s->id;
        jb->generation = s->generation;
        r = worker_start(j->event, jb->what, worker_main, job_exited, jb, &jb->worker, &jb->fd, err);
        if (r >= 0) {
                j->n_workers++;
                r = sd_event_add_io(j->event, &jb->io, jb->fd, EPOLLIN, on_pipe, jb);
                if (r < 0)
                        r = iommu_error_set(err, -r, "Failed to watch the worker for %s: %s", jb->what,
                                            strerror(-r));
        }
        if (r < 0) {
                job_free(jb);
                return r;
        }
        *ret = jb;
        return 0;
}

typedef struct fd_writer {
        int fd;
} fd_writer;

static int write_fd(void *userdata, const void *data, size_t size) {
        return write_all(((fd_writer *) userdata)->fd, data, size);
}

/* In the worker: the answer into the pipe. */
static int worker_main(void *userdata, int fd, iommu_error *err) {
        job *jb = userdata;
        fd_writer w = { .fd = fd };

        return source_write_answer(jb->source, &jb->key, write_fd, &w, err);
}

/* The job computing key for s's generation, or a new one (s NULL: one
 * that failed). */
static int job_find_or_start(jobs *j, source *s, const answer_key *key, const char *caller, job **ret,
                             iommu_error *err) {
        LIST_FOREACH(jobs, i, j->jobs) {
                if (s && i->state == JOB_RUNNING && i->source == s && i->source_id == s->id &&
                    i->generation == s->generation && key_same(&i->key, key)) {
                        *ret = i;
                        return 0;
                }
        }
        return job_start(j, s, key, caller, ret, err);
}

int jobs_wait(jobs *j, source *s, const answer_key *key, const char *caller, job_wait **ret,
              iommu_error *err) {
        job_wait *w = calloc(1, sizeof *w);
        job *jb = NULL;
        int r;

        if (!w)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        snprintf(w->caller, sizeof w->caller, "%s", caller);
        r = job_find_or_start(j, s, key, caller, &jb, err);
        if (r < 0) {
                free(w);
                return r;
        }
        w->job = jb;
        LIST_PREPEND(waiters, jb->waiters, w);
        *ret = w;
        return 0;
}

job_state job_wait_state(const job_wait *w) {
        return w->job ? w->job->state : JOB_FAILED;
}

void job_wait_text(const job_wait *w, const char **ret, size_t *ret_size) {
        *ret = w->job && w->job->buf ? w->job->buf : "";
        *ret_size = w->job ? w->job->len : 0;
}

int job_wait_error(const job_wait *w, const char **ret_message) {
        if (!w->job) {
                *ret_message = "Out of memory";
                return ENOMEM;
        }
        *ret_message = w->job->message;
        return w->job->error ?: EIO;
}

void job_wait_set_wakeup(job_wait *w, void (*wake)(void *userdata), void *userdata) {
        w->wake = wake;
        w->wake_userdata = userdata;
}

int job_wait_read(job_wait *w, void *buf, size_t max, size_t *ret_n) {
        job *jb = w->job;
        iommu_error err = {};
        ssize_t k;
        int r;

        *ret_n = 0;
        if (!jb || jb->state != JOB_STREAMING || jb->reader != w)
                return -EINVAL;
        if (jb->buf) {
                size_t n = jb->len - jb->pos < max ? jb->len - jb->pos : max;

                memcpy(buf, jb->buf + jb->pos, n);
                jb->pos += n;
                if (jb->pos == jb->len) {
                        jb->buf = mfree(jb->buf);
                        jb->len = jb->pos = jb->alloc = 0;
                }
                jb->streamed += n;
                *ret_n = n;
                return 0;
        }
        if (!jb->worker)
                return jb->stream_error ?: 1;
        for (;;) {
                k = read(jb->fd, buf, max);
                if (k >= 0 || errno != EINTR)
                        break;
        }
        if (k > 0) {
                jb->streamed += (uint64_t) k;
                *ret_n = (size_t) k;
                return 0;
        }
        if (k < 0 && errno == EAGAIN) {
                (void) sd_event_source_set_enabled(jb->io, SD_EVENT_ONESHOT);
                return 0;
        }
        if (k < 0) {
                r = -errno;
                log_warning("Failed to read %s from its worker after %" PRIu64 " bytes: %s", jb->what,
                            jb->streamed, strerror(-r));
                job_end_worker(jb);
                return jb->stream_error = r;
        }
        r = job_result(jb, &err);
        if (r == WORKER_PENDING)
                return 0; /* the wakeup comes when it is reaped */
        if (r < 0) {
                log_warning("Failed to compute %s: %s; the answer is cut off after %" PRIu64 " bytes",
                            jb->what, err.message, jb->streamed);
                return jb->stream_error = -(err.error ?: EIO);
        }
        return 1;
}

job_wait *job_wait_free(job_wait *w) {
        job *jb;

        if (!w)
                return NULL;
        jb = w->job;
        if (jb) {
                LIST_REMOVE(waiters, jb->waiters, w);
                if (jb->reader == w)
                        jb->reader = NULL;
                if (!jb->waiters)
                        job_free(jb);
        }
        free(w);
        return NULL;
}
