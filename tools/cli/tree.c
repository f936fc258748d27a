/* tree.c - streaming load of tree.json (yajl callbacks) into an arena-backed tree. */
#define _GNU_SOURCE
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "lib/json.h"
#include "lib/rfile.h"

#include "lib/err.h"
#include "pyval.h"

/* ---- Arena and string interning ---------------------------------------------------- */

struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
};

struct ft_tree_priv {
    struct chunk *chunks;
    const char **strs; /* intern table (open addressing) */
    size_t nstrs, cap;
};

static void *
arena_alloc(struct ft_tree_priv *p, size_t n)
{
    struct chunk *c = p->chunks;

    n = (n + 7) & ~(size_t)7;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > (1u << 20) ? n : (1u << 20);
        c = malloc(sizeof(*c) + cap);
        if (c == NULL) {
            return NULL;
        }
        c->used = 0;
        c->cap = cap;
        c->next = p->chunks;
        p->chunks = c;
    }
    c->used += n;
    return c->data + c->used - n;
}

static const char *
arena_str(struct ft_tree_priv *p, const unsigned char *s, size_t n)
{
    char *d = arena_alloc(p, n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static uint64_t
hash(const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * 1099511628211ull;
    }
    return h;
}

/* Doubles the intern table. Returns 0 or -ENOMEM. */
static int
intern_grow(struct ft_tree_priv *p)
{
    size_t cap = p->cap ? p->cap * 2 : 1024;
    const char **ns = calloc(cap, sizeof(const char *));

    if (ns == NULL) {
        return -ENOMEM;
    }
    for (size_t j = 0; j < p->cap; j++) {
        if (p->strs[j] != NULL) {
            const char *o = p->strs[j];
            size_t k = hash((const unsigned char *)o, strlen(o)) & (cap - 1);
            while (ns[k] != NULL) {
                k = (k + 1) & (cap - 1);
            }
            ns[k] = o;
        }
    }
    free(p->strs);
    p->strs = ns;
    p->cap = cap;
    return 0;
}

static const char *
intern(struct ft_tree_priv *p, const unsigned char *s, size_t n)
{
    size_t i;

    if (p->nstrs * 2 >= p->cap && intern_grow(p) != 0) {
        return NULL;
    }
    i = hash(s, n) & (p->cap - 1);
    while (p->strs[i] != NULL) {
        if (strncmp(p->strs[i], (const char *)s, n) == 0 && p->strs[i][n] == '\0') {
            return p->strs[i];
        }
        i = (i + 1) & (p->cap - 1);
    }
    p->strs[i] = arena_str(p, s, n);
    p->nstrs++;
    return p->strs[i];
}

/* Reads of the file: 256 KiB, doubled while one token spans them, up to 1 GiB. */
#define FEED_MIN ((size_t)1 << 18)
#define FEED_MAX ((size_t)1 << 30)

/* ---- Parser state ------------------------------------------------------------------- */

enum ctx {
    C_ROOT,
    C_ROOT_EXC,
    C_TRACER,
    C_ARGV,
    C_NOTICES,
    C_THREADS,
    C_THREAD,
    C_CALLS,
    C_NODE,
    C_EXC,
    C_ARGS,
    C_MEM,
    C_MEM_SIDE,
    C_SKIP,
    C_CAPTURE
};

struct frame {
    enum ctx ctx;
    int depth;            /* nesting inside C_SKIP / C_CAPTURE */
    struct ft_node *node; /* C_NODE, C_EXC, C_ARGS, C_MEM*: the node; C_CALLS: the parent */
    const char **slot;    /* C_CAPTURE: where the captured text goes */
    struct ft_mem *mem;   /* C_MEM_SIDE: the snapshot being read */
    int after;            /* C_ARGS: this is "argsAfter" */
    int entered;          /* C_NODE, streaming: the visitor's enter() has seen the node */
    int is_value;         /* C_CAPTURE: an argument's or a result's value */
    struct chunk *mark;   /* C_NODE, streaming: the texts' arena when the node began */
    size_t mark_used;
};

struct loader {
    struct ft_tree *t;
    struct frame *stack;
    int sp, cap; /* frames in use, allocated */
    char key[64];
    struct ft_tree_thread *thread;
    size_t threads_cap, argv_cap;
    struct ft_arg *args; /* the arguments of the node being read, until its map closes */
    size_t nargs, args_cap;
    yajl_gen gen;
    int oom;
    int header_only, header_done;
    int no_values;              /* FT_TREE_NO_VALUES */
    int shallow;                /* FT_TREE_SHALLOW */
    struct ft_tree_priv *names; /* where names are interned: this tree's, or a shared one */
    uint64_t events;            /* parser callbacks so far: a read that adds none holds one token */
    int saw_value;              /* the file holds at least one JSON value */
    /* ft_tree_stream: the visitor, and the nodes and extras it is done with, reused */
    const struct ft_tree_visit *visit;
    struct ft_node *spare;
    struct ft_node_extra **spare_x;
    size_t nspare_x, spare_x_cap;
    int json_values;       /* FT_TREE_JSON_VALUES */
    struct ft_buf scratch; /* a format-3 value's text being made */
    /* ft_tree_stream: the texts of the open calls (values, messages, their argument
     * vectors), freed back to a node's mark when it is left: calls end in the reverse
     * order they began, so this arena is a stack. */
    struct ft_tree_priv texts;
    int open_nodes;
};

static struct frame *
top(struct loader *l)
{
    return l->sp > 0 ? &l->stack[l->sp - 1] : NULL;
}

/* Where a call's texts go: the tree's arena, or while streaming the stack of texts. */
static struct ft_tree_priv *
texts(struct loader *l)
{
    return l->visit != NULL && l->open_nodes > 0 ? &l->texts : l->t->priv;
}

/* Streaming: the texts of a call left (and of its children, left before it) go. */
static void
texts_back_to(struct loader *l, const struct frame *f)
{
    while (l->texts.chunks != f->mark) {
        struct chunk *c = l->texts.chunks;
        l->texts.chunks = c->next;
        free(c);
    }
    if (f->mark != NULL) {
        f->mark->used = f->mark_used;
    }
}

static int
push(struct loader *l, enum ctx c, struct ft_node *node)
{
    if (l->sp == l->cap || l->stack == NULL) {
        int cap = l->cap ? l->cap * 2 : 256;
        struct frame *ns = realloc(l->stack, (size_t)cap * sizeof(*ns));
        if (ns == NULL) {
            l->oom = 1;
            return 0;
        }
        l->stack = ns;
        l->cap = cap;
    }
    l->stack[l->sp] = (struct frame){c, 0, node, NULL, NULL, 0, 0, 0, NULL, 0};
    if (c == C_NODE && l->visit != NULL) {
        l->stack[l->sp].mark = l->texts.chunks;
        l->stack[l->sp].mark_used = l->texts.chunks != NULL ? l->texts.chunks->used : 0;
        l->open_nodes++;
    }
    l->sp++;
    l->key[0] = '\0';
    return 1;
}

/* A container this reader does not look into: skipped, with everything inside. */
static int
push_skip(struct loader *l)
{
    if (!push(l, C_SKIP, NULL)) {
        return 0;
    }
    top(l)->depth = 1;
    return 1;
}

static int
key_is(struct loader *l, const char *k)
{
    return strcmp(l->key, k) == 0;
}

static const char *
str_or_oom(struct loader *l, const char *s)
{
    if (s == NULL) {
        l->oom = 1;
    }
    return s;
}

static struct ft_node_extra *
extra(struct loader *l, struct ft_node *n)
{
    if (n->x == NULL) {
        n->x = l->nspare_x > 0 ? l->spare_x[--l->nspare_x] : arena_alloc(l->t->priv, sizeof(*n->x));
        if (n->x == NULL) {
            l->oom = 1;
            return NULL;
        }
        memset(n->x, 0, sizeof(*n->x));
        n->x->active_us = -1;
        n->x->mem_before = n->x->mem_after = (struct ft_mem){-1, -1, -1};
    }
    return n->x;
}

/* Starts copying a JSON value (a container) as text into *slot; the opening bracket is
 * written by the caller's event. */
static int
begin_capture(struct loader *l, const char **slot, int is_value)
{
    if (!push(l, C_CAPTURE, NULL)) {
        return 0;
    }
    top(l)->slot = slot;
    top(l)->depth = 1;
    top(l)->is_value = is_value;
    return 1;
}

/* Whether values are kept as the text shown for them, made from format-3 JSON. */
static int
shows_json(const struct loader *l)
{
    return l->t->format >= 3 && !l->json_values;
}

static void
end_capture(struct loader *l, struct frame *f)
{
    const unsigned char *buf;
    size_t len;

    yajl_gen_get_buf(l->gen, &buf, &len);
    l->scratch.len = 0;
    if (f->is_value && shows_json(l) && ft_pyval_show(&l->scratch, (const char *)buf, len) == 0) {
        buf = (const unsigned char *)l->scratch.p;
        len = l->scratch.len;
    }
    *f->slot = str_or_oom(l, arena_str(texts(l), buf, len));
    yajl_gen_clear(l->gen);
    yajl_gen_reset(l->gen, NULL);
    l->sp--;
}

/* Containers inside a skipped or captured value. Returns 1 if handled. */
static int
nested(struct loader *l, int open, int close)
{
    struct frame *f = top(l);

    if (f == NULL || (f->ctx != C_SKIP && f->ctx != C_CAPTURE)) {
        return 0;
    }
    f->depth += open - close;
    if (f->depth == 0 && close) {
        if (f->ctx == C_CAPTURE) {
            end_capture(l, f);
        } else {
            l->sp--;
        }
    }
    return 1;
}

/* Streaming: a node the visitor has left, kept for the next call (and its extra). */
static void
recycle(struct loader *l, struct ft_node *n)
{
    if (n->x != NULL) {
        if (l->nspare_x == l->spare_x_cap) {
            size_t cap = l->spare_x_cap ? l->spare_x_cap * 2 : 64;
            struct ft_node_extra **v = realloc(l->spare_x, cap * sizeof(struct ft_node_extra *));
            if (v == NULL) {
                l->oom = 1;
                return;
            }
            l->spare_x = v;
            l->spare_x_cap = cap;
        }
        l->spare_x[l->nspare_x++] = n->x;
    }
    n->next = l->spare;
    l->spare = n;
}

static struct ft_node *
new_node(struct loader *l, struct ft_node *parent)
{
    struct ft_node *n = l->spare != NULL ? l->spare : arena_alloc(l->t->priv, sizeof(*n));

    if (n == NULL) {
        l->oom = 1;
        return NULL;
    }
    if (n == l->spare) {
        l->spare = n->next;
    }
    memset(n, 0, sizeof(*n));
    n->parent = parent;
    if (l->visit != NULL) { /* streaming: the visitor sees it; nothing links it */
        if (parent != NULL) {
            parent->nchildren++;
        }
        if (l->thread != NULL) {
            l->thread->ncalls++;
        }
        l->t->nodes++;
        return n;
    }
    if (parent != NULL) {
        if (parent->last_child) {
            parent->last_child->next = n;
        } else {
            parent->first_child = n;
        }
        parent->last_child = n;
        parent->nchildren++;
    } else if (l->thread != NULL) {
        if (l->thread->last) {
            l->thread->last->next = n;
        } else {
            l->thread->first = n;
        }
        l->thread->last = n;
    }
    if (l->thread != NULL) {
        l->thread->ncalls++;
    }
    l->t->nodes++;
    return n;
}

/* Whether a container that opens in context f is a value (an argument's, a result). */
static int
value_place(struct loader *l, const struct frame *f)
{
    return f->ctx == C_ARGS || (f->ctx == C_NODE && key_is(l, "result"));
}

/* The value slot for a container that opens in context f, or NULL to skip it. */
static const char **
capture_slot(struct loader *l, struct frame *f)
{
    if (f->ctx == C_NODE && key_is(l, "result") && !l->no_values) {
        struct ft_node_extra *x = extra(l, f->node);
        return x != NULL ? &x->result : NULL;
    }
    if (f->ctx == C_NODE && (key_is(l, "raise") || key_is(l, "cause") || key_is(l, "locals"))) {
        struct ft_node_extra *x = extra(l, f->node);
        return x == NULL            ? NULL
               : key_is(l, "raise") ? &x->raise
               : key_is(l, "cause") ? &x->cause
                                    : &x->locals;
    }
    if (f->ctx == C_ROOT && key_is(l, "sources")) {
        return &l->t->sources;
    }
    if (f->ctx == C_ARGS && l->nargs > 0) {
        return &l->args[l->nargs - 1].value;
    }
    return NULL;
}

static int
new_thread(struct loader *l)
{
    if (l->t->nthreads == l->threads_cap) {
        size_t cap = l->threads_cap ? l->threads_cap * 2 : 8;
        struct ft_tree_thread *nt = realloc(l->t->threads, cap * sizeof(*nt));
        if (nt == NULL) {
            l->oom = 1;
            return 0;
        }
        l->t->threads = nt;
        l->threads_cap = cap;
    }
    l->thread = &l->t->threads[l->t->nthreads];
    memset(l->thread, 0, sizeof(*l->thread));
    l->thread->index = l->t->nthreads++;
    return push(l, C_THREAD, NULL);
}

static int
on_start_map(void *ctx)
{
    struct loader *l = ctx;
    struct frame *f = top(l);
    const char **slot;

    l->events++;
    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_map_open(l->gen);
    }
    if (nested(l, 1, 0)) {
        return 1;
    }
    if (f == NULL) {
        l->saw_value = 1;
        return push(l, C_ROOT, NULL);
    }
    switch (f->ctx) {
    case C_ROOT:
        if (key_is(l, "exception")) {
            return push(l, C_ROOT_EXC, NULL);
        }
        if (key_is(l, "tracer")) {
            return push(l, C_TRACER, NULL);
        }
        break;
    case C_THREADS:
        return new_thread(l);
    case C_CALLS: {
        struct ft_node *n = new_node(l, f->node);
        return n != NULL && push(l, C_NODE, n);
    }
    case C_NODE:
        if (key_is(l, "exception")) {
            return push(l, C_EXC, f->node);
        }
        if ((key_is(l, "args") || key_is(l, "argsAfter")) && !l->no_values) {
            int after = key_is(l, "argsAfter");
            l->nargs = 0;
            if (extra(l, f->node) == NULL || !push(l, C_ARGS, f->node)) {
                return 0;
            }
            top(l)->after = after; /* push() forgets the key */
            return 1;
        }
        if (key_is(l, "memory")) {
            return push(l, C_MEM, f->node);
        }
        break;
    case C_MEM:
        if ((key_is(l, "before") || key_is(l, "after")) && extra(l, f->node) != NULL) {
            struct ft_node_extra *x = f->node->x;
            struct ft_mem *m = key_is(l, "before") ? &x->mem_before : &x->mem_after;
            x->have_memory = 1;
            if (!push(l, C_MEM_SIDE, f->node)) {
                return 0;
            }
            top(l)->mem = m; /* push() forgets the key */
            return 1;
        }
        break;
    default:
        break;
    }
    if ((slot = capture_slot(l, f)) != NULL) {
        yajl_gen_map_open(l->gen);
        return begin_capture(l, slot, value_place(l, f));
    }
    return push_skip(l);
}

