/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ACPI DMAR table (VT-d specification rev 4.1/5.0, chapter 8) from bytes.
 *
 * Every read is checked against the length that encloses it first (the
 * header's table length, then the structure's, then the device scope's), so
 * a corrupt table is an error naming the offset, never a read out of bounds.
 * Every structure is at least 4 bytes and every device scope at least 6, so
 * the loops end after at most length/4 and length/6 steps.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "basic/alloc-util.h"
#include "basic/string-table.h"
#include "basic/unaligned.h"
#include "decode/dmar.h"

#define DMAR_STRUCT_HEADER_SIZE 4
#define DMAR_SCOPE_HEADER_SIZE 6
#define DMAR_MAX_WARNINGS 64

typedef struct dmar_type_info {
        const char *name;  /* JSON */
        const char *label; /* messages */
        uint16_t fixed;    /* bytes before the device scopes (ANDD: before the object name) */
        bool scopes;
} dmar_type_info;

static const dmar_type_info type_info[] = {
        [DMAR_TYPE_DRHD] = { .name = "drhd", .label = "DRHD", .fixed = 16, .scopes = true },
        [DMAR_TYPE_RMRR] = { .name = "rmrr", .label = "RMRR", .fixed = 24, .scopes = true },
        [DMAR_TYPE_ATSR] = { .name = "atsr", .label = "ATSR", .fixed = 8, .scopes = true },
        [DMAR_TYPE_RHSA] = { .name = "rhsa", .label = "RHSA", .fixed = 20, .scopes = false },
        [DMAR_TYPE_ANDD] = { .name = "andd", .label = "ANDD", .fixed = 8, .scopes = false },
        [DMAR_TYPE_SATC] = { .name = "satc", .label = "SATC", .fixed = 8, .scopes = true },
        [DMAR_TYPE_SIDP] = { .name = "sidp", .label = "SIDP", .fixed = 8, .scopes = true },
        [DMAR_TYPE_UNKNOWN] = { .name = "unknown", .label = "structure", .fixed = 4, .scopes = false },
};
static_assert(ELEMENTSOF(type_info) == _DMAR_TYPE_MAX, "one row per structure type");

static const char *const scope_type_table[] = {
        [DMAR_SCOPE_ENDPOINT] = "endpoint",
        [DMAR_SCOPE_BRIDGE] = "bridge",
        [DMAR_SCOPE_IOAPIC] = "ioapic",
        [DMAR_SCOPE_HPET] = "hpet",
        [DMAR_SCOPE_ACPI_NAMESPACE] = "acpi_namespace",
};
static_assert(ELEMENTSOF(scope_type_table) == _DMAR_SCOPE_MAX, "one row per scope type");

const char *dmar_type_to_string(dmar_type t) {
        if (t < 0 || t >= _DMAR_TYPE_MAX)
                return NULL;
        return type_info[t].name;
}

dmar_type dmar_type_from_string(const char *s) {
        if (!s)
                return _DMAR_TYPE_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(type_info); i++)
                if (type_info[i].name && streq(type_info[i].name, s))
                        return (dmar_type) i;
        return _DMAR_TYPE_INVALID;
}

DEFINE_STRING_TABLE_LOOKUP(dmar_scope_type, dmar_scope_type, scope_type_table, _DMAR_SCOPE_MAX,
                           _DMAR_SCOPE_INVALID)

/* An ACPI header string: fixed width, NUL-padded; kept up to the first NUL. */
static void copy_id(char *dst, const uint8_t *src, size_t n) {
        size_t i;
        for (i = 0; i < n && src[i]; i++)
                dst[i] = (char) src[i];
        dst[i] = '\0';
}

dmar_table *dmar_table_free(dmar_table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_structures; i++) {
                dmar_structure *s = &t->structures[i];
                for (size_t j = 0; j < s->n_scopes; j++)
                        free(s->scopes[j].path);
                free(s->scopes);
                free(s->object_name);
        }
        free(t->structures);
        for (size_t i = 0; i < t->n_warnings; i++)
                free(t->warnings[i]);
        free(t->warnings);
        free(t);
        return NULL;
}

bool dmar_drhd_has_size(const dmar_table *t, const dmar_structure *s) {
        /* Reserved before revision 2, but firmware fills it in anyway and
         * Linux maps 2^size pages whatever the revision: so do we, when set. */
        return t->revision >= 2 || s->size_raw != 0;
}

uint64_t dmar_drhd_register_size(const dmar_table *t, const dmar_structure *s) {
        if (!dmar_drhd_has_size(t, s))
                return 4096;
        return UINT64_C(4096) << (s->size_raw & 0x0f);
}

typedef struct parser {
        const uint8_t *p;
        dmar_table *t;
        size_t n_structures_alloc;
        size_t n_warnings_alloc;
        size_t n_warnings_dropped;
        iommu_error *err;
} parser;

