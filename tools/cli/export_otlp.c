/* export_otlp.c - a run as OTLP/JSON spans (export_otlp.h), through lib/otlp.h. */
#include "export_otlp.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lib/otlp.h"
#include "pyval.h"
#include "tree.h"
#include "walk.h"

#define SPANS_PER_LINE 5000
#define CALL_ATTRS     9 /* besides the arguments */

struct otlp {
    struct ft_out *o;
    const struct ft_tree *t;
    const char *script, *service;
    uint8_t trace[16];
    uint64_t salt;
    uint64_t start_ns;          /* the run's start, unix ns */
    size_t in_line;             /* spans written on the current line */
    struct ft_otlp_attr *attrs; /* room for a call's attributes */
    size_t attrs_cap;
    char (*arg_keys)[256]; /* "flowtrace.arg.NAME", one per argument */
    struct ft_buf vals;    /* a call's typed values as AnyValue texts, NUL-separated */
    struct ft_buf stack;   /* an exception's traceback */
};

static uint64_t
fnv64(const char *s, uint64_t h)
{
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

static void
put_be64(uint8_t *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) {
        out[i] = (uint8_t)v;
    }
}

/* A span id from a call id (0: the program): distinct, random-looking, never zero. */
static void
span_id(const struct otlp *x, uint64_t call_id, uint8_t out[8])
{
    uint64_t id = ft_otlp_mix(call_id ^ x->salt);

    put_be64(out, id != 0 ? id : 1);
}

/* exception.type as the semantic conventions name it: the class with its module, a
 * builtin bare. */
static void
qualified_type(const char *type, const char *module, char *out, size_t cap)
{
    int known = type != NULL && strcmp(type, "?") != 0;

    if (known && module != NULL && *module && strcmp(module, "builtins") != 0) {
        snprintf(out, cap, "%s.%s", module, type);
    } else {
        snprintf(out, cap, "%s", known ? type : "unknown");
    }
}

/* ---- The traceback of a call's exception ------------------------------------------------ */

struct raise_site {
    char file[4096];
    uint32_t line;
};

/* {"file":"...","line":N} as the writer writes it; 0 when it has no line. */
static int
parse_raise(const char *json, struct raise_site *r)
{
    const char *p = json != NULL ? strstr(json, "\"line\":") : NULL;
    size_t k = 0;

    r->file[0] = '\0';
    r->line = p != NULL ? (uint32_t)strtoul(p + 7, NULL, 10) : 0;
    p = json != NULL ? strstr(json, "\"file\":\"") : NULL;
    for (p = p != NULL ? p + 8 : NULL; p != NULL && *p && *p != '"' && k + 1 < sizeof(r->file);
         p++) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
        }
        r->file[k++] = *p;
    }
    r->file[k] = '\0';
    return r->line > 0;
}

