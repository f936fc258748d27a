/* index.c - the runs index in SQLite: schema, the writer's insert, the CLI's listing. */
#define _GNU_SOURCE
#include "index.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/ownfile.h"
#include "lib/wire.h"

/* "FTrx" in PRAGMA application_id tells our file from any other SQLite database. */
#define APP_ID    0x46547278
#define PUT_TRIES 5

/* Version 1. A later version adds tables or columns here, each statement idempotent. */
static const char schema_v1[] = "CREATE TABLE IF NOT EXISTS runs ("
                                " id TEXT PRIMARY KEY,"
                                " parent_run TEXT,"
                                " pid INTEGER, ppid INTEGER,"
                                " script TEXT, argv TEXT, cwd TEXT, python TEXT,"
                                " start_us INTEGER, duration_us INTEGER,"
                                " ended TEXT, exit_code INTEGER, signal INTEGER,"
                                " calls INTEGER, events INTEGER, lost INTEGER,"
                                " write_error TEXT,"
                                " dir TEXT, tree TEXT, events_file TEXT,"
                                " indexed_us INTEGER);"
                                "CREATE INDEX IF NOT EXISTS runs_by_start ON runs(start_us);"
                                "CREATE INDEX IF NOT EXISTS runs_by_parent ON runs(parent_run);";

/* Version 2: units of work inside runs (tests, requests), one row each. */
static const char schema_v2[] = "CREATE TABLE IF NOT EXISTS units ("
                                " run_id TEXT, unit_id INTEGER,"
                                " kind TEXT, name TEXT, outcome TEXT,"
                                " start_us INTEGER, duration_us INTEGER, calls INTEGER,"
                                " tree TEXT, events_file TEXT,"
                                " status_code INTEGER, request_id TEXT, method TEXT, path TEXT,"
                                " error TEXT, error_path TEXT,"
                                " PRIMARY KEY (run_id, unit_id));"
                                "CREATE INDEX IF NOT EXISTS units_by_outcome ON units(outcome);";

static const char insert_unit_sql[] =
    "INSERT OR REPLACE INTO units (run_id, unit_id, kind, name, outcome, start_us, duration_us,"
    " calls, tree, events_file, status_code, request_id, method, path, error, error_path)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

static const char insert_sql[] =
    "INSERT OR REPLACE INTO runs (id, parent_run, pid, ppid, script, argv, cwd, python,"
    " start_us, duration_us, ended, exit_code, signal, calls, events, lost, write_error,"
    " dir, tree, events_file, indexed_us)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
    " ?18, ?19, ?20, ?21)";

static const char select_sql[] =
    "SELECT id, parent_run, pid, ppid, script, argv, cwd, python, start_us, duration_us,"
    " ended, exit_code, signal, calls, events, lost, write_error, dir"
    " FROM runs ORDER BY start_us DESC, id DESC";

static int
code_of(int rc)
{
    switch (rc) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return FT_EFOREIGN;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_FULL:
        return -ENOSPC;
    default:
        return -EIO;
    }
}

/* Sets err from the connection's last error and returns the matching code. */
static int
fail(sqlite3 *db, int rc, const char *path, char *err, size_t cap)
{
    int code = code_of(rc);
    const char *why = db != NULL && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db)
                      : rc == SQLITE_NOTADB                   ? "another program's SQLite database"
                                                              : sqlite3_errstr(rc);

    if (code == FT_EFOREIGN) {
        snprintf(err, cap, "%s is not a FlowTrace runs index (%s)", path, why);
    } else {
        snprintf(err, cap, "runs index %s: %s", path, why);
    }
    return code;
}

static int
exec_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK) {
        return rc;
    }
    rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Inside a write transaction: checks the file is ours (or new) and brings the schema up
 * to FT_INDEX_VERSION. Returns an SQLite code; SQLITE_NOTADB for someone else's file. */
