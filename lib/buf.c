/* buf.c - growable byte buffer. */
#include "buf.h"

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
