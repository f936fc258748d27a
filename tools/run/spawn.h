/* spawn.h - flowtrace-run's children: the writer, in a session of its own, and the command.
 *
 * The writer's session keeps signals meant for the program's process group (a terminal
 * hanging up, Ctrl+C, `kill -- -PGID`) away from it: it must outlive the program to write
 * its runs. Its stderr is a pipe that flowtrace-run relays, so a writer still finishing
 * after flowtrace-run was killed never holds the caller's stderr open. Its --parent-fd is
 * a pipe flowtrace-run holds: a 'q' then the end asks it to finish and stop; the end alone
 * (flowtrace-run killed) makes it stay until no traced process is connected, then leave.
 */
#ifndef FT_RUN_SPAWN_H
#define FT_RUN_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "watch.h"

struct ft_writer_proc {
    pid_t pid;
    int ctl; /* our end of its --parent-fd pipe; -1 once closed */
    int err; /* the read end of its stderr */
};

/* What the writer is started with: the output directory, the socket's directory,
 * --keep-raw, and the command's settings ("FLOWTRACE_X=value", borrowed), which the
 * writer finds in its environment too. */
struct ft_writer_cmd {
    const char *out, *sockdir;
    int keep_raw;
    char *const *env;
    int nenv;
};

/* Starts `exe --dir out --socket DIR/writer.sock --runs-file DIR/runs --parent-fd 3`
 * (and --keep-raw). Returns 0, or a negative errno with why (cap bytes). */
int ft_spawn_writer(const struct ft_watch *w, const char *exe, const struct ft_writer_cmd *c,
                    struct ft_writer_proc *wp, char *why, size_t cap);

/* Asks the writer to finish the runs and stop (idempotent). */
void ft_writer_stop(struct ft_writer_proc *wp);

/* Forks and executes argv (PATH searched) with envp. Returns the pid, or a negative errno
 * if it could not run: then *exec_err is the exec's errno and the child has ended. */
pid_t ft_spawn_command(const struct ft_watch *w, char *const argv[], char *const envp[],
                       int *exec_err);

/* Runs `exe --dir out --recover` and returns its output (malloc'd, NUL-terminated; NULL
 * if it could not run). */
char *ft_spawn_recover(const struct ft_watch *w, const char *exe, const char *out);

#endif
