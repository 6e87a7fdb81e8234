/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The units iommud owns (control.h). */
#include <dirent.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "access/tablemem.h"
#include "basic/alloc-util.h"
#include "basic/json-util.h"
#include "control/state.h"
#include "control/undo.h"
#include "daemon/buffers.h"
#include "daemon/control.h"
#include "daemon/log.h"
#include "decode/invq.h"
#include "decode/regs.h"
#include "model/devices.h"
#include "snapshot/snapshot.h"

#define MAX_RMRR_REGIONS 64

/* A unit iommud owns. */
typedef struct owned {
        char name[SNAPSHOT_UNIT_NAME_MAX];
        uint64_t base;
        uint16_t segment;
        owned_unit *unit;
        iommu_regs *regs; /* writable */
        bool regs_borrowed;
        table_mem *mem;
        char *mem_path;  /* hugetlbfs: the file */
        char *directory; /* where its buffers go */
        iommu_ram *view; /* the walker's view of mem */
        buffer *buffers;
        char broken[256];    /* why it is degraded: the hardware failed a change; "" while sound */
        uint64_t inv_errors; /* the invalidation errors (IQE, ITE, ICE) seen so far */
} owned;

/* A unit an earlier iommud left translating that this one could not take
 * back: the hardware wins, and nothing is written to it until an
 * administrator gives it back (v1.power off). */
typedef struct degraded_unit {
        char name[SNAPSHOT_UNIT_NAME_MAX];
        char reason[256];
        json_object *saved; /* its object in the state file; NULL: none */
} degraded_unit;

/* What the metrics count per unit, over every time it was owned. */
typedef struct unit_counts {
        char name[SNAPSHOT_UNIT_NAME_MAX];
        inv_counts issued;
        uint64_t faults_cleared;
} unit_counts;

struct control {
        source *source;
        owned **units;
        size_t n_units, units_alloc;
        degraded_unit *degraded;
        size_t n_degraded, degraded_alloc;
        unit_counts *counts; /* of units given back */
        size_t n_counts, counts_alloc;
        buffer_region region; /* the simulated machine's buffers */
        buffer *doomed;       /* unmapped buffers: their files go once the state no longer names them */
        undo_log *undo;       /* the record of the change in flight (control/undo.h) */
        uint64_t serial;      /* of the state saved last */

        /* settings */
        int mode, policy;
        char *table_memory;
        char *buffer_directory;
        char *state_path;   /* StateDirectory=/control.state */
        char *undo_path;    /* StateDirectory=/control.undo */
        int stop_policy;    /* CONF_STOP_* */
        bool state_checked; /* what an earlier iommud left was looked at */
        bool have_admin_gid;
        gid_t admin_gid;
};

static void decorate(void *userdata, answer_kind kind, json_object *result);
static int persist_logged(control *c);
static int take_saved(control *c, iommu_unit *u, iommu_error *err);

int control_new(control **ret) {
        control *c = calloc(1, sizeof *c);

        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

size_t control_n_owned(const control *c) {
        return c->n_units;
}

static owned *owned_of(const control *c, const char *name) {
        for (size_t i = 0; name && i < c->n_units; i++)
                if (streq(c->units[i]->name, name))
                        return c->units[i];
        return NULL;
}

bool control_owns(const control *c, const char *unit) {
        return owned_of(c, unit);
}

void control_configure(control *c, const daemon_conf *conf, bool have_admin_gid, gid_t admin_gid) {
        _cleanup_free_ char *socket = strdup(conf->socket ? conf->socket : "/run/iommud/iommud.sock");
        char *dir;

        c->mode = conf->control_mode;
        c->policy = conf->default_policy;
        c->stop_policy = conf->stop_policy;
        free(c->table_memory);
        c->table_memory = conf->table_memory ? strdup(conf->table_memory) : NULL;
        /* locked and simulated buffers: beside the socket, in iommud's
         * runtime directory */
        free(c->buffer_directory);
        c->buffer_directory = NULL;
        if (socket && asprintf(&dir, "%s/buffers", dirname(socket)) >= 0)
                c->buffer_directory = dir;
        free(c->state_path);
        c->state_path = NULL;
        if (conf->state_directory && asprintf(&dir, "%s/control.state", conf->state_directory) >= 0)
                c->state_path = dir;
        free(c->undo_path);
        c->undo_path = NULL;
        if (conf->state_directory && asprintf(&dir, "%s/control.undo", conf->state_directory) >= 0)
                c->undo_path = dir;
        c->have_admin_gid = have_admin_gid;
        c->admin_gid = admin_gid;
}

/* ---- messages ---- */

static int kernel_owns(const iommu_unit *u, iommu_error *err) {
        return iommu_error_set(
                err, EPERM,
                "%s is owned by the kernel's intel-iommu driver; boot with intel_iommu=off to "
                "let iommud manage it",
                u->name);
}

static int not_owned(const char *name, iommu_error *err) {
        return iommu_error_set(err, EINVAL, "%s is not owned by iommud: iommuctl power on --unit %s first",
                               name, name);
}

static const char *unit_names(const iommu_system *s, char *buf, size_t size) {
        buf[0] = '\0';
        for (size_t i = 0; i < s->n_units; i++)
                snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? ", " : "", s->units[i].name);
        return buf;
}

/* The unit a request names, or (name NULL) the only one owned, or the
 * machine's only one; its registers re-read. */
static int find_unit(control *c, const char *name, iommu_unit **ret, iommu_error *err) {
        iommu_system *s = c->source->system;
        char names[256];
        iommu_unit *u = NULL;

        if (name) {
                u = iommu_system_unit_by_name(s, name);
                if (!u)
                        return iommu_error_set(err, ENODEV, "No unit %s here (%s)", name,
                                               s->n_units ? unit_names(s, names, sizeof names) : "none");
        } else if (c->n_units == 1)
                u = iommu_system_unit_by_name(s, c->units[0]->name);
        else if (c->n_units > 1) {
                names[0] = '\0';
                for (size_t i = 0; i < c->n_units; i++)
                        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                                 c->units[i]->name);
                return iommu_error_set(err, EINVAL, "iommud owns several units (%s): name one with \"unit\"",
                                       names);
        } else if (s->n_units == 1)
                u = &s->units[0];
        else if (s->n_units == 0)
                return iommu_error_set(err, ENODEV, "This machine has no remapping unit");
        else
                return iommu_error_set(
                        err, EINVAL,
                        "iommud owns no unit and this machine has %zu (%s): name one with \"unit\"",
                        s->n_units, unit_names(s, names, sizeof names));
        if (!u)
                return iommu_error_set(err, ENODEV, "%s, which iommud owns, is gone", c->units[0]->name);
        (void) iommu_system_refresh(s);
        *ret = u;
        return 0;
}

static degraded_unit *degraded_of(const control *c, const char *name) {
        for (size_t i = 0; i < c->n_degraded; i++)
                if (streq(c->degraded[i].name, name))
                        return &c->degraded[i];
        return NULL;
}

/* A change failed in the hardware (a register that cannot be read, a
 * wait that never completes, IQE/ITE/ICE): what the unit caches or walks
 * is no longer known, so nothing more is written but the give-back. */
static void hardware_failed(owned *o, const char *why) {
        if (o->broken[0])
                return;
        snprintf(o->broken, sizeof o->broken, "%s", why);
        log_error("%s: degraded: %s; nothing more is written to it until iommuctl power off --unit %s gives "
                  "it back",
                  o->name, why, o->name);
}

/* r of a change to o: a hardware failure degrades the unit: a register
 * that cannot be read or a wait that never ends (EIO, ETIMEDOUT), or an
 * error the invalidation queue reported (IQE, ITE, ICE: counted). */
static int checked(owned *o, int r, const iommu_error *err) {
        uint64_t errors = owned_unit_invalidations(o->unit)->errors;

        if (r < 0 && (r == -EIO || r == -ETIMEDOUT || errors != o->inv_errors))
                hardware_failed(o, err->message);
        o->inv_errors = errors;
        return r;
}

static int degraded_refused(const degraded_unit *d, iommu_error *err) {
        /* the remedy first: a long reason may be cut */
        return iommu_error_set(err, EBUSY,
                               "%s is degraded: nothing is written to it until iommuctl power off --unit %s "
                               "gives it back; %s",
                               d->name, d->name, d->reason);
}

/* u as iommud owns it; refused for the kernel's, a degraded one and
 * nobody's. */
static int owned_or_refused(control *c, const iommu_unit *u, owned **ret, iommu_error *err) {
        owned *o = owned_of(c, u->name);
        const degraded_unit *d = degraded_of(c, u->name);

        if (o && !o->broken[0] && !u->have_regs)
                hardware_failed(o, u->regs_error.message);
        if (o && o->broken[0])
                return iommu_error_set(err, EBUSY,
                                       "%s is degraded: nothing is written to it until iommuctl power off "
                                       "--unit %s gives it back; %s",
                                       o->name, o->name, o->broken);
        if (o) {
                *ret = o;
                return 0;
        }
        if (d)
                return degraded_refused(d, err);
        if (u->owner == UNIT_OWNER_KERNEL)
                return kernel_owns(u, err);
        return not_owned(u->name, err);
}

/* The owned unit a change is for. */
static int find_owned(control *c, const char *name, owned **ret, iommu_error *err) {
        iommu_unit *u;
        int r;

        r = find_unit(c, name, &u, err);
        if (r < 0)
                return r;
        return owned_or_refused(c, u, ret, err);
}

/* ---- the system's view of table memory ---- */

static int update_views(control *c) {
        _cleanup_free_ iommu_ram **views = NULL;

        if (!c->source)
                return 0;
        if (c->n_units > 0) {
                views = calloc(c->n_units, sizeof *views);
                if (!views)
                        return -ENOMEM;
                for (size_t i = 0; i < c->n_units; i++)
                        views[i] = c->units[i]->view;
        }
        return iommu_system_set_table_memory(c->source->system, views, c->n_units);
}

/* ---- taking a unit ---- */

/* The hugetlbfs mount /proc/mounts names (2 MiB pages), below the
 * sysroot; NULL when there is none. */
