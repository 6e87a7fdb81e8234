/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "daemon/api.h"
#include "daemon/log.h"
#include "daemon/methods.h"
#include "shared/protocol.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Changing methods: root, or a member of AdminGroup= (its primary group or
 * a supplementary one, as they were when it connected). */
static bool may_change(manager *m, conn *c, const api_method *method, api_reply *out) {
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
                api_reply_error(out, EACCES,
                                "%s changes state: it needs root (no AdminGroup= is configured)",
                                method->name);
        else if (!m->admin_gid_valid)
                api_reply_error(out, EACCES,
                                "%s changes state: it needs root or membership in group %s (AdminGroup=), "
                                "which does not exist here",
                                method->name, group);
        else
                api_reply_error(out, EACCES,
                                "%s changes state: it needs root or membership in group %s (AdminGroup=)",
                                method->name, group);
        return false;
}

static void send_error(conn *c, json_object *id, int code, const char *message) {
        _cleanup_free_ char *line = protocol_format_error(id, code, message);

        if (line)
                (void) conn_send(c, line, strlen(line));
}

/* The request's answer: its method found, allowed, its params checked,
 * and its handler run. */
static void dispatch(manager *m, conn *c, const protocol_request *req, api_reply *out) {
        api_value args[API_PARAMS_MAX];
        const api_method *method;
        iommu_error err = {};
        char names[512];

        method = api_method_find(req->method);
        if (!method)
                api_reply_error(out, EOPNOTSUPP, "Unknown method \"%.64s\" (%s)", req->method,
                                api_method_names(names, sizeof names));
        else if (method->access == API_CHANGING && !may_change(m, c, method, out))
                ;
        else if (api_parse_params(method, req->params, args, &err) < 0)
                api_reply_error(out, err.error, "%s", err.message);
        else {
                api_call_method(m, method, &(api_call){ .args = args, .caller = conn_describe(c) }, out);
                if (!out->code && out->subscribe)
                        conn_subscribe(c);
        }
}

/* --- An answer a worker computes (jobs.h) ---------------------------------- */

typedef enum answer_phase {
        PHASE_WAITING,  /* for the job's outcome */
        PHASE_COMPLETE, /* its whole text, from offset */
        PHASE_STREAM,   /* read from the job */
        PHASE_END,      /* after the text pending */
} answer_phase;

typedef struct stream_answer {
        job_wait *wait;
        json_object *id;
        answer_phase phase;
        char *text; /* pending before the next phase: the line's head, its tail or the error line */
        size_t text_len, text_pos;
        size_t offset; /* PHASE_COMPLETE */
} stream_answer;

static void stream_answer_free(void *userdata) {
        stream_answer *a = userdata;

        job_wait_free(a->wait);
        json_object_put(a->id);
        free(a->text);
        free(a);
}

static int stream_answer_say(stream_answer *a, char *text, answer_phase next) {
        if (!text)
                return -ENOMEM;
        free(a->text);
        a->text = text;
        a->text_len = strlen(text);
        a->text_pos = 0;
        a->phase = next;
        return 0;
}

static char *result_head(json_object *id) {
        const char *id_text = id ? json_object_to_json_string_ext(id, JSON_FLAGS) : "null";
        char *head = NULL;

        return asprintf(&head, "{\"id\":%s,\"result\":", id_text) < 0 ? NULL : head;
}

static int stream_answer_read(void *userdata, void *buf, size_t max, size_t *ret_n) {
        stream_answer *a = userdata;
        const char *text;
        size_t size, n;
        int r;

        *ret_n = 0;
        for (;;) {
                if (a->text_pos < a->text_len) {
                        n = a->text_len - a->text_pos < max ? a->text_len - a->text_pos : max;
                        memcpy(buf, a->text + a->text_pos, n);
                        a->text_pos += n;
                        *ret_n = n;
                        return 0;
                }
                switch (a->phase) {
                case PHASE_WAITING:
                        switch (job_wait_state(a->wait)) {
                        case JOB_RUNNING:
                                return 0;
                        case JOB_FAILED: {
                                const char *message;
                                int code = job_wait_error(a->wait, &message);

                                r = stream_answer_say(a, protocol_format_error(a->id, code, message),
                                                      PHASE_END);
                                break;
                        }
                        case JOB_COMPLETE:
                                r = stream_answer_say(a, result_head(a->id), PHASE_COMPLETE);
                                break;
                        case JOB_STREAMING:
                        default:
                                r = stream_answer_say(a, result_head(a->id), PHASE_STREAM);
                                break;
                        }
                        if (r < 0)
                                return r;
                        continue;
                case PHASE_COMPLETE:
                        job_wait_text(a->wait, &text, &size);
                        if (a->offset < size) {
                                n = size - a->offset < max ? size - a->offset : max;
                                memcpy(buf, text + a->offset, n);
                                a->offset += n;
                                *ret_n = n;
                                return 0;
                        }
                        r = stream_answer_say(a, strdup("}\n"), PHASE_END);
                        if (r < 0)
                                return r;
                        continue;
                case PHASE_STREAM:
                        r = job_wait_read(a->wait, buf, max, ret_n);
                        if (r <= 0)
                                return r; /* bytes, none yet, or failed (logged: the line is cut) */
                        r = stream_answer_say(a, strdup("}\n"), PHASE_END);
                        if (r < 0)
                                return r;
                        continue;
                case PHASE_END:
                default:
                        return 1;
                }
        }
}

static const conn_stream_ops stream_answer_ops = {
        .read = stream_answer_read,
        .free = stream_answer_free,
};

static void wake_conn(void *userdata) {
        conn_stream_wake(userdata);
}

/* The answer a worker computes, sent as it comes: the connection's next
 * requests wait for it. */
static void send_stream(conn *c, json_object *id, job_wait **wait) {
        stream_answer *a = calloc(1, sizeof *a);

        if (!a) {
                send_error(c, id, ENOMEM, "Out of memory");
                return;
        }
        a->wait = TAKE_PTR(*wait);
        a->id = json_object_get(id);
        job_wait_set_wakeup(a->wait, wake_conn, c);
        /* never busy: the connection's requests wait while one streams */
        (void) conn_send_stream(c, &stream_answer_ops, a);
}

static void on_line(void *userdata, conn *c, const char *line, size_t len) {
        manager *m = userdata;
        protocol_request req;
        json_object *bad_id = NULL;
        iommu_error err = {};
        api_reply out = {};
        int r;

        r = protocol_parse_request(line, len, &req, &bad_id, &err);
        if (r < 0) {
                send_error(c, bad_id, err.error ? err.error : -r, err.message);
                json_object_put(bad_id);
                return;
        }

        dispatch(m, c, &req, &out);
        if (out.code) {
                if (out.code != EOPNOTSUPP && out.code != EINVAL)
                        log_debug("%s: %s failed: %s", conn_describe(c), req.method, out.message);
                send_error(c, req.id, out.code, out.message);
        } else if (out.wait)
                send_stream(c, req.id, &out.wait);
        else if (out.json) {
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
        api_reply_done(&out);
        protocol_request_done(&req);
}

const server_ops methods_server_ops = { .line = on_line };
