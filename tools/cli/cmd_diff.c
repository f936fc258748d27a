/* cmd_diff.c - `flowtrace diff`: where two runs, or two units (a passing and a failing
 * test), parted: the first call made in one and not the other, or made with other
 * arguments, results or exception, with the calls around it; --html shows it in the
 * viewer. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "diff.h"
#include "html_cols.h"
#include "html_page.h"
#include "tree.h"
#include "view.h"

static const char diff_usage[] =
    "usage: flowtrace diff [-d DIR] [--unit A [--unit B]] [options] [RUN_A [RUN_B]]\n"
    "\n"
    "Aligns two executions call by call and shows where they parted: the first call made\n"
    "in one and not in the other, or made with other arguments, result or exception, with\n"
    "the calls before and after it (diff -u style: '-' is A, '+' is B). A and B are two\n"
    "runs, or two units of work (tests, requests): --unit twice names A's and B's (of\n"
    "RUN_A, or of the latest run), --unit once the same unit in RUN_A and RUN_B. Object\n"
    "addresses (0x...) are not differences.\n"
    "\n"
    "  -d, --dir DIR        output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  --unit ID|NAME       a unit: its id, its name, or the end of its name (test_x[2])\n"
    "  -C, --context N      calls shown before and after the divergence (default 3)\n"
    "  --all                every divergence, not only the first\n"
    "  --html FILE          also write B's viewer page showing the divergences\n"
    "  --color WHEN         always, never or auto (default: colour on a terminal)\n"
    "  -h, --help           show this help\n"
    "\n"
    "Exit status: 0 when compared (alike or not), 1 failed, 2 bad usage.\n";

struct diff_cmd {
    struct ft_view a, b;
    struct ft_diff_side sa, sb;
    struct ft_diff d;
    long context;
    int all, color;
    const char *unit_a, *unit_b;
};

/* ---- A call in one line ---------------------------------------------------------------- */

/* "fn(a=1, b='x') → result" and, for a call that raised, "✗ Type: message", with the line
 * the exception left the call at when the run recorded it ("(line 12)"). */
static void
put_call(struct ft_buf *b, const struct ft_node *n)
{
    const struct ft_node_extra *x = n->x;

    ft_buf_puts(b, n->function ? n->function : "?");
    if (x != NULL && x->have_args) {
        ft_buf_putc(b, '(');
        for (uint32_t i = 0; i < x->nargs; i++) {
            ft_buf_printf(b, "%s%s=", i ? ", " : "", x->args[i].name ? x->args[i].name : "?");
            ft_cli_put_abbrev(b, x->args[i].value ? x->args[i].value : "?", 40);
        }
        ft_buf_putc(b, ')');
    }
    if (x != NULL && x->result != NULL && n->exc_type == NULL) {
        ft_buf_puts(b, " → ");
        ft_cli_put_abbrev(b, x->result, 60);
    }
    if (n->exc_type != NULL) {
        ft_buf_printf(b, "  ✗ %s", strcmp(n->exc_type, "?") != 0 ? n->exc_type : "raised");
        if (n->exc_msg != NULL && *n->exc_msg) {
            ft_buf_puts(b, ": ");
            ft_cli_put_abbrev(b, n->exc_msg, 80);
        }
        if (x != NULL && x->left_at > 0) {
            ft_buf_printf(b, " (line %u)", x->left_at);
        }
    }
    if (n->incomplete != NULL) {
        ft_buf_printf(b, "  ⏳ %s", n->incomplete);
    }
}

/* What differs between two matched calls, in words. */
static void
put_what(struct ft_buf *b, unsigned what)
{
    static const struct {
        unsigned bit;
        const char *word;
    } words[] = {{FT_DIFF_ARGS, "arguments"},
                 {FT_DIFF_RESULT, "result"},
                 {FT_DIFF_EXCEPTION, "exception"},
                 {FT_DIFF_AFTER, "arguments after the call"},
                 {FT_DIFF_UNFINISHED, "ending"}};
    int n = 0;

    ft_buf_puts(b, "different ");
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (what & words[i].bit) {
            ft_buf_printf(b, "%s%s", n++ ? ", " : "", words[i].word);
        }
    }
}

/* ---- Text output -------------------------------------------------------------------------- */

static const char *
paint(const struct diff_cmd *c, const char *code)
{
    return c->color ? code : "";
}

