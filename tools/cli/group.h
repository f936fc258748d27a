/* group.h - repeated sibling calls merged into one line: `fn ×N`.
 *
 * The calls under a set of parents (one call, or every call of a group, or a thread's
 * top level) are grouped by function (module, qualified name, file, line), in order of
 * first appearance. A group's members keep their own children, so the next level down
 * groups again over all of them: a loop of a million calls to `process`, each calling
 * `save`, prints as `process ×1000000` over `save ×1000000`. The caller owns the
 * result: ft_group_siblings(), then ft_groups_free(). Nothing here prints.
 */
#ifndef FT_CLI_GROUP_H
#define FT_CLI_GROUP_H

#include <stddef.h>

#include "tree.h"

struct ft_group {
    struct ft_node **members; /* n calls, in the order they were made */
    size_t n;
    double total_us; /* sum of the members' durations */
    size_t nfailed;  /* members that ended by an exception */
    const struct ft_node *first_failed;
};

struct ft_groups {
    struct ft_group *g;
    size_t n;
    struct ft_node **pool; /* storage of every group's members */
};

/* Decides whether a call takes part (filters); NULL keeps every call. */
typedef int (*ft_group_keep_fn)(const struct ft_node *n, void *ctx);

/* Groups the calls of nchains sibling chains (each a first child, linked by next) that
 * keep() accepts. merge = 0 makes one group per call. Returns 0 or -ENOMEM. */
int ft_group_siblings(struct ft_node *const *chains, size_t nchains, int merge,
                      ft_group_keep_fn keep, void *ctx, struct ft_groups *out);

void ft_groups_free(struct ft_groups *g);

#endif
