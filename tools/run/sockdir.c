/* sockdir.c - choosing and making the private socket directory, and removing it. */
#define _GNU_SOURCE
#include "sockdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define TEMPLATE "flowtrace-run.XXXXXX"

/* Tries mkdtemp in base; 0 or a negative errno. */
static int
make_in(const char *base, char *dir, size_t cap)
{
    size_t room = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

    if (base == NULL || base[0] != '/') {
        return -EINVAL;
    }
    /* base/TEMPLATE/writer.sock must fit a socket address. */
    if (strlen(base) + 1 + strlen(TEMPLATE) + 1 + strlen(FT_SOCKDIR_SOCKET) > room ||
        (size_t)snprintf(dir, cap, "%s/%s", base, TEMPLATE) >= cap) {
        return -ENAMETOOLONG;
    }
    return mkdtemp(dir) != NULL ? 0 : -errno;
}

int
ft_sockdir_make(const char *tmpdir, const char *outdir, char *dir, size_t cap, char *why,
                size_t wcap)
{
    char abs_tmp[4096];
    const char *places[6];
    int n = 0, err = -ENOENT;

    if (tmpdir != NULL && tmpdir[0] != '\0') {
        if (tmpdir[0] == '/') {
            places[n++] = tmpdir;
        } else {
            char cwd[2048];
            if (getcwd(cwd, sizeof(cwd)) != NULL &&
                (size_t)snprintf(abs_tmp, sizeof(abs_tmp), "%s/%s", cwd, tmpdir) <
                    sizeof(abs_tmp)) {
                places[n++] = abs_tmp;
            }
        }
    }
    places[n++] = "/tmp";
    places[n++] = "/dev/shm";
    places[n++] = "/var/tmp";
    places[n++] = outdir;
    for (int i = 0; i < n; i++) {
        if ((err = make_in(places[i], dir, cap)) == 0) {
            return 0;
        }
    }
    snprintf(why, wcap,
             "no place for a private socket directory ($TMPDIR, /tmp, /dev/shm, "
             "/var/tmp, the output directory): %s",
             strerror(-err));
    return err;
}

void
ft_sockdir_remove(const char *dir)
{
    char path[4096];

    if (snprintf(path, sizeof(path), "%s/%s", dir, FT_SOCKDIR_SOCKET) < (int)sizeof(path)) {
        unlink(path);
    }
    if (snprintf(path, sizeof(path), "%s/%s", dir, FT_SOCKDIR_RUNS) < (int)sizeof(path)) {
        unlink(path);
    }
    rmdir(dir);
}
