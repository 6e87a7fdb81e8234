/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "daemon/log.h"
#include "daemon/methods.h"
#include "model/devices.h"
#include "shared/protocol.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* What a method answers: a cached serialized result, a new object, or an
 * error (code > 0). */
typedef struct reply {
        const char *json; /* borrowed serialized result */
        size_t json_len;
        json_object *result; /* owned */
        int code;
        char message[512];
} reply;

typedef void (*method_fn)(manager *m, conn *c, const protocol_request *req, reply *out);

static void reply_error(reply *out, int code, const char *fmt, ...) _printf_(3, 4);
static void reply_error(reply *out, int code, const char *fmt, ...) {
        va_list ap;

        out->code = code;
        va_start(ap, fmt);
        vsnprintf(out->message, sizeof out->message, fmt, ap);
        va_end(ap);
}

static void reply_answer(reply *out, const answer *a) {
        if (a->error)
                reply_error(out, a->error, "%s", a->message);
        else {
                out->json = a->json;
                out->json_len = a->json_len;
        }
}

static void reply_object(reply *out, json_object *o) {
        if (!o)
                reply_error(out, ENOMEM, "Out of memory");
        out->result = o;
}

static bool no_params(const protocol_request *req, reply *out) {
        json_object_object_foreach(req->params, key, value) {
                (void) value;
                reply_error(out, EINVAL, "%s takes no params (got \"%s\")", req->method, key);
                return false;
        }
        return true;
}

static void answer_of(manager *m, answer_kind kind, const protocol_request *req, reply *out) {
        answer_key key = { .kind = kind };

        if (no_params(req, out))
                reply_answer(out,
                             source_answer(m->source, &key, manager_now(m), m->conf->refresh_interval_usec));
}

static void method_info(manager *m, conn *c, const protocol_request *req, reply *out) {
        answer_of(m, ANSWER_INFO, req, out);
}

static void method_devices(manager *m, conn *c, const protocol_request *req, reply *out) {
        answer_of(m, ANSWER_DEVICES, req, out);
}

static void method_domains(manager *m, conn *c, const protocol_request *req, reply *out) {
        answer_of(m, ANSWER_DOMAINS, req, out);
}

static void method_dmar(manager *m, conn *c, const protocol_request *req, reply *out) {
        answer_of(m, ANSWER_DMAR, req, out);
}

static void method_mappings(manager *m, conn *c, const protocol_request *req, reply *out) {
        answer_key key = { .kind = ANSWER_MAPPINGS };
        iommu_error err = {};

        if (protocol_mappings_filter(req->params, &key.filter, &err) < 0) {
                reply_error(out, err.error, "%s", err.message);
                return;
        }
        reply_answer(out, source_answer(m->source, &key, manager_now(m), m->conf->refresh_interval_usec));
}

static void method_faults(manager *m, conn *c, const protocol_request *req, reply *out) {
        iommu_error err = {};
        json_object *o = NULL;

        if (!no_params(req, out))
                return;
        if (source_faults(m->source, m->faults, manager_now(m), m->conf->refresh_interval_usec, &o, &err) <
            0)
                reply_error(out, err.error, "%s", err.message);
        else
                reply_object(out, o);
}

static void method_subscribe(manager *m, conn *c, const protocol_request *req, reply *out) {
        json_object *o;

        if (!no_params(req, out))
                return;
        conn_subscribe(c);
        o = json_object_new_object();
        if (o)
                json_object_object_add(o, "subscribed", json_object_new_boolean(true));
        reply_object(out, o);
}

static void method_clear(manager *m, conn *c, const protocol_request *req, reply *out) {
        json_object *o;
        size_t n;

        if (!no_params(req, out))
                return;
        n = fault_log_clear(m->faults);
        log_notice("Fault log cleared (%zu entries) by %s", n, conn_describe(c));
        o = json_object_new_object();
        if (o)
                json_object_object_add(o, "cleared", json_object_new_uint64(n));
        reply_object(out, o);
}

static void method_reload(manager *m, conn *c, const protocol_request *req, reply *out) {
        iommu_error err = {};
        int r;

        if (!no_params(req, out))
                return;
        log_info("Reload requested by %s", conn_describe(c));
        r = manager_reload(m, &err);
        if (r < 0) {
                reply_error(out, -r, "%s", err.message);
                return;
        }
        reply_object(out, manager_reload_result(m));
}

static void method_version(manager *m, conn *c, const protocol_request *req, reply *out) {
        json_object *o;

        if (!no_params(req, out))
                return;
        o = json_object_new_object();
        if (o) {
                json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
                json_object_object_add(
                        o, "source",
                        json_object_new_string(source_is_live(m->source) ? "live" : "snapshot"));
        }
        reply_object(out, o);
}

