/* buf.h - growable byte buffer with fast text formatting (writer and tools only).
 *
 * Never used on the traced process's hot path. The owner of a struct ft_buf calls
 * ft_buf_init() and ft_buf_free(). Appending functions grow the buffer; on allocation
 * failure they set b->oom and drop the data, so callers check oom once per batch.
 */
#ifndef FT_LIB_BUF_H
#define FT_LIB_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dec.h"

/* Texts the writer's inner loop copies (code fragments, a call's values) have this many
 * readable bytes past their end, so that they are copied in 32-byte steps without a call
 * (emit.c put_padded). */
#define FT_TEXT_PAD 32

struct ft_buf {
    char *p;
    size_t len;
    size_t cap;
    int oom;
};

void ft_buf_init(struct ft_buf *b);
void ft_buf_free(struct ft_buf *b);

/* Makes room for n more bytes; returns 0 or -ENOMEM (and sets oom). */
int ft_buf_grow(struct ft_buf *b, size_t n);

static inline int
ft_buf_reserve(struct ft_buf *b, size_t n)
{
    if (b->cap - b->len >= n) {
        return 0;
    }
    return ft_buf_grow(b, n);
}

static inline void
ft_buf_put(struct ft_buf *b, const void *s, size_t n)
{
    if (ft_buf_reserve(b, n) == 0) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

static inline void
ft_buf_puts(struct ft_buf *b, const char *s)
{
    ft_buf_put(b, s, strlen(s));
}

static inline void
ft_buf_putc(struct ft_buf *b, char c)
{
    if (ft_buf_reserve(b, 1) == 0) {
        b->p[b->len++] = c;
    }
}

static inline void
ft_buf_put_u64(struct ft_buf *b, uint64_t v)
{
    if (ft_buf_reserve(b, 20) == 0) {
        b->len += ft_fmt_u64(b->p + b->len, v);
    }
}

void ft_buf_put_i64(struct ft_buf *b, int64_t v);

/* Writes v / 1000 with exactly three decimals ("12.345"), for ns -> us and us -> ms. */
void ft_buf_put_milli(struct ft_buf *b, uint64_t v);

/* printf-style append (slow path: headers, errors). */
void ft_buf_printf(struct ft_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
