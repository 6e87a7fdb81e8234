/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * iommud.conf(5): an INI file in systemd's style.
 *
 *   [Daemon]
 *   Socket=/run/iommud/iommud.sock   SocketMode=0660   SocketGroup=
 *   AdminGroup=iommu-admin           Snapshot=         Sysroot=
 *   StateDirectory=/var/lib/iommud
 *   MaxRequestSize=1M   MaxClients=256   IdleTimeoutSec=60
 *   RequestTimeoutSec=30   FaultIntervalSec=1   FaultLogSize=1024
 *   RefreshIntervalSec=1
 *   [HTTP]                       (http-server.h, http-token.h)
 *   ListenHTTP=127.0.0.1:9917    AllowChanges=no   TokenFile=
 *   MaxConnections=64   MaxConnectionsPerIP=8   ConnectionTimeoutSec=10
 *   [Control]                    (control.h)
 *   Manage=   Mode=auto   DefaultPolicy=auto   TableMemory=
 *   Domain=... Map=... Attach=...   (repeatable)
 *
 * "#" and ";" start comments; an empty value ("Key=") resets the default
 * (for SocketGroup= and AdminGroup=: no group); the last assignment wins.  Unknown sections and keys are
 * warnings, a bad value is an error naming file:line.  The command line overrides the file.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/error.h"

#define CONF_DEFAULT_PATH "/etc/iommud/iommud.conf"
#define CONF_DEFAULT_ADMIN_GROUP "iommu-admin"
#define CONF_DEFAULT_STATE_DIRECTORY "/var/lib/iommud"
#define CONF_DEFAULT_LISTEN_HTTP "127.0.0.1:9917"
#define USEC_INFINITY UINT64_MAX
#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)

/* Repeatable keys: each assignment adds an entry, "Key=" empties the list. */
typedef struct conf_entries {
        void *items;
        size_t n;
} conf_entries;

/* Domain=UNIT DID [paging|identity|blocked|passthrough] */
typedef struct conf_domain {
        char unit[16];
        uint16_t did;
        int type; /* domain_type (control/unit.h) */
} conf_domain;

/* Map=UNIT DID IOVA PHYS|alloc LENGTH [r|w|rw] */
typedef struct conf_map {
        char unit[16];
        uint16_t did;
        uint64_t iova, phys, length;
        bool alloc;
        unsigned perms; /* PT_READ | PT_WRITE */
} conf_map;

/* Attach=BDF DID */
typedef struct conf_attach {
        uint16_t segment;
        uint8_t bus, devfn;
        uint16_t did;
} conf_attach;

typedef struct daemon_conf {
        /* [Daemon] */
        char *socket;
        mode_t socket_mode;
        char *socket_group; /* NULL: the daemon's own group */
        char *admin_group;  /* NULL: root only */
        char *snapshot;     /* NULL: the live hardware */
        char *sysroot;      /* NULL: / */
        char *state_directory;
        size_t max_request_size; /* bytes per line, "\n" not counted */
        unsigned max_clients;
        uint64_t idle_timeout_usec;    /* USEC_INFINITY: never */
        uint64_t request_timeout_usec; /* a started line must end within; USEC_INFINITY: never */
        uint64_t fault_interval_usec;  /* 0: no fault polling */
        unsigned fault_log_size;
        uint64_t refresh_interval_usec; /* live registers at most this old; 0: every request */

        /* [HTTP] (http-server.h, http-token.h) */
        char *listen_http; /* NULL: no HTTP */
        bool http_allow_changes;
        char *http_token_file;
        unsigned http_max_connections;
        unsigned http_max_connections_per_ip;
        uint64_t http_connection_timeout_usec;

        /* [Control] (control.h) */
        char *manage;          /* unit names separated by blanks, or "all"; NULL: none */
        int control_mode;      /* CONF_MODE_* */
        int default_policy;    /* CONF_POLICY_* */
        char *table_memory;    /* a directory on hugetlbfs; NULL: found in /proc/mounts */
        int stop_policy;       /* CONF_STOP_* */
        conf_entries domains;  /* conf_domain: made when their unit is taken by Manage= */
        conf_entries maps;     /* conf_map: then these */
        conf_entries attaches; /* conf_attach: then these */
} daemon_conf;

/* Mode= */
enum {
        CONF_MODE_AUTO, /* scalable where ECAP.SMTS and ECAP.SSTS, else legacy */
        CONF_MODE_LEGACY,
        CONF_MODE_SCALABLE,
};

/* DefaultPolicy= */
enum {
        CONF_POLICY_AUTO, /* passthrough where ECAP.PT, else identity */
        CONF_POLICY_PASSTHROUGH,
        CONF_POLICY_IDENTITY,
        CONF_POLICY_BLOCKED,
};

/* StopPolicy= */
enum {
        CONF_STOP_AUTO, /* keep where the tables outlive iommud (hugetlbfs), else off */
        CONF_STOP_KEEP,
        CONF_STOP_PASSTHROUGH,
        CONF_STOP_OFF,
};

/* Whether Manage= names the unit. */
bool conf_manages(const daemon_conf *c, const char *unit);

/* What the command line set; NULL / false leave the file's value. */
typedef struct conf_overrides {
        const char *socket;
        const char *snapshot;
        const char *sysroot;
        const char *state_directory;
        const char *listen_http;
        bool no_http;
        const char *simulate;          /* --simulate: checked by the source, not here */
        const char *simulated_machine; /* --simulated-machine: the file the simulated machine lives in */
} conf_overrides;

/* Defaults, then path (a missing file is fine unless required), then the
 * overrides.  Warnings go to the log; the first error is returned in err
 * as "FILE:LINE: ..." (or naming the option). */
int conf_load(const char *path, bool required, const conf_overrides *o, daemon_conf **ret, iommu_error *err);
daemon_conf *conf_free(daemon_conf *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(daemon_conf *, conf_free);

/* Value parsers, shared with the command line. */
int conf_parse_timespan(const char *s, uint64_t *ret_usec);
int conf_parse_size(const char *s, uint64_t *ret);
int conf_parse_listen(const char *s); /* ADDR:PORT, [ADDR6]:PORT */

/* "60s", "1.5s", "200ms", "infinity" */
char *conf_format_timespan(char *buf, size_t size, uint64_t usec);
