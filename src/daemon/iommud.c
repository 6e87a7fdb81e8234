/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iommud: serves the IOMMU model over a Unix socket and HTTP, one sd-event loop. */
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "basic/json-util.h"
#include "config.h"
#include "daemon/http.h"
#include "daemon/kmsg-faults.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/methods.h"
#include "daemon/stats.h"
#include "model/model.h"
#include "shared/protocol.h"

#define STATUS_INTERVAL_USEC (1000 * 1000)
#define FAULT_LOG_BURST 10 /* fault lines per FAULT_LOG_INTERVAL in the journal */
#define FAULT_LOG_INTERVAL_USEC (10 * 1000 * 1000)

static const char *arg_config = NULL;
static conf_overrides arg_overrides;

static void help(void) {
        printf("iommud [OPTIONS...]\n\n"
               "Intel VT-d IOMMU diagnostics daemon: serves the units, devices, mappings and DMA faults\n"
               "of this machine (or of a snapshot) over a Unix socket, one JSON object per line,\n"
               "and over HTTP: GET /v1/..., the same JSON, and /metrics for Prometheus.\n\n"
               "Options:\n"
               "     --config FILE             Read this configuration (default " CONF_DEFAULT_PATH ")\n"
               "     --socket PATH             Listen on PATH (default " PROTOCOL_DEFAULT_SOCKET ")\n"
               "     --snapshot FILE           Serve a snapshot file instead of the hardware\n"
               "     --sysroot DIR             Read /sys, /proc and /dev below DIR\n"
               "     --state-dir DIR           State directory (default " CONF_DEFAULT_STATE_DIRECTORY
               "; nothing is kept there yet)\n"
               "     --listen-http ADDR:PORT   HTTP address (default " CONF_DEFAULT_LISTEN_HTTP ")\n"
               "     --no-http                 No HTTP listener\n"
               "  -h --help                    Show this help\n"
               "     --version                 Show the version\n"
               "\nRuns in the foreground; SIGHUP reloads the configuration, SIGTERM stops.\n"
               "See iommud(8) and iommud.conf(5).\n");
}

