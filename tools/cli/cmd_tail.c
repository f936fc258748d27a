/* cmd_tail.c - `flowtrace tail`: a run's calls and units of work as they happen.
 *
 * Reads the run's events.jsonl and units.jsonl (plain or zstd, through lib/rfile.h) as
 * whole lines; with -f it keeps reading what the writer adds, every quarter of a second,
 * until the run is complete. Units of work (tests, requests) write their calls to their
 * own units/ID/events.jsonl: tail follows each while the unit runs, and prints the
 * unit's line when it has finished. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "cli.h"
#include "lib/rfile.h"
#include "pyval.h"
#include "term.h"
#include "tree.h"

#define POLL_NS    250000000L /* the writer writes its files every 0.25 s */
#define VALUE_MAX  80         /* characters of an argument or result shown */
#define FOLLOW_MAX 4096       /* units' files followed at once */

static const char tail_usage[] =
    "usage: flowtrace tail [-d DIR] [-f] [-n N] [--units] [RUN]\n"
    "\n"
    "Prints the last calls of RUN (default: the latest run, finished or still going) as\n"
    "they ended or started, and its finished units of work (tests, requests) with their\n"
    "outcome; with -f, goes on printing them as they happen until the run is complete\n"
    "(the writer puts every event on disk about a second after it happened).\n"
    "\n"
    "  -d, --dir DIR     output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  -f, --follow      keep printing as the run goes on, until it is complete\n"
    "  -n, --lines N     start with the last N lines (default 20; 0: from the start)\n"
    "  --units           units of work only, no calls\n"
    "  -h, --help        show this help\n";

/* A JSONL file read line by line as it grows. */
struct follow {
    char dir[PATH_MAX];
    const char *name;
    struct ft_rfile *f;
    struct ft_buf part; /* a line not yet whole */
    int unit;           /* a unit's events.jsonl (dropped once the unit has its line) */
    uint64_t unit_id;
};

struct tail {
    int units_only;
    size_t keep;   /* while reading what was there: only the last keep lines are kept (0: all) */
    uint8_t *seen; /* by unit id: its events file was found (followed, or there before) */
    size_t seen_cap;
    struct follow *files;
    size_t n;
    struct ft_buf out;
    char lines_dir[PATH_MAX]; /* the run's directory */
    int format;               /* the run's output format: how its values read */
};

static const char *
str_at(yajl_val v, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val s = yajl_tree_get(v, path, yajl_t_string);

    return s != NULL ? YAJL_GET_STRING(s) : NULL;
}

static double
num_at(yajl_val v, const char *key, double otherwise)
{
    const char *path[] = {key, NULL};
    yajl_val n = yajl_tree_get(v, path, yajl_t_number);

    return n != NULL ? YAJL_GET_DOUBLE(n) : otherwise;
}

/* HH:MM:SS.mmm of microseconds since the epoch, local time. */
static void
put_time(struct ft_buf *b, double us)
{
    time_t sec = (time_t)(us / 1e6);
    struct tm tm;
    char text[32];

    localtime_r(&sec, &tm);
    strftime(text, sizeof(text), "%H:%M:%S", &tm);
    ft_buf_printf(b, "%s.%03d ", text, (int)((uint64_t)(us / 1000) % 1000));
}

