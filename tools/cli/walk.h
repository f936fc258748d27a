/* walk.h - a thread's calls in pre-order, laid out on lanes with nesting-safe integer
 * times, for the exports and the viewer's timeline.
 *
 * Times in tree.json are microseconds with three decimals. Rounded to nanoseconds, a
 * call may start a nanosecond before its parent or end after it; viewers that rebuild
 * the nesting from times (Perfetto, trace backends) then misplace it. This walk clamps
 * each ordinary call into its parent and after its previous sibling on the same lane, so
 * the times it gives nest exactly as the calls did.
 *
 * A generator or coroutine is different: its node covers its whole life, suspensions
 * included, so it can really overlap the calls its caller made afterwards (a generator
 * consumed in a loop, the tasks of asyncio.gather) and outlive its caller (a task
 * created and left running). Such a call keeps its real times and goes, with everything
 * it called, on a lane of its own: lane 0 is the thread's, lanes 1, 2, ... hold the
 * calls that ran concurrently with it. So does a call that ran in another thread than its
 * caller (work handed to a thread pool: its node has "thread"), and an asyncio task even
 * when it did not overlap anything (created and awaited at once: its node has "task"). A lane is reused once
 * everything on it ended, so a thread has as many lanes as calls it had in flight at
 * once. Nothing here allocates per call except the depth stack and the lane table.
 *
 * ft_walk_next walks a loaded thread's nodes. A caller holding the calls some other way
 * (skel.h: arrays of a streamed run) drives the same placement itself, in pre-order:
 * ft_walk_place for each call, ft_walk_down before its children, ft_walk_up after the
 * last of them.
 */
#ifndef FT_CLI_WALK_H
#define FT_CLI_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "tree.h"

struct ft_walk_level {
    int64_t end_ns;      /* the call's end */
    int64_t last_end_ns; /* the end of its latest child so far on its lane */
    int64_t sib_end_ns;  /* the latest end of its children so far, on any lane */
    uint32_t lane;       /* the call's lane */
    uint32_t lane_depth; /* the call's depth on that lane */
};

struct ft_walk {
    struct ft_node *next;
    struct ft_walk_level *stack;
    size_t depth, cap;       /* open ancestors of next */
    int64_t top_last_end_ns; /* the end of the latest top-level call on lane 0 */
    int64_t top_sib_end_ns;  /* the latest end of the top-level calls, on any lane */
    int64_t *lane_end;       /* per lane > 0, the end of the call that holds it */
    uint32_t nlanes;         /* lanes used, lane 0 (the thread's) included */
    uint32_t lanes_cap;
    int oom;
};

/* A visited call: the node, its depth in the tree (0 at the top), its lane and its depth
 * on that lane (0 at the top of the lane), and its times in ns since the run started.
 * new_lane is 1 when the call is the first on a lane not used before (lane > 0). */
struct ft_walk_call {
    struct ft_node *n;
    size_t depth;
    uint32_t lane, lane_depth;
    int new_lane;
    int64_t start_ns, end_ns;
};

/* What the placement needs of a call, whatever holds it. */
struct ft_walk_item {
    int64_t start_ns, end_ns; /* rounded from tree.json's microseconds */
    int handed;               /* ran in another thread ("thread") or is an asyncio task */
    int suspends;             /* ft_walk_suspends */
    int has_next;             /* it has a next sibling, which starts at next_start_ns */
    int64_t next_start_ns;
};

void ft_walk_init(struct ft_walk *w, struct ft_node *first);

/* The next call, or 0 at the end (check w->oom). */
int ft_walk_next(struct ft_walk *w, struct ft_walk_call *c);

/* Places the call it stands for at the walk's depth: c's times, lane and depth (c->n is
 * left as it is). */
void ft_walk_place(struct ft_walk *w, const struct ft_walk_item *it, struct ft_walk_call *c);

/* The calls placed next are the children of c, until ft_walk_up. Returns 0, or -1 out of
 * memory (w->oom). */
int ft_walk_down(struct ft_walk *w, const struct ft_walk_call *c);

void ft_walk_up(struct ft_walk *w);

/* Whether a call is a generator or coroutine (its node spans its suspensions). */
int ft_walk_suspends(const struct ft_node *n);

void ft_walk_close(struct ft_walk *w);

#endif
