/* tree.h - a run's tree.json loaded into memory, for the CLI's commands.
 *
 * The file is read with a streaming parser (yajl), so only the tree itself is held:
 * about 100 bytes per call, with names interned (equal names are equal pointers). Keys
 * this reader does not know are skipped, and every optional field may be absent, so
 * older and newer files load. The caller owns the tree: ft_tree_load(), then
 * ft_tree_free(). Nothing here prints.
 */
#ifndef FT_CLI_TREE_H
#define FT_CLI_TREE_H

#include <stddef.h>
#include <stdint.h>

/* One argument of a call: its name and its value as the tree keeps it: the text shown for
 * it (the Python repr it stands for, tools/cli/pyval.h), or with FT_TREE_JSON_VALUES and a
 * format-3 file its JSON text. */
struct ft_arg {
    const char *name;
    const char *value;
};

/* A memory snapshot; -1 marks a value the file does not have. */
struct ft_mem {
    int64_t rss, tracemalloc, peak;
};

/* What a call may carry besides its identity and timing (absent in older files). */
struct ft_node_extra {
    struct ft_arg *args; /* nargs entries, in the call's order */
    uint32_t nargs;
    int have_args;        /* "args" was present (possibly empty) */
    struct ft_arg *after; /* "argsAfter": the arguments the call changed, at its end */
    uint32_t nafter;
    const char *result;   /* the return value (as an argument's value), or NULL */
    const char *caller;   /* qualified name of the caller, or NULL */
    const char *thread;   /* the thread that ran it, when not its parent's (work a unit
                             handed to another thread), or NULL; interned */
    const char *instance; /* identity of self for methods (hex text), or NULL */
    uint64_t resumes;     /* generators and coroutines: times resumed */
    double active_us;     /* generators and coroutines: time spent running, or -1 */
    int have_memory;
    struct ft_mem mem_before, mem_after;
    /* Where an exception that left the call came from (docs/format.md): kept as their
     * JSON text, NULL when absent: "raise" {"file","line"}, "cause" [...], "locals" {...}
     * ("locals" holds values in the tree's format: strings in 1 and 2, JSON values in 3). */
    const char *raise, *cause, *locals;
    uint32_t left_at; /* "leftAt": the line the call was at when the exception left it, or 0 */
    int generated;    /* "generated": code the program did not write (attrs, exec'd strings) */
    int task;         /* "task": an asyncio task, nested under the call that created it */
};

struct ft_node {
    uint64_t id;
    const char *module;   /* interned, owned by the tree */
    const char *function; /* qualified name, interned */
    const char *file;     /* interned */
    uint32_t line;
    uint32_t nchildren;
    uint32_t mark;   /* 0 when loaded; free for a command's own flags */
    double start_us; /* since the run started */
    double dur_us;
    const char *exc_type; /* NULL unless the call ended by an exception ("?" if unknown) */
    const char *exc_msg;
    const char *exc_module;
    const char *incomplete;  /* why the call never ended, or NULL */
    struct ft_node_extra *x; /* NULL when the call has none of the optional fields */
    struct ft_node *parent, *first_child, *last_child, *next;
};

struct ft_tree_thread {
    const char *name;
    uint64_t tid;
    struct ft_node *first, *last;
    size_t ncalls;
    size_t index; /* its place in the file's threads */
};

#define FT_TREE_NOTICES 16 /* as many as the writer lists (lib/run.c) */

struct ft_tree {
    int format; /* the file's output format: 1 (no "format"), 2, 3 */
    const char *run, *parent_run, *python, *ended, *cwd, *exe;
    const char *exc_type, *exc_msg, *exc_module; /* an uncaught exception, or NULL */
    const char **argv;
    size_t argc;
    uint64_t pid, ppid;
    double start_us, dur_us;
    int have_exit_code;
    int exit_code;
    int signal;
    uint64_t events, lost, calls, cpu_us, blocked_us;
    const char *engine;
    const char *sources; /* "sources": {"/abs/file.py": "<sha256>"} as JSON text, or NULL */
    /* "notices": what the process said it could not follow (the first FT_TREE_NOTICES) */
    const char *notices[FT_TREE_NOTICES];
    size_t nnotices;
    struct ft_tree_thread *threads;
    size_t nthreads;
    size_t nodes;
    struct ft_tree_priv *priv;
};

/* Whether two calls are of the same function (module, qualified name, file, line). Names
 * are interned by the loader, so pointers compare. */
static inline int
ft_node_same_function(const struct ft_node *a, const struct ft_node *b)
{
    return a->function == b->function && a->module == b->module && a->file == b->file &&
           a->line == b->line;
}

/* A hash of a call's function, consistent with ft_node_same_function. */
static inline size_t
ft_node_function_hash(const struct ft_node *n)
{
    uintptr_t h = (uintptr_t)n->function * 31u + (uintptr_t)n->file * 17u +
                  (uintptr_t)n->module * 7u + n->line;

    return (size_t)(h ^ (h >> 17));
}

/* Loads path. Returns 0, or a negative code with a one-line description in err: -errno
 * (cannot read), FT_EFOREIGN (empty, truncated, or not a FlowTrace tree). */
int ft_tree_load(const char *path, struct ft_tree **out, char *err, size_t cap);

/* Like ft_tree_load, but stops before "threads": the run's fields only, no calls. */
int ft_tree_load_header(const char *path, struct ft_tree **out, char *err, size_t cap);

/* ft_tree_load with what to leave out: FT_TREE_HEADER_ONLY (ft_tree_load_header);
 * FT_TREE_NO_VALUES (no args, argsAfter, result, instance, nor caller below a thread's
 * top level: a command that needs only names and times holds half the memory);
 * FT_TREE_SHALLOW (only each thread's top-level calls and their children: the calls a
 * program's main script made, say). */
enum {
    FT_TREE_HEADER_ONLY = 1,
    FT_TREE_NO_VALUES = 2,
    FT_TREE_SHALLOW = 4,
    FT_TREE_JSON_VALUES = 8
};
int ft_tree_load_flags(const char *path, int flags, struct ft_tree **out, char *err, size_t cap);

/* ft_tree_load_flags with the names (function, module, file, caller, argument names,
 * string values) interned in the tables of names, a tree loaded before: calls of the
 * two trees then compare with ft_node_same_function, as when a unit's tree is grafted
 * into its run's (graft.h). names must be freed after the new tree. */
int ft_tree_load_shared(const char *path, int flags, struct ft_tree *names, struct ft_tree **out,
                        char *err, size_t cap);

/* Streaming: the calls of path are given to a visitor as they are read instead of being
 * held, so memory stays bounded by the depth of the calls and the distinct names, however
 * many calls the file has. enter() sees a call once its identity and start are read
 * (before its children), leave() once it is complete (after its children's leave). A
 * node's parent is set (an entered, not yet left call); children, next and the threads'
 * first/last are not linked. A node, its extra and the texts in them are reused after
 * leave() returns; names are interned and stay. A callback returning non-zero stops the
 * read (-ENOMEM). */
struct ft_tree_visit {
    void *ctx;
    int (*enter)(void *ctx, const struct ft_tree_thread *th, struct ft_node *n);
    int (*leave)(void *ctx, const struct ft_tree_thread *th, struct ft_node *n);
};

/* ft_tree_load_shared with a visitor (names may be NULL): *out holds the run's fields and
 * its threads (with their ncalls), without calls. */
int ft_tree_stream(const char *path, int flags, struct ft_tree *names,
                   const struct ft_tree_visit *visit, struct ft_tree **out, char *err, size_t cap);

void ft_tree_free(struct ft_tree *t);

#endif
