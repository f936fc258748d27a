/* tstate.h - per-thread event buffers and the thread registry.
 *
 * Each traced thread owns a struct ft_thread (reached through TLS) and one buffer. The
 * hot path appends records at pos without any lock, then publishes where the buffer's
 * whole records end (`committed`) with a release store. When the buffer is full the thread ships it
 * to the writer itself (the ship_full hook: ship.h) and starts over in the same, cache-warm buffer; the
 * flusher thread only wakes every FLOWTRACE_FLUSH_INTERVAL to ship what idle threads
 * have committed. (A flusher woken for every full buffer cost 1.45x the empty-hook floor
 * on a call-heavy program on two cores, shipping from the thread itself 1.20x: see
 * docs/architecture.md.)
 *
 * Back-pressure: shipping blocks while the writer is behind (bounded by
 * FLOWTRACE_WAIT_TIMEOUT). In drop mode a buffer that cannot be shipped at once is
 * counted as lost and a GAP record marks the hole.
 *
 * The buffers know nothing of the connection: what shipping and the process's lifecycle
 * must do when a buffer fills or a thread ends comes in through ft_tstate_set_hooks, at
 * activation (ship.c, main.c).
 *
 * Memory: one buffer per traced thread, FLOWTRACE_BUFFER_KB (64 KiB) to begin with. A
 * thread that fills its buffer within FT_BUFFER_FAST_NS gets it doubled, up to 16 times
 * that size and at most 1 MiB (unless FLOWTRACE_BUFFER_KB is bigger; never in drop
 * mode, where a buffer is shipped only if it fits the socket at once): a call-heavy
 * thread then ships 1 MiB per sendmsg, which costs the traced process a fifth less
 * kernel time than 64 KiB on a call-heavy program (waking the writer, once per send,
 * is most of a send's cost). The address range for the largest size is reserved at
 * once, so a buffer grows in place and only the pages used are ever backed.
 */
#ifndef FT_INJECT_TSTATE_H
#define FT_INJECT_TSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/wire.h"
#include "pyapi.h"

#define FT_REGION_DEPTH 32 /* regions marked per thread, nested; deeper ones only count */
#define FT_UNWOUND_MAX  32 /* frames one exception leaves whose lines are followed */

struct ft_thread {
    /* Hot: touched by the owning thread on every event. */
    uint8_t *pos;
    uint8_t *end;
    uint8_t *data;      /* the buffer */
    uint8_t *committed; /* atomic: where data's whole records end (a pointer: the hot path
                         * stores what it has; ft_thread_committed gives the length) */
    uint64_t events;    /* atomic (relaxed): events written (ft_rec_is_event) */
    uint64_t lost;      /* atomic (relaxed): records dropped */
    uint64_t gap;       /* records dropped since the last GAP record; owner only */
    uint64_t unmarked;  /* records lost by another than the owner (a flush the writer did
                         * not take) whose GAP has not gone out yet; under the send lock */

    /* Cold. */
    size_t cap;         /* bytes of data in use: grows for a busy thread (tstate.c) */
    uint64_t filled_ns; /* CLOCK_MONOTONIC when the buffer last started over */
    char *scratch;      /* where values are rendered before they are written */
    size_t scratch_cap;
    int exc_armed; /* 3.8-3.11: a trace function waits for this exception's details */
    /* 3.8-3.11: the frames of the UNWIND records written since the last EXC, innermost
     * first (identities only; more than FT_UNWOUND_MAX: not followed), whose lines the
     * exception's traceback corrects (record.c). */
    void *unwound[FT_UNWOUND_MAX];
    unsigned nunwound;
    int region; /* regions open on this thread (region.h); FLOWTRACE_START=manual records
                    * only while > 0 */
    uint64_t region_id[FT_REGION_DEPTH]; /* their code ids, innermost last */
    int profile_lost;  /* the program's own profile function replaced ours for good */
    int profile_check; /* 3.11: see, at the next trace event, what profile function is set */
    Py_tracefunc their_profile; /* the program's profile function, chained after ours */
    int profile_skip;           /* 3.11: theirs is not given sys.setprofile's c_return */
    size_t sent;                /* bytes of data already shipped; under the send lock */
    uint32_t idx;               /* 1.. within the process */
    int announced;              /* THREAD frame sent; under the send lock */
    /* Units (owner only): frames of unit code executing here (a unit's call and the
     * framework calls it goes through), and whether the thread runs work a unit handed
     * off (handoff.h). Work handed off from here belongs to a unit when either is set. */
    uint32_t unit_frames;
    uint8_t adopted;
    void *environ; /* the outermost WSGI request's environ during its call (borrowed) */
    uint64_t tid;
    char name[128];
    struct ft_thread *next; /* registry link, under the registry lock */
};

/* The calling thread's state, or NULL. */
extern __thread struct ft_thread *ft_self __attribute__((tls_model("initial-exec")));

