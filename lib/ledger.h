/* ledger.h - a run's record ledger: what the traced process produced, what reached the
 * files, and what was lost.
 *
 * Every event record the process produced is either in the files or counted as lost:
 * the process reports what it dropped (END: LOST); the writer counts what it received
 * and applied (records), what it received but could not apply (discarded: no run
 * directory; unplaced: the end of a call already closed at a hole in the stream), and
 * knows what reached events.jsonl: the records whose lines were in the buffer when its
 * last write succeeded (the sink samples `settled`). A run rebuilt after its writer died
 * also trusts the process's count of what it sent (END: SENT), since the dead writer may
 * have lost some of it. The ledger is plain counters, owned by the run; the call tree
 * moves `records`, `settled` and `unplaced`, the run the rest.
 */
#ifndef FT_LIB_LEDGER_H
#define FT_LIB_LEDGER_H

#include <stdint.h>

#include "wire.h"

struct ft_ledger {
    uint64_t records; /* event records received and applied */
    /* Records whose output is settled: their line is in the JSONL buffer (or they have
     * none). Lags `records` by the events waiting for their values. */
    uint64_t settled;
    uint64_t discarded;         /* received but never applied (no run directory) */
    uint64_t unplaced;          /* applied to nothing: the end of a call that a hole in the
                                 * stream (GAP) had closed; in no line, so lost */
    uint64_t lib_lost;          /* the process's own count of records it dropped */
    uint64_t lib_sent;          /* END: records that left the process */
    int have_sent;              /* END carried SENT */
    int recovered;              /* rebuilt from a spool after the writer died: trust lib_sent */
    int fail_err;               /* the output stopped after this error (-ENOSPC, ...); 0 if not */
    const uint64_t *jsonl_mark; /* settled records in events.jsonl as of its last good write */
};

/* Whether a record counts in `records` (and so in tracer.events and tracer.lost). */
static inline int
ft_ledger_counted(unsigned kind)
{
    return ft_rec_is_event(kind);
}

/* A frame after the output failed: its records are counted as discarded, nothing else
 * is kept. The frame is still checked: returns 0 or the decoder's error for a malformed
 * one. An open piece ending in a cut record (wire.h) is cut before it (f->hdr.len). */
int ft_ledger_discard(struct ft_ledger *l, struct ft_frame *f);

/* The run's totals: records in the files, and records the process produced that the
 * files lack. Until the run is finished (or failed) the last lines may still be in
 * memory; they count as written. */
void ft_ledger_totals(const struct ft_ledger *l, uint64_t *events, uint64_t *lost);

#endif
