/* catalog.h - the runs of an output directory, as the CLI sees them.
 *
 * Rows come from the runs index (DIR/index.sqlite, lib/index.h) when there is
 * one; run directories the index does not know (written before the index existed, or
 * by a writer that could not record them) are found by scanning DIR and reading the
 * head of their tree.json. A run whose directory has no tree.json yet is listed as
 * unfinished. The caller owns the catalog: ft_catalog_load(), then ft_catalog_free().
 * Nothing here prints.
 */
#ifndef FT_CLI_CATALOG_H
#define FT_CLI_CATALOG_H

#include <stddef.h>
#include <stdint.h>

struct ft_run_entry {
    char *id;
    char *path;       /* the run's directory: DIR/<dir> */
    char *parent_run; /* NULL for a run no traced process started */
    char **argv;      /* argc strings */
    size_t argc;
    char *python;
    char *ended; /* exit, exception, os._exit, signal, exec, killed, detached; or NULL */
    uint64_t pid;
    uint64_t start_us, duration_us, calls, lost;
    int have_exit_code, exit_code, signal;
    int complete; /* tree.json exists */
    int running;  /* its writer is writing it: its tree so far reads (lib/rfile.h) */
    int nothing;  /* unfinished, and its writer died before writing a record of it */
};

struct ft_catalog {
    struct ft_run_entry *runs; /* newest first */
    size_t n;
    int indexed;       /* an index was read */
    char *index_error; /* why DIR/index.sqlite could not be read (the runs were then
                          found by the scan alone), or NULL */
};

/* Lists the runs of dir. Returns 0 (possibly with no runs), or a negative code with a
 * one-line description in err: -errno when dir cannot be read, -ENOMEM. An index that
 * exists but cannot be read (foreign, corrupt, unreadable) costs no run: every run is
 * then found by the scan, and c->index_error says what was wrong with the index. */
int ft_catalog_load(const char *dir, struct ft_catalog *c, char *err, size_t cap);

void ft_catalog_free(struct ft_catalog *c);

/* Finds run: an id, or a unique prefix of one; NULL for the latest complete or running
 * run that no other traced process started (else the latest complete or running run). Returns 0 and sets *out,
 * or FT_ENOTFOUND / FT_EBADUSAGE (an ambiguous prefix) with err set. */
int ft_catalog_find(const struct ft_catalog *c, const char *run, const struct ft_run_entry **out,
                    char *err, size_t cap);

/* What ended the run, in a few words: "exit 0", "exception", "signal 15", "unfinished". */
void ft_catalog_status(const struct ft_run_entry *r, char *out, size_t cap);

/* Whether the run went well: ended normally with status 0, by exec, or detached (the
 * recording stopped before the process ended: flowtrace attach) with nothing lost. */
int ft_catalog_ok(const struct ft_run_entry *r);

/* The run that started r (its parentRun), or NULL if none is in the catalog. */
const struct ft_run_entry *ft_catalog_parent(const struct ft_catalog *c,
                                             const struct ft_run_entry *r);

/* Whether r descends from root: root started it, or started a run that did, ... */
int ft_catalog_descends(const struct ft_catalog *c, const struct ft_run_entry *r,
                        const struct ft_run_entry *root);

/* Whether r was stopped by the process that started it, as part of a run that went
 * well: ended by SIGTERM before its parent run, which went well (ft_catalog_ok). This is
 * how multiprocessing.Pool ends its workers; such a run did not fail. */
int ft_catalog_stopped_by_parent(const struct ft_catalog *c, const struct ft_run_entry *r);

#endif
