/* html_cols.h - a run's calls as the viewer's columns: per call in pre-order its function,
 * subtree size, times, lane and captured values, with every string once in a table.
 *
 * This is the data half of `flowtrace html` (docs/cli.md, "How the run is embedded"): a
 * million calls take about 12 bytes each, and the page decodes them into typed arrays.
 * ft_html_cols_collect walks the tree once (tools/cli/walk.h: times that nest, lanes of
 * concurrent calls) and sets each node's `mark` to its call index + 1, so other parts
 * of the page (units, diff) can name calls. ft_html_cols_put appends the JSON members
 * after "v". Strings are borrowed from the tree, which must outlive the columns.
 *
 * Without the tree (html_stream.h), the caller gives the calls one by one in pre-order
 * (ft_html_cols_thread, ft_html_cols_call) to columns made with ft_html_cols_stream:
 * their strings are copied, and the columns move to unlinked temporary files as they
 * grow (ft_html_cols_spill), all but the sizes (8 bytes a call) and the code table.
 */
#ifndef FT_CLI_HTML_COLS_H
#define FT_CLI_HTML_COLS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct ft_tree;
struct ft_node;
struct ft_out;
struct ft_walk_call;
struct ft_html_chunk;

/* A growable column of integers; once spilled, its first nput values are text in a file. */
struct ft_col {
    int64_t *v;
    size_t n, cap;
    int file;    /* the file's descriptor + 1, 0 for none */
    size_t nput; /* values in the file */
};

/* Open addressing over indexes + 1, for the string and code tables. */
struct ft_html_table {
    uint32_t *slots;
    size_t nslots, n;
};

struct ft_html_cols {
    /* the threads, as the page lists them: names borrowed */
    const char **thread_name;
    uint64_t *thread_tid;
    size_t nthreads, threads_cap;
    size_t ncalls;
    /* ft_html_cols_stream: strings copied into chunks, columns spilled */
    int stream;
    struct ft_html_chunk *chunks;
    /* strings: borrowed pointers, each distinct string once */
    const char **strs;
    size_t strs_cap;
    struct ft_html_table st;
    /* codes: 4 string/line numbers each (function, module, file, line) */
    struct ft_col codes;
    struct ft_html_table ct;
    /* per-call columns, in pre-order */
    struct ft_col code, size, start, dur, arg_n, args, after_n, after, result, inst;
    /* sparse: the call's index, then its values */
    struct ft_col exc, inc, mem, gen, caller, lane;
    /* sparse, issue 18's post-mortem fields: JSON text as a string index (raise, cause,
     * locals), a line (leftAt), the call alone (generated) */
    struct ft_col raise, left_at, cause, locals, generated;
    /* sparse: a call that ran in another thread than its caller, and that thread's name */
    struct ft_col ran;
    struct ft_col thread_first, thread_lanes;
    int have_args, have_after, have_result, have_inst;
    int oom;
};

/* Walks every thread of t. Returns 0, or -ENOMEM. */
int ft_html_cols_collect(struct ft_html_cols *h, const struct ft_tree *t);

/* Columns for calls given one by one: strings copied, columns spilled. */
void ft_html_cols_stream(struct ft_html_cols *h);

/* The next thread's calls follow (name borrowed until the columns are freed; NULL: "?"). */
void ft_html_cols_thread(struct ft_html_cols *h, const char *name, uint64_t tid);

/* The thread's calls were given; the walk used nlanes lanes on it. */
void ft_html_cols_thread_end(struct ft_html_cols *h, uint32_t nlanes);

/* The next call in pre-order (collect's rules: c's times, lane and depth, c->n with its
 * values and its parent's function, c->n->mark set to its index + 1); parent_lane is its
 * parent's lane (0 at the top), *prev_start the previous call's start. Its size is 0: the
 * caller sets h->size.v[index] once the calls below it are given. */
void ft_html_cols_call(struct ft_html_cols *h, const struct ft_walk_call *c, uint32_t parent_lane,
                       int64_t *prev_start);

/* Moves every column but size and codes to its temporary file. Returns 0, or -errno. */
int ft_html_cols_spill(struct ft_html_cols *h);

/* The index of s in the string table (added if new), or -1 for NULL or on ENOMEM. */
int64_t ft_html_cols_str(struct ft_html_cols *h, const char *s);

/* Appends ",\n\"strings\":[...]" and every column to o's buffer (flushing as it grows).
 * Call after everything that adds strings. */
void ft_html_cols_put(struct ft_html_cols *h, struct ft_out *o);

/* Appends an integer column as ",\n\"name\":[...]". */
void ft_html_col_put(struct ft_out *o, const char *name, const struct ft_col *c);

/* Appends v to c; returns 0 or -ENOMEM. */
int ft_col_push(struct ft_col *c, int64_t v);

void ft_html_cols_free(struct ft_html_cols *h);

#endif
