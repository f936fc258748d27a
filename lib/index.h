/* index.h - the runs index, DIR/index.sqlite: one row per finished run, and one per
 * finished unit of work (SQLite).
 *
 * The writer records each unit as it ends, while its run goes on (ft_index_put_units),
 * and each run when its files are complete (ft_index_put_run, with its units' rows again
 * or the rest of them); the CLI lists the runs (ft_index_list): one schema for both
 * programs. A unit's row may so be there before its run's (the run is still going). Several writers, and
 * readers, may share one DIR: the database is in WAL mode, every connection waits up
 * to FT_INDEX_BUSY_MS for a lock, and a write that still finds the database busy is
 * retried. Paths stored are relative
 * to DIR, so a moved output directory keeps a valid index.
 *
 * The schema (docs/format.md, "Runs index") only grows: new columns and tables are
 * added under a higher PRAGMA user_version, nothing is renamed or removed, and readers
 * select the columns they know by name. Nothing here prints; errors are returned as
 * negative codes with a one-line description in err.
 */
#ifndef FT_LIB_INDEX_H
#define FT_LIB_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "lib/run.h"
#include "lib/unitrow.h"

#define FT_INDEX_FILE    "index.sqlite"
#define FT_INDEX_VERSION 2 /* PRAGMA user_version written by this code */
#define FT_INDEX_BUSY_MS 5000
/* A live put of units waits this long for the lock, no more, and is not retried: the
 * writer's loop must not stall on it, and the run's own put writes what it missed. */
#define FT_INDEX_UNITS_BUSY_MS 50

/* One indexed run. Strings are owned by the list that holds the row. */
struct ft_index_run {
    const char *id;
    const char *parent_run; /* NULL for a root run */
    const char *script;     /* what a person calls the program: "app.py", "-m pytest" */
    const char *argv_json;  /* JSON array of the command line */
    const char *cwd, *python;
    const char *dir;   /* the run's directory, relative to DIR */
    const char *ended; /* exit, exception, os._exit, signal, exec, killed, detached */
    uint64_t pid, ppid;
    uint64_t start_us, duration_us;
    int have_exit_code, exit_code;
    int signal;
    uint64_t calls, events, lost;
    const char *write_error; /* NULL unless the writer could not write every file */
};

struct ft_index_list {
    struct ft_index_run *runs; /* newest first */
    size_t n;
    struct ft_index_priv *priv;
};

/* Records a finished run in DIR/index.sqlite, creating the database if needed, and
 * replacing an earlier row with the same id. script is what a person calls the program
 * (ft_script_name, lib/script.h). Returns 0, or a negative code with err set: -EBUSY (still
 * locked after the retries), -EIO, FT_EFOREIGN (the file is not a runs index). */
int ft_index_put_run(const char *dir, const struct ft_run_info *info, const char *script, char *err,
                     size_t cap);

/* The finished units of one run, for ft_index_put_units. run_path is DIR/<id> (only its
 * last component is stored, as for the run's row). */
struct ft_index_units {
    const char *run_id, *run_path;
    const struct ft_unit_row *rows;
    size_t n;
};

/* Records the units of nruns runs in DIR/index.sqlite in one transaction (creating the
 * database if needed; INSERT OR REPLACE, as the run's own put does). It waits at most
 * FT_INDEX_UNITS_BUSY_MS for the lock and does not retry. Returns 0, or a negative code
 * with err set, as ft_index_put_run. */
int ft_index_put_units(const char *dir, const struct ft_index_units *runs, size_t nruns, char *err,
                       size_t cap);

/* Reads every run of DIR/index.sqlite, newest first, into list (which the caller frees
 * with ft_index_list_free). Returns 0; FT_ENOTFOUND when there is no index (no file, an
 * empty file, or no runs table yet); or another negative code with err set (a foreign,
 * corrupt or unreadable file). */
int ft_index_list(const char *dir, struct ft_index_list *list, char *err, size_t cap);

void ft_index_list_free(struct ft_index_list *list);

#endif