static int
same_text(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const char *
raise_of(const struct ft_node *n)
{
    return n->x != NULL ? n->x->raise : NULL;
}

/* The call under n the exception that left n came from: the latest that raised the same
 * type, raised at the same place; NULL when n raised it itself. */
static const struct ft_node *
came_from(const struct ft_node *n)
{
    const struct ft_node *from = NULL;

    for (const struct ft_node *c = n->first_child; c != NULL; c = c->next) {
        if (c->exc_type != NULL && same_text(c->exc_type, n->exc_type) &&
            (raise_of(c) == NULL || raise_of(n) == NULL || same_text(raise_of(c), raise_of(n)))) {
            from = c;
        }
    }
    return from;
}

/* "Traceback (most recent call last):", a "File ..., line ..., in ..." line per call
 * from n down to where its exception was raised (each at the line the exception left it),
 * then "Type: message", as Python prints it. Only when the run recorded where. */
static const char *
stacktrace(struct otlp *x, const struct ft_node *n, const char *type)
{
    struct raise_site r;
    const struct ft_node *last = n;

    if (n->x == NULL || !parse_raise(n->x->raise, &r)) {
        return NULL;
    }
    x->stack.len = 0;
    ft_buf_puts(&x->stack, "Traceback (most recent call last):\n");
    for (const struct ft_node *c = n; c != NULL; c = came_from(c)) {
        uint32_t at = c->x != NULL && c->x->left_at > 0 ? c->x->left_at : c->line;
        ft_buf_printf(&x->stack, "  File \"%s\", line %u, in %s\n", c->file ? c->file : "?", at,
                      c->function ? c->function : "?");
        last = c;
    }
    /* Raised further down, in code that was not traced (a library's). */
    if (r.file[0] != '\0' && !same_text(r.file, last->file)) {
        ft_buf_printf(&x->stack, "  File \"%s\", line %u\n", r.file, r.line);
    }
    ft_buf_printf(&x->stack, "%s%s%s", type, n->exc_msg ? ": " : "", n->exc_msg ? n->exc_msg : "");
    return x->stack.oom ? NULL : x->stack.p;
}

/* ---- Spans ------------------------------------------------------------------------------- */

static void
resource(struct otlp *x)
{
    const struct ft_tree *t = x->t;
    struct ft_otlp_attr a[10];
    size_t n = 0;

    a[n++] =
        (struct ft_otlp_attr){"service.name", FT_OTLP_STR, x->service ? x->service : x->script, 0};
    a[n++] = (struct ft_otlp_attr){"process.pid", FT_OTLP_INT, NULL, (int64_t)t->pid};
    a[n++] = (struct ft_otlp_attr){"process.parent_pid", FT_OTLP_INT, NULL, (int64_t)t->ppid};
    a[n++] = (struct ft_otlp_attr){"process.runtime.name", FT_OTLP_STR, "CPython", 0};
    a[n++] = (struct ft_otlp_attr){"process.runtime.version", FT_OTLP_STR, t->python, 0};
    a[n++] = (struct ft_otlp_attr){"process.executable.path", FT_OTLP_STR, t->exe, 0};
    a[n++] = (struct ft_otlp_attr){"telemetry.sdk.name", FT_OTLP_STR, "flowtrace", 0};
    a[n++] = (struct ft_otlp_attr){"telemetry.sdk.language", FT_OTLP_STR, "python", 0};
    a[n++] = (struct ft_otlp_attr){"flowtrace.run.id", FT_OTLP_STR, t->run, 0};
    a[n++] = (struct ft_otlp_attr){"flowtrace.run.parent", FT_OTLP_STR, t->parent_run, 0};
    ft_otlp_block_begin(&x->o->b, a, n, "flowtrace");
}

/* Ends a line: its one block, its TracesData. */
static void
end_line(struct otlp *x)
{
    ft_otlp_block_end(&x->o->b);
    ft_buf_puts(&x->o->b, "]}\n");
    x->in_line = 0;
}

/* A span on the current line, or on a new one once it holds SPANS_PER_LINE. */
static void
put_span(struct otlp *x, const struct ft_otlp_span *s)
{
    if (x->in_line == SPANS_PER_LINE) {
        end_line(x);
    }
    if (x->in_line == 0) {
        ft_buf_puts(&x->o->b, "{\"resourceSpans\":[");
        resource(x);
    }
    ft_otlp_span(&x->o->b, s, x->in_line++ == 0);
    ft_cli_out_flush(x->o, 0);
}

/* Status ERROR and the exception event, at the span's end. */
static void
set_exception(struct otlp *x, struct ft_otlp_span *s, const struct ft_node *n, const char *type,
              const char *module, const char *msg, struct ft_otlp_attr ev[3], char *qtype,
              char *status, size_t cap)
{
    if (type == NULL) {
        return;
    }
    qualified_type(type, module, qtype, cap);
    ev[0] = (struct ft_otlp_attr){"exception.type", FT_OTLP_STR, qtype, 0};
    ev[1] = (struct ft_otlp_attr){"exception.message", FT_OTLP_STR, msg, 0};
    ev[2] = (struct ft_otlp_attr){"exception.stacktrace", FT_OTLP_STR,
                                  n != NULL ? stacktrace(x, n, qtype) : NULL, 0};
    s->event_name = "exception";
    s->event_ns = s->end_ns;
    s->event_attrs = ev;
    s->nevent_attrs = 3;
    snprintf(status, cap, "%s%s%s", type, msg ? ": " : "", msg ? msg : "");
    s->status = FT_OTLP_ERROR;
    s->status_msg = status;
}

/* An attribute for a value: an older run's repr as a string; a format-3 value typed, its
 * AnyValue kept in x->vals at the offset left in a->i until set_value_texts(). */
static void
value_attr(struct otlp *x, struct ft_otlp_attr *a, const char *key, const char *v)
{
    size_t at = x->vals.len;

    *a = (struct ft_otlp_attr){key, FT_OTLP_STR, v, 0};
    if (x->t->format >= 3 && ft_pyval_otlp(&x->vals, v, strlen(v)) == 0) {
        a->type = FT_OTLP_ANY;
        a->i = (int64_t)at;
        ft_buf_putc(&x->vals, '\0');
    }
}

/* The typed values' texts, once x->vals no longer moves. */
static void
set_value_texts(struct otlp *x, struct ft_otlp_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i].type == FT_OTLP_ANY) {
            a[i].s = x->vals.oom ? NULL : x->vals.p + a[i].i;
        }
    }
}

