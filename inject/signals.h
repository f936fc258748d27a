/* signals.h - signals that end a traced process: its trace is shipped before it dies.
 *
 * At activation FlowTrace installs a handler for the fatal signals (SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE, SIGABRT; chained to any handler already there, such as faulthandler's)
 * and for the termination requests whose disposition is still the default (SIGTERM,
 * SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGXCPU; the interpreter leaves
 * them alone, so without a handler such a signal would kill the process with its last
 * records unsent; SIGPROF is left alone, since profilers chain to the handler they find). Python code cannot see
 * the difference: the signal module reads dispositions once, at interpreter start,
 * before activation, so signal.getsignal() still says SIG_DFL, and a handler the
 * program installs later simply replaces ours.
 *
 * The handler does no sending itself: it asks the flusher thread to ship every
 * thread's records and END (signal) and to wait for the writer's ACK, waits for that
 * (bounded), then restores the previous disposition and raises the signal again, so the
 * process dies exactly as it would have without tracing. If the signalled thread is
 * inside one of FlowTrace's locked sections (ft_crit_enter), a termination request is
 * deferred to the end of that section (crit.h), and a fatal signal is re-raised at once.
 */
#ifndef FT_INJECT_SIGNALS_H
#define FT_INJECT_SIGNALS_H

/* GIL held, main thread, at activation: installs the handlers, and runs a termination
 * signal deferred by a FlowTrace section when the section ends (crit.h). */
void ft_signals_install(void);

/* When recording stops in a running process (control.h): the dispositions found at
 * install are back, where ours is still in place. */
void ft_signals_uninstall(void);

#endif
