/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Prometheus text format, version 0.0.4: per family one "# HELP" and one
 * "# TYPE" line, then its samples, each family in one block.  Samples are
 * gathered per family and written once the family is complete, so that a
 * series the model happens to give twice (two units of one name, say) is
 * written once, the first time.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "basic/alloc-util.h"
#include "basic/json-util.h"
#include "decode/regs.h"
#include "model/metrics.h"

typedef enum metric_type {
        METRIC_GAUGE,
        METRIC_COUNTER,
        _METRIC_TYPE_MAX,
} metric_type;

static const char *const metric_type_names[] = {
        [METRIC_GAUGE] = "gauge",
        [METRIC_COUNTER] = "counter",
};

typedef enum family_id {
        F_UNIT_INFO,
        F_REGISTERS_READABLE,
        F_TRANSLATION_ENABLED,
        F_QUEUED_INVALIDATION_ENABLED,
        F_INTERRUPT_REMAPPING_ENABLED,
        F_MGAW,
        F_SAGAW,
        F_DOMAINS_SUPPORTED,
        F_DOMAINS_USED,
        F_MAPPED_BYTES,
        F_DEVICES,
        F_FAULT_RECORDS_PENDING,
        F_FAULTS,
        F_FAULT_OVERFLOWS,
        F_LAST_FAULT,
        F_INVQ_OBSERVED,
        F_INVALIDATIONS,
        F_INVQ_OVERRUNS,
        F_OWNED_UNITS,
        F_OWNED_DOMAINS,
        F_OWNED_ATTACHED,
        F_UNIT_DEGRADED,
        F_INVALIDATIONS_ISSUED,
        F_FAULT_RECORDS_CLEARED,
        F_SCRAPE_ERROR,
        F_BUILD_INFO,
        F_SCRAPE_DURATION,
        _F_MAX,
} family_id;

