/* html_stream.c - the HTML page of a run read twice, without its tree (html_stream.h). */
#define _GNU_SOURCE
#include "html_stream.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "html_cols.h"
#include "html_page.h"
#include "skel.h"
#include "spool.h"
#include "tree.h"
#include "view.h"
#include "walk.h"

/* The columns move to their files every this many calls. */
#define SPILL_CALLS 16384

/* A record's flags. */
enum { REC_EXTRA = 1, REC_ARGS = 2, REC_MEMORY = 4, REC_GENERATED = 8 };

/* ---- Records: what collect reads of a call, strings with their NUL ------------------------ */

static void
put_var(struct ft_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        ft_buf_putc(b, (char)(v | 0x80));
        v >>= 7;
    }
    ft_buf_putc(b, (char)v);
}

static void
put_svar(struct ft_buf *b, int64_t v)
{
    put_var(b, ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0));
}

static void
put_text(struct ft_buf *b, const char *s)
{
    size_t n = s != NULL ? strlen(s) + 1 : 0;

    put_var(b, n);
    if (s != NULL) {
        ft_buf_put(b, s, n);
    }
}

static void
put_args(struct ft_buf *b, const struct ft_arg *a, uint32_t n)
{
    put_var(b, n);
    for (uint32_t i = 0; i < n; i++) {
        put_text(b, a[i].name);
        put_text(b, a[i].value);
    }
}

static void
put_record(struct ft_buf *b, const struct ft_node *n)
{
    const struct ft_node_extra *x = n->x;
    const struct ft_mem *m[2] = {x ? &x->mem_before : NULL, x ? &x->mem_after : NULL};

    put_var(b, (x ? REC_EXTRA : 0) | (x && x->have_args ? REC_ARGS : 0) |
                   (x && x->have_memory ? REC_MEMORY : 0) |
                   (x && x->generated ? REC_GENERATED : 0));
    put_text(b, n->function);
    put_text(b, n->module);
    put_text(b, n->file);
    put_var(b, n->line);
    put_text(b, n->exc_type);
    put_text(b, n->exc_msg);
    put_text(b, n->exc_module);
    put_text(b, n->incomplete);
    if (x == NULL) {
        return;
    }
    put_args(b, x->args, x->nargs);
    put_args(b, x->after, x->nafter);
    put_text(b, x->result);
    put_text(b, x->instance);
    put_text(b, x->caller);
    put_text(b, x->thread);
    put_text(b, x->raise);
    put_text(b, x->cause);
    put_text(b, x->locals);
    put_var(b, x->resumes);
    ft_buf_put(b, &x->active_us, sizeof(x->active_us));
    put_var(b, x->left_at);
    for (int k = 0; k < 2 && x->have_memory; k++) {
        put_svar(b, m[k]->rss);
        put_svar(b, m[k]->tracemalloc);
        put_svar(b, m[k]->peak);
    }
}

struct reader {
    const char *p, *end;
    int bad;
};

static uint64_t
get_var(struct reader *r)
{
    uint64_t v = 0;

    for (int shift = 0; r->p < r->end && shift < 64; shift += 7) {
        unsigned char c = (unsigned char)*r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if ((c & 0x80) == 0) {
            return v;
        }
    }
    r->bad = 1;
    return 0;
}