/* The arguments read so far move from the loader's vector into the tree: into "args",
 * or "argsAfter" when after is set. */
static void
end_args(struct loader *l, struct ft_node *n, int after)
{
    struct ft_node_extra *x = n->x;
    struct ft_arg *v = NULL;

    if (l->nargs > 0) {
        v = arena_alloc(texts(l), l->nargs * sizeof(*v));
        if (v == NULL) {
            l->oom = 1;
            return;
        }
        memcpy(v, l->args, l->nargs * sizeof(*v));
    }
    if (after) {
        x->after = v;
        x->nafter = (uint32_t)l->nargs;
    } else {
        x->have_args = 1;
        x->args = v;
        x->nargs = (uint32_t)l->nargs;
    }
    l->nargs = 0;
}

/* Streaming: the node of frame f is complete; the visitor sees it, then it is reused. */
static int
leave_node(struct loader *l, struct frame *f)
{
    const struct ft_tree_visit *v = l->visit;

    if ((!f->entered && v->enter(v->ctx, l->thread, f->node) != 0) ||
        v->leave(v->ctx, l->thread, f->node) != 0) {
        l->oom = 1;
        return 0;
    }
    recycle(l, f->node);
    return !l->oom;
}

static int
on_end_map(void *ctx)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

    l->events++;
    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_map_close(l->gen);
    }
    if (nested(l, 0, 1)) {
        return 1;
    }
    if (f != NULL && f->ctx == C_THREAD) {
        l->thread = NULL;
    }
    if (f != NULL && f->ctx == C_ARGS) {
        end_args(l, f->node, f->after);
    }
    if (f != NULL && f->ctx == C_EXC && f->node->exc_type == NULL) {
        f->node->exc_type = "?"; /* the fact is known even without its details */
    }
    if (f != NULL && f->ctx == C_NODE && l->visit != NULL) {
        if (!leave_node(l, f)) {
            return 0;
        }
        texts_back_to(l, f);
        l->open_nodes--;
    }
    l->sp--;
    return 1;
}

