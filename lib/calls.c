/* calls.c - event records -> the call tree, its JSONL lines and its nodes. */
#define _GNU_SOURCE
#include "calls.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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
    return 0;
}

/* A call's node back to the free list: the steady state allocates nothing. */
static void
node_free(struct ft_calls *c, struct ft_call *n)
{
    if (n->spawner) {
        ft_idmap_purge(&c->spawns, n);
    }
    ft_values_clear(n);
    n->next = c->free_nodes;
    c->free_nodes = n;
}

static struct ft_call *
node_new(struct ft_calls *c)
{
    struct ft_call *n = c->free_nodes;

    if (n == NULL) {
        return calloc(1, sizeof(*n));
    }
    c->free_nodes = n->next;
    memset(n, 0, offsetof(struct ft_call, inl)); /* texts are absent: inl is not read */
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

/* Where n's subtree is written: its destination's tree, or its thread's part of the
 * run's; NULL when it is not written. */
static struct ft_sink *
sink_of(struct ft_calls *c, struct ft_call *n)
{
    struct ft_cthread *o = n->owner;

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

static void serialize(struct ft_calls *c, struct ft_buf *b, struct ft_call *n);

/* A destination's root, complete and never streamed: written whole into its own tree,
 * which is then done. */
static void
serialize_root(struct ft_calls *c, struct ft_call *n)
{
    if (n->dest->tree != NULL) {
        serialize(c, &n->dest->tree->b, n);
    }
    c->obs.root_done(c->obs.ctx, n);
    n->dest = NULL;
    n->dest_root = 0;
}

/* Writes a held node and everything under it (all complete). */
static void
serialize(struct ft_calls *c, struct ft_buf *b, struct ft_call *n)
{
    int first = 1;

    ft_emit_node_head(c->emit, b, n);
    for (struct ft_call *k = n->qhead; k != NULL; k = k->next) {
        if (k->dest_root) {
            serialize_root(c, k);
            continue;
        }
        if (!first) {
            ft_buf_putc(b, ',');
        }
        first = 0;
        serialize(c, b, k);
    }
    ft_emit_node_tail(c->emit, b, n);
}

static void became_done(struct ft_calls *c, struct ft_call *n);

/* Writes out the complete children at the head of a streamed node's queue. */
static void
drain(struct ft_calls *c, struct ft_call *p)
{
    struct ft_sink *s = sink_of(c, p);
    struct ft_call *h;

    while ((h = p->qhead) != NULL && h->done) {
        unqueue_head(p);
        if (!h->streamed && h->dest_root) {
            serialize_root(c, h);
        } else if (!h->streamed && s != NULL) {
            if (p->nwritten++ > 0) {
                ft_buf_putc(&s->b, ',');
            }
            serialize(c, &s->b, h);
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
        if (s != NULL) {
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

/* A held (or tentative) node that may now stream: when nothing before it is waiting. */
static void
try_stream(struct ft_calls *c, struct ft_call *n)
{
    struct ft_call *p = container(n);
    struct ft_sink *s;

    if (n->gen || n->tentative || !p->streamed || (n->queued && p->qhead != n) ||
        (!n->queued && p->qhead != NULL) || (s = sink_of(c, n)) == NULL) {
        if (!n->queued && !n->streamed) {
            n->held = 1;
            enqueue(p, n);
        }
        return;
    }
    if (n->queued) {
        unqueue_head(p);
    }
    if (!n->dest_root && p->nwritten++ > 0) {
        ft_buf_putc(&s->b, ','); /* a destination's root is alone in its tree */
    }
    ft_emit_node_head(c->emit, &s->b, n);
    ft_sink_maybe_flush(s);
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
push_frame(struct ft_cthread *t, struct ft_call *n, uint64_t code_id)
{
    if (t->depth == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct ft_rframe *ns = realloc(t->stack, cap * sizeof(*ns));
        if (ns == NULL) {
            return -ENOMEM;
        }
        t->stack = ns;
        t->cap = cap;
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

/* The innermost visible call executing on t, or NULL. */
static struct ft_call *
current(struct ft_cthread *t)
{
    for (size_t i = t->depth; i > 0; i--) {
        if (t->stack[i - 1].node != NULL) {
            return t->stack[i - 1].node;
        }
    }
    return NULL;
}

/* The new call's id as text, from the counter kept as text: one digit changes most of the
 * time, so this is a copy and an increment instead of a conversion. */
static void
next_id(struct ft_calls *c, struct ft_call *n)
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
    uint32_t depth = parent ? parent->depth + 1 : 1;

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
    n->tentative = c->min_ticks > 0;
    n->dest = parent != NULL ? parent->dest : NULL;
    if (n->dest != NULL) {
        n->dest->calls++;
    }
    container(n)->pending++;
    /* Order is decided now: behind anything already waiting, it must wait too. */
    if (gen || n->tentative || !container(n)->streamed || container(n)->qhead != NULL) {
        n->held = 1;
        enqueue(container(n), n);
    }
    c->calls++;
    return n;
}

/* ---- Deferred output ------------------------------------------------------------------------ */

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
    if (!n->entered) {
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
    n->dur_len = (uint8_t)ft_dec_u64(n->dur_text, n->dur_ns);
    if (n->dest != NULL) {
        c->obs.call_ended(c->obs.ctx, n, n->unwound && !ft_call_closed_by_caller(n));
    }
    exit_line(c, t, n);
    n->closed = 1;
    if (n->pending == 0) {
        became_done(c, n);
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

/* ---- Records ------------------------------------------------------------------------------ */

static int
on_enter(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    const struct ft_code *code = ft_codetab_get(c->codes, rec->payload);
    struct ft_call *n, *parent = current(t);
    int gen = rec->kind == FT_REC_START;

    if (code == NULL) {
        return FT_EUNDEFCODE;
    }
    if (gen) {
        struct ft_call *old = ft_idmap_get(&c->gens, rec->extra);
        struct ft_call *spawner;
        if (old != NULL) {
            ft_idmap_del(&c->gens, rec->extra);
            if (old->frames == 0) {
                /* The frame of a suspended generator was reused: it was freed, closed. */
                old->dropped = 1;
                finish_node(c, old->owner, old);
                parent = current(t);
            }
            /* else a stream that starts a frame still running (not CPython's): the old
             * node ends with its frame, as any call whose return is not seen. */
        }
        spawner = ft_idmap_get(&c->spawns, rec->extra); /* after finish_node, which may free */
        if (spawner != NULL) {
            parent = spawner;
            ft_idmap_del(&c->spawns, rec->extra);
        }
    }
    n = open_node(c, t, code, rec->ticks, parent, gen);
    if (gen && n != NULL) {
        n->ident = rec->extra;
        if (ft_idmap_put(&c->gens, rec->extra, n) != 0) {
            return -ENOMEM;
        }
    }
    t->pend_enter = n;
    c->ledger->settled -= n != NULL; /* counted again when its line is written (flush_enter) */
    return push_frame(t, n, code->id);
}

static int
on_resume(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    struct ft_call *g = ft_idmap_get(&c->gens, rec->extra);

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
        return;
    }
    n = pop_frame(t);
    if (t->committed_below > t->depth) {
        t->committed_below = t->depth;
    }
    if (n == NULL) {
        return; /* below --max-depth */
    }
    if (n->gen) {
        n->active += rec->ticks - n->resumed_at;
        if (rec->kind == FT_REC_YIELD) {
            ft_values_drop(&n->exc); /* an exception thrown in was handled */
            n->end = rec->ticks;     /* its end if it is never resumed */
            return;                  /* suspended: the logical call goes on */
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

/* EXC: the exception of the UNWIND records waiting for it, or one thrown into a
 * suspended generator (throw(), close()), kept on it in case it ends by it where no
 * other frame reports it. */
static int
on_exc(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
{
    struct ft_buf *b = &c->scratch;
    int err = ft_values_exc(b, rec->data, rec->payload);

    if (err != 0) {
        return err;
    }
    if (t->nunwinds == 0) {
        struct ft_call *top = t->depth > 0 ? t->stack[t->depth - 1].node : NULL;
        if (top != NULL && top->gen) {
            return ft_values_set(top, &top->exc, b->p, b->len);
        }
    }
    /* One exception unwound all the frames waiting for it. */
    for (size_t i = 0; i < t->nunwinds && err == 0; i++) {
        err = ft_values_set(t->unwinds[i], &t->unwinds[i]->exc, b->p, b->len);
    }
    flush_unwinds(c, t);
    return err;
}

/* A value record attaches to the event just before it. */
static int
on_values(struct ft_calls *c, struct ft_cthread *t, const struct ft_rec *rec)
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
        return leave ? ft_values_result(&c->scratch, leave, rec->data, len) : 0;
    case FT_REC_RESULT_INT:
        if (len != 8) {
            return FT_EBADRECORD;
        }
        return leave ? ft_values_result_int(leave, rec->data, len) : 0;
    case FT_REC_ARGS_AFTER:
        return leave ? ft_values_after(&c->scratch, leave, rec->data, len) : 0;
    case FT_REC_EXC:
        return on_exc(c, t, rec);
    case FT_REC_MEMORY:
        if (enter != NULL) {
            return ft_values_memory(&c->scratch, enter, &enter->mem_before, rec->data, len);
        }
        return last ? ft_values_memory(&c->scratch, last, &last->mem_after, rec->data, len) : 0;
    default: {
        /* Units of work, and kinds this reader does not know (skipped whole). */
        struct ft_calls_at at = {t, enter, leave, current(t)};
        return c->obs.value != NULL ? c->obs.value(c->obs.ctx, &at, rec) : 0;
    }
    }
}

static void
on_gap(struct ft_calls *c, struct ft_cthread *t)
{
    /* Records were dropped here: nothing open on this thread can be trusted to end. */
    ft_calls_close_thread(c, t, "events lost");
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
            return ft_idmap_put(&c->spawns, rec->extra, cur);
        }
        return 0;
    }
    default:
        return 0; /* kinds this reader does not render are skipped whole */
    }
}

int
ft_calls_events(struct ft_calls *c, struct ft_cthread *t, const uint8_t *p, size_t n)
{
    size_t pos = 0;
    struct ft_rec rec;
    int rc, err;

    t->quiet = 0;
    while ((rc = ft_rec_next(p, n, &pos, &rec)) == 1) {
        if (rec.kind >= FT_REC_VALUE) {
            if ((err = on_values(c, t, &rec)) != 0) {
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
    return rc;
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
