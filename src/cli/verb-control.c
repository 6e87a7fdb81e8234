/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The commands that change state: power, domain, attach, detach, map,
 * unmap, invalidate.  Only iommud changes state (run_verb() refused
 * --direct, --snapshot and --sysroot already).  Each command checks all
 * its arguments before it connects, so a wrong command line sends nothing;
 * then it asks one method (iommud(8), "SOCKET API") and prints its result:
 * under --json unchanged, else one line (render-control.c). */
#include <string.h>

#include "basic/json-util.h"
#include "cli/cli.h"
#include "control/unit.h"
#include "model/devices.h"

/* What every mapping is made of; the daemon refuses anything else too, but
 * only after a round trip and with no hint of which argument it was. */
#define CONTROL_PAGE_SIZE UINT64_C(0x1000)

static int parse_did(const char *s, uint16_t *ret) {
        uint64_t v;

        if (cli_parse_number(s, UINT16_MAX, &v) < 0)
                return cli_usage("DID '%s' is not a domain ID (0..65535)", s);
        *ret = (uint16_t) v;
        return EXIT_OK;
}

/* IOVA, PHYS or LENGTH: a number, a multiple of 4 KiB; a LENGTH not 0. */
static int parse_pages(const char *what, const char *s, uint64_t *ret) {
        uint64_t v;
        int r;

        r = cli_parse_number(s, UINT64_MAX, &v);
        if (r == -ERANGE)
                return cli_usage("%s '%s' does not fit 64 bits", what, s);
        if (r < 0)
                return cli_usage("%s '%s' is not a number (decimal, or hex with 0x)", what, s);
        if (v % CONTROL_PAGE_SIZE != 0)
                return cli_usage("%s '%s' is not a multiple of 4 KiB (0x1000)", what, s);
        if (v == 0 && streq(what, "LENGTH"))
                return cli_usage("LENGTH '%s' is empty: give a multiple of 4 KiB (0x1000)", s);
        *ret = v;
        return EXIT_OK;
}

/* [start, start + length) must end within the 64-bit address space. */
static int check_end(const char *what, const char *start_text, uint64_t start, const char *length_text,
                     uint64_t length) {
        if (start != 0 && length > -start)
                return cli_usage("%s '%s' + LENGTH '%s' goes past the end of the 64-bit address space", what,
                                 start_text, length_text);
        return EXIT_OK;
}

/* The device, as SSSS:BB:DD.F: iommud is asked in the form it answers in. */
static int parse_bdf(const char *s, char buf[static BDF_STRING_MAX]) {
        uint16_t segment;
        uint8_t bus, devfn;

        if (bdf_parse(s, &segment, &bus, &devfn) < 0)
                return cli_usage("BDF '%s' is not a PCI address (SSSS:BB:DD.F, BB:DD.F or B:D.F)", s);
        bdf_format(buf, segment, bus, devfn);
        return EXIT_OK;
}

/* A method's params, with "unit" when --unit was given. */
static json_object *params_new(void) {
        json_object *p = json_object_new_object();

        if (p && arg.unit)
                json_object_object_add(p, "unit", json_object_new_string(arg.unit));
        return p;
}

static void add_u64(json_object *p, const char *key, uint64_t v) {
        json_object_object_add(p, key, json_object_new_uint64(v));
}

/* Ask iommud, taking params; print its result object. */
static int ask(const char *method, json_object *params, void (*render)(json_object *o)) {
        _cleanup_json_ json_object *p = params, *o = NULL;
        int r;

        if (!p)
                return cli_fail(EXIT_FAILED, ENOMEM, "Out of memory");
        r = client_call(method, p, json_type_object, &o);
        return r != EXIT_OK ? r : cli_output(o, render);
}

static int power(bool on) {
        json_object *p = params_new();

        if (p)
                json_object_object_add(p, "on", json_object_new_boolean(on));
        return ask("v1.power", p, render_power);
}

int verb_power_on(int argc, char **argv) {
        return power(true);
}

int verb_power_off(int argc, char **argv) {
        return power(false);
}

int verb_domain_create(int argc, char **argv) {
        json_object *p = params_new();

        /* the defaults (paging, the lowest free DID) are iommud's */
        if (p && arg.type >= 0)
                json_object_object_add(
                        p, "type", json_object_new_string(domain_type_to_string((domain_type) arg.type)));
        if (p && arg.id >= 0)
                json_object_object_add(p, "id", json_object_new_int(arg.id));
        return ask("v1.domain.create", p, render_domain_created);
}

int verb_domain_destroy(int argc, char **argv) {
        json_object *p;
        uint16_t did = 0;
        int r;

        r = parse_did(argv[0], &did);
        if (r != EXIT_OK)
                return r;
        p = params_new();
        if (p)
                json_object_object_add(p, "domain", json_object_new_int(did));
        return ask("v1.domain.destroy", p, render_domain_destroyed);
}

