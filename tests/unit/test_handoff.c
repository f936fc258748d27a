/* test_handoff.c - units of work in a run: work handed to other threads (HANDOFF, ADOPT,
 * ADOPT_END) and the framework code that delimits a request (FT_DEF_BOUNDARY). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include "lib/codetab.h"
#include "lib/err.h"
#include "lib/run.h"
#include "lib/units.h"
#include "slurp.h"
#include "stream.h"

#define T0 TEST_MONO_NS

enum { MAIN = 1, APP, HANDS, LEAF, OUTER, INNER, VIEW, WORKER_LOOP };

static char dir[64];

static int
setup(void **state)
{
    (void)state;
    test_dir_make(dir, sizeof(dir), "handoff");
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
    test_run_stream(dir, run_id, s, FT_END_EXIT);
}

/* Threads 1 (MainThread) and 2 (worker); a --unit function APP, a function that hands
 * work off, a leaf, and a request's framework code (OUTER is its app, INNER middleware). */
static void
begin(struct stream *s)
{
    memset(s, 0, sizeof(*s));
    stream_hello(s, 42, "python3\0app.py", 14);
    stream_thread(s, 1, "MainThread");
    stream_thread(s, 2, "worker");
    stream_def(s, MAIN, "__main__", "<module>", "/app.py", 1);
    stream_def(s, APP, "app", "handler", "/app.py", 3);
    stream_def(s, HANDS, "app", "submit_work", "/app.py", 6);
    stream_def(s, LEAF, "app", "leaf", "/app.py", 9);
    stream_def_params(s, OUTER, "server", "Server.__call__", "/srv.py", 1,
                      FT_DEF_METHOD | FT_DEF_BOUNDARY, "environ\0start_response", 22);
    stream_def_params(s, INNER, "framework", "App.wsgi_app", "/fw.py", 1,
                      FT_DEF_METHOD | FT_DEF_BOUNDARY, "environ\0start_response", 22);
    stream_def(s, VIEW, "app", "view", "/app.py", 12);
}

/* A unit record of the given kind (function, or wsgi with a method and path). */
static void
unit_rec(struct recs *r, uint64_t kind)
{
    uint8_t b[256];
    size_t pos = 0;

    ft_put_tlv_u64(b, sizeof(b), &pos, FT_UTAG_KIND, kind);
    if (kind == FT_UNIT_WSGI) {
        ft_put_tlv_str(b, sizeof(b), &pos, FT_UTAG_METHOD, "GET", 3);
        ft_put_tlv_str(b, sizeof(b), &pos, FT_UTAG_PATH, "/boom", 5);
    }
    recv_(r, FT_REC_UNIT, b, pos);
}

/* The tree's calls as "name(children)" text: nesting and names only, plus [thread] where
 * a node names the thread that ran it. Skips JSON strings properly. */
static void
outline(const char *json, char *out, size_t cap)
{
    size_t n = 0;
    int depth = 0;

    out[0] = '\0';
    for (const char *p = json; *p != '\0' && n + 128 < cap; p++) {
        if (strncmp(p, "\"function\":\"", 12) == 0) {
            const char *e = strchr(p + 12, '"');
            n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n && out[n - 1] != '(' ? " " : "",
                                  (int)(e - p - 12), p + 12);
            p = e;
        } else if (strncmp(p, "\"thread\":\"", 10) == 0 && depth > 0) {
            const char *e = strchr(p + 10, '"');
            n += (size_t)snprintf(out + n, cap - n, "[%.*s]", (int)(e - p - 10), p + 10);
            p = e;
        } else if (strncmp(p, "\"children\":[", 12) == 0) {
            depth++;
            p += 11;
            if (p[1] != ']') {
                n += (size_t)snprintf(out + n, cap - n, "(");
            }
        } else if (*p == '"') {
            for (p++; *p != '"'; p++) {
                p += *p == '\\';
            }
        } else if (*p == ']' && depth > 0) {
            if (p[-1] != '[') {
                n += (size_t)snprintf(out + n, cap - n, ")");
            }
            depth--;
        }
    }
}

static char *
unit_file(const char *run, int unit, const char *name)
{
    char rel[128];

    snprintf(rel, sizeof(rel), "units/%d/%s", unit, name);
    return slurp(dir, run, rel);
}

