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

#include "lib/err.h"

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

static const char *
intern(struct ft_tree_priv *p, const unsigned char *s, size_t n)
{
    size_t i;

    if (p->nstrs * 2 >= p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        const char **ns = calloc(cap, sizeof(*ns));
        if (ns == NULL) {
            return NULL;
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

/* ---- Parser state ------------------------------------------------------------------- */

enum ctx { C_ROOT, C_ROOT_EXC, C_TRACER, C_ARGV, C_THREADS, C_THREAD, C_CALLS, C_NODE, C_EXC,
           C_SKIP, C_CAPTURE };

struct frame {
    enum ctx ctx;
    int depth;            /* nesting inside C_SKIP / C_CAPTURE */
    struct ft_node *node; /* C_NODE, C_EXC: the node; C_CALLS: the parent (or NULL) */
    const char **slot;    /* C_CAPTURE: where the captured text goes */
};

struct loader {
    struct ft_tree *t;
    struct frame stack[4096];
    int sp; /* number of frames */
    char key[64];
    struct ft_tree_thread *thread;
    size_t threads_cap, argv_cap;
    yajl_gen gen;
    int oom;
};

static struct frame *
top(struct loader *l)
{
    return l->sp > 0 ? &l->stack[l->sp - 1] : NULL;
}

static int
push(struct loader *l, enum ctx c, struct ft_node *node)
{
    if (l->sp == (int)(sizeof(l->stack) / sizeof(l->stack[0]))) {
        return 0; /* deeper than any tree we write: give up */
    }
    l->stack[l->sp].ctx = c;
    l->stack[l->sp].depth = 0;
    l->stack[l->sp].node = node;
    l->stack[l->sp].slot = NULL;
    l->sp++;
    l->key[0] = '\0';
    return 1;
}

static int
key_is(struct loader *l, const char *k)
{
    return strcmp(l->key, k) == 0;
}

static void
end_capture(struct loader *l, struct frame *f)
{
    const unsigned char *buf;
    size_t len;

    yajl_gen_get_buf(l->gen, &buf, &len);
    *f->slot = arena_str(l->t->priv, buf, len);
    yajl_gen_clear(l->gen);
    yajl_gen_reset(l->gen, NULL);
    l->sp--;
}

/* Scalars and containers inside a skipped or captured value. Returns 1 if handled. */
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

static struct ft_node *
new_node(struct loader *l, struct ft_node *parent)
{
    struct ft_node *n = arena_alloc(l->t->priv, sizeof(*n));

    if (n == NULL) {
        l->oom = 1;
        return NULL;
    }
    memset(n, 0, sizeof(*n));
    n->parent = parent;
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

static int
begin_capture(struct loader *l, const char **slot)
{
    if (!push(l, C_CAPTURE, NULL)) {
        return 0;
    }
    top(l)->slot = slot;
    return 1;
}

static int
on_start_map(void *ctx)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_map_open(l->gen);
    }
    if (nested(l, 1, 0)) {
        return 1;
    }
    if (f == NULL) {
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
        l->thread = &l->t->threads[l->t->nthreads++];
        memset(l->thread, 0, sizeof(*l->thread));
        return push(l, C_THREAD, NULL);
    case C_CALLS: {
        struct ft_node *n = new_node(l, f->node);
        return n != NULL && push(l, C_NODE, n);
    }
    case C_NODE:
        if (key_is(l, "exception")) {
            return push(l, C_EXC, f->node);
        }
        if (key_is(l, "args") || key_is(l, "result")) {
            if (!begin_capture(l, key_is(l, "args") ? &f->node->args : &f->node->result)) {
                return 0;
            }
            yajl_gen_map_open(l->gen);
            top(l)->depth = 1;
            return 1;
        }
        break;
    default:
        break;
    }
    if (!push(l, C_SKIP, NULL)) {
        return 0;
    }
    top(l)->depth = 1;
    return 1;
}

static int
on_end_map(void *ctx)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_map_close(l->gen);
    }
    if (nested(l, 0, 1)) {
        return 1;
    }
    if (f != NULL && f->ctx == C_THREAD) {
        l->thread = NULL;
    }
    l->sp--;
    return 1;
}