static char *hugetlbfs_mount(const source *src) {
        _cleanup_free_ void *data = NULL;
        char *line, *save = NULL;
        size_t size;

        if (!src->ctx || iommu_ctx_read_file(src->ctx, "/proc/mounts", 1 << 20, &data, &size, NULL) < 0)
                return NULL;
        for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char dev[256], dir[PATH_MAX], type[64], opts[1024], path[PATH_MAX];
                size_t k = 0;

                if (sscanf(line, "%255s %4095s %63s %1023s", dev, dir, type, opts) != 4 ||
                    !streq(type, "hugetlbfs"))
                        continue;
                if (strstr(opts, "pagesize=") && !strstr(opts, "pagesize=2M") &&
                    !strstr(opts, "pagesize=2048k"))
                        continue;
                /* /proc/mounts escapes blanks and backslashes as \ooo */
                for (const char *p = dir; *p && k + 1 < sizeof path; p++) {
                        unsigned v;

                        if (p[0] == '\\' && sscanf(p + 1, "%3o", &v) == 1 &&
                            strspn(p + 1, "01234567") >= 3) {
                                path[k++] = (char) v;
                                p += 3;
                        } else
                                path[k++] = *p;
                }
                path[k] = '\0';
                return iommu_ctx_path(src->ctx, path);
        }
        return NULL;
}

/* Registers to write u's with: a simulated unit's own, else /dev/mem. */
static int writable_regs(control *c, iommu_unit *u, iommu_regs **ret, bool *ret_borrowed, iommu_error *err) {
        *ret_borrowed = c->source->system->image;
        if (*ret_borrowed) {
                *ret = u->regs;
                return 0;
        }
        return iommu_regs_open_devmem_writable(c->source->ctx, u->base, u->size, ret, err);
}

/* The simulated machine's table memory (its RAM from SIMULATED_TABLE_BASE
 * up to the buffers), new or as an earlier iommud left it; its buffers
 * beside the socket. */
static int simulated_table_memory(control *c, owned *o, bool reopen, iommu_error *err) {
        iommu_ram *image = c->source->system->image;
        int r;

        r = reopen ? table_mem_reopen_image(image, SIMULATED_TABLE_BASE, &o->mem, err)
                   : table_mem_open_image(image, SIMULATED_TABLE_BASE, &o->mem, err);
        if (r < 0)
                return r;
        table_mem_set_max_chunks(o->mem, (SIMULATED_BUFFER_BASE - SIMULATED_TABLE_BASE) / TABLE_MEM_CHUNK);
        o->directory = c->buffer_directory ? strdup(c->buffer_directory) : NULL;
        return o->directory ? 0 : iommu_error_set(err, ENOMEM, "Out of memory");
}

