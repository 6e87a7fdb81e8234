/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "basic/fileio.h"
#include "control/pagetable.h"
#include "control/unit.h"
#include "daemon/conf.h"
#include "daemon/log.h"
#include "model/devices.h"
#include "shared/protocol.h"

#define CONF_MAX_FILE_SIZE (1u << 20)

typedef enum conf_type {
        CONF_STRING,   /* char *; empty: NULL */
        CONF_PATH,     /* char *, absolute; empty: NULL */
        CONF_MODE,     /* mode_t, octal */
        CONF_SIZE,     /* size_t, K/M/G suffixes */
        CONF_UNSIGNED, /* unsigned */
        CONF_TIMESPAN, /* uint64_t usec */
        CONF_BOOL,
        CONF_LISTEN,  /* char *: ADDR:PORT, or "no" for none */
        CONF_CHOICE,  /* int: the index of one of choices */
        CONF_UNITS,   /* char *: unit names separated by blanks, or "all"; empty: NULL */
        CONF_ENTRIES, /* conf_entries of entry_size each, from parse_entry; empty: none */
} conf_type;

typedef struct conf_key {
        const char *section;
        const char *name;
        conf_type type;
        size_t offset;
        /* numbers and time spans (usec); a time span whose max is USEC_INFINITY takes "infinity" */
        uint64_t min, max;
        const char *const *choices; /* CONF_CHOICE, NULL-terminated */
        /* CONF_ENTRIES: one value into *entry; the error sentence's tail
         * (what was expected) in err */
        int (*parse_entry)(const char *value, void *entry, iommu_error *err);
        size_t entry_size;
} conf_key;

#define KEY(sec, n, t, f, lo, hi) \
        { .section = sec, .name = n, .type = t, .offset = offsetof(daemon_conf, f), .min = lo, .max = hi }
#define CHOICE(sec, n, f, c) \
        { .section = sec, .name = n, .type = CONF_CHOICE, .offset = offsetof(daemon_conf, f), .choices = c }

static const char *const mode_choices[] = {
        [CONF_MODE_AUTO] = "auto",
        [CONF_MODE_LEGACY] = "legacy",
        [CONF_MODE_SCALABLE] = "scalable",
        NULL,
};
static const char *const policy_choices[] = {
        [CONF_POLICY_AUTO] = "auto",
        [CONF_POLICY_PASSTHROUGH] = "passthrough",
        [CONF_POLICY_IDENTITY] = "identity",
        [CONF_POLICY_BLOCKED] = "blocked",
        NULL,
};

static const char *const stop_choices[] = {
        [CONF_STOP_AUTO] = "auto",
        [CONF_STOP_KEEP] = "keep",
        [CONF_STOP_PASSTHROUGH] = "passthrough",
        [CONF_STOP_OFF] = "off",
        NULL,
};

/* ---- [Control]'s repeatable keys ---- */

/* The words of value, at most n, into w (modified copy in buf). */
static size_t words(char *buf, char **w, size_t n) {
        size_t k = 0;

        for (char *p = strtok(buf, " \t"); p; p = strtok(NULL, " \t")) {
                if (k == n)
                        return n + 1;
                w[k++] = p;
        }
        return k;
}

