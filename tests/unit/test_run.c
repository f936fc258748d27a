/* test_run.c - a run turns frames into events.jsonl and tree.json, byte for byte. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/rfile.h"
#include "lib/run.h"
#include "lib/runfiles.h"
#include "slurp.h"
#include "stream.h"

#define T0 TEST_MONO_NS

struct fixture {
    char dir[64];
};

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/ft-test-run.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* Feeds every frame of s to a new run named run_id; returns the first error (or 0)
 * and leaves the run finished. */
static int
feed(const char *dir, const char *run_id, struct stream *s, int how_if_open)
{
    struct ft_run_opts o = {.dir = dir, .run_id = run_id, .tsc_ns_per_tick = 1.0, .copies = 0};
    struct ft_run *r = ft_run_new(&o);
    struct ft_wire_decoder d;
    struct ft_frame f;
    int err = 0, rc;

    ft_wire_decoder_init(&d);
    ft_wire_decoder_feed(&d, s->p, s->len);
    while (err == 0 && (rc = ft_wire_next_frame(&d, &f)) == 1) {
        err = ft_run_frame(r, &f);
    }
    assert_int_equal(ft_run_finish(r, how_if_open, err ? ft_strerror(err) : NULL), 0);
    ft_run_free(r);
    ft_wire_decoder_close(&d);
    free(s->p);
    return err;
}

/* Feeds s to a run as a writer's connection does: reads of chunk bytes into an open
 * decoder (wire.h), an open piece's cut record given back after each frame. */
static int
feed_open(const char *dir, const char *run_id, const struct stream *s, size_t chunk)
{
    struct ft_run_opts o = {.dir = dir, .run_id = run_id, .tsc_ns_per_tick = 1.0, .copies = 0};
    struct ft_run *r = ft_run_new(&o);
    struct ft_wire_decoder d;
    struct ft_frame f;
    size_t i = 0, cuts = 0;
    int err = 0, rc;

    ft_wire_decoder_init(&d);
    ft_wire_decoder_open(&d);
    while (err == 0 && i < s->len) {
        size_t n = s->len - i < chunk ? s->len - i : chunk;
        ft_wire_decoder_feed(&d, s->p + i, n);
        i += n;
        while (err == 0 && (rc = ft_wire_next_frame(&d, &f)) == 1) {
            uint32_t len = f.hdr.len;
            err = ft_run_frame(r, &f);
            cuts += f.hdr.len < len;
            ft_wire_decoder_unread(&d, len - f.hdr.len);
        }
    }
    assert_true(cuts > 0); /* records were cut, and came again */
    assert_int_equal(ft_wire_decoder_pending(&d), 0);
    assert_int_equal(ft_run_finish(r, FT_END_KILLED, NULL), 0);
    ft_run_free(r);
    ft_wire_decoder_close(&d);
    return err;
}

static void
start(struct stream *s)
{
    memset(s, 0, sizeof(*s));
    stream_hello(s, 42, "python3\0app.py", 14);
    stream_thread(s, 1, "MainThread");
    stream_def(s, 1, "app", "main", "/app.py", 1);
    stream_def(s, 2, "app", "Inventory.add", "/app.py", 5);
}

#define HEAD(ev, ts) "{\"event\":\"" ev "\",\"timestamp\":" ts ",\"thread\":\"MainThread\","
#define MAIN_NAME    "\"module\":\"app\",\"function\":\"main\""
#define MAIN         MAIN_NAME ",\"file\":\"/app.py\",\"line\":1"
#define ADD_NAME     "\"module\":\"app\",\"function\":\"Inventory.add\""
#define ADD          ADD_NAME ",\"file\":\"/app.py\",\"line\":5"
/* Format 4: no "run" on the lines of a run not copied to --logfile/--stdout; an EXIT or
 * EXCEPTION line names its code (_NAME) without file, line and parent. */
#define RUN ",\"pid\":42"

