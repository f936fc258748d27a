/* pylit.c - Python literal reprs as JSON values (pylit.h): a recursive-descent reader
 * that writes as it reads and rolls the buffer back when the text is not a literal. */
#include "pylit.h"

#include <stdint.h>
#include <string.h>

#include "lib/json.h"

#define MAX_NESTING 32

struct rd {
    const char *p;
    struct ft_buf *b;
    int depth;
};

static int value(struct rd *r);

static void
skip_space(struct rd *r)
{
    while (*r->p == ' ') {
        r->p++;
    }
}

static int
word(struct rd *r, const char *w, const char *json)
{
    size_t n = strlen(w);
    char next;

    if (strncmp(r->p, w, n) != 0) {
        return 0;
    }
    next = r->p[n];
    if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || next == '_' ||
        (next >= '0' && next <= '9')) {
        return 0;
    }
    r->p += n;
    ft_buf_puts(r->b, json);
    return 1;
}

static int
hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A code point as UTF-8 into out (4 bytes at most); returns its length, 0 if invalid. */
static size_t
utf8(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        if (cp >= 0xd800 && cp < 0xe000) {
            return 0; /* a lone surrogate is no character */
        }
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    if (cp < 0x110000) {
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
    }
    return 0;
}

/* A backslash escape after the backslash: its character(s) into out. */
static size_t
escape(struct rd *r, char *out)
{
    static const char simple[] = "\\\\''\"\"n\nr\rt\ta\ab\bf\fv\v0";
    char c = *r->p++;
    int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    uint32_t cp = 0;

    for (size_t i = 0; c != '\0' && i + 1 < sizeof(simple); i += 2) {
        if (simple[i] == c) {
            out[0] = simple[i + 1]; /* "\\0" is the NUL after the last "0" */
            return 1;
        }
    }
    if (digits == 0) {
        return 0;
    }
    for (int i = 0; i < digits; i++) {
        int h = hexval(*r->p);
        if (h < 0) {
            return 0;
        }
        cp = cp * 16 + (uint32_t)h;
        r->p++;
    }
    return utf8(cp, out);
}

/* A quoted str; its text into the buffer as a JSON string. */
static int
string(struct rd *r)
{
    char quote = *r->p, text[4096];
    size_t n = 0;

    r->p++;
    while (*r->p != quote) {
        char ch[4];
        size_t k = 1;
        if (*r->p == '\0' || n + 4 >= sizeof(text)) {
            return 0;
        }
        if (*r->p == '\\') {
            r->p++;
            if ((k = escape(r, ch)) == 0) {
                return 0;
            }
        } else {
            ch[0] = *r->p++;
        }
        memcpy(text + n, ch, k);
        n += k;
    }
    r->p++;
    ft_json_put_str(r->b, text, n);
    return 1;
}

static int
number(struct rd *r)
{
    const char *s = r->p;
    int digits = 0, dot = 0, exp = 0;

    /* JSON has no infinity or NaN: they stay words, as json.dumps would not write them. */
    if (word(r, "-inf", "\"-inf\"") || word(r, "inf", "\"inf\"") || word(r, "nan", "\"nan\"")) {
        return 1;
    }
    if (*r->p == '-') {
        r->p++;
    }
    for (;; r->p++) {
        char c = *r->p;
        if (c >= '0' && c <= '9') {
            digits++;
        } else if (c == '.' && !dot && !exp) {
            dot = 1;
        } else if ((c == 'e' || c == 'E') && digits && !exp) {
            exp = 1;
            if (r->p[1] == '+' || r->p[1] == '-') {
                r->p++;
            }
        } else {
            break;
        }
    }
    const char *d = *s == '-' ? s + 1 : s;
    if (digits == 0 || r->p[-1] == '.' || (d[0] == '0' && d[1] >= '0' && d[1] <= '9')) {
        return 0; /* "1." and "01" are not JSON */
    }
    ft_buf_put(r->b, s, (size_t)(r->p - s));
    return 1;
}

