/* graft.c - a unit's calls put back into its run's tree. */
#include "graft.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

/* How far a unit's call may stick out of the call that held it: the rounding of
 * three-decimal microseconds. */
#define SLACK_US 0.002

/* The run's thread for a unit's thread (same id, else same name), added when missing. */
static struct ft_tree_thread *
thread_for(struct ft_tree *run, const struct ft_tree_thread *ut)
{
    struct ft_tree_thread *nt;

    for (size_t i = 0; i < run->nthreads; i++) {
        struct ft_tree_thread *th = &run->threads[i];
        if (th->tid == ut->tid &&
            (th->name == NULL || ut->name == NULL || strcmp(th->name, ut->name) == 0)) {
            return th;
        }
    }
    nt = realloc(run->threads, (run->nthreads + 1) * sizeof(*nt));
    if (nt == NULL) {
        return NULL;
    }
    run->threads = nt;
    nt = &run->threads[run->nthreads++];
    memset(nt, 0, sizeof(*nt));
    nt->name = ut->name;
    nt->tid = ut->tid;
    return nt;
}

int
ft_graft_spans(double c_start_us, double c_dur_us, double start_us, double dur_us)
{
    return c_start_us <= start_us + SLACK_US &&
           start_us + dur_us <= c_start_us + c_dur_us + SLACK_US;
}

int
ft_graft_holds(const struct ft_node *c, double start_us, double dur_us)
{
    return ft_graft_spans(c->start_us, c->dur_us, start_us, dur_us);
}

static int
holds(const struct ft_node *c, const struct ft_node *n)
{
    return ft_graft_holds(c, n->start_us, n->dur_us);
}

/* The call n ran under: NULL for the thread's top level (n has no caller); else the
 * deepest call holding n's time span named as n's caller, or failing that the deepest
 * call holding it. */
static struct ft_node *
parent_for(const struct ft_tree_thread *th, const struct ft_node *n)
{
    const char *caller = n->x != NULL ? n->x->caller : NULL;
    struct ft_node *deepest = NULL, *named = NULL, *c = th->first;

    if (caller == NULL) {
        return NULL;
    }
    while (c != NULL) {
        if (!holds(c, n)) {
            c = c->next;
            continue;
        }
        deepest = c;
        if (c->function != NULL && strcmp(c->function, caller) == 0) {
            named = c;
        }
        c = c->first_child;
    }
    return named != NULL ? named : deepest;
}

/* Links n (with its subtree) among the children of parent (the thread's top level when
 * NULL), before the first one that started after it. */
static void
insert(struct ft_tree_thread *th, struct ft_node *parent, struct ft_node *n)
{
    struct ft_node **first = parent ? &parent->first_child : &th->first;
    struct ft_node **last = parent ? &parent->last_child : &th->last;
    struct ft_node *prev = NULL, *c = *first;

    while (c != NULL && c->start_us <= n->start_us) {
        prev = c;
        c = c->next;
    }
    n->parent = parent;
    n->next = c;
    if (prev != NULL) {
        prev->next = n;
    } else {
        *first = n;
    }
    if (c == NULL) {
        *last = n;
    }
    if (parent != NULL) {
        parent->nchildren++;
    }
}

int
ft_graft_unit(struct ft_tree *run, struct ft_tree *unit, struct ft_node **root)
{
    *root = NULL;
    for (size_t i = 0; i < unit->nthreads; i++) {
        struct ft_tree_thread *ut = &unit->threads[i];
        struct ft_tree_thread *th = ut->first != NULL ? thread_for(run, ut) : NULL;
        if (ut->first != NULL && th == NULL) {
            return -ENOMEM;
        }
        while (ut->first != NULL) {
            struct ft_node *n = ut->first;
            ut->first = n->next;
            if (*root == NULL) {
                *root = n;
            }
            insert(th, parent_for(th, n), n);
        }
        if (th != NULL) {
            th->ncalls += ut->ncalls;
        }
        ut->last = NULL;
        ut->ncalls = 0;
    }
    run->nodes += unit->nodes;
    unit->nodes = 0;
    return 0;
}
