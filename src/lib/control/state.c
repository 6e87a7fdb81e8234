/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state file of the units iommud owns (state.h): its header, its
 * checks, and saving it so that it is always whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/crc32.h"
#include "basic/fileio.h"
#include "basic/json-util.h"
#include "basic/macro.h"
#include "control/entries.h"
#include "control/state.h"
#include "control/unit.h"
#include "model/devices.h"

/* ---- checking the body ---- */

/* A member's rule: its JSON type, whether null is allowed in its place,
 * for integers the largest value, and whether it may be left out. */
typedef struct member {
        const char *key;
        json_type type;
        bool nullable;
        uint64_t max;
        bool optional;
} member;

#define U64 UINT64_MAX
#define PAGE_MASK UINT64_C(0xfff)

/* clang-format off */
static const member unit_members[] = {
        { "name",           json_type_string  },
        { "address",        json_type_int,     false, U64 },
        { "segment",        json_type_int,     false, UINT16_MAX },
        { "mode",           json_type_string  },
        { "default_policy", json_type_string  },
        { "invalidation",   json_type_string  },
        { "table_memory",   json_type_object  },
        { "root_table",     json_type_int,     false, U64 },
        { "domains",        json_type_array   },
        { "devices",        json_type_array   },
        { "buffers",        json_type_array   },
};
static const member table_memory_members[] = {
        { "kind",           json_type_string  },
        { "path",           json_type_string,  true  },
};
static const member domain_members[] = {
        { "domain",         json_type_int,     false, UINT16_MAX },
        { "type",           json_type_string  },
        { "address_width",  json_type_int,     true,  64 },
        { "default",        json_type_boolean },
        { "mappings",       json_type_array   },
        /* the top table's address, for taking the unit back; files of
         * iommud before it lack it (their units are not taken back) */
        { "page_table",     json_type_int,     true,  U64, true },
};
static const member mapping_members[] = {
        { "iova",           json_type_int,     false, U64 },
        { "phys",           json_type_int,     false, U64 },
        { "length",         json_type_int,     false, U64 },
        { "read",           json_type_boolean },
        { "write",          json_type_boolean },
};
static const member device_members[] = {
        { "bdf",            json_type_string  },
        { "domain",         json_type_int,     false, UINT16_MAX },
};
static const member buffer_members[] = {
        { "path",           json_type_string  },
        { "domain",         json_type_int,     false, UINT16_MAX },
        { "iova",           json_type_int,     false, U64 },
        { "length",         json_type_int,     false, U64 },
        { "phys",           json_type_int,     false, U64 },
};
/* clang-format on */

/* Every member there, of its type and in its range; nothing else. */
static int check_members(json_object *o, const member *m, size_t n, const char *where, iommu_error *err) {
        size_t there = 0;

        if (!json_object_is_type(o, json_type_object))
                return iommu_error_set(err, EINVAL, "%s is not an object", where);
        for (size_t i = 0; i < n; i++) {
                json_object *v = NULL;

                if (!json_object_object_get_ex(o, m[i].key, &v)) {
                        if (m[i].optional)
                                continue;
                        return iommu_error_set(err, EINVAL, "%s has no \"%s\"", where, m[i].key);
                }
                there++;
                if (!v && m[i].nullable)
                        continue;
                if (!json_object_is_type(v, m[i].type))
                        return iommu_error_set(err, EINVAL, "%s: \"%s\" is not %s", where, m[i].key,
                                               json_type_to_name(m[i].type));
                if (m[i].type == json_type_int) {
                        /* json-c keeps a negative number signed: refuse it
                         * rather than read it as a huge unsigned one */
                        if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0)
                                return iommu_error_set(err, EINVAL, "%s: \"%s\" is negative", where,
                                                       m[i].key);
                        if (json_object_get_uint64(v) > m[i].max)
                                return iommu_error_set(err, EINVAL, "%s: \"%s\" is above %" PRIu64, where,
                                                       m[i].key, m[i].max);
                }
        }
        if ((size_t) json_object_object_length(o) != there) {
                json_object_object_foreach(o, key, value) {
                        size_t i;
                        (void) value;
                        for (i = 0; i < n && !streq(m[i].key, key); i++)
                                ;
                        if (i == n)
                                return iommu_error_set(err, EINVAL, "%s has an unknown member \"%s\"", where,
                                                       key);
                }
        }
        return 0;
}

