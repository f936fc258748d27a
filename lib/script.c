/* script.c - what a person calls a traced program (script.h). */
#include "script.h"

#include <stdio.h>
#include <string.h>

void
ft_script_name(const char *argv, uint64_t len, char *out, size_t cap)
{
    const char *p = argv, *end = argv + len;
    int first = 1;

    snprintf(out, cap, "?");
    while (argv != NULL && p < end) {
        const char *a = p;
        p += strnlen(p, (size_t)(end - p)) + 1;
        if (first) { /* the interpreter itself */
            first = 0;
            continue;
        }
        if (strcmp(a, "-m") == 0 && p < end) {
            snprintf(out, cap, "-m %s", p);
            return;
        }
        if (strcmp(a, "-c") == 0) {
            snprintf(out, cap, "-c");
            return;
        }
        if (a[0] != '-') {
            const char *slash = strrchr(a, '/');
            snprintf(out, cap, "%s", slash ? slash + 1 : a);
            return;
        }
        if (strcmp(a, "-W") == 0 || strcmp(a, "-X") == 0) {
            p += p < end ? strnlen(p, (size_t)(end - p)) + 1 : 0; /* skip the option's value */
        }
    }
    if (argv != NULL && len > 0) {
        snprintf(out, cap, "%s", "<stdin>");
    }
}
