/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rules of the file format that the reader and the writer share. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "basic/crc32.h"
#include "snapshot/format.h"

const char *const section_names[] = {
        [SECTION_META] = "META",
        [SECTION_DMAR] = "DMAR",
        [SECTION_UNITS] = "UNITS",
        [SECTION_RAM] = "RAM",
        [SECTION_PAGE_INDEX] = "PAGE_INDEX",
        [SECTION_PAGES] = "PAGES",
};
static_assert(ELEMENTSOF(section_names) == _SECTION_MAX, "one name per section type");

section_type section_type_from_id(uint32_t id) {
        if (id < 1 || id > _SECTION_MAX)
                return _SECTION_INVALID;
        return (section_type) (id - 1);
}

const char *section_label(uint32_t id, char buf[static 32]) {
        section_type t = section_type_from_id(id);
        if (t >= 0)
                return section_names[t];
        (void) snprintf(buf, 32, "type 0x%" PRIx32, id);
        return buf;
}

uint32_t header_crc(const uint8_t *h, size_t header_size) {
        static const uint8_t zero[4];
        uint32_t crc;

        crc = crc32_ieee(0, h, HEADER_CRC);
        crc = crc32_ieee(crc, zero, sizeof zero);
        return crc32_ieee(crc, h + HEADER_CRC + 4, header_size - HEADER_CRC - 4);
}

bool page_in_ranges(const phys_range *ranges, size_t n, size_t *j, uint64_t a) {
        uint64_t last = a + (VTD_PAGE_SIZE - 1);

        while (*j < n && ranges[*j].end < a)
                (*j)++;
        if (*j == n || a < ranges[*j].start)
                return false;
        for (size_t k = *j; ranges[k].end < last; k++)
                if (k + 1 >= n || ranges[k + 1].start != ranges[k].end + 1)
                        return false;
        return true;
}

bool unit_name_valid(const char *name, size_t max) {
        size_t n = strnlen(name, max);

        if (n == 0 || n == max)
                return false;
        for (size_t i = 0; i < n; i++)
                if (name[i] <= ' ' || name[i] > '~')
                        return false;
        return true;
}
