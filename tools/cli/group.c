/* group.c - sibling calls grouped by function, in order of first appearance. */
#include "group.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t
count_kept(struct ft_node *const *chains, size_t nchains, ft_group_keep_fn keep, void *ctx)
{
    size_t n = 0;

    for (size_t i = 0; i < nchains; i++) {
        for (const struct ft_node *c = chains[i]; c != NULL; c = c->next) {
            n += keep == NULL || keep(c, ctx);
        }
    }
    return n;
}

int
ft_group_siblings(struct ft_node *const *chains, size_t nchains, int merge, ft_group_keep_fn keep,
                  void *ctx, struct ft_groups *out)
{
    size_t total = count_kept(chains, nchains, keep, ctx), slots = 16, k = 0;
    size_t *index = NULL, *fill = NULL, *group_of = NULL; /* slot -> group + 1 */

    memset(out, 0, sizeof(*out));
    if (total == 0) {
        return 0;
    }
    while (slots < total * 2) {
        slots *= 2;
    }
    out->g = calloc(total, sizeof(*out->g));
    out->pool = malloc(total * sizeof(*out->pool));
    group_of = malloc(total * sizeof(*group_of));
    index = merge ? calloc(slots, sizeof(*index)) : NULL;
    if (out->g == NULL || out->pool == NULL || group_of == NULL || (merge && index == NULL)) {
        goto oom;
    }
    /* Pass 1: the group of each kept call, and each group's size. */
    for (size_t i = 0; i < nchains; i++) {
        for (struct ft_node *c = chains[i]; c != NULL; c = c->next) {
            if (keep != NULL && !keep(c, ctx)) {
                continue;
            }
            size_t g = out->n;
            if (merge) {
                size_t s = ft_node_function_hash(c) & (slots - 1);
                while (index[s] != 0 &&
                       !ft_node_same_function(out->g[index[s] - 1].members[0], c)) {
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
            if (gr->n == 0) {
                gr->members = &out->pool[k]; /* the first member, for comparisons */
                out->pool[k] = c;
            }
            gr->n++;
            gr->total_us += c->dur_us;
            if (c->exc_type != NULL) {
                if (gr->nfailed++ == 0) {
                    gr->first_failed = c;
                }
            }
            group_of[k++] = g;
        }
    }
    /* Pass 2: members laid out group after group, in call order. */
    fill = calloc(out->n, sizeof(*fill));
    struct ft_node **pool = malloc(total * sizeof(*pool));
    if (fill == NULL || pool == NULL) {
        free(pool);
        goto oom;
    }
    for (size_t g = 0, at = 0; g < out->n; g++) {
        fill[g] = at;
        at += out->g[g].n;
    }
    k = 0;
    for (size_t i = 0; i < nchains; i++) {
        for (struct ft_node *c = chains[i]; c != NULL; c = c->next) {
            if (keep == NULL || keep(c, ctx)) {
                pool[fill[group_of[k++]]++] = c;
            }
        }
    }
    for (size_t g = 0; g < out->n; g++) {
        out->g[g].members = pool + fill[g] - out->g[g].n;
    }
    free(out->pool);
    out->pool = pool;
    free(index);
    free(fill);
    free(group_of);
    return 0;
oom:
    free(index);
    free(fill);
    free(group_of);
    ft_groups_free(out);
    return -ENOMEM;
}

void
ft_groups_free(struct ft_groups *g)
{
    free(g->g);
    free(g->pool);
    memset(g, 0, sizeof(*g));
}
