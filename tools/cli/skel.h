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
    /* Private: the links while building, and the files read. */
    struct ft_skel_priv *priv;
};

enum { FT_SKEL_NEW_LANE = 1 };

/* Reads the skeleton of RUN from dir (cli.h's rules), whole with its units, or of the unit
 * named by unit (view.h), into s; v is the view's header: its fields and threads without
 * calls (v->t), its units. Returns FT_EXIT_OK, or prints one line and returns
 * FT_EXIT_FAIL or FT_EXIT_USAGE. Free both with ft_skel_free and ft_view_free. */
int ft_skel_build(const char *cmd, const char *dir, const char *run, const char *unit,
                  struct ft_skel *s, struct ft_view *v);

/* Called for each call, complete, with its read index and its thread in s->threads. */
struct ft_skel_visit {
    void *ctx;
    int (*leave)(void *ctx, size_t thread, uint32_t k, struct ft_node *n);
};

/* Reads the files of s again with tree.h's load flags, giving every call to visit. A
 * visitor returning non-zero stops it. Returns FT_EXIT_OK, or prints one line and returns
 * FT_EXIT_FAIL (a file changed since ft_skel_build). */
int ft_skel_stream(const char *cmd, struct ft_skel *s, int flags,
                   const struct ft_skel_visit *visit);

void ft_skel_free(struct ft_skel *s);

#endif
