/* values.c - value records of the stream as the JSON texts a call carries. */
#define _GNU_SOURCE
#include "values.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "jsonval.h"
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
        n->heap_texts = 1;
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
    ft_values_drop(&n->exc_site);
    ft_values_drop(&n->locals);
    ft_values_drop(&n->mem_before);
    ft_values_drop(&n->mem_after);
    n->inl_used = 0;
    n->nints = 0;
    n->has_result_int = 0;
    n->left_at = 0;
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

/* An int sent as 8 bytes (FT_ARG_INT, ARGS_INTS): a JSON number, or past 2^53 (where
 * JSON readers lose digits) a described value. */
static void
put_int_text(struct ft_buf *b, const uint8_t *p)
{
    int64_t x;

    memcpy(&x, p, 8);
    if (x > FT_JSON_INT_MAX || x < -FT_JSON_INT_MAX) {
        ft_buf_puts(b, "{\"type\": \"int\", \"repr\": \"");
        ft_buf_put_i64(b, x);
        ft_buf_puts(b, "\"}");
        return;
    }
    ft_buf_put_i64(b, x);
}

/* A value's text: flagged FT_ARG_JSON (or a RESULT_JSON), checked and copied, or when
 * malformed described as {"repr": the bytes} and counted; unflagged text (a stream before
 * 1.8) is a rendering, described as {"repr": text}. Returns 1 when malformed, else 0. */
static int
put_value(struct ft_buf *b, const uint8_t *s, size_t n, int json)
{
    if (json && ft_jsonval_check((const char *)s, n)) {
        ft_buf_put(b, s, n);
        return 0;
    }
    ft_buf_puts(b, "{\"repr\": ");
    ft_json_put_str(b, (const char *)s, n);
    ft_buf_putc(b, '}');
    return json;
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
    int bad = 0, err;

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
        uint32_t json = vlen & FT_ARG_JSON;
        vlen &= ~FT_ARG_JSON;
        if (vlen > len - pos) {
            return FT_EBADRECORD;
        }
        bad += put_value(b, p + pos, vlen, json != 0);
        pos += vlen;
        i++;
    }
    ft_buf_putc(b, '}');
    err = keep(b, n, &n->args);
    return err != 0 ? err : bad;
}

