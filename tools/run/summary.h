/* summary.h - the lines flowtrace-run prints once the writer is done: where each run went,
 * each failed unit and its tree, and runs a crashed writer left that were rebuilt.
 */
#ifndef FT_RUN_SUMMARY_H
#define FT_RUN_SUMMARY_H

#include <stdio.h>

/* Prints, for a writer killed by signal `sig`, the runs `rebuilt` lists (lines of
 * PATH TAB EVENTS TAB LOST from flowtrace-writer --recover). */
void ft_summary_rebuilt(FILE *f, int sig, const char *rebuilt);

/* Prints the summary from the runs file (lines described in tools/writer/runs.h):
 * "Profiling finished in Ts (script=S) -> PATH" per run no traced process started, one
 * line per failed unit, how many runs of child processes there are besides, or that no
 * Python process was traced (unless `rebuilt_any`). */
void ft_summary_print(FILE *f, const char *runs_file, const char *out, double seconds,
                      int rebuilt_any);

#endif
