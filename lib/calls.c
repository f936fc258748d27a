/* calls.c - event records -> the call tree, its JSONL lines and its nodes. */
#define _GNU_SOURCE
#include "calls.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dec.h"
#include "err.h"
#include "json.h"
#include "values.h"

/* ---- Threads --------------------------------------------------------------------------- */

struct ft_cthread *
ft_calls_find_thread(const struct ft_calls *c, uint32_t idx)
{
    return idx < c->threads_cap ? c->threads[idx] : NULL;
}

struct ft_cthread *
ft_calls_thread(struct ft_calls *c, uint32_t idx)
{
    struct ft_cthread *t;

    if (idx >= c->threads_cap) {
        size_t cap = c->threads_cap ? c->threads_cap : 16;
        while (cap <= idx) {
            cap *= 2;
        }
        struct ft_cthread **nt = realloc(c->threads, cap * sizeof(struct ft_cthread *));
        if (nt == NULL) {
            return NULL;
        }
        memset(nt + c->threads_cap, 0, (cap - c->threads_cap) * sizeof(struct ft_cthread *));
        c->threads = nt;
        c->threads_cap = cap;
    }
    if ((t = c->threads[idx]) == NULL) {
        if ((t = calloc(1, sizeof(*t))) == NULL) {
            return NULL;
        }
        t->idx = idx;
        t->name_key = (uint64_t)idx << 32; /* idx > 0: never 0 */
        t->top.streamed = 1;
        t->top.owner = t;
        c->threads[idx] = t;
    }
    return t;
}

int
ft_calls_name_thread(struct ft_cthread *t, uint64_t tid, const char *name, size_t len)
{
    struct ft_buf b;
    char *s = name != NULL ? strndup(name, len) : strdup("Thread");

    if (s == NULL) {
        return -ENOMEM;
    }
    free(t->name);
    t->name = s;
    t->tid = tid;
    ft_buf_init(&b);
    ft_buf_puts(&b, "\"thread\":");
    ft_json_put_cstr(&b, t->name);
    if (b.oom) {
        ft_buf_free(&b);
        return -ENOMEM;
    }
    free(t->frag);
    t->frag = b.p;
    t->frag_len = b.len;
    t->name_key = ((uint64_t)t->idx << 32) | (uint32_t)(t->name_key + 1);
    return 0;
}

/* A call's node back to the free list: the steady state allocates nothing. */
static void
adoption_free(struct ft_adoption *a)
{
    if (a->open) {
        ft_sink_discard(&a->part); /* removes its file, if it had one */
    }
    free(a->path);
    free(a);
}

static void node_release(struct ft_calls *c, struct ft_call *n);

/* Puts n on the free list (inline: most nodes hold nothing else). */
static inline void
node_free(struct ft_calls *c, struct ft_call *n)
{
    if (n->spawner || n->adoption != NULL || n->heap_texts) {
        node_release(c, n);
    }
    n->next = c->free_nodes;
    c->free_nodes = n;
}

/* What a node holds besides itself: map entries, an adoption, heap texts. */
static void
node_release(struct ft_calls *c, struct ft_call *n)
{
    if (n->spawner) {
        ft_idmap_purge(&c->spawns, n);
        ft_idmap_purge(&c->handoffs, n);
    }
    if (n->adoption != NULL) {
        adoption_free(n->adoption);
    }
    if (n->heap_texts) {
        ft_values_clear(n); /* else node_new's clear is enough: texts in inl need no free */
    }
}

/* Zeroes the n bytes at p (n a small constant) in chunks of at most 64 bytes: gcc clears
 * a chunk that size with vector stores, a larger block with rep stos, which callgrind
 * counts as an instruction per 8 bytes (node_new's 128: 9 instructions instead of 25). */
static inline void
zero_chunks(void *p, size_t n)
{
    for (size_t i = 0; i < n; i += 64) {
        memset((char *)p + i, 0, n - i < 64 ? n - i : 64);
    }
}

static inline struct ft_call *
node_new(struct ft_calls *c)
{
    struct ft_call *n = c->free_nodes;

    if (n == NULL) {
        return calloc(1, sizeof(*n));
    }
    c->free_nodes = n->next;
    /* What open_node sets, and what is read only once set, is left as it was; texts are
     * absent: inl is not read. node_free cleared heap texts (ft_values_clear, which
     * zeroes inl_used); inline ones are cleared here. */
    if (n->inl_used != 0) {
        zero_chunks(&n->args, offsetof(struct ft_call, inl) - offsetof(struct ft_call, args));
    }
    zero_chunks(&n->qhead, offsetof(struct ft_call, args) - offsetof(struct ft_call, qhead));
    return n;
}

/* Frees a held node and everything queued under it. */
static void
free_tree(struct ft_calls *c, struct ft_call *n)
{
    struct ft_call *k = n->qhead, *next;

    while (k != NULL) {
        next = k->next;
        free_tree(c, k);
        k = next;
    }
    node_free(c, n);
}

void
ft_calls_free(struct ft_calls *c)
{
    for (size_t i = 0; i < c->threads_cap; i++) {
        struct ft_cthread *t = c->threads[i];
        if (t == NULL) {
            continue;
        }
        free(t->name);
        free(t->frag);
        free(t->stack);
        free(t->unwinds);
        free(t);
    }
    free(c->threads);
    c->threads = NULL;
    c->threads_cap = 0;
    while (c->free_nodes != NULL) {
        struct ft_call *n = c->free_nodes;
        c->free_nodes = n->next;
        free(n);
    }
    ft_buf_free(&c->scratch);
    ft_idmap_free(&c->gens);
    ft_idmap_free(&c->spawns);
    ft_idmap_free(&c->handoffs);
}

/* ---- Where text goes --------------------------------------------------------------------- */

/* A call's lines: its destination's, or the run's events.jsonl. */
static struct ft_sink *
jsonl_of(struct ft_calls *c, const struct ft_call *n)
{
    return n->dest != NULL ? n->dest->jsonl : &c->files->jsonl;
}

static void
enter_line(struct ft_calls *c, struct ft_cthread *t, struct ft_call *n)
{
    struct ft_sink *s = jsonl_of(c, n);

    ft_emit_enter(c->emit, &s->b, t, n);
    ft_sink_maybe_flush(s);
    n->entered = 1;
}

static void
exit_line(struct ft_calls *c, struct ft_cthread *t, struct ft_call *n)
{
    struct ft_sink *s = jsonl_of(c, n);

    ft_emit_exit(c->emit, &s->b, t, n);
    ft_sink_maybe_flush(s);
}

/* ---- The tree ------------------------------------------------------------------------------ */

static struct ft_call *
container(struct ft_call *n)
{
    return n->parent != NULL ? n->parent : &n->owner->top;
}

/* The node whose children array receives p's children in the output: p itself, or for a
 * transparent p the nearest ancestor with an array of its own (an adoption's is its part
 * file). Its nwritten counts the elements written there (for the commas). */
static struct ft_call *
array_of(struct ft_call *p)
{
    while (p->transparent && (p->adoption == NULL || !p->adoption->open)) {
        p = container(p);
    }
    return p;
}

/* Where n's subtree is written: the part file of the adoption it is in, its
 * destination's tree, or its thread's part of the run's; NULL when it is not written. */
static struct ft_sink *sink_of_slow(struct ft_calls *c, struct ft_call *n);

static inline struct ft_sink *
sink_of(struct ft_calls *c, struct ft_call *n)
{
    if (n->part_owner == NULL && n->dest == NULL && n->owner->part != NULL) {
        return n->owner->part; /* most often: its thread's part of the run's tree */
    }
    return sink_of_slow(c, n);
}

