/* viewstream.c - a run and its units streamed to a visitor (viewstream.h). */
#define _GNU_SOURCE
#include "viewstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graft.h"
#include "lib/err.h"

/* A unit of the run, and where its calls go. */
struct place {
    const char *tree;   /* its tree.json */
    const char *caller; /* its first call's caller (interned in the run's names), or NULL */
    char *thread;       /* that call's thread */
    uint64_t tid;
    double start_us, dur_us;
    int found; /* its first call was read */
    int done;  /* streamed */
};

struct stream {
    const char *cmd;
    const struct ft_tree_visit *user;
    struct ft_tree *names; /* the run's fields: every tree's names are interned in it */
    int flags;
    struct place *p;
    size_t n;
};

/* The first top-level call of a unit's tree: where it goes. */
static int
first_enter(void *ctx, const struct ft_tree_thread *th, struct ft_node *n)
{
    (void)ctx, (void)th, (void)n;
    return 0;
}

static int
first_leave(void *ctx, const struct ft_tree_thread *th, struct ft_node *n)
{
    struct place *p = ctx;

    if (p->found || n->parent != NULL) {
        return 0;
    }
    p->found = 1;
    p->caller = n->x != NULL ? n->x->caller : NULL;
    p->tid = th != NULL ? th->tid : 0;
    p->thread = th != NULL && th->name != NULL ? strdup(th->name) : NULL;
    p->start_us = n->start_us;
    p->dur_us = n->dur_us;
    return 0;
}

static int
stream_file(struct stream *s, const char *path, const struct ft_tree_visit *visit,
            struct ft_tree **out)
{
    char err[PATH_MAX + 256];
    int rc = ft_tree_stream(path, s->flags, s->names, visit, out, err, sizeof(err));

    if (rc != 0) {
        ft_cli_err(s->cmd, "%s", err);
    }
    return rc;
}

static int
stream_unit(struct stream *s, struct place *p)
{
    struct ft_tree *ut = NULL;
    int rc;

    p->done = 1;
    rc = stream_file(s, p->tree, s->user, &ut);
    if (ut != NULL) {
        ft_tree_free(ut);
    }
    return rc;
}

static int
run_enter(void *ctx, const struct ft_tree_thread *th, struct ft_node *n)
{
    struct stream *s = ctx;

    return s->user->enter(s->user->ctx, th, n);
}

static int
same_thread(const struct ft_tree_thread *th, const struct place *p)
{
    return th != NULL && (th->tid == p->tid || (th->name != NULL && p->thread != NULL &&
                                                strcmp(th->name, p->thread) == 0));
}

/* Before the visitor leaves n: the units that ran inside it. */
static int
run_leave(void *ctx, const struct ft_tree_thread *th, struct ft_node *n)
{
    struct stream *s = ctx;

    for (size_t i = 0; i < s->n; i++) {
        struct place *p = &s->p[i];
        if (p->done || p->caller == NULL || n->function == NULL ||
            strcmp(n->function, p->caller) != 0 || !same_thread(th, p) ||
            !ft_graft_holds(n, p->start_us, p->dur_us)) {
            continue;
        }
        if (stream_unit(s, p) != 0) {
            return -1;
        }
    }
    return s->user->leave(s->user->ctx, th, n);
}

/* The run's kept units: where each one's first call goes. */
static int
find_places(struct stream *s, const struct ft_view *v)
{
    static const struct ft_tree_visit none = {NULL, first_enter, first_leave};

    s->p = calloc(v->units.n + 1, sizeof(*s->p));
    if (s->p == NULL) {
        ft_cli_err(s->cmd, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < v->units.n; i++) {
        const struct ft_unit_ent *e = &v->units.v[i];
        struct ft_tree_visit first = none;
        struct ft_tree *ut = NULL;
        char err[PATH_MAX + 256];
        /* Units of the runs this run started (pytest-xdist's workers) ran elsewhere. */
        if (e->tree == NULL || strcmp(e->run, s->names->run ? s->names->run : "") != 0) {
            continue;
        }
        s->p[s->n].tree = e->tree;
        first.ctx = &s->p[s->n];
        if (ft_tree_stream(e->tree, s->flags, s->names, &first, &ut, err, sizeof(err)) == 0) {
            s->n++; /* a tree that cannot be read (removed since) is left out */
        }
        if (ut != NULL) {
            ft_tree_free(ut);
        }
    }
    return 0;
}

static int
stream_run(struct stream *s, struct ft_view *v)
{
    struct ft_tree_visit run = {s, run_enter, run_leave};
    char path[PATH_MAX + 16], err[PATH_MAX + 256];
    int rc;

    snprintf(path, sizeof(path), "%s/tree.json", v->rundir);
    if (ft_tree_load_header(path, &v->run_hdr, err, sizeof(err)) != 0) {
        ft_cli_err(s->cmd, "%s", err);
        return -1;
    }
    s->names = v->run_hdr;
    v->sources = v->run_hdr->sources;
    if ((rc = find_places(s, v)) != 0 || (rc = stream_file(s, path, &run, &v->t)) != 0) {
        return rc;
    }
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        if (!s->p[i].done) {
            rc = stream_unit(s, &s->p[i]); /* at the top level */
        }
    }
    return rc;
}

int
ft_view_stream(const char *cmd, const char *dir, const char *run, const char *unit, int flags,
               const struct ft_tree_visit *visit, struct ft_view *v)
{
    struct stream s = {cmd, visit, NULL, flags, NULL, 0};
    const struct ft_unit_ent *e;
    int rc;

    memset(v, 0, sizeof(*v));
    if ((rc = ft_units_read_family(cmd, dir, run, v->rundir, sizeof(v->rundir), &v->units)) !=
        FT_EXIT_OK) {
        return rc;
    }
    if (unit == NULL) {
        rc = stream_run(&s, v) == 0 ? FT_EXIT_OK : FT_EXIT_FAIL;
    } else if ((rc = ft_view_find_unit(cmd, v, unit, &e)) == FT_EXIT_OK) {
        v->unit = e;
        rc = stream_file(&s, e->tree, visit, &v->t) == 0 ? FT_EXIT_OK : FT_EXIT_FAIL;
    }
    for (size_t i = 0; i < s.n; i++) {
        free(s.p[i].thread);
    }
    free(s.p);
    return rc;
}
