/* cmd_show.c - `flowtrace show`: a run's call tree in the terminal, its units of work
 * included, or one unit's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "group.h"
#include "srcfile.h"
#include "term.h"
#include "tree.h"
#include "view.h"

/* Levels of indentation drawn; deeper calls (a recursion 50,000 deep) are drawn at this
 * indentation with their depth written out, so a line stays short. */
#define MAX_INDENT 48
#include "tree_json.h"

static const char show_usage[] =
    "usage: flowtrace show [-d DIR] [options] [RUN]\n"
    "\n"
    "Prints the call tree of RUN (default: the latest run), its units of work (tests,\n"
    "requests) where they ran, thread by thread: status\n"
    "(✅ returned, ❌ raised, ⏳ never returned), function with its arguments and result\n"
    "when the trace has them, file:line and duration. Calls of one function under the\n"
    "same parent are merged into one line, `fn ×N`, with their total duration.\n"
    "\n"
    "  -d, --dir DIR          output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  --depth N              show calls at most N levels below the top\n"
    "  --thread NAME          only the threads whose name matches NAME (a glob)\n"
    "  --match GLOB           only the paths to calls whose function matches GLOB\n"
    "                         (qualified name, or module.name: 'Inventory.*', 'pkg.*')\n"
    "                         and everything those calls did\n"
    "  --min-duration TIME    hide calls shorter than TIME (e.g. 500us, 2ms, 1s)\n"
    "  --errors               only the paths to calls that raised an exception\n"
    "  --unit ID|NAME         the tree of one unit of work of the run (a test, a request;\n"
    "                         see 'flowtrace ls --units')\n"
    "  --failed               the first failed unit, only the paths to its exceptions\n"
    "  --source               under each call an exception left, the line of code it\n"
    "                         left at (the copy of the code kept with the run, else the\n"
    "                         file on disk)\n"
    "  --no-group             print every call on its own line\n"
    "  --json                 the (filtered) tree as JSON, in tree.json's schema\n"
    "  --color WHEN           always, never or auto (default: colour on a terminal)\n"
    "  -h, --help             show this help\n";

enum { M_MATCH = 1, M_TO_MATCH = 2, M_TO_ERROR = 4 };

struct show {
    FILE *out;
    int color, group, errors;
    const char *unit;             /* --unit */
    int failed;                   /* --failed */
    int json;                     /* --json */
    int source;                   /* --source */
    struct ft_srcfile_cache *src; /* its files, once the run is loaded */
    const char *thread;           /* --thread */
    long max_depth;
    double min_us;
    const char *match;
    int inside_match; /* the level being grouped is below a matching call */
    char *prefix;     /* "│   " / "    " per level */
    size_t plen, pcap;
    struct ft_buf line;
};

static const char *
paint(const struct show *s, const char *code)
{
    return s->color ? code : "";
}

static void
put_call(struct show *s, struct ft_buf *b, const struct ft_node *n, size_t count)
{
    const struct ft_node_extra *x = n->x;

    ft_buf_puts(b, paint(s, "\033[1m"));
    ft_term_put(b, n->function ? n->function : "?", 0);
    ft_buf_puts(b, paint(s, "\033[0m"));
    if (count > 1) {
        ft_buf_printf(b, " %s×%zu%s", paint(s, "\033[36m"), count, paint(s, "\033[0m"));
        return;
    }
    if (x != NULL && x->have_args) {
        size_t start = b->len;
        ft_buf_putc(b, '(');
        for (uint32_t i = 0; i < x->nargs; i++) {
            if (b->len - start > 120) {
                ft_buf_puts(b, ", …");
                break;
            }
            ft_buf_puts(b, i ? ", " : "");
            ft_term_put(b, x->args[i].name ? x->args[i].name : "?", 0);
            ft_buf_putc(b, '=');
            ft_term_put(b, x->args[i].value ? x->args[i].value : "?", 40);
        }
        ft_buf_putc(b, ')');
    }
    if (x != NULL && x->result != NULL && strcmp(x->result, "None") != 0) {
        ft_buf_puts(b, " → ");
        ft_term_put(b, x->result, 60);
    }
}

