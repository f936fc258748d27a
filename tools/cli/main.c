/* main.c - the flowtrace command: dispatch to subcommands and the overall usage. */
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
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: flowtrace COMMAND [options] [RUN]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\nEvery command reads the output directory given by -d DIR (default\n"
               "$FLOWTRACE_DIR, else ./flowtrace-out). RUN is a run id, a unique prefix of\n"
               "one, or omitted for the latest run. 'flowtrace COMMAND --help' for details.\n"
               "Exit status: 0 done, 1 failed, 2 bad usage. 'flowtrace --version' prints the\n"
               "version.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return FT_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("flowtrace %s\n", FT_VERSION);
        return FT_EXIT_OK;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return FT_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "flowtrace: unknown command '%s' (see 'flowtrace --help')\n", argv[1]);
    return FT_EXIT_USAGE;
}