static const struct family {
        const char *name;
        metric_type type;
        const char *help;
} families[] = {
        [F_UNIT_INFO] = {
                .name = "iommu_unit_info",
                .type = METRIC_GAUGE,
                .help = "A DMA remapping unit: register base address, VT-d version, translation table "
                        "mode and owner; always 1",
        },
        [F_REGISTERS_READABLE] = {
                .name = "iommu_unit_registers_readable",
                .type = METRIC_GAUGE,
                .help = "Whether the unit's registers could be read (1) or only what sysfs tells (0)",
        },
        [F_TRANSLATION_ENABLED] = {
                .name = "iommu_translation_enabled",
                .type = METRIC_GAUGE,
                .help = "DMA remapping enabled (GSTS.TES)",
        },
        [F_QUEUED_INVALIDATION_ENABLED] = {
                .name = "iommu_queued_invalidation_enabled",
                .type = METRIC_GAUGE,
                .help = "Queued invalidation enabled (GSTS.QIES)",
        },
        [F_INTERRUPT_REMAPPING_ENABLED] = {
                .name = "iommu_interrupt_remapping_enabled",
                .type = METRIC_GAUGE,
                .help = "Interrupt remapping enabled (GSTS.IRES)",
        },
        [F_MGAW] = {
                .name = "iommu_max_guest_address_width",
                .type = METRIC_GAUGE,
                .help = "Maximum guest address width the unit supports, in bits (CAP.MGAW)",
        },
        [F_SAGAW] = {
                .name = "iommu_adjusted_guest_address_width_info",
                .type = METRIC_GAUGE,
                .help = "An adjusted guest address width (page-table depth) the unit supports, in bits "
                        "(CAP.SAGAW); always 1",
        },
        [F_DOMAINS_SUPPORTED] = {
                .name = "iommu_domains_supported",
                .type = METRIC_GAUGE,
                .help = "Number of domain IDs the unit supports (CAP.ND)",
        },
        [F_DOMAINS_USED] = {
                .name = "iommu_domains_used",
                .type = METRIC_GAUGE,
                .help = "Distinct domain IDs in the unit's context and PASID entries",
        },
        [F_MAPPED_BYTES] = {
                .name = "iommu_mapped_bytes",
                .type = METRIC_GAUGE,
                .help = "Bytes of I/O virtual address space the domain's page tables map (ranges shared "
                        "by several devices counted once)",
        },
        [F_DEVICES] = {
                .name = "iommu_devices",
                .type = METRIC_GAUGE,
                .help = "PCI devices by the unit translating them and the translation of their requests "
                        "without PASID",
        },
        [F_FAULT_RECORDS_PENDING] = {
                .name = "iommu_fault_records_pending",
                .type = METRIC_GAUGE,
                .help = "Fault recording registers holding a fault now (F set)",
        },
        [F_FAULTS] = {
                .name = "iommu_faults_total",
                .type = METRIC_COUNTER,
                .help = "DMA faults iommud logged since it started, by fault reason code (FRCD.FR, hex)",
        },
        [F_FAULT_OVERFLOWS] = {
                .name = "iommu_fault_overflows_total",
                .type = METRIC_COUNTER,
                .help = "Times iommud saw the primary fault overflow bit (FSTS.PFO) newly set: faults "
                        "were lost",
        },
        [F_LAST_FAULT] = {
                .name = "iommu_last_fault_timestamp_seconds",
                .type = METRIC_GAUGE,
                .help = "When iommud logged the unit's latest DMA fault, in seconds since the epoch",
        },
        [F_INVQ_OBSERVED] = {
                .name = "iommu_invalidation_queue_observed",
                .type = METRIC_GAUGE,
                .help = "Whether iommud could read the unit's invalidation queue at its last poll: "
                        "iommu_invalidations_total counts only while this is 1",
        },
        [F_INVALIDATIONS] = {
                .name = "iommu_invalidations_total",
                .type = METRIC_COUNTER,
                .help = "Descriptors seen passing through the unit's invalidation queue since iommud "
                        "started, by type and granularity; a lower bound, see "
                        "iommu_invalidation_queue_overruns_total",
        },
        [F_INVQ_OVERRUNS] = {
                .name = "iommu_invalidation_queue_overruns_total",
                .type = METRIC_COUNTER,
                .help = "Polls that found more descriptors had passed through the invalidation queue than "
                        "it holds: iommu_invalidations_total missed some",
        },
        [F_OWNED_UNITS] = {
                .name = "iommu_owned_units",
                .type = METRIC_GAUGE,
                .help = "Remapping units iommud owns now",
        },
        [F_OWNED_DOMAINS] = {
                .name = "iommu_owned_domains",
                .type = METRIC_GAUGE,
                .help = "Domains of a unit iommud owns, by type (the default policy's included)",
        },
        [F_OWNED_ATTACHED] = {
                .name = "iommu_owned_attached_devices",
                .type = METRIC_GAUGE,
                .help = "Devices attached to a domain of a unit iommud owns (the others follow the default "
                        "policy)",
        },
        [F_UNIT_DEGRADED] = {
                .name = "iommu_unit_degraded",
                .type = METRIC_GAUGE,
                .help = "Whether a unit is degraded (1): iommud found it translating and could not take it "
                        "back, and refuses every change to it until an administrator gives it back",
        },
        [F_INVALIDATIONS_ISSUED] = {
                .name = "iommu_invalidations_issued_total",
                .type = METRIC_COUNTER,
                .help = "Invalidations iommud issued to the units it owns since it started, by type and "
                        "granularity",
        },
        [F_FAULT_RECORDS_CLEARED] = {
                .name = "iommu_fault_records_cleared_total",
                .type = METRIC_COUNTER,
                .help = "Fault recording registers iommud cleared on the units it owns since it started",
        },
        [F_SCRAPE_ERROR] = {
                .name = "iommu_scrape_error",
                .type = METRIC_GAUGE,
                .help = "Whether a part of the model could not be computed for this scrape (1), so its "
                        "metrics are missing",
        },
        [F_BUILD_INFO] = {
                .name = "iommud_build_info",
                .type = METRIC_GAUGE,
                .help = "The running iommud's version; always 1",
        },
        [F_SCRAPE_DURATION] = {
                .name = "iommud_scrape_duration_seconds",
                .type = METRIC_GAUGE,
                .help = "How long gathering and rendering these metrics took",
        },
};
static_assert(ELEMENTSOF(families) == _F_MAX, "families");