/* Table memory for unit u, and where its buffers go. */
static int open_table_memory(control *c, owned *o, iommu_error *err) {
        iommu_system *s = c->source->system;
        _cleanup_free_ char *mount = NULL, *dir = NULL;
        int r;

        if (s->image)
                return simulated_table_memory(c, o, false, err);
        if (c->table_memory)
                dir = strdup(c->table_memory);
        else if ((mount = hugetlbfs_mount(c->source)))
                (void) asprintf(&dir, "%s/iommud", mount);
        else {
                log_warning(
                        "%s: no hugetlbfs is mounted (and no TableMemory= set): its tables go to locked "
                        "memory, which is freed if iommud is killed while the unit translates, so that the "
                        "unit would walk freed memory; mount hugetlbfs with 2 MiB pages to avoid that",
                        o->name);
                r = table_mem_open_locked(&o->mem, err);
                if (r < 0)
                        return r;
                o->directory = c->buffer_directory ? strdup(c->buffer_directory) : NULL;
                return o->directory ? 0 : iommu_error_set(err, ENOMEM, "Out of memory");
        }
        if (!dir)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return iommu_error_set(err, errno, "Failed to make the table memory directory %s: %s", dir,
                                       strerror(errno));
        if (asprintf(&o->mem_path, "%s/%s", dir, o->name) < 0) {
                o->mem_path = NULL;
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        r = table_mem_open_hugetlbfs(o->mem_path, &o->mem, err);
        if (r < 0)
                return r;
        o->directory = TAKE_PTR(dir);
        return 0;
}

static domain_type policy_of(const control *c, uint64_t ecap) {
        switch (c->policy) {
        case CONF_POLICY_PASSTHROUGH:
                return DOMAIN_PASSTHROUGH;
        case CONF_POLICY_IDENTITY:
                return DOMAIN_IDENTITY;
        case CONF_POLICY_BLOCKED:
                return DOMAIN_BLOCKED;
        default:
                return FIELD_GET(ECAP, PT, &ecap) ? DOMAIN_PASSTHROUGH : DOMAIN_IDENTITY;
        }
}

static unit_mode mode_of(const control *c, uint64_t ecap) {
        switch (c->mode) {
        case CONF_MODE_LEGACY:
                return UNIT_MODE_LEGACY;
        case CONF_MODE_SCALABLE:
                return UNIT_MODE_SCALABLE;
        default:
                return FIELD_GET(ECAP, SMTS, &ecap) && FIELD_GET(ECAP, SSTS, &ecap) ? UNIT_MODE_SCALABLE
                                                                                    : UNIT_MODE_LEGACY;
        }
}

/* The devices unit u translates, and the RMRR regions of those. */
typedef struct take_plan {
        uint16_t *devices;
        size_t n_devices;
        rmrr_region rmrrs[MAX_RMRR_REGIONS];
        size_t n_rmrrs;
} take_plan;

static int plan_take(iommu_system *s, iommu_unit *u, take_plan *p, iommu_error *err) {
        json_object *devices;
        int r;

        r = iommu_system_devices(s, &devices, err);
        if (r < 0)
                return r;
        p->devices = calloc(json_object_array_length(devices) + 1, sizeof *p->devices);
        if (!p->devices)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        for (size_t i = 0; i < json_object_array_length(devices); i++) {
                uint16_t seg;
                uint8_t bus, devfn;

                if (bdf_parse(json_get_string(json_object_array_get_idx(devices, i), "bdf"), &seg, &bus,
                              &devfn) >= 0 &&
                    iommu_system_unit_of(s, seg, bus, devfn) == u)
                        p->devices[p->n_devices++] = (uint16_t) (bus << 8 | devfn);
        }
        for (size_t i = 0; s->dmar && i < s->dmar->n_structures && p->n_rmrrs < MAX_RMRR_REGIONS; i++) {
                const dmar_structure *d = &s->dmar->structures[i];
                rmrr_region *m = &p->rmrrs[p->n_rmrrs];

                if (d->type != DMAR_TYPE_RMRR || d->segment != u->segment || d->limit < d->base)
                        continue;
                *m = (rmrr_region){ .base = d->base, .limit = d->limit };
                for (size_t k = 0; k < d->n_scopes && m->n_devices < ELEMENTSOF(m->devices); k++) {
                        uint8_t bus, devfn;

                        if (iommu_system_scope_device(s, d->segment, &d->scopes[k], &bus, &devfn) >= 0 &&
                            iommu_system_unit_of(s, d->segment, bus, devfn) == u)
                                m->devices[m->n_devices++] = (typeof(m->devices[0])){ bus, devfn };
                }
                if (m->n_devices > 0)
                        p->n_rmrrs++;
        }
        return 0;
}

static owned *owned_free(owned *o) {
        if (!o)
                return NULL;
        /* tables and buffers go only once hardware cannot walk them: the
         * unit was given back (owned_unit_free() keeps its tables else) */
        o->unit = owned_unit_free(o->unit);
        LIST_FOREACH_SAFE(buffers, b, n, o->buffers) {
                LIST_REMOVE(buffers, o->buffers, b);
                buffer_free(b);
        }
        iommu_ram_free(o->view);
        table_mem_free(o->mem);
        if (!o->regs_borrowed)
                iommu_regs_free(o->regs);
        free(o->mem_path);
        free(o->directory);
        free(o);
        return NULL;
}

/* A new owned for unit u, room made for it in c->units, and the plan of
 * its devices and RMRR regions (plan->devices the caller's to free). */
static int owned_new(control *c, iommu_unit *u, take_plan *plan, owned **ret, iommu_error *err) {
        owned *o;
        int r;

        if (!GREEDY_REALLOC(c->units, c->units_alloc, c->n_units + 1))
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = plan_take(c->source->system, u, plan, err);
        if (r < 0)
                return r;
        o = calloc(1, sizeof *o);
        if (!o)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        snprintf(o->name, sizeof o->name, "%s", u->name);
        o->base = u->base;
        o->segment = u->segment;
        *ret = o;
        return 0;
}

/* o is owned from now on: shown as iommud's, its tables read through
 * its view of table memory. */
static void owned_add(control *c, owned *o, iommu_unit *u) {
        c->units[c->n_units++] = o;
        table_mem_watch_stores(o->mem, c->undo ? undo_log_note : NULL, c->undo);
        iommu_system_set_iommud_owned(c->source->system, u, true);
        if (update_views(c) < 0)
                log_warning("Out of memory: %s's tables are read from RAM, not from the table memory",
                            u->name);
}

/* A change of unit starts: what it stores is recorded first, so that the
 * next iommud can undo it if this one is killed before the state that has
 * it is saved (control/undo.h). */
static void change_begin(control *c, const char *unit, undo_kind kind, const char *memory) {
        undo_log_begin(c->undo, c->serial, kind, unit, memory);
}

/* An unmapped buffer's file goes once the saved state no longer names it:
 * until then an earlier state, which a restart may take back, still maps
 * it. */
static void doom(control *c, buffer *b) {
        LIST_PREPEND(buffers, c->doomed, b);
}

static void free_doomed(control *c) {
        LIST_FOREACH_SAFE(buffers, b, n, c->doomed) {
                LIST_REMOVE(buffers, c->doomed, b);
                buffer_free(b);
        }
}

static owned_unit_config config_of(const iommu_system *s, const take_plan *plan, unit_mode mode,
                                   domain_type policy) {
        return (owned_unit_config){
                .mode = mode,
                .default_policy = policy,
                .ram = s->ram_ranges,
                .n_ram = s->n_ram_ranges,
                .rmrrs = plan->rmrrs,
                .n_rmrrs = plan->n_rmrrs,
                .devices = plan->devices,
                .n_devices = plan->n_devices,
        };
}

static int take(control *c, iommu_unit *u, iommu_error *err) {
        iommu_system *s = c->source->system;
        _cleanup_free_ uint16_t *devices = NULL;
        owned *o;
        take_plan plan = {};
        owned_unit_config config;
        int r;

        if (u->owner == UNIT_OWNER_KERNEL)
                return kernel_owns(u, err);
        if (!u->have_regs)
                return iommu_error_set(err, EIO, "%s's registers cannot be read: %s", u->name,
                                       u->regs_error.message);
        r = owned_new(c, u, &plan, &o, err);
        devices = plan.devices;
        if (r < 0)
                return r;
        r = writable_regs(c, u, &o->regs, &o->regs_borrowed, err);
        if (r >= 0)
                r = open_table_memory(c, o, err);
        if (r >= 0)
                r = table_mem_ram(o->mem, &o->view) < 0 ? iommu_error_set(err, ENOMEM, "Out of memory") : 0;
        if (r < 0)
                goto fail;
        config = config_of(s, &plan, mode_of(c, u->ecap), policy_of(c, u->ecap));
        change_begin(c, u->name, UNDO_TAKE, o->mem_path);
        r = owned_unit_new(u->name, o->regs, o->mem, &config, &o->unit, err);
        if (r < 0)
                goto fail;
        r = owned_unit_power(o->unit, true, err);
        if (r < 0) {
                (void) owned_unit_release(o->unit, NULL);
                goto fail;
        }
        owned_add(c, o, u);
        log_info("%s: taken over, %s mode, default policy %s, %s invalidation, table memory %s%s%s", u->name,
                 unit_mode_to_string(config.mode), domain_type_to_string(config.default_policy),
                 invalidator_backends[owned_unit_invalidator(o->unit)]->name,
                 table_mem_kind_to_string(table_mem_get_kind(o->mem)), o->mem_path ? " " : "",
                 o->mem_path ?: "");
        return 0;

fail:
        /* nothing walks what was made: the take failed before translation */
        if (o->mem)
                table_mem_remove(o->mem);
        owned_free(o);
        return r;
}

static unit_counts *counts_of(control *c, const char *name) {
        for (size_t i = 0; i < c->n_counts; i++)
                if (streq(c->counts[i].name, name))
                        return &c->counts[i];
        if (!GREEDY_REALLOC(c->counts, c->counts_alloc, c->n_counts + 1))
                return NULL;
        c->counts[c->n_counts] = (unit_counts){};
        snprintf(c->counts[c->n_counts].name, sizeof c->counts[0].name, "%s", name);
        return &c->counts[c->n_counts++];
}

/* Translation off, the queue stopped; then its tables and buffers go. */
static int give_back(control *c, owned *o, iommu_error *err) {
        const inv_counts *ic = owned_unit_invalidations(o->unit);
        unit_counts *k = counts_of(c, o->name);
        iommu_unit *u;
        size_t i;
        int r;

        change_begin(c, o->name, UNDO_GIVE_BACK, o->mem_path);
        r = owned_unit_release(o->unit, err);
        if (r < 0)
                return r;
        if (k) {
                for (int kind = 0; kind < _INV_KIND_MAX; kind++)
                        for (unsigned g = 0; g < INV_GRANULARITY_MAX; g++)
                                k->issued.issued[kind][g] += ic->issued[kind][g];
                k->issued.write_buffer_flushes += ic->write_buffer_flushes;
                k->issued.errors += ic->errors;
                k->faults_cleared += owned_unit_faults_cleared(o->unit);
        }
        for (i = 0; i < c->n_units && c->units[i] != o; i++)
                ;
        memmove(c->units + i, c->units + i + 1, (c->n_units - i - 1) * sizeof *c->units);
        c->n_units--;
        if (c->source) {
                u = iommu_system_unit_by_name(c->source->system, o->name);
                if (u)
                        iommu_system_set_iommud_owned(c->source->system, u, false);
                (void) update_views(c);
        }
        table_mem_remove(o->mem);
        owned_free(o);
        return 0;
}

/* StopPolicy= for o: keep and passthrough leave hardware walking its
 * tables, so only where they outlive iommud (hugetlbfs, a simulated
 * machine in a file); else off. */
static int stop_policy_of(const control *c, const owned *o) {
        table_mem_kind kind = table_mem_get_kind(o->mem);

        if (kind != TABLE_MEM_HUGETLBFS &&
            !(kind == TABLE_MEM_IMAGE && source_simulation_persists(c->source)))
                return CONF_STOP_OFF;
        return c->stop_policy == CONF_STOP_AUTO ? CONF_STOP_KEEP : c->stop_policy;
}

/* StopPolicy=passthrough: every device behind o in one domain that passes
 * its DMA through (identity where the unit has no ECAP.PT), translation on. */
static int stop_passthrough(control *c, owned *o, iommu_error *err) {
        iommu_unit *u = c->source ? iommu_system_unit_by_name(c->source->system, o->name) : NULL;
        _cleanup_free_ uint16_t *devices = NULL;
        take_plan plan = {};
        domain_type type;
        uint16_t did;
        int r;

        if (!u)
                return iommu_error_set(err, ENODEV, "%s is gone from the source", o->name);
        type = FIELD_GET(ECAP, PT, &u->ecap) ? DOMAIN_PASSTHROUGH : DOMAIN_IDENTITY;
        r = plan_take(c->source->system, u, &plan, err);
        change_begin(c, o->name, UNDO_TABLES, o->mem_path);
        devices = plan.devices;
        if (r < 0)
                return r;
        r = owned_unit_domain_create(o->unit, type, -1, &did, err);
        for (size_t i = 0; r >= 0 && i < plan.n_devices; i++) {
                r = owned_unit_attach(o->unit, (uint8_t) (devices[i] >> 8), (uint8_t) devices[i], did, err);
                if (r == -EALREADY)
                        r = 0;
        }
        if (r >= 0)
                r = owned_unit_power(o->unit, true, err);
        if (r >= 0)
                log_info("%s: every device passes through (StopPolicy=passthrough, domain %u, %s)", o->name,
                         did, domain_type_to_string(type));
        return r;
}

/* Stop owning o and leave the hardware as it is: its tables, buffers and
 * table memory file stay for the next iommud, and so does its state. */
static void leave(control *c, owned *o) {
        size_t i;

        for (i = 0; i < c->n_units && c->units[i] != o; i++)
                ;
        memmove(c->units + i, c->units + i + 1, (c->n_units - i - 1) * sizeof *c->units);
        c->n_units--;
        if (c->source)
                (void) update_views(c); /* before its view goes */
        /* translating: owned_unit_free() keeps the tables */
        o->unit = owned_unit_free(o->unit);
        LIST_FOREACH(buffers, b, o->buffers) {
                free(b->path);
                b->path = NULL;
        }
        owned_free(o);
}

/* Give o back; a unit that cannot be given back keeps its table memory. */
static void stop_off(control *c, owned *o) {
        char name[SNAPSHOT_UNIT_NAME_MAX];
        iommu_error err = {};

        snprintf(name, sizeof name, "%s", o->name);
        if (give_back(c, o, &err) < 0) {
                log_error("Failed to give %s back: %s; its table memory stays%s%s", o->name, err.message,
                          o->mem_path ? " in " : "", o->mem_path ?: "");
                leave(c, o);
        } else
                log_info("%s: given back (translation off)", name);
        (void) persist_logged(c);
}

/* StopPolicy= on every unit: first those that are given back, so that the
 * state saved then still has the units left translating. */
static void control_stop(control *c) {
        for (size_t i = c->n_units; i > 0; i--) {
                owned *o = c->units[i - 1];
                iommu_error err = {};
                int policy = stop_policy_of(c, o);

                if (policy == CONF_STOP_PASSTHROUGH && stop_passthrough(c, o, &err) < 0) {
                        log_error("%s: StopPolicy=passthrough failed: %s; translation goes off instead",
                                  o->name, err.message);
                        policy = CONF_STOP_OFF;
                } else if (policy == CONF_STOP_PASSTHROUGH)
                        (void) persist_logged(c); /* one change in flight at a time */
                if (policy == CONF_STOP_OFF)
                        stop_off(c, o);
        }
        if (c->n_units > 0)
                (void) persist_logged(c);
        while (c->n_units > 0) {
                owned *o = c->units[c->n_units - 1];

                log_info("%s: left translating (StopPolicy=%s): its tables stay in %s, its state in %s; "
                         "the next iommud takes it back",
                         o->name, c->stop_policy == CONF_STOP_PASSTHROUGH ? "passthrough" : "keep",
                         o->mem_path ?: "the simulated machine's file",
                         c->state_path ?: "no state file (StateDirectory= unset)");
                leave(c, o);
        }
}

control *control_free(control *c) {
        if (!c)
                return NULL;
        control_stop(c);
        if (c->source && c->source->decorate == decorate)
                c->source->decorate = NULL;
        (void) update_views(c);
        free_doomed(c);
        undo_log_free(c->undo);
        free(c->undo_path);
        free(c->units);
        for (size_t i = 0; i < c->n_degraded; i++)
                json_object_put(c->degraded[i].saved);
        free(c->degraded);
        free(c->counts);
        buffer_region_done(&c->region);
        free(c->table_memory);
        free(c->buffer_directory);
        free(c->state_path);
        free(c);
        return NULL;
}

/* ---- the source ---- */

int control_check_source(const control *c, const source *src, iommu_error *err) {
        char what[PATH_MAX + 32];

        for (size_t i = 0; i < c->n_units; i++) {
                const owned *o = c->units[i];
                iommu_unit *u = iommu_system_unit_by_name(src->system, o->name);

                if (!source_is_live(src) || !u || u->base != o->base)
                        return iommu_error_set(err, EBUSY,
                                               "iommud owns %s, which %s does not have: power it off first",
                                               o->name, source_describe(src, what, sizeof what));
        }
        for (size_t i = 0; i < c->n_degraded; i++)
                if (!source_is_live(src) || !iommu_system_unit_by_name(src->system, c->degraded[i].name))
                        return iommu_error_set(err, EBUSY,
                                               "%s is degraded, and %s does not have it: power it off first",
                                               c->degraded[i].name, source_describe(src, what, sizeof what));
        return 0;
}

int control_attach_source(control *c, source *src, iommu_error *err) {
        int r;

        r = control_check_source(c, src, err);
        if (r < 0)
                return r;
        if (c->source && c->source != src && c->source->decorate == decorate)
                c->source->decorate = NULL;
        c->source = src;
        for (size_t i = 0; i < c->n_units; i++)
                iommu_system_set_iommud_owned(
                        src->system, iommu_system_unit_by_name(src->system, c->units[i]->name), true);
        for (size_t i = 0; i < c->n_degraded; i++)
                iommu_system_set_iommud_owned(
                        src->system, iommu_system_unit_by_name(src->system, c->degraded[i].name), true);
        r = update_views(c);
        if (r < 0)
                return iommu_error_set(err, -r, "Out of memory");
        src->decorate = decorate;
        src->decorate_userdata = c;
        if (src->system->image && !c->region.used) {
                r = buffer_region_init(&c->region, src->system->image, SIMULATED_BUFFER_BASE,
                                       SIMULATED_RAM_END);
                if (r < 0)
                        return iommu_error_set(err, -r, "Out of memory");
        }
        return 0;
}

/* Domain=, Map=, Attach= of a unit just taken by Manage=, in that order;
 * each failure a line in the log, the rest applied still. */
static void apply_configured(control *c, const daemon_conf *conf, const char *unit) {
        const conf_domain *domains = conf->domains.items;
        const conf_map *maps = conf->maps.items;
        const conf_attach *attaches = conf->attaches.items;
        iommu_system *s = c->source->system;
        bool changed = false;

        for (size_t i = 0; i < conf->domains.n; i++) {
                _cleanup_json_ json_object *j = NULL;
                iommu_error err = {};

                if (!streq(domains[i].unit, unit))
                        continue;
                if (control_domain_create(c, unit, (domain_type) domains[i].type, domains[i].did, &j, &err) <
                    0)
                        log_error("Domain=%s %u %s: %s", unit, domains[i].did,
                                  domain_type_to_string((domain_type) domains[i].type), err.message);
                else
                        changed = true;
        }
        for (size_t i = 0; i < conf->maps.n; i++) {
                const conf_map *m = &maps[i];
                control_map_request req = { .unit = unit,
                                            .did = m->did,
                                            .iova = m->iova,
                                            .length = m->length,
                                            .alloc = m->alloc,
                                            .phys = m->phys,
                                            .perms = m->perms };
                _cleanup_json_ json_object *j = NULL;
                iommu_error err = {};

                if (!streq(m->unit, unit))
                        continue;
                if (control_map(c, &req, &j, &err) < 0)
                        log_error("Map=%s %u 0x%" PRIx64 ": %s", unit, m->did, m->iova, err.message);
                else
                        changed = true;
        }
        for (size_t i = 0; i < conf->attaches.n; i++) {
                const conf_attach *a = &attaches[i];
                const iommu_unit *u = iommu_system_unit_of(s, a->segment, a->bus, a->devfn);
                char bdf[BDF_STRING_MAX];
                iommu_error err = {};

                if (!u || !streq(u->name, unit))
                        continue;
                if (control_attach(c, a->segment, a->bus, a->devfn, a->did, &err) < 0)
                        log_error("Attach=%s %u: %s", bdf_format(bdf, a->segment, a->bus, a->devfn), a->did,
                                  err.message);
                else
                        changed = true;
        }
        if (changed) {
                source_changed(c->source, 0); /* dated 0: refreshed at the next answer */
                (void) persist_logged(c);
        }
}

void control_manage(control *c, const daemon_conf *conf) {
        iommu_system *s = c->source->system;

        if (!conf->manage)
                return;
        (void) iommu_system_refresh(s);
        for (size_t i = 0; i < s->n_units; i++) {
                iommu_unit *u = &s->units[i];
                iommu_error err = {};

                if (!conf_manages(conf, u->name) || owned_of(c, u->name))
                        continue;
                if (degraded_of(c, u->name)) {
                        log_warning("%s is degraded: Manage= takes it once it is given back", u->name);
                        continue;
                }
                if (take_saved(c, u, &err) < 0)
                        log_error("Failed to take %s (Manage=): %s", u->name, err.message);
                else
                        apply_configured(c, conf, u->name);
        }
        /* names that are no unit here */
        for (const char *p = conf->manage; !streq(conf->manage, "all") && *p;) {
                char name[SNAPSHOT_UNIT_NAME_MAX];
                size_t n;

                p += strspn(p, " \t");
                n = strcspn(p, " \t");
                if (n > 0) {
                        snprintf(name, sizeof name, "%.*s", (int) n, p);
                        if (!iommu_system_unit_by_name(s, name))
                                log_warning("Manage= names %s, which is no unit here", name);
                }
                p += n;
        }
}

/* ---- the state file (control/state.h) ---- */

typedef struct ranges_json {
        json_object *list;
} ranges_json;

static int add_range(void *userdata, uint64_t iova, uint64_t phys, uint64_t length, unsigned perms) {
        json_object *m = json_object_new_object();

        if (!m || json_object_array_add(((ranges_json *) userdata)->list, m) < 0) {
                json_object_put(m);
                return -ENOMEM;
        }
        json_object_object_add(m, "iova", json_object_new_uint64(iova));
        json_object_object_add(m, "phys", json_object_new_uint64(phys));
        json_object_object_add(m, "length", json_object_new_uint64(length));
        json_object_object_add(m, "read", json_object_new_boolean(perms & PT_READ));
        json_object_object_add(m, "write", json_object_new_boolean(perms & PT_WRITE));
        return 0;
}

/* One unit as the state file has it: what owned_unit_to_json() says, each
 * domain with what its tables map, and the buffers. */
static json_object *unit_state(const owned *o) {
        _cleanup_json_ json_object *info = owned_unit_to_json(o->unit, o->segment);
        _cleanup_json_ json_object *u = json_object_new_object();
        json_object *domains = json_object_new_array(), *devices = json_object_new_array(),
                    *buffers = json_object_new_array(), *tm = json_object_new_object(), *list;

        if (!info || !u || !domains || !devices || !buffers || !tm) {
                json_object_put(domains);
                json_object_put(devices);
                json_object_put(buffers);
                json_object_put(tm);
                return NULL;
        }
        json_object_object_add(u, "name", json_object_new_string(o->name));
        json_object_object_add(u, "address", json_object_new_uint64(o->base));
        json_object_object_add(u, "segment", json_object_new_int(o->segment));
        json_object_object_add(u, "mode", json_object_get(json_get(info, "mode")));
        json_object_object_add(u, "default_policy", json_object_get(json_get(info, "default_policy")));
        json_object_object_add(u, "invalidation", json_object_get(json_get(info, "invalidation")));
        json_object_object_add(tm, "kind",
                               json_object_new_string(table_mem_kind_to_string(table_mem_get_kind(o->mem))));
        json_object_object_add(tm, "path", o->mem_path ? json_object_new_string(o->mem_path) : NULL);
        json_object_object_add(u, "table_memory", tm);
        json_object_object_add(u, "root_table",
                               json_object_new_uint64(owned_unit_rtaddr(o->unit) & ~UINT64_C(0xfff)));
        list = json_get_array(info, "domains");
        for (size_t i = 0; i < json_array_length(list); i++) {
                json_object *d = json_array_get(list, i), *devs = json_get_array(d, "devices");
                uint16_t did = (uint16_t) json_get_u64(d, "domain");
                ranges_json r = { .list = json_object_new_array() };
                json_object *j = json_object_new_object();

                if (!j || !r.list || owned_unit_domain_ranges(o->unit, did, add_range, &r) < 0) {
                        json_object_put(j);
                        json_object_put(r.list);
                        goto oom;
                }
                json_object_array_add(domains, j);
                json_object_object_add(j, "domain", json_object_new_int(did));
                json_object_object_add(j, "type", json_object_get(json_get(d, "type")));
                json_object_object_add(j, "address_width", json_object_get(json_get(d, "address_width")));
                json_object_object_add(j, "default", json_object_new_boolean(json_get_bool(d, "default")));
                json_object_object_add(j, "page_table", json_object_get(json_get(d, "page_table")));
                json_object_object_add(j, "mappings", r.list);
                for (size_t k = 0; k < json_array_length(devs); k++) {
                        json_object *dev = json_object_new_object();

                        if (!dev)
                                goto oom;
                        json_object_array_add(devices, dev);
                        json_object_object_add(dev, "bdf", json_object_get(json_array_get(devs, k)));
                        json_object_object_add(dev, "domain", json_object_new_int(did));
                }
        }
        LIST_FOREACH(buffers, b, o->buffers) {
                json_object *j = json_object_new_object();

                if (!j)
                        goto oom;
                json_object_array_add(buffers, j);
                json_object_object_add(j, "path", json_object_new_string(b->path));
                json_object_object_add(j, "domain", json_object_new_int(b->did));
                json_object_object_add(j, "iova", json_object_new_uint64(b->iova));
                json_object_object_add(j, "length", json_object_new_uint64(b->length));
                json_object_object_add(j, "phys", json_object_new_uint64(b->phys[0]));
        }
        json_object_object_add(u, "domains", domains);
        json_object_object_add(u, "devices", devices);
        json_object_object_add(u, "buffers", buffers);
        return TAKE_PTR(u);
oom:
        json_object_put(domains);
        json_object_put(devices);
        json_object_put(buffers);
        return NULL;
}

/* Under --simulate, what an earlier iommud left: its machine ended with
 * it, so nothing is taken back (control_readopt() is for live machines);
 * the file is kept aside for the administrator and said. */
static void check_earlier_state(control *c) {
        _cleanup_json_ json_object *old = NULL;
        _cleanup_free_ char *aside = NULL;
        iommu_error err = {};
        json_object *units;
        int r;

        c->state_checked = true;
        r = control_state_load(c->state_path, &old, &err);
        if (r == -ENOENT)
                return;
        if (r < 0) {
                log_warning("%s", err.message);
        } else {
                units = json_get_array(old, "units");
                if (json_array_length(units) == 0)
                        return;
                for (size_t i = 0; i < json_array_length(units); i++)
                        log_warning(
                                "%s: an earlier iommud owned it (%s); the simulated machine started anew "
                                "with this one, so there is nothing to take back",
                                json_get_string(json_array_get(units, i), "name"), c->state_path);
        }
        if (asprintf(&aside, "%s.earlier", c->state_path) >= 0 && rename(c->state_path, aside) >= 0)
                log_warning("The earlier control state is kept in %s", aside);
}

/* StateDirectory= as systemd makes it, when iommud runs without. */
static int make_state_directory(control *c, iommu_error *err) {
        _cleanup_free_ char *dir = strdup(c->state_path);

        if (!dir)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        if (mkdir(dirname(dir), 0700) < 0 && errno != EEXIST)
                return iommu_error_set(err, errno, "Cannot save the control state: creating %s: %s", dir,
                                       strerror(errno));
        return 0;
}

int control_persist(control *c, iommu_error *err) {
        _cleanup_json_ json_object *state = NULL;
        json_object *units;
        iommu_error e = {};
        int r;

        if (!c->state_path)
                return 0;
        r = make_state_directory(c, err);
        if (r < 0)
                return r;
        if (!c->state_checked)
                check_earlier_state(c);
        state = json_object_new_object();
        units = json_object_new_array();
        if (!state || !units) {
                json_object_put(units);
                return iommu_error_set(err, ENOMEM, "Out of memory");
        }
        json_object_object_add(state, "serial", json_object_new_uint64(c->serial + 1));
        json_object_object_add(state, "units", units);
        for (size_t i = 0; i < c->n_units; i++) {
                json_object *u = unit_state(c->units[i]);

                if (!u || json_object_array_add(units, u) < 0) {
                        json_object_put(u);
                        return iommu_error_set(err, ENOMEM, "Out of memory");
                }
        }
        /* as the earlier iommud left them, for the administrator */
        for (size_t i = 0; i < c->n_degraded; i++)
                if (c->degraded[i].saved &&
                    json_object_array_add(units, json_object_get(c->degraded[i].saved)) < 0)
                        return iommu_error_set(err, ENOMEM, "Out of memory");
        r = control_state_save(c->state_path, state, &e);
        if (r < 0)
                return iommu_error_set(err, -r, "Cannot save the control state: %s", e.message);
        /* the state has every change made so far */
        c->serial++;
        undo_log_end(c->undo);
        free_doomed(c);
        return 0;
}

/* A take whose state cannot be saved is undone: iommud never owns a unit
 * that a restart could not know about. */
static int take_saved(control *c, iommu_unit *u, iommu_error *err) {
        iommu_error e = {};
        int r;

        r = take(c, u, err);
        if (r < 0)
                return r;
        r = control_persist(c, &e);
        if (r >= 0)
                return 0;
        if (give_back(c, owned_of(c, u->name), NULL) < 0)
                log_error("%s: its state cannot be saved and it could not be given back", u->name);
        return iommu_error_set(err, -r, "%s not taken: %s", u->name, e.message);
}

static int persist_logged(control *c) {
        iommu_error err = {};
        int r = control_persist(c, &err);

        if (r < 0)
                log_error("%s", err.message);
        return r;
}

/* ---- taking back what an earlier iommud left (iommud(8), "Control state") ---- */

/* Nothing is written to u until an administrator gives it back. */
static void degrade(control *c, iommu_unit *u, json_object *saved, const char *reason) {
        degraded_unit *d;

        log_error("%s: not taken back: %s; the unit stays as it is and nothing is written to it until an "
                  "administrator acts: iommuctl power off --unit %s gives it back (translation off)",
                  u->name, reason, u->name);
        if (!GREEDY_REALLOC(c->degraded, c->degraded_alloc, c->n_degraded + 1))
                return;
        d = &c->degraded[c->n_degraded++];
        *d = (degraded_unit){ .saved = json_object_get(saved) };
        snprintf(d->name, sizeof d->name, "%s", u->name);
        snprintf(d->reason, sizeof d->reason, "%s", reason);
        iommu_system_set_iommud_owned(c->source->system, u, true);
}

/* The files an earlier iommud left for a unit (saved: its object in the
 * state file): only once hardware cannot walk them. */
static void remove_left_files(json_object *saved) {
        const char *path = json_get_string(json_get(saved, "table_memory"), "path");
        json_object *buffers = json_get_array(saved, "buffers");

        if (*path && unlink(path) >= 0)
                log_info("Removed %s, the table memory an earlier iommud left", path);
        for (size_t i = 0; i < json_array_length(buffers); i++) {
                path = json_get_string(json_array_get(buffers, i), "path");
                if (*path && unlink(path) >= 0)
                        log_info("Removed %s, a buffer an earlier iommud left", path);
        }
}

/* Translation off, then the queue once hardware is done with every
 * descriptor, from GSTS as it is: what an earlier iommud left is given
 * back without taking it over. */
static int turn_off(control *c, iommu_unit *u, iommu_error *err) {
        iommu_regs *regs = NULL;
        unit_hw hw = {};
        bool borrowed = false;
        uint32_t gsts;
        uint64_t iqt;
        int r;

        r = writable_regs(c, u, &regs, &borrowed, err);
        if (r >= 0)
                r = unit_hw_init(&hw, u->name, regs, err);
        if (r >= 0)
                r = unit_hw_gsts(&hw, &gsts, err);
        if (r >= 0 && (gsts & FIELD_MASK64(GSTS, TES)))
                r = unit_hw_enable(&hw, (uint32_t) FIELD_MASK64(GCMD, TE), false, err);
        if (r >= 0 && (gsts & FIELD_MASK64(GSTS, QIES))) {
                r = unit_hw_read(&hw, &layout_iqt, &iqt, err);
                if (r >= 0)
                        r = unit_hw_poll(&hw, &layout_iqh, FIELD_MASK64(IQH, QH),
                                         iqt & FIELD_MASK64(IQT, QT), err);
                if (r >= 0)
                        r = unit_hw_enable(&hw, (uint32_t) FIELD_MASK64(GCMD, QIE), false, err);
        }
        if (!borrowed)
                iommu_regs_free(regs);
        (void) iommu_system_refresh(c->source->system);
        return r;
}

/* v1.power off of a degraded unit: turned off; then what the earlier
 * iommud left goes. */
static int give_back_degraded(control *c, iommu_unit *u, iommu_error *err) {
        degraded_unit *d = degraded_of(c, u->name);
        int r;

        r = turn_off(c, u, err);
        if (r < 0)
                return r;
        remove_left_files(d->saved);
        json_object_put(d->saved);
        memmove(d, d + 1, (size_t) (c->degraded + c->n_degraded - d - 1) * sizeof *d);
        c->n_degraded--;
        iommu_system_set_iommud_owned(c->source->system, u, false);
        return 0;
}

static uint64_t overlap(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end) {
        uint64_t lo = a > b ? a : b, hi = a_end < b_end ? a_end : b_end;
        return hi > lo ? hi - lo : 0;
}

typedef struct still_mapped {
        uint64_t iova, end, bytes;
} still_mapped;

static int count_mapped(void *userdata, uint64_t iova, uint64_t phys, uint64_t length, unsigned perms) {
        still_mapped *m = userdata;

        m->bytes += overlap(iova, iova + length, m->iova, m->end);
        return 0;
}

/* The buffers an earlier iommud left for o (saved: its object), opened
 * again; what of each the tables still map. */
static int reopen_buffers(control *c, owned *o, json_object *saved, iommu_error *err) {
        json_object *buffers = json_get_array(saved, "buffers");

        /* last first: each goes to the front, so the list is in the saved order */
        for (size_t i = json_array_length(buffers); i > 0; i--) {
                json_object *j = json_array_get(buffers, i - 1);
                uint64_t iova = json_get_u64(j, "iova"), length = json_get_u64(j, "length");
                still_mapped m = { .iova = iova, .end = iova + length };
                buffer *b;
                int r;

                r = buffer_reopen(c->source->system->image ? &c->region : NULL, json_get_string(j, "path"),
                                  (uint16_t) json_get_u64(j, "domain"), iova, length,
                                  json_get_u64(j, "phys"), &b, err);
                if (r < 0)
                        return r;
                LIST_PREPEND(buffers, o->buffers, b);
                (void) owned_unit_domain_ranges(o->unit, b->did, count_mapped, &m);
                b->mapped = m.bytes;
        }
        return 0;
}

/* The table memory saved names, opened again without a write (o->mem,
 * ->mem_path, ->directory). */
static int reopen_table_memory(control *c, owned *o, json_object *saved, iommu_error *err) {
        json_object *tm = json_get(saved, "table_memory");
        const char *kind = json_get_string(tm, "kind"), *path = json_get_string(tm, "path");
        char *slash;

        if (streq(kind, "image") && source_simulation_persists(c->source))
                return simulated_table_memory(c, o, true, err);
        if (!streq(kind, "hugetlbfs") || !*path)
                return iommu_error_set(err, EPROTO,
                                       "its tables were in %s memory, which went with the iommud that made "
                                       "them: the unit may be walking freed memory",
                                       kind);
        o->mem_path = strdup(path);
        o->directory = strdup(path);
        if (!o->mem_path || !o->directory)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        slash = strrchr(o->directory, '/');
        if (slash)
                *slash = '\0';
        return table_mem_reopen_hugetlbfs(path, &o->mem, err);
}

/* The change an earlier iommud had in flight on u (rec), its stores
 * written back, so that the tables are the saved state's again: only onto
 * the root table the state names. */
static int undo_in_flight(owned *o, iommu_unit *u, json_object *saved, const undo_record *rec,
                          uint64_t **ret_found, iommu_error *err) {
        if (rec->incomplete)
                return iommu_error_set(
                        err, EPROTO,
                        "the change the earlier iommud had in flight was not recorded whole, so "
                        "it cannot be undone");
        if ((u->rtaddr & ~UINT64_C(0xfff)) != json_get_u64(saved, "root_table"))
                return 0; /* refused by the take-back, which says why */
        return undo_apply(o->mem, rec, ret_found, err);
}

/* Buffer files of o's unit in its directory that the state does not name:
 * made by a change the state does not have. */
static void remove_stray_buffers(const owned *o) {
        char prefix[SNAPSHOT_UNIT_NAME_MAX + 16];
        struct dirent *de;
        DIR *d;

        if (!o->directory || !(d = opendir(o->directory)))
                return;
        snprintf(prefix, sizeof prefix, "buffer-%s-", o->name);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                bool named = false;

                if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
                    asprintf(&path, "%s/%s", o->directory, de->d_name) < 0)
                        continue;
                LIST_FOREACH(buffers, b, o->buffers)
                named = named || streq(b->path, path);
                if (!named && unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        log_info("Removed %s, a buffer of a change the earlier iommud did not finish", path);
        }
        closedir(d);
}

