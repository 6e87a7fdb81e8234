/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "basic/macro.h"

/*
 * CRC-32 as in Ethernet, zlib and PNG (IEEE 802.3, reflected polynomial
 * 0xedb88320, initial value and final xor 0xffffffff).  Chains: start with
 * crc 0 and feed each piece's result into the next call.  The check value
 * of "123456789" is 0xcbf43926.
 */
uint32_t crc32_ieee(uint32_t crc, const void *data, size_t len) _pure_;
