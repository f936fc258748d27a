/* catalog.c - runs of an output directory: the index's rows, plus a directory scan. */
#define _GNU_SOURCE
#include "catalog.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#include "lib/err.h"
#include "lib/index.h"
#include "lib/rfile.h"
#include "tree.h"

static int
add_entry(struct ft_catalog *c, size_t *cap, struct ft_run_entry **out)
{
    if (c->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct ft_run_entry *nr = realloc(c->runs, ncap * sizeof(*nr));
        if (nr == NULL) {
            return -ENOMEM;
        }
        c->runs = nr;
        *cap = ncap;
    }
    *out = &c->runs[c->n++];
    memset(*out, 0, sizeof(**out));
    return 0;
}

static char *
dup_or_null(const char *s, int *oom)
{
    char *d;

    if (s == NULL) {
        return NULL;
    }
    if ((d = strdup(s)) == NULL) {
        *oom = 1;
    }
    return d;
}

/* Whether the run dir/name has file, plain or zstd (file.zst). */
static int
is_file(const char *dir, const char *name, const char *file)
{
    char path[PATH_MAX], found[PATH_MAX + 8];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return ft_rfile_find(path, file, found, sizeof(found)) == 0;
}

/* argv from the index: a JSON array of strings. */
static void
argv_from_json(struct ft_run_entry *e, const char *json, int *oom)
{
    yajl_val v = json != NULL ? yajl_tree_parse(json, NULL, 0) : NULL;

    if (YAJL_IS_ARRAY(v) && v->u.array.len > 0) {
        e->argv = calloc(v->u.array.len, sizeof(*e->argv));
        for (size_t i = 0; e->argv != NULL && i < v->u.array.len; i++) {
            const char *s = YAJL_GET_STRING(v->u.array.values[i]);
            e->argv[e->argc++] = dup_or_null(s != NULL ? s : "", oom);
        }
        *oom |= e->argv == NULL;
    }
    yajl_tree_free(v);
}

static int
from_index(struct ft_catalog *c, size_t *cap, const char *dir, const struct ft_index_list *l)
{
    int oom = 0;

    for (size_t i = 0; i < l->n && !oom; i++) {
        const struct ft_index_run *r = &l->runs[i];
        struct ft_run_entry *e;
        char path[PATH_MAX];
        /* A run removed since it was indexed is gone for the user too. */
        if (r->dir == NULL || !is_file(dir, r->dir, "tree.json")) {
            continue;
        }
        if (add_entry(c, cap, &e) != 0) {
            return -ENOMEM;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, r->dir);
        e->id = dup_or_null(r->id, &oom);
        e->path = dup_or_null(path, &oom);
        e->parent_run = dup_or_null(r->parent_run, &oom);
        e->python = dup_or_null(r->python, &oom);
        e->ended = dup_or_null(r->ended, &oom);
        argv_from_json(e, r->argv_json, &oom);
        e->pid = r->pid;
        e->start_us = r->start_us;
        e->duration_us = r->duration_us;
        e->calls = r->calls;
        e->lost = r->lost;
        e->have_exit_code = r->have_exit_code;
        e->exit_code = r->exit_code;
        e->signal = r->signal;
        e->complete = 1;
    }
    return oom ? -ENOMEM : 0;
}

/* A run id starts with its local start time, YYYYMMDD-HHMMSS: the only time an
 * unfinished run has. */
static uint64_t
start_from_id(const char *id)
{
    struct tm tm = {0};
    const char *end = strptime(id, "%Y%m%d-%H%M%S", &tm);
    time_t t;

    if (end == NULL) {
        return 0;
    }
    tm.tm_isdst = -1;
    t = mktime(&tm);
    return t < 0 ? 0 : (uint64_t)t * 1000000u;
}

