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
 * either, for a moment: /proc/PID/stat then shows env_end 0 (the new image's stack is not
 * made yet), or an environment read empty while stat shows a non-empty one (the read met
 * the exec's switch). A process started with an empty environment (`env -i`) shows its
 * empty environment where it is: env_start == env_end, the same before and after the
 * read. So a look at a process whose environment reads empty takes its stat before and
 * after reading it again; anything but that settled emptiness is an execve under way,
 * and one of the wrapper's session is waited for (a scan at that instant does not end
 * the wait); an `env -i` process is nothing of ours.
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
 * - execing: processes of session `sid` in the middle of an execve (environment read
 *   empty, not settled so: a shell exec'ing python), whose environment shows once the new
 *   image is made; waited for, never reported.
 * All 0 if /proc cannot be read. */
struct ft_late {
    int carriers, daemons, execing;
};

void ft_late_scan(const char *entry, pid_t self, pid_t sid, struct ft_late *found);

/* What process pid is to ft_late_scan: one of these. */
enum ft_late_kind { FT_LATE_NONE, FT_LATE_CARRIER, FT_LATE_DAEMON, FT_LATE_EXECING };
enum ft_late_kind ft_late_kind(pid_t pid, const char *entry, pid_t sid);

/* What /proc/PID/stat says of a process: its state letter, its session, and where its
 * environment is in its memory (both 0 from an execve's switch to the new image until the
 * image's stack is made, and for a process without memory: one exiting; start == end for
 * an empty environment, and for an instant while the execve writes the environment's
 * pointers). */
struct ft_late_stat {
    char state;
    long session;
    unsigned long long env_start, env_end;
};

/* Parses the text of /proc/PID/stat. Returns 0, or -1 if it is not one. */
int ft_late_parse_stat(const char *text, struct ft_late_stat *st);

/* What a process is, from its environment (n bytes of env; -1: cannot be read) and its
 * stat read before and after it (the same one twice when the environment was read
 * first and is not empty): ft_late_kind's rule, for a look taken. */
enum ft_late_kind ft_late_judge(const char *env, ssize_t n, const struct ft_late_stat *before,
                                const struct ft_late_stat *after, const char *entry, pid_t sid);

/* Whether the NUL-separated environment block env (n bytes, the last entry possibly not
 * NUL-terminated) holds exactly `entry`. */
int ft_late_env_has(const char *env, size_t n, const char *entry);

#endif
