/* main.c - flowtrace-run: trace an unmodified Python program and the Python processes it
 * starts, without changing what runs.
 *
 *   flowtrace-run [-o DIR] [options] [--] COMMAND [ARGS...]
 *
 * Starts flowtrace-writer on a private socket, runs COMMAND with libflowtrace.so prepended
 * to LD_PRELOAD, passes on the signals it receives, waits until every run is written,
 * prints where they went, and ends as COMMAND did. Whatever stands in the way of tracing
 * (a bad option value, an unusable output directory, no place for a socket, a writer that
 * does not start) is one line on stderr, and COMMAND runs untraced.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/dirs.h"
#include "lib/settings.h"
#include "late.h"
#include "opts.h"
#include "sockdir.h"
#include "spawn.h"
#include "summary.h"
#include "watch.h"

#ifndef FT_VERSION
#define FT_VERSION "dev"
#endif

extern char **environ;

/* How often the runs file is read for failed units while the command runs: well within
 * the second issue 12 allows, at the writer's 0.25 s tick. */
#define FOLLOW_MS 200
/* How often the program's late processes are looked for (wait_late). */
#define LATE_STEP_MS 20

struct files {
    char lib[PATH_MAX], writer[PATH_MAX], out[PATH_MAX];
    char sockdir[108]; /* it and its socket fit a Unix socket address */
};

static _Noreturn void
cannot_run(const char *cmd, int err)
{
    const char *hint = "";
    size_t n = strlen(cmd);

    /* `flowtrace-run app.py`: the script exists, but is not a command. */
    if ((err == EACCES || err == ENOEXEC || err == ENOENT) && n > 3 &&
        strcmp(cmd + n - 3, ".py") == 0 && access(cmd, F_OK) == 0) {
        hint = " (a script needs its interpreter: flowtrace-run python3 ";
    }
    fprintf(stderr, "flowtrace-run: cannot run '%s': %s%s%s%s\n", cmd, strerror(err), hint,
            *hint ? cmd : "", *hint ? ")" : "");
    exit(err == ENOENT ? 127 : 126);
}

/* One line, then the command in our place, with the caller's environment, group and
 * signal state: what would have run without flowtrace-run. */
static _Noreturn void
run_untraced(const struct ft_watch *w, char **cmd, const char *why)
{
    fprintf(stderr, "flowtrace-run: %s; running the command untraced\n", why);
    if (w != NULL) {
        if (w->plan == FT_GROUP_LEAVE) {
            setpgid(0, w->caller_pgid);
        }
        ft_watch_restore(w);
    }
    execvp(cmd[0], cmd);
    cannot_run(cmd[0], errno);
}

static int
parts_in(struct files *f, const char *dir, const char *sub)
{
    snprintf(f->lib, sizeof(f->lib), "%s%s/libflowtrace.so", dir, sub);
    snprintf(f->writer, sizeof(f->writer), "%s%s/flowtrace-writer", dir, sub);
    return access(f->lib, R_OK) == 0 && access(f->writer, X_OK) == 0 ? 0 : -1;
}

/* libflowtrace.so and flowtrace-writer: in $FLOWTRACE_BUILD if set (a build under test),
 * else beside this program (build/, the wheel's _bin/), or in ../lib/flowtrace/ (make
 * install). */
static int
find_parts(struct files *f)
{
    const char *build = getenv("FLOWTRACE_BUILD");
    char self[PATH_MAX - 64];
    ssize_t n;

    if (build != NULL && *build != '\0' && strlen(build) < sizeof(self)) {
        return parts_in(f, build, "");
    }
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0 || n >= (ssize_t)sizeof(self) - 1) {
        return -1;
    }
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    return parts_in(f, self, "") == 0 || parts_in(f, self, "/../lib/flowtrace") == 0 ? 0 : -1;
}

/* The output directory, made if missing, as an absolute path: ours, a directory, and
 * writable. Otherwise why says what is wrong with it. */
static int
output_dir(const char *given, char *out, size_t cap, char *why, size_t wcap)
{
    const char *dir = given;
    struct stat st;
    int err;

    if (dir == NULL) {
        dir = getenv("FLOWTRACE_DIR");
        dir = dir != NULL && *dir ? dir : "flowtrace-out";
    }
    if ((err = ft_dirs_make(dir)) != 0) {
        snprintf(why, wcap, "cannot create output directory '%s': %s", dir, strerror(-err));
        return err;
    }
    if (realpath(dir, out) == NULL || strlen(out) >= cap || stat(out, &st) != 0) {
        snprintf(why, wcap, "cannot use output directory '%s': %s", dir, strerror(errno));
        return -errno;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, wcap, "output directory '%s' is not a directory", dir);
        return -ENOTDIR;
    }
    /* Someone else's directory could hold links or files prepared for us to write into
     * (their owner would read the trace): use only the user's own. */
    if (st.st_uid != geteuid()) {
        snprintf(why, wcap, "output directory '%s' belongs to another user (uid %u)", dir,
                 (unsigned)st.st_uid);
        return -EPERM;
    }
    if (access(out, W_OK | X_OK) != 0) {
        snprintf(why, wcap, "output directory '%s' is not writable", dir);
        return -EACCES;
    }
    return 0;
}