/* The unit's calls hand work to a worker thread that runs it while the handing call
 * waits: the worker's calls are the unit's, under the handing call, their thread named. */
static void
work_handed_to_a_thread_is_part_of_the_unit(void **state)
{
    struct stream s;
    struct recs a = {.n = 0}, b = {.n = 0}, c = {.n = 0};
    char *tree, *units, *events, *run_tree, shape[512];

    (void)state;
    begin(&s);
    rec2(&a, FT_REC_CALL, MAIN, T0 + 1000);
    rec2(&a, FT_REC_CALL, APP, T0 + 2000);
    unit_rec(&a, FT_UNIT_FUNCTION);
    rec2(&a, FT_REC_CALL, HANDS, T0 + 2100);
    rec3(&a, FT_REC_HANDOFF, 0, T0 + 2200, 0xabc0);
    stream_events(&s, 1, &a);
    rec2(&b, FT_REC_CALL, LEAF, T0 + 2300); /* the worker's own call before: not adopted */
    rec2(&b, FT_REC_RETURN, LEAF, T0 + 2350);
    rec3(&b, FT_REC_ADOPT, 0, T0 + 2400, 0xabc0);
    rec2(&b, FT_REC_CALL, LEAF, T0 + 2500);
    rec2(&b, FT_REC_CALL, LEAF, T0 + 2600);
    rec2(&b, FT_REC_RETURN, LEAF, T0 + 2700);
    rec2(&b, FT_REC_RETURN, LEAF, T0 + 2800);
    rec2(&b, FT_REC_CALL, VIEW, T0 + 2850);
    rec2(&b, FT_REC_RETURN, VIEW, T0 + 2860);
    rec2(&b, FT_REC_ADOPT_END, 0, T0 + 2900);
    rec2(&b, FT_REC_CALL, LEAF, T0 + 3000); /* after the work: the worker's own again */
    rec2(&b, FT_REC_RETURN, LEAF, T0 + 3100);
    stream_events(&s, 2, &b);
    rec2(&c, FT_REC_CALL, LEAF, T0 + 3200); /* the handing call goes on */
    rec2(&c, FT_REC_RETURN, LEAF, T0 + 3300);
    rec2(&c, FT_REC_RETURN, HANDS, T0 + 3400);
    rec2(&c, FT_REC_RETURN, APP, T0 + 3500);
    rec2(&c, FT_REC_RETURN, MAIN, T0 + 4000);
    stream_events(&s, 1, &c);
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    run_stream("h1", &s);

    tree = unit_file("h1", 1, "tree.json");
    assert_non_null(tree);
    outline(tree, shape, sizeof(shape));
    assert_string_equal(shape, "handler(submit_work(leaf[worker](leaf) view[worker] leaf))");
    assert_non_null(strstr(tree, "\"line\":9,\"startMicros\":2.500,\"thread\":\"worker\""));
    units = slurp_must(dir, "h1", "units.jsonl");
    assert_non_null(strstr(units, "\"calls\":6,"));
    events = unit_file("h1", 1, "events.jsonl");
    assert_non_null(strstr(events, "\"thread\":\"worker\",\"module\":\"app\",\"function\":\"leaf\","
                                   "\"file\":\"/app.py\",\"line\":9,\"pid\":42,\"unit\":1,"
                                   "\"id\":5,\"parent\":3}"));
    run_tree = slurp_must(dir, "h1", "tree.json");
    outline(run_tree, shape, sizeof(shape));
    assert_string_equal(shape, "<module> leaf leaf"); /* the worker's own calls only */
    free(tree);
    free(units);
    free(events);
    free(run_tree);
}

/* The handing call returned before the thread started the work (Thread.start() in a
 * helper): it is kept open for it, so the work is still the unit's; the unit ends with it. */
