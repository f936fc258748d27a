/* cmd_export.c - `flowtrace export`: a run as Chrome trace events (Perfetto) or as
 * OTLP/JSON (OpenTelemetry). */
#define _GNU_SOURCE
#include <getopt.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "export_otlp.h"
#include "export_pft.h"
#include "lib/json.h"
#include "lib/script.h"
#include "pyval.h"
#include "skel.h"
#include "spool.h"
#include "tree.h"
#include "units.h"
#include "view.h"
#include "walk.h"

static const char export_usage[] =
    "usage: flowtrace export [-d DIR] --format chrome|otlp|pytraceflow [-o FILE]\n"
    "                        [--unit ID|NAME] [RUN]\n"
    "\n"
    "Writes RUN (default: the latest run), or one of its units, in another tool's format:\n"
    "  chrome       Chrome trace event JSON: one complete (\"X\") event per call on its\n"
    "               thread's track (asyncio tasks and generators that ran concurrently on\n"
    "               tracks of their own), arguments, result and exception in \"args\".\n"
    "               Open it in https://ui.perfetto.dev or chrome://tracing.\n"
    "  otlp         OpenTelemetry OTLP/JSON (JSON lines of TracesData), for a Collector's\n"
    "               otlpjsonfile receiver: one span per call under one span for the\n"
    "               process, code.* attributes, exception events, status ERROR on calls\n"
    "               that raised.\n"
    "  pytraceflow  the PyTraceFlow seed's hierarchical JSON (callable, module, called,\n"
    "               caller, instance_id, inputs, inputs_after, output, error, duration_ms,\n"
    "               memory_before/after, calls), for its HTML viewer and PyCharm plugin.\n"
    "\n"
    "  -d, --dir DIR       output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  -f, --format FMT    chrome, otlp or pytraceflow\n"
    "  -o, --output FILE   where to write (default: standard output)\n"
    "  --unit ID|NAME      one unit of work of the run (a test, a request) instead\n"
    "  --service NAME      otlp: service.name of the resource (default: the script)\n"
    "  -h, --help          show this help\n";

/* Tracks of the lanes of concurrent calls: ids far above any OS thread id (pid_max is at
 * most 2^22), a block per thread. */
#define CHROME_LANE_TIDS        (1ull << 30)
#define CHROME_LANES_PER_THREAD 65536u

struct exporter {
    const struct ft_tree *t;
    struct ft_skel *s;     /* chrome: the run's skeleton (skel.h) */
    struct ft_spool spool; /* chrome: the calls' events until they are written */
    struct ft_buf rec;     /* chrome: one call's */
    struct ft_out o;
    const char *service;
    char script[256];
};

/* What a person calls the program ("app.py", "-m pytest"): the writer's own rule, which
 * the runs index also uses, over the NUL-separated command line it expects. */
static void
script_name(const struct ft_tree *t, char *out, size_t cap)
{
    struct ft_buf argv;

    ft_buf_init(&argv);
    for (size_t i = 0; i < t->argc; i++) {
        ft_buf_put(&argv, t->argv[i], strlen(t->argv[i]) + 1);
    }
    ft_script_name(argv.oom ? NULL : argv.p, argv.oom ? 0 : argv.len, out, cap);
    ft_buf_free(&argv);
}

static void
put_key(struct ft_buf *b, const char *k)
{
    ft_json_put_cstr(b, k);
    ft_buf_putc(b, ':');
}

/* ---- Chrome trace events ------------------------------------------------------------ */

/* A value: format 3's JSON as it is, a described value as its repr (Chrome's args take
 * any JSON); an older run's repr string as it is. */
static void
chrome_value(struct ft_buf *b, int format, const char *v)
{
    if (format < 3 || ft_pyval_plain(b, v, strlen(v)) != 0) {
        ft_json_put_cstr(b, v);
    }
}

