/* ledger.c - how many records a run's files hold, and how many they lack. */
#include "ledger.h"

int
ft_ledger_discard(struct ft_ledger *l, struct ft_frame *f)
{
    struct ft_rec rec;
    size_t pos = 0;
    int rc;

    if (f->hdr.type != FT_FRAME_EVENTS) {
        return 0;
    }
    while ((rc = ft_rec_next(f->payload, f->hdr.len, &pos, &rec)) == 1) {
        l->discarded += (uint64_t)ft_ledger_counted(rec.kind);
    }
    if (rc < 0 && f->more != 0 && ft_wire_rec_cut(f->payload + pos, f->hdr.len - pos, f->more)) {
        f->hdr.len = (uint32_t)pos; /* an open piece's cut record: it comes again, whole */
        return 0;
    }
    return rc;
}

void
ft_ledger_totals(const struct ft_ledger *l, uint64_t *events, uint64_t *lost)
{
    uint64_t received = l->records + l->discarded + l->unplaced;
    /* A live writer receives everything the process sends until END. Only a run rebuilt
     * from the spool of a writer that died may lack records the process sent. */
    uint64_t sent = l->recovered && l->have_sent && l->lib_sent > received ? l->lib_sent : received;
    uint64_t written = l->records;

    /* Only a failure makes the lines still in memory final: what the file held then. */
    if (l->fail_err != 0) {
        written = l->jsonl_mark != NULL ? *l->jsonl_mark : 0;
    }
    if (written > sent) {
        written = sent;
    }
    *events = written;
    /* The process's own count comes from the stream: a hostile one must not wrap. */
    *lost =
        l->lib_lost > UINT64_MAX - (sent - written) ? UINT64_MAX : l->lib_lost + (sent - written);
}
