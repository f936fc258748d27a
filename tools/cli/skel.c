/* skel.c - the skeleton of a view: a run's calls in arrays, placed and walked (skel.h). */
#define _GNU_SOURCE
#include "skel.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graft.h"
#include "walk.h"

/* Call flags while building (the public ones are in skel.h). */
enum { SUSPENDS = 2, HANDED = 4 };

/* A tree.json read: the run's (or the unit viewed alone: the base) or a unit's. */
struct file {
    char *path;
    char *sources;     /* a unit's tree's "sources" map, or NULL */
    uint32_t *to_view; /* per thread of the file: its thread in the view */
    size_t nthreads;
    uint32_t k0, n; /* its calls' read indexes */
};

/* A top-level call of a unit, to be put where it ran. */
struct root {
    uint32_t k;
    size_t file, thread; /* its file and its thread there */
    const char *caller;  /* interned in the base's names */
    uint32_t parent;     /* the call it was put under, or FT_SKEL_NONE */
    uint64_t parent_id;  /* that call's id */
};

struct open_call {
    uint32_t k, last_child;
};

struct ft_skel_priv {
    uint32_t *first, *next;
    const char **fn;
    uint64_t *id;      /* until the units are placed */
    int keep_links;    /* FT_SKEL_LINKS */
    uint32_t *holders; /* the calls units' calls were put under, in order */
    size_t nholders;
    uint32_t *tlast; /* per view thread: its last top-level call, while reading the base */
    struct file *files;
    size_t nfiles;
    const char **unit_sources; /* ft_skel_unit_sources */
    struct root *roots;
    size_t nroots, roots_cap;
    struct open_call *open;
    size_t depth, open_cap;
    size_t file; /* the file being read */
    int oom;
};

/* Times are the file's microseconds until the walk replaces them by nanoseconds. */
static double
us(const int64_t *a, uint32_t k)
{
    double d;

    memcpy(&d, &a[k], sizeof(d));
    return d;
}

static void
set_us(int64_t *a, uint32_t k, double d)
{
    memcpy(&a[k], &d, sizeof(d));
}

static int
grow(void **p, size_t *cap, size_t need, size_t size)
{
    size_t c = *cap ? *cap : 16;
    void *np;

    if (need <= *cap) {
        return 0;
    }
    while (c < need) {
        c *= 2;
    }
    if ((np = realloc(*p, c * size)) == NULL) {
        return -ENOMEM;
    }
    *p = np;
    *cap = c;
    return 0;
}

/* Room for one more call in every array of the build. */
static int
grow_calls(struct ft_skel *s)
{
    struct ft_skel_priv *p = s->priv;
    size_t cap = s->cap, c;

    if (s->n < cap) {
        return 0;
    }
    c = cap ? cap * 2 : 4096;
    void *a[] = {realloc(s->start_ns, c * 8),
                 realloc(s->end_ns, c * 8),
                 realloc(p->first, c * 4),
                 realloc(p->next, c * 4),
                 realloc(p->fn, c * sizeof(char *)),
                 realloc(s->flags, c),
                 realloc(p->id, c * sizeof(uint64_t))};
    s->start_ns = a[0] ? a[0] : s->start_ns;
    s->end_ns = a[1] ? a[1] : s->end_ns;
    p->first = a[2] ? a[2] : p->first;
    p->next = a[3] ? a[3] : p->next;
    p->fn = a[4] ? (const char **)a[4] : p->fn;
    s->flags = a[5] ? a[5] : s->flags;
    p->id = a[6] ? a[6] : p->id;
    for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
        if (a[i] == NULL) {
            return -ENOMEM;
        }
    }
    s->cap = c;
    return 0;
}

/* The view's thread ti exists (the base's threads keep their index). */
static int
need_thread(struct ft_skel *s, size_t ti)
{
    struct ft_skel_priv *p = s->priv;
    size_t cap = s->nthreads;

    if (ti < s->nthreads) {
        return 0;
    }
    struct ft_skel_thread *nt = realloc(s->threads, (ti + 1) * sizeof(*nt));
    uint32_t *nl = nt != NULL ? realloc(p->tlast, (ti + 1) * sizeof(*nl)) : NULL;
    if (nt != NULL) {
        s->threads = nt;
    }
    if (nl == NULL) {
        return -ENOMEM;
    }
    p->tlast = nl;
    for (size_t i = cap; i <= ti; i++) {
        memset(&s->threads[i], 0, sizeof(s->threads[i]));
        s->threads[i].first = FT_SKEL_NONE;
        p->tlast[i] = FT_SKEL_NONE;
    }
    s->nthreads = ti + 1;
    return 0;
}