/* What the buffers need from the layers above them. */
struct ft_tstate_hooks {
    /* The owner's buffer is full: ships it, waiting for the writer if it is behind (in
     * drop mode only if it fits at once), and returns the number of events that could
     * not be shipped (the buffers count them lost and mark the hole with a GAP record).
     * The buffer is empty afterwards either way. */
    uint64_t (*ship_full)(struct ft_thread *t);
    /* Ships what t has committed, then data (whole records too big for a buffer) as a
     * frame of its own; event: data ends with an event record. */
    void (*ship_big)(struct ft_thread *t, const void *data, size_t len, int event);
    /* Ships what t has committed, now (--flush-every-call). */
    void (*ship_now)(struct ft_thread *t);
    /* The OS thread is ending: its last records and THREAD_END. */
    void (*thread_end)(struct ft_thread *t);
    /* A forked child records for the first time: connect it as a new run. Returns 0, or
     * -errno (then the child stays untraced). GIL held. */
    int (*child_connect)(void);
    /* The calling thread was just registered (ft_thread_register), before it records
     * anything: checks what per-thread facts the hot path relies on. NULL: none. */
    void (*thread_started)(void);
};

/* Sets up thread-exit handling and the hooks (copied). Returns 0 or -ENOMEM. GIL held,
 * at activation, before any thread registers. */
int ft_tstate_init(const struct ft_tstate_hooks *hooks);

/* Registers the calling thread (GIL held; once per thread, allocates its buffer).
 * Returns the state, also stored in ft_self, or NULL on -ENOMEM. */
struct ft_thread *ft_thread_register(const char *name);

/* Slow path of ft_thread_reserve: ships the full buffer and starts over. Returns where
 * n bytes may be written, or NULL when the record must be dropped. */
uint8_t *ft_thread_refill(struct ft_thread *t, size_t n);

/* Hot path: no lock, no malloc, no Python. */
static inline uint8_t *
ft_thread_reserve(struct ft_thread *t, size_t n)
{
    if (__builtin_expect((size_t)(t->end - t->pos) >= n, 1)) {
        return t->pos;
    }
    return ft_thread_refill(t, n);
}

/* Hot path: publishes the bytes written up to p (records that are not events). */
static inline void
ft_thread_publish(struct ft_thread *t, uint8_t *p)
{
    t->pos = p;
    __atomic_store_n(&t->committed, p, __ATOMIC_RELEASE);
}

/* The bytes of t's data holding whole records (acquire: they are all there to read).
 * Any thread. */
static inline size_t
ft_thread_committed(struct ft_thread *t)
{
    return (size_t)(__atomic_load_n(&t->committed, __ATOMIC_ACQUIRE) - t->data);
}

/* Nothing committed: the owner starts over at the beginning of its buffer. */
static inline void
ft_thread_uncommit(struct ft_thread *t)
{
    __atomic_store_n(&t->committed, t->data, __ATOMIC_RELEASE);
}

/* Hot path: publishes the bytes written up to p, which end with one event record
 * (ft_rec_is_event). */
static inline void
ft_thread_commit(struct ft_thread *t, uint8_t *p)
{
    /* Only this thread writes events; others read it relaxed. On x86-64 one add to memory
     * (readers see an aligned 8-byte value whole), else a relaxed store. */
#if defined(__x86_64__)
    __asm__("addq $1, %0" : "+m"(t->events));
#else
    __atomic_store_n(&t->events, t->events + 1, __ATOMIC_RELAXED);
#endif
    ft_thread_publish(t, p);
}

/* Hot path: room for an event's n bytes, or NULL with the event counted as lost (a GAP
 * record will mark the hole). */
static inline uint8_t *
ft_thread_reserve_event(struct ft_thread *t, size_t n)
{
    uint8_t *p = ft_thread_reserve(t, n);

    if (__builtin_expect(p == NULL, 0)) {
        __atomic_store_n(&t->lost, t->lost + 1, __ATOMIC_RELAXED);
        t->gap++;
    }
    return p;
}

/* At least need bytes of scratch space for rendering values (t->scratch). Returns 0 or
 * -ENOMEM. Grows only for the biggest parameter list seen so far. */
int ft_thread_scratch(struct ft_thread *t, size_t need);

/* The ship_big and ship_now hooks (emit.h uses them). */
void ft_thread_ship_big(struct ft_thread *t, const void *data, size_t len, int event);
void ft_thread_ship_now(struct ft_thread *t);

/* ---- For shipping and the lifecycle --------------------------------------------------- */

/* Calls fn for every registered thread, under the registry lock. */
void ft_threads_foreach(void (*fn)(struct ft_thread *t, void *arg), void *arg);

/* Totals across live and exited threads. */
uint64_t ft_tstate_events(void);
uint64_t ft_tstate_lost(void);
void ft_tstate_add_blocked(uint64_t ns);
uint64_t ft_tstate_blocked_ns(void);

/* Stops recording in every thread: later records are counted as lost. Any thread. */
void ft_tstate_detach(void);
int ft_tstate_detached(void);

/* Before a new connection in the same process (control.h: recording started again after
 * a stop): every thread's buffer is empty, counts start from 0, nothing is announced.
 * GIL held, after END (nothing is being shipped). */
void ft_tstate_restart(void);

/* After fork, in the child (async-signal-safe): forget the parent's other threads; the
 * calling thread keeps its state with an empty buffer, and its next record calls the
 * child_connect hook first. */
void ft_tstate_atfork_child(void);

/* Whether this is a forked child that has not connected yet (any thread). */
int ft_tstate_fork_pending(void);

/* A forked child connects now (its first record, or its end): the child_connect hook,
 * once. Returns 0, or -errno with recording detached. GIL held. */
int ft_tstate_child_connect(void);

#endif