static int
on_start_array(void *ctx)
{
    struct loader *l = ctx;
    struct frame *f = top(l);
    const char **slot;

    l->events++;
    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_array_open(l->gen);
    }
    if (nested(l, 1, 0)) {
        return 1;
    }
    if (f != NULL && f->ctx == C_ROOT && key_is(l, "threads")) {
        return push(l, C_THREADS, NULL);
    }
    if (f != NULL && f->ctx == C_ROOT && key_is(l, "argv")) {
        return push(l, C_ARGV, NULL);
    }
    if (f != NULL && f->ctx == C_ROOT && key_is(l, "notices")) {
        return push(l, C_NOTICES, NULL);
    }
    if (f != NULL && f->ctx == C_THREAD && key_is(l, "calls")) {
        return push(l, C_CALLS, NULL);
    }
    if (f != NULL && f->ctx == C_NODE && key_is(l, "children")) {
        if (l->visit != NULL && !f->entered) {
            f->entered = 1;
            if (l->visit->enter(l->visit->ctx, l->thread, f->node) != 0) {
                l->oom = 1;
                return 0;
            }
        }
        /* FT_TREE_SHALLOW: the children of top-level calls, not theirs. */
        if (l->shallow && f->node->parent != NULL) {
            return push_skip(l);
        }
        return push(l, C_CALLS, f->node);
    }
    if (f != NULL && (slot = capture_slot(l, f)) != NULL) {
        yajl_gen_array_open(l->gen);
        return begin_capture(l, slot, value_place(l, f));
    }
    if (f == NULL) {
        l->saw_value = 1;
        return 0; /* an array is not a tree file */
    }
    return push_skip(l);
}

