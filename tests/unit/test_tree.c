/* test_tree.c - the CLI's tree.json loader: every field, old and new files, deep trees,
 * and a clear error for an empty, truncated, foreign or missing file. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "tools/cli/tree.h"

static char path[64];

static int
setup(void **state)
{
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "/tmp/ft-tree-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0) {
        return -1;
    }
    close(fd);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    return unlink(path);
}

static void
write_text(const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char full[] =
    "{\"run\":\"r1\",\"parentRun\":\"r0\",\"pid\":42,\"ppid\":41,\"argv\":[\"py\",\"app.py\"],"
    "\"future\":{\"nested\":[1,{\"x\":[]}]},\"python\":\"3.11.2\",\"start\":1795321998528740,"
    "\"durationMicros\":10.5,\"exitCode\":null,\"ended\":\"signal\",\"signal\":15,"
    "\"exception\":{\"type\":\"KeyError\",\"module\":\"builtins\",\"message\":\"'k'\"},"
    "\"tracer\":{\"events\":4,\"lost\":2,\"calls\":2,\"engine\":\"profile\"},"
    "\"threads\":[{\"name\":\"MainThread\",\"tid\":42,\"calls\":["
    "{\"id\":1,\"module\":\"m\",\"function\":\"C.f\",\"file\":\"/a.py\",\"line\":3,"
    "\"startMicros\":1.5,\"args\":{\"x\":\"'a'\",\"n\":\"2\",\"odd\":[1,{\"k\":null}],\"b\":true},"
    "\"caller\":null,\"instance\":\"0x7f\",\"children\":["
    "{\"id\":2,\"module\":\"m\",\"function\":\"g\",\"file\":\"/a.py\",\"line\":9,"
    "\"startMicros\":2,\"children\":[],\"durationMicros\":1,\"thread\":\"pool_0\","
    "\"exception\":{\"type\":\"ValueError\",\"module\":\"builtins\",\"message\":\"bad\"},"
    "\"resumes\":3,\"activeMicros\":0.5,\"incomplete\":\"killed\",\"unknown\":[[]]}],"
    "\"durationMicros\":4.25,\"result\":\"'done'\",\"argsAfter\":{\"x\":\"'b'\"},"
    "\"memory\":{\"before\":{\"rss\":100,\"tracemalloc\":10,\"peak\":12},"
    "\"after\":{\"rss\":200,\"peak\":20}}}]}]}";

static void
every_field_is_read_and_unknown_keys_are_skipped(void **state)
{
    struct ft_tree *t;
    char err[256];

    (void)state;
    write_text(full);
    assert_int_equal(ft_tree_load(path, &t, err, sizeof(err)), 0);
    assert_string_equal(t->run, "r1");
    assert_string_equal(t->parent_run, "r0");
    assert_int_equal(t->argc, 2);
    assert_string_equal(t->argv[1], "app.py");
    assert_false(t->have_exit_code);
    assert_string_equal(t->ended, "signal");
    assert_int_equal(t->signal, 15);
    assert_int_equal(t->lost, 2);
    assert_int_equal(t->nodes, 2);
    const struct ft_node *f = t->threads[0].first, *g = f->first_child;
    assert_string_equal(f->function, "C.f");
    assert_true(f->dur_us == 4.25 && f->start_us == 1.5);
    assert_non_null(f->x);
    assert_int_equal(f->x->nargs, 4);
    assert_string_equal(f->x->args[0].name, "x");
    assert_string_equal(f->x->args[0].value, "'a'");
    assert_string_equal(f->x->args[2].name, "odd");
    assert_string_equal(f->x->args[2].value, "[1,{\"k\":null}]");
    assert_string_equal(f->x->args[3].value, "True");
    assert_string_equal(f->x->result, "'done'");
    assert_int_equal(f->x->nafter, 1);
    assert_string_equal(f->x->after[0].name, "x");
    assert_string_equal(f->x->after[0].value, "'b'");
    assert_int_equal(f->x->nargs, 4); /* argsAfter leaves args alone */
    assert_string_equal(t->exc_type, "KeyError");
    assert_string_equal(t->exc_module, "builtins");
    assert_string_equal(t->exc_msg, "'k'");
    assert_null(f->x->caller);
    assert_string_equal(f->x->instance, "0x7f");
    assert_true(f->x->have_memory);
    assert_int_equal(f->x->mem_before.rss, 100);
    assert_int_equal(f->x->mem_before.tracemalloc, 10);
    assert_int_equal(f->x->mem_after.rss, 200);
    assert_int_equal(f->x->mem_after.tracemalloc, -1);
    assert_null(f->exc_type);
    assert_string_equal(g->exc_type, "ValueError");
    assert_string_equal(g->exc_module, "builtins");
    assert_string_equal(g->exc_msg, "bad");
    assert_string_equal(g->incomplete, "killed");
    assert_int_equal(g->x->resumes, 3);
    assert_true(g->x->active_us == 0.5);
    assert_ptr_equal(g->parent, f);
    assert_ptr_equal(g->file, f->file); /* interned */
    assert_string_equal(g->x->thread, "pool_0");
    assert_null(f->x->thread);
    ft_tree_free(t);
}

