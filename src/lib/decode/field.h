/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Bit layouts, described once.
 *
 * Every VT-d register and every translation-table entry format is a
 * "layout": a name, a width and a table of field descriptors.  Bit positions
 * are written once per field in an X-macro list (see regs.h); that list
 * produces the field index enum, the _LO/_WIDTH constants the hot paths use
 * through FIELD_GET(), and the .lo/.width members of the descriptor table
 * through FIELD_AT().  Text, JSON, metrics and consistency checks all loop
 * over the descriptor tables.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "basic/macro.h"

/* Widest layout: a scalable-mode PASID table entry, 512 bits. */
#define LAYOUT_MAX_QWORDS 8

typedef enum field_kind {
        FIELD_FLAG,    /* one bit; values[0]/values[1] or "no"/"yes" */
        FIELD_NUMBER,  /* a count or index; optional derived number */
        FIELD_ENUM,    /* values[raw]; sparse tables allowed */
        FIELD_BITMAP,  /* values[bit] for every bit set */
        FIELD_ADDRESS, /* bits lo..lo+width-1 of an aligned address */
        _FIELD_KIND_MAX,
        _FIELD_KIND_INVALID = -EINVAL,
} field_kind;

/*
 * One value of an encoding, described once for every field that holds it
 * (decode/values.h has the encodings several fields share).
 *   name     what the value is called; where the name leaves decode (a
 *            metrics label, the walker's state) a short one: "domain",
 *            "device-tlb".
 *   meaning  what decode shows instead, where that should say more than
 *            the name: "domain-selective", "device-TLB".  A value with a
 *            meaning and no name is described but not named outside
 *            decode (a granularity the specification reserves).
 *   number   the quantity the value stands for, where there is one (AW 2:
 *            48 bits; SLLPS bit 1: 1 GiB), listed under the field's
 *            .derived.
 * A value with neither name nor meaning is unknown and prints as ??N.
 */
typedef struct value_name {
        const char *name;
        const char *meaning;
        uint64_t number;
} value_name;

/* In a descriptor: .kind = FIELD_ENUM, VALUES(memory_type_values). */
#define VALUES(t) .values = (t), .n_values = ELEMENTSOF(t)

/* Value v of a table of n, or NULL where the table does not describe it. */
const value_name *value_name_lookup(const value_name *t, size_t n, uint64_t v) _pure_;
/* What decode shows for a value: its meaning, else its name. */
static inline const char *value_name_meaning(const value_name *v) {
        return v->meaning ? v->meaning : v->name;
}

typedef struct field_desc {
        const char *name;  /* specification mnemonic, lower case: "mgaw" */
        const char *title; /* specification's name: "Maximum Guest Address Width" */
        uint16_t lo;       /* lowest bit, counted over the whole layout */
        uint8_t width;     /* bits, 1..64 */
        field_kind kind;

        /* JSON key of a derived number: "bits", "domains".  FIELD_NUMBER:
         * raw * mul + add, or 2^(raw * mul + add).  FIELD_ENUM: the number
         * of the value; FIELD_BITMAP: the list of the numbers of the set
         * bits' values (SAGAW: address widths; SLLPS: page sizes). */
        const char *derived;
        uint16_t mul; /* 0 means 1 */
        int16_t add;
        bool pow2;
        const char *unit; /* text after the derived number: "bits", "bytes" */
        bool hex;         /* show raw and derived numbers in hex */

        /* FIELD_FLAG, FIELD_ENUM, FIELD_BITMAP: the values, by raw value
         * (a bitmap: by bit). */
        const value_name *values;
        uint16_t n_values;

        bool deprecated; /* kept for old hardware; reserved in current specs */
} field_desc;

/* The X-macro positions again as data, so a test can prove that every
 * descriptor table row sits at its own enum index with its own bits and a
 * name matching the enum's mnemonic: DEFINE_LAYOUT_CHECK(cap, CAP, CAP_FIELDS). */
typedef struct layout_check {
        const char *mnemonic; /* upper case, from the X-macro */
        uint16_t lo;
        uint8_t width;
} layout_check;
#define _LAYOUT_CHECK_ROW(L, F, lo, w) [L##_##F] = { #F, (lo), (w) },
#define DEFINE_LAYOUT_CHECK(name, L, LIST) \
        const layout_check name##_check[_##L##_FIELD_MAX] = { LIST(_LAYOUT_CHECK_ROW) }

typedef enum layout_kind {
        LAYOUT_REGISTER,
        LAYOUT_ENTRY, /* a translation-structure entry in memory */
        _LAYOUT_KIND_MAX,
        _LAYOUT_KIND_INVALID = -EINVAL,
} layout_kind;

typedef enum layout_base {
        LAYOUT_BASE_FIXED, /* offset from the unit's register base */
        LAYOUT_BASE_IRO,   /* offset from ECAP.IRO * 16 (IVA, IOTLB) */
        LAYOUT_BASE_FRO,   /* offset from CAP.FRO * 16, one per record (FRCD) */
        _LAYOUT_BASE_MAX,
        _LAYOUT_BASE_INVALID = -EINVAL,
} layout_base;