static void
work_adopted_after_the_handing_call_returned_is_still_the_units(void **state)
{
    struct stream s;
    struct recs a = {.n = 0}, b = {.n = 0};
    char *tree, *units, shape[512];

    (void)state;
    begin(&s);
    rec2(&a, FT_REC_CALL, APP, T0 + 2000);
    unit_rec(&a, FT_UNIT_FUNCTION);
    rec2(&a, FT_REC_CALL, HANDS, T0 + 2100);
    rec3(&a, FT_REC_HANDOFF, 0, T0 + 2200, 0x5550);
    rec2(&a, FT_REC_RETURN, HANDS, T0 + 2300);
    rec2(&a, FT_REC_CALL, LEAF, T0 + 2400);
    rec2(&a, FT_REC_RETURN, LEAF, T0 + 2500);
    rec2(&a, FT_REC_RETURN, APP, T0 + 2600);
    stream_events(&s, 1, &a);
    rec3(&b, FT_REC_ADOPT, 0, T0 + 3000, 0x5550);
    rec2(&b, FT_REC_CALL, VIEW, T0 + 3100);
    rec2(&b, FT_REC_RETURN, VIEW, T0 + 3200);
    stream_events(&s, 2, &b);
    stream_frame(&s, FT_FRAME_THREAD_END, 2, "", 0); /* the thread ends: so does the work */
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    run_stream("h2", &s);

    tree = unit_file("h2", 1, "tree.json");
    assert_non_null(tree);
    outline(tree, shape, sizeof(shape));
    assert_string_equal(shape, "handler(submit_work(view[worker]) leaf)");
    units = slurp_must(dir, "h2", "units.jsonl");
    assert_non_null(strstr(units, "\"calls\":4,"));
    free(tree);
    free(units);
}

/* Outside units nothing changes: a thread's calls are its own, whoever started it. */
static void
work_handed_off_outside_a_unit_stays_in_its_thread(void **state)
{
    struct stream s;
    struct recs a = {.n = 0}, b = {.n = 0};
    char *tree, shape[512];

    (void)state;
    begin(&s);
    rec2(&a, FT_REC_CALL, HANDS, T0 + 2100);
    rec3(&a, FT_REC_HANDOFF, 0, T0 + 2200, 0x7770);
    stream_events(&s, 1, &a);
    rec3(&b, FT_REC_ADOPT, 0, T0 + 3000, 0x7770);
    rec2(&b, FT_REC_CALL, VIEW, T0 + 3100);
    rec2(&b, FT_REC_RETURN, VIEW, T0 + 3200);
    rec2(&b, FT_REC_ADOPT_END, 0, T0 + 3300);
    stream_events(&s, 2, &b);
    a.n = 0;
    rec2(&a, FT_REC_RETURN, HANDS, T0 + 4000);
    stream_events(&s, 1, &a);
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    run_stream("h3", &s);
    tree = slurp_must(dir, "h3", "tree.json");
    outline(tree, shape, sizeof(shape));
    assert_string_equal(shape, "submit_work view");
    assert_null(slurp(dir, "h3", "units.jsonl"));
    free(tree);
}

/* Two requests hand work to two workers at once: each keeps its own. A hand-off never
 * adopted ends with the run, and its call with it. */
static void
concurrent_hand_offs_keep_to_their_units(void **state)
{
    struct stream s;
    struct recs a = {.n = 0}, b = {.n = 0}, c = {.n = 0};
    char *t1, *t2, shape[512];

    (void)state;
    begin(&s);
    stream_thread(&s, 3, "loop-2");
    rec2(&a, FT_REC_CALL, APP, T0 + 1000);
    unit_rec(&a, FT_UNIT_FUNCTION);
    rec3(&a, FT_REC_HANDOFF, 0, T0 + 1100, 0x1110);
    stream_events(&s, 1, &a);
    rec2(&c, FT_REC_CALL, APP, T0 + 1200);
    unit_rec(&c, FT_UNIT_FUNCTION);
    rec3(&c, FT_REC_HANDOFF, 0, T0 + 1300, 0x2220);
    rec3(&c, FT_REC_HANDOFF, 0, T0 + 1310, 0x3330); /* never adopted */
    stream_events(&s, 3, &c);
    rec3(&b, FT_REC_ADOPT, 0, T0 + 1400, 0x2220);
    rec2(&b, FT_REC_CALL, VIEW, T0 + 1500);
    rec2(&b, FT_REC_RETURN, VIEW, T0 + 1600);
    rec3(&b, FT_REC_ADOPT, 0, T0 + 1700, 0x1110); /* the next item: the last one is over */
    rec2(&b, FT_REC_CALL, LEAF, T0 + 1800);
    rec2(&b, FT_REC_RETURN, LEAF, T0 + 1900);
    rec2(&b, FT_REC_ADOPT_END, 0, T0 + 2000);
    stream_events(&s, 2, &b);
    a.n = c.n = 0;
    rec2(&a, FT_REC_RETURN, APP, T0 + 2100);
    stream_events(&s, 1, &a);
    rec2(&c, FT_REC_RETURN, APP, T0 + 2200);
    stream_events(&s, 3, &c);
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    run_stream("h4", &s);

    t1 = unit_file("h4", 1, "tree.json");
    t2 = unit_file("h4", 2, "tree.json");
    assert_non_null(t1);
    assert_non_null(t2);
    outline(t1, shape, sizeof(shape));
    assert_string_equal(shape, "handler(leaf[worker])");
    outline(t2, shape, sizeof(shape));
    assert_string_equal(shape, "handler(view[worker])");
    free(t1);
    free(t2);
}