static int
on_end_array(void *ctx)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

    l->events++;
    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_array_close(l->gen);
    }
    if (nested(l, 0, 1)) {
        return 1;
    }
    l->sp--;
    return 1;
}

static int
add_arg(struct loader *l, const unsigned char *k, size_t n)
{
    if (l->nargs == l->args_cap) {
        size_t cap = l->args_cap ? l->args_cap * 2 : 16;
        struct ft_arg *na = realloc(l->args, cap * sizeof(*na));
        if (na == NULL) {
            l->oom = 1;
            return 0;
        }
        l->args = na;
        l->args_cap = cap;
    }
    l->args[l->nargs].name = str_or_oom(l, intern(l->names, k, n));
    l->args[l->nargs].value = NULL;
    l->nargs++;
    return 1;
}

static int
on_key(void *ctx, const unsigned char *k, size_t n)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

    l->events++;
    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_string(l->gen, k, n);
        return 1;
    }
    if (f != NULL && f->ctx == C_SKIP) {
        return 1;
    }
    if (f != NULL && f->ctx == C_ARGS) {
        return add_arg(l, k, n);
    }
    if (n >= sizeof(l->key)) {
        n = sizeof(l->key) - 1;
    }
    memcpy(l->key, k, n);
    l->key[n] = '\0';
    if (l->header_only && f != NULL && f->ctx == C_ROOT && key_is(l, "threads")) {
        l->header_done = 1;
        return 0; /* stop: the caller wants the run's fields only */
    }
    return 1;
}

