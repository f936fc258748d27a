/* units.c - units of work: which code starts one, and what its boundaries say (units.h). */
#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "config.h"
#include "emit.h"
#include "lib/wire.h"

#define FIELD_MAX 1024 /* longest text field of a unit record */

/* ---- First sight ---------------------------------------------------------------------- */

/* Whether the code's parameters are exactly `names` (after self, for a method). */
static int
params_are(PyObject *code, const char *const *names, int n)
{
    long argc = ft_py_attr_long(code, "co_argcount", 0);
    long kwonly = ft_py_attr_long(code, "co_kwonlyargcount", 0);
    PyObject *vars = ft_py.PyObject_GetAttrString(code, "co_varnames"); /* new ref */
    char name[64];
    int first = 0, ok = 0;

    if (vars == NULL) {
        ft_py.PyErr_Clear();
        return 0;
    }
    if (argc > 0 && ft_py_text(ft_py.PyTuple_GetItem(vars, 0), name, sizeof(name)) > 0 &&
        strcmp(name, "self") == 0) {
        first = 1;
    }
    if (argc - first == n && kwonly == 0) {
        ok = 1;
        for (int i = 0; i < n && ok; i++) {
            ft_py_text(ft_py.PyTuple_GetItem(vars, first + i), name, sizeof(name));
            ok = strcmp(name, names[i]) == 0;
        }
    }
    ft_py.Py_DecRef(vars);
    ft_py.PyErr_Clear();
    return ok;
}

