/* calls.c - event records -> JSONL lines and a thread's call tree.
 *
 * Output for an event is deferred until the thread's next event record, so the value
 * records that follow it (arguments, result, exception, memory) are attached first.
 * Nodes stream into the thread's tree file as they start and end, except generators and
 * coroutines (one logical call across resumptions) and what follows them: those are
 * held in memory and written, in order, once everything under them has ended.
 *
 * Transparent nodes have no level of their own: framework code that only delimits a
 * request (FT_DEF_BOUNDARY) inside a unit, and the work another thread adopted from a
 * call of a unit (HANDOFF, ADOPT): their children are written in their place. An
 * adoption's children stream into a part file, spliced in when they have all ended.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "run_int.h"

#define LINE_SLACK 512 /* room for the fixed keys and numbers of one line */
#define PAD8(n)    (((n) + 7u) & ~(size_t)7u)

void
ft__run_note_write_err(struct ft_run *r, int err)
{
    if (err != 0 && r->write_err == 0) {
        r->write_err = err;
    }
}

/* ---- Identity maps ------------------------------------------------------------------- */

static size_t
idmap_slot(const struct ft_idmap *m, uint64_t key)
{
    /* Frame addresses (aligned) and hand-off numbers (consecutive) alike: the high bits
     * of the product mix every bit of the key. */
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (m->cap - 1);
}

static struct ft_tnode *
idmap_get(const struct ft_idmap *m, uint64_t key)
{
    if (m->cap == 0) {
        return NULL;
    }
    for (size_t i = idmap_slot(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            return m->vals[i];
        }
        if (m->keys[i] == 0) {
            return NULL;
        }
    }
}

static int
idmap_put(struct ft_idmap *m, uint64_t key, struct ft_tnode *v)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct ft_idmap nm = {0};
        nm.cap = m->cap ? m->cap * 2 : 64;
        nm.keys = calloc(nm.cap, sizeof(*nm.keys));
        nm.vals = calloc(nm.cap, sizeof(*nm.vals));
        if (nm.keys == NULL || nm.vals == NULL) {
            free(nm.keys);
            free(nm.vals);
            return -ENOMEM;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->keys[i] != 0 && m->vals[i] != NULL) {
                idmap_put(&nm, m->keys[i], m->vals[i]);
            }
        }
        ft__idmap_free(m);
        *m = nm;
    }
    size_t i = idmap_slot(m, key);
    while (m->keys[i] != 0 && m->keys[i] != key) {
        i = (i + 1) & (m->cap - 1);
    }
    if (m->keys[i] == 0) {
        m->n++;
    }
    m->keys[i] = key;
    m->vals[i] = v;
    return 0;
}

/* Deletion keeps the key as a tombstone with no value (probes continue past it). */
static void
idmap_del(struct ft_idmap *m, uint64_t key)
{
    if (m->cap == 0) {
        return;
    }
    for (size_t i = idmap_slot(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            m->vals[i] = NULL;
            return;
        }
        if (m->keys[i] == 0) {
            return;
        }
    }
}

/* Forgets every entry pointing to n (a spawner about to be freed). */
static void
idmap_purge(struct ft_idmap *m, const struct ft_tnode *n)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] == n) {
            m->vals[i] = NULL;
        }
    }
}

