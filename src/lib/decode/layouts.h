/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* All layouts the decoder knows: the registers (regs.h), then the
 * translation-structure entry formats (entries.h). */

#include "decode/field.h"

size_t layout_count(void);
const layout *layout_nth(size_t i);
/* By name, case-insensitive: "cap", "ECAP", "context". */
const layout *layout_find(const char *name);

/* Where a register sits for a unit with these CAP/ECAP values. */
uint64_t layout_offset(const layout *l, uint64_t cap, uint64_t ecap);

/* Whether a unit with these CAP/ECAP values has the register at all, as
 * its layout's .requires says (AFLOG only with CAP.AFL, the invalidation
 * queue with ECAP.QI, ...); never for an entry layout. */
bool layout_implemented(const layout *l, uint64_t cap, uint64_t ecap);
