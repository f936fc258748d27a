/* server.c - flowtrace-writer's connections: frames in, applied to their run at once
 * (and journaled), output flushed within a tick, ACK back once a run's files are
 * complete. */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/index.h"
#include "lib/run.h"
#include "lib/units.h"
#include "lib/script.h"
#include "lib/wire.h"
#include "procs.h"
#include "runs.h"
#include "journal.h"
#include "recover.h"

#define TICK_MS 250 /* output reaches the files (and the index) at least this often */
/* A thread quiet for this many ticks has nothing more on its way: the library ships what
 * it committed every flush interval (0.5 s by default), so a value record that follows
 * an event arrives within one interval of it. */
#define QUIET_TICKS 3

struct conn {
    uv_pipe_t pipe; /* first member: the handle is the connection */
    struct ft_wire_decoder dec;
    struct ft_run *run;
    struct ft_journal journal;
    int running; /* HELLO applied, journal open */
    int ending;  /* END received: finish, ACK */
    int eof;     /* the process is gone without END */
    int acking;  /* files complete, ACK on its way */
    int failed;  /* the run's output failed: frames are counted, not written */
    int refused; /* FLOWTRACE_CHILDREN=0 and a child: told so, then closed */
    int closing;
    size_t indexed; /* its units whose rows are in the index already (index_units) */
    int index_off;  /* the index refused them: its own put at the end writes them all */
    struct ft_hello_id id;
    struct conn *next, *prev;
};

static struct {
    uv_loop_t *loop;
    struct ft_server_opts opts;
    uv_pipe_t listener;
    int listening;
    uv_signal_t sigterm, sigint;
    uv_timer_t idle, drain, tick;
    uv_pipe_t parent; /* opts.parent_fd, while open */
    int parent_open;
    int stop_asked; /* the parent sent 'q' */
    int orphaned;   /* the parent's pipe ended without 'q' */
    struct conn *conns;
    unsigned nconns;
    int draining;
    unsigned bad_streams;
} S;

/* The ACK frame is constant: static storage outlives every write request. */
static const struct ft_frame_hdr ack_hdr = {FT_WIRE_MAGIC, FT_FRAME_ACK, 0, 0, 0};

/* One read buffer for every connection: what a read brings is applied before the next. */

static void stop_everything(void);
static void arm_idle_exit(void);

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
    char line[1200];
    va_list ap;
    int n = snprintf(line, sizeof(line), "flowtrace-writer: ");

    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 2) {
        n = (int)sizeof(line) - 2;
    }
    line[n++] = '\n';
    /* One write: the traced programs share this stderr, and lines must not interleave. */
    if (write(2, line, (size_t)n) < 0) {
        return;
    }
}

/* The one line about a run whose output failed, once its counts are final. */
static void
say_failed(struct conn *c, const struct ft_run_info *info)
{
    if (info->path == NULL || info->discarded) {
        say("pid %llu: no run written in %s (%s); %llu events lost", (unsigned long long)c->id.pid,
            S.opts.dir, ft_strerror(info->fail_err), (unsigned long long)info->lost);
    } else {
        say("run %s (pid %llu): output stopped (%s); %llu events written, %llu lost", info->id,
            (unsigned long long)info->pid, ft_strerror(info->fail_err),
            (unsigned long long)info->events, (unsigned long long)info->lost);
    }
}

static void
conn_closed(uv_handle_t *h)
{
    struct conn *c = (struct conn *)h;

    ft_wire_decoder_close(&c->dec);
    free(c);
}

/* Every unit as it ends: a failed one's line in the runs file (flowtrace-run prints it
 * then), and the exporter's hook, if there is one. */
static void
unit_ended(void *ctx, const struct ft_run *r, const struct ft_unit_export *u)
{
    struct ft_run_info info;

    (void)ctx;
    ft_run_get_info(r, &info);
    if (info.path != NULL) {
        ft_runs_unit_ended(info.path, u->row, S.opts.runs_file);
    }
    if (S.opts.on_unit != NULL) {
        S.opts.on_unit(S.opts.ctx, r, u);
    }
}

/* Records a finished run in the runs index, with its units' rows but the first indexed
 * (put while it ran, index_units); a failure costs the index rows only. */
