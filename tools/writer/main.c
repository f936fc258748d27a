/* main.c - flowtrace-writer: receives traced processes' streams and writes their runs.
 *
 *   flowtrace-writer --dir DIR --socket PATH [--runs-file F] [--idle-exit S]
 *                    [--drain-timeout S] [--keep-raw] [--detach] [--parent-fd FD]
 *                    [--otlp[=URL]]
 *   flowtrace-writer --dir DIR --convert STREAM.ftb [--run-id ID]
 *   flowtrace-writer --dir DIR --recover
 *
 * This is the only place that prints and chooses the exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "lib/clock.h"
#include "lib/dirs.h"
#include "lib/err.h"
#include "lib/index.h"
#include "lib/run.h"
#include "lib/script.h"
#include "lib/wire.h"
#include "otlp.h"
#include "runs.h"
#include "recover.h"
#include "server.h"
#include "replay.h"

static const char usage[] =
    "usage: flowtrace-writer --dir DIR --socket PATH [options]\n"
    "       flowtrace-writer --dir DIR --convert STREAM.ftb [--run-id ID]\n"
    "       flowtrace-writer --dir DIR --recover\n"
    "\n"
    "Receives the event streams of processes traced by libflowtrace.so and writes one\n"
    "run per process under DIR (events.jsonl, tree.json). Normally started by\n"
    "flowtrace-run, or by the library itself when preloaded without it.\n"
    "\n"
    "  --dir DIR            output directory (created if missing)\n"
    "  --socket PATH        Unix socket to listen on\n"
    "  --runs-file FILE     append one line per finished run to FILE\n"
    "  --idle-exit SECONDS  exit after this long without connections\n"
    "  --drain-timeout S    after SIGTERM, wait this long for processes still sending\n"
    "                       (default 30)\n"
    "  --keep-raw           also keep each run's raw stream as raw.ftb (.zst if compressed)\n"
    "  --compress           write events.jsonl.zst and tree.json.zst (zstd; also\n"
    "                       FLOWTRACE_COMPRESS=1)\n"
    "  --compress-level N   ... at zstd level N, -7 to 19 (default 1)\n"
    "  --detach             run in the background once the socket is ready\n"
    "  --parent-fd FD       a pipe from the process that started the writer: 'q' then\n"
    "                       its end stops the writer as SIGTERM does; its end alone (that\n"
    "                       process died) makes it leave once no process is connected,\n"
    "                       removing the runs file and the socket's directory if empty\n"
    "  --otlp[=URL]         send each finished unit and run to an OpenTelemetry\n"
    "                       collector (OTLP/HTTP JSON; also FLOWTRACE_OTLP=1|URL; the\n"
    "                       OTEL_EXPORTER_OTLP_* variables; docs/cli.md)\n"
    "  --convert FILE       write the run of a saved raw stream (raw.ftb[.zst]) and exit\n"
    "  --run-id ID          the run id to use with --convert\n"
    "  --recover            finish the runs a writer that died left in DIR (those whose\n"
    "                       process has ended); prints PATH TAB EVENTS TAB LOST for each\n"
    "  --null-sink          benchmarks only: receive and decode, write nothing\n"
    "  -h, --help           show this help\n"
    "  --version            print the version\n";

/* The one line of an error, then status, the exit status to return (lib/err.h). */
static int
fail(int status, const char *fmt, const char *arg, const char *why)
{
    fprintf(stderr, "flowtrace-writer: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, ": %s\n", why);
    return status;
}

static int
parse_seconds(const char *s, double *out)
{
    char *end;

    if (s == NULL) {
        return -1;
    }
    *out = strtod(s, &end);
    return *end == '\0' && *out >= 0 ? 0 : -1;
}

/* A zstd level: -7 (fastest) to 19. */
static int
parse_level(const char *s, int *out)
{
    char *end = NULL;
    long v = s != NULL ? strtol(s, &end, 10) : 0;

    if (s == NULL || *s == '\0' || *end != '\0' || v < -7 || v > 19) {
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Whether environment variable name is set to something other than "" or "0". */
static int
env_on(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

static int
parse_fd(const char *s)
{
    char *end;
    long fd;

    if (s == NULL) {
        return -1;
    }
    fd = strtol(s, &end, 10);
    return *end == '\0' && fd >= 0 && fd < 65536 && fcntl((int)fd, F_GETFD) >= 0 ? (int)fd : -1;
}

/* A writer whose parent (flowtrace-run) died removes what it was given to use in that
 * parent's private directory: nobody else will. */
static void
remove_orphaned(const struct ft_server_opts *opts)
{
    char dir[4096], *slash;

    if (opts->runs_file != NULL) {
        unlink(opts->runs_file);
    }
    snprintf(dir, sizeof(dir), "%s", opts->socket_path);
    slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        rmdir(dir); /* only if empty */
    }
}

/* Another user's directory could hold links or files prepared for the writer (and its
 * owner would read the runs): only the user's own is used. */
static int
own_dir(const char *path, char *why, size_t cap)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        snprintf(why, cap, "%s", strerror(errno));
        return -errno;
    }
    if (st.st_uid != geteuid()) {
        snprintf(why, cap, "it belongs to another user (uid %u)", (unsigned)st.st_uid);
        return -EPERM;
    }
    return 0;
}

static int
convert(const char *dir, const char *file, const char *run_id, double rate,
        const struct ft_server_opts *o)
{
    struct ft_run_opts ro = {.dir = dir,
                             .run_id = run_id,
                             .tsc_ns_per_tick = rate,
                             .compress = o->compress,
                             .zlevel = o->zlevel};
    struct ft_wire_decoder dec;
    struct ft_run *run = ft_run_new(&ro);
    struct ft_frame f;
    struct ft_run_info info;
    struct ft_replay in;
    int err = ft_replay_open(&in, file, 0);

    if (err != 0) {
        ft_run_free(run);
        return fail(FT_EXIT_FAIL, "cannot open '%s'", file, strerror(-err));
    }
    ft_wire_decoder_init(&dec);
    while (err == 0 && (err = (int)ft_replay_read(&in, &dec)) > 0) {
        err = 0;
        while (err == 0) {
            int rc = ft_wire_next_frame(&dec, &f);
            if (rc != 1) {
                err = rc < 0 ? rc : 0;
                break;
            }
            err = ft_run_frame(run, &f);
        }
    }
    if (err == 0 && ft_wire_decoder_pending(&dec) > 0) {
        err = FT_ETRUNCATED;
    }
    ft_replay_close(&in);
    ft_run_finish(run, FT_END_KILLED, err ? ft_strerror(err) : NULL);
    ft_run_get_info(run, &info);
    if (err != 0) {
        fprintf(stderr, "flowtrace-writer: %s: %s at byte %llu; every frame before it was kept\n",
                file, ft_strerror(err), (unsigned long long)ft_wire_decoder_offset(&dec));
    } else if (info.id != NULL) {
        printf("%s\n", info.path);
    }
    if (info.id != NULL) {
        char script[512], why[768];
        ft_script_name(info.argv, info.argv_len, script, sizeof(script));
        if (ft_index_put_run(dir, &info, script, why, sizeof(why)) != 0) {
            fprintf(stderr, "flowtrace-writer: run %s: not recorded in the runs index: %s\n",
                    info.id, why);
        }
    }
    ft_wire_decoder_close(&dec);
    ft_run_free(run);
    return err != 0 ? 1 : 0;
}

static int recover_failures;

static void
report_recovered(const struct ft_recovered *r)
{
    if (r->running) {
        return; /* its process still runs: not ours to finish */
    }
    if (r->err != 0) {
        fprintf(stderr, "flowtrace-writer: cannot rebuild run %s: %s\n", r->path,
                ft_strerror(r->err));
        recover_failures++;
        return;
    }
    printf("%s\t%llu\t%llu\n", r->path, r->events, r->lost);
}

/* Forks: the parent exits once the socket is listening, the child serves. */
static void
detach(uv_loop_t *loop)
{
    pid_t pid = fork();

    if (pid < 0) {
        return; /* serve in the foreground */
    }
    if (pid > 0) {
        _exit(0);
    }
    setsid();
    uv_loop_fork(loop);
}

static void
export_run(void *ctx, struct ft_run *r)
{
    (void)ctx;
    ft_otlp_run(r);
}

/* Live OpenTelemetry export (otlp.h), if --otlp (url) or FLOWTRACE_OTLP asks for it: a
 * bad setting costs the export only. */
static void
start_export(uv_loop_t *loop, const char *url)
{
    char why[512] = "";
    int rc = ft_otlp_start(loop, url, why, sizeof(why));

    if (rc < 0) {
        fprintf(stderr, "flowtrace-writer: OTLP export off: %s\n", why);
    } else if (rc > 0) {
        ft_server_set_exporter(ft_otlp_span_limit(), ft_otlp_unit, export_run, NULL);
    }
}

/* FLOWTRACE_SAMPLE=RATE: keep the trees of that fraction of the units that did not fail
 * (every failed one's too). A bad value is said, and every unit is kept as --keep says. */
static void
read_sample(struct ft_server_opts *opts)
{
    const char *v = getenv("FLOWTRACE_SAMPLE");
    char *end;
    double rate;

    if (v == NULL || v[0] == '\0') {
        return;
    }
    rate = strtod(v, &end);
    if (*end != '\0' || !(rate >= 0 && rate <= 1)) {
        fprintf(stderr,
                "flowtrace-writer: bad FLOWTRACE_SAMPLE '%s': not a rate from 0 to 1; units are "
                "kept as --keep says\n",
                v);
        return;
    }
    opts->sampling = 1;
    opts->sample_ppm = (uint32_t)(rate * 1e6 + 0.5);
}

/* What a writer's process needs whatever it does. */
static void
prepare_process(struct ft_server_opts *opts)
{
    struct sigaction old;
    struct rlimit rl;

    /* A process may go away before reading its ACK: that must not kill the writer and
     * every other run with it. A file over RLIMIT_FSIZE is an output error (EFBIG) for
     * that run, not the end of the writer. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    opts->ignore_sigint = sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler == SIG_IGN;
    /* Each traced process holds a few descriptors here (socket, journal, outputs). */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* What the command line asks for besides the server's options. */
struct args {
    const char *convert_file, *run_id, *otlp_url;
    int detach, recover;
};

/* The long options parse_args reads. */
static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"socket", required_argument, NULL, 's'},
                                         {"runs-file", required_argument, NULL, 'r'},
                                         {"idle-exit", required_argument, NULL, 'i'},
                                         {"drain-timeout", required_argument, NULL, 't'},
                                         {"keep-raw", no_argument, NULL, 'k'},
                                         {"compress", no_argument, NULL, 'z'},
                                         {"compress-level", required_argument, NULL, 'Z'},
                                         {"detach", no_argument, NULL, 'D'},
                                         {"convert", required_argument, NULL, 'c'},
                                         {"run-id", required_argument, NULL, 'R'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"null-sink", no_argument, NULL, 'N'},
                                         {"recover", no_argument, NULL, 'C'},
                                         {"otlp", optional_argument, NULL, 'O'},
                                         {"parent-fd", required_argument, NULL, 'P'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};

/* Reads the options into opts and a. Returns -1 to go on, else the exit status. */
static int
parse_args(int argc, char **argv, struct ft_server_opts *opts, struct args *a)
{
    int opt;

    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            opts->dir = optarg;
            break;
        case 's':
            opts->socket_path = optarg;
            break;
        case 'r':
            opts->runs_file = optarg;
            break;
        case 'i':
            if (parse_seconds(optarg, &opts->idle_exit) != 0) {
                return fail(FT_EXIT_USAGE, "bad --idle-exit '%s'", optarg,
                            "not a number of seconds");
            }
            break;
        case 't':
            if (parse_seconds(optarg, &opts->drain_timeout) != 0) {
                return fail(FT_EXIT_USAGE, "bad --drain-timeout '%s'", optarg,
                            "not a number of seconds");
            }
            break;
        case 'k':
            opts->keep_raw = 1;
            break;
        case 'z': /* --compress */
        case 'Z': /* --compress-level N */
            opts->compress = 1;
            if (opt == 'Z' && parse_level(optarg, &opts->zlevel) != 0) {
                return fail(FT_EXIT_USAGE, "bad --compress-level '%s'", optarg,
                            "not a zstd level (-7..19)");
            }
            break;
        case 'D':
            a->detach = 1;
            break;
        case 'c':
            a->convert_file = optarg;
            break;
        case 'R':
            a->run_id = optarg;
            break;
        case 'N':
            opts->null_sink = 1;
            break;
        case 'C':
            a->recover = 1;
            break;
        case 'O':
            a->otlp_url = optarg != NULL ? optarg : ""; /* "": the OTEL_* variables say where */
            break;
        case 'P':
            opts->parent_fd = parse_fd(optarg);
            if (opts->parent_fd < 0) {
                return fail(FT_EXIT_USAGE, "bad --parent-fd '%s'", optarg,
                            "not an open descriptor");
            }
            break;
        case 'h':
            fputs(usage, stdout);
            return FT_EXIT_OK;
        case 'V':
            printf("flowtrace-writer %s\n", FT_VERSION);
            return FT_EXIT_OK;
        default:
            fputs(usage, stderr);
            return FT_EXIT_USAGE;
        }
    }
    if (opts->dir == NULL ||
        (a->convert_file == NULL && !a->recover && opts->socket_path == NULL) || optind != argc) {
        fputs(usage, stderr);
        return FT_EXIT_USAGE;
    }
    return -1;
}

