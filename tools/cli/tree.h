/* tree.h - a run's tree.json loaded into memory, for the CLI's commands.
 *
 * The file is read with a streaming parser (yajl), so only the tree itself is held:
 * about 100 bytes per call, with names interned. Keys this reader does not know are
 * skipped, so newer files still load. The caller owns the tree: ft_tree_load(), then
 * ft_tree_free().
 */
#ifndef FT_CLI_TREE_H
#define FT_CLI_TREE_H

#include <stddef.h>
#include <stdint.h>

struct ft_node {
    uint64_t id;
    const char *module;   /* interned, owned by the tree */
    const char *function;
    const char *file;
    uint32_t line;
    double start_us;      /* since the run started */
    double dur_us;
    const char *exc_type; /* NULL unless the call ended by an exception */
    const char *exc_msg;
    const char *incomplete; /* why the call never ended, or NULL */
    const char *args;     /* raw JSON text of "args", or NULL */
    const char *result;   /* raw JSON text of "result", or NULL */
    struct ft_node *parent, *first_child, *last_child, *next;
    uint32_t nchildren;
};

struct ft_tree_thread {
    const char *name;
    uint64_t tid;
    struct ft_node *first, *last;
    size_t ncalls;
};

struct ft_tree {
    const char *run, *parent_run, *python, *ended, *cwd, *exe;
    const char *exc_type, *exc_msg;
    const char **argv;
    size_t argc;
    uint64_t pid, ppid;
    double start_us, dur_us;
    int have_exit_code;
    int exit_code;
    uint64_t events, lost, calls, cpu_us, blocked_us;
    const char *engine;
    struct ft_tree_thread *threads;
    size_t nthreads;
    size_t nodes;
    struct ft_tree_priv *priv;
};

/* Loads path. Returns 0, -errno (cannot read), or FT_EFOREIGN (not a tree file) with a
 * one-line description in err. */
int ft_tree_load(const char *path, struct ft_tree **out, char *err, size_t cap);

void ft_tree_free(struct ft_tree *t);

#endif
