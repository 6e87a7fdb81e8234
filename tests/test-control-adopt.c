/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Taking a unit back (owned_unit_adopt, control/unit.h) on the simulated
 * unit (access/regs-sim.h) over an in-memory image: a unit is built and
 * left translating as a killed iommud leaves it, its state saved as the
 * daemon saves it; a new owned_unit over a reopened table memory then
 * takes it back.  The truth it is checked against is what the first one
 * said (owned_unit_to_json), what the walker (walk/walk.h) reads from the
 * image, the image's bytes and the simulated unit's record of register
 * writes, none of them computed by the adoption.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/regs-sim.h"
#include "access/tablemem.h"
#include "basic/json-util.h"
#include "check-main.h"
#include "control/state.h"
#include "control/undo.h"
#include "control/unit.h"
#include "decode/regs.h"
#include "walk/walk.h"

/* QEMU 7.2 intel-iommu,aw-bits=48 (test-control-unit.c) */
#define QEMU_CAP UINT64_C(0x00d2008c222f0686)
#define QEMU_CAP_NO_CM (QEMU_CAP & ~(UINT64_C(1) << 7))
#define QEMU_ECAP UINT64_C(0xf42)
#define QEMU_ECAP_SM UINT64_C(0x480080000f42)

#define MEM_BASE UINT64_C(0x20000000)

static iommu_ram *image;
static iommu_regs *regs;

/* devices behind the unit, as the daemon finds them: 00:00.0 00:01.0 00:03.0 00:1f.0 */
static const uint16_t devices[] = { 0x0000, 0x0008, 0x0018, 0x00f8 };
static const phys_range ram[] = { { 0x100000, 0x7fffff } };
static const rmrr_region rmrrs[] = {
        { .base = 0xe0000, .limit = 0xeffff, .n_devices = 1, .devices = { { 0, 0xf8 } } },
};

static owned_unit_config config_for(unit_mode mode, domain_type policy, bool registers) {
        return (owned_unit_config){ .mode = mode,
                                    .default_policy = policy,
                                    .ram = ram,
                                    .n_ram = ELEMENTSOF(ram),
                                    .rmrrs = rmrrs,
                                    .n_rmrrs = ELEMENTSOF(rmrrs),
                                    .devices = devices,
                                    .n_devices = ELEMENTSOF(devices),
                                    .register_invalidation = registers };
}

static void start(uint64_t cap, uint64_t ecap) {
        iommu_error err = {};

        ck_assert_int_eq(iommu_ram_new_image(&image), 0);
        ck_assert_msg(
                iommu_regs_new_sim(
                        &(regs_sim_config){ .base = 0xfed90000, .ver = 0x10, .cap = cap, .ecap = ecap },
                        image, &regs, &err) == 0,
                "%s", err.message);
}

static void stop(void) {
        regs = iommu_regs_free(regs);
        image = iommu_ram_free(image);
}

static void no_violations(void) {
        size_t n;
        const regs_sim_violation *v = regs_sim_violations(regs, &n);

        ck_assert_msg(n == 0, "%zu protocol violation(s), the first: %s", n, n ? v[0].text : "");
}

static size_t n_writes(void) {
        size_t n;
        (void) regs_sim_writes(regs, &n);
        return n;
}

/* Every byte of the table memory's chunks in the image. */
static uint8_t *image_bytes(size_t *ret_size) {
        size_t n = 0;
        uint8_t *b;

        while (iommu_ram_contains(image, MEM_BASE + n * TABLE_MEM_CHUNK, TABLE_MEM_CHUNK))
                n++;
        b = malloc(n * TABLE_MEM_CHUNK + 1);
        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(iommu_ram_read(image, MEM_BASE, b, n * TABLE_MEM_CHUNK, NULL), 0);
        *ret_size = n * TABLE_MEM_CHUNK;
        return b;
}

static void image_unchanged(const uint8_t *before, size_t size, const char *what) {
        size_t now_size;
        uint8_t *now = image_bytes(&now_size);

        ck_assert_msg(now_size == size && memcmp(now, before, size) == 0, "%s changed the image", what);
        free(now);
}

/* ---- what the walker reads: every target and its ranges, as text ---- */

typedef struct text {
        char *buf;
        size_t len, size;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...) {
        va_list ap;
        int n;

        if (t->size - t->len < 256) {
                t->size = t->size * 2 + 4096;
                t->buf = realloc(t->buf, t->size);
                ck_assert_ptr_nonnull(t->buf);
        }
        va_start(ap, fmt);
        n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
        va_end(ap);
        ck_assert_int_lt(n, (int) (t->size - t->len));
        t->len += (size_t) n;
}

static int on_target(void *u, const walk_target *t) {
        add(u, "%02x:%02x.%x did %u tr %d root %" PRIx64 "\n", t->bus, t->devfn >> 3, t->devfn & 7, t->did,
            (int) t->translation, t->root);
        return 0;
}

static int on_same(void *u, const walk_target *t, const walk_target *first) {
        add(u, "  same as %02x:%02x.%x\n", first->bus, first->devfn >> 3, first->devfn & 7);
        return 0;
}

static int on_range(void *u, const walk_target *t, const walk_range *r) {
        add(u, "  %" PRIx64 "+%" PRIx64 " -> %" PRIx64 " %d%d\n", r->iova, r->length, r->phys, r->read,
            r->write);
        return 0;
}

static int on_anomaly(void *u, const walk_target *t, const walk_anomaly *a) {
        add(u, "  ANOMALY %s\n", a->message);
        return 0;
}

static char *walk_text(owned_unit *u) {
        static const walk_ops ops = {
                .target = on_target, .same_tables = on_same, .range = on_range, .anomaly = on_anomaly
        };
        text t = {};
        uint64_t rtaddr;

        add(&t, "%s", "");
        /* from the registers, as hardware walks: not from the unit's word */
        ck_assert_int_eq(unit_hw_read(owned_unit_hw(u), &layout_rtaddr, &rtaddr, NULL), 0);
        ck_assert_int_eq(
                walk_unit(image, rtaddr, owned_unit_hw(u)->cap, owned_unit_hw(u)->ecap, NULL, &ops, &t), 0);
        ck_assert_msg(!strstr(t.buf, "ANOMALY"), "the walker found anomalies:\n%s", t.buf);
        return t.buf;
}

