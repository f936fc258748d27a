/* common.c - what every flowtrace command shares: run lookup, options, durations,
 * output files, and the one line an error prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "cli.h"
#include "lib/err.h"
#include "lib/json.h"
#include "lib/rfile.h"
#include "term.h"
#include "tree.h"

void
ft_cli_err(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "flowtrace %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int
ft_cli_bad_option(const char *cmd, int opt, char **argv)
{
    extern int optind, optopt;
    const char *arg = argv[optind - 1];

    if (opt == ':') {
        ft_cli_err(cmd, "option '%s' needs a value (see 'flowtrace %s --help')", arg, cmd);
    } else if (optopt != 0 && arg[0] == '-' && arg[1] != '-') {
        ft_cli_err(cmd, "unknown option '-%c' (see 'flowtrace %s --help')", optopt, cmd);
    } else {
        ft_cli_err(cmd, "unknown option '%s' (see 'flowtrace %s --help')", arg, cmd);
    }
    return FT_EXIT_USAGE;
}

/* -d DIR given before the command. */
static const char *global_dir;

void
ft_cli_set_dir(const char *dir)
{
    global_dir = dir;
}

const char *
ft_cli_dir(const char *opt)
{
    const char *env = getenv("FLOWTRACE_DIR");

    if (opt != NULL) {
        return opt;
    }
    if (global_dir != NULL) {
        return global_dir;
    }
    return env != NULL && *env ? env : "flowtrace-out";
}

int
ft_cli_color(const char *when)
{
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

    if (when == NULL || strcmp(when, "auto") == 0) {
        return isatty(1) && (no == NULL || *no == '\0') &&
               (term == NULL || strcmp(term, "dumb") != 0);
    }
    if (strcmp(when, "always") == 0) {
        return 1;
    }
    return strcmp(when, "never") == 0 ? 0 : -1;
}

int
ft_cli_parse_duration(const char *s, double *us)
{
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"", 1}, {"us", 1}, {"µs", 1}, {"ms", 1e3}, {"s", 1e6}, {"ns", 1e-3}};
    char *end;
    double v = strtod(s, &end);

    if (end == s || !isfinite(v) || v < 0) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            *us = v * units[i].scale;
            return 0;
        }
    }
    return -1;
}

int
ft_cli_parse_count(const char *s, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0') {
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || errno != 0) {
        return -1;
    }
    *out = v;
    return 0;
}

void
ft_cli_fmt_duration(double us, char *out, size_t cap)
{
    if (us < 1) {
        snprintf(out, cap, "%.0fns", us * 1e3);
    } else if (us < 1000) {
        snprintf(out, cap, "%.1fµs", us);
    } else if (us < 1e6) {
        snprintf(out, cap, "%.2fms", us / 1e3);
    } else {
        snprintf(out, cap, "%.3fs", us / 1e6);
    }
}

void
ft_cli_put_col(struct ft_buf *b, const char *s, int width)
{
    int chars = 0, w = width < 0 ? -width : width;

    for (const char *p = s; *p; p++) {
        chars += (*p & 0xc0) != 0x80;
    }
    if (width < 0) {
        ft_buf_puts(b, s);
    }
    for (int i = chars; i < w; i++) {
        ft_buf_putc(b, ' ');
    }
    if (width > 0) {
        ft_buf_puts(b, s);
    }
}

/* An argument as a shell would need it typed: as it is; in single quotes when it holds
 * anything special; as $'...' (bash, zsh, ksh) when it holds control characters, which
 * are then written as escapes (term.h) and cannot reach the terminal. */
static void
put_arg(struct ft_buf *b, const char *a)
{
    if (ft_term_needs_escape(a)) {
        ft_buf_puts(b, "$'");
        for (const char *p = a; *p; p++) {
            if (*p == '\'' || *p == '\\') {
                ft_buf_putc(b, '\\');
                ft_buf_putc(b, *p);
            } else {
                char one[2] = {*p, '\0'};
                ft_term_put(b, one, 0); /* a byte at a time: escapes as \xHH */
            }
        }
        ft_buf_putc(b, '\'');
        return;
    }
    if (*a != '\0' && strpbrk(a, " \t\n'\"\\$`*?[]{}()<>|&;!#~") == NULL) {
        ft_buf_puts(b, a);
        return;
    }
    ft_buf_putc(b, '\'');
    for (; *a; a++) {
        if (*a == '\'') {
            ft_buf_puts(b, "'\\''");
        } else {
            ft_buf_putc(b, *a);
        }
    }
    ft_buf_putc(b, '\'');
}

void
ft_cli_put_argv(struct ft_buf *b, const char *const *argv, size_t argc)
{
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i == 0 && strrchr(a, '/') != NULL) {
            a = strrchr(a, '/') + 1; /* the interpreter by its name */
        }
        if (i > 0) {
            ft_buf_putc(b, ' ');
        }
        put_arg(b, a);
    }
}

