/* ship.h - the connection to the writer: every frame goes out here, under one lock.
 *
 * A thread ships its own buffer when it fills (ft_ship_full), records too big for a
 * buffer go as frames of their own (ft_ship_big); the session (session.c) ships every
 * thread's committed records from the flusher thread and at the end (ft_ship_all).
 * Definitions pending in the log (deflog.h) are sent
 * writer's frames (ACKs, NOTE) are read here too. A failed send (the writer died, or
 * took nothing for FLOWTRACE_WAIT_TIMEOUT) breaks the connection for good: recording
 * detaches, the program runs on, and what could not be shipped is counted.
 *
 * The send lock is a FlowTrace section (crit.h). Functions marked "lock held" must be
 * called between ft_ship_lock and ft_ship_unlock.
 */
#ifndef FT_INJECT_SHIP_H
#define FT_INJECT_SHIP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct ft_thread;

/* What the writer has sent on this connection. */
struct ft_ship_rx {
    uint8_t buf[4096];
    size_t len;
    int admitted;  /* HELLO acknowledged: the run exists */
    int end_acked; /* END acknowledged: the run's files are complete */
    int stopped;   /* NOTE: the writer stopped recording this run (2 once said) */
    int keep;      /* ... but asks for the events still (NOTE KEEP 1: it follows units) */
    int eof;
    char run_path[4096]; /* the run's directory, from the HELLO acknowledgement */
    char reason[600];    /* the writer's NOTE */
};

/* Takes ownership of a connected socket (bounded sends: SO_SNDTIMEO). */
void ft_ship_open(int fd);

/* Closes the socket (lock held, or alone). */
void ft_ship_close(void);

/* Closes it and forgets which process owned it (a forked child, a refused admission). */
void ft_ship_forget(void);

/* Whether this process owns the connection (not a forked child's inherited copy). */
int ft_ship_owned(void);

/* Whether a socket is open. */
int ft_ship_open_fd(void);

/* Whether the socket is open, this process owns it and no send has failed. */
int ft_ship_usable(void);

/* Whether a send has failed (the writer is gone or stalled). */
int ft_ship_broken(void);

/* The send lock, a FlowTrace section. */
void ft_ship_lock(void);
void ft_ship_unlock(void);

/* Sends one frame, or raw bytes holding whole frames. Returns 0, or -errno with the
 * connection broken. Lock held. */
int ft_ship_frame(unsigned type, uint32_t thread, const void *p, size_t len);
int ft_ship_iov(struct iovec *iov, int n);

/* Ships every thread's committed records, after a CLOCK frame. Lock held. */
void ft_ship_all(void);

/* The flusher's periodic ft_ship_all: in drop mode a thread's records that the socket
 * cannot take now stay with the thread, whose next refill drops them with a GAP (a hole
 * the writer sees and closes calls at), or the end ships them. Lock held. */
void ft_ship_idle(void);

/* The process ends (lock held): every send from now on may wait until one deadline,
 * FLOWTRACE_WAIT_TIMEOUT from now. */
void ft_ship_ending(void);

/* Before END (lock held): the backlog has gone out. Returns 0, or -errno with the backlog
 * counted as lost and the connection broken (END cannot follow a cut frame). */
int ft_ship_settle(void);

/* Reads what the writer sent, waiting up to timeout_ms (0: not at all), and applies
 * every whole frame. Returns 1 if a frame arrived, 0 if not, -1 once the writer closed.
 * Lock held (or alone). */
int ft_ship_rx_pump(int timeout_ms);

/* The writer's frames so far. */
const struct ft_ship_rx *ft_ship_received(void);

/* The writer said it stopped recording this run: one line; recording detaches unless
 * the writer asked for the events still (it follows the run's units for their rows). */
void ft_ship_note_stopped(void);

/* Events that could not be shipped by another than their owner, and events committed
 * but never sent (for END's counts). */
uint64_t ft_ship_lost_unsent(void);

/* The frames END must follow when the stream lost records at its end: a NOTE saying the
 * writer stalled (if it did), and a GAP for each thread whose hole no frame marked yet
 * (each then counts as marked). Written to buf; returns their length (what fits in cap). */
size_t ft_ship_put_holes(uint8_t *buf, size_t cap);
uint64_t ft_ship_unshipped(void);

/* The buffers' hooks (tstate.h): take the lock themselves. */
uint64_t ft_ship_full(struct ft_thread *t);
void ft_ship_big(struct ft_thread *t, const void *data, size_t len, int event);
void ft_ship_now(struct ft_thread *t);

/* t (the calling thread's state) is now called name: if that is not the name it had, its
 * records so far are shipped under the old one, then THREAD says the new one (the writer
 * names the lines that follow with it). Takes the lock. */
void ft_ship_rename(struct ft_thread *t, const char *name);
void ft_ship_thread_end(struct ft_thread *t);

/* Before a new connection in the same process: the ended one is forgotten. */
void ft_ship_restart(void);

/* In a forked child: the parent's connection is not ours. */
void ft_ship_atfork_child(void);

#endif
