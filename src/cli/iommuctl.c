/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The command line: one table of options and one of verbs (with their
 * sub-verbs), from which getopt_long's table, the dispatch, the check that
 * a command takes the options given, and --help are all made. */
#include <assert.h>
#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "config.h"
#include "control/unit.h"
#include "model/devices.h"
#include "shared/protocol.h"

enum {
        OPT_JSON,
        OPT_PRETTY,
        OPT_SOCKET,
        OPT_DIRECT,
        OPT_SNAPSHOT,
        OPT_SYSROOT,
        OPT_FILE,
        OPT_DEVICE,
        OPT_DOMAIN,
        OPT_PASID,
        OPT_FOLLOW,
        OPT_CLEAR,
        OPT_OUTPUT,
        OPT_UNIT,
        OPT_TYPE,
        OPT_ID,
        OPT_ALLOC,
        OPT_READ,
        OPT_WRITE,
        OPT_ORDER,
        OPT_HELP,
        OPT_VERSION,
        _OPT_MAX,
};

typedef struct option_row {
        const char *name;     /* --name */
        char short_name;      /* -c, or 0 */
        const char *argument; /* what its argument is called, NULL when it takes none */
        const char *verbs;    /* the commands that take it ("a,b,c d"), NULL for every command */
        const char *help;     /* one line */
} option_row;

/* clang-format off */
static const option_row options[] = {
        [OPT_JSON]     = { .name = "json", .short_name = 'j',
                           .help = "Print JSON (one object, one line)" },
        [OPT_PRETTY]   = { .name = "pretty", .short_name = 'p',
                           .help = "Print indented JSON (implies --json)" },
        [OPT_SOCKET]   = { .name = "socket", .argument = "PATH",
                           .help = "Ask the iommud listening at PATH (default " PROTOCOL_DEFAULT_SOCKET ")" },
        [OPT_DIRECT]   = { .name = "direct",
                           .help = "Read the hardware directly (root), without iommud" },
        [OPT_SNAPSHOT] = { .name = "snapshot", .argument = "FILE",
                           .help = "Answer from a snapshot file instead of the hardware" },
        [OPT_SYSROOT]  = { .name = "sysroot", .argument = "DIR",
                           .help = "Read /sys, /proc and /dev below DIR" },
        [OPT_FILE]     = { .name = "file", .argument = "FILE", .verbs = "dmar",
                           .help = "read the table from FILE" },
        [OPT_DEVICE]   = { .name = "device", .argument = "BDF", .verbs = "mappings",
                           .help = "only this device (SSSS:BB:DD.F, BB:DD.F, B:D.F)" },
        [OPT_DOMAIN]   = { .name = "domain", .argument = "DID", .verbs = "mappings",
                           .help = "only this domain" },
        [OPT_PASID]    = { .name = "pasid", .argument = "N", .verbs = "mappings",
                           .help = "only this PASID" },
        [OPT_FOLLOW]   = { .name = "follow", .verbs = "faults",
                           .help = "print new faults as iommud logs them" },
        [OPT_CLEAR]    = { .name = "clear", .verbs = "faults",
                           .help = "empty iommud's fault log (root or the admin group)" },
        [OPT_OUTPUT]   = { .name = "output", .short_name = 'o', .argument = "COL,...",
                           .verbs = "devices,domains,mappings,faults",
                           .help = "the columns to show in text; --output=help lists them" },
        [OPT_UNIT]     = { .name = "unit", .argument = "NAME", .verbs = "power,domain,map,unmap,invalidate",
                           .help = "the unit, e.g. dmar0 (default: the one iommud owns; for power on, the only one)" },
        [OPT_TYPE]     = { .name = "type", .argument = "TYPE", .verbs = "domain create",
                           .help = "paging (the default), identity, blocked or passthrough" },
        [OPT_ID]       = { .name = "id", .argument = "DID", .verbs = "domain create",
                           .help = "the domain ID to take (default: the lowest free one)" },
        [OPT_ALLOC]    = { .name = "alloc", .verbs = "map",
                           .help = "map a buffer iommud allocates, instead of PHYS" },
        [OPT_READ]     = { .name = "read", .verbs = "map",
                           .help = "the device may read (with neither --read nor --write: both)" },
        [OPT_WRITE]    = { .name = "write", .verbs = "map",
                           .help = "the device may write" },
        [OPT_ORDER]    = { .name = "order", .argument = "N", .verbs = "invalidate page",
                           .help = "2^N pages from IOVA, aligned to their size (default 0: one page)" },
        [OPT_HELP]     = { .name = "help", .short_name = 'h',
                           .help = "Show this help" },
        [OPT_VERSION]  = { .name = "version",
                           .help = "Show the version" },
};
/* clang-format on */
static_assert(ELEMENTSOF(options) == _OPT_MAX, "a row per option");
static_assert(_OPT_MAX <= 32, "given options fit a bit mask");

