/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A strict reader of ACPICA's data-table disassembly (`iasl -d`, as written
 * by version 20200925 for a DMAR table): the banner comment, the field lines
 * "[HexOffset DecimalOffset ByteLength]  FieldName : FieldValue", blank
 * lines, the "**** Unknown DMAR subtable type 0xN" stop, and the
 * "Raw Table Data" hex dump.  Any other line is an error, so a format this
 * reader does not understand can never pass a comparison by being skipped.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct iasl_field {
        unsigned line; /* 1-based, for messages */
        size_t offset; /* byte offset in the table */
        size_t width;  /* ByteLength */
        char *name;    /* "Register Base Address" */
        char *value;   /* everything after " : ", exactly */
} iasl_field;

typedef struct iasl_text {
        iasl_field *fields;
        size_t n_fields;

        bool stopped;          /* iasl gave up at an unknown subtable type */
        unsigned stopped_type; /* ... of this type */

        bool has_raw;      /* a "Raw Table Data" dump was there */
        size_t raw_length; /* the length it announced */
        uint8_t *raw;      /* its bytes */
        size_t n_raw;
} iasl_text;

/* Parse the text; on error returns -EBADMSG (or -ENOMEM) and describes the
 * offending line in error[]. */
int iasl_text_parse(const char *text, iasl_text *ret, char *error, size_t error_size);
void iasl_text_done(iasl_text *t);

/* Field values.  Each returns false unless the whole value has the form. */
/* "0000FED90000": hex digits only */
bool iasl_value_hex(const char *value, uint64_t *ret);
/* "0000 [Hardware Unit Definition]": hex digits, one space, a bracketed name */
bool iasl_value_hex_named(const char *value, uint64_t *ret, char *name, size_t name_size);
/* "\"APPLE \"": the bytes between the first and the last character, both quotes */
bool iasl_value_string(const char *value, char *ret, size_t size);
/* "05,04": one PCI path hop */
bool iasl_value_path(const char *value, uint8_t *device, uint8_t *function);
/* Does a Reserved field's value show exactly these bytes?  iasl prints 1, 2,
 * 3, 4 and 8-byte fields as one little-endian hex number and longer ones as
 * a list of bytes. */
bool iasl_value_bytes(const char *value, const uint8_t *bytes, size_t n);

/* What iasl prints for an ACPI header string of n bytes: up to the first
 * NUL, non-printable bytes as spaces (ACPICA's AcpiUtCheckAndRepairAscii). */
void iasl_repair_ascii(const char *s, size_t n, char *ret);
