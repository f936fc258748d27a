/* cmd_stats.c - `flowtrace stats`: a run's functions by total and self time, counted as the
 * calls stream from the files (viewstream.h): memory grows with the functions, not the
 * calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "term.h"
#include "tree.h"
#include "view.h"
#include "viewstream.h"

static const char stats_usage[] =
    "usage: flowtrace stats [-d DIR] [--sort KEY] [--top N] [--thread NAME]\n"
    "                       [--unit ID|NAME | --failed] [RUN]\n"
    "\n"
    "Prints the functions of RUN (default: the latest run), its units of work (tests,\n"
    "requests) included, with their number of calls, calls that raised, total time (with\n"
    "everything they called; a recursive function is counted once per outermost call),\n"
    "self time (in their own code), and average.\n"
    "\n"
    "  -d, --dir DIR     output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  --sort KEY        self (default), total, calls, errors or name\n"
    "  --top N           the first N functions (default 20; 0 for all)\n"
    "  --thread NAME     only the threads whose name matches NAME (a glob)\n"
    "  --unit ID|NAME    one unit of work of the run (see 'flowtrace ls --units')\n"
    "  --failed          the first failed unit\n"
    "  -h, --help        show this help\n";

struct fstat {
    struct ft_node fn; /* the function's names and place (a copy: calls are not kept) */
    uint64_t calls, errors;
    uint64_t active; /* calls of it on the current stack */
    double total_us, self_us;
};

struct stats {
    struct fstat *f;
    size_t n, cap;
    size_t *slots; /* open addressing: index + 1 */
    size_t nslots;
    double all_self_us;
    uint64_t calls, errors;
    /* the calls entered and not left: their function, and their children's time so far */
    struct open {
        size_t f;
        double children_us;
    } * open;
    size_t depth, open_cap;
    const char *thread; /* --thread: only threads whose name matches */
};

static int
grow(struct stats *st)
{
    size_t nslots = st->nslots ? st->nslots * 2 : 1024;
    size_t *slots = calloc(nslots, sizeof(*slots));
    struct fstat *f = realloc(st->f, nslots / 2 * sizeof(*f));

    if (slots == NULL || f == NULL) {
        free(slots);
        if (f != NULL) {
            st->f = f;
        }
        return -ENOMEM;
    }
    st->f = f;
    st->cap = nslots / 2;
    for (size_t i = 0; i < st->n; i++) {
        size_t s = ft_node_function_hash(&st->f[i].fn) & (nslots - 1);
        while (slots[s] != 0) {
            s = (s + 1) & (nslots - 1);
        }
        slots[s] = i + 1;
    }
    free(st->slots);
    st->slots = slots;
    st->nslots = nslots;
    return 0;
}

static struct fstat *
lookup(struct stats *st, const struct ft_node *n)
{
    size_t s;

    if (st->n == st->cap && grow(st) != 0) {
        return NULL;
    }
    s = ft_node_function_hash(n) & (st->nslots - 1);
    while (st->slots[s] != 0) {
        if (ft_node_same_function(&st->f[st->slots[s] - 1].fn, n)) {
            return &st->f[st->slots[s] - 1];
        }
        s = (s + 1) & (st->nslots - 1);
    }
    st->slots[s] = ++st->n;
    memset(&st->f[st->n - 1], 0, sizeof(st->f[0]));
    st->f[st->n - 1].fn.module = n->module; /* interned: they outlive the call */
    st->f[st->n - 1].fn.function = n->function;
    st->f[st->n - 1].fn.file = n->file;
    st->f[st->n - 1].fn.line = n->line;
    return &st->f[st->n - 1];
}

static int
counted(const struct stats *st, const struct ft_tree_thread *th)
{
    return st->thread == NULL ||
           fnmatch(st->thread, th != NULL && th->name ? th->name : "", 0) == 0;
}