int
ft_values_args_ints_text(struct ft_buf *b, struct ft_call *n, const uint8_t *p, size_t len)
{
    if (len % 8 != 0) {
        return FT_EBADRECORD;
    }
    n->instance = 0;
    if (len / 8 <= FT_CALL_INTS && len / 8 <= n->code->nparams && len > 0) {
        for (size_t i = 0; i < len / 8; i++) {
            memcpy(&n->ints[i], p + 8 * i, 8);
        }
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
ft_values_result(struct ft_buf *b, struct ft_call *n, const uint8_t *p, size_t len, int json)
{
    int bad, err;

    n->has_result_int = 0;
    b->len = 0;
    bad = put_value(b, p, len, json);
    err = keep(b, n, &n->result);
    return err != 0 ? err : bad;
}

/* Whether a value's JSON (at v, vlen bytes of b) is what argument i was at the call,
 * from the call's args JSON. */
static int
same_as_entry(const struct ft_call *n, uint32_t i, const struct ft_buf *b, size_t v)
{
    size_t klen;

    if (n->args.p == NULL || i >= n->code->nparams || b->oom) {
        return 0;
    }
    /* The key is written just before the value (put_after_member). */
    klen = n->code->keylens[i];
    return memmem(n->args.p, n->args.len, b->p + v - klen, b->len - v + klen) != NULL;
}

int
ft_values_after(struct ft_buf *b, struct ft_call *n, const uint8_t *p, size_t len)
{
    size_t pos = 0;
    int any = 0, bad = 0, err;

    b->len = 0;
    ft_buf_putc(b, '{');
    while (pos < len) {
        uint32_t idx, vlen, json;
        if (len - pos < 8) {
            return FT_EBADRECORD;
        }
        memcpy(&idx, p + pos, 4);
        memcpy(&vlen, p + pos + 4, 4);
        pos += 8;
        json = vlen & FT_ARG_JSON;
        vlen &= ~FT_ARG_JSON;
        if (vlen > len - pos) {
            return FT_EBADRECORD;
        }
        if (idx < n->code->nparams) {
            /* The member, taken back when it is what the call had. */
            size_t at = b->len, v;
            if (any) {
                ft_buf_putc(b, ',');
            }
            ft_buf_put(b, n->code->keys[idx], n->code->keylens[idx]);
            v = b->len;
            bad += put_value(b, p + pos, vlen, json != 0);
            if (same_as_entry(n, idx, b, v)) {
                b->len = at;
            } else {
                any++;
            }
        }
        pos += vlen;
    }
    ft_buf_putc(b, '}');
    err = any ? keep(b, n, &n->after) : 0;
    return err != 0 ? err : bad;
}

/* A u32-length-prefixed text at p[*pos..len): its bytes and length, or NULL (malformed). */
static const char *
take_text(const uint8_t *p, size_t len, size_t *pos, uint32_t *n)
{
    const char *s;

    if (len - *pos < 4) {
        return NULL;
    }
    memcpy(n, p + *pos, 4);
    *pos += 4;
    if (*n > len - *pos) {
        return NULL;
    }
    s = (const char *)p + *pos;
    *pos += *n;
    return s;
}

/* "type","module","message" fields (the keys after the first prefixed by a comma). */
static int
put_exc_texts(struct ft_buf *b, const uint8_t *p, size_t len, size_t *pos)
{
    static const char *keys[3] = {"\"type\":", ",\"module\":", ",\"message\":"};

    for (int i = 0; i < 3; i++) {
        uint32_t n;
        const char *s = take_text(p, len, pos, &n);
        if (s == NULL) {
            return FT_EBADRECORD;
        }
        ft_buf_puts(b, keys[i]);
        ft_json_put_str(b, s, n);
    }
    return 0;
}

/* One FT_EXC_CAUSE field: u8 via, u32 line, type/module/message/file. */
static int
put_cause(struct ft_buf *b, const uint8_t *p, size_t len)
{
    size_t pos = 5;
    uint32_t line, n;
    const char *file;

    if (len < 5) {
        return FT_EBADRECORD;
    }
    memcpy(&line, p + 1, 4);
    ft_buf_putc(b, '{');
    if (put_exc_texts(b, p, len, &pos) != 0 || (file = take_text(p, len, &pos, &n)) == NULL) {
        return FT_EBADRECORD;
    }
    ft_buf_puts(b, ",\"file\":");
    if (n > 0) {
        ft_json_put_str(b, file, n);
    } else {
        ft_buf_puts(b, "null");
    }
    ft_buf_puts(b, ",\"line\":");
    if (line > 0) {
        ft_buf_put_u64(b, line);
    } else {
        ft_buf_puts(b, "null");
    }
    ft_buf_puts(b, p[0] == 1 ? ",\"via\":\"cause\"}" : ",\"via\":\"context\"}");
    return 0;
}

/* The optional fields after the three texts (wire 1.7), as JSON members of the call,
 * each after a comma. */
static int
put_exc_fields(struct ft_buf *b, const uint8_t *p, size_t len, size_t pos)
{
    const char *file = NULL;
    uint32_t file_len = 0, line = 0, ncause = 0;

    while (pos < len) {
        uint32_t tag, n;
        if (len - pos < 8) {
            return FT_EBADRECORD;
        }
        memcpy(&tag, p + pos, 4);
        memcpy(&n, p + pos + 4, 4);
        pos += 8;
        if (n > len - pos) {
            return FT_EBADRECORD;
        }
        if (tag == FT_EXC_RAISE_FILE) {
            file = (const char *)p + pos;
            file_len = n;
        } else if (tag == FT_EXC_RAISE_LINE && n == 4) {
            memcpy(&line, p + pos, 4);
        } else if (tag == FT_EXC_CAUSE) {
            ft_buf_puts(b, ncause++ == 0 ? ",\"cause\":[" : ",");
            if (put_cause(b, p + pos, n) != 0) {
                return FT_EBADRECORD;
            }
        }
        pos += n;
    }
    if (ncause > 0) {
        ft_buf_putc(b, ']');
    }
    if (file != NULL && line > 0) {
        ft_buf_puts(b, ",\"raise\":{\"file\":");
        ft_json_put_str(b, file, file_len);
        ft_buf_puts(b, ",\"line\":");
        ft_buf_put_u64(b, line);
        ft_buf_putc(b, '}');
    }
    return 0;
}

int
ft_values_exc(struct ft_buf *b, size_t *exc_len, const uint8_t *p, size_t len)
{
    size_t pos = 0;

    b->len = 0;
    ft_buf_putc(b, '{');
    if (put_exc_texts(b, p, len, &pos) != 0) {
        return FT_EBADRECORD;
    }
    ft_buf_putc(b, '}');
    *exc_len = b->len;
    if (put_exc_fields(b, p, len, pos) != 0) {
        return FT_EBADRECORD;
    }
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
ft_values_locals(struct ft_buf *b, struct ft_call *n, const uint8_t *p, size_t len)
{
    size_t pos = 4;
    uint32_t count;
    int bad = 0, err;

    if (len < 4) {
        return FT_EBADRECORD;
    }
    memcpy(&count, p, 4);
    b->len = 0;
    ft_buf_putc(b, '{');
    for (uint32_t i = 0; i < count; i++) {
        uint32_t nlen, vlen;
        const char *name = take_text(p, len, &pos, &nlen);
        if (name == NULL || len - pos < 4) {
            return FT_EBADRECORD;
        }
        if (i > 0) {
            ft_buf_putc(b, ',');
        }
        ft_json_put_str(b, name, nlen);
        ft_buf_putc(b, ':');
        memcpy(&vlen, p + pos, 4);
        if (vlen & FT_ARG_INT) {
            if (vlen != (FT_ARG_INT | 8) || len - pos < 12) {
                return FT_EBADRECORD;
            }
            put_int_text(b, p + pos + 4);
            pos += 12;
            continue;
        }
        uint32_t json = vlen & FT_ARG_JSON;
        vlen &= ~FT_ARG_JSON;
        pos += 4;
        if (vlen > len - pos) {
            return FT_EBADRECORD;
        }
        bad += put_value(b, p + pos, vlen, json != 0);
        pos += vlen;
    }
    if (pos != len) {
        return FT_EBADRECORD;
    }
    ft_buf_putc(b, '}');
    err = keep(b, n, &n->locals);
    return err != 0 ? err : bad;
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