static void
nested_calls_give_exact_jsonl_and_tree(void **state)
{
    struct fixture *fx = *state;
    struct stream s;
    struct recs r = {.n = 0};
    char *jsonl, *tree;

    start(&s);
    rec2(&r, FT_REC_CALL, 1, T0 + 1000);
    rec2(&r, FT_REC_CALL, 2, T0 + 2000);
    rec2(&r, FT_REC_RETURN, 2, T0 + 5500);
    rec2(&r, FT_REC_UNWIND, 1, T0 + 9000);
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 10000);
    assert_int_equal(feed(fx->dir, "r1", &s, FT_END_KILLED), 0);

    jsonl = slurp(fx->dir, "r1", "events.jsonl");
    assert_string_equal(
        jsonl, HEAD("ENTER", "1700000000000001") MAIN RUN
        ",\"id\":1,\"parent\":null}\n" HEAD("ENTER", "1700000000000002") ADD RUN
        ",\"id\":2,\"parent\":1}\n" HEAD("EXIT", "1700000000000005") ADD_NAME RUN
        ",\"id\":2,"
        "\"durationMicros\":3.500,\"durationMillis\":0.003}\n" HEAD("EXCEPTION", "1700000000000009")
            MAIN_NAME RUN ",\"id\":1,"
                          "\"durationMicros\":8.000,\"durationMillis\":0.008,"
                          "\"exception\":{\"type\":null,\"module\":null,\"message\":null}}\n");
    tree = slurp(fx->dir, "r1", "tree.json");
    tree_unpad(tree);
    assert_string_equal(
        tree,
        "{\"format\":4,\"run\":\"r1\",\"parentRun\":null,\"pid\":42,\"ppid\":1,\"argv\":["
        "\"python3\",\"app.py\"]"
        ","
        "\"cwd\":\"/work\",\"executable\":\"\",\"python\":\"3.11.2\",\"start\":1700000000000000,"
        "\"durationMicros\":10.000,\"exitCode\":0,\"ended\":\"exit\","
        "\"tracer\":{\"engine\":\"profile\",\"events\":4,\"lost\":0,\"cpuMicros\":1234,"
        "\"blockedMicros\":0,\"calls\":2},"
        "\"threads\":[{\"name\":\"MainThread\",\"tid\":101,\"calls\":["
        "{\"id\":1," MAIN ",\"startMicros\":1.000,\"children\":["
        "{\"id\":2," ADD ",\"startMicros\":2.000,\"children\":[],"
        "\"durationMicros\":3.500}"
        "],\"durationMicros\":8.000,"
        "\"exception\":{\"type\":null,\"module\":null,\"message\":null}}"
        "]}]}\n");
    free(jsonl);
    free(tree);
}

/* A frame of 3,000 calls (whole events, and CALL + ARGS_INTS + RETURN) read in chunks of
 * 333 bytes by an open decoder gives the same files, byte for byte, as the frame whole. */
static void
open_pieces_give_the_files_of_whole_frames(void **state)
{
    struct fixture *fx = *state;
    struct stream s;
    struct recs r = {.n = 0};
    uint64_t *w = calloc(3000 * 12, 8);
    size_t n = 0;
    char a[96], b[96];
    const char *names[] = {"events.jsonl", "tree.json"};

    start(&s);
    stream_def_params(&s, 3, "app", "fib", "/app.py", 9, 0, "n", 2);
    rec2(&r, FT_REC_CALL, 1, T0 + 1000);
    stream_events(&s, 1, &r);
    for (uint64_t i = 0; i < 3000; i++) {
        uint64_t t = T0 + 2000 + 100 * i;
        if (i % 7 == 0) {
            int64_t args[2] = {(int64_t)i, -(int64_t)i};
            w[n++] = ft_rec_word0(FT_REC_CALL, 2);
            w[n++] = t;
            w[n++] = ft_rec_word0(FT_REC_ARGS_INTS, 16);
            memcpy(&w[n], args, 16);
            n += 2;
            w[n++] = ft_rec_word0(FT_REC_RETURN, 2);
            w[n++] = t + 40;
        } else {
            w[n++] = ft_rec_word0(FT_REC_CALL_INTS, 24);
            w[n++] = 3;
            w[n++] = t;
            w[n++] = i;
            w[n++] = ft_rec_word0(FT_REC_RETURN_INT, 24);
            w[n++] = 3;
            w[n++] = t + 50;
            w[n++] = 2 * i;
        }
    }
    stream_frame(&s, FT_FRAME_EVENTS, 1, w, n * 8);
    free(w);
    r.n = 0;
    rec2(&r, FT_REC_RETURN, 1, T0 + 900000);
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 1000000);
    snprintf(a, sizeof(a), "%s/open", fx->dir);
    snprintf(b, sizeof(b), "%s/whole", fx->dir);
    assert_int_equal(mkdir(a, 0700), 0);
    assert_int_equal(mkdir(b, 0700), 0);
    assert_int_equal(feed_open(a, "r1", &s, 333), 0);
    assert_int_equal(feed(b, "r1", &s, FT_END_KILLED), 0); /* frees s */
    for (size_t k = 0; k < 2; k++) {
        char *x = slurp_must(a, "r1", names[k]), *y = slurp_must(b, "r1", names[k]);
        assert_true(strlen(y) > 3000 * 100);
        assert_string_equal(x, y);
        free(x);
        free(y);
    }
}

