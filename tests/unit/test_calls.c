/* test_calls.c - values, exceptions, generators and filters in a run's outputs. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
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
    test_dir_make(dir, sizeof(dir), "calls");
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
run_stream(const char *run_id, struct stream *s)
{
    test_run_stream(dir, run_id, s, FT_END_KILLED);
}

static void
begin(struct stream *s, uint64_t max_depth, uint64_t min_ns)
{
    memset(s, 0, sizeof(*s));
    stream_hello_opts(s, 42, "python3\0app.py", 14, max_depth, min_ns);
    stream_thread(s, 1, "MainThread");
    stream_def_params(s, 1, "app", "main", "/app.py", 1, 0, NULL, 0);
    stream_def_params(s, 2, "app", "Inventory.add", "/app.py", 5, FT_DEF_METHOD, "item\0count", 10);
    stream_def_params(s, 3, "app", "gen", "/app.py", 9, FT_DEF_GENERATOR, NULL, 0);
    stream_def_params(s, 4, "app", "leaf", "/app.py", 12, 0, NULL, 0);
}

/* The tree's nodes as "name[children]" text: the structure, nothing else. */
static void
outline(const char *tree, char *out, size_t cap)
{
    const char *p = tree;
    size_t n = 0;

    while ((p = strstr(p, "\"function\":\"")) != NULL && n + 64 < cap) {
        p += 12;
        const char *e = strchr(p, '"');
        n += (size_t)snprintf(out + n, cap - n, "%.*s ", (int)(e - p), p);
    }
    out[n] = '\0';
}

/* A value's format-3 JSON as the library sends it: length word with FT_ARG_JSON. */
static size_t
lpj(uint8_t *out, size_t pos, const char *json)
{
    uint32_t n = (uint32_t)strlen(json), word = n | FT_ARG_JSON;

    memcpy(out + pos, &word, 4);
    memcpy(out + pos + 4, json, n);
    return pos + 4 + n;
}

#define ORDER    "{\"type\": \"app.Order\", \"repr\": \"<app.Order object at 0x1>\"}"
#define REDACTED "{\"redacted\": true, \"repr\": \"<redacted>\"}"

/* A call of code 2 with its ARGS, returning with the value record rkind. */
static void
call_with_values(struct recs *r, const uint8_t *args, size_t n, unsigned rkind, const void *res,
                 size_t rlen)
{
    rec2(r, FT_REC_CALL, 2, T0 + 1000);
    recv_(r, FT_REC_ARGS, args, n);
    rec2(r, FT_REC_RETURN, 2, T0 + 2000);
    recv_(r, rkind, res, rlen);
}

static void
arguments_results_and_exceptions_are_attached_to_their_calls(void **state)
{
    struct stream s;
    struct recs r = {.n = 0};
    uint8_t args[64], exc[64];
    uint64_t inst = 0x7f00beef;
    size_t n;
    char *jsonl, *tree;

    (void)state;
    begin(&s, 0, 0);
    memcpy(args, &inst, 8);
    n = lpj(args, 8, "\"coffee\"");
    n = lpj(args, n, "[2, 2.5]");
    call_with_values(&r, args, n, FT_REC_RESULT_JSON, ORDER, strlen(ORDER));
    rec2(&r, FT_REC_CALL, 4, T0 + 3000);
    rec2(&r, FT_REC_UNWIND, 4, T0 + 4000);
    n = lp(exc, 0, "ValueError");
    n = lp(exc, n, "builtins");
    n = lp(exc, n, "bad \"input\"");
    recv_(&r, FT_REC_EXC, exc, n);
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    run_stream("r1", &s);

    jsonl = slurp_must(dir, "r1", "events.jsonl");
    assert_non_null(strstr(jsonl, "\"id\":1,\"parent\":null,\"args\":{\"item\":\"coffee\","
                                  "\"count\":[2, 2.5]},\"instance\":\"0x7f00beef\"}\n"));
    assert_non_null(strstr(jsonl, "\"durationMillis\":0.001,\"result\":" ORDER "}\n"));
    assert_non_null(strstr(jsonl, "{\"event\":\"EXCEPTION\""));
    assert_non_null(strstr(jsonl, "\"exception\":{\"type\":\"ValueError\",\"module\":\"builtins\","
                                  "\"message\":\"bad \\\"input\\\"\"}}\n"));
    tree = slurp_must(dir, "r1", "tree.json");
    assert_non_null(strstr(tree,
                           "\"startMicros\":1.000,\"instance\":\"0x7f00beef\",\"args\":{\"item\":"
                           "\"coffee\",\"count\":[2, 2.5]},\"children\":[],"
                           "\"durationMicros\":1.000,\"result\":" ORDER "}"));
    free(jsonl);
    free(tree);
}

