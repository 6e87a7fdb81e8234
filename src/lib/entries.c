/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "entries.h"

const layout *const entry_layouts[] = { NULL };
const size_t n_entry_layouts = 0;
