/* test_index.c - the runs index: rows written by writers, read back newest first, shared
 * by concurrent writers, and every bad file reported instead of misread. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/index.h"
#include "lib/wire.h"

static char dir[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/ft-index-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static char *
path_of(const char *name)
{
    static char p[128];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

static struct ft_run_info
info_of(const char *id, uint64_t start_us)
{
    static const char argv[] = "/usr/bin/python3\0app.py\0--flag\0x \"y\"";
    struct ft_run_info info = {0};

    info.id = id;
    info.path = "/somewhere/else/ignored";
    info.argv = argv;
    info.argv_len = sizeof(argv);
    info.python = "3.11.2";
    info.cwd = "/work";
    info.pid = 4242;
    info.ppid = 4200;
    info.start_us = start_us;
    info.duration_us = 3593;
    info.how = FT_END_EXIT;
    info.have_status = 1;
    info.status = 3;
    info.calls = 6;
    info.events = 12;
    info.lost = 1;
    return info;
}

static void
put(const char *id, uint64_t start_us)
{
    struct ft_run_info info = info_of(id, start_us);
    char err[512] = "";

    info.path = NULL;
    assert_int_equal(ft_index_put_run(dir, &info, "app.py", err, sizeof(err)), 0);
}

static void
a_run_put_is_listed_with_every_field(void **state)
{
    struct ft_run_info info = info_of("20261122-101530-4242", 1795321998528740ull);
    struct ft_index_list list;
    struct stat st;
    char err[512] = "";

    (void)state;
    info.path = "/elsewhere/20261122-101530-4242";
    info.parent_run = "20261122-101529-4200";
    assert_int_equal(ft_index_put_run(dir, &info, "app.py", err, sizeof(err)), 0);
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), 0);
    assert_int_equal(list.n, 1);
    const struct ft_index_run *r = &list.runs[0];
    assert_string_equal(r->id, "20261122-101530-4242");
    assert_string_equal(r->parent_run, "20261122-101529-4200");
    assert_string_equal(r->script, "app.py");
    assert_string_equal(r->argv_json,
                        "[\"/usr/bin/python3\",\"app.py\",\"--flag\",\"x \\\"y\\\"\"]");
    assert_string_equal(r->cwd, "/work");
    assert_string_equal(r->python, "3.11.2");
    assert_string_equal(r->dir, "20261122-101530-4242"); /* relative to DIR */
    assert_string_equal(r->ended, "exit");
    assert_true(r->have_exit_code);
    assert_int_equal(r->exit_code, 3);
    assert_int_equal(r->pid, 4242);
    assert_int_equal(r->ppid, 4200);
    assert_int_equal(r->start_us, 1795321998528740ull);
    assert_int_equal(r->duration_us, 3593);
    assert_int_equal(r->calls, 6);
    assert_int_equal(r->events, 12);
    assert_int_equal(r->lost, 1);
    assert_null(r->write_error);
    ft_index_list_free(&list);
    assert_int_equal(stat(path_of(FT_INDEX_FILE), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void
runs_are_listed_newest_first_and_a_rewritten_run_replaces_its_row(void **state)
{
    struct ft_index_list list;
    struct ft_run_info info = info_of("b", 300);
    char err[512] = "";

    (void)state;
    put("a", 100);
    put("b", 200);
    put("c", 150);
    info.how = FT_END_SIGNAL;
    info.have_status = 0;
    info.signal = 15;
    assert_int_equal(ft_index_put_run(dir, &info, "app.py", err, sizeof(err)), 0);
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), 0);
    assert_int_equal(list.n, 3);
    assert_string_equal(list.runs[0].id, "b");
    assert_string_equal(list.runs[0].ended, "signal");
    assert_false(list.runs[0].have_exit_code);
    assert_int_equal(list.runs[0].signal, 15);
    assert_string_equal(list.runs[1].id, "c");
    assert_string_equal(list.runs[2].id, "a");
    ft_index_list_free(&list);
}

static void
no_file_or_an_empty_file_is_no_index(void **state)
{
    struct ft_index_list list;
    char err[512] = "";
    int fd;

    (void)state;
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), FT_ENOTFOUND);
    fd = open(path_of(FT_INDEX_FILE), O_CREAT | O_WRONLY, 0600);
    close(fd);
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), FT_ENOTFOUND);
    put("a", 1); /* a writer fills the empty file */
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), 0);
    assert_int_equal(list.n, 1);
    ft_index_list_free(&list);
}

