/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <systemd/sd-daemon.h>

#include "access/regs-sim.h"
#include "basic/json-util.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "model/model.h"
#include "shared/protocol.h"

#define STATUS_INTERVAL_USEC (1000 * 1000)
#define FAULT_LOG_BURST 10 /* fault lines per FAULT_LOG_INTERVAL in the journal */
#define FAULT_LOG_INTERVAL_USEC (10 * 1000 * 1000)

uint64_t manager_now(manager *m) {
        uint64_t t = 0;
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &t);
        return t;
}

uint64_t manager_realtime(manager *m) {
        uint64_t t = 0;
        (void) sd_event_now(m->event, CLOCK_REALTIME, &t);
        return t;
}

static void manager_resolve_admin_group(manager *m) {
        const char *name = m->conf->admin_group;
        struct group grp, *result = NULL;
        char buf[4096], *end;
        unsigned long v;

        m->admin_gid_valid = false;
        if (!name)
                return;
        errno = 0;
        v = strtoul(name, &end, 10);
        if (!errno && end != name && !*end && v < UINT32_MAX) {
                m->admin_gid = (gid_t) v;
                m->admin_gid_valid = true;
                return;
        }
        if (getgrnam_r(name, &grp, buf, sizeof buf, &result) == 0 && result) {
                m->admin_gid = result->gr_gid;
                m->admin_gid_valid = true;
        } else
                log_notice("AdminGroup=%s does not exist: only root may change state", name);
}

static const char *status_text(manager *m, char *buf, size_t size) {
        char what[PATH_MAX + 32];
        size_t n = m->source->system->n_units;
        unsigned clients = m->server ? server_n_clients(m->server) : 0;
        unsigned http = http_server_n_connections(m->http);
        unsigned workers = jobs_n_workers(m->jobs);
        int k;

        k = snprintf(buf, size, "Serving %zu unit%s from %s, %u client%s", n, n == 1 ? "" : "s",
                     source_describe(m->source, what, sizeof what), clients, clients == 1 ? "" : "s");
        if (m->http && k >= 0 && (size_t) k < size)
                k += snprintf(buf + k, size - (size_t) k, ", %u HTTP connection%s", http,
                              http == 1 ? "" : "s");
        if (workers > 0 && k >= 0 && (size_t) k < size)
                k += snprintf(buf + k, size - (size_t) k, ", %u worker%s", workers, workers == 1 ? "" : "s");
        if (m->control && control_n_owned(m->control) > 0 && k >= 0 && (size_t) k < size)
                snprintf(buf + k, size - (size_t) k, ", owning %zu", control_n_owned(m->control));
        return buf;
}

static void manager_send_status(manager *m, bool force) {
        char status[sizeof m->status];

        status_text(m, status, sizeof status);
        if (!force && streq(status, m->status))
                return;
        memcpy(m->status, status, sizeof status);
        (void) sd_notifyf(false, "STATUS=%s", status);
}

static int on_status_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        manager *m = userdata;

        manager_send_status(m, false);
        return sd_event_source_set_time_relative(es, STATUS_INTERVAL_USEC);
}

static int on_watchdog_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        manager *m = userdata;

        (void) sd_notify(false, "WATCHDOG=1");
        return sd_event_source_set_time_relative(es, m->watchdog_usec / 2);
}

static void log_fault(json_object *e) {
        static ratelimit rl = RATELIMIT_INIT(FAULT_LOG_INTERVAL_USEC, FAULT_LOG_BURST);
        json_object *pasid = json_get(e, "pasid");
        unsigned suppressed = 0;
        char pasid_text[32] = "";

        if (!ratelimit_below(&rl, &suppressed))
                return;
        if (suppressed)
                log_warning("(%u more DMA faults were logged without a journal line)", suppressed);
        if (pasid)
                snprintf(pasid_text, sizeof pasid_text, ", PASID 0x%llx",
                         (unsigned long long) json_object_get_int64(pasid));
        log_warning("DMA fault on %s: %s %s at 0x%llx%s: reason 0x%02x (%s)", json_get_string(e, "unit"),
                    json_get_string(e, "bdf"), json_get_bool(e, "write") ? "write" : "read",
                    (unsigned long long) json_get_u64(e, "address"), pasid_text,
                    (unsigned) json_get_i64(e, "reason"),
                    json_is_null(e, "reason_text") ? "unknown reason" : json_get_string(e, "reason_text"));
}

