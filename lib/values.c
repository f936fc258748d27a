/* values.c - value records of the stream as the JSON texts a call carries. */
#define _GNU_SOURCE
#include "values.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "wire.h"

int
ft_values_set(struct ft_call *n, struct ft_text *slot, const char *s, size_t len)
{
    char *p;
    int heap = 0;

    if (len >= UINT32_MAX) {
        return -ENOMEM;
    }
    if (len < sizeof(n->inl) - n->inl_used) {
        p = n->inl + n->inl_used;
        n->inl_used = (uint16_t)(n->inl_used + len + 1);
    } else if ((p = malloc(len + 1 + FT_TEXT_PAD)) != NULL) {
        heap = 1;
    } else {
        return -ENOMEM;
    }
    memcpy(p, s, len);
    p[len] = '\0';
    if (slot->heap) {
        free(slot->p);
    }
    slot->p = p;
    slot->len = (uint32_t)len;
    slot->heap = (uint8_t)heap;
    return 0;
}

void
ft_values_drop(struct ft_text *t)
{
    if (t->heap) {
        free(t->p);
    }
    memset(t, 0, sizeof(*t));
}

void
ft_values_clear(struct ft_call *n)
{
    ft_values_drop(&n->args);
    ft_values_drop(&n->result);
    ft_values_drop(&n->after);
    ft_values_drop(&n->exc);
    ft_values_drop(&n->mem_before);
    ft_values_drop(&n->mem_after);
    n->inl_used = 0;
    n->nints = 0;
    n->has_result_int = 0;
}

/* scratch's text into slot. */
static int
keep(struct ft_buf *b, struct ft_call *n, struct ft_text *slot)
{
    if (b->oom) {
        b->oom = 0;
        b->len = 0;
        return -ENOMEM;
    }
    return ft_values_set(n, slot, b->p, b->len);
}

/* An int sent as 8 bytes (FT_ARG_INT, RESULT_INT), as the JSON string repr() gives. */
static void
put_int_text(struct ft_buf *b, const uint8_t *p)
{
    int64_t x;

    memcpy(&x, p, 8);
    ft_buf_putc(b, '"');
    ft_buf_put_i64(b, x);
    ft_buf_putc(b, '"');
}

/* ,"name": of the i-th argument in an args object ("argN" past the definition's names). */
static void
put_arg_key(struct ft_buf *b, const struct ft_call *n, uint32_t i)
{
    if (i > 0) {
        ft_buf_putc(b, ',');
    }
    if (i < n->code->nparams) {
        ft_buf_put(b, n->code->keys[i], n->code->keylens[i]);
    } else {
        ft_buf_printf(b, "\"arg%u\":", i);
    }
}

int
ft_values_args(struct ft_buf *b, struct ft_call *n, const uint8_t *p, size_t len)
{
    size_t pos = 8;
    uint32_t i = 0;

    if (len < 8) {
        return FT_EBADRECORD;
    }
    n->nints = 0;
    memcpy(&n->instance, p, 8);
    if (len == 8) {
        return 0; /* a method with no parameter but self: its instance only */
    }
    b->len = 0;
    ft_buf_putc(b, '{');
    while (pos < len) {
        uint32_t vlen;
        if (len - pos < 4) {
            return FT_EBADRECORD;
        }
        memcpy(&vlen, p + pos, 4);
        pos += 4;
        put_arg_key(b, n, i);
        if (vlen & FT_ARG_INT) {
            if (vlen != (FT_ARG_INT | 8) || len - pos < 8) {
                return FT_EBADRECORD;
            }
            put_int_text(b, p + pos);
            pos += 8;
            i++;
            continue;
        }
        if (vlen > len - pos) {
            return FT_EBADRECORD;
        }
        ft_json_put_str(b, (const char *)p + pos, vlen);
        pos += vlen;
        i++;
    }
    ft_buf_putc(b, '}');
    return keep(b, n, &n->args);
}

