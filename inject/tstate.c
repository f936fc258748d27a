/* tstate.c - per-thread buffers and the registry of traced threads. */
#define _GNU_SOURCE
#include "tstate.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "crit.h"
#include "lib/clock.h"

__thread struct ft_thread *ft_self __attribute__((tls_model("initial-exec")));

#define LOAD(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ft_thread *threads;
static uint32_t next_idx; /* atomic */
static pthread_key_t exit_key;
static int detached;                    /* atomic */
static uint64_t blocked_ns;             /* atomic */
static uint64_t gone_events, gone_lost; /* of exited threads; under reg_lock */
static int fork_pending;                /* atomic: a forked child not connected yet */
static struct ft_tstate_hooks hooks;

static void thread_exit(void *p);

/* The registry lock is a FlowTrace section (signals.h). */
static void
lock_reg(void)
{
    ft_crit_enter();
    pthread_mutex_lock(&reg_lock);
}

static void
unlock_reg(void)
{
    pthread_mutex_unlock(&reg_lock);
    ft_crit_leave();
}

int
ft_tstate_init(const struct ft_tstate_hooks *h)
{
    hooks = *h;
    return pthread_key_create(&exit_key, thread_exit) == 0 ? 0 : -ENOMEM;
}

#define FT_BUFFER_FAST_NS  25000000u /* filled within 25 ms: more than 2.5 MB/s of records */
#define FT_BUFFER_GROWTH   16
#define FT_BUFFER_GROW_MAX (1u << 20)

/* The most a thread's buffer may grow to: the address range reserved for it. In drop
 * mode a full buffer is shipped only if it fits the socket at once, so it keeps the size
 * it was given. */
static size_t
buffer_max(void)
{
    size_t max = ft_cfg.buffer_size * FT_BUFFER_GROWTH;

    if (ft_cfg.drop) {
        return ft_cfg.buffer_size;
    }
    if (max > FT_BUFFER_GROW_MAX) {
        max = FT_BUFFER_GROW_MAX;
    }
    return max > ft_cfg.buffer_size ? max : ft_cfg.buffer_size;
}

/* The buffer just started over: doubled if it filled fast. */
static void
maybe_grow(struct ft_thread *t)
{
    uint64_t now = ft_clock_ns(CLOCK_MONOTONIC);

    if (now - t->filled_ns < FT_BUFFER_FAST_NS && t->cap * 2 <= buffer_max()) {
        t->cap *= 2;
    }
    t->filled_ns = now;
}

static void
put_gap(struct ft_thread *t)
{
    uint64_t w[2] = {ft_rec_word0(FT_REC_GAP, t->gap), ft_clock_ticks(ft_cfg.clock)};

    memcpy(t->pos, w, sizeof(w));
    t->gap = 0;
    ft_thread_publish(t, t->pos + sizeof(w)); /* bookkeeping, not an event */
}

uint8_t *
ft_thread_refill(struct ft_thread *t, size_t n)
{
    /* A forked child connects as its own run on its first record. */
    if (__builtin_expect(LOAD(&fork_pending), 0) && ft_tstate_child_connect() != 0) {
        return NULL;
    }
    if (LOAD(&detached) || n > ft_cfg.buffer_size / 2) {
        return NULL;
    }
    /* Ship the full buffer (waiting for the writer if it is behind), or count it lost. */
    uint64_t lost = hooks.ship_full(t);
    __atomic_store_n(&t->lost, t->lost + lost, __ATOMIC_RELAXED);
    t->gap += lost;
    maybe_grow(t);
    t->pos = t->data;
    t->end = t->data + t->cap;
    if (t->gap != 0) {
        put_gap(t);
    }
    return t->pos;
}

struct ft_thread *
ft_thread_register(const char *name)
{
    struct ft_thread *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        return NULL;
    }
    /* Page-aligned and private, so the buffer shares no cache line with the heap. */
    t->data = mmap(NULL, buffer_max(), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (t->data == MAP_FAILED) {
        free(t);
        return NULL;
    }
    t->cap = ft_cfg.buffer_size;
    t->filled_ns = ft_clock_ns(CLOCK_MONOTONIC);
    t->pos = t->data;
    t->end = t->data + t->cap;
    t->committed = t->data;
    t->idx = __atomic_add_fetch(&next_idx, 1, __ATOMIC_RELAXED);
    t->tid = (uint64_t)syscall(SYS_gettid);
    strncpy(t->name, name, sizeof(t->name) - 1);
    lock_reg();
    t->next = threads;
    threads = t;
    unlock_reg();
    pthread_setspecific(exit_key, t);
    ft_self = t;
    if (hooks.thread_started != NULL) {
        hooks.thread_started();
    }
    return t;
}