static void on_new_fault(void *userdata, json_object *entry) {
        manager *m = userdata;
        _cleanup_free_ char *line = NULL;

        stats_count_fault(m->stats, entry);
        log_fault(entry);
        if (server_n_subscribers(m->server) == 0)
                return;
        line = protocol_format_event("fault", entry);
        if (line)
                server_broadcast(m->server, line, strlen(line));
}

/* A fault the kernel logged: into the fault log like a register record. */
static void on_kmsg_fault(void *userdata, json_object *entry) {
        manager *m = userdata;

        fault_log_add(m->faults, entry);
        on_new_fault(m, entry);
}

static void manager_poll_faults(manager *m) {
        _cleanup_json_ json_object *faults = NULL;
        iommu_error err = {};
        int r;

        /* the registers as they are now: FSTS, and (read directly) FRCD */
        source_reread(m->source, manager_now(m));
        r = model_faults(m->source->system, &faults, &err);
        if (r < 0) {
                log_warning("Failed to read the fault records: %s", err.message);
                return;
        }
        r = fault_log_poll(m->faults, faults, manager_realtime(m), on_new_fault, m);
        if (r < 0)
                log_error("Out of memory logging faults");
        /* on the units iommud owns, nobody else clears the records: a
         * record left full would drop the next fault there */
        if (m->control && control_clear_faults(m->control, faults, m->faults))
                source_reread(m->source, manager_now(m));
        if (m->kmsg && source_is_live(m->source) && !source_is_simulated(m->source)) {
                r = kmsg_reader_poll(m->kmsg, m->source->system, manager_realtime(m), manager_now(m),
                                     on_kmsg_fault, m);
                if (r < 0)
                        log_warning("Failed to read the kernel log for DMA faults: %s", strerror(-r));
        }
        stats_poll(m->stats, m->source, faults);
}

static int on_fault_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        manager *m = userdata;

        manager_poll_faults(m);
        return sd_event_source_set_time_relative(es, m->conf->fault_interval_usec);
}

/* Poll now; then a live source every FaultIntervalSec.  A snapshot's
 * records never change: once is enough.  FaultIntervalSec=0: never. */
static int manager_start_fault_polling(manager *m) {
        bool poll = source_is_live(m->source) && m->conf->fault_interval_usec > 0;
        int r;

        if (m->conf->fault_interval_usec > 0)
                manager_poll_faults(m);
        if (!poll) {
                if (m->fault_timer)
                        (void) sd_event_source_set_enabled(m->fault_timer, SD_EVENT_OFF);
                return 0;
        }
        if (!m->fault_timer) {
                r = sd_event_add_time_relative(m->event, &m->fault_timer, CLOCK_MONOTONIC,
                                               m->conf->fault_interval_usec,
                                               m->conf->fault_interval_usec / 10 ?: 1, on_fault_timer, m);
                if (r < 0)
                        return r;
        } else {
                r = sd_event_source_set_time_relative(m->fault_timer, m->conf->fault_interval_usec);
                if (r >= 0)
                        r = sd_event_source_set_time_accuracy(m->fault_timer,
                                                              m->conf->fault_interval_usec / 10 ?: 1);
                if (r < 0)
                        return r;
        }
        return sd_event_source_set_enabled(m->fault_timer, SD_EVENT_ON);
}

static server_limits limits_of(const daemon_conf *c) {
        return (server_limits){
                .max_request_size = c->max_request_size,
                .max_clients = c->max_clients,
                .idle_timeout_usec = c->idle_timeout_usec,
                .request_timeout_usec = c->request_timeout_usec,
        };
}

static void warn_restart_only(const daemon_conf *old, const daemon_conf *new) {
        const struct {
                const char *key, *a, *b;
        } strings[] = {
                { "Socket", old->socket, new->socket },
                { "SocketGroup", old->socket_group, new->socket_group },
                { "ListenHTTP", old->listen_http, new->listen_http },
        };

        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (!strings[i].a != !strings[i].b || (strings[i].a && !streq(strings[i].a, strings[i].b)))
                        log_warning("%s= changed: it takes effect when iommud restarts", strings[i].key);
        if (old->socket_mode != new->socket_mode)
                log_warning("SocketMode= changed: it takes effect when iommud restarts");
}

