/* export_pft.c - a run in the PyTraceFlow seed's hierarchical JSON (export_pft.h). */
#include "export_pft.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lib/json.h"
#include "pylit.h"
#include "pyval.h"
#include "skel.h"
#include "spool.h"
#include "tree.h"

/* The part of a qualified name after its last dot ("Inventory.add" -> "add"). */
static const char *
last_part(const char *qualname, size_t *len)
{
    const char *dot = strrchr(qualname, '.');
    const char *s = dot != NULL ? dot + 1 : qualname;

    *len = strlen(s);
    return s;
}

/* "<...>" code the seed leaves out: <module>, <genexpr>, <listcomp>, <lambda>, ... */
static int
internal(const struct ft_node *n)
{
    size_t len;

    return n->function != NULL && *last_part(n->function, &len) == '<';
}

/* callable and called of a call: its name; for a method, the class before it. */
static void
put_names(struct ft_buf *b, const struct ft_node *n, const char *key_sep)
{
    const char *fn = n->function ? n->function : "?";
    size_t len, clen = 0;
    const char *callable = last_part(fn, &len), *cls = NULL;

    if (n->x != NULL && n->x->instance != NULL && callable > fn) {
        const char *end = callable - 1, *start = end;
        while (start > fn && start[-1] != '.') {
            start--;
        }
        cls = start;
        clen = (size_t)(end - start);
    }
    if (key_sep == NULL) { /* the "called::callable" of a caller */
        ft_buf_put(b, cls ? cls : callable, cls ? clen : len);
        ft_buf_puts(b, "::");
        ft_buf_put(b, callable, len);
        return;
    }
    ft_buf_puts(b, "\"callable\":");
    ft_json_put_str(b, callable, len);
    ft_buf_puts(b, ",\"module\":");
    ft_json_put_cstr(b, n->module ? n->module : "");
    ft_buf_puts(b, ",\"called\":");
    ft_json_put_str(b, cls ? cls : callable, cls ? clen : len);
}

/* caller: its "called::callable", or NULL for the root's. */
static void
put_caller(struct ft_buf *b, const char *caller, const char *root)
{
    struct ft_buf t;

    ft_buf_init(&t);
    if (caller != NULL) {
        ft_buf_puts(&t, caller);
    } else {
        ft_buf_printf(&t, "%s::%s", root, root);
    }
    ft_buf_puts(b, ",\"caller\":");
    ft_json_put_str(b, t.p ? t.p : "", t.len);
    ft_buf_free(&t);
}

/* A value as the seed's JSON: a format-3 value as it is (a described one as its repr);
 * an older run's repr typed by reading it as a Python literal. */
static void
put_value(struct ft_buf *b, int format, const char *v)
{
    if (format < 3 || ft_pyval_plain(b, v, strlen(v)) != 0) {
        ft_pylit_to_json(b, v);
    }
}

/* inputs, or inputs_after: the arguments, those in after replaced by their end value. */
static void
put_inputs(struct ft_buf *b, int format, const char *key, const struct ft_node_extra *x, int after)
{
    ft_buf_printf(b, ",\"%s\":{", key);
    for (uint32_t i = 0; x != NULL && i < x->nargs; i++) {
        const char *v = x->args[i].value;
        for (uint32_t k = 0; after && k < x->nafter; k++) {
            if (x->after[k].name != NULL && x->args[i].name != NULL &&
                strcmp(x->after[k].name, x->args[i].name) == 0) {
                v = x->after[k].value;
            }
        }
        ft_buf_puts(b, i ? "," : "");
        ft_json_put_cstr(b, x->args[i].name ? x->args[i].name : "?");
        ft_buf_putc(b, ':');
        put_value(b, format, v ? v : "?");
    }
    ft_buf_putc(b, '}');
}

static void
put_memory(struct ft_buf *b, const char *key, const struct ft_node_extra *x, int after)
{
    const struct ft_mem *m = x == NULL || !x->have_memory ? NULL
                             : after                      ? &x->mem_after
                                                          : &x->mem_before;
    int n = 0;

    ft_buf_printf(b, ",\"%s\":{", key);
    if (m != NULL && m->rss >= 0) {
        ft_buf_printf(b, "\"rss_bytes\":%" PRId64, m->rss);
        n++;
    }
    if (m != NULL && m->tracemalloc >= 0) {
        ft_buf_printf(b, "%s\"py_tracemalloc_current\":%" PRId64, n++ ? "," : "", m->tracemalloc);
    }
    if (m != NULL && m->peak >= 0) {
        ft_buf_printf(b, "%s\"py_tracemalloc_peak\":%" PRId64, n ? "," : "", m->peak);
    }
    ft_buf_putc(b, '}');
}

