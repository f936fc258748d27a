/* run.c - a run's frames: process metadata, threads, definitions; the parts that do the
 * rest (calls.h, units.h, runfiles.h, ledger.h) put together; tree.json's fields. */
#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "clock.h"
#include "codetab.h"
#include "emit.h"
#include "err.h"
#include "json.h"
#include "ledger.h"
#include "runfiles.h"
#include "sources.h"
#include "units.h"

enum ft_run_state { FT_RS_HELLO, FT_RS_RUNNING, FT_RS_DONE };

#define FT_RUN_NOTICES_MAX 16

struct ft_run {
    struct ft_run_opts opts;
    int state;
    /* The process, from HELLO and END. */
    uint64_t pid, ppid;
    char *python, *cwd, *exe, *engine, *parent_run;
    char *argv; /* NUL-separated */
    size_t argv_len;
    int clock_kind;
    struct ft_clockconv clock;
    uint64_t last_ticks; /* the latest time seen */
    int want_stdout;     /* HELLO: copy the JSONL lines to the process's stdout */
    char *logfile;       /* HELLO: ... and to this file */
    int keep;            /* enum ft_keep, from HELLO; FT_KEEP_ALL without it */
    int how;             /* enum ft_end_how, 0 while running */
    int have_status;
    int status;
    int signal;
    int finalized;
    uint64_t cpu_us, blocked_us, lib_events;
    char *exc_type, *exc_module, *exc_msg, *exec_path, *end_reason;
    /* What .live last said (events + 1: 0 is never written), and whether the head or
     * the threads changed since. */
    uint64_t live_events, live_calls;
    int live_dirty;
    /* The parts, each the owner of its state. */
    struct ft_codetab codes;
    struct ft_ledger ledger;
    struct ft_runfiles files;
    struct ft_sources sources; /* RUN/sources/ and tree.json's "sources" */
    struct ft_emit emit;
    struct ft_calls calls;
    struct ft_units units;
    struct ft_spans spans; /* calls outside units kept for exporters (opts.span_limit) */
    int spans_sorted;
    int followed; /* its outputs were set up: frames are applied, even after a failure */
    /* What the process said it could not follow (NOTE frames): tree.json's notices. */
    char *notices[FT_RUN_NOTICES_MAX];
    size_t nnotices;
};

struct ft_run *
ft_run_new(const struct ft_run_opts *opts)
{
    struct ft_run *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return NULL;
    }
    r->opts = *opts;
    r->state = FT_RS_HELLO;
    r->keep = FT_KEEP_ALL;
    ft_codetab_init(&r->codes);
    ft_runfiles_init(&r->files);
    ft_sources_init(&r->sources);
    r->emit.clock = &r->clock;
    r->calls.codes = &r->codes;
    r->calls.emit = &r->emit;
    r->calls.files = &r->files;
    r->calls.ledger = &r->ledger;
    r->calls.last_ticks = &r->last_ticks;
    r->ledger.jsonl_mark = &r->files.jsonl.mark;
    ft_spans_init(&r->spans, opts->span_limit);
    if (opts->span_limit > 0) {
        r->calls.spans = &r->spans;
    }
    return r;
}

