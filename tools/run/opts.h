/* opts.h - flowtrace-run's command line: options, then the command and its arguments.
 *
 * Options are the rows of lib/settings.h's table that have one. Each becomes a FLOWTRACE_*
 * variable for the command, except flowtrace-run's own (-o, -q, --keep-raw, --help,
 * --version). A value that is not a value of its option is remembered, not fatal: the
 * command then runs untraced, with one line saying why (the README's promise).
 */
#ifndef FT_RUN_OPTS_H
#define FT_RUN_OPTS_H

#include <stddef.h>

#define FT_RUN_MAX_SETTINGS 64

struct ft_run_args {
    const char *out; /* -o DIR; NULL: $FLOWTRACE_DIR, else ./flowtrace-out */
    int quiet;       /* -q: no summary lines */
    int keep_raw;    /* --keep-raw: passed to the writer */
    char **cmd;      /* the command and its arguments: a tail of argv, NULL-terminated */
    char *env[FT_RUN_MAX_SETTINGS]; /* "FLOWTRACE_X=value" for the command (owned) */
    int nenv;
    char bad[512]; /* the first bad option value, said in one line; "" if none */
};

enum ft_run_parsed {
    FT_ARGS_RUN,     /* run a->cmd (untraced if a->bad is set) */
    FT_ARGS_HELP,    /* --help: print the usage, exit 0 */
    FT_ARGS_VERSION, /* --version */
    FT_ARGS_USAGE,   /* an unknown option or no command: msg says which; exit 2 */
};

/* Parses argv (argv[0] is the program). `inherited_units` is $FLOWTRACE_UNIT or NULL:
 * --unit values are added to it. Returns an enum ft_run_parsed; on FT_ARGS_USAGE msg
 * (cap bytes) holds the reason, or "" when the command is missing. */
int ft_run_args_parse(int argc, char **argv, const char *inherited_units, struct ft_run_args *a,
                      char *msg, size_t cap);

/* Frees the settings. */
void ft_run_args_free(struct ft_run_args *a);

/* The usage text of flowtrace-run (--help). */
extern const char ft_run_usage[];

#endif
