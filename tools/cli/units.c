/* units.c - a run's units of work, read from RUN/units.jsonl (units.h). */
#define _GNU_SOURCE
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "catalog.h"
#include "cli.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/rfile.h"

static char *str_path(yajl_val o, const char **path);

static char *
str_at(yajl_val o, const char *key)
{
    const char *path[] = {key, NULL};

    return str_path(o, path);
}

static char *
str_path(yajl_val o, const char **path)
{
    yajl_val v = yajl_tree_get(o, path, yajl_t_string);
    const char *s = v != NULL ? YAJL_GET_STRING(v) : NULL;

    return s != NULL ? strdup(s) : NULL;
}

static double
num_at(yajl_val o, const char *k1, const char *k2)
{
    const char *path[] = {k1, k2, NULL};
    yajl_val v = yajl_tree_get(o, path, yajl_t_number);

    return v != NULL ? YAJL_GET_DOUBLE(v) : 0;
}

static int
add_entry(struct ft_units *out, yajl_val o, const char *rundir)
{
    const char *path[] = {"exception", "type", NULL};
    const char *mpath[] = {"exception", "message", NULL};
    struct ft_unit_ent *e;
    char *tree;

    const char *slash = strrchr(rundir, '/');

    if (out->n == out->cap) {
        size_t nc = out->cap ? out->cap * 2 : 64;
        struct ft_unit_ent *nv = realloc(out->v, nc * sizeof(*nv));
        if (nv == NULL) {
            return -ENOMEM;
        }
        out->v = nv;
        out->cap = nc;
    }
    e = &out->v[out->n++];
    memset(e, 0, sizeof(*e));
    e->id = (uint64_t)num_at(o, "unit", NULL);
    e->run = str_at(o, "run");
    if (e->run == NULL) {
        e->run = strdup(slash != NULL ? slash + 1 : rundir);
    }
    e->start_us = num_at(o, "start", NULL);
    e->kind = str_at(o, "kind");
    e->name = str_at(o, "name");
    e->outcome = str_at(o, "outcome");
    e->duration_us = num_at(o, "durationMicros", NULL);
    e->calls = (uint64_t)num_at(o, "calls", NULL);
    e->status = (long)num_at(o, "status_code", NULL);
    e->request_id = str_at(o, "request_id");
    e->exc_path = str_at(o, "exceptionPath");
    e->exc_type = str_path(o, path);
    e->exc_msg = str_path(o, mpath);
    tree = str_at(o, "tree");
    if (tree != NULL && asprintf(&e->tree, "%s/%s", rundir, tree) < 0) {
        e->tree = NULL;
    }
    free(tree);
    e->failed = e->outcome != NULL &&
                (strcmp(e->outcome, "failed") == 0 || strcmp(e->outcome, "error") == 0);
    return e->name != NULL && e->outcome != NULL && e->run != NULL ? 0 : -EINVAL;
}

static ssize_t
rfile_reader(void *cookie, char *buf, size_t n)
{
    ssize_t got = ft_rfile_read(cookie, buf, n);

    return got < 0 ? -1 : got;
}

static int
rfile_closer(void *cookie)
{
    ft_rfile_close(cookie);
    return 0;
}

/* A stdio stream reading rf (which it owns from then on). */
static FILE *
rfile_stream(struct ft_rfile *rf)
{
    cookie_io_functions_t io = {rfile_reader, NULL, NULL, rfile_closer};
    FILE *f = fopencookie(rf, "r", io);

    if (f == NULL) {
        ft_rfile_close(rf);
    }
    return f;
}

/* Appends the units of rundir/units.jsonl to out. */
static int
append(const char *rundir, struct ft_units *out, char *err, size_t cap)
{
    char path[4200], *line = NULL;
    size_t lcap = 0, lineno = 0;
    struct ft_rfile *rf;
    FILE *f;
    int rc = 0;

    /* units.jsonl or units.jsonl.zst (lib/rfile.h), read whole into a stream. */
    snprintf(path, sizeof(path), "%s/units.jsonl", rundir);
    if ((rc = ft_rfile_open(&rf, rundir, "units.jsonl")) != 0) {
        if (rc == -ENOENT) {
            return 0;
        }
        snprintf(err, cap, "cannot read %s: %s", path, strerror(-rc));
        return -1;
    }
    f = rfile_stream(rf);
    if (f == NULL) {
        snprintf(err, cap, "cannot read %s: %s", path, strerror(ENOMEM));
        return -1;
    }
    out->nruns++;
    while (rc == 0 && getline(&line, &lcap, f) > 0) {
        char ebuf[256];
        yajl_val o = yajl_tree_parse(line, ebuf, sizeof(ebuf));
        lineno++;
        if (o == NULL || !YAJL_IS_OBJECT(o) || add_entry(out, o, rundir) != 0) {
            snprintf(err, cap, "%s:%zu: not a unit", path, lineno);
            rc = -1;
        }
        yajl_tree_free(o);
    }
    free(line);
    fclose(f);
    return rc;
}