/* clang-format off */
static const verb snapshot_verbs[] = {
        { .name = "save", .min_args = 1, .max_args = 1, .handler = verb_snapshot_save, .usage = "FILE",
          .help = "Capture the whole IOMMU state into FILE (iommu-snapshot(5))" },
        {}
};

static const verb power_verbs[] = {
        { .name = "on", .handler = verb_power_on, .flags = VERB_CHANGES,
          .help = "Take a unit nobody owns over and turn its translation on" },
        { .name = "off", .handler = verb_power_off, .flags = VERB_CHANGES,
          .help = "Turn the unit's translation off and give it up" },
        {}
};

static const verb domain_verbs[] = {
        { .name = "create", .handler = verb_domain_create, .flags = VERB_CHANGES,
          .help = "Create a domain on a unit iommud owns" },
        { .name = "destroy", .min_args = 1, .max_args = 1, .handler = verb_domain_destroy,
          .flags = VERB_CHANGES, .usage = "DID",
          .help = "Destroy a domain no device is attached to" },
        {}
};

static const verb invalidate_verbs[] = {
        { .name = "global", .handler = verb_invalidate_global, .flags = VERB_CHANGES,
          .help = "Invalidate everything the unit caches" },
        { .name = "domain", .min_args = 1, .max_args = 1, .handler = verb_invalidate_domain,
          .flags = VERB_CHANGES, .usage = "DID",
          .help = "Invalidate what the unit caches for a domain" },
        { .name = "page", .min_args = 2, .max_args = 2, .handler = verb_invalidate_page,
          .flags = VERB_CHANGES, .usage = "DID IOVA",
          .help = "Invalidate the IOTLB's entries for 2^N pages at IOVA in a domain" },
        {}
};

static const verb verbs[] = {
        { .name = "decode", .min_args = 2, .max_args = 2, .handler = verb_decode, .usage = "REGISTER VALUE",
          .help = "Decode a register or translation-table entry value" },
        { .name = "dmar", .handler = verb_dmar,
          .help = "Show the ACPI DMAR table (default " DMAR_DEFAULT_PATH ")" },
        { .name = "info", .handler = verb_info,
          .help = "Show each remapping unit: registers, mode, status, owner, faults" },
        { .name = "devices", .handler = verb_devices, .columns = &device_columns,
          .help = "Show PCI devices with their IOMMU group, unit, domain and translation" },
        { .name = "domains", .handler = verb_domains, .columns = &domain_columns,
          .help = "Show the domains in use: unit, domain ID, translation, devices" },
        { .name = "mappings", .handler = verb_mappings, .columns = &range_columns,
          .help = "Show what each device (and PASID) can reach: IOVA -> physical ranges" },
        { .name = "faults", .handler = verb_faults, .columns = &fault_columns,
          .help = "Show fault status and records; iommud's log, --follow new faults, --clear the log" },
        { .name = "snapshot", .sub = snapshot_verbs },
        { .name = "power", .sub = power_verbs },
        { .name = "domain", .sub = domain_verbs },
        { .name = "attach", .min_args = 2, .max_args = 2, .handler = verb_attach, .flags = VERB_CHANGES,
          .usage = "BDF DID",
          .help = "Attach a device to a domain of its unit" },
        { .name = "detach", .min_args = 1, .max_args = 1, .handler = verb_detach, .flags = VERB_CHANGES,
          .usage = "BDF",
          .help = "Return a device to its unit's default policy" },
        { .name = "map", .min_args = 3, .max_args = 4, .handler = verb_map, .flags = VERB_CHANGES,
          .usage = "DID IOVA (PHYS | --alloc) LENGTH",
          .help = "Map LENGTH bytes at IOVA in a domain onto PHYS or a new buffer" },
        { .name = "unmap", .min_args = 3, .max_args = 3, .handler = verb_unmap, .flags = VERB_CHANGES,
          .usage = "DID IOVA LENGTH",
          .help = "Unmap LENGTH bytes at IOVA in a domain" },
        { .name = "invalidate", .sub = invalidate_verbs },
        {}
};
/* clang-format on */