void
ft__idmap_free(struct ft_idmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* ---- Threads --------------------------------------------------------------------------- */

void
ft__rthread_init(struct ft_rthread *t)
{
    memset(&t->top, 0, sizeof(t->top));
    t->top.streamed = 1;
    t->top.owner = t;
    t->tree.fd = -1;
}

static void
adoption_free(struct ft_adoption *a)
{
    if (a->open) {
        ft_sink_close(&a->part);
    }
    if (a->path != NULL) {
        unlink(a->path);
    }
    free(a->path);
    free(a);
}

static void
node_free(struct ft_run *r, struct ft_tnode *n)
{
    if (n->spawner) {
        idmap_purge(&r->spawns, n);
        idmap_purge(&r->handoffs, n);
    }
    if (n->adoption != NULL) {
        adoption_free(n->adoption);
    }
    free(n->args);
    free(n->result);
    free(n->after);
    free(n->exc);
    free(n->mem_before);
    free(n->mem_after);
    free(n);
}

/* Frees a held node and everything queued under it. */
static void
free_tree(struct ft_run *r, struct ft_tnode *n)
{
    struct ft_tnode *k = n->qhead, *next;

    while (k != NULL) {
        next = k->next;
        free_tree(r, k);
        k = next;
    }
    node_free(r, n);
}

void
ft__rthread_free(struct ft_rthread *t)
{
    if (t == NULL) {
        return;
    }
    if (t->tree_open) {
        ft_sink_close(&t->tree);
    }
    if (t->tree_path != NULL) {
        unlink(t->tree_path);
    }
    free(t->tree_path);
    free(t->name);
    free(t->frag);
    free(t->stack);
    free(t->unwinds);
    free(t);
}

static int
open_tree_part(struct ft_run *r, struct ft_rthread *t)
{
    char path[4096];
    int err;

    snprintf(path, sizeof(path), "%s/.thread-%u.part", r->path, t->idx);
    t->tree_path = strdup(path);
    if (t->tree_path == NULL) {
        return -ENOMEM;
    }
    err = ft_sink_open(&t->tree, path, 1);
    if (err != 0) {
        return err;
    }
    t->tree_open = 1;
    return 0;
}

/* ---- Text ------------------------------------------------------------------------------- */

static uint64_t
micros_since_epoch(const struct ft_run *r, uint64_t ticks)
{
    return ft_clockconv_real_ns(&r->clock, ticks) / 1000;
}

static void
put_memory(struct ft_buf *b, const char *json)
{
    ft_buf_puts(b, json);
}

/* A generator or coroutine ended by close() (GeneratorExit thrown in at its yield, as
 * when a partly consumed generator is dropped) ended normally, not by an error. From 3.12
 * CPython closes one with no handler at its yield without running it, so no event says
 * so: it is known closed when its frame is reused, or when the interpreter finished. */
static int
closed_by_caller(const struct ft_tnode *n)
{
    static const char genexit[] = "{\"type\":\"GeneratorExit\",\"module\":\"builtins\",";

    return n->gen && (n->dropped || (n->unwound && n->exc != NULL &&
                                     strncmp(n->exc, genexit, sizeof(genexit) - 1) == 0));
}

static void
put_common_tail(struct ft_run *r, struct ft_buf *b, const struct ft_tnode *n)
{
    if (n->result != NULL) {
        ft_buf_puts(b, ",\"result\":");
        ft_buf_puts(b, n->result);
    }
    if (n->after != NULL) {
        ft_buf_puts(b, ",\"argsAfter\":");
        ft_buf_puts(b, n->after);
    }
    if (closed_by_caller(n)) {
        ft_buf_puts(b, ",\"closed\":true");
    } else if (n->unwound) {
        /* null: the exception was taken by native code before its details could be read
         * (or FLOWTRACE_EXCEPTIONS=0). */
        ft_buf_puts(b, ",\"exception\":");
        ft_buf_puts(b, n->exc ? n->exc : "{\"type\":null,\"module\":null,\"message\":null}");
    }
    if (n->gen) {
        /* A close() that only unwound the frame is not a resumption: from 3.12 CPython
         * does not even run a frame without a handler at its yield to close it, so
         * counting it would make the same program's trees differ by version. */
        unsigned resumes = n->resumes - (closed_by_caller(n) && n->unwound && n->idle_end);
        ft_buf_printf(b, ",\"resumes\":%u,\"activeMicros\":", resumes);
        ft_buf_put_milli(b, ft_clockconv_span_ns(&r->clock, 0, n->active));
    }
    if (n->incomplete != NULL) {
        ft_buf_puts(b, ",\"incomplete\":");
        ft_json_put_cstr(b, n->incomplete);
    }
}

/* The caller as the output shows it: the nearest ancestor with a level of its own. */
static const struct ft_tnode *
visible_parent(const struct ft_tnode *n)
{
    const struct ft_tnode *p = n->parent;

    while (p != NULL && p->transparent) {
        p = p->parent;
    }
    return p;
}

/* {"event":"KIND","timestamp":T,<thread>,<code>,"pid":P,"run":"R","id":I,"parent":Q */
/* Where a call's JSONL lines go: its unit's events.jsonl, or the run's. */
static struct ft_sink *
jsonl_of(struct ft_run *r, const struct ft_tnode *n)
{
    return n->unit != NULL ? &n->unit->jsonl : &r->jsonl;
}

static void
put_line_head(struct ft_run *r, struct ft_rthread *t, const struct ft_tnode *n, const char *kind,
              uint64_t ticks)
{
    struct ft_buf *b = &jsonl_of(r, n)->b;

    if (ft_buf_reserve(b, LINE_SLACK + t->frag_len + n->code->frag_len + r->run_frag_len +
                              (n->unit ? n->unit->frag_len : 0)) != 0) {
        return;
    }
    ft_buf_puts(b, "{\"event\":\"");
    ft_buf_puts(b, kind);
    ft_buf_puts(b, "\",\"timestamp\":");
    ft_buf_put_u64(b, micros_since_epoch(r, ticks));
    ft_buf_putc(b, ',');
    ft_buf_put(b, t->frag, t->frag_len);
    ft_buf_putc(b, ',');
    ft_buf_put(b, n->code->frag, n->code->frag_len);
    ft_buf_put(b, r->run_frag, r->run_frag_len);
    if (n->unit != NULL) {
        ft_buf_put(b, n->unit->frag, n->unit->frag_len);
    }
    ft_buf_puts(b, ",\"id\":");
    ft_buf_put_u64(b, n->id);
    ft_buf_puts(b, ",\"parent\":");
    if (visible_parent(n) != NULL) {
        ft_buf_put_u64(b, visible_parent(n)->id);
    } else {
        ft_buf_puts(b, "null");
    }
}

static void
enter_line(struct ft_run *r, struct ft_rthread *t, struct ft_tnode *n)
{
    struct ft_buf *b = &jsonl_of(r, n)->b;

    put_line_head(r, t, n, "ENTER", n->start);
    if (n->args != NULL) {
        ft_buf_puts(b, ",\"args\":");
        ft_buf_puts(b, n->args);
    }
    if (n->instance != 0) {
        ft_buf_printf(b, ",\"instance\":\"0x%llx\"", (unsigned long long)n->instance);
    }
    if (n->mem_before != NULL) {
        ft_buf_puts(b, ",\"memory\":");
        put_memory(b, n->mem_before);
    }
    ft_buf_puts(b, "}\n");
    ft_sink_maybe_flush(jsonl_of(r, n));
    n->entered = 1;
}

static void
exit_line(struct ft_run *r, struct ft_rthread *t, struct ft_tnode *n)
{
    struct ft_buf *b = &jsonl_of(r, n)->b;
    uint64_t ns = ft_clockconv_span_ns(&r->clock, n->start, n->end);

    put_line_head(r, t, n, n->unwound && !closed_by_caller(n) ? "EXCEPTION" : "EXIT", n->end);
    ft_buf_puts(b, ",\"durationMicros\":");
    ft_buf_put_milli(b, ns);
    ft_buf_puts(b, ",\"durationMillis\":");
    ft_buf_put_milli(b, ns / 1000);
    put_common_tail(r, b, n);
    if (n->mem_after != NULL) {
        ft_buf_puts(b, ",\"memory\":");
        put_memory(b, n->mem_after);
    }
    ft_buf_puts(b, "}\n");
    ft_sink_maybe_flush(jsonl_of(r, n));
}

static void
put_node_head(struct ft_run *r, struct ft_buf *b, const struct ft_tnode *n)
{
    ft_buf_puts(b, "{\"id\":");
    ft_buf_put_u64(b, n->id);
    ft_buf_putc(b, ',');
    ft_buf_put(b, n->code->frag, n->code->frag_len);
    ft_buf_puts(b, ",\"startMicros\":");
    ft_buf_put_milli(b, ft_clockconv_span_ns(&r->clock, r->start_ticks, n->start));
    ft_buf_puts(b, ",\"caller\":");
    if (visible_parent(n) != NULL) {
        ft_json_put_cstr(b, visible_parent(n)->code->name);
    } else {
        ft_buf_puts(b, "null");
    }
    if (n->parent != NULL && n->parent->adoption != NULL) {
        /* Work handed over: the thread that ran it, under the call that handed it. */
        const char *name = n->parent->adoption->thread->name;
        ft_buf_puts(b, ",\"thread\":");
        ft_json_put_cstr(b, name != NULL ? name : "Thread");
    }
    if (n->instance != 0) {
        ft_buf_printf(b, ",\"instance\":\"0x%llx\"", (unsigned long long)n->instance);
    }
    if (n->args != NULL) {
        ft_buf_puts(b, ",\"args\":");
        ft_buf_puts(b, n->args);
    }
    ft_buf_puts(b, ",\"children\":[");
}

static void
put_node_tail(struct ft_run *r, struct ft_buf *b, const struct ft_tnode *n)
{
    ft_buf_puts(b, "],\"durationMicros\":");
    ft_buf_put_milli(b, ft_clockconv_span_ns(&r->clock, n->start, n->end));
    put_common_tail(r, b, n);
    if (n->mem_before != NULL || n->mem_after != NULL) {
        ft_buf_puts(b, ",\"memory\":{\"before\":");
        ft_buf_puts(b, n->mem_before ? n->mem_before : "null");
        ft_buf_puts(b, ",\"after\":");
        ft_buf_puts(b, n->mem_after ? n->mem_after : "null");
        ft_buf_putc(b, '}');
    }
    ft_buf_putc(b, '}');
}

/* ---- The tree ------------------------------------------------------------------------------ */

static struct ft_tnode *
container(struct ft_tnode *n)
{
    return n->parent != NULL ? n->parent : &n->owner->top;
}

/* The node whose children array receives p's children in the output: p itself, or for a
 * transparent p the nearest ancestor with an array of its own (an adoption's is its part
 * file). Its nwritten counts the elements written there (for the commas). */
static struct ft_tnode *
array_of(struct ft_tnode *p)
{
    while (p->transparent && (p->adoption == NULL || !p->adoption->open)) {
        p = container(p);
    }
    return p;
}

/* Where n's subtree is written: the part file of the adoption it belongs to, its unit's
 * tree, or its thread's part of the run's. */
static struct ft_sink *
sink_of(struct ft_run *r, struct ft_tnode *n)
{
    struct ft_rthread *o = n->owner;

    if (n->part_owner != NULL) {
        struct ft_adoption *a = n->part_owner->adoption;
        return a->open ? &a->part : NULL;
    }
    if (n->unit != NULL) {
        return n->unit->tree_open ? &n->unit->tree : NULL;
    }
    if (!o->tree_open && open_tree_part(r, o) != 0) {
        return NULL;
    }
    return &o->tree;
}

static void
enqueue(struct ft_tnode *p, struct ft_tnode *n)
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
unqueue_head(struct ft_tnode *p)
{
    struct ft_tnode *h = p->qhead;

    p->qhead = h->next;
    if (p->qhead == NULL) {
        p->qtail = NULL;
    }
    h->next = NULL;
    h->queued = 0;
}

/* Writes a held node and everything under it (all complete) into s, as elements of the
 * array whose element count is *count. */
static void serialize(struct ft_run *r, struct ft_sink *s, struct ft_tnode *n, uint32_t *count);

/* A unit's root, complete and never streamed: written whole into the unit's own tree,
 * which is then done. */
static void
serialize_unit(struct ft_run *r, struct ft_tnode *n)
{
    struct ft_unit *u = n->unit;
    uint32_t none = 0;

    if (u->tree_open) {
        serialize(r, &u->tree, n, &none);
    }
    ft__unit_done(r, u);
}

/* An ended adoption: its part file (the calls the other thread made, comma-separated) is
 * copied into s where the adoption stands, then removed. */
static void
splice_part(struct ft_run *r, struct ft_sink *s, struct ft_tnode *n, uint32_t *count)
{
    struct ft_adoption *a = n->adoption;
    uint64_t bytes;
    char buf[65536];
    ssize_t got = 0;
    int fd, err;

    bytes = a->part.written + a->part.b.len;
    err = ft_sink_close(&a->part);
    a->open = 0;
    if (err != 0 || bytes == 0) {
        ft__run_note_write_err(r, err); /* its calls are missing from the tree */
        return;
    }
    fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ft__run_note_write_err(r, -errno);
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
        ft__run_note_write_err(r, -errno);
    }
    close(fd);
}

