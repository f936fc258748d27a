/* flush.c - the connection to the writer: every frame the traced process sends. */
#define _GNU_SOURCE
#include "flush.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/sockios.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "codes.h"
#include "config.h"
#include "lib/clock.h"
#include "lib/wire.h"
#include "log.h"
#include "pyapi.h"
#include "signals.h"
#include "tstate.h"

#define LOAD(p)     __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

static int conn_fd = -1;
static pid_t conn_pid; /* process that owns conn_fd */
static int broken;     /* the writer went away, or stopped taking events */
static int ended;      /* END sent (or given up) */
static int sndbuf;     /* the socket's send buffer, for drop mode */
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t flusher;
static int flusher_running;
static int stop_flusher;     /* atomic */
static uint32_t wake_word;   /* futex */
static uint64_t lost_unsent; /* records lost when shipping failed (not by their owner) */
static uint64_t unshipped;   /* committed events (as t->events counts them) not sent */
static char lost_reason[128];
static int end_signal;    /* atomic: a signal handler asks the flusher to end the run */
static uint32_t end_done; /* futex: the flusher has ended the run */

/* What the writer sent us: frames are small and rare (ACKs, NOTE). */
static struct {
    uint8_t buf[4096];
    size_t len;
    int admitted;  /* HELLO acknowledged: the run exists */
    int end_acked; /* END acknowledged: the run's files are complete */
    int stopped;   /* NOTE: the writer stopped recording this run */
    int eof;
    char run_path[4096]; /* the run's directory, from the HELLO acknowledgement */
    char reason[600];    /* the writer's NOTE */
} rx;

/* ---- Sending ----------------------------------------------------------------------- */

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
static int
rx_pump(int timeout_ms)
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
static void
note_stopped(void)
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
    rx_pump(0);
    if (rx.stopped) {
        note_stopped(); /* the writer said why; that is the one line */
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

static int
usable(void)
{
    return conn_fd >= 0 && !broken && conn_pid == getpid();
}

/* Whether events may still be sent: the writer has not stopped the run. */
static int
taking_events(void)
{
    return usable() && !rx.stopped;
}

/* The send lock is a FlowTrace section: a termination signal that arrives while this
 * thread holds it waits until it is released (signals.h). */
static void
lock_send(void)
{
    ft_crit_enter();
    pthread_mutex_lock(&send_lock);
}

static void
unlock_send(void)
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

static int
send_iov(struct iovec *iov, int n)
{
    struct msghdr msg;
    int err = 0;

    if (!usable()) {
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

static int
send_frame(unsigned type, uint32_t thread, const void *p, size_t len)
{
    struct ft_frame_hdr h = {FT_WIRE_MAGIC, (uint16_t)type, 0, (uint32_t)len, thread};
    struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)p, len}};

    return send_iov(iov, len > 0 ? 2 : 1);
}