static void
index_run(const struct ft_run_info *info, size_t indexed)
{
    struct ft_run_info rest = *info;
    char script[512], err[768];

    if (indexed <= rest.nrows) {
        rest.rows += indexed;
        rest.nrows -= indexed;
    }
    ft_script_name(rest.argv, rest.argv_len, script, sizeof(script));
    if (ft_index_put_run(S.opts.dir, &rest, script, err, sizeof(err)) != 0) {
        say("run %s: not recorded in the runs index: %s", rest.id, err);
    }
}

/* Finishes the run (writing its files), records it, and closes the connection. */
static void
conn_end(struct conn *c, int how_if_open, const char *reason)
{
    struct ft_run_info info;
    char dir[4200] = "";

    if (c->closing) {
        return;
    }
    c->closing = 1;
    if (c->run != NULL && !S.opts.null_sink) {
        int err = ft_run_finish(c->run, how_if_open, reason);
        ft_run_get_info(c->run, &info);
        if (info.path != NULL) {
            snprintf(dir, sizeof(dir), "%s", info.path);
        }
        if (c->failed || info.discarded) {
            info.fail_err = info.fail_err != 0 ? info.fail_err : err;
            say_failed(c, &info);
            if (info.id == NULL || info.path == NULL || info.discarded) {
                ft_runs_unwritten(c->id.pid, S.opts.runs_file);
            }
        } else if (err != 0 && info.path != NULL) {
            say("run %s: cannot write its files: %s", info.id, ft_strerror(err));
        }
        if (info.copy_error != NULL) {
            say("run %s: --logfile: %s", info.id, info.copy_error);
        }
        if (info.id != NULL && info.path != NULL && !info.discarded) {
            ft_runs_finished(&info, S.opts.runs_file);
            index_run(&info, c->indexed);
            if (S.opts.on_run != NULL) {
                S.opts.on_run(S.opts.ctx, c->run);
            }
        }
    }
    ft_run_free(c->run);
    c->run = NULL;
    if (c->running) {
        ft_journal_close(&c->journal);
        c->running = 0;
    }
    if (dir[0] != '\0') {
        /* A run of which nothing could be written (run.c) leaves it empty, but for the
         * directory its kept sources would have gone to (lib/sources.c). */
        char sources[4200];
        snprintf(sources, sizeof(sources), "%s/sources", dir);
        rmdir(sources);
        rmdir(dir);
    }
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        S.conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    S.nconns--;
    uv_close((uv_handle_t *)&c->pipe, conn_closed);
    if (S.nconns == 0) {
        if (S.draining) {
            stop_everything();
        } else {
            arm_idle_exit();
        }
    }
}

static void
ack_written(uv_write_t *req, int status)
{
    struct conn *c = req->data;

    (void)status;
    free(req);
    conn_end(c, FT_END_KILLED, NULL);
}

/* The run is complete: finish its files, then tell the process (which waits for it). */
static void
send_ack(struct conn *c)
{
    uv_write_t *req = malloc(sizeof(*req));
    uv_buf_t b = uv_buf_init((char *)&ack_hdr, sizeof(ack_hdr));

    c->acking = 1;
    if (!S.opts.null_sink) {
        ft_run_finish(c->run, FT_END_KILLED, NULL);
    }
    if (req == NULL) {
        conn_end(c, FT_END_KILLED, NULL);
        return;
    }
    req->data = c;
    if (uv_write(req, (uv_stream_t *)&c->pipe, &b, 1, ack_written) != 0) {
        free(req);
        conn_end(c, FT_END_KILLED, NULL);
    }
}

struct out_req {
    uv_write_t req;
    struct conn *c;
    int close_after;
    uint8_t buf[700];
};

static void
out_written(uv_write_t *req, int status)
{
    struct out_req *o = (struct out_req *)req;

    (void)status;
    if (o->close_after) {
        conn_end(o->c, FT_END_KILLED, NULL);
    }
    free(o);
}

/* send_to_process flags: close the connection once it is written; the NOTE says that the
 * process should keep sending (KEEP 1: the run's units are still followed). */
enum { SEND_CLOSE = 1, SEND_KEEP = 2 };

