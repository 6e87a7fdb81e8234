/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "access/regs-sim.h"
#include "basic/json-util.h"
#include "basic/string-table.h"
#include "config.h"
#include "daemon/api.h"
#include "daemon/log.h"
#include "model/devices.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define BDF_FORMS "SSSS:BB:DD.F, BB:DD.F or B:D.F"

static const char *const api_access_table[_API_ACCESS_MAX] = {
        [API_READ] = "read",
        [API_CHANGING] = "changing",
};
DEFINE_STRING_TABLE_LOOKUP(api_access, api_access, api_access_table, _API_ACCESS_MAX, _API_ACCESS_INVALID);

void api_reply_error(api_reply *out, int code, const char *fmt, ...) {
        va_list ap;

        out->code = code;
        va_start(ap, fmt);
        vsnprintf(out->message, sizeof out->message, fmt, ap);
        va_end(ap);
        /* one line, whatever a client's names or values put in it */
        for (char *c = out->message; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = '?';
}

void api_reply_done(api_reply *out) {
        json_object_put(out->result);
        job_wait_free(out->wait);
        *out = (api_reply){};
}

static void reply_object(api_reply *out, json_object *o) {
        if (!o)
                api_reply_error(out, ENOMEM, "Out of memory");
        out->result = o;
}

/* --- The handlers ---------------------------------------------------------- */

/* An answer of the source, cached or computed now, or (one that walks
 * every page table) by a worker. */
static void reply_answer(manager *m, const api_call *call, const answer_key *key, api_reply *out) {
        const answer *a = source_lookup(m->source, key, manager_now(m), m->conf->refresh_interval_usec);
        iommu_error err = {};

        if (!a) {
                if (jobs_wait(m->jobs, m->source, key, call->caller, &out->wait, &err) < 0)
                        api_reply_error(out, err.error, "%s", err.message);
        } else if (a->error)
                api_reply_error(out, a->error, "%s", a->message);
        else {
                out->json = a->json;
                out->json_len = a->json_len;
        }
}

static void method_info(manager *m, const api_call *call, api_reply *out) {
        reply_answer(m, call, &(answer_key){ .kind = ANSWER_INFO }, out);
}

static void method_devices(manager *m, const api_call *call, api_reply *out) {
        reply_answer(m, call, &(answer_key){ .kind = ANSWER_DEVICES }, out);
}

static void method_domains(manager *m, const api_call *call, api_reply *out) {
        reply_answer(m, call, &(answer_key){ .kind = ANSWER_DOMAINS }, out);
}

static void method_dmar(manager *m, const api_call *call, api_reply *out) {
        reply_answer(m, call, &(answer_key){ .kind = ANSWER_DMAR }, out);
}

enum {
        MAPPINGS_DEVICE,
        MAPPINGS_DOMAIN,
        MAPPINGS_PASID,
        _MAPPINGS_PARAM_MAX,
};

static void method_mappings(manager *m, const api_call *call, api_reply *out) {
        const api_value *device = &call->args[MAPPINGS_DEVICE], *domain = &call->args[MAPPINGS_DOMAIN],
                        *pasid = &call->args[MAPPINGS_PASID];
        answer_key key = { .kind = ANSWER_MAPPINGS, .filter = { .did = -1, .pasid = -1 } };

        if (device->set)
                key.filter = (mappings_filter){ .have_device = true,
                                                .segment = device->segment,
                                                .bus = device->bus,
                                                .devfn = device->devfn,
                                                .did = -1,
                                                .pasid = -1 };
        if (domain->set)
                key.filter.did = (int) domain->integer;
        if (pasid->set)
                key.filter.pasid = pasid->integer;
        reply_answer(m, call, &key, out);
}

static void method_faults(manager *m, const api_call *call, api_reply *out) {
        iommu_error err = {};
        json_object *o = NULL;

        if (source_faults(m->source, m->faults, manager_now(m), m->conf->refresh_interval_usec, &o, &err) <
            0)
                api_reply_error(out, err.error, "%s", err.message);
        else
                reply_object(out, o);
}

static void method_faults_subscribe(manager *m, const api_call *call, api_reply *out) {
        json_object *o = json_object_new_object();

        if (o)
                json_object_object_add(o, "subscribed", json_object_new_boolean(true));
        reply_object(out, o);
        out->subscribe = !out->code;
}

static void method_faults_clear(manager *m, const api_call *call, api_reply *out) {
        json_object *o;
        size_t n;

        n = fault_log_clear(m->faults);
        log_notice("Fault log cleared (%zu entries) by %s", n, call->caller);
        o = json_object_new_object();
        if (o)
                json_object_object_add(o, "cleared", json_object_new_uint64(n));
        reply_object(out, o);
}

static json_object *source_result(manager *m, const char *key, json_object *value) {
        json_object *o = json_object_new_object();

        if (o) {
                json_object_object_add(o, key, value);
                json_object_object_add(o, "source",
                                       json_object_new_string(source_is_simulated(m->source) ? "simulated"
                                                              : source_is_live(m->source)    ? "live"
                                                                                             : "snapshot"));
        } else
                json_object_put(value);
        return o;
}

static void method_reload(manager *m, const api_call *call, api_reply *out) {
        iommu_error err = {};
        int r;

        log_info("Reload requested by %s", call->caller);
        r = manager_reload(m, &err);
        if (r < 0)
                api_reply_error(out, -r, "%s", err.message);
        else
                reply_object(out, source_result(m, "reloaded", json_object_new_boolean(true)));
}

static void method_version(manager *m, const api_call *call, api_reply *out) {
        reply_object(out, source_result(m, "version", json_object_new_string(PACKAGE_VERSION)));
}

/* --- Changing a unit iommud owns (control.h) ------------------------------- */

/* After a change (or a refused one: a failed change may still have
 * touched the registers): every answer anew, and the state saved
 * (control_persist) before the change is acknowledged.  r is the change's
 * result; the state's failure to be saved becomes the answer's. */
static int changed(manager *m, int r, iommu_error *err) {
        iommu_error e = {};

        source_changed(m->source, manager_now(m));
        if (r < 0)
                return r;
        r = control_persist(m->control, &e);
        if (r < 0)
                return iommu_error_set(err, -r, "The change was made but not saved: %s", e.message);
        return 0;
}

static void reply_control(api_reply *out, int r, const iommu_error *err, json_object *o) {
        if (r < 0)
                api_reply_error(out, err->error ? err->error : -r, "%s", err->message);
        else
                reply_object(out, o);
}

/* The element of an answer's list whose key is value, as its own object. */
static json_object *answer_element(manager *m, answer_kind kind, const char *list_key, const char *key,
                                   const char *value, api_reply *out) {
        const answer *a = source_answer(m->source, &(answer_key){ .kind = kind }, manager_now(m),
                                        m->conf->refresh_interval_usec);
        _cleanup_json_ json_object *o = NULL;
        json_object *list, *e;

        if (a->error) {
                api_reply_error(out, a->error, "%s", a->message);
                return NULL;
        }
        o = json_tokener_parse(a->json);
        list = list_key ? json_get(o, list_key) : o;
        for (size_t i = 0; i < json_array_length(list); i++) {
                e = json_array_get(list, i);
                if (streq(json_get_string(e, key), value))
                        return json_object_get(e);
        }
        api_reply_error(out, o ? ENOENT : ENOMEM, "%s", o ? "The answer does not have it" : "Out of memory");
        return NULL;
}

static const char *string_arg(const api_value *v) {
        return v->set ? v->string : NULL;
}

enum { POWER_UNIT, POWER_ON, _POWER_PARAM_MAX };

static void method_power(manager *m, const api_call *call, api_reply *out) {
        const api_value *a = call->args;
        iommu_error err = {};
        const char *name = NULL;
        int r;

        r = control_power(m->control, string_arg(&a[POWER_UNIT]), a[POWER_ON].boolean, call->caller, &name,
                          &err);
        r = changed(m, r, &err);
        if (r < 0)
                api_reply_error(out, err.error, "%s", err.message);
        else {
                json_object *u = answer_element(m, ANSWER_INFO, "units", "name", name, out);
                if (u)
                        reply_object(out, u);
        }
}

enum { CREATE_UNIT, CREATE_TYPE, CREATE_ID, _CREATE_PARAM_MAX };

static void method_domain_create(manager *m, const api_call *call, api_reply *out) {
        const api_value *a = call->args;
        iommu_error err = {};
        json_object *o = NULL;
        int r;

        r = control_domain_create(m->control, string_arg(&a[CREATE_UNIT]),
                                  a[CREATE_TYPE].set ? (domain_type) a[CREATE_TYPE].choice : DOMAIN_PAGING,
                                  a[CREATE_ID].set ? (int) a[CREATE_ID].integer : -1, &o, &err);
        r = changed(m, r, &err);
        reply_control(out, r, &err, o);
}

enum { DESTROY_UNIT, DESTROY_DOMAIN, _DESTROY_PARAM_MAX };

static void method_domain_destroy(manager *m, const api_call *call, api_reply *out) {
        const api_value *a = call->args;
        iommu_error err = {};
        json_object *o = NULL;
        int r;

        r = control_domain_destroy(m->control, string_arg(&a[DESTROY_UNIT]),
                                   (uint16_t) a[DESTROY_DOMAIN].integer, &o, &err);
        r = changed(m, r, &err);
        reply_control(out, r, &err, o);
}

/* The device object as v1.devices has it now. */
static void reply_device(manager *m, const api_value *device, api_reply *out) {
        char bdf[BDF_STRING_MAX];
        json_object *d;

        d = answer_element(m, ANSWER_DEVICES, NULL, "bdf",
                           bdf_format(bdf, device->segment, device->bus, device->devfn), out);
        if (d)
                reply_object(out, d);
}

enum { ATTACH_DEVICE, ATTACH_DOMAIN, _ATTACH_PARAM_MAX };

static void method_attach(manager *m, const api_call *call, api_reply *out) {
        const api_value *a = call->args;
        iommu_error err = {};
        int r;

        r = control_attach(m->control, a[ATTACH_DEVICE].segment, a[ATTACH_DEVICE].bus,
                           a[ATTACH_DEVICE].devfn, (uint16_t) a[ATTACH_DOMAIN].integer, &err);
        r = changed(m, r, &err);
        if (r < 0)
                api_reply_error(out, err.error, "%s", err.message);
        else
                reply_device(m, &a[ATTACH_DEVICE], out);
}

enum { DETACH_DEVICE, _DETACH_PARAM_MAX };

static void method_detach(manager *m, const api_call *call, api_reply *out) {
        const api_value *a = call->args;
        iommu_error err = {};
        int r;

        r = control_detach(m->control, a[DETACH_DEVICE].segment, a[DETACH_DEVICE].bus,
                           a[DETACH_DEVICE].devfn, &err);
        r = changed(m, r, &err);
        if (r < 0)
                api_reply_error(out, err.error, "%s", err.message);
        else
                reply_device(m, &a[DETACH_DEVICE], out);
}

enum {
        MAP_UNIT,
        MAP_DOMAIN,
        MAP_IOVA,
        MAP_PHYS,
        MAP_ALLOC,
        MAP_LENGTH,
        MAP_READ,
        MAP_WRITE,
        _MAP_PARAM_MAX
};

static void method_map(manager *m, const api_call *call, api_reply *out) {
        const api_value *a = call->args;
        bool alloc = a[MAP_ALLOC].set && a[MAP_ALLOC].boolean;
        control_map_request req = {
                .unit = string_arg(&a[MAP_UNIT]),
                .did = (uint16_t) a[MAP_DOMAIN].integer,
                .iova = a[MAP_IOVA].integer,
                .length = a[MAP_LENGTH].integer,
                .alloc = alloc,
                .phys = a[MAP_PHYS].integer,
        };
        iommu_error err = {};
        json_object *o = NULL;
        int r;

        if (alloc == a[MAP_PHYS].set) {
                api_reply_error(out, EINVAL, "v1.map takes exactly one of \"phys\" and \"alloc\": true");
                return;
        }
        /* neither given: read and write */
        if (!a[MAP_READ].set && !a[MAP_WRITE].set)
                req.perms = PT_READ | PT_WRITE;
        else
                req.perms = (a[MAP_READ].set && a[MAP_READ].boolean ? PT_READ : 0) |
                            (a[MAP_WRITE].set && a[MAP_WRITE].boolean ? PT_WRITE : 0);
        if (req.perms == 0) {
                api_reply_error(out, EINVAL, "A mapping allows reading, writing or both");
                return;
        }
        r = control_map(m->control, &req, &o, &err);
        r = changed(m, r, &err);
        reply_control(out, r, &err, o);
}

enum { UNMAP_UNIT, UNMAP_DOMAIN, UNMAP_IOVA, UNMAP_LENGTH, _UNMAP_PARAM_MAX };

static void method_unmap(manager *m, const api_call *call, api_reply *out) {
        const api_value *a = call->args;
        iommu_error err = {};
        json_object *o = NULL;
        int r;

        r = control_unmap(m->control, string_arg(&a[UNMAP_UNIT]), (uint16_t) a[UNMAP_DOMAIN].integer,
                          a[UNMAP_IOVA].integer, a[UNMAP_LENGTH].integer, &o, &err);
        r = changed(m, r, &err);
        reply_control(out, r, &err, o);
}

enum {
        INVALIDATE_UNIT,
        INVALIDATE_WHAT,
        INVALIDATE_DOMAIN_ID,
        INVALIDATE_IOVA,
        INVALIDATE_ORDER,
        _INVALIDATE_PARAM_MAX
};

static void method_invalidate(manager *m, const api_call *call, api_reply *out) {
        const api_value *a = call->args;
        invalidate_what what = (invalidate_what) a[INVALIDATE_WHAT].choice;
        bool did = a[INVALIDATE_DOMAIN_ID].set, iova = a[INVALIDATE_IOVA].set,
             order = a[INVALIDATE_ORDER].set;
        iommu_error err = {};
        json_object *o = NULL;
        int r;

        if (what == INVALIDATE_GLOBAL && (did || iova || order)) {
                api_reply_error(out, EINVAL, "A global invalidation takes no domain, iova or order");
                return;
        }
        if (what == INVALIDATE_DOMAIN && (!did || iova || order)) {
                api_reply_error(out, EINVAL, "A domain invalidation takes a domain, and no iova or order");
                return;
        }
        if (what == INVALIDATE_PAGE && (!did || !iova)) {
                api_reply_error(out, EINVAL,
                                "A page invalidation takes a domain and an iova (and an order)");
                return;
        }
        if (iova && a[INVALIDATE_IOVA].integer > INT64_MAX) {
                api_reply_error(out, EINVAL, "Param \"iova\" 0x%" PRIx64 " is beyond any address width",
                                a[INVALIDATE_IOVA].integer);
                return;
        }
        r = control_invalidate(m->control, string_arg(&a[INVALIDATE_UNIT]), what,
                               did ? (int) a[INVALIDATE_DOMAIN_ID].integer : -1,
                               iova ? (int64_t) a[INVALIDATE_IOVA].integer : -1,
                               order                     ? (int) a[INVALIDATE_ORDER].integer
                               : what == INVALIDATE_PAGE ? 0
                                                         : -1,
                               &o, &err);
        source_changed(m->source, manager_now(m));
        reply_control(out, r, &err, o);
}

enum { INJECT_FAULT, _INJECT_PARAM_MAX };
enum {
        INJECT_NONE,
        INJECT_READ_ERROR,
        INJECT_ALL_ONES,
        INJECT_WAIT_STALL,
        INJECT_IQE,
        INJECT_ITE,
        INJECT_ICE
};
static const char *const inject_faults[] = {
        [INJECT_NONE] = "none",         [INJECT_READ_ERROR] = "read-error",
        [INJECT_ALL_ONES] = "all-ones", [INJECT_WAIT_STALL] = "wait-stall",
        [INJECT_IQE] = "iqe",           [INJECT_ITE] = "ite",
        [INJECT_ICE] = "ice",           NULL,
};

/* The simulated unit misbehaves from now on, as iommud(8) "Simulated
 * faults" says: a testing aid, refused on any other machine. */
static void method_simulate_inject(manager *m, const api_call *call, api_reply *out) {
        static const regs_sim_error queue_errors[] = {
                [INJECT_IQE] = REGS_SIM_ERROR_IQE,
                [INJECT_ITE] = REGS_SIM_ERROR_ITE,
                [INJECT_ICE] = REGS_SIM_ERROR_ICE,
        };
        int fault = call->args[INJECT_FAULT].choice;
        iommu_unit *u;
        json_object *o;

        if (!source_is_simulated(m->source) || m->source->system->n_units == 0) {
                api_reply_error(out, EOPNOTSUPP,
                                "Only a simulated machine takes injected faults (iommud --simulate)");
                return;
        }
        u = &m->source->system->units[0];
        switch (fault) {
        case INJECT_NONE:
                regs_sim_fail_reads(u->regs, false);
                regs_sim_stall_waits(u->regs, false);
                regs_sim_fail_next(u->regs, REGS_SIM_ERROR_NONE, 0);
                break;
        case INJECT_READ_ERROR:
                regs_sim_fail_reads(u->regs, true);
                break;
        case INJECT_ALL_ONES:
                regs_sim_die_after_reads(u->regs, 0);
                break;
        case INJECT_WAIT_STALL:
                regs_sim_stall_waits(u->regs, true);
                break;
        default:
                regs_sim_fail_next(u->regs, queue_errors[fault], SIMULATED_FAULT_SID);
                break;
        }
        log_notice("%s: simulated fault %s from now on, as %s asked", u->name, inject_faults[fault],
                   call->caller);
        source_changed(m->source, manager_now(m));
        o = json_object_new_object();
        if (!o) {
                api_reply_error(out, ENOMEM, "Out of memory");
                return;
        }
        json_object_object_add(o, "unit", json_object_new_string(u->name));
        json_object_object_add(o, "fault", json_object_new_string(inject_faults[fault]));
        reply_object(out, o);
}

/* --- The table ------------------------------------------------------------- */

/* clang-format off */
static const api_param mappings_params[] = {
        [MAPPINGS_DEVICE] = { .name = "device", .type = API_PARAM_BDF },
        [MAPPINGS_DOMAIN] = { .name = "domain", .type = API_PARAM_INTEGER, .max = UINT16_MAX },
        [MAPPINGS_PASID]  = { .name = "pasid",  .type = API_PARAM_INTEGER, .max = (1 << 20) - 1 },
};
static_assert(ELEMENTSOF(mappings_params) == _MAPPINGS_PARAM_MAX, "mappings params");
static_assert(_MAPPINGS_PARAM_MAX <= API_PARAMS_MAX, "API_PARAMS_MAX");

static const char *const domain_types[] = {
        [DOMAIN_PAGING] = "paging", [DOMAIN_IDENTITY] = "identity", [DOMAIN_BLOCKED] = "blocked",
        [DOMAIN_PASSTHROUGH] = "passthrough", NULL,
};
static_assert(ELEMENTSOF(domain_types) == _DOMAIN_TYPE_MAX + 1, "domain types");
static const char *const invalidations[] = {
        [INVALIDATE_GLOBAL] = "global", [INVALIDATE_DOMAIN] = "domain", [INVALIDATE_PAGE] = "page", NULL,
};

#define UNIT         { .name = "unit",   .type = API_PARAM_STRING }
#define DEVICE       { .name = "device", .type = API_PARAM_BDF,     .required = true }
#define DID(req)     { .name = "domain", .type = API_PARAM_INTEGER, .required = (req), .max = UINT16_MAX }
#define U64(n, req)  { .name = (n),      .type = API_PARAM_INTEGER, .required = (req), .max = UINT64_MAX }
#define BOOL(n, req) { .name = (n),      .type = API_PARAM_BOOLEAN, .required = (req) }

static const api_param power_params[] = {
        [POWER_UNIT] = UNIT,
        [POWER_ON]   = BOOL("on", true),
};
static_assert(ELEMENTSOF(power_params) == _POWER_PARAM_MAX, "power params");
static const api_param inject_params[] = {
        [INJECT_FAULT] = { .name = "fault", .type = API_PARAM_CHOICE, .required = true, .choices = inject_faults },
};
static_assert(ELEMENTSOF(inject_params) == _INJECT_PARAM_MAX, "simulate.inject params");
static const api_param domain_create_params[] = {
        [CREATE_UNIT] = UNIT,
        [CREATE_TYPE] = { .name = "type", .type = API_PARAM_CHOICE,  .choices = domain_types },
        [CREATE_ID]   = { .name = "id",   .type = API_PARAM_INTEGER, .max = UINT16_MAX },
};
static_assert(ELEMENTSOF(domain_create_params) == _CREATE_PARAM_MAX, "domain.create params");
static const api_param domain_destroy_params[] = {
        [DESTROY_UNIT]   = UNIT,
        [DESTROY_DOMAIN] = DID(true),
};
static_assert(ELEMENTSOF(domain_destroy_params) == _DESTROY_PARAM_MAX, "domain.destroy params");
static const api_param attach_params[] = {
        [ATTACH_DEVICE] = DEVICE,
        [ATTACH_DOMAIN] = DID(true),
};
static_assert(ELEMENTSOF(attach_params) == _ATTACH_PARAM_MAX, "attach params");
static const api_param detach_params[] = {
        [DETACH_DEVICE] = DEVICE,
};
static_assert(ELEMENTSOF(detach_params) == _DETACH_PARAM_MAX, "detach params");
static const api_param map_params[] = {
        [MAP_UNIT]   = UNIT,
        [MAP_DOMAIN] = DID(true),
        [MAP_IOVA]   = U64("iova", true),
        [MAP_PHYS]   = U64("phys", false),
        [MAP_ALLOC]  = BOOL("alloc", false),
        [MAP_LENGTH] = U64("length", true),
        [MAP_READ]   = BOOL("read", false),
        [MAP_WRITE]  = BOOL("write", false),
};
static_assert(ELEMENTSOF(map_params) == _MAP_PARAM_MAX, "map params");
static_assert(_MAP_PARAM_MAX <= API_PARAMS_MAX, "API_PARAMS_MAX");
static const api_param unmap_params[] = {
        [UNMAP_UNIT]   = UNIT,
        [UNMAP_DOMAIN] = DID(true),
        [UNMAP_IOVA]   = U64("iova", true),
        [UNMAP_LENGTH] = U64("length", true),
};
static_assert(ELEMENTSOF(unmap_params) == _UNMAP_PARAM_MAX, "unmap params");
static const api_param invalidate_params[] = {
        [INVALIDATE_UNIT]      = UNIT,
        [INVALIDATE_WHAT]      = { .name = "what",  .type = API_PARAM_CHOICE,  .required = true, .choices = invalidations },
        [INVALIDATE_DOMAIN_ID] = DID(false),
        [INVALIDATE_IOVA]      = U64("iova", false),
        [INVALIDATE_ORDER]     = { .name = "order", .type = API_PARAM_INTEGER, .max = 63 },
};
static_assert(ELEMENTSOF(invalidate_params) == _INVALIDATE_PARAM_MAX, "invalidate params");

#define PARAMS(p) .params = (p), .n_params = ELEMENTSOF(p)

static const api_method methods[] = {
        { .name = "v1.info",             .http_path = "/v1/info",           .access = API_READ,                                    .handler = method_info },
        { .name = "v1.devices",          .http_path = "/v1/devices",        .access = API_READ,                                    .handler = method_devices },
        { .name = "v1.domains",          .http_path = "/v1/domains",        .access = API_READ,                                    .handler = method_domains },
        { .name = "v1.dmar",             .http_path = "/v1/dmar",           .access = API_READ,                                    .handler = method_dmar },
        { .name = "v1.mappings",         .http_path = "/v1/mappings",       .access = API_READ,     PARAMS(mappings_params),       .handler = method_mappings },
        { .name = "v1.faults",           .http_path = "/v1/faults",         .access = API_READ,                                    .handler = method_faults },
        { .name = "v1.faults.subscribe", .http_path = NULL,                 .access = API_READ,                                    .handler = method_faults_subscribe },
        { .name = "v1.faults.clear",     .http_path = "/v1/faults/clear",   .access = API_CHANGING,                                .handler = method_faults_clear },
        { .name = "v1.reload",           .http_path = "/v1/reload",         .access = API_CHANGING,                                .handler = method_reload },
        { .name = "v1.version",          .http_path = NULL,                 .access = API_READ,                                    .handler = method_version },
        { .name = "v1.power",            .http_path = "/v1/power",          .access = API_CHANGING, PARAMS(power_params),          .handler = method_power },
        { .name = "v1.domain.create",    .http_path = "/v1/domain/create",  .access = API_CHANGING, PARAMS(domain_create_params),  .handler = method_domain_create },
        { .name = "v1.domain.destroy",   .http_path = "/v1/domain/destroy", .access = API_CHANGING, PARAMS(domain_destroy_params), .handler = method_domain_destroy },
        { .name = "v1.attach",           .http_path = "/v1/attach",         .access = API_CHANGING, PARAMS(attach_params),         .handler = method_attach },
        { .name = "v1.detach",           .http_path = "/v1/detach",         .access = API_CHANGING, PARAMS(detach_params),         .handler = method_detach },
        { .name = "v1.map",              .http_path = "/v1/map",            .access = API_CHANGING, PARAMS(map_params),            .handler = method_map },
        { .name = "v1.unmap",            .http_path = "/v1/unmap",          .access = API_CHANGING, PARAMS(unmap_params),          .handler = method_unmap },
        { .name = "v1.invalidate",       .http_path = "/v1/invalidate",     .access = API_CHANGING, PARAMS(invalidate_params),     .handler = method_invalidate },
        { .name = "v1.simulate.inject",  .http_path = NULL,                 .access = API_CHANGING, PARAMS(inject_params),         .handler = method_simulate_inject },
};
/* clang-format on */

const api_method *api_method_at(size_t i) {
        return i < ELEMENTSOF(methods) ? &methods[i] : NULL;
}

const api_method *api_method_find(const char *name) {
        for (size_t i = 0; name && i < ELEMENTSOF(methods); i++)
                if (streq(methods[i].name, name))
                        return &methods[i];
        return NULL;
}

const api_method *api_method_find_http(const char *path) {
        for (size_t i = 0; path && i < ELEMENTSOF(methods); i++)
                if (methods[i].http_path && streq(methods[i].http_path, path))
                        return &methods[i];
        return NULL;
}

const char *api_http_verb(const api_method *method) {
        return method->access == API_CHANGING ? "POST" : "GET";
}

const char *api_method_names(char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(methods) && n < size; i++) {
                int k = snprintf(buf + n, size - n, "%s%s", i > 0 ? ", " : "", methods[i].name);
                if (k < 0)
                        break;
                n += (size_t) k;
        }
        return buf;
}