/* An exception as repr() shows it: ValueError('only 2 cake left'). */
static void
put_error(struct ft_buf *b, const char *type, const char *msg)
{
    struct ft_buf r;

    if (type == NULL) {
        ft_buf_puts(b, ",\"error\":null");
        return;
    }
    ft_buf_init(&r);
    ft_buf_puts(&r, strcmp(type, "?") != 0 ? type : "Exception");
    ft_buf_putc(&r, '(');
    if (msg != NULL && *msg) {
        char q = strchr(msg, '\'') != NULL && strchr(msg, '"') == NULL ? '"' : '\'';
        ft_buf_putc(&r, q);
        for (const char *s = msg; *s; s++) {
            if (*s == '\\' || *s == q) {
                ft_buf_putc(&r, '\\');
                ft_buf_putc(&r, *s);
            } else if (*s == '\n') {
                ft_buf_puts(&r, "\\n");
            } else {
                ft_buf_putc(&r, *s);
            }
        }
        ft_buf_putc(&r, q);
    }
    ft_buf_putc(&r, ')');
    ft_buf_puts(b, ",\"error\":");
    ft_json_put_str(b, r.p, r.len);
    ft_buf_free(&r);
}

/* A call's fields up to "calls":[ ; the rest comes when its calls are written. */
static void
put_head(struct ft_buf *b, int format, const struct ft_node *n, const char *caller,
         const char *root)
{
    const struct ft_node_extra *x = n->x;

    ft_buf_printf(b, "{\"id\":%llu,", (unsigned long long)n->id);
    put_names(b, n, ",");
    put_caller(b, caller, root);
    ft_buf_puts(b, ",\"instance_id\":");
    if (x != NULL && x->instance != NULL && strncmp(x->instance, "0x", 2) == 0) {
        ft_buf_printf(b, "%llu", strtoull(x->instance + 2, NULL, 16));
    } else {
        ft_buf_puts(b, "null");
    }
    put_inputs(b, format, "inputs", x, 0);
    ft_buf_puts(b, ",\"calls\":[");
}

static void
put_tail(struct ft_buf *b, int format, const struct ft_node *n)
{
    const struct ft_node_extra *x = n->x;

    ft_buf_putc(b, ']');
    put_memory(b, "memory_before", x, 0);
    put_inputs(b, format, "inputs_after", x, 1);
    ft_buf_puts(b, ",\"output\":");
    if (x != NULL && x->result != NULL) {
        put_value(b, format, x->result);
    } else {
        ft_buf_puts(b, "null");
    }
    put_error(b, n->exc_type, n->exc_msg);
    ft_buf_printf(b, ",\"duration_ms\":%.3f", n->dur_us / 1000.0);
    put_memory(b, "memory_after", x, 1);
    ft_buf_putc(b, '}');
}

/* A call left out or written, as the second read of the run (skel.h) gives it. */
struct held {
    uint32_t k;
    char *caller; /* the names of the nearest written call at or above k, or NULL */
};

struct frame {
    uint32_t next;  /* the next sibling to write at this level */
    uint32_t owner; /* the call whose children these are, FT_SKEL_NONE at the top */
    int opened;     /* owner was written (not left out): close it */
};

struct pft {
    struct ft_out *o;
    const char *root;
    int format; /* the run's output format: how its values read */
    struct ft_skel *s;
    struct ft_spool spool; /* per call, 2k its head and 2k + 1 its tail */
    uint8_t *left_out;     /* per call: internal (written through its calls) */
    struct held *held;     /* the calls units' calls were put under */
    size_t nheld, held_cap;
    struct ft_buf rec, names;
    struct frame *st;
    size_t sp, cap;
    int written; /* calls written in the current JSON array */
};

