/* otlp_map.c - units of work and runs as OpenTelemetry spans (otlp_map.h). */
#include "otlp_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/codetab.h"
#include "lib/otlp.h"
#include "lib/script.h"
#include "lib/wire.h"

#define MAX_ATTRS (16 + 64) /* a span's own, or a resource's with OTEL_RESOURCE_ATTRIBUTES */

/* ---- Ids ------------------------------------------------------------------------------- */

static uint64_t
run_seed(const struct ft_otlp_resource *res, const struct ft_run_info *info)
{
    uint64_t h = res->salt ^ info->pid;

    for (const char *p = info->id; p != NULL && *p != '\0'; p++) {
        h = ft_otlp_mix(h ^ (unsigned char)*p);
    }
    return h;
}

static void
put_be64(uint8_t *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* The span id of call `id` of the run (0: the run itself); never zero. */
static void
span_id(uint64_t seed, uint64_t id, uint8_t out[8])
{
    uint64_t v = ft_otlp_mix(seed ^ ft_otlp_mix(id + 1));

    put_be64(out, v != 0 ? v : 1);
}

static void
trace_id(uint64_t seed, uint64_t salt, uint8_t out[16])
{
    put_be64(out, ft_otlp_mix(seed ^ salt ^ 0x5452414345ull) | 1);
    put_be64(out + 8, ft_otlp_mix(seed ^ ~salt));
}

/* ---- Exceptions ------------------------------------------------------------------------ */

static size_t
put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static unsigned
hex4(const char *p)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* One escape sequence (p at the backslash) decoded into out; p moves to its last byte.
 * Returns the bytes written (at most 4). */
static size_t
unescape(const char **pp, char *out)
{
    const char *p = *pp + 1;
    size_t k = 1;

    switch (*p) {
    case 'n':
        out[0] = '\n';
        break;
    case 't':
        out[0] = '\t';
        break;
    case 'r':
        out[0] = '\r';
        break;
    case 'b':
        out[0] = '\b';
        break;
    case 'f':
        out[0] = '\f';
        break;
    case 'u': {
        unsigned cp = strlen(p) >= 5 ? hex4(p + 1) : 0xfffd;
        p += strlen(p) >= 5 ? 4 : 0;
        if (cp >= 0xd800 && cp < 0xdc00 && p[1] == '\\' && p[2] == 'u' && strlen(p) >= 7) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(p + 3) - 0xdc00);
            p += 6;
        }
        k = put_utf8(out, cp);
        break;
    }
    case '\0':
        p--;
        k = 0;
        break;
    default:
        out[0] = *p; /* \" \\ \/ */
        break;
    }
    *pp = p;
    return k;
}

/* The string value of "key" in JSON the writer made ({"type":..,"message":..}), decoded,
 * into out; NULL when absent or null. */
static const char *
json_text(const char *json, const char *key, char *out, size_t cap)
{
    char pat[32];
    const char *p;
    size_t k = 0;

    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    if (json == NULL || (p = strstr(json, pat)) == NULL) {
        return NULL;
    }
    for (p += strlen(pat); *p != '\0' && *p != '"' && k + 5 < cap; p++) {
        if (*p != '\\') {
            out[k++] = *p;
        } else {
            k += unescape(&p, out + k);
        }
    }
    out[k] = '\0';
    return out;
}

struct exc_text {
    char type[512], module[256], message[2048], qualified[800];
};

/* The exception event of a span: exception.type (module.Type, builtins left out) and
 * exception.message; stack (the calls down to it) when known. Returns attributes set. */
static size_t
exception_attrs(const char *json, const char *stack, struct exc_text *x, struct ft_otlp_attr *a)
{
    const char *type = json_text(json, "type", x->type, sizeof(x->type));
    const char *module = json_text(json, "module", x->module, sizeof(x->module));
    size_t n = 0;

    if (type != NULL && module != NULL && strcmp(module, "builtins") != 0) {
        snprintf(x->qualified, sizeof(x->qualified), "%s.%s", module, type);
        type = x->qualified;
    }
    a[n++] = (struct ft_otlp_attr){"exception.type", FT_OTLP_STR, type ? type : "?", 0};
    a[n++] = (struct ft_otlp_attr){"exception.message", FT_OTLP_STR,
                                   json_text(json, "message", x->message, sizeof(x->message)), 0};
    a[n++] = (struct ft_otlp_attr){"exception.stacktrace", FT_OTLP_STR, stack, 0};
    return n;
}