/* An optional EXC field: tag, length, bytes. */
static size_t
exc_field(uint8_t *out, size_t pos, uint32_t tag, const void *p, uint32_t n)
{
    memcpy(out + pos, &tag, 4);
    memcpy(out + pos + 4, &n, 4);
    memcpy(out + pos + 8, p, n);
    return pos + 8 + n;
}

static void
where_an_exception_was_raised_its_causes_the_line_and_locals_of_each_frame_it_left(void **state)
{
    struct stream s;
    struct recs r = {.n = 0};
    uint8_t exc[512], cause[256], locals[128];
    uint32_t line = 3, left = 7, count = 2, via_line = 12;
    size_t n, cn, ln;
    char *jsonl, *tree;

    (void)state;
    begin(&s, 0, 0);
    rec2(&r, FT_REC_CALL, 4, T0 + 1000);
    rec2(&r, FT_REC_UNWIND, 4, T0 + 2000);
    recv_(&r, FT_REC_LEFT_AT, &left, 4);
    memcpy(locals, &count, 4);
    ln = lp(locals, 4, "path");
    ln = lpj(locals, ln, "\"cfg\"");
    ln = lp(locals, ln, "password");
    ln = lpj(locals, ln, REDACTED);
    recv_(&r, FT_REC_LOCALS, locals, ln);
    n = lp(exc, 0, "RuntimeError");
    n = lp(exc, n, "builtins");
    n = lp(exc, n, "cannot load");
    n = exc_field(exc, n, FT_EXC_RAISE_FILE, "/src/app.py", 11);
    n = exc_field(exc, n, FT_EXC_RAISE_LINE, &line, 4);
    n = exc_field(exc, n, 99, "later", 5); /* unknown fields are skipped */
    cause[0] = 1;
    memcpy(cause + 1, &via_line, 4);
    cn = lp(cause, 5, "ValueError");
    cn = lp(cause, cn, "builtins");
    cn = lp(cause, cn, "bad");
    cn = lp(cause, cn, "/src/parse.py");
    n = exc_field(exc, n, FT_EXC_CAUSE, cause, (uint32_t)cn);
    recv_(&r, FT_REC_EXC, exc, n);
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    run_stream("r20", &s);

    jsonl = slurp_must(dir, "r20", "events.jsonl");
    assert_non_null(strstr(
        jsonl, "\"exception\":{\"type\":\"RuntimeError\",\"module\":\"builtins\",\"message\":"
               "\"cannot load\"},\"cause\":[{\"type\":\"ValueError\",\"module\":\"builtins\","
               "\"message\":\"bad\",\"file\":\"/src/parse.py\",\"line\":12,\"via\":\"cause\"}],"
               "\"raise\":{\"file\":\"/src/app.py\",\"line\":3},\"leftAt\":7,\"locals\":{"
               "\"path\":\"cfg\",\"password\":" REDACTED "}}\n"));
    tree = slurp_must(dir, "r20", "tree.json");
    assert_non_null(strstr(tree, "\"leftAt\":7,\"locals\":{\"path\":\"cfg\""));
    free(jsonl);
    free(tree);
}

/* Ints travel as 8 bytes (FT_ARG_INT, RESULT_INT) and are written as JSON numbers, or
 * described past 2^53 - 1 (JSON readers would lose their digits). */
static size_t
put_int_arg(uint8_t *p, size_t n, int64_t x)
{
    uint32_t tag = FT_ARG_INT | 8;

    memcpy(p + n, &tag, 4);
    memcpy(p + n + 4, &x, 8);
    return n + 12;
}

