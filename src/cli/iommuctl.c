/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config.h"
#include "model/devices.h"
#include "shared/protocol.h"

enum {
        OPT_SYSROOT = 0x100,
        OPT_FILE,
        OPT_VERSION,
        OPT_SNAPSHOT,
        OPT_DIRECT,
        OPT_DEVICE,
        OPT_DOMAIN,
        OPT_PASID,
        OPT_SOCKET,
        OPT_FOLLOW,
        OPT_CLEAR,
};

/* Which verb-specific options were given, so a verb can refuse the rest. */
enum {
        VOPT_FILE = 1 << 0,
        VOPT_DEVICE = 1 << 1,
        VOPT_DOMAIN = 1 << 2,
        VOPT_PASID = 1 << 3,
        VOPT_FOLLOW = 1 << 4,
        VOPT_CLEAR = 1 << 5,
        VOPT_MAPPINGS = VOPT_DEVICE | VOPT_DOMAIN | VOPT_PASID,
};

typedef struct verb_entry {
        verb v;
        unsigned options; /* VOPT_* the verb takes */
        const char *option_usage;
} verb_entry;

static const verb_entry verbs[] = {
        { { "decode", 2, 2, verb_decode, "REGISTER VALUE",
            "Decode a register or translation-table entry value" },
          0,
          NULL },
        { { "dmar", 0, 0, verb_dmar, "", "Show the ACPI DMAR table (default " DMAR_DEFAULT_PATH ")" },
          VOPT_FILE,
          "[--file FILE]" },
        { { "info", 0, 0, verb_info, "",
            "Show each remapping unit: registers, mode, status, owner, faults" },
          0,
          NULL },
        { { "devices", 0, 0, verb_devices, "",
            "Show PCI devices with their IOMMU group, unit, domain and translation" },
          0,
          NULL },
        { { "domains", 0, 0, verb_domains, "",
            "Show the domains in use: unit, domain ID, translation, devices" },
          0,
          NULL },
        { { "mappings", 0, 0, verb_mappings, "",
            "Show what each device (and PASID) can reach: IOVA -> physical ranges" },
          VOPT_MAPPINGS,
          "[--device BDF] [--domain DID] [--pasid N]" },
        { { "faults", 0, 0, verb_faults, "",
            "Show fault status and records; iommud's log, --follow new faults, --clear the log" },
          VOPT_FOLLOW | VOPT_CLEAR,
          "[--follow] [--clear]" },
        { { "snapshot", 2, 2, verb_snapshot, "save FILE",
            "Capture the whole IOMMU state into FILE (iommu-snapshot(5))" },
          0,
          NULL },
};

static const char *const vopt_names[] = {
        "--file", "--device", "--domain", "--pasid", "--follow", "--clear"
};

static int parse_number(const char *s, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s || !*s || *s == '-' || *s == '+')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 0);
        if (errno || *end)
                return -EINVAL;
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}
static unsigned given_options;

static void help(void) {
        printf("iommuctl [OPTIONS...] COMMAND [ARGS...]\n\n"
               "Inspect Intel VT-d IOMMUs: registers, the DMAR table and translation structures.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                char left[128];
                snprintf(left, sizeof left, "%s %s%s%s", verbs[i].v.name, verbs[i].v.usage,
                         verbs[i].option_usage && *verbs[i].v.usage ? " " : "", verbs[i].option_usage ?: "");
                if (strlen(left) > 28)
                        printf("  %s\n  %-28s %s\n", left, "", verbs[i].v.help);
                else
                        printf("  %-28s %s\n", left, verbs[i].v.help);
        }
        printf("\nOptions:\n"
               "  -j --json                    Print JSON (one object, one line)\n"
               "  -p --pretty                  Print indented JSON (implies --json)\n"
               "     --socket PATH             Ask the iommud listening at PATH "
               "(default " PROTOCOL_DEFAULT_SOCKET ")\n"
               "     --direct                  Read the hardware directly (root), without iommud\n"
               "     --snapshot FILE           Answer from a snapshot file instead of the hardware\n"
               "     --sysroot DIR             Read /sys, /proc and /dev below DIR\n"
               "     --file FILE               dmar: read the table from FILE\n"
               "     --device BDF              mappings: only this device (SSSS:BB:DD.F, BB:DD.F, B:D.F)\n"
               "     --domain DID              mappings: only this domain\n"
               "     --pasid N                 mappings: only this PASID\n"
               "     --follow                  faults: print new faults as iommud logs them\n"
               "     --clear                   faults: empty iommud's fault log (root or the admin group)\n"
               "  -h --help                    Show this help\n"
               "     --version                 Show the version\n"
               "\nNumbers are decimal or 0x-prefixed hex. Exit status: 0 success, 1 failure, 2 usage "
               "error.\n"
               "See iommuctl(8).\n");
}

