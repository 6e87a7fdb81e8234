/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rules that tie the sections together (iommu-snapshot(5)): what META
 * must hold and of which JSON types, that UNITS are the DMAR table's DRHDs
 * one to one, and which registers a unit with registers carries.  The
 * reader applies them after each section passed on its own terms, the
 * writer before it writes, so whoever reads a snapshot later may take its
 * shape for granted.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decode/dmar.h"
#include "decode/layouts.h"
#include "decode/regs.h"
#include "snapshot/format.h"

typedef enum want {
        WANT_STRING,
        WANT_OBJECT,
        WANT_ARRAY,
        WANT_INTEGER, /* from 0 to max */
} want;

typedef struct member_rule {
        const char *key;
        want type;
        bool nullable;
        bool optional; /* may be left out; when there, as type says */
        uint64_t max;  /* WANT_INTEGER: the largest value; WANT_STRING: the most bytes, 0 for any */
} member_rule;

/* clang-format off */
static const member_rule meta_rules[] = {
        { .key = "units",     .type = WANT_ARRAY },
        { .key = "devices",   .type = WANT_ARRAY },
        { .key = "ram_error", .type = WANT_STRING, .nullable = true },
        { .key = "created",   .type = WANT_STRING, .optional = true },
        { .key = "host",      .type = WANT_STRING, .optional = true },
        { .key = "kernel",    .type = WANT_STRING, .optional = true },
        { .key = "tool",      .type = WANT_STRING, .optional = true },
};

static const member_rule unit_rules[] = {
        { .key = "name",            .type = WANT_STRING },
        { .key = "address",         .type = WANT_INTEGER, .max = UINT64_MAX },
        { .key = "sysfs",           .type = WANT_OBJECT, .nullable = true },
        { .key = "registers_error", .type = WANT_STRING, .nullable = true },
};

static const member_rule sysfs_rules[] = {
        { .key = "address", .type = WANT_INTEGER, .max = UINT64_MAX },
        { .key = "cap",     .type = WANT_INTEGER, .max = UINT64_MAX },
        { .key = "ecap",    .type = WANT_INTEGER, .max = UINT64_MAX },
        { .key = "version", .type = WANT_STRING, .max = 15 },
};

static const member_rule device_rules[] = {
        { .key = "bdf",             .type = WANT_STRING },
        { .key = "vendor",          .type = WANT_INTEGER, .max = UINT16_MAX },
        { .key = "device",          .type = WANT_INTEGER, .max = UINT16_MAX },
        { .key = "class",           .type = WANT_INTEGER, .max = UINT16_MAX },
        { .key = "name",            .type = WANT_STRING },
        { .key = "driver",          .type = WANT_STRING, .nullable = true },
        { .key = "group",           .type = WANT_INTEGER, .nullable = true, .max = INT32_MAX },
        { .key = "iommu",           .type = WANT_STRING, .nullable = true },
        { .key = "secondary_bus",   .type = WANT_INTEGER, .optional = true, .max = UINT8_MAX },
        { .key = "subordinate_bus", .type = WANT_INTEGER, .optional = true, .max = UINT8_MAX },
};
/* clang-format on */

static const char *type_noun(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_int:
                return "an integer";
        case json_type_double:
                return "a number with a fraction or an exponent";
        case json_type_string:
                return "a string";
        case json_type_array:
                return "an array";
        case json_type_object:
                return "an object";
        default:
                return "something else";
        }
}

/* "a string or null", "an integer from 0 to 65535", ... */
static const char *want_noun(const member_rule *m, char buf[static 64]) {
        const char *or_null = m->nullable ? " or null" : "";

        switch (m->type) {
        case WANT_STRING:
                if (m->max > 0)
                        (void) snprintf(buf, 64, "a string of at most %" PRIu64 " bytes%s", m->max, or_null);
                else
                        (void) snprintf(buf, 64, "a string%s", or_null);
                break;
        case WANT_OBJECT:
                (void) snprintf(buf, 64, "an object%s", or_null);
                break;
        case WANT_ARRAY:
                (void) snprintf(buf, 64, "an array%s", or_null);
                break;
        case WANT_INTEGER:
                if (m->max == UINT64_MAX)
                        (void) snprintf(buf, 64, "an integer from 0 to 2^64-1%s", or_null);
                else
                        (void) snprintf(buf, 64, "an integer from 0 to %" PRIu64 "%s", m->max, or_null);
                break;
        }
        return buf;
}

