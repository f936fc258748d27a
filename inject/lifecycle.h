/* lifecycle.h - main.c's entry points for the exported controls (control.c).
 *
 * main.c owns a traced process's lifecycle: the constructor only checks that this is
 * CPython and registers an audit hook, which activates tracing on the interpreter's
 * cpython.run_* event (after initialisation, before the first line of the program);
 * every way a process can end is covered there. These two start and stop recording on
 * request in an interpreter that is already running.
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

/* Whether this process is being recorded now (regions may be marked). */
int ft_lifecycle_recording(void);

#endif
