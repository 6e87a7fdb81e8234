/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <pci/pci.h>

#include "basic/json-util.h"
#include "model/devices.h"

int bdf_parse(const char *s, uint16_t *ret_segment, uint8_t *ret_bus, uint8_t *ret_devfn) {
        unsigned seg = 0, bus, dev, fn;
        char tail;

        if (!s)
                return -EINVAL;
        /* %x accepts signs and 0x prefixes: allow only hex digits and separators */
        if (strspn(s, "0123456789abcdefABCDEF:.") != strlen(s))
                return -EINVAL;
        if (sscanf(s, "%x:%x:%x.%x%c", &seg, &bus, &dev, &fn, &tail) == 4) {
                if (strchr(s, ':') - s > 4)
                        return -EINVAL;
        } else if (sscanf(s, "%x:%x.%x%c", &bus, &dev, &fn, &tail) == 3)
                seg = 0;
        else
                return -EINVAL;
        if (seg > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
                return -ERANGE;
        *ret_segment = (uint16_t) seg;
        *ret_bus = (uint8_t) bus;
        *ret_devfn = (uint8_t) (dev << 3 | fn);
        return 0;
}

char *bdf_format(char buf[static BDF_STRING_MAX], uint16_t segment, uint8_t bus, uint8_t devfn) {
        snprintf(buf, BDF_STRING_MAX, "%04x:%02x:%02x.%x", segment, bus, devfn >> 3, devfn & 7);
        return buf;
}

json_object *devices_find(json_object *devices, uint16_t segment, uint8_t bus, uint8_t devfn) {
        char bdf[BDF_STRING_MAX];

        bdf_format(bdf, segment, bus, devfn);
        for (size_t i = 0; i < json_array_length(devices); i++) {
                json_object *d = json_array_get(devices, i);
                if (streq(json_get_string(d, "bdf"), bdf))
                        return d;
        }
        return NULL;
}

/* libpci's default error handler calls exit(1); ours jumps back out of the
 * libpci call with the message.  libpci keeps no state across the jump that
 * pci_cleanup() cannot free.  One scan at a time: the daemon is
 * single-threaded. */
static jmp_buf pci_jump;
static char pci_message[256];

_printf_(1, 2) _noreturn_ static void pci_error_cb(char *msg, ...) {
        va_list ap;

        va_start(ap, msg);
        (void) vsnprintf(pci_message, sizeof pci_message, msg, ap);
        va_end(ap);
        longjmp(pci_jump, 1);
}

_printf_(1, 2) static void pci_quiet_cb(char *msg, ...) {
        (void) msg;
}

static json_object *nullable_string(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static json_object *device_to_json(struct pci_access *pacc, struct pci_dev *d) {
        _cleanup_json_ json_object *o = json_object_new_object();
        char bdf[BDF_STRING_MAX], name[256];
        const char *group, *driver;

        if (!o)
                return NULL;
        pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_IOMMU_GROUP | PCI_FILL_DRIVER);

        bdf_format(bdf, (uint16_t) d->domain, d->bus, (uint8_t) (d->dev << 3 | d->func));
        json_object_object_add(o, "bdf", json_object_new_string(bdf));
        json_object_object_add(o, "vendor", json_object_new_int(d->vendor_id));
        json_object_object_add(o, "device", json_object_new_int(d->device_id));
        json_object_object_add(o, "class", json_object_new_int(d->device_class));
        json_object_object_add(o, "name",
                               json_object_new_string(pci_lookup_name(pacc, name, sizeof name,
                                                                      PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
                                                                      d->vendor_id, d->device_id)));
        driver = pci_get_string_property(d, PCI_FILL_DRIVER);
        json_object_object_add(
                o, "driver",
                nullable_string(driver ? strrchr(driver, '/') ? strrchr(driver, '/') + 1 : driver : NULL));
        group = pci_get_string_property(d, PCI_FILL_IOMMU_GROUP);
        json_object_object_add(o, "group", group ? json_object_new_int(atoi(group)) : NULL);

        if ((pci_read_byte(d, PCI_HEADER_TYPE) & 0x7f) == PCI_HEADER_TYPE_BRIDGE) {
                json_object_object_add(o, "secondary_bus",
                                       json_object_new_int(pci_read_byte(d, PCI_SECONDARY_BUS)));
                json_object_object_add(o, "subordinate_bus",
                                       json_object_new_int(pci_read_byte(d, PCI_SUBORDINATE_BUS)));
        }
        return TAKE_PTR(o);
}

/* The unit the kernel attached the device to: /sys/bus/pci/devices/X/iommu. */
static void add_sysfs_iommu(const iommu_ctx *ctx, json_object *dev) {
        _cleanup_free_ char *rel = NULL, *path = NULL;
        char target[PATH_MAX];
        ssize_t n;

        if (asprintf(&rel, "/sys/bus/pci/devices/%s/iommu", json_get_string(dev, "bdf")) < 0)
                return;
        path = iommu_ctx_path(ctx, rel);
        if (!path)
                return;
        n = readlink(path, target, sizeof target - 1);
        if (n <= 0) {
                json_object_object_add(dev, "iommu", NULL);
                return;
        }
        target[n] = '\0';
        json_object_object_add(
                dev, "iommu",
                json_object_new_string(strrchr(target, '/') ? strrchr(target, '/') + 1 : target));
}

static int compare_bdf(const void *a, const void *b) {
        return strcmp(json_get_string(*(json_object *const *) a, "bdf"),
                      json_get_string(*(json_object *const *) b, "bdf"));
}

/* Everything that may longjmp back from pci_error_cb, with no local state
 * that changes after setjmp (list is only appended to through a pointer). */
static int scan_guarded(struct pci_access *pacc, const iommu_ctx *ctx, const char *sysfs,
                        json_object *list) {
        if (setjmp(pci_jump))
                return -EIO;
        pci_set_param(pacc, "sysfs.path", (char *) sysfs);
        pci_init(pacc);
        pci_scan_bus(pacc);
        for (struct pci_dev *d = pacc->devices; d; d = d->next) {
                json_object *o = device_to_json(pacc, d);
                if (!o)
                        return -ENOMEM;
                add_sysfs_iommu(ctx, o);
                json_object_array_add(list, o);
        }
        return 0;
}

int devices_scan(const iommu_ctx *ctx, json_object **ret, iommu_error *err) {
        _cleanup_json_ json_object *list = json_object_new_array();
        _cleanup_free_ char *sysfs = iommu_ctx_path(ctx, "/sys/bus/pci");
        struct pci_access *pacc;
        int r;

        if (!list || !sysfs)
                return iommu_error_set(err, ENOMEM, "Out of memory");

        pacc = pci_alloc();
        if (!pacc)
                return iommu_error_set(err, ENOMEM, "Out of memory");
        pacc->error = pci_error_cb;
        pacc->warning = pci_quiet_cb;
        pacc->debug = pci_quiet_cb;
        pacc->method = PCI_ACCESS_SYS_BUS_PCI;

        r = scan_guarded(pacc, ctx, sysfs, list);
        pci_cleanup(pacc);
        if (r == -EIO)
                return iommu_error_set(err, EIO, "Failed to list PCI devices: %s", pci_message);
        if (r < 0)
                return iommu_error_set(err, r, "Out of memory");

        json_object_array_sort(list, compare_bdf);
        *ret = TAKE_PTR(list);
        return 0;
}
