/* session.c - one traced process's session with the writer: HELLO, the flusher, END. */
#define _GNU_SOURCE
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "crit.h"
#include "lib/clock.h"
#include "lib/redact.h"
#include "lib/wire.h"
#include "log.h"
#include "pyapi.h"
#include "ship.h"
#include "tstate.h"

#define LOAD(p)     __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

static int ended; /* END sent (or given up) */
static pthread_t flusher;
static int flusher_running;
static int stop_flusher;   /* atomic */
static uint32_t wake_word; /* futex */
static int end_signal;     /* atomic: a signal handler asks the flusher to end the run */
static uint32_t end_done;  /* futex: the flusher has ended the run */

/* ---- The flusher thread ------------------------------------------------------------ */

static void
wake(uint32_t *word)
{
    __atomic_add_fetch(word, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* A signal handler asked for the run to end (ft_session_end_by_signal). */
static void
end_for_signal(int signo)
{
    struct ft_end e = {FT_END_SIGNAL, -1, signo, NULL, NULL, NULL};

    ft_session_end(&e);
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
            ft_ship_lock();
            ft_ship_idle();
            ft_ship_unlock();
        }
    }
    return NULL;
}

int
ft_session_start_flusher(void)
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

/* The command line as the run will show it: "--password x" and the like redacted. */
static void
put_argv(uint8_t *buf, size_t cap, size_t *pos, const char *argv, size_t len)
{
    static char clean[32768 + 4096];

    if (ft_cfg.redact.n > 0) {
        len = ft_redact_argv(&ft_cfg.redact, argv, len, clean, sizeof(clean));
        argv = clean;
    }
    ft_put_tlv_str(buf, cap, pos, FT_TAG_ARGV, argv, len);
}

int
ft_session_hello(int fd, const char *engine)
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

    ft_ship_open(fd);
    ended = 0;
    ft_put_hdr(buf, cap, &pos, FT_FRAME_HELLO, 0, 0);
    ft_put_tlv_u64(buf, cap, &pos, FT_TAG_VERSION, ((uint64_t)FT_WIRE_MAJOR << 32) | FT_WIRE_MINOR);
    ft_put_tlv_u64(buf, cap, &pos, FT_TAG_PID, (uint64_t)getpid());
    ft_put_tlv_u64(buf, cap, &pos, FT_TAG_PPID, (uint64_t)getppid());
    ft_put_tlv_str(buf, cap, &pos, FT_TAG_PYVERSION, ver, strlen(ver));
    put_argv(buf, cap, &pos, argv, argv_len);
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
        ft_ship_lock();
        err = ft_ship_iov(&iov, 1);
        ft_ship_unlock();
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
    ft_put_tlv_u64(buf, cap, pos, FT_TAG_LOST, ft_tstate_lost() + ft_ship_lost_unsent());
    /* Records that left the process; the writer counts any of these it failed to write. */
    ft_put_tlv_u64(buf, cap, pos, FT_TAG_SENT, ft_tstate_events() - ft_ship_unshipped());
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

    while (!ft_ship_received()->end_acked) {
        uint64_t now = ft_clock_ns(CLOCK_MONOTONIC);
        if (now >= deadline) {
            ft_warn("flowtrace-writer did not confirm the run within %.0f s "
                    "(FLOWTRACE_ACK_TIMEOUT); its files may be incomplete",
                    (double)ft_cfg.ack_ns / 1e9);
            return;
        }
        int r = ft_ship_rx_pump((int)((deadline - now) / 1000000u) + 1);
        ft_ship_note_stopped();
        if (r < 0) {
            return; /* the writer closed: nothing more to wait for */
        }
    }
}

int
ft_session_wait_admission(void)
{
    uint64_t deadline = ft_clock_ns(CLOCK_MONOTONIC) + ft_cfg.ack_ns;
    int err = 0;

    ft_ship_lock();
    while (!ft_ship_received()->admitted && !ft_ship_received()->stopped) {
        uint64_t now = ft_clock_ns(CLOCK_MONOTONIC);
        if (now >= deadline) {
            err = -ETIMEDOUT;
            break;
        }
        if (ft_ship_rx_pump((int)((deadline - now) / 1000000u) + 1) < 0) {
            err = -ECONNRESET;
            break;
        }
    }
    if (err == 0 && !ft_ship_received()->admitted) {
        ft_debug("not traced: %s", ft_ship_received()->reason);
        err = -ECANCELED;
    }
    if (err != 0) {
        ft_ship_forget();
    }
    ft_ship_unlock();
    return err;
}