static void
write_file(const char *name, const void *data, size_t n)
{
    int fd = open(path_of(name), O_CREAT | O_WRONLY | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

static void
a_foreign_file_is_reported_and_left_alone(void **state)
{
    struct ft_run_info info = info_of("a", 1);
    struct ft_index_list list;
    char err[512] = "";
    struct stat st;

    (void)state;
    write_file(FT_INDEX_FILE, "runs: none\n", 11);
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), FT_EFOREIGN);
    assert_non_null(strstr(err, "index.sqlite is not a FlowTrace runs index"));
    assert_int_equal(ft_index_put_run(dir, &info, "app.py", err, sizeof(err)), FT_EFOREIGN);
    assert_int_equal(stat(path_of(FT_INDEX_FILE), &st), 0);
    assert_int_equal(st.st_size, 11); /* not overwritten */
}

static void
another_programs_database_is_foreign(void **state)
{
    struct ft_run_info info = info_of("a", 1);
    struct ft_index_list list;
    char err[512] = "";
    sqlite3 *db;

    (void)state;
    assert_int_equal(sqlite3_open(path_of(FT_INDEX_FILE), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE runs (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), FT_EFOREIGN);
    assert_non_null(strstr(err, "another program's SQLite database"));
    assert_int_equal(ft_index_put_run(dir, &info, "app.py", err, sizeof(err)), FT_EFOREIGN);
}

static void
a_truncated_index_is_reported(void **state)
{
    struct ft_index_list list;
    char err[512] = "", *data;
    struct stat st;
    int fd;

    (void)state;
    for (int i = 0; i < 200; i++) {
        char id[16];
        snprintf(id, sizeof(id), "run-%d", i);
        put(id, (uint64_t)i);
    }
    assert_int_equal(stat(path_of(FT_INDEX_FILE), &st), 0);
    data = malloc((size_t)st.st_size);
    fd = open(path_of(FT_INDEX_FILE), O_RDONLY);
    assert_int_equal(read(fd, data, (size_t)st.st_size), st.st_size);
    close(fd);
    write_file(FT_INDEX_FILE, data, 2048 + 100); /* past the header, mid-page */
    free(data);
    assert_int_not_equal(ft_index_list(dir, &list, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "index.sqlite"));
}

static void
a_newer_schema_with_more_columns_and_tables_is_still_read_and_written(void **state)
{
    struct ft_index_list list;
    char err[512] = "";
    sqlite3 *db;

    (void)state;
    put("a", 1);
    assert_int_equal(sqlite3_open(path_of(FT_INDEX_FILE), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "ALTER TABLE runs ADD COLUMN later TEXT;"
                                  "CREATE TABLE spans (run_id TEXT, name TEXT);"
                                  "PRAGMA user_version = 7",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    put("b", 2);
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), 0);
    assert_int_equal(list.n, 2);
    assert_string_equal(list.runs[0].id, "b");
    ft_index_list_free(&list);
}

/* The units table, as "run_id/unit_id:outcome:tree," in order. */
static void
units_in_index(char *out, size_t cap)
{
    sqlite3_stmt *st;
    sqlite3 *db;
    size_t len = 0;

    out[0] = '\0';
    assert_int_equal(sqlite3_open(path_of(FT_INDEX_FILE), &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT run_id, unit_id, outcome, tree FROM units"
                                        " ORDER BY run_id, unit_id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && len < cap) {
        const char *tree = (const char *)sqlite3_column_text(st, 3);
        len += (size_t)snprintf(out + len, cap - len, "%s/%d:%s:%s,", sqlite3_column_text(st, 0),
                                sqlite3_column_int(st, 1), sqlite3_column_text(st, 2),
                                tree ? tree : "-");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void
units_of_running_runs_are_put_in_one_go_and_the_run_put_adds_the_rest(void **state)
{
    const struct ft_unit_row rows[] = {
        {.id = 1,
         .kind = "pytest",
         .name = "t.py::a",
         .outcome = "failed",
         .tree = "units/1/tree.json"},
        {.id = 2, .kind = "pytest", .name = "t.py::b", .outcome = "passed"},
    };
    const struct ft_index_units runs[] = {{"r1", "/x/r1", rows, 1}, {"r2", "/x/r2", rows + 1, 1}};
    struct ft_run_info info = info_of("r1", 5);
    struct ft_index_list list;
    char err[512] = "", got[512];

    (void)state;
    assert_int_equal(ft_index_put_units(dir, runs, 2, err, sizeof(err)), 0);
    units_in_index(got, sizeof(got));
    assert_string_equal(got, "r1/1:failed:r1/units/1/tree.json,r2/2:passed:-,");
    /* Unit rows without their run's row: the runs list has no run yet. */
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), 0);
    assert_int_equal(list.n, 0);
    ft_index_list_free(&list);
    /* The run's own put: its row, and the units not put yet (or again: same rows). */
    info.path = "/x/r1";
    info.rows = rows;
    info.nrows = 2;
    assert_int_equal(ft_index_put_run(dir, &info, "app.py", err, sizeof(err)), 0);
    units_in_index(got, sizeof(got));
    assert_string_equal(got, "r1/1:failed:r1/units/1/tree.json,r1/2:passed:-,r2/2:passed:-,");
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), 0);
    assert_int_equal(list.n, 1);
    ft_index_list_free(&list);
}