/* A dict key just written at b[at]: json.dumps's key, a str as it is, 1 as "1", True as
 * "true", None as "null"; a list or dict cannot be one. */
static int
key_as_string(struct rd *r, size_t at)
{
    size_t len = r->b->len - at;
    char key[128];

    if (r->b->p[at] == '"') {
        return 1;
    }
    if (len >= sizeof(key) || r->b->p[at] == '[' || r->b->p[at] == '{') {
        return 0;
    }
    memcpy(key, r->b->p + at, len);
    r->b->len = at;
    ft_json_put_str(r->b, key, len);
    return 1;
}

/* "key: " of a dict item, the key as a JSON string. */
static int
dict_key(struct rd *r)
{
    size_t at = r->b->len;

    if (!value(r) || !key_as_string(r, at)) {
        return 0;
    }
    skip_space(r);
    if (*r->p++ != ':') {
        return 0;
    }
    ft_buf_putc(r->b, ':');
    skip_space(r);
    return 1;
}

/* Items up to close: values, or with dict "key: value" pairs. */
static int
items(struct rd *r, char close, int dict)
{
    for (int n = 0;; n++) {
        skip_space(r);
        if (*r->p == close) {
            r->p++;
            return 1;
        }
        if (n > 0) {
            if (*r->p != ',') {
                return 0;
            }
            r->p++;
            skip_space(r);
            if (*r->p == close) { /* (1,) */
                r->p++;
                return 1;
            }
            ft_buf_putc(r->b, ',');
        }
        if ((dict && !dict_key(r)) || !value(r)) {
            return 0;
        }
    }
}

static int
container(struct rd *r)
{
    char open = *r->p, close = '}';
    const char *after = r->p + 1;
    int dict = 0, ok;

    if (r->depth >= MAX_NESTING) {
        return 0;
    }
    if (open == '[') {
        close = ']';
    } else if (open == '(') {
        close = ')';
    } else {
        /* A dict when its first item is followed by ':', else a set ("{}" is a dict). */
        struct rd probe = {after, r->b, r->depth + 1};
        size_t at = r->b->len;
        skip_space(&probe);
        dict = *probe.p == '}' || (value(&probe) && (skip_space(&probe), *probe.p == ':'));
        r->b->len = at;
    }
    ft_buf_putc(r->b, dict ? '{' : '[');
    r->p = after;
    r->depth++;
    ok = items(r, close, dict);
    r->depth--;
    ft_buf_putc(r->b, dict ? '}' : ']');
    return ok;
}

static int
value(struct rd *r)
{
    char c = *r->p;

    if (c == '\'' || c == '"') {
        return string(r);
    }
    if (c == '[' || c == '(' || c == '{') {
        return container(r);
    }
    if (c == '-' || (c >= '0' && c <= '9') || strncmp(r->p, "inf", 3) == 0 ||
        strncmp(r->p, "nan", 3) == 0) {
        return number(r);
    }
    if (strncmp(r->p, "frozenset(", 10) == 0 || strncmp(r->p, "set(", 4) == 0) {
        r->p = strchr(r->p, '(');
        if (r->p[1] == ')') {
            r->p += 2;
            ft_buf_puts(r->b, "[]");
            return 1;
        }
        r->p++;
        if (!container(r) || *r->p != ')') {
            return 0;
        }
        r->p++;
        return 1;
    }
    return word(r, "None", "null") || word(r, "True", "true") || word(r, "False", "false");
}

int
ft_pylit_to_json(struct ft_buf *b, const char *text)
{
    struct rd r = {text, b, 0};
    size_t at = b->len;

    if (value(&r) && *r.p == '\0' && !b->oom) {
        return 1;
    }
    b->len = at;
    ft_json_put_cstr(b, text);
    return 0;
}