/* Take u back as saved says, writing nothing but the undone stores of the
 * change rec the earlier iommud had in flight on it (NULL: none). */
static int readopt_unit(control *c, iommu_unit *u, json_object *saved, const undo_record *rec,
                        iommu_error *err) {
        iommu_system *s = c->source->system;
        _cleanup_free_ uint16_t *devices = NULL;
        _cleanup_free_ uint64_t *found = NULL;
        take_plan plan = {};
        owned_unit_config config;
        owned *o;
        int r;

        r = owned_new(c, u, &plan, &o, err);
        devices = plan.devices;
        if (r < 0)
                return r;
        r = writable_regs(c, u, &o->regs, &o->regs_borrowed, err);
        if (r >= 0)
                r = reopen_table_memory(c, o, saved, err);
        if (r >= 0 && rec)
                r = undo_in_flight(o, u, saved, rec, &found, err);
        if (r >= 0)
                r = table_mem_ram(o->mem, &o->view) < 0 ? iommu_error_set(err, ENOMEM, "Out of memory") : 0;
        if (r < 0)
                goto fail;
        config = config_of(s, &plan, unit_mode_from_string(json_get_string(saved, "mode")),
                           domain_type_from_string(json_get_string(saved, "default_policy")));
        config.register_invalidation = streq(json_get_string(saved, "invalidation"), "register");
        r = owned_unit_adopt(u->name, o->regs, o->mem, &config, saved, &o->unit, err);
        if (r >= 0)
                r = reopen_buffers(c, o, saved, err);
        if (r < 0)
                goto fail;
        if (rec && rec->n_entries > 0) {
                /* what the unit cached of the undone change goes */
                iommu_error e = {};

                if (owned_unit_invalidate(o->unit, INVALIDATE_GLOBAL, 0, 0, 0, &e) < 0)
                        log_error("%s: the invalidation after undoing the change in flight failed: %s",
                                  u->name, e.message);
                log_notice("%s: the change the earlier iommud had in flight when it stopped was undone: %zu "
                           "stores written back, the tables are the saved state's",
                           u->name, rec->n_entries);
        }
        remove_stray_buffers(o);
        owned_add(c, o, u);
        log_notice("%s: taken back from the earlier iommud, nothing written: %zu domains, %zu devices "
                   "attached, %zu buffers, table memory %s",
                   u->name, json_array_length(json_get_array(saved, "domains")),
                   json_array_length(json_get_array(saved, "devices")),
                   json_array_length(json_get_array(saved, "buffers")),
                   o->mem_path ?: table_mem_kind_to_string(table_mem_get_kind(o->mem)));
        return 0;

fail:
        /* refused: the hardware wins, as it was found */
        if (found && o->mem)
                undo_restore(o->mem, rec, found);
        /* the hardware walks all of it: nothing is freed but this process's view */
        o->unit = owned_unit_free(o->unit);
        LIST_FOREACH(buffers, b, o->buffers) {
                free(b->path);
                b->path = NULL;
        }
        owned_free(o);
        return r;
}