/* --- Params ---------------------------------------------------------------- */

static int parse_integer(const api_param *p, json_object *v, api_value *ret, iommu_error *err) {
        uint64_t n;

        if (!json_object_is_type(v, json_type_int))
                return iommu_error_set(err, EINVAL,
                                       "Param \"%s\" must be an integer from 0 to %" PRIu64 ", not a %s",
                                       p->name, p->max, json_type_to_name(json_object_get_type(v)));
        /* json-c keeps integers above INT64_MAX as uint64, whose int64 is INT64_MAX */
        n = json_object_get_uint64(v);
        if (json_object_get_int64(v) < 0 || n > p->max)
                return iommu_error_set(err, EINVAL,
                                       "Param \"%s\" must be an integer from 0 to %" PRIu64 ", not %s",
                                       p->name, p->max, json_object_to_json_string_ext(v, JSON_FLAGS));
        *ret = (api_value){ .set = true, .integer = n };
        return 0;
}

static int parse_boolean(const api_param *p, json_object *v, api_value *ret, iommu_error *err) {
        if (!json_object_is_type(v, json_type_boolean))
                return iommu_error_set(err, EINVAL, "Param \"%s\" must be true or false, not %.64s", p->name,
                                       json_object_to_json_string_ext(v, JSON_FLAGS));
        *ret = (api_value){ .set = true, .boolean = json_object_get_boolean(v) };
        return 0;
}