int
main(int argc, char **argv)
{
    struct ft_server_opts opts = {0};
    struct args a = {0};
    int err, clock_kind;
    uv_loop_t *loop = uv_default_loop();

    opts.drain_timeout = 30;
    opts.parent_fd = -1;
    opts.zlevel = FT_ZLEVEL_DEFAULT;
    /* The library's setting, for a writer it started (or the wrapper's, passed on). */
    opts.compress = env_on("FLOWTRACE_COMPRESS");
    prepare_process(&opts);
    read_sample(&opts);
    if ((err = parse_args(argc, argv, &opts, &a)) >= 0) {
        return err;
    }
    if ((err = ft_dirs_make(opts.dir)) != 0 ||
        (err = access(opts.dir, W_OK | X_OK) == 0 ? 0 : -errno) != 0) {
        return fail(FT_EXIT_FAIL, "cannot use output directory '%s'", opts.dir, strerror(-err));
    }
    {
        char why[128];
        if (own_dir(opts.dir, why, sizeof(why)) != 0) {
            return fail(FT_EXIT_FAIL, "cannot use output directory '%s'", opts.dir, why);
        }
    }
    clock_kind = ft_clock_tsc_usable() ? FT_CLOCK_TSC : FT_CLOCK_MONOTONIC;
    if (a.convert_file != NULL) {
        return convert(opts.dir, a.convert_file, a.run_id, ft_clock_calibrate(clock_kind, 20),
                       &opts);
    }
    if (a.recover) {
        err = ft_recover_dir(opts.dir, ft_clock_calibrate(clock_kind, 20), report_recovered);
        if (err < 0) {
            return fail(FT_EXIT_FAIL, "cannot read '%s'", opts.dir, strerror(-err));
        }
        return recover_failures > 0 ? FT_EXIT_FAIL : FT_EXIT_OK;
    }
    if ((err = ft_server_listen(loop, &opts)) != 0) {
        if (err == UV_EADDRINUSE) {
            return FT_EXIT_OK; /* another writer serves this socket: nothing to do */
        }
        return fail(FT_EXIT_FAIL, "cannot listen on '%s'", opts.socket_path, uv_strerror(err));
    }
    if (a.detach) {
        detach(loop);
    }
    start_export(loop, a.otlp_url);
    /* Measure the time-stamp counter once; runs refine it with their own anchors. */
    opts.tsc_ns_per_tick = ft_clock_calibrate(clock_kind, 20);
    ft_server_set_rate(opts.tsc_ns_per_tick);
    ft_server_start();
    uv_run(loop, UV_RUN_DEFAULT);
    ft_server_close();
    ft_otlp_stop(); /* after the last run: what is left gets its last chance */
    uv_loop_close(loop);
    if (ft_server_orphaned()) {
        remove_orphaned(&opts);
    }
    return ft_server_bad_streams() > 0 ? FT_EXIT_FAIL : FT_EXIT_OK;
}