/* The record of the change an earlier iommud had in flight, when the
 * state it saved (serial; refused: none) does not have that change. */
static bool change_in_flight(control *c, uint64_t serial, bool refused, undo_record *ret) {
        iommu_error err = {};
        int r;

        if (!c->undo_path)
                return false;
        r = undo_record_load(c->undo_path, ret, &err);
        if (r == -ENOENT)
                return false;
        if (r < 0) {
                log_warning("%s; it is not used", err.message);
                return false;
        }
        if (ret->kind != UNDO_NONE && !refused && ret->serial == serial) {
                log_info("%s: the earlier iommud stopped with a change in flight (%s, %zu stores recorded)",
                         ret->unit, undo_kind_to_string(ret->kind), ret->n_entries);
                return true;
        }
        undo_record_done(ret);
        return false;
}

/* Whether u translates through the memory an earlier iommud made for it
 * (memory: its table memory file), so that the take or give-back it left
 * half done is iommud's to finish.  A unit that does not translate, only
 * its queue on, is stopped whoever turned that on: the kernel does not own
 * it, so nobody else uses its queue. */
static bool in_left_memory(control *c, const iommu_unit *u, const char *memory) {
        _cleanup_(table_mem_freep) table_mem *m = NULL;
        iommu_error err = {};
        uint64_t addr = u->rtaddr & ~UINT64_C(0xfff);

        if (!(u->gsts & FIELD_MASK64(GSTS, TES)))
                return true;
        if (source_simulation_persists(c->source))
                return addr >= SIMULATED_TABLE_BASE && addr < SIMULATED_BUFFER_BASE;
        if (!*memory || table_mem_reopen_hugetlbfs(memory, &m, &err) < 0)
                return false;
        return table_mem_virt(m, addr);
}