static struct ft_sink *
sink_of_slow(struct ft_calls *c, struct ft_call *n)
{
    struct ft_cthread *o = n->owner;

    if (n->part_owner != NULL) {
        struct ft_adoption *a = n->part_owner->adoption;
        return a->open ? &a->part : NULL;
    }
    if (n->dest != NULL) {
        return n->dest->tree;
    }
    if (o->part == NULL && !o->part_failed) {
        o->part = ft_runfiles_part(c->files, o->idx);
        o->part_failed = o->part == NULL;
    }
    return o->part;
}

static void
enqueue(struct ft_call *p, struct ft_call *n)
{
    n->next = NULL;
    if (p->qtail != NULL) {
        p->qtail->next = n;
    } else {
        p->qhead = n;
    }
    p->qtail = n;
    n->queued = 1;
}

static void
unqueue_head(struct ft_call *p)
{
    struct ft_call *h = p->qhead;

    p->qhead = h->next;
    if (p->qhead == NULL) {
        p->qtail = NULL;
    }
    h->next = NULL;
    h->queued = 0;
}

/* Takes n out of p's queue, wherever it is. */
static void
unqueue(struct ft_call *p, struct ft_call *n)
{
    struct ft_call **pp = &p->qhead, *prev = NULL;

    while (*pp != n) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    *pp = n->next;
    if (p->qtail == n) {
        p->qtail = prev;
    }
    n->next = NULL;
    n->queued = 0;
}

/* Writes a held node and everything under it (all complete) into s, as elements of the
 * array whose element count is *count. */
static void serialize(struct ft_calls *c, struct ft_sink *s, struct ft_call *n, uint32_t *count);

/* A destination's root, complete and never streamed: written whole into its own tree,
 * which is then done. */
static void
serialize_root(struct ft_calls *c, struct ft_call *n)
{
    uint32_t none = 0;

    if (n->dest != NULL && n->dest->tree != NULL) { /* (a root always has its destination) */
        serialize(c, n->dest->tree, n, &none);
    }
    c->obs.root_done(c->obs.ctx, n);
    n->dest = NULL;
    n->dest_root = 0;
}

/* An ended adoption: its part file (the calls the other thread made, comma-separated) is
 * copied into s where the adoption stands, then removed. */
static void
splice_part(struct ft_calls *c, struct ft_sink *s, struct ft_call *n, uint32_t *count)
{
    struct ft_adoption *a = n->adoption;
    uint64_t bytes = a->part.written + a->part.b.len;
    char buf[65536];
    ssize_t got = 0;
    int fd, err;

    if (a->part.fd < 0 && a->part.err == 0) {
        /* Never written out (under a flush's worth): its text is all in memory. */
        if (bytes > 0) {
            if ((*count)++ > 0) {
                ft_buf_putc(&s->b, ',');
            }
            ft_buf_put(&s->b, a->part.b.p, a->part.b.len);
            ft_sink_maybe_flush(s);
        }
        ft_sink_discard(&a->part);
        a->open = 0;
        return;
    }
    err = ft_sink_close(&a->part);
    a->open = 0;
    fd = err == 0 && bytes > 0 ? open(a->path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0 && err == 0 && bytes > 0) {
        err = -errno;
    }
    unlink(a->path); /* open or not, the part's text is the tree's now */
    if (fd < 0) {
        ft_runfiles_note(c->files, err); /* its calls are missing from the tree */
        return;
    }
    if ((*count)++ > 0) {
        ft_buf_putc(&s->b, ',');
    }
    while ((got = read(fd, buf, sizeof(buf))) > 0) {
        ft_buf_put(&s->b, buf, (size_t)got);
        ft_sink_maybe_flush(s);
    }
    if (got < 0) {
        ft_runfiles_note(c->files, -errno);
    }
    close(fd);
}

static void
serialize(struct ft_calls *c, struct ft_sink *s, struct ft_call *n, uint32_t *count)
{
    uint32_t mine = 0;

    if (n->adoption != NULL && n->adoption->open) {
        splice_part(c, s, n, count);
        return;
    }
    if (!n->transparent) {
        if ((*count)++ > 0) {
            ft_buf_putc(&s->b, ',');
        }
        ft_emit_node_head(c->emit, &s->b, n);
        count = &mine;
    }
    for (struct ft_call *k = n->qhead; k != NULL; k = k->next) {
        if (k->dest_root) {
            serialize_root(c, k);
            continue;
        }
        serialize(c, s, k, count);
    }
    if (!n->transparent) {
        ft_emit_node_tail(c->emit, &s->b, n);
    }
}

static void became_done(struct ft_calls *c, struct ft_call *n);

/* Writes out the complete children at the head of a streamed node's queue. */
static void
drain(struct ft_calls *c, struct ft_call *p)
{
    struct ft_sink *s;
    struct ft_call *h, *a;

    if (p->qhead == NULL || !p->qhead->done) {
        return; /* most often: nothing is waiting */
    }
    s = sink_of(c, p);
    a = array_of(p);
    while ((h = p->qhead) != NULL && h->done) {
        unqueue_head(p);
        if (h->adoption != NULL && h->adoption->open) {
            if (s != NULL) {
                splice_part(c, s, h, &a->nwritten);
            }
        } else if (!h->streamed && h->dest_root) {
            serialize_root(c, h);
        } else if (!h->streamed && s != NULL) {
            serialize(c, s, h, &a->nwritten);
            ft_sink_maybe_flush(s);
        }
        free_tree(c, h);
    }
}

/* n has ended and so has everything under it. */
static void
became_done(struct ft_calls *c, struct ft_call *n)
{
    struct ft_call *p = container(n);

    n->done = 1;
    if (n->streamed) {
        struct ft_sink *s = sink_of(c, n);
        drain(c, n);
        if (s != NULL && !n->transparent) {
            ft_emit_node_tail(c->emit, &s->b, n);
            ft_sink_maybe_flush(s);
        }
        if (n->dest_root) {
            c->obs.root_done(c->obs.ctx, n);
            n->dest = NULL;
            n->dest_root = 0;
        }
        if (!n->queued) {
            node_free(c, n); /* else drain(p) frees it below */
        }
    } else if (n->dest_root && n->queued) {
        /* A destination's root is written in its own tree, not in p's children: it waits
         * for nothing before it there (a server's requests wait for no other request,
         * nor for the coroutine that serves them all). */
        unqueue(p, n);
        serialize_root(c, n);
        free_tree(c, n);
    }
    if (p->pending > 0) {
        p->pending--;
    }
    if (p->streamed) {
        drain(c, p); /* frees n if it was queued */
    }
    if (p != &p->owner->top && p->closed && p->pending == 0 && !p->done) {
        became_done(c, p);
    }
}

static void try_stream_slow(struct ft_calls *c, struct ft_call *n);

/* n, streamed into its thread's part, not queued, nothing queued under it, its node's
 * tail written, is done: became_done's steps for it, then for its container p. */
static inline void
done_after_tail(struct ft_calls *c, struct ft_call *n, struct ft_call *p)
{
    n->done = 1;
    node_free(c, n);
    if (p->pending > 0) {
        p->pending--;
    }
    if (p->streamed) {
        drain(c, p);
    }
    if (p != &p->owner->top && p->closed && p->pending == 0 && !p->done) {
        became_done(c, p);
    }
}

/* became_done inline for most calls: a streamed node with nothing queued under it, not
 * queued itself, in its thread's part of the tree. */
static inline void
became_done_fast(struct ft_calls *c, struct ft_call *n)
{
    struct ft_call *p = container(n);
    struct ft_sink *s = n->owner->part;

    if (!n->streamed || n->transparent || n->dest_root || n->queued || n->qhead != NULL ||
        n->dest != NULL || n->part_owner != NULL || s == NULL) {
        became_done(c, n);
        return;
    }
    n->done = 1;
    ft_emit_node_tail(c->emit, &s->b, n);
    ft_sink_maybe_flush(s);
    done_after_tail(c, n, p);
}