static int oom(parser *ps) {
        return iommu_error_set(ps->err, ENOMEM, "Out of memory parsing the DMAR table");
}

static int warn(parser *ps, const char *fmt, ...) _printf_(2, 3);
static int warn(parser *ps, const char *fmt, ...) {
        dmar_table *t = ps->t;
        va_list ap;
        char *w;
        int r;

        /* A corrupt table could say the same thing thousands of times. */
        if (t->n_warnings >= DMAR_MAX_WARNINGS - 1) {
                ps->n_warnings_dropped++;
                return 0;
        }
        if (!GREEDY_REALLOC(t->warnings, ps->n_warnings_alloc, t->n_warnings + 1))
                return oom(ps);
        va_start(ap, fmt);
        r = vasprintf(&w, fmt, ap);
        va_end(ap);
        if (r < 0)
                return oom(ps);
        t->warnings[t->n_warnings++] = w;
        return 0;
}

/* "DRHD at offset 0x30", or for types this parser does not know,
 * "structure of type 9 at offset 0x30". */
static const char *describe(const dmar_structure *s, char *buf, size_t size) {
        if (s->type == DMAR_TYPE_UNKNOWN)
                (void) snprintf(buf, size, "structure of type %u at offset 0x%zx", s->type_id, s->offset);
        else
                (void) snprintf(buf, size, "%s at offset 0x%zx", type_info[s->type].label, s->offset);
        return buf;
}

/* Device scopes from offset off to end (the structure's end), both already
 * inside the table.  First pass: check and count; second: copy. */
static int parse_scopes(parser *ps, dmar_structure *s, size_t off, size_t end) {
        char what[64];
        size_t n = 0;

        for (size_t o = off; o < end;) {
                size_t left = end - o;
                uint8_t len;

                if (left < 2)
                        return iommu_error_set(ps->err, EBADMSG,
                                               "device scope at offset 0x%zx: only %zu byte left in the %s, "
                                               "a device scope needs %d",
                                               o, left, describe(s, what, sizeof what),
                                               DMAR_SCOPE_HEADER_SIZE);
                len = ps->p[o + 1];
                if (len < DMAR_SCOPE_HEADER_SIZE)
                        return iommu_error_set(ps->err, EBADMSG,
                                               "device scope at offset 0x%zx has length %u, less than %d", o,
                                               len, DMAR_SCOPE_HEADER_SIZE);
                if ((len - DMAR_SCOPE_HEADER_SIZE) % 2 != 0)
                        return iommu_error_set(
                                ps->err, EBADMSG,
                                "device scope at offset 0x%zx has length %u: its path of %u bytes "
                                "is not a whole number of 2-byte hops",
                                o, len, len - DMAR_SCOPE_HEADER_SIZE);
                if (len > left)
                        return iommu_error_set(
                                ps->err, EBADMSG,
                                "device scope at offset 0x%zx has length %u and overruns the %s: "
                                "it would end at 0x%zx, the structure ends at 0x%zx",
                                o, len, describe(s, what, sizeof what), o + len, end);
                o += len;
                n++;
        }

        if (n == 0)
                return 0;
        s->scopes = calloc(n, sizeof *s->scopes);
        if (!s->scopes)
                return oom(ps);

        for (size_t o = off; s->n_scopes < n;) {
                const uint8_t *b = ps->p + o;
                dmar_scope *sc = &s->scopes[s->n_scopes++];

                sc->type_id = b[0];
                sc->length = b[1];
                sc->flags = b[2];
                sc->enumeration_id = b[4];
                sc->start_bus = b[5];
                sc->n_path = (size_t) (sc->length - DMAR_SCOPE_HEADER_SIZE) / 2;
                if (sc->n_path > 0) {
                        sc->path = calloc(sc->n_path, sizeof *sc->path);
                        if (!sc->path)
                                return oom(ps);
                        for (size_t h = 0; h < sc->n_path; h++) {
                                sc->path[h].device = b[DMAR_SCOPE_HEADER_SIZE + 2 * h];
                                sc->path[h].function = b[DMAR_SCOPE_HEADER_SIZE + 2 * h + 1];
                        }
                }
                if (!dmar_scope_type_to_string((dmar_scope_type) sc->type_id)) {
                        int r = warn(ps, "device scope at offset 0x%zx has reserved type %u", o,
                                     sc->type_id);
                        if (r < 0)
                                return r;
                }
                o += sc->length;
        }
        return 0;
}

