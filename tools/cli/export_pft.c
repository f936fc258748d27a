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

static void
put_caller(struct ft_buf *b, const struct ft_node *caller, const char *root)
{
    struct ft_buf t;

    ft_buf_init(&t);
    if (caller != NULL) {
        put_names(&t, caller, NULL);
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
put_head(struct ft_buf *b, int format, const struct ft_node *n, const struct ft_node *caller,
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

struct frame {
    const struct ft_node *next;   /* the next sibling to write at this level */
    const struct ft_node *owner;  /* the call whose children these are, NULL at the top */
    const struct ft_node *caller; /* the nearest written ancestor */
    int opened;                   /* owner was written (not left out): close it */
};

struct pft {
    struct ft_out *o;
    const char *root;
    int format; /* the run's output format: how its values read */
    struct frame *st;
    size_t sp, cap;
    int written; /* calls written in the current JSON array */
};

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
put_calls(struct pft *p, const struct ft_node *first, const struct ft_node *caller)
{
    struct ft_buf *b = &p->o->b;

    p->sp = 0;
    p->written = 0;
    if (push(p, (struct frame){first, NULL, caller, 0}) != 0) {
        return -ENOMEM;
    }
    while (p->sp > 0) {
        struct frame *f = &p->st[p->sp - 1];
        const struct ft_node *n = f->next, *up = f->caller;
        if (n == NULL) {
            if (f->opened) {
                put_tail(b, p->format, f->owner);
                p->written = 1; /* the closed call is an item of the level around it */
            }
            p->sp--;
            continue;
        }
        f->next = n->next;
        if (internal(n)) {
            if (push(p, (struct frame){n->first_child, n, up, 0}) != 0) {
                return -ENOMEM;
            }
            continue;
        }
        ft_buf_puts(b, p->written ? ",\n" : "\n");
        put_head(b, p->format, n, up, p->root);
        p->written = 0;
        ft_cli_out_flush(p->o, 0);
        if (push(p, (struct frame){n->first_child, n, n, 1}) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

static double
thread_ms(const struct ft_tree_thread *th)
{
    double end = 0, start = -1;

    for (const struct ft_node *n = th->first; n != NULL; n = n->next) {
        start = start < 0 || n->start_us < start ? n->start_us : start;
        end = n->start_us + n->dur_us > end ? n->start_us + n->dur_us : end;
    }
    return start < 0 ? 0 : (end - start) / 1000.0;
}

/* Another thread: a node of its own under the root, its calls under it. */
static int
put_thread(struct pft *p, const struct ft_tree_thread *th, uint64_t id, int *first)
{
    struct ft_buf *b = &p->o->b;
    int rc;

    ft_buf_printf(b, "%s{\"id\":%llu,\"callable\":", *first ? "\n" : ",\n", (unsigned long long)id);
    ft_json_put_cstr(b, th->name ? th->name : "?");
    ft_buf_puts(b, ",\"module\":\"threading\",\"called\":\"Thread\",\"caller\":");
    ft_buf_printf(b, "\"%s::%s\",\"instance_id\":null,\"inputs\":{},\"calls\":[", p->root, p->root);
    rc = put_calls(p, th->first, NULL);
    ft_buf_printf(b,
                  "],\"memory_before\":{},\"inputs_after\":{},\"output\":null,\"error\":null,"
                  "\"duration_ms\":%.3f,\"memory_after\":{}}",
                  thread_ms(th));
    *first = 0;
    return rc;
}

static uint64_t
max_id(const struct ft_tree *t)
{
    uint64_t m = 0;

    for (size_t i = 0; i < t->nthreads; i++) {
        const struct ft_node *n = t->threads[i].first;
        while (n != NULL) {
            m = n->id > m ? n->id : m;
            if (n->first_child != NULL) {
                n = n->first_child;
                continue;
            }
            while (n != NULL && n->next == NULL) {
                n = n->parent;
            }
            n = n != NULL ? n->next : NULL;
        }
    }
    return m;
}

int
ft_export_pytraceflow(struct ft_out *o, const struct ft_tree *t, const char *name)
{
    struct pft p = {o, name, t->format, NULL, 0, 0, 0};
    struct ft_buf *b = &o->b;
    uint64_t next_id = max_id(t) + 1;
    int rc = 0, first = 1;

    ft_buf_puts(b, "[{\"id\":0,\"callable\":");
    ft_json_put_cstr(b, name);
    ft_buf_puts(b, ",\"module\":\"__main__\",\"called\":");
    ft_json_put_cstr(b, name);
    ft_buf_puts(b, ",\"inputs\":{},\"output\":null");
    put_error(b, t->exc_type, t->exc_msg);
    ft_buf_printf(b, ",\"duration_ms\":%.3f,\"calls\":[", t->dur_us / 1000.0);
    for (size_t i = 0; i < t->nthreads && rc == 0; i++) {
        if (i == 0) {
            rc = put_calls(&p, t->threads[0].first, NULL);
            first = !p.written;
        } else if (t->threads[i].first != NULL) {
            rc = put_thread(&p, &t->threads[i], next_id++, &first);
        }
    }
    ft_buf_puts(b, "],\"memory_before\":{},\"memory_after\":{}}]\n");
    free(p.st);
    return rc != 0 || b->oom ? -ENOMEM : 0;
}
