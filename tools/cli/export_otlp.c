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
#include "skel.h"
#include "spool.h"
#include "tree.h"

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
    /* The run read twice (skel.h): spans spooled as calls complete, written in pre-order. */
    struct ft_skel *s;
    struct ft_spool spool;
    struct ft_buf rec;   /* one call's span */
    uint32_t *pos;       /* per read index: the call's place in the pre-order */
    struct raised *open; /* per open call: the exceptions its children let out */
    size_t depth, open_cap;
    struct cand *placed; /* exceptions of units' calls, for the calls they were put under */
    uint32_t *placed_under;
    size_t nplaced, placed_cap;
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

/* A call an exception left, as its caller's traceback needs it: the exception's type and
 * raise site, the traceback lines from the call down to where it was raised, the file of
 * the last one, and the call's place in the pre-order (its caller's latest such child
 * wins). */
struct cand {
    char *type, *raise, *lines, *last_file;
    uint32_t pos;
};

/* The children of an open call that an exception left, one per type and raise site. */
struct raised {
    struct cand *c;
    size_t n, cap;
};

static void
cand_free(struct cand *c)
{
    free(c->type);
    free(c->raise);
    free(c->lines);
    free(c->last_file);
}

/* Adds c (taken) to r: replaces an earlier child of the same type and site. */
static int
raised_add(struct raised *r, struct cand *c)
{
    for (size_t i = 0; i < r->n; i++) {
        if (same_text(r->c[i].type, c->type) && same_text(r->c[i].raise, c->raise)) {
            if (r->c[i].pos > c->pos) {
                cand_free(c);
            } else {
                cand_free(&r->c[i]);
                r->c[i] = *c;
            }
            return 0;
        }
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        struct cand *nc = realloc(r->c, cap * sizeof(*nc));
        if (nc == NULL) {
            cand_free(c);
            return -ENOMEM;
        }
        r->c = nc;
        r->cap = cap;
    }
    r->c[r->n++] = *c;
    return 0;
}

/* The child of n the exception that left n came from: the latest that raised the same
 * type, raised at the same place; NULL when n raised it itself. */
static const struct cand *
came_from(const struct raised *r, const struct ft_node *n)
{
    const struct cand *from = NULL;
    const char *raise = n->x != NULL ? n->x->raise : NULL;

    for (size_t i = 0; i < r->n; i++) {
        const struct cand *c = &r->c[i];
        if (same_text(c->type, n->exc_type) &&
            (c->raise == NULL || raise == NULL || same_text(c->raise, raise)) &&
            (from == NULL || c->pos > from->pos)) {
            from = c;
        }
    }
    return from;
}

/* n's traceback lines: a "File ..., line ..., in ..." line for n (at the line the
 * exception left it), then those of the child it came from. */
static void
traceback_lines(struct ft_buf *b, const struct ft_node *n, const struct cand *from)
{
    uint32_t at = n->x != NULL && n->x->left_at > 0 ? n->x->left_at : n->line;

    ft_buf_printf(b, "  File \"%s\", line %u, in %s\n", n->file ? n->file : "?", at,
                  n->function ? n->function : "?");
    if (from != NULL) {
        ft_buf_puts(b, from->lines);
    }
}

/* "Traceback (most recent call last):", a "File ..., line ..., in ..." line per call
 * from n down to where its exception was raised (each at the line the exception left it),
 * then "Type: message", as Python prints it. Only when the run recorded where. */