static bool member_fits(const member_rule *m, json_object *v) {
        switch (m->type) {
        case WANT_STRING:
                return json_object_is_type(v, json_type_string) &&
                       (m->max == 0 || (uint64_t) json_object_get_string_len(v) <= m->max);
        case WANT_OBJECT:
                return json_object_is_type(v, json_type_object);
        case WANT_ARRAY:
                return json_object_is_type(v, json_type_array);
        case WANT_INTEGER:
                /* int64 reads INT64_MAX for the uint64 range, uint64 reads 0 below 0 */
                return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0 &&
                       json_object_get_uint64(v) <= m->max;
        }
        return false;
}

/* Every member a rule names, present (unless optional) and of its type;
 * members no rule names are a later writer's, and ignored. */
static int check_members(json_object *o, const char *where, const member_rule *rules, size_t n,
                         iommu_error *why) {
        for (size_t i = 0; i < n; i++) {
                const member_rule *m = &rules[i];
                json_object *v;
                char noun[64], name[96];

                (void) snprintf(name, sizeof name, "%s%s%s", where, *where ? "." : "", m->key);
                if (!json_object_object_get_ex(o, m->key, &v)) {
                        if (m->optional)
                                continue;
                        return iommu_error_set(why, EBADMSG, "section META: %s is missing (expected %s)",
                                               name, want_noun(m, noun));
                }
                if (!v && m->nullable)
                        continue;
                if (!v || !member_fits(m, v)) {
                        char shown[48];

                        /* an integer as itself (out of range, or not wanted), a string by its
                         * length when it is too long, anything else by its type */
                        if (json_object_is_type(v, json_type_int))
                                (void) snprintf(shown, sizeof shown, "%s", json_object_to_json_string(v));
                        else if (json_object_is_type(v, json_type_string) && m->type == WANT_STRING)
                                (void) snprintf(shown, sizeof shown, "a string of %d bytes",
                                                json_object_get_string_len(v));
                        else
                                (void) snprintf(shown, sizeof shown, "%s", type_noun(v));
                        return iommu_error_set(why, EBADMSG, "section META: %s is %s (expected %s)", name,
                                               shown, want_noun(m, noun));
                }
        }
        return 0;
}

static json_object *member(json_object *o, const char *key) {
        json_object *v = NULL;

        (void) json_object_object_get_ex(o, key, &v);
        return v;
}

static const snapshot_reg *reg_find(const snapshot_unit *u, uint32_t offset) {
        size_t lo = 0, hi = u->n_regs;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (u->regs[mid].offset < offset)
                        lo = mid + 1;
                else if (u->regs[mid].offset > offset)
                        hi = mid;
                else
                        return &u->regs[mid];
        }
        return NULL;
}

static int need_reg(const snapshot_unit *u, const char *name, uint64_t offset, unsigned width, uint64_t *ret,
                    iommu_error *why) {
        const snapshot_reg *r = offset <= UINT32_MAX ? reg_find(u, (uint32_t) offset) : NULL;

        if (!r)
                return iommu_error_set(why, EBADMSG,
                                       "unit %s lacks register %s (offset 0x%" PRIx64 ", %u bits)", u->name,
                                       name, offset, width);
        if (r->width != width)
                return iommu_error_set(why, EBADMSG,
                                       "unit %s register %s (offset 0x%" PRIx64
                                       ") is %u bits wide (expected %u)",
                                       u->name, name, offset, r->width, width);
        if (ret)
                *ret = r->value;
        return 0;
}

/* A unit with registers carries what every read command uses: VER, CAP,
 * ECAP, GSTS, RTADDR and FSTS, and each fault recording register CAP.NFR
 * and CAP.FRO place (128 bits, as two 64-bit halves). */