static void
serialize(struct ft_run *r, struct ft_sink *s, struct ft_tnode *n, uint32_t *count)
{
    uint32_t mine = 0;

    if (n->adoption != NULL && n->adoption->open) {
        splice_part(r, s, n, count);
        return;
    }
    if (!n->transparent) {
        if ((*count)++ > 0) {
            ft_buf_putc(&s->b, ',');
        }
        put_node_head(r, &s->b, n);
        count = &mine;
    }
    for (struct ft_tnode *k = n->qhead; k != NULL; k = k->next) {
        if (k->unit_root) {
            serialize_unit(r, k);
            continue;
        }
        serialize(r, s, k, count);
    }
    if (!n->transparent) {
        put_node_tail(r, &s->b, n);
    }
}

static void became_done(struct ft_run *r, struct ft_tnode *n);

/* Writes out the complete children at the head of a streamed node's queue. */
static void
drain(struct ft_run *r, struct ft_tnode *p)
{
    struct ft_sink *s = sink_of(r, p);
    struct ft_tnode *h, *a = array_of(p);

    while ((h = p->qhead) != NULL && h->done) {
        unqueue_head(p);
        if (h->adoption != NULL && h->adoption->open) {
            if (s != NULL) {
                splice_part(r, s, h, &a->nwritten);
            }
        } else if (!h->streamed && h->unit_root) {
            serialize_unit(r, h);
        } else if (!h->streamed && s != NULL) {
            serialize(r, s, h, &a->nwritten);
            ft_sink_maybe_flush(s);
        }
        free_tree(r, h);
    }
}