/* A held (or tentative) node that may now stream: when nothing before it is waiting.
 * Inline for most calls: a plain call whose parent is streamed and waits for nothing,
 * in its thread's part of the tree. */
static inline void
try_stream(struct ft_calls *c, struct ft_call *n)
{
    struct ft_call *p = container(n);

    if (!n->gen && !n->tentative && !n->queued && !n->transparent && !n->dest_root &&
        n->dest == NULL && n->part_owner == NULL && p->streamed && p->qhead == NULL &&
        !p->transparent && n->owner->part != NULL) {
        struct ft_sink *s = n->owner->part;
        if (p->nwritten++ > 0) {
            ft_buf_putc(&s->b, ',');
        }
        ft_emit_node_head(c->emit, &s->b, n);
        ft_sink_maybe_flush(s);
        n->streamed = 1;
        n->held = 0;
        return;
    }
    try_stream_slow(c, n);
}

static void
try_stream_slow(struct ft_calls *c, struct ft_call *n)
{
    struct ft_call *p = container(n);
    int queued = n->queued; /* read once: finding the sink may open a part, nothing more */
    struct ft_sink *s;

    if (n->gen || n->tentative || !p->streamed || (queued && p->qhead != n) ||
        (!queued && p->qhead != NULL) || (s = sink_of(c, n)) == NULL) {
        if (!queued && !n->streamed) {
            n->held = 1;
            enqueue(p, n);
        }
        return;
    }
    if (queued) {
        unqueue_head(p);
    }
    if (!n->transparent) {
        struct ft_call *a = array_of(p);
        if (!n->dest_root && a->nwritten++ > 0) {
            ft_buf_putc(&s->b, ','); /* a destination's root is alone in its tree */
        }
        ft_emit_node_head(c->emit, &s->b, n);
        ft_sink_maybe_flush(s);
    }
    n->streamed = 1;
    n->held = 0;
}

void
ft_calls_set_dest(struct ft_call *n, struct ft_dest *dest)
{
    n->dest = dest;
    n->dest_root = 1;
    n->tentative = 0; /* a unit's call is always kept, however short */
}

/* ---- Stacks ------------------------------------------------------------------------------ */

static int
grow_stack(struct ft_cthread *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct ft_rframe *ns = realloc(t->stack, cap * sizeof(*ns));

    if (ns == NULL) {
        return -ENOMEM;
    }
    t->stack = ns;
    t->cap = cap;
    return 0;
}

static inline int
push_frame(struct ft_cthread *t, struct ft_call *n, uint64_t code_id)
{
    if (t->depth == t->cap && grow_stack(t) != 0) {
        return -ENOMEM;
    }
    t->stack[t->depth].node = n;
    t->stack[t->depth].code_id = code_id;
    t->depth++;
    if (n != NULL) {
        n->frames++;
    }
    return 0;
}

/* The top frame's node (NULL below --max-depth), taken off the stack. */
static struct ft_call *
pop_frame(struct ft_cthread *t)
{
    struct ft_call *n = t->stack[--t->depth].node;

    if (n != NULL) {
        n->frames--;
    }
    return n;
}

/* The innermost visible call executing on t, or the work t adopted when no call of its
 * own has been opened since; NULL if none. */
static struct ft_call *current_below(struct ft_cthread *t);

static inline struct ft_call *
current(struct ft_cthread *t)
{
    if (t->adopt == NULL && t->depth > 0 && t->stack[t->depth - 1].node != NULL) {
        return t->stack[t->depth - 1].node; /* most often: the frame on top */
    }
    return current_below(t);
}

static struct ft_call *
current_below(struct ft_cthread *t)
{
    for (size_t i = t->depth; i > 0; i--) {
        if (t->adopt != NULL && i == t->adopt_depth) {
            return t->adopt;
        }
        if (t->stack[i - 1].node != NULL) {
            return t->stack[i - 1].node;
        }
    }
    return t->adopt;
}

/* The new call's id as text, from the counter kept as text: one digit changes most of the
 * time, so this is a copy and an increment instead of a conversion (next_id_carry when the
 * last digit is a 9, or at the first call). */
static void next_id_carry(struct ft_calls *c, struct ft_call *n);

static inline void
next_id(struct ft_calls *c, struct ft_call *n)
{
    uint8_t len = c->next_id_len;

    if (len == 0 || c->next_id_text[len - 1] == '9') {
        next_id_carry(c, n);
        return;
    }
    memcpy(n->id_text, c->next_id_text, sizeof(n->id_text));
    n->id_len = len;
    c->next_id_text[len - 1]++;
}

static void
next_id_carry(struct ft_calls *c, struct ft_call *n)
{
    int i;

    if (c->next_id_len == 0) {
        c->next_id_len = (uint8_t)ft_dec_u64(c->next_id_text, n->id);
    }
    memcpy(n->id_text, c->next_id_text, sizeof(n->id_text));
    n->id_len = c->next_id_len;
    for (i = c->next_id_len - 1; i >= 0 && c->next_id_text[i] == '9'; i--) {
        c->next_id_text[i] = '0';
    }
    if (i >= 0) {
        c->next_id_text[i]++;
    } else {
        memmove(c->next_id_text + 1, c->next_id_text, c->next_id_len);
        c->next_id_text[0] = '1';
        c->next_id_len++;
    }
}

static struct ft_call *
open_node(struct ft_calls *c, struct ft_cthread *t, const struct ft_code *code, uint64_t ticks,
          struct ft_call *parent, int gen)
{
    struct ft_call *n;
    /* Framework code that delimits a request adds no level inside one. */
    int transparent =
        (code->flags & FT_DEF_BOUNDARY) != 0 && parent != NULL && parent->dest != NULL;
    uint32_t depth = parent ? parent->depth + (uint32_t)!transparent : 1;

    /* Below --max-depth: inside a hidden frame, or deeper than allowed. */
    if (c->max_depth &&
        (depth > c->max_depth || (t->depth > 0 && t->stack[t->depth - 1].node == NULL))) {
        return NULL;
    }
    if ((n = node_new(c)) == NULL) {
        return NULL;
    }
    n->id = ++c->next_call_id;
    next_id(c, n);
    n->code = code;
    n->parent = parent;
    n->owner = parent != NULL ? parent->owner : t;
    n->start = ticks;
    n->start_real = ft_clockconv_real_ns(c->emit->clock, ticks);
    n->resumed_at = ticks;
    n->depth = depth;
    n->gen = (uint8_t)gen;
    n->transparent = (uint8_t)transparent;
    n->tentative = c->min_ticks > 0 && !transparent;
    n->dest = parent != NULL ? parent->dest : NULL;
    n->part_owner = parent != NULL ? parent->part_owner : NULL;
    if (n->dest != NULL && !transparent) {
        n->dest->calls++;
    }
    container(n)->pending++;
    /* Order is decided now: behind anything already waiting, it must wait too. */
    if (gen || n->tentative || !container(n)->streamed || container(n)->qhead != NULL) {
        n->held = 1;
        enqueue(container(n), n);
    }
    c->calls += (uint64_t)!transparent;
    return n;
}

/* ---- Deferred output ------------------------------------------------------------------------ */

/* Whether n, held by nothing, streams as soon as its line is written: try_stream's fast
 * path (a plain call whose parent is streamed and waits for nothing, in its thread's part). */
static inline int
streams_now(const struct ft_call *n)
{
    const struct ft_call *p = n->parent != NULL ? n->parent : &n->owner->top;

    return !n->gen && !n->tentative && !n->queued && !n->dest_root && n->dest == NULL &&
           n->part_owner == NULL && p->streamed && p->qhead == NULL && !p->transparent &&
           n->owner->part != NULL;
}

