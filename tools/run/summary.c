/* summary.c - flowtrace-run's closing lines, from the writer's runs file. */
#define _GNU_SOURCE
#include "summary.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 8

/* Splits line at tabs into at most MAX_FIELDS fields (in place); returns their number. */
static int
fields_of(char *line, char *f[MAX_FIELDS])
{
    int n = 0;

    for (char *p = line; n < MAX_FIELDS;) {
        f[n++] = p;
        p = strchr(p, '\t');
        if (p == NULL) {
            break;
        }
        *p++ = '\0';
    }
    return n;
}

void
ft_summary_rebuilt(FILE *f, int sig, const char *rebuilt)
{
    char *copy = strdup(rebuilt ? rebuilt : ""), *save = NULL, *line;
    int n = 0;

    for (const char *p = rebuilt; p != NULL && *p; p++) {
        n += *p == '\n';
    }
    fprintf(f,
            "[FlowTrace] flowtrace-writer stopped during the run (signal %d); rebuilt %d run(s) "
            "from what it had written\n",
            sig, n);
    for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *fl[MAX_FIELDS];
        if (fields_of(line, fl) == 3) {
            fprintf(f, "[FlowTrace]   %s: %s events, %s lost\n", fl[0], fl[1], fl[2]);
        }
    }
    free(copy);
}

static void
print_unit(FILE *f, char *fl[MAX_FIELDS])
{
    /* unit TAB outcome TAB tree TAB name TAB error */
    fputs("[FlowTrace] ", f);
    for (const char *p = fl[1]; *p; p++) {
        fputc(toupper((unsigned char)*p), f);
    }
    fprintf(f, ": %s -> %s", fl[3], fl[2]);
    if (strcmp(fl[4], "-") != 0) {
        fprintf(f, " (%s)", fl[4]);
    }
    fputc('\n', f);
}

void
ft_summary_print(FILE *f, const char *runs_file, const char *out, double seconds, int rebuilt_any)
{
    FILE *in = fopen(runs_file, "re"), *units;
    char *line = NULL, *unit_lines = NULL;
    size_t cap = 0, units_len = 0;
    ssize_t len;
    int runs = 0, roots = 0;

    /* The failed units come after the runs, as they did before. */
    units = open_memstream(&unit_lines, &units_len);
    if (units == NULL) {
        units = f;
    }

    while (in != NULL && (len = getline(&line, &cap, in)) > 0) {
        char *fl[MAX_FIELDS];
        int n;
        if (line[len - 1] == '\n') {
            line[len - 1] = '\0';
        }
        n = fields_of(line, fl);
        if (strcmp(fl[0], "unit") == 0) {
            if (n == 5) {
                print_unit(units, fl);
            }
            continue;
        }
        if (n < 8) {
            continue;
        }
        /* id path pid parent how status calls script */
        runs++;
        if (strcmp(fl[3], "-") == 0) {
            roots++;
            fprintf(f, "[FlowTrace] Profiling finished in %.3fs (script=%s) -> %s\n", seconds,
                    fl[7], fl[1]);
        }
    }
    free(line);
    if (in != NULL) {
        fclose(in);
    }
    if (units != f) {
        fclose(units);
        fwrite(unit_lines, 1, units_len, f);
        free(unit_lines);
    }
    if (runs > roots) {
        fprintf(f, "[FlowTrace] %d more run(s) of child processes in %s\n", runs - roots, out);
    } else if (runs == 0 && !rebuilt_any) {
        fprintf(f, "[FlowTrace] Profiling finished in %.3fs: no Python process was traced\n",
                seconds);
    }
}
