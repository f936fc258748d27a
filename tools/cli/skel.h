/* skel.h - the skeleton of a view (view.h): where each call of a run goes and when, in a
 * few bytes per call, so that a command can write a run in pre-order with its values
 * without holding its tree.
 *
 * tree.json gives a call's duration and result after its children, but the exports write
 * a call before its children, with times clamped into its parent's end (walk.h). So they
 * read a run twice. ft_skel_build streams the run's tree.json and its kept units' trees
 * without values (tree.h, FT_TREE_NO_VALUES) into arrays indexed by the order calls are
 * read in (their "read index"): start, end, parent, first child, next sibling, flags. It
 * then puts each unit's calls where they ran (graft.h's rule, on the arrays) and runs the
 * walk over them: every call gets its lane and nesting-safe times, and the view's threads
 * their calls in pre-order. ft_skel_stream then reads the same files again, with values,
 * and gives each call to a visitor with its read index once it is complete (after its
 * children). About 40 bytes per call, whatever its values; the names are interned once.
 * Errors are printed as one line (cli.h).
 */
#ifndef FT_CLI_SKEL_H
#define FT_CLI_SKEL_H

#include <stddef.h>
#include <stdint.h>

#include "tree.h"
#include "view.h"

#define FT_SKEL_NONE UINT32_MAX

/* A thread of the view: the run's threads in its order, then those only units had. */
struct ft_skel_thread {
    char *name;
    uint64_t tid;
    uint32_t first;       /* its first top-level call, or FT_SKEL_NONE */
    size_t order, ncalls; /* its calls are order[order .. order + ncalls) */
    double top_ms;        /* from its first top-level call's start to the last one's end */
    uint32_t nlanes;      /* lanes the walk used on it, lane 0 included */
};

struct ft_skel {
    size_t n, cap;     /* calls */
    int64_t *start_ns; /* per read index, once walked: its nesting-safe times */
    int64_t *end_ns;
    uint32_t *lane;  /* its lane on its thread (walk.h) */
    uint8_t *flags;  /* FT_SKEL_NEW_LANE: the first call on a lane */
    uint32_t *order; /* read indexes, a thread's calls in pre-order after another's */
    struct ft_skel_thread *threads;
    size_t nthreads;
    uint64_t max_id; /* the greatest call id */
    /* Private: the links while building, and the files read. */
    struct ft_skel_priv *priv;
};

/* FT_SKEL_NEW_LANE: the first call on a lane; FT_SKEL_OWN_LANE: a call below another
 * that the walk put on a lane of its own (walk.h: lane_depth 0 at depth > 0). */
enum { FT_SKEL_NEW_LANE = 1, FT_SKEL_OWN_LANE = 2 };

/* ft_skel_build's flags: FT_SKEL_LINKS keeps the tree's links (ft_skel_first_child,
 * ft_skel_next; 8 more bytes a call). */
enum { FT_SKEL_LINKS = 1 };

/* Reads the skeleton of RUN from dir (cli.h's rules), whole with its units, or of the unit
 * named by unit (view.h), into s; v is the view's header: its fields and threads without
 * calls (v->t), its units. Returns FT_EXIT_OK, or prints one line and returns
 * FT_EXIT_FAIL or FT_EXIT_USAGE. Free both with ft_skel_free and ft_view_free. */
int ft_skel_build(const char *cmd, const char *dir, const char *run, const char *unit, int flags,
                  struct ft_skel *s, struct ft_view *v);

/* With FT_SKEL_LINKS: call k's first child and next sibling in the view (FT_SKEL_NONE);
 * a thread's first call is s->threads[i].first. */
uint32_t ft_skel_first_child(const struct ft_skel *s, uint32_t k);
uint32_t ft_skel_next(const struct ft_skel *s, uint32_t k);

/* Whether units' calls were put under call k. */
int ft_skel_holds_units(const struct ft_skel *s, uint32_t k);

/* Called for each call: enter (optional) when it begins, leave once it is complete (after
 * its children), with its read index and its thread in s->threads. */
struct ft_skel_visit {
    void *ctx;
    int (*leave)(void *ctx, size_t thread, uint32_t k, struct ft_node *n);
    int (*enter)(void *ctx, uint32_t k, struct ft_node *n);
};

/* Reads the files of s again with tree.h's load flags, giving every call to visit: the
 * run's (or the unit's) file first, or with units_first the units' files first, the last
 * one first, so that the calls put under a call are read before it. A visitor returning
 * non-zero stops it. Returns FT_EXIT_OK, or prints one line and returns FT_EXIT_FAIL (a
 * file changed since ft_skel_build). */
int ft_skel_stream(const char *cmd, struct ft_skel *s, int flags, int units_first,
                   const struct ft_skel_visit *visit);

/* Whether call k is a unit's top-level call put where it ran; if so the call it was put
 * under (FT_SKEL_NONE at the thread's top level) and that call's id (0). */
int ft_skel_placed(const struct ft_skel *s, uint32_t k, uint64_t *parent_id, uint32_t *parent);

/* The first call (read index) of unit u of v->units in s, as view.h's roots: its kept tree's
 * first call, FT_SKEL_NONE when it has none in the view. */
uint32_t ft_skel_unit_call(const struct ft_skel *s, const struct ft_view *v, size_t u);

/* The "sources" maps (tree.h) of the units' trees read, in their order (NULL entries for
 * those without); *n of them. */
const char *const *ft_skel_unit_sources(const struct ft_skel *s, size_t *n);

void ft_skel_free(struct ft_skel *s);

#endif