/* n has ended and so has everything under it. */
static void
became_done(struct ft_run *r, struct ft_tnode *n)
{
    struct ft_tnode *p = container(n);

    n->done = 1;
    if (n->streamed) {
        struct ft_sink *s = sink_of(r, n);
        drain(r, n);
        if (s != NULL && !n->transparent) {
            put_node_tail(r, &s->b, n);
            ft_sink_maybe_flush(s);
        }
        if (n->unit_root) {
            ft__unit_done(r, n->unit);
        }
        if (!n->queued) {
            node_free(r, n);
            n = NULL;
        }
    }
    if (p->pending > 0) {
        p->pending--;
    }
    if (p->streamed) {
        drain(r, p); /* frees n if it was queued */
    }
    if (p != &p->owner->top && p->closed && p->pending == 0 && !p->done) {
        became_done(r, p);
    }
}

/* A held (or tentative) node that may now stream: when nothing before it is waiting. */
static void
try_stream(struct ft_run *r, struct ft_tnode *n)
{
    struct ft_tnode *p = container(n);
    struct ft_sink *s;

    if (n->gen || n->tentative || !p->streamed || (n->queued && p->qhead != n) ||
        (!n->queued && p->qhead != NULL) || (s = sink_of(r, n)) == NULL) {
        if (!n->queued && !n->streamed) {
            n->held = 1;
            enqueue(p, n);
        }
        return;
    }
    if (n->queued) {
        unqueue_head(p);
    }
    if (!n->transparent) {
        struct ft_tnode *a = array_of(p);
        if (!n->unit_root && a->nwritten++ > 0) {
            ft_buf_putc(&s->b, ','); /* a unit's root is alone in its own tree */
        }
        put_node_head(r, &s->b, n);
        ft_sink_maybe_flush(s);
    }
    n->streamed = 1;
    n->held = 0;
}

/* ---- Events ------------------------------------------------------------------------------ */

static int
push_frame(struct ft_rthread *t, struct ft_tnode *n, uint64_t code_id)
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
static struct ft_tnode *
pop_frame(struct ft_rthread *t)
{
    struct ft_tnode *n = t->stack[--t->depth].node;

    if (n != NULL) {
        n->frames--;
    }
    return n;
}

/* The innermost visible call executing on t, or the work t adopted when no call of its
 * own has been opened since; NULL if none. */
static struct ft_tnode *
current(struct ft_rthread *t)
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

static struct ft_tnode *
open_node(struct ft_run *r, struct ft_rthread *t, const struct ft_code *code, uint64_t ticks,
          struct ft_tnode *parent, int gen)
{
    struct ft_tnode *n;
    /* Framework code that delimits a request adds no level inside one. */
    int transparent =
        (code->flags & FT_DEF_BOUNDARY) != 0 && parent != NULL && parent->unit != NULL;
    uint32_t depth = parent ? parent->depth + (uint32_t)!transparent : 1;

    /* Below --max-depth: inside a hidden frame, or deeper than allowed. */
    if (r->max_depth &&
        (depth > r->max_depth || (t->depth > 0 && t->stack[t->depth - 1].node == NULL))) {
        return NULL;
    }
    n = calloc(1, sizeof(*n));
    if (n == NULL) {
        return NULL;
    }
    n->id = ++r->next_call_id;
    n->code = code;
    n->parent = parent;
    n->owner = parent != NULL ? parent->owner : t;
    n->start = ticks;
    n->resumed_at = ticks;
    n->depth = depth;
    n->gen = (uint8_t)gen;
    n->transparent = (uint8_t)transparent;
    n->tentative = r->min_ticks > 0 && !transparent;
    n->unit = parent != NULL ? parent->unit : NULL;
    n->part_owner = parent != NULL ? parent->part_owner : NULL;
    if (n->unit != NULL && !transparent) {
        n->unit->calls++;
    }
    container(n)->pending++;
    /* Order is decided now: behind anything already waiting, it must wait too. */
    if (gen || n->tentative || !container(n)->streamed || container(n)->qhead != NULL) {
        n->held = 1;
        enqueue(container(n), n);
    }
    r->calls += (uint64_t)!transparent;
    return n;
}

static int
text_dup(char **slot, struct ft_buf *b)
{
    if (b->oom) {
        ft_buf_free(b);
        return -ENOMEM;
    }
    ft_buf_putc(b, '\0');
    free(*slot);
    *slot = b->p;
    return 0;
}

/* ARGS: u64 instance, then per parameter u32 length + text. */
/* An int sent as 8 bytes (FT_ARG_INT, RESULT_INT), as the JSON string repr() gives. */
static void
put_int_text(struct ft_buf *b, const uint8_t *p)
{
    int64_t x;

    memcpy(&x, p, 8);
    ft_buf_putc(b, '"');
    ft_buf_put_i64(b, x);
    ft_buf_putc(b, '"');
}

/* ,"name": of the i-th argument in an args object ("argN" past the definition's names). */
static void
put_arg_key(struct ft_buf *b, const struct ft_tnode *n, uint32_t i)
{
    if (i > 0) {
        ft_buf_putc(b, ',');
    }
    if (i < n->code->nparams) {
        ft_buf_put(b, n->code->keys[i], n->code->keylens[i]);
    } else {
        ft_buf_printf(b, "\"arg%u\":", i);
    }
}

