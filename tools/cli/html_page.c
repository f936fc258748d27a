/* html_page.c - the self-contained HTML viewer page of a run or a unit (html_page.h). */
#include "html_page.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "html_cols.h"
#include "html_src.h"
#include "tree.h"
#include "view.h"
#include "viewer.h"

static void
put_exception(struct ft_buf *b, const char *type, const char *module, const char *msg)
{
    if (type == NULL) {
        ft_buf_puts(b, "null");
        return;
    }
    ft_buf_puts(b, "{\"type\":");
    ft_cli_json_str(b, type);
    ft_buf_puts(b, ",\"module\":");
    ft_cli_json_str(b, module ? module : "");
    ft_buf_puts(b, ",\"message\":");
    ft_cli_json_str(b, msg ? msg : "");
    ft_buf_putc(b, '}');
}

static void
put_run(struct ft_buf *b, const struct ft_tree *t)
{
    ft_buf_printf(b, "\"run\":{\"format\":%d,\"id\":", t->format);
    ft_cli_json_str(b, t->run ? t->run : "?");
    ft_buf_puts(b, ",\"argv\":[");
    for (size_t i = 0; i < t->argc; i++) {
        if (i > 0) {
            ft_buf_putc(b, ',');
        }
        ft_cli_json_str(b, t->argv[i]);
    }
    ft_buf_puts(b, "],\"python\":");
    ft_cli_json_str(b, t->python ? t->python : "?");
    ft_buf_puts(b, ",\"ended\":");
    ft_cli_json_str(b, t->ended ? t->ended : "?");
    ft_buf_printf(b,
                  ",\"signal\":%d,\"pid\":%llu,\"start\":%.0f,\"durationMicros\":%.3f,"
                  "\"lost\":%llu,\"exitCode\":",
                  t->signal, (unsigned long long)t->pid, t->start_us, t->dur_us,
                  (unsigned long long)t->lost);
    if (t->have_exit_code) {
        ft_buf_printf(b, "%d", t->exit_code);
    } else {
        ft_buf_puts(b, "null");
    }
    ft_buf_puts(b, ",\"exception\":");
    put_exception(b, t->exc_type, t->exc_module, t->exc_msg);
    ft_buf_puts(b, ",\"notices\":[");
    for (size_t i = 0; i < t->nnotices; i++) {
        if (i > 0) {
            ft_buf_putc(b, ',');
        }
        ft_cli_json_str(b, t->notices[i]);
    }
    ft_buf_puts(b, "]}");
}

static void
put_opt_str(struct ft_buf *b, const char *key, const char *s)
{
    ft_buf_printf(b, ",\"%s\":", key);
    if (s != NULL) {
        ft_cli_json_str(b, s);
    } else {
        ft_buf_puts(b, "null");
    }
}

/* A unit: its units.jsonl fields the page shows, and its call (-1: not in the page). */
static void
put_unit(struct ft_buf *b, const struct ft_unit_ent *e, int64_t call)
{
    ft_buf_printf(b, "{\"id\":%llu,\"call\":%lld,\"durationMicros\":%.3f,\"calls\":%llu",
                  (unsigned long long)e->id, (long long)call, e->duration_us,
                  (unsigned long long)e->calls);
    put_opt_str(b, "kind", e->kind);
    put_opt_str(b, "name", e->name);
    put_opt_str(b, "outcome", e->outcome);
    put_opt_str(b, "requestId", e->request_id);
    put_opt_str(b, "exceptionPath", e->exc_path);
    ft_buf_puts(b, ",\"status\":");
    if (e->status > 0) {
        ft_buf_printf(b, "%ld", e->status);
    } else {
        ft_buf_puts(b, "null");
    }
    ft_buf_puts(b, ",\"exception\":");
    put_exception(b, e->exc_type, NULL, e->exc_msg);
    ft_buf_printf(b, ",\"kept\":%s}", e->tree != NULL ? "true" : "false");
}

static void
put_units(struct ft_out *o, const struct ft_html_page *p)
{
    const struct ft_view *v = p->v;
    struct ft_buf *b = &o->b;

    ft_buf_puts(b, ",\n\"unit\":");
    if (v->unit != NULL) {
        size_t k = (size_t)(v->unit - v->units.v);
        put_unit(b, v->unit, p->unit_calls[k]);
    } else {
        ft_buf_puts(b, "null");
    }
    ft_buf_puts(b, ",\n\"units\":[");
    for (size_t i = 0, n = 0; i < v->units.n; i++) {
        /* A unit's page lists that unit; a run's, every unit. */
        if (v->unit != NULL && &v->units.v[i] != v->unit) {
            continue;
        }
        ft_buf_puts(b, n++ ? ",\n" : "");
        put_unit(b, &v->units.v[i], p->unit_calls[i]);
        ft_cli_out_flush(o, 0);
    }
    ft_buf_putc(b, ']');
}