/* ,"key":{"name":"value",...} */
static void
chrome_arg_map(struct ft_buf *b, int format, const char *key, const struct ft_arg *a, uint32_t n)
{
    ft_buf_putc(b, ',');
    put_key(b, key);
    ft_buf_putc(b, '{');
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0) {
            ft_buf_putc(b, ',');
        }
        put_key(b, a[i].name ? a[i].name : "?");
        chrome_value(b, format, a[i].value ? a[i].value : "");
    }
    ft_buf_putc(b, '}');
}

/* Inside a call's "exception": where it was raised, the line it left the call at, its
 * causes, as tree.json has them. */
static void
chrome_postmortem(struct ft_buf *b, const struct ft_node_extra *x)
{
    if (x == NULL) {
        return;
    }
    if (x->raise != NULL) {
        ft_buf_printf(b, ",\"raise\":%s", x->raise);
    }
    if (x->left_at > 0) {
        ft_buf_printf(b, ",\"leftAt\":%u", x->left_at);
    }
    if (x->cause != NULL) {
        ft_buf_printf(b, ",\"cause\":%s", x->cause);
    }
}

static void
chrome_args(struct ft_buf *b, int format, const struct ft_node *n)
{
    const struct ft_node_extra *x = n->x;

    ft_buf_puts(b, ",\"args\":{\"module\":");
    ft_json_put_cstr(b, n->module ? n->module : "");
    ft_buf_puts(b, ",\"file\":");
    ft_json_put_cstr(b, n->file ? n->file : "");
    ft_buf_printf(b, ",\"line\":%u,\"id\":%llu", n->line, (unsigned long long)n->id);
    if (x != NULL && x->have_args) {
        chrome_arg_map(b, format, "args", x->args, x->nargs);
    }
    if (x != NULL && x->nafter > 0) {
        chrome_arg_map(b, format, "argsAfter", x->after, x->nafter);
    }
    if (x != NULL && x->instance != NULL) {
        ft_buf_puts(b, ",\"instance\":");
        ft_json_put_cstr(b, x->instance);
    }
    if (x != NULL && x->result != NULL) {
        ft_buf_puts(b, ",\"result\":");
        chrome_value(b, format, x->result);
    }
    if (n->exc_type != NULL) {
        ft_buf_puts(b, ",\"exception\":{\"type\":");
        ft_json_put_cstr(b, n->exc_type);
        ft_buf_puts(b, ",\"message\":");
        ft_json_put_cstr(b, n->exc_msg ? n->exc_msg : "");
        chrome_postmortem(b, x);
        ft_buf_putc(b, '}');
    }
    if (x != NULL && x->locals != NULL) {
        ft_buf_puts(b, ",\"locals\":");
        if (format < 3 || ft_pyval_plain_map(b, x->locals, strlen(x->locals)) != 0) {
            ft_buf_puts(b, x->locals);
        }
    }
    if (n->incomplete != NULL) {
        ft_buf_puts(b, ",\"incomplete\":");
        ft_json_put_cstr(b, n->incomplete);
    }
    if (x != NULL && x->resumes > 0) {
        ft_buf_printf(b, ",\"resumes\":%llu", (unsigned long long)x->resumes);
    }
    ft_buf_puts(b, "}}");
}

static void
chrome_meta(struct ft_buf *b, uint64_t pid, uint64_t tid, const char *name, const char *key,
            const char *value, long number)
{
    ft_buf_printf(b, ",\n{\"ph\":\"M\",\"pid\":%llu,\"tid\":%llu,\"name\":\"%s\",\"args\":{\"%s\":",
                  (unsigned long long)pid, (unsigned long long)tid, name, key);
    if (value != NULL) {
        ft_json_put_cstr(b, value);
    } else {
        ft_buf_printf(b, "%ld", number);
    }
    ft_buf_puts(b, "}}");
}

/* The track of a lane: the thread's own for lane 0; for a lane of calls that ran
 * concurrently with the thread's (asyncio tasks, generators), a track of its own, named
 * after the thread and sorted right after it. */