static int
take_args(struct ft_tnode *n, const uint8_t *p, size_t len)
{
    struct ft_buf b;
    size_t pos = 8;
    uint32_t i = 0;

    if (len < 8) {
        return FT_EBADRECORD;
    }
    memcpy(&n->instance, p, 8);
    if (len == 8) {
        return 0; /* a method with no parameter but self: its instance only */
    }
    ft_buf_init(&b);
    ft_buf_putc(&b, '{');
    while (pos < len) {
        uint32_t vlen;
        if (len - pos < 4) {
            ft_buf_free(&b);
            return FT_EBADRECORD;
        }
        memcpy(&vlen, p + pos, 4);
        pos += 4;
        put_arg_key(&b, n, i);
        if (vlen & FT_ARG_INT) {
            if (vlen != (FT_ARG_INT | 8) || len - pos < 8) {
                ft_buf_free(&b);
                return FT_EBADRECORD;
            }
            put_int_text(&b, p + pos);
            pos += 8;
            i++;
            continue;
        }
        if (vlen > len - pos) {
            ft_buf_free(&b);
            return FT_EBADRECORD;
        }
        ft_json_put_str(&b, (const char *)p + pos, vlen);
        pos += vlen;
        i++;
    }
    ft_buf_putc(&b, '}');
    return text_dup(&n->args, &b);
}

/* ARGS_INTS: one int64 per parameter, the instance 0. */
static int
take_args_ints(struct ft_tnode *n, const uint8_t *p, size_t len)
{
    struct ft_buf b;

    if (len % 8 != 0) {
        return FT_EBADRECORD;
    }
    n->instance = 0;
    ft_buf_init(&b);
    ft_buf_putc(&b, '{');
    for (uint32_t i = 0; i < len / 8; i++) {
        put_arg_key(&b, n, i);
        put_int_text(&b, p + 8 * (size_t)i);
    }
    ft_buf_putc(&b, '}');
    return text_dup(&n->args, &b);
}

/* The text argument i had at the call, from the node's args JSON (for argsAfter). */
static int
same_as_entry(const struct ft_tnode *n, uint32_t i, const char *text, size_t len)
{
    struct ft_buf b;
    int same;

    if (n->args == NULL || i >= n->code->nparams) {
        return 0;
    }
    ft_buf_init(&b);
    ft_buf_put(&b, n->code->keys[i], n->code->keylens[i]);
    ft_json_put_str(&b, text, len);
    same = !b.oom && memmem(n->args, strlen(n->args), b.p, b.len) != NULL;
    ft_buf_free(&b);
    return same;
}

/* ARGS_AFTER: u32 index, u32 length, text; kept where the value changed. */
static int
take_after(struct ft_tnode *n, const uint8_t *p, size_t len)
{
    struct ft_buf b;
    size_t pos = 0;
    int any = 0;

    ft_buf_init(&b);
    ft_buf_putc(&b, '{');
    while (pos < len) {
        uint32_t idx, vlen;
        if (len - pos < 8) {
            ft_buf_free(&b);
            return FT_EBADRECORD;
        }
        memcpy(&idx, p + pos, 4);
        memcpy(&vlen, p + pos + 4, 4);
        pos += 8;
        if (vlen > len - pos) {
            ft_buf_free(&b);
            return FT_EBADRECORD;
        }
        if (!same_as_entry(n, idx, (const char *)p + pos, vlen) && idx < n->code->nparams) {
            if (any++) {
                ft_buf_putc(&b, ',');
            }
            ft_buf_put(&b, n->code->keys[idx], n->code->keylens[idx]);
            ft_json_put_str(&b, (const char *)p + pos, vlen);
        }
        pos += vlen;
    }
    ft_buf_putc(&b, '}');
    if (!any) {
        ft_buf_free(&b);
        return 0;
    }
    return text_dup(&n->after, &b);
}

/* EXC: type, module, message, each u32-length-prefixed. */
static int
take_exc(char **slot, const uint8_t *p, size_t len)
{
    static const char *keys[3] = {"{\"type\":", ",\"module\":", ",\"message\":"};
    struct ft_buf b;
    size_t pos = 0;

    ft_buf_init(&b);
    for (int i = 0; i < 3; i++) {
        uint32_t n;
        if (len - pos < 4) {
            ft_buf_free(&b);
            return FT_EBADRECORD;
        }
        memcpy(&n, p + pos, 4);
        pos += 4;
        if (n > len - pos) {
            ft_buf_free(&b);
            return FT_EBADRECORD;
        }
        ft_buf_puts(&b, keys[i]);
        ft_json_put_str(&b, (const char *)p + pos, n);
        pos += n;
    }
    ft_buf_putc(&b, '}');
    return text_dup(slot, &b);
}

static int
take_memory(char **slot, const uint8_t *p, size_t len)
{
    uint64_t m[3];
    struct ft_buf b;
    static const char *keys[3] = {"{\"rss\":", ",\"tracemalloc\":", ",\"peak\":"};

    if (len != sizeof(m)) {
        return FT_EBADRECORD;
    }
    memcpy(m, p, sizeof(m));
    ft_buf_init(&b);
    for (int i = 0; i < 3; i++) {
        ft_buf_puts(&b, keys[i]);
        if (m[i] == UINT64_MAX) {
            ft_buf_puts(&b, "null");
        } else {
            ft_buf_put_u64(&b, m[i]);
        }
    }
    ft_buf_putc(&b, '}');
    return text_dup(slot, &b);
}

/* ---- Deferred output ------------------------------------------------------------------------ */

static void
flush_enter(struct ft_run *r, struct ft_rthread *t)
{
    struct ft_tnode *n = t->pend_enter;

    t->pend_enter = NULL;
    if (n == NULL) {
        return;
    }
    r->settled++;
    if (n->tentative) {
        return;
    }
    if (!n->entered && !n->transparent) {
        enter_line(r, t, n);
    }
    if (!n->held) {
        try_stream(r, n);
    }
}

