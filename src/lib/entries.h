/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Translation-structure entry formats (VT-d specification chapter 9):
 * root, context, scalable-mode context, PASID directory and table entries,
 * page-table entries.  Described the same way as registers (field.h).
 */

#include "field.h"

extern const layout *const entry_layouts[];
extern const size_t n_entry_layouts;