static uint64_t
chrome_lane_track(struct ft_buf *b, const struct exporter *e, const struct ft_skel_thread *th,
                  size_t ti, const struct ft_walk_call *c)
{
    const char *thread = th->name ? th->name : "?";
    uint64_t tid;

    if (c->lane == 0) {
        return th->tid;
    }
    tid = CHROME_LANE_TIDS + (uint64_t)ti * CHROME_LANES_PER_THREAD +
          c->lane % CHROME_LANES_PER_THREAD;
    if (c->new_lane) {
        char name[512];
        const char *ran = c->n->x != NULL ? c->n->x->thread : NULL;
        if (ran != NULL) { /* work handed to another thread: named after where it ran */
            snprintf(name, sizeof(name), "%s · in %s (%u)", thread, ran, c->lane);
        } else if (c->n->x != NULL && c->n->x->task) {
            snprintf(name, sizeof(name), "%s · task %u", thread, c->lane);
        } else {
            snprintf(name, sizeof(name), "%s · concurrent %u", thread, c->lane);
        }
        chrome_meta(b, e->t->pid, tid, "thread_name", "name", name, 0);
        chrome_meta(b, e->t->pid, tid, "thread_sort_index", "sort_index", NULL,
                    (long)(ti * CHROME_LANES_PER_THREAD + c->lane));
    }
    return tid;
}

/* A call, complete (skel.h): its event, after its lane's track when it opens one, kept in
 * the spool until the calls are written in pre-order. */
static int
chrome_call(void *ctx, size_t ti, uint32_t k, struct ft_node *n)
{
    struct exporter *e = ctx;
    struct ft_buf *b = &e->rec;
    struct ft_walk_call c = {.n = n,
                             .lane = e->s->lane[k],
                             .new_lane = (e->s->flags[k] & FT_SKEL_NEW_LANE) != 0,
                             .start_ns = e->s->start_ns[k],
                             .end_ns = e->s->end_ns[k]};
    uint64_t tid;

    b->len = 0;
    tid = chrome_lane_track(b, e, &e->s->threads[ti], ti, &c);
    ft_buf_puts(b, ",\n{\"ph\":\"X\",\"name\":");
    ft_json_put_cstr(b, n->function ? n->function : "?");
    ft_buf_puts(b, ",\"cat\":");
    ft_json_put_cstr(b, n->module ? n->module : "");
    ft_buf_printf(b, ",\"pid\":%llu,\"tid\":%llu,\"ts\":", (unsigned long long)e->t->pid,
                  (unsigned long long)tid);
    ft_buf_put_milli(b, (uint64_t)c.start_ns);
    ft_buf_puts(b, ",\"dur\":");
    ft_buf_put_milli(b, (uint64_t)(c.end_ns - c.start_ns));
    chrome_args(b, e->t->format, n);
    return b->oom ? -ENOMEM : ft_spool_put(&e->spool, k, b->p, b->len);
}

/* The run's calls, streamed twice (skel.h): their records are spooled as they complete,
 * then written thread by thread in pre-order. */