static int
from_tree_head(struct ft_run_entry *e, const char *path)
{
    char file[PATH_MAX + 16], err[256];
    struct ft_tree *t;
    int oom = 0;

    snprintf(file, sizeof(file), "%s/tree.json", path);
    if (ft_tree_load_header(file, &t, err, sizeof(err)) != 0) {
        return -1;
    }
    e->parent_run = dup_or_null(t->parent_run, &oom);
    e->python = dup_or_null(t->python, &oom);
    e->ended = dup_or_null(t->ended, &oom);
    if (t->argc > 0 && (e->argv = calloc(t->argc, sizeof(*e->argv))) != NULL) {
        for (size_t i = 0; i < t->argc; i++) {
            e->argv[e->argc++] = dup_or_null(t->argv[i], &oom);
        }
    }
    e->pid = t->pid;
    e->start_us = (uint64_t)t->start_us;
    e->duration_us = (uint64_t)t->dur_us;
    e->calls = t->calls;
    e->lost = t->lost;
    e->have_exit_code = t->have_exit_code;
    e->exit_code = t->exit_code;
    e->signal = t->signal;
    e->complete = 1;
    ft_tree_free(t);
    return oom ? -ENOMEM : 0;
}

static int
known(const struct ft_catalog *c, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(c->runs[i].id, id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Run directories the index does not have. */
static int
scan(struct ft_catalog *c, size_t *cap, const char *dir, DIR *d)
{
    size_t indexed = c->n;
    struct dirent *de;
    int oom = 0;

    while ((de = readdir(d)) != NULL && !oom) {
        struct ft_run_entry *e;
        char path[PATH_MAX];
        int complete = is_file(dir, de->d_name, "tree.json");
        if (de->d_name[0] == '.' || known(c, indexed, de->d_name)) {
            continue;
        }
        /* .live alone: a run whose events.jsonl is about to be made. */
        if (!complete && !is_file(dir, de->d_name, "events.jsonl") &&
            !is_file(dir, de->d_name, "raw.ftb") && !is_file(dir, de->d_name, ".live")) {
            continue; /* not a run */
        }
        if (add_entry(c, cap, &e) != 0) {
            return -ENOMEM;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        e->id = dup_or_null(de->d_name, &oom);
        e->path = dup_or_null(path, &oom);
        /* A run still being written reads as its tree so far (lib/rfile.h). */
        enum ft_run_state state = complete ? FT_RUN_COMPLETE : ft_rfile_state(path);
        e->running = state == FT_RUN_RUNNING;
        e->nothing = state == FT_RUN_NOTHING;
        if ((!complete && !e->running) || from_tree_head(e, path) != 0) {
            /* Unfinished, or a tree.json that does not read: listed, never opened. */
            e->complete = 0;
            e->start_us = start_from_id(de->d_name);
        } else if (e->running) {
            e->complete = 0;
        }
    }
    return oom ? -ENOMEM : 0;
}

static int
newest_first(const void *a, const void *b)
{
    const struct ft_run_entry *x = a, *y = b;

    if (x->start_us != y->start_us) {
        return x->start_us < y->start_us ? 1 : -1;
    }
    return strcmp(y->id, x->id);
}

int
ft_catalog_load(const char *dir, struct ft_catalog *c, char *err, size_t cap)
{
    struct ft_index_list list;
    size_t rcap = 0;
    DIR *d;
    int rc;

    memset(c, 0, sizeof(*c));
    if ((d = opendir(dir)) == NULL) {
        rc = -errno;
        snprintf(err, cap, "cannot open output directory '%s': %s", dir, strerror(errno));
        return rc;
    }
    rc = ft_index_list(dir, &list, err, cap);
    if (rc == 0) {
        c->indexed = 1;
        rc = from_index(c, &rcap, dir, &list);
        ft_index_list_free(&list);
    } else if (rc != -ENOMEM) {
        if (rc != FT_ENOTFOUND && (c->index_error = strdup(err)) == NULL) {
            rc = -ENOMEM;
        } else {
            rc = 0; /* no index, or one that does not read: the scan finds every run */
        }
    }
    if (rc == 0) {
        rc = scan(c, &rcap, dir, d);
    }
    closedir(d);
    if (rc == -ENOMEM) {
        snprintf(err, cap, "%s: out of memory", dir);
    }
    if (rc != 0) {
        ft_catalog_free(c);
        return rc;
    }
    if (c->n > 0) {
        qsort(c->runs, c->n, sizeof(*c->runs), newest_first);
    }
    return 0;
}

void
ft_catalog_free(struct ft_catalog *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct ft_run_entry *e = &c->runs[i];
        free(e->id);
        free(e->path);
        free(e->parent_run);
        free(e->python);
        free(e->ended);
        for (size_t k = 0; k < e->argc; k++) {
            free(e->argv[k]);
        }
        free(e->argv);
    }
    free(c->runs);
    free(c->index_error);
    memset(c, 0, sizeof(*c));
}

static const struct ft_run_entry *
latest(const struct ft_catalog *c)
{
    const struct ft_run_entry *any = NULL;

    for (size_t i = 0; i < c->n; i++) {
        const struct ft_run_entry *e = &c->runs[i];
        if (!e->complete && !e->running) {
            continue;
        }
        if (e->parent_run == NULL) {
            return e;
        }
        if (any == NULL) {
            any = e;
        }
    }
    return any;
}

int
ft_catalog_find(const struct ft_catalog *c, const char *run, const struct ft_run_entry **out,
                char *err, size_t cap)
{
    const struct ft_run_entry *found = NULL;
    size_t matches = 0, n = run != NULL ? strlen(run) : 0;

    if (run == NULL) {
        if ((*out = latest(c)) == NULL) {
            snprintf(err, cap, "no complete runs");
            return FT_ENOTFOUND;
        }
        return 0;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->runs[i].id, run) == 0) {
            *out = &c->runs[i];
            return 0;
        }
        if (n > 0 && strncmp(c->runs[i].id, run, n) == 0) {
            found = &c->runs[i];
            matches++;
        }
    }
    if (matches == 0) {
        snprintf(err, cap, "no run '%s'", run);
        return FT_ENOTFOUND;
    }
    if (matches > 1) {
        snprintf(err, cap, "'%s' matches %zu runs; give more of the id", run, matches);
        return FT_EBADUSAGE;
    }
    *out = found;
    return 0;
}