/* n's ENTER line and node head in one pass (streams_now(n), n not transparent). */
static inline void
enter_and_stream(struct ft_calls *c, struct ft_cthread *t, struct ft_call *n)
{
    struct ft_sink *ls = jsonl_of(c, n), *ts = n->owner->part;
    struct ft_call *p = container(n);

    ft_emit_enter_node(c->emit, &ls->b, &ts->b, t, n, p->nwritten++ > 0);
    ft_sink_maybe_flush(ls);
    ft_sink_maybe_flush(ts);
    n->entered = 1;
    n->streamed = 1;
    n->held = 0;
}

static inline void
flush_enter(struct ft_calls *c, struct ft_cthread *t)
{
    struct ft_call *n = t->pend_enter;

    t->pend_enter = NULL;
    if (n == NULL) {
        return;
    }
    c->ledger->settled++;
    if (n->tentative) {
        return;
    }
    if (!n->entered && !n->transparent && !n->held && streams_now(n)) {
        enter_and_stream(c, t, n);
        return;
    }
    if (!n->entered && !n->transparent) {
        enter_line(c, t, n);
    }
    if (!n->held) {
        try_stream(c, n);
    }
}

/* --min-duration: n ended too soon; it leaves the tree and its children (if any remain)
 * move up to its parent, in its place. */
static void
leave_out(struct ft_calls *c, struct ft_call *n)
{
    struct ft_call *p = container(n);
    struct ft_call *k = n->qhead;

    if (n->queued) {
        struct ft_call **pp = &p->qhead, *prev = NULL;
        while (*pp != n) {
            prev = *pp;
            pp = &(*pp)->next;
        }
        if (k != NULL) {
            *pp = k;
            n->qtail->next = n->next;
            if (p->qtail == n) {
                p->qtail = n->qtail;
            }
            for (struct ft_call *x = k; x != n->next; x = x->next) {
                x->parent = n->parent;
            }
        } else {
            *pp = n->next;
            if (p->qtail == n) {
                p->qtail = prev;
            }
        }
    }
    p->pending = p->pending - 1 + n->pending;
    c->calls--;
    node_free(c, n);
    if (p->streamed) {
        drain(c, p);
    }
    if (p != &p->owner->top && p->closed && p->pending == 0 && !p->done) {
        became_done(c, p);
    }
}

/* became_done_fast's case with n's EXIT line: the line and the node tail in one pass. */
static void
exit_and_done(struct ft_calls *c, struct ft_cthread *t, struct ft_call *n)
{
    struct ft_call *p = container(n);
    struct ft_sink *ls = jsonl_of(c, n), *ts = n->owner->part;

    ft_emit_exit_node(c->emit, &ls->b, &ts->b, t, n);
    ft_sink_maybe_flush(ls);
    ft_sink_maybe_flush(ts);
    n->closed = 1;
    done_after_tail(c, n, p);
}

/* The end of n is known and its values are attached: lines, then the tree. */
static void
finish_node(struct ft_calls *c, struct ft_cthread *t, struct ft_call *n)
{
    if (n->tentative) {
        if (n->end - n->start < c->min_ticks) {
            leave_out(c, n);
            return;
        }
        n->tentative = 0;
        enter_line(c, t, n);
    }
    n->dur_ns = ft_clockconv_span_ns(c->emit->clock, n->start, n->end);
    /* Nanoseconds: mostly past the four digits ft_dec_u64 writes inline. */
    n->dur_len = (uint8_t)(n->dur_ns < 10000 ? ft_dec_u64(n->dur_text, n->dur_ns)
                                             : ft_dec_big_inline(n->dur_text, n->dur_ns));
    if (n->dest != NULL) {
        c->obs.call_ended(c->obs.ctx, n, n->unwound && !ft_call_closed_by_caller(n));
    } else if (c->spans != NULL && !n->transparent) {
        struct ft_span sp;
        ft_calls_span(n, &sp);
        ft_runfiles_note(c->files, ft_spans_offer(c->spans, &sp));
    }
    if (!n->transparent && n->pending == 0 && n->streamed && !n->dest_root && !n->queued &&
        n->qhead == NULL && n->dest == NULL && n->part_owner == NULL && n->owner->part != NULL) {
        exit_and_done(c, t, n);
        return;
    }
    if (!n->transparent) {
        exit_line(c, t, n);
    }
    n->closed = 1;
    if (n->pending == 0) {
        became_done_fast(c, n);
    } else if (n->streamed && !n->queued) {
        /* Its tail waits for children that outlive it: what follows must wait too. */
        enqueue(container(n), n);
    }
}

static inline void
flush_leave(struct ft_calls *c, struct ft_cthread *t)
{
    struct ft_call *n = t->pend_leave;

    t->pend_leave = NULL;
    if (n != NULL) {
        c->ledger->settled++;
        finish_node(c, t, n);
    }
}

static inline void
flush_unwinds(struct ft_calls *c, struct ft_cthread *t)
{
    for (size_t i = 0; i < t->nunwinds; i++) {
        c->ledger->settled++;
        finish_node(c, t, t->unwinds[i]);
    }
    t->nunwinds = 0;
}

static inline void
flush_pending(struct ft_calls *c, struct ft_cthread *t)
{
    flush_enter(c, t);
    flush_leave(c, t);
    flush_unwinds(c, t);
}

/* --min-duration: a call running for longer than the minimum is kept; commit it now so
 * it streams (frames below committed_below are committed; starts grow with depth). */
static void
commit_long_enough(struct ft_calls *c, struct ft_cthread *t, uint64_t now)
{
    while (t->committed_below < t->depth) {
        struct ft_call *n = t->stack[t->committed_below].node;
        if (n != NULL && n->tentative) {
            if (now - n->start < c->min_ticks) {
                break;
            }
            n->tentative = 0;
            enter_line(c, t, n);
            if (!n->gen) {
                n->held = 0;
                try_stream(c, n);
            }
        }
        t->committed_below++;
    }
}

/* ---- Work handed to other threads ---------------------------------------------------------- */

/* The adoption node x has ended: ADOPT_END, its thread left the frame it adopted the
 * work in or ended, or (never adopted) the run ended. */
static void
adoption_over(struct ft_calls *c, struct ft_call *x, uint64_t ticks)
{
    x->end = ticks;
    x->closed = 1;
    if (x->pending == 0 && !x->done) {
        became_done(c, x);
    }
}

/* HANDOFF: the current call hands work to another thread. Only what a destination's call
 * hands off is followed (it belongs to the unit): a transparent node takes the work's
 * place among the call's children now, so that it keeps its order and the call stays
 * open until the work is over, whenever a thread adopts it. */
static int
on_handoff(struct ft_calls *c, struct ft_cthread *t, uint64_t key, uint64_t ticks)
{
    struct ft_call *cur = current(t), *old, *x;
    struct ft_adoption *a;

    if (cur == NULL || cur->dest == NULL || key == 0) {
        return 0;
    }
    if ((old = ft_idmap_get(&c->handoffs, key)) != NULL) {
        ft_idmap_del(&c->handoffs, key); /* a number used twice: a malformed stream */
        adoption_over(c, old, old->start);
    }
    x = calloc(1, sizeof(*x));
    a = calloc(1, sizeof(*a));
    if (x == NULL || a == NULL) {
        free(x);
        free(a);
        return -ENOMEM;
    }
    a->part.fd = -1;
    x->code = cur->code; /* never written: transparent */
    x->parent = cur;
    x->owner = cur->owner;
    x->start = x->end = ticks;
    x->depth = cur->depth;
    x->dest = cur->dest;
    x->part_owner = cur->part_owner;
    x->transparent = 1;
    x->held = 1;
    x->spawner = 1; /* in the hand-off map until adopted */
    x->adoption = a;
    cur->pending++;
    enqueue(cur, x);
    return ft_idmap_put(&c->handoffs, key, x);
}