/* ---- Blocks ---------------------------------------------------------------------------- */

static void
begin_block(struct ft_buf *b, const struct ft_otlp_resource *res, const struct ft_run_info *info)
{
    struct ft_otlp_attr a[MAX_ATTRS];
    char script[512];
    size_t n = 0;

    ft_script_name(info->argv, info->argv_len, script, sizeof(script));
    a[n++] = (struct ft_otlp_attr){"service.name", FT_OTLP_STR,
                                   res->service_name ? res->service_name : script, 0};
    a[n++] = (struct ft_otlp_attr){"process.pid", FT_OTLP_INT, NULL, (int64_t)info->pid};
    a[n++] = (struct ft_otlp_attr){"process.parent_pid", FT_OTLP_INT, NULL, (int64_t)info->ppid};
    a[n++] = (struct ft_otlp_attr){"process.runtime.name", FT_OTLP_STR, "CPython", 0};
    a[n++] = (struct ft_otlp_attr){"process.runtime.version", FT_OTLP_STR, info->python, 0};
    a[n++] = (struct ft_otlp_attr){"telemetry.sdk.name", FT_OTLP_STR, "flowtrace", 0};
    a[n++] = (struct ft_otlp_attr){"telemetry.sdk.language", FT_OTLP_STR, "python", 0};
    a[n++] = (struct ft_otlp_attr){"flowtrace.run.id", FT_OTLP_STR, info->id, 0};
    for (size_t i = 0; i < res->nextra && n < MAX_ATTRS; i++) {
        if (strcmp(res->extra[2 * i], "service.name") != 0) {
            a[n++] =
                (struct ft_otlp_attr){res->extra[2 * i], FT_OTLP_STR, res->extra[2 * i + 1], 0};
        }
    }
    ft_otlp_block_begin(b, a, n, "flowtrace");
}

/* The calls kept: children of the span of their caller, or of parent_of_top. */
static void
put_calls(struct ft_buf *b, const struct ft_run *r, const struct ft_spans *s, uint64_t seed,
          const uint8_t trace[16], uint64_t top_id, const uint8_t top_span[8])
{
    for (size_t i = 0; i < s->n; i++) {
        const struct ft_span *c = &s->v[i];
        struct ft_otlp_attr a[8], ev[3];
        struct ft_otlp_span sp = {0};
        struct exc_text x;
        char fn[1200];
        size_t n = 0;

        snprintf(fn, sizeof(fn), "%s.%s", c->code->module, c->code->name);
        a[n++] = (struct ft_otlp_attr){"code.function.name", FT_OTLP_STR, fn, 0};
        a[n++] = (struct ft_otlp_attr){"code.file.path", FT_OTLP_STR, c->code->file, 0};
        a[n++] = (struct ft_otlp_attr){"code.line.number", FT_OTLP_INT, NULL, c->code->line};
        a[n++] = (struct ft_otlp_attr){"thread.name", FT_OTLP_STR, c->thread, 0};
        a[n++] = (struct ft_otlp_attr){"flowtrace.call.id", FT_OTLP_INT, NULL, (int64_t)c->id};
        memcpy(sp.trace_id, trace, 16);
        span_id(seed, c->id, sp.span_id);
        if (c->parent == top_id || c->parent == 0) {
            memcpy(sp.parent_id, top_span, 8);
        } else {
            span_id(seed, c->parent, sp.parent_id);
        }
        sp.name = c->code->name;
        sp.kind = FT_OTLP_INTERNAL;
        sp.start_ns = ft_run_real_ns(r, c->start);
        sp.end_ns = ft_run_real_ns(r, c->end);
        sp.attrs = a;
        sp.nattrs = n;
        if (c->exc != NULL) {
            sp.status = FT_OTLP_ERROR;
            sp.event_name = "exception";
            sp.event_ns = sp.end_ns;
            sp.event_attrs = ev;
            sp.nevent_attrs = exception_attrs(c->exc, NULL, &x, ev);
            sp.status_msg = ev[0].s;
        }
        ft_otlp_span(b, &sp, 0);
    }
}

static const char *
test_status(const char *outcome)
{
    if (!strcmp(outcome, "passed")) {
        return "pass";
    }
    return !strcmp(outcome, "skipped") ? "skipped" : "fail";
}

/* A request's SERVER span: its trace (the caller's, from traceparent, or its own), name
 * (in name, cap bytes) and semantic-convention attributes (reason holds error.type's
 * text). Returns the attributes set in a. */
