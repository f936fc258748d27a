/* late.c - the program's processes still alive after it ended (late.h). */
#define _GNU_SOURCE
#include "late.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
ft_late_env_has(const char *env, size_t n, const char *entry)
{
    size_t len = strlen(entry);

    for (size_t at = 0; at < n;) {
        const char *end = memchr(env + at, '\0', n - at);
        size_t k = end != NULL ? (size_t)(end - (env + at)) : n - at;
        if (k == len && memcmp(env + at, entry, len) == 0) {
            return 1;
        }
        at += k + 1;
    }
    return 0;
}

/* Reads /proc/PID/environ whole into *buf (grown as needed); returns its length, or 0 if
 * it cannot be read (another user's process, a zombie, gone). */
static size_t
read_environ(const char *pid, char **buf, size_t *cap)
{
    char path[300];
    size_t n = 0;
    int fd;

    snprintf(path, sizeof(path), "/proc/%s/environ", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    for (;;) {
        ssize_t r;
        if (n == *cap) {
            size_t more = *cap != 0 ? *cap * 2 : 16384;
            char *p = realloc(*buf, more);
            if (p == NULL) {
                break;
            }
            *buf = p;
            *cap = more;
        }
        r = read(fd, *buf + n, *cap - n);
        if (r <= 0) {
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    return n;
}

int
ft_late_count(const char *entry, pid_t self)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    char *buf = NULL;
    size_t cap = 0;
    int count = 0;

    if (d == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        size_t n;
        if (!isdigit((unsigned char)e->d_name[0]) || strtol(e->d_name, NULL, 10) == (long)self) {
            continue;
        }
        n = read_environ(e->d_name, &buf, &cap);
        if (n > 0 && ft_late_env_has(buf, n, entry)) {
            count++;
        }
    }
    closedir(d);
    free(buf);
    return count;
}
