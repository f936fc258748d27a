/* pyval.c - format-3 values shown as Python reprs (pyval.h): a recursive-descent reader
 * of JSON text that writes as it reads and rolls the buffer back on text that is not
 * JSON. An object is looked over once for a string "repr" member before it is written. */
#include "pyval.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What is written for the value read: the repr (ft_pyval_show), JSON without described
 * values (ft_pyval_plain), an OTLP AnyValue (ft_pyval_otlp). */
enum mode { SHOW, PLAIN, OTLP };

/* How each mode writes containers: around an array, around an object, between items,
 * around a member's key (then its value), after a member. */
static const struct syntax {
    const char *arr_open, *arr_close, *obj_open, *obj_close, *sep, *key_open, *key_sep,
        *member_close;
} syntax[] = {
    [SHOW] = {"[", "]", "{", "}", ", ", "", ": ", ""},
    [PLAIN] = {"[", "]", "{", "}", ",", "", ":", ""},
    [OTLP] = {"{\"arrayValue\":{\"values\":[", "]}}", "{\"kvlistValue\":{\"values\":[", "]}}", ",",
              "{\"key\":", ",\"value\":", "}"},
};

/* The JSON text being read; mode says what is written for it. */
struct rd {
    const char *p, *end;
    struct ft_buf *b;
    int depth;
    enum mode mode;
};

static int value(struct rd *r);

/* ft_buf_put of n bytes; nothing for none (a buffer not yet grown has no memory to
 * copy into, even nothing). */
static void
put(struct ft_buf *b, const void *s, size_t n)
{
    if (n > 0) {
        ft_buf_put(b, s, n);
    }
}

static void
put_str(struct ft_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void
skip_space(struct rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t')) {
        r->p++;
    }
}

/* Four hex digits at p (end bounds them); -1 if they are not. */
static long
hex4(const char *p, const char *end)
{
    char digits[5];

    if (end - p < 4) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        if (!isxdigit((unsigned char)p[i])) {
            return -1;
        }
        digits[i] = p[i];
    }
    digits[4] = '\0';
    return strtol(digits, NULL, 16);
}

/* A code point as UTF-8; a lone surrogate as U+FFFD (no character to show). */
static void
put_utf8(struct ft_buf *b, uint32_t cp)
{
    char o[4];

    if (cp >= 0xd800 && cp < 0xe000) {
        cp = 0xfffd;
    }
    if (cp < 0x80) {
        ft_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        put(b, o, 2);
    } else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        put(b, o, 3);
    } else {
        o[0] = (char)(0xf0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        put(b, o, 4);
    }
}

/* \uXXXX at r->p (after the backslash and 'u'), with a following low surrogate if this
 * is a high one. Returns the code point, or -1 when the digits are not hex. */