/* ADOPT_END, or the adopting thread left the frame it adopted the work in, or ended. */
static void
adopt_end(struct ft_calls *c, struct ft_cthread *t, uint64_t ticks)
{
    struct ft_call *x = t->adopt;

    if (x != NULL) {
        t->adopt = NULL;
        adoption_over(c, x, ticks);
    }
}

/* ADOPT: this thread starts the work of hand-off key. The calls it makes meanwhile go
 * under the adoption node, streamed to a part file of their own in the run's directory
 * (they run beside the handing thread's), or held in memory if it cannot be opened. */
static int
on_adopt(struct ft_calls *c, struct ft_cthread *t, uint64_t key, uint64_t ticks)
{
    struct ft_call *x = key != 0 ? ft_idmap_get(&c->handoffs, key) : NULL;
    struct ft_adoption *a;

    adopt_end(c, t, ticks);
    if (x == NULL) {
        return 0; /* not work a unit handed off: the thread's calls stay its own */
    }
    ft_idmap_del(&c->handoffs, key);
    x->spawner = 0;
    a = x->adoption;
    a->thread = t;
    if (c->files->path != NULL && x->dest->tree != NULL) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/.handoff-%llu.part", c->files->path,
                 (unsigned long long)++c->next_part);
        if ((a->path = strdup(path)) != NULL && ft_sink_open_lazy(&a->part, path) == 0) {
            a->open = 1;
            x->part_owner = x;
            x->streamed = 1;
        }
    }
    t->adopt = x;
    t->adopt_depth = t->depth;
    return 0;
}

void
ft_calls_release_handoffs(struct ft_calls *c)
{
    for (size_t i = 0; i < c->handoffs.cap; i++) {
        struct ft_call *x = c->handoffs.vals[i];
        if (x != NULL) {
            c->handoffs.vals[i] = NULL;
            x->spawner = 0;
            adoption_over(c, x, x->start); /* never adopted: nothing to show */
        }
    }
}

void
ft_calls_span(const struct ft_call *n, struct ft_span *out)
{
    const struct ft_call *p = ft_call_visible_parent(n);

    memset(out, 0, sizeof(*out));
    out->id = n->id;
    out->parent = p != NULL ? p->id : 0;
    out->code = n->code;
    out->thread =
        n->parent != NULL && n->parent->adoption != NULL && n->parent->adoption->thread != NULL
            ? n->parent->adoption->thread->name
            : NULL;
    out->start = n->start;
    out->end = n->end;
    out->exc = n->unwound ? n->exc.p : NULL;
    out->depth = n->depth;
}

/* ---- Records ------------------------------------------------------------------------------ */

/* A generator's key in the gens and spawns maps: its frame's address and the thread it
 * runs in. An address is used again once its frame is freed, and each thread's records
 * reach the writer in their own order, not in the order they happened: only within one
 * thread does a start at an address mean that what was there before is gone. (User-space
 * addresses stay below 2^48; threads beyond 2^16 share the plain address.) */
static uint64_t
gen_key(const struct ft_cthread *t, uint64_t ident)
{
    return t->idx < (1u << 16) ? ident ^ ((uint64_t)t->idx << 48) : ident;
}

static int
on_enter(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    const struct ft_code *code = ft_codetab_get(c->codes, rec->payload);
    struct ft_call *n, *parent = current(t);
    int gen = rec->kind == FT_REC_START;
    int spawned = 0;

    if (code == NULL) {
        return FT_EUNDEFCODE;
    }
    if (gen) {
        uint64_t key = gen_key(t, rec->extra);
        struct ft_call *old = ft_idmap_get(&c->gens, key);
        struct ft_call *spawner;
        if (old != NULL) {
            ft_idmap_del(&c->gens, key);
            if (old->frames == 0) {
                /* The frame of a suspended generator was reused: it was freed, closed. */
                old->dropped = 1;
                finish_node(c, old->owner, old);
                parent = current(t);
            }
            /* else a stream that starts a frame still running (not CPython's): the old
             * node ends with its frame, as any call whose return is not seen. */
        }
        spawner = ft_idmap_get(&c->spawns, key); /* after finish_node, which may free */
        if (spawner != NULL) {
            parent = spawner;
            spawned = 1;
            ft_idmap_del(&c->spawns, key);
        }
    }
    n = open_node(c, t, code, rec->ticks, parent, gen);
    if (gen && n != NULL) {
        n->task = (uint8_t)spawned;
        n->ident = gen_key(t, rec->extra);
        if (ft_idmap_put(&c->gens, n->ident, n) != 0) {
            return -ENOMEM;
        }
    }
    t->pend_enter = n;
    c->ledger->settled -= n != NULL; /* counted again when its line is written (flush_enter) */
    return push_frame(t, n, code->id);
}

/* A generator suspended in another thread, resumed here (a generator shared by threads):
 * the one at that address whose last yield came before this resumption. Rare, so the
 * threads are searched; it moves to this thread's key. */
static struct ft_call *
moved_generator(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    for (size_t i = 0; i < c->threads_cap; i++) {
        struct ft_cthread *o = c->threads[i];
        struct ft_call *g =
            o != NULL && o != t ? ft_idmap_get(&c->gens, gen_key(o, rec->extra)) : NULL;
        if (g != NULL && g->frames == 0 && g->end <= rec->ticks) {
            ft_idmap_del(&c->gens, g->ident);
            g->ident = gen_key(t, rec->extra);
            return ft_idmap_put(&c->gens, g->ident, g) == 0 ? g : NULL;
        }
    }
    return NULL;
}

static int
on_resume(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    struct ft_call *g = ft_idmap_get(&c->gens, gen_key(t, rec->extra));

    if (g == NULL) {
        g = moved_generator(c, t, rec);
    }
    if (g == NULL) {
        /* Started before tracing (or its start was lost): a logical call from here. */
        struct ft_rec start = *rec;
        start.kind = FT_REC_START;
        return on_enter(c, t, &start);
    }
    if (g->frames > 0) {
        /* Resumed while it runs: CPython raises "generator already executing", so only
         * a malformed stream says so. Ignored, so that the node never ends while a
         * frame still points at it. */
        return 0;
    }
    g->resumes++;
    g->resumed_at = rec->ticks;
    g->resume_mark = c->next_call_id;
    return push_frame(t, g, g->code->id);
}

/* The frame on top must be code_id's (else a return was missed: those frames end as
 * incomplete). A return with no matching frame belongs to a call that started before
 * tracing did, and is ignored. Returns the frame index, or -1. */
static long
match_frame(struct ft_calls *c, struct ft_cthread *t, uint64_t code_id, uint64_t ticks)
{
    size_t i = t->depth;

    while (i > 0 && t->stack[i - 1].code_id != code_id) {
        i--;
    }
    if (i == 0) {
        return -1;
    }
    while (t->depth > i) {
        struct ft_call *n = pop_frame(t);
        if (n != NULL && !n->gen) {
            n->end = ticks;
            n->incomplete = "return not seen";
            finish_node(c, t, n);
        } else if (n != NULL) {
            /* A generator left without its yield seen: suspended there, as far as we know. */
            n->active += ticks - n->resumed_at;
            n->end = ticks;
        }
    }
    return (long)i - 1;
}