static int number(const char *s, uint64_t max, uint64_t *ret) {
        char *end;
        uint64_t v;

        /* decimal or 0x hex, never octal (as iommuctl) */
        if (!isdigit((unsigned char) s[0]) || (s[0] == '0' && s[1] && s[1] != 'x' && s[1] != 'X'))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 0);
        if (errno || *end || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int unit_word(const char *s, char *out, size_t size) {
        if (!*s || strlen(s) >= size)
                return -EINVAL;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_-.", *p))
                        return -EINVAL;
        snprintf(out, size, "%s", s);
        return 0;
}

static int parse_domain(const char *value, void *entry, iommu_error *err) {
        conf_domain *d = entry;
        char buf[256], *w[3];
        size_t n;
        uint64_t v;

        snprintf(buf, sizeof buf, "%s", value);
        n = words(buf, w, 3);
        if (n < 2 || n > 3 || unit_word(w[0], d->unit, sizeof d->unit) < 0 ||
            number(w[1], UINT16_MAX, &v) < 0)
                return iommu_error_set(err, EINVAL,
                                       "expected UNIT DID [paging|identity|blocked|passthrough]");
        d->did = (uint16_t) v;
        d->type = n == 3 ? domain_type_from_string(w[2]) : DOMAIN_PAGING;
        if (d->type < 0)
                return iommu_error_set(err, EINVAL,
                                       "expected a type: paging, identity, blocked or passthrough");
        return 0;
}

static int parse_map(const char *value, void *entry, iommu_error *err) {
        conf_map *m = entry;
        char buf[256], *w[6];
        size_t n;
        uint64_t v;

        snprintf(buf, sizeof buf, "%s", value);
        n = words(buf, w, 6);
        if (n < 5 || n > 6 || unit_word(w[0], m->unit, sizeof m->unit) < 0 ||
            number(w[1], UINT16_MAX, &v) < 0 || number(w[2], UINT64_MAX, &m->iova) < 0 ||
            number(w[4], UINT64_MAX, &m->length) < 0 ||
            (!streq(w[3], "alloc") && number(w[3], UINT64_MAX, &m->phys) < 0))
                return iommu_error_set(err, EINVAL, "expected UNIT DID IOVA PHYS|alloc LENGTH [r|w|rw]");
        m->did = (uint16_t) v;
        m->alloc = streq(w[3], "alloc");
        m->perms = n < 6 || streq(w[5], "rw") ? PT_READ | PT_WRITE
                   : streq(w[5], "r")         ? PT_READ
                   : streq(w[5], "w")         ? PT_WRITE
                                              : 0;
        if (!m->perms)
                return iommu_error_set(err, EINVAL, "expected the access as r, w or rw");
        return 0;
}

static int parse_attach(const char *value, void *entry, iommu_error *err) {
        conf_attach *a = entry;
        char buf[256], *w[2];
        uint64_t v;

        snprintf(buf, sizeof buf, "%s", value);
        if (words(buf, w, 2) != 2 || bdf_parse(w[0], &a->segment, &a->bus, &a->devfn) < 0 ||
            number(w[1], UINT16_MAX, &v) < 0)
                return iommu_error_set(err, EINVAL, "expected BDF DID");
        a->did = (uint16_t) v;
        return 0;
}

#define ENTRIES(sec, n, f, fn, entry_type)                                                           \
        {                                                                                            \
                .section = sec, .name = n, .type = CONF_ENTRIES, .offset = offsetof(daemon_conf, f), \
                .parse_entry = fn, .entry_size = sizeof(entry_type)                                  \
        }

static const conf_key keys[] = {
        KEY("Daemon", "Socket", CONF_PATH, socket, 0, 0),
        KEY("Daemon", "SocketMode", CONF_MODE, socket_mode, 0, 0777),
        KEY("Daemon", "SocketGroup", CONF_STRING, socket_group, 0, 0),
        KEY("Daemon", "AdminGroup", CONF_STRING, admin_group, 0, 0),
        KEY("Daemon", "Snapshot", CONF_PATH, snapshot, 0, 0),
        KEY("Daemon", "Sysroot", CONF_PATH, sysroot, 0, 0),
        KEY("Daemon", "StateDirectory", CONF_PATH, state_directory, 0, 0),
        KEY("Daemon", "MaxRequestSize", CONF_SIZE, max_request_size, 256, 64u << 20),
        KEY("Daemon", "MaxClients", CONF_UNSIGNED, max_clients, 1, 65536),
        KEY("Daemon", "IdleTimeoutSec", CONF_TIMESPAN, idle_timeout_usec, 0, USEC_INFINITY),
        KEY("Daemon", "RequestTimeoutSec", CONF_TIMESPAN, request_timeout_usec, 0, USEC_INFINITY),
        KEY("Daemon", "FaultIntervalSec", CONF_TIMESPAN, fault_interval_usec, 0, 3600 * USEC_PER_SEC),
        KEY("Daemon", "FaultLogSize", CONF_UNSIGNED, fault_log_size, 0, 1u << 20),
        KEY("Daemon", "RefreshIntervalSec", CONF_TIMESPAN, refresh_interval_usec, 0, 3600 * USEC_PER_SEC),
        KEY("HTTP", "ListenHTTP", CONF_LISTEN, listen_http, 0, 0),
        KEY("HTTP", "AllowChanges", CONF_BOOL, http_allow_changes, 0, 1),
        KEY("HTTP", "TokenFile", CONF_PATH, http_token_file, 0, 0),
        KEY("HTTP", "MaxConnections", CONF_UNSIGNED, http_max_connections, 1, 65536),
        KEY("HTTP", "MaxConnectionsPerIP", CONF_UNSIGNED, http_max_connections_per_ip, 1, 65536),
        KEY("HTTP", "ConnectionTimeoutSec", CONF_TIMESPAN, http_connection_timeout_usec, USEC_PER_SEC,
            3600 * USEC_PER_SEC),
        KEY("Control", "Manage", CONF_UNITS, manage, 0, 0),
        CHOICE("Control", "Mode", control_mode, mode_choices),
        CHOICE("Control", "DefaultPolicy", default_policy, policy_choices),
        KEY("Control", "TableMemory", CONF_PATH, table_memory, 0, 0),
        CHOICE("Control", "StopPolicy", stop_policy, stop_choices),
        ENTRIES("Control", "Domain", domains, parse_domain, conf_domain),
        ENTRIES("Control", "Map", maps, parse_map, conf_map),
        ENTRIES("Control", "Attach", attaches, parse_attach, conf_attach),
};

static const char *const sections[] = { "Daemon", "HTTP", "Control" };

static bool is_string(const conf_key *k) {
        return k->type == CONF_STRING || k->type == CONF_PATH || k->type == CONF_LISTEN ||
               k->type == CONF_UNITS;
}

bool conf_manages(const daemon_conf *c, const char *unit) {
        const char *p = c->manage;

        if (!p)
                return false;
        if (streq(p, "all"))
                return true;
        while (*p) {
                size_t n;

                p += strspn(p, " \t");
                n = strcspn(p, " \t");
                if (n > 0 && strlen(unit) == n && strncmp(p, unit, n) == 0)
                        return true;
                p += n;
        }
        return false;
}

daemon_conf *conf_free(daemon_conf *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (is_string(&keys[i]))
                        free(*(char **) ((char *) c + keys[i].offset));
                else if (keys[i].type == CONF_ENTRIES)
                        free(((conf_entries *) ((char *) c + keys[i].offset))->items);
        free(c);
        return NULL;
}

static int set_string(char **field, const char *value) {
        char *s = NULL;

        if (value && *value) {
                s = strdup(value);
                if (!s)
                        return -ENOMEM;
        }
        free(*field);
        *field = s;
        return 0;
}

static int conf_defaults(daemon_conf *c) {
        *c = (daemon_conf){
                .socket_mode = 0660,
                .max_request_size = PROTOCOL_DEFAULT_MAX_LINE,
                .max_clients = 256,
                .idle_timeout_usec = 60 * USEC_PER_SEC,
                .request_timeout_usec = 30 * USEC_PER_SEC,
                .fault_interval_usec = USEC_PER_SEC,
                .fault_log_size = 1024,
                .refresh_interval_usec = USEC_PER_SEC,
                .http_max_connections = 64,
                .http_max_connections_per_ip = 8,
                .http_connection_timeout_usec = 10 * USEC_PER_SEC,
        };
        if (set_string(&c->socket, PROTOCOL_DEFAULT_SOCKET) < 0 ||
            set_string(&c->admin_group, CONF_DEFAULT_ADMIN_GROUP) < 0 ||
            set_string(&c->state_directory, CONF_DEFAULT_STATE_DIRECTORY) < 0 ||
            set_string(&c->listen_http, CONF_DEFAULT_LISTEN_HTTP) < 0)
                return -ENOMEM;
        return 0;
}

int conf_parse_timespan(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "us", 1 },
                { "usec", 1 },
                { "ms", USEC_PER_MSEC },
                { "msec", USEC_PER_MSEC },
                { "", USEC_PER_SEC },
                { "s", USEC_PER_SEC },
                { "sec", USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
                { "hour", 3600 * USEC_PER_SEC },
        };
        char *end;
        double v;

        if (streq(s, "infinity")) {
                *ret_usec = USEC_INFINITY;
                return 0;
        }
        if (!isdigit((unsigned char) *s) && *s != '.')
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || !isfinite(v) || v < 0)
                return -EINVAL;
        while (*end == ' ')
                end++;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(end, units[i].suffix)) {
                        double usec = v * (double) units[i].usec;
                        if (usec >= 1e18)
                                return -ERANGE;
                        *ret_usec = (uint64_t) (usec + 0.5);
                        return 0;
                }
        return -EINVAL;
}

