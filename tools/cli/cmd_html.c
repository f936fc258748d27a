/* cmd_html.c - `flowtrace html`: one self-contained HTML file showing a run.
 *
 * The run is embedded compactly, as columns over the calls in pre-order plus a string
 * table (docs/cli.md, "html"): a million calls take about 12 bytes each, and the page
 * decodes them into typed arrays and draws only the rows on screen.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "units.h"
#include "tree.h"
#include "viewer.h"
#include "walk.h"

static const char html_usage[] =
    "usage: flowtrace html [-d DIR] [-o FILE] [--unit ID|NAME] [RUN]\n"
    "\n"
    "Writes RUN (default: the latest run) as one HTML file that needs nothing else (no\n"
    "network, no other files): the call tree with expand/collapse, search across function\n"
    "and class names, call details in floating panels, badges, repeated calls grouped,\n"
    "dark and light themes, English and Spanish. Runs of millions of calls stay fluid.\n"
    "\n"
    "  -d, --dir DIR       output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  -o, --output FILE   where to write (default: RUN.html in the current directory)\n"
    "  --unit ID|NAME      one unit of work of the run (a test, a request): its tree\n"
    "  -h, --help          show this help\n";

/* ---- Growable columns and tables ------------------------------------------------------ */

struct col {
    int64_t *v;
    size_t n, cap;
};

static int
col_push(struct col *c, int64_t v)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        int64_t *nv = realloc(c->v, cap * sizeof(*nv));
        if (nv == NULL) {
            return -ENOMEM;
        }
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = v;
    return 0;
}

/* Open addressing over indexes + 1, for the string and code tables. */
struct table {
    size_t *slots;
    size_t nslots, n;
};

