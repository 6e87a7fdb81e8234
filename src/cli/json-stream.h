/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * JSON text as it arrives, for answers too large to hold (iommud's answer
 * to v1.mappings is one line of a hundred megabytes and more): a splitter
 * that checks the syntax byte by byte and lets its user decide, value by
 * value, what to do with each one, and a re-indenter that lays compact
 * JSON out the way json-c's JSON_C_TO_STRING_PRETTY does.
 *
 * The splitter holds no more than the value being captured (bounded), a
 * member name and its stack of containers.  Member names are handed over
 * as written between their quotes (escapes not decoded).
 */

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define SPLIT_MAX_DEPTH 64 /* json-c's own parser stops at 32 */
#define SPLIT_MAX_KEY 1024

typedef enum split_action {
        SPLIT_SKIP,    /* checked, and nothing more */
        SPLIT_CAPTURE, /* its whole text to value() when it ends, up to the bound on a piece */
        SPLIT_ENTER,   /* an object or array: begin() for each member or element, end() after the last */
        SPLIT_FORWARD, /* its text to forward() as it arrives, blanks between tokens left out; then end() */
} split_action;

typedef struct split_ops {
        /* A value starts: depth 0 is the text's one value, 1 its members
         * or elements, ...; key is the member's name, NULL in an array;
         * first its first byte.  SPLIT_ENTER on a string, number or
         * literal means SPLIT_SKIP. */
        split_action (*begin)(void *userdata, unsigned depth, const char *key, char first);
        /* A captured value, whole (NUL-terminated at text[len]). */
        int (*value)(void *userdata, unsigned depth, const char *key, const char *text, size_t len);
        int (*forward)(void *userdata, const char *data, size_t size);
        /* An entered or forwarded value ended. */
        int (*end)(void *userdata, unsigned depth);
} split_ops;

typedef struct json_split {
        const split_ops *ops;
        void *userdata;
        size_t max_piece;

        int state;
        unsigned depth;                     /* containers open */
        char stack[SPLIT_MAX_DEPTH];        /* '{' or '[' each */
        unsigned string_escape, string_hex; /* inside an escape: bytes still to come */

        split_action passive; /* inside a value taken whole (not SPLIT_ENTER): what it is for */
        unsigned passive_depth;

        char key[SPLIT_MAX_KEY + 1];
        size_t key_len;
        char scalar[128]; /* a number or literal being read, to check it */
        size_t scalar_len;

        char *capture;
        size_t capture_len, capture_alloc;

        unsigned long long offset; /* bytes taken, for messages */
} json_split;

void json_split_init(json_split *s, const split_ops *ops, void *userdata, size_t max_piece);
void json_split_done(json_split *s);
/* Take the next bytes.  Returns 0, or -EBADMSG (not JSON), -E2BIG (a
 * piece or member name over its bound, or nesting deeper than
 * SPLIT_MAX_DEPTH) or a callback's negative return.  Stops after the
 * text's value: *ret_used says how much of data it took. */
int json_split_feed(json_split *s, const char *data, size_t size, size_t *ret_used);
/* The text's value is complete. */
bool json_split_complete(const json_split *s);

/* A captured piece parsed by json-c (tok reused from piece to piece): 0
 * with *ret a new reference (NULL for JSON null), or -EBADMSG. */
int json_piece_parse(json_tokener *tok, const char *text, size_t len, json_object **ret);

/* Compact JSON re-indented as json-c lays out JSON_C_TO_STRING_PRETTY |
 * JSON_C_TO_STRING_SPACED (two blanks a level), fed in pieces; write()
 * gets the text in pieces of up to 64 KiB. */
typedef struct json_pretty {
        int (*write)(const void *data, size_t size);
        unsigned depth;
        bool had_child[SPLIT_MAX_DEPTH];
        bool child_next; /* after an opening bracket or a comma */
        bool in_string, escape;
        size_t len;
        char buf[64u << 10];
} json_pretty;

void json_pretty_init(json_pretty *p, int (*write)(const void *data, size_t size));
int json_pretty_feed(json_pretty *p, const char *data, size_t size);
/* Write out what is held. */
int json_pretty_flush(json_pretty *p);
