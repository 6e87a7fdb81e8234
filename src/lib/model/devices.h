/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * PCI devices: enumerated with libpci (names from pci.ids, IOMMU group and
 * driver from sysfs through libpci), as JSON objects
 *   {"bdf", "vendor", "device", "class", "name", "driver", "group",
 *    "iommu" (the sysfs unit or null), "secondary_bus", "subordinate_bus"
 *    (bridges)}
 * sorted by BDF.  A snapshot stores this list as it is.
 */

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "access/ctx.h"
#include "basic/error.h"

#define BDF_STRING_MAX sizeof("ssss:bb:dd.f")

/* SSSS:BB:DD.F, BB:DD.F or the short Akaros form B:D.F (hex). */
int bdf_parse(const char *s, uint16_t *ret_segment, uint8_t *ret_bus, uint8_t *ret_devfn);
/* Always SSSS:BB:DD.F, lower-case hex. */
char *bdf_format(char buf[static BDF_STRING_MAX], uint16_t segment, uint8_t bus, uint8_t devfn);

int devices_scan(const iommu_ctx *ctx, json_object **ret, iommu_error *err);

/* The device object with this BDF in a list, or NULL. */
json_object *devices_find(json_object *devices, uint16_t segment, uint8_t bus, uint8_t devfn);