static unsigned given_options; /* 1 << OPT_* */
/* The options that read state without iommud. */
#define WITHOUT_DAEMON (1u << OPT_DIRECT | 1u << OPT_SNAPSHOT | 1u << OPT_SYSROOT)

/* Whether the option row takes the command path ("snapshot save"): an
 * entry of its list names the command or an object above it. */
static bool option_applies(const option_row *o, const char *path) {
        const char *p = o->verbs;

        if (!p)
                return true;
        while (*p) {
                size_t len = strcspn(p, ",");
                if (strncmp(p, path, len) == 0 && (path[len] == '\0' || path[len] == ' '))
                        return true;
                p += len + (p[len] == ',');
        }
        return false;
}

static void join_path(char *buf, size_t size, const char *parent, const char *name) {
        snprintf(buf, size, "%s%s%s", parent ? parent : "", parent ? " " : "", name);
}

/* Whether the verb's usage names the option ("(PHYS | --alloc)"). */
static bool usage_names(const verb *v, const option_row *o) {
        size_t len = strlen(o->name);

        for (const char *p = v->usage; p && (p = strstr(p, "--")); p += 2)
                if (strncmp(p + 2, o->name, len) == 0 && !isalnum((unsigned char) p[2 + len]) &&
                    p[2 + len] != '-')
                        return true;
        return false;
}

/* "mappings [--device BDF] ...": the command, its arguments, its options
 * (those its usage does not name already). */
static void synopsis(const char *path, const verb *v, char *buf, size_t size) {
        size_t n =
                (size_t) snprintf(buf, size, "%s%s%s", path, v->usage ? " " : "", v->usage ? v->usage : "");

        for (size_t i = 0; i < _OPT_MAX && n < size; i++)
                if (options[i].verbs && option_applies(&options[i], path) && !usage_names(v, &options[i]))
                        n += (size_t) snprintf(buf + n, size - n, " [--%s%s%s]", options[i].name,
                                               options[i].argument ? " " : "",
                                               options[i].argument ? options[i].argument : "");
}

static void help_verbs(const verb *table, const char *parent) {
        for (const verb *v = table; v->name; v++) {
                char path[64], left[256];

                join_path(path, sizeof path, parent, v->name);
                if (v->sub) {
                        help_verbs(v->sub, path);
                        continue;
                }
                synopsis(path, v, left, sizeof left);
                if (strlen(left) > 28)
                        printf("  %s\n  %-28s %s\n", left, "", v->help);
                else
                        printf("  %-28s %s\n", left, v->help);
        }
}

static void help_options(void) {
        for (size_t i = 0; i < _OPT_MAX; i++) {
                const option_row *o = &options[i];
                char left[64], verbs_text[128] = "";

                snprintf(left, sizeof left, "%c%c --%s%s%s", o->short_name ? '-' : ' ',
                         o->short_name ? o->short_name : ' ', o->name, o->argument ? " " : "",
                         o->argument ? o->argument : "");
                if (o->verbs) {
                        size_t n = 0;
                        for (const char *p = o->verbs; *p && n + 3 < sizeof verbs_text; p++) {
                                verbs_text[n++] = *p;
                                if (*p == ',')
                                        verbs_text[n++] = ' ';
                        }
                        snprintf(verbs_text + n, sizeof verbs_text - n, ": ");
                }
                printf("  %-28s %s%s\n", left, verbs_text, o->help);
        }
}

static void help(void) {
        printf("iommuctl [OPTIONS...] COMMAND [ARGS...]\n\n"
               "Inspect Intel VT-d IOMMUs: registers, the DMAR table and translation structures;\n"
               "take a unit over through iommud: domains, devices, mappings, invalidation.\n\n"
               "Commands:\n");
        help_verbs(verbs, NULL);
        printf("\nOptions:\n");
        help_options();
        printf("\nNumbers are decimal or 0x-prefixed hex; IOVA, PHYS and LENGTH multiples of 4 KiB.\n"
               "BDFs are SSSS:BB:DD.F, BB:DD.F or B:D.F. Exit status: 0 success, 1 failure, 2 usage "
               "error.\n"
               "See iommuctl(8).\n");
}

