/* summary.h - the lines flowtrace-run prints from the writer's runs file: each failed unit
 * and its tree as the unit ends (the writer appends its line then), and once the writer
 * is done where each run went and runs a crashed writer left that were rebuilt.
 */
#ifndef FT_RUN_SUMMARY_H
#define FT_RUN_SUMMARY_H

#include <stdio.h>

/* Prints, for a writer killed by signal `sig`, the runs `rebuilt` lists (lines of
 * PATH TAB EVENTS TAB LOST from flowtrace-writer --recover). */
void ft_summary_rebuilt(FILE *f, int sig, const char *rebuilt);

/* The runs file (lines described in tools/writer/runs.h) and how much of it was read. */
struct ft_summary {
    const char *runs_file;
    long printed; /* bytes of whole lines read by ft_summary_follow: their units printed */
};

/* Prints one line per failed unit whose line the writer appended since the last call
 * (whole lines only): "[FlowTrace] FAILED: NAME -> TREE (ERROR)". */
void ft_summary_follow(struct ft_summary *s, FILE *f);

/* Prints the summary: "Profiling finished in Ts (script=S) -> PATH" per run no traced
 * process started, a line per failed unit not printed yet, "FAILED outside any unit" for
 * a root run that ended badly (exit status not 0, an uncaught exception, a signal) when no
 * unit failed, how many runs of child processes there are besides, or that no Python
 * process was traced (unless `rebuilt_any`), or, when the writer listed runs it could not
 * write (or failed units of them) and no run, that no run was written. */
void ft_summary_print(const struct ft_summary *s, FILE *f, const char *out, double seconds,
                      int rebuilt_any);

#endif
