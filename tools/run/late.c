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

/* Reads /proc/PID/environ whole into *buf (grown as needed); returns its length, 0 if it
 * reads empty, or -1 if it cannot be opened (another user's process, gone). */
static ssize_t
read_environ(const char *pid, char **buf, size_t *cap)
{
    char path[300];
    size_t n = 0;
    int fd;

    snprintf(path, sizeof(path), "/proc/%s/environ", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
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
    return (ssize_t)n;
}

int
ft_late_parse_stat(const char *text, struct ft_late_stat *st)
{
    /* After the command name's closing parenthesis, from field 3 on: state, ppid, pgrp,
     * session (6), ..., env_start (50), env_end (51), exit_code (52). */
    const char *p = strrchr(text, ')');

    if (p == NULL || p[1] != ' ' || p[2] == '\0') {
        return -1;
    }
    st->state = p[2];
    p += 3;
    for (int field = 4; field <= 51; field++) {
        char *end;
        long long v;
        if (*p != ' ') {
            return -1;
        }
        v = strtoll(p + 1, &end, 10);
        if (end == p + 1) {
            return -1;
        }
        if (field == 6) {
            st->session = (long)v;
        } else if (field == 50) {
            st->env_start = (unsigned long long)v;
        } else if (field == 51) {
            st->env_end = (unsigned long long)v;
        }
        p = end;
    }
    return 0;
}

/* /proc/PID/stat of process pid, parsed; -1 if it cannot be read. */
static int
stat_of(const char *pid, struct ft_late_stat *st)
{
    char path[300], buf[2048];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    return ft_late_parse_stat(buf, st);
}

/* Whether the image's environment is empty for good: where it is (not 0), empty, and in
 * the same place before and after the read (no execve between). */
static int
settled_empty(const struct ft_late_stat *before, const struct ft_late_stat *after)
{
    return after->env_end != 0 && after->env_start == after->env_end &&
           before->env_start == after->env_start && before->env_end == after->env_end;
}

enum ft_late_kind
ft_late_judge(const char *env, ssize_t n, const struct ft_late_stat *before,
              const struct ft_late_stat *after, const char *entry, pid_t sid)
{
    if (n < 0 || after->state == 'Z' || after->state == 'X') {
        return FT_LATE_NONE;
    }
    if (n > 0) {
        if (!ft_late_env_has(env, (size_t)n, entry)) {
            return FT_LATE_NONE;
        }
        return after->session == (long)sid ? FT_LATE_CARRIER : FT_LATE_DAEMON;
    }
    /* Empty: an image whose environment is empty (env -i), or one an execve is making or
     * was leaving around the read (env_end 0, a non-empty place, or another place). */
    return !settled_empty(before, after) && after->session == (long)sid ? FT_LATE_EXECING
                                                                        : FT_LATE_NONE;
}

/* What process `pid` (its /proc name) is; buf/cap: a buffer kept across calls. */
static enum ft_late_kind
kind_of(const char *pid, const char *entry, pid_t sid, char **buf, size_t *cap)
{
    struct ft_late_stat before, after;
    ssize_t n = read_environ(pid, buf, cap);

    if (n < 0 || (n > 0 && !ft_late_env_has(*buf, (size_t)n, entry))) {
        return FT_LATE_NONE; /* not ours: no need of its stat */
    }
    if (n > 0) {
        return stat_of(pid, &after) != 0 ? FT_LATE_NONE
                                         : ft_late_judge(*buf, n, &after, &after, entry, sid);
    }
    /* Empty: read it again between two stats, which tell an image's settled emptiness
     * from an execve under way. */
    if (stat_of(pid, &before) != 0 || (n = read_environ(pid, buf, cap)) < 0 ||
        stat_of(pid, &after) != 0) {
        return FT_LATE_NONE;
    }
    return ft_late_judge(*buf, n, &before, &after, entry, sid);
}

enum ft_late_kind
ft_late_kind(pid_t pid, const char *entry, pid_t sid)
{
    char name[24], *buf = NULL;
    size_t cap = 0;
    enum ft_late_kind kind;

    snprintf(name, sizeof(name), "%d", (int)pid);
    kind = kind_of(name, entry, sid, &buf, &cap);
    free(buf);
    return kind;
}

void
ft_late_scan(const char *entry, pid_t self, pid_t sid, struct ft_late *found)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    char *buf = NULL;
    size_t cap = 0;

    memset(found, 0, sizeof(*found));
    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]) || strtol(e->d_name, NULL, 10) == (long)self) {
            continue;
        }
        switch (kind_of(e->d_name, entry, sid, &buf, &cap)) {
        case FT_LATE_CARRIER:
            found->carriers++;
            break;
        case FT_LATE_DAEMON:
            found->daemons++;
            break;
        case FT_LATE_EXECING:
            found->execing++;
            break;
        case FT_LATE_NONE:
            break;
        }
    }
    closedir(d);
    free(buf);
}
