/* units.h - units of work inside a run: their files, outcome, and what is kept.
 *
 * An observer of the call tree (calls.h). A UNIT record after a call makes that call the
 * root of a unit (unless it is already inside one: the outermost wins): the unit gives
 * it a destination (call.h), so every call under it, and every JSONL line of those
 * calls, goes to DIR/<run>/units/<id>/ (tree.json, events.jsonl) instead of the run's
 * files. When the root call's subtree has been written the unit is done: its outcome is
 * decided, its files are kept or removed (--keep failed keeps only failed units'), and
 * its row is appended to units.jsonl and to the rows the writer puts in the index. Only
 * open units take memory beyond their row.
 */
#ifndef FT_LIB_UNITS_H
#define FT_LIB_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "calls.h"
#include "emit.h"
#include "ledger.h"
#include "runfiles.h"
#include "spans.h"
#include "unitrow.h"

struct ft_run; /* the run the units belong to, opaque here */
struct ft_unit;

/* A finished unit as an exporter sees it (run.h's ft_run_opts.on_unit); valid during the call. */
struct ft_unit_export {
    const struct ft_unit_row *row;
    uint64_t root;             /* the unit's call id: spans whose parent it is hang from it */
    uint64_t start_ns, end_ns; /* since the epoch */
    const char *thread;        /* the thread it ran in */
    const char *exc;           /* {"type","module","message"} of the exception that failed it */
    const char *remote, *agent;
    const char *traceparent, *tracestate; /* the request's W3C trace context, or NULL */
    const char *route;                    /* the request's route template, if known */
    const struct ft_spans *spans;         /* its calls kept (sorted); offered - n left out */
};

struct ft_units {
    /* Borrowed from the run; set by ft_units_start. */
    const struct ft_emit *emit;
    struct ft_runfiles *files;
    const struct ft_ledger *ledger;
    uint64_t pid;
    const char *python;
    int keep; /* enum ft_keep */
    /* An exporter (run.h's ft_run_opts), or none: each unit, with up to span_limit of its
     * calls, is passed to on_unit(on_unit_ctx, run, ...) when it is done. */
    size_t span_limit;
    void (*on_unit)(void *ctx, const struct ft_run *r, const struct ft_unit_export *u);
    void *on_unit_ctx;
    const struct ft_run *run;
    /* Sampling (run.h's ft_run_opts.sample): each unit is sampled with probability
     * sample_ppm / 1e6, decided when it starts; then a unit's files are kept if it
     * failed or was sampled, whatever keep says. A unit not known at its start to be kept
     * writes its files only once its text outgrows its buffers, so one that ends kept by
     * nothing costs no file at all. */
    int sampling;
    uint32_t sample_ppm;
    uint64_t sample_state;
    int dir_made; /* DIR/<run>/units exists */
    /* Owned. */
    uint64_t next_id;
    struct ft_unit *open; /* units still running */
    struct ft_sink file;  /* units.jsonl, opened with the first finished unit */
    int file_open;
    struct ft_unit_row *rows; /* finished units, for the index */
    size_t nrows, caprows;
    uint64_t failed; /* finished units whose outcome is failed or error */
};

/* Registers the units as c's observer, with the run's state they read. */
void ft_units_start(struct ft_units *u, struct ft_calls *c, const struct ft_emit *emit,
                    struct ft_runfiles *files, const struct ft_ledger *ledger, uint64_t pid,
                    const char *python, int keep);

/* At the run's end every unit's root has ended; one that was never written (an output
 * error) is removed. Closes units.jsonl. */
void ft_units_finish(struct ft_units *u);

/* The run's output failed with err: the files of the units running stop where they are
 * (they will not be kept), and units that start from now on get none; every unit is
 * still followed to its end and gets its row in units.jsonl and the index. */
void ft_units_stop(struct ft_units *us, int err);

/* Writes out the lines of the units running and units.jsonl. */
void ft_units_flush(struct ft_units *u);

void ft_units_free(struct ft_units *u);

#endif
