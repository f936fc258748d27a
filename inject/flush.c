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
#include "tstate.h"

#define LOAD(p)     __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

static int conn_fd = -1;
static pid_t conn_pid;          /* process that owns conn_fd */
static int broken;              /* the writer went away, or stopped taking events */
static int ended;               /* END sent (or given up) */
static int sndbuf;              /* the socket's send buffer, for drop mode */
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static int sending;             /* atomic: a send is in progress (for signal handlers) */
static pthread_t flusher;
static int flusher_running;
static int stop_flusher;        /* atomic */
static uint32_t wake_word;      /* futex */
static uint64_t lost_unsent;    /* records lost when shipping failed (not by their owner) */
static char lost_reason[128];

/* ---- Sending ----------------------------------------------------------------------- */

/* The writer may have said why it closed the connection (a NOTE frame). */
static int
writer_reason(char *out, size_t cap)
{
    uint8_t buf[1024];
    ssize_t n = recv(conn_fd, buf, sizeof(buf), MSG_DONTWAIT);
    struct ft_frame_hdr h;
    size_t pos = 0;
    uint32_t tag, len;
    const uint8_t *val;

    if (n < (ssize_t)sizeof(h)) {
        return 0;
    }
    memcpy(&h, buf, sizeof(h));
    if (h.magic != FT_WIRE_MAGIC || h.type != FT_FRAME_NOTE || h.len > (size_t)n - sizeof(h)) {
        return 0;
    }
    while (ft_tlv_next(buf + sizeof(h), h.len, &pos, &tag, &val, &len) == 1) {
        if (tag == FT_TAG_REASON) {
            snprintf(out, cap, "%.*s", (int)len, (const char *)val);
            return 1;
        }
    }
    return 0;
}

static void
mark_broken(int err)
{
    char why[600];

    if (broken) {
        return;
    }
    broken = 1;
    if (err == -EAGAIN) {
        ft_warn("flowtrace-writer took no events for %.0f s (FLOWTRACE_WAIT_TIMEOUT); the "
                "program continues untraced and the lost events are counted",
                (double)ft_cfg.wait_ns / 1e9);
    } else if (writer_reason(why, sizeof(why))) {
        ft_warn("flowtrace-writer stopped this run: %s; the program continues untraced", why);
    } else {
        ft_warn("lost the connection to flowtrace-writer (%s); the program continues "
                "untraced and the lost events are counted", strerror(-err));
    }
    ft_tstate_detach();
}

