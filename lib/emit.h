/* emit.h - the text of calls: events.jsonl lines and tree.json nodes.
 *
 * Each function appends one piece of text to a buffer and writes nothing else: the call
 * tree decides when and where (calls.c). Lines and nodes reuse the fragments escaped
 * once per code object (codetab.h), per thread (its name) and per run (pid and id).
 */
#ifndef FT_LIB_EMIT_H
#define FT_LIB_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "call.h"
#include "clock.h"

#define FT_EMIT_TAIL_KEPT 128 /* bytes of an EXIT line's duration and tail kept for it */

struct ft_emit {
    const struct ft_clockconv *clock; /* borrowed: the run's tick conversion */
    uint64_t start_ticks;             /* the run's start: tree times are relative to it */
    uint64_t start_real;              /* ... as nanoseconds since the epoch */
    char *run_frag;                   /* ,"pid":P[,"run":"ID"] (owned) */
    size_t run_frag_len;
    /* The milliseconds of the last timestamp written and their digits: successive
     * lines mostly share them, so only the three digits below change. Zero (as the struct
     * starts) is no millisecond of theirs: the first is formatted. */
    uint64_t ts_ms;
    char ts_text[24];
    uint8_t ts_len;
    /* The same for tree start times (milliseconds into the run). */
    uint8_t st_len;
    uint64_t st_ms;
    char st_text[24];
    /* The durationMicros digits and the tail (result, exception, ...) of the call tail_id
     * as its EXIT line wrote them: its node tail, which most often follows, copies them. */
    uint64_t tail_id;
    uint32_t tail_dur_len, tail_len;
    char tail_text[FT_EMIT_TAIL_KEPT + 32];
};

/* Sets run_frag from the run's pid, and its id when with_run (output format 4: lines
 * name their run only where lines of several runs meet, --logfile and --stdout; the run
 * is the directory otherwise). Returns 0 or -ENOMEM. */
int ft_emit_set_run(struct ft_emit *e, uint64_t pid, const char *run_id, int with_run);

void ft_emit_free(struct ft_emit *e);

/* The ENTER line of n, and its EXIT or EXCEPTION line (n's end known), with its
 * destination's fields (a unit's) when it has one. Output format 4: the EXIT or
 * EXCEPTION line names the code by module and function only, without "file", "line" and
 * "parent": its ENTER line (the same "id") says them. */
void ft_emit_enter(struct ft_emit *e, struct ft_buf *b, const struct ft_cthread *t,
                   const struct ft_call *n);
void ft_emit_exit(struct ft_emit *e, struct ft_buf *b, const struct ft_cthread *t,
                  const struct ft_call *n);

/* A tree node: its head up to and including "children":[, and its tail from the
 * closing ] on (n's end and duration known). Output format 2: a node says who called it
 * ("caller") only when its parent is not in the same tree (a unit's call). */
void ft_emit_node_head(struct ft_emit *e, struct ft_buf *b, const struct ft_call *n);
void ft_emit_node_tail(struct ft_emit *e, struct ft_buf *b, const struct ft_call *n);

/* A call's two texts in one pass, where they are written together (most calls): its
 * ENTER line into lines and its node head into tree (after a comma when comma), as
 * ft_emit_enter then ft_emit_node_head write them; its EXIT or EXCEPTION line and its node
 * tail, as ft_emit_exit then ft_emit_node_tail. The numbers both say are formatted once. */
void ft_emit_enter_node(struct ft_emit *e, struct ft_buf *lines, struct ft_buf *tree,
                        const struct ft_cthread *t, const struct ft_call *n, int comma);
void ft_emit_exit_node(struct ft_emit *e, struct ft_buf *lines, struct ft_buf *tree,
                       const struct ft_cthread *t, const struct ft_call *n);

/* Microseconds since the epoch of ticks. */
uint64_t ft_emit_micros(const struct ft_emit *e, uint64_t ticks);

#endif