/* A take or give-back of a unit the saved state does not have was in
 * flight: the unit is turned off, as before the take or after the
 * give-back. */
static void finish_off(control *c, const undo_record *rec) {
        iommu_unit *u = iommu_system_unit_by_name(c->source->system, rec->unit);
        iommu_error err = {};

        if (u && !u->sysfs.present && u->have_regs &&
            (u->gsts & (FIELD_MASK64(GSTS, TES) | FIELD_MASK64(GSTS, QIES))) &&
            in_left_memory(c, u, rec->memory)) {
                if (turn_off(c, u, &err) < 0)
                        log_error("%s: turning it off after the earlier iommud's %s failed: %s", u->name,
                                  rec->kind == UNDO_TAKE ? "take" : "give-back", err.message);
                else
                        log_notice(
                                "%s: the earlier iommud stopped in the middle of %s it: turned off, as %s",
                                u->name, rec->kind == UNDO_TAKE ? "taking" : "giving back",
                                rec->kind == UNDO_TAKE ? "before the take"
                                                       : "the give-back would have left it");
        }
        if (rec->memory[0] && unlink(rec->memory) >= 0)
                log_info("Removed %s, the table memory an earlier iommud left", rec->memory);
}

/* The record of the change in flight from now on; the units taken back
 * have theirs recorded too. */
static void open_undo(control *c) {
        iommu_error err = {};

        if (!c->undo_path || make_state_directory(c, &err) < 0 ||
            undo_log_open(c->undo_path, &c->undo, &err) < 0) {
                if (c->undo_path)
                        log_warning("%s: a change cut short by a kill will leave its unit degraded",
                                    err.message);
                return;
        }
        for (size_t i = 0; i < c->n_units; i++)
                table_mem_watch_stores(c->units[i]->mem, undo_log_note, c->undo);
}

static bool state_has(json_object *units, const char *name) {
        for (size_t i = 0; i < json_array_length(units); i++)
                if (streq(json_get_string(json_array_get(units, i), "name"), name))
                        return true;
        return false;
}

void control_readopt(control *c) {
        iommu_system *s = c->source->system;
        _cleanup_json_ json_object *state = NULL;
        _cleanup_free_ char *aside = NULL;
        _cleanup_(undo_record_done) undo_record rec = {};
        char refused[sizeof(((iommu_error){}).message)] = "";
        bool in_flight;
        json_object *units;
        iommu_error err = {};
        int r;

        if (!c->state_path || !source_is_live(c->source) ||
            (source_is_simulated(c->source) && !source_simulation_persists(c->source)))
                return; /* a simulated machine starts anew: check_earlier_state() */
        c->state_checked = true;
        r = control_state_load(c->state_path, &state, &err);
        if (r < 0 && r != -ENOENT) {
                snprintf(refused, sizeof refused, "%s", err.message);
                if (asprintf(&aside, "%s.refused", c->state_path) >= 0 && rename(c->state_path, aside) >= 0)
                        log_error("%s; it is kept as %s", err.message, aside);
                else
                        log_error("%s", err.message);
        }
        c->serial = json_get_u64(state, "serial");
        in_flight = change_in_flight(c, c->serial, refused[0], &rec);
        (void) iommu_system_refresh(s);
        units = json_get_array(state, "units");
        for (size_t i = 0; i < json_array_length(units); i++) {
                json_object *saved = json_array_get(units, i);
                const char *name = json_get_string(saved, "name");
                iommu_unit *u = iommu_system_unit_by_name(s, name);
                bool mine = in_flight && streq(rec.unit, name);

                err = (iommu_error){};
                if (!u || u->base != json_get_u64(saved, "address")) {
                        log_error("%s: the control state has it at 0x%" PRIx64
                                  ", which this machine does not have: its state is dropped",
                                  name, json_get_u64(saved, "address"));
                        continue;
                }
                if (u->sysfs.present) {
                        log_warning("%s: the kernel's intel-iommu driver owns it now: the earlier iommud's "
                                    "state of it is dropped",
                                    name);
                        continue;
                }
                if (!u->have_regs) {
                        degrade(c, u, saved, u->regs_error.message);
                        continue;
                }
                if (!(u->gsts & (FIELD_MASK64(GSTS, TES) | FIELD_MASK64(GSTS, QIES)))) {
                        log_notice("%s: an earlier iommud owned it, but it translates no more (the machine "
                                   "restarted?): its state is dropped",
                                   name);
                        remove_left_files(saved);
                        continue;
                }
                if (mine && rec.kind == UNDO_GIVE_BACK) {
                        /* finished: as the give-back would have left it */
                        if (turn_off(c, u, &err) < 0)
                                degrade(c, u, saved, err.message);
                        else {
                                log_notice("%s: the earlier iommud stopped in the middle of giving it back: "
                                           "given back now (translation off)",
                                           name);
                                remove_left_files(saved);
                        }
                        continue;
                }
                if (readopt_unit(c, u, saved, mine && rec.kind == UNDO_TABLES ? &rec : NULL, &err) < 0)
                        degrade(c, u, saved, err.message);
        }
        if (in_flight && rec.kind != UNDO_TABLES && !state_has(units, rec.unit))
                finish_off(c, &rec);
        /* translating, and nobody this iommud knows of made it so */
        for (size_t i = 0; i < s->n_units; i++) {
                iommu_unit *u = &s->units[i];
                char why[sizeof refused + 64];

                if (u->sysfs.present || !u->have_regs || !(u->gsts & FIELD_MASK64(GSTS, TES)) ||
                    owned_of(c, u->name) || degraded_of(c, u->name))
                        continue;
                if (refused[0])
                        snprintf(why, sizeof why, "it translates, and the control state was refused: %s",
                                 refused);
                else
                        snprintf(why, sizeof why,
                                 "it translates, but the control state does not have it (turned on by "
                                 "another program, or by an iommud without a state directory)");
                degrade(c, u, NULL, why);
        }
        open_undo(c);
        if (json_array_length(units) > 0 || refused[0] || in_flight)
                (void) persist_logged(c);
}

/* ---- the methods ---- */

int control_power(control *c, const char *unit, bool on, const char *caller, const char **ret_name,
                  iommu_error *err) {
        iommu_unit *u;
        owned *o;
        int r;

        r = find_unit(c, unit, &u, err);
        if (r < 0)
                return r;
        o = owned_of(c, u->name);
        if (!o && u->owner == UNIT_OWNER_KERNEL)
                return kernel_owns(u, err);
        if (degraded_of(c, u->name)) {
                if (on)
                        return degraded_refused(degraded_of(c, u->name), err);
                r = give_back_degraded(c, u, err);
                if (r < 0)
                        return r;
                log_notice("%s: given back (translation off) after it was degraded, as %s asked", u->name,
                           caller);
                *ret_name = u->name;
                return 0;
        }
        if (on && o) {
                /* owned: translation on already, unless something turned it off */
                r = owned_or_refused(c, u, &o, err);
                if (r >= 0)
                        r = checked(o, owned_unit_power(o->unit, true, err), err);
        } else if (on) {
                r = take_saved(c, u, err);
                if (r >= 0)
                        log_notice("%s: taken over and translating, as %s asked", u->name, caller);
        } else if (o) {
                r = give_back(c, o, err);
                if (r >= 0)
                        log_notice("%s: given back (translation off), as %s asked", u->name, caller);
        }
        if (r < 0)
                return r;
        *ret_name = u->name;
        return 0;
}

static json_object *result_new(const char *unit) {
        json_object *o = json_object_new_object();

        if (o)
                json_object_object_add(o, "unit", json_object_new_string(unit));
        return o;
}

static int reply(json_object *o, json_object **ret, iommu_error *err) {
        if (!o)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        *ret = o;
        return 0;
}

int control_domain_create(control *c, const char *unit, domain_type type, int did, json_object **ret,
                          iommu_error *err) {
        unsigned aw = 0;
        uint16_t id;
        owned *o;
        json_object *j;
        int r;

        r = find_owned(c, unit, &o, err);
        if (r < 0)
                return r;
        change_begin(c, o->name, UNDO_TABLES, o->mem_path);
        r = checked(o, owned_unit_domain_create(o->unit, type, did, &id, err), err);
        if (r < 0)
                return r;
        (void) owned_unit_domain_info(o->unit, id, NULL, NULL, &aw);
        (void) iommu_system_update_table_memory(c->source->system);
        j = result_new(o->name);
        if (j) {
                json_object_object_add(j, "domain", json_object_new_int(id));
                json_object_object_add(j, "type", json_object_new_string(domain_type_to_string(type)));
                json_object_object_add(j, "address_width", aw ? json_object_new_int((int) aw) : NULL);
        }
        return reply(j, ret, err);
}