/* 0: run; 1: done (--help); < 0: usage error, logged */
static int parse_argv(int argc, char **argv) {
        enum {
                OPT_CONFIG = 0x100,
                OPT_SOCKET,
                OPT_SNAPSHOT,
                OPT_SYSROOT,
                OPT_STATE_DIR,
                OPT_LISTEN_HTTP,
                OPT_NO_HTTP,
                OPT_VERSION,
        };
        static const struct option options[] = {
                { "config", required_argument, NULL, OPT_CONFIG },
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "snapshot", required_argument, NULL, OPT_SNAPSHOT },
                { "sysroot", required_argument, NULL, OPT_SYSROOT },
                { "state-dir", required_argument, NULL, OPT_STATE_DIR },
                { "listen-http", required_argument, NULL, OPT_LISTEN_HTTP },
                { "no-http", no_argument, NULL, OPT_NO_HTTP },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                {},
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_CONFIG:
                        arg_config = optarg;
                        break;
                case OPT_SOCKET:
                        arg_overrides.socket = optarg;
                        break;
                case OPT_SNAPSHOT:
                        arg_overrides.snapshot = optarg;
                        break;
                case OPT_SYSROOT:
                        arg_overrides.sysroot = optarg;
                        break;
                case OPT_STATE_DIR:
                        arg_overrides.state_directory = optarg;
                        break;
                case OPT_LISTEN_HTTP:
                        arg_overrides.listen_http = optarg;
                        arg_overrides.no_http = false;
                        break;
                case OPT_NO_HTTP:
                        arg_overrides.no_http = true;
                        arg_overrides.listen_http = NULL;
                        break;
                case 'h':
                        help();
                        return 1;
                case OPT_VERSION:
                        printf("iommud %s\n", PACKAGE_VERSION);
                        return 1;
                case ':':
                        log_error("Option '%s' needs an argument", argv[optind - 1]);
                        return -EINVAL;
                default:
                        log_error("Unknown option '%s'; see 'iommud --help'", argv[optind - 1]);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("Unexpected argument '%s'; see 'iommud --help'", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

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
        unsigned http = http_n_connections(m->http);
        int k;

        k = snprintf(buf, size, "Serving %zu unit%s from %s, %u client%s", n, n == 1 ? "" : "s",
                     source_describe(m->source, what, sizeof what), clients, clients == 1 ? "" : "s");
        if (m->http && k >= 0 && (size_t) k < size)
                snprintf(buf + k, size - (size_t) k, ", %u HTTP connection%s", http, http == 1 ? "" : "s");
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
        if (m->kmsg && source_is_live(m->source)) {
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

json_object *manager_reload_result(manager *m) {
        json_object *o = json_object_new_object();

        if (o) {
                json_object_object_add(o, "reloaded", json_object_new_boolean(true));
                json_object_object_add(
                        o, "source",
                        json_object_new_string(source_is_live(m->source) ? "live" : "snapshot"));
        }
        return o;
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
        if (r >= 0)
                r = source_open(conf->snapshot, conf->sysroot, manager_now(m), &src, err);
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
        http_reload(m->http, conf);
        conf_free(m->conf);
        m->conf = TAKE_PTR(conf);
        source_free(m->source);
        m->source = TAKE_PTR(src);
        manager_resolve_admin_group(m);
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

static void on_line(void *userdata, conn *c, const char *line, size_t len) {
        methods_handle_line(userdata, c, line, len);
}

static const server_ops ops = { .line = on_line };

static void manager_done(manager *m) {
        /* first: its connections' last callbacks still look at the rest */
        m->http = http_free(m->http);
        m->server = server_free(m->server);
        sd_event_source_disable_unref(m->sig_term);
        sd_event_source_disable_unref(m->sig_int);
        sd_event_source_disable_unref(m->sig_hup);
        sd_event_source_disable_unref(m->fault_timer);
        sd_event_source_disable_unref(m->watchdog_timer);
        sd_event_source_disable_unref(m->status_timer);
        safe_close(m->http_fd);
        fault_log_free(m->faults);
        kmsg_reader_free(m->kmsg);
        stats_free(m->stats);
        source_free(m->source);
        conf_free(m->conf);
        sd_event_unref(m->event);
}

static int manager_run(manager *m) {
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
        r = source_open(m->conf->snapshot, m->conf->sysroot, 0, &m->source, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err.message);
        manager_resolve_admin_group(m);

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
        if (source_is_live(m->source) && m->conf->fault_interval_usec > 0) {
                iommu_error kerr = {};
                if (kmsg_reader_open(m->conf->sysroot, &m->kmsg, &kerr) < 0)
                        log_warning("%s", kerr.message);
        }

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %s", strerror(-r));
        m->source->generation_usec = manager_now(m);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %s", strerror(errno));
        if ((r = sd_event_add_signal(m->event, &m->sig_term, SIGTERM, on_exit_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sig_int, SIGINT, on_exit_signal, m)) < 0 ||
            (r = sd_event_add_signal(m->event, &m->sig_hup, SIGHUP, on_sighup, m)) < 0)
                return log_error_errno(r, "Failed to watch signals: %s", strerror(-r));

        limits = limits_of(m->conf);
        r = server_new(m->event, &ops, m, &limits, &m->server);
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
        r = http_new(m, TAKE_FD(m->http_fd), &m->http, &err);
        if (r < 0)
                return log_error_errno(r, "%s", err.message);

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

        log_info("Serving %s on %s", source_describe(m->source, what, sizeof what),
                 adopted ? "the socket passed by systemd" : m->conf->socket);
        status_text(m, m->status, sizeof m->status);
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", m->status);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %s", strerror(-r));
        return 0;
}

int main(int argc, char **argv) {
        manager m = { .http_fd = -EBADF };
        int r;

        log_setup();
        r = parse_argv(argc, argv);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : 2;

        /* a client that leaves mid-answer must not end the daemon */
        (void) signal(SIGPIPE, SIG_IGN);

        m.config_path = arg_config ? arg_config : CONF_DEFAULT_PATH;
        m.config_required = arg_config != NULL;
        m.overrides = arg_overrides;

        r = manager_run(&m);
        if (r < 0)
                (void) sd_notifyf(false, "STOPPING=1\nSTATUS=Failed: %s\nERRNO=%d", strerror(-r), -r);
        manager_done(&m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
