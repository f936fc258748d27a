/* cmd_report.c - `flowtrace report`: a run's units of work as JUnit XML or Markdown, for CI. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "units.h"

static const char report_usage[] =
    "usage: flowtrace report [-d DIR] [--format junit|markdown] [-o FILE] [RUN]\n"
    "\n"
    "Writes the units of work of RUN (default: the latest run), tests or requests, as a\n"
    "JUnit XML report (a failed unit's failure text is the path of calls down to the\n"
    "exception that failed it) or as Markdown for a CI job summary.\n"
    "\n"
    "  -d, --dir DIR         output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  -f, --format FORMAT   junit (default) or markdown\n"
    "  -o, --output FILE     where to write (default: standard output)\n"
    "  -h, --help            show this help\n";

/* Text escaped for XML content and attributes. */
static void
put_xml(struct ft_buf *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<') {
            ft_buf_puts(b, "&lt;");
        } else if (c == '>') {
            ft_buf_puts(b, "&gt;");
        } else if (c == '&') {
            ft_buf_puts(b, "&amp;");
        } else if (c == '"') {
            ft_buf_puts(b, "&quot;");
        } else if (c < 0x20 && c != '\n' && c != '\t') {
            ft_buf_putc(b, ' '); /* not allowed in XML 1.0 */
        } else {
            ft_buf_putc(b, (char)c);
        }
    }
}

/* Markdown table cells: pipes escaped, newlines flattened. */
static void
put_md(struct ft_buf *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '|') {
            ft_buf_puts(b, "\\|");
        } else {
            ft_buf_putc(b, *s == '\n' ? ' ' : *s);
        }
    }
}

static void
junit(struct ft_buf *b, const char *run, const struct ft_units *u)
{
    size_t failures = 0, errors = 0, skipped = 0;
    double total = 0;

    for (size_t i = 0; i < u->n; i++) {
        failures += strcmp(u->v[i].outcome, "failed") == 0;
        errors += strcmp(u->v[i].outcome, "error") == 0;
        skipped += strcmp(u->v[i].outcome, "skipped") == 0;
        total += u->v[i].duration_us;
    }
    ft_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"");
    put_xml(b, run);
    ft_buf_printf(
        b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.6f\">\n",
        u->n, failures, errors, skipped, total / 1e6);
    for (size_t i = 0; i < u->n; i++) {
        const struct ft_unit_ent *e = &u->v[i];
        const char *sep = strstr(e->name, "::");
        ft_buf_puts(b, "  <testcase classname=\"");
        if (sep != NULL) {
            char *cls = strndup(e->name, (size_t)(sep - e->name));
            put_xml(b, cls);
            free(cls);
        } else {
            put_xml(b, e->kind);
        }
        ft_buf_puts(b, "\" name=\"");
        put_xml(b, sep != NULL ? sep + 2 : e->name);
        ft_buf_printf(b, "\" time=\"%.6f\"", e->duration_us / 1e6);
        if (!e->failed && strcmp(e->outcome, "skipped") != 0) {
            ft_buf_puts(b, "/>\n");
            continue;
        }
        ft_buf_puts(b, ">\n");
        if (!e->failed) {
            ft_buf_puts(b, "    <skipped/>\n");
        } else {
            ft_buf_puts(b, strcmp(e->outcome, "error") == 0 ? "    <error" : "    <failure");
            ft_buf_puts(b, " message=\"");
            put_xml(b, e->exc_type ? e->exc_type : e->outcome);
            if (e->exc_msg != NULL) {
                ft_buf_puts(b, ": ");
                put_xml(b, e->exc_msg);
            }
            ft_buf_puts(b, "\" type=\"");
            put_xml(b, e->exc_type ? e->exc_type : e->outcome);
            ft_buf_puts(b, "\">");
            if (e->exc_path != NULL) {
                put_xml(b, e->exc_path);
                ft_buf_puts(b, "\n");
            }
            if (e->exc_type != NULL) {
                put_xml(b, e->exc_type);
                ft_buf_puts(b, ": ");
                put_xml(b, e->exc_msg);
                ft_buf_puts(b, "\n");
            }
            if (e->status > 0) {
                ft_buf_printf(b, "HTTP status %ld\n", e->status);
            }
            if (e->tree != NULL) {
                ft_buf_puts(b, "Trace: ");
                put_xml(b, e->tree);
                ft_buf_puts(b, "\n");
            }
            ft_buf_puts(b, strcmp(e->outcome, "error") == 0 ? "</error>\n" : "</failure>\n");
        }
        ft_buf_puts(b, "  </testcase>\n");
    }
    ft_buf_puts(b, "</testsuite>\n</testsuites>\n");
}

