/* slurp.h - reads a file a run wrote, for unit tests (include after cmocka.h).
 *
 * slurp(dir, run, name) returns DIR/RUN/NAME's bytes, NUL-terminated, malloc'd (the
 * caller frees), or NULL if the file does not exist.
 */
#ifndef FT_TESTS_SLURP_H
#define FT_TESTS_SLURP_H

#include <stdio.h>
#include <stdlib.h>

static inline char *
slurp(const char *dir, const char *run, const char *name)
{
    char path[256];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s/%s", dir, run, name);
    f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

#endif