/* A scalar: its text (strings and numbers as written; true/false/null as Python does)
 * and whether it is a string, a number or null. */
struct scalar {
    const unsigned char *s;
    size_t n;
    int is_str, is_null;
    double d;
    int is_bool;
};

/* A scalar's text, copied into the tree; NULL for null. Only values the tree keeps are
 * copied: ids, times and names (interned) are not. */
static const char *
text_of(struct loader *l, const struct scalar *v)
{
    return v->is_null ? NULL : str_or_oom(l, arena_str(texts(l), v->s, v->n));
}

/* A format-3 scalar value as the tree keeps it: the text shown for it, or its JSON text
 * (FT_TREE_JSON_VALUES). Strings are interned when shared is set (arguments: a run and its
 * units share them). */
static const char *
value_of(struct loader *l, const struct scalar *v, int shared)
{
    const unsigned char *s = v->s;
    size_t n = v->n;

    l->scratch.len = 0;
    if (v->is_null) {
        return l->json_values ? "null" : "None";
    }
    if (v->is_bool) {
        return l->json_values ? (v->n == 4 ? "true" : "false") : (const char *)v->s;
    }
    if (v->is_str) {
        if (l->json_values) {
            ft_json_put_str(&l->scratch, (const char *)v->s, v->n);
        } else {
            ft_pyval_put_str(&l->scratch, (const char *)v->s, v->n);
        }
        s = (const unsigned char *)l->scratch.p;
        n = l->scratch.len;
    }
    shared = shared && texts(l) == l->t->priv; /* a streamed call's go with it */
    return str_or_oom(l, shared ? intern(l->names, s, n) : arena_str(texts(l), s, n));
}

static void
root_scalar(struct loader *l, const struct scalar *v)
{
    static const struct {
        const char *key;
        size_t off;
    } strs[] = {{"run", offsetof(struct ft_tree, run)},
                {"parentRun", offsetof(struct ft_tree, parent_run)},
                {"python", offsetof(struct ft_tree, python)},
                {"ended", offsetof(struct ft_tree, ended)},
                {"cwd", offsetof(struct ft_tree, cwd)},
                {"executable", offsetof(struct ft_tree, exe)}};
    struct ft_tree *t = l->t;

    for (size_t i = 0; v->is_str && i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (key_is(l, strs[i].key)) {
            *(const char **)((char *)t + strs[i].off) = text_of(l, v);
            return;
        }
    }
    if (v->is_str || v->is_null) {
        return;
    } else if (key_is(l, "format")) {
        t->format = (int)v->d;
    } else if (key_is(l, "pid")) {
        t->pid = (uint64_t)v->d;
    } else if (key_is(l, "ppid")) {
        t->ppid = (uint64_t)v->d;
    } else if (key_is(l, "start")) {
        t->start_us = v->d;
    } else if (key_is(l, "durationMicros")) {
        t->dur_us = v->d;
    } else if (key_is(l, "exitCode")) {
        t->have_exit_code = 1;
        t->exit_code = (int)v->d;
    } else if (key_is(l, "signal")) {
        t->signal = (int)v->d;
    }
}

static void
tracer_scalar(struct loader *l, const struct scalar *v)
{
    struct ft_tree *t = l->t;

    if (key_is(l, "engine") && v->is_str) {
        t->engine = text_of(l, v);
    } else if (v->is_str || v->is_null) {
        return;
    } else if (key_is(l, "events")) {
        t->events = (uint64_t)v->d;
    } else if (key_is(l, "lost")) {
        t->lost = (uint64_t)v->d;
    } else if (key_is(l, "calls")) {
        t->calls = (uint64_t)v->d;
    } else if (key_is(l, "cpuMicros")) {
        t->cpu_us = (uint64_t)v->d;
    } else if (key_is(l, "blockedMicros")) {
        t->blocked_us = (uint64_t)v->d;
    }
}

