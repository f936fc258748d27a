/* units.c - units of work: the call tree's observer that writes them apart. */
#define _GNU_SOURCE
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "json.h"

#define DEFERRED_MAX 16 /* chain steps a unit keeps waiting (call_ended) */

/* A unit of work being written: the subtree of its root call goes to its own
 * DIR/<run>/units/<id>/ files instead of the run's. */
struct ft_unit {
    struct ft_dest dest; /* first: a call's destination is its unit */
    uint64_t id;
    int kind; /* enum ft_unit_kind */
    char *name, *method, *path, *remote, *agent, *request_id, *outcome;
    uint64_t counts0[5], counts1[5]; /* unittest result counts at the start and the end */
    int have_end;
    int status;           /* HTTP status, 0 while unknown */
    struct ft_call *root; /* until the unit is done */
    struct ft_cthread *thread;
    uint64_t start, end;    /* ticks */
    int unwound;            /* an exception escaped the root call */
    const char *incomplete; /* the root call never returned: why */
    char *dir;              /* DIR/<run>/units/<id> */
    struct ft_sink tree, jsonl;
    int tree_open, jsonl_open;
    char *frag; /* ,"unit":N[,"request_id":"..."] for its JSONL lines */
    size_t frag_len;
    char *exc, *exc_path; /* the latest exception chain's deepest call */
    uint64_t chain_next;  /* call id that continues that chain if it unwinds too */
    /* Calls that ended by an exception, breaking the chain, while calls under them were
     * not complete (work handed to another thread): their step waits (call_ended). */
    struct chain_step {
        uint64_t id, next;
        int shown;
        char *path, *exc;
    } deferred[DEFERRED_MAX];
    unsigned ndeferred;
    char *traceparent, *tracestate, *route; /* W3C trace context and route of a request */
    int sampled;                            /* kept even if it passes (sampling) */
    struct ft_spans spans;                  /* calls kept for the exporter (span_limit) */
    struct ft_unit *prev, *next;            /* the run's open units */
};

/* Every destination in the tree is a unit's. */
static struct ft_unit *
unit_of(const struct ft_call *n)
{
    return (struct ft_unit *)n->dest;
}

#define PATH_DEPTH_MAX 48 /* calls named in an exception path (the innermost ones) */

static const char *const kind_names[] = {"?",    "pytest",   "unittest", "wsgi",
                                         "asgi", "function", "region"};

static int
is_http(const struct ft_unit *u)
{
    return u->kind == FT_UNIT_WSGI || u->kind == FT_UNIT_ASGI;
}

static uint64_t
micros(const struct ft_units *us, uint64_t ticks)
{
    return ft_emit_micros(us->emit, ticks);
}

/* ---- Start ---------------------------------------------------------------------------- */

static int
dup_field(char **slot, const uint8_t *val, uint32_t len)
{
    char *s = strndup((const char *)val, len);

    if (s == NULL) {
        return -ENOMEM;
    }
    free(*slot);
    *slot = s;
    return 0;
}

/* The fields of a UNIT or UNIT_END record. */
static int
take_fields(struct ft_unit *u, const uint8_t *p, size_t n, uint64_t *counts)
{
    size_t pos = 0;
    uint32_t tag, len;
    const uint8_t *val;
    uint64_t v;
    int rc, err = 0;

    while (err == 0 && (rc = ft_tlv_next(p, n, &pos, &tag, &val, &len)) == 1) {
        switch (tag) {
        case FT_UTAG_KIND:
            err =
                ft_tlv_u64(val, len, &v) != 0 || v == 0 || v > FT_UNIT_KIND_MAX ? FT_EBADRECORD : 0;
            u->kind = (int)v;
            break;
        case FT_UTAG_NAME:
            err = dup_field(&u->name, val, len);
            break;
        case FT_UTAG_METHOD:
            err = dup_field(&u->method, val, len);
            break;
        case FT_UTAG_PATH:
            err = dup_field(&u->path, val, len);
            break;
        case FT_UTAG_REMOTE:
            err = dup_field(&u->remote, val, len);
            break;
        case FT_UTAG_AGENT:
            err = dup_field(&u->agent, val, len);
            break;
        case FT_UTAG_REQUEST_ID:
            err = dup_field(&u->request_id, val, len);
            break;
        case FT_UTAG_OUTCOME:
            err = dup_field(&u->outcome, val, len);
            break;
        case FT_UTAG_TRACEPARENT:
            err = dup_field(&u->traceparent, val, len);
            break;
        case FT_UTAG_TRACESTATE:
            err = dup_field(&u->tracestate, val, len);
            break;
        case FT_UTAG_ROUTE:
            err = dup_field(&u->route, val, len);
            break;
        case FT_UTAG_FAILURES:
        case FT_UTAG_ERRORS:
        case FT_UTAG_SKIPPED:
        case FT_UTAG_XFAILS:
        case FT_UTAG_XPASSES:
            err = ft_tlv_u64(val, len, &counts[tag - FT_UTAG_FAILURES]) != 0 ? FT_EBADRECORD : 0;
            break;
        default:
            break; /* a field this reader does not know */
        }
    }
    return err != 0 ? err : rc < 0 ? FT_EBADRECORD : 0;
}