void
ft_run_free(struct ft_run *r)
{
    if (r == NULL) {
        return;
    }
    ft_units_free(&r->units);
    ft_calls_free(&r->calls);
    ft_spans_free(&r->spans);
    ft_runfiles_free(&r->files);
    ft_sources_free(&r->sources);
    ft_emit_free(&r->emit);
    free(r->logfile);
    ft_codetab_free(&r->codes);
    free(r->python);
    free(r->cwd);
    free(r->exe);
    free(r->engine);
    free(r->parent_run);
    free(r->argv);
    free(r->exc_type);
    free(r->exc_module);
    free(r->exc_msg);
    free(r->exec_path);
    free(r->end_reason);
    for (size_t i = 0; i < r->nnotices; i++) {
        free(r->notices[i]);
    }
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

/* HELLO applied: the run's directory and its events.jsonl, and the parts that write
 * into them set up. */
static void write_live(struct ft_run *r);

static int
start_outputs(struct ft_run *r)
{
    /* Lines name their run where several runs' lines meet (format 4). */
    int with_run = r->opts.copies && (r->want_stdout || (r->logfile && r->logfile[0] != '\0'));
    int err;

    if (r->opts.compress) {
        ft_runfiles_set_compress(&r->files, r->opts.zlevel);
    }
    if ((err = ft_runfiles_create(&r->files, r->opts.dir, r->opts.run_id, r->pid,
                                  r->clock.first.real_ns)) != 0) {
        return err;
    }
    /* .live before events.jsonl: a reader that finds the run going finds its head too
     * (the directory is locked already: runfiles.h). */
    r->live_dirty = 1;
    write_live(r);
    if ((err = ft_runfiles_open_events(&r->files, &r->ledger.settled)) != 0 ||
        (err = ft_emit_set_run(&r->emit, r->pid, r->files.id, with_run)) != 0) {
        return err;
    }
    if (r->opts.copies) {
        ft_runfiles_open_copies(&r->files, r->pid, r->want_stdout, r->logfile, r->cwd);
    }
    ft_units_start(&r->units, &r->calls, &r->emit, &r->files, &r->ledger, r->pid, r->python,
                   r->keep);
    r->units.span_limit = r->opts.span_limit;
    r->units.sampling = r->opts.sampling;
    r->units.sample_ppm = r->opts.sample_ppm;
    r->units.on_unit = r->opts.on_unit;
    r->units.on_unit_ctx = r->opts.ctx;
    r->units.run = r;
    r->followed = 1;
    return 0;
}

/* What HELLO says besides its anchors, checked. */
struct hello {
    int have_version, have_anchor;
    uint64_t min_ns;
};

/* The process's identity (pid, argv, ...) from one HELLO field. */
static int
hello_identity(struct ft_run *r, uint32_t tag, const uint8_t *val, uint32_t len)
{
    switch (tag) {
    case FT_TAG_PID:
        return ft_tlv_u64(val, len, &r->pid);
    case FT_TAG_PPID:
        return ft_tlv_u64(val, len, &r->ppid);
    case FT_TAG_PYVERSION:
        return set_str(&r->python, val, len);
    case FT_TAG_CWD:
        return set_str(&r->cwd, val, len);
    case FT_TAG_EXE:
        return set_str(&r->exe, val, len);
    case FT_TAG_ENGINE:
        return set_str(&r->engine, val, len);
    case FT_TAG_PARENT_RUN:
        return set_str(&r->parent_run, val, len);
    case FT_TAG_ARGV:
        r->argv_len = len;
        return set_str(&r->argv, val, len);
    default:
        return 0;
    }
}

/* One HELLO field: the stream's version and clock, what the writer applies, or the
 * process's identity. */
static int
hello_field(struct ft_run *r, struct hello *h, uint32_t tag, const uint8_t *val, uint32_t len)
{
    uint64_t v = 0;
    int err;

    switch (tag) {
    case FT_TAG_VERSION:
        if (ft_tlv_u64(val, len, &v) != 0) {
            return FT_EBADFRAME;
        }
        h->have_version = 1;
        return (v >> 32) != FT_WIRE_MAJOR ? FT_EBADVERSION : 0;
    case FT_TAG_CLOCK:
        err = ft_tlv_u64(val, len, &v);
        r->clock_kind = (int)v;
        return err == 0 && v != FT_CLOCK_MONOTONIC && v != FT_CLOCK_TSC ? FT_EBADFRAME : err;
    case FT_TAG_ANCHOR:
        h->have_anchor = 1;
        return len != sizeof(struct ft_anchor) ? FT_EBADFRAME : 0;
    case FT_TAG_MAX_DEPTH:
        return ft_tlv_u64(val, len, &r->calls.max_depth);
    case FT_TAG_MIN_DURATION:
        return ft_tlv_u64(val, len, &h->min_ns);
    case FT_TAG_MIRROR_STDOUT:
        err = ft_tlv_u64(val, len, &v);
        r->want_stdout = v != 0;
        return err;
    case FT_TAG_LOGFILE:
        return set_str(&r->logfile, val, len);
    case FT_TAG_KEEP:
        err = ft_tlv_u64(val, len, &v);
        r->keep = v == FT_KEEP_FAILED ? FT_KEEP_FAILED : FT_KEEP_ALL;
        return err;
    default:
        return hello_identity(r, tag, val, len);
    }
}

static int
on_hello(struct ft_run *r, const struct ft_frame *f)
{
    struct hello h = {0};
    size_t pos = 0;
    uint32_t tag, len;
    const uint8_t *val;
    int rc, err;

    while ((rc = ft_tlv_next(f->payload, f->hdr.len, &pos, &tag, &val, &len)) == 1) {
        if ((err = hello_field(r, &h, tag, val, len)) != 0) {
            return err;
        }
    }
    if (rc < 0) {
        return rc;
    }
    if (!h.have_version || !h.have_anchor || r->pid == 0) {
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
            r->emit.start_ticks = a.ticks;
            r->emit.start_real = ft_clockconv_real_ns(&r->clock, a.ticks);
            r->last_ticks = a.ticks;
        }
    }
    if (h.min_ns > 0) {
        r->calls.min_ticks = ft_clockconv_ticks_in(&r->clock, h.min_ns);
    }
    r->state = FT_RS_RUNNING;
    if ((err = start_outputs(r)) != 0) {
        ft_run_fail(r, err); /* the caller decides whether to go on counting */
        return err;
    }
    return 0;
}

