/* test_settings.c - one parser per kind of value, with the limits the library can honour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "lib/settings.h"

static struct ft_setting_value v;

static int
parse_env(const char *env, const char *text)
{
    const struct ft_setting *s = ft_setting_by_env(env);

    assert_non_null(s);
    return ft_setting_parse(s, text, &v);
}

static const char *
want(const char *option)
{
    static char out[128];

    return ft_setting_want(ft_setting_by_option(option), out, sizeof(out));
}

static void
booleans_are_the_usual_words_in_any_case(void **state)
{
    (void)state;
    for (const char **t = (const char *[]){"1", "true", "YES", "On", NULL}; *t; t++) {
        assert_int_equal(parse_env("FLOWTRACE_DROP", *t), 0);
        assert_int_equal(v.on, 1);
    }
    for (const char **t = (const char *[]){"0", "False", "no", "OFF", NULL}; *t; t++) {
        assert_int_equal(parse_env("FLOWTRACE_DROP", *t), 0);
        assert_int_equal(v.on, 0);
    }
    assert_int_equal(parse_env("FLOWTRACE_DROP", "maybe"), -EINVAL);
    assert_int_equal(parse_env("FLOWTRACE_DROP", "2"), -EINVAL);
}

static void
whole_numbers_have_no_sign_space_or_exponent_and_stay_in_range(void **state)
{
    (void)state;
    assert_int_equal(parse_env("FLOWTRACE_MAX_DEPTH", "3"), 0);
    assert_int_equal(v.u, 3);
    assert_int_equal(parse_env("FLOWTRACE_MAX_DEPTH", "1000000"), 0);
    for (const char **t = (const char *[]){"-1", "+1", " 1", "1 ", "1e3", "0x10", "1000001",
                                           "99999999999999999999", "deep", NULL};
         *t; t++) {
        assert_int_equal(parse_env("FLOWTRACE_MAX_DEPTH", *t), -EINVAL);
    }
    /* 0 is the largest length, 1 MiB: more than that is not a length the library keeps. */
    assert_int_equal(parse_env("FLOWTRACE_MAX_ARG_LENGTH", "0"), 0);
    assert_int_equal(parse_env("FLOWTRACE_MAX_ARG_LENGTH", "1048576"), 0);
    assert_int_equal(parse_env("FLOWTRACE_MAX_ARG_LENGTH", "1048577"), -EINVAL);
    assert_int_equal(parse_env("FLOWTRACE_BUFFER_KB", "3"), -EINVAL);
}

static void
seconds_below_a_millisecond_are_refused_and_zero_is_off_where_it_means_off(void **state)
{
    (void)state;
    assert_int_equal(parse_env("FLOWTRACE_FLUSH_INTERVAL", "0.5"), 0);
    assert_true(v.d == 0.5);
    assert_int_equal(parse_env("FLOWTRACE_FLUSH_INTERVAL", "0"), 0);
    assert_true(v.d == 0);
    assert_int_equal(parse_env("FLOWTRACE_FLUSH_INTERVAL", "-1"), 0); /* documented: off */
    assert_true(v.d == 0);
    assert_int_equal(parse_env("FLOWTRACE_FLUSH_INTERVAL", "1e-9"), -EINVAL); /* would spin */
    assert_int_equal(parse_env("FLOWTRACE_ACK_TIMEOUT", "1e-300"), -EINVAL);  /* would be 0 */
    assert_int_equal(parse_env("FLOWTRACE_ACK_TIMEOUT", "0"), -EINVAL);
    assert_int_equal(parse_env("FLOWTRACE_WAIT_TIMEOUT", "60"), 0);
    for (const char **t = (const char *[]){"nan", "inf", "1e7", "1s", "", NULL}; *t; t++) {
        assert_int_equal(parse_env("FLOWTRACE_WAIT_TIMEOUT", *t), -EINVAL);
    }
    assert_int_equal(parse_env("FLOWTRACE_MIN_DURATION", "2.5"), 0);
    assert_int_equal(parse_env("FLOWTRACE_MIN_DURATION", "-1"), -EINVAL);
}