/* A request without an X-Request-ID gets a random (version 4) UUID. */
static int
make_request_id(struct ft_unit *u)
{
    uint8_t b[16] = {0};
    char s[40];

    if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
        uint64_t x = (uint64_t)(uintptr_t)u ^ u->start ^ ((uint64_t)getpid() << 32);
        memcpy(b, &x, 8);
        memcpy(b + 8, &u->id, 8);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(s, sizeof(s), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    u->request_id = strdup(s);
    return u->request_id == NULL ? -ENOMEM : 0;
}

static int
name_unit(struct ft_unit *u, const struct ft_call *root)
{
    char buf[4096];

    if (u->name != NULL && u->name[0] != '\0') {
        return 0;
    }
    if (is_http(u)) {
        snprintf(buf, sizeof(buf), "%s %s", u->method ? u->method : "?", u->path ? u->path : "?");
    } else {
        snprintf(buf, sizeof(buf), "%s:%s", root->code->module, root->code->name);
    }
    free(u->name);
    u->name = strdup(buf);
    return u->name == NULL ? -ENOMEM : 0;
}

static void
put_opt_field(struct ft_buf *b, const char *key, const char *v)
{
    ft_buf_puts(b, key);
    if (v != NULL) {
        ft_json_put_cstr(b, v);
    } else {
        ft_buf_puts(b, "null");
    }
}

/* {"event":"KIND","timestamp":T,"thread":...,"pid":P,"run":"R","unit":N,"request_id":..., */
static void
http_line_head(struct ft_units *us, struct ft_unit *u, const char *event, uint64_t ticks)
{
    struct ft_buf *b = &u->jsonl.b;

    ft_buf_puts(b, "{\"event\":\"");
    ft_buf_puts(b, event);
    ft_buf_puts(b, "\",\"timestamp\":");
    ft_buf_put_u64(b, micros(us, ticks));
    ft_buf_putc(b, ',');
    ft_buf_put(b, u->thread->frag, u->thread->frag_len);
    ft_buf_put(b, us->emit->run_frag, us->emit->run_frag_len);
    ft_buf_put(b, u->frag, u->frag_len);
    put_opt_field(b, ",\"method\":", u->method);
    put_opt_field(b, ",\"path\":", u->path);
}

/* The unit's files. lazy: they may well be thrown away (not known to be kept): created
 * only once the unit's text outgrows the sinks' buffers, or at its end if it is kept. */
static int
open_files(struct ft_units *us, struct ft_unit *u, int lazy)
{
    char path[4200];
    int err;

    snprintf(path, sizeof(path), "%s/units", us->files->path);
    if (!us->dir_made) {
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            return -errno;
        }
        us->dir_made = 1;
    }
    snprintf(path, sizeof(path), "%s/units/%llu", us->files->path, (unsigned long long)u->id);
    if (!lazy && mkdir(path, 0700) != 0 && errno != EEXIST) {
        return -errno;
    }
    if ((u->dir = strdup(path)) == NULL) {
        return -ENOMEM;
    }
    snprintf(path, sizeof(path), "%s/.tree.json.part", u->dir);
    if ((err = ft_runfiles_sink(us->files, &u->tree, path, 1, lazy)) != 0) {
        return err;
    }
    u->tree_open = 1;
    snprintf(path, sizeof(path), "%s/events.jsonl", u->dir);
    if ((err = ft_runfiles_sink(us->files, &u->jsonl, path, 1, lazy)) != 0) {
        return err;
    }
    u->jsonl_open = 1;
    u->dest.tree = &u->tree;
    u->dest.jsonl = &u->jsonl;
    u->jsonl.mirror[0] = us->files->jsonl.mirror[0];
    u->jsonl.mirror[1] = us->files->jsonl.mirror[1];
    return 0;
}

/* A unit that starts after the run's output failed: no tree, and JSONL lines dropped as
 * they come (a sink stopped before it has a file). */
static int
open_stopped(struct ft_units *us, struct ft_unit *u)
{
    char path[4200];
    int err;

    snprintf(path, sizeof(path), "%s/units/%llu", us->files->path, (unsigned long long)u->id);
    if ((u->dir = strdup(path)) == NULL) {
        return -ENOMEM;
    }
    snprintf(path, sizeof(path), "%s/events.jsonl", u->dir);
    if ((err = ft_sink_open_lazy(&u->jsonl, path)) != 0) {
        return err;
    }
    ft_sink_stop(&u->jsonl, us->ledger->fail_err);
    u->jsonl_open = 1;
    u->dest.jsonl = &u->jsonl;
    return 0;
}