/* What the walker sees of one device: its DID and bytes mapped, -1 when blocked. */
static int64_t device_did(owned_unit *u, uint8_t bus, uint8_t devfn, uint64_t *ret_bytes) {
        char *w = walk_text(u), key[16], *p;
        unsigned did;
        uint64_t bytes = 0;
        int64_t r = -1;

        snprintf(key, sizeof key, "%02x:%02x.%x ", bus, devfn >> 3, devfn & 7);
        p = strstr(w, key);
        if (p && sscanf(p + strlen(key), "did %u", &did) == 1) {
                r = did;
                for (p = strchr(p, '\n'); p && p[1] == ' ' && p[2] == ' '; p = strchr(p + 1, '\n')) {
                        uint64_t iova, length;
                        if (sscanf(p + 3, "%" SCNx64 "+%" SCNx64, &iova, &length) == 2)
                                bytes += length;
                }
        }
        free(w);
        if (ret_bytes)
                *ret_bytes = bytes;
        return r;
}

/* ---- the saved state, as the daemon's unit_state() makes it ---- */

static int add_range(void *userdata, uint64_t iova, uint64_t phys, uint64_t length, unsigned perms) {
        json_object *m = json_object_new_object();

        json_object_array_add(userdata, m);
        json_object_object_add(m, "iova", json_object_new_uint64(iova));
        json_object_object_add(m, "phys", json_object_new_uint64(phys));
        json_object_object_add(m, "length", json_object_new_uint64(length));
        json_object_object_add(m, "read", json_object_new_boolean(perms & PT_READ));
        json_object_object_add(m, "write", json_object_new_boolean(perms & PT_WRITE));
        return 0;
}

static json_object *saved_state(owned_unit *u) {
        _cleanup_json_ json_object *info = owned_unit_to_json(u, 0);
        json_object *s = json_object_new_object(), *domains = json_object_new_array(),
                    *devs = json_object_new_array(), *tm = json_object_new_object(), *list;
        _cleanup_json_ json_object *file = json_object_new_object(), *units = json_object_new_array(),
                                   *parsed = NULL;
        _cleanup_free_ char *bytes = NULL;
        size_t size;
        iommu_error err = {};

        json_object_object_add(s, "name", json_object_new_string("dmar0"));
        json_object_object_add(s, "address", json_object_new_uint64(0xfed90000));
        json_object_object_add(s, "segment", json_object_new_int(0));
        json_object_object_add(s, "mode", json_object_get(json_get(info, "mode")));
        json_object_object_add(s, "default_policy", json_object_get(json_get(info, "default_policy")));
        json_object_object_add(s, "invalidation", json_object_get(json_get(info, "invalidation")));
        json_object_object_add(tm, "kind", json_object_new_string("image"));
        json_object_object_add(tm, "path", NULL);
        json_object_object_add(s, "table_memory", tm);
        json_object_object_add(s, "root_table",
                               json_object_new_uint64(owned_unit_rtaddr(u) & ~UINT64_C(0xfff)));
        list = json_get_array(info, "domains");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *d = json_object_array_get_idx(list, i), *dd = json_get_array(d, "devices");
                json_object *j = json_object_new_object(), *maps = json_object_new_array();
                uint16_t did = (uint16_t) json_get_u64(d, "domain");

                ck_assert_int_eq(owned_unit_domain_ranges(u, did, add_range, maps), 0);
                json_object_object_add(j, "domain", json_object_new_int(did));
                json_object_object_add(j, "type", json_object_get(json_get(d, "type")));
                json_object_object_add(j, "address_width", json_object_get(json_get(d, "address_width")));
                json_object_object_add(j, "default", json_object_new_boolean(json_get_bool(d, "default")));
                json_object_object_add(j, "mappings", maps);
                json_object_object_add(j, "page_table", json_object_get(json_get(d, "page_table")));
                json_object_array_add(domains, j);
                for (size_t k = 0; k < json_object_array_length(dd); k++) {
                        json_object *dev = json_object_new_object();

                        json_object_object_add(dev, "bdf",
                                               json_object_get(json_object_array_get_idx(dd, k)));
                        json_object_object_add(dev, "domain", json_object_new_int(did));
                        json_object_array_add(devs, dev);
                }
        }
        json_object_object_add(s, "domains", domains);
        json_object_object_add(s, "devices", devs);
        json_object_object_add(s, "buffers", json_object_new_array());

        /* through the state file's bytes and back, as a restart reads it */
        json_object_array_add(units, s);
        json_object_object_add(file, "units", json_object_get(units));
        ck_assert_msg(control_state_format(file, &bytes, &size, &err) == 0, "%s", err.message);
        ck_assert_msg(control_state_parse(bytes, size, &parsed, &err) == 0, "%s", err.message);
        return json_object_get(json_object_array_get_idx(json_get_array(parsed, "units"), 0));
}

static char *info_text(owned_unit *u) {
        _cleanup_json_ json_object *j = owned_unit_to_json(u, 0);
        return strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
}

/* The default policy's DID as the unit says it, -1 for blocked. */
static int64_t default_did(owned_unit *u) {
        _cleanup_json_ json_object *j = owned_unit_to_json(u, 0);
        json_object *list = json_get_array(j, "domains");

        for (size_t i = 0; i < json_object_array_length(list); i++)
                if (json_get_bool(json_object_array_get_idx(list, i), "default"))
                        return (int64_t) json_get_u64(json_object_array_get_idx(list, i), "domain");
        return -1;
}

/* ---- building a unit ---- */

typedef struct built {
        uint16_t paging, identity, blocked, pass;
        bool has_pass;
} built;

static owned_unit *take(table_mem *mem, const owned_unit_config *c) {
        owned_unit *u = NULL;
        iommu_error err = {};

        ck_assert_msg(owned_unit_new("dmar0", regs, mem, c, &u, &err) == 0, "%s", err.message);
        return u;
}

/* Domains of each type, maps with 2 MiB pages and a split, attaches (00:1f.0
 * brings its RMRR into the paging domain), a detach, translation on. */
