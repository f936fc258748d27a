/* runfiles.h - a run's directory and files: DIR/<run-id>/, events.jsonl and its copies
 * (the process's stdout, a log file), each thread's part of the tree, tree.json.
 *
 * The run id is chosen when the directory is created (never reusing one: an exec keeps
 * the pid). Each thread's top-level calls stream into a part file of their own while the
 * run is live, so memory follows call depth; tree.json is assembled from the parts when
 * the run ends, written to a temporary name and renamed into place, so a tree.json is
 * always whole. The first output error is remembered (write_err). Nothing here knows
 * about calls or process metadata: the run passes the texts in.
 *
 * From the creation of its directory until its tree.json is in place (or it is given up)
 * the run's writer holds an exclusive lock (flock) on the directory, and while events.jsonl
 * is open one on it too (what older readers look at); so a reader never finds a run
 * being written that reads as unfinished: not between the directory and events.jsonl, nor
 * between events.jsonl's close and tree.json. It keeps DIR/<id>/.live up to date for
 * readers of a run still going (rfile.h): its
 * first line is tree.json's head up to "start" (no closing brace), its second
 * "durationMicros events calls", then one line per thread: index, tid, name (JSON).
 */
#ifndef FT_LIB_RUNFILES_H
#define FT_LIB_RUNFILES_H

#include <stddef.h>
#include <stdint.h>

#include "sink.h"

/* The version of the output files (docs/format.md): tree.json says it ("format"). 2: a
 * node's "caller" is written only where its parent is not in the same tree. 3: values are
 * typed (plain JSON values, or described ones with "type" and "repr"). 4: events.jsonl's
 * EXIT and EXCEPTION lines leave out what their ENTER line says (file, line, parent), and
 * lines leave out the run unless copied to --logfile/--stdout. */
#define FT_OUTPUT_FORMAT   4
#define FT_OUTPUT_FORMAT_S "4"

struct ft_part {
    struct ft_sink sink;
    char *path;
    int open;
};

struct ft_runfiles {
    char id[96];
    char *path;           /* DIR/<id>, NULL until created */
    struct ft_sink jsonl; /* events.jsonl */
    int jsonl_open;
    int mirror_fd;          /* FLOWTRACE_STDOUT: the process's stdout, or -1 */
    int logfile_fd;         /* FLOWTRACE_LOGFILE, or -1 */
    char copy_error[512];   /* why the logfile was passed over, or "" */
    struct ft_part **parts; /* by thread index */
    size_t nparts;
    int write_err;    /* the first output error (negative errno), 0 if none */
    int discarded;    /* nothing could be written: its files were removed (discard) */
    int stopped;      /* ft_runfiles_stop: no call text is written any more */
    int compress;     /* zstd: events.jsonl.zst and tree.json.zst (ft_runfiles_init sets 0) */
    int zlevel;       /* ... at this level */
    const char *zext; /* ".zst" when compressing, else "" */
    int lock_fd;      /* DIR/<id>, flock'ed while the run is written; -1 */
};

/* What tree.json says of one thread: its calls are its part file's content. */
struct ft_tree_thread {
    uint32_t idx;
    const char *name;
    uint64_t tid;
};

void ft_runfiles_init(struct ft_runfiles *f);

/* The run's files are zstd (names end in .zst) at level; set before any is opened. */
void ft_runfiles_set_compress(struct ft_runfiles *f, int level);

/* Opens path as s (lazy: ft_sink_open_lazy), compressing if the run's files are (the
 * name given has no .zst: it is added). Returns 0 or -errno. */
int ft_runfiles_sink(const struct ft_runfiles *f, struct ft_sink *s, const char *path, int truncate,
                     int lazy);

/* Creates DIR/<id> (mode 0700), locked (see above): run_id if given, else
 * YYYYMMDD-HHMMSS-<pid> from real_ns, with .2, .3, ... appended while taken. Recreates dir
 * if it was removed. Returns 0 or -errno. */
int ft_runfiles_create(struct ft_runfiles *f, const char *dir, const char *run_id, uint64_t pid,
                       uint64_t real_ns);

/* Opens events.jsonl; its sink samples *settled into its mark at each good write. */
int ft_runfiles_open_events(struct ft_runfiles *f, const uint64_t *settled);

/* FLOWTRACE_STDOUT and FLOWTRACE_LOGFILE: every byte of events.jsonl is copied to the
 * process's stdout (reopened through /proc while it runs) and appended to logfile
 * (relative to cwd), which is used only if it is absent or a regular file of this user,
 * reached by its own name (lib/ownfile.h); copy_error then says why not. Best effort. */
void ft_runfiles_open_copies(struct ft_runfiles *f, uint64_t pid, int want_stdout,
                             const char *logfile, const char *cwd);

/* Thread idx's part of the tree, opened on first use; NULL if it cannot be (the error is
 * noted). Valid until ft_runfiles_free(). */
struct ft_sink *ft_runfiles_part(struct ft_runfiles *f, uint32_t idx);

/* The run's output failed with err: events.jsonl (after writing out what it holds, if it
 * still can), its copies and every thread's part stop (ft_sink_stop), and parts of threads seen
 * later are not opened (ft_runfiles_part gives NULL). tree.json and .live are still
 * written when asked. */
void ft_runfiles_stop(struct ft_runfiles *f, int err);

/* Remembers err (negative errno) if it is the first output error. */
void ft_runfiles_note(struct ft_runfiles *f, int err);

/* The first write error of any file still open, or write_err. */
int ft_runfiles_error(const struct ft_runfiles *f);

/* Writes .live (a temporary name, then renamed): the head, the figures, the threads. */
void ft_runfiles_write_live(struct ft_runfiles *f, const char *head, size_t head_len,
                            uint64_t duration_us, uint64_t events, uint64_t calls,
                            const struct ft_tree_thread *threads, size_t n);

/* Writes out what the thread parts hold (for readers of the run while it goes). */
void ft_runfiles_flush_parts(struct ft_runfiles *f);

/* Removes the run's files and its directory (when nothing else is in it): for a run of
 * which nothing could be written, which would otherwise be listed unfinished forever. */
void ft_runfiles_discard(struct ft_runfiles *f);

/* Closes events.jsonl (flushing it); the error is noted and returned (0 if none). */
int ft_runfiles_close_events(struct ft_runfiles *f);

/* Writes tree.json: head (the run's fields up to "threads":[), then each thread with the
 * content of its part (no calls at all when with_calls is 0: after an output error), then
 * "]" and tail (the fields after the threads, starting with a comma, or empty) and "}".
 * Where the file system allows, the first thread's part becomes tree.json (the head, with
 * spaces before "threads" up to whole blocks, inserted in front of it), so that its calls
 * are never on the disk twice; each other part is removed once copied. Returns 0 or the
 * error; a tree cut short is removed, never left. */
int ft_runfiles_write_tree(struct ft_runfiles *f, const char *head, size_t head_len,
                           const struct ft_tree_thread *threads, size_t n, int with_calls,
                           const char *tail, size_t tail_len);

/* The run is no longer written (its tree.json is in place, or never will be): the
 * directory's lock is let go, and readers see it complete, or unfinished. */
void ft_runfiles_unlock(struct ft_runfiles *f);

/* Closes every file; removes the parts. */
void ft_runfiles_free(struct ft_runfiles *f);

#endif
