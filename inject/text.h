/* text.h - a bounded output area, and what appends to it: bytes, formatted text, the
 * inside of a JSON string.
 *
 * An area is p[0..cap): len bytes are written. A write that does not fit is cut at cap and
 * sets `cut`, after which nothing more is written: the caller sees cut and decides (a
 * marker, a value described whole, a record left out). The JSON writers cut only between
 * whole characters and escapes, so that what was written is valid JSON once closed.
 *
 * Pure: no Python, no allocation, no lock; ft_put is inlined (the renderers' hot path).
 */
#ifndef FT_INJECT_TEXT_H
#define FT_INJECT_TEXT_H

#include <stddef.h>
#include <string.h>

/* An output area: text is appended at len, never past cap; `cut` is set when something
 * did not fit. */
struct ft_text {
    char *p;
    size_t len, cap;
    int cut;
    size_t end; /* ft_capture_json's own: the end of its work room */
};

/* Appends n bytes of s, as much as fits. */
/* Inlined everywhere: most calls pass a constant size, which folds the branches. */
static inline __attribute__((always_inline)) void
ft_put(struct ft_text *o, const void *s, size_t n)
{
    if (o->cut) {
        return;
    }
    if (o->cap - o->len < n) {
        n = o->cap - o->len;
        o->cut = 1;
    }
    /* Most pieces are a few bytes (digits, quotes, ", ", a type's name): two overlapping
     * fixed-size copies for those, no call. */
    char *d = o->p + o->len;
    const char *c = s;
    if (n >= 8 && n <= 16) {
        memcpy(d, c, 8);
        memcpy(d + n - 8, c + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(d, c, 4);
        memcpy(d + n - 4, c + n - 4, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++) {
            d[i] = c[i];
        }
    } else {
        memcpy(d, c, n);
    }
    o->len += n;
}

/* Appends the string s. */
void ft_puts(struct ft_text *o, const char *s);

/* Appends printf-formatted text (at most 255 bytes of it). */
void ft_putf(struct ft_text *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s (n bytes of UTF-8) as the inside of a JSON string: the quote, the backslash
 * and control characters escaped (\n, \r, \t, \", \\ and \u00XX). */
void ft_put_json_chars(struct ft_text *o, const unsigned char *s, size_t n);

#endif
