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

/* The session of process pid (/proc/PID/stat's sixth field) and its state letter, or -1. */
static long
session_of(const char *pid, char *state)
{
    char path[300], buf[512], *p;
    long sid = -1;
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
    /* After the command name's closing parenthesis: state, ppid, pgrp, session. */
    if ((p = strrchr(buf, ')')) == NULL || strlen(p) < 4) {
        return -1;
    }
    *state = p[2];
    p += 4; /* ") S " */
    for (int field = 0; field < 3 && p != NULL; field++) {
        char *end;
        sid = strtol(p, &end, 10);
        p = end != p && *end == ' ' ? end + 1 : NULL;
    }
    return p != NULL ? sid : -1;
}

/* Whether /proc/PID/environ opens (the user's own process, still there). */
static int
environ_opens(const char *pid)
{
    char path[300];
    int fd;

    snprintf(path, sizeof(path), "/proc/%s/environ", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return 0;
    }
    close(fd);
    return 1;
}

/* What process `pid` (its /proc name) is; buf/cap: a buffer kept across calls. */
static enum ft_late_kind
kind_of(const char *pid, const char *entry, pid_t sid, char **buf, size_t *cap)
{
    size_t n = read_environ(pid, buf, cap);
    char state = '?';
    long session;

    if (n > 0 && !ft_late_env_has(*buf, n, entry)) {
        return FT_LATE_NONE;
    }
    session = session_of(pid, &state);
    if (n > 0) {
        return session == (long)sid ? FT_LATE_CARRIER : FT_LATE_DAEMON;
    }
    if (session == (long)sid && (state == 'R' || state == 'D') && environ_opens(pid)) {
        return FT_LATE_EXECING;
    }
    return FT_LATE_NONE;
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
