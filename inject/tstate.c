/* tstate.c - per-thread buffers, the lock-free buffer pool, and the thread registry. */
#define _GNU_SOURCE
#include "tstate.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "flush.h"
#include "lifecycle.h"
#include "lib/clock.h"
#include "log.h"

__thread struct ft_thread *ft_self __attribute__((tls_model("initial-exec")));

#define LOAD(p)        __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v)    __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ADD(p, v)      __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define CAS(p, e, v)   __atomic_compare_exchange_n((p), (e), (v), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

static struct {
    uint8_t *base;      /* reserved for max buffers; pages are touched only when used */
    size_t bufsz;       /* header + data */
    size_t datasz;
    uint32_t max;
    uint32_t used;      /* atomic: slots handed out at least once */
    uint64_t head;      /* atomic: generation << 32 | (slot + 1); 0 when empty */
    uint32_t nfree;     /* atomic: buffers on the free stack */
    uint32_t progress;  /* futex word: bumped whenever the flusher frees something */
    uint32_t waiters;   /* atomic */
} pool;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ft_thread *threads;
static uint32_t next_idx;   /* atomic */
static pthread_key_t exit_key;
static int detached;        /* atomic */
static uint64_t blocked_ns; /* atomic */
static uint64_t reaped_events, reaped_lost; /* under reg_lock */

static void
key_destructor(void *p)
{
    ft_thread_exit(p);
}

int
ft_tstate_init(void)
{
    size_t len;

    pool.bufsz = ft_cfg.buffer_size;
    pool.datasz = pool.bufsz - sizeof(struct ft_buffer);
    pool.max = ft_cfg.max_buffers;
    len = pool.bufsz * pool.max;
    /* Reserve address space only; the kernel backs pages as buffers are first used. */
    pool.base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (pool.base == MAP_FAILED) {
        pool.base = NULL;
        return -ENOMEM;
    }
    if (pthread_key_create(&exit_key, key_destructor) != 0) {
        return -ENOMEM;
    }
    return 0;
}

static inline struct ft_buffer *
slot_buffer(uint32_t slot)
{
    return (struct ft_buffer *)(pool.base + (size_t)slot * pool.bufsz);
}

static void
futex_wait(uint32_t *word, uint32_t seen, uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};

    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

