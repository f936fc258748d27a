/* units.h - the units of work of a run (RUN/units.jsonl), for ls --units, show --unit,
 * html --unit and report.
 *
 * ft_units_read loads a run's units.jsonl (one JSON object per unit, in order of their
 * end) into a list the caller frees; a run without the file has no units. ft_units_pick
 * finds the unit a user names: its id, its exact name, or the first failed one.
 */
#ifndef FT_CLI_UNITS_H
#define FT_CLI_UNITS_H

#include <stddef.h>
#include <stdint.h>

struct ft_unit_ent {
    uint64_t id;
    char *kind, *name, *outcome;
    double duration_us;
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
};

/* Reads rundir/units.jsonl. Returns 0 (an absent file is an empty list), or -1 with err
 * set for a file that cannot be read or parsed. */
int ft_units_read(const char *rundir, struct ft_units *out, char *err, size_t cap);

void ft_units_free(struct ft_units *u);

/* The unit named by spec (an id, an exact name, or the end of one name after "::", "/"
 * or a space: test_x[2]), or with spec NULL the first failed one; NULL if there is none. */
const struct ft_unit_ent *ft_units_pick(const struct ft_units *u, const char *spec);

/* For show/html: finds RUN in dir and the unit named by spec (NULL: the first failed),
 * and writes the path of the unit's tree.json to out. Prints one line and returns
 * FT_EXIT_FAIL when there is no such unit or its tree was not kept. */
int ft_units_tree_path(const char *cmd, const char *dir, const char *run, const char *spec,
                       char *out, size_t cap);

/* ft_cli_load_tree for a run (unit NULL and failed 0), or for one of its units: the one
 * named by unit, or the first failed one. */
struct ft_tree;
int ft_units_load_tree(const char *cmd, const char *dir, const char *run, const char *unit,
                       int failed, struct ft_tree **t);

#endif
