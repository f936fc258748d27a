/* html_cols.h - a run's calls as the viewer's columns: per call in pre-order its function,
 * subtree size, times, lane and captured values, with every string once in a table.
 *
 * This is the data half of `flowtrace html` (docs/cli.md, "How the run is embedded"): a
 * million calls take about 12 bytes each, and the page decodes them into typed arrays.
 * ft_html_cols_collect walks the tree once (tools/cli/walk.h: times that nest, lanes of
 * concurrent calls) and sets each node's `mark` to its call index + 1, so other parts
 * of the page (units, diff) can name calls. ft_html_cols_put appends the JSON members
 * after "v". Strings are borrowed from the tree, which must outlive the columns.
 */
#ifndef FT_CLI_HTML_COLS_H
#define FT_CLI_HTML_COLS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct ft_tree;
struct ft_node;
struct ft_out;

/* A growable column of integers. */
struct ft_col {
    int64_t *v;
    size_t n, cap;
};

/* Open addressing over indexes + 1, for the string and code tables. */
struct ft_html_table {
    size_t *slots;
    size_t nslots, n;
};

struct ft_html_cols {
    const struct ft_tree *t;
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
