/* cmd_html.c - `flowtrace html`: one self-contained HTML file showing a run or a unit. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "html_stream.h"

static const char html_usage[] =
    "usage: flowtrace html [-d DIR] [-o FILE] [--unit ID|NAME] [RUN]\n"
    "\n"
    "Writes RUN (default: the latest run) as one HTML file that needs nothing else (no\n"
    "network, no other files): a post-mortem debugger. A cursor steps through the calls\n"
    "in time order (into, over, out, back, forward; across threads), with the call\n"
    "stack, the arguments, result and exception of the current call and its source; a\n"
    "timeline with a lane per thread and per asyncio task; the call tree; search over\n"
    "names, values and exceptions; the run's tests and requests, each where it ran.\n"
    "Runs of millions of calls stay fluid. Dark and light themes, English and Spanish.\n"
    "\n"
    "  -d, --dir DIR       output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  -o, --output FILE   where to write (default: RUN.html in the current directory)\n"
    "  --unit ID|NAME      one unit of work of the run (a test, a request): its tree\n"
    "  -h, --help          show this help\n";

int
ft_cmd_html(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"unit", required_argument, NULL, 'u'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL, *output = NULL, *unit = NULL;
    char path[4096];
    int opt, rc;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'u':
            unit = optarg;
            break;
        case 'h':
            fputs(html_usage, stdout);
            return FT_EXIT_OK;
        default:
            return ft_cli_bad_option("html", opt, argv);
        }
    }
    if (argc - optind > 1) {
        ft_cli_err("html", "one RUN at most (see 'flowtrace html --help')");
        return FT_EXIT_USAGE;
    }
    rc = ft_html_stream_write("html", ft_cli_dir(dir), optind < argc ? argv[optind] : NULL, unit,
                              output, path, sizeof(path));
    if (rc == FT_EXIT_OK && strcmp(path, "-") != 0) {
        printf("%s\n", path);
    }
    return rc;
}