/* The unit's tree.json starts as a run's does, so that readers of runs read it too. */
static void
tree_head(struct ft_units *us, struct ft_unit *u)
{
    struct ft_buf *b = &u->tree.b;

    ft_buf_puts(b, "{\"format\":" FT_OUTPUT_FORMAT_S ",\"run\":");
    ft_json_put_cstr(b, us->files->id);
    ft_buf_printf(b, ",\"unit\":%llu,\"kind\":\"%s\",\"name\":", (unsigned long long)u->id,
                  kind_names[u->kind]);
    ft_json_put_cstr(b, u->name);
    ft_buf_printf(b, ",\"pid\":%llu,\"python\":", (unsigned long long)us->pid);
    ft_json_put_cstr(b, us->python ? us->python : "");
    ft_buf_puts(b, ",\"start\":");
    ft_buf_put_u64(b, micros(us, us->emit->start_ticks));
    ft_buf_puts(b, ",\"threads\":[{\"name\":");
    ft_json_put_cstr(b, u->thread->name ? u->thread->name : "Thread");
    ft_buf_printf(b, ",\"tid\":%llu,\"calls\":[", (unsigned long long)u->thread->tid);
}

static int
make_frag(struct ft_unit *u)
{
    struct ft_buf b;

    ft_buf_init(&b);
    ft_buf_printf(&b, ",\"unit\":%llu", (unsigned long long)u->id);
    if (u->request_id != NULL) {
        ft_buf_puts(&b, ",\"request_id\":");
        ft_json_put_cstr(&b, u->request_id);
    }
    if (b.oom) {
        ft_buf_free(&b);
        return -ENOMEM;
    }
    u->frag = b.p;
    u->frag_len = b.len;
    return 0;
}

static void
unit_free(struct ft_unit *u)
{
    /* What was written stays (the unit is left unfinished); what was not, is not. */
    if (u->tree_open && u->tree.fd >= 0) {
        ft_sink_close(&u->tree);
    } else if (u->tree_open) {
        ft_sink_discard(&u->tree);
    }
    if (u->jsonl_open && u->jsonl.fd >= 0) {
        ft_sink_close(&u->jsonl);
    } else if (u->jsonl_open) {
        ft_sink_discard(&u->jsonl);
    }
    free(u->name);
    free(u->method);
    free(u->path);
    free(u->remote);
    free(u->agent);
    free(u->request_id);
    free(u->outcome);
    free(u->dir);
    free(u->frag);
    free(u->exc);
    free(u->exc_path);
    for (unsigned i = 0; i < u->ndeferred; i++) {
        free(u->deferred[i].path);
        free(u->deferred[i].exc);
    }
    free(u->traceparent);
    free(u->tracestate);
    free(u->route);
    ft_spans_free(&u->spans);
    free(u);
}

/* A random number for sampling (splitmix64 over a state seeded once per run). */
static uint32_t
next_random(struct ft_units *us)
{
    uint64_t x;

    if (us->sample_state == 0 && getrandom(&us->sample_state, sizeof(us->sample_state),
                                           GRND_NONBLOCK) != (ssize_t)sizeof(us->sample_state)) {
        us->sample_state = (uint64_t)(uintptr_t)us ^ us->pid;
    }
    x = (us->sample_state += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)((x ^ (x >> 31)) >> 32);
}

/* Whether the unit's files are kept whatever its outcome. */
static int
kept_anyway(const struct ft_units *us, const struct ft_unit *u)
{
    return us->sampling ? u->sampled : us->keep != FT_KEEP_FAILED;
}

