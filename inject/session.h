/* session.h - one traced process's session with the writer, from HELLO to END.
 *
 * HELLO says who the process is and how to record it; with FLOWTRACE_CHILDREN=0 the
 * writer then says whether it is traced at all. The flusher thread, which takes no
 * signals and never calls Python, wakes every FLOWTRACE_FLUSH_INTERVAL to ship what
 * threads have committed, so a killed process loses at most the last interval; it also
 * ends the run for a signal handler (signals.h). Every end (exit, os._exit, a signal)
 * ships everything, sends END with the process's counts and waits (FLOWTRACE_ACK_TIMEOUT)
 * until the writer has written the run. Frames travel through ship.h.
 */
#ifndef FT_INJECT_SESSION_H
#define FT_INJECT_SESSION_H

#include <stdint.h>

/* Takes ownership of the connected fd and sends HELLO. GIL held. Returns 0 or -errno. */
int ft_session_hello(int fd, const char *engine);

/* After HELLO with FLOWTRACE_CHILDREN=0: waits for the writer's verdict. Returns 0 if
 * this process is traced, else -ECANCELED (a child of a traced process) or another
 * -errno; the connection is then closed and the process stays untraced. GIL held. */
int ft_session_wait_admission(void);

/* Starts the flusher thread. Returns 0 or -errno. */
int ft_session_start_flusher(void);

/* What ended the process, for the END frame. */
struct ft_end {
    int how;    /* enum ft_end_how */
    int status; /* exit status, or -1 if unknown */
    int signal;
    const char *exc_type, *exc_module, *exc_msg; /* uncaught exception, or NULL */
};

/* Stops the flusher, ships everything and END, then waits for the writer to confirm the
 * run is written, and closes the connection. Any thread, not in a signal handler. Only
 * the first call does anything. */
void ft_session_end(const struct ft_end *e);

/* Ships everything and a FINALIZED frame (the interpreter is done); the connection stays
 * open for END. */
void ft_session_finalized(void);

/* Ships everything and an EXEC frame before the process image is replaced. */
void ft_session_exec(const char *path);

/* Ships everything and a NOTE for thread idx (0: the process): FlowTrace records no more
 * of that thread's calls, and text (the line said on stderr) says why. The run lists it
 * (tree.json's notices). */
void ft_session_notice(uint32_t idx, const char *text);

/* In a signal handler: asks the flusher thread to ship every thread's records and END
 * (signal), and to wait for the writer's ACK; returns when it has, or at once if there is
 * no flusher (or this is it). Never takes a lock itself. */
void ft_session_end_by_signal(int signo);

/* After ft_session_end, before a new ft_session_hello in the same process (recording
 * started again after a stop: control.h): forgets the ended connection. GIL held. */
void ft_session_restart(void);

/* In a forked child: forgets the parent's connection and flusher thread. */
void ft_session_atfork_child(void);

#endif