const char *metrics_family(size_t i, const char **ret_type, const char **ret_help) {
        if (i >= _F_MAX)
                return NULL;
        if (ret_type)
                *ret_type = metric_type_names[families[i].type];
        if (ret_help)
                *ret_help = families[i].help;
        return families[i].name;
}

/* ---- writing ---- */

typedef struct sample {
        char *series; /* name{labels}, the identity */
        char *value;
        size_t order;
} sample;

typedef struct renderer {
        FILE *f;
        int error; /* first errno */
        family_id family;
        sample *samples;
        size_t n, size;
} renderer;

static void fail(renderer *r, int error) {
        if (!r->error)
                r->error = error;
}

static void put_escaped(FILE *f, const char *s, bool quote) {
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else if (*s == '"' && quote)
                        fputs("\\\"", f);
                else
                        fputc(*s, f);
        }
}

static void begin(renderer *r, family_id id) {
        r->family = id;
        r->n = 0;
}

/* labels: name, value, name, value, ..., NULL.  A value NULL (a member of
 * the wrong type) leaves the sample out. */
static void emit(renderer *r, const char *const *labels, const char *value) {
        char *series = NULL;
        size_t len = 0;
        FILE *f;

        if (r->error)
                return;
        for (size_t i = 0; labels && labels[i]; i += 2)
                if (!labels[i + 1])
                        return;
        f = open_memstream(&series, &len);
        if (!f) {
                fail(r, ENOMEM);
                return;
        }
        fputs(families[r->family].name, f);
        for (size_t i = 0; labels && labels[i]; i += 2) {
                fprintf(f, "%s%s=\"", i == 0 ? "{" : ",", labels[i]);
                put_escaped(f, labels[i + 1], true);
                fputc('"', f);
        }
        if (labels && labels[0])
                fputc('}', f);
        if (fclose(f) != 0 || !series) {
                free(series);
                fail(r, ENOMEM);
                return;
        }
        if (!GREEDY_REALLOC_MIN(r->samples, r->size, r->n + 1, 64)) {
                free(series);
                fail(r, ENOMEM);
                return;
        }
        r->samples[r->n] = (sample){ .series = series, .value = strdup(value), .order = r->n };
        if (!r->samples[r->n].value) {
                free(series);
                fail(r, ENOMEM);
                return;
        }
        r->n++;
}

static void emit_u64(renderer *r, const char *const *labels, uint64_t v) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRIu64, v);
        emit(r, labels, buf);
}

