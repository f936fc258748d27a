/* dirs.c - mkdir -p, mode 0700. */
#include "dirs.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

int
ft_dirs_make(const char *path)
{
    char tmp[4096];

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s", path) >= sizeof(tmp) || tmp[0] == '\0') {
        return tmp[0] == '\0' ? -ENOENT : -ENAMETOOLONG;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                return -errno;
            }
            *p = '/';
        }
    }
    return mkdir(tmp, 0700) == 0 || errno == EEXIST ? 0 : -errno;
}
