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

/* Starts sh with only `entry` in its environment (in a session of its own if daemon) and
 * returns once it runs with it. The shell then waits on a pipe whose write end *hold
 * keeps open: it execs nothing after saying it is ready, since a process in the middle of
 * an execve can show an empty /proc/PID/environ. */
static pid_t
start_child(char *entry, int daemon, int *hold)
{
    int ready[2], wait_on[2];
    pid_t pid;
    char c;

    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(wait_on), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static char sh[] = "sh", c_opt[] = "-c", script[] = "echo >&3; exec 3>&-; read x";
        char *env[] = {entry, NULL};
        char *argv[] = {sh, c_opt, script, NULL};
        if (daemon) {
            setsid();
        }
        close(ready[0]);
        close(wait_on[1]);
        dup2(wait_on[0], 0);
        dup2(ready[1], 3);
        execve("/bin/sh", argv, env);
        _exit(127);
    }
    close(ready[1]);
    close(wait_on[0]);
    assert_int_equal(read(ready[0], &c, 1), 1); /* exec'd with its new environment */
    close(ready[0]);
    *hold = wait_on[1];
    return pid;
}

/* A child with the entry counts while it lives; not as a zombie, not once reaped; one in
 * a session of its own is a daemon. */
static void
a_live_process_with_the_entry_counts(void **state)
{
    char entry[128];
    pid_t pid, daemon, sid = getsid(0);
    int daemons = -1, hold_child, hold_daemon;
    siginfo_t si;

    (void)state;
    snprintf(entry, sizeof(entry), "FLOWTRACE_SOCKET=/nowhere/late-%d.sock", (int)getpid());
    assert_int_equal(ft_late_count(entry, getpid(), sid, &daemons), 0);
    assert_int_equal(daemons, 0);
    pid = start_child(entry, 0, &hold_child);
    daemon = start_child(entry, 1, &hold_daemon);
    assert_int_equal(ft_late_count(entry, getpid(), sid, &daemons), 1);
    assert_int_equal(daemons, 1);
    assert_int_equal(ft_late_count(entry, pid, sid, &daemons), 0); /* itself left out */
    kill(daemon, SIGKILL);
    assert_int_equal(waitpid(daemon, NULL, 0), daemon);
    kill(pid, SIGKILL);
    assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0); /* a zombie */
    assert_int_equal(ft_late_count(entry, getpid(), sid, &daemons), 0);
    assert_int_equal(daemons, 0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    close(hold_child);
    close(hold_daemon);
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