static int64_t
get_svar(struct reader *r)
{
    uint64_t v = get_var(r);

    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static const char *
get_text(struct reader *r)
{
    uint64_t n = get_var(r);
    const char *s = r->p;

    if (n == 0 || n > (uint64_t)(r->end - r->p) || s[n - 1] != '\0') {
        r->bad |= n != 0;
        return NULL;
    }
    r->p += n;
    return s;
}

/* A call read back: the node collect sees. */
struct call {
    struct ft_node n;
    struct ft_node_extra x;
    struct ft_arg *args;
    size_t args_cap;
};

static struct ft_arg *
get_args(struct reader *r, struct call *c, size_t at, uint32_t *n)
{
    uint64_t len = get_var(r);

    if (len > (uint64_t)(r->end - r->p)) { /* two bytes an argument at least */
        r->bad = 1;
        return NULL;
    }
    if (at + len > c->args_cap) {
        size_t cap = (at + len) * 2;
        struct ft_arg *na = realloc(c->args, cap * sizeof(*na));
        if (na == NULL) {
            r->bad = -ENOMEM;
            return NULL;
        }
        c->args = na;
        c->args_cap = cap;
    }
    for (uint64_t i = 0; i < len; i++) {
        c->args[at + i].name = get_text(r);
        c->args[at + i].value = get_text(r);
    }
    *n = (uint32_t)len;
    return c->args + at;
}

/* Decodes a record into c; 0, or -EIO for a record this file did not write. */
static int
get_record(const char *p, size_t len, struct call *c)
{
    struct reader r = {p, p + len, 0};
    uint64_t flags = get_var(&r);
    struct ft_node_extra *x = &c->x;

    memset(&c->n, 0, sizeof(c->n));
    c->n.function = get_text(&r);
    c->n.module = get_text(&r);
    c->n.file = get_text(&r);
    c->n.line = (uint32_t)get_var(&r);
    c->n.exc_type = get_text(&r);
    c->n.exc_msg = get_text(&r);
    c->n.exc_module = get_text(&r);
    c->n.incomplete = get_text(&r);
    if (flags & REC_EXTRA) {
        memset(x, 0, sizeof(*x));
        c->n.x = x;
        x->have_args = (flags & REC_ARGS) != 0;
        x->have_memory = (flags & REC_MEMORY) != 0;
        x->generated = (flags & REC_GENERATED) != 0;
        get_args(&r, c, 0, &x->nargs);
        x->after = get_args(&r, c, x->nargs, &x->nafter);
        x->args = c->args; /* after the second list: it may have moved them */
        x->after = x->nafter > 0 ? c->args + x->nargs : NULL;
        x->result = get_text(&r);
        x->instance = get_text(&r);
        x->caller = get_text(&r);
        x->thread = get_text(&r);
        x->raise = get_text(&r);
        x->cause = get_text(&r);
        x->locals = get_text(&r);
        x->resumes = get_var(&r);
        if (r.end - r.p < (ptrdiff_t)sizeof(x->active_us)) {
            return -EIO;
        }
        memcpy(&x->active_us, r.p, sizeof(x->active_us));
        r.p += sizeof(x->active_us);
        x->left_at = (uint32_t)get_var(&r);
        struct ft_mem *m[2] = {&x->mem_before, &x->mem_after};
        for (int k = 0; k < 2 && x->have_memory; k++) {
            m[k]->rss = get_svar(&r);
            m[k]->tracemalloc = get_svar(&r);
            m[k]->peak = get_svar(&r);
        }
    }
    return r.bad < 0 ? -ENOMEM : r.bad || r.p != r.end ? -EIO : 0;
}

/* ---- The two reads ------------------------------------------------------------------------ */

struct page {
    struct ft_skel s;
    struct ft_view v;
    struct ft_spool spool;
    struct ft_buf rec;
    struct ft_html_cols h;
    struct call call;
    /* the units' first calls: (read index, unit) sorted by read index */
    struct unit_call {
        uint32_t k;
        size_t u;
    } * ucalls;
    size_t nucalls;
    int64_t *unit_calls;
};

/* Second read: each complete call's record, under its read index. */
static int
on_call(void *ctx, size_t thread, uint32_t k, struct ft_node *n)
{
    struct page *p = ctx;

    (void)thread;
    p->rec.len = 0;
    put_record(&p->rec, n);
    return p->rec.oom ? -ENOMEM : ft_spool_put(&p->spool, k, p->rec.p, p->rec.len);
}

static int
cmp_ucall(const void *a, const void *b)
{
    uint32_t x = ((const struct unit_call *)a)->k, y = ((const struct unit_call *)b)->k;

    return (x > y) - (x < y);
}

static int
find_units(struct page *p)
{
    p->ucalls = calloc(p->v.units.n + 1, sizeof(*p->ucalls));
    p->unit_calls = calloc(p->v.units.n + 1, sizeof(*p->unit_calls));
    if (p->ucalls == NULL || p->unit_calls == NULL) {
        return -ENOMEM;
    }
    for (size_t u = 0; u < p->v.units.n; u++) {
        uint32_t k = ft_skel_unit_call(&p->s, &p->v, u);
        p->unit_calls[u] = -1;
        if (k != FT_SKEL_NONE) {
            p->ucalls[p->nucalls++] = (struct unit_call){k, u};
        }
    }
    qsort(p->ucalls, p->nucalls, sizeof(*p->ucalls), cmp_ucall);
    return 0;
}

/* An open call of the pre-order walk: its index in the columns, lane and function. */
struct open {
    uint32_t k, lane;
    size_t index;
    char *function;
};

/* Call k: its record read back and collected; units starting at it named. */
static int
collect(struct page *p, uint32_t k, const struct open *up, size_t depth, int64_t *prev_start)
{
    struct ft_node parent = {0};
    struct ft_walk_call c = {0};
    struct unit_call key = {k, 0}, *u;
    int rc;

    p->rec.len = 0;
    if ((rc = ft_spool_get(&p->spool, k, &p->rec)) != 0 ||
        (rc = get_record(p->rec.p, p->rec.len, &p->call)) != 0) {
        return rc;
    }
    if (up != NULL) {
        parent.function = up->function;
        p->call.n.parent = &parent;
    }
    c.n = &p->call.n;
    c.depth = depth;
    c.lane = p->s.lane[k];
    c.lane_depth = (p->s.flags[k] & FT_SKEL_OWN_LANE) ? 0 : 1;
    c.start_ns = p->s.start_ns[k];
    c.end_ns = p->s.end_ns[k];
    if (p->nucalls > 0 &&
        (u = bsearch(&key, p->ucalls, p->nucalls, sizeof(key), cmp_ucall)) != NULL) {
        p->unit_calls[u->u] = (int64_t)p->h.ncalls;
    }
    ft_html_cols_call(&p->h, &c, up != NULL ? up->lane : 0, prev_start);
    return p->h.code.n >= SPILL_CALLS ? ft_html_cols_spill(&p->h) : 0;
}

/* Call k, just collected at index, opens: its calls follow. */
static int
push_open(struct page *p, struct open **open, size_t *cap, size_t depth, uint32_t k, size_t index)
{
    const char *fn = p->call.n.function;

    if (depth == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct open *no = realloc(*open, ncap * sizeof(*no));
        if (no == NULL) {
            return -ENOMEM;
        }
        *open = no;
        *cap = ncap;
    }
    (*open)[depth] = (struct open){k, p->s.lane[k], index, fn ? strdup(fn) : NULL};
    return fn != NULL && (*open)[depth].function == NULL ? -ENOMEM : 0;
}

/* Thread ti's calls in pre-order (the skeleton's links), with their sizes. */
static int
collect_thread(struct page *p, size_t ti, int64_t *prev_start)
{
    struct open *open = NULL;
    size_t depth = 0, cap = 0;
    uint32_t k = p->s.threads[ti].first;
    int rc = 0;

    ft_html_cols_thread(&p->h, p->s.threads[ti].name, p->s.threads[ti].tid);
    while (k != FT_SKEL_NONE && rc == 0 && !p->h.oom) {
        size_t index = p->h.ncalls;
        if ((rc = collect(p, k, depth > 0 ? &open[depth - 1] : NULL, depth, prev_start)) != 0) {
            break;
        }
        if (ft_skel_first_child(&p->s, k) != FT_SKEL_NONE) {
            rc = push_open(p, &open, &cap, depth, k, index);
            depth += rc == 0;
            k = ft_skel_first_child(&p->s, k);
            continue;
        }
        while (k != FT_SKEL_NONE && ft_skel_next(&p->s, k) == FT_SKEL_NONE) {
            k = FT_SKEL_NONE;
            if (depth > 0) {
                struct open *o = &open[--depth];
                p->h.size.v[o->index] = (int64_t)(p->h.ncalls - o->index - 1);
                free(o->function);
                k = o->k;
            }
        }
        k = k != FT_SKEL_NONE ? ft_skel_next(&p->s, k) : FT_SKEL_NONE;
    }
    while (depth > 0) {
        free(open[--depth].function);
    }
    free(open);
    ft_html_cols_thread_end(&p->h, p->s.threads[ti].nlanes);
    return rc != 0 ? rc : p->h.oom ? -ENOMEM : 0;
}

/* The page's data besides the columns, and the page written. */
static int
write_page(const char *cmd, struct page *p, const char *output)
{
    struct ft_tree *hdr = NULL;
    const char *run_sources = p->v.t->sources;
    size_t nunit_maps = 0;
    const char *const *unit_maps = ft_skel_unit_sources(&p->s, &nunit_maps);
    const char **maps = calloc(nunit_maps + 2, sizeof(*maps));
    int rc;

    if (maps == NULL || unit_maps == NULL) {
        free((void *)maps);
        ft_cli_err(cmd, "out of memory");
        return FT_EXIT_FAIL;
    }
    if (p->v.unit != NULL && run_sources == NULL) { /* kept sources are the run's */
        char path[PATH_MAX + 16], err[PATH_MAX + 256];
        snprintf(path, sizeof(path), "%s/tree.json", p->v.rundir);
        if (ft_tree_load_header(path, &hdr, err, sizeof(err)) == 0) {
            run_sources = hdr->sources;
        }
    }
    maps[0] = run_sources;
    memcpy((void *)(maps + 1), unit_maps, nunit_maps * sizeof(*maps));
    struct ft_html_page pg = {&p->v, p->unit_calls, maps, nunit_maps + 1};
    rc = ft_html_page_put(cmd, &pg, &p->h, output, NULL, NULL);
    free((void *)maps);
    if (hdr != NULL) {
        ft_tree_free(hdr);
    }
    return rc;
}

static int
write_html(const char *cmd, struct page *p, const char *output)
{
    const struct ft_skel_visit visit = {p, on_call, NULL};
    int64_t prev_start = 0;
    int rc;

    if ((rc = ft_spool_open(&p->spool, p->s.n)) != 0) {
        ft_cli_err(cmd, "a temporary file: %s", strerror(-rc));
        return FT_EXIT_FAIL;
    }
    if ((rc = ft_skel_stream(cmd, &p->s, 0, 0, &visit)) != FT_EXIT_OK) {
        return rc;
    }
    ft_html_cols_stream(&p->h);
    rc = find_units(p);
    for (size_t ti = 0; ti < p->s.nthreads && rc == 0; ti++) {
        rc = collect_thread(p, ti, &prev_start);
    }
    if (rc != 0) {
        ft_cli_err(cmd, "%s", rc == -ENOMEM ? "out of memory" : strerror(-rc));
        return FT_EXIT_FAIL;
    }
    return write_page(cmd, p, output);
}

int
ft_html_stream_write(const char *cmd, const char *dir, const char *run, const char *unit,
                     const char *output, char *path, size_t cap)
{
    struct page *p = calloc(1, sizeof(*p));
    int rc;

    if (p == NULL) {
        ft_cli_err(cmd, "out of memory");
        return FT_EXIT_FAIL;
    }
    ft_buf_init(&p->rec);
    p->spool.fd = -1;
    rc = ft_skel_build(cmd, dir, run, unit, FT_SKEL_LINKS, &p->s, &p->v);
    if (rc == FT_EXIT_OK) {
        if (output == NULL) {
            snprintf(path, cap, "%s.html", p->v.t->run ? p->v.t->run : "run");
        } else {
            snprintf(path, cap, "%s", output);
        }
        rc = write_html(cmd, p, path);
    }
    ft_html_cols_free(&p->h);
    ft_spool_close(&p->spool);
    ft_buf_free(&p->rec);
    free(p->call.args);
    free(p->ucalls);
    free(p->unit_calls);
    ft_skel_free(&p->s);
    ft_view_free(&p->v);
    free(p);
    return rc;
}
