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

#endif