/* A request's framework code (its app, middleware) has no level: the tree is the
 * request's call, then the application's code; the exception path is the application's. */
static void
a_request_tree_is_the_request_then_the_application(void **state)
{
    struct stream s;
    struct recs a = {.n = 0}, b = {.n = 0};
    uint8_t exc[64];
    size_t n;
    char *tree, *units, *events, shape[512];

    (void)state;
    begin(&s);
    rec2(&a, FT_REC_CALL, OUTER, T0 + 1000);
    unit_rec(&a, FT_UNIT_WSGI);
    rec2(&a, FT_REC_CALL, INNER, T0 + 1100);
    unit_rec(&a, FT_UNIT_WSGI); /* an inner app: already inside the unit */
    rec2(&a, FT_REC_CALL, VIEW, T0 + 1200);
    rec3(&a, FT_REC_HANDOFF, 0, T0 + 1250, 0x9990);
    stream_events(&s, 1, &a);
    rec3(&b, FT_REC_ADOPT, 0, T0 + 1300, 0x9990);
    rec2(&b, FT_REC_CALL, LEAF, T0 + 1400);
    rec2(&b, FT_REC_UNWIND, LEAF, T0 + 1500);
    n = lp(exc, 0, "ZeroDivisionError");
    n = lp(exc, n, "builtins");
    n = lp(exc, n, "no items");
    recv_(&b, FT_REC_EXC, exc, n);
    rec2(&b, FT_REC_ADOPT_END, 0, T0 + 1600);
    stream_events(&s, 2, &b);
    a.n = 0;
    rec2(&a, FT_REC_UNWIND, VIEW, T0 + 1700);
    rec2(&a, FT_REC_UNWIND, INNER, T0 + 1800);
    recv_(&a, FT_REC_EXC, exc, n);
    rec2(&a, FT_REC_RETURN, OUTER, T0 + 1900);
    stream_events(&s, 1, &a);
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    run_stream("h5", &s);

    tree = unit_file("h5", 1, "tree.json");
    assert_non_null(tree);
    outline(tree, shape, sizeof(shape));
    assert_string_equal(shape, "Server.__call__(view(leaf[worker]))");
    assert_non_null(strstr(tree, "\"function\":\"view\",\"file\":\"/app.py\",\"line\":12,"
                                 "\"startMicros\":1.200,\"children\":["));
    units = slurp_must(dir, "h5", "units.jsonl");
    assert_non_null(strstr(units, "\"name\":\"GET /boom\""));
    assert_non_null(strstr(units, "\"calls\":3,"));
    assert_non_null(strstr(units, "\"exception\":{\"type\":\"ZeroDivisionError\""));
    assert_non_null(strstr(units, "\"exceptionPath\":\"view > leaf\""));
    events = unit_file("h5", 1, "events.jsonl");
    assert_null(strstr(events, "wsgi_app")); /* no lines for framework code */
    assert_non_null(strstr(events, "\"function\":\"view\",\"file\":\"/app.py\",\"line\":12,"
                                   "\"pid\":42,\"unit\":1"));
    free(tree);
    free(units);
    free(events);
}

/* Units one after the other on a thread, calling the same code: each unit's lines name it,
 * also when a unit's state takes the memory of one already ended (the text writer keeps a
 * code's line middles for the destination it last wrote them for: it was known by its
 * address, and a request's lines said the previous request's unit and request id). */
