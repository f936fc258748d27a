/* signals.c - ship the trace, then die of the same signal (see signals.h). */
#define _GNU_SOURCE
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crit.h"
#include "log.h"
#include "session.h"

struct watched {
    int signo;
    int fatal; /* synchronous or unrecoverable: cannot wait for the end of a section */
    int installed;
    struct sigaction old;
};

static struct watched watched[] = {
    {.signo = SIGSEGV, .fatal = 1},
    {.signo = SIGBUS, .fatal = 1},
    {.signo = SIGILL, .fatal = 1},
    {.signo = SIGFPE, .fatal = 1},
    {.signo = SIGABRT, .fatal = 1},
    {.signo = SIGTERM},
    {.signo = SIGHUP},
    {.signo = SIGQUIT},
    /* Those whose default also ends the process, sent by other programs or by the
     * program's own timers (alarm, setitimer, RLIMIT_CPU). SIGPROF is left alone:
     * profilers chain to the handler they found on every tick. */
    {.signo = SIGUSR1},
    {.signo = SIGUSR2},
    {.signo = SIGALRM},
    {.signo = SIGVTALRM},
    {.signo = SIGXCPU},
};

#define NWATCHED (sizeof(watched) / sizeof(watched[0]))

static int ending; /* atomic: a signal is ending the run */

static struct watched *
find(int signo)
{
    for (size_t i = 0; i < NWATCHED; i++) {
        if (watched[i].signo == signo) {
            return &watched[i];
        }
    }
    return NULL;
}

/* Puts back what was there before us and raises the signal again: delivered when the
 * handler returns (it is blocked while the handler runs), or at once outside one. */
static void
reraise(struct watched *w)
{
    sigaction(w->signo, &w->old, NULL);
    w->installed = 0;
    raise(w->signo);
}

/* Ends the run through the flusher thread, then dies of the signal. */
static void
end_and_reraise(struct watched *w)
{
    int expected = 0;

    if (__atomic_compare_exchange_n(&ending, &expected, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        ft_session_end_by_signal(w->signo);
    } else if (w->fatal) {
        /* Another thread is ending the run for an earlier signal, which will end the
         * process: this thread stops here rather than fault again. */
        for (;;) {
            pause();
        }
    }
    reraise(w);
}

static void
handler(int signo)
{
    struct watched *w = find(signo);
    int saved = errno;

    if (w == NULL) {
        return;
    }
    if (ft_crit > 0) {
        /* This thread holds one of our locks, which the end needs. */
        if (!w->fatal) {
            ft_sig_deferred = signo;
            errno = saved;
            return;
        }
        reraise(w);
        errno = saved;
        return;
    }
    end_and_reraise(w);
    errno = saved;
}

/* Leaving a section with a termination signal deferred (crit.h). */
static void
run_deferred(void)
{
    int signo = __atomic_exchange_n(&ft_sig_deferred, 0, __ATOMIC_SEQ_CST);
    struct watched *w = find(signo);

    if (w != NULL && w->installed) {
        end_and_reraise(w);
    }
}

void
ft_signals_install(void)
{
    struct sigaction sa;

    ft_crit_set_deferred(run_deferred);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NWATCHED; i++) {
        struct watched *w = &watched[i];
        if (sigaction(w->signo, NULL, &w->old) != 0) {
            continue;
        }
        /* A termination request is only ours to catch while it would kill the process
         * outright; whatever the program (or its parent) chose stays in force. */
        if (!w->fatal && (w->old.sa_handler != SIG_DFL || (w->old.sa_flags & SA_SIGINFO))) {
            continue;
        }
        if (sigaction(w->signo, &sa, NULL) == 0) {
            w->installed = 1;
        }
    }
    ft_debug("signal handlers installed");
}

void
ft_signals_uninstall(void)
{
    for (size_t i = 0; i < NWATCHED; i++) {
        struct watched *w = &watched[i];
        struct sigaction now;
        /* Only where ours is still the handler: one the program set since stays. */
        if (w->installed && sigaction(w->signo, NULL, &now) == 0 && !(now.sa_flags & SA_SIGINFO) &&
            now.sa_handler == handler) {
            sigaction(w->signo, &w->old, NULL);
        }
        w->installed = 0;
    }
}
