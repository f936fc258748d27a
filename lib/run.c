/* run.c - a run's frames: process metadata, threads, definitions, and the final files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "run_int.h"

struct ft_run *
ft_run_new(const struct ft_run_opts *opts)
{
    struct ft_run *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return NULL;
    }
    r->opts = *opts;
    ft_spans_init(&r->spans, opts->span_limit);
    r->state = FT_RS_HELLO;
    r->jsonl.fd = -1;
    r->mirror_fd = -1;
    r->logfile_fd = -1;
    ft_codetab_init(&r->codes);
    return r;
}

static void
free_threads(struct ft_run *r)
{
    for (size_t i = 0; i < r->threads_cap; i++) {
        ft__rthread_free(r->threads[i]);
    }
    free(r->threads);
    r->threads = NULL;
    r->threads_cap = 0;
}

void
ft_run_free(struct ft_run *r)
{
    if (r == NULL) {
        return;
    }
    if (r->jsonl.fd >= 0) {
        ft_sink_close(&r->jsonl);
    }
    free_threads(r);
    ft__units_free(r);
    ft__idmap_free(&r->gens);
    ft__idmap_free(&r->spawns);
    ft__idmap_free(&r->handoffs);
    ft_spans_free(&r->spans);
    if (r->mirror_fd >= 0) {
        close(r->mirror_fd);
    }
    if (r->logfile_fd >= 0) {
        close(r->logfile_fd);
    }
    free(r->logfile);
    ft_codetab_free(&r->codes);
    free(r->path);
    free(r->python);
    free(r->cwd);
    free(r->exe);
    free(r->engine);
    free(r->parent_run);
    free(r->argv);
    free(r->run_frag);
    free(r->exc_type);
    free(r->exc_module);
    free(r->exc_msg);
    free(r->exec_path);
    free(r->end_reason);
    free(r);
}

static char *
dup_n(const uint8_t *s, uint32_t n)
{
    char *d = malloc((size_t)n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Replaces *slot with a copy of the TLV string value. */
static int
set_str(char **slot, const uint8_t *val, uint32_t len)
{
    char *s = dup_n(val, len);

    if (s == NULL) {
        return -ENOMEM;
    }
    free(*slot);
    *slot = s;
    return 0;
}

/* mkdir -p, mode 0700. */
static int
make_root(const char *dir)
{
    char tmp[4096];

    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                return -errno;
            }
            *p = '/';
        }
    }
    return mkdir(tmp, 0700) == 0 || errno == EEXIST ? 0 : -errno;
}

static int
make_run_dir(struct ft_run *r, uint64_t real_ns)
{
    char base[64], path[4096];
    time_t sec = (time_t)(real_ns / 1000000000u);
    struct tm tm;

    if (r->opts.run_id != NULL) {
        snprintf(r->id, sizeof(r->id), "%s", r->opts.run_id);
    } else {
        localtime_r(&sec, &tm);
        strftime(base, sizeof(base), "%Y%m%d-%H%M%S", &tm);
        snprintf(r->id, sizeof(r->id), "%s-%llu", base, (unsigned long long)r->pid);
    }
    int recreated = 0;

    /* Never reuse a directory: an exec keeps the pid, and runs may share a second. */
    for (int n = 1;; n++) {
        snprintf(path, sizeof(path), "%s/%s", r->opts.dir, r->id);
        if (mkdir(path, 0700) == 0) {
            break;
        }
        if (errno == ENOENT && !recreated && make_root(r->opts.dir) == 0) {
            recreated = 1; /* the output directory was removed while the writer ran */
            n = 0;
            continue;
        }
        if (errno != EEXIST || n > 1000) {
            return -errno;
        }
        char *dash = n > 1 ? strrchr(r->id, '.') : NULL;
        if (dash != NULL) {
            *dash = '\0';
        }
        size_t l = strlen(r->id);
        snprintf(r->id + l, sizeof(r->id) - l, ".%d", n + 1);
    }
    r->path = strdup(path);
    return r->path == NULL ? -ENOMEM : 0;
}

/* FLOWTRACE_STDOUT and FLOWTRACE_LOGFILE: JSONL lines copied to the process's stdout
 * (reopened through /proc while the process runs) and to a file of its choosing. */
