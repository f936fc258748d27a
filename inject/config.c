/* config.c - parsing and validation of the FLOWTRACE_* environment. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/wire.h"

struct ft_config ft_cfg;

/* Settings given to ft_config_load_with ("NAME=value" lines), consulted before the
 * environment: a copy whose newlines are NULs, valid until the next load. */
static char *given;
static size_t given_len;

/* The value of a setting: the given one, else the environment's (the only getenv). */
static const char *
setting(const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; given != NULL && i < given_len; i += strlen(given + i) + 1) {
        if (strncmp(given + i, name, n) == 0 && given[i + n] == '=') {
            return given + i + n + 1;
        }
    }
    return getenv(name);
}

static int
bad(char *msg, size_t cap, const char *name, const char *val, const char *want)
{
    snprintf(msg, cap, "%s='%s' is not %s", name, val, want);
    return -EINVAL;
}

static int
get_bool(const char *name, int dflt, int *out, char *msg, size_t cap)
{
    const char *v = setting(name);

    if (v == NULL || *v == '\0') {
        *out = dflt;
    } else if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")) {
        *out = 1;
    } else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no")) {
        *out = 0;
    } else {
        return bad(msg, cap, name, v, "0 or 1");
    }
    return 0;
}

/* Seconds as a decimal number into nanoseconds; negative means 0 where allowed. */
static int
get_seconds(const char *name, double dflt, int allow_zero, uint64_t *out, char *msg, size_t cap)
{
    const char *v = setting(name);
    double d = dflt;
    char *end;

    if (v != NULL && *v != '\0') {
        errno = 0;
        d = strtod(v, &end);
        if (errno != 0 || *end != '\0' || isnan(d) || d > 1e6 || (!allow_zero && d <= 0)) {
            return bad(msg, cap, name, v,
                       allow_zero ? "a number of seconds" : "a positive number of seconds");
        }
    }
    *out = d <= 0 ? 0 : (uint64_t)(d * 1e9);
    return 0;
}

static int
get_uint(const char *name, unsigned long dflt, unsigned long lo, unsigned long hi,
         unsigned long *out, char *msg, size_t cap)
{
    const char *v = setting(name);
    char *end;
    unsigned long n = dflt;

    if (v != NULL && *v != '\0') {
        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno != 0 || *end != '\0' || *v == '-' || n < lo || n > hi) {
            char want[96];
            snprintf(want, sizeof(want), "an integer from %lu to %lu", lo, hi);
            return bad(msg, cap, name, v, want);
        }
    }
    *out = n;
    return 0;
}

static int
get_dir(char *out, size_t cap, char *msg, size_t mcap)
{
    const char *v = setting("FLOWTRACE_DIR");
    char cwd[4096];

    if (v == NULL || *v == '\0') {
        v = "flowtrace-out";
    }
    if (v[0] == '/') {
        snprintf(out, cap, "%s", v);
        return 0;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        snprintf(msg, mcap, "cannot resolve FLOWTRACE_DIR='%s': %s", v, strerror(errno));
        return -EINVAL;
    }
    if ((size_t)snprintf(out, cap, "%s/%s", cwd, v) >= cap) {
        return bad(msg, mcap, "FLOWTRACE_DIR", v, "a path of reasonable length");
    }
    return 0;
}

/* Without flowtrace-run, processes tracing into the same directory share one writer,
 * found at a path derived from the directory inside a per-user private directory. */
static int
derive_socket(struct ft_config *c, char *msg, size_t cap)
{
    const char *tmp = setting("TMPDIR");
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the output directory */

    if (tmp == NULL || tmp[0] != '/' || strlen(tmp) > 60) {
        tmp = "/tmp";
    }
    for (const char *p = c->dir; *p; p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    }
    snprintf(c->sockdir, sizeof(c->sockdir), "%s/flowtrace-%u", tmp, (unsigned)getuid());
    if ((size_t)snprintf(c->socket, sizeof(c->socket), "%s/%016llx.sock", c->sockdir,
                         (unsigned long long)h) >= sizeof(c->socket)) {
        snprintf(msg, cap, "socket path under %s is too long", tmp);
        return -EINVAL;
    }
    return 0;
}

static void
split(struct ft_list *l, const char *v, int append)
{
    size_t used = 0;
    char *p;

    if (!append) {
        l->n = 0;
    } else if (l->n > 0) {
        used = (size_t)(l->item[l->n - 1] - l->buf) + strlen(l->item[l->n - 1]) + 1;
    }
    if (v == NULL || used >= sizeof(l->buf)) {
        return;
    }
    snprintf(l->buf + used, sizeof(l->buf) - used, "%s", v);
    for (p = strtok(l->buf + used, ","); p != NULL && l->n < FT_LIST_MAX; p = strtok(NULL, ",")) {
        while (*p == ' ') {
            p++;
        }
        if (*p != '\0') {
            l->item[l->n++] = p;
        }
    }
}