static int
is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* RUN given as a path: a run directory, or a tree.json. */
static int
run_from_path(const char *run, char *out, size_t cap)
{
    char tree[PATH_MAX + 16];
    size_t n = strlen(run);

    if (strchr(run, '/') == NULL) {
        return 0;
    }
    snprintf(tree, sizeof(tree), "%s/tree.json", run);
    if (is_file(tree) || ft_rfile_find(run, "tree.json", tree, sizeof(tree)) == 0 ||
        ft_rfile_state(run) == FT_RUN_RUNNING) {
        snprintf(out, cap, "%s", run);
        while (n > 1 && out[n - 1] == '/' && n <= cap) {
            out[--n] = '\0'; /* "out/RUN/" is "out/RUN" */
        }
        return 1;
    }
    if (n >= 9 && strcmp(run + n - 9, "tree.json") == 0 && is_file(run)) {
        snprintf(out, cap, "%.*s", (int)(strrchr(run, '/') - run), run);
        return 1;
    }
    return 0;
}

/* The catalog's one line about an index it could not read (it listed by scanning). */
static void
warn_index(const char *cmd, const struct ft_catalog *c)
{
    if (c->index_error != NULL) {
        ft_cli_err(cmd, "warning: %s; runs found by reading their directories", c->index_error);
    }
}

int
ft_cli_load_catalog(const char *cmd, const char *dir, struct ft_catalog *c)
{
    char err[1024];

    if (ft_catalog_load(dir, c, err, sizeof(err)) != 0) {
        ft_cli_err(cmd, "%s", err);
        return FT_EXIT_FAIL;
    }
    warn_index(cmd, c);
    return FT_EXIT_OK;
}

/* The process id in a run id (YYYYMMDD-HHMMSS-PID[.N]), or 0. */
static long
pid_of(const char *id)
{
    const char *p = strrchr(id, '-');
    char *end;
    long pid = p != NULL ? strtol(p + 1, &end, 10) : 0;

    return p != NULL && end != p + 1 && (*end == '\0' || *end == '.') && pid > 0 ? pid : 0;
}

/* The line for a run without a tree.json that reads: what is wrong with the file when
 * there is one; else whether its process still runs (its tree is written when it ends)
 * or the run was left unfinished (a writer that stopped: --recover finishes it). */
static void
not_complete(const char *cmd, const char *dir, const struct ft_run_entry *e)
{
    char tree[PATH_MAX + 16], err[PATH_MAX + 256];
    struct ft_tree *t = NULL;
    long pid = pid_of(e->id);

    snprintf(tree, sizeof(tree), "%s/tree.json", e->path);
    if (is_file(tree) && ft_tree_load_header(tree, &t, err, sizeof(err)) != 0) {
        ft_cli_err(cmd, "%s", err);
        return;
    }
    ft_tree_free(t); /* it reads now: finished since the catalog was made */
    if (e->nothing) {
        ft_cli_err(cmd,
                   "run %s recorded nothing: flowtrace-writer died after making %s and before "
                   "writing any of it ('flowtrace-writer --dir %s --recover' ends it as an "
                   "empty run)",
                   e->id, e->path, dir);
    } else if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
        ft_cli_err(cmd,
                   "run %s has not finished: process %ld is still running (its tree is "
                   "written when it ends)",
                   e->id, pid);
    } else {
        ft_cli_err(cmd,
                   "run %s did not finish: %s has no tree.json (if its writer stopped, "
                   "'flowtrace-writer --dir %s --recover' finishes it)",
                   e->id, e->path, dir);
    }
}

/* With no RUN given: a line when a newer run has not finished, so that the run shown is
 * not taken for the one still going. */
static void
note_newer_unfinished(const char *cmd, const struct ft_catalog *c, const struct ft_run_entry *e)
{
    /* An unfinished run's start is known to the second only (its id). */
    uint64_t second = e->start_us / 1000000u * 1000000u;

    for (size_t i = 0; i < c->n; i++) {
        const struct ft_run_entry *r = &c->runs[i];
        if (!r->complete && !r->running && r->start_us >= second) {
            ft_cli_err(cmd, "note: run %s has not finished; this is the latest complete run, %s",
                       r->id, e->id);
            return;
        }
    }
}

