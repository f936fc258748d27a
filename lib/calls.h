/* calls.h - the call tree of one run: event records -> calls -> lines and tree nodes.
 *
 * Per thread, a stack of executing frames; per call, a node (call.h) that lives from its
 * start until it and everything under it are written. Output for an event waits for the
 * thread's next event record, so the value records that follow it (arguments, result,
 * exception, memory) are attached first. Nodes stream into their thread's part of the
 * tree as they start and end, except generators and coroutines (one logical call across
 * resumptions) and what follows them: those are held and written, in order, once
 * everything under them has ended. Text is emit.c's; files are runfiles.c's; counting
 * is the ledger's.
 *
 * Observers (units of work) hang on to calls through the observer hooks, registered
 * before the first event: value records the tree does not know, the end of a call that
 * has a destination, and the moment a destination's root call is completely written. The
 * tree never calls an observer otherwise.
 *
 * Work a call of a destination hands to another thread (HANDOFF) becomes a transparent
 * adoption node among its children, which the adopting thread's calls (ADOPT ..
 * ADOPT_END) go under (call.h); out-of-scope framework code that delimits a request
 * (FT_DEF_BOUNDARY) is transparent inside a destination.
 */
#ifndef FT_LIB_CALLS_H
#define FT_LIB_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include "call.h"
#include "codetab.h"
#include "emit.h"
#include "idmap.h"
#include "ledger.h"
#include "runfiles.h"
#include "spans.h"
#include "wire.h"

#define FT_THREAD_IDX_MAX (1u << 20)

/* Where a value record arrives: the call whose start it follows (enter), the call whose
 * end it follows (leave), and the innermost visible call running (cur); any may be NULL. */
struct ft_calls_at {
    struct ft_cthread *thread;
    struct ft_call *enter, *leave, *cur;
};

struct ft_calls_observer {
    void *ctx;
    /* A value record the tree does not render (UNIT, UNIT_END, STATUS, and kinds it does
     * not know). Returns 0 or an error for a malformed record. */
    int (*value)(void *ctx, const struct ft_calls_at *at, const struct ft_rec *rec);
    /* A call with a destination ended (its end and values known). */
    void (*call_ended)(void *ctx, struct ft_call *n, int by_exception);
    /* A destination's root call and everything under it are written to dest->tree. */
    void (*root_done)(void *ctx, struct ft_call *n);
};

struct ft_calls {
    /* Borrowed from the run. */
    const struct ft_codetab *codes;
    struct ft_emit *emit;
    struct ft_runfiles *files;
    struct ft_ledger *ledger;
    uint64_t *last_ticks; /* the run's latest time: records move it forward */
    struct ft_calls_observer obs;
    /* Owned. */
    struct ft_cthread **threads; /* by thread index */
    size_t threads_cap;
    struct ft_idmap gens;       /* suspended generators and coroutines, by frame identity */
    struct ft_idmap spawns;     /* coroutines created but not started: their creator */
    struct ft_idmap handoffs;   /* work handed off by a destination's call, not yet adopted:
                               * its adoption node, by hand-off number */
    uint64_t next_part;         /* names adoption part files */
    struct ft_spans *spans;     /* borrowed, or NULL: calls outside destinations, for exporters */
    struct ft_call *free_nodes; /* nodes to reuse */
    struct ft_buf scratch;      /* value texts are built here */
    uint64_t next_call_id;
    char next_id_text[24]; /* next_call_id + 1 in decimal, counted up as text */
    uint8_t next_id_len;
    uint64_t calls;            /* nodes in the tree */
    uint64_t malformed_values; /* values sent as JSON that were not (values.h) */
    uint64_t max_depth;        /* writer-side filters, from HELLO */
    uint64_t min_ticks;
};

/* The fields above "Owned" must be set by the caller; the rest starts zeroed. */
void ft_calls_free(struct ft_calls *c);

/* Thread idx (0 < idx < FT_THREAD_IDX_MAX), created if new. NULL only on -ENOMEM. */
struct ft_cthread *ft_calls_thread(struct ft_calls *c, uint32_t idx);

/* Thread idx if it exists, else NULL. */
struct ft_cthread *ft_calls_find_thread(const struct ft_calls *c, uint32_t idx);

/* Names the thread (copied; "Thread" when name is NULL). Returns 0 or -ENOMEM. */
int ft_calls_name_thread(struct ft_cthread *t, uint64_t tid, const char *name, size_t len);

/* Applies the event records p[0..*n) of an EVENTS frame of thread t. An open piece
 * (wire.h: more > 0 bytes of its frame still to come) may end in a cut record: the
 * records before it are applied and *n becomes their length. Returns 0, a stream error
 * (FT_EBADRECORD, FT_EUNDEFCODE, ...) or -ENOMEM. */
int ft_calls_events(struct ft_calls *c, struct ft_cthread *t, const uint8_t *p, size_t *n,
                    size_t more);

/* A tick of the writer's clock. A thread that sent nothing for quiet_ticks ticks has
 * nothing more on its way (the library ships what a thread committed at every flush
 * interval, and quiet_ticks spans more than one): the output its last events were
 * waiting with (for value records that could still follow) is written now, so that a
 * program that pauses has all it did on disk. */
void ft_calls_tick(struct ft_calls *c, uint32_t quiet_ticks);

/* Ends every call open on t, as incomplete for reason (a static string). */
void ft_calls_close_thread(struct ft_calls *c, struct ft_cthread *t, const char *reason);

/* Generators and coroutines still suspended at the end: the interpreter closed them when
 * it finished (finalized), else they never finished (reason, a static string). */
void ft_calls_close_generators(struct ft_calls *c, int finalized, const char *reason);

/* Makes n, a call being entered, the root of dest: it and everything under it go there,
 * and it is kept whatever --min-duration says. */
void ft_calls_set_dest(struct ft_call *n, struct ft_dest *dest);

/* Work handed off and never adopted ends with the run (before the threads are closed,
 * so that the calls that handed it can end). */
void ft_calls_release_handoffs(struct ft_calls *c);

/* n, ended, as a span for exporters (spans.h): its visible caller, the thread that ran it
 * when it was handed over, its exception. */
void ft_calls_span(const struct ft_call *n, struct ft_span *out);

#endif