static size_t
http_span(struct ft_otlp_span *sp, struct ft_otlp_attr *a, char *name, size_t cap, uint64_t seed,
          uint64_t salt, const struct ft_unit_export *u, char reason[16])
{
    const struct ft_unit_row *w = u->row;
    uint8_t flags;
    size_t n = 0;

    if (u->traceparent == NULL || ft_otlp_traceparent(u->traceparent, strlen(u->traceparent),
                                                      sp->trace_id, sp->parent_id, &flags) != 0) {
        /* No caller: a trace of its own. */
        memset(sp->parent_id, 0, 8);
        trace_id(seed ^ ft_otlp_mix(u->root), salt, sp->trace_id);
    } else {
        sp->trace_state = u->tracestate;
    }
    snprintf(name, cap, "%s%s%s", w->method ? w->method : "HTTP", u->route ? " " : "",
             u->route ? u->route : "");
    sp->kind = FT_OTLP_SERVER;
    a[n++] = (struct ft_otlp_attr){"http.request.method", FT_OTLP_STR, w->method, 0};
    a[n++] = (struct ft_otlp_attr){"url.path", FT_OTLP_STR, w->path, 0};
    a[n++] = (struct ft_otlp_attr){"http.route", FT_OTLP_STR, u->route, 0};
    if (w->status > 0) {
        a[n++] = (struct ft_otlp_attr){"http.response.status_code", FT_OTLP_INT, NULL, w->status};
    }
    a[n++] = (struct ft_otlp_attr){"client.address", FT_OTLP_STR, u->remote, 0};
    a[n++] = (struct ft_otlp_attr){"user_agent.original", FT_OTLP_STR, u->agent, 0};
    a[n++] = (struct ft_otlp_attr){"flowtrace.request_id", FT_OTLP_STR, w->request_id, 0};
    if (w->status >= 500 || (w->failed && w->status == 0)) {
        sp->status = FT_OTLP_ERROR;
        snprintf(reason, 16, "%d", w->status);
        a[n++] = (struct ft_otlp_attr){"error.type", FT_OTLP_STR,
                                       w->status >= 500 ? reason : "exception", 0};
    }
    return n;
}

size_t
ft_otlp_map_unit(struct ft_buf *b, const struct ft_otlp_resource *res, const struct ft_run *r,
                 const struct ft_unit_export *u)
{
    const struct ft_unit_row *w = u->row;
    int http = !strcmp(w->kind, "wsgi") || !strcmp(w->kind, "asgi");
    struct ft_otlp_attr a[20], ev[3];
    struct ft_otlp_span sp = {0};
    struct ft_run_info info;
    struct exc_text x;
    uint8_t run_trace[16];
    char name[1100];
    char reason[16]; /* cppcheck-suppress variableScope ; a[] points into it below */
    uint64_t seed;
    size_t n = 0;

    ft_run_get_info(r, &info);
    seed = run_seed(res, &info);
    trace_id(seed, res->salt, run_trace);
    span_id(seed, u->root, sp.span_id);
    if (http) {
        n = http_span(&sp, a, name, sizeof(name), seed, res->salt, u, reason);
    } else {
        memcpy(sp.trace_id, run_trace, 16);
        span_id(seed, 0, sp.parent_id);
        snprintf(name, sizeof(name), "%s", w->name);
        sp.kind = FT_OTLP_INTERNAL;
        if (!strcmp(w->kind, "pytest") || !strcmp(w->kind, "unittest")) {
            a[n++] = (struct ft_otlp_attr){"test.case.name", FT_OTLP_STR, w->name, 0};
            a[n++] = (struct ft_otlp_attr){"test.case.result.status", FT_OTLP_STR,
                                           test_status(w->outcome), 0};
        }
        sp.status = w->failed ? FT_OTLP_ERROR : FT_OTLP_UNSET;
    }
    a[n++] = (struct ft_otlp_attr){"flowtrace.unit.kind", FT_OTLP_STR, w->kind, 0};
    a[n++] = (struct ft_otlp_attr){"flowtrace.unit", FT_OTLP_INT, NULL, (int64_t)w->id};
    a[n++] = (struct ft_otlp_attr){"flowtrace.outcome", FT_OTLP_STR, w->outcome, 0};
    a[n++] = (struct ft_otlp_attr){"thread.name", FT_OTLP_STR, u->thread, 0};
    a[n++] = (struct ft_otlp_attr){"flowtrace.calls", FT_OTLP_INT, NULL, (int64_t)w->calls};
    a[n++] = (struct ft_otlp_attr){"flowtrace.calls_not_exported", FT_OTLP_INT, NULL,
                                   (int64_t)(u->spans->offered - u->spans->n)};
    a[n++] = (struct ft_otlp_attr){"flowtrace.tree", FT_OTLP_STR, w->tree, 0};
    sp.name = name;
    sp.start_ns = u->start_ns;
    sp.end_ns = u->end_ns;
    sp.attrs = a;
    sp.nattrs = n;
    if (u->exc != NULL) {
        sp.event_name = "exception";
        sp.event_ns = u->end_ns;
        sp.event_attrs = ev;
        sp.nevent_attrs = exception_attrs(u->exc, w->error_path, &x, ev);
        sp.status_msg = w->error;
        sp.status = sp.status == FT_OTLP_UNSET && w->failed ? FT_OTLP_ERROR : sp.status;
    }
    begin_block(b, res, &info);
    ft_otlp_span(b, &sp, 1);
    put_calls(b, r, u->spans, seed, sp.trace_id, u->root, sp.span_id);
    ft_otlp_block_end(b);
    return 1 + u->spans->n;
}