static void
on_leave(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    struct ft_call *n;

    if (match_frame(c, t, rec->payload, rec->ticks) < 0) {
        if (t->holed) {
            /* The end of a call a hole closed ("events lost"): no line stands for it, so
             * it is not in the files (the ledger counts it lost). */
            c->ledger->records--;
            c->ledger->settled--; /* the caller counts it settled after this */
            c->ledger->unplaced++;
        }
        return;
    }
    n = pop_frame(t);
    if (t->committed_below > t->depth) {
        t->committed_below = t->depth;
    }
    if (t->adopt != NULL && t->depth < t->adopt_depth) {
        adopt_end(c, t, rec->ticks); /* the frame it adopted the work in has ended */
    }
    if (n == NULL) {
        return; /* below --max-depth */
    }
    if (n->gen) {
        n->active += rec->ticks - n->resumed_at;
        if (rec->kind == FT_REC_YIELD) {
            ft_values_drop(&n->exc); /* an exception thrown in was handled */
            ft_values_drop(&n->exc_site);
            n->end = rec->ticks; /* its end if it is never resumed */
            return;              /* suspended: the logical call goes on */
        }
        ft_idmap_del(&c->gens, n->ident);
    }
    n->end = rec->ticks;
    if (rec->kind == FT_REC_UNWIND || rec->kind == FT_REC_C_RAISE) {
        n->unwound = 1;
        n->idle_end = n->gen && n->resumes > 0 && c->next_call_id == n->resume_mark;
        if (t->nunwinds == t->capunwinds) {
            size_t cap = t->capunwinds ? t->capunwinds * 2 : 8;
            struct ft_call **nu = realloc(t->unwinds, cap * sizeof(struct ft_call *));
            if (nu == NULL) {
                finish_node(c, t, n);
                return;
            }
            t->unwinds = nu;
            t->capunwinds = cap;
        }
        t->unwinds[t->nunwinds++] = n;
        c->ledger->settled--; /* counted again in flush_unwinds */
    } else {
        t->pend_leave = n;
        c->ledger->settled--; /* counted again in flush_leave */
    }
}

/* Whether a call under p is plain: it gets no level of its own or fewer, nothing to
 * hold it back (no --max-depth, --min-duration, destination or adoption's part; p is
 * streamed and waits for nothing), so it streams into p's thread's part at once. */
static inline int
plain_parent(const struct ft_calls *c, const struct ft_call *p)
{
    return (c->max_depth | c->min_ticks) == 0 && p->qhead == NULL &&
           (p->plain || (p->dest == NULL && p->part_owner == NULL && p->streamed &&
                         !p->transparent && p->owner->part != NULL));
}

/* A plain call's int arguments (len bytes, a multiple of 8: on_whole checked) kept as
 * ft_values_args_ints keeps them, without the checks a new node makes known (no text yet,
 * instance 0): 0, or as ft_values_args_ints_text for more than the node holds. */
static inline int
plain_ints(struct ft_calls *c, struct ft_call *n, const uint8_t *ints, size_t len)
{
    size_t k = len / 8;

    if (k > FT_CALL_INTS || k > n->code->nparams) {
        return ft_values_args_ints_text(&c->scratch, n, ints, len);
    }
    for (size_t i = 0; i < k; i++) { /* word by word: a copy of a variable length is a call */
        memcpy(&n->ints[i], ints + 8 * i, 8);
    }
    n->nints = (uint8_t)k;
    return 0;
}

/* A plain call under p (plain_parent) with its int arguments: open_node, push_frame,
 * its values, flush_enter and try_stream's steps for it, the checks they make known. */
static int
open_plain(struct ft_calls *c, struct ft_cthread *t, const struct ft_code *code, uint64_t ticks,
           const uint8_t *ints, size_t len, struct ft_call *p)
{
    struct ft_call *n = node_new(c);
    struct ft_sink *s = p->owner->part;
    int err;

    if (n == NULL) {
        return -ENOMEM;
    }
    n->id = ++c->next_call_id;
    next_id(c, n);
    n->code = code;
    n->parent = p;
    n->owner = p->owner;
    n->start = ticks;
    n->start_real = ft_clockconv_real_ns(c->emit->clock, ticks);
    n->resumed_at = ticks;
    n->depth = p->depth + 1;
    n->dest = NULL;
    n->part_owner = NULL;
    p->pending++;
    c->calls++;
    t->stack[t->depth].node = n;
    t->stack[t->depth].code_id = code->id;
    t->depth++;
    n->frames = 1;
    if (len > 0 && (err = plain_ints(c, n, ints, len)) != 0) {
        if (err < 0) {
            return err;
        }
        c->malformed_values += (uint64_t)err;
    }
    ft_emit_enter_node(c->emit, &c->files->jsonl.b, &s->b, t, n, p->nwritten++ > 0);
    ft_sink_maybe_flush(&c->files->jsonl);
    ft_sink_maybe_flush(s);
    n->entered = 1;
    n->streamed = 1;
    n->plain = 1;
    return 0;
}

/* A whole event taken by a plain path: counted received and settled before its line is
 * written (a good write of events.jsonl samples settled: what the file holds). */
static inline void
count_whole(struct ft_calls *c, uint64_t ticks)
{
    c->ledger->records++;
    c->ledger->settled++;
    if (ticks > *c->last_ticks) {
        *c->last_ticks = ticks;
    }
}

/* CALL_INTS of a plain call (plain_parent), the commonest: returns 1 when it was one and
 * is written, 0 when the call is to go the general way (whole_split), or an error. */
static inline int
call_plain(struct ft_calls *c, struct ft_cthread *t, uint64_t code_id, uint64_t ticks,
           const uint8_t *ints, size_t len)
{
    size_t d = t->depth;
    struct ft_call *p = d > 0 && t->adopt == NULL ? t->stack[d - 1].node : NULL;
    const struct ft_code *code;
    int err;

    if (p == NULL || !plain_parent(c, p) || d == t->cap ||
        (code = ft_codetab_get(c->codes, code_id)) == NULL) {
        return 0;
    }
    count_whole(c, ticks);
    err = open_plain(c, t, code, ticks, ints, len, p);
    return err != 0 ? err : 1;
}

/* Whether n, ended, is a plain call to finish: kept (no --min-duration), no destination
 * or adoption's part, no span to offer, streamed into its thread's part with nothing
 * under it still open or waiting. */
static inline int
plain_end(const struct ft_calls *c, const struct ft_call *n)
{
    return c->min_ticks == 0 && c->spans == NULL && n->pending == 0 && n->qhead == NULL &&
           !n->queued &&
           (n->plain || (n->dest == NULL && n->part_owner == NULL && n->streamed &&
                         !n->transparent && !n->dest_root && n->owner->part != NULL));
}

/* A plain call (plain_end) ends: finish_node and became_done_fast's steps for it, the
 * checks they make known. */
static void
finish_plain(struct ft_calls *c, struct ft_cthread *t, struct ft_call *n)
{
    struct ft_call *p = container(n);
    struct ft_sink *s = n->owner->part;

    n->dur_ns = ft_clockconv_span_ns(c->emit->clock, n->start, n->end);
    n->dur_len = (uint8_t)(n->dur_ns < 10000 ? ft_dec_u64(n->dur_text, n->dur_ns)
                                             : ft_dec_big_inline(n->dur_text, n->dur_ns));
    ft_emit_exit_node(c->emit, &c->files->jsonl.b, &s->b, t, n);
    ft_sink_maybe_flush(&c->files->jsonl);
    ft_sink_maybe_flush(s);
    n->closed = 1;
    done_after_tail(c, n, p);
}

/* RETURN_INT of the frame on top, a call outside adopted work that is not a generator,
 * the commonest: on_leave's steps for it, then finish_plain's or finish_node's. Returns
 * 1 when it was one, 0 when the return is to go the general way (whole_split). */
