/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DMAR table as the one JSON model (names in DESIGN.md, "DMAR output").
 * Every allocation is checked: on failure the whole object is dropped and
 * NULL returned, never a half-filled model.
 */
#include <string.h>

#include "decode/dmar.h"

/* Takes v in every case. */
static int add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int append(json_object *a, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

#define ADD(o, key, v)                        \
        do {                                  \
                if (add((o), (key), (v)) < 0) \
                        return NULL;          \
        } while (0)

#define APPEND(a, v)                      \
        do {                              \
                if (append((a), (v)) < 0) \
                        return NULL;      \
        } while (0)

/* Firmware strings are bytes, not UTF-8: printable ASCII stays as it is,
 * anything else becomes \xNN (as SOURCES.md and iasl's hex dump show it),
 * so the JSON stays valid and nothing is hidden. */
static json_object *bytes_string(const char *s) {
        size_t n = strlen(s);
        _cleanup_free_ char *buf = malloc(n * 4 + 1);
        char *q = buf;

        if (!buf)
                return NULL;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                if (*c >= 0x20 && *c < 0x7f)
                        *q++ = (char) *c;
                else
                        q += sprintf(q, "\\x%02x", *c);
        *q = '\0';
        return json_object_new_string(buf);
}

static json_object *scope_to_json(const dmar_scope *sc) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *path;
        const char *type = dmar_scope_type_to_string((dmar_scope_type) sc->type_id);

        if (!o)
                return NULL;
        ADD(o, "type", json_object_new_string(type ?: "unknown"));
        if (!type)
                ADD(o, "type_id", json_object_new_int(sc->type_id));
        ADD(o, "flags", json_object_new_int(sc->flags));
        ADD(o, "enumeration_id", json_object_new_int(sc->enumeration_id));
        ADD(o, "start_bus", json_object_new_int(sc->start_bus));
        ADD(o, "path", path = json_object_new_array());
        for (size_t i = 0; i < sc->n_path; i++) {
                _cleanup_json_ json_object *hop = json_object_new_object();
                if (!hop)
                        return NULL;
                ADD(hop, "device", json_object_new_int(sc->path[i].device));
                ADD(hop, "function", json_object_new_int(sc->path[i].function));
                APPEND(path, TAKE_PTR(hop));
        }
        return TAKE_PTR(o);
}

static json_object *scopes_to_json(const dmar_structure *s) {
        _cleanup_json_ json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < s->n_scopes; i++)
                APPEND(a, scope_to_json(&s->scopes[i]));
        return TAKE_PTR(a);
}

static json_object *structure_to_json(const dmar_table *t, const dmar_structure *s) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        ADD(o, "type", json_object_new_string(dmar_type_to_string(s->type)));
        ADD(o, "offset", json_object_new_uint64(s->offset));
        ADD(o, "length", json_object_new_int(s->length));

        switch (s->type) {
        case DMAR_TYPE_DRHD:
                ADD(o, "flags", json_object_new_int(s->flags));
                ADD(o, "include_pci_all", json_object_new_boolean(s->flags & DMAR_DRHD_INCLUDE_PCI_ALL));
                ADD(o, "segment", json_object_new_int(s->segment));
                ADD(o, "address", json_object_new_uint64(s->address));
                if (dmar_drhd_has_size(t, s))
                        ADD(o, "size", json_object_new_uint64(dmar_drhd_register_size(t, s) / 4096));
                else if (json_object_object_add(o, "size", NULL) < 0)
                        return NULL;
                ADD(o, "scope", scopes_to_json(s));
                break;
        case DMAR_TYPE_RMRR:
                ADD(o, "segment", json_object_new_int(s->segment));
                ADD(o, "base", json_object_new_uint64(s->base));
                ADD(o, "limit", json_object_new_uint64(s->limit));
                ADD(o, "scope", scopes_to_json(s));
                break;
        case DMAR_TYPE_ATSR:
                ADD(o, "flags", json_object_new_int(s->flags));
                ADD(o, "all_ports", json_object_new_boolean(s->flags & DMAR_ATSR_ALL_PORTS));
                ADD(o, "segment", json_object_new_int(s->segment));
                ADD(o, "scope", scopes_to_json(s));
                break;
        case DMAR_TYPE_RHSA:
                ADD(o, "address", json_object_new_uint64(s->address));
                ADD(o, "proximity_domain", json_object_new_uint64(s->proximity_domain));
                break;
        case DMAR_TYPE_ANDD:
                ADD(o, "acpi_device_number", json_object_new_int(s->acpi_device_number));
                ADD(o, "object_name", bytes_string(s->object_name ?: ""));
                break;
        case DMAR_TYPE_SATC:
                ADD(o, "flags", json_object_new_int(s->flags));
                ADD(o, "atc_required", json_object_new_boolean(s->flags & DMAR_SATC_ATC_REQUIRED));
                ADD(o, "segment", json_object_new_int(s->segment));
                ADD(o, "scope", scopes_to_json(s));
                break;
        case DMAR_TYPE_SIDP:
                ADD(o, "segment", json_object_new_int(s->segment));
                ADD(o, "scope", scopes_to_json(s));
                break;
        case DMAR_TYPE_UNKNOWN:
        default:
                ADD(o, "type_id", json_object_new_int(s->type_id));
                break;
        }
        return TAKE_PTR(o);
}

json_object *dmar_to_json(const dmar_table *t) {
        _cleanup_json_ json_object *o = NULL;
        json_object *flags, *structures, *warnings;

        if (!t)
                return NULL;
        o = json_object_new_object();
        if (!o)
                return NULL;

        ADD(o, "signature", bytes_string(t->signature));
        ADD(o, "length", json_object_new_uint64(t->length));
        ADD(o, "revision", json_object_new_int(t->revision));
        ADD(o, "checksum", json_object_new_int(t->checksum));
        ADD(o, "checksum_valid", json_object_new_boolean(t->checksum_valid));
        ADD(o, "oem_id", bytes_string(t->oem_id));
        ADD(o, "oem_table_id", bytes_string(t->oem_table_id));
        ADD(o, "oem_revision", json_object_new_uint64(t->oem_revision));
        ADD(o, "creator_id", bytes_string(t->creator_id));
        ADD(o, "creator_revision", json_object_new_uint64(t->creator_revision));
        ADD(o, "host_address_width", json_object_new_int(t->host_address_width));

        ADD(o, "flags", flags = json_object_new_object());
        ADD(flags, "raw", json_object_new_int(t->flags));
        /* json-c keeps a boolean's int as given: 2 or 4 would print as true
         * yet compare unequal to true (json_object_equal) */
        ADD(flags, "intr_remap", json_object_new_boolean((t->flags & DMAR_FLAG_INTR_REMAP) != 0));
        ADD(flags, "x2apic_opt_out", json_object_new_boolean((t->flags & DMAR_FLAG_X2APIC_OPT_OUT) != 0));
        ADD(flags, "dma_ctrl_platform_opt_in",
            json_object_new_boolean((t->flags & DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN) != 0));

        ADD(o, "structures", structures = json_object_new_array());
        for (size_t i = 0; i < t->n_structures; i++)
                APPEND(structures, structure_to_json(t, &t->structures[i]));

        ADD(o, "warnings", warnings = json_object_new_array());
        for (size_t i = 0; i < t->n_warnings; i++)
                APPEND(warnings, bytes_string(t->warnings[i]));

        return TAKE_PTR(o);
}