/* A call begins: its function is on the stack once more. */
static int
enter(void *ctx, const struct ft_tree_thread *th, struct ft_node *n)
{
    struct stats *st = ctx;
    struct fstat *f;

    if (!counted(st, th)) {
        return 0;
    }
    if (st->depth == st->open_cap) {
        size_t cap = st->open_cap ? st->open_cap * 2 : 256;
        struct open *o = realloc(st->open, cap * sizeof(*o));
        if (o == NULL) {
            return -ENOMEM;
        }
        st->open = o;
        st->open_cap = cap;
    }
    if ((f = lookup(st, n)) == NULL) {
        return -ENOMEM;
    }
    f->calls++;
    f->active++;
    st->open[st->depth++] = (struct open){(size_t)(f - st->f), 0};
    return 0;
}

/* A call ends, after its children: its self time is what they did not take; its total
 * counts once per outermost call of a recursive function. */
static int
leave(void *ctx, const struct ft_tree_thread *th, struct ft_node *n)
{
    struct stats *st = ctx;
    struct open o;
    struct fstat *f;

    if (!counted(st, th) || st->depth == 0) {
        return 0;
    }
    o = st->open[--st->depth];
    f = &st->f[o.f];
    f->errors += n->exc_type != NULL;
    f->self_us += n->dur_us > o.children_us ? n->dur_us - o.children_us : 0;
    if (--f->active == 0) {
        f->total_us += n->dur_us;
    }
    if (st->depth > 0) {
        st->open[st->depth - 1].children_us += n->dur_us;
    }
    return 0;
}

static int sort_key; /* qsort has no context argument */

static int
compare(const void *a, const void *b)
{
    const struct fstat *x = a, *y = b;
    double dx, dy;

    switch (sort_key) {
    case 't':
        dx = x->total_us, dy = y->total_us;
        break;
    case 'c':
        dx = (double)x->calls, dy = (double)y->calls;
        break;
    case 'e':
        dx = (double)x->errors, dy = (double)y->errors;
        break;
    case 'n':
        return strcmp(x->fn.function ? x->fn.function : "", y->fn.function ? y->fn.function : "");
    default:
        dx = x->self_us, dy = y->self_us;
        break;
    }
    if (dx != dy) {
        return dx < dy ? 1 : -1;
    }
    return x->self_us < y->self_us ? 1 : x->self_us > y->self_us ? -1 : 0;
}

/* The heading: the run (its units included) or the unit, and the totals. */
static void
print_heading(const struct ft_view *v, const struct stats *st)
{
    struct ft_buf b;
    char all[32];

    ft_buf_init(&b);
    ft_cli_fmt_duration(st->all_self_us, all, sizeof(all));
    if (v->unit != NULL) {
        ft_buf_printf(&b, "Unit %llu ", (unsigned long long)v->unit->id);
        ft_term_put(&b, v->unit->name, 0);
        ft_buf_printf(&b, " (%s) of run ", v->unit->outcome);
    } else {
        ft_buf_puts(&b, "Run ");
    }
    ft_term_put(&b, v->t->run, 0);
    if (v->unit == NULL && v->units.n > 0) {
        ft_buf_printf(&b, " with its %zu units", v->units.n);
    }
    ft_buf_printf(&b, " · %llu calls of %zu functions · %llu raised · %s in calls\n\n",
                  (unsigned long long)st->calls, st->n, (unsigned long long)st->errors, all);
    fwrite(b.p, 1, b.len, stdout);
    ft_buf_free(&b);
}

