/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdarg.h>
#include <string.h>

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
                json_object_object_add(
                        o, "source",
                        json_object_new_string(source_is_live(m->source) ? "live" : "snapshot"));
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

/* --- The table ------------------------------------------------------------- */

/* clang-format off */
static const api_param mappings_params[] = {
        [MAPPINGS_DEVICE] = { .name = "device", .type = API_PARAM_BDF },
        [MAPPINGS_DOMAIN] = { .name = "domain", .type = API_PARAM_INTEGER, .max = UINT16_MAX },
        [MAPPINGS_PASID]  = { .name = "pasid",  .type = API_PARAM_INTEGER, .max = (1 << 20) - 1 },
};
static_assert(ELEMENTSOF(mappings_params) == _MAPPINGS_PARAM_MAX, "mappings params");
static_assert(_MAPPINGS_PARAM_MAX <= API_PARAMS_MAX, "API_PARAMS_MAX");

#define PARAMS(p) .params = (p), .n_params = ELEMENTSOF(p)

static const api_method methods[] = {
        { .name = "v1.info",             .http_path = "/v1/info",         .access = API_READ,                               .handler = method_info },
        { .name = "v1.devices",          .http_path = "/v1/devices",      .access = API_READ,                               .handler = method_devices },
        { .name = "v1.domains",          .http_path = "/v1/domains",      .access = API_READ,                               .handler = method_domains },
        { .name = "v1.dmar",             .http_path = "/v1/dmar",         .access = API_READ,                               .handler = method_dmar },
        { .name = "v1.mappings",         .http_path = "/v1/mappings",     .access = API_READ,      PARAMS(mappings_params), .handler = method_mappings },
        { .name = "v1.faults",           .http_path = "/v1/faults",       .access = API_READ,                               .handler = method_faults },
        { .name = "v1.faults.subscribe", .http_path = NULL,               .access = API_READ,                               .handler = method_faults_subscribe },
        { .name = "v1.faults.clear",     .http_path = "/v1/faults/clear", .access = API_CHANGING,                           .handler = method_faults_clear },
        { .name = "v1.reload",           .http_path = "/v1/reload",       .access = API_CHANGING,                           .handler = method_reload },
        { .name = "v1.version",          .http_path = NULL,               .access = API_READ,                               .handler = method_version },
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
        int64_t n;

        if (!json_object_is_type(v, json_type_int))
                return iommu_error_set(err, EINVAL,
                                       "Param \"%s\" must be an integer from 0 to %lld, not a %s", p->name,
                                       (long long) p->max, json_type_to_name(json_object_get_type(v)));
        errno = 0;
        n = json_object_get_int64(v);
        /* json-c keeps integers above INT64_MAX as uint64: out of range too */
        if (n < 0 || n > p->max || errno != 0 || json_object_get_uint64(v) > (uint64_t) p->max)
                return iommu_error_set(err, EINVAL, "Param \"%s\" must be an integer from 0 to %lld, not %s",
                                       p->name, (long long) p->max,
                                       json_object_to_json_string_ext(v, JSON_FLAGS));
        *ret = (api_value){ .set = true, .integer = n };
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
                default:
                        r = iommu_error_set(err, EINVAL, "Param \"%s\" has no type", p->name);
                }
                if (r < 0)
                        return r;
        }
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

                        if (p->type == API_PARAM_INTEGER)
                                fprintf(f, "\t%s\tinteger 0..%lld\n", p->name, (long long) p->max);
                        else
                                fprintf(f, "\t%s\tPCI address (" BDF_FORMS ")\n", p->name);
                }
        }
}
