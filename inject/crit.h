/* crit.h - FlowTrace's critical sections: where a termination signal must wait.
 *
 * A thread inside one of FlowTrace's locked sections (the send lock, the thread
 * registry) must not end the run from a signal handler: the end needs those locks. So
 * every such section is bracketed by ft_crit_enter/ft_crit_leave; a termination signal
 * that arrives inside one is deferred (ft_sig_deferred) and run by the hook registered
 * with ft_crit_set_deferred when the section is left (signals.c registers it at
 * activation). The bottom of inject/: it calls nothing of FlowTrace's but that hook.
 */
#ifndef FT_INJECT_CRIT_H
#define FT_INJECT_CRIT_H

/* Depth of FlowTrace's locked sections on this thread. */
extern __thread volatile int ft_crit __attribute__((tls_model("initial-exec")));

/* A termination signal that arrived while this thread was inside a section, or 0. */
extern __thread volatile int ft_sig_deferred __attribute__((tls_model("initial-exec")));

/* What runs a deferred signal (any thread, outside every section). Set once, at
 * activation, before any section can defer one. */
void ft_crit_set_deferred(void (*run)(void));

/* Any thread, leaving the outermost section with a signal deferred. */
void ft_crit_run_deferred(void);

/* Any thread: before taking one of FlowTrace's locks. */
static inline void
ft_crit_enter(void)
{
    ft_crit = ft_crit + 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Any thread: after releasing it. */
static inline void
ft_crit_leave(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    ft_crit = ft_crit - 1;
    if (__builtin_expect(ft_crit == 0 && ft_sig_deferred != 0, 0)) {
        ft_crit_run_deferred();
    }
}

#endif
