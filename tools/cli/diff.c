/* diff.c - two executions aligned call by call (diff.h). */
#include "diff.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

static int
side_push(struct ft_diff_side *s, struct ft_node *n, uint32_t depth)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        struct ft_node **c = realloc((void *)s->call, cap * sizeof(struct ft_node *));
        uint32_t *d;
        if (c == NULL) {
            return -ENOMEM;
        }
        s->call = c;
        d = realloc(s->depth, cap * sizeof(*d));
        if (d == NULL) {
            return -ENOMEM;
        }
        s->depth = d;
        s->cap = cap;
    }
    s->call[s->n] = n;
    s->depth[s->n++] = depth;
    return 0;
}

int
ft_diff_side_add(struct ft_diff_side *s, struct ft_node *root)
{
    struct ft_node *n = root;
    uint32_t depth = 0;

    while (n != NULL) {
        if (side_push(s, n, depth) != 0) {
            return -ENOMEM;
        }
        if (n->first_child != NULL) {
            n = n->first_child;
            depth++;
            continue;
        }
        while (n != root && n->next == NULL) {
            n = n->parent;
            depth--;
        }
        n = n != root ? n->next : NULL;
    }
    return 0;
}

char *
ft_diff_mask(const char *s, char *out, size_t cap)
{
    size_t o = 0;

    while (*s && o + 4 < cap) {
        size_t k = 0;
        if (s[0] == '0' && s[1] == 'x') {
            while (isxdigit((unsigned char)s[2 + k])) {
                k++;
            }
        }
        if (k >= 6) {
            memcpy(out + o, "0x\xe2\x80\xa6", 5); /* 0x… */
            o += 5;
            s += 2 + k;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
    return out;
}

static int
same_text(const char *a, const char *b)
{
    char ma[512], mb[512];

    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (strcmp(a, b) == 0) {
        return 1;
    }
    /* Long texts compare masked on their first 500 bytes and whole when unmasked. */
    return strlen(a) < 500 && strlen(b) < 500 &&
           strcmp(ft_diff_mask(a, ma, sizeof(ma)), ft_diff_mask(b, mb, sizeof(mb))) == 0;
}

static int
same_args(const struct ft_arg *a, uint32_t na, const struct ft_arg *b, uint32_t nb)
{
    if (na != nb) {
        return 0;
    }
    for (uint32_t i = 0; i < na; i++) {
        if (!same_text(a[i].name, b[i].name) || !same_text(a[i].value, b[i].value)) {
            return 0;
        }
    }
    return 1;
}

unsigned
ft_diff_values(const struct ft_node *a, const struct ft_node *b)
{
    const struct ft_node_extra *xa = a->x, *xb = b->x;
    static const struct ft_node_extra none = {.active_us = -1};
    unsigned what = 0;

    xa = xa ? xa : &none;
    xb = xb ? xb : &none;
    if (xa->have_args != xb->have_args || !same_args(xa->args, xa->nargs, xb->args, xb->nargs)) {
        what |= FT_DIFF_ARGS;
    }
    if (!same_text(xa->result, xb->result)) {
        what |= FT_DIFF_RESULT;
    }
    if (!same_text(a->exc_type, b->exc_type) || !same_text(a->exc_msg, b->exc_msg)) {
        what |= FT_DIFF_EXCEPTION;
    }
    if (!same_args(xa->after, xa->nafter, xb->after, xb->nafter)) {
        what |= FT_DIFF_AFTER;
    }
    if ((a->incomplete == NULL) != (b->incomplete == NULL)) {
        what |= FT_DIFF_UNFINISHED;
    }
    return what;
}

static int
same_call(const struct ft_diff_side *a, size_t i, const struct ft_diff_side *b, size_t j)
{
    const struct ft_node *x = a->call[i], *y = b->call[j];

    return a->depth[i] == b->depth[j] && same_text(x->function, y->function) &&
           same_text(x->module, y->module);
}

/* The calls of the subtree at position i: the call and everything under it. */
static size_t
subtree(const struct ft_diff_side *s, size_t i)
{
    size_t k = i + 1;

    while (k < s->n && s->depth[k] > s->depth[i]) {
        k++;
    }
    return k - i;
}

static int
push_op(struct ft_diff *d, enum ft_diff_kind kind, size_t a, size_t b, size_t n, unsigned what)
{
    if (kind == FT_DIFF_SAME && d->nops > 0 && d->ops[d->nops - 1].kind == FT_DIFF_SAME) {
        d->ops[d->nops - 1].n += n; /* runs of equal calls are one op */
        d->same += n;
        return 0;
    }
    if (d->nops == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        struct ft_diff_op *o = realloc(d->ops, cap * sizeof(*o));
        if (o == NULL) {
            return -ENOMEM;
        }
        d->ops = o;
        d->cap = cap;
    }
    d->ops[d->nops++] = (struct ft_diff_op){kind, a, b, n, what};
    if (kind == FT_DIFF_SAME) {
        d->same += n;
        return 0;
    }
    d->first = d->divergences++ == 0 ? d->nops - 1 : d->first;
    if (d->parting == SIZE_MAX && (kind != FT_DIFF_CHANGED || (what & FT_DIFF_PARTING) != 0)) {
        d->parting = d->nops - 1;
    }
    return 0;
}

/* Both sides at a call of another function: the one whose next subtree matches the
 * other's call is the one with a call too many; else each has a call the other lacks. */
static int
resync(const struct ft_diff_side *a, size_t *i, const struct ft_diff_side *b, size_t *j,
       struct ft_diff *d)
{
    size_t sa = subtree(a, *i), sb = subtree(b, *j);
    int rc;

    if (*i + sa < a->n && same_call(a, *i + sa, b, *j)) {
        rc = push_op(d, FT_DIFF_ONLY_A, *i, *j, sa, 0);
        *i += sa;
    } else if (*j + sb < b->n && same_call(a, *i, b, *j + sb)) {
        rc = push_op(d, FT_DIFF_ONLY_B, *i, *j, sb, 0);
        *j += sb;
    } else {
        rc = push_op(d, FT_DIFF_ONLY_A, *i, *j, sa, 0);
        rc = rc != 0 ? rc : push_op(d, FT_DIFF_ONLY_B, *i + sa, *j, sb, 0);
        *i += sa;
        *j += sb;
    }
    return rc;
}

int
ft_diff_align(const struct ft_diff_side *a, const struct ft_diff_side *b, struct ft_diff *d)
{
    size_t i = 0, j = 0;
    int rc = 0, roots = d->roots_by_exception;

    memset(d, 0, sizeof(*d));
    d->roots_by_exception = roots;
    d->parting = SIZE_MAX;
    while (rc == 0 && i < a->n && j < b->n) {
        if (same_call(a, i, b, j)) {
            unsigned what = ft_diff_values(a->call[i], b->call[j]);
            if (roots && a->depth[i] == 0) {
                what &= FT_DIFF_EXCEPTION | FT_DIFF_UNFINISHED;
            }
            rc = push_op(d, what ? FT_DIFF_CHANGED : FT_DIFF_SAME, i, j, 1, what);
            i++;
            j++;
        } else if (a->depth[i] > b->depth[j]) {
            /* a went deeper where b returned: a's extra calls end its subtree. */
            size_t n = subtree(a, i);
            rc = push_op(d, FT_DIFF_ONLY_A, i, j, n, 0);
            i += n;
        } else if (b->depth[j] > a->depth[i]) {
            size_t n = subtree(b, j);
            rc = push_op(d, FT_DIFF_ONLY_B, i, j, n, 0);
            j += n;
        } else {
            rc = resync(a, &i, b, &j, d);
        }
    }
    if (rc == 0 && i < a->n) {
        rc = push_op(d, FT_DIFF_ONLY_A, i, j, a->n - i, 0);
    }
    if (rc == 0 && j < b->n) {
        rc = push_op(d, FT_DIFF_ONLY_B, a->n, j, b->n - j, 0);
    }
    if (d->divergences == 0) {
        d->first = d->nops;
    }
    if (d->parting == SIZE_MAX) {
        d->parting = d->nops;
    }
    return rc;
}

void
ft_diff_side_free(struct ft_diff_side *s)
{
    free((void *)s->call);
    free(s->depth);
    memset(s, 0, sizeof(*s));
}

void
ft_diff_free(struct ft_diff *d)
{
    free(d->ops);
    memset(d, 0, sizeof(*d));
}