static int check_registers(const snapshot_unit *u, iommu_error *why) {
        static const layout *const needed[] = {
                &layout_ver, &layout_cap, &layout_ecap, &layout_gsts, &layout_rtaddr, &layout_fsts,
        };
        uint64_t cap = 0, ecap = 0, frcd;
        unsigned nfr;
        int r;

        if (u->n_regs == 0)
                return 0;
        /* CAP and ECAP first: they say where the fault records are */
        r = need_reg(u, "CAP", layout_offset(&layout_cap, 0, 0), layout_cap.width, &cap, why);
        if (r >= 0)
                r = need_reg(u, "ECAP", layout_offset(&layout_ecap, 0, 0), layout_ecap.width, &ecap, why);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(needed); i++) {
                char name[16];
                size_t k;

                for (k = 0; needed[i]->name[k] && k + 1 < sizeof name; k++)
                        name[k] = (char) (needed[i]->name[k] & ~0x20); /* "gsts" -> "GSTS" */
                name[k] = '\0';
                r = need_reg(u, name, layout_offset(needed[i], cap, ecap), needed[i]->width, NULL, why);
        }
        if (r < 0)
                return r;

        nfr = (unsigned) FIELD_GET(CAP, NFR, &cap) + 1;
        frcd = layout_offset(&layout_frcd, cap, ecap);
        for (unsigned i = 0; i < nfr; i++) {
                char name[16];

                (void) snprintf(name, sizeof name, "FRCD%u", i);
                r = need_reg(u, name, frcd + (uint64_t) i * 16, 64, NULL, why);
                if (r >= 0)
                        r = need_reg(u, name, frcd + (uint64_t) i * 16 + 8, 64, NULL, why);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* UNITS are the DMAR table's DRHDs, in table order: as many, each at its
 * DRHD's register base and in its segment.  A table of length 0 (the
 * machine had none) describes no unit. */
static int check_dmar(const contents *c, iommu_error *why) {
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;
        iommu_error e = {};
        size_t k = 0, n_drhd = 0;
        int r;

        if (c->dmar_size == 0) {
                if (c->n_units > 0)
                        return iommu_error_set(
                                why, EBADMSG,
                                "section DMAR is empty (the machine had no table) but section "
                                "UNITS holds %zu unit%s",
                                c->n_units, c->n_units == 1 ? "" : "s");
                return 0;
        }
        r = dmar_parse(c->dmar, c->dmar_size, &t, &e);
        if (r < 0)
                return iommu_error_set(why, r == -ENOMEM ? ENOMEM : EBADMSG, "section DMAR: %s", e.message);

        for (size_t i = 0; i < t->n_structures; i++)
                n_drhd += t->structures[i].type == DMAR_TYPE_DRHD;
        if (n_drhd != c->n_units)
                return iommu_error_set(
                        why, EBADMSG,
                        "section UNITS holds %zu unit%s but the DMAR table has %zu DRHD%s (expected "
                        "one unit per DRHD)",
                        c->n_units, c->n_units == 1 ? "" : "s", n_drhd, n_drhd == 1 ? "" : "s");
        for (size_t i = 0; i < t->n_structures; i++) {
                const dmar_structure *d = &t->structures[i];
                const snapshot_unit *u;

                if (d->type != DMAR_TYPE_DRHD)
                        continue;
                u = &c->units[k];
                if (u->base != d->address || u->segment != d->segment)
                        return iommu_error_set(why, EBADMSG,
                                               "unit %s is at 0x%" PRIx64
                                               " in segment %u, but DRHD %zu of the "
                                               "DMAR table at 0x%" PRIx64 " in segment %u",
                                               u->name, u->base, u->segment, k, d->address, d->segment);
                k++;
        }
        return 0;
}

static int check_meta_units(const contents *c, json_object *units, iommu_error *why) {
        size_t n = json_object_array_length(units);

        if (n != c->n_units)
                return iommu_error_set(why, EBADMSG,
                                       "section META: units has %zu entr%s (expected %zu, one per unit in "
                                       "section UNITS)",
                                       n, n == 1 ? "y" : "ies", c->n_units);
        for (size_t i = 0; i < n; i++) {
                const snapshot_unit *u = &c->units[i];
                json_object *o = json_object_array_get_idx(units, i), *sysfs, *error;
                char where[32];
                int r;

                (void) snprintf(where, sizeof where, "units[%zu]", i);
                if (!json_object_is_type(o, json_type_object))
                        return iommu_error_set(why, EBADMSG, "section META: %s is %s (expected an object)",
                                               where, type_noun(o));
                r = check_members(o, where, unit_rules, ELEMENTSOF(unit_rules), why);
                if (r < 0)
                        return r;
                if (!streq(json_object_get_string(member(o, "name")), u->name))
                        return iommu_error_set(
                                why, EBADMSG,
                                "section META: %s.name is \"%.40s\" (expected \"%s\", unit %zu "
                                "of section UNITS)",
                                where, json_object_get_string(member(o, "name")), u->name, i);
                if (json_object_get_uint64(member(o, "address")) != u->base)
                        return iommu_error_set(why, EBADMSG,
                                               "section META: %s.address is 0x%" PRIx64
                                               " (expected 0x%" PRIx64 ", unit %s's base in section UNITS)",
                                               where, json_object_get_uint64(member(o, "address")), u->base,
                                               u->name);
                sysfs = member(o, "sysfs");
                if (sysfs) {
                        char sub[48];
                        (void) snprintf(sub, sizeof sub, "%s.sysfs", where);
                        r = check_members(sysfs, sub, sysfs_rules, ELEMENTSOF(sysfs_rules), why);
                        if (r < 0)
                                return r;
                }
                error = member(o, "registers_error");
                if (u->n_regs == 0 && !error)
                        return iommu_error_set(
                                why, EBADMSG,
                                "section META: %s.registers_error is null, but unit %s has no "
                                "registers (expected why)",
                                where, u->name);
                if (u->n_regs > 0 && error)
                        return iommu_error_set(
                                why, EBADMSG,
                                "section META: %s.registers_error is a string, but unit %s has "
                                "registers (expected null)",
                                where, u->name);
        }
        return 0;
}

