/* unitrow.h - a finished unit of work as units.jsonl and the index say it: its row.
 *
 * Made by the units of a run (units.h), read by the index (index.h), the writer's
 * exporters and its messages. Types only: no code, no includes of the project.
 */
#ifndef FT_LIB_UNITROW_H
#define FT_LIB_UNITROW_H

#include <stdint.h>

/* A finished unit of work (a test, a request, a --unit call): its row in units.jsonl and in
 * the index. Strings are owned by the run; paths are relative to the run's directory and
 * NULL when the unit's files were not kept. */
struct ft_unit_row {
    uint64_t id;
    const char *kind; /* pytest, unittest, wsgi, asgi, function */
    const char *name;
    const char *outcome; /* passed, failed, skipped, error (tests); ok, failed (others) */
    int failed;          /* outcome is failed or error */
    uint64_t start_us, duration_us, calls;
    const char *tree, *events;
    int status; /* HTTP status, 0 if none */
    const char *request_id, *method, *path;
    const char *error;      /* "Type: message" of the exception that failed it, or NULL */
    const char *error_path; /* the calls down to where it was raised, "a > b > c" */
};

#endif
