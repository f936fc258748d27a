/* test_run_opts.c - flowtrace-run's command line: values, switches, and where the command
 * starts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tools/run/opts.h"

static struct ft_run_args a;
static char msg[256];

#define PARSE(units, ...)                                                                          \
    parse((const char *[]){"flowtrace-run", __VA_ARGS__, NULL},                                    \
          (int)(sizeof((const char *[]){"flowtrace-run", __VA_ARGS__}) / sizeof(char *)), units)

static int
parse(const char **argv, int argc, const char *units)
{
    ft_run_args_free(&a);
    return ft_run_args_parse(argc, (char **)argv, units, &a, msg, sizeof(msg));
}

/* The value the command gets for name, or NULL. */
static const char *
env(const char *name)
{
    size_t n = strlen(name);

    for (int i = 0; i < a.nenv; i++) {
        if (strncmp(a.env[i], name, n) == 0 && a.env[i][n] == '=') {
            return a.env[i] + n + 1;
        }
    }
    return NULL;
}

static void
switches_take_a_value_only_after_an_equals_sign(void **state)
{
    (void)state;
    assert_int_equal(PARSE(NULL, "--drop=true", "--all", "--repr=0", "true"), FT_ARGS_RUN);
    assert_string_equal(a.cmd[0], "true");
    assert_string_equal(env("FLOWTRACE_DROP"), "1");
    assert_string_equal(env("FLOWTRACE_ALL"), "1");
    assert_string_equal(env("FLOWTRACE_REPR"), "0");
    assert_string_equal(a.bad, "");
    /* An inverted switch: --no-children=false keeps children traced. */
    assert_int_equal(PARSE(NULL, "--no-children", "x"), FT_ARGS_RUN);
    assert_string_equal(env("FLOWTRACE_CHILDREN"), "0");
    assert_int_equal(PARSE(NULL, "--no-children=false", "x"), FT_ARGS_RUN);
    assert_string_equal(env("FLOWTRACE_CHILDREN"), "1");
    assert_int_equal(PARSE(NULL, "-q", "--keep-raw", "x"), FT_ARGS_RUN);
    assert_true(a.quiet && a.keep_raw);
}

static void
a_command_is_never_taken_for_a_value(void **state)
{
    (void)state;
    assert_int_equal(PARSE(NULL, "--keep", "/bin/sh", "app.py"), FT_ARGS_RUN);
    assert_string_equal(a.cmd[0], "/bin/sh");
    assert_string_equal(a.bad, "--keep needs 'failed' or 'all'");
    assert_null(env("FLOWTRACE_KEEP"));
    assert_int_equal(PARSE(NULL, "--keep", "failed", "/bin/sh"), FT_ARGS_RUN);
    assert_string_equal(env("FLOWTRACE_KEEP"), "failed");
    /* Not a command either: a bad value, and the command after it runs untraced. */
    assert_int_equal(PARSE(NULL, "--keep", "sometimes", "/bin/sh"), FT_ARGS_RUN);
    assert_string_equal(a.cmd[0], "/bin/sh");
    assert_string_equal(a.bad, "--keep sometimes: not 'failed' or 'all'");
    assert_int_equal(PARSE(NULL, "--max-depth", "/bin/sh"), FT_ARGS_RUN);
    assert_string_equal(a.bad, "--max-depth needs a whole number from 0 to 1000000");
}

static void
bad_values_are_remembered_once_and_set_nothing(void **state)
{
    (void)state;
    assert_int_equal(PARSE(NULL, "--max-depth", "-1", "--flush-interval=1e-9", "x"), FT_ARGS_RUN);
    assert_string_equal(a.bad, "--max-depth -1: not a whole number from 0 to 1000000");
    assert_null(env("FLOWTRACE_MAX_DEPTH"));
    assert_null(env("FLOWTRACE_FLUSH_INTERVAL"));
}