static built build(owned_unit *u) {
        iommu_error err = {};
        built b = {};

        ck_assert_msg(owned_unit_domain_create(u, DOMAIN_PAGING, -1, &b.paging, &err) == 0, "%s",
                      err.message);
        ck_assert_int_eq(owned_unit_domain_create(u, DOMAIN_IDENTITY, -1, &b.identity, &err), 0);
        ck_assert_int_eq(owned_unit_domain_create(u, DOMAIN_BLOCKED, -1, &b.blocked, &err), 0);
        b.has_pass = FIELD_GET(ECAP, PT, &owned_unit_hw(u)->ecap);
        if (b.has_pass)
                ck_assert_int_eq(owned_unit_domain_create(u, DOMAIN_PASSTHROUGH, -1, &b.pass, &err), 0);
        ck_assert_int_eq(owned_unit_map(u, b.paging, 0x100000, 0x40000000, 0x3000, PT_READ | PT_WRITE, &err),
                         0);
        ck_assert_int_eq(
                owned_unit_map(u, b.paging, 0x200000, 0x40200000, 0x400000, PT_READ | PT_WRITE, &err), 0);
        ck_assert_int_eq(
                owned_unit_map(u, b.paging, UINT64_C(0x80000000), 0x50000000, 0x1000, PT_READ, &err), 0);
        /* a 2 MiB page cut: its table of 4 KiB pages */
        ck_assert_msg(owned_unit_unmap(u, b.paging, 0x300000, 0x1000, &err) == 0, "%s", err.message);
        ck_assert_int_eq(owned_unit_attach(u, 0, 0x18, b.paging, &err), 0);
        ck_assert_msg(owned_unit_attach(u, 0, 0xf8, b.paging, &err) == 0, "%s", err.message);
        ck_assert_int_eq(owned_unit_attach(u, 0, 0x20, b.identity, &err), 0); /* 00:04.0, not the config's */
        ck_assert_int_eq(owned_unit_attach(u, 0, 0x08, b.blocked, &err), 0);
        ck_assert_int_eq(owned_unit_attach(u, 0, 0x28, b.paging, &err), 0); /* 00:05.0 */
        ck_assert_int_eq(owned_unit_detach(u, 0, 0x28, &err), 0);           /* back to the default */
        ck_assert_int_eq(owned_unit_power(u, true, &err), 0);
        return b;
}

/* Leave it as a kill -9 does: translating, the tables where they are; the
 * process's memory (the old table_mem) gone. */
static void crash(owned_unit *u, table_mem *mem) {
        owned_unit_free(u); /* translation on: it frees no table */
        table_mem_free(mem);
}

static table_mem *reopen(void) {
        table_mem *m = NULL;
        iommu_error err = {};

        ck_assert_msg(table_mem_reopen_image(image, MEM_BASE, &m, &err) == 0, "%s", err.message);
        ck_assert_uint_gt(table_mem_chunks(m), 0);
        ck_assert_uint_eq(table_mem_pages_used(m), 0);
        return m;
}

/* ---- the round trip ---- */

static void round_trip(uint64_t cap, uint64_t ecap, unit_mode mode, domain_type policy, bool registers) {
        owned_unit_config c = config_for(mode, policy, registers);
        _cleanup_json_ json_object *saved = NULL;
        _cleanup_free_ char *info = NULL, *walked = NULL, *info2 = NULL, *walked2 = NULL;
        _cleanup_free_ uint8_t *bytes = NULL;
        table_mem *mem = NULL, *mem2;
        owned_unit *u, *u2 = NULL;
        iommu_error err = {};
        size_t size, writes;
        uint64_t bytes_seen;
        uint16_t extra;
        built b;

        start(cap, ecap);
        ck_assert_int_eq(table_mem_open_image(image, MEM_BASE, &mem, &err), 0);
        u = take(mem, &c);
        b = build(u);
        info = info_text(u);
        walked = walk_text(u);
        saved = saved_state(u);
        crash(u, mem);

        bytes = image_bytes(&size);
        writes = n_writes();
        mem2 = reopen();
        ck_assert_msg(owned_unit_adopt("dmar0", regs, mem2, &c, saved, &u2, &err) == 0, "%s", err.message);
        image_unchanged(bytes, size, "the adoption");
        ck_assert_uint_eq(n_writes(), writes); /* not one register written */
        info2 = info_text(u2);
        ck_assert_str_eq(info2, info); /* table_pages included: every page claimed */
        walked2 = walk_text(u2);
        ck_assert_str_eq(walked2, walked);
        ck_assert_int_eq(owned_unit_invalidator(u2),
                         strstr(info, "\"queued\"") ? INVALIDATOR_QUEUED : INVALIDATOR_REGISTER);

        /* it goes on as the first would have */
        ck_assert_msg(
                owned_unit_map(u2, b.paging, 0x1000000, 0x60000000, 0x200000, PT_READ | PT_WRITE, &err) == 0,
                "%s", err.message);
        ck_assert_int_eq(device_did(u2, 0, 0x18, &bytes_seen), b.paging);
        ck_assert_uint_eq(bytes_seen, 0x3000 + 0x3ff000 + 0x1000 + 0x200000 + 0x10000);
        ck_assert_int_eq(owned_unit_unmap(u2, b.paging, 0x200000, 0x100000, &err), 0);
        ck_assert_int_eq(device_did(u2, 0, 0x18, &bytes_seen), b.paging);
        ck_assert_uint_eq(bytes_seen, 0x3000 + 0x2ff000 + 0x1000 + 0x200000 + 0x10000);
        /* the RMRR stays: unmapping it is refused, as on the first */
        ck_assert_int_eq(owned_unit_unmap(u2, b.paging, 0xe0000, 0x1000, &err), -EPERM);
        ck_assert_int_eq(owned_unit_attach(u2, 0, 0x30, b.paging, &err), 0); /* 00:06.0 */
        ck_assert_int_eq(device_did(u2, 0, 0x30, NULL), b.paging);
        ck_assert_int_eq(owned_unit_detach(u2, 0, 0x18, &err), 0);
        ck_assert_int_eq(device_did(u2, 0, 0x18, NULL), default_did(u2));
        ck_assert_int_eq(owned_unit_attach(u2, 0, 0xf8, b.identity, &err), 0);
        ck_assert_int_eq(device_did(u2, 0, 0xf8, NULL), b.identity);
        ck_assert_int_eq(owned_unit_detach(u2, 0, 0x08, &err), 0);
        ck_assert_int_eq(owned_unit_domain_destroy(u2, b.blocked, &err), 0);
        ck_assert_int_eq(owned_unit_domain_destroy(u2, b.paging, &err), -EBUSY);
        ck_assert_int_eq(owned_unit_domain_create(u2, DOMAIN_PAGING, -1, &extra, &err), 0);
        ck_assert_int_eq(extra, b.blocked); /* the lowest free DID */
        no_violations();

        /* and gives the unit back with every page it claimed */
        ck_assert_msg(owned_unit_release(u2, &err) == 0, "%s", err.message);
        owned_unit_free(u2);
        ck_assert_uint_eq(table_mem_pages_used(mem2), 0);
        table_mem_free(mem2);
        no_violations();
        stop();
}