static void
missed_return_closes_inner_calls_as_incomplete(void **state)
{
    struct fixture *fx = *state;
    struct stream s;
    struct recs r = {.n = 0};
    char *jsonl;

    start(&s);
    rec2(&r, FT_REC_RETURN, 2, T0 + 500); /* began before tracing: ignored */
    rec2(&r, FT_REC_CALL, 1, T0 + 1000);
    rec2(&r, FT_REC_CALL, 2, T0 + 2000);
    rec2(&r, FT_REC_RETURN, 1, T0 + 3000);
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 4000);
    assert_int_equal(feed(fx->dir, "r1", &s, FT_END_KILLED), 0);
    jsonl = slurp(fx->dir, "r1", "events.jsonl");
    assert_non_null(strstr(jsonl, "\"id\":2,\"durationMicros\":1.000,"
                                  "\"durationMillis\":0.001,\"incomplete\":\"return not seen\"}"));
    assert_non_null(strstr(jsonl, HEAD("EXIT", "1700000000000003") MAIN_NAME RUN));
    assert_int_equal(strstr(jsonl, "\"id\":3") == NULL, 1);
    free(jsonl);
}

static void
stream_without_end_closes_open_calls_as_killed(void **state)
{
    struct fixture *fx = *state;
    struct stream s;
    struct recs r = {.n = 0};
    char *jsonl, *tree;

    start(&s);
    rec2(&r, FT_REC_CALL, 1, T0 + 1000);
    rec2(&r, FT_REC_CALL, 2, T0 + 2000);
    stream_events(&s, 1, &r);
    assert_int_equal(feed(fx->dir, "r1", &s, FT_END_KILLED), 0);
    jsonl = slurp(fx->dir, "r1", "events.jsonl");
    tree = slurp(fx->dir, "r1", "tree.json");
    /* Both calls are closed, innermost first, at the last known time. */
    assert_non_null(strstr(jsonl, "\"id\":2,\"durationMicros\":0.000,"
                                  "\"durationMillis\":0.000,\"incomplete\":\"killed\"}\n" HEAD(
                                      "EXIT", "1700000000000002")));
    assert_non_null(strstr(tree, "\"exitCode\":null,\"ended\":\"killed\""));
    assert_non_null(strstr(tree, "\"durationMicros\":1.000,\"incomplete\":\"killed\"}"));
    free(jsonl);
    free(tree);
}

static void
undefined_code_id_is_an_error_and_earlier_frames_are_kept(void **state)
{
    struct fixture *fx = *state;
    struct stream s;
    struct recs r1 = {.n = 0}, r2 = {.n = 0};
    char *jsonl;

    start(&s);
    rec2(&r1, FT_REC_CALL, 1, T0 + 1000);
    stream_events(&s, 1, &r1);
    rec2(&r2, FT_REC_CALL, 99, T0 + 2000);
    stream_events(&s, 1, &r2);
    assert_int_equal(feed(fx->dir, "r1", &s, FT_END_KILLED), FT_EUNDEFCODE);
    jsonl = slurp(fx->dir, "r1", "events.jsonl");
    assert_non_null(strstr(jsonl, "\"incomplete\":\"event refers to an undefined code id\""));
    free(jsonl);
}

static void
protocol_order_is_enforced(void **state)
{
    struct fixture *fx = *state;
    struct stream s = {0};
    struct recs r = {.n = 0};
    uint8_t b[64];
    size_t pos = 0;

    stream_thread(&s, 1, "MainThread"); /* before HELLO */
    assert_int_equal(feed(fx->dir, "r1", &s, FT_END_KILLED), FT_EORDER);

    start(&s);
    rec2(&r, FT_REC_CALL, 1, T0 + 1000);
    stream_events(&s, 7, &r); /* thread 7 was never announced */
    assert_int_equal(feed(fx->dir, "r2", &s, FT_END_KILLED), FT_EORDER);

    memset(&s, 0, sizeof(s));
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_VERSION, (uint64_t)(FT_WIRE_MAJOR + 1) << 32);
    stream_frame(&s, FT_FRAME_HELLO, 0, b, pos);
    assert_int_equal(feed(fx->dir, "r3", &s, FT_END_KILLED), FT_EBADVERSION);
}

