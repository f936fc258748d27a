/* settings.c - the table of user settings and the parser of each kind of value. */
#include "settings.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ROW(opt, env_, kind_, ...)                                                                 \
    {                                                                                              \
        .option = (opt), .env = (env_), .kind = (kind_), __VA_ARGS__                               \
    }
#define ON(opt, env)         ROW(opt, env, FT_SET_BOOL, .flags = 0)
#define OFF(opt, env)        ROW(opt, env, FT_SET_BOOL, .flags = FT_SET_INVERT)
#define TEXT(opt, env)       ROW(opt, env, FT_SET_TEXT, .flags = 0)
#define UINT(opt, env, l, h) ROW(opt, env, FT_SET_UINT, .lo = (l), .hi = (h))
#define SECONDS(opt, env, flags_)                                                                  \
    ROW(opt, env, FT_SET_NUMBER, .lo = 0.001, .hi = 1e6, .unit = "seconds", .flags = (flags_))
#define CHOICE(opt, env, choices_) ROW(opt, env, FT_SET_ENUM, .choices = (choices_))

/* The limits are the library's: what a value can mean without harm (a flush interval of a
 * nanosecond would spin the flusher; a timeout of 1e-300 s would be 0). */
const struct ft_setting ft_settings[] = {
    /* flowtrace-run's own. */
    ROW("--output", "FLOWTRACE_DIR", FT_SET_TEXT, .short_name = 'o'),
    ROW("--quiet", NULL, FT_SET_BOOL, .short_name = 'q'),
    ON("--keep-raw", NULL),
    ROW("--help", NULL, FT_SET_COMMAND, .short_name = 'h'),
    ROW("--version", NULL, FT_SET_COMMAND, .flags = 0),
    /* Output and units of work. */
    ON("--stdout", "FLOWTRACE_STDOUT"),
    TEXT("--logfile", "FLOWTRACE_LOGFILE"),
    ON("--compress", "FLOWTRACE_COMPRESS"),
    CHOICE("--keep", "FLOWTRACE_KEEP", "failed|all"),
    ROW("--unit", "FLOWTRACE_UNIT", FT_SET_UNITS, .flags = FT_SET_APPEND),
    /* Sampling and live export of units (issue 14), recording only in regions (issue 15):
     * their help lines come with the code that reads them. */
    ROW("--sample", "FLOWTRACE_SAMPLE", FT_SET_NUMBER, .lo = 0, .hi = 1, .unit = NULL),
    ROW("--otlp", "FLOWTRACE_OTLP", FT_SET_TEXT, .flags = FT_SET_OPTVAL),
    /* Recording only inside regions (flowtrace.record() and friends). */
    ROW("--manual", "FLOWTRACE_START", FT_SET_ENUM, .choices = "auto|manual",
        .flags = FT_SET_SWITCH),
    /* What is traced. */
    TEXT("--include", "FLOWTRACE_INCLUDE"),
    TEXT(NULL, "FLOWTRACE_PACKAGE_PREFIX"),
    TEXT("--exclude", "FLOWTRACE_EXCLUDE"),
    TEXT("--include-path", "FLOWTRACE_INCLUDE_PATH"),
    TEXT("--exclude-path", "FLOWTRACE_EXCLUDE_PATH"),
    ON("--all", "FLOWTRACE_ALL"),
    ON("--c-calls", "FLOWTRACE_C_CALLS"),
    UINT("--max-depth", "FLOWTRACE_MAX_DEPTH", 0, 1000000),
    ROW("--min-duration", "FLOWTRACE_MIN_DURATION", FT_SET_NUMBER, .lo = 0, .hi = 1e12,
        .unit = "microseconds"),
    OFF("--no-children", "FLOWTRACE_CHILDREN"),
    /* What is recorded: 0 is the largest length, 1 MiB per value. */
    UINT("--max-arg-length", "FLOWTRACE_MAX_ARG_LENGTH", 0, 1 << 20),
    ON("--repr", "FLOWTRACE_REPR"),
    ON("--skip-inputs", "FLOWTRACE_SKIP_INPUTS"),
    ON("--skip-outputs", "FLOWTRACE_SKIP_OUTPUTS"),
    TEXT("--redact", "FLOWTRACE_REDACT"),
    OFF("--no-exception-details", "FLOWTRACE_EXCEPTIONS"),
    OFF("--no-locals", "FLOWTRACE_LOCALS"),
    ON("--with-memory", "FLOWTRACE_WITH_MEMORY"),
    ON("--no-memory", "FLOWTRACE_NO_MEMORY"),
    ON("--no-tracemalloc", "FLOWTRACE_NO_TRACEMALLOC"),
    /* Delivery. */
    SECONDS("--flush-interval", "FLOWTRACE_FLUSH_INTERVAL", FT_SET_ZEROOFF),
    ON("--flush-every-call", "FLOWTRACE_FLUSH_EVERY_CALL"),
    ON("--log-flushes", "FLOWTRACE_LOG_FLUSHES"),
    ON("--drop", "FLOWTRACE_DROP"),
    /* The environment only. */
    ON(NULL, "FLOWTRACE_DEBUG"),
    ON(NULL, "FLOWTRACE_DISABLE"),
    UINT(NULL, "FLOWTRACE_BUFFER_KB", 4, 16384),
    UINT(NULL, "FLOWTRACE_BUFFERS", 4, 65536),
    SECONDS(NULL, "FLOWTRACE_WAIT_TIMEOUT", 0),
    SECONDS(NULL, "FLOWTRACE_ACK_TIMEOUT", 0),
    CHOICE(NULL, "FLOWTRACE_ENGINE", "auto|profile|monitoring"),
    CHOICE(NULL, "FLOWTRACE_CLOCK", "tsc|monotonic"),
    TEXT(NULL, "FLOWTRACE_WRITER"),
    TEXT(NULL, "FLOWTRACE_SOCKET"),
    ROW(NULL, NULL, FT_SET_TEXT, .flags = 0),
};

