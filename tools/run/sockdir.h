/* sockdir.h - the private directory holding the writer's socket and the runs file.
 *
 * Made with mkdtemp (mode 0700, owned by the user: no one else may connect to the writer
 * or read what ran) in the first place that can hold it: $TMPDIR (made absolute), /tmp,
 * /dev/shm, /var/tmp, then the output directory. A place is passed over when it is
 * missing, read-only, not writable, or so deep that the socket's path would not fit a
 * Unix socket address (107 bytes); so no TMPDIR, however odd, stops a traced run.
 */
#ifndef FT_RUN_SOCKDIR_H
#define FT_RUN_SOCKDIR_H

#include <stddef.h>

#define FT_SOCKDIR_SOCKET "writer.sock"
#define FT_SOCKDIR_RUNS   "runs"

/* Makes the directory; its path goes to dir (cap bytes). tmpdir is $TMPDIR or NULL;
 * outdir the absolute output directory. Returns 0, or a negative errno with why (wcap
 * bytes) naming the places tried. */
int ft_sockdir_make(const char *tmpdir, const char *outdir, char *dir, size_t cap, char *why,
                    size_t wcap);

/* Removes the socket, the runs file and the directory. */
void ft_sockdir_remove(const char *dir);

#endif
