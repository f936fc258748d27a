/* test_run_watch.c - which signals flowtrace-run passes on: each reaches the command
 * once, whether it came from a terminal, the command's group, or someone else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>

#include "tools/run/watch.h"

#define CMD   100 /* the command's pid */
#define GROUP 90  /* its group (SHARE: ours; LEAVE: the caller's; OWN: its own, 100) */

static void
the_terminals_signals_are_never_passed_on(void **state)
{
    (void)state;
    for (int plan = FT_GROUP_LEAVE; plan <= FT_GROUP_OWN; plan++) {
        assert_false(ft_watch_passes_on(plan, SI_KERNEL, 0, -1, CMD, GROUP));
    }
}

static void
what_someone_sent_us_is_passed_on(void **state)
{
    (void)state;
    /* kill PID, Popen.terminate(), timeout, docker stop: from another group. */
    for (int plan = FT_GROUP_LEAVE; plan <= FT_GROUP_OWN; plan++) {
        assert_true(ft_watch_passes_on(plan, SI_USER, 555, 500, CMD, GROUP));
        assert_true(ft_watch_passes_on(plan, SI_QUEUE, 555, 500, CMD, GROUP));
    }
    /* A sender that is gone (its group unknown), or the kernel on another's behalf. */
    assert_true(ft_watch_passes_on(FT_GROUP_SHARE, SI_USER, 555, -1, CMD, GROUP));
    assert_true(ft_watch_passes_on(FT_GROUP_SHARE, SI_USER, 0, -1, CMD, GROUP));
}

static void
the_commands_own_group_reached_it_already(void **state)
{
    (void)state;
    /* The command, or a process of its group, signalling the group we share (SHARE) or
     * the command's own (OWN): it got it. */
    assert_false(ft_watch_passes_on(FT_GROUP_SHARE, SI_USER, 101, GROUP, CMD, GROUP));
    assert_false(ft_watch_passes_on(FT_GROUP_OWN, SI_USER, 101, CMD, CMD, CMD));
    assert_false(ft_watch_passes_on(FT_GROUP_LEAVE, SI_USER, CMD, GROUP, CMD, GROUP));
    /* In LEAVE its group is the caller's: `timeout` in it signals us on purpose. */
    assert_true(ft_watch_passes_on(FT_GROUP_LEAVE, SI_USER, 101, GROUP, CMD, GROUP));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_terminals_signals_are_never_passed_on),
        cmocka_unit_test(what_someone_sent_us_is_passed_on),
        cmocka_unit_test(the_commands_own_group_reached_it_already),
    };
    return cmocka_run_group_tests_name("run_watch", tests, NULL, NULL);
}
