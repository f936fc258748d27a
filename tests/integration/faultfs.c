/* faultfs.c - file-system faults for tests, preloaded into flowtrace-writer only.
 *
 * FT_FAULT holds rules separated by ';', each OP:SUBSTRING:ACTION[:ARG], applied to paths
 * that contain SUBSTRING:
 *   write:S:enospc:N   writes fail with ENOSPC once N bytes went to such files in total
 *                      (the write that crosses N is cut short there, as a full disk does)
 *   write:S:delay:MS   every write to such a file first sleeps MS milliseconds (a slow disk)
 *   mkdir:S:eacces     mkdir fails with EACCES (an output directory we may not write)
 *   open:S:kill        the writer dies by SIGKILL as it opens such a file (a writer killed
 *                      at a chosen point of its work, deterministically)
 * In any other process (the traced program, shells) the library does nothing, so it can
 * simply be put in LD_PRELOAD for the whole test command. Same idea as jq's
 * src/inject_errors.c.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RULES_MAX 8

struct rule {
    char op[16], sub[256], action[16];
    long long arg;
    long long used;
};

static struct rule rules[RULES_MAX];
static int nrules, active;
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_open)(const char *, int, ...);

__attribute__((constructor)) static void
faultfs_init(void)
{
    char exe[4096], *spec, *save = NULL;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const char *env = getenv("FT_FAULT");

    real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    real_mkdir = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
    real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    if (n <= 0 || env == NULL) {
        return;
    }
    exe[n] = '\0';
    if (strcmp(strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe, "flowtrace-writer") != 0) {
        return;
    }
    spec = strdup(env);
    for (char *r = strtok_r(spec, ";", &save); r && nrules < RULES_MAX;
         r = strtok_r(NULL, ";", &save)) {
        struct rule *x = &rules[nrules];
        char arg[32] = "0";
        if (sscanf(r, "%15[^:]:%255[^:]:%15[^:]:%31s", x->op, x->sub, x->action, arg) >= 3) {
            x->arg = atoll(arg);
            nrules++;
        }
    }
    active = nrules > 0;
}

static struct rule *
match(const char *op, const char *path)
{
    for (int i = 0; i < nrules; i++) {
        if (strcmp(rules[i].op, op) == 0 && strstr(path, rules[i].sub) != NULL) {
            return &rules[i];
        }
    }
    return NULL;
}

static int
fd_path(int fd, char *out, size_t cap)
{
    char link[64];
    ssize_t n;

    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, out, cap - 1);
    if (n <= 0) {
        return -1;
    }
    out[n] = '\0';
    return 0;
}

ssize_t
write(int fd, const void *buf, size_t count)
{
    char path[4096];
    struct rule *r;

    if (!active || fd <= 2 || fd_path(fd, path, sizeof(path)) != 0 ||
        (r = match("write", path)) == NULL) {
        return real_write(fd, buf, count);
    }
    if (strcmp(r->action, "delay") == 0) {
        struct timespec ts = {r->arg / 1000, (r->arg % 1000) * 1000000};
        nanosleep(&ts, NULL);
        return real_write(fd, buf, count);
    }
    if (strcmp(r->action, "enospc") == 0) {
        long long room = r->arg - r->used;
        ssize_t w;
        if (room <= 0) {
            errno = ENOSPC;
            return -1;
        }
        w = real_write(fd, buf, count < (size_t)room ? count : (size_t)room);
        if (w > 0) {
            r->used += w;
        }
        return w;
    }
    return real_write(fd, buf, count);
}

/* The writer joins files with copy_file_range; under faults it must take the write path. */
ssize_t
copy_file_range(int in, off_t *in_off, int out, off_t *out_off, size_t len, unsigned flags)
{
    char path[4096];

    if (active && fd_path(out, path, sizeof(path)) == 0 && match("write", path) != NULL) {
        errno = EXDEV;
        return -1;
    }
    return syscall(SYS_copy_file_range, in, in_off, out, out_off, len, flags);
}

int
mkdir(const char *path, mode_t mode)
{
    struct rule *r;

    if (active && (r = match("mkdir", path)) != NULL && strcmp(r->action, "eacces") == 0) {
        errno = EACCES;
        return -1;
    }
    return real_mkdir(path, mode);
}

int
open(const char *path, int flags, ...)
{
    struct rule *r;
    mode_t mode = 0;
    va_list ap;

    if (flags & (O_CREAT | O_TMPFILE)) {
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, unsigned);
        va_end(ap);
    }
    if (active && (r = match("open", path)) != NULL && strcmp(r->action, "kill") == 0) {
        raise(SIGKILL);
    }
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));