/* ", N raised, first Type: message" after a group with failed calls. */
static void
put_failure(struct show *s, struct ft_buf *b, const struct ft_group *g)
{
    const struct ft_node *f = g->first_failed;
    int known = strcmp(f->exc_type, "?") != 0;

    ft_buf_puts(b, "  ");
    ft_buf_puts(b, paint(s, "\033[31m"));
    if (g->n > 1) {
        ft_buf_printf(b, "%zu raised%s", g->nfailed, known ? ", first " : "");
    } else if (!known) {
        ft_buf_puts(b, "raised");
    }
    if (known) {
        ft_term_put(b, f->exc_type, 0);
    }
    if (f->exc_msg != NULL && *f->exc_msg != '\0') {
        ft_buf_puts(b, ": ");
        ft_term_put(b, f->exc_msg, 80);
    }
    ft_buf_puts(b, paint(s, "\033[0m"));
}

/* --source: "│   │ ↳ 16 │ raise RuntimeError(...)", the line an exception left n at,
 * drawn inside the tree's lines. */
static void
put_source_line(struct show *s, struct ft_buf *b, const struct ft_node *n, int last, long depth)
{
    size_t len = 0;
    const char *text = ft_srcfile_line(s->src, n->file, n->x->left_at, &len);
    char *line;

    if (text == NULL || (line = strndup(text, len)) == NULL) {
        return;
    }
    if (s->plen > 0) {
        ft_buf_put(b, s->prefix, s->plen);
    }
    if (depth > 0) {
        ft_buf_puts(b, last ? "    " : "│   ");
    }
    ft_buf_puts(b,
                n->first_child != NULL && (s->max_depth < 0 || depth < s->max_depth) ? "│ " : "  ");
    ft_buf_printf(b, "%s↳ %u │ ", paint(s, "\033[2m"), n->x->left_at);
    ft_term_put(b, line + strspn(line, " \t"), 100);
    ft_buf_printf(b, "%s\n", paint(s, "\033[0m"));
    free(line);
}

static void
print_group(struct show *s, const struct ft_group *g, int last, long depth)
{
    const struct ft_node *n = g->members[0];
    const char *icon = n->incomplete && g->n == 1 ? "⏳" : g->nfailed ? "❌" : "✅";
    struct ft_buf *b = &s->line;
    char dur[32];

    b->len = 0;
    if (s->plen > 0) {
        ft_buf_put(b, s->prefix, s->plen);
    }
    if (depth > 0) {
        ft_buf_puts(b, last ? "└── " : "├── ");
    }
    if (depth > MAX_INDENT) {
        ft_buf_printf(b, "%s[depth %ld]%s ", paint(s, "\033[2m"), depth, paint(s, "\033[0m"));
    }
    ft_buf_printf(b, "%s ", icon);
    put_call(s, b, n, g->n);
    ft_cli_fmt_duration(g->total_us, dur, sizeof(dur));
    ft_buf_puts(b, "  ");
    ft_term_where(b, n->file, n->line);
    ft_buf_printf(b, "  %s%s%s", paint(s, "\033[2m"), dur, paint(s, "\033[0m"));
    if (g->n > 1) {
        ft_buf_puts(b, " total");
    }
    if (g->nfailed > 0) {
        put_failure(s, b, g);
    }
    if (n->incomplete != NULL && g->n == 1) {
        ft_buf_puts(b, "  (unfinished: ");
        ft_term_put(b, n->incomplete, 0);
        ft_buf_putc(b, ')');
    }
    if (n->x != NULL && n->x->resumes > 0 && g->n == 1) {
        ft_buf_printf(b, "  resumed %llu×", (unsigned long long)n->x->resumes);
    }
    if (n->x != NULL && n->x->thread != NULL) {
        ft_buf_puts(b, "  in thread ");
        ft_term_put(b, n->x->thread, 0); /* work handed to another thread */
    }
    ft_buf_putc(b, '\n');
    if (s->src != NULL && g->n == 1 && n->exc_type != NULL && n->x != NULL && n->x->left_at > 0) {
        put_source_line(s, b, n, last, depth);
    }
    fwrite(b->p, 1, b->len, s->out);
}

