/* export_pft.h - a run (or a unit) in the hierarchical JSON of the PyTraceFlow seed
 * (palices/flowtrace, /work/shared/research/seeds.md 000.2), so that its HTML viewer and
 * its PyCharm plugin read FlowTrace runs: `flowtrace export --format pytraceflow`.
 *
 * A JSON array holding one root node for the program (callable and called: its name),
 * with every call nested in "calls", each with the seed's field names and order: id,
 * callable (the function's own name), module, called (the class of a method, else the
 * function), caller ("called::callable" of the caller), instance_id (id(self) as an
 * integer), inputs, calls, memory_before, inputs_after (every argument at the end: the
 * recorded ones, with the values of those the call changed), output, error (the
 * exception as repr() shows it, ValueError('...')), duration_ms, memory_after. Values
 * are JSON values where they are literals (pylit.h), else their rendering. As the seed
 * did, <module>, <genexpr>, <listcomp>, <lambda> and other <...> code is left out and its
 * calls hang from its caller; the main thread's calls are the root's, another thread's
 * hang from a node named after it (callable: the thread's name, called: "Thread").
 */
#ifndef FT_CLI_EXPORT_PFT_H
#define FT_CLI_EXPORT_PFT_H

struct ft_tree;
struct ft_out;
struct ft_skel;

/* Writes the run of skeleton s (skel.h, built with FT_SKEL_LINKS; t its fields) to o, the
 * root named name, reading its files again for the values: each call's text waits in a
 * temporary file until it is written in the tree's order. Returns 0, -ENOMEM, or -EIO (a
 * line was printed). */
int ft_export_pytraceflow(struct ft_out *o, const struct ft_tree *t, struct ft_skel *s,
                          const char *name);

#endif
