/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The read commands on live or captured state: info, devices, domains,
 * faults, snapshot save (mappings: verb-mappings.c). */
#include <string.h>

#include "cli/cli.h"
#include "model/devices.h"
#include "model/model.h"
#include "model/system.h"

int cli_open_system(iommu_ctx **ret_ctx, iommu_system **ret) {
        _cleanup_(iommu_ctx_freep) iommu_ctx *ctx = NULL;
        iommu_error err = {};
        int r;

        if (arg.snapshot) {
                r = iommu_system_open_snapshot(arg.snapshot, ret, &err);
                if (r < 0)
                        return cli_fail(EXIT_FAILED, r, "%s", err.message);
                *ret_ctx = NULL;
                return EXIT_OK;
        }

        r = iommu_ctx_new(arg.sysroot, &ctx);
        if (r < 0)
                return cli_fail(EXIT_FAILED, r, "Failed to set up: %s", strerror(-r));
        r = iommu_system_open_live(ctx, ret, &err);
        if (r < 0)
                return cli_fail(EXIT_FAILED, r, "%s", err.message);
        *ret_ctx = TAKE_PTR(ctx);
        return EXIT_OK;
}

typedef int (*model_fn)(iommu_system *s, json_object **ret, iommu_error *err);

/* The same model answers whichever source: iommud's result is what the
 * model function returns here. */
static int show(const char *method, json_object *params, model_fn fn, void (*render)(json_object *),
                json_type type) {
        _cleanup_(iommu_ctx_freep) iommu_ctx *ctx = NULL;
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        _cleanup_json_ json_object *o = NULL;
        iommu_error err = {};
        int r;

        if (cli_use_daemon()) {
                r = client_call(method, params, type, &o);
                return r != EXIT_OK ? r : cli_output(o, render);
        }

        r = cli_open_system(&ctx, &s);
        if (r != EXIT_OK)
                return r;
        r = fn(s, &o, &err);
        /* free the system before its context */
        s = iommu_system_free(s);
        if (r < 0)
                return cli_fail(EXIT_FAILED, r, "%s", err.message);
        return cli_output(o, render);
}

int verb_info(int argc, char **argv) {
        return show("v1.info", NULL, model_info, render_info, json_type_object);
}

int verb_devices(int argc, char **argv) {
        return show("v1.devices", NULL, model_devices, render_devices, json_type_array);
}

int verb_domains(int argc, char **argv) {
        return show("v1.domains", NULL, model_domains, render_domains, json_type_array);
}

int verb_faults(int argc, char **argv) {
        int r;

        if (!cli_use_daemon() && (arg.follow || arg.clear))
                return cli_fail(
                        EXIT_FAILED, EOPNOTSUPP,
                        "%s keeps a fault log only in iommud: drop --direct/--snapshot to ask the daemon",
                        arg.follow ? "--follow" : "--clear");
        if (arg.clear) {
                _cleanup_json_ json_object *o = NULL;
                r = client_call("v1.faults.clear", NULL, json_type_object, &o);
                if (r != EXIT_OK)
                        return r;
                if (!arg.follow)
                        return arg.json ? cli_output(o, NULL) : EXIT_OK;
        }
        if (arg.follow)
                return client_follow("v1.faults.subscribe", arg.json ? cli_print_json : render_fault_event);
        return show("v1.faults", NULL, model_faults, render_faults, json_type_object);
}

int verb_snapshot_save(int argc, char **argv) {
        _cleanup_(iommu_ctx_freep) iommu_ctx *ctx = NULL;
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        iommu_error err = {};
        int r;

        r = cli_open_system(&ctx, &s);
        if (r != EXIT_OK)
                return r;
        r = iommu_system_save_snapshot(s, argv[0], &err);
        s = iommu_system_free(s);
        if (r < 0)
                return cli_fail(EXIT_FAILED, r, "Failed to save the snapshot: %s", err.message);
        if (arg.json) {
                _cleanup_json_ json_object *o = json_object_new_object();
                json_object_object_add(o, "saved", json_object_new_string(argv[0]));
                return cli_output(o, NULL);
        }
        return EXIT_OK;
}
