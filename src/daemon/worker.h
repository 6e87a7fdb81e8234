/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A worker: a child process that computes one answer and writes its text
 * into a pipe, while the event loop goes on serving everyone else.
 *
 * Why a process: the work walks every page table (v1.mappings of a busy
 * machine: a million ranges, 110 MB of JSON) and needs only what the
 * daemon had when it started: the source's RAM backend and unit
 * registers, which the child has by copy-on-write.  Nothing the event loop
 * changes afterwards (a refresh, a reload freeing the source) can race
 * with it, no lock is taken anywhere, and every byte it allocated is
 * returned when it exits.  It writes as the reader drains the pipe: a slow
 * client holds a blocked child, never a growing buffer in the daemon.
 *
 * The child dies with the daemon (PR_SET_PDEATHSIG), keeps none of the
 * daemon's sockets (a client the daemon closes sees its end at once), and
 * says how it ended in a page shared with the parent, read once the pipe
 * is at its end: done, or failed with errno and message.  It is reaped on
 * the event loop (sd_event_add_child); freeing the worker kills it first.
 */

#include <stddef.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "basic/error.h"

typedef struct worker worker;

/* Runs in the child: writes the answer with write_all(fd, ...); the
 * error that stopped it in err. */
typedef int (*worker_fn)(void *userdata, int fd, iommu_error *err);

/* Start fn in a child; *ret_fd is the pipe's read end (non-blocking, owned
 * by the worker).  what names it in the log ("v1.mappings for client 7").
 * exited(userdata) is called when the child has ended (it is reaped). */
int worker_start(sd_event *e, const char *what, worker_fn fn, void (*exited)(void *userdata), void *userdata,
                 worker **ret, int *ret_fd, iommu_error *err);
/* Kills the child if it still runs (and reaps it), closes the pipe. */
worker *worker_free(worker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(worker *, worker_free);

/* Once the pipe is at its end: 0 when the child finished its answer, else
 * the negative errno with err's message (its own, or how it died).
 * WORKER_PENDING when it died without a word and has not been reaped yet:
 * ask again once exited() was called. */
#define WORKER_PENDING 1
int worker_result(worker *w, iommu_error *err);
pid_t worker_pid(const worker *w);

/* For fn: all of data into fd, blocking. */
