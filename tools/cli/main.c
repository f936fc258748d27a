/* main.c - the flowtrace command: dispatch to subcommands, run lookup, error lines. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const struct ft_cli_cmd commands[] = {
    {"show", ft_cmd_show, "print a run's call tree"},
};

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

const char *
ft_cli_dir(const char *opt)
{
    const char *env = getenv("FLOWTRACE_DIR");

    if (opt != NULL) {
        return opt;
    }
    return env != NULL && *env ? env : "flowtrace-out";
}

static int
is_file(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int
ft_cli_find_run(const char *dir, const char *run, char *out, size_t cap)
{
    char path[PATH_MAX], best[NAME_MAX + 1] = "";
    struct dirent *e;
    double best_mtime = -1;
    int matches = 0;
    DIR *d;

    if (run != NULL) {
        /* A path to a run directory or its tree.json. */
        snprintf(path, sizeof(path), "%s/tree.json", run);
        if (strchr(run, '/') != NULL && is_file(path)) {
            snprintf(out, cap, "%s", run);
            return 0;
        }
        if (strchr(run, '/') != NULL && is_file(run) && strstr(run, "tree.json")) {
            snprintf(out, cap, "%.*s", (int)(strrchr(run, '/') - run), run);
            return 0;
        }
    }
    d = opendir(dir);
    if (d == NULL) {
        ft_cli_err("run", "cannot open output directory '%s': %s", dir, strerror(errno));
        return FT_EXIT_FAIL;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s/tree.json", dir, e->d_name);
        if (stat(path, &st) != 0) {
            continue;
        }
        if (run != NULL) {
            if (strcmp(e->d_name, run) == 0) {
                snprintf(best, sizeof(best), "%s", e->d_name);
                matches = 1;
                break;
            }
            if (strncmp(e->d_name, run, strlen(run)) == 0) {
                snprintf(best, sizeof(best), "%s", e->d_name);
                matches++;
            }
        } else {
            double m = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
            if (m > best_mtime) {
                best_mtime = m;
                snprintf(best, sizeof(best), "%s", e->d_name);
                matches = 1;
            }
        }
    }
    closedir(d);
    if (matches == 0) {
        if (run != NULL) {
            ft_cli_err("run", "no run '%s' in %s", run, dir);
        } else {
            ft_cli_err("run", "no runs in %s", dir);
        }
        return FT_EXIT_FAIL;
    }
    if (matches > 1) {
        ft_cli_err("run", "'%s' matches %d runs in %s; give more of the id", run, matches, dir);
        return FT_EXIT_FAIL;
    }
    snprintf(out, cap, "%s/%s", dir, best);
    return 0;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: flowtrace COMMAND [options] [RUN]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\nEvery command reads the output directory given by -d DIR (default\n"
               "$FLOWTRACE_DIR, else ./flowtrace-out). RUN is a run id, a unique prefix of\n"
               "one, or omitted for the latest run. 'flowtrace COMMAND --help' for details.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? FT_EXIT_USAGE : FT_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "flowtrace: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return FT_EXIT_USAGE;
}
