/* spans.h - a bounded choice of the calls of a unit of work (or of a run outside its
 * units), for exporters that send calls as spans (OTLP).
 *
 * A unit may make millions of calls; an exporter sends at most `limit` of them and says
 * how many it left out. The calls kept are the shallowest, ties to the earliest, so the
 * set is closed under "caller of": a caller is shallower than its callees and ends after
 * them, so whenever it is offered, any callee kept is deeper than it and gives way. A
 * max-heap on (depth, start) makes an offer O(log limit); memory is `limit` spans,
 * allocated on the first offer. Nothing here knows the clock or the output format.
 */
#ifndef FT_LIB_SPANS_H
#define FT_LIB_SPANS_H

#include <stddef.h>
#include <stdint.h>

struct ft_code;

struct ft_span {
    uint64_t id;                /* call id */
    uint64_t parent;            /* the caller's call id (the nearest with a level), 0: none */
    const struct ft_code *code; /* borrowed: the run's code table outlives the spans */
    const char *thread;  /* the thread that ran it, when another than its unit's (borrowed) */
    uint64_t start, end; /* ticks */
    char *exc; /* {"type":..,"module":..,"message":..} of the exception that ended it (owned) */
    uint32_t depth;
};

struct ft_spans {
    struct ft_span *v; /* a max-heap on (depth, start) until ft_spans_sort */
    size_t n, limit;
    uint64_t offered; /* calls offered: offered - n were left out */
};

/* An empty set that keeps at most limit spans (0: keeps none, only counts). */
void ft_spans_init(struct ft_spans *s, size_t limit);

/* Offers a finished call (sp->exc is copied). Returns 0, or -ENOMEM (the call is then
 * counted as left out). */
int ft_spans_offer(struct ft_spans *s, const struct ft_span *sp);

/* Orders the kept spans by start, then id (callers before callees); no more offers. */
void ft_spans_sort(struct ft_spans *s);

void ft_spans_free(struct ft_spans *s);

#endif
