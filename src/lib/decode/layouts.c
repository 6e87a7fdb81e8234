/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <strings.h>

#include "decode/entries.h"
#include "decode/layouts.h"
#include "decode/regs.h"

size_t layout_count(void) {
        return n_register_layouts + n_entry_layouts;
}

const layout *layout_nth(size_t i) {
        if (i < n_register_layouts)
                return register_layouts[i];
        i -= n_register_layouts;
        return i < n_entry_layouts ? entry_layouts[i] : NULL;
}

const layout *layout_find(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; i < layout_count(); i++) {
                const layout *l = layout_nth(i);
                if (strcasecmp(l->name, name) == 0)
                        return l;
        }
        return NULL;
}

uint64_t layout_offset(const layout *l, uint64_t cap, uint64_t ecap) {
        switch (l->base) {
        case LAYOUT_BASE_IRO:
                return FIELD_GET(ECAP, IRO, &ecap) * 16 + l->offset;
        case LAYOUT_BASE_FRO:
                return FIELD_GET(CAP, FRO, &cap) * 16 + l->offset;
        default:
                return l->offset;
        }
}

bool layout_implemented(const layout *l, uint64_t cap, uint64_t ecap) {
        const layout_requires *r = &l->requires;

        if (l->kind != LAYOUT_REGISTER)
                return false;
        if (!r->cap && !r->ecap)
                return true;
        return (cap & r->cap) || (ecap & r->ecap);
}