static void list_names(const verb *table, char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        for (const verb *v = table; v->name && n < size; v++)
                n += (size_t) snprintf(buf + n, size - n, "%s%s", n ? ", " : "", v->name);
}

/* The verb named exactly, else by an unambiguous prefix. */
static const verb *find_verb(const verb *table, const char *parent, const char *name, int *ret_status) {
        const verb *match = NULL;
        size_t len = strlen(name);

        for (const verb *v = table; v->name; v++)
                if (streq(v->name, name))
                        return v;
        for (const verb *v = table; v->name; v++) {
                if (len == 0 || strncmp(v->name, name, len) != 0)
                        continue;
                if (match) {
                        *ret_status =
                                cli_usage("Command '%s%s%s' is ambiguous: %s, %s, ...", parent ? parent : "",
                                          parent ? " " : "", name, match->name, v->name);
                        return NULL;
                }
                match = v;
        }
        if (!match)
                *ret_status = cli_usage("Unknown command '%s%s%s'; see 'iommuctl --help'",
                                        parent ? parent : "", parent ? " " : "", name);
        return match;
}

static int check_output(const verb *v) {
        const char *bad;
        size_t len;
        column_set s;
        int r;

        if (!v->columns)
                return cli_usage("Option --output does not apply to '%s'", v->name);
        if (streq(arg.output, "help"))
                return EXIT_OK;
        r = columns_select(v->columns, arg.output, COLUMN_DEFAULT, &s, &bad, &len);
        if (r == -E2BIG)
                return cli_usage("Too many columns in --output (at most %d)", COLUMNS_MAX);
        if (r < 0)
                return cli_usage("Unknown column '%.*s' for %s; see 'iommuctl %s --output=help'", (int) len,
                                 bad, v->columns->listing, v->columns->listing);
        return EXIT_OK;
}

/* Run the command argv names in table, descending into sub-verbs
 * (bpftool's cmd_select(), the same at every level). */
static int run_verb(const verb *table, const char *parent, int argc, char **argv) {
        char path[64], names[256], usage[256];
        const verb *v;
        int status = EXIT_USAGE, r;

        if (argc == 0) {
                if (!parent)
                        return cli_usage("Missing command; see 'iommuctl --help'");
                list_names(table, names, sizeof names);
                return cli_usage("Missing command after '%s': %s; see 'iommuctl --help'", parent, names);
        }
        v = find_verb(table, parent, argv[0], &status);
        if (!v)
                return status;
        join_path(path, sizeof path, parent, v->name);
        if (v->sub)
                return run_verb(v->sub, path, argc - 1, argv + 1);

        for (size_t i = 0; i < _OPT_MAX; i++)
                if ((given_options & (1u << i)) && !option_applies(&options[i], path))
                        return cli_usage("Option --%s does not apply to '%s'", options[i].name, path);
        if ((v->flags & VERB_CHANGES) && (given_options & WITHOUT_DAEMON))
                return cli_usage("Option --%s does not apply to '%s': changing state needs iommud",
                                 options[__builtin_ctz(given_options & WITHOUT_DAEMON)].name, path);

        if (given_options & (1u << OPT_OUTPUT)) {
                r = check_output(v);
                if (r != EXIT_OK)
                        return r;
                if (streq(arg.output, "help")) {
                        columns_help(v->columns);
                        return EXIT_OK;
                }
        }

        if (argc - 1 < (int) v->min_args || argc - 1 > (int) v->max_args) {
                synopsis(path, v, usage, sizeof usage);
                return cli_usage("Usage: iommuctl %s", usage);
        }
        return v->handler(argc - 1, argv + 1);
}

/* "paging, identity, blocked or passthrough", from the one string table. */
static void domain_type_names(char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        for (int t = 0; t < _DOMAIN_TYPE_MAX && n < size; t++)
                n += (size_t) snprintf(buf + n, size - n, "%s%s",
                                       t == 0                      ? ""
                                       : t == _DOMAIN_TYPE_MAX - 1 ? " or "
                                                                   : ", ",
                                       domain_type_to_string((domain_type) t));
}

