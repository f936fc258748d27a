/* graft.h - a unit's calls put back into its run's tree, for views of the whole run.
 *
 * The writer moves each unit of work (a test, a request) out of the run's tree.json into
 * units/<id>/tree.json. A view of the run (the HTML viewer, diff) wants them where they
 * happened: ft_graft_unit moves the calls of a loaded unit tree into the run tree, in the
 * thread of the same id (added if the run lists none), under the deepest call whose time
 * span holds them, among its children in order of start. Both trees must stay loaded
 * until the run tree is freed (the nodes stay in the unit tree's arena); the unit tree
 * is left without calls. Nothing here prints.
 */
#ifndef FT_CLI_GRAFT_H
#define FT_CLI_GRAFT_H

struct ft_tree;
struct ft_node;

/* Moves unit's calls into run. *root is set to the unit's first call (NULL if it has
 * none). Returns 0, or -ENOMEM (a thread could not be added: the calls of the unit's
 * threads before it were moved, the others were not). */
int ft_graft_unit(struct ft_tree *run, struct ft_tree *unit, struct ft_node **root);

/* Whether call c's time span holds the span [start_us, start_us + dur_us] (the rule
 * above, with its slack for rounding). */
int ft_graft_holds(const struct ft_node *c, double start_us, double dur_us);

/* The same rule for a call given by its start and duration (skel.h holds no nodes). */
int ft_graft_spans(double c_start_us, double c_dur_us, double start_us, double dur_us);

#endif