/* The source of the calls: kept with the run (the maps of the run's and the units'
 * trees), else from disk. */
static void
put_sources(struct ft_out *o, const struct ft_html_page *p, struct ft_html_cols *h)
{
    const char **maps = calloc(p->nmaps + 1, sizeof(*maps));
    struct ft_html_src_from from = {p->v->rundir, maps, 0, p->v->t->start_us};

    if (maps == NULL) {
        h->oom = 1;
        return;
    }
    for (size_t i = 0; i < p->nmaps; i++) {
        if (i == 0 || p->maps[i] != NULL) { /* the run's first, even without one */
            maps[from.nmaps++] = p->maps[i];
        }
    }
    ft_html_src_put(h, o, &from);
    free((void *)maps);
}

static void
put_data(struct ft_out *o, const struct ft_html_page *p, struct ft_html_cols *h,
         ft_html_extra_fn extra, void *ctx)
{
    ft_buf_puts(&o->b, "{\"v\":2,");
    put_run(&o->b, p->v->t);
    put_units(o, p);
    if (extra != NULL) {
        extra(ctx, h, o);
    }
    put_sources(o, p, h);
    ft_html_cols_put(h, o);
    ft_buf_puts(&o->b, "}");
}

/* The template around the markers: html up to CSS, CSS, up to data, data, up to JS,
 * the script's files in one function scope, the rest. */
static int
put_page(struct ft_out *o, const struct ft_html_page *p, struct ft_html_cols *h,
         ft_html_extra_fn extra, void *ctx)
{
    const char *css = strstr(ft_viewer_html, FT_VIEWER_MARK_CSS);
    const char *data = strstr(ft_viewer_html, FT_VIEWER_MARK_DATA);
    const char *js = strstr(ft_viewer_html, FT_VIEWER_MARK_JS);
    struct ft_buf *b = &o->b;

    if (css == NULL || data == NULL || js == NULL || !(css < data && data < js)) {
        return -EINVAL; /* a broken build, caught by the tests */
    }
    ft_buf_put(b, ft_viewer_html, (size_t)(css - ft_viewer_html));
    ft_buf_puts(b, ft_viewer_css);
    css += strlen(FT_VIEWER_MARK_CSS);
    ft_buf_put(b, css, (size_t)(data - css));
    put_data(o, p, h, extra, ctx);
    data += strlen(FT_VIEWER_MARK_DATA);
    ft_buf_put(b, data, (size_t)(js - data));
    ft_buf_puts(b, "(function () {\n'use strict';\n");
    for (size_t i = 0; ft_viewer_js[i] != NULL; i++) {
        ft_buf_puts(b, ft_viewer_js[i]);
    }
    ft_buf_puts(b, "})();\n");
    js += strlen(FT_VIEWER_MARK_JS);
    ft_buf_puts(b, js);
    return h->oom || b->oom ? -ENOMEM : 0;
}

int
ft_html_page_put(const char *cmd, const struct ft_html_page *p, struct ft_html_cols *h,
                 const char *output, ft_html_extra_fn extra, void *ctx)
{
    struct ft_out o;
    int rc;

    if ((rc = ft_cli_out_open(cmd, output, &o)) == FT_EXIT_OK) {
        int ok = put_page(&o, p, h, extra, ctx) == 0;
        if (!ok) {
            ft_cli_err(cmd, "out of memory");
        }
        rc = ft_cli_out_close(cmd, &o, ok);
    }
    return rc;
}

int
ft_html_page_write(const char *cmd, const struct ft_view *v, const char *output,
                   ft_html_extra_fn extra, void *ctx)
{
    struct ft_html_cols h = {0};
    const char **maps = calloc(v->nparts + 1, sizeof(*maps));
    int64_t *calls = calloc(v->units.n + 1, sizeof(*calls));
    int rc = FT_EXIT_FAIL;

    if (maps == NULL || calls == NULL || ft_html_cols_collect(&h, v->t) != 0) {
        ft_cli_err(cmd, "out of memory");
    } else {
        struct ft_html_page p = {v, calls, maps, 0};
        maps[p.nmaps++] = v->sources;
        for (size_t i = 0; i < v->nparts; i++) {
            maps[p.nmaps++] = v->parts[i]->sources;
        }
        for (size_t i = 0; i < v->units.n; i++) {
            calls[i] = v->roots[i] != NULL ? (int64_t)v->roots[i]->mark - 1 : -1;
        }
        rc = ft_html_page_put(cmd, &p, &h, output, extra, ctx);
    }
    free((void *)maps);
    free(calls);
    ft_html_cols_free(&h);
    return rc;
}