/* The option row getopt_long() answered with c. */
static int option_index(int c) {
        if (c >= 0x100 && c < 0x100 + _OPT_MAX)
                return c - 0x100;
        for (size_t i = 0; i < _OPT_MAX; i++)
                if (options[i].short_name && options[i].short_name == c)
                        return (int) i;
        return -1;
}

static int parse_argv(int argc, char **argv) {
        struct option longopts[_OPT_MAX + 1] = {};
        char shortopts[2 * _OPT_MAX + 2] = ":";
        size_t k = 1;
        uint64_t v;
        int c;

        for (size_t i = 0; i < _OPT_MAX; i++) {
                longopts[i] = (struct option){ options[i].name,
                                               options[i].argument ? required_argument : no_argument, NULL,
                                               0x100 + (int) i };
                if (options[i].short_name) {
                        shortopts[k++] = options[i].short_name;
                        if (options[i].argument)
                                shortopts[k++] = ':';
                }
        }

        opterr = 0;
        while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) >= 0) {
                int i = option_index(c);

                if (c == ':')
                        return cli_usage("Option '%s' needs an argument", argv[optind - 1]);
                if (i < 0)
                        return cli_usage("Unknown option '%s'; see 'iommuctl --help'", argv[optind - 1]);
                given_options |= 1u << i;

                switch (i) {
                case OPT_JSON:
                        arg.json = true;
                        break;
                case OPT_PRETTY:
                        arg.json = arg.pretty = true;
                        break;
                case OPT_SYSROOT:
                        if (!*optarg)
                                return cli_usage("--sysroot needs a directory");
                        arg.sysroot = streq(optarg, "/") ? "" : optarg;
                        break;
                case OPT_FILE:
                        arg.file = optarg;
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
                        break;
                case OPT_CLEAR:
                        arg.clear = true;
                        break;
                case OPT_DEVICE:
                        if (bdf_parse(optarg, &arg.segment, &arg.bus, &arg.devfn) < 0)
                                return cli_usage("--device '%s' is not a PCI address (SSSS:BB:DD.F, BB:DD.F "
                                                 "or B:D.F)",
                                                 optarg);
                        arg.have_device = true;
                        break;
                case OPT_DOMAIN:
                        if (cli_parse_number(optarg, UINT16_MAX, &v) < 0)
                                return cli_usage("--domain '%s' is not a domain ID (0..65535)", optarg);
                        arg.domain = (int) v;
                        break;
                case OPT_PASID:
                        if (cli_parse_number(optarg, (1u << 20) - 1, &v) < 0)
                                return cli_usage("--pasid '%s' is not a PASID (0..1048575)", optarg);
                        arg.pasid = (int64_t) v;
                        break;
                case OPT_OUTPUT:
                        arg.output = optarg;
                        break;
                case OPT_UNIT:
                        if (!*optarg)
                                return cli_usage("--unit needs a unit name, e.g. dmar0");
                        arg.unit = optarg;
                        break;
                case OPT_TYPE:
                        arg.type = domain_type_from_string(optarg);
                        if (arg.type < 0) {
                                char names[128];
                                domain_type_names(names, sizeof names);
                                return cli_usage("--type '%s' is not a domain type: %s", optarg, names);
                        }
                        break;
                case OPT_ID:
                        if (cli_parse_number(optarg, UINT16_MAX, &v) < 0)
                                return cli_usage("--id '%s' is not a domain ID (0..65535)", optarg);
                        arg.id = (int) v;
                        break;
                case OPT_ALLOC:
                        arg.alloc = true;
                        break;
                case OPT_READ:
                        arg.read = true;
                        break;
                case OPT_WRITE:
                        arg.write = true;
                        break;
                case OPT_ORDER:
                        if (cli_parse_number(optarg, 63, &v) < 0)
                                return cli_usage("--order '%s' is not an order of pages (0..63)", optarg);
                        arg.order = (int) v;
                        break;
                case OPT_HELP:
                        help();
                        return -1;
                case OPT_VERSION:
                        printf("iommuctl %s\n", PACKAGE_VERSION);
                        return -1;
                default:
                        assert(!"an option row without a case");
                }
        }
        return EXIT_OK;
}

int main(int argc, char **argv) {
        int r;

        /* A reader that goes away (| head) is a write error, said in one
         * line, not a silent death halfway through a listing. */
        (void) signal(SIGPIPE, SIG_IGN);
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

        return run_verb(verbs, NULL, argc - optind, argv + optind);
}