static const char *choices_text(const api_param *p, char *buf, size_t size) {
        buf[0] = '\0';
        for (size_t i = 0; p->choices[i]; i++)
                snprintf(buf + strlen(buf), size - strlen(buf), "%s%s",
                         i == 0              ? ""
                         : p->choices[i + 1] ? ", "
                                             : " or ",
                         p->choices[i]);
        return buf;
}

static int parse_string(const api_param *p, json_object *v, api_value *ret, iommu_error *err) {
        const char *s;
        char names[128];

        if (!json_object_is_type(v, json_type_string))
                return iommu_error_set(err, EINVAL, "Param \"%s\" must be a string, not a %s", p->name,
                                       json_type_to_name(json_object_get_type(v)));
        s = json_object_get_string(v);
        if (p->type == API_PARAM_CHOICE) {
                for (size_t i = 0; p->choices[i]; i++)
                        if (streq(s, p->choices[i])) {
                                *ret = (api_value){ .set = true, .string = s, .choice = (int) i };
                                return 0;
                        }
                return iommu_error_set(err, EINVAL, "Param \"%s\" must be %s, not '%.64s'", p->name,
                                       choices_text(p, names, sizeof names), s);
        }
        if (!*s || strlen(s) > API_STRING_MAX ||
            strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(s))
                return iommu_error_set(
                        err, EINVAL,
                        "Param \"%s\" must be a name of letters, digits, '_', '-' and '.', up to %d "
                        "bytes, not '%.64s'",
                        p->name, API_STRING_MAX, s);
        *ret = (api_value){ .set = true, .string = s };
        return 0;
}