/* Sends a small frame to the process: ACK with the run directory, or a NOTE that stays
 * open. */
static void
send_to_process(struct conn *c, unsigned type, uint32_t tag, const char *text, int flags)
{
    struct out_req *o = calloc(1, sizeof(*o));
    int close_after = (flags & SEND_CLOSE) != 0;
    size_t pos = 0;
    uv_buf_t b;

    if (o == NULL) {
        if (close_after) {
            conn_end(c, FT_END_KILLED, NULL);
        }
        return;
    }
    o->c = c;
    o->close_after = close_after;
    ft_put_hdr(o->buf, sizeof(o->buf), &pos, type, 0, 0);
    ft_put_tlv_str(o->buf, sizeof(o->buf), &pos, tag, text, strnlen(text, 600));
    if (flags & SEND_KEEP) {
        ft_put_tlv_u64(o->buf, sizeof(o->buf), &pos, FT_TAG_KEEP, 1);
    }
    ft_patch_len(o->buf, 0, pos);
    b = uv_buf_init((char *)o->buf, (unsigned)pos);
    if (uv_write(&o->req, (uv_stream_t *)&c->pipe, &b, 1, out_written) != 0) {
        free(o);
        if (close_after) {
            conn_end(c, FT_END_KILLED, NULL);
        }
    }
}

/* Tells the process why its connection ends (best effort, never blocks): the library
 * prints it, so the one line the program shows says what went wrong. */
static void
tell_process(struct conn *c, const char *text)
{
    uint8_t buf[600];
    size_t pos = 0;
    uv_buf_t b;

    ft_put_hdr(buf, sizeof(buf), &pos, FT_FRAME_NOTE, 0, 0);
    ft_put_tlv_str(buf, sizeof(buf), &pos, FT_TAG_REASON, text, strnlen(text, 500));
    ft_patch_len(buf, 0, pos);
    b = uv_buf_init((char *)buf, (unsigned)pos);
    uv_try_write((uv_stream_t *)&c->pipe, &b, 1);
}

static void
bad_stream(struct conn *c, int err, uint64_t offset)
{
    struct ft_run_info info;
    char reason[160], line[700];

    ft_run_get_info(c->run, &info);
    if (info.id == NULL && ft_err_is_errno(err)) {
        /* The run could not even start: its directory cannot be created. */
        snprintf(line, sizeof(line), "cannot create a run in %s: %s", S.opts.dir, ft_strerror(err));
    } else if (ft_err_is_errno(err)) {
        snprintf(line, sizeof(line), "run %s (pid %llu): cannot write its files in %s: %s", info.id,
                 (unsigned long long)info.pid, S.opts.dir, ft_strerror(err));
    } else {
        snprintf(line, sizeof(line), "%s%s (pid %llu): %s at byte %llu",
                 info.id ? "run " : "connection", info.id ? info.id : "",
                 (unsigned long long)info.pid, ft_strerror(err), (unsigned long long)offset);
    }
    snprintf(reason, sizeof(reason), "stream error: %s", ft_strerror(err));
    say("%s; connection closed, other runs continue", line);
    /* The run keeps every frame that came before the bad one: all were applied. */
    if (!c->eof) {
        tell_process(c, line);
    }
    S.bad_streams++;
    conn_end(c, FT_END_KILLED, reason);
}

/* The run's files cannot be written (disk full, directory gone or unwritable): stop
 * writing, tell the process (it stops recording, says so in one line, and still sends
 * END with its counts), and count from now on what the files lack. */
static void
conn_fail(struct conn *c, int err)
{
    struct ft_run_info info;
    char line[700];

    if (c->failed) {
        return;
    }
    c->failed = 1;
    ft_run_fail(c->run, err);
    if (c->running) {
        ft_journal_close(&c->journal); /* frees its disk space unless --keep-raw */
        c->running = 0;
    }
    ft_run_get_info(c->run, &info);
    if (info.path == NULL) {
        snprintf(line, sizeof(line), "cannot create a run in %s: %s", S.opts.dir, ft_strerror(err));
    } else {
        snprintf(line, sizeof(line), "cannot write run %s: %s", info.path, ft_strerror(err));
    }
    /* A run with a directory still follows its units (their rows): the process goes on
     * sending. Without one nothing is kept: it stops. */
    send_to_process(c, FT_FRAME_NOTE, FT_TAG_REASON, line, info.path != NULL ? SEND_KEEP : 0);
}