int
ft_cli_find_run_in(const char *cmd, const char *dir, const char *run, struct ft_catalog *c,
                   const struct ft_run_entry **e)
{
    char path[PATH_MAX + 16], err[PATH_MAX + 256];
    const char *slash;
    int rc;

    /* -d given a run's own directory (the path flowtrace-run prints) and no RUN: that
     * run, looked up in the directory it is in. */
    if (run == NULL) {
        static char given[PATH_MAX + 16];
        snprintf(given, sizeof(given), "%s%s", strchr(dir, '/') != NULL ? "" : "./", dir);
        run = run_from_path(given, path, sizeof(path)) ? given : NULL;
    }
    /* RUN given as a path: looked up in the directory it is in. */
    if (run != NULL && run_from_path(run, path, sizeof(path))) {
        slash = strrchr(path, '/');
        run = slash + 1;
        *(char *)slash = '\0';
        dir = path[0] != '\0' ? path : "/";
    }
    if ((rc = ft_cli_load_catalog(cmd, dir, c)) != FT_EXIT_OK) {
        return rc;
    }
    rc = ft_catalog_find(c, run, e, err, sizeof(err));
    if (rc != 0) {
        int newest = run == NULL && c->n > 0;
        ft_cli_err(cmd, "%s in %s%s%s%s", err, dir, newest ? " (run " : "",
                   newest ? c->runs[0].id : "",
                   !newest              ? ""
                   : c->runs[0].nothing ? " recorded nothing: its writer died)"
                                        : " has not finished)");
        ft_catalog_free(c);
        return rc == FT_EBADUSAGE ? FT_EXIT_USAGE : FT_EXIT_FAIL;
    }
    if (run == NULL) {
        note_newer_unfinished(cmd, c, *e);
    }
    if (!(*e)->complete && !(*e)->running) {
        not_complete(cmd, dir, *e);
        ft_catalog_free(c);
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}

int
ft_cli_find_run(const char *cmd, const char *dir, const char *run, char *out, size_t cap)
{
    const struct ft_run_entry *e;
    struct ft_catalog c;
    int rc = ft_cli_find_run_in(cmd, dir, run, &c, &e);

    if (rc == FT_EXIT_OK) {
        snprintf(out, cap, "%s", e->path);
        ft_catalog_free(&c);
    }
    return rc;
}

int
ft_cli_load_tree(const char *cmd, const char *dir, const char *run, struct ft_tree **t)
{
    char rundir[PATH_MAX], path[PATH_MAX + 16], err[PATH_MAX + 256];
    int rc = ft_cli_find_run(cmd, dir, run, rundir, sizeof(rundir));

    if (rc != FT_EXIT_OK) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/tree.json", rundir);
    if (ft_tree_load(path, t, err, sizeof(err)) != 0) {
        ft_cli_err(cmd, "%s", err);
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}

int
ft_cli_out_open(const char *cmd, const char *path, struct ft_out *o)
{
    memset(o, 0, sizeof(*o));
    o->path = path;
    ft_buf_init(&o->b);
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
        return FT_EXIT_OK;
    }
    /* A device or a pipe is written as it is; a file is replaced whole, at the end. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if ((o->f = fopen(path, "we")) == NULL) {
            ft_cli_err(cmd, "cannot open '%s': %s", path, strerror(errno));
            return FT_EXIT_FAIL;
        }
        o->direct = 1;
        return FT_EXIT_OK;
    }
    /* The whole trace goes in: readable by its owner only (0600, whatever the umask), and
     * never through a link someone left at the temporary name (O_EXCL). */
    snprintf(o->tmp, sizeof(o->tmp), "%s.tmp-%ld", path, (long)getpid());
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || (o->f = fdopen(fd, "w")) == NULL) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(o->tmp);
        }
        ft_cli_err(cmd, "cannot create '%s': %s", path, strerror(e));
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}

void
ft_cli_out_flush(struct ft_out *o, int force)
{
    if (o->b.len >= (1u << 20) || (force && o->b.len > 0)) {
        fwrite(o->b.p, 1, o->b.len, o->f);
        o->b.len = 0;
    }
}

int
ft_cli_out_close(const char *cmd, struct ft_out *o, int ok)
{
    int err = 0;

    if (o->b.oom) {
        err = ENOMEM;
    }
    ft_cli_out_flush(o, 1);
    ft_buf_free(&o->b);
    if (fflush(o->f) != 0 || ferror(o->f)) {
        err = err ? err : errno ? errno : EIO;
    }
    if (o->f == stdout) {
        if (err != 0 && ok) {
            ft_cli_err(cmd, "cannot write the output: %s", strerror(err));
            return FT_EXIT_FAIL;
        }
        return ok ? FT_EXIT_OK : FT_EXIT_FAIL;
    }
    if (fclose(o->f) != 0 && err == 0) {
        err = errno;
    }
    if (o->direct) {
        if (err != 0 && ok) {
            ft_cli_err(cmd, "cannot write '%s': %s", o->path, strerror(err));
        }
        return ok && err == 0 ? FT_EXIT_OK : FT_EXIT_FAIL;
    }
    if (!ok || err != 0) {
        unlink(o->tmp);
        if (ok) {
            ft_cli_err(cmd, "cannot write '%s': %s", o->path, strerror(err));
        }
        return FT_EXIT_FAIL;
    }
    if (rename(o->tmp, o->path) != 0) {
        err = errno;
        unlink(o->tmp);
        ft_cli_err(cmd, "cannot write '%s': %s", o->path, strerror(err));
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}

void
ft_cli_json_str(struct ft_buf *b, const char *s)
{
    const char *lt;

    ft_buf_putc(b, '"');
    while ((lt = strchr(s, '<')) != NULL) {
        ft_json_put_raw_escaped(b, s, (size_t)(lt - s));
        ft_buf_put(b, "\\u003c", 6);
        s = lt + 1;
    }
    ft_json_put_raw_escaped(b, s, strlen(s));
    ft_buf_putc(b, '"');
}

void
ft_cli_put_abbrev(struct ft_buf *b, const char *s, size_t max)
{
    ft_term_put(b, s, max);
}