static void
flags_leave_out_values_and_deeper_calls(void **state)
{
    struct ft_tree *t, *u;
    char err[256];

    (void)state;
    write_text(full);
    assert_int_equal(ft_tree_load_flags(path, FT_TREE_NO_VALUES, &t, err, sizeof(err)), 0);
    const struct ft_node *f = t->threads[0].first, *g = f->first_child;
    assert_string_equal(f->function, "C.f");
    assert_true(f->x == NULL || (!f->x->have_args && f->x->result == NULL &&
                                 f->x->instance == NULL && f->x->nafter == 0));
    assert_string_equal(g->exc_msg, "bad");
    assert_int_equal(t->nodes, 2);
    /* Names of a tree loaded with another's tables are the same pointers. */
    assert_int_equal(ft_tree_load_shared(path, FT_TREE_SHALLOW, t, &u, err, sizeof(err)), 0);
    assert_ptr_equal(u->threads[0].first->function, f->function);
    assert_ptr_equal(u->threads[0].first->first_child->file, g->file);
    ft_tree_free(u);
    ft_tree_free(t);
}

/* A tree as deep as n: f(n) > f(n-1) > ... > f(1). */
static void
write_chain(int n)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs("{\"run\":\"r\",\"threads\":[{\"name\":\"M\",\"tid\":1,\"calls\":[", f);
    for (int i = n; i > 0; i--) {
        fprintf(f,
                "{\"id\":%d,\"function\":\"f\",\"file\":\"/a.py\",\"line\":1,"
                "\"children\":[",
                i);
    }
    for (int i = 0; i < n; i++) {
        fputs("]}", f);
    }
    fputs("]}]}", f);
    fclose(f);
}

static void
shallow_keeps_two_levels(void **state)
{
    struct ft_tree *t;
    char err[256];

    (void)state;
    write_chain(5);
    assert_int_equal(ft_tree_load_flags(path, FT_TREE_SHALLOW, &t, err, sizeof(err)), 0);
    assert_int_equal(t->nodes, 2);
    assert_int_equal(t->threads[0].first->id, 5);
    assert_int_equal(t->threads[0].first->first_child->id, 4);
    assert_null(t->threads[0].first->first_child->first_child);
    ft_tree_free(t);
}

/* Issue 18's post-mortem fields: kept as JSON text (the viewer parses them), leftAt and
 * generated as values, the run's source map as JSON text. */