int
ft_values_args_ints(struct ft_buf *b, struct ft_call *n, const uint8_t *p, size_t len)
{
    if (len % 8 != 0) {
        return FT_EBADRECORD;
    }
    n->instance = 0;
    if (len / 8 <= FT_CALL_INTS && len / 8 <= n->code->nparams && len > 0) {
        memcpy(n->ints, p, len);
        n->nints = (uint8_t)(len / 8);
        ft_values_drop(&n->args);
        return 0;
    }
    b->len = 0;
    ft_buf_putc(b, '{');
    for (uint32_t i = 0; i < len / 8; i++) {
        put_arg_key(b, n, i);
        put_int_text(b, p + 8 * (size_t)i);
    }
    ft_buf_putc(b, '}');
    return keep(b, n, &n->args);
}

int
ft_values_result(struct ft_buf *b, struct ft_call *n, const uint8_t *p, size_t len)
{
    n->has_result_int = 0;
    b->len = 0;
    ft_json_put_str(b, (const char *)p, len);
    return keep(b, n, &n->result);
}

int
ft_values_result_int(struct ft_call *n, const uint8_t *p, size_t len)
{
    if (len != 8) {
        return FT_EBADRECORD;
    }
    memcpy(&n->result_int, p, 8);
    n->has_result_int = 1;
    ft_values_drop(&n->result);
    return 0;
}

/* Whether text is what argument i was at the call, from the call's args JSON. */
static int
same_as_entry(const struct ft_call *n, uint32_t i, const char *text, size_t len)
{
    struct ft_buf b;
    int same;

    if (n->args.p == NULL || i >= n->code->nparams) {
        return 0;
    }
    ft_buf_init(&b);
    ft_buf_put(&b, n->code->keys[i], n->code->keylens[i]);
    ft_json_put_str(&b, text, len);
    same = !b.oom && memmem(n->args.p, n->args.len, b.p, b.len) != NULL;
    ft_buf_free(&b);
    return same;
}

int
ft_values_after(struct ft_buf *b, struct ft_call *n, const uint8_t *p, size_t len)
{
    size_t pos = 0;
    int any = 0;

    b->len = 0;
    ft_buf_putc(b, '{');
    while (pos < len) {
        uint32_t idx, vlen;
        if (len - pos < 8) {
            return FT_EBADRECORD;
        }
        memcpy(&idx, p + pos, 4);
        memcpy(&vlen, p + pos + 4, 4);
        pos += 8;
        if (vlen > len - pos) {
            return FT_EBADRECORD;
        }
        if (!same_as_entry(n, idx, (const char *)p + pos, vlen) && idx < n->code->nparams) {
            if (any++) {
                ft_buf_putc(b, ',');
            }
            ft_buf_put(b, n->code->keys[idx], n->code->keylens[idx]);
            ft_json_put_str(b, (const char *)p + pos, vlen);
        }
        pos += vlen;
    }
    ft_buf_putc(b, '}');
    return any ? keep(b, n, &n->after) : 0;
}

int
ft_values_exc(struct ft_buf *b, const uint8_t *p, size_t len)
{
    static const char *keys[3] = {"{\"type\":", ",\"module\":", ",\"message\":"};
    size_t pos = 0;

    b->len = 0;
    for (int i = 0; i < 3; i++) {
        uint32_t n;
        if (len - pos < 4) {
            return FT_EBADRECORD;
        }
        memcpy(&n, p + pos, 4);
        pos += 4;
        if (n > len - pos) {
            return FT_EBADRECORD;
        }
        ft_buf_puts(b, keys[i]);
        ft_json_put_str(b, (const char *)p + pos, n);
        pos += n;
    }
    ft_buf_putc(b, '}');
    ft_buf_putc(b, '\0');
    if (b->oom) {
        b->oom = 0;
        b->len = 0;
        return -ENOMEM;
    }
    b->len--; /* the NUL is not part of the text */
    return 0;
}

int
ft_values_memory(struct ft_buf *b, struct ft_call *n, struct ft_text *slot, const uint8_t *p,
                 size_t len)
{
    static const char *keys[3] = {"{\"rss\":", ",\"tracemalloc\":", ",\"peak\":"};
    uint64_t m[3];

    if (len != sizeof(m)) {
        return FT_EBADRECORD;
    }
    memcpy(m, p, sizeof(m));
    b->len = 0;
    for (int i = 0; i < 3; i++) {
        ft_buf_puts(b, keys[i]);
        if (m[i] == UINT64_MAX) {
            ft_buf_puts(b, "null");
        } else {
            ft_buf_put_u64(b, m[i]);
        }
    }
    ft_buf_putc(b, '}');
    return keep(b, n, slot);
}