static void
choices_units_and_text(void **state)
{
    (void)state;
    assert_int_equal(parse_env("FLOWTRACE_KEEP", "all"), 0);
    assert_int_equal(v.choice, 1);
    assert_int_equal(parse_env("FLOWTRACE_KEEP", "Failed"), -EINVAL);
    assert_int_equal(parse_env("FLOWTRACE_ENGINE", "monitoring"), 0);
    assert_int_equal(v.choice, 2);
    assert_int_equal(parse_env("FLOWTRACE_UNIT", "app:handle, jobs.run:step"), 0);
    for (const char **t = (const char *[]){"nocolon", ":f", "m:", "a:b,c", NULL}; *t; t++) {
        assert_int_equal(parse_env("FLOWTRACE_UNIT", *t), -EINVAL);
    }
    assert_int_equal(parse_env("FLOWTRACE_INCLUDE", "anything,at all"), 0);
    assert_string_equal(v.text, "anything,at all");
}

static void
messages_say_what_a_value_must_be(void **state)
{
    (void)state;
    assert_string_equal(want("--drop"), "'true' or 'false'");
    assert_string_equal(want("--max-depth"), "a whole number from 0 to 1000000");
    assert_string_equal(want("--flush-interval"), "0 or a number of seconds from 0.001 to 1000000");
    assert_string_equal(want("--min-duration"), "a number of microseconds from 0 to 1000000000000");
    assert_string_equal(want("--keep"), "'failed' or 'all'");
    assert_string_equal(want("--unit"), "MODULE:FUNCTION");
    assert_string_equal(ft_setting_want(ft_setting_by_env("FLOWTRACE_ENGINE"), (char[64]){0}, 64),
                        "'auto', 'profile' or 'monitoring'");
}

static void
a_following_argument_is_a_value_only_if_it_can_be_one(void **state)
{
    (void)state;
    assert_true(ft_setting_takes(ft_setting_by_option("--keep"), "failed"));
    assert_false(ft_setting_takes(ft_setting_by_option("--keep"), "python3"));
    assert_true(ft_setting_takes(ft_setting_by_option("--max-depth"), "-1"));
    assert_true(ft_setting_takes(ft_setting_by_option("--min-duration"), "nan"));
    assert_false(ft_setting_takes(ft_setting_by_option("--max-depth"), "python3"));
    assert_false(ft_setting_takes(ft_setting_by_option("--drop"), "true"));
    assert_true(ft_setting_takes(ft_setting_by_option("-o"), "python3"));
}

static void
the_table_names_each_option_and_variable_once(void **state)
{
    (void)state;
    for (const struct ft_setting *s = ft_settings; s->option || s->env; s++) {
        if (s->option) {
            assert_int_equal(strncmp(s->option, "--", 2), 0);
            assert_ptr_equal(ft_setting_by_option(s->option), s);
        }
        if (s->env) {
            assert_int_equal(strncmp(s->env, "FLOWTRACE_", 10), 0);
            assert_ptr_equal(ft_setting_by_env(s->env), s);
        }
    }
    assert_ptr_equal(ft_setting_by_option("-o"), ft_setting_by_option("--output"));
    assert_null(ft_setting_by_option("--frobnicate"));
    assert_null(ft_setting_by_env("FLOWTRACE_NOPE"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(booleans_are_the_usual_words_in_any_case),
        cmocka_unit_test(whole_numbers_have_no_sign_space_or_exponent_and_stay_in_range),
        cmocka_unit_test(
            seconds_below_a_millisecond_are_refused_and_zero_is_off_where_it_means_off),
        cmocka_unit_test(choices_units_and_text),
        cmocka_unit_test(messages_say_what_a_value_must_be),
        cmocka_unit_test(a_following_argument_is_a_value_only_if_it_can_be_one),
        cmocka_unit_test(the_table_names_each_option_and_variable_once),
    };
    return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
