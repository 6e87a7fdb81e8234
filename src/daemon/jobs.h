/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Answers computed off the event loop: those that walk every page table
 * (source.h, answer_kind_walks(): v1.mappings and the metrics' mapped
 * bytes), each by a worker process (worker.h).
 *
 * A job is one worker computing one answer of one source generation.  The
 * requests that need it wait on it (a job_wait each); a request for the
 * same answer while it is being computed waits on the same job.  Its text
 * is read from the pipe as fast as the worker writes it, up to
 * SOURCE_KEEP_MAX bytes: an answer that ends within that is kept in the
 * source's cache (source_keep()) and given whole to every waiter, exactly
 * as a cached answer (JOB_COMPLETE: the common case).  An answer that
 * grows past it is streamed to its first waiter alone (JOB_STREAMING),
 * read from the pipe only as fast as that client takes it, so the worker
 * waits on a slow client and the daemon holds no more than SOURCE_KEEP_MAX
 * of it; every other waiter gets a job of its own, so that no client
 * waits for another's reading.  A worker that fails before any of the
 * answer was given out is an error answer (JOB_FAILED); one that fails
 * after is logged here, and the transport cuts its answer off.
 *
 * Errors found without walking (the tables or registers cannot be read)
 * never get here: source_lookup() answers them as usual.
 */

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

#include "basic/error.h"
#include "daemon/source.h"

typedef struct jobs jobs;
typedef struct job_wait job_wait;

typedef enum job_state {
        JOB_RUNNING,   /* nothing known yet: the wakeup says when */
        JOB_COMPLETE,  /* the whole answer, in memory: job_wait_text() */
        JOB_STREAMING, /* an answer too big to keep: job_wait_read() it */
        JOB_FAILED,    /* an error, and nothing of the answer was given out: job_wait_error() */
} job_state;

int jobs_new(sd_event *e, jobs **ret);
/* Kills every worker; the waiters are to be gone first. */
jobs *jobs_free(jobs *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(jobs *, jobs_free);
/* s is being replaced (reload): its jobs go on for their waiters, but
 * keep nothing in its cache and start no more workers from it. */
void jobs_forget_source(jobs *j, const source *s);
unsigned jobs_n_workers(const jobs *j);

/* Wait for key's answer from s (after source_lookup() said NULL): on the
 * job computing it for s's generation, or on a new one.  caller names who
 * asks, for the log. */
int jobs_wait(jobs *j, source *s, const answer_key *key, const char *caller, job_wait **ret,
              iommu_error *err);

job_state job_wait_state(const job_wait *w);
/* JOB_COMPLETE: the answer's text (borrowed while w lives). */
void job_wait_text(const job_wait *w, const char **ret, size_t *ret_size);
/* JOB_FAILED: the positive errno, and the message. */
int job_wait_error(const job_wait *w, const char **ret_message);
/* JOB_STREAMING: up to max bytes of the answer into buf.  0 with *ret_n
 * bytes, none when the worker has written nothing more yet (the wakeup
 * comes when it has); 1 at the end of the answer (*ret_n 0); a negative
 * errno when the worker failed midway (logged here: the answer is cut). */
int job_wait_read(job_wait *w, void *buf, size_t max, size_t *ret_n);
/* Called when the state changes, and when a stream has more to read.  It
 * must not free w (transports defer their work). */
void job_wait_set_wakeup(job_wait *w, void (*wake)(void *userdata), void *userdata);
/* The last waiter of a job that is still computing kills its worker. */
job_wait *job_wait_free(job_wait *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(job_wait *, job_wait_free);