static void
each_thread_gets_its_own_calls(void **state)
{
    struct fixture *fx = *state;
    struct stream s;
    struct recs a = {.n = 0}, b = {.n = 0};
    char *tree;

    start(&s);
    stream_thread(&s, 2, "worker \"1\"");
    rec2(&a, FT_REC_CALL, 1, T0 + 1000);
    rec2(&b, FT_REC_CALL, 2, T0 + 1500);
    rec2(&b, FT_REC_RETURN, 2, T0 + 1600);
    rec2(&a, FT_REC_RETURN, 1, T0 + 3000);
    stream_events(&s, 2, &b);
    stream_events(&s, 1, &a);
    stream_end(&s, FT_END_EXIT, 0, T0 + 4000);
    assert_int_equal(feed(fx->dir, "r1", &s, FT_END_KILLED), 0);
    tree = slurp(fx->dir, "r1", "tree.json");
    assert_non_null(
        strstr(tree, "{\"name\":\"MainThread\",\"tid\":101,\"calls\":[{\"id\":2," MAIN));
    assert_non_null(
        strstr(tree, "{\"name\":\"worker \\\"1\\\"\",\"tid\":102,\"calls\":[{\"id\":1," ADD));
    free(tree);
}

/* Whether dir's file system can insert a range at a file's start (ext4, xfs; not tmpfs). */
static int
can_insert_range(const char *dir)
{
    char path[128];
    int fd, ok;

    snprintf(path, sizeof(path), "%s/probe", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    ok = ftruncate(fd, 1 << 16) == 0 && fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 1 << 12) == 0;
    close(fd);
    unlink(path);
    return ok;
}

/* A compressed tree read back whole. */
static char *
unzstd_tree(const char *dir)
{
    static char text[1 << 16];
    struct ft_rfile *in;
    char path[256];
    size_t len = 0;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/r1", dir);
    assert_int_equal(ft_rfile_open(&in, path, "tree.json"), 0);
    while ((n = ft_rfile_read(in, text + len, sizeof(text) - 1 - len)) > 0) {
        len += (size_t)n;
    }
    ft_rfile_close(in);
    assert_true(n == 0 && len > 0);
    text[len] = '\0';
    return strdup(text);
}

static void
tree_in_the_first_part(struct fixture *fx, int compress)
{
    struct ft_run_opts o = {
        .dir = fx->dir, .run_id = "r1", .tsc_ns_per_tick = 1.0, .compress = compress, .zlevel = 1};
    const char *z = compress ? ".zst" : "";
    struct ft_run *r = ft_run_new(&o);
    struct recs a = {.n = 0}, b = {.n = 0};
    struct ft_wire_decoder d;
    struct stat part, tree;
    struct ft_frame f;
    struct stream s;
    char path[256], *text;
    size_t pad;

    start(&s);
    stream_thread(&s, 2, "worker");
    for (int i = 0; i < 300; i++) { /* more than a block of calls */
        rec2(&a, FT_REC_CALL, 2, T0 + 1000 + (uint64_t)i * 2);
        rec2(&a, FT_REC_RETURN, 2, T0 + 1001 + (uint64_t)i * 2);
    }
    rec2(&b, FT_REC_CALL, 1, T0 + 1000);
    rec2(&b, FT_REC_RETURN, 1, T0 + 9000);
    stream_events(&s, 1, &a);
    stream_events(&s, 2, &b);
    stream_end(&s, FT_END_EXIT, 0, T0 + 10000);
    ft_wire_decoder_init(&d);
    ft_wire_decoder_feed(&d, s.p, s.len);
    while (ft_wire_next_frame(&d, &f) == 1) {
        assert_int_equal(ft_run_frame(r, &f), 0);
    }
    ft_run_flush(r);
    snprintf(path, sizeof(path), "%s/r1/.thread-1.part%s", fx->dir, z);
    assert_int_equal(stat(path, &part), 0);
    assert_int_equal(ft_run_finish(r, FT_END_KILLED, NULL), 0);
    ft_run_free(r);
    ft_wire_decoder_close(&d);
    free(s.p);
    snprintf(path, sizeof(path), "%s/r1/tree.json%s", fx->dir, z);
    assert_int_equal(stat(path, &tree), 0);
    text = compress ? unzstd_tree(fx->dir) : slurp_must(fx->dir, "r1", "tree.json");
    pad = compress ? 0 : tree_unpad(text);
    if (can_insert_range(fx->dir)) {
        /* The first thread's part became tree.json: its calls were never copied. */
        assert_int_equal(tree.st_ino, part.st_ino);
        if (!compress) {
            assert_int_equal((strstr(text, "{\"id\":1,") - text + pad) % (size_t)tree.st_blksize,
                             0);
        }
    } else {
        assert_int_equal(pad, 0);
    }
    snprintf(path, sizeof(path), "%s/r1/.thread-1.part%s", fx->dir, z);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/r1/.thread-2.part%s", fx->dir, z);
    assert_int_equal(access(path, F_OK), -1);
    assert_non_null(strstr(text, "\"threads\":[{\"name\":\"MainThread\",\"tid\":101,\"calls\":["
                                 "{\"id\":1,"));
    assert_non_null(strstr(text, "]},{\"name\":\"worker\",\"tid\":102,\"calls\":[{\"id\":301,"));
    assert_non_null(strstr(text, "\"durationMicros\":8.000}]}]}\n"));
    free(text);
}