static int
named_unit(const char *module, const char *qualname)
{
    size_t ml = strlen(module);

    for (int i = 0; i < ft_cfg.units.n; i++) {
        const char *u = ft_cfg.units.item[i];
        if (strncmp(u, module, ml) == 0 && u[ml] == ':' && strcmp(u + ml + 1, qualname) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Work handed to other threads (handoff.h): the probe of this code, or 0. */
static int
handoff_probe(const char *module, const char *qualname)
{
    static const struct {
        const char *module, *qualname;
        int probe;
    } table[] = {
        {"concurrent.futures.thread", "_WorkItem.__init__", FT_PROBE_HANDOFF_SELF},
        {"concurrent.futures.thread", "_WorkItem.run", FT_PROBE_ADOPT_SELF},
        {"threading", "Thread.start", FT_PROBE_HANDOFF_SELF},
        {"threading", "Thread.run", FT_PROBE_THREAD_RUN},
        {"queue", "Queue.put_nowait", FT_PROBE_HANDOFF_ITEM},
        {"queue", "Queue.get", FT_PROBE_ADOPT_ITEM},
        {"anyio._backends._asyncio", "run_sync_in_worker_thread", FT_PROBE_ANYIO_SUBMIT},
        {"anyio._backends._asyncio", "AsyncIOBackend.run_sync_in_worker_thread",
         FT_PROBE_ANYIO_SUBMIT},
        {"anyio._backends._asyncio", "WorkerThread.run", FT_PROBE_ANYIO_WORKER},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(module, table[i].module) == 0 && strcmp(qualname, table[i].qualname) == 0) {
            return table[i].probe;
        }
    }
    return 0;
}

int
ft_units_classify(PyObject *code, const char *module, const char *qualname, long co_flags,
                  int *probe)
{
    static const char *const wsgi[] = {"environ", "start_response"};
    static const char *const asgi[] = {"scope", "receive", "send"};
    static const char *const status[] = {"status", "headers", "exc_info"};
    static const char *const message[] = {"message"};
    static const char *const thread_name[] = {"name"};
    const char *leaf = strrchr(qualname, '.');
    int coro = (co_flags & CO_COROUTINE) != 0;

    leaf = leaf != NULL ? leaf + 1 : qualname;
    if (ft_cfg.units.n > 0 && named_unit(module, qualname)) {
        return FT_UNIT_FUNCTION;
    }
    if (strcmp(module, "_pytest.runner") == 0) {
        if (strcmp(qualname, "runtestprotocol") == 0) {
            return FT_UNIT_PYTEST;
        }
        return strcmp(qualname, "call_and_report") == 0 ? FT_UNITS_TRACE : 0;
    }
    if ((strcmp(module, "unittest.case") == 0 && strcmp(qualname, "TestCase.run") == 0) ||
        (strcmp(module, "unittest.async_case") == 0 &&
         strcmp(qualname, "IsolatedAsyncioTestCase.run") == 0)) {
        return FT_UNIT_UNITTEST;
    }
    if ((*probe = handoff_probe(module, qualname)) != 0) {
        return 0;
    }
    if (strcmp(module, "threading") == 0 && strcmp(qualname, "Thread.name") == 0 &&
        params_are(code, thread_name, 1)) {
        *probe = FT_PROBE_THREAD_NAME; /* the setter; the getter (no parameter) is left alone */
        return 0;
    }
    if (strncmp(module, "asyncio", 7) == 0 || strncmp(module, "importlib", 9) == 0) {
        return 0;
    }
    if (!coro && (co_flags & (CO_GENERATOR | CO_ASYNC_GENERATOR)) == 0 &&
        params_are(code, wsgi, 2)) {
        return FT_UNIT_WSGI;
    }
    if (coro && params_are(code, asgi, 3)) {
        return FT_UNIT_ASGI;
    }
    if (strcmp(leaf, "start_response") == 0 && !coro &&
        (params_are(code, status, 3) || params_are(code, status, 2))) {
        *probe = FT_PROBE_STATUS_WSGI;
    } else if (coro && strstr(leaf, "send") != NULL && params_are(code, message, 1)) {
        *probe = FT_PROBE_STATUS_ASGI;
    }
    return 0;
}

/* ---- Reading a call's values ---------------------------------------------------------- */

/* The call's parameter i (after self), as a new reference, or NULL. Read in place from
 * the fast locals (pylayout.h), never through frame.f_locals. */
static PyObject *
arg_of(const struct ft_code_info *ci, PyObject **locals, unsigned i)
{
    PyObject *v; /* borrowed */

    if (locals == NULL) {
        return NULL;
    }
    v = locals[ci->first + i];
    if (v == NULL || ft_capture_is_cell(v)) {
        return NULL;
    }
    ft_py.Py_IncRef(v);
    return v;
}

/* self of a method call, as a new reference, or NULL. */
static PyObject *
self_of(PyObject **locals)
{
    static const struct ft_code_info ci = {.nparams = 1};

    return arg_of(&ci, locals, 0);
}

/* ---- Unit records --------------------------------------------------------------------- */

struct fields {
    uint8_t p[8 * (FIELD_MAX + 8) + 16 * 8];
    size_t len;
};

static void
put_text(struct fields *f, uint32_t tag, const char *s, size_t n)
{
    if (s != NULL) {
        ft_put_tlv_str(f->p, sizeof(f->p), &f->len, tag, s, n < FIELD_MAX ? n : FIELD_MAX);
    }
}

/* A str (or, for ASGI headers, bytes) value as a text field. */
static void
put_value(struct fields *f, uint32_t tag, PyObject *v)
{
    const char *s;
    size_t n;

    if ((s = ft_capture_str(v, &n)) != NULL || (s = ft_capture_bytes(v, &n)) != NULL) {
        put_text(f, tag, s, n);
    }
}

static void
put_u64(struct fields *f, uint32_t tag, uint64_t v)
{
    ft_put_tlv_u64(f->p, sizeof(f->p), &f->len, tag, v);
}

static void
wsgi_request(struct fields *f, PyObject *environ)
{
    put_value(f, FT_UTAG_METHOD, ft_capture_dict_get(environ, "REQUEST_METHOD"));
    put_value(f, FT_UTAG_PATH, ft_capture_dict_get(environ, "PATH_INFO"));
    put_value(f, FT_UTAG_REMOTE, ft_capture_dict_get(environ, "REMOTE_ADDR"));
    put_value(f, FT_UTAG_AGENT, ft_capture_dict_get(environ, "HTTP_USER_AGENT"));
    put_value(f, FT_UTAG_REQUEST_ID, ft_capture_dict_get(environ, "HTTP_X_REQUEST_ID"));
    put_value(f, FT_UTAG_TRACEPARENT, ft_capture_dict_get(environ, "HTTP_TRACEPARENT"));
    put_value(f, FT_UTAG_TRACESTATE, ft_capture_dict_get(environ, "HTTP_TRACESTATE"));
}

/* An ASGI HTTP scope; returns 0 for other scopes (lifespan), which are not units. */
static int
asgi_request(struct fields *f, PyObject *scope)
{
    PyObject *client = ft_capture_dict_get(scope, "client");
    PyObject *headers = ft_capture_dict_get(scope, "headers");
    const char *type;
    size_t n;
    Py_ssize_t nh = ft_capture_seq_len(headers);

    type = ft_capture_str(ft_capture_dict_get(scope, "type"), &n);
    if (type == NULL || n != 4 || memcmp(type, "http", 4) != 0) {
        return 0;
    }
    put_value(f, FT_UTAG_METHOD, ft_capture_dict_get(scope, "method"));
    put_value(f, FT_UTAG_PATH, ft_capture_dict_get(scope, "path"));
    if (ft_capture_seq_len(client) >= 1) {
        put_value(f, FT_UTAG_REMOTE, ft_capture_seq_item(client, 0));
    }
    for (Py_ssize_t i = 0; i < nh; i++) {
        PyObject *h = ft_capture_seq_item(headers, i);
        const char *k;
        if (ft_capture_seq_len(h) != 2 ||
            (k = ft_capture_bytes(ft_capture_seq_item(h, 0), &n)) == NULL) {
            continue;
        }
        if (n == 10 && strncasecmp(k, "user-agent", 10) == 0) {
            put_value(f, FT_UTAG_AGENT, ft_capture_seq_item(h, 1));
        } else if (n == 12 && strncasecmp(k, "x-request-id", 12) == 0) {
            put_value(f, FT_UTAG_REQUEST_ID, ft_capture_seq_item(h, 1));
        } else if (n == 11 && strncasecmp(k, "traceparent", 11) == 0) {
            put_value(f, FT_UTAG_TRACEPARENT, ft_capture_seq_item(h, 1));
        } else if (n == 10 && strncasecmp(k, "tracestate", 10) == 0) {
            put_value(f, FT_UTAG_TRACESTATE, ft_capture_seq_item(h, 1));
        }
    }
    return 1;
}

/* unittest: the result's lists, counted (a result without them counts nothing). */
static void
result_counts(struct fields *f, PyObject *result)
{
    static const char *const lists[] = {"failures", "errors", "skipped", "expectedFailures",
                                        "unexpectedSuccesses"};
    PyObject *d = result != NULL && result != ft_py.None ? ft_capture_instance_dict(result) : NULL;

    for (unsigned i = 0; i < 5; i++) {
        Py_ssize_t n = ft_capture_seq_len(ft_capture_dict_get(d, lists[i]));
        put_u64(f, FT_UTAG_FAILURES + i, n > 0 ? (uint64_t)n : 0);
    }
}

static void
unittest_name(struct fields *f, PyObject *self)
{
    char module[256], qualname[512], name[1024];
    const char *meth;
    size_t n = 0;

    meth = ft_capture_str(ft_capture_plain_attr(self, "_testMethodName"), &n);
    ft_capture_type_names(self, module, sizeof(module), qualname, sizeof(qualname));
    snprintf(name, sizeof(name), "%s%s%s.%.*s", module, module[0] ? "." : "", qualname,
             meth ? (int)n : 1, meth ? meth : "?");
    put_text(f, FT_UTAG_NAME, name, strlen(name));
}

void
ft_unit_region(struct ft_thread *t, const char *name)
{
    struct fields f;

    f.len = 0;
    put_u64(&f, FT_UTAG_KIND, FT_UNIT_REGION);
    put_text(&f, FT_UTAG_NAME, name, strlen(name));
    ft_emit_values(t, FT_REC_UNIT, f.p, f.len);
}

/* A request's start and end are shipped at once: the writer numbers units as their
 * UNIT records reach it, and each thread's buffer travels on its own (a server's thread
 * may sit idle after its request until the next flush), so requests one after the other
 * would otherwise be numbered out of order. (Their rows are listed as the writer ends
 * them: it writes a frame's last event when that thread's next one arrives, or after
 * three quiet ticks, so rows of requests close in time may still swap.) Tests and
 * function units run one after the other in one thread: no need there. */
static void
ship_request(struct ft_thread *t, const struct ft_code_info *ci)
{
    if ((ci->unit == FT_UNIT_WSGI || ci->unit == FT_UNIT_ASGI) && t->unit_frames <= 1) {
        ft_thread_ship_now(t);
    }
}

void
ft_unit_enter(struct ft_thread *t, const struct ft_code_info *ci, PyObject **locals)
{
    struct fields f;
    struct ft_py_exc exc;
    PyObject *a0, *self = NULL; /* new refs */
    size_t n;
    const char *s;

    if (!ft_capture_ready()) {
        return;
    }
    ft_py_exc_save(&exc);
    f.len = 0;
    put_u64(&f, FT_UTAG_KIND, ci->unit);
    a0 = ci->nparams > 0 ? arg_of(ci, locals, 0) : NULL;
    switch (ci->unit) {
    case FT_UNIT_PYTEST:
        s = ft_capture_str(ft_capture_plain_attr(a0, "_nodeid"), &n);
        put_text(&f, FT_UTAG_NAME, s, n);
        break;
    case FT_UNIT_UNITTEST:
        if ((self = self_of(locals)) != NULL) {
            unittest_name(&f, self);
        }
        result_counts(&f, a0);
        break;
    case FT_UNIT_WSGI:
        wsgi_request(&f, a0);
        if (t->unit_frames == 1) {
            t->environ = a0; /* the route is there while the response starts (ft_unit_probe) */
        }
        break;
    case FT_UNIT_ASGI:
        if (!asgi_request(&f, a0)) {
            f.len = 0;
        }
        break;
    default:
        break; /* a function unit: the writer names it after its code */
    }
    if (f.len > 0) {
        ft_emit_values(t, FT_REC_UNIT, f.p, f.len);
    }
    if (a0 != NULL) {
        ft_py.Py_DecRef(a0);
    }
    if (self != NULL) {
        ft_py.Py_DecRef(self);
    }
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
    ship_request(t, ci);
}

/* pytest's outcome for an item, from the reports runtestprotocol returns: a failed setup
 * or teardown is an error, a failed call a failure, a skip in setup or call a skip. */
static const char *
pytest_outcome(PyObject *reports)
{
    Py_ssize_t n = ft_capture_seq_len(reports);
    const char *outcome = n > 0 ? "passed" : NULL;

    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *rep = ft_capture_seq_item(reports, i);
        size_t wl = 0, ol = 0;
        const char *when = ft_capture_str(ft_capture_plain_attr(rep, "when"), &wl);
        const char *out = ft_capture_str(ft_capture_plain_attr(rep, "outcome"), &ol);
        int call = when != NULL && wl == 4 && memcmp(when, "call", 4) == 0;
        if (out == NULL) {
            continue;
        }
        if (ol == 6 && memcmp(out, "failed", 6) == 0) {
            return call ? "failed" : "error";
        }
        if (ol == 7 && memcmp(out, "skipped", 7) == 0) {
            outcome = "skipped";
        }
    }
    return outcome;
}

/* The route template a framework matched, left in the ASGI scope (Starlette: its route,
 * or the router's route whose endpoint it ran) or the WSGI environ (Werkzeug's request's
 * url_rule); plain attributes and dict items only. */
static void
put_route(struct fields *f, const struct ft_code_info *ci, PyObject *a0)
{
    PyObject *route;

    if (ci->unit == FT_UNIT_ASGI) {
        PyObject *endpoint = ft_capture_dict_get(a0, "endpoint");
        route = ft_capture_dict_get(a0, "route");
        PyObject *routes = ft_capture_plain_attr(ft_capture_dict_get(a0, "router"), "routes");
        for (Py_ssize_t i = 0; route == NULL && endpoint != NULL && i < ft_capture_seq_len(routes);
             i++) {
            PyObject *r = ft_capture_seq_item(routes, i);
            if (ft_capture_plain_attr(r, "endpoint") == endpoint) {
                route = r;
            }
        }
        put_value(f, FT_UTAG_ROUTE, ft_capture_plain_attr(route, "path"));
    } else {
        route = ft_capture_plain_attr(ft_capture_dict_get(a0, "werkzeug.request"), "url_rule");
        put_value(f, FT_UTAG_ROUTE, ft_capture_plain_attr(route, "rule"));
    }
}

void
ft_unit_leave(struct ft_thread *t, const struct ft_code_info *ci, PyObject *retval,
              PyObject **locals)
{
    struct fields f;
    struct ft_py_exc exc;
    if (!ft_capture_ready() || ci->unit == FT_UNIT_FUNCTION) {
        return;
    }
    ft_py_exc_save(&exc);
    f.len = 0;
    if (ci->unit == FT_UNIT_WSGI && t->unit_frames == 0) {
        t->environ = NULL;
    }
    if (ci->unit == FT_UNIT_WSGI || ci->unit == FT_UNIT_ASGI) {
        PyObject *a0 = arg_of(ci, locals, 0); /* new ref */
        if (a0 != NULL) {
            put_route(&f, ci, a0);
            ft_py.Py_DecRef(a0);
        }
    } else if (retval == NULL) {
        /* Raised: no outcome or counts to read. */
    } else if (ci->unit == FT_UNIT_PYTEST) {
        const char *outcome = pytest_outcome(retval);
        if (outcome != NULL) {
            put_text(&f, FT_UTAG_OUTCOME, outcome, strlen(outcome));
        }
    } else {
        result_counts(&f, retval);
    }
    if (f.len > 0) {
        ft_emit_values(t, FT_REC_UNIT_END, f.p, f.len);
    }
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
    if (retval != NULL) {
        ship_request(t, ci); /* its RETURN and UNIT_END (after an UNWIND: ft_unit_raised) */
    }
}

void
ft_unit_raised(struct ft_thread *t, const struct ft_code_info *ci)
{
    ship_request(t, ci);
}

void
ft_unit_probe(struct ft_thread *t, const struct ft_code_info *ci, PyObject **locals)
{
    struct fields f;
    struct ft_py_exc exc;
    PyObject *a0; /* new ref */
    long status = 0;
    const char *s;
    size_t n;

    if (!ft_capture_ready()) {
        return;
    }
    ft_py_exc_save(&exc);
    a0 = arg_of(ci, locals, 0);
    if (ci->probe == FT_PROBE_STATUS_WSGI && (s = ft_capture_str(a0, &n)) != NULL) {
        status = strtol(s, NULL, 10); /* "500 INTERNAL SERVER ERROR" */
    } else if (ci->probe == FT_PROBE_STATUS_ASGI) {
        s = ft_capture_str(ft_capture_dict_get(a0, "type"), &n);
        if (s == NULL || n != 19 || memcmp(s, "http.response.start", 19) != 0 ||
            !ft_capture_long(ft_capture_dict_get(a0, "status"), &status)) {
            status = 0;
        }
    }
    if (status >= 100 && status <= 999) {
        f.len = 0;
        put_u64(&f, FT_UTAG_STATUS, (uint64_t)status);
        if (ci->probe == FT_PROBE_STATUS_WSGI && t->environ != NULL) {
            /* Flask forgets its request once the response is sent: its route is read now. */
            static const struct ft_code_info wsgi = {.unit = FT_UNIT_WSGI};
            put_route(&f, &wsgi, t->environ);
        }
        ft_emit_values(t, FT_REC_STATUS, f.p, f.len);
    }
    if (a0 != NULL) {
        ft_py.Py_DecRef(a0);
    }
    ft_py.PyErr_Clear();
    ft_py_exc_restore(&exc);
}