static int check_range(json_object *o, const char *where, iommu_error *err) {
        uint64_t iova = json_get_u64(o, "iova"), phys = json_get_u64(o, "phys"),
                 length = json_get_u64(o, "length");

        if (length == 0 || ((iova | phys | length) & PAGE_MASK))
                return iommu_error_set(err, EINVAL,
                                       "%s: iova, phys and length are not 4 KiB multiples above 0", where);
        if (iova + length < iova || phys + length < phys)
                return iommu_error_set(err, EINVAL, "%s: the range wraps around", where);
        return 0;
}

static int check_unit(json_object *u, size_t index, iommu_error *err) {
        char where[96], name[32];
        json_object *list;
        int r;

        snprintf(where, sizeof where, "unit %zu", index);
        r = check_members(u, unit_members, ELEMENTSOF(unit_members), where, err);
        if (r < 0)
                return r;
        snprintf(name, sizeof name, "%.31s", json_get_string(u, "name"));
        if (!name[0] || strlen(json_get_string(u, "name")) >= sizeof name)
                return iommu_error_set(err, EINVAL, "%s: its name is empty or too long", where);
        snprintf(where, sizeof where, "unit %s", name);
        if (unit_mode_from_string(json_get_string(u, "mode")) < 0)
                return iommu_error_set(err, EINVAL, "%s: mode \"%s\" is not legacy or scalable", where,
                                       json_get_string(u, "mode"));
        if (domain_type_from_string(json_get_string(u, "default_policy")) < 0)
                return iommu_error_set(err, EINVAL, "%s: default policy \"%s\" is no domain type", where,
                                       json_get_string(u, "default_policy"));
        if (json_get_u64(u, "root_table") & PAGE_MASK)
                return iommu_error_set(err, EINVAL, "%s: the root table is not 4 KiB aligned", where);
        r = check_members(json_get(u, "table_memory"), table_memory_members,
                          ELEMENTSOF(table_memory_members), where, err);
        if (r < 0)
                return r;

        list = json_get(u, "domains");
        for (size_t i = 0; i < json_array_length(list); i++) {
                json_object *d = json_array_get(list, i), *maps;
                char dwhere[160];

                snprintf(dwhere, sizeof dwhere, "%s, domain %zu", where, i);
                r = check_members(d, domain_members, ELEMENTSOF(domain_members), dwhere, err);
                if (r < 0)
                        return r;
                if (domain_type_from_string(json_get_string(d, "type")) < 0)
                        return iommu_error_set(err, EINVAL, "%s: type \"%s\" is no domain type", dwhere,
                                               json_get_string(d, "type"));
                if (json_get_u64(d, "page_table") & PAGE_MASK)
                        return iommu_error_set(err, EINVAL, "%s: its page table is not 4 KiB aligned",
                                               dwhere);
                for (size_t k = 0; k < i; k++)
                        if (json_get_u64(json_array_get(list, k), "domain") == json_get_u64(d, "domain"))
                                return iommu_error_set(err, EINVAL, "%s: domain %" PRIu64 " appears twice",
                                                       where, json_get_u64(d, "domain"));
                maps = json_get(d, "mappings");
                for (size_t k = 0; k < json_array_length(maps); k++) {
                        json_object *m = json_array_get(maps, k),
                                    *prev = k ? json_array_get(maps, k - 1) : NULL;
                        char mwhere[200];

                        snprintf(mwhere, sizeof mwhere, "%s, mapping %zu", dwhere, k);
                        r = check_members(m, mapping_members, ELEMENTSOF(mapping_members), mwhere, err);
                        if (r >= 0)
                                r = check_range(m, mwhere, err);
                        if (r < 0)
                                return r;
                        if (prev && json_get_u64(prev, "iova") + json_get_u64(prev, "length") >
                                            json_get_u64(m, "iova"))
                                return iommu_error_set(err, EINVAL,
                                                       "%s overlaps the one before or is out of order",
                                                       mwhere);
                }
        }

        list = json_get(u, "devices");
        for (size_t i = 0; i < json_array_length(list); i++) {
                json_object *d = json_array_get(list, i);
                uint16_t segment;
                uint8_t bus, devfn;
                char dwhere[160];

                snprintf(dwhere, sizeof dwhere, "%s, device %zu", where, i);
                r = check_members(d, device_members, ELEMENTSOF(device_members), dwhere, err);
                if (r < 0)
                        return r;
                if (bdf_parse(json_get_string(d, "bdf"), &segment, &bus, &devfn) < 0)
                        return iommu_error_set(err, EINVAL, "%s: \"%s\" is no PCI address", dwhere,
                                               json_get_string(d, "bdf"));
        }

        list = json_get(u, "buffers");
        for (size_t i = 0; i < json_array_length(list); i++) {
                json_object *b = json_array_get(list, i);
                char bwhere[160];

                snprintf(bwhere, sizeof bwhere, "%s, buffer %zu", where, i);
                r = check_members(b, buffer_members, ELEMENTSOF(buffer_members), bwhere, err);
                if (r >= 0)
                        r = check_range(b, bwhere, err);
                if (r < 0)
                        return r;
                if (json_get_string(b, "path")[0] != '/')
                        return iommu_error_set(err, EINVAL, "%s: its path is not absolute", bwhere);
        }
        return 0;
}