static void
line(struct diff_cmd *c, FILE *f, char mark, const struct ft_diff_side *s, size_t i)
{
    struct ft_buf b;
    const char *col = mark == '-' ? "\033[31m" : mark == '+' ? "\033[32m" : "";

    ft_buf_init(&b);
    ft_buf_printf(&b, "%s%c %*s", paint(c, col), mark, (int)(2 * s->depth[i]), "");
    put_call(&b, s->call[i]);
    ft_buf_puts(&b, paint(c, *col ? "\033[0m" : ""));
    fprintf(f, "%.*s\n", (int)b.len, b.p);
    ft_buf_free(&b);
}

/* Up to max lines of a side's calls [from, from + n). */
static void
lines(struct diff_cmd *c, FILE *f, char mark, const struct ft_diff_side *s, size_t from, size_t n,
      size_t max)
{
    for (size_t k = 0; k < n && k < max; k++) {
        line(c, f, mark, s, from + k);
    }
    if (n > max) {
        fprintf(f, "%c   … %zu more call%s\n", mark, n - max, n - max == 1 ? "" : "s");
    }
}

static void
put_op(struct diff_cmd *c, FILE *f, const struct ft_diff_op *op, size_t max)
{
    switch (op->kind) {
    case FT_DIFF_SAME:
        lines(c, f, ' ', &c->sb, op->b, op->n, max);
        break;
    case FT_DIFF_CHANGED: {
        struct ft_buf b;
        line(c, f, '-', &c->sa, op->a);
        line(c, f, '+', &c->sb, op->b);
        ft_buf_init(&b);
        put_what(&b, op->what);
        fprintf(f, "  %*s%s(%.*s)%s\n", (int)(2 * c->sb.depth[op->b]), "", paint(c, "\033[2m"),
                (int)b.len, b.p, paint(c, "\033[0m"));
        ft_buf_free(&b);
        break;
    }
    case FT_DIFF_ONLY_A:
        lines(c, f, '-', &c->sa, op->a, op->n, max);
        break;
    case FT_DIFF_ONLY_B:
        lines(c, f, '+', &c->sb, op->b, op->n, max);
        break;
    }
}

/* The calls leading to position i of side s, "a > b > c". */
static void
put_path(FILE *f, const struct ft_diff_side *s, size_t i)
{
    const struct ft_node *chain[64];
    size_t n = 0;

    if (i >= s->n) {
        return;
    }
    for (const struct ft_node *p = s->call[i]->parent; p != NULL && n < 64; p = p->parent) {
        chain[n++] = p;
    }
    fputs("in ", f);
    while (n-- > 0) {
        fprintf(f, "%s > ", chain[n]->function ? chain[n]->function : "?");
    }
    fprintf(f, "%s\n", s->call[i]->function ? s->call[i]->function : "?");
}

/* Ops from k on, up to max calls in all (the context after a divergence). */
static void
put_after(struct diff_cmd *c, FILE *f, size_t k, size_t max)
{
    for (; k < c->d.nops && max > 0; k++) {
        const struct ft_diff_op *op = &c->d.ops[k];
        size_t n = op->kind == FT_DIFF_CHANGED ? 1 : op->n;
        put_op(c, f, op, n < max ? n : max);
        max -= n < max ? n : max;
    }
}

/* One divergence with its context: the end of the run of equal calls before it, the
 * divergence, and what the two did next. Returns the last op shown. */
static size_t
print_divergence(struct diff_cmd *c, FILE *f, size_t k, int after)
{
    const struct ft_diff_op *op = &c->d.ops[k];
    size_t ctx = (size_t)c->context;

    if (op->kind == FT_DIFF_ONLY_A) {
        put_path(f, &c->sa, op->a);
    } else {
        put_path(f, &c->sb, op->b);
    }
    if (k > 0 && c->d.ops[k - 1].kind == FT_DIFF_SAME) {
        const struct ft_diff_op *before = &c->d.ops[k - 1];
        size_t show = before->n < ctx ? before->n : ctx;
        lines(c, f, ' ', &c->sb, before->b + before->n - show, show, show);
    }
    put_op(c, f, op, 10);
    /* A change often comes as a pair: a call only A made, then one only B made. */
    if (k + 1 < c->d.nops && op->kind == FT_DIFF_ONLY_A && c->d.ops[k + 1].kind == FT_DIFF_ONLY_B) {
        put_op(c, f, &c->d.ops[++k], 10);
    }
    if (after) {
        put_after(c, f, k + 1, ctx);
    }
    return k;
}