int manager_reload(manager *m, iommu_error *err) {
        _cleanup_(conf_freep) daemon_conf *conf = NULL;
        _cleanup_(source_freep) source *src = NULL;
        server_limits limits;
        char what[PATH_MAX + 32];
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration",
                          (unsigned long long) manager_now(m));
        r = conf_load(m->config_path, m->config_required, &m->overrides, &conf, err);
        /* a simulated machine has no hardware to read again: it stays */
        if (r >= 0 && !source_is_simulated(m->source))
                r = source_open(conf->snapshot, conf->sysroot, manager_now(m), &src, err);
        if (r >= 0 && src)
                r = control_check_source(m->control, src, err);
        if (r < 0) {
                log_error("Failed to reload, keeping the running configuration: %s", err->message);
                (void) sd_notify(false, "READY=1");
                manager_send_status(m, true);
                return r;
        }
        if (m->faults && conf->fault_log_size != m->conf->fault_log_size &&
            fault_log_resize(m->faults, conf->fault_log_size) < 0) {
                log_error("Failed to reload, keeping the running configuration: out of memory");
                (void) sd_notify(false, "READY=1");
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }

        warn_restart_only(m->conf, conf);
        if (m->http) {
                http_server_reload(m->http, conf);
                http_token_setup(&m->token, conf);
        }
        metrics_text_forget(&m->metrics);
        conf_free(m->conf);
        m->conf = TAKE_PTR(conf);
        if (src) {
                iommu_error cerr = {};

                /* workers of the old source finish their answers, but keep nothing */
                jobs_forget_source(m->jobs, m->source);
                if (control_attach_source(m->control, src, &cerr) < 0)
                        log_error("The units iommud owns are not shown as such: %s", cerr.message);
                source_free(m->source);
                m->source = TAKE_PTR(src);
        }
        manager_resolve_admin_group(m);
        control_configure(m->control, m->conf, m->admin_gid_valid, m->admin_gid);
        control_manage(m->control, m->conf);
        source_changed(m->source, manager_now(m));
        limits = limits_of(m->conf);
        server_set_limits(m->server, &limits);
        r = manager_start_fault_polling(m);
        if (r < 0)
                log_warning("Failed to arm the fault poll timer: %s", strerror(-r));

        log_info("Reloaded: serving %s", source_describe(m->source, what, sizeof what));
        (void) sd_notify(false, "READY=1");
        manager_send_status(m, true);
        return 0;
}

static int on_sighup(sd_event_source *es, const struct signalfd_siginfo *si, void *userdata) {
        manager *m = userdata;
        iommu_error err = {};

        log_info("SIGHUP: reloading the configuration");
        (void) manager_reload(m, &err);
        return 0;
}

/* iommud --simulate: the fault QEMU records for edu's DMA write to an
 * IOVA nothing maps (iommud(8), SIGNALS). */
static int on_sigusr1(sd_event_source *es, const struct signalfd_siginfo *si, void *userdata) {
        manager *m = userdata;
        iommu_unit *u = &m->source->system->units[0];
        int r;

        r = regs_sim_inject_fault(u->regs, &(regs_sim_fault){ .sid = SIMULATED_FAULT_SID,
                                                              .addr = SIMULATED_FAULT_IOVA,
                                                              .type = REGS_SIM_FAULT_WRITE,
                                                              .reason = SIMULATED_FAULT_REASON });
        if (r < 0)
                log_info("SIGUSR1: the simulated fault was dropped (%s's fault records are full)", u->name);
        else
                log_info("SIGUSR1: %s recorded a simulated DMA fault in record %d", u->name, r);
        return 0;
}

static int on_exit_signal(sd_event_source *es, const struct signalfd_siginfo *si, void *userdata) {
        manager *m = userdata;

        log_info("Received %s, stopping", si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
        return sd_event_exit(m->event, 0);
}

/* systemd's sockets: "iommud.socket" (or a single unnamed one) is ours;
 * "iommud-http.socket" is kept for the HTTP server. */
static int manager_take_sockets(manager *m, bool *ret_adopted) {
        char **names = NULL;
        int n, r = 0;
        bool adopted = false;

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to read the sockets passed by systemd: %s", strerror(-n));
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "unknown";
                iommu_error err = {};

                if (!adopted && r >= 0 &&
                    (streq(name, "iommud.socket") || (n == 1 && streq(name, "unknown")))) {
                        r = server_adopt(m->server, fd, &err);
                        if (r < 0)
                                log_error("%s", err.message);
                        else {
                                adopted = true;
                                log_debug("Serving the socket passed by systemd (fd %d, %s)", fd, name);
                                continue;
                        }
                } else if (streq(name, "iommud-http.socket") && m->http_fd < 0) {
                        m->http_fd = fd;
                        log_debug("Serving HTTP on the socket passed by systemd (fd %d, %s)", fd, name);
                        continue;
                } else
                        log_warning("Ignoring the socket %s passed by systemd (fd %d)", name, fd);
                safe_close(fd);
        }
        for (int i = 0; names && i < n; i++)
                free(names[i]);
        free(names);
        *ret_adopted = adopted;
        return r;
}

