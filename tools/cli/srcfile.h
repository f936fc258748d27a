/* srcfile.h - the text of a run's source file as its readers show it (`show --source`,
 * the HTML viewer): the copy kept with the run when it has one (tree.json's "sources"
 * map, {"/abs/file.py": "<sha256>"}, and RUN/sources/<sha256>), else the file on disk as
 * it is now. Absolute paths to regular files only, at most a budget of bytes, no NUL
 * bytes. Each text comes with its origin: "run" (kept with the run), "disk" (read),
 * "changed" (read, but modified after the run started: the lines may have moved),
 * "missing", "unreadable", "large", "binary", "none" (not a file: <string>, <frozen ...>).
 */
#ifndef FT_CLI_SRCFILE_H
#define FT_CLI_SRCFILE_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

/* Where the texts come from: the run's directory, the parsed "sources" maps of the trees
 * shown (a run's and its units'; an entry may be NULL), and the run's start (µs since the
 * epoch), which tells files changed since. */
struct ft_srcfile_from {
    const char *rundir;
    const yajl_val *maps;
    size_t nmaps;
    double run_start_us;
};

/* Reads path's text whole into a NUL-terminated buffer (*text, the caller frees it; NULL
 * when it cannot be shown) of at most budget bytes; returns its origin (above). */
const char *ft_srcfile_read(const struct ft_srcfile_from *from, const char *path, size_t budget,
                            char **text, size_t *len);

/* The files a command has read, for line lookups (`show --source`). */
struct ft_srcfile_cache {
    const struct ft_srcfile_from *from;
    struct ft_srcfile_ent {
        char *path, *text; /* text NULL: cannot be shown */
        size_t len;
    } * v;
    size_t n, cap;
    size_t budget; /* bytes still allowed */
};

void ft_srcfile_cache_init(struct ft_srcfile_cache *c, const struct ft_srcfile_from *from);
void ft_srcfile_cache_free(struct ft_srcfile_cache *c);

/* Line `line` (1-based) of path, without its newline, in *len bytes (borrowed from the
 * cache); NULL when the file or the line cannot be shown. */
const char *ft_srcfile_line(struct ft_srcfile_cache *c, const char *path, unsigned line,
                            size_t *len);

#endif