static int cmp_series(const void *a, const void *b) {
        const sample *x = a, *y = b;
        int c = strcmp(x->series, y->series);
        return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_order(const void *a, const void *b) {
        const sample *x = a, *y = b;
        return (x->order > y->order) - (x->order < y->order);
}

/* The family's header and its samples, in the order they came, each series
 * once. */
static void end(renderer *r) {
        const struct family *fam = &families[r->family];
        size_t kept = 0;

        if (!r->error && r->n > 0) {
                qsort(r->samples, r->n, sizeof *r->samples, cmp_series);
                for (size_t i = 0; i < r->n; i++) {
                        if (kept > 0 && streq(r->samples[kept - 1].series, r->samples[i].series)) {
                                free(r->samples[i].series);
                                free(r->samples[i].value);
                                continue;
                        }
                        r->samples[kept++] = r->samples[i];
                }
                r->n = kept;
                qsort(r->samples, r->n, sizeof *r->samples, cmp_order);

                fprintf(r->f, "# HELP %s ", fam->name);
                put_escaped(r->f, fam->help, false);
                fprintf(r->f, "\n# TYPE %s %s\n", fam->name, metric_type_names[fam->type]);
                for (size_t i = 0; i < r->n; i++)
                        fprintf(r->f, "%s %s\n", r->samples[i].series, r->samples[i].value);
        }
        for (size_t i = 0; i < r->n; i++) {
                free(r->samples[i].series);
                free(r->samples[i].value);
        }
        r->n = 0;
}

/* ---- reading the model ----
 *
 * The model may come from another version of iommud: every member is
 * looked at with its type.  A member missing, null or of another type
 * leaves out the samples it feeds, never more and never with a made-up
 * value; where the model itself says null (an unknown version, a device
 * without unit), the sample takes the fallback iommud(8) documents. */

/* The member when it has type t; NULL when o is no object, or the member
 * is absent, null or of another type. */
static json_object *member(json_object *o, const char *key, json_type t) {
        json_object *v = json_get(o, key);
        return json_object_is_type(v, t) ? v : NULL;
}

static json_object *array_of(json_object *o, const char *key) {
        return member(o, key, json_type_array);
}

static size_t length_of(json_object *a) {
        return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* The i-th element of an array when it is an object, else NULL. */
static json_object *object_at(json_object *a, size_t i) {
        json_object *o = i < length_of(a) ? json_object_array_get_idx(a, i) : NULL;
        return json_object_is_type(o, json_type_object) ? o : NULL;
}

/* An integer from 0 to max. */
static bool uint_of(json_object *v, uint64_t max, uint64_t *ret) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
            json_object_get_uint64(v) > max)
                return false;
        *ret = json_object_get_uint64(v);
        return true;
}

static bool uint_member(json_object *o, const char *key, uint64_t max, uint64_t *ret) {
        return uint_of(json_get(o, key), max, ret);
}

/* A label from a string member: its text, fallback when it is absent or
 * null, NULL (the sample is left out) when it has another type. */
static const char *label_of(json_object *o, const char *key, const char *fallback) {
        json_object *v = json_get(o, key);

        if (!v)
                return fallback;
        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* The "name" of a unit object; NULL (the unit is left out) without one. */
static const char *name_of(json_object *u) {
        json_object *v = member(u, "name", json_type_string);
        return v ? json_object_get_string(v) : NULL;
}

/* A decoded register's derived number as the register's descriptor table
 * names it: <reg>.fields.<name>.<derived>. */
static json_object *reg_derived(json_object *unit, const char *reg, const layout *l, unsigned field) {
        json_object *fields = member(member(unit, reg, json_type_object), "fields", json_type_object);
        return json_get(member(fields, l->fields[field].name, json_type_object), l->fields[field].derived);
}

/* A number CAP derives, per unit. */
static void cap_family(renderer *r, json_object *units, family_id family, unsigned field) {
        begin(r, family);
        for (size_t i = 0; i < length_of(units); i++) {
                json_object *u = object_at(units, i);
                uint64_t v;

                if (uint_of(reg_derived(u, "cap", &layout_cap, field), UINT64_MAX, &v))
                        emit_u64(r, (const char *const[]){ "unit", name_of(u), NULL }, v);
        }
        end(r);
}

static void unit_families(renderer *r, json_object *units) {
        static const struct {
                family_id family;
                const char *key;
        } flags[] = {
                { F_TRANSLATION_ENABLED, "translation_enabled" },
                { F_QUEUED_INVALIDATION_ENABLED, "queued_invalidation" },
                { F_INTERRUPT_REMAPPING_ENABLED, "interrupt_remapping" },
        };
        size_t n = length_of(units);

        begin(r, F_UNIT_INFO);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(units, i);
                char address[32];
                uint64_t a;

                if (!uint_member(u, "address", UINT64_MAX, &a))
                        continue;
                snprintf(address, sizeof address, "0x%" PRIx64, a);
                emit(r,
                     (const char *const[]){ "unit", name_of(u), "address", address, "version",
                                            label_of(u, "version", "unknown"), "mode",
                                            label_of(u, "mode", "unknown"), "owner",
                                            label_of(u, "owner", "unknown"), NULL },
                     "1");
        }
        end(r);

        begin(r, F_REGISTERS_READABLE);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(units, i);
                json_object *e = json_get(u, "registers_error");

                /* null: read; a string: why not */
                if (!e || json_object_is_type(e, json_type_string))
                        emit(r, (const char *const[]){ "unit", name_of(u), NULL }, e ? "0" : "1");
        }
        end(r);

        for (size_t k = 0; k < ELEMENTSOF(flags); k++) {
                begin(r, flags[k].family);
                for (size_t i = 0; i < n; i++) {
                        json_object *u = object_at(units, i);
                        json_object *v = member(u, flags[k].key, json_type_boolean);

                        /* null: the registers could not be read */
                        if (v)
                                emit(r, (const char *const[]){ "unit", name_of(u), NULL },
                                     json_object_get_boolean(v) ? "1" : "0");
                }
                end(r);
        }

        cap_family(r, units, F_MGAW, CAP_MGAW);

        begin(r, F_SAGAW);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(units, i);
                json_object *widths = reg_derived(u, "cap", &layout_cap, CAP_SAGAW);

                for (size_t k = 0; k < length_of(widths); k++) {
                        char bits[32];
                        uint64_t w;

                        if (!uint_of(json_object_array_get_idx(widths, k), UINT64_MAX, &w))
                                continue;
                        snprintf(bits, sizeof bits, "%" PRIu64, w);
                        emit(r, (const char *const[]){ "unit", name_of(u), "bits", bits, NULL }, "1");
                }
        }
        end(r);

        cap_family(r, units, F_DOMAINS_SUPPORTED, CAP_ND);
}