START_TEST(legacy_queued_caching_mode) {
        round_trip(QEMU_CAP, QEMU_ECAP, UNIT_MODE_LEGACY, DOMAIN_PASSTHROUGH, false);
}
END_TEST

START_TEST(legacy_queued_identity_policy) {
        round_trip(QEMU_CAP_NO_CM, QEMU_ECAP, UNIT_MODE_LEGACY, DOMAIN_IDENTITY, false);
}
END_TEST

START_TEST(legacy_registers) {
        round_trip(QEMU_CAP_NO_CM, QEMU_ECAP, UNIT_MODE_LEGACY, DOMAIN_PASSTHROUGH, true);
}
END_TEST

START_TEST(legacy_registers_caching_mode_blocked_policy) {
        round_trip(QEMU_CAP, QEMU_ECAP, UNIT_MODE_LEGACY, DOMAIN_BLOCKED, true);
}
END_TEST

START_TEST(scalable_caching_mode) {
        round_trip(QEMU_CAP, QEMU_ECAP_SM, UNIT_MODE_SCALABLE, DOMAIN_PASSTHROUGH, false);
}
END_TEST

START_TEST(scalable_identity_policy) {
        round_trip(QEMU_CAP_NO_CM, QEMU_ECAP_SM, UNIT_MODE_SCALABLE, DOMAIN_IDENTITY, false);
}
END_TEST

/* ---- disagreements ---- */

static json_object *domain_in(json_object *saved, uint16_t did) {
        json_object *list = json_get_array(saved, "domains");

        for (size_t i = 0; i < json_object_array_length(list); i++)
                if (json_get_u64(json_object_array_get_idx(list, i), "domain") == did)
                        return json_object_array_get_idx(list, i);
        return NULL;
}

/* The adoption refused with one line holding want, the image and the
 * registers untouched, nothing left claimed. */
static void refused(const owned_unit_config *c, json_object *saved, const char *want) {
        _cleanup_free_ uint8_t *bytes = NULL;
        table_mem *mem = reopen();
        owned_unit *u = NULL;
        iommu_error err = {};
        size_t size, writes = n_writes();

        bytes = image_bytes(&size);
        ck_assert_int_eq(owned_unit_adopt("dmar0", regs, mem, c, saved, &u, &err), -EPROTO);
        ck_assert_ptr_null(u);
        ck_assert_msg(strstr(err.message, want), "\"%s\" does not say \"%s\"", err.message, want);
        ck_assert_msg(!strchr(err.message, '\n'), "more than one line: %s", err.message);
        ck_assert_msg(strncmp(err.message, "dmar0: ", 7) == 0, "the unit is not named: %s", err.message);
        image_unchanged(bytes, size, "a refused adoption");
        ck_assert_uint_eq(n_writes(), writes);
        ck_assert_uint_eq(table_mem_pages_used(mem), 0);
        table_mem_free(mem);
}

/* The physical address of the level-1 entry for iova under a 4-level root. */
static uint64_t *leaf_entry(uint64_t root, uint64_t iova) {
        uint64_t table = root;

        for (unsigned level = 4; level >= 1; level--) {
                uint64_t *t = iommu_ram_image_page(image, table), *e;

                ck_assert_ptr_nonnull(t);
                e = &t[(iova >> (12 + 9 * (level - 1))) & 511];
                if (level == 1 || (*e & (1u << 7)))
                        return e;
                table = *e & ~UINT64_C(0xfff) & ((UINT64_C(1) << 52) - 1);
        }
        return NULL;
}

typedef struct found {
        uint8_t devfn;
        uint64_t entry;
} found;

static int find_entry(void *u, const walk_target *t) {
        found *f = u;

        if (t->devfn == f->devfn && t->bus == 0)
                f->entry = t->entry_address;
        return 0;
}

