/* codetab.c - code definitions with their precomputed JSON fragments. */
#include "codetab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "json.h"

void
ft_codetab_init(struct ft_codetab *t)
{
    memset(t, 0, sizeof(*t));
}

static void
code_free(struct ft_code *c)
{
    if (c != NULL) {
        for (uint32_t i = 0; i < c->nparams && c->keys != NULL; i++) {
            free(c->keys[i]);
        }
        free(c->keys);
        free(c->args_head);
        free(c->keylens);
        free(c->module);
        free(c->name);
        free(c->file);
        free(c->frag);
        free(c->node_frag);
        free(c->line_frag);
        free(c);
    }
}

void
ft_codetab_free(struct ft_codetab *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        code_free(t->v[i]);
    }
    free(t->v);
    memset(t, 0, sizeof(*t));
}

static char *
dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int
build_frag(struct ft_code *c)
{
    static const char start_key[] = ",\"startMicros\":";
    struct ft_buf b;

    ft_buf_init(&b);
    ft_buf_puts(&b, "\"module\":");
    ft_json_put_cstr(&b, c->module);
    ft_buf_puts(&b, ",\"function\":");
    ft_json_put_cstr(&b, c->name);
    c->name_len = b.len;
    ft_buf_puts(&b, ",\"file\":");
    ft_json_put_cstr(&b, c->file);
    ft_buf_puts(&b, ",\"line\":");
    ft_buf_put_u64(&b, c->line);
    if (c->flags & FT_DEF_GENERATED) {
        ft_buf_puts(&b, ",\"generated\":true"); /* exec'd or compiled text (wire 1.7) */
    }
    ft_buf_reserve(&b, FT_TEXT_PAD);
    if (b.oom) {
        ft_buf_free(&b);
        return -ENOMEM;
    }
    c->frag = b.p;
    c->frag_len = b.len;
    /* The node's: the same fragment between its id and its start time. */
    c->node_frag_len = 1 + c->frag_len + sizeof(start_key) - 1;
    if ((c->node_frag = malloc(c->node_frag_len + FT_CODE_NODE_PAD)) == NULL) {
        return -ENOMEM;
    }
    c->node_frag[0] = ',';
    memcpy(c->node_frag + 1, c->frag, c->frag_len);
    memcpy(c->node_frag + 1 + c->frag_len, start_key, sizeof(start_key) - 1);
    return 0;
}

static int
ensure_cap(struct ft_codetab *t, uint64_t id)
{
    size_t cap = t->cap ? t->cap : 1024;
    struct ft_code **nv;

    if (id < t->cap) {
        return 0;
    }
    while (cap <= id) {
        cap *= 2;
    }
    nv = realloc(t->v, cap * sizeof(struct ft_code *));
    if (nv == NULL) {
        return -ENOMEM;
    }
    memset(nv + t->cap, 0, (cap - t->cap) * sizeof(struct ft_code *));
    t->v = nv;
    t->cap = cap;
    return 0;
}

/* ,"args":{ and the first key: where a line or node with int arguments starts them. */
static int
build_args_head(struct ft_code *c, const char *key, size_t len)
{
    static const char open[] = ",\"args\":{";

    c->args_head = malloc(sizeof(open) - 1 + len + FT_TEXT_PAD);
    if (c->args_head == NULL) {
        return -ENOMEM;
    }
    memcpy(c->args_head, open, sizeof(open) - 1);
    memcpy(c->args_head + sizeof(open) - 1, key, len);
    c->args_head_len = sizeof(open) - 1 + len;
    return 0;
}

static int
build_keys(struct ft_code *c, const char *params, size_t len)
{
    size_t i = 0, k = 0;

    if (len == 0) {
        return 0;
    }
    c->nparams = 1;
    for (size_t j = 0; j < len; j++) {
        c->nparams += params[j] == '\0';
    }
    c->keys = calloc(c->nparams, sizeof(char *));
    c->keylens = calloc(c->nparams, sizeof(size_t));
    if (c->keys == NULL || c->keylens == NULL) {
        return -ENOMEM;
    }
    while (i <= len && k < c->nparams) {
        size_t n = strnlen(params + i, len - i);
        struct ft_buf b;
        ft_buf_init(&b);
        ft_json_put_str(&b, params + i, n);
        ft_buf_putc(&b, ':');
        ft_buf_reserve(&b, FT_TEXT_PAD);
        if (b.oom) {
            ft_buf_free(&b);
            return -ENOMEM;
        }
        c->keys[k] = b.p;
        c->keylens[k] = b.len;
        if (k == 0 && build_args_head(c, b.p, b.len) != 0) {
            return -ENOMEM;
        }
        c->keys_room += b.len + 48; /* the key and an int's text: at most 47 bytes */
        k++;
        i += n + 1;
    }
    return 0;
}

int
ft_codetab_add(struct ft_codetab *t, const struct ft_def_view *d)
{
    struct ft_code *c;

    if (d->id == 0 || d->id > FT_CODE_ID_MAX || d->id > t->count + FT_CODE_ID_SLACK) {
        return FT_EBADFRAME;
    }
    if (ensure_cap(t, d->id) != 0) {
        return -ENOMEM;
    }
    /* An id is defined once per stream: calls still open point at their definition, so
     * a second one would pull it from under them (found by the fuzzer). */
    if (t->v[d->id] != NULL) {
        return FT_EBADFRAME;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return -ENOMEM;
    }
    c->id = d->id;
    c->flags = d->flags;
    c->line = d->line;
    c->module = dup_n(d->module, d->module_len);
    c->name = dup_n(d->name, d->name_len);
    c->file = dup_n(d->file, d->file_len);
    if (c->module == NULL || c->name == NULL || c->file == NULL || build_frag(c) != 0 ||
        build_keys(c, d->params, d->params_len) != 0) {
        code_free(c);
        return -ENOMEM;
    }
    t->count++;
    t->v[d->id] = c;
    return 0;
}