/* FLOWTRACE_CHILDREN=0: a process started by a traced one is told so and let go. */
static int
refuse_child(struct conn *c, uint64_t ancestor)
{
    char line[200];

    snprintf(line, sizeof(line), "started by traced process %llu (FLOWTRACE_CHILDREN=0)",
             (unsigned long long)ancestor);
    c->refused = 1;
    uv_read_stop((uv_stream_t *)&c->pipe);
    send_to_process(c, FT_FRAME_NOTE, FT_TAG_REASON, line, SEND_CLOSE);
    return 1;
}

static void
link_parent(struct conn *c)
{
    struct ft_run_info me, other;
    uint64_t ancestor;
    const char *parent = ft_procs_traced_ancestor(c->id.pid, c->id.starttime, &ancestor);

    /* The closest traced process it is an exec'd image of, or descends from, by /proc. */
    if (parent != NULL) {
        ft_run_set_parent(c->run, parent);
        return;
    }
    /* Else (the process is gone already) by pid alone. */
    ft_run_get_info(c->run, &me);
    for (struct conn *o = S.conns; o != NULL; o = o->next) {
        if (o == c || o->run == NULL) {
            continue;
        }
        ft_run_get_info(o->run, &other);
        /* Same pid: the image that exec'd this one; else the process that started it. */
        if (other.id != NULL && (other.pid == me.pid || other.pid == me.ppid)) {
            ft_run_set_parent(c->run, other.id);
            return;
        }
    }
    /* An exec'd process keeps its pid; a fork's parent may have ended already. */
    const char *id = ft_runs_recent_parent(me.pid, me.ppid);
    if (id != NULL) {
        ft_run_set_parent(c->run, id);
    }
}

/* HELLO is applied at once: it creates the run's directory, where the journal lives, and
 * the process learns where its run is. Returns 0, 1 if the process is not to be traced,
 * or an error: a stream error (FT_E*) or an output error (-errno). */
static int
start_run(struct conn *c, struct ft_frame *f)
{
    struct ft_run_info info;
    uint64_t ppid, ancestor;
    int err;

    ft_procs_hello(f, &c->id);
    if (c->id.starttime == 0) {
        ft_procs_stat(c->id.pid, &ppid, &c->id.starttime);
    }
    if (c->id.only_first &&
        ft_procs_traced_ancestor(c->id.pid, c->id.starttime, &ancestor) != NULL) {
        return refuse_child(c, ancestor);
    }
    err = ft_run_frame(c->run, f);
    ft_run_get_info(c->run, &info);
    if (info.id == NULL) {
        return err != 0 ? err : FT_EBADFRAME; /* not a HELLO we can use */
    }
    link_parent(c);
    ft_procs_add(c->id.pid, c->id.starttime, info.id);
    if (err != 0) {
        return err;
    }
    send_to_process(c, FT_FRAME_ACK, FT_TAG_PATH, info.path, 0);
    if ((err = ft_journal_open(&c->journal, info.path, S.opts.keep_raw, S.opts.compress,
                               S.opts.zlevel)) != 0) {
        ft_journal_close(&c->journal);
        return err;
    }
    c->running = 1;
    return ft_journal_append(&c->journal, f);
}

/* Applies a frame, or an open piece up to a cut record at its end (wire.h), whose bytes
 * go back to the decoder to come again whole. Returns ft_run_frame's answer. */
static int
run_frame(struct conn *c, struct ft_frame *f)
{
    uint32_t len = f->hdr.len;
    int err = ft_run_frame(c->run, f);

    ft_wire_decoder_unread(&c->dec, len - f->hdr.len);
    return err;
}

/* One frame of a running process: applied, then journaled (an open piece as far as it
 * was applied). An output error (the journal or the run's files cannot be written) stops
 * the run's output, and the connection goes on: later records are counted as what the
 * files lack. Returns 0 or a stream error (FT_E*: the frame is malformed or out of
 * order). */
