/* html_page.h - the self-contained HTML viewer page of a view (a run with its units, or
 * one unit), for `flowtrace html` and `flowtrace diff --html`.
 *
 * The page is tools/viewer/viewer.html with the CSS, the data and the scripts written in
 * place of its markers (viewer.h). The data is one JSON object: "v", "run", "unit",
 * "units", the call columns (html_cols.h), "sources" (html_src.h), and whatever the
 * caller's extra callback appends (members starting with ",\n"). docs/cli.md describes it.
 */
#ifndef FT_CLI_HTML_PAGE_H
#define FT_CLI_HTML_PAGE_H

#include <stddef.h>
#include <stdint.h>

struct ft_view;
struct ft_html_cols;
struct ft_out;

/* Appends members to the data object; the columns are collected (calls are named by
 * their nodes' mark - 1), their strings not yet written. */
typedef void (*ft_html_extra_fn)(void *ctx, struct ft_html_cols *h, struct ft_out *o);

/* Writes v's page to output ("-": standard output). Returns FT_EXIT_OK, or prints one
 * line and returns FT_EXIT_FAIL. */
int ft_html_page_write(const char *cmd, const struct ft_view *v, const char *output,
                       ft_html_extra_fn extra, void *ctx);

/* What a page shows besides the columns: v's header and units (v->t: the run's or the
 * unit's fields; its calls are not used), per unit of v->units the index of its first
 * call in the columns (-1: not in the page), and the "sources" maps (tree.h) of the
 * trees shown (NULL entries skipped). */
struct ft_html_page {
    const struct ft_view *v;
    const int64_t *unit_calls;
    const char *const *maps;
    size_t nmaps;
};

/* Writes the page of p with the collected columns h to output, as ft_html_page_write. */
int ft_html_page_put(const char *cmd, const struct ft_html_page *p, struct ft_html_cols *h,
                     const char *output, ft_html_extra_fn extra, void *ctx);

#endif
