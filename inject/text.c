/* text.c - appending to a bounded output area (see text.h). */
#include "text.h"

#include <stdarg.h>
#include <stdio.h>

void
ft_puts(struct ft_text *o, const char *s)
{
    ft_put(o, s, strlen(s));
}

void
ft_putf(struct ft_text *o, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): va_start is just above. */
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) {
        ft_put(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    }
}

/* Bytes a JSON string escapes: the quote, the backslash, control characters. */
static const unsigned char json_special[256] = {[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1};

/* One escape of c as JSON writes it, whole or not at all. */
static void
put_json_escape(struct ft_text *o, unsigned c)
{
    char esc[8];
    size_t n = 2;

    static const char short_form[128] = {
        ['"'] = '"', ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};

    esc[0] = '\\';
    esc[1] = 0;
    if (c < 128) {
        esc[1] = short_form[c];
    }
    if (esc[1] == 0) {
        n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
    }
    if (o->cap - o->len < n) {
        o->cut = 1;
        return;
    }
    ft_put(o, esc, n);
}

void
ft_put_json_chars(struct ft_text *o, const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n && !o->cut) {
        size_t room = o->cap - o->len, stop = n - i > room ? i + room : n, j = i;
        while (j < stop && !json_special[s[j]]) {
            j++;
        }
        if (j == stop && stop < n) {
            /* Full: keep whole characters only. */
            while (j > i && (s[j] & 0xc0) == 0x80) {
                j--;
            }
            ft_put(o, s + i, j - i);
            o->cut = 1;
            return;
        }
        ft_put(o, s + i, j - i);
        if (j < n) {
            put_json_escape(o, s[j]);
            j++;
        }
        i = j;
    }
}