static int
on_thread(struct ft_run *r, const struct ft_frame *f)
{
    uint32_t idx = f->hdr.thread, tag, len;
    struct ft_cthread *t;
    size_t pos = 0;
    const uint8_t *val, *name = NULL;
    uint32_t name_len = 0;
    uint64_t tid = 0;
    int rc, err = 0;

    if (idx == 0 || idx >= FT_THREAD_IDX_MAX) {
        return FT_EBADFRAME;
    }
    while ((rc = ft_tlv_next(f->payload, f->hdr.len, &pos, &tag, &val, &len)) == 1) {
        if (tag == FT_TAG_TID) {
            err = ft_tlv_u64(val, len, &tid);
        } else if (tag == FT_TAG_NAME) {
            name = val;
            name_len = len;
        }
        if (err != 0) {
            return err;
        }
    }
    if (rc < 0) {
        return rc;
    }
    if ((t = ft_calls_thread(&r->calls, idx)) == NULL) {
        return -ENOMEM;
    }
    r->live_dirty = 1;
    if (name == NULL && t->name != NULL) {
        /* A THREAD frame again without a name keeps the one it had. */
        return ft_calls_name_thread(t, tid ? tid : t->tid, t->name, strlen(t->name));
    }
    return ft_calls_name_thread(t, tid ? tid : t->tid, (const char *)name, name_len);
}