static long
unicode_escape(struct rd *r)
{
    long cp = hex4(r->p, r->end), lo;

    if (cp < 0) {
        return -1;
    }
    r->p += 4;
    if (cp >= 0xd800 && cp < 0xdc00 && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u' &&
        (lo = hex4(r->p + 2, r->end)) >= 0xdc00 && lo < 0xe000) {
        r->p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    return cp;
}

/* One escape after a backslash, decoded into out. Returns 0, or -1 if invalid. */
static int
escape(struct rd *r, struct ft_buf *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *at;

    if (r->p >= r->end) {
        return -1;
    }
    if (*r->p == 'u') {
        long cp;
        r->p++;
        if ((cp = unicode_escape(r)) < 0) {
            return -1;
        }
        put_utf8(out, (uint32_t)cp);
        return 0;
    }
    if ((at = memchr(from, *r->p, sizeof(from) - 1)) == NULL) {
        return -1;
    }
    ft_buf_putc(out, to[at - from]);
    r->p++;
    return 0;
}

/* The JSON string at r->p (its opening quote), decoded into out when out is not NULL.
 * Returns 0, or -1 when it is not a string. */
static int
string(struct rd *r, struct ft_buf *out)
{
    if (r->p >= r->end || *r->p != '"') {
        return -1;
    }
    r->p++;
    while (r->p < r->end && *r->p != '"') {
        const char *run = r->p;
        while (r->p < r->end && *r->p != '"' && *r->p != '\\') {
            r->p++;
        }
        if (out != NULL) {
            put(out, run, (size_t)(r->p - run));
        }
        if (r->p < r->end && *r->p == '\\') {
            struct ft_buf sink;
            r->p++;
            ft_buf_init(&sink);
            if (escape(r, out != NULL ? out : &sink) != 0) {
                ft_buf_free(&sink);
                return -1;
            }
            ft_buf_free(&sink);
        }
    }
    if (r->p >= r->end) {
        return -1;
    }
    r->p++;
    return 0;
}

void
ft_pyval_put_str(struct ft_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    int single = memchr(s, '\'', n) != NULL, dbl = memchr(s, '"', n) != NULL;
    char q = single && !dbl ? '"' : '\'';
    size_t start = 0;

    ft_buf_putc(b, q);
    for (size_t i = 0; i < n; i++) {
        char hex[5];
        const char *esc = u[i] == '\\'                    ? "\\\\"
                          : u[i] == (unsigned char)q      ? (q == '\'' ? "\\'" : "\\\"")
                          : u[i] == '\n'                  ? "\\n"
                          : u[i] == '\r'                  ? "\\r"
                          : u[i] == '\t'                  ? "\\t"
                          : (u[i] < 0x20 || u[i] == 0x7f) ? hex
                                                          : NULL;
        if (esc == NULL) {
            continue;
        }
        if (esc == hex) {
            snprintf(hex, sizeof(hex), "\\x%02x", u[i]);
        }
        put(b, s + start, i - start);
        put_str(b, esc);
        start = i + 1;
    }
    put(b, s + start, n - start);
    ft_buf_putc(b, q);
}

/* A string: shown quoted, or copied as JSON text (an OTLP string value, not a key, in
 * its AnyValue). */
static int
string_value(struct rd *r, int is_key)
{
    const char *at = r->p;
    struct ft_buf s;
    int rc;

    if (r->mode != SHOW) {
        int any = r->mode == OTLP && !is_key;
        if (string(r, NULL) != 0) {
            return -1;
        }
        put_str(r->b, any ? "{\"stringValue\":" : "");
        put(r->b, at, (size_t)(r->p - at));
        put_str(r->b, any ? "}" : "");
        return 0;
    }
    ft_buf_init(&s);
    if ((rc = string(r, &s)) == 0) {
        ft_pyval_put_str(r->b, s.p != NULL ? s.p : "", s.len);
    }
    ft_buf_free(&s);
    return rc;
}

/* A number, true, false or null: its text (as Python writes the last three when shown;
 * in OTLP an intValue, a doubleValue, a boolValue, and None's text). */
static int
scalar(struct rd *r)
{
    static const struct {
        const char *json, *py, *otlp;
    } words[] = {{"null", "None", "{\"stringValue\":\"None\"}"},
                 {"true", "True", "{\"boolValue\":true}"},
                 {"false", "False", "{\"boolValue\":false}"}};
    const char *at = r->p;
    int whole = 1;

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i].json);
        if ((size_t)(r->end - r->p) >= n && memcmp(r->p, words[i].json, n) == 0) {
            r->p += n;
            put_str(r->b, r->mode == SHOW   ? words[i].py
                          : r->mode == OTLP ? words[i].otlp
                                            : words[i].json);
            return 0;
        }
    }
    while (r->p < r->end && (strchr("+-.eE", *r->p) != NULL || (*r->p >= '0' && *r->p <= '9'))) {
        whole &= strchr(".eE", *r->p) == NULL;
        r->p++;
    }
    if (r->p == at || !(at[0] == '-' || (at[0] >= '0' && at[0] <= '9'))) {
        return -1;
    }
    if (r->mode == OTLP) {
        /* Whole numbers are within 2^53 (bigger ones are described): an int64. */
        put_str(r->b, whole ? "{\"intValue\":\"" : "{\"doubleValue\":");
    }
    put(r->b, at, (size_t)(r->p - at));
    if (r->mode == OTLP) {
        put_str(r->b, whole ? "\"}" : "}");
    }
    return 0;
}

/* Skips one value (nothing written). */
static int
skip(struct rd *r)
{
    struct ft_buf *b = r->b, sink;
    int rc;

    ft_buf_init(&sink);
    r->b = &sink;
    rc = value(r);
    r->b = b;
    ft_buf_free(&sink);
    return rc;
}

/* Looks over the object at r->p (its '{') for a member "repr" holding a string; sets
 * *repr to that string's opening quote. Returns 1 if found, 0 if not, -1 if invalid.
 * r->p is left after the object. */