static const verb_entry *find_verb(const char *name, int *ret_status) {
        const verb_entry *match = NULL;
        size_t len = strlen(name);

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].v.name, name))
                        return &verbs[i];
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                if (len == 0 || strncmp(verbs[i].v.name, name, len) != 0)
                        continue;
                if (match) {
                        *ret_status = cli_usage("Command '%s' is ambiguous: %s, %s, ...", name,
                                                match->v.name, verbs[i].v.name);
                        return NULL;
                }
                match = &verbs[i];
        }
        if (!match)
                *ret_status = cli_usage("Unknown command '%s'; see 'iommuctl --help'", name);
        return match;
}

static int parse_argv(int argc, char **argv) {
        static const struct option options[] = { { "json", no_argument, NULL, 'j' },
                                                 { "pretty", no_argument, NULL, 'p' },
                                                 { "sysroot", required_argument, NULL, OPT_SYSROOT },
                                                 { "file", required_argument, NULL, OPT_FILE },
                                                 { "snapshot", required_argument, NULL, OPT_SNAPSHOT },
                                                 { "direct", no_argument, NULL, OPT_DIRECT },
                                                 { "device", required_argument, NULL, OPT_DEVICE },
                                                 { "domain", required_argument, NULL, OPT_DOMAIN },
                                                 { "pasid", required_argument, NULL, OPT_PASID },
                                                 { "socket", required_argument, NULL, OPT_SOCKET },
                                                 { "follow", no_argument, NULL, OPT_FOLLOW },
                                                 { "clear", no_argument, NULL, OPT_CLEAR },
                                                 { "help", no_argument, NULL, 'h' },
                                                 { "version", no_argument, NULL, OPT_VERSION },
                                                 {} };
        uint64_t v;
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":jph", options, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        arg.json = true;
                        break;
                case 'p':
                        arg.json = arg.pretty = true;
                        break;
                case OPT_SYSROOT:
                        if (!*optarg)
                                return cli_usage("--sysroot needs a directory");
                        arg.sysroot = streq(optarg, "/") ? "" : optarg;
                        break;
                case OPT_FILE:
                        arg.file = optarg;
                        given_options |= VOPT_FILE;
                        break;
                case OPT_SNAPSHOT:
                        arg.snapshot = optarg;
                        break;
                case OPT_DIRECT:
                        arg.direct = true;
                        break;
                case OPT_SOCKET:
                        if (!*optarg)
                                return cli_usage("--socket needs a path");
                        arg.socket = optarg;
                        break;
                case OPT_FOLLOW:
                        arg.follow = true;
                        given_options |= VOPT_FOLLOW;
                        break;
                case OPT_CLEAR:
                        arg.clear = true;
                        given_options |= VOPT_CLEAR;
                        break;
                case OPT_DEVICE:
                        if (bdf_parse(optarg, &arg.segment, &arg.bus, &arg.devfn) < 0)
                                return cli_usage("--device '%s' is not a PCI address (SSSS:BB:DD.F, BB:DD.F "
                                                 "or B:D.F)",
                                                 optarg);
                        arg.have_device = true;
                        given_options |= VOPT_DEVICE;
                        break;
                case OPT_DOMAIN:
                        if (parse_number(optarg, UINT16_MAX, &v) < 0)
                                return cli_usage("--domain '%s' is not a domain ID (0..65535)", optarg);
                        arg.domain = (int) v;
                        given_options |= VOPT_DOMAIN;
                        break;
                case OPT_PASID:
                        if (parse_number(optarg, (1u << 20) - 1, &v) < 0)
                                return cli_usage("--pasid '%s' is not a PASID (0..1048575)", optarg);
                        arg.pasid = (int64_t) v;
                        given_options |= VOPT_PASID;
                        break;
                case 'h':
                        help();
                        return -1;
                case OPT_VERSION:
                        printf("iommuctl %s\n", PACKAGE_VERSION);
                        return -1;
                case ':':
                        return cli_usage("Option '%s' needs an argument", argv[optind - 1]);
                default:
                        return cli_usage("Unknown option '%s'; see 'iommuctl --help'", argv[optind - 1]);
                }
        }
        return EXIT_OK;
}

int main(int argc, char **argv) {
        const verb_entry *v;
        int r, status = EXIT_USAGE, nargs;

        r = parse_argv(argc, argv);
        if (r < 0)
                return EXIT_OK; /* --help, --version */
        if (r != EXIT_OK)
                return r;

        if (optind >= argc)
                return cli_usage("Missing command; see 'iommuctl --help'");
        if (arg.snapshot && arg.direct)
                return cli_usage("--snapshot and --direct exclude each other");
        if (arg.socket && (arg.snapshot || arg.direct))
                return cli_usage("--socket asks iommud; it excludes --snapshot and --direct");

        v = find_verb(argv[optind], &status);
        if (!v)
                return status;

        for (size_t i = 0; i < ELEMENTSOF(vopt_names); i++)
                if (given_options & ~v->options & (1u << i))
                        return cli_usage("Option %s does not apply to '%s'", vopt_names[i], v->v.name);

        nargs = argc - optind - 1;
        if (nargs < (int) v->v.min_args || nargs > (int) v->v.max_args)
                return cli_usage("Usage: iommuctl %s %s%s", v->v.name, v->v.usage,
                                 v->option_usage ? v->option_usage : "");

        return v->v.handler(nargs, argv + optind + 1);
}
