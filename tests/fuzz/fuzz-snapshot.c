/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The snapshot reader, and everything built from a snapshot it accepts:
 * the model (info, devices, domains, faults, DMAR, mappings, mapped bytes),
 * the metrics, and iommuctl's text of each.  Mappings are checked both
 * ways the library writes them: the streamed JSON text must be byte for
 * byte json-c's text of the same document built as objects.
 *
 * The mutator (LLVMFuzzerCustomMutator) keeps files readable: it mutates
 * inside one section (or one page of PAGES), then lays the sections out
 * again as a writer of iommu-snapshot(5) does and computes every CRC, so
 * that mutations reach the contents rather than stopping at a CRC.  Some
 * mutations change the header or section table instead (their CRCs made
 * right too), and a few leave the file as libFuzzer's own mutation left it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "basic/crc32.h"
#include "basic/json-util.h"
#include "basic/unaligned.h"
#include "cli/cli.h"
#include "fuzz.h"
#include "model/mapped.h"
#include "model/metrics.h"
#include "model/model.h"

/* The file layout of iommu-snapshot(5), version 1. */
#define HEADER_SIZE 64
#define ENTRY_SIZE 32
#define SECTION_PAGES 6
#define PAGE_SIZE 4096
#define MAX_SECTIONS 64

/* --- the mutator --------------------------------------------------------- */

typedef struct section {
        uint32_t type;
        uint8_t *data;
        size_t len;
} section;

static uint32_t next_rand(uint32_t *x) {
        *x = *x * 1103515245u + 12345u;
        return *x >> 8;
}

/* The sections of a file whose header and table are in bounds (the CRCs
 * are not checked: a mutant is a mutant of what it was), in table order;
 * their data points into the file.  0 when it is not such a file. */
static size_t split(const uint8_t *f, size_t size, section *sec, uint8_t *header) {
        uint32_t n, entry_size;
        uint64_t table;

        if (size < HEADER_SIZE || memcmp(f, "IOMMUSNP", 8) != 0)
                return 0;
        n = le32(f + 24);
        entry_size = le32(f + 28);
        table = le64(f + 32);
        if (n == 0 || n > MAX_SECTIONS || entry_size < ENTRY_SIZE || table > size ||
            (uint64_t) n * entry_size > size - table)
                return 0;
        for (uint32_t i = 0; i < n; i++) {
                const uint8_t *e = f + table + (uint64_t) i * entry_size;
                uint64_t off = le64(e + 8), len = le64(e + 16);

                if (off > size || len > size - off)
                        return 0;
                sec[i] = (section){ .type = le32(e), .data = (uint8_t *) f + off, .len = (size_t) len };
        }
        memcpy(header, f, HEADER_SIZE);
        return n;
}

/* The sections (none of them inside out) laid out as a version 1 writer
 * does: header, table, each section at the next multiple of 8 (PAGES of
 * 4096), zeros between, every CRC computed.  The size, or 0 when it does
 * not fit max. */
static size_t assemble(const uint8_t *header, const section *sec, size_t n, uint8_t *out, size_t max) {
        uint64_t pos = HEADER_SIZE + (uint64_t) n * ENTRY_SIZE, offs[MAX_SECTIONS];

        for (size_t i = 0; i < n; i++) {
                uint64_t a = sec[i].type == SECTION_PAGES ? PAGE_SIZE : 8;
                pos = (pos + a - 1) / a * a;
                offs[i] = pos;
                pos += sec[i].len;
        }
        if (pos > max)
                return 0;
        memset(out, 0, pos);
        for (size_t i = 0; i < n; i++) {
                uint8_t *e = out + HEADER_SIZE + i * ENTRY_SIZE;

                memcpy(out + offs[i], sec[i].data, sec[i].len);
                put_le32(e, sec[i].type);
                put_le32(e + 4, crc32_ieee(0, sec[i].data, sec[i].len));
                put_le64(e + 8, offs[i]);
                put_le64(e + 16, sec[i].len);
        }
        memcpy(out, header, 24); /* magic, version, revision, header size, flags */
        put_le32(out + 16, HEADER_SIZE);
        put_le32(out + 24, (uint32_t) n);
        put_le32(out + 28, ENTRY_SIZE);
        put_le64(out + 32, HEADER_SIZE);
        put_le64(out + 40, pos);
        put_le32(out + 48, crc32_ieee(0, out + HEADER_SIZE, n * ENTRY_SIZE));
        put_le32(out + 52, crc32_ieee(0, out, HEADER_SIZE)); /* its own field still zero */
        return (size_t) pos;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
        section sec[MAX_SECTIONS];
        uint8_t header[HEADER_SIZE];
        _cleanup_free_ uint8_t *copy = NULL, *buf = NULL;
        uint32_t x = seed, choice = next_rand(&x) % 100;
        size_t n, i, len, result;

        n = split(data, size, sec, header);
        if (n == 0 || choice < 5)
                return LLVMFuzzerMutate(data, size, max_size);

        if (choice < 15) {
                /* the header's fields or the section table, CRCs made right */
                uint64_t table = le64(data + 32);
                size_t span = HEADER_SIZE + n * ENTRY_SIZE;

                if (table != HEADER_SIZE)
                        return LLVMFuzzerMutate(data, size, max_size);
                buf = malloc(span);
                if (!buf)
                        return size;
                memcpy(buf, data, span);
                (void) LLVMFuzzerMutate(buf + 8, span - 8, span - 8); /* past the magic, same size */
                memcpy(data + 8, buf + 8, span - 8);
                put_le32(data + 48, crc32_ieee(0, data + HEADER_SIZE, n * ENTRY_SIZE));
                put_le32(data + 52, 0);
                put_le32(data + 52, crc32_ieee(0, data, HEADER_SIZE));
                return size;
        }

        /* one section's contents: copied out, mutated, laid out again */
        copy = malloc(size);
        if (!copy)
                return size;
        memcpy(copy, data, size);
        (void) split(copy, size, sec, header);
        i = next_rand(&x) % n;
        len = sec[i].len;
        buf = malloc(max_size + 1);
        if (!buf)
                return size;
        memcpy(buf, sec[i].data, len);
        if (sec[i].type == SECTION_PAGES && len >= PAGE_SIZE && next_rand(&x) % 4 != 0) {
                /* one page, its size kept: the index still fits */
                uint8_t *page = buf + (size_t) (next_rand(&x) % (len / PAGE_SIZE)) * PAGE_SIZE;
                size_t k = LLVMFuzzerMutate(page, PAGE_SIZE, PAGE_SIZE);
                memset(page + k, 0, PAGE_SIZE - k);
        } else
                len = LLVMFuzzerMutate(buf, len, max_size - (size - sec[i].len));
        sec[i].data = buf;
        sec[i].len = len;
        result = assemble(header, sec, n, data, max_size);
        if (result == 0) {
                memcpy(data, copy, size);
                return LLVMFuzzerMutate(data, size, max_size);
        }
        return result;
}

