/* test_config.c - the FLOWTRACE_* environment: defaults, values, and one clear message for
 * a bad one. */
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

#include "inject/config.h"
#include "lib/wire.h"

extern char **environ;

static int
setup(void **state)
{
    (void)state;
    /* Only what a test sets. */
    for (char **e = environ; *e != NULL;) {
        if (strncmp(*e, "FLOWTRACE_", 10) == 0 || strncmp(*e, "CI=", 3) == 0) {
            char name[256];
            size_t n = strcspn(*e, "=");
            snprintf(name, sizeof(name), "%.*s", (int)n, *e);
            unsetenv(name);
        } else {
            e++;
        }
    }
    setenv("TMPDIR", "/tmp", 1);
    return 0;
}

static void
defaults_are_those_the_readme_gives(void **state)
{
    char msg[256];

    (void)state;
    assert_int_equal(ft_config_load(msg, sizeof(msg)), 0);
    assert_int_equal(ft_cfg.disabled, 0);
    assert_int_equal(ft_cfg.flush_ns, 500000000u);
    assert_int_equal(ft_cfg.wait_ns, 60000000000u);
    assert_int_equal(ft_cfg.ack_ns, 60000000000u);
    assert_int_equal(ft_cfg.buffer_size, 64 * 1024);
    assert_int_equal(ft_cfg.max_arg_length, 1000);
    assert_int_equal(ft_cfg.children, 1);
    assert_int_equal(ft_cfg.exceptions, 1);
    assert_int_equal(ft_cfg.keep, FT_KEEP_ALL);
    assert_true(ft_cfg.redact.n > 5);
    assert_non_null(strstr(ft_cfg.dir, "/flowtrace-out"));
    assert_int_equal(ft_cfg.socket_given, 0);
    assert_non_null(strstr(ft_cfg.socket, "/tmp/flowtrace-"));
}

static void
values_are_read_and_lists_split(void **state)
{
    char msg[256];

    (void)state;
    setenv("FLOWTRACE_DROP", "yes", 1);
    setenv("FLOWTRACE_REPR", "1", 1);
    setenv("FLOWTRACE_FLUSH_INTERVAL", "0", 1);
    setenv("FLOWTRACE_INCLUDE", "app, lib.core", 1);
    setenv("FLOWTRACE_REDACT", "none", 1);
    setenv("FLOWTRACE_KEEP", "failed", 1);
    setenv("FLOWTRACE_UNIT", "jobs:run", 1);
    setenv("FLOWTRACE_SOCKET", "/tmp/x.sock", 1);
    assert_int_equal(ft_config_load(msg, sizeof(msg)), 0);
    assert_int_equal(ft_cfg.drop, 1);
    assert_int_equal(ft_cfg.repr, 1);
    assert_int_equal(ft_cfg.flush_ns, 0);
    assert_int_equal(ft_cfg.include.n, 2);
    assert_string_equal(ft_cfg.include.item[1], "lib.core");
    assert_int_equal(ft_cfg.redact.n, 0);
    assert_int_equal(ft_cfg.keep, FT_KEEP_FAILED);
    assert_string_equal(ft_cfg.units.item[0], "jobs:run");
    assert_string_equal(ft_cfg.socket, "/tmp/x.sock");
    assert_int_equal(ft_cfg.socket_given, 1);
}

static void
a_ci_run_keeps_failed_units_only(void **state)
{
    char msg[256];

    (void)state;
    setenv("CI", "true", 1);
    assert_int_equal(ft_config_load(msg, sizeof(msg)), 0);
    assert_int_equal(ft_cfg.keep, FT_KEEP_FAILED);
    setenv("CI", "false", 1);
    assert_int_equal(ft_config_load(msg, sizeof(msg)), 0);
    assert_int_equal(ft_cfg.keep, FT_KEEP_ALL);
}

static void
a_bad_value_is_one_message_naming_it(void **state)
{
    static const char *const bad[][3] = {
        {"FLOWTRACE_DROP", "maybe", "FLOWTRACE_DROP='maybe' is not 0 or 1"},
        {"FLOWTRACE_WAIT_TIMEOUT", "0", "FLOWTRACE_WAIT_TIMEOUT='0' is not a positive number"},
        {"FLOWTRACE_FLUSH_INTERVAL", "soon", "FLOWTRACE_FLUSH_INTERVAL='soon' is not a number"},
        {"FLOWTRACE_BUFFER_KB", "2", "FLOWTRACE_BUFFER_KB='2' is not an integer from 4 to"},
        {"FLOWTRACE_ENGINE", "fast", "FLOWTRACE_ENGINE='fast' is not 'auto'"},
        {"FLOWTRACE_UNIT", "nocolon", "FLOWTRACE_UNIT='nocolon' is not MODULE:FUNCTION"},
        {"FLOWTRACE_KEEP", "some", "FLOWTRACE_KEEP='some' is not 'all' or 'failed'"},
    };
    char msg[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setup(NULL);
        setenv(bad[i][0], bad[i][1], 1);
        assert_int_equal(ft_config_load(msg, sizeof(msg)), -EINVAL);
        if (strncmp(msg, bad[i][2], strlen(bad[i][2])) != 0) {
            fail_msg("%s: got \"%s\"", bad[i][0], msg);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults_are_those_the_readme_gives, setup),
        cmocka_unit_test_setup(values_are_read_and_lists_split, setup),
        cmocka_unit_test_setup(a_ci_run_keeps_failed_units_only, setup),
        cmocka_unit_test_setup(a_bad_value_is_one_message_naming_it, setup),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