static int
table_grow(struct table *t, size_t (*rehash)(const void *ctx, size_t i), const void *ctx)
{
    size_t nslots = t->nslots ? t->nslots * 2 : 4096;
    size_t *slots = calloc(nslots, sizeof(*slots));

    if (slots == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->n; i++) {
        size_t s = rehash(ctx, i) & (nslots - 1);
        while (slots[s] != 0) {
            s = (s + 1) & (nslots - 1);
        }
        slots[s] = i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

struct html {
    const struct ft_tree *t;
    struct ft_out o;
    /* strings */
    const char **strs;
    size_t strs_cap;
    struct table st;
    /* codes: a representative call each */
    const struct ft_node **codes;
    size_t codes_cap;
    struct table ct;
    /* per-call columns, in pre-order */
    struct col code, size, start, dur, arg_n, args, after_n, after, result, inst;
    /* sparse: call then values */
    struct col exc, inc, mem, gen, caller;
    int have_args, have_after, have_result, have_inst;
    int oom;
};

static uint64_t
hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

static size_t
rehash_str(const void *ctx, size_t i)
{
    return (size_t)hash_str(((const struct html *)ctx)->strs[i]);
}

/* The index of s in the string table (added if new), or -1 for NULL. */
static int64_t
str_index(struct html *h, const char *s)
{
    size_t slot;

    if (s == NULL) {
        return -1;
    }
    if (h->st.n == h->strs_cap) {
        size_t cap = h->strs_cap ? h->strs_cap * 2 : 4096;
        const char **ns = realloc(h->strs, cap * sizeof(*ns));
        if (ns == NULL) {
            h->oom = 1;
            return -1;
        }
        h->strs = ns;
        h->strs_cap = cap;
    }
    if (h->st.n * 2 >= h->st.nslots && table_grow(&h->st, rehash_str, h) != 0) {
        h->oom = 1;
        return -1;
    }
    slot = (size_t)hash_str(s) & (h->st.nslots - 1);
    while (h->st.slots[slot] != 0) {
        if (strcmp(h->strs[h->st.slots[slot] - 1], s) == 0) {
            return (int64_t)h->st.slots[slot] - 1;
        }
        slot = (slot + 1) & (h->st.nslots - 1);
    }
    h->strs[h->st.n] = s;
    h->st.slots[slot] = ++h->st.n;
    return (int64_t)h->st.n - 1;
}

static size_t
rehash_code(const void *ctx, size_t i)
{
    return ft_node_function_hash(((const struct html *)ctx)->codes[i]);
}

/* The code (function) index of a call. Names are interned: pointers compare. */
static int64_t
code_index(struct html *h, const struct ft_node *n)
{
    size_t slot;

    if (h->ct.n * 2 >= h->ct.nslots && table_grow(&h->ct, rehash_code, h) != 0) {
        h->oom = 1;
        return 0;
    }
    slot = ft_node_function_hash(n) & (h->ct.nslots - 1);
    while (h->ct.slots[slot] != 0) {
        if (ft_node_same_function(h->codes[h->ct.slots[slot] - 1], n)) {
            return (int64_t)h->ct.slots[slot] - 1;
        }
        slot = (slot + 1) & (h->ct.nslots - 1);
    }
    if (h->ct.n == h->codes_cap) {
        size_t cap = h->codes_cap ? h->codes_cap * 2 : 1024;
        const struct ft_node **nc = realloc(h->codes, cap * sizeof(*nc));
        if (nc == NULL) {
            h->oom = 1;
            return 0;
        }
        h->codes = nc;
        h->codes_cap = cap;
    }
    h->codes[h->ct.n] = n;
    h->ct.slots[slot] = ++h->ct.n;
    return (int64_t)h->ct.n - 1;
}

/* ---- Collecting the columns ----------------------------------------------------------- */

/* A string column entry: index + 1, 0 for none. */
static int64_t
opt_str(struct html *h, const char *s, int *seen)
{
    if (s == NULL) {
        return 0;
    }
    *seen = 1;
    return str_index(h, s) + 1;
}

static void
push(struct html *h, struct col *c, int64_t v)
{
    if (col_push(c, v) != 0) {
        h->oom = 1;
    }
}

/* A call's argument list: its length into the column count (-1 when the call has none),
 * its names and values (string indexes) onto pool. The page finds a call's list by
 * summing the lengths before it, so no offsets are written. */
static void
push_arg_list(struct html *h, struct col *count, struct col *pool, const struct ft_arg *a,
              uint32_t n, int present, int *seen)
{
    if (!present) {
        push(h, count, -1);
        return;
    }
    *seen = 1;
    push(h, count, n);
    for (uint32_t i = 0; i < n; i++) {
        push(h, pool, str_index(h, a[i].name ? a[i].name : "?"));
        push(h, pool, str_index(h, a[i].value ? a[i].value : "?"));
    }
}

static void
collect_extra(struct html *h, int64_t idx, const struct ft_node *n)
{
    const struct ft_node_extra *x = n->x;

    push_arg_list(h, &h->arg_n, &h->args, x ? x->args : NULL, x ? x->nargs : 0, x && x->have_args,
                  &h->have_args);
    push_arg_list(h, &h->after_n, &h->after, x ? x->after : NULL, x ? x->nafter : 0,
                  x && x->nafter > 0, &h->have_after);
    push(h, &h->result, opt_str(h, x ? x->result : NULL, &h->have_result));
    /* The caller is the parent's function (the page knows it); only the exceptions go. */
    if (x != NULL && x->caller != NULL && (n->parent == NULL || n->parent->function != x->caller)) {
        push(h, &h->caller, idx);
        push(h, &h->caller, str_index(h, x->caller));
    }
    push(h, &h->inst, opt_str(h, x ? x->instance : NULL, &h->have_inst));
    if (n->exc_type != NULL) {
        push(h, &h->exc, idx);
        push(h, &h->exc, strcmp(n->exc_type, "?") != 0 ? str_index(h, n->exc_type) : -1);
        push(h, &h->exc, str_index(h, n->exc_msg));
        push(h, &h->exc, str_index(h, n->exc_module));
    }
    if (n->incomplete != NULL) {
        push(h, &h->inc, idx);
        push(h, &h->inc, str_index(h, n->incomplete));
    }
    if (x != NULL && x->have_memory) {
        const struct ft_mem *m[2] = {&x->mem_before, &x->mem_after};
        push(h, &h->mem, idx);
        for (int k = 0; k < 2; k++) {
            push(h, &h->mem, m[k]->rss);
            push(h, &h->mem, m[k]->tracemalloc);
            push(h, &h->mem, m[k]->peak);
        }
    }
    if (x != NULL && (x->resumes > 0 || x->active_us >= 0)) {
        push(h, &h->gen, idx);
        push(h, &h->gen, (int64_t)x->resumes);
        push(h, &h->gen, x->active_us >= 0 ? (int64_t)(x->active_us * 1000.0) : -1);
    }
}

/* Every call in pre-order; size = the number of calls below, set when the walk leaves
 * a call's subtree (open calls are kept on a stack by depth). */
static int
collect(struct html *h, int64_t *thread_first, size_t nthreads)
{
    struct col open = {0};
    int64_t prev_start = 0;

    for (size_t ti = 0; ti < nthreads; ti++) {
        struct ft_walk w;
        struct ft_walk_call c;
        thread_first[ti] = (int64_t)h->code.n;
        ft_walk_init(&w, h->t->threads[ti].first);
        open.n = 0;
        while (!h->oom && ft_walk_next(&w, &c)) {
            int64_t idx = (int64_t)h->code.n;
            while (open.n > c.depth) {
                int64_t o = open.v[--open.n];
                h->size.v[o] = idx - o - 1;
            }
            push(h, &open, idx);
            push(h, &h->code, code_index(h, c.n));
            push(h, &h->size, 0);
            push(h, &h->start, c.start_ns - prev_start);
            push(h, &h->dur, c.end_ns - c.start_ns);
            prev_start = c.start_ns;
            collect_extra(h, idx, c.n);
        }
        while (open.n > 0 && !h->oom) {
            int64_t o = open.v[--open.n];
            h->size.v[o] = (int64_t)h->code.n - o - 1;
        }
        h->oom |= w.oom;
        ft_walk_close(&w);
    }
    free(open.v);
    return h->oom ? -ENOMEM : 0;
}

/* ---- Writing ----------------------------------------------------------------------------- */

static void
put_col(struct html *h, const char *name, const struct col *c)
{
    struct ft_buf *b = &h->o.b;

    ft_buf_printf(b, ",\n\"%s\":[", name);
    for (size_t i = 0; i < c->n; i++) {
        if (i > 0) {
            ft_buf_putc(b, ',');
        }
        ft_buf_put_i64(b, c->v[i]);
        if ((i & 0xffff) == 0) {
            ft_cli_out_flush(&h->o, 0);
        }
    }
    ft_buf_putc(b, ']');
}

static void
put_run(struct html *h)
{
    const struct ft_tree *t = h->t;
    struct ft_buf *b = &h->o.b;

    ft_buf_puts(b, "\"run\":{\"id\":");
    ft_cli_json_str(b, t->run);
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
    if (t->exc_type != NULL) {
        ft_buf_puts(b, "{\"type\":");
        ft_cli_json_str(b, t->exc_type);
        ft_buf_puts(b, ",\"module\":");
        ft_cli_json_str(b, t->exc_module ? t->exc_module : "");
        ft_buf_puts(b, ",\"message\":");
        ft_cli_json_str(b, t->exc_msg ? t->exc_msg : "");
        ft_buf_putc(b, '}');
    } else {
        ft_buf_puts(b, "null");
    }
    ft_buf_putc(b, '}');
}

static void
put_data(struct html *h, const int64_t *thread_first)
{
    struct ft_buf *b = &h->o.b;
    struct col codes = {0}, threads = {0};
    const struct ft_tree *t = h->t;

    for (size_t i = 0; i < h->ct.n; i++) {
        const struct ft_node *n = h->codes[i];
        push(h, &codes, str_index(h, n->function ? n->function : "?"));
        push(h, &codes, str_index(h, n->module ? n->module : ""));
        push(h, &codes, str_index(h, n->file ? n->file : ""));
        push(h, &codes, n->line);
    }
    for (size_t i = 0; i < t->nthreads; i++) {
        int64_t end = i + 1 < t->nthreads ? thread_first[i + 1] : (int64_t)h->code.n;
        push(h, &threads, str_index(h, t->threads[i].name ? t->threads[i].name : "?"));
        push(h, &threads, (int64_t)t->threads[i].tid);
        push(h, &threads, thread_first[i]);
        push(h, &threads, end - thread_first[i]);
    }
    ft_buf_puts(b, "{\"v\":1,");
    put_run(h);
    ft_buf_puts(b, ",\n\"strings\":[");
    for (size_t i = 0; i < h->st.n; i++) {
        if (i > 0) {
            ft_buf_putc(b, ',');
        }
        ft_cli_json_str(b, h->strs[i]);
        ft_cli_out_flush(&h->o, 0);
    }
    ft_buf_putc(b, ']');
    put_col(h, "codes", &codes);
    ft_buf_puts(b, ",\n\"threads\":[");
    for (size_t i = 0; i < t->nthreads; i++) {
        ft_buf_printf(b, "%s[%lld,%lld,%lld,%lld]", i ? "," : "", (long long)threads.v[i * 4],
                      (long long)threads.v[i * 4 + 1], (long long)threads.v[i * 4 + 2],
                      (long long)threads.v[i * 4 + 3]);
    }
    ft_buf_putc(b, ']');
    put_col(h, "code", &h->code);
    put_col(h, "size", &h->size);
    put_col(h, "start", &h->start);
    put_col(h, "dur", &h->dur);
    put_col(h, "exc", &h->exc);
    put_col(h, "inc", &h->inc);
    put_col(h, "mem", &h->mem);
    put_col(h, "gen", &h->gen);
    put_col(h, "caller", &h->caller);
    if (h->have_args) {
        put_col(h, "argN", &h->arg_n);
        put_col(h, "args", &h->args);
    }
    if (h->have_after) {
        put_col(h, "afterN", &h->after_n);
        put_col(h, "after", &h->after);
    }
    if (h->have_result) {
        put_col(h, "result", &h->result);
    }
    if (h->have_inst) {
        put_col(h, "inst", &h->inst);
    }
    ft_buf_puts(b, "}");
    free(codes.v);
    free(threads.v);
}

/* The template around the markers: html up to CSS, CSS, up to data, data, up to JS,
 * JS, the rest. */
static int
put_page(struct html *h, const int64_t *thread_first)
{
    const char *css = strstr(ft_viewer_html, FT_VIEWER_MARK_CSS);
    const char *data = strstr(ft_viewer_html, FT_VIEWER_MARK_DATA);
    const char *js = strstr(ft_viewer_html, FT_VIEWER_MARK_JS);
    struct ft_buf *b = &h->o.b;

    if (css == NULL || data == NULL || js == NULL || !(css < data && data < js)) {
        return -EINVAL; /* a broken build, caught by the tests */
    }
    ft_buf_put(b, ft_viewer_html, (size_t)(css - ft_viewer_html));
    ft_buf_puts(b, ft_viewer_css);
    css += strlen(FT_VIEWER_MARK_CSS);
    ft_buf_put(b, css, (size_t)(data - css));
    put_data(h, thread_first);
    data += strlen(FT_VIEWER_MARK_DATA);
    ft_buf_put(b, data, (size_t)(js - data));
    ft_buf_puts(b, ft_viewer_js);
    js += strlen(FT_VIEWER_MARK_JS);
    ft_buf_puts(b, js);
    return h->oom ? -ENOMEM : 0;
}

static void
html_free(struct html *h)
{
    struct col *cols[] = {&h->code, &h->size,    &h->start, &h->dur,    &h->arg_n,
                          &h->args, &h->after_n, &h->after, &h->result, &h->inst,
                          &h->exc,  &h->inc,     &h->mem,   &h->gen,    &h->caller};

    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        free(cols[i]->v);
    }
    free(h->strs);
    free(h->st.slots);
    free(h->codes);
    free(h->ct.slots);
}

int
ft_cmd_html(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"unit", required_argument, NULL, 'u'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL, *output = NULL, *unit = NULL;
    char defpath[512];
    struct html h = {0};
    struct ft_tree *t;
    int64_t *thread_first;
    int opt, rc;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:o:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'u':
            unit = optarg;
            break;
        case 'h':
            fputs(html_usage, stdout);
            return FT_EXIT_OK;
        default:
            return ft_cli_bad_option("html", opt, argv);
        }
    }
    if (argc - optind > 1) {
        ft_cli_err("html", "one RUN at most (see 'flowtrace html --help')");
        return FT_EXIT_USAGE;
    }
    if ((rc = ft_units_load_tree("html", ft_cli_dir(dir), optind < argc ? argv[optind] : NULL, unit,
                                 0, &t)) != FT_EXIT_OK) {
        return rc;
    }
    if (output == NULL) {
        snprintf(defpath, sizeof(defpath), "%s.html", t->run);
        output = defpath;
    }
    h.t = t;
    thread_first = calloc(t->nthreads + 1, sizeof(*thread_first));
    rc = thread_first == NULL ? -ENOMEM : collect(&h, thread_first, t->nthreads);
    if (rc == 0 && (rc = ft_cli_out_open("html", output, &h.o)) == FT_EXIT_OK) {
        int ok = put_page(&h, thread_first) == 0;
        if (!ok) {
            ft_cli_err("html", "out of memory");
        }
        rc = ft_cli_out_close("html", &h.o, ok);
        if (rc == FT_EXIT_OK && strcmp(output, "-") != 0) {
            printf("%s\n", output);
        }
    } else if (rc != 0 && rc != FT_EXIT_FAIL) {
        ft_cli_err("html", "out of memory");
        rc = FT_EXIT_FAIL;
    }
    free(thread_first);
    html_free(&h);
    ft_tree_free(t);
    return rc;
}