void manager_init(manager *m, const char *config_path, bool config_required,
                  const conf_overrides *overrides) {
        *m = (manager){
                .config_path = config_path,
                .config_required = config_required,
                .overrides = *overrides,
                .http_fd = -EBADF,
        };
}

void manager_done(manager *m) {
        /* first: its connections' last callbacks still look at the rest */
        m->http = http_server_free(m->http);
        m->server = server_free(m->server);
        /* after the transports, whose answers wait on the workers */
        m->jobs = jobs_free(m->jobs);
        sd_event_source_disable_unref(m->sig_term);
        sd_event_source_disable_unref(m->sig_int);
        sd_event_source_disable_unref(m->sig_hup);
        sd_event_source_disable_unref(m->fault_timer);
        sd_event_source_disable_unref(m->watchdog_timer);
        sd_event_source_disable_unref(m->status_timer);
        safe_close(m->http_fd);
        http_token_clear(&m->token);
        metrics_text_forget(&m->metrics);
        fault_log_free(m->faults);
        kmsg_reader_free(m->kmsg);
        stats_free(m->stats);
        sd_event_source_disable_unref(m->sig_usr1);
        /* before the source: a simulated unit's registers are the source's */
        control_free(m->control);
        source_free(m->source);
        conf_free(m->conf);
        sd_event_unref(m->event);
        *m = (manager){ .http_fd = -EBADF };
}

int manager_metrics(manager *m, job_wait *wait, uint64_t started_usec, const char *caller, const char **ret,
                    size_t *ret_size, job_wait **ret_wait, iommu_error *err) {
        _cleanup_json_ json_object *mapped = NULL, *owned = NULL;
        metrics_input in = {
                .source = m->source,
                .faults = m->faults,
                .stats = m->stats,
                .now_usec = manager_now(m),
                .max_age_usec = m->conf->refresh_interval_usec,
                .started_usec = started_usec,
        };
        const answer_key key = { .kind = ANSWER_MAPPED };
        const char *text;
        size_t size;
        int r;

        /* a scrape that waited may find what another rendered meanwhile */
        if (metrics_text_fresh(&m->metrics, m->source, in.now_usec, in.max_age_usec)) {
                *ret = m->metrics.text;
                *ret_size = m->metrics.size;
                return 1;
        }
        if (wait) {
                if (job_wait_state(wait) == JOB_COMPLETE) {
                        job_wait_text(wait, &text, &size);
                        mapped = json_tokener_parse(text);
                } else {
                        (void) job_wait_error(wait, &text);
                        log_debug("Metrics: %s", text);
                }
        } else {
                const answer *a = source_lookup(m->source, &key, in.now_usec, in.max_age_usec);

                if (!a) {
                        r = jobs_wait(m->jobs, m->source, &key, caller, ret_wait, err);
                        return r < 0 ? r : 0;
                }
                mapped = metrics_mapped_of(a);
        }
        in.mapped = mapped;
        in.control = owned = control_metrics(m->control);
        r = metrics_text_render(&m->metrics, &in, ret, ret_size, err);
        return r < 0 ? r : 1;
}

