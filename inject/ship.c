/* ship.c - the connection to the writer: frames out, the writer's few frames in. */
#define _GNU_SOURCE
#include "ship.h"

#include <errno.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "crit.h"
#include "deflog.h"
#include "srclog.h"
#include "lib/clock.h"
#include "lib/wire.h"
#include "log.h"
#include "tstate.h"

static int conn_fd = -1;
static pid_t conn_pid; /* process that owns conn_fd */
static int broken;     /* the writer went away, or stopped taking events */
static int sndbuf;     /* the socket's send buffer, for drop mode */
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t lost_unsent;  /* records lost when shipping failed (not by their owner) */
static uint64_t unshipped;    /* committed events (as t->events counts them) not sent */
static struct ft_ship_rx rx;  /* what the writer sent */
static int stalled;           /* the writer took nothing for FLOWTRACE_WAIT_TIMEOUT */
static uint64_t end_deadline; /* the end: every send may wait until then; else 0 */
static struct {
    uint8_t *p;      /* a frame whose beginning went out (all of it), or NULL */
    size_t len, off; /* its bytes, and those sent */
} backlog;

static void drop_backlog(void);

/* ---- Receiving ----------------------------------------------------------------------- */

/* One frame from the writer: the acknowledgement of HELLO (with the run's directory)
 * or of END (empty), or a NOTE saying why it stopped recording this run. */
static void
rx_frame(const struct ft_frame_hdr *h, const uint8_t *p)
{
    size_t pos = 0;
    uint32_t tag, len;
    const uint8_t *val;

    if (h->type == FT_FRAME_ACK && h->len == 0) {
        rx.end_acked = 1;
        return;
    }
    while (ft_tlv_next(p, h->len, &pos, &tag, &val, &len) == 1) {
        if (h->type == FT_FRAME_ACK && tag == FT_TAG_PATH) {
            snprintf(rx.run_path, sizeof(rx.run_path), "%.*s", (int)len, (const char *)val);
        } else if (h->type == FT_FRAME_NOTE && tag == FT_TAG_REASON) {
            snprintf(rx.reason, sizeof(rx.reason), "%.*s", (int)len, (const char *)val);
        } else if (h->type == FT_FRAME_NOTE && tag == FT_TAG_KEEP) {
            uint64_t v = 0;
            rx.keep = ft_tlv_u64(val, len, &v) == 0 && v == 1;
        }
    }
    if (h->type == FT_FRAME_ACK) {
        rx.admitted = 1;
    } else if (h->type == FT_FRAME_NOTE) {
        rx.stopped = 1;
    }
}

/* Reads whatever the writer has sent, waiting up to timeout_ms for something (0: not
 * at all), and applies every whole frame. Returns 1 if a frame arrived, 0 if not, -1
 * once the writer has closed the connection. Caller holds send_lock (or is alone). */
int
ft_ship_rx_pump(int timeout_ms)
{
    struct pollfd p = {conn_fd, POLLIN, 0};
    struct ft_frame_hdr h;
    int got = 0;

    if (conn_fd < 0 || rx.eof) {
        return -1;
    }
    if (timeout_ms > 0 && poll(&p, 1, timeout_ms) <= 0) {
        return 0;
    }
    for (;;) {
        ssize_t n = recv(conn_fd, rx.buf + rx.len, sizeof(rx.buf) - rx.len, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            rx.eof = 1;
            break;
        }
        if (n < 0) {
            break;
        }
        rx.len += (size_t)n;
        while (rx.len >= sizeof(h)) {
            memcpy(&h, rx.buf, sizeof(h));
            if (h.magic != FT_WIRE_MAGIC || h.len > sizeof(rx.buf) - sizeof(h)) {
                rx.eof = 1; /* not a writer we understand */
                return -1;
            }
            if (rx.len < sizeof(h) + h.len) {
                break;
            }
            rx_frame(&h, rx.buf + sizeof(h));
            got = 1;
            rx.len -= sizeof(h) + h.len;
            memmove(rx.buf, rx.buf + sizeof(h) + h.len, rx.len);
        }
        if (rx.len == sizeof(rx.buf)) {
            rx.eof = 1;
            break;
        }
    }
    return got ? 1 : rx.eof ? -1 : 0;
}

