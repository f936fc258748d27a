/* group.c - sibling calls grouped by function, in order of first appearance. */
#include "group.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct calls {
    struct ft_node **v;
    size_t n, cap;
};

static int
push_call(struct calls *c, struct ft_node *n)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct ft_node **nv = realloc(c->v, cap * sizeof(struct ft_node *));
        if (nv == NULL) {
            return -ENOMEM;
        }
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = n;
    return 0;
}

/* The calls of the chains that keep() accepts, in order, into *out (a new array, NULL
 * when there are none). Returns 0 or -ENOMEM. */
static int
kept_calls(struct ft_node *const *chains, size_t nchains, ft_group_keep_fn keep, void *ctx,
           struct ft_node ***out, size_t *n)
{
    struct calls c = {NULL, 0, 0};

    for (size_t i = 0; i < nchains; i++) {
        for (struct ft_node *x = chains[i]; x != NULL; x = x->next) {
            if ((keep == NULL || keep(x, ctx)) && push_call(&c, x) != 0) {
                free(c.v);
                return -ENOMEM;
            }
        }
    }
    *out = c.v;
    *n = c.n;
    return 0;
}

/* Pass 1: the group of each call (group_of[k]), each group's size, failures and total,
 * with its first call as members[0] for comparisons (pointing into calls). */
static int
assign_groups(struct ft_node **calls, size_t n, int merge, struct ft_groups *out, size_t *group_of)
{
    size_t slots = 16, *index = NULL; /* slot -> group + 1 */

    while (slots < n * 2) {
        slots *= 2;
    }
    if (merge && (index = calloc(slots, sizeof(size_t))) == NULL) {
        return -ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        struct ft_node *c = calls[k];
        size_t g = out->n;
        if (merge) {
            size_t s = ft_node_function_hash(c) & (slots - 1);
            while (index[s] != 0 && !ft_node_same_function(out->g[index[s] - 1].members[0], c)) {
                s = (s + 1) & (slots - 1);
            }
            if (index[s] == 0) {
                index[s] = ++out->n;
            } else {
                g = index[s] - 1;
            }
        } else {
            out->n++;
        }
        struct ft_group *gr = &out->g[g];
        if (gr->n++ == 0) {
            gr->members = &calls[k];
        }
        gr->total_us += c->dur_us;
        if (c->exc_type != NULL && gr->nfailed++ == 0) {
            gr->first_failed = c;
        }
        group_of[k] = g;
    }
    free(index);
    return 0;
}

/* Pass 2: members laid out group after group, in call order, into out->pool. */
static int
lay_out(struct ft_node **calls, size_t n, struct ft_groups *out, const size_t *group_of)
{
    size_t *fill = calloc(out->n, sizeof(size_t));

    if (fill == NULL) {
        return -ENOMEM;
    }
    for (size_t g = 0, at = 0; g < out->n; g++) {
        fill[g] = at;
        at += out->g[g].n;
    }
    for (size_t k = 0; k < n; k++) {
        out->pool[fill[group_of[k]]++] = calls[k];
    }
    for (size_t g = 0; g < out->n; g++) {
        out->g[g].members = out->pool + fill[g] - out->g[g].n;
    }
    free(fill);
    return 0;
}

int
ft_group_siblings(struct ft_node *const *chains, size_t nchains, int merge, ft_group_keep_fn keep,
                  void *ctx, struct ft_groups *out)
{
    size_t n = 0, *group_of = NULL;
    struct ft_node **calls = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = kept_calls(chains, nchains, keep, ctx, &calls, &n)) != 0 || n == 0) {
        return rc;
    }
    rc = -ENOMEM;
    out->g = calloc(n, sizeof(struct ft_group));
    out->pool = malloc(n * sizeof(struct ft_node *));
    group_of = malloc(n * sizeof(size_t));
    if (out->g != NULL && out->pool != NULL && group_of != NULL &&
        assign_groups(calls, n, merge, out, group_of) == 0) {
        rc = lay_out(calls, n, out, group_of);
    }
    free(group_of);
    free(calls);
    if (rc != 0) {
        ft_groups_free(out);
    }
    return rc;
}

void
ft_groups_free(struct ft_groups *g)
{
    free(g->g);
    free(g->pool);
    memset(g, 0, sizeof(*g));
}