static void
a_units_put_into_a_foreign_file_is_refused(void **state)
{
    const struct ft_unit_row row = {.id = 1, .kind = "pytest", .name = "a", .outcome = "passed"};
    const struct ft_index_units run = {"r1", "/x/r1", &row, 1};
    char err[512] = "";
    sqlite3 *db;

    (void)state;
    assert_int_equal(sqlite3_open(path_of(FT_INDEX_FILE), &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE x (y)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(ft_index_put_units(dir, &run, 1, err, sizeof(err)), FT_EFOREIGN);
    assert_non_null(strstr(err, "index.sqlite is not a FlowTrace runs index"));
}

static void
concurrent_writers_record_every_run(void **state)
{
    enum { WRITERS = 4, RUNS = 40 };
    struct ft_index_list list;
    char err[512] = "";
    pid_t pids[WRITERS];

    (void)state;
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            int bad = 0;
            for (int i = 0; i < RUNS; i++) {
                char id[32], e[512];
                struct ft_run_info info;
                snprintf(id, sizeof(id), "w%d-run%d", w, i);
                info = info_of(id, (uint64_t)(w * RUNS + i));
                bad += ft_index_put_run(dir, &info, "app.py", e, sizeof(e)) != 0;
            }
            _exit(bad);
        }
    }
    for (int w = 0; w < WRITERS; w++) {
        int status;
        assert_int_equal(waitpid(pids[w], &status, 0), pids[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(ft_index_list(dir, &list, err, sizeof(err)), 0);
    assert_int_equal(list.n, WRITERS * RUNS);
    ft_index_list_free(&list);
}

/* A reader that races the writer creating the index sees no index, or the runs; never "a
 * foreign file" (its checks and its rows are read in one snapshot). */
static void
a_reader_racing_the_first_writer_sees_no_index_or_its_rows(void **state)
{
    (void)state;
    for (int round = 0; round < 300; round++) {
        struct ft_index_list list;
        char err[512] = "";
        int status, rc = FT_ENOTFOUND;
        pid_t pid;
        unlink(path_of("index.sqlite"));
        unlink(path_of("index.sqlite-wal"));
        unlink(path_of("index.sqlite-shm"));
        if ((pid = fork()) == 0) {
            put("r", 1);
            _exit(0);
        }
        while (rc == FT_ENOTFOUND || (rc == 0 && list.n == 0)) {
            if (rc == 0) {
                ft_index_list_free(&list);
            }
            rc = ft_index_list(dir, &list, err, sizeof(err));
            if (rc != 0 && rc != FT_ENOTFOUND) {
                fail_msg("round %d: %s", round, err);
            }
        }
        assert_int_equal(list.n, 1);
        ft_index_list_free(&list);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_run_put_is_listed_with_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(
            runs_are_listed_newest_first_and_a_rewritten_run_replaces_its_row, setup, teardown),
        cmocka_unit_test_setup_teardown(no_file_or_an_empty_file_is_no_index, setup, teardown),
        cmocka_unit_test_setup_teardown(a_foreign_file_is_reported_and_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(another_programs_database_is_foreign, setup, teardown),
        cmocka_unit_test_setup_teardown(a_truncated_index_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_newer_schema_with_more_columns_and_tables_is_still_read_and_written, setup, teardown),
        cmocka_unit_test_setup_teardown(
            units_of_running_runs_are_put_in_one_go_and_the_run_put_adds_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(a_units_put_into_a_foreign_file_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_record_every_run, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reader_racing_the_first_writer_sees_no_index_or_its_rows,
                                        setup, teardown),
    };

    return cmocka_run_group_tests_name("index", tests, NULL, NULL);
}
