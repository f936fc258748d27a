/* summary.c - flowtrace-run's lines from the writer's runs file: failed units as they end,
 * the closing lines. */
#define _GNU_SOURCE
#include "summary.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS  8
#define MAX_OUTSIDE 4

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

/* How a root run ended badly, in words (from the runs file's how and status fields), or
 * NULL if it ended well or as no failure: exit 0, exec'd into another run, detached. */
static const char *
bad_end(const char *how, const char *status, char *buf, size_t cap)
{
    if (strcmp(how, "exit") == 0) {
        if (strcmp(status, "0") == 0 || strcmp(status, "-") == 0) {
            return NULL;
        }
        snprintf(buf, cap, "exit status %s", status);
    } else if (strcmp(how, "os._exit") == 0) {
        if (strcmp(status, "0") == 0) {
            return NULL;
        }
        snprintf(buf, cap, "os._exit(%s)", status);
    } else if (strcmp(how, "exception") == 0) {
        snprintf(buf, cap, "an uncaught exception");
    } else if (strcmp(how, "signal") == 0) {
        snprintf(buf, cap, "killed by a signal");
    } else if (strcmp(how, "killed") == 0) {
        snprintf(buf, cap, "ended without a word (killed)");
    } else {
        return NULL;
    }
    return buf;
}

void
ft_summary_follow(struct ft_summary *s, FILE *f)
{
    FILE *in = fopen(s->runs_file, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    if (in == NULL || fseek(in, s->printed, SEEK_SET) != 0) {
        goto out;
    }
    /* A line not ended yet is read again next time, whole. */
    while ((len = getline(&line, &cap, in)) > 0 && line[len - 1] == '\n') {
        char *fl[MAX_FIELDS];
        s->printed += (long)len;
        line[len - 1] = '\0';
        if (fields_of(line, fl) == 5 && strcmp(fl[0], "unit") == 0) {
            print_unit(f, fl);
        }
    }
out:
    free(line);
    if (in != NULL) {
        fclose(in);
    }
}

/* What the closing lines count, and the root runs that ended badly. */
struct tally {
    int runs, roots, failed_units, unwritten, outside;
    char outside_line[MAX_OUTSIDE][4096 + 128];
};

/* One line of the runs file (split into n fields): a run's line printed to f, a failed
 * unit's to units unless it was printed already. */
static void
take_line(struct tally *t, char *fl[MAX_FIELDS], int n, int printed, FILE *f, FILE *units,
          double seconds)
{
    if (strcmp(fl[0], "unit") == 0) {
        if (n == 5 && !printed) {
            print_unit(units, fl);
        }
        t->failed_units += n == 5;
        return;
    }
    if (strcmp(fl[0], "unwritten") == 0) {
        t->unwritten++;
        return;
    }
    if (n < 8) {
        return;
    }
    /* id path pid parent how status calls script */
    t->runs++;
    if (strcmp(fl[3], "-") == 0) {
        char why[64];
        t->roots++;
        fprintf(f, "[FlowTrace] Profiling finished in %.3fs (script=%s) -> %s\n", seconds, fl[7],
                fl[1]);
        if (t->outside < MAX_OUTSIDE && bad_end(fl[4], fl[5], why, sizeof(why)) != NULL) {
            snprintf(t->outside_line[t->outside++], sizeof(t->outside_line[0]), "%s -> %s", why,
                     fl[1]);
        }
    }
}

void
ft_summary_print(const struct ft_summary *s, FILE *f, const char *out, double seconds,
                 int rebuilt_any)
{
    FILE *in = fopen(s->runs_file, "re"), *units;
    char *line = NULL, *unit_lines = NULL;
    size_t cap = 0, units_len = 0;
    ssize_t len;
    long at = 0;
    struct tally t = {0};

    /* The failed units not printed yet come after the runs. */
    units = open_memstream(&unit_lines, &units_len);
    if (units == NULL) {
        units = f;
    }
    while (in != NULL && (len = getline(&line, &cap, in)) > 0) {
        char *fl[MAX_FIELDS];
        int printed = at < s->printed;
        at += (long)len;
        if (line[len - 1] == '\n') {
            line[len - 1] = '\0';
        }
        int n = fields_of(line, fl);
        take_line(&t, fl, n, printed, f, units, seconds);
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
    /* A run that failed before or outside its units (pytest that could not collect, a
     * script that exited 2) must not read as green in a CI log. */
    for (int i = 0; t.failed_units == 0 && i < t.outside; i++) {
        fprintf(f,
                "[FlowTrace] FAILED outside any unit: %s (flowtrace report -d %s for "
                "details)\n",
                t.outside_line[i], out);
    }
    if (t.runs > t.roots) {
        fprintf(f, "[FlowTrace] %d more run(s) of child processes in %s\n", t.runs - t.roots, out);
    } else if (t.runs == 0 && (t.unwritten > 0 || t.failed_units > 0) && !rebuilt_any) {
        /* A process was traced, but its run was not written (nothing of it reached the
         * disk; the writer's line says why); its directory holds at most units.jsonl,
         * which FAILED lines above name. */
        fprintf(f, "[FlowTrace] Profiling finished in %.3fs: no run written in %s (see above)\n",
                seconds, out);
    } else if (t.runs == 0 && !rebuilt_any) {
        fprintf(f, "[FlowTrace] Profiling finished in %.3fs: no Python process was traced\n",
                seconds);
    }
}
