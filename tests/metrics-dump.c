/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The metrics without an HTTP server, for tests/test-metrics.py:
 *
 *   metrics-dump SNAPSHOT
 *       the model of a snapshot, rendered with an empty daemon object
 *   metrics-dump --json INFO DEVICES MAPPED FAULTS DAEMON
 *       JSON files (up to 1 MiB, any JSON value) rendered as they are
 *       ("-": that part missing); MAPPED as model_mapped_bytes() gives it
 *   metrics-dump --mapped SNAPSHOT
 *       model_mapped_bytes() of a snapshot, as JSON
 *   metrics-dump --families | --fault-reasons
 *       every family metrics_render() can emit (name, type, HELP), and
 *       every fault reason code the library names
 *   metrics-dump --daemon (--snapshot FILE | --sysroot DIR)
 *       iommud's own source, fault log and counters, driven from stdin:
 *       "poll" does what the daemon's fault poll timer does, "metrics"
 *       prints daemon_metrics_render() and a line "# END"
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/json-util.h"
#include "daemon/faults.h"
#include "daemon/metrics.h"
#include "daemon/source.h"
#include "daemon/stats.h"
#include "decode/regs.h"
#include "model/mapped.h"
#include "model/metrics.h"
#include "model/model.h"

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static int print_render(json_object *info, json_object *devices, json_object *mapped, json_object *faults,
                        json_object *daemon) {
        _cleanup_free_ char *text = NULL;
        iommu_error err = {};
        size_t size;

        if (metrics_render(info, devices, mapped, faults, daemon, &text, &size, &err) < 0) {
                fprintf(stderr, "metrics_render: %s\n", err.message);
                return EXIT_FAILURE;
        }
        if (strlen(text) != size) {
                fprintf(stderr, "metrics_render: size %zu, text %zu\n", size, strlen(text));
                return EXIT_FAILURE;
        }
        fputs(text, stdout);
        return EXIT_SUCCESS;
}

static int dump_snapshot(const char *path) {
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        _cleanup_json_ json_object *info = NULL, *devices = NULL, *mapped = NULL, *faults = NULL,
                                   *daemon = json_object_new_object();
        iommu_error err = {};

        if (iommu_system_open_snapshot(path, &s, &err) < 0) {
                fprintf(stderr, "%s\n", err.message);
                return EXIT_FAILURE;
        }
        /* a part that fails is left out, as the daemon does */
        (void) model_info(s, &info, NULL);
        (void) model_devices(s, &devices, NULL);
        (void) model_mapped_bytes(s, &mapped, NULL);
        (void) model_faults(s, &faults, NULL);
        return print_render(info, devices, mapped, faults, daemon);
}

static int dump_mapped(const char *path) {
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        _cleanup_json_ json_object *mapped = NULL;
        iommu_error err = {};

        if (iommu_system_open_snapshot(path, &s, &err) < 0 || model_mapped_bytes(s, &mapped, &err) < 0) {
                fprintf(stderr, "%s\n", err.message);
                return EXIT_FAILURE;
        }
        puts(json_object_to_json_string_ext(mapped, JSON_C_TO_STRING_PLAIN));
        return EXIT_SUCCESS;
}

/* A JSON file, whatever its top-level value (json_object_from_file() takes
 * no bare scalar): *ret NULL for JSON null. */
static int read_json(const char *path, json_object **ret) {
        _cleanup_free_ char *text = NULL;
        enum json_tokener_error e;
        size_t size = 0;
        FILE *f;

        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        text = calloc(1, 1 << 20);
        size = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
        fclose(f);
        if (!text)
                return -ENOMEM;
        text[size] = '\0';
        *ret = json_tokener_parse_verbose(text, &e);
        if (e != json_tokener_success) {
                fprintf(stderr, "%s: %s\n", path, json_tokener_error_desc(e));
                return -EINVAL;
        }
        return 0;
}

static int dump_json(char **paths) {
        json_object *parts[5] = {};
        int r = EXIT_SUCCESS;

        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                if (!streq(paths[i], "-") && read_json(paths[i], &parts[i]) < 0)
                        r = EXIT_FAILURE;
        if (r == EXIT_SUCCESS)
                r = print_render(parts[0], parts[1], parts[2], parts[3], parts[4]);
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                json_object_put(parts[i]);
        return r;
}

/* iommud's state, as much of it as the metrics see. */
typedef struct daemon_state {
        source *source;
        fault_log *faults;
        daemon_stats *stats;
} daemon_state;