/* Every op from the first divergence on, as hunks: runs of equal calls longer than twice
 * the context are cut to their ends. */
static void
print_all(struct diff_cmd *c, FILE *f)
{
    size_t ctx = (size_t)c->context;

    for (size_t k = print_divergence(c, f, c->d.first, 0) + 1; k < c->d.nops; k++) {
        const struct ft_diff_op *op = &c->d.ops[k];
        if (op->kind != FT_DIFF_SAME || op->n <= 2 * ctx) {
            put_op(c, f, op, op->kind == FT_DIFF_SAME ? op->n : 10);
            continue;
        }
        lines(c, f, ' ', &c->sb, op->b, ctx, ctx);
        fprintf(f, "  … %zu calls alike\n", op->n - 2 * ctx);
        lines(c, f, ' ', &c->sb, op->b + op->n - ctx, ctx, ctx);
    }
}

static void
put_side_label(FILE *f, const char *name, const struct ft_view *v)
{
    fprintf(f, "%s  run %s", name, v->t->run ? v->t->run : "?");
    if (v->unit != NULL) {
        fprintf(f, " · unit %llu · %s · %s", (unsigned long long)v->unit->id, v->unit->name,
                v->unit->outcome);
        if (v->unit->exc_type != NULL) {
            fprintf(f, " · %s: %s", v->unit->exc_type, v->unit->exc_msg ? v->unit->exc_msg : "");
        }
    } else if (v->t->exc_type != NULL) {
        fprintf(f, " · uncaught %s: %s", v->t->exc_type, v->t->exc_msg ? v->t->exc_msg : "");
    }
    fprintf(f, " · %zu calls\n", v->t->nodes);
}

static void
print_diff(struct diff_cmd *c, FILE *f)
{
    put_side_label(f, "A", &c->a);
    put_side_label(f, "B", &c->b);
    if (c->d.divergences == 0) {
        fprintf(f,
                "No difference: the same %zu calls, with the same arguments, results and "
                "exceptions.\n",
                c->sa.n);
        return;
    }
    const struct ft_diff_op *first = &c->d.ops[c->d.first];
    fprintf(f, "\n%zu call%s alike, then the first difference, at call %zu of A and %zu of B, ",
            first->b, first->b == 1 ? "" : "s", first->a + 1, first->b + 1);
    if (!c->all) {
        (void)print_divergence(c, f, c->d.first, 1);
    } else {
        print_all(c, f);
    }
    if (!c->all && c->d.parting < c->d.nops && c->d.parting != c->d.first) {
        const struct ft_diff_op *p = &c->d.ops[c->d.parting];
        fprintf(f,
                "\nWhere they part (a call made in one and not the other, or another "
                "exception), at call %zu of A and %zu of B, ",
                p->a + 1, p->b + 1);
        (void)print_divergence(c, f, c->d.parting, 1);
    }
    fprintf(f, "\n%zu call%s alike in all; %zu divergence%s%s.\n", c->d.same,
            c->d.same == 1 ? "" : "s", c->d.divergences, c->d.divergences == 1 ? "" : "s",
            c->all || c->d.divergences == 1 ? "" : " (--all shows every one)");
}

/* ---- Loading the two sides ------------------------------------------------------------------ */