static int
unit_begin(struct ft_units *us, struct ft_cthread *t, struct ft_call *n, const uint8_t *p,
           size_t len)
{
    struct ft_unit *u;
    int err;

    if (n->dest != NULL) {
        return 0; /* inside a unit already: the outermost is the unit */
    }
    if ((u = calloc(1, sizeof(*u))) == NULL) {
        return -ENOMEM;
    }
    u->tree.fd = u->jsonl.fd = -1;
    if ((err = take_fields(u, p, len, u->counts0)) != 0 || u->kind == 0) {
        unit_free(u);
        return err != 0 ? err : FT_EBADRECORD;
    }
    u->id = ++us->next_id;
    u->dest.id = u->id;
    ft_spans_init(&u->spans, us->span_limit);
    u->root = n;
    u->thread = t;
    u->start = n->start;
    u->dest.calls = 1;
    if ((err = name_unit(u, n)) != 0 ||
        (is_http(u) && u->request_id == NULL && (err = make_request_id(u)) != 0) ||
        (err = make_frag(u)) != 0) {
        unit_free(u);
        return err;
    }
    if (us->sampling) {
        /* Decided now, so that a unit kept by nothing but its failure costs no file. */
        u->sampled = next_random(us) % 1000000u < us->sample_ppm;
    }
    if (us->ledger->fail_err != 0) {
        /* The run's output has failed: the unit is followed for its row, its calls are
         * written nowhere. */
        err = open_stopped(us, u);
    } else {
        err = open_files(us, u, !kept_anyway(us, u));
    }
    if (err != 0) {
        /* The unit's files cannot be written: its calls stay in the run's tree. */
        ft_runfiles_note(us->files, err);
        if (u->dir != NULL) {
            rmdir(u->dir);
        }
        unit_free(u);
        return 0;
    }
    if (u->tree_open) {
        tree_head(us, u);
    }
    if (is_http(u)) {
        http_line_head(us, u, "HTTP_REQUEST", n->start);
        put_opt_field(&u->jsonl.b, ",\"remote_addr\":", u->remote);
        put_opt_field(&u->jsonl.b, ",\"user_agent\":", u->agent);
        ft_buf_puts(&u->jsonl.b, "}\n");
    }
    u->dest.frag = u->frag;
    u->dest.frag_len = u->frag_len;
    ft_calls_set_dest(n, &u->dest);
    u->next = us->open;
    if (us->open != NULL) {
        us->open->prev = u;
    }
    us->open = u;
    return 0;
}

static int
unit_end_values(struct ft_unit *u, const uint8_t *p, size_t len)
{
    int err = take_fields(u, p, len, u->counts1);

    u->have_end = 1;
    return err;
}

static int
unit_status(struct ft_unit *u, const uint8_t *p, size_t len)
{
    size_t pos = 0;
    uint32_t tag, vlen;
    const uint8_t *val;
    uint64_t v;
    int rc;

    while ((rc = ft_tlv_next(p, len, &pos, &tag, &val, &vlen)) == 1) {
        if (tag == FT_UTAG_STATUS) {
            if (ft_tlv_u64(val, vlen, &v) != 0) {
                return FT_EBADRECORD;
            }
            u->status = v < 1000 ? (int)v : 0;
        } else if (tag == FT_UTAG_ROUTE && dup_field(&u->route, val, vlen) != 0) {
            return -ENOMEM;
        }
    }
    return rc < 0 ? FT_EBADRECORD : 0;
}

/* ---- Calls inside ----------------------------------------------------------------------- */

/* Whether n is a call the unit's tree shows: not framework code that only delimits a
 * request (the root of a request stands for the request itself), not an adoption. */
static int
shown(const struct ft_call *n)
{
    return !n->transparent && (n->code->flags & FT_DEF_BOUNDARY) == 0;
}

/* "a > b > c": the calls from the unit's root down to n (the request's framework code
 * left out, unless nothing else is there). */
static char *
path_to(const struct ft_call *n)
{
    const struct ft_call *chain[PATH_DEPTH_MAX];
    struct ft_unit *u = unit_of(n);
    struct ft_buf b;
    int k = 0, cut = 0;

    for (; n != NULL && n->dest == &u->dest; n = n->parent) {
        if (k == PATH_DEPTH_MAX) {
            cut = 1;
            break;
        }
        if (shown(n) || (k == 0 && n->dest_root)) {
            chain[k++] = n;
        }
    }
    ft_buf_init(&b);
    if (cut) {
        ft_buf_puts(&b, "... > ");
    }
    while (k-- > 0) {
        ft_buf_puts(&b, chain[k]->code->name);
        if (k > 0) {
            ft_buf_puts(&b, " > ");
        }
    }
    ft_buf_putc(&b, '\0');
    return b.oom ? (ft_buf_free(&b), NULL) : b.p;
}

/* The call that continues n's exception chain if it unwinds too: its caller, across work
 * handed over (raised there, it goes on in the caller). */
static uint64_t
chain_next_of(const struct ft_call *n)
{
    const struct ft_call *next = n->parent;

    while (next != NULL && next->adoption != NULL) {
        next = next->parent;
    }
    return next != NULL ? next->id : 0;
}

/* One call that ended by an exception, in the chain: it continues it (the call the chain
 * expects next), or starts a new one at it, the deepest call (framework code only passes
 * on what the application raised, or starts one when nothing did). path and exc are the
 * call's (taken: freed here when not kept), NULL only where they are not needed. */
static void
chain_step(struct ft_unit *u, uint64_t id, uint64_t next, int shown_call, char *path, char *exc)
{
    if (u->exc_path == NULL || (u->chain_next != id && shown_call)) {
        free(u->exc_path);
        free(u->exc);
        u->exc_path = path;
        u->exc = exc;
    } else {
        free(path);
        free(exc);
    }
    u->chain_next = next;
}