static int
apply(struct conn *c, struct ft_frame *f)
{
    int err, jerr;

    if (f->hdr.type == FT_FRAME_HELLO || f->hdr.type == FT_FRAME_ACK) {
        return FT_EORDER; /* a second HELLO, or a frame only the writer sends */
    }
    err = run_frame(c, f);
    if (c->running && (f->hdr.len > 0 || f->more == 0) &&
        (jerr = ft_journal_append(&c->journal, f)) != 0) {
        conn_fail(c, jerr);
    }
    if (ft_err_is_errno(err)) {
        conn_fail(c, err);
        err = 0;
    }
    /* A file that could not be written (events.jsonl, a part, a unit's) fails the run now,
     * not at its end: the process is told, and stops recording. */
    if (err == 0 && !c->failed && (err = ft_run_error(c->run)) != 0) {
        conn_fail(c, err);
        err = 0;
    }
    return err;
}

/* Frames as they arrive: checked, journaled and applied; END noted. */
static int
receive(struct conn *c)
{
    struct ft_frame f;
    int rc, err;

    while ((rc = ft_wire_next_frame(&c->dec, &f)) == 1) {
        if (S.opts.null_sink) {
            /* --null-sink (benchmarks): decode, keep nothing, still answer END. */
            if (f.hdr.type == FT_FRAME_END) {
                send_ack(c);
                return 1;
            }
            continue;
        }
        if (c->failed) {
            /* No call is written any more: frames are applied for the units' rows (or
             * only checked and counted, without a run directory). */
            if ((err = run_frame(c, &f)) != 0 && !ft_err_is_errno(err)) {
                return err;
            }
            if (f.hdr.type == FT_FRAME_END) {
                c->ending = 1;
                uv_read_stop((uv_stream_t *)&c->pipe);
                send_ack(c);
                return 1;
            }
            continue;
        }
        if (!c->running) {
            err = f.hdr.type == FT_FRAME_HELLO ? start_run(c, &f) : FT_EORDER;
            if (err == 1) {
                return 1; /* not traced (FLOWTRACE_CHILDREN=0) */
            }
            if (ft_err_is_errno(err)) {
                conn_fail(c, err); /* no run directory, or no journal in it */
                err = 0;
            }
        } else {
            err = apply(c, &f);
        }
        if (err != 0) {
            return err;
        }
        if (f.hdr.type == FT_FRAME_END) {
            c->ending = 1;
            uv_read_stop((uv_stream_t *)&c->pipe);
            send_ack(c);
            return 1;
        }
    }
    return rc;
}

/* A running run's units that ended since its last index put, into *out when not NULL. */
static int
units_pending(struct conn *c, struct ft_index_units *out)
{
    const struct ft_unit_row *rows;
    struct ft_run_info info;
    size_t n;

    if (c->run == NULL || c->closing || c->acking || c->index_off) {
        return 0;
    }
    ft_run_units(c->run, &rows, &n);
    if (n <= c->indexed) {
        return 0; /* a run without units stops here */
    }
    ft_run_get_info(c->run, &info);
    if (info.id == NULL || info.path == NULL || info.discarded) {
        return 0;
    }
    if (out != NULL) {
        *out = (struct ft_index_units){info.id, info.path, rows + c->indexed, n - c->indexed};
    }
    return 1;
}

/* Every tick: the units that ended since the last one, of every run, reach the index in
 * one transaction. A busy index is tried again at the next tick; a failure of another
 * kind leaves those runs' units to the run's own put at its end, which says why. */
static void
index_units(void)
{
    struct ft_index_units *batch, mine;
    struct conn *c;
    size_t n = 0, want = 0;
    char err[768];
    int rc;

    for (c = S.conns; c != NULL; c = c->next) {
        want += (size_t)units_pending(c, NULL);
    }
    if (want == 0 || (batch = malloc(want * sizeof(*batch))) == NULL) {
        return; /* nothing new; or, out of memory, the runs' own puts write them */
    }
    for (c = S.conns; c != NULL && n < want; c = c->next) {
        n += (size_t)units_pending(c, &batch[n]);
    }
    rc = ft_index_put_units(S.opts.dir, batch, n, err, sizeof(err));
    free(batch);
    /* The same runs again (nothing ran in between): what each had put. */
    for (c = S.conns; c != NULL && rc != -EBUSY; c = c->next) {
        if (units_pending(c, &mine)) {
            c->indexed += rc == 0 ? mine.n : 0;
            c->index_off = rc != 0;
        }
    }
}