static int
on_start_array(void *ctx)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

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
    if (f != NULL && f->ctx == C_THREAD && key_is(l, "calls")) {
        return push(l, C_CALLS, NULL);
    }
    if (f != NULL && f->ctx == C_NODE && key_is(l, "children")) {
        return push(l, C_CALLS, f->node);
    }
    if (f != NULL && f->ctx == C_NODE && (key_is(l, "args") || key_is(l, "result"))) {
        if (!begin_capture(l, key_is(l, "args") ? &f->node->args : &f->node->result)) {
            return 0;
        }
        yajl_gen_array_open(l->gen);
        top(l)->depth = 1;
        return 1;
    }
    if (!push(l, C_SKIP, NULL)) {
        return 0;
    }
    top(l)->depth = 1;
    return 1;
}

static int
on_end_array(void *ctx)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

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
on_key(void *ctx, const unsigned char *k, size_t n)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_string(l->gen, k, n);
        return 1;
    }
    if (f != NULL && f->ctx == C_SKIP) {
        return 1;
    }
    if (n >= sizeof(l->key)) {
        n = sizeof(l->key) - 1;
    }
    memcpy(l->key, k, n);
    l->key[n] = '\0';
    return 1;
}

/* A scalar value as text (strings) or number; sets the field the current key names. */
static int
scalar(struct loader *l, const unsigned char *s, size_t n, int is_str, int is_null)
{
    struct frame *f = top(l);
    struct ft_tree_priv *p = l->t->priv;
    struct ft_tree *t = l->t;
    char num[64];
    double d = 0;

    if (f == NULL) {
        return 0; /* a bare scalar is not a tree file */
    }
    if (f->ctx == C_SKIP) {
        if (f->depth == 0) {
            l->sp--;
        }
        return 1;
    }
    if (!is_str && !is_null) {
        snprintf(num, sizeof(num), "%.*s", (int)(n < 63 ? n : 63), (const char *)s);
        d = strtod(num, NULL);
    }
    const char *str = is_str ? arena_str(p, s, n) : NULL;
    switch (f->ctx) {
    case C_ROOT:
        if (key_is(l, "run") && is_str) {
            t->run = str;
        } else if (key_is(l, "parentRun") && is_str) {
            t->parent_run = str;
        } else if (key_is(l, "python") && is_str) {
            t->python = str;
        } else if (key_is(l, "ended") && is_str) {
            t->ended = str;
        } else if (key_is(l, "cwd") && is_str) {
            t->cwd = str;
        } else if (key_is(l, "executable") && is_str) {
            t->exe = str;
        } else if (key_is(l, "pid")) {
            t->pid = (uint64_t)d;
        } else if (key_is(l, "ppid")) {
            t->ppid = (uint64_t)d;
        } else if (key_is(l, "start")) {
            t->start_us = d;
        } else if (key_is(l, "durationMicros")) {
            t->dur_us = d;
        } else if (key_is(l, "exitCode") && !is_null && !is_str) {
            t->have_exit_code = 1;
            t->exit_code = (int)d;
        }
        break;
    case C_ROOT_EXC:
        if (key_is(l, "type") && is_str) {
            t->exc_type = str;
        } else if (key_is(l, "message") && is_str) {
            t->exc_msg = str;
        }
        break;
    case C_TRACER:
        if (key_is(l, "events")) {
            t->events = (uint64_t)d;
        } else if (key_is(l, "lost")) {
            t->lost = (uint64_t)d;
        } else if (key_is(l, "calls")) {
            t->calls = (uint64_t)d;
        } else if (key_is(l, "cpuMicros")) {
            t->cpu_us = (uint64_t)d;
        } else if (key_is(l, "blockedMicros")) {
            t->blocked_us = (uint64_t)d;
        } else if (key_is(l, "engine") && is_str) {
            t->engine = str;
        }
        break;
    case C_ARGV:
        if (t->argc == l->argv_cap) {
            size_t cap = l->argv_cap ? l->argv_cap * 2 : 8;
            const char **na = realloc(t->argv, cap * sizeof(*na));
            if (na == NULL) {
                l->oom = 1;
                return 0;
            }
            t->argv = na;
            l->argv_cap = cap;
        }
        t->argv[t->argc++] = is_str ? str : "";
        break;
    case C_THREAD:
        if (key_is(l, "name") && is_str) {
            l->thread->name = str;
        } else if (key_is(l, "tid")) {
            l->thread->tid = (uint64_t)d;
        }
        break;
    case C_NODE: {
        struct ft_node *nd = f->node;
        if (key_is(l, "id")) {
            nd->id = (uint64_t)d;
        } else if (key_is(l, "function") && is_str) {
            nd->function = intern(p, s, n);
        } else if (key_is(l, "module") && is_str) {
            nd->module = intern(p, s, n);
        } else if (key_is(l, "file") && is_str) {
            nd->file = intern(p, s, n);
        } else if (key_is(l, "line")) {
            nd->line = (uint32_t)d;
        } else if (key_is(l, "startMicros")) {
            nd->start_us = d;
        } else if (key_is(l, "durationMicros")) {
            nd->dur_us = d;
        } else if (key_is(l, "incomplete") && is_str) {
            nd->incomplete = str;
        }
        break;
    }
    case C_EXC:
        if (key_is(l, "type") && is_str) {
            f->node->exc_type = str;
        } else if (key_is(l, "message") && is_str) {
            f->node->exc_msg = str;
        }
        if (f->node->exc_type == NULL) {
            f->node->exc_type = "?"; /* the fact is known even without details */
        }
        break;
    default:
        break;
    }
    return 1;
}