static int
room_for(struct otlp *x, uint32_t nargs)
{
    size_t need = CALL_ATTRS + nargs;

    if (need <= x->attrs_cap) {
        return 0;
    }
    struct ft_otlp_attr *a = realloc(x->attrs, need * sizeof(*a));
    if (a == NULL) {
        return -ENOMEM;
    }
    x->attrs = a;
    char(*k)[256] = realloc(x->arg_keys, need * sizeof(*k));
    if (k == NULL) {
        return -ENOMEM;
    }
    x->arg_keys = k;
    x->attrs_cap = need;
    return 0;
}

static int
put_call(struct otlp *x, const struct ft_tree_thread *th, const struct ft_walk_call *c)
{
    const struct ft_node *n = c->n;
    const struct ft_node_extra *e = n->x;
    uint32_t nargs = e != NULL && e->have_args ? e->nargs : 0;
    struct ft_otlp_span s = {0};
    struct ft_otlp_attr ev[3];
    char fn[1200], qtype[512], status[1024];
    size_t k = 0;

    if (room_for(x, nargs) != 0) {
        return -ENOMEM;
    }
    x->vals.len = 0;
    struct ft_otlp_attr *a = x->attrs;
    snprintf(fn, sizeof(fn), "%s.%s", n->module ? n->module : "?", n->function ? n->function : "?");
    a[k++] = (struct ft_otlp_attr){"code.function.name", FT_OTLP_STR, fn, 0};
    a[k++] = (struct ft_otlp_attr){"code.file.path", FT_OTLP_STR, n->file ? n->file : "", 0};
    a[k++] = (struct ft_otlp_attr){"code.line.number", FT_OTLP_INT, NULL, n->line};
    a[k++] = (struct ft_otlp_attr){"thread.name", FT_OTLP_STR, th->name ? th->name : "", 0};
    a[k++] = (struct ft_otlp_attr){"thread.id", FT_OTLP_INT, NULL, (int64_t)th->tid};
    a[k++] = (struct ft_otlp_attr){"flowtrace.call.id", FT_OTLP_INT, NULL, (int64_t)n->id};
    for (uint32_t i = 0; i < nargs; i++) {
        snprintf(x->arg_keys[i], sizeof(x->arg_keys[i]), "flowtrace.arg.%s",
                 e->args[i].name ? e->args[i].name : "?");
        value_attr(x, &a[k++], x->arg_keys[i], e->args[i].value ? e->args[i].value : "");
    }
    if (e != NULL && e->result != NULL) {
        value_attr(x, &a[k++], "flowtrace.result", e->result);
    }
    if (e != NULL && e->resumes > 0) {
        a[k++] = (struct ft_otlp_attr){"flowtrace.resumes", FT_OTLP_INT, NULL, (int64_t)e->resumes};
    }
    a[k++] = (struct ft_otlp_attr){"flowtrace.incomplete", FT_OTLP_STR, n->incomplete, 0};
    memcpy(s.trace_id, x->trace, 16);
    span_id(x, n->id, s.span_id);
    span_id(x, n->parent ? n->parent->id : 0, s.parent_id);
    s.name = n->function ? n->function : "?";
    s.kind = FT_OTLP_INTERNAL;
    s.start_ns = x->start_ns + (uint64_t)c->start_ns;
    s.end_ns = x->start_ns + (uint64_t)c->end_ns;
    set_value_texts(x, a, k);
    s.attrs = a;
    s.nattrs = k;
    set_exception(x, &s, n, n->exc_type, n->exc_module, n->exc_msg, ev, qtype, status,
                  sizeof(status));
    put_span(x, &s);
    return x->stack.oom ? -ENOMEM : 0;
}