static char *
exc_of(const struct ft_call *n)
{
    return n->exc.p != NULL ? strdup(n->exc.p) : NULL;
}

/* n's step, taken now. */
static void
step_now(struct ft_unit *u, const struct ft_call *n)
{
    int fresh = u->exc_path == NULL || (u->chain_next != n->id && shown(n));

    chain_step(u, n->id, chain_next_of(n), shown(n), fresh ? path_to(n) : NULL,
               fresh ? exc_of(n) : NULL);
}

/* Takes waiting step i. */
static void
take_step(struct ft_unit *u, unsigned i)
{
    struct chain_step d = u->deferred[i];

    memmove(&u->deferred[i], &u->deferred[i + 1], (u->ndeferred - i - 1) * sizeof(d));
    u->ndeferred--;
    chain_step(u, d.id, d.next, d.shown, d.path, d.exc);
}

/* The waiting steps of n's callers, innermost first (n not NULL), or all of them in the
 * order their calls ended. */
static void
replay(struct ft_unit *u, const struct ft_call *n)
{
    if (n == NULL) {
        while (u->ndeferred > 0) {
            take_step(u, 0);
        }
        return;
    }
    for (const struct ft_call *a = n->parent; a != NULL && u->ndeferred > 0; a = a->parent) {
        for (unsigned i = 0; i < u->ndeferred; i++) {
            if (u->deferred[i].id == a->id) {
                take_step(u, i);
                break;
            }
        }
    }
}

/* Whether a call still waiting for its step is one of n's callers. */
static int
under_deferred(const struct ft_unit *u, const struct ft_call *n)
{
    for (const struct ft_call *a = n->parent; a != NULL; a = a->parent) {
        for (unsigned i = 0; i < u->ndeferred; i++) {
            if (u->deferred[i].id == a->id) {
                return 1;
            }
        }
    }
    return 0;
}

/* A call of a unit ended (by_exception: an exception left it). Exception chains are
 * judged in the order calls end, which within a thread is the order they unwound. Across
 * threads it is the order their records reached the writer, which need not be: the end of
 * work handed to another thread may come after its callers' (each thread ships its own
 * buffer). So a call that ends by an exception breaking the chain while calls under it
 * are not complete waits: its step is taken after those of calls under it that end by
 * an exception (CI: "boom_route" instead of "boom_route > work > leaf"), or in order
 * when any other call's does, or at the unit's end. */
static void
call_ended(void *ctx, struct ft_call *n, int by_exception)
{
    struct ft_units *us = ctx;
    struct ft_unit *u = unit_of(n);

    if (by_exception) {
        int breaks = u->exc_path == NULL || u->chain_next != n->id;
        if (breaks && n->pending > 0 && u->ndeferred < DEFERRED_MAX) {
            struct chain_step *d = &u->deferred[u->ndeferred++];
            d->id = n->id;
            d->next = chain_next_of(n);
            d->shown = shown(n);
            /* What a new chain there needs: the call is complete only now. */
            d->path = path_to(n);
            d->exc = exc_of(n);
        } else if (u->ndeferred > 0 && under_deferred(u, n)) {
            step_now(u, n);
            replay(u, n); /* its callers that ended before it, innermost first */
        } else {
            replay(u, NULL);
            step_now(u, n);
        }
    }
    if (n->dest_root) {
        u->end = n->end;
        u->unwound = by_exception;
        u->incomplete = n->incomplete;
    } else if (us->span_limit > 0 && !n->transparent) {
        struct ft_span sp;
        ft_calls_span(n, &sp);
        ft_runfiles_note(us->files, ft_spans_offer(&u->spans, &sp));
    }
}

/* ---- End -------------------------------------------------------------------------------- */

static const char *
outcome_of(const struct ft_unit *u)
{
    const uint64_t *a = u->counts0, *b = u->counts1;

    switch (u->kind) {
    case FT_UNIT_PYTEST:
        if (u->outcome != NULL &&
            (!strcmp(u->outcome, "passed") || !strcmp(u->outcome, "failed") ||
             !strcmp(u->outcome, "skipped") || !strcmp(u->outcome, "error"))) {
            return u->outcome;
        }
        return "error"; /* no report: an exception escaped the test protocol */
    case FT_UNIT_UNITTEST:
        if (!u->have_end || u->unwound || u->incomplete != NULL || b[1] > a[1]) {
            return "error";
        }
        if (b[0] > a[0] || b[4] > a[4]) {
            return "failed"; /* a failure, or an unexpected success */
        }
        return b[2] > a[2] || b[3] > a[3] ? "skipped" : "passed";
    default:
        return u->unwound || u->incomplete != NULL || u->status >= 500 ? "failed" : "ok";
    }
}