/* A node's number: id, line, times, generator figures. */
static void
node_number(struct loader *l, struct ft_node *nd, const struct scalar *v)
{
    if (key_is(l, "id")) {
        nd->id = (uint64_t)v->d;
    } else if (key_is(l, "line")) {
        nd->line = (uint32_t)v->d;
    } else if (key_is(l, "startMicros")) {
        nd->start_us = v->d;
    } else if (key_is(l, "durationMicros")) {
        nd->dur_us = v->d;
    } else if (key_is(l, "resumes") && extra(l, nd) != NULL) {
        nd->x->resumes = (uint64_t)v->d;
    } else if (key_is(l, "activeMicros") && extra(l, nd) != NULL) {
        nd->x->active_us = v->d;
    } else if (key_is(l, "leftAt") && extra(l, nd) != NULL) {
        nd->x->left_at = (uint32_t)v->d;
    } else if (key_is(l, "generated") && v->n == 4 && extra(l, nd) != NULL) {
        nd->x->generated = 1; /* true (booleans come as "True"/"False") */
    } else if (key_is(l, "task") && v->n == 4 && extra(l, nd) != NULL) {
        nd->x->task = 1;
    }
}

/* Where a node's string goes: a name (interned) or a text of its own; NULL to drop it.
 * FT_TREE_NO_VALUES drops the values, but a top-level call's caller places a unit in
 * its run (graft.h). */
static const char **
node_string_slot(struct loader *l, struct ft_node *nd, int *is_name)
{
    static const char *const names[] = {"function", "module", "file"};
    const char **slots[] = {&nd->function, &nd->module, &nd->file};
    int value = key_is(l, "result") || key_is(l, "instance");

    *is_name = 1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (key_is(l, names[i])) {
            return slots[i];
        }
    }
    *is_name = 0;
    if (key_is(l, "incomplete")) {
        return &nd->incomplete;
    }
    if ((l->no_values && (value || (key_is(l, "caller") && nd->parent != NULL))) ||
        !(value || key_is(l, "caller") || key_is(l, "thread")) || extra(l, nd) == NULL) {
        return NULL;
    }
    *is_name = !value;
    return key_is(l, "result")     ? &nd->x->result
           : key_is(l, "instance") ? &nd->x->instance
           : key_is(l, "caller")   ? &nd->x->caller
                                   : &nd->x->thread;
}

static void
node_scalar(struct loader *l, struct ft_node *nd, const struct scalar *v)
{
    const char **slot;
    int is_name;

    if (key_is(l, "result") && !l->no_values && l->t->format >= 3) {
        /* A format-3 result: any JSON value, null (None) too. */
        if (extra(l, nd) != NULL) {
            nd->x->result = value_of(l, v, 0);
        }
        return;
    }
    if (!v->is_str && !v->is_null) {
        /* A number; a result may be one too (a JSON number rendered as it is). */
        if (!(key_is(l, "result") && !l->no_values)) {
            node_number(l, nd, v);
            return;
        }
    }
    if (v->is_null || (slot = node_string_slot(l, nd, &is_name)) == NULL) {
        return;
    }
    *slot = is_name ? str_or_oom(l, intern(l->names, v->s, v->n)) : text_of(l, v);
}

static void
exc_scalar(struct loader *l, const char **type, const char **msg, const char **module,
           const struct scalar *v)
{
    if (key_is(l, "type") && v->is_str) {
        *type = str_or_oom(l, intern(l->names, v->s, v->n));
    } else if (key_is(l, "message") && v->is_str) {
        *msg = text_of(l, v);
    } else if (key_is(l, "module") && v->is_str) {
        *module = str_or_oom(l, intern(l->names, v->s, v->n));
    }
}

static void
mem_scalar(struct loader *l, struct ft_mem *m, const struct scalar *v)
{
    if (v->is_str || v->is_null) {
        return;
    }
    if (key_is(l, "rss")) {
        m->rss = (int64_t)v->d;
    } else if (key_is(l, "tracemalloc")) {
        m->tracemalloc = (int64_t)v->d;
    } else if (key_is(l, "peak")) {
        m->peak = (int64_t)v->d;
    }
}

static int
argv_scalar(struct loader *l, const struct scalar *v)
{
    if (l->t->argc == l->argv_cap) {
        size_t cap = l->argv_cap ? l->argv_cap * 2 : 8;
        const char **na = realloc(l->t->argv, cap * sizeof(*na));
        if (na == NULL) {
            l->oom = 1;
            return 0;
        }
        l->t->argv = na;
        l->argv_cap = cap;
    }
    l->t->argv[l->t->argc++] = v->is_str ? text_of(l, v) : "";
    return 1;
}

static void
arg_scalar(struct loader *l, const struct scalar *v)
{
    struct ft_arg *a = &l->args[l->nargs - 1];

    if (l->t->format >= 3) {
        a->value = value_of(l, v, 1);
    } else if (v->is_str && texts(l) == l->t->priv) {
        a->value = str_or_oom(l, intern(l->names, v->s, v->n));
    } else if (v->is_str) {
        a->value = text_of(l, v); /* a streamed call's go with it */
    } else {
        a->value = v->is_null ? "None" : text_of(l, v);
    }
}