static int
usable(void)
{
    return conn_fd >= 0 && !broken && conn_pid == getpid();
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
    STORE(&sending, 1);
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
    STORE(&sending, 0);
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

/* Records in a byte range, for exact loss counts (GAP records carry counts already
 * included in the threads' lost totals). */
static uint64_t
count_records(const uint8_t *p, size_t n)
{
    struct ft_rec r;
    size_t pos = 0;
    uint64_t count = 0;

    while (ft_rec_next(p, n, &pos, &r) == 1) {
        count += r.kind != FT_REC_GAP && r.kind < FT_REC_VALUE;
    }
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
    if (usable() && !t->announced) {
        announce(t);
    }
    /* A record's code was defined before the record was committed: definitions read
     * after `committed` (acquire) include every one the range refers to. Sending them
     * before reading `committed` could ship a call ahead of its definition. */
    if (usable()) {
        ft_codes_send(send_defs, NULL);
    }
    if (!usable() || (may_drop && !fits_now(c - t->sent)) ||
        send_frame(FT_FRAME_EVENTS, t->idx, t->data + t->sent, c - t->sent) != 0) {
        lost = count_records(t->data + t->sent, c - t->sent);
    } else if (ft_cfg.log_flushes) {
        static unsigned long flushes;
        ft_warn("[FlowTrace] flush #%lu: %zu bytes of thread %s to the writer", ++flushes,
                c - t->sent, t->name);
    }
    t->sent = c;
    return lost;
}

uint64_t
ft_flush_ship_full(struct ft_thread *t)
{
    uint64_t lost;

    pthread_mutex_lock(&send_lock);
    lost = ship(t, ft_cfg.drop);
    /* Empty: the owner starts over at the beginning of its buffer. */
    t->sent = 0;
    __atomic_store_n(&t->committed, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&send_lock);
    __atomic_store_n(&t->lost, t->lost + lost, __ATOMIC_RELAXED);
    return lost;
}

void
ft_flush_ship_big(struct ft_thread *t, const void *data, size_t len)
{
    pthread_mutex_lock(&send_lock);
    lost_unsent += ship(t, 0);
    t->sent = 0;
    __atomic_store_n(&t->committed, 0, __ATOMIC_RELEASE);
    t->pos = t->data;
    if (usable()) {
        ft_codes_send(send_defs, NULL);
    }
    if (!usable() || send_frame(FT_FRAME_EVENTS, t->idx, data, len) != 0) {
        lost_unsent += count_records(data, len);
    } else {
        __atomic_store_n(&t->events, t->events + 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&send_lock);
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
    pthread_mutex_lock(&send_lock);
    lost_unsent += ship(t, 0);
    if (t->announced && usable()) {
        send_frame(FT_FRAME_THREAD_END, t->idx, NULL, 0);
    }
    pthread_mutex_unlock(&send_lock);
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

    if (lost_reason[0] == '\0' || !usable()) {
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

static void *
flusher_main(void *arg)
{
    (void)arg;
    while (!LOAD(&stop_flusher)) {
        uint32_t seen = LOAD(&wake_word);
        struct timespec ts = {(time_t)(ft_cfg.flush_ns / 1000000000u),
                              (long)(ft_cfg.flush_ns % 1000000000u)};
        syscall(SYS_futex, &wake_word, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
        if (LOAD(&stop_flusher)) {
            break;
        }
        pthread_mutex_lock(&send_lock);
        ship_all_locked();
        pthread_mutex_unlock(&send_lock);
    }
    return NULL;
}

int
ft_flush_start(void)
{
    sigset_t all, old;
    int err;

    if (ft_cfg.flush_ns == 0) {
        return 0; /* ship only when buffers fill, and at the end */
    }
    /* The flusher takes no signals: they stay with the program's threads. */
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
        __atomic_add_fetch(&wake_word, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
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
    ft_patch_len(buf, 0, pos);
    {
        struct iovec iov = {buf, pos};
        pthread_mutex_lock(&send_lock);
        err = send_iov(&iov, 1);
        pthread_mutex_unlock(&send_lock);
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
    ft_put_tlv_str(buf, cap, pos, FT_TAG_ANCHOR, &a, sizeof(a));
    if (e->exc_type != NULL) {
        ft_put_tlv_str(buf, cap, pos, FT_TAG_EXC_TYPE, e->exc_type, strlen(e->exc_type));
        ft_put_tlv_str(buf, cap, pos, FT_TAG_EXC_MODULE, e->exc_module ? e->exc_module : "",
                       strlen(e->exc_module ? e->exc_module : ""));
        ft_put_tlv_str(buf, cap, pos, FT_TAG_EXC_MSG, e->exc_msg ? e->exc_msg : "",
                       strlen(e->exc_msg ? e->exc_msg : ""));
    }
}

/* Waits for the writer's ACK: the run's files are complete. */
static void
wait_ack(void)
{
    struct pollfd p = {conn_fd, POLLIN, 0};
    struct ft_frame_hdr h;
    size_t got = 0;
    uint64_t deadline = ft_clock_ns(CLOCK_MONOTONIC) + ft_cfg.ack_ns;

    while (got < sizeof(h)) {
        uint64_t now = ft_clock_ns(CLOCK_MONOTONIC);
        if (now >= deadline) {
            ft_warn("flowtrace-writer did not confirm the run within %.0f s "
                    "(FLOWTRACE_ACK_TIMEOUT); its files may be incomplete",
                    (double)ft_cfg.ack_ns / 1e9);
            return;
        }
        int r = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
        if (r <= 0) {
            continue;
        }
        ssize_t n = recv(conn_fd, (char *)&h + got, sizeof(h) - got, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return; /* the writer closed: nothing more to wait for */
        }
        got += (size_t)n;
    }
    if (h.magic != FT_WIRE_MAGIC || h.type != FT_FRAME_ACK) {
        ft_debug("unexpected reply from the writer (type %u)", (unsigned)h.type);
    }
}

void
ft_flush_end(const struct ft_end *e)
{
    uint8_t buf[2048];
    size_t pos = 0;

    if (conn_pid != getpid()) {
        return; /* a forked child that never connected */
    }
    stop_flusher_thread();
    pthread_mutex_lock(&send_lock);
    if (ended || conn_fd < 0) {
        pthread_mutex_unlock(&send_lock);
        return;
    }
    ended = 1;
    ship_all_locked();
    put_end_tlvs(buf, sizeof(buf), &pos, e);
    if (usable() && send_frame(FT_FRAME_END, 0, buf, pos) == 0) {
        wait_ack();
    }
    close(conn_fd);
    conn_fd = -1;
    pthread_mutex_unlock(&send_lock);
}

void
ft_flush_finalized(void)
{
    pthread_mutex_lock(&send_lock);
    if (!ended && usable()) {
        ship_all_locked();
        send_frame(FT_FRAME_FINALIZED, 0, NULL, 0);
    }
    pthread_mutex_unlock(&send_lock);
}

void
ft_flush_exec(const char *path)
{
    uint8_t buf[4200];
    size_t pos = 0;

    pthread_mutex_lock(&send_lock);
    if (!ended && usable()) {
        ship_all_locked();
        ft_put_tlv_str(buf, sizeof(buf), &pos, FT_TAG_PATH, path, strnlen(path, 4096));
        send_frame(FT_FRAME_EXEC, 0, buf, pos);
    }
    pthread_mutex_unlock(&send_lock);
}

void
ft_flush_note_lost(const char *reason)
{
    snprintf(lost_reason, sizeof(lost_reason), "%s", reason);
}

void
ft_flush_signal(int signo)
{
    uint8_t buf[2048];
    size_t pos = 0;
    struct ft_end e = {FT_END_SIGNAL, -1, signo, NULL, NULL, NULL};
    int expected = 0;

    /* Only if no other send is under way: interleaved bytes would corrupt the stream. */
    if (ended || !usable() ||
        !__atomic_compare_exchange_n(&sending, &expected, 1, 0, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST)) {
        return;
    }
    STORE(&sending, 0);
    if (ft_self != NULL) {
        ship(ft_self, 0);
    }
    put_end_tlvs(buf, sizeof(buf), &pos, &e);
    send_frame(FT_FRAME_END, 0, buf, pos);
    ended = 1;
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
    sending = 0;
    flusher_running = 0;
    stop_flusher = 0;
    broken = 0;
    ended = 0;
    lost_unsent = 0;
    lost_reason[0] = '\0';
}

int
ft_flush_connected(void)
{
    return usable();
}