static void
futex_wake_all(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static struct ft_buffer *
pool_try_take(void)
{
    uint64_t h = LOAD(&pool.head);
    uint32_t u;

    while ((uint32_t)h != 0) {
        struct ft_buffer *b = slot_buffer((uint32_t)h - 1);
        uint64_t nh = (((h >> 32) + 1) << 32) | __atomic_load_n(&b->next_free, __ATOMIC_RELAXED);
        if (CAS(&pool.head, &h, nh)) {
            ADD(&pool.nfree, (uint32_t)-1);
            return b;
        }
    }
    u = LOAD(&pool.used);
    while (u < pool.max) {
        if (CAS(&pool.used, &u, u + 1)) {
            struct ft_buffer *b = slot_buffer(u);
            b->slot = u;
            return b;
        }
    }
    return NULL;
}

/* Waits until the flusher frees something, or the wait bound passes. Returns 0 to try
 * again, -ETIMEDOUT when the bound has passed (the process is then detached). */
static int
wait_for_progress(uint64_t *waited)
{
    uint32_t seen = LOAD(&pool.progress);
    uint64_t t0 = ft_clock_ns(CLOCK_MONOTONIC), slice = 100000000u, dt;

    if (LOAD(&detached)) {
        return -ECANCELED;
    }
    ft_flush_wake();
    ADD(&pool.waiters, 1);
    futex_wait(&pool.progress, seen, slice);
    ADD(&pool.waiters, (uint32_t)-1);
    dt = ft_clock_ns(CLOCK_MONOTONIC) - t0;
    ADD(&blocked_ns, dt);
    *waited += dt;
    if (*waited >= ft_cfg.wait_ns) {
        ft_warn("the writer has not taken events for %.0f s; tracing stops (see "
                "FLOWTRACE_WAIT_TIMEOUT)", (double)*waited / 1e9);
        ft_flush_note_lost("writer too slow: wait timeout");
        ft_tstate_detach();
        return -ETIMEDOUT;
    }
    return 0;
}

static struct ft_buffer *
pool_take(int may_wait)
{
    uint64_t waited = 0;
    struct ft_buffer *b;

    while ((b = pool_try_take()) == NULL) {
        if (!may_wait || wait_for_progress(&waited) != 0) {
            return NULL;
        }
    }
    b->committed = 0;
    b->sent = 0;
    return b;
}

void
ft_buffer_release(struct ft_buffer *b)
{
    uint64_t h = LOAD(&pool.head), nh;

    do {
        __atomic_store_n(&b->next_free, (uint32_t)h, __ATOMIC_RELAXED);
        nh = (((h >> 32) + 1) << 32) | (b->slot + 1);
    } while (!CAS(&pool.head, &h, nh));
    ADD(&pool.nfree, 1);
    ADD(&pool.progress, 1);
    if (LOAD(&pool.waiters) != 0) {
        futex_wake_all(&pool.progress);
    }
}

/* Owner side of the full-buffer queue. Returns 0, or -1 when the buffer cannot be
 * queued: the queue stayed full in drop mode, or past the wait bound. */
static int
push_full(struct ft_thread *t, struct ft_buffer *b, int may_wait)
{
    uint32_t tail = t->fq_tail;
    uint64_t waited = 0;

    while (tail - LOAD(&t->fq_head) >= FT_FULLQ) {
        if (!may_wait || wait_for_progress(&waited) != 0) {
            return -1;
        }
    }
    t->fq[tail % FT_FULLQ] = b;
    STORE(&t->fq_tail, tail + 1);
    return 0;
}

struct ft_buffer *
ft_thread_pop_full(struct ft_thread *t)
{
    uint32_t head = t->fq_head;
    struct ft_buffer *b;

    if (head == LOAD(&t->fq_tail)) {
        return NULL;
    }
    b = t->fq[head % FT_FULLQ];
    STORE(&t->fq_head, head + 1);
    return b;
}

static void
put_gap(struct ft_thread *t, struct ft_buffer *b)
{
    uint64_t w[2] = {ft_rec_word0(FT_REC_GAP, t->gap), ft_clock_ticks(ft_cfg.clock)};

    memcpy(b->data, w, sizeof(w));
    b->committed = sizeof(w);
    t->gap = 0;
}

/* Waking the flusher for every full buffer costs a context switch per 64 KiB (measured:
 * 1.35x the empty-hook floor on a call-heavy program, against 1.22x when woken per 8
 * buffers). So a thread wakes it once it has FT_WAKE_BATCH buffers queued, or when the
 * pool runs low; the flush-interval timer ships everything else. */
static int
should_wake(struct ft_thread *t)
{
    uint32_t spare = pool.max - LOAD(&pool.used) + LOAD(&pool.nfree);

    return t->fq_tail - LOAD(&t->fq_head) >= FT_WAKE_BATCH || spare < pool.max / 4;
}

uint8_t *
ft_thread_refill(struct ft_thread *t, size_t n)
{
    struct ft_buffer *old = t->cur, *b;

    /* A forked child connects as its own run on its first record. */
    if (__builtin_expect(LOAD(&ft_fork_pending), 0) && ft_child_resume() != 0) {
        return NULL;
    }
    if (LOAD(&detached) || n > pool.datasz / 2) {
        return NULL;
    }
    if (old != NULL) {
        /* Only the flusher releases buffers: a full buffer that cannot be queued stays
         * current, and this record is dropped. */
        if (push_full(t, old, !ft_cfg.drop) != 0) {
            return NULL;
        }
        STORE(&t->cur, NULL);
        t->pos = t->end = NULL;
        if (should_wake(t)) {
            ft_flush_wake();
        }
    }
    b = pool_take(!ft_cfg.drop);
    if (b == NULL) {
        return NULL;
    }
    if (t->gap != 0) {
        put_gap(t, b);
    }
    t->pos = b->data + b->committed;
    t->end = b->data + pool.datasz;
    STORE(&t->cur, b);
    return t->pos;
}

struct ft_thread *
ft_thread_register(const char *name)
{
    struct ft_thread *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        return NULL;
    }
    t->idx = ADD(&next_idx, 1);
    t->tid = (uint64_t)syscall(SYS_gettid);
    strncpy(t->name, name, sizeof(t->name) - 1);
    pthread_mutex_lock(&reg_lock);
    t->next = threads;
    threads = t;
    pthread_mutex_unlock(&reg_lock);
    pthread_setspecific(exit_key, t);
    ft_self = t;
    return t;
}

