/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Text from the JSON model: single values that say "?" when the model
 * lacks them or holds another type, and listings described once as a
 * column table (name, header, width, help; util-linux lsblk's), from which
 * --output, --output=help, the header and every row come.  Rows are JSON
 * objects, except the IOVA ranges of mappings: a million of them are
 * walk_range structs, never objects (model/mappings.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "basic/macro.h"
#include "walk/walk.h"

typedef enum text_style {
        TEXT_DEC,      /* 12 */
        TEXT_SIGNED,   /* -1 */
        TEXT_HEX,      /* 0x1f */
        TEXT_HEX2,     /* 0x05 */
        TEXT_HEX8,     /* 0x0000001f */
        TEXT_HEX16,    /* 0x000000000000001f */
        TEXT_XDIGITS,  /* 1f */
        TEXT_XDIGITS2, /* 0f */
        TEXT_XDIGITS3, /* 01f */
        TEXT_XDIGITS4, /* 001f */
        TEXT_SIZE,     /* 4K, 2M, 1G, else bytes */
        _TEXT_STYLE_MAX,
} text_style;

/* The integer member key of o in a style, or "?" when it is missing or not
 * an integer.  The text lives in one of TEXT_SLOTS buffers used in turn,
 * so that many fit in one printf(). */
#define TEXT_SLOTS 16
const char *text_int(json_object *o, const char *key, text_style style);
/* n in a style, written into buf (at least TEXT_U64_MAX bytes); returns buf. */
#define TEXT_U64_MAX 32
char *text_u64(uint64_t n, text_style style, char *buf);
/* A string member, or "?" when missing or not a string. */
const char *text_string(json_object *o, const char *key);
/* A string member, or dash when missing or JSON null, "?" when another type. */
const char *text_string_or(json_object *o, const char *key, const char *dash);

/* A boolean member as "on" or "off"; "unknown" when missing or JSON null,
 * "?" when another type. */
const char *text_on_off(json_object *o, const char *key);

/* A cell's text, built by the column's formatter. */
typedef struct text_buf {
        char *s;
        size_t len, alloc;
} text_buf;
void text_buf_printf(text_buf *b, const char *fmt, ...) _printf_(2, 3);
void text_buf_puts(text_buf *b, const char *s);
void text_buf_append(text_buf *b, const char *s, size_t n);
void text_buf_free(text_buf *b);

enum {
        COLUMN_DEFAULT = 1 << 0, /* shown without --output */
        COLUMN_LOGGED = 1 << 1,  /* shown without --output where records are logged over time */
};

typedef struct column column;
struct column {
        const char *name;   /* what --output takes (any case) */
        const char *header; /* what the header line says */
        unsigned width;     /* cells are padded to it, except in the last column */
        bool right;         /* right-aligned */
        unsigned flags;     /* COLUMN_* */
        const char *help;   /* one line, for --output=help and iommuctl(8) */
        const char *key;    /* the member the formatter reads */
        void (*format)(const column *c, json_object *row, text_buf *out);
        /* in a listing of ranges instead: key is a range_fields name */
        void (*format_range)(const column *c, const walk_range *r, text_buf *out);
};

typedef struct column_table {
        const char *listing; /* the command, e.g. "devices" */
        const column *columns;
        size_t n_columns;
        const char *separator; /* between cells */
        const char *logged;    /* where COLUMN_LOGGED columns show by default, NULL if nowhere */
} column_table;

#define COLUMNS_MAX 32
typedef struct column_set {
        const column_table *table;
        const char *indent; /* before the header and every row */
        size_t n;
        const column *columns[COLUMNS_MAX];
} column_set;

/* The columns spec names (COL,... or +COL,... to add to the default), or
 * with spec NULL those with any flag in defaults.  Returns 0, or -EINVAL
 * with the offending name in *ret_bad (-E2BIG when too many). */
int columns_select(const column_table *t, const char *spec, unsigned defaults, column_set *ret,
                   const char **ret_bad, size_t *ret_bad_len);
/* The columns spec names, or the default ones when it names none or a
 * wrong one (iommuctl checked it before asking anything). */
column_set columns_or_default(const column_table *t, const char *spec, unsigned defaults,
                              const char *indent);
/* What --output=help prints. */
void columns_help(const column_table *t);

void table_header(const column_set *s);
void table_row(const column_set *s, json_object *row);
/* The same lines appended to a buffer: a listing of ranges writes many
 * rows at once. */
void table_header_append(const column_set *s, text_buf *out);
void table_range_row_append(const column_set *s, const walk_range *r, text_buf *out);

/* Formatters that read column->key. */
void column_string(const column *c, json_object *row, text_buf *out);     /* "-" when null */
void column_dec(const column *c, json_object *row, text_buf *out);        /* "-" when null */
void column_hex(const column *c, json_object *row, text_buf *out);        /* 0x1f */
void column_hex16(const column *c, json_object *row, text_buf *out);      /* 0x000000000000001f */
void column_size(const column *c, json_object *row, text_buf *out);       /* 4K */
void column_read_write(const column *c, json_object *row, text_buf *out); /* "read" or "write" */

/* The column tables of the listings (render-state.c, render-mappings.c). */
extern const column_table device_columns, domain_columns, range_columns, fault_columns;
