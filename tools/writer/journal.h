/* journal.h - a run's stream as received, on disk: DIR/<run>/raw.ftb (raw.ftb.zst when
 * the run is compressed: each write one whole zstd frame, as the run's files are, so a
 * journal cut short by a dying writer reads up to its last whole write).
 *
 * The writer applies every frame to its run as it arrives (lib/run.h); the journal keeps
 * the same frames, appended in order, for two uses only: `flowtrace-writer --recover`
 * rebuilds a run from it when the writer died before the process ended, and
 * `--keep-raw` keeps it. It is never read while the writer lives, and removed when the
 * run is complete unless kept. Appends are buffered (at most JOURNAL_FLUSH_AT bytes, and
 * flushed at each tick of the writer's output timer); the format is the one
 * `flowtrace-writer --convert` reads. The journal owns its fd and its buffer.
 */
#ifndef FT_WRITER_JOURNAL_H
#define FT_WRITER_JOURNAL_H

#include <stdint.h>

#include "lib/buf.h"
#include "lib/wire.h"

struct ft_journal {
    int fd;
    char *path;
    int keep;     /* leave raw.ftb in place when closed */
    int compress; /* raw.ftb.zst, zstd at zlevel */
    int zlevel;
    int err;               /* first write error (negative errno), sticky */
    struct ft_buf pending; /* appended bytes not yet written */
    struct ft_buf zout;    /* compress: pending as a zstd frame */
    uint64_t written;      /* bytes in the file */
};

/* Creates run_dir/raw.ftb, or raw.ftb.zst (zstd at zlevel) if compress. Returns 0 or
 * -errno. */
int ft_journal_open(struct ft_journal *j, const char *run_dir, int keep, int compress, int zlevel);

/* Appends one frame (header and payload). Returns 0 or the sticky -errno. */
int ft_journal_append(struct ft_journal *j, const struct ft_frame *f);

/* Writes out what is buffered. Returns 0 or the sticky -errno. */
int ft_journal_flush(struct ft_journal *j);

/* Closes, and removes raw.ftb unless keep. */
void ft_journal_close(struct ft_journal *j);

#endif