static void disagreements(uint64_t cap, uint64_t ecap, unit_mode mode, bool registers) {
        owned_unit_config c = config_for(mode, DOMAIN_PASSTHROUGH, registers);
        _cleanup_json_ json_object *saved = NULL;
        table_mem *mem = NULL;
        iommu_error err = {};
        uint64_t rtaddr, *e, old, gcmd;
        json_object *copy = NULL, *d, *list;
        found f = { .devfn = 0x18 };
        owned_unit *u;
        built b;
        char want[128];

        start(cap, ecap);
        ck_assert_int_eq(table_mem_open_image(image, MEM_BASE, &mem, &err), 0);
        u = take(mem, &c);
        b = build(u);
        saved = saved_state(u);
        rtaddr = owned_unit_rtaddr(u);
        ck_assert_int_eq(walk_unit(image, rtaddr, cap, ecap, NULL, &(walk_ops){ .target = find_entry }, &f),
                         0);
        ck_assert_uint_ne(f.entry, 0);
        crash(u, mem);

        /* RTADDR moved */
        ck_assert_int_eq(iommu_regs_write(regs, REG_RTADDR, 64, rtaddr + 0x1000, NULL), 0);
        snprintf(want, sizeof want, "RTADDR is 0x%" PRIx64 " but the saved root table is 0x%" PRIx64,
                 (rtaddr & ~UINT64_C(0xfff)) + 0x1000, rtaddr & ~UINT64_C(0xfff));
        refused(&c, saved, want);
        ck_assert_int_eq(iommu_regs_write(regs, REG_RTADDR, 64, rtaddr, NULL), 0);

        /* a device's entry in another domain: the DID is in the context
         * entry's high word (legacy, bits 72..87) or the PASID entry's
         * second (scalable, bits 64..79) */
        if (mode == UNIT_MODE_LEGACY) {
                e = (uint64_t *) ((uint8_t *) iommu_ram_image_page(image, f.entry & ~UINT64_C(0xfff)) +
                                  (f.entry & 0xfff));
                old = e[1];
                e[1] = (old & ~(UINT64_C(0xffff) << 8)) | (uint64_t) 7 << 8;
                snprintf(want, sizeof want,
                         "00:03.0's context entry says domain 7, the saved state domain %u", b.paging);
        } else {
                e = (uint64_t *) ((uint8_t *) iommu_ram_image_page(image, f.entry & ~UINT64_C(0xfff)) +
                                  (f.entry & 0xfff));
                old = e[1];
                e[1] = (old & ~UINT64_C(0xffff)) | 7;
                snprintf(want, sizeof want, "00:03.0's PASID entry says domain 7, the saved state domain %u",
                         b.paging);
        }
        refused(&c, saved, want);
        e[1] = old;

        /* a bit iommud never sets in a root entry, in a device's entry (FPD) */
        e = iommu_ram_image_page(image, rtaddr & ~UINT64_C(0xfff));
        old = e[0];
        e[0] |= 1u << 1;
        refused(&c, saved, "The root entry of bus 00 at");
        e[0] = old;
        e = (uint64_t *) ((uint8_t *) iommu_ram_image_page(image, f.entry & ~UINT64_C(0xfff)) +
                          (f.entry & 0xfff));
        old = e[0];
        e[0] |= 1u << 1;
        refused(&c, saved,
                mode == UNIT_MODE_LEGACY ? "The context entry of 00:03.0" : "The PASID entry of 00:03.0");
        refused(&c, saved, "not an entry iommud writes");
        e[0] = old;

        /* a PTE changed: IOVA 0x101000 goes elsewhere */
        d = domain_in(saved, b.paging);
        e = leaf_entry(json_get_u64(d, "page_table"), 0x101000);
        old = *e;
        *e = (old & 0xfff) | 0x70000000;
        refused(&c, saved, "domain");
        refused(&c, saved,
                "maps [0x100000, 0x101000) to 0x40000000 rw in its tables, the saved state "
                "[0x100000, 0x103000) to 0x40000000 rw");
        *e = old;
        /* a bit iommud never sets */
        *e = old | (UINT64_C(1) << 2);
        refused(&c, saved, "not a leaf iommud writes");
        *e = old;

        /* a mapping missing from the saved list */
        copy = NULL;
        ck_assert_int_eq(json_object_deep_copy(saved, &copy, NULL), 0);
        list = json_get_array(domain_in(copy, b.paging), "mappings");
        ck_assert_int_eq(json_object_array_del_idx(list, 1, 1), 0); /* [0].iova is the RMRR's */
        refused(&c, copy,
                "maps [0x100000, 0x103000) to 0x40000000 rw in its tables, the saved state [0x200000, ");
        json_object_put(copy);
        copy = NULL;

        /* a saved domain missing (its device's entry still points at it) */
        ck_assert_int_eq(json_object_deep_copy(saved, &copy, NULL), 0);
        list = json_get_array(copy, "domains");
        for (size_t i = 0; i < json_object_array_length(list); i++)
                if (json_get_u64(json_object_array_get_idx(list, i), "domain") == b.identity)
                        ck_assert_int_eq(json_object_array_del_idx(list, i, 1), 0);
        list = json_get_array(copy, "devices");
        for (size_t i = 0; i < json_object_array_length(list);)
                if (json_get_u64(json_object_array_get_idx(list, i), "domain") == b.identity)
                        ck_assert_int_eq(json_object_array_del_idx(list, i, 1), 0);
                else
                        i++;
        snprintf(want, sizeof want, "00:04.0's %s says domain %u, the saved state domain",
                 mode == UNIT_MODE_LEGACY ? "context entry" : "PASID entry", b.identity);
        refused(&c, copy, want);
        json_object_put(copy);
        copy = NULL;

        /* the saved invalidation differs from QIE */
        ck_assert_int_eq(json_object_deep_copy(saved, &copy, NULL), 0);
        json_object_object_add(copy, "invalidation",
                               json_object_new_string(registers ? "queued" : "register"));
        refused(&c, copy,
                registers ? "queued invalidation is off (GSTS.QIES 0), the saved state says queued"
                          : "queued invalidation is on (GSTS.QIES 1), the saved state says register");
        json_object_put(copy);
        copy = NULL;

        /* translation off */
        gcmd = FIELD_MASK64(GCMD, TE) | (registers ? 0 : FIELD_MASK64(GCMD, QIE));
        ck_assert_int_eq(iommu_regs_write(regs, REG_GCMD, 32, gcmd & ~FIELD_MASK64(GCMD, TE), NULL), 0);
        refused(&c, saved, "translation is off (GSTS.TES 0)");
        ck_assert_int_eq(iommu_regs_write(regs, REG_GCMD, 32, gcmd, NULL), 0);

        /* everything put back: taken back */
        {
                table_mem *m = reopen();
                owned_unit *u2 = NULL;

                ck_assert_msg(owned_unit_adopt("dmar0", regs, m, &c, saved, &u2, &err) == 0, "%s",
                              err.message);
                ck_assert_int_eq(owned_unit_release(u2, &err), 0);
                owned_unit_free(u2);
                ck_assert_uint_eq(table_mem_pages_used(m), 0);
                table_mem_free(m);
        }
        stop();
}

START_TEST(disagreements_legacy_queued) {
        disagreements(QEMU_CAP, QEMU_ECAP, UNIT_MODE_LEGACY, false);
}
END_TEST

START_TEST(disagreements_legacy_registers) {
        disagreements(QEMU_CAP_NO_CM, QEMU_ECAP, UNIT_MODE_LEGACY, true);
}
END_TEST

START_TEST(disagreements_scalable) {
        disagreements(QEMU_CAP, QEMU_ECAP_SM, UNIT_MODE_SCALABLE, false);
}
END_TEST

/* ---- a random churn, then the adoption ---- */

static uint64_t rnd_state = 0x9e3779b97f4a7c15;
static uint64_t rnd(uint64_t n) {
        rnd_state ^= rnd_state << 13;
        rnd_state ^= rnd_state >> 7;
        rnd_state ^= rnd_state << 17;
        return rnd_state % n;
}

typedef struct churned {
        uint16_t dids[8];
        size_t n_dids;
} churned;

/* n random changes (domains made, maps, unmaps, attaches, detaches): how
 * many were accepted. */
static size_t churn_steps(owned_unit *u, churned *ch, unsigned n) {
        iommu_error err = {};
        size_t ok = 0;

        for (unsigned i = 0; i < n; i++) {
                uint8_t devfn = (uint8_t) (rnd(8) * 8);
                uint64_t iova = rnd(64) * 0x80000, length = (1 + rnd(16)) * (rnd(4) ? 0x1000 : 0x80000);
                uint16_t did = ch->n_dids ? ch->dids[rnd(ch->n_dids)] : 1;
                int r = -1;

                switch (rnd(7)) {
                case 0:
                        if (ch->n_dids < ELEMENTSOF(ch->dids)) {
                                r = owned_unit_domain_create(u,
                                                             rnd(3) ? DOMAIN_PAGING : (domain_type) rnd(4),
                                                             -1, &ch->dids[ch->n_dids], &err);
                                ch->n_dids += r >= 0;
                        }
                        break;
                case 1:
                case 2:
                        r = owned_unit_map(u, did, iova, 0x40000000 + iova, length,
                                           rnd(3) ? PT_READ | PT_WRITE : PT_READ, &err);
                        break;
                case 3:
                        r = owned_unit_unmap(u, did, iova, length, &err);
                        break;
                case 4:
                case 5:
                        r = owned_unit_attach(u, 0, devfn, did, &err);
                        break;
                default:
                        r = owned_unit_detach(u, 0, devfn, &err);
                        break;
                }
                ok += r >= 0;
        }
        return ok;
}