/* Secrets are not written to trace files unless asked: these name fragments are
 * matched case-insensitively against parameter names and keyword-argument keys. */
static const char default_redact[] =
    "password,passwd,pwd,secret,token,api_key,apikey,authorization,auth_header,credential,"
    "private_key,access_key,session_key,cookie";

/* A CI system says so with CI set to anything but empty, 0 or false. */
static int
in_ci(void)
{
    const char *v = setting("CI");

    return v != NULL && *v != '\0' && strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
}

static int
load_units(struct ft_config *c, char *msg, size_t cap)
{
    const char *v = setting("FLOWTRACE_KEEP");

    if (v == NULL || *v == '\0') {
        c->keep = in_ci() ? FT_KEEP_FAILED : FT_KEEP_ALL;
    } else if (strcmp(v, "all") == 0) {
        c->keep = FT_KEEP_ALL;
    } else if (strcmp(v, "failed") == 0) {
        c->keep = FT_KEEP_FAILED;
    } else {
        return bad(msg, cap, "FLOWTRACE_KEEP", v, "'all' or 'failed'");
    }
    split(&c->units, setting("FLOWTRACE_UNIT"), 0);
    for (int i = 0; i < c->units.n; i++) {
        const char *colon = strchr(c->units.item[i], ':');
        if (colon == NULL || colon == c->units.item[i] || colon[1] == '\0') {
            return bad(msg, cap, "FLOWTRACE_UNIT", c->units.item[i], "MODULE:FUNCTION");
        }
    }
    return 0;
}

