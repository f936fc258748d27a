/* units.h - the units of work of a run (RUN/units.jsonl), for ls --units, show, stats
 * and html --unit, and report.
 *
 * ft_units_read loads a run's units.jsonl (one JSON object per unit, in order of their
 * end) into a list the caller frees; a run without the file has no units.
 * ft_units_read_family adds the units of every run the run started, directly or not:
 * pytest-xdist runs its tests in worker processes, and the session is one report.
 * ft_units_find finds the unit a user names: its id, its exact name, or the first failed
 * one. ft_unit_put_outcome writes what follows a unit's name in its headline.
 */
#ifndef FT_CLI_UNITS_H
#define FT_CLI_UNITS_H

#include <stddef.h>
#include <stdint.h>

struct ft_unit_ent {
    uint64_t id; /* in its run: ids count from 1 in each run */
    char *run;   /* the id of the run it ran in */
    char *kind, *name, *outcome;
    double start_us, duration_us;
    uint64_t calls;
    char *tree; /* path of its tree.json (absolute, via the run's directory), or NULL */
    char *exc_type, *exc_msg, *exc_path;
    long status; /* HTTP status, 0 if none */
    char *request_id;
    int failed; /* outcome failed or error */
};

struct ft_units {
    struct ft_unit_ent *v;
    size_t n;
    size_t cap;
    size_t nruns; /* runs the units come from (ft_units_read_family) */
};

/* Reads rundir/units.jsonl into out (emptied first). Returns 0 (an absent file is an
 * empty list), or -1 with err set for a file that cannot be read or parsed. */
int ft_units_read(const char *rundir, struct ft_units *out, char *err, size_t cap);

/* Finds RUN in dir (cli.h's rules), writes its directory to rundir, and reads the units
 * of the run and of its descendant runs: the run's own first, in their order, then the
 * others in order of start. Returns FT_EXIT_OK, or prints one line and returns
 * FT_EXIT_FAIL or FT_EXIT_USAGE. */
int ft_units_read_family(const char *cmd, const char *dir, const char *run, char *rundir,
                         size_t cap, struct ft_units *out);

/* ft_units_read_family for the run root of catalog c. Returns 0, or -1 with err set. */
struct ft_catalog;
struct ft_run_entry;
int ft_units_of_family(const struct ft_catalog *c, const struct ft_run_entry *root,
                       struct ft_units *out, char *err, size_t cap);

void ft_units_free(struct ft_units *u);

/* What follows a unit's name in its headline: for a request its status and duration
 * ("GET /boom" + " -> 500 · 3.20ms"), for another unit its outcome and duration
 * (" · failed · 2.10ms"). */
struct ft_buf;
void ft_unit_put_outcome(struct ft_buf *b, const struct ft_unit_ent *e);

/* The unit named by spec (an id, an exact name, or the end of one name after "::", "/"
 * or a space: test_x[2]), or with spec NULL the first failed one; NULL if there is none.
 * An id given in several runs names the first. */
const struct ft_unit_ent *ft_units_pick(const struct ft_units *u, const char *spec);

/* ft_units_pick that tells an id found in several runs apart: returns 0 and sets *out,
 * FT_ENOTFOUND, or FT_EBADUSAGE (an id several runs have). */
int ft_units_find(const struct ft_units *u, const char *spec, const struct ft_unit_ent **out);

#endif