size_t
ft_otlp_map_run(struct ft_buf *b, const struct ft_otlp_resource *res, struct ft_run *r)
{
    const struct ft_spans *calls = ft_run_spans(r);
    struct ft_otlp_attr a[8], ev[2];
    struct ft_otlp_span sp = {0};
    struct ft_run_info info;
    char script[512];
    char type[800]; /* cppcheck-suppress variableScope ; ev[] points into it below */
    uint64_t seed;
    size_t n = 0;

    ft_run_get_info(r, &info);
    if (info.id == NULL) {
        return 0;
    }
    seed = run_seed(res, &info);
    trace_id(seed, res->salt, sp.trace_id);
    span_id(seed, 0, sp.span_id);
    ft_script_name(info.argv, info.argv_len, script, sizeof(script));
    if (info.have_status) {
        a[n++] = (struct ft_otlp_attr){"process.exit.code", FT_OTLP_INT, NULL, info.status};
    }
    a[n++] = (struct ft_otlp_attr){"flowtrace.ended", FT_OTLP_STR, ft_wire_end_name(info.how), 0};
    a[n++] = (struct ft_otlp_attr){"flowtrace.calls", FT_OTLP_INT, NULL, (int64_t)info.calls};
    a[n++] = (struct ft_otlp_attr){"flowtrace.units", FT_OTLP_INT, NULL, (int64_t)info.units};
    a[n++] = (struct ft_otlp_attr){"flowtrace.units_failed", FT_OTLP_INT, NULL,
                                   (int64_t)info.units_failed};
    a[n++] = (struct ft_otlp_attr){"flowtrace.calls_not_exported", FT_OTLP_INT, NULL,
                                   calls ? (int64_t)(calls->offered - calls->n) : 0};
    sp.name = script;
    sp.kind = FT_OTLP_INTERNAL;
    sp.start_ns = info.start_us * 1000;
    sp.end_ns = (info.start_us + info.duration_us) * 1000;
    sp.attrs = a;
    sp.nattrs = n;
    sp.status = (info.have_status && info.status != 0) || info.how == FT_END_EXCEPTION ||
                        info.how == FT_END_SIGNAL || info.units_failed > 0
                    ? FT_OTLP_ERROR
                    : FT_OTLP_UNSET;
    if (info.exc_type != NULL) {
        /* The uncaught exception that ended the program. */
        int builtin = info.exc_module == NULL || !strcmp(info.exc_module, "builtins");
        snprintf(type, sizeof(type), "%s%s%s", builtin ? "" : info.exc_module, builtin ? "" : ".",
                 info.exc_type);
        ev[0] = (struct ft_otlp_attr){"exception.type", FT_OTLP_STR, type, 0};
        ev[1] = (struct ft_otlp_attr){"exception.message", FT_OTLP_STR, info.exc_msg, 0};
        sp.event_name = "exception";
        sp.event_ns = sp.end_ns;
        sp.event_attrs = ev;
        sp.nevent_attrs = 2;
    }
    begin_block(b, res, &info);
    ft_otlp_span(b, &sp, 1);
    if (calls != NULL) {
        put_calls(b, r, calls, seed, sp.trace_id, 0, sp.span_id);
    }
    ft_otlp_block_end(b);
    return 1 + (calls ? calls->n : 0);
}