/* Which units have a register: those with any of these CAP or ECAP bits
 * set (AFLOG: CAP.AFL; the invalidation queue registers: ECAP.QI).  None
 * at all: every unit has it. */
typedef struct layout_requires {
        uint64_t cap;
        uint64_t ecap;
} layout_requires;

typedef struct layout {
        const char *name;  /* "cap", "context" */
        const char *title; /* "Capability Register" */
        layout_kind kind;
        uint16_t width;           /* bits: 32, 64, 128, 256, 512 */
        layout_base base;         /* registers only */
        uint16_t offset;          /* registers only, relative to base */
        layout_requires requires; /* registers only */
        const field_desc *fields;
        size_t n_fields;
        const layout_check *check; /* the X-macro positions, for tests */
} layout;

/* Extract width bits at lo (0..511) from little-endian qwords. */
static inline uint64_t bits_get(const uint64_t *v, unsigned lo, unsigned width) {
        unsigned q = lo / 64, s = lo % 64;
        uint64_t r = v[q] >> s;
        if (s + width > 64)
                r |= v[q + 1] << (64 - s);
        return width >= 64 ? r : r & ((UINT64_C(1) << width) - 1);
}

static inline void bits_set(uint64_t *v, unsigned lo, unsigned width, uint64_t x) {
        unsigned q = lo / 64, s = lo % 64;
        uint64_t m = width >= 64 ? UINT64_MAX : (UINT64_C(1) << width) - 1;
        x &= m;
        v[q] = (v[q] & ~(m << s)) | (x << s);
        if (s + width > 64) {
                unsigned hi = s + width - 64;
                uint64_t mh = (UINT64_C(1) << hi) - 1;
                v[q + 1] = (v[q + 1] & ~mh) | (x >> (64 - s));
        }
}

/* Accessors generated from the X-macro positions: FIELD_GET(CAP, ND, &v). */
#define FIELD_GET(L, F, v) bits_get((v), L##_##F##_LO, L##_##F##_WIDTH)
#define FIELD_SET(L, F, v, x) bits_set((v), L##_##F##_LO, L##_##F##_WIDTH, (x))
#define FIELD_MASK64(L, F) \
        ((L##_##F##_WIDTH >= 64 ? UINT64_MAX : (UINT64_C(1) << L##_##F##_WIDTH) - 1) << (L##_##F##_LO % 64))

/* An address field as the aligned address it stands for (RTADDR.RTA). */
#define FIELD_ADDR(L, F, v) (FIELD_GET(L, F, v) << (L##_##F##_LO % 64))

/* In a descriptor table: [CAP_ND] = { FIELD_AT(CAP, ND), ... }. */
#define FIELD_AT(L, F) .lo = L##_##F##_LO, .width = L##_##F##_WIDTH

/* From an X-macro list of X(L, F, lo, width): the field index enum
 * (L_F, ending in _L_FIELD_MAX) and the L_F_LO / L_F_WIDTH constants. */
#define _LAYOUT_ENUM(L, F, lo, w) L##_##F,
#define _LAYOUT_POS(L, F, lo, w) L##_##F##_LO = (lo), L##_##F##_WIDTH = (w),
#define DEFINE_LAYOUT_FIELDS(L, LIST)                                            \
        typedef enum L##_field{ LIST(_LAYOUT_ENUM) _##L##_FIELD_MAX } L##_field; \
        enum { LIST(_LAYOUT_POS) }

const char *field_kind_to_string(field_kind k) _const_;
field_kind field_kind_from_string(const char *s);

uint64_t field_raw(const field_desc *f, const uint64_t *v);
/* Derived number of a FIELD_NUMBER with .derived, or the address of a
 * FIELD_ADDRESS. Returns false when the field has none (or it overflows). */
bool field_derived(const field_desc *f, uint64_t raw, uint64_t *ret);
/* Human meaning of a value, e.g. "65536 domains", "yes", "39-bit (3-level)".
 * Writes into buf and returns it; never fails (unknown values print ??N). */
const char *field_meaning(const field_desc *f, uint64_t raw, char *buf, size_t size);

/* Bits of the value not covered by any field of the layout.  v holds
 * (width + 63) / 64 qwords; ret always LAYOUT_MAX_QWORDS. */
void layout_reserved_bits(const layout *l, const uint64_t *v, uint64_t *ret);
bool layout_reserved_set(const layout *l, const uint64_t *v);

/* The decoded register or entry as the one JSON model:
 * { "register"|"entry": name, "title", "value", "fields": { mnemonic: { "raw",
 *   "bits", "title", "meaning", <derived> } }, "reserved": ... }. */
json_object *layout_to_json(const layout *l, const uint64_t *v);

/* Parse a hex or decimal number as wide as the layout into qwords. */
int layout_parse_value(const layout *l, const char *s, uint64_t *ret);
