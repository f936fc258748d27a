/* conn.h - the traced process's connection to flowtrace-writer.
 *
 * Connects to the writer's Unix socket. Without flowtrace-run (bare LD_PRELOAD) no
 * writer may be running yet: then one is started, detached from this process (it is
 * not our child, so the program's wait() never sees it), with its stdio on /dev/null
 * and a log file, and without inheriting any of the program's file descriptors.
 */
#ifndef FT_INJECT_CONN_H
#define FT_INJECT_CONN_H

#include <stddef.h>

/* Connects, starting a writer if needed and allowed. Returns a connected SOCK_STREAM
 * fd (close-on-exec), or -errno with a one-line reason in why. GIL held, main thread. */
int ft_conn_open(char *why, size_t cap);

#endif
