/* cli.h - shared pieces of the flowtrace command: the command table, run lookup, output
 * files, options, and error reporting at the edge (only main.c and commands print). */
#ifndef FT_CLI_CLI_H
#define FT_CLI_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "lib/buf.h"
#include "lib/err.h"

struct ft_tree;

/* Exit statuses of every command: FT_EXIT_OK, FT_EXIT_FAIL, FT_EXIT_USAGE (lib/err.h). */

struct ft_cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

/* The output directory: the command's -d DIR (opt), else -d DIR given before the command
 * (ft_cli_set_dir), else $FLOWTRACE_DIR, else ./flowtrace-out. */
const char *ft_cli_dir(const char *opt);
void ft_cli_set_dir(const char *dir);

/* Finds RUN in dir (an id, a unique prefix, NULL for the latest run; or a path to a run
 * directory or its tree.json) and writes the run directory to out. Returns FT_EXIT_OK,
 * or prints one line and returns FT_EXIT_FAIL (FT_EXIT_USAGE for an ambiguous prefix). */
int ft_cli_find_run(const char *cmd, const char *dir, const char *run, char *out, size_t cap);

struct ft_catalog;
struct ft_run_entry;

/* Loads the catalog of dir (catalog.h), printing one line if it cannot, and a warning
 * line if its index could not be read (the runs were then found by scanning dir). */
int ft_cli_load_catalog(const char *cmd, const char *dir, struct ft_catalog *c);

/* ft_cli_find_run that keeps the catalog of the run's directory (the caller frees it
 * with ft_catalog_free when FT_EXIT_OK is returned) and sets *e to the run's entry. */
int ft_cli_find_run_in(const char *cmd, const char *dir, const char *run, struct ft_catalog *c,
                       const struct ft_run_entry **e);

/* ft_cli_find_run, then loads the run's tree.json into *t (the caller frees it). */
int ft_cli_load_tree(const char *cmd, const char *dir, const char *run, struct ft_tree **t);

/* Prints "flowtrace CMD: MESSAGE" on stderr: the one line of an error. */
void ft_cli_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The line for a bad option (getopt_long returned '?' or ':'), then FT_EXIT_USAGE. Call
 * with getopt's opterr set to 0 and an optstring starting with ':'. */
int ft_cli_bad_option(const char *cmd, int opt, char **argv);

/* Whether to colour output: "always", "never" or "auto" (a terminal, and no NO_COLOR).
 * Returns 1/0, or -1 for an unknown word. */
int ft_cli_color(const char *when);

/* Parses a duration such as "1.5ms", "200us", "2s" (a bare number is microseconds) into
 * microseconds. Returns 0, or -1 if it is not one. */
int ft_cli_parse_duration(const char *s, double *us);

/* Parses a count (a number of levels, runs, functions): a decimal integer >= 0. Returns
 * 0, or -1 if s is not one. */
int ft_cli_parse_count(const char *s, long *out);

/* Formats a duration for people: 12.3µs, 4.56ms, 7.890s. */
void ft_cli_fmt_duration(double us, char *out, size_t cap);

/* Appends s in a column of |width| characters (UTF-8 code points, not bytes): right
 * aligned for width > 0, left aligned for width < 0. */
void ft_cli_put_col(struct ft_buf *b, const char *s, int width);

/* Appends s cut to at most max characters (UTF-8 code points), with "…" when cut, made
 * safe for a terminal (term.h: a newline is written \n, so one call stays one line). */
void ft_cli_put_abbrev(struct ft_buf *b, const char *s, size_t max);

/* Appends a command line as a shell would need it typed: the interpreter by its name,
 * arguments quoted when they hold anything special, control characters escaped ($'..'). */
void ft_cli_put_argv(struct ft_buf *b, const char *const *argv, size_t argc);

/* An output file written whole or not at all: data goes to a temporary file beside
 * path, renamed into place by ft_cli_out_close. The file is mode 0600: it holds the trace,
 * arguments and all. Path "-" is standard output; a device or pipe is written as it is. */
struct ft_out {
    FILE *f;
    const char *path;
    char tmp[4096];
    int direct;      /* a device or pipe: no temporary file */
    struct ft_buf b; /* append here, then ft_cli_out_flush when it grows */
};

int ft_cli_out_open(const char *cmd, const char *path, struct ft_out *o);

/* Writes out the buffer once it holds a megabyte or more. */
void ft_cli_out_flush(struct ft_out *o, int force);

/* Finishes the file. ok = 0 discards it. Returns FT_EXIT_OK, or prints one line and
 * returns FT_EXIT_FAIL when something could not be written. */
int ft_cli_out_close(const char *cmd, struct ft_out *o, int ok);

/* Appends s as a JSON string that is also safe inside an HTML <script> ('<' escaped). */
void ft_cli_json_str(struct ft_buf *b, const char *s);

int ft_cmd_ls(int argc, char **argv);
int ft_cmd_show(int argc, char **argv);
int ft_cmd_stats(int argc, char **argv);
int ft_cmd_html(int argc, char **argv);
int ft_cmd_export(int argc, char **argv);
int ft_cmd_report(int argc, char **argv);
int ft_cmd_attach(int argc, char **argv);
int ft_cmd_diff(int argc, char **argv);
int ft_cmd_tail(int argc, char **argv);

#endif