static int
push_prefix(struct show *s, const char *piece)
{
    size_t n = strlen(piece);

    if (s->plen + n + 1 > s->pcap) {
        size_t cap = s->pcap ? s->pcap * 2 : 256;
        while (cap < s->plen + n + 1) {
            cap *= 2;
        }
        char *np = realloc(s->prefix, cap);
        if (np == NULL) {
            return -ENOMEM;
        }
        s->prefix = np;
        s->pcap = cap;
    }
    memcpy(s->prefix + s->plen, piece, n);
    s->plen += n;
    return 0;
}

static int
keep(const struct ft_node *n, void *ctx)
{
    const struct show *s = ctx;

    if (n->dur_us < s->min_us && n->incomplete == NULL) {
        return 0;
    }
    if (s->match != NULL && !s->inside_match && !(n->mark & M_TO_MATCH)) {
        return 0;
    }
    return !s->errors || (n->mark & M_TO_ERROR);
}

struct level {
    struct ft_groups gs;
    size_t next;
    size_t plen;
    long depth;
    int inside_match;
};

/* The children of a group's members, grouped, as the next level down. */
static int
open_level(struct show *s, const struct ft_group *g, struct level *l)
{
    struct ft_node **chains = malloc(g->n * sizeof(struct ft_node *));
    size_t n = 0;
    int rc;

    if (chains == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < g->n; i++) {
        if (g->members[i]->first_child != NULL) {
            chains[n++] = g->members[i]->first_child;
        }
    }
    s->inside_match = l->inside_match;
    rc = ft_group_siblings(chains, n, s->group, keep, s, &l->gs);
    free(chains);
    return rc;
}

/* Depth-first without recursion: trees of deep recursion are normal here. */
static int
print_thread(struct show *s, struct ft_node *first)
{
    struct level *stack = malloc(64 * sizeof(*stack));
    size_t sp = 0, cap = 64;
    int rc = 0;

    if (stack == NULL) {
        return -ENOMEM;
    }
    memset(&stack[0], 0, sizeof(stack[0]));
    s->inside_match = 0;
    if ((rc = ft_group_siblings(&first, 1, s->group, keep, s, &stack[0].gs)) != 0) {
        free(stack);
        return rc;
    }
    sp = 1;
    while (sp > 0 && rc == 0) {
        struct level *l = &stack[sp - 1];
        if (l->next == l->gs.n) {
            ft_groups_free(&l->gs);
            sp--;
            continue;
        }
        const struct ft_group *g = &l->gs.g[l->next++];
        int last = l->next == l->gs.n, root = l->depth == 0;
        s->plen = l->plen;
        print_group(s, g, last, l->depth);
        if (s->max_depth >= 0 && l->depth >= s->max_depth) {
            continue;
        }
        if (sp == cap) {
            struct level *ns = realloc(stack, (cap *= 2) * sizeof(*ns));
            if (ns == NULL) {
                rc = -ENOMEM;
                break;
            }
            stack = ns;
            l = &stack[sp - 1];
        }
        struct level *child = &stack[sp];
        memset(child, 0, sizeof(*child));
        child->depth = l->depth + 1;
        child->inside_match = l->inside_match || (g->members[0]->mark & M_MATCH);
        if (!root && l->depth < MAX_INDENT && (rc = push_prefix(s, last ? "    " : "│   ")) != 0) {
            break;
        }
        child->plen = s->plen;
        if ((rc = open_level(s, g, child)) != 0) {
            break;
        }
        sp++;
    }
    while (sp > 0) {
        ft_groups_free(&stack[--sp].gs);
    }
    free(stack);
    return rc;
}

