/* capture_json.c - values as format-3 JSON (see capture_json.h).
 *
 * Plain values (None, bool, int within 2^53, finite float, str, list, tuple, dict with str
 * keys) are written as JSON; any other value, in place, as {"type": T, "repr": R} where R
 * is capture.c's rendering. Separators are ", " and ": " so that a value's JSON is about as
 * long as its repr: --max-arg-length bounds both alike. A value whose JSON does not fit is
 * described as a whole, with "truncated": N when its repr was cut. */
#include "capture_json.h"

#include <stdint.h>
#include <string.h>

#include "capture_int.h"
#include "config.h"
#include "lib/pyfmt.h"
#include "lib/redact.h"
#include "pylayout.h"
#include "text.h"

#define JSON_INT_MAX  ((((int64_t)1) << 53) - 1)
#define JSON_REDACTED "{\"redacted\": true, \"repr\": \"<redacted>\"}"

static void render_json(struct ft_text *o, PyObject *v, int depth);

/* A JSON string of text, secrets replaced by <redacted> (as put_text_quoted). */
static void
put_json_str(struct ft_text *o, const unsigned char *s, size_t n)
{
    size_t span;

    ft_put(o, "\"", 1);
    /* Only what can be shown, and what decides it (as put_text_quoted). */
    span = ft_redact_span((const char *)s, n, o->cap - o->len);
    if (ft_capture_may_hold_secret(s, span)) {
        size_t cap = o->cap, mid = o->len + (cap - o->len) / 2, room = cap - mid, len;
        len = ft_redact_text(&ft_cfg.redact, (const char *)s, span, o->p + mid, room, NULL);
        o->cap = mid;
        ft_put_json_chars(o, (const unsigned char *)o->p + mid, len);
        o->cap = cap;
        if (len + FT_REDACTED_LEN >= room || span < n) {
            o->cut = 1;
        }
    } else {
        ft_put_json_chars(o, s, n);
    }
    ft_put(o, "\"", 1);
}

/* {"type": T, "repr": " of v. */
static void
put_described_head(struct ft_text *o, PyObject *v)
{
    ft_put(o, "{\"type\": \"", 10);
    if (v == NULL) {
        ft_put(o, "NULL", 4);
    } else {
        size_t len;
        const char *name = ft_capture_type_name(v, &len);
        ft_put_json_chars(o, (const unsigned char *)name, len);
    }
    ft_put(o, "\", \"repr\": \"", 12);
}

/* v described in place: its rendering, made in the free room at the end of the output
 * area (o->end; everything past o->cap is free), then escaped into place. A rendering that
 * does not fit cuts the whole value. */
static void
describe(struct ft_text *o, PyObject *v, int depth)
{
    size_t room = o->cap - o->len;
    struct ft_text r = {o->p + o->end - room, 0, room, 0, room};

    if (o->cut || o->end - room < o->cap) {
        o->cut = 1;
        return;
    }
    ft_capture_render(&r, v, depth);
    if (r.cut) {
        o->cut = 1;
        return;
    }
    put_described_head(o, v);
    ft_put_json_chars(o, (const unsigned char *)r.p, r.len);
    ft_put(o, "\"}", 2);
}

static void
render_json_int(struct ft_text *o, PyObject *v)
{
    int64_t x;

    if (ft_capture_small_int(v, &x) && x <= JSON_INT_MAX && x >= -(JSON_INT_MAX)) {
        ft_capture_render_int(o, v);
    } else {
        ft_py.PyErr_Clear();
        describe(o, v, 0);
    }
}

static void
render_json_str(struct ft_text *o, PyObject *v)
{
    Py_ssize_t n;
    const char *s = ft_py.PyUnicode_AsUTF8AndSize(v, &n);

    if (s == NULL) {
        ft_py.PyErr_Clear(); /* lone surrogates: described */
        describe(o, v, 0);
        return;
    }
    put_json_str(o, (const unsigned char *)s, (size_t)n);
}

static void
render_json_seq(struct ft_text *o, PyObject *v, int depth, int is_list)
{
    Py_ssize_t n = is_list ? ft_capi.PyList_Size(v) : ft_py.PyTuple_Size(v);

    if (depth >= FT_CAPTURE_MAX_DEPTH && n > 0) {
        describe(o, v, depth);
        return;
    }
    ft_put(o, "[", 1);
    for (Py_ssize_t i = 0; i < n && !o->cut; i++) {
        if (is_list && ft_cfg.repr && ft_capi.PyList_Size(v) != n) {
            o->cut = 1; /* changed while rendered: described as a whole */
            return;
        }
        PyObject *it = is_list ? ft_capi.PyList_GetItem(v, i) : ft_py.PyTuple_GetItem(v, i);
        if (i > 0) {
            ft_put(o, ", ", 2);
        }
        if (i == 1 && n == 2 &&
            ft_capture_secret_key(is_list ? ft_capi.PyList_GetItem(v, 0)
                                          : ft_py.PyTuple_GetItem(v, 0))) {
            ft_puts(o, JSON_REDACTED);
            continue;
        }
        ft_capture_hold(it);
        render_json(o, it, depth + 1);
        ft_capture_release(it);
    }
    ft_put(o, "]", 1);
}

/* Whether k is an exact str other than "repr": a key a JSON object can hold. */
static int
plain_key(PyObject *k, const char **s, Py_ssize_t *n)
{
    if (ft_type_of(k) != ft_capi.str_t || (*s = ft_py.PyUnicode_AsUTF8AndSize(k, n)) == NULL) {
        ft_py.PyErr_Clear();
        return 0;
    }
    return !(*n == 4 && memcmp(*s, "repr", 4) == 0);
}