static int parse_bdf(const api_param *p, json_object *v, api_value *ret, iommu_error *err) {
        api_value a = { .set = true };

        if (!json_object_is_type(v, json_type_string))
                return iommu_error_set(err, EINVAL,
                                       "Param \"%s\" must be a PCI address string (" BDF_FORMS "), not a %s",
                                       p->name, json_type_to_name(json_object_get_type(v)));
        if (bdf_parse(json_object_get_string(v), &a.segment, &a.bus, &a.devfn) < 0)
                return iommu_error_set(err, EINVAL,
                                       "Param \"%s\" '%.64s' is not a PCI address (" BDF_FORMS ")", p->name,
                                       json_object_get_string(v));
        *ret = a;
        return 0;
}

int api_parse_params(const api_method *method, json_object *params, api_value args[static API_PARAMS_MAX],
                     iommu_error *err) {
        api_value v[API_PARAMS_MAX] = {};
        int r;

        assert(method->n_params <= API_PARAMS_MAX);
        json_object_object_foreach(params, name, value) {
                const api_param *p = NULL;
                api_value *a = NULL;

                if (method->n_params == 0)
                        return iommu_error_set(err, EINVAL, "%s takes no params (got \"%.64s\")",
                                               method->name, name);
                for (size_t i = 0; i < method->n_params && !p; i++)
                        if (streq(method->params[i].name, name)) {
                                p = &method->params[i];
                                a = &v[i];
                        }
                if (!p) {
                        char names[256];
                        size_t n = 0;

                        names[0] = '\0';
                        for (size_t k = 0; k < method->n_params && n < sizeof names; k++)
                                n += (size_t) snprintf(names + n, sizeof names - n, "%s%s",
                                                       k > 0 ? ", " : "", method->params[k].name);
                        return iommu_error_set(err, EINVAL, "Unknown param \"%.64s\" for %s (it takes %s)",
                                               name, method->name, names);
                }
                if (!value)
                        continue; /* null: as if absent */
                switch (p->type) {
                case API_PARAM_BDF:
                        r = parse_bdf(p, value, a, err);
                        break;
                case API_PARAM_INTEGER:
                        r = parse_integer(p, value, a, err);
                        break;
                case API_PARAM_BOOLEAN:
                        r = parse_boolean(p, value, a, err);
                        break;
                case API_PARAM_STRING:
                case API_PARAM_CHOICE:
                        r = parse_string(p, value, a, err);
                        break;
                default:
                        r = iommu_error_set(err, EINVAL, "Param \"%s\" has no type", p->name);
                }
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < method->n_params; i++)
                if (method->params[i].required && !v[i].set)
                        return iommu_error_set(err, EINVAL, "%s needs param \"%s\"", method->name,
                                               method->params[i].name);
        memcpy(args, v, sizeof v);
        return 0;
}

