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
#include "lib/clock.h"
#include "lib/wire.h"
#include "log.h"
#include "tstate.h"

static int conn_fd = -1;
static pid_t conn_pid; /* process that owns conn_fd */
static int broken;     /* the writer went away, or stopped taking events */
static int sndbuf;     /* the socket's send buffer, for drop mode */
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t lost_unsent; /* records lost when shipping failed (not by their owner) */
static uint64_t unshipped;   /* committed events (as t->events counts them) not sent */
static struct ft_ship_rx rx; /* what the writer sent */

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
 * rejected): say so once, stop recording, keep the connection for END. */
void
ft_ship_note_stopped(void)
{
    if (rx.stopped == 1) {
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
    ft_ship_rx_pump(0);
    if (rx.stopped) {
        ft_ship_note_stopped(); /* the writer said why; that is the one line */
    } else if (err == -EAGAIN) {
        ft_warn("flowtrace-writer took no events for %.0f s (FLOWTRACE_WAIT_TIMEOUT); the "
                "program continues untraced and the lost events are counted",
                (double)ft_cfg.wait_ns / 1e9);
    } else {
        ft_warn("lost the connection to flowtrace-writer (%s); the program continues "
                "untraced and the lost events are counted",
                strerror(-err));
    }
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
    return ft_ship_usable() && !rx.stopped;
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

/* Waits until the writer can take more, counting the time as blocked. Returns 0, or
 * -EAGAIN if it took no events for the wait bound. */
static int
wait_writable(void)
{
    struct pollfd p = {conn_fd, POLLOUT, 0};
    uint64_t t0, waited;
    int r;

    if (poll(&p, 1, 0) != 0) {
        return 0;
    }
    t0 = ft_clock_ns(CLOCK_MONOTONIC);
    do {
        r = poll(&p, 1, (int)(ft_cfg.wait_ns / 1000000u) + 1);
    } while (r < 0 && errno == EINTR);
    waited = ft_clock_ns(CLOCK_MONOTONIC) - t0;
    ft_tstate_add_blocked(waited);
    return r > 0 ? 0 : -EAGAIN;
}

int
ft_ship_iov(struct iovec *iov, int n)
{
    struct msghdr msg;
    int err = 0;

    if (!ft_ship_usable()) {
        return -EPIPE;
    }
    if ((err = wait_writable()) != 0) {
        goto out;
    }
    while (n > 0) {
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)n;
        /* SO_SNDTIMEO bounds this: a writer that stops reading cannot hang the program. */
        ssize_t w = sendmsg(conn_fd, &msg, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            err = errno == EWOULDBLOCK ? -EAGAIN : -errno;
            goto out;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
out:
    if (err != 0) {
        /* Part of a frame may be out: the stream cannot continue. */
        mark_broken(err);
    }
    return err;
}

int
ft_ship_frame(unsigned type, uint32_t thread, const void *p, size_t len)
{
    struct ft_frame_hdr h = {FT_WIRE_MAGIC, (uint16_t)type, 0, (uint32_t)len, thread};
    struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)p, len}};

    return ft_ship_iov(iov, len > 0 ? 2 : 1);
}

static int
send_defs(const uint8_t *p, size_t n, void *arg)
{
    (void)arg;
    return ft_ship_frame(FT_FRAME_DEFS, 0, p, n);
}

/* Records in a byte range that will not be shipped: returns the count for the lost
 * totals (GAP records carry counts already included there) and adds every record to
 * `unshipped`, so that END can say how many records left the process. */
static uint64_t
count_unshipped(const uint8_t *p, size_t n)
{
    struct ft_rec r;
    size_t pos = 0;
    uint64_t count = 0;

    while (ft_rec_next(p, n, &pos, &r) == 1) {
        count += ft_rec_is_event(r.kind); /* what t->events counts */
    }
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
    size_t c = __atomic_load_n(&t->committed, __ATOMIC_ACQUIRE);
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
        ft_deflog_send(send_defs, NULL);
    }
    if (!taking_events() || (may_drop && !fits_now(c - t->sent)) ||
        ft_ship_frame(FT_FRAME_EVENTS, t->idx, t->data + t->sent, c - t->sent) != 0) {
        lost = count_unshipped(t->data + t->sent, c - t->sent);
    } else if (ft_cfg.log_flushes) {
        static unsigned long flushes;
        ft_warn("flush #%lu: %zu bytes of thread %s to the writer", ++flushes, c - t->sent,
                t->name);
    }
    t->sent = c;
    return lost;
}

uint64_t
ft_ship_full(struct ft_thread *t)
{
    uint64_t lost;

    ft_ship_lock();
    lost = ship(t, ft_cfg.drop);
    /* Empty: the owner starts over at the beginning of its buffer. */
    t->sent = 0;
    __atomic_store_n(&t->committed, 0, __ATOMIC_RELEASE);
    ft_ship_unlock();
    return lost;
}

void
ft_ship_big(struct ft_thread *t, const void *data, size_t len, int event)
{
    ft_ship_lock();
    lost_unsent += ship(t, 0);
    t->sent = 0;
    __atomic_store_n(&t->committed, 0, __ATOMIC_RELEASE);
    t->pos = t->data;
    if (ft_ship_usable()) {
        ft_deflog_send(send_defs, NULL);
    }
    if (!ft_ship_usable() || ft_ship_frame(FT_FRAME_EVENTS, t->idx, data, len) != 0) {
        lost_unsent += count_unshipped(data, len);
    } else if (event) {
        __atomic_store_n(&t->events, t->events + 1, __ATOMIC_RELAXED);
    }
    ft_ship_unlock();
}

void
ft_ship_now(struct ft_thread *t)
{
    ft_ship_lock();
    lost_unsent += ship(t, 0);
    ft_ship_unlock();
}

static void
ship_thread(struct ft_thread *t, void *arg)
{
    (void)arg;
    lost_unsent += ship(t, 0);
}

void
ft_ship_thread_end(struct ft_thread *t)
{
    ft_ship_lock();
    lost_unsent += ship(t, 0);
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

/* ---- The connection ---------------------------------------------------------------- */

void
ft_ship_open(int fd)
{
    struct timeval tv = {(time_t)(ft_cfg.wait_ns / 1000000000u),
                         (long)(ft_cfg.wait_ns % 1000000000u / 1000u)};
    socklen_t len = sizeof(sndbuf);

    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0) {
        sndbuf = 0;
    }
    conn_fd = fd;
    conn_pid = getpid();
    broken = 0;
    unshipped = 0;
    memset(&rx, 0, sizeof(rx));
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
    broken = 0;
    lost_unsent = 0;
    unshipped = 0;
    memset(&rx, 0, sizeof(rx));
    ft_ship_unlock();
}

void
ft_ship_atfork_child(void)
{
    /* The parent keeps its connection; the child has none. Closing our copy of the
     * socket keeps the writer's view of the parent intact. */
    ft_ship_forget();
    pthread_mutex_init(&send_lock, NULL);
    broken = 0;
    lost_unsent = 0;
    unshipped = 0;
    memset(&rx, 0, sizeof(rx));
}