static void
open_mirrors(struct ft_run *r)
{
    char path[4200];

    if (!r->opts.copies) {
        return;
    }
    if (r->want_stdout) {
        snprintf(path, sizeof(path), "/proc/%llu/fd/1", (unsigned long long)r->pid);
        r->mirror_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
    }
    if (r->logfile != NULL && r->logfile[0] != '\0') {
        if (r->logfile[0] == '/' || r->cwd == NULL) {
            snprintf(path, sizeof(path), "%s", r->logfile);
        } else {
            snprintf(path, sizeof(path), "%s/%s", r->cwd, r->logfile);
        }
        r->logfile_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    }
    r->jsonl.mirror[0] = r->mirror_fd;
    r->jsonl.mirror[1] = r->logfile_fd;
}

static int
start_outputs(struct ft_run *r)
{
    char path[4096];
    struct ft_buf b;
    int err;

    if ((err = make_run_dir(r, r->clock.first.real_ns)) != 0) {
        return err;
    }
    snprintf(path, sizeof(path), "%s/events.jsonl", r->path);
    if ((err = ft_sink_open(&r->jsonl, path, 0)) != 0) {
        return err;
    }
    r->jsonl.mark_src = &r->settled; /* records whose lines are in the file */
    ft_buf_init(&b);
    ft_buf_puts(&b, ",\"pid\":");
    ft_buf_put_u64(&b, r->pid);
    ft_buf_puts(&b, ",\"run\":");
    ft_json_put_cstr(&b, r->id);
    if (b.oom) {
        ft_buf_free(&b);
        return -ENOMEM;
    }
    r->run_frag = b.p;
    r->run_frag_len = b.len;
    open_mirrors(r);
    return 0;
}

static int
on_hello(struct ft_run *r, const struct ft_frame *f)
{
    size_t pos = 0;
    uint32_t tag, len;
    const uint8_t *val;
    uint64_t v = 0, min_ns = 0;
    int rc, have_version = 0, have_anchor = 0, err = 0;

    while ((rc = ft_tlv_next(f->payload, f->hdr.len, &pos, &tag, &val, &len)) == 1) {
        switch (tag) {
        case FT_TAG_VERSION:
            if (ft_tlv_u64(val, len, &v) != 0) {
                return FT_EBADFRAME;
            }
            if ((v >> 32) != FT_WIRE_MAJOR) {
                return FT_EBADVERSION;
            }
            have_version = 1;
            break;
        case FT_TAG_PID:
            err = ft_tlv_u64(val, len, &r->pid);
            break;
        case FT_TAG_PPID:
            err = ft_tlv_u64(val, len, &r->ppid);
            break;
        case FT_TAG_CLOCK:
            err = ft_tlv_u64(val, len, &v);
            if (err == 0 && v != FT_CLOCK_MONOTONIC && v != FT_CLOCK_TSC) {
                err = FT_EBADFRAME;
            }
            r->clock_kind = (int)v;
            break;
        case FT_TAG_ANCHOR:
            if (len != sizeof(struct ft_anchor)) {
                return FT_EBADFRAME;
            }
            have_anchor = 1;
            break;
        case FT_TAG_PYVERSION:
            err = set_str(&r->python, val, len);
            break;
        case FT_TAG_CWD:
            err = set_str(&r->cwd, val, len);
            break;
        case FT_TAG_EXE:
            err = set_str(&r->exe, val, len);
            break;
        case FT_TAG_ENGINE:
            err = set_str(&r->engine, val, len);
            break;
        case FT_TAG_PARENT_RUN:
            err = set_str(&r->parent_run, val, len);
            break;
        case FT_TAG_ARGV:
            err = set_str(&r->argv, val, len);
            r->argv_len = len;
            break;
        case FT_TAG_MAX_DEPTH:
            err = ft_tlv_u64(val, len, &r->max_depth);
            break;
        case FT_TAG_MIN_DURATION:
            err = ft_tlv_u64(val, len, &min_ns);
            break;
        case FT_TAG_MIRROR_STDOUT:
            err = ft_tlv_u64(val, len, &v);
            r->want_stdout = v != 0;
            break;
        case FT_TAG_LOGFILE:
            err = set_str(&r->logfile, val, len);
            break;
        case FT_TAG_KEEP:
            err = ft_tlv_u64(val, len, &v);
            r->keep = v == FT_KEEP_FAILED ? FT_KEEP_FAILED : FT_KEEP_ALL;
            break;
        default:
            break;
        }
        if (err != 0) {
            return err;
        }
    }
    if (rc < 0) {
        return rc;
    }
    if (!have_version || !have_anchor || r->pid == 0) {
        return FT_EBADFRAME;
    }
    /* The anchor is applied after the clock kind is known, whatever the TLV order. */
    ft_clockconv_init(&r->clock, r->clock_kind, r->opts.tsc_ns_per_tick);
    pos = 0;
    while (ft_tlv_next(f->payload, f->hdr.len, &pos, &tag, &val, &len) == 1) {
        if (tag == FT_TAG_ANCHOR) {
            struct ft_anchor a;
            memcpy(&a, val, sizeof(a));
            ft_clockconv_anchor(&r->clock, &a);
            r->start_ticks = a.ticks;
            r->last_ticks = a.ticks;
        }
    }
    if (min_ns > 0) {
        r->min_ticks = ft_clockconv_ticks_in(&r->clock, min_ns);
    }
    r->state = FT_RS_RUNNING;
    if ((err = start_outputs(r)) != 0) {
        ft_run_fail(r, err); /* the caller decides whether to go on counting */
        return err;
    }
    return 0;
}