/* A domain of a unit, as the devices or the mapped bytes name it. */
typedef struct domain_entry {
        const char *unit; /* borrowed from the model */
        int64_t did;
        size_t order; /* in the model: the first entry of a domain decides */
        bool mapped;  /* from the mapped bytes (else a device's) */
        bool known;   /* mapped: bytes read */
        uint64_t bytes;
} domain_entry;

typedef struct domain_entries {
        domain_entry *v;
        size_t n, size;
} domain_entries;

static int add_domain(domain_entries *d, const char *unit, int64_t did, bool mapped, bool known,
                      uint64_t bytes) {
        if (!GREEDY_REALLOC_MIN(d->v, d->size, d->n + 1, 64))
                return -ENOMEM;
        d->v[d->n] = (domain_entry){
                .unit = unit, .did = did, .order = d->n, .mapped = mapped, .known = known, .bytes = bytes
        };
        d->n++;
        return 0;
}

/* By unit and domain; within one, the mapped bytes first, in model order. */
static int cmp_domain(const void *a, const void *b) {
        const domain_entry *x = a, *y = b;
        int c = strcmp(x->unit, y->unit);

        if (c)
                return c;
        if (x->did != y->did)
                return x->did < y->did ? -1 : 1;
        if (x->mapped != y->mapped)
                return x->mapped ? -1 : 1;
        return (x->order > y->order) - (x->order < y->order);
}

static bool same_domain(const domain_entry *a, const domain_entry *b) {
        return a->did == b->did && streq(a->unit, b->unit);
}

/* The unit and domain of a device or a mapped-bytes entry: false when it
 * has none (a device no unit translates). */
static bool domain_of(json_object *o, const char **ret_unit, uint64_t *ret_did) {
        json_object *unit = member(o, "unit", json_type_string);

        if (!unit || !uint_member(o, "domain", UINT16_MAX, ret_did))
                return false;
        *ret_unit = json_object_get_string(unit);
        return true;
}

/* The domains of devices and of the mapped bytes, sorted by unit and
 * domain. */
