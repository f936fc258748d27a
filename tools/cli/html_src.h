/* html_src.h - the source files of a run's calls, embedded in the HTML viewer.
 *
 * The viewer shows the code of the call under its cursor. A file:// page cannot read the
 * disk, so `flowtrace html` embeds the text of every file the calls ran in: the source
 * kept with the run when it has it (tree.json's "sources" map, {"/abs/file.py":
 * "<sha256>"}, and RUN/sources/<sha256>), else the file on disk as it is when the page is
 * written: absolute paths to regular files only, each at most FT_HTML_SRC_MAX_FILE bytes
 * and all together at most FT_HTML_SRC_MAX_TOTAL, without NUL bytes. Each file gets an
 * origin the page shows: "run" (kept with the run), "disk" (read), "changed" (read, but
 * modified after the run started: the lines may have moved), "missing", "unreadable",
 * "large", "binary", "none" (not a file: <string>, <frozen ...>). Nothing here prints.
 */
#ifndef FT_CLI_HTML_SRC_H
#define FT_CLI_HTML_SRC_H

#include <stddef.h>

#define FT_HTML_SRC_MAX_FILE  (1u << 20)
#define FT_HTML_SRC_MAX_TOTAL (32u << 20)

struct ft_html_cols;
struct ft_out;

/* Where the sources come from: the run's directory and the "sources" maps (JSON text, or
 * NULL) of the trees the page shows (a run's and its units'); run_start_us, the run's
 * start (µs since the epoch), tells files changed since. */
struct ft_html_src_from {
    const char *rundir;
    const char *const *maps;
    size_t nmaps;
    double run_start_us;
};

/* Appends ",\n\"sources\":[[file, origin, text or null], ...]" for every distinct file of
 * the collected calls (file: its string index). */
void ft_html_src_put(const struct ft_html_cols *h, struct ft_out *o,
                     const struct ft_html_src_from *from);

#endif