/* The writer stopped recording this run (disk full, output directory gone, a stream it
 * rejected): say so once, stop recording, keep the connection for END. A writer that
 * still follows the run's units of work (their rows are small) keeps taking events. */
void
ft_ship_note_stopped(void)
{
    if (rx.stopped == 1 && rx.keep) {
        rx.stopped = 2;
        ft_warn("flowtrace-writer stopped recording this run (%s); the program is not "
                "affected, its units of work are still listed, the events not recorded "
                "are counted as lost",
                rx.reason);
    } else if (rx.stopped == 1) {
        rx.stopped = 2;
        ft_warn("flowtrace-writer stopped recording this run (%s); the program is not "
                "affected, the events not recorded are counted as lost",
                rx.reason);
        ft_tstate_detach();
    }
}

static void
mark_broken(int err)
{
    if (broken) {
        return;
    }
    broken = 1;
    drop_backlog();
    ft_ship_rx_pump(0);
    if (rx.stopped) {
        ft_ship_note_stopped(); /* the writer said why; that is the one line */
    } else if (!stalled) {
        ft_warn("lost the connection to flowtrace-writer (%s); the program continues "
                "untraced and the lost events are counted",
                strerror(-err));
    }
    ft_tstate_detach();
}

/* The writer took nothing for FLOWTRACE_WAIT_TIMEOUT: the program stops waiting for it
 * and runs on untraced, every event from now on counted as lost. The connection stays:
 * what is in flight goes out when the writer reads again, and so does END, with the
 * counts, so the run says exactly what it lacks. */
static void
mark_stalled(void)
{
    if (stalled || broken) {
        return;
    }
    stalled = 1;
    ft_warn("flowtrace-writer took no events for %g s (FLOWTRACE_WAIT_TIMEOUT); the "
            "program continues untraced and the lost events are counted",
            (double)ft_cfg.wait_ns / 1e9);
    ft_tstate_detach();
}

int
ft_ship_usable(void)
{
    return conn_fd >= 0 && !broken && conn_pid == getpid();
}

/* Whether events may still be sent: the writer has not stopped the run. */
static int
taking_events(void)
{
    return ft_ship_usable() && (!rx.stopped || rx.keep);
}

/* The send lock is a FlowTrace section: a termination signal that arrives while this
 * thread holds it waits until it is released (crit.h). */
void
ft_ship_lock(void)
{
    ft_crit_enter();
    pthread_mutex_lock(&send_lock);
}

void
ft_ship_unlock(void)
{
    pthread_mutex_unlock(&send_lock);
    ft_crit_leave();
}

void
ft_ship_ending(void)
{
    end_deadline = ft_clock_ns(CLOCK_MONOTONIC) + ft_cfg.wait_ns;
}

/* Until when a send may wait for the writer: each frame up to FLOWTRACE_WAIT_TIMEOUT
 * (back-pressure, lossless), not at all in drop mode or once the writer has stalled,
 * and at the end until one deadline for everything left. 0: no waiting. */
static uint64_t
send_deadline(void)
{
    if (end_deadline != 0) {
        return end_deadline;
    }
    if (ft_cfg.drop || stalled) {
        return 0;
    }
    return ft_clock_ns(CLOCK_MONOTONIC) + ft_cfg.wait_ns;
}

/* Waits until the writer can take more or the deadline passes, counting the time as
 * blocked while the program runs (the last records' drain at its end is the run's
 * finishing, like the wait for ACK: not time the program was held). Returns 0 (try
 * again), or -EAGAIN at the deadline. */