/* The program's span: the root of the trace, around every call. */
static void
put_program(struct otlp *x)
{
    const struct ft_tree *t = x->t;
    struct ft_otlp_attr a[3], ev[3];
    struct ft_otlp_span s = {0};
    char qtype[512], status[1024];
    size_t n = 0;

    if (t->have_exit_code) {
        a[n++] = (struct ft_otlp_attr){"process.exit.code", FT_OTLP_INT, NULL, t->exit_code};
    }
    a[n++] = (struct ft_otlp_attr){"flowtrace.ended", FT_OTLP_STR, t->ended ? t->ended : "", 0};
    a[n++] = (struct ft_otlp_attr){"flowtrace.calls", FT_OTLP_INT, NULL, (int64_t)t->calls};
    memcpy(s.trace_id, x->trace, 16);
    span_id(x, 0, s.span_id);
    s.name = x->script;
    s.kind = FT_OTLP_INTERNAL;
    s.start_ns = x->start_ns;
    s.end_ns = x->start_ns + (uint64_t)(t->dur_us * 1000.0);
    s.attrs = a;
    s.nattrs = n;
    set_exception(x, &s, NULL, t->exc_type, t->exc_module, t->exc_msg, ev, qtype, status,
                  sizeof(status));
    put_span(x, &s);
}

int
ft_export_otlp(struct ft_out *o, const struct ft_tree *t, const char *script, const char *service)
{
    struct otlp x = {.o = o, .t = t, .script = script, .service = service};
    uint64_t hi = fnv64(t->run, 1469598103934665603ull);
    uint64_t lo = ft_otlp_mix(fnv64(t->run, 0x9e3779b97f4a7c15ull));
    int rc = 0;

    put_be64(x.trace, hi);
    put_be64(x.trace + 8, lo);
    x.salt = hi ^ lo;
    x.start_ns = (uint64_t)t->start_us * 1000;
    ft_buf_init(&x.stack);
    put_program(&x);
    for (size_t i = 0; i < t->nthreads && rc == 0; i++) {
        const struct ft_tree_thread *th = &t->threads[i];
        struct ft_walk w;
        struct ft_walk_call c;
        ft_walk_init(&w, th->first);
        while (rc == 0 && ft_walk_next(&w, &c)) {
            rc = put_call(&x, th, &c);
        }
        ft_walk_close(&w);
        rc = rc != 0 || w.oom ? -ENOMEM : 0;
    }
    end_line(&x);
    free(x.attrs);
    free(x.arg_keys);
    ft_buf_free(&x.vals);
    ft_buf_free(&x.stack);
    return rc;
}
