/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The units iommud owns (iommud(8), "Ownership"; control/unit.h does the
 * programming).  Per unit of the source: the kernel's (observed only: every
 * change refused, nothing written), iommud's, or nobody's.  iommud takes a
 * unit when asked (v1.power on) or configured (Manage= in [Control]),
 * writes its registers through /dev/mem opened writable (a simulated
 * unit's own registers under --simulate), and keeps its tables in table
 * memory: a file on hugetlbfs (TableMemory=, or the hugetlbfs mount
 * /proc/mounts names, plus "/iommud"), or locked memory where there is no
 * hugetlbfs, with a warning; the simulated machine's RAM under --simulate.
 *
 * What iommud built is shown as the kernel's tables are: the source's
 * system reads the owned units' tables through views of their table memory
 * (iommu_system_set_table_memory()), and marks them owned; v1.info gets a
 * "control" object per owned unit, v1.domains the domains no device is in
 * yet (the source's decorate hook).  The fault poll clears the fault
 * records of owned units once it logged them.  Counters for the metrics
 * outlive the units they count.
 *
 * Every operation refreshes the unit's registers first and refuses, with
 * one line and nothing written, a unit the kernel owns; changes to a unit
 * not owned ask for v1.power on first.  The caller starts a new
 * generation of the source afterwards (source_changed()).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "basic/error.h"
#include "control/unit.h"
#include "daemon/conf.h"
#include "daemon/faults.h"
#include "daemon/source.h"

typedef struct control control;

int control_new(control **ret);
/* Gives every unit back (translation off, the queue stopped) and frees
 * their tables and buffers; a unit that cannot be given back keeps its
 * table memory (a hugetlbfs file stays), and the log says so.  Call
 * before the source is freed. */
control *control_free(control *c);

/* The settings of the next take (Mode=, DefaultPolicy=, TableMemory=,
 * where locked and simulated buffers go, AdminGroup= for buffer files). */
void control_configure(control *c, const daemon_conf *conf, bool have_admin_gid, gid_t admin_gid);

/* Whether src can take over from the source now used: every owned unit is
 * in it (by name and register address).  A snapshot owns nothing. */
int control_check_source(const control *c, const source *src, iommu_error *err);
/* src is the source from now on: its owned units marked, their table
 * memory overlaid, v1.info and v1.domains decorated. */
int control_attach_source(control *c, source *src, iommu_error *err);

/* At start, before Manage=: take back the units an earlier iommud left
 * translating (StopPolicy=keep, or killed), as its state file has them,
 * without writing to them; one that disagrees with the state, or that
 * translates with no state naming it, is degraded: reported, every change
 * refused, until v1.power off gives it back.  Live machines only. */
void control_readopt(control *c);

/* Take the units Manage= names that are nobody's (logging what fails). */
void control_manage(control *c, const daemon_conf *conf);

/* Save what iommud owns to StateDirectory=/control.state (control/state.h):
 * after every change, before it is acknowledged.  The first save sets
 * aside, and logs, a state an earlier iommud left with units in it. */
int control_persist(control *c, iommu_error *err);

size_t control_n_owned(const control *c);
bool control_owns(const control *c, const char *unit);

/* v1.power: take the unit (unit NULL: the only one owned, or the
 * machine's only one) and turn translation on, or give it back.  The
 * unit's name in *ret_name (static storage of the system). */
int control_power(control *c, const char *unit, bool on, const char *caller, const char **ret_name,
                  iommu_error *err);
/* v1.domain.create: did -1 for the lowest free one. */
int control_domain_create(control *c, const char *unit, domain_type type, int did, json_object **ret,
                          iommu_error *err);
int control_domain_destroy(control *c, const char *unit, uint16_t did, json_object **ret, iommu_error *err);
int control_attach(control *c, uint16_t segment, uint8_t bus, uint8_t devfn, uint16_t did, iommu_error *err);
int control_detach(control *c, uint16_t segment, uint8_t bus, uint8_t devfn, iommu_error *err);

typedef struct control_map_request {
        const char *unit; /* NULL: as for v1.power */
        uint16_t did;
        uint64_t iova, length;
        bool alloc; /* a buffer of iommud's; else phys */
        uint64_t phys;
        unsigned perms; /* PT_READ, PT_WRITE */
} control_map_request;

int control_map(control *c, const control_map_request *req, json_object **ret, iommu_error *err);
int control_unmap(control *c, const char *unit, uint16_t did, uint64_t iova, uint64_t length,
                  json_object **ret, iommu_error *err);
/* did, iova and order as given (-1: not given) for the result. */
int control_invalidate(control *c, const char *unit, invalidate_what what, int did, int64_t iova, int order,
                       json_object **ret, iommu_error *err);

/* After the fault poll logged faults (the model_faults() result it had):
 * clear the records of owned units that held one, and forget them in the
 * log, so that the next fault there is recorded and logged.  Whether any
 * was cleared (the registers changed). */
bool control_clear_faults(control *c, json_object *faults, fault_log *log);

/* The "control" member of metrics_render()'s daemon object
 * (model/metrics.h). */
json_object *control_metrics(const control *c);
