/* rfile.h - a run's files as a reader sees them: plain or zstd, finished or still going.
 *
 * Every reader of runs (the CLI's commands, tail, tests) opens a run's file by its plain
 * name ("events.jsonl", "tree.json", "units/3/tree.json") and reads bytes, whichever way
 * the writer wrote it: the plain file, or NAME.zst (--compress) decompressed on the fly.
 * A run still being written has no tree.json yet: opening "tree.json" then gives the tree
 * so far, a document of tree.json's schema made from the writer's thread parts and its
 * .live file (runfiles.h), with "ended":"running" and every call still open closed with
 * "incomplete":"running" (calls held in the writer's memory, generators waiting for their
 * end, are not there yet). Nothing here prints; errors are negative errno values.
 */
#ifndef FT_LIB_RFILE_H
#define FT_LIB_RFILE_H

#include <stddef.h>
#include <sys/types.h>

enum ft_run_state {
    FT_RUN_COMPLETE = 0,   /* tree.json is there */
    FT_RUN_RUNNING = 1,    /* its writer is writing it (it holds the run's lock, from the
                            * directory's creation until tree.json is there: runfiles.h) */
    FT_RUN_UNFINISHED = 2, /* neither: its writer stopped (flowtrace-writer --recover) */
    FT_RUN_NOTHING = 3,    /* unfinished, and its writer died before it wrote a record: the
                            * head (.live) and no event, no spool, nothing to rebuild from
                            * (flowtrace-writer --recover ends it as an empty run) */
};

/* The state of the run in run_dir. */
enum ft_run_state ft_rfile_state(const char *run_dir);

/* Which file holds dir/name: writes dir/name or dir/name.zst (the one that exists) to
 * path. Returns 0, or -ENOENT when neither does. */
int ft_rfile_find(const char *dir, const char *name, char *path, size_t cap);

struct ft_rfile;

/* Opens dir/name for reading (plain, zstd, or for "tree.json" of a running run the tree
 * so far). Returns 0 and sets *out, or -errno (-ENOENT: no such file). */
int ft_rfile_open(struct ft_rfile **out, const char *dir, const char *name);

/* ft_rfile_open of a path: its directory and its file's name. */
int ft_rfile_open_path(struct ft_rfile **out, const char *path);

/* Reads up to cap bytes of the (decompressed) content. Returns the number read, 0 at the
 * end, or -errno (-EBADMSG: corrupt zstd). A zstd file cut short (a run still going, a
 * write that failed) ends where its last complete block does. */
ssize_t ft_rfile_read(struct ft_rfile *f, void *buf, size_t cap);

/* After the end was read: a file the writer is still appending to may hold more now; the
 * next ft_rfile_read tries again. */
void ft_rfile_more(struct ft_rfile *f);

void ft_rfile_close(struct ft_rfile *f);

#endif