/* A file's thread, seen: its name and id, for the unit's placement. */
static int
see_thread(struct ft_skel *s, const struct ft_tree_thread *th)
{
    struct file *f = &s->priv->files[s->priv->file];

    if (th->index < f->nthreads) {
        return 0;
    }
    uint32_t *nm = realloc(f->to_view, (th->index + 1) * sizeof(*nm));
    if (nm == NULL) {
        return -ENOMEM;
    }
    f->to_view = nm;
    for (size_t i = f->nthreads; i <= th->index; i++) {
        nm[i] = s->priv->file == 0 ? (uint32_t)i : FT_SKEL_NONE; /* the base's are the view's */
    }
    f->nthreads = th->index + 1;
    return 0;
}

static int
add_root(struct ft_skel *s, uint32_t k, size_t thread)
{
    struct ft_skel_priv *p = s->priv;

    if (grow((void **)&p->roots, &p->roots_cap, p->nroots + 1, sizeof(*p->roots)) != 0) {
        return -ENOMEM;
    }
    p->roots[p->nroots++] = (struct root){k, p->file, thread, NULL, FT_SKEL_NONE, 0};
    return 0;
}

/* Links call k: under the open call, at its thread's top level (the base), or as a root to
 * place (a unit's). */
static int
link_call(struct ft_skel *s, const struct ft_tree_thread *th, uint32_t k, int top)
{
    struct ft_skel_priv *p = s->priv;

    if (!top && p->depth > 0) {
        struct open_call *up = &p->open[p->depth - 1];
        *(up->last_child != FT_SKEL_NONE ? &p->next[up->last_child] : &p->first[up->k]) = k;
        up->last_child = k;
    } else if (p->file > 0) {
        return add_root(s, k, th->index);
    } else {
        if (need_thread(s, th->index) != 0) {
            return -ENOMEM;
        }
        uint32_t *last = &p->tlast[th->index];
        *(*last != FT_SKEL_NONE ? &p->next[*last] : &s->threads[th->index].first) = k;
        *last = k;
    }
    return 0;
}

static int
on_enter(void *ctx, const struct ft_tree_thread *th, struct ft_node *n)
{
    struct ft_skel *s = ctx;
    struct ft_skel_priv *p = s->priv;
    uint32_t k = (uint32_t)s->n;

    if (th == NULL || grow_calls(s) != 0 || see_thread(s, th) != 0 ||
        grow((void **)&p->open, &p->open_cap, p->depth + 1, sizeof(*p->open)) != 0) {
        return -ENOMEM;
    }
    s->n++;
    n->mark = k;
    p->first[k] = FT_SKEL_NONE;
    p->next[k] = FT_SKEL_NONE;
    p->fn[k] = n->function;
    p->id[k] = n->id;
    s->max_id = n->id > s->max_id ? n->id : s->max_id;
    set_us(s->start_ns, k, n->start_us);
    if (link_call(s, th, k, n->parent == NULL) != 0) {
        return -ENOMEM;
    }
    p->open[p->depth++] = (struct open_call){k, FT_SKEL_NONE};
    return 0;
}

static int
on_leave(void *ctx, const struct ft_tree_thread *th, struct ft_node *n)
{
    struct ft_skel *s = ctx;
    struct ft_skel_priv *p = s->priv;
    uint32_t k = n->mark;

    (void)th;
    p->depth--;
    set_us(s->end_ns, k, n->dur_us);
    s->flags[k] = (uint8_t)((ft_walk_suspends(n) ? SUSPENDS : 0) |
                            (n->x != NULL && (n->x->thread != NULL || n->x->task) ? HANDED : 0));
    if (p->file > 0 && n->parent == NULL) {
        p->roots[p->nroots - 1].caller = n->x != NULL ? n->x->caller : NULL;
    }
    return 0;
}

static int
grow_files(struct ft_skel_priv *p)
{
    struct file *nf = realloc(p->files, (p->nfiles + 1) * sizeof(*nf));

    if (nf == NULL) {
        return -ENOMEM;
    }
    p->files = nf;
    memset(&p->files[p->nfiles], 0, sizeof(*nf));
    return 0;
}

/* The view's thread for a unit's thread: the same id (and name, when both have one),
 * added when the view has none (graft.c's rule). */