static const struct {
        const char *name;
        method_fn fn;
} handlers[] = {
        { .name = "v1.info", .fn = method_info },
        { .name = "v1.devices", .fn = method_devices },
        { .name = "v1.domains", .fn = method_domains },
        { .name = "v1.dmar", .fn = method_dmar },
        { .name = "v1.mappings", .fn = method_mappings },
        { .name = "v1.faults", .fn = method_faults },
        { .name = "v1.faults.subscribe", .fn = method_subscribe },
        { .name = "v1.faults.clear", .fn = method_clear },
        { .name = "v1.reload", .fn = method_reload },
        { .name = "v1.version", .fn = method_version },
};

/* Changing methods: root, or a member of AdminGroup= (its primary group or
 * a supplementary one, as they were when it connected). */
static bool may_change(manager *m, conn *c, const char *method, reply *out) {
        const struct ucred *peer = conn_peer(c);
        const char *group = m->conf->admin_group;
        _cleanup_free_ gid_t *groups = NULL;
        size_t n = 0;

        if (peer->uid == 0)
                return true;
        if (m->admin_gid_valid) {
                if (peer->gid == m->admin_gid)
                        return true;
                if (conn_peer_groups(c, &groups, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                if (groups[i] == m->admin_gid)
                                        return true;
        }
        if (!group)
                reply_error(out, EACCES, "%s changes state: it needs root (no AdminGroup= is configured)",
                            method);
        else if (!m->admin_gid_valid)
                reply_error(out, EACCES,
                            "%s changes state: it needs root or membership in group %s (AdminGroup=), "
                            "which does not exist here",
                            method, group);
        else
                reply_error(out, EACCES,
                            "%s changes state: it needs root or membership in group %s (AdminGroup=)",
                            method, group);
        return false;
}

static void send_error(conn *c, json_object *id, int code, const char *message) {
        _cleanup_free_ char *line = protocol_format_error(id, code, message);

        if (line)
                (void) conn_send(c, line, strlen(line));
}

void methods_handle_line(manager *m, conn *c, const char *line, size_t len) {
        protocol_request req;
        json_object *bad_id = NULL;
        const protocol_method *method;
        iommu_error err = {};
        reply out = {};
        int r;

        r = protocol_parse_request(line, len, &req, &bad_id, &err);
        if (r < 0) {
                send_error(c, bad_id, err.error ? err.error : -r, err.message);
                json_object_put(bad_id);
                return;
        }

        method = protocol_method_find(req.method);
        if (!method)
                reply_error(&out, EOPNOTSUPP,
                            "Unknown method \"%.64s\" (v1.info, v1.devices, v1.domains, v1.dmar, "
                            "v1.mappings, v1.faults, "
                            "v1.faults.subscribe, v1.faults.clear, v1.reload, v1.version)",
                            req.method);
        else if (!(method->flags & PROTOCOL_CHANGING) || may_change(m, c, method->name, &out)) {
                reply_error(&out, EOPNOTSUPP, "Method %s is not served", method->name);
                for (size_t i = 0; i < ELEMENTSOF(handlers); i++)
                        if (streq(handlers[i].name, method->name)) {
                                out.code = 0;
                                handlers[i].fn(m, c, &req, &out);
                                break;
                        }
        }

        if (out.code) {
                if (out.code != EOPNOTSUPP && out.code != EINVAL)
                        log_debug("%s: %s failed: %s", conn_describe(c), req.method, out.message);
                send_error(c, req.id, out.code, out.message);
        } else if (out.json) {
                /* the cached text as it is, without parsing it again */
                size_t id_len;
                const char *id =
                        req.id ? json_object_to_json_string_length(req.id, JSON_FLAGS, &id_len) : NULL;
                struct iovec iov[] = {
                        { .iov_base = (void *) "{\"id\":", .iov_len = 6 },
                        { .iov_base = (void *) (id ? id : "null"), .iov_len = id ? id_len : 4 },
                        { .iov_base = (void *) ",\"result\":", .iov_len = 10 },
                        { .iov_base = (void *) out.json, .iov_len = out.json_len },
                        { .iov_base = (void *) "}\n", .iov_len = 2 },
                };
                (void) conn_sendv(c, iov, ELEMENTSOF(iov));
        } else {
                _cleanup_free_ char *text = protocol_format_result(req.id, out.result);
                if (text)
                        (void) conn_send(c, text, strlen(text));
                else
                        send_error(c, req.id, ENOMEM, "Out of memory");
        }
        json_object_put(out.result);
        protocol_request_done(&req);
}
