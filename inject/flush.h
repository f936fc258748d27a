/* flush.h - the flusher: ships buffers, definitions and control frames to the writer.
 *
 * One background thread (signals blocked, no Python) wakes when a buffer fills or every
 * FLOWTRACE_FLUSH_INTERVAL, and sends whatever is committed, so a killed process loses
 * at most the last interval. Exit paths call ft_flush_end() to send everything and wait
 * until the writer has written the run. All sends go through one lock; a send error
 * (the writer died) detaches tracing: the program runs on and the loss is counted.
 */
#ifndef FT_INJECT_FLUSH_H
#define FT_INJECT_FLUSH_H

#include <stdint.h>

/* Takes ownership of the connected fd and sends HELLO. GIL held. Returns 0 or -errno. */
int ft_flush_hello(int fd, const char *engine);

/* Starts the flusher thread. Returns 0 or -errno. */
int ft_flush_start(void);

/* Any thread, hot-path safe (no lock): asks the flusher to run soon. */
void ft_flush_wake(void);

/* What ended the process, for the END frame. */
struct ft_end {
    int how;        /* enum ft_end_how */
    int status;     /* exit status, or -1 if unknown */
    int signal;
    const char *exc_type, *exc_msg; /* uncaught exception, or NULL */
};

/* Stops the flusher, sends everything and END, then waits (FLOWTRACE_ACK_TIMEOUT) for the
 * writer to confirm the run is written, and closes the connection. Any thread, not in a
 * signal handler. Only the first call does anything. */
void ft_flush_end(const struct ft_end *e);

/* Sends everything and a FINALIZED frame (the interpreter is done); the connection stays
 * open for END. */
void ft_flush_finalized(void);

/* Sends everything and an EXEC frame before the process image is replaced. */
void ft_flush_exec(const char *path);

/* Queues a LOST frame saying why records are being lost. Any thread. */
void ft_flush_note_lost(const char *reason);

/* Best effort from a fatal-signal handler: sends END (signal) if no send is in progress. */
void ft_flush_signal(int signo);

/* In a forked child: forgets the parent's connection and flusher thread. */
void ft_flush_atfork_child(void);

/* Whether a connection is open. */
int ft_flush_connected(void);

#endif