static int parse_structure(parser *ps, dmar_structure *s) {
        const uint8_t *b = ps->p + s->offset;
        char what[64];
        int r = 0;

        switch (s->type) {
        case DMAR_TYPE_DRHD:
                s->flags = b[4];
                s->size_raw = b[5];
                s->segment = le16(b + 6);
                s->address = le64(b + 8);
                /* Some revision 1 tables fill byte 5 in anyway (MSI's Lunar
                 * Lake: 4, its units 64 KiB apart): take it as the size, as
                 * Linux does, and say so. */
                if (ps->t->revision < 2 && s->size_raw != 0)
                        r = warn(ps,
                                 "%s: byte 5 is 0x%02x, reserved in DMAR revision %u; taken as the "
                                 "register-set size from revision 2 on (2^%u pages), as Linux does",
                                 describe(s, what, sizeof what), s->size_raw, ps->t->revision,
                                 s->size_raw & 0x0fu);
                else if (ps->t->revision >= 2 && (s->size_raw & 0xf0))
                        r = warn(ps, "%s: size 0x%02x has reserved bits 7:4 set",
                                 describe(s, what, sizeof what), s->size_raw);
                break;
        case DMAR_TYPE_RMRR:
                s->segment = le16(b + 6);
                s->base = le64(b + 8);
                s->limit = le64(b + 16);
                if (s->limit < s->base)
                        r = warn(ps, "%s: limit 0x%" PRIx64 " is below base 0x%" PRIx64,
                                 describe(s, what, sizeof what), s->limit, s->base);
                else if ((s->base & 0xfff) != 0 || (s->limit & 0xfff) != 0xfff)
                        r = warn(ps, "%s: range 0x%" PRIx64 "-0x%" PRIx64 " is not 4 KiB aligned",
                                 describe(s, what, sizeof what), s->base, s->limit);
                break;
        case DMAR_TYPE_ATSR:
        case DMAR_TYPE_SATC:
                s->flags = b[4];
                s->segment = le16(b + 6);
                break;
        case DMAR_TYPE_SIDP:
                s->segment = le16(b + 6);
                break;
        case DMAR_TYPE_RHSA:
                s->address = le64(b + 8);
                s->proximity_domain = le32(b + 16);
                break;
        case DMAR_TYPE_ANDD: {
                const uint8_t *name = b + type_info[DMAR_TYPE_ANDD].fixed;
                size_t room = s->length - type_info[DMAR_TYPE_ANDD].fixed;
                const uint8_t *nul = memchr(name, 0, room);

                s->acpi_device_number = b[7];
                if (!nul)
                        return iommu_error_set(
                                ps->err, EBADMSG,
                                "%s: object name at offset 0x%zx is not NUL-terminated within "
                                "the structure's %u bytes",
                                describe(s, what, sizeof what), s->offset + type_info[DMAR_TYPE_ANDD].fixed,
                                s->length);
                /* The name and any zero padding after it fill the rest. */
                s->object_name = strndup((const char *) name, (size_t) (nul - name));
                if (!s->object_name)
                        return oom(ps);
                break;
        }
        case DMAR_TYPE_UNKNOWN:
                r = warn(ps, "%s: type unknown to this parser, kept with its length %u",
                         describe(s, what, sizeof what), s->length);
                break;
        default:
                assert(false);
        }
        if (r < 0)
                return r;

        if (!type_info[s->type].scopes)
                return 0;
        return parse_scopes(ps, s, s->offset + type_info[s->type].fixed, s->offset + s->length);
}