char *conf_format_timespan(char *buf, size_t size, uint64_t usec) {
        if (usec == USEC_INFINITY)
                snprintf(buf, size, "infinity");
        else if (usec % USEC_PER_SEC == 0)
                snprintf(buf, size, "%" PRIu64 "s", usec / USEC_PER_SEC);
        else if (usec % USEC_PER_MSEC == 0)
                snprintf(buf, size, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
        else
                snprintf(buf, size, "%" PRIu64 "us", usec);
        return buf;
}

int conf_parse_size(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;
        unsigned shift = 0;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -ERANGE;
        if (*end == 'K')
                shift = 10;
        else if (*end == 'M')
                shift = 20;
        else if (*end == 'G')
                shift = 30;
        else if (*end)
                return -EINVAL;
        if (shift && end[1] && !streq(end + 1, "iB") && !streq(end + 1, "B"))
                return -EINVAL;
        if (v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t) v << shift;
        return 0;
}

int conf_parse_listen(const char *s) {
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon = strrchr(s, ':');
        unsigned char buf[sizeof(struct in6_addr)];
        unsigned long port;
        char *end;
        size_t n;

        if (!colon)
                return -EINVAL;
        n = (size_t) (colon - s);
        if (n == 0 || n >= sizeof host)
                return -EINVAL;
        memcpy(host, s, n);
        host[n] = '\0';
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end || port == 0 || port > 65535)
                return -EINVAL;
        if (host[0] == '[' && host[n - 1] == ']') {
                host[n - 1] = '\0';
                return inet_pton(AF_INET6, host + 1, buf) == 1 ? 0 : -EINVAL;
        }
        return inet_pton(AF_INET, host, buf) == 1 ? 0 : -EINVAL;
}