static int collect_domains(json_object *devices, json_object *mapped, domain_entries *d) {
        const char *unit;
        uint64_t did, bytes;

        for (size_t i = 0; i < length_of(mapped); i++) {
                json_object *o = object_at(mapped, i);
                bool known;

                if (!domain_of(o, &unit, &did))
                        continue;
                known = uint_member(o, "mapped_bytes", UINT64_MAX, &bytes);
                if (add_domain(d, unit, (int64_t) did, true, known, known ? bytes : 0) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < length_of(devices); i++)
                if (domain_of(object_at(devices, i), &unit, &did) &&
                    add_domain(d, unit, (int64_t) did, false, false, 0) < 0)
                        return -ENOMEM;
        if (d->n > 0)
                qsort(d->v, d->n, sizeof *d->v, cmp_domain);
        return 0;
}

static void domain_families(renderer *r, json_object *units, json_object *devices, json_object *mapped) {
        _cleanup_free_ domain_entry *v = NULL;
        domain_entries d = {};
        char did[32];

        if (collect_domains(devices, mapped, &d) < 0) {
                free(d.v);
                fail(r, ENOMEM);
                return;
        }
        v = d.v;

        /* every unit the model knows, with 0 where it has no domain */
        begin(r, F_DOMAINS_USED);
        for (size_t i = 0; i < length_of(units); i++) {
                const char *name = name_of(object_at(units, i));
                uint64_t used = 0;

                for (size_t k = 0; name && k < d.n; k++)
                        if (streq(v[k].unit, name) && (k == 0 || !same_domain(&v[k - 1], &v[k])))
                                used++;
                emit_u64(r, (const char *const[]){ "unit", name, NULL }, used);
        }
        end(r);

        if (!mapped)
                return;
        /* a domain only a device names maps nothing the walk found; one whose
         * entry has no readable figure is left out */
        begin(r, F_MAPPED_BYTES);
        for (size_t k = 0; k < d.n; k++) {
                if (k > 0 && same_domain(&v[k - 1], &v[k]))
                        continue;
                if (v[k].mapped && !v[k].known)
                        continue;
                snprintf(did, sizeof did, "%" PRId64, v[k].did);
                emit_u64(r, (const char *const[]){ "unit", v[k].unit, "domain", did, NULL }, v[k].bytes);
        }
        end(r);
}

typedef struct device_count {
        const char *unit, *translation;
        uint64_t n;
} device_count;

static void device_family(renderer *r, json_object *devices) {
        size_t n = length_of(devices), used = 0;
        _cleanup_free_ device_count *c = calloc(n ?: 1, sizeof *c);

        if (!c) {
                fail(r, ENOMEM);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *dev = object_at(devices, i);
                /* null: no unit translates it; its tables cannot be read */
                const char *unit = label_of(dev, "unit", "none");
                const char *translation = label_of(dev, "translation", "unknown");
                size_t k;

                if (!dev || !unit || !translation)
                        continue;
                for (k = 0; k < used; k++)
                        if (streq(c[k].unit, unit) && streq(c[k].translation, translation))
                                break;
                if (k == used)
                        c[used++] = (device_count){ .unit = unit, .translation = translation };
                c[k].n++;
        }
        begin(r, F_DEVICES);
        for (size_t k = 0; k < used; k++)
                emit_u64(r,
                         (const char *const[]){ "unit", c[k].unit, "translation", c[k].translation, NULL },
                         c[k].n);
        end(r);
}

static void fault_families(renderer *r, json_object *faults, json_object *daemon_units) {
        json_object *units = array_of(faults, "units");
        size_t n = length_of(daemon_units);

        begin(r, F_FAULT_RECORDS_PENDING);
        for (size_t i = 0; i < length_of(units); i++) {
                json_object *u = object_at(units, i);
                json_object *records = array_of(u, "faults");

                /* null: the registers could not be read */
                if (records)
                        emit_u64(r, (const char *const[]){ "unit", name_of(u), NULL }, length_of(records));
        }
        end(r);

        begin(r, F_FAULTS);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(daemon_units, i);
                json_object *counts = array_of(u, "faults");

                for (size_t k = 0; k < length_of(counts); k++) {
                        json_object *c = object_at(counts, k);
                        uint64_t code, count;
                        char reason[16];

                        if (!uint_member(c, "reason", 0xff, &code) ||
                            !uint_member(c, "count", UINT64_MAX, &count))
                                continue;
                        snprintf(reason, sizeof reason, "0x%02" PRIx64, code);
                        emit_u64(r, (const char *const[]){ "unit", name_of(u), "reason", reason, NULL },
                                 count);
                }
        }
        end(r);

        begin(r, F_FAULT_OVERFLOWS);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(daemon_units, i);
                uint64_t v;

                if (uint_member(u, "fault_overflows", UINT64_MAX, &v))
                        emit_u64(r, (const char *const[]){ "unit", name_of(u), NULL }, v);
        }
        end(r);

        begin(r, F_LAST_FAULT);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(daemon_units, i);
                char value[48];
                uint64_t usec;

                if (!uint_member(u, "last_fault_usec", UINT64_MAX, &usec))
                        continue;
                snprintf(value, sizeof value, "%" PRIu64 ".%06" PRIu64, usec / 1000000, usec % 1000000);
                emit(r, (const char *const[]){ "unit", name_of(u), NULL }, value);
        }
        end(r);
}