static int
send_defs(const uint8_t *p, size_t n, void *arg)
{
    (void)arg;
    return send_frame(FT_FRAME_DEFS, 0, p, n);
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
    if (send_frame(FT_FRAME_THREAD, t->idx, buf, pos) == 0) {
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
    if (usable() && rx_pump(0) != 0) {
        note_stopped();
    }
    if (taking_events() && !t->announced) {
        announce(t);
    }
    /* A record's code was defined before the record was committed: definitions read
     * after `committed` (acquire) include every one the range refers to. Sending them
     * before reading `committed` could ship a call ahead of its definition. */
    if (taking_events()) {
        ft_codes_send(send_defs, NULL);
    }
    if (!taking_events() || (may_drop && !fits_now(c - t->sent)) ||
        send_frame(FT_FRAME_EVENTS, t->idx, t->data + t->sent, c - t->sent) != 0) {
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
ft_flush_ship_full(struct ft_thread *t)
{
    uint64_t lost;

    lock_send();
    lost = ship(t, ft_cfg.drop);
    /* Empty: the owner starts over at the beginning of its buffer. */
    t->sent = 0;
    __atomic_store_n(&t->committed, 0, __ATOMIC_RELEASE);
    unlock_send();
    __atomic_store_n(&t->lost, t->lost + lost, __ATOMIC_RELAXED);
    return lost;
}

void
ft_flush_ship_big(struct ft_thread *t, const void *data, size_t len, int event)
{
    lock_send();
    lost_unsent += ship(t, 0);
    t->sent = 0;
    __atomic_store_n(&t->committed, 0, __ATOMIC_RELEASE);
    t->pos = t->data;
    if (usable()) {
        ft_codes_send(send_defs, NULL);
    }
    if (!usable() || send_frame(FT_FRAME_EVENTS, t->idx, data, len) != 0) {
        lost_unsent += count_unshipped(data, len);
    } else if (event) {
        __atomic_store_n(&t->events, t->events + 1, __ATOMIC_RELAXED);
    }
    unlock_send();
}

void
ft_flush_ship_now(struct ft_thread *t)
{
    pthread_mutex_lock(&send_lock);
    lost_unsent += ship(t, 0);
    pthread_mutex_unlock(&send_lock);
}

static void
ship_thread(struct ft_thread *t, void *arg)
{
    (void)arg;
    lost_unsent += ship(t, 0);
}

void
ft_flush_thread_end(struct ft_thread *t)
{
    lock_send();
    lost_unsent += ship(t, 0);
    if (t->announced && taking_events()) {
        send_frame(FT_FRAME_THREAD_END, t->idx, NULL, 0);
    }
    unlock_send();
}

static void
send_clock(void)
{
    struct ft_anchor a;

    ft_clock_anchor(ft_cfg.clock, &a);
    send_frame(FT_FRAME_CLOCK, 0, &a, sizeof(a));
}

static void
send_lost_note(void)
{
    uint8_t buf[256];
    size_t pos = 0;

    if (lost_reason[0] == '\0' || !taking_events()) {
        return;
    }
    ft_put_tlv_str(buf, sizeof(buf), &pos, FT_TAG_REASON, lost_reason, strlen(lost_reason));
    send_frame(FT_FRAME_LOST, 0, buf, pos);
    lost_reason[0] = '\0';
}

/* Ships every thread's committed records. Caller holds send_lock. */
static void
ship_all_locked(void)
{
    if (conn_pid != getpid()) {
        return;
    }
    if (usable()) {
        send_clock();
    }
    ft_threads_foreach(ship_thread, NULL);
    send_lost_note();
}

/* ---- The flusher thread ------------------------------------------------------------ */

static void
wake(uint32_t *word)
{
    __atomic_add_fetch(word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* A signal handler asked for the run to end (ft_flush_end_by_signal). */
static void
end_for_signal(int signo)
{
    struct ft_end e = {FT_END_SIGNAL, -1, signo, NULL, NULL, NULL};

    ft_flush_end(&e);
    wake(&end_done);
}

static void *
flusher_main(void *arg)
{
    (void)arg;
    while (!LOAD(&stop_flusher)) {
        uint32_t seen = LOAD(&wake_word);
        struct timespec ts = {(time_t)(ft_cfg.flush_ns / 1000000000u),
                              (long)(ft_cfg.flush_ns % 1000000000u)};
        /* With no flush interval this thread only waits for the end or a signal. */
        syscall(SYS_futex, &wake_word, FUTEX_WAIT_PRIVATE, seen, ft_cfg.flush_ns ? &ts : NULL, NULL,
                0);
        if (LOAD(&end_signal) != 0) {
            end_for_signal(LOAD(&end_signal));
            return NULL;
        }
        if (LOAD(&stop_flusher)) {
            break;
        }
        if (ft_cfg.flush_ns != 0) {
            lock_send();
            ship_all_locked();
            unlock_send();
        }
    }
    return NULL;
}

int
ft_flush_start(void)
{
    sigset_t all, old;
    int err;

    /* The flusher takes no signals: they stay with the program's threads. It runs even
     * without a flush interval, to end the run when a signal kills the process. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    err = pthread_create(&flusher, NULL, flusher_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        return -err;
    }
    pthread_setname_np(flusher, "flowtrace");
    flusher_running = 1;
    return 0;
}

static void
stop_flusher_thread(void)
{
    if (flusher_running && !pthread_equal(flusher, pthread_self())) {
        STORE(&stop_flusher, 1);
        wake(&wake_word);
        pthread_join(flusher, NULL);
    }
    flusher_running = 0;
}

/* ---- HELLO, END and the other control frames ----------------------------------------- */

static size_t
read_file(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    ssize_t r;

    if (fd < 0) {
        return 0;
    }
    while (n < cap && (r = read(fd, out + n, cap - n)) > 0) {
        n += (size_t)r;
    }
    close(fd);
    return n;
}

/* The process's start time (clock ticks after boot, /proc/self/stat field 22): with the
 * pid it names this process uniquely, across exec, for the writer's parent links. */
static uint64_t
proc_starttime(void)
{
    char buf[1024], *p;
    size_t n = read_file("/proc/self/stat", buf, sizeof(buf) - 1);
    int field = 2; /* inside the command name */

    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (p == NULL) {
        return 0;
    }
    for (p++; *p != '\0' && field < 22; p++) {
        if (*p == ' ') {
            field++;
        }
    }
    return strtoull(p, NULL, 10);
}

static void
setup_socket(int fd)
{
    struct timeval tv = {(time_t)(ft_cfg.wait_ns / 1000000000u),
                         (long)(ft_cfg.wait_ns % 1000000000u / 1000u)};
    socklen_t len = sizeof(sndbuf);

    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0) {
        sndbuf = 0;
    }
}

int
ft_flush_hello(int fd, const char *engine)
{
    static char argv[32768];
    char cwd[4096], exe[4096], ver[64];
    uint8_t *buf;
    size_t cap = sizeof(argv) + 16384, pos = 0, argv_len, n;
    struct ft_anchor a;
    ssize_t el;
    int err;

    buf = malloc(cap);
    if (buf == NULL) {
        return -ENOMEM;
    }
    argv_len = read_file("/proc/self/cmdline", argv, sizeof(argv));
    if (argv_len > 0 && argv[argv_len - 1] == '\0') {
        argv_len--;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        cwd[0] = '\0';
    }
    el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[el > 0 ? el : 0] = '\0';
    n = strcspn(ft_py.Py_GetVersion(), " ");
    snprintf(ver, sizeof(ver), "%.*s", (int)n, ft_py.Py_GetVersion());
    ft_clock_anchor(ft_cfg.clock, &a);

    setup_socket(fd);
    conn_fd = fd;
    conn_pid = getpid();
    broken = 0;
    ended = 0;
    unshipped = 0;
    memset(&rx, 0, sizeof(rx));
    ft_put_hdr(buf, cap, &pos, FT_FRAME_HELLO, 0, 0);
    ft_put_tlv_u64(buf, cap, &pos, FT_TAG_VERSION, ((uint64_t)FT_WIRE_MAJOR << 32) | FT_WIRE_MINOR);
    ft_put_tlv_u64(buf, cap, &pos, FT_TAG_PID, (uint64_t)getpid());
    ft_put_tlv_u64(buf, cap, &pos, FT_TAG_PPID, (uint64_t)getppid());
    ft_put_tlv_str(buf, cap, &pos, FT_TAG_PYVERSION, ver, strlen(ver));
    ft_put_tlv_str(buf, cap, &pos, FT_TAG_ARGV, argv, argv_len);
    ft_put_tlv_str(buf, cap, &pos, FT_TAG_CWD, cwd, strlen(cwd));
    ft_put_tlv_str(buf, cap, &pos, FT_TAG_EXE, exe, strlen(exe));
    ft_put_tlv_str(buf, cap, &pos, FT_TAG_ENGINE, engine, strlen(engine));
    ft_put_tlv_u64(buf, cap, &pos, FT_TAG_CLOCK, (uint64_t)ft_cfg.clock);
    ft_put_tlv_str(buf, cap, &pos, FT_TAG_ANCHOR, &a, sizeof(a));
    /* What the writer applies on its side (issue 3's knobs). */
    if (ft_cfg.max_depth != 0) {
        ft_put_tlv_u64(buf, cap, &pos, FT_TAG_MAX_DEPTH, ft_cfg.max_depth);
    }
    if (ft_cfg.min_duration_ns != 0) {
        ft_put_tlv_u64(buf, cap, &pos, FT_TAG_MIN_DURATION, ft_cfg.min_duration_ns);
    }
    if (ft_cfg.mirror_stdout) {
        ft_put_tlv_u64(buf, cap, &pos, FT_TAG_MIRROR_STDOUT, 1);
    }
    if (ft_cfg.logfile[0] != '\0') {
        ft_put_tlv_str(buf, cap, &pos, FT_TAG_LOGFILE, ft_cfg.logfile, strlen(ft_cfg.logfile));
    }
    ft_put_tlv_u64(buf, cap, &pos, FT_TAG_KEEP, (uint64_t)ft_cfg.keep);
    ft_put_tlv_u64(buf, cap, &pos, FT_TAG_STARTTIME, proc_starttime());
    if (!ft_cfg.children) {
        /* Only the first process is traced: the writer says whether this is one. */
        ft_put_tlv_u64(buf, cap, &pos, FT_TAG_CHILDREN, 0);
    }
    ft_patch_len(buf, 0, pos);
    {
        struct iovec iov = {buf, pos};
        lock_send();
        err = send_iov(&iov, 1);
        unlock_send();
    }
    free(buf);
    return err;
}

static void
put_end_tlvs(uint8_t *buf, size_t cap, size_t *pos, const struct ft_end *e)
{
    struct rusage ru;
    struct ft_anchor a;
    uint64_t cpu = 0;

    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        cpu = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
              (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
    }
    ft_clock_anchor(ft_cfg.clock, &a);
    ft_put_tlv_u64(buf, cap, pos, FT_TAG_HOW, (uint64_t)e->how);
    if (e->status >= 0) {
        ft_put_tlv_u64(buf, cap, pos, FT_TAG_STATUS, (uint64_t)e->status);
    }
    if (e->signal > 0) {
        ft_put_tlv_u64(buf, cap, pos, FT_TAG_SIGNAL, (uint64_t)e->signal);
    }
    ft_put_tlv_u64(buf, cap, pos, FT_TAG_CPU_US, cpu);
    ft_put_tlv_u64(buf, cap, pos, FT_TAG_BLOCKED_US, ft_tstate_blocked_ns() / 1000);
    ft_put_tlv_u64(buf, cap, pos, FT_TAG_EVENTS, ft_tstate_events());
    ft_put_tlv_u64(buf, cap, pos, FT_TAG_LOST, ft_tstate_lost() + lost_unsent);
    /* Records that left the process; the writer counts any of these it failed to write. */
    ft_put_tlv_u64(buf, cap, pos, FT_TAG_SENT, ft_tstate_events() - unshipped);
    ft_put_tlv_str(buf, cap, pos, FT_TAG_ANCHOR, &a, sizeof(a));
    if (e->exc_type != NULL) {
        ft_put_tlv_str(buf, cap, pos, FT_TAG_EXC_TYPE, e->exc_type, strlen(e->exc_type));
        ft_put_tlv_str(buf, cap, pos, FT_TAG_EXC_MODULE, e->exc_module ? e->exc_module : "",
                       strlen(e->exc_module ? e->exc_module : ""));
        ft_put_tlv_str(buf, cap, pos, FT_TAG_EXC_MSG, e->exc_msg ? e->exc_msg : "",
                       strlen(e->exc_msg ? e->exc_msg : ""));
    }
}

/* Waits for the writer's acknowledgement of END: the run's files are complete. */
static void
wait_ack(void)
{
    uint64_t deadline = ft_clock_ns(CLOCK_MONOTONIC) + ft_cfg.ack_ns;

    while (!rx.end_acked) {
        uint64_t now = ft_clock_ns(CLOCK_MONOTONIC);
        if (now >= deadline) {
            ft_warn("flowtrace-writer did not confirm the run within %.0f s "
                    "(FLOWTRACE_ACK_TIMEOUT); its files may be incomplete",
                    (double)ft_cfg.ack_ns / 1e9);
            return;
        }
        int r = rx_pump((int)((deadline - now) / 1000000u) + 1);
        note_stopped();
        if (r < 0) {
            return; /* the writer closed: nothing more to wait for */
        }
    }
}

int
ft_flush_wait_admission(void)
{
    uint64_t deadline = ft_clock_ns(CLOCK_MONOTONIC) + ft_cfg.ack_ns;
    int err = 0;

    lock_send();
    while (!rx.admitted && !rx.stopped) {
        uint64_t now = ft_clock_ns(CLOCK_MONOTONIC);
        if (now >= deadline) {
            err = -ETIMEDOUT;
            break;
        }
        if (rx_pump((int)((deadline - now) / 1000000u) + 1) < 0) {
            err = -ECONNRESET;
            break;
        }
    }
    if (err == 0 && !rx.admitted) {
        ft_debug("not traced: %s", rx.reason);
        err = -ECANCELED;
    }
    if (err != 0) {
        close(conn_fd);
        conn_fd = -1;
        conn_pid = 0;
    }
    unlock_send();
    return err;
}

static int
send_raw(const uint8_t *p, size_t n)
{
    struct iovec iov = {(void *)p, n};

    return send_iov(&iov, 1);
}

/* The writer is gone: the END it did not get goes next to the run's spool, so that
 * `flowtrace-writer --recover` can finish the run with the process's own counts. */
static void
leave_end(const uint8_t *p, size_t n)
{
    char path[4200];
    int fd;

    if (rx.run_path[0] == '\0' || !broken) {
        return;
    }
    snprintf(path, sizeof(path), "%s/end.ftb", rx.run_path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return;
    }
    if (write(fd, p, n) != (ssize_t)n) {
        ft_debug("cannot write %s", path);
    }
    close(fd);
}

void
ft_flush_end(const struct ft_end *e)
{
    uint8_t buf[2048];
    size_t pos = 0;

    if (conn_pid != getpid()) {
        return; /* a forked child that never connected */
    }
    /* All of the end is one section: a termination signal waits until it is over. */
    ft_crit_enter();
    stop_flusher_thread();
    lock_send();
    if (ended || conn_fd < 0) {
        unlock_send();
        ft_crit_leave();
        return;
    }
    ended = 1;
    ship_all_locked();
    ft_put_hdr(buf, sizeof(buf), &pos, FT_FRAME_END, 0, 0);
    put_end_tlvs(buf, sizeof(buf), &pos, e);
    ft_patch_len(buf, 0, pos);
    if (usable() && send_raw(buf, pos) == 0) {
        wait_ack();
    } else {
        leave_end(buf, pos);
    }
    close(conn_fd);
    conn_fd = -1;
    unlock_send();
    ft_crit_leave();
}

void
ft_flush_finalized(void)
{
    lock_send();
    if (!ended && usable()) {
        ship_all_locked();
        send_frame(FT_FRAME_FINALIZED, 0, NULL, 0);
    }
    unlock_send();
}

void
ft_flush_exec(const char *path)
{
    uint8_t buf[4200];
    size_t pos = 0;

    lock_send();
    if (!ended && usable()) {
        ship_all_locked();
        ft_put_tlv_str(buf, sizeof(buf), &pos, FT_TAG_PATH, path, strnlen(path, 4096));
        send_frame(FT_FRAME_EXEC, 0, buf, pos);
    }
    unlock_send();
}

void
ft_flush_note_lost(const char *reason)
{
    snprintf(lost_reason, sizeof(lost_reason), "%s", reason);
}

void
ft_flush_end_by_signal(int signo)
{
    uint64_t deadline;

    if (!flusher_running || pthread_equal(flusher, pthread_self()) || conn_pid != getpid() ||
        LOAD(&ended) || LOAD(&stop_flusher)) {
        return;
    }
    STORE(&end_done, 0);
    STORE(&end_signal, signo);
    wake(&wake_word);
    /* The flusher's own waits are bounded (sends by FLOWTRACE_WAIT_TIMEOUT, the ACK by
     * FLOWTRACE_ACK_TIMEOUT); this bound only matters if it can never finish. */
    deadline = ft_clock_ns(CLOCK_MONOTONIC) + ft_cfg.wait_ns + ft_cfg.ack_ns + 1000000000u;
    while (LOAD(&end_done) == 0 && ft_clock_ns(CLOCK_MONOTONIC) < deadline) {
        struct timespec ts = {0, 100000000};
        syscall(SYS_futex, &end_done, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
    }
}

void
ft_flush_restart(void)
{
    lock_send();
    if (conn_fd >= 0) {
        close(conn_fd);
    }
    conn_fd = -1;
    conn_pid = 0;
    broken = 0;
    ended = 0;
    lost_unsent = 0;
    unshipped = 0;
    STORE(&stop_flusher, 0);
    STORE(&end_signal, 0);
    STORE(&end_done, 0);
    lost_reason[0] = '\0';
    memset(&rx, 0, sizeof(rx));
    unlock_send();
}

void
ft_flush_atfork_child(void)
{
    /* The parent keeps its connection and flusher; the child has neither. Closing our
     * copy of the socket keeps the writer's view of the parent intact. */
    if (conn_fd >= 0) {
        close(conn_fd);
    }
    conn_fd = -1;
    conn_pid = 0;
    pthread_mutex_init(&send_lock, NULL);
    flusher_running = 0;
    stop_flusher = 0;
    broken = 0;
    ended = 0;
    lost_unsent = 0;
    unshipped = 0;
    end_signal = 0;
    end_done = 0;
    lost_reason[0] = '\0';
    memset(&rx, 0, sizeof(rx));
}

int
ft_flush_connected(void)
{
    return usable();
}