/* Runs r's records as thread 1 of a run that ends cleanly; returns its events.jsonl. */
static char *
run_recs(const char *run_id, struct recs *r)
{
    struct stream s;

    begin(&s, 0, 0);
    stream_events(&s, 1, r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    run_stream(run_id, &s);
    return slurp_must(dir, run_id, "events.jsonl");
}

static void
ints_sent_as_binary_are_written_as_numbers(void **state)
{
    struct recs r = {.n = 0};
    uint8_t args[64];
    int64_t big = INT64_MIN, res = -20;
    size_t n;
    char *jsonl;

    (void)state;
    memset(args, 0, 8);
    n = lpj(args, 8, "\"coffee\"");
    n = put_int_arg(args, n, big);
    call_with_values(&r, args, n, FT_REC_RESULT_INT, &res, 8);
    jsonl = run_recs("ints", &r);
    assert_non_null(strstr(jsonl, "\"args\":{\"item\":\"coffee\",\"count\":{\"type\": \"int\", "
                                  "\"repr\": \"-9223372036854775808\"}}}\n"));
    assert_non_null(strstr(jsonl, "\"result\":-20}\n"));
    free(jsonl);
}

/* Text without FT_ARG_JSON (a stream before 1.8: a rendering) is shown by its repr; text
 * flagged JSON that is not (broken quoting, bad UTF-8) is too, and the run counts it. */
static void
text_of_an_older_stream_and_malformed_json_are_described(void **state)
{
    struct recs r = {.n = 0};
    uint8_t args[64] = {0};
    size_t n;
    char *jsonl, *tree;

    (void)state;
    n = lp(args, 8, "'coffee'");
    n = lpj(args, n, "[1, \"unclosed]");
    call_with_values(&r, args, n, FT_REC_RESULT_JSON, "\"\xff\"", 3);
    jsonl = run_recs("old-and-bad", &r);
    assert_non_null(strstr(jsonl, "\"args\":{\"item\":{\"repr\": \"'coffee'\"},"
                                  "\"count\":{\"repr\": \"[1, \\\"unclosed]\"}}}\n"));
    assert_non_null(strstr(jsonl, "\"result\":{\"repr\": \"\\\"\xef\xbf\xbd\\\"\"}}\n"));
    tree = slurp_must(dir, "old-and-bad", "tree.json");
    assert_non_null(strstr(tree, "\"format\":4,"));
    assert_non_null(strstr(tree, "\"calls\":1,\"malformedValues\":2}"));
    free(jsonl);
    free(tree);
}

/* Feeds r's records as thread 1 to a run: the first error. */
static int
first_error(const char *run_id, struct recs *r)
{
    struct stream s;
    struct ft_run_opts o = {.dir = dir, .run_id = run_id, .tsc_ns_per_tick = 1.0, .copies = 0};
    struct ft_run *run = ft_run_new(&o);
    struct ft_wire_decoder d;
    struct ft_frame f;
    int err = 0;

    begin(&s, 0, 0);
    stream_events(&s, 1, r);
    ft_wire_decoder_init(&d);
    ft_wire_decoder_feed(&d, s.p, s.len);
    while (err == 0 && ft_wire_next_frame(&d, &f) == 1) {
        err = ft_run_frame(run, &f);
    }
    ft_run_finish(run, FT_END_KILLED, NULL);
    ft_run_free(run);
    ft_wire_decoder_close(&d);
    free(s.p);
    return err;
}

/* Feeds a call of code 2 carrying one value record to a run: the first error. */
static int
call_value_error(const char *run_id, unsigned vkind, const void *value, size_t len)
{
    struct recs r = {.n = 0};

    rec2(&r, FT_REC_CALL, 2, T0 + 1000);
    recv_(&r, vkind, value, len);
    return first_error(run_id, &r);
}

static void
an_int_argument_of_the_wrong_size_is_malformed(void **state)
{
    uint8_t args[16] = {0};
    uint32_t tag = FT_ARG_INT | 4;

    (void)state;
    memcpy(args + 8, &tag, 4);
    assert_int_equal(call_value_error("bad-int", FT_REC_ARGS, args, 16), FT_EBADRECORD);
}

/* ARGS_INTS (1.4): a call whose arguments are all ints, 8 bytes each, no instance. */
static void
all_int_arguments_are_written_as_numbers(void **state)
{
    struct recs r = {.n = 0};
    int64_t args[2] = {-7, 9007199254740991}, res = 3;
    char *jsonl;

    (void)state;
    rec2(&r, FT_REC_CALL, 2, T0 + 1000);
    recv_(&r, FT_REC_ARGS_INTS, args, sizeof(args));
    rec2(&r, FT_REC_RETURN, 2, T0 + 2000);
    recv_(&r, FT_REC_RESULT_INT, &res, 8);
    jsonl = run_recs("all-ints", &r);
    assert_non_null(strstr(jsonl, "\"parent\":null,\"args\":{\"item\":-7,"
                                  "\"count\":9007199254740991}}\n"));
    assert_null(strstr(jsonl, "instance"));
    free(jsonl);
}

static void
all_int_arguments_of_a_partial_size_are_malformed(void **state)
{
    uint8_t args[12] = {0};

    (void)state;
    assert_int_equal(call_value_error("bad-ints", FT_REC_ARGS_INTS, args, 12), FT_EBADRECORD);
}

/* The file of a run with its run id replaced by "RUN", to compare two runs' bytes. */
static char *
without_run_id(const char *run_id, const char *file)
{
    char *text = slurp_must(dir, run_id, file), *p;
    size_t n = strlen(run_id);

    while ((p = strstr(text, run_id)) != NULL) {
        memcpy(p, "RUN", 3);
        memmove(p + 3, p + n, strlen(p + n) + 1);
    }
    return text;
}

/* Runs r's records as thread 1 with the writer's filters (--max-depth, --min-duration). */
static void
run_filtered(const char *run_id, struct recs *r, uint64_t max_depth, uint64_t min_ns)
{
    struct stream s;

    begin(&s, max_depth, min_ns);
    stream_events(&s, 1, r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    run_stream(run_id, &s);
}

/* CALL_INTS and RETURN_INT (1.9) say what CALL + ARGS_INTS and RETURN + RESULT_INT say:
 * the same lines, the same tree, the same event counts, whichever layout, mixed too, with
 * and without the filters (which take the general way). */
static void
whole_events_write_the_same_run_as_their_two_records(void **state)
{
    struct recs a = {.n = 0}, b = {.n = 0};
    int64_t args[2] = {-7, 9007199254740991}, res = 3, leaf = 40;
    const char *files[] = {"events.jsonl", "tree.json"};
    static const uint64_t filters[][2] = {{0, 0}, {1, 0}, {0, 150}};
    char *tree;

    (void)state;
    rec2(&a, FT_REC_CALL, 2, T0 + 1000);
    recv_(&a, FT_REC_ARGS_INTS, args, sizeof(args));
    rec2(&a, FT_REC_CALL, 4, T0 + 1100); /* no parameters: no value record */
    rec2(&a, FT_REC_RETURN, 4, T0 + 1200);
    recv_(&a, FT_REC_RESULT_INT, &leaf, 8);
    rec2(&a, FT_REC_CALL, 4, T0 + 1300);
    rec2(&a, FT_REC_RETURN, 4, T0 + 1600);
    rec2(&a, FT_REC_RETURN, 2, T0 + 2000);
    recv_(&a, FT_REC_RESULT_INT, &res, 8);
    rec2(&a, FT_REC_CALL, 4, T0 + 3000); /* still running at the end */

    rec_whole(&b, FT_REC_CALL_INTS, 2, T0 + 1000, args, 2);
    rec_whole(&b, FT_REC_CALL_INTS, 4, T0 + 1100, NULL, 0);
    rec_whole(&b, FT_REC_RETURN_INT, 4, T0 + 1200, &leaf, 1);
    rec2(&b, FT_REC_CALL, 4, T0 + 1300);
    rec2(&b, FT_REC_RETURN, 4, T0 + 1600);
    rec_whole(&b, FT_REC_RETURN_INT, 2, T0 + 2000, &res, 1);
    rec_whole(&b, FT_REC_CALL_INTS, 4, T0 + 3000, NULL, 0);

    for (size_t f = 0; f < sizeof(filters) / sizeof(filters[0]); f++) {
        run_filtered("old-layout", &a, filters[f][0], filters[f][1]);
        run_filtered("new-layout", &b, filters[f][0], filters[f][1]);
        for (size_t i = 0; i < 2; i++) {
            char *x = without_run_id("old-layout", files[i]);
            char *y = without_run_id("new-layout", files[i]);
            assert_string_equal(x, y);
            free(x);
            free(y);
        }
        tree = slurp_must(dir, "new-layout", "tree.json");
        assert_non_null(strstr(tree, "\"events\":7,"));
        assert_non_null(
            strstr(tree, (const char *[]){"\"calls\":4}", "\"calls\":2}", "\"calls\":3}"}[f]));
        free(tree);
        test_dir_remove(dir);
        test_dir_make(dir, sizeof(dir), "calls");
    }
}

/* A whole event's length says its layout: anything else is a malformed record. */
static int
whole_event_error(const char *run_id, unsigned kind, size_t len)
{
    struct recs r = {.n = 0};
    uint8_t b[48] = {2};

    recv_(&r, kind, b, len);
    return first_error(run_id, &r);
}

static void
whole_events_of_a_wrong_length_are_malformed(void **state)
{
    (void)state;
    assert_int_equal(whole_event_error("w1", FT_REC_CALL_INTS, 8), FT_EBADRECORD);
    assert_int_equal(whole_event_error("w2", FT_REC_CALL_INTS, 20), FT_EBADRECORD);
    assert_int_equal(whole_event_error("w3", FT_REC_RETURN_INT, 16), FT_EBADRECORD);
    assert_int_equal(whole_event_error("w4", FT_REC_RETURN_INT, 32), FT_EBADRECORD);
    assert_int_equal(whole_event_error("w6", FT_REC_CALL_INTS, 32), 0);
}

static void
one_exception_ends_the_frames_it_unwound_and_not_the_one_that_caught_it(void **state)
{
    struct stream s;
    struct recs r = {.n = 0};
    uint8_t exc[64];
    size_t n;
    char *jsonl;

    (void)state;
    begin(&s, 0, 0);
    n = lp(exc, 0, "KeyError");
    n = lp(exc, n, "builtins");
    n = lp(exc, n, "'tea'");
    rec2(&r, FT_REC_CALL, 1, T0 + 1000); /* main catches */
    rec2(&r, FT_REC_CALL, 3, T0 + 2000); /* (id 3 as a plain call here) */
    rec2(&r, FT_REC_CALL, 4, T0 + 3000); /* leaf raises */
    rec2(&r, FT_REC_UNWIND, 4, T0 + 4000);
    recv_(&r, FT_REC_EXC, exc, n);
    rec2(&r, FT_REC_UNWIND, 3, T0 + 5000);
    recv_(&r, FT_REC_EXC, exc, n);
    rec2(&r, FT_REC_RETURN, 1, T0 + 6000);
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 7000);
    run_stream("r2", &s);
    jsonl = slurp_must(dir, "r2", "events.jsonl");
    /* leaf and gen ended by the KeyError; main returned normally. */
    assert_non_null(strstr(jsonl,
                           "\"function\":\"leaf\",\"pid\":42,\"id\":3,\"durationMicros\":1.000,"
                           "\"durationMillis\":0.001,\"exception\":{\"type\":\"KeyError\""));
    assert_non_null(strstr(jsonl, "{\"event\":\"EXCEPTION\",\"timestamp\":1700000000000005"));
    assert_non_null(strstr(jsonl,
                           "{\"event\":\"EXIT\",\"timestamp\":1700000000000006,"
                           "\"thread\":\"MainThread\",\"module\":\"app\",\"function\":\"main\""));
    free(jsonl);
}

static void
a_generator_is_one_node_with_its_resumptions_in_start_order(void **state)
{
    struct stream s;
    struct recs r = {.n = 0};
    char *jsonl, *tree, shape[512];

    (void)state;
    begin(&s, 0, 0);
    rec2(&r, FT_REC_CALL, 1, T0 + 1000);      /* main */
    rec3(&r, FT_REC_START, 3, T0 + 2000, 77); /* gen starts */
    rec2(&r, FT_REC_CALL, 4, T0 + 2100);      /*   leaf */
    rec2(&r, FT_REC_RETURN, 4, T0 + 2200);
    rec2(&r, FT_REC_YIELD, 3, T0 + 3000); /* gen suspends */
    rec2(&r, FT_REC_CALL, 2, T0 + 4000);  /* main calls add meanwhile */
    rec2(&r, FT_REC_RETURN, 2, T0 + 4500);
    rec3(&r, FT_REC_RESUME, 3, T0 + 5000, 77); /* gen resumes */
    rec2(&r, FT_REC_CALL, 4, T0 + 5100);       /*   leaf */
    rec2(&r, FT_REC_RETURN, 4, T0 + 5200);
    rec2(&r, FT_REC_RETURN, 3, T0 + 6000); /* gen ends */
    rec2(&r, FT_REC_RETURN, 1, T0 + 7000);
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 8000);
    run_stream("r3", &s);
    tree = slurp_must(dir, "r3", "tree.json");
    outline(tree, shape, sizeof(shape));
    /* gen, with both leaves, comes before add: the order in which they started. */
    assert_string_equal(shape, "main gen leaf leaf Inventory.add ");
    assert_non_null(strstr(tree, "\"durationMicros\":4.000,\"resumes\":1,\"activeMicros\":2.000}"));
    jsonl = slurp_must(dir, "r3", "events.jsonl");
    assert_non_null(strstr(jsonl, "\"function\":\"leaf\",\"file\":\"/app.py\",\"line\":12,"
                                  "\"pid\":42,\"id\":5,\"parent\":2}"));
    free(jsonl);
    free(tree);
}

