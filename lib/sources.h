/* sources.h - the source files a run keeps: RUN/sources/<sha256>, one per distinct text,
 * and the map from each traced file's path to its text's hash (tree.json's "sources").
 *
 * The traced process sends each file that holds traced code once (SOURCE frames); the
 * file is stored under the SHA-256 of its content, so files with the same text (a
 * module in two virtualenvs, the same file in a parent and its forked children's runs)
 * are stored once, and a later reader shows the code as it was run even after the
 * checkout changed or is gone. Bounded like the sender: FT_SOURCES_MAX files and
 * FT_SOURCES_BYTES bytes per run; more are passed over.
 */
#ifndef FT_LIB_SOURCES_H
#define FT_LIB_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FT_SOURCES_MAX   4096u
#define FT_SOURCES_BYTES (64u << 20)

struct ft_source {
    char *path;
    char sha[65]; /* hex */
};

struct ft_sources {
    struct ft_source *v;
    size_t n, cap;
    size_t bytes;
};

void ft_sources_init(struct ft_sources *s);
void ft_sources_free(struct ft_sources *s);

/* A SOURCE frame's payload (TLVs PATH and CONTENT) for the run in run_dir: writes
 * run_dir/sources/<sha256> unless it is there, and maps the path to it (a path sent again
 * takes the new text). Returns 0, FT_EBADFRAME for a payload without both TLVs, or
 * -errno of a write (the run's output error). */
int ft_sources_add(struct ft_sources *s, const char *run_dir, const uint8_t *p, size_t len);

/* ,"sources":{"path":"sha256",...} in path order (s is sorted so), or nothing when there
 * are none. */
void ft_sources_put_json(struct ft_sources *s, struct ft_buf *b);

#endif