static int
ensure_schema(sqlite3 *db)
{
    int app, version, tables, rc;
    char sql[96];

    if ((rc = exec_int(db, "PRAGMA application_id", &app)) != SQLITE_OK ||
        (rc = exec_int(db, "PRAGMA user_version", &version)) != SQLITE_OK ||
        (rc = exec_int(db, "SELECT count(*) FROM sqlite_master", &tables)) != SQLITE_OK) {
        return rc;
    }
    if (app != APP_ID && tables > 0) {
        return SQLITE_NOTADB;
    }
    if (app == APP_ID && version >= FT_INDEX_VERSION) {
        return SQLITE_OK; /* a newer writer's schema holds every column we write */
    }
    if ((rc = sqlite3_exec(db, schema_v1, NULL, NULL, NULL)) != SQLITE_OK ||
        (rc = sqlite3_exec(db, schema_v2, NULL, NULL, NULL)) != SQLITE_OK) {
        return rc;
    }
    snprintf(sql, sizeof(sql), "PRAGMA application_id=%d; PRAGMA user_version=%d", APP_ID,
             FT_INDEX_VERSION);
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s != NULL) {
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, i);
    }
}

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');

    return s != NULL ? s + 1 : path;
}

static int
insert(sqlite3 *db, const struct ft_run_info *info, const char *script, const char *argv_json)
{
    char tree[512], events[512];
    const char *dir = info->path != NULL ? base_name(info->path) : info->id;
    struct timespec now;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, insert_sql, -1, &st, NULL);

    if (rc != SQLITE_OK) {
        return rc;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(tree, sizeof(tree), "%s/tree.json", dir);
    snprintf(events, sizeof(events), "%s/events.jsonl", dir);
    bind_text(st, 1, info->id);
    bind_text(st, 2, info->parent_run);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)info->pid);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)info->ppid);
    bind_text(st, 5, script);
    bind_text(st, 6, argv_json);
    bind_text(st, 7, info->cwd);
    bind_text(st, 8, info->python);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)info->start_us);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)info->duration_us);
    bind_text(st, 11, ft_wire_end_name(info->how));
    if (info->have_status) {
        sqlite3_bind_int(st, 12, info->status);
    } else {
        sqlite3_bind_null(st, 12);
    }
    if (info->how == FT_END_SIGNAL) {
        sqlite3_bind_int(st, 13, info->signal);
    } else {
        sqlite3_bind_null(st, 13);
    }
    sqlite3_bind_int64(st, 14, (sqlite3_int64)info->calls);
    sqlite3_bind_int64(st, 15, (sqlite3_int64)info->events);
    sqlite3_bind_int64(st, 16, (sqlite3_int64)info->lost);
    bind_text(st, 17, info->write_err != 0 ? ft_strerror(info->write_err) : NULL);
    bind_text(st, 18, dir);
    bind_text(st, 19, tree);
    bind_text(st, 20, events);
    sqlite3_bind_int64(st, 21, (sqlite3_int64)now.tv_sec * 1000000 + now.tv_nsec / 1000);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
insert_unit(sqlite3_stmt *st, const char *run_dir, const struct ft_unit_row *u)
{
    char tree[512], events[512];

    sqlite3_reset(st);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)u->id);
    bind_text(st, 3, u->kind);
    bind_text(st, 4, u->name);
    bind_text(st, 5, u->outcome);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)u->start_us);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)u->duration_us);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)u->calls);
    snprintf(tree, sizeof(tree), "%s/%s", run_dir, u->tree ? u->tree : "");
    snprintf(events, sizeof(events), "%s/%s", run_dir, u->events ? u->events : "");
    bind_text(st, 9, u->tree ? tree : NULL);
    bind_text(st, 10, u->events ? events : NULL);
    if (u->status > 0) {
        sqlite3_bind_int(st, 11, u->status);
    } else {
        sqlite3_bind_null(st, 11);
    }
    bind_text(st, 12, u->request_id);
    bind_text(st, 13, u->method);
    bind_text(st, 14, u->path);
    bind_text(st, 15, u->error);
    bind_text(st, 16, u->error_path);
    return sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(sqlite3_db_handle(st));
}

