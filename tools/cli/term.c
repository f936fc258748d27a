/* term.c - text from a trace made safe to print on a terminal (term.h). */
#include "term.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if s does not start one. */
static size_t
utf8_len(const unsigned char *s)
{
    size_t n;
    uint32_t cp;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0; /* also stops at the terminating NUL */
        }
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF are not text. */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

/* The escape for one ASCII control character. */
static void
put_control(struct ft_buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";

    switch (c) {
    case '\n':
        ft_buf_puts(b, "\\n");
        break;
    case '\r':
        ft_buf_puts(b, "\\r");
        break;
    case '\t':
        ft_buf_puts(b, "\\t");
        break;
    case 0x1b:
        ft_buf_puts(b, "\\e");
        break;
    default:
        ft_buf_puts(b, "\\x");
        ft_buf_putc(b, hex[c >> 4]);
        ft_buf_putc(b, hex[c & 15]);
        break;
    }
}

static int
is_c1(const unsigned char *s, size_t n)
{
    return n == 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f;
}

size_t
ft_term_put(struct ft_buf *b, const char *str, size_t max)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t chars = 0;

    while (*s != '\0') {
        size_t n = utf8_len(s);
        if (max > 0 && chars == max) {
            ft_buf_puts(b, "…");
            break;
        }
        if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f))) {
            put_control(b, *s); /* a control character, or a byte that is not UTF-8 */
            n = 1;
        } else if (is_c1(s, n)) {
            ft_buf_printf(b, "\\u%04x", (unsigned)s[1]);
        } else {
            ft_buf_put(b, (const char *)s, n);
        }
        s += n;
        chars++;
    }
    return chars;
}

void
ft_term_where(struct ft_buf *b, const char *file, unsigned line)
{
    const char *base = file != NULL ? strrchr(file, '/') : NULL;

    if (file == NULL) {
        file = "?";
    } else if (base != NULL) {
        if (strcmp(base, "/__init__.py") == 0 || strcmp(base, "/__main__.py") == 0) {
            const char *dir = base;
            while (dir > file && dir[-1] != '/') {
                dir--;
            }
            base = dir > file ? dir - 1 : NULL;
        }
        file = base != NULL ? base + 1 : file;
    }
    ft_term_put(b, file, 0);
    ft_buf_printf(b, ":%u", line);
}

int
ft_term_needs_escape(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    while (*s != '\0') {
        size_t n = utf8_len(s);
        if (n == 0 || (n == 1 && (*s < 0x20 || *s == 0x7f)) || is_c1(s, n)) {
            return 1;
        }
        s += n;
    }
    return 0;
}
