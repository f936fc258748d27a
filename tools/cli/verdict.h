/* verdict.h - what failed outside any unit of work, so that no report of a failed run
 * reads green.
 *
 * A report built from units alone calls a pytest session that never ran a test "0 of 0
 * failed": a test module that does not import (pytest exits 2), a usage or internal
 * error (4, 3), a script dying outside any unit. ft_verdict_load looks at a run that did
 * not end well, and at the runs it started (pytest-xdist's workers), for:
 *   - modules whose import failed outside any unit: a `<module>` call, other than the
 *     main script's, that raised (a test module pytest could not collect), once per file;
 *   - the run itself, when nothing above or among its units explains how it ended: a
 *     signal, an exit status of 3 or more, or an uncaught exception no failed unit had.
 * A run that ended well has nothing outside its units (an import that failed was then
 * handled). The caller owns the verdict: ft_verdict_load(), then ft_verdict_free().
 */
#ifndef FT_CLI_VERDICT_H
#define FT_CLI_VERDICT_H

#include <stddef.h>

struct ft_catalog;
struct ft_run_entry;
struct ft_units;

struct ft_outside {
    int import;    /* 1: a module that did not import; 0: the run */
    char *name;    /* the module ("tests.test_x"), or the script ("-m pytest", "app.py") */
    char *file;    /* the module's file, or NULL */
    char *type;    /* exception type, "exit status 4", "signal 9", ...; never NULL */
    char *message; /* exception message or what the status means, or NULL */
};

struct ft_verdict {
    struct ft_outside *v;
    size_t n;
};

/* Fills out for the run root of catalog c whose units (ft_units_read_family) are u.
 * Returns 0, or -ENOMEM; a tree that cannot be read adds nothing. */
int ft_verdict_load(const struct ft_catalog *c, const struct ft_run_entry *root,
                    const struct ft_units *u, struct ft_verdict *out);

void ft_verdict_free(struct ft_verdict *v);

#endif