static int
matches(const char *glob, const struct ft_node *n)
{
    char full[1024];

    if (n->function == NULL) {
        return 0;
    }
    if (fnmatch(glob, n->function, 0) == 0) {
        return 1;
    }
    snprintf(full, sizeof(full), "%s.%s", n->module ? n->module : "", n->function);
    return fnmatch(glob, full, 0) == 0;
}

static void
mark_up(struct ft_node *n, uint32_t bit)
{
    for (; n != NULL && !(n->mark & bit); n = n->parent) {
        n->mark |= bit;
    }
}

/* Marks the calls on a path to a match or to an exception, in one pre-order walk. */
static void
mark_paths(const struct show *s, struct ft_node *first)
{
    struct ft_node *n = first;

    while (n != NULL) {
        if (s->match != NULL && matches(s->match, n)) {
            n->mark |= M_MATCH;
            mark_up(n, M_TO_MATCH);
        }
        if (s->errors && n->exc_type != NULL) {
            mark_up(n, M_TO_ERROR);
        }
        if (n->first_child != NULL) {
            n = n->first_child;
            continue;
        }
        while (n != NULL && n->next == NULL) {
            n = n->parent;
        }
        if (n != NULL) {
            n = n->next;
        }
    }
}

static int
any_kept(struct show *s, const struct ft_node *first)
{
    s->inside_match = 0;
    for (const struct ft_node *n = first; n != NULL; n = n->next) {
        if (keep(n, s)) {
            return 1;
        }
    }
    return 0;
}

/* How the run ended, as ls says it. */
static void
put_end(struct ft_buf *b, const struct ft_tree *t)
{
    if (t->ended != NULL && strcmp(t->ended, "signal") == 0) {
        ft_buf_printf(b, "signal %d", t->signal);
    } else if (t->have_exit_code) {
        ft_buf_printf(b, "exit %d", t->exit_code);
    } else {
        ft_term_put(b, t->ended ? t->ended : "?", 0);
    }
}

/* "· 4 units: 1 failed, 1 error, 2 passed" */
static void
put_units(struct ft_buf *b, const struct ft_units *u)
{
    static const char *const outcomes[] = {"failed", "error", "passed", "skipped", "ok"};
    size_t others = u->n;

    ft_buf_printf(b, " · %zu unit%s:", u->n, u->n == 1 ? "" : "s");
    for (size_t k = 0; k < sizeof(outcomes) / sizeof(outcomes[0]); k++) {
        size_t n = 0;
        for (size_t i = 0; i < u->n; i++) {
            n += strcmp(u->v[i].outcome, outcomes[k]) == 0;
        }
        if (n > 0) {
            ft_buf_printf(b, "%s %zu %s", others < u->n ? "," : "", n, outcomes[k]);
            others -= n;
        }
    }
    if (others > 0) {
        ft_buf_printf(b, "%s %zu other", others < u->n ? "," : "", others);
    }
}

