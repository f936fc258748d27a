/* main.c - the flowtrace command: options every command shares, given before the command
 * (`flowtrace -d DIR show`), --version, and dispatch to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct ft_cli_cmd commands[] = {
    {"ls", ft_cmd_ls, "list the runs, newest first"},
    {"show", ft_cmd_show, "print a run's call tree"},
    {"stats", ft_cmd_stats, "top functions of a run by total and self time"},
    {"html", ft_cmd_html, "write a run as one self-contained HTML viewer"},
    {"report", ft_cmd_report, "a run's tests or requests as JUnit XML or Markdown, for CI"},
    {"export", ft_cmd_export, "write a run for Perfetto (Chrome JSON) or OpenTelemetry (OTLP)"},
    {"attach", ft_cmd_attach, "record a running Python process for a while, then detach"},
    {"diff", ft_cmd_diff, "where two runs or two tests parted: the first different call"},
    {"tail", ft_cmd_tail, "a run's calls and units as they happen (-f: follow it)"},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: flowtrace [-d DIR] COMMAND [options] [RUN]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\nEvery command reads the output directory given by -d DIR, before or after\n"
               "the command (default $FLOWTRACE_DIR, else ./flowtrace-out). RUN is a run id,\n"
               "a unique prefix of one, or omitted for the latest run.\n"
               "'flowtrace COMMAND --help' for details; 'flowtrace --version'.\n"
               "Exit status: 0 done, 1 failed, 2 bad usage.\n");
}

/* Options before the command: -d DIR, --dir DIR, --dir=DIR. Returns how many argv
 * entries they took, or -1 (a line printed) when one lacks its value. */
static int
global_options(int argc, char **argv)
{
    int i = 1;

    while (i < argc) {
        const char *a = argv[i];
        if (strncmp(a, "--dir=", 6) == 0) {
            ft_cli_set_dir(a + 6);
            i++;
        } else if (strcmp(a, "-d") == 0 || strcmp(a, "--dir") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "flowtrace: option '%s' needs a value (see 'flowtrace --help')\n",
                        a);
                return -1;
            }
            ft_cli_set_dir(argv[i + 1]);
            i += 2;
        } else if (strncmp(a, "-d", 2) == 0) {
            ft_cli_set_dir(a + 2);
            i++;
        } else {
            break;
        }
    }
    return i - 1;
}

int
main(int argc, char **argv)
{
    int skip = global_options(argc, argv);

    if (skip < 0) {
        return FT_EXIT_USAGE;
    }
    argc -= skip;
    argv += skip;
    if (argc < 2) {
        usage(stderr);
        return FT_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return FT_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 ||
        strcmp(argv[1], "version") == 0) {
        printf("flowtrace %s\n", FT_VERSION);
        return fflush(stdout) == 0 ? FT_EXIT_OK : FT_EXIT_FAIL;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    if (argv[1][0] == '-') {
        fprintf(stderr, "flowtrace: unknown option '%s' (see 'flowtrace --help')\n", argv[1]);
    } else {
        fprintf(stderr, "flowtrace: unknown command '%s' (see 'flowtrace --help')\n", argv[1]);
    }
    return FT_EXIT_USAGE;
}
