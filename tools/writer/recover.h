/* recover.h - finishing the runs of a writer that died.
 *
 * A writer spools each run's frames to DIR/<run>/raw.ftb as they arrive and removes the
 * spool once the run's files are complete (tree.json). If the writer dies first (killed,
 * out of memory), the run is left with its spool and no tree.json; the traced process
 * then leaves the END it could not send as DIR/<run>/end.ftb. Recovery rebuilds such a
 * run from those two files with the same code as the live writer: every record in the
 * spool is written, and the records the process sent that the spool lacks (the writer's
 * unwritten memory at its death) are counted as lost. Runs whose process still runs are
 * left alone.
 */
#ifndef FT_WRITER_RECOVER_H
#define FT_WRITER_RECOVER_H

struct ft_run;

/* Feeds every whole frame of the file at path (not followed if a symlink) to run; sets
 * *saw_hello if one was HELLO. Returns 0, the first stream error, or FT_ETRUNCATED if the
 * file ends inside a frame. A missing file is not an error. */
int ft_recover_feed(struct ft_run *run, const char *path, int *saw_hello);

/* One rebuilt (or skipped) run, for the caller to report. */
struct ft_recovered {
    const char *path; /* DIR/<run> */
    int err;          /* 0, or why the run could not be rebuilt */
    int running;      /* its process still runs: left alone */
    int stream_err;   /* the spool ended in a bad or cut frame (kept up to it) */
    unsigned long long events, lost;
};

/* Rebuilds every unfinished run under dir; calls report for each. Returns the number of
 * runs rebuilt, or -errno if dir cannot be read. */
int ft_recover_dir(const char *dir, double tsc_ns_per_tick,
                   void (*report)(const struct ft_recovered *r));

#endif