const struct ft_setting *
ft_setting_by_option(const char *name)
{
    for (const struct ft_setting *s = ft_settings; s->option || s->env; s++) {
        if (s->option == NULL) {
            continue;
        }
        if (strcmp(s->option, name) == 0 ||
            (s->short_name && name[0] == '-' && name[1] == s->short_name && name[2] == '\0')) {
            return s;
        }
    }
    return NULL;
}

const struct ft_setting *
ft_setting_by_env(const char *name)
{
    for (const struct ft_setting *s = ft_settings; s->option || s->env; s++) {
        if (s->env != NULL && strcmp(s->env, name) == 0) {
            return s;
        }
    }
    return NULL;
}

static int
parse_bool(const char *t, int *on)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(t, yes[i]) == 0) {
            *on = 1;
            return 0;
        }
        if (strcasecmp(t, no[i]) == 0) {
            *on = 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int
parse_uint(const struct ft_setting *s, const char *t, uint64_t *u)
{
    char *end;

    if (t[0] < '0' || t[0] > '9') { /* no sign, no space: strtoull would accept them */
        return -EINVAL;
    }
    errno = 0;
    *u = strtoull(t, &end, 10);
    if (errno != 0 || *end != '\0' || (double)*u < s->lo || (double)*u > s->hi) {
        return -EINVAL;
    }
    return 0;
}

static int
parse_number(const struct ft_setting *s, const char *t, double *d)
{
    char *end;

    *d = strtod(t, &end);
    if (end == t || *end != '\0' || !isfinite(*d)) {
        return -EINVAL;
    }
    if ((s->flags & FT_SET_ZEROOFF) && *d <= 0) {
        *d = 0;
        return 0;
    }
    return *d >= s->lo && *d <= s->hi ? 0 : -EINVAL;
}

/* The index of t among "a|b|c", or -1. */
static int
choice_of(const char *choices, const char *t)
{
    size_t n = strlen(t);
    int i = 0;

    for (const char *p = choices; *p; i++) {
        size_t len = strcspn(p, "|");
        if (len == n && strncmp(p, t, n) == 0) {
            return i;
        }
        p += len + (p[len] == '|');
    }
    return -1;
}

/* Each comma-separated item is MODULE:FUNCTION, both parts non-empty. */
static int
parse_units(const char *t)
{
    const char *p = t;

    while (*p) {
        size_t len;
        const char *colon;
        while (*p == ' ') {
            p++;
        }
        len = strcspn(p, ",");
        colon = memchr(p, ':', len);
        if (len > 0 && (colon == NULL || colon == p || colon == p + len - 1)) {
            return -EINVAL;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

int
ft_setting_parse(const struct ft_setting *s, const char *text, struct ft_setting_value *v)
{
    memset(v, 0, sizeof(*v));
    v->text = text;
    switch (s->kind) {
    case FT_SET_BOOL:
        return parse_bool(text, &v->on);
    case FT_SET_UINT:
        return parse_uint(s, text, &v->u);
    case FT_SET_NUMBER:
        return parse_number(s, text, &v->d);
    case FT_SET_ENUM:
        v->choice = choice_of(s->choices, text);
        return v->choice >= 0 ? 0 : -EINVAL;
    case FT_SET_UNITS:
        return parse_units(text);
    case FT_SET_TEXT:
        return 0;
    case FT_SET_COMMAND:
        return -EINVAL; /* takes no value */
    }
    return -EINVAL;
}

/* A limit as a person writes it: 1000000, not 1e+06; 0.001. */
static void
put_limit(char *out, size_t cap, double x)
{
    if (x == floor(x) && fabs(x) < 1e15) {
        snprintf(out, cap, "%.0f", x);
    } else {
        snprintf(out, cap, "%g", x);
    }
}

static void
want_choices(const char *choices, char *out, size_t cap)
{
    size_t used = 0, n = 1, i = 0;

    for (const char *p = choices; *p; p++) {
        n += *p == '|';
    }
    out[0] = '\0';
    for (const char *p = choices; *p && used < cap; i++) {
        size_t len = strcspn(p, "|");
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int w = snprintf(out + used, cap - used, "%s'%.*s'", sep, (int)len, p);
        used += w > 0 ? (size_t)w : 0;
        p += len + (p[len] == '|');
    }
}

const char *
ft_setting_want(const struct ft_setting *s, char *out, size_t cap)
{
    char lo[32], hi[32];

    put_limit(lo, sizeof(lo), s->lo);
    put_limit(hi, sizeof(hi), s->hi);
    switch (s->kind) {
    case FT_SET_BOOL:
        snprintf(out, cap, "'true' or 'false'");
        break;
    case FT_SET_UINT:
        snprintf(out, cap, "a whole number from %s to %s", lo, hi);
        break;
    case FT_SET_NUMBER:
        snprintf(out, cap, "%sa number%s%s from %s to %s", s->flags & FT_SET_ZEROOFF ? "0 or " : "",
                 s->unit ? " of " : "", s->unit ? s->unit : "", lo, hi);
        break;
    case FT_SET_ENUM:
        want_choices(s->choices, out, cap);
        break;
    case FT_SET_UNITS:
        snprintf(out, cap, "MODULE:FUNCTION");
        break;
    case FT_SET_TEXT:
        snprintf(out, cap, "a value");
        break;
    case FT_SET_COMMAND:
        snprintf(out, cap, "nothing");
        break;
    }
    return out;
}

int
ft_setting_takes(const struct ft_setting *s, const char *text)
{
    char *end;

    if (s->flags & (FT_SET_SWITCH | FT_SET_OPTVAL)) {
        return 0;
    }
    switch (s->kind) {
    case FT_SET_ENUM:
        return choice_of(s->choices, text) >= 0;
    case FT_SET_UINT:
    case FT_SET_NUMBER:
        (void)strtod(text, &end);
        return end != text;
    case FT_SET_TEXT:
    case FT_SET_UNITS:
        return 1;
    case FT_SET_BOOL:
    case FT_SET_COMMAND:
        return 0;
    }
    return 0;
}

int
ft_setting_is_switch(const struct ft_setting *s)
{
    return s->kind == FT_SET_BOOL || s->kind == FT_SET_COMMAND ||
           (s->flags & (FT_SET_SWITCH | FT_SET_OPTVAL)) != 0;
}