static int
scalar(struct loader *l, struct scalar *v)
{
    struct frame *f = top(l);

    if (f == NULL) {
        l->saw_value = 1;
        return 0; /* a bare scalar is not a tree file */
    }
    if (f->ctx == C_SKIP) {
        return 1;
    }
    if (!v->is_str && !v->is_null) {
        char num[64];
        snprintf(num, sizeof(num), "%.*s", (int)(v->n < 63 ? v->n : 63), (const char *)v->s);
        v->d = strtod(num, NULL);
    }
    switch (f->ctx) {
    case C_ROOT:
        root_scalar(l, v);
        break;
    case C_ROOT_EXC:
        exc_scalar(l, &l->t->exc_type, &l->t->exc_msg, &l->t->exc_module, v);
        break;
    case C_TRACER:
        tracer_scalar(l, v);
        break;
    case C_ARGV:
        return argv_scalar(l, v);
    case C_NOTICES:
        if (v->is_str && l->t->nnotices < FT_TREE_NOTICES) {
            l->t->notices[l->t->nnotices++] = text_of(l, v);
        }
        break;
    case C_THREAD:
        if (key_is(l, "name") && v->is_str) {
            l->thread->name = text_of(l, v);
        } else if (key_is(l, "tid") && !v->is_str && !v->is_null) {
            l->thread->tid = (uint64_t)v->d;
        }
        break;
    case C_NODE:
        node_scalar(l, f->node, v);
        break;
    case C_EXC:
        exc_scalar(l, &f->node->exc_type, &f->node->exc_msg, &f->node->exc_module, v);
        break;
    case C_ARGS:
        if (l->nargs > 0) {
            arg_scalar(l, v);
        }
        break;
    case C_MEM_SIDE:
        mem_scalar(l, f->mem, v);
        break;
    default:
        break;
    }
    return !l->oom;
}

static int
on_string(void *ctx, const unsigned char *s, size_t n)
{
    struct loader *l = ctx;
    struct frame *f = top(l);
    struct scalar v = {s, n, 1, 0, 0, 0};

    l->events++;
    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_string(l->gen, s, n);
        return 1;
    }
    return scalar(l, &v);
}

static int
on_number(void *ctx, const char *s, size_t n)
{
    struct loader *l = ctx;
    struct frame *f = top(l);
    struct scalar v = {(const unsigned char *)s, n, 0, 0, 0, 0};

    l->events++;
    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_number(l->gen, s, n);
        return 1;
    }
    return scalar(l, &v);
}

static int
on_null(void *ctx)
{
    struct loader *l = ctx;
    struct frame *f = top(l);
    struct scalar v = {(const unsigned char *)"", 0, 0, 1, 0, 0};

    l->events++;
    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_null(l->gen);
        return 1;
    }
    return scalar(l, &v);
}

static int
on_bool(void *ctx, int b)
{
    struct loader *l = ctx;
    struct frame *f = top(l);
    /* As Python shows them: a value rendered as a JSON boolean still reads naturally. */
    struct scalar v = {(const unsigned char *)(b ? "True" : "False"), b ? 4u : 5u, 0, 0, 0, 1};

    l->events++;
    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_bool(l->gen, b);
        return 1;
    }
    return scalar(l, &v);
}

static const yajl_callbacks callbacks = {
    on_null,      on_bool, NULL,       NULL,           on_number,    on_string,
    on_start_map, on_key,  on_end_map, on_start_array, on_end_array,
};

void
ft_tree_free(struct ft_tree *t)
{
    if (t == NULL) {
        return;
    }
    if (t->priv != NULL) {
        struct chunk *c = t->priv->chunks;
        while (c != NULL) {
            struct chunk *n = c->next;
            free(c);
            c = n;
        }
        free(t->priv->strs);
        free(t->priv);
    }
    free(t->threads);
    free(t->argv);
    free(t);
}

/* One line on what is wrong with a file yajl stopped on. */
static int
describe_parse_error(struct loader *l, yajl_handle h, yajl_status st, int at_end, uint64_t bytes,
                     const char *path, char *err, size_t cap)
{
    if (l->oom) {
        snprintf(err, cap, "%s: out of memory", path);
        return -ENOMEM;
    }
    if (bytes == 0 || (at_end && !l->saw_value)) {
        snprintf(err, cap, "%s is empty (the run was not written)", path);
    } else if (st == yajl_status_client_canceled) {
        snprintf(err, cap, "%s is not a FlowTrace tree (not a JSON object)", path);
    } else if (at_end) {
        snprintf(err, cap, "%s is truncated (%llu bytes, the JSON stops before its end)", path,
                 (unsigned long long)bytes);
    } else {
        unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
        char *nl;
        size_t len;
        while ((nl = strchr((char *)msg, '\n')) != NULL) {
            *nl = ' ';
        }
        len = strlen((char *)msg);
        while (len > 0 && (msg[len - 1] == ' ' || msg[len - 1] == '.')) {
            msg[--len] = '\0';
        }
        snprintf(err, cap, "%s is not a FlowTrace tree (%s)", path, (char *)msg);
        yajl_free_error(h, msg);
    }
    return FT_EFOREIGN;
}

/* Feeds the file to yajl. A token that spans reads (a long string) is lexed again from
 * its start on every read (yajl keeps it whole), so a read that produced no event doubles
 * the next one: a string of n bytes costs O(n), not O(n^2 / read size). */