static struct ft_rthread *
get_thread(struct ft_run *r, uint32_t idx)
{
    return idx < r->threads_cap ? r->threads[idx] : NULL;
}

static int
make_thread_frag(struct ft_rthread *t)
{
    struct ft_buf b;

    ft_buf_init(&b);
    ft_buf_puts(&b, "\"thread\":");
    ft_json_put_cstr(&b, t->name);
    if (b.oom) {
        ft_buf_free(&b);
        return -ENOMEM;
    }
    free(t->frag);
    t->frag = b.p;
    t->frag_len = b.len;
    return 0;
}

static int
on_thread(struct ft_run *r, const struct ft_frame *f)
{
    uint32_t idx = f->hdr.thread, tag, len;
    struct ft_rthread *t;
    size_t pos = 0;
    const uint8_t *val;
    int rc, err = 0;

    if (idx == 0 || idx >= FT_THREAD_IDX_MAX) {
        return FT_EBADFRAME;
    }
    if (idx >= r->threads_cap) {
        size_t cap = r->threads_cap ? r->threads_cap : 16;
        while (cap <= idx) {
            cap *= 2;
        }
        struct ft_rthread **nt = realloc(r->threads, cap * sizeof(*nt));
        if (nt == NULL) {
            return -ENOMEM;
        }
        memset(nt + r->threads_cap, 0, (cap - r->threads_cap) * sizeof(*nt));
        r->threads = nt;
        r->threads_cap = cap;
    }
    t = r->threads[idx];
    if (t == NULL) {
        t = calloc(1, sizeof(*t));
        if (t == NULL) {
            return -ENOMEM;
        }
        t->idx = idx;
        ft__rthread_init(t);
        r->threads[idx] = t;
    }
    while ((rc = ft_tlv_next(f->payload, f->hdr.len, &pos, &tag, &val, &len)) == 1) {
        if (tag == FT_TAG_TID) {
            err = ft_tlv_u64(val, len, &t->tid);
        } else if (tag == FT_TAG_NAME) {
            err = set_str(&t->name, val, len);
        }
        if (err != 0) {
            return err;
        }
    }
    if (rc < 0) {
        return rc;
    }
    if (t->name == NULL && (t->name = strdup("Thread")) == NULL) {
        return -ENOMEM;
    }
    return make_thread_frag(t);
}

static int
on_defs(struct ft_run *r, const struct ft_frame *f)
{
    size_t pos = 0;
    struct ft_def_view d;
    int rc, err;

    while ((rc = ft_def_next(f->payload, f->hdr.len, &pos, &d)) == 1) {
        if ((err = ft_codetab_add(&r->codes, &d)) != 0) {
            return err;
        }
    }
    return rc;
}