void api_call_method(manager *m, const api_method *method, const api_call *call, api_reply *out) {
        *out = (api_reply){};
        method->handler(m, call, out);
}

void api_list(FILE *f) {
        for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
                const api_method *method = &methods[i];

                if (method->http_path)
                        fprintf(f, "%s\t%s %s\t%s\n", method->name, api_http_verb(method), method->http_path,
                                api_access_to_string(method->access));
                else
                        fprintf(f, "%s\t-\t%s\n", method->name, api_access_to_string(method->access));
                for (size_t k = 0; k < method->n_params; k++) {
                        const api_param *p = &method->params[k];
                        const char *required = p->required ? ", required" : "";

                        switch (p->type) {
                        case API_PARAM_INTEGER:
                                if (p->max == UINT64_MAX)
                                        fprintf(f, "\t%s\tinteger 0..2^64-1%s\n", p->name, required);
                                else
                                        fprintf(f, "\t%s\tinteger 0..%" PRIu64 "%s\n", p->name, p->max,
                                                required);
                                break;
                        case API_PARAM_BOOLEAN:
                                fprintf(f, "\t%s\tboolean%s\n", p->name, required);
                                break;
                        case API_PARAM_STRING:
                                fprintf(f, "\t%s\tstring%s\n", p->name, required);
                                break;
                        case API_PARAM_CHOICE:
                                fprintf(f, "\t%s\tone of ", p->name);
                                for (size_t c = 0; p->choices[c]; c++)
                                        fprintf(f, "%s%s", c ? "|" : "", p->choices[c]);
                                fprintf(f, "%s\n", required);
                                break;
                        default:
                                fprintf(f, "\t%s\tPCI address (" BDF_FORMS ")%s\n", p->name, required);
                        }
                }
        }
}