/* pthread key destructor: the OS thread is ending. Ships what is left, says so, and
 * frees the state. */
static void
thread_exit(void *p)
{
    struct ft_thread *t = p;

    if (ft_self == t) {
        ft_self = NULL;
    }
    hooks.thread_end(t);
    lock_reg();
    for (struct ft_thread **pp = &threads; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    gone_events += t->events;
    gone_lost += t->lost;
    unlock_reg();
    munmap(t->data, buffer_max());
    free(t->scratch);
    free(t);
}

int
ft_thread_scratch(struct ft_thread *t, size_t need)
{
    size_t cap = t->scratch_cap ? t->scratch_cap : 4096;
    char *p;

    if (t->scratch_cap >= need) {
        return 0;
    }
    while (cap < need) {
        cap *= 2;
    }
    p = realloc(t->scratch, cap);
    if (p == NULL) {
        return -ENOMEM;
    }
    t->scratch = p;
    t->scratch_cap = cap;
    return 0;
}

void
ft_thread_ship_big(struct ft_thread *t, const void *data, size_t len, int event)
{
    hooks.ship_big(t, data, len, event);
}

void
ft_thread_ship_now(struct ft_thread *t)
{
    hooks.ship_now(t);
}

void
ft_threads_foreach(void (*fn)(struct ft_thread *t, void *arg), void *arg)
{
    lock_reg();
    for (struct ft_thread *t = threads; t != NULL; t = t->next) {
        fn(t, arg);
    }
    unlock_reg();
}

static uint64_t
sum_threads(int lost)
{
    uint64_t n;

    lock_reg();
    n = lost ? gone_lost : gone_events;
    for (struct ft_thread *t = threads; t != NULL; t = t->next) {
        n += __atomic_load_n(lost ? &t->lost : &t->events, __ATOMIC_RELAXED);
    }
    unlock_reg();
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

void
ft_tstate_add_blocked(uint64_t ns)
{
    __atomic_add_fetch(&blocked_ns, ns, __ATOMIC_RELAXED);
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
}

int
ft_tstate_detached(void)
{
    return LOAD(&detached);
}

void
ft_tstate_restart(void)
{
    lock_reg();
    for (struct ft_thread *t = threads; t != NULL; t = t->next) {
        t->pos = t->data;
        t->end = t->data + t->cap;
        ft_thread_uncommit(t);
        t->sent = 0;
        t->announced = 0;
        __atomic_store_n(&t->events, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&t->lost, 0, __ATOMIC_RELAXED);
        t->gap = 0;
        t->unmarked = 0;
    }
    gone_events = gone_lost = 0;
    STORE(&blocked_ns, 0);
    STORE(&detached, 0);
    unlock_reg();
}

void
ft_tstate_atfork_child(void)
{
    struct ft_thread *t = ft_self;

    /* Only the forking thread exists now. Its buffer holds the parent's records, which
     * the parent ships: start over empty. The other threads' states are copies this
     * child never uses; they are left allocated. */
    pthread_mutex_init(&reg_lock, NULL);
    threads = NULL;
    gone_events = gone_lost = 0;
    blocked_ns = 0;
    detached = 0;
    if (t != NULL) {
        t->pos = t->data;
        t->end = t->data + t->cap;
        t->committed = t->data;
        t->sent = 0;
        t->announced = 0;
        t->events = t->lost = t->gap = t->unmarked = 0;
        t->tid = (uint64_t)syscall(SYS_gettid);
        t->next = NULL;
        threads = t;
        /* Force the first record through the slow path, where the child connects. */
        t->end = t->pos;
    }
    STORE(&fork_pending, 1);
}

int
ft_tstate_fork_pending(void)
{
    return LOAD(&fork_pending);
}

int
ft_tstate_child_connect(void)
{
    int err;

    STORE(&fork_pending, 0);
    err = hooks.child_connect();
    if (err != 0) {
        ft_tstate_detach();
    }
    return err;
}