/* "Type: message" from the node's exception JSON, for the index and summaries. */
static char *
error_text(const char *exc_json)
{
    const char *t, *m;
    struct ft_buf b;

    if (exc_json == NULL || (t = strstr(exc_json, "\"type\":")) == NULL) {
        return NULL;
    }
    ft_buf_init(&b);
    /* The JSON was written by take_exc: {"type":"..","module":"..","message":".."}. */
    t += 7;
    m = strstr(exc_json, ",\"message\":");
    if (*t == '"') {
        const char *e = strstr(t + 1, "\",\"module\"");
        ft_buf_put(&b, t + 1, e != NULL ? (size_t)(e - t - 1) : 0);
    } else {
        ft_buf_puts(&b, "?");
    }
    if (m != NULL && m[11] == '"') {
        size_t l = strlen(m + 12);
        ft_buf_puts(&b, ": ");
        ft_buf_put(&b, m + 12, l >= 2 ? l - 2 : 0); /* without the closing quote and brace */
    }
    ft_buf_putc(&b, '\0');
    return b.oom ? (ft_buf_free(&b), NULL) : b.p;
}

static void
put_summary(struct ft_units *us, struct ft_buf *b, const struct ft_unit *u, const char *outcome)
{
    uint64_t ns = ft_clockconv_span_ns(us->emit->clock, u->start, u->end);

    ft_buf_printf(b, ",\"outcome\":\"%s\",\"start\":", outcome);
    ft_buf_put_u64(b, micros(us, u->start));
    ft_buf_puts(b, ",\"durationMicros\":");
    ft_buf_put_milli(b, ns);
    ft_buf_printf(b, ",\"calls\":%llu", (unsigned long long)u->dest.calls);
    if (is_http(u)) {
        ft_buf_puts(b, ",\"request_id\":");
        ft_json_put_cstr(b, u->request_id);
        put_opt_field(b, ",\"method\":", u->method);
        put_opt_field(b, ",\"path\":", u->path);
        if (u->route != NULL) {
            put_opt_field(b, ",\"route\":", u->route);
        }
        put_opt_field(b, ",\"remote_addr\":", u->remote);
        put_opt_field(b, ",\"user_agent\":", u->agent);
        ft_buf_puts(b, ",\"status_code\":");
        if (u->status > 0) {
            ft_buf_printf(b, "%d", u->status);
        } else {
            ft_buf_puts(b, "null");
        }
    }
    if (u->exc_path != NULL) {
        ft_buf_puts(b, ",\"exception\":");
        ft_buf_puts(b, u->exc ? u->exc : "{\"type\":null,\"module\":null,\"message\":null}");
        ft_buf_puts(b, ",\"exceptionPath\":");
        ft_json_put_cstr(b, u->exc_path);
    }
    if (u->incomplete != NULL) {
        ft_buf_puts(b, ",\"incomplete\":");
        ft_json_put_cstr(b, u->incomplete);
    }
}

/* Drops the unit's files, and its directory: nothing of it goes anywhere. */
static void
discard_files(struct ft_unit *u)
{
    if (u->tree_open) {
        ft_sink_discard(&u->tree);
        u->tree_open = 0;
        u->dest.tree = NULL;
    }
    if (u->jsonl_open) {
        ft_sink_discard(&u->jsonl);
        u->jsonl_open = 0;
    }
    rmdir(u->dir);
}

/* Closes the unit's files; keeps them, or removes them and the directory. Returns 1 if
 * they were kept. */
static int
close_files(struct ft_units *us, struct ft_unit *u, const char *outcome, int keep)
{
    char part[4200], final[4200];
    const char *z = us->files->zext;
    int err = 0, whole = u->tree_open; /* the tree was written to its end */

    if (!keep) {
        discard_files(u);
        return 0;
    }
    snprintf(part, sizeof(part), "%s/.tree.json.part%s", u->dir, z);
    snprintf(final, sizeof(final), "%s/tree.json%s", u->dir, z);
    if (u->tree_open) {
        ft_buf_puts(&u->tree.b, "]}]");
        put_summary(us, &u->tree.b, u, outcome);
        ft_buf_puts(&u->tree.b, "}\n");
        int oom = u->tree.b.oom, cerr = ft_sink_close(&u->tree);
        err = cerr != 0 ? cerr : oom ? -ENOMEM : 0;
        u->tree_open = 0;
        u->dest.tree = NULL;
    }
    if (u->jsonl_open) {
        if (is_http(u)) {
            uint64_t ns = ft_clockconv_span_ns(us->emit->clock, u->start, u->end);
            http_line_head(us, u, "HTTP_RESPONSE", u->end);
            ft_buf_puts(&u->jsonl.b, ",\"status_code\":");
            if (u->status > 0) {
                ft_buf_printf(&u->jsonl.b, "%d", u->status);
            } else {
                ft_buf_puts(&u->jsonl.b, "null");
            }
            ft_buf_puts(&u->jsonl.b, ",\"durationMicros\":");
            ft_buf_put_milli(&u->jsonl.b, ns);
            ft_buf_puts(&u->jsonl.b, ",\"durationMillis\":");
            ft_buf_put_milli(&u->jsonl.b, ns / 1000);
            ft_buf_puts(&u->jsonl.b, "}\n");
        }
        int cerr = ft_sink_close(&u->jsonl);
        err = cerr != 0 ? cerr : err;
        u->jsonl_open = 0;
    }
    if (whole && err == 0 && rename(part, final) == 0) {
        return 1;
    }
    ft_runfiles_note(us->files, err);
    unlink(part);
    snprintf(final, sizeof(final), "%s/events.jsonl%s", u->dir, z);
    unlink(final);
    rmdir(u->dir);
    return 0;
}