static void invalidation_families(renderer *r, json_object *daemon_units) {
        size_t n = length_of(daemon_units);

        begin(r, F_INVQ_OBSERVED);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(daemon_units, i);
                json_object *q = member(u, "invalidation_queue", json_type_object);
                json_object *observed = member(q, "observed", json_type_boolean);

                /* absent: not watched at all (a snapshot) */
                if (observed)
                        emit(r, (const char *const[]){ "unit", name_of(u), NULL },
                             json_object_get_boolean(observed) ? "1" : "0");
        }
        end(r);

        begin(r, F_INVALIDATIONS);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(daemon_units, i);
                json_object *list =
                        array_of(member(u, "invalidation_queue", json_type_object), "descriptors");

                for (size_t k = 0; k < length_of(list); k++) {
                        json_object *c = object_at(list, k);
                        json_object *type = member(c, "type", json_type_string);
                        json_object *granularity = member(c, "granularity", json_type_string);
                        uint64_t count;

                        if (type && granularity && uint_member(c, "count", UINT64_MAX, &count))
                                emit_u64(r,
                                         (const char *const[]){ "unit", name_of(u), "type",
                                                                json_object_get_string(type), "granularity",
                                                                json_object_get_string(granularity), NULL },
                                         count);
                }
        }
        end(r);

        begin(r, F_INVQ_OVERRUNS);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(daemon_units, i);
                uint64_t v;

                if (uint_member(member(u, "invalidation_queue", json_type_object), "overruns", UINT64_MAX,
                                &v))
                        emit_u64(r, (const char *const[]){ "unit", name_of(u), NULL }, v);
        }
        end(r);
}