static const char *
stacktrace(struct otlp *x, const struct ft_node *n, const struct cand *from, const char *type)
{
    struct raise_site r;
    const char *last = from != NULL ? from->last_file : n->file;

    if (n->x == NULL || !parse_raise(n->x->raise, &r)) {
        return NULL;
    }
    x->stack.len = 0;
    ft_buf_puts(&x->stack, "Traceback (most recent call last):\n");
    traceback_lines(&x->stack, n, from);
    /* Raised further down, in code that was not traced (a library's). */
    if (r.file[0] != '\0' && !same_text(r.file, last)) {
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
set_exception(struct otlp *x, struct ft_otlp_span *s, const struct ft_node *n,
              const struct cand *from, const char *type, const char *module, const char *msg,
              struct ft_otlp_attr ev[3], char *qtype, char *status, size_t cap)
{
    if (type == NULL) {
        return;
    }
    qualified_type(type, module, qtype, cap);
    ev[0] = (struct ft_otlp_attr){"exception.type", FT_OTLP_STR, qtype, 0};
    ev[1] = (struct ft_otlp_attr){"exception.message", FT_OTLP_STR, msg, 0};
    ev[2] = (struct ft_otlp_attr){"exception.stacktrace", FT_OTLP_STR,
                                  n != NULL ? stacktrace(x, n, from, qtype) : NULL, 0};
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

/* Call k's span, into x->rec: its times from the skeleton, under its caller's span (for a
 * unit's call put where it ran, the call it was put under). */
static int
render_call(struct otlp *x, size_t ti, uint32_t k, const struct ft_node *n, const struct cand *from)
{
    const struct ft_skel_thread *th = &x->s->threads[ti];
    const struct ft_node_extra *e = n->x;
    uint32_t nargs = e != NULL && e->have_args ? e->nargs : 0, under;
    uint64_t parent_id = 0;
    struct ft_otlp_span s = {0};
    struct ft_otlp_attr ev[3];
    char fn[1200], qtype[512], status[1024];
    size_t i = 0;

    if (room_for(x, nargs) != 0) {
        return -ENOMEM;
    }
    x->vals.len = 0;
    struct ft_otlp_attr *a = x->attrs;
    snprintf(fn, sizeof(fn), "%s.%s", n->module ? n->module : "?", n->function ? n->function : "?");
    a[i++] = (struct ft_otlp_attr){"code.function.name", FT_OTLP_STR, fn, 0};
    a[i++] = (struct ft_otlp_attr){"code.file.path", FT_OTLP_STR, n->file ? n->file : "", 0};
    a[i++] = (struct ft_otlp_attr){"code.line.number", FT_OTLP_INT, NULL, n->line};
    a[i++] = (struct ft_otlp_attr){"thread.name", FT_OTLP_STR, th->name ? th->name : "", 0};
    a[i++] = (struct ft_otlp_attr){"thread.id", FT_OTLP_INT, NULL, (int64_t)th->tid};
    a[i++] = (struct ft_otlp_attr){"flowtrace.call.id", FT_OTLP_INT, NULL, (int64_t)n->id};
    for (uint32_t j = 0; j < nargs; j++) {
        snprintf(x->arg_keys[j], sizeof(x->arg_keys[j]), "flowtrace.arg.%s",
                 e->args[j].name ? e->args[j].name : "?");
        value_attr(x, &a[i++], x->arg_keys[j], e->args[j].value ? e->args[j].value : "");
    }
    if (e != NULL && e->result != NULL) {
        value_attr(x, &a[i++], "flowtrace.result", e->result);
    }
    if (e != NULL && e->resumes > 0) {
        a[i++] = (struct ft_otlp_attr){"flowtrace.resumes", FT_OTLP_INT, NULL, (int64_t)e->resumes};
    }
    a[i++] = (struct ft_otlp_attr){"flowtrace.incomplete", FT_OTLP_STR, n->incomplete, 0};
    if (n->parent != NULL) {
        parent_id = n->parent->id;
    } else if (!ft_skel_placed(x->s, k, &parent_id, &under)) {
        parent_id = 0;
    }
    memcpy(s.trace_id, x->trace, 16);
    span_id(x, n->id, s.span_id);
    span_id(x, parent_id, s.parent_id);
    s.name = n->function ? n->function : "?";
    s.kind = FT_OTLP_INTERNAL;
    s.start_ns = x->start_ns + (uint64_t)x->s->start_ns[k];
    s.end_ns = x->start_ns + (uint64_t)x->s->end_ns[k];
    set_value_texts(x, a, i);
    s.attrs = a;
    s.nattrs = i;
    set_exception(x, &s, n, from, n->exc_type, n->exc_module, n->exc_msg, ev, qtype, status,
                  sizeof(status));
    x->rec.len = 0;
    ft_otlp_span(&x->rec, &s, 1);
    return x->stack.oom || x->rec.oom ? -ENOMEM : 0;
}

/* What n's caller needs of n's exception: a copy of its type, site and traceback lines. */
static int
cand_of(struct otlp *x, uint32_t k, const struct ft_node *n, const struct cand *from,
        struct cand *c)
{
    struct ft_buf lines;
    const char *last = from != NULL ? from->last_file : n->file;

    ft_buf_init(&lines);
    traceback_lines(&lines, n, from);
    ft_buf_putc(&lines, '\0');
    c->type = strdup(n->exc_type);
    c->raise = n->x != NULL && n->x->raise != NULL ? strdup(n->x->raise) : NULL;
    c->lines = lines.oom ? NULL : lines.p;
    c->last_file = last != NULL ? strdup(last) : NULL;
    c->pos = x->pos[k];
    if (c->type == NULL || c->lines == NULL || (last != NULL && c->last_file == NULL) ||
        (c->raise == NULL && n->x != NULL && n->x->raise != NULL)) {
        cand_free(c);
        return -ENOMEM;
    }
    return 0;
}

static int
call_begins(void *ctx, uint32_t k, struct ft_node *n)
{
    struct otlp *x = ctx;
    struct raised *r;

    (void)n;
    if (x->depth == x->open_cap) {
        size_t cap = x->open_cap ? x->open_cap * 2 : 64;
        struct raised *no = realloc(x->open, cap * sizeof(*no));
        if (no == NULL) {
            return -ENOMEM;
        }
        x->open = no;
        x->open_cap = cap;
    }
    r = &x->open[x->depth++];
    memset(r, 0, sizeof(*r));
    /* The units' calls put under this one, read before it (units_first). */
    for (size_t i = 0; i < x->nplaced; i++) {
        if (x->placed_under[i] == k) {
            struct cand c = x->placed[i];
            x->placed[i] = x->placed[--x->nplaced];
            x->placed_under[i--] = x->placed_under[x->nplaced];
            if (raised_add(r, &c) != 0) {
                return -ENOMEM;
            }
        }
    }
    return 0;
}

/* Keeps an exception of a unit's top-level call for the call it was put under. */
static int
keep_placed(struct otlp *x, uint32_t under, struct cand *c)
{
    if (x->nplaced == x->placed_cap) {
        size_t cap = x->placed_cap ? x->placed_cap * 2 : 16;
        struct cand *nc = realloc(x->placed, cap * sizeof(*nc));
        if (nc != NULL) {
            x->placed = nc;
        }
        uint32_t *nu = nc != NULL ? realloc(x->placed_under, cap * sizeof(*nu)) : NULL;
        if (nu == NULL) {
            cand_free(c);
            return -ENOMEM;
        }
        x->placed_under = nu;
        x->placed_cap = cap;
    }
    x->placed[x->nplaced] = *c;
    x->placed_under[x->nplaced++] = under;
    return 0;
}

/* A call, complete: its span spooled; its exception handed to its caller. */
static int
call_ends(void *ctx, size_t ti, uint32_t k, struct ft_node *n)
{
    struct otlp *x = ctx;
    struct raised r = x->open[--x->depth];
    const struct cand *from = n->exc_type != NULL ? came_from(&r, n) : NULL;
    struct cand c;
    uint64_t parent_id;
    uint32_t under;
    int rc = render_call(x, ti, k, n, from);

    rc = rc != 0 ? rc : ft_spool_put(&x->spool, k, x->rec.p, x->rec.len);
    if (rc == 0 && n->exc_type != NULL && (rc = cand_of(x, k, n, from, &c)) == 0) {
        if (n->parent != NULL && x->depth > 0) {
            rc = raised_add(&x->open[x->depth - 1], &c);
        } else if (ft_skel_placed(x->s, k, &parent_id, &under) && under != FT_SKEL_NONE) {
            rc = keep_placed(x, under, &c);
        } else {
            cand_free(&c);
        }
    }
    for (size_t i = 0; i < r.n; i++) {
        cand_free(&r.c[i]);
    }
    free(r.c);
    return rc;
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
    set_exception(x, &s, NULL, NULL, t->exc_type, t->exc_module, t->exc_msg, ev, qtype, status,
                  sizeof(status));
    put_span(x, &s);
}

/* A spooled span on the current line, or on a new one once it holds SPANS_PER_LINE. */
static int
put_spooled(struct otlp *x, uint32_t k)
{
    if (x->in_line == SPANS_PER_LINE) {
        end_line(x);
    }
    if (x->in_line == 0) {
        ft_buf_puts(&x->o->b, "{\"resourceSpans\":[");
        resource(x);
    }
    if (x->in_line++ > 0) {
        ft_buf_putc(&x->o->b, ',');
    }
    int rc = ft_spool_get(&x->spool, k, &x->o->b);
    ft_cli_out_flush(x->o, 0);
    return rc;
}

/* The calls' spans, spooled as they complete (the units' first, so that their exceptions
 * are known to the calls they were put under), then written in pre-order. */
static int
put_calls(struct otlp *x, const char *cmd)
{
    const struct ft_skel_visit visit = {x, call_ends, call_begins};
    struct ft_skel *s = x->s;
    int rc;

    if ((x->pos = malloc((s->n + 1) * sizeof(*x->pos))) == NULL) {
        return -ENOMEM;
    }
    for (size_t j = 0; j < s->n; j++) {
        x->pos[s->order[j]] = (uint32_t)j;
    }
    if ((rc = ft_spool_open(&x->spool, s->n)) != 0) {
        ft_cli_err(cmd, "a temporary file: %s", strerror(-rc));
        return -EIO;
    }
    if (ft_skel_stream(cmd, s, FT_TREE_JSON_VALUES, 1, &visit) != FT_EXIT_OK) {
        return -EIO;
    }
    free(x->pos);
    x->pos = NULL;
    for (size_t j = 0; j < s->n && rc == 0; j++) {
        rc = put_spooled(x, s->order[j]);
    }
    if (rc != 0) {
        ft_cli_err(cmd, "the temporary file: %s", strerror(-rc));
        return -EIO;
    }
    return 0;
}

int
ft_export_otlp(struct ft_out *o, const struct ft_tree *t, struct ft_skel *s, const char *script,
               const char *service)
{
    struct otlp x = {.o = o, .t = t, .s = s, .script = script, .service = service};
    uint64_t hi = fnv64(t->run, 1469598103934665603ull);
    uint64_t lo = ft_otlp_mix(fnv64(t->run, 0x9e3779b97f4a7c15ull));
    int rc;

    put_be64(x.trace, hi);
    put_be64(x.trace + 8, lo);
    x.salt = hi ^ lo;
    x.start_ns = (uint64_t)t->start_us * 1000;
    ft_buf_init(&x.stack);
    ft_buf_init(&x.rec);
    put_program(&x);
    rc = put_calls(&x, "export");
    end_line(&x);
    for (size_t i = 0; i < x.depth; i++) {
        for (size_t j = 0; j < x.open[i].n; j++) {
            cand_free(&x.open[i].c[j]);
        }
        free(x.open[i].c);
    }
    for (size_t i = 0; i < x.nplaced; i++) {
        cand_free(&x.placed[i]);
    }
    free(x.open);
    free(x.placed);
    free(x.placed_under);
    free(x.pos);
    ft_spool_close(&x.spool);
    free(x.attrs);
    free(x.arg_keys);
    ft_buf_free(&x.vals);
    ft_buf_free(&x.stack);
    ft_buf_free(&x.rec);
    return rc;
}
