/* attach.h - the mechanics of `flowtrace attach` (cmd_attach.c): checking a target
 * process, a private writer for it, and Python code run inside it.
 *
 * The code injected calls libflowtrace.so's flowtrace_start() or flowtrace_stop()
 * (inject/control.h) and leaves one status line in a private directory; it defines no
 * name in the target's modules (it runs in a namespace of its own). 3.14 runs it through
 * sys.remote_exec (PEP 768), called from the target's own interpreter binary; 3.11-3.13
 * through gdb, which queues it with Py_AddPendingCall(PyRun_SimpleString, code) in one
 * page it maps in the target (the page stays) and detaches at once: the interpreter runs
 * it at its next check between bytecodes, in the main thread.
 *
 * Errors come back as -errno with one line for the user in why.
 */
#ifndef FT_CLI_ATTACH_H
#define FT_CLI_ATTACH_H

#include <stddef.h>
#include <sys/types.h>

struct ft_attach {
    pid_t pid;
    uid_t uid; /* the target's */
    gid_t gid;
    int minor; /* 3.<minor> */
    char exe[4096];
    char dir[4096];  /* the output directory, absolute */
    char priv[4096]; /* private directory: socket, runs file, code, status */
    char lib[4096];  /* libflowtrace.so and flowtrace-writer, found beside this program */
    char writer[4096];
    pid_t writer_pid;
    int writer_pipe; /* its --parent-fd's write end: the writer leaves when we are gone */
};

enum ft_attach_op { FT_ATTACH_START, FT_ATTACH_STOP };

/* Checks that pid exists, may be traced by this user, and is CPython 3.11-3.14; makes
 * dir and a private directory (owned by the target's user, as is the writer, when root
 * attaches to another user's process); starts a writer. Returns 0 or -errno (why). */
int ft_attach_open(struct ft_attach *a, pid_t pid, const char *dir, char *why, size_t cap);

/* Has the target run op's code at its next safe point (asynchronous: see
 * ft_attach_status). Returns 0, or -errno (why) if the code could not be queued. */
int ft_attach_inject(struct ft_attach *a, enum ft_attach_op op, char *why, size_t cap);

/* The injected code's answer: -EAGAIN while it has not run, 0 when it succeeded, else
 * -EPROTO with its reason in line. */
int ft_attach_status(const struct ft_attach *a, char *line, size_t cap);

/* Whether the process exists (another user's too) and has not ended: one that ended but
 * is not yet reaped by its parent (a zombie) is not alive. */
int ft_attach_alive(pid_t pid);

/* Stops the writer once it has written every run, removes the private directory, and
 * names the run that was recorded in run (empty if none; run may be NULL). */
void ft_attach_close(struct ft_attach *a, char *run, size_t cap);

#endif
