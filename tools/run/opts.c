/* opts.c - flowtrace-run's options, checked with the settings table, and its usage text. */
#define _GNU_SOURCE
#include "opts.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/settings.h"

const char ft_run_usage[] =
    "usage: flowtrace-run [-o DIR] [options] [--] COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND with every CPython process it starts traced by FlowTrace, writes one run\n"
    "per process under DIR, and exits as COMMAND did (its status, or the signal that ended\n"
    "it). Arguments after COMMAND are passed to it untouched; signals sent to flowtrace-run\n"
    "are passed on to it. Each option also has an environment variable (in brackets) that a\n"
    "bare `LD_PRELOAD=.../libflowtrace.so python ...` reads once. A switch takes a value\n"
    "as --name=true or --name=false. A value that is not one (--max-depth=x) is one line on\n"
    "stderr, and COMMAND runs untraced; an unknown option runs nothing (status 2).\n"
    "\n"
    "Output:\n"
    "  -o, --output DIR          output directory [FLOWTRACE_DIR] (default ./flowtrace-out)\n"
    "  --stdout                  also print each JSONL event on the program's stdout\n"
    "                            [FLOWTRACE_STDOUT=1]\n"
    "  --logfile FILE            also append each JSONL event to FILE [FLOWTRACE_LOGFILE]\n"
    "  --keep-raw                also keep each run's raw event stream (raw.ftb)\n"
    "  --compress                write events.jsonl.zst and tree.json.zst (zstd; every\n"
    "                            flowtrace command reads them) [FLOWTRACE_COMPRESS=1]\n"
    "  --otlp[=URL]              also send each finished request, test and run to an\n"
    "                            OpenTelemetry collector (OTLP/HTTP JSON; without URL, where\n"
    "                            the OTEL_EXPORTER_OTLP_* variables say, default\n"
    "                            http://localhost:4318) [FLOWTRACE_OTLP=1|URL]\n"
    "  -q, --quiet               do not print the summary lines\n"
    "\n"
    "Units of work (a pytest or unittest test, a WSGI or ASGI request) get their own tree in\n"
    "RUN/units/ID/ and a row in RUN/units.jsonl and the index:\n"
    "  --keep failed|all         keep the trees of failed units only (a failed test, an HTTP\n"
    "                            5xx, an exception that escaped the unit), or of every unit;\n"
    "                            every unit keeps its row [FLOWTRACE_KEEP] (default: failed\n"
    "                            when CI is set, else all)\n"
    "  --unit MODULE:FUNCTION    every call of this function is a unit too (repeatable)\n"
    "                            [FLOWTRACE_UNIT, comma-separated]\n"
    "  --sample RATE             keep the trees of this fraction (0 to 1) of the units that\n"
    "                            did not fail, whatever --keep says, and of every failed one\n"
    "                            [FLOWTRACE_SAMPLE]\n"
    "  --manual                  record nothing outside the regions the program marks\n"
    "                            (flowtrace.record, flowtrace.trace) [FLOWTRACE_START=manual]\n"

    "\n"
    "What is traced (default: the program's own code, not the standard library nor\n"
    "site-/dist-packages; a callback from library code still appears):\n"
    "  --include PREFIX[,...]    only these modules (dotted prefixes: `app` is app and app.x,\n"
    "                            not apple; globs allowed) and the main script\n"
    "                            [FLOWTRACE_INCLUDE; the seed's FLOWTRACE_PACKAGE_PREFIX too]\n"
    "  --exclude PATTERN[,...]   leave out modules or module.Class.function names (dotted\n"
    "                            prefixes or globs) [FLOWTRACE_EXCLUDE]\n"
    "  --include-path PATH[,...] only files under /abs/prefix or ending in a suffix\n"
    "                            [FLOWTRACE_INCLUDE_PATH]\n"
    "  --exclude-path PATH[,...] leave out these files [FLOWTRACE_EXCLUDE_PATH]\n"
    "  --all                     everything, the standard library too [FLOWTRACE_ALL=1]\n"
    "  --c-calls                 builtin (C) function calls too [FLOWTRACE_C_CALLS=1]\n"
    "  --max-depth N             keep calls at most N deep (0 to 1000000; 0, the default:\n"
    "                            no limit) [FLOWTRACE_MAX_DEPTH]\n"
    "  --min-duration MICROS     leave out calls shorter than this; their children move up\n"
    "                            to the nearest kept ancestor [FLOWTRACE_MIN_DURATION]\n"
    "  --no-children             trace only the first process [FLOWTRACE_CHILDREN=0]\n"
    "\n"
    "What is recorded of each call:\n"
    "  --max-arg-length N        longest rendered argument or result, in bytes of UTF-8\n"
    "                            text; longer ones are cut and marked with their full length\n"
    "                            [FLOWTRACE_MAX_ARG_LENGTH] (default 1000; at most 1048576;\n"
    "                            0: that largest length, 1 MiB)\n"
    "  --repr                    render other objects with their repr() (runs the program's\n"
    "                            code; errors and slow reprs are caught) [FLOWTRACE_REPR=1]\n"
    "  --skip-inputs             do not record arguments [FLOWTRACE_SKIP_INPUTS=1]\n"
    "  --skip-outputs            do not record return values [FLOWTRACE_SKIP_OUTPUTS=1]\n"
    "  --redact NAME[,...]       names (fragments, any case) whose values are recorded as\n"
    "                            <redacted>: parameters, keys, headers, query parameters,\n"
    "                            command-line options [FLOWTRACE_REDACT] (default: password,\n"
    "                            secret, token, api_key, authorization, cookie, ...; `none`\n"
    "                            turns it off)\n"
    "  --no-exception-details    on Python <= 3.11, do not capture the type and message of\n"
    "                            exceptions that pass through calls (saves their cost)\n"
    "                            [FLOWTRACE_EXCEPTIONS=0]\n"
    "  --no-locals               do not record the local variables of the frames an\n"
    "                            exception leaves [FLOWTRACE_LOCALS=0]\n"
    "  --with-memory             RSS and tracemalloc current/peak before and after each call\n"
    "                            [FLOWTRACE_WITH_MEMORY=1]\n"
    "  --no-memory               no memory figures (the default) [FLOWTRACE_NO_MEMORY=1]\n"
    "  --no-tracemalloc          with --with-memory, RSS only [FLOWTRACE_NO_TRACEMALLOC=1]\n"
    "\n"
    "Delivery:\n"
    "  --flush-interval SECS     ship buffered events at least this often (0.001 to\n"
    "                            1000000); 0 ships only when a buffer fills and at exit\n"
    "                            [FLOWTRACE_FLUSH_INTERVAL] (default 0.5)\n"
    "  --flush-every-call        ship after every event (slow; for debugging the tracer)\n"
    "                            [FLOWTRACE_FLUSH_EVERY_CALL=1]\n"
    "  --log-flushes             a line on stderr for each shipment [FLOWTRACE_LOG_FLUSHES=1]\n"
    "  --drop                    never slow the program down: count lost events instead of\n"
    "                            waiting for the writer [FLOWTRACE_DROP=1]\n"
    "\n"
    "  -h, --help                show this help\n"
    "  --version                 show the version\n"
    "\n"
    "FLOWTRACE_DEBUG=1 makes the library say what it does on stderr; FLOWTRACE_DISABLE=1\n"
    "turns it off.\n";

