/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Register access independent of the backend: the checks every access
 * passes, reading a register by its layout, and the in-memory register file
 * (tests, and the values a snapshot replays).
 */
#include <inttypes.h>
#include <string.h>

#include "access/access.h"
#include "decode/layouts.h"
#include "decode/regs.h"

/* Far more than any remapping unit's register set (a few pages). */
#define REGS_IMAGE_MAX_SIZE (16u * 1024 * 1024)

int iommu_regs_check(const iommu_regs *r, uint64_t offset, unsigned width, iommu_error *err) {
        if (width != 32 && width != 64)
                return iommu_error_set(err, EINVAL, "Register access width %u is not 32 or 64 bits", width);
        if (offset % (width / 8) != 0)
                return iommu_error_set(err, EINVAL,
                                       "Register offset 0x%" PRIx64 " is not aligned for a %u-bit access",
                                       offset, width);
        if (offset >= r->size || r->size - offset < width / 8)
                return iommu_error_set(err, ERANGE,
                                       "Register offset 0x%" PRIx64 " (%u-bit) is outside the 0x%" PRIx64
                                       "-byte register window at 0x%" PRIx64,
                                       offset, width, r->size, r->base);
        return 0;
}

int iommu_regs_read(iommu_regs *r, uint32_t offset, unsigned width, uint64_t *ret, iommu_error *err) {
        uint64_t v;
        int k;

        k = iommu_regs_check(r, offset, width, err);
        if (k < 0)
                return k;
        k = r->ops->read(r, offset, width, &v, err);
        if (k < 0)
                return k;
        *ret = v;
        return 0;
}

int iommu_regs_write(iommu_regs *r, uint32_t offset, unsigned width, uint64_t value, iommu_error *err) {
        int k;

        if (!r->ops->write)
                return iommu_error_set(err, EROFS, "The %s register backend cannot be written",
                                       r->ops->name);
        k = iommu_regs_check(r, offset, width, err);
        if (k < 0)
                return k;
        return r->ops->write(r, offset, width, value, err);
}

int iommu_regs_read_layout(iommu_regs *r, const layout *l, uint64_t cap, uint64_t ecap, unsigned index,
                           uint64_t *v, iommu_error *err) {
        uint64_t tmp[LAYOUT_MAX_QWORDS] = {};
        uint64_t offset, bytes;
        int k;

        if (l->kind != LAYOUT_REGISTER)
                return iommu_error_set(err, EINVAL, "%s is a table entry format, not a register", l->name);
        if (l->width != 32 && l->width != 64 && l->width != 128)
                return iommu_error_set(err, EINVAL,
                                       "Register %s is %u bits wide; only 32, 64 and 128 can be read",
                                       l->name, l->width);

        offset = layout_offset(l, cap, ecap);
        if (l->base == LAYOUT_BASE_FRO) {
                unsigned nfr = (unsigned) FIELD_GET(CAP, NFR, &cap) + 1;
                if (index >= nfr)
                        return iommu_error_set(
                                err, ERANGE,
                                "Fault recording register %u does not exist: CAP.NFR says the "
                                "unit has %u",
                                index, nfr);
                offset += (uint64_t) index * FRCD_STRIDE;
        } else if (index != 0)
                return iommu_error_set(err, EINVAL,
                                       "Register %s has no index %u; only fault records are indexed",
                                       l->name, index);

        bytes = l->width / 8;
        if (offset > r->size || r->size - offset < bytes)
                return iommu_error_set(err, ERANGE,
                                       "Register %s at offset 0x%" PRIx64 " lies outside the 0x%" PRIx64
                                       "-byte register window at 0x%" PRIx64,
                                       l->name, offset, r->size, r->base);

        /* Exactly the width the hardware defines: a 64-bit access to a
         * 32-bit register stops QEMU's model.  128-bit registers are two
         * 64-bit reads, low half first. */
        if (l->width == 128) {
                k = iommu_regs_read(r, (uint32_t) offset, 64, &tmp[0], err);
                if (k >= 0)
                        k = iommu_regs_read(r, (uint32_t) offset + 8, 64, &tmp[1], err);
        } else
                k = iommu_regs_read(r, (uint32_t) offset, l->width, &tmp[0], err);
        if (k < 0)
                return k;

        memcpy(v, tmp, sizeof tmp);
        return 0;
}

iommu_regs *iommu_regs_free(iommu_regs *r) {
        if (r)
                r->ops->free(r);
        return NULL;
}

/* ---- the in-memory register file ---- */

typedef struct regs_image {
        iommu_regs r; /* first: the public struct */
        uint8_t *data;
} regs_image;

static int image_read(iommu_regs *r, uint32_t offset, unsigned width, uint64_t *ret, iommu_error *err) {
        regs_image *img = (regs_image *) r;
        int k;

        k = iommu_regs_check(r, offset, width, err);
        if (k < 0)
                return k;
        if (width == 32) {
                uint32_t v;
                memcpy(&v, img->data + offset, sizeof v);
                *ret = v;
        } else
                memcpy(ret, img->data + offset, sizeof *ret);
        return 0;
}

static int image_write(iommu_regs *r, uint32_t offset, unsigned width, uint64_t value, iommu_error *err) {
        regs_image *img = (regs_image *) r;
        int k;

        k = iommu_regs_check(r, offset, width, err);
        if (k < 0)
                return k;
        if (width == 32) {
                uint32_t v = (uint32_t) value;
                memcpy(img->data + offset, &v, sizeof v);
        } else
                memcpy(img->data + offset, &value, sizeof value);
        return 0;
}

static void image_free(iommu_regs *r) {
        regs_image *img = (regs_image *) r;
        free(img->data);
        free(img);
}

static const iommu_regs_ops image_ops = {
        .name = "image",
        .read = image_read,
        .write = image_write,
        .free = image_free,
};

int iommu_regs_new_image(uint64_t base, uint64_t size, iommu_regs **ret) {
        _cleanup_free_ regs_image *img = NULL;

        if (size == 0 || size > REGS_IMAGE_MAX_SIZE || base + size < base)
                return -EINVAL;
        img = calloc(1, sizeof *img);
        if (!img)
                return -ENOMEM;
        img->data = calloc(1, size);
        if (!img->data)
                return -ENOMEM;
        img->r = (iommu_regs){ .ops = &image_ops, .base = base, .size = size };
        *ret = &TAKE_PTR(img)->r;
        return 0;
}

void *iommu_regs_image_data(iommu_regs *r) {
        if (!r || r->ops != &image_ops)
                return NULL;
        return ((regs_image *) r)->data;
}