static int
on_string(void *ctx, const unsigned char *s, size_t n)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_string(l->gen, s, n);
        return 1;
    }
    return scalar(l, s, n, 1, 0);
}

static int
on_number(void *ctx, const char *s, size_t n)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_number(l->gen, s, n);
        return 1;
    }
    return scalar(l, (const unsigned char *)s, n, 0, 0);
}

static int
on_null(void *ctx)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_null(l->gen);
        return 1;
    }
    if (f != NULL && f->ctx == C_NODE && key_is(l, "exception")) {
        return 1;
    }
    return scalar(l, NULL, 0, 0, 1);
}

static int
on_bool(void *ctx, int v)
{
    struct loader *l = ctx;
    struct frame *f = top(l);

    if (f != NULL && f->ctx == C_CAPTURE) {
        yajl_gen_bool(l->gen, v);
        return 1;
    }
    return scalar(l, (const unsigned char *)(v ? "1" : "0"), 1, 0, 0);
}

static const yajl_callbacks callbacks = {
    on_null, on_bool, NULL, NULL, on_number, on_string,
    on_start_map, on_key, on_end_map, on_start_array, on_end_array,
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

int
ft_tree_load(const char *path, struct ft_tree **out, char *err, size_t cap)
{
    struct loader *l = calloc(1, sizeof(*l));
    struct ft_tree *t = calloc(1, sizeof(*t));
    unsigned char buf[65536];
    yajl_handle h = NULL;
    yajl_status st = yajl_status_ok;
    int fd = -1, rc = 0;
    ssize_t n;

    *out = NULL;
    if (l == NULL || t == NULL || (t->priv = calloc(1, sizeof(*t->priv))) == NULL) {
        rc = -ENOMEM;
        snprintf(err, cap, "%s: out of memory", path);
        goto done;
    }
    l->t = t;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, cap, "cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    l->gen = yajl_gen_alloc(NULL);
    h = yajl_alloc(&callbacks, NULL, l);
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        st = yajl_parse(h, buf, (size_t)n);
        if (st != yajl_status_ok) {
            break;
        }
    }
    if (n < 0) {
        rc = -errno;
        snprintf(err, cap, "cannot read %s: %s", path, strerror(errno));
        goto done;
    }
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
    }
    if (l->oom) {
        rc = -ENOMEM;
        snprintf(err, cap, "%s: out of memory", path);
    } else if (st != yajl_status_ok || t->run == NULL) {
        rc = FT_EFOREIGN;
        if (st != yajl_status_ok) {
            unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
            snprintf(err, cap, "%s is not a complete FlowTrace tree: %s", path, (char *)msg);
            yajl_free_error(h, msg);
        } else {
            snprintf(err, cap, "%s is not a FlowTrace tree (no \"run\")", path);
        }
    }
done:
    if (h != NULL) {
        yajl_free(h);
    }
    if (l != NULL && l->gen != NULL) {
        yajl_gen_free(l->gen);
    }
    if (fd >= 0) {
        close(fd);
    }
    free(l);
    if (rc != 0) {
        ft_tree_free(t);
        return rc;
    }
    *out = t;
    return 0;
}