static int
on_end(struct ft_run *r, const struct ft_frame *f)
{
    size_t pos = 0;
    uint32_t tag, len;
    const uint8_t *val;
    uint64_t v;
    int rc, err = 0;

    while ((rc = ft_tlv_next(f->payload, f->hdr.len, &pos, &tag, &val, &len)) == 1) {
        switch (tag) {
        case FT_TAG_HOW:
            err = ft_tlv_u64(val, len, &v);
            r->how = (int)v;
            break;
        case FT_TAG_STATUS:
            err = ft_tlv_u64(val, len, &v);
            r->status = (int)(v & 0xff);
            r->have_status = 1;
            break;
        case FT_TAG_SIGNAL:
            err = ft_tlv_u64(val, len, &v);
            r->signal = (int)v;
            break;
        case FT_TAG_CPU_US:
            err = ft_tlv_u64(val, len, &r->cpu_us);
            break;
        case FT_TAG_BLOCKED_US:
            err = ft_tlv_u64(val, len, &r->blocked_us);
            break;
        case FT_TAG_EVENTS:
            err = ft_tlv_u64(val, len, &r->lib_events);
            break;
        case FT_TAG_LOST:
            err = ft_tlv_u64(val, len, &r->lib_lost);
            break;
        case FT_TAG_SENT:
            err = ft_tlv_u64(val, len, &r->lib_sent);
            r->have_sent = 1;
            break;
        case FT_TAG_EXC_TYPE:
            err = set_str(&r->exc_type, val, len);
            break;
        case FT_TAG_EXC_MODULE:
            err = set_str(&r->exc_module, val, len);
            break;
        case FT_TAG_EXC_MSG:
            err = set_str(&r->exc_msg, val, len);
            break;
        case FT_TAG_ANCHOR:
            if (len != sizeof(struct ft_anchor)) {
                return FT_EBADFRAME;
            }
            struct ft_anchor a;
            memcpy(&a, val, sizeof(a));
            ft_clockconv_anchor(&r->clock, &a);
            if (a.ticks > r->last_ticks) {
                r->last_ticks = a.ticks;
            }
            break;
        default:
            break;
        }
        if (err != 0) {
            return err;
        }
    }
    if (rc < 0) {
        return rc;
    }
    if (r->how < FT_END_EXIT || r->how > FT_END_DETACHED) {
        return FT_EBADFRAME;
    }
    return 0;
}

static int
on_tlv_str(const struct ft_frame *f, uint32_t want, char **slot, uint64_t *count)
{
    size_t pos = 0;
    uint32_t tag, len;
    const uint8_t *val;
    int rc, err = 0;

    while ((rc = ft_tlv_next(f->payload, f->hdr.len, &pos, &tag, &val, &len)) == 1) {
        if (tag == want && slot != NULL) {
            err = set_str(slot, val, len);
        } else if (tag == FT_TAG_LOST && count != NULL) {
            uint64_t v;
            err = ft_tlv_u64(val, len, &v);
            *count += v;
        }
        if (err != 0) {
            return err;
        }
    }
    return rc;
}

int
ft_run_frame(struct ft_run *r, const struct ft_frame *f)
{
    struct ft_rthread *t;

    if (r->state == FT_RS_DONE) {
        return FT_EORDER;
    }
    if (r->state == FT_RS_HELLO) {
        return f->hdr.type == FT_FRAME_HELLO ? on_hello(r, f) : FT_EORDER;
    }
    if (r->how != 0 && f->hdr.type != FT_FRAME_NOTE) {
        return FT_EORDER; /* nothing but notes may follow END */
    }
    if (r->fail_err != 0 && f->hdr.type != FT_FRAME_END) {
        return ft__run_discard(r, f);
    }
    switch (f->hdr.type) {
    case FT_FRAME_CLOCK:
        if (f->hdr.len != sizeof(struct ft_anchor)) {
            return FT_EBADFRAME;
        }
        struct ft_anchor a;
        memcpy(&a, f->payload, sizeof(a));
        ft_clockconv_anchor(&r->clock, &a);
        return 0;
    case FT_FRAME_THREAD:
        return on_thread(r, f);
    case FT_FRAME_DEFS:
        return on_defs(r, f);
    case FT_FRAME_EVENTS:
        t = get_thread(r, f->hdr.thread);
        if (t == NULL || t->ended) {
            return FT_EORDER;
        }
        return ft__run_events(r, t, f->payload, f->hdr.len);
    case FT_FRAME_THREAD_END:
        t = get_thread(r, f->hdr.thread);
        if (t == NULL) {
            return FT_EORDER;
        }
        ft__run_close_open_calls(r, t, "thread ended");
        t->ended = 1;
        return 0;
    case FT_FRAME_LOST:
        return on_tlv_str(f, FT_TAG_REASON, NULL, &r->lib_lost);
    case FT_FRAME_EXEC:
        return on_tlv_str(f, FT_TAG_PATH, &r->exec_path, NULL);
    case FT_FRAME_FINALIZED:
        r->finalized = 1;
        return 0;
    case FT_FRAME_END:
        return on_end(r, f);
    case FT_FRAME_NOTE:
        return 0;
    default:
        return FT_EORDER; /* HELLO twice, or ACK from a process */
    }
}

