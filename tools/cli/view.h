/* view.h - a run as the viewer and diff see it: its tree with its units of work put back
 * where they ran, and the list of those units; or one unit alone.
 *
 * A run with units (tests, requests) has their calls in units/<id>/tree.json, not in its
 * own tree.json (docs/format.md, "Units of work"). ft_view_load loads the run's tree and
 * grafts every kept unit's tree into it (graft.h), so the whole run is one tree again,
 * and keeps, per unit of units.jsonl, the call it starts at (NULL when its tree was not
 * kept). With a unit named, the view is that unit's tree alone. The caller owns the view:
 * ft_view_load(), then ft_view_free(). Errors are printed as one line (cli.h).
 */
#ifndef FT_CLI_VIEW_H
#define FT_CLI_VIEW_H

#include <limits.h>
#include <stddef.h>

#include "units.h"

struct ft_tree;
struct ft_node;

struct ft_view {
    struct ft_tree *t;              /* the run (its units grafted in), or the unit */
    struct ft_units units;          /* the run's units, in units.jsonl's order, then those
                                       of the runs it started (ft_units_read_family) */
    struct ft_node **roots;         /* per unit: its first call in t, or NULL */
    const struct ft_unit_ent *unit; /* the unit viewed alone, or NULL for the run */
    struct ft_tree **parts;         /* the units' trees, loaded (their nodes are in t) */
    size_t nparts;
    const char *sources;     /* the run's "sources" map (tree.h), also for a unit viewed
                                alone (a unit's tree has none), or NULL */
    struct ft_tree *run_hdr; /* a unit viewed alone: its run's fields, for sources */
    char rundir[PATH_MAX];
};

/* Loads RUN from dir (cli.h's rules), whole with its units, or only the unit named by
 * unit (an id, a name, the end of a name after "::" or "/"; "" for the first failed one). Returns FT_EXIT_OK, or prints one
 * line and returns FT_EXIT_FAIL or FT_EXIT_USAGE. */
int ft_view_load(const char *cmd, const char *dir, const char *run, const char *unit,
                 struct ft_view *v);

/* ft_view_load with tree.h's load flags (FT_TREE_NO_VALUES) for every tree it reads. */
int ft_view_load_flags(const char *cmd, const char *dir, const char *run, const char *unit,
                       int flags, struct ft_view *v);

void ft_view_free(struct ft_view *v);

#endif
