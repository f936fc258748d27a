/* cmd_ls.c - `flowtrace ls`: the runs of an output directory, newest first. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "cli.h"
#include "term.h"
#include "units.h"

static const char ls_usage[] =
    "usage: flowtrace ls [-d DIR] [-n N] [--color WHEN]\n"
    "       flowtrace ls --units [--failed] [-d DIR] [RUN]\n"
    "\n"
    "Lists the runs in DIR, newest first: status (✅ ended well, ❌ failed or nothing\n"
    "recorded, ⏳ not written yet), run id, start time, duration, calls, how it ended,\n"
    "and command.\n"
    "\n"
    "  -d, --dir DIR     output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  -n, --limit N     show at most N runs\n"
    "  --units           the units of work of RUN (default: the latest run): tests and\n"
    "                    requests, with their outcome, duration, calls, name and tree\n"
    "  --failed          with --units, only the failed ones\n"
    "  --color WHEN      always, never or auto (default: colour on a terminal)\n"
    "  -h, --help        show this help\n";

/* ls --units: one line per unit of the run and of the runs it started (pytest-xdist's
 * workers), with the run each ran in when there are several. */
static void
print_unit(struct ft_buf *b, const struct ft_units *u, const struct ft_unit_ent *e, int color)
{
    char dur[32];
    int bad = e->failed;

    ft_cli_fmt_duration(e->duration_us, dur, sizeof(dur));
    ft_buf_printf(b, "%s %4llu ", bad ? "❌" : "✅", (unsigned long long)e->id);
    if (u->nruns > 1) {
        ft_term_put(b, e->run, 0);
        ft_buf_putc(b, ' ');
    }
    ft_buf_printf(b, "%s%-8s%s ", color && bad ? "\033[31m" : "", e->outcome,
                  color && bad ? "\033[0m" : "");
    ft_term_put(b, e->kind ? e->kind : "?", 0);
    ft_buf_printf(b, "%*s", e->kind && strlen(e->kind) < 9 ? (int)(9 - strlen(e->kind)) : 0, "");
    ft_buf_putc(b, ' ');
    ft_cli_put_col(b, dur, 10);
    ft_buf_printf(b, " %7llu  ", (unsigned long long)e->calls);
    ft_term_put(b, e->name, 0);
    if (e->status > 0) {
        ft_unit_put_outcome(b, e); /* a request's headline: GET /boom -> 500 · 3.20ms */
    }
    ft_buf_puts(b, "  ");
    ft_term_put(b, e->tree ? e->tree : "-", 0);
    ft_buf_putc(b, '\n');
}

static int
list_units(const char *dir, const char *run, int failed_only, int color)
{
    char rundir[4096];
    struct ft_units u;
    struct ft_buf b;
    int rc = ft_units_read_family("ls", dir, run, rundir, sizeof(rundir), &u);

    if (rc != FT_EXIT_OK) {
        return rc;
    }
    ft_buf_init(&b);
    for (size_t i = 0; i < u.n; i++) {
        if (!failed_only || u.v[i].failed) {
            b.len = 0;
            print_unit(&b, &u, &u.v[i], color);
            fwrite(b.p, 1, b.len, stdout);
        }
    }
    ft_buf_free(&b);
    ft_units_free(&u);
    return FT_EXIT_OK;
}

static void
print_run(struct ft_buf *b, const struct ft_catalog *c, const struct ft_run_entry *r, int color)
{
    char when[32] = "?", dur[32] = "", status[48], calls[24] = "";
    time_t t = (time_t)(r->start_us / 1000000u);
    struct tm tm;
    int ok = ft_catalog_ok(r), stopped = !ok && ft_catalog_stopped_by_parent(c, r);
    const char *icon = r->nothing ? "❌" : !r->complete ? "⏳" : ok || stopped ? "✅" : "❌";

    if (r->start_us > 0 && localtime_r(&t, &tm) != NULL) {
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    }
    if (r->complete) {
        ft_cli_fmt_duration((double)r->duration_us, dur, sizeof(dur));
        snprintf(calls, sizeof(calls), "%llu", (unsigned long long)r->calls);
    }
    if (stopped) {
        snprintf(status, sizeof(status), "stopped");
    } else {
        ft_catalog_status(r, status, sizeof(status));
    }
    ok = ok || stopped;
    ft_buf_printf(b, "%s ", icon);
    for (size_t w = ft_term_put(b, r->id, 0); w < 24; w++) {
        ft_buf_putc(b, ' ');
    }
    ft_buf_printf(b, " %-19s ", when);
    ft_cli_put_col(b, dur, 10);
    ft_buf_printf(b, " %9s  %s%-11s%s ", calls, color && !ok ? "\033[31m" : "", status,
                  color && !ok ? "\033[0m" : "");
    ft_cli_put_argv(b, (const char *const *)r->argv, r->argc);
    if (r->lost > 0) {
        ft_buf_printf(b, "  %s(%llu events lost)%s", color ? "\033[33m" : "",
                      (unsigned long long)r->lost, color ? "\033[0m" : "");
    }
    ft_buf_putc(b, '\n');
}

int
ft_cmd_ls(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"limit", required_argument, NULL, 'n'},
                                             {"color", required_argument, NULL, 'c'},
                                             {"units", no_argument, NULL, 'u'},
                                             {"failed", no_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    struct ft_catalog c;
    struct ft_buf b;
    long limit = -1;
    int opt, color = ft_cli_color(NULL), units = 0, failed = 0;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:n:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'n':
            if (ft_cli_parse_count(optarg, &limit) != 0) {
                ft_cli_err("ls", "--limit '%s' is not a number of runs", optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 'c':
            if ((color = ft_cli_color(optarg)) < 0) {
                ft_cli_err("ls", "--color '%s' must be always, never or auto", optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 'u':
            units = 1;
            break;
        case 'f':
            failed = 1;
            break;
        case 'h':
            fputs(ls_usage, stdout);
            return FT_EXIT_OK;
        default:
            return ft_cli_bad_option("ls", opt, argv);
        }
    }
    if (units && argc - optind <= 1) {
        int rc = list_units(ft_cli_dir(dir), optind < argc ? argv[optind] : NULL, failed, color);
        return rc != FT_EXIT_OK || fflush(stdout) == 0 ? rc : FT_EXIT_FAIL;
    }
    if (optind < argc) {
        ft_cli_err("ls", "unexpected argument '%s' (see 'flowtrace ls --help')", argv[optind]);
        return FT_EXIT_USAGE;
    }
    dir = ft_cli_dir(dir);
    if (ft_cli_load_catalog("ls", dir, &c) != FT_EXIT_OK) {
        return FT_EXIT_FAIL;
    }
    ft_buf_init(&b);
    for (size_t i = 0; i < c.n && (limit < 0 || (long)i < limit); i++) {
        b.len = 0;
        print_run(&b, &c, &c.runs[i], color);
        fwrite(b.p, 1, b.len, stdout);
    }
    ft_buf_free(&b);
    ft_catalog_free(&c);
    if (fflush(stdout) != 0) {
        ft_cli_err("ls", "cannot write the output");
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}