static int parse_header(parser *ps, size_t size) {
        const uint8_t *p = ps->p;
        dmar_table *t = ps->t;
        uint8_t sum = 0;
        int r;

        copy_id(t->signature, p, 4);
        t->length = le32(p + 4);
        t->revision = p[8];
        t->checksum = p[9];
        copy_id(t->oem_id, p + 10, 6);
        copy_id(t->oem_table_id, p + 16, 8);
        t->oem_revision = le32(p + 24);
        copy_id(t->creator_id, p + 28, 4);
        t->creator_revision = le32(p + 32);
        t->host_address_width = (uint16_t) (p[36] + 1);
        t->flags = p[37];

        for (size_t i = 0; i < t->length; i++)
                sum = (uint8_t) (sum + p[i]);
        t->checksum_valid = sum == 0;
        if (!t->checksum_valid) {
                r = warn(ps, "checksum 0x%02x is wrong, bytes sum to 0x%02x (the checksum should be 0x%02x)",
                         t->checksum, sum, (uint8_t) (t->checksum - sum));
                if (r < 0)
                        return r;
        }
        if (t->length < size) {
                r = warn(ps, "%zu trailing bytes after the table's length %u are ignored", size - t->length,
                         t->length);
                if (r < 0)
                        return r;
        }
        if (t->flags &
            ~(DMAR_FLAG_INTR_REMAP | DMAR_FLAG_X2APIC_OPT_OUT | DMAR_FLAG_DMA_CTRL_PLATFORM_OPT_IN)) {
                r = warn(ps, "flags 0x%02x at offset 0x25 have reserved bits set", t->flags);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The signature as text for a message: printable bytes as they are. */
static const char *signature_text(const uint8_t *p, char buf[static 17]) {
        char *q = buf;
        for (size_t i = 0; i < 4; i++)
                if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '"')
                        *q++ = (char) p[i];
                else
                        q += sprintf(q, "\\x%02x", p[i]);
        *q = '\0';
        return buf;
}

int dmar_parse(const void *data, size_t size, dmar_table **ret, iommu_error *err) {
        _cleanup_(dmar_table_freep) dmar_table *t = NULL;
        parser ps = { .p = data, .err = err };
        uint32_t length;
        char sig[17];
        int r;

        if (!ret || (!data && size > 0))
                return iommu_error_set(err, EINVAL, "Invalid arguments to dmar_parse()");
        if (size == 0)
                return iommu_error_set(err, EBADMSG, "DMAR table is empty");
        if (size < DMAR_HEADER_SIZE)
                return iommu_error_set(err, EBADMSG,
                                       "DMAR table truncated at offset 0x%zx: the header needs %d bytes",
                                       size, DMAR_HEADER_SIZE);
        if (memcmp(ps.p, "DMAR", 4) != 0)
                return iommu_error_set(err, EBADMSG, "signature \"%s\" at offset 0x0 is not \"DMAR\"",
                                       signature_text(ps.p, sig));
        length = le32(ps.p + 4);
        if (length > size)
                return iommu_error_set(err, EBADMSG,
                                       "header length %" PRIu32
                                       " at offset 0x4 is larger than the %zu bytes given",
                                       length, size);
        if (length < DMAR_HEADER_SIZE)
                return iommu_error_set(err, EBADMSG,
                                       "header length %" PRIu32
                                       " at offset 0x4 is less than the %d-byte DMAR header",
                                       length, DMAR_HEADER_SIZE);
        if (length > DMAR_MAX_SIZE)
                return iommu_error_set(err, EFBIG,
                                       "header length %" PRIu32 " at offset 0x4 is beyond the %u-byte limit",
                                       length, DMAR_MAX_SIZE);

        t = calloc(1, sizeof *t);
        if (!t)
                return oom(&ps);
        ps.t = t;

        r = parse_header(&ps, size);
        if (r < 0)
                return r;

        for (size_t off = DMAR_HEADER_SIZE; off < t->length;) {
                size_t left = t->length - off;
                dmar_structure *s;
                char what[64];

                if (left < DMAR_STRUCT_HEADER_SIZE)
                        return iommu_error_set(
                                err, EBADMSG,
                                "structure header at offset 0x%zx does not fit: %zu bytes left "
                                "before the table's end at 0x%" PRIx32 ", it needs %d",
                                off, left, t->length, DMAR_STRUCT_HEADER_SIZE);

                if (!GREEDY_REALLOC(t->structures, ps.n_structures_alloc, t->n_structures + 1))
                        return oom(&ps);
                s = &t->structures[t->n_structures++];
                *s = (dmar_structure){
                        .type_id = le16(ps.p + off),
                        .length = le16(ps.p + off + 2),
                        .offset = off,
                };
                s->type = s->type_id < DMAR_TYPE_UNKNOWN ? (dmar_type) s->type_id : DMAR_TYPE_UNKNOWN;

                if (s->length < DMAR_STRUCT_HEADER_SIZE)
                        return iommu_error_set(
                                err, EBADMSG, "%s has length %u, less than the %d-byte header",
                                describe(s, what, sizeof what), s->length, DMAR_STRUCT_HEADER_SIZE);
                if (s->length < type_info[s->type].fixed)
                        return iommu_error_set(
                                err, EBADMSG, "%s has length %u, less than its fixed %u bytes",
                                describe(s, what, sizeof what), s->length, type_info[s->type].fixed);
                if (s->length > left)
                        return iommu_error_set(
                                err, EBADMSG,
                                "%s has length %u and overruns the table: it would end at 0x%zx, "
                                "the table ends at 0x%" PRIx32,
                                describe(s, what, sizeof what), s->length, off + s->length, t->length);

                r = parse_structure(&ps, s);
                if (r < 0)
                        return r;
                off += s->length;
        }

        if (ps.n_warnings_dropped > 0) {
                /* warn() kept the last slot free for this line. */
                if (!GREEDY_REALLOC(t->warnings, ps.n_warnings_alloc, t->n_warnings + 1))
                        return oom(&ps);
                if (asprintf(&t->warnings[t->n_warnings], "%zu more warnings not shown",
                             ps.n_warnings_dropped) < 0)
                        return oom(&ps);
                t->n_warnings++;
        }

        *ret = TAKE_PTR(t);
        return 0;
}