static void
later_options_win_and_units_add_up(void **state)
{
    (void)state;
    assert_int_equal(PARSE("env:f", "--keep", "all", "--keep=failed", "--unit", "a:b",
                           "--unit=c.d:e", "-o", "dir", "x"),
                     FT_ARGS_RUN);
    assert_string_equal(env("FLOWTRACE_KEEP"), "failed");
    assert_string_equal(env("FLOWTRACE_UNIT"), "env:f,a:b,c.d:e");
    assert_string_equal(a.out, "dir");
    assert_int_equal(PARSE(NULL, "--output=d2", "--", "-x"), FT_ARGS_RUN);
    assert_string_equal(a.out, "d2");
    assert_string_equal(a.cmd[0], "-x");
}

static void
switches_with_a_value_of_their_own(void **state)
{
    (void)state;
    /* --manual is FLOWTRACE_START=manual; --otlp alone is 1, --otlp=URL the URL; neither
     * ever takes the next argument. */
    assert_int_equal(PARSE(NULL, "--manual", "--otlp", "x"), FT_ARGS_RUN);
    assert_string_equal(env("FLOWTRACE_START"), "manual");
    assert_string_equal(env("FLOWTRACE_OTLP"), "1");
    assert_string_equal(a.cmd[0], "x");
    assert_int_equal(PARSE(NULL, "--manual=false", "--otlp=http://c:4318", "x"), FT_ARGS_RUN);
    assert_string_equal(env("FLOWTRACE_START"), "auto");
    assert_string_equal(env("FLOWTRACE_OTLP"), "http://c:4318");
    assert_int_equal(PARSE(NULL, "--manual=maybe", "x"), FT_ARGS_RUN);
    assert_string_equal(a.bad, "--manual=maybe: not 'true' or 'false'");
    assert_int_equal(PARSE(NULL, "--sample", "0.01", "x"), FT_ARGS_RUN);
    assert_string_equal(env("FLOWTRACE_SAMPLE"), "0.01");
    assert_int_equal(PARSE(NULL, "--sample", "2", "x"), FT_ARGS_RUN);
    assert_string_equal(a.bad, "--sample 2: not a number from 0 to 1");
}

static void
usage_errors_help_and_version(void **state)
{
    (void)state;
    assert_int_equal(PARSE(NULL, "--frobnicate", "x"), FT_ARGS_USAGE);
    assert_string_equal(msg, "unknown option --frobnicate");
    assert_int_equal(PARSE(NULL, "--max-dept=3", "x"), FT_ARGS_USAGE);
    assert_string_equal(msg, "unknown option --max-dept");
    assert_int_equal(PARSE(NULL, "--drop"), FT_ARGS_USAGE); /* no command */
    assert_string_equal(msg, "");
    assert_int_equal(PARSE(NULL, "--help", "x"), FT_ARGS_HELP);
    assert_int_equal(PARSE(NULL, "-h"), FT_ARGS_HELP);
    assert_int_equal(PARSE(NULL, "--version"), FT_ARGS_VERSION);
    assert_int_equal(PARSE(NULL, "--version=2"), FT_ARGS_USAGE);
    /* Options after the command are the command's. */
    assert_int_equal(PARSE(NULL, "x", "--frobnicate"), FT_ARGS_RUN);
    assert_string_equal(a.cmd[1], "--frobnicate");
}

static int
teardown(void **state)
{
    (void)state;
    ft_run_args_free(&a);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(switches_take_a_value_only_after_an_equals_sign),
        cmocka_unit_test(a_command_is_never_taken_for_a_value),
        cmocka_unit_test(bad_values_are_remembered_once_and_set_nothing),
        cmocka_unit_test(later_options_win_and_units_add_up),
        cmocka_unit_test(switches_with_a_value_of_their_own),
        cmocka_unit_test(usage_errors_help_and_version),
    };
    return cmocka_run_group_tests_name("run_opts", tests, NULL, teardown);
}
