/* view.c - a run with its units put back where they ran, or one unit alone (view.h). */
#include "view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graft.h"
#include "lib/err.h"
#include "tree.h"

static int
load(const char *cmd, const char *path, int flags, struct ft_tree **t)
{
    char err[PATH_MAX + 256];

    if (ft_tree_load_flags(path, flags, t, err, sizeof(err)) != 0) {
        ft_cli_err(cmd, "%s", err);
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}

int
ft_view_find_unit(const char *cmd, const struct ft_view *v, const char *spec,
                  const struct ft_unit_ent **out)
{
    const struct ft_unit_ent *e;
    int rc = ft_units_find(&v->units, *spec ? spec : NULL, &e);

    if (rc == FT_EBADUSAGE) {
        ft_cli_err(cmd, "unit %s is in several runs of %s: give its name, or the run it is in",
                   spec, v->rundir);
        return FT_EXIT_USAGE;
    }
    if (rc != 0) {
        ft_cli_err(cmd, *spec ? "no unit '%s' in %s" : "no failed unit in %s%s", spec, v->rundir);
        return FT_EXIT_FAIL;
    }
    if (e->tree == NULL) {
        ft_cli_err(cmd,
                   "unit %llu (%s, %s) has no tree: its files were not kept (--keep failed "
                   "keeps failed units' only, --sample a share of the others, an output error "
                   "none; --keep all keeps every one)",
                   (unsigned long long)e->id, e->name, e->outcome);
        return FT_EXIT_FAIL;
    }
    *out = e;
    return FT_EXIT_OK;
}

static int
load_unit(const char *cmd, struct ft_view *v, const char *spec, int flags)
{
    const struct ft_unit_ent *e;
    char path[PATH_MAX + 16], err[PATH_MAX + 256];
    int rc = ft_view_find_unit(cmd, v, spec, &e);
    size_t k;

    if (rc != FT_EXIT_OK) {
        return rc;
    }
    if (load(cmd, e->tree, flags, &v->t) != FT_EXIT_OK) {
        return FT_EXIT_FAIL;
    }
    v->sources = v->t->sources;
    snprintf(path, sizeof(path), "%s/tree.json", v->rundir);
    if (v->sources == NULL && ft_tree_load_header(path, &v->run_hdr, err, sizeof(err)) == 0) {
        v->sources = v->run_hdr->sources; /* kept sources are the run's */
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
graft_units(const char *cmd, struct ft_view *v, int flags)
{
    v->parts = calloc(v->units.n + 1, sizeof(struct ft_tree *));
    if (v->parts == NULL) {
        ft_cli_err(cmd, "out of memory");
        return FT_EXIT_FAIL;
    }
    for (size_t i = 0; i < v->units.n; i++) {
        char err[PATH_MAX + 256];
        struct ft_tree *u;
        /* Units of the runs this run started (pytest-xdist's workers) ran elsewhere. */
        if (v->units.v[i].tree == NULL || strcmp(v->units.v[i].run, v->t->run) != 0 ||
            ft_tree_load_shared(v->units.v[i].tree, flags, v->t, &u, err, sizeof(err)) != 0) {
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
    return ft_view_load_flags(cmd, dir, run, unit, 0, v);
}

int
ft_view_load_flags(const char *cmd, const char *dir, const char *run, const char *unit, int flags,
                   struct ft_view *v)
{
    char path[PATH_MAX + 16];
    int rc;

    memset(v, 0, sizeof(*v));
    rc = ft_units_read_family(cmd, dir, run, v->rundir, sizeof(v->rundir), &v->units);
    if (rc != FT_EXIT_OK) {
        return rc;
    }
    v->roots = calloc(v->units.n + 1, sizeof(struct ft_node *));
    if (v->roots == NULL) {
        ft_cli_err(cmd, "out of memory");
        return FT_EXIT_FAIL;
    }
    if (unit != NULL) {
        return load_unit(cmd, v, unit, flags);
    }
    snprintf(path, sizeof(path), "%s/tree.json", v->rundir);
    if ((rc = load(cmd, path, flags, &v->t)) != FT_EXIT_OK) {
        return rc;
    }
    v->sources = v->t->sources;
    return graft_units(cmd, v, flags);
}

void
ft_view_free(struct ft_view *v)
{
    /* The units' trees hold nodes the run's tree links, and their names are in the run
     * tree's tables (ft_tree_load_shared): all go together, nothing walks them after. */
    for (size_t i = 0; i < v->nparts; i++) {
        ft_tree_free(v->parts[i]);
    }
    if (v->t != NULL) {
        ft_tree_free(v->t);
    }
    if (v->run_hdr != NULL) {
        ft_tree_free(v->run_hdr);
    }
    free(v->parts);
    free(v->roots);
    ft_units_free(&v->units);
    memset(v, 0, sizeof(*v));
}
