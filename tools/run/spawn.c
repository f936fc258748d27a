/* spawn.c - starting the writer and the command; the writer's --recover after a crash. */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockdir.h"

/* fd moved to `to` in a child about to exec (any fd >= 10 is out of the way). */
static void
move_fd(int fd, int to)
{
    int high = fcntl(fd, F_DUPFD, 10);

    dup2(high, to);
    close(high);
}

static void
close_from(int lowest)
{
    if (close_range((unsigned)lowest, ~0u, 0) != 0) {
        for (int fd = lowest; fd < 1024; fd++) {
            close(fd);
        }
    }
}

/* In the writer's child: its session, descriptors, arguments and the command's settings
 * (the writer reads those it acts on: FLOWTRACE_SAMPLE, FLOWTRACE_OTLP); never returns. */
static void
exec_writer(const struct ft_watch *w, const char *exe, const struct ft_writer_cmd *c, int err_w,
            int ctl_r)
{
    char sock[4200], runs[4200];
    const char *argv[] = {"flowtrace-writer",
                          "--dir",
                          c->out,
                          "--socket",
                          sock,
                          "--runs-file",
                          runs,
                          "--parent-fd",
                          "3",
                          c->keep_raw ? "--keep-raw" : NULL,
                          NULL};
    int null = open("/dev/null", O_RDWR);

    for (int i = 0; i < c->nenv; i++) {
        putenv(c->env[i]);
    }
    setsid();
    ft_watch_restore(w);
    snprintf(sock, sizeof(sock), "%s/%s", c->sockdir, FT_SOCKDIR_SOCKET);
    snprintf(runs, sizeof(runs), "%s/%s", c->sockdir, FT_SOCKDIR_RUNS);
    move_fd(err_w, 2);
    move_fd(ctl_r, 3);
    if (null >= 0) {
        move_fd(null, 0);
        move_fd(0, 1);
    }
    close_from(4);
    execv(exe, (char *const *)argv);
    dprintf(2, "flowtrace-run: cannot start %s: %s\n", exe, strerror(errno));
    _exit(127);
}

int
ft_spawn_writer(const struct ft_watch *w, const char *exe, const struct ft_writer_cmd *c,
                struct ft_writer_proc *wp, char *why, size_t cap)
{
    int err[2], ctl[2];
    pid_t pid;

    if (pipe2(err, O_CLOEXEC) != 0) {
        snprintf(why, cap, "cannot make a pipe: %s", strerror(errno));
        return -errno;
    }
    if (pipe2(ctl, O_CLOEXEC) != 0) {
        int e = errno;
        close(err[0]);
        close(err[1]);
        snprintf(why, cap, "cannot make a pipe: %s", strerror(e));
        return -e;
    }
    pid = fork();
    if (pid == 0) {
        exec_writer(w, exe, c, err[1], ctl[0]);
    }
    close(err[1]);
    close(ctl[0]);
    if (pid < 0) {
        int e = errno;
        close(err[0]);
        close(ctl[1]);
        snprintf(why, cap, "cannot start the writer: %s", strerror(e));
        return -e;
    }
    wp->pid = pid;
    wp->err = err[0];
    wp->ctl = ctl[1];
    return 0;
}

void
ft_writer_stop(struct ft_writer_proc *wp)
{
    if (wp->ctl >= 0) {
        (void)!write(wp->ctl, "q", 1);
        close(wp->ctl);
        wp->ctl = -1;
    }
}

pid_t
ft_spawn_command(const struct ft_watch *w, char *const argv[], char *const envp[], int *exec_err)
{
    int p[2], e = 0;
    pid_t pid;
    ssize_t n;

    *exec_err = 0;
    if (pipe2(p, O_CLOEXEC) != 0) {
        return -errno;
    }
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        ft_watch_child(w);
        execvpe(argv[0], argv, envp);
        e = errno;
        (void)!write(p[1], &e, sizeof(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    close(p[1]);
    if (pid < 0) {
        e = errno;
        close(p[0]);
        return -e;
    }
    /* The pipe closes at exec; an errno arrives if exec failed. */
    while ((n = read(p[0], &e, sizeof(e))) < 0 && errno == EINTR) {
    }
    close(p[0]);
    if (n == (ssize_t)sizeof(e)) {
        *exec_err = e;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        return -e;
    }
    return pid;
}

char *
ft_spawn_recover(const struct ft_watch *w, const char *exe, const char *out)
{
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    int p[2];
    pid_t pid;
    ssize_t n;

    if (text == NULL || pipe2(p, O_CLOEXEC) != 0) {
        free(text);
        return NULL;
    }
    pid = fork();
    if (pid == 0) {
        const char *argv[] = {"flowtrace-writer", "--dir", out, "--recover", NULL};
        ft_watch_restore(w);
        move_fd(p[1], 1);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    while (pid > 0 && (n = read(p[0], text + len, cap - len - 1)) != 0) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        len += (size_t)n;
        if (cap - len < 2) {
            char *more = realloc(text, cap * 2);
            if (more == NULL) {
                break;
            }
            text = more;
            cap *= 2;
        }
    }
    close(p[0]);
    text[len] = '\0';
    while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return text;
}