/* A malformed stream (the fuzzer's): a generator resumed while it runs, which CPython
 * refuses. That resumption is ignored; the generator suspends, resumes and ends once. */
static void
a_generator_resumed_while_it_runs_is_resumed_once(void **state)
{
    struct recs r = {.n = 0};
    char *jsonl, *tree;

    (void)state;
    rec2(&r, FT_REC_CALL, 1, T0 + 1000);
    rec3(&r, FT_REC_START, 3, T0 + 2000, 77);
    rec3(&r, FT_REC_RESUME, 3, T0 + 2500, 77); /* while it runs */
    rec2(&r, FT_REC_YIELD, 3, T0 + 3000);
    rec3(&r, FT_REC_RESUME, 3, T0 + 3500, 77);
    rec2(&r, FT_REC_RETURN, 3, T0 + 4000);
    rec2(&r, FT_REC_RETURN, 1, T0 + 5000);
    jsonl = run_recs("resumed-running", &r);
    tree = slurp_must(dir, "resumed-running", "tree.json");
    assert_non_null(strstr(tree, "\"function\":\"gen\",\"file\":\"/app.py\",\"line\":9,"
                                 "\"startMicros\":2.000,\"children\":[],"
                                 "\"durationMicros\":2.000,\"resumes\":1,"
                                 "\"activeMicros\":1.500}"));
    assert_non_null(strstr(jsonl, "\"id\":2,\"durationMicros\":2.000,"
                                  "\"durationMillis\":0.002,\"resumes\":1,"
                                  "\"activeMicros\":1.500}\n"));
    free(jsonl);
    free(tree);
}