/* Every tick: what the runs wrote reaches their files (events.jsonl, its copies, units,
 * the journal), and a run whose files failed stops being written. */
static void
on_tick(uv_timer_t *t)
{
    struct conn *c, *next;
    int err;

    (void)t;
    for (c = S.conns; c != NULL; c = next) {
        next = c->next;
        if (c->closing || c->acking) {
            continue;
        }
        if (c->failed && c->run != NULL) {
            /* Its calls are not written, its units' rows are (units.jsonl). */
            ft_run_tick(c->run, QUIET_TICKS);
            ft_run_flush(c->run);
            continue;
        }
        if (c->failed || !c->running) {
            continue;
        }
        ft_run_tick(c->run, QUIET_TICKS);
        ft_run_flush(c->run);
        if ((err = ft_journal_flush(&c->journal)) == 0) {
            err = ft_run_error(c->run);
        }
        if (err != 0) {
            conn_fail(c, err);
        }
    }
    index_units();
}

/* A connection reads straight into its decoder's buffer, which stays FT_WIRE_DECODE_BUF
 * bytes: a process's 1 MiB frames are applied in pieces as they arrive, never held
 * whole, so a hundred busy connections cost a few MiB, not a hundred. */
static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = (struct conn *)h;
    size_t n = 0;
    uint8_t *p = ft_wire_decoder_space(&c->dec, &n);

    (void)suggested;
    *buf = uv_buf_init((char *)p, p != NULL ? (unsigned)n : 0); /* none: UV_ENOBUFS */
}

/* The connection ended without END: a process that ended while the writer read nothing
 * (stalled, stopped) left its END, behind the marks of its holes, in the run's directory
 * (inject/session.c). Its counts cover what the stream lacks, also the tail of a frame
 * cut short, whose whole records were applied. Returns whether the run has its END. */
static int
take_left_end(struct conn *c)
{
    struct ft_run_info info;
    char path[4200];
    int hello = 0;

    ft_run_get_info(c->run, &info);
    if (!c->running || c->failed || info.path == NULL) {
        return 0;
    }
    snprintf(path, sizeof(path), "%s/end.ftb", info.path);
    if (access(path, F_OK) != 0) {
        return 0;
    }
    ft_recover_feed(c->run, path, &hello);
    unlink(path);
    return !hello && ft_run_ended(c->run);
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = (struct conn *)s;
    int err;

    (void)buf;
    if (n == 0 || c->closing || c->refused) {
        return;
    }
    if (n == UV_ENOBUFS) {
        bad_stream(c, -ENOMEM, ft_wire_decoder_offset(&c->dec));
        return;
    }
    if (n < 0) {
        /* EOF without END: the process was killed, or exec'd (EXEC frame seen). */
        uv_read_stop(s);
        c->eof = 1;
        if (!take_left_end(c) && ft_wire_decoder_pending(&c->dec) > 0) {
            /* Everything before the cut was applied; the cut is reported. (An END left
             * beside the spool ends the run as the process said, cut or not.) */
            bad_stream(c, FT_ETRUNCATED, ft_wire_decoder_offset(&c->dec));
        } else {
            conn_end(c, FT_END_KILLED, NULL);
        }
        return;
    }
    ft_wire_decoder_commit(&c->dec, (size_t)n);
    err = receive(c);
    if (err < 0) {
        bad_stream(c, err, ft_wire_decoder_offset(&c->dec));
    }
}

/* Only processes of this user may send events (and root, who may do anything anyway).
 * The socket's directory and mode already keep others out; this does not rely on them. */
static int
peer_allowed(uv_pipe_t *p)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    uv_os_fd_t fd;

    if (uv_fileno((uv_handle_t *)p, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        return 0;
    }
    if (cred.uid != geteuid() && cred.uid != 0) {
        say("refused a connection from pid %d: user %u is not user %u", (int)cred.pid,
            (unsigned)cred.uid, (unsigned)geteuid());
        return 0;
    }
    return 1;
}