static inline int
return_plain(struct ft_calls *c, struct ft_cthread *t, uint64_t code_id, uint64_t ticks,
             const uint8_t *result)
{
    size_t d = t->depth;
    struct ft_call *n;

    if (d == 0 || t->stack[d - 1].code_id != code_id || (n = t->stack[d - 1].node) == NULL ||
        n->gen || t->adopt != NULL) {
        return 0;
    }
    count_whole(c, ticks);
    t->depth = d - 1;
    n->frames--;
    if (t->committed_below > d - 1) {
        t->committed_below = d - 1;
    }
    n->end = ticks;
    (void)ft_values_result_int(n, result, 8);
    if (plain_end(c, n)) {
        finish_plain(c, t, n);
    } else {
        finish_node(c, t, n);
    }
    return 1;
}

/* A call's exception: scratch's first exc_len bytes, then its optional members (raise
 * site, causes) up to len. */
static int
set_exc(struct ft_call *n, const char *s, size_t exc_len, size_t len)
{
    int err = ft_values_set(n, &n->exc, s, exc_len);

    if (err == 0 && len > exc_len) {
        return ft_values_set(n, &n->exc_site, s + exc_len, len - exc_len);
    }
    ft_values_drop(&n->exc_site);
    return err;
}

/* EXC: the exception of the UNWIND records waiting for it, or one thrown into a
 * suspended generator (throw(), close()), kept on it in case it ends by it where no
 * other frame reports it. */
static int
on_exc(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    struct ft_buf *b = &c->scratch;
    size_t exc_len = 0;
    int err = ft_values_exc(b, &exc_len, rec->data, rec->payload);
    const uint8_t *left;
    uint32_t nleft;

    if (err != 0) {
        return err;
    }
    if (t->nunwinds == 0) {
        struct ft_call *top = t->depth > 0 ? t->stack[t->depth - 1].node : NULL;
        if (top != NULL && top->gen) {
            return set_exc(top, b->p, exc_len, b->len);
        }
    }
    /* One exception unwound all the frames waiting for it; where the library learnt the
     * line it passed in each only from the traceback, it says so (FT_EXC_LEFT). */
    if (ft_exc_field(rec->data, rec->payload, FT_EXC_LEFT, &left, &nleft) == 1 &&
        nleft == 4 * t->nunwinds) {
        for (size_t i = 0; i < t->nunwinds; i++) {
            uint32_t line;
            memcpy(&line, left + 4 * i, 4);
            t->unwinds[i]->left_at = line != 0 ? line : t->unwinds[i]->left_at;
        }
    }
    for (size_t i = 0; i < t->nunwinds && err == 0; i++) {
        err = set_exc(t->unwinds[i], b->p, exc_len, b->len);
    }
    flush_unwinds(c, t);
    return err;
}

/* A value record attaches to the event just before it. */
static int
apply_values(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    struct ft_call *last = t->nunwinds ? t->unwinds[t->nunwinds - 1] : t->pend_leave;
    struct ft_call *enter = t->pend_enter, *leave = t->pend_leave;
    size_t len = rec->payload;

    switch (rec->kind) {
    case FT_REC_ARGS:
        return enter ? ft_values_args(&c->scratch, enter, rec->data, len) : 0;
    case FT_REC_ARGS_INTS:
        return enter ? ft_values_args_ints(&c->scratch, enter, rec->data, len) : 0;
    case FT_REC_RESULT:
    case FT_REC_RESULT_JSON:
        return leave ? ft_values_result(&c->scratch, leave, rec->data, len,
                                        rec->kind == FT_REC_RESULT_JSON)
                     : 0;
    case FT_REC_RESULT_INT:
        if (len != 8) {
            return FT_EBADRECORD;
        }
        return leave ? ft_values_result_int(leave, rec->data, len) : 0;
    case FT_REC_ARGS_AFTER:
        return leave ? ft_values_after(&c->scratch, leave, rec->data, len) : 0;
    case FT_REC_EXC:
        return on_exc(c, t, rec);
    case FT_REC_LEFT_AT:
        if (len != 4) {
            return FT_EBADRECORD;
        }
        if (last != NULL && last->unwound) {
            memcpy(&last->left_at, rec->data, 4);
        }
        return 0;
    case FT_REC_LOCALS:
        return last != NULL && last->unwound ? ft_values_locals(&c->scratch, last, rec->data, len)
                                             : 0;
    case FT_REC_MEMORY:
        if (enter != NULL) {
            return ft_values_memory(&c->scratch, enter, &enter->mem_before, rec->data, len);
        }
        return last ? ft_values_memory(&c->scratch, last, &last->mem_after, rec->data, len) : 0;
    default: {
        /* Units of work, and kinds this reader does not know (skipped whole). UNIT_END
         * follows the RETURN of a unit's call, or its UNWIND (a request that raised). */
        struct ft_calls_at at = {t, enter, last, current(t)};
        return c->obs.value != NULL ? c->obs.value(c->obs.ctx, &at, rec) : 0;
    }
    }
}

/* Values the library sent as JSON that were not are kept described and counted. */
static int
on_values(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    int err = apply_values(c, t, rec);

    if (err > 0) {
        c->malformed_values += (uint64_t)err;
        err = 0;
    }
    return err;
}

static void
on_gap(struct ft_calls *c, struct ft_cthread *t)
{
    /* Records were dropped here: nothing open on this thread can be trusted to end. */
    ft_calls_close_thread(c, t, "events lost");
    t->holed = 1;
}

static int
on_event(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    switch (rec->kind) {
    case FT_REC_CALL:
    case FT_REC_START:
    case FT_REC_C_CALL:
        return on_enter(c, t, rec);
    case FT_REC_RESUME:
        return on_resume(c, t, rec);
    case FT_REC_RETURN:
    case FT_REC_UNWIND:
    case FT_REC_YIELD:
    case FT_REC_C_RETURN:
    case FT_REC_C_RAISE:
        on_leave(c, t, rec);
        return 0;
    case FT_REC_GAP:
        on_gap(c, t);
        return 0;
    case FT_REC_SPAWN: {
        struct ft_call *cur = current(t);
        if (cur != NULL) {
            cur->spawner = 1;
            return ft_idmap_put(&c->spawns, gen_key(t, rec->extra), cur);
        }
        return 0;
    }
    case FT_REC_HANDOFF:
        return on_handoff(c, t, rec->extra, rec->ticks);
    case FT_REC_ADOPT:
        return on_adopt(c, t, rec->extra, rec->ticks);
    case FT_REC_ADOPT_END:
        adopt_end(c, t, rec->ticks);
        return 0;
    default:
        return 0; /* kinds this reader does not render are skipped whole */
    }
}

/* The next record at p[*pos..n) (*pos < n), as ft_rec_next decodes it with the same
 * checks, but cheaper: most records are 16-byte events and values, and the generic decode
 * cost more than the rest of the loop. Returns 0 or FT_EBADRECORD. */
static inline int
next_record(const uint8_t *p, size_t n, size_t *pos, struct ft_rec *rec)
{
    size_t left = n - *pos;
    uint64_t w0;

    if (left < 16 && (left < 8 || (p[*pos] < FT_REC_VALUE && p[*pos] != 0))) {
        return FT_EBADRECORD;
    }
    memcpy(&w0, p + *pos, 8);
    rec->kind = (unsigned)(w0 & 0xff);
    rec->payload = w0 >> 8;
    rec->extra = 0;
    if (rec->kind >= FT_REC_VALUE) {
        /* payload < 2^56: padding it cannot wrap, and padded too long covers payload too long. */
        uint64_t padded = (rec->payload + 7u) & ~(uint64_t)7u;
        if (padded > left - 8) {
            return FT_EBADRECORD;
        }
        rec->data = p + *pos + 8;
        rec->ticks = 0;
        *pos += 8 + padded;
        return 0;
    }
    if (rec->kind == 0) {
        return FT_EBADRECORD;
    }
    memcpy(&rec->ticks, p + *pos + 8, 8);
    rec->data = NULL;
    if (rec->kind > FT_REC_FIXED_MAX) {
        if (left < 24) {
            return FT_EBADRECORD;
        }
        memcpy(&rec->extra, p + *pos + 16, 8);
        *pos += 8;
    }
    *pos += 16;
    return 0;
}