static int parse_bool(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

/* "Key=": back to the default */
static int reset(daemon_conf *c, const conf_key *k) {
        _cleanup_(conf_freep) daemon_conf *d = calloc(1, sizeof *d);
        void *field = (char *) c + k->offset, *dfield;

        if (!d || conf_defaults(d) < 0)
                return -ENOMEM;
        dfield = (char *) d + k->offset;
        switch (k->type) {
        case CONF_STRING:
        case CONF_PATH:
        case CONF_LISTEN:
        case CONF_UNITS:
                return set_string(field, *(char **) dfield);
        case CONF_CHOICE:
                *(int *) field = *(int *) dfield;
                break;
        case CONF_MODE:
                *(mode_t *) field = *(mode_t *) dfield;
                break;
        case CONF_SIZE:
                *(size_t *) field = *(size_t *) dfield;
                break;
        case CONF_UNSIGNED:
                *(unsigned *) field = *(unsigned *) dfield;
                break;
        case CONF_TIMESPAN:
                *(uint64_t *) field = *(uint64_t *) dfield;
                break;
        case CONF_BOOL:
                *(bool *) field = *(bool *) dfield;
                break;
        case CONF_ENTRIES: {
                conf_entries *e = field;

                e->items = mfree(e->items);
                e->n = 0;
                break;
        }
        }
        return 0;
}

/* One assignment; the error sentence (without "FILE:LINE: ") in err. */
static int assign(daemon_conf *c, const conf_key *k, const char *value, iommu_error *err) {
        void *field = (char *) c + k->offset;
        char span[32];
        uint64_t v;
        int r;

        /* "Key=" resets the default; for the groups that is "none" */
        if (!*value && k->type == CONF_STRING)
                return set_string(field, NULL), 0;
        if (!*value)
                return reset(c, k) < 0 ? iommu_error_set(err, ENOMEM, "Out of memory") : 0;

        switch (k->type) {
        case CONF_STRING:
                if (strpbrk(value, " \t:/"))
                        return iommu_error_set(err, EINVAL, "Invalid %s=%s: expected a group name or number",
                                               k->name, value);
                return set_string(field, value) < 0 ? iommu_error_set(err, ENOMEM, "Out of memory") : 0;
        case CONF_PATH:
                if (value[0] != '/')
                        return iommu_error_set(err, EINVAL, "Invalid %s=%s: expected an absolute path",
                                               k->name, value);
                if (k->offset == offsetof(daemon_conf, socket) && strlen(value) >= 108)
                        return iommu_error_set(err, ENAMETOOLONG,
                                               "Invalid %s=%s: a socket path has at most 107 bytes", k->name,
                                               value);
                return set_string(field, value) < 0 ? iommu_error_set(err, ENOMEM, "Out of memory") : 0;
        case CONF_LISTEN:
                if (streq(value, "no"))
                        return set_string(field, NULL) < 0 ? iommu_error_set(err, ENOMEM, "Out of memory")
                                                           : 0;
                if (conf_parse_listen(value) < 0)
                        return iommu_error_set(
                                err, EINVAL,
                                "Invalid %s=%s: expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT) or \"no\"",
                                k->name, value);
                return set_string(field, value) < 0 ? iommu_error_set(err, ENOMEM, "Out of memory") : 0;
        case CONF_MODE: {
                char *end;
                unsigned long m;

                errno = 0;
                m = strtoul(value, &end, 8);
                if (errno || *end || !isdigit((unsigned char) value[0]) || m > k->max)
                        return iommu_error_set(err, EINVAL,
                                               "Invalid %s=%s: expected an octal file mode such as 0660",
                                               k->name, value);
                *(mode_t *) field = (mode_t) m;
                return 0;
        }
        case CONF_SIZE:
                r = conf_parse_size(value, &v);
                if (r < 0 || v < k->min || v > k->max)
                        return iommu_error_set(
                                err, EINVAL,
                                "Invalid %s=%s: expected a size in bytes (K, M, G suffixes) from "
                                "%" PRIu64 " to %" PRIu64 "M",
                                k->name, value, k->min, k->max >> 20);
                *(size_t *) field = (size_t) v;
                return 0;
        case CONF_UNSIGNED: {
                char *end;
                unsigned long long n;

                errno = 0;
                n = strtoull(value, &end, 10);
                if (errno || *end || !isdigit((unsigned char) value[0]) || n < k->min || n > k->max)
                        return iommu_error_set(
                                err, EINVAL, "Invalid %s=%s: expected a number from %" PRIu64 " to %" PRIu64,
                                k->name, value, k->min, k->max);
                *(unsigned *) field = (unsigned) n;
                return 0;
        }
        case CONF_TIMESPAN:
                r = conf_parse_timespan(value, &v);
                if (r >= 0 && v == USEC_INFINITY && k->max != USEC_INFINITY)
                        r = -ERANGE;
                if (r < 0 || v < k->min || v > k->max)
                        return iommu_error_set(
                                err, EINVAL,
                                "Invalid %s=%s: expected a time span (\"30\", \"1.5s\", \"200ms\"%s) "
                                "from %s",
                                k->name, value, k->max == USEC_INFINITY ? ", \"infinity\"" : "",
                                conf_format_timespan(span, sizeof span, k->min));
                /* 0 means "never" for the timeouts */
                if (v == 0 && k->max == USEC_INFINITY)
                        v = USEC_INFINITY;
                *(uint64_t *) field = v;
                return 0;
        case CONF_BOOL:
                r = parse_bool(value);
                if (r < 0)
                        return iommu_error_set(err, EINVAL, "Invalid %s=%s: expected yes or no", k->name,
                                               value);
                *(bool *) field = r;
                return 0;
        case CONF_CHOICE: {
                char names[128] = "";

                for (size_t i = 0; k->choices[i]; i++)
                        if (streq(value, k->choices[i])) {
                                *(int *) field = (int) i;
                                return 0;
                        }
                for (size_t i = 0; k->choices[i]; i++)
                        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                                 i == 0              ? ""
                                 : k->choices[i + 1] ? ", "
                                                     : " or ",
                                 k->choices[i]);
                return iommu_error_set(err, EINVAL, "Invalid %s=%s: expected %s", k->name, value, names);
        }
        case CONF_ENTRIES: {
                conf_entries *e = field;
                iommu_error why = {};
                void *items;

                /* at most 4096 of each: a bound for the file's reader */
                if (e->n >= 4096)
                        return iommu_error_set(err, E2BIG, "Too many %s= lines (4096 at most)", k->name);
                items = realloc(e->items, (e->n + 1) * k->entry_size);
                if (!items)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                e->items = items;
                memset((char *) items + e->n * k->entry_size, 0, k->entry_size);
                if (k->parse_entry(value, (char *) items + e->n * k->entry_size, &why) < 0)
                        return iommu_error_set(err, EINVAL, "Invalid %s=%s: %s", k->name, value,
                                               why.message);
                e->n++;
                return 0;
        }
        case CONF_UNITS: {
                const char *p = value;

                if (streq(value, "all"))
                        return set_string(field, value) < 0 ? iommu_error_set(err, ENOMEM, "Out of memory")
                                                            : 0;
                for (; *p; p++)
                        if (!isalnum((unsigned char) *p) && !strchr("_-. \t", *p))
                                return iommu_error_set(err, EINVAL,
                                                       "Invalid %s=%s: expected unit names such as dmar0, "
                                                       "separated by blanks, or \"all\"",
                                                       k->name, value);
                if (strstr(value, "all"))
                        for (const char *w = value; (w = strstr(w, "all")); w += 3)
                                if ((w == value || strchr(" \t", w[-1])) && (!w[3] || strchr(" \t", w[3])))
                                        return iommu_error_set(err, EINVAL,
                                                               "Invalid %s=%s: \"all\" stands alone",
                                                               k->name, value);
                return set_string(field, value) < 0 ? iommu_error_set(err, ENOMEM, "Out of memory") : 0;
        }
        }
        return iommu_error_set(err, EINVAL, "Invalid %s=", k->name);
}

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = '\0';
        return s;
}