static int
insert_units(sqlite3 *db, const struct ft_run_info *info)
{
    const char *dir = info->path != NULL ? base_name(info->path) : info->id;
    sqlite3_stmt *st;
    int rc;

    if (info->nrows == 0) {
        return SQLITE_OK;
    }
    if ((rc = sqlite3_prepare_v2(db, insert_unit_sql, -1, &st, NULL)) != SQLITE_OK) {
        return rc;
    }
    for (size_t i = 0; i < info->nrows && rc == SQLITE_OK; i++) {
        bind_text(st, 1, info->id);
        rc = insert_unit(st, dir, &info->rows[i]);
    }
    sqlite3_finalize(st);
    return rc;
}

/* One attempt: schema, the run's row and its units' in one IMMEDIATE transaction (the
 * write lock is taken first, so two writers never deadlock upgrading a read lock). */
static int
put_once(sqlite3 *db, const struct ft_run_info *info, const char *script, const char *argv_json)
{
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

    if (rc != SQLITE_OK) {
        return rc;
    }
    if ((rc = ensure_schema(db)) == SQLITE_OK &&
        (rc = insert(db, info, script, argv_json)) == SQLITE_OK &&
        (rc = insert_units(db, info)) == SQLITE_OK) {
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

static void
argv_to_json(const struct ft_run_info *info, struct ft_buf *b)
{
    const char *p = info->argv, *end = info->argv + info->argv_len;

    ft_buf_putc(b, '[');
    while (info->argv != NULL && p < end) {
        size_t n = strnlen(p, (size_t)(end - p));
        if (p != info->argv) {
            ft_buf_putc(b, ',');
        }
        ft_json_put_str(b, p, n);
        p += n + 1;
    }
    ft_buf_putc(b, ']');
    ft_buf_putc(b, '\0');
}

/* SQLite's own files beside the index: absent, or the user's. */
static int
own_companions(const char *path, char *err, size_t cap)
{
    static const char *suffix[] = {"-wal", "-shm", "-journal"};
    char other[4200];

    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        int rc;
        snprintf(other, sizeof(other), "%s%s", path, suffix[i]);
        if ((rc = ft_ownfile_check(other, err, cap)) != 0) {
            return rc;
        }
    }
    return 0;
}

/* Opens DIR/index.sqlite for writing, creating it first so that it, and the -wal/-shm
 * files SQLite derives from it, get the mode of every other output file; only the user's
 * own files, never through a link (lib/ownfile.h): the index holds every run's argv. */
static int
open_index(const char *dir, char *path, size_t pathcap, sqlite3 **db, int busy_ms, char *err,
           size_t cap)
{
    int fd, rc;

    *db = NULL;
    snprintf(path, pathcap, "%s/%s", dir, FT_INDEX_FILE);
    if ((rc = own_companions(path, err, cap)) != 0) {
        return rc;
    }
    fd = ft_ownfile_open(path, O_RDWR | O_CREAT, 0600, err, cap);
    if (fd < 0) {
        return fd;
    }
    close(fd);
    rc = sqlite3_open_v2(path, db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc != SQLITE_OK) {
        rc = fail(*db, rc, path, err, cap);
        sqlite3_close(*db);
        *db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(*db, busy_ms);
    return 0;
}

/* Switching a new index to WAL answers SQLITE_BUSY at once, without the busy handler,
 * while another writer holds it: the caller treats it as a busy transaction. */
static int
set_wal(sqlite3 *db)
{
    return sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
}

int
ft_index_put_run(const char *dir, const struct ft_run_info *info, const char *script, char *err,
                 size_t cap)
{
    char path[4096];
    struct ft_buf argv;
    sqlite3 *db;
    int rc;

    if ((rc = open_index(dir, path, sizeof(path), &db, FT_INDEX_BUSY_MS, err, cap)) != 0) {
        return rc;
    }
    ft_buf_init(&argv);
    argv_to_json(info, &argv);
    rc = argv.oom ? SQLITE_NOMEM : SQLITE_OK;
    for (int i = 0; rc == SQLITE_OK; i++) {
        if ((rc = set_wal(db)) == SQLITE_OK) {
            rc = put_once(db, info, script, argv.p);
        }
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || i + 1 == PUT_TRIES) {
            break;
        }
        usleep(20000u << i); /* the busy handler gave up: back off, then try again */
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK) {
        rc = fail(db, rc, path, err, cap);
    }
    ft_buf_free(&argv);
    sqlite3_close(db);
    return rc;
}

/* The units of every batch in one IMMEDIATE transaction, with the schema. */
static int
put_units_once(sqlite3 *db, const struct ft_index_units *runs, size_t nruns)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

    if (rc != SQLITE_OK) {
        return rc;
    }
    if ((rc = ensure_schema(db)) == SQLITE_OK) {
        rc = sqlite3_prepare_v2(db, insert_unit_sql, -1, &st, NULL);
    }
    for (size_t k = 0; k < nruns && rc == SQLITE_OK; k++) {
        const char *dir = runs[k].run_path != NULL ? base_name(runs[k].run_path) : runs[k].run_id;
        for (size_t i = 0; i < runs[k].n && rc == SQLITE_OK; i++) {
            sqlite3_reset(st); /* a statement stepped, not reset, refuses a new binding */
            bind_text(st, 1, runs[k].run_id);
            rc = insert_unit(st, dir, &runs[k].rows[i]);
        }
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

int
ft_index_put_units(const char *dir, const struct ft_index_units *runs, size_t nruns, char *err,
                   size_t cap)
{
    char path[4096];
    sqlite3 *db;
    int rc;

    if ((rc = open_index(dir, path, sizeof(path), &db, FT_INDEX_UNITS_BUSY_MS, err, cap)) != 0) {
        return rc;
    }
    if ((rc = set_wal(db)) == SQLITE_OK) {
        rc = put_units_once(db, runs, nruns);
    }
    if (rc != SQLITE_OK) {
        rc = fail(db, rc, path, err, cap);
    }
    sqlite3_close(db);
    return rc;
}

/* ---- Reading ------------------------------------------------------------------------ */

struct ft_index_priv {
    struct ft_buf strs; /* every string, NUL-terminated, referenced by offset until done */
};

/* The string fields of a row and the SELECT columns they come from. */
#define NSTRS 9
static const int str_cols[NSTRS] = {0, 1, 4, 5, 6, 7, 10, 16, 17};

static void
str_fields(struct ft_index_run *r, const char **out[NSTRS])
{
    const char **f[NSTRS] = {&r->id,     &r->parent_run, &r->script,      &r->argv_json, &r->cwd,
                             &r->python, &r->ended,      &r->write_error, &r->dir};

    memcpy(out, f, sizeof(f));
}

static int
read_rows(sqlite3 *db, struct ft_index_list *list)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int rc = sqlite3_prepare_v2(db, select_sql, -1, &st, NULL);

    if (rc != SQLITE_OK) {
        return rc;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (list->n == cap) {
            cap = cap ? cap * 2 : 64;
            struct ft_index_run *nr = realloc(list->runs, cap * sizeof(*nr));
            if (nr == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            list->runs = nr;
        }
        struct ft_index_run *r = &list->runs[list->n++];
        memset(r, 0, sizeof(*r));
        /* Strings are stored as offsets now and turned into pointers once the buffer
         * stops moving (fix_strings). */
        const char **strs[NSTRS];
        str_fields(r, strs);
        for (size_t k = 0; k < NSTRS; k++) {
            const char *s = (const char *)sqlite3_column_text(st, str_cols[k]);
            if (s == NULL) {
                continue;
            }
            *strs[k] = (const char *)(uintptr_t)(list->priv->strs.len + 1);
            ft_buf_put(&list->priv->strs, s, strlen(s) + 1);
        }
        r->pid = (uint64_t)sqlite3_column_int64(st, 2);
        r->ppid = (uint64_t)sqlite3_column_int64(st, 3);
        r->start_us = (uint64_t)sqlite3_column_int64(st, 8);
        r->duration_us = (uint64_t)sqlite3_column_int64(st, 9);
        r->have_exit_code = sqlite3_column_type(st, 11) != SQLITE_NULL;
        r->exit_code = sqlite3_column_int(st, 11);
        r->signal = sqlite3_column_int(st, 12);
        r->calls = (uint64_t)sqlite3_column_int64(st, 13);
        r->events = (uint64_t)sqlite3_column_int64(st, 14);
        r->lost = (uint64_t)sqlite3_column_int64(st, 15);
    }
    sqlite3_finalize(st);
    if (list->priv->strs.oom) {
        return SQLITE_NOMEM;
    }
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Offsets (1-based, 0 = NULL) into the string buffer become pointers. */
static void
fix_strings(struct ft_index_list *list)
{
    const char *base = list->priv->strs.p;

    for (size_t i = 0; i < list->n; i++) {
        const char **strs[NSTRS];
        str_fields(&list->runs[i], strs);
        for (size_t k = 0; k < NSTRS; k++) {
            if (*strs[k] != NULL) {
                *strs[k] = base + ((uintptr_t)*strs[k] - 1);
            }
        }
    }
}

/* Opens the read transaction that the checks and the rows share (read apart, a first
 * writer could commit in between: no application id yet, then its tables, "foreign"),
 * and checks the file is ours: *tables is 1 when it holds our runs table, 0 when it has
 * no table yet. Returns an SQLite code; SQLITE_NOTADB for someone else's database. */
static int
begin_read(sqlite3 *db, int *tables)
{
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), app = 0, any = 0;

    if (rc == SQLITE_OK) {
        rc = exec_int(db, "PRAGMA application_id", &app);
    }
    if (rc == SQLITE_OK) {
        rc = exec_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'", tables);
    }
    if (rc == SQLITE_OK && app != APP_ID) {
        rc = exec_int(db, "SELECT count(*) FROM sqlite_master", &any);
        if (rc == SQLITE_OK && any > 0) {
            rc = SQLITE_NOTADB;
        }
        *tables = 0;
    }
    return rc;
}

int
ft_index_list(const char *dir, struct ft_index_list *list, char *err, size_t cap)
{
    char path[4096];
    struct stat sb;
    sqlite3 *db = NULL;
    int rc, tables = 0;

    memset(list, 0, sizeof(*list));
    snprintf(path, sizeof(path), "%s/%s", dir, FT_INDEX_FILE);
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return FT_ENOTFOUND;
        }
        rc = -errno;
        snprintf(err, cap, "cannot read %s: %s", path, strerror(errno));
        return rc;
    }
    if (sb.st_size == 0) {
        return FT_ENOTFOUND; /* created by a writer that has not written a row yet */
    }
    if ((list->priv = calloc(1, sizeof(*list->priv))) == NULL) {
        snprintf(err, cap, "%s: out of memory", path);
        return -ENOMEM;
    }
    ft_buf_init(&list->priv->strs);
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, FT_INDEX_BUSY_MS);
        rc = begin_read(db, &tables);
    }
    if (rc == SQLITE_OK && tables == 0) {
        sqlite3_close(db);
        ft_index_list_free(list);
        return FT_ENOTFOUND;
    }
    if (rc == SQLITE_OK) {
        rc = read_rows(db, list);
    }
    if (rc != SQLITE_OK) {
        rc = fail(db, rc, path, err, cap);
        sqlite3_close(db);
        ft_index_list_free(list);
        return rc;
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL); /* a read: nothing to lose if it fails */
    sqlite3_close(db);
    fix_strings(list);
    return 0;
}

void
ft_index_list_free(struct ft_index_list *list)
{
    if (list->priv != NULL) {
        ft_buf_free(&list->priv->strs);
        free(list->priv);
    }
    free(list->runs);
    memset(list, 0, sizeof(*list));
}
