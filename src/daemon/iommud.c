/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iommud: serves the IOMMU model over a Unix socket and HTTP, one sd-event loop.  Here: the command
 * line, and the transports handed to the manager. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "daemon/api.h"
#include "daemon/http-routes.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/methods.h"
#include "shared/protocol.h"

static const char *arg_config = NULL;
static conf_overrides arg_overrides;

static void help(void) {
        printf("iommud [OPTIONS...]\n\n"
               "Intel VT-d IOMMU diagnostics and control daemon: serves the units, devices, mappings\n"
               "and DMA faults of this machine (or of a snapshot) over a Unix socket, one JSON object\n"
               "per line, and over HTTP: GET /v1/..., the same JSON, and /metrics for Prometheus;\n"
               "takes over units the kernel left alone, to build domains and map buffers.\n\n"
               "Options:\n"
               "     --config FILE             Read this configuration (default " CONF_DEFAULT_PATH ")\n"
               "     --socket PATH             Listen on PATH (default " PROTOCOL_DEFAULT_SOCKET ")\n"
               "     --snapshot FILE           Serve a snapshot file instead of the hardware\n"
               "     --simulate MODE[:OPTS]    Serve a simulated machine with one unit like QEMU's:\n"
               "                               legacy or scalable; aw39|aw48, cm|nocm, kernel\n"
               "     --simulated-machine FILE  Keep the simulated machine in FILE (made when missing),\n"
               "                               where the next iommud finds it as this one left it\n"
               "     --sysroot DIR             Read /sys, /proc and /dev below DIR\n"
               "     --state-dir DIR           Save the control state there "
               "(default " CONF_DEFAULT_STATE_DIRECTORY ")\n"
               "     --listen-http ADDR:PORT   HTTP address (default " CONF_DEFAULT_LISTEN_HTTP ")\n"
               "     --no-http                 No HTTP listener\n"
               "     --list-methods            List the API's methods, HTTP paths and params\n"
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
                OPT_SIMULATE,
                OPT_SIMULATED_MACHINE,
                OPT_SYSROOT,
                OPT_STATE_DIR,
                OPT_LISTEN_HTTP,
                OPT_NO_HTTP,
                OPT_LIST_METHODS,
                OPT_VERSION,
        };
        static const struct option options[] = {
                { "config", required_argument, NULL, OPT_CONFIG },
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "snapshot", required_argument, NULL, OPT_SNAPSHOT },
                { "simulate", required_argument, NULL, OPT_SIMULATE },
                { "simulated-machine", required_argument, NULL, OPT_SIMULATED_MACHINE },
                { "sysroot", required_argument, NULL, OPT_SYSROOT },
                { "state-dir", required_argument, NULL, OPT_STATE_DIR },
                { "listen-http", required_argument, NULL, OPT_LISTEN_HTTP },
                { "no-http", no_argument, NULL, OPT_NO_HTTP },
                { "list-methods", no_argument, NULL, OPT_LIST_METHODS },
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
                case OPT_SIMULATE: {
                        iommu_sim_config sim;
                        iommu_error err = {};

                        if (iommu_sim_config_parse(optarg, &sim, &err) < 0) {
                                log_error("--simulate %s: %s", optarg, err.message);
                                return -EINVAL;
                        }
                        arg_overrides.simulate = optarg;
                        break;
                }
                case OPT_SIMULATED_MACHINE:
                        if (!*optarg) {
                                log_error("--simulated-machine needs a file name");
                                return -EINVAL;
                        }
                        arg_overrides.simulated_machine = optarg;
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
                case OPT_LIST_METHODS:
                        api_list(stdout);
                        return 1;
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
        if (arg_overrides.simulate && arg_overrides.snapshot) {
                log_error("--simulate and --snapshot exclude each other");
                return -EINVAL;
        }
        if (arg_overrides.simulated_machine && !arg_overrides.simulate) {
                log_error("--simulated-machine needs --simulate: it keeps a simulated machine");
                return -EINVAL;
        }
        return 0;
}

int main(int argc, char **argv) {
        static const manager_transports transports = {
                .socket = &methods_server_ops,
                .http = &http_routes,
        };
        manager m;
        int r;

        log_setup();
        r = parse_argv(argc, argv);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : 2;

        /* a client that leaves mid-answer must not end the daemon */
        (void) signal(SIGPIPE, SIG_IGN);

        manager_init(&m, arg_config ? arg_config : CONF_DEFAULT_PATH, arg_config != NULL, &arg_overrides);
        r = manager_start(&m, &transports);
        if (r >= 0)
                r = manager_run(&m);
        if (r < 0)
                (void) sd_notifyf(false, "STOPPING=1\nSTATUS=Failed: %s\nERRNO=%d", strerror(-r), -r);
        manager_done(&m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