static void
note_bad(struct ft_run_args *a, const char *fmt, ...)
{
    /* one line: the first bad value */
    if (a->bad[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        /* The analyzer, run on another file first in the same clang-tidy process, reads
         * ap as uninitialised here. */
        // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
        vsnprintf(a->bad, sizeof(a->bad), fmt, ap);
        va_end(ap);
    }
}

/* Sets NAME=value for the command; a later option replaces an earlier one. */
static void
put_env(struct ft_run_args *a, const char *name, const char *value)
{
    size_t n = strlen(name);
    char *entry;

    if (asprintf(&entry, "%s=%s", name, value) < 0) {
        note_bad(a, "out of memory");
        return;
    }
    for (int i = 0; i < a->nenv; i++) {
        if (strncmp(a->env[i], name, n) == 0 && a->env[i][n] == '=') {
            free(a->env[i]);
            a->env[i] = entry;
            return;
        }
    }
    if (a->nenv == FT_RUN_MAX_SETTINGS) {
        free(entry);
        note_bad(a, "too many options");
        return;
    }
    a->env[a->nenv++] = entry;
}

/* --unit values add up, after any inherited from the environment. */
static void
append_env(struct ft_run_args *a, const char *name, const char *value, const char *inherited)
{
    size_t n = strlen(name);

    for (int i = 0; i < a->nenv; i++) {
        if (strncmp(a->env[i], name, n) == 0 && a->env[i][n] == '=') {
            char *joined;
            if (asprintf(&joined, "%s,%s", a->env[i] + n + 1, value) < 0) {
                note_bad(a, "out of memory");
                return;
            }
            put_env(a, name, joined);
            free(joined);
            return;
        }
    }
    if (inherited != NULL && *inherited != '\0') {
        char *joined;
        if (asprintf(&joined, "%s,%s", inherited, value) < 0) {
            note_bad(a, "out of memory");
            return;
        }
        put_env(a, name, joined);
        free(joined);
        return;
    }
    put_env(a, name, value);
}

/* --manual (an ENUM switch: alone or =true its last choice, =false its first) and --otlp
 * (an optional value: alone "1", else --otlp=VALUE). */
static void
apply_switch(struct ft_run_args *a, const struct ft_setting *s, const char *name, const char *val)
{
    static const struct ft_setting as_bool = {.kind = FT_SET_BOOL};
    struct ft_setting_value v = {0};
    const char *last;

    if (s->flags & FT_SET_OPTVAL) {
        put_env(a, s->env, val != NULL ? val : "1");
        return;
    }
    last = strrchr(s->choices, '|') != NULL ? strrchr(s->choices, '|') + 1 : s->choices;
    if (val == NULL || (ft_setting_parse(&as_bool, val, &v) == 0 && v.on)) {
        put_env(a, s->env, last);
    } else if (ft_setting_parse(&as_bool, val, &v) == 0) {
        char first[64];
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(s->choices, "|"), s->choices);
        put_env(a, s->env, first);
    } else {
        note_bad(a, "%s=%s: not 'true' or 'false'", name, val);
    }
}

