/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON text as it arrives (json-stream.h): the splitter, a pushdown
 * automaton over the bytes (RFC 8259's grammar; numbers and literals
 * checked as a whole once read), and the re-indenter. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "basic/alloc-util.h"
#include "basic/macro.h"
#include "cli/json-stream.h"

enum {
        ST_VALUE,       /* a value must come */
        ST_FIRST_VALUE, /* after '[': a value or ']' */
        ST_FIRST_KEY,   /* after '{': a member name or '}' */
        ST_KEY,         /* after ',' in an object: a member name */
        ST_KEY_STRING,  /* inside a member name */
        ST_COLON,       /* after a member name */
        ST_STRING,      /* inside a string value */
        ST_SCALAR,      /* inside a number or literal */
        ST_AFTER,       /* after a value: ',', a closing bracket, or the end of the text */
        ST_DONE,        /* the text's value is complete */
};

void json_split_init(json_split *s, const split_ops *ops, void *userdata, size_t max_piece) {
        *s = (json_split){ .ops = ops, .userdata = userdata, .max_piece = max_piece, .state = ST_VALUE };
}

void json_split_done(json_split *s) {
        s->capture = mfree(s->capture);
        s->capture_len = s->capture_alloc = 0;
}

bool json_split_complete(const json_split *s) {
        return s->state == ST_DONE;
}