static int
wait_writable(uint64_t deadline)
{
    struct pollfd p = {conn_fd, POLLOUT, 0};
    uint64_t t0 = ft_clock_ns(CLOCK_MONOTONIC);
    int r;

    if (deadline <= t0) {
        return -EAGAIN;
    }
    do {
        r = poll(&p, 1, (int)((deadline - t0) / 1000000u) + 1);
    } while (r < 0 && errno == EINTR);
    if (end_deadline == 0) {
        ft_tstate_add_blocked(ft_clock_ns(CLOCK_MONOTONIC) - t0);
    }
    return r > 0 ? 0 : -EAGAIN;
}

/* Sends as much of iov as the socket takes, never blocking in the kernel. Returns the
 * bytes sent, or -errno (-EAGAIN: nothing could go now). */
static ssize_t
send_some(struct iovec *iov, int n)
{
    struct msghdr msg;
    ssize_t w;

    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = (size_t)n;
    do {
        w = sendmsg(conn_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    return w;
}

/* Advances iov past w bytes; returns the entries left. */
static int
consume(struct iovec **iov, int n, size_t w)
{
    while (n > 0 && w >= (*iov)->iov_len) {
        w -= (*iov)->iov_len;
        (*iov)++;
        n--;
    }
    if (n > 0) {
        (*iov)->iov_base = (char *)(*iov)->iov_base + w;
        (*iov)->iov_len -= w;
    }
    return n;
}

/* The event records in a byte range (what t->events counts). */
static uint64_t
count_events(const uint8_t *p, size_t n)
{
    struct ft_rec r;
    size_t pos = 0;
    uint64_t count = 0;

    while (ft_rec_next(p, n, &pos, &r) == 1) {
        count += ft_rec_is_event(r.kind);
    }
    return count;
}

/* A frame whose first `sent` bytes went out: the stream can only go on once the rest has.
 * It is kept whole, so that if the rest never goes the records it holds can be told
 * apart: the writer applies every whole record it receives, even of a frame cut short. */
static int
keep_backlog(const struct iovec *iov, int n, size_t sent)
{
    size_t len = 0;

    for (int i = 0; i < n; i++) {
        len += iov[i].iov_len;
    }
    backlog.p = malloc(len);
    if (backlog.p == NULL) {
        return -ENOMEM;
    }
    backlog.len = 0;
    for (int i = 0; i < n; i++) {
        memcpy(backlog.p + backlog.len, iov[i].iov_base, iov[i].iov_len);
        backlog.len += iov[i].iov_len;
    }
    backlog.off = sent;
    return 0;
}

/* The event records of the backlog's frame that did not wholly go out, if it is an EVENTS
 * frame; *idx: its thread. */
static uint64_t
backlog_events_unsent(uint32_t *idx)
{
    struct ft_frame_hdr h;
    struct ft_rec r;
    size_t pos = 0, cut;
    uint64_t count = 0;

    memcpy(&h, backlog.p, sizeof(h));
    *idx = h.thread;
    if (h.type != FT_FRAME_EVENTS) {
        return 0;
    }
    cut = backlog.off > sizeof(h) ? backlog.off - sizeof(h) : 0;
    while (ft_rec_next(backlog.p + sizeof(h), backlog.len - sizeof(h), &pos, &r) == 1) {
        count += ft_rec_is_event(r.kind) && pos > cut;
    }
    return count;
}

struct hole {
    uint32_t idx;
    uint64_t lost;
};

static void
mark_hole(struct ft_thread *t, void *arg)
{
    const struct hole *h = arg;

    if (t->idx == h->idx) {
        t->unmarked += h->lost;
    }
}

/* The backlog will never go out (the connection broke, or the process ends without the
 * writer having read it): the events of its frame that did not wholly go out are lost,
 * and a hole in their thread's stream (the GAP goes with END, ft_ship_put_gaps). */
static void
drop_backlog(void)
{
    struct hole h;

    if (backlog.p == NULL) {
        return;
    }
    h.lost = backlog_events_unsent(&h.idx);
    lost_unsent += h.lost;
    unshipped += h.lost;
    if (h.lost > 0) {
        ft_threads_foreach(mark_hole, &h);
    }
    free(backlog.p);
    memset(&backlog, 0, sizeof(backlog));
}

/* Sends what is left of the backlog, waiting until the deadline. Returns 0 once it is
 * all out, -EAGAIN if not yet, or -errno (broken). */
static int
drain_backlog(uint64_t deadline)
{
    while (backlog.p != NULL) {
        struct iovec iov = {backlog.p + backlog.off, backlog.len - backlog.off};
        ssize_t w = send_some(&iov, 1);
        if (w >= 0) {
            backlog.off += (size_t)w;
            if (backlog.off == backlog.len) {
                free(backlog.p);
                memset(&backlog, 0, sizeof(backlog));
            }
            continue;
        }
        if (w != -EAGAIN) {
            return (int)w;
        }
        if (wait_writable(deadline) != 0) {
            return -EAGAIN;
        }
    }
    return 0;
}

/* One frame (the iov), its records counted only if its tail never goes (drop_backlog):
 * counting every frame's records cost 46 instructions per event on a call-heavy program.
 * Returns 0 when it is sent or on its
 * way (its tail in the backlog), else -errno and nothing of it went out: -EAGAIN when
 * the writer took nothing until the deadline (the connection then stalls, unless no
 * wait was allowed), -EPIPE or another error when the writer is gone. */
static int
send_frame_iov(struct iovec *iov, int n)
{
    struct iovec whole[3];
    uint64_t deadline = send_deadline();
    size_t sent = 0;
    int err, nwhole = n < 3 ? n : 3;

    memcpy(whole, iov, (size_t)nwhole * sizeof(*iov));

    if (!ft_ship_usable()) {
        return -EPIPE;
    }
    err = drain_backlog(deadline);
    while (err == 0 && n > 0) {
        ssize_t w = send_some(iov, n);
        if (w >= 0) {
            sent += (size_t)w;
            n = consume(&iov, n, (size_t)w);
        } else if (w != -EAGAIN) {
            err = (int)w;
        } else if (wait_writable(deadline) != 0) {
            /* The writer reads no more. What went out of this frame stays in the stream:
             * its tail follows when the writer reads again. */
            err = sent > 0 ? keep_backlog(whole, nwhole, sent) : -EAGAIN;
            break;
        }
    }
    if (err == -EAGAIN || (err == 0 && backlog.p != NULL)) {
        if (deadline != 0) {
            mark_stalled();
        }
    } else if (err != 0) {
        mark_broken(err);
    }
    return err;
}

int
ft_ship_iov(struct iovec *iov, int n)
{
    return send_frame_iov(iov, n);
}

/* A frame with its header. */
static int
send_frame(unsigned type, uint32_t thread, const void *p, size_t len)
{
    struct ft_frame_hdr h = {FT_WIRE_MAGIC, (uint16_t)type, 0, (uint32_t)len, thread};
    struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)p, len}};

    return send_frame_iov(iov, len > 0 ? 2 : 1);
}