/* A parsed JSON value written back as JSON text. */
static void
gen_value(yajl_gen g, yajl_val v)
{
    if (YAJL_IS_OBJECT(v)) {
        yajl_gen_map_open(g);
        for (size_t i = 0; i < v->u.object.len; i++) {
            yajl_gen_string(g, (const unsigned char *)v->u.object.keys[i],
                            strlen(v->u.object.keys[i]));
            gen_value(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
    } else if (YAJL_IS_ARRAY(v)) {
        yajl_gen_array_open(g);
        for (size_t i = 0; i < v->u.array.len; i++) {
            gen_value(g, v->u.array.values[i]);
        }
        yajl_gen_array_close(g);
    } else if (YAJL_IS_STRING(v) || YAJL_IS_NUMBER(v)) {
        const char *text = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : YAJL_GET_NUMBER(v);
        size_t n = text != NULL ? strlen(text) : 0;
        if (YAJL_IS_STRING(v)) {
            yajl_gen_string(g, (const unsigned char *)(text != NULL ? text : ""), n);
        } else {
            yajl_gen_number(g, text != NULL ? text : "0", text != NULL ? n : 1);
        }
    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        yajl_gen_bool(g, YAJL_IS_TRUE(v));
    } else {
        yajl_gen_null(g);
    }
}

/* A value as shown (tools/cli/pyval.h): an older run's repr string as it is. */
static void
put_value(struct ft_buf *b, int format, yajl_val v, size_t max)
{
    struct ft_buf text;
    yajl_gen g;
    const unsigned char *json;
    size_t len;

    if (format < 3 || v == NULL) {
        const char *s = YAJL_GET_STRING(v); /* NULL unless a string */
        ft_term_put(b, s != NULL ? s : "?", max);
        return;
    }
    ft_buf_init(&text);
    if ((g = yajl_gen_alloc(NULL)) != NULL) {
        gen_value(g, v);
        yajl_gen_get_buf(g, &json, &len);
        ft_pyval_show(&text, (const char *)json, len);
        yajl_gen_free(g);
    }
    ft_buf_putc(&text, '\0');
    ft_term_put(b, text.oom ? "?" : text.p, max);
    ft_buf_free(&text);
}

/* (name=value, ...) of an args object. */
static void
put_args(struct ft_buf *b, int format, yajl_val args)
{
    ft_buf_putc(b, '(');
    for (size_t i = 0; YAJL_IS_OBJECT(args) && i < args->u.object.len; i++) {
        yajl_val v = args->u.object.values[i];
        if (i > 0) {
            ft_buf_puts(b, ", ");
        }
        ft_term_put(b, args->u.object.keys[i], VALUE_MAX);
        ft_buf_putc(b, '=');
        put_value(b, format, v, VALUE_MAX);
    }
    ft_buf_putc(b, ')');
}

/* One line of events.jsonl: "12:00:01.234 MainThread  -> f(x=1)" and the like. */
static void
put_event(struct ft_buf *b, int format, yajl_val e)
{
    const char *kind = str_at(e, "event"), *fn = str_at(e, "function");

    if (kind == NULL || fn == NULL) {
        return;
    }
    put_time(b, num_at(e, "timestamp", 0));
    ft_term_put(b, str_at(e, "thread") ? str_at(e, "thread") : "?", 24);
    if (strcmp(kind, "ENTER") == 0) {
        ft_buf_puts(b, "  -> ");
        ft_term_put(b, fn, 0);
        const char *ap[] = {"args", NULL};
        put_args(b, format, yajl_tree_get(e, ap, yajl_t_object));
    } else {
        const char *path[] = {"exception", NULL}, *rpath[] = {"result", NULL};
        yajl_val result = yajl_tree_get(e, rpath, yajl_t_any);
        char dur[32];
        ft_cli_fmt_duration(num_at(e, "durationMicros", 0), dur, sizeof(dur));
        ft_buf_puts(b, strcmp(kind, "EXCEPTION") == 0 ? "  !! " : "  <- ");
        ft_term_put(b, fn, 0);
        yajl_val exc = yajl_tree_get(e, path, yajl_t_object);
        if (strcmp(kind, "EXCEPTION") == 0 && exc != NULL) {
            ft_buf_puts(b, " raised ");
            ft_term_put(b, str_at(exc, "type") ? str_at(exc, "type") : "?", 0);
            if (str_at(exc, "message") != NULL && str_at(exc, "message")[0] != '\0') {
                ft_buf_puts(b, ": ");
                ft_term_put(b, str_at(exc, "message"), VALUE_MAX);
            }
        } else if (result != NULL && (format >= 3 || YAJL_IS_STRING(result))) {
            ft_buf_puts(b, " = ");
            put_value(b, format, result, VALUE_MAX);
        }
        ft_buf_printf(b, "  %s", dur);
        if (str_at(e, "incomplete") != NULL) {
            ft_buf_puts(b, " (incomplete: ");
            ft_term_put(b, str_at(e, "incomplete"), 0);
            ft_buf_putc(b, ')');
        }
    }
    ft_buf_putc(b, '\n');
}

/* One line of units.jsonl: "12:00:01.234 FAILED  tests/t.py::test_x  12.3ms  ValueError". */
static void
put_unit(struct ft_buf *b, yajl_val u)
{
    const char *outcome = str_at(u, "outcome"), *name = str_at(u, "name");
    const char *path[] = {"exception", NULL};
    yajl_val exc = yajl_tree_get(u, path, yajl_t_object);
    char dur[32], word[16];

    if (outcome == NULL || name == NULL) {
        return;
    }
    ft_cli_fmt_duration(num_at(u, "durationMicros", 0), dur, sizeof(dur));
    snprintf(word, sizeof(word), "%s", outcome);
    for (char *p = word; *p; p++) {
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    }
    put_time(b, num_at(u, "start", 0) + num_at(u, "durationMicros", 0));
    ft_buf_printf(b, "%-7s ", word);
    ft_term_put(b, name, 0);
    ft_buf_printf(b, "  %s", dur);
    if (exc != NULL && str_at(exc, "type") != NULL) {
        ft_buf_puts(b, "  ");
        ft_term_put(b, str_at(exc, "type"), 0);
        if (str_at(exc, "message") != NULL && str_at(exc, "message")[0] != '\0') {
            ft_buf_puts(b, ": ");
            ft_term_put(b, str_at(exc, "message"), VALUE_MAX);
        }
    }
    if (str_at(u, "tree") != NULL) {
        ft_buf_puts(b, "  -> ");
        ft_term_put(b, str_at(u, "tree"), 0);
    }
    ft_buf_putc(b, '\n');
}

static struct follow *
add_file(struct tail *t, const char *dir, const char *name, int unit, uint64_t id)
{
    struct follow *nf;

    if (t->n == FOLLOW_MAX || (nf = realloc(t->files, (t->n + 1) * sizeof(*nf))) == NULL) {
        return NULL;
    }
    t->files = nf;
    nf = &t->files[t->n++];
    memset(nf, 0, sizeof(*nf));
    snprintf(nf->dir, sizeof(nf->dir), "%s", dir);
    nf->name = name;
    nf->unit = unit;
    nf->unit_id = id;
    ft_buf_init(&nf->part);
    return nf;
}

/* Whether unit id was seen before; it is from now on. */
static int
seen_before(struct tail *t, uint64_t id)
{
    if (id >= t->seen_cap) {
        size_t cap = t->seen_cap ? t->seen_cap : 1024;
        while (cap <= id && cap < (1u << 26)) {
            cap *= 2;
        }
        uint8_t *ns = id < cap ? realloc(t->seen, cap) : NULL;
        if (ns == NULL) {
            return 1; /* not followed: no room to remember it */
        }
        memset(ns + t->seen_cap, 0, cap - t->seen_cap);
        t->seen = ns;
        t->seen_cap = cap;
    }
    if (t->seen[id]) {
        return 1;
    }
    t->seen[id] = 1;
    return 0;
}

/* Units that began since the last look: their events.jsonl is followed while they run.
 * (Those there at the start are not: tail starts with the run's own lines.) */
static void
find_units(struct tail *t, int follow)
{
    char path[PATH_MAX + 16];
    struct dirent *de;
    DIR *d;

    snprintf(path, sizeof(path), "%s/units", t->lines_dir);
    if (t->units_only || (d = opendir(path)) == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char *end;
        uint64_t id = strtoull(de->d_name, &end, 10);
        if (de->d_name[0] == '.' || *end != '\0') {
            continue;
        }
        if (!seen_before(t, id) && follow) {
            char dir[PATH_MAX + 48];
            snprintf(dir, sizeof(dir), "%s/%llu", path, (unsigned long long)id);
            add_file(t, dir, "events.jsonl", 1, id);
        }
    }
    closedir(d);
}

/* A unit that has its line is done: its events file is read to its end and forgotten. */
static void
unit_done(struct tail *t, uint64_t id)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->files[i].unit && t->files[i].unit_id == id) {
            t->files[i].unit = 2; /* read what is left, then drop */
        }
    }
}