static void
raise_site_cause_locals_and_sources_are_read(void **state)
{
    struct ft_tree *t;
    char err[256];

    (void)state;
    write_text("{\"run\":\"r\",\"sources\":{\"/a.py\":\"ab12\"},\"threads\":[{\"name\":\"M\","
               "\"tid\":1,\"calls\":[{\"id\":1,\"function\":\"f\",\"startMicros\":0,"
               "\"durationMicros\":1,\"exception\":{\"type\":\"E\"},\"raise\":{\"file\":\"/a.py\","
               "\"line\":7},\"leftAt\":5,\"cause\":[{\"type\":\"K\",\"via\":\"cause\"}],"
               "\"locals\":{\"n\":\"0\",\"s\":\"'x'\"},\"generated\":true,\"task\":true,"
               "\"children\":[]}]}]}");
    assert_int_equal(ft_tree_load(path, &t, err, sizeof(err)), 0);
    const struct ft_node *f = t->threads[0].first;
    assert_string_equal(t->sources, "{\"/a.py\":\"ab12\"}");
    assert_string_equal(f->x->raise, "{\"file\":\"/a.py\",\"line\":7}");
    assert_int_equal(f->x->left_at, 5);
    assert_string_equal(f->x->cause, "[{\"type\":\"K\",\"via\":\"cause\"}]");
    assert_string_equal(f->x->locals, "{\"n\":\"0\",\"s\":\"'x'\"}");
    assert_true(f->x->generated);
    assert_true(f->x->task);
    ft_tree_free(t);
}

static const char typed[] =
    "{\"format\":3,\"run\":\"r\",\"threads\":[{\"name\":\"M\",\"tid\":1,\"calls\":["
    "{\"id\":1,\"function\":\"f\",\"args\":{\"s\":\"it's\",\"n\":1.0,\"z\":null,\"b\":true,"
    "\"l\":[1,{\"k\":\"v\"}],\"o\":{\"type\":\"app.O\",\"repr\":\"<app.O>\"}},"
    "\"argsAfter\":{\"l\":[]},\"result\":null,\"children\":["
    "{\"id\":2,\"function\":\"g\",\"result\":{\"a\":\"b\"},\"children\":[]}]}]}]}";

static void
format_3_values_are_kept_as_shown_or_as_json(void **state)
{
    struct ft_tree *t;
    char err[256];
    static const char *const shown[] = {"\"it's\"",        "1.0",    "None", "True",
                                        "[1, {'k': 'v'}]", "<app.O>"};
    static const char *const json[] = {"\"it's\"",
                                       "1.0",
                                       "null",
                                       "true",
                                       "[1,{\"k\":\"v\"}]",
                                       "{\"type\":\"app.O\",\"repr\":\"<app.O>\"}"};

    (void)state;
    write_text(typed);
    for (int mode = 0; mode < 2; mode++) {
        const char *const *want = mode ? json : shown;
        assert_int_equal(
            ft_tree_load_flags(path, mode ? FT_TREE_JSON_VALUES : 0, &t, err, sizeof(err)), 0);
        const struct ft_node *f = t->threads[0].first;
        assert_int_equal(t->format, 3);
        assert_int_equal(f->x->nargs, 6);
        for (int i = 0; i < 6; i++) {
            assert_string_equal(f->x->args[i].value, want[i]);
        }
        assert_string_equal(f->x->after[0].value, "[]");
        assert_string_equal(f->x->result, mode ? "null" : "None");
        assert_string_equal(f->first_child->x->result, mode ? "{\"a\":\"b\"}" : "{'a': 'b'}");
        ft_tree_free(t);
    }
    write_text("{\"run\":\"r\",\"threads\":[]}");
    assert_int_equal(ft_tree_load(path, &t, err, sizeof(err)), 0);
    assert_int_equal(t->format, 1); /* no "format": format 1 */
    ft_tree_free(t);
}

static void
an_older_file_has_no_extras(void **state)
{
    struct ft_tree *t;
    char err[256];

    (void)state;
    write_text("{\"run\":\"r\",\"exitCode\":0,\"threads\":[{\"name\":\"T\",\"calls\":["
               "{\"id\":1,\"function\":\"f\",\"children\":[],\"durationMicros\":1,"
               "\"exception\":{\"type\":null,\"message\":null}}]}]}");
    assert_int_equal(ft_tree_load(path, &t, err, sizeof(err)), 0);
    assert_true(t->have_exit_code);
    assert_null(t->threads[0].first->x);
    assert_string_equal(t->threads[0].first->exc_type, "?"); /* raised, type unknown */
    ft_tree_free(t);
}