static void
each_units_lines_name_it_when_a_unit_reuses_an_ended_ones_memory(void **state)
{
    struct stream s;
    struct recs a = {.n = 0};
    char *events;

    (void)state;
    begin(&s);
    rec2(&a, FT_REC_CALL, MAIN, T0 + 1000);
    for (uint64_t k = 0; k < 3; k++) {
        uint64_t at = T0 + 2000 + k * 1000;
        rec2(&a, FT_REC_CALL, APP, at);
        unit_rec(&a, FT_UNIT_FUNCTION);
        rec2(&a, FT_REC_CALL, VIEW, at + 100);
        rec2(&a, FT_REC_RETURN, VIEW, at + 200);
        rec2(&a, FT_REC_RETURN, APP, at + 300);
    }
    rec2(&a, FT_REC_RETURN, MAIN, T0 + 9000);
    stream_events(&s, 1, &a);
    stream_end(&s, FT_END_EXIT, 0, T0 + 9500);
    run_stream("h10", &s);

    for (int k = 1; k <= 3; k++) {
        char want[64];
        events = unit_file("h10", k, "events.jsonl");
        assert_non_null(events);
        snprintf(want, sizeof(want), "\"function\":\"view\",");
        assert_non_null(strstr(events, want));
        snprintf(want, sizeof(want), "\"unit\":%d,", k);
        for (const char *l = events; *l != '\0'; l = strchr(l, '\n') + 1) {
            const char *end = strchr(l, '\n');
            assert_non_null(end);
            assert_true(memmem(l, (size_t)(end - l), want, strlen(want)) != NULL);
        }
        free(events);
    }
}

/* The exception path across threads does not depend on which thread's records the writer
 * gets first. A request's framework code hands the view to a worker thread, the view hands
 * work to a pool thread, whose leaf raises; the worker's records of the view's end are
 * shipped after the framework code's (the worker ships them later: its buffer waits for the
 * flusher), so the framework's calls end in the writer before the view does. The path is
 * still the view's, through the leaf, with the leaf's exception (CI: test_handoff's
 * request tree said "boom_route", no exception, under load). */
static void
an_exception_path_across_threads_does_not_depend_on_the_order_they_ship(void **state)
{
    struct stream s;
    struct recs a = {.n = 0}, b = {.n = 0}, c = {.n = 0};
    uint8_t exc[64];
    size_t n;
    char *units;

    (void)state;
    begin(&s);
    stream_thread(&s, 3, "pool");
    rec2(&a, FT_REC_CALL, OUTER, T0 + 1000);
    unit_rec(&a, FT_UNIT_WSGI);
    rec2(&a, FT_REC_CALL, INNER, T0 + 1100);
    rec3(&a, FT_REC_HANDOFF, 0, T0 + 1150, 0x7771);
    stream_events(&s, 1, &a);
    rec3(&b, FT_REC_ADOPT, 0, T0 + 1200, 0x7771);
    rec2(&b, FT_REC_CALL, VIEW, T0 + 1300);
    rec3(&b, FT_REC_HANDOFF, 0, T0 + 1350, 0x7772);
    stream_events(&s, 2, &b);
    rec3(&c, FT_REC_ADOPT, 0, T0 + 1400, 0x7772);
    rec2(&c, FT_REC_CALL, LEAF, T0 + 1500);
    rec2(&c, FT_REC_UNWIND, LEAF, T0 + 1600);
    n = lp(exc, 0, "ZeroDivisionError");
    n = lp(exc, n, "builtins");
    n = lp(exc, n, "no items");
    recv_(&c, FT_REC_EXC, exc, n);
    rec2(&c, FT_REC_ADOPT_END, 0, T0 + 1700);
    stream_events(&s, 3, &c);
    /* The framework's calls end first: the view's end is still in the worker's buffer. */
    a.n = 0;
    rec2(&a, FT_REC_UNWIND, INNER, T0 + 1900);
    rec2(&a, FT_REC_CALL, HANDS, T0 + 1950); /* the error page */
    rec2(&a, FT_REC_RETURN, HANDS, T0 + 1960);
    rec2(&a, FT_REC_RETURN, OUTER, T0 + 2000);
    stream_events(&s, 1, &a);
    b.n = 0;
    rec2(&b, FT_REC_UNWIND, VIEW, T0 + 1800);
    rec2(&b, FT_REC_ADOPT_END, 0, T0 + 1850);
    stream_events(&s, 2, &b);
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    run_stream("h9", &s);

    units = slurp_must(dir, "h9", "units.jsonl");
    assert_non_null(strstr(units, "\"exceptionPath\":\"view > leaf\""));
    assert_non_null(strstr(units, "\"exception\":{\"type\":\"ZeroDivisionError\""));
    free(units);
}

