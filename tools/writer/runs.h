/* runs.h - the writer's memory of finished runs: parent links and the runs file.
 *
 * A process started by a traced process is linked to it by pid: a forked or spawned
 * child's ppid is its parent's pid, and an exec'd image keeps the pid of the run that
 * exec'd. Finished runs are remembered (a bounded list) for parents that end first.
 */
#ifndef FT_WRITER_RUNS_H
#define FT_WRITER_RUNS_H

#include <stdint.h>

#include "lib/run.h"
#include "lib/unitrow.h"

/* Remembers a finished run, and appends a line to runs_file if it is not NULL:
 * id TAB path TAB pid TAB parent-or-"-" TAB how TAB status-or-"-" TAB calls TAB script */
void ft_runs_finished(const struct ft_run_info *info, const char *runs_file);

/* A unit of the run in run_path has ended: if it failed, appends to runs_file (if not
 * NULL), in one write, as it ends (flowtrace-run prints it while the program runs):
 * "unit" TAB outcome TAB its tree (or the run's directory when its tree was not written)
 * TAB name TAB the error that failed it ("-" if none); tabs and newlines in the name
 * and the error become spaces. */
void ft_runs_unit_ended(const char *run_path, const struct ft_unit_row *u, const char *runs_file);

/* A run of process pid of which nothing was written (no directory could be made, or
 * nothing of it reached the disk): appends "unwritten" TAB pid to runs_file (if not NULL),
 * so that flowtrace-run says no run was written rather than that nothing was traced. */
void ft_runs_unwritten(uint64_t pid, const char *runs_file);

/* The id of a remembered run that started (pid, ppid): one that exec'd with this pid,
 * else one whose pid is ppid. NULL if none. Valid until the next ft_runs_finished(). */
const char *ft_runs_recent_parent(uint64_t pid, uint64_t ppid);

#endif
