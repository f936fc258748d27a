/* flush.h - everything the traced process sends to the writer, and when.
 *
 * All sends go through one lock and one connection. A thread ships its own buffer when
 * it fills (ft_flush_ship_full); the flusher thread, which takes no signals and never
 * calls Python, wakes every FLOWTRACE_FLUSH_INTERVAL to ship what threads have committed
 * since, so a killed process loses at most the last interval. Exit paths ship
 * everything and wait until the writer has written the run. A failed send (the writer
 * died) detaches tracing: the program runs on and the loss is counted exactly.
 */
#ifndef FT_INJECT_FLUSH_H
#define FT_INJECT_FLUSH_H

#include <stddef.h>
#include <stdint.h>

struct ft_thread;

/* Takes ownership of the connected fd and sends HELLO. GIL held. Returns 0 or -errno. */
int ft_flush_hello(int fd, const char *engine);

/* Starts the flusher thread (none if the flush interval is 0). Returns 0 or -errno. */
int ft_flush_start(void);

/* The owner of a full buffer ships it, waiting for the writer if it is behind (in drop
 * mode: only if it can be sent at once). Returns the number of records that could not
 * be shipped and were dropped. Empties the buffer either way. */
uint64_t ft_flush_ship_full(struct ft_thread *t);

/* Ships what t has committed, then data (one or more whole records too big for a
 * buffer) as a frame of its own, keeping the thread's order. */
void ft_flush_ship_big(struct ft_thread *t, const void *data, size_t len, int event);

/* Ships what t has committed now (--flush-every-call). */
void ft_flush_ship_now(struct ft_thread *t);

/* The thread is ending: ships its last records and a THREAD_END frame. */
void ft_flush_thread_end(struct ft_thread *t);

/* What ended the process, for the END frame. */
struct ft_end {
    int how;    /* enum ft_end_how */
    int status; /* exit status, or -1 if unknown */
    int signal;
    const char *exc_type, *exc_module, *exc_msg; /* uncaught exception, or NULL */
};

/* Stops the flusher, ships everything and END, then waits (FLOWTRACE_ACK_TIMEOUT) for the
 * writer to confirm the run is written, and closes the connection. Any thread, not in a
 * signal handler. Only the first call does anything. */
void ft_flush_end(const struct ft_end *e);

/* Ships everything and a FINALIZED frame (the interpreter is done); the connection stays
 * open for END. */
void ft_flush_finalized(void);

/* Ships everything and an EXEC frame before the process image is replaced. */
void ft_flush_exec(const char *path);

/* Records why events are being lost, for the next LOST frame. Any thread. */
void ft_flush_note_lost(const char *reason);

/* In a signal handler (signals.h): asks the flusher thread to ship every thread's
 * records and END (signal), and to wait for the writer's ACK; returns when it has, or
 * at once if there is no flusher (or this is it). Never takes a lock itself. */
void ft_flush_end_by_signal(int signo);

/* After HELLO with FLOWTRACE_CHILDREN=0: waits for the writer's verdict. Returns 0 if
 * this process is traced, else -ECANCELED (a child of a traced process) or another
 * -errno; the connection is then closed and the process stays untraced. GIL held. */
int ft_flush_wait_admission(void);

/* After ft_flush_end, before a new ft_flush_hello in the same process (control.h):
 * forgets the ended connection. GIL held. */
void ft_flush_restart(void);

/* In a forked child: forgets the parent's connection and flusher thread. */
void ft_flush_atfork_child(void);

/* Whether a connection is open. */
int ft_flush_connected(void);

#endif
