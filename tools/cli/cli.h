/* cli.h - shared pieces of the flowtrace command: the command table, run lookup, and
 * error reporting at the edge (only main.c and commands print). */
#ifndef FT_CLI_CLI_H
#define FT_CLI_CLI_H

#include <stddef.h>

/* Exit statuses of every command. */
enum { FT_EXIT_OK = 0, FT_EXIT_FAIL = 1, FT_EXIT_USAGE = 2 };

struct ft_cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

/* The output directory: -d DIR, else $FLOWTRACE_DIR, else ./flowtrace-out. */
const char *ft_cli_dir(const char *opt);

/* Finds a run: RUN is a run id, a unique prefix of one, a run directory, a tree.json
 * path, or NULL for the latest run. Writes the run directory to out. Returns 0, or
 * prints one line on stderr and returns FT_EXIT_FAIL. */
int ft_cli_find_run(const char *dir, const char *run, char *out, size_t cap);

/* Prints "flowtrace CMD: MESSAGE" on stderr. */
void ft_cli_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int ft_cmd_show(int argc, char **argv);

#endif