/* A whole event (CALL_INTS, RETURN_INT) of len bytes at r, a plain call's or return's:
 * the loop's steps for an event record (nothing waits: on_whole wrote it); 1 when it was
 * one, 0 when it is to go the general way, or an error. */
static inline int
whole_plain(struct ft_calls *c, struct ft_cthread *t, unsigned kind, const uint8_t *r, size_t len)
{
    uint64_t code_id, ticks;
    int done;

    if (c->min_ticks != 0) {
        return 0;
    }
    memcpy(&code_id, r, 8);
    memcpy(&ticks, r + 8, 8);
    done = kind == FT_REC_CALL_INTS ? call_plain(c, t, code_id, ticks, r + 16, len - 16)
                                    : return_plain(c, t, code_id, ticks, r + 16);
    return done;
}

int ft_calls_events(struct ft_calls *c, struct ft_cthread *t, const uint8_t *p, size_t *n,
                    size_t more);

/* on_whole's way for a whole event that is not plain: as the two records it stands for. */
static __attribute__((noinline)) int
whole_split(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    unsigned kind = rec->kind;
    size_t vlen = (size_t)rec->payload - 16; /* on_whole checked: at least 16 */
    size_t total = vlen == 0 ? 16 : 24 + vlen;
    uint64_t w[2 + 2 + 8], code_id;
    uint8_t *b = (uint8_t *)w;
    int err;

    memcpy(&code_id, rec->data, 8);
    if (code_id >> 56 != 0) {
        return FT_EUNDEFCODE; /* no CALL or RETURN can name it */
    }
    if (total > sizeof(w) && (b = malloc(total)) == NULL) {
        return -ENOMEM;
    }
    w[0] = ft_rec_word0(kind == FT_REC_CALL_INTS ? FT_REC_CALL : FT_REC_RETURN, code_id);
    memcpy(b, &w[0], 8);
    memcpy(b + 8, rec->data + 8, 8);
    if (total > 16) {
        uint64_t vw0 =
            ft_rec_word0(kind == FT_REC_CALL_INTS ? FT_REC_ARGS_INTS : FT_REC_RESULT_INT, vlen);
        memcpy(b + 16, &vw0, 8);
        memcpy(b + 24, rec->data + 16, vlen);
    }
    err = ft_calls_events(c, t, b, &total, 0);
    if (b != (uint8_t *)w) {
        free(b);
    }
    if (err == 0) {
        flush_pending(c, t); /* nothing follows a whole event that belongs to it */
    }
    return err;
}

/* A whole event (CALL_INTS, RETURN_INT; rec as next_record decodes it): a plain call's
 * or return's by whole_plain, any other as the two records it stands for (CALL +
 * ARGS_INTS, RETURN + RESULT_INT) through ft_calls_events, which then handles them as
 * it handles them from an older library (whole_split, out of line: the loop's registers
 * stay those of the records it handles itself). Returns 0 or an error. */
static inline int
on_whole(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    unsigned kind = rec->kind;
    size_t len = rec->payload;
    int err;

    if (kind == FT_REC_RETURN_INT ? len != FT_RETURN_INT_LEN : len < 16 || len % 8 != 0) {
        return FT_EBADRECORD;
    }
    /* What waits for the next event record is complete: this is one. */
    if (((uintptr_t)t->pend_enter | (uintptr_t)t->pend_leave | t->nunwinds) != 0) {
        flush_pending(c, t);
    }
    if ((err = whole_plain(c, t, kind, rec->data, len)) != 0) {
        return err < 0 ? err : 0;
    }
    return whole_split(c, t, rec);
}

int
ft_calls_events(struct ft_calls *c, struct ft_cthread *t, const uint8_t *p, size_t *np, size_t more)
{
    size_t pos = 0, n = *np;
    struct ft_rec rec;

    t->quiet = 0;
    while (pos < n) {
        int err = next_record(p, n, &pos, &rec);
        if (err != 0) {
            if (more == 0 || !ft_wire_rec_cut(p + pos, n - pos, more)) {
                return err;
            }
            *np = pos; /* the cut record comes again, whole */
            break;
        }
        if (rec.kind >= FT_REC_VALUE) {
            if (rec.kind - FT_REC_CALL_INTS <= 1u) {
                err = on_whole(c, t, &rec);
            } else {
                err = on_values(c, t, &rec);
            }
            if (err != 0) {
                return err;
            }
            continue;
        }
        unsigned counted = (unsigned)ft_ledger_counted(rec.kind);
        c->ledger->records += counted;
        if (rec.ticks > *c->last_ticks) {
            *c->last_ticks = rec.ticks;
        }
        if (rec.kind == FT_REC_UNWIND || rec.kind == FT_REC_C_RAISE) {
            /* The same exception leaving the next frame too: one EXC will describe the
             * whole chain when no frame in between reported it. */
            flush_enter(c, t);
            flush_leave(c, t);
        } else {
            flush_pending(c, t);
        }
        if (c->min_ticks != 0) {
            commit_long_enough(c, t, rec.ticks);
        }
        err = on_event(c, t, &rec);
        c->ledger->settled += counted; /* unless it waits: those sites took it back */
        if (err != 0) {
            return err;
        }
    }
    struct ft_part *part = t->idx < c->files->nparts ? c->files->parts[t->idx] : NULL;
    if (c->files->jsonl.b.oom || (part != NULL && part->open && part->sink.b.oom)) {
        return -ENOMEM;
    }
    return 0;
}

void
ft_calls_tick(struct ft_calls *c, uint32_t quiet_ticks)
{
    for (size_t i = 0; i < c->threads_cap; i++) {
        struct ft_cthread *t = c->threads[i];
        if (t == NULL) {
            continue;
        }
        if (t->quiet < UINT32_MAX) {
            t->quiet++;
        }
        if (t->quiet >= quiet_ticks && (t->pend_enter || t->pend_leave || t->nunwinds)) {
            flush_pending(c, t);
        }
    }
}

/* ---- Ends ---------------------------------------------------------------------------------- */

void
ft_calls_close_thread(struct ft_calls *c, struct ft_cthread *t, const char *reason)
{
    flush_pending(c, t);
    while (t->depth > 0) {
        struct ft_call *n = pop_frame(t);
        if (n == NULL) {
            continue;
        }
        if (n->gen) {
            n->active += *c->last_ticks - n->resumed_at;
            ft_idmap_del(&c->gens, n->ident);
        }
        n->end = *c->last_ticks;
        n->incomplete = reason;
        if (n->tentative) {
            n->tentative = 0;
            enter_line(c, t, n);
        }
        finish_node(c, t, n);
    }
    t->committed_below = 0;
    adopt_end(c, t, *c->last_ticks);
}

void
ft_calls_close_generators(struct ft_calls *c, int finalized, const char *reason)
{
    for (size_t i = 0; i < c->gens.cap; i++) {
        struct ft_call *g = c->gens.vals ? c->gens.vals[i] : NULL;
        if (g == NULL) {
            continue;
        }
        c->gens.vals[i] = NULL;
        if (finalized) {
            g->dropped = 1; /* ends at its last yield */
        } else {
            g->end = *c->last_ticks;
            g->incomplete = reason;
        }
        if (g->tentative) {
            g->tentative = 0;
            enter_line(c, g->owner, g);
        }
        finish_node(c, g->owner, g);
    }
}