static void
on_connection(uv_stream_t *server, int status)
{
    struct ft_run_opts ro = {.dir = S.opts.dir,
                             .tsc_ns_per_tick = S.opts.tsc_ns_per_tick,
                             .copies = 1,
                             .compress = S.opts.compress,
                             .zlevel = S.opts.zlevel};
    struct conn *c;

    if (status < 0) {
        return;
    }
    ro.span_limit = S.opts.span_limit; /* an exporter's, if any */
    ro.sampling = S.opts.sampling;
    ro.sample_ppm = S.opts.sample_ppm;
    ro.on_unit = unit_ended;
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->run = ft_run_new(&ro)) == NULL) {
        say("out of memory accepting a connection");
        free(c);
        return;
    }
    ft_wire_decoder_init(&c->dec);
    ft_wire_decoder_open(&c->dec); /* the run walks every record: pieces need no scan */
    uv_pipe_init(S.loop, &c->pipe, 0);
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 || !peer_allowed(&c->pipe)) {
        ft_run_free(c->run);
        c->run = NULL;
        uv_close((uv_handle_t *)&c->pipe, conn_closed);
        return;
    }
    c->next = S.conns;
    if (S.conns) {
        S.conns->prev = c;
    }
    S.conns = c;
    S.nconns++;
    uv_timer_stop(&S.idle);
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* A socket file left by a writer that died: nobody accepts on it. */
static int
stale_socket(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), stale;

    if (fd < 0) {
        return 0;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    stale = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno == ECONNREFUSED;
    close(fd);
    return stale;
}

int
ft_server_listen(uv_loop_t *loop, const struct ft_server_opts *opts)
{
    mode_t old;
    int err;

    memset(&S, 0, sizeof(S));
    S.loop = loop;
    S.opts = *opts;
    uv_pipe_init(loop, &S.listener, 0);
    /* Owner-only socket: no other user may connect and inject events. */
    old = umask(0077);
    err = uv_pipe_bind(&S.listener, opts->socket_path);
    if (err == UV_EADDRINUSE && stale_socket(opts->socket_path)) {
        unlink(opts->socket_path);
        err = uv_pipe_bind(&S.listener, opts->socket_path);
    }
    umask(old);
    if (err == 0) {
        err = uv_listen((uv_stream_t *)&S.listener, 128, on_connection);
    }
    if (err != 0) {
        uv_close((uv_handle_t *)&S.listener, NULL);
        return err;
    }
    S.listening = 1;
    return 0;
}

static void
drain_expired(uv_timer_t *t)
{
    (void)t;
    while (S.conns != NULL) {
        struct conn *c = S.conns;
        if (c->eof || c->ending) {
            conn_end(c, FT_END_KILLED, NULL);
        } else {
            conn_end(c, FT_END_DETACHED, "writer stopped before the process ended");
        }
    }
    stop_everything();
}

/* With no process connected: stop after --idle-exit seconds, or 2 once the parent that
 * would have stopped us is gone. */
static void
arm_idle_exit(void)
{
    double secs = S.opts.idle_exit > 0 ? S.opts.idle_exit : S.orphaned ? 2 : 0;

    if (secs > 0 && S.nconns == 0) {
        uv_timer_start(&S.idle, (uv_timer_cb)stop_everything, (uint64_t)(secs * 1000), 0);
    }
}

static void
on_signal(uv_signal_t *s, int signo)
{
    (void)s;
    (void)signo;
    if (S.draining) {
        drain_expired(NULL);
        return;
    }
    /* Stop taking new processes; finish the ones still connected as they end. */
    S.draining = 1;
    if (S.listening) {
        S.listening = 0;
        unlink(S.opts.socket_path);
        uv_close((uv_handle_t *)&S.listener, NULL);
    }
    if (S.nconns == 0) {
        stop_everything();
    } else {
        uv_timer_start(&S.drain, drain_expired, (uint64_t)(S.opts.drain_timeout * 1000), 0);
    }
}