static const struct held *
held_of(const struct pft *p, uint32_t k)
{
    for (size_t i = 0; i < p->nheld; i++) {
        if (p->held[i].k == k) {
            return &p->held[i];
        }
    }
    return NULL;
}

/* Into p->names: the nearest written call above n ("called::callable"); 0 if there is
 * none (the root is its caller). A unit's call's is that of the call it was put under. */
static int
caller_of(struct pft *p, const struct ft_node *n)
{
    const struct ft_node *a = n->parent;
    uint32_t top = n->mark, under;
    uint64_t id;

    p->names.len = 0;
    while (a != NULL && internal(a)) {
        top = a->mark;
        a = a->parent;
    }
    if (a != NULL) {
        put_names(&p->names, a, NULL);
    } else if (ft_skel_placed(p->s, top, &id, &under) && under != FT_SKEL_NONE) {
        const struct held *h = held_of(p, under);
        if (h == NULL || h->caller == NULL) {
            return 0;
        }
        ft_buf_puts(&p->names, h->caller);
    } else {
        return 0;
    }
    ft_buf_putc(&p->names, '\0');
    return !p->names.oom;
}

/* A call units' calls were put under: the caller their calls have (it, or its own). */
static int
hold(struct pft *p, uint32_t k, const struct ft_node *n)
{
    int have;

    if (internal(n)) {
        have = caller_of(p, n);
    } else {
        p->names.len = 0;
        put_names(&p->names, n, NULL);
        ft_buf_putc(&p->names, '\0');
        have = !p->names.oom;
    }
    if (p->nheld == p->held_cap) {
        size_t cap = p->held_cap ? p->held_cap * 2 : 16;
        struct held *nh = realloc(p->held, cap * sizeof(*nh));
        if (nh == NULL) {
            return -ENOMEM;
        }
        p->held = nh;
        p->held_cap = cap;
    }
    p->held[p->nheld].k = k;
    p->held[p->nheld].caller = have ? strdup(p->names.p) : NULL;
    if (have && p->held[p->nheld].caller == NULL) {
        return -ENOMEM;
    }
    p->nheld++;
    return 0;
}

/* A call, complete: its head and tail spooled, or nothing for a call left out. */
static int
call_ends(void *ctx, size_t ti, uint32_t k, struct ft_node *n)
{
    struct pft *p = ctx;

    (void)ti;
    if (ft_skel_holds_units(p->s, k) && hold(p, k, n) != 0) {
        return -ENOMEM;
    }
    if (internal(n)) {
        p->left_out[k] = 1;
        return 0;
    }
    p->rec.len = 0;
    put_head(&p->rec, p->format, n, caller_of(p, n) ? p->names.p : NULL, p->root);
    if (p->rec.oom || ft_spool_put(&p->spool, 2 * (size_t)k, p->rec.p, p->rec.len) != 0) {
        return -ENOMEM;
    }
    p->rec.len = 0;
    put_tail(&p->rec, p->format, n);
    if (p->rec.oom || ft_spool_put(&p->spool, 2 * (size_t)k + 1, p->rec.p, p->rec.len) != 0) {
        return -ENOMEM;
    }
    return 0;
}

static int
push(struct pft *p, struct frame f)
{
    if (p->sp == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct frame *ns = realloc(p->st, cap * sizeof(*ns));
        if (ns == NULL) {
            return -ENOMEM;
        }
        p->st = ns;
        p->cap = cap;
    }
    p->st[p->sp++] = f;
    return 0;
}

/* A list of sibling calls (and what they called), depth-first without recursion. Calls
 * left out keep their place: their calls are written where they would have been. */
static int
put_calls(struct pft *p, uint32_t first)
{
    struct ft_buf *b = &p->o->b;
    int rc = 0;

    p->sp = 0;
    p->written = 0;
    if (push(p, (struct frame){first, FT_SKEL_NONE, 0}) != 0) {
        return -ENOMEM;
    }
    while (p->sp > 0 && rc == 0) {
        struct frame *f = &p->st[p->sp - 1];
        uint32_t k = f->next;
        if (k == FT_SKEL_NONE) {
            if (f->opened) {
                rc = ft_spool_get(&p->spool, 2 * (size_t)f->owner + 1, b);
                p->written = 1; /* the closed call is an item of the level around it */
            }
            p->sp--;
            continue;
        }
        f->next = ft_skel_next(p->s, k);
        if (p->left_out[k]) {
            rc = push(p, (struct frame){ft_skel_first_child(p->s, k), k, 0});
            continue;
        }
        ft_buf_puts(b, p->written ? ",\n" : "\n");
        rc = ft_spool_get(&p->spool, 2 * (size_t)k, b);
        p->written = 0;
        ft_cli_out_flush(p->o, 0);
        rc = rc != 0 ? rc : push(p, (struct frame){ft_skel_first_child(p->s, k), k, 1});
    }
    return rc;
}