int
ft_units_read(const char *rundir, struct ft_units *out, char *err, size_t cap)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = append(rundir, out, err, cap)) != 0) {
        ft_units_free(out);
    }
    return rc;
}

static int
by_start(const void *a, const void *b)
{
    const struct ft_unit_ent *x = a, *y = b;

    if (x->start_us != y->start_us) {
        return x->start_us < y->start_us ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

int
ft_units_of_family(const struct ft_catalog *c, const struct ft_run_entry *root,
                   struct ft_units *out, char *err, size_t cap)
{
    size_t own;

    memset(out, 0, sizeof(*out));
    if (append(root->path, out, err, cap) != 0) {
        goto fail;
    }
    own = out->n;
    /* The catalog is newest first: descendants are read oldest first. */
    for (size_t i = c->n; i-- > 0;) {
        const struct ft_run_entry *r = &c->runs[i];
        if (r->complete && ft_catalog_descends(c, r, root) && append(r->path, out, err, cap) != 0) {
            goto fail;
        }
    }
    if (out->n > own) {
        qsort(out->v + own, out->n - own, sizeof(*out->v), by_start);
    }
    return 0;
fail:
    ft_units_free(out);
    return -1;
}

int
ft_units_read_family(const char *cmd, const char *dir, const char *run, char *rundir, size_t cap,
                     struct ft_units *out)
{
    const struct ft_run_entry *root;
    struct ft_catalog c;
    char err[4400];
    int rc = ft_cli_find_run_in(cmd, dir, run, &c, &root);

    memset(out, 0, sizeof(*out));
    if (rc != FT_EXIT_OK) {
        return rc;
    }
    snprintf(rundir, cap, "%s", root->path);
    if (ft_units_of_family(&c, root, out, err, sizeof(err)) != 0) {
        ft_cli_err(cmd, "%s", err);
        rc = FT_EXIT_FAIL;
    }
    ft_catalog_free(&c);
    return rc;
}

void
ft_units_free(struct ft_units *u)
{
    for (size_t i = 0; i < u->n; i++) {
        struct ft_unit_ent *e = &u->v[i];
        free(e->run);
        free(e->kind);
        free(e->name);
        free(e->outcome);
        free(e->tree);
        free(e->exc_type);
        free(e->exc_msg);
        free(e->exc_path);
        free(e->request_id);
    }
    free(u->v);
    memset(u, 0, sizeof(*u));
}

/* The one unit whose name ends with spec after "::", "/" or a space (a test named without
 * its file: test_x[2]); NULL when none or several do. */
static const struct ft_unit_ent *
pick_by_end(const struct ft_units *u, const char *spec)
{
    const struct ft_unit_ent *found = NULL;
    size_t n = strlen(spec);

    for (size_t i = 0; n > 0 && i < u->n; i++) {
        const char *name = u->v[i].name;
        size_t len = strlen(name);
        if (len > n && strcmp(name + len - n, spec) == 0 &&
            strchr(":/ ", name[len - n - 1]) != NULL) {
            if (found != NULL) {
                return NULL;
            }
            found = &u->v[i];
        }
    }
    return found;
}

const struct ft_unit_ent *
ft_units_pick(const struct ft_units *u, const char *spec)
{
    char *end;
    unsigned long long id = spec != NULL ? strtoull(spec, &end, 10) : 0;
    int by_id = spec != NULL && *spec != '\0' && *end == '\0';

    for (size_t i = 0; i < u->n; i++) {
        const struct ft_unit_ent *e = &u->v[i];
        if (spec == NULL ? e->failed : by_id ? e->id == id : strcmp(e->name, spec) == 0) {
            return e;
        }
    }
    return spec != NULL && !by_id ? pick_by_end(u, spec) : NULL;
}

int
ft_units_find(const struct ft_units *u, const char *spec, const struct ft_unit_ent **out)
{
    char *end;
    unsigned long long id = spec != NULL ? strtoull(spec, &end, 10) : 0;
    int by_id = spec != NULL && *spec != '\0' && *end == '\0';
    size_t found = 0;

    *out = ft_units_pick(u, spec);
    if (*out == NULL) {
        return FT_ENOTFOUND;
    }
    for (size_t i = 0; by_id && i < u->n; i++) {
        found += u->v[i].id == id;
    }
    return found > 1 ? FT_EBADUSAGE : 0;
}

void
ft_unit_put_outcome(struct ft_buf *b, const struct ft_unit_ent *e)
{
    char dur[32];

    ft_cli_fmt_duration(e->duration_us, dur, sizeof(dur));
    if (e->status > 0) {
        ft_buf_printf(b, " -> %ld · %s", e->status, dur);
    } else {
        ft_buf_printf(b, " · %s · %s", e->outcome ? e->outcome : "?", dur);
    }
}