/* A request coroutine whose caller is still running another coroutine (the server's,
 * which serves them all until the end) is written as soon as it ends: its tree does not
 * wait for its siblings. */
static void
a_finished_request_waits_for_no_sibling(void **state)
{
    struct stream s;
    struct recs a = {.n = 0};
    struct ft_run_opts o = {.dir = dir, .run_id = "h7", .tsc_ns_per_tick = 1.0};
    struct ft_wire_decoder d;
    struct ft_frame f;
    struct ft_run *r;
    char *tree;

    (void)state;
    begin(&s);
    stream_def_params(&s, 20, "app", "serve", "/app.py", 30, FT_DEF_COROUTINE, NULL, 0);
    stream_def_params(&s, 21, "server", "App.__call__", "/srv.py", 1,
                      FT_DEF_METHOD | FT_DEF_COROUTINE | FT_DEF_BOUNDARY, "scope\0receive\0send",
                      19);
    rec2(&a, FT_REC_CALL, MAIN, T0 + 1000);
    rec3(&a, FT_REC_START, 20, T0 + 1100, 0x100); /* the server's coroutine */
    rec2(&a, FT_REC_YIELD, 20, T0 + 1200);        /* ... serving */
    rec3(&a, FT_REC_START, 21, T0 + 1300, 0x200); /* a request */
    unit_rec(&a, FT_UNIT_WSGI);
    rec2(&a, FT_REC_CALL, VIEW, T0 + 1400);
    rec2(&a, FT_REC_RETURN, VIEW, T0 + 1500);
    rec2(&a, FT_REC_RETURN, 21, T0 + 1600);
    rec2(&a, FT_REC_CALL, LEAF, T0 + 1700); /* a next event: the return's output is due */
    stream_events(&s, 1, &a);
    r = ft_run_new(&o);
    ft_wire_decoder_init(&d);
    ft_wire_decoder_feed(&d, s.p, s.len);
    while (ft_wire_next_frame(&d, &f) == 1) {
        assert_int_equal(ft_run_frame(r, &f), 0);
    }
    tree = unit_file("h7", 1, "tree.json"); /* the server still runs */
    assert_non_null(tree);
    assert_non_null(strstr(tree, "\"function\":\"view\""));
    free(tree);
    assert_int_equal(ft_run_finish(r, FT_END_KILLED, NULL), 0);
    ft_run_free(r);
    ft_wire_decoder_close(&d);
    free(s.p);
}

/* What an exporter is told of each unit (ft_run_opts.on_unit): the row, the trace
 * context, and at most span_limit calls, callers before callees, the handed-off calls with
 * their thread. */
struct seen {
    char text[1024];
    size_t n;
};

static void
on_unit(void *ctx, const struct ft_run *r, const struct ft_unit_export *u)
{
    struct seen *seen = ctx;

    (void)r;
    seen->n += (size_t)snprintf(seen->text + seen->n, sizeof(seen->text) - seen->n,
                                "%s tp=%s root=%llu left=%llu:", u->row->name,
                                u->traceparent ? u->traceparent : "-", (unsigned long long)u->root,
                                (unsigned long long)(u->spans->offered - u->spans->n));
    for (size_t i = 0; i < u->spans->n; i++) {
        const struct ft_span *sp = &u->spans->v[i];
        seen->n += (size_t)snprintf(seen->text + seen->n, sizeof(seen->text) - seen->n,
                                    " %s<%llu%s%s", sp->code->name, (unsigned long long)sp->parent,
                                    sp->thread ? "@" : "", sp->thread ? sp->thread : "");
    }
}