static void
the_tree_is_made_in_the_first_threads_part_without_a_copy(void **state)
{
    tree_in_the_first_part(*state, 0);
}

/* Compressed too: the head is a zstd frame of its own, padded by a skippable frame. */
static void
a_compressed_tree_is_made_in_the_first_threads_part_without_a_copy(void **state)
{
    tree_in_the_first_part(*state, 1);
}

/* A reader finds a run being written going at every step: from its directory, before
 * any file is in it, through .live and events.jsonl, until tree.json is in place (CI:
 * test_live's tail saw a run with .live and no lock yet "has not finished"; the end had
 * the same gap between events.jsonl's close and tree.json). A run given up without a
 * tree or a record recorded nothing. */
static void
a_run_reads_as_going_from_its_directory_until_its_tree_is_there(void **state)
{
    struct fixture *fx = *state;
    struct ft_tree_thread main_thread = {1, "MainThread", 101};
    static const char head[] = "{\"format\":4,\"threads\":[";
    struct ft_runfiles f;
    uint64_t settled = 0;
    char run[128];

    for (int given_up = 0; given_up < 2; given_up++) {
        const char *id = given_up ? "r2" : "r1";
        snprintf(run, sizeof(run), "%s/%s", fx->dir, id);
        ft_runfiles_init(&f);
        assert_int_equal(ft_runfiles_create(&f, fx->dir, id, 1, T0), 0);
        assert_int_equal(ft_rfile_state(run), FT_RUN_RUNNING);
        ft_runfiles_write_live(&f, head, sizeof(head) - 1, 0, 0, 0, &main_thread, 1);
        assert_int_equal(ft_rfile_state(run), FT_RUN_RUNNING);
        assert_int_equal(ft_runfiles_open_events(&f, &settled), 0);
        assert_int_equal(ft_rfile_state(run), FT_RUN_RUNNING);
        ft_runfiles_close_events(&f);
        assert_int_equal(ft_rfile_state(run), FT_RUN_RUNNING);
        if (!given_up) {
            assert_int_equal(
                ft_runfiles_write_tree(&f, head, sizeof(head) - 1, &main_thread, 1, 1, "", 0), 0);
            assert_int_equal(ft_rfile_state(run), FT_RUN_COMPLETE);
        }
        ft_runfiles_unlock(&f);
        /* Given up with nothing written (.live, an empty events.jsonl): nothing to rebuild. */
        assert_int_equal(ft_rfile_state(run), given_up ? FT_RUN_NOTHING : FT_RUN_COMPLETE);
        ft_runfiles_free(&f);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(nested_calls_give_exact_jsonl_and_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(open_pieces_give_the_files_of_whole_frames, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(missed_return_closes_inner_calls_as_incomplete, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stream_without_end_closes_open_calls_as_killed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(undefined_code_id_is_an_error_and_earlier_frames_are_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(protocol_order_is_enforced, setup, teardown),
        cmocka_unit_test_setup_teardown(each_thread_gets_its_own_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(the_tree_is_made_in_the_first_threads_part_without_a_copy,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_compressed_tree_is_made_in_the_first_threads_part_without_a_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_run_reads_as_going_from_its_directory_until_its_tree_is_there, setup, teardown),
    };
    return cmocka_run_group_tests_name("run", tests, NULL, NULL);
}