/* Drops all but the last t->keep lines of the output pending (a big run's first read
 * holds only what it prints). */
static void
trim_out(struct tail *t)
{
    size_t lines = 0;

    if (t->keep == 0 || t->out.len < (1u << 20)) {
        return;
    }
    for (size_t i = t->out.len; i > 0; i--) {
        if (t->out.p[i - 1] == '\n' && i != t->out.len && ++lines == t->keep) {
            memmove(t->out.p, t->out.p + i, t->out.len - i);
            t->out.len -= i;
            return;
        }
    }
}

/* The whole lines in f->part handed to the printers; what is left is a line not yet whole. */
static void
put_lines(struct tail *t, struct follow *f)
{
    size_t start = 0;

    for (size_t i = 0; i < f->part.len; i++) {
        if (f->part.p[i] != '\n') {
            continue;
        }
        f->part.p[i] = '\0';
        yajl_val v = yajl_tree_parse(f->part.p + start, NULL, 0);
        if (v != NULL) {
            if (strcmp(f->name, "units.jsonl") == 0) {
                put_unit(&t->out, v);
                unit_done(t, (uint64_t)num_at(v, "unit", 0));
            } else if (!t->units_only) {
                put_event(&t->out, t->format, v);
            }
            yajl_tree_free(v);
        }
        start = i + 1;
    }
    memmove(f->part.p, f->part.p + start, f->part.len - start);
    f->part.len -= start;
    trim_out(t);
}

