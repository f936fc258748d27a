/* buf.c - growable byte buffer and number formatting. */
#include "buf.h"

#include "dec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void
ft_buf_init(struct ft_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void
ft_buf_free(struct ft_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

int
ft_buf_grow(struct ft_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 256;
    char *np;

    while (cap - b->len < n) {
        cap *= 2;
    }
    np = realloc(b->p, cap);
    if (np == NULL) {
        b->oom = 1;
        return -ENOMEM;
    }
    b->p = np;
    b->cap = cap;
    return 0;
}

const char ft_dec_pairs[200] = "00010203040506070809101112131415161718192021222324"
                               "25262728293031323334353637383940414243444546474849"
                               "50515253545556575859606162636465666768697071727374"
                               "75767778798081828384858687888990919293949596979899";

size_t
ft_dec_big(char *out, uint64_t v)
{
    return ft_dec_big_inline(out, v);
}

size_t
ft_fmt_u64(char *out, uint64_t v)
{
    unsigned n = ft_dec_len(v);
    char *p = out + n;

    /* Two digits per division, written in place from the end: this runs for every number
     * of every output line. */
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, ft_dec_pairs + 2 * (size_t)r, 2);
    }
    if (v >= 10) {
        memcpy(p - 2, ft_dec_pairs + 2 * (size_t)v, 2);
    } else {
        p[-1] = (char)('0' + v);
    }
    return n;
}

void
ft_buf_put_i64(struct ft_buf *b, int64_t v)
{
    if (v < 0) {
        ft_buf_putc(b, '-');
        ft_buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        ft_buf_put_u64(b, (uint64_t)v);
    }
}

void
ft_buf_put_milli(struct ft_buf *b, uint64_t v)
{
    uint64_t frac = v % 1000;

    ft_buf_put_u64(b, v / 1000);
    if (ft_buf_reserve(b, 4) == 0) {
        char *p = b->p + b->len;
        p[0] = '.';
        p[1] = (char)('0' + frac / 100);
        p[2] = (char)('0' + (frac / 10) % 10);
        p[3] = (char)('0' + frac % 10);
        b->len += 4;
    }
}

void
ft_buf_printf(struct ft_buf *b, const char *fmt, ...)
{
    va_list ap, aq;
    int n;

    va_start(ap, fmt);
    va_copy(aq, ap);
    /* clang-analyzer 14 loses track of va_copy here: aq is initialised. */
    n = vsnprintf(NULL, 0, fmt, aq); // NOLINT(clang-analyzer-valist.Uninitialized)
    va_end(aq);
    if (n >= 0 && ft_buf_reserve(b, (size_t)n + 1) == 0) {
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
    }
    va_end(ap);
}
