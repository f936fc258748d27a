/* test_run_late.c - flowtrace-run finds the program's processes by the socket in their
 * environment: the exact entry, in a NUL-separated block, and in the live /proc. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/run/late.h"

#define BLOCK(s) ft_late_env_has(s, sizeof(s) - 1, "FLOWTRACE_SOCKET=/t/w.sock")

static void
only_the_exact_entry_counts(void **state)
{
    (void)state;
    assert_true(BLOCK("A=1\0FLOWTRACE_SOCKET=/t/w.sock\0B=2\0"));
    assert_true(BLOCK("FLOWTRACE_SOCKET=/t/w.sock\0"));
    assert_true(BLOCK("A=1\0FLOWTRACE_SOCKET=/t/w.sock")); /* the last, unterminated */
    assert_false(BLOCK("FLOWTRACE_SOCKET=/t/w.sock2\0"));  /* another writer's */
    assert_false(BLOCK("XFLOWTRACE_SOCKET=/t/w.sock\0"));
    assert_false(BLOCK("FLOWTRACE_SOCKET=/t/w.soc\0k\0"));
    assert_false(BLOCK("\0\0"));
    assert_false(ft_late_env_has("", 0, "FLOWTRACE_SOCKET=/t/w.sock"));
}

/* A child with the entry counts while it lives; not as a zombie, not once reaped. */
static void
a_live_process_with_the_entry_counts(void **state)
{
    char entry[128];
    int ready[2];
    pid_t pid;
    char c;

    (void)state;
    snprintf(entry, sizeof(entry), "FLOWTRACE_SOCKET=/nowhere/late-%d.sock", (int)getpid());
    assert_int_equal(ft_late_count(entry, getpid()), 0);
    assert_int_equal(pipe(ready), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *env[] = {entry, NULL};
        static char sh[] = "sh", c_opt[] = "-c", script[] = "echo >&3; exec sleep 1000";
        char *argv[] = {sh, c_opt, script, NULL};
        close(ready[0]);
        dup2(ready[1], 3);
        execve("/bin/sh", argv, env);
        _exit(127);
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1); /* exec'd with its new environment */
    close(ready[0]);
    assert_int_equal(ft_late_count(entry, getpid()), 1);
    assert_int_equal(ft_late_count(entry, pid), 0); /* itself left out */
    kill(pid, SIGKILL);
    {
        siginfo_t si;
        assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0); /* a zombie */
    }
    assert_int_equal(ft_late_count(entry, getpid()), 0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(only_the_exact_entry_counts),
        cmocka_unit_test(a_live_process_with_the_entry_counts),
    };
    return cmocka_run_group_tests_name("run_late", tests, NULL, NULL);
}
