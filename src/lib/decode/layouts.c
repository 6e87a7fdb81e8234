/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
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

/* Registers a unit has only when a capability says so; reading the others
 * is at best meaningless (zeros, or all-ones on QEMU past its register
 * file) and never needed. */
bool layout_implemented(const layout *l, uint64_t cap, uint64_t ecap) {
        static const struct {
                const char *name;             /* "mtrr*": every name starting so */
                uint64_t cap_mask, ecap_mask; /* any bit set */
        } rules[] = {
                { "aflog", FIELD_MASK64(CAP, AFL), 0 },
                { "pmen", FIELD_MASK64(CAP, PLMR) | FIELD_MASK64(CAP, PHMR), 0 },
                { "plmbase", FIELD_MASK64(CAP, PLMR), 0 },
                { "plmlimit", FIELD_MASK64(CAP, PLMR), 0 },
                { "phmbase", FIELD_MASK64(CAP, PHMR), 0 },
                { "phmlimit", FIELD_MASK64(CAP, PHMR), 0 },
                { "iqh", 0, FIELD_MASK64(ECAP, QI) },
                { "iqt", 0, FIELD_MASK64(ECAP, QI) },
                { "iqa", 0, FIELD_MASK64(ECAP, QI) },
                { "ics", 0, FIELD_MASK64(ECAP, QI) },
                { "iectl", 0, FIELD_MASK64(ECAP, QI) },
                { "iedata", 0, FIELD_MASK64(ECAP, QI) },
                { "ieaddr", 0, FIELD_MASK64(ECAP, QI) },
                { "ieuaddr", 0, FIELD_MASK64(ECAP, QI) },
                { "iqercd", 0, FIELD_MASK64(ECAP, QI) },
                { "irta", 0, FIELD_MASK64(ECAP, IR) },
                { "pqh", 0, FIELD_MASK64(ECAP, PRS) },
                { "pqt", 0, FIELD_MASK64(ECAP, PRS) },
                { "pqa", 0, FIELD_MASK64(ECAP, PRS) },
                { "prs", 0, FIELD_MASK64(ECAP, PRS) },
                { "pectl", 0, FIELD_MASK64(ECAP, PRS) },
                { "pedata", 0, FIELD_MASK64(ECAP, PRS) },
                { "peaddr", 0, FIELD_MASK64(ECAP, PRS) },
                { "peuaddr", 0, FIELD_MASK64(ECAP, PRS) },
                { "mtrr*", 0, FIELD_MASK64(ECAP, MTS) },
                { "perf*", 0, FIELD_MASK64(ECAP, PMS) },
                { "ecmd", FIELD_MASK64(CAP, ECMDS), 0 },
                { "eceo", FIELD_MASK64(CAP, ECMDS), 0 },
                { "ecrsp", FIELD_MASK64(CAP, ECMDS), 0 },
                { "eccap*", FIELD_MASK64(CAP, ECMDS), 0 },
        };

        if (l->kind != LAYOUT_REGISTER)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(rules); i++) {
                size_t n = strlen(rules[i].name);
                bool match = rules[i].name[n - 1] == '*' ? strncmp(l->name, rules[i].name, n - 1) == 0
                                                         : streq(l->name, rules[i].name);
                if (match)
                        return (cap & rules[i].cap_mask) || (ecap & rules[i].ecap_mask);
        }
        return true;
}
