/* late.h - the program's processes still alive after the program ended.
 *
 * Every process the command starts, and their descendants, inherit FLOWTRACE_SOCKET=
 * flowtrace-run's own socket (unless they clear it). A Python process among them that
 * is started just before the program ends (multiprocessing's resource tracker, a shell
 * that execs python once its parent is gone) connects to the writer only at its own
 * start, possibly after the program's end: flowtrace-run keeps the writer listening
 * while such processes are alive (at most FT_LATE_WAIT_S seconds: a daemon is not
 * waited for), and says how many it left running.
 *
 * Found by their environment (/proc/PID/environ, readable for the user's own
 * processes), not by parentage: an orphan's parent is no longer the program's. Zombies
 * have no environment and do not count.
 */
#ifndef FT_RUN_LATE_H
#define FT_RUN_LATE_H

#include <sys/types.h>

/* How long flowtrace-run keeps listening for the program's late processes. */
#define FT_LATE_WAIT_S 5.0

/* The number of live processes, other than pid `self`, whose environment holds exactly
 * the entry `entry` ("FLOWTRACE_SOCKET=/path"). 0 if /proc cannot be read. */
int ft_late_count(const char *entry, pid_t self);

/* Whether the NUL-separated environment block env (n bytes, the last entry possibly not
 * NUL-terminated) holds exactly `entry`. */
int ft_late_env_has(const char *env, size_t n, const char *entry);

#endif
