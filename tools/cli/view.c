/* view.c - a run with its units put back where they ran, or one unit alone (view.h). */
#include "view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graft.h"
#include "tree.h"

static int
load(const char *cmd, const char *path, struct ft_tree **t)
{
    char err[PATH_MAX + 256];

    if (ft_tree_load(path, t, err, sizeof(err)) != 0) {
        ft_cli_err(cmd, "%s", err);
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}

static int
load_unit(const char *cmd, struct ft_view *v, const char *spec)
{
    const struct ft_unit_ent *e = ft_units_pick(&v->units, *spec ? spec : NULL);
    size_t k;

    if (e == NULL) {
        ft_cli_err(cmd, *spec ? "no unit '%s' in %s" : "no failed unit in %s%s", spec, v->rundir);
        return FT_EXIT_FAIL;
    }
    if (e->tree == NULL) {
        ft_cli_err(cmd,
                   "unit %llu (%s, %s) has no tree: only failed units' are kept (--keep all "
                   "keeps every one)",
                   (unsigned long long)e->id, e->name, e->outcome);
        return FT_EXIT_FAIL;
    }
    if (load(cmd, e->tree, &v->t) != FT_EXIT_OK) {
        return FT_EXIT_FAIL;
    }
    k = (size_t)(e - v->units.v);
    v->unit = e;
    v->roots[k] = v->t->nthreads > 0 ? v->t->threads[0].first : NULL;
    for (size_t i = 1; v->roots[k] == NULL && i < v->t->nthreads; i++) {
        v->roots[k] = v->t->threads[i].first;
    }
    return FT_EXIT_OK;
}

/* Every kept unit's tree, grafted into the run's. A tree that cannot be read (removed
 * since) leaves its unit without a call. */
static int
graft_units(const char *cmd, struct ft_view *v)
{
    v->parts = calloc(v->units.n + 1, sizeof(struct ft_tree *));
    if (v->parts == NULL) {
        ft_cli_err(cmd, "out of memory");
        return FT_EXIT_FAIL;
    }
    for (size_t i = 0; i < v->units.n; i++) {
        char err[PATH_MAX + 256];
        struct ft_tree *u;
        if (v->units.v[i].tree == NULL ||
            ft_tree_load(v->units.v[i].tree, &u, err, sizeof(err)) != 0) {
            continue;
        }
        v->parts[v->nparts++] = u;
        if (ft_graft_unit(v->t, u, &v->roots[i]) != 0) {
            ft_cli_err(cmd, "out of memory");
            return FT_EXIT_FAIL;
        }
    }
    return FT_EXIT_OK;
}

int
ft_view_load(const char *cmd, const char *dir, const char *run, const char *unit, struct ft_view *v)
{
    char err[PATH_MAX + 256], path[PATH_MAX + 16];
    int rc;

    memset(v, 0, sizeof(*v));
    if ((rc = ft_cli_find_run(cmd, dir, run, v->rundir, sizeof(v->rundir))) != FT_EXIT_OK) {
        return rc;
    }
    if (ft_units_read(v->rundir, &v->units, err, sizeof(err)) != 0) {
        ft_cli_err(cmd, "%s", err);
        return FT_EXIT_FAIL;
    }
    v->roots = calloc(v->units.n + 1, sizeof(struct ft_node *));
    if (v->roots == NULL) {
        ft_cli_err(cmd, "out of memory");
        return FT_EXIT_FAIL;
    }
    if (unit != NULL) {
        return load_unit(cmd, v, unit);
    }
    snprintf(path, sizeof(path), "%s/tree.json", v->rundir);
    if ((rc = load(cmd, path, &v->t)) != FT_EXIT_OK) {
        return rc;
    }
    return graft_units(cmd, v);
}

void
ft_view_free(struct ft_view *v)
{
    /* The run's tree links nodes of the units' trees: freed first, nothing walks it after. */
    if (v->t != NULL) {
        ft_tree_free(v->t);
    }
    for (size_t i = 0; i < v->nparts; i++) {
        ft_tree_free(v->parts[i]);
    }
    free(v->parts);
    free(v->roots);
    ft_units_free(&v->units);
    memset(v, 0, sizeof(*v));
}
