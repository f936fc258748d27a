/* cmd_stats.c - `flowtrace stats`: a run's functions by total and self time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tree.h"

static const char stats_usage[] =
    "usage: flowtrace stats [-d DIR] [--sort KEY] [--top N] [--thread NAME] [RUN]\n"
    "\n"
    "Prints the functions of RUN (default: the latest run) with their number of calls,\n"
    "calls that raised, total time (with everything they called; a recursive function is\n"
    "counted once per outermost call), self time (in their own code), and average.\n"
    "\n"
    "  -d, --dir DIR     output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  --sort KEY        self (default), total, calls, errors or name\n"
    "  --top N           the first N functions (default 20; 0 for all)\n"
    "  --thread NAME     only the threads whose name matches NAME (a glob)\n"
    "  -h, --help        show this help\n";

struct fstat {
    const struct ft_node *fn; /* a call of the function: its names and place */
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
        size_t s = ft_node_function_hash(st->f[i].fn) & (nslots - 1);
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
        if (ft_node_same_function(st->f[st->slots[s] - 1].fn, n)) {
            return &st->f[st->slots[s] - 1];
        }
        s = (s + 1) & (st->nslots - 1);
    }
    st->slots[s] = ++st->n;
    memset(&st->f[st->n - 1], 0, sizeof(st->f[0]));
    st->f[st->n - 1].fn = n;
    return &st->f[st->n - 1];
}

static int
enter(struct stats *st, struct ft_node *n)
{
    struct fstat *f = lookup(st, n);
    double children = 0;

    if (f == NULL) {
        return -ENOMEM;
    }
    n->mark = (uint32_t)(f - st->f) + 1; /* found again on the way out */
    for (const struct ft_node *c = n->first_child; c != NULL; c = c->next) {
        children += c->dur_us;
    }
    f->calls++;
    f->errors += n->exc_type != NULL;
    f->self_us += n->dur_us > children ? n->dur_us - children : 0;
    if (f->active++ == 0) {
        f->total_us += n->dur_us;
    }
    return 0;
}

/* One pre-order walk with enter and leave, without recursion. */
static int
walk(struct stats *st, struct ft_node *first)
{
    struct ft_node *n = first;

    while (n != NULL) {
        if (enter(st, n) != 0) {
            return -ENOMEM;
        }
        if (n->first_child != NULL) {
            n = n->first_child;
            continue;
        }
        while (n != NULL) {
            st->f[n->mark - 1].active--;
            if (n->next != NULL) {
                n = n->next;
                break;
            }
            n = n->parent;
        }
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
        return strcmp(x->fn->function ? x->fn->function : "",
                      y->fn->function ? y->fn->function : "");
    default:
        dx = x->self_us, dy = y->self_us;
        break;
    }
    if (dx != dy) {
        return dx < dy ? 1 : -1;
    }
    return x->self_us < y->self_us ? 1 : x->self_us > y->self_us ? -1 : 0;
}

static void
print(const struct ft_tree *t, struct stats *st, long top)
{
    char total[32], self[32], avg[32], all[32];

    for (size_t i = 0; i < st->n; i++) {
        st->all_self_us += st->f[i].self_us;
        st->calls += st->f[i].calls;
        st->errors += st->f[i].errors;
    }
    ft_cli_fmt_duration(st->all_self_us, all, sizeof(all));
    printf("Run %s · %llu calls of %zu functions · %llu raised · %s in calls\n\n", t->run,
           (unsigned long long)st->calls, st->n, (unsigned long long)st->errors, all);
    printf("%9s %7s %10s %10s %6s %10s  %s\n", "CALLS", "RAISED", "TOTAL", "SELF", "SELF%", "AVG",
           "FUNCTION");
    for (size_t i = 0; i < st->n && (top == 0 || (long)i < top); i++) {
        const struct fstat *f = &st->f[i];
        const char *file = f->fn->file ? strrchr(f->fn->file, '/') : NULL;
        ft_cli_fmt_duration(f->total_us, total, sizeof(total));
        ft_cli_fmt_duration(f->self_us, self, sizeof(self));
        ft_cli_fmt_duration(f->total_us / (double)f->calls, avg, sizeof(avg));
        printf("%9llu %7llu ", (unsigned long long)f->calls, (unsigned long long)f->errors);
        ft_cli_put_col(stdout, total, 10);
        fputc(' ', stdout);
        ft_cli_put_col(stdout, self, 10);
        printf(" %5.1f%% ", st->all_self_us > 0 ? 100.0 * f->self_us / st->all_self_us : 0.0);
        ft_cli_put_col(stdout, avg, 10);
        printf("  %s  %s:%u\n", f->fn->function ? f->fn->function : "?",
               file          ? file + 1
               : f->fn->file ? f->fn->file
                             : "?",
               f->fn->line);
    }
}

int
ft_cmd_stats(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'}, {"sort", required_argument, NULL, 's'},
        {"top", required_argument, NULL, 'n'}, {"thread", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
    const char *dir = NULL, *thread = NULL;
    struct stats st = {0};
    struct ft_tree *t;
    long top = 20;
    int opt, rc = 0;
    char *end;

    optind = 1;
    opterr = 0;
    sort_key = 's';
    while ((opt = getopt_long(argc, argv, ":d:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 's':
            if (strcmp(optarg, "self") != 0 && strcmp(optarg, "total") != 0 &&
                strcmp(optarg, "calls") != 0 && strcmp(optarg, "errors") != 0 &&
                strcmp(optarg, "name") != 0) {
                ft_cli_err("stats", "--sort '%s' must be self, total, calls, errors or name",
                           optarg);
                return FT_EXIT_USAGE;
            }
            sort_key = optarg[0];
            break;
        case 'n':
            top = strtol(optarg, &end, 10);
            if (*end != '\0' || end == optarg || top < 0) {
                ft_cli_err("stats", "--top '%s' is not a number of functions", optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 't':
            thread = optarg;
            break;
        case 'h':
            fputs(stats_usage, stdout);
            return FT_EXIT_OK;
        default:
            return ft_cli_bad_option("stats", opt, argv);
        }
    }
    if (argc - optind > 1) {
        ft_cli_err("stats", "one RUN at most (see 'flowtrace stats --help')");
        return FT_EXIT_USAGE;
    }
    if ((rc = ft_cli_load_tree("stats", ft_cli_dir(dir), optind < argc ? argv[optind] : NULL,
                               &t)) != FT_EXIT_OK) {
        return rc;
    }
    for (size_t i = 0; i < t->nthreads && rc == 0; i++) {
        const struct ft_tree_thread *th = &t->threads[i];
        if (thread == NULL || fnmatch(thread, th->name ? th->name : "", 0) == 0) {
            rc = walk(&st, th->first);
        }
    }
    if (rc == 0) {
        if (st.n > 0) {
            qsort(st.f, st.n, sizeof(*st.f), compare);
        }
        print(t, &st, top);
    }
    free(st.f);
    free(st.slots);
    ft_tree_free(t);
    if (rc != 0) {
        ft_cli_err("stats", "out of memory");
        return FT_EXIT_FAIL;
    }
    if (fflush(stdout) != 0) {
        ft_cli_err("stats", "cannot write the output");
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}