static void churn(uint64_t cap, uint64_t ecap, unit_mode mode, domain_type policy) {
        owned_unit_config c = config_for(mode, policy, false);
        _cleanup_json_ json_object *saved = NULL;
        _cleanup_free_ char *info = NULL, *walked = NULL, *info2 = NULL, *walked2 = NULL;
        _cleanup_free_ uint8_t *bytes = NULL;
        table_mem *mem = NULL, *mem2;
        owned_unit *u, *u2 = NULL;
        iommu_error err = {};
        churned ch = {};
        size_t size;

        start(cap, ecap);
        ck_assert_int_eq(table_mem_open_image(image, MEM_BASE, &mem, &err), 0);
        u = take(mem, &c);
        ck_assert_int_eq(owned_unit_power(u, true, &err), 0);
        ck_assert_uint_gt(churn_steps(u, &ch, 100), 30); /* the churn changed things */
        no_violations();
        info = info_text(u);
        /* devices in domains, and mappings, for the adoption to check */
        ck_assert_msg(strstr(info, "\"0000:00:0") && strstr(info, "\"mapped\":"), "%s", info);
        walked = walk_text(u);
        saved = saved_state(u);
        crash(u, mem);

        bytes = image_bytes(&size);
        mem2 = reopen();
        ck_assert_msg(owned_unit_adopt("dmar0", regs, mem2, &c, saved, &u2, &err) == 0, "%s", err.message);
        image_unchanged(bytes, size, "the adoption");
        info2 = info_text(u2);
        ck_assert_str_eq(info2, info);
        walked2 = walk_text(u2);
        ck_assert_str_eq(walked2, walked);
        ck_assert_int_eq(owned_unit_release(u2, &err), 0);
        owned_unit_free(u2);
        ck_assert_uint_eq(table_mem_pages_used(mem2), 0);
        table_mem_free(mem2);
        no_violations();
        stop();
}

/* ---- undoing a change cut short (control/undo.h) ---- */

#define CUTS 12

typedef struct watcher {
        undo_log *log;
        size_t stores;
        size_t every; /* memory is copied before every so many stores */
        struct {
                uint8_t *bytes; /* the table memory: a change cut short there */
                size_t size;
                size_t recorded; /* entries recorded by then */
        } cut[CUTS];
        size_t n_cuts;
} watcher;

static void on_store(void *userdata, uint64_t phys, uint64_t old) {
        watcher *w = userdata;

        if (w->stores % w->every == w->every - 1 && w->n_cuts < CUTS) {
                w->cut[w->n_cuts].bytes = image_bytes(&w->cut[w->n_cuts].size);
                w->cut[w->n_cuts++].recorded = w->stores;
        }
        w->stores++;
        undo_log_note(w->log, phys, old);
}

/* What the walker reads of tables in these bytes (the table memory from
 * MEM_BASE on), from rtaddr. */
static char *walk_bytes(const uint8_t *bytes, size_t size, uint64_t rtaddr, uint64_t cap, uint64_t ecap) {
        static const walk_ops ops = {
                .target = on_target, .same_tables = on_same, .range = on_range, .anomaly = on_anomaly
        };
        iommu_ram *copy = NULL;
        text t = {};

        ck_assert_int_eq(iommu_ram_new_image(&copy), 0);
        for (size_t off = 0; off < size; off += VTD_PAGE_SIZE) {
                void *p = iommu_ram_image_page(copy, MEM_BASE + off);

                ck_assert_ptr_nonnull(p);
                memcpy(p, bytes + off, VTD_PAGE_SIZE);
        }
        add(&t, "%s", "");
        ck_assert_int_eq(walk_unit(copy, rtaddr, cap, ecap, NULL, &ops, &t), 0);
        iommu_ram_free(copy);
        return t.buf;
}

/* A unit in a state saved (S), then a churn recorded as one change in
 * flight on top of S, every store seen by the record: memory copied
 * in the middle of it, as a kill there leaves it, is S again once the
 * stores recorded by then are written back; and a take-back after the
 * whole record is written back into the real table memory finds exactly
 * S (owned_unit_adopt checks every table against it). */
