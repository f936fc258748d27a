/* test_crit.c - a signal deferred inside FlowTrace's sections runs when the outermost ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "inject/crit.h"

static int ran;

static void
run(void)
{
    ran++;
    ft_sig_deferred = 0;
}

static void
a_deferred_signal_runs_when_the_outermost_section_ends(void **state)
{
    (void)state;
    ft_crit_set_deferred(run);
    ft_crit_enter();
    ft_crit_enter();
    ft_sig_deferred = 15; /* as the handler does inside a section */
    ft_crit_leave();
    assert_int_equal(ran, 0); /* still inside one */
    ft_crit_leave();
    assert_int_equal(ran, 1);
    assert_int_equal(ft_crit, 0);
}

static void
leaving_a_section_without_a_signal_runs_nothing(void **state)
{
    (void)state;
    ran = 0;
    ft_crit_enter();
    ft_crit_leave();
    assert_int_equal(ran, 0);
}

static void
without_a_hook_a_deferred_signal_is_left_alone(void **state)
{
    (void)state;
    ran = 0;
    ft_crit_set_deferred(NULL);
    ft_crit_enter();
    ft_sig_deferred = 15;
    ft_crit_leave();
    assert_int_equal(ran, 0);
    assert_int_equal(ft_sig_deferred, 15);
    ft_sig_deferred = 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_deferred_signal_runs_when_the_outermost_section_ends),
        cmocka_unit_test(leaving_a_section_without_a_signal_runs_nothing),
        cmocka_unit_test(without_a_hook_a_deferred_signal_is_left_alone),
    };
    return cmocka_run_group_tests_name("crit", tests, NULL, NULL);
}
