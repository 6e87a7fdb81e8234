/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "basic/fileio.h"
#include "cli/cli.h"
#include "config.h"
#include "decode/dmar.h"
#include "snapshot/snapshot.h"

int verb_dmar(int argc, char **argv) {
        _cleanup_free_ char *sys_path = NULL;
        _cleanup_free_ void *data = NULL;
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;
        _cleanup_json_ json_object *o = NULL;
        const char *path = arg.file;
        iommu_error err = {};
        size_t size;
        int r;

        if (!arg.file && cli_use_daemon()) {
                r = client_call("v1.dmar", NULL, json_type_object, &o);
                return r != EXIT_OK ? r : cli_output(o, render_dmar);
        }

        if (arg.snapshot) {
                /* the table the snapshot captured */
                _cleanup_(snapshot_freep) snapshot *snap = NULL;

                if (arg.file)
                        return cli_usage("--file and --snapshot exclude each other");
                r = snapshot_open(arg.snapshot, &snap, &err);
                if (r < 0)
                        return cli_fail(EXIT_FAILED, r, "%s", err.message);
                r = snapshot_dmar_table(snap, &t, &err);
                if (r < 0)
                        return cli_fail(EXIT_FAILED, r, "%s", err.message);
                o = dmar_to_json(t);
                if (!o)
                        return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
                return cli_output(o, render_dmar);
        }

        if (!path) {
                sys_path = cli_path(DMAR_DEFAULT_PATH);
                if (!sys_path)
                        return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
                path = sys_path;
        }

        r = read_full_file(path, DMAR_MAX_SIZE, &data, &size, &err);
        if (r == -ENOENT && !arg.file)
                return cli_fail(
                        EXIT_FAILED, ENOENT,
                        "No DMAR table at %s: the firmware reports no Intel VT-d unit here; use --file FILE",
                        path);
        if (r == -EACCES)
                return cli_fail(EXIT_FAILED, EACCES,
                                "Permission denied reading %s: the ACPI tables are readable by root only",
                                path);
        if (r < 0)
                return cli_fail(EXIT_FAILED, r, "%s", err.message);

        r = dmar_parse(data, size, &t, &err);
        if (r < 0)
                return cli_fail(EXIT_FAILED, r, "%s: %s", path, err.message);

        o = dmar_to_json(t);
        if (!o)
                return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
        return cli_output(o, render_dmar);
}
