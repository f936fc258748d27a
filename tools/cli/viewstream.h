/* viewstream.h - a view (view.h) streamed: the calls of a run, its units' calls put where
 * they ran, given to a visitor as they are read instead of being held.
 *
 * Memory stays bounded by the depth of the calls, the distinct names and the number of
 * units, however many calls the run has (tree.h, ft_tree_stream). A unit's calls are
 * streamed at the end of the deepest call of its thread that holds its first call's time
 * span and is named as that call's caller (graft.h's rule), before the visitor leaves
 * that call, so they nest inside it as in a loaded view; a unit whose caller is not
 * found (or that has none) is streamed after the run's calls, at the top level. Only the
 * first call of a unit places it (a unit that handed work to other threads has its other
 * threads' calls streamed with it). Errors are printed as one line (cli.h).
 */
#ifndef FT_CLI_VIEWSTREAM_H
#define FT_CLI_VIEWSTREAM_H

#include "tree.h"
#include "view.h"

/* Streams RUN from dir (or only the unit named by unit, as ft_view_load) to visit, with
 * tree.h's load flags. v is filled as ft_view_load fills it, except that v->t holds the
 * run's (or unit's) fields and threads without calls, and roots are NULL. The caller
 * frees v with ft_view_free. Returns FT_EXIT_OK, or prints one line and returns
 * FT_EXIT_FAIL or FT_EXIT_USAGE. */
int ft_view_stream(const char *cmd, const char *dir, const char *run, const char *unit, int flags,
                   const struct ft_tree_visit *visit, struct ft_view *v);

#endif