int
ft_ship_frame(unsigned type, uint32_t thread, const void *p, size_t len)
{
    return send_frame(type, thread, p, len);
}

static int
send_defs(const uint8_t *p, size_t n, void *arg)
{
    (void)arg;
    return ft_ship_frame(FT_FRAME_DEFS, 0, p, n);
}

static int
send_source(const uint8_t *p, size_t n, void *arg)
{
    (void)arg;
    return ft_ship_frame(FT_FRAME_SOURCE, 0, p, n);
}

/* Definitions not yet sent, then the files of traced code not yet sent (srclog.h). */
static void
send_defs_and_sources(void)
{
    if (ft_deflog_send(send_defs, NULL) == 0) {
        ft_srclog_send(send_source, NULL);
    }
}

/* Records in a byte range that will not be shipped: returns the count for the lost
 * totals (GAP records carry counts already included there) and adds every record to
 * `unshipped`, so that END can say how many records left the process. */
static uint64_t
count_unshipped(const uint8_t *p, size_t n)
{
    uint64_t count = count_events(p, n);

    unshipped += count;
    return count;
}

static void
announce(struct ft_thread *t)
{
    uint8_t buf[512];
    size_t pos = 0;

    ft_put_tlv_u64(buf, sizeof(buf), &pos, FT_TAG_TID, t->tid);
    ft_put_tlv_str(buf, sizeof(buf), &pos, FT_TAG_NAME, t->name, strlen(t->name));
    if (ft_ship_frame(FT_FRAME_THREAD, t->idx, buf, pos) == 0) {
        t->announced = 1;
    }
}