static int
find_repr(struct rd *r, const char **repr)
{
    int found = 0;

    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return 0;
    }
    for (;;) {
        const char *key = r->p;
        skip_space(r);
        if (string(r, NULL) != 0) {
            return -1;
        }
        int is_repr = r->p - key == 6 && memcmp(key, "\"repr\"", 6) == 0;
        skip_space(r);
        if (r->p >= r->end || *r->p != ':') {
            return -1;
        }
        r->p++;
        skip_space(r);
        if (is_repr && r->p < r->end && *r->p == '"' && !found) {
            found = 1;
            *repr = r->p;
        }
        if (skip(r) != 0) {
            return -1;
        }
        skip_space(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            skip_space(r);
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return found;
        }
        return -1;
    }
}

/* The members or elements of a container at r->p (its opening bracket). */
static int
container(struct rd *r, char close)
{
    const struct syntax *sx = &syntax[r->mode];
    int first = 1, obj = close == '}';

    put_str(r->b, obj ? sx->obj_open : sx->arr_open);
    r->p++;
    skip_space(r);
    while (r->p < r->end && *r->p != close) {
        if (!first) {
            if (*r->p != ',') {
                return -1;
            }
            r->p++;
            skip_space(r);
            put_str(r->b, sx->sep);
        }
        first = 0;
        if (obj) {
            put_str(r->b, sx->key_open);
            if (string_value(r, 1) != 0) {
                return -1;
            }
            skip_space(r);
            if (r->p >= r->end || *r->p != ':') {
                return -1;
            }
            r->p++;
            put_str(r->b, sx->key_sep);
        }
        if (value(r) != 0) {
            return -1;
        }
        put_str(r->b, obj ? sx->member_close : "");
        skip_space(r);
    }
    if (r->p >= r->end) {
        return -1;
    }
    put_str(r->b, obj ? sx->obj_close : sx->arr_close);
    r->p++;
    return 0;
}

/* An object: a described value's repr, or a dict. */
static int
object(struct rd *r)
{
    const char *at = r->p, *repr = NULL;
    int found = find_repr(r, &repr);
    const char *after = r->p;

    if (found < 0) {
        return -1;
    }
    if (found) {
        r->p = repr;
        if (r->mode != SHOW) {
            if (string_value(r, 0) != 0) {
                return -1;
            }
        } else if (string(r, r->b) != 0) {
            return -1;
        }
        r->p = after;
        return 0;
    }
    r->p = at;
    return container(r, '}');
}

static int
value(struct rd *r)
{
    int rc;

    skip_space(r);
    if (r->p >= r->end || r->depth >= FT_PYVAL_MAX_DEPTH) {
        return -1;
    }
    r->depth++;
    switch (*r->p) {
    case '"':
        rc = string_value(r, 0);
        break;
    case '[':
        rc = container(r, ']');
        break;
    case '{':
        rc = object(r);
        break;
    default:
        rc = scalar(r);
        break;
    }
    r->depth--;
    return rc;
}

/* The whole text as one value (or, map set, as an object of values). */
static int
read_whole(struct ft_buf *b, const char *json, size_t n, enum mode mode, int map)
{
    struct rd r = {json, json + n, b, 0, mode};
    size_t len = b->len;

    skip_space(&r);
    if (map ? (r.p < r.end && *r.p == '{' && container(&r, '}') == 0) : value(&r) == 0) {
        skip_space(&r);
        if (r.p == r.end) {
            return 0;
        }
    }
    b->len = len;
    return -1;
}

int
ft_pyval_show(struct ft_buf *b, const char *json, size_t n)
{
    return read_whole(b, json, n, SHOW, 0);
}

int
ft_pyval_plain(struct ft_buf *b, const char *json, size_t n)
{
    return read_whole(b, json, n, PLAIN, 0);
}

int
ft_pyval_otlp(struct ft_buf *b, const char *json, size_t n)
{
    return read_whole(b, json, n, OTLP, 0);
}

int
ft_pyval_plain_map(struct ft_buf *b, const char *json, size_t n)
{
    return read_whole(b, json, n, PLAIN, 1);
}

int
ft_pyval_described(const char *json, size_t n, const char **repr, size_t *len)
{
    struct ft_buf sink;
    struct rd r = {json, json + n, &sink, 0, SHOW};
    const char *at = NULL;
    int found;

    skip_space(&r);
    if (r.p >= r.end || *r.p != '{') {
        return 0;
    }
    ft_buf_init(&sink);
    found = find_repr(&r, &at);
    ft_buf_free(&sink);
    if (found != 1) {
        return 0;
    }
    r.p = at;
    if (string(&r, NULL) != 0) {
        return 0;
    }
    *repr = at;
    *len = (size_t)(r.p - at);
    return 1;
}
