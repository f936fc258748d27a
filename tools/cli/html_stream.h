/* html_stream.h - `flowtrace html` without the tree: the page of a run or a unit, written
 * in a few dozen bytes a call plus the distinct strings.
 *
 * The page's columns (html_cols.h) list the calls in pre-order, and their string table
 * numbers strings in the order the calls first name them, in pre-order too; tree.json
 * gives a call's values after its children. So the run is read twice (skel.h): the first
 * read gives the skeleton (times, lanes, the units put where they ran), the second each
 * call's values once it is complete, kept as a record in an unlinked temporary file
 * (spool.h). The records are then read back in pre-order and collected exactly as the
 * tree's calls are (ft_html_cols_call), the columns moving to temporary files as they
 * grow. The page is the same bytes as ft_html_page_write's on the loaded view.
 */
#ifndef FT_CLI_HTML_STREAM_H
#define FT_CLI_HTML_STREAM_H

#include <stddef.h>

/* Writes the page of RUN from dir (cli.h's rules), or of its unit named by unit (view.h),
 * to output (NULL: RUN.html in the current directory; "-": standard output); the path
 * written goes to path (cap bytes). Returns FT_EXIT_OK, or prints one line and returns
 * FT_EXIT_FAIL or FT_EXIT_USAGE. */
int ft_html_stream_write(const char *cmd, const char *dir, const char *run, const char *unit,
                         const char *output, char *path, size_t cap);

#endif