/* The buffers mapped in domain did go with it. */
static void free_domain_buffers(control *c, owned *o, uint16_t did) {
        LIST_FOREACH_SAFE(buffers, b, n, o->buffers)
        if (b->did == did) {
                LIST_REMOVE(buffers, o->buffers, b);
                doom(c, b);
        }
}

int control_domain_destroy(control *c, const char *unit, uint16_t did, json_object **ret, iommu_error *err) {
        owned *o;
        json_object *j;
        int r;

        r = find_owned(c, unit, &o, err);
        if (r < 0)
                return r;
        change_begin(c, o->name, UNDO_TABLES, o->mem_path);
        r = checked(o, owned_unit_domain_destroy(o->unit, did, err), err);
        if (r < 0)
                return r;
        free_domain_buffers(c, o, did);
        j = result_new(o->name);
        if (j)
                json_object_object_add(j, "domain", json_object_new_int(did));
        return reply(j, ret, err);
}

/* The owned unit translating a device of the device list. */
static int find_device(control *c, uint16_t segment, uint8_t bus, uint8_t devfn, owned **ret,
                       iommu_error *err) {
        iommu_system *s = c->source->system;
        char bdf[BDF_STRING_MAX];
        json_object *devices;
        iommu_unit *u;
        int r;

        r = iommu_system_devices(s, &devices, err);
        if (r < 0)
                return r;
        bdf_format(bdf, segment, bus, devfn);
        if (!devices_find(devices, segment, bus, devfn))
                return iommu_error_set(err, ENODEV, "No PCI device %s here", bdf);
        u = iommu_system_unit_of(s, segment, bus, devfn);
        if (!u)
                return iommu_error_set(err, ENODEV, "No remapping unit translates %s", bdf);
        (void) iommu_system_refresh(s);
        return owned_or_refused(c, u, ret, err);
}

int control_attach(control *c, uint16_t segment, uint8_t bus, uint8_t devfn, uint16_t did,
                   iommu_error *err) {
        owned *o;
        int r;

        r = find_device(c, segment, bus, devfn, &o, err);
        if (r < 0)
                return r;
        change_begin(c, o->name, UNDO_TABLES, o->mem_path);
        r = checked(o, owned_unit_attach(o->unit, bus, devfn, did, err), err);
        (void) iommu_system_update_table_memory(c->source->system);
        return r;
}

int control_detach(control *c, uint16_t segment, uint8_t bus, uint8_t devfn, iommu_error *err) {
        owned *o;
        int r;

        r = find_device(c, segment, bus, devfn, &o, err);
        if (r < 0)
                return r;
        change_begin(c, o->name, UNDO_TABLES, o->mem_path);
        r = checked(o, owned_unit_detach(o->unit, bus, devfn, err), err);
        (void) iommu_system_update_table_memory(c->source->system);
        return r;
}

typedef struct map_runs {
        owned *o;
        uint16_t did;
        uint64_t iova;
        unsigned perms;
        uint64_t done; /* bytes mapped so far, from the start */
        iommu_error *err;
} map_runs;

static int map_run(void *userdata, uint64_t offset, uint64_t phys, uint64_t n) {
        map_runs *m = userdata;
        int r;

        r = owned_unit_map(m->o->unit, m->did, m->iova + offset, phys, n, m->perms, m->err);
        if (r < 0)
                return r;
        m->done = offset + n;
        return 0;
}

static int map_buffer(control *c, owned *o, const control_map_request *req, buffer **ret, iommu_error *err) {
        _cleanup_(buffer_freep) buffer *b = NULL;
        buffer_place place = {
                .kind = c->source->system->image                            ? BUFFER_IMAGE
                        : table_mem_get_kind(o->mem) == TABLE_MEM_HUGETLBFS ? BUFFER_HUGETLBFS
                                                                            : BUFFER_LOCKED,
                .directory = o->directory,
                .unit = o->name,
                .region = &c->region,
                .have_gid = c->have_admin_gid,
                .gid = c->admin_gid,
        };
        map_runs m = { .o = o, .did = req->did, .iova = req->iova, .perms = req->perms, .err = err };
        domain_type type;
        int r;

        /* what the map would refuse, before memory is taken for it */
        if (owned_unit_domain_info(o->unit, req->did, &type, NULL, NULL) < 0)
                return iommu_error_set(err, ENOENT, "%s has no domain %u", o->name, req->did);
        if (type != DOMAIN_PAGING)
                return iommu_error_set(err, EINVAL,
                                       "Domain %u is a %s domain: only paging domains take mappings",
                                       req->did, domain_type_to_string(type));
        if (req->iova % VTD_PAGE_SIZE || req->length % VTD_PAGE_SIZE || req->length == 0)
                return iommu_error_set(err, EINVAL,
                                       "IOVA 0x%" PRIx64 " and length 0x%" PRIx64
                                       " must be non-zero multiples of 4 KiB (the length) and 4 KiB aligned",
                                       req->iova, req->length);
        if (!o->directory)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        r = buffer_new(&place, req->did, req->iova, req->length, &b, err);
        if (r < 0)
                return r;
        r = buffer_foreach_run(b, map_run, &m);
        if (r == -EIO || r == -ETIMEDOUT) {
                /* the hardware failed after entries were written: any of the
                 * buffer may be reachable, so it stays until the unit is
                 * given back */
                b->mapped = req->length;
                LIST_PREPEND(buffers, o->buffers, TAKE_PTR(b));
                return r;
        }
        if (r < 0) {
                iommu_error ignored = {};

                /* what was mapped goes again; then nothing reaches the buffer */
                if (m.done > 0 && owned_unit_unmap(o->unit, req->did, req->iova, m.done, &ignored) < 0) {
                        log_error("%s: failed to unmap the part of a buffer mapped before a failure: %s; "
                                  "keeping it",
                                  o->name, ignored.message);
                        b->mapped = m.done;
                        LIST_PREPEND(buffers, o->buffers, TAKE_PTR(b));
                }
                return r;
        }
        b->mapped = req->length;
        *ret = TAKE_PTR(b);
        return 0;
}

/* A device that reached the tables that translate it could rewrite its own
 * reach (or another's): physical ranges of any owned unit's table memory
 * (its tables and invalidation queue) are never mapped. */
static int refuse_table_memory(const control *c, uint64_t phys, uint64_t length, iommu_error *err) {
        uint64_t last = phys + length - 1;

        if (length == 0 || last < phys)
                return 0; /* the library refuses these with its own words */
        for (size_t i = 0; i < c->n_units; i++) {
                const iommu_ram *v = c->units[i]->view;

                for (size_t k = 0; v && k < v->n_ranges; k++)
                        if (phys <= v->ranges[k].end && v->ranges[k].start <= last)
                                return iommu_error_set(
                                        err, EPERM,
                                        "0x%" PRIx64 "+0x%" PRIx64 " overlaps the table memory of %s "
                                        "(0x%" PRIx64 "-0x%" PRIx64 "): a device must never reach "
                                        "translation tables",
                                        phys, length, c->units[i]->name, v->ranges[k].start,
                                        v->ranges[k].end);
        }
        return 0;
}

int control_map(control *c, const control_map_request *req, json_object **ret, iommu_error *err) {
        buffer *b = NULL;
        owned *o;
        json_object *j;
        int r;

        r = find_owned(c, req->unit, &o, err);
        if (r < 0)
                return r;
        change_begin(c, o->name, UNDO_TABLES, o->mem_path);
        if (!req->alloc) {
                r = refuse_table_memory(c, req->phys, req->length, err);
                if (r < 0)
                        return r;
        }
        if (req->alloc)
                r = map_buffer(c, o, req, &b, err);
        else
                r = owned_unit_map(o->unit, req->did, req->iova, req->phys, req->length, req->perms, err);
        r = checked(o, r, err);
        (void) iommu_system_update_table_memory(c->source->system);
        if (r < 0)
                return r;
        if (b)
                LIST_PREPEND(buffers, o->buffers, b);
        j = result_new(o->name);
        if (j) {
                json_object_object_add(j, "domain", json_object_new_int(req->did));
                json_object_object_add(j, "iova", json_object_new_uint64(req->iova));
                json_object_object_add(j, "length", json_object_new_uint64(req->length));
                json_object_object_add(j, "phys", json_object_new_uint64(b ? b->phys[0] : req->phys));
                json_object_object_add(j, "read", json_object_new_boolean(req->perms & PT_READ));
                json_object_object_add(j, "write", json_object_new_boolean(req->perms & PT_WRITE));
                json_object_object_add(j, "buffer", b ? json_object_new_string(b->path) : NULL);
        }
        return reply(j, ret, err);
}

int control_unmap(control *c, const char *unit, uint16_t did, uint64_t iova, uint64_t length,
                  json_object **ret, iommu_error *err) {
        owned *o;
        json_object *j;
        int r;

        r = find_owned(c, unit, &o, err);
        if (r < 0)
                return r;
        change_begin(c, o->name, UNDO_TABLES, o->mem_path);
        r = checked(o, owned_unit_unmap(o->unit, did, iova, length, err), err);
        (void) iommu_system_update_table_memory(c->source->system);
        if (r < 0)
                return r;
        /* the unmap invalidated before it returned: a buffer none of which
         * is mapped now is no device's to reach */
        LIST_FOREACH_SAFE(buffers, b, n, o->buffers) {
                uint64_t lo = b->iova > iova ? b->iova : iova;
                uint64_t hi = b->iova + b->length < iova + length ? b->iova + b->length : iova + length;

                if (b->did != did || lo >= hi)
                        continue;
                b->mapped -= hi - lo < b->mapped ? hi - lo : b->mapped;
                if (b->mapped == 0) {
                        LIST_REMOVE(buffers, o->buffers, b);
                        doom(c, b);
                }
        }
        j = result_new(o->name);
        if (j) {
                json_object_object_add(j, "domain", json_object_new_int(did));
                json_object_object_add(j, "iova", json_object_new_uint64(iova));
                json_object_object_add(j, "length", json_object_new_uint64(length));
        }
        return reply(j, ret, err);
}