int
ft_run_ended(const struct ft_run *r)
{
    return r->how != 0;
}

void
ft_run_set_parent(struct ft_run *r, const char *parent_id)
{
    char *s = parent_id ? strdup(parent_id) : NULL;

    if (parent_id == NULL || s != NULL) {
        free(r->parent_run);
        r->parent_run = s;
    }
}

static const char *
how_name(int how)
{
    switch (how) {
    case FT_END_EXIT:
        return "exit";
    case FT_END_EXCEPTION:
        return "exception";
    case FT_END_OS_EXIT:
        return "os._exit";
    case FT_END_SIGNAL:
        return "signal";
    case FT_END_EXEC:
        return "exec";
    case FT_END_KILLED:
        return "killed";
    case FT_END_DETACHED:
        return "detached";
    default:
        return "unknown";
    }
}

/* "signal SIGTERM": which signal ended the process, for the calls it left open. */
static const char *
signal_reason(int signo)
{
    static const struct {
        int signo;
        const char *text;
    } names[] = {
        {SIGHUP, "signal SIGHUP"},   {SIGINT, "signal SIGINT"},   {SIGQUIT, "signal SIGQUIT"},
        {SIGILL, "signal SIGILL"},   {SIGABRT, "signal SIGABRT"}, {SIGBUS, "signal SIGBUS"},
        {SIGFPE, "signal SIGFPE"},   {SIGKILL, "signal SIGKILL"}, {SIGSEGV, "signal SIGSEGV"},
        {SIGPIPE, "signal SIGPIPE"}, {SIGALRM, "signal SIGALRM"}, {SIGTERM, "signal SIGTERM"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].signo == signo) {
            return names[i].text;
        }
    }
    return "signal";
}

/* Why calls still open at the end are incomplete. */
static const char *
open_call_reason(const struct ft_run *r, const char *reason)
{
    if (reason != NULL) {
        return reason;
    }
    switch (r->how) {
    case FT_END_SIGNAL:
        return signal_reason(r->signal);
    case FT_END_EXIT:
    case FT_END_EXCEPTION:
        return "process exited";
    default:
        return how_name(r->how);
    }
}

static void
put_argv(struct ft_buf *b, const char *argv, size_t len)
{
    size_t i = 0;
    int first = 1;

    ft_buf_putc(b, '[');
    while (argv != NULL && i < len) {
        size_t n = strnlen(argv + i, len - i);
        if (!first) {
            ft_buf_putc(b, ',');
        }
        ft_json_put_str(b, argv + i, n);
        first = 0;
        i += n + 1;
    }
    ft_buf_putc(b, ']');
}

