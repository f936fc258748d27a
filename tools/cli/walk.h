/* walk.h - a thread's calls in pre-order with nesting-safe integer times, for exports.
 *
 * Times in tree.json are microseconds with three decimals. Rounded to nanoseconds, a
 * call may start a nanosecond before its parent or end after it; viewers that rebuild
 * the nesting from times (Perfetto, trace backends) then misplace it. This walk clamps
 * each call into its parent and after its previous sibling, so the times it gives nest
 * exactly as the calls did. Nothing here allocates per call except the depth stack.
 */
#ifndef FT_CLI_WALK_H
#define FT_CLI_WALK_H

#include <stdint.h>

#include "tree.h"

struct ft_walk_level {
    int64_t end_ns;      /* the call's end */
    int64_t last_end_ns; /* the end of its latest child so far */
};

struct ft_walk {
    struct ft_node *next;
    struct ft_walk_level *stack;
    size_t depth, cap;       /* open ancestors of next */
    int64_t top_last_end_ns; /* the end of the latest top-level call */
    int oom;
};

/* A visited call: the node, its depth (0 at the top), and its clamped times in ns since
 * the run started. */
struct ft_walk_call {
    struct ft_node *n;
    size_t depth;
    int64_t start_ns, end_ns;
};

void ft_walk_init(struct ft_walk *w, struct ft_node *first);

/* The next call, or 0 at the end (check w->oom). */
int ft_walk_next(struct ft_walk *w, struct ft_walk_call *c);

void ft_walk_close(struct ft_walk *w);

#endif