static void
a_deep_tree_loads(void **state)
{
    enum { DEPTH = 20000 };
    struct ft_tree *t;
    char err[256];
    FILE *f = fopen(path, "w");
    size_t depth = 0;

    (void)state;
    fputs("{\"run\":\"deep\",\"threads\":[{\"name\":\"T\",\"calls\":[", f);
    for (int i = 0; i < DEPTH; i++) {
        fprintf(f, "{\"id\":%d,\"function\":\"rec\",\"children\":[", i + 1);
    }
    for (int i = 0; i < DEPTH; i++) {
        fputs("],\"durationMicros\":1}", f);
    }
    fputs("]}]}", f);
    fclose(f);
    assert_int_equal(ft_tree_load(path, &t, err, sizeof(err)), 0);
    assert_int_equal(t->nodes, DEPTH);
    for (const struct ft_node *n = t->threads[0].first; n != NULL; n = n->first_child) {
        depth++;
    }
    assert_int_equal(depth, DEPTH);
    ft_tree_free(t);
}

static void
the_header_is_read_without_the_calls(void **state)
{
    struct ft_tree *t;
    char err[256];

    (void)state;
    write_text(full);
    assert_int_equal(ft_tree_load_header(path, &t, err, sizeof(err)), 0);
    assert_string_equal(t->run, "r1");
    assert_int_equal(t->nodes, 0);
    ft_tree_free(t);
}

static void
expect_error(const char *text, int code, const char *why)
{
    struct ft_tree *t = (struct ft_tree *)1;
    char err[512] = "";

    write_text(text);
    assert_int_equal(ft_tree_load(path, &t, err, sizeof(err)), code);
    assert_null(t);
    assert_non_null(strstr(err, path));
    if (strstr(err, why) == NULL) {
        fail_msg("'%s' does not say '%s'", err, why);
    }
    assert_null(strchr(err, '\n'));
}

static void
bad_files_are_one_clear_line(void **state)
{
    char cut[200];

    (void)state;
    expect_error("", FT_EFOREIGN, "is empty");
    snprintf(cut, sizeof(cut), "%.120s", full);
    expect_error(cut, FT_EFOREIGN, "is truncated");
    expect_error("[{\"run\":\"x\"}]", FT_EFOREIGN, "not a JSON object");
    expect_error("{\"run\": 5, \"threads\": []}", FT_EFOREIGN, "no \"run\"");
    expect_error("\x7f"
                 "ELF\x02\x01",
                 FT_EFOREIGN, "is not a FlowTrace tree (");
    expect_error("{\"run\":\"r\"} trailing", FT_EFOREIGN, "is not a FlowTrace tree (");
}

static void
a_missing_file_is_an_errno(void **state)
{
    struct ft_tree *t;
    char err[256];

    (void)state;
    assert_int_equal(ft_tree_load("/nonexistent/tree.json", &t, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, "cannot read /nonexistent/tree.json: No such file or directory");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_is_read_and_unknown_keys_are_skipped),
        cmocka_unit_test(flags_leave_out_values_and_deeper_calls),
        cmocka_unit_test(shallow_keeps_two_levels),
        cmocka_unit_test(an_older_file_has_no_extras),
        cmocka_unit_test(raise_site_cause_locals_and_sources_are_read),
        cmocka_unit_test(a_deep_tree_loads),
        cmocka_unit_test(the_header_is_read_without_the_calls),
        cmocka_unit_test(format_3_values_are_kept_as_shown_or_as_json),
        cmocka_unit_test(bad_files_are_one_clear_line),
        cmocka_unit_test(a_missing_file_is_an_errno),
    };

    return cmocka_run_group_tests_name("tree", tests, setup, teardown);
}
