/* cmd_report.c - `flowtrace report`: a run's units of work as JUnit XML or Markdown, for CI. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "units.h"
#include "verdict.h"

static const char report_usage[] =
    "usage: flowtrace report [-d DIR] [--format junit|markdown] [-o FILE] [RUN]\n"
    "\n"
    "Writes the units of work of RUN (default: the latest run) and of the runs it started\n"
    "(pytest-xdist's workers), tests or requests, as a JUnit XML report (a failed unit's\n"
    "failure text is the path of calls down to the exception that failed it) or as\n"
    "Markdown for a CI job summary. A run that failed outside any unit (a test module\n"
    "that did not import, a usage or internal error, a script that died) is reported as\n"
    "an error too, never as a green report.\n"
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
        } else if (*s == '\n') {
            ft_buf_putc(b, ' ');
        } else {
            ft_buf_putc(b, *s);
        }
    }
}

/* Report counts: units by outcome, and failures outside any unit. */
struct counts {
    size_t passed, failed, errors, skipped, others, outside;
    double total_us;
};

static struct counts
count(const struct ft_units *u, const struct ft_verdict *v)
{
    struct counts k = {0};

    for (size_t i = 0; i < u->n; i++) {
        const char *o = u->v[i].outcome;
        k.passed += strcmp(o, "passed") == 0 || strcmp(o, "ok") == 0;
        k.failed += strcmp(o, "failed") == 0;
        k.errors += strcmp(o, "error") == 0;
        k.skipped += strcmp(o, "skipped") == 0;
        k.total_us += u->v[i].duration_us;
    }
    k.others = u->n - k.passed - k.failed - k.errors - k.skipped;
    k.outside = v->n;
    return k;
}

/* The text of a <failure>/<error>: the exception path, the exception, the tree. */
static void
junit_failure_text(struct ft_buf *b, const struct ft_unit_ent *e)
{
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
}

static void
junit_unit(struct ft_buf *b, const struct ft_unit_ent *e)
{
    const char *sep = strstr(e->name, "::");
    const char *tag = strcmp(e->outcome, "error") == 0 ? "error" : "failure";

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
        return;
    }
    ft_buf_puts(b, ">\n");
    if (!e->failed) {
        ft_buf_puts(b, "    <skipped/>\n  </testcase>\n");
        return;
    }
    ft_buf_printf(b, "    <%s message=\"", tag);
    put_xml(b, e->exc_type ? e->exc_type : e->outcome);
    if (e->exc_msg != NULL) {
        ft_buf_puts(b, ": ");
        put_xml(b, e->exc_msg);
    }
    ft_buf_puts(b, "\" type=\"");
    put_xml(b, e->exc_type ? e->exc_type : e->outcome);
    ft_buf_puts(b, "\">");
    junit_failure_text(b, e);
    ft_buf_printf(b, "</%s>\n  </testcase>\n", tag);
}

/* A failure outside any unit: an <error> testcase naming the module or the program. */
static void
junit_outside(struct ft_buf *b, const struct ft_outside *o, const char *rundir)
{
    ft_buf_puts(b, "  <testcase classname=\"");
    put_xml(b, o->import ? o->name : "flowtrace");
    ft_buf_puts(b, "\" name=\"");
    put_xml(b, o->import ? "import" : o->name);
    ft_buf_puts(b, "\"");
    if (o->file != NULL) {
        ft_buf_puts(b, " file=\"");
        put_xml(b, o->file);
        ft_buf_puts(b, "\"");
    }
    ft_buf_puts(b, " time=\"0\">\n    <error message=\"");
    put_xml(b, o->type);
    if (o->message != NULL) {
        ft_buf_puts(b, ": ");
        put_xml(b, o->message);
    }
    ft_buf_puts(b, "\" type=\"");
    put_xml(b, o->type);
    ft_buf_puts(b, "\">");
    if (o->import) {
        ft_buf_puts(b, "The module ");
        put_xml(b, o->name);
        ft_buf_puts(b, " (");
        put_xml(b, o->file);
        ft_buf_puts(b, ") did not import, outside any test: its tests did not run.\n");
    } else {
        ft_buf_puts(b, "The program failed outside any test or request: ");
        put_xml(b, o->type);
        ft_buf_puts(b, ".\n");
    }
    ft_buf_puts(b, "Trace: ");
    put_xml(b, rundir);
    ft_buf_puts(b, "/tree.json\n</error>\n  </testcase>\n");
}

