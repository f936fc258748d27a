/* test_deflog.c - the definitions log: ids in order, whole entries sent once, all again
 * after fork. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject/deflog.h"

/* What send() received: the definitions decoded, in order. */
static struct {
    uint64_t ids[64];
    char names[64][32];
    int n, frames, fail_after;
} got;

static int
collect(const uint8_t *p, size_t n, void *arg)
{
    struct ft_def_view v;
    size_t pos = 0;

    (void)arg;
    if (got.fail_after >= 0 && got.frames >= got.fail_after) {
        return -EPIPE;
    }
    got.frames++;
    while (ft_def_next(p, n, &pos, &v) == 1) {
        got.ids[got.n] = v.id;
        snprintf(got.names[got.n], sizeof(got.names[0]), "%.*s", (int)v.name_len, v.name);
        got.n++;
    }
    assert_int_equal(pos, n); /* whole entries only */
    return 0;
}

static void
reset(void)
{
    memset(&got, 0, sizeof(got));
    got.fail_after = -1;
}

static uint64_t
define(const char *name)
{
    struct ft_def_view v;

    memset(&v, 0, sizeof(v));
    v.module = "app";
    v.name = name;
    v.file = "/src/app.py";
    v.line = 7;
    v.params = "a\0b";
    v.params_len = 3;
    assert_int_equal(ft_deflog_define(&v), 0);
    return v.id;
}

static void
ids_count_up_and_each_definition_is_sent_once(void **state)
{
    (void)state;
    reset();
    uint64_t a = define("first"), b = define("second");
    uint64_t c = ft_deflog_define_cfunc("builtins", "len");
    assert_true(a < b && b < c);
    assert_int_equal(ft_deflog_send(collect, NULL), 0);
    assert_int_equal(got.n, 3);
    assert_int_equal(got.ids[0], a);
    assert_string_equal(got.names[1], "second");
    assert_string_equal(got.names[2], "len");
    /* Nothing new: nothing sent. */
    assert_int_equal(ft_deflog_send(collect, NULL), 0);
    assert_int_equal(got.n, 3);
    define("third");
    assert_int_equal(ft_deflog_send(collect, NULL), 0);
    assert_int_equal(got.n, 4);
    assert_string_equal(got.names[3], "third");
}

static void
a_failed_send_keeps_the_definitions_for_the_next_one(void **state)
{
    (void)state;
    ft_deflog_send(collect, NULL);
    reset();
    define("kept");
    got.fail_after = 0;
    assert_int_equal(ft_deflog_send(collect, NULL), -EPIPE);
    assert_int_equal(got.n, 0);
    got.fail_after = -1;
    assert_int_equal(ft_deflog_send(collect, NULL), 0);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.names[0], "kept");
}

static void
a_forked_child_sends_every_definition_again(void **state)
{
    (void)state;
    ft_deflog_send(collect, NULL);
    reset();
    ft_deflog_atfork_child();
    assert_int_equal(ft_deflog_send(collect, NULL), 0);
    assert_true(got.n >= 5); /* all of the above, in order */
    for (int i = 1; i < got.n; i++) {
        assert_true(got.ids[i] > got.ids[i - 1]);
    }
}

static void
a_megabyte_of_definitions_goes_in_several_frames_of_whole_entries(void **state)
{
    char name[32];
    struct ft_def_view v;
    static char params[60000];

    (void)state;
    ft_deflog_send(collect, NULL);
    reset();
    memset(params, 'p', sizeof(params));
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "big%d", i);
        memset(&v, 0, sizeof(v));
        v.module = "app";
        v.name = name;
        v.file = "/src/app.py";
        v.params = params;
        v.params_len = sizeof(params);
        assert_int_equal(ft_deflog_define(&v), 0);
    }
    assert_int_equal(ft_deflog_send(collect, NULL), 0);
    assert_int_equal(got.n, 40);
    assert_true(got.frames >= 3); /* at most 1 MiB per frame */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_count_up_and_each_definition_is_sent_once),
        cmocka_unit_test(a_failed_send_keeps_the_definitions_for_the_next_one),
        cmocka_unit_test(a_forked_child_sends_every_definition_again),
        cmocka_unit_test(a_megabyte_of_definitions_goes_in_several_frames_of_whole_entries),
    };
    return cmocka_run_group_tests_name("deflog", tests, NULL, NULL);
}