static int
add_row(struct ft_units *us, const struct ft_unit *u, const char *outcome, int kept, char *error)
{
    struct ft_unit_row *w;

    if (us->nrows == us->caprows) {
        size_t cap = us->caprows ? us->caprows * 2 : 64;
        struct ft_unit_row *nr = realloc(us->rows, cap * sizeof(*nr));
        if (nr == NULL) {
            free(error);
            return -ENOMEM;
        }
        us->rows = nr;
        us->caprows = cap;
    }
    w = &us->rows[us->nrows++];
    memset(w, 0, sizeof(*w));
    w->id = u->id;
    w->kind = kind_names[u->kind];
    w->name = strdup(u->name);
    w->outcome = outcome; /* static strings, or u->outcome moved below */
    w->failed = !strcmp(outcome, "failed") || !strcmp(outcome, "error");
    w->start_us = micros(us, u->start);
    w->duration_us = ft_clockconv_span_ns(us->emit->clock, u->start, u->end) / 1000;
    w->calls = u->dest.calls;
    if (kept) {
        char rel[128];
        snprintf(rel, sizeof(rel), "units/%llu/tree.json%s", (unsigned long long)u->id,
                 us->files->zext);
        w->tree = strdup(rel);
        snprintf(rel, sizeof(rel), "units/%llu/events.jsonl%s", (unsigned long long)u->id,
                 us->files->zext);
        w->events = strdup(rel);
    }
    w->status = u->status;
    w->request_id = u->request_id ? strdup(u->request_id) : NULL;
    w->method = u->method ? strdup(u->method) : NULL;
    w->path = u->path ? strdup(u->path) : NULL;
    w->error = error;
    w->error_path = u->exc_path ? strdup(u->exc_path) : NULL;
    return 0;
}

static void
append_line(struct ft_units *us, const struct ft_unit *u, const char *outcome, int kept)
{
    struct ft_buf *b;

    if (!us->file_open) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/units.jsonl", us->files->path);
        if (ft_sink_open(&us->file, path, 1) != 0) {
            return;
        }
        us->file_open = 1;
    }
    b = &us->file.b;
    ft_buf_printf(b, "{\"unit\":%llu,\"run\":", (unsigned long long)u->id);
    ft_json_put_cstr(b, us->files->id);
    ft_buf_printf(b, ",\"kind\":\"%s\",\"name\":", kind_names[u->kind]);
    ft_json_put_cstr(b, u->name);
    ft_buf_puts(b, ",\"thread\":");
    ft_json_put_cstr(b, u->thread->name ? u->thread->name : "Thread");
    put_summary(us, b, u, outcome);
    if (kept) {
        const char *z = us->files->zext;
        ft_buf_printf(
            b, ",\"tree\":\"units/%llu/tree.json%s\",\"events\":\"units/%llu/events.jsonl%s\"}\n",
            (unsigned long long)u->id, z, (unsigned long long)u->id, z);
    } else {
        ft_buf_puts(b, ",\"tree\":null,\"events\":null}\n");
    }
    ft_sink_maybe_flush(&us->file);
}

/* Tells the exporter (on_unit) about the unit just finished. */
static void
export_unit(struct ft_units *us, struct ft_unit *u)
{
    struct ft_unit_export e = {0};

    ft_spans_sort(&u->spans);
    e.row = &us->rows[us->nrows - 1];
    e.root = u->root != NULL ? u->root->id : 0;
    e.start_ns = ft_clockconv_real_ns(us->emit->clock, u->start);
    e.end_ns = ft_clockconv_real_ns(us->emit->clock, u->end);
    e.thread = u->thread->name ? u->thread->name : "Thread";
    e.exc = u->exc;
    e.remote = u->remote;
    e.agent = u->agent;
    e.traceparent = u->traceparent;
    e.tracestate = u->tracestate;
    e.route = u->route;
    e.spans = &u->spans;
    us->on_unit(us->on_unit_ctx, us->run, &e);
}