static void
markdown(struct ft_buf *b, const char *run, const struct ft_units *u)
{
    size_t bad = 0, counts[4] = {0};
    static const char *const names[4] = {"passed", "skipped", "failed", "error"};

    for (size_t i = 0; i < u->n; i++) {
        bad += (size_t)u->v[i].failed;
        for (int k = 0; k < 4; k++) {
            counts[k] += strcmp(u->v[i].outcome, names[k]) == 0;
        }
    }
    ft_buf_printf(b, "### FlowTrace: %s %zu of %zu units failed\n\nRun `", bad ? "❌" : "✅", bad,
                  u->n);
    put_md(b, run);
    ft_buf_printf(b, "`: %zu passed, %zu failed, %zu errors, %zu skipped, %zu others.\n", counts[0],
                  counts[2], counts[3], counts[1],
                  u->n - counts[0] - counts[1] - counts[2] - counts[3]);
    if (bad == 0) {
        return;
    }
    ft_buf_puts(b, "\n| unit | outcome | where it failed | trace |\n|---|---|---|---|\n");
    for (size_t i = 0; i < u->n; i++) {
        const struct ft_unit_ent *e = &u->v[i];
        if (!e->failed) {
            continue;
        }
        ft_buf_puts(b, "| `");
        put_md(b, e->name);
        ft_buf_printf(b, "` | %s", e->outcome);
        if (e->status > 0) {
            ft_buf_printf(b, " (HTTP %ld)", e->status);
        }
        ft_buf_puts(b, " | ");
        if (e->exc_path != NULL) {
            ft_buf_puts(b, "`");
            put_md(b, e->exc_path);
            ft_buf_puts(b, "` ");
        }
        if (e->exc_type != NULL) {
            ft_buf_puts(b, "**");
            put_md(b, e->exc_type);
            ft_buf_puts(b, "**: ");
            put_md(b, e->exc_msg);
        }
        ft_buf_puts(b, " | ");
        put_md(b, e->tree ? e->tree : "-");
        ft_buf_puts(b, " |\n");
    }
}

int
ft_cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL, *output = "-", *format = "junit", *slash;
    char rundir[4096], err[4400];
    struct ft_units u;
    struct ft_out o;
    int opt, rc;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:f:o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            fputs(report_usage, stdout);
            return FT_EXIT_OK;
        default:
            return ft_cli_bad_option("report", opt, argv);
        }
    }
    if (strcmp(format, "junit") != 0 && strcmp(format, "markdown") != 0) {
        ft_cli_err("report", "--format '%s' must be junit or markdown", format);
        return FT_EXIT_USAGE;
    }
    if (argc - optind > 1) {
        ft_cli_err("report", "one RUN at most (see 'flowtrace report --help')");
        return FT_EXIT_USAGE;
    }
    if ((rc = ft_cli_find_run("report", ft_cli_dir(dir), optind < argc ? argv[optind] : NULL,
                              rundir, sizeof(rundir))) != FT_EXIT_OK) {
        return rc;
    }
    if (ft_units_read(rundir, &u, err, sizeof(err)) != 0) {
        ft_cli_err("report", "%s", err);
        return FT_EXIT_FAIL;
    }
    if ((rc = ft_cli_out_open("report", output, &o)) == FT_EXIT_OK) {
        slash = strrchr(rundir, '/');
        if (format[0] == 'j') {
            junit(&o.b, slash ? slash + 1 : rundir, &u);
        } else {
            markdown(&o.b, slash ? slash + 1 : rundir, &u);
        }
        rc = ft_cli_out_close("report", &o, !o.b.oom);
    }
    ft_units_free(&u);
    return rc;
}
