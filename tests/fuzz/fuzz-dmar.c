/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The DMAR parser on any bytes, and what is made of a table it accepts: its
 * JSON model (valid JSON every way it is printed) and iommuctl's text. */
#include "cli/cli.h"
#include "decode/dmar.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;
        _cleanup_json_ json_object *o = NULL;
        iommu_error err = {};
        int r;

        fuzz_quiet_stdout();
        r = dmar_parse(data, size, &t, &err);
        if (r < 0) {
                fuzz_check(!t, "dmar_parse failed but set its result");
                fuzz_check(err.error == -r && err.message[0], "dmar_parse failed (%d) without a reason", r);
                return 0;
        }
        fuzz_check(t->length <= size, "table length %u beyond the %zu bytes given", t->length, size);
        for (size_t i = 0; i < t->n_structures; i++) {
                const dmar_structure *s = &t->structures[i];

                fuzz_check(s->offset + s->length <= t->length, "structure %zu lies outside the table", i);
                if (s->type == DMAR_TYPE_DRHD)
                        fuzz_check(dmar_drhd_register_size(t, s) >= 4096, "register set below a page");
        }

        o = dmar_to_json(t);
        fuzz_check(o, "dmar_to_json failed");
        fuzz_check_json(o);
        render_dmar(o);
        return 0;
}