/* t's records p[0..len) as one EVENTS frame, behind a GAP when records of t were lost
 * by another than its owner since the last one went out (t->unmarked): nothing of t may
 * reach the writer ahead of the mark of a hole before it, or the return of a call that
 * started in the hole would be taken for one of a call that started before tracing (a
 * record with no line). len may be 0 (the GAP alone). Returns send_frame_iov's answer. */
static int
send_events(struct ft_thread *t, const uint8_t *p, size_t len)
{
    uint64_t gap[2] = {ft_rec_word0(FT_REC_GAP, t->unmarked), ft_clock_ticks(ft_cfg.clock)};
    size_t glen = t->unmarked != 0 ? sizeof(gap) : 0;
    struct ft_frame_hdr h = {FT_WIRE_MAGIC, FT_FRAME_EVENTS, 0, (uint32_t)(glen + len), t->idx};
    struct iovec iov[3] = {{&h, sizeof(h)}, {gap, glen}, {(void *)p, len}};
    int err = send_frame_iov(iov, 3);

    if (err == 0) {
        t->unmarked = 0; /* out, or in the backlog, which goes out first */
    }
    return err;
}

/* Whether a frame of n bytes fits the socket now (drop mode never waits). */
static int
fits_now(size_t n)
{
    int queued = 0;

    if (ioctl(conn_fd, SIOCOUTQ, &queued) != 0) {
        return 1;
    }
    return sndbuf - queued >= (int)(n + sizeof(struct ft_frame_hdr));
}

/* Ships t's committed, unsent records. Returns how many could not be shipped. Caller
 * holds send_lock. */
static uint64_t
ship(struct ft_thread *t, int may_drop)
{
    size_t c = ft_thread_committed(t);
    uint64_t lost = 0;

    if (c <= t->sent) {
        return 0;
    }
    /* The writer may have stopped this run (a NOTE): one non-blocking read per buffer. */
    if (ft_ship_usable() && ft_ship_rx_pump(0) != 0) {
        ft_ship_note_stopped();
    }
    if (taking_events() && !t->announced) {
        announce(t);
    }
    /* A record's code was defined before the record was committed: definitions read
     * after `committed` (acquire) include every one the range refers to. Sending them
     * before reading `committed` could ship a call ahead of its definition. */
    if (taking_events()) {
        send_defs_and_sources();
    }
    if (!taking_events() || (may_drop && !fits_now(c - t->sent + (t->unmarked != 0 ? 16u : 0u))) ||
        send_events(t, t->data + t->sent, c - t->sent) != 0) {
        lost = count_unshipped(t->data + t->sent, c - t->sent);
    } else if (ft_cfg.log_flushes) {
        static unsigned long flushes;
        ft_warn("flush #%lu: %zu bytes of thread %s to the writer", ++flushes, c - t->sent,
                t->name);
    }
    t->sent = c;
    return lost;
}

/* ship() for any caller but the owner's refill (which marks its own hole): what could not
 * go is counted lost and marked by a GAP in t's stream, so that the writer closes the
 * calls left open there as "events lost". The GAP goes at once if the writer takes it,
 * else in front of t's next frame (send_events). may_drop: as ship()'s. */
static uint64_t
ship_marked(struct ft_thread *t, int may_drop)
{
    uint64_t lost = ship(t, may_drop);

    t->unmarked += lost;
    if (t->unmarked > 0 && taking_events() && t->announced) {
        send_events(t, NULL, 0);
    }
    return lost;
}