static void
junit(struct ft_buf *b, const char *rundir, const struct ft_units *u, const struct ft_verdict *v)
{
    struct counts k = count(u, v);
    const char *slash = strrchr(rundir, '/');

    ft_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"");
    put_xml(b, slash ? slash + 1 : rundir);
    ft_buf_printf(
        b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.6f\">\n",
        u->n + k.outside, k.failed, k.errors + k.outside, k.skipped, k.total_us / 1e6);
    for (size_t i = 0; i < v->n; i++) {
        junit_outside(b, &v->v[i], rundir);
    }
    for (size_t i = 0; i < u->n; i++) {
        junit_unit(b, &u->v[i]);
    }
    ft_buf_puts(b, "</testsuite>\n</testsuites>\n");
}

static void
markdown_outside(struct ft_buf *b, const struct ft_verdict *v)
{
    ft_buf_puts(b, "\n| outside any unit | what failed |\n|---|---|\n");
    for (size_t i = 0; i < v->n; i++) {
        const struct ft_outside *o = &v->v[i];
        ft_buf_puts(b, o->import ? "| import of `" : "| the program `");
        put_md(b, o->name);
        ft_buf_puts(b, "`");
        if (o->file != NULL) {
            ft_buf_puts(b, " (");
            put_md(b, o->file);
            ft_buf_puts(b, ")");
        }
        ft_buf_puts(b, " | **");
        put_md(b, o->type);
        ft_buf_puts(b, "**");
        if (o->message != NULL) {
            ft_buf_puts(b, ": ");
            put_md(b, o->message);
        }
        ft_buf_puts(b, " |\n");
    }
}

static void
markdown_units(struct ft_buf *b, const struct ft_units *u)
{
    ft_buf_puts(b, "\n| unit | outcome | where it failed | trace |\n|---|---|---|---|\n");
    for (size_t i = 0; i < u->n; i++) {
        const struct ft_unit_ent *e = &u->v[i];
        if (!e->failed) {
            continue;
        }
        ft_buf_puts(b, "| `");
        put_md(b, e->name);
        if (e->status > 0) {
            ft_unit_put_outcome(b, e); /* a request's headline: GET /boom -> 500 · 3.20ms */
        }
        ft_buf_printf(b, "` | %s | ", e->outcome);
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

static void
markdown(struct ft_buf *b, const char *rundir, const struct ft_units *u, const struct ft_verdict *v)
{
    struct counts k = count(u, v);
    size_t bad = k.failed + k.errors;
    const char *slash = strrchr(rundir, '/');

    ft_buf_printf(b, "### FlowTrace: %s ", (bad + k.outside) > 0 ? "❌" : "✅");
    if (k.outside > 0) {
        ft_buf_printf(b, "%zu failure%s outside any unit; ", k.outside, k.outside == 1 ? "" : "s");
    }
    ft_buf_printf(b, "%zu of %zu units failed\n\nRun `", bad, u->n);
    put_md(b, slash ? slash + 1 : rundir);
    ft_buf_printf(b, "`: %zu passed, %zu failed, %zu errors, %zu skipped, %zu others.\n", k.passed,
                  k.failed, k.errors, k.skipped, k.others);
    if (k.outside > 0) {
        markdown_outside(b, v);
    }
    if (bad > 0) {
        markdown_units(b, u);
    }
}

static int
write_report(const char *format, const char *output, const char *rundir, const struct ft_units *u,
             const struct ft_verdict *v)
{
    struct ft_out o;
    int rc = ft_cli_out_open("report", output, &o);

    if (rc == FT_EXIT_OK) {
        if (format[0] == 'j') {
            junit(&o.b, rundir, u, v);
        } else {
            markdown(&o.b, rundir, u, v);
        }
        rc = ft_cli_out_close("report", &o, !o.b.oom);
    }
    return rc;
}

int
ft_cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL, *output = "-", *format = "junit";
    const struct ft_run_entry *root;
    struct ft_catalog c;
    struct ft_verdict v;
    struct ft_units u;
    char err[4400];
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
    rc = ft_cli_find_run_in("report", ft_cli_dir(dir), optind < argc ? argv[optind] : NULL, &c,
                            &root);
    if (rc != FT_EXIT_OK) {
        return rc;
    }
    if (ft_units_of_family(&c, root, &u, err, sizeof(err)) != 0) {
        ft_cli_err("report", "%s", err);
        ft_catalog_free(&c);
        return FT_EXIT_FAIL;
    }
    if (ft_verdict_load(&c, root, &u, &v) != 0) {
        ft_cli_err("report", "out of memory");
        rc = FT_EXIT_FAIL;
    } else {
        rc = write_report(format, output, root->path, &u, &v);
        ft_verdict_free(&v);
    }
    ft_units_free(&u);
    ft_catalog_free(&c);
    return rc;
}