/* What f holds now, a chunk at a time. */
static void
read_lines(struct tail *t, struct follow *f)
{
    char buf[1u << 16];
    ssize_t n;

    if (f->f == NULL && ft_rfile_open(&f->f, f->dir, f->name) != 0) {
        return;
    }
    while ((n = ft_rfile_read(f->f, buf, sizeof(buf))) > 0) {
        ft_buf_put(&f->part, buf, (size_t)n);
        put_lines(t, f);
    }
    ft_rfile_more(f->f);
}

static void
flush_out(struct tail *t, size_t keep_lines)
{
    const char *p = t->out.p, *end = t->out.p + t->out.len;

    if (keep_lines > 0) {
        /* Only the last keep_lines lines of what was read first. */
        size_t lines = 0;
        for (const char *q = end; q > p; q--) {
            if (q[-1] == '\n' && q != end && ++lines == keep_lines) {
                p = q;
                break;
            }
        }
    }
    fwrite(p, 1, (size_t)(end - p), stdout);
    fflush(stdout);
    t->out.len = 0;
}

static void
read_all(struct tail *t, int follow)
{
    find_units(t, follow);
    for (size_t i = 0; i < t->n; i++) {
        read_lines(t, &t->files[i]);
    }
    for (size_t i = 0; i < t->n;) {
        if (t->files[i].unit == 2) {
            read_lines(t, &t->files[i]);
            ft_rfile_close(t->files[i].f);
            ft_buf_free(&t->files[i].part);
            t->files[i] = t->files[--t->n];
        } else {
            i++;
        }
    }
}

/* The run's output format, from its tree's head (of a running run, its .live); a bare
 * events.jsonl with no tree around it is read as the current format. */
static int
run_format(const char *rundir)
{
    char path[PATH_MAX + 16], err[256];
    struct ft_tree *head = NULL;
    int format = 3;

    snprintf(path, sizeof(path), "%s/tree.json", rundir);
    if (ft_tree_load_header(path, &head, err, sizeof(err)) == 0) {
        format = head->format;
    }
    ft_tree_free(head);
    return format;
}

static int
tail_run(const char *rundir, int follow, long lines, int units_only)
{
    struct tail t = {.units_only = units_only, .keep = (size_t)lines};
    struct timespec pause = {0, POLL_NS};

    ft_buf_init(&t.out);
    snprintf(t.lines_dir, sizeof(t.lines_dir), "%s", rundir);
    t.format = run_format(rundir);
    if (!units_only) {
        add_file(&t, rundir, "events.jsonl", 0, 0);
    }
    add_file(&t, rundir, "units.jsonl", 0, 0);
    read_all(&t, 0);
    flush_out(&t, t.keep);
    t.keep = 0;
    while (follow) {
        int running = ft_rfile_state(rundir) == FT_RUN_RUNNING;
        nanosleep(&pause, NULL);
        read_all(&t, 1);
        flush_out(&t, 0);
        if (!running) {
            break; /* what was written before it ended has been read */
        }
    }
    for (size_t i = 0; i < t.n; i++) {
        ft_rfile_close(t.files[i].f);
        ft_buf_free(&t.files[i].part);
    }
    free(t.files);
    free(t.seen);
    ft_buf_free(&t.out);
    return FT_EXIT_OK;
}

int
ft_cmd_tail(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},   {"follow", no_argument, NULL, 'f'},
        {"lines", required_argument, NULL, 'n'}, {"units", no_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    char rundir[PATH_MAX];
    int opt, follow = 0, units_only = 0, rc;
    long lines = 20;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:fn:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'f':
            follow = 1;
            break;
        case 'n':
            if (ft_cli_parse_count(optarg, &lines) != 0) {
                ft_cli_err("tail", "bad --lines '%s': not a number of lines", optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 'u':
            units_only = 1;
            break;
        case 'h':
            fputs(tail_usage, stdout);
            return FT_EXIT_OK;
        default:
            return ft_cli_bad_option("tail", opt, argv);
        }
    }
    if (argc - optind > 1) {
        fputs(tail_usage, stderr);
        return FT_EXIT_USAGE;
    }
    rc = ft_cli_find_run("tail", ft_cli_dir(dir), optind < argc ? argv[optind] : NULL, rundir,
                         sizeof(rundir));
    if (rc != FT_EXIT_OK) {
        return rc;
    }
    return tail_run(rundir, follow, lines, units_only);
}
