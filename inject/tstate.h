/* tstate.h - per-thread event buffers and the process-wide buffer pool.
 *
 * Each traced thread owns a struct ft_thread (reached through TLS) and writes records
 * into its current buffer without locks: records are appended at pos, then the
 * buffer's `committed` count is published with a release store, so the flusher thread
 * can ship the committed prefix of a live buffer at any time. A full buffer goes onto
 * the thread's single-producer/single-consumer queue for the flusher, and the thread
 * takes a free buffer from a lock-free LIFO pool (LIFO keeps buffers warm in cache).
 *
 * Back-pressure: when no buffer is free the thread waits for the flusher (bounded by
 * FLOWTRACE_WAIT_TIMEOUT); in drop mode it counts the records it could not write and
 * marks the gap in the stream instead. Memory is bounded by FLOWTRACE_BUFFERS buffers
 * of FLOWTRACE_BUFFER_KB each.
 */
#ifndef FT_INJECT_TSTATE_H
#define FT_INJECT_TSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/wire.h"

#define FT_FULLQ 64      /* full buffers a thread may have waiting for the flusher */
#define FT_WAKE_BATCH 8  /* full buffers a thread queues before it wakes the flusher */

struct ft_buffer {
    size_t committed;   /* bytes of data[] holding whole records; atomic */
    size_t sent;        /* bytes already sent; flusher only */
    uint32_t slot;      /* index in the pool */
    uint32_t next_free; /* free-stack link: slot + 1, or 0 */
    uint64_t pad[5];    /* keep data[] on its own cache line */
    uint8_t data[];
};

struct ft_thread {
    /* Hot: touched by the owning thread on every event. */
    uint8_t *pos;
    uint8_t *end;
    struct ft_buffer *cur; /* atomic: read by the flusher */
    uint64_t events;       /* records written */
    uint64_t lost;         /* records dropped; written by the owner */
    uint64_t gap;          /* records dropped since the last GAP record */

    /* Cold. */
    uint32_t idx;              /* 1.. within the process */
    uint32_t fq_head;          /* atomic; advanced by the flusher */
    uint32_t fq_tail;          /* atomic; advanced by the owner */
    struct ft_buffer *fq[FT_FULLQ];
    int exited;                /* atomic; set when the OS thread is gone */
    int announced;             /* flusher only: THREAD frame sent */
    uint64_t tid;
    char name[128];
    struct ft_thread *next;    /* registry link, under the registry lock */
};

/* The calling thread's state, or NULL. */
extern __thread struct ft_thread *ft_self __attribute__((tls_model("initial-exec")));

/* Sets up the pool for the configured sizes. Returns 0 or -ENOMEM. */
int ft_tstate_init(void);

/* Registers the calling thread (GIL held; once per thread, allocates). Returns the
 * state, also stored in ft_self, or NULL on -ENOMEM. */
struct ft_thread *ft_thread_register(const char *name);

/* Slow path of ft_thread_reserve: queues the current buffer and takes a fresh one.
 * Returns where n bytes may be written, or NULL when the record must be dropped. */
uint8_t *ft_thread_refill(struct ft_thread *t, size_t n);

/* Hot path: no lock, no malloc, no Python. */
static inline uint8_t *
ft_thread_reserve(struct ft_thread *t, size_t n)
{
    if (__builtin_expect(t->pos != NULL && (size_t)(t->end - t->pos) >= n, 1)) {
        return t->pos;
    }
    return ft_thread_refill(t, n);
}

/* Hot path: publishes the bytes written up to p. */
static inline void
ft_thread_commit(struct ft_thread *t, uint8_t *p)
{
    t->pos = p;
    /* Relaxed atomics: plain moves on x86, but readable by the flusher without a race. */
    __atomic_store_n(&t->events, t->events + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&t->cur->committed, (size_t)(p - t->cur->data), __ATOMIC_RELEASE);
}

/* Hot path: appends a two-word record (word0, ticks). */
static inline void
ft_emit(struct ft_thread *t, uint64_t w0, uint64_t ticks)
{
    uint8_t *p = ft_thread_reserve(t, 16);

    if (__builtin_expect(p == NULL, 0)) {
        __atomic_store_n(&t->lost, t->lost + 1, __ATOMIC_RELAXED);
        t->gap++;
        return;
    }
    memcpy(p, &w0, 8);
    memcpy(p + 8, &ticks, 8);
    ft_thread_commit(t, p + 16);
}

/* ---- Flusher side ------------------------------------------------------------------ */

/* Calls fn for every registered thread, under the registry lock. */
void ft_threads_foreach(void (*fn)(struct ft_thread *t, void *arg), void *arg);

/* Removes exited threads whose buffers are all sent, calling fn(t) first. */
void ft_threads_reap(void (*fn)(struct ft_thread *t, void *arg), void *arg);

/* Pops the oldest full buffer of t, or NULL. Flusher only. */
struct ft_buffer *ft_thread_pop_full(struct ft_thread *t);

/* Returns a fully sent buffer to the pool and wakes threads waiting for one. */
void ft_buffer_release(struct ft_buffer *b);

/* Totals across live and reaped threads. */
uint64_t ft_tstate_events(void);
uint64_t ft_tstate_lost(void);
uint64_t ft_tstate_blocked_ns(void);

/* Stops recording in every thread: later records are counted as lost. Any thread. */
void ft_tstate_detach(void);
int ft_tstate_detached(void);

/* After fork, in the child (async-signal-safe): forget the parent's threads and
 * buffers; the calling thread keeps a state with no buffer. */
void ft_tstate_atfork_child(void);

/* Thread exit hook (pthread key destructor): hands the last buffer to the flusher. */
void ft_thread_exit(struct ft_thread *t);

#endif
