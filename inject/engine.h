/* engine.h - the one small interface between FlowTrace and an interpreter's call hooks.
 *
 * An engine turns the interpreter's call/return notifications into records for the
 * calling thread (record.h). The legacy engine uses PyEval_SetProfile per thread (3.8 to
 * 3.11; it also works, more slowly, on 3.12+ where it is a shim over sys.monitoring);
 * the monitoring engine uses sys.monitoring (PEP 669) on 3.12+. The choice is made once,
 * at activation, from the running interpreter's version.
 */
#ifndef FT_INJECT_ENGINE_H
#define FT_INJECT_ENGINE_H

struct ft_engine {
    const char *name;
    /* GIL held, main thread, at activation: start recording this thread, and arrange
     * that threads started later are recorded too. Returns 0 or -errno. */
    int (*install)(void);
    /* GIL held: a thread is about to be started through _thread.start_new_thread. */
    void (*thread_starting)(void);
    /* GIL held, when recording starts in a running interpreter (control.h): start
     * recording the threads that are running already too (a thread registers on its
     * first event). Returns 0 or -errno. */
    int (*install_running)(void);
    /* GIL held, any thread: stop recording in every thread (control.h). The engine may
     * be installed again later. */
    void (*uninstall)(void);
};

extern const struct ft_engine ft_engine_profile;
extern const struct ft_engine ft_engine_monitor;

/* The audit hook saw "sys.settrace" (sys.settrace, threading's, PyEval_SetTrace: anyone's,
 * also before activation). GIL held. Until someone other than FlowTrace sets a trace
 * function, the profile engine need not ask whether one is set (engine_profile.c). */
void ft_engine_trace_set(void);

/* The audit hook saw "sys.setprofile" (anyone's: sys.setprofile, threading's, cProfile's
 * PyEval_SetProfile), before it is set. GIL held. The profile engine keeps its function
 * on the thread, or says it cannot (engine_profile.c). */
void ft_engine_profile_set(void);

/* Whether sys.monitoring can be used: 3.12+, and a tool id is free (engine_monitor.c). */
int ft_engine_monitor_usable(void);

#endif
