/* spans.c - the shallowest calls of a unit, a bounded set (spans.h). */
#include "spans.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Whether a is kept before b: shallower, then earlier, then older. */
static int
better(const struct ft_span *a, const struct ft_span *b)
{
    if (a->depth != b->depth) {
        return a->depth < b->depth;
    }
    if (a->start != b->start) {
        return a->start < b->start;
    }
    return a->id < b->id;
}

static void
swap(struct ft_span *a, struct ft_span *b)
{
    struct ft_span t = *a;

    *a = *b;
    *b = t;
}

/* The heap's root is the worst span kept: the first to give way. */
static void
sift_up(struct ft_span *v, size_t i)
{
    while (i > 0 && better(&v[(i - 1) / 2], &v[i])) {
        swap(&v[(i - 1) / 2], &v[i]);
        i = (i - 1) / 2;
    }
}

static void
sift_down(struct ft_span *v, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, worst = i;
        if (l < n && better(&v[worst], &v[l])) {
            worst = l;
        }
        if (r < n && better(&v[worst], &v[r])) {
            worst = r;
        }
        if (worst == i) {
            return;
        }
        swap(&v[i], &v[worst]);
        i = worst;
    }
}

void
ft_spans_init(struct ft_spans *s, size_t limit)
{
    memset(s, 0, sizeof(*s));
    s->limit = limit;
}

int
ft_spans_offer(struct ft_spans *s, const struct ft_span *sp)
{
    struct ft_span copy = *sp;

    s->offered++;
    if (s->limit == 0 || (s->n == s->limit && !better(sp, &s->v[0]))) {
        return 0;
    }
    if (s->v == NULL && (s->v = calloc(s->limit, sizeof(*s->v))) == NULL) {
        return -ENOMEM;
    }
    copy.exc = NULL;
    if (sp->exc != NULL && (copy.exc = strdup(sp->exc)) == NULL) {
        return -ENOMEM;
    }
    if (s->n == s->limit) {
        free(s->v[0].exc); /* the worst gives way */
        s->v[0] = copy;
        sift_down(s->v, s->n, 0);
    } else {
        s->v[s->n] = copy;
        sift_up(s->v, s->n++);
    }
    return 0;
}

static int
by_start(const void *a, const void *b)
{
    const struct ft_span *x = a, *y = b;

    if (x->start != y->start) {
        return x->start < y->start ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

void
ft_spans_sort(struct ft_spans *s)
{
    if (s->n > 1) {
        qsort(s->v, s->n, sizeof(*s->v), by_start);
    }
}

void
ft_spans_free(struct ft_spans *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].exc);
    }
    free(s->v);
    memset(s, 0, sizeof(*s));
}
