/* spool.h - a run's received frames on disk, applied to the run when the writer has time.
 *
 * Formatting JSON costs the writer far more than receiving (about 300 output bytes per
 * 16-byte event), and on a small machine a busy writer slows the traced program down
 * (measured: the untraced call-heavy bench workload took 263 ms of CPU alone and 480 ms
 * beside a CPU-bound process on the other vCPU). So frames are appended to
 * DIR/<run>/raw.ftb as they arrive, which is cheap, and formatted when input pauses or
 * the process has ended. Everything received is on disk at once, in the same format
 * `flowtrace-writer --convert` reads. The spool owns its fd and buffers.
 */
#ifndef FT_WRITER_SPOOL_H
#define FT_WRITER_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/run.h"
#include "lib/wire.h"

struct ft_spool {
    int fd;
    char *path;
    int keep;              /* leave raw.ftb in place when closed */
    int err;               /* first write error (negative errno), sticky */
    struct ft_buf pending; /* appended bytes not yet written */
    uint64_t written;      /* bytes in the file */
    uint64_t formatted;    /* bytes of the file applied to the run */
    struct ft_wire_decoder dec;
    char *rbuf;
};

/* Creates run_dir/raw.ftb. Returns 0 or -errno. */
int ft_spool_open(struct ft_spool *s, const char *run_dir, int keep);

/* Appends one frame (header and payload). Returns 0 or the sticky -errno. */
int ft_spool_append(struct ft_spool *s, const struct ft_frame *f);

/* Bytes received but not yet applied to the run. */
uint64_t ft_spool_backlog(const struct ft_spool *s);

/* Applies up to about max_bytes of the backlog to run (HELLO frames are skipped: the
 * server applied HELLO on arrival). Returns 0, or a negative error with the stream
 * offset of the bad frame in *offset. */
int ft_spool_format(struct ft_spool *s, struct ft_run *run, size_t max_bytes, uint64_t *offset);

/* The run's output failed (ft_run_fail): feeds it the frames received but not yet
 * applied, on disk and in memory, so that it counts their records and sees END. Best
 * effort: what cannot be read is not counted (END still says how many were sent). */
void ft_spool_discard(struct ft_spool *s, struct ft_run *run);

/* Closes, and removes raw.ftb unless keep. */
void ft_spool_close(struct ft_spool *s);

#endif