/* The command's environment: ours with the library first in LD_PRELOAD, the socket, the
 * output directory and the options' settings. */
static char **
command_env(const struct ft_run_args *a, const struct files *f)
{
    size_t n = 0, k = 0;
    const char *old = getenv("LD_PRELOAD");
    char **env;

    while (environ[n] != NULL) {
        n++;
    }
    env = calloc(n + (size_t)a->nenv + 4, sizeof(*env));
    if (env == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        int ours = !strncmp(e, "LD_PRELOAD=", 11) || !strncmp(e, "FLOWTRACE_SOCKET=", 17) ||
                   !strncmp(e, "FLOWTRACE_DIR=", 14);
        for (int j = 0; j < a->nenv && !ours; j++) {
            size_t len = (size_t)(strchr(a->env[j], '=') - a->env[j]) + 1;
            ours = strncmp(e, a->env[j], len) == 0;
        }
        if (!ours) {
            env[k++] = environ[i];
        }
    }
    for (int j = 0; j < a->nenv; j++) {
        env[k++] = a->env[j];
    }
    if (asprintf(&env[k++], "LD_PRELOAD=%s%s%s", f->lib, old && *old ? ":" : "", old ? old : "") <
            0 ||
        asprintf(&env[k++], "FLOWTRACE_SOCKET=%s/%s", f->sockdir, FT_SOCKDIR_SOCKET) < 0 ||
        asprintf(&env[k++], "FLOWTRACE_DIR=%s", f->out) < 0) {
        return NULL;
    }
    return env;
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for the writer's socket (it listens within milliseconds). */
static int
wait_listening(struct ft_watch *w, const struct files *f)
{
    char sock[PATH_MAX];

    snprintf(sock, sizeof(sock), "%s/%s", f->sockdir, FT_SOCKDIR_SOCKET);
    for (int i = 0; i < 2500; i++) {
        if (access(sock, F_OK) == 0) {
            return 0;
        }
        if (w->writer_done) {
            return -1;
        }
        ft_watch_step(w, 2);
    }
    return -1;
}

/* Whether the command's environment env traces the processes its traced ones start
 * (FLOWTRACE_CHILDREN, read as the library reads it: the last one; on unless it says off;
 * a value that is none leaves the program untraced anyway). */
static int
children_traced(char *const *env)
{
    const struct ft_setting *s = ft_setting_by_env("FLOWTRACE_CHILDREN");
    struct ft_setting_value v;
    const char *text = NULL;

    for (; *env != NULL; env++) {
        if (strncmp(*env, "FLOWTRACE_CHILDREN=", 19) == 0) {
            text = *env + 19;
        }
    }
    return s == NULL || text == NULL || text[0] == '\0' || ft_setting_parse(s, text, &v) != 0 ||
           v.on;
}

/* After the command: the program's processes still alive (late.h) may yet start a Python
 * process, which connects at its own start; the writer keeps listening for those of our
 * session, for at most FT_LATE_WAIT_S seconds (daemons, in sessions of their own, are not
 * waited for). Those left running are said in one line. With --no-children the program's
 * end is the end: every later process would be one the writer refuses. */
static void
wait_late(struct ft_watch *w, const struct ft_run_args *a, const struct files *f,
          struct ft_summary *sum, int children)
{
    char entry[PATH_MAX];
    double until = now() + FT_LATE_WAIT_S;
    pid_t sid = getsid(0);
    struct ft_late found;
    int n;

    if (!children) {
        return;
    }
    snprintf(entry, sizeof(entry), "FLOWTRACE_SOCKET=%s/%s", f->sockdir, FT_SOCKDIR_SOCKET);
    for (;;) {
        ft_late_scan(entry, getpid(), sid, &found);
        if (found.carriers + found.execing == 0 || w->stop_now || w->writer_done ||
            now() >= until) {
            break;
        }
        ft_watch_step(w, LATE_STEP_MS);
        if (!a->quiet) {
            ft_summary_follow(sum, stderr);
        }
    }
    n = found.carriers + found.daemons;
    if (n > 0 && !w->stop_now && !w->writer_done && !a->quiet) {
        fprintf(stderr,
                "[FlowTrace] %d process%s started by the program still running after it "
                "ended: left running; a Python process started from now on is not traced\n",
                n, n == 1 ? "" : "es");
    }
}

/* After the command: the writer finishes the runs and stops; what it says is relayed. */
static void
finish_writer(struct ft_watch *w, struct ft_writer_proc *wp)
{
    ft_writer_stop(wp);
    while (!w->writer_done && !w->stop_now) {
        ft_watch_step(w, -1);
    }
    for (int i = 0; w->writer_done && w->relay >= 0 && i < 50; i++) {
        ft_watch_step(w, 100);
    }
}

static _Noreturn void
traced(struct ft_run_args *a, struct files *f)
{
    struct ft_writer_proc wp = {0, -1, -1};
    struct ft_writer_cmd wc = {f->out, f->sockdir, a->keep_raw, a->env, a->nenv};
    struct ft_watch w;
    char why[PATH_MAX + 256], runs[PATH_MAX + 16], **env;
    struct ft_summary sum = {runs, 0};
    double start, end;
    pid_t pid;
    int err = 0, children;

    if (ft_watch_start(&w) != 0) {
        ft_sockdir_remove(f->sockdir);
        run_untraced(NULL, a->cmd, "cannot watch for signals");
    }
    if (ft_spawn_writer(&w, f->writer, &wc, &wp, why, sizeof(why)) != 0) {
        ft_sockdir_remove(f->sockdir);
        run_untraced(&w, a->cmd, why);
    }
    w.writer = wp.pid;
    w.relay = wp.err;
    if (wait_listening(&w, f) != 0) {
        ft_writer_stop(&wp);
        finish_writer(&w, &wp);
        ft_sockdir_remove(f->sockdir);
        run_untraced(&w, a->cmd, "flowtrace-writer did not start");
    }
    env = command_env(a, f);
    start = now();
    pid = env != NULL ? ft_spawn_command(&w, a->cmd, env, &err) : -ENOMEM;
    if (pid < 0) {
        finish_writer(&w, &wp);
        ft_sockdir_remove(f->sockdir);
        cannot_run(a->cmd[0], err != 0 ? err : -pid);
    }
    ft_watch_started(&w, pid);
    children = children_traced(env);
    snprintf(runs, sizeof(runs), "%s/%s", f->sockdir, FT_SOCKDIR_RUNS);
    /* A failed unit's line as it ends (the writer appends it to the runs file then). */
    while (!w.cmd_done) {
        ft_watch_step(&w, a->quiet ? -1 : FOLLOW_MS);
        if (!a->quiet) {
            ft_summary_follow(&sum, stderr);
        }
    }
    end = now();
    wait_late(&w, a, f, &sum, children);
    finish_writer(&w, &wp);
    if (!w.stop_now) {
        char *rebuilt = NULL;
        /* A writer that died during the run (killed, out of memory) left its runs
         * unfinished: rebuild them from their spools. */
        if (w.writer_done && WIFSIGNALED(w.writer_status)) {
            rebuilt = ft_spawn_recover(&w, f->writer, f->out);
            ft_summary_rebuilt(stderr, WTERMSIG(w.writer_status), rebuilt);
        }
        if (!a->quiet) {
            ft_summary_print(&sum, stderr, f->out, end - start, rebuilt != NULL && *rebuilt);
        }
        free(rebuilt);
    }
    ft_sockdir_remove(f->sockdir);
    ft_exit_as(w.cmd_status);
}

int
main(int argc, char **argv)
{
    struct ft_run_args a;
    static struct files f;
    char msg[PATH_MAX + 256];

    switch (ft_run_args_parse(argc, argv, getenv("FLOWTRACE_UNIT"), &a, msg, sizeof(msg))) {
    case FT_ARGS_HELP:
        fputs(ft_run_usage, stdout);
        return 0;
    case FT_ARGS_VERSION:
        printf("flowtrace-run %s\n", FT_VERSION);
        return 0;
    case FT_ARGS_USAGE:
        if (msg[0] != '\0') {
            fprintf(stderr, "flowtrace-run: %s\n", msg);
        }
        fputs("usage: flowtrace-run [-o DIR] [options] [--] COMMAND [ARGS...] "
              "(flowtrace-run --help)\n",
              stderr);
        return 2;
    default:
        break;
    }
    if (a.bad[0] != '\0') {
        run_untraced(NULL, a.cmd, a.bad);
    }
    if (find_parts(&f) != 0) {
        run_untraced(NULL, a.cmd,
                     "libflowtrace.so and flowtrace-writer are not beside "
                     "flowtrace-run (run 'make')");
    }
    if (output_dir(a.out, f.out, sizeof(f.out), msg, sizeof(msg)) != 0) {
        run_untraced(NULL, a.cmd, msg);
    }
    if (ft_sockdir_make(getenv("TMPDIR"), f.out, f.sockdir, sizeof(f.sockdir), msg, sizeof(msg)) !=
        0) {
        run_untraced(NULL, a.cmd, msg);
    }
    traced(&a, &f);
}
