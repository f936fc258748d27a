/* tree_json.h - a loaded tree written back as JSON, in tree.json's schema
 * (docs/format.md), whole or filtered: `flowtrace show --json`.
 *
 * The output is one JSON object: the run's fields, then "threads", each with its
 * "calls" nested as in tree.json. A filter chooses threads and calls: a call not kept is
 * left out with everything under it; `inside` is a flag each call passes to its children
 * (show uses it for "below a matching call"). Values are written as the tree holds them:
 * a format-3 tree loaded with FT_TREE_JSON_VALUES gives JSON values, an older one strings
 * holding reprs; "format" is the tree's (from 2 on). Written without recursion (trees nest as
 * deep as the program's calls did). Nothing here prints but to the ft_out given.
 */
#ifndef FT_CLI_TREE_JSON_H
#define FT_CLI_TREE_JSON_H

struct ft_tree;
struct ft_tree_thread;
struct ft_node;
struct ft_out;

struct ft_tree_json_filter {
    void *ctx;
    /* Whether a thread is written (NULL: every one); called before its calls are. */
    int (*thread)(void *ctx, const struct ft_tree_thread *th);
    /* Whether a call is written; *inside comes from its parent (0 at the top) and what it
     * holds on return goes to the call's children. NULL: every call. */
    int (*keep)(void *ctx, const struct ft_node *n, int *inside);
    long max_depth; /* calls at most this deep (0: the top ones); -1: no limit */
};

/* Writes t to o. Returns 0, or -ENOMEM. */
int ft_tree_json_write(struct ft_out *o, const struct ft_tree *t,
                       const struct ft_tree_json_filter *f);

#endif