static int
load_capture(struct ft_config *c, char *msg, size_t cap)
{
    unsigned long n;
    int err, no_memory = 0, no_tracemalloc = 0;
    const char *v;

    if ((err = get_uint("FLOWTRACE_MAX_ARG_LENGTH", 1000, 0, 100000000, &n, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_REPR", 0, &c->repr, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_SKIP_INPUTS", 0, &c->skip_inputs, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_SKIP_OUTPUTS", 0, &c->skip_outputs, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_EXCEPTIONS", 1, &c->exceptions, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_C_CALLS", 0, &c->c_calls, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_WITH_MEMORY", 0, &c->memory, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_NO_MEMORY", 0, &no_memory, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_NO_TRACEMALLOC", 0, &no_tracemalloc, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_FLUSH_EVERY_CALL", 0, &c->flush_every_call, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_LOG_FLUSHES", 0, &c->log_flushes, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_STDOUT", 0, &c->mirror_stdout, msg, cap)) != 0) {
        return err;
    }
    c->max_arg_length = n;
    c->memory = c->memory && !no_memory;
    c->tracemalloc = c->memory && !no_tracemalloc;
    if ((err = get_uint("FLOWTRACE_MAX_DEPTH", 0, 0, 1000000, &n, msg, cap)) != 0) {
        return err;
    }
    c->max_depth = n;
    v = setting("FLOWTRACE_MIN_DURATION");
    if (v != NULL && *v != '\0') {
        char *end;
        double us = strtod(v, &end);
        if (*end != '\0' || !(us >= 0) || us > 1e12) {
            return bad(msg, cap, "FLOWTRACE_MIN_DURATION", v, "a number of microseconds");
        }
        c->min_duration_ns = (uint64_t)(us * 1000);
    }
    split(&c->include, setting("FLOWTRACE_INCLUDE"), 0);
    split(&c->include, setting("FLOWTRACE_PACKAGE_PREFIX"), 1);
    split(&c->exclude, setting("FLOWTRACE_EXCLUDE"), 0);
    split(&c->include_path, setting("FLOWTRACE_INCLUDE_PATH"), 0);
    split(&c->exclude_path, setting("FLOWTRACE_EXCLUDE_PATH"), 0);
    v = setting("FLOWTRACE_REDACT");
    if (v != NULL && (strcmp(v, "none") == 0 || *v == '\0')) {
        c->redact.n = 0;
    } else {
        split(&c->redact, v != NULL ? v : default_redact, 0);
    }
    v = setting("FLOWTRACE_LOGFILE");
    snprintf(c->logfile, sizeof(c->logfile), "%s", v ? v : "");
    return load_units(c, msg, cap);
}

int
ft_config_load(char *msg, size_t cap)
{
    return ft_config_load_with(NULL, msg, cap);
}

/* Keeps a copy of settings for setting(), one NUL-terminated line after another. */
static int
take_settings(const char *settings, char *msg, size_t cap)
{
    free(given);
    given = NULL;
    given_len = 0;
    if (settings == NULL) {
        return 0;
    }
    given_len = strlen(settings) + 1;
    if ((given = strdup(settings)) == NULL) {
        snprintf(msg, cap, "out of memory");
        return -ENOMEM;
    }
    for (char *p = given; (p = strchr(p, '\n')) != NULL; p++) {
        *p = '\0';
    }
    return 0;
}

int
ft_config_load_with(const char *settings, char *msg, size_t cap)
{
    struct ft_config *c = &ft_cfg;
    unsigned long kb, nbuf;
    const char *v;
    int err;

    if ((err = take_settings(settings, msg, cap)) != 0) {
        return err;
    }
    memset(c, 0, sizeof(*c));
    if ((err = get_bool("FLOWTRACE_DISABLE", 0, &c->disabled, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_DEBUG", 0, &c->debug, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_DROP", 0, &c->drop, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_ALL", 0, &c->all, msg, cap)) != 0 ||
        (err = get_bool("FLOWTRACE_CHILDREN", 1, &c->children, msg, cap)) != 0 ||
        (err = get_seconds("FLOWTRACE_FLUSH_INTERVAL", 0.5, 1, &c->flush_ns, msg, cap)) != 0 ||
        (err = get_seconds("FLOWTRACE_WAIT_TIMEOUT", 60, 0, &c->wait_ns, msg, cap)) != 0 ||
        (err = get_seconds("FLOWTRACE_ACK_TIMEOUT", 60, 0, &c->ack_ns, msg, cap)) != 0 ||
        (err = get_uint("FLOWTRACE_BUFFER_KB", 64, 4, 16384, &kb, msg, cap)) != 0 ||
        (err = get_uint("FLOWTRACE_BUFFERS", 256, 4, 65536, &nbuf, msg, cap)) != 0 ||
        (err = get_dir(c->dir, sizeof(c->dir), msg, cap)) != 0) {
        return err;
    }
    c->buffer_size = kb * 1024;
    c->max_buffers = (unsigned)nbuf;
    v = setting("FLOWTRACE_SOCKET");
    if (v != NULL && *v != '\0') {
        if (strlen(v) >= sizeof(c->socket)) {
            return bad(msg, cap, "FLOWTRACE_SOCKET", v, "shorter than 108 bytes");
        }
        snprintf(c->socket, sizeof(c->socket), "%s", v);
        c->socket_given = 1;
    } else if ((err = derive_socket(c, msg, cap)) != 0) {
        return err;
    }
    if ((err = load_capture(c, msg, cap)) != 0) {
        return err;
    }
    v = setting("FLOWTRACE_START");
    if (v != NULL && *v != '\0' && strcmp(v, "auto") != 0 && strcmp(v, "manual") != 0) {
        return bad(msg, cap, "FLOWTRACE_START", v, "'auto' or 'manual'");
    }
    c->manual = v != NULL && strcmp(v, "manual") == 0;
    v = setting("FLOWTRACE_ENGINE");
    if (v == NULL || *v == '\0' || !strcmp(v, "auto")) {
        c->engine = FT_ENGINE_AUTO;
    } else if (!strcmp(v, "profile")) {
        c->engine = FT_ENGINE_PROFILE;
    } else if (!strcmp(v, "monitoring")) {
        c->engine = FT_ENGINE_MONITORING;
    } else {
        return bad(msg, cap, "FLOWTRACE_ENGINE", v, "'auto', 'profile' or 'monitoring'");
    }
    v = setting("FLOWTRACE_WRITER");
    snprintf(c->writer, sizeof(c->writer), "%s", v ? v : "");
    v = setting("FLOWTRACE_CLOCK");
    if (v == NULL || *v == '\0') {
        c->clock = ft_clock_tsc_usable() ? FT_CLOCK_TSC : FT_CLOCK_MONOTONIC;
    } else if (!strcmp(v, "tsc")) {
        c->clock = FT_HAVE_TSC ? FT_CLOCK_TSC : FT_CLOCK_MONOTONIC;
    } else if (!strcmp(v, "monotonic")) {
        c->clock = FT_CLOCK_MONOTONIC;
    } else {
        return bad(msg, cap, "FLOWTRACE_CLOCK", v, "'tsc' or 'monotonic'");
    }
    return 0;
}