static int
on_defs(struct ft_run *r, const struct ft_frame *f)
{
    size_t pos = 0;
    struct ft_def_view d;
    int rc;

    while ((rc = ft_def_next(f->payload, f->hdr.len, &pos, &d)) == 1) {
        int err = ft_codetab_add(&r->codes, &d);
        if (err != 0) {
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
            err = ft_tlv_u64(val, len, &r->ledger.lib_lost);
            break;
        case FT_TAG_SENT:
            err = ft_tlv_u64(val, len, &r->ledger.lib_sent);
            r->ledger.have_sent = 1;
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

/* NOTE from the process: it records no more of a thread's calls (or of all, thread 0),
 * and why (REASON). Listed in tree.json; that thread's open calls end "not followed". */
static int
on_note(struct ft_run *r, const struct ft_frame *f)
{
    struct ft_cthread *t = ft_calls_find_thread(&r->calls, f->hdr.thread);
    char *text = NULL;
    int err = on_tlv_str(f, FT_TAG_REASON, &text, NULL);

    if (err != 0 || text == NULL) {
        free(text);
        return err;
    }
    if (t != NULL) {
        t->unfollowed = 1;
    }
    if (r->nnotices < FT_RUN_NOTICES_MAX) {
        r->notices[r->nnotices++] = text;
    } else {
        free(text);
    }
    return 0;
}

int
ft_run_frame(struct ft_run *r, struct ft_frame *f)
{
    struct ft_cthread *t;
    size_t n;
    int err;

    if (r->state == FT_RS_DONE) {
        return FT_EORDER;
    }
    if (r->state == FT_RS_HELLO) {
        return f->hdr.type == FT_FRAME_HELLO ? on_hello(r, f) : FT_EORDER;
    }
    if (r->how != 0 && f->hdr.type != FT_FRAME_NOTE) {
        return FT_EORDER; /* nothing but notes may follow END */
    }
    if (r->ledger.fail_err != 0 && !r->followed && f->hdr.type != FT_FRAME_END) {
        return ft_ledger_discard(&r->ledger, f); /* no directory: nothing to follow for */
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
        t = ft_calls_find_thread(&r->calls, f->hdr.thread);
        if (t == NULL || t->ended) {
            return FT_EORDER;
        }
        n = f->hdr.len;
        err = ft_calls_events(&r->calls, t, f->payload, &n, f->more);
        f->hdr.len = (uint32_t)n;
        return err;
    case FT_FRAME_THREAD_END:
        t = ft_calls_find_thread(&r->calls, f->hdr.thread);
        if (t == NULL) {
            return FT_EORDER;
        }
        ft_calls_close_thread(&r->calls, t, "thread ended");
        t->ended = 1;
        return 0;
    case FT_FRAME_LOST:
        return on_tlv_str(f, FT_TAG_REASON, NULL, &r->ledger.lib_lost);
    case FT_FRAME_EXEC:
        return on_tlv_str(f, FT_TAG_PATH, &r->exec_path, NULL);
    case FT_FRAME_FINALIZED:
        r->finalized = 1;
        return 0;
    case FT_FRAME_END:
        return on_end(r, f);
    case FT_FRAME_NOTE:
        return on_note(r, f);
    case FT_FRAME_SOURCE:
        /* Best effort: a source that cannot be written is not kept; the run goes on. */
        err = r->files.path != NULL
                  ? ft_sources_add(&r->sources, r->files.path, f->payload, f->hdr.len)
                  : 0;
        return err == FT_EBADFRAME ? err : 0;
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
        r->live_dirty = 1;
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
        {SIGUSR1, "signal SIGUSR1"}, {SIGUSR2, "signal SIGUSR2"}, {SIGVTALRM, "signal SIGVTALRM"},
        {SIGXCPU, "signal SIGXCPU"}, {SIGXFSZ, "signal SIGXFSZ"}, {SIGPROF, "signal SIGPROF"},
        {SIGSYS, "signal SIGSYS"},   {SIGTRAP, "signal SIGTRAP"},
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
        return ft_wire_end_name(r->how);
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

/* tree.json's fields known from HELLO on: {"format":.. up to "start":N (no comma). */
static void
put_head_start(const struct ft_run *r, struct ft_buf *b)
{
    ft_buf_puts(b, "{\"format\":" FT_OUTPUT_FORMAT_S ",\"run\":");
    ft_json_put_cstr(b, r->files.id);
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
    ft_buf_put_u64(b, ft_clockconv_real_ns(&r->clock, r->emit.start_ticks) / 1000);
}

/* ,"notices":[...]: what the process said it could not follow; nothing if none. */
static void
put_notices(const struct ft_run *r, struct ft_buf *b)
{
    if (r->nnotices == 0) {
        return;
    }
    ft_buf_puts(b, ",\"notices\":[");
    for (size_t i = 0; i < r->nnotices; i++) {
        if (i > 0) {
            ft_buf_putc(b, ',');
        }
        ft_json_put_cstr(b, r->notices[i]);
    }
    ft_buf_putc(b, ']');
}

static void
put_tree_head(struct ft_run *r, struct ft_buf *b)
{
    uint64_t start = r->emit.start_ticks;
    uint64_t dur_ns = ft_clockconv_span_ns(&r->clock, start, r->last_ticks);
    uint64_t events, lost;
    int fail_err = r->ledger.fail_err;

    put_head_start(r, b);
    ft_buf_puts(b, ",\"durationMicros\":");
    ft_buf_put_milli(b, dur_ns);
    ft_buf_puts(b, ",\"exitCode\":");
    if (r->have_status) {
        ft_buf_put_i64(b, r->status);
    } else {
        ft_buf_puts(b, "null");
    }
    ft_buf_puts(b, ",\"ended\":");
    ft_json_put_cstr(b, ft_wire_end_name(r->how));
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
    if (fail_err != 0) {
        ft_buf_puts(b, ",\"outputError\":");
        ft_json_put_cstr(b, ft_strerror(fail_err));
    }
    ft_ledger_totals(&r->ledger, &events, &lost);
    ft_buf_printf(b,
                  ",\"tracer\":{\"engine\":\"%s\",\"events\":%llu,\"lost\":%llu,"
                  "\"cpuMicros\":%llu,\"blockedMicros\":%llu,\"calls\":%llu}",
                  r->engine ? r->engine : "", (unsigned long long)events, (unsigned long long)lost,
                  (unsigned long long)r->cpu_us, (unsigned long long)r->blocked_us,
                  (unsigned long long)(fail_err ? 0 : r->calls.calls));
    if (r->calls.malformed_values > 0) {
        /* Inside "tracer": its closing brace is taken back. */
        b->len--;
        ft_buf_printf(b, ",\"malformedValues\":%llu}",
                      (unsigned long long)r->calls.malformed_values);
    }
    ft_sources_put_json(&r->sources, b);
    put_notices(r, b);
    ft_buf_puts(b, ",\"threads\":[");
}

/* The run's threads for tree.json and .live, in index order (the caller frees it). */
static struct ft_tree_thread *
thread_list(const struct ft_run *r, size_t *n)
{
    struct ft_tree_thread *list = calloc(r->calls.threads_cap + 1, sizeof(*list));

    *n = 0;
    for (size_t i = 0; list != NULL && i < r->calls.threads_cap; i++) {
        const struct ft_cthread *t = r->calls.threads[i];
        if (t != NULL) {
            list[*n].idx = t->idx;
            list[*n].name = t->name;
            list[*n].tid = t->tid;
            (*n)++;
        }
    }
    return list;
}

/* .live, for readers of the run while it goes: when something it says has changed. */
static void
write_live(struct ft_run *r)
{
    uint64_t events, lost, dur;
    struct ft_tree_thread *list;
    struct ft_buf head;
    size_t n;

    ft_ledger_totals(&r->ledger, &events, &lost);
    if (r->live_events == events + 1 && r->live_calls == r->calls.calls && !r->live_dirty) {
        return;
    }
    ft_buf_init(&head);
    put_head_start(r, &head);
    list = thread_list(r, &n);
    dur = ft_clockconv_span_ns(&r->clock, r->emit.start_ticks, r->last_ticks) / 1000;
    if (list != NULL && !head.oom) {
        ft_runfiles_write_live(&r->files, head.p, head.len, dur, events, r->calls.calls, list, n);
        r->live_events = events + 1;
        r->live_calls = r->calls.calls;
        r->live_dirty = 0;
    }
    free(list);
    ft_buf_free(&head);
}

static int
write_tree(struct ft_run *r)
{
    struct ft_tree_thread *list;
    struct ft_buf head;
    size_t n = 0;
    int err;

    ft_buf_init(&head);
    put_tree_head(r, &head);
    list = thread_list(r, &n);
    if (list == NULL || head.oom) {
        free(list);
        ft_buf_free(&head);
        return -ENOMEM;
    }
    err = ft_runfiles_write_tree(&r->files, head.p, head.len, list, n, r->ledger.fail_err == 0, "",
                                 0);
    free(list);
    ft_buf_free(&head);
    return err;
}

int
ft_run_finish(struct ft_run *r, int how_if_open, const char *reason)
{
    int err;

    if (r->state == FT_RS_DONE) {
        return r->files.write_err;
    }
    if (r->state == FT_RS_HELLO || r->files.path == NULL) {
        ft_runfiles_unlock(&r->files);
        r->state = FT_RS_DONE;
        return r->ledger.fail_err;
    }
    if (r->how == 0) {
        r->how = r->exec_path != NULL ? FT_END_EXEC : how_if_open;
        if (reason != NULL && r->end_reason == NULL) {
            r->end_reason = strdup(reason);
        }
    }
    /* A run whose frames stopped being applied (no directory): what is open there was
     * cut by the output error. */
    if (r->ledger.fail_err != 0 && !r->followed) {
        reason = "output error";
    }
    for (size_t i = 0; i < r->calls.threads_cap; i++) {
        struct ft_cthread *t = r->calls.threads[i];
        if (t != NULL) {
            ft_calls_close_thread(&r->calls, t,
                                  t->unfollowed ? "not followed" : open_call_reason(r, reason));
        }
    }
    ft_calls_release_handoffs(&r->calls);
    ft_calls_close_generators(&r->calls, r->how == FT_END_EXIT || r->how == FT_END_EXCEPTION,
                              "not finished");
    ft_units_finish(&r->units);
    if ((err = ft_runfiles_close_events(&r->files)) != 0) {
        /* Its last lines did not reach the disk: it holds what its last good write left,
         * and the rest is lost (the writer's line and tree.json count it so). */
        ft_run_fail(r, err);
    }
    err = write_tree(r);
    ft_runfiles_note(&r->files, err);
    if (err != 0 && r->files.jsonl.mark == 0) {
        /* Nothing of it reached the disk (a full disk from the start): no directory is
         * left to be listed as an unfinished run forever; the writer's line says what
         * was lost. */
        ft_runfiles_discard(&r->files);
    }
    ft_runfiles_unlock(&r->files);
    r->state = FT_RS_DONE;
    return r->files.write_err;
}

void
ft_run_get_info(const struct ft_run *r, struct ft_run_info *info)
{
    uint64_t start = r->emit.start_ticks;

    memset(info, 0, sizeof(*info));
    info->id = r->state == FT_RS_HELLO ? NULL : r->files.id;
    info->path = r->files.path;
    info->discarded = r->files.discarded;
    info->copy_error = r->files.copy_error[0] != '\0' ? r->files.copy_error : NULL;
    info->argv = r->argv;
    info->argv_len = r->argv_len;
    info->python = r->python;
    info->cwd = r->cwd;
    info->parent_run = r->parent_run;
    info->pid = r->pid;
    info->ppid = r->ppid;
    info->start_us = ft_clockconv_real_ns(&r->clock, start) / 1000;
    info->duration_us = ft_clockconv_span_ns(&r->clock, start, r->last_ticks) / 1000;
    info->how = r->how;
    info->have_status = r->have_status;
    info->status = r->status;
    info->signal = r->signal;
    info->calls = r->calls.calls;
    info->units = r->units.nrows;
    info->nrows = r->units.nrows;
    info->units_failed = r->units.failed;
    info->rows = r->units.rows;
    ft_ledger_totals(&r->ledger, &info->events, &info->lost);
    /* A file's first write error, as soon as it happens (not only once finished). */
    info->write_err = ft_runfiles_error(&r->files);
    info->fail_err = r->ledger.fail_err;
    info->exc_type = r->exc_type;
    info->exc_module = r->exc_module;
    info->exc_msg = r->exc_msg;
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
ft_run_flush(struct ft_run *r)
{
    if (r->state != FT_RS_RUNNING) {
        return;
    }
    if (r->ledger.fail_err != 0) {
        ft_units_flush(&r->units); /* units.jsonl: the rows, when there is room */
        return;
    }
    if (r->files.jsonl_open) {
        ft_sink_flush(&r->files.jsonl);
    }
    ft_runfiles_flush_parts(&r->files);
    ft_units_flush(&r->units);
    write_live(r);
}

void
ft_run_tick(struct ft_run *r, uint32_t quiet_ticks)
{
    if (r->state == FT_RS_RUNNING && r->followed) {
        ft_calls_tick(&r->calls, quiet_ticks);
    }
}

int
ft_run_error(const struct ft_run *r)
{
    return ft_runfiles_error(&r->files);
}

void
ft_run_units(const struct ft_run *r, const struct ft_unit_row **rows, size_t *n)
{
    *rows = r->units.rows;
    *n = r->units.nrows;
}

void
ft_run_fail(struct ft_run *r, int err)
{
    if (r->ledger.fail_err == 0) {
        r->ledger.fail_err = err != 0 ? err : -EIO;
        /* events.jsonl holds the lines of its last good write (the ledger's mark), and
         * no more: what is still in memory then is counted as lost, not written. The
         * frames are still applied, writing no call anywhere, so that the units of work
         * still end, each with its row and outcome. */
        ft_runfiles_stop(&r->files, r->ledger.fail_err);
        ft_units_stop(&r->units, r->ledger.fail_err);
    }
}

void
ft_run_add_discarded(struct ft_run *r, uint64_t records)
{
    r->ledger.discarded += records;
}

void
ft_run_set_recovered(struct ft_run *r, const char *reason)
{
    r->ledger.recovered = 1;
    if (reason != NULL && r->end_reason == NULL) {
        r->end_reason = strdup(reason);
    }
}