/* Another thread: a node of its own under the root, its calls under it. */
static int
put_thread(struct pft *p, const struct ft_skel_thread *th, uint64_t id, int *first)
{
    struct ft_buf *b = &p->o->b;
    int rc;

    ft_buf_printf(b, "%s{\"id\":%llu,\"callable\":", *first ? "\n" : ",\n", (unsigned long long)id);
    ft_json_put_cstr(b, th->name ? th->name : "?");
    ft_buf_puts(b, ",\"module\":\"threading\",\"called\":\"Thread\",\"caller\":");
    ft_buf_printf(b, "\"%s::%s\",\"instance_id\":null,\"inputs\":{},\"calls\":[", p->root, p->root);
    rc = put_calls(p, th->first);
    ft_buf_printf(b,
                  "],\"memory_before\":{},\"inputs_after\":{},\"output\":null,\"error\":null,"
                  "\"duration_ms\":%.3f,\"memory_after\":{}}",
                  th->top_ms);
    *first = 0;
    return rc;
}

/* The calls, read again with their values (skel.h) and spooled, then written in the
 * tree's order. */
static int
put_root_calls(struct pft *p)
{
    const struct ft_skel_visit visit = {p, call_ends, NULL};
    struct ft_skel *s = p->s;
    uint64_t next_id = s->max_id + 1;
    int rc, first = 1;

    if ((p->left_out = calloc(s->n + 1, 1)) == NULL) {
        return -ENOMEM;
    }
    if ((rc = ft_spool_open(&p->spool, 2 * s->n)) != 0) {
        ft_cli_err("export", "a temporary file: %s", strerror(-rc));
        return -EIO;
    }
    if (ft_skel_stream("export", s, FT_TREE_JSON_VALUES, 0, &visit) != FT_EXIT_OK) {
        return -EIO;
    }
    rc = 0;
    for (size_t i = 0; i < s->nthreads && rc == 0; i++) {
        if (i == 0) {
            rc = put_calls(p, s->threads[0].first);
            first = !p->written;
        } else if (s->threads[i].first != FT_SKEL_NONE) {
            rc = put_thread(p, &s->threads[i], next_id++, &first);
        }
    }
    if (rc != 0 && rc != -ENOMEM) {
        ft_cli_err("export", "the temporary file: %s", strerror(-rc));
        return -EIO;
    }
    return rc;
}

int
ft_export_pytraceflow(struct ft_out *o, const struct ft_tree *t, struct ft_skel *s,
                      const char *name)
{
    struct pft p = {.o = o, .root = name, .format = t->format, .s = s};
    struct ft_buf *b = &o->b;
    int rc;

    ft_buf_init(&p.rec);
    ft_buf_init(&p.names);
    ft_buf_puts(b, "[{\"id\":0,\"callable\":");
    ft_json_put_cstr(b, name);
    ft_buf_puts(b, ",\"module\":\"__main__\",\"called\":");
    ft_json_put_cstr(b, name);
    ft_buf_puts(b, ",\"inputs\":{},\"output\":null");
    put_error(b, t->exc_type, t->exc_msg);
    ft_buf_printf(b, ",\"duration_ms\":%.3f,\"calls\":[", t->dur_us / 1000.0);
    rc = put_root_calls(&p);
    ft_buf_puts(b, "],\"memory_before\":{},\"memory_after\":{}}]\n");
    for (size_t i = 0; i < p.nheld; i++) {
        free(p.held[i].caller);
    }
    free(p.held);
    free(p.left_out);
    free(p.st);
    ft_spool_close(&p.spool);
    ft_buf_free(&p.rec);
    ft_buf_free(&p.names);
    return rc != 0 ? rc : b->oom ? -ENOMEM : 0;
}
