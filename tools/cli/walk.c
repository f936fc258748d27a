/* walk.c - pre-order walk of a thread's calls, on lanes, with times that nest exactly. */
#include "walk.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How far a call may cross its parent or its previous sibling and still be taken for
 * the rounding of three-decimal microseconds (or a clock's jitter), not for a call that
 * ran concurrently: a microsecond. */
#define OVERLAP_TOLERANCE_NS 1000

void
ft_walk_init(struct ft_walk *w, struct ft_node *first)
{
    memset(w, 0, sizeof(*w));
    w->next = first;
    w->top_last_end_ns = INT64_MIN / 2; /* far below any time, with room to subtract */
    w->top_sib_end_ns = INT64_MIN / 2;
    w->nlanes = 1;
}

int
ft_walk_suspends(const struct ft_node *n)
{
    return n->x != NULL && (n->x->resumes > 0 || n->x->active_us >= 0);
}

int
ft_walk_down(struct ft_walk *w, const struct ft_walk_call *c)
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
    w->stack[w->depth].end_ns = c->end_ns;
    w->stack[w->depth].last_end_ns = c->start_ns;
    w->stack[w->depth].sib_end_ns = c->start_ns;
    w->stack[w->depth].lane = c->lane;
    w->stack[w->depth].lane_depth = (uint32_t)c->lane_depth;
    w->depth++;
    return 0;
}

/* A lane free from start on (the first whose calls all ended by then), or a new one. */
static uint32_t
take_lane(struct ft_walk *w, int64_t start, int64_t end, int *fresh)
{
    uint32_t k;

    *fresh = 0;
    for (k = 1; k < w->nlanes; k++) {
        if (w->lane_end[k] <= start) {
            w->lane_end[k] = end;
            return k;
        }
    }
    if (w->nlanes >= w->lanes_cap) {
        uint32_t cap = w->lanes_cap ? w->lanes_cap * 2 : 8;
        int64_t *nl = realloc(w->lane_end, cap * sizeof(*nl));
        if (nl == NULL) {
            w->oom = 1;
            return 0;
        }
        w->lane_end = nl;
        w->lanes_cap = cap;
    }
    w->lane_end[w->nlanes] = end;
    *fresh = 1;
    return w->nlanes++;
}

/* Whether a generator or coroutine fits its parent's lane: inside the parent, after every
 * previous sibling (on any lane: tasks started together all get lanes), and ended before
 * the next sibling started. */
static int
fits(const struct ft_walk_level *up, int64_t sib_end, const struct ft_walk_item *it, int64_t start,
     int64_t end)
{
    if (start < sib_end - OVERLAP_TOLERANCE_NS) {
        return 0;
    }
    if (up != NULL && end > up->end_ns + OVERLAP_TOLERANCE_NS) {
        return 0;
    }
    return !it->has_next || end <= it->next_start_ns + OVERLAP_TOLERANCE_NS;
}

/* Places a call: on a lane of its own, or clamped into its parent on the parent's lane. */
void
ft_walk_place(struct ft_walk *w, const struct ft_walk_item *it, struct ft_walk_call *c)
{
    struct ft_walk_level *up = w->depth > 0 ? &w->stack[w->depth - 1] : NULL;
    int64_t *last = up != NULL ? &up->last_end_ns : &w->top_last_end_ns;
    int64_t *sib = up != NULL ? &up->sib_end_ns : &w->top_sib_end_ns;
    int64_t sib_end = *sib;

    c->depth = w->depth;
    c->new_lane = 0;
    c->start_ns = it->start_ns;
    c->end_ns = it->end_ns < it->start_ns ? it->start_ns : it->end_ns;
    if (c->end_ns > *sib) {
        *sib = c->end_ns;
    }
    /* Work handed to another thread ran there, beside its caller's thread, and an asyncio
     * task ran beside its creator: a lane of its own too, whether or not it overlaps. */
    if ((up != NULL && it->handed) ||
        (it->suspends && !fits(up, sib_end, it, c->start_ns, c->end_ns))) {
        c->lane = take_lane(w, c->start_ns, c->end_ns, &c->new_lane);
        c->lane_depth = 0;
        return;
    }
    if (c->start_ns < *last) {
        c->start_ns = *last;
    }
    if (up != NULL && c->start_ns > up->end_ns) {
        c->start_ns = up->end_ns;
    }
    if (up != NULL && c->end_ns > up->end_ns) {
        c->end_ns = up->end_ns;
    }
    if (c->end_ns < c->start_ns) {
        c->end_ns = c->start_ns;
    }
    *last = c->end_ns;
    c->lane = up != NULL ? up->lane : 0;
    c->lane_depth = up != NULL ? up->lane_depth + 1 : 0;
}

void
ft_walk_up(struct ft_walk *w)
{
    w->depth -= w->depth > 0;
}

int
ft_walk_next(struct ft_walk *w, struct ft_walk_call *c)
{
    struct ft_node *n = w->next;
    struct ft_walk_item it = {0};

    if (n == NULL || w->oom) {
        return 0;
    }
    memset(c, 0, sizeof(*c));
    c->n = n;
    it.start_ns = llround(n->start_us * 1000.0);
    it.end_ns = it.start_ns + llround(n->dur_us * 1000.0);
    it.handed = n->x != NULL && (n->x->thread != NULL || n->x->task);
    it.suspends = ft_walk_suspends(n);
    it.has_next = n->next != NULL;
    it.next_start_ns = n->next != NULL ? llround(n->next->start_us * 1000.0) : 0;
    ft_walk_place(w, &it, c);
    if (n->first_child != NULL) {
        ft_walk_down(w, c);
        w->next = n->first_child;
        return !w->oom;
    }
    /* Up to the nearest ancestor with a next sibling, closing each level left. */
    while (n != NULL && n->next == NULL) {
        n = n->parent;
        ft_walk_up(w);
    }
    w->next = n != NULL ? n->next : NULL;
    return !w->oom;
}

void
ft_walk_close(struct ft_walk *w)
{
    free(w->stack);
    free(w->lane_end);
    memset(w, 0, sizeof(*w));
}
