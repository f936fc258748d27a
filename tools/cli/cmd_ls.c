/* cmd_ls.c - `flowtrace ls`: the runs of an output directory, newest first. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "cli.h"
#include "units.h"

static const char ls_usage[] =
    "usage: flowtrace ls [-d DIR] [-n N] [--color WHEN]\n"
    "       flowtrace ls --units [--failed] [-d DIR] [RUN]\n"
    "\n"
    "Lists the runs in DIR, newest first: status (✅ ended well, ❌ failed, ⏳ not\n"
    "written yet), run id, start time, duration, calls, how it ended, and command.\n"
    "\n"
    "  -d, --dir DIR     output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  -n, --limit N     show at most N runs\n"
    "  --units           the units of work of RUN (default: the latest run): tests and\n"
    "                    requests, with their outcome, duration, calls, name and tree\n"
    "  --failed          with --units, only the failed ones\n"
    "  --color WHEN      always, never or auto (default: colour on a terminal)\n"
    "  -h, --help        show this help\n";

/* ls --units: one line per unit of the run. */
static int
list_units(const char *dir, const char *run, int failed_only, int color)
{
    char rundir[4096], err[4400], dur[32];
    struct ft_units u;

    if (ft_cli_find_run("ls", dir, run, rundir, sizeof(rundir)) != FT_EXIT_OK) {
        return FT_EXIT_FAIL;
    }
    if (ft_units_read(rundir, &u, err, sizeof(err)) != 0) {
        ft_cli_err("ls", "%s", err);
        return FT_EXIT_FAIL;
    }
    for (size_t i = 0; i < u.n; i++) {
        const struct ft_unit_ent *e = &u.v[i];
        int bad = e->failed;
        if (failed_only && !bad) {
            continue;
        }
        ft_cli_fmt_duration(e->duration_us, dur, sizeof(dur));
        printf("%s %4llu %s%-8s%s %-9s ", bad ? "❌" : "✅", (unsigned long long)e->id,
               color && bad ? "\033[31m" : "", e->outcome, color && bad ? "\033[0m" : "", e->kind);
        ft_cli_put_col(stdout, dur, 10);
        printf(" %7llu  %s", (unsigned long long)e->calls, e->name);
        if (e->status > 0) {
            printf(" [%ld]", e->status);
        }
        printf("  %s\n", e->tree ? e->tree : "-");
    }
    ft_units_free(&u);
    return FT_EXIT_OK;
}

static void
print_run(FILE *out, const struct ft_run_entry *r, int color)
{
    char when[32] = "?", dur[32] = "", status[48], calls[24] = "";
    time_t t = (time_t)(r->start_us / 1000000u);
    struct tm tm;
    int ok = ft_catalog_ok(r);
    const char *icon = !r->complete ? "⏳" : ok ? "✅" : "❌";

    if (r->start_us > 0 && localtime_r(&t, &tm) != NULL) {
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    }
    if (r->complete) {
        ft_cli_fmt_duration((double)r->duration_us, dur, sizeof(dur));
        snprintf(calls, sizeof(calls), "%llu", (unsigned long long)r->calls);
    }
    ft_catalog_status(r, status, sizeof(status));
    fprintf(out, "%s %-24s %-19s ", icon, r->id, when);
    ft_cli_put_col(out, dur, 10);
    fprintf(out, " %9s  %s%-11s%s ", calls, color && !ok ? "\033[31m" : "", status,
            color && !ok ? "\033[0m" : "");
    ft_cli_put_argv(out, (const char *const *)r->argv, r->argc);
    if (r->lost > 0) {
        fprintf(out, "  %s(%llu events lost)%s", color ? "\033[33m" : "",
                (unsigned long long)r->lost, color ? "\033[0m" : "");
    }
    fputc('\n', out);
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
    char err[1024], *end;
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
            limit = strtol(optarg, &end, 10);
            if (*end != '\0' || end == optarg || limit < 0) {
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
    if (ft_catalog_load(dir, &c, err, sizeof(err)) != 0) {
        ft_cli_err("ls", "%s", err);
        return FT_EXIT_FAIL;
    }
    for (size_t i = 0; i < c.n && (limit < 0 || (long)i < limit); i++) {
        print_run(stdout, &c.runs[i], color);
    }
    ft_catalog_free(&c);
    if (fflush(stdout) != 0) {
        ft_cli_err("ls", "cannot write the output");
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}