static int
send_raw(const uint8_t *p, size_t n)
{
    struct iovec iov = {(void *)p, n};

    return ft_ship_iov(&iov, 1);
}

/* The writer is gone or did not read: the END it did not get goes next to the run's
 * spool (behind the holes it must follow), so that the writer, reading the connection's
 * end, or `flowtrace-writer --recover` can finish the run with the process's own counts
 * and ending. */
static void
leave_end(const uint8_t *holes, size_t nholes, const uint8_t *p, size_t n)
{
    char path[4200];
    int fd;

    if (ft_ship_received()->run_path[0] == '\0') {
        return;
    }
    snprintf(path, sizeof(path), "%s/end.ftb", ft_ship_received()->run_path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return;
    }
    if (write(fd, holes, nholes) != (ssize_t)nholes || write(fd, p, n) != (ssize_t)n) {
        ft_debug("cannot write %s", path);
    }
    close(fd);
}

void
ft_session_end(const struct ft_end *e)
{
    uint8_t buf[2048], holes[4096];
    size_t pos = 0, nholes;

    if (!ft_ship_owned()) {
        return; /* a forked child that never connected */
    }
    /* All of the end is one section: a termination signal waits until it is over. */
    ft_crit_enter();
    stop_flusher_thread();
    ft_ship_lock();
    if (ended || !ft_ship_open_fd()) {
        ft_ship_unlock();
        ft_crit_leave();
        return;
    }
    ended = 1;
    ft_ship_ending();
    ft_ship_all();
    ft_ship_settle();
    nholes = ft_ship_put_holes(holes, sizeof(holes));
    ft_put_hdr(buf, sizeof(buf), &pos, FT_FRAME_END, 0, 0);
    put_end_tlvs(buf, sizeof(buf), &pos, e);
    ft_patch_len(buf, 0, pos);
    if (ft_ship_usable() && nholes > 0 && send_raw(holes, nholes) == 0) {
        nholes = 0; /* in the stream, ahead of END */
    }
    if (ft_ship_usable() && send_raw(buf, pos) == 0) {
        wait_ack();
    } else {
        leave_end(holes, nholes, buf, pos);
    }
    ft_ship_close();
    ft_ship_unlock();
    ft_crit_leave();
}

void
ft_session_finalized(void)
{
    ft_ship_lock();
    if (!ended && ft_ship_usable()) {
        ft_ship_all();
        ft_ship_frame(FT_FRAME_FINALIZED, 0, NULL, 0);
    }
    ft_ship_unlock();
}

void
ft_session_exec(const char *path)
{
    ft_ship_lock();
    if (!ended && ft_ship_usable()) {
        uint8_t buf[4200];
        size_t pos = 0;
        ft_ship_all();
        ft_put_tlv_str(buf, sizeof(buf), &pos, FT_TAG_PATH, path, strnlen(path, 4096));
        ft_ship_frame(FT_FRAME_EXEC, 0, buf, pos);
    }
    ft_ship_unlock();
}

void
ft_session_notice(uint32_t idx, const char *text)
{
    ft_ship_lock();
    if (!ended && ft_ship_usable()) {
        uint8_t buf[700];
        size_t pos = 0;
        ft_ship_all();
        ft_put_tlv_str(buf, sizeof(buf), &pos, FT_TAG_REASON, text, strnlen(text, 600));
        ft_ship_frame(FT_FRAME_NOTE, idx, buf, pos);
    }
    ft_ship_unlock();
}

void
ft_session_end_by_signal(int signo)
{
    uint64_t deadline;

    if (!flusher_running || pthread_equal(flusher, pthread_self()) || !ft_ship_owned() ||
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
ft_session_restart(void)
{
    ft_ship_restart();
    ended = 0;
    STORE(&stop_flusher, 0);
    STORE(&end_signal, 0);
    STORE(&end_done, 0);
}

void
ft_session_atfork_child(void)
{
    /* The parent keeps its connection and flusher; the child has neither. */
    ft_ship_atfork_child();
    flusher_running = 0;
    stop_flusher = 0;
    ended = 0;
    end_signal = 0;
    end_done = 0;
}
