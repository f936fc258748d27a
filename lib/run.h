/* run.h - one traced process's stream turned into its output files.
 *
 * A run consumes decoded frames in order (ft_run_frame) and writes DIR/<run-id>/:
 * events.jsonl as events arrive, and tree.json when the run finishes. The tree is
 * streamed to one part file per thread while the run is live, so memory stays
 * proportional to call depth, not to the number of calls. The caller owns the run:
 * ft_run_new(), then frames, then ft_run_finish() exactly once, then ft_run_free().
 * Nothing here prints or exits; errors are returned.
 */
#ifndef FT_LIB_RUN_H
#define FT_LIB_RUN_H

#include <stdint.h>

#include "spans.h"
#include "wire.h"

struct ft_run;
struct ft_unit_export; /* units.h */
struct ft_unit_row;    /* unitrow.h */

struct ft_run_opts {
    const char *dir;        /* output root; must exist. Borrowed for the run's life. */
    const char *run_id;     /* NULL: derived from the start time and pid */
    double tsc_ns_per_tick; /* the writer's TSC calibration, used until anchors span 1 s */
    int copies;             /* honour HELLO's MIRROR_STDOUT and LOGFILE: only for a live
                             * process (not a conversion, a rebuild, or a fuzzer's input) */
    int compress;           /* write events.jsonl.zst and tree.json.zst (zstd) ... */
    int zlevel;             /* ... at this level */
    /* Exporters (OTLP): each finished unit is passed to on_unit(ctx, ...) with up to
     * span_limit of its calls (spans.h), and ft_run_spans() gives the run's calls
     * outside units once it is finished. 0: nothing is collected, at no cost. */
    size_t span_limit;
    void (*on_unit)(void *ctx, const struct ft_run *r, const struct ft_unit_export *u);
    void *ctx;
    /* --sample RATE (FLOWTRACE_SAMPLE): keep the files of sample_ppm in a million of the
     * units that did not fail, and of every failed one (units.h); 0 sampling: keep
     * says. */
    int sampling;
    uint32_t sample_ppm;
};

/* The zstd level of --compress when none is given: chosen by measurement (docs/format.md). */
#define FT_ZLEVEL_DEFAULT 1

/* A read-only view of a run's state, for the index, the CLI and messages. */
struct ft_run_info {
    const char *id;   /* NULL until HELLO has been processed */
    const char *path; /* DIR/<id> */
    const char *argv; /* NUL-separated */
    uint64_t argv_len;
    const char *python;
    const char *cwd;
    const char *parent_run;
    uint64_t pid, ppid;
    uint64_t start_us; /* wall clock, microseconds since the epoch */
    uint64_t duration_us;
    int how; /* enum ft_end_how, 0 while running */
    int have_status;
    int status;
    int signal;
    uint64_t calls;                 /* ENTER lines written */
    uint64_t events;                /* event records received */
    uint64_t lost;                  /* records the tracer reported lost, plus any the writer lost */
    int write_err;                  /* first output error (negative errno), 0 if none */
    uint64_t units;                 /* units of work finished */
    uint64_t units_failed;          /* ... that failed (outcome failed or error) */
    const struct ft_unit_row *rows; /* their rows (ft_run_units) */
    size_t nrows;
    int fail_err;           /* the error that stopped the run's output (ft_run_fail), or 0 */
    int discarded;          /* nothing of it could be written: no files left (path is where
                             * they were, its directory removed once empty) */
    const char *copy_error; /* why --logfile was not written (not the user's, a link), or NULL */
    const char *exc_type, *exc_module, *exc_msg; /* the uncaught exception that ended it */
};

/* The units finished so far, in order of their end. Valid until the next frame. */
void ft_run_units(const struct ft_run *r, const struct ft_unit_row **rows, size_t *n);

/* The run's calls outside its units, for exporters, once ft_run_finish() has run (NULL
 * if none were collected). Valid until ft_run_free(). */
const struct ft_spans *ft_run_spans(struct ft_run *r);

/* A tick of this run's clock (a span's start or end) as nanoseconds since the epoch. */
uint64_t ft_run_real_ns(const struct ft_run *r, uint64_t ticks);

/* Allocates a run. Returns NULL only on -ENOMEM. */
struct ft_run *ft_run_new(const struct ft_run_opts *opts);

/* Processes one frame. Returns 0, or a negative error for a frame that breaks the
 * protocol (FT_EBADFRAME, FT_EBADRECORD, FT_EORDER, FT_EUNDEFCODE, FT_EBADVERSION) or an
 * output failure (-errno while creating the run directory). After an error the caller
 * should stop feeding frames and call ft_run_finish(). An open piece (wire.h, f->more >
 * 0) is applied up to a cut record at its end, and f->hdr.len cut to what was applied:
 * the caller gives the rest back to its decoder (ft_wire_decoder_unread). */
int ft_run_frame(struct ft_run *r, struct ft_frame *f);

/* Whether an END frame has been processed (the writer then sends ACK after finishing). */
int ft_run_ended(const struct ft_run *r);

/* Sets the parent run id (borrowed string copied). */
void ft_run_set_parent(struct ft_run *r, const char *parent_id);

/* Closes every open call, writes tree.json and closes the files. how_if_open is the end
 * recorded when no END frame arrived (FT_END_KILLED, FT_END_DETACHED), and reason is a
 * short text stored with incomplete calls and in the tree ("killed", "stream error: ...";
 * may be NULL). Returns 0 or the first output error. Safe to call once; later calls do
 * nothing. */
int ft_run_finish(struct ft_run *r, int how_if_open, const char *reason);

void ft_run_get_info(const struct ft_run *r, struct ft_run_info *info);

/* Writes out what the run's files hold in memory: events.jsonl (and its copies), the
 * lines of the units running, units.jsonl. Readers then see every event applied so far
 * as whole lines. Errors are kept for ft_run_error(). */
void ft_run_flush(struct ft_run *r);

/* A tick of the writer's clock (see ft_calls_tick): the last events of threads quiet for
 * quiet_ticks ticks are written. */
void ft_run_tick(struct ft_run *r, uint32_t quiet_ticks);

/* The first output error of the run's files (negative errno), or 0. Cheap. */
int ft_run_error(const struct ft_run *r);

/* The run's output failed with err (-ENOSPC, -EACCES, ...; the first call wins): no call
 * is written any more (events.jsonl, its copies, the tree's parts, units' files). Later
 * frames are still applied, so that every unit of work still ends with its outcome and
 * gets its row (units.jsonl, written when there is room, and ft_run_units for the
 * index); their records count as lost. ft_run_finish() then writes, if it can, a
 * tree.json without call nodes that says why ("outputError") and how many records the
 * files lack (tracer.lost). events.jsonl keeps its whole lines up to the last write that
 * succeeded. Also valid for a run whose HELLO could not create its directory: then
 * nothing is written and later frames are only checked and counted. */
void ft_run_fail(struct ft_run *r, int err);

/* Records of this run's stream that will never be applied (a dropped backlog). */
void ft_run_add_discarded(struct ft_run *r, uint64_t records);

/* The run is rebuilt from the spool of a writer that died: records the process says it
 * sent (END: SENT) but the spool lacks count as lost, and reason (copied) is recorded
 * as the run's endReason. Call before the first frame. */
void ft_run_set_recovered(struct ft_run *r, const char *reason);

void ft_run_free(struct ft_run *r);

#endif