int verb_attach(int argc, char **argv) {
        char bdf[BDF_STRING_MAX];
        json_object *p;
        uint16_t did = 0;
        int r;

        r = parse_bdf(argv[0], bdf);
        if (r == EXIT_OK)
                r = parse_did(argv[1], &did);
        if (r != EXIT_OK)
                return r;
        /* no "unit": the device's unit is the one that covers it */
        p = json_object_new_object();
        if (p) {
                json_object_object_add(p, "device", json_object_new_string(bdf));
                json_object_object_add(p, "domain", json_object_new_int(did));
        }
        return ask("v1.attach", p, render_attached);
}

int verb_detach(int argc, char **argv) {
        char bdf[BDF_STRING_MAX];
        json_object *p;
        int r;

        r = parse_bdf(argv[0], bdf);
        if (r != EXIT_OK)
                return r;
        p = json_object_new_object();
        if (p)
                json_object_object_add(p, "device", json_object_new_string(bdf));
        return ask("v1.detach", p, render_detached);
}

int verb_map(int argc, char **argv) {
        const char *phys_text = argc == 4 ? argv[2] : NULL, *length_text = argv[argc - 1];
        uint64_t iova = 0, phys = 0, length = 0;
        json_object *p;
        uint16_t did = 0;
        int r;

        if (arg.alloc && phys_text)
                return cli_usage("PHYS '%s' and --alloc exclude each other: give one of them", phys_text);
        if (!arg.alloc && !phys_text)
                return cli_usage("Missing PHYS or --alloc; usage: iommuctl map DID IOVA (PHYS | --alloc) "
                                 "LENGTH");
        r = parse_did(argv[0], &did);
        if (r == EXIT_OK)
                r = parse_pages("IOVA", argv[1], &iova);
        if (r == EXIT_OK && phys_text)
                r = parse_pages("PHYS", phys_text, &phys);
        if (r == EXIT_OK)
                r = parse_pages("LENGTH", length_text, &length);
        if (r == EXIT_OK)
                r = check_end("IOVA", argv[1], iova, length_text, length);
        if (r == EXIT_OK && phys_text)
                r = check_end("PHYS", phys_text, phys, length_text, length);
        if (r != EXIT_OK)
                return r;

        p = params_new();
        if (p) {
                json_object_object_add(p, "domain", json_object_new_int(did));
                add_u64(p, "iova", iova);
                if (phys_text)
                        add_u64(p, "phys", phys);
                else
                        json_object_object_add(p, "alloc", json_object_new_boolean(true));
                add_u64(p, "length", length);
                /* said both ways, so that the request alone tells what was asked */
                json_object_object_add(p, "read", json_object_new_boolean(arg.read || !arg.write));
                json_object_object_add(p, "write", json_object_new_boolean(arg.write || !arg.read));
        }
        return ask("v1.map", p, render_mapped);
}

int verb_unmap(int argc, char **argv) {
        uint64_t iova = 0, length = 0;
        json_object *p;
        uint16_t did = 0;
        int r;

        r = parse_did(argv[0], &did);
        if (r == EXIT_OK)
                r = parse_pages("IOVA", argv[1], &iova);
        if (r == EXIT_OK)
                r = parse_pages("LENGTH", argv[2], &length);
        if (r == EXIT_OK)
                r = check_end("IOVA", argv[1], iova, argv[2], length);
        if (r != EXIT_OK)
                return r;

        p = params_new();
        if (p) {
                json_object_object_add(p, "domain", json_object_new_int(did));
                add_u64(p, "iova", iova);
                add_u64(p, "length", length);
        }
        return ask("v1.unmap", p, render_unmapped);
}

static json_object *invalidate_params(const char *what) {
        json_object *p = params_new();

        if (p)
                json_object_object_add(p, "what", json_object_new_string(what));
        return p;
}

int verb_invalidate_global(int argc, char **argv) {
        return ask("v1.invalidate", invalidate_params("global"), render_invalidated);
}

int verb_invalidate_domain(int argc, char **argv) {
        json_object *p;
        uint16_t did = 0;
        int r;

        r = parse_did(argv[0], &did);
        if (r != EXIT_OK)
                return r;
        p = invalidate_params("domain");
        if (p)
                json_object_object_add(p, "domain", json_object_new_int(did));
        return ask("v1.invalidate", p, render_invalidated);
}

int verb_invalidate_page(int argc, char **argv) {
        unsigned order = arg.order >= 0 ? (unsigned) arg.order : 0;
        json_object *p;
        uint64_t iova = 0;
        uint16_t did = 0;
        int r;

        r = parse_did(argv[0], &did);
        if (r == EXIT_OK)
                r = parse_pages("IOVA", argv[1], &iova);
        if (r != EXIT_OK)
                return r;
        /* the hardware drops the low bits of a misaligned address: the
         * pages invalidated would not be those asked for */
        if ((iova / CONTROL_PAGE_SIZE) % (UINT64_C(1) << order) != 0)
                return cli_usage("IOVA '%s' is not aligned to its 2^%u pages (--order %u)", argv[1], order,
                                 order);

        p = invalidate_params("page");
        if (p) {
                json_object_object_add(p, "domain", json_object_new_int(did));
                add_u64(p, "iova", iova);
                if (arg.order >= 0)
                        json_object_object_add(p, "order", json_object_new_int(arg.order));
        }
        return ask("v1.invalidate", p, render_invalidated);
}
