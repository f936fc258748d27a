/* cmd_attach.c - `flowtrace attach PID`: record a running CPython process that was started
 * without FlowTrace, then detach and leave it running as before.
 *
 * The target is checked first (it exists, it is ours to trace, it is CPython 3.11-3.14),
 * then a writer is started on a private socket, as flowtrace-run does. Python code is
 * then run inside the target at its next safe point (between two bytecodes, GIL held):
 * it loads libflowtrace.so with ctypes and calls flowtrace_start() (inject/control.h),
 * which records every thread into that writer; after --duration seconds, or Ctrl+C, the
 * same way flowtrace_stop() ends the run. How the code gets in depends on the version
 * (attach.c): 3.14 asks the interpreter itself (sys.remote_exec, PEP 768); 3.11-3.13
 * go through gdb, which only queues the code as a pending call (Py_AddPendingCall) and
 * detaches: no Python code ever runs at a point the interpreter did not choose.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"

static const char usage_text[] =
    "usage: flowtrace attach [-o DIR] [--duration SECONDS] [-q] PID\n"
    "\n"
    "Records the running CPython process PID (3.11 to 3.14, started without FlowTrace)\n"
    "into DIR (default $FLOWTRACE_DIR, else ./flowtrace-out) until SECONDS have passed,\n"
    "Ctrl+C, or the process ends; then detaches and leaves it running as before. The\n"
    "recording starts when the process next runs Python code. Python 3.14 is attached\n"
    "through sys.remote_exec (PEP 768); 3.11 to 3.13 through gdb. Tracing another\n"
    "user's process needs root.\n";

static volatile sig_atomic_t interrupted;

static void
on_signal(int signo)
{
    interrupted = signo;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for the target to run the code that was injected: its status line, or the
 * target's end, or a signal. Says once that it is waiting when that takes a while. */
static int
await_status(struct ft_attach *a, const char *what, int quiet, char *line, size_t cap)
{
    double start = now_s();
    int said = 0, err;

    while ((err = ft_attach_status(a, line, cap)) == -EAGAIN) {
        if (!ft_attach_alive(a->pid)) {
            snprintf(line, cap, "process %d ended before it %s", (int)a->pid, what);
            return -ESRCH;
        }
        if (interrupted) {
            snprintf(line, cap, "interrupted while process %d had not yet %s", (int)a->pid, what);
            return -EINTR;
        }
        if (!said && !quiet && now_s() - start > 2) {
            fprintf(stderr,
                    "[FlowTrace] waiting for process %d to run Python code (it is blocked "
                    "outside the interpreter, or idle)...\n",
                    (int)a->pid);
            said = 1;
        }
        usleep(20000);
    }
    return err;
}

/* Records until the duration is over, a signal, or the target's end. */
static void
record(const struct ft_attach *a, double duration)
{
    double end = duration > 0 ? now_s() + duration : 0;

    while (!interrupted && ft_attach_alive(a->pid) && (end == 0 || now_s() < end)) {
        usleep(20000);
    }
}

static int
attach(pid_t pid, const char *dir, double duration, int quiet)
{
    struct ft_attach a;
    char line[1024], why[1024];
    double t0;
    int err = 0;

    if (ft_attach_open(&a, pid, dir, why, sizeof(why)) != 0) {
        ft_cli_err("attach", "%s", why);
        return FT_EXIT_FAIL;
    }
    if (ft_attach_inject(&a, FT_ATTACH_START, why, sizeof(why)) != 0) {
        ft_cli_err("attach", "%s", why);
        ft_attach_close(&a, NULL, 0);
        return FT_EXIT_FAIL;
    }
    if (await_status(&a, "started recording", quiet, line, sizeof(line)) != 0) {
        ft_cli_err("attach", "%s", line);
        ft_attach_close(&a, NULL, 0);
        return FT_EXIT_FAIL;
    }
    t0 = now_s();
    if (!quiet) {
        fprintf(stderr, "[FlowTrace] attached to process %d (Python 3.%d, %s): recording ",
                (int)pid, a.minor, a.minor >= 14 ? "sys.remote_exec" : "gdb");
        if (duration > 0) {
            fprintf(stderr, "for %gs (Ctrl+C stops sooner)\n", duration);
        } else {
            fprintf(stderr, "until Ctrl+C or its end\n");
        }
    }
    record(&a, duration);
    if (ft_attach_alive(pid)) {
        interrupted = 0;
        if ((err = ft_attach_inject(&a, FT_ATTACH_STOP, why, sizeof(why))) != 0 ||
            (err = await_status(&a, "stopped recording", quiet, line, sizeof(line))) != 0) {
            ft_cli_err("attach", "%s", err == 0 ? why : line);
        }
    }
    ft_attach_close(&a, line, sizeof(line));
    if (!quiet) {
        fprintf(stderr, "[FlowTrace] detached from process %d after %.3fs -> %s\n", (int)pid,
                now_s() - t0, line[0] ? line : a.dir);
    }
    return err == 0 ? FT_EXIT_OK : FT_EXIT_FAIL;
}

int
ft_cmd_attach(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"duration", required_argument, NULL, 'd'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    double duration = 0;
    int quiet = 0, opt;
    struct sigaction sa;
    char *end;
    long pid;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":o:qh", opts, NULL)) != -1) {
        switch (opt) {
        case 'o':
            dir = optarg;
            break;
        case 'd':
            duration = strtod(optarg, &end);
            if (*end != '\0' || end == optarg || !(duration > 0) || duration > 1e7) {
                ft_cli_err("attach", "--duration '%s' is not a positive number of seconds", optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return FT_EXIT_OK;
        default:
            return ft_cli_bad_option("attach", opt, argv);
        }
    }
    if (optind != argc - 1) {
        fputs(usage_text, stderr);
        return FT_EXIT_USAGE;
    }
    pid = strtol(argv[optind], &end, 10);
    if (*end != '\0' || pid <= 0 || pid > 0x3fffffff) {
        ft_cli_err("attach", "'%s' is not a process id", argv[optind]);
        return FT_EXIT_USAGE;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return attach((pid_t)pid, ft_cli_dir(dir), duration, quiet);
}