static void
put_tree_head(struct ft_run *r, struct ft_buf *b)
{
    uint64_t dur_ns = ft_clockconv_span_ns(&r->clock, r->start_ticks, r->last_ticks);
    uint64_t events, lost;

    ft_buf_puts(b, "{\"run\":");
    ft_json_put_cstr(b, r->id);
    ft_buf_puts(b, ",\"parentRun\":");
    if (r->parent_run != NULL) {
        ft_json_put_cstr(b, r->parent_run);
    } else {
        ft_buf_puts(b, "null");
    }
    ft_buf_printf(b, ",\"pid\":%llu,\"ppid\":%llu,\"argv\":", (unsigned long long)r->pid,
                  (unsigned long long)r->ppid);
    put_argv(b, r->argv, r->argv_len);
    ft_buf_puts(b, ",\"cwd\":");
    ft_json_put_cstr(b, r->cwd ? r->cwd : "");
    ft_buf_puts(b, ",\"executable\":");
    ft_json_put_cstr(b, r->exe ? r->exe : "");
    ft_buf_puts(b, ",\"python\":");
    ft_json_put_cstr(b, r->python ? r->python : "");
    ft_buf_puts(b, ",\"start\":");
    ft_buf_put_u64(b, ft_clockconv_real_ns(&r->clock, r->start_ticks) / 1000);
    ft_buf_puts(b, ",\"durationMicros\":");
    ft_buf_put_milli(b, dur_ns);
    ft_buf_puts(b, ",\"exitCode\":");
    if (r->have_status) {
        ft_buf_put_i64(b, r->status);
    } else {
        ft_buf_puts(b, "null");
    }
    ft_buf_puts(b, ",\"ended\":");
    ft_json_put_cstr(b, how_name(r->how));
    if (r->how == FT_END_SIGNAL && r->signal > 0) {
        ft_buf_printf(b, ",\"signal\":%d", r->signal);
    }
    if (r->end_reason != NULL) {
        ft_buf_puts(b, ",\"endReason\":");
        ft_json_put_cstr(b, r->end_reason);
    }
    if (r->exc_type != NULL) {
        ft_buf_puts(b, ",\"exception\":{\"type\":");
        ft_json_put_cstr(b, r->exc_type);
        if (r->exc_module != NULL && r->exc_module[0] != '\0') {
            ft_buf_puts(b, ",\"module\":");
            ft_json_put_cstr(b, r->exc_module);
        }
        ft_buf_puts(b, ",\"message\":");
        ft_json_put_cstr(b, r->exc_msg ? r->exc_msg : "");
        ft_buf_putc(b, '}');
    }
    if (r->fail_err != 0) {
        ft_buf_puts(b, ",\"outputError\":");
        ft_json_put_cstr(b, ft_strerror(r->fail_err));
    }
    ft__run_accounting(r, &events, &lost);
    ft_buf_printf(b,
                  ",\"tracer\":{\"engine\":\"%s\",\"events\":%llu,\"lost\":%llu,"
                  "\"cpuMicros\":%llu,\"blockedMicros\":%llu,\"calls\":%llu}",
                  r->engine ? r->engine : "", (unsigned long long)events, (unsigned long long)lost,
                  (unsigned long long)r->cpu_us, (unsigned long long)r->blocked_us,
                  (unsigned long long)(r->fail_err ? 0 : r->calls));
    ft_buf_puts(b, ",\"threads\":[");
}

/* Appends the part file's bytes to out, in the kernel when it can. */
static int
append_file(int out, const char *path)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    char buf[65536];
    int err = 0;

    if (in < 0) {
        return -errno;
    }
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);
        if (n > 0) {
            continue;
        }
        if (n == 0) {
            break;
        }
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
            err = -errno;
            goto out;
        }
        /* Fall back to plain copying for what remains. */
        while ((n = read(in, buf, sizeof(buf))) > 0) {
            if ((err = ft_write_all(out, buf, (size_t)n)) != 0) {
                goto out;
            }
        }
        if (n < 0) {
            err = -errno;
        }
        break;
    }
out:
    close(in);
    return err;
}

static int
write_tree(struct ft_run *r)
{
    char tmp[4096], final[4096];
    struct ft_sink s;
    int err, first = 1;

    snprintf(tmp, sizeof(tmp), "%s/.tree.json.tmp", r->path);
    snprintf(final, sizeof(final), "%s/tree.json", r->path);
    if ((err = ft_sink_open(&s, tmp, 1)) != 0) {
        return err;
    }
    put_tree_head(r, &s.b);
    for (size_t i = 0; i < r->threads_cap; i++) {
        struct ft_rthread *t = r->threads[i];
        if (t == NULL) {
            continue;
        }
        ft_buf_puts(&s.b, first ? "{\"name\":" : ",{\"name\":");
        first = 0;
        ft_json_put_cstr(&s.b, t->name ? t->name : "Thread");
        ft_buf_printf(&s.b, ",\"tid\":%llu,\"calls\":[", (unsigned long long)t->tid);
        /* After an output error the thread's part is cut short: no nodes at all. */
        if (t->tree_open && r->fail_err == 0) {
            ft__run_note_write_err(r, ft_sink_close(&t->tree));
            t->tree_open = 0;
            if ((err = ft_sink_flush(&s)) == 0) {
                err = append_file(s.fd, t->tree_path);
            }
            if (err != 0) {
                ft_sink_close(&s);
                return err;
            }
        }
        ft_buf_puts(&s.b, "]}");
    }
    ft_buf_puts(&s.b, "]}\n");
    if (s.b.oom) {
        ft_sink_close(&s);
        return -ENOMEM;
    }
    if ((err = ft_sink_close(&s)) != 0) {
        unlink(tmp); /* a tree cut short is no tree */
        return err;
    }
    return rename(tmp, final) == 0 ? 0 : -errno;
}

