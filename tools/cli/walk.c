/* walk.c - pre-order walk of a thread's calls with times clamped to nest exactly. */
#include "walk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
ft_walk_init(struct ft_walk *w, struct ft_node *first)
{
    memset(w, 0, sizeof(*w));
    w->next = first;
    w->top_last_end_ns = INT64_MIN;
}

/* Opens the level of a call's children: they start after it did and end before it. */
static int
push(struct ft_walk *w, int64_t start_ns, int64_t end_ns)
{
    if (w->depth == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct ft_walk_level *ns = realloc(w->stack, cap * sizeof(*ns));
        if (ns == NULL) {
            w->oom = 1;
            return -1;
        }
        w->stack = ns;
        w->cap = cap;
    }
    w->stack[w->depth].end_ns = end_ns;
    w->stack[w->depth].last_end_ns = start_ns;
    w->depth++;
    return 0;
}

int
ft_walk_next(struct ft_walk *w, struct ft_walk_call *c)
{
    struct ft_node *n = w->next;
    int64_t start, end, *last;

    if (n == NULL || w->oom) {
        return 0;
    }
    start = llround(n->start_us * 1000.0);
    end = start + llround(n->dur_us * 1000.0);
    /* Inside the parent, after the previous sibling (top-level calls: after the
     * previous top-level call). */
    last = w->depth > 0 ? &w->stack[w->depth - 1].last_end_ns : &w->top_last_end_ns;
    if (start < *last) {
        start = *last;
    }
    if (w->depth > 0 && start > w->stack[w->depth - 1].end_ns) {
        start = w->stack[w->depth - 1].end_ns;
    }
    if (w->depth > 0 && end > w->stack[w->depth - 1].end_ns) {
        end = w->stack[w->depth - 1].end_ns;
    }
    if (end < start) {
        end = start;
    }
    *last = end;
    c->n = n;
    c->depth = w->depth;
    c->start_ns = start;
    c->end_ns = end;
    if (n->first_child != NULL) {
        push(w, start, end);
        w->next = n->first_child;
        return !w->oom;
    }
    /* Up to the nearest ancestor with a next sibling, closing each level left. */
    while (n != NULL && n->next == NULL) {
        n = n->parent;
        w->depth -= w->depth > 0;
    }
    w->next = n != NULL ? n->next : NULL;
    return 1;
}

void
ft_walk_close(struct ft_walk *w)
{
    free(w->stack);
    memset(w, 0, sizeof(*w));
}