int control_invalidate(control *c, const char *unit, invalidate_what what, int did, int64_t iova, int order,
                       json_object **ret, iommu_error *err) {
        static const char *const names[] = {
                [INVALIDATE_GLOBAL] = "global",
                [INVALIDATE_DOMAIN] = "domain",
                [INVALIDATE_PAGE] = "page",
        };
        owned *o;
        json_object *j;
        int r;

        r = find_owned(c, unit, &o, err);
        if (r < 0)
                return r;
        r = owned_unit_invalidate(o->unit, what, did < 0 ? 0 : (uint16_t) did,
                                  iova < 0 ? 0 : (uint64_t) iova, order < 0 ? 0 : (unsigned) order, err);
        r = checked(o, r, err);
        if (r < 0)
                return r;
        j = result_new(o->name);
        if (j) {
                json_object_object_add(j, "what", json_object_new_string(names[what]));
                json_object_object_add(j, "domain", did >= 0 ? json_object_new_int(did) : NULL);
                json_object_object_add(j, "iova",
                                       iova >= 0 ? json_object_new_uint64((uint64_t) iova) : NULL);
                json_object_object_add(j, "order", order >= 0 ? json_object_new_int(order) : NULL);
        }
        return reply(j, ret, err);
}

/* ---- faults ---- */

bool control_clear_faults(control *c, json_object *faults, fault_log *log) {
        json_object *units = json_get(faults, "units");
        bool any = false;

        for (size_t i = 0; i < json_array_length(units); i++) {
                json_object *u = json_array_get(units, i), *records = json_get(u, "faults");
                owned *o = owned_of(c, json_get_string(u, "name"));
                uint64_t fsts = json_get_u64(json_get(u, "fsts"), "value");
                size_t seen = json_array_length(records);
                iommu_error err = {};
                unsigned cleared = 0;

                /* a degraded unit is written nothing, its records neither */
                if (!o || o->broken[0] || (seen == 0 && !FIELD_GET(FSTS, PFO, &fsts)))
                        continue;
                if (owned_unit_clear_faults(o->unit, &cleared, &err) < 0) {
                        log_warning("%s: failed to clear its fault records: %s", o->name, err.message);
                        continue;
                }
                if (cleared > seen)
                        log_warning(
                                "%s: %zu fault record(s) filled while the poll read them, cleared unlogged",
                                o->name, (size_t) cleared - seen);
                fault_log_forget(log, o->name);
                any = true;
        }
        return any;
}

/* ---- what the model and the metrics show ---- */

static const char *translation_of(const owned *o, domain_type type) {
        switch (type) {
        case DOMAIN_PASSTHROUGH:
                return "pass-through";
        case DOMAIN_BLOCKED:
                return "blocked";
        default:
                return owned_unit_mode(o->unit) == UNIT_MODE_SCALABLE ? "second-stage" : "multi-level";
        }
}

static json_object *control_json(const owned *o) {
        json_object *j = owned_unit_to_json(o->unit, o->segment);

        if (!j)
                return NULL;
        json_object_object_add(j, "table_memory",
                               json_object_new_string(table_mem_kind_to_string(table_mem_get_kind(o->mem))));
        json_object_object_add(j, "table_memory_file",
                               o->mem_path ? json_object_new_string(o->mem_path) : NULL);
        json_object_object_add(j, "degraded", o->broken[0] ? json_object_new_string(o->broken) : NULL);
        return j;
}

/* What is known of a degraded unit: why, and what the state file said. */
static json_object *degraded_json(const degraded_unit *d) {
        json_object *j = json_object_new_object();

        if (!j)
                return NULL;
        json_object_object_add(j, "unit", json_object_new_string(d->name));
        json_object_object_add(j, "degraded", json_object_new_string(d->reason));
        json_object_object_add(j, "saved", json_object_get(d->saved));
        return j;
}

static int unit_index(const control *c, const char *name) {
        const iommu_system *s = c->source->system;

        for (size_t i = 0; name && i < s->n_units; i++)
                if (streq(s->units[i].name, name))
                        return (int) i;
        return INT_MAX;
}

static const control *sort_control;

static int by_unit_domain(const void *a, const void *b) {
        json_object *x = *(json_object *const *) a, *y = *(json_object *const *) b;
        int ux = unit_index(sort_control, json_get_string(x, "unit"));
        int uy = unit_index(sort_control, json_get_string(y, "unit"));
        int64_t dx = json_get_i64(x, "domain"), dy = json_get_i64(y, "domain");

        if (ux != uy)
                return ux < uy ? -1 : 1;
        return (dx > dy) - (dx < dy);
}

/* Domains of owned units the walk did not find (no device in them yet, or
 * only blocked ones), as v1.domains has the others. */
static void add_domains(const control *c, json_object *list) {
        bool added = false;

        for (size_t i = 0; i < c->n_units; i++) {
                const owned *o = c->units[i];
                _cleanup_json_ json_object *j = owned_unit_to_json(o->unit, o->segment);
                json_object *domains = json_get(j, "domains");

                for (size_t k = 0; k < json_array_length(domains); k++) {
                        json_object *d = json_array_get(domains, k), *e;
                        int64_t did = json_get_i64(d, "domain");
                        domain_type type = domain_type_from_string(json_get_string(d, "type"));
                        bool found = false;

                        for (size_t n = 0; n < json_array_length(list) && !found; n++) {
                                json_object *x = json_array_get(list, n);
                                found = streq(json_get_string(x, "unit"), o->name) &&
                                        json_get_i64(x, "domain") == did;
                        }
                        if (found)
                                continue;
                        e = json_object_new_object();
                        if (!e || json_object_array_add(list, e) < 0) {
                                json_object_put(e);
                                return;
                        }
                        json_object_object_add(e, "unit", json_object_new_string(o->name));
                        json_object_object_add(e, "domain", json_object_new_int((int) did));
                        json_object_object_add(e, "devices", json_object_get(json_get(d, "devices")));
                        json_object_object_add(e, "translation",
                                               json_object_new_string(translation_of(o, type)));
                        added = true;
                }
        }
        if (added) {
                sort_control = c;
                json_object_array_sort(list, by_unit_domain);
                sort_control = NULL;
        }
}

static void decorate(void *userdata, answer_kind kind, json_object *result) {
        const control *c = userdata;

        if (kind == ANSWER_DOMAINS) {
                add_domains(c, result);
                return;
        }
        for (size_t i = 0; i < json_array_length(json_get(result, "units")); i++) {
                json_object *u = json_array_get(json_get(result, "units"), i);
                const owned *o = owned_of(c, json_get_string(u, "name"));
                const degraded_unit *d = degraded_of(c, json_get_string(u, "name"));

                if (o)
                        json_object_object_add(u, "control", control_json(o));
                else if (d)
                        json_object_object_add(u, "control", degraded_json(d));
        }
}

static json_object *invalidations_json(const inv_counts *a, const inv_counts *b) {
        json_object *list = json_object_new_array();

        for (int k = 0; list && k < _INV_KIND_MAX; k++)
                for (unsigned g = 0; g < INV_GRANULARITY_MAX; g++) {
                        const char *name = inv_granularity_to_string(k, g);
                        uint64_t n = (a ? a->issued[k][g] : 0) + (b ? b->issued[k][g] : 0);
                        json_object *e;

                        /* every valid pair, so that rates start at 0 */
                        if (!name || k == INV_KIND_OTHER)
                                continue;
                        e = json_object_new_object();
                        if (!e)
                                break;
                        json_object_object_add(e, "type", json_object_new_string(inv_kind_to_string(k)));
                        json_object_object_add(e, "granularity", json_object_new_string(name));
                        json_object_object_add(e, "count", json_object_new_uint64(n));
                        json_object_array_add(list, e);
                }
        return list;
}

static json_object *unit_metrics(const owned *o, const unit_counts *k, const char *name, bool degraded) {
        json_object *j = json_object_new_object();

        if (!j)
                return NULL;
        json_object_object_add(j, "name", json_object_new_string(name));
        json_object_object_add(j, "owned", json_object_new_boolean(o != NULL));
        json_object_object_add(j, "degraded", json_object_new_boolean(degraded));
        if (o) {
                _cleanup_json_ json_object *state = owned_unit_to_json(o->unit, o->segment);
                json_object *domains = json_get(state, "domains"), *types = json_object_new_array();
                uint64_t attached = 0;

                for (int t = 0; types && t < _DOMAIN_TYPE_MAX; t++) {
                        json_object *e = json_object_new_object();
                        uint64_t n = 0;

                        for (size_t i = 0; i < json_array_length(domains); i++)
                                n += streq(json_get_string(json_array_get(domains, i), "type"),
                                           domain_type_to_string(t));
                        if (!e)
                                break;
                        json_object_object_add(e, "type", json_object_new_string(domain_type_to_string(t)));
                        json_object_object_add(e, "count", json_object_new_uint64(n));
                        json_object_array_add(types, e);
                }
                for (size_t i = 0; i < json_array_length(domains); i++)
                        attached += json_array_length(json_get(json_array_get(domains, i), "devices"));
                json_object_object_add(j, "domains", types);
                json_object_object_add(j, "attached_devices", json_object_new_uint64(attached));
        }
        json_object_object_add(
                j, "invalidations",
                invalidations_json(k ? &k->issued : NULL, o ? owned_unit_invalidations(o->unit) : NULL));
        json_object_object_add(j, "fault_records_cleared",
                               json_object_new_uint64((k ? k->faults_cleared : 0) +
                                                      (o ? owned_unit_faults_cleared(o->unit) : 0)));
        return j;
}

json_object *control_metrics(const control *c) {
        json_object *j = json_object_new_object(), *units = json_object_new_array();

        if (!j || !units) {
                json_object_put(j);
                json_object_put(units);
                return NULL;
        }
        json_object_object_add(j, "owned_units", json_object_new_uint64(c->n_units));
        json_object_object_add(j, "units", units);
        /* units owned now, then those given back, each once */
        for (size_t i = 0; i < c->n_units; i++) {
                const unit_counts *k = NULL;

                for (size_t n = 0; n < c->n_counts && !k; n++)
                        if (streq(c->counts[n].name, c->units[i]->name))
                                k = &c->counts[n];
                json_object_array_add(
                        units, unit_metrics(c->units[i], k, c->units[i]->name, c->units[i]->broken[0]));
        }
        for (size_t n = 0; n < c->n_counts; n++)
                if (!owned_of(c, c->counts[n].name))
                        json_object_array_add(units, unit_metrics(NULL, &c->counts[n], c->counts[n].name,
                                                                  degraded_of(c, c->counts[n].name)));
        for (size_t i = 0; i < c->n_degraded; i++) {
                bool counted = false;

                for (size_t n = 0; n < c->n_counts && !counted; n++)
                        counted = streq(c->counts[n].name, c->degraded[i].name);
                if (!counted)
                        json_object_array_add(units, unit_metrics(NULL, NULL, c->degraded[i].name, true));
        }
        return j;
}
