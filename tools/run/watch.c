/* watch.c - signals passed on, the writer's stderr relayed, children reaped. */
#define _GNU_SOURCE
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* Passed on, as timeout (ALRM, INT, QUIT, HUP, TERM) and tini (every asynchronous
 * signal) do; all but SIGWINCH end flowtrace-run's wait for the writer once the command
 * has ended. Job control (TSTP, CONT, TTIN, TTOU) keeps its default: flowtrace-run stops
 * and continues with the job. */
static const int passed_on[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,
                                SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH};
#define N_PASSED (sizeof(passed_on) / sizeof(passed_on[0]))

static int
has_terminal(void)
{
    int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        return 0;
    }
    close(fd);
    return 1;
}

static void
choose_plan(struct ft_watch *w)
{
    w->caller_pgid = getpgrp();
    if (w->caller_pgid != getpid()) {
        /* Not the leader: leave, so that a signal to the caller's group reaches the
         * command once, directly, and never through us as well. */
        w->plan = setpgid(0, 0) == 0 ? FT_GROUP_LEAVE : FT_GROUP_SHARE;
    } else {
        w->plan = has_terminal() ? FT_GROUP_SHARE : FT_GROUP_OWN;
    }
}

int
ft_watch_start(struct ft_watch *w)
{
    struct sigaction ign = {0};
    sigset_t set;

    memset(w, 0, sizeof(*w));
    w->relay = -1;
    sigemptyset(&w->early);
    sigemptyset(&set);
    for (size_t i = 0; i < N_PASSED; i++) {
        sigaddset(&set, passed_on[i]);
    }
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, &w->old_mask) != 0) {
        return -errno;
    }
    w->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (w->sfd < 0) {
        int err = -errno;
        sigprocmask(SIG_SETMASK, &w->old_mask, NULL);
        return err;
    }
    /* Our own writes to a closed stderr, or from a background group, must not stop or
     * kill us; the children get the caller's dispositions back. */
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &w->old_pipe);
    sigaction(SIGTTIN, &ign, &w->old_ttin);
    sigaction(SIGTTOU, &ign, &w->old_ttou);
    choose_plan(w);
    return 0;
}

void
ft_watch_restore(const struct ft_watch *w)
{
    sigaction(SIGPIPE, &w->old_pipe, NULL);
    sigaction(SIGTTIN, &w->old_ttin, NULL);
    sigaction(SIGTTOU, &w->old_ttou, NULL);
    sigprocmask(SIG_SETMASK, &w->old_mask, NULL);
}

void
ft_watch_child(const struct ft_watch *w)
{
    if (w->plan == FT_GROUP_LEAVE) {
        setpgid(0, w->caller_pgid); /* back where it would be untraced */
    } else if (w->plan == FT_GROUP_OWN) {
        setpgid(0, 0);
    }
    ft_watch_restore(w);
}

static void
pass_on(const struct ft_watch *w, int sig)
{
    if (w->plan == FT_GROUP_OWN) {
        killpg(w->cmd, sig);
    } else {
        kill(w->cmd, sig);
    }
}

void
ft_watch_started(struct ft_watch *w, pid_t cmd)
{
    w->cmd = cmd;
    if (w->plan == FT_GROUP_OWN) {
        setpgid(cmd, cmd); /* also here: whichever side runs first */
    }
    for (size_t i = 0; i < N_PASSED; i++) {
        if (sigismember(&w->early, passed_on[i])) {
            pass_on(w, passed_on[i]);
        }
    }
}

int
ft_watch_passes_on(enum ft_group_plan plan, int code, pid_t from, pid_t from_pgid, pid_t cmd,
                   pid_t cmd_pgid)
{
    if (code == SI_KERNEL) {
        return 0; /* from the terminal, to the foreground group: the command is in it */
    }
    if (from == cmd) {
        return 0; /* it signalled itself, or its group (which we share or are out of) */
    }
    /* In SHARE and OWN, a process of the command's group signalling its group reached it
     * too; in LEAVE that group is the caller's, whose members signal us on purpose
     * (timeout, a test runner). */
    return plan == FT_GROUP_LEAVE || from <= 0 || from_pgid != cmd_pgid;
}

static void
on_signal(struct ft_watch *w, const struct signalfd_siginfo *si)
{
    int sig = (int)si->ssi_signo;

    if (w->cmd == 0) {
        sigaddset(&w->early, sig);
    } else if (!w->cmd_done) {
        pid_t from = (pid_t)si->ssi_pid;
        if (ft_watch_passes_on(w->plan, si->ssi_code, from, from > 0 ? getpgid(from) : -1, w->cmd,
                               getpgid(w->cmd))) {
            pass_on(w, sig);
        }
    } else if (sig != SIGWINCH) {
        w->stop_now = 1; /* told to stop while waiting for the writer: stop */
    }
}

static void
reap(struct ft_watch *w)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == w->cmd) {
            w->cmd_status = status;
            w->cmd_done = 1;
        } else if (pid == w->writer) {
            w->writer_status = status;
            w->writer_done = 1;
        }
    }
}

static void
relay(struct ft_watch *w)
{
    char buf[4096];
    ssize_t n = read(w->relay, buf, sizeof(buf));

    if (n > 0) {
        for (ssize_t off = 0, k; off < n; off += k) {
            k = write(STDERR_FILENO, buf + off, (size_t)(n - off));
            if (k <= 0) {
                break; /* our stderr is gone: what the writer says is lost with it */
            }
        }
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(w->relay);
        w->relay = -1;
    }
}

void
ft_watch_step(struct ft_watch *w, int timeout_ms)
{
    struct pollfd fds[2] = {{w->sfd, POLLIN, 0}, {w->relay, POLLIN, 0}};
    struct signalfd_siginfo si;

    if (poll(fds, w->relay >= 0 ? 2 : 1, timeout_ms) <= 0) {
        return;
    }
    if (fds[0].revents & POLLIN) {
        while (read(w->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            if (si.ssi_signo == SIGCHLD) {
                reap(w);
            } else {
                on_signal(w, &si);
            }
        }
    }
    if (w->relay >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
        relay(w);
    }
}

void
ft_exit_as(int status)
{
    sigset_t one;
    int sig;

    if (WIFEXITED(status)) {
        exit(WEXITSTATUS(status));
    }
    sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    /* Die of the same signal, as timeout does, without a core file of our own. */
    prctl(PR_SET_DUMPABLE, 0);
    signal(sig, SIG_DFL);
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
    /* Still here: the signal does not kill (SIGCHLD, a stop signal). */
    // cppcheck-suppress unreachableCode ; raise() returns when the signal does not kill.
    exit(128 + sig);
}