static int
feed(struct loader *l, yajl_handle h, struct ft_rfile *f, uint64_t *bytes, yajl_status *st)
{
    size_t size = FEED_MIN;
    unsigned char *buf = malloc(size);
    ssize_t n = 0;

    if (buf == NULL) {
        return -ENOMEM;
    }
    for (;;) {
        uint64_t before = l->events;
        int progress;
        if ((n = ft_rfile_read(f, buf, size)) <= 0) {
            break;
        }
        *bytes += (uint64_t)n;
        if ((*st = yajl_parse(h, buf, (size_t)n)) != yajl_status_ok) {
            break;
        }
        /* yajl's callbacks (ctx l) count l->events, which cppcheck cannot see. */
        // cppcheck-suppress knownConditionTrueFalse
        progress = l->events != before;
        // cppcheck-suppress knownConditionTrueFalse
        if (progress) {
            size = FEED_MIN; /* the buffer stays allocated; reads shrink back */
            continue;
        }
        if ((size_t)n == size && size < FEED_MAX) {
            unsigned char *nb = realloc(buf, size * 2);
            if (nb == NULL) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
            size *= 2;
        }
    }
    free(buf);
    return n < 0 ? (int)n : 0;
}

static int
parse_file(struct loader *l, const char *path, char *err, size_t cap)
{
    yajl_handle h = yajl_alloc(&callbacks, NULL, l);
    yajl_status st = yajl_status_ok;
    uint64_t bytes = 0;
    /* tree.json or tree.json.zst; of a run still going, the tree so far (lib/rfile.h). */
    struct ft_rfile *f = NULL;
    int rc = ft_rfile_open_path(&f, path), at_end = 0;

    if (rc != 0 || h == NULL) {
        rc = rc != 0 ? rc : -ENOMEM;
        snprintf(err, cap, "cannot read %s: %s", path, strerror(-rc));
        goto done;
    }
    if ((rc = feed(l, h, f, &bytes, &st)) != 0) {
        snprintf(err, cap, "cannot read %s: %s", path, strerror(-rc));
        goto done;
    }
    if (st == yajl_status_ok) {
        at_end = 1;
        st = yajl_complete_parse(h);
    }
    if (l->header_done) {
        st = yajl_status_ok;
    }
    if (st != yajl_status_ok || l->oom || bytes == 0) {
        rc = describe_parse_error(l, h, st, at_end, bytes, path, err, cap);
    } else if (l->t->run == NULL) {
        rc = FT_EFOREIGN;
        snprintf(err, cap, "%s is not a FlowTrace tree (no \"run\")", path);
    }
done:
    if (h != NULL) {
        yajl_free(h);
    }
    ft_rfile_close(f);
    return rc;
}

int
ft_tree_load_flags(const char *path, int flags, struct ft_tree **out, char *err, size_t cap)
{
    return ft_tree_load_shared(path, flags, NULL, out, err, cap);
}

int
ft_tree_load_shared(const char *path, int flags, struct ft_tree *names, struct ft_tree **out,
                    char *err, size_t cap)
{
    return ft_tree_stream(path, flags, names, NULL, out, err, cap);
}

int
ft_tree_stream(const char *path, int flags, struct ft_tree *names,
               const struct ft_tree_visit *visit, struct ft_tree **out, char *err, size_t cap)
{
    struct loader *l = calloc(1, sizeof(*l));
    struct ft_tree *t = calloc(1, sizeof(*t));
    int rc;

    *out = NULL;
    if (l == NULL || t == NULL || (t->priv = calloc(1, sizeof(*t->priv))) == NULL ||
        (l->gen = yajl_gen_alloc(NULL)) == NULL) {
        rc = -ENOMEM;
        snprintf(err, cap, "%s: out of memory", path);
    } else {
        l->t = t;
        l->names = names != NULL ? names->priv : t->priv;
        l->header_only = (flags & FT_TREE_HEADER_ONLY) != 0;
        l->no_values = (flags & FT_TREE_NO_VALUES) != 0;
        l->shallow = (flags & FT_TREE_SHALLOW) != 0;
        l->visit = visit;
        l->json_values = (flags & FT_TREE_JSON_VALUES) != 0;
        t->format = 1;
        rc = parse_file(l, path, err, cap);
    }
    if (l != NULL) {
        if (l->gen != NULL) {
            yajl_gen_free(l->gen);
        }
        free(l->stack);
        free(l->args);
        free(l->spare_x);
        ft_buf_free(&l->scratch);
        for (struct chunk *c = l->texts.chunks, *next; c != NULL; c = next) {
            next = c->next;
            free(c);
        }
        free(l);
    }
    if (rc != 0) {
        ft_tree_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int
ft_tree_load(const char *path, struct ft_tree **out, char *err, size_t cap)
{
    return ft_tree_load_flags(path, 0, out, err, cap);
}

int
ft_tree_load_header(const char *path, struct ft_tree **out, char *err, size_t cap)
{
    return ft_tree_load_flags(path, FT_TREE_HEADER_ONLY, out, err, cap);
}