static uint32_t
thread_for(struct ft_skel *s, const struct ft_tree_thread *ut)
{
    size_t ti;

    for (ti = 0; ti < s->nthreads; ti++) {
        const struct ft_skel_thread *th = &s->threads[ti];
        if (th->tid == ut->tid &&
            (th->name == NULL || ut->name == NULL || strcmp(th->name, ut->name) == 0)) {
            return (uint32_t)ti;
        }
    }
    if (need_thread(s, ti) != 0 ||
        (ut->name != NULL && (s->threads[ti].name = strdup(ut->name)) == NULL)) {
        return FT_SKEL_NONE;
    }
    s->threads[ti].tid = ut->tid;
    return (uint32_t)ti;
}

/* A unit's threads that have calls, in the view, in their order (as ft_graft_unit adds
 * them). */
static int
map_threads(struct ft_skel *s, const struct ft_tree *ut, size_t r0)
{
    struct ft_skel_priv *p = s->priv;
    struct file *f = &p->files[p->file];

    for (size_t i = 0; i < ut->nthreads && i < f->nthreads; i++) {
        int used = 0;
        for (size_t r = r0; r < p->nroots && !used; r++) {
            used = p->roots[r].thread == i;
        }
        if (used && (f->to_view[i] = thread_for(s, &ut->threads[i])) == FT_SKEL_NONE) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* The base's threads, all of them (those without calls too), as the view's first. */
static int
base_threads(struct ft_skel *s, const struct ft_tree *t)
{
    if (t->nthreads > 0 && need_thread(s, t->nthreads - 1) != 0) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->nthreads; i++) {
        s->threads[i].tid = t->threads[i].tid;
        if (t->threads[i].name != NULL &&
            (s->threads[i].name = strdup(t->threads[i].name)) == NULL) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* Reads one file into the arrays: the base (v->t gets its fields), or a unit's tree,
 * left out when it cannot be read (removed since), as view.c leaves it out. */
static int
read_file(const char *cmd, struct ft_skel *s, struct ft_view *v, const char *path)
{
    struct ft_tree_visit visit = {s, on_enter, on_leave};
    struct ft_skel_priv *p = s->priv;
    struct ft_tree *t = NULL;
    size_t n0 = s->n, r0 = p->nroots;
    char err[PATH_MAX + 256];
    int rc;

    if (grow_files(p) != 0 || (p->files[p->nfiles].path = strdup(path)) == NULL) {
        ft_cli_err(cmd, "out of memory");
        return -ENOMEM;
    }
    p->file = p->nfiles++;
    p->depth = 0;
    rc = ft_tree_stream(path, FT_TREE_NO_VALUES, v->t, &visit, &t, err, sizeof(err));
    p->files[p->file].k0 = (uint32_t)n0;
    p->files[p->file].n = (uint32_t)(s->n - n0);
    if (p->file == 0) {
        v->t = t;
        rc = rc != 0 ? rc : base_threads(s, t);
    } else {
        rc = rc != 0 ? rc : map_threads(s, t, r0);
        if (rc == 0 && t->sources != NULL &&
            (p->files[p->file].sources = strdup(t->sources)) == NULL) {
            rc = -ENOMEM;
        }
        ft_tree_free(t);
    }
    if (rc == -ENOMEM || (rc != 0 && p->file == 0)) {
        ft_cli_err(cmd, "%s", rc == -ENOMEM ? "out of memory" : err);
        return rc;
    }
    if (rc != 0) { /* a unit's tree: forget what was read of it */
        s->n = n0;
        p->nroots = r0;
        free(p->files[p->file].path);
        free(p->files[p->file].to_view);
        free(p->files[p->file].sources);
        p->nfiles--;
    }
    return 0;
}

/* The call on view thread ti a unit's call k ran under (graft.c's parent_for): none
 * without a caller; else the deepest call holding k's span named as its caller, or
 * failing that the deepest holding it. */
static uint32_t
parent_for(const struct ft_skel *s, size_t ti, uint32_t k, const char *caller)
{
    const struct ft_skel_priv *p = s->priv;
    uint32_t deepest = FT_SKEL_NONE, named = FT_SKEL_NONE, c = s->threads[ti].first;
    double start = us(s->start_ns, k), dur = us(s->end_ns, k);

    if (caller == NULL) {
        return FT_SKEL_NONE;
    }
    while (c != FT_SKEL_NONE) {
        if (!ft_graft_spans(us(s->start_ns, c), us(s->end_ns, c), start, dur)) {
            c = p->next[c];
            continue;
        }
        deepest = c;
        if (p->fn[c] != NULL && strcmp(p->fn[c], caller) == 0) {
            named = c;
        }
        c = p->first[c];
    }
    return named != FT_SKEL_NONE ? named : deepest;
}

/* Links k among the children of parent (thread ti's top level for none), before the
 * first that started after it (graft.c's insert). */
static void
insert(struct ft_skel *s, size_t ti, uint32_t parent, uint32_t k)
{
    struct ft_skel_priv *p = s->priv;
    uint32_t *at = parent != FT_SKEL_NONE ? &p->first[parent] : &s->threads[ti].first;
    double start = us(s->start_ns, k);

    while (*at != FT_SKEL_NONE && us(s->start_ns, *at) <= start) {
        at = &p->next[*at];
    }
    p->next[k] = *at;
    *at = k;
}

/* The span of a thread's top-level calls, from the first start to the last end. */
static void
top_ms(const struct ft_skel *s, struct ft_skel_thread *th)
{
    double end = 0, start = -1;

    for (uint32_t k = th->first; k != FT_SKEL_NONE; k = s->priv->next[k]) {
        double ks = us(s->start_ns, k), ke = ks + us(s->end_ns, k);
        start = start < 0 || ks < start ? ks : start;
        end = ke > end ? ke : end;
    }
    th->top_ms = start < 0 ? 0 : (end - start) / 1000.0;
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

/* The calls units' calls were put under, sorted, once each. */
static int
holders(struct ft_skel *s)
{
    struct ft_skel_priv *p = s->priv;
    size_t n = 0;

    if ((p->holders = malloc((p->nroots + 1) * sizeof(*p->holders))) == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < p->nroots; i++) {
        if (p->roots[i].parent != FT_SKEL_NONE) {
            p->holders[n++] = p->roots[i].parent;
        }
    }
    qsort(p->holders, n, sizeof(*p->holders), cmp_u32);
    for (size_t i = 0; i < n; i++) {
        if (p->nholders == 0 || p->holders[p->nholders - 1] != p->holders[i]) {
            p->holders[p->nholders++] = p->holders[i];
        }
    }
    return 0;
}

/* Every unit's top-level calls where they ran, in the order view.c grafts them. */
static int
place_units(struct ft_skel *s)
{
    struct ft_skel_priv *p = s->priv;

    for (size_t i = 0; i < p->nroots; i++) {
        struct root *r = &p->roots[i];
        size_t ti = p->files[r->file].to_view[r->thread];
        r->parent = parent_for(s, ti, r->k, r->caller);
        r->parent_id = r->parent != FT_SKEL_NONE ? p->id[r->parent] : 0;
        insert(s, ti, r->parent, r->k);
    }
    free(p->id);
    p->id = NULL;
    for (size_t ti = 0; ti < s->nthreads; ti++) {
        top_ms(s, &s->threads[ti]);
    }
    return holders(s);
}

/* Call k as the walk places it (its times still the file's microseconds). */
static void
item_of(const struct ft_skel *s, uint32_t k, struct ft_walk_item *it)
{
    uint32_t next = s->priv->next[k];

    it->start_ns = llround(us(s->start_ns, k) * 1000.0);
    it->end_ns = it->start_ns + llround(us(s->end_ns, k) * 1000.0);
    it->handed = (s->flags[k] & HANDED) != 0;
    it->suspends = (s->flags[k] & SUSPENDS) != 0;
    it->has_next = next != FT_SKEL_NONE;
    it->next_start_ns = it->has_next ? llround(us(s->start_ns, next) * 1000.0) : 0;
}

/* Thread ti's calls in pre-order, placed (walk.h): their times become nanoseconds. */
static int
walk_thread(struct ft_skel *s, size_t ti, size_t *o)
{
    struct ft_skel_priv *p = s->priv;
    struct ft_walk w;
    struct ft_walk_call c = {0};
    uint32_t k = s->threads[ti].first;

    ft_walk_init(&w, NULL);
    p->depth = 0;
    s->threads[ti].order = *o;
    while (k != FT_SKEL_NONE && !w.oom) {
        struct ft_walk_item it;
        item_of(s, k, &it);
        ft_walk_place(&w, &it, &c);
        s->start_ns[k] = c.start_ns;
        s->end_ns[k] = c.end_ns;
        s->lane[k] = c.lane;
        s->flags[k] = (uint8_t)((c.new_lane ? FT_SKEL_NEW_LANE : 0) |
                                (c.depth > 0 && c.lane_depth == 0 ? FT_SKEL_OWN_LANE : 0));
        s->order[(*o)++] = k;
        if (p->first[k] != FT_SKEL_NONE) {
            if (grow((void **)&p->open, &p->open_cap, p->depth + 1, sizeof(*p->open)) != 0) {
                w.oom = 1;
                break;
            }
            p->open[p->depth++].k = k;
            ft_walk_down(&w, &c);
            k = p->first[k];
            continue;
        }
        while (k != FT_SKEL_NONE && p->next[k] == FT_SKEL_NONE) {
            k = p->depth > 0 ? p->open[--p->depth].k : FT_SKEL_NONE;
            ft_walk_up(&w);
        }
        k = k != FT_SKEL_NONE ? p->next[k] : FT_SKEL_NONE;
    }
    s->threads[ti].ncalls = *o - s->threads[ti].order;
    s->threads[ti].nlanes = w.nlanes;
    int oom = w.oom;
    ft_walk_close(&w);
    return oom ? -ENOMEM : 0;
}

/* The links are done with: what the second read needs stays. */
static int
walk_all(struct ft_skel *s)
{
    struct ft_skel_priv *p = s->priv;
    size_t o = 0;

    free(p->fn);
    p->fn = NULL;
    s->lane = malloc((s->n + 1) * sizeof(*s->lane));
    s->order = malloc((s->n + 1) * sizeof(*s->order));
    if (s->lane == NULL || s->order == NULL) {
        return -ENOMEM;
    }
    for (size_t ti = 0; ti < s->nthreads; ti++) {
        if (walk_thread(s, ti, &o) != 0) {
            return -ENOMEM;
        }
    }
    if (!p->keep_links) {
        free(p->first);
        free(p->next);
        p->first = p->next = NULL;
    }
    return 0;
}

int
ft_skel_build(const char *cmd, const char *dir, const char *run, const char *unit, int flags,
              struct ft_skel *s, struct ft_view *v)
{
    const struct ft_unit_ent *e;
    char path[PATH_MAX + 16];
    int rc;

    memset(s, 0, sizeof(*s));
    memset(v, 0, sizeof(*v));
    if ((s->priv = calloc(1, sizeof(*s->priv))) == NULL) {
        ft_cli_err(cmd, "out of memory");
        return FT_EXIT_FAIL;
    }
    s->priv->keep_links = (flags & FT_SKEL_LINKS) != 0;
    if ((rc = ft_units_read_family(cmd, dir, run, v->rundir, sizeof(v->rundir), &v->units)) !=
        FT_EXIT_OK) {
        return rc;
    }
    if (unit != NULL) {
        if ((rc = ft_view_find_unit(cmd, v, unit, &e)) != FT_EXIT_OK) {
            return rc;
        }
        v->unit = e;
        snprintf(path, sizeof(path), "%s", e->tree);
    } else {
        snprintf(path, sizeof(path), "%s/tree.json", v->rundir);
    }
    if (read_file(cmd, s, v, path) != 0) {
        return FT_EXIT_FAIL;
    }
    for (size_t i = 0; unit == NULL && i < v->units.n; i++) {
        /* Units of the runs this run started (pytest-xdist's workers) ran elsewhere. */
        e = &v->units.v[i];
        if (e->tree != NULL && strcmp(e->run, v->t->run ? v->t->run : "") == 0 &&
            read_file(cmd, s, v, e->tree) != 0) {
            return FT_EXIT_FAIL;
        }
    }
    if (place_units(s) != 0 || walk_all(s) != 0) {
        ft_cli_err(cmd, "out of memory");
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}

struct second {
    const struct ft_skel_visit *user;
    const struct file *f;
    uint32_t k;  /* the next read index */
    int changed; /* the files have other calls than at the first read */
};

static int
second_enter(void *ctx, const struct ft_tree_thread *th, struct ft_node *n)
{
    struct second *r = ctx;

    (void)th;
    if (r->k >= r->f->k0 + r->f->n) {
        r->changed = 1;
        return -1;
    }
    n->mark = r->k++;
    return r->user->enter != NULL ? r->user->enter(r->user->ctx, n->mark, n) : 0;
}

static int
second_leave(void *ctx, const struct ft_tree_thread *th, struct ft_node *n)
{
    struct second *r = ctx;
    size_t ti = th->index < r->f->nthreads ? r->f->to_view[th->index] : FT_SKEL_NONE;

    if (ti == FT_SKEL_NONE) {
        r->changed = 1;
        return -1;
    }
    return r->user->leave(r->user->ctx, ti, n->mark, n);
}

int
ft_skel_stream(const char *cmd, struct ft_skel *s, int flags, int units_first,
               const struct ft_skel_visit *visit)
{
    struct second r = {visit, NULL, 0, 0};
    struct ft_tree_visit v = {&r, second_enter, second_leave};
    size_t nf = s->priv->nfiles;
    char err[PATH_MAX + 256];

    for (size_t i = 0; i < nf; i++) {
        struct ft_tree *t = NULL;
        int rc;
        r.f = &s->priv->files[units_first ? nf - 1 - i : i];
        r.k = r.f->k0;
        rc = ft_tree_stream(r.f->path, flags, NULL, &v, &t, err, sizeof(err));
        ft_tree_free(t);
        if (rc != 0) {
            ft_cli_err(cmd, "%s",
                       r.changed       ? "the run changed while it was read"
                       : rc == -ENOMEM ? "out of memory"
                                       : err);
            return FT_EXIT_FAIL;
        }
        if (r.k != r.f->k0 + r.f->n) {
            ft_cli_err(cmd, "the run changed while it was read");
            return FT_EXIT_FAIL;
        }
    }
    return FT_EXIT_OK;
}

void
ft_skel_free(struct ft_skel *s)
{
    struct ft_skel_priv *p = s->priv;

    if (p != NULL) {
        for (size_t i = 0; i < p->nfiles; i++) {
            free(p->files[i].path);
            free(p->files[i].to_view);
            free(p->files[i].sources);
        }
        free((void *)p->unit_sources);
        free(p->files);
        free(p->first);
        free(p->next);
        free(p->fn);
        free(p->id);
        free(p->tlast);
        free(p->roots);
        free(p->holders);
        free(p->open);
        free(p);
    }
    for (size_t i = 0; i < s->nthreads; i++) {
        free(s->threads[i].name);
    }
    free(s->threads);
    free(s->start_ns);
    free(s->end_ns);
    free(s->lane);
    free(s->flags);
    free(s->order);
    memset(s, 0, sizeof(*s));
}

int
ft_skel_placed(const struct ft_skel *s, uint32_t k, uint64_t *parent_id, uint32_t *parent)
{
    const struct ft_skel_priv *p = s->priv;
    size_t lo = 0, hi = p->nroots;

    while (lo < hi) { /* roots are in read order */
        size_t mid = lo + (hi - lo) / 2;
        if (p->roots[mid].k < k) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == p->nroots || p->roots[lo].k != k) {
        return 0;
    }
    *parent_id = p->roots[lo].parent_id;
    *parent = p->roots[lo].parent;
    return 1;
}

int
ft_skel_holds_units(const struct ft_skel *s, uint32_t k)
{
    const struct ft_skel_priv *p = s->priv;

    return p->nholders > 0 &&
           bsearch(&k, p->holders, p->nholders, sizeof(*p->holders), cmp_u32) != NULL;
}

uint32_t
ft_skel_first_child(const struct ft_skel *s, uint32_t k)
{
    return s->priv->first[k];
}

uint32_t
ft_skel_next(const struct ft_skel *s, uint32_t k)
{
    return s->priv->next[k];
}

uint32_t
ft_skel_unit_call(const struct ft_skel *s, const struct ft_view *v, size_t u)
{
    const struct ft_skel_priv *p = s->priv;
    const struct ft_unit_ent *e = &v->units.v[u];
    size_t f = 0;

    if (v->unit != NULL) { /* the unit viewed alone is the base */
        f = e == v->unit ? 0 : p->nfiles;
    } else if (e->tree != NULL) {
        for (f = 1; f < p->nfiles && strcmp(p->files[f].path, e->tree) != 0; f++) {
        }
    } else {
        f = p->nfiles;
    }
    return f < p->nfiles && p->files[f].n > 0 ? p->files[f].k0 : FT_SKEL_NONE;
}

const char *const *
ft_skel_unit_sources(const struct ft_skel *s, size_t *n)
{
    struct ft_skel_priv *p = s->priv;

    *n = 0;
    if (p->unit_sources == NULL &&
        (p->unit_sources = calloc(p->nfiles + 1, sizeof(*p->unit_sources))) == NULL) {
        return NULL;
    }
    for (size_t f = 1; f < p->nfiles; f++) {
        p->unit_sources[(*n)++] = p->files[f].sources;
    }
    return p->unit_sources;
}