/* The units iommud owns: the daemon object's "control". */
static void control_families(renderer *r, json_object *control) {
        json_object *units = array_of(control, "units");
        size_t n = length_of(units);
        uint64_t v;

        begin(r, F_OWNED_UNITS);
        if (uint_member(control, "owned_units", UINT64_MAX, &v))
                emit_u64(r, NULL, v);
        end(r);

        begin(r, F_OWNED_DOMAINS);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(units, i), *types = array_of(u, "domains");

                for (size_t k = 0; k < length_of(types); k++) {
                        json_object *t = object_at(types, k), *type = member(t, "type", json_type_string);

                        if (type && uint_member(t, "count", UINT64_MAX, &v))
                                emit_u64(r,
                                         (const char *const[]){ "unit", name_of(u), "type",
                                                                json_object_get_string(type), NULL },
                                         v);
                }
        }
        end(r);

        begin(r, F_OWNED_ATTACHED);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(units, i);

                if (uint_member(u, "attached_devices", UINT64_MAX, &v))
                        emit_u64(r, (const char *const[]){ "unit", name_of(u), NULL }, v);
        }
        end(r);

        begin(r, F_UNIT_DEGRADED);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(units, i), *d = member(u, "degraded", json_type_boolean);

                if (d)
                        emit_u64(r, (const char *const[]){ "unit", name_of(u), NULL },
                                 json_object_get_boolean(d) ? 1 : 0);
        }
        end(r);

        begin(r, F_INVALIDATIONS_ISSUED);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(units, i), *list = array_of(u, "invalidations");

                for (size_t k = 0; k < length_of(list); k++) {
                        json_object *c = object_at(list, k);
                        json_object *type = member(c, "type", json_type_string);
                        json_object *granularity = member(c, "granularity", json_type_string);

                        if (type && granularity && uint_member(c, "count", UINT64_MAX, &v))
                                emit_u64(r,
                                         (const char *const[]){ "unit", name_of(u), "type",
                                                                json_object_get_string(type), "granularity",
                                                                json_object_get_string(granularity), NULL },
                                         v);
                }
        }
        end(r);

        begin(r, F_FAULT_RECORDS_CLEARED);
        for (size_t i = 0; i < n; i++) {
                json_object *u = object_at(units, i);

                if (uint_member(u, "fault_records_cleared", UINT64_MAX, &v))
                        emit_u64(r, (const char *const[]){ "unit", name_of(u), NULL }, v);
        }
        end(r);
}

int metrics_render(json_object *info, json_object *devices, json_object *mapped, json_object *faults,
                   json_object *daemon, char **ret, size_t *ret_size, iommu_error *err) {
        _cleanup_free_ char *text = NULL;
        json_object *units, *daemon_units;
        json_object *version;
        renderer r = {};
        size_t size = 0;
        uint64_t start;

        /* a model part of the wrong shape, or without its list, counts as missing */
        units = array_of(info, "units");
        if (!units)
                info = NULL;
        if (!array_of(faults, "units"))
                faults = NULL;
        if (!json_object_is_type(devices, json_type_array))
                devices = NULL;
        if (!json_object_is_type(mapped, json_type_array))
                mapped = NULL;
        daemon_units = array_of(daemon, "units");
        version = member(daemon, "version", json_type_string);

        const struct {
                const char *part;
                json_object *o;
        } parts[] = {
                { "info", info },
                { "devices", devices },
                { "mappings", mapped },
                { "faults", faults },
        };

        r.f = open_memstream(&text, &size);
        if (!r.f)
                return iommu_error_set(err, ENOMEM, "Out of memory");

        unit_families(&r, units);
        if (devices || mapped)
                domain_families(&r, units, devices, mapped);
        if (devices)
                device_family(&r, devices);
        fault_families(&r, faults, daemon_units);
        invalidation_families(&r, daemon_units);
        control_families(&r, member(daemon, "control", json_type_object));

        begin(&r, F_SCRAPE_ERROR);
        for (size_t i = 0; i < ELEMENTSOF(parts); i++)
                emit(&r, (const char *const[]){ "part", parts[i].part, NULL }, parts[i].o ? "0" : "1");
        end(&r);

        begin(&r, F_BUILD_INFO);
        if (version)
                emit(&r, (const char *const[]){ "version", json_object_get_string(version), NULL }, "1");
        end(&r);

        /* last, so that it measures everything before it */
        begin(&r, F_SCRAPE_DURATION);
        if (uint_member(daemon, "scrape_started_usec", UINT64_MAX, &start)) {
                struct timespec ts;
                uint64_t now;
                char value[32];

                (void) clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
                snprintf(value, sizeof value, "%.6f", now > start ? (double) (now - start) / 1e6 : 0.0);
                emit(&r, NULL, value);
        }
        end(&r);

        free(r.samples);
        if (fclose(r.f) != 0 && !r.error)
                r.error = ENOMEM;
        if (r.error)
                return iommu_error_set(err, r.error, "Failed to render the metrics: %s", strerror(r.error));
        *ret_size = size;
        *ret = TAKE_PTR(text);
        return 0;
}