void
ft_catalog_status(const struct ft_run_entry *r, char *out, size_t cap)
{
    if (r->running) {
        snprintf(out, cap, "running");
    } else if (r->nothing) {
        snprintf(out, cap, "nothing recorded (writer died)");
    } else if (!r->complete) {
        snprintf(out, cap, "unfinished");
    } else if (r->ended != NULL && strcmp(r->ended, "signal") == 0) {
        snprintf(out, cap, "signal %d", r->signal);
    } else if (r->ended != NULL && strcmp(r->ended, "exit") != 0) {
        snprintf(out, cap, "%s", r->ended);
    } else if (r->have_exit_code) {
        snprintf(out, cap, "exit %d", r->exit_code);
    } else {
        snprintf(out, cap, "%s", r->ended != NULL ? r->ended : "?");
    }
}

int
ft_catalog_ok(const struct ft_run_entry *r)
{
    if (!r->complete || r->ended == NULL) {
        return 0;
    }
    if (strcmp(r->ended, "exec") == 0) {
        return 1;
    }
    /* Recording stopped before the process ended (flowtrace attach, the region API): as
     * intended when nothing was lost; a writer lost on the way loses events. */
    if (strcmp(r->ended, "detached") == 0) {
        return r->lost == 0;
    }
    return (strcmp(r->ended, "exit") == 0 || strcmp(r->ended, "os._exit") == 0) &&
           r->have_exit_code && r->exit_code == 0;
}

const struct ft_run_entry *
ft_catalog_parent(const struct ft_catalog *c, const struct ft_run_entry *r)
{
    if (r->parent_run == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->runs[i].id, r->parent_run) == 0) {
            return &c->runs[i];
        }
    }
    return NULL;
}

int
ft_catalog_descends(const struct ft_catalog *c, const struct ft_run_entry *r,
                    const struct ft_run_entry *root)
{
    const struct ft_run_entry *p = r;

    /* Parent links come from files: a loop among them ends after c->n steps. */
    for (size_t steps = 0; steps <= c->n; steps++) {
        p = ft_catalog_parent(c, p);
        if (p == NULL || p == root) {
            return p == root;
        }
    }
    return 0;
}

int
ft_catalog_stopped_by_parent(const struct ft_catalog *c, const struct ft_run_entry *r)
{
    const struct ft_run_entry *p = ft_catalog_parent(c, r);

    return r->complete && r->ended != NULL && strcmp(r->ended, "signal") == 0 &&
           r->signal == SIGTERM && p != NULL && ft_catalog_ok(p) &&
           r->start_us + r->duration_us <= p->start_us + p->duration_us;
}