int
ft_run_finish(struct ft_run *r, int how_if_open, const char *reason)
{
    int err;

    if (r->state == FT_RS_DONE) {
        return r->write_err;
    }
    if (r->state == FT_RS_HELLO || r->path == NULL) {
        r->state = FT_RS_DONE;
        return r->fail_err;
    }
    if (r->how == 0) {
        r->how = r->exec_path != NULL ? FT_END_EXEC : how_if_open;
        if (reason != NULL && r->end_reason == NULL) {
            r->end_reason = strdup(reason);
        }
    }
    /* After an output error the calls still open are closed in events.jsonl (if it can
     * still be written) where the output stopped. */
    if (r->fail_err != 0) {
        reason = "output error";
    }
    for (size_t i = 0; i < r->threads_cap; i++) {
        if (r->threads[i] != NULL) {
            ft__run_close_open_calls(r, r->threads[i], open_call_reason(r, reason));
        }
    }
    ft__run_release_handoffs(r);
    ft__run_close_generators(r, r->how == FT_END_EXIT || r->how == FT_END_EXCEPTION,
                             "not finished");
    ft__units_finish(r);
    ft__run_note_write_err(r, ft_sink_close(&r->jsonl));
    err = write_tree(r);
    ft__run_note_write_err(r, err);
    r->state = FT_RS_DONE;
    return r->write_err;
}

const struct ft_spans *
ft_run_spans(struct ft_run *r)
{
    if (r->opts.span_limit == 0) {
        return NULL;
    }
    if (!r->spans_sorted) {
        ft_spans_sort(&r->spans);
        r->spans_sorted = 1;
    }
    return &r->spans;
}

uint64_t
ft_run_real_ns(const struct ft_run *r, uint64_t ticks)
{
    return ft_clockconv_real_ns(&r->clock, ticks);
}

void
ft_run_get_info(const struct ft_run *r, struct ft_run_info *info)
{
    memset(info, 0, sizeof(*info));
    info->id = r->state == FT_RS_HELLO ? NULL : r->id;
    info->path = r->path;
    info->argv = r->argv;
    info->argv_len = r->argv_len;
    info->python = r->python;
    info->cwd = r->cwd;
    info->parent_run = r->parent_run;
    info->pid = r->pid;
    info->ppid = r->ppid;
    info->start_us = ft_clockconv_real_ns(&r->clock, r->start_ticks) / 1000;
    info->duration_us = ft_clockconv_span_ns(&r->clock, r->start_ticks, r->last_ticks) / 1000;
    info->how = r->how;
    info->have_status = r->have_status;
    info->status = r->status;
    info->signal = r->signal;
    info->calls = r->calls;
    info->units = r->nrows;
    info->nrows = r->nrows;
    info->units_failed = r->units_failed;
    info->rows = r->rows;
    ft__run_accounting(r, &info->events, &info->lost);
    /* A file's first write error, as soon as it happens (not only once finished). */
    info->write_err = r->write_err != 0 ? r->write_err : r->jsonl.err;
    for (size_t i = 0; i < r->threads_cap && info->write_err == 0; i++) {
        if (r->threads[i] != NULL && r->threads[i]->tree_open) {
            info->write_err = r->threads[i]->tree.err;
        }
    }
    info->fail_err = r->fail_err;
    info->exc_type = r->exc_type;
    info->exc_module = r->exc_module;
    info->exc_msg = r->exc_msg;
}
