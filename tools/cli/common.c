/* common.c - what every flowtrace command shares: run lookup, options, durations,
 * output files, and the one line an error prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
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

const char *
ft_cli_dir(const char *opt)
{
    const char *env = getenv("FLOWTRACE_DIR");

    if (opt != NULL) {
        return opt;
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
ft_cli_put_col(FILE *f, const char *s, int width)
{
    int chars = 0, w = width < 0 ? -width : width;

    for (const char *p = s; *p; p++) {
        chars += (*p & 0xc0) != 0x80;
    }
    if (width < 0) {
        fputs(s, f);
    }
    for (int i = chars; i < w; i++) {
        fputc(' ', f);
    }
    if (width > 0) {
        fputs(s, f);
    }
}

/* An argument as a shell would need it: quoted when it holds anything special. */
static void
put_arg(FILE *out, const char *a)
{
    if (*a != '\0' && strpbrk(a, " \t\n'\"\\$`*?[]{}()<>|&;!#~") == NULL) {
        fputs(a, out);
        return;
    }
    fputc('\'', out);
    for (; *a; a++) {
        if (*a == '\'') {
            fputs("'\\''", out);
        } else {
            fputc(*a, out);
        }
    }
    fputc('\'', out);
}

void
ft_cli_put_argv(FILE *f, const char *const *argv, size_t argc)
{
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i == 0 && strrchr(a, '/') != NULL) {
            a = strrchr(a, '/') + 1; /* the interpreter by its name */
        }
        if (i > 0) {
            fputc(' ', f);
        }
        put_arg(f, a);
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
    if (is_file(tree)) {
        snprintf(out, cap, "%s", run);
        return 1;
    }
    if (n >= 9 && strcmp(run + n - 9, "tree.json") == 0 && is_file(run)) {
        snprintf(out, cap, "%.*s", (int)(strrchr(run, '/') - run), run);
        return 1;
    }
    return 0;
}

int
ft_cli_find_run(const char *cmd, const char *dir, const char *run, char *out, size_t cap)
{
    const struct ft_run_entry *e;
    struct ft_catalog c;
    char err[1024];
    int rc;

    if (run != NULL && run_from_path(run, out, cap)) {
        return FT_EXIT_OK;
    }
    if ((rc = ft_catalog_load(dir, &c, err, sizeof(err))) != 0) {
        ft_cli_err(cmd, "%s", err);
        return FT_EXIT_FAIL;
    }
    rc = ft_catalog_find(&c, run, &e, err, sizeof(err));
    if (rc != 0) {
        ft_cli_err(cmd, "%s in %s", err, dir);
        ft_catalog_free(&c);
        return rc == FT_EBADUSAGE ? FT_EXIT_USAGE : FT_EXIT_FAIL;
    }
    if (!e->complete) {
        ft_cli_err(cmd, "run %s is not complete: %s/tree.json is missing or unreadable", e->id,
                   e->path);
        ft_catalog_free(&c);
        return FT_EXIT_FAIL;
    }
    snprintf(out, cap, "%s", e->path);
    ft_catalog_free(&c);
    return FT_EXIT_OK;
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
    snprintf(o->tmp, sizeof(o->tmp), "%s.tmp-%ld", path, (long)getpid());
    if ((o->f = fopen(o->tmp, "we")) == NULL) {
        ft_cli_err(cmd, "cannot create '%s': %s", path, strerror(errno));
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
    size_t chars = 0;
    const char *p = s;

    while (*p != '\0' && chars < max) {
        p++;
        while ((*p & 0xc0) == 0x80) {
            p++;
        }
        chars++;
    }
    for (const char *q = s; q < p; q++) {
        if (*q == '\n') {
            ft_buf_putc(b, ' ');
        } else {
            ft_buf_putc(b, *q);
        }
    }
    if (*p != '\0') {
        ft_buf_puts(b, "…");
    }
}