static bool has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* Whether a string or member name anywhere holds a control character: the
 * errors below name what they refuse, and must stay one line. */
static bool holds_control(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_string:
                return has_control(json_object_get_string(o));
        case json_type_object: {
                json_object_object_foreach(o, key, value) {
                        if (has_control(key) || holds_control(value))
                                return true;
                }
                return false;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (holds_control(json_object_array_get_idx(o, i)))
                                return true;
                return false;
        default:
                return false;
        }
}

static int check_body(json_object *state, iommu_error *err) {
        static const member top[] = {
                { "units", json_type_array },
                { "serial", json_type_int, .max = UINT64_MAX, .optional = true },
        };
        json_object *units;
        int r;

        if (holds_control(state))
                return iommu_error_set(err, EINVAL, "a string in it holds a control character");
        r = check_members(state, top, ELEMENTSOF(top), "the state", err);
        if (r < 0)
                return r;
        units = json_get(state, "units");
        for (size_t i = 0; i < json_array_length(units); i++) {
                r = check_unit(json_array_get(units, i), i, err);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < i; k++)
                        if (streq(json_get_string(json_array_get(units, k), "name"),
                                  json_get_string(json_array_get(units, i), "name")))
                                return iommu_error_set(err, EINVAL, "unit %s appears twice",
                                                       json_get_string(json_array_get(units, i), "name"));
        }
        return 0;
}

/* ---- the file's bytes ---- */

int control_state_format(json_object *state, char **ret, size_t *ret_size, iommu_error *err) {
        const char *body;
        size_t body_len, header_len;
        char header[96], *out;
        int r;

        r = check_body(state, err);
        if (r < 0)
                return r;
        body = json_object_to_json_string_ext(state,
                                              JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!body)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        body_len = strlen(body) + 1; /* and its newline */
        header_len = (size_t) snprintf(header, sizeof header, CONTROL_STATE_MAGIC " %d %zu %08" PRIx32 "\n",
                                       CONTROL_STATE_VERSION, body_len,
                                       crc32_ieee(crc32_ieee(0, body, body_len - 1), "\n", 1));
        out = malloc(header_len + body_len);
        if (!out)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        memcpy(out, header, header_len);
        memcpy(out + header_len, body, body_len - 1);
        out[header_len + body_len - 1] = '\n';
        *ret = out;
        *ret_size = header_len + body_len;
        return 0;
}