uint64_t
ft_ship_full(struct ft_thread *t)
{
    uint64_t lost;

    ft_ship_lock();
    lost = ship(t, ft_cfg.drop);
    if (lost > 0) {
        t->unmarked = 0; /* the owner's GAP at the head of its buffer marks the hole */
    }
    /* Empty: the owner starts over at the beginning of its buffer. */
    t->sent = 0;
    ft_thread_uncommit(t);
    ft_ship_unlock();
    return lost;
}

void
ft_ship_big(struct ft_thread *t, const void *data, size_t len, int event)
{
    ft_ship_lock();
    lost_unsent += ship_marked(t, 0);
    t->sent = 0;
    ft_thread_uncommit(t);
    t->pos = t->data;
    if (ft_ship_usable()) {
        send_defs_and_sources();
    }
    if (!ft_ship_usable() || send_events(t, data, len) != 0) {
        uint64_t lost = count_unshipped(data, len);
        lost_unsent += lost;
        t->unmarked += lost;
    } else if (event) {
        __atomic_store_n(&t->events, t->events + 1, __ATOMIC_RELAXED);
    }
    ft_ship_unlock();
}

void
ft_ship_now(struct ft_thread *t)
{
    ft_ship_lock();
    lost_unsent += ship_marked(t, 0);
    ft_ship_unlock();
}

void
ft_ship_rename(struct ft_thread *t, const char *name)
{
    if (strncmp(t->name, name, sizeof(t->name) - 1) == 0) {
        return;
    }
    ft_ship_lock();
    lost_unsent += ship_marked(t, 0);
    strncpy(t->name, name, sizeof(t->name) - 1);
    t->name[sizeof(t->name) - 1] = '\0';
    if (t->announced && taking_events()) {
        announce(t);
    }
    ft_ship_unlock();
}

/* At the end, drop mode does not wait for the writer to take what is left either: what
 * the socket cannot take at once is dropped (and marked); only END waits. */
static void
ship_thread(struct ft_thread *t, void *arg)
{
    (void)arg;
    lost_unsent += ship_marked(t, ft_cfg.drop && end_deadline != 0);
}

void
ft_ship_thread_end(struct ft_thread *t)
{
    ft_ship_lock();
    lost_unsent += ship_marked(t, 0);
    if (t->announced && taking_events()) {
        ft_ship_frame(FT_FRAME_THREAD_END, t->idx, NULL, 0);
    }
    ft_ship_unlock();
}

static void
send_clock(void)
{
    struct ft_anchor a;

    ft_clock_anchor(ft_cfg.clock, &a);
    ft_ship_frame(FT_FRAME_CLOCK, 0, &a, sizeof(a));
}

/* Ships every thread's committed records. Caller holds the send lock. */
void
ft_ship_all(void)
{
    if (conn_pid != getpid()) {
        return;
    }
    if (ft_ship_usable()) {
        send_clock();
    }
    ft_threads_foreach(ship_thread, NULL);
}

/* A non-owner dropping a thread's records could mark no hole in its stream: the writer
 * would then leave the calls whose ends were dropped open until the run's end. */
static void
ship_thread_idle(struct ft_thread *t, void *arg)
{
    size_t c = ft_thread_committed(t);

    if (ft_cfg.drop && end_deadline == 0 && c > t->sent && ft_ship_usable() &&
        (backlog.p != NULL || !fits_now(c - t->sent))) {
        return;
    }
    ship_thread(t, arg);
}

void
ft_ship_idle(void)
{
    if (conn_pid != getpid()) {
        return;
    }
    if (ft_ship_usable()) {
        send_clock();
    }
    ft_threads_foreach(ship_thread_idle, NULL);
}

/* ---- What END says when it cannot go in the stream ------------------------------------ */

struct put {
    uint8_t *buf;
    size_t cap, pos;
};

