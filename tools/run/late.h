/* late.h - the program's processes still alive after the program ended.
 *
 * Every process the command starts, and their descendants, inherit FLOWTRACE_SOCKET=
 * flowtrace-run's own socket (unless they clear it). A Python process among them that
 * is started just before the program ends (multiprocessing's resource tracker, a shell
 * that execs python once its parent is gone) connects to the writer only at its own
 * start, possibly after the program's end: flowtrace-run keeps the writer listening
 * while such processes of its session are alive (at most FT_LATE_WAIT_S seconds; a
 * daemon, in a session of its own, is not waited for), and says how many it left
 * running.
 *
 * Found by their environment (/proc/PID/environ, readable for the user's own
 * processes), not by parentage: an orphan's parent is no longer the program's. Zombies
 * have no environment and do not count. A process in the middle of an execve has none
 * either, for a moment: one of the wrapper's session that reads empty while running is
 * waited for too, so a scan at that instant does not end the wait.
 */
#ifndef FT_RUN_LATE_H
#define FT_RUN_LATE_H

#include <sys/types.h>

/* How long flowtrace-run keeps listening for the program's late processes. */
#define FT_LATE_WAIT_S 5.0

/* What a look at /proc found, besides pid `self`:
 * - carriers: live processes of session `sid` whose environment holds exactly `entry`
 *   ("FLOWTRACE_SOCKET=/path"): the program's processes, waited for;
 * - daemons: the same in another session (setsid, start_new_session): not waited for;
 * - execing: processes of session `sid` whose environment reads empty while they run (state
 *   R or D): most likely one in the middle of an execve (a shell exec'ing python), whose
 *   environment shows again once the new program is mapped; waited for, never reported.
 * All 0 if /proc cannot be read. */
struct ft_late {
    int carriers, daemons, execing;
};

void ft_late_scan(const char *entry, pid_t self, pid_t sid, struct ft_late *found);

/* What process pid is to ft_late_scan: one of these. */
enum ft_late_kind { FT_LATE_NONE, FT_LATE_CARRIER, FT_LATE_DAEMON, FT_LATE_EXECING };
enum ft_late_kind ft_late_kind(pid_t pid, const char *entry, pid_t sid);

/* Whether the NUL-separated environment block env (n bytes, the last entry possibly not
 * NUL-terminated) holds exactly `entry`. */
int ft_late_env_has(const char *env, size_t n, const char *entry);

#endif
