/* jsonval.c - one JSON value, checked in one pass (see jsonval.h). */
#include "jsonval.h"

#include <stdint.h>

struct scan {
    const unsigned char *p, *end;
};

static void
skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) {
        s->p++;
    }
}

/* Bytes a string's plain run stops at: control characters, the quote, the backslash,
 * and bytes of multi-byte UTF-8 sequences. */
static const unsigned char not_plain[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1};

static int
is_hex(unsigned c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* One UTF-8 sequence of 2 to 4 bytes at s->p (its lead byte >= 0x80): no overlong form,
 * no surrogate, nothing past U+10FFFF. */
static int
utf8_seq(struct scan *s)
{
    const unsigned char *p = s->p;
    unsigned c = p[0], n, lo = 0x80, hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if ((size_t)(s->end - p) <= n || p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (unsigned i = 2; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    s->p += n + 1;
    return 1;
}

/* A backslash escape at s->p: a quote, backslash, slash, b, f, n, r, t or uXXXX after it. */
static int
escape(struct scan *s)
{
    unsigned c;

    if (s->end - s->p < 2) {
        return 0;
    }
    c = s->p[1];
    if (c == 'u') {
        if (s->end - s->p < 6 || !is_hex(s->p[2]) || !is_hex(s->p[3]) || !is_hex(s->p[4]) ||
            !is_hex(s->p[5])) {
            return 0;
        }
        s->p += 6;
        return 1;
    }
    if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' && c != 'r' &&
        c != 't') {
        return 0;
    }
    s->p += 2;
    return 1;
}

static int
string(struct scan *s)
{
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        const unsigned char *p = s->p, *end = s->end;
        /* Plain ASCII, the bulk of a value's text: one table look-up a byte. */
        while (p < end && !not_plain[*p]) {
            p++;
        }
        s->p = p;
        if (p == end) {
            break;
        }
        unsigned c = *p;
        if (c == '"') {
            s->p++;
            return 1;
        }
        if (c < 0x20) {
            return 0;
        }
        if (c >= 0x80) {
            if (!utf8_seq(s)) {
                return 0;
            }
            continue;
        }
        if (c == '\\') {
            if (!escape(s)) {
                return 0;
            }
            continue;
        }
        s->p++;
    }
    return 0;
}

static int
digits(struct scan *s)
{
    const unsigned char *start = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        s->p++;
    }
    return s->p > start;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
number(struct scan *s)
{
    if (*s->p == '-') {
        s->p++;
    }
    if (s->p < s->end && *s->p == '0') {
        s->p++;
    } else if (!digits(s)) {
        return 0;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!digits(s)) {
            return 0;
        }
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) {
            s->p++;
        }
        if (!digits(s)) {
            return 0;
        }
    }
    return 1;
}

static int
literal(struct scan *s, const char *word, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->p + i >= s->end || s->p[i] != (unsigned char)word[i]) {
            return 0;
        }
    }
    s->p += n;
    return 1;
}

static int value(struct scan *s, int depth);

/* The members or items of an object or array after its opening bracket. */
static int
container(struct scan *s, int depth, unsigned close)
{
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 1;
    }
    for (;;) {
        if (close == '}') {
            if (s->p >= s->end || *s->p != '"' || !string(s)) {
                return 0;
            }
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':') {
                return 0;
            }
            s->p++;
        }
        if (!value(s, depth + 1)) {
            return 0;
        }
        skip_ws(s);
        if (s->p < s->end && *s->p == close) {
            s->p++;
            return 1;
        }
        if (s->p >= s->end || *s->p != ',') {
            return 0;
        }
        s->p++;
        skip_ws(s);
    }
}

static int
value(struct scan *s, int depth)
{
    skip_ws(s);
    if (s->p >= s->end) {
        return 0;
    }
    switch (*s->p) {
    case '"':
        return string(s);
    case '{':
        return depth < FT_JSONVAL_DEPTH && container(s, depth, '}');
    case '[':
        return depth < FT_JSONVAL_DEPTH && container(s, depth, ']');
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default:
        return (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) && number(s);
    }
}

int
ft_jsonval_check(const char *text, size_t n)
{
    struct scan s = {(const unsigned char *)text, (const unsigned char *)text + n};

    if (!value(&s, 0)) {
        return 0;
    }
    skip_ws(&s);
    return s.p == s.end;
}