/* A GAP frame for each thread whose hole no frame marked yet (it would have gone at the
 * head of the thread's next frame: there is none). */
static void
put_gap(struct ft_thread *t, void *arg)
{
    struct put *o = arg;
    uint64_t gap[2] = {ft_rec_word0(FT_REC_GAP, t->unmarked), ft_clock_ticks(ft_cfg.clock)};
    size_t pos = o->pos;

    if (t->unmarked == 0 || !t->announced ||
        ft_put_hdr(o->buf, o->cap, &pos, FT_FRAME_EVENTS, t->idx, sizeof(gap)) != 0 ||
        o->cap - pos < sizeof(gap)) {
        return;
    }
    memcpy(o->buf + pos, gap, sizeof(gap));
    o->pos = pos + sizeof(gap);
    t->unmarked = 0;
}

size_t
ft_ship_put_holes(uint8_t *buf, size_t cap)
{
    struct put o = {buf, cap, 0};

    if (stalled) {
        char text[300];
        size_t pos = 0; /* the NOTE is the buffer's first frame */
        uint64_t lost = ft_tstate_lost() + lost_unsent;
        int n = snprintf(text, sizeof(text),
                         "flowtrace-writer took no events for %g s (FLOWTRACE_WAIT_TIMEOUT); "
                         "the program ran on untraced and %llu events were lost",
                         (double)ft_cfg.wait_ns / 1e9, (unsigned long long)lost);
        if (ft_put_hdr(buf, cap, &pos, FT_FRAME_NOTE, 0, 0) == 0 &&
            ft_put_tlv_str(buf, cap, &pos, FT_TAG_REASON, text, (size_t)n) == 0) {
            ft_patch_len(buf, 0, pos);
            o.pos = pos;
        }
    }
    ft_threads_foreach(put_gap, &o);
    return o.pos;
}

/* ---- The connection ---------------------------------------------------------------- */

/* Forgets the connection's state (not the socket). */
static void
reset_state(void)
{
    broken = 0;
    stalled = 0;
    end_deadline = 0;
    lost_unsent = 0;
    unshipped = 0;
    free(backlog.p);
    memset(&backlog, 0, sizeof(backlog));
    memset(&rx, 0, sizeof(rx));
}

void
ft_ship_open(int fd)
{
    socklen_t len = sizeof(sndbuf);

    /* Every send is non-blocking (MSG_DONTWAIT); waits are polls with a deadline. */
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0) {
        sndbuf = 0;
    }
    conn_fd = fd;
    conn_pid = getpid();
    reset_state();
}

void
ft_ship_close(void)
{
    if (conn_fd >= 0) {
        close(conn_fd);
    }
    conn_fd = -1;
}

void
ft_ship_forget(void)
{
    ft_ship_close();
    conn_pid = 0;
}

int
ft_ship_owned(void)
{
    return conn_pid == getpid();
}

int
ft_ship_open_fd(void)
{
    return conn_fd >= 0;
}

int
ft_ship_broken(void)
{
    return broken;
}

const struct ft_ship_rx *
ft_ship_received(void)
{
    return &rx;
}

uint64_t
ft_ship_lost_unsent(void)
{
    return lost_unsent;
}

uint64_t
ft_ship_unshipped(void)
{
    return unshipped;
}

void
ft_ship_restart(void)
{
    ft_ship_lock();
    ft_ship_forget();
    reset_state();
    ft_ship_unlock();
}

int
ft_ship_settle(void)
{
    int err = drain_backlog(end_deadline != 0 ? end_deadline : send_deadline());

    if (err == 0) {
        return 0;
    }
    /* A frame's tail cannot follow: nothing else can either. */
    mark_stalled();
    drop_backlog();
    mark_broken(err);
    return err;
}

void
ft_ship_atfork_child(void)
{
    /* The parent keeps its connection; the child has none. Closing our copy of the
     * socket keeps the writer's view of the parent intact. */
    ft_ship_forget();
    pthread_mutex_init(&send_lock, NULL);
    reset_state();
}