static int parse_file(daemon_conf *c, const char *path, const char *text, iommu_error *err) {
        const char *section = NULL;
        bool section_known = true;
        unsigned line_no = 0;
        _cleanup_free_ char *copy = strdup(text);
        char *next;

        if (!copy)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        next = copy;
        while (next) {
                char *line = next, *eq, *key, *value;
                const conf_key *k = NULL;
                iommu_error e = {};
                int r;

                next = strchr(next, '\n');
                if (next)
                        *next++ = '\0';
                line_no++;
                line = strip(line);
                if (!*line || *line == '#' || *line == ';')
                        continue;

                if (*line == '[') {
                        size_t n = strlen(line);
                        if (line[n - 1] != ']')
                                return iommu_error_set(err, EINVAL, "%s:%u: Invalid section header '%s'",
                                                       path, line_no, line);
                        line[n - 1] = '\0';
                        section = NULL;
                        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                                if (streq(line + 1, sections[i]))
                                        section = sections[i];
                        section_known = section != NULL;
                        if (!section)
                                log_warning("%s:%u: Unknown section [%s], ignoring it", path, line_no,
                                            line + 1);
                        continue;
                }

                eq = strchr(line, '=');
                if (!eq)
                        return iommu_error_set(err, EINVAL, "%s:%u: Expected KEY=VALUE, got '%s'", path,
                                               line_no, line);
                *eq = '\0';
                key = strip(line);
                value = strip(eq + 1);
                if (!section) {
                        if (section_known)
                                log_warning("%s:%u: %s= outside of a section, ignoring it", path, line_no,
                                            key);
                        continue;
                }
                for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                        if (streq(keys[i].section, section) && streq(keys[i].name, key))
                                k = &keys[i];
                if (!k) {
                        log_warning("%s:%u: Unknown key %s= in [%s], ignoring it", path, line_no, key,
                                    section);
                        continue;
                }
                r = assign(c, k, value, &e);
                if (r < 0)
                        return iommu_error_set(err, -r, "%s:%u: %s", path, line_no, e.message);
        }
        return 0;
}