static void
a_task_nests_under_the_call_that_created_it(void **state)
{
    struct stream s;
    struct recs r = {.n = 0};
    char *tree, shape[512];

    (void)state;
    begin(&s, 0, 0);
    rec2(&r, FT_REC_CALL, 1, T0 + 1000);      /* <module>-like caller */
    rec3(&r, FT_REC_START, 3, T0 + 2000, 10); /* the main coroutine */
    rec3(&r, FT_REC_SPAWN, 0, T0 + 2100, 20); /* it creates a task */
    rec2(&r, FT_REC_YIELD, 3, T0 + 2200);     /* and awaits it */
    rec3(&r, FT_REC_START, 3, T0 + 3000, 20); /* the loop runs the task */
    rec2(&r, FT_REC_CALL, 4, T0 + 3100);
    rec2(&r, FT_REC_RETURN, 4, T0 + 3200);
    rec2(&r, FT_REC_RETURN, 3, T0 + 3300);
    rec3(&r, FT_REC_RESUME, 3, T0 + 4000, 10);
    rec2(&r, FT_REC_RETURN, 3, T0 + 4100);
    rec2(&r, FT_REC_RETURN, 1, T0 + 5000);
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 6000);
    run_stream("r4", &s);
    tree = slurp_must(dir, "r4", "tree.json");
    outline(tree, shape, sizeof(shape));
    assert_string_equal(shape, "main gen gen leaf ");
    /* Output format 2: a node's caller is its parent, written only at a unit's root. */
    assert_null(strstr(tree, "\"caller\""));
    free(tree);
}