static void undo_cut(uint64_t cap, uint64_t ecap, unit_mode mode, domain_type policy, size_t every) {
        owned_unit_config c = config_for(mode, policy, false);
        char path[] = "/tmp/test-undo-XXXXXX";
        _cleanup_json_ json_object *saved = NULL;
        _cleanup_free_ char *walked = NULL, *walked2 = NULL;
        _cleanup_free_ uint8_t *cut_bytes = NULL;
        _cleanup_free_ uint64_t *was = NULL;
        size_t cut_size;
        _cleanup_(undo_record_done) undo_record rec = {};
        table_mem *mem = NULL, *mem2;
        owned_unit *u, *u2 = NULL;
        iommu_error err = {};
        watcher w = { .every = every };
        churned ch = {};
        uint64_t rtaddr;
        int fd;

        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        close(fd);
        start(cap, ecap);
        ck_assert_int_eq(table_mem_open_image(image, MEM_BASE, &mem, &err), 0);
        u = take(mem, &c);
        ck_assert_int_eq(owned_unit_power(u, true, &err), 0);
        ck_assert_uint_gt(churn_steps(u, &ch, 40), 10);
        walked = walk_text(u);
        saved = saved_state(u);
        rtaddr = owned_unit_rtaddr(u);

        ck_assert_msg(undo_log_open(path, &w.log, &err) == 0, "%s", err.message);
        undo_log_begin(w.log, 41, UNDO_TABLES, "dmar0", "");
        table_mem_watch_stores(mem, on_store, &w);
        ck_assert_uint_gt(churn_steps(u, &ch, 60), 20);
        table_mem_watch_stores(mem, NULL, NULL);
        ck_assert_msg(w.n_cuts >= 4, "only %zu stores", w.stores);
        crash(u, mem);
        cut_bytes = image_bytes(&cut_size);

        ck_assert_msg(undo_record_load(path, &rec, &err) == 0, "%s", err.message);
        ck_assert_int_eq(rec.kind, UNDO_TABLES);
        ck_assert_uint_eq(rec.serial, 41);
        ck_assert_str_eq(rec.unit, "dmar0");
        ck_assert(!rec.incomplete);
        ck_assert_uint_eq(rec.n_entries, w.stores);

        /* cut short: the stores recorded by then, written back */
        for (size_t k = 0; k < w.n_cuts; k++) {
                char *cut;

                for (size_t i = w.cut[k].recorded; i > 0; i--) {
                        uint64_t off = rec.entries[i - 1].phys - MEM_BASE;

                        ck_assert_uint_lt(off, w.cut[k].size);
                        memcpy(w.cut[k].bytes + off, &rec.entries[i - 1].old, sizeof(uint64_t));
                }
                cut = walk_bytes(w.cut[k].bytes, w.cut[k].size, rtaddr, cap, ecap);
                ck_assert_msg(streq(cut, walked), "cut after %zu stores:\n%s\nbut before the change:\n%s",
                              w.cut[k].recorded, cut, walked);
                free(cut);
                free(w.cut[k].bytes);
        }

        /* all of it, into the table memory, then taken back as S */
        mem2 = reopen();
        /* written back, then restored: as found, byte for byte */
        ck_assert_msg(undo_apply(mem2, &rec, &was, &err) == 0, "%s", err.message);
        undo_restore(mem2, &rec, was);
        was = mfree(was);
        image_unchanged(cut_bytes, cut_size, "writing back and restoring the record");
        ck_assert_msg(undo_apply(mem2, &rec, &was, &err) == 0, "%s", err.message);
        ck_assert_msg(owned_unit_adopt("dmar0", regs, mem2, &c, saved, &u2, &err) == 0, "%s", err.message);
        walked2 = walk_text(u2);
        ck_assert_str_eq(walked2, walked);
        ck_assert_int_eq(owned_unit_release(u2, &err), 0);
        owned_unit_free(u2);
        table_mem_free(mem2);
        undo_log_free(w.log);
        unlink(path);
        no_violations();
        stop();
}

START_TEST(undo_legacy) {
        undo_cut(QEMU_CAP, QEMU_ECAP, UNIT_MODE_LEGACY, DOMAIN_PASSTHROUGH, 7);
        undo_cut(QEMU_CAP, QEMU_ECAP, UNIT_MODE_LEGACY, DOMAIN_BLOCKED, 13);
}
END_TEST

START_TEST(undo_scalable) {
        undo_cut(QEMU_CAP_NO_CM, QEMU_ECAP_SM, UNIT_MODE_SCALABLE, DOMAIN_IDENTITY, 5);
        undo_cut(QEMU_CAP, QEMU_ECAP_SM, UNIT_MODE_SCALABLE, DOMAIN_PASSTHROUGH, 11);
}
END_TEST

/* The record file: refused in one line when it is none, of another
 * version or damaged; grown past its first size; a change on top of the
 * same state adds to the record, one on top of another starts anew. */
START_TEST(undo_record_file) {
        char path[] = "/tmp/test-undo-XXXXXX";
        _cleanup_(undo_record_done) undo_record rec = {};
        undo_log *l = NULL;
        iommu_error err = {};
        uint8_t junk[600] = "not a record";
        int fd;

        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, junk, sizeof junk), (ssize_t) sizeof junk);
        close(fd);
        ck_assert_int_eq(undo_record_load(path, &rec, &err), -EPROTO);
        ck_assert_msg(strstr(err.message, "is not a record") && !strchr(err.message, '\n'), "%s",
                      err.message);

        ck_assert_msg(undo_log_open(path, &l, &err) == 0, "%s", err.message);
        ck_assert_int_eq(undo_record_load(path, &rec, &err), 0);
        ck_assert_int_eq(rec.kind, UNDO_NONE);
        undo_record_done(&rec);
        undo_log_note(l, 0x1000, 1); /* nothing in flight: not recorded */
        undo_log_begin(l, 5, UNDO_TABLES, "dmar0", "/dev/hugepages/iommud/dmar0");
        for (uint64_t i = 0; i < 70000; i++)
                undo_log_note(l, 0x20000000 + 8 * i, i);
        undo_log_begin(l, 5, UNDO_TABLES, "dmar0", ""); /* the same state: adds */
        undo_log_note(l, 0x20000000, 70000);
        ck_assert_int_eq(undo_record_load(path, &rec, &err), 0);
        ck_assert_int_eq(rec.kind, UNDO_TABLES);
        ck_assert_uint_eq(rec.n_entries, 70001);
        ck_assert_uint_eq(rec.entries[69999].phys, 0x20000000 + 8 * 69999);
        ck_assert_uint_eq(rec.entries[70000].old, 70000);
        ck_assert_str_eq(rec.memory, "/dev/hugepages/iommud/dmar0");
        undo_record_done(&rec);
        undo_log_begin(l, 6, UNDO_GIVE_BACK, "dmar0", ""); /* another state: anew */
        ck_assert_int_eq(undo_record_load(path, &rec, &err), 0);
        ck_assert_int_eq(rec.kind, UNDO_GIVE_BACK);
        ck_assert_uint_eq(rec.n_entries, 0);
        undo_record_done(&rec);
        undo_log_end(l);
        ck_assert_int_eq(undo_record_load(path, &rec, &err), 0);
        ck_assert_int_eq(rec.kind, UNDO_NONE);
        undo_record_done(&rec);
        undo_log_free(l);

        /* a damaged one: more entries than room */
        fd = open(path, O_RDWR);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pwrite(fd, &(uint64_t){ UINT64_C(1) << 40 }, 8, 32), 8);
        close(fd);
        ck_assert_int_eq(undo_record_load(path, &rec, &err), -EPROTO);
        ck_assert_msg(strstr(err.message, "damaged"), "%s", err.message);
        unlink(path);
        ck_assert_int_eq(undo_record_load(path, &rec, &err), -ENOENT);
}
END_TEST

START_TEST(churn_legacy) {
        churn(QEMU_CAP, QEMU_ECAP, UNIT_MODE_LEGACY, DOMAIN_PASSTHROUGH);
}
END_TEST

START_TEST(churn_scalable) {
        churn(QEMU_CAP_NO_CM, QEMU_ECAP_SM, UNIT_MODE_SCALABLE, DOMAIN_IDENTITY);
}
END_TEST

/* ---- the pieces ---- */