/* SSSS:BB:DD.F in lower-case hex, device 0-0x1f, function 0-7: the form
 * every answer names devices in, compared as text. */
static bool bdf_canonical(const char *s) {
        static const char form[] = "xxxx:xx:xx.x";

        if (strlen(s) != sizeof form - 1)
                return false;
        for (size_t i = 0; form[i]; i++)
                if (form[i] == 'x' ? !strchr("0123456789abcdef", s[i]) || !s[i] : s[i] != form[i])
                        return false;
        return strchr("01", s[8]) && strchr("01234567", s[11]);
}

static int bdf_cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int check_meta_devices(json_object *devices, iommu_error *why) {
        size_t n = json_object_array_length(devices);
        _cleanup_free_ const char **bdfs = calloc(n ?: 1, sizeof *bdfs);

        if (!bdfs)
                return iommu_error_set(why, ENOMEM, "Out of memory");
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(devices, i);
                char where[32];
                int r;

                (void) snprintf(where, sizeof where, "devices[%zu]", i);
                if (!json_object_is_type(o, json_type_object))
                        return iommu_error_set(why, EBADMSG, "section META: %s is %s (expected an object)",
                                               where, type_noun(o));
                r = check_members(o, where, device_rules, ELEMENTSOF(device_rules), why);
                if (r < 0)
                        return r;
                bdfs[i] = json_object_get_string(member(o, "bdf"));
                if (!bdf_canonical(bdfs[i]))
                        return iommu_error_set(why, EBADMSG,
                                               "section META: %s.bdf is \"%.40s\" (expected SSSS:BB:DD.F in "
                                               "lower-case hex)",
                                               where, bdfs[i]);
                if (json_object_object_get_ex(o, "secondary_bus", NULL) !=
                    json_object_object_get_ex(o, "subordinate_bus", NULL))
                        return iommu_error_set(
                                why, EBADMSG,
                                "section META: %s has one of secondary_bus and subordinate_bus "
                                "(expected both, for a bridge, or neither)",
                                where);
        }
        qsort(bdfs, n, sizeof *bdfs, bdf_cmp);
        for (size_t i = 1; i < n; i++)
                if (streq(bdfs[i], bdfs[i - 1]))
                        return iommu_error_set(why, EBADMSG,
                                               "section META: device %s appears twice in devices", bdfs[i]);
        return 0;
}

int contents_check(const contents *c, iommu_error *why) {
        int r;

        r = check_dmar(c, why);
        for (size_t i = 0; r >= 0 && i < c->n_units; i++)
                r = check_registers(&c->units[i], why);
        if (r >= 0)
                r = check_members(c->meta, "", meta_rules, ELEMENTSOF(meta_rules), why);
        if (r >= 0)
                r = check_meta_units(c, member(c->meta, "units"), why);
        if (r >= 0)
                r = check_meta_devices(member(c->meta, "devices"), why);
        if (r >= 0 && member(c->meta, "ram_error") && c->n_pages > 0)
                r = iommu_error_set(
                        why, EBADMSG,
                        "section META: ram_error is a string, but section PAGE_INDEX lists %zu pages "
                        "(expected none)",
                        c->n_pages);
        return r;
}
