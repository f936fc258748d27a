/* test_recover.c - finishing the runs of a writer that died: spool + the process's END. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "slurp.h"
#include "stream.h"
#include "lib/rfile.h"
#include "lib/wire.h"
#include "tools/writer/journal.h"
#include "tools/writer/recover.h"

#define T0 TEST_MONO_NS

static char dir[64];
static struct ft_recovered last;
static int reports;

static void
report(const struct ft_recovered *r)
{
    last = *r;
    reports++;
}

static void
put(const char *run, const char *name, const void *p, size_t n)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, run);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/%s/%s", dir, run, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static int
has(const char *run, const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s/%s", dir, run, name);
    return access(path, F_OK) == 0;
}

static int
setup(void **state)
{
    (void)state;
    test_dir_make(dir, sizeof(dir), "recover");
    reports = 0;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    test_dir_remove(dir);
    return 0;
}

static void
a_run_is_rebuilt_from_its_spool_and_the_end_its_process_left(void **state)
{
    struct stream spool = {0}, end = {0};
    struct recs r = {.n = 0};
    char *tree;

    (void)state;
    /* pid 999999999 runs nowhere: the process has ended. */
    stream_hello(&spool, 999999999, "python3\0app.py", 14);
    stream_thread(&spool, 1, "MainThread");
    stream_def(&spool, 1, "app", "f", "/app.py", 1);
    rec2(&r, FT_REC_CALL, 1, T0 + 100);
    rec2(&r, FT_REC_RETURN, 1, T0 + 200);
    rec2(&r, FT_REC_CALL, 1, T0 + 300);
    stream_events(&spool, 1, &r);
    spool.len -= 5; /* the dead writer's last write was cut short */
    /* The process sent 10 records in all and dropped 2 after the writer was gone. */
    stream_end_counts(&end, FT_END_EXIT, 0, T0 + 1000, 2, 10);
    put("20231114-221320-1", "raw.ftb", spool.p, spool.len);
    put("20231114-221320-1", "end.ftb", end.p, end.len);
    put("20231114-221320-1", ".thread-1.part", "{\"id\":1", 7);

    assert_int_equal(ft_recover_dir(dir, 1.0, report), 1);
    assert_int_equal(reports, 1);
    assert_int_equal(last.err, 0);
    assert_int_equal(last.stream_err, FT_ETRUNCATED);
    /* The spool's whole frames before the cut: the events frame was the cut one. */
    assert_int_equal(last.events, 0);
    assert_int_equal(last.lost, 2 + 10);
    assert_true(has("20231114-221320-1", "tree.json"));
    assert_true(has("20231114-221320-1", "events.jsonl"));
    assert_false(has("20231114-221320-1", "raw.ftb"));
    assert_false(has("20231114-221320-1", "end.ftb"));
    assert_false(has("20231114-221320-1", ".thread-1.part"));
    assert_false(has("20231114-221320-1", ".recover"));
    tree = slurp_must(dir, "20231114-221320-1", "tree.json");
    assert_non_null(strstr(tree, "\"run\":\"20231114-221320-1\""));
    assert_non_null(strstr(tree,
                           "\"exitCode\":0,\"ended\":\"exit\","
                           "\"endReason\":\"rebuilt from the spool of a writer that stopped\""));
    assert_non_null(strstr(tree, "\"events\":0,\"lost\":12,"));
    free(tree);
    /* Done once: nothing left to rebuild. */
    assert_int_equal(ft_recover_dir(dir, 1.0, report), 0);
    free(spool.p);
    free(end.p);
}

/* A compressed run's journal (raw.ftb.zst, written by the writer's journal: a zstd frame
 * a write) is read back, and the run rebuilt compressed. */
static void
a_compressed_runs_journal_is_read_back(void **state)
{
    struct stream spool = {0}, end = {0};
    struct recs r = {.n = 0};
    struct ft_wire_decoder d;
    struct ft_journal j;
    struct ft_rfile *in;
    struct ft_frame f;
    char path[256], tree[4096];
    ssize_t n;

    (void)state;
    stream_hello(&spool, 999999999, "python3\0app.py", 14);
    stream_thread(&spool, 1, "MainThread");
    stream_def(&spool, 1, "app", "f", "/app.py", 1);
    for (int b = 0; b < 4; b++) { /* more than a journal write */
        r.n = 0;
        for (int i = b * 500; i < (b + 1) * 500; i++) {
            rec2(&r, FT_REC_CALL, 1, T0 + 100 + (uint64_t)i * 10);
            rec2(&r, FT_REC_RETURN, 1, T0 + 105 + (uint64_t)i * 10);
        }
        stream_events(&spool, 1, &r);
    }
    stream_end_counts(&end, FT_END_EXIT, 0, T0 + 100000, 0, 4000);
    snprintf(path, sizeof(path), "%s/z", dir);
    mkdir(path, 0700);
    assert_int_equal(ft_journal_open(&j, path, 1, 1, 1), 0);
    ft_wire_decoder_init(&d);
    assert_int_equal(ft_wire_decoder_feed(&d, spool.p, spool.len), 0);
    while (ft_wire_next_frame(&d, &f) == 1) {
        assert_int_equal(ft_journal_append(&j, &f), 0);
    }
    ft_wire_decoder_close(&d);
    ft_journal_close(&j); /* keep: flushed and left */
    assert_true(has("z", "raw.ftb.zst"));
    assert_false(has("z", "raw.ftb"));
    put("z", "end.ftb", end.p, end.len);
    put("z", "events.jsonl.zst", "", 0); /* the dead writer's run was compressed */
    assert_int_equal(ft_recover_dir(dir, 1.0, report), 1);
    assert_int_equal(last.err, 0);
    assert_int_equal(last.stream_err, 0);
    assert_int_equal(last.events, 4000);
    assert_int_equal(last.lost, 0);
    assert_false(has("z", "raw.ftb.zst"));
    assert_false(has("z", "tree.json"));
    assert_int_equal(ft_rfile_open(&in, path, "tree.json"), 0); /* tree.json.zst */
    n = ft_rfile_read(in, tree, sizeof(tree) - 1);
    ft_rfile_close(in);
    assert_true(n > 0);
    tree[n] = '\0';
    assert_non_null(strstr(tree, "\"events\":4000,\"lost\":0,"));
    free(spool.p);
    free(end.p);
}

static void
runs_of_live_processes_and_finished_runs_are_left_alone(void **state)
{
    struct stream s = {0};

    (void)state;
    stream_hello(&s, (uint64_t)getpid(), "python3\0app.py", 14); /* this process: alive */
    put("live", "raw.ftb", s.p, s.len);
    put("done", "raw.ftb", s.p, s.len);
    put("done", "tree.json", "{}", 2); /* complete, spool kept by --keep-raw */
    assert_int_equal(ft_recover_dir(dir, 1.0, report), 0);
    assert_int_equal(reports, 1);
    assert_int_equal(last.running, 1);
    assert_true(has("live", "raw.ftb"));
    assert_false(has("live", "tree.json"));
    free(s.p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            a_run_is_rebuilt_from_its_spool_and_the_end_its_process_left, setup, teardown),
        cmocka_unit_test_setup_teardown(a_compressed_runs_journal_is_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(runs_of_live_processes_and_finished_runs_are_left_alone,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("recover", tests, NULL, NULL);
}