void
ft_thread_exit(struct ft_thread *t)
{
    struct ft_buffer *b = t->cur;

    /* If the buffer cannot be queued (the process is detached), it stays current and
     * the flusher discards it when it reaps the thread. */
    if (b != NULL && push_full(t, b, 1) == 0) {
        STORE(&t->cur, NULL);
    }
    t->pos = t->end = NULL;
    if (ft_self == t) {
        ft_self = NULL;
    }
    STORE(&t->exited, 1);
    ft_flush_wake();
}

void
ft_threads_foreach(void (*fn)(struct ft_thread *t, void *arg), void *arg)
{
    pthread_mutex_lock(&reg_lock);
    for (struct ft_thread *t = threads; t != NULL; t = t->next) {
        fn(t, arg);
    }
    pthread_mutex_unlock(&reg_lock);
}

void
ft_threads_reap(void (*fn)(struct ft_thread *t, void *arg), void *arg)
{
    pthread_mutex_lock(&reg_lock);
    for (struct ft_thread **pp = &threads; *pp != NULL;) {
        struct ft_thread *t = *pp;
        if (LOAD(&t->exited) && LOAD(&t->cur) == NULL && t->fq_head == LOAD(&t->fq_tail)) {
            fn(t, arg);
            *pp = t->next;
            reaped_events += t->events;
            reaped_lost += t->lost;
            free(t);
        } else {
            pp = &t->next;
        }
    }
    pthread_mutex_unlock(&reg_lock);
}

static uint64_t
sum_threads(int lost)
{
    uint64_t n;

    pthread_mutex_lock(&reg_lock);
    n = lost ? reaped_lost : reaped_events;
    for (struct ft_thread *t = threads; t != NULL; t = t->next) {
        n += __atomic_load_n(lost ? &t->lost : &t->events, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&reg_lock);
    return n;
}

uint64_t
ft_tstate_events(void)
{
    return sum_threads(0);
}

uint64_t
ft_tstate_lost(void)
{
    return sum_threads(1);
}

uint64_t
ft_tstate_blocked_ns(void)
{
    return LOAD(&blocked_ns);
}

void
ft_tstate_detach(void)
{
    STORE(&detached, 1);
    ADD(&pool.progress, 1);
    futex_wake_all(&pool.progress);
}

int
ft_tstate_detached(void)
{
    return LOAD(&detached);
}

void
ft_tstate_atfork_child(void)
{
    struct ft_thread *t = ft_self;

    /* Only the forking thread exists now. Its buffers hold the parent's records, which
     * the parent sends: start over with every slot free and nothing queued. The other
     * threads' states are copies the child will never use; they are left allocated. */
    pthread_mutex_init(&reg_lock, NULL);
    pool.head = 0;
    pool.used = 0;
    pool.nfree = 0;
    pool.waiters = 0;
    threads = NULL;
    reaped_events = reaped_lost = 0;
    blocked_ns = 0;
    if (t != NULL) {
        t->cur = NULL;
        t->pos = t->end = NULL;
        t->fq_head = t->fq_tail = 0;
        t->announced = 0;
        t->events = t->lost = t->gap = 0;
        t->tid = (uint64_t)syscall(SYS_gettid);
        t->next = NULL;
        threads = t;
    }
}