/* --- the target ---------------------------------------------------------- */

static const mappings_filter filter = { .did = -1, .pasid = -1, .max_entries = 1u << 16 };

typedef struct text {
        char *p;
        size_t len, alloc;
} text;

static int text_write(void *userdata, const void *data, size_t size) {
        text *t = userdata;

        if (t->len + size + 1 > t->alloc) {
                size_t alloc = (t->len + size + 1) * 2;
                char *p = realloc(t->p, alloc);
                if (!p)
                        return -ENOMEM;
                t->p = p;
                t->alloc = alloc;
        }
        memcpy(t->p + t->len, data, size);
        t->len += size;
        t->p[t->len] = '\0';
        return 0;
}

/* A model part: checked as JSON and rendered as iommuctl would. */
static json_object *part(int r, json_object *o, const iommu_error *err, void (*render)(json_object *o)) {
        if (r < 0) {
                fuzz_check(!o && err->error == -r && err->message[0],
                           "a model part failed (%d) without a reason", r);
                return NULL;
        }
        fuzz_check(o, "a model part succeeded without a result");
        fuzz_check_json(o);
        if (render)
                render(o);
        return o;
}

static void check_mappings(iommu_system *s) {
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ char *streamed = NULL;
        iommu_error err = {};
        text t = {};
        mappings_text mt;
        int r, w;

        r = model_mappings(s, &filter, &o, &err);
        w = model_mappings_write_json(s, &filter, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                      text_write, &t, &err);
        streamed = t.p;
        fuzz_check((r < 0) == (w < 0), "model_mappings gave %d, the JSON writer %d", r, w);
        if (r < 0)
                return;
        fuzz_check_json(o);
        fuzz_check(streamed && strcmp(streamed, json_object_to_json_string_ext(
                                                        o, JSON_C_TO_STRING_PLAIN |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE)) == 0,
                   "the streamed mappings differ from json-c's text of model_mappings()");

        mappings_text_init(&mt);
        r = model_mappings_stream(s, &filter, &mappings_text_sink, &mt, &err);
        (void) mappings_text_finish(&mt, r >= 0);
        mappings_text_done(&mt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(iommu_system_freep) iommu_system *s = NULL;
        _cleanup_json_ json_object *info = NULL, *devices = NULL, *domains = NULL, *faults = NULL,
                                   *dmar = NULL, *mapped = NULL;
        _cleanup_free_ char *metrics = NULL;
        iommu_error err = {};
        size_t metrics_size;
        int r;

        fuzz_quiet_stdout();
        r = iommu_system_open_snapshot(fuzz_file(data, size), &s, &err);
        if (r < 0) {
                fuzz_check(!s && err.error == -r && err.message[0], "open failed (%d) without a reason", r);
                return 0;
        }

        r = model_info(s, &info, &err);
        info = part(r, info, &err, render_info);
        r = model_devices(s, &devices, &err);
        devices = part(r, devices, &err, render_devices);
        r = model_domains(s, &domains, &err);
        domains = part(r, domains, &err, render_domains);
        r = model_faults(s, &faults, &err);
        faults = part(r, faults, &err, render_faults);
        r = iommu_system_dmar_json(s, &dmar, &err);
        dmar = part(r, dmar, &err, render_dmar);
        r = model_mapped_bytes(s, &mapped, &err);
        mapped = part(r, mapped, &err, NULL);
        check_mappings(s);

        r = metrics_render(info, devices, mapped, faults, NULL, &metrics, &metrics_size, &err);
        fuzz_check(r == 0 && strlen(metrics) == metrics_size, "metrics_render: %d", r);
        return 0;
}