static void
print(const struct ft_view *v, struct stats *st, long top)
{
    char total[32], self[32], avg[32];
    struct ft_buf b;

    for (size_t i = 0; i < st->n; i++) {
        st->all_self_us += st->f[i].self_us;
        st->calls += st->f[i].calls;
        st->errors += st->f[i].errors;
    }
    print_heading(v, st);
    printf("%9s %7s %10s %10s %6s %10s  %s\n", "CALLS", "RAISED", "TOTAL", "SELF", "SELF%", "AVG",
           "FUNCTION");
    ft_buf_init(&b);
    for (size_t i = 0; i < st->n && (top == 0 || (long)i < top); i++) {
        const struct fstat *f = &st->f[i];
        ft_cli_fmt_duration(f->total_us, total, sizeof(total));
        ft_cli_fmt_duration(f->self_us, self, sizeof(self));
        ft_cli_fmt_duration(f->total_us / (double)f->calls, avg, sizeof(avg));
        b.len = 0;
        ft_buf_printf(&b, "%9llu %7llu ", (unsigned long long)f->calls,
                      (unsigned long long)f->errors);
        ft_cli_put_col(&b, total, 10);
        ft_buf_putc(&b, ' ');
        ft_cli_put_col(&b, self, 10);
        ft_buf_printf(&b, " %5.1f%% ",
                      st->all_self_us > 0 ? 100.0 * f->self_us / st->all_self_us : 0.0);
        ft_cli_put_col(&b, avg, 10);
        ft_buf_puts(&b, "  ");
        ft_term_put(&b, f->fn.function ? f->fn.function : "?", 0);
        ft_buf_puts(&b, "  ");
        ft_term_where(&b, f->fn.file, f->fn.line);
        ft_buf_putc(&b, '\n');
        fwrite(b.p, 1, b.len, stdout);
    }
    ft_buf_free(&b);
}

struct stats_opts {
    const char *dir, *thread, *unit;
    long top;
};

static int
parse_sort(const char *arg)
{
    static const char *const keys[] = {"self", "total", "calls", "errors", "name"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(arg, keys[i]) == 0) {
            sort_key = (unsigned char)arg[0];
            return FT_EXIT_OK;
        }
    }
    ft_cli_err("stats", "--sort '%s' must be self, total, calls, errors or name", arg);
    return FT_EXIT_USAGE;
}

/* Returns FT_EXIT_OK, FT_EXIT_USAGE, or -1 after --help. */
static int
parse_args(int argc, char **argv, struct stats_opts *o)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},  {"sort", required_argument, NULL, 's'},
        {"top", required_argument, NULL, 'n'},  {"thread", required_argument, NULL, 't'},
        {"unit", required_argument, NULL, 'u'}, {"failed", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int opt;

    optind = 1;
    opterr = 0;
    sort_key = 's';
    while ((opt = getopt_long(argc, argv, ":d:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            o->dir = optarg;
            break;
        case 's':
            if (parse_sort(optarg) != FT_EXIT_OK) {
                return FT_EXIT_USAGE;
            }
            break;
        case 'n':
            if (ft_cli_parse_count(optarg, &o->top) != 0) {
                ft_cli_err("stats", "--top '%s' is not a number of functions", optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 't':
            o->thread = optarg;
            break;
        case 'u':
            o->unit = optarg;
            break;
        case 'f':
            o->unit = o->unit != NULL ? o->unit : "";
            break;
        case 'h':
            fputs(stats_usage, stdout);
            return -1;
        default:
            return ft_cli_bad_option("stats", opt, argv);
        }
    }
    if (argc - optind > 1) {
        ft_cli_err("stats", "one RUN at most (see 'flowtrace stats --help')");
        return FT_EXIT_USAGE;
    }
    return FT_EXIT_OK;
}

int
ft_cmd_stats(int argc, char **argv)
{
    struct stats_opts o = {NULL, NULL, NULL, 20};
    struct stats st = {0};
    struct ft_tree_visit visit = {&st, enter, leave};
    struct ft_view v;
    int rc = parse_args(argc, argv, &o);

    if (rc != FT_EXIT_OK) {
        return rc < 0 ? FT_EXIT_OK : rc;
    }
    st.thread = o.thread;
    rc = ft_view_stream("stats", ft_cli_dir(o.dir), optind < argc ? argv[optind] : NULL, o.unit,
                        FT_TREE_NO_VALUES, &visit, &v);
    if (rc == FT_EXIT_OK) {
        if (st.n > 0) {
            qsort(st.f, st.n, sizeof(*st.f), compare);
        }
        print(&v, &st, o.top);
    }
    free(st.f);
    free(st.slots);
    free(st.open);
    ft_view_free(&v);
    if (rc != FT_EXIT_OK) {
        return rc;
    }
    if (fflush(stdout) != 0) {
        ft_cli_err("stats", "cannot write the output");
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}
