/* run_fail.c - a run whose output failed, and how many records a run's files lack.
 *
 * Every record the traced process produced is either in the files or counted as lost:
 * the process reports what it dropped (END: LOST); the writer counts what it received,
 * and knows what reached events.jsonl (the records counted when its last write
 * succeeded). A run rebuilt after its writer died also trusts the process's count of
 * what it sent (END: SENT), since the dead writer may have lost some of it.
 */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "run_int.h"

void
ft_run_fail(struct ft_run *r, int err)
{
    if (r->fail_err == 0) {
        r->fail_err = err != 0 ? err : -EIO;
        ft__run_note_write_err(r, r->fail_err);
    }
}

void
ft_run_add_discarded(struct ft_run *r, uint64_t records)
{
    r->discarded += records;
}

void
ft_run_set_recovered(struct ft_run *r, const char *reason)
{
    r->recovered = 1;
    if (reason != NULL && r->end_reason == NULL) {
        r->end_reason = strdup(reason);
    }
}

/* A frame after the output failed: its records are counted, nothing else is kept. The
 * stream is still checked: a malformed frame is an error as before. */
int
ft__run_discard(struct ft_run *r, const struct ft_frame *f)
{
    struct ft_rec rec;
    size_t pos = 0;
    int rc;

    if (f->hdr.type != FT_FRAME_EVENTS) {
        return 0;
    }
    while ((rc = ft_rec_next(f->payload, f->hdr.len, &pos, &rec)) == 1) {
        r->discarded += ft__rec_counted(rec.kind);
    }
    return rc;
}

void
ft__run_accounting(const struct ft_run *r, uint64_t *events, uint64_t *lost)
{
    uint64_t received = r->records + r->discarded;
    /* A live writer receives everything the process sends until END. Only a run rebuilt
     * from the spool of a writer that died may lack records the process sent. */
    uint64_t sent = r->recovered && r->have_sent && r->lib_sent > received ? r->lib_sent : received;
    /* Lines reach events.jsonl when its buffer is written; until the run is finished
     * the last ones may still be in memory, and only a failure makes that final. */
    uint64_t written = r->fail_err != 0 ? r->jsonl.mark : r->records;

    if (written > sent) {
        written = sent;
    }
    *events = written;
    /* The process's own count comes from the stream: a hostile one must not wrap. */
    *lost =
        r->lib_lost > UINT64_MAX - (sent - written) ? UINT64_MAX : r->lib_lost + (sent - written);
}
