/* cmd_show.c - `flowtrace show`: a run's call tree in the terminal. */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tree.h"

static const char show_usage[] =
    "usage: flowtrace show [-d DIR] [--depth N] [--thread NAME] [RUN]\n"
    "\n"
    "Prints the call tree of RUN (default: the latest run): status, function, file:line\n"
    "and duration of every call, thread by thread.\n"
    "\n"
    "  -d, --dir DIR     output directory (default $FLOWTRACE_DIR or ./flowtrace-out)\n"
    "  --depth N         show calls at most N levels deep\n"
    "  --thread NAME     show only the threads with this name\n"
    "  --color WHEN      always, never or auto (default: auto, colour on a terminal)\n";

struct show {
    FILE *out;
    int color;
    long max_depth;
    char *prefix; /* "│   " / "    " per level */
    size_t plen, pcap;
};

static void
fmt_duration(double us, char *out, size_t cap)
{
    if (us < 1000) {
        snprintf(out, cap, "%.1fµs", us);
    } else if (us < 1e6) {
        snprintf(out, cap, "%.2fms", us / 1e3);
    } else {
        snprintf(out, cap, "%.3fs", us / 1e6);
    }
}

static const char *
base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;

    return s ? s + 1 : path ? path : "?";
}

static void
print_node(struct show *s, const struct ft_node *n, int last, int root)
{
    char dur[32];
    const char *icon = n->incomplete ? "⏳" : n->exc_type ? "❌" : "✅";

    fmt_duration(n->dur_us, dur, sizeof(dur));
    fwrite(s->prefix, 1, s->plen, s->out);
    if (!root) {
        fputs(last ? "└── " : "├── ", s->out);
    }
    fprintf(s->out, "%s %s%s%s  %s:%u  %s%s%s", icon, s->color ? "\033[1m" : "",
            n->function ? n->function : "?", s->color ? "\033[0m" : "", base_name(n->file),
            n->line, s->color ? "\033[2m" : "", dur, s->color ? "\033[0m" : "");
    if (n->exc_type != NULL) {
        fprintf(s->out, "  %s%s%s%s%s", s->color ? "\033[31m" : "", n->exc_type,
                n->exc_msg && *n->exc_msg ? ": " : "", n->exc_msg ? n->exc_msg : "",
                s->color ? "\033[0m" : "");
    }
    if (n->incomplete != NULL) {
        fprintf(s->out, "  (unfinished: %s)", n->incomplete);
    }
    fputc('\n', s->out);
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
            return -1;
        }
        s->prefix = np;
        s->pcap = cap;
    }
    memcpy(s->prefix + s->plen, piece, n);
    s->plen += n;
    return 0;
}

/* Depth-first without recursion: trees of deep recursion are normal here. */
static void
print_calls(struct show *s, const struct ft_node *first)
{
    struct item {
        const struct ft_node *n;
        size_t plen;
        long depth;
        int root;
    } *stack = NULL;
    size_t sp = 0, cap = 0;

    for (const struct ft_node *n = first; n != NULL; n = n->next) {
        s->plen = 0;
        sp = 0;
        if (cap == 0 && (stack = malloc((cap = 1024) * sizeof(*stack))) == NULL) {
            return;
        }
        stack[sp++] = (struct item){n, 0, 0, 1};
        while (sp > 0) {
            struct item it = stack[--sp];
            s->plen = it.plen;
            print_node(s, it.n, it.n->next == NULL, it.root);
            if (s->max_depth >= 0 && it.depth >= s->max_depth) {
                continue;
            }
            if (!it.root && push_prefix(s, it.n->next == NULL ? "    " : "│   ") != 0) {
                break;
            }
            /* Push children in reverse so the first is printed first. */
            size_t nc = it.n->nchildren, base = sp;
            if (sp + nc > cap) {
                while (sp + nc > cap) {
                    cap *= 2;
                }
                struct item *ns = realloc(stack, cap * sizeof(*ns));
                if (ns == NULL) {
                    break;
                }
                stack = ns;
            }
            sp += nc;
            size_t i = sp;
            for (const struct ft_node *c = it.n->first_child; c != NULL; c = c->next) {
                stack[--i] = (struct item){c, s->plen, it.depth + 1, 0};
            }
            (void)base;
        }
    }
    free(stack);
}

static void
print_header(struct show *s, const struct ft_tree *t)
{
    char dur[32];

    fmt_duration(t->dur_us, dur, sizeof(dur));
    fprintf(s->out, "Run %s ·", t->run);
    for (size_t i = 1; i < t->argc; i++) {
        fprintf(s->out, " %s", t->argv[i]);
    }
    fprintf(s->out, " · Python %s · ", t->python ? t->python : "?");
    if (t->have_exit_code) {
        fprintf(s->out, "exit %d", t->exit_code);
    } else {
        fprintf(s->out, "%s", t->ended ? t->ended : "?");
    }
    fprintf(s->out, " · %s · %llu calls", dur, (unsigned long long)t->nodes);
    if (t->lost > 0) {
        fprintf(s->out, " · %llu events LOST", (unsigned long long)t->lost);
    }
    fputc('\n', s->out);
    if (t->exc_type != NULL) {
        fprintf(s->out, "Uncaught %s: %s\n", t->exc_type, t->exc_msg ? t->exc_msg : "");
    }
}

int
ft_cmd_show(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"depth", required_argument, NULL, 'D'},
                                             {"thread", required_argument, NULL, 't'},
                                             {"color", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct show s = {stdout, isatty(1), -1, NULL, 0, 0};
    const char *dir = NULL, *thread = NULL;
    char rundir[PATH_MAX], path[PATH_MAX + 16], err[512];
    struct ft_tree *t;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 'D':
            s.max_depth = strtol(optarg, &end, 10);
            if (*end != '\0' || s.max_depth < 0) {
                ft_cli_err("show", "--depth '%s' is not a number of levels", optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 't':
            thread = optarg;
            break;
        case 'c':
            if (strcmp(optarg, "always") == 0) {
                s.color = 1;
            } else if (strcmp(optarg, "never") == 0) {
                s.color = 0;
            } else if (strcmp(optarg, "auto") != 0) {
                ft_cli_err("show", "--color '%s' must be always, never or auto", optarg);
                return FT_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(show_usage, stdout);
            return FT_EXIT_OK;
        default:
            fputs(show_usage, stderr);
            return FT_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(show_usage, stderr);
        return FT_EXIT_USAGE;
    }
    if ((rc = ft_cli_find_run(ft_cli_dir(dir), optind < argc ? argv[optind] : NULL, rundir,
                              sizeof(rundir))) != 0) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/tree.json", rundir);
    if (ft_tree_load(path, &t, err, sizeof(err)) != 0) {
        ft_cli_err("show", "%s", err);
        return FT_EXIT_FAIL;
    }
    print_header(&s, t);
    for (size_t i = 0; i < t->nthreads; i++) {
        const struct ft_tree_thread *th = &t->threads[i];
        if (thread != NULL && (th->name == NULL || strcmp(th->name, thread) != 0)) {
            continue;
        }
        fprintf(s.out, "%sThread %s%s (%zu calls)\n", s.color ? "\033[36m" : "",
                th->name ? th->name : "?", s.color ? "\033[0m" : "", th->ncalls);
        print_calls(&s, th->first);
    }
    free(s.prefix);
    ft_tree_free(t);
    return FT_EXIT_OK;
}