/* The unit is over: its row, its files. */
static void
unit_done(struct ft_units *us, struct ft_unit *u)
{
    const char *outcome;
    int failed, kept, err;

    replay(u, NULL); /* steps still waiting: their calls' work ended without an exception */
    outcome = outcome_of(u);
    failed = !strcmp(outcome, "failed") || !strcmp(outcome, "error");
    kept = close_files(us, u, outcome, failed || kept_anyway(us, u));

    if (outcome == u->outcome) {
        outcome = !strcmp(outcome, "passed")    ? "passed"
                  : !strcmp(outcome, "failed")  ? "failed"
                  : !strcmp(outcome, "skipped") ? "skipped"
                                                : "error";
    }
    append_line(us, u, outcome, kept);
    err = add_row(us, u, outcome, kept, error_text(u->exc));
    ft_runfiles_note(us->files, err);
    if (err == 0 && us->on_unit != NULL) {
        export_unit(us, u);
    }
    us->failed += (uint64_t)failed;
    u->root = NULL;
    if (u->prev != NULL) {
        u->prev->next = u->next;
    } else {
        us->open = u->next;
    }
    if (u->next != NULL) {
        u->next->prev = u->prev;
    }
    unit_free(u);
}

/* At the run's end every unit's root has ended; one that was never written (an output
 * error) is removed. */
void
ft_units_finish(struct ft_units *us)
{
    while (us->open != NULL) {
        struct ft_unit *u = us->open;
        if (u->tree_open) {
            u->tree.b.len = 0; /* a tree cut short is no tree */
            ft_sink_close(&u->tree);
            u->tree_open = 0;
            u->dest.tree = NULL;
        }
        u->incomplete = u->incomplete ? u->incomplete : "not written";
        unit_done(us, u);
    }
    if (us->file_open) {
        ft_runfiles_note(us->files, ft_sink_close(&us->file));
        us->file_open = 0;
    }
}

void
ft_units_stop(struct ft_units *us, int err)
{
    for (struct ft_unit *u = us->open; u != NULL; u = u->next) {
        if (u->tree_open) {
            ft_sink_stop(&u->tree, err);
        }
        if (u->jsonl_open) {
            ft_sink_stop(&u->jsonl, err);
        }
    }
}

void
ft_units_flush(struct ft_units *us)
{
    for (struct ft_unit *u = us->open; u != NULL; u = u->next) {
        if (u->jsonl_open) {
            ft_sink_flush(&u->jsonl);
        }
    }
    if (us->file_open) {
        ft_sink_flush(&us->file);
    }
}

void
ft_units_free(struct ft_units *us)
{
    while (us->open != NULL) {
        struct ft_unit *u = us->open;
        us->open = u->next;
        unit_free(u);
    }
    if (us->file_open) {
        ft_sink_close(&us->file);
    }
    for (size_t i = 0; i < us->nrows; i++) {
        struct ft_unit_row *w = &us->rows[i];
        free((char *)w->name);
        free((char *)w->tree);
        free((char *)w->events);
        free((char *)w->request_id);
        free((char *)w->method);
        free((char *)w->path);
        free((char *)w->error);
        free((char *)w->error_path);
    }
    free(us->rows);
}

static void
root_done(void *ctx, struct ft_call *n)
{
    unit_done(ctx, unit_of(n));
}

static int
on_value(void *ctx, const struct ft_calls_at *at, const struct ft_rec *rec)
{
    switch (rec->kind) {
    case FT_REC_UNIT:
        return at->enter ? unit_begin(ctx, at->thread, at->enter, rec->data, rec->payload) : 0;
    case FT_REC_UNIT_END:
        if (at->leave != NULL && at->leave->dest_root) {
            return unit_end_values(unit_of(at->leave), rec->data, rec->payload);
        }
        return 0;
    case FT_REC_STATUS:
        if (at->cur != NULL && at->cur->dest != NULL) {
            return unit_status(unit_of(at->cur), rec->data, rec->payload);
        }
        return 0;
    default:
        return 0; /* a value kind this reader does not know: skipped whole */
    }
}

void
ft_units_start(struct ft_units *us, struct ft_calls *c, const struct ft_emit *emit,
               struct ft_runfiles *files, const struct ft_ledger *ledger, uint64_t pid,
               const char *python, int keep)
{
    us->emit = emit;
    us->files = files;
    us->ledger = ledger;
    us->pid = pid;
    us->python = python;
    us->keep = keep;
    c->obs.ctx = us;
    c->obs.value = on_value;
    c->obs.call_ended = call_ended;
    c->obs.root_done = root_done;
}