/* Applies option `name` of setting s with value val (NULL: a switch given alone). */
static void
apply(struct ft_run_args *a, const struct ft_setting *s, const char *name, const char *val,
      int with_eq, const char *inherited_units)
{
    struct ft_setting_value v = {0};

    if (s->flags & (FT_SET_SWITCH | FT_SET_OPTVAL)) {
        apply_switch(a, s, name, val);
        return;
    }
    if (val != NULL && ft_setting_parse(s, val, &v) != 0) {
        char want[128];
        note_bad(a, "%s%s%s: not %s", name, with_eq ? "=" : " ", val,
                 ft_setting_want(s, want, sizeof(want)));
        return;
    }
    if (s->kind == FT_SET_BOOL) {
        int on = val == NULL ? 1 : v.on;
        on = (s->flags & FT_SET_INVERT) ? !on : on;
        if (strcmp(s->option, "--quiet") == 0) {
            a->quiet = on;
        } else if (strcmp(s->option, "--keep-raw") == 0) {
            a->keep_raw = on;
        } else {
            put_env(a, s->env, on ? "1" : "0");
        }
    } else if (strcmp(s->option, "--output") == 0) {
        a->out = val;
    } else if (s->flags & FT_SET_APPEND) {
        append_env(a, s->env, val, inherited_units);
    } else {
        put_env(a, s->env, val);
    }
}

/* Whether arg names a program: a path, or a name found on PATH. */
static int
is_command(const char *arg)
{
    const char *path = getenv("PATH");
    char file[4096];

    if (strchr(arg, '/') != NULL) {
        return 1;
    }
    while (path != NULL && *path) {
        size_t len = strcspn(path, ":");
        if (snprintf(file, sizeof(file), "%.*s/%s", (int)len, len ? path : ".", arg) <
                (int)sizeof(file) &&
            access(file, X_OK) == 0) {
            return 1;
        }
        path += len + (path[len] == ':');
    }
    return 0;
}

/* Whether the argument after option s is its value: one that can be (`--keep failed`,
 * `--max-depth 3`), or one that cannot but is no command either (`--keep sometimes`:
 * a bad value). A command is never taken: `--keep python3 app.py` runs python3. */
static int
takes(const struct ft_setting *s, const char *next)
{
    return s->kind != FT_SET_BOOL && (ft_setting_takes(s, next) || !is_command(next));
}

/* The option part of arg ("--max-depth" of "--max-depth=3"), into name. */
static const char *
option_name(const char *arg, char *name, size_t cap, const char **eq)
{
    *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
    snprintf(name, cap, "%.*s", *eq ? (int)(*eq - arg) : (int)strlen(arg), arg);
    return name;
}

int
ft_run_args_parse(int argc, char **argv, const char *inherited_units, struct ft_run_args *a,
                  char *msg, size_t cap)
{
    int i = 1;

    memset(a, 0, sizeof(*a));
    msg[0] = '\0';
    while (i < argc) {
        const char *arg = argv[i], *eq, *val = NULL;
        const struct ft_setting *s;
        char name[64], want[128];

        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            break; /* the command */
        }
        option_name(arg, name, sizeof(name), &eq);
        s = ft_setting_by_option(name);
        if (s == NULL) {
            snprintf(msg, cap, "unknown option %s", name);
            return FT_ARGS_USAGE;
        }
        i++;
        if (s->kind == FT_SET_COMMAND) {
            if (eq != NULL) {
                snprintf(msg, cap, "%s takes no value", name);
                return FT_ARGS_USAGE;
            }
            return strcmp(s->option, "--help") == 0 ? FT_ARGS_HELP : FT_ARGS_VERSION;
        }
        if (eq != NULL) {
            val = eq + 1;
        } else if (!ft_setting_is_switch(s)) {
            if (i < argc && takes(s, argv[i])) {
                val = argv[i++];
            } else {
                /* Not a value of this option: it is the command, not swallowed. */
                note_bad(a, "%s needs %s", name, ft_setting_want(s, want, sizeof(want)));
                continue;
            }
        }
        apply(a, s, name, val, eq != NULL, inherited_units);
    }
    if (i >= argc) {
        return FT_ARGS_USAGE; /* no command */
    }
    a->cmd = argv + i;
    return FT_ARGS_RUN;
}

void
ft_run_args_free(struct ft_run_args *a)
{
    for (int i = 0; i < a->nenv; i++) {
        free(a->env[i]);
    }
    a->nenv = 0;
}
