/* verdict.c - what failed outside any unit of work (verdict.h). */
#define _GNU_SOURCE
#include "verdict.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "lib/buf.h"
#include "lib/script.h"
#include "tree.h"
#include "units.h"

static int
add(struct ft_verdict *v, int import, const char *name, const char *file, const char *type,
    const char *message)
{
    struct ft_outside *nv = realloc(v->v, (v->n + 1) * sizeof(*nv)), *o;

    if (nv == NULL) {
        return -ENOMEM;
    }
    v->v = nv;
    o = &v->v[v->n];
    o->import = import;
    o->name = strdup(name);
    o->file = file != NULL ? strdup(file) : NULL;
    o->type = strdup(type);
    o->message = message != NULL ? strdup(message) : NULL;
    v->n++;
    if (o->name == NULL || o->type == NULL || (file && !o->file) || (message && !o->message)) {
        return -ENOMEM;
    }
    return 0;
}

static int
known_file(const struct ft_verdict *v, const char *file)
{
    for (size_t i = 0; i < v->n; i++) {
        if (v->v[i].file != NULL && strcmp(v->v[i].file, file) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Whether n is the import of a module that raised, made by code out of the trace (the
 * test runner's collection) or by the main script itself (pytest's console script). */
static int
import_failed(const struct ft_node *n)
{
    const struct ft_node *p = n->parent;

    if (n->exc_type == NULL || n->function == NULL || strcmp(n->function, "<module>") != 0 ||
        n->module == NULL || strcmp(n->module, "__main__") == 0 || n->file == NULL) {
        return 0;
    }
    return p == NULL || (p->function != NULL && strcmp(p->function, "<module>") == 0 &&
                         p->module != NULL && strcmp(p->module, "__main__") == 0);
}

static int
add_import(struct ft_verdict *v, const struct ft_node *n)
{
    int known;

    if (!import_failed(n) || known_file(v, n->file)) {
        return 0;
    }
    known = strcmp(n->exc_type, "?") != 0;
    return add(v, 1, n->module, n->file, known ? n->exc_type : "ImportError",
               known ? n->exc_msg : "the import raised (details not recorded)");
}

/* The modules of one run's tree whose import failed, outside any unit. Units' calls are
 * not in the run's tree.json: every call read here is outside them. */
static int
failed_imports(const struct ft_run_entry *r, struct ft_verdict *v)
{
    char path[PATH_MAX + 16], err[PATH_MAX + 256];
    struct ft_tree *t;
    int rc = 0;

    snprintf(path, sizeof(path), "%s/tree.json", r->path);
    if (ft_tree_load_flags(path, FT_TREE_NO_VALUES | FT_TREE_SHALLOW, &t, err, sizeof(err)) != 0) {
        return 0;
    }
    for (size_t i = 0; i < t->nthreads && rc == 0; i++) {
        for (const struct ft_node *top = t->threads[i].first; top && rc == 0; top = top->next) {
            rc = add_import(v, top);
            for (const struct ft_node *n = top->first_child; n != NULL && rc == 0; n = n->next) {
                rc = add_import(v, n);
            }
        }
    }
    ft_tree_free(t);
    return rc;
}

static int
is_pytest(const struct ft_run_entry *r)
{
    for (size_t i = 0; i < r->argc; i++) {
        const char *base = strrchr(r->argv[i], '/');
        base = base != NULL ? base + 1 : r->argv[i];
        if (strncmp(base, "pytest", 6) == 0 || strncmp(base, "py.test", 7) == 0) {
            return 1;
        }
    }
    return 0;
}

/* What pytest's exit statuses mean (pytest.ExitCode). */
static const char *
pytest_meaning(int status)
{
    static const char *const meaning[] = {
        NULL,
        "tests failed",
        "interrupted (by the user, or by errors during collection)",
        "internal error",
        "usage error (command line)",
        "no tests were collected",
    };

    return status >= 0 && status <= 5 ? meaning[status] : NULL;
}

static int
failed_unit_had(const struct ft_units *u, const char *type, const char *msg)
{
    for (size_t i = 0; i < u->n; i++) {
        const struct ft_unit_ent *e = &u->v[i];
        if (e->failed && e->exc_type != NULL && strcmp(e->exc_type, type) == 0 &&
            (msg == NULL || e->exc_msg == NULL || strcmp(e->exc_msg, msg) == 0)) {
            return 1;
        }
    }
    return 0;
}

/* The run itself, when nothing else explains how it ended. */
static int
the_run(const struct ft_run_entry *r, const struct ft_units *u, struct ft_verdict *v,
        size_t failed_units)
{
    char script[256], type[64], *joined = NULL;
    const char *ended = r->ended != NULL ? r->ended : "?", *msg = NULL;
    size_t len = 0;
    int exc = strcmp(ended, "exception") == 0, exited = strcmp(ended, "exit") == 0;
    FILE *f = open_memstream(&joined, &len);

    if (f == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->argc; i++) {
        fwrite(r->argv[i], 1, strlen(r->argv[i]) + 1, f);
    }
    fclose(f);
    ft_script_name(joined != NULL ? joined : "", len, script, sizeof(script));
    free(joined);
    if (exc) {
        /* The tree's header has the exception; a failed unit may have had it first. */
        char path[PATH_MAX + 16], err[PATH_MAX + 256];
        struct ft_tree *t;
        int rc = 0;
        snprintf(path, sizeof(path), "%s/tree.json", r->path);
        if (ft_tree_load_header(path, &t, err, sizeof(err)) != 0) {
            return add(v, 0, script, NULL, "uncaught exception", NULL);
        }
        if (t->exc_type == NULL || !failed_unit_had(u, t->exc_type, t->exc_msg)) {
            rc = add(v, 0, script, NULL, t->exc_type ? t->exc_type : "uncaught exception",
                     t->exc_msg);
        }
        ft_tree_free(t);
        return rc;
    }
    if (exited && r->have_exit_code && (r->exit_code < 3 || !is_pytest(r)) &&
        (failed_units > 0 || v->n > 0)) {
        return 0; /* failed tests, or modules that did not import, say why */
    }
    if (exited && r->have_exit_code) {
        snprintf(type, sizeof(type), "exit status %d", r->exit_code);
        msg = is_pytest(r) ? pytest_meaning(r->exit_code) : NULL;
    } else if (strcmp(ended, "signal") == 0) {
        snprintf(type, sizeof(type), "signal %d", r->signal);
    } else {
        snprintf(type, sizeof(type), "%s", ended); /* os._exit, killed, detached */
        msg = r->have_exit_code && r->exit_code == 0 ? NULL : "the program did not exit normally";
    }
    return add(v, 0, script, NULL, type, msg);
}

int
ft_verdict_load(const struct ft_catalog *c, const struct ft_run_entry *root,
                const struct ft_units *u, struct ft_verdict *out)
{
    size_t failed_units = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (ft_catalog_ok(root)) {
        return 0;
    }
    for (size_t i = 0; i < u->n; i++) {
        failed_units += (size_t)u->v[i].failed;
    }
    rc = failed_imports(root, out);
    /* Oldest first, as the runs were started: pytest-xdist's workers collect too. */
    for (size_t i = c->n; rc == 0 && i-- > 0;) {
        const struct ft_run_entry *r = &c->runs[i];
        if (r->complete && ft_catalog_descends(c, r, root)) {
            rc = failed_imports(r, out);
        }
    }
    if (rc == 0) {
        rc = the_run(root, u, out, failed_units);
    }
    if (rc != 0) {
        ft_verdict_free(out);
    }
    return rc;
}

void
ft_verdict_free(struct ft_verdict *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->v[i].name);
        free(v->v[i].file);
        free(v->v[i].type);
        free(v->v[i].message);
    }
    free(v->v);
    memset(v, 0, sizeof(*v));
}