static int
side_of(const struct ft_view *v, struct ft_diff_side *s)
{
    for (size_t i = 0; i < v->t->nthreads; i++) {
        for (struct ft_node *n = v->t->threads[i].first; n != NULL; n = n->next) {
            if (ft_diff_side_add(s, n) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

static int
load(struct diff_cmd *c, const char *dir, const char *run_a, const char *run_b)
{
    int rc = ft_view_load("diff", dir, run_a, c->unit_a, &c->a);

    if (rc == FT_EXIT_OK) {
        rc = ft_view_load("diff", dir, run_b, c->unit_b, &c->b);
    }
    c->d.roots_by_exception = c->unit_a != NULL;
    if (rc == FT_EXIT_OK && (side_of(&c->a, &c->sa) != 0 || side_of(&c->b, &c->sb) != 0 ||
                             ft_diff_align(&c->sa, &c->sb, &c->d) != 0)) {
        ft_cli_err("diff", "out of memory");
        rc = FT_EXIT_FAIL;
    }
    return rc;
}

/* ---- --html: B's page with the divergences --------------------------------------------------- */

static void
put_label(struct ft_buf *b, const char *key, const struct ft_view *v)
{
    struct ft_buf l;

    ft_buf_init(&l);
    ft_buf_printf(&l, "run %s", v->t->run ? v->t->run : "?");
    if (v->unit != NULL) {
        ft_buf_printf(&l, " · unit %llu · %s · %s", (unsigned long long)v->unit->id, v->unit->name,
                      v->unit->outcome);
    }
    ft_buf_putc(&l, '\0');
    ft_buf_printf(b, "\"%s\":", key);
    ft_cli_json_str(b, l.p);
    ft_buf_free(&l);
}

/* One row: its kind, B's call (-1: none in the page), its depth, A's and B's call in
 * words, and what differs. */
static void
put_row(struct ft_buf *b, const char *kind, const struct diff_cmd *c, size_t ia, size_t ib,
        unsigned what, int *first)
{
    const struct ft_diff_side *s = ib < c->sb.n ? &c->sb : &c->sa;
    struct ft_buf t;

    ft_buf_init(&t);
    ft_buf_printf(b, "%s\n{\"k\":\"%s\",\"call\":%lld,\"depth\":%u", *first ? "" : ",", kind,
                  ib < c->sb.n ? (long long)c->sb.call[ib]->mark - 1 : -1LL,
                  s == &c->sb ? c->sb.depth[ib] : (ia < c->sa.n ? c->sa.depth[ia] : 0));
    *first = 0;
    if (ia < c->sa.n && strcmp(kind, "b") != 0) {
        put_call(&t, c->sa.call[ia]);
        ft_buf_putc(&t, '\0');
        ft_buf_puts(b, ",\"a\":");
        ft_cli_json_str(b, t.p);
        t.len = 0;
    }
    if (ib < c->sb.n && strcmp(kind, "a") != 0) {
        put_call(&t, c->sb.call[ib]);
        ft_buf_putc(&t, '\0');
        ft_buf_puts(b, ",\"b\":");
        ft_cli_json_str(b, t.p);
        t.len = 0;
    }
    if (what != 0) {
        put_what(&t, what);
        ft_buf_putc(&t, '\0');
        ft_buf_puts(b, ",\"what\":");
        ft_cli_json_str(b, t.p);
    }
    ft_buf_putc(b, '}');
    ft_buf_free(&t);
}

static void
put_html_op(struct ft_buf *b, const struct diff_cmd *c, const struct ft_diff_op *op, size_t from,
            size_t max, int *first)
{
    for (size_t k = from; k < op->n && k < from + max; k++) {
        switch (op->kind) {
        case FT_DIFF_SAME:
            put_row(b, "same", c, op->a + k, op->b + k, 0, first);
            break;
        case FT_DIFF_CHANGED:
            put_row(b, "changed", c, op->a, op->b, op->what, first);
            break;
        case FT_DIFF_ONLY_A:
            /* B's page has no such call: the row leads to where B was instead. */
            put_row(b, "a", c, op->a + k, op->b < c->sb.n ? op->b : c->sb.n, 0, first);
            break;
        case FT_DIFF_ONLY_B:
            put_row(b, "b", c, c->sa.n, op->b + k, 0, first);
            break;
        }
    }
}

static void
put_html_diff(void *ctx, struct ft_html_cols *h, struct ft_out *o)
{
    struct diff_cmd *c = ctx;
    struct ft_buf *b = &o->b;
    size_t ctxn = (size_t)c->context, shown = 0;
    int first = 1;

    (void)h;
    ft_buf_puts(b, ",\n\"diff\":{");
    put_label(b, "a", &c->a);
    ft_buf_putc(b, ',');
    put_label(b, "b", &c->b);
    ft_buf_printf(b, ",\"same\":%zu,\"divergences\":%zu,\"rows\":[", c->d.same, c->d.divergences);
    for (size_t k = c->d.first; k < c->d.nops && shown < (c->all ? 500u : 1u); k++) {
        const struct ft_diff_op *op = &c->d.ops[k];
        if (op->kind == FT_DIFF_SAME) {
            continue;
        }
        if (k > 0 && c->d.ops[k - 1].kind == FT_DIFF_SAME) {
            const struct ft_diff_op *before = &c->d.ops[k - 1];
            size_t n = before->n < ctxn ? before->n : ctxn;
            put_html_op(b, c, before, before->n - n, n, &first);
        }
        put_html_op(b, c, op, 0, 10, &first);
        if (op->kind == FT_DIFF_ONLY_A && k + 1 < c->d.nops &&
            c->d.ops[k + 1].kind == FT_DIFF_ONLY_B) {
            put_html_op(b, c, &c->d.ops[++k], 0, 10, &first);
        }
        if (k + 1 < c->d.nops && c->d.ops[k + 1].kind == FT_DIFF_SAME) {
            put_html_op(b, c, &c->d.ops[k + 1], 0, ctxn, &first);
        }
        shown++;
        ft_cli_out_flush(o, 0);
    }
    ft_buf_puts(b, "]}");
}

struct diff_opts {
    const char *dir, *html, *color, *units[2];
    int nunits;
};

/* The options into o and c; returns FT_EXIT_OK, or the status to exit with (--help,
 * a bad option). */
static int
parse_opts(int argc, char **argv, struct diff_cmd *c, struct diff_opts *o)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},     {"unit", required_argument, NULL, 'u'},
        {"context", required_argument, NULL, 'C'}, {"all", no_argument, NULL, 'a'},
        {"html", required_argument, NULL, 'H'},    {"color", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    int opt;
    char *end;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:C:h", longopts, NULL)) != -1) {
        if (opt == 'd' || opt == 'H' || opt == 'c') {
            *(opt == 'd' ? &o->dir : opt == 'H' ? &o->html : &o->color) = optarg;
        } else if (opt == 'u') {
            if (o->nunits == 2) {
                ft_cli_err("diff", "--unit at most twice (A's, then B's)");
                return FT_EXIT_USAGE;
            }
            o->units[o->nunits++] = optarg;
        } else if (opt == 'C') {
            c->context = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || c->context < 0 || c->context > 1000) {
                ft_cli_err("diff", "--context wants a number of calls from 0 to 1000, not '%s'",
                           optarg);
                return FT_EXIT_USAGE;
            }
        } else if (opt == 'a') {
            c->all = 1;
        } else if (opt == 'h') {
            fputs(diff_usage, stdout);
            return -1;
        } else {
            return ft_cli_bad_option("diff", opt, argv);
        }
    }
    if ((c->color = ft_cli_color(o->color)) < 0) {
        ft_cli_err("diff", "--color must be always, never or auto, not '%s'", o->color);
        return FT_EXIT_USAGE;
    }
    if (argc - optind > 2 || (argc - optind < 2 && o->nunits < 2)) {
        ft_cli_err("diff", "two runs (RUN_A RUN_B), or two units (--unit A --unit B) of one run "
                           "(see 'flowtrace diff --help')");
        return FT_EXIT_USAGE;
    }
    return FT_EXIT_OK;
}

int
ft_cmd_diff(int argc, char **argv)
{
    struct diff_opts o = {.color = "auto"};
    struct diff_cmd c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.context = 3;
    if ((rc = parse_opts(argc, argv, &c, &o)) != FT_EXIT_OK) {
        return rc < 0 ? FT_EXIT_OK : rc;
    }
    c.unit_a = o.units[0];
    c.unit_b = o.nunits == 2 ? o.units[1] : o.units[0];
    rc = load(&c, ft_cli_dir(o.dir), optind < argc ? argv[optind] : NULL,
              optind + 1 < argc ? argv[optind + 1]
              : optind < argc   ? argv[optind]
                                : NULL);
    if (rc == FT_EXIT_OK) {
        print_diff(&c, stdout);
        if (o.html != NULL) {
            rc = ft_html_page_write("diff", &c.b, o.html, put_html_diff, &c);
            if (rc == FT_EXIT_OK && strcmp(o.html, "-") != 0) {
                printf("%s\n", o.html);
            }
        }
    }
    ft_diff_free(&c.d);
    ft_diff_side_free(&c.sa);
    ft_diff_side_free(&c.sb);
    ft_view_free(&c.a);
    ft_view_free(&c.b);
    return rc;
}