static int
export_chrome(struct exporter *e)
{
    const struct ft_tree *t = e->t;
    const struct ft_skel_visit visit = {e, chrome_call};
    struct ft_buf *b = &e->o.b;
    char pname[512];
    int rc;

    if ((rc = ft_spool_open(&e->spool, e->s->n)) != 0) {
        ft_cli_err("export", "a temporary file: %s", strerror(-rc));
        return FT_EXIT_FAIL;
    }
    if ((rc = ft_skel_stream("export", e->s, FT_TREE_JSON_VALUES, &visit)) != FT_EXIT_OK) {
        return rc;
    }
    snprintf(pname, sizeof(pname), "%s (run %s)", e->script, t->run);
    ft_buf_printf(b, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"run\":");
    ft_json_put_cstr(b, t->run);
    ft_buf_printf(b, ",\"startMicros\":%.0f,\"python\":", t->start_us);
    ft_json_put_cstr(b, t->python ? t->python : "");
    ft_buf_puts(b, "},\n\"traceEvents\":[");
    ft_buf_printf(b,
                  "{\"ph\":\"M\",\"pid\":%llu,\"tid\":%llu,\"name\":\"process_name\","
                  "\"args\":{\"name\":",
                  (unsigned long long)t->pid, (unsigned long long)t->pid);
    ft_json_put_cstr(b, pname);
    ft_buf_puts(b, "}}");
    for (size_t i = 0; i < e->s->nthreads && rc == 0; i++) {
        const struct ft_skel_thread *th = &e->s->threads[i];
        chrome_meta(b, t->pid, th->tid, "thread_name", "name", th->name ? th->name : "?", 0);
        chrome_meta(b, t->pid, th->tid, "thread_sort_index", "sort_index", NULL,
                    (long)(i * CHROME_LANES_PER_THREAD));
        for (size_t j = 0; j < th->ncalls && rc == 0; j++) {
            rc = ft_spool_get(&e->spool, e->s->order[th->order + j], b);
            ft_cli_out_flush(&e->o, 0);
        }
    }
    ft_buf_puts(b, "\n]}\n");
    if (rc != 0) {
        ft_cli_err("export", "the temporary file: %s", strerror(-rc));
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}

/* Writes the loaded (or, for chrome, skeleton) run e->t in format to output. */
static int
write_export(struct exporter *e, const char *format, const char *output)
{
    int rc, ok;

    if ((rc = ft_cli_out_open("export", output, &e->o)) != FT_EXIT_OK) {
        return rc;
    }
    if (strcmp(format, "chrome") == 0) {
        ok = export_chrome(e) == FT_EXIT_OK;
    } else {
        ok = (strcmp(format, "otlp") == 0 ? ft_export_otlp(&e->o, e->t, e->script, e->service)
                                          : ft_export_pytraceflow(&e->o, e->t, e->script)) == 0;
        if (!ok) {
            ft_cli_err("export", "out of memory");
        }
    }
    return ft_cli_out_close("export", &e->o, ok);
}

int
ft_cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"service", required_argument, NULL, 's'},
                                             {"unit", required_argument, NULL, 'u'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL, *format = NULL, *output = "-", *unit = NULL;
    struct exporter e = {0};
    struct ft_skel s = {0};
    struct ft_tree *t;
    struct ft_view v;
    int opt, rc;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:f:o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 's':
            e.service = optarg;
            break;
        case 'u':
            unit = optarg;
            break;
        case 'h':
            fputs(export_usage, stdout);
            return FT_EXIT_OK;
        default:
            return ft_cli_bad_option("export", opt, argv);
        }
    }
    if (format == NULL || (strcmp(format, "chrome") != 0 && strcmp(format, "otlp") != 0 &&
                           strcmp(format, "pytraceflow") != 0)) {
        ft_cli_err("export",
                   "--format must be chrome, otlp or pytraceflow (see 'flowtrace export --help')");
        return FT_EXIT_USAGE;
    }
    if (argc - optind > 1) {
        ft_cli_err("export", "one RUN at most (see 'flowtrace export --help')");
        return FT_EXIT_USAGE;
    }
    /* The whole run, its units put back where they ran (view.h), or one unit. Chrome's
     * reads it twice (skel.h) and holds ~40 bytes a call; the others load it. */
    /* Values as the run has them: a format-3 run's stay typed in every format. */
    int chrome = strcmp(format, "chrome") == 0;
    rc = chrome ? ft_skel_build("export", ft_cli_dir(dir), optind < argc ? argv[optind] : NULL,
                                unit, &s, &v)
                : ft_view_load_flags("export", ft_cli_dir(dir), optind < argc ? argv[optind] : NULL,
                                     unit, FT_TREE_JSON_VALUES, &v);
    if (rc != FT_EXIT_OK) {
        ft_skel_free(&s);
        ft_view_free(&v);
        return rc;
    }
    t = v.t;
    e.t = t;
    e.s = &s;
    ft_buf_init(&e.rec);
    script_name(t, e.script, sizeof(e.script));
    rc = write_export(&e, format, output);
    ft_spool_close(&e.spool);
    ft_buf_free(&e.rec);
    ft_skel_free(&s);
    ft_view_free(&v);
    return rc;
}
