/* ownfile.c - opening files without following links, and only the user's own. */
#define _GNU_SOURCE
#include "ownfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
judge(const char *path, const struct stat *st, char *why, size_t cap)
{
    if (S_ISLNK(st->st_mode)) {
        snprintf(why, cap, "%s is a symbolic link; not followed", path);
    } else if (!S_ISREG(st->st_mode)) {
        snprintf(why, cap, "%s is not a regular file; not used", path);
    } else if (st->st_uid != geteuid()) {
        snprintf(why, cap, "%s belongs to another user (uid %u); not used", path,
                 (unsigned)st->st_uid);
    } else {
        return 0;
    }
    return -EPERM;
}

int
ft_ownfile_check(const char *path, char *why, size_t cap)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) {
            return 0;
        }
        snprintf(why, cap, "cannot inspect %s: %s", path, strerror(errno));
        return -errno;
    }
    return judge(path, &st, why, cap);
}

int
ft_ownfile_open(const char *path, int flags, mode_t mode, char *why, size_t cap)
{
    struct stat st;
    /* O_NONBLOCK: a FIFO planted under the name must not hang the open. */
    int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode), err;

    if (fd < 0) {
        err = errno;
        if (err == ELOOP) {
            snprintf(why, cap, "%s is a symbolic link; not followed", path);
            return -EPERM;
        }
        snprintf(why, cap, "cannot open %s: %s", path, strerror(err));
        return -err;
    }
    if (fstat(fd, &st) != 0) {
        err = -errno;
        snprintf(why, cap, "cannot inspect %s: %s", path, strerror(-err));
        close(fd);
        return err;
    }
    if ((err = judge(path, &st, why, cap)) != 0) {
        close(fd);
        return err;
    }
    if (!(flags & O_NONBLOCK)) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    }
    return fd;
}