int manager_start(manager *m, const manager_transports *t) {
        server_limits limits;
        iommu_error err = {};
        sigset_t mask;
        bool adopted = false;
        char what[PATH_MAX + 32];
        struct rlimit rl;
        int r;

        r = conf_load(m->config_path, m->config_required, &m->overrides, &m->conf, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err.message);
        if (m->overrides.simulate) {
                iommu_sim_config sim;

                r = iommu_sim_config_parse(m->overrides.simulate, &sim, &err);
                if (r >= 0) {
                        sim.machine = m->overrides.simulated_machine;
                        r = source_open_simulated(&sim, 0, &m->source, &err);
                }
        } else
                r = source_open(m->conf->snapshot, m->conf->sysroot, 0, &m->source, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err.message);
        manager_resolve_admin_group(m);
        r = control_new(&m->control);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        control_configure(m->control, m->conf, m->admin_gid_valid, m->admin_gid);
        r = control_attach_source(m->control, m->source, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err.message);

        /* MaxClients and MaxConnections connections need as many descriptors */
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur < rl.rlim_max &&
            rl.rlim_cur < (rlim_t) m->conf->max_clients + m->conf->http_max_connections + 64) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }

        r = fault_log_new(m->conf->fault_log_size, &m->faults);
        if (r >= 0)
                r = stats_new(&m->stats);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        /* the kernel clears the fault records of units it owns at once and
         * logs them: its log is where those faults are seen */
        if (source_is_live(m->source) && !source_is_simulated(m->source) &&
            m->conf->fault_interval_usec > 0) {
                iommu_error kerr = {};
                if (kmsg_reader_open(m->conf->sysroot, &m->kmsg, &kerr) < 0)
                        log_warning("%s", kerr.message);
        }

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %s", strerror(-r));
        r = jobs_new(m->event, &m->jobs);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        m->source->generation_usec = manager_now(m);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD); /* workers end: sd_event_add_child() wants it blocked */
        if (source_is_simulated(m->source))
                sigaddset(&mask, SIGUSR1);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %s", strerror(errno));
        if ((r = sd_event_add_signal(m->event, &m->sig_term, SIGTERM, on_exit_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sig_int, SIGINT, on_exit_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sig_hup, SIGHUP, on_sighup, m)) < 0 ||
            (source_is_simulated(m->source) &&
             (r = sd_event_add_signal(m->event, &m->sig_usr1, SIGUSR1, on_sigusr1, m)) < 0))
                return log_error_errno(r, "Failed to watch signals: %s", strerror(-r));

        limits = limits_of(m->conf);
        r = server_new(m->event, t->socket, m, &limits, &m->server);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the server: %s", strerror(-r));
        r = manager_take_sockets(m, &adopted);
        if (r < 0)
                return r;
        if (!adopted) {
                r = server_listen(m->server, m->conf->socket, m->conf->socket_mode, m->conf->socket_group,
                                  &err);
                if (r < 0)
                        return log_error_errno(r, "%s", err.message);
        }
        r = http_server_new(m->event, TAKE_FD(m->http_fd), m->conf, t->http, m, &m->http, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err.message);
        if (m->http)
                http_token_setup(&m->token, m->conf);

        /* what an earlier iommud left, then Manage=: before the first fault
         * poll, which then clears what the units held */
        control_readopt(m->control);
        control_manage(m->control, m->conf);
        source_changed(m->source, manager_now(m));

        r = manager_start_fault_polling(m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the fault poll timer: %s", strerror(-r));

        if (sd_watchdog_enabled(false, &m->watchdog_usec) > 0 && m->watchdog_usec > 0) {
                /* sd-event's default accuracy (250ms) is too coarse for a watchdog */
                r = sd_event_add_time_relative(m->event, &m->watchdog_timer, CLOCK_MONOTONIC,
                                               m->watchdog_usec / 2, m->watchdog_usec / 20 ?: 1,
                                               on_watchdog_timer, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->watchdog_timer, SD_EVENT_ON);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the watchdog timer: %s", strerror(-r));
        }
        if (getenv("NOTIFY_SOCKET")) {
                r = sd_event_add_time_relative(m->event, &m->status_timer, CLOCK_MONOTONIC,
                                               STATUS_INTERVAL_USEC, 0, on_status_timer, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->status_timer, SD_EVENT_ON);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the status timer: %s", strerror(-r));
        }

        if (m->source->no_units)
                log_notice("No VT-d units: %s; serving that answer", m->source->no_units);
        log_info("Serving %s on %s", source_describe(m->source, what, sizeof what),
                 adopted ? "the socket passed by systemd" : m->conf->socket);
        status_text(m, m->status, sizeof m->status);
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", m->status);
        return 0;
}

int manager_run(manager *m) {
        int r = sd_event_loop(m->event);

        if (r < 0)
                return log_error_errno(r, "Event loop failed: %s", strerror(-r));
        return 0;
}