START_TEST(claims) {
        table_mem *m = NULL, *m2 = NULL;
        iommu_error err = {};
        uint64_t p1, p2, c;
        void *v;

        start(QEMU_CAP, QEMU_ECAP);
        ck_assert_int_eq(table_mem_open_image(image, MEM_BASE, &m, &err), 0);
        ck_assert_int_eq(table_mem_alloc_page(m, &v, &p1, &err), 0);
        memset(v, 0xa5, VTD_PAGE_SIZE);
        ck_assert_int_eq(table_mem_alloc_page(m, &v, &p2, &err), 0);
        ck_assert_int_eq(table_mem_alloc_chunk(m, &v, &c, &err), 0);
        table_mem_free(m);

        ck_assert_int_eq(table_mem_reopen_image(image, MEM_BASE, &m2, &err), 0);
        ck_assert_uint_eq(table_mem_chunks(m2), 2);
        ck_assert_uint_eq(table_mem_pages_used(m2), 0);
        ck_assert_int_eq(table_mem_claim_page(m2, p1, &err), 0);
        ck_assert_int_eq(*(uint8_t *) table_mem_virt(m2, p1), 0xa5); /* never cleared */
        ck_assert_int_eq(table_mem_claim_page(m2, p1, &err), -EEXIST);
        ck_assert_int_eq(table_mem_claim_page(m2, p1 + 8, &err), -EINVAL);
        ck_assert_int_eq(table_mem_claim_page(m2, MEM_BASE + 2 * TABLE_MEM_CHUNK, &err), -EINVAL);
        ck_assert_int_eq(table_mem_claim_chunk(m2, MEM_BASE, &err), -EEXIST);
        ck_assert_int_eq(table_mem_claim_chunk(m2, c + VTD_PAGE_SIZE, &err), -EINVAL);
        ck_assert_int_eq(table_mem_claim_chunk(m2, c, &err), 0);
        ck_assert_int_eq(table_mem_claim_page(m2, c + VTD_PAGE_SIZE, &err), -EEXIST);
        ck_assert_uint_eq(table_mem_pages_used(m2), 1 + TABLE_MEM_CHUNK_PAGES);
        /* the next page handed out is one nobody claimed */
        ck_assert_int_eq(table_mem_alloc_page(m2, &v, &p2, &err), 0);
        ck_assert_uint_ne(p2, p1);
        ck_assert_msg(p2 < c || p2 >= c + TABLE_MEM_CHUNK, "a page of the claimed chunk handed out");
        table_mem_free_chunk(m2, c);
        ck_assert_uint_eq(table_mem_pages_used(m2), 2);
        table_mem_free(m2);
        stop();
}
END_TEST

START_TEST(malformed_tables) {
        page_table_config pc = { .levels = 4, .cap = QEMU_CAP, .coherent = true };
        table_mem *m = NULL, *m2 = NULL;
        page_table *pt = NULL, *pt2 = NULL;
        iommu_error err = {};
        uint64_t root, *top, *e;

        start(QEMU_CAP, QEMU_ECAP);
        ck_assert_int_eq(table_mem_open_image(image, MEM_BASE, &m, &err), 0);
        ck_assert_int_eq(page_table_new(m, &pc, &pt, &err), 0);
        ck_assert_int_eq(page_table_map(pt, 0x200000, 0x40200000, 0x201000, PT_READ, &err), 0);
        root = page_table_root(pt);
        table_mem_free(m);      /* pt's pages stay in the image */
        page_table_abandon(pt); /* the struct only: as a crash leaves it */

        ck_assert_int_eq(table_mem_reopen_image(image, MEM_BASE, &m2, &err), 0);
        ck_assert_msg(page_table_adopt(m2, &pc, root, &pt2, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(page_table_mapped(pt2), 0x201000);
        ck_assert_uint_eq(page_table_pages(pt2), 4); /* top, level 3, level 2, one level 1 */
        ck_assert_uint_eq(table_mem_pages_used(m2), 4);
        page_table_free(pt2);
        ck_assert_uint_eq(table_mem_pages_used(m2), 0);

        top = iommu_ram_image_page(image, root);
        /* a pointer out of table memory */
        top[1] = UINT64_C(0x7000000) | 3;
        ck_assert_int_eq(page_table_adopt(m2, &pc, root, &pt2, &err), -EPROTO);
        ck_assert_ptr_nonnull(strstr(err.message, "0x7000000 is outside table memory"));
        ck_assert_uint_eq(table_mem_pages_used(m2), 0);
        /* a table reached twice */
        top[1] = top[0];
        ck_assert_int_eq(page_table_adopt(m2, &pc, root, &pt2, &err), -EPROTO);
        ck_assert_ptr_nonnull(strstr(err.message, "reached twice"));
        ck_assert_uint_eq(table_mem_pages_used(m2), 0);
        top[1] = 0;
        /* a reserved bit in a table pointer (A) */
        e = &top[0];
        *e |= 1u << 8;
        ck_assert_int_eq(page_table_adopt(m2, &pc, root, &pt2, &err), -EPROTO);
        ck_assert_ptr_nonnull(strstr(err.message, "not an entry iommud writes"));
        ck_assert_uint_eq(table_mem_pages_used(m2), 0);
        *e &= ~(1u << 8);
        ck_assert_msg(page_table_adopt(m2, &pc, root, &pt2, &err) == 0, "%s", err.message);
        page_table_free(pt2);
        table_mem_free(m2);
        stop();
}
END_TEST

static Suite *make_suite(void) {
        Suite *s = suite_create("control-adopt");
        TCase *tc = tcase_create("control-adopt");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, claims);
        tcase_add_test(tc, malformed_tables);
        tcase_add_test(tc, legacy_queued_caching_mode);
        tcase_add_test(tc, legacy_queued_identity_policy);
        tcase_add_test(tc, legacy_registers);
        tcase_add_test(tc, legacy_registers_caching_mode_blocked_policy);
        tcase_add_test(tc, scalable_caching_mode);
        tcase_add_test(tc, scalable_identity_policy);
        tcase_add_test(tc, disagreements_legacy_queued);
        tcase_add_test(tc, disagreements_legacy_registers);
        tcase_add_test(tc, disagreements_scalable);
        tcase_add_test(tc, churn_legacy);
        tcase_add_test(tc, churn_scalable);
        tcase_add_test(tc, undo_legacy);
        tcase_add_test(tc, undo_scalable);
        tcase_add_test(tc, undo_record_file);
        suite_add_tcase(s, tc);
        return s;
}
