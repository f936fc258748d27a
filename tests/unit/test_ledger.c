/* test_ledger.c - a run whose output fails, and exact accounting of lost records (ledger.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/run.h"
#include "slurp.h"
#include "stream.h"

#define T0 TEST_MONO_NS

static char dir[64];

static int
setup(void **state)
{
    (void)state;
    test_dir_make(dir, sizeof(dir), "run-fail");
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    test_dir_remove(dir);
    return 0;
}

/* Feeds the frames of s to r; after `fail_after` frames the run's output fails. */
static int
feed(struct ft_run *r, struct stream *s, int fail_after)
{
    struct ft_wire_decoder d;
    struct ft_frame f;
    int err = 0, n = 0;

    ft_wire_decoder_init(&d);
    ft_wire_decoder_feed(&d, s->p, s->len);
    while (err == 0 && ft_wire_next_frame(&d, &f) == 1) {
        if (n++ == fail_after) {
            ft_run_fail(r, -ENOSPC);
        }
        err = ft_run_frame(r, &f);
    }
    ft_wire_decoder_close(&d);
    return err;
}

static int
count_lines(const char *s)
{
    int n = 0;

    for (; *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

static void
calls(struct stream *s, int n, uint64_t t)
{
    struct recs r = {.n = 0};

    for (int i = 0; i < n; i++) {
        rec2(&r, FT_REC_CALL, 1, t + (uint64_t)i * 10);
        rec2(&r, FT_REC_RETURN, 1, t + (uint64_t)i * 10 + 5);
    }
    stream_events(s, 1, &r);
}

static void
start(struct stream *s)
{
    memset(s, 0, sizeof(*s));
    stream_hello(s, 42, "python3\0app.py", 14);
    stream_thread(s, 1, "MainThread");
    stream_def(s, 1, "app", "f", "/app.py", 1);
}

static void
output_failure_keeps_what_was_written_and_counts_the_rest_as_lost(void **state)
{
    struct ft_run_opts o = {.dir = dir, .run_id = "r1", .tsc_ns_per_tick = 1.0, .copies = 0};
    struct ft_run *r = ft_run_new(&o);
    struct ft_run_info info;
    struct stream s;
    char *tree, *jsonl;

    (void)state;
    start(&s);
    calls(&s, 3, T0 + 100);  /* frame 4: applied */
    calls(&s, 5, T0 + 1000); /* frame 5: after the failure */
    stream_end_counts(&s, FT_END_EXIT, 0, T0 + 5000, 7, 6 + 10 + 9);
    assert_int_equal(feed(r, &s, 4), 0);
    assert_int_equal(ft_run_finish(r, FT_END_KILLED, NULL), -ENOSPC);
    ft_run_get_info(r, &info);
    /* 5 records in the file (the last return waited for the thread's next record: after
     * the failure); 1 + 10 applied after it, and the 7 the process itself dropped. */
    assert_int_equal(info.events, 5);
    assert_int_equal(info.lost, 7 + 1 + 10);
    assert_int_equal(info.fail_err, -ENOSPC);
    ft_run_free(r);

    jsonl = slurp(dir, "r1", "events.jsonl");
    assert_int_equal(count_lines(jsonl), 5);
    assert_int_equal(jsonl[strlen(jsonl) - 1], '\n');
    assert_null(strstr(jsonl, "\"id\":4,")); /* nothing after the failure */
    tree = slurp(dir, "r1", "tree.json");
    assert_non_null(strstr(tree, "\"ended\":\"exit\",\"outputError\":\"No space left on device\","
                                 "\"tracer\":{\"engine\":\"profile\",\"events\":5,\"lost\":18,"));
    assert_non_null(strstr(tree, "\"calls\":0}"));
    assert_non_null(
        strstr(tree, "\"threads\":[{\"name\":\"MainThread\",\"tid\":101,\"calls\":[]}]"));
    free(jsonl);
    free(tree);
    free(s.p);
}

static void
a_live_run_counts_what_it_received_and_the_process_dropped(void **state)
{
    struct ft_run_opts o = {.dir = dir, .run_id = "r2", .tsc_ns_per_tick = 1.0, .copies = 0};
    struct ft_run *r = ft_run_new(&o);
    struct ft_run_info info;
    struct stream s;

    (void)state;
    start(&s);
    calls(&s, 4, T0 + 100);
    /* SENT is only for runs rebuilt after their writer died: a live writer sees all. */
    stream_end_counts(&s, FT_END_EXIT, 0, T0 + 5000, 2, 8 + 3);
    assert_int_equal(feed(r, &s, -1), 0);
    assert_int_equal(ft_run_finish(r, FT_END_KILLED, NULL), 0);
    ft_run_get_info(r, &info);
    assert_int_equal(info.events, 8);
    assert_int_equal(info.lost, 2);
    ft_run_free(r);
    free(s.p);
}

static void
a_run_that_cannot_create_its_directory_counts_everything_and_writes_nothing(void **state)
{
    struct ft_run_opts o = {
        .dir = "/proc/self/no-such-dir", .run_id = "r3", .tsc_ns_per_tick = 1.0, .copies = 0};
    struct ft_run *r = ft_run_new(&o);
    struct ft_run_info info;
    struct stream s;
    int err;

    (void)state;
    start(&s);
    calls(&s, 2, T0 + 100);
    /* HELLO fails; the caller goes on feeding, and the frames are only counted. */
    err = feed(r, &s, -1);
    assert_true(err < 0 && err > -4000);
    ft_run_get_info(r, &info);
    assert_non_null(info.id);
    assert_null(info.path);
    assert_int_equal(info.fail_err, err);
    free(s.p);
    memset(&s, 0, sizeof(s));
    stream_thread(&s, 1, "MainThread");
    calls(&s, 2, T0 + 100);
    stream_end_counts(&s, FT_END_EXIT, 0, T0 + 5000, 1, 4);
    assert_int_equal(feed(r, &s, -1), 0);
    assert_int_equal(ft_run_finish(r, FT_END_KILLED, NULL), err);
    ft_run_get_info(r, &info);
    assert_int_equal(info.events, 0);
    assert_int_equal(info.lost, 1 + 4);
    assert_int_equal(info.how, FT_END_EXIT);
    ft_run_free(r);
    free(s.p);
}

static void
malformed_frames_are_still_errors_after_a_failure(void **state)
{
    struct ft_run_opts o = {.dir = dir, .run_id = "r4", .tsc_ns_per_tick = 1.0, .copies = 0};
    struct ft_run *r = ft_run_new(&o);
    struct stream s;
    uint64_t bad[3] = {ft_rec_word0(FT_REC_CALL, 1), 0, 0};

    (void)state;
    start(&s);
    stream_frame(&s, FT_FRAME_EVENTS, 1, bad, 20); /* a record cut in half */
    assert_int_equal(feed(r, &s, 3), FT_EBADRECORD);
    ft_run_finish(r, FT_END_KILLED, NULL);
    ft_run_free(r);
    free(s.p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            output_failure_keeps_what_was_written_and_counts_the_rest_as_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(a_live_run_counts_what_it_received_and_the_process_dropped,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_run_that_cannot_create_its_directory_counts_everything_and_writes_nothing, setup,
            teardown),
        cmocka_unit_test_setup_teardown(malformed_frames_are_still_errors_after_a_failure, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("ledger", tests, NULL, NULL);
}
