/* procs.h - the processes a writer has traced, and whether a new one descends from one.
 *
 * With FLOWTRACE_CHILDREN=0 only the first process is traced: a process that a traced
 * process started (fork, spawn, a shell in between) or became (exec) is not. The
 * writer knows every traced process, so it decides, from /proc: the new process itself
 * (same pid and start time: an exec'd image) and each of its ancestors are looked up.
 * A process is named by its pid and its start time, since pids are reused.
 */
#ifndef FT_WRITER_PROCS_H
#define FT_WRITER_PROCS_H

#include <stdint.h>

#include "lib/wire.h"

/* What a HELLO frame says about its process. */
struct ft_hello_id {
    uint64_t pid, ppid;
    uint64_t starttime; /* 0 if the process did not say (read from /proc then) */
    int only_first;     /* FLOWTRACE_CHILDREN=0 */
};

/* Reads the fields above from a HELLO frame (missing ones stay 0). */
void ft_procs_hello(const struct ft_frame *f, struct ft_hello_id *out);

/* Remembers a traced process and its run id (copied; a bounded table: the oldest are
 * forgotten). */
void ft_procs_add(uint64_t pid, uint64_t starttime, const char *run_id);

/* The run of the traced process that pid (started at starttime) is an exec'd image of,
 * or else descends from, through any number of untraced processes (a shell, say): the
 * closest one. NULL if none, or if pid is gone. *traced_pid gets its pid. Valid until
 * the next ft_procs_add(). */
const char *ft_procs_traced_ancestor(uint64_t pid, uint64_t starttime, uint64_t *traced_pid);

/* A process's parent and start time from /proc/PID/stat. Returns 0 or -errno. */
int ft_procs_stat(uint64_t pid, uint64_t *ppid, uint64_t *starttime);

#endif