static void
print_header(struct show *s, const struct ft_view *v)
{
    const struct ft_tree *t = v->t;
    const struct ft_unit_ent *u = v->unit;
    const char *exc_type = u ? u->exc_type : t->exc_type, *exc_msg = u ? u->exc_msg : t->exc_msg;
    struct ft_buf *b = &s->line;

    b->len = 0;
    if (u != NULL) {
        ft_buf_printf(b, "Unit %llu · ", (unsigned long long)u->id);
        ft_term_put(b, u->name, 0);
        ft_unit_put_outcome(b, u); /* GET /boom -> 500 · 3.20ms, or name · failed · 2.10ms */
        if (u->status > 0) {
            ft_buf_printf(b, " · %s", u->outcome);
        }
        ft_buf_printf(b, " · %zu calls · run ", t->nodes);
        ft_term_put(b, t->run, 0);
    } else {
        char dur[32];

        ft_cli_fmt_duration(t->dur_us, dur, sizeof(dur));
        ft_buf_puts(b, "Run ");
        ft_term_put(b, t->run, 0);
        ft_buf_puts(b, " · ");
        ft_cli_put_argv(b, t->argv, t->argc);
        ft_buf_puts(b, " · Python ");
        ft_term_put(b, t->python ? t->python : "?", 0);
        ft_buf_puts(b, " · ");
        put_end(b, t);
        ft_buf_printf(b, " · %s · %zu calls", dur, t->nodes);
        if (v->units.n > 0) {
            put_units(b, &v->units);
        }
    }
    if (t->lost > 0) {
        ft_buf_printf(b, " · %s%llu events LOST%s", paint(s, "\033[33m"),
                      (unsigned long long)t->lost, paint(s, "\033[0m"));
    }
    ft_buf_putc(b, '\n');
    /* What the process said it could not follow (a profiler it could not chain, ...). */
    for (size_t i = 0; i < t->nnotices; i++) {
        ft_buf_printf(b, "%sNotice: ", paint(s, "\033[33m"));
        ft_term_put(b, t->notices[i], 0);
        ft_buf_printf(b, "%s\n", paint(s, "\033[0m"));
    }
    if (exc_type != NULL) {
        ft_buf_printf(b, "%s%s ", paint(s, "\033[31m"), u != NULL ? "Failed by" : "Uncaught");
        ft_term_put(b, exc_type, 0);
        ft_buf_puts(b, ": ");
        ft_term_put(b, exc_msg ? exc_msg : "", 0);
        ft_buf_printf(b, "%s\n", paint(s, "\033[0m"));
    }
    fwrite(b->p, 1, b->len, s->out);
}