static void
render_json_dict(struct ft_text *o, PyObject *v, int depth)
{
    Py_ssize_t pos = 0, n = ft_capi.PyDict_Size(v), klen;
    PyObject *k, *val; /* borrowed */
    size_t at = o->len;
    const char *ks;

    if (depth >= FT_CAPTURE_MAX_DEPTH && n > 0) {
        describe(o, v, depth);
        return;
    }
    ft_put(o, "{", 1);
    for (int first = 1; !o->cut && ft_capi.PyDict_Next(v, &pos, &k, &val); first = 0) {
        if (!plain_key(k, &ks, &klen)) {
            o->len = at; /* a key JSON cannot hold: the dict is described */
            describe(o, v, depth);
            return;
        }
        if (!first) {
            ft_put(o, ", ", 2);
        }
        ft_capture_hold(k);
        ft_capture_hold(val);
        put_json_str(o, (const unsigned char *)ks, (size_t)klen);
        ft_put(o, ": ", 2);
        if (ft_capture_secret_key(k)) {
            ft_puts(o, JSON_REDACTED);
        } else {
            render_json(o, val, depth + 1);
        }
        ft_capture_release(val);
        ft_capture_release(k);
        if (ft_cfg.repr && ft_capi.PyDict_Size(v) != n) {
            o->cut = 1;
        }
    }
    ft_put(o, "}", 1);
}

static void
render_json(struct ft_text *o, PyObject *v, int depth)
{
    PyObject *t;

    if (o->cut) {
        return;
    }
    t = v == NULL ? NULL : ft_type_of(v);
    if (v == ft_py.None) {
        ft_put(o, "null", 4);
    } else if (t == ft_capi.bool_t) {
        ft_puts(o, v == ft_capi.true_o ? "true" : "false");
    } else if (t == ft_capi.long_t) {
        render_json_int(o, v);
    } else if (t == ft_capi.float_t && __builtin_isfinite(ft_capi.PyFloat_AsDouble(v))) {
        char buf[FT_PYFLOAT_MAX];
        ft_put(o, buf, ft_fmt_pyfloat(ft_capi.PyFloat_AsDouble(v), buf));
    } else if (t == ft_capi.str_t) {
        render_json_str(o, v);
    } else if (t == ft_capi.list_t || t == ft_capi.tuple_t) {
        render_json_seq(o, v, depth, t == ft_capi.list_t);
    } else if (t == ft_capi.dict_t) {
        render_json_dict(o, v, depth);
    } else if (t == ft_capi.cell_t) {
        PyObject *c = ft_capi.PyCell_Get(v); /* new ref */
        ft_py.PyErr_Clear();
        if (c != NULL) {
            render_json(o, c, depth);
            ft_py.Py_DecRef(c);
        } else {
            describe(o, c, depth);
        }
    } else {
        describe(o, v, depth);
    }
}

/* v described as a whole: its rendering as ft_capture_value writes it (cut and marked at
 * the limit), made in the last third of the area, escaped into the first two. */
static void
describe_whole(struct ft_text *out, PyObject *v, size_t start, size_t end)
{
    size_t third = (end - start) / 3;
    struct ft_text r = {out->p + end - third, 0, third, 0, third};
    long long truncated;

    out->len = start;
    out->cut = 0;
    out->cap = end - third - 32; /* room for ", "truncated": N}" */
    truncated = ft_capture_render_bounded(&r, v);
    put_described_head(out, v);
    ft_put_json_chars(out, (const unsigned char *)r.p, r.len);
    out->cut = 0;
    out->cap = end;
    ft_put(out, "\"", 1);
    if (truncated >= 0) {
        ft_putf(out, ", \"truncated\": %lld", truncated);
    }
    ft_put(out, "}", 1);
}

/* Whether v is described as a whole without trying its JSON first, so that it is rendered
 * once: a value that is not plain at all (bytes, a set, an object), and one whose JSON
 * surely passes `room` bytes (a str of more characters; a list, tuple or dict of more
 * items than each one's shortest JSON, "0, " or "\"\": 0, ", allows). */
static int
described_whole(PyObject *v, size_t room)
{
    PyObject *t;
    size_t n;

    if (v == NULL) {
        return 0; /* described in place by render_json */
    }
    t = ft_type_of(v);
    if (v == ft_py.None || t == ft_capi.bool_t || t == ft_capi.long_t || t == ft_capi.float_t ||
        t == ft_capi.cell_t) {
        return 0;
    }
    if (t == ft_capi.str_t) {
        n = (size_t)ft_capi.PyUnicode_GetLength(v) + 2;
    } else if (t == ft_capi.list_t) {
        n = 3 * (size_t)ft_capi.PyList_Size(v);
    } else if (t == ft_capi.tuple_t) {
        n = 3 * (size_t)ft_py.PyTuple_Size(v);
    } else if (t == ft_capi.dict_t) {
        n = 7 * (size_t)ft_capi.PyDict_Size(v);
    } else {
        return 1;
    }
    ft_py.PyErr_Clear();
    return n > room;
}

void
ft_capture_json(struct ft_text *out, PyObject *o)
{
    size_t limit = ft_cfg.max_arg_length ? ft_cfg.max_arg_length : FT_CAPTURE_UNLIMITED;
    size_t start = out->len, end = out->cap;

    /* The JSON text takes at most `limit` bytes; the rest of the area is work room. */
    out->end = end;
    out->cap = end - start > 3 * limit ? start + limit : start + (end - start) / 3;
    out->cut = 0;
    ft_capture_hold(o);
    if (described_whole(o, out->cap - start)) {
        describe_whole(out, o, start, end);
    } else {
        render_json(out, o, 0);
        if (out->cut) {
            describe_whole(out, o, start, end);
        }
    }
    out->cap = end;
    out->cut = 0;
    ft_capture_release(o);
}