/* A frame's address is used again once it is freed, and threads' records reach the
 * writer in their own order: a generator of another thread at the same address, whose
 * records arrive later though they happened earlier, is another generator, not a reuse
 * of this one's frame. A generator one thread yields and another resumes stays one. */
static void
threads_reusing_a_frame_address_keep_their_own_generators(void **state)
{
    struct stream s;
    struct recs a = {.n = 0}, b = {.n = 0}, c = {.n = 0};
    char *tree, shape[512];

    (void)state;
    begin(&s, 0, 0);
    stream_thread(&s, 2, "worker");
    rec2(&a, FT_REC_CALL, 1, T0 + 1000);
    rec3(&a, FT_REC_START, 3, T0 + 5000, 40); /* main's coroutine, at address 40 */
    rec2(&a, FT_REC_YIELD, 3, T0 + 5100);     /* suspended */
    stream_events(&s, 1, &a);
    rec3(&b, FT_REC_START, 3, T0 + 2000, 40); /* the worker's, earlier, same address */
    rec2(&b, FT_REC_CALL, 4, T0 + 2100);
    rec2(&b, FT_REC_RETURN, 4, T0 + 2200);
    rec2(&b, FT_REC_RETURN, 3, T0 + 2300);
    rec3(&b, FT_REC_START, 3, T0 + 6000, 50); /* one the worker yields... */
    rec2(&b, FT_REC_YIELD, 3, T0 + 6100);
    stream_events(&s, 2, &b);
    a.n = 0;
    rec3(&a, FT_REC_RESUME, 3, T0 + 7000, 40); /* main's goes on */
    rec2(&a, FT_REC_CALL, 4, T0 + 7100);
    rec2(&a, FT_REC_RETURN, 4, T0 + 7200);
    rec2(&a, FT_REC_RETURN, 3, T0 + 7300);
    stream_events(&s, 1, &a);
    rec3(&c, FT_REC_RESUME, 3, T0 + 8000, 50); /* ...and main resumes and ends */
    rec2(&c, FT_REC_RETURN, 3, T0 + 8100);
    rec2(&c, FT_REC_RETURN, 1, T0 + 9000);
    stream_events(&s, 1, &c);
    stream_end(&s, FT_END_EXIT, 0, T0 + 9500);
    run_stream("r10", &s);
    tree = slurp_must(dir, "r10", "tree.json");
    outline(tree, shape, sizeof(shape));
    assert_string_equal(shape, "main gen leaf gen leaf gen "); /* MainThread, then worker */
    assert_non_null(strstr(tree, "\"startMicros\":5.000,\"children\":[{"));
    assert_null(strstr(tree, "\"closed\":true"));    /* no generator taken for dropped */
    assert_non_null(strstr(tree, "\"resumes\":1,")); /* the worker's second: resumed by main */
    free(tree);
}