static int
parse_args(int argc, char **argv, struct show *s, const char **dir, const char **thread)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"depth", required_argument, NULL, 'D'},
                                             {"thread", required_argument, NULL, 't'},
                                             {"match", required_argument, NULL, 'm'},
                                             {"min-duration", required_argument, NULL, 'M'},
                                             {"errors", no_argument, NULL, 'e'},
                                             {"no-group", no_argument, NULL, 'G'},
                                             {"color", required_argument, NULL, 'c'},
                                             {"unit", required_argument, NULL, 'u'},
                                             {"failed", no_argument, NULL, 'f'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"source", no_argument, NULL, 'S'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int opt;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":d:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            *dir = optarg;
            break;
        case 'D':
            if (ft_cli_parse_count(optarg, &s->max_depth) != 0) {
                ft_cli_err("show", "--depth '%s' is not a number of levels", optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 't':
            *thread = optarg;
            break;
        case 'm':
            s->match = optarg;
            break;
        case 'M':
            if (ft_cli_parse_duration(optarg, &s->min_us) != 0) {
                ft_cli_err("show", "--min-duration '%s' is not a duration (e.g. 500us, 2ms)",
                           optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 'e':
            s->errors = 1;
            break;
        case 'u':
            s->unit = optarg;
            break;
        case 'f':
            s->failed = 1;
            s->errors = 1;
            break;
        case 'G':
            s->group = 0;
            break;
        case 'j':
            s->json = 1;
            break;
        case 'S':
            s->source = 1;
            break;
        case 'c':
            if ((s->color = ft_cli_color(optarg)) < 0) {
                ft_cli_err("show", "--color '%s' must be always, never or auto", optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(show_usage, stdout);
            return -1;
        default:
            return ft_cli_bad_option("show", opt, argv);
        }
    }
    if (argc - optind > 1) {
        ft_cli_err("show", "one RUN at most (see 'flowtrace show --help')");
        return FT_EXIT_USAGE;
    }
    return FT_EXIT_OK;
}

/* --json: the threads and calls show would print, ungrouped, as tree.json. */
static int
json_thread(void *ctx, const struct ft_tree_thread *th)
{
    struct show *s = ctx;

    if (s->thread != NULL && fnmatch(s->thread, th->name ? th->name : "", 0) != 0) {
        return 0;
    }
    mark_paths(s, th->first);
    return !(s->match != NULL || s->errors || s->min_us > 0) || any_kept(s, th->first);
}

static int
json_keep(void *ctx, const struct ft_node *n, int *inside)
{
    struct show *s = ctx;

    s->inside_match = *inside;
    *inside = *inside || (n->mark & M_MATCH);
    return keep(n, s);
}

static int
print_json(struct show *s, const struct ft_tree *t)
{
    struct ft_tree_json_filter f = {s, json_thread, json_keep, s->max_depth};
    struct ft_out o;
    int rc = ft_cli_out_open("show", "-", &o);

    if (rc == FT_EXIT_OK) {
        int ok = ft_tree_json_write(&o, t, &f) == 0;
        if (!ok) {
            ft_cli_err("show", "out of memory");
        }
        rc = ft_cli_out_close("show", &o, ok);
    }
    return rc;
}

static int
print_threads(struct show *s, const struct ft_tree *t, const char *thread)
{
    size_t shown = 0;
    int rc = 0;

    for (size_t i = 0; i < t->nthreads && rc == 0; i++) {
        const struct ft_tree_thread *th = &t->threads[i];
        if (thread != NULL && fnmatch(thread, th->name ? th->name : "", 0) != 0) {
            continue;
        }
        mark_paths(s, th->first);
        if ((s->match != NULL || s->errors || s->min_us > 0) && !any_kept(s, th->first)) {
            continue; /* nothing of this thread passes the filters */
        }
        s->line.len = 0;
        ft_buf_printf(&s->line, "%sThread ", paint(s, "\033[36m"));
        ft_term_put(&s->line, th->name ? th->name : "?", 0);
        ft_buf_printf(&s->line, "%s (%zu calls)\n", paint(s, "\033[0m"), th->ncalls);
        fwrite(s->line.p, 1, s->line.len, s->out);
        rc = print_thread(s, th->first);
        shown++;
    }
    if (shown == 0 && rc == 0) {
        fprintf(s->out, "(no calls match)\n");
    }
    return rc;
}

/* print_threads, with the files of --source read as they are needed. */
static int
print_threads_with_source(struct show *s, const struct ft_view *v, const char *thread)
{
    struct ft_srcfile_cache cache;
    yajl_val map = s->source && v->sources ? yajl_tree_parse(v->sources, NULL, 0) : NULL;
    struct ft_srcfile_from from = {v->rundir, &map, 1, v->t->start_us};
    int rc;

    if (!s->source) {
        return print_threads(s, v->t, thread);
    }
    ft_srcfile_cache_init(&cache, &from);
    s->src = &cache;
    rc = print_threads(s, v->t, thread);
    s->src = NULL;
    ft_srcfile_cache_free(&cache);
    yajl_tree_free(map);
    return rc;
}

int
ft_cmd_show(int argc, char **argv)
{
    struct show s = {.out = stdout, .color = ft_cli_color(NULL), .group = 1, .max_depth = -1};
    const char *dir = NULL, *thread = NULL;
    struct ft_view v;
    int rc = parse_args(argc, argv, &s, &dir, &thread);

    if (rc != FT_EXIT_OK) {
        return rc < 0 ? FT_EXIT_OK : rc;
    }
    /* --json writes values as the run has them: typed (format 3) stays typed. */
    rc = ft_view_load_flags("show", ft_cli_dir(dir), optind < argc ? argv[optind] : NULL,
                            s.unit != NULL ? s.unit
                            : s.failed     ? ""
                                           : NULL,
                            s.json ? FT_TREE_JSON_VALUES : 0, &v);
    if (rc != FT_EXIT_OK) {
        ft_view_free(&v);
        return rc;
    }
    if (s.json) {
        s.thread = thread;
        rc = print_json(&s, v.t);
        ft_view_free(&v);
        return rc;
    }
    ft_buf_init(&s.line);
    print_header(&s, &v);
    rc = print_threads_with_source(&s, &v, thread);
    free(s.prefix);
    ft_view_free(&v);
    if (rc != 0 || s.line.oom) {
        ft_buf_free(&s.line);
        ft_cli_err("show", "out of memory");
        return FT_EXIT_FAIL;
    }
    ft_buf_free(&s.line);
    if (fflush(stdout) != 0) {
        ft_cli_err("show", "cannot write the output");
        return FT_EXIT_FAIL;
    }
    return FT_EXIT_OK;
}