static void
parent_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char byte[16];

    (void)h;
    (void)suggested;
    *buf = uv_buf_init(byte, sizeof(byte));
}

static void
on_parent(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    if (n > 0) {
        if (!S.stop_asked && memchr(buf->base, 'q', (size_t)n) != NULL) {
            S.stop_asked = 1;
            if (!S.draining) {
                on_signal(NULL, SIGTERM); /* an orderly stop, without SIGTERM's start-up race */
            }
        }
        return;
    }
    if (n == 0) {
        return;
    }
    /* The pipe ended (or failed). Without 'q', the process that would stop us is gone:
     * its program may still run, so serve it, and leave once nothing is connected. */
    uv_read_stop(s);
    uv_close((uv_handle_t *)s, NULL);
    S.parent_open = 0;
    if (!S.stop_asked && !S.draining) {
        S.orphaned = 1;
        arm_idle_exit();
    }
}

static void
watch_parent(void)
{
    if (S.opts.parent_fd < 0 || uv_pipe_init(S.loop, &S.parent, 0) != 0) {
        return;
    }
    if (uv_pipe_open(&S.parent, S.opts.parent_fd) != 0 ||
        uv_read_start((uv_stream_t *)&S.parent, parent_alloc, on_parent) != 0) {
        uv_close((uv_handle_t *)&S.parent, NULL);
        return;
    }
    S.parent_open = 1;
}

int
ft_server_orphaned(void)
{
    return S.orphaned;
}

int
ft_server_start(void)
{
    uv_timer_init(S.loop, &S.idle);
    uv_timer_init(S.loop, &S.drain);
    uv_timer_init(S.loop, &S.tick);
    uv_timer_start(&S.tick, on_tick, TICK_MS, TICK_MS);
    uv_signal_init(S.loop, &S.sigterm);
    uv_signal_init(S.loop, &S.sigint);
    uv_signal_start(&S.sigterm, on_signal, SIGTERM);
    /* Started in the background by a shell (flowtrace-run), the writer inherits SIGINT
     * ignored: Ctrl+C is for the program, and the writer must outlive it to write the
     * program's runs. Only a writer run by hand stops on Ctrl+C. */
    if (!S.opts.ignore_sigint) {
        uv_signal_start(&S.sigint, on_signal, SIGINT);
    }
    watch_parent();
    arm_idle_exit();
    return 0;
}

static void
stop_everything(void)
{
    if (S.listening) {
        S.listening = 0;
        unlink(S.opts.socket_path);
        uv_close((uv_handle_t *)&S.listener, NULL);
    }
    uv_timer_stop(&S.idle);
    uv_timer_stop(&S.drain);
    uv_timer_stop(&S.tick);
    uv_signal_stop(&S.sigterm);
    uv_signal_stop(&S.sigint);
    if (S.parent_open) {
        S.parent_open = 0;
        uv_close((uv_handle_t *)&S.parent, NULL);
    }
    uv_stop(S.loop);
}

void
ft_server_close(void)
{
    drain_expired(NULL);
    if (S.listening) {
        S.listening = 0;
        unlink(S.opts.socket_path);
        uv_close((uv_handle_t *)&S.listener, NULL);
    }
    uv_close((uv_handle_t *)&S.idle, NULL);
    uv_close((uv_handle_t *)&S.drain, NULL);
    uv_close((uv_handle_t *)&S.tick, NULL);
    uv_close((uv_handle_t *)&S.sigterm, NULL);
    uv_close((uv_handle_t *)&S.sigint, NULL);
    uv_run(S.loop, UV_RUN_DEFAULT);
}

void
ft_server_set_rate(double ns_per_tick)
{
    S.opts.tsc_ns_per_tick = ns_per_tick;
}

void
ft_server_set_exporter(size_t span_limit,
                       void (*on_unit)(void *, const struct ft_run *,
                                       const struct ft_unit_export *),
                       void (*on_run)(void *, struct ft_run *), void *ctx)
{
    S.opts.span_limit = span_limit;
    S.opts.on_unit = on_unit;
    S.opts.on_run = on_run;
    S.opts.ctx = ctx;
}

unsigned
ft_server_bad_streams(void)
{
    return S.bad_streams;
}