/* The end of n is known and its values are attached: lines, then the tree. */
static void
finish_node(struct ft_run *r, struct ft_rthread *t, struct ft_tnode *n)
{
    if (n->tentative) {
        if (n->end - n->start < r->min_ticks) {
            /* Too short: leave it out; its children (if any remain) move up. */
            struct ft_tnode *p = container(n);
            struct ft_tnode *k = n->qhead;
            if (n->queued) {
                /* Remove n from p's queue, putting its children in its place. */
                struct ft_tnode **pp = &p->qhead, *prev = NULL;
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
                    for (struct ft_tnode *c = k; c != n->next; c = c->next) {
                        c->parent = n->parent;
                    }
                } else {
                    *pp = n->next;
                    if (p->qtail == n) {
                        p->qtail = prev;
                    }
                }
            }
            p->pending = p->pending - 1 + n->pending;
            r->calls--;
            node_free(r, n);
            if (p->streamed) {
                drain(r, p);
            }
            if (p != &p->owner->top && p->closed && p->pending == 0 && !p->done) {
                became_done(r, p);
            }
            return;
        }
        n->tentative = 0;
        enter_line(r, t, n);
    }
    if (n->unit != NULL) {
        ft__unit_call_ended(r, n, n->unwound && !closed_by_caller(n));
    } else if (r->opts.span_limit > 0 && !n->transparent) {
        ft__offer_span(r, &r->spans, n);
    }
    if (!n->transparent) {
        exit_line(r, t, n);
    }
    n->closed = 1;
    if (n->pending == 0) {
        became_done(r, n);
    } else if (n->streamed && !n->queued) {
        /* Its tail waits for children that outlive it: what follows must wait too. */
        enqueue(container(n), n);
    }
}

static void
flush_leave(struct ft_run *r, struct ft_rthread *t)
{
    struct ft_tnode *n = t->pend_leave;

    t->pend_leave = NULL;
    if (n != NULL) {
        r->settled++;
        finish_node(r, t, n);
    }
}

static void
flush_unwinds(struct ft_run *r, struct ft_rthread *t)
{
    for (size_t i = 0; i < t->nunwinds; i++) {
        r->settled++;
        finish_node(r, t, t->unwinds[i]);
    }
    t->nunwinds = 0;
}

static void
flush_pending(struct ft_run *r, struct ft_rthread *t)
{
    flush_enter(r, t);
    flush_leave(r, t);
    flush_unwinds(r, t);
}

/* --min-duration: a call running for longer than the minimum is kept; commit it now so
 * it streams (frames below committed_below are committed; starts grow with depth). */
static void
commit_long_enough(struct ft_run *r, struct ft_rthread *t, uint64_t now)
{
    if (r->min_ticks == 0) {
        return;
    }
    while (t->committed_below < t->depth) {
        struct ft_tnode *n = t->stack[t->committed_below].node;
        if (n != NULL && n->tentative) {
            if (now - n->start < r->min_ticks) {
                break;
            }
            n->tentative = 0;
            enter_line(r, t, n);
            if (!n->gen) {
                n->held = 0;
                try_stream(r, n);
            }
        }
        t->committed_below++;
    }
}

/* ---- Work handed to other threads ---------------------------------------------------------- */

/* The adoption node x has ended: ADOPT_END, its thread left the frame it adopted the
 * work in or ended, or (never adopted) the run ended. */
static void
adoption_over(struct ft_run *r, struct ft_tnode *x, uint64_t ticks)
{
    x->end = ticks;
    x->closed = 1;
    if (x->pending == 0 && !x->done) {
        became_done(r, x);
    }
}

/* HANDOFF: the current call hands work to another thread. Only what a unit hands off is
 * followed (it belongs to the unit): a transparent node takes the work's place among the
 * call's children now, so that it keeps its order and the call stays open until the work
 * is over, whenever a thread adopts it. */