static void on_new(void *userdata, json_object *entry) {
        stats_count_fault(((daemon_state *) userdata)->stats, entry);
}

/* manager_poll_faults() in manager.c, without the kernel log */
static void poll_faults(daemon_state *d) {
        _cleanup_json_ json_object *faults = NULL;
        iommu_error err = {};

        source_reread(d->source, now_usec(CLOCK_MONOTONIC));
        if (model_faults(d->source->system, &faults, &err) < 0) {
                fprintf(stderr, "model_faults: %s\n", err.message);
                return;
        }
        if (fault_log_poll(d->faults, faults, now_usec(CLOCK_REALTIME), on_new, d) < 0)
                fprintf(stderr, "fault_log_poll: out of memory\n");
        stats_poll(d->stats, d->source, faults);
}

static int run_daemon(const char *snapshot_path, const char *sysroot) {
        daemon_state d = {};
        iommu_error err = {};
        char line[64];
        int r = EXIT_SUCCESS;

        if (source_open(snapshot_path, sysroot, now_usec(CLOCK_MONOTONIC), &d.source, &err) < 0) {
                fprintf(stderr, "%s\n", err.message);
                return EXIT_FAILURE;
        }
        if (fault_log_new(100, &d.faults) < 0 || stats_new(&d.stats) < 0) {
                fprintf(stderr, "Out of memory\n");
                r = EXIT_FAILURE;
        }
        while (r == EXIT_SUCCESS && fgets(line, sizeof line, stdin)) {
                line[strcspn(line, "\n")] = 0;
                if (streq(line, "poll")) {
                        poll_faults(&d);
                        printf("polled\n");
                } else if (streq(line, "metrics")) {
                        /* RefreshIntervalSec=0: every answer anew; the mapped
                         * bytes computed here, where the daemon has a worker */
                        metrics_input in = { .source = d.source,
                                             .faults = d.faults,
                                             .stats = d.stats,
                                             .now_usec = now_usec(CLOCK_MONOTONIC),
                                             .max_age_usec = 0 };
                        _cleanup_json_ json_object *mapped = NULL;
                        _cleanup_free_ char *text = NULL;
                        size_t size;

                        mapped = metrics_mapped_of(source_answer(
                                d.source, &(answer_key){ .kind = ANSWER_MAPPED }, in.now_usec, 0));
                        in.mapped = mapped;

                        if (daemon_metrics_render(&in, &text, &size, &err) < 0) {
                                fprintf(stderr, "daemon_metrics_render: %s\n", err.message);
                                r = EXIT_FAILURE;
                                break;
                        }
                        fputs(text, stdout);
                        printf("# END\n");
                } else {
                        fprintf(stderr, "Unknown command '%s'\n", line);
                        r = EXIT_FAILURE;
                }
                fflush(stdout);
        }
        stats_free(d.stats);
        fault_log_free(d.faults);
        source_free(d.source);
        return r;
}

int main(int argc, char **argv) {
        if (argc == 2 && streq(argv[1], "--families")) {
                const char *type, *help, *name;
                for (size_t i = 0; (name = metrics_family(i, &type, &help)); i++)
                        printf("%s\t%s\t%s\n", name, type, help);
                return EXIT_SUCCESS;
        }
        if (argc == 2 && streq(argv[1], "--fault-reasons")) {
                for (unsigned i = 0; i < 256; i++)
                        if (fault_reason_to_string(i))
                                printf("0x%02x\t%s\n", i, fault_reason_to_string(i));
                return EXIT_SUCCESS;
        }
        if (argc == 7 && streq(argv[1], "--json"))
                return dump_json(argv + 2);
        if (argc == 3 && streq(argv[1], "--mapped"))
                return dump_mapped(argv[2]);
        if (argc == 4 && streq(argv[1], "--daemon") && streq(argv[2], "--snapshot"))
                return run_daemon(argv[3], NULL);
        if (argc == 4 && streq(argv[1], "--daemon") && streq(argv[2], "--sysroot"))
                return run_daemon(NULL, argv[3]);
        if (argc == 2 && argv[1][0] != '-')
                return dump_snapshot(argv[1]);
        fprintf(stderr, "Usage: metrics-dump SNAPSHOT | --json INFO DEVICES MAPPED FAULTS DAEMON |\n"
                        "       --mapped SNAPSHOT | --families | --fault-reasons |\n"
                        "       --daemon (--snapshot FILE | --sysroot DIR)\n");
        return 2;
}