/* 3.12+ closes a generator without a handler at its yield silently: it ends at its last
 * yield, closed, once its frame is reused or the interpreter has finished; a process
 * killed before that leaves it unfinished. */
static void
a_suspended_generator_ends_closed_at_its_last_yield(void **state)
{
    const char *runs[2] = {"r8", "r9"};
    const int hows[2] = {FT_END_EXIT, FT_END_SIGNAL};

    (void)state;
    for (int k = 0; k < 2; k++) {
        struct stream s;
        struct recs r = {.n = 0};
        char *tree;

        begin(&s, 0, 0);
        rec2(&r, FT_REC_CALL, 1, T0 + 1000);      /* main */
        rec3(&r, FT_REC_START, 3, T0 + 2000, 77); /*   gen, dropped after one yield */
        rec2(&r, FT_REC_YIELD, 3, T0 + 2500);
        rec3(&r, FT_REC_START, 3, T0 + 3000, 78); /*   gen, left suspended */
        rec2(&r, FT_REC_YIELD, 3, T0 + 3100);
        rec3(&r, FT_REC_START, 3, T0 + 4000, 77); /*   gen, in the first one's frame */
        rec2(&r, FT_REC_RETURN, 3, T0 + 4100);
        rec2(&r, FT_REC_RETURN, 1, T0 + 5000);
        stream_events(&s, 1, &r);
        stream_end(&s, hows[k], 0, T0 + 6000);
        run_stream(runs[k], &s);
        tree = slurp_must(dir, runs[k], "tree.json");
        /* The first: closed when its frame was reused, whatever happened later. */
        assert_non_null(strstr(tree, "\"startMicros\":2.000,\"children\":[],"
                                     "\"durationMicros\":0.500,\"closed\":true"));
        if (hows[k] == FT_END_EXIT) {
            assert_non_null(strstr(tree, "\"startMicros\":3.000,\"children\":[],"
                                         "\"durationMicros\":0.100,\"closed\":true"));
        } else {
            assert_non_null(strstr(tree,
                                   "\"startMicros\":3.000,\"children\":[],"
                                   "\"durationMicros\":3.000,\"resumes\":0,\"activeMicros\":0.100,"
                                   "\"incomplete\":\"not finished\""));
        }
        free(tree);
    }
}

static void
calls_below_max_depth_are_left_out(void **state)
{
    struct stream s;
    struct recs r = {.n = 0};
    char *tree, *jsonl, shape[512];

    (void)state;
    begin(&s, 2, 0);
    rec2(&r, FT_REC_CALL, 1, T0 + 1000);
    rec2(&r, FT_REC_CALL, 2, T0 + 2000);
    rec2(&r, FT_REC_CALL, 4, T0 + 3000);
    rec2(&r, FT_REC_CALL, 4, T0 + 3500);
    rec2(&r, FT_REC_RETURN, 4, T0 + 3600);
    rec2(&r, FT_REC_RETURN, 4, T0 + 4000);
    rec2(&r, FT_REC_RETURN, 2, T0 + 5000);
    rec2(&r, FT_REC_RETURN, 1, T0 + 6000);
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 7000);
    run_stream("r5", &s);
    tree = slurp_must(dir, "r5", "tree.json");
    outline(tree, shape, sizeof(shape));
    assert_string_equal(shape, "main Inventory.add ");
    jsonl = slurp_must(dir, "r5", "events.jsonl");
    assert_null(strstr(jsonl, "leaf"));
    free(jsonl);
    free(tree);
}