int control_state_parse(const void *data, size_t size, json_object **ret, iommu_error *err) {
        const char *p = data, *nl, *body;
        char header[96], magic[32];
        unsigned version, n = 0;
        uint64_t length;
        uint32_t crc;
        json_tokener *tok;
        json_object *state;
        int r;

        nl = memchr(p, '\n', size < sizeof header ? size : sizeof header);
        if (!nl)
                return iommu_error_set(err, EINVAL, "it has no header line");
        memcpy(header, p, (size_t) (nl - p));
        header[nl - p] = '\0';
        if (sscanf(header, "%31s %u %" SCNu64 " %8" SCNx32 "%n", magic, &version, &length, &crc,
                   (int *) &n) != 4 ||
            !streq(magic, CONTROL_STATE_MAGIC) || n != strlen(header))
                return iommu_error_set(err, EINVAL,
                                       "it is no iommud control state (its first line is not \"%s "
                                       "VERSION LENGTH CRC32\")",
                                       CONTROL_STATE_MAGIC);
        if (version != CONTROL_STATE_VERSION)
                return iommu_error_set(err, EPROTONOSUPPORT,
                                       "it is of format version %u; this iommud reads version %d", version,
                                       CONTROL_STATE_VERSION);
        body = nl + 1;
        if (length != size - (size_t) (body - p))
                return iommu_error_set(err, EBADMSG,
                                       "it is torn: its header says %" PRIu64 " bytes follow, %zu do",
                                       length, size - (size_t) (body - p));
        if (length == 0 || body[length - 1] != '\n')
                return iommu_error_set(err, EBADMSG, "it is torn: its body does not end with a newline");
        if (crc32_ieee(0, body, length) != crc)
                return iommu_error_set(err, EBADMSG, "its CRC-32 is wrong: it was changed or torn");

        tok = json_tokener_new();
        if (!tok)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        state = json_tokener_parse_ex(tok, body, (int) length - 1);
        r = json_tokener_get_error(tok) == json_tokener_success && tok->char_offset == (int) length - 1;
        json_tokener_free(tok);
        if (!r) {
                json_object_put(state);
                return iommu_error_set(err, EBADMSG, "its body is not one JSON object");
        }
        r = check_body(state, err);
        if (r < 0) {
                json_object_put(state);
                return r;
        }
        *ret = state;
        return 0;
}

int control_state_load(const char *path, json_object **ret, iommu_error *err) {
        _cleanup_free_ void *data = NULL;
        iommu_error e = {};
        size_t size = 0;
        int r;

        r = read_full_file(path, CONTROL_STATE_MAX, &data, &size, &e);
        if (r < 0)
                return iommu_error_set(err, -r, "%s", e.message);
        r = control_state_parse(data, size, ret, &e);
        if (r < 0)
                return iommu_error_set(err, -r, "The control state %s is refused: %s", path, e.message);
        return 0;
}

int control_state_save(const char *path, json_object *state, iommu_error *err) {
        _cleanup_free_ char *data = NULL, *tmp = NULL, *dir = NULL;
        size_t size;
        char *slash;
        int fd, dfd, r;

        r = control_state_format(state, &data, &size, err);
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.new", path) < 0 || !(dir = strdup(path)))
                return iommu_error_set(err, ENOMEM, "Out of memory");
        slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = '\0';
        else if (slash)
                *slash = '\0';
        else
                strcpy(dir, ".");

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return iommu_error_set(err, errno, "Failed to create %s: %s", tmp, strerror(errno));
        r = write_all(fd, data, size);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return iommu_error_set(err, -r, "Failed to write %s: %s", path, strerror(-r));
        }
        /* the rename is durable only once the directory is */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0) {
                r = -errno;
                if (dfd >= 0)
                        (void) close(dfd);
                return iommu_error_set(err, -r, "Failed to sync %s: %s", dir, strerror(-r));
        }
        (void) close(dfd);
        return 0;
}