static int
on_handoff(struct ft_run *r, struct ft_rthread *t, uint64_t key, uint64_t ticks)
{
    struct ft_tnode *cur = current(t), *old, *x;
    struct ft_adoption *a;

    if (cur == NULL || cur->unit == NULL || key == 0) {
        return 0;
    }
    if ((old = idmap_get(&r->handoffs, key)) != NULL) {
        idmap_del(&r->handoffs, key); /* never adopted, and its key is used again */
        adoption_over(r, old, old->start);
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
    x->unit = cur->unit;
    x->part_owner = cur->part_owner;
    x->transparent = 1;
    x->held = 1;
    x->spawner = 1; /* in the hand-off map until adopted */
    x->adoption = a;
    cur->pending++;
    enqueue(cur, x);
    return idmap_put(&r->handoffs, key, x);
}

/* ADOPT_END, or the adopting thread left the frame it adopted the work in, or ended. */
static void
adopt_end(struct ft_run *r, struct ft_rthread *t, uint64_t ticks)
{
    struct ft_tnode *x = t->adopt;

    if (x != NULL) {
        t->adopt = NULL;
        adoption_over(r, x, ticks);
    }
}

/* ADOPT: this thread starts the work handed off under key. The calls it makes meanwhile
 * go under the adoption node, streamed to a part file of their own (they run beside the
 * handing thread's), or held in memory if that file cannot be opened. */
static int
on_adopt(struct ft_run *r, struct ft_rthread *t, uint64_t key, uint64_t ticks)
{
    struct ft_tnode *x = key != 0 ? idmap_get(&r->handoffs, key) : NULL;
    struct ft_adoption *a;
    char path[4200];

    adopt_end(r, t, ticks);
    if (x == NULL) {
        return 0; /* not work a unit handed off: the thread's calls stay its own */
    }
    idmap_del(&r->handoffs, key);
    a = x->adoption;
    a->thread = t;
    x->spawner = 0; /* out of the hand-off map */
    if (x->unit->dir != NULL && x->unit->tree_open) {
        snprintf(path, sizeof(path), "%s/.handoff-%llu.part", x->unit->dir,
                 (unsigned long long)++r->next_part);
        if ((a->path = strdup(path)) != NULL && ft_sink_open(&a->part, path, 1) == 0) {
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
ft__run_release_handoffs(struct ft_run *r)
{
    for (size_t i = 0; i < r->handoffs.cap; i++) {
        struct ft_tnode *x = r->handoffs.vals[i];
        if (x != NULL) {
            r->handoffs.vals[i] = NULL;
            adoption_over(r, x, x->start); /* never adopted: nothing to show */
        }
    }
}

/* ---- Record handling ---------------------------------------------------------------------- */

static int
on_enter(struct ft_run *r, struct ft_rthread *t, const struct ft_rec *rec)
{
    const struct ft_code *code = ft_codetab_get(&r->codes, rec->payload);
    struct ft_tnode *n, *parent = current(t);
    int gen = rec->kind == FT_REC_START;

    if (code == NULL) {
        return FT_EUNDEFCODE;
    }
    if (gen) {
        struct ft_tnode *old = idmap_get(&r->gens, rec->extra);
        struct ft_tnode *spawner;
        if (old != NULL) {
            idmap_del(&r->gens, rec->extra);
            if (old->frames == 0) {
                /* The frame of a suspended generator was reused: it was freed, closed. */
                old->dropped = 1;
                finish_node(r, old->owner, old);
                parent = current(t);
            }
            /* else a stream that starts a frame still running (not CPython's): the old
             * node ends with its frame, as any call whose return is not seen. */
        }
        spawner = idmap_get(&r->spawns, rec->extra); /* after finish_node, which may free */
        if (spawner != NULL) {
            parent = spawner;
            idmap_del(&r->spawns, rec->extra);
        }
    }
    n = open_node(r, t, code, rec->ticks, parent, gen);
    if (gen && n != NULL) {
        n->ident = rec->extra;
        if (idmap_put(&r->gens, rec->extra, n) != 0) {
            return -ENOMEM;
        }
    }
    t->pend_enter = n;
    r->settled -= n != NULL; /* counted again when its line is written (flush_enter) */
    return push_frame(t, n, code->id);
}

static int
on_resume(struct ft_run *r, struct ft_rthread *t, const struct ft_rec *rec)
{
    struct ft_tnode *g = idmap_get(&r->gens, rec->extra);

    if (g == NULL) {
        /* Started before tracing (or its start was lost): a logical call from here. */
        struct ft_rec start = *rec;
        start.kind = FT_REC_START;
        return on_enter(r, t, &start);
    }
    if (g->frames > 0) {
        /* Resumed while it runs: CPython raises "generator already executing", so only
         * a malformed stream says so. Ignored, so that the node never ends while a
         * frame still points at it. */
        return 0;
    }
    g->resumes++;
    g->resumed_at = rec->ticks;
    g->resume_mark = r->next_call_id;
    return push_frame(t, g, g->code->id);
}

/* The frame on top must be code_id's (else a return was missed: those frames end as
 * incomplete). A return with no matching frame belongs to a call that started before
 * tracing did, and is ignored. Returns the frame index, or -1. */
static long
match_frame(struct ft_run *r, struct ft_rthread *t, uint64_t code_id, uint64_t ticks)
{
    size_t i = t->depth;

    while (i > 0 && t->stack[i - 1].code_id != code_id) {
        i--;
    }
    if (i == 0) {
        return -1;
    }
    while (t->depth > i) {
        struct ft_tnode *n = pop_frame(t);
        if (n != NULL && !n->gen) {
            n->end = ticks;
            n->incomplete = "return not seen";
            finish_node(r, t, n);
        } else if (n != NULL) {
            /* A generator left without its yield seen: suspended there, as far as we know. */
            n->active += ticks - n->resumed_at;
            n->end = ticks;
        }
    }
    return (long)i - 1;
}

static void
on_leave(struct ft_run *r, struct ft_rthread *t, const struct ft_rec *rec)
{
    struct ft_tnode *n;

    if (match_frame(r, t, rec->payload, rec->ticks) < 0) {
        return;
    }
    n = pop_frame(t);
    if (t->committed_below > t->depth) {
        t->committed_below = t->depth;
    }
    if (t->adopt != NULL && t->depth < t->adopt_depth) {
        adopt_end(r, t, rec->ticks); /* the frame it adopted the work in has ended */
    }
    if (n == NULL) {
        return; /* below --max-depth */
    }
    if (n->gen) {
        n->active += rec->ticks - n->resumed_at;
        if (rec->kind == FT_REC_YIELD) {
            free(n->exc); /* an exception thrown in was handled */
            n->exc = NULL;
            n->end = rec->ticks; /* its end if it is never resumed */
            return;              /* suspended: the logical call goes on */
        }
        idmap_del(&r->gens, n->ident);
    }
    n->end = rec->ticks;
    if (rec->kind == FT_REC_UNWIND || rec->kind == FT_REC_C_RAISE) {
        n->unwound = 1;
        n->idle_end = n->gen && n->resumes > 0 && r->next_call_id == n->resume_mark;
        if (t->nunwinds == t->capunwinds) {
            size_t cap = t->capunwinds ? t->capunwinds * 2 : 8;
            struct ft_tnode **nu = realloc(t->unwinds, cap * sizeof(*nu));
            if (nu == NULL) {
                finish_node(r, t, n);
                return;
            }
            t->unwinds = nu;
            t->capunwinds = cap;
        }
        t->unwinds[t->nunwinds++] = n;
        r->settled--; /* counted again in flush_unwinds */
    } else {
        t->pend_leave = n;
        r->settled--; /* counted again in flush_leave */
    }
}

static void
on_gap(struct ft_run *r, struct ft_rthread *t)
{
    /* Records were dropped here: nothing open on this thread can be trusted to end. */
    ft__run_close_open_calls(r, t, "events lost");
}

/* A value record attaches to the event just before it. */
static int
on_values(struct ft_run *r, struct ft_rthread *t, const struct ft_rec *rec)
{
    struct ft_tnode *last = t->nunwinds ? t->unwinds[t->nunwinds - 1] : t->pend_leave;
    size_t len = rec->payload;

    switch (rec->kind) {
    case FT_REC_ARGS:
        return t->pend_enter ? take_args(t->pend_enter, rec->data, len) : 0;
    case FT_REC_ARGS_INTS:
        return t->pend_enter ? take_args_ints(t->pend_enter, rec->data, len) : 0;
    case FT_REC_RESULT:
        if (t->pend_leave != NULL) {
            struct ft_buf b;
            ft_buf_init(&b);
            ft_json_put_str(&b, (const char *)rec->data, len);
            return text_dup(&t->pend_leave->result, &b);
        }
        return 0;
    case FT_REC_RESULT_INT:
        if (len != 8) {
            return FT_EBADRECORD;
        }
        if (t->pend_leave != NULL) {
            struct ft_buf b;
            ft_buf_init(&b);
            put_int_text(&b, rec->data);
            return text_dup(&t->pend_leave->result, &b);
        }
        return 0;
    case FT_REC_ARGS_AFTER:
        return t->pend_leave ? take_after(t->pend_leave, rec->data, len) : 0;
    case FT_REC_EXC: {
        char *exc = NULL;
        int err = take_exc(&exc, rec->data, len);
        if (err != 0) {
            return err;
        }
        if (t->nunwinds == 0) {
            /* Thrown into a suspended generator (throw(), close()): kept on it in case it
             * ends by it where no other frame reports it. */
            struct ft_tnode *top = t->depth > 0 ? t->stack[t->depth - 1].node : NULL;
            if (top != NULL && top->gen) {
                free(top->exc);
                top->exc = exc;
                return 0;
            }
        }
        /* One exception unwound all the frames waiting for it. */
        for (size_t i = 0; i < t->nunwinds; i++) {
            free(t->unwinds[i]->exc);
            t->unwinds[i]->exc = strdup(exc);
        }
        free(exc);
        flush_unwinds(r, t);
        return 0;
    }
    case FT_REC_UNIT:
        return t->pend_enter ? ft__unit_begin(r, t, t->pend_enter, rec->data, len) : 0;
    case FT_REC_UNIT_END:
        /* After the RETURN of a unit's call, or its UNWIND (a request that raised). */
        if (last != NULL && last->unit_root) {
            return ft__unit_end_values(last->unit, rec->data, len);
        }
        return 0;
    case FT_REC_STATUS: {
        struct ft_tnode *cur = current(t);
        return cur != NULL && cur->unit != NULL ? ft__unit_status(cur->unit, rec->data, len) : 0;
    }
    case FT_REC_MEMORY:
        if (t->pend_enter != NULL) {
            return take_memory(&t->pend_enter->mem_before, rec->data, len);
        }
        return last ? take_memory(&last->mem_after, rec->data, len) : 0;
    default:
        return 0; /* a value kind this reader does not know: skipped whole */
    }
    (void)r;
}

int
ft__run_events(struct ft_run *r, struct ft_rthread *t, const uint8_t *p, size_t n)
{
    size_t pos = 0;
    struct ft_rec rec;
    int rc, err = 0;

    while ((rc = ft_rec_next(p, n, &pos, &rec)) == 1) {
        if (rec.kind >= FT_REC_VALUE) {
            if ((err = on_values(r, t, &rec)) != 0) {
                return err;
            }
            continue;
        }
        unsigned counted = (unsigned)ft__rec_counted(rec.kind);
        r->records += counted;
        if (rec.ticks > r->last_ticks) {
            r->last_ticks = rec.ticks;
        }
        if (rec.kind == FT_REC_UNWIND || rec.kind == FT_REC_C_RAISE) {
            /* The same exception leaving the next frame too: one EXC will describe the
             * whole chain when no frame in between reported it. */
            flush_enter(r, t);
            flush_leave(r, t);
        } else {
            flush_pending(r, t);
        }
        commit_long_enough(r, t, rec.ticks);
        switch (rec.kind) {
        case FT_REC_CALL:
        case FT_REC_START:
        case FT_REC_C_CALL:
            err = on_enter(r, t, &rec);
            break;
        case FT_REC_RESUME:
            err = on_resume(r, t, &rec);
            break;
        case FT_REC_RETURN:
        case FT_REC_UNWIND:
        case FT_REC_YIELD:
        case FT_REC_C_RETURN:
        case FT_REC_C_RAISE:
            on_leave(r, t, &rec);
            break;
        case FT_REC_GAP:
            on_gap(r, t);
            break;
        case FT_REC_SPAWN: {
            struct ft_tnode *cur = current(t);
            if (cur != NULL) {
                cur->spawner = 1;
                err = idmap_put(&r->spawns, rec.extra, cur);
            }
            break;
        }
        case FT_REC_HANDOFF:
            err = on_handoff(r, t, rec.extra, rec.ticks);
            break;
        case FT_REC_ADOPT:
            err = on_adopt(r, t, rec.extra, rec.ticks);
            break;
        case FT_REC_ADOPT_END:
            adopt_end(r, t, rec.ticks);
            break;
        default:
            break; /* kinds this reader does not render are skipped whole */
        }
        r->settled += counted; /* unless it waits: those sites took it back */
        if (err != 0) {
            return err;
        }
    }
    if (r->jsonl.b.oom || (t->tree_open && t->tree.b.oom)) {
        return -ENOMEM;
    }
    return rc;
}

/* ---- Ends ---------------------------------------------------------------------------------- */

void
ft__run_close_open_calls(struct ft_run *r, struct ft_rthread *t, const char *reason)
{
    flush_pending(r, t);
    while (t->depth > 0) {
        struct ft_tnode *n = pop_frame(t);
        if (n == NULL) {
            continue;
        }
        if (n->gen) {
            n->active += r->last_ticks - n->resumed_at;
            idmap_del(&r->gens, n->ident);
        }
        n->end = r->last_ticks;
        n->incomplete = reason;
        if (n->tentative) {
            n->tentative = 0;
            enter_line(r, t, n);
        }
        finish_node(r, t, n);
    }
    t->committed_below = 0;
    adopt_end(r, t, r->last_ticks);
}

/* Generators and coroutines still suspended at the end: the interpreter closed them when
 * it finished (finalized), else they never finished (reason). */
void
ft__run_close_generators(struct ft_run *r, int finalized, const char *reason)
{
    for (size_t i = 0; i < r->gens.cap; i++) {
        struct ft_tnode *g = r->gens.vals ? r->gens.vals[i] : NULL;
        if (g == NULL) {
            continue;
        }
        r->gens.vals[i] = NULL;
        if (finalized) {
            g->dropped = 1; /* ends at its last yield */
        } else {
            g->end = r->last_ticks;
            g->incomplete = reason;
        }
        if (g->tentative) {
            g->tentative = 0;
            enter_line(r, g->owner, g);
        }
        finish_node(r, g->owner, g);
    }
}