static void
an_exporter_gets_each_unit_with_its_shallowest_calls(void **state)
{
    struct stream s;
    struct recs a = {.n = 0}, b = {.n = 0};
    struct seen seen = {.n = 0};
    struct ft_run_opts o = {.dir = dir, .run_id = "h6", .tsc_ns_per_tick = 1.0};
    uint8_t u[256];
    size_t pos = 0;

    (void)state;
    o.span_limit = 3;
    o.on_unit = on_unit;
    o.ctx = &seen;
    begin(&s);
    rec2(&a, FT_REC_CALL, OUTER, T0 + 1000);
    ft_put_tlv_u64(u, sizeof(u), &pos, FT_UTAG_KIND, FT_UNIT_ASGI);
    ft_put_tlv_str(u, sizeof(u), &pos, FT_UTAG_METHOD, "GET", 3);
    ft_put_tlv_str(u, sizeof(u), &pos, FT_UTAG_PATH, "/x", 2);
    ft_put_tlv_str(u, sizeof(u), &pos, FT_UTAG_TRACEPARENT, "00-ab-cd-01", 11);
    recv_(&a, FT_REC_UNIT, u, pos);
    rec2(&a, FT_REC_CALL, VIEW, T0 + 1100);
    rec3(&a, FT_REC_HANDOFF, 0, T0 + 1150, 7);
    stream_events(&s, 1, &a);
    rec3(&b, FT_REC_ADOPT, 0, T0 + 1200, 7);
    rec2(&b, FT_REC_CALL, HANDS, T0 + 1300);
    for (int i = 0; i < 4; i++) {
        rec2(&b, FT_REC_CALL, LEAF, T0 + 1400 + 10 * (uint64_t)i);
        rec2(&b, FT_REC_RETURN, LEAF, T0 + 1405 + 10 * (uint64_t)i);
    }
    rec2(&b, FT_REC_RETURN, HANDS, T0 + 1500);
    rec2(&b, FT_REC_ADOPT_END, 0, T0 + 1600);
    stream_events(&s, 2, &b);
    a.n = 0;
    rec2(&a, FT_REC_RETURN, VIEW, T0 + 1700);
    rec2(&a, FT_REC_RETURN, OUTER, T0 + 1800);
    stream_events(&s, 1, &a);
    stream_end(&s, FT_END_EXIT, 0, T0 + 5000);
    test_run_stream_opts(&o, &s, FT_END_EXIT);
    /* view (depth 2), submit_work (3, its thread named), the first leaf (4) of four. */
    assert_string_equal(seen.text,
                        "GET /x tp=00-ab-cd-01 root=1 left=3: view<1 submit_work<2@worker"
                        " leaf<3");
}

/* No part file may outlive its work: the units' directories hold their two files only,
 * and no .handoff part is left in the run's. */
static void
no_part_file_is_left_behind(void **state)
{
    const char *dirs[] = {"h1", "h1/units/1", "h5", "h5/units/1"};
    char path[256];
    struct dirent *e;
    int strays = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        DIR *d;
        snprintf(path, sizeof(path), "%s/%s", dir, dirs[i]);
        d = opendir(path);
        assert_non_null(d);
        while ((e = readdir(d)) != NULL) {
            strays += strncmp(e->d_name, ".handoff", 8) == 0;
            strays += strchr(dirs[i], '/') != NULL && e->d_name[0] != '.' &&
                      strcmp(e->d_name, "tree.json") != 0 && strcmp(e->d_name, "events.jsonl") != 0;
        }
        closedir(d);
    }
    assert_int_equal(strays, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(work_handed_to_a_thread_is_part_of_the_unit),
        cmocka_unit_test(work_adopted_after_the_handing_call_returned_is_still_the_units),
        cmocka_unit_test(work_handed_off_outside_a_unit_stays_in_its_thread),
        cmocka_unit_test(concurrent_hand_offs_keep_to_their_units),
        cmocka_unit_test(a_request_tree_is_the_request_then_the_application),
        cmocka_unit_test(an_exception_path_across_threads_does_not_depend_on_the_order_they_ship),
        cmocka_unit_test(each_units_lines_name_it_when_a_unit_reuses_an_ended_ones_memory),
        cmocka_unit_test(no_part_file_is_left_behind),
        cmocka_unit_test(a_finished_request_waits_for_no_sibling),
        cmocka_unit_test(an_exporter_gets_each_unit_with_its_shallowest_calls),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