static inline bool is_blank(unsigned char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline bool is_scalar_byte(unsigned char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
               c == '-' || c == '.';
}

static inline bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c) {
        return is_digit((char) c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A literal, or a number as RFC 8259 writes them. */
static bool scalar_valid(const char *p, size_t n) {
        const char *end = p + n;

        if ((n == 4 && memcmp(p, "true", 4) == 0) || (n == 5 && memcmp(p, "false", 5) == 0) ||
            (n == 4 && memcmp(p, "null", 4) == 0))
                return true;
        if (p < end && *p == '-')
                p++;
        if (p < end && *p == '0')
                p++;
        else if (p < end && is_digit(*p))
                while (p < end && is_digit(*p))
                        p++;
        else
                return false;
        if (p < end && *p == '.') {
                if (++p >= end || !is_digit(*p))
                        return false;
                while (p < end && is_digit(*p))
                        p++;
        }
        if (p < end && (*p == 'e' || *p == 'E')) {
                p++;
                if (p < end && (*p == '+' || *p == '-'))
                        p++;
                if (p >= end || !is_digit(*p))
                        return false;
                while (p < end && is_digit(*p))
                        p++;
        }
        return p == end;
}

static int capture_append(json_split *s, const char *p, size_t n) {
        if (n > s->max_piece - s->capture_len)
                return -E2BIG;
        if (!GREEDY_REALLOC_MIN(s->capture, s->capture_alloc, s->capture_len + n + 1, 4096))
                return -ENOMEM;
        memcpy(s->capture + s->capture_len, p, n);
        s->capture_len += n;
        s->capture[s->capture_len] = '\0';
        return 0;
}

/* The bytes data[from, to) of the value taken whole. */
static int passive_bytes(json_split *s, const char *data, size_t from, size_t to) {
        if (to <= from)
                return 0;
        if (s->passive == SPLIT_CAPTURE)
                return capture_append(s, data + from, to - from);
        if (s->passive == SPLIT_FORWARD)
                return s->ops->forward(s->userdata, data + from, to - from);
        return 0;
}

static const char *current_key(const json_split *s) {
        return s->depth > 0 && s->stack[s->depth - 1] == '{' ? s->key : NULL;
}

/* A value starts at data[i], first byte c. */
static int value_begin(json_split *s, size_t i, unsigned char c, size_t *span) {
        if (!s->passive) {
                split_action a = s->ops->begin(s->userdata, s->depth, current_key(s), (char) c);

                if (a == SPLIT_ENTER && c != '{' && c != '[')
                        a = SPLIT_SKIP;
                if (a != SPLIT_ENTER) {
                        s->passive = a;
                        s->passive_depth = s->depth;
                        s->capture_len = 0;
                        *span = i;
                }
        }
        switch (c) {
        case '{':
        case '[':
                if (s->depth >= SPLIT_MAX_DEPTH)
                        return -E2BIG;
                s->stack[s->depth++] = (char) c;
                s->state = c == '{' ? ST_FIRST_KEY : ST_FIRST_VALUE;
                return 0;
        case '"':
                s->state = ST_STRING;
                return 0;
        default:
                if (!is_scalar_byte(c))
                        return -EBADMSG;
                s->scalar[0] = (char) c;
                s->scalar_len = 1;
                s->state = ST_SCALAR;
                return 0;
        }
}

/* The value at s->depth ended just before data[end]. */
static int value_end(json_split *s, const char *data, size_t end, size_t *span) {
        int r = 0;

        s->state = s->depth == 0 ? ST_DONE : ST_AFTER;
        if (!s->passive)
                /* only containers are entered */
                return s->ops->end ? s->ops->end(s->userdata, s->depth) : 0;
        if (s->depth != s->passive_depth)
                return 0;
        r = passive_bytes(s, data, *span, end);
        if (r >= 0 && s->passive == SPLIT_CAPTURE)
                r = s->ops->value(s->userdata, s->depth, current_key(s), s->capture ? s->capture : "",
                                  s->capture_len);
        else if (r >= 0 && s->passive == SPLIT_FORWARD && s->ops->end)
                r = s->ops->end(s->userdata, s->depth);
        s->passive = SPLIT_SKIP;
        s->capture_len = 0;
        return r;
}

static int key_append(json_split *s, const char *p, size_t n) {
        if (s->passive)
                return 0;
        if (n > SPLIT_MAX_KEY - s->key_len)
                return -E2BIG;
        memcpy(s->key + s->key_len, p, n);
        s->key_len += n;
        s->key[s->key_len] = '\0';
        return 0;
}

/* Inside a string from data[i]: up to its end, or the end of the piece.
 * Returns the index after what it took. */
static int string_bytes(json_split *s, const char *data, size_t size, size_t *i, size_t *span) {
        bool key = s->state == ST_KEY_STRING;

        while (*i < size) {
                size_t j = *i;
                unsigned char c;
                int r;

                if (!s->string_escape && !s->string_hex) {
                        while (j < size && data[j] != '"' && data[j] != '\\' &&
                               (unsigned char) data[j] >= 0x20)
                                j++;
                        if (key && (r = key_append(s, data + *i, j - *i)) < 0)
                                return r;
                        *i = j;
                        if (j == size)
                                return 0;
                }
                c = (unsigned char) data[j];
                if (s->string_hex) {
                        if (!is_hex(c))
                                return -EBADMSG;
                        s->string_hex--;
                } else if (s->string_escape) {
                        if (!c || !strchr("\"\\/bfnrtu", c))
                                return -EBADMSG;
                        s->string_escape = 0;
                        if (c == 'u')
                                s->string_hex = 4;
                } else if (c < 0x20)
                        return -EBADMSG;
                else if (c == '\\')
                        s->string_escape = 1;
                else {
                        /* the closing quote */
                        *i = j + 1;
                        if (key) {
                                s->state = ST_COLON;
                                return 0;
                        }
                        return value_end(s, data, *i, span);
                }
                if (key && (r = key_append(s, data + j, 1)) < 0)
                        return r;
                *i = j + 1;
        }
        return 0;
}

int json_split_feed(json_split *s, const char *data, size_t size, size_t *ret_used) {
        size_t i = 0, span = 0; /* span: where the passive value's bytes in data start */
        int r = 0;

        while (i < size && s->state != ST_DONE && r >= 0) {
                unsigned char c = (unsigned char) data[i];

                if (s->state == ST_STRING || s->state == ST_KEY_STRING) {
                        r = string_bytes(s, data, size, &i, &span);
                        continue;
                }
                if (s->state == ST_SCALAR) {
                        while (i < size && is_scalar_byte((unsigned char) data[i]) &&
                               s->scalar_len < sizeof s->scalar)
                                s->scalar[s->scalar_len++] = data[i++];
                        if (i == size)
                                break;
                        /* longer than any number json-c keeps exactly, or not one */
                        if (is_scalar_byte((unsigned char) data[i]) ||
                            !scalar_valid(s->scalar, s->scalar_len))
                                r = -EBADMSG;
                        else /* data[i] is looked at again, after the value */
                                r = value_end(s, data, i, &span);
                        continue;
                }
                if (is_blank(c)) {
                        if (s->passive == SPLIT_FORWARD) {
                                r = passive_bytes(s, data, span, i);
                                span = i + 1;
                        }
                        i++;
                        continue;
                }
                switch (s->state) {
                case ST_FIRST_VALUE:
                case ST_VALUE:
                        if (c == ']' && s->state == ST_FIRST_VALUE)
                                goto close;
                        r = value_begin(s, i, c, &span);
                        i++;
                        break;
                case ST_FIRST_KEY:
                case ST_KEY:
                        if (c == '}' && s->state == ST_FIRST_KEY)
                                goto close;
                        if (c != '"') {
                                r = -EBADMSG;
                                break;
                        }
                        if (!s->passive) {
                                s->key_len = 0;
                                s->key[0] = '\0';
                        }
                        s->state = ST_KEY_STRING;
                        i++;
                        break;
                case ST_COLON:
                        if (c != ':') {
                                r = -EBADMSG;
                                break;
                        }
                        s->state = ST_VALUE;
                        i++;
                        break;
                case ST_AFTER:
                        if (c == ',') {
                                s->state = s->stack[s->depth - 1] == '{' ? ST_KEY : ST_VALUE;
                                i++;
                                break;
                        }
                        if (c == '}' || c == ']')
                                goto close;
                        r = -EBADMSG;
                        break;
                default:
                        r = -EBADMSG;
                        break;
                }
                continue;
        close:
                if (s->depth == 0 || s->stack[s->depth - 1] != (c == '}' ? '{' : '[')) {
                        r = -EBADMSG;
                        continue;
                }
                s->depth--;
                i++;
                r = value_end(s, data, i, &span);
        }
        /* the passive value goes on in the next piece */
        if (r >= 0 && s->passive && s->state != ST_DONE)
                r = passive_bytes(s, data, span, i);
        s->offset += i;
        if (ret_used)
                *ret_used = i;
        return r;
}

int json_piece_parse(json_tokener *tok, const char *text, size_t len, json_object **ret) {
        json_object *o;

        if (len > INT32_MAX - 1)
                return -EBADMSG;
        json_tokener_reset(tok);
        /* with its NUL: a number at the end of the text is then complete */
        o = json_tokener_parse_ex(tok, text, (int) len + 1);
        if (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) < len) {
                json_object_put(o);
                return -EBADMSG;
        }
        *ret = o;
        return 0;
}

/* ---- the re-indenter ---- */

void json_pretty_init(json_pretty *p, int (*write)(const void *data, size_t size)) {
        p->write = write;
        p->depth = 0;
        p->child_next = p->in_string = p->escape = false;
        p->len = 0;
}

int json_pretty_flush(json_pretty *p) {
        int r = p->len > 0 ? p->write(p->buf, p->len) : 0;

        p->len = 0;
        return r;
}

static int out(json_pretty *p, const char *s, size_t n) {
        if (n > sizeof p->buf - p->len) {
                int r = json_pretty_flush(p);
                if (r < 0)
                        return r;
                if (n > sizeof p->buf)
                        return p->write(s, n);
        }
        memcpy(p->buf + p->len, s, n);
        p->len += n;
        return 0;
}

static int indent(json_pretty *p, unsigned level) {
        static const char blanks[] = "                                                                ";
        size_t n = 2 * (size_t) level;

        while (n > 0) {
                size_t k = n < sizeof blanks - 1 ? n : sizeof blanks - 1;
                int r = out(p, blanks, k);
                if (r < 0)
                        return r;
                n -= k;
        }
        return 0;
}

/* A member or element begins: on a line of its own. */
static int child_start(json_pretty *p) {
        if (!p->child_next)
                return 0;
        p->child_next = false;
        if (p->depth > 0)
                p->had_child[p->depth - 1] = true;
        return indent(p, p->depth);
}

int json_pretty_feed(json_pretty *p, const char *data, size_t size) {
        int r = 0;

        for (size_t i = 0; i < size && r >= 0; i++) {
                char c = data[i];

                if (p->in_string) {
                        size_t j = i;

                        /* plain bytes at once */
                        if (!p->escape)
                                while (j < size && data[j] != '"' && data[j] != '\\')
                                        j++;
                        if (j > i) {
                                r = out(p, data + i, j - i);
                                i = j - 1;
                                continue;
                        }
                        if (p->escape)
                                p->escape = false;
                        else if (c == '\\')
                                p->escape = true;
                        else
                                p->in_string = false;
                        r = out(p, &c, 1);
                        continue;
                }
                switch (c) {
                case ' ':
                case '\t':
                case '\n':
                case '\r':
                        break;
                case '{':
                case '[':
                        r = child_start(p);
                        if (r >= 0)
                                r = out(p, c == '{' ? "{\n" : "[\n", 2);
                        if (r >= 0 && p->depth >= SPLIT_MAX_DEPTH)
                                r = -E2BIG;
                        if (r >= 0) {
                                p->had_child[p->depth++] = false;
                                p->child_next = true;
                        }
                        break;
                case '}':
                case ']':
                        if (p->depth == 0) {
                                r = -EBADMSG;
                                break;
                        }
                        p->child_next = false;
                        p->depth--;
                        if (p->had_child[p->depth])
                                r = out(p, "\n", 1);
                        if (r >= 0)
                                r = indent(p, p->depth);
                        if (r >= 0)
                                r = out(p, &c, 1);
                        break;
                case ',':
                        r = out(p, ",\n", 2);
                        p->child_next = true;
                        break;
                case ':':
                        r = out(p, ": ", 2);
                        break;
                case '"':
                        r = child_start(p);
                        if (r >= 0)
                                r = out(p, &c, 1);
                        p->in_string = true;
                        break;
                default:
                        r = child_start(p);
                        if (r >= 0)
                                r = out(p, &c, 1);
                        break;
                }
        }
        return r;
}