static void
calls_shorter_than_min_duration_are_left_out(void **state)
{
    struct stream s;
    struct recs r = {.n = 0};
    char *tree, *jsonl, shape[512];

    (void)state;
    begin(&s, 0, 5000);
    rec2(&r, FT_REC_CALL, 1, T0 + 1000); /* main: 20 us */
    rec2(&r, FT_REC_CALL, 4, T0 + 2000); /* leaf: 1 us, out */
    rec2(&r, FT_REC_RETURN, 4, T0 + 3000);
    rec2(&r, FT_REC_CALL, 2, T0 + 4000); /* add: 10 us, kept */
    rec2(&r, FT_REC_CALL, 4, T0 + 5000); /*   leaf: 0.5 us, out */
    rec2(&r, FT_REC_RETURN, 4, T0 + 5500);
    rec2(&r, FT_REC_RETURN, 2, T0 + 14000);
    rec2(&r, FT_REC_RETURN, 1, T0 + 21000);
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 22000);
    run_stream("r6", &s);
    tree = slurp_must(dir, "r6", "tree.json");
    outline(tree, shape, sizeof(shape));
    assert_string_equal(shape, "main Inventory.add ");
    assert_non_null(strstr(tree, "\"calls\":2}"));
    jsonl = slurp_must(dir, "r6", "events.jsonl");
    assert_null(strstr(jsonl, "leaf"));
    assert_non_null(strstr(jsonl, "\"function\":\"Inventory.add\",\"file\":\"/app.py\",\"line\":5,"
                                  "\"pid\":42,\"id\":3,\"parent\":1}"));
    free(jsonl);
    free(tree);
}

static void
a_gap_ends_the_calls_that_were_open(void **state)
{
    struct stream s;
    struct recs r = {.n = 0};
    char *jsonl;

    (void)state;
    begin(&s, 0, 0);
    rec2(&r, FT_REC_CALL, 1, T0 + 1000);
    rec2(&r, FT_REC_GAP, 3, T0 + 2000);
    rec2(&r, FT_REC_RETURN, 1, T0 + 3000); /* no frame left to match: ignored */
    stream_events(&s, 1, &r);
    stream_end(&s, FT_END_EXIT, 0, T0 + 4000);
    run_stream("r7", &s);
    jsonl = slurp_must(dir, "r7", "events.jsonl");
    assert_non_null(strstr(jsonl, "\"incomplete\":\"events lost\"}\n"));
    assert_null(strstr(jsonl + strlen(jsonl) - 200, "\"event\":\"ENTER\""));
    free(jsonl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arguments_results_and_exceptions_are_attached_to_their_calls),
        cmocka_unit_test(
            where_an_exception_was_raised_its_causes_the_line_and_locals_of_each_frame_it_left),
        cmocka_unit_test(ints_sent_as_binary_are_written_as_numbers),
        cmocka_unit_test(text_of_an_older_stream_and_malformed_json_are_described),
        cmocka_unit_test(an_int_argument_of_the_wrong_size_is_malformed),
        cmocka_unit_test(all_int_arguments_are_written_as_numbers),
        cmocka_unit_test(all_int_arguments_of_a_partial_size_are_malformed),
        cmocka_unit_test(whole_events_write_the_same_run_as_their_two_records),
        cmocka_unit_test(whole_events_of_a_wrong_length_are_malformed),
        cmocka_unit_test(one_exception_ends_the_frames_it_unwound_and_not_the_one_that_caught_it),
        cmocka_unit_test(a_generator_is_one_node_with_its_resumptions_in_start_order),
        cmocka_unit_test(a_suspended_generator_ends_closed_at_its_last_yield),
        cmocka_unit_test(a_generator_resumed_while_it_runs_is_resumed_once),
        cmocka_unit_test(a_task_nests_under_the_call_that_created_it),
        cmocka_unit_test(threads_reusing_a_frame_address_keep_their_own_generators),
        cmocka_unit_test(calls_below_max_depth_are_left_out),
        cmocka_unit_test(calls_shorter_than_min_duration_are_left_out),
        cmocka_unit_test(a_gap_ends_the_calls_that_were_open),
    };
    return cmocka_run_group_tests_name("calls", tests, setup, teardown);
}
