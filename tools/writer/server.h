/* server.h - flowtrace-writer's socket server (libuv): one connection per traced process.
 *
 * Each connection owns a frame decoder and a run (lib/run.h). Frames are processed as
 * they arrive; a malformed frame ends that connection only, with one line on stderr,
 * and its run is finished with what was decoded. On END the run is finished and ACK
 * sent. Handles are freed in their close callbacks only (libuv's rule).
 */
#ifndef FT_WRITER_SERVER_H
#define FT_WRITER_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "lib/run.h"

struct ft_server_opts {
    const char *dir;         /* output root (exists) */
    const char *socket_path; /* where to listen */
    const char *runs_file;   /* if set, one line per finished run is appended */
    double tsc_ns_per_tick;
    double idle_exit;     /* > 0: stop after this many seconds without connections */
    double drain_timeout; /* longest wait for open connections after SIGTERM */
    int keep_raw;         /* also keep each run's raw stream as raw.ftb */
    int null_sink;        /* bench only: decode frames, write nothing (ACK still sent) */
    int ignore_sigint;    /* SIGINT was ignored when the writer started: keep it so */
    int compress;         /* zstd runs (events.jsonl.zst, tree.json.zst) ... */
    int zlevel;           /* ... at this level */
    /* An exporter (otlp.h), or none: units as they finish (lib/run.h's ft_run_opts), runs
     * once finished and written. */
    size_t span_limit;
    void (*on_unit)(void *ctx, const struct ft_run *r, const struct ft_unit_export *u);
    void (*on_run)(void *ctx, struct ft_run *r);
    void *ctx;
    int sampling; /* FLOWTRACE_SAMPLE: lib/run.h's ft_run_opts.sampling, sample_ppm */
    uint32_t sample_ppm;
    int parent_fd; /* >= 0: a pipe from the process that started the writer
                           * (flowtrace-run): 'q' then its end asks for an orderly stop,
                           * as SIGTERM does; its end alone means that process died: the
                           * writer serves on until no process is connected for
                           * idle_exit seconds (2 if not set), then stops */
};

/* Binds and listens (before any fork, so a detaching writer is ready when its parent
 * exits). Returns 0 or a negative libuv/errno code. */
int ft_server_listen(uv_loop_t *loop, const struct ft_server_opts *opts);

/* Sets the writer's TSC calibration for runs accepted from now on. */
void ft_server_set_rate(double ns_per_tick);

/* Sets the exporter for runs accepted from now on (the fields of ft_server_opts). */
void ft_server_set_exporter(size_t span_limit,
                            void (*on_unit)(void *, const struct ft_run *,
                                            const struct ft_unit_export *),
                            void (*on_run)(void *, struct ft_run *), void *ctx);

/* Starts accepting and the signal/idle watchers. */
int ft_server_start(void);

/* Finishes every open run and closes every handle (after uv_run returns). */
void ft_server_close(void);

/* Counts of the server's life, for the exit status. */
unsigned ft_server_bad_streams(void);

/* Whether the process behind parent_fd died before asking the writer to stop. */
int ft_server_orphaned(void);

#endif
