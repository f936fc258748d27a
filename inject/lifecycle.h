/* lifecycle.h - activation, fork and the ends of a traced process (inject/main.c).
 *
 * The constructor only checks that this is CPython and registers an audit hook. The
 * hook activates tracing on the interpreter's cpython.run_* event: after initialisation,
 * before the first line of the program. Every way a process can end is covered:
 * exit() and sys.exit (on_exit), the end of finalisation (Py_AtExit), os._exit (an
 * interposed _exit), exec (the os.exec audit event), and signals (signals.h). A forked
 * child connects as its own run on its first record, or when it exits.
 */
#ifndef FT_INJECT_LIFECYCLE_H
#define FT_INJECT_LIFECYCLE_H

#include <stddef.h>

/* GIL held, any thread of a running interpreter: connects to the writer (settings as
 * ft_config_load_with) and starts recording every thread. Returns 0, or -errno with a
 * one-line reason in why (-EALREADY: recording already). */
int ft_lifecycle_start(const char *settings, char *why, size_t cap);

/* GIL held, any thread: stops recording in every thread, ships everything, ends the run
 * (ended "detached") and waits for the writer to have written it. The program runs on
 * untraced; ft_lifecycle_start may start a new run. Returns 0 or -ENOTCONN. */
int ft_lifecycle_stop(void);

/* Set in a forked child until it has its own connection (atomic). */
extern int ft_fork_pending;

/* GIL held, in a forked child, on its first record: connects the child as a new run.
 * Returns 0, or -errno (the child then stays untraced). */
int ft_child_resume(void);

#endif