/* A command-line value; paths may be relative to the working directory. */
static int override(daemon_conf *c, const char *option, const char *key, const char *value,
                    iommu_error *err) {
        _cleanup_free_ char *cwd = NULL, *abs = NULL;
        iommu_error e = {};

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(keys[i].name, key)) {
                        int r;

                        if (keys[i].type == CONF_PATH && *value && *value != '/') {
                                cwd = getcwd(NULL, 0);
                                if (!cwd)
                                        return iommu_error_set(err, errno, "%s: cannot resolve %s: %s",
                                                               option, value, strerror(errno));
                                if (asprintf(&abs, "%s/%s", streq(cwd, "/") ? "" : cwd, value) < 0)
                                        return iommu_error_set(err, ENOMEM, "Out of memory");
                                value = abs;
                        }
                        r = assign(c, &keys[i], value, &e);
                        if (r < 0)
                                return iommu_error_set(err, -r, "%s: %s", option, e.message);
                        return 0;
                }
        return iommu_error_set(err, EINVAL, "Unknown key %s", key);
}

int conf_load(const char *path, bool required, const conf_overrides *o, daemon_conf **ret,
              iommu_error *err) {
        _cleanup_(conf_freep) daemon_conf *c = calloc(1, sizeof *c);
        _cleanup_free_ char *text = NULL;
        iommu_error e = {};
        size_t size;
        int r;

        if (!c || conf_defaults(c) < 0)
                return iommu_error_set(err, ENOMEM, "Out of memory");

        if (path) {
                r = read_full_file(path, CONF_MAX_FILE_SIZE, (void **) &text, &size, &e);
                if (r == -ENOENT && !required)
                        log_debug("No configuration file %s, using the defaults", path);
                else if (r < 0)
                        return iommu_error_set(err, -r, "Failed to read the configuration: %s", e.message);
                else {
                        if (memchr(text, '\0', size))
                                return iommu_error_set(err, EINVAL,
                                                       "%s: contains a NUL byte, not a text file", path);
                        r = parse_file(c, path, text, err);
                        if (r < 0)
                                return r;
                }
        }

        if (o) {
                if (o->socket && (r = override(c, "--socket", "Socket", o->socket, err)) < 0)
                        return r;
                if (o->snapshot && (r = override(c, "--snapshot", "Snapshot", o->snapshot, err)) < 0)
                        return r;
                if (o->sysroot && (r = override(c, "--sysroot", "Sysroot", o->sysroot, err)) < 0)
                        return r;
                if (o->state_directory &&
                    (r = override(c, "--state-dir", "StateDirectory", o->state_directory, err)) < 0)
                        return r;
                if (o->listen_http &&
                    (r = override(c, "--listen-http", "ListenHTTP", o->listen_http, err)) < 0)
                        return r;
                if (o->no_http && (r = override(c, "--no-http", "ListenHTTP", "no", err)) < 0)
                        return r;
        }

        *ret = TAKE_PTR(c);
        return 0;
}
